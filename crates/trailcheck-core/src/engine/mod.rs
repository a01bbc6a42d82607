//! The validation engine: from a store and a key ring to a [`Report`].
//!
//! Steps: list what is in range; load digests in parallel and walk each chain while the
//! logs in range are fetched and hashed beside them; check every listed log against its
//! digest, then classify the logs no digest lists. Parallelism lives here
//! only; the report is sorted at the end so output never depends on thread timing.

pub mod chain;
pub mod coverage;
pub mod inventory;
pub mod judge;
mod layout;
pub mod load;
pub mod logs;
pub mod lookup;
pub mod progress;
#[cfg(test)]
mod testkit;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;

use crate::checkpoint::{Anchor, Checkpoint};
use crate::error::{ConfigError, RunError};
use crate::keys::KeyRing;
use crate::objectkey::{self, DigestName, LogKind, ObjectName};
use crate::store::{FetchError, Store};
pub use crate::verdict::Shard;
use crate::verdict::{Cause, ChainId, FileKind, FileVerdict, KeyUse, Report};

pub use layout::open_local;

use chain::{ChainOutcome, FolderId, LogTask, Span};
use coverage::FolderCoverage;
use inventory::{Inventory, ListedDigest, take_inventory};
use load::LoadedDigest;
use progress::{Metered, Progress, Silent};

/// The AWS CLI also reads digests up to an hour past the end time: logs delivered just
/// before the end are listed in the next digest.
pub const SPILL_OVER: Duration = Duration::hours(1);

/// Which trail to validate, from its ARN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailSelector {
    pub account: String,
    pub home_region: String,
    pub name: String,
}

impl TrailSelector {
    /// Parses `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    pub fn from_arn(arn: &str) -> Result<Self, String> {
        let bad =
            || format!("'{arn}' is not a trail ARN (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)");
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, _partition, service, region, account, resource] = parts[..] else {
            return Err(bad());
        };
        let name = resource.strip_prefix("trail/").ok_or_else(bad)?;
        let valid = prefix == "arn"
            && service == "cloudtrail"
            && !region.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && !name.is_empty();
        if !valid {
            return Err(bad());
        }
        Ok(Self {
            account: account.to_owned(),
            home_region: region.to_owned(),
            name: name.to_owned(),
        })
    }

    /// True when the chain is one of this trail's (any region it delivers from).
    pub fn selects(&self, chain: &ChainId) -> bool {
        chain.trail == self.name
            && chain.home_region == self.home_region
            && chain.account == self.account
    }

    fn matches(&self, name: &DigestName) -> bool {
        name.trail == self.name
            && name.home_region == self.home_region
            && name.folder.account == self.account
    }
}

/// What to validate.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Oldest digest end time to take; `None` for the oldest digest present.
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
    pub trail: Option<TrailSelector>,
    /// Worker threads; 0 for one per core.
    pub jobs: usize,
    /// Only the accounts and regions of this shard (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Where each chain was proven up to by an earlier run (`--checkpoint`).
    pub checkpoint: Option<Arc<Checkpoint>>,
}

impl Settings {
    /// The chain's anchor in the checkpoint, if it has one.
    pub fn anchor(&self, chain: &ChainId) -> Option<&Anchor> {
        self.checkpoint.as_deref()?.anchor(chain)
    }

    /// Where the run starts for one account and region: from its chains' anchors when the
    /// checkpoint has one for each, else from the range's start.
    pub fn folder_start(&self, account: &str, region: &str) -> Option<DateTime<Utc>> {
        (self.checkpoint.as_deref())
            .and_then(|c| c.folder_start(account, region))
            .or(self.start)
    }

    /// A log folder's start when the checkpoint anchors every chain of it.
    fn anchor_start(&self, folder: &crate::objectkey::Folder) -> Option<DateTime<Utc>> {
        self.checkpoint
            .as_deref()?
            .folder_start(&folder.account, &folder.region)
    }
}

