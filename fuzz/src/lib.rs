//! The fuzz harnesses: one function per target, shared by `fuzz_targets/` and by
//! `tests/fuzz_regressions.rs`, so a crash input replays through exactly the code it crashed.
//!
//! Each harness feeds attacker-shaped bytes to trailcheck and asserts what must hold for any
//! input: no panic, no unbounded work, and no forged trust (nothing the fuzzer writes can be
//! judged intact, since it cannot sign). It depends only on trailcheck and crates trailcheck
//! already depends on, so the regression test can include this file with `#[path]`.

use std::io::Write;
use std::path::{Component, Path};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use md5::{Digest as _, Md5};

use trailcheck_core::der;
use trailcheck_core::digest::{MAX_LOG_ENTRIES, SHA256_WITH_RSA};
use trailcheck_core::engine::judge::{SuccessorClaim, judge};
use trailcheck_core::engine::load::{self, LoadedDigest};
use trailcheck_core::gzip::{self, GzipError};
use trailcheck_core::hash::Sha256;
use trailcheck_core::keys::KeyRing;
use trailcheck_core::objectkey::{self, ObjectName};
use trailcheck_core::store::Metadata;
use trailcheck_core::store::local::safe_relative;
use trailcheck_core::verdict::Status;

/// The inflate limit of the gzip target: small, so a bomb costs a megabyte, not 64 MiB.
pub const GZIP_LIMIT: u64 = 1024 * 1024;

/// The published test keys: real 2048-bit keys the fuzzer's digests may name.
fn test_ring() -> &'static KeyRing {
    static RING: OnceLock<KeyRing> = OnceLock::new();
    RING.get_or_init(|| {
        let mut ring = KeyRing::new();
        ring.add_json(
            include_bytes!("../../keys/test-keys.json"),
            Path::new("test-keys.json"),
        )
        .expect("the shipped test keys load");
        ring
    })
}

fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// Digest parsing and judging: `data` is a digest's uncompressed content. It is gzipped and
/// loaded as the engine loads a digest, then judged with and without an authentic successor
/// vouching for its hash. Without the private key it can never be intact.
pub fn digest(data: &[u8]) {
    // The raw bytes as a digest file too: mostly not gzip, sometimes a crafted member.
    if let Ok(content) = load::parse(data) {
        judge_unsigned(content);
    }
    let Ok(content) = load::parse(&gzip_bytes(data)[..]) else {
        return;
    };
    assert_eq!(content.sha256, Sha256::of(data), "hash of what was parsed");
    judge_unsigned(content);
}

fn judge_unsigned(content: load::Content) {
    let d = &content.digest;
    assert!(d.log_files.len() <= MAX_LOG_ENTRIES);
    let signature = d.previous.as_ref().map(|p| p.signature.clone());
    let loaded = LoadedDigest {
        bucket: d.bucket.clone(),
        key: d.key.clone(),
        name: match objectkey::parse(&d.key) {
            Some(ObjectName::Digest(name)) => Some(name),
            _ => None,
        },
        metadata: Metadata {
            signature: signature.clone(),
            signature_algorithm: Some(SHA256_WITH_RSA.to_owned()),
            ..Metadata::default()
        },
        content: Ok(content.clone()),
    };
    // A successor can only vouch with a proof of its own, which nothing here can forge:
    // the claim the fuzzer can make is an unproven successor's record.
    let claiming = SuccessorClaim {
        signature: signature.unwrap_or_default(),
        hash: content.sha256.to_hex(),
        hash_algorithm: None,
        vouched: None,
    };
    for claim in [None, Some(&claiming)] {
        let judgement = judge(&loaded, claim, test_ring());
        assert!(judgement.verified.is_none(), "a forged digest verified");
        assert_ne!(
            judgement.status(),
            Status::Intact,
            "a forged digest is intact"
        );
    }
}

/// Log decompression and hashing: the streamed hash and the bounded inflate must agree on
/// every input, and neither may read past the first member.
pub fn gzip(data: &[u8]) {
    let streamed = gzip::hash_stream(data);
    let bounded = gzip::inflate_bounded(data, GZIP_LIMIT);
    match (&streamed, &bounded) {
        (Ok(s), Ok(b)) => {
            assert_eq!(s.sha256, Sha256::of(b));
            assert_eq!(s.size, b.len() as u64);
        }
        (Ok(s), Err(GzipError::TooLarge { .. })) => assert!(s.size > GZIP_LIMIT),
        (Err(a), Err(b)) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{a} / {b}"
        ),
        _ => panic!("hash_stream {streamed:?} and inflate_bounded {bounded:?} disagree"),
    }
    assert!(!matches!(streamed, Err(GzipError::Io(_))), "{streamed:?}");
    // trailcheck reads gzip members itself; flate2's reader is the independent oracle.
    match (flate2_member(data), &bounded) {
        (Some(Ok(expected)), Ok(content)) => assert_eq!(&expected, content),
        (Some(Err(Flate2Says::TrailingData)), Err(GzipError::TrailingData)) => {}
        // Past the limit, which of "too large" and a later corruption is met first depends on
        // how each reader sizes its chunks.
        (
            Some(Err(Flate2Says::TooLarge)) | None,
            Err(GzipError::TooLarge { .. } | GzipError::Invalid(_)),
        ) => {}
        (oracle, ours) => panic!("flate2 says {oracle:?}, trailcheck {ours:?}"),
    }
}

