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

    /// Takes the digest's list of logs, leaving it empty: for the one reader of the list,
    /// which turns its entries into tasks.
    pub fn take_log_files(&mut self) -> Vec<crate::digest::LogEntry> {
        match &mut self.content {
            Ok(content) => std::mem::take(&mut content.digest.log_files),
            Err(_) => Vec::new(),
        }
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
        Err(error) => match Cause::of_refusal(error) {
            Some(cause) => (Err(cause), Metadata::default()),
            None => return Err(FetchError::NotFound),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::testkit::{self, BUCKET, gzip};
    use crate::store::memory::MemoryStore;

    /// The key of testkit's digest ending at 01:00.
    fn key() -> String {
        testkit::digest_key(1)
    }

    /// That digest's JSON, recording `bucket` as where it was delivered.
    fn digest_json(bucket: &str) -> Vec<u8> {
        let spec = testkit::Spec {
            hour: 1,
            previous: None,
            logs: Vec::new(),
        };
        let mut value: serde_json::Value =
            serde_json::from_slice(&testkit::content(&spec)).unwrap();
        value["digestS3Bucket"] = bucket.into();
        value.to_string().into_bytes()
    }

    fn loaded_from(body: Vec<u8>) -> LoadedDigest {
        let mut store = MemoryStore::new();
        store.put(BUCKET, &key(), body, Metadata::default());
        load(&store, BUCKET, &key()).unwrap()
    }

    /// Each kind of bad digest bytes becomes the cause a renderer reports; none is an error.
    #[test]
    fn digest_bytes_load_to_content_or_to_the_cause_they_deserve() {
        let good = digest_json(BUCKET);
        let mut appended = gzip(&good);
        appended.extend(gzip(b"{}"));
        let mut truncated = gzip(&good);
        truncated.truncate(truncated.len() - 4);
        let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
            ("a signed digest's bytes", gzip(&good), None),
            ("plain JSON, not gzip", good.clone(), Some("not-gzip")),
            (
                "a second gzip member",
                appended,
                Some("data-after-gzip-member"),
            ),
            ("truncated gzip", truncated, Some("not-gzip")),
            (
                "gzip of something not JSON",
                gzip(b"hello"),
                Some("invalid-format"),
            ),
            ("a JSON array", gzip(b"[]"), Some("invalid-format")),
            (
                "no digestEndTime",
                gzip(br#"{"digestStartTime": "2026-11-01T00:00:00Z"}"#),
                Some("missing-field"),
            ),
            ("no bytes at all", Vec::new(), Some("not-gzip")),
        ];
        for (what, body, cause) in cases {
            let loaded = loaded_from(body);
            match (&loaded.content, cause) {
                (Ok(content), None) => {
                    assert_eq!(content.sha256, Sha256::of(&good), "{what}");
                    assert_eq!(content.digest.key, key(), "{what}");
                }
                (Err(got), Some(want)) => assert_eq!(got.code(), want, "{what}: {got}"),
                (got, want) => panic!("{what}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn absent_digest_is_not_found_and_a_denied_one_is_loaded_as_inaccessible() {
        let mut store = MemoryStore::new();
        assert!(matches!(
            load(&store, BUCKET, &key()),
            Err(FetchError::NotFound)
        ));
        store.put(
            BUCKET,
            &key(),
            gzip(&digest_json(BUCKET)),
            Metadata::default(),
        );
        store.deny(BUCKET, &key());
        let loaded = load(&store, BUCKET, &key()).unwrap();
        assert!(matches!(loaded.content, Err(Cause::Inaccessible(_))));
        // The name still comes from the key, so the walk can place the digest in its chain.
        assert!(loaded.name.is_some());
    }

    #[test]
    fn digest_read_elsewhere_than_it_records_says_where_it_belongs() {
        let home = loaded_from(gzip(&digest_json(BUCKET)));
        assert_eq!(home.recorded_elsewhere(), None);
        let moved = loaded_from(gzip(&digest_json("other-bucket")));
        assert_eq!(
            moved.recorded_elsewhere(),
            Some(("other-bucket", key().as_str()))
        );
    }

    #[test]
    fn digest_time_comes_from_its_name_then_its_content() {
        let named = loaded_from(gzip(&digest_json(BUCKET)));
        let expected = crate::time::parse_cloudtrail("2026-11-01T01:00:00Z");
        assert_eq!(named.time(), expected);
        let unnamed = LoadedDigest::new(
            BUCKET,
            "not/a/digest/key.json.gz",
            named.content.clone(),
            Metadata::default(),
        );
        assert!(unnamed.name.is_none());
        assert_eq!(unnamed.time(), expected);
        let neither = LoadedDigest::new(BUCKET, "x", Err(Cause::NotFound), Metadata::default());
        assert_eq!(neither.time(), None);
    }
}
