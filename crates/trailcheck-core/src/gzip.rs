//! Reading gzip members from untrusted bytes: bounded for digests, streamed for logs.
//!
//! CloudTrail writes one gzip member per file. Anything after the end of that member
//! (a second member, or junk) is tampering: a reader like `zcat` would show the appended
//! data while the first member's hash still matches, so it is reported, never skipped.
//!
//! The member is read here (RFC 1952 header and trailer) around flate2's raw inflater, so each
//! thread can keep one inflater and its buffers for every file it reads.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};

use flate2::{Crc, Decompress, FlushDecompress, Status};

use crate::hash::{Hasher, Sha256};

/// Size of each of a thread's two buffers (compressed in, inflated out): with its inflater,
/// the memory a reading thread costs, whatever the size of the files.
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
    let mut out = Vec::new();
    read_member(input, |chunk| {
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(GzipError::TooLarge { limit });
        }
        out.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok(out)
}

/// Streams the first gzip member of `input` through SHA-256 without keeping it.
pub fn hash_stream(input: impl Read) -> Result<Inflated, GzipError> {
    let mut hasher = Hasher::new();
    let size = read_member(input, |chunk| {
        hasher.update(chunk);
        Ok(())
    })?;
    Ok(Inflated {
        sha256: hasher.finish(),
        size,
    })
}

/// Streams the first gzip member of `input` through SHA-256 and also keeps its bytes, while
/// they stay within `keep_limit`: a log read to be queried is inflated once, for its hash and
/// its records alike. Past the limit the bytes are dropped (`None`) and the hashing goes on,
/// so the verdict is the one [`hash_stream`] gives.
pub fn hash_and_keep(
    input: impl Read,
    keep_limit: u64,
) -> Result<(Inflated, Option<Vec<u8>>), GzipError> {
    let mut hasher = Hasher::new();
    let mut kept = Some(Vec::new());
    let size = read_member(input, |chunk| {
        hasher.update(chunk);
        if let Some(bytes) = &mut kept {
            if (bytes.len() + chunk.len()) as u64 > keep_limit {
                kept = None;
            } else {
                bytes.extend_from_slice(chunk);
            }
        }
        Ok(())
    })?;
    let inflated = Inflated {
        sha256: hasher.finish(),
        size,
    };
    Ok((inflated, kept))
}

/// Reads the one gzip member `input` must hold (RFC 1952), handing the inflated bytes to
/// `sink` in chunks, and returns how many there were. The header, the CRC-32 and the size in
/// the trailer are checked, and nothing may follow the member.
fn read_member(
    input: impl Read,
    sink: impl FnMut(&[u8]) -> Result<(), GzipError>,
) -> Result<u64, GzipError> {
    with_inflater(|inflater| {
        let Inflater {
            input: buffer,
            output,
            inflate,
        } = inflater;
        let mut source = Buffered::new(input, buffer);
        ensure_not_empty(&mut source)?;
        read_header(&mut source)?;
        let (crc, size) = inflate_body(&mut source, inflate, output, sink)?;
        let trailer: [u8; 8] = read_array(&mut source, "trailer")?;
        let [c0, c1, c2, c3, s0, s1, s2, s3] = trailer;
        if u32::from_le_bytes([c0, c1, c2, c3]) != crc {
            return Err(GzipError::Invalid(
                "the CRC-32 in the trailer does not match the content".to_owned(),
            ));
        }
        // ISIZE is the size modulo 2^32.
        if u32::from_le_bytes([s0, s1, s2, s3]) != size as u32 {
            return Err(GzipError::Invalid(
                "the size in the trailer does not match the content".to_owned(),
            ));
        }
        ensure_empty(&mut source)?;
        Ok(size)
    })
}

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;
const FRESERVED: u8 = 0xe0;

