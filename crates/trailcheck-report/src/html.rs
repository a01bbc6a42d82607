//! The evidence report: one self-contained HTML file an investigator can attach to a case.
//!
//! It opens offline and prints: inline CSS, no script, no external resource (a Content
//! Security Policy forbids them, so even a string that escaped escaping could not run or
//! fetch anything). Every untrusted string (keys, bucket names, reasons, paths, the command
//! line) passes through [`escape`]. The verdict comes first, then what was checked, the
//! timeline, the findings, and a collapsed appendix of every file.

mod timeline;

use std::fmt::{self, Display, Write as _};
use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Datelike, Utc};

use super::Options;
use super::sanitize::terminal;
use trailcheck_core::hash::Sha256;
use trailcheck_core::time;
use trailcheck_core::verdict::{
    FileKind, FileVerdict, Gap, GapKind, Outcome, Report, Status, Trust,
};

use timeline::{Hour, Mark, Scale, Timeline};

/// What the report shows that the verdict does not hold: how and when the run was made.
#[derive(Clone, Debug)]
pub struct RunInfo {
    /// The command line, one argument per item, as typed.
    pub command_line: Vec<String>,
    pub ran_at: DateTime<Utc>,
    /// The `--report-json` file written beside the report, when there is one.
    pub json: Option<JsonSeal>,
}

/// The JSON result file and the SHA-256 of exactly its bytes, so the pair can be sealed.
#[derive(Clone, Debug)]
pub struct JsonSeal {
    pub path: String,
    pub sha256: Sha256,
}

/// Makes untrusted text safe inside HTML text and inside double- or single-quoted
/// attributes, and visible: control and bidirectional-override characters are shown as
/// escapes first ([`terminal`]), so a key cannot hide or reorder what is displayed.
pub fn escape(text: &str) -> String {
    Esc(text).to_string()
}

/// Display adapter for [`escape`], to write untrusted text without an extra allocation.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in terminal(self.0).chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                // Noncharacters XML 1.0 forbids; the JUnit renderer shares this function.
                '\u{FFFE}' | '\u{FFFF}' => f.write_char('\u{FFFD}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

pub(super) fn render(
    report: &Report,
    opts: &Options,
    run: &RunInfo,
    out: &mut dyn Write,
) -> io::Result<()> {
    render_with(report, opts, run, None, out)
}

/// [`render`], with a "Findings from proven events" section when `events` is given.
pub(super) fn render_with(
    report: &Report,
    opts: &Options,
    run: &RunInfo,
    events: Option<&[Findings]>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = BufWriter::new(out);
    let outcome = report.outcome(&opts.fail_on);
    head(&mut out, report, outcome)?;
    verdict(&mut out, report, opts, outcome)?;
    checked(&mut out, report, opts, run)?;
    timeline_section(&mut out, report)?;
    if let Some(events) = events {
        event_findings(&mut out, report, events)?;
    }
    findings(&mut out, report)?;
    appendix(&mut out, report)?;
    footer(&mut out, run)?;
    out.flush()
}

const STYLE: &str = include_str!("html/style.css");

fn head(out: &mut dyn Write, report: &Report, outcome: Outcome) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<meta name=\"generator\" content=\"trailcheck {}\">",
        env!("CARGO_PKG_VERSION")
    )?;
    writeln!(
        out,
        "<title>{}: CloudTrail integrity of {}</title>",
        verdict_word(outcome),
        Esc(&report.source)
    )?;
    writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>")?;
    writeln!(
        out,
        "<header>\n<p class=\"kicker\">trailcheck evidence report</p>\n\
         <h1>CloudTrail log file integrity</h1>\n<p class=\"sub mono\">{}</p>\n</header>",
        Esc(&report.source)
    )
}

fn verdict_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Intact => "INTACT",
        Outcome::Tampered => "TAMPERING FOUND",
        Outcome::Incomplete => "INCOMPLETE",
    }
}

fn verdict(
    out: &mut dyn Write,
    report: &Report,
    opts: &Options,
    outcome: Outcome,
) -> io::Result<()> {
    let class = match outcome {
        Outcome::Intact => "intact",
        Outcome::Tampered => "tampered",
        Outcome::Incomplete => "incomplete",
    };
    writeln!(
        out,
        "<section id=\"verdict\" class=\"verdict v-{class}\" data-outcome=\"{class}\">\n\
         <h2>Verdict: {}</h2>\n<p class=\"why\">{}</p>",
        verdict_word(outcome),
        verdict_sentence(report, opts, outcome)
    )?;
    counts_table(out, report)?;
    let gaps = |kind| report.gaps.iter().filter(|g| g.kind == kind).count();
    writeln!(
        out,
        "<p class=\"small\">Chain breaks (digests deleted): {} · Gaps (validation or logging \
         off): {} · Statuses that fail the run: {}</p>\n</section>",
        gaps(GapKind::ChainBreak),
        gaps(GapKind::Gap),
        status_list(&opts.fail_on)
    )
}

