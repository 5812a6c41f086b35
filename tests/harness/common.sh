# The test harness's shared functions, sourced by tests/harness/run-all and .ci/run:
# start the real servers the tests need (Asterisk 22, Asterisk 16, OpenSSH), export
# their settings, run the test tiers one by one with their times, and stop what was
# started here even when something fails.
#
# Servers that were already running before (a developer's, or another run's) are used
# as they are and left running; only those started here are stopped, and the tests that
# stop and restart Asterisk (AMI_TEST_ALLOW_RESTART) run only against a server started
# here.
#
# Settings (environment, all optional):
#   AMICON_HARNESS_VERSIONS   Asterisk versions to run against (default "22 16"); the
#                             first runs the whole suite, the others every real-Asterisk
#                             test binary again
#   AMICON_HARNESS_KEEP=1     leave the servers running at the end
#   AMI_PORT/AMI_TLS_PORT/AMI_SIP_PORT/AMI_ASTERISK_ROOT are NOT read here (they would
#   apply to both versions): use AMICON_HARNESS_22_PORT, AMICON_HARNESS_16_PORT (with
#   _TLS_PORT, _SIP_PORT, _ROOT, and AMICON_HARNESS_16_CHANSIP_PORT) to move one.
#   AMICON_TEST_SSHD_PORT, AMICON_TEST_SSHD_DIR   see sshd.sh
# shellcheck shell=bash

HARNESS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HARNESS_REPO=$(cd "$HARNESS_DIR/../.." && pwd)
HARNESS_VERSIONS=${AMICON_HARNESS_VERSIONS:-22 16}
HARNESS_STARTED=()   # "asterisk 22", "asterisk 16", "sshd": what stop_servers stops
HARNESS_RESULTS=()   # "name|seconds|ok|FAILED"
HARNESS_FAILED=0
HARNESS_T0=$(date +%s)

harness_say() { printf '\n==> %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

# Runs the harness's asterisk.sh for one version, with that version's own settings.
asterisk_sh() {
  local version=$1; shift
  local -a settings=(AMI_ASTERISK_VERSION="$version")
  local name value
  for name in PORT TLS_PORT SIP_PORT ROOT CHANSIP_PORT; do
    value=$(eval "printf %s \"\${AMICON_HARNESS_${version}_${name}:-}\"")
    if [ -n "$value" ]; then
      case $name in
        ROOT) settings+=(AMI_ASTERISK_ROOT="$value") ;;
        CHANSIP_PORT) settings+=(AMI_CHANSIP_PORT="$value") ;;
        *) settings+=(AMI_"$name"="$value") ;;
      esac
    fi
  done
  env -u AMI_PORT -u AMI_TLS_PORT -u AMI_SIP_PORT -u AMI_ASTERISK_ROOT -u AMI_CHANSIP_PORT \
    "${settings[@]}" bash "$HARNESS_DIR/asterisk.sh" "$@"
}

