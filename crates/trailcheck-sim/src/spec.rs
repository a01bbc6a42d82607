//! What to simulate: the typed description of a trail and its tamperings, checked with no I/O.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Serialize, Serializer};

use super::SimError;
use super::sign::SigningKey;
use trailcheck_core::objectkey::{Folder, LogKind, is_organization_id};

/// 2026-11-01T00:00:00Z: a fixed default, so a default run gives the same bytes every day.
pub const DEFAULT_START_EPOCH: i64 = 1_793_491_200;
pub const DEFAULT_HOURS: u32 = 6;
pub const DEFAULT_LOGS_PER_HOUR: u32 = 4;
pub const DEFAULT_REGIONS: &str = "us-east-1,eu-west-1";
pub const DEFAULT_ACCOUNT: &str = "111122223333";
pub const DEFAULT_TRAIL_NAME: &str = "management-events";
pub const DEFAULT_BUCKET: &str = "aws-cloudtrail-logs-111122223333-5c9a1e07";
pub const DEFAULT_SEED: u64 = 1;
/// A bound that keeps a mistyped option from filling the disk.
const MAX_HOURS: u32 = 24 * 366;
const MAX_LOGS_PER_HOUR: u32 = 500;
const MAX_EVENTS_PER_LOG: u64 = 20_000;

/// A whole simulated trail: where it lives, how long it runs, what happens to it.
#[derive(Clone, Debug, Serialize)]
pub struct Spec {
    /// When validation is turned on: the first digest starts here.
    pub start: DateTime<Utc>,
    /// How many hourly digests each region's chain spans.
    pub hours: u32,
    pub logs_per_hour: u32,
    /// The fewest and most events in one log file: sets how large logs are.
    pub events_per_log: (u64, u64),
    /// The first is the trail's home region.
    pub regions: Vec<String>,
    pub account: String,
    pub trail_name: String,
    pub bucket: String,
    /// Key prefix without slashes at either end; empty for none.
    pub prefix: String,
    /// Set for an organization trail (`o-...`).
    pub org_id: Option<String>,
    /// Signs every digest unless a rotation or an `unknown-key` tampering says otherwise.
    pub key: SigningKey,
    pub rotation: Option<Rotation>,
    /// Signs the digest of an `unknown-key` tampering; never published.
    pub rogue_key: Option<SigningKey>,
    /// Hours with validation off: no digests, logs still delivered.
    pub gaps: Vec<HourRange>,
    /// Adds a backfill digest chain in the home region listing late logs.
    pub backfill: bool,
    pub bucket_switch: Option<BucketSwitch>,
    pub layout: Layout,
    pub tampers: Vec<TamperSpec>,
    /// Other log kinds to deliver beside `CloudTrail/`, one log an hour each.
    pub log_kinds: Vec<KindSpec>,
    pub seed: u64,
}

/// One `--log-kind KIND[:undigested]`: a log folder besides `CloudTrail/`, and whether the
/// hour's digest lists its logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindSpec {
    #[serde(serialize_with = "kind_dir")]
    pub kind: LogKind,
    pub digested: bool,
}

fn kind_dir<S: serde::Serializer>(kind: &LogKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.dir())
}

impl std::str::FromStr for KindSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, digested) = match s.split_once(':') {
            None => (s, true),
            Some((name, "undigested")) => (name, false),
            Some((_, other)) => {
                return Err(format!("'{other}': the only suffix is ':undigested'"));
            }
        };
        let kind = match name {
            "insight" => LogKind::Insight,
            "network-activity" => LogKind::NetworkActivity,
            "aggregated" => LogKind::Aggregated,
            other => {
                return Err(format!(
                    "'{other}' is not a log kind: insight, network-activity or aggregated"
                ));
            }
        };
        Ok(KindSpec { kind, digested })
    }
}

/// From `at_hour` on, digests are signed by `key`.
#[derive(Clone, Debug, Serialize)]
pub struct Rotation {
    pub at_hour: u32,
    pub key: SigningKey,
}

/// From `at_hour` on, the trail delivers logs and digests to `bucket`.
#[derive(Clone, Debug, Serialize)]
pub struct BucketSwitch {
    pub at_hour: u32,
    pub bucket: String,
}

/// How object keys become paths under the output folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `OUT/KEY`, as `aws s3 sync s3://BUCKET OUT` makes it: one bucket only.
    Mirror,
    /// `OUT/BUCKET/KEY`.
    PerBucket,
}

