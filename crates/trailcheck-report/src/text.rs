//! The default text format: the AWS CLI's `validate-logs` lines, then trailcheck's verdict.
//!
//! Scripts written against `aws cloudtrail validate-logs` keep working: the startup line, the
//! per-file lines, their split between stdout and stderr, the blank-line spacing and the
//! summary ratios are the CLI's. trailcheck's extra findings (unreferenced, unverifiable and
//! pending files, chain breaks) use the same shape with their own status words.

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use super::Options;
use super::sanitize::terminal;
use trailcheck_core::time;
use trailcheck_core::verdict::{FileKind, FileVerdict, Gap, GapKind, Outcome, Report, Status};

pub(super) fn render(
    report: &Report,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<()> {
    if !opts.quiet {
        let mut printer = Printer::new(opts, out, err);
        printer.startup(report, opts.trail.as_deref())?;
        report.each_file(&mut |file| printer.file(file))?;
        for gap in &report.gaps {
            printer.gap(gap)?;
        }
        printer.summary(report)?;
        printer.err.flush()?;
        writeln!(out)?;
        if let Some(line) = trust_line(report) {
            writeln!(out, "{line}")?;
        }
    } else if let Some(line) = trust_line(report) {
        // Quiet keeps stdout to the verdict; what the verdict rests on still gets said.
        writeln!(err, "{line}")?;
    }
    writeln!(out, "{}", verdict_line(report, opts))?;
    out.flush()
}

/// A warning when the keys came from inside the source: the evidence vouched for itself.
pub(super) fn trust_line(report: &Report) -> Option<String> {
    let inside: Vec<&str> = report
        .trust
        .keys
        .iter()
        .filter(|k| k.inside_source)
        .map(|k| k.location.as_str())
        .collect();
    let first = inside.first()?;
    let folder = std::path::Path::new(first)
        .parent()
        .map_or_else(|| (*first).to_owned(), |p| p.display().to_string());
    Some(format!(
        "TRUST: the public keys were taken from the evidence itself ({}): whoever could \
         rewrite the archive could have written them. Confirm their fingerprints \
         independently (trailcheck keys verify {}).",
        terminal(&folder),
        terminal(&folder)
    ))
}

/// Writes status lines with the CLI's spacing (`_write_status`): an error line is followed by
/// a blank line, and preceded by one unless the last thing written already ended with one.
struct Printer<'a> {
    verbose: bool,
    color: bool,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// The CLI's `_is_last_status_double_space`, shared by both streams.
    double_spaced: bool,
}

impl<'a> Printer<'a> {
    fn new(opts: &Options, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Self {
            verbose: opts.verbose,
            color: opts.color,
            out,
            err,
            double_spaced: true,
        }
    }

    fn startup(&mut self, report: &Report, trail: Option<&str>) -> io::Result<()> {
        let subject = match trail {
            Some(arn) => format!("trail {}", terminal(arn)),
            None => format!("all trails in {}", terminal(&report.source)),
        };
        write!(
            self.out,
            "Validating log files for {subject} between {} and {}\n\n",
            display(report.requested_start),
            display(report.requested_end)
        )
    }

    fn file(&mut self, file: &FileVerdict) -> io::Result<()> {
        let line = file_line(file, self.color);
        match file.status {
            Status::Intact | Status::Pending => self.status(&line),
            _ => self.error(&line),
        }
    }

    fn gap(&mut self, gap: &Gap) -> io::Result<()> {
        self.error(&gap_line(gap))
    }

    /// An intact or pending file: on stdout, and only when verbose (`_write_status`).
    fn status(&mut self, line: &str) -> io::Result<()> {
        if !self.verbose {
            return Ok(());
        }
        self.double_spaced = false;
        writeln!(self.out, "{line}")
    }

    /// A finding: always on stderr, set apart by blank lines (`_write_status(is_error=True)`).
    fn error(&mut self, line: &str) -> io::Result<()> {
        if !self.double_spaced {
            writeln!(self.err)?;
        }
        self.double_spaced = true;
        write!(self.err, "{line}\n\n")
    }

