//! CloudTrail's public keys online: ListPublicKeys per region, as a key source for a run on
//! S3 and for `trailcheck keys fetch`, which saves them for offline use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use crate::aws::{AwsOptions, AwsSession};
use crate::engine::{KeyRange, KeySource};
use crate::error::ConfigError;
use crate::keys::{self, FetchedKey, KeyRing};

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
    let option = |option: &'static str| move |why| ConfigError::Option { option, why };
    let start = crate::time::parse_user(&args.start_time, now).map_err(option("--start-time"))?;
    let end = match &args.end_time {
        Some(t) => crate::time::parse_user(t, now).map_err(option("--end-time"))?,
        None => now,
    };
    if start > end {
        return Err(option("--start-time")(
            "the start time is after the end time".to_owned(),
        ));
    }
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

/// Asks CloudTrail for keys, one ListPublicKeys call (and its pages) per region.
pub struct CloudTrailKeys {
    session: Arc<AwsSession>,
}

impl CloudTrailKeys {
    pub fn new(session: Arc<AwsSession>) -> Self {
        Self { session }
    }

    /// The keys of `region` valid at some time in `[start, end]`.
    pub fn fetch(
        &self,
        region: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<FetchedKey>, ConfigError> {
        self.session
            .block_on(list_public_keys(&self.client(region), start, end))
            .map_err(|why| ConfigError::Aws {
                why: format!(
                    "CloudTrail ListPublicKeys in {region}: {why}. Allow \
                     cloudtrail:ListPublicKeys, or pass --keys DIR with saved keys \
                     (`trailcheck keys fetch`)"
                ),
            })
    }

    fn client(&self, region: &str) -> Client {
        let config = aws_sdk_cloudtrail::config::Builder::from(self.session.config())
            .region(Region::new(region.to_owned()))
            .build();
        Client::from_conf(config)
    }
}

/// What a report names as the origin of a key fetched from `region`.
pub fn origin(region: &str) -> String {
    format!("CloudTrail ListPublicKeys {region}")
}

impl KeySource for CloudTrailKeys {
    fn keys(&self, wanted: &[KeyRange]) -> Result<KeyRing, ConfigError> {
        let mut ring = KeyRing::new();
        for range in wanted {
            let fetched = self.fetch(&range.region, range.start, range.end)?;
            ring.add_fetched(&fetched, &origin(&range.region))?;
        }
        Ok(ring)
    }
}

async fn list_public_keys(
    client: &Client,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<FetchedKey>, String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_public_keys()
            .start_time(SdkTime::from_secs(start.timestamp()))
            .end_time(SdkTime::from_secs(end.timestamp()))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| crate::aws::describe("CloudTrail ListPublicKeys", &e))?;
        for key in page.public_key_list() {
            let (Some(value), Some(fingerprint)) = (key.value(), key.fingerprint()) else {
                return Err("a key without Value or Fingerprint in the answer".to_owned());
            };
            keys.push(FetchedKey {
                der: value.as_ref().to_vec(),
                fingerprint: fingerprint.to_owned(),
                valid_from: key.validity_start_time().and_then(to_chrono),
                valid_to: key.validity_end_time().and_then(to_chrono),
            });
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(keys),
        }
    }
}

fn to_chrono(time: &SdkTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// Writes `dir/public-keys-REGION-START-END.json` in the shape `aws cloudtrail
/// list-public-keys` prints; returns its path. The range is in the name so that fetches for
/// other ranges add files rather than replace them.
pub fn save(
    keys: &[FetchedKey],
    region: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    dir: &Path,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "public-keys-{region}-{}-{}.json",
        start.format("%Y%m%dT%H%MZ"),
        end.format("%Y%m%dT%H%MZ")
    );
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, keys::list_public_keys_json(keys))?;
    std::fs::rename(&partial, &path)?;
    Ok(path)
}
