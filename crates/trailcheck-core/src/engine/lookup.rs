//! What a chain walk may ask the store for beyond the digests listed in range: a predecessor
//! in another bucket, and the successor of a digest whose signature metadata is missing.

use chrono::Duration;

use crate::objectkey::{self, ObjectName};
use crate::store::{FetchError, Store};

use super::load::{self, LoadedDigest};

/// Digests the walk fetches on demand.
pub trait Lookup: Sync {
    /// A digest the listing did not hold: another bucket, or outside the range.
    fn fetch(&self, bucket: &str, key: &str) -> Result<LoadedDigest, FetchError>;

    /// The next digest of `digest`'s chain after it, when the store holds one.
    fn successor(&self, digest: &LoadedDigest) -> Option<LoadedDigest>;
}

/// Lookups answered by a store.
pub struct StoreLookup<'a> {
    pub store: &'a dyn Store,
}

impl Lookup for StoreLookup<'_> {
    fn fetch(&self, bucket: &str, key: &str) -> Result<LoadedDigest, FetchError> {
        load::load(self.store, bucket, key)
    }

    /// Looks in the digest's own day folder, then the next day's: digests come hourly.
    fn successor(&self, digest: &LoadedDigest) -> Option<LoadedDigest> {
        let name = digest.name.as_ref()?;
        for day in [name.end, name.end + Duration::days(1)] {
            let folder = format!("{}{}/", name.folder.digest_dir(), day.format("%Y/%m/%d"));
            let keys = self.store.list(&digest.bucket, &folder).ok()?;
            let next = keys
                .iter()
                .filter_map(|key| match objectkey::parse(key) {
                    Some(ObjectName::Digest(n))
                        if n.trail == name.trail
                            && n.home_region == name.home_region
                            && n.backfill == name.backfill
                            && n.end > name.end =>
                    {
                        Some((n.end, key))
                    }
                    _ => None,
                })
                .min();
            if let Some((_, key)) = next {
                return load::load(self.store, &digest.bucket, key).ok();
            }
        }
        None
    }
}
