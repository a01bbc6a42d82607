//! Walking one digest chain, newest first, judging each digest and noting what its logs
//! must hash to, where the chain has gaps and where digests were deleted.
//!
//! The walk follows `previousDigestS3Object` links. Where a link ends (a starting digest, a
//! missing or unreadable predecessor) the newest digest not yet visited starts the next
//! segment, as the AWS CLI does, so every digest present in range is judged exactly once.
//!
//! A digest's proof travels as a value: a successor vouches for its predecessor only with
//! its own [`Verified`] proof, and a log's task carries the proof of the digest listing it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::checkpoint::Anchor;
use crate::digest::PreviousDigest;
use crate::keys::KeyRing;
use crate::objectkey::{self, Folder, ObjectName};
use crate::signature::Verified;
use crate::store::FetchError;
use crate::verdict::{Cause, ChainId, FileKind, FileVerdict, Gap, GapKind, Status};
use crate::window::{Claimed, Oldest};

use super::coverage::DELIVERY_SLACK;
use super::judge::{DigestRef, SuccessorClaim, judge};
use super::load::LoadedDigest;
use super::lookup::Lookup;

/// A log folder: the bucket and `[prefix/]AWSLogs/[org/]account/CloudTrail/region`.
pub type FolderId = (String, Folder);

/// What a period of a log folder is known to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    /// Covered by a digest; `authentic` says whether its log list can be trusted.
    Digest { authentic: bool },
    /// No digests were written (validation or logging off).
    Gap,
    /// Digests were written and have been deleted.
    Break,
}

/// A period of a log folder and what covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub folder: FolderId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub kind: SpanKind,
    pub backfill: bool,
    /// For a digest's span, the digest's time as the range selects it (its name's end):
    /// where a window's join falls.
    pub selected_at: Option<DateTime<Utc>>,
}

/// A log a digest lists, to be fetched and hashed.
#[derive(Clone, Debug)]
pub struct LogTask {
    pub bucket: String,
    pub key: String,
    pub hash: String,
    pub hash_algorithm: Option<String>,
    /// The digest that lists it, with its proof when it has one: shared by its logs.
    pub listing: Arc<Listing>,
    pub backfill: bool,
}

/// The digest listing a log: proven (its signature verified) or not.
#[derive(Clone, Debug)]
pub enum Listing {
    Proven(Verified<DigestRef>),
    /// The key of a digest that is not proven authentic.
    Unproven(String),
}

impl LogTask {
    /// Where the log is: its bucket and key.
    pub fn location(&self) -> (&str, &str) {
        (&self.bucket, &self.key)
    }

    /// The key of the digest that lists it.
    pub fn listed_by(&self) -> &str {
        match &*self.listing {
            Listing::Proven(proof) => &proof.value().key,
            Listing::Unproven(key) => key,
        }
    }

    /// True only when the listing digest's signature verified.
    pub fn trusted(&self) -> bool {
        matches!(*self.listing, Listing::Proven(_))
    }
}

/// The logs present, by folder, with their delivery times (as the inventory lists them).
pub type LogsPresent = BTreeMap<FolderId, Vec<(String, DateTime<Utc>)>>;

/// How far back a chain is walked.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// The oldest digest end time in range.
    pub from: DateTime<Utc>,
    /// Set when no start time was given, so the range opens at the oldest digest present:
    /// the logs present, to tell whether a missing predecessor of that digest was deleted
    /// (its logs are here, so the copy covers its period) or lies before the copy began.
    pub open_start: Option<&'a LogsPresent>,
    /// The chain's newest digest an earlier run proved intact (`--checkpoint`): judged again,
    /// but its logs not read again, and the walk goes no further back than it.
    pub anchor: Option<&'a Anchor>,
    /// `--window`, all but the last window: digests at or after this belong to the next
    /// window. They are walked, so the window's newest digests are judged with their
    /// successors' records and its last logs classified with their coverage, as in a whole
    /// run, but their own verdicts and logs are the next window's.
    pub window_end: Option<DateTime<Utc>>,
    /// `--window`, all but the first: a predecessor older than `from` lies in the window
    /// before, which judges it; the walk stops there as at a range's start.
    pub closed_start: bool,
}

