//! CloudTrail public keys: loading key files, checking them, and deciding which key may
//! verify which digest.
//!
//! Key files hold what `aws cloudtrail list-public-keys` prints. A key whose fingerprint does
//! not match its bytes, or that is not a 2048-8192 bit RSA key, makes the whole file an error:
//! a corrupt key store must stop the run, not quietly verify fewer digests.
//!
//! Keys are evidence, not authority: each key carries where it came from ([`KeyOrigin`]),
//! and [`KeyRing::authorize`] only lets a key verify a digest signed in its region, within
//! its validity, and (with pinning) only when its fingerprint is pinned.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::der;
use crate::error::ConfigError;
use crate::hash::Sha256;
use crate::verdict::{KeyTrust, Trust};

/// A key's validity is widened by this on each side before a digest's signing time is held
/// against it. CloudTrail signs a digest when it delivers it, minutes after its end time, so
/// a digest ending just before a rotation may carry the new key; the AWS CLI allows for this
/// by asking ListPublicKeys up to two hours past the end of its range (and one hour around a
/// backfill digest's generation time). Two hours keeps every digest the CLI accepts.
pub const VALIDITY_MARGIN: Duration = Duration::hours(2);

/// A key file written by `trailcheck keys fetch` or `archive` has its provenance record
/// beside it, named after it with this ending instead of `.json`.
pub const PROVENANCE_SUFFIX: &str = ".provenance.json";

/// Where a key came from: what its trust rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    /// Read from a key file.
    File,
    /// Fetched from CloudTrail's ListPublicKeys during the run, in this region.
    CloudTrail { region: String },
}

/// What a key file's fetch recorded: written beside the key file, shown in the report. It is
/// evidence about the key file, as good as the folder that holds it; `keys verify` anchors it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The call the keys came from: `CloudTrail ListPublicKeys`.
    pub fetched_with: String,
    pub region: String,
    /// The range asked for (RFC 3339).
    pub requested_start: String,
    pub requested_end: String,
    /// When the call was made (RFC 3339).
    pub fetched_at: String,
    /// STS GetCallerIdentity at the time, where it answered.
    pub caller: Option<Caller>,
    /// Why the caller identity is missing, when it is.
    pub caller_unavailable: Option<String>,
    /// The program that wrote the record.
    pub tool: String,
    /// The key file's name and the SHA-256 of its bytes as written.
    pub key_file: String,
    pub key_file_sha256: String,
    pub fingerprints: Vec<String>,
}

/// Who fetched the keys, as STS GetCallerIdentity answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

/// Why a key may not verify a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRefusal {
    /// No key has the fingerprint.
    Unknown(String),
    /// The key is known but not pinned.
    Untrusted(String),
    /// The key's region is known and is not the digest's.
    OtherRegion {
        fingerprint: String,
        key_region: String,
        digest_region: String,
    },
    /// The digest was signed outside the key's validity (widened by [`VALIDITY_MARGIN`]).
    NotValidThen {
        fingerprint: String,
        signed: DateTime<Utc>,
        valid_from: Option<DateTime<Utc>>,
        valid_to: Option<DateTime<Utc>>,
    },
}

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
    /// The file the key came from (or the call, for a fetched key), for reports.
    pub file: PathBuf,
    pub origin: KeyOrigin,
    /// The regions whose digests the key signs, when known (from CloudTrail or a provenance
    /// record; a bare key file does not say): empty when unknown.
    pub regions: BTreeSet<String>,
    /// The key file's provenance record, when it has one.
    pub provenance: Option<Provenance>,
    /// The key file lies inside the source being judged ([`KeyRing::note_source`]).
    pub inside_source: bool,
}

impl PublicKey {
    /// Whether this key may verify a digest of `region` signed at `signed`.
    fn allows(&self, signed: DateTime<Utc>, region: Option<&str>) -> Result<(), KeyRefusal> {
        if let Some(digest_region) = region
            && !self.regions.is_empty()
            && !self.regions.contains(digest_region)
        {
            return Err(KeyRefusal::OtherRegion {
                fingerprint: self.fingerprint.clone(),
                key_region: self.regions.iter().cloned().collect::<Vec<_>>().join(","),
                digest_region: digest_region.to_owned(),
            });
        }
        let too_early = self
            .valid_from
            .is_some_and(|f| signed < f - VALIDITY_MARGIN);
        let too_late = self.valid_to.is_some_and(|t| signed > t + VALIDITY_MARGIN);
        if too_early || too_late {
            return Err(KeyRefusal::NotValidThen {
                fingerprint: self.fingerprint.clone(),
                signed,
                valid_from: self.valid_from,
                valid_to: self.valid_to,
            });
        }
        Ok(())
    }
}

/// The keys a run may verify with, by fingerprint, and the fingerprints pinned, if any.
#[derive(Clone, Debug, Default)]
pub struct KeyRing {
    keys: BTreeMap<String, PublicKey>,
    pinned: Option<BTreeSet<String>>,
    /// Where the pins came from, for reports.
    pinned_from: Option<String>,
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
            .filter(|p| !is_provenance_file(p))
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

