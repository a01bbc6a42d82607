//! `--window I/M`: M runs, each over one time window of the range, judge every file once, and
//! `merge` joins them, checking every chain across every cut, into the result of one run
//! over the whole range.

mod common;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::Value;
use trailcheck_core::window::Window;
use trailcheck_sim::{Spec, TamperKind, TamperSpec};

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// A one-account spec over `hours` hours in two regions.
fn hours_spec(hours: u32) -> Spec {
    let mut spec = spec();
    spec.hours = hours;
    spec.regions = REGIONS.map(str::to_owned).to_vec();
    spec
}

/// Two accounts, two regions each, ten hours; a modified log in one account and a deleted
/// digest in the other.
fn two_account_trail() -> Trail {
    let mut first = hours_spec(10);
    first.tampers.push(TamperSpec {
        kind: TamperKind::ModifyLog,
        region: Some("eu-west-1".to_owned()),
        hour: Some(6),
    });
    let trail = simulate(&first);
    let mut second = hours_spec(10);
    second.account = "444455556666".to_owned();
    second.tampers.push(TamperSpec {
        kind: TamperKind::DeleteDigest,
        region: Some("us-east-1".to_owned()),
        hour: Some(2),
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

fn start_of(trail: &Trail) -> DateTime<Utc> {
    trail.manifest.start
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `validate` over the trail's whole range (an absolute start and end), then `extra`.
fn validate_args(trail: &Trail, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "validate".into(),
        path_str(&trail.archive()).into(),
        "--keys".into(),
        path_str(&trail.keys()).into(),
        "--start-time".into(),
        trailcheck_core::time::display(start_of(trail)),
        "--end-time".into(),
        trailcheck_core::time::display(trail.end()),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn run_in(dir: &Path, args: &[String], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_trailcheck"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX");
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("trailcheck runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs each `(option, value)` list as a part and writes its JSON result in `dir`.
fn part_results(trail: &Trail, dir: &Path, parts: &[Vec<&str>]) -> Vec<String> {
    parts
        .iter()
        .map(|extra| {
            let name = extra.join("-").replace(['/', '-'], "_");
            let file = dir.join(format!("part{name}.json"));
            let mut extra = extra.clone();
            extra.extend(["--format", "json", "--quiet"]);
            let (code, stdout, stderr) = run_in(dir, &validate_args(trail, &extra), &[]);
            assert!([0, 1, 3].contains(&code), "{extra:?}: {code} {stderr}");
            std::fs::write(&file, stdout).expect("written");
            path_str(&file).to_owned()
        })
        .collect()
}

fn windows(m: u32) -> Vec<Vec<String>> {
    (0..m)
        .map(|i| vec!["--window".to_owned(), format!("{i}/{m}")])
        .collect()
}

fn as_strs(parts: &[Vec<String>]) -> Vec<Vec<&str>> {
    parts
        .iter()
        .map(|p| p.iter().map(String::as_str).collect())
        .collect()
}

fn merge(dir: &Path, files: &[String], extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["merge".to_owned()];
    args.extend(files.iter().cloned());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    run_in(dir, &args, &[])
}

/// The whole run's JSON, text and exit code; then asserts the parts merged give the same.
fn assert_merges_as_one_run(trail: &Trail, parts: &[Vec<&str>], what: &str) {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let (whole_code, whole_json, _) =
        run_in(dir, &validate_args(trail, &["--format", "json"]), &[]);
    let (_, whole_text, whole_err) = run_in(dir, &validate_args(trail, &[]), &[]);
    let files = part_results(trail, dir, parts);
    let (code, json, err) = merge(dir, &files, &["--format", "json"]);
    assert_eq!(code, whole_code, "{what}: exit code; {err}");
    if json != whole_json {
        let ours: Value = serde_json::from_str(&json).unwrap_or(Value::Null);
        let theirs: Value = serde_json::from_str(&whole_json).unwrap_or(Value::Null);
        assert_eq!(
            json_verdicts(&ours),
            json_verdicts(&theirs),
            "{what}: verdicts"
        );
        assert_eq!(ours["gaps"], theirs["gaps"], "{what}: gaps");
        assert_eq!(ours["summary"], theirs["summary"], "{what}: summary");
        assert_eq!(ours, theirs, "{what}: the JSON result");
    }
    let (_, text, text_err) = merge(dir, &files, &[]);
    assert_eq!(text, whole_text, "{what}: the text result");
    assert_eq!(text_err, whole_err, "{what}: the problems on stderr");
}

#[test]
fn m_windows_merged_give_one_runs_verdicts_summary_and_exit_code() {
    let trail = two_account_trail();
    let work = tempfile::tempdir().expect("temp dir");
    let (code, _, _) = run_in(work.path(), &validate_args(&trail, &[]), &[]);
    assert_eq!(code, 1, "tampering in both accounts");
    for m in [1, 2, 3, 5] {
        let parts = windows(m);
        assert_merges_as_one_run(&trail, &as_strs(&parts), &format!("{m} windows"));
    }
}

#[test]
fn windows_combine_with_shards() {
    let trail = two_account_trail();
    let mut parts = Vec::new();
    for k in 0..2 {
        for i in 0..3 {
            parts.push(vec![
                "--shard".to_owned(),
                format!("{k}/2"),
                "--window".to_owned(),
                format!("{i}/3"),
            ]);
        }
    }
    assert_merges_as_one_run(&trail, &as_strs(&parts), "2 shards x 3 windows");
}

/// The hour whose digest is the last to end before the cut of two windows, and the cut.
fn cut_of_two(trail: &Trail) -> (u32, DateTime<Utc>) {
    let cut = Window::new(0, 2, start_of(trail), trail.end())
        .expect("two windows")
        .to();
    let last = (trail.digests().iter())
        .filter(|d| !d.backfill && d.time < cut)
        .map(|d| d.hour)
        .max()
        .expect("a digest before the cut");
    (last, cut)
}

#[test]
fn a_digest_deleted_at_a_window_cut_is_caught_after_merge_as_one_run_catches_it() {
    let probe = simulate(&hours_spec(6));
    let (last_before, cut) = cut_of_two(&probe);
    // The last digest before the cut, then the first after it.
    for hour in [last_before, last_before + 1] {
        let mut spec = hours_spec(6);
        spec.tampers.push(TamperSpec {
            kind: TamperKind::DeleteDigest,
            region: Some("us-east-1".to_owned()),
            hour: Some(hour),
        });
        let trail = simulate(&spec);
        let deleted = (trail.manifest.tampered.iter())
            .find(|t| t.kind == TamperKind::DeleteDigest)
            .expect("deleted");
        let deleted_time = (trail.digests().iter())
            .find(|d| d.key == deleted.key)
            .map(|d| d.time);
        let _ = deleted_time;
        let work = tempfile::tempdir().expect("temp dir");
        let files = part_results(&trail, work.path(), &as_strs(&windows(2)));
        let (code, json, err) = merge(work.path(), &files, &["--format", "json"]);
        assert_eq!(code, 1, "hour {hour} (cut {cut}): {err}");
        let merged: Value = serde_json::from_str(&json).expect("json");
        let verdict = (merged["files"].as_array().expect("files").iter())
            .find(|f| f["key"] == deleted.key.as_str())
            .expect("the deleted digest is listed");
        assert_eq!(verdict["status"], "deleted", "hour {hour}");
        assert!(
            (merged["gaps"].as_array().expect("gaps").iter())
                .any(|g| g["kind"] == "chain-break" && g["region"] == "us-east-1"),
            "hour {hour}: {}",
            merged["gaps"]
        );
        assert_merges_as_one_run(
            &trail,
            &as_strs(&windows(2)),
            &format!("digest of hour {hour} deleted at the cut"),
        );
    }
}

#[test]
fn a_log_delivered_minutes_before_a_cut_is_judged_once() {
    let trail = simulate(&hours_spec(6));
    let (_, cut) = cut_of_two(&trail);
    // A planted log, delivered three minutes before the cut, that no digest lists.
    let delivered = cut - Duration::minutes(3);
    let region = "us-east-1";
    let account = &trail.manifest.spec.account;
    let key = format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_planted.json.gz",
        delivered.format("%Y/%m/%d"),
        delivered.format("%Y%m%dT%H%MZ"),
    );
    let path = trail.archive().join(&key);
    std::fs::create_dir_all(path.parent().expect("folder")).expect("folder");
    std::fs::write(&path, gzip(br#"{"Records":[]}"#)).expect("planted");

    let work = tempfile::tempdir().expect("temp dir");
    let files = part_results(&trail, work.path(), &as_strs(&windows(2)));
    let judged_by: Vec<usize> = (files.iter().enumerate())
        .filter(|(_, file)| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).expect("result"))
                .expect("json");
            (doc["files"].as_array().into_iter().flatten()).any(|f| f["key"] == key.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        judged_by,
        vec![1],
        "judged by the window its covering digest lies in"
    );
    let (code, json, _) = merge(work.path(), &files, &["--format", "json"]);
    assert_eq!(code, 1);
    let merged: Value = serde_json::from_str(&json).expect("json");
    let planted = (merged["files"].as_array().expect("files").iter())
        .find(|f| f["key"] == key.as_str())
        .expect("listed");
    assert_eq!(planted["status"], "unreferenced");
    assert_merges_as_one_run(
        &trail,
        &as_strs(&windows(2)),
        "a log planted before the cut",
    );
}

#[test]
fn one_window_alone_claims_nothing_before_its_start() {
    let trail = simulate(&hours_spec(6));
    let (_, cut) = cut_of_two(&trail);
    let work = tempfile::tempdir().expect("temp dir");
    let files = part_results(&trail, work.path(), &[vec!["--window", "1/2"]]);
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).expect("result")).expect("json");
    assert_eq!(doc["window"]["index"], 1);
    let judged: Vec<&Value> = doc["files"].as_array().expect("files").iter().collect();
    assert!(!judged.is_empty());
    for f in &judged {
        if f["kind"] == "digest" {
            let time = DateTime::parse_from_rfc3339(f["time"].as_str().expect("time")).expect("t");
            assert!(time >= cut, "{f}: a digest of the window before");
        }
    }
    // Its oldest digest's predecessor is named for merge, not judged.
    for chain in doc["window"]["chains"].as_array().expect("chains") {
        let previous = &chain["oldest"]["previous"]["key"];
        assert!(previous.is_string(), "{chain}");
        assert!(
            !judged.iter().any(|f| &f["key"] == previous),
            "{previous} judged"
        );
    }
}

#[test]
fn merge_refuses_a_missing_window_overlapping_windows_and_other_splits() {
    let trail = simulate(&hours_spec(6));
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let three = part_results(&trail, dir, &as_strs(&windows(3)));
    let refused = |files: &[String], expect: &str| {
        let (code, stdout, stderr) = merge(dir, files, &[]);
        assert_eq!(code, 2, "{files:?}: {stdout}");
        assert!(stdout.is_empty(), "nothing is judged: {stdout}");
        assert!(stderr.contains(expect), "{expect}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    };
    refused(&three[..2], "window 2/3 missing");
    refused(&[three[0].clone(), three[2].clone()], "window 1/3 missing");
    refused(
        &[
            three[0].clone(),
            three[1].clone(),
            three[1].clone(),
            three[2].clone(),
        ],
        "are both window 1/3",
    );
    let two = part_results(&trail, dir, &as_strs(&windows(2)));
    refused(
        &[three[0].clone(), three[1].clone(), two[1].clone()],
        "merge the windows of one split",
    );
    // A whole run is not a window to join with windows.
    let whole = dir.join("whole.json");
    let (_, stdout, _) = run_in(dir, &validate_args(&trail, &["--format", "json"]), &[]);
    std::fs::write(&whole, stdout).expect("written");
    refused(
        &[three[0].clone(), path_str(&whole).to_owned()],
        "one was run with --window and the other without",
    );
    // A window over another range.
    let mut args = validate_args(&trail, &["--window", "2/3", "--format", "json"]);
    let at = args.iter().position(|a| a == "--end-time").expect("end") + 1;
    args[at] = trailcheck_core::time::display(trail.end() + Duration::hours(1));
    let (_, stdout, _) = run_in(dir, &args, &[]);
    let other = dir.join("other-range.json");
    std::fs::write(&other, stdout).expect("written");
    refused(
        &[
            three[0].clone(),
            three[1].clone(),
            path_str(&other).to_owned(),
        ],
        "merge the windows of one split",
    );
    // Overlapping windows: two results judging one file.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&three[1]).expect("result")).expect("json");
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&three[0]).expect("result")).expect("json");
    let borrowed = first["files"][0].clone();
    doc["files"].as_array_mut().expect("files").push(borrowed);
    let overlapping = dir.join("overlapping.json");
    std::fs::write(&overlapping, doc.to_string()).expect("written");
    refused(
        &[
            three[0].clone(),
            path_str(&overlapping).to_owned(),
            three[2].clone(),
        ],
        "the parts overlap",
    );
    // A window record naming a chain that is not in chains[].
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&three[1]).expect("result")).expect("json");
    doc["window"]["chains"][0]["chain"] = 999.into();
    let forged = dir.join("forged.json");
    std::fs::write(&forged, doc.to_string()).expect("written");
    refused(
        &[
            three[0].clone(),
            path_str(&forged).to_owned(),
            three[2].clone(),
        ],
        "chain 999 is not in chains[]",
    );
    // All three as written: they merge.
    let (code, _, stderr) = merge(dir, &three, &[]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_window_needs_a_start_and_room_and_goes_without_a_checkpoint() {
    let trail = simulate(&hours_spec(6));
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let end = trailcheck_core::time::display(trail.end());
    let no_start: Vec<String> = [
        "validate",
        path_str(&trail.archive()),
        "--keys",
        path_str(&trail.keys()),
        "--end-time",
        &end,
        "--window",
        "0/2",
    ]
    .map(str::to_owned)
    .to_vec();
    let (code, _, stderr) = run_in(dir, &no_start, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--window") && stderr.contains("--start-time"),
        "{stderr}"
    );
    for bad in ["2/2", "x/2", "0/0", "3", "auto/2"] {
        let (code, _, stderr) = run_in(dir, &validate_args(&trail, &["--window", bad]), &[]);
        assert_eq!(code, 2, "{bad}");
        assert!(stderr.contains("--window"), "{bad}: {stderr}");
    }
    let (code, _, stderr) = run_in(dir, &validate_args(&trail, &["--window", "0/9"]), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("at most"), "{stderr}");
    let checkpoint = dir.join("checkpoint.json");
    let (code, _, stderr) = run_in(
        dir,
        &validate_args(
            &trail,
            &["--window", "0/2", "--checkpoint", path_str(&checkpoint)],
        ),
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("--checkpoint"), "{stderr}");
}

#[test]
fn auto_takes_the_window_from_the_job_index_and_with_auto_shards_shares_it() {
    let trail = two_account_trail();
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path();
    let json = |extra: &[&str], env: &[(&str, &str)]| {
        let mut extra = extra.to_vec();
        extra.extend(["--format", "json"]);
        let (code, stdout, stderr) = run_in(dir, &validate_args(&trail, &extra), env);
        assert_ne!(code, 2, "{extra:?}: {stderr}");
        serde_json::from_str::<Value>(&stdout).expect("json")
    };
    let explicit = json(&["--window", "1/3"], &[]);
    let auto = json(&["--window", "auto/3"], &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(auto, explicit);
    let batch = json(
        &["--window", "auto/3"],
        &[("AWS_BATCH_JOB_ARRAY_INDEX", "1")],
    );
    assert_eq!(batch, explicit);
    // Index 4 of 2 shards x 3 windows: shard 1, window 1.
    let both = json(
        &["--shard", "auto/2", "--window", "auto/3"],
        &[("JOB_COMPLETION_INDEX", "4")],
    );
    let explicit = json(&["--shard", "1/2", "--window", "1/3"], &[]);
    assert_eq!(both, explicit);
    assert_eq!(both["shard"]["index"], 1);
    assert_eq!(both["window"]["index"], 1);
    let (code, _, stderr) = run_in(
        dir,
        &validate_args(&trail, &["--shard", "auto/2", "--window", "auto/3"]),
        &[("JOB_COMPLETION_INDEX", "6")],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("takes 6 jobs"), "{stderr}");
}
