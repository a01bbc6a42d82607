//! Fuzz target: see `trailcheck_fuzz::gzip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailcheck_fuzz::gzip(data));
