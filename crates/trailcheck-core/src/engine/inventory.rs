//! Finding what a run must look at: the digests of the selected trails and the logs beside
//! them, listing only the day folders the time range needs.
//!
//! The walk follows CloudTrail's layout with folder listings: `[PREFIX/]AWSLogs/`, then
//! `[o-ORG/]ACCOUNT/`, then the `CloudTrail-Digest/REGION/` and `CloudTrail/REGION/`
//! folders, then `YYYY/MM/DD/`. Digests are listed for the days of `[start, end + 1h]`,
//! logs for the days of `[start, end]`. Each level's listings run in parallel, so an S3
//! source pays a handful of round trips, not one per folder.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rayon::prelude::*;

use crate::error::RunError;
use crate::objectkey::{self, DigestName, LogKind, ObjectName};
use crate::store::{FetchError, Store};
use crate::verdict::ChainId;

use super::chain::FolderId;
use super::{SPILL_OVER, Settings};

/// How many folders deep below the source's root `AWSLogs/` is looked for: a trail's key
/// prefix rarely has more than a few parts.
const MAX_PREFIX_DEPTH: usize = 4;
/// Past this many folders searched for `AWSLogs/`, the source is not a trail's bucket (or
/// folder) but something much larger: the user is asked to name the trail's prefix.
const MAX_SEARCHED_FOLDERS: usize = 1000;
/// Ranges up to this many days list each day's folder directly; longer ones (and runs with
/// no start time) first list which year, month and day folders exist.
const MAX_BLIND_DAYS: i64 = 31;
const DIGEST_DIR: &str = "CloudTrail-Digest/";

/// The logs of one folder: each key with its delivery time from its name.
pub type Logs = Vec<(String, DateTime<Utc>)>;

/// What the store holds that matters for this run.
#[derive(Default)]
pub struct Inventory {
    pub digests: Vec<ListedDigest>,
    pub logs: BTreeMap<FolderId, Logs>,
    /// Logs of the other kinds (`CloudTrail-Insight/`, ...), by folder and kind: whether a
    /// digest vouches for their folder is read from what the digests list.
    pub other_logs: BTreeMap<(FolderId, LogKind), Logs>,
    pub oldest_digest: Option<DateTime<Utc>>,
}

impl Inventory {
    /// How many logs were listed, of every kind.
    pub fn log_count(&self) -> usize {
        self.all_logs().map(|(_, _, logs)| logs.len()).sum()
    }

    /// Every log folder found, of every kind, with its logs and their delivery times.
    pub fn all_logs(&self) -> impl Iterator<Item = (&FolderId, LogKind, &Logs)> {
        let events = self.logs.iter().map(|(f, l)| (f, LogKind::Events, l));
        let others = (self.other_logs.iter()).map(|((f, kind), l)| (f, *kind, l));
        events.chain(others)
    }
}

/// A digest the listing found, its key parsed once, here.
#[derive(Clone, Debug)]
pub struct ListedDigest {
    pub chain: ChainId,
    pub bucket: String,
    pub key: String,
    pub name: DigestName,
}

/// A folder to list: a bucket and a key prefix ending in `/`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Dir {
    bucket: String,
    prefix: String,
}

impl Dir {
    fn child(&self, prefix: String) -> Self {
        Self {
            bucket: self.bucket.clone(),
            prefix,
        }
    }

    fn name(&self) -> &str {
        let trimmed = self.prefix.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    }
}

/// How far before the start time logs are listed: the oldest digest in range, which ends
/// after the start, covers logs from up to an hour before it.
const LOG_LEAD: Duration = Duration::hours(2);

/// One day folder to list, with the key to start after (empty: from the beginning).
struct DayListing {
    dir: Dir,
    start_after: String,
}

/// One account's region in one bucket: its digest folder and its log folders of every
/// kind. A run judges place by place: a chain's digests and the logs they list lie in one
/// place, so what a run holds at once is bounded by a place, not by the archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub bucket: String,
    /// The `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/` folder.
    pub root: String,
    pub account: String,
    pub region: String,
    digest_dirs: Vec<Dir>,
    log_dirs: Vec<Dir>,
}

