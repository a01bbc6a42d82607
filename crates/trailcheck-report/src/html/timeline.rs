//! The evidence report's timeline: per account and region, one cell per hour, marked with
//! the worst thing that hour holds.
//!
//! Pure bookkeeping over the finished [`Report`]: an hour's mark is the worst status of the
//! digests and logs whose time falls in it, a gap or chain break covering it, or "not
//! covered" when no digest covers it. Statuses come from the engine; nothing is re-judged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use trailcheck_core::verdict::{Cause, FileKind, FileVerdict, GapKind, Report, Status};

const HOUR: i64 = 3600;
/// A year and a day of hours: the longest timeline drawn.
pub const MAX_HOURS: i64 = 366 * 24;
/// The most cells drawn over all rows, so an organization trail with many accounts still
/// makes a file a browser opens; past it the timeline keeps the most recent hours.
pub const MAX_CELLS: i64 = 400_000;

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

    /// A file's own mark. A log judged unverifiable because it fell in a gap shows as gap,
    /// so the whole gap reads as one.
    fn of(file: &FileVerdict) -> Mark {
        match file.status {
            Status::Intact => Mark::Intact,
            Status::Pending => Mark::Pending,
            Status::Unverifiable if file.cause == Cause::InGap => Mark::Gap,
            Status::Unverifiable => Mark::Unverifiable,
            Status::Unreferenced => Mark::Unreferenced,
            Status::Moved => Mark::Moved,
            Status::Deleted => Mark::Deleted,
            Status::Modified => Mark::Modified,
        }
    }
}

/// One hour of one row.
#[derive(Clone, Debug, Default)]
pub struct Hour {
    /// The worst of the hour's files and gaps; `None` until [`finish`] settles it.
    worst: Option<Mark>,
    /// A digest's period overlaps the hour.
    covered: bool,
    /// How many files of each kind and status have their time in this hour.
    pub counts: BTreeMap<(FileKind, Status), u32>,
    /// The worst gap kind overlapping the hour (a chain break is worse than a gap).
    pub gap: Option<GapKind>,
}

impl Hour {
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

/// One account and region.
#[derive(Clone, Debug)]
pub struct Row {
    pub account: String,
    pub region: String,
    /// `hours[i]` is the hour `Timeline::first + i`.
    pub hours: Vec<Hour>,
}

/// Hours left out when the range is too long to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clip {
    pub hours_dropped: i64,
    /// Files that are not intact among those left out; the tables still list them.
    pub findings_dropped: usize,
}

/// Every row over the same hours.
#[derive(Clone, Debug)]
pub struct Timeline {
    /// The first cell's hour, counted in hours since 1970-01-01T00:00Z.
    pub first: i64,
    /// Hours per row.
    pub len: i64,
    pub rows: Vec<Row>,
    pub clip: Option<Clip>,
}

impl Timeline {
    /// The cells from the requested start to the requested end, widened to every file's
    /// time, and clipped to the most recent [`MAX_HOURS`] (fewer with many rows).
    pub fn build(report: &Report) -> Timeline {
        let keys = row_keys(report);
        let Some((first, last)) = span(report) else {
            return Timeline {
                first: 0,
                len: 0,
                rows: Vec::new(),
                clip: None,
            };
        };
        let row_count = i64::try_from(keys.len()).unwrap_or(i64::MAX).max(1);
        let most = MAX_HOURS.min(MAX_CELLS / row_count).max(24);
        let (first, clip) = if last - first + 1 > most {
            let kept = last - most + 1;
            let clip = Clip {
                hours_dropped: kept - first,
                findings_dropped: report
                    .files
                    .iter()
                    .filter(|f| f.status != Status::Intact)
                    .filter(|f| f.time.is_some_and(|t| hour_of(t) < kept))
                    .count(),
            };
            (kept, Some(clip))
        } else {
            (first, None)
        };
        let mut timeline = Timeline {
            first,
            len: last - first + 1,
            rows: keys
                .into_iter()
                .map(|(account, region)| Row {
                    account,
                    region,
                    hours: vec![Hour::default(); usize::try_from(last - first + 1).unwrap_or(0)],
                })
                .collect(),
            clip,
        };
        timeline.add_files(report);
        timeline.add_gaps(report);
        for hour in timeline.rows.iter_mut().flat_map(|r| r.hours.iter_mut()) {
            hour.finish();
        }
        timeline
    }

    /// The start of the hour a cell shows.
    pub fn time_of(&self, index: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp((self.first + index) * HOUR, 0)
    }

