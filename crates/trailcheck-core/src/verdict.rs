//! The verdict model: what the engine concludes about each file, gap and chain break.
//!
//! This is the one verdict type of the program. The engine builds a [`Report`]; renderers
//! only read it. Every file gets exactly one [`Status`] and one [`Cause`] that says why.

use crate::store::FetchError;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::hash::Sha256;

/// The status of one file, ordered from best to worst so that the worst of several is `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Proven unchanged.
    Intact,
    /// Too young to be covered: the digest that will list it is not written yet.
    /// Listed, but left out of the verdict and the exit code.
    Pending,
    /// Cannot be decided either way; the cause says why.
    Unverifiable,
    /// A log present in a period the chain covers that no digest lists.
    Unreferenced,
    /// A digest found somewhere other than where it records it was delivered.
    Moved,
    /// Referenced by a digest, and absent.
    Deleted,
    /// Present, and not what was signed.
    Modified,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Intact,
        Status::Pending,
        Status::Unverifiable,
        Status::Unreferenced,
        Status::Moved,
        Status::Deleted,
        Status::Modified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Intact => "intact",
            Status::Pending => "pending",
            Status::Unverifiable => "unverifiable",
            Status::Unreferenced => "unreferenced",
            Status::Moved => "moved",
            Status::Deleted => "deleted",
            Status::Modified => "modified",
        }
    }

    /// Tampering: a status that proves something was changed, removed, added or moved.
    pub fn is_tampering(self) -> bool {
        matches!(
            self,
            Status::Modified | Status::Deleted | Status::Moved | Status::Unreferenced
        )
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Digest or log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Digest,
    Log,
}

/// Why a file got its status. Renderers show [`Cause::code`] and the `Display` text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Signature (digest) or hash (log) checked and matching.
    Verified,
    // --- modified
    /// Log: the SHA-256 of the uncompressed content differs from the digest's `hashValue`.
    HashMismatch,
    /// Log: bytes follow the end of the first gzip member.
    DataAfterGzip,
    /// Log or digest: not a gzip stream, or a corrupt one (bad CRC, truncated).
    NotGzip(String),
    /// Digest: the uncompressed content is not JSON, or a field has the wrong type.
    InvalidFormat(String),
    /// Digest: a field CloudTrail always writes is absent.
    MissingField(&'static str),
    /// Digest: the SHA-256 of its content differs from its successor's `previousDigestHashValue`.
    DigestHashMismatch,
    /// Digest: the RSA signature does not verify under the key it names.
    BadSignature,
    /// Digest: its signature metadata and its successor's `previousDigestSignature` differ.
    SignatureDisagrees,
    // --- deleted
    /// Referenced by a digest and absent from the store.
    NotFound,
    // --- moved
    /// Found away from the location it records.
    MovedFrom { bucket: String, key: String },
    // --- deleted, with the code `moved`
    /// Digest: absent from the location CloudTrail delivered it to, and found elsewhere.
    /// The entry for the original location, so it is listed as the AWS CLI lists it.
    MovedTo { bucket: String, key: String },
    // --- unreferenced
    /// Present in a period the chain covers, and listed by no digest.
    NotListed,
    // --- unverifiable
    /// The digest names a public-key fingerprint no key file holds.
    UnknownKey(String),
    /// The key the digest names is known, but `--trusted-fingerprints` does not pin it.
    UntrustedKey(String),
    /// The key was not valid when the digest was signed (its validity, widened by
    /// [`crate::keys::VALIDITY_MARGIN`], does not hold the digest's signing time).
    KeyNotValidThen {
        fingerprint: String,
        signed: DateTime<Utc>,
        valid_from: Option<DateTime<Utc>>,
        valid_to: Option<DateTime<Utc>>,
    },
    /// The key belongs to another region than the digest: each region signs with its own.
    KeyOtherRegion {
        fingerprint: String,
        key_region: String,
        digest_region: String,
    },
    /// The digest's signature algorithm is not SHA256withRSA.
    UnsupportedAlgorithm(String),
    /// The newest digest of a chain has no signature metadata (sidecar or S3 user metadata).
    NoSignature,
    /// The file could not be read; the text says why.
    Unreadable(String),
    /// The store could not be asked (access denied, throttled, bucket not in the archive).
    Inaccessible(String),
    /// The object is in an archive storage class; it must be restored before it is read.
    Archived(String),
    /// The object is encrypted with a KMS key the caller may not decrypt with (the key).
    KmsAccessDenied(String),
    /// Log: listed only by a digest that is not proven authentic.
    ListedByUnverifiedDigest(String),
    /// Log: delivered while no digest was written (validation or logging was off).
    InGap,
    /// Log: delivered in a period whose digest was deleted.
    DigestMissing,
    /// Log: delivered after the newest digest, and older than the delivery delay.
    AfterNewestDigest,
    /// Log: delivered before the oldest digest of its folder in range.
    BeforeOldestDigest,
    /// Log: delivered in a period covered only by digests that could not be verified.
    PeriodNotVerified,
    /// Log: no digest in range covers its folder at all.
    NoDigests,
    /// Log of a kind (its folder, e.g. `CloudTrail-Insight`) that no digest of its folder is
    /// seen to list: not covered by digest files, so neither proven nor disproven.
    KindNotDigested(String),
    // --- pending
    /// Log younger than CloudTrail's delivery delay: its digest is not written yet.
    AwaitingDigest,
    // --- CloudTrail Lake query results (`lake`)
    /// Unreferenced: a `result_*.csv.gz` in the query folder that the sign file does not list.
    NotInSignFile,
    /// Unverifiable: the sign file's key exists but is not valid around the query's time.
    KeyNotValidForQuery(String),
    /// Unverifiable: a result file whose sign file is not proven authentic; the text says why.
    SignFileNotVerified(String),
    // --- a chain's checkpoint (`--checkpoint`)
    /// Digest: the newest digest an earlier run proved intact and recorded in the checkpoint
    /// no longer hashes to what was recorded (the recorded SHA-256).
    CheckpointChanged(String),
    /// Digest: the newest digest an earlier run proved intact and recorded in the checkpoint
    /// is gone: deleted, with whatever came after it.
    CheckpointDeleted,
    // --- any status, read back from a result file (`trailcheck merge`)
    /// A verdict as a shard's JSON result records it, read back to be joined with the other
    /// shards' and rendered again: its code, status and text, as the run that proved it wrote
    /// them. Built only by [`Cause::recorded`], which refuses a code this version does not
    /// give or a status its code never has.
    Recorded {
        code: &'static str,
        status: Status,
        detail: String,
    },
}

