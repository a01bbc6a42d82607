//! The evidence report's timeline: per account and region, one cell per hour, marked with
//! the worst thing that hour holds.
//!
//! Pure bookkeeping over the finished [`Report`]: an hour's mark is the worst status of the
//! digests and logs whose time falls in it, a gap or chain break covering it, or "not
//! covered" when no digest covers it. Statuses come from the engine; nothing is re-judged.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

use trailcheck_core::verdict::{Cause, FileKind, FileVerdict, GapKind, Report, Status};

const HOUR: i64 = 3600;

/// What one hour cell shows, ordered from best to worst so that the worst is `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    Intact,
    /// No digest covers this hour, and no file or gap says more.
    NotCovered,
    Pending,
    Unverifiable,
    /// Validation or logging was off: nothing was digested.
    Gap,
    Unreferenced,
    Moved,
    /// A log or digest deleted, or an hour inside a chain break.
    Deleted,
    Modified,
}

impl Mark {
    /// Worst first: the order of the legend.
    pub const LEGEND: [Mark; 9] = [
        Mark::Modified,
        Mark::Deleted,
        Mark::Moved,
        Mark::Unreferenced,
        Mark::Gap,
        Mark::Unverifiable,
        Mark::Pending,
        Mark::NotCovered,
        Mark::Intact,
    ];

    /// The CSS class, also what tests look for in the rendered page.
    pub fn class(self) -> &'static str {
        match self {
            Mark::Intact => "m-intact",
            Mark::NotCovered => "m-uncovered",
            Mark::Pending => "m-pending",
            Mark::Unverifiable => "m-unverifiable",
            Mark::Gap => "m-gap",
            Mark::Unreferenced => "m-unreferenced",
            Mark::Moved => "m-moved",
            Mark::Deleted => "m-deleted",
            Mark::Modified => "m-modified",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mark::Intact => "intact",
            Mark::NotCovered => "not covered",
            Mark::Pending => "pending",
            Mark::Unverifiable => "unverifiable",
            Mark::Gap => "gap",
            Mark::Unreferenced => "unreferenced",
            Mark::Moved => "moved",
            Mark::Deleted => "deleted",
            Mark::Modified => "modified",
        }
    }

    /// The legend's explanation, for a reader who has not read the manual.
    pub fn meaning(self) -> &'static str {
        match self {
            Mark::Intact => "every file of the hour proven unchanged",
            Mark::NotCovered => "no digest covers the hour: nothing can be proven",
            Mark::Pending => "logs whose digest is not delivered yet",
            Mark::Unverifiable => "a file that could not be checked either way",
            Mark::Gap => "validation or logging was off: no digests written",
            Mark::Unreferenced => "a log no digest lists: added afterwards",
            Mark::Moved => "a digest found away from where it was delivered",
            Mark::Deleted => "a file or digests removed (chain break)",
            Mark::Modified => "a file changed after it was signed",
        }
    }

    /// Marks drawn again hour by hour when the timeline is compressed: tampering and what
    /// could not be proven. A gap or pending logs read well enough in coarse cells, and the
    /// gaps table gives their exact times.
    pub fn zoomed(self) -> bool {
        matches!(
            self,
            Mark::Unverifiable | Mark::Unreferenced | Mark::Moved | Mark::Deleted | Mark::Modified
        )
    }

    /// A file's own mark. A log judged unverifiable because it fell in a gap shows as gap,
    /// so the whole gap reads as one.
    fn of(file: &FileVerdict) -> Mark {
        match file.status {
            Status::Intact => Mark::Intact,
            Status::Pending => Mark::Pending,
            // By code: a verdict read back from a result file carries its cause as recorded.
            Status::Unverifiable if file.cause.code() == Cause::InGap.code() => Mark::Gap,
            Status::Unverifiable => Mark::Unverifiable,
            Status::Unreferenced => Mark::Unreferenced,
            Status::Moved => Mark::Moved,
            Status::Deleted => Mark::Deleted,
            Status::Modified => Mark::Modified,
        }
    }
}

/// Files by kind and status: a fixed table rather than a map, since every hour of every row
/// holds one (a month of 100 accounts' regions is 72,000 of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileCounts([[u32; Status::ALL.len()]; 2]);

impl FileCounts {
    pub fn add(&mut self, kind: FileKind, status: Status, n: u32) {
        let slot = &mut self.0[kind as usize][status as usize];
        *slot = slot.saturating_add(n);
    }

