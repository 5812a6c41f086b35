#!/usr/bin/env bash
# A real OpenSSH server (Debian's openssh-server) on a loopback port, for the tests of
# amicon's SSH transport (`--ssh DEST`). It runs in the foreground of its own session
# (sshd -D), with its own host key, sshd_config and authorized client key, all generated
# in a state folder; the user's ~/.ssh and the system's sshd are never touched.
#
#   sshd.sh start    install openssh-server if missing (apt), generate keys and configs
#                    once, start sshd, wait until it answers (idempotent)
#   sshd.sh stop     stop it
#   sshd.sh status   say whether it runs
#   sshd.sh env      print the AMICON_TEST_SSH* variables the tests read
#
# Settings (environment): AMICON_TEST_SSHD_PORT (default 2222),
# AMICON_TEST_SSHD_DIR (state folder, default ${XDG_CACHE_HOME:-$HOME/.cache}/amicon/sshd).
# The client config (`ssh -F DIR/ssh_config`) has two host aliases for this one server:
#   amicon-test          the generated key, a known_hosts that trusts the host key
#   amicon-test-unknown  the same key, an EMPTY known_hosts and StrictHostKeyChecking yes
#                        (the unknown-host-key test: ssh must refuse)
# The key is authorized for the user running this script (root in CI). Nothing printed
# is secret: the private keys stay in the state folder (mode 0600).
set -euo pipefail

PORT=${AMICON_TEST_SSHD_PORT:-2222}
DIR=${AMICON_TEST_SSHD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/amicon/sshd}
USER_NAME=$(id -un)
PIDFILE="$DIR/sshd.pid"
LOG="$DIR/sshd.log"
SSHD=/usr/sbin/sshd

say() { echo "sshd.sh: $*" >&2; }

install() {
  [ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    say "openssh-server is not installed and installing it needs root: apt-get install openssh-server"
    exit 1
  fi
  say "installing openssh-server and openssh-client"
  export DEBIAN_FRONTEND=noninteractive
  # Only the binaries are wanted: no system sshd is started or enabled (policy-rc.d).
  local policy=/usr/sbin/policy-rc.d had_policy=
  [ -e "$policy" ] && had_policy=1
  [ -n "$had_policy" ] || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
  { apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; }; } ||
    { [ -n "$had_policy" ] || rm -f "$policy"; say "apt-get install openssh-server failed"; exit 1; }
  [ -n "$had_policy" ] || rm -f "$policy"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

write_files() {
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  [ -f "$DIR/host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C amicon-test-host -f "$DIR/host_ed25519_key"
  [ -f "$DIR/client_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C amicon-test-client -f "$DIR/client_ed25519_key"
  cp "$DIR/client_ed25519_key.pub" "$DIR/authorized_keys"
  chmod 600 "$DIR/authorized_keys"
  # The host key as ssh records it for a non-default port.
  printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$DIR/host_ed25519_key.pub")" >"$DIR/known_hosts"
  : >"$DIR/known_hosts_empty"
  cat >"$DIR/sshd_config" <<CONF
# Written by tests/harness/sshd.sh: a test server on loopback, key login only.
ListenAddress 127.0.0.1:$PORT
HostKey $DIR/host_ed25519_key
PidFile $PIDFILE
AuthorizedKeysFile $DIR/authorized_keys
AllowUsers $USER_NAME
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The state folder may live below a group-writable parent (a CI cache).
StrictModes no
AllowTcpForwarding yes
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
UseDNS no
LogLevel VERBOSE
CONF
  local common
  common=$(cat <<CONF
  HostName 127.0.0.1
  Port $PORT
  User $USER_NAME
  IdentityFile $DIR/client_ed25519_key
  IdentitiesOnly yes
  IdentityAgent none
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  UpdateHostKeys no
  CheckHostIP no
  BatchMode yes
  PasswordAuthentication no
  KbdInteractiveAuthentication no
  ControlMaster no
  ControlPath none
  ConnectTimeout 10
  LogLevel ERROR
CONF
)
  cat >"$DIR/ssh_config" <<CONF
# Written by tests/harness/sshd.sh: the client side of its test server.
Host amicon-test
  UserKnownHostsFile $DIR/known_hosts
$common

# Same server, but its host key is unknown here: ssh must refuse it.
Host amicon-test-unknown
  UserKnownHostsFile $DIR/known_hosts_empty
$common
CONF
}

start() {
  if running; then say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
  install
  write_files
  [ "$(id -u)" = 0 ] && mkdir -p /run/sshd && chmod 755 /run/sshd
  "$SSHD" -t -f "$DIR/sshd_config" || { say "sshd refused its config $DIR/sshd_config"; exit 1; }
  # -D: no daemon, so the pid is ours; -e: log to the file below.
  setsid "$SSHD" -D -e -f "$DIR/sshd_config" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local i
  for i in $(seq 1 50); do
    if ! running; then tail -20 "$LOG" >&2; say "sshd exited during start (port $PORT taken?)"; rm -f "$PIDFILE"; exit 1; fi
    if ssh -F "$DIR/ssh_config" amicon-test true </dev/null 2>/dev/null; then
      say "ready: sshd on 127.0.0.1:$PORT (pid $(cat "$PIDFILE")), client config $DIR/ssh_config"
      return 0
    fi
    sleep 0.2
  done
  tail -20 "$LOG" >&2; say "sshd does not accept the test key after 10 s"; stop; exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running, pid $(cat "$PIDFILE"), 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  env)
    printf 'export AMICON_TEST_SSH_COMMAND=%q\n' "ssh -F $DIR/ssh_config"
    printf 'export AMICON_TEST_SSH_DEST=amicon-test AMICON_TEST_SSH_UNKNOWN_DEST=amicon-test-unknown\n'
    printf 'export AMICON_TEST_SSHD_PIDFILE=%q\n' "$PIDFILE" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
