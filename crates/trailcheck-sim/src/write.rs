//! Writes the archive to a folder: each object at its layout path, each digest's metadata in
//! a `.meta.json` sidecar beside it; and the manifest and public keys, when asked.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::SimError;
use super::archive::Archive;
use super::manifest::Manifest;
use super::sign::{self, PublicKeyRecord};
use super::spec::Layout;

/// File name of the manifest under the output folder.
pub const MANIFEST_FILE: &str = "simulation.json";
/// File name of the public key list under `--keys-out`.
pub const PUBLIC_KEYS_FILE: &str = "public-keys.json";

impl Layout {
    /// Where the object `bucket`/`key` lives under `out`.
    pub fn path(self, out: &Path, bucket: &str, key: &str) -> PathBuf {
        let mut path = out.to_path_buf();
        if self == Layout::PerBucket {
            path.push(bucket);
        }
        path.extend(key.split('/'));
        path
    }
}

/// The sidecar holding an object's S3 metadata: its path with `.meta.json` appended.
pub fn sidecar_path(object: &Path) -> PathBuf {
    let mut name = OsString::from(object.as_os_str());
    name.push(".meta.json");
    PathBuf::from(name)
}

/// Refuses a folder with files in it: a trail mixed with older files would not match its
/// manifest.
pub(crate) fn ensure_empty(out: &Path) -> Result<(), SimError> {
    match fs::read_dir(out).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(SimError::OutNotEmpty {
            path: out.to_owned(),
        }),
        Ok(false) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(SimError::write(out)(e)),
    }
}

pub(crate) fn write_archive(archive: &Archive, layout: Layout, out: &Path) -> Result<(), SimError> {
    for object in archive.objects.values() {
        let path = layout.path(out, &object.entry.bucket, &object.entry.key);
        write_file(&path, &object.body)?;
        if let Some(sidecar) = &object.sidecar {
            write_file(&sidecar_path(&path), &sidecar.to_json()?)?;
        }
    }
    Ok(())
}

/// Writes `OUT/simulation.json`.
pub fn write_manifest(manifest: &Manifest, out: &Path) -> Result<PathBuf, SimError> {
    let mut json = serde_json::to_vec_pretty(manifest).map_err(SimError::encode("manifest"))?;
    json.push(b'\n');
    let path = out.join(MANIFEST_FILE);
    write_file(&path, &json)?;
    Ok(path)
}

/// Writes `DIR/public-keys.json` in the shape `aws cloudtrail list-public-keys` prints.
pub fn write_public_keys(keys: &[PublicKeyRecord], dir: &Path) -> Result<PathBuf, SimError> {
    let path = dir.join(PUBLIC_KEYS_FILE);
    write_file(&path, &sign::list_public_keys_json(keys)?)?;
    Ok(path)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SimError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(SimError::write(parent))?;
    }
    fs::write(path, bytes).map_err(SimError::write(path))
}
