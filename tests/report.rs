//! The renderers against hand-built reports: exact text lines on the right stream, the AWS
//! CLI's spacing and ratios, the verdict line, escaping of hostile keys, and the JSON schema.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use trailcheck_core::hash::Sha256;
use trailcheck_core::verdict::{
    Cause, ChainId, FileKind, FileVerdict, Gap, GapKind, KeyUse, Report, Status,
};
use trailcheck_report::Options;

const ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, hour, 0, 0).unwrap()
}

fn file(kind: FileKind, key: &str, status: Status, cause: Cause) -> FileVerdict {
    // The status is set apart from the cause: these tests render what they are given.
    let mut file = FileVerdict {
        status,
        ..FileVerdict::new(kind, "trail-bucket", key, cause)
    };
    file.time = Some(at(1));
    file.account = Some("111122223333".to_owned());
    file.region = Some("us-east-1".to_owned());
    file
}

fn digest(key: &str, status: Status, cause: Cause) -> FileVerdict {
    file(FileKind::Digest, key, status, cause)
}

fn log(key: &str, status: Status, cause: Cause) -> FileVerdict {
    file(FileKind::Log, key, status, cause)
}

fn backfill(mut file: FileVerdict) -> FileVerdict {
    file.backfill = true;
    file
}

fn chain(backfill: bool) -> ChainId {
    ChainId {
        account: "111122223333".to_owned(),
        region: "us-east-1".to_owned(),
        trail: "main".to_owned(),
        home_region: "us-east-1".to_owned(),
        organization: None,
        backfill,
    }
}

fn gap(kind: GapKind, from: u32, to: u32, missing: Option<u32>, backfill: bool) -> Gap {
    Gap {
        kind,
        chain: chain(backfill),
        bucket: "trail-bucket".to_owned(),
        from: at(from),
        to: at(to),
        missing_digests: missing,
        previous: None,
    }
}

fn report(files: Vec<FileVerdict>) -> Report {
    Report {
        source: "/archive".to_owned(),
        requested_start: Some(at(0)),
        requested_end: Some(at(12)),
        found: Some((at(0), at(10))),
        files,
        ..Report::default()
    }
}

fn opts() -> Options {
    Options {
        trail: Some(ARN.to_owned()),
        ..Options::default()
    }
}

fn verbose() -> Options {
    Options {
        verbose: true,
        ..opts()
    }
}

