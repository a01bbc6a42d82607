//! Throughput of `validate` against the plain work it cannot avoid.
//!
//! Generates (once, cached under target/bench-data) a 30-day, one-region archive with about
//! 20 logs an hour of realistic events, warms the page cache, then times:
//! - the plain pass: every file read, inflated and SHA-256 hashed on all cores, nothing else;
//! - trailcheck: the whole validation of the same archive.
//!
//! Prints files/s, MB/s of uncompressed log data and the ratio. The target is a ratio of at
//! least 0.85. `bench/run` also measures peak memory of the release binary.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::read::GzDecoder;
use rayon::prelude::*;
use trailcheck_core::engine::{self, Settings};
use trailcheck_core::hash::Hasher;
use trailcheck_core::keys::KeyRing;
use trailcheck_core::verdict::Status;
use trailcheck_sim::{Spec, TestKeys};

const ROUNDS: usize = 5;

fn data_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    target.join("bench-data")
}

/// Writes the archive unless a previous run left it complete.
fn archive(days: u32, logs_per_hour: u32) -> (PathBuf, PathBuf, chrono::DateTime<chrono::Utc>) {
    let dir = data_dir().join(format!("archive-{days}d-{logs_per_hour}lph"));
    let (archive, keys, done) = (dir.join("archive"), dir.join("keys"), dir.join("done"));
    let mut spec = Spec::new(TestKeys::embedded().expect("test keys").a);
    spec.hours = days * 24;
    spec.logs_per_hour = logs_per_hour;
    spec.regions = vec!["us-east-1".to_owned()];
    if !done.exists() {
        let _ = fs::remove_dir_all(&dir);
        let t = Instant::now();
        let manifest = trailcheck_sim::simulate(&spec, &archive).expect("simulate");
        trailcheck_sim::write_public_keys(&manifest.public_keys, &keys).expect("keys");
        fs::write(&done, "").expect("marker");
        eprintln!(
            "generated {} files in {:.1?}",
            manifest.files.len(),
            t.elapsed()
        );
    }
    (archive, keys, spec.end() + chrono::Duration::minutes(10))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.to_string_lossy().ends_with(".json.gz") {
            out.push(path);
        }
    }
}

/// Read, inflate and hash every file, in parallel: the floor any validator stands on.
fn plain_pass(paths: &[PathBuf]) -> u64 {
    paths
        .par_iter()
        .map(|path| {
            let mut decoder = GzDecoder::new(fs::File::open(path).expect("open"));
            let mut hasher = Hasher::new();
            let mut buffer = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = decoder.read(&mut buffer).expect("inflate");
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            std::hint::black_box(hasher.finish());
            total
        })
        .sum()
}

/// The fastest of [`ROUNDS`] runs of each of `a` and `b`, taken in turns: on a shared machine
/// a busy spell then slows both alike rather than whichever ran during it.
fn best_of_alternating<A, B>(
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> (Duration, Duration, B) {
    let (mut fastest_a, mut fastest_b, mut last_b) = (Duration::MAX, Duration::MAX, None);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        std::hint::black_box(a());
        fastest_a = fastest_a.min(t.elapsed());
        let t = Instant::now();
        let r = b();
        fastest_b = fastest_b.min(t.elapsed());
        last_b = Some(r);
    }
    (fastest_a, fastest_b, last_b.expect("at least one round"))
}

fn main() {
    let days = std::env::var("TRAILCHECK_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(30);
    let (archive, keys_dir, end) = archive(days, 20);
    let mut paths = Vec::new();
    files(&archive, &mut paths);
    let bytes = plain_pass(&paths); // warms the page cache

    let keys = KeyRing::load_dir(&keys_dir).expect("keys");
    let settings = Settings {
        start: None,
        end,
        trail: None,
        jobs: 0,
        shard: None,
        checkpoint: None,
        window: None,
    };
    let (plain_time, check_time, report) = best_of_alternating(
        || plain_pass(&paths),
        || {
            let store = trailcheck_core::engine::open_local(&archive, None).expect("archive");
            engine::validate(&store, &keys, &settings).expect("validate")
        },
    );
    let not_intact = report
        .files
        .iter()
        .filter(|f| f.status != Status::Intact)
        .count();
    assert_eq!(not_intact, 0, "the benchmark archive must validate clean");
    assert_eq!(report.files.len(), paths.len());

    let mb = bytes as f64 / 1e6;
    let rate = |d: Duration| (paths.len() as f64 / d.as_secs_f64(), mb / d.as_secs_f64());
    let (plain_files, plain_mb) = rate(plain_time);
    let (check_files, check_mb) = rate(check_time);
    println!(
        "archive: {days} days, {} files, {mb:.0} MB uncompressed, {} threads",
        paths.len(),
        rayon::current_num_threads()
    );
    println!("plain pass   {plain_time:>10.2?}  {plain_files:>8.0} files/s  {plain_mb:>7.0} MB/s");
    println!("trailcheck   {check_time:>10.2?}  {check_files:>8.0} files/s  {check_mb:>7.0} MB/s");
    println!(
        "ratio trailcheck/plain: {:.2} (target >= 0.85)",
        plain_time.as_secs_f64() / check_time.as_secs_f64()
    );
}
