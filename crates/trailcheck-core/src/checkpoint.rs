//! Incremental runs (`--checkpoint FILE`): per chain, the newest digest a run proved intact,
//! so the next run validates each chain from there forward only.
//!
//! The recorded digest (the chain's *anchor*) is fetched and judged again on every run: gone,
//! it is deleted; changed, modified. The first new digest must link to it, which the chain
//! walk checks as for any two digests (its `previousDigestSignature` and
//! `previousDigestHashValue` against the anchor's signature and content), and the anchor's
//! content must still hash to what was recorded. The file is untrusted input: it is parsed
//! into types of its own, bounded, and refused with a message when it does not fit the run.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::hash::Sha256;
use crate::objectkey::{self, ObjectName};
use crate::verdict::{ChainId, FileKind, Report, Shard, Status};

/// The format's version, the file's first field.
const FORMAT: u32 = 1;

/// The largest checkpoint file read: a few hundred bytes a chain, so far more chains than
/// any organization has.
pub const MAX_BYTES: u64 = 64 << 20;

/// The newest digest of a chain proven intact, as a checkpoint records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub bucket: String,
    pub key: String,
    /// The digest's end time (from its name, as every digest is placed in time).
    pub end: DateTime<Utc>,
    /// The SHA-256 of its uncompressed content.
    pub sha256: Sha256,
    /// Its signature, lower-case hex, as its successor's `previousDigestSignature` has it.
    pub signature: String,
    /// The fingerprint of the key that verified it.
    pub fingerprint: String,
}

/// What one run leaves for the next: per chain, its anchor, or `None` for a chain that has
/// no digest proven intact yet (or had tampering before it had one): validated from the
/// start of the range every run until it has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The source the chains were validated in, as the report names it.
    pub source: String,
    pub chains: BTreeMap<ChainId, Option<Anchor>>,
}

/// Why a checkpoint file cannot be used for a run. The caller names the file.
pub type Refusal = String;

impl Checkpoint {
    /// The chain's anchor, if the checkpoint records one.
    pub fn anchor(&self, chain: &ChainId) -> Option<&Anchor> {
        self.chains.get(chain).and_then(Option::as_ref)
    }

    /// Where the listing of an account and region starts: the oldest anchor of its chains,
    /// when the checkpoint records an anchor for every chain it knows there; `None` when it
    /// knows none of them, or one of them is to be validated from the start.
    pub fn folder_start(&self, account: &str, region: &str) -> Option<DateTime<Utc>> {
        let mut known = self
            .chains
            .iter()
            .filter(|(c, _)| c.account == account && c.region == region)
            .peekable();
        known.peek()?;
        known
            .map(|(_, anchor)| anchor.as_ref().map(|a| a.end))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .min()
    }

    /// Checks that the checkpoint belongs to a run over `source` up to `end`, of `shard`,
    /// limited to the chains `selects` takes: a checkpoint of another source or shard, or one
    /// newer than the run's end, is refused rather than silently giving a full or empty run.
    pub fn check_fits(
        &self,
        source: &str,
        end: DateTime<Utc>,
        shard: Option<Shard>,
        selects: impl Fn(&ChainId) -> bool,
    ) -> Result<(), Refusal> {
        if self.source != source {
            return Err(format!(
                "it was written for the source {}, not {source}: give each source its own \
                 checkpoint file",
                self.source
            ));
        }
        for (chain, anchor) in &self.chains {
            if let Some(shard) = shard
                && !shard.takes(&chain.account, &chain.region)
            {
                return Err(format!(
                    "it names chain {chain}, which shard {}/{} does not validate: give each \
                     shard its own checkpoint file",
                    shard.index, shard.count
                ));
            }
            if !selects(chain) {
                return Err(format!(
                    "it names chain {chain}, which this run does not validate (--trail-arn): \
                     give each selection its own checkpoint file"
                ));
            }
            if let Some(anchor) = anchor
                && anchor.end > end
            {
                return Err(format!(
                    "chain {chain} was proven up to {}, after this run's end {}: a checkpoint \
                     never moves backwards; give an --end-time after it, or another file",
                    crate::time::display(anchor.end),
                    crate::time::display(end)
                ));
            }
        }
        Ok(())
    }

    /// The checkpoint after `report`: each chain's newest digest proven intact in the run, or
    /// its old anchor where the run proved none newer. A chain with tampering keeps its old
    /// anchor, so the next run looks at the tampered stretch again, and fails again, until
    /// somebody decides what to do about it.
    pub fn advance(&self, report: &Report) -> std::io::Result<Checkpoint> {
        let mut chains = self.chains.clone();
        let mut tampered: BTreeMap<ChainId, bool> = BTreeMap::new();
        // The heads the report still calls intact, found as the files are read.
        let heads: HashSet<(&str, &str)> = (report.heads.values())
            .map(|h| (h.bucket.as_str(), h.key.as_str()))
            .collect();
        let mut intact: HashSet<(String, String)> = HashSet::new();
        report.each_file(&mut |file| {
            if let Some(chain) = file.chain.as_deref() {
                let tampering = file.status.is_tampering();
                match tampered.get_mut(chain) {
                    Some(seen) => *seen |= tampering,
                    None => {
                        tampered.insert(chain.clone(), tampering);
                    }
                }
            }
            if file.kind == FileKind::Digest
                && file.status == Status::Intact
                && heads.contains(&(file.bucket.as_str(), file.key.as_str()))
            {
                intact.insert((file.bucket.clone(), file.key.clone()));
            }
            Ok(())
        })?;
        for gap in &report.gaps {
            if gap.kind == crate::verdict::GapKind::ChainBreak {
                tampered.insert(gap.chain.clone(), true);
            }
        }
        for chain in &report.chains {
            let entry = chains.entry(chain.clone()).or_default();
            if tampered.get(chain).copied().unwrap_or(false) {
                continue;
            }
            // Only a head the report still calls intact: an anchor found changed or a digest
            // judged again after the walk is not one.
            let newest = (report.heads.get(chain))
                .filter(|head| intact.contains(&(head.bucket.clone(), head.key.clone())))
                .cloned();
            if let Some(newest) = newest
                && entry.as_ref().is_none_or(|old| old.end <= newest.end)
            {
                *entry = Some(newest);
            }
        }
        Ok(Checkpoint {
            source: report.source.clone(),
            chains,
        })
    }

