//! Builds the trail in memory, as CloudTrail would deliver it: each region's logs and signed
//! digest chain, and the backfill chain. Nothing here is tampered or written.

use chrono::{DateTime, Duration, Utc};

use super::SimError;
use super::digest::{
    DigestDoc, HASH_ALGORITHM, Link, LogFileEntry, SIGNATURE_ALGORITHM, string_to_sign,
};
use super::events::{self, Cast, EventContext};
use super::manifest::GapRecord;
use super::plan::Planned;
use super::rng::Rng;
use super::sign::SigningKey;
use super::spec::{Spec, TamperKind};
use trailcheck_core::hash::Sha256;
use trailcheck_core::objectkey::{DigestName, LogKind, LogName};
use trailcheck_core::time;

/// Logs are delivered this many minutes or more inside their hour, so a delivery time never
/// falls on a digest boundary, whatever the boundary's jitter.
const EDGE_MINUTES: u32 = 3;
/// Minutes of an hour in which regular logs are delivered: `EDGE_MINUTES..60-EDGE_MINUTES`.
const DELIVERY_MINUTES: u32 = 60 - 2 * EDGE_MINUTES;
/// A digest boundary falls this many seconds, 1 to 9, after the hour: real digests have
/// non-round times.
const JITTER_SECONDS: (u64, u64) = (1, 9);
/// CloudTrail writes a backfill digest some time after the hour it completes.
const BACKFILL_DELAY_MINUTES: i64 = 90;

/// Everything CloudTrail delivered.
pub(crate) struct Trail {
    /// Each chain in order, oldest first: regions in order, then the backfill chain.
    pub digests: Vec<DigestFile>,
    pub logs: Vec<LogFile>,
    pub gaps: Vec<GapRecord>,
    pub cast: Cast,
}

/// A digest as delivered: content uncompressed, signature as in its metadata.
pub(crate) struct DigestFile {
    pub region: String,
    pub hour: u32,
    pub backfill: bool,
    pub bucket: String,
    pub key: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub content: Vec<u8>,
    pub signature: String,
    pub fingerprint: String,
    /// Backfill digests: when CloudTrail generated it.
    pub generated: Option<DateTime<Utc>>,
    /// Where `previousDigestS3Object` points; `None` for a starting digest.
    pub previous: Option<Link>,
}

/// A log as delivered: content uncompressed.
pub(crate) struct LogFile {
    pub region: String,
    pub hour: u32,
    pub bucket: String,
    pub key: String,
    pub delivered: DateTime<Utc>,
    pub content: Vec<u8>,
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
    /// The digest that lists it; `None` in a gap.
    pub listed_by: Option<String>,
    /// Delivered late: listed by a backfill digest only.
    pub late: bool,
    /// Listed by the hour's digest (a log kind the spec says is not digested is not).
    pub digested: bool,
}

impl Trail {
    /// The regular digest of `region` for `hour`, if one was written.
    pub fn digest(&self, region: &str, hour: u32) -> Option<&DigestFile> {
        self.digests
            .iter()
            .find(|d| !d.backfill && d.region == region && d.hour == hour)
    }

    /// The regular digest whose `previousDigestS3Object` names `key`.
    pub fn successor(&self, key: &str) -> Option<&DigestFile> {
        self.digests
            .iter()
            .find(|d| d.previous.as_ref().is_some_and(|p| p.key == key))
    }
}

/// Builds every region's logs and chains.
pub(crate) fn build(spec: &Spec, plan: &[Planned]) -> Result<Trail, SimError> {
    let mut trail = Trail {
        digests: Vec::new(),
        logs: Vec::new(),
        gaps: Vec::new(),
        cast: Cast::new(spec.seed),
    };
    for (index, region) in spec.regions.iter().enumerate() {
        let clock = Clock::new(spec, index as u64);
        let first_log = trail.logs.len();
        for hour in 0..spec.hours {
            add_hour_logs(spec, &mut trail, index as u64, region, hour)?;
        }
        let log_range = first_log..trail.logs.len();
        add_regular_chain(spec, plan, &mut trail, &clock, region, log_range.clone())?;
        add_gaps(spec, &mut trail, &clock, region, log_range);
        if spec.backfill && index == 0 {
            add_backfill_chain(spec, &mut trail, &clock, index as u64, region)?;
        }
    }
    Ok(trail)
}