impl Place {
    /// Places sort by account, then region, as chains do, so output follows chain order.
    fn order(&self) -> (&str, &str, &str, &str) {
        (&self.account, &self.region, &self.bucket, &self.root)
    }
}

/// Every place of the selected trails and shard, in chain order: the accounts, then their
/// region folders, one round of parallel listings each; no day folder is listed yet.
pub fn discover(store: &dyn Store, settings: &Settings) -> Result<Vec<Place>, RunError> {
    let accounts = account_roots(store, settings)?;
    let digest_regions = in_shard(
        settings,
        subfolders(store, &with_suffix(&accounts, DIGEST_DIR))?,
    );
    // Every kind's folders in one round of listings, not one round per kind.
    let kind_dirs: Vec<Dir> = (LogKind::ALL.iter())
        .flat_map(|kind| with_suffix(&accounts, &format!("{}/", kind.dir())))
        .collect();
    let log_regions = in_shard(settings, subfolders(store, &kind_dirs)?);

    let mut places: BTreeMap<(String, String, String), Place> = BTreeMap::new();
    let digest_dirs = digest_regions.into_iter().map(|d| (true, d));
    for (is_digest, dir) in digest_dirs.chain(log_regions.into_iter().map(|d| (false, d))) {
        let Some((root, account, region)) = region_parts(&dir) else {
            continue;
        };
        let place = places
            .entry((dir.bucket.clone(), root.clone(), region.clone()))
            .or_insert_with(|| Place {
                bucket: dir.bucket.clone(),
                root,
                account,
                region,
                digest_dirs: Vec::new(),
                log_dirs: Vec::new(),
            });
        match is_digest {
            true => place.digest_dirs.push(dir),
            false => place.log_dirs.push(dir),
        }
    }
    let mut places: Vec<Place> = places.into_values().collect();
    places.sort_by(|a, b| a.order().cmp(&b.order()));
    Ok(places)
}

/// The account folder, account and region of `ROOT/ACCOUNT/<kind>/REGION/`.
fn region_parts(dir: &Dir) -> Option<(String, String, String)> {
    let trimmed = dir.prefix.trim_end_matches('/');
    let (rest, region) = trimmed.rsplit_once('/')?;
    let (account_dir, _kind) = rest.rsplit_once('/')?;
    let account = account_dir.rsplit('/').next().unwrap_or(account_dir);
    Some((
        format!("{account_dir}/"),
        account.to_owned(),
        region.to_owned(),
    ))
}

