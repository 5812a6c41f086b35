#!/usr/bin/env bash
# A real Asterisk (Debian's own package, in a Debian chroot) with its AMI on loopback,
# for amicon's integration tests and for trying the console by hand. Its configuration
# is this repository's tests/harness/asterisk-etc/*.conf. Two versions:
#   AMI_ASTERISK_VERSION=22 (default)  Asterisk 22 from Debian sid
#   AMI_ASTERISK_VERSION=16            Asterisk 16.28 from Debian 11 bullseye: the version
#                                      FreePBX 15/16 and many production PBXs still run;
#                                      it also has chan_sip (peers carol and dave)
# Both can run side by side: 16 uses other default ports (25038, 25039, 25060, 25070).
#
#   asterisk.sh install    build the chroot once (about 1-2 minutes, ~500 MB)
#   asterisk.sh start      install if needed, write the configs, start, wait until fully booted
#   asterisk.sh stop       stop it and unmount /proc
#   asterisk.sh status     say whether it runs
#   asterisk.sh env        print the AMI_TEST_* variables the tests read
#   asterisk.sh cli 'CMD'  run an Asterisk CLI command (e.g. 'core show channels')
#
# Settings (environment): AMI_ASTERISK_ROOT (chroot folder, default
# /var/cache/ami-asterisk/sid or .../bullseye), AMI_PORT (default 5038 or 25038),
# AMI_TLS_PORT (5039 or 25039), AMI_SIP_PORT (PJSIP's loopback UDP transport, 5060 or
# 25060), AMI_CHANSIP_PORT (chan_sip on 16, default 25070), AMI_DEBIAN_MIRROR.
# Users: admin/amp111 (read/write all), readonly/ro111 (read call,reporting).
# Dialplan context `test`: echo, long, busy, short, dial, vars (see asterisk-etc/extensions.conf).
# Needs root (debootstrap, chroot, mount).
set -euo pipefail

VERSION=${AMI_ASTERISK_VERSION:-22}
case "$VERSION" in
  22) SUITE=sid; BASE=0 ;;
  16) SUITE=bullseye; BASE=20000 ;;
  *) echo "asterisk.sh: AMI_ASTERISK_VERSION must be 22 or 16" >&2; exit 2 ;;
esac
ROOT=${AMI_ASTERISK_ROOT:-/var/cache/ami-asterisk/$SUITE}
PORT=${AMI_PORT:-$((BASE + 5038))}
TLS_PORT=${AMI_TLS_PORT:-$((BASE + 5039))}
SIP_PORT=${AMI_SIP_PORT:-$((BASE + 5060))}
CHANSIP_PORT=${AMI_CHANSIP_PORT:-25070}
MIRROR=${AMI_DEBIAN_MIRROR:-http://deb.debian.org/debian}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PIDFILE="$ROOT/.ami-test.pid"
LOG="$ROOT/.ami-test.log"

say() { echo "asterisk.sh $VERSION: $*" >&2; }

# Installs a Debian package on the host (the lists are refreshed only when needed).
apt_install() {
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; } ||
    { say "apt-get install $* failed"; exit 1; }
}

installed() { [ -x "$ROOT/usr/sbin/asterisk" ] && [ -f "$ROOT/.ami-test-ready" ]; }

install() {
  installed && return 0
  command -v debootstrap >/dev/null || apt_install debootstrap
  local tmp="$ROOT.partial"
  rm -rf "$tmp"; mkdir -p "$(dirname "$ROOT")"
  say "building the chroot in $ROOT (Debian $SUITE + asterisk $VERSION)"
  # Asterisk left Debian's stable releases after bullseye (16.28); sid carries 22.
  debootstrap --variant=minbase --include=asterisk,asterisk-modules "$SUITE" "$tmp" "$MIRROR" >"$tmp.log" 2>&1 ||
    { tail -20 "$tmp.log" >&2; say "debootstrap failed"; exit 1; }
  rm -rf "$ROOT"; mv "$tmp" "$ROOT"; rm -f "$tmp.log"
  touch "$ROOT/.ami-test-ready"
}

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

write_configs() {
  local etc="$ROOT/etc/asterisk"
  local f
  for f in manager extensions modules pjsip queues sip; do
    sed -e "s/@PORT@/$PORT/g" -e "s/@TLS_PORT@/$TLS_PORT/g" -e "s/@SIP_PORT@/$SIP_PORT/g" \
      -e "s/@CHANSIP_PORT@/$CHANSIP_PORT/g" \
      "$HERE/asterisk-etc/$f.conf" >"$etc/$f.conf"
  done
  mkdir -p "$etc/keys"
  if [ ! -f "$etc/keys/ami.pem" ]; then
    command -v openssl >/dev/null || apt_install openssl
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
      -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
      -keyout "$etc/keys/ami.key" -out "$etc/keys/ami.pem" >/dev/null 2>&1
  fi
  # the self-signed certificate, for clients that verify TLS
  cp "$etc/keys/ami.pem" "$ROOT/.ami-test-ca.pem"
}

start() {
  if running; then say "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
  install
  write_configs
  mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
  mkdir -p "$ROOT/var/run/asterisk"
  setsid chroot "$ROOT" /usr/sbin/asterisk -f -n >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  local i
  for i in $(seq 1 120); do
    if ! running; then tail -20 "$LOG" >&2; say "asterisk exited during start"; exit 1; fi
    if chroot "$ROOT" /usr/sbin/asterisk -rx "core waitfullybooted" >/dev/null 2>&1 &&
       (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
      say "ready: AMI on 127.0.0.1:$PORT, AMI over TLS on 127.0.0.1:$TLS_PORT (pid $(cat "$PIDFILE"))"
      return 0
    fi
    sleep 0.5
  done
  tail -20 "$LOG" >&2; say "not ready after 60 s"; exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDFILE")
    chroot "$ROOT" /usr/sbin/asterisk -rx "core stop now" >/dev/null 2>&1 || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  mountpoint -q "$ROOT/proc" 2>/dev/null && umount "$ROOT/proc" || true
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running, pid $(cat "$PIDFILE"), AMI 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
  env)
    echo "export AMI_TEST_ADDR=127.0.0.1:$PORT AMI_TEST_TLS_ADDR=127.0.0.1:$TLS_PORT"
    echo "export AMI_TEST_USER=admin AMI_TEST_SECRET=amp111 AMI_TEST_RO_USER=readonly AMI_TEST_RO_SECRET=ro111"
    echo "export AMI_TEST_CA=$ROOT/.ami-test-ca.pem AMI_TEST_ASTERISK_VERSION=$VERSION"
    # the restart test stops and starts the server through this variable
    echo "export AMI_TEST_ASTERISK_SCRIPT=$HERE/$(basename "${BASH_SOURCE[0]}") AMI_ASTERISK_VERSION=$VERSION"
    echo "export AMI_ASTERISK_ROOT=$ROOT AMI_PORT=$PORT AMI_TLS_PORT=$TLS_PORT AMI_SIP_PORT=$SIP_PORT AMI_CHANSIP_PORT=$CHANSIP_PORT" ;;
  cli) shift; chroot "$ROOT" /usr/sbin/asterisk -rx "$*" ;;
  *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