/// One sentence saying what the verdict rests on, counts included.
fn verdict_sentence(report: &Report, opts: &Options, outcome: Outcome) -> String {
    let summed = report.summed();
    let n = |pred: &dyn Fn(Status) -> bool| summed.with_status(pred);
    match outcome {
        Outcome::Intact => format!(
            "Every one of the {} files checked was proven unchanged since CloudTrail signed it.",
            n(&|s| s == Status::Intact)
        ),
        Outcome::Tampered => {
            let failing = Status::ALL
                .into_iter()
                .rev()
                .filter(|s| opts.fail_on.contains(s))
                .filter_map(|s| match n(&|t| t == s) {
                    0 => None,
                    k => Some(format!("{k} {s}")),
                })
                .collect::<Vec<_>>()
                .join(", ");
            let breaks = report
                .gaps
                .iter()
                .filter(|g| g.kind == GapKind::ChainBreak)
                .count();
            let breaks = match breaks {
                0 => String::new(),
                1 => "; 1 chain break".to_owned(),
                n => format!("; {n} chain breaks"),
            };
            let unverifiable = match n(&|s| s == Status::Unverifiable && !opts.fail_on.contains(&s))
            {
                0 => String::new(),
                k => format!(" {k} more files could not be verified."),
            };
            format!(
                "Files were changed, removed, added or moved after CloudTrail signed them: \
                 {failing}{breaks}.{unverifiable} The findings below list each one."
            )
        }
        Outcome::Incomplete if summed.total() == 0 => {
            "Nothing was checked: no digest or log file in the requested range.".to_owned()
        }
        Outcome::Incomplete => format!(
            "No tampering was proven, but {} files could not be verified either way; the \
             findings below say why.",
            n(&|s| s == Status::Unverifiable)
        ),
    }
}

fn status_list(statuses: &[Status]) -> String {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// Files per kind and status, worst status first.
fn counts_table(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    write!(out, "<table class=\"counts\">\n<tr><th>Files</th>")?;
    for status in Status::ALL.into_iter().rev() {
        write!(
            out,
            "<th class=\"num\"><span class=\"chip {}\">{status}</span></th>",
            mark_of(status).class()
        )?;
    }
    writeln!(out, "<th class=\"num\">total</th></tr>")?;
    for (kind, name) in [
        (FileKind::Digest, "Digest files"),
        (FileKind::Log, "Log files"),
    ] {
        write!(out, "<tr><th>{name}</th>")?;
        let mut total = 0;
        for status in Status::ALL.into_iter().rev() {
            let n = report.count(kind, status);
            total += n;
            let zero = if n == 0 { " zero" } else { "" };
            write!(out, "<td class=\"num{zero}\">{n}</td>")?;
        }
        writeln!(out, "<td class=\"num\"><b>{total}</b></td></tr>")?;
    }
    writeln!(out, "</table>")
}

/// The timeline colour of a file status, for chips.
fn mark_of(status: Status) -> Mark {
    match status {
        Status::Intact => Mark::Intact,
        Status::Pending => Mark::Pending,
        Status::Unverifiable => Mark::Unverifiable,
        Status::Unreferenced => Mark::Unreferenced,
        Status::Moved => Mark::Moved,
        Status::Deleted => Mark::Deleted,
        Status::Modified => Mark::Modified,
    }
}

fn checked(out: &mut dyn Write, report: &Report, opts: &Options, run: &RunInfo) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"checked\">\n<h2>What was checked</h2>\n<table class=\"facts\">"
    )?;
    let fact = |out: &mut dyn Write, name: &str, value: &str| {
        writeln!(out, "<tr><th>{name}</th><td>{value}</td></tr>")
    };
    fact(
        out,
        "Source",
        &format!("<code>{}</code>", Esc(&report.source)),
    )?;
    let trail = match &opts.trail {
        Some(arn) => format!("<code>{}</code>", Esc(arn)),
        None => "every trail in the source".to_owned(),
    };
    fact(out, "Trail asked for", &trail)?;
    let summed = report.summed();
    let accounts = distinct(
        report
            .chains
            .iter()
            .map(|c| c.account.as_str())
            .chain(summed.accounts.iter().map(String::as_str)),
    );
    let regions = distinct(
        report
            .chains
            .iter()
            .map(|c| c.region.as_str())
            .chain(summed.regions.iter().map(String::as_str)),
    );
    fact(out, "Accounts", &accounts)?;
    fact(out, "Regions", &regions)?;
    let requested = format!(
        "{} to {}",
        shown_time(report.requested_start),
        shown_time(report.requested_end)
    );
    fact(out, "Time range requested", &requested)?;
    let found = match report.found {
        Some((start, end)) => format!("{} to {}", time::display(start), time::display(end)),
        None => "none: no digest was proven authentic".to_owned(),
    };
    fact(out, "Time range found", &found)?;
    for used in &report.checkpoints {
        // The run started each anchored chain at the digest this file records: the file's
        // hash pins what the shorter run rested on.
        let said = format!(
            "<code>{}</code>, SHA-256 <code>{}</code>: {} chain(s) validated from the digest \
             an earlier run proved intact",
            Esc(&used.file),
            used.sha256.to_hex(),
            used.anchored
        );
        fact(out, "Checkpoint", &said)?;
    }
    fact(out, "trailcheck version", env!("CARGO_PKG_VERSION"))?;
    fact(
        out,
        "Command line",
        &format!("<code>{}</code>", Esc(&shell_words(&run.command_line))),
    )?;
    fact(out, "Ran at (UTC)", &time::display(run.ran_at))?;
    fact(out, "JSON result", &json_seal(run.json.as_ref()))?;
    for bucket in &report.buckets {
        let mut said = vec![
            format!(
                "versioning {}",
                bucket.versioning.as_deref().unwrap_or("never enabled")
            ),
            format!(
                "Object Lock {}",
                bucket.object_lock.as_deref().unwrap_or("off")
            ),
        ];
        if let Some(mfa) = &bucket.mfa_delete {
            said.push(format!("MFA delete {mfa}"));
        }
        if let Some(problem) = &bucket.problem {
            said.push(format!("not all could be read: {problem}"));
        }
        let value = format!(
            "<code>{}</code>: {}",
            Esc(&bucket.bucket),
            Esc(&said.join("; "))
        );
        fact(out, "Bucket protection", &value)?;
    }
    fact(out, "Trust root", &trust_words(&report.trust))?;
    writeln!(out, "</table>")?;
    if report.trust.keys_inside_source() {
        writeln!(
            out,
            "<p class=\"warn\" id=\"keys-inside-source\">The keys were taken from the evidence \
             itself; confirm their fingerprints independently. Whoever could rewrite this \
             archive could also have written these key files, so this report alone does not \
             show the files were signed by CloudTrail. Compare the fingerprints below with \
             CloudTrail's (<code>trailcheck keys verify DIR</code>, or <code>aws cloudtrail \
             list-public-keys</code> from an account you trust).</p>"
        )?;
    }
    trails_table(out, report)?;
    keys_table(out, report)?;
    provenance_table(out, &report.trust)?;
    writeln!(out, "</section>")
}

