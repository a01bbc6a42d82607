//! trailcheck against a real S3 server on 127.0.0.1 (moto), through a fault-injecting proxy
//! (tests/s3/proxy.py): every verdict from S3 must equal the verdict on the same archive
//! read from a folder; faults make files unverifiable, never deleted; `archive` copies a
//! trail that then validates offline, and resumes.
//!
//! Needs `TRAILCHECK_TEST_S3` (moto's URL; `scripts/test` starts moto and sets it) and a
//! Python with boto3 (`TRAILCHECK_TEST_PYTHON`, else `python3`). Without the variable every
//! test here prints why and passes, so `cargo test` runs offline.

mod common;
#[path = "common/events.rs"]
mod tampered;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use trailcheck_sim::{BucketSwitch, Layout, Spec, TamperKind};

const ACCOUNT: &str = "111122223333";

/// The loopback servers a test talks to.
struct Servers {
    s3: String,
    keystub: Option<String>,
    python: String,
}

fn servers(test: &str) -> Option<Servers> {
    let Some(s3) = std::env::var("TRAILCHECK_TEST_S3")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!(
            "skipping {test}: TRAILCHECK_TEST_S3 is not set (scripts/test starts moto on \
             127.0.0.1 and sets it)"
        );
        return None;
    };
    Some(Servers {
        s3,
        keystub: std::env::var("TRAILCHECK_TEST_KEYSTUB").ok(),
        python: std::env::var("TRAILCHECK_TEST_PYTHON").unwrap_or_else(|_| "python3".into()),
    })
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A bucket name of real length, unique to this test and run (moto has one namespace).
fn bucket_name(test: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let salt = format!("{test}/{}/{:?}", std::process::id(), Instant::now());
    for b in salt.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("aws-cloudtrail-logs-{ACCOUNT}-{:08x}", hash as u32)
}