/// Reads and checks the member header: magic, deflate, no reserved flags, and the header
/// CRC when there is one. Names and comments are skipped, never stored, however long.
fn read_header(source: &mut impl BufRead) -> Result<(), GzipError> {
    let mut header = HeaderReader {
        source,
        crc: Crc::new(),
    };
    let fixed: [u8; 10] = header.array()?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(GzipError::Invalid("no gzip magic number".to_owned()));
    }
    if fixed[2] != 8 {
        return Err(GzipError::Invalid(format!(
            "compression method {} is not deflate",
            fixed[2]
        )));
    }
    let flags = fixed[3];
    if flags & FRESERVED != 0 {
        return Err(GzipError::Invalid(
            "reserved header flags are set".to_owned(),
        ));
    }
    if flags & FEXTRA != 0 {
        let length = u16::from_le_bytes(header.array()?);
        header.skip(usize::from(length))?;
    }
    if flags & FNAME != 0 {
        header.skip_past_nul()?;
    }
    if flags & FCOMMENT != 0 {
        header.skip_past_nul()?;
    }
    if flags & FHCRC != 0 {
        let computed = header.crc.sum() as u16;
        let stored = u16::from_le_bytes(read_array(header.source, "header")?);
        if stored != computed {
            return Err(GzipError::Invalid(
                "the header CRC does not match the header".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Reads header bytes, keeping the CRC of everything read.
struct HeaderReader<'a, R> {
    source: &'a mut R,
    crc: Crc,
}

impl<R: BufRead> HeaderReader<'_, R> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], GzipError> {
        let bytes: [u8; N] = read_array(self.source, "header")?;
        self.crc.update(&bytes);
        Ok(bytes)
    }

    fn skip(&mut self, mut count: usize) -> Result<(), GzipError> {
        while count > 0 {
            let available = fill(self.source, "header")?;
            let n = available.len().min(count);
            self.crc.update(&available[..n]);
            self.source.consume(n);
            count -= n;
        }
        Ok(())
    }

    fn skip_past_nul(&mut self) -> Result<(), GzipError> {
        loop {
            let available = fill(self.source, "header")?;
            let (n, found) = match available.iter().position(|b| *b == 0) {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            self.crc.update(&available[..n]);
            self.source.consume(n);
            if found {
                return Ok(());
            }
        }
    }
}

/// Inflates the raw deflate data, returning the CRC-32 and size of what came out.
fn inflate_body(
    source: &mut impl BufRead,
    inflate: &mut Decompress,
    output: &mut [u8],
    mut sink: impl FnMut(&[u8]) -> Result<(), GzipError>,
) -> Result<(u32, u64), GzipError> {
    inflate.reset(false);
    let mut crc = Crc::new();
    let mut size = 0u64;
    loop {
        let input = source.fill_buf().map_err(classify)?;
        let at_end = input.is_empty();
        let (read_before, written_before) = (inflate.total_in(), inflate.total_out());
        let status = inflate
            .decompress(input, output, FlushDecompress::None)
            .map_err(|e| GzipError::Invalid(format!("corrupt deflate data: {e}")))?;
        let read = usize::try_from(inflate.total_in() - read_before).unwrap_or(usize::MAX);
        let written = usize::try_from(inflate.total_out() - written_before).unwrap_or(0);
        source.consume(read);
        let chunk = &output[..written.min(output.len())];
        crc.update(chunk);
        size += chunk.len() as u64;
        sink(chunk)?;
        if status == Status::StreamEnd {
            return Ok((crc.sum(), size));
        }
        if read == 0 && written == 0 {
            // No progress: the input ran out before the end of the deflate stream, or the
            // inflater will take no more of it.
            let why = if at_end {
                "the deflate data ends early (truncated file)"
            } else {
                "corrupt deflate data: the inflater makes no progress"
            };
            return Err(GzipError::Invalid(why.to_owned()));
        }
    }
}

/// Exactly `N` bytes, or a truncated `part`.
fn read_array<const N: usize>(source: &mut impl BufRead, part: &str) -> Result<[u8; N], GzipError> {
    let mut bytes = [0u8; N];
    let mut filled = 0;
    while filled < N {
        let available = fill(source, part)?;
        let n = available.len().min(N - filled);
        bytes[filled..filled + n].copy_from_slice(&available[..n]);
        source.consume(n);
        filled += n;
    }
    Ok(bytes)
}

/// The next buffered bytes; the end of the input here means the `part` is cut short.
fn fill<'a>(source: &'a mut impl BufRead, part: &str) -> Result<&'a [u8], GzipError> {
    let available = source.fill_buf().map_err(classify)?;
    if available.is_empty() {
        Err(GzipError::Invalid(format!(
            "the gzip {part} ends early (truncated file)"
        )))
    } else {
        Ok(available)
    }
}

