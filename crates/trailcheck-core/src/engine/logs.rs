//! Checking one listed log: fetch, inflate its first gzip member, hash, compare.

use crate::digest::SHA_256;
use crate::gzip::{self, GzipError, Inflated};
use crate::hash::Sha256;
use crate::objectkey::{self, ObjectName};
use crate::store::{FetchError, Store};
use crate::verdict::{Cause, FileKind, FileVerdict};

use super::chain::{Listing, LogTask};

/// What fetching and hashing a log came to, before any digest is consulted.
#[derive(Clone, Debug)]
pub enum Fetched {
    Inflated(Inflated),
    NotFound,
    /// The store would not give it: why, as the cause the log is unverifiable for.
    Refused(Cause),
    Gzip(GzipError),
}

impl Fetched {
    /// The SHA-256 of the uncompressed first member, when it could be read as gzip.
    pub fn sha256(&self) -> Option<Sha256> {
        match self {
            Fetched::Inflated(inflated) => Some(inflated.sha256),
            _ => None,
        }
    }
}

fn refused(error: FetchError) -> Fetched {
    Cause::of_refusal(error).map_or(Fetched::NotFound, Fetched::Refused)
}

/// Fetches a log and hashes its first gzip member.
pub fn fetch(store: &dyn Store, bucket: &str, key: &str) -> Fetched {
    match store.get(bucket, key) {
        Ok(object) => match gzip::hash_stream(object.body) {
            Ok(inflated) => Fetched::Inflated(inflated),
            Err(e) => Fetched::Gzip(e),
        },
        Err(error) => refused(error),
    }
}

/// [`fetch`], keeping the inflated bytes (up to `keep_limit`) for a reader of the records.
pub fn fetch_keeping(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    keep_limit: u64,
) -> (Fetched, Option<Vec<u8>>) {
    match store.get(bucket, key) {
        Ok(object) => match gzip::hash_and_keep(object.body, keep_limit) {
            Ok((inflated, kept)) => (Fetched::Inflated(inflated), kept),
            Err(e) => (Fetched::Gzip(e), None),
        },
        Err(error) => (refused(error), None),
    }
}

/// Fetches and hashes the log `task` names and judges it.
pub fn check(store: &dyn Store, task: &LogTask) -> FileVerdict {
    check_with(task, || fetch(store, &task.bucket, &task.key))
}

/// Judges the log `task` names with what `fetched` gives (fetched now, or earlier).
pub fn check_with(task: &LogTask, fetched: impl FnOnce() -> Fetched) -> FileVerdict {
    let (cause, expected, actual) = judge(task, fetched);
    let mut verdict = FileVerdict::new(FileKind::Log, &task.bucket, &task.key, cause);
    if let Some(ObjectName::Log(name)) = objectkey::parse(&task.key) {
        verdict.time = Some(name.delivered);
        verdict.account = Some(name.folder.account);
        verdict.region = Some(name.folder.region);
    }
    verdict.backfill = task.backfill;
    verdict.expected_sha256 = expected;
    verdict.actual_sha256 = actual;
    verdict.listed_by = Some(task.listed_by().to_owned());
    verdict
}

type Judged = (Cause, Option<Sha256>, Option<Sha256>);

