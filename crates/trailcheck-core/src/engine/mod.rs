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
use crate::verdict::{Cause, ChainId, FileKind, FileVerdict, Gap, KeyUse, Report};
pub use crate::window::Window;

pub use layout::open_local;

use chain::{ChainOutcome, FolderId, LogTask, Span};
use coverage::FolderCoverage;
use inventory::{Inventory, ListedDigest};
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
    /// Only this time window of the range (`--window I/M`): `start` and `end` are then the
    /// window's own, set by [`Settings::in_window`].
    pub window: Option<Window>,
}

impl Settings {
    /// These settings narrowed to `window` of the range `[window.start, window.end]`.
    pub fn in_window(mut self, window: Window) -> Self {
        self.start = Some(window.from());
        self.end = window.to();
        self.window = Some(window);
        self
    }

    /// Digests ending at or after this belong to the next window: they are read, as a whole
    /// run reads the hour after its end, only to see across the join.
    pub fn window_end(&self) -> Option<DateTime<Utc>> {
        self.window.and_then(|w| w.exclusive_end())
    }

    /// The run's start is a window's, with a window before it: nothing older is judged here.
    fn window_after_another(&self) -> bool {
        self.window.is_some_and(|w| !w.is_first())
    }

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
    let mut held = Held::default();
    let report = validate_streaming(store, keys, settings, progress, &mut held)?;
    Ok(held.into_report(report))
}

/// [`validate_with`], handing each place's files to `out` as soon as the place is judged,
/// in chain order, instead of holding them: the report returned has no files, and its
/// [`Report::tally`] counts what was handed on.
pub fn validate_streaming(
    store: &dyn Store,
    keys: Keys<'_>,
    settings: &Settings,
    progress: &dyn Progress,
    out: &mut dyn VerdictSink,
) -> Result<Report, RunError> {
    let store = Metered::new(store, progress);
    worker_pool(settings.jobs)?.install(|| run(&store, keys, settings, None, out))
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
    let mut held = Held::default();
    let report = worker_pool(settings.jobs)?
        .install(|| run(&store, keys, settings, Some(sink), &mut held))?;
    Ok(held.into_report(report))
}

/// Receives a run's files as it judges them: one place (an account's region in a bucket) at
/// a time, places in chain order and each place's files sorted (digests, then logs, by
/// time), so what it writes never depends on thread timing. Called on the run's own thread.
pub trait VerdictSink: Send {
    /// One place's files. An error stops the run: output that cannot be written is not a
    /// result.
    fn files(&mut self, files: Vec<FileVerdict>) -> std::io::Result<()>;
}

/// The sink that keeps every file, for the commands that need the whole report at once.
#[derive(Default)]
pub struct Held {
    files: Vec<FileVerdict>,
}

impl Held {
    /// The report with the files put back in.
    pub fn into_report(self, mut report: Report) -> Report {
        report.files = self.files;
        report
    }
}

