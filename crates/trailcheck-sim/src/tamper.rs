//! Tampering: changes the in-memory archive as an attacker would, and records what a correct
//! validator must then report about each changed file.

use std::collections::HashSet;

use chrono::Duration;

use super::SimError;
use super::archive::{Archive, StoredObject, gzip};
use super::events::{self, EventContext};
use super::manifest::{ChainBreak, FileEntry, TamperOutcome, Tampering};
use super::plan::Planned;
use super::rng::Rng;
use super::spec::{Spec, TamperKind};
use super::trail::{self, DigestFile, LogFile, Trail};
use trailcheck_core::hash::Sha256;
use trailcheck_core::objectkey::{DigestName, LogKind};
use trailcheck_core::time;
use trailcheck_core::verdict::{FileKind, Status};

/// Applies the planned tamperings in order.
pub(crate) fn apply(
    spec: &Spec,
    plan: &[Planned],
    trail: &Trail,
    archive: &mut Archive,
) -> Result<TamperOutcome, SimError> {
    let mut tamperer = Tamperer {
        spec,
        trail,
        archive,
        used_logs: HashSet::new(),
        inserted: 0,
        outcome: TamperOutcome::default(),
    };
    for planned in plan {
        tamperer.apply(planned)?;
    }
    Ok(tamperer.outcome)
}

struct Tamperer<'a> {
    spec: &'a Spec,
    trail: &'a Trail,
    archive: &'a mut Archive,
    used_logs: HashSet<String>,
    inserted: u64,
    outcome: TamperOutcome,
}

/// What a tampering did to one file.
struct Effect<'a> {
    file_kind: FileKind,
    bucket: &'a str,
    key: &'a str,
    status: Status,
    causes: Vec<&'static str>,
    awscli_detects: bool,
    note: String,
}

fn refuse(planned: &Planned, why: impl Into<String>) -> SimError {
    SimError::Tamper {
        tamper: planned.spec.to_string(),
        why: why.into(),
    }
}

impl<'a> Tamperer<'a> {
    fn apply(&mut self, p: &Planned) -> Result<(), SimError> {
        match p.spec.kind {
            TamperKind::ModifyLog => self.modify_log(p),
            TamperKind::AppendLog => self.append_log(p),
            TamperKind::CorruptLog => self.corrupt_log(p),
            TamperKind::DeleteLog => self.delete_log(p),
            TamperKind::InsertLog => self.insert_log(p),
            TamperKind::ModifyDigest => self.modify_digest(p),
            TamperKind::DeleteDigest => self.delete_digest(p),
            TamperKind::DeleteDigests2 => self.delete_two_digests(p),
            TamperKind::MoveDigest => self.move_digest(p),
            TamperKind::UnknownKey => self.unknown_key(p),
            TamperKind::BadSignature => self.bad_signature(p),
            TamperKind::NoSignature => self.no_signature(p),
        }
    }

    fn record(&mut self, p: &Planned, effect: Effect) {
        self.outcome.tampered.push(Tampering {
            kind: p.spec.kind,
            file_kind: effect.file_kind,
            bucket: effect.bucket.to_owned(),
            key: effect.key.to_owned(),
            region: p.region.clone(),
            hour: p.hour,
            expected_status: effect.status,
            expected_causes: effect.causes,
            awscli_detects: effect.awscli_detects,
            note: effect.note,
        });
    }

