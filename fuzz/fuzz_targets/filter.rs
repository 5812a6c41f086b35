//! libFuzzer entry for the filter parser; the checks live in `src/targets.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amicon_fuzz::targets::filter(data));