/// Every code [`Cause::code`] gives and the statuses a cause with that code has: what a
/// result file may record. (`moved` names both the moved copy and the emptied original.)
const CODES: &[(&str, &[Status])] = &[
    ("verified", &[Status::Intact]),
    ("hash-mismatch", &[Status::Modified]),
    ("data-after-gzip-member", &[Status::Modified]),
    ("not-gzip", &[Status::Modified]),
    ("invalid-format", &[Status::Modified]),
    ("missing-field", &[Status::Modified]),
    ("digest-hash-mismatch", &[Status::Modified]),
    ("bad-signature", &[Status::Modified]),
    ("signature-disagrees", &[Status::Modified]),
    ("not-found", &[Status::Deleted]),
    ("moved", &[Status::Moved, Status::Deleted]),
    ("not-listed", &[Status::Unreferenced]),
    ("unknown-key", &[Status::Unverifiable]),
    ("untrusted-key", &[Status::Unverifiable]),
    ("key-not-valid-then", &[Status::Unverifiable]),
    ("key-other-region", &[Status::Unverifiable]),
    ("unsupported-algorithm", &[Status::Unverifiable]),
    ("no-signature", &[Status::Unverifiable]),
    ("unreadable", &[Status::Unverifiable]),
    ("inaccessible", &[Status::Unverifiable]),
    ("archived", &[Status::Unverifiable]),
    ("kind-not-digested", &[Status::Unverifiable]),
    ("kms-access-denied", &[Status::Unverifiable]),
    ("listed-by-unverified-digest", &[Status::Unverifiable]),
    ("in-gap", &[Status::Unverifiable]),
    ("digest-missing", &[Status::Unverifiable]),
    ("after-newest-digest", &[Status::Unverifiable]),
    ("before-oldest-digest", &[Status::Unverifiable]),
    ("period-not-verified", &[Status::Unverifiable]),
    ("no-digests", &[Status::Unverifiable]),
    ("awaiting-digest", &[Status::Pending]),
    ("not-in-sign-file", &[Status::Unreferenced]),
    ("key-not-valid-for-query", &[Status::Unverifiable]),
    ("sign-file-not-verified", &[Status::Unverifiable]),
    ("checkpoint-changed", &[Status::Modified]),
    ("checkpoint-deleted", &[Status::Deleted]),
];

impl Cause {
    /// Why an object the store did not give is unverifiable; `None` for an absent one, which
    /// is for the caller to judge (deleted, or nothing claimed).
    pub fn of_refusal(error: FetchError) -> Option<Cause> {
        match error {
            FetchError::NotFound => None,
            FetchError::Inaccessible(why) => Some(Cause::Inaccessible(why)),
            FetchError::Archived { storage_class } => Some(Cause::Archived(storage_class)),
            FetchError::KmsDenied { key, .. } => Some(Cause::KmsAccessDenied(key)),
        }
    }

    /// A verdict read back from a result file: `code` must be one this version gives, with a
    /// status a cause of that code has, or the file was written by another version (or by
    /// hand) and is refused.
    pub fn recorded(code: &str, status: Status, detail: String) -> Result<Cause, String> {
        let Some((code, statuses)) = CODES.iter().find(|(known, _)| *known == code) else {
            return Err(format!("cause '{code}' is not one this trailcheck gives"));
        };
        if !statuses.contains(&status) {
            return Err(format!("cause '{code}' never gives status '{status}'"));
        }
        Ok(Cause::Recorded {
            code,
            status,
            detail,
        })
    }

