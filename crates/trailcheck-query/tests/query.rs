//! End-to-end tests: logs fed through the sink, queries answered.

use serde_json::{Value, json};
use trailcheck_query::{
    EventsQuery, LogError, LogSink, OutputFormat, Provenance, QueryError, QueryOptions,
    batches_to_json_rows, run,
};

const PROV: Provenance<'static> = Provenance {
    log_key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/05/a.json.gz",
    log_bucket: "trail",
    log_sha256: "ab12",
    digest_key: Some("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/05/d.json.gz"),
    key_fingerprint: None,
    status: "intact",
    account: "111122223333",
    region: "us-east-1",
};

fn log_a() -> Vec<u8> {
    serde_json::to_vec(&json!({"Records": [
        {
            "eventVersion": "1.10",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                "accountId": "111122223333", "userName": "alice"},
            "eventTime": "2026-11-06T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucket", "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
            "requestParameters": {"bucketName": "old-data"}, "readOnly": false,
            "resources": [{"ARN": "arn:aws:s3:::old-data", "accountId": "111122223333", "type": "AWS::S3::Bucket"}]
        },
        {
            "eventVersion": "1.10",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"},
            "eventTime": "2026-11-04T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucket", "sourceIPAddress": "198.51.100.8",
            "requestParameters": {"bucketName": "older-data"}
        },
        {
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/ci/x",
                "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/ci"},
                    "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-05T00:00:00Z"},
                    "webIdFederationData": {"federatedProvider": "x", "attributes": {"a": "b", "n": 1}}}},
            "eventTime": "2026-11-05T12:00:00Z", "eventName": "RunInstances",
            "requestParameters": {"instanceType": "m5.xlarge", "instancesSet": {"items": [{"imageId": "ami-1"}]}},
            "tlsDetails": {"tlsVersion": "TLSv1.3", "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"}
        },
        {
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/carol"},
            "eventTime": "2026-11-05T13:00:00Z", "eventName": "RunInstances",
            "requestParameters": {"instanceType": "t3.micro"}
        },
        {
            "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root"},
            "eventTime": "2026-11-05T14:00:00Z", "eventName": "ConsoleLogin",
            "additionalEventData": {"MFAUsed": "No"}, "responseElements": {"ConsoleLogin": "Success"}
        }
    ]}))
    .unwrap_or_default()
}

fn query(sql: &str, logs: &[Vec<u8>]) -> Result<Vec<Value>, QueryError> {
    let mut out = Vec::new();
    run(
        sql,
        &QueryOptions::default(),
        OutputFormat::Json,
        &mut out,
        |sink| {
            for l in logs {
                let _ = sink.log(&PROV, l);
            }
        },
    )?;
    Ok(serde_json::from_slice::<Vec<Value>>(&out).unwrap_or_default())
}

#[test]
fn delete_bucket_query() {
    let rows = query(
        "SELECT useridentity.arn, eventtime, sourceipaddress FROM events \
         WHERE eventname = 'DeleteBucket' AND eventtime > '2026-11-05T00:00:00Z'",
        &[log_a()],
    )
    .expect("query runs");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    // Named as Athena names it: `arn`, not DataFusion's `events.useridentity[arn]`.
    let columns: Vec<&String> = r.as_object().expect("a row").keys().collect();
    assert_eq!(columns, ["arn", "eventtime", "sourceipaddress"]);
    assert_eq!(r["arn"], json!("arn:aws:iam::111122223333:user/alice"));
    assert_eq!(r["eventtime"], json!("2026-11-06T10:00:00Z"));
    assert_eq!(r["sourceipaddress"], json!("198.51.100.7"));
}

#[test]
fn run_instances_query() {
    let rows = query(
        "SELECT useridentity.arn, json_extract_scalar(requestparameters, '$.instanceType') AS t \
         FROM events WHERE eventname = 'RunInstances' \
         AND json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.xlarge'",
        &[log_a()],
    )
    .expect("query runs");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["t"], json!("m5.xlarge"));
}

#[test]
fn select_star_and_provenance() {
    let rows = query("SELECT * FROM events", &[log_a(), log_a()]).expect("query runs");
    assert_eq!(rows.len(), 10);
    let r = &rows[0];
    assert_eq!(r["_status"], json!("intact"));
    assert_eq!(r["_account"], json!("111122223333"));
    assert_eq!(r["_key_fingerprint"], Value::Null);
    assert_eq!(r["readonly"], json!("false"));
    assert_eq!(
        r["requestparameters"],
        json!("{\"bucketName\":\"old-data\"}")
    );
    assert_eq!(r["resources"][0]["arn"], json!("arn:aws:s3:::old-data"));
    let ci = rows
        .iter()
        .find(|r| r["eventname"] == json!("RunInstances"))
        .expect("run instances row");
    assert_eq!(
        ci["useridentity"]["sessioncontext"]["sessionissuer"]["arn"],
        json!("arn:aws:iam::111122223333:role/ci")
    );
    assert_eq!(
        ci["tlsdetails"]["clienthostheader"],
        json!("ec2.us-east-1.amazonaws.com")
    );
}

