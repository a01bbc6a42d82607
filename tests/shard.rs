//! `--shard K/N`: N runs, one per job of a job-array scheduler, judge every file of an
//! archive once, and together give the verdicts and exit code of one run over all of it.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use trailcheck_sim::{TamperKind, TamperSpec};

/// Two accounts, three regions each, a tampering in each account: one archive.
fn two_account_archive() -> Trail {
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"].map(str::to_owned);
    let mut first = spec();
    first.regions = regions.to_vec();
    first.tampers.push(TamperSpec {
        kind: TamperKind::ModifyLog,
        region: Some("eu-west-1".to_owned()),
        hour: None,
    });
    let trail = simulate(&first);
    let mut second = spec();
    second.regions = regions.to_vec();
    second.account = "444455556666".to_owned();
    second.tampers.push(TamperSpec {
        kind: TamperKind::DeleteDigest,
        region: Some("ap-southeast-2".to_owned()),
        hour: None,
    });
    let other = simulate(&second);
    copy_tree(
        &other.archive().join("AWSLogs/444455556666"),
        &trail.archive().join("AWSLogs/444455556666"),
    );
    trail
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copied");
        }
    }
}

/// `validate --format json` with `extra`, and the given environment variables only.
fn validate(trail: &Trail, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let archive = trail.archive();
    let keys = trail.keys();
    let end = trailcheck_core::time::display(trail.end());
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailcheck"));
    command
        .args(["validate", archive.to_str().expect("utf-8"), "--keys"])
        .arg(&keys)
        .args(["--end-time", &end, "--format", "json"])
        .args(extra)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("trailcheck runs");
    let code = output.status.code().unwrap_or(-1);
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (code, json)
}

/// The exit code one run over everything would give, from the shards' codes.
fn combined(codes: &[i32]) -> i32 {
    if codes.contains(&1) {
        1
    } else if codes.contains(&3) {
        3
    } else {
        0
    }
}

#[test]
fn n_shards_together_judge_every_file_once_as_one_run_does() {
    let trail = two_account_archive();
    let (whole_code, whole) = validate(&trail, &[], &[]);
    let whole = json_verdicts(&whole);
    assert_eq!(whole_code, 1, "tampering in both accounts");
    assert!(whole.iter().any(|v| v.2.contains("/444455556666/")));
    let gaps = |report: &Value| report["gaps"].as_array().map_or(0, Vec::len);
    let (_, whole_report) = validate(&trail, &[], &[]);
    for n in [1u32, 2, 3, 7] {
        let mut union = BTreeSet::new();
        let mut codes = Vec::new();
        let mut shard_gaps = 0;
        let mut nonempty = 0;
        for k in 0..n {
            let shard = format!("{k}/{n}");
            let (code, report) = validate(&trail, &["--shard", &shard], &[]);
            assert!([0, 1, 3].contains(&code), "{shard}: exit {code}");
            let files = json_verdicts(&report);
            nonempty += usize::from(!files.is_empty());
            for file in files {
                assert!(union.insert(file.clone()), "{shard} judged {file:?} again");
            }
            codes.push(code);
            shard_gaps += gaps(&report);
        }
        assert_eq!(union, whole, "{n} shards");
        assert_eq!(combined(&codes), whole_code, "{n} shards: {codes:?}");
        assert_eq!(shard_gaps, gaps(&whole_report), "{n} shards");
        if n > 1 {
            assert!(nonempty > 1, "{n} shards split nothing");
        }
    }
}

#[test]
fn a_shard_holding_nothing_of_the_archive_is_intact_and_says_so() {
    let trail = simulate(&spec());
    let mut empty = None;
    for k in 0..7 {
        let shard = format!("{k}/7");
        let (code, report) = validate(&trail, &["--shard", &shard], &[]);
        assert_eq!(report["shard"]["count"], 7);
        if report["files"].as_array().is_some_and(Vec::is_empty) {
            assert_eq!(code, 0, "{shard}: {report}");
            assert_eq!(report["outcome"], "intact");
            empty = Some(shard);
        }
    }
    let shard = empty.expect("one region in seven shards leaves some empty");
    let output = trail.run_validate(&["--shard", &shard]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("holds none of this archive's accounts and regions"),
        "{stdout}"
    );
    // Without a shard, finding nothing is not a pass.
    let none = trailcheck_core::verdict::Report::default();
    assert_eq!(
        none.outcome(&trailcheck_core::verdict::DEFAULT_FAIL_ON),
        trailcheck_core::verdict::Outcome::Incomplete
    );
}

#[test]
fn auto_takes_the_index_from_kubernetes_or_aws_batch() {
    let trail = simulate(&spec());
    let (_, explicit) = validate(&trail, &["--shard", "1/3"], &[]);
    let (code, kubernetes) = validate(
        &trail,
        &["--shard", "auto/3"],
        &[("JOB_COMPLETION_INDEX", "1")],
    );
    assert_ne!(code, 2);
    assert_eq!(json_verdicts(&kubernetes), json_verdicts(&explicit));
    let (code, batch) = validate(
        &trail,
        &["--shard", "auto/3"],
        &[("AWS_BATCH_JOB_ARRAY_INDEX", "1")],
    );
    assert_ne!(code, 2);
    assert_eq!(json_verdicts(&batch), json_verdicts(&explicit));
}

#[test]
fn a_bad_shard_is_a_usage_error_naming_the_option() {
    let trail = simulate(&spec());
    for shard in ["3/3", "x/2", "1/0", "2", "1/100001", "one/2"] {
        let output = trail.run_validate(&["--shard", shard]);
        assert_eq!(output.status.code(), Some(2), "{shard}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--shard"), "{shard}: {stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_trailcheck"))
        .args(["validate", "--shard", "auto/4"])
        .arg(trail.archive())
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("JOB_COMPLETION_INDEX") && stderr.contains("AWS_BATCH_JOB_ARRAY_INDEX"),
        "{stderr}"
    );
}
