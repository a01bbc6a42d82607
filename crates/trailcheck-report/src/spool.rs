//! A run's files on disk while it runs: the engine hands each place's files on, the spool
//! appends them to a temporary file, one JSON line each, and the renderers read them back,
//! as often as they need, one file at a time. What a run holds is then a place, not the
//! archive, whatever the output format.
//!
//! A line is the JSON output's own entry for the file (so it reads back with the same
//! checks `merge` applies to a result file) with its chain beside it.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use trailcheck_core::engine::VerdictSink;
use trailcheck_core::verdict::{ChainId, FileVerdict, KeptFiles};

use crate::json;
use crate::result_file::{ChainIn, FileIn};

/// The largest line read back: a file's entry is a few hundred bytes, a few KB with a long
/// version history. A longer line was not written by this spool.
const MAX_LINE: usize = 16 << 20;

/// Files being written to the spool.
pub struct Spool {
    temp: tempfile::NamedTempFile,
    out: BufWriter<File>,
    count: u64,
}

#[derive(Serialize)]
struct LineOut<'a> {
    chain: Option<&'a ChainId>,
    file: json::File<'a>,
}

#[derive(Deserialize)]
struct LineIn {
    chain: Option<ChainIn>,
    file: FileIn,
}

impl Spool {
    /// A spool in the system's temporary folder (`TMPDIR`), removed when it is dropped.
    pub fn new() -> io::Result<Self> {
        let temp = tempfile::NamedTempFile::new().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file in {}: {e}",
                    std::env::temp_dir().display()
                ),
            )
        })?;
        let out = BufWriter::with_capacity(1 << 16, temp.reopen()?);
        Ok(Self {
            temp,
            out,
            count: 0,
        })
    }

    /// Ends writing; what was written can be read back from the result.
    pub fn finish(mut self) -> io::Result<Arc<Spooled>> {
        self.out.flush()?;
        Ok(Arc::new(Spooled {
            temp: self.temp,
            count: self.count,
        }))
    }
}

impl VerdictSink for Spool {
    fn files(&mut self, files: Vec<FileVerdict>) -> io::Result<()> {
        for file in &files {
            let mut entry = json::File::new(file);
            entry.set_chain(file.chain.as_ref().map(|_| 0));
            let line = LineOut {
                chain: file.chain.as_deref(),
                file: entry,
            };
            serde_json::to_writer(&mut self.out, &line)?;
            self.out.write_all(b"\n")?;
            self.count += 1;
        }
        Ok(())
    }
}

/// A finished spool: its files, read back in order.
pub struct Spooled {
    temp: tempfile::NamedTempFile,
    count: u64,
}

impl fmt::Debug for Spooled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Spooled({} files at {})",
            self.count,
            self.temp.path().display()
        )
    }
}

impl KeptFiles for Spooled {
    fn each(&self, visit: &mut dyn FnMut(&FileVerdict) -> io::Result<()>) -> io::Result<()> {
        let mut reader = BufReader::with_capacity(1 << 16, self.temp.reopen()?);
        let mut line = Vec::new();
        for n in 0..self.count {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if read == 0 || read > MAX_LINE {
                return Err(bad_line(n, "cut short or too long"));
            }
            let parsed: LineIn =
                serde_json::from_slice(&line).map_err(|e| bad_line(n, &e.to_string()))?;
            let chains: Vec<Arc<ChainId>> = parsed
                .chain
                .map(|c| Arc::new(c.into()))
                .into_iter()
                .collect();
            let file = parsed
                .file
                .into_verdict(&chains)
                .map_err(|e| bad_line(n, &e))?;
            visit(&file)?;
        }
        Ok(())
    }
}

fn bad_line(n: u64, why: &str) -> io::Error {
    io::Error::other(format!(
        "the temporary file of judged files changed while the run was rendering it (line {}: {why})",
        n + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailcheck_core::hash::Sha256;
    use trailcheck_core::verdict::{Cause, FileKind, Status};

    fn chain() -> ChainId {
        ChainId {
            account: "111122223333".to_owned(),
            region: "eu-west-1".to_owned(),
            trail: "t".to_owned(),
            home_region: "us-east-1".to_owned(),
            organization: None,
            backfill: false,
        }
    }

    fn read_back(spooled: &Spooled) -> Vec<FileVerdict> {
        let mut files = Vec::new();
        spooled
            .each(&mut |f| {
                files.push(f.clone());
                Ok(())
            })
            .unwrap();
        files
    }

    #[test]
    fn files_read_back_in_order_with_their_chain_status_hashes_and_words() {
        let mut spool = Spool::new().unwrap();
        let mut digest = FileVerdict::new(FileKind::Digest, "b", "d<&>\u{202e}", Cause::Verified);
        digest.chain = Some(Arc::new(chain()));
        digest.actual_sha256 = Some(Sha256::of(b"x"));
        let log = FileVerdict::new(FileKind::Log, "b", "l", Cause::NotFound);
        spool.files(vec![digest.clone()]).unwrap();
        spool.files(vec![log.clone()]).unwrap();
        let spooled = spool.finish().unwrap();
        // Twice: a renderer may read the files more than once.
        for _ in 0..2 {
            let back = read_back(&spooled);
            assert_eq!(back.len(), 2);
            assert_eq!(back[0].key, digest.key);
            assert_eq!(back[0].chain.as_deref(), Some(&chain()));
            assert_eq!(back[0].actual_sha256, digest.actual_sha256);
            assert_eq!(back[0].status, Status::Intact);
            assert_eq!(back[1].chain, None);
            assert_eq!(back[1].status, log.status);
            assert_eq!(back[1].cause.to_string(), log.cause.to_string());
            assert_eq!(back[1].cause.code(), log.cause.code());
        }
    }

    /// A finished spool of two missing logs.
    fn two_logs() -> Arc<Spooled> {
        let mut spool = Spool::new().unwrap();
        let log = FileVerdict::new(FileKind::Log, "b", "l", Cause::NotFound);
        spool.files(vec![log.clone(), log]).unwrap();
        spool.finish().unwrap()
    }

    #[test]
    fn a_spool_changed_under_the_run_is_an_error_not_a_different_result() {
        let spooled = two_logs();
        std::fs::write(spooled.temp.path(), b"{\"chain\":null}\n").unwrap();
        let e = spooled.each(&mut |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        std::fs::write(spooled.temp.path(), b"").unwrap();
        let e = spooled.each(&mut |_| Ok(())).unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
    }

    #[test]
    fn a_visitor_error_stops_the_reading() {
        let spooled = two_logs();
        let mut seen = 0;
        let e = spooled.each(&mut |_| {
            seen += 1;
            Err(io::Error::other("disk full"))
        });
        assert!(e.is_err());
        assert_eq!(seen, 1);
    }
}