/// Renders text; returns (stdout, stderr).
fn text(report: &Report, opts: &Options) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    trailcheck_report::text(report, opts, &mut out, &mut err).unwrap();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn json(report: &Report, opts: &Options) -> (String, Value) {
    let mut out = Vec::new();
    trailcheck_report::json(report, opts, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let value = serde_json::from_str(&text).unwrap();
    (text, value)
}

const HEADER: &str = "Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail/main \
                      between 2026-11-01T00:00:00Z and 2026-11-01T12:00:00Z\n\n";

// ---------------------------------------------------------------- text: lines and streams

#[test]
fn startup_line_names_the_trail_arn_and_requested_range() {
    let (out, _) = text(&report(vec![]), &opts());
    assert!(out.starts_with(HEADER), "{out}");
}

#[test]
fn startup_line_names_the_source_when_no_trail_is_given() {
    let (out, _) = text(&report(vec![]), &Options::default());
    assert!(
        out.starts_with(
            "Validating log files for all trails in /archive \
             between 2026-11-01T00:00:00Z and 2026-11-01T12:00:00Z\n\n"
        ),
        "{out}"
    );
}

#[test]
fn verbose_run_matches_the_cli_streams_and_spacing_exactly() {
    let report = report(vec![
        digest("d2.json.gz", Status::Intact, Cause::Verified),
        digest("d1.json.gz", Status::Modified, Cause::BadSignature),
        log("l1.json.gz", Status::Intact, Cause::Verified),
        log("l2.json.gz", Status::Deleted, Cause::NotFound),
    ]);
    let (out, err) = text(&report, &verbose());
    assert_eq!(
        out,
        format!(
            "{HEADER}\
             Digest file\ts3://trail-bucket/d2.json.gz\tvalid\n\
             Log file\ts3://trail-bucket/l1.json.gz\tvalid\n\
             Results requested for 2026-11-01T00:00:00Z to 2026-11-01T12:00:00Z\n\
             Results found for 2026-11-01T00:00:00Z to 2026-11-01T10:00:00Z:\n\
             \n1/2 digest files valid, 1/2 digest files INVALID\
             \n1/2 log files valid, 1/2 log files INVALID\n\
             \nVerdict: TAMPERED (1 modified, 1 deleted)\n"
        )
    );
    assert_eq!(
        err,
        "\nDigest file\ts3://trail-bucket/d1.json.gz\tINVALID: signature verification failed\n\n\
         \nLog file\ts3://trail-bucket/l2.json.gz\tINVALID: not found\n\n"
    );
}

#[test]
fn intact_run_without_verbose_prints_only_header_summary_and_verdict() {
    let report = report(vec![
        digest("d1.json.gz", Status::Intact, Cause::Verified),
        log("l1.json.gz", Status::Intact, Cause::Verified),
    ]);
    let (out, err) = text(&report, &opts());
    assert_eq!(
        out,
        format!(
            "{HEADER}\
             Results requested for 2026-11-01T00:00:00Z to 2026-11-01T12:00:00Z\n\
             Results found for 2026-11-01T00:00:00Z to 2026-11-01T10:00:00Z:\n\
             \n1/1 digest files valid\
             \n1/1 log files valid\n\
             \nVerdict: INTACT\n"
        )
    );
    assert_eq!(err, "");
}

#[test]
fn summary_is_preceded_by_a_blank_line_after_a_verbose_valid_line() {
    let report = report(vec![log("l1.json.gz", Status::Intact, Cause::Verified)]);
    let (out, _) = text(&report, &verbose());
    assert!(
        out.contains("\tvalid\n\nResults requested for"),
        "the CLI writes '\\n' before the summary unless the last status was double-spaced: {out}"
    );
}

#[test]
fn consecutive_errors_are_separated_by_one_blank_line() {
    let report = report(vec![
        log("l1.json.gz", Status::Modified, Cause::HashMismatch),
        log("l2.json.gz", Status::Modified, Cause::HashMismatch),
    ]);
    let (_, err) = text(&report, &opts());
    assert_eq!(
        err,
        "Log file\ts3://trail-bucket/l1.json.gz\tINVALID: hash value doesn't match\n\n\
         Log file\ts3://trail-bucket/l2.json.gz\tINVALID: hash value doesn't match\n\n"
    );
}

#[test]
fn backfill_digests_carry_the_cli_prefix_and_logs_do_not() {
    let report = report(vec![
        backfill(digest(
            "b1_backfill.json.gz",
            Status::Intact,
            Cause::Verified,
        )),
        backfill(digest(
            "b0_backfill.json.gz",
            Status::Deleted,
            Cause::NotFound,
        )),
        backfill(log("l1.json.gz", Status::Intact, Cause::Verified)),
    ]);
    let (out, err) = text(&report, &verbose());
    assert!(
        out.contains("\n(backfill) Digest file\ts3://trail-bucket/b1_backfill.json.gz\tvalid\n")
    );
    assert!(out.contains("\nLog file\ts3://trail-bucket/l1.json.gz\tvalid\n"));
    assert!(err.contains(
        "(backfill) Digest file\ts3://trail-bucket/b0_backfill.json.gz\tINVALID: not found\n"
    ));
    assert!(out.contains("\n1/2 backfill digest files valid, 1/2 backfill digest files INVALID"));
    assert!(
        !out.lines()
            .any(|l| l.ends_with(" digest files valid") && !l.contains("backfill")),
        "no ratio for ordinary digests when there are none: {out}"
    );
}

#[test]
fn failure_reasons_use_the_aws_cli_words() {
    let moved = Cause::MovedFrom {
        bucket: "trail-bucket".to_owned(),
        key: "orig.json.gz".to_owned(),
    };
    let cases = [
        (
            log("l.json.gz", Status::Modified, Cause::HashMismatch),
            "Log file\ts3://trail-bucket/l.json.gz\tINVALID: hash value doesn't match",
        ),
        (
            log("l.json.gz", Status::Deleted, Cause::NotFound),
            "Log file\ts3://trail-bucket/l.json.gz\tINVALID: not found",
        ),
        (
            log(
                "l.json.gz",
                Status::Modified,
                Cause::NotGzip("bad CRC".into()),
            ),
            "Log file\ts3://trail-bucket/l.json.gz\tINVALID: invalid format",
        ),
        (
            digest(
                "d.json.gz",
                Status::Modified,
                Cause::InvalidFormat("not JSON".into()),
            ),
            "Digest file\ts3://trail-bucket/d.json.gz\tINVALID: invalid format",
        ),
        (
            digest("d.json.gz", Status::Modified, Cause::BadSignature),
            "Digest file\ts3://trail-bucket/d.json.gz\tINVALID: signature verification failed",
        ),
        (
            digest("d.json.gz", Status::Moved, moved),
            "Digest file\ts3://trail-bucket/d.json.gz\tINVALID: has been moved from its original location",
        ),
        (
            digest(
                "d.json.gz",
                Status::Unverifiable,
                Cause::UnknownKey("ab12".into()),
            ),
            "Digest file\ts3://trail-bucket/d.json.gz\tUNVERIFIABLE: public key not found",
        ),
    ];
    for (file, expected) in cases {
        let (_, err) = text(&report(vec![file]), &opts());
        assert!(
            err.starts_with(expected),
            "expected {expected:?}, got {err:?}"
        );
    }
}

#[test]
fn unknown_key_reason_ends_with_the_fingerprint() {
    let file = digest(
        "d.json.gz",
        Status::Unverifiable,
        Cause::UnknownKey("ab12".into()),
    );
    let (_, err) = text(&report(vec![file]), &opts());
    assert!(err.contains("for fingerprint ab12\n"), "{err}");
}

#[test]
fn unreferenced_and_unverifiable_files_use_their_own_words_on_stderr() {
    let report = report(vec![
        digest("d.json.gz", Status::Unverifiable, Cause::NoSignature),
        log("extra.json.gz", Status::Unreferenced, Cause::NotListed),
        log("gap.json.gz", Status::Unverifiable, Cause::InGap),
    ]);
    let (_, err) = text(&report, &opts());
    let lines: Vec<&str> = err.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines,
        [
            format!(
                "Digest file\ts3://trail-bucket/d.json.gz\tUNVERIFIABLE: {}",
                Cause::NoSignature
            ),
            format!(
                "Log file\ts3://trail-bucket/extra.json.gz\tUNREFERENCED: {}",
                Cause::NotListed
            ),
            format!(
                "Log file\ts3://trail-bucket/gap.json.gz\tUNVERIFIABLE: {}",
                Cause::InGap
            ),
        ]
    );
}