/// What one thread reuses from file to file: read buffer, inflate buffer, and inflater.
struct Inflater {
    input: Box<[u8]>,
    output: Box<[u8]>,
    inflate: Decompress,
}

impl Inflater {
    fn new() -> Self {
        Self {
            input: vec![0; BUFFER].into_boxed_slice(),
            output: vec![0; BUFFER].into_boxed_slice(),
            inflate: Decompress::new(false),
        }
    }
}

thread_local! {
    static INFLATER: Cell<Option<Inflater>> = const { Cell::new(None) };
}

/// Runs `f` with this thread's inflater. Allocating an inflater (40 KB of state and window)
/// and two 64 KiB buffers for each of thousands of small logs cost CPU, and freeing them
/// between the run's long-lived small allocations fragmented the allocator: peak RSS rose by
/// about 9 KB per file, to 180 MiB on a 15,000-file archive. A nested call, which nothing makes
/// today, gets a fresh inflater rather than share one.
fn with_inflater<T>(f: impl FnOnce(&mut Inflater) -> T) -> T {
    let mut inflater = INFLATER.with(Cell::take).unwrap_or_else(Inflater::new);
    let result = f(&mut inflater);
    INFLATER.with(|cell| cell.set(Some(inflater)));
    result
}

/// A `BufRead` over a reader, with a borrowed buffer (std's `BufReader` owns its own).
struct Buffered<'a, R> {
    inner: R,
    buffer: &'a mut [u8],
    position: usize,
    filled: usize,
}

impl<'a, R: Read> Buffered<'a, R> {
    fn new(inner: R, buffer: &'a mut [u8]) -> Self {
        Self {
            inner,
            buffer,
            position: 0,
            filled: 0,
        }
    }
}

