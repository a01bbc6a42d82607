//! JUnit XML for CI test reporters: one test suite per digest chain, one test case per
//! digest hour.
//!
//! A digest hour holds the digest delivered in that hour and the logs it lists (logs no
//! digest lists join the hour of the next digest of their trail). A case fails when a file
//! has a status in `--fail-on`, and is an error when a file is unverifiable: a CI page then
//! shows "3 failed, 1 error" the way it shows broken tests, each with the files and why.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Utc};

use super::Options;
use super::html::escape;
use trailcheck_core::time;
use trailcheck_core::verdict::{ChainId, FileKind, FileVerdict, Gap, GapKind, Report, Status};

const HOUR: i64 = 3600;

pub(super) fn render(report: &Report, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    // A case lists its hour's files, and the root its totals: the files of a streamed run
    // are read back whole here, so JUnit alone holds every file of a run.
    let read_back;
    let files: &[FileVerdict] = match report.kept {
        Some(_) => {
            let mut all = Vec::new();
            report.each_file(&mut |f| {
                all.push(f.clone());
                Ok(())
            })?;
            read_back = all;
            &read_back
        }
        None => &report.files,
    };
    let suites = Suites::of(report, files);
    let cases: Vec<(&SuiteKey, Vec<Case>)> = suites
        .0
        .iter()
        .map(|(key, suite)| (key, suite.cases(opts)))
        .collect();
    let all: Vec<&Case> = cases.iter().flat_map(|(_, c)| c).collect();
    let mut out = BufWriter::new(out);
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    if all.is_empty() {
        nothing_checked(&mut out)?;
        return out.flush();
    }
    writeln!(
        out,
        "<testsuites name=\"trailcheck\" {}>",
        tally(all.iter().copied())
    )?;
    for (key, cases) in &cases {
        write_suite(&mut out, report, key, &suites.0[*key], cases)?;
    }
    writeln!(out, "</testsuites>")?;
    out.flush()
}

/// A run that checked nothing proves nothing: one erroring case says so, rather than an
/// empty report a CI page would show as green.
fn nothing_checked(out: &mut dyn Write) -> io::Result<()> {
    let counts = "tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\"";
    writeln!(
        out,
        "<testsuites name=\"trailcheck\" {counts}>\n  <testsuite name=\"trailcheck\" {counts}>\n    \
         <testcase name=\"files checked\" classname=\"trailcheck\">\n      \
         <error message=\"nothing checked\" type=\"incomplete\">No digest or log file in the \
         requested range: nothing was proven.</error>\n    </testcase>\n  </testsuite>\n\
         </testsuites>"
    )
}

/// XML-safe and visible: the HTML escape serves XML too (it also replaces the two
/// noncharacters XML 1.0 forbids, and shows control characters as escapes).
fn xml(text: &str) -> String {
    escape(text)
}

/// A trail's chain in one region; logs no digest names fall back on account and region.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SuiteKey {
    account: String,
    region: String,
    trail: Option<String>,
    backfill: bool,
}

impl SuiteKey {
    fn of(chain: &ChainId) -> Self {
        SuiteKey {
            account: chain.account.clone(),
            region: chain.region.clone(),
            trail: Some(chain.trail.clone()),
            backfill: chain.backfill,
        }
    }

    fn name(&self) -> String {
        let trail = self.trail.as_deref().unwrap_or("(no digest)");
        let backfill = if self.backfill { " (backfill)" } else { "" };
        format!("{} {} {trail}{backfill}", self.account, self.region)
    }

    fn classname(&self) -> String {
        let trail = self.trail.as_deref().unwrap_or("no-digest");
        let backfill = if self.backfill { ".backfill" } else { "" };
        format!("{}.{}.{trail}{backfill}", self.account, self.region)
    }
}

#[derive(Default)]
struct Suite<'a> {
    home_region: Option<String>,
    organization: Option<String>,
    /// Files by digest hour; `None` for a digest with no time.
    hours: BTreeMap<Option<i64>, Vec<&'a FileVerdict>>,
    /// End times of the suite's digests, sorted, to place logs no digest lists.
    digest_ends: Vec<DateTime<Utc>>,
    gaps: Vec<&'a Gap>,
}