#[test]
fn pending_logs_print_on_stdout_only_when_verbose() {
    let report = report(vec![
        digest("d.json.gz", Status::Intact, Cause::Verified),
        log("young.json.gz", Status::Pending, Cause::AwaitingDigest),
    ]);
    let pending =
        "Log file\ts3://trail-bucket/young.json.gz\tPENDING: its digest is not delivered yet\n";
    let (quiet_out, quiet_err) = text(&report, &opts());
    assert!(!quiet_out.contains("PENDING:"));
    assert_eq!(quiet_err, "");
    let (out, err) = text(&report, &verbose());
    assert!(out.contains(pending), "{out}");
    assert_eq!(err, "");
}

#[test]
fn gaps_use_the_cli_wording_and_chain_breaks_count_missing_digests() {
    let mut report = report(vec![digest("d.json.gz", Status::Intact, Cause::Verified)]);
    report.gaps = vec![
        gap(GapKind::Gap, 2, 5, None, false),
        gap(GapKind::ChainBreak, 6, 9, Some(3), false),
        gap(GapKind::Gap, 1, 2, None, true),
    ];
    let (_, err) = text(&report, &opts());
    assert_eq!(
        err,
        "No log files were delivered by CloudTrail between 2026-11-01T02:00:00Z and 2026-11-01T05:00:00Z\n\n\
         Digest chain broken between 2026-11-01T06:00:00Z and 2026-11-01T09:00:00Z: 3 digest files missing\n\n\
         (backfill) No log files were delivered by CloudTrail between 2026-11-01T01:00:00Z and 2026-11-01T02:00:00Z\n\n"
    );
}