/// Everything one chain contributes to the report.
#[derive(Debug, Default)]
pub struct ChainOutcome {
    pub verdicts: Vec<FileVerdict>,
    pub log_tasks: Vec<LogTask>,
    pub gaps: Vec<Gap>,
    pub spans: Vec<Span>,
    /// The fingerprint of the key that verified each authentic digest.
    pub keys_used: Vec<String>,
    /// Start and end of each authentic digest, for the "results found" span.
    pub verified_periods: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// The newest digest proven intact, as a checkpoint records it.
    pub newest_proven: Option<Anchor>,
    /// The logs the next window's digests list (`Scope::window_end`): not judged here, and
    /// not unlisted either.
    pub next_window_logs: Vec<(String, String)>,
    /// The oldest digest judged with its content read, and the predecessor it names.
    pub oldest: Option<Oldest>,
}

/// Walks every digest of one chain.
pub fn walk(
    id: &ChainId,
    digests: Vec<LoadedDigest>,
    keys: &KeyRing,
    scope: Scope<'_>,
    lookup: &dyn Lookup,
) -> ChainOutcome {
    let mut walker = Walker::new(id, digests, keys, scope, lookup);
    while let Some(head) = walker.newest_unvisited(None) {
        walker.walk_segment(head);
    }
    if let Some(anchor) = scope.anchor {
        walker.check_anchor(anchor);
    }
    walker.out
}

enum Located {
    At(usize),
    Missing,
}

struct Walker<'a> {
    id: &'a ChainId,
    /// The chain as every verdict of it carries it: one allocation per chain, not per file.
    shared_id: Arc<ChainId>,
    digests: Vec<LoadedDigest>,
    by_location: HashMap<(String, String), usize>,
    by_recorded: HashMap<(String, String), usize>,
    visited: Vec<bool>,
    keys: &'a KeyRing,
    range_start: DateTime<Utc>,
    open_start: Option<&'a LogsPresent>,
    anchor: Option<&'a Anchor>,
    window_end: Option<DateTime<Utc>>,
    closed_start: bool,
    lookup: &'a dyn Lookup,
    out: ChainOutcome,
    /// Original locations of moved digests already reported deleted.
    moved_away: HashSet<(String, String)>,
}

impl<'a> Walker<'a> {
    fn new(
        id: &'a ChainId,
        digests: Vec<LoadedDigest>,
        keys: &'a KeyRing,
        scope: Scope<'a>,
        lookup: &'a dyn Lookup,
    ) -> Self {
        let mut walker = Self {
            id,
            shared_id: Arc::new(id.clone()),
            digests: Vec::new(),
            by_location: HashMap::new(),
            by_recorded: HashMap::new(),
            visited: Vec::new(),
            keys,
            range_start: scope.from,
            open_start: scope.open_start,
            anchor: scope.anchor,
            window_end: scope.window_end,
            closed_start: scope.closed_start,
            lookup,
            out: ChainOutcome::default(),
            moved_away: HashSet::new(),
        };
        for digest in digests {
            walker.add(digest);
        }
        walker
    }

    fn add(&mut self, digest: LoadedDigest) -> usize {
        let index = self.digests.len();
        let location = (digest.bucket.clone(), digest.key.clone());
        if let Some((bucket, key)) = digest.recorded_elsewhere() {
            self.by_recorded
                .entry((bucket.to_owned(), key.to_owned()))
                .or_insert(index);
        }
        self.by_location.insert(location, index);
        self.digests.push(digest);
        self.visited.push(false);
        index
    }

    /// The newest digest not yet judged, optionally only among those older than `before`.
    fn newest_unvisited(&self, before: Option<DateTime<Utc>>) -> Option<usize> {
        (0..self.digests.len())
            .filter(|&i| !self.visited[i])
            .filter(|&i| before.is_none_or(|b| self.digests[i].time().is_some_and(|t| t < b)))
            .max_by(|&a, &b| {
                let (da, db) = (&self.digests[a], &self.digests[b]);
                (da.time(), &da.key).cmp(&(db.time(), &db.key))
            })
    }

