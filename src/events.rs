//! The `events` subcommand: SQL over proven events. One pass validates the source exactly as
//! `validate` does and feeds the records of every intact log (every log read, with
//! `--include-unproven`) to the query; the answer then says what it covers: per account and
//! region the proven and unproven periods, and every log whose records are not in the rows.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::cli::{EventSourceArgs, EventsArgs, EventsFormat, Format, OutputArgs, ValidateArgs};
use crate::config::ValidateConfig;
use crate::exit::Exit;
use crate::fatal;
use trailcheck_core::engine::{self, Keys, LogSink as EngineSink, ReadLog, progress::Silent};
use trailcheck_core::error::ConfigError;
use trailcheck_core::periods::{self, Coverage, Period};
use trailcheck_core::time;
use trailcheck_core::verdict::{DEFAULT_FAIL_ON, FileKind, FileVerdict, Outcome, Report, Status};
use trailcheck_query::{
    EventSink, EventsQuery, LogError, LogSink as QuerySink, OutputFormat, Provenance, QueryError,
    QueryOptions,
};

/// The query when none is given: every proven event.
pub const DEFAULT_QUERY: &str = "SELECT * FROM events";
/// Query text longer than this is refused: a question, not a program.
const MAX_QUERY: u64 = 1024 * 1024;

/// Runs `trailcheck events`.
pub fn run(args: &EventsArgs) -> Exit {
    match answer(args) {
        Ok(exit) => exit,
        Err(e) => fatal(&e),
    }
}

/// An error that ends `events` with exit code 2, in one line.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Run(#[from] trailcheck_core::error::RunError),
    #[error("--sql: {0}. The table is `events`, with AWS's Athena CloudTrail columns.")]
    Query(QueryError),
    #[error("{option} {path}: {why}")]
    File {
        option: &'static str,
        path: PathBuf,
        why: String,
    },
}

fn file_error<'a>(
    option: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> EventsError + 'a {
    move |e| EventsError::File {
        option,
        path: path.to_owned(),
        why: e.to_string(),
    }
}

fn answer(args: &EventsArgs) -> Result<Exit, EventsError> {
    if args.athena_ddl {
        let location = args
            .out
            .as_ref()
            .map_or("s3://BUCKET/PREFIX/".to_owned(), |p| {
                p.display().to_string()
            });
        print!("{}", crate::athena::ddl(&location));
        return Ok(Exit::Intact);
    }
    let sql = query_text(args)?;
    let format = args.format.unwrap_or(if io::stdout().is_terminal() {
        EventsFormat::Table
    } else {
        EventsFormat::Jsonl
    });
    if format == EventsFormat::Parquet && args.out.is_none() {
        return Err(ConfigError::Option {
            option: "--out",
            why: "parquet output needs --out DIR: a folder partitioned as \
                  account=/region=/date="
                .to_owned(),
        }
        .into());
    }
    let config = source_config(&args.source)?;
    let options = QueryOptions::default();
    let runtime =
        trailcheck_query::runtime(options.target_partitions).map_err(EventsError::Query)?;
    let (query, sink) = runtime
        .block_on(EventsQuery::prepare(&sql, &options))
        .map_err(EventsError::Query)?;
    let columns: Vec<String> = query
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();

    let mut out = Output::open(args, format)?;
    if format == EventsFormat::Json {
        let head = json!({"version": 1, "query": sql, "columns": columns});
        let head = head.to_string();
        // Everything of the head object but its closing brace; the rows stream after it.
        let open = head.strip_suffix('}').unwrap_or(&head);
        write!(out, "{open},\"rows\":").map_err(file_error("--out", out.path()))?;
    }
    let feeder = Feeder::new(sink, args.include_unproven);
    let (rows, validated) = std::thread::scope(|scope| {
        let validation = scope.spawn(|| {
            let validated = validate(&config, &feeder);
            feeder.finish();
            validated
        });
        let rows = match format {
            EventsFormat::Parquet => {
                runtime.block_on(crate::athena::write_partitioned(query, out.path()))
            }
            _ => runtime.block_on(query.write(query_format(format), &mut out)),
        };
        // A query that failed (or stopped reading) closes the sink; the validation ends.
        (rows, validation.join())
    });
    let report = match validated {
        Ok(report) => report?,
        Err(_) => {
            return Err(EventsError::Query(QueryError::Producer(
                "the validation thread stopped".to_owned(),
            )));
        }
    };
    let rows = rows.map_err(EventsError::Query)?;
    let unreadable = feeder.into_unreadable();
    let answer = Answer::new(&report, unreadable, args.include_unproven);

    match format {
        EventsFormat::Json => {
            let tail = answer.json();
            let tail = tail.to_string();
            let rest = tail.strip_prefix('{').unwrap_or(&tail);
            writeln!(out, ",{rest}").map_err(file_error("--out", out.path()))?;
        }
        EventsFormat::Table => answer.write_periods(&mut io::stderr().lock(), args.source.quiet),
        _ => match &args.coverage {
            Some(path) => {
                let bytes = answer.json().to_string() + "\n";
                fs::write(path, bytes).map_err(file_error("--coverage", path))?;
            }
            None => answer.write_periods(&mut io::stderr().lock(), args.source.quiet),
        },
    }
    out.flush().map_err(file_error("--out", out.path()))?;
    if format == EventsFormat::Table && !args.source.quiet {
        let _ = writeln!(io::stderr(), "{rows} rows.");
    }
    Ok(Exit::from(answer.outcome))
}

