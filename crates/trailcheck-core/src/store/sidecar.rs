//! Digest signature metadata: the one reader of it, whichever store it comes from.
//!
//! S3 keeps a digest's signature as user metadata (`x-amz-meta-signature`); a folder keeps it
//! in a sidecar `KEY.meta.json` holding what `aws s3api head-object` prints. Both are read
//! here, names matched without regard to case (S3 lower-cases them, people may not), so a
//! digest's signature means the same thing from every source.

use std::collections::BTreeMap;
use std::io::Read;

use serde::Serialize;
use serde_json::Value;

use super::Metadata;

/// The suffix of the signature sidecar written beside a digest (`KEY.meta.json`).
pub const SIDECAR_SUFFIX: &str = ".meta.json";
/// Sidecars larger than this are not read: a real one is a few hundred bytes.
pub const MAX_SIDECAR: u64 = 64 * 1024;

const SIGNATURE: &str = "signature";
const SIGNATURE_ALGORITHM: &str = "signature-algorithm";
const BACKFILL_GENERATION: &str = "backfill-generation-timestamp";

impl Metadata {
    /// The metadata CloudTrail sets, picked from user metadata `fields` (name, value),
    /// names compared without regard to case.
    pub fn from_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> Self {
        let field = |name: &str| {
            fields
                .clone()
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_owned())
        };
        Metadata {
            signature: field(SIGNATURE),
            signature_algorithm: field(SIGNATURE_ALGORITHM),
            backfill_generation_timestamp: field(BACKFILL_GENERATION),
            problem: None,
        }
    }

    /// Metadata that exists but could not be read: the digest stays unsigned, with why.
    pub fn unreadable(why: String) -> Self {
        Metadata {
            problem: Some(why),
            ..Metadata::default()
        }
    }
}

/// Reads a sidecar, at most [`MAX_SIDECAR`] bytes of it: `{"Metadata": {...}}`.
pub fn read(source: impl Read) -> Result<Metadata, String> {
    let mut bytes = Vec::new();
    source
        .take(MAX_SIDECAR + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_SIDECAR {
        return Err("larger than a signature sidecar can be".to_owned());
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON ({e})"))?;
    let metadata = value
        .get("Metadata")
        .and_then(Value::as_object)
        .ok_or("no \"Metadata\" object")?;
    let strings = metadata
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)));
    Ok(Metadata::from_fields(strings))
}

#[derive(Serialize)]
struct HeadObject<'a> {
    #[serde(rename = "Metadata")]
    metadata: BTreeMap<&'static str, &'a str>,
}

/// A sidecar's bytes for `metadata`, as `aws s3api head-object` prints it. A digest without
/// metadata gets an empty one, so it stays unsigned offline too.
pub fn to_json(metadata: &Metadata) -> Vec<u8> {
    let fields = [
        (SIGNATURE, &metadata.signature),
        (SIGNATURE_ALGORITHM, &metadata.signature_algorithm),
        (BACKFILL_GENERATION, &metadata.backfill_generation_timestamp),
    ];
    let head = HeadObject {
        metadata: fields
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.as_deref()?)))
            .collect(),
    };
    // A map of strings always serializes; the empty fallback is never taken.
    let mut json = serde_json::to_vec_pretty(&head).unwrap_or_default();
    json.push(b'\n');
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecar_fields_are_read_whatever_their_case() {
        let m = read(
            &br#"{"Metadata": {"Signature": "ab", "SIGNATURE-ALGORITHM": "SHA256withRSA"}}"#[..],
        )
        .unwrap();
        assert_eq!(m.signature.as_deref(), Some("ab"));
        assert_eq!(m.signature_algorithm.as_deref(), Some("SHA256withRSA"));
        assert_eq!(m.backfill_generation_timestamp, None);
    }

    #[test]
    fn sidecar_written_reads_back_the_same() {
        let m = Metadata {
            signature: Some("00ff".to_owned()),
            signature_algorithm: Some("SHA256withRSA".to_owned()),
            backfill_generation_timestamp: Some("2026-11-01T05:00:00Z".to_owned()),
            problem: None,
        };
        assert_eq!(read(&to_json(&m)[..]).unwrap(), m);
        assert_eq!(
            read(&to_json(&Metadata::default())[..]).unwrap(),
            Metadata::default()
        );
    }

    #[test]
    fn sidecar_that_is_not_json_too_large_or_without_metadata_is_refused() {
        for (bytes, says) in [
            (b"not json".to_vec(), "not JSON"),
            (br#"{"signature": "ab"}"#.to_vec(), "no \"Metadata\""),
            (vec![b' '; MAX_SIDECAR as usize + 1], "larger than"),
        ] {
            let err = read(&bytes[..]).unwrap_err();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn non_string_metadata_values_are_ignored() {
        let m = read(&br#"{"Metadata": {"signature": 7}}"#[..]).unwrap();
        assert_eq!(m.signature, None);
    }
}