    fn walk_segment(&mut self, head: usize) {
        let mut current = head;
        let mut claim = self.head_claim(head);
        loop {
            self.visited[current] = true;
            let proof = self.record(current, claim.as_ref());
            let Some(content) = self.digests[current].content() else {
                return;
            };
            let (start, previous) = (content.digest.start, content.digest.previous.clone());
            if self.is_anchor(current) {
                // Proven by an earlier run, with everything before it.
                return;
            }
            let Some(previous) = previous else {
                self.note_gap(current, start);
                return;
            };
            if start < self.range_start {
                if self.open_start.is_some() {
                    self.open_end(current, &previous, start, proof.is_some());
                }
                return;
            }
            match self.locate(&previous) {
                Located::At(next) if self.before_window(next) => {
                    // Not to be judged as a segment of its own either.
                    self.visited[next] = true;
                    return;
                }
                Located::At(next) if !self.visited[next] => {
                    claim = Some(SuccessorClaim {
                        signature: previous.signature,
                        hash: previous.hash,
                        hash_algorithm: previous.hash_algorithm,
                        vouched: proof,
                    });
                    current = next;
                }
                Located::At(_) => return,
                Located::Missing => {
                    self.note_deleted(current, &previous, start, proof.is_some(), None);
                    return;
                }
            }
        }
    }

    /// A segment's newest digest has no successor in range to vouch for it. Without
    /// signature metadata of its own, its successor out of range (an `--end-time` in the past)
    /// still records its signature; that signature proves the digest whatever its source,
    /// but the successor's other claims count for nothing, as it is not verified here.
    fn head_claim(&self, head: usize) -> Option<SuccessorClaim> {
        let digest = &self.digests[head];
        if digest.metadata.signature.is_some() || digest.content().is_none() {
            return None;
        }
        let successor = self.lookup.successor(digest)?;
        let previous = successor.content()?.digest.previous.clone()?;
        let names_head = previous.bucket == digest.bucket && previous.key == digest.key;
        names_head.then_some(SuccessorClaim {
            signature: previous.signature,
            hash: previous.hash,
            hash_algorithm: previous.hash_algorithm,
            vouched: None,
        })
    }

    fn locate(&mut self, previous: &PreviousDigest) -> Located {
        let location = (previous.bucket.clone(), previous.key.clone());
        if let Some(&i) = self.by_location.get(&location) {
            return Located::At(i);
        }
        if let Some(&i) = self.by_recorded.get(&location) {
            return Located::At(i);
        }
        match self.lookup.fetch(&previous.bucket, &previous.key) {
            Ok(digest) => Located::At(self.add(digest)),
            Err(error) => {
                let Some(cause) = Cause::of_refusal(error) else {
                    return Located::Missing;
                };
                let mut unreadable = LoadedDigest {
                    bucket: previous.bucket.clone(),
                    key: previous.key.clone(),
                    name: None,
                    content: Err(cause),
                    metadata: Default::default(),
                };
                if let Some(ObjectName::Digest(name)) = objectkey::parse(&previous.key) {
                    unreadable.name = Some(name);
                }
                Located::At(self.add(unreadable))
            }
        }
    }

    /// A digest of the window before this one's (`Scope::closed_start`): judged there.
    fn before_window(&self, index: usize) -> bool {
        self.closed_start
            && (self.digests[index].time()).is_some_and(|time| time < self.range_start)
    }

    /// A digest of the next window (`Scope::window_end`): read here only for what it says
    /// of this window's digests and logs.
    fn in_next_window(&self, time: Option<DateTime<Utc>>) -> bool {
        self.window_end
            .is_some_and(|end| time.is_some_and(|time| time >= end))
    }

    fn is_anchor(&self, index: usize) -> bool {
        let digest = &self.digests[index];
        self.anchor
            .is_some_and(|a| a.bucket == digest.bucket && a.key == digest.key)
    }

