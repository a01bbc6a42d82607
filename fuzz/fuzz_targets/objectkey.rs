//! Fuzz target: see `trailcheck_fuzz::objectkey`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| trailcheck_fuzz::objectkey(data));