impl<R: Read> Read for Buffered<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Buffered<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.position >= self.filled {
            self.filled = loop {
                match self.inner.read(self.buffer) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    // A reader claiming more than the buffer holds is not believed.
                    other => break other?.min(self.buffer.len()),
                }
            };
            self.position = 0;
        }
        Ok(&self.buffer[self.position..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.position = self.position.saturating_add(n).min(self.filled);
    }
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

    /// A member written by hand: `header` (10 fixed bytes and any optional fields), raw
    /// deflate of `data`, and a trailer with `crc` and `size` unless given.
    fn member(header: &[u8], data: &[u8], trailer: Option<[u8; 8]>) -> Vec<u8> {
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        deflate.write_all(data).unwrap();
        let mut crc = Crc::new();
        crc.update(data);
        let mut out = header.to_vec();
        out.extend(deflate.finish().unwrap());
        out.extend(trailer.unwrap_or_else(|| {
            let mut t = [0u8; 8];
            t[..4].copy_from_slice(&crc.sum().to_le_bytes());
            t[4..].copy_from_slice(&(data.len() as u32).to_le_bytes());
            t
        }));
        out
    }

    fn fixed(flags: u8) -> Vec<u8> {
        vec![0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3]
    }

    fn with_header_crc(mut header: Vec<u8>, correct: bool) -> Vec<u8> {
        let mut crc = Crc::new();
        crc.update(&header);
        let stored = (crc.sum() as u16) ^ u16::from(!correct);
        header.extend(stored.to_le_bytes());
        header
    }

    fn invalid(input: &[u8]) -> String {
        match hash_stream(input) {
            Err(GzipError::Invalid(why)) => why,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn optional_header_fields_are_skipped_and_the_header_crc_checked() {
        let data = b"{\"Records\":[]}";
        let mut header = fixed(FEXTRA | FNAME | FCOMMENT | FHCRC);
        header.extend(3u16.to_le_bytes());
        header.extend(b"abc");
        header.extend(vec![b'n'; 100_000]); // a long name is skipped, not stored
        header.push(0);
        header.extend(b"comment\0");
        let good = member(&with_header_crc(header.clone(), true), data, None);
        assert_eq!(hash_stream(&good[..]).unwrap().sha256, Sha256::of(data));
        let bad = member(&with_header_crc(header, false), data, None);
        assert!(invalid(&bad).contains("header CRC"));
    }

    #[test]
    fn a_wrong_magic_method_or_reserved_flag_is_invalid() {
        let mut wrong_magic = fixed(0);
        wrong_magic[1] = 0x8c;
        let mut wrong_method = fixed(0);
        wrong_method[2] = 7;
        for (header, why) in [
            (wrong_magic, "magic"),
            (wrong_method, "method 7"),
            (fixed(0x20), "reserved"),
        ] {
            let bytes = member(&header, b"x", None);
            assert!(invalid(&bytes).contains(why), "{why}");
        }
    }

    #[test]
    fn a_trailer_size_that_does_not_match_is_invalid() {
        let data = b"some content";
        let mut crc = Crc::new();
        crc.update(data);
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&13u32.to_le_bytes());
        let bytes = member(&fixed(0), data, Some(trailer));
        assert!(invalid(&bytes).contains("size"));
    }

    #[test]
    fn a_cut_anywhere_is_reported_as_truncated() {
        let header = [fixed(FNAME), b"name\0".to_vec()].concat();
        let bytes = member(&header, &[7; 5000], None);
        for cut in [3, 12, bytes.len() / 2, bytes.len() - 4, bytes.len() - 1] {
            let why = invalid(&bytes[..cut]);
            assert!(why.contains("truncated"), "cut at {cut}: {why}");
        }
    }

    #[test]
    fn one_inflater_serves_many_files_whatever_came_before() {
        let a = gzip(&vec![b'a'; 200_000]);
        let b = gzip(b"second file");
        let mut corrupt = gzip(&vec![b'c'; 50_000]);
        let crc_at = corrupt.len() - 8;
        corrupt[crc_at] ^= 0x55;
        let expected_a = hash_stream(&a[..]).unwrap();
        assert!(hash_stream(&corrupt[..]).is_err());
        assert_eq!(
            hash_stream(&b[..]).unwrap().sha256,
            Sha256::of(b"second file")
        );
        assert!(inflate_bounded(&a[..], 10).is_err());
        assert_eq!(hash_stream(&a[..]).unwrap(), expected_a);
        assert_eq!(expected_a.sha256, Sha256::of(&vec![b'a'; 200_000]));
    }

    #[test]
    fn kept_bytes_hash_as_streamed_and_are_dropped_past_the_limit_without_changing_the_hash() {
        let data = vec![b'x'; 300_000];
        let streamed = hash_stream(&gzip(&data)[..]).unwrap();
        let (inflated, kept) = hash_and_keep(&gzip(&data)[..], 300_000).unwrap();
        assert_eq!(inflated, streamed);
        assert_eq!(kept.as_deref(), Some(&data[..]));
        let (inflated, kept) = hash_and_keep(&gzip(&data)[..], 299_999).unwrap();
        assert_eq!(inflated, streamed);
        assert_eq!(kept, None);
        let mut appended = gzip(&data);
        appended.extend(gzip(b"more"));
        assert_eq!(
            hash_and_keep(&appended[..], u64::MAX).unwrap_err(),
            GzipError::TrailingData
        );
    }

    /// Gives one byte per read, and is interrupted before each.
    struct Trickle<'a> {
        bytes: &'a [u8],
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.bytes.len().min(out.len()).min(1);
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_reader_giving_a_byte_at_a_time_and_interrupted_reads_change_nothing() {
        let mut header = fixed(FNAME | FHCRC);
        header.extend(b"trail.json\0");
        let data = vec![b'z'; 70_000];
        let bytes = member(&with_header_crc(header, true), &data, None);
        let trickle = Trickle {
            bytes: &bytes,
            interrupt: false,
        };
        assert_eq!(hash_stream(trickle).unwrap().sha256, Sha256::of(&data));
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("connection reset"))
        }
    }

    #[test]
    fn a_failing_reader_is_an_io_error_not_a_bad_file() {
        assert!(matches!(hash_stream(Failing), Err(GzipError::Io(_))));
        let bytes = gzip(b"content");
        let failing_later = (&bytes[..12]).chain(Failing);
        assert!(matches!(hash_stream(failing_later), Err(GzipError::Io(_))));
    }
}