    /// How many files of this kind have this status; 0 when none.
    pub fn get(&self, kind: FileKind, status: Status) -> u32 {
        self.0[kind as usize][status as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().flatten().all(|&n| n == 0)
    }

    /// Adds another table's counts to these.
    pub fn absorb(&mut self, other: &FileCounts) {
        for kind in [FileKind::Digest, FileKind::Log] {
            for status in Status::ALL {
                self.add(kind, status, other.get(kind, status));
            }
        }
    }
}

/// An hour's file counts: intact digests and logs, what nearly every hour holds, inline;
/// any other status in a table allocated only for an hour that has one. A month of 100
/// accounts' regions holds 72,000 hours: a full table in each took 9 MB more.
#[derive(Clone, Debug, Default)]
struct HourCounts {
    intact: [u32; 2],
    rest: Option<Box<FileCounts>>,
}

impl HourCounts {
    fn add(&mut self, kind: FileKind, status: Status) {
        match status {
            Status::Intact => {
                let slot = &mut self.intact[kind as usize];
                *slot = slot.saturating_add(1);
            }
            _ => self.rest.get_or_insert_default().add(kind, status, 1),
        }
    }

    fn table(&self) -> FileCounts {
        let mut table = self.rest.as_deref().copied().unwrap_or_default();
        table.add(FileKind::Digest, Status::Intact, self.intact[0]);
        table.add(FileKind::Log, Status::Intact, self.intact[1]);
        table
    }
}

/// One hour of one row: what a per-hour aggregate holds, and all the timeline needs of it.
#[derive(Clone, Debug, Default)]
pub struct Hour {
    /// The worst of the hour's files and gaps; `None` until [`finish`] settles it.
    worst: Option<Mark>,
    /// A digest's period overlaps the hour.
    covered: bool,
    /// How many files of each kind and status have their time in this hour.
    counts: HourCounts,
    /// The worst gap kind overlapping the hour (a chain break is worse than a gap).
    pub gap: Option<GapKind>,
}

impl Hour {
    /// How many files of each kind and status have their time in this hour.
    pub fn counts(&self) -> FileCounts {
        self.counts.table()
    }

    pub fn mark(&self) -> Mark {
        self.worst.unwrap_or(Mark::NotCovered)
    }

    fn raise(&mut self, mark: Mark) {
        self.worst = self.worst.max(Some(mark));
    }

    /// Settles the mark: an hour no digest or gap covers is at best "not covered".
    fn finish(&mut self) {
        let floor = if self.covered || self.gap.is_some() {
            Mark::Intact
        } else {
            Mark::NotCovered
        };
        self.worst = self.worst.max(Some(floor));
    }
}

/// One account and region: its hours that hold a file, a digest's cover or a gap. An hour
/// absent from `hours` is "not covered", so memory follows what the archive holds, not the
/// length of the span drawn.
#[derive(Clone, Debug)]
pub struct Row {
    pub account: String,
    pub region: String,
    /// By hour, counted since 1970-01-01T00:00Z.
    pub hours: BTreeMap<i64, Hour>,
}

/// Every row over the same hours.
#[derive(Clone, Debug)]
pub struct Timeline {
    /// The first hour drawn, counted in hours since 1970-01-01T00:00Z.
    pub first: i64,
    /// The last hour drawn (inclusive).
    pub last: i64,
    pub rows: Vec<Row>,
    /// How lines and cells divide the hours.
    pub scale: Scale,
    /// The requested range in hours, to say which drawn hours lie outside it.
    requested: (Option<i64>, Option<i64>),
}

/// Hours drawn before the oldest and after the newest thing found, so the reader sees where
/// the evidence begins and ends, and the hour a pending log's digest is due in is drawn.
pub const MARGIN_HOURS: i64 = 3;

impl Timeline {
    /// The cells over the span the evidence covers: the oldest to the newest file, gap or
    /// found digest period, with [`MARGIN_HOURS`] either side when drawn hour by hour. The
    /// requested range plays no part: an archive from 2024 validated up to today is drawn
    /// over 2024, not over the empty year before today.
    pub fn build(report: &Report) -> io::Result<Timeline> {
        let keys = row_keys(report)?;
        let requested = (
            report.requested_start.map(hour_of),
            report.requested_end.map(hour_of),
        );
        let Some((found_first, found_last)) = span(report)? else {
            return Ok(Timeline {
                first: 0,
                last: -1,
                rows: Vec::new(),
                scale: Scale::DayOfHours,
                requested,
            });
        };
        let rows = i64::try_from(keys.len()).unwrap_or(i64::MAX).max(1);
        let scale = Scale::fitting(found_first - MARGIN_HOURS, found_last + MARGIN_HOURS, rows);
        // A compressed cell is the worst of its hours: margin hours, never covered, would
        // turn the first and last cells grey.
        let margin = if scale.hourly() { MARGIN_HOURS } else { 0 };
        let mut timeline = Timeline {
            first: found_first - margin,
            last: found_last + margin,
            rows: keys
                .into_iter()
                .map(|(account, region)| Row {
                    account,
                    region,
                    hours: BTreeMap::new(),
                })
                .collect(),
            scale,
            requested,
        };
        timeline.add_files(report)?;
        timeline.add_gaps(report);
        for hour in timeline.rows.iter_mut().flat_map(|r| r.hours.values_mut()) {
            hour.finish();
        }
        Ok(timeline)
    }

