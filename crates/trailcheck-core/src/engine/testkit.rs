//! Small signed digests for the engine's unit tests: a digest's JSON built from a few
//! facts, signed with the simulator's test key-a, loaded as the engine loads one.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, TimeZone, Utc};
use md5::{Digest as _, Md5};
use ring::rand::SystemRandom;
use ring::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};

use crate::digest::Digest;
use crate::hash::Sha256;
use crate::keys::{FetchedKey, KeyRing};
use crate::store::Metadata;

use super::load::{self, LoadedDigest};

pub const BUCKET: &str = "trail-bucket";

pub fn key_a() -> RsaKeyPair {
    let pem = include_str!("../../../trailcheck-sim/signing-keys/key-a.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).expect("PEM base64");
    RsaKeyPair::from_pkcs8(&der).expect("key-a is PKCS#8 RSA")
}

pub fn fingerprint() -> String {
    hex::encode(Md5::digest(key_a().public_key().as_ref()))
}

/// A ring holding key-a, published for `region`, valid over `[from, to]`.
pub fn ring(region: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> KeyRing {
    let key = key_a();
    let fetched = FetchedKey {
        der: key.public_key().as_ref().to_vec(),
        fingerprint: fingerprint(),
        valid_from: Some(from),
        valid_to: Some(to),
    };
    let mut ring = KeyRing::new();
    ring.add_fetched(&[fetched], region, "test")
        .expect("key-a loads");
    ring
}

/// A ring valid over all of 2026, for us-east-1.
pub fn good_ring() -> KeyRing {
    ring(
        "us-east-1",
        at(0) - Duration::days(300),
        at(0) + Duration::days(300),
    )
}

pub fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::hours(hour)
}

/// The key of the us-east-1 digest ending at `hour`.
pub fn digest_key(hour: i64) -> String {
    format!(
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/{}/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_{}.json.gz",
        at(hour).format("%Y/%m/%d"),
        at(hour).format("%Y%m%dT%H%M%SZ")
    )
}

/// One digest to build: where it ends, and what it says of its predecessor.
pub struct Spec {
    pub hour: i64,
    pub previous: Option<(String, Sha256, String)>,
    pub logs: Vec<(String, Sha256)>,
}

/// The digest's uncompressed JSON.
pub fn content(spec: &Spec) -> Vec<u8> {
    let (pk, ph, ps) = match &spec.previous {
        Some((key, hash, sig)) => (
            serde_json::Value::from(key.as_str()),
            serde_json::Value::from(hash.to_hex()),
            serde_json::Value::from(sig.as_str()),
        ),
        None => Default::default(),
    };
    let logs: Vec<serde_json::Value> = spec
        .logs
        .iter()
        .map(|(key, hash)| {
            serde_json::json!({"s3Bucket": BUCKET, "s3Object": key, "hashValue": hash.to_hex(),
                "hashAlgorithm": "SHA-256", "newestEventTime": null, "oldestEventTime": null})
        })
        .collect();
    serde_json::json!({
        "awsAccountId": "111122223333",
        "digestStartTime": crate::time::display(at(spec.hour - 1)),
        "digestEndTime": crate::time::display(at(spec.hour)),
        "digestS3Bucket": BUCKET,
        "digestS3Object": digest_key(spec.hour),
        "digestPublicKeyFingerprint": fingerprint(),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": null,
        "oldestEventTime": null,
        "previousDigestS3Bucket": if spec.previous.is_some() { serde_json::Value::from(BUCKET) } else { serde_json::Value::Null },
        "previousDigestS3Object": pk,
        "previousDigestHashValue": ph,
        "previousDigestHashAlgorithm": if spec.previous.is_some() { serde_json::Value::from("SHA-256") } else { serde_json::Value::Null },
        "previousDigestSignature": ps,
        "logFiles": logs,
    })
    .to_string()
    .into_bytes()
}

pub fn sign(content: &[u8]) -> String {
    let digest = Digest::parse(content).expect("built digest parses");
    let message = digest.string_to_sign(Sha256::of(content));
    let key = key_a();
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .expect("signing");
    hex::encode(signature)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The digest loaded from `found_at` with `signature` as its metadata.
pub fn loaded(content: &[u8], found_at: &str, signature: Option<String>) -> LoadedDigest {
    let mut store = crate::store::memory::MemoryStore::new();
    let metadata = Metadata {
        signature,
        signature_algorithm: Some("SHA256withRSA".to_owned()),
        ..Metadata::default()
    };
    store.put(BUCKET, found_at, gzip(content), metadata);
    load::load(&store, BUCKET, found_at).expect("loads")
}

/// A real proof for a digest at `key`: a digest signed here and checked by `judge`, the only
/// way to get one.
pub fn proof(key: &str) -> crate::signature::Verified<super::judge::DigestRef> {
    let content = content(&Spec {
        hour: 1,
        previous: None,
        logs: vec![],
    });
    let signature = sign(&content);
    let digest = loaded(&content, &digest_key(1), Some(signature));
    let judgement = super::judge::judge(&digest, None, &good_ring());
    let verified = judgement.verified.expect("a signed digest verifies");
    verified.map(|_| super::judge::DigestRef {
        bucket: BUCKET.to_owned(),
        key: key.to_owned(),
    })
}
