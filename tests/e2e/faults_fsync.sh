#!/usr/bin/env bash
# faults_fsync: a failed fsync (EIO) while payoutd books (issue 5), injected
# with tests/tools/faultshim.c. A failed sync is never retried on the same
# data (docs/reliability.md: the kernel may have dropped the dirty pages and
# reports the error once, so a second fsync can succeed with the data lost).
# payoutd says which sync failed, stops at the file it was handling (the files
# after it stay in the inbox, unclaimed) and exits 1 without writing anything
# more; its next start (systemd restarts it) works out from the ledger and the
# work folder what was done: every file is then booked (or rejected) exactly
# once, `audit verify` is intact and the volumes add up. Audit lines whose
# fsync failed are not left in the file (they would never be written again):
# the next start appends them anew.
#
#   1. the ledger's WAL at a booking's COMMIT (SQLite: SQLITE_IOERR_FSYNC)
#   2. the audit log after a booking's commit
#   3. inbox/.work after claiming a file
#   4. archive/YYYY-MM after moving a booked file there
#   5. a rejection report in rejected/
#   6. the ledger itself, at the checkpoint after a scan
# Faults during a close: faults_close.sh (payoutctl exits 1 there anyway).
source "$(dirname "$0")/lib.sh"

# ---- the shim (as in faults_ingest.sh) -------------------------------------------------
: "${FAULTSHIM:?FAULTSHIM must name libfaultshim.so (tests/CMakeLists.txt sets it)}"
[[ -f $FAULTSHIM ]] || fail "the fault shim $FAULTSHIM is not built"
PRELOAD=$FAULTSHIM
asan_rt=$(ldd "$PAYOUTD" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3; exit }' || true)
[[ -n $asan_rt ]] && PRELOAD="$asan_rt $FAULTSHIM"
FAULTS=$T/faults.log
ARM=$T/fault-on
: >"$FAULTS"