    /// The CLI's `_write_summary_text`, with trailcheck's extra counts after its own.
    fn summary(&mut self, report: &Report) -> io::Result<()> {
        if !self.double_spaced {
            writeln!(self.out)?;
        }
        writeln!(
            self.out,
            "Results requested for {} to {}",
            display(report.requested_start),
            display(report.requested_end)
        )?;
        let tallies = Tally::all(report);
        let digests_seen = tallies.iter().any(|t| t.is_digest && t.total() > 0);
        match report.found {
            _ if !digests_seen => writeln!(self.out, "No digests found")?,
            None => writeln!(self.out, "No valid digests found in range")?,
            Some((start, end)) => writeln!(
                self.out,
                "Results found for {} to {}:",
                time::display(start),
                time::display(end)
            )?,
        }
        let mut wrote = false;
        for tally in &tallies {
            wrote |= tally.write_ratio(self.out)?;
        }
        for tally in &tallies {
            wrote |= tally.write_pending(self.out)?;
        }
        // The CLI stops right after "No digests found"; so do we when there is nothing to add.
        if digests_seen || wrote {
            writeln!(self.out)?;
        }
        Ok(())
    }
}

/// `[(backfill) ]Digest file<TAB>s3://B/K<TAB>WORD[: reason]`, every untrusted part escaped.
fn file_line(file: &FileVerdict, color: bool) -> String {
    let prefix = match (file.kind, file.backfill) {
        (FileKind::Digest, true) => "(backfill) Digest file",
        (FileKind::Digest, false) => "Digest file",
        (FileKind::Log, _) => "Log file",
    };
    let (word, paint) = status_word(file.status);
    let mut line = format!(
        "{prefix}\ts3://{}/{}\t{}",
        terminal(&file.bucket),
        terminal(&file.key),
        painted(word, paint, color)
    );
    if file.status != Status::Intact {
        line.push_str(": ");
        line.push_str(&terminal(&crate::detail(file)));
    }
    line
}

/// A gap in the CLI's `_on_digest_gap` words; a chain break in the same style.
fn gap_line(gap: &Gap) -> String {
    let prefix = if gap.chain.backfill {
        "(backfill) "
    } else {
        ""
    };
    let (from, to) = (time::display(gap.from), time::display(gap.to));
    match gap.kind {
        GapKind::Gap => {
            format!("{prefix}No log files were delivered by CloudTrail between {from} and {to}")
        }
        GapKind::ChainBreak => {
            let missing = match gap.missing_digests {
                Some(n) => format!(": {n} digest files missing"),
                None => String::new(),
            };
            format!("{prefix}Digest chain broken between {from} and {to}{missing}")
        }
        GapKind::OpenStart => {
            let previous = gap
                .previous
                .as_ref()
                .map_or("a predecessor".to_owned(), |(b, k)| format!("s3://{b}/{k}"));
            format!(
                "{prefix}Digest chain starts open at {from}: its oldest digest names {previous}, \
                 which is not in the source, and no logs of that period are either (a partial \
                 copy, or digests deleted with their logs)"
            )
        }
    }
}

/// The word the CLI prints for a status: it knows only `valid` and `INVALID`, and
/// modified, deleted and moved files are all `INVALID` there.
fn status_word(status: Status) -> (&'static str, Paint) {
    match status {
        Status::Intact => ("valid", Paint::Green),
        Status::Pending => ("PENDING", Paint::Cyan),
        Status::Unverifiable => ("UNVERIFIABLE", Paint::Yellow),
        Status::Unreferenced => ("UNREFERENCED", Paint::Red),
        Status::Moved | Status::Deleted | Status::Modified => ("INVALID", Paint::Red),
    }
}

/// `Verdict: WORD (n status, ...)`, the worst statuses first; the one line `quiet` keeps.
pub(super) fn verdict_line(report: &Report, opts: &Options) -> String {
    let (word, paint) = match report.outcome(&opts.fail_on) {
        Outcome::Intact => ("INTACT", Paint::Green),
        Outcome::Tampered => ("TAMPERED", Paint::Red),
        Outcome::Incomplete => ("INCOMPLETE", Paint::Yellow),
    };
    let details = verdict_details(report);
    let word = painted(word, paint, opts.color);
    if details.is_empty() {
        format!("Verdict: {word}")
    } else {
        format!("Verdict: {word} ({})", details.join(", "))
    }
}

