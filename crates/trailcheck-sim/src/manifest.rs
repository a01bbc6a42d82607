//! The manifest: what the simulator wrote, and what a correct validator must report about
//! each tampered file, each chain break and each gap.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::archive::Archive;
use super::sign::PublicKeyRecord;
use super::spec::{Layout, Spec, TamperKind};
use super::trail::Trail;
use trailcheck_core::verdict::{FileKind, Status};

/// Everything a test needs to check a validator against this trail.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// The options the trail was made with (keys by name and fingerprint only).
    pub spec: Spec,
    pub trail_arns: Vec<String>,
    pub home_region: String,
    pub regions: Vec<String>,
    pub buckets: Vec<String>,
    pub layout: Layout,
    /// Nominal span of the digests: `start` to `start + hours`.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The newest digest end time written.
    pub newest_digest_end: Option<DateTime<Utc>>,
    pub digests_written: usize,
    pub logs_written: usize,
    /// The keys that verify the trail (the rogue key is not among them).
    pub public_keys: Vec<PublicKeyRecord>,
    /// The unpublished key of an `unknown-key` tampering.
    pub rogue_key_fingerprint: Option<String>,
    /// Every file in the archive as written (after tampering), by bucket and key.
    pub files: Vec<FileEntry>,
    pub tampered: Vec<Tampering>,
    pub chain_breaks: Vec<ChainBreak>,
    pub gaps: Vec<GapRecord>,
}

/// One file written.
#[derive(Clone, Debug, Serialize)]
pub struct FileEntry {
    pub kind: FileKind,
    pub bucket: String,
    pub key: String,
    /// The region whose folder holds it.
    pub region: String,
    /// The hour, from the start, it belongs to.
    pub hour: u32,
    /// A backfill digest, or a late log listed only by one.
    pub backfill: bool,
    /// A digest's end time, or a log's delivery time from its name.
    pub time: DateTime<Utc>,
    /// For a log, the key of the digest that lists it; `None` when no digest does.
    pub listed_by: Option<String>,
}

/// One tampered file and the verdict a correct validator must give it.
#[derive(Clone, Debug, Serialize)]
pub struct Tampering {
    pub kind: TamperKind,
    pub file_kind: FileKind,
    pub bucket: String,
    pub key: String,
    pub region: String,
    pub hour: u32,
    pub expected_status: Status,
    /// Cause codes (`verdict::Cause::code`) a correct validator may give; the first is the
    /// most specific.
    pub expected_causes: Vec<&'static str>,
    /// Whether `aws cloudtrail validate-logs` reports anything wrong for this tampering.
    pub awscli_detects: bool,
    /// Side effects on other files, in words.
    pub note: String,
}

/// Digests deleted from the middle of a chain: the successor names a missing predecessor.
#[derive(Clone, Debug, Serialize)]
pub struct ChainBreak {
    pub region: String,
    pub bucket: String,
    /// The newest digest still present before the break.
    pub after_key: Option<String>,
    /// The digest whose predecessor is missing.
    pub before_key: String,
    /// Start of the first missing digest.
    pub from: DateTime<Utc>,
    /// End of the last missing digest: the start of `before_key`.
    pub to: DateTime<Utc>,
    pub missing_digests: u32,
}

/// Hours with validation off: no digests, and logs nothing vouches for.
#[derive(Clone, Debug, Serialize)]
pub struct GapRecord {
    pub region: String,
    pub bucket: String,
    pub first_hour: u32,
    pub last_hour: u32,
    /// End of the last digest before the gap.
    pub from: DateTime<Utc>,
    /// Start of the starting digest after it.
    pub to: DateTime<Utc>,
    /// Logs delivered in the gap.
    pub logs: Vec<String>,
}

/// What tampering did, for the manifest.
#[derive(Default)]
pub(crate) struct TamperOutcome {
    pub tampered: Vec<Tampering>,
    pub chain_breaks: Vec<ChainBreak>,
}

pub(crate) fn build(
    spec: &Spec,
    trail: &Trail,
    archive: &Archive,
    outcome: TamperOutcome,
    public_keys: Vec<PublicKeyRecord>,
) -> Manifest {
    let files: Vec<FileEntry> = archive.objects.values().map(|o| o.entry.clone()).collect();
    let newest_digest_end = files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .map(|f| f.time)
        .max();
    Manifest {
        spec: spec.clone(),
        trail_arns: vec![spec.trail_arn()],
        home_region: spec.home_region().to_owned(),
        regions: spec.regions.clone(),
        buckets: spec.buckets(),
        layout: spec.layout,
        start: spec.start,
        end: spec.end(),
        newest_digest_end,
        digests_written: archive.count(FileKind::Digest),
        logs_written: archive.count(FileKind::Log),
        public_keys,
        rogue_key_fingerprint: spec.rogue_key.as_ref().map(|k| k.fingerprint().to_owned()),
        files,
        tampered: outcome.tampered,
        chain_breaks: outcome.chain_breaks,
        gaps: trail.gaps.clone(),
    }
}
