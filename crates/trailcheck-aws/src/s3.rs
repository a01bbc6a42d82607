//! An S3 bucket as a store, read through aws-sdk-s3: listings, and GETs whose bodies are
//! streamed to the caller's thread, so a large log is never held whole.
//!
//! Only read calls are made (GetBucketLocation, ListObjectsV2, GetObject, HeadObject):
//! trailcheck never writes to a bucket. Errors map to [`FetchError`] conservatively: only
//! S3's `NoSuchKey` is proof that an object is absent; access denied, timeouts and
//! throttling that outlasts the retries make an object inaccessible, never deleted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use tokio_util::io::SyncIoBridge;

use crate::session::{self, AwsSession, describe as describe_call};
use trailcheck_core::store::{FetchError, Metadata, Object, Store};
use trailcheck_core::verdict::{BucketProtection, ObjectVersion};

/// The region of buckets whose GetBucketLocation answer is empty.
const US_EAST_1: &str = "us-east-1";

/// `s3://BUCKET[/PREFIX]`, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Empty, or a key prefix ending in `/`.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX]`; `None` when `text` is not an s3:// URL at all.
    pub fn parse(text: &str) -> Option<Result<Self, String>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !is_bucket_name(bucket) {
            return Some(Err(format!(
                "'{text}': '{bucket}' is not an S3 bucket name (3-63 lower-case letters, \
                 digits, dots and hyphens); write s3://BUCKET[/PREFIX]"
            )));
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        Some(Ok(Self {
            bucket: bucket.to_owned(),
            prefix,
        }))
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// One object of a listing, with what tells two copies apart without reading them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    /// The storage class a listing names (S3 omits it for STANDARD); `None` from HEAD/GET.
    pub storage_class: Option<String>,
}

/// What HeadObject says of an object's archive state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveState {
    /// `x-amz-storage-class`; S3 omits it for STANDARD.
    pub storage_class: Option<String>,
    /// Intelligent-Tiering's `x-amz-archive-status`: ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS.
    pub archive_status: Option<String>,
    /// `x-amz-restore`, as S3 writes it: `ongoing-request="true"`, or
    /// `ongoing-request="false", expiry-date="..."` once a temporary copy is readable.
    pub restore: Option<String>,
}

/// What one listing returned.
#[derive(Debug, Default)]
struct Listing {
    objects: Vec<Listed>,
    folders: Vec<String>,
}

/// A read-only store over one bucket (and a prefix in it); other buckets that digests name
/// are read too, each in its own region.
pub struct S3Store {
    session: Arc<AwsSession>,
    location: S3Location,
    path_style: bool,
    clients: Mutex<HashMap<String, Client>>,
    regions: Mutex<HashMap<String, Result<String, String>>>,
}

impl S3Store {
    pub fn new(session: Arc<AwsSession>, location: S3Location) -> Self {
        let path_style = session::custom_s3_endpoint(session.options());
        Self {
            session,
            location,
            path_style,
            clients: Mutex::new(HashMap::new()),
            regions: Mutex::new(HashMap::new()),
        }
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    pub fn session(&self) -> &Arc<AwsSession> {
        &self.session
    }

    /// The objects under `prefix` with their sizes and ETags.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<Listed>, FetchError> {
        Ok(self.listing(bucket, prefix, false, start_after)?.objects)
    }

    /// Opens an object, with the size and ETag of the version being read.
    pub fn fetch(&self, bucket: &str, key: &str) -> Result<(Object, Listed), FetchError> {
        self.open(bucket, key, None)
    }

