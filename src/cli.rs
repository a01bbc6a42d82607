//! The command line as clap sees it: flags and their help, checked without any I/O.
//! `config` turns these into typed settings; `run` wires settings, engine and renderers.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::archive;
use crate::aws::AwsOptions;
use crate::cloudtrail;
use crate::config::ValidateConfig;
use crate::engine;
use crate::exit::Exit;
use crate::report;
use crate::simulate;

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
    Keys(cloudtrail::KeysCommand),
    /// Write a signed synthetic trail (for tests and drills), optionally tampered.
    #[command(after_help = "Example:\n  \
        trailcheck simulate /tmp/drill --key testdata/signing-keys/key-a.pem --keys-out /tmp/drill-keys \
        --hours 6 --regions us-east-1,eu-west-1 --tamper modify-log --tamper delete-digest")]
    Simulate(simulate::SimulateArgs),
}

#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    /// The archive: s3://BUCKET[/PREFIX], a folder mirroring a bucket (as `aws s3 sync`
    /// leaves it), or one folder per bucket.
    #[arg(value_name = "SOURCE")]
    pub path: PathBuf,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Default: SOURCE/keys or ./keys, whichever exists; for an S3 source, CloudTrail's
    /// ListPublicKeys.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
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
    /// Statuses that fail the run (exit 1).
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
    Text,
    Json,
}

/// Parses `args`, runs the command, prints a fatal error once, and returns the exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Exit {
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
        Command::Validate(args) => validate(&args),
        Command::Simulate(args) => match simulate::run(&args) {
            Ok(()) => Exit::Intact,
            Err(e) => fatal(&e),
        },
        Command::Archive(args) => archive::run(&args).unwrap_or_else(|e| fatal(&e)),
        Command::Keys(command) => match cloudtrail::run(&command) {
            Ok(()) => Exit::Intact,
            Err(e) => fatal(&e),
        },
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

fn validate(args: &ValidateArgs) -> Exit {
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
    let report = match engine::validate_with(store.as_ref(), keys, &config.settings) {
        Ok(report) => report,
        Err(e) => return fatal(&e),
    };
    let options = report::Options {
        verbose: args.verbose,
        quiet: args.quiet,
        color: io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        trail: args.trail_arn.clone(),
        fail_on: config.fail_on.clone(),
    };
    let written = match args.format {
        Format::Text => report::text(
            &report,
            &options,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Format::Json => report::json(&report, &options, &mut io::stdout().lock()),
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