/// A region's digest boundaries: boundary `i` is `start + i hours` plus a few seconds.
struct Clock {
    boundaries: Vec<DateTime<Utc>>,
}

impl Clock {
    fn new(spec: &Spec, region_index: u64) -> Self {
        let boundaries = (0..=spec.hours)
            .map(|i| {
                let mut rng = Rng::stream(spec.seed, "digest-boundary", &[region_index, i.into()]);
                let jitter = rng.range(JITTER_SECONDS.0, JITTER_SECONDS.1) as i64;
                spec.hour_start(i) + Duration::seconds(jitter)
            })
            .collect();
        Self { boundaries }
    }

    /// `[start, end]` of the digest of `hour`.
    fn span(&self, hour: u32) -> (DateTime<Utc>, DateTime<Utc>) {
        let at = |i: u32| self.boundaries.get(i as usize).copied().unwrap_or_default();
        (at(hour), at(hour + 1))
    }
}

/// A time truncated to the minute, as log names record delivery.
pub(crate) fn to_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    DateTime::from_timestamp(secs - secs.rem_euclid(60), 0).unwrap_or(t)
}

/// Delivery time of log `i` of `n` in an hour: spread over the hour, a few minutes from
/// either edge, in order.
fn delivery_time(spec: &Spec, rng: &mut Rng, hour: u32, i: u32, n: u32) -> DateTime<Utc> {
    let slot = (DELIVERY_MINUTES / n.max(1)).max(1);
    let minute = EDGE_MINUTES + i * DELIVERY_MINUTES / n.max(1) + rng.below(slot.into()) as u32;
    let minute = minute.min(60 - EDGE_MINUTES - 1);
    to_minute(spec.hour_start(hour) + Duration::minutes(minute.into()))
}

fn add_hour_logs(
    spec: &Spec,
    trail: &mut Trail,
    region_index: u64,
    region: &str,
    hour: u32,
) -> Result<(), SimError> {
    let mut times = Rng::stream(spec.seed, "delivery", &[region_index, hour.into()]);
    for i in 0..spec.logs_per_hour {
        let delivered = delivery_time(spec, &mut times, hour, i, spec.logs_per_hour);
        let mut rng = Rng::stream(spec.seed, "log", &[region_index, hour.into(), i.into()]);
        let log = make_log(
            spec,
            &trail.cast,
            &mut rng,
            region,
            hour,
            delivered,
            LogKind::Events,
        )?;
        trail.logs.push(log);
    }
    // One log an hour of each other kind asked for, from streams of their own, so a spec
    // without them writes the same bytes as before.
    for (k, kind) in spec.log_kinds.iter().enumerate() {
        let streams = [region_index, hour.into(), k as u64];
        let mut times = Rng::stream(spec.seed, "kind-delivery", &streams);
        let delivered = delivery_time(spec, &mut times, hour, 0, 1);
        let mut rng = Rng::stream(spec.seed, "kind-log", &streams);
        let mut log = make_log(
            spec,
            &trail.cast,
            &mut rng,
            region,
            hour,
            delivered,
            kind.kind,
        )?;
        log.digested = kind.digested;
        trail.logs.push(log);
    }
    Ok(())
}

/// One log file of `kind` (`CloudTrail/`, `CloudTrail-Insight/`, ...) delivered at
/// `delivered`, listed by nothing yet.
pub(crate) fn make_log(
    spec: &Spec,
    cast: &Cast,
    rng: &mut Rng,
    region: &str,
    hour: u32,
    delivered: DateTime<Utc>,
    kind: LogKind,
) -> Result<LogFile, SimError> {
    let unique = rng.alnum(16);
    let key = LogName {
        folder: spec.folder(region),
        kind,
        delivered,
    }
    .key(&unique);
    let ctx = EventContext {
        region,
        account: &spec.account,
        events: spec.events_per_log,
    };
    let body = events::log_body(cast, &ctx, rng, delivered)?;
    Ok(LogFile {
        region: region.to_owned(),
        hour,
        bucket: spec.bucket_for_hour(hour).to_owned(),
        key,
        delivered,
        content: body.json,
        oldest: body.oldest,
        newest: body.newest,
        listed_by: None,
        late: false,
        digested: true,
    })
}