# Tools the harness itself needs on a fresh Debian machine.
install_prerequisites() {
  command -v cargo >/dev/null || { echo "harness: cargo is missing (install Rust: https://rustup.rs)" >&2; return 1; }
  local component
  for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
      rustup component add "$component"
    fi
  done
  local need=()
  command -v openssl >/dev/null || need+=(openssl)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  if [ ${#need[@]} -gt 0 ]; then
    harness_say "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && apt-get install -y -qq "${need[@]}" >/dev/null; }
  fi
}

# Builds the Asterisk chroots in the background (a fresh machine downloads them while
# cargo compiles); start_servers waits for them.
HARNESS_INSTALL_PIDS=()
install_servers_in_background() {
  local version log
  for version in $HARNESS_VERSIONS; do
    log=$(mktemp "${TMPDIR:-/tmp}/amicon-harness-install-$version.XXXXXX")
    asterisk_sh "$version" install >"$log" 2>&1 &
    HARNESS_INSTALL_PIDS+=("$!:$version:$log")
  done
}

wait_for_installs() {
  local entry pid version log status=0
  for entry in "${HARNESS_INSTALL_PIDS[@]}"; do
    IFS=: read -r pid version log <<<"$entry"
    if ! wait "$pid"; then
      echo "harness: installing Asterisk $version failed:" >&2
      cat "$log" >&2
      status=1
    fi
    rm -f "$log"
  done
  HARNESS_INSTALL_PIDS=()
  return $status
}

start_servers() {
  wait_for_installs
  local version
  for version in $HARNESS_VERSIONS; do
    if asterisk_sh "$version" status >/dev/null 2>&1; then
      echo "harness: Asterisk $version already running: used as it is and left running" >&2
    else
      asterisk_sh "$version" start
      HARNESS_STARTED+=("asterisk $version")
    fi
  done
  if bash "$HARNESS_DIR/sshd.sh" status >/dev/null 2>&1; then
    echo "harness: the test sshd is already running: used as it is and left running" >&2
  else
    bash "$HARNESS_DIR/sshd.sh" start
    HARNESS_STARTED+=("sshd")
  fi
  eval "$(bash "$HARNESS_DIR/sshd.sh" env)"
}

# Stops what start_servers started (the trap's job); servers found running are kept.
stop_servers() {
  local entry
  for entry in "${HARNESS_INSTALL_PIDS[@]}"; do kill "${entry%%:*}" 2>/dev/null || true; done
  if [ "${AMICON_HARNESS_KEEP:-}" = 1 ]; then
    [ ${#HARNESS_STARTED[@]} -eq 0 ] || echo "harness: leaving running: ${HARNESS_STARTED[*]}" >&2
    return 0
  fi
  for entry in "${HARNESS_STARTED[@]}"; do
    case $entry in
      "asterisk "*) asterisk_sh "${entry#asterisk }" stop || true ;;
      sshd) bash "$HARNESS_DIR/sshd.sh" stop || true ;;
    esac
  done
  HARNESS_STARTED=()
}

# Exports the AMI_TEST_* settings of one Asterisk version, with the AMI_* settings the
# restart test passes back to asterisk.sh, and whether it may stop that server: only
# when it was started here.
use_asterisk() {
  local version=$1 entry
  eval "$(asterisk_sh "$version" env)"
  unset AMI_TEST_ALLOW_RESTART
  for entry in "${HARNESS_STARTED[@]}"; do
    if [ "$entry" = "asterisk $version" ]; then export AMI_TEST_ALLOW_RESTART=1; fi
  done
}

# Runs one tier, timed; a failure is recorded and the next tier still runs.
tier() {
  local name=$1; shift
  harness_say "$name: $*"
  local t0 t1 status=0
  t0=$(date +%s)
  "$@" || status=$?
  t1=$(date +%s)
  if [ $status -eq 0 ]; then
    HARNESS_RESULTS+=("$name|$((t1 - t0))|ok")
  else
    HARNESS_RESULTS+=("$name|$((t1 - t0))|FAILED (exit $status)")
    HARNESS_FAILED=1
  fi
}

# The test binaries that talk to a real Asterisk (they read AMI_TEST_ADDR).
real_asterisk_test_binaries() {
  local file
  for file in "$HARNESS_REPO"/tests/*.rs; do
    if grep -q 'AMI_TEST_ADDR' "$file"; then basename "$file" .rs; fi
  done
}

# Every test tier: the whole suite (ignored tests included) against the first Asterisk
# version, then every real-Asterisk test binary's ignored tests against each other one.
# --no-fail-fast: every test binary runs, so a tier lists all of its failures.
run_test_tiers() {
  local first=1 version binary
  local -a args
  for version in $HARNESS_VERSIONS; do
    use_asterisk "$version"
    if [ $first = 1 ]; then
      tier "all tests, Asterisk $version" cargo test --locked --no-fail-fast -- --include-ignored
      first=0
    else
      args=()
      for binary in $(real_asterisk_test_binaries); do args+=(--test "$binary"); done
      tier "real-Asterisk tests, Asterisk $version" cargo test --locked --no-fail-fast "${args[@]}" -- --ignored
    fi
  done
}

report() {
  local entry name seconds result passed=0 failed=0
  printf '\n==> summary (total %ss)\n' "$(($(date +%s) - HARNESS_T0))"
  for entry in "${HARNESS_RESULTS[@]}"; do
    IFS='|' read -r name seconds result <<<"$entry"
    printf '  %-44s %5ss  %s\n' "$name" "$seconds" "$result"
    if [ "$result" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  done
  printf 'tiers: %d passed, %d failed\n' "$passed" "$failed"
  return $HARNESS_FAILED
}
