//! The engine against simulated trails: one test per status and cause, and every shape of
//! trail (rotation, gap, backfill, organization, prefix, regions, bucket change).

mod common;

use common::*;
use trailcheck_core::verdict::{
    Cause, DEFAULT_FAIL_ON, FileKind, FileVerdict, GapKind, Outcome, Status,
};
use trailcheck_sim::{BucketSwitch, HourRange, Layout, Rotation, TamperKind, TestKeys};

fn the_tampered(trail: &Trail) -> &trailcheck_sim::Tampering {
    trail
        .manifest
        .tampered
        .first()
        .expect("a tampering was applied")
}

/// Simulates `kind` on a digest; that digest gets `status` and `cause`, the logs it lists are
/// unverifiable (their hashes come from a digest not proven authentic), all else is intact.
fn assert_digest_with_unproven_logs(
    kind: TamperKind,
    status: Status,
    cause: impl Fn(&Trail) -> Cause,
) {
    let trail = simulate(&tampered(kind));
    let t = the_tampered(&trail);
    let report = trail.validate();
    let unproven = Cause::ListedByUnverifiedDigest(t.key.clone());
    let mut expected = vec![(t.key.as_str(), status, cause(&trail))];
    for log in logs_listed_by(&trail.manifest, &t.key) {
        expected.push((log, Status::Unverifiable, unproven.clone()));
    }
    assert_only(&report, &expected);
    let outcome = if status == Status::Modified {
        Outcome::Tampered
    } else {
        Outcome::Incomplete
    };
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), outcome);
}

#[test]
fn clean_trail_is_intact_with_zero_findings() {
    let trail = simulate(&spec());
    let report = trail.validate();
    assert_only(&report, &[]);
    assert_eq!(report.files.len(), trail.manifest.files.len());
    assert!(report.gaps.is_empty());
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Intact);
    assert_eq!(report.keys.len(), 1);
    assert_eq!(
        report.keys[0].digests_verified,
        trail.manifest.digests_written
    );
}

#[test]
fn modified_log_hash_mismatch() {
    let trail = simulate(&tampered(TamperKind::ModifyLog));
    let t = the_tampered(&trail);
    let report = trail.validate();
    assert_only(&report, &[(&t.key, Status::Modified, Cause::HashMismatch)]);
    let verdict = find(&report, &t.key);
    assert!(verdict.expected_sha256.is_some() && verdict.actual_sha256.is_some());
    assert_ne!(verdict.expected_sha256, verdict.actual_sha256);
}

#[test]
fn modified_log_with_a_second_gzip_member_appended() {
    let trail = simulate(&tampered(TamperKind::AppendLog));
    let t = the_tampered(&trail);
    assert_only(
        &trail.validate(),
        &[(&t.key, Status::Modified, Cause::DataAfterGzip)],
    );
}

#[test]
fn modified_log_that_is_not_gzip() {
    let trail = simulate(&tampered(TamperKind::CorruptLog));
    let t = the_tampered(&trail);
    let report = trail.validate();
    let verdict = find(&report, &t.key);
    assert_eq!(verdict.status, Status::Modified);
    assert!(
        matches!(verdict.cause, Cause::NotGzip(_)),
        "{:?}",
        verdict.cause
    );
}

#[test]
fn deleted_log() {
    let trail = simulate(&tampered(TamperKind::DeleteLog));
    let t = the_tampered(&trail);
    assert_only(
        &trail.validate(),
        &[(&t.key, Status::Deleted, Cause::NotFound)],
    );
}

#[test]
fn unreferenced_log_inserted_in_a_covered_hour() {
    let trail = simulate(&tampered(TamperKind::InsertLog));
    let t = the_tampered(&trail);
    let report = trail.validate();
    assert_only(&report, &[(&t.key, Status::Unreferenced, Cause::NotListed)]);
    // The evidence pins what was found.
    let bytes = std::fs::read(trail.path(&t.bucket, &t.key)).expect("inserted log");
    let content = trailcheck_core::gzip::inflate_bounded(&bytes[..], 1 << 30).expect("gzip");
    let found = trailcheck_core::hash::Sha256::of(&content);
    assert_eq!(find(&report, &t.key).actual_sha256, Some(found));
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Tampered);
}

#[test]
fn modified_digest_fails_against_its_successor_and_its_logs_become_unverifiable() {
    assert_digest_with_unproven_logs(TamperKind::ModifyDigest, Status::Modified, |_| {
        Cause::DigestHashMismatch
    });
}

