//! The trail simulator: writes a signed, realistic CloudTrail archive, tampered as asked,
//! and returns a manifest of what a correct validator must conclude about it.
//!
//! The flow: `spec` (what to build, checked without I/O) and `plan` (where each tampering
//! lands) → `trail` (logs and signed digest chains in memory) → `archive` (gzipped objects
//! and metadata) → `tamper` (edits the archive) → `write` (to a folder) → `manifest`.

mod archive;
mod digest;
mod error;
mod events;
mod lake;
mod manifest;
mod plan;
mod rng;
mod sign;
mod spec;
mod tamper;
mod trail;
mod write;

use std::path::Path;

use chrono::Duration;

pub use error::SimError;
pub use lake::{LakeQuery, LakeSpec, LakeTamper, simulate_lake, write_lake_keys};
pub use manifest::{ChainBreak, FileEntry, GapRecord, Manifest, Tampering};
pub use sign::{PublicKeyRecord, SigningKey, TestKeys};
pub use spec::{
    BucketSwitch, DEFAULT_ACCOUNT, DEFAULT_BUCKET, DEFAULT_HOURS, DEFAULT_LOGS_PER_HOUR,
    DEFAULT_REGIONS, DEFAULT_SEED, DEFAULT_TRAIL_NAME, HourRange, KindSpec, Layout, Rotation, Spec,
    TamperKind, TamperSpec, default_start,
};
pub use write::{MANIFEST_FILE, PUBLIC_KEYS_FILE, sidecar_path, write_manifest, write_public_keys};

/// Published keys are valid from this long before the trail starts...
const KEY_VALID_BEFORE_DAYS: i64 = 30;
/// ...to this long after it ends, overlapping an hour at a rotation, as AWS's keys do.
const KEY_VALID_AFTER_DAYS: i64 = 365;

/// Writes the trail `spec` describes into `out` (created if needed; must be empty) and
/// returns its manifest. The manifest is not written: see [`write_manifest`].
pub fn simulate(spec: &Spec, out: &Path) -> Result<Manifest, SimError> {
    spec.check()?;
    let plan = plan::plan(spec)?;
    write::ensure_empty(out)?;
    let trail = trail::build(spec, &plan)?;
    let mut archive = archive::Archive::from_trail(&trail)?;
    let outcome = tamper::apply(spec, &plan, &trail, &mut archive)?;
    write::write_archive(&archive, spec.layout, out)?;
    Ok(manifest::build(
        spec,
        &trail,
        &archive,
        outcome,
        public_keys(spec),
    ))
}

/// The keys CloudTrail would publish for this trail: the signing key, and the rotation key
/// from its rotation on. Never the rogue key.
pub fn public_keys(spec: &Spec) -> Vec<PublicKeyRecord> {
    let from = spec.start - Duration::days(KEY_VALID_BEFORE_DAYS);
    let to = spec.end() + Duration::days(KEY_VALID_AFTER_DAYS);
    match &spec.rotation {
        None => vec![PublicKeyRecord::new(&spec.key, from, to)],
        Some(rotation) => {
            let at = spec.hour_start(rotation.at_hour);
            vec![
                PublicKeyRecord::new(&spec.key, from, at + Duration::hours(1)),
                PublicKeyRecord::new(&rotation.key, at - Duration::hours(1), to),
            ]
        }
    }
}
