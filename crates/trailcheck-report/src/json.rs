//! The JSON format: one object per run, with its own serialize-only types.
//!
//! The types here are the schema (documented in the README), kept apart from the verdict
//! model so that renaming a field or variant inside trailcheck cannot silently change what
//! scripts read. Bump [`VERSION`] when a field changes meaning or goes away.

use std::collections::HashMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::Options;
use trailcheck_core::keys::Provenance;
use trailcheck_core::time;
use trailcheck_core::verdict::{
    BucketProtection, ChainId, FileKind, FileVerdict, Gap, GapKind, History, KeyTrust, KeyUse,
    Outcome, Report, Status, Trust,
};

/// The schema version, the document's first field.
pub(crate) const VERSION: u32 = 1;

pub(super) fn render(report: &Report, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &Document::new(report, opts))?;
    writeln!(out)?;
    out.flush()
}

/// One file as `files[]` lists it, for other documents that list files the same way
/// (`events --format json` lists the logs its rows leave out).
pub(super) fn file_value(file: &FileVerdict) -> serde_json::Value {
    serde_json::to_value(File::new(file)).unwrap_or(serde_json::Value::Null)
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: String,
    source: &'a str,
    /// The trail ARN asked for, or null when every trail in the source was checked.
    trail: Option<&'a str>,
    requested: Span,
    found: Option<FoundSpan>,
    outcome: &'static str,
    /// Every digest chain in range; `files[].chain` is an index into it.
    chains: &'a [ChainId],
    files: Files<'a>,
    gaps: Vec<GapJson<'a>>,
    keys: Vec<Key<'a>>,
    /// Where the keys came from: what the verdict rests on.
    trust: TrustJson<'a>,
    summary: Summary,
    /// With `--versions`: each bucket's versioning and Object Lock settings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    buckets: Vec<BucketJson<'a>>,
    /// With `--shard K/N`: which part of the archive this run judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    shard: Option<ShardJson>,
    /// With `--checkpoint FILE`: the file the run started from and its SHA-256.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checkpoints: Vec<CheckpointJson<'a>>,
    /// With `--window I/M`: which part of the range this run judged, and per chain what
    /// `merge` joins it to the windows beside it with.
    #[serde(skip_serializing_if = "Option::is_none")]
    window: Option<WindowJson<'a>>,
}

#[derive(Serialize)]
struct WindowJson<'a> {
    index: u32,
    count: u32,
    /// The whole range the windows cut.
    start: String,
    end: String,
    chains: Vec<WindowChainJson<'a>>,
}

/// One chain's ends in a window: its oldest digest and the predecessor it names, and its
/// newest digest proven intact.
#[derive(Serialize)]
struct WindowChainJson<'a> {
    chain: usize,
    oldest: Option<OldestJson<'a>>,
    newest_proven: Option<NewestJson<'a>>,
}

#[derive(Serialize)]
struct OldestJson<'a> {
    bucket: &'a str,
    key: &'a str,
    start: String,
    end: String,
    proven: bool,
    previous: Option<ClaimedJson<'a>>,
}

#[derive(Serialize)]
struct ClaimedJson<'a> {
    bucket: &'a str,
    key: &'a str,
    hash: &'a str,
    signature: &'a str,
}

#[derive(Serialize)]
struct NewestJson<'a> {
    bucket: &'a str,
    key: &'a str,
    end: String,
    sha256: String,
    signature: &'a str,
    fingerprint: &'a str,
}

impl<'a> WindowJson<'a> {
    fn new(report: &'a Report, chain_index: &HashMap<&ChainId, usize>) -> Option<Self> {
        let window = report.window?;
        let chains = (report.chains.iter())
            .filter_map(|chain| {
                let oldest = report.oldest.get(chain).map(|o| OldestJson {
                    bucket: &o.bucket,
                    key: &o.key,
                    start: time::display(o.start),
                    end: time::display(o.end),
                    proven: o.proven,
                    previous: o.previous.as_ref().map(|p| ClaimedJson {
                        bucket: &p.bucket,
                        key: &p.key,
                        hash: &p.hash,
                        signature: &p.signature,
                    }),
                });
                let newest_proven = report.heads.get(chain).map(|h| NewestJson {
                    bucket: &h.bucket,
                    key: &h.key,
                    end: time::display(h.end),
                    sha256: h.sha256.to_hex(),
                    signature: &h.signature,
                    fingerprint: &h.fingerprint,
                });
                Some(WindowChainJson {
                    chain: *chain_index.get(chain)?,
                    oldest,
                    newest_proven,
                })
            })
            .collect();
        Some(Self {
            index: window.index,
            count: window.count,
            start: time::display(window.start),
            end: time::display(window.end),
            chains,
        })
    }
}