#[test]
fn deleted_digest_is_a_chain_break_of_one() {
    let trail = simulate(&tampered(TamperKind::DeleteDigest));
    let t = the_tampered(&trail);
    let report = trail.validate();
    let mut expected = vec![(t.key.as_str(), Status::Deleted, Cause::NotFound)];
    for log in logs_listed_by(&trail.manifest, &t.key) {
        expected.push((log, Status::Unverifiable, Cause::DigestMissing));
    }
    assert_only(&report, &expected);
    assert!(
        find(&report, &t.key).expected_sha256.is_some(),
        "the successor's record"
    );
    let [gap] = &report.gaps[..] else {
        panic!("one chain break expected: {:?}", report.gaps);
    };
    assert_eq!(
        (gap.kind, gap.missing_digests),
        (GapKind::ChainBreak, Some(1))
    );
}

#[test]
fn two_digests_deleted_in_a_row_are_one_break_of_two() {
    let trail = simulate(&tampered(TamperKind::DeleteDigests2));
    let report = trail.validate();
    let expected_break = &trail.manifest.chain_breaks[0];
    let [gap] = &report.gaps[..] else {
        panic!("one chain break expected: {:?}", report.gaps);
    };
    assert_eq!(gap.kind, GapKind::ChainBreak);
    assert_eq!(gap.missing_digests, Some(2));
    assert_eq!(gap.to, expected_break.to);
    assert_eq!(count(&report, FileKind::Digest, Status::Deleted), 1);
    let unverifiable_logs = count(&report, FileKind::Log, Status::Unverifiable);
    assert_eq!(
        unverifiable_logs,
        2 * trail.manifest.spec.logs_per_hour as usize
    );
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Tampered);
}

#[test]
fn moved_digest_is_found_by_its_recorded_location_and_its_logs_still_verify() {
    let trail = simulate(&tampered(TamperKind::MoveDigest));
    let t = the_tampered(&trail);
    let report = trail.validate();
    let verdict = find(&report, &t.key);
    assert_eq!(verdict.status, Status::Moved);
    let Cause::MovedFrom { key: original, .. } = &verdict.cause else {
        panic!("{}", verdict.cause)
    };
    // Issue 9: its original key is listed too, deleted with cause `moved`.
    let moved_to = Cause::MovedTo {
        bucket: t.bucket.clone(),
        key: t.key.clone(),
    };
    assert_only(
        &report,
        &[
            (&t.key, Status::Moved, verdict.cause.clone()),
            (original, Status::Deleted, moved_to),
        ],
    );
}

#[test]
fn digest_signed_with_an_unknown_key_is_unverifiable_never_intact() {
    assert_digest_with_unproven_logs(TamperKind::UnknownKey, Status::Unverifiable, |trail| {
        Cause::UnknownKey(
            trail
                .manifest
                .rogue_key_fingerprint
                .clone()
                .expect("rogue key"),
        )
    });
}

#[test]
fn newest_digest_with_a_wrong_signature_is_modified() {
    assert_digest_with_unproven_logs(TamperKind::BadSignature, Status::Modified, |_| {
        Cause::BadSignature
    });
}

#[test]
fn newest_digest_without_signature_metadata_is_unverifiable() {
    assert_digest_with_unproven_logs(TamperKind::NoSignature, Status::Unverifiable, |_| {
        Cause::NoSignature
    });
}

/// Leaves signature metadata on the newest digest only, as a plain `aws s3 sync` copy plus
/// one `head-object` would.
fn remove_sidecars_but_the_newest(trail: &Trail) {
    let digests = trail.digests();
    for file in &digests[..digests.len() - 1] {
        let mut sidecar = trail.path(&file.bucket, &file.key).into_os_string();
        sidecar.push(".meta.json");
        std::fs::remove_file(sidecar).expect("sidecar removed");
    }
}

#[test]
fn only_the_newest_digest_needs_a_sidecar() {
    let trail = simulate(&spec());
    remove_sidecars_but_the_newest(&trail);
    assert_only(&trail.validate(), &[]);
}