/// Where the keys came from, in a reviewer's words.
fn trust_words(trust: &Trust) -> String {
    let mut parts = Vec::new();
    let online: Vec<&str> = trust
        .keys
        .iter()
        .filter(|k| k.origin == "cloudtrail")
        .filter_map(|k| k.region.as_deref())
        .collect();
    if !online.is_empty() {
        parts.push(format!(
            "public keys fetched from CloudTrail (ListPublicKeys) during the run, for {}",
            Esc(&distinct(online.into_iter()))
        ));
    }
    let files = |inside: bool| {
        distinct(
            trust
                .keys
                .iter()
                .filter(|k| k.origin == "file" && k.inside_source == inside)
                .map(|k| k.location.as_str()),
        )
    };
    let (inside, outside) = (files(true), files(false));
    if outside != "none found" {
        parts.push(format!(
            "key files from outside the source: <code>{}</code>",
            Esc(&outside)
        ));
    }
    if inside != "none found" {
        parts.push(format!(
            "<b>key files from inside the source</b>: <code>{}</code>",
            Esc(&inside)
        ));
    }
    if let Some(from) = &trust.pinned_from {
        parts.push(format!(
            "only {} pinned fingerprint(s) from <code>{}</code> may verify digests",
            trust.pinned.len(),
            Esc(from)
        ));
    }
    if parts.is_empty() {
        "no public keys".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Each key file's provenance record: how it was fetched, when, by whom.
fn provenance_table(out: &mut dyn Write, trust: &Trust) -> io::Result<()> {
    let recorded: Vec<_> = trust
        .keys
        .iter()
        .filter_map(|k| k.provenance.as_ref().map(|p| (k, p)))
        .collect();
    if recorded.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<h3>Where the key files came from ({})</h3>\n<table id=\"provenance\">\n<tr>\
         <th>Fingerprint</th><th>Fetched with</th><th>Range asked for</th><th>Fetched at</th>\
         <th>Caller</th><th>Key file and its SHA-256</th></tr>",
        recorded.len()
    )?;
    for (key, record) in recorded {
        let caller = match (&record.caller, &record.caller_unavailable) {
            (Some(caller), _) => caller.arn.clone().unwrap_or_default(),
            (None, Some(why)) => format!("unknown: {why}"),
            (None, None) => "unknown".to_owned(),
        };
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{} {}</td><td>{} to {}</td><td>{}</td>\
             <td><code>{}</code></td><td><code>{}</code><br><code>{}</code></td></tr>",
            Esc(&key.fingerprint),
            Esc(&record.fetched_with),
            Esc(&record.region),
            Esc(&record.requested_start),
            Esc(&record.requested_end),
            Esc(&record.fetched_at),
            Esc(&caller),
            Esc(&key.location),
            Esc(&record.key_file_sha256)
        )?;
    }
    writeln!(out, "</table>")
}

