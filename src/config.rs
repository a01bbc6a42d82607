//! Typed, checked settings for a run, built from the command line without judging anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cli::{RangeArgs, ValidateArgs};
use trailcheck_aws::cloudtrail::CloudTrailKeys;
use trailcheck_aws::s3::{S3Location, S3Store};
use trailcheck_aws::session::{AwsOptions, AwsSession};
use trailcheck_core::engine::{Settings, TrailSelector};
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::KeyRing;
use trailcheck_core::store::Store;
use trailcheck_core::store::local::LocalStore;
use trailcheck_core::time;
use trailcheck_core::verdict::Status;

/// More worker threads than this only costs memory: work is bounded by cores and I/O.
pub const MAX_JOBS: usize = 1024;

/// Worker threads for an S3 source when `--jobs` is not given. They mostly wait on the
/// network: at 20 ms a request, 128 in flight can fetch 6,000 files a second, more than two
/// cores can inflate and hash. Measured on the latency benchmark (bench/s3.py): 64 threads
/// 2.9 s, 128 threads 2.3-2.5 s, 192 and 256 no faster.
pub const S3_JOBS: usize = 128;

/// Everything `validate` needs, checked.
pub struct ValidateConfig {
    pub source: PathBuf,
    pub bucket: Option<String>,
    /// Set when the source is `s3://BUCKET[/PREFIX]`.
    pub s3: Option<S3Location>,
    pub aws: AwsOptions,
    pub keys: KeyRing,
    /// No `--keys` with an S3 source: ask CloudTrail's ListPublicKeys during the run.
    pub keys_online: bool,
    pub settings: Settings,
    pub fail_on: Vec<Status>,
}

/// Reads a source argument: `s3://BUCKET[/PREFIX]`, or a path (`None`).
pub fn parse_source(source: &Path) -> Result<Option<S3Location>, ConfigError> {
    let Some(parsed) = source.to_str().and_then(S3Location::parse) else {
        return Ok(None);
    };
    parsed.map(Some).map_err(|why| ConfigError::Option {
        option: "SOURCE",
        why,
    })
}

impl ValidateConfig {
    /// Checks the arguments and loads the key files; `now` is the default end time.
    pub fn from_args(args: &ValidateArgs, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let Range { start, end, trail } = Range::from_args(&args.range, now)?;
        let fail_on = parse_statuses(&args.fail_on)?;
        let s3 = parse_source(&args.path)?;
        let jobs = jobs(args.jobs, if s3.is_some() { S3_JOBS } else { 0 })?;
        if s3.is_none() && !args.path.exists() {
            return Err(ConfigError::SourceUnreadable {
                path: args.path.clone(),
                why: "no such file or folder".to_owned(),
            });
        }
        check_output("--report", args.report.as_deref())?;
        check_output("--report-json", args.report_json.as_deref())?;
        let keys_online = s3.is_some() && args.keys.is_none();
        let keys = if keys_online {
            KeyRing::new()
        } else {
            KeyRing::load_dir(&keys_dir(args.keys.as_deref(), &args.path)?)?
        };
        Ok(Self {
            source: args.path.clone(),
            bucket: args.bucket.clone(),
            s3,
            aws: args.aws.options(),
            keys,
            keys_online,
            settings: Settings {
                start,
                end,
                trail,
                jobs,
            },
            fail_on,
        })
    }

    /// Opens the source named on the command line.
    pub fn open_store(&self) -> Result<Box<dyn Store>, ConfigError> {
        if let Some(location) = &self.s3 {
            let session = Arc::new(AwsSession::open(&self.aws)?);
            return Ok(Box::new(S3Store::new(session, location.clone())));
        }
        Ok(Box::new(LocalStore::open(
            &self.source,
            self.bucket.as_deref(),
        )?))
    }

    /// CloudTrail's ListPublicKeys, when the keys are to be fetched during the run.
    pub fn online_keys(&self) -> Result<Option<CloudTrailKeys>, ConfigError> {
        if !self.keys_online {
            return Ok(None);
        }
        let session = Arc::new(AwsSession::open(&self.aws)?);
        Ok(Some(CloudTrailKeys::new(session)))
    }
}

/// A run's time range and trail, checked: what `--start-time`, `--end-time` and
/// `--trail-arn` say, the one parser of them for every command.
pub struct Range {
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
    pub trail: Option<TrailSelector>,
}

impl Range {
    /// Reads the range options; `now` is the default end and the base of offsets (`-7d`).
    pub fn from_args(args: &RangeArgs, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let (start, end) = parse_times(args.start_time.as_deref(), args.end_time.as_deref(), now)?;
        let trail = args
            .trail_arn
            .as_deref()
            .map(TrailSelector::from_arn)
            .transpose()
            .map_err(|why| ConfigError::Option {
                option: "--trail-arn",
                why,
            })?;
        Ok(Self { start, end, trail })
    }
}

/// `--start-time` and `--end-time` (default: now), checked to be in order.
pub fn parse_times(
    start: Option<&str>,
    end: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), ConfigError> {
    let option = |option: &'static str| move |why| ConfigError::Option { option, why };
    let start = start
        .map(|t| time::parse_user(t, now))
        .transpose()
        .map_err(option("--start-time"))?;
    let end = match end {
        Some(t) => time::parse_user(t, now).map_err(option("--end-time"))?,
        None => now,
    };
    if start.is_some_and(|s| s > end) {
        return Err(option("--start-time")(
            "the start time is after the end time".to_owned(),
        ));
    }
    Ok((start, end))
}

/// `--keys`, else the `keys` folder an archive carries (`trailcheck archive` writes it),
/// else `./keys`.
/// Checks `--jobs` for every command that takes it; `default` applies when it is not given
/// (0: one thread per core).
pub fn jobs(given: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    match given {
        None => Ok(default),
        Some(n @ 1..=MAX_JOBS) => Ok(n),
        Some(n) => Err(ConfigError::Option {
            option: "--jobs",
            why: format!("{n} threads: use 1 to {MAX_JOBS}"),
        }),
    }
}

fn keys_dir(given: Option<&Path>, source: &Path) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = given {
        return Ok(dir.to_owned());
    }
    let candidates = [source.join("keys"), PathBuf::from("keys")];
    match candidates.into_iter().find(|dir| dir.is_dir()) {
        Some(dir) => Ok(dir),
        None => Err(ConfigError::Option {
            option: "--keys",
            why: "no public keys: pass --keys DIR (a folder of `aws cloudtrail \
                  list-public-keys` JSON files), or keep them in SOURCE/keys or ./keys"
                .to_owned(),
        }),
    }
}

/// An output file's folder must exist before the run, not be found missing after it.
fn check_output(option: &'static str, path: Option<&Path>) -> Result<(), ConfigError> {
    let Some(path) = path else { return Ok(()) };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let why = if path.is_dir() {
        format!("{} is a folder; name a file to write", path.display())
    } else if !folder.is_dir() {
        format!(
            "{}: the folder {} does not exist; create it or choose another path",
            path.display(),
            folder.display()
        )
    } else {
        return Ok(());
    };
    Err(ConfigError::Option { option, why })
}

fn parse_statuses(names: &[String]) -> Result<Vec<Status>, ConfigError> {
    names
        .iter()
        .map(|name| {
            Status::parse(name.trim()).ok_or_else(|| ConfigError::Option {
                option: "--fail-on",
                why: format!(
                    "'{name}' is not a status; use any of intact, pending, unverifiable, \
                     unreferenced, moved, deleted, modified"
                ),
            })
        })
        .collect()
}
