//! Which layout a local folder has: a mirror of one bucket (`ROOT/KEY`, as `aws s3 sync`
//! leaves it) or a folder per bucket (`ROOT/BUCKET/KEY`). Decided here, from what the
//! folder's digests record about where they were delivered, not by the store.

use std::path::Path;

use crate::error::ConfigError;
use crate::store::local::{Layout, LocalStore};

use super::load;

/// How many digests are read to tell a mirror from a per-bucket layout.
const LAYOUT_SAMPLE: usize = 8;

/// Opens the folder `root`: as a mirror of `bucket` when one is named, else in the layout its
/// digests show. A digest that records `digestS3Object` equal to its path below the root says
/// "mirror" (and of which bucket); one whose path is `BUCKET/KEY` for the recorded bucket and
/// key says "per bucket". A mirror wins a tie: the per-bucket reading would call every digest
/// of a mirror with a key prefix moved.
pub fn open_local(root: &Path, bucket: Option<&str>) -> Result<LocalStore, ConfigError> {
    if let Some(bucket) = bucket {
        let layout = Layout::Mirror {
            bucket: bucket.to_owned(),
        };
        return LocalStore::with_layout(root, layout);
    }
    // The folder read as a mirror of a bucket with no name: keys are paths below the root,
    // read through the same checks as every other read.
    let raw = LocalStore::with_layout(
        root,
        Layout::Mirror {
            bucket: String::new(),
        },
    )?;
    let layout = detect(&raw)?;
    LocalStore::with_layout(raw.root(), layout)
}

fn detect(raw: &LocalStore) -> Result<Layout, ConfigError> {
    let root = raw.root().to_owned();
    let digests = raw.sample_digests(LAYOUT_SAMPLE)?;
    if digests.is_empty() {
        return Err(ConfigError::NoDigests { path: root });
    }
    let mut per_bucket_votes = 0;
    let mut mirror_bucket = None;
    for path in &digests {
        let Ok(loaded) = load::load(raw, "", path) else {
            continue;
        };
        let Some(content) = loaded.content() else {
            continue;
        };
        let (bucket, key) = (&content.digest.bucket, &content.digest.key);
        if key == path {
            mirror_bucket.get_or_insert_with(|| bucket.clone());
        } else if path
            .split_once('/')
            .is_some_and(|(b, k)| b == bucket && k == key)
        {
            per_bucket_votes += 1;
        }
    }
    if per_bucket_votes > 0 && mirror_bucket.is_none() {
        return Ok(Layout::PerBucket);
    }
    if let Some(bucket) = mirror_bucket {
        return Ok(Layout::Mirror { bucket });
    }
    // None of the digests sampled could be read: guessing a bucket would turn every digest
    // into a "moved" one, so ask instead.
    Err(ConfigError::Option {
        option: "--bucket",
        why: format!(
            "cannot tell which bucket {} mirrors: none of its first digests could be read; \
             name the bucket with --bucket",
            root.display()
        ),
    })
}
