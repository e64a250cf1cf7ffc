#!/usr/bin/env bash
# refunds: a refund (in the same file or a later one) is booked into its
# original's period whatever its own date; partial refunds add up and the one
# that exceeds what is left rejects its whole file; a refund's pv/cv are
# negative and use the original's promotion multipliers; a re-sent refund row
# is a duplicate, not a second refund.
source "$(dirname "$0")/lib.sh"

write_config
book_base
NOV=24322
DEC=24323
P=november-skincare

drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
S1,A1,2026-11-10,100.00,SKIN-01,2,,,
R1,A1,2026-12-15,-30.00,SKIN-01,1,,,S1
S2,B1,2026-12-03,50.00,SKIN-01,1,,,
R2,B1,2026-11-20,-50.00,SKIN-01,1,,,S2
S4,A1,2026-11-25,20.00,VIT-01,1,,,
EOF
run_once
assert_eq "5|5|2|0" "$(q "SELECT rows, sales, refunds, duplicates FROM files WHERE name = 'sales-1.csv'")" "sales-1.csv counts"

# refunds in a later file, dated long after (and before) their original
drop sales-2.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
R3,A1,2027-01-05,-50.00,,,,,S1
R4,A1,2026-11-11,-10.00,,,-5.00,-4.00,S1
EOF
run_once
assert_eq "2|2|2" "$(q "SELECT rows, sales, refunds FROM files WHERE name = 'sales-2.csv'")" "sales-2.csv counts"

# ---- what is left of S1 is 10.00: 10.01 rejects the file, with its good rows --------------
snapshot=$(ledger_dump)
drop sales-3.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
S3,B1,2026-11-12,7.00,,,,,
R5,A1,2026-11-12,-10.01,,,,,S1
EOF
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after a refund exceeding the remainder"
assert_rejected sales-3.csv \
	'Reason: 1 bad row; first: sales-3.csv:3:4: column "amount": value "-10.01": refund of 10.01 exceeds what is left of sale S1 (10.00)'
assert_eq "0" "$(q "SELECT count(*) FROM sales WHERE sale_id = 'S3'")" "S3 of the rejected file"

# exactly the rest is fine
printf '%s\n' 'sale_id,distributor_id,date,amount,refund_of' 'R5,A1,2026-11-12,-10.00,S1' | drop sales-4.csv
run_once
assert_eq "0" "$(q "SELECT sum(amount) FROM sales WHERE sale_id = 'S1' OR refund_of = 'S1'")" "what is left of S1"

# ---- more bad refunds, each named --------------------------------------------------------------
snapshot=$(ledger_dump)
drop sales-5.csv <<'EOF'
sale_id,distributor_id,date,amount,pv,refund_of
R6,A1,2026-11-12,-0.01,,S1
R7,A1,2026-11-12,-1.00,1.00,S4
R8,A1,2026-11-12,5.00,,S4
R9,B1,2026-11-12,-1.00,,S4
R10,A1,2026-11-12,-1.00,,R10
R11,A1,2026-11-12,-1.00,,R1
EOF
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after bad refunds"
assert_rejected sales-5.csv \
	'6 errors (line, column, value, reason):' \
	'sales-5.csv:2:4: column "amount": value "-0.01": refund of 0.01 exceeds what is left of sale S1 (0.00)' \
	'sales-5.csv:3:5: column "pv": value "1.00": a refund'"'"'s volume must not be positive' \
	'sales-5.csv:4:6: column "refund_of": value "S4": refund_of is set but the amount is not negative' \
	'sales-5.csv:5:2: column "distributor_id": value "B1": the refunded sale belongs to distributor A1' \
	'sales-5.csv:6:6: column "refund_of": value "R10": a sale cannot refund itself' \
	'sales-5.csv:7:6: column "refund_of": value "R1": that sale is itself a refund'

# ---- partial refunds in one file add up; a re-sent refund is a duplicate -------------------------
drop sales-6.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
R3,A1,2027-01-05,-50.00,,,,,S1
R12,A1,2026-11-26,-5.00,,,,,S4
R13,A1,2026-11-27,-15.00,,,,,S4
EOF
run_once
# rows|sales|refunds|duplicates
assert_eq "3|2|2|1" "$(q "SELECT rows, sales, refunds, duplicates FROM files WHERE name = 'sales-6.csv'")" "sales-6.csv counts"
grep '"name":"sales-6.csv"' "$AUDIT" | grep -qF '"duplicates":1,"refunds":2,' ||
	fail "file_booked of sales-6.csv: expected duplicates 1, refunds 2: $(grep sales-6.csv "$AUDIT")"
assert_eq "$(q "SELECT id FROM files WHERE name = 'sales-2.csv'")" "$(q "SELECT file_id FROM sales WHERE sale_id = 'R3'")" "R3 stays booked from sales-2.csv"

# ---- the booked rows ----------------------------------------------------------------------------
# sale_id|day|amount|pv|cv|booked_period|flags|refund_of|promo|pv_mult|cv_mult
expected="R1|$(day 2026-12-15)|-3000|-8000|-3200|$NOV|1|S1|$P|2000000|1000000
R12|$(day 2026-11-26)|-500|-500|-500|$NOV|1|S4|||
R13|$(day 2026-11-27)|-1500|-1500|-1500|$NOV|1|S4|||
R2|$(day 2026-11-20)|-5000|-4000|-3200|$DEC|1|S2|||
R3|$(day 2027-01-05)|-5000|-10000|-5000|$NOV|1|S1|$P|2000000|1000000
R4|$(day 2026-11-11)|-1000|-1000|-400|$NOV|1|S1|$P|2000000|1000000
R5|$(day 2026-11-12)|-1000|-2000|-1000|$NOV|1|S1|$P|2000000|1000000
S1|$(day 2026-11-10)|10000|16000|6400|$NOV|1||$P|2000000|1000000
S2|$(day 2026-12-03)|5000|4000|3200|$DEC|1||||
S4|$(day 2026-11-25)|2000|3000|2500|$NOV|1||||"
actual=$(q "SELECT sale_id, day, amount, pv, cv, booked_period, flags, coalesce(refund_of, ''), coalesce(promo, ''),
                   coalesce(pv_mult, ''), coalesce(cv_mult, '') FROM sales ORDER BY sale_id")
assert_eq "$expected" "$actual" "sales and refunds"
# every refund is at most 0 in pv and cv, and nets out with its original's period
assert_eq "0" "$(q 'SELECT count(*) FROM sales WHERE refund_of IS NOT NULL AND (pv > 0 OR cv > 0 OR amount >= 0)')" "refunds with positive values"
assert_eq "$NOV|0
$DEC|0" "$(q 'SELECT booked_period, sum(amount) FROM sales GROUP BY booked_period ORDER BY booked_period')" "net amount per booked period"

run "$PAYOUTCTL" -c "$CONF" status
grep -Eq '^  2026-11 +8 sales, net 0\.00 EUR; 0 late, 0 clawbacks, 0 unattributed$' "$OUT" ||
	fail "status: expected 8 sales net 0.00 in 2026-11, found: $(cat "$OUT")"
grep -Eq '^  2026-12 +2 sales, net 0\.00 EUR; 0 late, 0 clawbacks, 0 unattributed$' "$OUT" ||
	fail "status: expected 2 sales net 0.00 in 2026-12, found: $(cat "$OUT")"
assert_contains "$OUT" "files:         6 accepted, 2 rejected" "status"
assert_inbox_idle
audit_verify_ok
pass