struct Suites<'a>(BTreeMap<SuiteKey, Suite<'a>>);

impl<'a> Suites<'a> {
    fn of(report: &'a Report, files: &'a [FileVerdict]) -> Self {
        let mut suites = Suites(BTreeMap::new());
        for chain in &report.chains {
            let key = SuiteKey::of(chain);
            let suite = suites.0.entry(key).or_default();
            suite.home_region = Some(chain.home_region.clone());
            suite.organization.clone_from(&chain.organization);
        }
        let (digests, logs): (Vec<&FileVerdict>, Vec<&FileVerdict>) =
            files.iter().partition(|f| f.kind == FileKind::Digest);
        // A listed log's hour is its digest's end time, whether or not the digest is in the
        // store (a deleted digest's verdict carries the time its key names).
        let digest_times: HashMap<&str, DateTime<Utc>> = digests
            .iter()
            .filter_map(|d| Some((d.key.as_str(), d.time?)))
            .collect();
        for digest in digests {
            suites.add_digest(digest);
        }
        for suite in suites.0.values_mut() {
            suite.digest_ends.sort();
        }
        for log in logs {
            suites.add_log(log, &digest_times);
        }
        for gap in &report.gaps {
            suites
                .0
                .entry(SuiteKey::of(&gap.chain))
                .or_default()
                .gaps
                .push(gap);
        }
        suites
    }

    fn add_digest(&mut self, digest: &'a FileVerdict) {
        let key = match &digest.chain {
            Some(chain) => SuiteKey::of(chain),
            None => self.by_place(digest),
        };
        let suite = self.0.entry(key).or_default();
        suite
            .hours
            .entry(digest.time.map(hour_of))
            .or_default()
            .push(digest);
        suite.digest_ends.extend(digest.time);
    }

    /// A listed log goes to its digest's hour; any other to the next digest's hour.
    fn add_log(&mut self, log: &'a FileVerdict, digest_times: &HashMap<&str, DateTime<Utc>>) {
        let listed_at = log.listed_by.as_deref().and_then(|r| digest_times.get(r));
        if let (Some(chain), Some(end)) = (&log.chain, listed_at) {
            let suite = self.0.entry(SuiteKey::of(chain)).or_default();
            suite
                .hours
                .entry(Some(hour_of(*end)))
                .or_default()
                .push(log);
            return;
        }
        let key = match &log.chain {
            Some(chain) => SuiteKey::of(chain),
            None => self.by_place(log),
        };
        let suite = self.0.entry(key).or_default();
        let hour = log.time.map(|t| {
            match suite.digest_ends.iter().find(|end| **end >= t) {
                Some(end) => hour_of(*end),
                // After the newest digest: the hour its digest will be delivered in.
                None => (t.timestamp() + HOUR - 1).div_euclid(HOUR),
            }
        });
        suite.hours.entry(hour).or_default().push(log);
    }

    /// The regular chain of the file's account and region, else one made for them.
    fn by_place(&self, file: &FileVerdict) -> SuiteKey {
        let account = file.account.clone().unwrap_or_else(|| "unknown".to_owned());
        let region = file.region.clone().unwrap_or_else(|| "unknown".to_owned());
        self.0
            .keys()
            .filter(|k| k.account == account && k.region == region)
            .min_by_key(|k| k.backfill)
            .cloned()
            .unwrap_or(SuiteKey {
                account,
                region,
                trail: None,
                backfill: false,
            })
    }
}

/// One `<testcase>`, ready to write.
struct Case {
    name: String,
    verdict: CaseVerdict,
}

