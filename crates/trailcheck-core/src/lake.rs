//! CloudTrail Lake query results: the sign file (`result_sign.json`) and the result files it
//! lists, checked as `aws cloudtrail verify-query-results` does, from any [`Store`].
//!
//! CloudTrail signs only the result files' hashes, joined by single spaces. File names, the
//! region, the query's completion time and the folder the files sit in are in the sign file
//! but outside the signature, so nothing here claims them proven: [`NOT_COVERED`] says so in
//! every output. Per-file outcomes are verdicts; only a folder that cannot be listed (an
//! insertion could hide there) or keys that cannot be fetched stop the run.

use std::collections::BTreeSet;
use std::io::Read;

use chrono::{DateTime, Duration, Utc};
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

use crate::digest::SHA256_WITH_RSA;
use crate::engine::{KeyRange, Keys};
use crate::error::{ConfigError, RunError};
use crate::hash::{Hasher, Sha256};
use crate::keys::{KeyRing, PublicKey};
use crate::store::local::safe_component;
use crate::store::{FetchError, Store};
use crate::time;
use crate::verdict::{Cause, FileKind, FileVerdict, KeyUse, Outcome, Report, Status};

/// The sign file's name in a query's folder.
pub const SIGN_FILE: &str = "result_sign.json";
/// The only hash algorithm a sign file may name.
pub const SHA_256: &str = "SHA-256";
/// Sign files larger than this are refused: one lists a few hundred files at most.
pub const MAX_SIGN_FILE: u64 = 16 * 1024 * 1024;
/// More listed files than this is not a sign file CloudTrail wrote.
pub const MAX_LISTED: usize = 100_000;
/// The AWS CLI asks ListPublicKeys for `[queryCompleteTime, queryCompleteTime + 20 days]`.
pub const KEY_WINDOW: Duration = Duration::days(20);

/// What the signature does not cover, as (code, explanation): stated in every output so no
/// reader takes a verified sign file as proof of these.
pub const NOT_COVERED: [(&str, &str); 4] = [
    (
        "file-names",
        "the fileName values: a listed file could be renamed, or two swapped, in the sign file \
         and its folder without breaking the signature",
    ),
    (
        "region",
        "the region field: it only chooses whose public keys are asked",
    ),
    (
        "query-complete-time",
        "the queryCompleteTime field: it only chooses which public keys are asked",
    ),
    (
        "location",
        "the bucket and folder: a query's files copied elsewhere, or another query's files, \
         verify the same",
    ),
];

/// One entry of the sign file's `files`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedFile {
    pub name: String,
    /// The `fileHashValue` exactly as written: the signed string is built from these.
    pub hash_text: String,
    pub hash: Sha256,
}