    /// GetObject, of the current object or of one version.
    fn open(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(Object, Listed), FetchError> {
        let client = self.client_for(bucket)?;
        let request = (client.get_object().bucket(bucket).key(key))
            .set_version_id(version_id.map(str::to_owned))
            .send();
        let out = match self.session.block_on(request) {
            Ok(out) => out,
            Err(e) => return Err(self.refusal(bucket, key, e)),
        };
        let listed = Listed {
            key: key.to_owned(),
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            etag: out.e_tag().map(str::to_owned),
            storage_class: None,
        };
        let metadata = metadata_of(out.metadata());
        let reader = Box::pin(out.body.into_async_read());
        let body = SyncIoBridge::new_with_handle(reader, self.session.handle().clone());
        let object = Object {
            body: Box::new(body),
            metadata,
        };
        Ok((object, listed))
    }

    /// Size and ETag of one object, without its body.
    pub fn head(&self, bucket: &str, key: &str) -> Result<Listed, FetchError> {
        let out = self.head_object(bucket, key)?;
        Ok(Listed {
            key: key.to_owned(),
            size: out
                .content_length()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            etag: out.e_tag().map(str::to_owned),
            storage_class: None,
        })
    }

    /// The storage class, archive tier and restore state of one object (HeadObject).
    pub fn archive_state(&self, bucket: &str, key: &str) -> Result<ArchiveState, FetchError> {
        let out = self.head_object(bucket, key)?;
        Ok(ArchiveState {
            storage_class: out.storage_class().map(|c| c.as_str().to_owned()),
            archive_status: out.archive_status().map(|a| a.as_str().to_owned()),
            restore: out.restore().map(str::to_owned),
        })
    }

    /// Every version and delete marker under `prefix`, by key, newest first (what
    /// ListObjectVersions says; `--versions`).
    pub fn list_versions(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<HashMap<String, Vec<ObjectVersion>>, FetchError> {
        let client = self.client_for(bucket)?;
        let mut by_key: HashMap<String, Vec<ObjectVersion>> = HashMap::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let request = client
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send();
            let page = self.session.block_on(request).map_err(|e| {
                FetchError::Inaccessible(format!(
                    "s3://{bucket}/{prefix}: {}",
                    describe_call("S3 ListObjectVersions", &e)
                ))
            })?;
            let objects = page.versions().iter().map(|v| {
                let at = v.last_modified();
                (v.key(), v.version_id(), at, v.is_latest(), false)
            });
            let markers = page.delete_markers().iter().map(|m| {
                let at = m.last_modified();
                (m.key(), m.version_id(), at, m.is_latest(), true)
            });
            for (key, id, at, latest, delete_marker) in objects.chain(markers) {
                let (Some(key), Some(id)) = (key, id) else {
                    continue;
                };
                by_key
                    .entry(key.to_owned())
                    .or_default()
                    .push(ObjectVersion {
                        version_id: id.to_owned(),
                        last_modified: at.and_then(chrono_time),
                        delete_marker,
                        latest: latest.unwrap_or(false),
                    });
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() && version_marker.is_none() {
                break;
            }
        }
        for versions in by_key.values_mut() {
            // Newest first; the latest entry before others written the same second.
            versions.sort_by_key(|v| std::cmp::Reverse((v.last_modified, v.latest)));
        }
        Ok(by_key)
    }

    /// Opens one version of an object.
    pub fn get_version(
        &self,
        bucket: &str,
        key: &str,
        version_id: &str,
    ) -> Result<Object, FetchError> {
        self.open(bucket, key, Some(version_id))
            .map(|(object, _)| object)
    }

    /// The bucket's versioning and Object Lock settings.
    pub fn protection(&self, bucket: &str) -> BucketProtection {
        let mut found = BucketProtection {
            bucket: bucket.to_owned(),
            ..BucketProtection::default()
        };
        let client = match self.client_for(bucket) {
            Ok(client) => client,
            Err(e) => {
                found.problem = Some(e.to_string());
                return found;
            }
        };
        match self
            .session
            .block_on(client.get_bucket_versioning().bucket(bucket).send())
        {
            Ok(out) => {
                found.versioning = out.status().map(|s| s.as_str().to_owned());
                found.mfa_delete = out.mfa_delete().map(|m| m.as_str().to_owned());
            }
            Err(e) => found.problem = Some(describe_call("S3 GetBucketVersioning", &e)),
        }
        let lock = client.get_object_lock_configuration().bucket(bucket).send();
        match self.session.block_on(lock) {
            Ok(out) => {
                let config = out.object_lock_configuration();
                let enabled = config.and_then(|c| c.object_lock_enabled()).is_some();
                let retention = config
                    .and_then(|c| c.rule())
                    .and_then(|r| r.default_retention());
                found.object_lock = match retention {
                    Some(r) => Some(
                        format!(
                            "{} {}",
                            r.mode().map_or("", |m| m.as_str()),
                            match (r.days(), r.years()) {
                                (Some(d), _) => format!("{d} days"),
                                (None, Some(y)) => format!("{y} years"),
                                (None, None) => String::new(),
                            }
                        )
                        .trim()
                        .to_owned(),
                    ),
                    None if enabled => Some("enabled, no default retention".to_owned()),
                    None => None,
                };
            }
            Err(SdkError::ServiceError(e))
                if e.err().code() == Some("ObjectLockConfigurationNotFoundError") => {}
            Err(e) => {
                let why = describe_call("S3 GetObjectLockConfiguration", &e);
                found.problem = Some(match found.problem.take() {
                    Some(p) => format!("{p}; {why}"),
                    None => why,
                });
            }
        }
        found
    }

    /// The current object's Object Lock, as HeadObject says it: `None` when it has none.
    pub fn object_lock(&self, bucket: &str, key: &str) -> Result<Option<String>, FetchError> {
        let out = self.head_object(bucket, key)?;
        let mut parts = Vec::new();
        if let Some(mode) = out.object_lock_mode() {
            let until = out
                .object_lock_retain_until_date()
                .and_then(chrono_time)
                .map_or_else(|| "no date".to_owned(), trailcheck_core::time::display);
            parts.push(format!("{} until {until}", mode.as_str()));
        }
        if out
            .object_lock_legal_hold_status()
            .is_some_and(|h| h.as_str() == "ON")
        {
            parts.push("legal hold".to_owned());
        }
        Ok((!parts.is_empty()).then(|| parts.join(", ")))
    }

    /// HeadObject; a 404 (HEAD has no body to say NoSuchKey) is absence.
    fn head_object(&self, bucket: &str, key: &str) -> Result<HeadObjectOutput, FetchError> {
        let client = self.client_for(bucket)?;
        let request = client.head_object().bucket(bucket).key(key).send();
        self.session.block_on(request).map_err(|e| {
            if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) {
                FetchError::NotFound
            } else {
                FetchError::Inaccessible(describe_call("S3 HeadObject", &e))
            }
        })
    }

    /// A client for the region `bucket` lives in: `--region` when given, else what
    /// GetBucketLocation says (asked once per bucket).
    fn client_for(&self, bucket: &str) -> Result<Client, FetchError> {
        let region = match &self.session.options().region {
            Some(region) => region.clone(),
            None => self.bucket_region(bucket)?,
        };
        let mut clients = lock(&self.clients);
        let client = clients
            .entry(region.clone())
            .or_insert_with(|| self.make_client(Some(region)));
        Ok(client.clone())
    }

    fn make_client(&self, region: Option<String>) -> Client {
        let mut config = aws_sdk_s3::config::Builder::from(self.session.config());
        if let Some(region) = region {
            config = config.region(aws_sdk_s3::config::Region::new(region));
        }
        if let Some(url) = &self.session.options().endpoint_url {
            config = config.endpoint_url(url);
        }
        Client::from_conf(config.force_path_style(self.path_style).build())
    }

    fn bucket_region(&self, bucket: &str) -> Result<String, FetchError> {
        if let Some(known) = lock(&self.regions).get(bucket) {
            return known.clone().map_err(FetchError::Inaccessible);
        }
        let found = self.ask_bucket_region(bucket);
        lock(&self.regions).insert(bucket.to_owned(), found.clone());
        found.map_err(FetchError::Inaccessible)
    }

    /// GetBucketLocation, asked in the configured region. A bucket that does not exist, or
    /// a server that cannot be reached, is an error; a refusal (no permission for this
    /// call) falls back to the configured region, where the bucket may still be readable.
    fn ask_bucket_region(&self, bucket: &str) -> Result<String, String> {
        let fallback = self
            .session
            .default_region()
            .unwrap_or_else(|| US_EAST_1.to_owned());
        let client = self.make_client(Some(fallback.clone()));
        let request = client.get_bucket_location().bucket(bucket).send();
        match self.session.block_on(request) {
            Ok(out) => Ok(match out.location_constraint().map(|c| c.as_str()) {
                None | Some("") => US_EAST_1.to_owned(),
                Some("EU") => "eu-west-1".to_owned(),
                Some(region) => region.to_owned(),
            }),
            Err(SdkError::ServiceError(e)) if e.err().code() != Some("NoSuchBucket") => {
                Ok(fallback)
            }
            Err(e) => Err(format!(
                "cannot find the region of bucket {bucket}: {}",
                describe_call("S3 GetBucketLocation", &e)
            )),
        }
    }

    /// Every page of a ListObjectsV2 call.
    fn listing(
        &self,
        bucket: &str,
        prefix: &str,
        folders: bool,
        start_after: Option<&str>,
    ) -> Result<Listing, FetchError> {
        let client = self.client_for(bucket)?;
        let mut listing = Listing::default();
        let mut token: Option<String> = None;
        loop {
            let mut request = client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .set_start_after(start_after.map(str::to_owned));
            if folders {
                request = request.delimiter("/");
            }
            let page = self.session.block_on(request.send()).map_err(|e| {
                FetchError::Inaccessible(format!(
                    "s3://{bucket}/{prefix}: {}",
                    describe_call("S3 ListObjectsV2", &e)
                ))
            })?;
            listing
                .objects
                .extend(page.contents().iter().filter_map(|o| {
                    Some(Listed {
                        key: o.key()?.to_owned(),
                        size: o.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                        etag: o.e_tag().map(str::to_owned),
                        storage_class: o.storage_class().map(|c| c.as_str().to_owned()),
                    })
                }));
            listing.folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(listing),
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Store for S3Store {
    fn describe(&self) -> String {
        self.location.to_string()
    }

    fn buckets(&self) -> Vec<String> {
        vec![self.location.bucket.clone()]
    }

    fn root(&self, bucket: &str) -> String {
        if bucket == self.location.bucket {
            self.location.prefix.clone()
        } else {
            String::new()
        }
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        self.list_after(bucket, prefix, "")
    }

    fn list_after(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, FetchError> {
        let after = (!start_after.is_empty()).then_some(start_after);
        let listing = self.listing(bucket, prefix, false, after)?;
        Ok(listing.objects.into_iter().map(|o| o.key).collect())
    }

    fn folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, FetchError> {
        let mut folders = self.listing(bucket, prefix, true, None)?.folders;
        folders.sort();
        Ok(folders)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Object, FetchError> {
        self.fetch(bucket, key).map(|(object, _)| object)
    }
}

/// The user metadata CloudTrail sets on a digest (`x-amz-meta-*`, names lower-cased).
fn metadata_of(user: Option<&HashMap<String, String>>) -> Metadata {
    Metadata::from_fields(
        user.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )
}

impl S3Store {
    /// What a failed GetObject means. NoSuchKey, and only NoSuchKey, is absence;
    /// InvalidObjectState is an archived object; an access denial is asked about once more
    /// (HeadObject, which needs no KMS permission) to tell a KMS key the caller may not use
    /// from any other refusal.
    fn refusal(
        &self,
        bucket: &str,
        key: &str,
        error: SdkError<GetObjectError, HttpResponse>,
    ) -> FetchError {
        let SdkError::ServiceError(e) = &error else {
            return FetchError::Inaccessible(describe_call("S3 GetObject", &error));
        };
        match e.err() {
            GetObjectError::NoSuchKey(_) => return FetchError::NotFound,
            GetObjectError::InvalidObjectState(state) => {
                return FetchError::Archived {
                    storage_class: archive_class(
                        state.storage_class().map(|c| c.as_str()),
                        state.access_tier().map(|t| t.as_str()),
                    ),
                };
            }
            _ => {}
        }
        let why = describe_call("S3 GetObject", &error);
        if e.err().meta().code() != Some("AccessDenied") {
            return FetchError::Inaccessible(why);
        }
        if let Some(key) = e.err().message().and_then(kms_key_in) {
            return FetchError::KmsDenied { key, why };
        }
        match self.head_object(bucket, key) {
            Ok(out) if is_kms(out.server_side_encryption().map(|s| s.as_str())) => {
                FetchError::KmsDenied {
                    key: out.ssekms_key_id().unwrap_or_default().to_owned(),
                    why,
                }
            }
            _ => FetchError::Inaccessible(why),
        }
    }
}

fn chrono_time(t: &aws_sdk_s3::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The storage class an InvalidObjectState names, with its access tier when there is one
/// (Intelligent-Tiering's archive tiers).
fn archive_class(class: Option<&str>, tier: Option<&str>) -> String {
    match (class, tier) {
        (Some(class), Some(tier)) => format!("{class} ({tier})"),
        (Some(class), None) => class.to_owned(),
        (None, Some(tier)) => tier.to_owned(),
        (None, None) => "an archive storage class S3 did not name".to_owned(),
    }
}

/// SSE-KMS or DSSE-KMS, as HeadObject reports `x-amz-server-side-encryption`.
fn is_kms(encryption: Option<&str>) -> bool {
    encryption.is_some_and(|e| e.starts_with("aws:kms"))
}

/// The KMS key an access-denied message names ("... kms:Decrypt on resource:
/// arn:aws:kms:REGION:ACCOUNT:key/ID ..."), when it is about KMS.
fn kms_key_in(message: &str) -> Option<String> {
    if !message.contains("kms:") {
        return None;
    }
    message
        .match_indices("arn:aws")
        .map(|(at, _)| {
            let arn = &message[at..];
            let end = arn
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ')'))
                .unwrap_or(arn.len());
            arn[..end].trim_end_matches('.')
        })
        .find(|arn| arn.contains(":kms:"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kms_denials_name_their_key_and_other_denials_do_not() {
        let message = "User: arn:aws:iam::111122223333:user/auditor is not authorized to \
            perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab because no identity-based policy allows it";
        assert_eq!(
            kms_key_in(message).as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(kms_key_in("Access Denied"), None);
        let s3_denied = "User: arn:aws:iam::111122223333:user/auditor is not authorized to \
            perform: s3:GetObject on resource: arn:aws:s3:::bucket/key";
        assert_eq!(kms_key_in(s3_denied), None);
        assert!(is_kms(Some("aws:kms")) && is_kms(Some("aws:kms:dsse")));
        assert!(!is_kms(Some("AES256")) && !is_kms(None));
        assert_eq!(archive_class(Some("GLACIER"), None), "GLACIER");
        assert_eq!(
            archive_class(Some("INTELLIGENT_TIERING"), Some("ARCHIVE_ACCESS")),
            "INTELLIGENT_TIERING (ARCHIVE_ACCESS)"
        );
    }

    #[test]
    fn s3_urls_parse_with_and_without_a_prefix() {
        let at = |s: &str| S3Location::parse(s).map(|r| r.map(|l| (l.bucket, l.prefix)));
        assert_eq!(at("./archive"), None);
        assert_eq!(
            at("s3://aws-cloudtrail-logs-111122223333-5c9a1e07"),
            Some(Ok((
                "aws-cloudtrail-logs-111122223333-5c9a1e07".into(),
                String::new()
            )))
        );
        assert_eq!(
            at("s3://my.bucket/cloudtrail/prod/"),
            Some(Ok(("my.bucket".into(), "cloudtrail/prod/".into())))
        );
        for bad in ["s3://", "s3://UPPER", "s3://a", "s3://under_score/x"] {
            assert!(matches!(at(bad), Some(Err(_))), "{bad}");
        }
    }

    #[test]
    fn digest_metadata_is_read_whatever_the_case() {
        let user: HashMap<String, String> = [
            ("Signature".to_owned(), "ab".to_owned()),
            ("signature-algorithm".to_owned(), "SHA256withRSA".to_owned()),
        ]
        .into();
        let m = metadata_of(Some(&user));
        assert_eq!(m.signature.as_deref(), Some("ab"));
        assert_eq!(m.signature_algorithm.as_deref(), Some("SHA256withRSA"));
        assert_eq!(m.backfill_generation_timestamp, None);
        assert_eq!(metadata_of(None), Metadata::default());
    }
}
