//! Digest signatures: the one place a digest becomes trusted.
//!
//! [`Verified`] can only be first built by [`verify`], so code that needs an authentic digest
//! (the log checks that trust its hash values, a successor's record about its predecessor)
//! cannot be handed an unverified one. A proof may be carried over to what the verified
//! digest vouches for ([`Verified::map`]), never made from nothing.

use chrono::{DateTime, Utc};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

use crate::digest::{Digest, SHA256_WITH_RSA};
use crate::hash::Sha256;
use crate::keys::{KeyRefusal, KeyRing};

/// Something a digest signature vouches for, with the fingerprint of the key that verified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<T> {
    value: T,
    fingerprint: String,
}

impl<T> Verified<T> {
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The fingerprint of the key that verified the signature.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The same proof, for something the verified value vouches for.
    pub fn map<U>(&self, f: impl FnOnce(&T) -> U) -> Verified<U> {
        Verified {
            value: f(&self.value),
            fingerprint: self.fingerprint.clone(),
        }
    }
}

/// When and where a digest was signed, as far as the archive tells: the key must have been
/// valid then, and be of that region.
#[derive(Clone, Copy, Debug)]
pub struct Signing<'a> {
    /// The digest's end time, or a backfill digest's generation time.
    pub at: DateTime<Utc>,
    /// The digest's region, when its location says.
    pub region: Option<&'a str>,
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No key may verify it (unknown, not pinned, other region, not valid then): cannot be
    /// decided.
    Key(KeyRefusal),
    /// An algorithm other than SHA256withRSA: cannot be decided.
    UnsupportedAlgorithm(String),
    /// The signature is not hex, or does not verify: the digest or its signature was changed.
    Invalid,
}

/// Checks `signature_hex` over `digest`, whose uncompressed bytes hash to `content_sha256`.
/// `algorithm` is the one the signature's metadata names, when it names one. Only a key the
/// ring allows for `signing` is tried.
pub fn verify<'a>(
    digest: &'a Digest,
    content_sha256: Sha256,
    signature_hex: &str,
    algorithm: Option<&str>,
    keys: &KeyRing,
    signing: Signing<'_>,
) -> Result<Verified<&'a Digest>, SignatureError> {
    for named in [algorithm, digest.signature_algorithm.as_deref()]
        .into_iter()
        .flatten()
    {
        if named != SHA256_WITH_RSA {
            return Err(SignatureError::UnsupportedAlgorithm(named.to_owned()));
        }
    }
    let key = keys
        .authorize(&digest.fingerprint, signing.at, signing.region)
        .map_err(SignatureError::Key)?;
    let signature = hex::decode(signature_hex.trim()).map_err(|_| SignatureError::Invalid)?;
    let message = digest.string_to_sign(content_sha256);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.pkcs1)
        .verify(message.as_bytes(), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(Verified {
        value: digest,
        fingerprint: key.fingerprint.clone(),
    })
}
