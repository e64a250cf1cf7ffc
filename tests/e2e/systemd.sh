#!/usr/bin/env bash
# The systemd side of payoutd (SPEC 10): the shipped unit passes
# `systemd-analyze verify` and rates SAFE, and the daemon speaks sd_notify:
# READY=1 after the start-up scan, STATUS= lines, WATCHDOG=1 when asked,
# RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
set -euo pipefail
: "${PAYOUTD:?}" "${SRCDIR:?}" "${NOTIFY_LISTEN:?}"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the unit file, with ExecStart pointing at this build
sed "s#/usr/bin/payoutd#$PAYOUTD#" "$SRCDIR/packaging/systemd/payoutd.service" > "$work/payoutd.service"
systemd-analyze verify "$work/payoutd.service" || fail "systemd-analyze verify rejected the unit"
exposure=$(systemd-analyze security --offline=true "$work/payoutd.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for payoutd.service: \([0-9.]*\).*/\1/p')
[[ -n $exposure ]] || fail "no exposure level from systemd-analyze security"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.0) }' || fail "exposure $exposure is above 1.0"
echo "unit: verify ok, exposure $exposure"

# 2. sd_notify, with a stand-in for systemd's socket
mkdir -p "$work/state/inbox"
cp "$SRCDIR/demo/plan.yaml" "$work/plan.yaml"
printf 'plan: plan.yaml\n' > "$work/payoutd.yaml"
"$NOTIFY_LISTEN" "$work/notify.sock" "$work/notify.log" &
pids+=($!)
for _ in $(seq 50); do [[ -S $work/notify.sock ]] && break; sleep 0.1; done
NOTIFY_SOCKET=$work/notify.sock WATCHDOG_USEC=1000000 "$PAYOUTD" -c "$work/payoutd.yaml" 2> "$work/daemon.err" &
daemon=$!
pids+=($daemon)
wait_for() { # PATTERN what
	for _ in $(seq 100); do grep -q -- "$1" "$work/notify.log" 2>/dev/null && return 0; sleep 0.1; done
	cat "$work/notify.log" >&2 || true
	fail "no $2 message"
}
wait_for 'READY=1' "READY=1"
wait_for 'STATUS=' "STATUS="
wait_for 'WATCHDOG=1' "WATCHDOG=1 (WatchdogSec)"
kill -HUP "$daemon"
wait_for 'RELOADING=1 MONOTONIC_USEC=[0-9]' "RELOADING=1 with MONOTONIC_USEC"
[[ $(grep -c 'READY=1' "$work/notify.log") -ge 2 ]] || { sleep 1; [[ $(grep -c 'READY=1' "$work/notify.log") -ge 2 ]] || fail "no READY=1 after the reload"; }
kill -TERM "$daemon"
for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
kill -0 "$daemon" 2>/dev/null && fail "payoutd did not stop on SIGTERM"
wait "$daemon" || fail "payoutd exited non-zero on SIGTERM"
wait_for 'STOPPING=1' "STOPPING=1"
grep -q '"event":"stopped"' "$work/state/audit.log" || fail "no stopped event in the audit log"
echo "sd_notify: READY, STATUS, WATCHDOG, RELOADING+MONOTONIC_USEC, STOPPING all seen"