    /// After the walk: the anchor must still be there, hashing to what was recorded. Its
    /// successor's link to it was checked as any link is (by `judge`, with the successor's
    /// claim), so a first new digest that names another predecessor, or records another
    /// signature or hash, is already a chain break or a mismatch.
    fn check_anchor(&mut self, anchor: &Anchor) {
        // Every digest naming the anchor as its predecessor records what the checkpoint did.
        let recorded_hash = anchor.sha256.to_hex();
        let link_differs = (self.digests.iter())
            .filter_map(|d| d.content()?.digest.previous.as_ref())
            .filter(|p| p.bucket == anchor.bucket && p.key == anchor.key)
            .any(|p| {
                !p.signature.trim().eq_ignore_ascii_case(&anchor.signature)
                    || !p.hash.trim().eq_ignore_ascii_case(&recorded_hash)
            });
        let found = (self.out.verdicts.iter_mut()).find(|v| {
            v.kind == FileKind::Digest && v.bucket == anchor.bucket && v.key == anchor.key
        });
        let cause = match found {
            None => {
                // Not present, and no digest of the run names it: gone with all after it.
                let mut verdict = FileVerdict::new(
                    FileKind::Digest,
                    &anchor.bucket,
                    &anchor.key,
                    Cause::CheckpointDeleted,
                );
                verdict.time = Some(anchor.end);
                verdict.account = Some(self.id.account.clone());
                verdict.region = Some(self.id.region.clone());
                verdict.backfill = self.id.backfill;
                verdict.expected_sha256 = Some(anchor.sha256);
                verdict.signed_by = Some(anchor.fingerprint.clone());
                verdict.chain = Some(Arc::clone(&self.shared_id));
                self.out.verdicts.push(verdict);
                None
            }
            Some(verdict) => {
                let cause = match verdict.actual_sha256 {
                    None if matches!(
                        verdict.cause,
                        Cause::NotFound | Cause::ListedByUnverifiedDigest(_)
                    ) =>
                    {
                        Some(Cause::CheckpointDeleted)
                    }
                    Some(actual) if actual != anchor.sha256 || link_differs => {
                        Some(Cause::CheckpointChanged(recorded_hash))
                    }
                    // Present but no longer a digest at all (not gzip, not JSON): changed.
                    // Unreadable (access denied) is left unverifiable as judged.
                    None if verdict.status == Status::Modified => {
                        Some(Cause::CheckpointChanged(recorded_hash))
                    }
                    _ => None,
                };
                if let Some(cause) = &cause {
                    verdict.status = cause.status();
                    verdict.cause = cause.clone();
                    verdict.expected_sha256 = Some(anchor.sha256);
                }
                cause
            }
        };
        let head_is_anchor = (self.out.newest_proven.as_ref())
            .is_some_and(|h| h.bucket == anchor.bucket && h.key == anchor.key);
        if cause.is_some() && head_is_anchor {
            self.out.newest_proven = None;
        }
    }