#[test]
fn struct_fields_keep_a_unique_athena_name_and_indexes_keep_theirs() {
    let rows = query(
        "SELECT useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, \
         useridentity.type, resources[1] FROM events WHERE eventname = 'DeleteBucket'",
        &[log_a()],
    )
    .expect("query runs");
    assert_eq!(rows.len(), 2, "{rows:?}");
    let columns: Vec<&String> = rows[0].as_object().expect("a row").keys().collect();
    assert_eq!(columns.len(), 4, "{columns:?}");
    assert!(columns.contains(&&"type".to_owned()), "{columns:?}");
    // Two `arn`s: both keep DataFusion's names rather than one hiding the other.
    assert_eq!(
        columns.iter().filter(|c| c.ends_with("[arn]")).count(),
        2,
        "{columns:?}"
    );
    assert!(
        columns.iter().any(|c| c.contains("resources[")),
        "{columns:?}"
    );
}

#[test]
fn nested_fields_aggregates_and_case() {
    let rows = query(
        "SELECT userIdentity.sessionContext.sessionIssuer.arn AS issuer, \
         json_extract_scalar(additionaleventdata, '$.MFAUsed') AS mfa, count(*) AS n \
         FROM events GROUP BY 1, 2 ORDER BY n DESC, issuer",
        &[log_a()],
    )
    .expect("query runs");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0]["n"], json!(3));
}

#[test]
fn projection_builds_only_named_columns() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (q, _sink) = rt
        .block_on(EventsQuery::prepare(
            "SELECT useridentity.arn, eventtime FROM events WHERE eventname = 'X' AND _status = 'intact'",
            &QueryOptions::default(),
        ))
        .expect("plans");
    let mut cols = q.projected_columns().to_vec();
    cols.sort();
    assert_eq!(cols, ["_status", "eventname", "eventtime", "useridentity"]);

    let (q, sink) = rt
        .block_on(EventsQuery::prepare(
            "SELECT count(*) FROM events",
            &QueryOptions::default(),
        ))
        .expect("plans");
    assert!(q.projected_columns().is_empty());
    let batch = sink
        .parse_only(&PROV, &log_a())
        .expect("parses")
        .expect("scanned");
    assert_eq!(batch.num_columns(), 0);
    assert_eq!(batch.num_rows(), 5);
}

#[test]
fn count_star_streams() {
    let rows = query(
        "SELECT count(*) AS n FROM events",
        &[log_a(), log_a(), log_a()],
    )
    .expect("query runs");
    assert_eq!(rows, vec![json!({"n": 15})]);
}

#[test]
fn bad_sql_is_an_error() {
    for sql in [
        "SELEC * FROM events",
        "SELECT nosuchcolumn FROM events",
        "SELECT * FROM nosuchtable",
        "SELECT no_such_fn(eventname) FROM events",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "DROP TABLE events",
        "SELECT 1; SELECT 2",
        "SELECT json_extract_scalar(requestparameters) FROM events",
        "SELECT * FROM events a JOIN events b ON a.eventid = b.eventid",
        "",
    ] {
        let err = query(sql, &[log_a()]).expect_err(sql);
        let text = err.to_string();
        assert!(!text.contains('\n'), "{text}");
        assert!(!text.is_empty());
    }
}

#[test]
fn bad_json_path_is_an_error() {
    let err = query(
        "SELECT json_extract_scalar(requestparameters, 'instanceType') FROM events",
        &[log_a()],
    )
    .expect_err("bad path");
    assert!(err.to_string().contains("JSON path"), "{err}");
}

