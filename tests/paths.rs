//! Path safety end to end: a *validly signed* digest that names files outside the archive
//! root, and symlinks inside the archive that point out of it. Nothing outside the root is
//! read, the file is unverifiable with the reason, and a planted file is never intact.

mod common;
#[path = "common/resign.rs"]
mod resign;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use serde_json::{Value, json};

use common::*;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::{Cause, DEFAULT_FAIL_ON, FileKind, Outcome, Report, Status};
use trailcheck_sim::FileEntry;

/// Keys that leave the root: parent steps, absolute paths, and the planted file's own path.
fn hostile_keys(planted: &Path) -> Vec<String> {
    let absolute = planted.to_str().expect("utf-8 temp path").to_owned();
    let name = planted
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name");
    vec![
        format!("../{name}"),
        format!("a/../../{name}"),
        format!("AWSLogs/../../{name}"),
        format!("./../{name}"),
        "/etc/passwd".to_owned(),
        "a/../../x".to_owned(),
        absolute,
    ]
}

fn assert_refused(report: &Report, key: &str, says: &str) {
    let verdicts: Vec<_> = report.files.iter().filter(|f| f.key == key).collect();
    assert!(!verdicts.is_empty(), "no verdict for {key}");
    for verdict in verdicts {
        assert_eq!(
            verdict.status,
            Status::Unverifiable,
            "{key}: {}",
            verdict.cause
        );
        match &verdict.cause {
            Cause::Inaccessible(why) => assert!(why.contains(says), "{key}: {why}"),
            other => panic!("{key}: expected inaccessible, got {other:?}"),
        }
    }
}

#[test]
fn signed_digest_listing_logs_outside_the_root_gets_them_refused_not_read() {
    let trail = simulate(&spec());
    let content = br#"{"Records":[]}"#;
    let planted = trail.dir.path().join("outside.json.gz");
    fs::write(&planted, resign::gzip(content)).expect("plant");
    let keys = hostile_keys(&planted);
    let newest = trail.newest_digest().clone();
    let bucket = newest.bucket.clone();
    resign::edit_and_sign(&trail.path(&bucket, &newest.key), |digest| {
        let logs = digest["logFiles"].as_array_mut().expect("logFiles");
        for key in &keys {
            logs.push(json!({
                "s3Bucket": bucket, "s3Object": key,
                "hashValue": Sha256::of(content).to_hex(), "hashAlgorithm": "SHA-256",
            }));
        }
    });

    let report = trail.validate();
    let digest = find(&report, &newest.key);
    assert_eq!(
        (digest.status, &digest.cause),
        (Status::Intact, &Cause::Verified),
        "the forged digest must verify, or this test proves nothing"
    );
    for key in &keys {
        assert_refused(&report, key, "not a safe relative path");
    }
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
}

#[test]
fn signed_digest_naming_a_previous_digest_outside_the_root_gets_it_refused_not_read() {
    let trail = simulate(&spec());
    let newest = trail.newest_digest().clone();
    let newest_path = trail.path(&newest.bucket, &newest.key);
    let original: Value = resign::read_digest(&newest_path);
    let previous_key = original["previousDigestS3Object"]
        .as_str()
        .expect("the newest digest has a predecessor")
        .to_owned();
    // A copy of the real predecessor, with its sidecar, waits outside the root.
    let planted = trail.dir.path().join("outside-digest.json.gz");
    let previous_path = trail.path(&newest.bucket, &previous_key);
    fs::copy(&previous_path, &planted).expect("plant digest");
    fs::copy(
        trailcheck_sim::sidecar_path(&previous_path),
        trailcheck_sim::sidecar_path(&planted),
    )
    .expect("plant sidecar");

    for key in hostile_keys(&planted) {
        let mut digest = original.clone();
        digest["previousDigestS3Object"] = json!(key);
        resign::write_signed(&newest_path, digest.to_string().as_bytes());
        let report = trail.validate();
        assert_eq!(find(&report, &newest.key).status, Status::Intact, "{key}");
        assert_refused(&report, &key, "not a safe relative path");
        // The real predecessor, now unlinked, is still judged where it is.
        assert_eq!(find(&report, &previous_key).status, Status::Intact, "{key}");
        assert_ne!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Intact, "{key}");
    }
}

