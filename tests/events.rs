//! `trailcheck events` and `triage`: answers drawn only from proven logs, and what they cover.
//!
//! The expected rows come from an independent reading of the logs in this file (flate2 and
//! serde_json over the gzip files on disk), never from trailcheck's own parser.

mod common;
#[path = "common/events.rs"]
mod tampered;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::*;
use serde_json::{Value, json};
use tampered::*;

/// Runs `events` over the trail's folder up to its newest digest.
fn events(trail: &Trail, args: &[&str]) -> (i32, String, String) {
    let archive = trail.archive();
    let keys = trail.keys();
    let end = trailcheck_core::time::display(trail.end());
    let mut all = vec![
        "events",
        archive.to_str().expect("utf-8"),
        "--keys",
        keys.to_str().expect("utf-8"),
        "--end-time",
        &end,
    ];
    all.extend_from_slice(args);
    let output = trailcheck(trail.dir.path(), &all);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn events_json(trail: &Trail, sql: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--format", "json", "--sql", sql];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = events(trail, &args);
    let answer = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout} stderr {stderr}"));
    (code, answer)
}

fn hour(time: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(time)
        .expect("a time")
        .with_timezone(&Utc)
}

/// The unproven period of `region` that holds `at`'s hour, with why.
fn unproven_at(answer: &Value, region: &str, at: DateTime<Utc>) -> Option<Vec<String>> {
    let at = at.duration_trunc(Duration::hours(1)).expect("hour");
    let place = answer["coverage"]
        .as_array()?
        .iter()
        .find(|c| c["region"] == region)?;
    place["unproven"].as_array()?.iter().find_map(|p| {
        let (from, to) = (hour(p["from"].as_str()?), hour(p["to"].as_str()?));
        (from <= at && at < to).then(|| {
            (p["why"].as_array().into_iter().flatten())
                .filter_map(|w| w.as_str().map(str::to_owned))
                .collect()
        })
    })
}

#[test]
fn delete_bucket_rows_come_only_from_intact_logs_and_the_answer_names_what_it_lacks() {
    let s = scenario();
    let (code, answer) = events_json(&s.trail, DELETE_BUCKETS, &[]);
    assert_eq!(code, 1, "tampering in range: {answer}");
    assert_eq!(answer["outcome"], "tampered");
    assert_eq!(answer["version"], 1);
    assert_eq!(answer["query"], DELETE_BUCKETS);
    assert_eq!(
        answer["columns"],
        json!([
            "eventid",
            "arn",
            "eventtime",
            "_log_key",
            "_digest_key",
            "_key_fingerprint",
            "_status"
        ])
    );
    let rows = rows_of(&answer);
    assert_eq!(rows, s.expected, "exactly the DeleteBuckets of intact logs");
    assert!(rows.iter().all(|(_, arn, _, _)| arn != MALLORY));
    assert!(rows.iter().all(|(_, _, _, key)| *key != s.modified.key));
    // Every row names the digest that lists its log, and the key that signed that digest.
    let fingerprints: BTreeSet<&str> = (s.trail.manifest.public_keys.iter())
        .map(|k| k.fingerprint.as_str())
        .collect();
    for row in answer["rows"].as_array().expect("rows") {
        assert_eq!(row["_status"], "intact");
        let log = (s.trail.manifest.files.iter())
            .find(|f| f.key == row["_log_key"])
            .expect("the row's log is the trail's");
        assert_eq!(row["_digest_key"].as_str(), log.listed_by.as_deref());
        let fingerprint = row["_key_fingerprint"].as_str().expect("fingerprint");
        assert!(fingerprints.contains(fingerprint), "{fingerprint}");
    }

    let excluded: BTreeSet<(String, String, String)> = (answer["excluded"].as_array())
        .expect("excluded")
        .iter()
        .map(|e| {
            let text = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
            (text("key"), text("kind"), text("status"))
        })
        .collect();
    let expected_excluded: BTreeSet<(String, String, String)> = [
        (s.modified.key.clone(), "log", "modified"),
        (s.deleted.key.clone(), "log", "deleted"),
        (s.forged_key.clone(), "log", "unreferenced"),
    ]
    .into_iter()
    .map(|(k, kind, status)| (k, kind.to_owned(), status.to_owned()))
    .collect();
    assert_eq!(excluded, expected_excluded);
    for entry in answer["excluded"].as_array().expect("excluded") {
        assert!(entry["cause"].is_string(), "{entry}");
    }

    for (log, why) in [
        (&s.modified, "log modified"),
        (&s.deleted, "log deleted"),
        (
            &s.modified,
            "log not listed by any digest (added afterwards)",
        ),
    ] {
        let reasons = unproven_at(&answer, &log.region, log.time)
            .unwrap_or_else(|| panic!("no unproven period at {} ({why})", log.time));
        assert!(reasons.iter().any(|r| r == why), "{reasons:?} lacks {why}");
    }
    // The hours no tampering touched are proven.
    let proven = answer["coverage"][0]["proven"].as_array().expect("proven");
    assert!(!proven.is_empty(), "{answer}");
}

