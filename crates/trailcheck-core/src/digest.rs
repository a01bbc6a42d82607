//! Digest files: parsed from untrusted JSON into typed fields at once.
//!
//! A field CloudTrail always writes and that is missing, or one of the wrong type, makes the
//! digest invalid here; whether it is *authentic* is decided only by `signature`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::hash::Sha256;

/// Digests inflating past this are refused as modified; real ones are far smaller.
pub const MAX_DIGEST_BYTES: u64 = 64 * 1024 * 1024;
/// More log entries than this in one hourly digest are refused.
pub const MAX_LOG_ENTRIES: usize = 1_000_000;

/// The signature algorithm CloudTrail uses, the only one accepted.
pub const SHA256_WITH_RSA: &str = "SHA256withRSA";
/// The hash algorithm CloudTrail names for logs and previous digests.
pub const SHA_256: &str = "SHA-256";

/// A parsed digest file. Strings that enter the signed string are kept exactly as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    pub account_id: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `digestEndTime` exactly as written: it is part of the signed string.
    pub end_text: String,
    pub bucket: String,
    pub key: String,
    pub fingerprint: String,
    pub signature_algorithm: Option<String>,
    /// `None` for a starting digest.
    pub previous: Option<PreviousDigest>,
    pub log_files: Vec<LogEntry>,
}

/// A digest's link to its predecessor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviousDigest {
    pub bucket: String,
    pub key: String,
    pub hash: String,
    pub hash_algorithm: Option<String>,
    /// Hex signature of the predecessor.
    pub signature: String,
}

/// One log file a digest lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub bucket: String,
    pub key: String,
    /// Hex hash as written; parsed where it is compared.
    pub hash: String,
    pub hash_algorithm: Option<String>,
}

/// Why digest content is not a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Not JSON, or a field of the wrong type.
    Invalid(String),
    MissingField(&'static str),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDigest {
    aws_account_id: Option<String>,
    digest_start_time: Option<String>,
    digest_end_time: Option<String>,
    #[serde(rename = "digestS3Bucket")]
    digest_s3_bucket: Option<String>,
    #[serde(rename = "digestS3Object")]
    digest_s3_object: Option<String>,
    digest_public_key_fingerprint: Option<String>,
    digest_signature_algorithm: Option<String>,
    #[serde(rename = "previousDigestS3Bucket", default)]
    previous_digest_s3_bucket: Option<String>,
    #[serde(rename = "previousDigestS3Object", default)]
    previous_digest_s3_object: Option<String>,
    #[serde(default)]
    previous_digest_hash_value: Option<String>,
    #[serde(default)]
    previous_digest_hash_algorithm: Option<String>,
    /// Must be present, may be null: `Some(None)` is a starting digest.
    #[serde(default, deserialize_with = "present")]
    previous_digest_signature: Option<Option<String>>,
    #[serde(default, deserialize_with = "bounded_log_files")]
    log_files: Option<Vec<RawLogEntry>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogEntry {
    #[serde(rename = "s3Bucket")]
    s3_bucket: String,
    #[serde(rename = "s3Object")]
    s3_object: String,
    hash_value: String,
    hash_algorithm: Option<String>,
}

/// Tells a field that is absent (`None`) from one that is null (`Some(None)`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Reads `logFiles`, failing at the first entry past [`MAX_LOG_ENTRIES`] rather than reading
/// on: the cap bounds the memory a digest can make the parser allocate, not just what is kept.
fn bounded_log_files<'de, D>(deserializer: D) -> Result<Option<Vec<RawLogEntry>>, D::Error>
where
    D: Deserializer<'de>,
{
    deserializer.deserialize_option(BoundedLogFiles)
}

struct BoundedLogFiles;

impl<'de> Visitor<'de> for BoundedLogFiles {
    type Value = Option<Vec<RawLogEntry>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of at most {MAX_LOG_ENTRIES} log files")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element()? {
            if entries.len() == MAX_LOG_ENTRIES {
                return Err(de::Error::custom(format!(
                    "lists more than the {MAX_LOG_ENTRIES} log files accepted"
                )));
            }
            entries.push(entry);
        }
        Ok(Some(entries))
    }
}

fn required<T>(value: Option<T>, name: &'static str) -> Result<T, FormatError> {
    value.ok_or(FormatError::MissingField(name))
}

fn time(text: &str, name: &str) -> Result<DateTime<Utc>, FormatError> {
    crate::time::parse_cloudtrail(text)
        .ok_or_else(|| FormatError::Invalid(format!("{name} '{text}' is not a time")))
}

