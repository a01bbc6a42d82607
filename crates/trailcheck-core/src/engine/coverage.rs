//! Logs no digest lists: whether their delivery time is covered, and so whether their
//! presence is an insertion (`unreferenced`), something that cannot be decided, or pending.

use chrono::{DateTime, Duration, Utc};

use crate::verdict::Cause;

use super::chain::{Span, SpanKind};

/// A log named with delivery minute `T` reaches S3 within this slack, so a digest ending
/// this long after `T` must list it.
pub const DELIVERY_SLACK: Duration = Duration::minutes(5);

/// CloudTrail writes a digest about an hour after the previous one, plus delivery delay.
/// A chain whose newest digest is younger than this at the end of the range is live, and
/// logs after that digest are pending rather than unverifiable.
pub const DIGEST_DUE: Duration = Duration::minutes(90);

/// The spans of one log folder, sorted, for classifying its unlisted logs.
pub struct FolderCoverage<'a> {
    spans: Vec<&'a Span>,
}

impl<'a> FolderCoverage<'a> {
    /// Regular (non-backfill) spans only: backfill digests list late logs, they do not
    /// vouch for a period.
    pub fn new(spans: impl IntoIterator<Item = &'a Span>) -> Self {
        let mut spans: Vec<&Span> = spans.into_iter().filter(|s| !s.backfill).collect();
        spans.sort_by_key(|s| (s.start, s.end));
        Self { spans }
    }

    fn digests(&self) -> impl Iterator<Item = &&'a Span> {
        self.spans
            .iter()
            .filter(|s| matches!(s.kind, SpanKind::Digest { .. }))
    }

    /// The start of the oldest digest span: the earliest delivery time a digest vouches for.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.digests().map(|s| s.start).min()
    }

    /// Classifies a log delivered at `delivered` that no digest lists.
    pub fn classify(&self, delivered: DateTime<Utc>, range_end: DateTime<Utc>) -> Cause {
        let Some(newest_end) = self.digests().map(|s| s.end).max() else {
            return Cause::BeforeOldestDigest;
        };
        if let Some(authentic) = self.covered(delivered, delivered + DELIVERY_SLACK) {
            return if authentic {
                Cause::NotListed
            } else {
                Cause::PeriodNotVerified
            };
        }
        let inside = |kind: SpanKind| {
            self.spans
                .iter()
                .any(|s| s.kind == kind && s.start <= delivered && delivered <= s.end)
        };
        if inside(SpanKind::Break) {
            return Cause::DigestMissing;
        }
        if inside(SpanKind::Gap) {
            return Cause::InGap;
        }
        if delivered + DELIVERY_SLACK > newest_end {
            return if range_end - newest_end <= DIGEST_DUE {
                Cause::AwaitingDigest
            } else {
                Cause::AfterNewestDigest
            };
        }
        let oldest_start = self.digests().map(|s| s.start).min().unwrap_or(newest_end);
        if delivered < oldest_start {
            return Cause::BeforeOldestDigest;
        }
        Cause::PeriodNotVerified
    }

    /// Whether digests cover all of `[from, to]` without a hole, and if so whether every one
    /// of them is authentic.
    fn covered(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<bool> {
        let mut reached = from;
        let mut authentic = true;
        for span in self.digests() {
            if span.start > reached {
                break;
            }
            if span.end < from {
                continue;
            }
            if let SpanKind::Digest { authentic: a } = span.kind {
                authentic &= a;
            }
            if span.end > reached {
                reached = span.end;
            }
            if reached >= to {
                return Some(authentic);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectkey::Folder;
    use crate::verdict::Status;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
    }

    fn span(from: DateTime<Utc>, to: DateTime<Utc>, kind: SpanKind) -> Span {
        let folder = Folder {
            prefix: String::new(),
            organization: None,
            account: "111122223333".into(),
            region: "us-east-1".into(),
        };
        Span {
            folder: ("b".into(), folder),
            start: from,
            end: to,
            kind,
            backfill: false,
            selected_at: None,
        }
    }

    const OK: SpanKind = SpanKind::Digest { authentic: true };

    #[test]
    fn unlisted_log_inside_authentic_digests_is_unreferenced() {
        let spans = [span(at(0, 0), at(1, 0), OK), span(at(1, 0), at(2, 0), OK)];
        let cov = FolderCoverage::new(&spans);
        assert_eq!(
            cov.classify(at(0, 30), at(9, 0)).status(),
            Status::Unreferenced
        );
        // Near an hour boundary, covered by the next digest.
        assert_eq!(
            cov.classify(at(0, 58), at(9, 0)).status(),
            Status::Unreferenced
        );
    }

    #[test]
    fn unlisted_log_in_a_period_with_an_unverified_digest_is_unverifiable() {
        let bad = SpanKind::Digest { authentic: false };
        let spans = [span(at(0, 0), at(1, 0), bad)];
        let cov = FolderCoverage::new(&spans);
        assert_eq!(cov.classify(at(0, 30), at(9, 0)), Cause::PeriodNotVerified);
    }

    #[test]
    fn logs_in_gaps_and_breaks_are_unverifiable_with_their_reason() {
        let spans = [
            span(at(0, 0), at(1, 0), OK),
            span(at(1, 0), at(3, 0), SpanKind::Gap),
            span(at(3, 0), at(4, 0), OK),
            span(at(4, 0), at(6, 0), SpanKind::Break),
            span(at(6, 0), at(7, 0), OK),
        ];
        let cov = FolderCoverage::new(&spans);
        assert_eq!(cov.classify(at(2, 0), at(9, 0)), Cause::InGap);
        assert_eq!(cov.classify(at(5, 0), at(9, 0)), Cause::DigestMissing);
    }

    #[test]
    fn logs_after_the_newest_digest_are_pending_only_on_a_live_chain() {
        let spans = [span(at(0, 0), at(1, 0), OK)];
        let cov = FolderCoverage::new(&spans);
        assert_eq!(cov.classify(at(1, 10), at(1, 30)).status(), Status::Pending);
        assert_eq!(cov.classify(at(0, 58), at(1, 30)).status(), Status::Pending);
        assert_eq!(cov.classify(at(1, 10), at(5, 0)), Cause::AfterNewestDigest);
        assert_eq!(
            cov.classify(at(0, 0) - Duration::hours(1), at(1, 30)),
            Cause::BeforeOldestDigest
        );
    }
}
