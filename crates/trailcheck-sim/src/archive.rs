//! The archive in memory: every object as it will be written, with its signature metadata.
//! Tampering edits this, so the trail itself stays the record of what CloudTrail wrote.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use super::SimError;
use super::digest::SIGNATURE_ALGORITHM;
use super::manifest::FileEntry;
use super::trail::Trail;
use trailcheck_core::time;
use trailcheck_core::verdict::FileKind;

/// Where an object lives.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ObjectId {
    pub bucket: String,
    pub key: String,
}

impl ObjectId {
    pub fn new(bucket: &str, key: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// One object's bytes, metadata and manifest entry.
pub(crate) struct StoredObject {
    pub body: Vec<u8>,
    pub sidecar: Option<Sidecar>,
    pub entry: FileEntry,
}

/// A digest's S3 user metadata, written beside it as `KEY.meta.json`.
#[derive(Clone, Debug)]
pub(crate) struct Sidecar {
    pub signature: String,
    pub backfill_generation: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
struct HeadObject<'a> {
    #[serde(rename = "Metadata")]
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    signature: &'a str,
    #[serde(rename = "signature-algorithm")]
    signature_algorithm: &'static str,
    #[serde(
        rename = "backfill-generation-timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    backfill_generation_timestamp: Option<String>,
}

impl Sidecar {
    /// What `aws s3api head-object` prints of the metadata.
    pub fn to_json(&self) -> Result<Vec<u8>, SimError> {
        let head = HeadObject {
            metadata: Metadata {
                signature: &self.signature,
                signature_algorithm: SIGNATURE_ALGORITHM,
                backfill_generation_timestamp: self.backfill_generation.map(time::display),
            },
        };
        let mut json = serde_json::to_vec_pretty(&head).map_err(SimError::encode("metadata"))?;
        json.push(b'\n');
        Ok(json)
    }
}

/// Every object, ordered by bucket and key so writing is deterministic.
#[derive(Default)]
pub(crate) struct Archive {
    pub objects: BTreeMap<ObjectId, StoredObject>,
}

impl Archive {
    /// The trail as CloudTrail delivered it: gzipped files, a sidecar beside every digest.
    pub fn from_trail(trail: &Trail) -> Result<Self, SimError> {
        let mut archive = Archive::default();
        for log in &trail.logs {
            let entry = FileEntry {
                kind: FileKind::Log,
                bucket: log.bucket.clone(),
                key: log.key.clone(),
                region: log.region.clone(),
                hour: log.hour,
                backfill: log.late,
                time: log.delivered,
                listed_by: log.listed_by.clone(),
            };
            archive.insert(gzip(&log.key, &log.content)?, None, entry);
        }
        for digest in &trail.digests {
            let entry = FileEntry {
                kind: FileKind::Digest,
                bucket: digest.bucket.clone(),
                key: digest.key.clone(),
                region: digest.region.clone(),
                hour: digest.hour,
                backfill: digest.backfill,
                time: digest.end,
                listed_by: None,
            };
            let sidecar = Sidecar {
                signature: digest.signature.clone(),
                backfill_generation: digest.generated,
            };
            archive.insert(gzip(&digest.key, &digest.content)?, Some(sidecar), entry);
        }
        Ok(archive)
    }

    pub fn insert(&mut self, body: Vec<u8>, sidecar: Option<Sidecar>, entry: FileEntry) {
        let id = ObjectId::new(&entry.bucket, &entry.key);
        self.objects.insert(
            id,
            StoredObject {
                body,
                sidecar,
                entry,
            },
        );
    }

    pub fn get_mut(&mut self, bucket: &str, key: &str) -> Option<&mut StoredObject> {
        self.objects.get_mut(&ObjectId::new(bucket, key))
    }

    pub fn remove(&mut self, bucket: &str, key: &str) -> Option<StoredObject> {
        self.objects.remove(&ObjectId::new(bucket, key))
    }

    pub fn count(&self, kind: FileKind) -> usize {
        self.objects
            .values()
            .filter(|o| o.entry.kind == kind)
            .count()
    }
}

/// One normal gzip member, as CloudTrail writes. The header carries no name and no time,
/// so the bytes depend on the content only.
pub(crate) fn gzip(key: &str, content: &[u8]) -> Result<Vec<u8>, SimError> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(content.len() / 4),
        Compression::default(),
    );
    encoder
        .write_all(content)
        .and_then(|()| encoder.finish())
        .map_err(|source| SimError::Compress {
            key: key.to_owned(),
            source,
        })
}
