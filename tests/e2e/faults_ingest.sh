#!/usr/bin/env bash
# faults_ingest: I/O faults while payoutd books files (issue 5), injected with
# tests/tools/faultshim.c (LD_PRELOAD; FAULT_OP, FAULT_ERRNO, FAULT_PATH, ...).
# The daemon runs with the fault armed by a file ($ARM, FAULT_UNTIL_GONE):
# creating it starts the fault, deleting it "removes the cause". For each
# fault: the log names the path and the cause; the file is kept where it can
# be recovered (its claim in inbox/.work, nothing half-booked: ledger_dump
# unchanged when the booking failed); payoutd neither dies nor loops; once the
# cause is gone the next scan (a SIGHUP here; else the next file or the 60 s
# rescan) books it exactly once, `audit verify` is intact and the volumes add up.
#
#   1. disk full (ENOSPC) on the ledger's WAL while booking: not booked, retried
#   2. EIO and EROFS (a file system turned read-only) on a WAL write: the same
#   3. disk full on the audit log after the commit: booked once, the log catches up
#   4. permission denied moving a booked file into archive/, or creating its
#      month folder there
#   5. permission denied in rejected/: writing the report; moving the file
#      (the retry reuses the report it wrote, no second name, no orphan report)
#   6. a read-only ledger (EROFS/EACCES opening it for writing; its WAL): refused
#      at start with the reason, nothing claimed
#   7. a missing inbox: at start (created, with a warning); deleted or moved
#      away while the daemon runs (said once, no loop, picked up when back)
# Failed fsyncs are in faults_fsync.sh, faults during a close in faults_close.sh.
source "$(dirname "$0")/lib.sh"

# ---- the shim ------------------------------------------------------------------------
: "${FAULTSHIM:?FAULTSHIM must name libfaultshim.so (tests/CMakeLists.txt sets it)}"
[[ -f $FAULTSHIM ]] || fail "the fault shim $FAULTSHIM is not built"
# an ASan build wants its runtime first in the list of loaded libraries
PRELOAD=$FAULTSHIM
asan_rt=$(ldd "$PAYOUTD" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3; exit }' || true)
[[ -n $asan_rt ]] && PRELOAD="$asan_rt $FAULTSHIM"
FAULTS=$T/faults.log # one line per injected fault
ARM=$T/fault-on      # the fault is active while this file exists
: >"$FAULTS"

# start_faulty FAULT_VAR=VALUE...: starts the daemon with the shim, armed by $ARM
# (not yet created), like start_daemon.
start_faulty() {
	local before=0
	[[ -f $AUDIT ]] && before=$(count_lines "$AUDIT" '"mode":"daemon"')
	rm -f "$ARM"
	env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" FAULT_UNTIL_GONE="$ARM" "$@" "$PAYOUTD" -c "$CONF" 2>"$LOG" &
	DAEMON_PID=$!
	_started() {
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd exited during start-up"
		[[ -f $AUDIT ]] && (($(count_lines "$AUDIT" '"mode":"daemon"') > before))
	}
	wait_for 10 "payoutd to start" _started
}

# once_faulty EXPECTED_RC FAULT_VAR=VALUE...: `payoutd --once` with the shim (always armed).
once_faulty() {
	local want=$1 rc
	shift
	set +e
	timeout $((60 * ${E2E_TIME_SCALE:-1})) env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" "$@" "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
	rc=$?
	set -e
	[[ $rc -eq $want ]] || fail "payoutd --once with $* exited $rc, expected $want"
}

# fired TEXT: the shim logged a fault whose line contains TEXT (the call and path).
fired() {
	grep -qF -- "$1" "$FAULTS" || fail "the shim injected no fault into $1; its log: $(cat "$FAULTS")"
}

# logged TEXT: the daemon's log has a line containing TEXT (waits up to 10 s).
logged() {
	_has() { grep -qF -- "$1" "$LOG"; }
	wait_for 10 "payoutd to log [$1]" _has "$1"
}

# claim_of NAME: the one claim of NAME in inbox/.work (fails unless exactly one).
claim_of() {
	local c
	c=$(cd "$WORK" && compgen -G "????????????????.$1" || true)
	[[ -n $c && $c != *$'\n'* ]] || fail "expected one claim of $1 in inbox/.work, found: $(ls -A "$WORK" | tr '\n' ' ')"
	echo "$c"
}

