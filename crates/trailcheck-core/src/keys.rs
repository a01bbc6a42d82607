//! CloudTrail public keys: loading key files, checking them, finding a key by fingerprint.
//!
//! Key files hold what `aws cloudtrail list-public-keys` prints. A key whose fingerprint does
//! not match its bytes, or that is not a 2048-8192 bit RSA key, makes the whole file an error:
//! a corrupt key store must stop the run, not quietly verify fewer digests.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};
use serde::Deserialize;
use serde_json::Value;

use crate::der;
use crate::error::ConfigError;

/// Key files larger than this are refused; real ones are a few KiB.
const MAX_KEY_FILE: u64 = 4 * 1024 * 1024;
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 8192;

/// One verified-well-formed RSA public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// Lower-case hex MD5 of the DER bytes as delivered.
    pub fingerprint: String,
    /// The key as PKCS#1 `RSAPublicKey`, the form ring verifies with.
    pub pkcs1: Vec<u8>,
    pub bits: usize,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    /// The file the key came from, for reports.
    pub file: PathBuf,
}

/// The keys a run may verify with, by fingerprint.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: BTreeMap<String, PublicKey>,
}

/// A key as CloudTrail's ListPublicKeys returns it: DER bytes and what CloudTrail says of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedKey {
    pub der: Vec<u8>,
    pub fingerprint: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "PublicKeyList")]
    public_key_list: Vec<KeyEntry>,
}

#[derive(Deserialize)]
struct KeyEntry {
    #[serde(rename = "Value")]
    value: String,
    #[serde(rename = "Fingerprint")]
    fingerprint: String,
    #[serde(rename = "ValidityStartTime", default)]
    validity_start: Option<Value>,
    #[serde(rename = "ValidityEndTime", default)]
    validity_end: Option<Value>,
}