    /// The file's bytes: JSON, one chain a line, so two nights' files diff by chain.
    pub fn to_json(&self) -> String {
        let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut text = format!(
            "{{\n  \"trailcheck_checkpoint\": {FORMAT},\n  \"tool\": {},\n  \"source\": {},\n  \
             \"chains\": [",
            quoted(&format!("trailcheck {}", env!("CARGO_PKG_VERSION"))),
            quoted(&self.source),
        );
        for (i, (chain, anchor)) in self.chains.iter().enumerate() {
            let entry = ChainOut {
                chain,
                digest: anchor.as_ref().map(|a| AnchorOut {
                    bucket: &a.bucket,
                    key: &a.key,
                    end: crate::time::display(a.end),
                    sha256: a.sha256.to_hex(),
                    signature: &a.signature,
                    fingerprint: &a.fingerprint,
                }),
            };
            text.push_str(if i == 0 { "\n    " } else { ",\n    " });
            text.push_str(&serde_json::to_string(&entry).unwrap_or_default());
        }
        text.push_str("\n  ]\n}\n");
        text
    }

    /// Parses a checkpoint file.
    pub fn parse(bytes: &[u8]) -> Result<Checkpoint, Refusal> {
        if bytes.len() as u64 > MAX_BYTES {
            return Err(format!(
                "larger than {MAX_BYTES} bytes: not a checkpoint file"
            ));
        }
        let file: FileIn = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a trailcheck checkpoint file: {e}"))?;
        if file.trailcheck_checkpoint != FORMAT {
            return Err(format!(
                "checkpoint format {} (this trailcheck reads format {FORMAT})",
                file.trailcheck_checkpoint
            ));
        }
        let mut chains = BTreeMap::new();
        for (i, entry) in file.chains.into_iter().enumerate() {
            let chain = ChainId {
                account: entry.account,
                region: entry.region,
                trail: entry.trail,
                home_region: entry.home_region,
                organization: entry.organization,
                backfill: entry.backfill,
            };
            let anchor = match entry.digest {
                Some(d) => Some(
                    d.into_anchor(&chain)
                        .map_err(|e| format!("chains[{i}]: {e}"))?,
                ),
                None => None,
            };
            if chains.insert(chain.clone(), anchor).is_some() {
                return Err(format!("chains[{i}]: chain {chain} is named twice"));
            }
        }
        Ok(Checkpoint {
            source: file.source,
            chains,
        })
    }
}

#[derive(Serialize)]
struct ChainOut<'a> {
    #[serde(flatten)]
    chain: &'a ChainId,
    digest: Option<AnchorOut<'a>>,
}

#[derive(Serialize)]
struct AnchorOut<'a> {
    bucket: &'a str,
    key: &'a str,
    end: String,
    sha256: String,
    signature: &'a str,
    fingerprint: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    trailcheck_checkpoint: u32,
    #[allow(dead_code)]
    tool: String,
    source: String,
    chains: Vec<ChainIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChainIn {
    account: String,
    region: String,
    trail: String,
    home_region: String,
    #[serde(default)]
    organization: Option<String>,
    backfill: bool,
    digest: Option<AnchorIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnchorIn {
    bucket: String,
    key: String,
    end: String,
    sha256: String,
    signature: String,
    fingerprint: String,
}

impl AnchorIn {
    /// The anchor, if its key is a digest of `chain` ending when the file says it does.
    fn into_anchor(self, chain: &ChainId) -> Result<Anchor, String> {
        let Some(ObjectName::Digest(name)) = objectkey::parse(&self.key) else {
            return Err(format!("'{}' is not a digest file's key", self.key));
        };
        if crate::engine::inventory::chain_id(&name) != *chain {
            return Err(format!("digest {} is not of chain {chain}", self.key));
        }
        let end = DateTime::parse_from_rfc3339(&self.end)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("'{}' is not an RFC 3339 time", self.end))?;
        if end != name.end {
            return Err(format!(
                "end {} is not the end time digest {} is named for",
                self.end, self.key
            ));
        }
        let sha256 = Sha256::from_hex(&self.sha256)
            .ok_or_else(|| format!("'{}' is not a SHA-256", self.sha256))?;
        let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(&self.signature) || !hex(&self.fingerprint) || self.bucket.is_empty() {
            return Err(format!(
                "digest {}: signature, fingerprint or bucket is not what trailcheck writes",
                self.key
            ));
        }
        Ok(Anchor {
            bucket: self.bucket,
            key: self.key,
            end,
            sha256,
            signature: self.signature.to_ascii_lowercase(),
            fingerprint: self.fingerprint.to_ascii_lowercase(),
        })
    }
}