    /// Judges one digest and records its verdict, logs and coverage; its proof if authentic.
    fn record(
        &mut self,
        index: usize,
        claim: Option<&SuccessorClaim>,
    ) -> Option<Verified<DigestRef>> {
        let digest = &self.digests[index];
        let judgement = judge(digest, claim, self.keys);
        let proof = judgement.verified.as_ref().map(|verified| {
            verified.map(|_| DigestRef {
                bucket: digest.bucket.clone(),
                key: digest.key.clone(),
            })
        });
        let next_window = self.in_next_window(digest.time());
        if next_window {
            // The next window's: its coverage counts here, its verdict and logs there.
            if let Some(content) = digest.content() {
                (self.out.next_window_logs).extend(
                    content
                        .digest
                        .log_files
                        .iter()
                        .map(|log| (log.bucket.clone(), log.key.clone())),
                );
                self.push_digest_span(index, proof.is_some());
            }
            return proof;
        }
        let mut verdict = self.digest_verdict(digest, judgement.cause.clone());
        verdict.expected_sha256 = judgement.expected_sha256;
        verdict.actual_sha256 = digest.content().map(|c| c.sha256);
        verdict.signed_by = digest.content().map(|c| c.digest.fingerprint.clone());
        self.out.verdicts.push(verdict);
        if let Some(verified) = &judgement.verified {
            self.out.keys_used.push(verified.fingerprint().to_owned());
            let d = verified.value();
            self.out.verified_periods.push((d.start, d.end));
        }
        if let (Cause::Verified, Some(verified), Some(signature), Some(end), Some(content)) = (
            &judgement.cause,
            &judgement.verified,
            &judgement.signature,
            digest.time(),
            digest.content(),
        ) && self.out.newest_proven.as_ref().is_none_or(|n| n.end < end)
        {
            self.out.newest_proven = Some(Anchor {
                bucket: digest.bucket.clone(),
                key: digest.key.clone(),
                end,
                sha256: content.sha256,
                signature: signature.clone(),
                fingerprint: verified.fingerprint().to_owned(),
            });
        }
        let anchor = self
            .anchor
            .is_some_and(|a| a.bucket == digest.bucket && a.key == digest.key);
        if digest.content().is_some() && !anchor {
            let listing = Arc::new(match &proof {
                Some(proof) => Listing::Proven(proof.clone()),
                None => Listing::Unproven(digest.key.clone()),
            });
            self.push_digest_span(index, proof.is_some());
            // The digest's list is read here only: its entries move into the tasks rather
            // than being copied beside it.
            let log_files = self.digests[index].take_log_files();
            self.out
                .log_tasks
                .extend(log_files.into_iter().map(|log| LogTask {
                    bucket: log.bucket,
                    key: log.key,
                    hash: log.hash,
                    hash_algorithm: log.hash_algorithm,
                    listing: Arc::clone(&listing),
                    backfill: self.id.backfill,
                }));
        }
        self.note_oldest(index, proof.is_some());
        let vouched_for = proof.is_some() || claim.is_some_and(|c| c.vouched.is_some());
        if vouched_for {
            self.note_moved_away(index);
        }
        proof
    }

    /// The period a digest's log list covers, for the logs no digest lists.
    fn push_digest_span(&mut self, index: usize, authentic: bool) {
        let digest = &self.digests[index];
        let (Some(content), Some(folder)) = (digest.content(), folder_of(digest)) else {
            return;
        };
        self.out.spans.push(Span {
            folder,
            start: content.digest.start,
            end: content.digest.end,
            kind: SpanKind::Digest { authentic },
            backfill: self.id.backfill,
            selected_at: digest.time(),
        });
    }

    /// Keeps the oldest digest judged whose content was read, with what it names before it.
    fn note_oldest(&mut self, index: usize, proven: bool) {
        let digest = &self.digests[index];
        let (Some(content), Some(end)) = (digest.content(), digest.time()) else {
            return;
        };
        if self.out.oldest.as_ref().is_some_and(|o| o.end <= end) {
            return;
        }
        self.out.oldest = Some(Oldest {
            bucket: digest.bucket.clone(),
            key: digest.key.clone(),
            end,
            start: content.digest.start,
            proven,
            previous: content.digest.previous.as_ref().map(|p| Claimed {
                bucket: p.bucket.clone(),
                key: p.key.clone(),
                hash: p.hash.clone(),
                signature: p.signature.clone(),
            }),
        });
    }

    /// A digest found away from the location it records (proven, by its own signature or
    /// its successor's record, to have been delivered there): when nothing is at that
    /// location any more, list it too, deleted, naming where the digest was found, so the
    /// original key has an entry as it has in the AWS CLI's output.
    fn note_moved_away(&mut self, index: usize) {
        let digest = &self.digests[index];
        let Some((bucket, key)) = digest.recorded_elsewhere() else {
            return;
        };
        let original = (bucket.to_owned(), key.to_owned());
        if self.by_location.contains_key(&original) || self.moved_away.contains(&original) {
            return;
        }
        if !matches!(
            self.lookup.fetch(&original.0, &original.1),
            Err(FetchError::NotFound)
        ) {
            return;
        }
        let cause = Cause::MovedTo {
            bucket: digest.bucket.clone(),
            key: digest.key.clone(),
        };
        let mut verdict = FileVerdict::new(FileKind::Digest, &original.0, &original.1, cause);
        verdict.time = match objectkey::parse(&original.1) {
            Some(ObjectName::Digest(name)) => Some(name.end),
            _ => digest.time(),
        };
        verdict.account = Some(self.id.account.clone());
        verdict.region = Some(self.id.region.clone());
        verdict.backfill = self.id.backfill;
        verdict.signed_by = digest.content().map(|c| c.digest.fingerprint.clone());
        self.out.verdicts.push(verdict);
        self.moved_away.insert(original);
    }

