#!/usr/bin/env bash
# The systemd side of payoutd (SPEC 10): the shipped units (payoutd.service,
# payoutd-close.service, payoutd-close.timer) pass `systemd-analyze verify`,
# both services rate 1.0 or lower ("SAFE"), and the daemon speaks sd_notify:
# READY=1 after the start-up scan, STATUS= lines, WATCHDOG=1 when asked,
# RELOADING=1 + MONOTONIC_USEC then READY=1 on SIGHUP, STOPPING=1 on SIGTERM.
set -euo pipefail
: "${PAYOUTD:?}" "${PAYOUTCTL:?}" "${SRCDIR:?}" "${NOTIFY_LISTEN:?}"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. the unit files, with ExecStart pointing at this build. verify also runs
# `man` on each Documentation=man: page: against packaging/man when it has
# them all, else that part is skipped (the pages come with the package).
mkdir -p "$work/units" "$work/man/man5" "$work/man/man8"
for u in payoutd.service payoutd-close.service payoutd-close.timer; do
	sed -e "s#/usr/bin/payoutd #$PAYOUTD #" -e "s#/usr/bin/payoutctl #$PAYOUTCTL #" \
		"$SRCDIR/packaging/systemd/$u" > "$work/units/$u"
done
grep -q "$PAYOUTD -c" "$work/units/payoutd.service" || fail "payoutd.service: ExecStart not rewritten"
grep -q "$PAYOUTCTL -c" "$work/units/payoutd-close.service" || fail "payoutd-close.service: ExecStart not rewritten"
man=yes
command -v man > /dev/null || man=no
pages=$(grep -ho 'man:[^ ]*([0-9])' "$work"/units/* | sed 's/man:\(.*\)(\([0-9]\))/\1.\2/' | sort -u)
for page in $pages; do
	if [[ -f $SRCDIR/packaging/man/$page ]]; then
		cp "$SRCDIR/packaging/man/$page" "$work/man/man${page##*.}/"
	else
		man=no
	fi
done
if [[ $man == no ]]; then
	echo "note: no man(1), or packaging/man lacks some of: $(echo $pages); verify runs with --man=no"
fi
(cd "$work/units" && MANPATH=$work/man systemd-analyze verify --man=$man \
	payoutd.service payoutd-close.service payoutd-close.timer) || fail "systemd-analyze verify rejected the units"
for u in payoutd.service payoutd-close.service; do
	exposure=$(systemd-analyze security --offline=true "$work/units/$u" 2>/dev/null |
		sed -n "s/.*Overall exposure level for $u: \([0-9.]*\).*/\1/p")
	[[ -n $exposure ]] || fail "$u: no exposure level from systemd-analyze security"
	awk -v e="$exposure" 'BEGIN { exit !(e <= 1.0) }' || fail "$u: exposure $exposure is above 1.0"
	echo "$u: verify ok, exposure $exposure"
done
echo "payoutd-close.timer: verify ok"

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