    /// Loads one key file, adding its keys, with the provenance record beside it if any.
    /// A record whose SHA-256 is not the key file's means the file changed after its fetch:
    /// an error, like any other corrupt key file.
    pub fn load_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let bytes = read_bounded(path)?;
        let provenance = read_provenance(path)?;
        if let Some(record) = &provenance {
            let actual = Sha256::of(&bytes).to_hex();
            if !record.key_file_sha256.eq_ignore_ascii_case(&actual) {
                return Err(ConfigError::KeyFile {
                    path: path.to_owned(),
                    why: format!(
                        "its SHA-256 is {actual}, but its provenance record says {} was written \
                         when it was fetched: the file changed since",
                        record.key_file_sha256
                    ),
                });
            }
        }
        let before: BTreeSet<String> = self.keys.keys().cloned().collect();
        self.add_json(&bytes, path)?;
        if let Some(record) = provenance {
            for (fingerprint, key) in self.keys.iter_mut() {
                if !before.contains(fingerprint) && key.file == path {
                    key.regions = BTreeSet::from([record.region.clone()]);
                    key.provenance = Some(record.clone());
                }
            }
        }
        Ok(())
    }

    /// Marks each key read from a file inside `source` (compared after resolving symlinks):
    /// such a key is vouched for by the very evidence it is to judge.
    pub fn note_source(&mut self, source: &Path) {
        let Ok(root) = fs::canonicalize(source) else {
            return;
        };
        for key in self.keys.values_mut() {
            if key.origin == KeyOrigin::File {
                key.inside_source = fs::canonicalize(&key.file).is_ok_and(|f| f.starts_with(&root));
            }
        }
    }

    /// Limits the keys that may verify digests to these fingerprints, read from `from`.
    pub fn pin(&mut self, fingerprints: impl IntoIterator<Item = String>, from: &str) {
        self.pinned_from = Some(from.to_owned());
        self.pinned = Some(
            fingerprints
                .into_iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect(),
        );
    }

    /// The pinned fingerprints, when the ring is pinned.
    pub fn pinned(&self) -> Option<&BTreeSet<String>> {
        self.pinned.as_ref()
    }

    /// Where trust comes from in a run with this ring, for the report.
    pub fn trust(&self) -> Trust {
        let keys = self
            .keys
            .values()
            .map(|key| KeyTrust {
                fingerprint: key.fingerprint.clone(),
                origin: match key.origin {
                    KeyOrigin::File => "file",
                    KeyOrigin::CloudTrail { .. } => "cloudtrail",
                },
                location: key.file.display().to_string(),
                region: (!key.regions.is_empty())
                    .then(|| key.regions.iter().cloned().collect::<Vec<_>>().join(",")),
                valid_from: key.valid_from,
                valid_to: key.valid_to,
                inside_source: key.inside_source,
                provenance: key.provenance.clone(),
            })
            .collect();
        Trust {
            keys,
            pinned_from: self.pinned_from.clone(),
            pinned: self.pinned.iter().flatten().cloned().collect(),
        }
    }

    /// The key that may verify a digest naming `fingerprint`, signed at `signed` in `region`
    /// (`None` when the digest's region is not known), or why none may.
    pub fn authorize(
        &self,
        fingerprint: &str,
        signed: DateTime<Utc>,
        region: Option<&str>,
    ) -> Result<&PublicKey, KeyRefusal> {
        let key = self
            .get(fingerprint)
            .ok_or_else(|| KeyRefusal::Unknown(fingerprint.to_owned()))?;
        if let Some(pinned) = &self.pinned
            && !pinned.contains(&key.fingerprint)
        {
            return Err(KeyRefusal::Untrusted(key.fingerprint.clone()));
        }
        key.allows(signed, region)?;
        Ok(key)
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

    /// Adds keys fetched from CloudTrail in `region`, checked as key files are: a
    /// fingerprint that does not match its key's bytes is an error. `origin` names the call
    /// in reports.
    pub fn add_fetched(
        &mut self,
        keys: &[FetchedKey],
        region: &str,
        origin: &str,
    ) -> Result<(), ConfigError> {
        for (i, fetched) in keys.iter().enumerate() {
            let mut key = parse_der(
                &fetched.der,
                &fetched.fingerprint,
                (fetched.valid_from, fetched.valid_to),
                Path::new(origin),
            )
            .map_err(|why| ConfigError::Aws {
                why: format!("{origin}: key {i}: {why}"),
            })?;
            // One key published in several regions (asked once per region) keeps them all.
            if let Some(known) = self.keys.get_mut(&key.fingerprint)
                && known.pkcs1 == key.pkcs1
                && matches!(known.origin, KeyOrigin::CloudTrail { .. })
            {
                known.regions.insert(region.to_owned());
                continue;
            }
            key.origin = KeyOrigin::CloudTrail {
                region: region.to_owned(),
            };
            key.regions = BTreeSet::from([region.to_owned()]);
            self.keys.insert(key.fingerprint.clone(), key);
        }
        Ok(())
    }

    /// Adds the keys of `other`, asked for later in the same run; its pins, when it has
    /// any, are the run's pins too.
    pub fn absorb(&mut self, other: KeyRing) {
        self.keys.extend(other.keys);
        if other.pinned.is_some() {
            self.pinned = other.pinned;
            self.pinned_from = other.pinned_from;
        }
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
        origin: KeyOrigin::File,
        regions: BTreeSet::new(),
        provenance: None,
        inside_source: false,
    })
}