fn json_seal(seal: Option<&JsonSeal>) -> String {
    match seal {
        Some(seal) => format!(
            "<code>{}</code><br>SHA-256 <code id=\"json-sha256\">{}</code>\
             <br><span class=\"small\">Check it with <code>sha256sum {}</code>; keep both \
             files together.</span>",
            Esc(&seal.path),
            seal.sha256,
            Esc(&seal.path)
        ),
        None => "not written (add <code>--report-json FILE</code> to seal the full result \
                 beside this report)"
            .to_owned(),
    }
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let set: std::collections::BTreeSet<&str> = items.collect();
    if set.is_empty() {
        return "none found".to_owned();
    }
    set.into_iter()
        .map(|s| Esc(s).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn trails_table(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "<h3>Digest chains ({})</h3>", report.chains.len())?;
    if report.chains.is_empty() {
        return writeln!(out, "<p class=\"note\">No digest chain was found.</p>");
    }
    writeln!(
        out,
        "<table>\n<tr><th>Account</th><th>Region</th><th>Trail</th><th>Home region</th>\
         <th>Organization</th><th>Chain</th></tr>"
    )?;
    for c in &report.chains {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            Esc(&c.account),
            Esc(&c.region),
            Esc(&c.trail),
            Esc(&c.home_region),
            Esc(c.organization.as_deref().unwrap_or("—")),
            if c.backfill { "backfill" } else { "regular" }
        )?;
    }
    writeln!(out, "</table>")
}

fn keys_table(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "<h3>Public keys used ({})</h3>", report.keys.len())?;
    if report.keys.is_empty() {
        return writeln!(
            out,
            "<p class=\"note\">No public key verified any digest.</p>"
        );
    }
    writeln!(
        out,
        "<table>\n<tr><th>Fingerprint (MD5 of the DER key)</th><th>Valid from</th>\
         <th>Valid to</th><th>Key file</th><th class=\"num\">Digests verified</th></tr>"
    )?;
    for key in &report.keys {
        writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td>\
             <td class=\"num\">{}</td></tr>",
            Esc(&key.fingerprint),
            shown_time(key.valid_from),
            shown_time(key.valid_to),
            Esc(&key.file),
            key.digests_verified
        )?;
    }
    writeln!(out, "</table>")
}

fn timeline_section(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let timeline = Timeline::build(report)?;
    let scale = timeline.scale;
    let stamp = |hour| timeline::time_of(hour).map_or_else(String::new, time::display);
    writeln!(
        out,
        "<section id=\"timeline\" data-from=\"{}\" data-to=\"{}\" data-cell=\"{}\">\n\
         <h2>Timeline</h2>",
        stamp(timeline.first),
        stamp(timeline.last + 1),
        scale.cell_name()
    )?;
    if timeline.rows.is_empty() {
        legend(out)?;
        writeln!(
            out,
            "<p class=\"note\">No file with a time was checked.</p>\n</section>"
        )?;
        return Ok(());
    }
    let when = |hour| {
        timeline::time_of(hour).map_or_else(String::new, |t| t.format("%Y-%m-%d %H:00").to_string())
    };
    let margin = if scale.hourly() {
        format!(", with {} hours either side", timeline::MARGIN_HOURS)
    } else {
        String::new()
    };
    writeln!(
        out,
        "<p class=\"note\" id=\"drawn\">Drawn from {} to {} UTC ({} hours): the oldest to the \
         newest digest, log or gap found{margin}. The requested range is under \
         <a href=\"#checked\">What was checked</a>.</p>",
        when(timeline.first),
        when(timeline.last + 1),
        timeline.len()
    )?;
    if scale.hourly() {
        writeln!(
            out,
            "<p class=\"note\">One cell per hour (UTC), per account and region, coloured by \
             the worst status of the digests and logs delivered in that hour. Hover over a \
             cell for its files.</p>"
        )?;
    } else {
        writeln!(
            out,
            "<p class=\"note\">Too long for one cell per hour: one line per {}, one cell per \
             {} (UTC), coloured by the worst status of its hours, so no finding is left out. \
             Hover over a cell for its hours and files. Under each account and region, every \
             day with tampering or an unverifiable file is drawn again hour by hour.</p>",
            scale.line_name(),
            scale.cell_name()
        )?;
    }
    legend(out)?;
    for row in &timeline.rows {
        timeline_row(out, &timeline, row)?;
    }
    writeln!(out, "</section>")
}

fn legend(out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<div class=\"legend\" id=\"legend\">")?;
    for mark in Mark::LEGEND {
        writeln!(
            out,
            "<span><i class=\"{}\"></i><b>{}</b><em>{}</em></span>",
            mark.class(),
            mark.label(),
            mark.meaning()
        )?;
    }
    writeln!(
        out,
        "<span><i style=\"border-style:dashed\"></i><b>blank</b><em>outside the range</em></span>\n</div>"
    )
}

