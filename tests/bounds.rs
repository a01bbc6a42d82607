//! The bounds on attacker-sized input, each checked end to end: a digest that inflates past
//! 64 MiB, digests and key files nested a million deep, a digest listing more than
//! `MAX_LOG_ENTRIES` logs, and key files whose RSA keys are too small or too large.

mod common;
#[path = "common/resign.rs"]
mod resign;

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use md5::{Digest as _, Md5};

use common::*;
use trailcheck_core::digest::{MAX_DIGEST_BYTES, MAX_LOG_ENTRIES};
use trailcheck_core::engine::{self, Settings};
use trailcheck_core::keys::KeyRing;
use trailcheck_core::verdict::{Cause, DEFAULT_FAIL_ON, Outcome, Report, Status};

/// Replaces the newest digest's bytes (its signature sidecar stays) and validates.
fn validate_with_newest_digest(bytes: &[u8]) -> (String, Report) {
    let trail = simulate(&spec());
    let digest = trail.newest_digest().clone();
    fs::write(trail.path(&digest.bucket, &digest.key), bytes).expect("write digest");
    (digest.key, validate_mirror(&trail, &digest.bucket))
}

/// Validates with the mirrored bucket named, so the store does not parse digests to detect
/// the layout: a huge digest is then parsed once, by the engine.
fn validate_mirror(trail: &Trail, bucket: &str) -> Report {
    let keys = KeyRing::load_dir(&trail.keys()).expect("keys load");
    let store =
        trailcheck_core::engine::open_local(&trail.archive(), Some(bucket)).expect("archive opens");
    let settings = Settings {
        start: None,
        end: trail.end(),
        trail: None,
        jobs: 2,
        shard: None,
        checkpoint: None,
        window: None,
    };
    engine::validate(&store, &keys, &settings).expect("validation runs")
}

fn assert_invalid_format(report: &Report, key: &str, says: &str) {
    let verdict = find(report, key);
    assert_eq!(verdict.status, Status::Modified, "{}", verdict.cause);
    match &verdict.cause {
        Cause::InvalidFormat(why) => assert!(why.contains(says), "{why}"),
        other => panic!("expected invalid-format, got {other:?}"),
    }
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Tampered);
}

/// A gzip member of `size` zero bytes, built in chunks so the test never holds it inflated.
fn gzip_bomb(size: u64) -> Vec<u8> {
    let chunk = vec![0u8; 1 << 20];
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        encoder.write_all(&chunk[..n]).expect("gzip to memory");
        left -= n as u64;
    }
    encoder.finish().expect("gzip to memory")
}

#[test]
fn digest_inflating_past_64_mib_is_modified_and_not_read_on() {
    let bomb = gzip_bomb(MAX_DIGEST_BYTES + 1);
    assert!(bomb.len() < 128 * 1024, "a bomb: {} bytes", bomb.len());
    let (key, report) = validate_with_newest_digest(&bomb);
    assert_invalid_format(&report, &key, "inflates to more than 67108864 bytes");
}

/// `[[[...]]]` a million deep, written by hand: a `serde_json::Value` that deep could not
/// even be dropped without overflowing the stack.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn digest_nested_a_million_deep_is_modified_without_overflowing_the_stack() {
    let (key, report) = validate_with_newest_digest(&resign::gzip(nested(1_000_000).as_bytes()));
    assert_invalid_format(&report, &key, "not a digest JSON object");
}

