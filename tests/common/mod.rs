//! Shared test helpers: simulate a trail into a fresh folder, validate it, look up verdicts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, Duration, Utc};
use tempfile::TempDir;
use trailcheck_core::engine::{self, Settings};
use trailcheck_core::keys::KeyRing;
use trailcheck_core::verdict::{Cause, FileKind, FileVerdict, Report, Status};
use trailcheck_sim::{FileEntry, Manifest, Spec, TamperKind, TamperSpec, TestKeys};

/// A simulated trail on disk with its keys.
pub struct Trail {
    pub dir: TempDir,
    pub manifest: Manifest,
}

impl Trail {
    pub fn archive(&self) -> PathBuf {
        self.dir.path().join("archive")
    }

    pub fn keys(&self) -> PathBuf {
        self.dir.path().join("keys")
    }

    /// The end time a test validates up to: the newest digest's end.
    pub fn end(&self) -> DateTime<Utc> {
        self.manifest.newest_digest_end.unwrap_or(self.manifest.end)
    }

    /// The path of an object of this trail.
    pub fn path(&self, bucket: &str, key: &str) -> PathBuf {
        match self.manifest.layout {
            trailcheck_sim::Layout::Mirror => self.archive().join(key),
            trailcheck_sim::Layout::PerBucket => self.archive().join(bucket).join(key),
        }
    }

    /// The digests written, oldest first.
    pub fn digests(&self) -> Vec<&FileEntry> {
        let mut digests: Vec<&FileEntry> = (self.manifest.files.iter())
            .filter(|f| f.kind == FileKind::Digest)
            .collect();
        digests.sort_by_key(|f| f.time);
        digests
    }

    /// The newest digest of the regular chains (a backfill digest is never the chain's head).
    pub fn newest_digest(&self) -> &FileEntry {
        self.regular_digests().pop().expect("a digest")
    }

    /// The oldest digest of the regular chains.
    pub fn oldest_digest(&self) -> &FileEntry {
        self.regular_digests().first().copied().expect("a digest")
    }

    fn regular_digests(&self) -> Vec<&FileEntry> {
        let mut digests = self.digests();
        digests.retain(|f| !f.backfill);
        digests
    }

    /// Runs the `validate` command up to the newest digest, with `extra` arguments.
    pub fn run_validate(&self, extra: &[&str]) -> Output {
        self.run_validate_at(&self.archive(), self.end(), extra)
    }

    /// Runs the `validate` command on `archive` (this trail's, or a copy) up to `end`.
    pub fn run_validate_at(&self, archive: &Path, end: DateTime<Utc>, extra: &[&str]) -> Output {
        let keys = self.keys();
        let end = trailcheck_core::time::display(end);
        let mut args = vec![
            "validate",
            archive.to_str().expect("utf-8 path"),
            "--keys",
            keys.to_str().expect("utf-8 path"),
            "--end-time",
            &end,
        ];
        args.extend_from_slice(extra);
        trailcheck(self.dir.path(), &args)
    }

    /// Validates with the engine directly, up to the newest digest.
    pub fn validate(&self) -> Report {
        self.validate_with(|_| {})
    }

    pub fn validate_with(&self, adjust: impl FnOnce(&mut Settings)) -> Report {
        let keys = KeyRing::load_dir(&self.keys()).expect("keys load");
        let store =
            trailcheck_core::engine::open_local(&self.archive(), None).expect("archive opens");
        let mut settings = Settings {
            start: None,
            end: self.end(),
            trail: None,
            jobs: 2,
            shard: None,
            checkpoint: None,
            window: None,
        };
        adjust(&mut settings);
        engine::validate(&store, &keys, &settings).expect("validation runs")
    }
}

/// A small single-region trail: 4 hours, 3 logs an hour.
pub fn spec() -> Spec {
    let keys = TestKeys::embedded().expect("test keys");
    let mut spec = Spec::new(keys.a);
    spec.hours = 4;
    spec.logs_per_hour = 3;
    spec.regions = vec!["us-east-1".to_owned()];
    spec
}

pub fn tampered(kind: TamperKind) -> Spec {
    let mut spec = spec();
    spec.tampers.push(TamperSpec {
        kind,
        region: None,
        hour: None,
    });
    if kind == TamperKind::UnknownKey {
        spec.rogue_key = Some(TestKeys::embedded().expect("test keys").rogue);
    }
    spec
}

pub fn simulate(spec: &Spec) -> Trail {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = trailcheck_sim::simulate(spec, &dir.path().join("archive")).expect("simulate");
    trailcheck_sim::write_public_keys(&manifest.public_keys, &dir.path().join("keys"))
        .expect("public keys");
    Trail { dir, manifest }
}

pub fn find<'a>(report: &'a Report, key: &str) -> &'a FileVerdict {
    report
        .files
        .iter()
        .find(|f| f.key == key)
        .unwrap_or_else(|| panic!("no verdict for {key}"))
}

/// Every file not in `expected` is intact; those in it have the given status and cause.
pub fn assert_only(report: &Report, expected: &[(&str, Status, Cause)]) {
    for file in &report.files {
        match expected.iter().find(|(k, _, _)| *k == file.key) {
            Some((_, status, cause)) => {
                assert_eq!((&file.status, &file.cause), (status, cause), "{}", file.key)
            }
            None => assert_eq!(file.status, Status::Intact, "{}: {}", file.key, file.cause),
        }
    }
    for (key, _, _) in expected {
        find(report, key);
    }
}

/// The logs a digest lists, from the manifest.
pub fn logs_listed_by<'a>(manifest: &'a Manifest, digest_key: &str) -> Vec<&'a str> {
    manifest
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Log && f.listed_by.as_deref() == Some(digest_key))
        .map(|f| f.key.as_str())
        .collect()
}

pub fn count(report: &Report, kind: FileKind, status: Status) -> usize {
    report.count(kind, status)
}

/// Runs the trailcheck binary in `dir`.
pub fn trailcheck(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailcheck"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("trailcheck runs")
}

/// (kind, bucket, key, status, cause) of one file of a JSON result.
pub type JsonVerdict = (String, String, String, String, String);

/// The verdict of every file of a `--format json` result.
pub fn json_verdicts(report: &serde_json::Value) -> std::collections::BTreeSet<JsonVerdict> {
    (report["files"].as_array().into_iter().flatten())
        .map(|f| {
            let field = |name: &str| f[name].as_str().unwrap_or_default().to_owned();
            (
                field("kind"),
                field("bucket"),
                field("key"),
                field("status"),
                field("cause"),
            )
        })
        .collect()
}

/// `bytes` as one gzip member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip to memory");
    encoder.finish().expect("gzip to memory")
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

/// Runs the binary in `dir` as `access_key`, against loopback servers only: S3 at `s3`, and
/// CloudTrail and STS at the key stub when there is one. Every AWS setting that could send a
/// request elsewhere is removed first.
pub fn run_on_loopback(
    s3: &str,
    keystub: Option<&str>,
    dir: &Path,
    args: &[&str],
    access_key: &str,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trailcheck"));
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    for name in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_CLOUDTRAIL",
        "AWS_ENDPOINT_URL_STS",
    ] {
        command.env_remove(name);
    }
    command
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_S3", s3);
    if let Some(stub) = keystub {
        command.env("AWS_ENDPOINT_URL_CLOUDTRAIL", stub);
        // The stub does not answer GetCallerIdentity: provenance then says why it has no
        // caller, rather than the test reaching out of the machine.
        command.env("AWS_ENDPOINT_URL_STS", stub);
    }
    command.output().expect("trailcheck runs")
}