#[test]
fn sidecar_that_disagrees_with_the_successors_record_is_modified() {
    let trail = simulate(&spec());
    let oldest = trail.oldest_digest();
    let newest_sidecar = trail
        .manifest
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .max_by_key(|f| f.time)
        .map(|f| trail.path(&f.bucket, &format!("{}.meta.json", f.key)))
        .expect("a digest");
    // Give the oldest digest the newest one's signature: valid hex, wrong digest.
    let target = trail.path(&oldest.bucket, &format!("{}.meta.json", oldest.key));
    std::fs::copy(newest_sidecar, target).expect("sidecar copied");
    let report = trail.validate();
    assert_only(
        &report,
        &[(&oldest.key, Status::Modified, Cause::SignatureDisagrees)],
    );
}

#[test]
fn unreadable_log_is_unverifiable_and_a_symlink_out_of_the_archive_is_not_followed() {
    let trail = simulate(&spec());
    let log = trail
        .manifest
        .files
        .iter()
        .find(|f| f.kind == FileKind::Log)
        .expect("a log");
    let path = trail.path(&log.bucket, &log.key);
    let outside = trail.dir.path().join("outside.json.gz");
    std::fs::rename(&path, &outside).expect("moved out");
    std::os::unix::fs::symlink(&outside, &path).expect("symlinked");
    let report = trail.validate();
    let verdict = find(&report, &log.key);
    assert_eq!(verdict.status, Status::Unverifiable);
    assert!(matches!(&verdict.cause, Cause::Inaccessible(why) if why.contains("outside")));
}

#[test]
fn key_rotation_verifies_each_digest_with_the_key_it_names() {
    let mut spec = spec();
    let keys = TestKeys::embedded().expect("keys");
    spec.rotation = Some(Rotation {
        at_hour: 2,
        key: keys.b,
    });
    let trail = simulate(&spec);
    let report = trail.validate();
    assert_only(&report, &[]);
    assert_eq!(report.keys.len(), 2);
    assert_eq!(
        report
            .keys
            .iter()
            .map(|k| k.digests_verified)
            .sum::<usize>(),
        4
    );
}

#[test]
fn gap_is_reported_and_its_logs_are_unverifiable() {
    let mut spec = spec();
    spec.hours = 6;
    spec.gaps = vec![HourRange { first: 2, last: 3 }];
    let trail = simulate(&spec);
    let report = trail.validate();
    let [gap] = &report.gaps[..] else {
        panic!("one gap expected: {:?}", report.gaps);
    };
    let expected_gap = &trail.manifest.gaps[0];
    assert_eq!(
        (gap.kind, gap.from, gap.to),
        (GapKind::Gap, expected_gap.from, expected_gap.to)
    );
    let expected: Vec<_> = expected_gap
        .logs
        .iter()
        .map(|k| (k.as_str(), Status::Unverifiable, Cause::InGap))
        .collect();
    assert_only(&report, &expected);
}

#[test]
fn backfill_chain_is_validated_and_lists_late_logs() {
    let mut spec = spec();
    spec.backfill = true;
    let trail = simulate(&spec);
    let report = trail.validate();
    assert_only(&report, &[]);
    let backfill_digests = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest && f.backfill)
        .count();
    assert!(backfill_digests > 0);
    let late_logs = report
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Log && f.backfill)
        .count();
    assert!(late_logs > 0);
}

#[test]
fn organization_trail_with_prefix_in_two_regions() {
    let mut spec = spec();
    spec.org_id = Some("o-exampleorg1".to_owned());
    spec.prefix = "cloudtrail/prod".to_owned();
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let trail = simulate(&spec);
    let report = trail.validate();
    assert_only(&report, &[]);
    assert_eq!(report.chains.len(), 2);
    assert!(
        report
            .files
            .iter()
            .all(|f| f.key.starts_with("cloudtrail/prod/AWSLogs/o-exampleorg1/"))
    );
}

#[test]
fn tampering_in_one_region_leaves_the_other_intact() {
    let mut spec = tampered(TamperKind::ModifyLog);
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    spec.tampers[0].region = Some("eu-west-1".to_owned());
    let trail = simulate(&spec);
    let t = the_tampered(&trail);
    assert_eq!(t.region, "eu-west-1");
    assert_only(
        &trail.validate(),
        &[(&t.key, Status::Modified, Cause::HashMismatch)],
    );
}

