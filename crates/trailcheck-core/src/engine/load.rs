//! Fetching a digest and turning its bytes into a parsed digest, or into the reason it is not.

use std::io::Read;

use chrono::{DateTime, Utc};

use crate::digest::{Digest, FormatError, MAX_DIGEST_BYTES};
use crate::gzip::{self, GzipError};
use crate::hash::Sha256;
use crate::objectkey::{self, DigestName, ObjectName};
use crate::store::{FetchError, Metadata, Store};
use crate::verdict::Cause;

/// A digest read from the store, parsed or not.
#[derive(Clone, Debug)]
pub struct LoadedDigest {
    pub bucket: String,
    pub key: String,
    /// What the key says, when it follows CloudTrail's naming.
    pub name: Option<DigestName>,
    pub content: Result<Content, Cause>,
    pub metadata: Metadata,
}

/// A digest whose bytes parsed.
#[derive(Clone, Debug)]
pub struct Content {
    pub digest: Digest,
    /// SHA-256 of the uncompressed bytes.
    pub sha256: Sha256,
}

impl LoadedDigest {
    /// The digest's end time: from its name, else its content.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.name
            .as_ref()
            .map(|n| n.end)
            .or_else(|| self.content.as_ref().ok().map(|c| c.digest.end))
    }

    pub fn content(&self) -> Option<&Content> {
        self.content.as_ref().ok()
    }

    /// True when the digest records a location other than where it was found.
    pub fn recorded_elsewhere(&self) -> Option<(&str, &str)> {
        let digest = &self.content().map(|c| &c.digest)?;
        (digest.bucket != self.bucket || digest.key != self.key)
            .then_some((digest.bucket.as_str(), digest.key.as_str()))
    }
}

/// Fetches and parses one digest. A fetch that finds nothing is `Err(NotFound)`; every other
/// problem is a loaded digest carrying the cause.
pub fn load(store: &dyn Store, bucket: &str, key: &str) -> Result<LoadedDigest, FetchError> {
    load_named(store, bucket, key, digest_name(key))
}

/// [`load`] for a digest whose name was parsed already (the inventory parses each key once).
pub fn load_named(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    name: Option<DigestName>,
) -> Result<LoadedDigest, FetchError> {
    let (content, metadata) = match store.get(bucket, key) {
        Ok(object) => (parse(object.body), object.metadata),
        Err(FetchError::NotFound) => return Err(FetchError::NotFound),
        Err(FetchError::Inaccessible(why)) => (Err(Cause::Inaccessible(why)), Metadata::default()),
    };
    Ok(LoadedDigest::named(bucket, key, name, content, metadata))
}

/// The digest name `key` holds, if it is a digest's key.
fn digest_name(key: &str) -> Option<DigestName> {
    match objectkey::parse(key) {
        Some(ObjectName::Digest(name)) => Some(name),
        _ => None,
    }
}

impl LoadedDigest {
    /// A digest read from `bucket`/`key` by any means (a store, an archive's copy): the one
    /// constructor, so the name always comes from the key it was read at.
    pub fn new(
        bucket: &str,
        key: &str,
        content: Result<Content, Cause>,
        metadata: Metadata,
    ) -> Self {
        Self::named(bucket, key, digest_name(key), content, metadata)
    }

    fn named(
        bucket: &str,
        key: &str,
        name: Option<DigestName>,
        content: Result<Content, Cause>,
        metadata: Metadata,
    ) -> Self {
        LoadedDigest {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            name,
            content,
            metadata,
        }
    }
}

/// Inflates (bounded), hashes and parses digest bytes.
pub fn parse(body: impl Read) -> Result<Content, Cause> {
    let bytes = gzip::inflate_bounded(body, MAX_DIGEST_BYTES).map_err(|e| match e {
        GzipError::Io(why) => Cause::Unreadable(why),
        GzipError::TooLarge { limit } => {
            Cause::InvalidFormat(format!("inflates to more than {limit} bytes"))
        }
        GzipError::TrailingData => Cause::DataAfterGzip,
        GzipError::Invalid(why) => Cause::NotGzip(why),
    })?;
    let sha256 = Sha256::of(&bytes);
    let digest = Digest::parse(&bytes).map_err(|e| match e {
        FormatError::Invalid(why) => Cause::InvalidFormat(why),
        FormatError::MissingField(name) => Cause::MissingField(name),
    })?;
    Ok(Content { digest, sha256 })
}
