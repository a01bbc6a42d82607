//! Time windows (`--window I/M`): one requested range cut into `M` consecutive parts, so a
//! chain too long for one run is validated by `M` runs, joined again by `merge`.
//!
//! Window `I` takes the digests whose end time falls in `[W(I), W(I+1))`; the last takes
//! `[W(M-1), end]` and the hour after `end`, as a whole run does. The cuts are whole hours
//! after the hour the start falls in, all windows but the last of one length, so every run
//! of one split computes the same cuts. What a window cannot see (its first digest's
//! predecessor lies in the window before) it does not claim: `merge` checks each join.

use chrono::{DateTime, Duration, DurationRound, Utc};

use crate::hash::Sha256;

/// The most windows of one range: more is a typing error, not a plan.
pub const MAX_WINDOWS: u32 = 100_000;

/// Window `index` of `count` of the range `[start, end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub index: u32,
    pub count: u32,
    /// The whole range the windows cut: every window of one split has the same.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    /// Window `index` of `count` over `[start, end]`, or why there is none: the range must
    /// hold `count` windows of at least an hour.
    pub fn new(
        index: u32,
        count: u32,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Self, String> {
        if count == 0 || count > MAX_WINDOWS {
            return Err(format!(
                "'{count}' is not a window count from 1 to {MAX_WINDOWS}"
            ));
        }
        if index >= count {
            return Err(format!(
                "window index '{index}' is not from 0 to {}",
                count - 1
            ));
        }
        let window = Self {
            index,
            count,
            start,
            end,
        };
        if count > 1 && window.cut(count - 1) >= end {
            let hours = (end - window.base()).num_hours().max(1);
            return Err(format!(
                "the range {} to {} spans {hours} whole hours from the hour it starts in, too \
                 few for {count} windows of at least an hour: use at most {hours} windows, or \
                 a longer range",
                crate::time::display(start),
                crate::time::display(end),
            ));
        }
        Ok(window)
    }

    /// The hour the range starts in: the cuts are whole hours after it.
    fn base(&self) -> DateTime<Utc> {
        self.start
            .duration_trunc(Duration::hours(1))
            .unwrap_or(self.start)
    }

    /// The length of every window but the last: the range's whole hours shared out,
    /// rounded down (the last window takes what is left), and at least an hour.
    pub fn length(&self) -> Duration {
        let seconds = u64::try_from((self.end - self.base()).num_seconds()).unwrap_or(0);
        let per = seconds / u64::from(self.count.max(1));
        let hours = i64::try_from((per / 3600).max(1)).unwrap_or(i64::MAX / 7200);
        Duration::hours(hours)
    }

    /// Where window `i` starts: the range's start for the first, the range's end after the
    /// last.
    pub fn cut(&self, i: u32) -> DateTime<Utc> {
        if i == 0 {
            return self.start;
        }
        if i >= self.count {
            return self.end;
        }
        // Past the end (only for more windows than the range holds, refused by `new`).
        (self
            .length()
            .checked_mul(i32::try_from(i).unwrap_or(i32::MAX)))
        .and_then(|offset| self.base().checked_add_signed(offset))
        .map_or(self.end, |cut| cut.min(self.end))
    }

    /// The first digest end time this window takes.
    pub fn from(&self) -> DateTime<Utc> {
        self.cut(self.index)
    }

    /// Where this window stops: its digests end before it (the last window: at or before
    /// it, and the hour after it).
    pub fn to(&self) -> DateTime<Utc> {
        self.cut(self.index + 1)
    }

    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    pub fn is_last(&self) -> bool {
        self.index + 1 >= self.count
    }

    /// The end before which this window's digests lie, for every window but the last:
    /// digests from it on belong to the next window, and are read only to see across the
    /// join.
    pub fn exclusive_end(&self) -> Option<DateTime<Utc>> {
        (!self.is_last()).then(|| self.to())
    }
}

/// A chain's oldest digest in a window, with the predecessor it names: what `merge` checks
/// against the previous window's newest proven digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Oldest {
    pub bucket: String,
    pub key: String,
    /// Its end time, as digests are placed in time (from its name).
    pub end: DateTime<Utc>,
    /// Its `digestStartTime`.
    pub start: DateTime<Utc>,
    /// Its own signature verified: only then does what it records count.
    pub proven: bool,
    /// The predecessor it names; `None` for a starting digest.
    pub previous: Option<Claimed>,
}

/// The predecessor a digest names, and what it records of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub bucket: String,
    pub key: String,
    /// `previousDigestHashValue`, as recorded (hex).
    pub hash: String,
    /// `previousDigestSignature`, as recorded (hex).
    pub signature: String,
}

impl Claimed {
    /// Whether this is the digest `bucket`/`key` with that content and signature.
    pub fn names(&self, bucket: &str, key: &str, sha256: &Sha256, signature: &str) -> bool {
        self.bucket == bucket
            && self.key == key
            && self.hash.trim().eq_ignore_ascii_case(&sha256.to_hex())
            && self.signature.trim().eq_ignore_ascii_case(signature.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, h, m, 0).unwrap()
    }

    #[test]
    fn windows_cut_the_range_into_whole_hours_of_one_length() {
        let w = |i| Window::new(i, 3, at(0, 30), at(10, 0)).unwrap();
        // 10 hours from 00:00 shared by 3: 3 hours each, the last taking the rest.
        assert_eq!(w(0).length(), Duration::hours(3));
        assert_eq!((w(0).from(), w(0).to()), (at(0, 30), at(3, 0)));
        assert_eq!((w(1).from(), w(1).to()), (at(3, 0), at(6, 0)));
        assert_eq!((w(2).from(), w(2).to()), (at(6, 0), at(10, 0)));
        assert_eq!(w(0).exclusive_end(), Some(at(3, 0)));
        assert_eq!(w(2).exclusive_end(), None);
        assert!(w(0).is_first() && w(2).is_last() && !w(1).is_last());
    }

    #[test]
    fn one_window_is_the_whole_range() {
        let w = Window::new(0, 1, at(0, 0), at(5, 0)).unwrap();
        assert_eq!(
            (w.from(), w.to(), w.exclusive_end()),
            (at(0, 0), at(5, 0), None)
        );
    }

    #[test]
    fn too_many_windows_for_the_range_are_refused_saying_how_many_fit() {
        let error = Window::new(0, 5, at(0, 0), at(4, 0)).unwrap_err();
        assert!(error.contains("at most 4 windows"), "{error}");
        assert!(Window::new(0, 4, at(0, 0), at(4, 0)).is_ok());
        assert!(Window::new(3, 3, at(0, 0), at(4, 0)).is_err());
        assert!(Window::new(0, 0, at(0, 0), at(4, 0)).is_err());
    }

    #[test]
    fn a_claim_names_a_digest_only_with_its_hash_and_signature() {
        let sha = Sha256::of(b"digest");
        let claim = Claimed {
            bucket: "b".into(),
            key: "k".into(),
            hash: sha.to_hex().to_uppercase(),
            signature: " ab12 ".into(),
        };
        assert!(claim.names("b", "k", &sha, "AB12"));
        assert!(!claim.names("b", "k", &Sha256::of(b"other"), "ab12"));
        assert!(!claim.names("b", "k", &sha, "ab13"));
        assert!(!claim.names("b", "other", &sha, "ab12"));
    }
}
