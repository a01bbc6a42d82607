//! Issue 9, on disk: where trust comes from. Keys are evidence, not authority: never taken
//! implicitly from inside the source, flagged in every output when named from there, and a
//! key verifies only digests of its region signed within its validity, and only if pinned.
//! Also the three verdicts the independent harness disagreed with (oldest digest deleted,
//! moved digest, a log key with a backslash).

mod common;
#[path = "common/resign.rs"]
mod resign;

use std::fs;
use std::path::Path;

use common::*;
use serde_json::Value;
use trailcheck_core::verdict::{Cause, FileKind, GapKind, Status};
use trailcheck_sim::{PUBLIC_KEYS_FILE, TamperKind, TestKeys};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A trail wholly re-signed by a forger's key (same content, the forger's signatures), the
/// forger's public key planted in `archive/keys`, and the genuine keys in `keys` beside the
/// archive (outside it).
fn resigned_with_planted_key() -> Trail {
    let genuine = simulate(&spec());
    let mut forged = spec();
    forged.key = TestKeys::embedded().expect("keys").rogue;
    let archive = genuine.archive();
    fs::remove_dir_all(&archive).expect("clear archive");
    let manifest =
        trailcheck_sim::simulate(&forged, &archive).expect("the forger's trail is written");
    trailcheck_sim::write_public_keys(&manifest.public_keys, &archive.join("keys"))
        .expect("planted key");
    Trail {
        dir: genuine.dir,
        manifest,
    }
}

fn json_of(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&output.stdout), text(&output.stderr)))
}