    /// Hours drawn per row.
    pub fn len(&self) -> i64 {
        (self.last - self.first + 1).max(0)
    }

    pub fn contains(&self, hour: i64) -> bool {
        (self.first..=self.last).contains(&hour)
    }

    /// True for a drawn hour outside the requested range (a margin hour).
    pub fn outside_request(&self, hour: i64) -> bool {
        let (start, end) = self.requested;
        start.is_some_and(|s| hour < s) || end.is_some_and(|e| hour > e)
    }

    /// Each file counted into its row's hour: what the timeline keeps is per hour, not per
    /// file.
    fn add_files(&mut self, report: &Report) -> io::Result<()> {
        report.each_file(&mut |file| {
            let Some(time) = file.time else { return Ok(()) };
            let Some(row) = self.row_mut(file.account.as_deref(), file.region.as_deref()) else {
                return Ok(());
            };
            let hour = row.hours.entry(hour_of(time)).or_default();
            hour.counts.add(file.kind, file.status);
            hour.raise(Mark::of(file));
            // A digest speaks for the hour before its end time: logs delivered then.
            if file.kind == FileKind::Digest {
                let from = time.timestamp() - HOUR;
                for h in hours_mostly_inside(from, time.timestamp()) {
                    row.hours.entry(h).or_default().covered = true;
                }
            }
            Ok(())
        })
    }

    fn add_gaps(&mut self, report: &Report) {
        for gap in &report.gaps {
            let chain = &gap.chain;
            let Some(row) = self.row_mut(Some(&chain.account), Some(&chain.region)) else {
                continue;
            };
            let mark = match gap.kind {
                GapKind::Gap => Mark::Gap,
                GapKind::ChainBreak => Mark::Deleted,
                // A point, not a period: nothing to draw.
                GapKind::OpenStart => continue,
            };
            for h in hours_mostly_inside(gap.from.timestamp(), gap.to.timestamp()) {
                let hour = row.hours.entry(h).or_default();
                hour.gap = hour.gap.max(Some(gap.kind));
                hour.raise(mark);
            }
        }
    }

    fn row_mut(&mut self, account: Option<&str>, region: Option<&str>) -> Option<&mut Row> {
        let (account, region) = (account.unwrap_or(UNKNOWN), region.unwrap_or(UNKNOWN));
        // The rows are in (account, region) order, as their keys were collected.
        let at = self
            .rows
            .binary_search_by(|r| (r.account.as_str(), r.region.as_str()).cmp(&(account, region)))
            .ok()?;
        self.rows.get_mut(at)
    }
}

impl Row {
    /// The mark of one hour; an hour nothing touched is not covered.
    pub fn mark(&self, hour: i64) -> Mark {
        self.hours.get(&hour).map_or(Mark::NotCovered, Hour::mark)
    }

    /// The worst of the hours `from..to` of `timeline`'s span, with how many hours have each
    /// mark, and the hours that hold a finding, oldest first. `None` when no hour of the
    /// range is drawn.
    pub fn summary(&self, timeline: &Timeline, from: i64, to: i64) -> Option<Summary> {
        let (from, to) = (from.max(timeline.first), to.min(timeline.last + 1));
        if from >= to {
            return None;
        }
        let mut summary = Summary {
            worst: Mark::Intact,
            hours: BTreeMap::new(),
            counts: FileCounts::default(),
            findings: Vec::new(),
        };
        let mut touched = 0;
        for (&h, hour) in self.hours.range(from..to) {
            touched += 1;
            let mark = hour.mark();
            *summary.hours.entry(mark).or_insert(0) += 1;
            summary.counts.absorb(&hour.counts());
            if mark > Mark::NotCovered {
                summary.findings.push((h, mark));
            }
        }
        let untouched = to - from - touched;
        if untouched > 0 {
            *summary.hours.entry(Mark::NotCovered).or_insert(0) += untouched;
        }
        summary.worst = summary
            .hours
            .keys()
            .copied()
            .max()
            .unwrap_or(Mark::NotCovered);
        Some(summary)
    }

    /// Hours of the row that hold a finding (worse than "not covered").
    pub fn finding_hours(&self) -> impl Iterator<Item = (i64, Mark)> + '_ {
        self.hours
            .iter()
            .map(|(&h, hour)| (h, hour.mark()))
            .filter(|&(_, mark)| mark > Mark::NotCovered)
    }
}