impl KeyRing {
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads every `*.json` file in `dir`. An empty folder is an error: nothing could be proven.
    pub fn load_dir(dir: &Path) -> Result<Self, ConfigError> {
        let folder_error = |why: String| ConfigError::KeyFolder {
            path: dir.to_owned(),
            why,
        };
        let entries = fs::read_dir(dir).map_err(|e| folder_error(e.to_string()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        files.sort();
        let mut ring = Self::new();
        for file in &files {
            ring.load_file(file)?;
        }
        if ring.keys.is_empty() {
            return Err(folder_error(
                "holds no public keys (*.json files as `aws cloudtrail list-public-keys` prints)"
                    .to_owned(),
            ));
        }
        Ok(ring)
    }

    /// Loads one key file, adding its keys.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let bytes = read_bounded(path)?;
        self.add_json(&bytes, path)
    }

    /// Adds the keys of a key file's content; `path` names it in errors and reports.
    pub fn add_json(&mut self, bytes: &[u8], path: &Path) -> Result<(), ConfigError> {
        let file_error = |why: String| ConfigError::KeyFile {
            path: path.to_owned(),
            why,
        };
        let parsed: KeyFile = serde_json::from_slice(bytes)
            .map_err(|e| file_error(format!("not a list-public-keys JSON document ({e})")))?;
        for (i, entry) in parsed.public_key_list.iter().enumerate() {
            let key =
                parse_entry(entry, path).map_err(|why| file_error(format!("key {i}: {why}")))?;
            self.keys.insert(key.fingerprint.clone(), key);
        }
        Ok(())
    }

    /// Adds keys fetched from CloudTrail, checked as key files are: a fingerprint that does
    /// not match its key's bytes is an error. `origin` names the call in reports.
    pub fn add_fetched(&mut self, keys: &[FetchedKey], origin: &str) -> Result<(), ConfigError> {
        for (i, fetched) in keys.iter().enumerate() {
            let key = parse_der(
                &fetched.der,
                &fetched.fingerprint,
                (fetched.valid_from, fetched.valid_to),
                Path::new(origin),
            )
            .map_err(|why| ConfigError::Aws {
                why: format!("{origin}: key {i}: {why}"),
            })?;
            self.keys.insert(key.fingerprint.clone(), key);
        }
        Ok(())
    }

    pub fn get(&self, fingerprint: &str) -> Option<&PublicKey> {
        self.keys.get(&fingerprint.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values()
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let file_error = |why: String| ConfigError::KeyFile {
        path: path.to_owned(),
        why,
    };
    let size = fs::metadata(path)
        .map_err(|e| file_error(e.to_string()))?
        .len();
    if size > MAX_KEY_FILE {
        return Err(file_error(format!(
            "{size} bytes is too large for a key file"
        )));
    }
    fs::read(path).map_err(|e| file_error(e.to_string()))
}

fn parse_entry(entry: &KeyEntry, path: &Path) -> Result<PublicKey, String> {
    let der = STANDARD
        .decode(entry.value.trim())
        .map_err(|e| format!("Value is not base64 ({e})"))?;
    let validity = (
        parse_time(entry.validity_start.as_ref(), "ValidityStartTime")?,
        parse_time(entry.validity_end.as_ref(), "ValidityEndTime")?,
    );
    parse_der(&der, &entry.fingerprint, validity, path)
}

type Validity = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Checks a key's bytes against its claimed fingerprint, and that it is a usable RSA key.
fn parse_der(
    der: &[u8],
    claimed: &str,
    (valid_from, valid_to): Validity,
    path: &Path,
) -> Result<PublicKey, String> {
    let fingerprint = hex::encode(Md5::digest(der));
    if !fingerprint.eq_ignore_ascii_case(claimed.trim()) {
        return Err(format!(
            "Fingerprint {claimed} does not match the key's bytes (their MD5 is {fingerprint}): \
             the key is corrupt"
        ));
    }
    let (pkcs1, bits) =
        der::rsa_public_key(der).map_err(|e| format!("not an RSA public key: {e}"))?;
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err(format!(
            "a {bits}-bit RSA key; only {MIN_BITS} to {MAX_BITS} bits are accepted"
        ));
    }
    Ok(PublicKey {
        fingerprint,
        pkcs1: pkcs1.to_vec(),
        bits,
        valid_from,
        valid_to,
        file: path.to_owned(),
    })
}

/// Keys in the shape `aws cloudtrail list-public-keys` prints (`Value` base64, times in
/// RFC 3339), so that saved keys load as a key file.
pub fn list_public_keys_json(keys: &[FetchedKey]) -> Vec<u8> {
    let list: Vec<Value> = keys
        .iter()
        .map(|k| {
            serde_json::json!({
                "Value": STANDARD.encode(&k.der),
                "ValidityStartTime": k.valid_from.map(crate::time::display),
                "ValidityEndTime": k.valid_to.map(crate::time::display),
                "Fingerprint": k.fingerprint,
            })
        })
        .collect();
    let mut json = serde_json::to_vec_pretty(&serde_json::json!({ "PublicKeyList": list }))
        .unwrap_or_default();
    json.push(b'\n');
    json
}

/// Validity times come as ISO strings or epoch seconds, depending on the CLI's settings.
fn parse_time(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => crate::time::parse_cloudtrail(text)
            .or_else(|| crate::time::parse_user(text, DateTime::UNIX_EPOCH).ok())
            .map(Some)
            .ok_or_else(|| format!("{field} '{text}' is not a time")),
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(|secs| DateTime::from_timestamp(secs.trunc() as i64, 0))
            .map(Some)
            .ok_or_else(|| format!("{field} {n} is not a time")),
        Some(other) => Err(format!("{field} {other} is not a time")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEYS: &str = include_str!("../../../keys/test-keys.json");

    fn ring() -> KeyRing {
        let mut ring = KeyRing::new();
        ring.add_json(TEST_KEYS.as_bytes(), Path::new("test-keys.json"))
            .unwrap();
        ring
    }

    fn entry(value: &str, fingerprint: &str) -> String {
        format!(
            r#"{{"PublicKeyList":[{{"Value":"{value}","Fingerprint":"{fingerprint}",
            "ValidityStartTime":1420070400,"ValidityEndTime":"2030-01-01T00:00:00Z"}}]}}"#
        )
    }

    #[test]
    fn shipped_test_keys_load_by_fingerprint() {
        let ring = ring();
        assert_eq!(ring.len(), 2);
        for key in ring.iter() {
            assert_eq!(key.bits, 2048);
            assert_eq!(ring.get(&key.fingerprint.to_uppercase()), Some(key));
        }
    }

    #[test]
    fn epoch_and_iso_validity_times_both_parse() {
        let key = ring().iter().next().unwrap().clone();
        let value = STANDARD.encode(&key.pkcs1);
        let mut ring = KeyRing::new();
        ring.add_json(
            entry(&value, &key.fingerprint).as_bytes(),
            Path::new("k.json"),
        )
        .unwrap();
        let loaded = ring.get(&key.fingerprint).unwrap();
        assert_eq!(
            loaded.valid_from.unwrap().to_rfc3339(),
            "2015-01-01T00:00:00+00:00"
        );
        assert_eq!(
            loaded.valid_to.unwrap().to_rfc3339(),
            "2030-01-01T00:00:00+00:00"
        );
    }

    #[test]
    fn fingerprint_mismatch_is_an_error_naming_the_file() {
        let key = ring().iter().next().unwrap().clone();
        let value = STANDARD.encode(&key.pkcs1);
        let err = KeyRing::new()
            .add_json(
                entry(&value, &"0".repeat(32)).as_bytes(),
                Path::new("bad.json"),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bad.json") && err.contains("does not match"),
            "{err}"
        );
    }

    #[test]
    fn fetched_keys_are_checked_and_round_trip_through_a_key_file() {
        let key = ring().iter().next().unwrap().clone();
        let fetched = FetchedKey {
            der: key.pkcs1.clone(),
            fingerprint: key.fingerprint.to_uppercase(),
            valid_from: key.valid_from,
            valid_to: key.valid_to,
        };
        let mut online = KeyRing::new();
        online
            .add_fetched(std::slice::from_ref(&fetched), "ListPublicKeys us-east-1")
            .unwrap();
        assert_eq!(online.get(&key.fingerprint).unwrap().pkcs1, key.pkcs1);
        let mut saved = KeyRing::new();
        saved
            .add_json(
                &list_public_keys_json(std::slice::from_ref(&fetched)),
                Path::new("k.json"),
            )
            .unwrap();
        assert_eq!(saved.get(&key.fingerprint).unwrap().valid_to, key.valid_to);
        let corrupt = FetchedKey {
            fingerprint: "0".repeat(32),
            ..fetched
        };
        let err = KeyRing::new()
            .add_fetched(&[corrupt], "ListPublicKeys us-east-1")
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not match"), "{err}");
    }

    #[test]
    fn short_keys_garbage_and_wrong_shapes_are_errors() {
        let short = {
            // A 1024-bit modulus in PKCS#1 form.
            let mut modulus = vec![0x02, 0x81, 0x81, 0x00];
            modulus.extend(std::iter::repeat_n(0xc3, 128));
            let body = [modulus, vec![0x02, 0x03, 1, 0, 1]].concat();
            [vec![0x30, 0x81, body.len() as u8], body].concat()
        };
        let short_fp = hex::encode(Md5::digest(&short));
        let cases = [
            entry(&STANDARD.encode(&short), &short_fp),
            entry("%%%", "00"),
            entry(
                &STANDARD.encode(b"junk"),
                &hex::encode(Md5::digest(b"junk")),
            ),
            r#"{"Keys":[]}"#.to_owned(),
            "not json".to_owned(),
        ];
        for case in cases {
            assert!(
                KeyRing::new()
                    .add_json(case.as_bytes(), Path::new("k.json"))
                    .is_err(),
                "{case}"
            );
        }
    }
}