    /// A stable machine-readable code, used in JSON and JUnit output.
    pub fn code(&self) -> &'static str {
        match self {
            Cause::Recorded { code, .. } => code,
            Cause::Verified => "verified",
            Cause::HashMismatch => "hash-mismatch",
            Cause::DataAfterGzip => "data-after-gzip-member",
            Cause::NotGzip(_) => "not-gzip",
            Cause::InvalidFormat(_) => "invalid-format",
            Cause::MissingField(_) => "missing-field",
            Cause::DigestHashMismatch => "digest-hash-mismatch",
            Cause::BadSignature => "bad-signature",
            Cause::SignatureDisagrees => "signature-disagrees",
            Cause::NotFound => "not-found",
            Cause::MovedFrom { .. } | Cause::MovedTo { .. } => "moved",
            Cause::NotListed => "not-listed",
            Cause::UnknownKey(_) => "unknown-key",
            Cause::UntrustedKey(_) => "untrusted-key",
            Cause::KeyNotValidThen { .. } => "key-not-valid-then",
            Cause::KeyOtherRegion { .. } => "key-other-region",
            Cause::UnsupportedAlgorithm(_) => "unsupported-algorithm",
            Cause::NoSignature => "no-signature",
            Cause::Unreadable(_) => "unreadable",
            Cause::Inaccessible(_) => "inaccessible",
            Cause::Archived(_) => "archived",
            Cause::KindNotDigested(_) => "kind-not-digested",
            Cause::KmsAccessDenied(_) => "kms-access-denied",
            Cause::ListedByUnverifiedDigest(_) => "listed-by-unverified-digest",
            Cause::InGap => "in-gap",
            Cause::DigestMissing => "digest-missing",
            Cause::AfterNewestDigest => "after-newest-digest",
            Cause::BeforeOldestDigest => "before-oldest-digest",
            Cause::PeriodNotVerified => "period-not-verified",
            Cause::NoDigests => "no-digests",
            Cause::AwaitingDigest => "awaiting-digest",
            Cause::NotInSignFile => "not-in-sign-file",
            Cause::KeyNotValidForQuery(_) => "key-not-valid-for-query",
            Cause::SignFileNotVerified(_) => "sign-file-not-verified",
            Cause::CheckpointChanged(_) => "checkpoint-changed",
            Cause::CheckpointDeleted => "checkpoint-deleted",
        }
    }

    /// The status a cause gives its file. Total and without a wildcard arm, so a new cause
    /// cannot be given a status by accident: the compiler asks where it belongs.
    pub fn status(&self) -> Status {
        match self {
            Cause::Verified => Status::Intact,
            Cause::HashMismatch
            | Cause::DataAfterGzip
            | Cause::NotGzip(_)
            | Cause::InvalidFormat(_)
            | Cause::MissingField(_)
            | Cause::DigestHashMismatch
            | Cause::BadSignature
            | Cause::SignatureDisagrees
            | Cause::CheckpointChanged(_) => Status::Modified,
            Cause::NotFound | Cause::MovedTo { .. } | Cause::CheckpointDeleted => Status::Deleted,
            Cause::MovedFrom { .. } => Status::Moved,
            Cause::NotListed | Cause::NotInSignFile => Status::Unreferenced,
            Cause::KeyNotValidForQuery(_) | Cause::SignFileNotVerified(_) => Status::Unverifiable,
            Cause::UnknownKey(_)
            | Cause::UntrustedKey(_)
            | Cause::KeyNotValidThen { .. }
            | Cause::KeyOtherRegion { .. }
            | Cause::UnsupportedAlgorithm(_)
            | Cause::NoSignature
            | Cause::Unreadable(_)
            | Cause::Inaccessible(_)
            | Cause::Archived(_)
            | Cause::KmsAccessDenied(_)
            | Cause::KindNotDigested(_)
            | Cause::ListedByUnverifiedDigest(_)
            | Cause::InGap
            | Cause::DigestMissing
            | Cause::AfterNewestDigest
            | Cause::BeforeOldestDigest
            | Cause::PeriodNotVerified
            | Cause::NoDigests => Status::Unverifiable,
            Cause::AwaitingDigest => Status::Pending,
            Cause::Recorded { status, .. } => *status,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Verified => f.write_str("verified"),
            Cause::HashMismatch => f.write_str("hash value doesn't match"),
            Cause::DataAfterGzip => f.write_str("data follows the end of the gzip stream"),
            Cause::NotGzip(why) => write!(f, "invalid format: not a valid gzip stream ({why})"),
            Cause::InvalidFormat(why) => write!(f, "invalid format: {why}"),
            Cause::MissingField(name) => write!(f, "invalid format: missing field {name}"),
            Cause::DigestHashMismatch => f.write_str(
                "hash value doesn't match the previousDigestHashValue its successor records",
            ),
            Cause::BadSignature => f.write_str("signature verification failed"),
            Cause::SignatureDisagrees => f.write_str(
                "signature metadata differs from the previousDigestSignature its successor records",
            ),
            Cause::NotFound => f.write_str("not found"),
            Cause::MovedFrom { bucket, key } => write!(
                f,
                "has been moved from its original location s3://{bucket}/{key}"
            ),
            Cause::NotListed => f.write_str("not listed by any digest covering its delivery time"),
            Cause::MovedTo { bucket, key } => write!(
                f,
                "not found at the location CloudTrail delivered it to; the digest was found at \
                 s3://{bucket}/{key}"
            ),
            Cause::UnknownKey(fp) => write!(f, "public key not found for fingerprint {fp}"),
            Cause::UntrustedKey(fp) => write!(
                f,
                "signed with key {fp}, which --trusted-fingerprints does not pin"
            ),
            Cause::KeyNotValidThen {
                fingerprint,
                signed,
                valid_from,
                valid_to,
            } => write!(
                f,
                "signed at {} with key {fingerprint}, valid only from {} to {}",
                crate::time::display(*signed),
                valid_from.map_or("(open)".to_owned(), crate::time::display),
                valid_to.map_or("(open)".to_owned(), crate::time::display),
            ),
            Cause::KeyOtherRegion {
                fingerprint,
                key_region,
                digest_region,
            } => write!(
                f,
                "signed with key {fingerprint} of region {key_region}; a {digest_region} digest \
                 is signed with a {digest_region} key"
            ),
            Cause::UnsupportedAlgorithm(alg) => {
                write!(f, "unsupported signature algorithm {alg}")
            }
            Cause::NoSignature => f.write_str(
                "no signature: the newest digest of a chain needs its signature metadata",
            ),
            Cause::Unreadable(why) => write!(f, "cannot be read: {why}"),
            Cause::Inaccessible(why) => write!(f, "cannot be fetched: {why}"),
            Cause::KindNotDigested(kind) => write!(
                f,
                "not covered by digest files: no digest of this folder lists {kind} logs"
            ),
            Cause::Archived(class) => write!(
                f,
                "archived in storage class {class}: restore it to validate it \
                 (trailcheck restore-plan lists what a range needs)"
            ),
            Cause::KmsAccessDenied(key) if key.is_empty() => f.write_str(
                "encrypted with a KMS key the caller may not decrypt with (kms:Decrypt)",
            ),
            Cause::KmsAccessDenied(key) => write!(
                f,
                "encrypted with KMS key {key}, which the caller may not decrypt with (kms:Decrypt)"
            ),
            Cause::ListedByUnverifiedDigest(key) => {
                write!(
                    f,
                    "listed only by digest {key}, which is not proven authentic"
                )
            }
            Cause::InGap => f.write_str("delivered while no digests were written (a gap)"),
            Cause::DigestMissing => f.write_str("delivered in a period whose digest is missing"),
            Cause::AfterNewestDigest => f.write_str("delivered after the newest digest"),
            Cause::BeforeOldestDigest => f.write_str("delivered before the oldest digest"),
            Cause::PeriodNotVerified => {
                f.write_str("delivered in a period whose digest is not proven authentic")
            }
            Cause::NoDigests => f.write_str("no digest in range covers its folder"),
            Cause::AwaitingDigest => f.write_str("its digest is not delivered yet"),
            Cause::NotInSignFile => f.write_str("not listed by the query's sign file"),
            Cause::KeyNotValidForQuery(fp) => write!(
                f,
                "public key {fp} is not valid within 20 days after the query completed"
            ),
            Cause::SignFileNotVerified(why) => {
                write!(f, "the sign file listing it is not proven authentic: {why}")
            }
            Cause::CheckpointChanged(recorded) => write!(
                f,
                "changed since an earlier run proved it intact: the checkpoint recorded SHA-256 \
                 {recorded}"
            ),
            Cause::CheckpointDeleted => f.write_str(
                "deleted since an earlier run proved it intact and recorded it in the checkpoint",
            ),
            Cause::Recorded { detail, .. } => f.write_str(detail),
        }
    }
}

