//! `trailcheck archive`: a sealed local copy of a trail in S3, for an auditor who may read
//! the bucket but must hand over evidence, or who may not copy buckets at all.
//!
//! It copies what `validate` would read for the range (the digests in range, their
//! predecessors in other buckets, every log they list, and the unlisted logs beside them)
//! into `OUT/BUCKET/KEY`, writes each digest's signature sidecar (`KEY.meta.json`, the shape
//! `aws s3api head-object` prints) and the region's public keys into `OUT/keys/`. Files are
//! written under a temporary name and renamed when complete, a digest's sidecar before the
//! digest, so an interrupted run leaves nothing half-written under a real name; run again,
//! it skips every object already there and identical.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use md5::{Digest as _, Md5};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cli::ArchiveArgs;
use crate::config::s3_plan;
use crate::exit::Exit;
use trailcheck_aws::cloudtrail::{self, CloudTrailKeys};
use trailcheck_aws::s3::{Listed, S3Location, S3Store};
use trailcheck_aws::session::AwsSession;
use trailcheck_core::engine::load::{self, LoadedDigest};
use trailcheck_core::engine::{SPILL_OVER, Settings, inventory, key_ranges};
use trailcheck_core::error::{ConfigError, RunError};
use trailcheck_core::objectkey::{self, ObjectName};
use trailcheck_core::store::local::{SIDECAR_SUFFIX, safe_component, safe_relative};
use trailcheck_core::store::{FetchError, Metadata, Store, sidecar};

/// The record of completed copies, in the output folder: what each copy's ETag was, so a
/// resumed run can tell an identical object without reading it, even when the ETag is not
/// an MD5 (objects encrypted with SSE-KMS).
pub const JOURNAL: &str = ".trailcheck-archive.jsonl";
/// The folder of the output that holds the public keys and their provenance records. It lies
/// inside the evidence, so `validate` never takes it unless told to (`--keys`).
pub const KEYS_DIR: &str = "keys";
const PARTIAL: &str = ".partial";
/// With `--versions`: what S3 kept besides the current objects when the copy was made.
pub const VERSIONS: &str = "versions.json";

/// What one object's copy came to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Copied {
    New,
    AlreadyThere,
    NotFound,
    Failed(String),
}

/// A copied digest, read back from the local copy.
struct CopiedDigest {
    loaded: LoadedDigest,
}

/// Runs `trailcheck archive`; the exit code is 3 when some object could not be copied.
pub fn run(args: &ArchiveArgs) -> Result<Exit, RunError> {
    let (location, settings) = plan(args, Utc::now())?;
    let session = Arc::new(AwsSession::open(&args.aws.options())?);
    let store = S3Store::new(session.clone(), location);
    fs::create_dir_all(&args.out).map_err(|e| out_error(&args.out, &e))?;
    let pool = trailcheck_core::engine::worker_pool(settings.jobs)?;
    let archiver = Archiver::open(&store, &args.out)?;
    let (digests, tally) = pool.install(|| archiver.copy_all(&settings))?;
    let keys = save_keys(&session, &digests, &args.out)?;
    if args.versions {
        let listed = pool.install(|| crate::versions::list(&store, &tally.objects));
        let record = versions_record(&store, &listed, &tally.objects);
        write_atomically(&args.out.join(VERSIONS), record.to_string().as_bytes())
            .map_err(|e| out_error(&args.out, &e))?;
    }
    Ok(tally.report(keys, &args.out))
}

fn plan(args: &ArchiveArgs, now: DateTime<Utc>) -> Result<(S3Location, Settings), ConfigError> {
    s3_plan(
        &args.source,
        "archive copies from S3",
        &args.range,
        args.jobs,
        now,
    )
}

/// `versions.json`: every version and delete marker of each object asked for that has more
/// than its current version, each object's Object Lock, and the buckets' protection, in the
/// shapes the JSON result gives them.
fn versions_record(
    store: &S3Store,
    listed: &crate::versions::Listed,
    objects: &[(String, String)],
) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = crate::versions::histories(store, listed, objects)
        .iter()
        .map(|((bucket, key), history)| {
            let mut entry = trailcheck_report::history_json(history);
            if let Some(fields) = entry.as_object_mut() {
                fields.insert("bucket".to_owned(), bucket.as_str().into());
                fields.insert("key".to_owned(), key.as_str().into());
            }
            entry
        })
        .collect();
    let buckets: Vec<serde_json::Value> = (listed.buckets.iter())
        .map(trailcheck_report::bucket_json)
        .collect();
    serde_json::json!({
        "version": 1,
        "source": store.describe(),
        "recorded_at": trailcheck_core::time::display(Utc::now()),
        "buckets": buckets,
        "objects": entries,
    })
}

