#!/usr/bin/env bash
# Benchmark smoke step for CI: every bench builds and runs briefly, so none rots.
# The figures of a smoke run mean nothing; run the benches by hand to measure (README).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AMICON_BENCH_SMOKE=1
cargo bench --bench e2e -- --smoke
cargo bench --bench codec --bench filter --bench format
cargo bench --bench tui_log -- --test
cargo bench --bench calls -- --test
cargo bench --bench state -- --test
cargo bench --bench tui_update -- --test
cargo bench --bench startup -- --smoke
DEMO_FLOOD_SECONDS=0.5 cargo bench --bench demo_flood
cargo bench --bench memory -- --smoke
cargo bench --bench tui_tables -- --test
