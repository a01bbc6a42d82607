//! Simulated CloudTrail Lake query results: a query's folder with `result_N.csv.gz` files
//! and a `result_sign.json` signed as CloudTrail signs it, tampered as asked.
//!
//! The signature is made here from the FORMAT.md description (hashes of the stored gzip
//! bytes joined by single spaces, RSA PKCS#1 v1.5 SHA-256), independently of the verifier
//! in `trailcheck_core::lake`, so the two cannot share a misunderstanding unnoticed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Duration, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use md5::Digest as _;

use crate::sign::{PublicKeyRecord, SigningKey};
use crate::{SimError, write};
use trailcheck_core::hash::Sha256;
use trailcheck_core::time;

/// One way to tamper with a query's results after CloudTrail delivered them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LakeTamper {
    /// Change a byte of `result_1.csv.gz`.
    ModifyResult,
    /// Delete the last listed result file.
    DeleteResult,
    /// Add a `result_N.csv.gz` the sign file does not list.
    AddUnlisted,
    /// Change one hex digit of `hashSignature`.
    BadSignature,
    /// Sign with the rogue key, whose public half nobody publishes.
    UnknownKey,
}

/// What query result folder to write.
#[derive(Clone, Debug)]
pub struct LakeSpec {
    pub account: String,
    pub region: String,
    pub query_id: String,
    pub complete_time: DateTime<Utc>,
    /// Result files (at least 1).
    pub files: usize,
    pub rows_per_file: usize,
    pub key: SigningKey,
    pub rogue_key: Option<SigningKey>,
    pub tampers: Vec<LakeTamper>,
}

impl LakeSpec {
    /// A small query: 3 result files of 20 rows each, signed by `key`.
    pub fn new(key: SigningKey) -> Self {
        Self {
            account: crate::DEFAULT_ACCOUNT.to_owned(),
            region: "us-east-1".to_owned(),
            query_id: "0f3a9c2e-5b7d-4e21-9c4a-7d2e1b6f8a90".to_owned(),
            complete_time: crate::default_start() + Duration::hours(30),
            files: 3,
            rows_per_file: 20,
            key,
            rogue_key: None,
            tampers: Vec::new(),
        }
    }

    /// The folder's key: `AWSLogs/ACCOUNT/CloudTrail-Lake/Query/YYYY/MM/DD/QUERY-ID/`.
    pub fn folder_key(&self) -> String {
        let t = self.complete_time;
        format!(
            "AWSLogs/{}/CloudTrail-Lake/Query/{:04}/{:02}/{:02}/{}/",
            self.account,
            t.year(),
            t.month(),
            t.day(),
            self.query_id
        )
    }

    /// The public key CloudTrail would publish for this query's region.
    pub fn public_keys(&self) -> Vec<PublicKeyRecord> {
        vec![PublicKeyRecord::new(
            &self.key,
            self.complete_time - Duration::days(30),
            self.complete_time + Duration::days(365),
        )]
    }
}

/// What was written.
#[derive(Clone, Debug)]
pub struct LakeQuery {
    /// The query's folder on disk.
    pub folder: PathBuf,
    /// Its key relative to `out` (ends in `/`).
    pub folder_key: String,
    /// The result file names the sign file lists, in order.
    pub listed: Vec<String>,
    /// The unlisted result file added, if any.
    pub unlisted: Option<String>,
    /// The listed file deleted, if any.
    pub deleted: Option<String>,
    /// The listed file modified, if any.
    pub modified: Option<String>,
    /// The exact string signed.
    pub signed: String,
    /// The fingerprint the sign file names.
    pub fingerprint: String,
}

