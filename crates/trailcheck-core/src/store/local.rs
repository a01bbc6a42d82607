//! A local folder as a store: a mirror of one bucket, or one folder per bucket.
//!
//! Keys come from digests an attacker may have written, so a key is turned into a path
//! only after every component is checked, and the file it opens must resolve inside the
//! archive root: `../`, absolute keys and symlinks out of the root are refused.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::ops::ControlFlow;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

pub use super::sidecar::SIDECAR_SUFFIX;
use super::{FetchError, Metadata, Object, Store, sidecar};
use crate::error::ConfigError;

/// How keys map to paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `ROOT/KEY`, as `aws s3 sync s3://BUCKET ROOT` leaves it.
    Mirror { bucket: String },
    /// `ROOT/BUCKET/KEY`.
    PerBucket,
}

/// A read-only store over a local folder.
pub struct LocalStore {
    root: PathBuf,
    layout: Layout,
    /// Folders already resolved through symlinks: a day folder holds many files, and
    /// resolving every component of every file's path costs more than hashing small logs.
    /// Keyed by the path's bytes: hashing a `Path` walks its components, for every file.
    resolved: Mutex<HashMap<OsString, Result<PathBuf, FetchError>>>,
}

impl LocalStore {
    /// Opens `root` read as `layout`. Which layout a folder has is decided from what its
    /// digests record, by the engine (`engine::open_local`): a store only fetches.
    pub fn with_layout(root: &Path, layout: Layout) -> Result<Self, ConfigError> {
        let unreadable = |why: String| ConfigError::SourceUnreadable {
            path: root.to_owned(),
            why,
        };
        let root = fs::canonicalize(root).map_err(|e| unreadable(e.to_string()))?;
        if !root.is_dir() {
            return Err(unreadable("not a folder".to_owned()));
        }
        Ok(Self {
            root,
            layout,
            resolved: Mutex::new(HashMap::new()),
        })
    }

    /// The root folder, as the store resolved it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Up to `limit` digest files anywhere under the root, as paths relative to it (without
    /// entering log folders): what a layout is told from.
    pub fn sample_digests(&self, limit: usize) -> Result<Vec<String>, ConfigError> {
        let root = self.root.as_path();
        let mut digests = Vec::new();
        let mut enter = |dir: &Path| dir.file_name().is_none_or(|n| n != "CloudTrail");
        let _stopped_early = visit(root, root, &mut enter, &mut |key| {
            if key.contains("/CloudTrail-Digest/") {
                digests.push(key);
            }
            if digests.len() < limit {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })
        .map_err(|e| ConfigError::SourceUnreadable {
            path: root.to_owned(),
            why: e.to_string(),
        })?;
        Ok(digests)
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The folder holding `bucket`'s objects, if this store holds that bucket.
    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, FetchError> {
        match &self.layout {
            Layout::Mirror { bucket: mirrored } if mirrored == bucket => Ok(self.root.clone()),
            Layout::Mirror { bucket: mirrored } => Err(FetchError::Inaccessible(format!(
                "bucket {bucket} is not in the archive (it mirrors bucket {mirrored}); \
                 keep one folder per bucket to validate chains that span buckets"
            ))),
            Layout::PerBucket => {
                let dir = self.root.join(safe_component(bucket).ok_or_else(|| {
                    FetchError::Inaccessible(format!("'{bucket}' is not a bucket name"))
                })?);
                if dir.is_dir() {
                    Ok(dir)
                } else {
                    Err(FetchError::Inaccessible(format!(
                        "bucket {bucket} is not in the archive (no folder {})",
                        dir.display()
                    )))
                }
            }
        }
    }

    /// The path of an object, refusing keys that would leave the bucket folder.
    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, FetchError> {
        let dir = self.bucket_dir(bucket)?;
        let relative = safe_relative(key).ok_or_else(|| {
            FetchError::Inaccessible(format!(
                "key '{}' is not a safe relative path; refused",
                key.escape_debug()
            ))
        })?;
        Ok(dir.join(relative))
    }

    /// Opens a file that must resolve inside the root, even through symlinks.
    fn open_inside(&self, path: &Path) -> Result<File, FetchError> {
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(FetchError::NotFound);
        };
        let candidate = self.resolve_folder(parent)?.join(name);
        // Looked at before it is opened, though a single O_NOFOLLOW open would save a path
        // lookup: opening a FIFO waits for a writer, and opening a device node (a hostile
        // tarball extracted as root can hold one) can act on the device.
        let kind = match fs::symlink_metadata(&candidate) {
            Ok(meta) => meta.file_type(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FetchError::NotFound),
            Err(e) => return Err(FetchError::Inaccessible(e.to_string())),
        };
        let real = if kind.is_symlink() {
            let real = self.resolve_inside(&candidate)?;
            if !real.is_file() {
                return Err(FetchError::NotFound);
            }
            real
        } else if kind.is_file() {
            candidate
        } else {
            return Err(FetchError::NotFound);
        };
        File::open(&real).map_err(|e| FetchError::Inaccessible(e.to_string()))
    }

    /// A folder's real path, checked to be inside the root; remembered.
    fn resolve_folder(&self, folder: &Path) -> Result<PathBuf, FetchError> {
        let mut cache = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = cache.get(folder.as_os_str()) {
            return known.clone();
        }
        let resolved = self.resolve_inside(folder);
        cache.insert(folder.as_os_str().to_owned(), resolved.clone());
        resolved
    }

    /// Resolves every symlink in `path` and refuses a result outside the root.
    fn resolve_inside(&self, path: &Path) -> Result<PathBuf, FetchError> {
        let real = match fs::canonicalize(path) {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FetchError::NotFound),
            Err(e) => return Err(FetchError::Inaccessible(e.to_string())),
        };
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(FetchError::Inaccessible(format!(
                "{} links outside the archive; refused",
                path.display()
            )))
        }
    }

    fn read_sidecar(&self, object: &Path) -> Metadata {
        let mut name = object.as_os_str().to_owned();
        name.push(SIDECAR_SUFFIX);
        let path = PathBuf::from(name);
        match self.open_inside(&path) {
            Err(FetchError::NotFound) => Metadata::default(),
            Err(e) => Metadata::unreadable(format!("signature sidecar {}: {e}", path.display())),
            Ok(file) => sidecar::read(file).unwrap_or_else(|why| {
                Metadata::unreadable(format!("signature sidecar {}: {why}", path.display()))
            }),
        }
    }
}

