//! CloudTrail's public keys online: ListPublicKeys per region, as a key source for a run on
//! S3 and for `trailcheck keys fetch`, which saves them for offline use with a provenance
//! record beside each key file (what was asked, when, by whom, and the file's SHA-256).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::config::Region;
use aws_sdk_cloudtrail::primitives::DateTime as SdkTime;
use chrono::{DateTime, Utc};

use crate::session::AwsSession;
use trailcheck_core::engine::{KeyRange, KeySource};
use trailcheck_core::error::ConfigError;
use trailcheck_core::hash::Sha256;
use trailcheck_core::keys::{self, Caller, FetchedKey, KeyRing, Provenance};

/// GetCallerIdentity is only asked for the provenance record: a slow or absent STS must not
/// hold up a fetch, so it gets this long and the record then says why it has no caller.
const CALLER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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
            ring.add_fetched(&fetched, &range.region, &origin(&range.region))?;
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

/// Who the session's credentials are, as STS GetCallerIdentity answers, for provenance.
pub fn caller_identity(session: &AwsSession) -> Result<Caller, String> {
    let config = aws_sdk_sts::config::Builder::from(session.config())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .operation_timeout(CALLER_TIMEOUT)
                .build(),
        )
        .build();
    let client = aws_sdk_sts::Client::from_conf(config);
    let answer = session
        .block_on(async {
            tokio::time::timeout(CALLER_TIMEOUT, client.get_caller_identity().send()).await
        })
        .map_err(|_| format!("STS GetCallerIdentity did not answer within {CALLER_TIMEOUT:?}"))?
        .map_err(|e| crate::session::describe("STS GetCallerIdentity", &e))?;
    Ok(Caller {
        account: answer.account().map(str::to_owned),
        arn: answer.arn().map(str::to_owned),
        user_id: answer.user_id().map(str::to_owned),
    })
}

fn to_chrono(time: &SdkTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos())
}

/// How a fetch was made, for the provenance record written beside its key file.
pub struct FetchRecord<'a> {
    pub region: &'a str,
    pub range: (DateTime<Utc>, DateTime<Utc>),
    pub fetched_at: DateTime<Utc>,
    pub caller: &'a Result<Caller, String>,
}

/// Writes `dir/public-keys-REGION-START-END.json` in the shape `aws cloudtrail
/// list-public-keys` prints, and its provenance record beside it; returns the key file's
/// path. The range is in the name so that fetches for other ranges add files rather than
/// replace them.
pub fn save(keys: &[FetchedKey], record: &FetchRecord<'_>, dir: &Path) -> std::io::Result<PathBuf> {
    let (region, (start, end)) = (record.region, record.range);
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "public-keys-{region}-{}-{}.json",
        start.format("%Y%m%dT%H%MZ"),
        end.format("%Y%m%dT%H%MZ")
    );
    let path = dir.join(&name);
    let bytes = keys::list_public_keys_json(keys);
    let provenance = Provenance {
        fetched_with: "CloudTrail ListPublicKeys".to_owned(),
        region: region.to_owned(),
        requested_start: trailcheck_core::time::display(start),
        requested_end: trailcheck_core::time::display(end),
        fetched_at: trailcheck_core::time::display(record.fetched_at),
        caller: record.caller.as_ref().ok().cloned(),
        caller_unavailable: record.caller.as_ref().err().cloned(),
        tool: format!("trailcheck {}", env!("CARGO_PKG_VERSION")),
        key_file: name.clone(),
        key_file_sha256: Sha256::of(&bytes).to_hex(),
        fingerprints: keys
            .iter()
            .map(|k| k.fingerprint.to_ascii_lowercase())
            .collect(),
    };
    // The record first: a key file is never left without the record that matches it.
    write_atomically(
        &keys::provenance_path(&path),
        &keys::provenance_json(&provenance),
    )?;
    write_atomically(&path, &bytes)?;
    Ok(path)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = path.with_file_name(format!(".{name}.partial"));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}
