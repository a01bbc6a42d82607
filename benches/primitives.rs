//! Measures the two choices the hot path depends on: ring's SHA-256 against sha2's, and
//! flate2's inflate backend (the default zlib-rs; `--no-default-features --features miniz`
//! for miniz_oxide). Prints MB/s for each; no assertions: numbers for the README.

use std::hint::black_box;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::Digest as _;

const SIZE: usize = 64 * 1024 * 1024;
const ROUNDS: usize = 5;

/// Realistic-ish log content: JSON records that compress about 10:1, like CloudTrail logs.
fn sample() -> Vec<u8> {
    let mut out = Vec::with_capacity(SIZE);
    let mut i: u64 = 0;
    while out.len() < SIZE {
        i = i
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let record = format!(
            r#"{{"eventVersion":"1.08","eventTime":"2026-11-01T00:{:02}:{:02}Z","eventSource":"ec2.amazonaws.com","eventName":"Describe{}","requestID":"{:016x}","sourceIPAddress":"10.{}.{}.{}"}},"#,
            i % 60,
            (i >> 8) % 60,
            ["Instances", "Volumes", "Subnets"][(i % 3) as usize],
            i,
            (i >> 16) % 256,
            (i >> 24) % 256,
            (i >> 32) % 256
        );
        out.extend_from_slice(record.as_bytes());
    }
    out.truncate(SIZE);
    out
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn mbps(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let data = sample();
    let ring_t = best(|| {
        black_box(ring::digest::digest(&ring::digest::SHA256, &data));
    });
    let sha2_t = best(|| {
        black_box(sha2::Sha256::digest(&data));
    });
    println!("sha256 ring   {:8.0} MB/s", mbps(SIZE, ring_t));
    println!("sha256 sha2   {:8.0} MB/s", mbps(SIZE, sha2_t));
    println!(
        "ring/sha2 speed ratio: {:.2}",
        sha2_t.as_secs_f64() / ring_t.as_secs_f64()
    );

    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&data).unwrap();
    let gz = encoder.finish().unwrap();
    let mut buffer = vec![0u8; 64 * 1024];
    let inflate_t = best(|| {
        let mut decoder = GzDecoder::new(&gz[..]);
        while decoder.read(&mut buffer).unwrap() > 0 {}
    });
    let backend = if cfg!(feature = "zlib-rs") {
        "zlib-rs"
    } else {
        "miniz_oxide"
    };
    println!(
        "inflate {backend:12} {:8.0} MB/s of output (compressed {:.1}x)",
        mbps(SIZE, inflate_t),
        SIZE as f64 / gz.len() as f64
    );
}