// ---------------------------------------------------------------- text: summary

#[test]
fn summary_ratios_count_every_status_but_pending() {
    let report = report(vec![
        digest("d1", Status::Intact, Cause::Verified),
        digest("d2", Status::Intact, Cause::Verified),
        digest(
            "d3",
            Status::Moved,
            Cause::MovedFrom {
                bucket: "b".into(),
                key: "k".into(),
            },
        ),
        digest("d4", Status::Unverifiable, Cause::NoSignature),
        log("l1", Status::Intact, Cause::Verified),
        log("l2", Status::Modified, Cause::HashMismatch),
        log("l3", Status::Deleted, Cause::NotFound),
        log("l4", Status::Unreferenced, Cause::NotListed),
        log("l5", Status::Unverifiable, Cause::InGap),
        log("l6", Status::Pending, Cause::AwaitingDigest),
        log("l7", Status::Pending, Cause::AwaitingDigest),
    ]);
    let (out, _) = text(&report, &opts());
    let summary = out.split_once("Results found").unwrap().1;
    assert_eq!(
        summary,
        " for 2026-11-01T00:00:00Z to 2026-11-01T10:00:00Z:\n\
         \n2/4 digest files valid, 1/4 digest files INVALID, 1/4 digest files UNVERIFIABLE\
         \n1/5 log files valid, 2/5 log files INVALID, 1/5 log files UNREFERENCED, 1/5 log files UNVERIFIABLE\
         \n2 log files PENDING\n\
         \nVerdict: TAMPERED (1 modified, 1 deleted, 1 moved, 1 unreferenced, 2 unverifiable, 2 pending)\n"
    );
}

#[test]
fn empty_report_says_no_digests_found_and_is_incomplete() {
    let (out, err) = text(&report(vec![]), &opts());
    assert_eq!(
        out,
        format!(
            "{HEADER}\
             Results requested for 2026-11-01T00:00:00Z to 2026-11-01T12:00:00Z\n\
             No digests found\n\
             \nVerdict: INCOMPLETE (no files checked)\n"
        )
    );
    assert_eq!(err, "");
}

#[test]
fn default_report_without_times_still_renders() {
    let (out, _) = text(&Report::default(), &opts());
    assert!(out.contains("between unknown and unknown\n"), "{out}");
    assert!(
        out.ends_with("Verdict: INCOMPLETE (no files checked)\n"),
        "{out}"
    );
}

#[test]
fn logs_without_any_digest_still_get_their_ratio() {
    let mut report = report(vec![log("l1", Status::Unverifiable, Cause::NoDigests)]);
    report.found = None;
    let (out, _) = text(&report, &opts());
    assert!(
        out.contains("No digests found\n\n0/1 log files valid, 1/1 log files UNVERIFIABLE\n\nVerdict: INCOMPLETE (1 unverifiable)\n"),
        "{out}"
    );
}

#[test]
fn summary_says_no_valid_digests_when_none_was_proven() {
    let mut report = report(vec![digest("d1", Status::Modified, Cause::BadSignature)]);
    report.found = None;
    let (out, _) = text(&report, &opts());
    assert!(
        out.contains(
            "No valid digests found in range\n\n0/1 digest files valid, 1/1 digest files INVALID\n"
        ),
        "{out}"
    );
}

// ---------------------------------------------------------------- text: verdict, quiet, color

#[test]
fn verdict_lists_gaps_and_chain_breaks_after_statuses() {
    let mut report = report(vec![digest("d1", Status::Intact, Cause::Verified)]);
    report.gaps = vec![
        gap(GapKind::Gap, 1, 2, None, false),
        gap(GapKind::Gap, 3, 4, None, false),
        gap(GapKind::ChainBreak, 5, 6, Some(1), false),
    ];
    let (out, _) = text(&report, &opts());
    assert!(
        out.ends_with("\nVerdict: INTACT (1 chain break, 2 gaps)\n"),
        "{out}"
    );
}