enum CaseVerdict {
    Passed,
    /// `(message, type, body)`.
    Failure(String, &'static str, String),
    Error(String, &'static str, String),
    Skipped(String),
}

impl Suite<'_> {
    fn cases(&self, opts: &Options) -> Vec<Case> {
        let mut cases: Vec<Case> = self
            .hours
            .iter()
            .map(|(hour, files)| hour_case(*hour, files, &opts.fail_on))
            .collect();
        cases.extend(self.gaps.iter().map(|gap| gap_case(gap, &opts.fail_on)));
        cases
    }
}

fn hour_case(hour: Option<i64>, files: &[&FileVerdict], fail_on: &[Status]) -> Case {
    let name = match hour.and_then(|h| DateTime::from_timestamp(h * HOUR, 0)) {
        Some(t) => format!("{} digest hour", t.format("%Y-%m-%dT%H:00Z")),
        None => "digest hour unknown".to_owned(),
    };
    let failing: Vec<&FileVerdict> = files
        .iter()
        .copied()
        .filter(|f| fail_on.contains(&f.status))
        .collect();
    let unverifiable: Vec<&FileVerdict> = files
        .iter()
        .copied()
        .filter(|f| f.status == Status::Unverifiable && !fail_on.contains(&f.status))
        .collect();
    let verdict = if let Some(worst) = failing.iter().map(|f| f.status).max() {
        CaseVerdict::Failure(summary(&failing), worst.as_str(), lines(files))
    } else if !unverifiable.is_empty() {
        CaseVerdict::Error(summary(&unverifiable), "unverifiable", lines(files))
    } else if files.iter().all(|f| f.status == Status::Pending) {
        CaseVerdict::Skipped(format!("{} awaiting their digest", summary(files)))
    } else {
        CaseVerdict::Passed
    };
    Case { name, verdict }
}

/// A chain break fails as deleted digests do; a gap (validation off) is skipped: its logs
/// are already errors in their own hours.
fn gap_case(gap: &Gap, fail_on: &[Status]) -> Case {
    let span = format!("{} to {}", time::display(gap.from), time::display(gap.to));
    match gap.kind {
        GapKind::ChainBreak => {
            let missing = match gap.missing_digests.unwrap_or(1) {
                1 => "1 digest file missing".to_owned(),
                n => format!("{n} digest files missing"),
            };
            let message = format!("chain broken: {missing}");
            let body = format!(
                "Digest chain broken from {} to {}: {missing}",
                time::display(gap.from),
                time::display(gap.to)
            );
            Case {
                name: format!("{span} chain break"),
                verdict: if fail_on.contains(&Status::Deleted) {
                    CaseVerdict::Failure(message, "deleted", body)
                } else {
                    CaseVerdict::Error(message, "deleted", body)
                },
            }
        }
        GapKind::Gap => Case {
            name: format!("{span} gap"),
            verdict: CaseVerdict::Skipped(format!(
                "no digests between {span}: validation or logging was off"
            )),
        },
        GapKind::OpenStart => Case {
            name: format!("{} open chain start", time::display(gap.from)),
            verdict: CaseVerdict::Skipped(format!(
                "the oldest digest names {}, which the source does not hold: where the chain \
                 began cannot be told",
                gap.previous
                    .as_ref()
                    .map_or("a predecessor".to_owned(), |(b, k)| format!("s3://{b}/{k}"))
            )),
        },
    }
}

/// `2 modified, 1 deleted`: the statuses of `files`, worst first.
fn summary(files: &[&FileVerdict]) -> String {
    let mut counts: BTreeMap<std::cmp::Reverse<Status>, usize> = BTreeMap::new();
    for file in files {
        *counts.entry(std::cmp::Reverse(file.status)).or_default() += 1;
    }
    counts
        .iter()
        .map(|(status, n)| format!("{n} {}", status.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per file that is not intact: status, kind, location, reason, hashes.
fn lines(files: &[&FileVerdict]) -> String {
    let mut text = String::new();
    for file in files.iter().filter(|f| f.status != Status::Intact) {
        let kind = match file.kind {
            FileKind::Digest => "digest",
            FileKind::Log => "log",
        };
        text.push_str(&format!(
            "{} {kind} {}: {}",
            file.status,
            file.s3_url(),
            file.cause
        ));
        if let (Some(e), Some(a)) = (file.expected_sha256, file.actual_sha256) {
            text.push_str(&format!(" (expected SHA-256 {e}, actual {a})"));
        }
        text.push('\n');
    }
    text
}

/// `tests="…" failures="…" errors="…" skipped="…"` over `cases`.
fn tally<'a>(cases: impl Iterator<Item = &'a Case>) -> String {
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for case in cases {
        tests += 1;
        match case.verdict {
            CaseVerdict::Passed => {}
            CaseVerdict::Failure(..) => failures += 1,
            CaseVerdict::Error(..) => errors += 1,
            CaseVerdict::Skipped(_) => skipped += 1,
        }
    }
    format!("tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\"")
}

fn write_suite(
    out: &mut dyn Write,
    report: &Report,
    key: &SuiteKey,
    suite: &Suite,
    cases: &[Case],
) -> io::Result<()> {
    writeln!(
        out,
        "  <testsuite name=\"{}\" {}>",
        xml(&key.name()),
        tally(cases.iter())
    )?;
    writeln!(out, "    <properties>")?;
    let mut property = |name: &str, value: &str| {
        writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml(value)
        )
    };
    property("source", &report.source)?;
    property("account", &key.account)?;
    property("region", &key.region)?;
    if let Some(home) = &suite.home_region {
        property("home_region", home)?;
    }
    if let Some(org) = &suite.organization {
        property("organization", org)?;
    }
    writeln!(out, "    </properties>")?;
    let classname = xml(&key.classname());
    for case in cases {
        write_case(out, &classname, case)?;
    }
    writeln!(out, "  </testsuite>")
}

fn write_case(out: &mut dyn Write, classname: &str, case: &Case) -> io::Result<()> {
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{classname}\"",
        xml(&case.name)
    );
    match &case.verdict {
        CaseVerdict::Passed => writeln!(out, "{open}/>"),
        CaseVerdict::Skipped(message) => writeln!(
            out,
            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
            xml(message)
        ),
        CaseVerdict::Failure(message, kind, body) | CaseVerdict::Error(message, kind, body) => {
            let element = match case.verdict {
                CaseVerdict::Failure(..) => "failure",
                _ => "error",
            };
            writeln!(
                out,
                "{open}>\n      <{element} message=\"{}\" type=\"{kind}\">{}</{element}>\n    \
                 </testcase>",
                xml(message),
                body_text(body)
            )
        }
    }
}

/// Element text: each line escaped on its own, so the newlines between lines stay real.
fn body_text(body: &str) -> String {
    body.lines().map(xml).collect::<Vec<_>>().join("\n")
}

fn hour_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(HOUR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailcheck_core::verdict::{Cause, DEFAULT_FAIL_ON};

    #[test]
    fn an_empty_run_is_one_erroring_case() {
        let mut out = Vec::new();
        render(&Report::default(), &Options::default(), &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(
            xml.contains("<testsuites name=\"trailcheck\" tests=\"1\" failures=\"0\" errors=\"1\"")
        );
        assert!(xml.contains("<error message=\"nothing checked\""));
    }

    #[test]
    fn summaries_put_the_worst_status_first() {
        let f = |s| FileVerdict {
            status: s,
            ..FileVerdict::new(FileKind::Log, "b", "k", Cause::Verified)
        };
        let files = [f(Status::Deleted), f(Status::Modified), f(Status::Deleted)];
        let refs: Vec<&FileVerdict> = files.iter().collect();
        assert_eq!(summary(&refs), "1 modified, 2 deleted");
    }

    #[test]
    fn a_case_with_tampering_and_unverifiable_files_is_a_failure() {
        let f = |s| FileVerdict {
            status: s,
            ..FileVerdict::new(FileKind::Log, "b", "k<&>", Cause::Verified)
        };
        let files = [
            f(Status::Unverifiable),
            f(Status::Modified),
            f(Status::Intact),
        ];
        let refs: Vec<&FileVerdict> = files.iter().collect();
        let case = hour_case(Some(0), &refs, &DEFAULT_FAIL_ON);
        assert_eq!(case.name, "1970-01-01T00:00Z digest hour");
        let CaseVerdict::Failure(message, kind, body) = case.verdict else {
            panic!("a failure")
        };
        assert_eq!((message.as_str(), kind), ("1 modified", "modified"));
        assert_eq!(body.lines().count(), 2, "{body}");
        assert!(body_text(&body).contains("k&lt;&amp;&gt;"));
    }
}
