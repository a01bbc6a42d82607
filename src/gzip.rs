//! Reading gzip members from untrusted bytes: bounded for digests, streamed for logs.
//!
//! CloudTrail writes one gzip member per file. Anything after the end of that member
//! (a second member, or junk) is tampering: a reader like `zcat` would show the appended
//! data while the first member's hash still matches, so it is reported, never skipped.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

use flate2::bufread::GzDecoder;

use crate::hash::{HashingReader, Sha256};

/// Size of the read buffer for a log stream; also the memory one log costs.
const BUFFER: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GzipError {
    /// Not gzip, or a corrupt stream (bad header, bad deflate data, bad CRC or size, truncated).
    Invalid(String),
    /// Bytes follow the end of the first member.
    TrailingData,
    /// The content inflates past the given limit.
    TooLarge { limit: u64 },
    /// The underlying reader failed (not a property of the file).
    Io(String),
}

impl fmt::Display for GzipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GzipError::Invalid(why) => write!(f, "not a valid gzip stream: {why}"),
            GzipError::TrailingData => f.write_str("data follows the end of the gzip stream"),
            GzipError::TooLarge { limit } => {
                write!(f, "inflates to more than {limit} bytes")
            }
            GzipError::Io(why) => write!(f, "read failed: {why}"),
        }
    }
}

/// What a log stream hashes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inflated {
    pub sha256: Sha256,
    /// Uncompressed size in bytes.
    pub size: u64,
}

/// Inflates the first gzip member of `input` into memory, refusing more than `limit` bytes.
pub fn inflate_bounded(input: impl Read, limit: u64) -> Result<Vec<u8>, GzipError> {
    let mut source = BufReader::with_capacity(BUFFER, input);
    ensure_not_empty(&mut source)?;
    let mut out = Vec::new();
    {
        let decoder = GzDecoder::new(&mut source);
        let read = decoder
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(classify)?;
        if read as u64 > limit {
            return Err(GzipError::TooLarge { limit });
        }
    }
    ensure_empty(&mut source)?;
    Ok(out)
}

/// Streams the first gzip member of `input` through SHA-256 without keeping it.
pub fn hash_stream(input: impl Read) -> Result<Inflated, GzipError> {
    let mut source = BufReader::with_capacity(BUFFER, input);
    ensure_not_empty(&mut source)?;
    let (sha256, size) = {
        let mut hashing = HashingReader::new(GzDecoder::new(&mut source));
        let mut buffer = vec![0u8; BUFFER];
        loop {
            match hashing.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(classify(e)),
            }
        }
        let (sha256, size, _) = hashing.finish();
        (sha256, size)
    };
    ensure_empty(&mut source)?;
    Ok(Inflated { sha256, size })
}

/// flate2 reports an empty input as a clean end of stream; a file must hold a whole member.
fn ensure_not_empty(source: &mut impl BufRead) -> Result<(), GzipError> {
    let start = source
        .fill_buf()
        .map_err(|e| GzipError::Io(e.to_string()))?;
    if start.is_empty() {
        Err(GzipError::Invalid("the file is empty".to_owned()))
    } else {
        Ok(())
    }
}

/// Whatever follows the first member must be nothing.
fn ensure_empty(source: &mut impl BufRead) -> Result<(), GzipError> {
    let rest = source
        .fill_buf()
        .map_err(|e| GzipError::Io(e.to_string()))?;
    if rest.is_empty() {
        Ok(())
    } else {
        Err(GzipError::TrailingData)
    }
}

/// Separates corrupt data from failing reads: flate2 reports both as `io::Error`.
fn classify(error: io::Error) -> GzipError {
    match error.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            GzipError::Invalid(error.to_string())
        }
        _ => GzipError::Io(error.to_string()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_single_member_hashes_its_uncompressed_bytes() {
        let data = br#"{"Records":[]}"#;
        let got = hash_stream(&gzip(data)[..]).unwrap();
        assert_eq!(got.sha256, Sha256::of(data));
        assert_eq!(got.size, data.len() as u64);
        assert_eq!(inflate_bounded(&gzip(data)[..], 100).unwrap(), data);
    }

    #[test]
    fn a_second_member_is_trailing_data() {
        let both = [gzip(b"first"), gzip(b"second")].concat();
        assert_eq!(hash_stream(&both[..]), Err(GzipError::TrailingData));
        assert_eq!(
            inflate_bounded(&both[..], 100),
            Err(GzipError::TrailingData)
        );
    }

    #[test]
    fn junk_after_the_member_is_trailing_data() {
        let mut bytes = gzip(b"first");
        bytes.push(0);
        assert_eq!(hash_stream(&bytes[..]), Err(GzipError::TrailingData));
    }

    #[test]
    fn empty_plain_truncated_and_bad_crc_inputs_are_invalid() {
        let good = gzip(b"some log content that is long enough to compress");
        let mut bad_crc = good.clone();
        let crc_at = bad_crc.len() - 8;
        bad_crc[crc_at] ^= 1;
        let truncated = &good[..good.len() - 3];
        for input in [&b""[..], b"{\"Records\":[]}", truncated, &bad_crc] {
            assert!(
                matches!(hash_stream(input), Err(GzipError::Invalid(_))),
                "{:?}",
                hash_stream(input)
            );
        }
    }

    #[test]
    fn inflating_past_the_limit_stops() {
        let big = gzip(&vec![b'a'; 10_000]);
        assert_eq!(
            inflate_bounded(&big[..], 9_999),
            Err(GzipError::TooLarge { limit: 9_999 })
        );
        assert_eq!(inflate_bounded(&big[..], 10_000).unwrap().len(), 10_000);
    }

    #[test]
    fn header_mtime_and_os_byte_do_not_change_the_hash() {
        let mut bytes = gzip(b"content");
        let before = hash_stream(&bytes[..]).unwrap();
        bytes[4] ^= 0xff; // MTIME
        bytes[9] = 3; // OS
        assert_eq!(hash_stream(&bytes[..]).unwrap(), before);
    }
}