/// The trail a digest chain belongs to: one chain per source region and trail.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChainId {
    pub account: String,
    /// The region whose events the chain covers.
    pub region: String,
    pub trail: String,
    pub home_region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    pub backfill: bool,
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{} {} {}",
            if self.backfill { "(backfill) " } else { "" },
            self.account,
            self.trail,
            self.region
        )
    }
}

/// The verdict on one digest or log file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileVerdict {
    pub kind: FileKind,
    pub bucket: String,
    pub key: String,
    pub status: Status,
    pub cause: Cause,
    /// The digest's end time, or the log's delivery time from its name.
    pub time: Option<DateTime<Utc>>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub backfill: bool,
    /// The SHA-256 the chain expects (a digest's from its successor, a log's from its digest).
    pub expected_sha256: Option<Sha256>,
    /// The SHA-256 of the uncompressed content as read.
    pub actual_sha256: Option<Sha256>,
    /// Digest: the fingerprint of the key it names (`digestPublicKeyFingerprint`).
    pub signed_by: Option<String>,
    /// Log: the key of the digest that lists it.
    pub listed_by: Option<String>,
    /// The digest chain the file belongs to: a digest's own; a listed log's digest's; an
    /// unlisted log's when exactly one regular chain covers its account and region. Renderers
    /// group by it instead of parsing keys again.
    pub chain: Option<Arc<ChainId>>,
    /// What S3 keeps under the key besides its current object (`--versions`): boxed, since
    /// most runs and most files have none.
    pub history: Option<Box<History>>,
}

