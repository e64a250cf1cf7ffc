#!/usr/bin/env bash
# close_due: `payoutctl close --due` (what the daily timer runs) closes every
# period whose end plus the grace (3d here) has passed, in the plan's time
# zone, and never the current one; run again it closes nothing, says so and
# exits 0. A shorter grace makes the previous month due at once. The dates
# are relative to today, so the test holds whatever the clock says.
source "$(dirname "$0")/lib.sh"

write_config
export TZ=Europe/Berlin # the plan's time zone: month boundaries and the grace count there
mid=$(date +%Y-%m-15)
M0=$(date -d "$mid" +%Y-%m)            # this month: never due
M1=$(date -d "$mid -1 month" +%Y-%m)   # due once its end + 3 days has passed: from the 4th
M2=$(date -d "$mid -2 month" +%Y-%m)   # always due
M3=$(date -d "$mid -3 month" +%Y-%m)
day_of_month=$(date +%-d)
hour=$(date +%-H)
if ((day_of_month >= 4)); then due=$M1; else due=$M2; fi

printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'A,,Anna Schmidt,2025-03-01' | drop distributors-1.csv
run_once

# ---- a fresh install: the timer fires before any sale is booked -------------------------------
# (closing then would close an empty month and push its sales, booked
# later, into the next one as late sales)
close_ok --due
assert_eq "nothing is due: no sales are booked yet" "$(grep -v '^payoutctl:' "$OUT")" "close --due before any sale"
assert_eq 0 "$(q 'SELECT count(*) FROM periods')" "periods after close --due before any sale"

drop sales-1.csv <<EOF
sale_id,distributor_id,date,amount
S2,A,$M2-10,100.00
S1,A,$M1-10,110.00
S0,A,$M0-01,120.00
EOF
run_once

# ---- --dry-run --due: the due periods' folders, nothing recorded -----------------------------
audit_before=$(sha256sum "$AUDIT")
close_ok --due --dry-run
assert_eq 0 "$(q 'SELECT count(*) FROM periods')" "periods after close --due --dry-run"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after close --due --dry-run"
assert_file "$STATEMENTS/$due.dry-run/summary.json" "dry run of $due"

# ---- --due ------------------------------------------------------------------------------
close_ok --due
if [[ $due == "$M1" ]]; then
	assert_eq "closed $M2 to $M1" "$(grep -v '^payoutctl:' "$OUT")" "output of close --due (on day $day_of_month)"
	assert_eq "$M2 $M1" "$(q 'SELECT name FROM periods ORDER BY period' | tr '\n' ' ' | sed 's/ $//')" "periods closed by close --due"
else
	assert_eq "closed $M2" "$(grep -v '^payoutctl:' "$OUT")" "output of close --due (on day $day_of_month: $M1 not due yet)"
	assert_eq "$M2" "$(q 'SELECT name FROM periods ORDER BY period')" "periods closed by close --due"
fi
assert_eq "0" "$(q "SELECT count(*) FROM periods WHERE name = '$M0'")" "the current month is not closed"
assert_eq "0" "$(q "SELECT count(*) FROM periods WHERE name = '$M3'")" "no period before the first sale's"
assert_no_file "$STATEMENTS/$M0" "statements of the current month"
for p in $(q 'SELECT name FROM periods'); do
	assert_sums_ok "$STATEMENTS/$p"
done
# M2: A PV 100 (active): retail 100.00 x 0.20 = 20.00, fee -1.50: 18.50 paid
assert_contains "$STATEMENTS/$M2/payouts.csv" "A,Anna Schmidt,,EUR,18.50"

# ---- again: nothing is due ----------------------------------------------------------------
sums_before=$(tree_sums "$STATEMENTS")
audit_before=$(sha256sum "$AUDIT")
close_ok --due
assert_eq "nothing is due" "$(cat "$OUT")" "output of a second close --due"
assert_eq "$sums_before" "$(tree_sums "$STATEMENTS")" "statements after a second close --due"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after a second close --due"

# ---- a grace of one hour: the previous month is due (past the first hour of this one) ------------
if ((day_of_month > 1 || hour >= 2)); then
	sed -i 's/^  grace: 3d$/  grace: 1h/' "$CONF"
	assert_contains "$CONF" "grace: 1h"
	close_ok --due
	if [[ $due == "$M1" ]]; then
		assert_eq "nothing is due" "$(cat "$OUT")" "output of close --due with 1h grace"
	else
		assert_eq "closed $M1" "$(grep -v '^payoutctl:' "$OUT")" "output of close --due with 1h grace"
	fi
	assert_eq "$M2 $M1" "$(q 'SELECT name FROM periods ORDER BY period' | tr '\n' ' ' | sed 's/ $//')" "periods after close --due with 1h grace"
	assert_eq "0" "$(q "SELECT count(*) FROM periods WHERE name = '$M0'")" "the current month is not closed (1h grace)"
fi

# usage: --due and a period together
run "$PAYOUTCTL" -c "$CONF" close "$M0" --due
assert_eq 2 "$RC" "exit status of close PERIOD --due ($(cat "$OUT"))"
audit_verify_ok
pass
