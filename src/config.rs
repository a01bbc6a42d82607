//! Typed, checked settings for a run, built from the command line without judging anything.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cli::{OutputArgs, RangeArgs, ValidateArgs};
use trailcheck_aws::cloudtrail::CloudTrailKeys;
use trailcheck_aws::s3::{S3Location, S3Store};
use trailcheck_aws::session::{AwsOptions, AwsSession};
use trailcheck_core::engine::{KeyRange, KeySource, Settings, Shard, TrailSelector};
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::{self, KeyRing};
use trailcheck_core::store::Store;
use trailcheck_core::time;
use trailcheck_core::verdict::Status;

/// More worker threads than this only costs memory: work is bounded by cores and I/O.
pub const MAX_JOBS: usize = 1024;

/// Worker threads for an S3 source when `--jobs` is not given. They mostly wait on the
/// network: at 20 ms a request, 128 in flight can fetch 6,000 files a second, more than two
/// cores can inflate and hash. Measured on the latency benchmark (bench/s3.py): 64 threads
/// 2.9 s, 128 threads 2.3-2.5 s, 192 and 256 no faster.
pub const S3_JOBS: usize = 128;

/// The S3 location and settings of a command that reads only from S3 (`archive`,
/// `restore-plan`); `only_s3` says why a folder will not do.
pub fn s3_plan(
    source: &Path,
    only_s3: &str,
    range: &RangeArgs,
    jobs_given: Option<usize>,
    now: DateTime<Utc>,
) -> Result<(S3Location, Settings), ConfigError> {
    let location = parse_source(source)?.ok_or_else(|| ConfigError::Option {
        option: "SOURCE",
        why: format!(
            "'{}' is not s3://BUCKET[/PREFIX]: {only_s3}",
            source.display()
        ),
    })?;
    let Range {
        start,
        end,
        trail,
        shard,
    } = Range::from_args(range, now)?;
    let jobs = jobs(jobs_given, S3_JOBS)?;
    Ok((
        location,
        Settings {
            start,
            end,
            trail,
            jobs,
            shard,
            checkpoint: None,
            window: None,
        },
    ))
}

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
    /// `--trusted-fingerprints`: the pinned fingerprints and the file they came from.
    pub pins: Option<(Vec<String>, String)>,
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
        let variable = |name: &str| std::env::var(name).ok();
        let (range, window) = match args.window.as_deref() {
            Some(text) => {
                let (shard, index, count) =
                    parse_split(args.range.shard.as_deref(), text, variable)?;
                let range = RangeArgs {
                    shard,
                    ..args.range.clone()
                };
                (range, Some((index, count)))
            }
            None => (args.range.clone(), None),
        };
        let Range {
            start,
            end,
            trail,
            shard,
        } = Range::from_args(&range, now)?;
        let window = window
            .map(|(index, count)| window_of(index, count, start, end))
            .transpose()?;
        if window.is_some() && args.checkpoint.is_some() {
            return Err(ConfigError::Option {
                option: "--window",
                why: "--window and --checkpoint do not go together: a checkpoint already makes \
                      each run start where the last one proved, so validate the range whole \
                      with --checkpoint, or cut it with --window and join the windows with \
                      merge"
                    .to_owned(),
            });
        }
        let fail_on = parse_statuses(&args.output.fail_on)?;
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
        let pins = args
            .trusted_fingerprints
            .as_deref()
            .map(read_pins)
            .transpose()?;
        let keys_online = s3.is_some() && args.keys.is_none();
        let mut keys = if keys_online {
            KeyRing::new()
        } else {
            let local_source = s3.is_none().then_some(args.path.as_path());
            KeyRing::load_dir(&keys_dir(args.keys.as_deref(), local_source)?)?
        };
        if s3.is_none() {
            keys.note_source(&args.path);
        }
        if let Some((pinned, from)) = &pins {
            keys.pin(pinned.iter().cloned(), from);
        }
        Ok(Self {
            source: args.path.clone(),
            bucket: args.bucket.clone(),
            s3,
            aws: args.aws.options(),
            keys,
            keys_online,
            pins,
            settings: {
                let settings = Settings {
                    start,
                    end,
                    trail,
                    jobs,
                    shard,
                    checkpoint: None,
                    window: None,
                };
                match window {
                    Some(window) => settings.in_window(window),
                    None => settings,
                }
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
        Ok(Box::new(trailcheck_core::engine::open_local(
            &self.source,
            self.bucket.as_deref(),
        )?))
    }

    /// CloudTrail's ListPublicKeys, when the keys are to be fetched during the run, pinned
    /// as `--trusted-fingerprints` says.
    pub fn online_keys(&self) -> Result<Option<OnlineKeys>, ConfigError> {
        if !self.keys_online {
            return Ok(None);
        }
        let session = Arc::new(AwsSession::open(&self.aws)?);
        Ok(Some(OnlineKeys {
            source: CloudTrailKeys::new(session),
            pins: self.pins.clone(),
        }))
    }
}

/// Keys fetched from CloudTrail during the run, with the run's pins applied to them.
pub struct OnlineKeys {
    source: CloudTrailKeys,
    pins: Option<(Vec<String>, String)>,
}

impl KeySource for OnlineKeys {
    fn keys(&self, wanted: &[KeyRange]) -> Result<KeyRing, ConfigError> {
        let mut ring = self.source.keys(wanted)?;
        if let Some((pinned, from)) = &self.pins {
            ring.pin(pinned.iter().cloned(), from);
        }
        Ok(ring)
    }
}

/// Reads `--trusted-fingerprints FILE`.
fn read_pins(path: &Path) -> Result<(Vec<String>, String), ConfigError> {
    let error = |why: String| ConfigError::Option {
        option: "--trusted-fingerprints",
        why: format!("{}: {why}", path.display()),
    };
    let size = std::fs::metadata(path)
        .map_err(|e| error(e.to_string()))?
        .len();
    // A trailcheck JSON result lists every file, so it may be large; a pin list is not.
    if size > 1024 * 1024 * 1024 {
        return Err(error(format!("{size} bytes is too large")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let pins = keys::parse_pins(&text).map_err(error)?;
    Ok((pins, path.display().to_string()))
}

/// A run's time range and trail, checked: what `--start-time`, `--end-time` and
/// `--trail-arn` say, the one parser of them for every command.
pub struct Range {
    pub start: Option<DateTime<Utc>>,
    pub end: DateTime<Utc>,
    pub trail: Option<TrailSelector>,
    pub shard: Option<Shard>,
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
        let shard = args
            .shard
            .as_deref()
            .map(|s| parse_shard(s, |name| std::env::var(name).ok()))
            .transpose()?;
        Ok(Self {
            start,
            end,
            trail,
            shard,
        })
    }
}

/// The job-array index variables `--shard auto/N` reads, in order: Kubernetes Indexed Jobs,
/// then AWS Batch array jobs.
pub const SHARD_INDEX_VARIABLES: [&str; 2] = ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];
/// More shards than this is a typing error, not a plan.
const MAX_SHARDS: u32 = 100_000;

/// `--shard K/N` (K from 0 to N-1) or `auto/N`, K then from the scheduler's variable.
pub fn parse_shard(
    text: &str,
    variable: impl Fn(&str) -> Option<String>,
) -> Result<Shard, ConfigError> {
    let bad = |why: String| ConfigError::Option {
        option: "--shard",
        why,
    };
    let (index, count) = text
        .split_once('/')
        .ok_or_else(|| bad(format!("'{text}' is not K/N or auto/N")))?;
    let count: u32 = count
        .parse()
        .ok()
        .filter(|n| (1..=MAX_SHARDS).contains(n))
        .ok_or_else(|| {
            bad(format!(
                "'{count}' is not a shard count from 1 to {MAX_SHARDS}"
            ))
        })?;
    let (index, from) = if index == "auto" {
        let found = SHARD_INDEX_VARIABLES
            .iter()
            .find_map(|name| variable(name).map(|v| (v, *name)));
        let Some((value, name)) = found else {
            return Err(bad(format!(
                "auto needs {} (Kubernetes Indexed Job) or {} (AWS Batch array job) set",
                SHARD_INDEX_VARIABLES[0], SHARD_INDEX_VARIABLES[1]
            )));
        };
        (value.trim().to_owned(), format!(" ({name})"))
    } else {
        (index.to_owned(), String::new())
    };
    let index: u32 = index.parse().ok().filter(|k| *k < count).ok_or_else(|| {
        bad(format!(
            "shard index '{index}'{from} is not from 0 to {}",
            count - 1
        ))
    })?;
    Ok(Shard { index, count })
}

/// `--window I/M` or `auto/M` beside `--shard` as given: the shard text to parse as ever,
/// and the window's index and count. With both auto, the one job-array index `i` is shard
/// `i / M` and window `i % M`, so an array of `N * M` jobs covers every shard and window.
pub fn parse_split(
    shard: Option<&str>,
    window: &str,
    variable: impl Fn(&str) -> Option<String>,
) -> Result<(Option<String>, u32, u32), ConfigError> {
    let bad = |why: String| ConfigError::Option {
        option: "--window",
        why,
    };
    let (index, count) = window
        .split_once('/')
        .ok_or_else(|| bad(format!("'{window}' is not I/M or auto/M")))?;
    let max = trailcheck_core::window::MAX_WINDOWS;
    let count: u32 = count
        .parse()
        .ok()
        .filter(|m| (1..=max).contains(m))
        .ok_or_else(|| bad(format!("'{count}' is not a window count from 1 to {max}")))?;
    if index != "auto" {
        let index: u32 = index.parse().ok().filter(|i| *i < count).ok_or_else(|| {
            bad(format!(
                "window index '{index}' is not from 0 to {}",
                count - 1
            ))
        })?;
        return Ok((shard.map(str::to_owned), index, count));
    }
    let found = SHARD_INDEX_VARIABLES
        .iter()
        .find_map(|name| variable(name).map(|v| (v.trim().to_owned(), *name)));
    let Some((value, name)) = found else {
        return Err(bad(format!(
            "auto needs {} (Kubernetes Indexed Job) or {} (AWS Batch array job) set",
            SHARD_INDEX_VARIABLES[0], SHARD_INDEX_VARIABLES[1]
        )));
    };
    let shards = match shard.and_then(|s| s.strip_prefix("auto/")) {
        // Both auto: parse the shard count here, the index is shared.
        Some(n) => Some(
            n.parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_SHARDS).contains(n))
                .ok_or_else(|| ConfigError::Option {
                    option: "--shard",
                    why: format!("'{n}' is not a shard count from 1 to {MAX_SHARDS}"),
                })?,
        ),
        None => None,
    };
    let jobs = u64::from(count) * u64::from(shards.unwrap_or(1));
    let i: u64 = value.parse().ok().filter(|i| *i < jobs).ok_or_else(|| {
        bad(format!(
            "job index '{value}' ({name}) is not from 0 to {}{}",
            jobs - 1,
            match shards {
                Some(n) =>
                    format!(": --shard auto/{n} with --window auto/{count} takes {jobs} jobs"),
                None => String::new(),
            }
        ))
    })?;
    let window_index = u32::try_from(i % u64::from(count)).unwrap_or(0);
    let shard = match shards {
        Some(n) => Some(format!("{}/{n}", i / u64::from(count))),
        None => shard.map(str::to_owned),
    };
    Ok((shard, window_index, count))
}

