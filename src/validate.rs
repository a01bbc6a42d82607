//! The `validate` subcommand: settings from `config`, the engine's report, then each
//! renderer the options ask for (the chosen format on stdout, the evidence files beside).

use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;

use crate::checkpoint;
use crate::cli::{Format, ValidateArgs};
use crate::config::{ValidateConfig, render_options};
use crate::exit::Exit;
use crate::fatal;
use crate::progress::Bar;
use trailcheck_aws::s3::S3Store;
use trailcheck_aws::session::AwsSession;
use trailcheck_core::engine;
use trailcheck_core::error::{ConfigError, RunError};
use trailcheck_core::hash::{Hasher, Sha256};
use trailcheck_core::verdict::Report;
use trailcheck_report::spool::Spool;
use trailcheck_report::{self as report, JsonSeal, RunInfo};

fn versions_need_s3() -> ConfigError {
    ConfigError::Option {
        option: "--versions",
        why: "object versions are read from S3: give SOURCE as s3://BUCKET[/PREFIX]".to_owned(),
    }
}

/// `--versions`: the history of every file and the buckets' protection, from S3.
fn add_versions(config: &ValidateConfig, report: &mut Report) -> Result<(), ConfigError> {
    let Some(location) = &config.s3 else {
        return Err(versions_need_s3());
    };
    let session = Arc::new(AwsSession::open(&config.aws)?);
    let store = S3Store::new(session, location.clone());
    let pool = engine::worker_pool(config.settings.jobs).map_err(|e| ConfigError::Option {
        option: "--jobs",
        why: e.to_string(),
    })?;
    pool.install(|| crate::versions::annotate(&store, report));
    Ok(())
}

/// Runs `trailcheck validate`.
pub fn run(args: &ValidateArgs, command_line: Vec<String>) -> Exit {
    let now = chrono::Utc::now();
    let mut config = match ValidateConfig::from_args(args, now) {
        Ok(config) => config,
        Err(e) => return fatal(&e),
    };
    if args.versions && config.s3.is_none() {
        return fatal(&versions_need_s3());
    }
    let store = match config.open_store() {
        Ok(store) => store,
        Err(e) => return fatal(&e),
    };
    let started_from = match &args.checkpoint {
        Some(path) => {
            let local = config.s3.is_none().then_some(config.source.as_path());
            match checkpoint::check_outside(path, local)
                .and_then(|()| checkpoint::read(path, &store.describe(), &config.settings))
            {
                Ok(read) => read,
                Err(e) => return fatal(&e),
            }
        }
        None => None,
    };
    let old_checkpoint = started_from.as_ref().map(|(c, _)| c.clone());
    config.settings.checkpoint = old_checkpoint.clone().map(Arc::new);
    let online = match config.online_keys() {
        Ok(online) => online,
        Err(e) => return fatal(&e),
    };
    let keys = match &online {
        Some(source) => engine::Keys::Source(source),
        None => engine::Keys::Ring(&config.keys),
    };
    // The bar only for a person watching: never in a pipe, a log file, or a quiet run.
    let bar = (io::stderr().is_terminal() && !args.output.quiet).then(Bar::stderr);
    let progress: &dyn engine::progress::Progress = match &bar {
        Some(bar) => bar,
        None => &engine::progress::Silent,
    };
    // `--versions` annotates every file after the run, so it holds them; otherwise the
    // files go to a spool as each place is judged, and the renderers read them back.
    let validated = match args.versions {
        true => engine::validate_with(store.as_ref(), keys, &config.settings, progress),
        false => spooled(|spool| {
            engine::validate_streaming(store.as_ref(), keys, &config.settings, progress, spool)
        }),
    };
    drop(bar);
    let mut report = match validated {
        Ok(report) => report,
        Err(e) => return fatal(&e),
    };
    report
        .checkpoints
        .extend(started_from.map(|(_, used)| used));
    if args.versions
        && let Err(e) = add_versions(&config, &mut report)
    {
        return fatal(&e);
    }
    let options = render_options(&args.output, args.range.trail_arn.clone(), &config.fail_on);
    let run = RunInfo {
        command_line,
        ran_at: now,
        json: None,
    };
    let evidence = Evidence {
        report: args.report.as_deref(),
        report_json: args.report_json.as_deref(),
    };
    let exit = deliver(&report, &options, run, &evidence, args.output.format);
    if let Some(path) = &args.checkpoint
        && let Err(e) = checkpoint::write(path, old_checkpoint.as_ref(), &report)
    {
        return fatal(&e);
    }
    exit
}