#[derive(Debug)]
enum Flate2Says {
    TooLarge,
    TrailingData,
}

/// One gzip member as flate2's own reader takes it: `None` when it is not a valid member (or
/// is empty, which flate2 calls a clean end), else its content or why it is refused.
fn flate2_member(data: &[u8]) -> Option<Result<Vec<u8>, Flate2Says>> {
    use std::io::Read;
    if data.is_empty() {
        return None;
    }
    let mut source = data;
    let mut content = Vec::new();
    {
        let decoder = flate2::bufread::GzDecoder::new(&mut source);
        decoder
            .take(GZIP_LIMIT + 1)
            .read_to_end(&mut content)
            .ok()?;
    }
    if content.len() as u64 > GZIP_LIMIT {
        Some(Err(Flate2Says::TooLarge))
    } else if !source.is_empty() {
        Some(Err(Flate2Says::TrailingData))
    } else {
        Some(Ok(content))
    }
}

/// Key-file loading. The first byte picks the form: a key file as given, or DER bytes
/// wrapped into a well-formed key file (right base64, right fingerprint) so the fuzzer
/// reaches the DER reader and the size checks.
pub fn keys(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let mut ring = KeyRing::new();
        if ring.add_json(rest, Path::new("fuzz.json")).is_ok() {
            // Accepted files hold only keys the size check allowed.
            assert!(ring.iter().all(|k| (2048..=8192).contains(&k.bits)));
        }
        return;
    }
    let parsed = der::rsa_public_key(rest);
    if let Ok((pkcs1, bits)) = parsed {
        assert_eq!(der::rsa_modulus_bits(pkcs1), Ok(bits));
    }
    let fingerprint = hex::encode(Md5::digest(rest));
    let file = format!(
        r#"{{"PublicKeyList":[{{"Value":"{}","Fingerprint":"{fingerprint}"}}]}}"#,
        STANDARD.encode(rest)
    );
    let mut ring = KeyRing::new();
    let loaded = ring.add_json(file.as_bytes(), Path::new("fuzz.json"));
    let in_range = matches!(parsed, Ok((_, bits)) if (2048..=8192).contains(&bits));
    assert_eq!(loaded.is_ok(), in_range, "{loaded:?} for {parsed:?}");
    if let Some(key) = ring.get(&fingerprint) {
        // ring must refuse garbage signatures without panicking, whatever the modulus.
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &key.pkcs1,
        );
        assert!(public.verify(b"message", &[0x5a; 256]).is_err());
    }
}

/// Object-key and path parsing. A parsed key must be canonical (rebuilding it from its parts
/// gives it back, the date folders aside: a log is judged by the time in its name), and a
/// key accepted as a path must stay below any root it is joined to.
pub fn objectkey(data: &[u8]) {
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    match objectkey::parse(key) {
        Some(ObjectName::Digest(name)) => assert_same_but_dates(&name.key(), key),
        Some(ObjectName::Log(name)) => {
            let unique = key
                .rsplit_once('_')
                .and_then(|(_, u)| u.strip_suffix(".json.gz"))
                .expect("a parsed log key ends _UNIQUE.json.gz");
            assert_same_but_dates(&name.key(unique), key);
        }
        None => {}
    }
    if let Some(path) = safe_relative(key) {
        assert!(path.components().all(|c| matches!(c, Component::Normal(_))));
        let root = Path::new("/archive/root");
        assert!(root.join(&path).starts_with(root), "{path:?}");
        assert!(!key.contains('\0'));
    }
}

/// Compares two keys component by component, except the `YYYY/MM/DD` folders.
fn assert_same_but_dates(rebuilt: &str, key: &str) {
    let a: Vec<&str> = rebuilt.split('/').collect();
    let b: Vec<&str> = key.split('/').collect();
    assert_eq!(a.len(), b.len(), "{rebuilt} rebuilt from {key}");
    let dates = a.len().saturating_sub(4)..a.len() - 1;
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        if !dates.contains(&i) {
            assert_eq!(x, y, "{rebuilt} rebuilt from {key}");
        }
    }
}