#[test]
fn chain_that_changes_bucket_is_followed_across_bucket_folders() {
    let mut spec = spec();
    spec.layout = Layout::PerBucket;
    spec.bucket_switch = Some(BucketSwitch {
        at_hour: 2,
        bucket: "aws-cloudtrail-logs-111122223333-archive2".to_owned(),
    });
    let trail = simulate(&spec);
    let report = trail.validate();
    assert_only(&report, &[]);
    assert!(report.gaps.is_empty());
    let buckets: std::collections::BTreeSet<_> =
        report.files.iter().map(|f| f.bucket.as_str()).collect();
    assert_eq!(buckets.len(), 2);
}

#[test]
fn trail_arn_selects_one_trail() {
    let trail = simulate(&spec());
    let arn = trail.manifest.trail_arns[0].clone();
    let report = trail.validate_with(|s| {
        s.trail = Some(trailcheck_core::engine::TrailSelector::from_arn(&arn).expect("arn"));
    });
    assert_only(&report, &[]);
    let other = arn.replace("management-events", "another-trail");
    let report = trail.validate_with(|s| {
        s.trail = Some(trailcheck_core::engine::TrailSelector::from_arn(&other).expect("arn"));
    });
    assert!(report.files.is_empty());
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
}

#[test]
fn time_range_takes_digests_in_range_plus_the_spill_over_hour() {
    let trail = simulate(&spec());
    let start = trail.manifest.start;
    // Up to half-way through the second hour: its digest and the next (spill-over) are
    // checked, the two after that are not.
    let report = trail.validate_with(|s| {
        s.start = Some(start);
        s.end = start + minutes(90);
    });
    assert_eq!(count(&report, FileKind::Digest, Status::Intact), 2);
    assert_only(&report, &[]);
}

#[test]
fn logs_after_the_newest_digest_are_pending_on_a_live_trail_and_unverifiable_on_an_old_one() {
    let trail = simulate(&spec());
    // Drop the newest digest: its logs now come after the newest digest present.
    let newest = trail.newest_digest();
    let path = trail.path(&newest.bucket, &newest.key);
    std::fs::remove_file(&path).expect("removed");
    let logs = logs_listed_by(&trail.manifest, &newest.key);
    let live = trail.validate_with(|s| s.end = newest.time + minutes(5));
    for log in &logs {
        assert_eq!(find(&live, log).status, Status::Pending, "{log}");
    }
    assert_eq!(live.outcome(&DEFAULT_FAIL_ON), Outcome::Intact);
    let old = trail.validate_with(|s| s.end = newest.time + minutes(600));
    for log in &logs {
        assert_eq!(find(&old, log).cause, Cause::AfterNewestDigest, "{log}");
    }
    assert_eq!(old.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
}

/// A middle digest of a clean trail, its path, and the logs it lists.
fn middle_digest(trail: &Trail) -> (String, std::path::PathBuf, Vec<String>) {
    let mut digests: Vec<_> = trail
        .manifest
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Digest)
        .collect();
    digests.sort_by_key(|f| f.time);
    let middle = digests[digests.len() / 2];
    let logs = logs_listed_by(&trail.manifest, &middle.key)
        .into_iter()
        .map(str::to_owned)
        .collect();
    (
        middle.key.clone(),
        trail.path(&middle.bucket, &middle.key),
        logs,
    )
}

/// Replaces a middle digest's bytes; returns the report and the digest's verdict.
fn with_digest_bytes(bytes: impl FnOnce(&[u8]) -> Vec<u8>) -> (Trail, String, Vec<String>) {
    let trail = simulate(&spec());
    let (key, path, logs) = middle_digest(&trail);
    let original = std::fs::read(&path).expect("digest");
    std::fs::write(&path, bytes(&original)).expect("write");
    (trail, key, logs)
}

/// A digest that cannot be parsed lists nothing trustworthy: its logs are unverifiable.
fn assert_broken_digest(trail: &Trail, key: &str, logs: &[String], cause: Cause) {
    let report = trail.validate();
    let mut expected = vec![(key, Status::Modified, cause)];
    expected.extend(
        logs.iter()
            .map(|l| (l.as_str(), Status::Unverifiable, Cause::PeriodNotVerified)),
    );
    assert_only(&report, &expected);
}

#[test]
fn modified_digest_that_is_not_gzip() {
    let (trail, key, logs) = with_digest_bytes(|_| b"{\"not\": \"gzip\"}".to_vec());
    let report = trail.validate();
    assert!(matches!(find(&report, &key).cause, Cause::NotGzip(_)));
    let cause = find(&report, &key).cause.clone();
    assert_broken_digest(&trail, &key, &logs, cause);
}

