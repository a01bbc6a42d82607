//! `validate --versions`: what S3 keeps besides the current objects, for an S3 source.
//!
//! A verdict is about the object read now; a versioned bucket may also hold what was there
//! before. After the run, each day folder the report touches is listed with
//! ListObjectVersions, and each file with more than its current version gets its history:
//! how often it was overwritten, when it was deleted (and restored), and which version is
//! the one CloudTrail delivered, found by hashing old versions against the digest's record.
//! A log missing now whose delivered version still exists stays `deleted`, with
//! "restorable: version ID". The buckets' versioning and Object Lock settings go into the
//! report. Only reads: ListObjectVersions, GetObject by version, GetBucketVersioning,
//! GetObjectLockConfiguration.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use trailcheck_aws::s3::S3Store;
use trailcheck_core::gzip;
use trailcheck_core::verdict::{
    BucketProtection, FileVerdict, History, ObjectVersion, Report, Status,
};

/// Gives every file of `report` with other versions its history, and the report its
/// buckets' protection. Listing failures are said in the bucket's `problem`.
pub fn annotate(store: &S3Store, report: &mut Report) {
    let objects: Vec<(String, String)> = (report.files.iter())
        .map(|f| (f.bucket.clone(), f.key.clone()))
        .collect();
    let listed = list(store, &objects);
    let locking = listed.locking();
    report.files.par_iter_mut().for_each(|file| {
        let key = (file.bucket.clone(), file.key.clone());
        let mut history =
            (listed.versions.get(&key)).and_then(|entries| history_of(store, file, entries));
        if file.status != Status::Deleted {
            add_lock(store, &locking, &key, &mut history);
        }
        file.history = history.map(Box::new);
    });
    report.buckets = listed.buckets;
}

/// What S3 keeps for each of `objects` that has more than its current version or an Object
/// Lock, without judging which version CloudTrail delivered (`archive --versions`).
pub fn histories(
    store: &S3Store,
    listed: &Listed,
    objects: &[(String, String)],
) -> Vec<((String, String), History)> {
    let locking = listed.locking();
    objects
        .par_iter()
        .filter_map(|key| {
            let mut history = listed
                .versions
                .get(key)
                .filter(|entries| !only_current(entries))
                .map(|entries| History {
                    versions: entries.clone(),
                    ..History::default()
                });
            add_lock(store, &locking, key, &mut history);
            Some((key.clone(), history?))
        })
        .collect()
}

/// A current object's Object Lock, asked only in buckets with Object Lock on.
fn add_lock(
    store: &S3Store,
    locking: &BTreeSet<String>,
    (bucket, key): &(String, String),
    history: &mut Option<History>,
) {
    if locking.contains(bucket)
        && let Ok(Some(lock)) = store.object_lock(bucket, key)
    {
        history.get_or_insert_with(History::default).lock = Some(lock);
    }
}

/// S3 keeps the key's current object and nothing else.
fn only_current(entries: &[ObjectVersion]) -> bool {
    entries.len() == 1 && entries[0].latest && !entries[0].delete_marker
}

/// What S3 keeps for a set of objects: the versions of each, and their buckets' protection.
pub struct Listed {
    pub versions: HashMap<(String, String), Vec<ObjectVersion>>,
    pub buckets: Vec<BucketProtection>,
}

impl Listed {
    /// The buckets with Object Lock on: only their objects can be locked.
    pub fn locking(&self) -> BTreeSet<String> {
        (self.buckets.iter())
            .filter(|p| p.object_lock.is_some())
            .map(|p| p.bucket.clone())
            .collect()
    }
}

/// Lists the versions of every day folder `objects` lie in (ListObjectVersions), and reads
/// each bucket's versioning and Object Lock settings.
pub fn list(store: &S3Store, objects: &[(String, String)]) -> Listed {
    let folders: BTreeSet<(String, String)> = objects
        .iter()
        .filter_map(|(bucket, key)| {
            let (folder, _) = key.rsplit_once('/')?;
            Some((bucket.clone(), format!("{folder}/")))
        })
        .collect();
    let listings: Vec<_> = folders
        .par_iter()
        .map(|(bucket, prefix)| (bucket, store.list_versions(bucket, prefix)))
        .collect();
    let mut versions: HashMap<(String, String), Vec<ObjectVersion>> = HashMap::new();
    let mut problems: HashMap<&str, Vec<String>> = HashMap::new();
    for (bucket, listing) in &listings {
        match listing {
            Ok(by_key) => {
                for (key, entries) in by_key {
                    versions.insert((bucket.to_string(), key.clone()), entries.clone());
                }
            }
            Err(e) => problems
                .entry(bucket.as_str())
                .or_default()
                .push(e.to_string()),
        }
    }
    let buckets: BTreeSet<&str> = objects.iter().map(|(b, _)| b.as_str()).collect();
    let buckets = buckets
        .into_iter()
        .map(|bucket| {
            let mut protection = store.protection(bucket);
            if let Some(listing) = problems.get(bucket) {
                let mut all: Vec<String> = protection.problem.take().into_iter().collect();
                all.extend(listing.iter().cloned());
                protection.problem = Some(all.join("; "));
            }
            protection
        })
        .collect();
    Listed { versions, buckets }
}

/// The history of one file, when S3 keeps more than its current object, with the version
/// CloudTrail delivered: the oldest whose content the chain expects.
fn history_of(store: &S3Store, file: &FileVerdict, entries: &[ObjectVersion]) -> Option<History> {
    if only_current(entries) {
        return None;
    }
    let mut history = History {
        versions: entries.to_vec(),
        ..History::default()
    };
    let current = entries.iter().find(|v| v.latest && !v.delete_marker);
    let Some(expected) = file.expected_sha256 else {
        // Nothing says what was delivered (a newest digest): the current object was judged.
        history.delivered = current
            .filter(|_| file.status == Status::Intact)
            .map(|v| v.version_id.clone());
        return Some(history);
    };
    // CloudTrail wrote the key once: the delivered version is the oldest whose content is
    // what the chain expects. Older versions are hashed, oldest first; the current object
    // was judged already.
    let older = entries
        .iter()
        .rev()
        .filter(|v| !v.delete_marker && !v.latest);
    for version in older {
        let Ok(object) = store.get_version(&file.bucket, &file.key, &version.version_id) else {
            continue;
        };
        if gzip::hash_stream(object.body).is_ok_and(|h| h.sha256 == expected) {
            history.delivered = Some(version.version_id.clone());
            if file.status != Status::Intact {
                history.restorable = Some(version.version_id.clone());
            }
            return Some(history);
        }
    }
    if file.status == Status::Intact {
        history.delivered = current.map(|v| v.version_id.clone());
    }
    Some(history)
}