/// A parsed sign file. Parsing checks types, bounds and file names; algorithms and the
/// signature are checked by [`verify`], where they are used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignFile {
    /// `version`, as written (a string or a number).
    pub version: String,
    pub region: String,
    pub files: Vec<ListedFile>,
    pub hash_algorithm: String,
    pub signature_algorithm: String,
    pub query_complete_time: DateTime<Utc>,
    pub hash_signature: String,
    pub fingerprint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSignFile {
    version: Value,
    region: String,
    files: Vec<RawFile>,
    hash_algorithm: String,
    signature_algorithm: String,
    query_complete_time: String,
    hash_signature: String,
    public_key_fingerprint: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFile {
    file_hash_value: String,
    file_name: String,
}

impl SignFile {
    /// Parses a sign file's bytes; the error is the cause its verdict gets.
    pub fn parse(bytes: &[u8]) -> Result<SignFile, Cause> {
        let invalid = |why: String| Cause::InvalidFormat(why);
        let raw: RawSignFile =
            serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a sign file ({e})")))?;
        if raw.files.len() > MAX_LISTED {
            return Err(invalid(format!(
                "lists {} files, more than the {MAX_LISTED} a sign file can hold",
                raw.files.len()
            )));
        }
        let version = match raw.version {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            other => return Err(invalid(format!("version is not a string: {other}"))),
        };
        let query_complete_time =
            time::parse_cloudtrail(&raw.query_complete_time).ok_or_else(|| {
                invalid(format!(
                    "queryCompleteTime '{}' is not an RFC 3339 time",
                    raw.query_complete_time.escape_debug()
                ))
            })?;
        let mut names = BTreeSet::new();
        let mut files = Vec::with_capacity(raw.files.len());
        for file in raw.files {
            if !is_plain_name(&file.file_name) {
                return Err(invalid(format!(
                    "fileName '{}' is not a plain file name in the query's folder",
                    file.file_name.escape_debug()
                )));
            }
            if !names.insert(file.file_name.clone()) {
                return Err(invalid(format!(
                    "fileName '{}' is listed twice",
                    file.file_name
                )));
            }
            let hash = Sha256::from_hex(&file.file_hash_value).ok_or_else(|| {
                invalid(format!(
                    "fileHashValue of {} is not 64 hex digits",
                    file.file_name
                ))
            })?;
            files.push(ListedFile {
                name: file.file_name,
                hash_text: file.file_hash_value,
                hash,
            });
        }
        Ok(SignFile {
            version,
            region: raw.region,
            files,
            hash_algorithm: raw.hash_algorithm,
            signature_algorithm: raw.signature_algorithm,
            query_complete_time,
            hash_signature: raw.hash_signature,
            fingerprint: raw.public_key_fingerprint,
        })
    }

    /// What CloudTrail signs: every `fileHashValue`, in order, joined by single spaces.
    pub fn string_to_sign(&self) -> String {
        let hashes: Vec<&str> = self.files.iter().map(|f| f.hash_text.as_str()).collect();
        hashes.join(" ")
    }

    /// The range of key validity the AWS CLI asks ListPublicKeys for.
    pub fn key_range(&self) -> KeyRange {
        KeyRange {
            region: self.region.clone(),
            start: self.query_complete_time,
            end: self.query_complete_time + KEY_WINDOW,
        }
    }
}

/// A name that stays inside the folder: one ordinary component, no control characters.
fn is_plain_name(name: &str) -> bool {
    safe_component(name).is_some() && !name.chars().any(char::is_control)
}

/// A result file name as CloudTrail writes them: `result_N.csv.gz`.
pub fn is_result_name(name: &str) -> bool {
    name.strip_prefix("result_")
        .and_then(|rest| rest.strip_suffix(".csv.gz"))
        .is_some_and(|n| !n.is_empty())
}

/// Why a signature was not verified: unverifiable (`Err(cause)` with an unverifiable cause)
/// or modified (`BadSignature`).
fn check_signature<'k>(sign: &SignFile, ring: &'k KeyRing) -> Result<&'k PublicKey, Cause> {
    for (named, expected) in [
        (&sign.signature_algorithm, SHA256_WITH_RSA),
        (&sign.hash_algorithm, SHA_256),
    ] {
        if named != expected {
            return Err(Cause::UnsupportedAlgorithm(named.clone()));
        }
    }
    let key = ring
        .get(&sign.fingerprint)
        .ok_or_else(|| Cause::UnknownKey(sign.fingerprint.clone()))?;
    let range = sign.key_range();
    let ends_before = key.valid_to.is_some_and(|to| to < range.start);
    let starts_after = key.valid_from.is_some_and(|from| from > range.end);
    if ends_before || starts_after {
        return Err(Cause::KeyNotValidForQuery(key.fingerprint.clone()));
    }
    let signature = hex::decode(sign.hash_signature.trim()).map_err(|_| Cause::BadSignature)?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.pkcs1)
        .verify(sign.string_to_sign().as_bytes(), &signature)
        .map_err(|_| Cause::BadSignature)?;
    Ok(key)
}

/// What the sign file records, for reports: none of it is signed except through the hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedFacts {
    pub version: String,
    pub region: String,
    pub query_complete_time: DateTime<Utc>,
    pub fingerprint: String,
    pub hash_algorithm: String,
    pub signature_algorithm: String,
}

/// The verdict on one query's folder.
#[derive(Clone, Debug)]
pub struct LakeReport {
    /// The folder or `s3://bucket/prefix` read.
    pub source: String,
    pub bucket: String,
    /// The key prefix of the query's folder: empty, or ending in `/`.
    pub folder: String,
    /// The sign file's verdict. Its kind is [`FileKind::Digest`], the result files'
    /// [`FileKind::Log`]: the roles they play. Renderers name them `sign-file` and
    /// `query-result`.
    pub sign: FileVerdict,
    /// Listed files in the sign file's order, then unlisted result files by name.
    pub results: Vec<FileVerdict>,
    /// What the sign file records, when it parsed.
    pub facts: Option<SignedFacts>,
    /// The key that verified the signature.
    pub key: Option<KeyUse>,
}