/// The versions S3 keeps of one key, and which of them CloudTrail delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Every version and delete marker, newest first.
    pub versions: Vec<ObjectVersion>,
    /// The version whose content is what the digest lists: the delivered one.
    pub delivered: Option<String>,
    /// The delivered version, when it is not the current object (deleted or overwritten
    /// since): restorable from S3.
    pub restorable: Option<String>,
    /// The current object's Object Lock: `COMPLIANCE until 2027-11-01T00:00:00Z`, with
    /// `legal hold` when one is on.
    pub lock: Option<String>,
}

/// One entry of `ListObjectVersions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVersion {
    pub version_id: String,
    pub last_modified: Option<DateTime<Utc>>,
    pub delete_marker: bool,
    pub latest: bool,
}

impl History {
    /// Versions other than the current one: how often the key was written again.
    pub fn overwrites(&self) -> usize {
        let objects = self.versions.iter().filter(|v| !v.delete_marker).count();
        objects.saturating_sub(1)
    }

    /// When the key was deleted (a delete marker was written), newest first.
    pub fn deletions(&self) -> impl Iterator<Item = &ObjectVersion> {
        self.versions.iter().filter(|v| v.delete_marker)
    }

    /// What an auditor reads of it: "overwritten 2 times; deleted on ...; restorable: V".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.overwrites() {
            0 => {}
            1 => parts.push("overwritten once".to_owned()),
            n => parts.push(format!("overwritten {n} times")),
        }
        for marker in self.deletions() {
            let when = marker
                .last_modified
                .map_or("an unknown date".to_owned(), |t| t.to_rfc3339());
            let restored = !marker.latest;
            parts.push(if restored {
                format!("deleted on {when} and restored")
            } else {
                format!("deleted on {when}")
            });
        }
        if let Some(version) = &self.restorable {
            parts.push(format!("restorable: version {version}"));
        } else if let Some(version) = self.delivered.as_ref().filter(|_| !parts.is_empty()) {
            parts.push(format!("delivered as version {version}"));
        }
        if let Some(lock) = &self.lock {
            parts.push(format!("Object Lock {lock}"));
        }
        parts.join("; ")
    }
}

/// One of `count` parts of an archive, split by account and region: every chain, log folder
/// and gap of one account and region falls in the same part, so the parts' verdicts together
/// are one run's, whatever the count. The split is a fixed hash (FNV-1a of
/// `ACCOUNT/REGION`), the same on every machine and every run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// From 0 to `count - 1`, as Kubernetes and AWS Batch number their jobs.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Whether this shard validates the files of `account` in `region`.
    pub fn takes(&self, account: &str, region: &str) -> bool {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in account.bytes().chain([b'/']).chain(region.bytes()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        hash % u64::from(self.count.max(1)) == u64::from(self.index)
    }
}

/// How a bucket itself protects what it holds: what an auditor checks to judge how far the
/// evidence was safe from deletion.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketProtection {
    pub bucket: String,
    /// `Enabled`, `Suspended`, or `None` when versioning was never turned on.
    pub versioning: Option<String>,
    pub mfa_delete: Option<String>,
    /// Object Lock's default retention (`COMPLIANCE 365 days`), or `enabled, no default`;
    /// `None` when Object Lock is off.
    pub object_lock: Option<String>,
    /// Why any of the above could not be read.
    pub problem: Option<String>,
}

impl FileVerdict {
    /// A verdict with only the identifying fields set; callers fill in the rest. The status
    /// follows from the cause ([`Cause::status`]), so the two can never disagree.
    pub fn new(kind: FileKind, bucket: &str, key: &str, cause: Cause) -> Self {
        Self {
            kind,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            status: cause.status(),
            cause,
            time: None,
            account: None,
            region: None,
            backfill: false,
            expected_sha256: None,
            actual_sha256: None,
            signed_by: None,
            listed_by: None,
            chain: None,
            history: None,
        }
    }

    /// The one field older output had for both: a digest's key fingerprint, or the digest
    /// listing a log. Kept for the JSON `reference` field.
    pub fn reference(&self) -> Option<&str> {
        match self.kind {
            FileKind::Digest => self.signed_by.as_deref(),
            FileKind::Log => self.listed_by.as_deref(),
        }
    }