/// Walks every place of the store and sorts what it finds into digests (of selected
/// trails) and logs, all at once: for the commands that plan over the whole store
/// (`archive`, `restore-plan`); `validate` takes one place at a time.
pub fn take_inventory(store: &dyn Store, settings: &Settings) -> Result<Inventory, RunError> {
    let places = discover(store, settings)?;
    let mut inventory = Inventory::default();
    for place in &places {
        let part = take_place(store, settings, place)?;
        inventory.digests.extend(part.digests);
        inventory.logs.extend(part.logs);
        inventory.other_logs.extend(part.other_logs);
        inventory.oldest_digest = match (inventory.oldest_digest, part.oldest_digest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(inventory)
}

/// Lists the day folders of one place that the range needs: its digests (of selected
/// trails) and its logs.
pub fn take_place(
    store: &dyn Store,
    settings: &Settings,
    place: &Place,
) -> Result<Inventory, RunError> {
    let mut inventory = Inventory::default();
    let digest_end = settings.end + SPILL_OVER;
    // The place from its own start: a checkpoint's, or the range's.
    let start = settings.folder_start(&place.account, &place.region);
    let regions = &place.digest_dirs;
    let days = day_listings(store, regions, start, digest_end, |dir| {
        start.and_then(|start| digest_start_after(dir, settings, start))
    })?;
    for (bucket, key) in list_days(store, &days)? {
        add_digest(&mut inventory, settings, bucket, key);
    }

    // With no start every log present is judged; with one, the oldest digest in range covers
    // the hour before its end, so its logs are listed too (the engine cuts them precisely).
    let log_start = start.map(|start| start - LOG_LEAD);
    let days = day_listings(store, &place.log_dirs, log_start, settings.end, |dir| {
        log_start.map(|start| log_start_after(dir, start))
    })?;
    for (bucket, key) in list_days(store, &days)? {
        add_log(&mut inventory, settings, bucket, key);
    }
    Ok(inventory)
}

/// The region folders (`.../ACCOUNT/<kind>/REGION/`) of the run's shard: the others' day
/// folders are not listed at all.
fn in_shard(settings: &Settings, mut regions: Vec<Dir>) -> Vec<Dir> {
    if let Some(shard) = settings.shard {
        regions.retain(|dir| {
            let parts: Vec<&str> = dir.prefix.trim_end_matches('/').rsplit('/').collect();
            match parts[..] {
                [region, _, account, ..] => shard.takes(account, region),
                _ => true,
            }
        });
    }
    regions
}

fn add_digest(inventory: &mut Inventory, settings: &Settings, bucket: String, key: String) {
    let Some(ObjectName::Digest(name)) = objectkey::parse(&key) else {
        return;
    };
    if settings.trail.as_ref().is_some_and(|t| !t.matches(&name)) {
        return;
    }
    if (settings.shard).is_some_and(|s| !s.takes(&name.folder.account, &name.folder.region)) {
        return;
    }
    let oldest = inventory
        .oldest_digest
        .map_or(name.end, |o| o.min(name.end));
    inventory.oldest_digest = Some(oldest);
    inventory.digests.push(ListedDigest {
        chain: chain_id(&name),
        bucket,
        key,
        name,
    });
}

fn add_log(inventory: &mut Inventory, settings: &Settings, bucket: String, key: String) {
    let Some(ObjectName::Log(name)) = objectkey::parse(&key) else {
        return;
    };
    if (settings.shard).is_some_and(|s| !s.takes(&name.folder.account, &name.folder.region)) {
        return;
    }
    let folder = (bucket, name.folder);
    let logs = match name.kind {
        LogKind::Events => inventory.logs.entry(folder).or_default(),
        kind => inventory.other_logs.entry((folder, kind)).or_default(),
    };
    logs.push((key, name.delivered));
}

/// Every `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/` folder under the store's roots; with a trail
/// selected, only its account's.
fn account_roots(store: &dyn Store, settings: &Settings) -> Result<Vec<Dir>, RunError> {
    let mut awslogs = Vec::new();
    let mut level: Vec<Dir> = store
        .buckets()
        .into_iter()
        .map(|bucket| Dir {
            prefix: store.root(&bucket),
            bucket,
        })
        .collect();
    let mut searched = 0;
    for _ in 0..=MAX_PREFIX_DEPTH {
        if level.is_empty() {
            break;
        }
        searched += level.len();
        if searched > MAX_SEARCHED_FOLDERS {
            return Err(RunError::Listing {
                source_name: store.describe(),
                what: "where AWSLogs/ is".to_owned(),
                why: format!(
                    "more than {MAX_SEARCHED_FOLDERS} folders searched; name the trail's key \
                     prefix (s3://BUCKET/PREFIX, or the folder holding AWSLogs/)"
                ),
            });
        }
        let (found, deeper): (Vec<Dir>, Vec<Dir>) = subfolders(store, &level)?
            .into_iter()
            .partition(|d| d.name() == "AWSLogs");
        awslogs.extend(found);
        level = deeper;
    }
    let under_awslogs = subfolders(store, &awslogs)?;
    let (organizations, mut accounts): (Vec<Dir>, Vec<Dir>) = under_awslogs
        .into_iter()
        .partition(|d| d.name().starts_with("o-"));
    accounts.extend(subfolders(store, &organizations)?);
    accounts.retain(|d| {
        let account = d.name();
        account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && settings.trail.as_ref().is_none_or(|t| t.account == account)
    });
    accounts.sort();
    Ok(accounts)
}

fn with_suffix(dirs: &[Dir], suffix: &str) -> Vec<Dir> {
    dirs.iter()
        .map(|d| d.child(format!("{}{suffix}", d.prefix)))
        .collect()
}

/// The folders directly under each of `dirs`, listed in parallel.
fn subfolders(store: &dyn Store, dirs: &[Dir]) -> Result<Vec<Dir>, RunError> {
    let listed: Vec<Result<Vec<Dir>, RunError>> = dirs
        .par_iter()
        .map(|dir| {
            let folders = store
                .folders(&dir.bucket, &dir.prefix)
                .map_err(|e| listing_error(store, dir, e))?;
            Ok(folders.into_iter().map(|f| dir.child(f)).collect())
        })
        .collect();
    let mut all = Vec::new();
    for folders in listed {
        all.extend(folders?);
    }
    Ok(all)
}

fn listing_error(store: &dyn Store, dir: &Dir, error: FetchError) -> RunError {
    RunError::Listing {
        source_name: store.describe(),
        what: format!("s3://{}/{}", dir.bucket, dir.prefix),
        why: format!(
            "{error}. Nothing was judged: a run that cannot list would miss what was inserted"
        ),
    }
}

/// The day folders of `[from, to]` under each region folder, with where to start in each.
/// With no `from`, every day up to `to` that exists.
fn day_listings(
    store: &dyn Store,
    regions: &[Dir],
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    start_after: impl Fn(&Dir) -> Option<String> + Sync,
) -> Result<Vec<DayListing>, RunError> {
    let (first, last) = (from.map(|t| t.date_naive()), to.date_naive());
    let blind = first.filter(|f| (last - *f).num_days() <= MAX_BLIND_DAYS);
    let days: Vec<Dir> = match blind {
        Some(first) => regions
            .iter()
            .flat_map(|region| {
                first.iter_days().take_while(|day| *day <= last).map(|day| {
                    region.child(format!("{}{}/", region.prefix, day.format("%Y/%m/%d")))
                })
            })
            .collect(),
        None => existing_days(store, regions, first, last)?,
    };
    Ok(days
        .into_iter()
        .map(|dir| {
            let on_first_day =
                first.is_some_and(|f| dir.prefix.ends_with(&f.format("%Y/%m/%d/").to_string()));
            let start_after = if on_first_day {
                start_after(&dir)
            } else {
                None
            };
            DayListing {
                dir,
                start_after: start_after.unwrap_or_default(),
            }
        })
        .collect())
}

/// The `YYYY/MM/DD/` folders that exist under `regions`, within `[first, last]`: years,
/// then months, then days, each level listed in parallel and cut to the range.
fn existing_days(
    store: &dyn Store,
    regions: &[Dir],
    first: Option<NaiveDate>,
    last: NaiveDate,
) -> Result<Vec<Dir>, RunError> {
    let mut level = regions.to_vec();
    for depth in 1..=3 {
        level = subfolders(store, &level)?;
        level.retain(|dir| {
            date_span(dir, depth)
                .is_some_and(|(low, high)| low <= last && first.is_none_or(|f| high >= f))
        });
    }
    Ok(level)
}

/// The first and last day a `YYYY/`, `YYYY/MM/` or `YYYY/MM/DD/` folder can hold.
fn date_span(dir: &Dir, depth: usize) -> Option<(NaiveDate, NaiveDate)> {
    let mut parts: Vec<&str> = dir
        .prefix
        .trim_end_matches('/')
        .rsplit('/')
        .take(depth)
        .collect();
    parts.reverse();
    let widths = [4, 2, 2];
    let mut numbers = Vec::new();
    for (part, width) in parts.iter().zip(widths) {
        if part.len() != width || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers.push(part.parse::<u32>().ok()?);
    }
    let year = i32::try_from(*numbers.first()?).ok()?;
    match numbers[1..] {
        [] => Some((
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        )),
        [month] => {
            let low = NaiveDate::from_ymd_opt(year, month, 1)?;
            let high = low.checked_add_months(chrono::Months::new(1))?.pred_opt()?;
            Some((low, high))
        }
        [month, day] => {
            let date = NaiveDate::from_ymd_opt(year, month, day)?;
            Some((date, date))
        }
        _ => None,
    }
}

/// Lists the day folders in parallel; the keys come back with their bucket, in order.
fn list_days(store: &dyn Store, days: &[DayListing]) -> Result<Vec<(String, String)>, RunError> {
    let listed: Vec<Result<Vec<(String, String)>, RunError>> = days
        .par_iter()
        .map(|day| {
            let keys = store
                .list_after(&day.dir.bucket, &day.dir.prefix, &day.start_after)
                .map_err(|e| listing_error(store, &day.dir, e))?;
            Ok(keys
                .into_iter()
                .map(|key| (day.dir.bucket.clone(), key))
                .collect())
        })
        .collect();
    let mut all = Vec::new();
    for keys in listed {
        all.extend(keys?);
    }
    Ok(all)
}

/// In the first day's digest folder, skip the selected trail's digests that end before the
/// start. Digest names sort by trail, then time, so this only helps with a trail selected.
fn digest_start_after(dir: &Dir, settings: &Settings, start: DateTime<Utc>) -> Option<String> {
    let trail = settings.trail.as_ref()?;
    let (account, region) = folder_account_region(dir)?;
    let before = start - Duration::seconds(1);
    Some(format!(
        "{}{account}_CloudTrail-Digest_{region}_{}_{}_{}",
        dir.prefix,
        trail.name,
        trail.home_region,
        before.format("%Y%m%dT%H%M%SZ")
    ))
}

/// In the first day's log folder, skip logs delivered before the start minute: log names
/// (`ACCOUNT_<kind>_REGION_STAMP_...`) sort by delivery time.
fn log_start_after(dir: &Dir, start: DateTime<Utc>) -> String {
    match folder_parts(dir) {
        Some((account, kind, region)) => format!(
            "{}{account}_{kind}_{region}_{}",
            dir.prefix,
            start.format("%Y%m%dT%H%MZ")
        ),
        None => String::new(),
    }
}

/// The account and region of `.../ACCOUNT/<kind>/REGION/YYYY/MM/DD/`.
fn folder_account_region(dir: &Dir) -> Option<(&str, &str)> {
    folder_parts(dir).map(|(account, _, region)| (account, region))
}

/// The account, kind folder and region of `.../ACCOUNT/<kind>/REGION/YYYY/MM/DD/`.
fn folder_parts(dir: &Dir) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = dir.prefix.trim_end_matches('/').rsplit('/').collect();
    match parts[..] {
        [_, _, _, region, kind, account, ..] => Some((account, kind, region)),
        _ => None,
    }
}

pub fn chain_id(name: &DigestName) -> ChainId {
    ChainId {
        account: name.folder.account.clone(),
        region: name.folder.region.clone(),
        trail: name.trail.clone(),
        home_region: name.home_region.clone(),
        organization: name.folder.organization.clone(),
        backfill: name.backfill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Metadata;
    use crate::store::memory::MemoryStore;
    use crate::verdict::Shard;
    use chrono::TimeZone;

    const BUCKET: &str = "aws-cloudtrail-logs-111122223333-5c9a1e07";

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn log_key(prefix: &str, day: u32, hour: u32) -> String {
        format!(
            "{prefix}AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/{day:02}/\
             111122223333_CloudTrail_us-east-1_202611{day:02}T{hour:02}05Z_abcdefGHIJ012345.json.gz"
        )
    }

    fn digest_key(prefix: &str, day: u32, hour: u32) -> String {
        format!(
            "{prefix}AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/{day:02}/\
             111122223333_CloudTrail-Digest_us-east-1_management-events_us-east-1_\
             202611{day:02}T{hour:02}0000Z.json.gz"
        )
    }

    fn store(prefix: &str) -> MemoryStore {
        let mut store = MemoryStore::new();
        for day in 1..=9 {
            for hour in [0, 12, 23] {
                for key in [log_key(prefix, day, hour), digest_key(prefix, day, hour)] {
                    store.put(BUCKET, &key, Vec::new(), Metadata::default());
                }
            }
        }
        store.put(BUCKET, "README", Vec::new(), Metadata::default());
        store
    }

    fn settings(start: Option<DateTime<Utc>>, end: DateTime<Utc>) -> Settings {
        Settings {
            start,
            end,
            trail: None,
            jobs: 1,
            shard: None,
            checkpoint: None,
            window: None,
        }
    }

    /// A store that records every day folder listed.
    struct Recording {
        inner: MemoryStore,
        listed: std::sync::Mutex<Vec<String>>,
    }

    impl Store for Recording {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn buckets(&self) -> Vec<String> {
            self.inner.buckets()
        }
        fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
            self.listed.lock().unwrap().push(prefix.to_owned());
            self.inner.list(bucket, prefix)
        }
        fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
            self.inner.folders(bucket, prefix)
        }
        fn get(&self, bucket: &str, key: &str) -> Result<crate::store::Object, FetchError> {
            self.inner.get(bucket, key)
        }
    }

    #[test]
    fn a_shard_lists_no_day_folder_of_another_shards_account_and_region() {
        let store = Recording {
            inner: store(""),
            listed: Default::default(),
        };
        let (ours, others) = (0..2)
            .map(|index| Shard { index, count: 2 })
            .partition::<Vec<_>, _>(|s| s.takes("111122223333", "us-east-1"));
        let mut other = settings(Some(at(3, 12)), at(5, 12));
        other.shard = others.first().copied();
        let inventory = take_inventory(&store, &other).unwrap();
        assert!(inventory.digests.is_empty() && inventory.logs.is_empty());
        assert_eq!(*store.listed.lock().unwrap(), Vec::<String>::new());

        let mut own = other.clone();
        own.shard = ours.first().copied();
        let inventory = take_inventory(&store, &own).unwrap();
        assert_eq!(inventory.digests.len(), 9);
        assert!(!store.listed.lock().unwrap().is_empty());
    }

    #[test]
    fn only_the_range_is_listed_from_its_start_minute() {
        let inventory =
            take_inventory(&store("logs/prod/"), &settings(Some(at(3, 12)), at(5, 12))).unwrap();
        let digest_times: Vec<_> = inventory.digests.iter().map(|d| d.name.end).collect();
        // Digest folders of days 3..=5: everything on those days (no trail selected).
        assert_eq!(digest_times.len(), 9);
        let logs: Vec<_> = inventory.logs.values().flatten().map(|(_, t)| *t).collect();
        // Logs from 3 Nov 12:05 on, up to the end of the 5th's folder.
        assert_eq!(logs.len(), 2 + 3 + 3);
        assert!(logs.iter().all(|t| *t >= at(3, 12)));
    }

    #[test]
    fn without_a_start_every_existing_day_up_to_the_end_is_found() {
        let inventory = take_inventory(&store(""), &settings(None, at(4, 1))).unwrap();
        // Days 1..=4 hold 3 digests each; the end + 1 h still falls on day 4.
        assert_eq!(inventory.digests.len(), 12);
        assert_eq!(inventory.oldest_digest, Some(at(1, 0)));
    }

    #[test]
    fn a_bucket_of_many_other_folders_asks_for_the_prefix() {
        let mut store = store("");
        for i in 0..1200 {
            store.put(
                BUCKET,
                &format!("data/{i}/x"),
                Vec::new(),
                Metadata::default(),
            );
        }
        let Err(e) = take_inventory(&store, &settings(None, at(4, 1))) else {
            panic!("searched every folder");
        };
        assert!(e.to_string().contains("s3://BUCKET/PREFIX"), "{e}");
    }

    #[test]
    fn a_long_range_lists_existing_folders_only() {
        let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let inventory = take_inventory(&store(""), &settings(Some(start), at(2, 12))).unwrap();
        assert_eq!(inventory.digests.len(), 6);
    }
}