/// What one digest covers and who signs it.
struct DigestInput<'a> {
    region: &'a str,
    hour: u32,
    backfill: bool,
    span: (DateTime<Utc>, DateTime<Utc>),
    logs: Vec<usize>,
    previous: Option<Link>,
    key: &'a SigningKey,
    generated: Option<DateTime<Utc>>,
}

/// The hourly chain of one region: a starting digest, then one per hour, broken by gaps.
fn add_regular_chain(
    spec: &Spec,
    plan: &[Planned],
    trail: &mut Trail,
    clock: &Clock,
    region: &str,
    logs: std::ops::Range<usize>,
) -> Result<(), SimError> {
    let mut previous: Option<Link> = None;
    for hour in 0..spec.hours {
        if spec.in_gap(hour) {
            previous = None;
            continue;
        }
        let listed = logs
            .clone()
            .filter(|&i| {
                let log = &trail.logs[i];
                log.hour == hour && !log.late && log.digested
            })
            .collect();
        let input = DigestInput {
            region,
            hour,
            backfill: false,
            span: clock.span(hour),
            logs: listed,
            previous: previous.take(),
            key: signing_key(spec, plan, region, hour),
            generated: None,
        };
        previous = Some(add_digest(spec, trail, input)?);
    }
    Ok(())
}

/// The published key for `hour`, or the rogue key where an `unknown-key` tampering says so.
fn signing_key<'a>(spec: &'a Spec, plan: &[Planned], region: &str, hour: u32) -> &'a SigningKey {
    let rogue = plan
        .iter()
        .any(|p| p.spec.kind == TamperKind::UnknownKey && p.region == region && p.hour == hour);
    match &spec.rogue_key {
        Some(key) if rogue => key,
        _ => spec.key_for_hour(hour),
    }
}

/// Builds, signs and stores one digest; marks its logs as listed; returns the link its
/// successor records.
fn add_digest(spec: &Spec, trail: &mut Trail, input: DigestInput) -> Result<Link, SimError> {
    let bucket = spec.bucket_for_hour(input.hour);
    let (start, end) = input.span;
    let key = DigestName {
        folder: spec.folder(input.region),
        trail: spec.trail_name.clone(),
        home_region: spec.home_region().to_owned(),
        end,
        backfill: input.backfill,
    }
    .key();
    let content = digest_content(spec, trail, &input, bucket, &key)?;
    let hash = Sha256::of(&content);
    let end_text = time::display(end);
    let previous_signature = input.previous.as_ref().map(|p| p.signature.as_str());
    let to_sign = string_to_sign(&end_text, bucket, &key, hash, previous_signature);
    let signature = input.key.sign_hex(to_sign.as_bytes())?;
    for &i in &input.logs {
        trail.logs[i].listed_by = Some(key.clone());
    }
    trail.digests.push(DigestFile {
        region: input.region.to_owned(),
        hour: input.hour,
        backfill: input.backfill,
        bucket: bucket.to_owned(),
        key: key.clone(),
        start,
        end,
        content,
        signature: signature.clone(),
        fingerprint: input.key.fingerprint().to_owned(),
        generated: input.generated,
        previous: input.previous,
    });
    Ok(Link {
        bucket: bucket.to_owned(),
        key,
        hash,
        signature,
    })
}