#[test]
fn malformed_logs_are_reported_per_log() {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let report = run(
        "SELECT eventname FROM events",
        &QueryOptions::default(),
        OutputFormat::Jsonl,
        &mut out,
        |sink| {
            for body in [
                b"not json at all".to_vec(),
                br#"{"NotRecords": []}"#.to_vec(),
                br#"{"Records": [1, 2]}"#.to_vec(),
                br#"{"Records": {"a": 1}}"#.to_vec(),
                br#"{"Records": [{"eventName": "A"}]} trailing"#.to_vec(),
                log_a(),
            ] {
                if let Err(e) = sink.log(&PROV, &body) {
                    errors.push(e);
                }
            }
        },
    )
    .expect("query survives bad logs");
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, LogError::Malformed { .. }))
    );
    assert!(errors[1].to_string().contains("Records"), "{}", errors[1]);
    assert_eq!(report.rows, 5);
    assert_eq!(report.sink.malformed_logs, 5);
    assert_eq!(report.sink.logs, 1);
}

#[test]
fn limit_closes_the_sink() {
    let mut closed = false;
    let mut out = Vec::new();
    let opts = QueryOptions {
        channel_capacity: 1,
        ..QueryOptions::default()
    };
    run(
        "SELECT eventname FROM events LIMIT 2",
        &opts,
        OutputFormat::Csv,
        &mut out,
        |sink| {
            for _ in 0..10_000 {
                if let Err(LogError::Closed) = sink.log(&PROV, &log_a()) {
                    closed = true;
                    break;
                }
            }
        },
    )
    .expect("runs");
    assert!(closed, "producer was told to stop");
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[test]
fn where_false_never_blocks() {
    let rows = query(
        "SELECT eventname FROM events WHERE false",
        &[log_a(), log_a()],
    )
    .expect("runs");
    assert!(rows.is_empty());
}

#[test]
fn output_formats() {
    for format in [
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Jsonl,
        OutputFormat::Csv,
        OutputFormat::Parquet,
    ] {
        let mut out = Vec::new();
        let report = run(
            "SELECT * FROM events",
            &QueryOptions::default(),
            format,
            &mut out,
            |sink| {
                let _ = sink.log(&PROV, &log_a());
            },
        )
        .expect("runs");
        assert_eq!(report.rows, 5);
        assert!(!out.is_empty(), "{format:?}");
        if format == OutputFormat::Csv {
            let text = String::from_utf8_lossy(&out);
            assert_eq!(text.lines().count(), 6);
            assert!(text.contains("arn:aws:iam::111122223333:user/alice"));
        }
        if format == OutputFormat::Parquet {
            assert_eq!(&out[..4], b"PAR1");
        }
    }
}

#[test]
fn json_rows_helper() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let (q, sink) = rt
        .block_on(EventsQuery::prepare(
            "SELECT eventname FROM events ORDER BY eventname",
            &QueryOptions::default(),
        ))
        .expect("plans");
    let producer = std::thread::spawn(move || {
        let _ = sink.log(&PROV, &log_a());
    });
    let batches = rt.block_on(q.collect()).expect("runs");
    let _ = producer.join();
    let rows = batches_to_json_rows(&batches).expect("json");
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0], json!({"eventname": "ConsoleLogin"}));
}