/// Runs `validate` with a spool for its files; the report reads them back from it.
fn spooled(
    validate: impl FnOnce(&mut Spool) -> Result<Report, RunError>,
) -> Result<Report, RunError> {
    let output = |e: io::Error| RunError::Output { why: e.to_string() };
    let mut spool = Spool::new().map_err(output)?;
    let mut report = validate(&mut spool)?;
    report.kept = Some(spool.finish().map_err(output)?);
    crate::memory::release_freed();
    Ok(report)
}

/// The evidence files a command writes beside its output.
pub struct Evidence<'a> {
    pub report: Option<&'a Path>,
    pub report_json: Option<&'a Path>,
}

/// Writes the evidence files, then the chosen format on stdout; the exit code is the
/// report's outcome under `options.fail_on`. `validate` and `merge` end here alike.
pub fn deliver(
    report: &Report,
    options: &report::Options,
    run: RunInfo,
    evidence: &Evidence<'_>,
    format: Format,
) -> Exit {
    if let Err(e) = write_evidence(report, options, run, evidence) {
        return fatal(&e);
    }
    let written = match format {
        Format::Text => report::text(
            report,
            options,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Format::Json => report::json(report, options, &mut io::stdout().lock()),
        Format::Junit => report::junit(report, options, &mut io::stdout().lock()),
    };
    if let Some(e) = written
        .as_ref()
        .err()
        .filter(|e| e.kind() != io::ErrorKind::BrokenPipe)
    {
        return fatal(e);
    }
    Exit::from(report.outcome(&options.fail_on))
}

// ---------------------------------------------------------------- evidence files

/// Writes `--report-json`, then `--report` showing the JSON file's SHA-256: the JSON is
/// hashed exactly as written, so the pair can be sealed together in a case file.
fn write_evidence(
    report: &Report,
    options: &report::Options,
    mut run: RunInfo,
    evidence: &Evidence<'_>,
) -> Result<(), ConfigError> {
    if let Some(path) = evidence.report_json {
        let write = |path: &Path| -> io::Result<Sha256> {
            let mut out = Hashing::new(io::BufWriter::new(fs::File::create(path)?));
            report::json(report, options, &mut out)?;
            out.finish()
        };
        let sha256 = write(path).map_err(|e| cannot_write("--report-json", path, &e))?;
        run.json = Some(JsonSeal {
            path: path.display().to_string(),
            sha256,
        });
    }
    if let Some(path) = evidence.report {
        let write = |path: &Path| -> io::Result<()> {
            let mut out = io::BufWriter::new(fs::File::create(path)?);
            report::html(report, options, &run, &mut out)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()
        };
        write(path).map_err(|e| cannot_write("--report", path, &e))?;
    }
    Ok(())
}

/// A writer that hashes what passes through it, so a file is sealed exactly as written
/// without being held.
struct Hashing<W: Write> {
    inner: W,
    hasher: Hasher,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Hasher::new(),
        }
    }

    fn finish(mut self) -> io::Result<Sha256> {
        self.inner.flush()?;
        Ok(self.hasher.finish())
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn cannot_write(option: &'static str, path: &Path, e: &io::Error) -> ConfigError {
    ConfigError::Option {
        option,
        why: format!(
            "cannot write {}: {e}. Choose a path in a folder that exists and is writable.",
            path.display()
        ),
    }
}
