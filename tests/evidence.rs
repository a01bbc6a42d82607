//! The evidence outputs and the interface around them, against simulated trails: the HTML
//! report and its JSON seal, JUnit for CI, escaping, completions, help, and the progress bar.

mod common;
mod html;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use quick_xml::events::Event;
use sha2::Digest as _;
use trailcheck_core::engine::progress::Progress;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::{BucketProtection, History, ObjectVersion};
use trailcheck_core::verdict::{Cause, ChainId, FileKind, FileVerdict, Report};
use trailcheck_report::{JsonSeal, Options, RunInfo};
use trailcheck_sim::TamperKind;

use common::*;

fn validate(trail: &Trail, extra: &[&str]) -> std::process::Output {
    trail.run_validate(extra)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Validates with `--report` and `--report-json`; returns the two paths.
fn with_reports(trail: &Trail) -> (Output, PathBuf, PathBuf) {
    let html = trail.dir.path().join("case.html");
    let json = trail.dir.path().join("case.json");
    let output = validate(
        trail,
        &[
            "--report",
            html.to_str().expect("utf-8"),
            "--report-json",
            json.to_str().expect("utf-8"),
        ],
    );
    (output, html, json)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("report written")
}

// ---------------------------------------------------------------- HTML report

#[test]
fn html_report_leads_with_the_verdict_and_lists_the_modified_log_with_both_hashes() {
    let trail = simulate(&tampered(TamperKind::ModifyLog));
    let (output, html, json) = with_reports(&trail);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let page = read(&html);
    let verdict_at = page.find("Verdict: TAMPERING FOUND").expect("verdict");
    assert!(verdict_at < page.find("id=\"timeline\"").expect("timeline"));
    assert!(page.contains("data-outcome=\"tampered\""));

    let result: serde_json::Value = serde_json::from_str(&read(&json)).expect("json");
    let modified = result["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["status"] == "modified")
        .expect("a modified file");
    let table = &page[page.find("id=\"not-intact\"").expect("not-intact table")..];
    for field in ["key", "expected_sha256", "actual_sha256"] {
        let value = modified[field].as_str().expect(field);
        assert!(
            table.contains(value),
            "{field} {value} in the not-intact table"
        );
    }
    assert!(table.contains("hash value doesn&#39;t match"));
}

#[test]
fn html_report_has_a_legend_and_one_cell_per_hour_per_region() {
    let trail = simulate(&tampered(TamperKind::DeleteDigest));
    let (_, html, _) = with_reports(&trail);
    let page = read(&html);
    let legend = &page[page.find("id=\"legend\"").expect("legend")..];
    for label in [
        "intact",
        "modified",
        "deleted",
        "moved",
        "unreferenced",
        "unverifiable",
        "gap",
        "not covered",
    ] {
        assert!(legend.contains(&format!("<b>{label}</b>")), "{label}");
    }
    let timeline = &page[page.find("id=\"timeline\"").expect("timeline")..];
    let timeline = &timeline[..timeline.find("</section>").expect("end")];
    assert!(
        timeline.contains("class=\"m-deleted\""),
        "a deleted digest shows"
    );
    assert!(timeline.contains("title=\"2026-11-01 "), "hover details");
    // The appendix lists every file, collapsed.
    assert!(page.contains("<details>\n<summary>All "));
}

#[test]
fn the_html_shows_the_sha256_of_exactly_the_json_file_written() {
    let trail = simulate(&tampered(TamperKind::InsertLog));
    let (_, html, json) = with_reports(&trail);
    let bytes = std::fs::read(&json).expect("json written");
    let hex = hex::encode(sha2::Sha256::digest(&bytes));
    assert!(
        read(&html).contains(&format!("<code id=\"json-sha256\">{hex}</code>")),
        "the HTML names {hex}"
    );
    // And the file holds what `--format json` prints, byte for byte.
    let printed = validate(&trail, &["--format", "json"]);
    assert_eq!(bytes, printed.stdout);
}

#[test]
fn html_of_an_intact_trail_says_intact_and_lists_no_findings() {
    let trail = simulate(&spec());
    let (output, html, _) = with_reports(&trail);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = read(&html);
    assert!(page.contains("Verdict: INTACT"));
    assert!(page.contains("Files that are not intact (0)"));
    assert!(!page.contains("class=\"m-modified\" title"));
}

#[test]
fn html_loads_nothing_and_runs_nothing() {
    let trail = simulate(&spec());
    let (_, html, _) = with_reports(&trail);
    let page = read(&html);
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for external in ["<script", "<link", "src=", "http://", "https://", "@import"] {
        assert!(!page.contains(external), "{external}");
    }
    assert!(page.contains("@media print"));
}

#[test]
fn report_in_a_missing_folder_fails_before_validating_and_names_the_option() {
    let trail = simulate(&spec());
    let output = validate(&trail, &["--report", "no-such-dir/case.html"]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.starts_with("trailcheck: --report: "), "{err}");
    assert!(err.contains("no-such-dir"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A report whose every untrusted string is hostile markup.
fn hostile_report() -> Report {
    let script = "<script>alert(1)</script>";
    let mut file = FileVerdict::new(
        FileKind::Log,
        "bucket\"><img src=x onerror=alert(2)>",
        &format!("AWSLogs/111122223333/CloudTrail/us-east-1/{script}.json.gz"),
        Cause::InvalidFormat(format!("the digest lists hash value '{script}'")),
    );
    file.time = Some(Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap());
    file.account = Some("111122223333".to_owned());
    file.region = Some(format!("us-east-1{script}"));
    file.listed_by = Some(format!("digest{script}"));
    file.expected_sha256 = Some(Sha256::of(b"a"));
    file.actual_sha256 = Some(Sha256::of(b"b"));
    file.history = Some(Box::new(History {
        versions: vec![ObjectVersion {
            version_id: script.to_owned(),
            last_modified: file.time,
            delete_marker: true,
            latest: true,
        }],
        delivered: Some(script.to_owned()),
        restorable: Some(script.to_owned()),
        lock: Some(script.to_owned()),
    }));
    Report {
        source: format!("/archive/{script}"),
        buckets: vec![BucketProtection {
            bucket: format!("bucket{script}"),
            versioning: Some(script.to_owned()),
            mfa_delete: Some(script.to_owned()),
            object_lock: Some(script.to_owned()),
            problem: Some(script.to_owned()),
        }],
        requested_start: file.time,
        requested_end: file.time,
        files: vec![file],
        chains: vec![ChainId {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            trail: format!("trail{script}"),
            home_region: "us-east-1".to_owned(),
            organization: Some(format!("o-{script}")),
            backfill: false,
        }],
        ..Report::default()
    }
}

#[test]
fn every_untrusted_string_in_the_html_is_escaped() {
    let opts = Options {
        trail: Some("arn:aws:cloudtrail:us-east-1:111122223333:trail/<script>".to_owned()),
        ..Options::default()
    };
    let run = RunInfo {
        command_line: vec![
            "trailcheck".to_owned(),
            "<script>alert(3)</script>".to_owned(),
        ],
        ran_at: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        json: Some(JsonSeal {
            path: "<script>.json".to_owned(),
            sha256: Sha256::of(b"{}"),
        }),
    };
    let mut out = Vec::new();
    trailcheck_report::html(&hostile_report(), &opts, &run, &mut out).expect("rendered");
    let page = String::from_utf8(out).expect("utf-8");
    assert!(!page.contains("<script"), "no live script tag");
    assert!(!page.contains("<img"), "no live image tag");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.json.gz"));
    assert!(page.contains("bucket&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
}

#[test]
fn escape_makes_a_script_key_inert() {
    assert_eq!(
        trailcheck_report::escape_html("k<script>alert('x')</script>&"),
        "k&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
    );
}

// ---------------------------------------------------------------- JUnit

/// Parses JUnit XML (failing the test if it is not well-formed) and counts elements.
#[derive(Debug, Default, PartialEq, Eq)]
struct JunitCounts {
    suites: usize,
    cases: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    /// The `tests`, `failures`, `errors` attributes of `<testsuites>`.
    declared: (usize, usize, usize),
    case_names: Vec<String>,
}

fn parse_junit(xml: &str) -> JunitCounts {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut counts = JunitCounts::default();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .map(|a| a.expect("attribute"))
                        .find(|a| AsRef::<str>::as_ref(&a.key).as_bytes() == name)
                        .map(|a| {
                            a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                .expect("value")
                                .into_owned()
                        })
                };
                match AsRef::<str>::as_ref(&e.name()).as_bytes() {
                    b"testsuites" => {
                        let n = |name: &[u8]| attr(name).and_then(|v| v.parse().ok()).unwrap_or(99);
                        counts.declared = (n(b"tests"), n(b"failures"), n(b"errors"));
                    }
                    b"testsuite" => counts.suites += 1,
                    b"testcase" => {
                        counts.cases += 1;
                        counts.case_names.push(attr(b"name").expect("name"));
                    }
                    b"failure" => counts.failures += 1,
                    b"error" => counts.errors += 1,
                    b"skipped" => counts.skipped += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    counts
}

#[test]
fn junit_has_one_case_per_digest_hour_and_fails_the_tampered_one() {
    let trail = simulate(&tampered(TamperKind::ModifyLog));
    let output = validate(&trail, &["--format", "junit"]);
    assert_eq!(output.status.code(), Some(1));
    let counts = parse_junit(&stdout(&output));
    let digest_hours = trail.manifest.digests_written;
    assert_eq!(counts.suites, 1);
    assert_eq!(counts.cases, digest_hours, "{:?}", counts.case_names);
    assert_eq!((counts.failures, counts.errors), (1, 0));
    assert_eq!(counts.declared, (counts.cases, 1, 0));
    assert!(
        counts
            .case_names
            .iter()
            .all(|n| n.ends_with("Z digest hour"))
    );
}

#[test]
fn junit_reports_unverifiable_as_errors_and_a_chain_break_as_a_failure() {
    let unverifiable = simulate(&tampered(TamperKind::NoSignature));
    let output = validate(&unverifiable, &["--format", "junit"]);
    assert_eq!(output.status.code(), Some(3));
    let counts = parse_junit(&stdout(&output));
    assert_eq!(counts.failures, 0);
    assert!(counts.errors >= 1, "{counts:?}");

    let broken = simulate(&tampered(TamperKind::DeleteDigests2));
    let counts = parse_junit(&stdout(&validate(&broken, &["--format", "junit"])));
    assert!(
        counts.case_names.iter().any(|n| n.ends_with("chain break")),
        "{counts:?}"
    );
    assert!(counts.failures >= 2, "{counts:?}");
}

#[test]
fn junit_follows_fail_on() {
    let trail = simulate(&tampered(TamperKind::NoSignature));
    let output = validate(&trail, &["--format", "junit", "--fail-on", "unverifiable"]);
    assert_eq!(output.status.code(), Some(1));
    let counts = parse_junit(&stdout(&output));
    assert!(counts.failures >= 1 && counts.errors == 0, "{counts:?}");
}

#[test]
fn junit_of_hostile_strings_is_well_formed() {
    let mut out = Vec::new();
    trailcheck_report::junit(&hostile_report(), &Options::default(), &mut out).expect("rendered");
    let xml = String::from_utf8(out).expect("utf-8");
    let counts = parse_junit(&xml);
    assert_eq!((counts.cases, counts.failures), (1, 1));
    assert!(!xml.contains("<script"));
}

// ---------------------------------------------------------------- the command line

#[test]
fn quiet_prints_the_verdict_line_only() {
    let trail = simulate(&tampered(TamperKind::DeleteLog));
    let output = validate(&trail, &["--quiet"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "Verdict: TAMPERED (1 deleted)\n");
    assert_eq!(stderr(&output), "");
}

#[test]
fn relative_start_times_are_accepted() {
    let trail = simulate(&spec());
    let output = validate(&trail, &["--start-time", "-3650d"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().expect("dir");
    for shell in ["bash", "zsh", "fish"] {
        let output = trailcheck(dir.path(), &["completions", shell]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{shell}: {}",
            stderr(&output)
        );
        let script = stdout(&output);
        assert!(
            script.contains("validate") && script.contains("report-json"),
            "{shell}"
        );
    }
}

#[test]
fn help_shows_an_example_for_every_subcommand() {
    let dir = tempfile::tempdir().expect("dir");
    for sub in ["validate", "simulate", "completions"] {
        let output = trailcheck(dir.path(), &[sub, "--help"]);
        let help = stdout(&output);
        assert!(help.contains("Example"), "{sub}: {help}");
        assert!(
            help.contains(&format!("trailcheck {sub} ")),
            "{sub}: {help}"
        );
    }
}

// ---------------------------------------------------------------- progress

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let trail = simulate(&spec());
    let output = validate(&trail, &[]);
    assert_eq!(output.status.code(), Some(0));
    let err = stderr(&output);
    assert!(
        !err.contains('\r') && !err.contains("checking ["),
        "{err:?}"
    );
    assert_eq!(err, "");
}

#[derive(Default)]
struct Counter {
    total: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
}

impl Progress for Counter {
    fn total(&self, files: u64) {
        self.total.fetch_add(files, Ordering::Relaxed);
    }
    fn done(&self, bytes: u64) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

#[test]
fn the_engine_reports_every_file_it_reads_and_the_bytes() {
    let trail = simulate(&spec());
    let keys = trailcheck_core::keys::KeyRing::load_dir(&trail.keys()).expect("keys");
    let store = trailcheck_core::engine::open_local(&trail.archive(), None).expect("store");
    let settings = trailcheck_core::engine::Settings {
        start: None,
        end: trail.end(),
        trail: None,
        jobs: 2,
        shard: None,
        checkpoint: None,
        window: None,
    };
    let counter = Counter::default();
    let report = trailcheck_core::engine::validate_observed(&store, &keys, &settings, &counter)
        .expect("runs");
    let (total, done) = (counter.total.into_inner(), counter.done.into_inner());
    assert_eq!(total, report.files.len() as u64);
    assert_eq!(done, total);
    let on_disk: u64 = walk_sizes(&trail.archive());
    assert!(
        counter.bytes.into_inner() >= on_disk * 9 / 10,
        "most bytes counted"
    );
}

fn walk_sizes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            if p.is_dir() {
                walk_sizes(&p)
            } else if p.extension().is_some_and(|x| x == "gz") {
                p.metadata().expect("meta").len()
            } else {
                0
            }
        })
        .sum()
}

// ---------------------------------------------------------------- in a browser

/// Renders the report of a tampered two-region trail in headless Chromium: a screenshot to
/// look at (its path is printed), and the laid-out DOM checked for the verdict, the legend
/// and the timeline cells.
#[test]
fn the_report_renders_in_chromium() {
    let Some(browser) = html::chromium() else {
        println!("SKIPPED: `chromium` is not installed (apt-get install chromium)");
        return;
    };
    let mut spec = tampered(TamperKind::ModifyLog);
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let trail = simulate(&spec);
    let (_, page, _) = with_reports(&trail);

    let png = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("evidence-report.png");
    let _ = std::fs::remove_file(&png);
    html::screenshot(&browser, &page, &png);
    let bytes = std::fs::read(&png).expect("png");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000);
    println!("screenshot: {}", png.display());

    let dom = html::dump_dom(&browser, &page);
    assert!(dom.contains("Verdict: TAMPERING FOUND"));
    assert!(dom.contains("id=\"legend\""));
    let hours = trail.manifest.digests_written / 2;
    let cells = dom.matches(" title=\"2026-").count();
    assert!(
        cells >= 2 * hours,
        "{cells} cells for {hours} hours in 2 regions"
    );
    assert_eq!(dom.matches("<i class=\"m-modified\" title=").count(), 1);
    assert_eq!(dom.matches("class=\"tl-row\"").count(), 2);
}

// ---------------------------------------------------------------- old archives (issue 14)

/// A one-region trail of 24 hours starting at `start`, with the given tampering.
fn trail_at(start: &str, seed: u64, tampers: &[TamperKind]) -> Trail {
    let mut spec = spec();
    spec.start = start.parse().expect("start time");
    spec.hours = 24;
    spec.seed = seed;
    for &kind in tampers {
        spec.tampers.push(trailcheck_sim::TamperSpec {
            kind,
            region: None,
            hour: None,
        });
    }
    simulate(&spec)
}

/// A March 2024 archive with a modified log and a deleted digest (a chain break).
fn archive_2024() -> Trail {
    trail_at(
        "2024-03-04T00:00:00Z",
        1,
        &[TamperKind::ModifyLog, TamperKind::DeleteDigest],
    )
}

/// Two years in one folder: the March 2024 archive, and 24 hours of the same trail in
/// September 2025 with a deleted and an inserted log. Validation was off in between, so the
/// chain has a gap of 18 months: a two-year archive without its 17,500 digests.
fn archive_2024_and_2025() -> Trail {
    let trail = archive_2024();
    let later = trail_at(
        "2025-09-10T00:00:00Z",
        2,
        &[TamperKind::DeleteLog, TamperKind::InsertLog],
    );
    copy_tree(&later.archive(), &trail.archive());
    // One key signs both years: publish it valid over both, or (since issue 9) the 2025
    // digests are signed outside the 2024 trail's key validity and are unverifiable.
    let key_file = trail.keys().join(trailcheck_sim::PUBLIC_KEYS_FILE);
    let mut keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&key_file).expect("key file")).expect("keys");
    for key in keys["PublicKeyList"].as_array_mut().expect("keys") {
        key["ValidityStartTime"] = "2024-01-01T00:00:00Z".into();
        key["ValidityEndTime"] = "2026-12-31T00:00:00Z".into();
    }
    std::fs::write(&key_file, keys.to_string()).expect("key file");
    trail
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// Validates as a new user would: no `--end-time`, so the requested range runs up to now,
/// years past the archive. Writes the report and its JSON; returns the JSON result.
fn validate_up_to_now(trail: &Trail, extra: &[&str]) -> (Output, PathBuf, serde_json::Value) {
    let (archive, keys) = (trail.archive(), trail.keys());
    let html = trail.dir.path().join("case.html");
    let json = trail.dir.path().join("case.json");
    let mut args = vec![
        "validate",
        archive.to_str().expect("utf-8"),
        "--keys",
        keys.to_str().expect("utf-8"),
        "--report",
        html.to_str().expect("utf-8"),
        "--report-json",
        json.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let output = trailcheck(trail.dir.path(), &args);
    let result = serde_json::from_str(&read(&json)).expect("json");
    (output, html, result)
}

/// The hour (`2024-03-05 01:00`) and status of every file with tampering or that could not
/// be verified, from the JSON result.
fn finding_hours(result: &serde_json::Value) -> Vec<(String, String)> {
    let files = result["files"].as_array().expect("files");
    let findings: Vec<(String, String)> = files
        .iter()
        .filter(|f| !["intact", "pending"].contains(&f["status"].as_str().expect("status")))
        .map(|f| {
            let time = f["time"].as_str().expect("a time");
            let hour = format!("{} {}:00", &time[..10], &time[11..13]);
            (hour, f["status"].as_str().expect("status").to_owned())
        })
        .collect();
    assert!(!findings.is_empty(), "the archive holds findings");
    findings
}

/// The timeline section of a report page.
fn timeline_of(page: &str) -> &str {
    let timeline = &page[page.find("id=\"timeline\"").expect("timeline")..];
    &timeline[..timeline.find("</section>").expect("end")]
}

/// Every finding's hour is an hour cell Chromium draws visibly, in a finding's colour, whose
/// hover names the file's status.
fn assert_findings_seen_in_chromium(browser: &Path, html: &Path, findings: &[(String, String)]) {
    let cells = html::timeline_cells(browser, html);
    assert!(!cells.is_empty(), "no timeline cells laid out");
    for (hour, status) in findings {
        let cell = cells
            .iter()
            .find(|c| c.title.starts_with(&format!("{hour} UTC:")))
            .unwrap_or_else(|| panic!("no cell for the {status} file's hour {hour}"));
        assert!(cell.is_seen(), "{hour} is not visible: {cell:?}");
        assert!(
            !["m-intact", "m-uncovered"].contains(&cell.class.as_str()),
            "{hour} drawn as {}",
            cell.class
        );
        assert!(
            cell.title.contains(&format!(" {status}")),
            "{hour}: {}",
            cell.title
        );
    }
}

#[test]
fn a_2024_archive_validated_with_no_end_time_shows_its_findings_hours() {
    let trail = archive_2024();
    let (output, html, result) = validate_up_to_now(&trail, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let page = read(&html);
    let timeline = timeline_of(&page);
    assert!(!timeline.contains("too long"), "nothing is cut");
    assert!(
        timeline.contains("data-from=\"2024-03-03T21:00:00Z\""),
        "drawn from the archive's first hour, 3 hours before: {}",
        &timeline[..200]
    );
    assert!(timeline.contains("data-cell=\"hour\""));
    // The requested range, up to today, is still stated where the checks are.
    let checked = &page[page.find("id=\"checked\"").expect("checked")..];
    assert!(checked.contains("Time range requested</th><td>2024-03-04T"));
    let findings = finding_hours(&result);
    for (hour, _) in &findings {
        assert!(
            timeline.contains(&format!("title=\"{hour} UTC: ")),
            "{hour} drawn"
        );
    }
    match html::chromium() {
        Some(browser) => assert_findings_seen_in_chromium(&browser, &html, &findings),
        None => println!("SKIPPED the browser check: TRAILCHECK_TEST_CHROMIUM is not set"),
    }
}

#[test]
fn a_two_year_archive_with_findings_in_both_years_shows_both() {
    let trail = archive_2024_and_2025();
    let (output, html, result) = validate_up_to_now(&trail, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let page = read(&html);
    let timeline = timeline_of(&page);
    // Compressed to one cell per day, the whole span drawn, nothing cut.
    assert!(
        timeline.contains("data-cell=\"day\""),
        "{}",
        &timeline[..300]
    );
    assert!(!timeline.contains("too long to draw"));
    for (day, class) in [("2024-03-04", "m-modified"), ("2025-09-10", "m-deleted")] {
        assert!(
            timeline.contains(&format!("<i class=\"{class}\" title=\"{day} UTC (day): ")),
            "{day} drawn as {class}"
        );
    }
    assert!(timeline.contains("<span class=\"tl-date\">2024-12</span>"));
    assert!(timeline.contains("Days with findings, hour by hour (2)"));
    let findings = finding_hours(&result);
    let years: std::collections::BTreeSet<&str> =
        findings.iter().map(|(hour, _)| &hour[..4]).collect();
    assert_eq!(years.into_iter().collect::<Vec<_>>(), ["2024", "2025"]);
    for (hour, _) in &findings {
        assert!(
            timeline.contains(&format!("title=\"{hour} UTC: ")),
            "{hour} drawn hour by hour"
        );
    }
    match html::chromium() {
        Some(browser) => assert_findings_seen_in_chromium(&browser, &html, &findings),
        None => println!("SKIPPED the browser check: TRAILCHECK_TEST_CHROMIUM is not set"),
    }
}

#[test]
fn junit_hours_and_the_results_found_line_lie_inside_the_drawn_timeline() {
    let trail = archive_2024_and_2025();
    let (_, html, _) = validate_up_to_now(&trail, &[]);
    let page = read(&html);
    let attr = |name: &str| {
        let at = page.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        page[at..at + 20].to_owned()
    };
    // The drawn hours run from `first` to `last`, exclusive.
    let (first, last) = (attr("data-from"), attr("data-to"));
    let inside = |t: &str| first.as_str() <= t && t < last.as_str();

    let (archive, keys) = (trail.archive(), trail.keys());
    let args = [
        "validate",
        archive.to_str().expect("utf-8"),
        "--keys",
        keys.to_str().expect("utf-8"),
    ];
    let text = stdout(&trailcheck(trail.dir.path(), &args));
    let found = text
        .lines()
        .find_map(|l| l.strip_prefix("Results found for "))
        .expect("a results found line");
    let (from, to) = found
        .trim_end_matches(':')
        .split_once(" to ")
        .expect("a range");
    assert!(inside(from) && inside(to), "{found} in {first}..{last}");

    let junit = trailcheck(
        trail.dir.path(),
        &[&args[..], &["--format", "junit"]].concat(),
    );
    let counts = parse_junit(&stdout(&junit));
    let hours: Vec<String> = counts
        .case_names
        .iter()
        .filter_map(|n| n.strip_suffix(" digest hour"))
        .map(|h| format!("{}:00:00Z", &h[..13]))
        .collect();
    assert_eq!(hours.len(), 48, "{:?}", counts.case_names);
    for hour in &hours {
        assert!(inside(hour), "JUnit case {hour} in {first}..{last}");
    }
}

#[test]
fn the_report_states_each_buckets_protection_and_a_files_history() {
    let mut report = hostile_report();
    report.buckets = vec![BucketProtection {
        bucket: "trail-bucket".to_owned(),
        versioning: Some("Enabled".to_owned()),
        object_lock: Some("COMPLIANCE 30 days".to_owned()),
        ..BucketProtection::default()
    }];
    if let Some(history) = report.files[0].history.as_mut() {
        history.restorable = Some("v1".to_owned());
        history.lock = None;
    }
    let run = RunInfo {
        command_line: vec!["trailcheck".to_owned()],
        ran_at: Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        json: None,
    };
    let mut out = Vec::new();
    trailcheck_report::html(&report, &Options::default(), &run, &mut out).expect("rendered");
    let page = String::from_utf8(out).expect("utf-8");
    assert!(page.contains("Bucket protection"));
    assert!(
        page.contains("versioning Enabled; Object Lock COMPLIANCE 30 days"),
        "{page}"
    );
    assert!(page.contains("restorable: version v1"));
}