/// Hours `first..=last`, counted from the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourRange {
    pub first: u32,
    pub last: u32,
}

/// What an attacker (or accident) does to the trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TamperKind {
    ModifyLog,
    AppendLog,
    CorruptLog,
    DeleteLog,
    InsertLog,
    ModifyDigest,
    DeleteDigest,
    DeleteDigests2,
    MoveDigest,
    UnknownKey,
    BadSignature,
    NoSignature,
}

/// One `--tamper KIND[@REGION][:HOUR]`; unset parts take their defaults when applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TamperSpec {
    pub kind: TamperKind,
    pub region: Option<String>,
    pub hour: Option<u32>,
}

impl Spec {
    /// Every default, signed by `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            start: default_start(),
            hours: DEFAULT_HOURS,
            logs_per_hour: DEFAULT_LOGS_PER_HOUR,
            events_per_log: super::events::EVENTS_PER_LOG,
            regions: DEFAULT_REGIONS.split(',').map(str::to_owned).collect(),
            account: DEFAULT_ACCOUNT.to_owned(),
            trail_name: DEFAULT_TRAIL_NAME.to_owned(),
            bucket: DEFAULT_BUCKET.to_owned(),
            prefix: String::new(),
            org_id: None,
            key,
            rotation: None,
            rogue_key: None,
            gaps: Vec::new(),
            backfill: false,
            bucket_switch: None,
            layout: Layout::Mirror,
            tampers: Vec::new(),
            log_kinds: Vec::new(),
            seed: DEFAULT_SEED,
        }
    }

    /// The region the trail was created in: the last region part of every digest name.
    pub fn home_region(&self) -> &str {
        self.regions.first().map(String::as_str).unwrap_or_default()
    }

    /// `start + hours`: the nominal end of the last digest.
    pub fn end(&self) -> DateTime<Utc> {
        self.hour_start(self.hours)
    }

    /// The nominal start of hour `h`.
    pub fn hour_start(&self, hour: u32) -> DateTime<Utc> {
        self.start + Duration::hours(i64::from(hour))
    }

    pub fn trail_arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region(),
            self.account,
            self.trail_name
        )
    }

    /// Every bucket the trail writes to, in order of use.
    pub fn buckets(&self) -> Vec<String> {
        let mut buckets = vec![self.bucket.clone()];
        buckets.extend(self.bucket_switch.iter().map(|s| s.bucket.clone()));
        buckets
    }

    /// The bucket logs and digests of hour `h` go to.
    pub fn bucket_for_hour(&self, hour: u32) -> &str {
        match &self.bucket_switch {
            Some(switch) if hour >= switch.at_hour => &switch.bucket,
            _ => &self.bucket,
        }
    }

    /// The published key that signs what CloudTrail writes in hour `h`.
    pub fn key_for_hour(&self, hour: u32) -> &SigningKey {
        match &self.rotation {
            Some(rotation) if hour >= rotation.at_hour => &rotation.key,
            _ => &self.key,
        }
    }

    /// True when validation is off in hour `h`.
    pub fn in_gap(&self, hour: u32) -> bool {
        self.gaps.iter().any(|g| (g.first..=g.last).contains(&hour))
    }

    /// The folder of `region`'s files.
    pub fn folder(&self, region: &str) -> Folder {
        Folder {
            prefix: self.prefix.clone(),
            organization: self.org_id.clone(),
            account: self.account.clone(),
            region: region.to_owned(),
        }
    }

    /// True when hour `h` has a regular digest.
    pub fn has_digest(&self, hour: u32) -> bool {
        hour < self.hours && !self.in_gap(hour)
    }

    /// Checks that the options describe a trail that can be built; the message says which
    /// option to change.
    pub fn check(&self) -> Result<(), SimError> {
        self.check_sizes()?;
        self.check_names()?;
        self.check_hours()?;
        self.check_keys()?;
        super::plan::plan(self).map(|_| ())
    }

    fn check_sizes(&self) -> Result<(), SimError> {
        if !(1..=MAX_HOURS).contains(&self.hours) {
            return Err(SimError::spec(format!("--hours must be 1 to {MAX_HOURS}")));
        }
        if self.logs_per_hour > MAX_LOGS_PER_HOUR {
            return Err(SimError::spec(format!(
                "--logs-per-hour must be at most {MAX_LOGS_PER_HOUR}"
            )));
        }
        let (fewest, most) = self.events_per_log;
        if !(1 <= fewest && fewest <= most && most <= MAX_EVENTS_PER_LOG) {
            return Err(SimError::spec(format!(
                "--events-per-log must be MIN-MAX with 1 <= MIN <= MAX <= {MAX_EVENTS_PER_LOG}"
            )));
        }
        Ok(())
    }

    fn check_names(&self) -> Result<(), SimError> {
        if self.regions.is_empty() {
            return Err(SimError::spec("--regions needs at least one region"));
        }
        for (i, region) in self.regions.iter().enumerate() {
            if !is_region(region) {
                return Err(SimError::spec(format!(
                    "--regions: '{region}' is not a region name (like us-east-1)"
                )));
            }
            if self.regions[..i].contains(region) {
                return Err(SimError::spec(format!("--regions names {region} twice")));
            }
        }
        if self.account.len() != 12 || !self.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SimError::spec("--account must be 12 digits"));
        }
        if !is_trail_name(&self.trail_name) {
            return Err(SimError::spec(
                "--trail-name: 3 to 128 letters, digits, '.', '_' or '-', starting and ending \
                 with a letter or digit",
            ));
        }
        for bucket in self.buckets() {
            if !is_bucket_name(&bucket) {
                return Err(SimError::spec(format!(
                    "'{bucket}' is not an S3 bucket name: 3 to 63 lower-case letters, digits, \
                     '.' or '-'"
                )));
            }
        }
        if self.prefix.starts_with('/') || self.prefix.ends_with('/') || self.prefix.contains("//")
        {
            return Err(SimError::spec(
                "--prefix: no slash at either end and no empty folder (like logs/prod)",
            ));
        }
        if let Some(org) = &self.org_id
            && !is_organization_id(org)
        {
            return Err(SimError::spec(
                "--org-id: 'o-' then 10 to 32 lower-case letters or digits",
            ));
        }
        Ok(())
    }

    fn check_hours(&self) -> Result<(), SimError> {
        if let Some(rotation) = &self.rotation
            && !(1..self.hours).contains(&rotation.at_hour)
        {
            return Err(SimError::spec(format!(
                "--rotate-at-hour must be 1 to {} (within --hours)",
                self.hours.saturating_sub(1)
            )));
        }
        if let Some(switch) = &self.bucket_switch {
            if !(1..self.hours).contains(&switch.at_hour) {
                return Err(SimError::spec(format!(
                    "--switch-at-hour must be 1 to {} (within --hours)",
                    self.hours.saturating_sub(1)
                )));
            }
            if switch.bucket == self.bucket {
                return Err(SimError::spec("--second-bucket must differ from --bucket"));
            }
            if self.layout == Layout::Mirror {
                return Err(SimError::spec(
                    "--second-bucket needs --layout per-bucket: a mirror holds one bucket",
                ));
            }
        }
        self.check_gaps()
    }

    /// A gap needs a digest before it and after it, or it is not a gap in the chain.
    fn check_gaps(&self) -> Result<(), SimError> {
        let mut gaps = self.gaps.clone();
        gaps.sort_by_key(|g| g.first);
        for (i, gap) in gaps.iter().enumerate() {
            if gap.first == 0 || gap.first > gap.last || gap.last + 2 > self.hours {
                return Err(SimError::spec(format!(
                    "--gap {gap}: give hours H1-H2 with 1 <= H1 <= H2 <= {} so digests come \
                     before and after it",
                    self.hours.saturating_sub(2)
                )));
            }
            if i > 0 && gaps[i - 1].last + 1 >= gap.first {
                return Err(SimError::spec(format!(
                    "--gap {} and --gap {gap} overlap or touch: merge them into one",
                    gaps[i - 1]
                )));
            }
        }
        Ok(())
    }

    fn check_keys(&self) -> Result<(), SimError> {
        let mut fingerprints = vec![self.key.fingerprint()];
        fingerprints.extend(self.rotation.iter().map(|r| r.key.fingerprint()));
        if fingerprints.len() == 2 && fingerprints[0] == fingerprints[1] {
            return Err(SimError::spec(
                "the rotation key is the signing key: give a different second --key",
            ));
        }
        let unknown_key = self
            .tampers
            .iter()
            .any(|t| t.kind == TamperKind::UnknownKey);
        match &self.rogue_key {
            None if unknown_key => Err(SimError::spec(
                "--tamper unknown-key needs one more --key that is not published, such as \
                 crates/trailcheck-sim/signing-keys/rogue.pem",
            )),
            Some(rogue) if fingerprints.contains(&rogue.fingerprint()) => Err(SimError::spec(
                "the unknown-key tampering's key is also a signing key: give a different one",
            )),
            _ => Ok(()),
        }
    }
}