/// The digest's uncompressed JSON.
fn digest_content(
    spec: &Spec,
    trail: &Trail,
    input: &DigestInput,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, SimError> {
    let logs: Vec<&LogFile> = input.logs.iter().map(|&i| &trail.logs[i]).collect();
    let previous = input.previous.as_ref();
    let doc = DigestDoc {
        account: &spec.account,
        start: time::display(input.span.0),
        end: time::display(input.span.1),
        bucket,
        key,
        fingerprint: input.key.fingerprint(),
        signature_algorithm: SIGNATURE_ALGORITHM,
        newest: logs.iter().map(|l| l.newest).max().map(time::display),
        oldest: logs.iter().map(|l| l.oldest).min().map(time::display),
        previous_bucket: previous.map(|p| p.bucket.as_str()),
        previous_key: previous.map(|p| p.key.as_str()),
        previous_hash: previous.map(|p| p.hash.to_hex()),
        previous_hash_algorithm: previous.map(|_| HASH_ALGORITHM),
        previous_signature: previous.map(|p| p.signature.as_str()),
        log_files: logs
            .iter()
            .map(|l| LogFileEntry {
                bucket: &l.bucket,
                key: &l.key,
                hash: Sha256::of(&l.content).to_hex(),
                hash_algorithm: HASH_ALGORITHM,
                newest: time::display(l.newest),
                oldest: time::display(l.oldest),
            })
            .collect(),
    };
    serde_json::to_vec(&doc).map_err(SimError::encode("digest"))
}

/// Records, per gap, the span without digests and the logs delivered in it.
fn add_gaps(
    spec: &Spec,
    trail: &mut Trail,
    clock: &Clock,
    region: &str,
    logs: std::ops::Range<usize>,
) {
    for gap in &spec.gaps {
        let in_gap = |i: &usize| (gap.first..=gap.last).contains(&trail.logs[*i].hour);
        trail.gaps.push(GapRecord {
            region: region.to_owned(),
            bucket: spec.bucket_for_hour(gap.first).to_owned(),
            first_hour: gap.first,
            last_hour: gap.last,
            from: clock.span(gap.first).0,
            to: clock.span(gap.last + 1).0,
            logs: logs
                .clone()
                .filter(in_gap)
                .map(|i| trail.logs[i].key.clone())
                .collect(),
        });
    }
}

/// The hours the backfill chain covers: two consecutive covered hours from a third of the
/// way in (one if the trail is that short).
pub(crate) fn backfill_hours(spec: &Spec) -> Vec<u32> {
    let Some(first) = (spec.hours / 3..spec.hours).find(|&h| !spec.in_gap(h)) else {
        return Vec::new();
    };
    let second = first + 1;
    if second < spec.hours && !spec.in_gap(second) {
        vec![first, second]
    } else {
        vec![first]
    }
}

/// Late logs, and the backfill chain that lists them: a starting digest, then one per hour.
fn add_backfill_chain(
    spec: &Spec,
    trail: &mut Trail,
    clock: &Clock,
    region_index: u64,
    region: &str,
) -> Result<(), SimError> {
    let mut previous: Option<Link> = None;
    for hour in backfill_hours(spec) {
        let mut rng = Rng::stream(spec.seed, "backfill", &[region_index, hour.into()]);
        let late = add_late_logs(spec, trail, &mut rng, region, hour)?;
        let span = clock.span(hour);
        let delay =
            Duration::minutes(BACKFILL_DELAY_MINUTES) + Duration::seconds(rng.below(300) as i64);
        let generated = span.1 + delay;
        let generated_hour = (generated - spec.start).num_hours().max(0) as u32;
        let input = DigestInput {
            region,
            hour,
            backfill: true,
            span,
            logs: late,
            previous: previous.take(),
            key: spec.key_for_hour(generated_hour),
            generated: Some(generated),
        };
        previous = Some(add_digest(spec, trail, input)?);
    }
    Ok(())
}

/// One or two logs delivered in `hour` that the regular digest missed.
fn add_late_logs(
    spec: &Spec,
    trail: &mut Trail,
    rng: &mut Rng,
    region: &str,
    hour: u32,
) -> Result<Vec<usize>, SimError> {
    let count = rng.range(1, 2);
    let mut added = Vec::new();
    for _ in 0..count {
        let minute = rng.range(10, 50);
        let delivered = to_minute(spec.hour_start(hour) + Duration::minutes(minute as i64));
        let mut log = make_log(
            spec,
            &trail.cast,
            rng,
            region,
            hour,
            delivered,
            LogKind::Events,
        )?;
        log.late = true;
        added.push(trail.logs.len());
        trail.logs.push(log);
    }
    Ok(added)
}