    /// The first log of the planned hour that a regular digest lists and no tampering touched.
    fn pick_log(&mut self, p: &Planned) -> Result<&'a LogFile, SimError> {
        let log = self
            .trail
            .logs
            .iter()
            .find(|l| {
                l.region == p.region
                    && l.hour == p.hour
                    && !l.late
                    && l.listed_by.is_some()
                    && !self.used_logs.contains(&l.key)
            })
            .ok_or_else(|| {
                refuse(
                    p,
                    "no untouched log left in that hour: raise --logs-per-hour",
                )
            })?;
        self.used_logs.insert(log.key.clone());
        Ok(log)
    }

    fn object(
        &mut self,
        p: &Planned,
        bucket: &str,
        key: &str,
    ) -> Result<&mut StoredObject, SimError> {
        self.archive
            .get_mut(bucket, key)
            .ok_or_else(|| refuse(p, format!("{key} is gone already")))
    }

    fn digest(&self, p: &Planned, hour: u32) -> Result<&'a DigestFile, SimError> {
        self.trail
            .digest(&p.region, hour)
            .ok_or_else(|| refuse(p, format!("hour {hour} has no digest")))
    }

    fn modify_log(&mut self, p: &Planned) -> Result<(), SimError> {
        let log = self.pick_log(p)?;
        let changed = replace_source_ip(&log.content)
            .ok_or_else(|| refuse(p, "the log has no sourceIPAddress to change"))?;
        self.object(p, &log.bucket, &log.key)?.body = gzip(&log.key, &changed)?;
        self.record(
            p,
            Effect {
                file_kind: FileKind::Log,
                bucket: &log.bucket,
                key: &log.key,
                status: Status::Modified,
                causes: vec!["hash-mismatch"],
                awscli_detects: true,
                note: "one event's sourceIPAddress changed and the log re-gzipped".to_owned(),
            },
        );
        Ok(())
    }

    fn append_log(&mut self, p: &Planned) -> Result<(), SimError> {
        let log = self.pick_log(p)?;
        let ctx = EventContext {
            region: &log.region,
            account: &self.spec.account,
            events: self.spec.events_per_log,
        };
        let mut rng = Rng::stream(self.spec.seed, "append-log", &[u64::from(p.hour)]);
        let extra = events::extra_body(&self.trail.cast, &ctx, &mut rng, log.delivered)?;
        let member = gzip(&log.key, &extra.json)?;
        self.object(p, &log.bucket, &log.key)?.body.extend(member);
        self.record(
            p,
            Effect {
                file_kind: FileKind::Log,
                bucket: &log.bucket,
                key: &log.key,
                status: Status::Modified,
                causes: vec!["data-after-gzip-member"],
                awscli_detects: false,
                note:
                    "a second gzip member with one extra event follows the first; the first member \
                   still hashes to the listed value, so the AWS CLI says valid"
                        .to_owned(),
            },
        );
        Ok(())
    }

    fn corrupt_log(&mut self, p: &Planned) -> Result<(), SimError> {
        let log = self.pick_log(p)?;
        // The uncompressed JSON itself: plausible bytes, but not gzip.
        self.object(p, &log.bucket, &log.key)?.body = log.content.clone();
        self.record(
            p,
            Effect {
                file_kind: FileKind::Log,
                bucket: &log.bucket,
                key: &log.key,
                status: Status::Modified,
                causes: vec!["not-gzip"],
                awscli_detects: true,
                note: "replaced by its uncompressed JSON, which is not gzip".to_owned(),
            },
        );
        Ok(())
    }

    fn delete_log(&mut self, p: &Planned) -> Result<(), SimError> {
        let log = self.pick_log(p)?;
        self.archive
            .remove(&log.bucket, &log.key)
            .ok_or_else(|| refuse(p, format!("{} is gone already", log.key)))?;
        self.record(
            p,
            Effect {
                file_kind: FileKind::Log,
                bucket: &log.bucket,
                key: &log.key,
                status: Status::Deleted,
                causes: vec!["not-found"],
                awscli_detects: true,
                note: format!("listed by {}", log.listed_by.as_deref().unwrap_or_default()),
            },
        );
        Ok(())
    }

    fn insert_log(&mut self, p: &Planned) -> Result<(), SimError> {
        let covering = self.digest(p, p.hour)?;
        let delivered = trail::to_minute(self.spec.hour_start(p.hour) + Duration::minutes(30));
        self.inserted += 1;
        let mut rng = Rng::stream(self.spec.seed, "insert-log", &[self.inserted]);
        let log = trail::make_log(
            self.spec,
            &self.trail.cast,
            &mut rng,
            &p.region,
            p.hour,
            delivered,
            LogKind::Events,
        )?;
        let entry = FileEntry {
            kind: FileKind::Log,
            bucket: log.bucket.clone(),
            key: log.key.clone(),
            region: log.region.clone(),
            hour: p.hour,
            backfill: false,
            time: delivered,
            listed_by: None,
        };
        self.archive
            .insert(gzip(&log.key, &log.content)?, None, entry);
        self.record(p, Effect {
            file_kind: FileKind::Log,
            bucket: &log.bucket,
            key: &log.key,
            status: Status::Unreferenced,
            causes: vec!["not-listed"],
            awscli_detects: false,
            note: format!(
                "a realistic log delivered in the middle of hour {}, which {} covers without listing it",
                p.hour, covering.key
            ),
        });
        Ok(())
    }

    fn modify_digest(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        let changed = change_digest(&digest.content)
            .ok_or_else(|| refuse(p, "the digest has no field to change"))?;
        self.object(p, &digest.bucket, &digest.key)?.body = gzip(&digest.key, &changed)?;
        let has_successor = self.trail.successor(&digest.key).is_some();
        let causes = if has_successor {
            vec!["digest-hash-mismatch", "bad-signature"]
        } else {
            vec!["bad-signature"]
        };
        self.record(
            p,
            Effect {
                file_kind: FileKind::Digest,
                bucket: &digest.bucket,
                key: &digest.key,
                status: Status::Modified,
                causes,
                awscli_detects: true,
                note:
                    "a log's hashValue changed, gzip valid, not re-signed; the logs it lists are \
                   not proven by it"
                        .to_owned(),
            },
        );
        Ok(())
    }

    fn delete_digest(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        let successor = self.digest(p, p.hour + 1)?;
        self.remove_digest(p, digest)?;
        self.break_chain(digest, successor, 1);
        self.record(
            p,
            Effect {
                file_kind: FileKind::Digest,
                bucket: &digest.bucket,
                key: &digest.key,
                status: Status::Deleted,
                causes: vec!["not-found"],
                awscli_detects: true,
                note: format!("deleted with its metadata; {} names it", successor.key),
            },
        );
        Ok(())
    }

    fn delete_two_digests(&mut self, p: &Planned) -> Result<(), SimError> {
        let first = self.digest(p, p.hour)?;
        let second = self.digest(p, p.hour + 1)?;
        let successor = self.digest(p, p.hour + 2)?;
        self.remove_digest(p, first)?;
        self.remove_digest(p, second)?;
        self.break_chain(first, successor, 2);
        self.record(p, Effect {
            file_kind: FileKind::Digest,
            bucket: &second.bucket,
            key: &second.key,
            status: Status::Deleted,
            causes: vec!["not-found"],
            awscli_detects: true,
            note: format!(
                "{} names it; its predecessor {} was deleted too, and nothing present names that one",
                successor.key, first.key
            ),
        });
        Ok(())
    }

    fn remove_digest(&mut self, p: &Planned, digest: &DigestFile) -> Result<(), SimError> {
        self.archive
            .remove(&digest.bucket, &digest.key)
            .map(|_| ())
            .ok_or_else(|| refuse(p, format!("{} is gone already", digest.key)))
    }

    /// Records that `first_missing` and the digests after it, up to `successor`, are gone.
    fn break_chain(&mut self, first_missing: &DigestFile, successor: &DigestFile, missing: u32) {
        self.outcome.chain_breaks.push(ChainBreak {
            region: first_missing.region.clone(),
            bucket: successor.bucket.clone(),
            after_key: first_missing.previous.as_ref().map(|l| l.key.clone()),
            before_key: successor.key.clone(),
            from: first_missing.start,
            to: successor.start,
            missing_digests: missing,
        });
    }

    fn move_digest(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        let new_end = digest.end - Duration::seconds(3);
        let new_key = DigestName {
            folder: self.spec.folder(&digest.region),
            trail: self.spec.trail_name.clone(),
            home_region: self.spec.home_region().to_owned(),
            end: new_end,
            backfill: false,
        }
        .key();
        let mut object = self
            .archive
            .remove(&digest.bucket, &digest.key)
            .ok_or_else(|| refuse(p, format!("{} is gone already", digest.key)))?;
        object.entry.key = new_key.clone();
        object.entry.time = new_end;
        self.archive
            .insert(object.body, object.sidecar, object.entry);
        self.record(p, Effect {
            file_kind: FileKind::Digest,
            bucket: &digest.bucket,
            key: &new_key,
            status: Status::Moved,
            causes: vec!["moved"],
            awscli_detects: true,
            note: format!(
                "moved with its metadata from {} (now empty, and named by its successor); content \
                 and signature unchanged",
                digest.key
            ),
        });
        Ok(())
    }

    /// The digest was signed with the rogue key when the trail was built; this records it.
    fn unknown_key(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        let rogue = self.spec.rogue_key.as_ref().map(|k| k.fingerprint());
        if rogue != Some(digest.fingerprint.as_str()) {
            return Err(refuse(
                p,
                "the digest was not signed by the unpublished key (a bug)",
            ));
        }
        self.record(p, Effect {
            file_kind: FileKind::Digest,
            bucket: &digest.bucket,
            key: &digest.key,
            status: Status::Unverifiable,
            causes: vec!["unknown-key"],
            awscli_detects: true,
            note: format!(
                "signed by unpublished key {}; its successor chains to it normally; the logs it \
                 lists are not proven by it",
                digest.fingerprint
            ),
        });
        Ok(())
    }

    fn bad_signature(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        // A real signature by the same key over other bytes: right length, right form, wrong.
        let key = self.spec.key_for_hour(p.hour);
        let forged = format!(
            "{}\n{}\n{}",
            time::display(digest.end),
            digest.key,
            Sha256::of(b"forged")
        );
        let signature = key.sign_hex(forged.as_bytes())?;
        let object = self.object(p, &digest.bucket, &digest.key)?;
        let sidecar = object
            .sidecar
            .as_mut()
            .ok_or_else(|| refuse(p, "the digest has no signature metadata left"))?;
        sidecar.signature = signature;
        let newest = self.trail.successor(&digest.key).is_none();
        let causes = if newest {
            vec!["bad-signature"]
        } else {
            vec!["signature-disagrees", "bad-signature"]
        };
        self.record(
            p,
            Effect {
                file_kind: FileKind::Digest,
                bucket: &digest.bucket,
                key: &digest.key,
                status: Status::Modified,
                causes,
                awscli_detects: true,
                note: "signature metadata replaced by a valid-looking signature over other bytes; \
                   content unchanged"
                    .to_owned(),
            },
        );
        Ok(())
    }

    fn no_signature(&mut self, p: &Planned) -> Result<(), SimError> {
        let digest = self.digest(p, p.hour)?;
        self.object(p, &digest.bucket, &digest.key)?.sidecar = None;
        self.record(
            p,
            Effect {
                file_kind: FileKind::Digest,
                bucket: &digest.bucket,
                key: &digest.key,
                status: Status::Unverifiable,
                causes: vec!["no-signature"],
                awscli_detects: true,
                note:
                    "the newest digest of its chain has no metadata sidecar; the AWS CLI reports \
                   it as 'signature verification failed'"
                        .to_owned(),
            },
        );
        Ok(())
    }
}

