//! Joining the reports of `--shard K/N` and `--window I/M` runs into the report one run over
//! the whole archive and range gives (`trailcheck merge`).
//!
//! Shards split an archive by account and region, so their files, gaps and chains never
//! overlap and their union is the whole run's. What can go wrong is joining the wrong parts:
//! results of different sources or ranges, two results of one shard, a shard missing, or a
//! mix of shard counts. Each is refused, naming the files: a merged verdict that silently
//! left a shard out would call intact what nobody looked at.
//!
//! Windows split a range in time, and a chain crosses each cut: window I's oldest digest
//! names its predecessor in window I-1. Each join is checked here ([`join_windows`]), and
//! what a whole run would have said where it does not hold is said here: a deleted digest
//! and its chain break, a changed one, a gap.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::checkpoint::Anchor;
use crate::error::ConfigError;
use crate::objectkey::{self, ObjectName};
use crate::verdict::{Cause, ChainId, FileKind, FileVerdict, Gap, GapKind, KeyUse, Report, Status};
use crate::window::{Oldest, Window};

/// One shard's report and the file it was read from (for messages).
pub struct Part {
    pub file: String,
    pub report: Report,
}

fn refuse(why: String) -> ConfigError {
    ConfigError::Option {
        option: "merge",
        why,
    }
}

fn or_none(time: Option<DateTime<Utc>>) -> String {
    time.map_or("(none)".to_owned(), crate::time::display)
}

/// Joins the reports of every shard of one sharded run. The parts may come in any order.
pub fn join(parts: Vec<Part>) -> Result<Report, ConfigError> {
    join_selected(parts, false)
}

