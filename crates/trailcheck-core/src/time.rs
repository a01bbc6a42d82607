//! Timestamps: CloudTrail's formats, and the times a user may type.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// The display format the AWS CLI prints and digests use: `2015-08-17T15:01:31Z`.
pub fn display(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a timestamp written by CloudTrail (`2015-08-17T15:01:31Z`, or any RFC 3339 time).
pub fn parse_cloudtrail(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Parses a time given on the command line, relative to `now`:
/// RFC 3339 (`2026-01-02T03:04:05Z`), a time without zone taken as UTC
/// (`2026-01-02T03:04:05`, `2026-01-02 03:04`), a plain date (`2026-01-02`, midnight UTC),
/// `now`, or an offset into the past (`-7d`, `-12h`, `-30m`, `-2w`).
pub fn parse_user(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if text == "now" {
        return Ok(now);
    }
    if let Some(offset) = text.strip_prefix('-') {
        return parse_offset(offset).map(|d| now - d);
    }
    if let Some(t) = parse_cloudtrail(text) {
        return Ok(t);
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), format) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "'{text}' is not a time: use RFC 3339 (2026-01-02T03:04:05Z), a date (2026-01-02), \
         or an offset into the past (-7d, -12h, -30m)"
    ))
}

fn parse_offset(text: &str) -> Result<Duration, String> {
    let bad = || format!("'-{text}' is not an offset: use a number and d, h, m or w (-7d)");
    let unit_at = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(unit_at);
    let n: i64 = number.parse().map_err(|_| bad())?;
    if !(0..=100_000).contains(&n) {
        return Err(bad());
    }
    match unit {
        "w" => Ok(Duration::weeks(n)),
        "d" => Ok(Duration::days(n)),
        "h" => Ok(Duration::hours(n)),
        "m" => Ok(Duration::minutes(n)),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    #[test]
    fn user_times_in_every_accepted_form() {
        let t = |s| parse_user(s, now()).unwrap();
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
        assert_eq!(t("2026-11-20T10:30:00Z"), at(20, 10, 30));
        assert_eq!(t("2026-11-20T12:30:00+02:00"), at(20, 10, 30));
        assert_eq!(t("2026-11-20T10:30:00"), at(20, 10, 30));
        assert_eq!(t("2026-11-20 10:30"), at(20, 10, 30));
        assert_eq!(t("2026-11-20"), at(20, 0, 0));
        assert_eq!(t("now"), now());
        assert_eq!(t("-1d"), at(20, 12, 0));
        assert_eq!(t("-90m"), at(21, 10, 30));
        assert_eq!(
            t("-1w"),
            Utc.with_ymd_and_hms(2026, 11, 14, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn bad_user_times_are_errors_that_show_the_forms() {
        for bad in [
            "",
            "yesterday",
            "-7",
            "-7y",
            "-d",
            "2026-13-01",
            "-99999999999d",
        ] {
            let err = parse_user(bad, now()).unwrap_err();
            assert!(err.contains("-7d"), "{bad}: {err}");
        }
    }

    #[test]
    fn display_matches_the_aws_cli() {
        assert_eq!(
            display(Utc.with_ymd_and_hms(2015, 8, 17, 15, 1, 31).unwrap()),
            "2015-08-17T15:01:31Z"
        );
    }
}