impl VerdictSink for Held {
    fn files(&mut self, files: Vec<FileVerdict>) -> std::io::Result<()> {
        self.files.extend(files);
        Ok(())
    }
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

/// How many places are listed at once, and at most judged at once: enough to keep the
/// workers busy across the barriers inside a small place (listing, digests, logs).
const PLACES_AT_ONCE: usize = 8;
/// Places are judged together only while their logs add up to no more than this: what a
/// run holds is then about one large place, or a few small ones (a log being judged takes
/// about 2 KB: its key, its digest's claim, its verdict).
const LOGS_AT_ONCE: usize = 8192;
/// The most logs of one place fetched and hashed while its digests load.
const PREFETCH_AT_MOST: usize = 2048;

fn run(
    store: &Metered,
    keys: Keys<'_>,
    settings: &Settings,
    sink: Option<&dyn LogSink>,
    out: &mut dyn VerdictSink,
) -> Result<Report, RunError> {
    let places = inventory::discover(store, settings)?;
    let mut keys = KeyCache::new(keys);
    let mut totals = Totals::new(store, settings);
    let mut places = places.iter();
    let mut waiting: std::collections::VecDeque<(&inventory::Place, Inventory)> =
        Default::default();
    let mut sizes = ListedSizes::default();
    loop {
        // List places ahead while those waiting are fewer than a batch, as many as the
        // places listed so far suggest will fill it (a listing holds a key and a time per
        // log: eight large places listed at once would outweigh the one being judged) ...
        let waiting_logs: usize = waiting.iter().map(|(_, i)| i.log_count()).sum();
        let room = match waiting_logs < LOGS_AT_ONCE {
            true => sizes
                .places_for(LOGS_AT_ONCE - waiting_logs)
                .min(PLACES_AT_ONCE.saturating_sub(waiting.len())),
            false => 0,
        };
        let ahead: Vec<&inventory::Place> = places.by_ref().take(room).collect();
        let listed: Vec<Result<Inventory, RunError>> = ahead
            .par_iter()
            .map(|place| inventory::take_place(store, settings, place))
            .collect();
        for (place, inventory) in ahead.into_iter().zip(listed) {
            let inventory = inventory?;
            sizes.add(inventory.log_count());
            waiting.push_back((place, inventory));
        }
        // ... and judge as many of them as the budget allows, the first at least.
        let mut batch = Vec::new();
        let mut logs = 0;
        while let Some((_, inventory)) = waiting.front() {
            let size = inventory.log_count();
            if !batch.is_empty() && logs + size > LOGS_AT_ONCE {
                break;
            }
            logs += size;
            batch.extend(waiting.pop_front());
        }
        if batch.is_empty() {
            break;
        }
        let loaded: Vec<Listed> = batch
            .into_par_iter()
            .map(|(place, inventory)| {
                // A large place has logs enough to keep the workers busy on its own: its logs
                // are read after its walk, not held hashed beside it.
                let prefetch = sink.is_none() && inventory.log_count() <= PREFETCH_AT_MOST;
                load_place(store, settings, place, inventory, prefetch)
            })
            .collect();
        keys.cover(loaded.iter().flat_map(|l| l.chains.values().flatten()))?;
        let ring = keys.ring();
        let judged: Vec<Judged> = loaded
            .into_par_iter()
            .map(|listed| judge_place(store, ring, settings, listed, sink))
            .collect();
        for judged in judged {
            totals.absorb(judged, out)?;
        }
    }
    // A chain the checkpoint anchors whose place is gone altogether: its anchor is judged
    // too (it is deleted, or was moved).
    let orphans: Vec<(&ChainId, &Anchor)> = (settings.checkpoint.iter())
        .flat_map(|c| c.chains.iter())
        .filter_map(|(chain, anchor)| Some((chain, anchor.as_ref()?)))
        .filter(|(chain, _)| !totals.walked.contains(*chain))
        .collect();
    if !orphans.is_empty() {
        let lookup = lookup::StoreLookup { store };
        let mut judged = Judged::default();
        for (chain, anchor) in orphans {
            let outcome = walk_anchor_only(chain, anchor, keys.ring(), settings, &lookup);
            judged.add_outcome(chain.clone(), outcome);
            judged.chains.push(chain.clone());
        }
        judged
            .files
            .sort_unstable_by(|a, b| a.order().cmp(&b.order()));
        totals.absorb(judged, out)?;
    }
    Ok(totals.finish(keys.ring()))
}

/// The log counts of the places listed so far: how many more to list at once.
#[derive(Default)]
struct ListedSizes {
    places: usize,
    logs: usize,
}

impl ListedSizes {
    fn add(&mut self, logs: usize) {
        self.places += 1;
        self.logs += logs;
    }

    /// How many places of the mean size so far fit in `logs`: one, before any is listed
    /// or when one alone fills it.
    fn places_for(&self, logs: usize) -> usize {
        match self.places {
            0 => 1,
            places => (logs / (self.logs / places).max(1)).max(1),
        }
    }
}

/// Judges a chain with no digest listed now from its anchor alone.
fn walk_anchor_only(
    chain: &ChainId,
    anchor: &Anchor,
    keys: &KeyRing,
    settings: &Settings,
    lookup: &dyn lookup::Lookup,
) -> ChainOutcome {
    let scope = chain::Scope {
        from: settings.end,
        open_start: None,
        anchor: Some(anchor),
        window_end: None,
        closed_start: false,
    };
    chain::walk(chain, Vec::new(), keys, scope, lookup)
}

/// One place as listed: what it holds, its digests in range loaded by chain, and (without a
/// log sink) its logs in range fetched and hashed beside the digests.
struct Listed<'p> {
    place: &'p inventory::Place,
    inventory: Inventory,
    chains: BTreeMap<ChainId, Vec<LoadedDigest>>,
    prefetched: HashMap<(String, String), logs::Fetched>,
    /// The oldest digest end time in range, or the range's start.
    start: DateTime<Utc>,
}