/// Typed fields stop at the first wrong type and unknown fields are skipped without
/// recursing, so depth inside a real digest costs no stack either; the change is caught.
#[test]
fn digest_with_a_field_nested_a_million_deep_is_modified_without_overflowing_the_stack() {
    let trail = simulate(&spec());
    let digest = trail.newest_digest().clone();
    let path = trail.path(&digest.bucket, &digest.key);
    let json = String::from_utf8(resign::gunzip(&fs::read(&path).expect("digest"))).expect("utf-8");
    let open = json.trim_end().strip_suffix('}').expect("a JSON object");
    for field in ["newestEventTime", "digestS3Object", "logFiles"] {
        let deep = format!(r#"{{"{field}":{},{}}}"#, nested(1_000_000), &open[1..]);
        fs::write(&path, resign::gzip(deep.as_bytes())).expect("write digest");
        let report = validate_mirror(&trail, &digest.bucket);
        let verdict = find(&report, &digest.key);
        assert_eq!(
            verdict.status,
            Status::Modified,
            "{field}: {}",
            verdict.cause
        );
    }
}

#[test]
fn key_file_nested_past_the_json_depth_limit_is_refused() {
    let deep = format!(
        r#"{{"PublicKeyList":[{{"Value":"","Fingerprint":"","ValidityStartTime":{}}}]}}"#,
        nested(100_000)
    );
    let error = KeyRing::new()
        .add_json(deep.as_bytes(), "deep.json".as_ref())
        .expect_err("refused");
    assert!(
        error.to_string().contains("recursion limit exceeded"),
        "{error}"
    );
}

#[test]
fn digest_listing_more_than_max_log_entries_is_modified() {
    let entry = r#"{"s3Bucket":"b","s3Object":"k","hashValue":"00"},"#;
    let mut json = String::with_capacity(entry.len() * (MAX_LOG_ENTRIES + 1) + 64);
    json.push_str(r#"{"logFiles":["#);
    for _ in 0..=MAX_LOG_ENTRIES {
        json.push_str(entry);
    }
    json.pop();
    json.push_str("]}");
    let (key, report) = validate_with_newest_digest(&resign::gzip(json.as_bytes()));
    assert_invalid_format(&report, &key, "log files accepted");
}

/// A PKCS#1 `RSAPublicKey` with a `bits`-bit modulus (not a real key: only its size matters).
fn rsa_der(bits: usize) -> Vec<u8> {
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match value.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(value);
        out
    }
    let bytes = bits.div_ceil(8);
    let mut modulus = vec![0u8; bytes + 1];
    modulus[1] = 0x80 >> ((8 - bits % 8) % 8);
    modulus[bytes] |= 1;
    let body = [tlv(0x02, &modulus), tlv(0x02, &[1, 0, 1])].concat();
    tlv(0x30, &body)
}

fn key_file(der: &[u8]) -> String {
    format!(
        r#"{{"PublicKeyList":[{{"Value":"{}","Fingerprint":"{}"}}]}}"#,
        STANDARD.encode(der),
        hex::encode(Md5::digest(der))
    )
}

#[test]
fn key_sizes_from_2048_to_8192_bits_are_accepted_and_others_refused() {
    for (bits, accepted) in [
        (1024, false),
        (2047, false),
        (2048, true),
        (4096, true),
        (8192, true),
        (8193, false),
        (16384, false),
    ] {
        let der = rsa_der(bits);
        assert_eq!(trailcheck_core::der::rsa_modulus_bits(&der), Ok(bits));
        let result = KeyRing::new().add_json(key_file(&der).as_bytes(), "k.json".as_ref());
        assert_eq!(result.is_ok(), accepted, "{bits} bits: {result:?}");
    }
}

#[test]
fn key_files_with_1024_and_16384_bit_keys_stop_the_run_with_exit_2() {
    let trail = simulate(&spec());
    for bits in [1024, 16384] {
        let keys: PathBuf = trail.dir.path().join(format!("keys-{bits}"));
        fs::create_dir_all(&keys).expect("keys folder");
        fs::copy(
            trail.keys().join("public-keys.json"),
            keys.join("public-keys.json"),
        )
        .expect("copy the good keys");
        fs::write(keys.join("weak.json"), key_file(&rsa_der(bits))).expect("write key file");
        let archive = trail.archive();
        let output = trailcheck(
            trail.dir.path(),
            &[
                "validate",
                archive.to_str().expect("utf-8"),
                "--keys",
                keys.to_str().expect("utf-8"),
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{bits}: {stderr}");
        assert!(
            stderr.contains(&format!("a {bits}-bit RSA key")) && stderr.contains("weak.json"),
            "{stderr}"
        );
    }
}