/// Several hours seen as one cell: the worst mark, as every cell shows, and what it hides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub worst: Mark,
    /// How many hours have each mark.
    pub hours: BTreeMap<Mark, i64>,
    /// Files by kind and status, over all the hours.
    pub counts: FileCounts,
    /// Each hour worse than "not covered", oldest first.
    pub findings: Vec<(i64, Mark)>,
}

/// How one row's hours are laid out: lines of cells, finest first. A line is a day, week,
/// month or year; a cell is an hour, day, week or month and shows the worst of its hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scale {
    /// One line per day, one cell per hour: up to [`Scale::lines_allowed`] days.
    DayOfHours,
    /// One line per week (Monday first), one cell per hour.
    WeekOfHours,
    /// One line per month, one cell per day.
    MonthOfDays,
    /// One line per year, one cell per week (the weeks whose Monday falls in the year).
    YearOfWeeks,
    /// One line per year, one cell per month: the last resort, for many rows over decades.
    YearOfMonths,
}

/// The most cells drawn over all rows, so an organization trail with many accounts still
/// makes a file a browser opens; past it the timeline takes a coarser scale. The coarsest
/// scale is drawn whatever its size: a finding is never left out of the picture.
pub const MAX_CELLS: i64 = 400_000;

impl Scale {
    const ALL: [Scale; 5] = [
        Scale::DayOfHours,
        Scale::WeekOfHours,
        Scale::MonthOfDays,
        Scale::YearOfWeeks,
        Scale::YearOfMonths,
    ];

    /// The most lines a row may take at this scale: a month of days, a year of weeks, four
    /// years of months, so one row stays on a printed page or two.
    fn lines_allowed(self) -> i64 {
        match self {
            Scale::DayOfHours => 31,
            Scale::WeekOfHours => 54,
            Scale::MonthOfDays => 48,
            Scale::YearOfWeeks | Scale::YearOfMonths => i64::MAX,
        }
    }

    /// The finest scale that draws the hours `first..=last` of `rows` rows within the
    /// limits of lines per row and cells in all.
    pub fn fitting(first: i64, last: i64, rows: i64) -> Scale {
        Scale::ALL
            .into_iter()
            .find(|scale| {
                let lines = scale.lines(first, last).count();
                let lines = i64::try_from(lines).unwrap_or(i64::MAX);
                let cells = lines.saturating_mul(scale.cells_per_line());
                lines <= scale.lines_allowed() && cells.saturating_mul(rows) <= MAX_CELLS
            })
            .unwrap_or(Scale::YearOfMonths)
    }

    /// True when every cell is one hour.
    pub fn hourly(self) -> bool {
        matches!(self, Scale::DayOfHours | Scale::WeekOfHours)
    }

    /// The most cells a line holds.
    pub fn cells_per_line(self) -> i64 {
        match self {
            Scale::DayOfHours => 24,
            Scale::WeekOfHours => 168,
            Scale::MonthOfDays => 31,
            Scale::YearOfWeeks => 53,
            Scale::YearOfMonths => 12,
        }
    }

    /// The CSS class of the lines, also what tests look for.
    pub fn class(self) -> &'static str {
        match self {
            Scale::DayOfHours => "tl-day",
            Scale::WeekOfHours => "tl-week",
            Scale::MonthOfDays => "tl-month",
            Scale::YearOfWeeks => "tl-year-w",
            Scale::YearOfMonths => "tl-year-m",
        }
    }

    /// The start hour of each line that holds an hour of `first..=last`.
    pub fn lines(self, first: i64, last: i64) -> impl Iterator<Item = i64> {
        let mut next = (first <= last).then(|| self.line_start(first));
        std::iter::from_fn(move || {
            let start = next.filter(|&s| s <= last)?;
            next = self.line_end(start);
            Some(start)
        })
    }

    /// The first hour of the line holding `hour`.
    fn line_start(self, hour: i64) -> i64 {
        let day = hour.div_euclid(24);
        match self {
            Scale::DayOfHours => day * 24,
            Scale::WeekOfHours => monday(day) * 24,
            Scale::MonthOfDays => month_start(day, 1) * 24,
            // The line of a year starts at the first Monday in it, for whole week cells.
            Scale::YearOfWeeks => {
                let jan1 = month_start(day, 12);
                let first_monday = monday(jan1 + 6);
                if day >= first_monday {
                    first_monday * 24
                } else {
                    monday(month_start(jan1 - 1, 12) + 6) * 24
                }
            }
            Scale::YearOfMonths => month_start(day, 12) * 24,
        }
    }

    /// The first hour after the line starting at `start`; `None` past chrono's calendar.
    fn line_end(self, start: i64) -> Option<i64> {
        let day = start.div_euclid(24);
        Some(match self {
            Scale::DayOfHours => start + 24,
            Scale::WeekOfHours => start + 168,
            Scale::MonthOfDays => add_months(day, 1)? * 24,
            Scale::YearOfWeeks => monday(add_months(month_start(day, 12), 12)? + 6) * 24,
            Scale::YearOfMonths => add_months(day, 12)? * 24,
        })
    }

    /// The cells of the line starting at `start`, each as its hours `from..to`.
    pub fn cells(self, start: i64) -> Vec<(i64, i64)> {
        let Some(end) = self.line_end(start) else {
            return Vec::new();
        };
        let step = |from: i64| -> Option<i64> {
            Some(match self {
                Scale::DayOfHours | Scale::WeekOfHours => from + 1,
                Scale::MonthOfDays => from + 24,
                Scale::YearOfWeeks => from + 168,
                Scale::YearOfMonths => add_months(from.div_euclid(24), 1)? * 24,
            })
        };
        let mut cells = Vec::new();
        let mut from = start;
        while from < end {
            let Some(to) = step(from) else { break };
            cells.push((from, to.min(end)));
            from = to;
        }
        cells
    }

    /// The words for one cell in the legend and the caption.
    pub fn cell_name(self) -> &'static str {
        match self {
            Scale::DayOfHours | Scale::WeekOfHours => "hour",
            Scale::MonthOfDays => "day",
            Scale::YearOfWeeks => "week",
            Scale::YearOfMonths => "month",
        }
    }

    pub fn line_name(self) -> &'static str {
        match self {
            Scale::DayOfHours => "day",
            Scale::WeekOfHours => "week",
            Scale::MonthOfDays => "month",
            Scale::YearOfWeeks | Scale::YearOfMonths => "year",
        }
    }
}