/// Loads one listed place's digests; the logs in range are fetched and hashed while the
/// digests load, so on S3 the digests' round trips overlap with the logs' hashing.
fn load_place<'p>(
    store: &Metered,
    settings: &Settings,
    place: &'p inventory::Place,
    inventory: Inventory,
    prefetch: bool,
) -> Listed<'p> {
    let start = settings
        .start
        .or(inventory.oldest_digest)
        .unwrap_or(settings.end);
    let last_digest = settings.end + SPILL_OVER;
    let (chains, prefetched) = if prefetch {
        rayon::join(
            || load_chains(store, &inventory, settings, start, last_digest),
            || prefetch_logs(store, &inventory, settings, start),
        )
    } else {
        (
            load_chains(store, &inventory, settings, start, last_digest),
            HashMap::new(),
        )
    };
    Listed {
        place,
        inventory,
        chains,
        prefetched,
        start,
    }
}

/// What one place contributes to the report: its files, sorted, and its share of the rest.
#[derive(Default)]
struct Judged {
    files: Vec<FileVerdict>,
    gaps: Vec<Gap>,
    chains: Vec<ChainId>,
    heads: BTreeMap<ChainId, Anchor>,
    key_counts: BTreeMap<String, usize>,
    /// The earliest start and latest end of the authentic digests.
    verified: Option<(DateTime<Utc>, DateTime<Utc>)>,
    oldest_digest: Option<DateTime<Utc>>,
    walked: Vec<ChainId>,
    /// `--window`: the logs the next window's digests list, and each chain's oldest digest.
    next_window_logs: Vec<(String, String)>,
    oldest: BTreeMap<ChainId, crate::window::Oldest>,
}

impl Judged {
    fn add_outcome(&mut self, chain: ChainId, outcome: ChainOutcome) -> (Vec<LogTask>, Vec<Span>) {
        if let Some(head) = outcome.newest_proven {
            self.heads.insert(chain.clone(), head);
        }
        if let Some(oldest) = outcome.oldest {
            self.oldest.insert(chain.clone(), oldest);
        }
        self.next_window_logs.extend(outcome.next_window_logs);
        self.files.extend(outcome.verdicts);
        self.gaps.extend(outcome.gaps);
        for (start, end) in outcome.verified_periods {
            self.verified = Some(match self.verified {
                Some((s, e)) => (s.min(start), e.max(end)),
                None => (start, end),
            });
        }
        for fingerprint in outcome.keys_used {
            *self.key_counts.entry(fingerprint).or_default() += 1;
        }
        self.walked.push(chain);
        (outcome.log_tasks, outcome.spans)
    }
}

