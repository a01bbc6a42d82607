//! The simulator's round trip: trails it writes are checked here by a small, independent
//! reader (ring, flate2, sha2, md-5 directly), not by trailcheck's validator.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::prelude::{BASE64_STANDARD, Engine};
use md5::Md5;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use trailcheck_core::verdict::Status;
use trailcheck_sim::{BucketSwitch, Layout, Manifest, Rotation, SimError, Spec, TestKeys};

const DIGEST_FIELDS: [&str; 15] = [
    "awsAccountId",
    "digestStartTime",
    "digestEndTime",
    "digestS3Bucket",
    "digestS3Object",
    "digestPublicKeyFingerprint",
    "digestSignatureAlgorithm",
    "newestEventTime",
    "oldestEventTime",
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "previousDigestSignature",
    "logFiles",
];
const PREVIOUS_FIELDS: [&str; 5] = [
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "previousDigestSignature",
];

fn small_spec() -> Spec {
    let mut spec = Spec::new(TestKeys::embedded().unwrap().a);
    spec.hours = 4;
    spec.logs_per_hour = 3;
    spec
}

fn with_tamper(tamper: &str) -> Spec {
    let mut spec = small_spec();
    spec.hours = 6;
    spec.tampers = vec![tamper.parse().unwrap()];
    if tamper.starts_with("unknown-key") {
        spec.rogue_key = Some(TestKeys::embedded().unwrap().rogue);
    }
    spec
}

/// A trail written to a fresh folder, read back as plain bytes.
struct Written {
    _dir: tempfile::TempDir,
    out: PathBuf,
    manifest: Manifest,
    /// (bucket, key) → bytes as stored.
    objects: BTreeMap<(String, String), Vec<u8>>,
    /// (bucket, key) → the sidecar's `Metadata` object.
    metadata: BTreeMap<(String, String), Value>,
    /// Published keys by fingerprint, from the list-public-keys file.
    keys: HashMap<String, Vec<u8>>,
}

fn write(spec: &Spec) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trail");
    let manifest = trailcheck_sim::simulate(spec, &out).unwrap();
    let keys_file = trailcheck_sim::write_public_keys(&manifest.public_keys, dir.path()).unwrap();
    let keys = published_keys(&keys_file);
    let (objects, metadata) = read_tree(&out, spec.layout, &spec.bucket);
    Written {
        _dir: dir,
        out,
        manifest,
        objects,
        metadata,
        keys,
    }
}

/// Fingerprint → DER, checking every fingerprint is the MD5 of its key's bytes.
fn published_keys(path: &Path) -> HashMap<String, Vec<u8>> {
    let list: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let mut keys = HashMap::new();
    for key in list["PublicKeyList"].as_array().unwrap() {
        let der = BASE64_STANDARD
            .decode(key["Value"].as_str().unwrap())
            .unwrap();
        let fingerprint = key["Fingerprint"].as_str().unwrap().to_owned();
        assert_eq!(hex::encode(Md5::digest(&der)), fingerprint);
        assert!(key["ValidityStartTime"].as_str().unwrap().ends_with('Z'));
        assert!(key["ValidityEndTime"].as_str().unwrap().ends_with('Z'));
        keys.insert(fingerprint, der);
    }
    keys
}

type Tree = (
    BTreeMap<(String, String), Vec<u8>>,
    BTreeMap<(String, String), Value>,
);