/// Window `index` of `count` of the range: a start is needed, for every window's run to
/// cut the same range.
fn window_of(
    index: u32,
    count: u32,
    start: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
) -> Result<trailcheck_core::window::Window, ConfigError> {
    let bad = |why: String| ConfigError::Option {
        option: "--window",
        why,
    };
    let start = start.ok_or_else(|| {
        bad(
            "windows cut the range from --start-time to --end-time: give an absolute \
             --start-time (and --end-time), the same to every window's run"
                .to_owned(),
        )
    })?;
    trailcheck_core::window::Window::new(index, count, start, end).map_err(bad)
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

/// `--keys`, else `./keys` when it exists and lies outside the source (a local folder,
/// `source`). Keys are never taken implicitly from inside the source: whoever rewrote the
/// archive could have rewritten its keys too, and the archive would vouch for itself.
fn keys_dir(given: Option<&Path>, source: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = given {
        return Ok(dir.to_owned());
    }
    let default = PathBuf::from("keys");
    let inside = |dir: &Path| source.is_some_and(|s| lies_inside(dir, s));
    if default.is_dir() && !inside(&default) {
        return Ok(default);
    }
    let mut why = "no public keys: pass --keys DIR (a folder of `aws cloudtrail \
                   list-public-keys` JSON files, e.g. from `trailcheck keys fetch`), or keep \
                   them in ./keys outside the archive"
        .to_owned();
    if let Some(own) = source.map(|s| s.join("keys")).filter(|d| d.is_dir()) {
        why.push_str(&format!(
            ". {} lies inside the archive being judged and is not used unless named with \
             --keys: whoever could rewrite the archive could rewrite those keys too. Check them \
             with `trailcheck keys verify {}`",
            own.display(),
            own.display()
        ));
    } else if default.is_dir() {
        why.push_str(
            ". ./keys lies inside the archive being judged, so it is not used unless named",
        );
    }
    Err(ConfigError::Option {
        option: "--keys",
        why,
    })
}

/// Whether `path` lies inside `root`, both resolved through symlinks.
fn lies_inside(path: &Path, root: &Path) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(root)) {
        (Ok(path), Ok(root)) => path.starts_with(root),
        _ => false,
    }
}

/// An output file's folder must exist before the run, not be found missing after it.
pub fn check_output(option: &'static str, path: Option<&Path>) -> Result<(), ConfigError> {
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

/// What the renderers are asked for. Colour only when both streams are terminals (one
/// flag colours both) and `NO_COLOR` is unset or empty (no-color.org).
pub fn render_options(
    output: &OutputArgs,
    trail: Option<String>,
    fail_on: &[Status],
) -> trailcheck_report::Options {
    let terminals = io::stdout().is_terminal() && io::stderr().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    trailcheck_report::Options {
        verbose: output.verbose,
        quiet: output.quiet,
        color: terminals && !no_color,
        trail,
        fail_on: fail_on.to_vec(),
    }
}

/// `--fail-on`: status names, each checked.
pub fn parse_statuses(names: &[String]) -> Result<Vec<Status>, ConfigError> {
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