/// Writes a query's result folder under `out` (created if needed).
pub fn simulate_lake(spec: &LakeSpec, out: &Path) -> Result<LakeQuery, SimError> {
    if spec.files == 0 {
        return Err(SimError::spec(
            "a query result has at least one result file",
        ));
    }
    let folder_key = spec.folder_key();
    let folder = out.join(&folder_key);
    fs::create_dir_all(&folder).map_err(SimError::write(&folder))?;
    let mut listed = Vec::new();
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    for n in 1..=spec.files {
        let name = format!("result_{n}.csv.gz");
        let bytes = gzip(&name, &csv(spec, n))?;
        let hash = Sha256::of(&bytes).to_hex();
        fs::write(folder.join(&name), &bytes).map_err(SimError::write(folder.join(&name)))?;
        entries.push(serde_json::json!({"fileHashValue": hash, "fileName": name}));
        hashes.push(hash);
        listed.push(name);
    }
    let signed = hashes.join(" ");
    let signer = match (
        spec.tampers.contains(&LakeTamper::UnknownKey),
        &spec.rogue_key,
    ) {
        (true, Some(rogue)) => rogue,
        (true, None) => return Err(SimError::spec("unknown-key needs a rogue key")),
        (false, _) => &spec.key,
    };
    let mut signature = signer.sign_hex(signed.as_bytes())?;
    if spec.tampers.contains(&LakeTamper::BadSignature) {
        signature = flip_hex_digit(&signature);
    }
    let sign = serde_json::json!({
        "version": "1.0",
        "region": spec.region,
        "files": entries,
        "hashAlgorithm": "SHA-256",
        "signatureAlgorithm": "SHA256withRSA",
        "queryCompleteTime": time::display(spec.complete_time),
        "hashSignature": signature,
        "publicKeyFingerprint": signer.fingerprint(),
    });
    let sign_bytes = serde_json::to_vec_pretty(&sign).map_err(SimError::encode("sign file"))?;
    let sign_path = folder.join("result_sign.json");
    fs::write(&sign_path, sign_bytes).map_err(SimError::write(&sign_path))?;

    let mut query = LakeQuery {
        folder: folder.clone(),
        folder_key,
        listed,
        unlisted: None,
        deleted: None,
        modified: None,
        signed,
        fingerprint: signer.fingerprint().to_owned(),
    };
    if spec.tampers.contains(&LakeTamper::ModifyResult) {
        let name = query.listed[0].clone();
        let path = folder.join(&name);
        let mut bytes = fs::read(&path).map_err(SimError::write(&path))?;
        // A byte inside the deflate data, after the 10-byte gzip header.
        let at = bytes.len().min(12).saturating_sub(1);
        bytes[at] ^= 0x01;
        fs::write(&path, bytes).map_err(SimError::write(&path))?;
        query.modified = Some(name);
    }
    if spec.tampers.contains(&LakeTamper::DeleteResult) {
        let name = query.listed[query.listed.len() - 1].clone();
        let path = folder.join(&name);
        fs::remove_file(&path).map_err(SimError::write(&path))?;
        query.deleted = Some(name);
    }
    if spec.tampers.contains(&LakeTamper::AddUnlisted) {
        let n = spec.files + 1;
        let name = format!("result_{n}.csv.gz");
        let bytes = gzip(&name, &csv(spec, n))?;
        fs::write(folder.join(&name), bytes).map_err(SimError::write(folder.join(&name)))?;
        query.unlisted = Some(name);
    }
    Ok(query)
}

/// Writes the query's public key where `validate` and `verify-query-results` read keys.
pub fn write_lake_keys(spec: &LakeSpec, dir: &Path) -> Result<PathBuf, SimError> {
    write::write_public_keys(&spec.public_keys(), dir)
}

/// A result file's CSV: a header and rows of plausible events, the same for the same spec.
fn csv(spec: &LakeSpec, file: usize) -> String {
    let mut text = String::from("eventTime,eventName,eventSource,awsRegion,userIdentity\n");
    for row in 0..spec.rows_per_file {
        let at = spec.complete_time - Duration::minutes((file * 100 + row) as i64);
        let seed = md5::Md5::digest(format!("{file}/{row}").as_bytes());
        let names = ["GetObject", "PutObject", "AssumeRole", "ConsoleLogin"];
        text.push_str(&format!(
            "{},{},s3.amazonaws.com,{},arn:aws:iam::{}:user/u{:02x}\n",
            time::display(at),
            names[usize::from(seed[0]) % names.len()],
            spec.region,
            spec.account,
            seed[1]
        ));
    }
    text
}

fn gzip(name: &str, text: &str) -> Result<Vec<u8>, SimError> {
    let compress = |source| SimError::Compress {
        key: name.to_owned(),
        source,
    };
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(text.as_bytes()).map_err(compress)?;
    encoder.finish().map_err(compress)
}

fn flip_hex_digit(hex: &str) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    if let Some(c) = chars.get_mut(10) {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}