fn query_text(args: &EventsArgs) -> Result<String, EventsError> {
    let sql = match (&args.sql, &args.sql_file) {
        (Some(sql), _) => sql.clone(),
        (None, Some(path)) => {
            let file = File::open(path).map_err(file_error("--sql-file", path))?;
            let mut text = String::new();
            file.take(MAX_QUERY + 1)
                .read_to_string(&mut text)
                .map_err(file_error("--sql-file", path))?;
            if text.len() as u64 > MAX_QUERY {
                return Err(EventsError::File {
                    option: "--sql-file",
                    path: path.clone(),
                    why: format!("longer than {MAX_QUERY} bytes"),
                });
            }
            text
        }
        (None, None) => DEFAULT_QUERY.to_owned(),
    };
    if sql.len() as u64 > MAX_QUERY {
        return Err(ConfigError::Option {
            option: "--sql",
            why: format!("longer than {MAX_QUERY} bytes"),
        }
        .into());
    }
    Ok(sql)
}

/// The settings `validate` would take from the same options.
pub fn source_config(source: &EventSourceArgs) -> Result<ValidateConfig, ConfigError> {
    let Some(path) = &source.path else {
        return Err(ConfigError::Option {
            option: "SOURCE",
            why: "name the archive: s3://BUCKET[/PREFIX] or a folder".to_owned(),
        });
    };
    let args = ValidateArgs {
        path: path.clone(),
        keys: source.keys.clone(),
        trusted_fingerprints: source.trusted_fingerprints.clone(),
        range: source.range.clone(),
        bucket: source.bucket.clone(),
        output: OutputArgs {
            format: Format::Text,
            verbose: false,
            quiet: source.quiet,
            fail_on: DEFAULT_FAIL_ON
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        },
        jobs: source.jobs,
        report: None,
        report_json: None,
        checkpoint: None,
        window: None,
        versions: false,
        aws: source.aws.clone(),
    };
    ValidateConfig::from_args(&args, chrono::Utc::now())
}

/// Validates the configured source, handing each log read to `sink`.
pub fn validate(
    config: &ValidateConfig,
    sink: &dyn EngineSink,
) -> Result<Report, trailcheck_core::error::RunError> {
    let store = config.open_store()?;
    let online = config.online_keys()?;
    let keys = match &online {
        Some(source) => Keys::Source(source),
        None => Keys::Ring(&config.keys),
    };
    engine::validate_reading(store.as_ref(), keys, &config.settings, &Silent, sink)
}