#[test]
fn include_unproven_adds_the_forged_row_marked_unreferenced_and_the_modified_logs_records() {
    let s = scenario();
    let (code, answer) = events_json(&s.trail, DELETE_BUCKETS, &["--include-unproven"]);
    assert_eq!(code, 1);
    let rows = answer["rows"].as_array().expect("rows");
    let forged: Vec<&Value> = rows
        .iter()
        .filter(|r| r["eventid"] == s.forged_event.as_str())
        .collect();
    assert_eq!(forged.len(), 1, "{answer}");
    assert_eq!(forged[0]["_status"], "unreferenced");
    assert_eq!(forged[0]["arn"], MALLORY);
    assert_eq!(forged[0]["_log_key"], s.forged_key.as_str());
    assert!(forged[0]["_digest_key"].is_null());
    let intact: BTreeSet<_> = rows_of(&answer)
        .into_iter()
        .filter(|(id, ..)| *id != s.forged_event)
        .collect();
    assert_eq!(intact, s.expected);

    // The modified log's remaining records are there too, marked; the deleted one's cannot be.
    let sql = "SELECT _log_key, _status, count(*) AS n FROM events GROUP BY _log_key, _status";
    let (_, answer) = events_json(&s.trail, sql, &["--include-unproven"]);
    let statuses: BTreeSet<(String, String)> = (answer["rows"].as_array().expect("rows"))
        .iter()
        .map(|r| {
            let text = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
            (text("_log_key"), text("_status"))
        })
        .collect();
    assert!(statuses.contains(&(s.modified.key.clone(), "modified".to_owned())));
    assert!(statuses.contains(&(s.forged_key.clone(), "unreferenced".to_owned())));
    assert!(!statuses.iter().any(|(k, _)| *k == s.deleted.key));
    // Only the deleted log is still excluded: it has no records to show.
    let excluded: Vec<&str> = (answer["excluded"].as_array().expect("excluded"))
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert_eq!(excluded, vec![s.deleted.key.as_str()]);
}

#[test]
fn on_a_clean_trail_the_rows_are_every_record_of_every_log_and_the_answer_is_complete() {
    let trail = simulate(&trail_spec());
    let sql = "SELECT eventid, useridentity.arn AS arn, eventtime, _log_key, eventname, \
               eventsource, awsregion, sourceipaddress, recipientaccountid FROM events";
    let (code, answer) = events_json(&trail, sql, &[]);
    assert_eq!(code, 0, "{answer}");
    assert_eq!(answer["outcome"], "complete");
    assert_eq!(answer["excluded"], json!([]));
    assert!(
        answer["coverage"][0]["unproven"]
            .as_array()
            .is_some_and(Vec::is_empty),
        "{answer}"
    );
    let mut expected = Vec::new();
    for log in logs(&trail) {
        for record in records(&trail.path(&log.bucket, &log.key)) {
            let text = |v: &Value| v.as_str().map(str::to_owned);
            expected.push(json!({
                "eventid": text(&record["eventID"]),
                "arn": text(&record["userIdentity"]["arn"]),
                "eventtime": text(&record["eventTime"]),
                "_log_key": log.key,
                "eventname": text(&record["eventName"]),
                "eventsource": text(&record["eventSource"]),
                "awsregion": text(&record["awsRegion"]),
                "sourceipaddress": text(&record["sourceIPAddress"]),
                "recipientaccountid": text(&record["recipientAccountId"]),
            }));
        }
    }
    let key = |v: &Value| v.to_string();
    let mut rows = answer["rows"].as_array().expect("rows").clone();
    rows.sort_by_key(key);
    expected.sort_by_key(key);
    assert!(expected.len() > 500, "{} records", expected.len());
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows, expected);
}