/// [`join`], for parts run with `--trail-arn` when `trail_selected`.
pub fn join_selected(mut parts: Vec<Part>, trail_selected: bool) -> Result<Report, ConfigError> {
    let Some(first) = parts.first() else {
        return Err(refuse("give the JSON result of every shard".to_owned()));
    };
    let (first_file, first_report) = (first.file.clone(), &first.report);
    let count = match first_report.shard {
        Some(shard) => shard.count,
        None if parts.len() == 1 || first_report.window.is_some() => 1,
        None => {
            return Err(refuse(format!(
                "{first_file} is not a shard's result (it was run without --shard): it already \
                 judged the whole archive"
            )));
        }
    };
    for part in &parts[1..] {
        let r = &part.report;
        let differs = |what: &str, ours: String, theirs: String| {
            refuse(format!(
                "{} and {first_file} judged different {what} ({theirs} and {ours}): merge only \
                 the shards of one run, with the same SOURCE and absolute --start-time and \
                 --end-time",
                part.file
            ))
        };
        if r.source != first_report.source {
            return Err(differs(
                "sources",
                first_report.source.clone(),
                r.source.clone(),
            ));
        }
        match (r.window, first_report.window) {
            (Some(w), Some(first))
                if (w.count, w.start, w.end) != (first.count, first.start, first.end) =>
            {
                return Err(refuse(format!(
                    "{} is window {}/{} of {} to {} and {first_file} window {}/{} of {} to {}: \
                     merge the windows of one split, with the same --window count and absolute \
                     --start-time and --end-time",
                    part.file,
                    w.index,
                    w.count,
                    crate::time::display(w.start),
                    crate::time::display(w.end),
                    first.index,
                    first.count,
                    crate::time::display(first.start),
                    crate::time::display(first.end),
                )));
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err(refuse(format!(
                    "{} and {first_file}: one was run with --window and the other without: \
                     merge the parts of one split",
                    part.file
                )));
            }
            _ => {}
        }
        let windowed = r.window.is_some();
        if !windowed && r.requested_end != first_report.requested_end {
            return Err(differs(
                "ranges",
                or_none(first_report.requested_end),
                or_none(r.requested_end),
            ));
        }
        // With no start time each shard starts at its own oldest digest; with one, every
        // shard starts at it.
        if !windowed
            && (r.open_start != first_report.open_start
                || (!r.open_start && r.requested_start != first_report.requested_start))
        {
            return Err(differs(
                "ranges",
                or_none(first_report.requested_start),
                or_none(r.requested_start),
            ));
        }
        if (&r.trust.pinned, &r.trust.pinned_from)
            != (&first_report.trust.pinned, &first_report.trust.pinned_from)
        {
            return Err(refuse(format!(
                "{} and {first_file} pinned different keys (--trusted-fingerprints): merge only                  the shards of one run",
                part.file
            )));
        }
        match r.shard {
            Some(shard) if shard.count == count => {}
            Some(shard) => {
                return Err(refuse(format!(
                    "{} is shard {}/{} and {first_file} one of {count}: merge the shards of one \
                     split",
                    part.file, shard.index, shard.count
                )));
            }
            None if first_report.shard.is_none() && r.window.is_some() => {}
            None => {
                return Err(refuse(format!(
                    "{} is not a shard's result (it was run without --shard)",
                    part.file
                )));
            }
        }
    }
    let windows = first_report.window.map_or(1, |w| w.count);
    let name = |shard: u32, window: u32| match (first_report.shard, first_report.window) {
        (Some(_), Some(_)) => format!("shard {shard}/{count} window {window}/{windows}"),
        (None, Some(_)) => format!("window {window}/{windows}"),
        _ => format!("shard {shard}/{count}"),
    };
    let mut by_index: BTreeMap<(u32, u32), &str> = BTreeMap::new();
    for part in &parts {
        let index = place(&part.report);
        if let Some(other) = by_index.insert(index, &part.file) {
            return Err(refuse(format!(
                "{other} and {} are both {}: give each result once",
                part.file,
                name(index.0, index.1)
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .flat_map(|k| (0..windows).map(move |i| (k, i)))
        .filter(|index| !by_index.contains_key(index))
        .map(|(k, i)| name(k, i))
        .collect();
    if !missing.is_empty() {
        let every = match first_report.window {
            Some(_) => format!("every window 0/{windows} to {}/{windows}", windows - 1),
            None => format!("every shard 0/{count} to {}/{count}", count - 1),
        };
        let whole = match (first_report.shard, first_report.window) {
            (Some(_), Some(_)) => {
                format!("{every} of every shard 0/{count} to {}/{count}", count - 1)
            }
            _ => every,
        };
        return Err(refuse(format!(
            "{} missing: a merge without every part would call intact what no run judged. Give \
             the result of {whole}",
            missing.join(", "),
        )));
    }
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for part in &parts {
        for file in &part.report.files {
            let location = (file.bucket.clone(), file.key.clone());
            if let Some(other) = seen.insert(location, part.file.clone()) {
                return Err(refuse(format!(
                    "{other} and {} both judged s3://{}/{}: the parts overlap",
                    part.file, file.bucket, file.key
                )));
            }
        }
    }
    drop(seen);

    parts.sort_by_key(|p| place(&p.report));
    // Each window's chain ends, the shards' together (their chains never overlap).
    let mut ends: BTreeMap<u32, WindowEnds> = BTreeMap::new();
    for part in &mut parts {
        if let Some(window) = part.report.window {
            let at = ends.entry(window.index).or_insert_with(|| WindowEnds {
                window,
                oldest: BTreeMap::new(),
                heads: BTreeMap::new(),
            });
            at.oldest.append(&mut part.report.oldest);
            at.heads.append(&mut part.report.heads);
        }
    }
    let mut parts = parts.into_iter().map(|p| p.report);
    let mut merged = parts.next().unwrap_or_default();
    merged.shard = None;
    let mut keys: BTreeMap<String, KeyUse> = BTreeMap::new();
    let mut buckets = HashSet::new();
    let take_keys = |keys: &mut BTreeMap<String, KeyUse>, uses: Vec<KeyUse>| {
        for key in uses {
            match keys.get_mut(&key.fingerprint) {
                Some(known) => known.digests_verified += key.digests_verified,
                None => {
                    keys.insert(key.fingerprint.clone(), key);
                }
            }
        }
    };
    take_keys(&mut keys, std::mem::take(&mut merged.keys));
    for bucket in &merged.buckets {
        buckets.insert(bucket.bucket.clone());
    }
    for part in parts {
        merged.requested_start = match (merged.requested_start, part.requested_start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        merged.found = match (merged.found, part.found) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
        merged.files.extend(part.files);
        merged.gaps.extend(part.gaps);
        merged.chains.extend(part.chains);
        merged.checkpoints.extend(part.checkpoints);
        take_keys(&mut keys, part.keys);
        for key in part.trust.keys {
            if !merged
                .trust
                .keys
                .iter()
                .any(|k| k.fingerprint == key.fingerprint)
            {
                merged.trust.keys.push(key);
            }
        }
        for bucket in part.buckets {
            if buckets.insert(bucket.bucket.clone()) {
                merged.buckets.push(bucket);
            }
        }
    }
    merged.keys = keys.into_values().collect();
    merged
        .trust
        .keys
        .sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    merged.buckets.sort_by(|a, b| a.bucket.cmp(&b.bucket));
    if let Some(window) = merged.window.take() {
        merged.requested_start = Some(window.start);
        merged.requested_end = Some(window.end);
        merged.heads.clear();
        merged.oldest.clear();
        let ends: Vec<WindowEnds> = ends.into_values().collect();
        join_windows(&mut merged, &ends, trail_selected);
    }
    merged.sort();
    Ok(merged)
}

/// Where a part lies in the split: its shard and its window.
fn place(report: &Report) -> (u32, u32) {
    (
        report.shard.map_or(0, |s| s.index),
        report.window.map_or(0, |w| w.index),
    )
}

/// One window's chain ends, from every shard of it.
pub struct WindowEnds {
    pub window: Window,
    pub oldest: BTreeMap<ChainId, Oldest>,
    pub heads: BTreeMap<ChainId, Anchor>,
}

/// Checks every chain across every window cut, and says in `merged` what one run over the
/// whole range would have: a window's oldest digest must name the newest digest proven in
/// the window before, with its hash and signature. Where it names another, the digest it
/// names was judged by a window (deleted or changed at the cut: nothing to add), or it was
/// judged by none, and is deleted here with the chain break it leaves. A starting digest
/// after older digests leaves a gap. Then logs a window could not place (after its newest
/// digest, or in a folder it held no digest of) are classified against the whole chain.
pub fn join_windows(merged: &mut Report, ends: &[WindowEnds], trail_selected: bool) {
    let chains: Vec<ChainId> = merged.chains.clone();
    for chain in &chains {
        let mut before: Option<&Anchor> = None;
        for (k, window) in ends.iter().enumerate() {
            let Some(oldest) = window.oldest.get(chain) else {
                continue;
            };
            if k > 0 {
                join_one(merged, chain, before, oldest, window.window.from());
            }
            before = window.heads.get(chain);
        }
    }
    classify_unplaced_logs(merged, trail_selected);
}

/// The digests of `chain` present in `merged` (judged, not found missing), by time.
fn present_digests<'a>(
    merged: &'a Report,
    chain: &'a ChainId,
) -> impl Iterator<Item = &'a FileVerdict> {
    merged.files.iter().filter(move |f| {
        f.kind == FileKind::Digest
            && f.status != Status::Deleted
            && f.chain.as_deref() == Some(chain)
    })
}

/// The newest present digest of `chain` older than `time`, and its time.
fn newest_before(merged: &Report, chain: &ChainId, time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    present_digests(merged, chain)
        .filter_map(|f| f.time)
        .filter(|t| *t < time)
        .max()
}

fn join_one(
    merged: &mut Report,
    chain: &ChainId,
    before: Option<&Anchor>,
    oldest: &Oldest,
    cut: DateTime<Utc>,
) {
    let Some(claim) = &oldest.previous else {
        // A starting digest: a gap from the digest before it, if the window before did not
        // already see it (as the hour after its end).
        let Some(from) = newest_before(merged, chain, oldest.end) else {
            return;
        };
        let known = (merged.gaps.iter())
            .any(|g| &g.chain == chain && g.kind == GapKind::Gap && g.to == oldest.start);
        if !known {
            merged.gaps.push(Gap {
                kind: GapKind::Gap,
                chain: chain.clone(),
                bucket: oldest.bucket.clone(),
                from,
                to: oldest.start,
                missing_digests: None,
                previous: None,
            });
        }
        return;
    };
    if before.is_some_and(|h| claim.names(&h.bucket, &h.key, &h.sha256, &h.signature)) {
        return;
    }
    let named = merged
        .files
        .iter_mut()
        .find(|f| f.kind == FileKind::Digest && f.bucket == claim.bucket && f.key == claim.key);
    match named {
        Some(verdict) => {
            // Judged by a window, without this successor's record if that window did not
            // read it: a proven successor recording another hash or signature changes it.
            if oldest.proven && verdict.status == Status::Intact {
                let hash_differs = verdict
                    .actual_sha256
                    .is_none_or(|sha| !claim.hash.trim().eq_ignore_ascii_case(&sha.to_hex()));
                let cause = match hash_differs {
                    true => Cause::DigestHashMismatch,
                    false => Cause::SignatureDisagrees,
                };
                verdict.status = cause.status();
                verdict.cause = cause;
                verdict.expected_sha256 = crate::hash::Sha256::from_hex(claim.hash.trim());
            }
            // Deleted, found by this window's own walk: its break runs back to the newest
            // digest before it, which may lie in an earlier window.
            let deleted_here =
                verdict.status == Status::Deleted && verdict.time.is_some_and(|t| t >= cut);
            let named_time = verdict.time;
            if deleted_here
                && let Some(named_time) = named_time
                && let Some(from) = newest_before(merged, chain, named_time)
                && let Some(gap) = merged.gaps.iter_mut().find(|g| {
                    &g.chain == chain && g.kind == GapKind::ChainBreak && g.to == oldest.start
                })
                && from != gap.from
            {
                gap.from = from;
                gap.missing_digests = Some(missing_hours(from, gap.to));
            }
        }
        None => {
            // Judged by no window: a whole run would have found it missing.
            let named_time = match objectkey::parse(&claim.key) {
                Some(ObjectName::Digest(name)) => name.end,
                _ => oldest.start,
            };
            let cause = match oldest.proven {
                true => Cause::NotFound,
                false => Cause::ListedByUnverifiedDigest(oldest.key.clone()),
            };
            let mut verdict = FileVerdict::new(FileKind::Digest, &claim.bucket, &claim.key, cause);
            verdict.time = Some(named_time);
            verdict.expected_sha256 = oldest
                .proven
                .then(|| crate::hash::Sha256::from_hex(claim.hash.trim()))
                .flatten();
            verdict.account = Some(chain.account.clone());
            verdict.region = Some(chain.region.clone());
            verdict.backfill = chain.backfill;
            verdict.chain = Some(std::sync::Arc::new(chain.clone()));
            let from = newest_before(merged, chain, named_time)
                .unwrap_or(named_time - chrono::Duration::hours(1));
            merged.files.push(verdict);
            merged.gaps.push(Gap {
                kind: GapKind::ChainBreak,
                chain: chain.clone(),
                bucket: oldest.bucket.clone(),
                from,
                to: oldest.start,
                missing_digests: Some(missing_hours(from, oldest.start)),
                previous: None,
            });
        }
    }
}

/// How many hourly digests a break of `[from, to]` lost, as the chain walk counts them.
fn missing_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let hours = (to - from).num_seconds() as f64 / 3600.0;
    hours.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// Logs a window left unplaced: after its newest digest (the next window's digests, beyond
/// its hour after, may say more), or in a folder it held no digest of. Against the whole
/// chain they lie in a break or a gap, or after or before every digest; with a trail
/// selected, a folder no window held a digest of is not the trail's, and its logs go, as a
/// whole run never lists them.
fn classify_unplaced_logs(merged: &mut Report, trail_selected: bool) {
    type Place = (String, String, String);
    let mut digest_times: HashMap<Place, (DateTime<Utc>, DateTime<Utc>)> = HashMap::new();
    for f in merged
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest && !f.backfill)
    {
        let (Some(account), Some(region), Some(time)) = (&f.account, &f.region, f.time) else {
            continue;
        };
        let span = digest_times
            .entry((f.bucket.clone(), account.clone(), region.clone()))
            .or_insert((time, time));
        *span = (span.0.min(time), span.1.max(time));
    }
    let gaps = &merged.gaps;
    let hole = |f: &FileVerdict, time: DateTime<Utc>, kind: GapKind| {
        gaps.iter().any(|g| {
            g.kind == kind
                && !g.chain.backfill
                && g.bucket == f.bucket
                && f.account.as_deref() == Some(g.chain.account.as_str())
                && f.region.as_deref() == Some(g.chain.region.as_str())
                && g.from <= time
                && time <= g.to
        })
    };
    let mut dropped = Vec::new();
    for (i, f) in merged.files.iter_mut().enumerate() {
        // Read back from a result, a cause is known by its code.
        let code = f.cause.code();
        if f.kind != FileKind::Log
            || ![Cause::AfterNewestDigest.code(), Cause::NoDigests.code()].contains(&code)
        {
            continue;
        }
        let Some(time) = f.time else { continue };
        let place = (
            f.bucket.clone(),
            f.account.clone().unwrap_or_default(),
            f.region.clone().unwrap_or_default(),
        );
        let cause = if hole(f, time, GapKind::ChainBreak) || hole(f, time, GapKind::OpenStart) {
            Cause::DigestMissing
        } else if hole(f, time, GapKind::Gap) {
            Cause::InGap
        } else if code == Cause::AfterNewestDigest.code() {
            continue;
        } else {
            match digest_times.get(&place) {
                None if trail_selected => {
                    dropped.push(i);
                    continue;
                }
                None => continue,
                Some((_, newest)) if time > *newest => Cause::AfterNewestDigest,
                Some((oldest, _)) if time < *oldest => Cause::BeforeOldestDigest,
                Some(_) => Cause::PeriodNotVerified,
            }
        };
        f.status = cause.status();
        f.cause = cause;
    }
    for i in dropped.into_iter().rev() {
        merged.files.remove(i);
    }
}
