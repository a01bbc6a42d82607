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
    Inaccessible(String),
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

/// Fetches a log and hashes its first gzip member.
pub fn fetch(store: &dyn Store, bucket: &str, key: &str) -> Fetched {
    match store.get(bucket, key) {
        Ok(object) => match gzip::hash_stream(object.body) {
            Ok(inflated) => Fetched::Inflated(inflated),
            Err(e) => Fetched::Gzip(e),
        },
        Err(FetchError::NotFound) => Fetched::NotFound,
        Err(FetchError::Inaccessible(why)) => Fetched::Inaccessible(why),
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
    let if_trusted = |cause: Cause| match &task.listing {
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
        Fetched::Inaccessible(why) => {
            return (Cause::Inaccessible(why), expected, None);
        }
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