/// The Monday on or before a day (days since 1970-01-01, a Thursday).
fn monday(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

fn date_of(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day.checked_add(EPOCH_CE_DAYS)?).ok()?)
}

fn day_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - EPOCH_CE_DAYS
}

/// Days from 0001-01-01 to 1970-01-01, for chrono's day numbers.
const EPOCH_CE_DAYS: i64 = 719_163;

/// The first day of the month (`months` = 1) or year (`months` = 12) holding `day`.
fn month_start(day: i64, months: u32) -> i64 {
    match date_of(day) {
        Some(d) => {
            let month = if months == 12 { 1 } else { d.month() };
            NaiveDate::from_ymd_opt(d.year(), month, 1).map_or(day, day_of)
        }
        None => day,
    }
}

/// The first of the month `months` after the month or year starting on `day`.
fn add_months(day: i64, months: u32) -> Option<i64> {
    let date = date_of(day)?.checked_add_months(Months::new(months))?;
    Some(day_of(date))
}

/// The row of a file whose key names no account or region.
const UNKNOWN: &str = "unknown";

fn row_keys(report: &Report) -> io::Result<BTreeSet<(String, String)>> {
    fn name(s: Option<&str>) -> &str {
        s.unwrap_or(UNKNOWN)
    }
    let mut keys: BTreeSet<(String, String)> = (report.gaps.iter())
        .map(|g| (g.chain.account.clone(), g.chain.region.clone()))
        .collect();
    // Files come place by place: a row is only built when the place changes.
    let mut last: Option<(String, String)> = None;
    report.each_file(&mut |f| {
        let (account, region) = (name(f.account.as_deref()), name(f.region.as_deref()));
        if last
            .as_ref()
            .is_none_or(|(a, r)| a != account || r != region)
        {
            let row = (account.to_owned(), region.to_owned());
            keys.insert(row.clone());
            last = Some(row);
        }
        Ok(())
    })?;
    Ok(keys)
}

/// The first and last hour the evidence covers: every file's time (and a digest's hour before
/// it, which it covers), every gap, and the found range of the authentic digests. `None` when
/// there is no time at all.
fn span(report: &Report) -> io::Result<Option<(i64, i64)>> {
    let mut span: Option<(i64, i64)> = None;
    let mut widen = |t: DateTime<Utc>| {
        let h = hour_of(t);
        span = Some(span.map_or((h, h), |(a, b)| (a.min(h), b.max(h))));
    };
    report.each_file(&mut |f| {
        if let Some(t) = f.time {
            widen(t);
            if f.kind == FileKind::Digest {
                widen(t - chrono::Duration::hours(1));
            }
        }
        Ok(())
    })?;
    for (from, to) in (report.gaps.iter().map(|g| (g.from, g.to))).chain(report.found) {
        widen(from);
        widen(to);
    }
    Ok(span)
}

/// The hour a time falls in, counted since the epoch.
pub fn hour_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(HOUR)
}

/// The start of an hour counted since the epoch.
pub fn time_of(hour: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(hour.checked_mul(HOUR)?, 0)
}

/// The hours that the half-open period `[from, to)` (in seconds) overlaps.
fn hours_overlapping(from: i64, to: i64) -> std::ops::Range<i64> {
    if to <= from {
        return 0..0;
    }
    from.div_euclid(HOUR)..(to + HOUR - 1).div_euclid(HOUR)
}