/// `files[]`, written as the report's files are read (from a spool, for a streamed run), so
/// the document is never whole in memory.
struct Files<'a> {
    report: &'a Report,
    chain_index: HashMap<&'a ChainId, usize>,
}

impl Serialize for Files<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed: Option<S::Error> = None;
        let read = self.report.each_file(&mut |f| {
            let mut file = File::new(f);
            file.chain = (f.chain.as_deref()).and_then(|c| self.chain_index.get(c).copied());
            seq.serialize_element(&file).map_err(|e| {
                failed = Some(e);
                io::Error::other("stopped")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

#[derive(Serialize)]
struct CheckpointJson<'a> {
    file: &'a str,
    sha256: String,
    /// How many chains the run started from their checkpointed digest.
    anchored: usize,
}

#[derive(Serialize)]
struct ShardJson {
    index: u32,
    count: u32,
}

impl<'a> Document<'a> {
    fn new(report: &'a Report, opts: &'a Options) -> Self {
        let chain_index: HashMap<&ChainId, usize> = report
            .chains
            .iter()
            .enumerate()
            .map(|(i, c)| (c, i))
            .collect();
        Self {
            version: VERSION,
            tool: format!("trailcheck {}", env!("CARGO_PKG_VERSION")),
            source: &report.source,
            trail: opts.trail.as_deref(),
            requested: Span {
                start: rfc3339(report.requested_start),
                end: rfc3339(report.requested_end),
                open_start: report.open_start,
            },
            found: report.found.map(|(start, end)| FoundSpan {
                start: rfc3339(Some(start)),
                end: rfc3339(Some(end)),
            }),
            outcome: outcome_name(report.outcome(&opts.fail_on)),
            chains: &report.chains,
            window: WindowJson::new(report, &chain_index),
            files: Files {
                report,
                chain_index,
            },
            gaps: report.gaps.iter().map(GapJson::new).collect(),
            keys: report.keys.iter().map(Key::new).collect(),
            trust: TrustJson::new(&report.trust),
            summary: Summary::new(report),
            buckets: report.buckets.iter().map(BucketJson::new).collect(),
            shard: report.shard.map(|s| ShardJson {
                index: s.index,
                count: s.count,
            }),
            checkpoints: (report.checkpoints.iter())
                .map(|c| CheckpointJson {
                    file: &c.file,
                    sha256: c.sha256.to_hex(),
                    anchored: c.anchored,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct Span {
    start: Option<String>,
    end: Option<String>,
    /// No `--start-time`: each chain from its own oldest digest, `start` the oldest of all.
    open_start: bool,
}

#[derive(Serialize)]
struct FoundSpan {
    start: Option<String>,
    end: Option<String>,
}

/// One `files[]` entry: the fields and words every JSON document of trailcheck lists a file
/// with (`validate`, `verify-query-results`, `events`' excluded logs).
#[derive(Serialize)]
pub(super) struct File<'a> {
    kind: &'static str,
    bucket: &'a str,
    key: &'a str,
    status: &'static str,
    cause: &'static str,
    detail: String,
    time: Option<String>,
    account: Option<&'a str>,
    region: Option<&'a str>,
    backfill: bool,
    expected_sha256: Option<String>,
    actual_sha256: Option<String>,
    reference: Option<&'a str>,
    signed_by: Option<&'a str>,
    listed_by: Option<&'a str>,
    /// The index in `chains[]` of the chain the file belongs to; absent where no one chain
    /// holds it, and in documents without `chains[]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    chain: Option<usize>,
    /// With `--versions`, what S3 keeps under the key; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    versions: Option<VersionsJson<'a>>,
}

#[derive(Serialize)]
pub(super) struct VersionsJson<'a> {
    overwrites: usize,
    delivered: Option<&'a str>,
    restorable: Option<&'a str>,
    object_lock: Option<&'a str>,
    history: Vec<VersionJson<'a>>,
}

#[derive(Serialize)]
struct VersionJson<'a> {
    version_id: &'a str,
    last_modified: Option<String>,
    delete_marker: bool,
    latest: bool,
}

impl<'a> VersionsJson<'a> {
    pub(super) fn new(history: &'a History) -> Self {
        Self {
            overwrites: history.overwrites(),
            delivered: history.delivered.as_deref(),
            restorable: history.restorable.as_deref(),
            object_lock: history.lock.as_deref(),
            history: (history.versions.iter())
                .map(|v| VersionJson {
                    version_id: &v.version_id,
                    last_modified: rfc3339(v.last_modified),
                    delete_marker: v.delete_marker,
                    latest: v.latest,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
pub(super) struct BucketJson<'a> {
    bucket: &'a str,
    versioning: Option<&'a str>,
    mfa_delete: Option<&'a str>,
    object_lock: Option<&'a str>,
    problem: Option<&'a str>,
}

impl<'a> BucketJson<'a> {
    pub(super) fn new(b: &'a BucketProtection) -> Self {
        Self {
            bucket: &b.bucket,
            versioning: b.versioning.as_deref(),
            mfa_delete: b.mfa_delete.as_deref(),
            object_lock: b.object_lock.as_deref(),
            problem: b.problem.as_deref(),
        }
    }
}

impl<'a> File<'a> {
    /// Points the entry at `chains[index]` of its document.
    pub(crate) fn set_chain(&mut self, index: Option<usize>) {
        self.chain = index;
    }

    pub(super) fn new(file: &'a FileVerdict) -> Self {
        Self::with_kind(file, kind_name(file.kind))
    }

    /// An entry whose `kind` names what the file is in its own document (a Lake sign file).
    pub(super) fn with_kind(file: &'a FileVerdict, kind: &'static str) -> Self {
        Self {
            kind,
            bucket: &file.bucket,
            key: &file.key,
            status: file.status.as_str(),
            cause: file.cause.code(),
            detail: crate::detail(file),
            time: rfc3339(file.time),
            account: file.account.as_deref(),
            region: file.region.as_deref(),
            backfill: file.backfill,
            expected_sha256: file.expected_sha256.map(|h| h.to_hex()),
            actual_sha256: file.actual_sha256.map(|h| h.to_hex()),
            reference: file.reference(),
            signed_by: file.signed_by.as_deref(),
            listed_by: file.listed_by.as_deref(),
            chain: None,
            versions: file.history.as_deref().map(VersionsJson::new),
        }
    }
}

#[derive(Serialize)]
struct GapJson<'a> {
    kind: &'static str,
    from: String,
    to: String,
    missing_digests: Option<u32>,
    account: &'a str,
    region: &'a str,
    trail: &'a str,
    home_region: &'a str,
    organization: Option<&'a str>,
    backfill: bool,
    bucket: &'a str,
    /// For an open start, the predecessor the oldest digest names (`s3://BUCKET/KEY`).
    previous: Option<String>,
}

impl<'a> GapJson<'a> {
    fn new(gap: &'a Gap) -> Self {
        Self {
            kind: gap_kind_name(gap.kind),
            from: time::display(gap.from),
            to: time::display(gap.to),
            missing_digests: gap.missing_digests,
            account: &gap.chain.account,
            region: &gap.chain.region,
            trail: &gap.chain.trail,
            home_region: &gap.chain.home_region,
            organization: gap.chain.organization.as_deref(),
            backfill: gap.chain.backfill,
            bucket: &gap.bucket,
            previous: gap
                .previous
                .as_ref()
                .map(|(bucket, key)| format!("s3://{bucket}/{key}")),
        }
    }
}

#[derive(Serialize)]
struct Key<'a> {
    fingerprint: &'a str,
    valid_from: Option<String>,
    valid_to: Option<String>,
    file: &'a str,
    digests_verified: usize,
}

impl<'a> Key<'a> {
    fn new(key: &'a KeyUse) -> Self {
        Self {
            fingerprint: &key.fingerprint,
            valid_from: rfc3339(key.valid_from),
            valid_to: rfc3339(key.valid_to),
            file: &key.file,
            digests_verified: key.digests_verified,
        }
    }
}

#[derive(Serialize)]
struct TrustJson<'a> {
    /// True when any key was read from inside the source: the evidence vouches for itself.
    keys_inside_source: bool,
    /// The `--trusted-fingerprints` file, when the keys were pinned.
    pinned_from: Option<&'a str>,
    pinned: &'a [String],
    keys: Vec<KeyTrustJson<'a>>,
}

impl<'a> TrustJson<'a> {
    fn new(trust: &'a Trust) -> Self {
        Self {
            keys_inside_source: trust.keys_inside_source(),
            pinned_from: trust.pinned_from.as_deref(),
            pinned: &trust.pinned,
            keys: trust.keys.iter().map(KeyTrustJson::new).collect(),
        }
    }
}

#[derive(Serialize)]
struct KeyTrustJson<'a> {
    fingerprint: &'a str,
    origin: &'static str,
    location: &'a str,
    region: Option<&'a str>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    inside_source: bool,
    provenance: Option<&'a Provenance>,
}

impl<'a> KeyTrustJson<'a> {
    fn new(key: &'a KeyTrust) -> Self {
        Self {
            fingerprint: &key.fingerprint,
            origin: key.origin,
            location: &key.location,
            region: key.region.as_deref(),
            valid_from: rfc3339(key.valid_from),
            valid_to: rfc3339(key.valid_to),
            inside_source: key.inside_source,
            provenance: key.provenance.as_ref(),
        }
    }
}

#[derive(Serialize)]
struct Summary {
    digests: Counts,
    logs: Counts,
    gaps: usize,
    chain_breaks: usize,
    open_starts: usize,
}

impl Summary {
    fn new(report: &Report) -> Self {
        let gaps = |kind| report.gaps.iter().filter(|g| g.kind == kind).count();
        Self {
            digests: Counts::of(report, FileKind::Digest),
            logs: Counts::of(report, FileKind::Log),
            gaps: gaps(GapKind::Gap),
            chain_breaks: gaps(GapKind::ChainBreak),
            open_starts: gaps(GapKind::OpenStart),
        }
    }
}

/// How many files of one kind have each status: every status is a key, best first, so a
/// script can read `summary.logs.modified` without checking that it exists.
pub(super) struct Counts(Vec<(Status, usize)>);

impl Counts {
    fn of(report: &Report, kind: FileKind) -> Self {
        let summed = report.summed();
        Self(
            Status::ALL
                .into_iter()
                .map(|status| {
                    let n = summed.counts.get(&(kind, status)).copied().unwrap_or(0);
                    (status, n)
                })
                .collect(),
        )
    }

    /// The counts of `files`, every status a key.
    pub(super) fn over<'a>(files: impl Iterator<Item = &'a FileVerdict> + Clone) -> Self {
        Self(
            Status::ALL
                .into_iter()
                .map(|status| (status, files.clone().filter(|f| f.status == status).count()))
                .collect(),
        )
    }
}

impl Serialize for Counts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (status, n) in &self.0 {
            map.serialize_entry(status.as_str(), n)?;
        }
        map.end()
    }
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Digest => "digest",
        FileKind::Log => "log",
    }
}

fn gap_kind_name(kind: GapKind) -> &'static str {
    match kind {
        GapKind::Gap => "gap",
        GapKind::ChainBreak => "chain-break",
        GapKind::OpenStart => "open-start",
    }
}

pub(super) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Intact => "intact",
        Outcome::Tampered => "tampered",
        Outcome::Incomplete => "incomplete",
    }
}

/// RFC 3339 in UTC to the second (`2026-11-01T00:00:00Z`), the form CloudTrail writes.
fn rfc3339(time: Option<DateTime<Utc>>) -> Option<String> {
    time.map(time::display)
}
