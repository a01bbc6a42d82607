//! Typed, checked settings for a run, built from the command line without judging anything.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::cli::ValidateArgs;
use crate::engine::{Settings, TrailSelector};
use crate::error::ConfigError;
use crate::keys::KeyRing;
use crate::store::Store;
use crate::store::local::LocalStore;
use crate::time;
use crate::verdict::Status;

/// More worker threads than this only costs memory: work is bounded by cores and I/O.
pub const MAX_JOBS: usize = 1024;

/// Everything `validate` needs, checked.
pub struct ValidateConfig {
    pub source: PathBuf,
    pub bucket: Option<String>,
    pub keys: KeyRing,
    pub settings: Settings,
    pub fail_on: Vec<Status>,
}

impl ValidateConfig {
    /// Checks the arguments and loads the key files; `now` is the default end time.
    pub fn from_args(args: &ValidateArgs, now: DateTime<Utc>) -> Result<Self, ConfigError> {
        let start = args
            .start_time
            .as_deref()
            .map(|t| time::parse_user(t, now))
            .transpose()
            .map_err(|why| ConfigError::Option {
                option: "--start-time",
                why,
            })?;
        let end = match args.end_time.as_deref() {
            Some(t) => time::parse_user(t, now).map_err(|why| ConfigError::Option {
                option: "--end-time",
                why,
            })?,
            None => now,
        };
        if start.is_some_and(|s| s > end) {
            return Err(ConfigError::Option {
                option: "--start-time",
                why: "the start time is after the end time".to_owned(),
            });
        }
        let trail = args
            .trail_arn
            .as_deref()
            .map(TrailSelector::from_arn)
            .transpose()
            .map_err(|why| ConfigError::Option {
                option: "--trail-arn",
                why,
            })?;
        let fail_on = parse_statuses(&args.fail_on)?;
        let jobs = match args.jobs {
            None => 0,
            Some(n @ 1..=MAX_JOBS) => n,
            Some(n) => {
                return Err(ConfigError::Option {
                    option: "--jobs",
                    why: format!("{n} threads: use 1 to {MAX_JOBS}"),
                });
            }
        };
        if !args.path.exists() {
            return Err(ConfigError::SourceUnreadable {
                path: args.path.clone(),
                why: "no such file or folder".to_owned(),
            });
        }
        check_output("--report", args.report.as_deref())?;
        check_output("--report-json", args.report_json.as_deref())?;
        let keys = KeyRing::load_dir(&keys_dir(args.keys.as_deref())?)?;
        Ok(Self {
            source: args.path.clone(),
            bucket: args.bucket.clone(),
            keys,
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
        Ok(Box::new(LocalStore::open(
            &self.source,
            self.bucket.as_deref(),
        )?))
    }
}

fn keys_dir(given: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = given {
        return Ok(dir.to_owned());
    }
    let default = PathBuf::from("keys");
    if default.is_dir() {
        Ok(default)
    } else {
        Err(ConfigError::Option {
            option: "--keys",
            why: "no public keys: pass --keys DIR (a folder of `aws cloudtrail \
                  list-public-keys` JSON files), or run where ./keys holds them"
                .to_owned(),
        })
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