/// Days drawn again hour by hour under one row, at most: a chain break over months would
/// otherwise repeat the compressed picture at length; the tables list every file anyway.
const MAX_ZOOM_DAYS: usize = 62;

fn timeline_row(out: &mut dyn Write, timeline: &Timeline, row: &timeline::Row) -> io::Result<()> {
    // Gap hours apart from tampering: a year with logging off is not a year of tampering.
    let (mut proven, mut gaps, mut pending) = (0, 0, 0);
    for (_, mark) in row.finding_hours() {
        match mark {
            Mark::Gap => gaps += 1,
            Mark::Pending => pending += 1,
            _ => proven += 1,
        }
    }
    let mut parts = vec![format!(
        "{proven} of {} hours with tampering or unverifiable files",
        timeline.len()
    )];
    if gaps > 0 {
        parts.push(format!("{gaps} in gaps"));
    }
    if pending > 0 {
        parts.push(format!("{pending} pending"));
    }
    writeln!(
        out,
        "<div class=\"tl-row\">\n<h3>Account {} · {}<span class=\"small\">{}</span></h3>",
        Esc(&row.account),
        Esc(&row.region),
        parts.join(" · ")
    )?;
    let scale = timeline.scale;
    writeln!(out, "<div class=\"tl {}\">", scale.class())?;
    timeline_head(out, scale)?;
    for start in scale.lines(timeline.first, timeline.last) {
        timeline_line(out, timeline, row, scale, start)?;
    }
    writeln!(out, "</div>")?;
    if !scale.hourly() {
        zoom(out, timeline, row)?;
    }
    writeln!(out, "</div>")
}

/// The days of a compressed row that hold tampering or an unverifiable file, hour by hour,
/// so each such hour stays visible on its own.
fn zoom(out: &mut dyn Write, timeline: &Timeline, row: &timeline::Row) -> io::Result<()> {
    let mut days: Vec<i64> = row
        .finding_hours()
        .filter(|&(_, mark)| mark.zoomed())
        .map(|(h, _)| h.div_euclid(24))
        .collect();
    days.dedup();
    if days.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<div class=\"tl-zoom\">\n<h4>Days with findings, hour by hour ({})</h4>\n\
         <div class=\"tl tl-day\">",
        days.len()
    )?;
    timeline_head(out, Scale::DayOfHours)?;
    for &day in days.iter().take(MAX_ZOOM_DAYS) {
        timeline_line(out, timeline, row, Scale::DayOfHours, day * 24)?;
    }
    writeln!(out, "</div>")?;
    if days.len() > MAX_ZOOM_DAYS {
        writeln!(
            out,
            "<p class=\"note\">{} more days with findings are marked above but not drawn \
             again here; the tables below list every file.</p>",
            days.len() - MAX_ZOOM_DAYS
        )?;
    }
    writeln!(out, "</div>")
}

fn timeline_head(out: &mut dyn Write, scale: Scale) -> io::Result<()> {
    write!(
        out,
        "<div class=\"tl-head\"><span class=\"tl-date\">UTC</span>"
    )?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match scale {
        Scale::DayOfHours => {
            for h in 0..24 {
                write!(out, "<span class=\"h\">{h:02}</span>")?;
            }
        }
        Scale::WeekOfHours => {
            for day in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] {
                write!(out, "<span class=\"h\">{day}</span>")?;
            }
        }
        Scale::MonthOfDays => {
            for d in 1..=31 {
                write!(out, "<span class=\"h\">{d}</span>")?;
            }
        }
        Scale::YearOfWeeks => {
            for w in 1..=53 {
                let label = if w % 4 == 1 {
                    format!("w{w}")
                } else {
                    String::new()
                };
                write!(out, "<span class=\"h\">{label}</span>")?;
            }
        }
        Scale::YearOfMonths => {
            for m in MONTHS {
                write!(out, "<span class=\"h\">{m}</span>")?;
            }
        }
    }
    writeln!(out, "</div>")
}

fn timeline_line(
    out: &mut dyn Write,
    timeline: &Timeline,
    row: &timeline::Row,
    scale: Scale,
    start: i64,
) -> io::Result<()> {
    let date = timeline::time_of(start).map_or_else(String::new, |d| match scale {
        Scale::DayOfHours | Scale::WeekOfHours => {
            format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
        }
        Scale::MonthOfDays => format!("{:04}-{:02}", d.year(), d.month()),
        Scale::YearOfWeeks | Scale::YearOfMonths => format!("{:04}", d.year()),
    });
    write!(
        out,
        "<div class=\"tl-line\"><span class=\"tl-date\">{date}</span>"
    )?;
    for (from, to) in scale.cells(start) {
        if scale.hourly() {
            match (timeline.contains(from), timeline::time_of(from)) {
                (true, Some(at)) => {
                    let hour = row.hours.get(&from);
                    let mark = row.mark(from);
                    write!(
                        out,
                        "<i class=\"{}\" title=\"{}\"></i>",
                        mark.class(),
                        hover(hour, mark, at, timeline.outside_request(from))
                    )?;
                }
                _ => write!(out, "<i class=\"x\"></i>")?,
            }
            continue;
        }
        match row.summary(timeline, from, to) {
            Some(summary) => write!(
                out,
                "<i class=\"{}\" title=\"{}\"></i>",
                summary.worst.class(),
                summary_hover(&summary, scale, from, to)
            )?,
            None => write!(out, "<i class=\"x\"></i>")?,
        }
    }
    writeln!(out, "</div>")
}

