#!/usr/bin/env bash
# close_crash: a close writes statements/.PERIOD.tmp, commits, appends its
# audit line, then renames the folder into place and records that. A crash
# right after the commit leaves the period closed in the ledger with its
# folder still under the temporary name (and the audit file a line behind).
# The next `payoutd --once`, daemon start or `payoutctl close` publishes it:
# the folder comes back byte for byte as written (vs a copy, vs its
# SHA256SUMS, vs the hash the ledger and the audit line recorded). A
# temporary folder that was damaged or lost is made again from the ledger
# alone, byte for byte. A temporary folder of a close that crashed before its
# commit publishes nothing and is replaced by the next close of that period;
# a published folder that was deleted later is not made again.
source "$(dirname "$0")/lib.sh"

write_config
book_base
drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S1,A1,2026-11-03,150.00,,
S2,B1,2026-11-04,120.00,VIT-01,4
S3,B2,2026-11-05,80.00,SKIN-01,2
S4,A1,2026-12-03,130.00,,
S5,B1,2026-12-04,90.00,,
S9,B2,2026-12-09,20.00,,
S6,A1,2027-01-03,110.00,,
S7,B2,2027-01-08,60.00,,
S8,A1,2027-02-03,140.00,,
EOF
run_once

# crash_after_commit PERIOD: the state a crash right after the commit of
# PERIOD's close leaves: the folder under its temporary name and the
# period_closed line not yet in the audit file (it is in the ledger).
crash_after_commit() {
	local p=$1
	assert_eq '"event":"period_closed","period":"'"$p"'"' \
		"$(tail -n 1 "$AUDIT" | grep -o '"event":"period_closed","period":"[^"]*"')" "last audit line before the simulated crash"
	unpublish "$p"
	head -n -1 "$AUDIT" >"$T/audit.cut"
	cat "$T/audit.cut" >"$AUDIT"
}

# unpublish PERIOD: the folder back under its temporary name, and the ledger
# back to "committed, not published" (what a crash before the rename leaves).
unpublish() {
	mv "$STATEMENTS/$1" "$STATEMENTS/.$1.tmp"
	sqlite3 -batch "$DB" "UPDATE periods SET published = 0 WHERE name = '$1'"
}

# assert_published PERIOD COPY: the folder is back as it was written.
assert_published() {
	local p=$1 copy=$2
	assert_no_file "$STATEMENTS/.$p.tmp" "temporary folder of $p after the recovery"
	[[ -d $STATEMENTS/$p ]] || fail "statements/$p was not published; statements holds: $(ls -A "$STATEMENTS" | tr '\n' ' ')"
	diff -r "$copy" "$STATEMENTS/$p" >"$T/diff.txt" 2>&1 || fail "statements/$p differs from the folder first written: $(head -c 3000 "$T/diff.txt")"
	assert_eq "$(tree_sums "$copy")" "$(tree_sums "$STATEMENTS/$p")" "sha256 of every file of $p"
	assert_sums_ok "$STATEMENTS/$p"
	local sums
	sums=$(sha256sum "$STATEMENTS/$p/SHA256SUMS" | cut -d' ' -f1)
	assert_eq "$sums" "$(q "SELECT manifest_sha256 FROM periods WHERE name = '$p'")" "SHA256SUMS of $p vs the ledger"
	grep '"event":"period_closed","period":"'"$p"'"' "$AUDIT" | grep -qF '"SHA256SUMS":"'"$sums"'"' ||
		fail "the period_closed line of $p does not pin its SHA256SUMS ($sums)"
}

# ---- 1. payoutd --once publishes a committed close ---------------------------------------
close_ok 2026-11
assert_sums_ok "$STATEMENTS/2026-11"
cp -a "$STATEMENTS/2026-11" "$T/copy-2026-11"
crash_after_commit 2026-11
# the ledger has the period; the file is a line behind until payoutd starts
run "$PAYOUTCTL" -c "$CONF" audit verify
assert_eq 5 "$RC" "audit verify with the period_closed line missing ($(cat "$OUT"))"
# closing it again is a no-op for the ledger, and finishes the publication too
run_once
assert_contains "$LOG" "published the statements of 2026-11 after a restart"
assert_published 2026-11 "$T/copy-2026-11"
audit_verify_ok
assert_eq 1 "$(count_lines "$AUDIT" '"event":"period_closed"')" "period_closed lines after the recovery"
# a second start finds nothing to do
run_once
assert_not_contains "$LOG" "published the statements"
assert_published 2026-11 "$T/copy-2026-11"

# ---- 2. payoutctl close of a later period publishes it first --------------------------------
close_ok 2026-12
cp -a "$STATEMENTS/2026-12" "$T/copy-2026-12"
crash_after_commit 2026-12
close_ok 2027-01
assert_eq "closed 2027-01" "$(grep -v '^payoutctl:' "$OUT")" "output of close 2027-01"
assert_published 2026-12 "$T/copy-2026-12"
assert_sums_ok "$STATEMENTS/2027-01"
audit_verify_ok
assert_eq "2026-11 2026-12 2027-01" \
	"$(grep -o '"event":"period_closed","period":"[^"]*"' "$AUDIT" | cut -d'"' -f8 | tr '\n' ' ' | sed 's/ $//')" \
	"period_closed audit lines"
# B2 carried 20.00 x 0.20 - 1.50 = 2.50 out of 2026-12 into 2027-01, whose close built on the recovered period
DEC=$((2026 * 12 + 11))
assert_eq "250|250" "$(q "SELECT r.carried_out, n.carried_in FROM period_results r JOIN period_results n
                          ON n.distributor_id = r.distributor_id AND n.period = r.period + 1
                          WHERE r.period = $DEC AND r.distributor_id = 'B2'")" "B2's balance from 2026-12 to 2027-01"
assert_contains "$STATEMENTS/2027-01/B2.json" '"type": "carry_in",
      "amount": "2.50"'

# ---- 3. closing an already closed period also publishes a pending folder -------------------------
cp -a "$STATEMENTS/2027-01" "$T/copy-2027-01"
crash_after_commit 2027-01
close_ok 2027-01
assert_eq "2027-01 is already closed: nothing to do" "$(grep -v '^payoutctl:' "$OUT")" "output of closing 2027-01 again"
assert_published 2027-01 "$T/copy-2027-01"
audit_verify_ok

# ---- 4. the daemon's start publishes too ---------------------------------------------------
crash_after_commit 2027-01
# ... but not while a close runs (its lock held): that close publishes its own folder
exec {held}>"$DB.close.lock"
flock -n "$held" || fail "cannot take $DB.close.lock for the test"
run_once
assert_contains "$LOG" "a close is running: it publishes its statements itself"
assert_no_file "$STATEMENTS/2027-01" "2027-01 published by payoutd while a close held the lock"
[[ -d $STATEMENTS/.2027-01.tmp ]] || fail "the temporary folder of 2027-01 is gone"
exec {held}>&-
start_daemon
wait_for 10 "the daemon to publish 2027-01" test -d "$STATEMENTS/2027-01"
stop_daemon
assert_eq 0 "$RC" "daemon exit status"
assert_published 2027-01 "$T/copy-2027-01"
audit_verify_ok

# ---- 4b. a temporary folder that is not what the ledger recorded is made again ----------------
unpublish 2027-01
sed -i 's/"period": "2027-01"/"period": "2027-00"/' "$STATEMENTS/.2027-01.tmp/A1.json"
echo "stray" >"$STATEMENTS/.2027-01.tmp/stray.txt"
run_once
assert_contains "$LOG" "the statements of closed period 2027-01 were not published"
assert_contains "$LOG" "A1.json is missing or differs from SHA256SUMS; making them again from the ledger"
assert_contains "$LOG" "published the statements of 2027-01, made again from the ledger"
assert_no_file "$STATEMENTS/2027-01/stray.txt" "a stray file of the damaged folder"
assert_published 2027-01 "$T/copy-2027-01"
audit_verify_ok

# ---- 4c. a lost temporary folder: made again from the ledger, byte for byte ------------------
unpublish 2026-12
rm -rf "$STATEMENTS/.2026-12.tmp"
run_once
assert_contains "$LOG" ".2026-12.tmp is missing; making them again from the ledger"
assert_published 2026-12 "$T/copy-2026-12"
audit_verify_ok
assert_eq "1" "$(q "SELECT published FROM periods WHERE name = '2026-12'")" "2026-12 recorded as published"

# ---- 4d. a crash after the rename, before it was recorded: recorded, nothing else ------------
sqlite3 -batch "$DB" "UPDATE periods SET published = 0 WHERE name = '2026-11'"
run_once
assert_not_contains "$LOG" "published the statements"
assert_eq "1" "$(q "SELECT published FROM periods WHERE name = '2026-11'")" "2026-11 recorded as published"
assert_published 2026-11 "$T/copy-2026-11"

# ---- 4e. a published folder the operator deleted is the operator's business ------------------
mv "$STATEMENTS/2026-11" "$T/kept-2026-11"
run_once
assert_no_file "$STATEMENTS/2026-11" "a deleted, published folder"
assert_no_file "$STATEMENTS/.2026-11.tmp" "a temporary folder for a deleted, published folder"
mv "$T/kept-2026-11" "$STATEMENTS/2026-11"

# ---- 5. a crash before the commit: the temporary folder is not published -------------------------
mkdir "$STATEMENTS/.2027-02.tmp"
echo "half-written" >"$STATEMENTS/.2027-02.tmp/A1.json"
run_once
assert_no_file "$STATEMENTS/2027-02" "a folder of an uncommitted close"
assert_eq 0 "$(q "SELECT count(*) FROM periods WHERE name = '2027-02'")" "2027-02 is not closed"
close_ok 2027-02
assert_no_file "$STATEMENTS/.2027-02.tmp" "the temporary folder after the close"
assert_sums_ok "$STATEMENTS/2027-02"
assert_not_contains "$STATEMENTS/2027-02/A1.json" "half-written"
assert_eq '"period": "2027-02",' "$(sed -n 2p "$STATEMENTS/2027-02/A1.json" | sed 's/^ *//')" "A1.json of 2027-02"
assert_eq "2026-11 2026-12 2027-01 2027-02" "$(ls -A "$STATEMENTS" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "statements folder at the end"
for p in 2026-11 2026-12 2027-01; do
	assert_published $p "$T/copy-$p"
done
audit_verify_ok
pass