/// Walks a place's chains, then checks the logs they list and classifies the rest.
fn judge_place(
    store: &Metered,
    keys: &KeyRing,
    settings: &Settings,
    listed: Listed<'_>,
    sink: Option<&dyn LogSink>,
) -> Judged {
    let Listed {
        place,
        inventory,
        chains,
        prefetched,
        start,
    } = listed;
    let lookup = lookup::StoreLookup { store };
    let mut outcomes: Vec<(ChainId, ChainOutcome)> = chains
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
                window_end: settings.window_end(),
                closed_start: settings.window_after_another(),
            };
            let outcome = chain::walk(&id, digests, keys, scope, &lookup);
            (id, outcome)
        })
        .collect();
    // A chain of this place the checkpoint anchors, with no digest listed now: its anchor
    // is judged too.
    for (chain, anchor) in (settings.checkpoint.iter()).flat_map(|c| c.chains.iter()) {
        let Some(anchor) = anchor else { continue };
        let here = chain.account == place.account
            && chain.region == place.region
            && anchor.bucket == place.bucket
            && anchor.key.starts_with(&place.root);
        if here && !outcomes.iter().any(|(id, _)| id == chain) {
            let outcome = walk_anchor_only(chain, anchor, keys, settings, &lookup);
            outcomes.push((chain.clone(), outcome));
        }
    }

    let mut judged = Judged {
        oldest_digest: inventory.oldest_digest,
        ..Judged::default()
    };
    let mut tasks = Vec::new();
    let mut spans = Vec::new();
    for (chain, outcome) in outcomes {
        if settings.anchor(&chain).is_some() {
            judged.chains.push(chain.clone());
        }
        let (t, s) = judged.add_outcome(chain, outcome);
        tasks.extend(t);
        spans.extend(s);
    }
    judged
        .chains
        .extend(inventory.digests.iter().map(|d| d.chain.clone()));
    judged.chains.sort();
    judged.chains.dedup();

    let tasks = dedupe(tasks);
    let mut listed: HashSet<Location> = tasks.iter().map(LogTask::location).collect();
    listed.extend(
        judged
            .next_window_logs
            .iter()
            .map(|(b, k)| (b.as_str(), k.as_str())),
    );
    // Looking a log up builds its owned key: done only when something was prefetched.
    let prefetched_of = |location: Location<'_>| match prefetched.is_empty() {
        true => None,
        false => prefetched.get(&owned(location)),
    };
    let not_prefetched = tasks
        .iter()
        .filter(|t| prefetched_of(t.location()).is_none())
        .count();
    store.queue(not_prefetched);
    let mut unlisted = unlisted_logs(&inventory, &listed, &spans, settings);
    judged.files.reserve_exact(tasks.len() + unlisted.len());
    let checked = tasks
        .par_iter()
        .map(|t| match (prefetched_of(t.location()), sink) {
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
                    signed_by: match &*t.listing {
                        chain::Listing::Proven(proof) => Some(proof.fingerprint()),
                        chain::Listing::Unproven(_) => None,
                    },
                });
                store.file_done();
                verdict
            }
        });
    judged.files.par_extend(checked);
    // Logs no digest vouches for are hashed too, so the report pins what was found.
    if sink.is_some() {
        store.queue(unlisted.len());
    }
    unlisted
        .par_iter_mut()
        .for_each(|v| match (prefetched_of((&v.bucket, &v.key)), sink) {
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
        });
    judged.files.extend(unlisted);
    assign_chains(&mut judged.files, &judged.chains);
    // Unstable, so no scratch copy of the files: no two share a sort key (a key is judged
    // once, as a digest or as a log).
    judged
        .files
        .sort_unstable_by(|a, b| a.order().cmp(&b.order()));
    judged
}

fn owned((bucket, key): Location<'_>) -> (String, String) {
    (bucket.to_owned(), key.to_owned())
}

/// The report as the places are judged: everything but the files, which go to the sink.
struct Totals {
    report: Report,
    walked: BTreeSet<ChainId>,
    key_counts: BTreeMap<String, usize>,
    verified: Option<(DateTime<Utc>, DateTime<Utc>)>,
    oldest_digest: Option<DateTime<Utc>>,
    start: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
}

impl Totals {
    fn new(store: &Metered, settings: &Settings) -> Self {
        Self {
            report: Report {
                source: store.describe(),
                requested_end: Some(settings.end),
                open_start: settings.start.is_none(),
                shard: settings.shard,
                window: settings.window,
                ..Report::default()
            },
            walked: BTreeSet::new(),
            key_counts: BTreeMap::new(),
            verified: None,
            oldest_digest: None,
            start: settings.start,
            end: settings.end,
        }
    }