    fn add_files(&mut self, report: &Report) {
        for file in &report.files {
            let Some(time) = file.time else { continue };
            let (first, len) = (self.first, self.len);
            let Some(row) = self.row_mut(file.account.as_deref(), file.region.as_deref()) else {
                continue;
            };
            if let Some(hour) = cell(row, first, len, hour_of(time)) {
                *hour.counts.entry((file.kind, file.status)).or_insert(0) += 1;
                hour.raise(Mark::of(file));
            }
            // A digest speaks for the hour before its end time: logs delivered then.
            if file.kind == FileKind::Digest {
                let from = time.timestamp() - HOUR;
                for h in hours_mostly_inside(from, time.timestamp()) {
                    if let Some(hour) = cell(row, first, len, h) {
                        hour.covered = true;
                    }
                }
            }
        }
    }

    fn add_gaps(&mut self, report: &Report) {
        for gap in &report.gaps {
            let (first, len) = (self.first, self.len);
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
                if let Some(hour) = cell(row, first, len, h) {
                    hour.gap = hour.gap.max(Some(gap.kind));
                    hour.raise(mark);
                }
            }
        }
    }

    fn row_mut(&mut self, account: Option<&str>, region: Option<&str>) -> Option<&mut Row> {
        let (account, region) = (account.unwrap_or(UNKNOWN), region.unwrap_or(UNKNOWN));
        self.rows
            .iter_mut()
            .find(|r| r.account == account && r.region == region)
    }
}

/// The row of a file whose key names no account or region.
const UNKNOWN: &str = "unknown";

fn row_keys(report: &Report) -> BTreeSet<(String, String)> {
    let name = |s: Option<&str>| s.unwrap_or(UNKNOWN).to_owned();
    let files = report
        .files
        .iter()
        .map(|f| (name(f.account.as_deref()), name(f.region.as_deref())));
    let gaps = report
        .gaps
        .iter()
        .map(|g| (g.chain.account.clone(), g.chain.region.clone()));
    files.chain(gaps).collect()
}

/// The first and last hour to draw, or `None` when there is no time at all.
fn span(report: &Report) -> Option<(i64, i64)> {
    let times = report
        .files
        .iter()
        .filter_map(|f| f.time)
        .chain(report.requested_start)
        .chain(report.requested_end)
        .map(hour_of);
    let first = times.clone().min()?;
    let last = times.max()?;
    Some((first, last))
}

fn cell(row: &mut Row, first: i64, len: i64, hour: i64) -> Option<&mut Hour> {
    let index = hour - first;
    if !(0..len).contains(&index) {
        return None;
    }
    row.hours.get_mut(usize::try_from(index).ok()?)
}

/// The hour a time falls in, counted since the epoch.
pub fn hour_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(HOUR)
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

    fn marks(report: &Report) -> Vec<Mark> {
        let t = Timeline::build(report);
        assert_eq!(t.rows.len(), 1);
        t.rows[0].hours.iter().map(Hour::mark).collect()
    }

    fn report(files: Vec<FileVerdict>) -> Report {
        Report {
            requested_start: Some(at(0, 0, 0)),
            requested_end: Some(at(5, 30, 0)),
            files,
            ..Report::default()
        }
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
        assert_eq!(
            marks(&r),
            [
                Mark::NotCovered,
                Mark::Intact,
                Mark::Modified,
                Mark::NotCovered,
                Mark::NotCovered,
                Mark::Pending
            ]
        );
        let t = Timeline::build(&r);
        assert_eq!(
            t.rows[0].hours[2].counts[&(FileKind::Log, Status::Modified)],
            1
        );
        assert_eq!(t.time_of(2), Some(at(2, 0, 0)));
    }

    #[test]
    fn chain_breaks_read_as_deleted_and_gaps_as_gap() {
        let chain = ChainId {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            trail: "t".to_owned(),
            home_region: "us-east-1".to_owned(),
            organization: None,
            backfill: false,
        };
        let hole = |kind, from, to| Gap {
            kind,
            chain: chain.clone(),
            bucket: "b".to_owned(),
            from,
            to,
            missing_digests: None,
            previous: None,
        };
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
        assert_eq!(
            marks(&r),
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
    fn absurd_ranges_keep_the_most_recent_year_and_count_what_is_left_out() {
        let mut r = report(vec![log(at(1, 0, 0), Status::Modified)]);
        r.requested_start = Some(Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap());
        let t = Timeline::build(&r);
        assert_eq!(t.len, MAX_HOURS);
        assert_eq!(t.rows[0].hours.len() as i64, MAX_HOURS);
        assert_eq!(t.first + t.len - 1, hour_of(at(5, 30, 0)));
        let clip = t.clip.expect("clipped");
        assert_eq!(clip.findings_dropped, 0);
        assert!(clip.hours_dropped > 400_000);
    }

    #[test]
    fn a_report_without_times_has_no_timeline() {
        let t = Timeline::build(&Report::default());
        assert_eq!((t.len, t.rows.len()), (0, 0));
    }
}