#[test]
fn verdict_follows_fail_on() {
    let report = report(vec![log("l1", Status::Unreferenced, Cause::NotListed)]);
    let (out, _) = text(&report, &opts());
    assert!(out.ends_with("Verdict: TAMPERED (1 unreferenced)\n"));
    let lenient = Options {
        fail_on: vec![Status::Modified],
        ..opts()
    };
    let (out, _) = text(&report, &lenient);
    assert!(out.ends_with("Verdict: INTACT (1 unreferenced)\n"), "{out}");
}

#[test]
fn quiet_prints_only_the_verdict_line() {
    let report = report(vec![
        digest("d1", Status::Intact, Cause::Verified),
        log("l1", Status::Modified, Cause::HashMismatch),
        log("l2", Status::Unverifiable, Cause::InGap),
    ]);
    let quiet = Options {
        quiet: true,
        verbose: true,
        ..opts()
    };
    let (out, err) = text(&report, &quiet);
    assert_eq!(out, "Verdict: TAMPERED (1 modified, 1 unverifiable)\n");
    assert_eq!(err, "");
}

fn every_status() -> Report {
    let mut report = report(
        Status::ALL
            .into_iter()
            .map(|s| log(s.as_str(), s, Cause::Verified))
            .collect(),
    );
    report.gaps = vec![gap(GapKind::ChainBreak, 1, 2, Some(1), false)];
    report
}

#[test]
fn no_ansi_codes_when_color_is_off() {
    let (out, err) = text(&every_status(), &verbose());
    assert!(!out.contains('\u{1b}') && !err.contains('\u{1b}'));
}

#[test]
fn color_paints_status_words_and_the_verdict() {
    let color = Options {
        color: true,
        ..verbose()
    };
    let (out, err) = text(&every_status(), &color);
    assert!(out.contains("\t\u{1b}[32mvalid\u{1b}[0m\n"), "{out:?}");
    assert!(out.contains("\t\u{1b}[36mPENDING\u{1b}[0m: "), "{out:?}");
    assert!(err.contains("\t\u{1b}[1;31mINVALID\u{1b}[0m: "), "{err:?}");
    assert!(
        err.contains("\t\u{1b}[33mUNVERIFIABLE\u{1b}[0m: "),
        "{err:?}"
    );
    assert!(
        out.contains("Verdict: \u{1b}[1;31mTAMPERED\u{1b}[0m ("),
        "{out:?}"
    );
}

// ---------------------------------------------------------------- text: hostile names

#[test]
fn key_with_tab_and_newline_cannot_forge_a_valid_line() {
    let forged = "x.json.gz\tvalid\nLog file\ts3://trail-bucket/fake.json.gz\tvalid";
    let mut moved_file = digest("d.json.gz", Status::Moved, Cause::Verified);
    moved_file.cause = Cause::MovedFrom {
        bucket: "trail-bucket".into(),
        key: "y\n\nLog file\ts3://b/k\tvalid".into(),
    };
    let report = report(vec![
        log(forged, Status::Modified, Cause::HashMismatch),
        moved_file,
    ]);
    let (out, err) = text(&report, &verbose());
    for line in out.lines().chain(err.lines()) {
        assert!(!line.ends_with("\tvalid"), "forged line {line:?}");
        assert!(line.matches('\t').count() <= 2, "extra column in {line:?}");
    }
    assert!(err.contains(
        "Log file\ts3://trail-bucket/x.json.gz\\tvalid\\nLog file\\ts3://trail-bucket/fake.json.gz\\tvalid\tINVALID: "
    ));
    assert_eq!(err.lines().filter(|l| !l.is_empty()).count(), 2, "{err}");
}