#[test]
fn modified_digest_that_is_not_json() {
    let (trail, key, logs) = with_digest_bytes(|_| gzip(b"this is not JSON"));
    let report = trail.validate();
    let cause = find(&report, &key).cause.clone();
    assert!(matches!(cause, Cause::InvalidFormat(_)), "{cause:?}");
    assert_broken_digest(&trail, &key, &logs, cause);
}

#[test]
fn modified_digest_that_lacks_a_required_field() {
    let (trail, key, logs) = with_digest_bytes(|original| {
        let content = trailcheck_core::gzip::inflate_bounded(original, 1 << 20).expect("inflate");
        let mut json: serde_json::Value = serde_json::from_slice(&content).expect("json");
        json.as_object_mut()
            .expect("object")
            .remove("digestS3Object");
        gzip(json.to_string().as_bytes())
    });
    assert_broken_digest(&trail, &key, &logs, Cause::MissingField("digestS3Object"));
}

#[test]
fn digest_that_cannot_be_read_is_unverifiable() {
    let trail = simulate(&spec());
    let (key, path, _) = middle_digest(&trail);
    let outside = trail.dir.path().join("outside-digest.json.gz");
    std::fs::rename(&path, &outside).expect("moved out");
    std::os::unix::fs::symlink(&outside, &path).expect("symlinked");
    let report = trail.validate();
    let verdict = find(&report, &key);
    assert_eq!(verdict.status, Status::Unverifiable);
    assert!(
        matches!(verdict.cause, Cause::Inaccessible(_)),
        "{:?}",
        verdict.cause
    );
}

#[test]
fn signature_algorithm_other_than_sha256_with_rsa_is_unverifiable() {
    let trail = simulate(&spec());
    let newest = trail.newest_digest();
    let sidecar = trail.path(&newest.bucket, &format!("{}.meta.json", newest.key));
    let text = std::fs::read_to_string(&sidecar).expect("sidecar");
    std::fs::write(&sidecar, text.replace("SHA256withRSA", "SHA1withRSA")).expect("write");
    let report = trail.validate();
    assert_eq!(
        find(&report, &newest.key).cause,
        Cause::UnsupportedAlgorithm("SHA1withRSA".to_owned())
    );
}

#[test]
fn logs_in_a_folder_no_digest_covers_are_unverifiable() {
    let trail = simulate(&spec());
    // The newest log: in range whatever the default start.
    let log = (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Log)
        .max_by_key(|f| f.time)
        .expect("a log");
    let stray_key = log
        .key
        .replace("/us-east-1/", "/ap-south-1/")
        .replace("_us-east-1_", "_ap-south-1_");
    let stray = trail.path(&log.bucket, &stray_key);
    std::fs::create_dir_all(stray.parent().expect("parent")).expect("dirs");
    std::fs::copy(trail.path(&log.bucket, &log.key), &stray).expect("copy");
    let report = trail.validate();
    assert_only(
        &report,
        &[(&stray_key, Status::Unverifiable, Cause::NoDigests)],
    );
}

#[test]
fn past_end_time_on_an_archive_without_sidecars_uses_the_successor_out_of_range() {
    let mut spec = spec();
    spec.hours = 6;
    let trail = simulate(&spec);
    remove_sidecars_but_the_newest(&trail);
    // End three hours before the newest digest: the newest digest in range (with the
    // spill-over hour) is two hours older than the archive's newest, and has no sidecar.
    let end = trail.end() - minutes(170);
    let report = trail.validate_with(|s| s.end = end);
    let digests = count(&report, FileKind::Digest, Status::Intact);
    assert_eq!(
        digests,
        4,
        "{:#?}",
        report
            .files
            .iter()
            .map(|f| (&f.key, f.status))
            .collect::<Vec<_>>()
    );
    assert_only(&report, &[]);
}