impl LakeReport {
    /// Every file, the sign file first, as a [`Report`] (for counts and the outcome).
    pub fn as_report(&self) -> Report {
        Report {
            source: self.source.clone(),
            files: std::iter::once(self.sign.clone())
                .chain(self.results.iter().cloned())
                .collect(),
            keys: self.key.iter().cloned().collect(),
            ..Report::default()
        }
    }

    pub fn outcome(&self, fail_on: &[Status]) -> Outcome {
        self.as_report().outcome(fail_on)
    }

    /// Where a file is, as a person would find it: `s3://B/K`, or a path under the folder.
    pub fn location(&self, file: &FileVerdict) -> String {
        if self.bucket.is_empty() {
            let root = self.source.trim_end_matches('/');
            format!("{root}/{}", file.key)
        } else {
            file.s3_url()
        }
    }
}

/// Checks the query folder at the store's root of its first bucket: `s3://B/PREFIX` (the
/// prefix is the folder) or a local folder. `keys` are asked for the sign file's region
/// and time when they come from a [`crate::engine::KeySource`].
pub fn verify(store: &dyn Store, keys: Keys<'_>) -> Result<LakeReport, RunError> {
    let bucket = store.buckets().into_iter().next().unwrap_or_default();
    let folder = store.root(&bucket);
    let listed = store
        .list(&bucket, &folder)
        .map_err(|e| RunError::Listing {
            source_name: store.describe(),
            what: "the query's folder".to_owned(),
            why: e.to_string(),
        })?;
    let names: BTreeSet<String> = listed
        .iter()
        .filter_map(|key| key.strip_prefix(folder.as_str()))
        .filter(|name| !name.contains('/'))
        .map(str::to_owned)
        .collect();
    if !names.contains(SIGN_FILE) && !names.iter().any(|n| is_result_name(n)) {
        return Err(RunError::Config(ConfigError::Option {
            option: "SOURCE",
            why: format!(
                "{}: no {SIGN_FILE} and no result_*.csv.gz here. Point at the query's folder \
                 (AWSLogs/ACCOUNT/CloudTrail-Lake/Query/YYYY/MM/DD/QUERY-ID/)",
                store.describe()
            ),
        }));
    }
    let mut judge = Judge {
        store,
        bucket: &bucket,
        folder: &folder,
        // A local folder's path, like an S3 prefix, may name the account.
        account: account_of(&format!("{}/{folder}", store.describe())),
    };
    let sign_key = format!("{folder}{SIGN_FILE}");
    let (sign, parsed) = judge.read_sign_file(&sign_key);
    let mut report = LakeReport {
        source: store.describe(),
        bucket: bucket.clone(),
        folder: folder.clone(),
        sign,
        results: Vec::new(),
        facts: None,
        key: None,
    };
    let Some(parsed) = parsed else {
        let why = format!("it is {}", report.sign.status);
        report.results = judge.unproven(&names, &[], &why);
        return Ok(report);
    };
    report.facts = Some(SignedFacts {
        version: parsed.version.clone(),
        region: parsed.region.clone(),
        query_complete_time: parsed.query_complete_time,
        fingerprint: parsed.fingerprint.clone(),
        hash_algorithm: parsed.hash_algorithm.clone(),
        signature_algorithm: parsed.signature_algorithm.clone(),
    });
    report.sign.time = Some(parsed.query_complete_time);
    report.sign.region = Some(parsed.region.clone());
    report.sign.signed_by = Some(parsed.fingerprint.clone());
    let fetched;
    let ring = match keys {
        Keys::Ring(ring) => ring,
        Keys::Source(source) => {
            fetched = source.keys(&[parsed.key_range()])?;
            &fetched
        }
    };
    match check_signature(&parsed, ring) {
        Ok(key) => {
            report.key = Some(KeyUse {
                fingerprint: key.fingerprint.clone(),
                valid_from: key.valid_from,
                valid_to: key.valid_to,
                file: key.file.display().to_string(),
                digests_verified: 1,
            });
            report.results = judge.proven(&names, &parsed);
        }
        Err(cause) => {
            let status = cause.status();
            let why = format!("{} ({cause})", status);
            report.sign.status = status;
            report.sign.cause = cause;
            report.results = judge.unproven(&names, &parsed.files, &why);
        }
    }
    Ok(report)
}

/// The account of `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail-Lake/Query/...`, when the folder says.
fn account_of(folder: &str) -> Option<String> {
    let parts: Vec<&str> = folder.split('/').collect();
    let at = parts.iter().position(|p| *p == "AWSLogs")?;
    (parts.get(at + 2) == Some(&"CloudTrail-Lake")).then(|| parts[at + 1].to_owned())
}

