//! CloudTrail object keys: what a key says about its file, and how keys are built.
//!
//! Keys come from listings an attacker may have shaped, so parsing is strict: a key that does
//! not follow CloudTrail's naming is simply not a CloudTrail file and is left alone.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The folder a trail writes into: `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/<kind>/REGION/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Folder {
    /// The trail's key prefix without a trailing slash; empty when there is none.
    pub prefix: String,
    pub organization: Option<String>,
    pub account: String,
    pub region: String,
}

/// A digest file's key, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestName {
    pub folder: Folder,
    pub trail: String,
    pub home_region: String,
    /// The digest's end time, from its name.
    pub end: DateTime<Utc>,
    pub backfill: bool,
}

/// A log file's key, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogName {
    pub folder: Folder,
    /// Which folder of the account it lives in: what kind of events it holds.
    pub kind: LogKind,
    /// Delivery time to the minute, from its name.
    pub delivered: DateTime<Utc>,
}

/// The log folders CloudTrail delivers into beside `CloudTrail-Digest/`. Digests list the
/// logs of `CloudTrail/`; whether they list the others is read from the digests themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    /// `CloudTrail/`: management and data events.
    Events,
    /// `CloudTrail-Insight/`: Insights events.
    Insight,
    /// `CloudTrail-NetworkActivity/`: network activity events.
    NetworkActivity,
    /// `CloudTrail-Aggregated/`: aggregated data-event summaries.
    Aggregated,
}

impl LogKind {
    pub const ALL: [LogKind; 4] = [
        LogKind::Events,
        LogKind::Insight,
        LogKind::NetworkActivity,
        LogKind::Aggregated,
    ];

    /// The folder name, which is also the tag in the file name (`ACCOUNT_<tag>_REGION_...`).
    pub fn dir(self) -> &'static str {
        match self {
            LogKind::Events => LOG_DIR,
            LogKind::Insight => "CloudTrail-Insight",
            LogKind::NetworkActivity => "CloudTrail-NetworkActivity",
            LogKind::Aggregated => "CloudTrail-Aggregated",
        }
    }

    fn of_dir(dir: &str) -> Option<LogKind> {
        LogKind::ALL.into_iter().find(|k| k.dir() == dir)
    }
}

/// What a key names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectName {
    Digest(DigestName),
    Log(LogName),
}

const DIGEST_DIR: &str = "CloudTrail-Digest";
const LOG_DIR: &str = "CloudTrail";
const GZ_JSON: &str = ".json.gz";
const BACKFILL: &str = "_backfill";

/// Parses a key; `None` when it is not a CloudTrail log or digest key.
pub fn parse(key: &str) -> Option<ObjectName> {
    let parts: Vec<&str> = key.split('/').collect();
    // Try the last `AWSLogs` component first: a prefix may itself contain that word.
    (0..parts.len())
        .rev()
        .filter(|&i| parts[i] == "AWSLogs")
        .find_map(|i| parse_after_awslogs(&parts[..i], &parts[i + 1..]))
}

fn parse_after_awslogs(prefix: &[&str], rest: &[&str]) -> Option<ObjectName> {
    let (organization, rest) = match rest.first() {
        Some(org) if is_organization_id(org) => (Some((*org).to_owned()), &rest[1..]),
        _ => (None, rest),
    };
    let [account, kind, region, year, month, day, file] = rest else {
        return None;
    };
    if !is_account_id(account) || !is_region(region) || !is_date_folder(year, month, day) {
        return None;
    }
    if prefix.iter().any(|p| p.is_empty()) {
        return None;
    }
    let folder = Folder {
        prefix: prefix.join("/"),
        organization,
        account: (*account).to_owned(),
        region: (*region).to_owned(),
    };
    if *kind == DIGEST_DIR {
        return parse_digest_file(folder, file).map(ObjectName::Digest);
    }
    let kind = LogKind::of_dir(kind)?;
    parse_log_file(folder, kind, file).map(ObjectName::Log)
}

fn parse_digest_file(folder: Folder, file: &str) -> Option<DigestName> {
    let head = format!("{}_CloudTrail-Digest_{}_", folder.account, folder.region);
    let body = file.strip_prefix(&head)?.strip_suffix(GZ_JSON)?;
    let (body, backfill) = match body.strip_suffix(BACKFILL) {
        Some(b) => (b, true),
        None => (body, false),
    };
    let (trail_and_home, stamp) = body.rsplit_once('_')?;
    let (trail, home_region) = trail_and_home.rsplit_once('_')?;
    if !is_trail_name(trail) || !is_region(home_region) {
        return None;
    }
    if !is_stamp(stamp, 6) {
        return None;
    }
    let end = stamp_time(stamp)?;
    Some(DigestName {
        folder,
        trail: trail.to_owned(),
        home_region: home_region.to_owned(),
        end: end.and_utc(),
        backfill,
    })
}

