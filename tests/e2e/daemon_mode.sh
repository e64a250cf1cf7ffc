#!/usr/bin/env bash
# daemon_mode: payoutd without --once watches the inbox and books a file
# dropped by write+rename; SIGHUP with an invalid plan keeps the running one
# (and keeps booking), SIGHUP with a valid plan logs a new plan_loaded; a file
# written in place is booked only once closed; `audit verify` stays intact
# while the daemon books; a
# second payoutd on the same ledger refuses to run; SIGTERM stops it cleanly
# (exit 0, "stopped" last in the audit log, chain intact).
source "$(dirname "$0")/lib.sh"

write_config
book_base

# archived NAME: NAME is booked and in archive/YYYY-MM/
archived() {
	compgen -G "$ARCHIVE/*/$1" >/dev/null && [[ $(q "SELECT count(*) FROM files WHERE name = '$1'") == 1 ]]
}
sale_file() { # SALE_ID AMOUNT
	printf '%s\n' 'sale_id,distributor_id,date,amount' "$1,A1,2026-11-03,$2"
}

start_daemon
assert_contains "$AUDIT" '"event":"started","version":"' "audit log"
assert_eq '"mode":"daemon"' "$(grep '"event":"started"' "$AUDIT" | tail -n 1 | grep -o '"mode":"daemon"')" "mode of the last start"
loads=$(count_lines "$AUDIT" '"event":"plan_loaded"')

# ---- a file dropped while it runs ---------------------------------------------------
sale_file D1 10.00 | drop sales-1.csv
wait_for 10 "sales-1.csv to be booked and archived" archived sales-1.csv
assert_eq "D1|1000|1" "$(q "SELECT sale_id, amount, flags FROM sales")" "sales booked by the daemon"
assert_inbox_idle
kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd is not running"

# ---- a file written in place is picked up once it is closed, not before -------------------
exec 7>"$INBOX/sales-inplace.csv"
printf '%s\n' 'sale_id,distributor_id,date,amount' 'W1,A1,2026-11-03,1.00' >&7
sale_file D0 5.00 | drop sales-0.csv # makes the daemon scan while the writer is busy
wait_for 10 "sales-0.csv to be booked" archived sales-0.csv
assert_file "$INBOX/sales-inplace.csv" "a file still open for writing"
assert_eq "0" "$(q "SELECT count(*) FROM files WHERE name = 'sales-inplace.csv'")" "files booked while still being written"
assert_contains "$LOG" "sales-inplace.csv: still open for writing: left in the inbox until it is closed" "payoutd log"
echo 'W2,A1,2026-11-03,2.00' >&7
exec 7>&-
wait_for 10 "sales-inplace.csv to be booked once closed" archived sales-inplace.csv
assert_eq "W1|100
W2|200" "$(q "SELECT sale_id, amount FROM sales WHERE sale_id LIKE 'W%' ORDER BY sale_id")" "sales of the file written in place"
assert_eq "2|2" "$(q "SELECT rows, sales FROM files WHERE name = 'sales-inplace.csv'")" "rows of the file written in place"

# ---- SIGHUP with an invalid plan: keeps running on the old one ----------------------------
sed 's/^currency: EUR$/currency: EURO/' "$SRCDIR/demo/plan.yaml" >"$PLAN.new"
mv "$PLAN.new" "$PLAN"
kill -HUP "$DAEMON_PID"
_reload_failed() { grep -qF "reload failed: keeping the running config and plan" "$LOG"; }
wait_for 10 "the failed reload to be logged" _reload_failed
assert_contains "$LOG" "$PLAN:3:11: currency: \"EURO\" is not a three-letter ISO 4217 code" "payoutd log"
kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd died after SIGHUP with an invalid plan"
assert_eq "$loads" "$(count_lines "$AUDIT" '"event":"plan_loaded"')" "plan_loaded lines after a failed reload"
sale_file D2 20.00 | drop sales-2.csv
wait_for 10 "sales-2.csv to be booked after the failed reload" archived sales-2.csv
assert_eq "2000" "$(q "SELECT amount FROM sales WHERE sale_id = 'D2'")" "D2 booked"

