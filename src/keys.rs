//! The `keys` subcommand: `keys fetch` saves CloudTrail's public keys for offline runs, with
//! a provenance record beside each key file; `keys verify` asks CloudTrail whether saved key
//! files still hold exactly what it publishes, to anchor an offline verdict afterwards.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::config::parse_times;
use crate::exit::Exit;
use trailcheck_aws::cloudtrail::{CloudTrailKeys, FetchRecord, caller_identity, origin, save};
use trailcheck_aws::session::{AwsOptions, AwsSession};
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::{KeyRing, PublicKey};
use trailcheck_report::sanitize::terminal;

/// `trailcheck keys ...`
#[derive(Subcommand, Debug, Clone)]
pub enum KeysCommand {
    /// Save CloudTrail's public keys of some regions and times, for offline validation
    /// (`validate --keys DIR`), each key file with a provenance record beside it.
    #[command(after_help = "Example:\n  \
        trailcheck keys fetch --region us-east-1,eu-west-1 --start-time 2026-11-01 --end-time 2026-12-01 --out keys")]
    Fetch(FetchArgs),
    /// Ask CloudTrail whether each key file in DIR holds exactly the key it publishes.
    /// Exit 0: every key matches; 1: a key differs or CloudTrail does not know it; 2: error.
    #[command(after_help = "Examples:\n  \
        trailcheck keys verify archive/keys\n  \
        trailcheck keys verify saved-keys --region us-east-1,eu-west-1")]
    Verify(VerifyArgs),
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
    /// Folder to write `public-keys-REGION-....json` files (and their
    /// `.provenance.json` records) into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A profile of the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The folder of key files to check (as `keys fetch` or `archive` wrote them, or as
    /// `aws cloudtrail list-public-keys` prints them).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The regions to ask, comma-separated. Default: the regions the key files' provenance
    /// records name.
    #[arg(long, value_name = "REGION,...", value_delimiter = ',')]
    pub region: Vec<String>,
    /// A profile of the AWS config and credentials files.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Runs `trailcheck keys ...`.
pub fn run(command: &KeysCommand) -> Result<Exit, ConfigError> {
    match command {
        KeysCommand::Fetch(args) => fetch(args).map(|()| Exit::Intact),
        KeysCommand::Verify(args) => verify(args),
    }
}

fn open(profile: &Option<String>) -> Result<Arc<AwsSession>, ConfigError> {
    let session = AwsSession::open(&AwsOptions {
        profile: profile.clone(),
        ..AwsOptions::default()
    })?;
    Ok(Arc::new(session))
}

fn fetch(args: &FetchArgs) -> Result<(), ConfigError> {
    let now = Utc::now();
    let (start, end) = parse_times(Some(&args.start_time), args.end_time.as_deref(), now)?;
    let start = start.unwrap_or(end);
    let session = open(&args.profile)?;
    let source = CloudTrailKeys::new(session.clone());
    let caller = caller_identity(&session);
    for region in &args.region {
        let keys = source.fetch(region, start, end)?;
        KeyRing::new().add_fetched(&keys, region, &origin(region))?;
        let record = FetchRecord {
            region,
            range: (start, end),
            fetched_at: Utc::now(),
            caller: &caller,
        };
        let path = save(&keys, &record, &args.out).map_err(|e| ConfigError::KeyFolder {
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

/// What CloudTrail says of one saved key.
enum Finding {
    Matches(String),
    Differs(String),
    Unknown,
}

fn verify(args: &VerifyArgs) -> Result<Exit, ConfigError> {
    let saved = KeyRing::load_dir(&args.dir)?;
    let regions: BTreeSet<String> = if args.region.is_empty() {
        saved
            .iter()
            .flat_map(|k| k.regions.iter().cloned())
            .collect()
    } else {
        args.region.iter().map(|r| r.trim().to_owned()).collect()
    };
    if regions.is_empty() {
        return Err(ConfigError::Option {
            option: "--region",
            why: format!(
                "no key file in {} has a provenance record naming its region: name the \
                 regions to ask, --region R,...",
                args.dir.display()
            ),
        });
    }
    let (start, end) = asked_range(&saved, Utc::now());
    let session = open(&args.profile)?;
    let source = CloudTrailKeys::new(session);
    let mut published: Vec<(String, KeyRing)> = Vec::new();
    for region in &regions {
        let fetched = source.fetch(region, start, end)?;
        let mut ring = KeyRing::new();
        ring.add_fetched(&fetched, region, &origin(region))?;
        published.push((region.clone(), ring));
    }
    let mut all_match = true;
    for key in saved.iter() {
        let finding = compare(key, &published);
        let file = key.file.display().to_string();
        let (word, detail) = match &finding {
            Finding::Matches(region) => (
                "matches",
                format!("CloudTrail ListPublicKeys {region} publishes exactly this key"),
            ),
            Finding::Differs(why) => ("DIFFERS", why.clone()),
            Finding::Unknown => (
                "UNKNOWN",
                format!(
                    "CloudTrail does not publish this fingerprint in {} for {} to {}",
                    regions.iter().cloned().collect::<Vec<_>>().join(", "),
                    trailcheck_core::time::display(start),
                    trailcheck_core::time::display(end)
                ),
            ),
        };
        all_match &= matches!(finding, Finding::Matches(_));
        println!(
            "{}\t{}\t{word}: {}",
            key.fingerprint,
            terminal(&file),
            terminal(&detail)
        );
    }
    Ok(if all_match {
        Exit::Intact
    } else {
        Exit::Tampered
    })
}

/// The range to ask ListPublicKeys for: the saved keys' validity, up to now (CloudTrail
/// answers with the keys valid at some time in the range).
fn asked_range(saved: &KeyRing, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = saved
        .iter()
        .filter_map(|k| k.valid_from)
        .min()
        .unwrap_or(now);
    let end = saved
        .iter()
        .filter_map(|k| k.valid_to)
        .max()
        .map_or(now, |t| t.min(now));
    (start.min(now), end.max(start.min(now)))
}

/// A saved key against what CloudTrail publishes: the same bytes and validity under the
/// same fingerprint, in the key's own region when its provenance names one.
fn compare(key: &PublicKey, published: &[(String, KeyRing)]) -> Finding {
    let mut elsewhere = None;
    for (region, ring) in published {
        let Some(aws) = ring.get(&key.fingerprint) else {
            continue;
        };
        if !key.regions.is_empty() && !key.regions.contains(region) {
            elsewhere = Some(region.clone());
            continue;
        }
        if aws.pkcs1 != key.pkcs1 {
            return Finding::Differs(format!(
                "CloudTrail {region} publishes other key bytes under this fingerprint"
            ));
        }
        if (aws.valid_from, aws.valid_to) != (key.valid_from, key.valid_to) {
            let show = |t: Option<DateTime<Utc>>| {
                t.map_or("(open)".to_owned(), trailcheck_core::time::display)
            };
            return Finding::Differs(format!(
                "validity {} to {} here, {} to {} in CloudTrail {region}",
                show(key.valid_from),
                show(key.valid_to),
                show(aws.valid_from),
                show(aws.valid_to)
            ));
        }
        return Finding::Matches(region.clone());
    }
    match elsewhere {
        Some(region) => Finding::Differs(format!(
            "its provenance says {}, but CloudTrail publishes it in {region}",
            key.regions.iter().cloned().collect::<Vec<_>>().join(",")
        )),
        None => Finding::Unknown,
    }
}