#[test]
fn issue_9_planted_key_inside_the_archive_is_never_taken_by_default_exit_2() {
    let trail = resigned_with_planted_key();
    let elsewhere = tempfile::tempdir().expect("dir");
    let archive = trail.archive();
    let output = trailcheck(elsewhere.path(), &["validate", archive.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
    let err = text(&output.stderr);
    assert!(
        err.contains("inside the archive") && err.contains("keys verify"),
        "{err}"
    );
    // Run from inside the archive, its ./keys is inside the source too: still refused.
    let output = trailcheck(&archive, &["validate", "."]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
}

#[test]
fn issue_9_planted_key_with_genuine_keys_in_dot_keys_is_unverifiable_not_intact() {
    let trail = resigned_with_planted_key();
    let archive = trail.archive();
    // trail.dir holds ./keys, the genuine keys, outside the archive: the offline default.
    let end = trailcheck_core::time::display(trail.end());
    let output = trailcheck(
        trail.dir.path(),
        &[
            "validate",
            archive.to_str().unwrap(),
            "--end-time",
            &end,
            "--format",
            "json",
        ],
    );
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    let files = report["files"].as_array().expect("files");
    assert!(files.iter().all(|f| f["status"] != "intact"), "{report}");
    assert!(
        files
            .iter()
            .filter(|f| f["kind"] == "digest")
            .all(|f| f["cause"] == "unknown-key")
    );
    assert_eq!(report["trust"]["keys_inside_source"], false);
}

#[test]
fn issue_9_keys_named_from_inside_the_source_are_flagged_in_text_json_and_report() {
    let trail = resigned_with_planted_key();
    let archive = trail.archive();
    let planted = archive.join("keys");
    let end = trailcheck_core::time::display(trail.end());
    let html = trail.dir.path().join("report.html");
    let base = [
        "validate",
        archive.to_str().unwrap(),
        "--keys",
        planted.to_str().unwrap(),
        "--end-time",
        &end,
    ];
    let output = trailcheck(trail.dir.path(), &base);
    // Named explicitly, the forger's key verifies its own digests: the run goes ahead...
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // ...and says, on every output, that the evidence vouched for itself.
    let out = text(&output.stdout);
    assert!(
        out.contains("TRUST: the public keys were taken from the evidence itself")
            && out.contains("keys verify"),
        "{out}"
    );
    let quiet = trailcheck(trail.dir.path(), &[&base[..], &["--quiet"]].concat());
    assert!(text(&quiet.stderr).contains("TRUST:"));
    let json = json_of(&trailcheck(
        trail.dir.path(),
        &[&base[..], &["--format", "json"]].concat(),
    ));
    assert_eq!(json["trust"]["keys_inside_source"], true);
    let key = &json["trust"]["keys"][0];
    assert_eq!(key["inside_source"], true);
    assert_eq!(key["origin"], "file");
    assert!(
        key["location"]
            .as_str()
            .unwrap()
            .ends_with(PUBLIC_KEYS_FILE)
    );
    assert!(key["provenance"].is_null());
    let output = trailcheck(
        trail.dir.path(),
        &[&base[..], &["--report", html.to_str().unwrap()]].concat(),
    );
    assert_eq!(output.status.code(), Some(0));
    let page = fs::read_to_string(&html).expect("report");
    assert!(
        page.contains(
            "The keys were taken from the evidence itself; confirm their fingerprints independently"
        ),
        "the report's What was checked section says so"
    );
}

/// Rewrites every key's validity in the trail's key file.
fn set_validity(trail: &Trail, from: &str, to: &str) {
    let path = trail.keys().join(PUBLIC_KEYS_FILE);
    let mut keys: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for key in keys["PublicKeyList"].as_array_mut().unwrap() {
        key["ValidityStartTime"] = Value::from(from);
        key["ValidityEndTime"] = Value::from(to);
    }
    fs::write(&path, keys.to_string()).unwrap();
}

#[test]
fn digest_signed_outside_its_key_validity_is_unverifiable_key_not_valid_then() {
    let trail = simulate(&spec());
    set_validity(&trail, "2001-01-01T00:00:00Z", "2002-01-01T00:00:00Z");
    let report = trail.validate();
    let digests: Vec<_> = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .collect();
    assert!(!digests.is_empty());
    for digest in digests {
        assert_eq!(digest.status, Status::Unverifiable, "{}", digest.key);
        assert!(
            matches!(digest.cause, Cause::KeyNotValidThen { .. }),
            "{}",
            digest.cause
        );
    }
    assert_eq!(count(&report, FileKind::Log, Status::Intact), 0);
}

#[test]
fn validity_ending_within_the_margin_before_the_digests_still_verifies() {
    let trail = simulate(&spec());
    // The newest digest ends an hour after the key's validity: inside the 2 h margin.
    let to = trail.end() - chrono::Duration::hours(1);
    set_validity(
        &trail,
        "2020-01-01T00:00:00Z",
        &trailcheck_core::time::display(to),
    );
    assert_only(&trail.validate(), &[]);
}

#[test]
fn key_of_another_region_by_its_provenance_is_unverifiable_key_other_region() {
    let trail = simulate(&spec());
    let key_file = trail.keys().join(PUBLIC_KEYS_FILE);
    let bytes = fs::read(&key_file).unwrap();
    let record = serde_json::json!({
        "fetched_with": "CloudTrail ListPublicKeys",
        "region": "eu-west-1",
        "requested_start": "2026-10-01T00:00:00Z",
        "requested_end": "2026-12-01T00:00:00Z",
        "fetched_at": "2026-12-01T00:00:00Z",
        "caller": null,
        "caller_unavailable": "not asked",
        "tool": "test",
        "key_file": PUBLIC_KEYS_FILE,
        "key_file_sha256": trailcheck_core::hash::Sha256::of(&bytes).to_hex(),
        "fingerprints": [],
    });
    let provenance = trailcheck_core::keys::provenance_path(&key_file);
    fs::write(&provenance, record.to_string()).unwrap();
    let report = trail.validate();
    let digest = find(&report, &trail.newest_digest().key);
    assert!(
        matches!(&digest.cause, Cause::KeyOtherRegion { key_region, digest_region, .. }
            if key_region == "eu-west-1" && digest_region == "us-east-1"),
        "{}",
        digest.cause
    );
    assert_eq!(digest.status, Status::Unverifiable);
    assert_eq!(report.trust.keys[0].region.as_deref(), Some("eu-west-1"));

    // A key file changed after its record was written stops the run (exit 2).
    fs::write(&key_file, [&bytes[..], b" "].concat()).unwrap();
    let output = trail.run_validate(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("provenance record"));
}

#[test]
fn pinning_rejects_an_unpinned_key_as_untrusted_and_accepts_a_pinned_one() {
    let trail = simulate(&spec());
    let keys = TestKeys::embedded().unwrap();
    let pins = trail.dir.path().join("pins.txt");
    fs::write(&pins, format!("# only key-b\n{}\n", keys.b.fingerprint())).unwrap();
    let output = trail.run_validate(&[
        "--trusted-fingerprints",
        pins.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report = json_of(&output);
    assert_eq!(output.status.code(), Some(3), "{report}");
    let digests: Vec<&Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "digest")
        .collect();
    assert!(digests.iter().all(|d| d["status"] == "unverifiable"));
    assert!(digests.iter().all(|d| d["cause"] == "untrusted-key"));
    assert_eq!(
        report["trust"]["pinned"],
        serde_json::json!([keys.b.fingerprint()])
    );

    // A trailcheck JSON result whose keys verified the trail pins those keys.
    let result = trail.dir.path().join("result.json");
    let good = trail.run_validate(&["--format", "json"]);
    fs::write(&result, &good.stdout).unwrap();
    let output = trail.run_validate(&["--trusted-fingerprints", result.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));

    // Garbage is a usage error naming the option.
    fs::write(&pins, "not-a-fingerprint\n").unwrap();
    let output = trail.run_validate(&["--trusted-fingerprints", pins.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--trusted-fingerprints"));
}

/// Issue 9, verdict 1: the oldest digest deleted, its logs left, no --start-time.
#[test]
fn issue_9_oldest_digest_deleted_with_its_logs_present_is_deleted_with_a_chain_break() {
    let trail = simulate(&spec());
    let oldest = trail.oldest_digest().clone();
    fs::remove_file(trail.path(&oldest.bucket, &oldest.key)).unwrap();
    let orphans = logs_listed_by(&trail.manifest, &oldest.key);
    assert!(!orphans.is_empty());
    let mut expected: Vec<_> = orphans
        .iter()
        .map(|key| (*key, Status::Unverifiable, Cause::DigestMissing))
        .collect();
    expected.push((&oldest.key, Status::Deleted, Cause::NotFound));
    let report = trail.validate();
    assert_only(&report, &expected);
    let breaks: Vec<_> = report
        .gaps
        .iter()
        .filter(|g| g.kind == GapKind::ChainBreak)
        .collect();
    assert_eq!(breaks.len(), 1, "{:?}", report.gaps);
    assert_eq!(breaks[0].missing_digests, Some(1));
    assert_eq!(trail.run_validate(&[]).status.code(), Some(1));
}

/// Issue 9, verdict 1, a partial copy: the predecessor and its logs are both absent, so the
/// copy may simply begin here; today's verdict stays, and `gaps` says the start is open.
#[test]
fn issue_9_copy_starting_after_the_chain_began_has_an_open_start_naming_the_predecessor() {
    let trail = simulate(&spec());
    let oldest = trail.oldest_digest().clone();
    fs::remove_file(trail.path(&oldest.bucket, &oldest.key)).unwrap();
    for log in logs_listed_by(&trail.manifest, &oldest.key) {
        fs::remove_file(trail.path(&oldest.bucket, log)).unwrap();
    }
    let report = trail.validate();
    assert_only(&report, &[]);
    let open: Vec<_> = report
        .gaps
        .iter()
        .filter(|g| g.kind == GapKind::OpenStart)
        .collect();
    assert_eq!(open.len(), 1, "{:?}", report.gaps);
    assert_eq!(
        open[0].previous,
        Some((oldest.bucket.clone(), oldest.key.clone()))
    );
    let output = trail.run_validate(&["--format", "json"]);
    let json = json_of(&output);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(json["summary"]["open_starts"], 1);
    let gap = &json["gaps"][0];
    assert_eq!(gap["kind"], "open-start");
    assert!(gap["previous"].as_str().unwrap().ends_with(&oldest.key));
}

/// Issue 9, verdict 2: a moved digest is listed at its copy (moved) and at its original key
/// (deleted, cause moved, naming where it was found).
#[test]
fn issue_9_moved_digest_is_also_listed_deleted_at_its_original_key() {
    let trail = simulate(&tampered(TamperKind::MoveDigest));
    let report = trail.validate();
    let copy = report
        .files
        .iter()
        .find(|f| f.status == Status::Moved)
        .expect("the copy is moved");
    let Cause::MovedFrom { bucket, key } = &copy.cause else {
        panic!("{}", copy.cause)
    };
    let original = find(&report, key);
    assert_eq!(original.status, Status::Deleted);
    assert_eq!(original.cause.code(), "moved");
    assert_eq!(&original.bucket, bucket);
    assert!(original.cause.to_string().contains(&copy.key));
}

/// Issue 9, verdict 3: a backslash in a log key is an ordinary character on a local folder.
#[test]
fn issue_9_log_key_with_a_backslash_verifies_on_a_local_folder() {
    let trail = simulate(&spec());
    let newest = trail.newest_digest().clone();
    let digest_path = trail.path(&newest.bucket, &newest.key);
    let content = resign::read_digest(&digest_path);
    let old_key = content["logFiles"][0]["s3Object"]
        .as_str()
        .expect("a listed log")
        .to_owned();
    let new_key = old_key.replace(".json.gz", "_tab\tquote\"back\\slash.json.gz");
    fs::rename(
        trail.path(&newest.bucket, &old_key),
        trail.path(&newest.bucket, &new_key),
    )
    .unwrap();
    resign::edit_and_sign(&digest_path, |d| {
        d["logFiles"][0]["s3Object"] = Value::from(new_key.clone());
    });
    let report = trail.validate();
    let log = find(&report, &new_key);
    assert_eq!((log.status, &log.cause), (Status::Intact, &Cause::Verified));
    assert_only(&report, &[]);
    // Still refused: what could leave the root.
    assert!(trailcheck_core::store::local::safe_relative("a/../../etc/passwd").is_none());
    assert!(trailcheck_core::store::local::safe_relative("/etc/passwd").is_none());
    assert!(Path::new(&new_key).components().count() > 1);
}