/// The default start, [`DEFAULT_START_EPOCH`].
pub fn default_start() -> DateTime<Utc> {
    DateTime::from_timestamp(DEFAULT_START_EPOCH, 0).unwrap_or_default()
}

impl TamperKind {
    pub const ALL: [TamperKind; 12] = [
        TamperKind::ModifyLog,
        TamperKind::AppendLog,
        TamperKind::CorruptLog,
        TamperKind::DeleteLog,
        TamperKind::InsertLog,
        TamperKind::ModifyDigest,
        TamperKind::DeleteDigest,
        TamperKind::DeleteDigests2,
        TamperKind::MoveDigest,
        TamperKind::UnknownKey,
        TamperKind::BadSignature,
        TamperKind::NoSignature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::ModifyLog => "modify-log",
            TamperKind::AppendLog => "append-log",
            TamperKind::CorruptLog => "corrupt-log",
            TamperKind::DeleteLog => "delete-log",
            TamperKind::InsertLog => "insert-log",
            TamperKind::ModifyDigest => "modify-digest",
            TamperKind::DeleteDigest => "delete-digest",
            TamperKind::DeleteDigests2 => "delete-digests-2",
            TamperKind::MoveDigest => "move-digest",
            TamperKind::UnknownKey => "unknown-key",
            TamperKind::BadSignature => "bad-signature",
            TamperKind::NoSignature => "no-signature",
        }
    }
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TamperKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromStr for TamperKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown tampering '{text}': use one of {}",
                    names.join(", ")
                )
            })
    }
}

