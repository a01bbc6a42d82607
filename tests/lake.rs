//! `trailcheck verify-query-results` on simulated CloudTrail Lake query results: every status,
//! every tampering, hostile sign files, paths out of the folder, the statement of what the
//! signature does not cover, and the same verdicts from S3 (moto) as from a folder.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::trailcheck;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;
use tempfile::TempDir;
use trailcheck_sim::{LakeQuery, LakeSpec, LakeTamper, TestKeys};

struct Lake {
    dir: TempDir,
    query: LakeQuery,
}

impl Lake {
    fn folder(&self) -> &Path {
        &self.query.folder
    }

    fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    fn sign_path(&self) -> PathBuf {
        self.folder().join("result_sign.json")
    }

    /// Runs `verify-query-results FOLDER --keys KEYS` with `extra` arguments.
    fn run(&self, extra: &[&str]) -> Output {
        let folder = self.folder().to_str().expect("utf-8").to_owned();
        let keys = self.keys().to_str().expect("utf-8").to_owned();
        let mut args = vec!["verify-query-results", &folder, "--keys", &keys];
        args.extend_from_slice(extra);
        trailcheck(self.dir.path(), &args)
    }

    /// The JSON verdict and the exit code.
    fn json(&self) -> (i32, Value) {
        let output = self.run(&["--format", "json"]);
        let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
        });
        (output.status.code().unwrap_or(-1), json)
    }

    /// Edits the sign file's JSON (not its signature) in place.
    fn edit_sign_file(&self, edit: impl FnOnce(&mut Value)) {
        let mut sign: Value =
            serde_json::from_slice(&fs::read(self.sign_path()).expect("read")).expect("json");
        edit(&mut sign);
        fs::write(self.sign_path(), serde_json::to_vec(&sign).expect("encode")).expect("write");
    }
}

fn lake_spec(tampers: &[LakeTamper]) -> LakeSpec {
    let keys = TestKeys::embedded().expect("test keys");
    let mut spec = LakeSpec::new(keys.a);
    spec.rogue_key = Some(keys.rogue);
    spec.tampers = tampers.to_vec();
    spec
}

fn simulate(tampers: &[LakeTamper]) -> Lake {
    simulate_spec(&lake_spec(tampers))
}

fn simulate_spec(spec: &LakeSpec) -> Lake {
    let dir = tempfile::tempdir().expect("temp dir");
    let query = trailcheck_sim::simulate_lake(spec, &dir.path().join("out")).expect("simulate");
    trailcheck_sim::write_lake_keys(spec, &dir.path().join("keys")).expect("keys");
    Lake { dir, query }
}

/// (kind, file name, status, cause) of every file of a JSON verdict.
fn verdicts(json: &Value) -> Vec<(String, String, String, String)> {
    json["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            let field = |n: &str| f[n].as_str().unwrap_or_default().to_owned();
            let key = field("key");
            let name = key.rsplit('/').next().unwrap_or_default().to_owned();
            (field("kind"), name, field("status"), field("cause"))
        })
        .collect()
}

fn row(kind: &str, name: &str, status: &str, cause: &str) -> (String, String, String, String) {
    (kind.into(), name.into(), status.into(), cause.into())
}