/// Where a run's public keys come from.
#[derive(Clone, Copy)]
pub enum Keys<'a> {
    /// Loaded before the run, from key files.
    Ring(&'a KeyRing),
    /// Asked for once, when the digests in range are loaded and their regions and times known.
    Source(&'a dyn KeySource),
}

/// A source of public keys (CloudTrail's ListPublicKeys), asked once per run.
pub trait KeySource: Sync {
    /// The keys valid at some time in each range.
    fn keys(&self, wanted: &[KeyRange]) -> Result<KeyRing, ConfigError>;
}

/// A region and the times its digests were signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    pub region: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// Keys are asked for the digests' range widened by this on each side, as the AWS CLI does
/// at the end: a key rotated in just before or after a digest is otherwise missed.
pub const KEY_MARGIN: Duration = Duration::hours(2);

/// A log as it was read, handed to a reader of its records once it is judged.
pub struct ReadLog<'a> {
    pub verdict: &'a FileVerdict,
    /// The inflated content, exactly the bytes that were hashed; `None` when the log could not
    /// be read as gzip, or inflates past [`MAX_KEPT_LOG`].
    pub content: Option<&'a [u8]>,
    /// The fingerprint of the key that verified the digest listing the log.
    pub signed_by: Option<&'a str>,
}

/// Receives every log a run reads, with its verdict, from the worker threads, in no set
/// order. What it keeps of the records, and of which statuses, is its own business: the
/// engine only guarantees that `content` is what the verdict judged.
pub trait LogSink: Sync {
    fn log(&self, log: ReadLog<'_>);
}

/// The largest inflated log handed to a [`LogSink`]; CloudTrail's logs are far smaller.
/// A larger one is still hashed and judged, and reaches the sink without content.
pub const MAX_KEPT_LOG: u64 = 1 << 30;

/// Validates everything `settings` selects in `store`.
pub fn validate(
    store: &dyn Store,
    keys: &KeyRing,
    settings: &Settings,
) -> Result<Report, RunError> {
    validate_observed(store, keys, settings, &Silent)
}

/// [`validate`], telling `progress` how many files there are to read and as each is done.
pub fn validate_observed(
    store: &dyn Store,
    keys: &KeyRing,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    validate_with(store, Keys::Ring(keys), settings, progress)
}

/// Validates everything `settings` selects in `store`, with keys from `keys`, telling
/// `progress` as files are read.
pub fn validate_with(
    store: &dyn Store,
    keys: Keys<'_>,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<Report, RunError> {
    let store = Metered::new(store, progress);
    worker_pool(settings.jobs)?.install(|| run(&store, keys, settings, None))
}

/// [`validate_with`], handing every log read, its bytes and its verdict to `sink`. Each log
/// is inflated once, for its hash and its records: logs are read after the chains are
/// walked, rather than beside the walk, so no log's bytes wait for its digest's verdict.
pub fn validate_reading(
    store: &dyn Store,
    keys: Keys<'_>,
    settings: &Settings,
    progress: &dyn Progress,
    sink: &dyn LogSink,
) -> Result<Report, RunError> {
    let store = Metered::new(store, progress);
    worker_pool(settings.jobs)?.install(|| run(&store, keys, settings, Some(sink)))
}

/// The pool every parallel step of a command runs on: `jobs` threads, 0 for one per core.
pub fn worker_pool(jobs: usize) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| RunError::WorkerPool {
            threads: jobs,
            why: e.to_string(),
        })
}