/// A cell's hover text: the hour, its mark, and what it holds, one fact a line.
fn hover(hour: Option<&Hour>, mark: Mark, at: DateTime<Utc>, outside_request: bool) -> String {
    let mut text = format!("{} UTC: {}", at.format("%Y-%m-%d %H:00"), mark.label());
    let counts = hour.map(Hour::counts).unwrap_or_default();
    file_counts(&mut text, &counts);
    match hour.and_then(|h| h.gap) {
        Some(GapKind::ChainBreak) => text.push_str("&#10;in a chain break: digests deleted"),
        Some(GapKind::Gap) => text.push_str("&#10;in a gap: no digests were written"),
        Some(GapKind::OpenStart) | None => {}
    }
    match mark {
        Mark::NotCovered => text.push_str("&#10;no digest covers this hour"),
        Mark::Intact if counts.is_empty() => text.push_str("&#10;no files delivered"),
        _ => {}
    }
    if outside_request {
        text.push_str("&#10;outside the requested range");
    }
    text
}

/// Appends a line per kind: `digests: 1 modified, 23 intact`.
fn file_counts(text: &mut String, counts: &timeline::FileCounts) {
    for (kind, name) in [(FileKind::Digest, "digests"), (FileKind::Log, "logs")] {
        let line: Vec<String> = Status::ALL
            .into_iter()
            .rev()
            .map(|s| (s, counts.get(kind, s)))
            .filter(|&(_, n)| n > 0)
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        if !line.is_empty() {
            let _ = write!(text, "&#10;{name}: {}", line.join(", "));
        }
    }
}

/// Hours with findings named in one compressed cell's hover text, at most.
const HOVER_FINDINGS: usize = 8;

/// A compressed cell's hover text: its days, worst mark, hours per mark, files, and the
/// hours that hold findings.
fn summary_hover(summary: &timeline::Summary, scale: Scale, from: i64, to: i64) -> String {
    let day = |hour: i64| {
        timeline::time_of(hour).map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string())
    };
    let days = if to - from <= 24 {
        day(from)
    } else {
        format!("{} to {}", day(from), day(to - 1))
    };
    let mut text = format!(
        "{days} UTC ({}): {}",
        scale.cell_name(),
        summary.worst.label()
    );
    let hours: Vec<String> = Mark::LEGEND
        .into_iter()
        .filter_map(|m| summary.hours.get(&m).map(|n| format!("{n} {}", m.label())))
        .collect();
    let _ = write!(text, "&#10;hours: {}", hours.join(", "));
    file_counts(&mut text, &summary.counts);
    if !summary.findings.is_empty() {
        let named: Vec<String> = summary
            .findings
            .iter()
            .take(HOVER_FINDINGS)
            .filter_map(|&(h, mark)| {
                let t = timeline::time_of(h)?;
                Some(format!("{} {}", t.format("%Y-%m-%d %H:00"), mark.label()))
            })
            .collect();
        let _ = write!(text, "&#10;hours with findings: {}", named.join(", "));
        if summary.findings.len() > HOVER_FINDINGS {
            let _ = write!(
                text,
                " and {} more",
                summary.findings.len() - HOVER_FINDINGS
            );
        }
    }
    text
}

/// One detection's hits over proven events, as `triage` found them: rows with the columns
/// `eventtime, who, source_ip, eventname, region, account, detail, _log_key, _digest_key`.
#[derive(Clone, Debug, PartialEq)]
pub struct Findings {
    pub title: String,
    pub source: String,
    pub rows: Vec<serde_json::Value>,
}