#[test]
fn escape_sequences_in_bucket_key_and_source_are_not_sent_to_the_terminal() {
    let mut hostile = log("k\u{1b}[2K\u{1b}[1A", Status::Deleted, Cause::NotFound);
    hostile.bucket = "b\u{1b}]0;title\u{7}".into();
    let mut report = report(vec![hostile]);
    report.source = "/tmp/\u{1b}[31mred".into();
    let (out, err) = text(&report, &Options::default());
    assert!(
        !out.contains('\u{1b}') && !err.contains('\u{1b}'),
        "{out:?} {err:?}"
    );
    assert!(!err.contains('\u{7}'));
    assert!(out.contains("all trails in /tmp/\\u{1b}[31mred between"));
}

// ---------------------------------------------------------------- json

fn full_report() -> Report {
    let mut intact = digest("d2.json.gz", Status::Intact, Cause::Verified);
    intact.signed_by = Some("fp01".into());
    let mut modified = log("l1.json.gz", Status::Modified, Cause::HashMismatch);
    modified.expected_sha256 = Some(Sha256::of(b"signed"));
    modified.actual_sha256 = Some(Sha256::of(b"tampered"));
    modified.listed_by = Some("d2.json.gz".into());
    let mut report = report(vec![
        intact,
        backfill(digest(
            "b1_backfill.json.gz",
            Status::Deleted,
            Cause::NotFound,
        )),
        modified,
        log("young.json.gz", Status::Pending, Cause::AwaitingDigest),
    ]);
    report.gaps = vec![
        gap(GapKind::Gap, 2, 5, None, false),
        gap(GapKind::ChainBreak, 6, 9, Some(3), true),
    ];
    report.keys = vec![KeyUse {
        fingerprint: "fp01".into(),
        valid_from: Some(at(0)),
        valid_to: None,
        file: "keys.json".into(),
        digests_verified: 1,
    }];
    report
}

#[test]
fn json_is_one_compact_line_that_parses() {
    let (text, value) = json(&full_report(), &opts());
    assert!(text.ends_with("}\n"));
    assert_eq!(text.lines().count(), 1);
    assert!(value.is_object());
}

#[test]
fn json_header_fields_name_tool_source_range_and_outcome() {
    let (_, v) = json(&full_report(), &opts());
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["tool"],
        format!("trailcheck {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(v["source"], "/archive");
    assert_eq!(v["trail"], ARN);
    assert_eq!(v["requested"]["start"], "2026-11-01T00:00:00Z");
    assert_eq!(v["requested"]["end"], "2026-11-01T12:00:00Z");
    assert_eq!(v["found"]["start"], "2026-11-01T00:00:00Z");
    assert_eq!(v["found"]["end"], "2026-11-01T10:00:00Z");
    assert_eq!(v["outcome"], "tampered");
}

#[test]
fn json_lists_every_file_intact_ones_too_with_all_fields() {
    let (_, v) = json(&full_report(), &opts());
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 4);
    let intact = &files[0];
    assert_eq!(intact["kind"], "digest");
    assert_eq!(intact["status"], "intact");
    assert_eq!(intact["cause"], "verified");
    assert_eq!(intact["reference"], "fp01");
    let modified = &files[2];
    let expected_fields = [
        "kind",
        "bucket",
        "key",
        "status",
        "cause",
        "detail",
        "time",
        "account",
        "region",
        "backfill",
        "expected_sha256",
        "actual_sha256",
        "reference",
        "signed_by",
        "listed_by",
    ];
    let mut keys: Vec<&str> = modified
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = expected_fields.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(modified["kind"], "log");
    assert_eq!(modified["bucket"], "trail-bucket");
    assert_eq!(modified["key"], "l1.json.gz");
    assert_eq!(modified["status"], "modified");
    assert_eq!(modified["cause"], "hash-mismatch");
    assert_eq!(modified["detail"], "hash value doesn't match");
    assert_eq!(modified["time"], "2026-11-01T01:00:00Z");
    assert_eq!(modified["account"], "111122223333");
    assert_eq!(modified["region"], "us-east-1");
    assert_eq!(modified["backfill"], false);
    assert_eq!(modified["expected_sha256"], Sha256::of(b"signed").to_hex());
    assert_eq!(modified["actual_sha256"], Sha256::of(b"tampered").to_hex());
    // `reference` is derived, as before: a digest's key fingerprint, a log's digest.
    assert_eq!(modified["reference"], "d2.json.gz");
    assert_eq!(modified["listed_by"], "d2.json.gz");
    assert!(modified["signed_by"].is_null());
    assert_eq!(intact["signed_by"], "fp01");
    assert!(intact["listed_by"].is_null());
    assert_eq!(files[1]["backfill"], true);
    assert_eq!(files[1]["cause"], "not-found");
}

