//! trailcheck against the real `aws cloudtrail validate-logs`, file by file, on the same
//! simulated trails served by a loopback S3 server (see tests/awscli/README.md).
//!
//! Agreement means: every file the CLI calls valid, trailcheck calls intact; every file the
//! CLI calls INVALID, trailcheck calls something other than intact or pending, with the status
//! the CLI's reason implies. The only file the CLI calls valid and trailcheck does not is a log
//! with data after its gzip member, which the CLI cannot see; that case is asserted too.
//! Skipped, with a message, unless `scripts/test` started the servers.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use trailcheck_core::verdict::{Cause, Report, Status};
use trailcheck_sim::{BucketSwitch, HourRange, Layout, Rotation, Spec, TamperKind, TestKeys};

fn python() -> Option<String> {
    if std::env::var("TRAILCHECK_TEST_AWSCLI").as_deref() != Ok("1") {
        eprintln!(
            "skipped: the AWS CLI comparison needs scripts/test (TRAILCHECK_TEST_AWSCLI unset)"
        );
        return None;
    }
    Some(std::env::var("TRAILCHECK_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned()))
}

/// Each test gets its own bucket: tests run in parallel against one S3 server.
fn with_bucket(mut spec: Spec, name: &str) -> Spec {
    spec.bucket = format!("aws-cloudtrail-logs-111122223333-agree-{name}");
    spec
}

/// Uploads the trail and runs the CLI over every trail and region in it.
fn run_cli(python: &str, trail: &Trail) -> Value {
    let mut command = Command::new(python);
    command
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/awscli/run_cli.py"
        ))
        .arg(trail.archive())
        .arg("--upload")
        .arg("--keys")
        .arg(trail.keys().join(trailcheck_sim::PUBLIC_KEYS_FILE))
        .arg("--end-time")
        .arg(trailcheck_core::time::display(trail.end()));
    if trail.manifest.layout == Layout::PerBucket {
        command.arg("--per-bucket");
    }
    let output = command.output().expect("run_cli.py runs");
    assert!(
        output.status.success(),
        "run_cli.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("run_cli.py prints JSON")
}

/// The status trailcheck must give a file the CLI calls INVALID for `reason`.
fn implied_status(reason: &str) -> &'static [Status] {
    match reason {
        "not found" => &[Status::Deleted],
        "hash value doesn't match" | "invalid format" => &[Status::Modified],
        // The CLI says this for a wrong signature and for missing signature metadata alike.
        "signature verification failed" => &[Status::Modified, Status::Unverifiable],
        r if r.starts_with("has been moved") => &[Status::Moved],
        r if r.starts_with("public key not found") => &[Status::Unverifiable],
        _ => &[
            Status::Modified,
            Status::Deleted,
            Status::Moved,
            Status::Unverifiable,
        ],
    }
}

/// Asserts agreement; returns how many files the CLI reported.
fn assert_agreement(cli: &Value, report: &Report) -> usize {
    let files = cli["files"].as_array().expect("files");
    assert!(
        cli["errors"].as_array().is_none_or(Vec::is_empty),
        "CLI errors: {}",
        cli["errors"]
    );
    for file in files {
        let (bucket, key) = (
            file["bucket"].as_str().unwrap_or(""),
            file["key"].as_str().unwrap_or(""),
        );
        let ours = report
            .files
            .iter()
            .find(|f| f.bucket == bucket && f.key == key);
        if file["valid"] == true {
            let ours = ours.unwrap_or_else(|| panic!("trailcheck has no verdict for {key}"));
            let missed_by_cli = ours.cause == Cause::DataAfterGzip;
            assert!(
                ours.status == Status::Intact || missed_by_cli,
                "CLI: valid; trailcheck: {} ({}) for {key}",
                ours.status,
                ours.cause
            );
            continue;
        }
        let reason = file["reason"].as_str().unwrap_or("");
        // Every file the CLI reports has an entry under the same key: a moved digest's
        // original location too (deleted, cause moved), since issue 9.
        let ours = ours
            .unwrap_or_else(|| panic!("CLI: INVALID: {reason}; trailcheck: no verdict for {key}"));
        let implied = if matches!(ours.cause, Cause::MovedFrom { .. }) {
            &[Status::Moved][..]
        } else {
            implied_status(reason)
        };
        assert!(
            implied.contains(&ours.status),
            "CLI: INVALID: {reason}; trailcheck: {} ({}) for {key}",
            ours.status,
            ours.cause
        );
    }
    files.len()
}

fn agree(name: &str, spec: Spec) {
    let Some(python) = python() else { return };
    let trail = simulate(&with_bucket(spec, name));
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    let compared = assert_agreement(&cli, &report);
    assert!(compared > 0, "the CLI reported nothing for {name}: {cli}");
}