    /// Takes one place's share; its files go on to `out`, counted on the way.
    fn absorb(&mut self, judged: Judged, out: &mut dyn VerdictSink) -> Result<(), RunError> {
        let report = &mut self.report;
        for file in &judged.files {
            report.tally.add(file);
        }
        out.files(judged.files)
            .map_err(|e| RunError::Output { why: e.to_string() })?;
        report.gaps.extend(judged.gaps);
        report.chains.extend(judged.chains);
        report.heads.extend(judged.heads);
        if report.window.is_some() {
            report.oldest.extend(judged.oldest);
        }
        self.walked.extend(judged.walked);
        for (fingerprint, count) in judged.key_counts {
            *self.key_counts.entry(fingerprint).or_default() += count;
        }
        self.verified = match (self.verified, judged.verified) {
            (Some((s, e)), Some((s2, e2))) => Some((s.min(s2), e.max(e2))),
            (a, b) => a.or(b),
        };
        self.oldest_digest = match (self.oldest_digest, judged.oldest_digest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(())
    }

    fn finish(self, keys: &KeyRing) -> Report {
        let mut report = self.report;
        let start = self.start.or(self.oldest_digest).unwrap_or(self.end);
        report.requested_start = Some(start);
        // The span of the authentic digests clipped to the range, as the AWS CLI reports it
        // ("Results found for ..."): clipping each period and taking the extremes is
        // clipping the extremes.
        report.found = self
            .verified
            .map(|(first, last)| (first.max(start), last.min(self.end)));
        report.keys = key_uses(keys, &self.key_counts);
        report.trust = keys.trust();
        report.sort();
        report
    }
}

/// The keys of a run: a ring given before it, or asked for as each batch of places needs
/// them, each region's range once, and again only when a place needs an earlier time.
struct KeyCache<'k> {
    source: Keys<'k>,
    ring: Cow<'k, KeyRing>,
    covered: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>)>,
}

impl<'k> KeyCache<'k> {
    fn new(source: Keys<'k>) -> Self {
        let ring = match source {
            Keys::Ring(ring) => Cow::Borrowed(ring),
            Keys::Source(_) => Cow::Owned(KeyRing::new()),
        };
        Self {
            source,
            ring,
            covered: BTreeMap::new(),
        }
    }

    fn ring(&self) -> &KeyRing {
        self.ring.as_ref()
    }

