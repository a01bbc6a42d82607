//! Reading a JSON result back into a [`Report`], for `trailcheck merge`.
//!
//! A shard's result is untrusted input like any other file: every field is read into a type
//! of its own, a cause must be one this version gives with a status it can have
//! ([`Cause::recorded`]), and a document written by another version or schema is refused.
//! Nothing here proves a verdict again: a merged report is as good as the shard runs were.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use trailcheck_core::hash::Sha256;
use trailcheck_core::keys::Provenance;
use trailcheck_core::verdict::{
    BucketProtection, Cause, ChainId, CheckpointUse, FileKind, FileVerdict, Gap, GapKind, History,
    KeyTrust, KeyUse, ObjectVersion, Report, Shard, Status, Trust,
};
use trailcheck_core::window::{Claimed, Oldest, Window};

/// One result file as read: the report, and what the document says beside it.
#[derive(Debug)]
pub struct ResultFile {
    pub report: Report,
    /// The `tool` field: `trailcheck VERSION`.
    pub tool: String,
    /// The trail ARN the run was limited to.
    pub trail: Option<String>,
    /// The outcome the run printed (under its own `--fail-on`).
    pub outcome: String,
}

/// The `tool` field this build writes.
pub fn tool() -> String {
    format!("trailcheck {}", env!("CARGO_PKG_VERSION"))
}