fn query_format(format: EventsFormat) -> OutputFormat {
    match format {
        EventsFormat::Table => OutputFormat::Table,
        EventsFormat::Json => OutputFormat::Json,
        EventsFormat::Jsonl => OutputFormat::Jsonl,
        EventsFormat::Csv => OutputFormat::Csv,
        EventsFormat::Parquet => OutputFormat::Parquet,
    }
}

/// Where the rows go: `--out FILE`, else stdout (for parquet, `--out` names a folder).
struct Output {
    path: PathBuf,
    writer: Box<dyn Write + Send>,
}

impl Output {
    fn open(args: &EventsArgs, format: EventsFormat) -> Result<Self, EventsError> {
        match (&args.out, format) {
            (Some(dir), EventsFormat::Parquet) => {
                fs::create_dir_all(dir).map_err(file_error("--out", dir))?;
                Ok(Self {
                    path: dir.clone(),
                    writer: Box::new(io::sink()),
                })
            }
            (Some(path), _) => {
                let file = File::create(path).map_err(file_error("--out", path))?;
                Ok(Self {
                    path: path.clone(),
                    writer: Box::new(BufWriter::new(file)),
                })
            }
            (None, _) => Ok(Self {
                path: PathBuf::from("standard output"),
                writer: Box::new(BufWriter::new(io::stdout())),
            }),
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Between the engine and the query: turns each log read into rows, when its status lets it.
pub struct Feeder {
    sink: Mutex<Option<EventSink>>,
    include_unproven: bool,
    closed: AtomicBool,
    /// Logs whose records could not be read, with why: excluded from the rows.
    unreadable: Mutex<Vec<(String, String, String)>>,
}

impl Feeder {
    pub fn new(sink: EventSink, include_unproven: bool) -> Self {
        Self {
            sink: Mutex::new(Some(sink)),
            include_unproven,
            closed: AtomicBool::new(false),
            unreadable: Mutex::new(Vec::new()),
        }
    }

    /// Ends the query's input: once every sink clone is gone, the table is exhausted.
    pub fn finish(&self) {
        if let Ok(mut sink) = self.sink.lock() {
            sink.take();
        }
    }

    /// (bucket, key, why) of every log whose records could not be read.
    pub fn into_unreadable(self) -> Vec<(String, String, String)> {
        self.unreadable.into_inner().unwrap_or_default()
    }

    fn takes(&self, verdict: &FileVerdict) -> bool {
        verdict.kind == FileKind::Log && (verdict.status == Status::Intact || self.include_unproven)
    }
}

impl EngineSink for Feeder {
    fn log(&self, log: ReadLog<'_>) {
        let verdict = log.verdict;
        if !self.takes(verdict) || self.closed.load(Ordering::Relaxed) {
            return;
        }
        let Some(content) = log.content else {
            if verdict.status != Status::Deleted {
                self.unread(verdict, "its content could not be read as one gzip member");
            }
            return;
        };
        // A clone per call: the lock is held only to copy an Arc, not while the query reads.
        let sink = match self.sink.lock() {
            Ok(sink) => sink.clone(),
            Err(_) => None,
        };
        let Some(sink) = sink else { return };
        let sha256 = verdict
            .actual_sha256
            .map(|h| h.to_hex())
            .unwrap_or_default();
        let provenance = Provenance {
            log_key: &verdict.key,
            log_bucket: &verdict.bucket,
            log_sha256: &sha256,
            digest_key: verdict.listed_by.as_deref(),
            key_fingerprint: log.signed_by,
            status: verdict.status.as_str(),
            account: verdict.account.as_deref().unwrap_or(""),
            region: verdict.region.as_deref().unwrap_or(""),
        };
        match sink.log(&provenance, content) {
            Ok(_) => {}
            Err(LogError::Malformed { reason, .. }) => self.unread(verdict, &reason),
            Err(LogError::Closed | LogError::AsyncContext) => {
                self.closed.store(true, Ordering::Relaxed);
            }
        }
    }
}

impl Feeder {
    fn unread(&self, verdict: &FileVerdict, why: &str) {
        if let Ok(mut unreadable) = self.unreadable.lock() {
            unreadable.push((verdict.bucket.clone(), verdict.key.clone(), why.to_owned()));
        }
    }
}

/// What an answer covers: the run's outcome, its periods, and the logs left out of the rows.
pub struct Answer {
    pub outcome: Outcome,
    pub coverage: Vec<Coverage>,
    /// Every log whose records are not in the rows, as `validate --format json` lists it.
    pub excluded: Vec<Value>,
}

impl Answer {
    pub fn new(
        report: &Report,
        unreadable: Vec<(String, String, String)>,
        include_unproven: bool,
    ) -> Self {
        let mut excluded: Vec<Value> = report
            .files
            .iter()
            .filter(|f| f.kind == FileKind::Log)
            .filter(|f| match f.status {
                Status::Intact => false,
                Status::Deleted => true,
                _ => !include_unproven,
            })
            .map(trailcheck_report::json_file)
            .collect();
        for (bucket, key, why) in unreadable {
            let found = report
                .files
                .iter()
                .find(|f| f.bucket == bucket && f.key == key);
            let mut entry = found.map_or_else(
                || json!({"kind": "log", "bucket": bucket, "key": key}),
                trailcheck_report::json_file,
            );
            if let Some(object) = entry.as_object_mut() {
                object.insert("records".to_owned(), json!(format!("unreadable: {why}")));
            }
            excluded.push(entry);
        }
        // An intact log whose records cannot be read leaves the answer incomplete.
        let outcome = match report.outcome(&DEFAULT_FAIL_ON) {
            Outcome::Intact if excluded.iter().any(|e| e.get("records").is_some()) => {
                Outcome::Incomplete
            }
            outcome => outcome,
        };
        Self {
            outcome,
            coverage: periods::coverage(report),
            excluded,
        }
    }

    /// The part of `--format json` that follows the rows.
    pub fn json(&self) -> Value {
        json!({
            "coverage": self.coverage.iter().map(coverage_json).collect::<Vec<_>>(),
            "excluded": self.excluded,
            "outcome": outcome_name(self.outcome),
        })
    }

    /// One line per unproven period, then the verdict, for a person reading stderr.
    pub fn write_periods(&self, err: &mut dyn Write, quiet: bool) {
        if !quiet {
            for place in &self.coverage {
                for period in &place.unproven {
                    let _ = writeln!(
                        err,
                        "UNPROVEN: {} {} {}: {}",
                        place.account,
                        place.region,
                        span(period),
                        trailcheck_report::sanitize::terminal(&period.why.join("; "))
                    );
                }
            }
        }
        let verdict = match self.outcome {
            Outcome::Intact => "COMPLETE (every log in range proven intact)".to_owned(),
            Outcome::Tampered => format!(
                "INCOMPLETE: TAMPERING FOUND ({} logs left out; the answer may lack what was removed)",
                self.excluded.len()
            ),
            Outcome::Incomplete => format!(
                "INCOMPLETE ({} logs could not be proven and are left out)",
                self.excluded.len()
            ),
        };
        let _ = writeln!(err, "Answer: {verdict}");
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Intact => "complete",
        Outcome::Tampered => "tampered",
        Outcome::Incomplete => "incomplete",
    }
}

fn span(period: &Period) -> String {
    format!(
        "{}..{}",
        time::display(period.from),
        time::display(period.to)
    )
}

fn period_json(period: &Period) -> Value {
    json!({
        "from": time::display(period.from),
        "to": time::display(period.to),
        "why": period.why,
    })
}

fn coverage_json(place: &Coverage) -> Value {
    json!({
        "account": place.account,
        "region": place.region,
        "proven": place.proven.iter().map(period_json).collect::<Vec<_>>(),
        "unproven": place.unproven.iter().map(period_json).collect::<Vec<_>>(),
    })
}
