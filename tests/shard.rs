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

/// Runs `trailcheck` with `args` from `dir`, and its exit code, stdout and stderr.
fn run_in(dir: &Path, args: &[String]) -> (i32, String, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = trailcheck(dir, &args);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `validate` arguments every run of these tests shares, then `extra`.
fn validate_args(trail: &Trail, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["validate", path_str(&trail.archive()), "--keys"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(path_str(&trail.keys()).to_owned());
    args.push("--end-time".to_owned());
    args.push(trailcheck_core::time::display(trail.end()));
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Writes the JSON result of shard K/N for each K in `indexes` into `dir`; their paths.
fn shard_results(trail: &Trail, dir: &Path, n: u32, indexes: &[u32]) -> Vec<String> {
    indexes
        .iter()
        .map(|k| {
            let file = dir.join(format!("shard-{k}-of-{n}.json"));
            let shard = format!("{k}/{n}");
            let args = validate_args(trail, &["--shard", &shard, "--format", "json", "--quiet"]);
            let (code, stdout, stderr) = run_in(dir, &args);
            assert!([0, 1, 3].contains(&code), "{shard}: {code} {stderr}");
            std::fs::write(&file, stdout).expect("written");
            path_str(&file).to_owned()
        })
        .collect()
}

fn merge_args(files: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = vec!["merge".to_owned()];
    args.extend(files.iter().cloned());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// The evidence report without what differs between any two runs: when and how it ran.
fn without_run_info(html: &str) -> String {
    html.lines()
        .filter(|l| {
            !["Command line", "Ran at", "<footer>", "JSON result"]
                .iter()
                .any(|said| l.contains(said))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn n_shards_merged_give_one_runs_result_text_json_junit_and_evidence_report() {
    let trail = two_account_archive();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let whole_json = dir.join("whole.json");
    let whole_html = dir.join("whole.html");
    let (whole_code, whole_text, whole_err) = run_in(
        dir,
        &validate_args(
            &trail,
            &[
                "--report-json",
                path_str(&whole_json),
                "--report",
                path_str(&whole_html),
            ],
        ),
    );
    assert_eq!(whole_code, 1, "{whole_err}");
    let (_, whole_junit, _) = run_in(dir, &validate_args(&trail, &["--format", "junit"]));
    let whole_json = std::fs::read_to_string(&whole_json).expect("json");
    let whole_html = std::fs::read_to_string(&whole_html).expect("html");
    for n in [1u32, 2, 3, 7] {
        let indexes: Vec<u32> = (0..n).rev().collect();
        let files = shard_results(&trail, dir, n, &indexes);
        let merged_json = dir.join(format!("merged-{n}.json"));
        let merged_html = dir.join(format!("merged-{n}.html"));
        let (code, text, err) = run_in(
            dir,
            &merge_args(
                &files,
                &[
                    "--report-json",
                    path_str(&merged_json),
                    "--report",
                    path_str(&merged_html),
                ],
            ),
        );
        assert_eq!(code, whole_code, "{n} shards: {err}");
        assert_eq!(text, whole_text, "{n} shards: the text result");
        assert_eq!(err, whole_err, "{n} shards: the problems on stderr");
        let merged = std::fs::read_to_string(&merged_json).expect("merged json");
        assert_eq!(
            merged, whole_json,
            "{n} shards: the JSON result, byte for byte"
        );
        let html = std::fs::read_to_string(&merged_html).expect("merged html");
        let (html, whole_html) = (without_run_info(&html), without_run_info(&whole_html));
        let first_difference = html.lines().zip(whole_html.lines()).find(|(a, b)| a != b);
        assert_eq!(first_difference, None, "{n} shards: the evidence report");
        assert_eq!(
            html.len(),
            whole_html.len(),
            "{n} shards: the evidence report"
        );
        let (_, junit, _) = run_in(dir, &merge_args(&files, &["--format", "junit"]));
        assert_eq!(junit, whole_junit, "{n} shards: JUnit");
    }
}

#[test]
fn merge_refuses_a_missing_shard_a_repeated_one_and_shards_of_other_splits_or_ranges() {
    let trail = two_account_archive();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let three = shard_results(&trail, dir, 3, &[0, 1, 2]);
    let refused = |files: &[String], expect: &str| {
        let (code, stdout, stderr) = run_in(dir, &merge_args(files, &[]));
        assert_eq!(code, 2, "{files:?}: {stdout}");
        assert!(stdout.is_empty(), "nothing is judged: {stdout}");
        assert!(stderr.contains(expect), "{expect}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    };
    refused(&three[..2], "shard 2/3 missing");
    refused(
        &[three[0].clone(), three[1].clone(), three[1].clone()],
        "are both shard 1/3",
    );
    let seven = shard_results(&trail, dir, 7, &[3]);
    refused(
        &[three[0].clone(), three[1].clone(), seven[0].clone()],
        "one of 3",
    );

    // A shard run over another range is not a part of this run.
    let other_end = dir.join("other-end.json");
    let end = trailcheck_core::time::display(trail.end() - chrono::Duration::hours(1));
    let mut args = validate_args(&trail, &["--shard", "2/3", "--format", "json"]);
    let at = args.iter().position(|a| a == "--end-time").expect("end") + 1;
    args[at] = end;
    let (_, stdout, _) = run_in(dir, &args);
    std::fs::write(&other_end, stdout).expect("written");
    refused(
        &[
            three[0].clone(),
            three[1].clone(),
            path_str(&other_end).to_owned(),
        ],
        "judged different ranges",
    );

    // A whole run's result is not a shard to join with others.
    let whole = dir.join("whole.json");
    let (_, stdout, _) = run_in(dir, &validate_args(&trail, &["--format", "json"]));
    std::fs::write(&whole, &stdout).expect("written");
    refused(
        &[three[0].clone(), path_str(&whole).to_owned()],
        "not a shard's result",
    );
    // Alone, it merges into itself.
    let (code, merged, _) = run_in(
        dir,
        &merge_args(&[path_str(&whole).to_owned()], &["--format", "json"]),
    );
    assert_eq!(code, 1);
    assert_eq!(merged, stdout);
}

#[test]
fn merge_refuses_result_files_that_are_not_what_a_shard_wrote() {
    let trail = two_account_archive();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let files = shard_results(&trail, dir, 2, &[0, 1]);
    let originals: Vec<String> = (files.iter())
        .map(|f| std::fs::read_to_string(f).expect("result"))
        .collect();
    let refused_in = |which: usize, content: &str, expect: &str| {
        std::fs::write(&files[which], content).expect("written");
        let (code, _, stderr) = run_in(dir, &merge_args(&files, &[]));
        std::fs::write(&files[which], &originals[which]).expect("restored");
        assert_eq!(code, 2, "{expect}");
        assert!(stderr.contains(&files[which]), "names the file: {stderr}");
        assert!(stderr.contains(expect), "{expect}: {stderr}");
    };
    // The larger result, which judged some files.
    let big = usize::from(originals[1].len() > originals[0].len());
    let refused = |content: &str, expect: &str| refused_in(big, content, expect);
    let original = &originals[big];
    refused("", "not a trailcheck JSON result");
    refused("{\"version\": 1}", "not a trailcheck JSON result");
    refused(
        &original[..original.len() / 2],
        "not a trailcheck JSON result",
    );
    // A tampered file recorded as intact: its cause never gives that status.
    let (which, mut doc) = (0..2)
        .map(|i| {
            (
                i,
                serde_json::from_str::<Value>(&originals[i]).expect("json"),
            )
        })
        .find(|(_, doc)| {
            doc["files"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["status"] == "modified"))
        })
        .expect("a shard found the modified log");
    let forged = (doc["files"].as_array_mut().expect("files").iter_mut())
        .find(|f| f["status"] == "modified")
        .expect("modified");
    forged["status"] = "intact".into();
    refused_in(which, &doc.to_string(), "never gives status 'intact'");
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut doc: Value = serde_json::from_str(original).expect("json");
        edit(&mut doc);
        doc.to_string()
    };
    refused(
        &edited(&|d| d["tool"] = "trailcheck 0.0.1".into()),
        "not by this trailcheck",
    );
    refused(&edited(&|d| d["version"] = 99.into()), "schema version 99");
    refused(
        &edited(&|d| d["files"][0]["chain"] = 4096.into()),
        "chain 4096 is not in chains[]",
    );
    refused(
        &edited(&|d| d["shard"]["index"] = 5.into()),
        "shard 5/2 is not a shard",
    );
    refused(
        &edited(&|d| d["source"] = "s3://elsewhere".into()),
        "judged different sources",
    );
    refused(
        &edited(&|d| d["files"][0]["actual_sha256"] = "abc".into()),
        "'abc' is not a SHA-256",
    );
    // Both results unchanged again: they merge.
    let (code, _, stderr) = run_in(dir, &merge_args(&files, &[]));
    assert_eq!(code, 1, "{stderr}");
}
