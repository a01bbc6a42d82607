//! CloudTrail's public keys online: ListPublicKeys per region, as a key source for a run on
//! S3 and for `trailcheck keys fetch`, which saves them for offline use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use chrono::{DateTime, Utc};

use crate::session::AwsSession;
use trailcheck_core::engine::{KeyRange, KeySource};
use trailcheck_core::error::ConfigError;
use trailcheck_core::keys::{self, FetchedKey, KeyRing};

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
            .map_err(|e| crate::session::describe("CloudTrail ListPublicKeys", &e))?;
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