fn parse_log_file(folder: Folder, kind: LogKind, file: &str) -> Option<LogName> {
    let head = format!("{}_{}_{}_", folder.account, kind.dir(), folder.region);
    let body = file.strip_prefix(&head)?.strip_suffix(GZ_JSON)?;
    let (stamp, unique) = body.split_once('_')?;
    if !is_stamp(stamp, 4)
        || unique.is_empty()
        || !unique.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    let delivered = stamp_time(stamp)?;
    Some(LogName {
        folder,
        kind,
        delivered: delivered.and_utc(),
    })
}

/// `YYYYMMDDT`, then `time_digits` digits, then `Z`, with digits wherever digits go. chrono
/// alone accepts a space in a numeric field (`202611 1T...`), which would give two keys the
/// same name and time (found by the objectkey fuzz target).
fn is_stamp(stamp: &str, time_digits: usize) -> bool {
    let b = stamp.as_bytes();
    b.len() == 8 + 1 + time_digits + 1
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..9 + time_digits].iter().all(u8::is_ascii_digit)
        && b[9 + time_digits] == b'Z'
}

/// The time of a stamp that [`is_stamp`] accepted (`YYYYMMDDTHHMM[SS]Z`), as chrono's
/// `%Y%m%dT%H%M[%S]Z` would parse it, second 60 included, without parsing a format string for
/// each of the thousands of keys a run reads.
fn stamp_time(stamp: &str) -> Option<NaiveDateTime> {
    let b = stamp.as_bytes();
    let number = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, number(4, 6)?, number(6, 8)?)?;
    let (hour, minute) = (number(9, 11)?, number(11, 13)?);
    let second = if b.len() == 16 { number(13, 15)? } else { 0 };
    match second {
        // chrono reads second 60 as a leap second: 59 s and a whole second of nanoseconds.
        60 => date.and_hms_nano_opt(hour, minute, 59, 1_000_000_000),
        _ => date.and_hms_opt(hour, minute, second),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `o-` and 10 to 32 lower-case letters or digits, as AWS Organizations writes its IDs.
pub fn is_organization_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// CloudTrail trail names: letters, digits, `.`, `_`, `-`; 3 to 128 characters.
fn is_trail_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_date_folder(year: &str, month: &str, day: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(year, 4) && digits(month, 2) && digits(day, 2)
}

impl Folder {
    /// `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/` with a trailing slash.
    pub fn account_root(&self) -> String {
        let mut root = String::new();
        if !self.prefix.is_empty() {
            root.push_str(&self.prefix);
            root.push('/');
        }
        root.push_str("AWSLogs/");
        if let Some(org) = &self.organization {
            root.push_str(org);
            root.push('/');
        }
        root.push_str(&self.account);
        root.push('/');
        root
    }

    /// The folder holding this region's digests, with a trailing slash.
    pub fn digest_dir(&self) -> String {
        format!("{}{DIGEST_DIR}/{}/", self.account_root(), self.region)
    }

    /// The folder holding this region's logs of `kind`, with a trailing slash.
    pub fn log_dir(&self, kind: LogKind) -> String {
        format!("{}{}/{}/", self.account_root(), kind.dir(), self.region)
    }
}

impl DigestName {
    /// The key CloudTrail gives a digest with these fields.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}_CloudTrail-Digest_{}_{}_{}_{}{}{GZ_JSON}",
            self.folder.digest_dir(),
            self.end.format("%Y/%m/%d"),
            self.folder.account,
            self.folder.region,
            self.trail,
            self.home_region,
            self.end.format("%Y%m%dT%H%M%SZ"),
            if self.backfill { BACKFILL } else { "" },
        )
    }
}