/// The hours at least half inside `[from, to)`, or if none is, the one most inside it.
///
/// Digests end a few seconds or minutes past the hour, so a gap from 06:00:09 to 10:00:03
/// would otherwise paint 10:00-11:00 as a gap for three seconds of it, and the newest digest
/// ending at 06:00:09 would claim to cover 06:00-07:00. A file delivered in such a sliver
/// still marks its hour through its own verdict.
fn hours_mostly_inside(from: i64, to: i64) -> Vec<i64> {
    let inside = |h: i64| (to.min((h + 1) * HOUR) - from.max(h * HOUR)).max(0);
    let hours: Vec<i64> = hours_overlapping(from, to)
        .filter(|&h| inside(h) * 2 >= HOUR)
        .collect();
    if !hours.is_empty() {
        return hours;
    }
    hours_overlapping(from, to)
        .max_by_key(|&h| inside(h))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use trailcheck_core::verdict::{ChainId, Gap};

    #[test]
    fn file_counts_keep_kinds_apart_add_up_and_saturate() {
        let mut counts = FileCounts::default();
        assert!(counts.is_empty());
        counts.add(FileKind::Log, Status::Modified, 2);
        assert_eq!(counts.get(FileKind::Log, Status::Modified), 2);
        assert_eq!(counts.get(FileKind::Digest, Status::Modified), 0);
        assert!(!counts.is_empty());
        let mut total = FileCounts::default();
        total.add(FileKind::Log, Status::Modified, u32::MAX - 1);
        total.absorb(&counts);
        assert_eq!(total.get(FileKind::Log, Status::Modified), u32::MAX);
    }

    #[test]
    fn an_hours_counts_keep_intact_inline_and_the_rest_apart() {
        let mut hour = HourCounts::default();
        hour.add(FileKind::Digest, Status::Intact);
        hour.add(FileKind::Log, Status::Intact);
        hour.add(FileKind::Log, Status::Intact);
        assert!(hour.rest.is_none(), "an intact hour allocates nothing");
        hour.add(FileKind::Log, Status::Deleted);
        let table = hour.table();
        assert_eq!(table.get(FileKind::Digest, Status::Intact), 1);
        assert_eq!(table.get(FileKind::Log, Status::Intact), 2);
        assert_eq!(table.get(FileKind::Log, Status::Deleted), 1);
        assert_eq!(table.get(FileKind::Digest, Status::Deleted), 0);
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, m, s).unwrap()
    }

    fn file(kind: FileKind, time: DateTime<Utc>, status: Status, cause: Cause) -> FileVerdict {
        let mut f = FileVerdict {
            status,
            ..FileVerdict::new(kind, "b", "k", cause)
        };
        f.time = Some(time);
        f.account = Some("111122223333".to_owned());
        f.region = Some("us-east-1".to_owned());
        f
    }

    fn digest(time: DateTime<Utc>) -> FileVerdict {
        file(FileKind::Digest, time, Status::Intact, Cause::Verified)
    }

    fn log(time: DateTime<Utc>, status: Status) -> FileVerdict {
        file(FileKind::Log, time, status, Cause::Verified)
    }

    /// The marks of the one row, from the first hour drawn to the last.
    fn marks(report: &Report) -> Vec<Mark> {
        let t = Timeline::build(report).unwrap();
        assert_eq!(t.rows.len(), 1);
        (t.first..=t.last).map(|h| t.rows[0].mark(h)).collect()
    }

    fn report(files: Vec<FileVerdict>) -> Report {
        Report {
            requested_start: Some(at(0, 0, 0)),
            requested_end: Some(at(5, 30, 0)),
            files,
            ..Report::default()
        }
    }

    fn chain() -> ChainId {
        ChainId {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            trail: "t".to_owned(),
            home_region: "us-east-1".to_owned(),
            organization: None,
            backfill: false,
        }
    }

    fn hole(kind: GapKind, from: DateTime<Utc>, to: DateTime<Utc>) -> Gap {
        Gap {
            kind,
            chain: chain(),
            bucket: "b".to_owned(),
            from,
            to,
            missing_digests: None,
            previous: None,
        }
    }

    fn hour_at(y: i32, mo: u32, d: u32, h: u32) -> i64 {
        hour_of(Utc.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap())
    }

    #[test]
    fn a_gap_marks_the_hours_it_mostly_covers() {
        assert_eq!(
            hours_mostly_inside(6 * HOUR + 9, 10 * HOUR + 3),
            [6, 7, 8, 9]
        );
        assert_eq!(
            hours_mostly_inside(4 * HOUR + 1800, 5 * HOUR + 1800),
            [4, 5]
        );
        assert_eq!(hours_mostly_inside(4 * HOUR + 100, 4 * HOUR + 700), [4]);
        assert_eq!(hours_mostly_inside(4 * HOUR + 3000, 5 * HOUR + 900), [5]);
        assert!(hours_mostly_inside(5, 5).is_empty());
    }

    #[test]
    fn hours_overlap_half_open() {
        assert_eq!(hours_overlapping(2 * HOUR, 3 * HOUR), 2..3);
        assert_eq!(hours_overlapping(2 * HOUR + 9, 3 * HOUR + 9), 2..4);
        assert_eq!(hours_overlapping(5, 5), 0..0);
        assert_eq!(hours_overlapping(-1, 1), -1..1);
    }

    #[test]
    fn an_hour_is_covered_by_the_digest_ending_after_it_and_marked_by_its_worst_file() {
        let mut r = report(vec![
            digest(at(2, 0, 9)),
            digest(at(3, 0, 9)),
            log(at(2, 10, 0), Status::Intact),
            log(at(2, 20, 0), Status::Modified),
            log(at(2, 30, 0), Status::Pending),
        ]);
        r.files.push(log(at(5, 1, 0), Status::Pending));
        let t = Timeline::build(&r).unwrap();
        // The oldest thing found is the first digest's hour (01:00), the newest the pending
        // log (05:00); three hours of margin either side.
        assert_eq!(
            (t.first, t.last),
            (hour_of(at(1, 0, 0)) - 3, hour_of(at(5, 0, 0)) + 3)
        );
        let m = marks(&r);
        assert_eq!(
            m[3..=7],
            [
                Mark::Intact,
                Mark::Modified,
                Mark::NotCovered,
                Mark::NotCovered,
                Mark::Pending
            ]
        );
        assert!(m[..3].iter().chain(&m[8..]).all(|&x| x == Mark::NotCovered));
        let hour = &t.rows[0].hours[&hour_of(at(2, 0, 0))];
        assert_eq!(hour.counts().get(FileKind::Log, Status::Modified), 1);
        assert_eq!(time_of(hour_of(at(2, 0, 0))), Some(at(2, 0, 0)));
    }

    #[test]
    fn chain_breaks_read_as_deleted_and_gaps_as_gap() {
        let mut r = report(vec![file(
            FileKind::Log,
            at(4, 5, 0),
            Status::Unverifiable,
            Cause::InGap,
        )]);
        r.gaps = vec![
            hole(GapKind::ChainBreak, at(1, 0, 0), at(3, 0, 0)),
            hole(GapKind::Gap, at(4, 0, 0), at(5, 0, 0)),
        ];
        let t = Timeline::build(&r).unwrap();
        let marks: Vec<Mark> = (hour_of(at(0, 0, 0))..hour_of(at(6, 0, 0)))
            .map(|h| t.rows[0].mark(h))
            .collect();
        assert_eq!(
            marks,
            [
                Mark::NotCovered,
                Mark::Deleted,
                Mark::Deleted,
                Mark::NotCovered,
                Mark::Gap,
                Mark::NotCovered
            ]
        );
    }

    #[test]
    fn an_old_archive_validated_up_to_today_is_drawn_over_its_own_hours() {
        let old = |h| Utc.with_ymd_and_hms(2024, 3, 5, h, 9, 0).unwrap();
        let mut r = report(vec![digest(old(1)), log(old(0), Status::Modified)]);
        r.requested_start = None;
        r.requested_end = Some(Utc.with_ymd_and_hms(2026, 12, 2, 4, 0, 0).unwrap());
        let t = Timeline::build(&r).unwrap();
        assert_eq!(t.scale, Scale::DayOfHours);
        assert_eq!(t.first, hour_at(2024, 3, 5, 0) - MARGIN_HOURS);
        assert_eq!(t.last, hour_at(2024, 3, 5, 1) + MARGIN_HOURS);
        assert_eq!(t.rows[0].mark(hour_at(2024, 3, 5, 0)), Mark::Modified);
        assert!(!t.outside_request(t.first));
    }

    #[test]
    fn margin_hours_past_the_requested_range_say_so() {
        let t = Timeline::build(&report(vec![digest(at(4, 0, 9))])).unwrap();
        assert!(t.outside_request(t.last));
        assert!(!t.outside_request(hour_of(at(4, 0, 0))));
    }

    #[test]
    fn two_years_compress_to_days_and_keep_every_finding() {
        let y2024 = Utc.with_ymd_and_hms(2024, 3, 5, 7, 20, 0).unwrap();
        let y2025 = Utc.with_ymd_and_hms(2025, 9, 10, 13, 5, 0).unwrap();
        let mut r = report(vec![
            digest(y2024),
            log(y2024, Status::Modified),
            digest(y2025),
            log(y2025, Status::Unreferenced),
        ]);
        r.requested_start = None;
        r.requested_end = None;
        r.gaps = vec![hole(GapKind::Gap, y2024, y2025)];
        let t = Timeline::build(&r).unwrap();
        assert_eq!(t.scale, Scale::MonthOfDays);
        assert_eq!((t.first, t.last), (hour_of(y2024) - 1, hour_of(y2025)));
        let row = &t.rows[0];
        let day = |time: DateTime<Utc>| {
            let from = hour_of(time).div_euclid(24) * 24;
            row.summary(&t, from, from + 24).expect("drawn")
        };
        assert_eq!(day(y2024).worst, Mark::Modified);
        assert_eq!(day(y2025).worst, Mark::Unreferenced);
        assert!(
            day(y2025)
                .findings
                .contains(&(hour_of(y2025), Mark::Unreferenced))
        );
        let between = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(day(between).worst, Mark::Gap);
        // The first day starts at the span: its uncovered morning is not drawn as a finding.
        assert_eq!(day(y2024).hours.get(&Mark::NotCovered), None);
        let lines: Vec<i64> = t.scale.lines(t.first, t.last).collect();
        assert_eq!(lines.len(), 19, "March 2024 to September 2025");
        assert_eq!(lines[0], hour_at(2024, 3, 1, 0));
        assert_eq!(t.scale.cells(lines[0]).len(), 31);
        assert_eq!(t.scale.cells(hour_at(2024, 2, 1, 0)).len(), 29, "leap year");
    }

    #[test]
    fn the_scale_coarsens_with_the_span_and_the_number_of_rows() {
        let day = 24;
        assert_eq!(Scale::fitting(0, 30 * day, 1), Scale::DayOfHours);
        assert_eq!(Scale::fitting(0, 300 * day, 1), Scale::WeekOfHours);
        assert_eq!(Scale::fitting(0, 3 * 365 * day, 1), Scale::MonthOfDays);
        assert_eq!(Scale::fitting(0, 12 * 365 * day, 1), Scale::YearOfWeeks);
        assert_eq!(Scale::fitting(0, 300 * day, 100), Scale::MonthOfDays);
        assert_eq!(
            Scale::fitting(0, 12 * 365 * day, 1_000),
            Scale::YearOfMonths
        );
        // Past every limit the coarsest scale is still drawn, not cut.
        assert_eq!(
            Scale::fitting(0, 50 * 365 * day, 100_000),
            Scale::YearOfMonths
        );
    }

    #[test]
    fn year_lines_start_on_the_first_monday_and_hold_whole_weeks() {
        // 2024-01-01 was a Monday; 2025's first Monday is 2025-01-06.
        let lines: Vec<i64> = Scale::YearOfWeeks
            .lines(hour_at(2024, 6, 1, 0), hour_at(2025, 1, 3, 0))
            .collect();
        assert_eq!(lines, [hour_at(2024, 1, 1, 0)]);
        let cells = Scale::YearOfWeeks.cells(lines[0]);
        assert_eq!(cells.len(), 53);
        assert_eq!(cells[52].1, hour_at(2025, 1, 6, 0));
        let months = Scale::YearOfMonths.cells(hour_at(2024, 1, 1, 0));
        assert_eq!(months.len(), 12);
        assert_eq!(months[1], (hour_at(2024, 2, 1, 0), hour_at(2024, 3, 1, 0)));
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-02 is a Monday.
        let h = hour_at(2026, 11, 2, 0);
        let lines: Vec<i64> = Scale::WeekOfHours
            .lines(h + 5 * 24 + 7, h + 6 * 24)
            .collect();
        assert_eq!(lines, [h]);
        assert_eq!(
            Scale::DayOfHours.lines(h + 7, h + 8).collect::<Vec<_>>(),
            [h]
        );
        assert_eq!(
            Scale::WeekOfHours.lines(h - 1, h - 1).collect::<Vec<_>>(),
            [h - 168]
        );
    }

    #[test]
    fn a_summary_counts_untouched_hours_as_not_covered() {
        let r = report(vec![
            digest(at(2, 0, 9)),
            log(at(1, 30, 0), Status::Deleted),
        ]);
        let t = Timeline::build(&r).unwrap();
        let s = t.rows[0].summary(&t, t.first, t.last + 1).expect("drawn");
        assert_eq!(s.worst, Mark::Deleted);
        assert_eq!(s.hours[&Mark::Deleted], 1);
        assert_eq!(s.hours[&Mark::NotCovered], t.len() - 1);
        assert_eq!(s.counts.get(FileKind::Log, Status::Deleted), 1);
        assert!(t.rows[0].summary(&t, t.last + 1, t.last + 30).is_none());
    }

    #[test]
    fn a_report_without_times_has_no_timeline() {
        let t = Timeline::build(&Report::default()).unwrap();
        assert_eq!((t.len(), t.rows.len()), (0, 0));
    }
}