fn read_tree(out: &Path, layout: Layout, bucket: &str) -> Tree {
    let mut objects = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for path in files_under(out) {
        let relative = path.strip_prefix(out).unwrap().to_str().unwrap().to_owned();
        let (bucket, key) = match layout {
            Layout::Mirror => (bucket.to_owned(), relative),
            Layout::PerBucket => {
                let (b, k) = relative.split_once('/').unwrap();
                (b.to_owned(), k.to_owned())
            }
        };
        let bytes = fs::read(&path).unwrap();
        match key.strip_suffix(".meta.json") {
            Some(object) => {
                let head: Value = serde_json::from_slice(&bytes).unwrap();
                metadata.insert((bucket, object.to_owned()), head["Metadata"].clone());
            }
            None => {
                objects.insert((bucket, key), bytes);
            }
        }
    }
    (objects, metadata)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The first gzip member, and whether bytes follow it.
fn gunzip(bytes: &[u8]) -> Result<(Vec<u8>, bool), String> {
    let mut decoder = flate2::bufread::GzDecoder::new(bytes);
    let mut content = Vec::new();
    decoder
        .read_to_end(&mut content)
        .map_err(|e| e.to_string())?;
    Ok((content, !decoder.into_inner().is_empty()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

struct DigestRead {
    bucket: String,
    key: String,
    json: Value,
    content: Vec<u8>,
}

impl Written {
    fn digests(&self) -> Vec<DigestRead> {
        self.objects
            .iter()
            .filter(|((_, key), _)| key.contains("/CloudTrail-Digest/"))
            .map(|((bucket, key), bytes)| {
                let (content, _) = gunzip(bytes).unwrap();
                DigestRead {
                    bucket: bucket.clone(),
                    key: key.clone(),
                    json: serde_json::from_slice(&content).unwrap(),
                    content,
                }
            })
            .collect()
    }

    fn logs(&self) -> Vec<(String, String)> {
        self.objects
            .keys()
            .filter(|(_, key)| key.contains("/CloudTrail/"))
            .cloned()
            .collect()
    }

    fn signature(&self, bucket: &str, key: &str) -> Option<String> {
        let meta = self.metadata.get(&(bucket.to_owned(), key.to_owned()))?;
        assert_eq!(meta["signature-algorithm"], "SHA256withRSA");
        meta["signature"].as_str().map(str::to_owned)
    }

    /// Everything an independent check finds wrong with the archive, as sorted sentences.
    fn problems(&self) -> BTreeSet<String> {
        let mut problems = BTreeSet::new();
        let mut listed = BTreeSet::new();
        let digests = self.digests();
        for d in &digests {
            self.check_digest(d, &mut problems);
            for log in d.json["logFiles"].as_array().unwrap() {
                let id = (str_of(&log["s3Bucket"]), str_of(&log["s3Object"]));
                self.check_log(&id, log, &mut problems);
                listed.insert(id);
            }
        }
        for log in self.logs() {
            if !listed.contains(&log) {
                problems.insert(format!("unlisted log: {}", log.1));
            }
        }
        problems
    }

    fn check_digest(&self, d: &DigestRead, problems: &mut BTreeSet<String>) {
        assert_eq!(
            field_order(&d.content),
            DIGEST_FIELDS,
            "field order of {}",
            d.key
        );
        if d.json["digestS3Bucket"] != d.bucket.as_str()
            || d.json["digestS3Object"] != d.key.as_str()
        {
            problems.insert(format!(
                "moved: {} records {}",
                d.key,
                str_of(&d.json["digestS3Object"])
            ));
        }
        match self.signature(&d.bucket, &d.key) {
            None => {
                problems.insert(format!("no signature: {}", d.key));
            }
            Some(signature) => self.check_signature(d, &signature, problems),
        }
        if d.json["previousDigestS3Object"].is_null() {
            for field in PREVIOUS_FIELDS {
                assert!(
                    d.json[field].is_null(),
                    "{field} of starting digest {}",
                    d.key
                );
            }
            return;
        }
        let previous = (
            str_of(&d.json["previousDigestS3Bucket"]),
            str_of(&d.json["previousDigestS3Object"]),
        );
        let Some(bytes) = self.objects.get(&previous) else {
            problems.insert(format!(
                "missing predecessor: {} names {}",
                d.key, previous.1
            ));
            return;
        };
        let (content, _) = gunzip(bytes).unwrap();
        if d.json["previousDigestHashValue"] != sha256_hex(&content).as_str() {
            problems.insert(format!(
                "predecessor hash mismatch: {} names {}",
                d.key, previous.1
            ));
        }
        if self.signature(&previous.0, &previous.1).as_deref()
            != d.json["previousDigestSignature"].as_str()
        {
            problems.insert(format!(
                "predecessor signature disagrees: {} names {}",
                d.key, previous.1
            ));
        }
        let previous_json: Value = serde_json::from_slice(&content).unwrap();
        assert_eq!(
            d.json["digestStartTime"], previous_json["digestEndTime"],
            "{}",
            d.key
        );
        assert_eq!(d.json["previousDigestHashAlgorithm"], "SHA-256");
    }

    fn check_signature(&self, d: &DigestRead, signature: &str, problems: &mut BTreeSet<String>) {
        let fingerprint = str_of(&d.json["digestPublicKeyFingerprint"]);
        let Some(der) = self.keys.get(&fingerprint) else {
            problems.insert(format!("unknown key: {}", d.key));
            return;
        };
        let previous = d.json["previousDigestSignature"].as_str().unwrap_or("null");
        let signed = format!(
            "{}\n{}/{}\n{}\n{previous}",
            str_of(&d.json["digestEndTime"]),
            str_of(&d.json["digestS3Bucket"]),
            str_of(&d.json["digestS3Object"]),
            sha256_hex(&d.content),
        );
        let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der);
        if key
            .verify(signed.as_bytes(), &hex::decode(signature).unwrap())
            .is_err()
        {
            problems.insert(format!("bad signature: {}", d.key));
        }
    }

    fn check_log(&self, id: &(String, String), entry: &Value, problems: &mut BTreeSet<String>) {
        let Some(bytes) = self.objects.get(id) else {
            problems.insert(format!("missing log: {}", id.1));
            return;
        };
        match gunzip(bytes) {
            Err(_) => {
                problems.insert(format!("not gzip: {}", id.1));
            }
            Ok((content, trailing)) => {
                if trailing {
                    problems.insert(format!("data after gzip member: {}", id.1));
                }
                if entry["hashValue"] != sha256_hex(&content).as_str() {
                    problems.insert(format!("log hash mismatch: {}", id.1));
                }
            }
        }
    }
}

/// Top-level field names in the order they appear (serde_json's `Value` sorts them).
/// `logFiles` comes last, so each field's first occurrence is its top-level one.
fn field_order(content: &[u8]) -> Vec<&'static str> {
    let text = std::str::from_utf8(content).unwrap();
    let mut fields: Vec<(usize, &'static str)> = DIGEST_FIELDS
        .iter()
        .filter_map(|f| text.find(&format!("\"{f}\":")).map(|at| (at, *f)))
        .collect();
    fields.sort();
    fields.into_iter().map(|(_, f)| f).collect()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

#[test]
fn clean_trail_verifies_end_to_end() {
    let w = write(&small_spec());
    assert_eq!(w.problems(), BTreeSet::new());
    assert_eq!(w.manifest.digests_written, 8);
    assert_eq!(w.manifest.logs_written, 24);
    assert_eq!(w.digests().len(), 8);
    assert_eq!(w.logs().len(), 24);
    assert!(w.manifest.tampered.is_empty());
    assert!(
        !w.out.join(trailcheck_sim::MANIFEST_FILE).exists(),
        "the archive stays clean"
    );
}

#[test]
fn every_region_has_one_chain_with_one_starting_digest() {
    let w = write(&small_spec());
    let digests = w.digests();
    for region in ["us-east-1", "eu-west-1"] {
        let chain: Vec<&DigestRead> = digests
            .iter()
            .filter(|d| d.key.contains(&format!("/{region}/")))
            .collect();
        assert_eq!(chain.len(), 4);
        let starting = chain
            .iter()
            .filter(|d| d.json["previousDigestS3Object"].is_null())
            .count();
        assert_eq!(starting, 1, "{region}");
        for d in chain {
            let file = d.key.rsplit('/').next().unwrap();
            let prefix =
                format!("111122223333_CloudTrail-Digest_{region}_management-events_us-east-1_");
            assert!(file.starts_with(&prefix), "{file}");
            assert_eq!(d.bucket, "aws-cloudtrail-logs-111122223333-5c9a1e07");
        }
    }
}

#[test]
fn digest_times_have_jitter_and_name_their_end() {
    let w = write(&small_spec());
    for d in w.digests() {
        let end = str_of(&d.json["digestEndTime"]);
        assert!(!end.ends_with(":00:00Z"), "{end} should not be round");
        let stamp = end.replace(['-', ':'], "");
        assert!(d.key.ends_with(&format!("_{stamp}.json.gz")), "{}", d.key);
        let folder = &end[..10].replace('-', "/");
        assert!(d.key.contains(&format!("/{folder}/")), "{}", d.key);
        assert_eq!(d.json["digestSignatureAlgorithm"], "SHA256withRSA");
        for log in d.json["logFiles"].as_array().unwrap() {
            assert_eq!(log["hashAlgorithm"], "SHA-256");
            let key = str_of(&log["s3Object"]);
            let minute = key.rsplit('_').nth(1).unwrap();
            let start = str_of(&d.json["digestStartTime"]).replace(['-', ':'], "");
            assert!(
                minute > &start[..13] && minute < &stamp[..13],
                "{minute} in {start}..{stamp}"
            );
        }
    }
}

#[test]
fn logs_are_single_gzip_members_of_realistic_records() {
    let w = write(&small_spec());
    for (_, key) in w.logs() {
        let bytes = &w.objects[&(w.manifest.buckets[0].clone(), key.clone())];
        let (content, trailing) = gunzip(bytes).unwrap();
        assert!(!trailing);
        let v: Value = serde_json::from_slice(&content).unwrap();
        let records = v["Records"].as_array().unwrap();
        assert!((5..=60).contains(&records.len()), "{key}");
        for r in records {
            for field in [
                "eventVersion",
                "userIdentity",
                "eventTime",
                "eventSource",
                "eventName",
                "awsRegion",
                "sourceIPAddress",
                "userAgent",
                "requestID",
                "eventID",
                "readOnly",
                "eventType",
                "managementEvent",
                "recipientAccountId",
                "eventCategory",
            ] {
                assert!(r.get(field).is_some(), "{field} in {key}");
            }
        }
    }
}

#[test]
fn empty_hours_list_no_logs_and_null_event_times() {
    let mut spec = small_spec();
    spec.logs_per_hour = 0;
    let w = write(&spec);
    assert_eq!(w.problems(), BTreeSet::new());
    for d in w.digests() {
        assert_eq!(d.json["logFiles"], Value::Array(Vec::new()));
        assert!(d.json["newestEventTime"].is_null() && d.json["oldestEventTime"].is_null());
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = write(&small_spec());
    let b = write(&small_spec());
    assert_eq!(a.objects, b.objects);
    assert_eq!(a.metadata, b.metadata);
    let mut spec = small_spec();
    spec.seed = 2;
    let c = write(&spec);
    assert_ne!(
        a.objects.keys().collect::<Vec<_>>(),
        c.objects.keys().collect::<Vec<_>>()
    );
}

#[test]
fn a_few_hours_are_written_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    trailcheck_sim::simulate(&small_spec(), dir.path()).unwrap();
    let took = started.elapsed();
    // Well under a second on an idle machine; the margin absorbs a busy one.
    assert!(took.as_secs_f64() < 3.0, "took {took:?}");
}

#[test]
fn gap_hours_have_logs_and_no_digests_and_restart_the_chain() {
    let mut spec = small_spec();
    spec.hours = 6;
    spec.gaps = vec!["2-3".parse().unwrap()];
    let w = write(&spec);
    assert_eq!(w.digests().len(), 2 * 4);
    let gap_logs: Vec<String> = w
        .manifest
        .gaps
        .iter()
        .flat_map(|g| g.logs.clone())
        .collect();
    assert_eq!(gap_logs.len(), 2 * 2 * 3);
    let unlisted: Vec<String> = gap_logs
        .iter()
        .map(|k| format!("unlisted log: {k}"))
        .collect();
    assert_eq!(w.problems(), set(&unlisted));
    let starting = w
        .digests()
        .into_iter()
        .filter(|d| d.json["previousDigestS3Object"].is_null())
        .count();
    assert_eq!(starting, 2 * 2, "each region starts again after the gap");
    let gap = &w.manifest.gaps[0];
    assert!(gap.from < gap.to);
}

#[test]
fn rotation_signs_later_digests_with_the_second_key() {
    let keys = TestKeys::embedded().unwrap();
    let mut spec = small_spec();
    spec.rotation = Some(Rotation {
        at_hour: 2,
        key: keys.b.clone(),
    });
    let w = write(&spec);
    assert_eq!(w.problems(), BTreeSet::new());
    assert_eq!(w.keys.len(), 2);
    let by_key: Vec<(String, String)> = w
        .manifest
        .files
        .iter()
        .filter(|f| f.kind == trailcheck_core::verdict::FileKind::Digest)
        .map(|f| {
            let d = w.digests().into_iter().find(|d| d.key == f.key).unwrap();
            (
                f.hour.to_string(),
                str_of(&d.json["digestPublicKeyFingerprint"]),
            )
        })
        .collect();
    for (hour, fingerprint) in by_key {
        let expected = if hour.parse::<u32>().unwrap() >= 2 {
            keys.b.fingerprint()
        } else {
            keys.a.fingerprint()
        };
        assert_eq!(fingerprint, expected, "hour {hour}");
    }
}

#[test]
fn backfill_chain_lists_late_logs_only() {
    let mut spec = small_spec();
    spec.hours = 6;
    spec.backfill = true;
    let w = write(&spec);
    assert_eq!(w.problems(), BTreeSet::new());
    let backfill: Vec<DigestRead> = w
        .digests()
        .into_iter()
        .filter(|d| d.key.ends_with("_backfill.json.gz"))
        .collect();
    assert_eq!(backfill.len(), 2);
    assert_eq!(
        backfill
            .iter()
            .filter(|d| d.json["previousDigestS3Object"].is_null())
            .count(),
        1
    );
    for d in &backfill {
        let meta = &w.metadata[&(d.bucket.clone(), d.key.clone())];
        assert!(
            meta["backfill-generation-timestamp"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        let listed = d.json["logFiles"].as_array().unwrap();
        assert!((1..=2).contains(&listed.len()));
        for log in listed {
            let key = str_of(&log["s3Object"]);
            let regular = w
                .digests()
                .into_iter()
                .filter(|r| !r.key.ends_with("_backfill.json.gz"));
            assert!(
                regular
                    .into_iter()
                    .all(|r| !r.content.windows(key.len()).any(|x| x == key.as_bytes()))
            );
        }
    }
}

#[test]
fn bucket_switch_chains_back_into_the_first_bucket() {
    let mut spec = small_spec();
    spec.layout = Layout::PerBucket;
    spec.bucket_switch = Some(BucketSwitch {
        at_hour: 2,
        bucket: "second-trail-bucket".to_owned(),
    });
    let w = write(&spec);
    assert_eq!(w.problems(), BTreeSet::new());
    assert!(w.out.join("second-trail-bucket").is_dir());
    let crossing: Vec<DigestRead> = w
        .digests()
        .into_iter()
        .filter(|d| {
            d.bucket == "second-trail-bucket"
                && d.json["previousDigestS3Bucket"] == spec.bucket.as_str()
        })
        .collect();
    assert_eq!(crossing.len(), 2, "one per region");
    assert_eq!(
        w.manifest.buckets,
        vec![spec.bucket.clone(), "second-trail-bucket".to_owned()]
    );
}

#[test]
fn organization_trail_with_prefix_puts_both_in_every_key() {
    let mut spec = small_spec();
    spec.org_id = Some("o-aa111bb222".to_owned());
    spec.prefix = "cloudtrail/prod".to_owned();
    let w = write(&spec);
    assert_eq!(w.problems(), BTreeSet::new());
    for (_, key) in w.objects.keys() {
        assert!(
            key.starts_with("cloudtrail/prod/AWSLogs/o-aa111bb222/111122223333/"),
            "{key}"
        );
    }
}

/// Runs one tampering on a 6-hour trail and returns the trail and its one manifest record.
fn tampered(tamper: &str) -> (Written, trailcheck_sim::Tampering) {
    let w = write(&with_tamper(tamper));
    assert_eq!(w.manifest.tampered.len(), 1);
    let t = w.manifest.tampered[0].clone();
    (w, t)
}

fn logs_listed_by(w: &Written, digest_key: &str) -> Vec<String> {
    w.manifest
        .files
        .iter()
        .filter(|f| f.listed_by.as_deref() == Some(digest_key))
        .map(|f| f.key.clone())
        .collect()
}

#[test]
fn modify_log_changes_one_value_and_breaks_its_hash() {
    let (w, t) = tampered("modify-log");
    assert_eq!(
        (t.expected_status, t.awscli_detects, t.hour),
        (Status::Modified, true, 3)
    );
    assert_eq!(
        w.problems(),
        set(&[format!("log hash mismatch: {}", t.key)])
    );
}

#[test]
fn append_log_adds_a_member_the_first_member_hash_hides() {
    let (w, t) = tampered("append-log");
    assert_eq!(
        (t.expected_status, t.awscli_detects),
        (Status::Modified, false)
    );
    assert_eq!(
        w.problems(),
        set(&[format!("data after gzip member: {}", t.key)])
    );
    let bytes = &w.objects[&(t.bucket.clone(), t.key.clone())];
    let mut all = String::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_string(&mut all)
        .unwrap();
    assert_eq!(all.matches("{\"Records\":").count(), 2);
}

#[test]
fn corrupt_log_is_not_gzip() {
    let (w, t) = tampered("corrupt-log");
    assert_eq!(t.expected_status, Status::Modified);
    assert_eq!(w.problems(), set(&[format!("not gzip: {}", t.key)]));
}

#[test]
fn delete_log_leaves_a_listed_log_missing() {
    let (w, t) = tampered("delete-log@eu-west-1:1");
    assert_eq!(
        (t.expected_status, t.region.as_str(), t.hour),
        (Status::Deleted, "eu-west-1", 1)
    );
    assert!(t.key.contains("/eu-west-1/"));
    assert_eq!(w.problems(), set(&[format!("missing log: {}", t.key)]));
}

#[test]
fn insert_log_adds_an_unlisted_log_in_a_covered_hour() {
    let (w, t) = tampered("insert-log");
    assert_eq!(
        (t.expected_status, t.awscli_detects),
        (Status::Unreferenced, false)
    );
    assert_eq!(w.problems(), set(&[format!("unlisted log: {}", t.key)]));
    assert!(t.key.contains("T0330Z_"), "delivered mid-hour: {}", t.key);
    assert!(gunzip(&w.objects[&(t.bucket.clone(), t.key.clone())]).is_ok());
}

#[test]
fn modify_digest_keeps_gzip_and_breaks_signature_and_successor_hash() {
    let (w, t) = tampered("modify-digest");
    assert_eq!(t.expected_status, Status::Modified);
    let successor = w
        .digests()
        .into_iter()
        .find(|d| d.json["previousDigestS3Object"] == t.key.as_str())
        .unwrap();
    let mut expected = vec![
        format!("bad signature: {}", t.key),
        format!(
            "predecessor hash mismatch: {} names {}",
            successor.key, t.key
        ),
    ];
    // The changed hashValue makes the first log it lists look modified too.
    expected.push(format!(
        "log hash mismatch: {}",
        logs_listed_by(&w, &t.key)[0]
    ));
    assert_eq!(w.problems(), set(&expected));
}

#[test]
fn delete_digest_is_named_by_its_successor_and_breaks_the_chain() {
    let (w, t) = tampered("delete-digest");
    assert_eq!(t.expected_status, Status::Deleted);
    let breaks = &w.manifest.chain_breaks;
    assert_eq!((breaks.len(), breaks[0].missing_digests), (1, 1));
    let mut expected = vec![format!(
        "missing predecessor: {} names {}",
        breaks[0].before_key, t.key
    )];
    expected.extend(
        logs_listed_by(&w, &t.key)
            .iter()
            .map(|k| format!("unlisted log: {k}")),
    );
    assert_eq!(w.problems(), set(&expected));
    assert!(
        !w.metadata.contains_key(&(t.bucket.clone(), t.key.clone())),
        "sidecar gone too"
    );
}

#[test]
fn delete_two_digests_records_a_break_of_two() {
    let (w, t) = tampered("delete-digests-2");
    let b = &w.manifest.chain_breaks[0];
    assert_eq!(b.missing_digests, 2);
    assert_eq!(w.digests().len(), 12 - 2);
    assert!(w.problems().contains(&format!(
        "missing predecessor: {} names {}",
        b.before_key, t.key
    )));
    assert_eq!(
        t.hour + 1,
        w.manifest
            .files
            .iter()
            .filter(|f| f.key == b.before_key)
            .map(|f| f.hour)
            .next()
            .unwrap()
            - 1
    );
}

#[test]
fn move_digest_puts_an_intact_digest_at_another_key() {
    let (w, t) = tampered("move-digest");
    assert_eq!(t.expected_status, Status::Moved);
    let moved = w.digests().into_iter().find(|d| d.key == t.key).unwrap();
    let original = str_of(&moved.json["digestS3Object"]);
    assert_ne!(original, t.key);
    let successor = w
        .digests()
        .into_iter()
        .find(|d| d.json["previousDigestS3Object"] == original.as_str())
        .unwrap();
    assert_eq!(
        w.problems(),
        set(&[
            format!("moved: {} records {original}", t.key),
            format!("missing predecessor: {} names {original}", successor.key),
        ])
    );
}

#[test]
fn unknown_key_signs_a_digest_that_chains_normally() {
    let (w, t) = tampered("unknown-key");
    assert_eq!(t.expected_status, Status::Unverifiable);
    assert_eq!(w.problems(), set(&[format!("unknown key: {}", t.key)]));
    let rogue = TestKeys::embedded().unwrap().rogue;
    let d = w.digests().into_iter().find(|d| d.key == t.key).unwrap();
    assert_eq!(d.json["digestPublicKeyFingerprint"], rogue.fingerprint());
    assert!(!w.keys.contains_key(rogue.fingerprint()));
}

#[test]
fn bad_signature_replaces_the_newest_signature_with_a_wrong_one() {
    let (w, t) = tampered("bad-signature");
    assert_eq!((t.expected_status, t.hour), (Status::Modified, 5));
    assert_eq!(w.problems(), set(&[format!("bad signature: {}", t.key)]));
    assert_eq!(w.signature(&t.bucket, &t.key).unwrap().len(), 512);
}

#[test]
fn no_signature_removes_the_newest_sidecar() {
    let (w, t) = tampered("no-signature");
    assert_eq!((t.expected_status, t.hour), (Status::Unverifiable, 5));
    assert_eq!(w.problems(), set(&[format!("no signature: {}", t.key)]));
}

#[test]
fn several_tamperings_land_on_separate_evidence() {
    let mut spec = with_tamper("modify-log");
    spec.hours = 8;
    spec.tampers = [
        "modify-log",
        "delete-log",
        "delete-digest",
        "modify-digest",
        "no-signature",
    ]
    .iter()
    .map(|t| t.parse().unwrap())
    .collect();
    let w = write(&spec);
    let statuses: Vec<Status> = w
        .manifest
        .tampered
        .iter()
        .map(|t| t.expected_status)
        .collect();
    use Status::*;
    assert_eq!(
        statuses,
        vec![Modified, Deleted, Deleted, Modified, Unverifiable]
    );
    let keys: BTreeSet<&str> = w.manifest.tampered.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys.len(), 5);
}

#[test]
fn command_line_writes_trail_keys_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let keys = dir.path().join("keys");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_trailcheck"))
        .args([
            "simulate",
            out.to_str().unwrap(),
            "--hours",
            "3",
            "--logs-per-hour",
            "2",
            "--regions",
            "eu-west-1",
            "--rotate-at-hour",
            "1",
            "--tamper",
            "append-log@eu-west-1:1",
            "--tamper",
            "unknown-key",
            "--keys-out",
            keys.to_str().unwrap(),
            "--manifest",
            "--seed",
            "9",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("simulation.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["trail_arns"][0],
        "arn:aws:cloudtrail:eu-west-1:111122223333:trail/management-events"
    );
    assert_eq!(manifest["tampered"][0]["kind"], "append-log");
    assert_eq!(manifest["tampered"][0]["expected_status"], "modified");
    assert_eq!(manifest["tampered"][0]["awscli_detects"], false);
    assert_eq!(published_keys(&keys.join("public-keys.json")).len(), 2);
}

#[test]
fn refuses_a_folder_with_files_and_a_mirror_of_two_buckets() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("old.txt"), "x").unwrap();
    assert!(matches!(
        trailcheck_sim::simulate(&small_spec(), dir.path()),
        Err(SimError::OutNotEmpty { .. })
    ));
    let mut spec = small_spec();
    spec.bucket_switch = Some(BucketSwitch {
        at_hour: 2,
        bucket: "other-bucket".to_owned(),
    });
    let err = trailcheck_sim::simulate(&spec, &dir.path().join("new")).unwrap_err();
    assert!(err.to_string().contains("per-bucket"), "{err}");
}