# booked_once NAME: NAME is in the files table once and archived once; its rows booked once.
booked_once() {
	assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = '$1'")" "files records of $1"
	local n
	n=$(compgen -G "$ARCHIVE/*/$1" | wc -l)
	assert_eq 1 "$n" "archived copies of $1"
	assert_eq 0 "$(compgen -G "$ARCHIVE/*/${1%.csv}.[0-9]*.csv" | wc -l)" "archived copies of $1 under another name"
}

archived() {
	compgen -G "$ARCHIVE/*/$1" >/dev/null && [[ $(q "SELECT count(*) FROM files WHERE name = '$1'") == 1 ]]
}

sale_file() { # SALE_ID AMOUNT
	printf '%s\n' 'sale_id,distributor_id,date,amount' "$1,A1,2026-11-03,$2"
}

# rescan: makes the daemon scan now (a reload scans), as the next file or the 60 s rescan would.
rescan() {
	local n
	n=$(count_lines "$LOG" "reloaded: plan")
	kill -HUP "$DAEMON_PID"
	_reloaded() { (($(count_lines "$LOG" "reloaded: plan") > n)); }
	wait_for 10 "payoutd to reload" _reloaded
}

# logged_times N TEXT: the daemon's log has N lines containing TEXT (waits up to 10 s for them).
logged_times() {
	_n_lines() { (($(count_lines "$LOG" "$2") >= $1)); }
	wait_for 10 "payoutd to log [$2] $1 times" _n_lines "$1" "$2"
	assert_eq "$1" "$(count_lines "$LOG" "$2")" "lines [$2] in the log"
}