    pub fn s3_url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// A run's order across places: account, region, bucket and account folder (the place,
    /// as `engine` judges them), then [`FileVerdict::order`]. A report put together from
    /// parts (`merge`) sorts by it to list files as one run over the whole would.
    pub fn run_order(&self) -> impl Ord + '_ {
        (
            self.account.as_deref(),
            self.region.as_deref(),
            &self.bucket,
            account_root(&self.key),
            self.order(),
        )
    }

    /// Sort key within a place: digests before logs, then by time, then by location.
    pub fn order(&self) -> impl Ord + '_ {
        (self.kind, self.time, &self.bucket, &self.key)
    }
}

/// The `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/` folder a key lies in; the whole key when it lies
/// in none.
fn account_root(key: &str) -> &str {
    const AWSLOGS: &str = "AWSLogs/";
    let Some(at) = key.find(AWSLOGS) else {
        return key;
    };
    let after = at + AWSLOGS.len();
    let rest = &key[after..];
    let org = match rest.starts_with("o-") {
        true => rest.find('/').map_or(0, |i| i + 1),
        false => 0,
    };
    let account = rest[org..].find('/').map_or(rest.len() - org, |i| i + 1);
    &key[..after + org + account]
}

/// Gap (validation or logging was off) or chain break (digests deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// A starting digest follows earlier digests: nothing was digested in between.
    Gap,
    /// A digest's predecessor is missing: one or more digests were deleted.
    ChainBreak,
    /// The oldest digest present names a predecessor the source does not hold, and holds no
    /// logs of that predecessor's period either: a partial copy, or digests deleted with
    /// their logs. Where the chain began cannot be told from the source.
    OpenStart,
}

/// A period with no digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub kind: GapKind,
    pub chain: ChainId,
    pub bucket: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// For a chain break, how many hourly digests are missing, inferred from the cadence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_digests: Option<u32>,
    /// For an open start, the predecessor the oldest digest names (bucket and key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<(String, String)>,
}

/// A public key that verified at least one digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyUse {
    pub fingerprint: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub file: String,
    pub digests_verified: usize,
}

/// The whole result of one validation run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub source: String,
    pub requested_start: Option<DateTime<Utc>>,
    pub requested_end: Option<DateTime<Utc>>,
    /// No start time was given: each chain was walked from its own oldest digest, and
    /// `requested_start` is the oldest digest of the source.
    pub open_start: bool,
    /// The span of the verified digests, clipped to the requested range.
    pub found: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub files: Vec<FileVerdict>,
    pub gaps: Vec<Gap>,
    pub chains: Vec<ChainId>,
    pub keys: Vec<KeyUse>,
    /// Where the run's public keys came from, and so what its verdict rests on.
    pub trust: Trust,
    /// The buckets' versioning and Object Lock settings (`--versions`).
    pub buckets: Vec<BucketProtection>,
    /// The part of the archive this run judged (`--shard K/N`); `None` for all of it.
    pub shard: Option<Shard>,
    /// Per chain, the newest digest the run proved intact: what `--checkpoint` records.
    pub heads: BTreeMap<ChainId, crate::checkpoint::Anchor>,
    /// The part of the range this run judged (`--window I/M`); `None` for all of it.
    pub window: Option<crate::window::Window>,
    /// With `--window`: per chain, its oldest digest in the window and the predecessor it
    /// names, for `merge` to check against the window before.
    pub oldest: BTreeMap<ChainId, crate::window::Oldest>,
    /// The checkpoint the run started from, when it had one; a merged run lists each
    /// shard's.
    pub checkpoints: Vec<CheckpointUse>,
    /// What the files add up to. A run that hands its files to a sink instead of holding
    /// them (`engine::validate_streaming`) keeps only this.
    pub tally: Tally,
    /// The files a streamed run handed on, where they were kept (a spool file), to be read
    /// back in order by [`Report::each_file`]; `None` when the report holds them.
    pub kept: Option<Arc<dyn KeptFiles>>,
}

/// Files kept outside the report, read back in the order they were handed on, as often as
/// a renderer needs.
pub trait KeptFiles: Send + Sync + fmt::Debug {
    fn each(
        &self,
        visit: &mut dyn FnMut(&FileVerdict) -> std::io::Result<()>,
    ) -> std::io::Result<()>;
}

/// Counts over a run's files, kept as they pass, so a run need not hold them to sum up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub counts: BTreeMap<(FileKind, Status), usize>,
    /// Of the digests counted, the backfill digests, by status.
    pub backfill_digests: BTreeMap<Status, usize>,
    /// The accounts and regions the files name.
    pub accounts: BTreeSet<String>,
    pub regions: BTreeSet<String>,
}

impl Tally {
    pub fn add(&mut self, file: &FileVerdict) {
        *self.counts.entry((file.kind, file.status)).or_insert(0) += 1;
        if file.kind == FileKind::Digest && file.backfill {
            *self.backfill_digests.entry(file.status).or_insert(0) += 1;
        }
        for (seen, value) in [
            (&mut self.accounts, &file.account),
            (&mut self.regions, &file.region),
        ] {
            if let Some(value) = value
                && !seen.contains(value)
            {
                seen.insert(value.clone());
            }
        }
    }