# ---- SIGHUP with a valid (renamed) plan: a new plan_loaded line ---------------------------
sed 's/^plan: Example Unilevel 2026$/plan: Example Unilevel 2026 v2/' "$SRCDIR/demo/plan.yaml" >"$PLAN.new"
grep -q '^plan: Example Unilevel 2026 v2$' "$PLAN.new" || fail "could not rename the plan"
mv "$PLAN.new" "$PLAN"
kill -HUP "$DAEMON_PID"
_reloaded() { (($(count_lines "$AUDIT" '"event":"plan_loaded"') > loads)); }
wait_for 10 "a new plan_loaded line" _reloaded
plan_sha=$(sha256sum <"$PLAN" | cut -d' ' -f1)
tail -n 1 "$AUDIT" | grep -qF '"event":"plan_loaded","plan":"Example Unilevel 2026 v2","path":"'"$PLAN"'","sha256":"'"$plan_sha"'"' ||
	fail "last audit line: expected plan_loaded of the new plan (sha256 $plan_sha), found: $(tail -n 1 "$AUDIT")"
assert_contains "$LOG" "reloaded: plan Example Unilevel 2026 v2 (sha256 $plan_sha)" "payoutd log"
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "plan:          Example Unilevel 2026 v2" "status"
assert_contains "$OUT" "files:         6 accepted, 0 rejected" "status"

# ---- a second payoutd on the same ledger refuses to run ---------------------------------------
lines=$(wc -l <"$AUDIT")
once_starts=$(count_lines "$AUDIT" '"mode":"once"')
sale_file D3 30.00 | drop sales-3.csv
run timeout $((20 * E2E_TIME_SCALE)) "$PAYOUTD" -c "$CONF" --once
assert_eq 1 "$RC" "exit status of a second payoutd"
assert_contains "$OUT" "another payoutd is already running on ledger $DB as process $DAEMON_PID" "second payoutd"
# the running daemon books the file; the second one added nothing to the log
wait_for 10 "sales-3.csv to be booked by the running daemon" archived sales-3.csv
assert_eq "$once_starts" "$(count_lines "$AUDIT" '"mode":"once"')" "started lines of the refused payoutd"
((lines < $(wc -l <"$AUDIT"))) || fail "audit.log: expected the file_booked line of sales-3.csv"

# ---- payoutctl works while the daemon runs, even while it books ---------------------------------
audit_verify_ok
(
	for ((i = 10; i < 30; i++)); do
		sale_file "D$i" 1.00 | drop "sales-$i.csv"
		sleep 0.02
	done
) &
dropper=$!
for ((i = 0; i < 20; i++)); do
	run "$PAYOUTCTL" -c "$CONF" audit verify
	[[ $RC -eq 0 ]] || { wait "$dropper" || true; fail "audit verify while the daemon books exited $RC: $(cat "$OUT")"; }
done
wait "$dropper"
wait_for 10 "the last of 20 files to be booked" archived sales-29.csv
assert_eq "26" "$(q 'SELECT count(*) FROM sales')" "sales booked by the daemon"
audit_verify_ok
run "$PAYOUTCTL" -c "$CONF" status
assert_eq 0 "$RC" "status while the daemon runs"
assert_contains "$OUT" "files:         27 accepted, 0 rejected" "status"

# ---- SIGTERM: exit 0 within 5 s, "stopped" last ---------------------------------------------------
stop_daemon TERM
assert_eq 0 "$RC" "exit status after SIGTERM"
tail -n 1 "$AUDIT" | grep -qF '"event":"stopped","reason":"signal"' ||
	fail "last audit line: expected the stopped event, found: $(tail -n 1 "$AUDIT")"
assert_contains "$LOG" "payoutd: stopped" "payoutd log"
audit_verify_ok
assert_eq "$(q 'SELECT count(*) FROM audit')" "$(wc -l <"$AUDIT")" "audit lines in file and ledger"
assert_inbox_idle
# the lock is free again
run_once
pass