    /// The oldest digest present, with no start time given, names a predecessor. If that
    /// predecessor is absent while logs of its period are present, the copy covers the
    /// period and the predecessor was deleted; otherwise the copy may simply begin here, and
    /// the open start is said in `gaps`.
    fn open_end(
        &mut self,
        current: usize,
        previous: &PreviousDigest,
        start: DateTime<Utc>,
        successor_authentic: bool,
    ) {
        let location = (previous.bucket.clone(), previous.key.clone());
        if self.by_location.contains_key(&location) || self.by_recorded.contains_key(&location) {
            return;
        }
        match self.lookup.fetch(&previous.bucket, &previous.key) {
            Err(FetchError::NotFound) => {}
            // Present (out of range) or not to be read: nothing is claimed about it.
            Ok(_) | Err(_) => return,
        }
        let named_time = match objectkey::parse(&previous.key) {
            Some(ObjectName::Digest(name)) => name.end,
            _ => start,
        };
        match self.orphaned_logs_since(current, start, named_time) {
            Some(oldest) => {
                let from = oldest.min(named_time - Duration::hours(1));
                self.note_deleted(current, previous, start, successor_authentic, Some(from));
            }
            None => {
                let digest = &self.digests[current];
                self.out.gaps.push(Gap {
                    kind: GapKind::OpenStart,
                    chain: self.id.clone(),
                    bucket: digest.bucket.clone(),
                    from: start,
                    to: start,
                    missing_digests: None,
                    previous: Some(location),
                });
            }
        }
    }

    /// The oldest delivery time of a log beside `current`, listed by no digest of this
    /// chain, delivered before `start` (with delivery slack), when one was delivered in the
    /// predecessor's hour (ending at `named_time`): the copy covers that hour.
    fn orphaned_logs_since(
        &self,
        current: usize,
        start: DateTime<Utc>,
        named_time: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let logs = self.open_start?;
        let folder = folder_of(&self.digests[current])?;
        let listed: HashSet<(&str, &str)> =
            self.out.log_tasks.iter().map(LogTask::location).collect();
        let before: Vec<DateTime<Utc>> = logs
            .get(&folder)?
            .iter()
            .filter(|(key, _)| !listed.contains(&(folder.0.as_str(), key.as_str())))
            .map(|(_, delivered)| *delivered)
            .filter(|delivered| *delivered + DELIVERY_SLACK < start)
            .collect();
        let window_start = named_time.min(start) - Duration::hours(1);
        before
            .iter()
            .any(|d| *d >= window_start)
            .then(|| before.iter().copied().min())
            .flatten()
    }

    fn digest_verdict(&self, digest: &LoadedDigest, cause: Cause) -> FileVerdict {
        let mut verdict = FileVerdict::new(FileKind::Digest, &digest.bucket, &digest.key, cause);
        verdict.time = digest.time();
        verdict.account = Some(self.id.account.clone());
        verdict.region = Some(self.id.region.clone());
        verdict.backfill = self.id.backfill;
        verdict.chain = Some(Arc::clone(&self.shared_id));
        verdict
    }

    /// A starting digest with older digests present: nothing was digested in between.
    fn note_gap(&mut self, current: usize, start: DateTime<Utc>) {
        let Some(older) = self.newest_unvisited(Some(start + Duration::seconds(1))) else {
            return;
        };
        let from = end_of(&self.digests[older]);
        self.push_hole(current, GapKind::Gap, from, start, None);
    }

