//! Every input under `tests/fuzz_regressions/TARGET/` replayed through the harness of the
//! fuzz target TARGET (`fuzz/src/lib.rs`, included here as it is), so an input that once
//! crashed trailcheck, or that probes a bound, is checked by every `cargo test`.
//!
//! To add one: copy the crash file from `fuzz/artifacts/TARGET/` into the matching folder
//! under a name that says what it is.

#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::fs;
use std::path::PathBuf;

/// Replays each file of one target's folder; returns how many there were.
fn replay(target: &str, harness: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .collect();
    files.sort();
    for file in &files {
        let bytes = fs::read(file).expect("a regression input");
        eprintln!("replaying {}", file.display());
        harness(&bytes);
    }
    files.len()
}

#[test]
fn digest_inputs_replay_without_a_panic_or_a_forged_intact() {
    assert!(replay("digest", harness::digest) > 0);
}

#[test]
fn gzip_inputs_replay_with_stream_and_bounded_inflate_agreeing() {
    assert!(replay("gzip", harness::gzip) > 0);
}

#[test]
fn key_file_inputs_replay_with_only_2048_to_8192_bit_keys_accepted() {
    assert!(replay("keys", harness::keys) > 0);
}

#[test]
fn object_key_inputs_replay_canonical_and_inside_the_root() {
    assert!(replay("objectkey", harness::objectkey) > 0);
}
