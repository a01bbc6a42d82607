//! Digest signatures: the one place a digest becomes trusted.
//!
//! [`Verified`] can only be built by [`verify`], so code that needs an authentic digest
//! (the log checks that trust its hash values) cannot be handed an unverified one.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};

use crate::digest::{Digest, SHA256_WITH_RSA};
use crate::hash::Sha256;
use crate::keys::{KeyRing, PublicKey};

/// A digest whose signature verified, with the key that verified it.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'a> {
    digest: &'a Digest,
    key: &'a PublicKey,
}

impl<'a> Verified<'a> {
    pub fn digest(&self) -> &'a Digest {
        self.digest
    }

    pub fn key(&self) -> &'a PublicKey {
        self.key
    }
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// No key with the fingerprint the digest names: cannot be decided.
    UnknownKey(String),
    /// An algorithm other than SHA256withRSA: cannot be decided.
    UnsupportedAlgorithm(String),
    /// The signature is not hex, or does not verify: the digest or its signature was changed.
    Invalid,
}

/// Checks `signature_hex` over `digest`, whose uncompressed bytes hash to `content_sha256`.
/// `algorithm` is the one the signature's metadata names, when it names one.
pub fn verify<'a>(
    digest: &'a Digest,
    content_sha256: Sha256,
    signature_hex: &str,
    algorithm: Option<&str>,
    keys: &'a KeyRing,
) -> Result<Verified<'a>, SignatureError> {
    for named in [algorithm, digest.signature_algorithm.as_deref()]
        .into_iter()
        .flatten()
    {
        if named != SHA256_WITH_RSA {
            return Err(SignatureError::UnsupportedAlgorithm(named.to_owned()));
        }
    }
    let key = keys
        .get(&digest.fingerprint)
        .ok_or_else(|| SignatureError::UnknownKey(digest.fingerprint.clone()))?;
    let signature = hex::decode(signature_hex.trim()).map_err(|_| SignatureError::Invalid)?;
    let message = digest.string_to_sign(content_sha256);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.pkcs1)
        .verify(message.as_bytes(), &signature)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(Verified { digest, key })
}
