#!/usr/bin/env bash
# Fuzz smoke step (issue 7), called from .ci/run.
#
# Always: the fuzz targets (fuzz/src/targets.rs) run on stable over mutated captures from
# tests/fixtures/vectors, seeded and bounded (AMICON_FUZZ_ITERS inputs per target,
# default 3000: well under a minute with a warm build).
#
# By hand, or in CI when FUZZ_SECONDS > 0: libFuzzer runs each target that many seconds
# (needs the nightly toolchain; uses `cargo fuzz` if installed, else the same compiler
# flags by hand). Its first build takes minutes; later runs reuse FUZZ_TARGET_DIR.
#   FUZZ_SECONDS=300 .ci/fuzz-smoke.sh
# A crash is saved under fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run <target> <file>   (or the built binary with the file)
# and add it as a regression test at the bottom of tests/faults_fuzz_smoke.rs.
set -euo pipefail
cd "$(dirname "$0")/.."

iters=${AMICON_FUZZ_ITERS:-3000}
echo "fuzz-smoke: decoder and filter targets over $iters mutated captures each (stable)"
AMICON_FUZZ_ITERS=$iters cargo test --test faults_fuzz_smoke

seconds=${FUZZ_SECONDS:-0}
if [ "$seconds" -le 0 ]; then
  echo "fuzz-smoke: libFuzzer run not asked for (FUZZ_SECONDS=0)"
  exit 0
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz-smoke: no nightly toolchain, libFuzzer run SKIPPED (the stable smoke above ran)"
  exit 0
fi

# Seed corpora from the captures, made fresh each run (never committed).
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/decoder" "$corpus/filter"
n=0
for f in tests/fixtures/vectors/*.txt tests/fixtures/vectors/*.actions tests/fixtures/vectors/synthetic/*.txt; do
  n=$((n + 1))
  # The decoder target's first byte picks read sizes and the size cap.
  { printf "\\$(printf '%03o' $((n % 256)))"; cat "$f"; } >"$corpus/decoder/$(basename "$f")"
done
i=0
for filter in 'Newchannel' 'Queue*' '!VarSet' 'Channel=PJSIP/100-*' 'Key~^abc$' 'Key!=glob*' \
  'Newchannel,Hangup Channel=PJSIP/*' '"free text"' 'Hangup Cause~1[67] !Channel=Local/*'; do
  i=$((i + 1))
  # A filter line, then events to match (the capture minus its banner).
  { printf '%s\n' "$filter"; sed -n '2,60p' tests/fixtures/vectors/originate-local-call-events.txt; } \
    >"$corpus/filter/seed$i"
done

export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
mkdir -p fuzz/artifacts
if cargo fuzz --version >/dev/null 2>&1; then
  for target in decoder filter; do
    echo "fuzz-smoke: cargo fuzz run $target for ${seconds}s"
    (cd fuzz && cargo +nightly fuzz run "$target" "$corpus/$target" -- -max_total_time="$seconds")
  done
else
  # What cargo-fuzz passes: coverage instrumentation for libFuzzer, only on the target
  # (with --target, build scripts and proc macros stay uninstrumented).
  export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
  echo "fuzz-smoke: building the libFuzzer targets with nightly (no cargo-fuzz installed)"
  (cd fuzz && cargo +nightly build --release --bins --target "$triple")
  for target in decoder filter; do
    echo "fuzz-smoke: libFuzzer $target for ${seconds}s"
    mkdir -p "fuzz/artifacts/$target"
    "$CARGO_TARGET_DIR/$triple/release/$target" "$corpus/$target" \
      -max_total_time="$seconds" -artifact_prefix="fuzz/artifacts/$target/" -print_final_stats=1
  done
fi