impl Digest {
    /// Parses uncompressed digest content.
    pub fn parse(content: &[u8]) -> Result<Digest, FormatError> {
        let raw: RawDigest = serde_json::from_slice(content)
            .map_err(|e| FormatError::Invalid(format!("not a digest JSON object ({e})")))?;
        let end_text = required(raw.digest_end_time, "digestEndTime")?;
        let start_text = required(raw.digest_start_time, "digestStartTime")?;
        let log_files = required(raw.log_files, "logFiles")?;
        let previous_signature =
            required(raw.previous_digest_signature, "previousDigestSignature")?;
        let previous = match (previous_signature, raw.previous_digest_s3_object) {
            (None, None) => None,
            (Some(signature), Some(key)) => Some(PreviousDigest {
                bucket: required(raw.previous_digest_s3_bucket, "previousDigestS3Bucket")?,
                key,
                hash: required(raw.previous_digest_hash_value, "previousDigestHashValue")?,
                hash_algorithm: raw.previous_digest_hash_algorithm,
                signature,
            }),
            (Some(_), None) => return Err(FormatError::MissingField("previousDigestS3Object")),
            (None, Some(_)) => return Err(FormatError::MissingField("previousDigestSignature")),
        };
        Ok(Digest {
            account_id: raw.aws_account_id,
            start: time(&start_text, "digestStartTime")?,
            end: time(&end_text, "digestEndTime")?,
            end_text,
            bucket: required(raw.digest_s3_bucket, "digestS3Bucket")?,
            key: required(raw.digest_s3_object, "digestS3Object")?,
            fingerprint: required(
                raw.digest_public_key_fingerprint,
                "digestPublicKeyFingerprint",
            )?,
            signature_algorithm: raw.digest_signature_algorithm,
            previous,
            log_files: log_files.into_iter().map(LogEntry::from).collect(),
        })
    }

    /// The string CloudTrail signs, given the SHA-256 of this digest's uncompressed bytes.
    pub fn string_to_sign(&self, content_sha256: Sha256) -> String {
        let previous = self
            .previous
            .as_ref()
            .map_or("null", |p| p.signature.as_str());
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.end_text,
            self.bucket,
            self.key,
            content_sha256.to_hex(),
            previous
        )
    }
}

impl From<RawLogEntry> for LogEntry {
    fn from(raw: RawLogEntry) -> Self {
        LogEntry {
            bucket: raw.s3_bucket,
            key: raw.s3_object,
            hash: raw.hash_value,
            hash_algorithm: raw.hash_algorithm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn starting() -> Value {
        json!({
            "awsAccountId": "111122223333",
            "digestStartTime": "2015-08-17T14:01:31Z",
            "digestEndTime": "2015-08-17T15:01:31Z",
            "digestS3Bucket": "bucket",
            "digestS3Object": "AWSLogs/x.json.gz",
            "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": null,
            "oldestEventTime": null,
            "previousDigestS3Bucket": null,
            "previousDigestS3Object": null,
            "previousDigestHashValue": null,
            "previousDigestHashAlgorithm": null,
            "previousDigestSignature": null,
            "logFiles": [{"s3Bucket": "bucket", "s3Object": "AWSLogs/l.json.gz",
                "hashValue": "00", "hashAlgorithm": "SHA-256",
                "newestEventTime": "2015-08-17T15:00:00Z",
                "oldestEventTime": "2015-08-17T14:50:00Z"}]
        })
    }

    fn parse(value: &Value) -> Result<Digest, FormatError> {
        Digest::parse(value.to_string().as_bytes())
    }

    #[test]
    fn starting_digest_parses_with_no_previous() {
        let d = parse(&starting()).unwrap();
        assert_eq!(d.previous, None);
        assert_eq!(d.log_files.len(), 1);
        assert_eq!(d.end_text, "2015-08-17T15:01:31Z");
        let s = d.string_to_sign(Sha256::of(b""));
        assert!(s.starts_with("2015-08-17T15:01:31Z\nbucket/AWSLogs/x.json.gz\ne3b0"));
        assert!(s.ends_with("\nnull"));
    }

    #[test]
    fn linked_digest_carries_previous_signature_into_signed_string() {
        let mut v = starting();
        v["previousDigestS3Bucket"] = json!("bucket");
        v["previousDigestS3Object"] = json!("AWSLogs/p.json.gz");
        v["previousDigestHashValue"] = json!("ab");
        v["previousDigestHashAlgorithm"] = json!("SHA-256");
        v["previousDigestSignature"] = json!("cafe");
        let d = parse(&v).unwrap();
        assert_eq!(d.previous.as_ref().unwrap().key, "AWSLogs/p.json.gz");
        assert!(d.string_to_sign(Sha256::of(b"")).ends_with("\ncafe"));
    }

    #[test]
    fn missing_required_fields_are_named() {
        for field in [
            "digestEndTime",
            "digestStartTime",
            "digestS3Bucket",
            "digestS3Object",
            "digestPublicKeyFingerprint",
            "previousDigestSignature",
            "logFiles",
        ] {
            let mut v = starting();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(parse(&v), Err(FormatError::MissingField(field)), "{field}");
        }
    }

    #[test]
    fn half_a_previous_link_is_invalid() {
        let mut v = starting();
        v["previousDigestSignature"] = json!("cafe");
        assert_eq!(
            parse(&v),
            Err(FormatError::MissingField("previousDigestS3Object"))
        );
    }

    #[test]
    fn wrong_types_bad_times_and_non_json_are_invalid() {
        let mut wrong_type = starting();
        wrong_type["digestS3Object"] = json!(7);
        let mut bad_time = starting();
        bad_time["digestEndTime"] = json!("yesterday");
        let deep = "[".repeat(10_000);
        for bad in [
            wrong_type.to_string(),
            bad_time.to_string(),
            deep,
            "null".into(),
        ] {
            assert!(matches!(
                Digest::parse(bad.as_bytes()),
                Err(FormatError::Invalid(_))
            ));
        }
    }
}