fn is_provenance_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(PROVENANCE_SUFFIX))
}

/// The provenance record's path for a key file: `NAME.json` -> `NAME.provenance.json`.
pub fn provenance_path(key_file: &Path) -> PathBuf {
    let stem = key_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    key_file.with_file_name(format!("{stem}{PROVENANCE_SUFFIX}"))
}

/// Reads the provenance record beside `key_file`, if there is one.
fn read_provenance(key_file: &Path) -> Result<Option<Provenance>, ConfigError> {
    let path = provenance_path(key_file);
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = read_bounded(&path)?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ConfigError::KeyFile {
            path,
            why: format!("not a trailcheck key provenance record ({e})"),
        })
}

/// The provenance record's bytes, as `keys fetch` and `archive` write them.
pub fn provenance_json(record: &Provenance) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(record).unwrap_or_default();
    json.push(b'\n');
    json
}

/// Reads `--trusted-fingerprints`: one fingerprint a line (`#` starts a comment), or a
/// trailcheck JSON result, whose `keys[].fingerprint` are taken. Each must be 32 hex digits;
/// an empty list is an error, as it would let nothing verify.
pub fn parse_pins(text: &str) -> Result<Vec<String>, String> {
    let trimmed = text.trim_start();
    let candidates: Vec<String> = if trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(trimmed)
            .map_err(|e| format!("not a trailcheck JSON result ({e})"))?;
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("a JSON file must be a trailcheck result with a `keys` list")?;
        keys.iter()
            .map(|k| {
                k.get("fingerprint")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| "an entry of `keys` has no `fingerprint`".to_owned())
            })
            .collect::<Result<_, _>>()?
    } else {
        text.lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let mut pins = Vec::new();
    for (i, candidate) in candidates.iter().enumerate() {
        let ok = candidate.len() == 32 && candidate.bytes().all(|b| b.is_ascii_hexdigit());
        if !ok {
            return Err(format!(
                "entry {} ('{}') is not a key fingerprint (32 hex digits)",
                i + 1,
                candidate.escape_debug()
            ));
        }
        pins.push(candidate.to_ascii_lowercase());
    }
    if pins.is_empty() {
        return Err("no fingerprints: nothing could verify a digest".to_owned());
    }
    Ok(pins)
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
            .add_fetched(
                std::slice::from_ref(&fetched),
                "us-east-1",
                "ListPublicKeys us-east-1",
            )
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
            .add_fetched(&[corrupt], "us-east-1", "ListPublicKeys us-east-1")
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

#[cfg(test)]
mod pin_tests {
    use super::*;

    #[test]
    fn pins_read_from_lines_or_a_json_result_and_garbage_is_refused() {
        let fp = "b3d9092a153a151c8f6ee39e83e22c1d";
        assert_eq!(
            parse_pins(&format!("# pinned\n{}\n\n", fp.to_uppercase())).unwrap(),
            vec![fp]
        );
        let result = format!(r#"{{"version":1,"keys":[{{"fingerprint":"{fp}"}}]}}"#);
        assert_eq!(parse_pins(&result).unwrap(), vec![fp]);
        for bad in ["", "# nothing\n", "xyz\n", r#"{"files":[]}"#] {
            assert!(parse_pins(bad).is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod region_tests {
    use super::*;

    #[test]
    fn one_key_published_in_two_regions_verifies_digests_of_both_and_no_other() {
        let mut ring = KeyRing::new();
        ring.add_json(
            include_bytes!("../../../keys/test-keys.json"),
            Path::new("k.json"),
        )
        .unwrap();
        let key = ring.iter().next().unwrap().clone();
        let fetched = FetchedKey {
            der: key.pkcs1.clone(),
            fingerprint: key.fingerprint.clone(),
            valid_from: key.valid_from,
            valid_to: key.valid_to,
        };
        let mut online = KeyRing::new();
        for region in ["eu-west-1", "us-east-1"] {
            online
                .add_fetched(std::slice::from_ref(&fetched), region, region)
                .unwrap();
        }
        let at = key.valid_from.unwrap() + Duration::days(1);
        for region in ["eu-west-1", "us-east-1"] {
            assert!(online.authorize(&key.fingerprint, at, Some(region)).is_ok());
        }
        assert!(matches!(
            online.authorize(&key.fingerprint, at, Some("ap-south-1")),
            Err(KeyRefusal::OtherRegion { .. })
        ));
        // Edges of the validity margin.
        let from = key.valid_from.unwrap();
        assert!(
            online
                .authorize(&key.fingerprint, from - VALIDITY_MARGIN, None)
                .is_ok()
        );
        assert!(matches!(
            online.authorize(
                &key.fingerprint,
                from - VALIDITY_MARGIN - Duration::seconds(1),
                None
            ),
            Err(KeyRefusal::NotValidThen { .. })
        ));
    }
}
