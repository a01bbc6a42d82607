//! The `verify-query-results` subcommand: a CloudTrail Lake query's sign file and result
//! files, in a folder or in S3, judged by `trailcheck_core::lake` and rendered like
//! `validate`'s output, with the same exit codes.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::cli::{AwsArgs, Format};
use crate::config::{parse_source, parse_statuses};
use crate::exit::Exit;
use crate::fatal;
use trailcheck_aws::cloudtrail::CloudTrailKeys;
use trailcheck_aws::s3::S3Store;
use trailcheck_aws::session::AwsSession;
use trailcheck_core::engine::Keys;
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::KeyRing;
use trailcheck_core::lake;
use trailcheck_core::store::Store;
use trailcheck_core::store::local::{Layout, LocalStore};
use trailcheck_core::verdict::DEFAULT_FAIL_ON;
use trailcheck_report as report;

#[derive(Args, Debug, Clone)]
pub struct VerifyQueryResultsArgs {
    /// The query's folder: s3://BUCKET/PREFIX or a local folder holding result_sign.json
    /// and result_*.csv.gz (AWSLogs/ACCOUNT/CloudTrail-Lake/Query/YYYY/MM/DD/QUERY-ID/).
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,
    /// Folder of public key files, as `aws cloudtrail list-public-keys` prints them.
    /// Needed for a local folder; for S3 without it, CloudTrail's ListPublicKeys is asked
    /// in the sign file's region. Keys are never taken from inside SOURCE.
    #[arg(long, value_name = "DIR")]
    pub keys: Option<PathBuf>,
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
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Runs `trailcheck verify-query-results`.
pub fn run(args: &VerifyQueryResultsArgs) -> Exit {
    match verify(args) {
        Ok(exit) => exit,
        Err(e) => fatal(e.as_ref()),
    }
}

fn verify(args: &VerifyQueryResultsArgs) -> Result<Exit, Box<dyn std::error::Error>> {
    // An empty list (`--fail-on ""`) means the default set.
    let fail_on = if args.fail_on.is_empty() {
        DEFAULT_FAIL_ON.to_vec()
    } else {
        parse_statuses(&args.fail_on)?
    };
    let s3 = parse_source(&args.source)?;
    let ring = match &args.keys {
        Some(dir) => Some(KeyRing::load_dir(dir)?),
        None if s3.is_none() => {
            return Err(Box::new(ConfigError::Option {
                option: "--keys",
                why: "a local folder needs --keys DIR (a folder of `aws cloudtrail \
                      list-public-keys` JSON files, e.g. from `trailcheck keys fetch`)"
                    .to_owned(),
            }));
        }
        None => None,
    };
    let (store, online): (Box<dyn Store>, Option<CloudTrailKeys>) = match s3 {
        Some(location) => {
            let session = Arc::new(AwsSession::open(&args.aws.options())?);
            let online = ring.is_none().then(|| CloudTrailKeys::new(session.clone()));
            (Box::new(S3Store::new(session, location)), online)
        }
        None => {
            if !args.source.is_dir() {
                return Err(Box::new(ConfigError::SourceUnreadable {
                    path: args.source.clone(),
                    why: "not a folder".to_owned(),
                }));
            }
            // The bucket is unknown for a copy on disk: left empty, files are shown by path.
            let layout = Layout::Mirror {
                bucket: String::new(),
            };
            (
                Box::new(LocalStore::with_layout(&args.source, layout)?),
                None,
            )
        }
    };
    let empty = KeyRing::new();
    let keys = match (&online, &ring) {
        (Some(source), _) => Keys::Source(source),
        (None, Some(ring)) => Keys::Ring(ring),
        (None, None) => Keys::Ring(&empty),
    };
    let judged = lake::verify(store.as_ref(), keys)?;
    let options = report::Options {
        verbose: args.verbose,
        quiet: args.quiet,
        color: io::stdout().is_terminal() && io::stderr().is_terminal() && !no_color(),
        trail: None,
        fail_on: fail_on.clone(),
    };
    let written = match args.format {
        Format::Text => report::lake::text(
            &judged,
            &options,
            &mut io::stdout().lock(),
            &mut io::stderr().lock(),
        ),
        Format::Json => report::lake::json(&judged, &options, &mut io::stdout().lock()),
        Format::Junit => report::lake::junit(&judged, &options, &mut io::stdout().lock()),
    };
    if let Err(e) = written
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(Box::new(e));
    }
    Ok(Exit::from(judged.outcome(&fail_on)))
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
