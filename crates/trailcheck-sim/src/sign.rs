//! Signing keys: PKCS#8 PEM in; RSA PKCS#1 v1.5 SHA-256 signatures, fingerprints and the
//! `aws cloudtrail list-public-keys` document out.

use std::fmt;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use base64::prelude::{BASE64_STANDARD, Engine};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde::{Serialize, Serializer};

use super::SimError;
use trailcheck_core::time;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";
const MAKE_ONE: &str =
    "make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`";

/// An RSA private key that signs digests, with the fingerprint CloudTrail would publish.
///
/// Parsed when built, so a bad key file is reported before anything is written. Cloning
/// shares the parsed key.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    pair: Arc<RsaKeyPair>,
    fingerprint: String,
}

impl SigningKey {
    /// Parses a PKCS#8 PEM private key; `name` says where it came from, for messages.
    pub fn from_pem(name: &str, pem: &str) -> Result<Self, SimError> {
        let bad = |why: String| SimError::BadKey {
            name: name.to_owned(),
            why,
        };
        let der = pem_body(pem).map_err(bad)?;
        let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            bad(format!(
                "ring rejects it as an RSA PKCS#8 key ({e}); {MAKE_ONE}"
            ))
        })?;
        let fingerprint = hex::encode(Md5::digest(pair.public().as_ref()));
        Ok(Self {
            name: name.to_owned(),
            pair: Arc::new(pair),
            fingerprint,
        })
    }

    /// Reads and parses a PKCS#8 PEM file.
    pub fn from_pem_file(path: &Path) -> Result<Self, SimError> {
        let text = fs::read_to_string(path).map_err(|source| SimError::ReadKey {
            path: path.to_owned(),
            source,
        })?;
        Self::from_pem(&path.display().to_string(), &text)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hex MD5 of the PKCS#1 DER public key: what a digest's `digestPublicKeyFingerprint` holds.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER, the form `ListPublicKeys` returns.
    pub fn public_key_der(&self) -> &[u8] {
        self.pair.public().as_ref()
    }

    /// Signs `message` (RSA PKCS#1 v1.5, SHA-256) and returns the signature in hex.
    pub(crate) fn sign_hex(&self, message: &[u8]) -> Result<String, SimError> {
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        // PKCS#1 v1.5 padding takes no randomness, so the signature is deterministic.
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| SimError::Sign {
                name: self.name.clone(),
            })?;
        Ok(hex::encode(signature))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({} {})", self.name, self.fingerprint)
    }
}

/// Only the name and fingerprint: a manifest never carries private key material.
impl Serialize for SigningKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("SigningKey", 2)?;
        s.serialize_field("name", &self.name)?;
        s.serialize_field("fingerprint", &self.fingerprint)?;
        s.end()
    }
}

/// The DER bytes inside a `BEGIN PRIVATE KEY` PEM block.
fn pem_body(pem: &str) -> Result<Vec<u8>, String> {
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return Err(
            "it is a PKCS#1 key: convert it with `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`"
                .to_owned(),
        );
    }
    if pem.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        return Err("it is encrypted: decrypt it with `openssl pkcs8 -in OLD -out NEW`".to_owned());
    }
    let body = pem
        .split_once(PEM_BEGIN)
        .and_then(|(_, rest)| rest.split_once(PEM_END))
        .map(|(body, _)| body)
        .ok_or_else(|| format!("no `{PEM_BEGIN}` block; {MAKE_ONE}"))?;
    let base64: String = body.split_whitespace().collect();
    BASE64_STANDARD
        .decode(base64)
        .map_err(|e| format!("the PEM block is not valid base64 ({e})"))
}

/// The test keys of `signing-keys/`, built in so `simulate` runs with no key files.
/// They are public test keys: never trust them for real trails.
pub struct TestKeys {
    /// Signs by default (`key-a.pem`).
    pub a: SigningKey,
    /// Takes over at a key rotation (`key-b.pem`).
    pub b: SigningKey,
    /// Not in any public key set (`rogue.pem`).
    pub rogue: SigningKey,
}

impl TestKeys {
    pub fn embedded() -> Result<Self, SimError> {
        Ok(Self {
            a: SigningKey::from_pem("test key-a", include_str!("../signing-keys/key-a.pem"))?,
            b: SigningKey::from_pem("test key-b", include_str!("../signing-keys/key-b.pem"))?,
            rogue: SigningKey::from_pem("test rogue", include_str!("../signing-keys/rogue.pem"))?,
        })
    }
}

/// One public key as `ListPublicKeys` would publish it, with the name of its key file.
#[derive(Clone, Debug, Serialize)]
pub struct PublicKeyRecord {
    pub name: String,
    pub fingerprint: String,
    pub valid_from: DateTime<Utc>,
    pub valid_to: DateTime<Utc>,
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl PublicKeyRecord {
    pub(crate) fn new(
        key: &SigningKey,
        valid_from: DateTime<Utc>,
        valid_to: DateTime<Utc>,
    ) -> Self {
        Self {
            name: key.name().to_owned(),
            fingerprint: key.fingerprint().to_owned(),
            valid_from,
            valid_to,
            der: key.public_key_der().to_vec(),
        }
    }
}

#[derive(Serialize)]
struct PublicKeyList<'a> {
    #[serde(rename = "PublicKeyList")]
    keys: Vec<AwsPublicKey<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AwsPublicKey<'a> {
    value: String,
    validity_start_time: String,
    validity_end_time: String,
    fingerprint: &'a str,
}

/// The JSON `aws cloudtrail list-public-keys` prints for these keys.
pub(crate) fn list_public_keys_json(keys: &[PublicKeyRecord]) -> Result<Vec<u8>, SimError> {
    let list = PublicKeyList {
        keys: keys
            .iter()
            .map(|k| AwsPublicKey {
                value: BASE64_STANDARD.encode(&k.der),
                validity_start_time: time::display(k.valid_from),
                validity_end_time: time::display(k.valid_to),
                fingerprint: &k.fingerprint,
            })
            .collect(),
    };
    let mut json = serde_json::to_vec_pretty(&list).map_err(SimError::encode("public key list"))?;
    json.push(b'\n');
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_test_keys_have_the_fingerprints_of_keys_json() {
        let keys = TestKeys::embedded().unwrap();
        assert_eq!(keys.a.fingerprint(), "b3d9092a153a151c8f6ee39e83e22c1d");
        assert_eq!(keys.b.fingerprint(), "14a428383e23d659aa3c13a71195b101");
        assert_eq!(keys.rogue.fingerprint(), "006f05dc9d827056f9b0316e9cb6cee4");
    }

    #[test]
    fn signatures_are_deterministic_and_verify() {
        let key = TestKeys::embedded().unwrap().a;
        let sig = key.sign_hex(b"message").unwrap();
        assert_eq!(sig, key.sign_hex(b"message").unwrap());
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            key.public_key_der(),
        );
        public
            .verify(b"message", &hex::decode(sig).unwrap())
            .unwrap();
    }

    #[test]
    fn pem_that_is_not_pkcs8_is_rejected_with_what_to_do() {
        let err = SigningKey::from_pem("k.pem", "-----BEGIN RSA PRIVATE KEY-----\n").unwrap_err();
        assert!(err.to_string().contains("openssl pkcs8"), "{err}");
        let err = SigningKey::from_pem("k.pem", "hello").unwrap_err();
        assert!(err.to_string().contains("openssl genpkey"), "{err}");
    }
}
