//! Fuzz target: see `trailcheck_fuzz::digest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailcheck_fuzz::digest(data));