fn run(
    store: &Metered,
    keys: Keys<'_>,
    settings: &Settings,
    sink: Option<&dyn LogSink>,
) -> Result<Report, RunError> {
    let inventory = take_inventory(store, settings)?;
    let start = settings
        .start
        .or(inventory.oldest_digest)
        .unwrap_or(settings.end);
    let last_digest = settings.end + SPILL_OVER;

    // The logs in range are fetched and hashed while the digests load and the chains are
    // walked: on S3 the digests' round trips then overlap with the logs' hashing.
    // With a sink, the logs are read once, after the walk, bytes and all (see
    // `validate_reading`).
    let (walked, prefetched) = match sink {
        None => rayon::join(
            || walk_chains(store, &inventory, keys, settings, start, last_digest),
            || prefetch_logs(store, &inventory, settings, start),
        ),
        Some(_) => (
            walk_chains(store, &inventory, keys, settings, start, last_digest),
            HashMap::new(),
        ),
    };
    let (mut outcomes, keys) = walked?;
    // A chain the checkpoint anchors, with no digest listed now: its anchor is judged too.
    for (chain, anchor) in (settings.checkpoint.iter()).flat_map(|c| c.chains.iter()) {
        if anchor.is_some() && !outcomes.iter().any(|(id, _)| id == chain) {
            let scope = chain::Scope {
                from: settings.end,
                open_start: None,
                anchor: anchor.as_ref(),
            };
            let lookup = lookup::StoreLookup { store };
            let outcome = chain::walk(chain, Vec::new(), keys.as_ref(), scope, &lookup);
            outcomes.push((chain.clone(), outcome));
        }
    }
    let keys = keys.as_ref();

    let mut report = Report {
        source: store.describe(),
        requested_start: Some(start),
        requested_end: Some(settings.end),
        open_start: settings.start.is_none(),
        shard: settings.shard,
        ..Report::default()
    };
    let mut tasks = Vec::new();
    let mut spans = Vec::new();
    let mut key_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut periods = Vec::new();
    for (chain, outcome) in outcomes {
        if let Some(head) = outcome.newest_proven {
            report.heads.insert(chain.clone(), head);
        }
        if settings.anchor(&chain).is_some() {
            report.chains.push(chain);
        }
        report.files.extend(outcome.verdicts);
        report.gaps.extend(outcome.gaps);
        tasks.extend(outcome.log_tasks);
        spans.extend(outcome.spans);
        periods.extend(outcome.verified_periods);
        for fingerprint in outcome.keys_used {
            *key_counts.entry(fingerprint).or_default() += 1;
        }
    }
    report
        .chains
        .extend(inventory.digests.iter().map(|d| d.chain.clone()));

    let tasks = dedupe(tasks);
    let listed: HashSet<Location> = tasks.iter().map(LogTask::location).collect();
    let not_prefetched = tasks
        .iter()
        .filter(|t| !prefetched.contains_key(&t.location()))
        .count();
    store.queue(not_prefetched);
    let checked: Vec<FileVerdict> = tasks
        .par_iter()
        .map(|t| match (prefetched.get(&t.location()), sink) {
            (Some(fetched), _) => logs::check_with(t, || fetched.clone()),
            (None, None) => {
                let verdict = logs::check(store, t);
                store.file_done();
                verdict
            }
            (None, Some(sink)) => {
                let (fetched, content) =
                    logs::fetch_keeping(store, &t.bucket, &t.key, MAX_KEPT_LOG);
                let verdict = logs::check_with(t, || fetched);
                sink.log(ReadLog {
                    verdict: &verdict,
                    content: content.as_deref(),
                    // The key that verified the listing digest, from its proof.
                    signed_by: match &t.listing {
                        chain::Listing::Proven(proof) => Some(proof.fingerprint()),
                        chain::Listing::Unproven(_) => None,
                    },
                });
                store.file_done();
                verdict
            }
        })
        .collect();
    report.files.extend(checked);
    // Logs no digest vouches for are hashed too, so the report pins what was found.
    let mut unlisted = unlisted_logs(&inventory, &listed, &spans, settings);
    if sink.is_some() {
        store.queue(unlisted.len());
    }
    unlisted.par_iter_mut().for_each(|v| {
        let location = (v.bucket.as_str(), v.key.as_str());
        match (prefetched.get(&location), sink) {
            (Some(fetched), _) => v.actual_sha256 = fetched.sha256(),
            (None, None) => v.actual_sha256 = logs::fetch(store, &v.bucket, &v.key).sha256(),
            (None, Some(sink)) => {
                let (fetched, content) =
                    logs::fetch_keeping(store, &v.bucket, &v.key, MAX_KEPT_LOG);
                v.actual_sha256 = fetched.sha256();
                sink.log(ReadLog {
                    verdict: v,
                    content: content.as_deref(),
                    signed_by: None,
                });
                store.file_done();
            }
        }
    });
    report.files.extend(unlisted);

    assign_chains(&mut report);
    report.found = found_span(&periods, start, settings.end);
    report.keys = key_uses(keys, &key_counts);
    report.trust = keys.trust();
    report.sort();
    Ok(report)
}