/// Each detection's hits, who, when, from where and the log and digest behind each; then the
/// hours the evidence could not prove, so an empty table is read for what it covers.
fn event_findings(out: &mut dyn Write, report: &Report, events: &[Findings]) -> io::Result<()> {
    let hits: usize = events.iter().map(|f| f.rows.len()).sum();
    writeln!(
        out,
        "<section id=\"event-findings\">\n<h2>Findings from proven events</h2>\n\
         <p class=\"note\">{hits} hits of {} detections, over the records of logs proven \
         intact only.</p>",
        events.len()
    )?;
    let text = |row: &serde_json::Value, column: &str| {
        escape(
            row.get(column)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-"),
        )
        .to_string()
    };
    for finding in events {
        writeln!(
            out,
            "<h3>{} ({})</h3>\n<p class=\"note\">Source: {}</p>",
            escape(&finding.title),
            finding.rows.len(),
            escape(&finding.source)
        )?;
        if finding.rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "<table class=\"findings\">\n<tr><th>When</th><th>Who</th><th>From</th>\
             <th>What</th><th>Where</th><th>Proven by</th></tr>"
        )?;
        for row in &finding.rows {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}<br>{}</td><td>{} {}</td>\
                 <td><code>{}</code><br>digest <code>{}</code></td></tr>",
                text(row, "eventtime"),
                text(row, "who"),
                text(row, "source_ip"),
                text(row, "eventname"),
                text(row, "detail"),
                text(row, "account"),
                text(row, "region"),
                text(row, "_log_key"),
                text(row, "_digest_key"),
            )?;
        }
        writeln!(out, "</table>")?;
    }
    let unproven: Vec<(String, trailcheck_core::periods::Period)> =
        trailcheck_core::periods::coverage(report)
            .into_iter()
            .flat_map(|c| {
                let place = format!("{} {}", c.account, c.region);
                c.unproven.into_iter().map(move |p| (place.clone(), p))
            })
            .collect();
    writeln!(
        out,
        "<h3>Hours the evidence could not prove ({})</h3>",
        unproven.len()
    )?;
    if unproven.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">None: the findings cover every hour in range.</p>"
        )?;
    } else {
        writeln!(
            out,
            "<table class=\"findings\">\n<tr><th>Account and region</th><th>From</th>\
             <th>To</th><th>Why</th></tr>"
        )?;
        for (place, period) in &unproven {
            writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(place),
                time::display(period.from),
                time::display(period.to),
                escape(&period.why.join("; "))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</section>")
}

fn findings(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "<section id=\"findings\">\n<h2>Findings</h2>")?;
    gaps_table(out, &report.gaps)?;
    // Worst status first; within a status, in the run's order (chains, then time): one
    // pass over the files per status found, so no file is held.
    let summed = report.summed();
    let statuses: Vec<Status> = (Status::ALL.into_iter().rev())
        .filter(|s| *s != Status::Intact && summed.with_status(|t| t == *s) > 0)
        .collect();
    let bad = summed.with_status(|s| s != Status::Intact);
    writeln!(out, "<h3>Files that are not intact ({bad})</h3>")?;
    if bad == 0 {
        return writeln!(
            out,
            "<p class=\"note\">None: every file was proven intact.</p>\n</section>"
        );
    }
    writeln!(
        out,
        "<table id=\"not-intact\" class=\"findings\">\n<tr><th>Status</th><th>File</th>\
         <th>Reason, and SHA-256 of the uncompressed content</th></tr>"
    )?;
    for status in statuses {
        report.each_file(&mut |file| match file.status == status {
            true => finding_row(out, file),
            false => Ok(()),
        })?;
    }
    writeln!(out, "</table>\n</section>")
}

fn gaps_table(out: &mut dyn Write, gaps: &[Gap]) -> io::Result<()> {
    writeln!(out, "<h3>Chain breaks and gaps ({})</h3>", gaps.len())?;
    if gaps.is_empty() {
        return writeln!(
            out,
            "<p class=\"note\">None: every chain runs unbroken.</p>"
        );
    }
    writeln!(
        out,
        "<table id=\"gaps\">\n<tr><th>Kind</th><th>Account</th><th>Region</th><th>Trail</th>\
         <th>From</th><th>To</th><th class=\"num\">Digests missing</th></tr>"
    )?;
    for gap in gaps {
        let (chip, words) = match gap.kind {
            GapKind::ChainBreak => (Mark::Deleted, "chain break: digests deleted"),
            GapKind::Gap => (Mark::Gap, "gap: validation or logging off"),
            GapKind::OpenStart => (
                Mark::NotCovered,
                "open start: the oldest digest names a predecessor the source lacks",
            ),
        };
        writeln!(
            out,
            "<tr><td><span class=\"chip {}\">{words}</span></td><td>{}</td><td>{}</td>\
             <td>{}{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            chip.class(),
            Esc(&gap.chain.account),
            Esc(&gap.chain.region),
            Esc(&gap.chain.trail),
            if gap.chain.backfill {
                " (backfill)"
            } else {
                ""
            },
            time::display(gap.from),
            time::display(gap.to),
            gap.missing_digests
                .map_or("—".to_owned(), |n| n.to_string())
        )?;
    }
    writeln!(out, "</table>")
}

fn finding_row(out: &mut dyn Write, file: &FileVerdict) -> io::Result<()> {
    let reference = match (file.kind, file.reference()) {
        (FileKind::Digest, Some(fp)) => format!(
            "<div class=\"small\">names public key <code>{}</code></div>",
            Esc(fp)
        ),
        (FileKind::Log, Some(digest)) => format!(
            "<div class=\"small\">listed by <code class=\"loc\">{}</code></div>",
            Esc(digest)
        ),
        _ => String::new(),
    };
    writeln!(
        out,
        "<tr><td><span class=\"chip {}\">{}</span></td>\
         <td><b>{}{}</b> · {}<br><code class=\"loc\">{}</code>{reference}</td>\
         <td><div class=\"reason\">{}</div><div class=\"hash\">{}</div></td></tr>",
        mark_of(file.status).class(),
        file.status,
        kind_name(file.kind),
        if file.backfill { " (backfill)" } else { "" },
        shown_time(file.time),
        Esc(&file.s3_url()),
        Esc(&crate::detail(file)),
        hashes(file)
    )
}

