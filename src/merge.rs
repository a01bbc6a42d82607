//! The `merge` subcommand: the shards' JSON results read back, checked to be the parts of
//! one run, joined, and written as `validate` writes a result.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::cli::MergeArgs;
use crate::config::{check_output, parse_statuses, render_options};
use crate::exit::Exit;
use crate::fatal;
use crate::validate::{Evidence, deliver};
use trailcheck_core::error::ConfigError;
use trailcheck_core::merge::{self, Part};
use trailcheck_report::RunInfo;
use trailcheck_report::result_file::{self, ResultFile};

/// The largest result file read: about four million files' verdicts. A larger one is refused
/// rather than read into memory whole.
const MAX_RESULT_BYTES: u64 = 2 << 30;

fn bad_file(path: &Path, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Option {
        option: "merge",
        why: format!("{}: {why}", path.display()),
    }
}

/// Reads and parses one shard's result.
fn read(path: &Path) -> Result<ResultFile, ConfigError> {
    let file = fs::File::open(path).map_err(|e| bad_file(path, format!("cannot read it: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_RESULT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad_file(path, format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_RESULT_BYTES {
        return Err(bad_file(
            path,
            format!("larger than {MAX_RESULT_BYTES} bytes; split the run into more shards"),
        ));
    }
    result_file::parse(&bytes).map_err(|why| bad_file(path, why))
}

/// Runs `trailcheck merge`.
pub fn run(args: &MergeArgs, command_line: Vec<String>) -> Exit {
    match merged(args) {
        Ok((report, trail)) => {
            let fail_on = match parse_statuses(&args.output.fail_on) {
                Ok(statuses) => statuses,
                Err(e) => return fatal(&e),
            };
            let options = render_options(&args.output, trail, &fail_on);
            let run = RunInfo {
                command_line,
                ran_at: chrono::Utc::now(),
                json: None,
            };
            let evidence = Evidence {
                report: args.report.as_deref(),
                report_json: args.report_json.as_deref(),
            };
            deliver(&report, &options, run, &evidence, args.output.format)
        }
        Err(e) => fatal(&e),
    }
}

fn merged(
    args: &MergeArgs,
) -> Result<(trailcheck_core::verdict::Report, Option<String>), ConfigError> {
    parse_statuses(&args.output.fail_on)?;
    check_output("--report", args.report.as_deref())?;
    check_output("--report-json", args.report_json.as_deref())?;
    let tool = result_file::tool();
    let mut parts = Vec::with_capacity(args.results.len());
    let mut trail: Option<(Option<String>, &Path)> = None;
    for path in &args.results {
        let result = read(path)?;
        if result.tool != tool {
            return Err(bad_file(
                path,
                format!(
                    "written by {}, not by this {tool}: merge with the version the shards ran",
                    result.tool
                ),
            ));
        }
        match &trail {
            Some((first, first_path)) if *first != result.trail => {
                return Err(bad_file(
                    path,
                    format!(
                        "validated trail {} and {} trail {}: merge only the shards of one run",
                        result.trail.as_deref().unwrap_or("(every trail)"),
                        first_path.display(),
                        first.as_deref().unwrap_or("(every trail)"),
                    ),
                ));
            }
            Some(_) => {}
            None => trail = Some((result.trail.clone(), path)),
        }
        parts.push(Part {
            file: path.display().to_string(),
            report: result.report,
        });
    }
    let trail = trail.and_then(|(t, _)| t);
    let selected = trail.is_some();
    Ok((merge::join_selected(parts, selected)?, trail))
}
