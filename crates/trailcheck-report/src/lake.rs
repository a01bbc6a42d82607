//! Renderers for a Lake query's verdict ([`LakeReport`]): text, JSON and JUnit, each stating
//! what the signature does not cover, so a verified sign file is never read as proof of the
//! file names, region, query time or location.

use std::io::{self, Write};

use serde::Serialize;

use super::Options;
use super::html::escape;
use super::json::{Counts, File, outcome_name};
use super::sanitize::terminal;
use trailcheck_core::lake::{LakeReport, NOT_COVERED};
use trailcheck_core::time;
use trailcheck_core::verdict::{FileVerdict, Status};

/// The JSON schema version, the same numbering as `validate`'s document.
const VERSION: u32 = 1;

fn is_sign_file(report: &LakeReport, file: &FileVerdict) -> bool {
    std::ptr::eq(file, &report.sign)
}

fn kind(report: &LakeReport, file: &FileVerdict) -> &'static str {
    if is_sign_file(report, file) {
        "sign-file"
    } else {
        "query-result"
    }
}

fn files(report: &LakeReport) -> impl Iterator<Item = &FileVerdict> {
    std::iter::once(&report.sign).chain(report.results.iter())
}

/// AWS CLI-like lines: valid files on `out` when verbose, the others always on `err`; then
/// what the signature does not cover, a summary and the verdict line.
pub fn text(
    report: &LakeReport,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    if !opts.quiet {
        writeln!(
            out,
            "Validating CloudTrail Lake query results in {}\n",
            terminal(&report.source)
        )?;
        for file in files(report) {
            let prefix = if is_sign_file(report, file) {
                "Sign file"
            } else {
                "Query result file"
            };
            let location = terminal(&report.location(file)).into_owned();
            match file.status {
                Status::Intact if opts.verbose => writeln!(out, "{prefix}\t{location}\tvalid")?,
                Status::Intact => {}
                status => writeln!(
                    err,
                    "{prefix}\t{location}\t{}: {}",
                    word(status),
                    terminal(&file.cause.to_string())
                )?,
            }
        }
        err.flush()?;
        if let Some(facts) = &report.facts {
            writeln!(
                out,
                "\nSign file: region {}, query completed {}, key {}",
                terminal(&facts.region),
                time::display(facts.query_complete_time),
                terminal(&facts.fingerprint)
            )?;
        }
        writeln!(
            out,
            "Not covered by the signature (only the result files' hashes are signed):"
        )?;
        for (_, why) in NOT_COVERED {
            writeln!(out, "  - {why}")?;
        }
        let valid = |sign: bool| {
            files(report)
                .filter(|f| is_sign_file(report, f) == sign && f.status == Status::Intact)
                .count()
        };
        writeln!(
            out,
            "\n{}/1 sign files valid\n{}/{} query result files valid\n",
            valid(true),
            valid(false),
            report.results.len()
        )?;
    }
    writeln!(
        out,
        "{}",
        super::text::verdict_line(&report.as_report(), opts)
    )?;
    out.flush()
}

fn word(status: Status) -> &'static str {
    match status {
        Status::Intact => "valid",
        Status::Pending => "PENDING",
        Status::Unverifiable => "UNVERIFIABLE",
        Status::Unreferenced => "UNREFERENCED",
        Status::Moved | Status::Deleted | Status::Modified => "INVALID",
    }
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: String,
    source: &'a str,
    outcome: &'static str,
    query: Option<Query<'a>>,
    not_covered: Vec<Uncovered>,
    files: Vec<File<'a>>,
    keys: Vec<Key<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Query<'a> {
    bucket: Option<&'a str>,
    folder: &'a str,
    region: &'a str,
    query_complete_time: String,
    public_key_fingerprint: &'a str,
    sign_file_version: &'a str,
    hash_algorithm: &'a str,
    signature_algorithm: &'a str,
}

#[derive(Serialize)]
struct Uncovered {
    field: &'static str,
    why: &'static str,
}

#[derive(Serialize)]
struct Key<'a> {
    fingerprint: &'a str,
    valid_from: Option<String>,
    valid_to: Option<String>,
    file: &'a str,
}

#[derive(Serialize)]
struct Summary {
    sign_file: Counts,
    results: Counts,
}

/// One JSON object on one line: the `files[]` entries have `validate`'s fields, with kind
/// `sign-file` or `query-result`; `not_covered` lists what the signature leaves unproven.
pub fn json(report: &LakeReport, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        version: VERSION,
        tool: format!("trailcheck {}", env!("CARGO_PKG_VERSION")),
        source: &report.source,
        outcome: outcome_name(report.outcome(&opts.fail_on)),
        query: report.facts.as_ref().map(|facts| Query {
            bucket: (!report.bucket.is_empty()).then_some(report.bucket.as_str()),
            folder: &report.folder,
            region: &facts.region,
            query_complete_time: time::display(facts.query_complete_time),
            public_key_fingerprint: &facts.fingerprint,
            sign_file_version: &facts.version,
            hash_algorithm: &facts.hash_algorithm,
            signature_algorithm: &facts.signature_algorithm,
        }),
        not_covered: NOT_COVERED
            .iter()
            .map(|&(field, why)| Uncovered { field, why })
            .collect(),
        files: files(report)
            .map(|f| File::with_kind(f, kind(report, f)))
            .collect(),
        keys: report
            .key
            .iter()
            .map(|k| Key {
                fingerprint: &k.fingerprint,
                valid_from: k.valid_from.map(time::display),
                valid_to: k.valid_to.map(time::display),
                file: &k.file,
            })
            .collect(),
        summary: Summary {
            sign_file: Counts::over(std::iter::once(&report.sign)),
            results: Counts::over(report.results.iter()),
        },
    };
    serde_json::to_writer(&mut *out, &document)?;
    writeln!(out)?;
    out.flush()
}

/// JUnit XML: one suite for the query, one case per file; a failing status is a failure,
/// unverifiable an error.
pub fn junit(report: &LakeReport, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    let all: Vec<&FileVerdict> = files(report).collect();
    let failures = all
        .iter()
        .filter(|f| opts.fail_on.contains(&f.status))
        .count();
    let errors = all
        .iter()
        .filter(|f| f.status == Status::Unverifiable && !opts.fail_on.contains(&f.status))
        .count();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"trailcheck\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">",
        all.len()
    )?;
    writeln!(
        out,
        "  <testsuite name=\"CloudTrail Lake query {}\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"{errors}\">",
        escape(&report.source),
        all.len()
    )?;
    for file in all {
        let name = escape(&report.location(file));
        write!(
            out,
            "    <testcase classname=\"{}\" name=\"{name}\"",
            kind(report, file)
        )?;
        let element = if opts.fail_on.contains(&file.status) {
            Some("failure")
        } else if file.status == Status::Unverifiable {
            Some("error")
        } else {
            None
        };
        match element {
            None => writeln!(out, "/>")?,
            Some(element) => writeln!(
                out,
                ">\n      <{element} message=\"{}\" type=\"{}\">{}</{element}>\n    </testcase>",
                file.status,
                file.cause.code(),
                escape(&file.cause.to_string())
            )?,
        }
    }
    let uncovered: Vec<&str> = NOT_COVERED.iter().map(|(_, why)| *why).collect();
    writeln!(
        out,
        "    <system-out>Not covered by the signature: {}</system-out>\n  </testsuite>\n</testsuites>",
        escape(&uncovered.join("; "))
    )?;
    out.flush()
}
