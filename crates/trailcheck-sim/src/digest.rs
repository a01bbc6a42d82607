//! The digest document: CloudTrail's fields in CloudTrail's order, and the string its
//! signature covers.

use serde::Serialize;

use trailcheck_core::hash::Sha256;

pub(crate) const SIGNATURE_ALGORITHM: &str = "SHA256withRSA";
pub(crate) const HASH_ALGORITHM: &str = "SHA-256";

/// A digest file's JSON. Field order is CloudTrail's: serde writes struct fields in
/// declaration order, so do not reorder them.
#[derive(Serialize)]
pub(crate) struct DigestDoc<'a> {
    #[serde(rename = "awsAccountId")]
    pub account: &'a str,
    #[serde(rename = "digestStartTime")]
    pub start: String,
    #[serde(rename = "digestEndTime")]
    pub end: String,
    #[serde(rename = "digestS3Bucket")]
    pub bucket: &'a str,
    #[serde(rename = "digestS3Object")]
    pub key: &'a str,
    #[serde(rename = "digestPublicKeyFingerprint")]
    pub fingerprint: &'a str,
    #[serde(rename = "digestSignatureAlgorithm")]
    pub signature_algorithm: &'static str,
    #[serde(rename = "newestEventTime")]
    pub newest: Option<String>,
    #[serde(rename = "oldestEventTime")]
    pub oldest: Option<String>,
    #[serde(rename = "previousDigestS3Bucket")]
    pub previous_bucket: Option<&'a str>,
    #[serde(rename = "previousDigestS3Object")]
    pub previous_key: Option<&'a str>,
    #[serde(rename = "previousDigestHashValue")]
    pub previous_hash: Option<String>,
    #[serde(rename = "previousDigestHashAlgorithm")]
    pub previous_hash_algorithm: Option<&'static str>,
    #[serde(rename = "previousDigestSignature")]
    pub previous_signature: Option<&'a str>,
    #[serde(rename = "logFiles")]
    pub log_files: Vec<LogFileEntry<'a>>,
}

/// One element of `logFiles`.
#[derive(Serialize)]
pub(crate) struct LogFileEntry<'a> {
    #[serde(rename = "s3Bucket")]
    pub bucket: &'a str,
    #[serde(rename = "s3Object")]
    pub key: &'a str,
    /// SHA-256 of the uncompressed log.
    #[serde(rename = "hashValue")]
    pub hash: String,
    #[serde(rename = "hashAlgorithm")]
    pub hash_algorithm: &'static str,
    #[serde(rename = "newestEventTime")]
    pub newest: String,
    #[serde(rename = "oldestEventTime")]
    pub oldest: String,
}

/// What a digest records about its predecessor.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub bucket: String,
    pub key: String,
    /// SHA-256 of the predecessor's uncompressed content.
    pub hash: Sha256,
    pub signature: String,
}

/// The string a digest's signature covers:
/// `END\nBUCKET/KEY\nHEX(SHA-256(content))\nPREVIOUS-SIGNATURE`, with `null` for a
/// starting digest, as the AWS CLI and CloudTrail's Java implementation build it.
pub(crate) fn string_to_sign(
    end: &str,
    bucket: &str,
    key: &str,
    content_hash: Sha256,
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{end}\n{bucket}/{key}\n{content_hash}\n{}",
        previous_signature.unwrap_or("null")
    )
}