fn out_error(path: &Path, e: &io::Error) -> ConfigError {
    ConfigError::SourceUnreadable {
        path: path.to_owned(),
        why: format!("cannot write the archive: {e}"),
    }
}

/// Counts and failures, for the summary.
#[derive(Default)]
struct Tally {
    /// Every object asked for, copied or not.
    objects: Vec<(String, String)>,
    copied: usize,
    already: usize,
    not_found: Vec<(String, String)>,
    failed: Vec<(String, String, String)>,
}

impl Tally {
    fn add(&mut self, bucket: &str, key: &str, copied: Copied) {
        self.objects.push((bucket.to_owned(), key.to_owned()));
        match copied {
            Copied::New => self.copied += 1,
            Copied::AlreadyThere => self.already += 1,
            Copied::NotFound => self.not_found.push((bucket.to_owned(), key.to_owned())),
            Copied::Failed(why) => self.failed.push((bucket.to_owned(), key.to_owned(), why)),
        }
    }

    fn report(&self, keys: Vec<PathBuf>, out: &Path) -> Exit {
        let escape = |s: &str| s.escape_debug().to_string();
        let mut err = io::stderr().lock();
        for (bucket, key) in &self.not_found {
            let _ = writeln!(err, "not found\ts3://{}/{}", escape(bucket), escape(key));
        }
        for (bucket, key, why) in &self.failed {
            let _ = writeln!(
                err,
                "not copied\ts3://{}/{}\t{}",
                escape(bucket),
                escape(key),
                escape(why)
            );
        }
        println!(
            "{}: {} objects copied, {} already there and identical, {} not found, {} not \
             copied; {} public key files",
            out.display(),
            self.copied,
            self.already,
            self.not_found.len(),
            self.failed.len(),
            keys.len()
        );
        if !keys.is_empty() {
            println!(
                "The public keys in {} are evidence, not a trust root: `validate` does not take \
                 them unless named with --keys. Anchor them with `trailcheck keys verify {}`, or \
                 validate with keys fetched apart from this copy.",
                out.join(KEYS_DIR).display(),
                out.join(KEYS_DIR).display()
            );
        }
        if self.failed.is_empty() {
            Exit::Intact
        } else {
            Exit::Incomplete
        }
    }
}

/// Copies objects from one store into one folder.
struct Archiver<'a> {
    store: &'a S3Store,
    out: PathBuf,
    journal: Journal,
}

