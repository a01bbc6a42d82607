//! The verdict on one digest, from its content, its signature metadata and what its
//! successor records about it. Pure: no I/O, no clock.

use crate::digest::SHA_256;
use crate::hash::Sha256;
use crate::keys::{KeyRefusal, KeyRing};
use crate::objectkey::{self, ObjectName};
use crate::signature::{self, SignatureError, Signing, Verified};
use crate::verdict::Cause;

use super::load::LoadedDigest;

/// Where a verified digest lies: what a proof about a digest is carried as, once the digest
/// itself is no longer at hand (its logs' checks, its predecessor's judgement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRef {
    pub bucket: String,
    pub key: String,
}

/// What a digest's successor records about it.
#[derive(Clone, Debug)]
pub struct SuccessorClaim {
    pub signature: String,
    pub hash: String,
    pub hash_algorithm: Option<String>,
    /// The successor's own proof, when its signature verified; an unproven successor cannot
    /// convict, and its record of the hash counts for nothing.
    pub vouched: Option<Verified<DigestRef>>,
}

impl SuccessorClaim {
    fn authentic(&self) -> bool {
        self.vouched.is_some()
    }
}

/// The judgement on one digest.
#[derive(Debug)]
pub struct Judgement<'a> {
    pub cause: Cause,
    /// Set when the signature verified: the digest's log list can be trusted.
    pub verified: Option<Verified<&'a crate::digest::Digest>>,
    pub expected_sha256: Option<Sha256>,
    /// The signature that verified, lower-case hex: what a checkpoint records of it.
    pub signature: Option<String>,
}

impl Judgement<'_> {
    fn failed(cause: Cause) -> Self {
        Self {
            cause,
            verified: None,
            expected_sha256: None,
            signature: None,
        }
    }

    /// The status the cause gives.
    pub fn status(&self) -> crate::verdict::Status {
        self.cause.status()
    }
}

/// Judges `digest`. `claim` is what its successor records, when it has one in the chain.
pub fn judge<'a>(
    digest: &'a LoadedDigest,
    claim: Option<&SuccessorClaim>,
    keys: &KeyRing,
) -> Judgement<'a> {
    let content = match &digest.content {
        Ok(content) => content,
        Err(cause) => return Judgement::failed(cause.clone()),
    };
    let trusted_claim = claim.filter(|c| c.authentic());
    let expected = trusted_claim.and_then(expected_hash);
    if let Some(expected) = expected.filter(|e| *e != content.sha256) {
        let mut j = Judgement::failed(Cause::DigestHashMismatch);
        j.expected_sha256 = Some(expected);
        return j;
    }
    let (signature, disagrees) = match choose_signature(digest, claim) {
        Ok(signature) => signature,
        Err(cause) => return with_expected(unsigned(digest, cause), expected),
    };
    let algorithm = digest.metadata.signature_algorithm.as_deref();
    let region = signing_region(digest);
    let signing = Signing {
        at: signing_time(digest),
        region: region.as_deref(),
    };
    let result = signature::verify(
        &content.digest,
        content.sha256,
        signature,
        algorithm,
        keys,
        signing,
    );
    let judgement = match result {
        Err(SignatureError::Invalid) => Judgement::failed(Cause::BadSignature),
        Err(SignatureError::Key(refusal)) => unsigned(digest, refused(refusal)),
        Err(SignatureError::UnsupportedAlgorithm(a)) => {
            unsigned(digest, Cause::UnsupportedAlgorithm(a))
        }
        Ok(verified) => {
            let cause = if disagrees {
                // The content is proven by its successor's record; its metadata was altered.
                Cause::SignatureDisagrees
            } else {
                match digest.recorded_elsewhere() {
                    Some((bucket, key)) => Cause::MovedFrom {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                    },
                    None => Cause::Verified,
                }
            };
            Judgement {
                cause,
                verified: Some(verified),
                expected_sha256: None,
                signature: Some(signature.trim().to_ascii_lowercase()),
            }
        }
    };
    with_expected(judgement, expected)
}