    /// The predecessor named by `current` is absent: report it, and the break it leaves.
    fn note_deleted(
        &mut self,
        current: usize,
        previous: &PreviousDigest,
        start: DateTime<Utc>,
        successor_authentic: bool,
        from: Option<DateTime<Utc>>,
    ) {
        let named_time = match objectkey::parse(&previous.key) {
            Some(ObjectName::Digest(name)) => name.end,
            _ => start,
        };
        let cause = if successor_authentic {
            Cause::NotFound
        } else {
            let by = self.digests[current].key.clone();
            Cause::ListedByUnverifiedDigest(by)
        };
        let mut verdict =
            FileVerdict::new(FileKind::Digest, &previous.bucket, &previous.key, cause);
        verdict.time = Some(named_time);
        verdict.expected_sha256 = successor_authentic
            .then(|| crate::hash::Sha256::from_hex(&previous.hash))
            .flatten();
        verdict.account = Some(self.id.account.clone());
        verdict.region = Some(self.id.region.clone());
        verdict.backfill = self.id.backfill;
        verdict.chain = Some(Arc::clone(&self.shared_id));
        let from = match (from, self.newest_unvisited(Some(named_time))) {
            (Some(from), _) => from,
            (None, Some(older)) => end_of(&self.digests[older]),
            (None, None) => named_time - Duration::hours(1),
        };
        if self.in_next_window(Some(named_time)) {
            // Named by a digest of the next window, and of it: that window reports it. Its
            // period still counts here as a break, for the logs of this window.
            if let Some(folder) = folder_of(&self.digests[current]) {
                self.out.spans.push(Span {
                    folder,
                    start: from,
                    end: start,
                    kind: SpanKind::Break,
                    backfill: self.id.backfill,
                    selected_at: None,
                });
            }
            return;
        }
        self.out.verdicts.push(verdict);
        let hours = (start - from).num_seconds() as f64 / 3600.0;
        let missing = hours.round().clamp(1.0, f64::from(u32::MAX)) as u32;
        self.push_hole(current, GapKind::ChainBreak, from, start, Some(missing));
    }

    fn push_hole(
        &mut self,
        current: usize,
        kind: GapKind,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        missing_digests: Option<u32>,
    ) {
        let digest = &self.digests[current];
        self.out.gaps.push(Gap {
            kind,
            chain: self.id.clone(),
            bucket: digest.bucket.clone(),
            from,
            to,
            missing_digests,
            previous: None,
        });
        if let Some(folder) = folder_of(digest) {
            self.out.spans.push(Span {
                folder,
                start: from,
                end: to,
                kind: match kind {
                    GapKind::Gap => SpanKind::Gap,
                    GapKind::ChainBreak | GapKind::OpenStart => SpanKind::Break,
                },
                backfill: self.id.backfill,
                selected_at: None,
            });
        }
    }
}

