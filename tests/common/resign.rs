//! Forging what an attacker holding the signing key could write: rewrite a simulated digest's
//! JSON and sign it again with test key-a, so the engine sees a *validly signed* digest that
//! says hostile things (paths outside the archive, absurd sizes).
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::Value;
use trailcheck_core::digest::Digest;
use trailcheck_core::hash::Sha256;

/// The private half of the key the default simulated trail is signed with.
pub fn key_a() -> RsaKeyPair {
    let pem = include_str!("../../crates/trailcheck-sim/signing-keys/key-a.pem");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).expect("PEM base64");
    RsaKeyPair::from_pkcs8(&der).expect("key-a is PKCS#8 RSA")
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip file");
    out
}

/// A digest file's JSON.
pub fn read_digest(path: &Path) -> Value {
    serde_json::from_slice(&gunzip(&fs::read(path).expect("digest file"))).expect("digest JSON")
}

/// Signs `content` as CloudTrail signs a digest, with `key`; returns the hex signature.
pub fn sign_with(key: &RsaKeyPair, content: &[u8]) -> String {
    let digest = Digest::parse(content).expect("content parses as a digest");
    let message = digest.string_to_sign(Sha256::of(content));
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .expect("RSA signing");
    hex::encode(signature)
}

/// Writes `content` (uncompressed digest JSON) gzipped to `path`, signed with key-a, and its
/// signature sidecar beside it.
pub fn write_signed(path: &Path, content: &[u8]) {
    let signature = sign_with(&key_a(), content);
    fs::write(path, gzip(content)).expect("write digest");
    write_sidecar(path, &signature);
}

pub fn write_sidecar(path: &Path, signature: &str) {
    let sidecar = serde_json::json!({
        "Metadata": {"signature": signature, "signature-algorithm": "SHA256withRSA"}
    });
    fs::write(trailcheck_sim::sidecar_path(path), sidecar.to_string()).expect("write sidecar");
}

/// Rewrites the digest at `path` with `edit` and signs the result with key-a.
pub fn edit_and_sign(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value = read_digest(path);
    edit(&mut value);
    write_signed(path, value.to_string().as_bytes());
}