fn judge(task: &LogTask, fetched: impl FnOnce() -> Fetched) -> Judged {
    // What is only proven when the listing digest is authentic.
    let if_trusted = |cause: Cause| match &*task.listing {
        Listing::Proven(_) => cause,
        Listing::Unproven(by) => Cause::ListedByUnverifiedDigest(by.clone()),
    };
    if let Some(algorithm) = task.hash_algorithm.as_deref().filter(|a| *a != SHA_256) {
        let cause = Cause::UnsupportedAlgorithm(algorithm.to_owned());
        return (cause, None, None);
    }
    let expected = Sha256::from_hex(&task.hash);
    let inflated = match fetched() {
        Fetched::Inflated(inflated) => inflated,
        Fetched::NotFound => {
            return (if_trusted(Cause::NotFound), expected, None);
        }
        Fetched::Refused(cause) => return (cause, expected, None),
        // CloudTrail never writes these, whatever a digest says: tampering on their own.
        Fetched::Gzip(GzipError::TrailingData) => {
            return (Cause::DataAfterGzip, expected, None);
        }
        Fetched::Gzip(GzipError::Invalid(why)) => {
            return (Cause::NotGzip(why), expected, None);
        }
        Fetched::Gzip(GzipError::Io(why)) => {
            return (Cause::Unreadable(why), expected, None);
        }
        Fetched::Gzip(GzipError::TooLarge { limit }) => {
            let cause = Cause::Unreadable(format!("inflates past {limit} bytes"));
            return (cause, expected, None);
        }
    };
    let actual = Some(inflated.sha256);
    let cause = match expected {
        Some(e) if e == inflated.sha256 => if_trusted(Cause::Verified),
        Some(_) => if_trusted(Cause::HashMismatch),
        None => if_trusted(Cause::InvalidFormat(format!(
            "the digest lists hash value '{}'",
            task.hash
        ))),
    };
    (cause, expected, actual)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testkit::{BUCKET, gzip};
    use crate::store::Metadata;
    use crate::store::memory::MemoryStore;
    use crate::verdict::Status;
    use std::sync::Arc;

    const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/\
                       111122223333_CloudTrail_us-east-1_20261101T0105Z_abc123.json.gz";
    const CONTENT: &[u8] = br#"{"Records":[]}"#;

    /// The one place a test task is built: what the listing digest says of the log.
    fn task(hash: &str, trusted: bool) -> LogTask {
        LogTask {
            bucket: BUCKET.to_owned(),
            key: KEY.to_owned(),
            hash: hash.to_owned(),
            hash_algorithm: Some(SHA_256.to_owned()),
            listing: Arc::new(if trusted {
                Listing::Proven(crate::engine::testkit::proof("the-digest"))
            } else {
                Listing::Unproven("the-digest".to_owned())
            }),
            backfill: false,
        }
    }

    fn inflated(bytes: &[u8]) -> Fetched {
        Fetched::Inflated(Inflated {
            sha256: Sha256::of(bytes),
            size: bytes.len() as u64,
        })
    }

    /// A status and a cause code.
    type Expected = (Status, &'static str);

    /// Every way a listed log can come back, under an authentic and an unproven digest. An
    /// unproven digest can neither clear nor convict a log by its hash or its absence; bytes
    /// CloudTrail never writes (not gzip, a second member) convict whoever listed them.
    #[test]
    fn listed_log_verdicts_by_what_was_fetched_and_who_vouches() {
        use crate::verdict::Status::*;
        let right = Sha256::of(CONTENT).to_hex();
        let other = Sha256::of(b"other").to_hex();
        let cases: Vec<(&str, Fetched, &str, [Expected; 2])> = vec![
            (
                "hash matches",
                inflated(CONTENT),
                &right,
                [
                    (Intact, "verified"),
                    (Unverifiable, "listed-by-unverified-digest"),
                ],
            ),
            (
                "hash differs",
                inflated(b"other content"),
                &right,
                [
                    (Modified, "hash-mismatch"),
                    (Unverifiable, "listed-by-unverified-digest"),
                ],
            ),
            (
                "digest's hash is not hex",
                inflated(CONTENT),
                "zz",
                [
                    (Modified, "invalid-format"),
                    (Unverifiable, "listed-by-unverified-digest"),
                ],
            ),
            (
                "absent",
                Fetched::NotFound,
                &right,
                [
                    (Deleted, "not-found"),
                    (Unverifiable, "listed-by-unverified-digest"),
                ],
            ),
            (
                "access denied",
                Fetched::Refused(Cause::Inaccessible("denied".into())),
                &right,
                [
                    (Unverifiable, "inaccessible"),
                    (Unverifiable, "inaccessible"),
                ],
            ),
            (
                "in Glacier: never deleted, never intact",
                Fetched::Refused(Cause::Archived("GLACIER".into())),
                &right,
                [(Unverifiable, "archived"), (Unverifiable, "archived")],
            ),
            (
                "KMS key not usable",
                Fetched::Refused(Cause::KmsAccessDenied("arn:aws:kms:k".into())),
                &right,
                [
                    (Unverifiable, "kms-access-denied"),
                    (Unverifiable, "kms-access-denied"),
                ],
            ),
            (
                "a second gzip member",
                Fetched::Gzip(GzipError::TrailingData),
                &right,
                [
                    (Modified, "data-after-gzip-member"),
                    (Modified, "data-after-gzip-member"),
                ],
            ),
            (
                "not gzip",
                Fetched::Gzip(GzipError::Invalid("bad header".into())),
                &right,
                [(Modified, "not-gzip"), (Modified, "not-gzip")],
            ),
            (
                "read error",
                Fetched::Gzip(GzipError::Io("eio".into())),
                &right,
                [(Unverifiable, "unreadable"), (Unverifiable, "unreadable")],
            ),
            (
                "inflates too far",
                Fetched::Gzip(GzipError::TooLarge { limit: 1 }),
                &other,
                [(Unverifiable, "unreadable"), (Unverifiable, "unreadable")],
            ),
        ];
        for (what, fetched, hash, [authentic, unproven]) in cases {
            for (trusted, (status, cause)) in [(true, authentic), (false, unproven)] {
                let v = check_with(&task(hash, trusted), || fetched.clone());
                assert_eq!(
                    (v.status, v.cause.code()),
                    (status, cause),
                    "{what}, trusted {trusted}"
                );
                assert_eq!(v.listed_by.as_deref(), Some("the-digest"), "{what}");
                assert_eq!(v.region.as_deref(), Some("us-east-1"), "{what}");
            }
        }
    }

    #[test]
    fn log_hashed_with_another_algorithm_is_unverifiable_whatever_its_bytes() {
        let mut t = task(&Sha256::of(CONTENT).to_hex(), true);
        t.hash_algorithm = Some("MD5".to_owned());
        let v = check_with(&t, || inflated(CONTENT));
        assert_eq!(v.status, Status::Unverifiable);
        assert_eq!(v.cause, Cause::UnsupportedAlgorithm("MD5".to_owned()));
    }

    #[test]
    fn fetch_hashes_the_inflated_first_member_and_keeps_absence_apart_from_denial() {
        let mut store = MemoryStore::new();
        store.put(BUCKET, KEY, gzip(CONTENT), Metadata::default());
        assert_eq!(
            fetch(&store, BUCKET, KEY).sha256(),
            Some(Sha256::of(CONTENT))
        );
        assert!(matches!(fetch(&store, BUCKET, "absent"), Fetched::NotFound));
        store.deny(BUCKET, KEY);
        assert!(matches!(
            fetch(&store, BUCKET, KEY),
            Fetched::Refused(Cause::Inaccessible(_))
        ));
        store.put(BUCKET, "plain", CONTENT.to_vec(), Metadata::default());
        assert!(matches!(
            fetch(&store, BUCKET, "plain"),
            Fetched::Gzip(GzipError::Invalid(_))
        ));
    }
}