#[test]
fn clean_two_region_trail_with_backfill() {
    let mut spec = spec();
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    spec.backfill = true;
    let Some(python) = python() else { return };
    let trail = simulate(&with_bucket(spec, "clean"));
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    assert_agreement(&cli, &report);
    let invalid = cli["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["valid"] != true)
        .count();
    assert_eq!(
        invalid, 0,
        "the CLI calls the simulated trail invalid: {cli}"
    );
    assert_eq!(
        cli["files"].as_array().map(Vec::len),
        Some(report.files.len())
    );
}

#[test]
fn every_tampering() {
    let kinds = [
        ("modify-log", TamperKind::ModifyLog),
        ("corrupt-log", TamperKind::CorruptLog),
        ("delete-log", TamperKind::DeleteLog),
        ("insert-log", TamperKind::InsertLog),
        ("modify-digest", TamperKind::ModifyDigest),
        ("delete-digest", TamperKind::DeleteDigest),
        ("delete-digests-2", TamperKind::DeleteDigests2),
        ("move-digest", TamperKind::MoveDigest),
        ("unknown-key", TamperKind::UnknownKey),
        ("bad-signature", TamperKind::BadSignature),
        ("no-signature", TamperKind::NoSignature),
    ];
    std::thread::scope(|scope| {
        for (name, kind) in kinds {
            scope.spawn(move || agree(name, tampered(kind)));
        }
    });
}

#[test]
fn data_after_the_gzip_member_is_missed_by_the_cli_and_caught_here() {
    let Some(python) = python() else { return };
    let trail = simulate(&with_bucket(tampered(TamperKind::AppendLog), "append-log"));
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    assert_agreement(&cli, &report);
    let key = &trail.manifest.tampered[0].key;
    let cli_says = cli["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["key"] == key.as_str());
    assert_eq!(
        cli_says.map(|f| f["valid"].clone()),
        Some(Value::Bool(true))
    );
    assert_eq!(find(&report, key).status, Status::Modified);
}

#[test]
fn gap_rotation_organization_prefix() {
    let mut spec = spec();
    spec.hours = 6;
    spec.gaps = vec![HourRange { first: 2, last: 2 }];
    spec.rotation = Some(Rotation {
        at_hour: 4,
        key: TestKeys::embedded().expect("keys").b,
    });
    spec.org_id = Some("o-exampleorg1".to_owned());
    spec.prefix = "audit/cloudtrail".to_owned();
    agree("org-gap", spec);
}

#[test]
fn chain_across_two_buckets() {
    let mut spec = spec();
    spec.layout = Layout::PerBucket;
    spec.bucket_switch = Some(BucketSwitch {
        at_hour: 2,
        bucket: "aws-cloudtrail-logs-111122223333-agree-second".to_owned(),
    });
    agree("first", spec);
}

/// Issue 9: the CLI reports a moved digest's original key "not found"; trailcheck lists that
/// key too (deleted, cause moved), and the copy as moved.
#[test]
fn moved_digest_has_an_entry_at_the_key_the_cli_reports_not_found() {
    let Some(python) = python() else { return };
    let trail = simulate(&with_bucket(tampered(TamperKind::MoveDigest), "moved-key"));
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    assert_agreement(&cli, &report);
    let not_found: Vec<&str> = cli["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter(|f| f["reason"] == "not found")
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert!(
        !not_found.is_empty(),
        "the CLI reports the original key: {cli}"
    );
    for key in not_found {
        let ours = find(&report, key);
        assert_eq!((ours.status, ours.cause.code()), (Status::Deleted, "moved"));
    }
}

/// Issue 9: the oldest digest deleted, its logs left; the CLI, given a start before the
/// trail, reports it not found, and so does trailcheck with no start time.
#[test]
fn oldest_digest_deleted_with_its_logs_left() {
    let Some(python) = python() else { return };
    let trail = simulate(&with_bucket(spec(), "oldest"));
    let oldest = trail.oldest_digest().clone();
    let path = trail.path(&oldest.bucket, &oldest.key);
    std::fs::remove_file(&path).expect("delete oldest");
    let _ = std::fs::remove_file(trailcheck_sim::sidecar_path(&path));
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    assert_agreement(&cli, &report);
    let cli_says = cli["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["key"] == oldest.key.as_str());
    assert_eq!(
        cli_says.map(|f| f["reason"].clone()),
        Some(Value::from("not found")),
        "{cli}"
    );
    assert_eq!(find(&report, &oldest.key).status, Status::Deleted);
}

/// Logs of other kinds that the digests list (`CloudTrail-Insight/`, ...) are validated by
/// the CLI like any log a digest names; trailcheck agrees on each, including one changed.
/// Unlisted ones (`:undigested`) the CLI never sees; trailcheck calls them unverifiable.
#[test]
fn listed_logs_of_other_kinds_are_judged_as_the_cli_judges_them() {
    let Some(python) = python() else { return };
    let mut spec = spec();
    spec.log_kinds = ["insight", "aggregated", "network-activity:undigested"]
        .iter()
        .map(|k| k.parse().expect("a kind"))
        .collect();
    let trail = simulate(&with_bucket(spec, "kinds"));
    let insight = (trail.manifest.files.iter())
        .find(|f| f.key.contains("/CloudTrail-Insight/") && f.listed_by.is_some())
        .expect("a listed Insights log")
        .clone();
    std::fs::write(
        trail.path(&insight.bucket, &insight.key),
        gzip(b"{\"Records\":[]}"),
    )
    .expect("rewritten");
    let cli = run_cli(&python, &trail);
    let report = trail.validate();
    assert_agreement(&cli, &report);
    let cli_keys: Vec<&str> = (cli["files"].as_array().expect("files").iter())
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert!(
        cli_keys
            .iter()
            .any(|k| k.contains("/CloudTrail-Aggregated/")),
        "{cli}"
    );
    let changed = (cli["files"].as_array().expect("files").iter())
        .find(|f| f["key"] == insight.key.as_str())
        .expect("the CLI reports the changed Insights log");
    assert_ne!(changed["valid"], true, "{changed}");
    assert!(
        !cli_keys
            .iter()
            .any(|k| k.contains("/CloudTrail-NetworkActivity/"))
    );
}
