//! The binary: exit codes, output formats, and one-line errors for bad input.

mod common;

use common::*;
use trailcheck_sim::TamperKind;

fn validate(trail: &Trail, extra: &[&str]) -> std::process::Output {
    trail.run_validate(extra)
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn clean_trail_exits_0_and_prints_the_aws_cli_summary() {
    let trail = simulate(&spec());
    let output = validate(&trail, &["--verbose"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("Digest file\ts3://"), "{out}");
    assert!(out.contains("\tvalid\n"), "{out}");
    assert!(out.contains("4/4 digest files valid"), "{out}");
    assert!(out.contains("12/12 log files valid"), "{out}");
}

#[test]
fn tampering_exits_1_with_an_invalid_line_on_stderr() {
    let trail = simulate(&tampered(TamperKind::ModifyLog));
    let output = validate(&trail, &[]);
    assert_eq!(output.status.code(), Some(1));
    let key = &trail.manifest.tampered[0].key;
    let err = stderr(&output);
    assert!(
        err.contains(&format!("{key}\tINVALID: hash value doesn't match")),
        "{err}"
    );
}

#[test]
fn unverifiable_only_exits_3() {
    let trail = simulate(&tampered(TamperKind::NoSignature));
    assert_eq!(validate(&trail, &[]).status.code(), Some(3));
}

#[test]
fn fail_on_chooses_what_fails_the_run() {
    let trail = simulate(&tampered(TamperKind::NoSignature));
    let output = validate(&trail, &["--fail-on", "unverifiable"]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn json_lists_every_file_with_its_status() {
    let trail = simulate(&tampered(TamperKind::DeleteLog));
    let output = validate(&trail, &["--format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let files = json["files"].as_array().expect("files");
    assert_eq!(files.len(), trail.manifest.files.len() + 1);
    let deleted: Vec<_> = files.iter().filter(|f| f["status"] == "deleted").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["key"], trail.manifest.tampered[0].key.as_str());
    assert_eq!(deleted[0]["kind"], "log");
}

fn assert_usage_error(output: &std::process::Output, needle: &str) {
    assert_eq!(output.status.code(), Some(2), "{}", stderr(output));
    let err = stderr(output);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle} in {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
}

#[test]
fn missing_path_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("dir");
    let output = trailcheck(dir.path(), &["validate", "no-such-archive", "--keys", "."]);
    assert_usage_error(&output, "no-such-archive");
}

#[test]
fn empty_folder_is_a_usage_error() {
    let trail = simulate(&spec());
    let empty = trail.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let keys = trail.keys();
    let output = trailcheck(
        trail.dir.path(),
        &["validate", "empty", "--keys", keys.to_str().expect("utf-8")],
    );
    assert_usage_error(&output, "no CloudTrail digest files");
}

#[test]
fn corrupt_key_file_is_a_usage_error_naming_the_file() {
    let trail = simulate(&spec());
    let keys = trail.keys();
    let file = std::fs::read_dir(&keys)
        .expect("keys")
        .next()
        .expect("a key file")
        .expect("entry")
        .path();
    let text = std::fs::read_to_string(&file).expect("read");
    // Flip the fingerprint's first digit: the key no longer matches its bytes.
    let at = text.find("\"Fingerprint\"").expect("fingerprint") + "\"Fingerprint\": \"".len();
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&file, bytes).expect("write");
    let output = validate(&trail, &[]);
    assert_usage_error(
        &output,
        file.file_name().and_then(|n| n.to_str()).expect("name"),
    );
}

#[test]
fn bad_time_is_a_usage_error_naming_the_option() {
    let trail = simulate(&spec());
    let output = validate(&trail, &["--start-time", "yesterday"]);
    assert_usage_error(&output, "--start-time");
}

#[test]
fn start_after_end_is_a_usage_error() {
    let trail = simulate(&spec());
    let output = validate(&trail, &["--start-time", "2099-01-01"]);
    assert_usage_error(&output, "after the end time");
}

#[test]
fn jobs_out_of_range_is_a_usage_error_not_thousands_of_threads() {
    let trail = simulate(&spec());
    assert_usage_error(&validate(&trail, &["--jobs", "100000"]), "--jobs");
    assert_usage_error(&validate(&trail, &["--jobs", "0"]), "--jobs");
    assert_eq!(validate(&trail, &["--jobs", "3"]).status.code(), Some(0));
}

#[test]
fn archive_checks_jobs_the_same_way_before_any_request() {
    let dir = tempfile::tempdir().expect("dir");
    let output = trailcheck(
        dir.path(),
        &[
            "archive",
            "s3://aws-cloudtrail-logs-111122223333-5c9a1e07",
            "out",
            "--jobs",
            "100000",
        ],
    );
    assert_usage_error(&output, "--jobs");
}