fn end_of(digest: &LoadedDigest) -> DateTime<Utc> {
    digest
        .content()
        .map(|c| c.digest.end)
        .or_else(|| digest.time())
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The log folder a digest covers: the one beside it, in the same bucket.
fn folder_of(digest: &LoadedDigest) -> Option<FolderId> {
    digest
        .name
        .as_ref()
        .map(|n| (digest.bucket.clone(), n.folder.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::lookup::StoreLookup;
    use crate::engine::testkit::{self, BUCKET, Spec, at, digest_key};
    use crate::hash::Sha256;
    use crate::store::Metadata;
    use crate::store::memory::MemoryStore;
    use crate::verdict::Status;

    fn chain_id() -> ChainId {
        ChainId {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            trail: "main".into(),
            home_region: "us-east-1".into(),
            organization: None,
            backfill: false,
        }
    }

    /// Hours 1..=3, each digest naming its predecessor; hour 1 a starting digest. Returns
    /// the store and the contents by hour.
    fn three_hours() -> (MemoryStore, Vec<Vec<u8>>) {
        let mut store = MemoryStore::new();
        let mut contents = Vec::new();
        let mut previous = None;
        for hour in 1..=3 {
            let content = testkit::content(&Spec {
                hour,
                previous: previous.clone(),
                logs: vec![],
            });
            let signature = testkit::sign(&content);
            let metadata = Metadata {
                signature: Some(signature.clone()),
                signature_algorithm: Some("SHA256withRSA".into()),
                ..Metadata::default()
            };
            store.put(BUCKET, &digest_key(hour), testkit::gzip(&content), metadata);
            previous = Some((digest_key(hour), Sha256::of(&content), signature));
            contents.push(content);
        }
        (store, contents)
    }

    fn walk_store(store: &MemoryStore, open_start: Option<&LogsPresent>) -> ChainOutcome {
        let digests: Vec<LoadedDigest> = store
            .list(BUCKET, "AWSLogs/")
            .unwrap()
            .iter()
            .filter_map(|k| super::super::load::load(store, BUCKET, k).ok())
            .collect();
        let from = digests.iter().filter_map(LoadedDigest::time).min().unwrap();
        let lookup = StoreLookup { store };
        let scope = Scope {
            from,
            open_start,
            anchor: None,
            window_end: None,
            closed_start: false,
        };
        walk(&chain_id(), digests, &testkit::good_ring(), scope, &lookup)
    }

    fn summary(out: &ChainOutcome) -> Vec<(String, &'static str, Status)> {
        let mut rows: Vec<_> = out
            .verdicts
            .iter()
            .map(|v| (v.key.clone(), v.cause.code(), v.status))
            .collect();
        rows.sort();
        rows
    }

    use crate::store::Store;

    #[test]
    fn walks_decide_each_shape_as_they_should() {
        let key = digest_key;
        let intact = |h| (key(h), "verified", Status::Intact);
        type Change = fn(&mut MemoryStore);
        type Row = (String, &'static str, Status);
        type Case = (&'static str, Change, Vec<Row>, Vec<GapKind>);
        let cases: Vec<Case> = vec![
            (
                "clean",
                |_| {},
                vec![intact(1), intact(2), intact(3)],
                vec![],
            ),
            (
                "middle digest deleted",
                |s| {
                    s.remove(BUCKET, &digest_key(2));
                },
                vec![intact(1), (key(2), "not-found", Status::Deleted), intact(3)],
                vec![GapKind::ChainBreak],
            ),
            (
                "middle digest moved",
                |s| {
                    let (body, meta) = s.remove(BUCKET, &digest_key(2)).unwrap();
                    s.put(BUCKET, &digest_key(2).replace("main", "copy"), body, meta);
                },
                vec![
                    intact(1),
                    (key(2), "moved", Status::Deleted),
                    (key(2).replace("main", "copy"), "moved", Status::Moved),
                    intact(3),
                ],
                vec![],
            ),
            (
                "oldest digest deleted, no logs of its hour: open start",
                |s| {
                    s.remove(BUCKET, &digest_key(1));
                },
                vec![intact(2), intact(3)],
                vec![GapKind::OpenStart],
            ),
        ];
        for (name, change, verdicts, gaps) in cases {
            let (mut store, _) = three_hours();
            change(&mut store);
            let out = walk_store(&store, Some(&LogsPresent::new()));
            let mut want = verdicts.clone();
            want.sort();
            assert_eq!(summary(&out), want, "{name}");
            let kinds: Vec<GapKind> = out.gaps.iter().map(|g| g.kind).collect();
            assert_eq!(kinds, gaps, "{name}");
        }
    }

    #[test]
    fn oldest_digest_deleted_with_a_log_of_its_hour_present_is_deleted() {
        let (mut store, _) = three_hours();
        store.remove(BUCKET, &digest_key(1));
        let digest = super::super::load::load(&store, BUCKET, &digest_key(2)).unwrap();
        let folder = folder_of(&digest).unwrap();
        let mut logs = LogsPresent::new();
        logs.insert(
            folder,
            vec![("a-log.json.gz".into(), at(0) + Duration::minutes(20))],
        );
        let out = walk_store(&store, Some(&logs));
        assert!(summary(&out).contains(&(digest_key(1), "not-found", Status::Deleted)));
        assert_eq!(out.gaps.len(), 1);
        assert_eq!(out.gaps[0].kind, GapKind::ChainBreak);
        // With a start time given, the walk stops at the range: nothing is said of before.
        let quiet = walk_store(&store, None);
        assert!(quiet.gaps.is_empty());
        assert!(summary(&quiet).iter().all(|(_, _, s)| *s == Status::Intact));
    }
}