/// The log with its first `sourceIPAddress` changed to another address.
fn replace_source_ip(content: &[u8]) -> Option<Vec<u8>> {
    const FIELD: &[u8] = b"\"sourceIPAddress\":\"";
    let start = find(content, FIELD)? + FIELD.len();
    let len = content[start..].iter().position(|&b| b == b'"')?;
    let old = &content[start..start + len];
    let new: &[u8] = if old == b"203.0.113.250" {
        b"203.0.113.251"
    } else {
        b"203.0.113.250"
    };
    Some([&content[..start], new, &content[start + len..]].concat())
}

/// The digest with the first digit of its first log `hashValue` changed; for a digest
/// listing no logs, the last seconds digit of its start time. Both stay well-formed.
fn change_digest(content: &[u8]) -> Option<Vec<u8>> {
    const HASH: &[u8] = b"\"hashValue\":\"";
    const START: &[u8] = b"\"digestStartTime\":\"";
    let at = match find(content, HASH) {
        Some(i) => i + HASH.len(),
        None => find(content, START)? + START.len() + "2026-11-01T00:00:0".len(),
    };
    let mut changed = content.to_vec();
    let byte = changed.get_mut(at)?;
    *byte = if *byte == b'0' { b'1' } else { b'0' };
    Some(changed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