#[test]
fn partial_copy_where_one_region_starts_later_reports_no_deletion() {
    let mut spec = spec();
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let trail = simulate(&spec);
    // The copy of eu-west-1 starts an hour later: its first digest and its logs are absent,
    // as after `aws s3 sync` of a later window, not after tampering.
    let first = (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Digest && f.region == "eu-west-1")
        .min_by_key(|f| f.time)
        .expect("a digest");
    for log in logs_listed_by(&trail.manifest, &first.key) {
        std::fs::remove_file(trail.path(&first.bucket, log)).expect("log removed");
    }
    let path = trail.path(&first.bucket, &first.key);
    std::fs::remove_file(&path).expect("digest removed");
    let mut sidecar = path.into_os_string();
    sidecar.push(".meta.json");
    std::fs::remove_file(sidecar).expect("sidecar removed");
    let report = trail.validate();
    assert_only(&report, &[]);
    // Issue 9: no deletion, no chain break; only the open start of eu-west-1's chain is said.
    let kinds: Vec<GapKind> = report.gaps.iter().map(|g| g.kind).collect();
    assert_eq!(kinds, [GapKind::OpenStart], "{:?}", report.gaps);
    assert_eq!(report.gaps[0].chain.region, "eu-west-1");
}

#[test]
fn every_file_names_its_chain_listed_logs_their_digests_and_an_inserted_log_its_folders() {
    let mut spec = tampered(TamperKind::InsertLog);
    spec.regions = vec!["us-east-1".to_owned(), "eu-west-1".to_owned()];
    let trail = simulate(&spec);
    let report = trail.validate();
    assert_eq!(
        report.chains.len(),
        2,
        "a chain per region: {:?}",
        report.chains
    );
    for file in &report.files {
        let chain = file
            .chain
            .as_ref()
            .unwrap_or_else(|| panic!("no chain: {file:?}"));
        assert_eq!(Some(&chain.account), file.account.as_ref(), "{}", file.key);
        assert_eq!(Some(&chain.region), file.region.as_ref(), "{}", file.key);
        if file.kind == FileKind::Log && file.status == Status::Intact {
            let digest = find(&report, file.listed_by.as_deref().unwrap());
            assert_eq!(digest.chain.as_ref(), Some(chain), "{}", file.key);
        }
    }
    let inserted = find(&report, &the_tampered(&trail).key);
    assert_eq!(inserted.status, Status::Unreferenced);
    assert!(!inserted.chain.as_ref().unwrap().backfill);
}

/// A log as a sink saw it: its verdict, its content and the key that signed its digest.
type Handed = (FileVerdict, Option<Vec<u8>>, Option<String>);

/// Collects what a run hands a reader of the records.
#[derive(Default)]
struct Collected(std::sync::Mutex<Vec<Handed>>);

impl trailcheck_core::engine::LogSink for Collected {
    fn log(&self, log: trailcheck_core::engine::ReadLog<'_>) {
        let entry = (
            log.verdict.clone(),
            log.content.map(<[u8]>::to_vec),
            log.signed_by.map(str::to_owned),
        );
        self.0.lock().unwrap().push(entry);
    }
}

#[test]
fn a_run_that_reads_records_judges_as_validate_does_and_hands_over_exactly_the_hashed_bytes() {
    use trailcheck_core::engine::{self, Keys, progress::Silent};
    use trailcheck_core::hash::Sha256;
    use trailcheck_core::keys::KeyRing;
    let mut spec = tampered(TamperKind::ModifyLog);
    spec.tampers
        .push("insert-log".parse::<trailcheck_sim::TamperSpec>().unwrap());
    spec.tampers
        .push("delete-log".parse::<trailcheck_sim::TamperSpec>().unwrap());
    let trail = simulate(&spec);
    let plain = trail.validate();
    let keys = KeyRing::load_dir(&trail.keys()).unwrap();
    let store = trailcheck_core::engine::open_local(&trail.archive(), None).unwrap();
    let settings = engine::Settings {
        start: None,
        end: trail.end(),
        trail: None,
        jobs: 2,
        shard: None,
        checkpoint: None,
        window: None,
    };
    let sink = Collected::default();
    let read =
        engine::validate_reading(&store, Keys::Ring(&keys), &settings, &Silent, &sink).unwrap();
    assert_eq!(read.files, plain.files, "the same verdicts");
    let handed = sink.0.into_inner().unwrap();
    let logs_present: Vec<&FileVerdict> = plain
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Log && f.status != Status::Deleted)
        .collect();
    assert_eq!(
        handed.len(),
        logs_present.len() + 1,
        "every log read, and the deleted one tried"
    );
    let fingerprint = &plain.keys[0].fingerprint;
    for (verdict, content, signed_by) in &handed {
        if verdict.status == Status::Deleted {
            assert!(content.is_none());
            continue;
        }
        let content = content.as_ref().expect("a log present has content");
        assert_eq!(
            Some(Sha256::of(content)),
            verdict.actual_sha256,
            "{}",
            verdict.key
        );
        assert!(content.starts_with(b"{\"Records\""), "{}", verdict.key);
        match verdict.status {
            Status::Intact => assert_eq!(signed_by.as_ref(), Some(fingerprint)),
            Status::Unreferenced => assert_eq!(signed_by, &None),
            _ => {}
        }
    }
    let statuses: std::collections::BTreeSet<Status> = handed.iter().map(|h| h.0.status).collect();
    assert!(statuses.contains(&Status::Modified) && statuses.contains(&Status::Unreferenced));
}