impl FromStr for TamperSpec {
    type Err = String;

    /// `KIND`, `KIND@REGION`, `KIND@REGION:HOUR` or `KIND@:HOUR`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (kind, target) = text.split_once('@').unwrap_or((text, ""));
        let kind = kind.parse()?;
        let (region, hour) = target.split_once(':').unwrap_or((target, ""));
        let region = (!region.is_empty()).then(|| region.to_owned());
        let hour = match hour {
            "" => None,
            h => Some(h.parse().map_err(|_| {
                format!("'{text}': the hour after ':' must be a number (modify-log@us-east-1:3)")
            })?),
        };
        Ok(Self { kind, region, hour })
    }
}

impl fmt::Display for TamperSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if self.region.is_some() || self.hour.is_some() {
            f.write_str("@")?;
            f.write_str(self.region.as_deref().unwrap_or_default())?;
        }
        if let Some(hour) = self.hour {
            write!(f, ":{hour}")?;
        }
        Ok(())
    }
}

impl Serialize for TamperSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for HourRange {
    type Err = String;

    /// `H1-H2`, or `H` for one hour.
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not an hour range: use H1-H2 (3-5) or one hour (4)");
        let (first, last) = text.split_once('-').unwrap_or((text, text));
        let first = first.trim().parse().map_err(|_| bad())?;
        let last = last.trim().parse().map_err(|_| bad())?;
        Ok(Self { first, last })
    }
}

impl fmt::Display for HourRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl Serialize for HourRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn is_region(s: &str) -> bool {
    (4..=32).contains(&s.len())
        && s.contains('-')
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_trail_name(s: &str) -> bool {
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    (3..=128).contains(&s.len())
        && edge_ok(s.bytes().next())
        && edge_ok(s.bytes().last())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn is_bucket_name(s: &str) -> bool {
    (3..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tamper_specs_parse_in_every_form_and_print_back() {
        for text in [
            "modify-log",
            "delete-digest@eu-west-1",
            "move-digest@eu-west-1:3",
            "insert-log@:2",
        ] {
            let spec: TamperSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        let spec: TamperSpec = "append-log@us-east-1:4".parse().unwrap();
        assert_eq!(spec.kind, TamperKind::AppendLog);
        assert_eq!(spec.region.as_deref(), Some("us-east-1"));
        assert_eq!(spec.hour, Some(4));
        assert!(
            "rename-log"
                .parse::<TamperSpec>()
                .unwrap_err()
                .contains("modify-log")
        );
        assert!("modify-log@x:y".parse::<TamperSpec>().is_err());
    }

    #[test]
    fn hour_ranges_parse() {
        assert_eq!("2-4".parse(), Ok(HourRange { first: 2, last: 4 }));
        assert_eq!("3".parse(), Ok(HourRange { first: 3, last: 3 }));
        assert!("x-4".parse::<HourRange>().is_err());
    }
}