start_faulty() { # FAULT_VAR=VALUE...: the daemon with the shim, armed by $ARM
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

claim_of() { # NAME: the one claim of NAME in inbox/.work
	local c
	c=$(cd "$WORK" && compgen -G "????????????????.$1" || true)
	[[ -n $c && $c != *$'\n'* ]] || fail "expected one claim of $1 in inbox/.work, found: $(ls -A "$WORK" | tr '\n' ' ')"
	echo "$c"
}

booked_once() { # NAME: one files record, one archived copy
	assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = '$1'")" "files records of $1"
	assert_eq 1 "$(compgen -G "$ARCHIVE/*/$1" | wc -l)" "archived copies of $1"
	assert_eq 0 "$(compgen -G "$ARCHIVE/*/${1%.csv}.[0-9]*.csv" | wc -l)" "archived copies of $1 under another name"
}

sale_file() { # SALE_ID AMOUNT
	printf '%s\n' 'sale_id,distributor_id,date,amount' "$1,A1,2026-11-03,$2"
}

# stops_by_itself CALL_AND_PATH ONCE_TEXT: the armed daemon meets the failed
# sync (the shim logged CALL_AND_PATH), says so (ONCE_TEXT, exactly once: no
# second try), and exits 1 on its own, with no "stopped" line in the audit log
# (nothing is written after a failed sync). SQLite's own checkpoint when the
# ledger is closed may sync the WAL again: that covers only frames committed
# (and synced) before, and lets it drop the failed transaction's frames.
stops_by_itself() {
	_exited() { ! kill -0 "$DAEMON_PID" 2>/dev/null; }
	wait_for 10 "payoutd to stop by itself after a failed sync" _exited
	set +e
	wait "$DAEMON_PID"
	RC=$?
	set -e
	DAEMON_PID=
	assert_eq 1 "$RC" "exit status after a failed sync"
	grep -qF -- "$1 -> EIO" "$FAULTS" || fail "the shim injected no fault into $1: $(cat "$FAULTS")"
	assert_eq 1 "$(count_lines "$LOG" "$2")" "lines [$2] in the log (a retry?)"
	assert_contains "$LOG" "stopped after a failed sync to disk" "payoutd log"
	[[ $(tail -n 1 "$AUDIT") != *'"event":"stopped"'* ]] || fail "payoutd wrote its stopped line after a failed sync"
	rm -f "$ARM"
}

# restart_clean: the cause removed, payoutd started again (as systemd would):
# it finishes whatever was in flight.
restart_clean() {
	start_daemon
	_idle() { [[ $(ls -A "$INBOX") == .work && -z $(ls -A "$WORK") ]]; }
	wait_for 10 "payoutd to finish what was left" _idle
	stop_daemon
	assert_eq 0 "$RC" "exit status after SIGTERM"
	assert_inbox_idle
	audit_verify_ok
}

write_config
book_base

# ---- 1. the WAL's fdatasync at a booking's COMMIT -------------------------------------------
# Two files arrive; the first one's commit fails to sync, and the daemon stops
# there: the second waits in the inbox, unclaimed. Whether the first is booked
# is undecided: its frames are in the WAL, complete, and while the disk still
# fails SQLite cannot drop them when it closes the ledger, so the next open may
# well find that transaction committed. The claim the transaction recorded
# tells the next start which it was: booked once, either way.
start_faulty FAULT_OP=fdatasync FAULT_ERRNO=EIO FAULT_PATH="$DB-wal"
touch "$ARM"
sale_file W1 1.00 >"$INBOX/.sales-1.csv.w"
sale_file W2 2.00 >"$INBOX/.sales-2.csv.w"
mv "$INBOX/.sales-1.csv.w" "$INBOX/sales-1.csv"
mv "$INBOX/.sales-2.csv.w" "$INBOX/sales-2.csv"
stops_by_itself "fdatasync($DB-wal)" \
	"sales-1.csv: not known to be booked: ledger $DB: disk I/O error (syncing the ledger or its WAL to disk failed); the next start finds out from the ledger"
assert_contains "$LOG" "stopping: a sync to disk failed (above); a failed sync is never retried" "payoutd log"
claim_of sales-1.csv >/dev/null
assert_file "$INBOX/sales-2.csv" "the file after the failed one"
assert_eq 0 "$(q "SELECT count(*) FROM files WHERE name = 'sales-2.csv'")" "files records of sales-2.csv"
[[ $(q "SELECT count(*) FROM files WHERE name = 'sales-1.csv'") == [01] ]] || fail "sales-1.csv recorded more than once"
restart_clean
booked_once sales-1.csv
booked_once sales-2.csv
assert_eq "W1|100
W2|200" "$(q "SELECT sale_id, amount FROM sales WHERE sale_id LIKE 'W%' ORDER BY 1")" "sales of the two files"

# ---- 2. the audit log's fsync after a booking's commit ------------------------------------------
# Booked (committed with its audit line in the ledger). The line that could not
# be synced is taken off the file again, so the next start writes and syncs it.
start_faulty FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$AUDIT"
touch "$ARM"
sale_file W3 3.00 | drop sales-3.csv
stops_by_itself "fsync($AUDIT)" \
	"sales-3.csv: booked, but the audit log could not be updated (will retry): cannot sync audit log $AUDIT: Input/output error"
claim_of sales-3.csv >/dev/null
assert_eq 1 "$(q "SELECT count(*) FROM files WHERE name = 'sales-3.csv'")" "files records of sales-3.csv (committed)"
assert_not_contains "$AUDIT" '"name":"sales-3.csv"' "audit log after its failed fsync"
run "$PAYOUTCTL" -c "$CONF" audit verify
assert_eq 5 "$RC" "audit verify while the log is behind the ledger ($(cat "$OUT"))"
restart_clean
assert_contains "$LOG" "sales-3.csv: finished moving it after a restart" "payoutd log"
booked_once sales-3.csv
assert_eq 1 "$(count_lines "$AUDIT" '"event":"file_booked","name":"sales-3.csv"')" "file_booked lines of sales-3.csv"

# ---- 3. inbox/.work after a claim --------------------------------------------------------------
start_faulty FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$WORK\$"
before=$(ledger_dump)
touch "$ARM"
sale_file W4 4.00 | drop sales-4.csv
stops_by_itself "fsync($WORK)" \
	"sales-4.csv: cannot claim it: cannot sync folder $WORK: Input/output error"
claim_of sales-4.csv >/dev/null
assert_eq "$before" "$(ledger_dump)" "ledger after a failed claim sync"
restart_clean
booked_once sales-4.csv

# ---- 4. archive/YYYY-MM after the move --------------------------------------------------------
start_faulty FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$ARCHIVE/$(archive_month)\$"
touch "$ARM"
sale_file W5 5.00 | drop sales-5.csv
stops_by_itself "fsync($ARCHIVE/$(archive_month))" \
	"sales-5.csv: booked, but could not be archived (will retry): cannot sync folder $ARCHIVE/$(archive_month): Input/output error"
booked_once sales-5.csv
restart_clean
booked_once sales-5.csv

# ---- 5. a rejection report -----------------------------------------------------------------------
start_faulty FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$REJECTED/"
touch "$ARM"
echo "not an input" | drop bad.txt
stops_by_itself "fsync($REJECTED/.bad.txt.errors.txt.tmp)" \
	"bad.txt: cannot reject it: cannot sync $REJECTED/.bad.txt.errors.txt.tmp: Input/output error"
claim_of bad.txt >/dev/null
assert_dir_empty "$REJECTED" "rejected/ after a failed report sync"
restart_clean
assert_rejected bad.txt "Reason: the name matches no input entry of the config"
assert_eq "bad.txt bad.txt.errors.txt" "$(ls -A "$REJECTED" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "rejected/"

# ---- 6. the ledger, at the checkpoint after a scan ----------------------------------------------
start_faulty FAULT_OP=fdatasync FAULT_ERRNO=EIO FAULT_PATH="$DB\$"
touch "$ARM"
sale_file W6 6.00 | drop sales-6.csv
stops_by_itself "fdatasync($DB)" \
	"ledger $DB: checkpoint: disk I/O error (syncing the ledger or its WAL to disk failed"
booked_once sales-6.csv
restart_clean
booked_once sales-6.csv

assert_eq 6 "$(q "SELECT count(*) FROM sales WHERE sale_id LIKE 'W%'")" "sales booked by this test"
assert_eq "$(q "SELECT count(*) FROM files")" "$(count_lines "$AUDIT" '"event":"file_booked"')" "file_booked lines vs files"
audit_verify_ok
pass
