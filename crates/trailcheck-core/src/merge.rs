//! Joining the reports of `--shard K/N` runs into the report one run over the whole archive
//! gives (`trailcheck merge`).
//!
//! Shards split an archive by account and region, so their files, gaps and chains never
//! overlap and their union is the whole run's. What can go wrong is joining the wrong parts:
//! results of different sources or ranges, two results of one shard, a shard missing, or a
//! mix of shard counts. Each is refused, naming the files: a merged verdict that silently
//! left a shard out would call intact what nobody looked at.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::error::ConfigError;
use crate::verdict::{KeyUse, Report};

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
pub fn join(mut parts: Vec<Part>) -> Result<Report, ConfigError> {
    let Some(first) = parts.first() else {
        return Err(refuse("give the JSON result of every shard".to_owned()));
    };
    let (first_file, first_report) = (first.file.clone(), &first.report);
    let count = match first_report.shard {
        Some(shard) => shard.count,
        None if parts.len() == 1 => 1,
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
        if r.requested_end != first_report.requested_end {
            return Err(differs(
                "ranges",
                or_none(first_report.requested_end),
                or_none(r.requested_end),
            ));
        }
        // With no start time each shard starts at its own oldest digest; with one, every
        // shard starts at it.
        if r.open_start != first_report.open_start
            || (!r.open_start && r.requested_start != first_report.requested_start)
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
            None => {
                return Err(refuse(format!(
                    "{} is not a shard's result (it was run without --shard)",
                    part.file
                )));
            }
        }
    }
    let mut by_index: BTreeMap<u32, &str> = BTreeMap::new();
    for part in &parts {
        let index = part.report.shard.map_or(0, |s| s.index);
        if let Some(other) = by_index.insert(index, &part.file) {
            return Err(refuse(format!(
                "{other} and {} are both shard {index}/{count}: give each shard's result once",
                part.file
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !by_index.contains_key(i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(format!(
            "shard {} missing: a merge without every shard would call intact what no shard \
             judged. Give the result of every shard 0/{count} to {}/{count}",
            missing.join(", "),
            count - 1
        )));
    }
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    for part in &parts {
        for file in &part.report.files {
            let location = (file.bucket.clone(), file.key.clone());
            if let Some(other) = seen.insert(location, part.file.clone()) {
                return Err(refuse(format!(
                    "{other} and {} both judged s3://{}/{}: the shards overlap",
                    part.file, file.bucket, file.key
                )));
            }
        }
    }
    drop(seen);

    parts.sort_by_key(|p| p.report.shard.map_or(0, |s| s.index));
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
    merged.sort();
    Ok(merged)
}