/// With no start time, each chain is walked from its own oldest digest: a copy whose
/// regions begin at different hours is not missing the digests before its first one.
fn chain_start(digests: &[LoadedDigest], oldest_overall: DateTime<Utc>) -> DateTime<Utc> {
    digests
        .iter()
        .filter_map(LoadedDigest::time)
        .min()
        .unwrap_or(oldest_overall)
}

/// Each chain walked, with what its walk found.
type Walked = Vec<(ChainId, ChainOutcome)>;

/// Loads the digests in range, gets the keys, and walks every chain.
fn walk_chains<'k>(
    store: &Metered,
    inventory: &Inventory,
    keys: Keys<'k>,
    settings: &Settings,
    start: DateTime<Utc>,
    last_digest: DateTime<Utc>,
) -> Result<(Walked, Cow<'k, KeyRing>), RunError> {
    let chains = load_chains(store, inventory, settings, start, last_digest);
    let keys: Cow<'k, KeyRing> = match keys {
        Keys::Ring(ring) => Cow::Borrowed(ring),
        Keys::Source(source) => Cow::Owned(source.keys(&key_ranges(chains.values().flatten()))?),
    };
    let ring = keys.as_ref();
    let lookup = lookup::StoreLookup { store };
    let outcomes = chains
        .into_par_iter()
        .map(|(id, digests)| {
            let anchor = settings.anchor(&id);
            let scope = chain::Scope {
                from: match anchor {
                    Some(anchor) => anchor.end,
                    None => settings
                        .start
                        .unwrap_or_else(|| chain_start(&digests, start)),
                },
                open_start: (settings.start.is_none() && anchor.is_none())
                    .then_some(&inventory.logs),
                anchor,
            };
            (id.clone(), chain::walk(&id, digests, ring, scope, &lookup))
        })
        .collect();
    Ok((outcomes, keys))
}

/// A bucket and a key, borrowed: thousands of logs are looked up by it.
type Location<'a> = (&'a str, &'a str);

/// Fetches and hashes, in parallel, the logs listed in the store from each folder's start
/// (`start`, or its checkpoint's) to the end.
fn prefetch_logs<'a>(
    store: &Metered,
    inventory: &'a Inventory,
    settings: &Settings,
    start: DateTime<Utc>,
) -> HashMap<Location<'a>, logs::Fetched> {
    let end = settings.end;
    let in_range: Vec<Location<'a>> = inventory
        .logs
        .iter()
        .flat_map(|((bucket, folder), logs)| {
            let from = match settings.anchor_start(folder) {
                Some(anchored) => anchored,
                None => start,
            };
            logs.iter()
                .filter(move |(_, delivered)| from <= *delivered && *delivered <= end)
                .map(move |(key, _)| (bucket.as_str(), key.as_str()))
        })
        .collect();
    store.queue(in_range.len());
    in_range
        .into_par_iter()
        .map(|(bucket, key)| {
            let fetched = logs::fetch(store, bucket, key);
            store.file_done();
            ((bucket, key), fetched)
        })
        .collect()
}

/// Loads, in parallel, the digests whose end time falls in `[start, last]`, by chain; a
/// chain with an anchor from its anchor on.
fn load_chains(
    store: &Metered,
    inventory: &Inventory,
    settings: &Settings,
    start: DateTime<Utc>,
    last: DateTime<Utc>,
) -> BTreeMap<ChainId, Vec<LoadedDigest>> {
    let in_range: Vec<&ListedDigest> = inventory
        .digests
        .iter()
        .filter(|d| {
            let from = settings.anchor(&d.chain).map_or(start, |a| a.end);
            from <= d.name.end && d.name.end <= last
        })
        .collect();
    store.queue(in_range.len());
    let loaded: Vec<(ChainId, Result<LoadedDigest, FetchError>)> = in_range
        .par_iter()
        .map(|d| {
            let digest = load::load_named(store, &d.bucket, &d.key, Some(d.name.clone()));
            store.file_done();
            (d.chain.clone(), digest)
        })
        .collect();
    let mut chains: BTreeMap<ChainId, Vec<LoadedDigest>> = BTreeMap::new();
    for (id, digest) in loaded {
        // A digest listed a moment ago and gone now is found missing by the walk instead.
        if let Ok(digest) = digest {
            chains.entry(id).or_default().push(digest);
        }
    }
    chains
}

