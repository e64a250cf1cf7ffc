#!/usr/bin/env bash
# close_rules: the rules of `payoutctl close` (SPEC 2, 5, 11.9, 11.10, 11.20).
#  - unattributed sales dated in or before the period refuse the close (exit 4,
#    each listed; nothing changes), later-dated ones do not; --force closes;
#  - --dry-run writes statements/PERIOD.dry-run, the same bytes a real close
#    writes, and changes neither the ledger nor the audit log;
#  - closing a closed period exits 0, says so and changes nothing;
#  - late sales (dated in a closed period, or attributed after it closed) are
#    booked into the earliest open period, flagged late, counted there, with
#    the promotion of their own date;
#  - closing a later period closes every open period before it, oldest
#    first, an empty one included (summary, header-only payouts.csv);
#  - `payoutctl statement`; `audit verify` after all of it.
source "$(dirname "$0")/lib.sh"

write_config
echo "$PRODUCTS_CSV" | drop products-1.csv
drop distributors-1.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,iban
A,,Anna Schmidt,2025-03-01,DE89370400440532013000
B,A,Bernd Müller,2025-06-15,DE44500105175407324931
EOF
run_once
# Z and Y are not known yet: their sales wait, unattributed
drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount
N1,A,2026-11-05,150.00
N2,B,2026-11-06,50.00
U1,Z,2026-11-15,60.00
U2,Y,2026-12-10,60.00
EOF
run_once
NOV=$((2026 * 12 + 11 - 1))
DEC=$((NOV + 1))

# ---- refused: an unattributed sale dated in 2026-11 ------------------------------------
audit_before=$(sha256sum "$AUDIT")
ledger_before=$(ledger_dump)
run "$PAYOUTCTL" -c "$CONF" close 2026-11
assert_eq 4 "$RC" "exit status of a refused close ($(cat "$OUT"))"
assert_contains "$OUT" "close of 2026-11 refused: 1 unattributed sale is dated in or before it"
assert_contains "$OUT" "  Z: 1 sale from 2026-11-15"
assert_not_contains "$OUT" "  Y: " "a sale dated after the period does not refuse it"
assert_eq 0 "$(q 'SELECT count(*) FROM periods')" "periods after a refused close"
assert_eq 0 "$(q 'SELECT count(*) FROM period_results')" "period_results after a refused close"
assert_eq 0 "$(q 'SELECT count(*) FROM period_sources')" "period_sources after a refused close"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after a refused close"
assert_eq "$ledger_before" "$(ledger_dump)" "ledger after a refused close"
[[ ! -d $STATEMENTS ]] || assert_dir_empty "$STATEMENTS" "statements after a refused close"
# a dry run is refused the same way
run "$PAYOUTCTL" -c "$CONF" close 2026-11 --dry-run
assert_eq 4 "$RC" "exit status of a refused dry run ($(cat "$OUT"))"
[[ ! -d $STATEMENTS ]] || assert_dir_empty "$STATEMENTS" "statements after a refused dry run"

# ---- --dry-run --force: a folder of its own, nothing else ---------------------------------
close_ok 2026-11 --dry-run --force
assert_eq "2026-11.dry-run" "$(ls -A "$STATEMENTS" | tr '\n' ' ' | sed 's/ $//')" "statements after a dry run"
assert_sums_ok "$STATEMENTS/2026-11.dry-run"
assert_eq 0 "$(q 'SELECT count(*) FROM periods')" "periods after a dry run"
assert_eq 0 "$(q 'SELECT count(*) FROM period_results')" "period_results after a dry run"
assert_eq 0 "$(q 'SELECT count(*) FROM plans')" "plans after a dry run"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after a dry run"
assert_eq "$ledger_before" "$(ledger_dump)" "ledger after a dry run"

