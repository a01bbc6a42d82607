//! The `verify-query-results` subcommand: a CloudTrail Lake query's sign file and result
//! files, in a folder or in S3, judged by `trailcheck_core::lake` and rendered like
//! `validate`'s output, with the same exit codes.

use std::io;
use std::sync::Arc;

use crate::cli::{Format, VerifyQueryResultsArgs};
use crate::config::{parse_source, parse_statuses, render_options};
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
use trailcheck_report as report;

/// Runs `trailcheck verify-query-results`.
pub fn run(args: &VerifyQueryResultsArgs) -> Exit {
    match verify(args) {
        Ok(exit) => exit,
        Err(e) => fatal(e.as_ref()),
    }
}

fn verify(args: &VerifyQueryResultsArgs) -> Result<Exit, Box<dyn std::error::Error>> {
    let fail_on = parse_statuses(&args.output.fail_on)?;
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
    let options = render_options(&args.output, None, &fail_on);
    let written = match args.output.format {
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