#[test]
fn signed_digest_naming_a_parent_bucket_gets_it_refused() {
    let mut spec = spec();
    spec.layout = trailcheck_sim::Layout::PerBucket;
    let trail = simulate(&spec);
    let newest = trail.newest_digest().clone();
    let newest_path = trail.path(&newest.bucket, &newest.key);
    let mut digest = resign::read_digest(&newest_path);
    digest["previousDigestS3Bucket"] = json!("..");
    resign::write_signed(&newest_path, digest.to_string().as_bytes());
    let report = trail.validate();
    assert_eq!(find(&report, &newest.key).status, Status::Intact);
    let previous_key = digest["previousDigestS3Object"].as_str().expect("a key");
    let refused: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.bucket == ".." && f.key == previous_key)
        .collect();
    assert_eq!(refused.len(), 1, "{:?}", report.files);
    assert_eq!(refused[0].status, Status::Unverifiable);
    assert!(
        matches!(&refused[0].cause, Cause::Inaccessible(why) if why.contains("not a bucket name")),
        "{:?}",
        refused[0].cause
    );
}

#[test]
fn log_folder_symlinked_out_of_the_archive_is_not_followed() {
    let trail = simulate(&spec());
    let log = first_log(&trail);
    let day = trail
        .path(&log.bucket, &log.key)
        .parent()
        .expect("day folder")
        .to_owned();
    let outside = trail.dir.path().join("outside-day");
    fs::rename(&day, &outside).expect("move the day folder out");
    symlink(&outside, &day).expect("symlink it back in");

    let report = trail.validate();
    let logs: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Log)
        .collect();
    assert_eq!(logs.len(), trail.manifest.logs_written);
    for verdict in logs {
        assert_refused(&report, &verdict.key, "links outside the archive");
    }
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
}

#[test]
fn digest_symlinked_out_of_the_archive_is_refused_by_the_walk() {
    let trail = simulate(&spec());
    let newest = trail.newest_digest().clone();
    let previous_key =
        resign::read_digest(&trail.path(&newest.bucket, &newest.key))["previousDigestS3Object"]
            .as_str()
            .expect("a predecessor")
            .to_owned();
    let previous = trail.path(&newest.bucket, &previous_key);
    let outside = trail.dir.path().join("outside-previous.json.gz");
    fs::rename(&previous, &outside).expect("move the digest out");
    symlink(&outside, &previous).expect("symlink it back in");

    let report = trail.validate();
    assert_refused(&report, &previous_key, "links outside the archive");
    assert_eq!(find(&report, &newest.key).status, Status::Intact);
}

/// Telling a mirror from a per-bucket layout reads digests too: one symlinked out of the
/// root (to a FIFO, it would hang the run) must not be opened, so the layout falls back on
/// the shape of the paths rather than on the bucket the outside file records.
#[test]
fn layout_detection_does_not_read_a_digest_symlinked_out_of_the_archive() {
    let trail = simulate(&spec());
    let root = tempfile::tempdir().expect("temp dir");
    let newest = trail.newest_digest().clone();
    let inside = root.path().join(&newest.key);
    fs::create_dir_all(inside.parent().expect("parent")).expect("folders");
    symlink(trail.path(&newest.bucket, &newest.key), &inside).expect("symlink");
    // Had detection read the digest outside, it would have found its bucket and opened.
    let refused = trailcheck_core::engine::open_local(root.path(), None)
        .err()
        .map(|e| e.to_string());
    assert!(
        refused.as_deref().is_some_and(|e| e.contains("--bucket")),
        "{refused:?}"
    );
}

fn first_log(trail: &Trail) -> FileEntry {
    trail
        .manifest
        .files
        .iter()
        .find(|f| f.kind == FileKind::Log)
        .expect("a log")
        .clone()
}

#[test]
fn log_symlinked_to_a_file_inside_the_archive_is_followed() {
    let trail = simulate(&spec());
    let log = first_log(&trail);
    let path = trail.path(&log.bucket, &log.key);
    let elsewhere = trail.archive().join("kept-elsewhere.json.gz");
    fs::rename(&path, &elsewhere).expect("move the log within the archive");
    symlink(&elsewhere, &path).expect("symlink it back");

    let report = trail.validate();
    let verdict = find(&report, &log.key);
    assert_eq!(verdict.status, Status::Intact, "{}", verdict.cause);
}

#[test]
fn a_fifo_in_place_of_a_log_is_not_waited_on_and_not_intact() {
    let trail = simulate(&spec());
    let log = first_log(&trail);
    let path = trail.path(&log.bucket, &log.key);
    fs::remove_file(&path).expect("remove the log");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());

    // Opening a FIFO for reading would block until a writer came; the run must finish.
    let report = trail.validate();
    let verdict = find(&report, &log.key);
    assert_eq!(verdict.status, Status::Deleted, "{}", verdict.cause);
}
