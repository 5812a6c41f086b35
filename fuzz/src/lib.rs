//! The fuzz targets as plain functions, so libFuzzer (`fuzz_targets/`) and the stable
//! smoke test (`tests/faults_fuzz_smoke.rs`, which includes `targets.rs` by path) run the
//! very same checks.

pub mod targets;