/// Per region, the span of the digests' times (end times, and the generation times of
/// backfill digests, which are signed then), widened by [`KEY_MARGIN`].
pub fn key_ranges<'a>(digests: impl IntoIterator<Item = &'a LoadedDigest>) -> Vec<KeyRange> {
    let mut spans: BTreeMap<&str, (DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    for digest in digests {
        let Some(name) = &digest.name else {
            continue;
        };
        let generated = digest
            .metadata
            .backfill_generation_timestamp
            .as_deref()
            .and_then(crate::time::parse_cloudtrail);
        for time in digest.time().into_iter().chain(generated) {
            let span = spans.entry(&name.folder.region).or_insert((time, time));
            *span = (span.0.min(time), span.1.max(time));
        }
    }
    spans
        .into_iter()
        .map(|(region, (start, end))| KeyRange {
            region: region.to_owned(),
            start: start - KEY_MARGIN,
            end: end + KEY_MARGIN,
        })
        .collect()
}

/// One task per log, in (bucket, key) order; where several digests list a log, the first
/// authentic one wins (the sort is stable, so "first" is the walk's order).
fn dedupe(mut tasks: Vec<LogTask>) -> Vec<LogTask> {
    tasks.sort_by(|a, b| {
        a.location()
            .cmp(&b.location())
            .then(b.trusted().cmp(&a.trusted()))
    });
    tasks.dedup_by(|later, kept| later.location() == kept.location());
    tasks
}

/// Logs present in range that no digest lists, judged by what covers their delivery time.
/// With a trail selected, only its folders count; otherwise every log folder does, and logs
/// in a folder no digest covers cannot be proven. With no start time every log up to the
/// end is in range: one older than every digest is unproven, not out of scope, or deleting
/// the oldest digests would hide their logs.
///
/// Logs of the other kinds (`CloudTrail-Insight/`, ...) are judged so only where a digest of
/// the run is seen to list logs of that kind in that folder: elsewhere nothing says CloudTrail
/// digests them, and they are `kind-not-digested`, neither tampering nor intact.
fn unlisted_logs(
    inventory: &Inventory,
    listed: &HashSet<Location<'_>>,
    spans: &[Span],
    settings: &Settings,
) -> Vec<FileVerdict> {
    let end = settings.end;
    let mut verdicts = Vec::new();
    let covered_folders: BTreeSet<&FolderId> = spans.iter().map(|s| &s.folder).collect();
    let digested_kinds = digested_kinds(listed);
    for (folder, kind, logs) in inventory.all_logs() {
        if !covered_folders.contains(folder) && settings.trail.is_some() {
            continue;
        }
        let digested = kind == LogKind::Events || digested_kinds.contains(&(folder.clone(), kind));
        let coverage = FolderCoverage::new(spans.iter().filter(|s| &s.folder == folder));
        let from = (settings.folder_start(&folder.1.account, &folder.1.region))
            .map(|start| logs_from(&coverage, start));
        for (key, delivered) in logs {
            let (bucket, f) = folder;
            if listed.contains(&(bucket.as_str(), key.as_str()))
                || from.is_some_and(|from| *delivered < from)
                || *delivered > end
            {
                continue;
            }
            let cause = if !digested {
                Cause::KindNotDigested(kind.dir().to_owned())
            } else if covered_folders.contains(folder) {
                coverage.classify(*delivered, end)
            } else {
                Cause::NoDigests
            };
            let mut verdict = FileVerdict::new(FileKind::Log, bucket, key, cause);
            verdict.time = Some(*delivered);
            verdict.account = Some(f.account.clone());
            verdict.region = Some(f.region.clone());
            verdicts.push(verdict);
        }
    }
    verdicts
}

/// The folders and log kinds the digests of this run list logs of: the evidence that
/// CloudTrail digests that kind there.
fn digested_kinds(listed: &HashSet<Location<'_>>) -> HashSet<(FolderId, LogKind)> {
    listed
        .iter()
        // Only a key with a `CloudTrail-<kind>/` folder can be another kind's: the events
        // logs (nearly all of them) are not parsed a second time.
        .filter(|(_, key)| key.contains("/CloudTrail-"))
        .filter_map(|(bucket, key)| match objectkey::parse(key) {
            Some(ObjectName::Log(name)) if name.kind != LogKind::Events => {
                Some((((*bucket).to_owned(), name.folder), name.kind))
            }
            _ => None,
        })
        .collect()
}

/// Gives each log the chain it belongs to: a listed log its listing digest's chain; an
/// unlisted one the single regular chain of its account and region, if there is exactly one
/// (two trails may deliver into one folder, and a log's name does not say which).
fn assign_chains(report: &mut Report) {
    let by_digest: HashMap<String, Arc<ChainId>> = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .filter_map(|f| Some((f.key.clone(), f.chain.clone()?)))
        .collect();
    // `report.chains` holds a chain once per digest until the report is sorted.
    let mut by_place: HashMap<(&str, &str), BTreeSet<&ChainId>> = HashMap::new();
    for chain in report.chains.iter().filter(|c| !c.backfill) {
        by_place
            .entry((&chain.account, &chain.region))
            .or_default()
            .insert(chain);
    }
    let only_chain = |account: Option<&str>, region: Option<&str>| {
        let chains = by_place.get(&(account?, region?))?;
        match chains.len() {
            1 => chains.first().map(|c| Arc::new((*c).clone())),
            _ => None,
        }
    };
    let mut chains = Vec::with_capacity(report.files.len());
    for file in &report.files {
        chains.push(match (&file.kind, &file.chain) {
            (FileKind::Log, None) => match file.listed_by.as_ref().and_then(|r| by_digest.get(r)) {
                Some(chain) => Some(chain.clone()),
                None => only_chain(file.account.as_deref(), file.region.as_deref()),
            },
            _ => file.chain.clone(),
        });
    }
    for (file, chain) in report.files.iter_mut().zip(chains) {
        file.chain = chain;
    }
}

/// The earliest delivery time in range for a given start. The start is a digest *end* time,
/// and the oldest digest in range covers logs from its own start, so a log there is judged.
fn logs_from(coverage: &FolderCoverage<'_>, start: DateTime<Utc>) -> DateTime<Utc> {
    coverage.start().map_or(start, |covered| covered.min(start))
}

/// The span of the authentic digests, clipped to the requested range, as the AWS CLI
/// reports it ("Results found for ...").
fn found_span(
    periods: &[(DateTime<Utc>, DateTime<Utc>)],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let first = periods.iter().map(|(s, _)| (*s).max(start)).min()?;
    let last = periods.iter().map(|(_, e)| (*e).min(end)).max()?;
    Some((first, last))
}

fn key_uses(keys: &KeyRing, counts: &BTreeMap<String, usize>) -> Vec<KeyUse> {
    counts
        .iter()
        .filter_map(|(fingerprint, &count)| {
            let key = keys.get(fingerprint)?;
            Some(KeyUse {
                fingerprint: key.fingerprint.clone(),
                valid_from: key.valid_from,
                valid_to: key.valid_to,
                file: key.file.display().to_string(),
                digests_verified: count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_arns_parse_and_bad_ones_say_the_form() {
        let t = TrailSelector::from_arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/my-trail")
            .unwrap();
        assert_eq!(t.account, "111122223333");
        assert_eq!(t.home_region, "us-east-1");
        assert_eq!(t.name, "my-trail");
        assert!(
            TrailSelector::from_arn("arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/x")
                .is_ok()
        );
        for bad in [
            "",
            "arn:aws:s3:::bucket",
            "arn:aws:cloudtrail:us-east-1:1:trail/x",
            "arn:aws:cloudtrail:us-east-1:111122223333:x",
        ] {
            assert!(
                TrailSelector::from_arn(bad)
                    .unwrap_err()
                    .contains("trail/NAME"),
                "{bad}"
            );
        }
    }
}