impl<'a> Archiver<'a> {
    fn open(store: &'a S3Store, out: &Path) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            out: out.to_owned(),
            journal: Journal::open(&out.join(JOURNAL)).map_err(|e| out_error(out, &e))?,
        })
    }

    /// Digests in range, their predecessors wherever they are, then every log; returns the
    /// digests copied (for their keys) and the tally.
    fn copy_all(&self, settings: &Settings) -> Result<(Vec<LoadedDigest>, Tally), RunError> {
        let inventory = inventory::take_inventory(self.store, settings)?;
        let start = settings
            .start
            .or(inventory.oldest_digest)
            .unwrap_or(settings.end);
        let last = settings.end + SPILL_OVER;
        let mut tally = Tally::default();
        let mut wanted: Vec<(String, String)> = inventory
            .digests
            .iter()
            .filter(|d| start <= d.name.end && d.name.end <= last)
            .map(|d| (d.bucket.clone(), d.key.clone()))
            .collect();
        let mut seen: BTreeSet<(String, String)> = wanted.iter().cloned().collect();
        let mut digests = Vec::new();
        while !wanted.is_empty() {
            let results: Vec<(String, String, Copied, Option<CopiedDigest>)> = wanted
                .par_iter()
                .map(|(bucket, key)| {
                    let (copied, digest) = self.copy_digest(bucket, key);
                    (bucket.clone(), key.clone(), copied, digest)
                })
                .collect();
            wanted = Vec::new();
            for (bucket, key, copied, digest) in results {
                tally.add(&bucket, &key, copied);
                let Some(digest) = digest else { continue };
                let content = digest.loaded.content();
                let previous = content
                    .filter(|c| c.digest.start >= start)
                    .and_then(|c| c.digest.previous.as_ref());
                if let Some(p) = previous
                    && seen.insert((p.bucket.clone(), p.key.clone()))
                {
                    wanted.push((p.bucket.clone(), p.key.clone()));
                }
                digests.push(digest.loaded);
            }
        }
        let logs = self.logs_to_copy(&digests, &inventory, start, settings.end);
        let results: Vec<(&(String, String), Copied)> = logs
            .par_iter()
            .map(|log| (log, self.copy(&log.0, &log.1).0))
            .collect();
        for ((bucket, key), copied) in results {
            tally.add(bucket, key, copied);
        }
        Ok((digests, tally))
    }

    /// Every log the digests list, and the unlisted logs of every kind delivered in range.
    fn logs_to_copy(
        &self,
        digests: &[LoadedDigest],
        inventory: &inventory::Inventory,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> BTreeSet<(String, String)> {
        let mut logs: BTreeSet<(String, String)> = digests
            .iter()
            .filter_map(LoadedDigest::content)
            .flat_map(|c| c.digest.log_files.iter())
            .map(|log| (log.bucket.clone(), log.key.clone()))
            .collect();
        for ((bucket, _), _, keys) in inventory.all_logs() {
            for (key, delivered) in keys {
                if start <= *delivered && *delivered <= end {
                    logs.insert((bucket.clone(), key.clone()));
                }
            }
        }
        logs
    }

    /// Copies a digest with its sidecar and reads the copy back.
    fn copy_digest(&self, bucket: &str, key: &str) -> (Copied, Option<CopiedDigest>) {
        let (copied, path) = self.copy(bucket, key);
        let Some(path) = path.filter(|_| matches!(copied, Copied::New | Copied::AlreadyThere))
        else {
            return (copied, None);
        };
        let content = File::open(&path)
            .map_err(|e| trailcheck_core::verdict::Cause::Unreadable(e.to_string()))
            .and_then(|f| load::parse(BufReader::new(f)));
        let metadata = read_sidecar_metadata(&path);
        let loaded = LoadedDigest::new(bucket, key, content, metadata);
        (copied, Some(CopiedDigest { loaded }))
    }

    /// Copies one object unless an identical copy is there; also returns its local path.
    /// With no local copy yet, the GET is the only request.
    fn copy(&self, bucket: &str, key: &str) -> (Copied, Option<PathBuf>) {
        let Some(path) = self.local_path(bucket, key) else {
            let why = format!("'{}' cannot be a local path; refused", key.escape_debug());
            return (Copied::Failed(why), None);
        };
        let digest = matches!(objectkey::parse(key), Some(ObjectName::Digest(_)));
        if path.exists() {
            match self.store.head(bucket, key) {
                Ok(remote) if self.identical(bucket, &path, &remote, digest) => {
                    return (Copied::AlreadyThere, Some(path));
                }
                Ok(_) => {}
                Err(FetchError::NotFound) => return (Copied::NotFound, None),
                Err(other) => return (Copied::Failed(other.to_string()), None),
            }
        }
        let copied = match self.download(bucket, key, &path, digest) {
            Ok(()) => Copied::New,
            Err(FetchError::NotFound) => Copied::NotFound,
            // Archived or encrypted beyond reach: said as the store says it, so the
            // operator sees "restore it first" or the KMS key to ask for.
            Err(other) => Copied::Failed(other.to_string()),
        };
        (copied, Some(path))
    }

    fn local_path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        Some(
            self.out
                .join(safe_component(bucket)?)
                .join(safe_relative(key)?),
        )
    }

    /// The same size, and the same bytes by MD5 when the ETag is one, else by the journal.
    fn identical(&self, bucket: &str, path: &Path, remote: &Listed, digest: bool) -> bool {
        let size_matches = fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == remote.size);
        if !size_matches || (digest && !sidecar_path(path).is_file()) {
            return false;
        }
        let Some(etag) = remote.etag.as_deref().map(|e| e.trim_matches('"')) else {
            return false;
        };
        if etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            return md5_file(path).is_ok_and(|md5| md5.eq_ignore_ascii_case(etag));
        }
        self.journal.has(bucket, &remote.key, etag, remote.size)
    }

    /// GETs an object into `path.partial`, writes a digest's sidecar, then renames.
    fn download(
        &self,
        bucket: &str,
        key: &str,
        path: &Path,
        digest: bool,
    ) -> Result<(), FetchError> {
        let local =
            |e: io::Error| FetchError::Inaccessible(format!("writing {}: {e}", path.display()));
        let (mut object, listed) = self.store.fetch(bucket, key)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(local)?;
        }
        let partial = with_suffix(path, PARTIAL);
        let mut file = File::create(&partial).map_err(local)?;
        let written = io::copy(&mut object.body, &mut file)
            .map_err(|e| FetchError::Inaccessible(format!("reading the object: {e}")))?;
        file.sync_all().map_err(local)?;
        if listed.size != 0 && written != listed.size {
            return Err(FetchError::Inaccessible(format!(
                "the object ended after {written} of {} bytes",
                listed.size
            )));
        }
        if digest {
            write_atomically(&sidecar_path(path), &sidecar::to_json(&object.metadata))
                .map_err(local)?;
        }
        fs::rename(&partial, path).map_err(local)?;
        if let Some(etag) = listed.etag.as_deref() {
            self.journal
                .record(bucket, key, etag.trim_matches('"'), written)
                .map_err(local)?;
        }
        Ok(())
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn sidecar_path(path: &Path) -> PathBuf {
    with_suffix(path, SIDECAR_SUFFIX)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let partial = with_suffix(path, PARTIAL);
    fs::write(&partial, bytes)?;
    fs::rename(&partial, path)
}