impl LogName {
    /// The key CloudTrail gives a log delivered at this time with this unique string.
    pub fn key(&self, unique: &str) -> String {
        format!(
            "{}{}/{}_{}_{}_{}_{unique}{GZ_JSON}",
            self.folder.log_dir(self.kind),
            self.delivered.format("%Y/%m/%d"),
            self.folder.account,
            self.kind.dir(),
            self.folder.region,
            self.delivered.format("%Y%m%dT%H%MZ"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const DIGEST: &str = "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/\
        111122223333_CloudTrail-Digest_us-east-2_my_trail.v2_us-east-1_20150817T150131Z.json.gz";
    const LOG: &str = "logs/AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-2/2015/08/01/\
        111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";

    #[test]
    fn digest_key_with_underscored_trail_name_parses_and_rebuilds() {
        let Some(ObjectName::Digest(d)) = parse(DIGEST) else {
            panic!("not a digest");
        };
        assert_eq!(d.trail, "my_trail.v2");
        assert_eq!(d.home_region, "us-east-1");
        assert_eq!(d.folder.region, "us-east-2");
        assert_eq!(d.folder.prefix, "");
        assert_eq!(d.end, Utc.with_ymd_and_hms(2015, 8, 17, 15, 1, 31).unwrap());
        assert!(!d.backfill);
        assert_eq!(d.key(), DIGEST);
    }

    #[test]
    fn backfill_digest_key_parses() {
        let key = DIGEST.replace(".json.gz", "_backfill.json.gz");
        let Some(ObjectName::Digest(d)) = parse(&key) else {
            panic!("not a digest");
        };
        assert!(d.backfill);
        assert_eq!(d.key(), key);
    }

    #[test]
    fn organization_log_key_with_prefix_parses_and_rebuilds() {
        let Some(ObjectName::Log(l)) = parse(LOG) else {
            panic!("not a log");
        };
        assert_eq!(l.folder.prefix, "logs");
        assert_eq!(l.folder.organization.as_deref(), Some("o-aa111bb222"));
        assert_eq!(
            l.delivered,
            Utc.with_ymd_and_hms(2015, 8, 1, 2, 10, 0).unwrap()
        );
        assert_eq!(l.key("Mu0KsOhtH1ar15ZZ"), LOG);
        assert_eq!(l.kind, LogKind::Events);
    }

    #[test]
    fn logs_of_every_kind_parse_and_rebuild_and_a_mismatched_tag_does_not() {
        for kind in LogKind::ALL {
            let key = LOG
                .replace("/CloudTrail/", &format!("/{}/", kind.dir()))
                .replace("_CloudTrail_", &format!("_{}_", kind.dir()));
            let Some(ObjectName::Log(l)) = parse(&key) else {
                panic!("{key} is not a log");
            };
            assert_eq!(l.kind, kind);
            assert_eq!(l.key("Mu0KsOhtH1ar15ZZ"), key);
        }
        // The folder and the file name must say the same kind.
        let mixed = LOG.replace("/CloudTrail/", "/CloudTrail-Insight/");
        assert_eq!(parse(&mixed), None);
        let unknown = LOG
            .replace("/CloudTrail/", "/CloudTrail-Other/")
            .replace("_CloudTrail_", "_CloudTrail-Other_");
        assert_eq!(parse(&unknown), None);
    }

    #[test]
    fn keys_that_are_not_cloudtrail_files_are_ignored() {
        for key in [
            "",
            "AWSLogs/",
            "README.txt",
            "AWSLogs/1111/CloudTrail/us-east-1/2015/08/01/x.json.gz",
            &LOG.replace("_Mu0K", "_Mu/0K"),
            &LOG.replace("20150801T0210Z", "20151301T0210Z"),
            &DIGEST.replace("us-east-2/2015", "US-EAST-2/2015"),
            &DIGEST.replace(".json.gz", ".json"),
            &format!("a//{DIGEST}"),
            &DIGEST.replace("CloudTrail-Digest/", "CloudTrail-Insight/"),
            &LOG.replace("20150801T0210Z", "201508 1T0210Z"),
            &LOG.replace("20150801T0210Z", "20150801T 210Z"),
            &DIGEST.replace("20150817T150131Z", "20150817T15013 Z"),
            &DIGEST.replace("20150817T150131Z", "+0150817T150131Z"),
        ] {
            assert_eq!(parse(key), None, "{key}");
        }
    }

    #[test]
    fn stamps_read_as_chrono_reads_them_leap_days_and_leap_seconds_included() {
        let digests = [
            "20261121T235959Z",
            "20240229T120000Z",
            "20250229T120000Z",
            "20261301T000000Z",
            "20261100T000000Z",
            "20261121T240000Z",
            "20261121T236000Z",
            "20261121T235960Z",
            "20261121T235961Z",
            "00000101T000000Z",
        ];
        for stamp in digests {
            let chrono = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").ok();
            assert_eq!(stamp_time(stamp), chrono, "{stamp}");
        }
        for stamp in [
            "20261121T2359Z",
            "20240229T0000Z",
            "20230229T0000Z",
            "20261121T2460Z",
        ] {
            let chrono = NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%MZ").ok();
            assert_eq!(stamp_time(stamp), chrono, "{stamp}");
        }
    }
}
