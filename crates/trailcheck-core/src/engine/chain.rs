//! Walking one digest chain, newest first, judging each digest and noting what its logs
//! must hash to, where the chain has gaps and where digests were deleted.
//!
//! The walk follows `previousDigestS3Object` links. Where a link ends (a starting digest, a
//! missing or unreadable predecessor) the newest digest not yet visited starts the next
//! segment, as the AWS CLI does, so every digest present in range is judged exactly once.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::digest::PreviousDigest;
use crate::keys::KeyRing;
use crate::objectkey::{self, Folder, ObjectName};
use crate::store::FetchError;
use crate::verdict::{Cause, ChainId, FileKind, FileVerdict, Gap, GapKind, Status};

use super::judge::{SuccessorClaim, judge};
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
}

/// A log a digest lists, to be fetched and hashed.
#[derive(Clone, Debug)]
pub struct LogTask {
    pub bucket: String,
    pub key: String,
    pub hash: String,
    pub hash_algorithm: Option<String>,
    /// The key of the digest that lists it.
    pub listed_by: String,
    /// True only when the listing digest's signature verified.
    pub trusted: bool,
    pub backfill: bool,
}

impl LogTask {
    /// Where the log is: its bucket and key.
    pub fn location(&self) -> (&str, &str) {
        (&self.bucket, &self.key)
    }
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
}

/// Walks every digest of one chain.
pub fn walk(
    id: &ChainId,
    digests: Vec<LoadedDigest>,
    keys: &KeyRing,
    range_start: DateTime<Utc>,
    lookup: &dyn Lookup,
) -> ChainOutcome {
    let mut walker = Walker::new(id, digests, keys, range_start, lookup);
    while let Some(head) = walker.newest_unvisited(None) {
        walker.walk_segment(head);
    }
    walker.out
}

enum Located {
    At(usize),
    Missing,
}

struct Walker<'a> {
    id: &'a ChainId,
    digests: Vec<LoadedDigest>,
    by_location: HashMap<(String, String), usize>,
    by_recorded: HashMap<(String, String), usize>,
    visited: Vec<bool>,
    keys: &'a KeyRing,
    range_start: DateTime<Utc>,
    lookup: &'a dyn Lookup,
    out: ChainOutcome,
}

impl<'a> Walker<'a> {
    fn new(
        id: &'a ChainId,
        digests: Vec<LoadedDigest>,
        keys: &'a KeyRing,
        range_start: DateTime<Utc>,
        lookup: &'a dyn Lookup,
    ) -> Self {
        let mut walker = Self {
            id,
            digests: Vec::new(),
            by_location: HashMap::new(),
            by_recorded: HashMap::new(),
            visited: Vec::new(),
            keys,
            range_start,
            lookup,
            out: ChainOutcome::default(),
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
            let authentic = self.record(current, claim.as_ref());
            let Some(content) = self.digests[current].content() else {
                return;
            };
            let (start, previous) = (content.digest.start, content.digest.previous.clone());
            let Some(previous) = previous else {
                self.note_gap(current, start);
                return;
            };
            if start < self.range_start {
                return;
            }
            match self.locate(&previous) {
                Located::At(next) if !self.visited[next] => {
                    claim = Some(SuccessorClaim {
                        signature: previous.signature,
                        hash: previous.hash,
                        hash_algorithm: previous.hash_algorithm,
                        authentic,
                    });
                    current = next;
                }
                Located::At(_) => return,
                Located::Missing => {
                    self.note_deleted(current, &previous, start, authentic);
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
            authentic: false,
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
            Err(FetchError::NotFound) => Located::Missing,
            Err(FetchError::Inaccessible(why)) => {
                let mut unreadable = LoadedDigest {
                    bucket: previous.bucket.clone(),
                    key: previous.key.clone(),
                    name: None,
                    content: Err(Cause::Inaccessible(why)),
                    metadata: Default::default(),
                };
                if let Some(ObjectName::Digest(name)) = objectkey::parse(&previous.key) {
                    unreadable.name = Some(name);
                }
                Located::At(self.add(unreadable))
            }
        }
    }

    /// Judges one digest and records its verdict, logs and coverage; true if authentic.
    fn record(&mut self, index: usize, claim: Option<&SuccessorClaim>) -> bool {
        let digest = &self.digests[index];
        let judgement = judge(digest, claim, self.keys);
        let mut verdict = self.digest_verdict(digest, judgement.status, judgement.cause.clone());
        verdict.expected_sha256 = judgement.expected_sha256;
        verdict.actual_sha256 = digest.content().map(|c| c.sha256);
        verdict.reference = digest.content().map(|c| c.digest.fingerprint.clone());
        self.out.verdicts.push(verdict);
        let authentic = judgement.verified.is_some();
        if let Some(verified) = judgement.verified {
            self.out.keys_used.push(verified.key().fingerprint.clone());
            let d = verified.digest();
            self.out.verified_periods.push((d.start, d.end));
        }
        if let Some(content) = digest.content() {
            for log in &content.digest.log_files {
                self.out.log_tasks.push(LogTask {
                    bucket: log.bucket.clone(),
                    key: log.key.clone(),
                    hash: log.hash.clone(),
                    hash_algorithm: log.hash_algorithm.clone(),
                    listed_by: digest.key.clone(),
                    trusted: authentic,
                    backfill: self.id.backfill,
                });
            }
            if let Some(folder) = folder_of(digest) {
                self.out.spans.push(Span {
                    folder,
                    start: content.digest.start,
                    end: content.digest.end,
                    kind: SpanKind::Digest { authentic },
                    backfill: self.id.backfill,
                });
            }
        }
        authentic
    }

    fn digest_verdict(&self, digest: &LoadedDigest, status: Status, cause: Cause) -> FileVerdict {
        let mut verdict =
            FileVerdict::new(FileKind::Digest, &digest.bucket, &digest.key, status, cause);
        verdict.time = digest.time();
        verdict.account = Some(self.id.account.clone());
        verdict.region = Some(self.id.region.clone());
        verdict.backfill = self.id.backfill;
        verdict.chain = Some(self.id.clone());
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
    ) {
        let named_time = match objectkey::parse(&previous.key) {
            Some(ObjectName::Digest(name)) => name.end,
            _ => start,
        };
        let (status, cause) = if successor_authentic {
            (Status::Deleted, Cause::NotFound)
        } else {
            let by = self.digests[current].key.clone();
            (Status::Unverifiable, Cause::ListedByUnverifiedDigest(by))
        };
        let mut verdict = FileVerdict::new(
            FileKind::Digest,
            &previous.bucket,
            &previous.key,
            status,
            cause,
        );
        verdict.time = Some(named_time);
        verdict.expected_sha256 = successor_authentic
            .then(|| crate::hash::Sha256::from_hex(&previous.hash))
            .flatten();
        verdict.account = Some(self.id.account.clone());
        verdict.region = Some(self.id.region.clone());
        verdict.backfill = self.id.backfill;
        verdict.chain = Some(self.id.clone());
        self.out.verdicts.push(verdict);

        let from = match self.newest_unvisited(Some(named_time)) {
            Some(older) => end_of(&self.digests[older]),
            None => named_time - Duration::hours(1),
        };
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
        });
        if let Some(folder) = folder_of(digest) {
            self.out.spans.push(Span {
                folder,
                start: from,
                end: to,
                kind: match kind {
                    GapKind::Gap => SpanKind::Gap,
                    GapKind::ChainBreak => SpanKind::Break,
                },
                backfill: self.id.backfill,
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