fn results(status: &str, cause: &str) -> Vec<(String, String, String, String)> {
    (1..=3)
        .map(|n| row("query-result", &format!("result_{n}.csv.gz"), status, cause))
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn intact_query_results_verify_offline_and_exit_0() {
    let lake = simulate(&[]);
    let output = lake.run(&["--verbose"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("Sign file\t"), "{text}");
    assert!(text.contains("result_1.csv.gz\tvalid"), "{text}");
    assert!(text.contains("3/3 query result files valid"), "{text}");
    assert!(text.trim_end().ends_with("Verdict: INTACT"), "{text}");
}

#[test]
fn text_and_json_state_what_the_signature_does_not_cover() {
    let lake = simulate(&[]);
    let text = stdout(&lake.run(&[]));
    assert!(text.contains("Not covered by the signature"), "{text}");
    for word in [
        "fileName",
        "region",
        "queryCompleteTime",
        "bucket and folder",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
    let (code, json) = lake.json();
    assert_eq!(code, 0);
    let fields: Vec<&str> = json["not_covered"]
        .as_array()
        .expect("not_covered")
        .iter()
        .filter_map(|u| u["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["file-names", "region", "query-complete-time", "location"]
    );
    assert_eq!(json["version"], 1);
    assert_eq!(json["outcome"], "intact");
    assert_eq!(json["query"]["region"], "us-east-1");
    assert_eq!(
        json["query"]["public_key_fingerprint"],
        lake.query.fingerprint
    );
    let mut expected = vec![row("sign-file", "result_sign.json", "intact", "verified")];
    expected.extend(results("intact", "verified"));
    assert_eq!(verdicts(&json), expected);
    assert_eq!(json["files"][0]["account"], "111122223333");
}

#[test]
fn a_modified_result_file_is_modified_with_a_hash_mismatch_and_exit_1() {
    let lake = simulate(&[LakeTamper::ModifyResult]);
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    let v = verdicts(&json);
    assert_eq!(
        v[0],
        row("sign-file", "result_sign.json", "intact", "verified")
    );
    assert_eq!(
        v[1],
        row(
            "query-result",
            "result_1.csv.gz",
            "modified",
            "hash-mismatch"
        )
    );
    assert_eq!(v[2].2, "intact");
    assert_ne!(
        json["files"][1]["expected_sha256"],
        json["files"][1]["actual_sha256"]
    );
    let output = lake.run(&[]);
    assert!(stderr(&output).contains("result_1.csv.gz\tINVALID: hash value doesn't match"));
    assert!(stdout(&output).contains("Verdict: TAMPERED"));
}

#[test]
fn a_deleted_result_file_is_deleted_and_exit_1() {
    let lake = simulate(&[LakeTamper::DeleteResult]);
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&json)[3],
        row("query-result", "result_3.csv.gz", "deleted", "not-found")
    );
}

#[test]
fn an_unlisted_result_file_is_unreferenced_and_exit_1() {
    let lake = simulate(&[LakeTamper::AddUnlisted]);
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&json)[4],
        row(
            "query-result",
            "result_4.csv.gz",
            "unreferenced",
            "not-in-sign-file"
        )
    );
}

#[test]
fn other_files_in_the_folder_are_not_judged() {
    let lake = simulate(&[]);
    fs::write(lake.folder().join("notes.txt"), "case 42").expect("write");
    assert_eq!(lake.json().0, 0);
}

#[test]
fn a_bad_signature_makes_the_sign_file_modified_and_nothing_it_lists_intact() {
    let lake = simulate(&[LakeTamper::BadSignature, LakeTamper::AddUnlisted]);
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    let v = verdicts(&json);
    assert_eq!(
        v[0],
        row("sign-file", "result_sign.json", "modified", "bad-signature")
    );
    for file in &v[1..] {
        assert_eq!(
            (file.2.as_str(), file.3.as_str()),
            ("unverifiable", "sign-file-not-verified")
        );
    }
    assert_eq!(v.len(), 5);
}

#[test]
fn a_changed_hash_in_the_sign_file_breaks_the_signature() {
    let lake = simulate(&[]);
    lake.edit_sign_file(|sign| sign["files"][0]["fileHashValue"] = Value::from("0".repeat(64)));
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    assert_eq!(verdicts(&json)[0].3, "bad-signature");
}