/// A single path component that is an ordinary name. A backslash is an ordinary character
/// in an S3 key and in a Unix file name, not a separator, so it is allowed.
pub fn safe_component(name: &str) -> Option<&str> {
    let ok = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0']);
    ok.then_some(name)
}

/// A key as a relative path of ordinary components only: `None` for an empty, absolute or
/// `..` key, an empty component, or one holding NUL. Public so the path fuzz target
/// can check that whatever it accepts stays below any root it is joined to.
pub fn safe_relative(key: &str) -> Option<PathBuf> {
    if !key.split('/').all(|part| safe_component(part).is_some()) {
        return None;
    }
    let path = PathBuf::from(key);
    let only_normal = path.components().all(|c| matches!(c, Component::Normal(_)));
    (only_normal && !key.is_empty()).then_some(path)
}

/// Every regular file under `dir` (symlinked folders are not entered), as keys relative
/// to `base`, skipping signature sidecars.
fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    visit(base, dir, &mut |_| true, &mut |key| {
        out.push(key);
        ControlFlow::Continue(())
    })
    .map(|_| ())
}

/// Walks `dir` in key order, entering only folders `enter` accepts, handing each key to
/// `found` until it breaks.
fn visit(
    base: &Path,
    dir: &Path,
    enter: &mut dyn FnMut(&Path) -> bool,
    found: &mut dyn FnMut(String) -> ControlFlow<()>,
) -> std::io::Result<ControlFlow<()>> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if enter(&path) && visit(base, &path, enter, found)?.is_break() {
                return Ok(ControlFlow::Break(()));
            }
        } else if kind.is_file() || kind.is_symlink() {
            let Some(key) = path.strip_prefix(base).ok().and_then(Path::to_str) else {
                continue;
            };
            if !key.ends_with(SIDECAR_SUFFIX)
                && found(key.replace(std::path::MAIN_SEPARATOR, "/")).is_break()
            {
                return Ok(ControlFlow::Break(()));
            }
        }
    }
    Ok(ControlFlow::Continue(()))
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn buckets(&self) -> Vec<String> {
        match &self.layout {
            Layout::Mirror { bucket } => vec![bucket.clone()],
            Layout::PerBucket => {
                let Ok(entries) = fs::read_dir(&self.root) else {
                    return Vec::new();
                };
                let mut buckets: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .collect();
                buckets.sort();
                buckets
            }
        }
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        let base = self.bucket_dir(bucket)?;
        // Start at the deepest folder the prefix names, so a narrow prefix reads little.
        let folder = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let start = match safe_relative(folder) {
            Some(relative) => base.join(relative),
            None if folder.is_empty() => base.clone(),
            None => return Ok(Vec::new()),
        };
        if !start.is_dir() {
            return Ok(Vec::new());
        }
        let mut keys = Vec::new();
        walk(&base, &start, &mut keys).map_err(|e| FetchError::Inaccessible(e.to_string()))?;
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        let base = self.bucket_dir(bucket)?;
        let dir = match prefix.strip_suffix('/').map(safe_relative) {
            None if prefix.is_empty() => base,
            Some(Some(relative)) => base.join(relative),
            _ => return Ok(Vec::new()),
        };
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FetchError::Inaccessible(format!("{}: {e}", dir.display()))),
        };
        // Symlinked folders are not entered, as in `walk`.
        let mut folders: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .map(|name| format!("{prefix}{name}/"))
            })
            .collect();
        folders.sort();
        Ok(folders)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        let path = self.object_path(bucket, key)?;
        let file = self.open_inside(&path)?;
        // Only digests carry signature metadata; a cheap test, as this runs for every log.
        let metadata = if key.contains("/CloudTrail-Digest/") {
            self.read_sidecar(&path)
        } else {
            Metadata::default()
        };
        Ok(Object {
            body: Box::new(file),
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_keys_are_refused() {
        for key in [
            "",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "./a",
            "a/.",
            "a\0b",
            "a/\0/b",
        ] {
            assert_eq!(safe_relative(key), None, "{key:?}");
        }
        assert_eq!(
            safe_relative("AWSLogs/x.json.gz"),
            Some(PathBuf::from("AWSLogs/x.json.gz"))
        );
    }

    #[test]
    fn keys_with_backslashes_are_one_ordinary_component_each_and_accepted() {
        for key in [
            "a\\..\\b",
            "AWSLogs/x_tab\tquote\"back\\slash.json.gz",
            "..\\x",
        ] {
            let path = safe_relative(key).unwrap_or_else(|| panic!("{key:?} refused"));
            assert!(
                Path::new("/root").join(&path).starts_with("/root"),
                "{key:?}"
            );
            assert_eq!(path.components().count(), key.split('/').count(), "{key:?}");
        }
    }

    #[test]
    fn sidecar_metadata_is_read_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        fs::write(
            &path,
            r#"{"Metadata": {"Signature": "ab", "signature-algorithm": "SHA256withRSA"}}"#,
        )
        .unwrap();
        let m = sidecar::read(File::open(&path).unwrap()).unwrap();
        assert_eq!(m.signature.as_deref(), Some("ab"));
        assert_eq!(m.signature_algorithm.as_deref(), Some("SHA256withRSA"));
        fs::write(&path, "[]").unwrap();
        assert!(sidecar::read(File::open(&path).unwrap()).is_err());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        let store = crate::engine::open_local(root.path(), Some("b")).unwrap();
        assert!(matches!(
            store.get("b", "link"),
            Err(FetchError::Inaccessible(_))
        ));
        assert!(matches!(
            store.get("b", "absent"),
            Err(FetchError::NotFound)
        ));
        assert!(matches!(
            store.get("other", "link"),
            Err(FetchError::Inaccessible(_))
        ));
    }

    #[test]
    fn a_symlinked_folder_out_of_the_root_is_refused_for_every_file_in_it() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("log.json.gz"), "x").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("day")).unwrap();
        let store = crate::engine::open_local(root.path(), Some("b")).unwrap();
        for _ in 0..2 {
            let refused = store.get("b", "day/log.json.gz");
            assert!(
                matches!(refused, Err(FetchError::Inaccessible(why)) if why.contains("outside"))
            );
        }
    }

    #[test]
    fn a_symlink_inside_the_root_is_followed() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("real")).unwrap();
        fs::write(root.path().join("real/f"), "x").unwrap();
        std::os::unix::fs::symlink(root.path().join("real/f"), root.path().join("link")).unwrap();
        let store = crate::engine::open_local(root.path(), Some("b")).unwrap();
        assert!(store.get("b", "link").is_ok());
    }
}