#[test]
fn hive_parquet() {
    let dir = std::env::temp_dir().join(format!("tcq-hive-{}", std::process::id()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let (q, sink) = rt
        .block_on(EventsQuery::prepare(
            "SELECT * FROM events",
            &QueryOptions::default(),
        ))
        .expect("plans");
    let producer = std::thread::spawn(move || {
        let _ = sink.log(&PROV, &log_a());
    });
    let stream = q.execute().expect("executes");
    let files = rt
        .block_on(trailcheck_query::write_hive_parquet(stream, &dir))
        .expect("writes");
    let _ = producer.join();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap_or(p).display().to_string())
        .collect();
    assert!(
        names.contains(
            &"account=111122223333/region=us-east-1/date=2026-11-05/part-0.parquet".to_owned()
        ),
        "{names:?}"
    );
    assert_eq!(files.len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sink_from_async_context_is_an_error_not_a_panic() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let (_q, sink) = rt
        .block_on(EventsQuery::prepare(
            "SELECT eventname FROM events",
            &QueryOptions::default(),
        ))
        .expect("plans");
    let r = rt.block_on(async { sink.log(&PROV, &log_a()) });
    assert_eq!(r, Err(LogError::AsyncContext));
}

#[test]
fn json_functions_in_sql() {
    let rows = query(
        "SELECT json_array_length(json_extract(requestparameters, '$.instancesSet.items')) AS l, \
         json_size(requestparameters, '$') AS s, \
         json_array_contains('[\"m5.xlarge\", 3]', json_extract_scalar(requestparameters, '$.instanceType')) AS c, \
         json_array_contains('[1, 2]', 2) AS ci \
         FROM events WHERE eventname = 'RunInstances' ORDER BY eventtime",
        &[log_a()],
    )
    .expect("query runs");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["l"], json!(1));
    assert_eq!(rows[0]["s"], json!(2));
    assert_eq!(rows[0]["c"], json!(true));
    assert_eq!(rows[1]["c"], json!(false));
    assert_eq!(rows[1]["l"], Value::Null);
    assert_eq!(rows[0]["ci"], json!(true));
}

/// The pack over one log: each detection parses and runs, and fires on what it should.
#[test]
fn triage_pack_runs_every_detection_and_finds_what_the_log_holds() {
    let runtime = trailcheck_query::runtime(2).unwrap();
    let (query, sink) = runtime
        .block_on(EventsQuery::prepare(
            trailcheck_query::PREFILTER,
            &QueryOptions::default(),
        ))
        .unwrap();
    let schema = query.schema();
    let kept = std::thread::scope(|scope| {
        let feeder = scope.spawn(move || {
            sink.log(&PROV, &log_a()).unwrap();
        });
        let kept = runtime.block_on(query.collect()).unwrap();
        feeder.join().unwrap();
        kept
    });
    let found = runtime
        .block_on(trailcheck_query::run_detections(schema, kept))
        .unwrap();
    assert_eq!(found.len(), trailcheck_query::detections().len());
    let hits = |name: &str| -> Vec<Value> {
        found
            .iter()
            .find(|(d, _)| d.name == name)
            .map(|(_, rows)| rows.clone())
            .unwrap()
    };
    let mut deleted: Vec<(String, String)> = hits("bucket-deleted-or-public")
        .iter()
        .map(|r| {
            (
                r["who"].as_str().unwrap_or("").to_owned(),
                r["detail"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        vec![
            (
                "arn:aws:iam::111122223333:user/alice".to_owned(),
                "old-data".to_owned()
            ),
            (
                "arn:aws:iam::111122223333:user/bob".to_owned(),
                "older-data".to_owned()
            ),
        ]
    );
    for row in hits("bucket-deleted-or-public") {
        assert_eq!(row["_log_key"], PROV.log_key);
        assert_eq!(
            row["account"], "111122223333",
            "the log's account when the record has none"
        );
    }
    let root = hits("root-activity");
    assert_eq!(root.len(), 1);
    assert_eq!(root[0]["eventname"], "ConsoleLogin");
    assert_eq!(hits("console-login-without-mfa").len(), 1);
    assert!(
        hits("large-instances").is_empty(),
        "m5.xlarge and t3.micro are not large"
    );
    for (d, rows) in &found {
        for row in rows {
            let columns: Vec<&str> = row
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            for column in trailcheck_query::FINDING_COLUMNS {
                assert!(columns.contains(&column), "{}: {column} missing", d.name);
            }
        }
    }
}

#[test]
fn a_filter_on_eventname_skips_other_records_before_their_columns_are_built() {
    let report = |sql: &str| {
        let mut out = Vec::new();
        let report = run(
            sql,
            &QueryOptions::default(),
            OutputFormat::Json,
            &mut out,
            |sink| {
                let _ = sink.log(&PROV, &log_a());
            },
        )
        .expect("query runs");
        let rows: Vec<Value> = serde_json::from_slice(&out).expect("JSON rows");
        (report, rows)
    };
    let (all, every) = report("SELECT eventid, eventname FROM events");
    let (filtered, deletes) =
        report("SELECT eventid, eventname FROM events WHERE eventname = 'DeleteBucket'");
    let (listed, in_list) = report(
        "SELECT eventid FROM events WHERE eventname IN ('DeleteBucket', 'RunInstances') \
         AND eventtime > '2000-01-01'",
    );
    let expected: Vec<&Value> = every
        .iter()
        .filter(|r| r["eventname"] == "DeleteBucket")
        .collect();
    assert_eq!(deletes.iter().collect::<Vec<_>>(), expected);
    assert!(!deletes.is_empty());
    // The scan built rows only for records that can match.
    assert_eq!(all.sink.events, every.len() as u64);
    assert_eq!(filtered.sink.events, deletes.len() as u64, "{filtered:?}");
    let wanted = every
        .iter()
        .filter(|r| r["eventname"] == "DeleteBucket" || r["eventname"] == "RunInstances")
        .count();
    assert_eq!(in_list.len(), wanted);
    assert!(listed.sink.events < all.sink.events);
    // A filter it does not understand changes nothing but the speed.
    let (_, lowered) =
        report("SELECT eventid, eventname FROM events WHERE lower(eventname) = 'deletebucket'");
    assert_eq!(lowered, deletes);
}