fn refused(refusal: KeyRefusal) -> Cause {
    match refusal {
        KeyRefusal::Unknown(fp) => Cause::UnknownKey(fp),
        KeyRefusal::Untrusted(fp) => Cause::UntrustedKey(fp),
        KeyRefusal::OtherRegion {
            fingerprint,
            key_region,
            digest_region,
        } => Cause::KeyOtherRegion {
            fingerprint,
            key_region,
            digest_region,
        },
        KeyRefusal::NotValidThen {
            fingerprint,
            signed,
            valid_from,
            valid_to,
        } => Cause::KeyNotValidThen {
            fingerprint,
            signed,
            valid_from,
            valid_to,
        },
    }
}

/// When the digest was signed: a backfill digest when it was generated (its metadata says),
/// any other at its end time, which is when CloudTrail writes it.
fn signing_time(digest: &LoadedDigest) -> chrono::DateTime<chrono::Utc> {
    let generated = digest
        .metadata
        .backfill_generation_timestamp
        .as_deref()
        .and_then(crate::time::parse_cloudtrail);
    let end = digest.content().map(|c| c.digest.end);
    generated
        .filter(|_| digest.name.as_ref().is_some_and(|n| n.backfill))
        .or(end)
        .or_else(|| digest.time())
        .unwrap_or(chrono::DateTime::UNIX_EPOCH)
}

/// The region whose key must sign the digest: from where it was found, else from where it
/// records it was delivered.
fn signing_region(digest: &LoadedDigest) -> Option<String> {
    if let Some(name) = &digest.name {
        return Some(name.folder.region.clone());
    }
    match objectkey::parse(&digest.content()?.digest.key) {
        Some(ObjectName::Digest(name)) => Some(name.folder.region),
        _ => None,
    }
}