/// tests/s3/proxy.py in front of moto, stopped when dropped.
struct Proxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Proxy {
    fn start(servers: &Servers, delay_ms: u32) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("port");
        let child = Command::new(&servers.python)
            .arg(repo().join("tests/s3/proxy.py"))
            .args([
                "--upstream",
                &servers.s3,
                "--delay-ms",
                &delay_ms.to_string(),
            ])
            .arg("--port-file")
            .arg(&port_file)
            .stdout(Stdio::null())
            .spawn()
            .expect("proxy starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            assert!(Instant::now() < deadline, "proxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn admin(&self, method: &str, path: &str, body: &str) -> String {
        http(self.port, method, path, body)
    }

    fn fail(&self, rules: Value) {
        self.admin("PUT", "/__proxy/rules", &rules.to_string());
    }

    /// Every request the proxy forwarded or failed: (method, path, status).
    fn requests(&self) -> Vec<(String, String, u64)> {
        self.requests_with_query()
            .into_iter()
            .map(|(m, p, _, s)| (m, p, s))
            .collect()
    }

    /// Every request: (method, path, query, status).
    fn requests_with_query(&self) -> Vec<(String, String, String, u64)> {
        let list: Value = serde_json::from_str(&self.admin("GET", "/__proxy/requests", ""))
            .expect("request log is JSON");
        list.as_array()
            .expect("a list")
            .iter()
            .map(|r| {
                let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
                (
                    field("method"),
                    field("path"),
                    field("query"),
                    r["status"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    }
}

/// One HTTP/1.1 request to a loopback admin API; the answer's body.
fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("server answers");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Uploads an archive folder (one bucket, or one folder per bucket) into moto.
fn upload(servers: &Servers, dir: &Path, bucket: Option<(&str, &str)>) {
    let mut command = Command::new(&servers.python);
    command
        .arg(repo().join("tests/awscli/upload.py"))
        .arg(dir)
        .args(["--endpoint", &servers.s3]);
    match bucket {
        Some((name, region)) => command.args(["--bucket", name, "--bucket-region", region]),
        None => command.arg("--per-bucket"),
    };
    let output = command.output().expect("upload.py runs");
    assert!(
        output.status.success(),
        "upload.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A simulated trail in its own bucket, uploaded.
fn uploaded(servers: &Servers, test: &str, spec: Spec) -> (Trail, String) {
    uploaded_into(servers, test, spec, serde_json::json!([]))
}

/// [`uploaded`] into a bucket `setup` makes first (`s3_ops`: versioning, Object Lock).
fn uploaded_into(servers: &Servers, test: &str, mut spec: Spec, setup: Value) -> (Trail, String) {
    let bucket = bucket_name(test);
    if setup.as_array().is_some_and(|ops| !ops.is_empty()) {
        s3_ops(servers, &bucket, setup);
    }
    spec.bucket = bucket.clone();
    let trail = simulate(&spec);
    upload(servers, &trail.archive(), Some((&bucket, "us-east-1")));
    (trail, bucket)
}

/// Runs the binary with an environment that can only reach the loopback servers.
fn run(servers: &Servers, dir: &Path, args: &[&str]) -> Output {
    run_as(servers, dir, args, "testing")
}

/// Runs the binary with `access_key` as its AWS access key id: the key stub's scope.
fn run_as(servers: &Servers, dir: &Path, args: &[&str], access_key: &str) -> Output {
    run_on_loopback(
        &servers.s3,
        servers.keystub.as_deref(),
        dir,
        args,
        access_key,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `validate SOURCE --format json` up to the trail's newest digest.
fn validate_json(servers: &Servers, trail: &Trail, source: &str, extra: &[&str]) -> (i32, Value) {
    let keys = trail.keys();
    let end = trailcheck_core::time::display(trail.end());
    let mut args = vec![
        "validate",
        source,
        "--keys",
        keys.to_str().expect("utf-8"),
        "--end-time",
        &end,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = run(servers, trail.dir.path(), &args);
    eprint!("{}", text(&output.stderr));
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), json)
}

fn s3_url(bucket: &str) -> String {
    format!("s3://{bucket}")
}

#[test]
fn clean_trail_from_s3_matches_the_folder_verdict_for_verdict() {
    let Some(servers) = servers("clean_trail") else {
        return;
    };
    let (trail, bucket) = uploaded(&servers, "clean", spec());
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let archive = trail.archive();
    let (local_code, local) =
        validate_json(&servers, &trail, archive.to_str().expect("utf-8"), &[]);
    let (code, remote) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--endpoint-url", &url],
    );
    assert_eq!((local_code, code), (0, 0), "{remote}");
    assert_eq!(json_verdicts(&local), json_verdicts(&remote));
    assert_eq!(
        remote["files"].as_array().map(Vec::len),
        Some(trail.manifest.files.len())
    );
    let requests = proxy.requests();
    assert!(
        requests.iter().all(|(m, _, _)| m == "GET"),
        "only reads: {requests:?}"
    );
}

#[test]
fn every_tamper_kind_gets_the_same_verdicts_from_s3_as_from_a_folder() {
    let Some(servers) = servers("every_tamper_kind") else {
        return;
    };
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    for kind in TamperKind::ALL {
        let (trail, bucket) = uploaded(&servers, &format!("{kind:?}"), tampered(kind));
        let archive = trail.archive();
        let (local_code, local) =
            validate_json(&servers, &trail, archive.to_str().expect("utf-8"), &[]);
        let (code, remote) = validate_json(
            &servers,
            &trail,
            &s3_url(&bucket),
            &["--endpoint-url", &url],
        );
        assert_eq!(json_verdicts(&local), json_verdicts(&remote), "{kind:?}");
        assert_eq!(local_code, code, "{kind:?}");
        assert_ne!(code, 0, "{kind:?} went unnoticed");
    }
}

/// Validates a clean trail through the proxy while every GET of one listed log fails with
/// `status` and `error_code`: the exit code, the report, and that log's verdict.
fn validate_with_one_log_failing(
    servers: &Servers,
    name: &str,
    status: u16,
    error_code: &str,
) -> (i32, Value, Value) {
    let (trail, bucket) = uploaded(servers, name, spec());
    let log = logs_listed_by(&trail.manifest, &trail.newest_digest().key)[0].to_owned();
    let proxy = Proxy::start(servers, 0);
    proxy.fail(serde_json::json!([
        {"path": log, "method": "GET", "status": status, "code": error_code, "times": -1}
    ]));
    let url = proxy.url();
    let (code, report) =
        validate_json(servers, &trail, &s3_url(&bucket), &["--endpoint-url", &url]);
    let verdict = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["key"] == log.as_str())
        .expect("the failing log's verdict")
        .clone();
    (code, report, verdict)
}

#[test]
fn access_denied_on_one_log_is_unverifiable_with_the_reason_and_the_run_goes_on() {
    let Some(servers) = servers("access_denied") else {
        return;
    };
    let (code, report, denied) =
        validate_with_one_log_failing(&servers, "denied", 403, "AccessDenied");
    assert_eq!(code, 3, "unverifiable only: {report}");
    assert_eq!(denied["status"], "unverifiable");
    let detail = denied["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("403") && detail.contains("AccessDenied"),
        "{detail}"
    );
    let files = report["files"].as_array().expect("files");
    let intact = files.iter().filter(|f| f["status"] == "intact").count();
    assert_eq!(intact, files.len() - 1);
}

#[test]
fn a_503_once_is_retried_and_the_file_verifies() {
    let Some(servers) = servers("503_once") else {
        return;
    };
    let (trail, bucket) = uploaded(&servers, "slowdown", spec());
    let digest = trail.newest_digest().key.clone();
    let log = logs_listed_by(&trail.manifest, &digest)[0].to_owned();
    let proxy = Proxy::start(&servers, 0);
    proxy.fail(serde_json::json!([
        {"path": log, "method": "GET", "status": 503, "code": "SlowDown", "times": 1},
        {"path": digest, "method": "GET", "status": 500, "code": "InternalError", "times": 1}
    ]));
    let url = proxy.url();
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--endpoint-url", &url],
    );
    assert_eq!(code, 0, "{report}");
    for key in [&log, &digest] {
        let tries: Vec<u64> = proxy
            .requests()
            .into_iter()
            .filter(|(m, p, _)| m == "GET" && p.ends_with(key.as_str()))
            .map(|(_, _, status)| status)
            .collect();
        assert_eq!(tries.len(), 2, "{key}: {tries:?}");
        assert!(tries[0] >= 500 && tries[1] == 200, "{key}: {tries:?}");
    }
}

#[test]
fn throttling_that_outlasts_the_retries_is_unverifiable_never_deleted() {
    let Some(servers) = servers("throttled") else {
        return;
    };
    let (code, report, throttled) =
        validate_with_one_log_failing(&servers, "throttled", 503, "SlowDown");
    assert_eq!(code, 3, "{report}");
    assert_eq!(throttled["status"], "unverifiable", "{throttled}");
    assert!(
        throttled["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("SlowDown")
    );
}

#[test]
fn a_chain_across_two_buckets_in_two_regions_is_followed() {
    let Some(servers) = servers("two_buckets") else {
        return;
    };
    let mut spec = spec();
    spec.hours = 5;
    spec.layout = Layout::PerBucket;
    let (first, second) = (bucket_name("first"), bucket_name("second"));
    spec.bucket = first.clone();
    spec.bucket_switch = Some(BucketSwitch {
        at_hour: 2,
        bucket: second.clone(),
    });
    let trail = simulate(&spec);
    let archive = trail.archive();
    upload(&servers, &archive.join(&first), Some((&first, "us-east-1")));
    upload(
        &servers,
        &archive.join(&second),
        Some((&second, "eu-west-1")),
    );
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let start = trailcheck_core::time::display(trail.manifest.start);
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&second),
        &["--endpoint-url", &url, "--start-time", &start],
    );
    assert_eq!(code, 0, "{report}");
    let files = report["files"].as_array().expect("files");
    let buckets: BTreeSet<&str> = files.iter().filter_map(|f| f["bucket"].as_str()).collect();
    assert_eq!(buckets, BTreeSet::from([first.as_str(), second.as_str()]));
    assert_eq!(files.len(), trail.manifest.files.len());
    let locations: Vec<String> = proxy
        .requests_with_query()
        .into_iter()
        .filter(|(m, _, q, _)| m == "GET" && q.trim_end_matches('=') == "location")
        .map(|(_, p, _, _)| p.trim_end_matches('/').to_owned())
        .collect();
    assert_eq!(
        BTreeSet::from_iter(locations.iter().map(String::as_str)),
        BTreeSet::from([format!("/{first}").as_str(), format!("/{second}").as_str()]),
        "GetBucketLocation once per bucket: {locations:?}"
    );
}

#[test]
fn listing_asks_only_for_the_day_folders_in_range() {
    let Some(servers) = servers("days_in_range") else {
        return;
    };
    let mut spec = spec();
    spec.hours = 24 * 4;
    spec.logs_per_hour = 1;
    let (trail, bucket) = uploaded(&servers, "days", spec);
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let from = trail.manifest.start + chrono::Duration::days(2) + chrono::Duration::hours(5);
    let start = trailcheck_core::time::display(from);
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &[
            "--endpoint-url",
            &url,
            "--start-time",
            &start,
            "--region",
            "us-east-1",
        ],
    );
    assert_eq!(code, 0, "{report}");
    let listings: Vec<String> = proxy
        .requests_with_query()
        .into_iter()
        .filter(|(m, p, q, _)| {
            m == "GET"
                && p.trim_end_matches('/') == format!("/{bucket}")
                && q.contains("list-type=2")
        })
        .map(|(_, _, q, _)| q)
        .collect();
    let day_of = |q: &str| {
        let prefix = q.split('&').find_map(|kv| kv.strip_prefix("prefix="))?;
        let prefix = prefix.replace("%2F", "/");
        let parts: Vec<&str> = prefix.trim_end_matches('/').rsplit('/').take(3).collect();
        (parts.len() == 3 && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())))
            .then(|| format!("{}/{}/{}", parts[2], parts[1], parts[0]))
    };
    let days: BTreeSet<String> = listings.iter().filter_map(|q| day_of(q)).collect();
    let first = from.format("%Y/%m/%d").to_string();
    let last = (trail.end() + chrono::Duration::hours(1))
        .format("%Y/%m/%d")
        .to_string();
    assert!(days.iter().all(|d| *d >= first && *d <= last), "{days:?}");
    assert!(days.contains(&first), "{days:?}");
    // One listing per day folder and kind, a few to find the folders, and no whole-bucket one.
    assert!(
        listings.iter().all(|q| q.contains("prefix=")),
        "{listings:?}"
    );
    assert!(
        listings.iter().any(|q| q.contains("start-after=")),
        "the first day starts after the start minute: {listings:?}"
    );
}

/// `trailcheck archive s3://BUCKET OUT` up to the trail's newest digest.
fn archive(servers: &Servers, trail: &Trail, bucket: &str, out: &Path, url: &str) -> Output {
    let end = trailcheck_core::time::display(trail.end());
    run(
        servers,
        trail.dir.path(),
        &[
            "archive",
            &s3_url(bucket),
            out.to_str().expect("utf-8"),
            "--end-time",
            &end,
            "--endpoint-url",
            url,
        ],
    )
}

/// `validate OUT --keys OUT/keys`, from a folder with no ./keys: the archive's own keys,
/// named explicitly (they are never taken by default), so the output says so.
fn validate_offline(servers: &Servers, trail: &Trail, out: &Path) -> (i32, Value) {
    let elsewhere = tempfile::tempdir().expect("dir");
    let end = trailcheck_core::time::display(trail.end());
    let keys = out.join("keys");
    let output = run(
        servers,
        elsewhere.path(),
        &[
            "validate",
            out.to_str().expect("utf-8"),
            "--keys",
            keys.to_str().expect("utf-8"),
            "--end-time",
            &end,
            "--format",
            "json",
        ],
    );
    let json = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stderr)));
    (output.status.code().unwrap_or(-1), json)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn archive_then_offline_validate_gives_the_verdicts_of_s3_including_the_newest_digest() {
    let Some(servers) = servers("archive_offline") else {
        return;
    };
    if servers.keystub.is_none() {
        eprintln!(
            "skipping archive_offline: TRAILCHECK_TEST_KEYSTUB (the ListPublicKeys stub) is not set"
        );
        return;
    }
    let mut spec = tampered(TamperKind::ModifyLog);
    spec.backfill = true;
    let (trail, bucket) = uploaded(&servers, "archive", spec);
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let out = trail.dir.path().join("evidence");
    let output = archive(&servers, &trail, &bucket, &out, &url);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("0 not copied"),
        "{}",
        text(&output.stdout)
    );
    let writes: Vec<_> = proxy
        .requests()
        .into_iter()
        .filter(|(m, _, _)| m != "GET" && m != "HEAD")
        .collect();
    assert!(
        writes.is_empty(),
        "archive never writes to the bucket: {writes:?}"
    );
    let mut key_files: Vec<_> = std::fs::read_dir(out.join("keys"))
        .expect("keys folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    key_files.sort();
    assert!(
        key_files.len() == 2
            && key_files[0].starts_with("public-keys-us-east-1-")
            && key_files[1] == key_files[0].replace(".json", ".provenance.json"),
        "a key file and its provenance record: {key_files:?}"
    );
    let provenance: Value = serde_json::from_slice(
        &std::fs::read(out.join("keys").join(&key_files[1])).expect("provenance"),
    )
    .expect("provenance JSON");
    assert_eq!(provenance["fetched_with"], "CloudTrail ListPublicKeys");
    assert_eq!(provenance["region"], "us-east-1");
    assert_eq!(
        provenance["key_file_sha256"],
        trailcheck_core::hash::Sha256::of(
            &std::fs::read(out.join("keys").join(&key_files[0])).expect("key file")
        )
        .to_hex()
    );
    assert!(provenance["caller"].is_null() && provenance["caller_unavailable"].is_string());

    // With no --keys, the archive's own keys are not taken: they are part of the evidence.
    let elsewhere = tempfile::tempdir().expect("dir");
    let output = run(
        &servers,
        elsewhere.path(),
        &["validate", out.to_str().expect("utf-8")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    assert!(
        text(&output.stderr).contains("keys verify"),
        "{}",
        text(&output.stderr)
    );

    let (code, offline) = validate_offline(&servers, &trail, &out);
    let (s3_code, online) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--endpoint-url", &url],
    );
    assert_eq!((code, s3_code), (1, 1), "{offline}");
    assert_eq!(json_verdicts(&offline), json_verdicts(&online));
    assert_eq!(offline["trust"]["keys_inside_source"], true);
    assert_eq!(online["trust"]["keys_inside_source"], false);
    assert_eq!(
        offline["trust"]["keys"][0]["provenance"]["region"],
        "us-east-1"
    );
    let newest = trail.newest_digest().key.clone();
    let newest = offline["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["key"] == newest.as_str())
        .expect("the newest digest");
    assert_eq!(newest["status"], "intact", "{newest}");
}

#[test]
fn interrupted_archive_resumes_without_copying_again_what_is_there() {
    let Some(servers) = servers("archive_resume") else {
        return;
    };
    if servers.keystub.is_none() {
        eprintln!("skipping archive_resume: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    }
    let (trail, bucket) = uploaded(&servers, "resume", spec());
    let out = trail.dir.path().join("evidence");

    // A real interruption: killed while copying through a slow link.
    let slow = Proxy::start(&servers, 40);
    let end = trailcheck_core::time::display(trail.end());
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailcheck"))
        .args(["archive", &s3_url(&bucket), out.to_str().expect("utf-8")])
        .args([
            "--end-time",
            &end,
            "--endpoint-url",
            &slow.url(),
            "--jobs",
            "2",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("archive starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut files = Vec::new();
        if out.is_dir() {
            files_under(&out, &mut files);
        }
        if files
            .iter()
            .filter(|f| f.to_string_lossy().ends_with(".json.gz"))
            .count()
            >= 4
            || Instant::now() > deadline
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(slow);

    // Then a run where three logs cannot be read: it copies the rest and says what not.
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let logs: Vec<String> = trail
        .manifest
        .files
        .iter()
        .filter(|f| f.kind == trailcheck_core::verdict::FileKind::Log)
        .rev()
        .take(3)
        .map(|f| f.key.clone())
        .collect();
    for key in &logs {
        // Whatever the killed run got to, these three are to be fetched again.
        let _ = std::fs::remove_file(out.join(&bucket).join(key));
    }
    let rules: Vec<Value> = logs
        .iter()
        .map(|k| serde_json::json!({"path": k, "method": "GET", "status": 403, "code": "AccessDenied"}))
        .collect();
    proxy.fail(Value::Array(rules));
    let output = archive(&servers, &trail, &bucket, &out, &url);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("3 not copied"),
        "{}",
        text(&output.stdout)
    );

    // Resumed: only the three are fetched; everything else is found identical.
    proxy.fail(serde_json::json!([]));
    proxy.admin("DELETE", "/__proxy/requests", "");
    let output = archive(&servers, &trail, &bucket, &out, &url);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let summary = text(&output.stdout);
    let objects = trail.manifest.files.len();
    assert!(
        summary.contains(&format!("3 objects copied, {} already there", objects - 3)),
        "{summary}"
    );
    let fetched: BTreeSet<String> = proxy
        .requests()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && p.ends_with(".json.gz"))
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(fetched.len(), 3, "{fetched:?}");
    let mut files = Vec::new();
    files_under(&out, &mut files);
    assert!(
        files
            .iter()
            .all(|f| !f.to_string_lossy().ends_with(".partial")),
        "{files:?}"
    );
    let (code, report) = validate_offline(&servers, &trail, &out);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn a_bad_s3_url_is_a_usage_error_naming_the_source() {
    let dir = tempfile::tempdir().expect("dir");
    for url in ["s3://Not_A_Bucket/x", "s3://"] {
        let output = trailcheck(dir.path(), &["validate", url, "--keys", "."]);
        assert_eq!(output.status.code(), Some(2), "{url}");
        let err = text(&output.stderr);
        assert!(
            err.contains("SOURCE") && err.contains("s3://BUCKET"),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let output = trailcheck(dir.path(), &["archive", "./folder", "out"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("archive copies from S3"));
}

/// The ListPublicKeys calls the key stub saw from `scope`: (region, start, end) in seconds.
fn key_calls(stub: &str, scope: &str) -> Vec<(String, f64, f64)> {
    let port: u16 = stub
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("stub port");
    let calls: Value = serde_json::from_str(&http(
        port,
        "GET",
        &format!("/admin/calls?scope={scope}"),
        "",
    ))
    .expect("calls are JSON");
    calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| c["action"] == "CloudTrail_20131101.ListPublicKeys")
        .map(|c| {
            let time = |name: &str| c["params"][name].as_f64().unwrap_or(f64::NAN);
            (
                c["region"].as_str().unwrap_or_default().to_owned(),
                time("StartTime"),
                time("EndTime"),
            )
        })
        .collect()
}

#[test]
fn without_keys_list_public_keys_is_asked_once_per_region_for_the_range_and_two_hours() {
    let Some(servers) = servers("online_keys") else {
        return;
    };
    let Some(stub) = servers.keystub.clone() else {
        eprintln!("skipping online_keys: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    };
    let mut spec = spec();
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let (trail, bucket) = uploaded(&servers, "online-keys", spec);
    let proxy = Proxy::start(&servers, 0);
    let scope = format!("AKIA{}", bucket_name("scope")[33..].to_uppercase());
    let end = trailcheck_core::time::display(trail.end());
    let output = run_as(
        &servers,
        trail.dir.path(),
        &[
            "validate",
            &s3_url(&bucket),
            "--end-time",
            &end,
            "--endpoint-url",
            &proxy.url(),
        ],
        &scope,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let mut calls = key_calls(&stub, &scope);
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    let regions: Vec<&str> = calls.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"], "{calls:?}");
    for (region, start, end) in &calls {
        let times: Vec<f64> = trail
            .manifest
            .files
            .iter()
            .filter(|f| f.kind == trailcheck_core::verdict::FileKind::Digest && f.region == *region)
            .map(|f| f.time.timestamp() as f64)
            .collect();
        let first = times.iter().copied().fold(f64::INFINITY, f64::min);
        let last = times.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!((*start, *end), (first - 7200.0, last + 7200.0), "{region}");
    }
    assert!(text(&output.stdout).contains("Verdict: INTACT"));
}

#[test]
fn keys_fetch_saves_keys_that_validate_offline() {
    let Some(servers) = servers("keys_fetch") else {
        return;
    };
    if servers.keystub.is_none() {
        eprintln!("skipping keys_fetch: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    }
    let trail = simulate(&spec());
    let out = trail.dir.path().join("fetched-keys");
    let output = run(
        &servers,
        trail.dir.path(),
        &[
            "keys",
            "fetch",
            "--region",
            "us-east-1,eu-west-1",
            "--start-time",
            "2026-10-31",
            "--end-time",
            "2026-11-02",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Two key files, each with its provenance record.
    assert_eq!(std::fs::read_dir(&out).expect("out").count(), 4);
    let ring = trailcheck_core::keys::KeyRing::load_dir(&out).expect("saved keys load");
    assert!(!ring.is_empty());
    let archive = trail.archive();
    let end = trailcheck_core::time::display(trail.end());
    let output = trailcheck(
        trail.dir.path(),
        &[
            "validate",
            archive.to_str().expect("utf-8"),
            "--keys",
            out.to_str().expect("utf-8"),
            "--end-time",
            &end,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

fn stub_port(stub: &str) -> u16 {
    stub.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("stub port")
}

/// Issue 9: an archive re-signed with a key of the attacker's, planted in the bucket beside
/// it, validated straight from S3 with no --keys: the keys come from CloudTrail, never from
/// the bucket, so the forged digests are unverifiable and the run is not intact.
#[test]
fn issue_9_resigned_bucket_with_a_planted_key_is_not_intact_from_s3() {
    let Some(servers) = servers("planted_s3") else {
        return;
    };
    if servers.keystub.is_none() {
        eprintln!("skipping planted_s3: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    }
    let keys = trailcheck_sim::TestKeys::embedded().expect("keys");
    let mut spec = spec();
    spec.key = keys.rogue;
    let bucket = bucket_name("planted");
    spec.bucket = bucket.clone();
    let trail = simulate(&spec);
    // The forger's public key, where an archive keeps its keys.
    trailcheck_sim::write_public_keys(&trail.manifest.public_keys, &trail.archive().join("keys"))
        .expect("planted key");
    upload(&servers, &trail.archive(), Some((&bucket, "us-east-1")));
    let proxy = Proxy::start(&servers, 0);
    let end = trailcheck_core::time::display(trail.end());
    let elsewhere = tempfile::tempdir().expect("dir");
    let output = run(
        &servers,
        elsewhere.path(),
        &[
            "validate",
            &s3_url(&bucket),
            "--endpoint-url",
            &proxy.url(),
            "--end-time",
            &end,
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&output.stderr)));
    assert_eq!(output.status.code(), Some(3), "{report}");
    let files = report["files"].as_array().expect("files");
    assert!(files.iter().all(|f| f["status"] != "intact"), "{report}");
    assert!(
        files
            .iter()
            .filter(|f| f["kind"] == "digest")
            .all(|f| f["cause"] == "unknown-key"),
        "{report}"
    );
    assert_eq!(report["trust"]["keys_inside_source"], false);
    assert!(
        report["trust"]["keys"]
            .as_array()
            .expect("trust keys")
            .iter()
            .all(|k| k["origin"] == "cloudtrail"),
        "{report}"
    );
}

/// Key files checked against the loopback CloudTrail: one holds exactly what it publishes,
/// the other the same key with another validity; then the fetched folder checks clean.
#[test]
fn keys_verify_says_key_by_key_which_match_cloudtrail() {
    let Some(servers) = servers("keys_verify") else {
        return;
    };
    let Some(stub) = servers.keystub.clone() else {
        eprintln!("skipping keys_verify: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    };
    let scope = format!("AKIA{}", bucket_name("verify")[33..].to_uppercase());
    let published = std::fs::read_to_string(repo().join("keys/test-keys.json")).expect("keys");
    http(
        stub_port(&stub),
        "PUT",
        &format!("/admin/keys?scope={scope}"),
        &published,
    );
    let document: Value = serde_json::from_str(&published).expect("key JSON");
    let list = document["PublicKeyList"].as_array().expect("keys");
    let dir = tempfile::tempdir().expect("dir");
    let saved = dir.path().join("saved");
    std::fs::create_dir(&saved).expect("saved");
    let one = |key: &Value| serde_json::json!({ "PublicKeyList": [key] }).to_string();
    std::fs::write(saved.join("a.json"), one(&list[0])).expect("a");
    let mut altered = list[1].clone();
    altered["ValidityEndTime"] = Value::from("2099-01-01T00:00:00Z");
    std::fs::write(saved.join("b.json"), one(&altered)).expect("b");
    let saved_arg = saved.to_str().expect("utf-8");
    let verify = |args: &[&str]| run_as(&servers, dir.path(), args, &scope);

    let output = verify(&["keys", "verify", saved_arg, "--region", "us-east-1"]);
    let out = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{out}{}",
        text(&output.stderr)
    );
    let line = |fingerprint: &Value| {
        out.lines()
            .find(|l| l.starts_with(fingerprint.as_str().unwrap_or("?")))
            .unwrap_or_else(|| panic!("no line for {fingerprint}: {out}"))
            .to_owned()
    };
    assert!(line(&list[0]["Fingerprint"]).contains("\tmatches"), "{out}");
    assert!(line(&list[1]["Fingerprint"]).contains("\tDIFFERS"), "{out}");

    // Without --region and without provenance records, there is nothing to ask.
    let output = verify(&["keys", "verify", saved_arg]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--region"));

    // What `keys fetch` saved verifies as it is, its region taken from its provenance.
    let fetched = dir.path().join("fetched");
    let fetched_arg = fetched.to_str().expect("utf-8");
    let output = verify(&[
        "keys",
        "fetch",
        "--region",
        "us-east-1",
        "--start-time",
        "2026-10-31",
        "--out",
        fetched_arg,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = verify(&["keys", "verify", fetched_arg]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert_eq!(text(&output.stdout).matches("\tmatches").count(), 2);
}

/// `events` over the tampered trail of issue 11, once from its folder and once from S3.
fn events_answer(servers: &Servers, trail: &Trail, source: &str) -> (i32, Value) {
    let keys = trail.keys();
    let end = trailcheck_core::time::display(trail.end());
    let args = [
        "events",
        source,
        "--keys",
        keys.to_str().expect("utf-8"),
        "--end-time",
        &end,
        "--format",
        "json",
        "--sql",
        tampered::DELETE_BUCKETS,
    ];
    let output = run(servers, trail.dir.path(), &args);
    let answer = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&output.stdout), text(&output.stderr)));
    (output.status.code().unwrap_or(-1), answer)
}

#[test]
fn events_from_s3_answer_from_proven_logs_only_as_from_a_folder() {
    let Some(servers) = servers("events") else {
        return;
    };
    let bucket = bucket_name("events");
    let mut spec = tampered::trail_spec();
    spec.bucket = bucket.clone();
    let s = tampered::scenario_of(&spec);
    upload(&servers, &s.trail.archive(), Some((&bucket, "us-east-1")));
    let archive = s.trail.archive();
    let (local_code, local) = events_answer(&servers, &s.trail, archive.to_str().expect("utf-8"));
    let (code, remote) = events_answer(&servers, &s.trail, &s3_url(&bucket));
    assert_eq!((local_code, code), (1, 1), "{remote}");
    assert_eq!(tampered::rows_of(&remote), s.expected);
    for part in ["rows", "excluded", "coverage", "outcome", "columns"] {
        assert_eq!(local[part], remote[part], "{part}");
    }
    let excluded: BTreeSet<&str> = (remote["excluded"].as_array().expect("excluded"))
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    let expected: BTreeSet<&str> = [
        s.modified.key.as_str(),
        s.deleted.key.as_str(),
        s.forged_key.as_str(),
    ]
    .into();
    assert_eq!(excluded, expected);
}

/// Rewrites objects in place (copied onto themselves), as S3 lifecycle rules or an operator
/// would: `extra` is CopyObject's arguments as JSON (StorageClass, SSE-KMS, ...).
fn rewrite_objects(servers: &Servers, bucket: &str, keys: &[&str], extra: Value) {
    let ops: Vec<Value> = keys
        .iter()
        .map(|k| serde_json::json!(["copy-with", k, extra]))
        .collect();
    s3_ops(servers, bucket, Value::Array(ops));
}

fn verdict_of<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("no verdict for {key}"))
}

#[test]
fn archived_objects_are_unverifiable_with_their_storage_class_never_deleted() {
    let Some(servers) = servers("archived") else {
        return;
    };
    let (trail, bucket) = uploaded(&servers, "archived", spec());
    let log = logs_listed_by(&trail.manifest, &trail.newest_digest().key)[0].to_owned();
    let deep = logs_listed_by(&trail.manifest, &trail.oldest_digest().key)[0].to_owned();
    rewrite_objects(
        &servers,
        &bucket,
        &[&log],
        serde_json::json!({"StorageClass": "GLACIER"}),
    );
    rewrite_objects(
        &servers,
        &bucket,
        &[&deep],
        serde_json::json!({"StorageClass": "DEEP_ARCHIVE"}),
    );
    let (code, report) = validate_json(&servers, &trail, &s3_url(&bucket), &[]);
    assert_eq!(code, 3, "unverifiable, not tampered: {report}");
    for (key, class) in [(&log, "GLACIER"), (&deep, "DEEP_ARCHIVE")] {
        let verdict = verdict_of(&report, key);
        assert_eq!(verdict["status"], "unverifiable", "{verdict}");
        assert_eq!(verdict["cause"], "archived", "{verdict}");
        let detail = verdict["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(class), "{detail}");
        assert!(detail.contains("restore"), "{detail}");
    }
    let files = report["files"].as_array().expect("files");
    let intact = files.iter().filter(|f| f["status"] == "intact").count();
    assert_eq!(
        intact,
        files.len() - 2,
        "the run goes on past archived objects"
    );

    // An archived digest: unverifiable, and so are the logs only it lists; nothing deleted.
    let digest = trail.newest_digest().key.clone();
    rewrite_objects(
        &servers,
        &bucket,
        &[&digest],
        serde_json::json!({"StorageClass": "GLACIER"}),
    );
    let (code, report) = validate_json(&servers, &trail, &s3_url(&bucket), &[]);
    assert_eq!(code, 3, "{report}");
    assert_eq!(verdict_of(&report, &digest)["cause"], "archived");
    assert!(
        report["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| f["status"] != "deleted"),
        "{report}"
    );
}

#[test]
fn a_kms_key_the_caller_may_not_use_is_named_not_a_generic_access_error() {
    let Some(servers) = servers("kms") else {
        return;
    };
    const KMS_KEY: &str =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let (trail, bucket) = uploaded(&servers, "kms", spec());
    let logs = logs_listed_by(&trail.manifest, &trail.newest_digest().key);
    let (named, headed) = (logs[0].to_owned(), logs[1].to_owned());
    rewrite_objects(
        &servers,
        &bucket,
        &[&named, &headed],
        serde_json::json!({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}),
    );
    // S3 refuses the GETs as it does when kms:Decrypt is missing: once with the key in the
    // message, once with a bare "Access Denied" (the key then comes from HeadObject).
    let proxy = Proxy::start(&servers, 0);
    let message = format!(
        "User: arn:aws:iam::111122223333:user/auditor is not authorized to perform: \
         kms:Decrypt on resource: {KMS_KEY} because no identity-based policy allows the \
         kms:Decrypt action"
    );
    proxy.fail(serde_json::json!([
        {"path": named, "method": "GET", "status": 403, "code": "AccessDenied",
         "message": message, "times": -1},
        {"path": headed, "method": "GET", "status": 403, "code": "AccessDenied",
         "message": "Access Denied", "times": -1},
    ]));
    let url = proxy.url();
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--endpoint-url", &url],
    );
    assert_eq!(code, 3, "{report}");
    for key in [&named, &headed] {
        let verdict = verdict_of(&report, key);
        assert_eq!(verdict["status"], "unverifiable", "{verdict}");
        assert_eq!(verdict["cause"], "kms-access-denied", "{verdict}");
        let detail = verdict["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(KMS_KEY), "{detail}");
    }
    // Only the two denied GETs were asked about again, and only with HEAD.
    let heads: Vec<String> = (proxy.requests().into_iter())
        .filter(|(method, _, _)| method == "HEAD")
        .map(|(_, path, _)| path)
        .collect();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(heads[0].contains(&headed), "{heads:?}");
}

/// Asks S3 (moto) to restore objects, as whoever runs the plan would.
fn restore_objects(servers: &Servers, bucket: &str, keys: &[&str]) {
    let ops: Vec<Value> = keys
        .iter()
        .map(|k| serde_json::json!(["request-restore", k]))
        .collect();
    s3_ops(servers, bucket, Value::Array(ops));
}

#[test]
fn restore_plan_lists_archived_objects_by_class_with_the_calls_that_restore_them() {
    let Some(servers) = servers("restore_plan") else {
        return;
    };
    let (trail, bucket) = uploaded(&servers, "restore-plan", spec());
    let logs = logs_listed_by(&trail.manifest, &trail.newest_digest().key);
    let (glacier, deep, restored) = (logs[0].to_owned(), logs[1].to_owned(), logs[2].to_owned());
    let digest = trail.oldest_digest().key.clone();
    let glacier_class = serde_json::json!({"StorageClass": "GLACIER"});
    rewrite_objects(
        &servers,
        &bucket,
        &[&glacier, &restored, &digest],
        glacier_class,
    );
    rewrite_objects(
        &servers,
        &bucket,
        &[&deep],
        serde_json::json!({"StorageClass": "DEEP_ARCHIVE"}),
    );
    restore_objects(&servers, &bucket, &[&restored]);
    let end = trailcheck_core::time::display(trail.end());
    let manifest = trail.dir.path().join("restore.csv");
    let source = s3_url(&bucket);
    let base = ["restore-plan", source.as_str(), "--end-time", &end];
    let mut json_args = base.to_vec();
    json_args.extend([
        "--format",
        "json",
        "--manifest",
        manifest.to_str().expect("utf-8"),
    ]);
    let output = run(&servers, trail.dir.path(), &json_args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let plan: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let objects = plan["objects"].as_array().expect("objects");
    let need = |key: &str| {
        (objects.iter())
            .find(|o| o["key"] == key)
            .map(|o| o["need"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(need(&glacier).as_deref(), Some("to restore"));
    assert_eq!(need(&deep).as_deref(), Some("to restore"));
    assert_eq!(need(&digest).as_deref(), Some("to restore"));
    assert_eq!(need(&restored).as_deref(), Some("restored"));
    assert_eq!(
        objects.len(),
        4,
        "readable objects are counted, not listed: {plan}"
    );
    let request = &objects
        .iter()
        .find(|o| o["key"] == deep.as_str())
        .expect("deep")["restore_request"];
    assert_eq!(request["Days"], 7);
    assert_eq!(request["GlacierJobParameters"]["Tier"], "Bulk");
    let classes = plan["classes"].as_array().expect("classes");
    let class = |name: &str| classes.iter().find(|c| c["storage_class"] == name).cloned();
    assert_eq!(class("GLACIER").expect("GLACIER")["objects"], 3);
    assert_eq!(class("DEEP_ARCHIVE").expect("DEEP_ARCHIVE")["objects"], 1);
    let standard = class("STANDARD").expect("STANDARD");
    assert_eq!(
        standard["objects"].as_u64(),
        Some(trail.manifest.files.len() as u64 - 4)
    );
    let manifest = std::fs::read_to_string(&manifest).expect("manifest written");
    let lines: BTreeSet<&str> = manifest.lines().collect();
    let expected: BTreeSet<String> = [&glacier, &deep, &digest]
        .iter()
        .map(|k| format!("{bucket},{k}"))
        .collect();
    assert_eq!(lines, expected.iter().map(String::as_str).collect());

    // The text plan prints one restore-object call per archived object; Expedited falls
    // back to Standard for Deep Archive, which has no Expedited tier.
    let mut text_args = base.to_vec();
    text_args.extend(["--tier", "Expedited", "--days", "3"]);
    let output = run(&servers, trail.dir.path(), &text_args);
    assert_eq!(output.status.code(), Some(0));
    let out = text(&output.stdout);
    let calls: Vec<&str> = out.lines().filter(|l| l.starts_with("aws s3api")).collect();
    assert_eq!(calls.len(), 3, "{out}");
    let deep_call = calls.iter().find(|c| c.contains(&deep)).expect("deep call");
    assert!(deep_call.contains(r#""Tier":"Standard""#), "{deep_call}");
    assert!(deep_call.contains(r#""Days":3"#), "{deep_call}");
    let glacier_call = calls
        .iter()
        .find(|c| c.contains(&glacier))
        .expect("glacier call");
    assert!(
        glacier_call.contains(r#""Tier":"Expedited""#),
        "{glacier_call}"
    );
    // Planning reads only.
    assert!(!out.contains("error"), "{out}");
}

#[test]
fn restore_plan_needs_an_s3_source() {
    let trail = simulate(&spec());
    let archive = trail.archive();
    let output = trailcheck(
        trail.dir.path(),
        &["restore-plan", archive.to_str().expect("utf-8")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("restore-plan reads S3"), "{stderr}");
}

#[test]
fn logs_of_other_kinds_get_the_same_verdicts_from_s3_as_from_a_folder() {
    let Some(servers) = servers("log_kinds") else {
        return;
    };
    let mut spec = spec();
    spec.log_kinds = ["insight", "network-activity:undigested", "aggregated"]
        .iter()
        .map(|k| k.parse().expect("a kind"))
        .collect();
    let (trail, bucket) = uploaded(&servers, "log-kinds", spec);
    let archive = trail.archive();
    let (local_code, local) =
        validate_json(&servers, &trail, archive.to_str().expect("utf-8"), &[]);
    let (code, remote) = validate_json(&servers, &trail, &s3_url(&bucket), &[]);
    assert_eq!((local_code, code), (3, 3), "{remote}");
    assert_eq!(json_verdicts(&local), json_verdicts(&remote));
    let causes: BTreeSet<(String, String)> = (remote["files"].as_array().expect("files"))
        .iter()
        .filter_map(|f| {
            let key = f["key"].as_str()?;
            let kind = key.split('/').nth(2)?.to_owned();
            Some((kind, f["cause"].as_str()?.to_owned()))
        })
        .collect();
    for expected in [
        ("CloudTrail-Insight", "verified"),
        ("CloudTrail-Aggregated", "verified"),
        ("CloudTrail-NetworkActivity", "kind-not-digested"),
    ] {
        let expected = (expected.0.to_owned(), expected.1.to_owned());
        assert!(causes.contains(&expected), "{expected:?} not in {causes:?}");
    }
    assert!(!causes.contains(&(
        "CloudTrail-NetworkActivity".to_owned(),
        "verified".to_owned()
    )));
}

/// Runs S3 operations with boto3, as whoever wrote to the bucket would: each op is
/// `["versioning", "Enabled"]`, `["copy", key]` (the object written again, same bytes),
/// `["delete", key]`, `["restore", key]` (its newest version copied back over a delete
/// marker, as one restores a deleted object; removing the marker instead leaves no trace), or
/// `["put", key, text]` (new content, gzipped), `["copy-with", key, {CopyObject arguments}]`
/// (rewritten in place: a storage class, SSE-KMS), or `["request-restore", key]`.
fn s3_ops(servers: &Servers, bucket: &str, ops: Value) {
    let script = r#"
import gzip, json, sys, boto3
endpoint, bucket, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
for op in ops:
    if op[0] == "create":
        s3.create_bucket(Bucket=bucket)
    elif op[0] == "create-locked":
        s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": op[1], "Days": op[2]}}})
    elif op[0] == "versioning":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": op[1]})
    elif op[0] == "copy":
        s3.copy_object(Bucket=bucket, Key=op[1], CopySource={"Bucket": bucket, "Key": op[1]},
                       MetadataDirective="REPLACE", Metadata={"rewritten": "1"})
    elif op[0] == "delete":
        s3.delete_object(Bucket=bucket, Key=op[1])
    elif op[0] == "restore":
        listed = s3.list_object_versions(Bucket=bucket, Prefix=op[1])
        newest = max(listed["Versions"], key=lambda v: v["LastModified"])
        s3.copy_object(Bucket=bucket, Key=op[1], MetadataDirective="COPY", CopySource={
            "Bucket": bucket, "Key": op[1], "VersionId": newest["VersionId"]})
    elif op[0] == "put":
        s3.put_object(Bucket=bucket, Key=op[1], Body=gzip.compress(op[2].encode()))
    elif op[0] == "copy-with":
        s3.copy_object(Bucket=bucket, Key=op[1], CopySource={"Bucket": bucket, "Key": op[1]},
                       MetadataDirective="COPY", **op[2])
    elif op[0] == "request-restore":
        s3.restore_object(Bucket=bucket, Key=op[1], RestoreRequest={"Days": 1})
"#;
    let output = Command::new(&servers.python)
        .args(["-c", script, &servers.s3, bucket, &ops.to_string()])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "s3 ops: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn versions_name_overwrites_deletions_and_the_delivered_version_of_each_file() {
    let Some(servers) = servers("versions") else {
        return;
    };
    let (trail, bucket) = uploaded_into(
        &servers,
        "versions",
        spec(),
        serde_json::json!([["create"], ["versioning", "Enabled"]]),
    );
    let mut logs = logs_listed_by(&trail.manifest, &trail.newest_digest().key);
    logs.extend(logs_listed_by(&trail.manifest, &trail.oldest_digest().key));
    assert!(logs.len() >= 5, "{logs:?}");
    let [copied, deleted, restored, modified] = [logs[0], logs[1], logs[2], logs[3]];
    s3_ops(
        &servers,
        &bucket,
        serde_json::json!([
            ["copy", copied],
            ["delete", deleted],
            ["delete", restored],
            ["restore", restored],
            ["put", modified, "{\"Records\":[]}"],
        ]),
    );
    // Through the proxy, which gives GetBucketVersioning's answer the root element S3 gives it.
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--versions", "--endpoint-url", &url],
    );
    assert_eq!(code, 1, "a deletion and a modification: {report}");
    let versions = |key: &str| verdict_of(&report, key)["versions"].clone();

    let copy = verdict_of(&report, copied);
    assert_eq!(copy["status"], "intact");
    assert_eq!(versions(copied)["overwrites"], 1);
    assert!(versions(copied)["restorable"].is_null());
    // Both versions hold the same bytes: the delivered one is the older, CloudTrail's.
    let copy_history = versions(copied)["history"].clone();
    assert_eq!(
        versions(copied)["delivered"],
        copy_history[1]["version_id"],
        "{copy}"
    );
    assert_ne!(copy_history[0]["version_id"], copy_history[1]["version_id"]);
    assert!(
        copy["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("overwritten once")
    );

    let gone = verdict_of(&report, deleted);
    assert_eq!(gone["status"], "deleted");
    let original = versions(deleted)["restorable"]
        .as_str()
        .expect("restorable")
        .to_owned();
    assert!(
        gone["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("restorable: version {original}")),
        "{gone}"
    );
    assert_eq!(
        versions(deleted)["history"].as_array().map(Vec::len),
        Some(2)
    );

    let back = verdict_of(&report, restored);
    assert_eq!(back["status"], "intact");
    assert!(
        back["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("and restored"),
        "{back}"
    );

    let changed = verdict_of(&report, modified);
    assert_eq!(changed["status"], "modified");
    assert!(versions(modified)["restorable"].is_string(), "{changed}");

    let methods: BTreeSet<String> = proxy.requests().into_iter().map(|(m, _, _)| m).collect();
    assert!(
        methods.iter().all(|m| m == "GET" || m == "HEAD"),
        "only reads: {methods:?}"
    );
    // A file S3 keeps once says nothing more.
    let plain = logs[4];
    assert!(verdict_of(&report, plain).get("versions").is_none());
    let buckets = report["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0]["bucket"], bucket.as_str());
    assert_eq!(buckets[0]["versioning"], "Enabled", "{buckets:?}");
    assert!(buckets[0]["object_lock"].is_null(), "{buckets:?}");

    // Without --versions, the JSON is as it always was.
    let (_, plain_report) = validate_json(&servers, &trail, &s3_url(&bucket), &[]);
    assert!(plain_report.get("buckets").is_none());
    assert!(verdict_of(&plain_report, copied).get("versions").is_none());
}

#[test]
fn versions_are_read_from_s3_only() {
    let trail = simulate(&spec());
    let output = trail.run_validate(&["--versions"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--versions") && stderr.contains("s3://"),
        "{stderr}"
    );
}

#[test]
fn versions_report_object_lock_for_the_bucket_and_each_object() {
    let Some(servers) = servers("object_lock") else {
        return;
    };
    let (trail, bucket) = uploaded_into(
        &servers,
        "object-lock",
        spec(),
        serde_json::json!([["create-locked", "COMPLIANCE", 30]]),
    );
    let proxy = Proxy::start(&servers, 0);
    let url = proxy.url();
    let (code, report) = validate_json(
        &servers,
        &trail,
        &s3_url(&bucket),
        &["--versions", "--endpoint-url", &url],
    );
    assert_eq!(code, 0, "{report}");
    let buckets = report["buckets"].as_array().expect("buckets");
    assert_eq!(buckets[0]["versioning"], "Enabled", "{buckets:?}");
    assert_eq!(
        buckets[0]["object_lock"], "COMPLIANCE 30 days",
        "{buckets:?}"
    );
    let log = logs_listed_by(&trail.manifest, &trail.newest_digest().key)[0];
    let verdict = verdict_of(&report, log);
    assert_eq!(verdict["status"], "intact");
    let lock = verdict["versions"]["object_lock"]
        .as_str()
        .unwrap_or_default();
    assert!(lock.starts_with("COMPLIANCE until 20"), "{verdict}");
    assert!(
        verdict["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("Object Lock COMPLIANCE"),
        "{verdict}"
    );
}

#[test]
fn archive_with_versions_keeps_what_s3_kept_in_the_evidence_folder() {
    let Some(servers) = servers("archive_versions") else {
        return;
    };
    if servers.keystub.is_none() {
        eprintln!(
            "skipping archive_versions: TRAILCHECK_TEST_KEYSTUB (the ListPublicKeys stub) is not set"
        );
        return;
    }
    let (trail, bucket) = uploaded_into(
        &servers,
        "archive-versions",
        spec(),
        serde_json::json!([["create"], ["versioning", "Enabled"]]),
    );
    let logs = logs_listed_by(&trail.manifest, &trail.newest_digest().key);
    let (copied, deleted) = (logs[0], logs[1]);
    s3_ops(
        &servers,
        &bucket,
        serde_json::json!([["copy", copied], ["delete", deleted]]),
    );
    let proxy = Proxy::start(&servers, 0);
    let out = trail.dir.path().join("evidence");
    let end = trailcheck_core::time::display(trail.end());
    let url = proxy.url();
    let args = [
        "archive",
        &s3_url(&bucket),
        out.to_str().expect("utf-8"),
        "--end-time",
        &end,
        "--endpoint-url",
        &url,
        "--versions",
    ];
    let output = run(&servers, trail.dir.path(), &args);
    // The deleted log cannot be copied: the archive says so (exit 0, one not found).
    assert!(
        text(&output.stdout).contains("1 not found"),
        "{} {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let record: Value =
        serde_json::from_slice(&std::fs::read(out.join("versions.json")).expect("recorded"))
            .expect("JSON");
    assert_eq!(record["buckets"][0]["versioning"], "Enabled", "{record}");
    let objects = record["objects"].as_array().expect("objects");
    let history = |key: &str| {
        (objects.iter())
            .find(|o| o["key"] == key)
            .map(|o| o["history"].as_array().map_or(0, Vec::len))
    };
    assert_eq!(history(copied), Some(2), "{record}");
    assert_eq!(
        history(deleted),
        Some(2),
        "a version and its delete marker: {record}"
    );
    assert_eq!(history(logs[2]), None, "one version: nothing to record");
    let methods: BTreeSet<String> = proxy.requests().into_iter().map(|(m, _, _)| m).collect();
    assert!(
        methods.iter().all(|m| m == "GET" || m == "HEAD"),
        "{methods:?}"
    );
}