#[test]
fn an_unknown_key_is_unverifiable_and_exit_3() {
    let lake = simulate(&[LakeTamper::UnknownKey]);
    let (code, json) = lake.json();
    assert_eq!(code, 3);
    let v = verdicts(&json);
    assert_eq!(
        v[0],
        row(
            "sign-file",
            "result_sign.json",
            "unverifiable",
            "unknown-key"
        )
    );
    assert!(v[1..].iter().all(|f| f.2 == "unverifiable"));
    assert_eq!(json["outcome"], "incomplete");
}

#[test]
fn an_unsupported_algorithm_is_unverifiable() {
    for field in ["signatureAlgorithm", "hashAlgorithm"] {
        let lake = simulate(&[]);
        lake.edit_sign_file(|sign| sign[field] = Value::from("MD5withRSA"));
        let (code, json) = lake.json();
        assert_eq!(code, 3, "{field}");
        assert_eq!(verdicts(&json)[0].3, "unsupported-algorithm", "{field}");
    }
}

#[test]
fn a_key_not_valid_around_the_query_time_is_unverifiable() {
    let spec = lake_spec(&[]);
    let lake = simulate_spec(&spec);
    let mut keys = spec.public_keys();
    keys[0].valid_to = spec.complete_time - chrono::Duration::days(1);
    trailcheck_sim::write_public_keys(&keys, &lake.keys()).expect("keys");
    let (code, json) = lake.json();
    assert_eq!(code, 3);
    assert_eq!(verdicts(&json)[0].3, "key-not-valid-for-query");
}

#[test]
fn a_missing_sign_file_is_deleted_and_the_results_unverifiable() {
    let lake = simulate(&[]);
    fs::remove_file(lake.sign_path()).expect("remove");
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    let mut expected = vec![row("sign-file", "result_sign.json", "deleted", "not-found")];
    expected.extend(results("unverifiable", "sign-file-not-verified"));
    assert_eq!(verdicts(&json), expected);
}

#[test]
fn a_sign_file_that_is_not_json_is_modified_and_the_results_unverifiable() {
    let lake = simulate(&[]);
    fs::write(lake.sign_path(), b"\x1f\x8b not json").expect("write");
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    let mut expected = vec![row(
        "sign-file",
        "result_sign.json",
        "modified",
        "invalid-format",
    )];
    expected.extend(results("unverifiable", "sign-file-not-verified"));
    assert_eq!(verdicts(&json), expected);
}

#[test]
fn a_sign_file_missing_a_field_is_invalid_format() {
    let lake = simulate(&[]);
    lake.edit_sign_file(|sign| {
        sign.as_object_mut()
            .expect("object")
            .remove("publicKeyFingerprint");
    });
    let (_, json) = lake.json();
    assert_eq!(verdicts(&json)[0].3, "invalid-format");
    assert!(
        json["files"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("publicKeyFingerprint"))
    );
}

#[test]
fn a_huge_sign_file_is_refused_as_unverifiable() {
    let lake = simulate(&[]);
    let huge = vec![b' '; 17 * 1024 * 1024];
    fs::write(lake.sign_path(), huge).expect("write");
    let (code, json) = lake.json();
    assert_eq!(code, 3);
    assert_eq!(
        verdicts(&json)[0],
        row(
            "sign-file",
            "result_sign.json",
            "unverifiable",
            "unreadable"
        )
    );
}

#[test]
fn a_sign_file_naming_a_path_out_of_the_folder_is_invalid_format_and_nothing_is_read_there() {
    let lake = simulate(&[]);
    let outside = lake.dir.path().join("secret.csv.gz");
    fs::write(&outside, b"not theirs").expect("write");
    lake.edit_sign_file(|sign| {
        sign["files"][0]["fileName"] = Value::from("../../../../../../../../secret.csv.gz");
    });
    let (code, json) = lake.json();
    assert_eq!(code, 1);
    let v = verdicts(&json);
    assert_eq!(v[0].3, "invalid-format");
    assert!(v[1..].iter().all(|f| f.2 == "unverifiable"));
    assert!(
        json["files"]
            .as_array()
            .expect("files")
            .iter()
            .all(|f| { !f["key"].as_str().unwrap_or_default().contains("secret") })
    );
}