fn with_expected(mut judgement: Judgement<'_>, expected: Option<Sha256>) -> Judgement<'_> {
    judgement.expected_sha256 = expected;
    judgement
}

/// A digest whose signature cannot be checked is still `moved` if it records another place.
fn unsigned(digest: &LoadedDigest, cause: Cause) -> Judgement<'_> {
    match digest.recorded_elsewhere() {
        Some((bucket, key)) => Judgement::failed(Cause::MovedFrom {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }),
        None => Judgement::failed(cause),
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
        (Some(c), m) if c.authentic() => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testkit::{self, Spec, at, digest_key};
    use crate::verdict::Status;
    use chrono::Duration;

    /// A successor's proof, which only a real signature check can give.
    fn vouching_successor() -> Verified<DigestRef> {
        let content = testkit::content(&Spec {
            hour: 9,
            previous: None,
            logs: vec![],
        });
        let signature = testkit::sign(&content);
        let successor = testkit::loaded(&content, &digest_key(9), Some(signature));
        let verdict = judge(&successor, None, &testkit::good_ring());
        let verified = verdict.verified.expect("the successor verifies");
        verified.map(|_| DigestRef {
            bucket: successor.bucket.clone(),
            key: successor.key.clone(),
        })
    }

    #[test]
    fn each_case_gets_the_cause_and_status_it_should() {
        let content = testkit::content(&Spec {
            hour: 3,
            previous: None,
            logs: vec![],
        });
        let signature = testkit::sign(&content);
        let sha = Sha256::of(&content).to_hex();
        let claim = |hash: &str, vouched: bool| SuccessorClaim {
            signature: signature.clone(),
            hash: hash.to_owned(),
            hash_algorithm: Some("SHA-256".to_owned()),
            vouched: vouched.then(vouching_successor),
        };
        let mut pinned_elsewhere = testkit::good_ring();
        pinned_elsewhere.pin(["0".repeat(32)], "pins.txt");
        let expired = testkit::ring("us-east-1", at(-100), at(-50));
        let starts_within_margin =
            testkit::ring("us-east-1", at(3) + Duration::minutes(90), at(100));
        let other_region = testkit::ring("eu-west-1", at(-100), at(100));
        let good = testkit::good_ring();
        let empty = KeyRing::new();
        let here = digest_key(3);
        let elsewhere = digest_key(3).replace(".json.gz", "-copy.json.gz");
        let zero = "0".repeat(64);
        let flipped = {
            let mut s = signature.clone();
            let last = if s.ends_with('0') { "1" } else { "0" };
            s.replace_range(s.len() - 1.., last);
            s
        };
        type Case<'a> = (
            &'a str,
            &'a str,
            Option<String>,
            Option<SuccessorClaim>,
            &'a KeyRing,
            &'a str,
            Status,
        );
        let cases: Vec<Case> = vec![
            (
                "signed, no successor",
                &here,
                Some(signature.clone()),
                None,
                &good,
                "verified",
                Status::Intact,
            ),
            (
                "no metadata, no successor",
                &here,
                None,
                None,
                &good,
                "no-signature",
                Status::Unverifiable,
            ),
            (
                "signature altered",
                &here,
                Some(flipped.clone()),
                None,
                &good,
                "bad-signature",
                Status::Modified,
            ),
            (
                "no key",
                &here,
                Some(signature.clone()),
                None,
                &empty,
                "unknown-key",
                Status::Unverifiable,
            ),
            (
                "key not pinned",
                &here,
                Some(signature.clone()),
                None,
                &pinned_elsewhere,
                "untrusted-key",
                Status::Unverifiable,
            ),
            (
                "key expired long before",
                &here,
                Some(signature.clone()),
                None,
                &expired,
                "key-not-valid-then",
                Status::Unverifiable,
            ),
            (
                "key valid from 90 min after: inside the margin",
                &here,
                Some(signature.clone()),
                None,
                &starts_within_margin,
                "verified",
                Status::Intact,
            ),
            (
                "key of another region",
                &here,
                Some(signature.clone()),
                None,
                &other_region,
                "key-other-region",
                Status::Unverifiable,
            ),
            (
                "authentic successor, other hash",
                &here,
                Some(signature.clone()),
                Some(claim(&zero, true)),
                &good,
                "digest-hash-mismatch",
                Status::Modified,
            ),
            (
                "unproven successor, other hash: cannot convict",
                &here,
                Some(signature.clone()),
                Some(claim(&zero, false)),
                &good,
                "verified",
                Status::Intact,
            ),
            (
                "authentic successor's signature, metadata differs",
                &here,
                Some(flipped),
                Some(claim(&sha, true)),
                &good,
                "signature-disagrees",
                Status::Modified,
            ),
            (
                "no metadata, successor's copy of the signature",
                &here,
                None,
                Some(claim(&sha, false)),
                &good,
                "verified",
                Status::Intact,
            ),
            (
                "found elsewhere, verified",
                &elsewhere,
                Some(signature.clone()),
                None,
                &good,
                "moved",
                Status::Moved,
            ),
            (
                "found elsewhere, no key",
                &elsewhere,
                Some(signature.clone()),
                None,
                &empty,
                "moved",
                Status::Moved,
            ),
        ];
        for (name, found_at, metadata, claim, ring, code, status) in cases {
            let digest = testkit::loaded(&content, found_at, metadata);
            let judgement = judge(&digest, claim.as_ref(), ring);
            assert_eq!(
                (judgement.cause.code(), judgement.status()),
                (code, status),
                "{name}: {}",
                judgement.cause
            );
            assert_eq!(
                judgement.verified.is_some(),
                matches!(code, "verified" | "signature-disagrees")
                    || (code == "moved" && !ring.is_empty()),
                "{name}"
            );
        }
    }

    #[test]
    fn a_digest_that_does_not_load_keeps_its_load_cause() {
        let mut store = crate::store::memory::MemoryStore::new();
        store.put(
            testkit::BUCKET,
            "d.json.gz",
            b"not gzip".to_vec(),
            Default::default(),
        );
        let digest = super::super::load::load(&store, testkit::BUCKET, "d.json.gz").unwrap();
        let judgement = judge(&digest, None, &testkit::good_ring());
        assert_eq!(
            (judgement.cause.code(), judgement.status()),
            ("not-gzip", Status::Modified)
        );
    }
}