alive() { kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd died: $(tail -n 5 "$LOG")"; }

write_config
book_base

# ---- 0. the shim works in this build -------------------------------------------------
once_faulty 1 FAULT_OP=openw FAULT_ERRNO=EACCES FAULT_PATH="$DB.lock"
fired "open($DB.lock) -> EACCES [#1,"
assert_contains "$LOG" "cannot open lock file $DB.lock: Permission denied" "payoutd log"
: >"$FAULTS"

# ---- 1. disk full on the ledger while booking ------------------------------------------
# SQLite writes the transaction's pages to the WAL at the COMMIT: ENOSPC there
# is SQLITE_FULL, the transaction is rolled back, and the file waits in .work.
start_faulty FAULT_OP=pwrite FAULT_ERRNO=ENOSPC FAULT_PATH="$DB-wal"
before=$(ledger_dump)
touch "$ARM"
sale_file F1 10.00 | drop sales-1.csv
logged "sales-1.csv: not booked, will retry: ledger $DB: database or disk is full"
fired "pwrite64($DB-wal) -> ENOSPC"
claim=$(claim_of sales-1.csv)
assert_eq "$before" "$(ledger_dump)" "ledger after a booking that hit a full disk"
audit_verify_ok
# no hot loop: nothing retries by itself before the next scan
faults=$(wc -l <"$FAULTS")
sleep 1
assert_eq "$faults" "$(wc -l <"$FAULTS")" "faults injected while the daemon waits (a retry loop?)"
assert_eq 1 "$(count_lines "$LOG" "not booked, will retry")" "'not booked' lines while the daemon waits"
alive
# still full at the next scan: still waiting, same claim
rescan
logged_times 2 "sales-1.csv: not booked, will retry: ledger $DB: database or disk is full"
assert_eq "$claim" "$(claim_of sales-1.csv)" "claim of sales-1.csv"
# the cause removed: the next scan books it, once
rm "$ARM"
rescan
wait_for 10 "sales-1.csv to be booked" archived sales-1.csv
booked_once sales-1.csv
assert_eq "F1|1000" "$(q "SELECT sale_id, amount FROM sales WHERE sale_id = 'F1'")" "sale of sales-1.csv"
assert_inbox_idle
audit_verify_ok
stop_daemon
assert_eq 0 "$RC" "exit status after SIGTERM"

# ---- 2. EIO / EROFS on a WAL write -------------------------------------------------------
n=2
for e in EIO EROFS; do
	name=sales-$n.csv
	start_faulty FAULT_OP=pwrite FAULT_ERRNO="$e" FAULT_PATH="$DB-wal"
	before=$(ledger_dump)
	touch "$ARM"
	sale_file "F$n" "$n.00" | drop "$name"
	logged "$name: not booked, will retry: ledger $DB: disk I/O error (writing the ledger or its WAL failed)"
	fired "pwrite64($DB-wal) -> $e"
	claim_of "$name" >/dev/null
	assert_eq "$before" "$(ledger_dump)" "ledger after $e on a WAL write"
	audit_verify_ok
	alive
	rm "$ARM"
	rescan
	wait_for 10 "$name to be booked" archived "$name"
	booked_once "$name"
	assert_inbox_idle
	stop_daemon
	n=$((n + 1))
done
audit_verify_ok

# ---- 3. disk full on the audit log after the commit ----------------------------------------
# The booking is committed with its audit line in the ledger; the file's line
# cannot be appended. The file waits in .work; the next scan appends the line
# and moves it. Never booked twice.
start_faulty FAULT_OP=write FAULT_ERRNO=ENOSPC FAULT_PATH="$AUDIT"
touch "$ARM"
sale_file F4 4.00 | drop sales-4.csv
logged "sales-4.csv: booked, but the audit log could not be updated (will retry): cannot append to audit log $AUDIT: No space left on device"
fired "write($AUDIT) -> ENOSPC"
claim_of sales-4.csv >/dev/null
assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = 'sales-4.csv'")" "files records of sales-4.csv (committed)"
assert_not_contains "$AUDIT" '"name":"sales-4.csv"' "audit log while the disk is full"
run "$PAYOUTCTL" -c "$CONF" audit verify
assert_eq 5 "$RC" "audit verify while the log is behind the ledger ($(cat "$OUT"))"
assert_contains "$OUT" "has not yet caught up" "audit verify output"
alive
rm "$ARM"
rescan
wait_for 10 "sales-4.csv to be archived" archived sales-4.csv
assert_contains "$LOG" "sales-4.csv: finished moving it after a restart" "payoutd log"
booked_once sales-4.csv
assert_eq 1 "$(grep -c '"event":"file_booked","name":"sales-4.csv"' "$AUDIT")" "file_booked lines of sales-4.csv"
assert_inbox_idle
audit_verify_ok
stop_daemon

# ---- 4. permission denied on archive/ -------------------------------------------------------
start_faulty FAULT_OP=rename FAULT_ERRNO=EACCES FAULT_PATH="$ARCHIVE/"
touch "$ARM"
sale_file F5 5.00 | drop sales-5.csv
logged "sales-5.csv: booked, but could not be archived (will retry): cannot move $WORK/"
claim=$(claim_of sales-5.csv)
assert_contains "$LOG" "cannot move $WORK/$claim to $ARCHIVE/$(archive_month)/sales-5.csv: Permission denied" "payoutd log"
fired "rename($WORK/$claim, $ARCHIVE/$(archive_month)/sales-5.csv) -> EACCES"
assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = 'sales-5.csv'")" "files records of sales-5.csv (committed)"
audit_verify_ok
# still denied at the next scan: the file stays, nothing is booked again
rescan
logged_times 1 "sales-5.csv: cannot finish moving it after a restart: cannot move $WORK/$claim to $ARCHIVE/$(archive_month)/sales-5.csv: Permission denied"
assert_eq "$claim" "$(claim_of sales-5.csv)" "claim of sales-5.csv"
assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = 'sales-5.csv'")" "files records of sales-5.csv"
rm "$ARM"
rescan
wait_for 10 "sales-5.csv to be archived" archived sales-5.csv
booked_once sales-5.csv
assert_inbox_idle
audit_verify_ok
stop_daemon

# 4b. permission denied creating a new month's folder in archive/ (a second,
# fresh state: this one's month folder exists already)
S2=$T/s2
mkdir -p "$S2/state/inbox"
sed "s#state/#s2/state/#; s#^plan: plan.yaml#plan: ../plan.yaml#" "$CONF" >"$S2/payoutd.yaml"
sed -i 's#s2/state/#state/#' "$S2/payoutd.yaml"
sale_file G1 1.00 >"$S2/state/inbox/sales-g.csv"
set +e
timeout $((60 * ${E2E_TIME_SCALE:-1})) env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" FAULT_OP=mkdir FAULT_ERRNO=EACCES \
	FAULT_PATH="$S2/state/archive/" "$PAYOUTD" -c "$S2/payoutd.yaml" --once 2>"$LOG"
rc=$?
set -e
assert_eq 0 "$rc" "exit status of --once (the file is booked; only its move is left)"
assert_contains "$LOG" "sales-g.csv: booked, but could not be archived (will retry): cannot create folder $S2/state/archive/$(archive_month): Permission denied" "payoutd log"
assert_eq 1 "$(sqlite3 -readonly "$S2/state/ledger.db" "SELECT count(*) FROM files WHERE name = 'sales-g.csv'")" "files records of sales-g.csv"
compgen -G "$S2/state/inbox/.work/????????????????.sales-g.csv" >/dev/null || fail "sales-g.csv is not waiting in .work"
set +e
timeout $((60 * ${E2E_TIME_SCALE:-1})) "$PAYOUTD" -c "$S2/payoutd.yaml" --once 2>"$LOG"
rc=$?
set -e
assert_eq 0 "$rc" "exit status of --once with the cause removed"
assert_contains "$LOG" "sales-g.csv: finished moving it after a restart" "payoutd log"
assert_file "$S2/state/archive/$(archive_month)/sales-g.csv" "sales-g.csv archived"
assert_eq 1 "$(sqlite3 -readonly "$S2/state/ledger.db" "SELECT count(*) FROM files")" "files booked in the second state"
rm -rf "$S2"

# ---- 5. permission denied on rejected/ -------------------------------------------------------
# 5a. creating the report
start_faulty FAULT_OP=openw FAULT_ERRNO=EACCES FAULT_PATH="$REJECTED/"
touch "$ARM"
echo "not an input" | drop bad-1.txt
logged "bad-1.txt: cannot reject it: cannot create $REJECTED/.bad-1.txt.errors.txt.tmp: Permission denied"
claim_of bad-1.txt >/dev/null
assert_dir_empty "$REJECTED" "rejected/ while it is denied"
assert_eq 1 "$(q "SELECT count(*) FROM rejections WHERE name = 'bad-1.txt'")" "rejection of bad-1.txt (committed)"
alive
rm "$ARM"
rescan
wait_for 10 "bad-1.txt to be rejected" test -f "$REJECTED/bad-1.txt"
assert_rejected bad-1.txt "Reason: the name matches no input entry of the config"
assert_eq "bad-1.txt bad-1.txt.errors.txt" "$(ls -A "$REJECTED" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "rejected/"
assert_inbox_idle
stop_daemon
# 5b. moving the file after its report was written: renames touching bad-2.txt
# are the claim, the report, then the file (FAULT_AFTER=2)
start_faulty FAULT_OP=rename FAULT_ERRNO=EACCES FAULT_PATH=bad-2.txt FAULT_AFTER=2
touch "$ARM"
echo "not an input" | drop bad-2.txt
logged "bad-2.txt: cannot reject it: cannot move $WORK/"
claim=$(claim_of bad-2.txt)
assert_contains "$LOG" "cannot move $WORK/$claim to $REJECTED/bad-2.txt: Permission denied" "payoutd log"
assert_file "$REJECTED/bad-2.txt.errors.txt" "the report written before the move"
rm "$ARM"
rescan
wait_for 10 "bad-2.txt to be rejected" test -f "$REJECTED/bad-2.txt"
assert_rejected bad-2.txt "Reason: the name matches no input entry of the config"
# the retry went on with the report it had written: no bad-2.2.txt, no report without its file
assert_eq "bad-1.txt bad-1.txt.errors.txt bad-2.txt bad-2.txt.errors.txt" \
	"$(ls -A "$REJECTED" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "rejected/ after the retry"
assert_eq 1 "$(q "SELECT count(*) FROM rejections WHERE name = 'bad-2.txt'")" "rejections of bad-2.txt"
assert_inbox_idle
audit_verify_ok
stop_daemon

# ---- 6. a read-only ledger --------------------------------------------------------------------
# SQLite quietly opens a ledger it cannot write read-only; payoutd refuses at
# once, saying why, before it claims anything.
sale_file F6 6.00 | drop sales-6.csv
before=$(ledger_dump)
for e in "EROFS:Read-only file system" "EACCES:Permission denied"; do
	: >"$FAULTS"
	once_faulty 1 FAULT_OP=openw FAULT_ERRNO="${e%%:*}" FAULT_PATH="$DB\$"
	fired "open64($DB) -> ${e%%:*}"
	assert_contains "$LOG" "cannot open ledger $DB for writing: ${e#*:}" "payoutd log (${e%%:*})"
	assert_file "$INBOX/sales-6.csv" "sales-6.csv left in the inbox"
	assert_dir_empty "$WORK" "inbox/.work"
	assert_eq "$before" "$(ledger_dump)" "ledger after a start on a read-only ledger"
done
# the daemon too: it exits at start (systemd restarts it until the cause is gone)
run timeout $((20 * ${E2E_TIME_SCALE:-1})) env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" FAULT_OP=openw FAULT_ERRNO=EROFS \
	FAULT_PATH="$DB\$" "$PAYOUTD" -c "$CONF"
assert_eq 1 "$RC" "exit status of the daemon on a read-only ledger"
assert_contains "$OUT" "cannot open ledger $DB for writing: Read-only file system" "payoutd output"
# its WAL cannot be created: refused as well, with the ledger named
once_faulty 1 FAULT_OP=openw FAULT_ERRNO=EACCES FAULT_PATH="$DB-wal"
assert_contains "$LOG" "ledger $DB: attempt to write a readonly database" "payoutd log (WAL not writable)"
assert_file "$INBOX/sales-6.csv" "sales-6.csv left in the inbox"
assert_eq "$before" "$(ledger_dump)" "ledger after a start with an unwritable WAL"
audit_verify_ok
# the cause removed
run_once
booked_once sales-6.csv
assert_inbox_idle
audit_verify_ok

# ---- 7. a missing inbox -------------------------------------------------------------------------
# 7a. at start: created, with a warning (the drop group's access is gone with it)
rm -rf "$INBOX"
run_once
assert_contains "$LOG" "the inbox $INBOX was missing: created it" "payoutd log"
assert_inbox_idle
# 7b. moved away while the daemon runs, with a file in it: said once, nothing
# touched in the moved folder, no loop; moved back, the file is booked
start_daemon
sale_file F7 7.00 | drop sales-7.csv
wait_for 10 "sales-7.csv to be booked" archived sales-7.csv
mv "$INBOX" "$T/inbox.away"
logged "the inbox $INBOX is gone: No such file or directory; nothing can be booked until it is back"
sale_file F8 8.00 >"$T/inbox.away/.sales-8.csv.writing"
mv "$T/inbox.away/.sales-8.csv.writing" "$T/inbox.away/sales-8.csv"
sleep 1.5
alive
assert_eq 1 "$(count_lines "$LOG" "is gone")" "'inbox is gone' lines in 1.5 s"
assert_file "$T/inbox.away/sales-8.csv" "a file in the moved inbox"
assert_eq 0 "$(q "SELECT count(*) FROM files WHERE name = 'sales-8.csv'")" "sales-8.csv booked from the moved inbox"
mv "$T/inbox.away" "$INBOX"
logged "the inbox $INBOX is back"
wait_for 10 "sales-8.csv to be booked once the inbox is back" archived sales-8.csv
# 7c. deleted while the daemon runs; made again (as an operator or tmpfiles would): .work is
# made again, the new folder is watched (a dropped file is booked at once, not after 60 s)
rm -rf "$INBOX"
logged_times 2 "the inbox $INBOX is gone: No such file or directory"
mkdir "$INBOX"
logged_times 2 "the inbox $INBOX is back"
sale_file F9 9.00 | drop sales-9.csv
wait_for 10 "sales-9.csv to be booked in the new inbox" archived sales-9.csv
assert_inbox_idle
stop_daemon
assert_eq 0 "$RC" "exit status after SIGTERM"
for f in sales-7.csv sales-8.csv sales-9.csv; do
	booked_once $f
done

# ---- 8. EIO reading an input file -----------------------------------------------------------------
# The disk failed, not the file: it is not rejected (that would be for good)
# but left claimed in .work, and booked at the first scan after the cause is gone.
start_faulty FAULT_OP=read FAULT_ERRNO=EIO FAULT_PATH=".sales-10.csv"
before=$(ledger_dump)
rejections=$(q 'SELECT count(*) FROM rejections')
touch "$ARM"
sale_file F10 10.00 | drop sales-10.csv
logged "sales-10.csv: not booked, will retry: sales-10.csv: read error: Input/output error"
fired ".sales-10.csv) -> EIO"
claim_of sales-10.csv >/dev/null
assert_no_file "$REJECTED/sales-10.csv" "sales-10.csv rejected after a read error"
assert_eq "$rejections" "$(q 'SELECT count(*) FROM rejections')" "rejections after a read error"
assert_eq "$before" "$(ledger_dump)" "ledger after a read error"
alive
rm "$ARM"
rescan
wait_for 10 "sales-10.csv to be booked" archived sales-10.csv
booked_once sales-10.csv
assert_inbox_idle
stop_daemon
assert_eq 0 "$RC" "exit status after SIGTERM"

assert_eq 10 "$(q "SELECT count(*) FROM sales WHERE sale_id LIKE 'F%'")" "sales booked by this test"
audit_verify_ok
pass