/// Parses one JSON result (`validate --format json` or `--report-json`). The error says
/// what is wrong with it, for the caller to prefix with the file's name.
pub fn parse(bytes: &[u8]) -> Result<ResultFile, String> {
    let doc: DocumentIn =
        serde_json::from_slice(bytes).map_err(|e| format!("not a trailcheck JSON result: {e}"))?;
    if doc.version != crate::json::VERSION {
        return Err(format!(
            "schema version {} (this trailcheck reads version {})",
            doc.version,
            crate::json::VERSION
        ));
    }
    let chains: Vec<Arc<ChainId>> = doc.chains.into_iter().map(|c| Arc::new(c.into())).collect();
    let mut files = Vec::with_capacity(doc.files.len());
    for (i, file) in doc.files.into_iter().enumerate() {
        files.push(
            file.into_verdict(&chains)
                .map_err(|e| format!("files[{i}]: {e}"))?,
        );
    }
    let gaps = (doc.gaps.into_iter().enumerate())
        .map(|(i, g)| g.into_gap().map_err(|e| format!("gaps[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = (doc.keys.into_iter().enumerate())
        .map(|(i, k)| k.into_use().map_err(|e| format!("keys[{i}]: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let shard = match doc.shard {
        Some(s) if s.count == 0 || s.index >= s.count => {
            return Err(format!("shard {}/{} is not a shard", s.index, s.count));
        }
        Some(s) => Some(Shard {
            index: s.index,
            count: s.count,
        }),
        None => None,
    };
    let (window, oldest, heads) = match doc.window {
        Some(w) => {
            let (window, oldest, heads) = w.read(&chains).map_err(|e| format!("window: {e}"))?;
            (Some(window), oldest, heads)
        }
        None => Default::default(),
    };
    let report = Report {
        source: doc.source,
        requested_start: time(doc.requested.start.as_deref())
            .map_err(|e| format!("requested: {e}"))?,
        requested_end: time(doc.requested.end.as_deref()).map_err(|e| format!("requested: {e}"))?,
        open_start: doc.requested.open_start,
        found: match doc.found {
            Some(found) => Some((
                required_time(found.start.as_deref()).map_err(|e| format!("found: {e}"))?,
                required_time(found.end.as_deref()).map_err(|e| format!("found: {e}"))?,
            )),
            None => None,
        },
        files,
        gaps,
        chains: chains.iter().map(|c| (**c).clone()).collect(),
        keys,
        trust: doc.trust.into_trust()?,
        buckets: doc
            .buckets
            .into_iter()
            .map(BucketIn::into_protection)
            .collect(),
        shard,
        heads,
        window,
        oldest,
        checkpoints: (doc.checkpoints.into_iter().enumerate())
            .map(|(i, c)| {
                Ok(CheckpointUse {
                    sha256: Sha256::from_hex(&c.sha256)
                        .ok_or_else(|| format!("checkpoints[{i}]: sha256 is not 64 hex digits"))?,
                    file: c.file,
                    anchored: c.anchored,
                })
            })
            .collect::<Result<Vec<_>, String>>()?,
        ..Report::default()
    };
    Ok(ResultFile {
        report,
        tool: doc.tool,
        trail: doc.trail,
        outcome: doc.outcome,
    })
}

fn time(text: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("'{t}' is not an RFC 3339 time"))
    })
    .transpose()
}

fn required_time(text: Option<&str>) -> Result<DateTime<Utc>, String> {
    time(text)?.ok_or_else(|| "a time is missing".to_owned())
}

fn sha256(text: Option<&str>) -> Result<Option<Sha256>, String> {
    text.map(|t| Sha256::from_hex(t).ok_or_else(|| format!("'{t}' is not a SHA-256")))
        .transpose()
}

/// `s3://BUCKET/KEY` into its bucket and key.
fn s3_location(url: &str) -> Result<(String, String), String> {
    url.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .map(|(bucket, key)| (bucket.to_owned(), key.to_owned()))
        .ok_or_else(|| format!("'{url}' is not s3://BUCKET/KEY"))
}

#[derive(Deserialize)]
struct DocumentIn {
    version: u32,
    tool: String,
    source: String,
    trail: Option<String>,
    requested: SpanIn,
    found: Option<SpanIn>,
    outcome: String,
    #[serde(default)]
    chains: Vec<ChainIn>,
    files: Vec<FileIn>,
    gaps: Vec<GapIn>,
    keys: Vec<KeyIn>,
    trust: TrustIn,
    #[allow(dead_code)]
    summary: IgnoredAny,
    #[serde(default)]
    buckets: Vec<BucketIn>,
    shard: Option<ShardIn>,
    #[serde(default)]
    checkpoints: Vec<CheckpointIn>,
    window: Option<WindowIn>,
}

#[derive(Deserialize)]
struct WindowIn {
    index: u32,
    count: u32,
    start: String,
    end: String,
    chains: Vec<WindowChainIn>,
}

#[derive(Deserialize)]
struct WindowChainIn {
    chain: usize,
    oldest: Option<OldestIn>,
    newest_proven: Option<NewestIn>,
}

#[derive(Deserialize)]
struct OldestIn {
    bucket: String,
    key: String,
    start: String,
    end: String,
    proven: bool,
    previous: Option<ClaimedIn>,
}

#[derive(Deserialize)]
struct ClaimedIn {
    bucket: String,
    key: String,
    hash: String,
    signature: String,
}

#[derive(Deserialize)]
struct NewestIn {
    bucket: String,
    key: String,
    end: String,
    sha256: String,
    signature: String,
    fingerprint: String,
}

/// A window result's window and, per chain, its oldest digest and newest proven one.
type WindowParts = (
    Window,
    BTreeMap<ChainId, Oldest>,
    BTreeMap<ChainId, trailcheck_core::checkpoint::Anchor>,
);

impl WindowIn {
    fn read(self, chains: &[Arc<ChainId>]) -> Result<WindowParts, String> {
        let window = Window::new(
            self.index,
            self.count,
            required_time(Some(&self.start))?,
            required_time(Some(&self.end))?,
        )?;
        let (mut oldest, mut heads) = (BTreeMap::new(), BTreeMap::new());
        for (i, entry) in self.chains.into_iter().enumerate() {
            let at = |e: String| format!("window.chains[{i}]: {e}");
            let chain = (**chains
                .get(entry.chain)
                .ok_or_else(|| at(format!("chain {} is not in chains[]", entry.chain)))?)
            .clone();
            if let Some(o) = entry.oldest {
                let value = Oldest {
                    start: required_time(Some(&o.start)).map_err(at)?,
                    end: required_time(Some(&o.end)).map_err(at)?,
                    bucket: o.bucket,
                    key: o.key,
                    proven: o.proven,
                    previous: o.previous.map(|p| Claimed {
                        bucket: p.bucket,
                        key: p.key,
                        hash: p.hash,
                        signature: p.signature,
                    }),
                };
                if oldest.insert(chain.clone(), value).is_some() {
                    return Err(at("a chain named twice".to_owned()));
                }
            }
            if let Some(h) = entry.newest_proven {
                let value = trailcheck_core::checkpoint::Anchor {
                    end: required_time(Some(&h.end)).map_err(at)?,
                    sha256: Sha256::from_hex(&h.sha256)
                        .ok_or_else(|| at(format!("'{}' is not a SHA-256", h.sha256)))?,
                    bucket: h.bucket,
                    key: h.key,
                    signature: h.signature,
                    fingerprint: h.fingerprint,
                };
                if heads.insert(chain, value).is_some() {
                    return Err(at("a chain named twice".to_owned()));
                }
            }
        }
        Ok((window, oldest, heads))
    }
}

#[derive(Deserialize)]
struct CheckpointIn {
    file: String,
    sha256: String,
    anchored: usize,
}

#[derive(Deserialize)]
struct SpanIn {
    start: Option<String>,
    end: Option<String>,
    #[serde(default)]
    open_start: bool,
}

#[derive(Deserialize)]
struct ShardIn {
    index: u32,
    count: u32,
}

#[derive(Deserialize)]
pub(crate) struct ChainIn {
    account: String,
    region: String,
    trail: String,
    home_region: String,
    organization: Option<String>,
    backfill: bool,
}

impl From<ChainIn> for ChainId {
    fn from(c: ChainIn) -> Self {
        ChainId {
            account: c.account,
            region: c.region,
            trail: c.trail,
            home_region: c.home_region,
            organization: c.organization,
            backfill: c.backfill,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct FileIn {
    kind: String,
    bucket: String,
    key: String,
    status: String,
    cause: String,
    detail: String,
    time: Option<String>,
    account: Option<String>,
    region: Option<String>,
    backfill: bool,
    expected_sha256: Option<String>,
    actual_sha256: Option<String>,
    signed_by: Option<String>,
    listed_by: Option<String>,
    chain: Option<usize>,
    versions: Option<VersionsIn>,
}

impl FileIn {
    pub(crate) fn into_verdict(self, chains: &[Arc<ChainId>]) -> Result<FileVerdict, String> {
        let kind = match self.kind.as_str() {
            "digest" => FileKind::Digest,
            "log" => FileKind::Log,
            other => return Err(format!("kind '{other}' is neither digest nor log")),
        };
        let status = Status::parse(&self.status)
            .ok_or_else(|| format!("status '{}' is not a status", self.status))?;
        let history = self.versions.map(VersionsIn::into_history).transpose()?;
        // The detail is the cause's text, then the history's, as `detail` wrote them.
        let mut detail = self.detail;
        if let Some(described) = history.as_ref().map(History::describe)
            && !described.is_empty()
            && let Some(cause) = detail.strip_suffix(&format!("; {described}"))
        {
            detail = cause.to_owned();
        }
        let cause = Cause::recorded(&self.cause, status, detail)?;
        let mut verdict = FileVerdict::new(kind, &self.bucket, &self.key, cause);
        verdict.time = time(self.time.as_deref())?;
        verdict.account = self.account;
        verdict.region = self.region;
        verdict.backfill = self.backfill;
        verdict.expected_sha256 = sha256(self.expected_sha256.as_deref())?;
        verdict.actual_sha256 = sha256(self.actual_sha256.as_deref())?;
        verdict.signed_by = self.signed_by;
        verdict.listed_by = self.listed_by;
        verdict.chain = match self.chain {
            Some(i) => Some(Arc::clone(
                chains
                    .get(i)
                    .ok_or_else(|| format!("chain {i} is not in chains[]"))?,
            )),
            None => None,
        };
        verdict.history = history.map(Box::new);
        Ok(verdict)
    }
}

#[derive(Deserialize)]
struct VersionsIn {
    delivered: Option<String>,
    restorable: Option<String>,
    object_lock: Option<String>,
    history: Vec<VersionIn>,
}

#[derive(Deserialize)]
struct VersionIn {
    version_id: String,
    last_modified: Option<String>,
    delete_marker: bool,
    latest: bool,
}

impl VersionsIn {
    fn into_history(self) -> Result<History, String> {
        let versions = (self.history.into_iter())
            .map(|v| {
                Ok(ObjectVersion {
                    version_id: v.version_id,
                    last_modified: time(v.last_modified.as_deref())?,
                    delete_marker: v.delete_marker,
                    latest: v.latest,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(History {
            versions,
            delivered: self.delivered,
            restorable: self.restorable,
            lock: self.object_lock,
        })
    }
}

#[derive(Deserialize)]
struct GapIn {
    kind: String,
    from: String,
    to: String,
    missing_digests: Option<u32>,
    account: String,
    region: String,
    trail: String,
    home_region: String,
    organization: Option<String>,
    backfill: bool,
    bucket: String,
    previous: Option<String>,
}

impl GapIn {
    fn into_gap(self) -> Result<Gap, String> {
        let kind = match self.kind.as_str() {
            "gap" => GapKind::Gap,
            "chain-break" => GapKind::ChainBreak,
            "open-start" => GapKind::OpenStart,
            other => return Err(format!("gap kind '{other}' is not one trailcheck writes")),
        };
        Ok(Gap {
            kind,
            chain: ChainId {
                account: self.account,
                region: self.region,
                trail: self.trail,
                home_region: self.home_region,
                organization: self.organization,
                backfill: self.backfill,
            },
            bucket: self.bucket,
            from: required_time(Some(&self.from))?,
            to: required_time(Some(&self.to))?,
            missing_digests: self.missing_digests,
            previous: self.previous.as_deref().map(s3_location).transpose()?,
        })
    }
}

#[derive(Deserialize)]
struct KeyIn {
    fingerprint: String,
    valid_from: Option<String>,
    valid_to: Option<String>,
    file: String,
    digests_verified: usize,
}

impl KeyIn {
    fn into_use(self) -> Result<KeyUse, String> {
        Ok(KeyUse {
            fingerprint: self.fingerprint,
            valid_from: time(self.valid_from.as_deref())?,
            valid_to: time(self.valid_to.as_deref())?,
            file: self.file,
            digests_verified: self.digests_verified,
        })
    }
}

#[derive(Deserialize)]
struct TrustIn {
    pinned_from: Option<String>,
    pinned: Vec<String>,
    keys: Vec<KeyTrustIn>,
}

#[derive(Deserialize)]
struct KeyTrustIn {
    fingerprint: String,
    origin: String,
    location: String,
    region: Option<String>,
    valid_from: Option<String>,
    valid_to: Option<String>,
    inside_source: bool,
    provenance: Option<Provenance>,
}

impl TrustIn {
    fn into_trust(self) -> Result<Trust, String> {
        let mut keys = Vec::with_capacity(self.keys.len());
        for (i, key) in self.keys.into_iter().enumerate() {
            let origin = match key.origin.as_str() {
                "file" => "file",
                "cloudtrail" => "cloudtrail",
                other => return Err(format!("trust.keys[{i}]: origin '{other}' is unknown")),
            };
            keys.push(KeyTrust {
                fingerprint: key.fingerprint,
                origin,
                location: key.location,
                region: key.region,
                valid_from: time(key.valid_from.as_deref())
                    .map_err(|e| format!("trust.keys[{i}]: {e}"))?,
                valid_to: time(key.valid_to.as_deref())
                    .map_err(|e| format!("trust.keys[{i}]: {e}"))?,
                inside_source: key.inside_source,
                provenance: key.provenance,
            });
        }
        Ok(Trust {
            keys,
            pinned_from: self.pinned_from,
            pinned: self.pinned,
        })
    }
}

#[derive(Deserialize)]
struct BucketIn {
    bucket: String,
    versioning: Option<String>,
    mfa_delete: Option<String>,
    object_lock: Option<String>,
    problem: Option<String>,
}

impl BucketIn {
    fn into_protection(self) -> BucketProtection {
        BucketProtection {
            bucket: self.bucket,
            versioning: self.versioning,
            mfa_delete: self.mfa_delete,
            object_lock: self.object_lock,
            problem: self.problem,
        }
    }
}
