//! Where files come from: one trait, several backends (local folder and in-memory here; S3 in
//! `trailcheck-aws`).
//!
//! A store only fetches. Hash, size and location checks live in the engine, the same for
//! every backend; a store never judges a file.

pub mod local;
pub mod memory;
pub mod sidecar;

use std::fmt;
use std::io::Read;

/// The user metadata CloudTrail sets on a digest object (`x-amz-meta-*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
    pub backfill_generation_timestamp: Option<String>,
    /// Set when metadata exists but could not be read (a corrupt sidecar file).
    pub problem: Option<String>,
}

/// An object being read.
pub struct Object {
    pub body: Box<dyn Read + Send>,
    pub metadata: Metadata,
}

/// Why an object could not be fetched. Only [`FetchError::NotFound`] means absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The store answered that no such object exists.
    NotFound,
    /// The store refused (access denied) or could not be asked; never proof of absence.
    Inaccessible(String),
    /// The object is in an archive storage class (S3 Glacier Flexible Retrieval, Deep
    /// Archive, an Intelligent-Tiering archive tier) and must be restored before it is read.
    Archived {
        /// The storage class, with the access tier where there is one.
        storage_class: String,
    },
    /// The object is encrypted with a KMS key the caller may not use to decrypt.
    KmsDenied {
        /// The key's ARN or ID, as S3 reports it; empty when S3 did not say.
        key: String,
        why: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::NotFound => f.write_str("not found"),
            FetchError::Inaccessible(why) => f.write_str(why),
            FetchError::Archived { storage_class } => {
                write!(
                    f,
                    "archived in storage class {storage_class}: restore it first"
                )
            }
            FetchError::KmsDenied { key, why } => {
                write!(f, "KMS key {key} may not be used to decrypt it: {why}")
            }
        }
    }
}

/// A source of CloudTrail objects addressed by bucket and key, read-only.
pub trait Store: Sync {
    /// A short description for reports: the folder or `s3://bucket/prefix`.
    fn describe(&self) -> String;

    /// The buckets to search for digest chains.
    fn buckets(&self) -> Vec<String>;

    /// Where in `bucket` the source starts: empty, or a key prefix ending in `/`
    /// (`s3://BUCKET/PREFIX`). The search for `AWSLogs/` begins there.
    fn root(&self, _bucket: &str) -> String {
        String::new()
    }

    /// The keys in `bucket` that start with `prefix`, in lexicographic order.
    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError>;

    /// The keys that start with `prefix` and sort after `start_after`, in order. A store
    /// that can skip ahead (S3's `StartAfter`) lists less.
    fn list_after(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, FetchError> {
        let mut keys = self.list(bucket, prefix)?;
        keys.retain(|k| k.as_str() > start_after);
        Ok(keys)
    }

    /// The folders directly under `prefix` (empty, or ending in `/`), each as a prefix ending
    /// in `/`, in order: what a listing with delimiter `/` calls common prefixes. Walking
    /// folders lets a run list only the days it needs, not a whole bucket.
    fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        let mut folders: Vec<String> = self
            .list(bucket, prefix)?
            .iter()
            .filter_map(|key| {
                let (folder, _) = key.get(prefix.len()..)?.split_once('/')?;
                Some(format!("{prefix}{folder}/"))
            })
            .collect();
        folders.dedup();
        Ok(folders)
    }

    /// Opens an object for reading, with its user metadata.
    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError>;
}