fn md5_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..n]);
    }
}

/// The metadata of a local copy's sidecar, read as a folder store reads it (none when the
/// digest has no sidecar).
fn read_sidecar_metadata(path: &Path) -> Metadata {
    match File::open(sidecar_path(path)) {
        Ok(file) => sidecar::read(file).unwrap_or_else(Metadata::unreadable),
        Err(_) => Metadata::default(),
    }
}

/// One journal line: a completed copy.
#[derive(Serialize, Deserialize)]
struct Entry {
    bucket: String,
    key: String,
    etag: String,
    size: u64,
}

/// Completed copies, appended as JSON lines; a torn last line is ignored.
struct Journal {
    file: Mutex<File>,
    done: HashMap<(String, String), (String, u64)>,
}

impl Journal {
    fn open(path: &Path) -> io::Result<Self> {
        let mut done = HashMap::new();
        if let Ok(text) = fs::read_to_string(path) {
            for entry in text
                .lines()
                .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            {
                done.insert((entry.bucket, entry.key), (entry.etag, entry.size));
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        // A torn line from an interrupted run would spoil the next line appended to it.
        let mut file = file;
        if fs::metadata(path)?.len() > 0 && !fs::read(path)?.ends_with(b"\n") {
            file.write_all(b"\n")?;
        }
        Ok(Self {
            file: Mutex::new(file),
            done,
        })
    }

    fn has(&self, bucket: &str, key: &str, etag: &str, size: u64) -> bool {
        self.done
            .get(&(bucket.to_owned(), key.to_owned()))
            .is_some_and(|(e, s)| e == etag && *s == size)
    }

    fn record(&self, bucket: &str, key: &str, etag: &str, size: u64) -> io::Result<()> {
        let entry = Entry {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            etag: etag.to_owned(),
            size,
        };
        let mut line = serde_json::to_vec(&entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line)
    }
}

/// Fetches the public keys of the copied digests' regions and times into `out/keys/`.
fn save_keys(
    session: &Arc<AwsSession>,
    digests: &[LoadedDigest],
    out: &Path,
) -> Result<Vec<PathBuf>, ConfigError> {
    let source = CloudTrailKeys::new(session.clone());
    let caller = cloudtrail::caller_identity(session);
    let dir = out.join(KEYS_DIR);
    let mut written = Vec::new();
    for range in key_ranges(digests) {
        let keys = source.fetch(&range.region, range.start, range.end)?;
        trailcheck_core::keys::KeyRing::new().add_fetched(
            &keys,
            &range.region,
            &cloudtrail::origin(&range.region),
        )?;
        let record = cloudtrail::FetchRecord {
            region: &range.region,
            range: (range.start, range.end),
            fetched_at: chrono::Utc::now(),
            caller: &caller,
        };
        let path = cloudtrail::save(&keys, &record, &dir).map_err(|e| out_error(out, &e))?;
        written.push(path);
    }
    Ok(written)
}