# ---- --force: closes although Z's sale waits ------------------------------------------------
# November: A PV 150 (active), B PV 50 (inactive); U1 waits and does not count.
#   A  retail 150.00 x 0.20 = 30.00; unilevel 1 B 50.00 x 0.05 = 2.50; fee -1.50: 31.00 paid
#   B  retail 50.00 x 0.20 = 10.00; fee -1.50: 8.50 < 10.00 carried
close_ok 2026-11 --force
assert_contains "$OUT" "closed 2026-11"
assert_eq "2026-11|20000" "$(q 'SELECT name, net_sales FROM periods')" "periods after close --force"
diff -r "$STATEMENTS/2026-11.dry-run" "$STATEMENTS/2026-11" >"$T/diff.txt" ||
	fail "the dry run and the close wrote different files: $(head -c 3000 "$T/diff.txt")"
assert_eq "A|3100|0
B|0|850" "$(q 'SELECT distributor_id, paid, carried_out FROM period_results ORDER BY distributor_id')" "results of 2026-11"
printf 'distributor_id,name,iban,currency,amount\nA,Anna Schmidt,DE89370400440532013000,EUR,31.00\n' >"$T/want.csv"
cmp "$T/want.csv" "$STATEMENTS/2026-11/payouts.csv" || fail "payouts.csv of 2026-11: $(cat "$STATEMENTS/2026-11/payouts.csv")"
assert_eq "0" "$(q "SELECT flags & 1 FROM sales WHERE sale_id = 'U1'")" "U1 still unattributed"

# ---- an already closed period: exit 0, says so, changes nothing -------------------------
sums_before=$(tree_sums "$STATEMENTS")
audit_before=$(sha256sum "$AUDIT")
ledger_before=$(ledger_dump; q 'SELECT * FROM periods; SELECT count(*) FROM period_sources')
close_ok 2026-11
assert_eq "2026-11 is already closed: nothing to do" "$(cat "$OUT")" "output of closing a closed period"
close_ok 2026-11 --force
assert_eq "2026-11 is already closed: nothing to do" "$(cat "$OUT")" "output of closing a closed period with --force"
assert_eq "$sums_before" "$(tree_sums "$STATEMENTS")" "statements after closing a closed period"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after closing a closed period"
assert_eq "$ledger_before" "$(ledger_dump; q 'SELECT * FROM periods; SELECT count(*) FROM period_sources')" "ledger after closing a closed period"

# ---- late sales ------------------------------------------------------------------------
# Z becomes known: U1 (dated 2026-11-15, closed) is booked into 2026-12, late.
# L1 is dated in closed November: booked into 2026-12, late, and keeps the
# november-skincare promotion of its own date (SKIN-01: pv 40 x 2 = 80, cv 32).
printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'Z,B,Zoe Wagner,2026-10-01' | drop distributors-2.csv
drop sales-2.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
L1,A,2026-11-28,40.00,SKIN-01,1
A2,A,2026-12-02,100.00,,
B2,B,2026-12-05,20.00,,
EOF
run_once
# flags: 1 attributed, 2 late
assert_eq "L1|$DEC|3|8000|3200
U1|$DEC|3|6000|6000
U2|$DEC|0|6000|6000" "$(q "SELECT sale_id, booked_period, flags, pv, cv FROM sales WHERE sale_id IN ('L1','U1','U2') ORDER BY sale_id")" \
	"late sales booked into the earliest open period"
assert_eq 1 "$(q "SELECT late FROM files WHERE name = 'sales-2.csv'")" "late count of sales-2.csv"

# ---- a later period: refused while Y's December sale waits ----------------------------------
printf '%s\n' 'sale_id,distributor_id,date,amount' 'F1,A,2027-02-03,200.00' | drop sales-3.csv
run_once
audit_before=$(sha256sum "$AUDIT")
run "$PAYOUTCTL" -c "$CONF" close 2027-02
assert_eq 4 "$RC" "exit status of close 2027-02 with Y unknown ($(cat "$OUT"))"
assert_contains "$OUT" "close of 2027-02 refused: 1 unattributed sale is dated in or before it"
assert_contains "$OUT" "  Y: 1 sale from 2026-12-10"
assert_not_contains "$OUT" "  Z: "
assert_eq 1 "$(q 'SELECT count(*) FROM periods')" "periods after the refused close of 2027-02"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after the refused close of 2027-02"
assert_eq "2026-11 2026-11.dry-run" "$(ls -A "$STATEMENTS" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "statements after the refused close of 2027-02"

printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'Y,A,Yuri Petrov,2026-10-01' | drop distributors-3.csv
run_once
assert_eq "$DEC|1" "$(q "SELECT booked_period, flags FROM sales WHERE sale_id = 'U2'")" "U2 attributed in its own (open) period"

# ---- close 2027-02 closes 2026-12, 2027-01 (no sales) and 2027-02, in order ----------------
# December (tree A -> B -> Z, A -> Y; every one of them sold):
#   A  PV 80 (L1, promotion) + 100 (A2) = 180, CV 32 + 100 = 132: active, partner
#   B  PV/CV 20 (B2), inactive;  Z PV/CV 60 (U1, late), inactive;  Y PV/CV 60 (U2), inactive
#   GV: Z 60, B 80, Y 60, A 180 + 80 + 60 = 320
#   A  retail 132.00 x 0.20 = 26.40; unilevel 1 (tree order B, Y, then Z through inactive B):
#      B 20.00 x 0.05 = 1.00, Y 60.00 x 0.05 = 3.00, Z 60.00 x 0.05 = 3.00;
#      commissions 33.40, fee -1.50: 31.90 paid
#   B  retail 4.00, fee -1.50, carry_in 8.50: 11.00 >= 10.00 paid
#   Y  retail 12.00, fee -1.50: 10.50 paid;   Z  the same: 10.50 paid
#   net sales 40 + 100 + 20 + 60 + 60 = 280.00 (late sales included), cap limit 126.00,
#   commissions 61.40, fees -6.00, carried in 8.50, payable = paid 63.90,
#   ratio 61.40 / 280.00 = 0.21928... -> 0.2193
# January: no sales and no balance: no statement, a summary of zeros, a header-only payouts.csv.
# February: A PV/CV 200 active: retail 40.00, fee -1.50: 38.50 paid; ratio 40 / 200 = 0.2000.
close_ok 2027-02
assert_eq "closed 2026-12 to 2027-02" "$(grep -v '^payoutctl:' "$OUT")" "output of close 2027-02"
assert_eq "2026-11|20000
2026-12|28000
2027-01|0
2027-02|20000" "$(q 'SELECT name, net_sales FROM periods ORDER BY period')" "periods rows"
assert_eq "2026-11 2026-12 2027-01 2027-02" \
	"$(q 'SELECT name FROM periods ORDER BY closed_at, rowid' | tr '\n' ' ' | sed 's/ $//')" "periods in the order they were closed"
