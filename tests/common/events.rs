//! A simulated trail with the three tamperings of issue 11 (a DeleteBucket removed from one
//! log, a log with a DeleteBucket deleted, a forged DeleteBucket planted in a new log), and an
//! independent reader of logs (flate2 and serde_json, nothing of trailcheck's) for the rows a
//! correct answer holds. Shared by tests/events.rs (folders) and tests/s3.rs (S3).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};
use trailcheck_core::verdict::FileKind;
use trailcheck_sim::{FileEntry, Spec};

use crate::common::{Trail, simulate, spec};

pub const DELETE_BUCKETS: &str = "SELECT eventid, useridentity.arn AS arn, eventtime, _log_key, \
     _digest_key, _key_fingerprint, _status FROM events WHERE eventname = 'DeleteBucket' \
     ORDER BY eventid";
pub const MALLORY: &str = "arn:aws:iam::111122223333:user/intern-mallory";

/// The records of one log, read with nothing of trailcheck's.
pub fn records(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    GzDecoder::new(File::open(path).expect("log opens"))
        .read_to_string(&mut text)
        .expect("log inflates");
    let log: Value = serde_json::from_str(&text).expect("log is JSON");
    log["Records"].as_array().expect("Records").clone()
}

pub fn write_records(path: &Path, records: &[Value]) {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(json!({ "Records": records }).to_string().as_bytes())
        .expect("gzip");
    fs::write(path, gz.finish().expect("gzip")).expect("log written");
}

pub fn logs(trail: &Trail) -> Vec<&FileEntry> {
    let mut logs: Vec<&FileEntry> = (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Log)
        .collect();
    logs.sort_by(|a, b| a.key.cmp(&b.key));
    logs
}

pub fn is_delete_bucket(record: &Value) -> bool {
    record["eventName"] == "DeleteBucket"
}

/// (eventid, arn, eventtime, log key) of every DeleteBucket record of these logs.
pub fn delete_buckets<'a>(
    trail: &Trail,
    logs: impl IntoIterator<Item = &'a FileEntry>,
) -> BTreeSet<(String, String, String, String)> {
    let mut found = BTreeSet::new();
    for log in logs {
        for record in records(&trail.path(&log.bucket, &log.key)) {
            if is_delete_bucket(&record) {
                found.insert(row_of(&record, &log.key));
            }
        }
    }
    found
}

pub fn row_of(record: &Value, key: &str) -> (String, String, String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&record["eventID"]),
        text(&record["userIdentity"]["arn"]),
        text(&record["eventTime"]),
        key.to_owned(),
    )
}

pub fn rows_of(answer: &Value) -> BTreeSet<(String, String, String, String)> {
    answer["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let text = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (
                text("eventid"),
                text("arn"),
                text("eventtime"),
                text("_log_key"),
            )
        })
        .collect()
}

pub fn trail_spec() -> Spec {
    let mut spec = spec();
    spec.hours = 6;
    spec.events_per_log = (40, 60);
    spec
}

/// The three tamperings of the issue, on a simulated trail.
pub struct Scenario {
    pub trail: Trail,
    /// The DeleteBucket events of the logs left untouched.
    pub expected: BTreeSet<(String, String, String, String)>,
    /// Rewritten without its DeleteBucket records.
    pub modified: FileEntry,
    /// Removed, with its DeleteBucket records.
    pub deleted: FileEntry,
    /// Planted: a DeleteBucket blamed on another user.
    pub forged_key: String,
    pub forged_event: String,
}

pub fn scenario() -> Scenario {
    scenario_of(&trail_spec())
}

/// The scenario on a trail simulated from `spec`, tampered on disk.
pub fn scenario_of(spec: &Spec) -> Scenario {
    let trail = simulate(spec);
    let with_deletes: Vec<&FileEntry> = logs(&trail)
        .into_iter()
        .filter(|log| {
            records(&trail.path(&log.bucket, &log.key))
                .iter()
                .any(is_delete_bucket)
        })
        .collect();
    assert!(
        with_deletes.len() >= 4,
        "the simulated trail needs DeleteBuckets in 4 logs, has {}",
        with_deletes.len()
    );
    let modified = with_deletes[0].clone();
    let deleted = with_deletes[with_deletes.len() - 1].clone();
    let expected = delete_buckets(
        &trail,
        logs(&trail)
            .into_iter()
            .filter(|l| l.key != modified.key && l.key != deleted.key),
    );
    assert!(!expected.is_empty());

    let modified_path = trail.path(&modified.bucket, &modified.key);
    let mut kept = records(&modified_path);
    let original = kept.clone();
    kept.retain(|r| !is_delete_bucket(r));
    write_records(&modified_path, &kept);
    fs::remove_file(trail.path(&deleted.bucket, &deleted.key)).expect("log deleted");

    // The forgery: a real record copied, then blamed on someone else, in a log named as
    // CloudTrail names them, in the same folder as a real one.
    let mut forged = original
        .into_iter()
        .find(is_delete_bucket)
        .expect("a DeleteBucket");
    forged["userIdentity"]["arn"] = json!(MALLORY);
    forged["userIdentity"]["userName"] = json!("intern-mallory");
    forged["eventID"] = json!("00000000-0000-4000-8000-00000000f0f0");
    let forged_event = forged["eventID"].as_str().expect("id").to_owned();
    let suffix_at = modified.key.len() - ".json.gz".len() - 16;
    let forged_key = format!("{}F0rgedF0rgedF0r.json.gz", &modified.key[..suffix_at]);
    write_records(&trail.path(&modified.bucket, &forged_key), &[forged]);
    Scenario {
        trail,
        expected,
        modified,
        deleted,
        forged_key,
        forged_event,
    }
}
