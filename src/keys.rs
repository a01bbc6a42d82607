//! The `keys` subcommand: `keys fetch` saves CloudTrail's public keys for offline runs.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use clap::{Args, Subcommand};

use crate::config::parse_times;
use trailcheck_aws::cloudtrail::{CloudTrailKeys, origin, save};
use trailcheck_aws::session::{AwsOptions, AwsSession};
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::KeyRing;

/// `trailcheck keys ...`
#[derive(Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Save CloudTrail's public keys of some regions and times, for offline validation
    /// (`validate --keys DIR`).
    #[command(after_help = "Example:\n  \
        trailcheck keys fetch --region us-east-1,eu-west-1 --start-time 2026-11-01 --end-time 2026-12-01 --out keys")]
    Fetch(FetchArgs),
}

#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// The regions whose keys to fetch, comma-separated: a region's digests are signed with
    /// its own keys.
    #[arg(
        long,
        value_name = "REGION,...",
        value_delimiter = ',',
        required = true
    )]
    pub region: Vec<String>,
    /// Keys valid from this time (RFC 3339, a date, or -7d).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start_time: String,
    /// Keys valid up to this time. Default: now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end_time: Option<String>,
    /// Folder to write `public-keys-REGION.json` files into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A profile of the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Runs `trailcheck keys ...`.
pub fn run(command: &KeysCommand) -> Result<(), ConfigError> {
    let KeysCommand::Fetch(args) = command;
    let now = Utc::now();
    let (start, end) = parse_times(Some(&args.start_time), args.end_time.as_deref(), now)?;
    let start = start.unwrap_or(end);
    let session = AwsSession::open(&AwsOptions {
        profile: args.profile.clone(),
        ..AwsOptions::default()
    })?;
    let source = CloudTrailKeys::new(Arc::new(session));
    for region in &args.region {
        let keys = source.fetch(region, start, end)?;
        KeyRing::new().add_fetched(&keys, &origin(region))?;
        let path =
            save(&keys, region, (start, end), &args.out).map_err(|e| ConfigError::KeyFolder {
                path: args.out.clone(),
                why: format!("cannot write the keys of {region}: {e}"),
            })?;
        println!(
            "{region}: {} public keys written to {}",
            keys.len(),
            path.display()
        );
    }
    Ok(())
}