struct Judge<'a> {
    store: &'a dyn Store,
    bucket: &'a str,
    folder: &'a str,
    account: Option<String>,
}

/// How reading a file ended.
enum Hashing {
    Hashed(Sha256),
    Failed(FetchError),
    Unreadable(String),
}

impl Judge<'_> {
    fn verdict(&self, kind: FileKind, name: &str, status: Status, cause: Cause) -> FileVerdict {
        let key = format!("{}{name}", self.folder);
        let mut verdict = FileVerdict::new(kind, self.bucket, &key, cause);
        // The status follows from the cause; the one given says what the caller means.
        debug_assert_eq!(verdict.status, status, "{key}");
        verdict.account = self.account.clone();
        verdict
    }

    /// Reads the sign file, bounded, and parses it.
    fn read_sign_file(&mut self, key: &str) -> (FileVerdict, Option<SignFile>) {
        let verdict = |status, cause| self.verdict(FileKind::Digest, SIGN_FILE, status, cause);
        let object = match self.store.get(self.bucket, key) {
            Ok(object) => object,
            Err(error) => {
                return match Cause::of_refusal(error) {
                    Some(cause) => (verdict(Status::Unverifiable, cause), None),
                    None => (verdict(Status::Deleted, Cause::NotFound), None),
                };
            }
        };
        let mut bytes = Vec::new();
        if let Err(e) = object.body.take(MAX_SIGN_FILE + 1).read_to_end(&mut bytes) {
            let cause = Cause::Unreadable(e.to_string());
            return (verdict(Status::Unverifiable, cause), None);
        }
        if bytes.len() as u64 > MAX_SIGN_FILE {
            let cause = Cause::Unreadable(format!(
                "larger than {} MiB, far more than any sign file; refused",
                MAX_SIGN_FILE >> 20
            ));
            return (verdict(Status::Unverifiable, cause), None);
        }
        let mut judged = match SignFile::parse(&bytes) {
            Ok(parsed) => {
                let mut v = verdict(Status::Intact, Cause::Verified);
                v.actual_sha256 = Some(Sha256::of(&bytes));
                return (v, Some(parsed));
            }
            Err(cause) => verdict(Status::Modified, cause),
        };
        judged.actual_sha256 = Some(Sha256::of(&bytes));
        (judged, None)
    }

    /// Streams a result file through SHA-256: its stored bytes, never inflated.
    fn hash(&self, name: &str) -> Hashing {
        let key = format!("{}{name}", self.folder);
        let object = match self.store.get(self.bucket, &key) {
            Ok(object) => object,
            Err(e) => return Hashing::Failed(e),
        };
        let mut body = object.body;
        let mut hasher = Hasher::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match body.read(&mut buffer) {
                Ok(0) => return Hashing::Hashed(hasher.finish()),
                Ok(n) => hasher.update(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Hashing::Unreadable(e.to_string()),
            }
        }
    }

    /// The files of a sign file whose signature verified.
    fn proven(&self, present: &BTreeSet<String>, sign: &SignFile) -> Vec<FileVerdict> {
        let mut out = Vec::new();
        for listed in &sign.files {
            let (status, cause, actual) = match self.hash(&listed.name) {
                Hashing::Hashed(h) if h == listed.hash => {
                    (Status::Intact, Cause::Verified, Some(h))
                }
                Hashing::Hashed(h) => (Status::Modified, Cause::HashMismatch, Some(h)),
                Hashing::Failed(error) => match Cause::of_refusal(error) {
                    Some(cause) => (Status::Unverifiable, cause, None),
                    None => (Status::Deleted, Cause::NotFound, None),
                },
                Hashing::Unreadable(why) => (Status::Unverifiable, Cause::Unreadable(why), None),
            };
            let mut v = self.verdict(FileKind::Log, &listed.name, status, cause);
            v.expected_sha256 = Some(listed.hash);
            v.actual_sha256 = actual;
            v.listed_by = Some(SIGN_FILE.to_owned());
            out.push(v);
        }
        for name in self.unlisted(present, &sign.files) {
            let mut v = self.verdict(
                FileKind::Log,
                name,
                Status::Unreferenced,
                Cause::NotInSignFile,
            );
            if let Hashing::Hashed(h) = self.hash(name) {
                v.actual_sha256 = Some(h);
            }
            out.push(v);
        }
        out
    }

    /// Every file a sign file that is not proven authentic lists, and every result file
    /// present: unverifiable, each with its hash as read where it could be read.
    fn unproven(
        &self,
        present: &BTreeSet<String>,
        listed: &[ListedFile],
        why: &str,
    ) -> Vec<FileVerdict> {
        let cause = || Cause::SignFileNotVerified(why.to_owned());
        let mut out = Vec::new();
        for file in listed {
            let mut v = self.verdict(FileKind::Log, &file.name, Status::Unverifiable, cause());
            v.expected_sha256 = Some(file.hash);
            v.listed_by = Some(SIGN_FILE.to_owned());
            if let Hashing::Hashed(h) = self.hash(&file.name) {
                v.actual_sha256 = Some(h);
            }
            out.push(v);
        }
        for name in self.unlisted(present, listed) {
            let mut v = self.verdict(FileKind::Log, name, Status::Unverifiable, cause());
            if let Hashing::Hashed(h) = self.hash(name) {
                v.actual_sha256 = Some(h);
            }
            out.push(v);
        }
        out
    }

    /// Result files present in the folder that `listed` does not name, by name.
    fn unlisted<'n>(
        &self,
        present: &'n BTreeSet<String>,
        listed: &[ListedFile],
    ) -> impl Iterator<Item = &'n str> {
        let named: BTreeSet<String> = listed.iter().map(|f| f.name.clone()).collect();
        present
            .iter()
            .filter(move |n| is_result_name(n) && !named.contains(n.as_str()))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign_json(files: &str) -> String {
        format!(
            r#"{{"version":"1.0","region":"us-east-1","files":{files},"hashAlgorithm":"SHA-256",
            "signatureAlgorithm":"SHA256withRSA","queryCompleteTime":"2026-11-01T10:00:00Z",
            "hashSignature":"00","publicKeyFingerprint":"ab"}}"#
        )
    }

    #[test]
    fn a_well_formed_sign_file_parses_and_joins_its_hashes_with_spaces() {
        let (a, b) = ("a".repeat(64), "B".repeat(64));
        let json = sign_json(&format!(
            r#"[{{"fileHashValue":"{a}","fileName":"result_1.csv.gz"}},
                {{"fileHashValue":"{b}","fileName":"result_2.csv.gz"}}]"#
        ));
        let sign = SignFile::parse(json.as_bytes()).expect("parses");
        assert_eq!(sign.string_to_sign(), format!("{a} {b}"));
        assert_eq!(sign.key_range().end - sign.key_range().start, KEY_WINDOW);
    }

    #[test]
    fn hostile_sign_files_are_invalid_format() {
        let h = "a".repeat(64);
        for files in [
            format!(r#"[{{"fileHashValue":"{h}","fileName":"../result_1.csv.gz"}}]"#),
            format!(r#"[{{"fileHashValue":"{h}","fileName":"x/result_1.csv.gz"}}]"#),
            format!(r#"[{{"fileHashValue":"{h}","fileName":".."}}]"#),
            format!(r#"[{{"fileHashValue":"{h}","fileName":"result\u0007.csv.gz"}}]"#),
            r#"[{"fileHashValue":"abc","fileName":"result_1.csv.gz"}]"#.to_owned(),
            format!(
                r#"[{{"fileHashValue":"{h}","fileName":"r.gz"}},{{"fileHashValue":"{h}","fileName":"r.gz"}}]"#
            ),
            r#"{"not":"a list"}"#.to_owned(),
        ] {
            let parsed = SignFile::parse(sign_json(&files).as_bytes());
            assert!(matches!(parsed, Err(Cause::InvalidFormat(_))), "{files}");
        }
        assert!(matches!(
            SignFile::parse(b"{\"version\":\"1.0\"}"),
            Err(Cause::InvalidFormat(_))
        ));
    }

    #[test]
    fn result_names_are_told_apart() {
        assert!(is_result_name("result_1.csv.gz"));
        assert!(!is_result_name("result_.csv.gz"));
        assert!(!is_result_name(SIGN_FILE));
        assert!(!is_result_name("notes.txt"));
    }

    #[test]
    fn the_account_comes_from_the_lake_folder() {
        assert_eq!(
            account_of("p/AWSLogs/111122223333/CloudTrail-Lake/Query/2026/11/01/q/").as_deref(),
            Some("111122223333")
        );
        assert_eq!(account_of("some/folder/"), None);
    }
}