#[test]
fn athena_json_functions_answer_as_they_do_over_the_documented_table() {
    let trail = simulate(&trail_spec());
    let sql = "SELECT eventid, json_extract_scalar(requestparameters, '$.instanceType') AS t \
               FROM events WHERE eventname = 'RunInstances' \
               AND json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.xlarge'";
    let (code, answer) = events_json(&trail, sql, &[]);
    assert_eq!(code, 0, "{answer}");
    let mut expected = BTreeSet::new();
    for log in logs(&trail) {
        for record in records(&trail.path(&log.bucket, &log.key)) {
            let t = record["requestParameters"]["instanceType"].as_str();
            if record["eventName"] == "RunInstances" && t.is_some_and(|t| t.ends_with(".xlarge")) {
                expected.insert((
                    record["eventID"].as_str().unwrap_or_default().to_owned(),
                    t.unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    let rows: BTreeSet<(String, String)> = (answer["rows"].as_array().expect("rows"))
        .iter()
        .map(|r| {
            (
                r["eventid"].as_str().unwrap_or_default().to_owned(),
                r["t"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(rows, expected);
}

#[test]
fn jsonl_and_csv_write_rows_to_out_and_the_coverage_to_its_own_file() {
    let s = scenario();
    let out = s.trail.dir.path().join("rows.jsonl");
    let coverage = s.trail.dir.path().join("coverage.json");
    let (code, stdout, stderr) = events(
        &s.trail,
        &[
            "--format",
            "jsonl",
            "--sql",
            DELETE_BUCKETS,
            "--out",
            out.to_str().expect("utf-8"),
            "--coverage",
            coverage.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stdout, "");
    let lines = fs::read_to_string(&out).expect("rows written");
    let ids: BTreeSet<String> = lines
        .lines()
        .map(|l| {
            let row: Value = serde_json::from_str(l).expect("a JSON line");
            row["eventid"].as_str().expect("eventid").to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = s.expected.iter().map(|r| r.0.clone()).collect();
    assert_eq!(ids, expected);
    let coverage: Value =
        serde_json::from_str(&fs::read_to_string(&coverage).expect("coverage")).expect("JSON");
    assert_eq!(coverage["outcome"], "tampered");
    assert_eq!(coverage["excluded"].as_array().map(Vec::len), Some(3));

    // Without --coverage the unproven periods go to stderr, one line each.
    let (code, stdout, stderr) = events(&s.trail, &["--format", "csv", "--sql", DELETE_BUCKETS]);
    assert_eq!(code, 1);
    assert!(stdout.starts_with("eventid,arn,eventtime,"), "{stdout}");
    assert_eq!(stdout.lines().count(), expected.len() + 1, "{stdout}");
    assert!(
        stderr.contains("UNPROVEN: 111122223333 us-east-1 "),
        "{stderr}"
    );
    assert!(stderr.contains("log modified"), "{stderr}");
    assert!(
        stderr.contains("Answer: INCOMPLETE: TAMPERING FOUND"),
        "{stderr}"
    );
}

#[test]
fn a_bad_query_is_a_one_line_usage_error() {
    let trail = simulate(&spec());
    for sql in [
        "SELEC * FROM events",
        "SELECT nosuchcolumn FROM events",
        "SELECT * FROM cloudtrail_logs",
        "DROP TABLE events",
        "COPY (SELECT 1) TO '/tmp/trailcheck-should-not-exist.csv'",
        "SELECT * FROM '/etc/hosts'",
        "SELECT * FROM read_csv('/etc/hosts')",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; SELECT 2",
        "",
    ] {
        let (code, stdout, stderr) = events(&trail, &["--format", "json", "--sql", sql]);
        assert_eq!(code, 2, "{sql}: {stdout} {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{sql}: {stderr}");
        assert!(stderr.contains("--sql"), "{sql}: {stderr}");
    }
    assert!(!Path::new("/tmp/trailcheck-should-not-exist.csv").exists());
    let (code, _, stderr) = events(&trail, &["--format", "parquet"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--out"), "{stderr}");
    let missing = trail.dir.path().join("missing.sql");
    let (code, _, stderr) = events(&trail, &["--sql-file", missing.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--sql-file") && stderr.contains("missing.sql"),
        "{stderr}"
    );
}

#[test]
fn parquet_is_partitioned_as_athena_projects_it_and_the_ddl_matches() {
    let trail = simulate(&spec());
    let out = trail.dir.path().join("lake");
    let (code, _, stderr) = events(
        &trail,
        &["--format", "parquet", "--out", out.to_str().expect("utf-8")],
    );
    assert_eq!(code, 0, "{stderr}");
    let mut files = Vec::new();
    let mut stack = vec![out.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty());
    for file in &files {
        let relative = file.strip_prefix(&out).expect("under out");
        let parts: Vec<String> = relative
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        assert_eq!(parts.len(), 4, "{relative:?}");
        assert_eq!(parts[0], "account=111122223333");
        assert_eq!(parts[1], "region=us-east-1");
        assert!(parts[2].starts_with("date=20"), "{relative:?}");
        assert!(parts[3].ends_with(".parquet"), "{relative:?}");
        let mut magic = [0u8; 4];
        File::open(file)
            .expect("opens")
            .read_exact(&mut magic)
            .expect("read");
        assert_eq!(&magic, b"PAR1");
    }
    let (code, ddl, _) = events(&trail, &["--athena-ddl", "--out", "s3://cases/case-42/"]);
    assert_eq!(code, 0);
    for needle in [
        "CREATE EXTERNAL TABLE",
        "`useridentity` struct<",
        "_log_sha256",
        "_digest_key",
        "PARTITIONED BY",
        "STORED AS PARQUET",
        "LOCATION 's3://cases/case-42/'",
        "'projection.enabled'",
    ] {
        assert!(ddl.contains(needle), "{needle} not in {ddl}");
    }
}

#[test]
fn triage_finds_the_deletes_of_intact_logs_and_cites_their_proof() {
    let s = scenario();
    let archive = s.trail.archive();
    let keys = s.trail.keys();
    let end = trailcheck_core::time::display(s.trail.end());
    let html = s.trail.dir.path().join("case.html");
    let output = trailcheck(
        s.trail.dir.path(),
        &[
            "triage",
            archive.to_str().expect("utf-8"),
            "--keys",
            keys.to_str().expect("utf-8"),
            "--end-time",
            &end,
            "--format",
            "json",
            "--report",
            html.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
    });
    let detections = result["detections"].as_array().expect("detections");
    let deleted = detections
        .iter()
        .find(|d| {
            d["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["eventname"] == "DeleteBucket"))
        })
        .unwrap_or_else(|| panic!("no detection of DeleteBucket: {result}"));
    assert!(deleted["source"].is_string());
    let found: BTreeSet<String> = (deleted["findings"].as_array().expect("findings"))
        .iter()
        .filter(|f| f["eventname"] == "DeleteBucket")
        .map(|f| {
            assert!(f["_digest_key"].is_string(), "{f}");
            f["_log_key"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = s.expected.iter().map(|r| r.3.clone()).collect();
    assert_eq!(found, expected);
    assert!(!result.to_string().contains(MALLORY));
    assert_eq!(result["outcome"], "tampered");

    // The evidence report carries the findings beside the verdicts, with their proof.
    let html = fs::read_to_string(&html).expect("report written");
    assert!(html.contains("Findings from proven events"));
    for key in &expected {
        assert!(html.contains(key.as_str()), "{key} not in the report");
    }
    assert!(!html.contains(MALLORY));
    assert!(
        html.contains(&s.modified.key),
        "the modified log is in the verdicts"
    );
}

/// DuckDB, reading the same `.json.gz` files with `read_json_auto` and `unnest(Records)`,
/// returns the rows `events` returns for the DeleteBucket and RunInstances questions: the
/// agreement check of `bench/query.py`, on a small trail. Needs `TRAILCHECK_TEST_PYTHON`
/// with `duckdb` (scripts/test installs it); without the variable it says so and passes.
#[test]
fn the_rows_agree_with_duckdb_reading_the_same_logs() {
    let Ok(python) = std::env::var("TRAILCHECK_TEST_PYTHON") else {
        eprintln!("skipping: TRAILCHECK_TEST_PYTHON is not set (scripts/test sets it)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("trail");
    let output = std::process::Command::new(python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/bench/query.py"))
        .arg(env!("CARGO_BIN_EXE_trailcheck"))
        .arg(&data)
        .args(["--hours", "14", "--logs-per-hour", "2", "--rounds", "1"])
        .output()
        .expect("bench/query.py runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for question in ["DeleteBucket", "RunInstances"] {
        let line = (stdout.lines())
            .find(|l| l.starts_with(&format!("{question}: ")))
            .unwrap_or_else(|| panic!("no {question} line in {stdout}"));
        assert!(line.contains("rows, the same from both"), "{line}");
        assert!(!line.contains(": 0 rows"), "{line}");
    }
}

#[test]
fn logs_that_cannot_be_proven_leave_the_answer_incomplete_with_exit_3() {
    let trail = simulate(&tampered(trailcheck_sim::TamperKind::UnknownKey));
    let (code, answer) = events_json(&trail, "SELECT _log_key, _status FROM events", &[]);
    assert_eq!(code, 3, "{answer}");
    assert_eq!(answer["outcome"], "incomplete");
    let excluded = answer["excluded"].as_array().expect("excluded");
    assert!(!excluded.is_empty());
    assert!(
        excluded.iter().all(|e| e["status"] == "unverifiable"),
        "{answer}"
    );
    let unproven = answer["coverage"][0]["unproven"]
        .as_array()
        .expect("unproven");
    assert!(
        unproven
            .iter()
            .any(|p| p["why"].to_string().contains("unverifiable")),
        "{answer}"
    );
    // Every row is of an intact log, and none of an excluded one.
    let excluded_keys: BTreeSet<&str> = excluded.iter().filter_map(|e| e["key"].as_str()).collect();
    for row in answer["rows"].as_array().expect("rows") {
        assert_eq!(row["_status"], "intact");
        assert!(!excluded_keys.contains(row["_log_key"].as_str().unwrap_or_default()));
    }
}