    /// Asks the source for the keys of the ranges not yet covered.
    fn cover<'a>(
        &mut self,
        digests: impl IntoIterator<Item = &'a LoadedDigest>,
    ) -> Result<(), RunError> {
        let Keys::Source(source) = self.source else {
            return Ok(());
        };
        let wanted: Vec<KeyRange> = key_ranges(digests)
            .into_iter()
            .filter(|range| {
                self.covered
                    .get(&range.region)
                    .is_none_or(|(start, end)| range.start < *start || range.end > *end)
            })
            .map(|range| match self.covered.get(&range.region) {
                Some((start, end)) => KeyRange {
                    start: range.start.min(*start),
                    end: range.end.max(*end),
                    region: range.region,
                },
                None => range,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let fetched = source.keys(&wanted)?;
        self.ring.to_mut().absorb(fetched);
        for range in wanted {
            self.covered.insert(range.region, (range.start, range.end));
        }
        Ok(())
    }
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

/// A bucket and a key, borrowed: thousands of logs are looked up by it.
type Location<'a> = (&'a str, &'a str);

/// Fetches and hashes, in parallel, the logs listed in the place from its start (`start`,
/// or its checkpoint's) to the end.
fn prefetch_logs(
    store: &Metered,
    inventory: &Inventory,
    settings: &Settings,
    start: DateTime<Utc>,
) -> HashMap<(String, String), logs::Fetched> {
    let end = settings.end;
    let in_range: Vec<Location<'_>> = inventory
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
        .map(|location| {
            let fetched = logs::fetch(store, location.0, location.1);
            store.file_done();
            (owned(location), fetched)
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
    // A window before the last is never the end of a live chain: what comes after it is the
    // next window's.
    let live_end = match settings.window_end() {
        Some(_) => DateTime::<Utc>::MAX_UTC,
        None => end,
    };
    let mut verdicts = Vec::new();
    let covered_folders: BTreeSet<&FolderId> = spans.iter().map(|s| &s.folder).collect();
    let digested_kinds = digested_kinds(listed);
    for (folder, kind, logs) in inventory.all_logs() {
        // A window holding no digest of a folder still judges its logs: the trail's digests
        // may lie in the other windows (`merge` drops a folder none of them covers).
        if !covered_folders.contains(folder)
            && settings.trail.is_some()
            && settings.window.is_none()
        {
            continue;
        }
        let digested = kind == LogKind::Events || digested_kinds.contains(&(folder.clone(), kind));
        let folder_spans = || spans.iter().filter(|s| &s.folder == folder);
        let coverage = FolderCoverage::new(folder_spans());
        let from = match settings.window_after_another() {
            true => settings.start.map(|cut| window_cut(folder_spans(), cut)),
            false => (settings.folder_start(&folder.1.account, &folder.1.region))
                .map(|start| logs_from(&coverage, start)),
        };
        let to = settings
            .window_end()
            .map(|cut| window_cut(folder_spans(), cut));
        for (key, delivered) in logs {
            let (bucket, f) = folder;
            if listed.contains(&(bucket.as_str(), key.as_str()))
                || from.is_some_and(|from| *delivered < from)
                || to.is_some_and(|to| *delivered >= to)
                || *delivered > end
            {
                continue;
            }
            let cause = if !digested {
                Cause::KindNotDigested(kind.dir().to_owned())
            } else if covered_folders.contains(folder) {
                coverage.classify(*delivered, live_end)
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
fn assign_chains(files: &mut [FileVerdict], chains: &[ChainId]) {
    let by_digest: HashMap<String, Arc<ChainId>> = files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .filter_map(|f| Some((f.key.clone(), f.chain.clone()?)))
        .collect();
    let mut by_place: HashMap<(&str, &str), BTreeSet<&ChainId>> = HashMap::new();
    for chain in chains.iter().filter(|c| !c.backfill) {
        by_place
            .entry((&chain.account, &chain.region))
            .or_default()
            .insert(chain);
    }
    let only: HashMap<(&str, &str), Arc<ChainId>> = by_place
        .iter()
        .filter(|(_, chains)| chains.len() == 1)
        .filter_map(|(place, chains)| Some((*place, Arc::new((*chains.first()?).clone()))))
        .collect();
    let only_chain =
        |account: Option<&str>, region: Option<&str>| only.get(&(account?, region?)).cloned();
    for file in files.iter_mut() {
        if file.kind != FileKind::Log || file.chain.is_some() {
            continue;
        }
        file.chain = match file.listed_by.as_ref().and_then(|r| by_digest.get(r)) {
            Some(chain) => Some(chain.clone()),
            None => only_chain(file.account.as_deref(), file.region.as_deref()),
        };
    }
}

/// Where the unlisted logs of one folder pass from one window to the next, at the window
/// cut `cut`: the start of the oldest period a digest of the next window's first hour covers
/// (the first digest after the cut covers logs from up to an hour before it), or the cut.
/// Both windows read those digests (the earlier one as its hour after), so both find the
/// same point, and each log falls on one side of it.
fn window_cut<'a>(spans: impl Iterator<Item = &'a Span>, cut: DateTime<Utc>) -> DateTime<Utc> {
    spans
        .filter(|s| !s.backfill && matches!(s.kind, chain::SpanKind::Digest { .. }))
        .filter(|s| (s.selected_at).is_some_and(|t| cut <= t && t < cut + SPILL_OVER))
        .map(|s| s.start)
        .fold(cut, DateTime::min)
}

/// The earliest delivery time in range for a given start. The start is a digest *end* time,
/// and the oldest digest in range covers logs from its own start, so a log there is judged.
fn logs_from(coverage: &FolderCoverage<'_>, start: DateTime<Utc>) -> DateTime<Utc> {
    coverage.start().map_or(start, |covered| covered.min(start))
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
    fn places_are_listed_ahead_by_their_mean_size() {
        let mut sizes = ListedSizes::default();
        assert_eq!(sizes.places_for(LOGS_AT_ONCE), 1, "nothing listed yet: one");
        sizes.add(10_080);
        assert_eq!(
            sizes.places_for(LOGS_AT_ONCE),
            1,
            "one fills the batch alone"
        );
        sizes.add(0);
        sizes.add(0);
        assert_eq!(sizes.places_for(6_720), 2, "mean 3,360");
        let mut empty = ListedSizes::default();
        empty.add(0);
        assert_eq!(empty.places_for(100), 100, "empty places count as one log");
    }

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
