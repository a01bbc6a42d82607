//! Fuzz target: see `trailcheck_fuzz::keys`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailcheck_fuzz::keys(data));