#[cfg(unix)]
#[test]
fn a_result_file_symlinked_out_of_the_folder_is_unverifiable_not_read() {
    let lake = simulate(&[]);
    let outside = lake.dir.path().join("elsewhere.csv.gz");
    let listed = lake.folder().join("result_1.csv.gz");
    fs::rename(&listed, &outside).expect("move");
    std::os::unix::fs::symlink(&outside, &listed).expect("symlink");
    let (code, json) = lake.json();
    assert_eq!(code, 3);
    assert_eq!(
        verdicts(&json)[1],
        row(
            "query-result",
            "result_1.csv.gz",
            "unverifiable",
            "inaccessible"
        )
    );
}

#[test]
fn renamed_result_files_still_verify_because_names_are_not_signed() {
    let lake = simulate(&[]);
    let (one, two) = (
        lake.folder().join("result_1.csv.gz"),
        lake.folder().join("result_2.csv.gz"),
    );
    let swap = lake.folder().join("swap");
    fs::rename(&one, &swap).expect("rename");
    fs::rename(&two, &one).expect("rename");
    fs::rename(&swap, &two).expect("rename");
    lake.edit_sign_file(|sign| {
        sign["files"][0]["fileName"] = Value::from("result_2.csv.gz");
        sign["files"][1]["fileName"] = Value::from("result_1.csv.gz");
    });
    // This is why the output says file names are not covered.
    assert_eq!(lake.json().0, 0);
}

