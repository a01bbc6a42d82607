//! What a report proves, hour by hour: per account and region, the periods whose every
//! digest and log was proven intact, and the periods that were not, with why.
//!
//! An answer drawn from proven events is only complete where the evidence is: these periods
//! are what `events` and `triage` state beside their rows ("2026-11-08T13:00Z..14:00Z: log
//! modified"). Derived from the verdicts alone, so it says exactly what they say.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::verdict::{FileKind, FileVerdict, GapKind, Report, Status};

/// A run of hours, `[from, to)`, and what spoils it (empty: proven).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Why these hours are not proven, each reason once; empty for a proven period.
    pub why: Vec<String>,
}

/// The periods of one account and region, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    pub account: String,
    pub region: String,
    pub proven: Vec<Period>,
    pub unproven: Vec<Period>,
}

const HOUR: Duration = Duration::hours(1);

/// The coverage of every account and region the report holds, in order.
pub fn coverage(report: &Report) -> Vec<Coverage> {
    let mut hours: BTreeMap<(String, String), BTreeMap<DateTime<Utc>, BTreeSet<String>>> =
        BTreeMap::new();
    for file in &report.files {
        let (Some(account), Some(region)) = (&file.account, &file.region) else {
            continue;
        };
        let Some(hour) = hour_of(file) else { continue };
        let reasons = hours
            .entry((account.clone(), region.clone()))
            .or_default()
            .entry(hour)
            .or_default();
        if let Some(why) = reason(file) {
            reasons.insert(why);
        }
    }
    for gap in &report.gaps {
        let why = match gap.kind {
            GapKind::Gap => "gap: no digests were written (validation or logging off)",
            GapKind::ChainBreak => "digests deleted (chain break)",
        };
        let place = (gap.chain.account.clone(), gap.chain.region.clone());
        let by_hour = hours.entry(place).or_default();
        let mut hour = floor(gap.from);
        while hour < gap.to {
            by_hour.entry(hour).or_default().insert(why.to_owned());
            hour += HOUR;
        }
    }
    hours
        .into_iter()
        .map(|((account, region), by_hour)| {
            let (proven, unproven) = periods(&by_hour);
            Coverage {
                account,
                region,
                proven,
                unproven,
            }
        })
        .collect()
}

/// The hour a file speaks for: a log's delivery hour; the hour a digest closes.
fn hour_of(file: &FileVerdict) -> Option<DateTime<Utc>> {
    let time = file.time?;
    Some(match file.kind {
        FileKind::Log => floor(time),
        FileKind::Digest => floor(time - Duration::seconds(1)),
    })
}

fn floor(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(HOUR).unwrap_or(time)
}

/// Why a file leaves its hour unproven, in words; `None` for an intact file.
fn reason(file: &FileVerdict) -> Option<String> {
    let kind = match file.kind {
        FileKind::Digest => "digest",
        FileKind::Log => "log",
    };
    let what = match file.status {
        Status::Intact => return None,
        Status::Pending => "pending (its digest is not delivered yet)".to_owned(),
        Status::Unreferenced => "not listed by any digest (added afterwards)".to_owned(),
        Status::Unverifiable => format!("unverifiable ({})", file.cause.code()),
        status => status.as_str().to_owned(),
    };
    Some(format!("{kind} {what}"))
}

/// Splits hours into runs, from the first hour seen to the last: hours with no reason and
/// hours nothing covers are told apart (nothing covering an hour proves nothing either).
fn periods(by_hour: &BTreeMap<DateTime<Utc>, BTreeSet<String>>) -> (Vec<Period>, Vec<Period>) {
    let (Some(first), Some(last)) = (by_hour.keys().next(), by_hour.keys().next_back()) else {
        return (Vec::new(), Vec::new());
    };
    let not_covered = BTreeSet::from(["no digest or log covers this hour".to_owned()]);
    let mut runs: Vec<Period> = Vec::new();
    let mut hour = *first;
    while hour <= *last {
        let why = by_hour.get(&hour).unwrap_or(&not_covered);
        match runs.last_mut() {
            Some(run) if run.to == hour && run.why.iter().eq(why.iter()) => run.to += HOUR,
            _ => runs.push(Period {
                from: hour,
                to: hour + HOUR,
                why: why.iter().cloned().collect(),
            }),
        }
        hour += HOUR;
    }
    runs.into_iter().partition(|run| run.why.is_empty())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::verdict::{Cause, ChainId, Gap};

    fn at(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 8, hour, minute, 0).unwrap()
    }

    fn file(kind: FileKind, time: DateTime<Utc>, status: Status, cause: Cause) -> FileVerdict {
        let mut f = FileVerdict::new(kind, "b", "k", status, cause);
        f.time = Some(time);
        f.account = Some("111122223333".to_owned());
        f.region = Some("us-east-1".to_owned());
        f
    }

    #[test]
    fn a_modified_log_and_a_break_leave_their_hours_unproven_and_the_rest_proven() {
        let chain = ChainId {
            account: "111122223333".to_owned(),
            region: "us-east-1".to_owned(),
            trail: "t".to_owned(),
            home_region: "us-east-1".to_owned(),
            organization: None,
            backfill: false,
        };
        let report = Report {
            files: vec![
                file(FileKind::Log, at(10, 5), Status::Intact, Cause::Verified),
                file(FileKind::Digest, at(11, 0), Status::Intact, Cause::Verified),
                file(
                    FileKind::Log,
                    at(13, 20),
                    Status::Modified,
                    Cause::HashMismatch,
                ),
                file(FileKind::Log, at(13, 40), Status::Intact, Cause::Verified),
                file(FileKind::Log, at(17, 5), Status::Intact, Cause::Verified),
            ],
            gaps: vec![Gap {
                kind: GapKind::ChainBreak,
                chain,
                bucket: "b".to_owned(),
                from: at(15, 0),
                to: at(17, 0),
                missing_digests: Some(2),
            }],
            ..Report::default()
        };
        let c = &coverage(&report)[0];
        let spans = |ps: &[Period]| -> Vec<(u32, u32)> {
            use chrono::Timelike;
            ps.iter().map(|p| (p.from.hour(), p.to.hour())).collect()
        };
        assert_eq!(spans(&c.proven), vec![(10, 11), (17, 18)]);
        assert_eq!(
            spans(&c.unproven),
            vec![(11, 13), (13, 14), (14, 15), (15, 17)]
        );
        assert_eq!(c.unproven[1].why, vec!["log modified".to_owned()]);
        assert_eq!(
            c.unproven[0].why,
            vec!["no digest or log covers this hour".to_owned()]
        );
        assert_eq!(
            c.unproven[3].why,
            vec!["digests deleted (chain break)".to_owned()]
        );
    }

    #[test]
    fn a_digest_speaks_for_the_hour_it_closes() {
        let report = Report {
            files: vec![
                file(
                    FileKind::Digest,
                    at(12, 0),
                    Status::Deleted,
                    Cause::NotFound,
                ),
                file(FileKind::Log, at(11, 30), Status::Intact, Cause::Verified),
            ],
            ..Report::default()
        };
        let c = &coverage(&report)[0];
        assert!(c.proven.is_empty());
        assert_eq!(c.unproven.len(), 1);
        assert_eq!(c.unproven[0].from, at(11, 0));
        assert_eq!(c.unproven[0].why, vec!["digest deleted".to_owned()]);
    }

    #[test]
    fn an_empty_report_covers_nothing() {
        assert!(coverage(&Report::default()).is_empty());
    }
}
