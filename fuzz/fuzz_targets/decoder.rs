//! libFuzzer entry for the AMI decoder; the checks live in `src/targets.rs`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| amicon_fuzz::targets::decoder(data));