assert_eq "2026-11 2026-12 2027-01 2027-02" \
	"$(grep -o '"event":"period_closed","period":"[^"]*"' "$AUDIT" | cut -d'"' -f8 | tr '\n' ' ' | sed 's/ $//')" \
	"period_closed audit lines, in order"
for p in 2026-12 2027-01 2027-02; do
	assert_sums_ok "$STATEMENTS/$p"
done
plan_sha=$(sha256sum "$PLAN" | cut -d' ' -f1)
expect_file "$STATEMENTS/2026-12/summary.json" <<EOF
{
  "period": "2026-12",
  "plan": "Example Unilevel 2026",
  "plan_sha256": "$plan_sha",
  "currency": "EUR",
  "distributors": 4,
  "statements": 4,
  "net_sales": "280.00",
  "commissions": "61.40",
  "cap_adjustment": "0.00",
  "cap_limit": "126.00",
  "clawbacks": "0.00",
  "fees": "-6.00",
  "carried_in": "8.50",
  "payable": "63.90",
  "paid": "63.90",
  "carried_out": "0.00",
  "payout_ratio": "0.2193",
  "ranks": {
    "partner": 4,
    "bronze": 0,
    "silver": 0,
    "gold": 0
  }
}
EOF
expect_file "$STATEMENTS/2026-12/A.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "A",
  "name": "Anna Schmidt",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "180.00",
  "gv": "320.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "132.00",
      "rate": "0.20",
      "amount": "26.40"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "B",
      "base": "20.00",
      "rate": "0.05",
      "amount": "1.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "Y",
      "base": "60.00",
      "rate": "0.05",
      "amount": "3.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "Z",
      "base": "60.00",
      "rate": "0.05",
      "amount": "3.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "33.40",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "31.90",
    "paid": "31.90",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$STATEMENTS/2026-12/payouts.csv" <<'EOF'
distributor_id,name,iban,currency,amount
A,Anna Schmidt,DE89370400440532013000,EUR,31.90
B,Bernd Müller,DE44500105175407324931,EUR,11.00
Y,Yuri Petrov,,EUR,10.50
Z,Zoe Wagner,,EUR,10.50
EOF
assert_contains "$STATEMENTS/2026-12/B.json" '"type": "carry_in",
      "amount": "8.50"'
# the empty period
assert_eq "SHA256SUMS payouts.csv summary.json" "$(ls -A "$STATEMENTS/2027-01" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "files of the empty period 2027-01"
assert_eq "distributor_id,name,iban,currency,amount" "$(cat "$STATEMENTS/2027-01/payouts.csv")" "payouts.csv of the empty period"
expect_file "$STATEMENTS/2027-01/summary.json" <<EOF
{
  "period": "2027-01",
  "plan": "Example Unilevel 2026",
  "plan_sha256": "$plan_sha",
  "currency": "EUR",
  "distributors": 4,
  "statements": 0,
  "net_sales": "0.00",
  "commissions": "0.00",
  "cap_adjustment": "0.00",
  "cap_limit": "0.00",
  "clawbacks": "0.00",
  "fees": "0.00",
  "carried_in": "0.00",
  "payable": "0.00",
  "paid": "0.00",
  "carried_out": "0.00",
  "payout_ratio": "0.0000",
  "ranks": {
    "partner": 4,
    "bronze": 0,
    "silver": 0,
    "gold": 0
  }
}
EOF
assert_contains "$AUDIT" '"event":"period_closed","period":"2027-01","plan":"Example Unilevel 2026","plan_sha256":"'"$plan_sha"'","totals":{"net_sales":"0.00","commissions":"0.00","cap_adjustment":"0.00","clawbacks":"0.00","fees":"0.00","carried_in":"0.00","payable":"0.00","paid":"0.00","carried_out":"0.00"},"statements":0,'
expect_file "$STATEMENTS/2027-02/payouts.csv" <<'EOF'
distributor_id,name,iban,currency,amount
A,Anna Schmidt,DE89370400440532013000,EUR,38.50
EOF
assert_contains "$STATEMENTS/2027-02/summary.json" '"payout_ratio": "0.2000"'
assert_eq "A.html A.json SHA256SUMS payouts.csv summary.json" "$(ls -A "$STATEMENTS/2027-02" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "files of 2027-02"

# an earlier closed period now: nothing to do
sums_before=$(tree_sums "$STATEMENTS")
audit_before=$(sha256sum "$AUDIT")
close_ok 2027-01
assert_eq "2027-01 is already closed: nothing to do" "$(cat "$OUT")" "output of closing closed 2027-01"
assert_eq "$sums_before" "$(tree_sums "$STATEMENTS")" "statements after closing closed 2027-01"
assert_eq "$audit_before" "$(sha256sum "$AUDIT")" "audit log after closing closed 2027-01"

# a sale dated in closed December, booked now: into 2027-03, late
printf '%s\n' 'sale_id,distributor_id,date,amount' 'L2,B,2026-12-24,5.00' | drop sales-4.csv
run_once
assert_eq "$((NOV + 4))|3" "$(q "SELECT booked_period, flags FROM sales WHERE sale_id = 'L2'")" "L2 booked into 2027-03, late"

# ---- payoutctl statement ---------------------------------------------------------------------
run "$PAYOUTCTL" -c "$CONF" statement A
assert_eq 0 "$RC" "statement A exit status ($(cat "$OUT"))"
assert_contains "$OUT" "Statement 2027-02 — A (Anna Schmidt)" "statement A (the last closed period)"
grep -Eq '^  retail +A +200\.00 +0\.20 +40\.00$' "$OUT" || fail "statement A: expected the retail line: $(cat "$OUT")"
grep -Eq '^  paid +38\.50 EUR$' "$OUT" || fail "statement A: expected paid 38.50 EUR: $(cat "$OUT")"
run "$PAYOUTCTL" -c "$CONF" statement Z 2026-12
assert_eq 0 "$RC" "statement Z 2026-12 exit status ($(cat "$OUT"))"
assert_contains "$OUT" "Statement 2026-12 — Z (Zoe Wagner)"
run "$PAYOUTCTL" -c "$CONF" statement NOBODY
[[ $RC -ne 0 ]] || fail "statement of an unknown distributor exited 0: $(cat "$OUT")"
assert_contains "$OUT" "NOBODY"
run "$PAYOUTCTL" -c "$CONF" statement A 2031-01
[[ $RC -ne 0 ]] || fail "statement of a period never closed exited 0: $(cat "$OUT")"

# ---- usage errors -------------------------------------------------------------------------
run "$PAYOUTCTL" -c "$CONF" close 2026-13
assert_eq 2 "$RC" "exit status of close with a bad period ($(cat "$OUT"))"
run "$PAYOUTCTL" -c "$CONF" close
assert_eq 2 "$RC" "exit status of close without a period ($(cat "$OUT"))"
assert_contains "$OUT" "payoutctl: close needs a PERIOD or --due"

# ---- a folder of a period this ledger has not closed (an older ledger restored) ------------
mkdir "$STATEMENTS/2027-03"
echo "from the ledger before the restore" >"$STATEMENTS/2027-03/A.json"
run "$PAYOUTCTL" -c "$CONF" close 2027-03
assert_eq 4 "$RC" "exit status of a close over an existing folder ($(cat "$OUT"))"
assert_contains "$OUT" "close of 2027-03 refused: $STATEMENTS/2027-03 exists, but this ledger has not closed 2027-03"
assert_eq 0 "$(q "SELECT count(*) FROM periods WHERE name = '2027-03'")" "2027-03 after the refused close"
assert_eq "from the ledger before the restore" "$(cat "$STATEMENTS/2027-03/A.json")" "the folder that was there"
rm -r "$STATEMENTS/2027-03"

# ---- a second close while one runs: refused at once, with who holds it ------------------
# (flock(1) holds the lock a running close holds, for as long as this test needs)
exec {held}>"$DB.close.lock"
flock -n "$held" || fail "cannot take $DB.close.lock for the test"
echo 4242 >"$DB.close.lock"
SECONDS=0
run "$PAYOUTCTL" -c "$CONF" close 2027-03
assert_eq 4 "$RC" "exit status of a close while another runs ($(cat "$OUT"))"
assert_contains "$OUT" "another close is running on ledger $DB as process 4242"
((SECONDS < 10)) || fail "the second close waited ${SECONDS}s instead of refusing at once"
assert_eq 0 "$(q "SELECT count(*) FROM periods WHERE name = '2027-03'")" "2027-03 after the refused close"
exec {held}>&-
close_ok 2027-03
assert_eq "closed 2027-03" "$(grep -v '^payoutctl:' "$OUT")" "close once the other has finished"

audit_verify_ok
assert_eq 5 "$(count_lines "$AUDIT" '"event":"period_closed"')" "period_closed lines"
pass