fn verdict_details(report: &Report) -> Vec<String> {
    let mut details = Vec::new();
    let tally = report.summed();
    match (tally.total() == 0, report.shard) {
        (true, Some(shard)) => details.push(format!(
            "shard {}/{} holds none of this archive's accounts and regions",
            shard.index, shard.count
        )),
        (true, None) => details.push("no files checked".to_owned()),
        (false, _) => {}
    }
    for status in Status::ALL.into_iter().rev() {
        let n = tally.with_status(|s| s == status);
        if status != Status::Intact && n > 0 {
            details.push(format!("{n} {status}"));
        }
    }
    for (kind, one, many) in [
        (GapKind::ChainBreak, "chain break", "chain breaks"),
        (GapKind::Gap, "gap", "gaps"),
        (GapKind::OpenStart, "open chain start", "open chain starts"),
    ] {
        match report.gaps.iter().filter(|g| g.kind == kind).count() {
            0 => {}
            1 => details.push(format!("1 {one}")),
            n => details.push(format!("{n} {many}")),
        }
    }
    details
}

/// One of the CLI's ratio lines: how the files of one kind fared.
struct Tally {
    name: &'static str,
    is_digest: bool,
    valid: usize,
    /// Modified, deleted and moved: what the CLI calls `INVALID`.
    invalid: usize,
    unreferenced: usize,
    unverifiable: usize,
    /// Left out of the total, as they are left out of the verdict.
    pending: usize,
}

impl Tally {
    /// Digests, backfill digests and logs, in the CLI's order.
    fn all(report: &Report) -> [Tally; 3] {
        let summed = report.summed();
        let count = |kind, status| summed.counts.get(&(kind, status)).copied().unwrap_or(0);
        let backfill = |status| summed.backfill_digests.get(&status).copied().unwrap_or(0);
        [
            Tally::of("digest", true, |s| count(FileKind::Digest, s) - backfill(s)),
            Tally::of("backfill digest", true, backfill),
            Tally::of("log", false, |s| count(FileKind::Log, s)),
        ]
    }

    fn of(name: &'static str, is_digest: bool, count: impl Fn(Status) -> usize) -> Tally {
        let mut tally = Tally {
            name,
            is_digest,
            valid: 0,
            invalid: 0,
            unreferenced: 0,
            unverifiable: 0,
            pending: 0,
        };
        for status in Status::ALL {
            *match status {
                Status::Intact => &mut tally.valid,
                Status::Pending => &mut tally.pending,
                Status::Unverifiable => &mut tally.unverifiable,
                Status::Unreferenced => &mut tally.unreferenced,
                Status::Moved | Status::Deleted | Status::Modified => &mut tally.invalid,
            } += count(status);
        }
        tally
    }

    fn total(&self) -> usize {
        self.valid + self.invalid + self.unreferenced + self.unverifiable
    }

    /// `\nN/M name files valid[, K/M name files INVALID]...` when there is any such file.
    fn write_ratio(&self, out: &mut dyn Write) -> io::Result<bool> {
        let (total, name) = (self.total(), self.name);
        if total == 0 {
            return Ok(false);
        }
        write!(out, "\n{}/{total} {name} files valid", self.valid)?;
        for (n, word) in [
            (self.invalid, "INVALID"),
            (self.unreferenced, "UNREFERENCED"),
            (self.unverifiable, "UNVERIFIABLE"),
        ] {
            if n > 0 {
                write!(out, ", {n}/{total} {name} files {word}")?;
            }
        }
        Ok(true)
    }

    /// `\nN name files PENDING` on a line of its own, when there are any.
    fn write_pending(&self, out: &mut dyn Write) -> io::Result<bool> {
        if self.pending == 0 {
            return Ok(false);
        }
        write!(out, "\n{} {} files PENDING", self.pending, self.name)?;
        Ok(true)
    }
}

/// ANSI colours for status words.
#[derive(Clone, Copy)]
enum Paint {
    Red,
    Green,
    Yellow,
    Cyan,
}

fn painted(word: &str, paint: Paint, color: bool) -> String {
    if !color {
        return word.to_owned();
    }
    let code = match paint {
        Paint::Red => "1;31",
        Paint::Green => "32",
        Paint::Yellow => "33",
        Paint::Cyan => "36",
    };
    format!("\u{1b}[{code}m{word}\u{1b}[0m")
}

fn display(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "unknown".to_owned(), time::display)
}