#[test]
fn json_absent_values_are_null_not_missing() {
    let (_, v) = json(&full_report(), &Options::default());
    assert!(v["trail"].is_null());
    let pending = &v["files"][3];
    assert!(pending["expected_sha256"].is_null());
    assert!(pending["actual_sha256"].is_null());
    assert!(pending["reference"].is_null());
    assert!(v["gaps"][0]["missing_digests"].is_null());
    assert!(v["gaps"][0]["organization"].is_null());
    assert!(v["keys"][0]["valid_to"].is_null());
}

#[test]
fn json_gaps_and_chain_breaks_carry_their_chain() {
    let (_, v) = json(&full_report(), &opts());
    let gap = &v["gaps"][0];
    assert_eq!(gap["kind"], "gap");
    assert_eq!(gap["from"], "2026-11-01T02:00:00Z");
    assert_eq!(gap["to"], "2026-11-01T05:00:00Z");
    assert_eq!(gap["account"], "111122223333");
    assert_eq!(gap["region"], "us-east-1");
    assert_eq!(gap["trail"], "main");
    assert_eq!(gap["home_region"], "us-east-1");
    assert_eq!(gap["bucket"], "trail-bucket");
    assert_eq!(gap["backfill"], false);
    let brk = &v["gaps"][1];
    assert_eq!(brk["kind"], "chain-break");
    assert_eq!(brk["missing_digests"], 3);
    assert_eq!(brk["backfill"], true);
}

#[test]
fn json_keys_list_the_keys_used() {
    let (_, v) = json(&full_report(), &opts());
    let key = &v["keys"][0];
    assert_eq!(key["fingerprint"], "fp01");
    assert_eq!(key["valid_from"], "2026-11-01T00:00:00Z");
    assert_eq!(key["file"], "keys.json");
    assert_eq!(key["digests_verified"], 1);
}

#[test]
fn json_summary_has_every_status_as_a_key() {
    let (_, v) = json(&full_report(), &opts());
    let summary = &v["summary"];
    for kind in ["digests", "logs"] {
        let counts = summary[kind].as_object().unwrap();
        let names: Vec<&str> = counts.keys().map(String::as_str).collect();
        let mut all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        all.sort_unstable();
        let mut names = names;
        names.sort_unstable();
        assert_eq!(names, all, "{kind}");
    }
    assert_eq!(summary["digests"]["intact"], 1);
    assert_eq!(summary["digests"]["deleted"], 1);
    assert_eq!(summary["digests"]["modified"], 0);
    assert_eq!(summary["logs"]["modified"], 1);
    assert_eq!(summary["logs"]["pending"], 1);
    assert_eq!(summary["gaps"], 1);
    assert_eq!(summary["chain_breaks"], 1);
}

#[test]
fn json_of_an_empty_report_is_incomplete_with_empty_lists() {
    let (_, v) = json(&Report::default(), &Options::default());
    assert_eq!(v["outcome"], "incomplete");
    assert!(v["found"].is_null());
    assert!(v["requested"]["start"].is_null());
    assert_eq!(v["files"], serde_json::json!([]));
    assert_eq!(v["gaps"], serde_json::json!([]));
    assert_eq!(v["keys"], serde_json::json!([]));
    assert_eq!(v["summary"]["logs"]["intact"], 0);
}

#[test]
fn json_keeps_hostile_keys_exact_and_escaped() {
    let forged = "x\tvalid\n\u{1b}[2K";
    let (text, v) = json(
        &report(vec![log(forged, Status::Modified, Cause::HashMismatch)]),
        &opts(),
    );
    assert_eq!(text.lines().count(), 1);
    assert!(!text.contains('\u{1b}'));
    assert_eq!(v["files"][0]["key"], forged);
}
