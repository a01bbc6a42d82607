//! Renderers: each output format writes a finished [`Report`] to any writer; none verifies.
//!
//! The engine decides every status; a renderer only chooses words, order and escaping, so
//! two formats can never disagree about a file.

mod html;
mod json;
mod junit;
pub mod lake;
pub mod result_file;
pub mod sanitize;
pub mod spool;
mod text;

pub use html::{Findings, JsonSeal, RunInfo, escape as escape_html};

use std::io::{self, Write};

use trailcheck_core::verdict::{DEFAULT_FAIL_ON, Report, Status};

/// What the command line asked of the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Also print intact and pending files (the AWS CLI's `--verbose`).
    pub verbose: bool,
    /// Print only the verdict line.
    pub quiet: bool,
    /// Colour the status words; the caller decides (terminal, `NO_COLOR`, `--color`).
    pub color: bool,
    /// The trail ARN named on the command line, or `None` when every trail was checked.
    pub trail: Option<String>,
    /// The statuses that make the run fail, as passed to [`Report::outcome`].
    pub fail_on: Vec<Status>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            verbose: false,
            quiet: false,
            color: false,
            trail: None,
            fail_on: DEFAULT_FAIL_ON.to_vec(),
        }
    }
}

/// The AWS CLI's `validate-logs` text, then a verdict line.
///
/// Like the CLI, intact (and pending) files go to `out` only when verbose, and failing files,
/// gaps and chain breaks always go to `err`, so a script reading stderr sees only problems.
pub fn text(
    report: &Report,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    text::render(report, opts, out, err)
}

/// One file as the JSON output's `files[]` lists it: the same fields, the same words.
pub fn json_file(file: &trailcheck_core::verdict::FileVerdict) -> serde_json::Value {
    json::file_value(file)
}

/// What a file's verdict says in words: its cause, then (with `--versions`) its history.
pub(crate) fn detail(file: &trailcheck_core::verdict::FileVerdict) -> String {
    let history = file.history.as_deref().map(|h| h.describe());
    match history {
        Some(history) if !history.is_empty() => format!("{}; {history}", file.cause),
        _ => file.cause.to_string(),
    }
}

/// A bucket's versioning and Object Lock settings, as the JSON result's `buckets[]` has them.
pub fn bucket_json(bucket: &trailcheck_core::verdict::BucketProtection) -> serde_json::Value {
    serde_json::to_value(json::BucketJson::new(bucket)).unwrap_or(serde_json::Value::Null)
}

/// What S3 keeps under a key, as the JSON result's `files[].versions` has it.
pub fn history_json(history: &trailcheck_core::verdict::History) -> serde_json::Value {
    serde_json::to_value(json::VersionsJson::new(history)).unwrap_or(serde_json::Value::Null)
}

/// One compact JSON object listing every file, gap and key; the schema is in the README.
pub fn json(report: &Report, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    json::render(report, opts, out)
}

/// JUnit XML for CI: one test case per digest hour, failures for `fail_on`, errors for
/// unverifiable files.
pub fn junit(report: &Report, opts: &Options, out: &mut dyn Write) -> io::Result<()> {
    junit::render(report, opts, out)
}

/// The evidence report: one self-contained HTML file; `run` says how and when it was made.
pub fn html(report: &Report, opts: &Options, run: &RunInfo, out: &mut dyn Write) -> io::Result<()> {
    html::render(report, opts, run, out)
}

/// [`html`] with a "Findings from proven events" section: `triage`'s detections and their
/// hits, and the hours the evidence could not prove.
pub fn html_with_findings(
    report: &Report,
    opts: &Options,
    run: &RunInfo,
    events: &[Findings],
    out: &mut dyn Write,
) -> io::Result<()> {
    html::render_with(report, opts, run, Some(events), out)
}