    pub fn of<'a>(files: impl IntoIterator<Item = &'a FileVerdict>) -> Self {
        let mut tally = Self::default();
        for file in files {
            tally.add(file);
        }
        tally
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// How many files have one of the statuses `pred` takes.
    pub fn with_status(&self, pred: impl Fn(Status) -> bool) -> usize {
        (self.counts.iter())
            .filter(|((_, status), _)| pred(*status))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The checkpoint file a run started from (`--checkpoint`): which chains it let the run
/// start late, and the SHA-256 of its bytes as read, so the report pins what it rested on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointUse {
    pub file: String,
    pub sha256: Sha256,
    /// How many chains it gave an anchor.
    pub anchored: usize,
}

/// Where trust came from in a run: every key offered, its origin, and any pinning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    pub keys: Vec<KeyTrust>,
    /// The file `--trusted-fingerprints` named, when the keys were pinned.
    pub pinned_from: Option<String>,
    /// The fingerprints pinned (lower-case hex), when pinned.
    pub pinned: Vec<String>,
}

impl Trust {
    /// True when any key was read from inside the source being judged.
    pub fn keys_inside_source(&self) -> bool {
        self.keys.iter().any(|k| k.inside_source)
    }
}

/// One key the run could verify with, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTrust {
    pub fingerprint: String,
    /// `file` (a key file) or `cloudtrail` (ListPublicKeys during the run).
    pub origin: &'static str,
    /// The key file, or the call (`CloudTrail ListPublicKeys us-east-1`).
    pub location: String,
    pub region: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    /// The key file lies inside the source: the evidence vouches for itself.
    pub inside_source: bool,
    /// What the key file's provenance record says, when it has one.
    pub provenance: Option<crate::keys::Provenance>,
}

/// The verdict of a run as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every file proven intact (pending ones aside).
    Intact,
    /// At least one file with a failing status.
    Tampered,
    /// No tampering proven, but something could not be decided.
    Incomplete,
}

impl Report {
    /// Puts files and gaps in a fixed order, so output does not depend on thread timing.
    pub fn sort(&mut self) {
        self.files.sort_by(|a, b| a.run_order().cmp(&b.run_order()));
        self.gaps
            .sort_by(|a, b| (&a.chain, a.from).cmp(&(&b.chain, b.from)));
        self.chains.sort();
        self.chains.dedup();
        self.keys.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    }

    /// Visits every file in order: those the report holds, then those kept elsewhere.
    pub fn each_file(
        &self,
        visit: &mut dyn FnMut(&FileVerdict) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        for file in &self.files {
            visit(file)?;
        }
        match &self.kept {
            Some(kept) => kept.each(visit),
            None => Ok(()),
        }
    }

    /// What the files add up to: counted from the files when the report holds them, else
    /// the tally the run kept as it handed them on.
    pub fn summed(&self) -> std::borrow::Cow<'_, Tally> {
        match self.files.is_empty() {
            true => std::borrow::Cow::Borrowed(&self.tally),
            false => std::borrow::Cow::Owned(Tally::of(&self.files)),
        }
    }

    /// How many files have each status, per kind.
    pub fn counts(&self) -> BTreeMap<(FileKind, Status), usize> {
        self.summed().counts.clone()
    }

    pub fn count(&self, kind: FileKind, status: Status) -> usize {
        self.summed()
            .counts
            .get(&(kind, status))
            .copied()
            .unwrap_or(0)
    }

    /// The run's verdict, given which statuses count as failures. A run that checked
    /// nothing proves nothing, so it is incomplete, never intact.
    pub fn outcome(&self, fail_on: &[Status]) -> Outcome {
        let tally = self.summed();
        let none = tally.total() == 0;
        if none && self.shard.is_some() {
            // A shard may hold no account and region of the archive: it judged nothing, and
            // the other shards judged the rest (a whole run finding nothing is incomplete).
            Outcome::Intact
        } else if none {
            Outcome::Incomplete
        } else if tally.with_status(|s| fail_on.contains(&s)) > 0 {
            Outcome::Tampered
        } else if tally.with_status(|s| s == Status::Unverifiable) > 0 {
            Outcome::Incomplete
        } else {
            Outcome::Intact
        }
    }
}

