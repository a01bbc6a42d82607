//! The command line as clap sees it: flags and their help, checked without any I/O.
//! `config` turns these into typed settings; `run` wires settings, engine and renderers.

use std::ffi::OsString;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::archive;
use crate::config::ValidateConfig;
use crate::exit::Exit;
use crate::keys;
use crate::progress::Bar;
use crate::simulate;
use trailcheck_aws::session::AwsOptions;
use trailcheck_core::engine;
use trailcheck_core::error::ConfigError;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::Report;
use trailcheck_report::{self as report, JsonSeal, RunInfo};

#[derive(Parser, Debug)]
#[command(
    name = "trailcheck",
    version,
    about = "Proves whether AWS CloudTrail log files and digest files were tampered with.",
    after_help = "Exit codes: 0 all intact; 1 tampering found; 2 usage or configuration error; \
                  3 nothing tampered but something unverifiable."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Validate the digest chains and log files of a CloudTrail archive.
    #[command(after_help = "Examples:\n  \
        trailcheck validate testdata/sample --keys keys\n  \
        trailcheck validate ./archive --start-time 2026-11-01 --end-time -1d --format json\n  \
        trailcheck validate ./archive --trail-arn arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail --verbose\n  \
        trailcheck validate ./archive --start-time -7d --report case-42.html --report-json case-42.json\n  \
        trailcheck validate ./archive --format junit --fail-on modified,deleted > trailcheck.xml\n  \
        trailcheck validate s3://aws-cloudtrail-logs-111122223333-5c9a1e07 --start-time -7d --profile audit")]
    Validate(ValidateArgs),
    /// Copy a trail's digests, logs and public keys from S3 into a folder `validate` reads
    /// offline; run it again to resume.
    #[command(after_help = "Example:\n  \
        trailcheck archive s3://aws-cloudtrail-logs-111122223333-5c9a1e07 ./evidence --start-time 2026-11-01 --end-time 2026-11-08\n  \
        trailcheck validate ./evidence")]
    Archive(archive::ArchiveArgs),
    /// CloudTrail's public keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Write a signed synthetic trail (for tests and drills), optionally tampered.
    #[command(after_help = "Example:\n  \
        trailcheck simulate /tmp/drill --key crates/trailcheck-sim/signing-keys/key-a.pem --keys-out /tmp/drill-keys \
        --hours 6 --regions us-east-1,eu-west-1 --tamper modify-log --tamper delete-digest")]
    Simulate(simulate::SimulateArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        trailcheck completions bash > ~/.local/share/bash-completion/completions/trailcheck\n  \
        trailcheck completions zsh > ~/.zfunc/_trailcheck\n  \
        trailcheck completions fish > ~/.config/fish/completions/trailcheck.fish")]
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// The archive: s3://BUCKET[/PREFIX], a folder mirroring a bucket (as `aws s3 sync`
    /// leaves it), or one folder per bucket.
    #[arg(value_name = "SOURCE")]
    pub path: PathBuf,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Default: for an S3 source, CloudTrail's ListPublicKeys; otherwise ./keys, when it
    /// exists and lies outside SOURCE. Keys inside SOURCE are used only when named here,
    /// and every output then says the evidence vouched for itself.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
    /// Only keys with these fingerprints may verify digests: one fingerprint a line, or a
    /// trailcheck JSON result whose `keys` are reused. A digest signed by any other key is
    /// unverifiable (untrusted-key).
    #[arg(long, value_name = "FILE")]
    pub trusted_fingerprints: Option<PathBuf>,
    /// Validate digests delivered from this time (RFC 3339, a date, or -7d). Default: the
    /// oldest digest present.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start_time: Option<String>,
    /// Validate digests delivered up to this time. Default: now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end_time: Option<String>,
    /// Validate only this trail (arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME).
    #[arg(long, value_name = "ARN")]
    pub trail_arn: Option<String>,
    /// The bucket a one-bucket mirror holds. Default: read from the digests.
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list every valid file (text format).
    #[arg(long)]
    pub verbose: bool,
    /// Print only the verdict line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Statuses that fail the run (exit 1): any of intact, pending, unverifiable,
    /// unreferenced, moved, deleted, modified.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "STATUS,...",
        default_value = "modified,deleted,moved,unreferenced"
    )]
    pub fail_on: Vec<String>,
    /// Worker threads (default: one per core; 128 for an S3 source, whose threads mostly
    /// wait for the network).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Also write the evidence report: one self-contained HTML file to attach to a case.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Also write the full JSON result; the HTML report shows its SHA-256.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// The AWS options, as the AWS CLI has them. Credentials come from the standard chain:
/// environment, profiles, SSO, instance and container roles.
#[derive(Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// The region of every bucket (default: asked with GetBucketLocation), and of CloudTrail.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// A profile of the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The S3 endpoint, for an S3-compatible server (AWS_ENDPOINT_URL_S3 works too; CloudTrail
    /// takes AWS_ENDPOINT_URL_CLOUDTRAIL).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The AWS CLI's validate-logs lines, then a verdict line.
    Text,
    /// One JSON object listing every file, gap and key.
    Json,
    /// JUnit XML for CI test reporters: one test case per digest hour.
    Junit,
}

/// Parses `args`, runs the command, prints a fatal error once, and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Exit {
    let args: Vec<OsString> = args.into_iter().collect();
    let command_line: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Intact
            };
        }
    };
    match cli.command {
        Command::Validate(args) => validate(&args, command_line),
        Command::Simulate(args) => match simulate::run(&args) {
            Ok(()) => Exit::Intact,
            Err(e) => fatal(&e),
        },
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "trailcheck", &mut io::stdout());
            Exit::Intact
        }
        Command::Archive(args) => archive::run(&args).unwrap_or_else(|e| fatal(&e)),
        Command::Keys(command) => keys::run(&command).unwrap_or_else(|e| fatal(&e)),
    }
}

/// Prints a fatal error once, with its causes, and returns the usage exit code.
pub fn fatal(error: &dyn std::error::Error) -> Exit {
    let mut message = format!("trailcheck: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let _ = writeln!(io::stderr(), "{message}");
    Exit::Usage
}

fn validate(args: &ValidateArgs, command_line: Vec<String>) -> Exit {
    let now = chrono::Utc::now();
    let config = match ValidateConfig::from_args(args, now) {
        Ok(config) => config,
        Err(e) => return fatal(&e),
    };
    let store = match config.open_store() {
        Ok(store) => store,
        Err(e) => return fatal(&e),
    };
    let online = match config.online_keys() {
        Ok(online) => online,
        Err(e) => return fatal(&e),
    };
    let keys = match &online {
        Some(source) => engine::Keys::Source(source),
        None => engine::Keys::Ring(&config.keys),
    };
    // The bar only for a person watching: never in a pipe, a log file, or a quiet run.
    let bar = (io::stderr().is_terminal() && !args.quiet).then(Bar::stderr);
    let validated = match &bar {
        Some(bar) => engine::validate_with(store.as_ref(), keys, &config.settings, bar),
        None => engine::validate_with(
            store.as_ref(),
            keys,
            &config.settings,
            &engine::progress::Silent,
        ),
    };
    drop(bar);
    let report = match validated {
        Ok(report) => report,
        Err(e) => return fatal(&e),
    };
    let options = report::Options {
        verbose: args.verbose,
        quiet: args.quiet,
        // One flag colours both streams, so both must be terminals.
        color: io::stdout().is_terminal() && io::stderr().is_terminal() && !no_color(),
        trail: args.trail_arn.clone(),
        fail_on: config.fail_on.clone(),
    };
    let run = RunInfo {
        command_line,
        ran_at: now,
        json: None,
    };
    if let Err(e) = write_evidence(&report, &options, run, args) {
        return fatal(&e);
    }
    let written = match args.format {
        Format::Text => report::text(
            &report,
            &options,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Format::Json => report::json(&report, &options, &mut io::stdout().lock()),
        Format::Junit => report::junit(&report, &options, &mut io::stdout().lock()),
    };
    if let Some(e) = written
        .as_ref()
        .err()
        .filter(|e| e.kind() != io::ErrorKind::BrokenPipe)
    {
        return fatal(e);
    }
    Exit::from(report.outcome(&config.fail_on))
}

/// `NO_COLOR` set to anything but the empty string turns colour off (no-color.org).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

// ---------------------------------------------------------------- evidence files

/// Writes `--report-json`, then `--report` showing the JSON file's SHA-256: the JSON is
/// hashed exactly as written, so the pair can be sealed together in a case file.
fn write_evidence(
    report: &Report,
    options: &report::Options,
    mut run: RunInfo,
    args: &ValidateArgs,
) -> Result<(), ConfigError> {
    if let Some(path) = &args.report_json {
        let mut bytes = Vec::new();
        report::json(report, options, &mut bytes)
            .map_err(|e| cannot_write("--report-json", path, &e))?;
        fs::write(path, &bytes).map_err(|e| cannot_write("--report-json", path, &e))?;
        run.json = Some(JsonSeal {
            path: path.display().to_string(),
            sha256: Sha256::of(&bytes),
        });
    }
    if let Some(path) = &args.report {
        let mut html = Vec::new();
        report::html(report, options, &run, &mut html)
            .map_err(|e| cannot_write("--report", path, &e))?;
        fs::write(path, html).map_err(|e| cannot_write("--report", path, &e))?;
    }
    Ok(())
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