/// A trail that also delivers `kinds` (`insight`, `network-activity:undigested`, ...).
fn with_kinds(kinds: &[&str]) -> Trail {
    let mut spec = spec();
    spec.log_kinds = kinds.iter().map(|k| k.parse().expect("a kind")).collect();
    simulate(&spec)
}

fn logs_of_kind<'a>(trail: &'a Trail, dir: &str) -> Vec<&'a trailcheck_sim::FileEntry> {
    let folder = format!("/{dir}/");
    (trail.manifest.files.iter())
        .filter(|f| f.kind == FileKind::Log && f.key.contains(&folder))
        .collect()
}

#[test]
fn logs_of_another_kind_that_digests_list_are_checked_wherever_they_live() {
    let trail = with_kinds(&["insight", "aggregated"]);
    let report = trail.validate();
    for dir in ["CloudTrail-Insight", "CloudTrail-Aggregated"] {
        let logs = logs_of_kind(&trail, dir);
        assert_eq!(logs.len(), 4, "one an hour: {dir}");
        for log in logs {
            let verdict = find(&report, &log.key);
            assert_eq!(
                verdict.status,
                Status::Intact,
                "{}: {}",
                log.key,
                verdict.cause
            );
            assert_eq!(verdict.listed_by, log.listed_by);
        }
    }
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Intact);

    // Changed, it is modified like any listed log.
    let insight = logs_of_kind(&trail, "CloudTrail-Insight")[1].clone();
    std::fs::write(
        trail.path(&insight.bucket, &insight.key),
        gzip(b"{\"Records\":[]}"),
    )
    .expect("rewritten");
    let report = trail.validate();
    assert_only(
        &report,
        &[(&insight.key, Status::Modified, Cause::HashMismatch)],
    );
}

#[test]
fn an_unlisted_log_of_a_digested_kind_is_unreferenced() {
    let trail = with_kinds(&["insight"]);
    let insight = logs_of_kind(&trail, "CloudTrail-Insight")[1].clone();
    let planted = insight.key.replace(
        &insight.key[insight.key.len() - ".json.gz".len() - 16..],
        "Pl4ntedPl4ntedXX.json.gz",
    );
    std::fs::copy(
        trail.path(&insight.bucket, &insight.key),
        trail.path(&insight.bucket, &planted),
    )
    .expect("planted");
    let report = trail.validate();
    assert_only(
        &report,
        &[(&planted, Status::Unreferenced, Cause::NotListed)],
    );
}

#[test]
fn logs_of_a_kind_no_digest_lists_are_not_covered_never_intact_never_tampering() {
    let trail = with_kinds(&["insight", "network-activity:undigested"]);
    let report = trail.validate();
    let undigested = logs_of_kind(&trail, "CloudTrail-NetworkActivity");
    assert_eq!(undigested.len(), 4);
    let expected: Vec<(&str, Status, Cause)> = undigested
        .iter()
        .map(|l| {
            let cause = Cause::KindNotDigested("CloudTrail-NetworkActivity".to_owned());
            (l.key.as_str(), Status::Unverifiable, cause)
        })
        .collect();
    assert_only(&report, &expected);
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
    assert_eq!(
        find(&report, &undigested[0].key).cause.code(),
        "kind-not-digested"
    );
    // Removing one is not a deletion anyone can prove: it simply is not there.
    std::fs::remove_file(trail.path(&undigested[0].bucket, &undigested[0].key)).expect("removed");
    let report = trail.validate();
    assert!(report.files.iter().all(|f| f.key != undigested[0].key));
    assert_eq!(report.outcome(&DEFAULT_FAIL_ON), Outcome::Incomplete);
}
