//! `validate --checkpoint FILE`: a run records each chain's newest digest proven intact, and
//! the next run validates from there forward only, judging the recorded digest again.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use common::*;
use serde_json::Value;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::FileKind;
use trailcheck_sim::TamperKind;

/// Eight hours in two regions, four logs an hour.
fn trail() -> Trail {
    let mut spec = spec();
    spec.hours = 8;
    spec.logs_per_hour = 4;
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    simulate(&spec)
}

/// Where the tests keep the checkpoint: beside the archive, never in it.
fn checkpoint_path(trail: &Trail) -> PathBuf {
    trail.dir.path().join("checkpoint.json")
}

/// The end time of a run that stops halfway through the trail.
fn halfway(trail: &Trail) -> DateTime<Utc> {
    trail.manifest.start + Duration::hours(4)
}

/// `validate --format json --checkpoint FILE --end-time END`, with `extra` arguments.
fn run(trail: &Trail, end: DateTime<Utc>, extra: &[&str]) -> (i32, Value, String) {
    let checkpoint = checkpoint_path(trail);
    let mut args = vec![
        "--format",
        "json",
        "--checkpoint",
        checkpoint.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let output = trail.run_validate_at(&trail.archive(), end, &args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

/// The checkpoint file as JSON.
fn recorded(trail: &Trail) -> Value {
    let text = std::fs::read_to_string(checkpoint_path(trail)).expect("checkpoint written");
    serde_json::from_str(&text).expect("checkpoint is JSON")
}

/// Per region, the key of the digest the checkpoint records.
fn anchors(trail: &Trail) -> Vec<(String, String)> {
    (recorded(trail)["chains"].as_array().expect("chains").iter())
        .map(|c| {
            let region = c["region"].as_str().expect("region").to_owned();
            let key = c["digest"]["key"].as_str().unwrap_or_default().to_owned();
            (region, key)
        })
        .collect()
}

fn keys_of(result: &Value, kind: &str) -> BTreeSet<String> {
    (result["files"].as_array().into_iter().flatten())
        .filter(|f| f["kind"] == kind)
        .map(|f| f["key"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn status_of(result: &Value, key: &str) -> (String, String) {
    let file = (result["files"].as_array().into_iter().flatten())
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("{key} is not in the result"));
    let field = |name: &str| file[name].as_str().unwrap_or_default().to_owned();
    (field("status"), field("cause"))
}

fn object(trail: &Trail, key: &str) -> PathBuf {
    trail.path(&trail.manifest.buckets[0], key)
}

#[test]
fn the_next_run_reads_only_what_came_after_each_chains_checkpoint() {
    let trail = trail();
    let (code, first, _) = run(&trail, halfway(&trail), &[]);
    assert_eq!(code, 0, "{first}");
    assert!(first.get("checkpoints").is_none(), "no checkpoint yet");
    let anchored = anchors(&trail);
    assert_eq!(anchored.len(), 2, "one entry per region's chain");
    // Each chain records the newest digest the first run proved intact.
    for (region, key) in &anchored {
        let newest = (first["files"].as_array().expect("files").iter())
            .filter(|f| f["kind"] == "digest" && f["key"].as_str().unwrap().contains(region))
            .filter_map(|f| f["key"].as_str())
            .max()
            .expect("a digest");
        assert_eq!(key, newest, "{region}");
        assert_eq!(status_of(&first, key).0, "intact");
    }
    let bytes = std::fs::read(checkpoint_path(&trail)).expect("checkpoint");

    let html = trail.dir.path().join("report.html");
    let (code, second, _) = run(
        &trail,
        trail.end(),
        &["--report", html.to_str().expect("utf-8")],
    );
    assert_eq!(code, 0, "{second}");
    let html = std::fs::read_to_string(html).expect("report written");
    assert!(html.contains("<th>Checkpoint</th>"), "the report names it");
    assert!(
        html.contains(&Sha256::of(&bytes).to_hex()),
        "with its SHA-256"
    );
    // The checkpoint the run rested on is in the result, by its SHA-256.
    assert_eq!(
        second["checkpoints"][0]["sha256"],
        Sha256::of(&bytes).to_hex()
    );
    assert_eq!(second["checkpoints"][0]["anchored"], 2);
    // The anchors are judged again; no log the first run read is read again.
    for (_, key) in &anchored {
        assert_eq!(
            status_of(&second, key),
            ("intact".into(), "verified".into())
        );
    }
    let (first_logs, second_logs) = (keys_of(&first, "log"), keys_of(&second, "log"));
    assert!(!second_logs.is_empty());
    assert!(first_logs.is_disjoint(&second_logs), "a log was read twice");
    // Together the two runs judged every log and digest of the trail.
    let all_logs: BTreeSet<String> = (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Log)
        .map(|f| f.key.clone())
        .collect();
    let together: BTreeSet<String> = first_logs.union(&second_logs).cloned().collect();
    assert_eq!(together, all_logs);
    let digests: BTreeSet<String> = keys_of(&first, "digest")
        .union(&keys_of(&second, "digest"))
        .cloned()
        .collect();
    assert_eq!(digests.len(), trail.digests().len());
    // The third run, with nothing new, judges the anchors only.
    let (code, third, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 0);
    assert_eq!(keys_of(&third, "log").len(), 0, "{third}");
    assert_eq!(keys_of(&third, "digest").len(), 2);
    assert_eq!(third["outcome"], "intact");
}

#[test]
fn a_checkpointed_digest_deleted_with_every_later_file_is_caught() {
    // The attack a run without a checkpoint cannot see: the newest digests and every log
    // after them deleted leave a shorter chain that is intact.
    let trail = trail();
    let (code, _, _) = run(&trail, halfway(&trail), &[]);
    assert_eq!(code, 0);
    let anchored = anchors(&trail);
    let (region, anchor) = anchored[0].clone();
    let anchor_time = (trail.digests().iter())
        .find(|d| d.key == anchor)
        .map(|d| d.time)
        .expect("anchor in manifest");
    let gone: BTreeSet<&str> = (trail.digests().into_iter())
        .filter(|d| d.region == region && d.time >= anchor_time)
        .map(|d| d.key.as_str())
        .collect();
    for file in &trail.manifest.files {
        let listed_by_gone = (file.listed_by.as_deref()).is_some_and(|d| gone.contains(d));
        if gone.contains(file.key.as_str()) || listed_by_gone {
            std::fs::remove_file(object(&trail, &file.key)).expect("deleted");
        }
    }
    let without = trail.run_validate(&["--quiet"]);
    assert_eq!(
        without.status.code(),
        Some(0),
        "the hole: a full run calls it intact"
    );

    let (code, result, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1, "{result}");
    assert_eq!(
        status_of(&result, &anchor),
        ("deleted".into(), "checkpoint-deleted".into())
    );
    // The chain keeps its anchor, so every later run fails too.
    assert!(anchors(&trail).contains(&(region, anchor.clone())));
    let (code, again, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&again, &anchor).1, "checkpoint-deleted");
}

#[test]
fn a_checkpointed_digest_changed_is_modified() {
    let trail = trail();
    run(&trail, halfway(&trail), &[]);
    let (_, anchor) = anchors(&trail)[0].clone();
    let path = object(&trail, &anchor);
    std::fs::write(&path, gzip(b"{\"not\": \"the digest that was proven\"}")).expect("written");
    let (code, result, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1, "{result}");
    assert_eq!(
        status_of(&result, &anchor),
        ("modified".into(), "checkpoint-changed".into())
    );
}

#[test]
fn a_next_digest_that_does_not_link_to_the_recorded_one_changes_the_anchor() {
    // The recorded signature and hash are what the next digest must carry; a checkpoint
    // whose record differs from the digest (or the digest from the record) is a change.
    for field in ["signature", "sha256"] {
        let trail = trail();
        run(&trail, halfway(&trail), &[]);
        let path = checkpoint_path(&trail);
        let text = std::fs::read_to_string(&path).expect("checkpoint");
        let mut doc: Value = serde_json::from_str(&text).expect("json");
        let recorded = &mut doc["chains"][0]["digest"][field];
        let flipped: String = (recorded.as_str().expect("hex").chars())
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect();
        *recorded = Value::String(flipped);
        let anchor = doc["chains"][0]["digest"]["key"]
            .as_str()
            .expect("key")
            .to_owned();
        std::fs::write(&path, doc.to_string()).expect("written");
        let (code, result, stderr) = run(&trail, trail.end(), &[]);
        assert_eq!(code, 1, "{field}: {stderr}");
        assert_eq!(
            status_of(&result, &anchor),
            ("modified".into(), "checkpoint-changed".into()),
            "{field}"
        );
    }
}

#[test]
fn a_chain_with_tampering_after_its_checkpoint_keeps_the_old_one() {
    let trail = trail();
    run(&trail, halfway(&trail), &[]);
    let before = anchors(&trail);
    let (region, _) = before[0].clone();
    let late_log = (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Log && f.region == region)
        .max_by_key(|f| f.time)
        .expect("a log");
    let path = object(&trail, &late_log.key);
    std::fs::write(&path, gzip(b"{\"Records\": []}")).expect("written");
    let (code, result, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&result, &late_log.key).0, "modified");
    let after = anchors(&trail);
    assert!(
        after.contains(&before[0]),
        "the tampered chain stays where it was"
    );
    assert!(!after.contains(&before[1]), "the intact chain moves on");
    let (code, again, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1, "the tampering is found again");
    assert_eq!(status_of(&again, &late_log.key).0, "modified");
}

/// Runs with the checkpoint file as it is, and expects a usage error naming it and `why`,
/// the file left as it was.
fn refused(trail: &Trail, end: DateTime<Utc>, extra: &[&str], why: &str) {
    let path = checkpoint_path(trail);
    let before = std::fs::read(&path).ok();
    let (code, result, stderr) = run(trail, end, extra);
    assert_eq!(code, 2, "{why}: {stderr}");
    assert_eq!(result, Value::Null, "no result for a refused checkpoint");
    assert!(stderr.contains("--checkpoint"), "{stderr}");
    assert!(stderr.contains(why), "expected '{why}' in: {stderr}");
    assert_eq!(
        std::fs::read(&path).ok(),
        before,
        "the file is left as it was"
    );
}

#[test]
fn a_checkpoint_that_is_not_one_or_not_this_runs_is_refused() {
    let trail = trail();
    let path = checkpoint_path(&trail);
    for (bytes, why) in [
        (&b""[..], "not a trailcheck checkpoint file"),
        (b"garbage", "not a trailcheck checkpoint file"),
        (b"{\"version\": 1}", "not a trailcheck checkpoint file"),
        (
            b"{\"trailcheck_checkpoint\": 9, \"tool\": \"x\", \"source\": \"x\", \"chains\": []}",
            "checkpoint format 9",
        ),
    ] {
        std::fs::write(&path, bytes).expect("written");
        refused(&trail, trail.end(), &[], why);
    }
    std::fs::remove_file(&path).expect("removed");
    run(&trail, halfway(&trail), &[]);
    let good = std::fs::read_to_string(&path).expect("checkpoint");
    // A chain named twice, an anchor of another chain, an end its key does not have.
    let doc: Value = serde_json::from_str(&good).expect("json");
    let mut twice = doc.clone();
    let first = twice["chains"][0].clone();
    twice["chains"].as_array_mut().expect("chains").push(first);
    let mut swapped = doc.clone();
    swapped["chains"][0]["digest"] = doc["chains"][1]["digest"].clone();
    let mut moved_end = doc.clone();
    moved_end["chains"][0]["digest"]["end"] = Value::String("2020-01-01T00:00:00Z".into());
    let mut unknown = doc.clone();
    unknown["chains"][0]["trusted"] = Value::Bool(true);
    for (doc, why) in [
        (twice, "is named twice"),
        (swapped, "is not of chain"),
        (moved_end, "is not the end time"),
        (unknown, "unknown field"),
    ] {
        std::fs::write(&path, doc.to_string()).expect("written");
        refused(&trail, trail.end(), &[], why);
    }
    std::fs::write(&path, &good).expect("restored");
    // Ended before the checkpoint: it never moves backwards.
    refused(
        &trail,
        trail.manifest.start + Duration::hours(1),
        &[],
        "never moves backwards",
    );
    // Another selection of chains than the one it was written for.
    let other_trail = format!(
        "arn:aws:cloudtrail:us-east-1:{}:trail/another-trail",
        trail.manifest.spec.account
    );
    refused(
        &trail,
        trail.end(),
        &["--trail-arn", &other_trail],
        "which this run does not validate",
    );
    // A shard that does not take one of its chains.
    let refusing_shard = (2..=8)
        .flat_map(|n| (0..n).map(move |k| format!("{k}/{n}")))
        .find(|shard| {
            let (code, _, _) = run(&trail, trail.end(), &["--shard", shard]);
            code == 2
        })
        .expect("some shard leaves a chain out");
    refused(
        &trail,
        trail.end(),
        &["--shard", &refusing_shard],
        "give each shard its own checkpoint file",
    );
}

#[test]
fn a_checkpoint_of_another_source_is_refused() {
    let trail = trail();
    run(&trail, halfway(&trail), &[]);
    let copy = trail.dir.path().join("copy");
    std::fs::rename(trail.archive(), &copy).expect("moved");
    std::fs::create_dir(trail.archive()).expect("folder");
    std::fs::rename(&copy, trail.archive().join("inner")).expect("moved");
    let checkpoint = checkpoint_path(&trail);
    let output = trail.run_validate_at(
        &trail.archive().join("inner"),
        trail.end(),
        &["--checkpoint", checkpoint.to_str().expect("utf-8")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("written for the source"), "{stderr}");
}

#[test]
fn a_checkpoint_inside_the_source_or_in_no_folder_is_refused() {
    let trail = trail();
    let archive = trail.archive();
    let attempt = |checkpoint: &Path| {
        let checkpoint = checkpoint.to_str().expect("utf-8");
        trail.run_validate_at(&archive, trail.end(), &["--checkpoint", checkpoint])
    };
    for (path, why) in [
        (archive.join("checkpoint.json"), "lies inside the source"),
        (archive.join("AWSLogs/cp.json"), "lies inside the source"),
        (trail.dir.path().join("absent/cp.json"), "does not exist"),
    ] {
        let output = attempt(&path);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(why), "expected '{why}' in {stderr}");
        assert!(!path.exists(), "nothing written to {}", path.display());
    }
}

#[test]
fn a_tampered_first_run_records_no_anchor_for_that_chain() {
    let mut spec = tampered(TamperKind::ModifyLog);
    spec.hours = 6;
    let trail = simulate(&spec);
    let (code, _, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1);
    let entries = recorded(&trail)["chains"]
        .as_array()
        .expect("chains")
        .clone();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["digest"],
        Value::Null,
        "validated from the start until it is clean"
    );
    let (code, again, _) = run(&trail, trail.end(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        keys_of(&again, "digest").len(),
        trail.digests().len(),
        "a full run again"
    );
}