/// The statuses that fail a run unless `--fail-on` says otherwise.
pub const DEFAULT_FAIL_ON: [Status; 4] = [
    Status::Modified,
    Status::Deleted,
    Status::Moved,
    Status::Unreferenced,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// One cause of every variant but `Recorded`.
    fn every_cause() -> Vec<Cause> {
        let t = DateTime::from_timestamp(1_793_491_200, 0).unwrap_or_default();
        let s = || "x".to_owned();
        vec![
            Cause::Verified,
            Cause::HashMismatch,
            Cause::DataAfterGzip,
            Cause::NotGzip(s()),
            Cause::InvalidFormat(s()),
            Cause::MissingField("f"),
            Cause::DigestHashMismatch,
            Cause::BadSignature,
            Cause::SignatureDisagrees,
            Cause::NotFound,
            Cause::MovedFrom {
                bucket: s(),
                key: s(),
            },
            Cause::MovedTo {
                bucket: s(),
                key: s(),
            },
            Cause::NotListed,
            Cause::UnknownKey(s()),
            Cause::UntrustedKey(s()),
            Cause::KeyNotValidThen {
                fingerprint: s(),
                signed: t,
                valid_from: None,
                valid_to: None,
            },
            Cause::KeyOtherRegion {
                fingerprint: s(),
                key_region: s(),
                digest_region: s(),
            },
            Cause::UnsupportedAlgorithm(s()),
            Cause::NoSignature,
            Cause::Unreadable(s()),
            Cause::Inaccessible(s()),
            Cause::Archived(s()),
            Cause::KmsAccessDenied(s()),
            Cause::ListedByUnverifiedDigest(s()),
            Cause::InGap,
            Cause::DigestMissing,
            Cause::AfterNewestDigest,
            Cause::BeforeOldestDigest,
            Cause::PeriodNotVerified,
            Cause::NoDigests,
            Cause::KindNotDigested(s()),
            Cause::AwaitingDigest,
            Cause::NotInSignFile,
            Cause::KeyNotValidForQuery(s()),
            Cause::SignFileNotVerified(s()),
            Cause::CheckpointChanged(s()),
            Cause::CheckpointDeleted,
        ]
    }

    #[test]
    fn every_cause_reads_back_from_its_code_and_status_and_nothing_else_does() {
        let causes = every_cause();
        for cause in &causes {
            let back = Cause::recorded(cause.code(), cause.status(), cause.to_string())
                .unwrap_or_else(|e| panic!("{cause:?}: {e}"));
            assert_eq!(back.code(), cause.code());
            assert_eq!(back.status(), cause.status());
            assert_eq!(back.to_string(), cause.to_string());
        }
        // Every code in the table is given by some cause: none is stale.
        for (code, statuses) in CODES {
            for status in *statuses {
                assert!(
                    causes
                        .iter()
                        .any(|c| c.code() == *code && c.status() == *status),
                    "{code} {status}"
                );
            }
        }
        assert!(Cause::recorded("made-up", Status::Intact, String::new()).is_err());
        // A tampering code recorded as intact is refused, not believed.
        let err = Cause::recorded("hash-mismatch", Status::Intact, String::new()).unwrap_err();
        assert!(err.contains("never gives status 'intact'"), "{err}");
    }

    fn version(id: &str, at: i64, delete_marker: bool, latest: bool) -> ObjectVersion {
        ObjectVersion {
            version_id: id.to_owned(),
            last_modified: DateTime::from_timestamp(1_793_491_200 + at, 0),
            delete_marker,
            latest,
        }
    }

    #[test]
    fn a_history_says_overwrites_deletions_and_the_version_to_restore() {
        let cases = [
            (
                vec![version("b", 2, false, true), version("a", 1, false, false)],
                None,
                "overwritten once",
            ),
            (
                vec![version("m", 2, true, true), version("a", 1, false, false)],
                Some("a"),
                "deleted on 2026-11-01T00:00:02+00:00; restorable: version a",
            ),
            (
                vec![
                    version("c", 3, false, true),
                    version("m", 2, true, false),
                    version("a", 1, false, false),
                ],
                None,
                "overwritten once; deleted on 2026-11-01T00:00:02+00:00 and restored",
            ),
            (
                vec![
                    version("c", 3, false, true),
                    version("b", 2, false, false),
                    version("a", 1, false, false),
                ],
                Some("a"),
                "overwritten 2 times; restorable: version a",
            ),
        ];
        for (versions, restorable, said) in cases {
            let history = History {
                versions,
                delivered: restorable.map(str::to_owned),
                restorable: restorable.map(str::to_owned),
                lock: None,
            };
            assert_eq!(history.describe(), said);
        }
    }

    #[test]
    fn worst_status_is_the_maximum() {
        assert!(Status::Modified > Status::Deleted);
        assert!(Status::Unverifiable > Status::Pending);
        assert!(Status::Pending > Status::Intact);
        assert_eq!(
            [Status::Intact, Status::Moved, Status::Pending]
                .into_iter()
                .max(),
            Some(Status::Moved)
        );
    }

    #[test]
    fn status_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("valid"), None);
    }

    #[test]
    fn outcome_prefers_tampering_over_unverifiable_and_ignores_pending() {
        let file = |status| {
            let mut file = FileVerdict::new(FileKind::Log, "b", "k", Cause::Verified);
            file.status = status;
            file
        };
        let mut report = Report::default();
        assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
        report.files = vec![file(Status::Intact), file(Status::Pending)];
        assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Intact);
        report.files.push(file(Status::Unverifiable));
        assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
        report.files.push(file(Status::Unreferenced));
        assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Tampered);
        assert_eq!(report.outcome(&[Status::Modified]), Outcome::Incomplete);
    }
}