/// Expected above actual; a pair that differs is highlighted.
fn hashes(file: &FileVerdict) -> String {
    if file.expected_sha256.is_none() && file.actual_sha256.is_none() {
        return "<span class=\"small\">no SHA-256: none recorded, none read</span>".to_owned();
    }
    let differs =
        matches!((file.expected_sha256, file.actual_sha256), (Some(e), Some(a)) if e != a);
    let line = |label: &str, hash: Option<Sha256>, class: &str| match hash {
        Some(h) => format!(
            "<div class=\"{class}\"><span class=\"lbl\">{label}</span><code>{h}</code></div>"
        ),
        None => format!("<div><span class=\"lbl\">{label}</span>—</div>"),
    };
    format!(
        "{}{}",
        line("expected", file.expected_sha256, ""),
        line(
            "actual",
            file.actual_sha256,
            if differs { "differs" } else { "" }
        )
    )
}

fn appendix(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "<section id=\"appendix\">\n<h2>Appendix: every file</h2>\n<details>\n\
         <summary>All {} files with their SHA-256 (collapsed)</summary>\n\
         <table class=\"every\">\n<tr><th>Status</th><th>Kind</th><th>Time</th><th>Location</th>\
         <th>SHA-256 (as read, else as expected)</th></tr>",
        report.summed().total()
    )?;
    report.each_file(&mut |file| {
        let hash = file
            .actual_sha256
            .or(file.expected_sha256)
            .map_or("—".to_owned(), |h| h.to_hex());
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"t\">{}</td><td><code class=\"loc\">{}</code></td>\
             <td class=\"h\"><code>{hash}</code></td></tr>",
            file.status,
            kind_name(file.kind),
            shown_time(file.time),
            Esc(&file.s3_url()),
        )
    })?;
    writeln!(out, "</table>\n</details>\n</section>")
}

fn footer(out: &mut dyn Write, run: &RunInfo) -> io::Result<()> {
    writeln!(
        out,
        "<footer>Written by trailcheck {} at {}. This file is self-contained: it loads \
         nothing and runs no script.</footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        time::display(run.ran_at)
    )
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Digest => "digest",
        FileKind::Log => "log",
    }
}

fn shown_time(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(|| "unknown".to_owned(), time::display)
}

/// The arguments as a shell would need them typed: plain words bare, others single-quoted.
fn shell_words(args: &[String]) -> String {
    let word = |arg: &String| {
        let plain = !arg.is_empty()
            && arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c));
        if plain {
            arg.clone()
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        }
    };
    args.iter().map(word).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_defuses_a_script_key() {
        assert_eq!(
            escape("AWSLogs/<script>alert('x')</script>.json.gz"),
            "AWSLogs/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;.json.gz"
        );
    }

    #[test]
    fn escape_covers_attributes_and_ampersands() {
        assert_eq!(
            escape(r#"a"b' onmouseover=x &amp;"#),
            "a&quot;b&#39; onmouseover=x &amp;amp;"
        );
    }

    #[test]
    fn escape_shows_control_and_bidi_characters() {
        assert_eq!(escape("k\u{202E}fdp.exe\n<"), "k\\u{202e}fdp.exe\\n&lt;");
        assert_eq!(escape("\u{FFFE}"), "\u{FFFD}");
    }

    #[test]
    fn escape_keeps_ordinary_text() {
        assert_eq!(escape("Grüße/日本/a+b=c"), "Grüße/日本/a+b=c");
    }

    #[test]
    fn command_lines_quote_what_a_shell_would_split() {
        let args: Vec<String> = [
            "trailcheck",
            "validate",
            "my archive",
            "--start-time",
            "-7d",
            "it's",
        ]
        .map(str::to_owned)
        .to_vec();
        assert_eq!(
            shell_words(&args),
            r"trailcheck validate 'my archive' --start-time -7d 'it'\''s'"
        );
    }

    #[test]
    fn an_empty_run_renders_as_incomplete_with_nothing_checked() {
        let run = RunInfo {
            command_line: vec!["trailcheck".to_owned()],
            ran_at: DateTime::UNIX_EPOCH,
            json: None,
        };
        let mut out = Vec::new();
        render(&Report::default(), &Options::default(), &run, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains("Verdict: INCOMPLETE"));
        assert!(page.contains("Nothing was checked"));
        assert!(page.contains("No file with a time was checked."));
        assert!(page.ends_with("</html>\n"));
    }
}