#[test]
fn a_folder_without_query_results_is_a_usage_error_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = simulate(&[]);
    let output = trailcheck(
        dir.path(),
        &[
            "verify-query-results",
            dir.path().to_str().expect("utf-8"),
            "--keys",
            keys.keys().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no result_sign.json"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_local_folder_without_keys_is_a_usage_error_and_keys_inside_it_are_not_used() {
    let lake = simulate(&[]);
    trailcheck_sim::write_lake_keys(&lake_spec(&[]), &lake.folder().join("keys")).expect("keys");
    let output = trailcheck(
        lake.dir.path(),
        &[
            "verify-query-results",
            lake.folder().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--keys"), "{}", stderr(&output));
}

#[test]
fn quiet_prints_only_the_verdict_and_junit_shows_a_failure() {
    let lake = simulate(&[LakeTamper::ModifyResult]);
    let quiet = lake.run(&["--quiet"]);
    assert_eq!(stdout(&quiet).trim(), "Verdict: TAMPERED (1 modified)");
    let junit = stdout(&lake.run(&["--format", "junit"]));
    assert!(
        junit.contains("<failure message=\"modified\" type=\"hash-mismatch\""),
        "{junit}"
    );
    assert!(junit.contains("Not covered by the signature"), "{junit}");
}

/// An independent check of the simulator: the signature verifies with ring over the hashes
/// joined by spaces, each hash being the SHA-256 of the stored gzip bytes, without any of
/// trailcheck's verifier code.
#[test]
fn the_simulated_signature_verifies_with_ring_directly() {
    let lake = simulate(&[]);
    let sign: Value =
        serde_json::from_slice(&fs::read(lake.sign_path()).expect("read")).expect("json");
    let mut hashes = Vec::new();
    for file in sign["files"].as_array().expect("files") {
        let name = file["fileName"].as_str().expect("name");
        let bytes = fs::read(lake.folder().join(name)).expect("result file");
        let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
        let hex_hash = hex::encode(digest.as_ref());
        assert_eq!(file["fileHashValue"], hex_hash.as_str());
        hashes.push(hex_hash);
    }
    let message = hashes.join(" ");
    let keys = TestKeys::embedded().expect("test keys");
    let signature = hex::decode(sign["hashSignature"].as_str().expect("sig")).expect("hex");
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, keys.a.public_key_der())
        .verify(message.as_bytes(), &signature)
        .expect("the signature verifies");
    assert_eq!(sign["publicKeyFingerprint"], keys.a.fingerprint());
    assert!(
        lake.query
            .folder_key
            .starts_with("AWSLogs/111122223333/CloudTrail-Lake/Query/")
    );
}

// ------------------------------------------------------------------ S3 (moto)

fn s3_endpoint(test: &str) -> Option<String> {
    let s3 = std::env::var("TRAILCHECK_TEST_S3")
        .ok()
        .filter(|s| !s.is_empty());
    if s3.is_none() {
        eprintln!("skipping {test}: TRAILCHECK_TEST_S3 is not set (scripts/test sets it)");
    }
    s3
}

fn upload(endpoint: &str, dir: &Path, bucket: &str) {
    let python = std::env::var("TRAILCHECK_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/awscli/upload.py"))
        .arg(dir)
        .args([
            "--endpoint",
            endpoint,
            "--bucket",
            bucket,
            "--bucket-region",
            "us-east-1",
        ])
        .output()
        .expect("upload.py runs");
    assert!(output.status.success(), "upload.py: {}", stderr(&output));
}

/// Runs the binary against loopback servers only, as `access_key`.
fn run_s3(endpoint: &str, dir: &Path, args: &[&str], access_key: &str) -> Output {
    let stub = std::env::var("TRAILCHECK_TEST_KEYSTUB").ok();
    common::run_on_loopback(endpoint, stub.as_deref(), dir, args, access_key)
}

fn bucket(test: &str) -> String {
    format!("lake-{test}-{}", std::process::id())
}

#[test]
fn query_results_in_s3_get_the_verdicts_of_the_same_folder_on_disk() {
    let Some(endpoint) = s3_endpoint("lake_s3") else {
        return;
    };
    for (name, tampers) in [
        ("clean", vec![]),
        (
            "tampered",
            vec![LakeTamper::ModifyResult, LakeTamper::AddUnlisted],
        ),
        ("deleted", vec![LakeTamper::DeleteResult]),
        ("badsig", vec![LakeTamper::BadSignature]),
    ] {
        let lake = simulate(&tampers);
        let bucket = bucket(name);
        upload(&endpoint, &lake.dir.path().join("out"), &bucket);
        let url = format!("s3://{bucket}/{}", lake.query.folder_key);
        let keys = lake.keys();
        let output = run_s3(
            &endpoint,
            lake.dir.path(),
            &[
                "verify-query-results",
                &url,
                "--keys",
                keys.to_str().expect("utf-8"),
                "--format",
                "json",
            ],
            "testing",
        );
        let s3: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", stderr(&output)));
        let (code, local) = lake.json();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{name}: {}",
            stderr(&output)
        );
        assert_eq!(verdicts(&s3), verdicts(&local), "{name}");
        assert_eq!(s3["query"]["bucket"], bucket.as_str(), "{name}");
        assert_eq!(s3["files"][1]["bucket"], bucket.as_str(), "{name}");
    }
}

#[test]
fn query_results_in_s3_without_keys_ask_list_public_keys_in_the_sign_files_region() {
    let Some(endpoint) = s3_endpoint("lake_s3_online") else {
        return;
    };
    if std::env::var("TRAILCHECK_TEST_KEYSTUB").is_err() {
        eprintln!("skipping lake_s3_online: TRAILCHECK_TEST_KEYSTUB is not set");
        return;
    }
    let lake = simulate(&[]);
    let bucket = bucket("online");
    upload(&endpoint, &lake.dir.path().join("out"), &bucket);
    let url = format!("s3://{bucket}/{}", lake.query.folder_key);
    let output = run_s3(
        &endpoint,
        lake.dir.path(),
        &["verify-query-results", &url],
        "testing",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("Verdict: INTACT"));
}
