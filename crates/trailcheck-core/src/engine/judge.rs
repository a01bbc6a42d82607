//! The verdict on one digest, from its content, its signature metadata and what its
//! successor records about it. Pure: no I/O, no clock.

use crate::digest::SHA_256;
use crate::hash::Sha256;
use crate::keys::KeyRing;
use crate::signature::{self, SignatureError, Verified};
use crate::verdict::{Cause, Status};

use super::load::LoadedDigest;

/// What a digest's successor records about it.
#[derive(Clone, Debug)]
pub struct SuccessorClaim {
    pub signature: String,
    pub hash: String,
    pub hash_algorithm: Option<String>,
    /// Whether the successor itself is proven authentic; an unproven one cannot convict.
    pub authentic: bool,
}

/// The judgement on one digest.
#[derive(Debug)]
pub struct Judgement<'a> {
    pub status: Status,
    pub cause: Cause,
    /// Set when the signature verified: the digest's log list can be trusted.
    pub verified: Option<Verified<'a>>,
    pub expected_sha256: Option<Sha256>,
}

impl Judgement<'_> {
    fn failed(status: Status, cause: Cause) -> Self {
        Self {
            status,
            cause,
            verified: None,
            expected_sha256: None,
        }
    }
}

/// Judges `digest`. `claim` is what its successor records, when it has one in the chain.
pub fn judge<'a>(
    digest: &'a LoadedDigest,
    claim: Option<&SuccessorClaim>,
    keys: &'a KeyRing,
) -> Judgement<'a> {
    let content = match &digest.content {
        Ok(content) => content,
        Err(cause) => return Judgement::failed(status_of_load_failure(cause), cause.clone()),
    };
    let trusted_claim = claim.filter(|c| c.authentic);
    let expected = trusted_claim.and_then(expected_hash);
    if let Some(expected) = expected.filter(|e| *e != content.sha256) {
        let mut j = Judgement::failed(Status::Modified, Cause::DigestHashMismatch);
        j.expected_sha256 = Some(expected);
        return j;
    }
    let (signature, disagrees) = match choose_signature(digest, claim) {
        Ok(signature) => signature,
        Err(cause) => return with_expected(unsigned(digest, cause), expected),
    };
    let algorithm = digest.metadata.signature_algorithm.as_deref();
    let result = signature::verify(&content.digest, content.sha256, signature, algorithm, keys);
    let judgement = match result {
        Err(SignatureError::Invalid) => Judgement::failed(Status::Modified, Cause::BadSignature),
        Err(SignatureError::UnknownKey(fp)) => unsigned(digest, Cause::UnknownKey(fp)),
        Err(SignatureError::UnsupportedAlgorithm(a)) => {
            unsigned(digest, Cause::UnsupportedAlgorithm(a))
        }
        Ok(verified) => {
            let (status, cause) = if disagrees {
                // The content is proven by its successor's record; its metadata was altered.
                (Status::Modified, Cause::SignatureDisagrees)
            } else {
                match digest.recorded_elsewhere() {
                    Some((bucket, key)) => (
                        Status::Moved,
                        Cause::MovedFrom {
                            bucket: bucket.to_owned(),
                            key: key.to_owned(),
                        },
                    ),
                    None => (Status::Intact, Cause::Verified),
                }
            };
            Judgement {
                status,
                cause,
                verified: Some(verified),
                expected_sha256: None,
            }
        }
    };
    with_expected(judgement, expected)
}

fn with_expected(mut judgement: Judgement<'_>, expected: Option<Sha256>) -> Judgement<'_> {
    judgement.expected_sha256 = expected;
    judgement
}

/// A digest whose signature cannot be checked is still `moved` if it records another place.
fn unsigned(digest: &LoadedDigest, cause: Cause) -> Judgement<'_> {
    match digest.recorded_elsewhere() {
        Some((bucket, key)) => Judgement::failed(
            Status::Moved,
            Cause::MovedFrom {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            },
        ),
        None => Judgement::failed(Status::Unverifiable, cause),
    }
}

fn expected_hash(claim: &SuccessorClaim) -> Option<Sha256> {
    match claim.hash_algorithm.as_deref() {
        None | Some(SHA_256) => Sha256::from_hex(&claim.hash),
        Some(_) => None,
    }
}

/// The signature to verify: the successor's record where the successor is authentic, else
/// the object's metadata. The flag says the metadata exists and differs from that record.
fn choose_signature<'a>(
    digest: &'a LoadedDigest,
    claim: Option<&'a SuccessorClaim>,
) -> Result<(&'a str, bool), Cause> {
    let metadata = digest.metadata.signature.as_deref();
    match (claim, metadata) {
        (Some(c), m) if c.authentic => {
            let differs = m.is_some_and(|m| !c.signature.trim().eq_ignore_ascii_case(m.trim()));
            Ok((&c.signature, differs))
        }
        (_, Some(m)) => Ok((m, false)),
        // A signature vouches for itself, so even an unproven successor's copy may verify it.
        (Some(c), None) => Ok((&c.signature, false)),
        (None, None) => Err(match &digest.metadata.problem {
            Some(problem) => Cause::Unreadable(problem.clone()),
            None => Cause::NoSignature,
        }),
    }
}

fn status_of_load_failure(cause: &Cause) -> Status {
    match cause {
        Cause::Unreadable(_) | Cause::Inaccessible(_) => Status::Unverifiable,
        _ => Status::Modified,
    }
}
