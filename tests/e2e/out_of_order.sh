#!/usr/bin/env bash
# out_of_order: sales for distributors not yet known are booked unattributed
# (flags bit 1 clear) and listed by `payoutctl status`; when the distributors
# file arrives they become attributed (and are counted as such in its
# file_booked line). A sponsor may come later in the same file. A
# `terminated` row adds a distributor_status row, shown by status; `active`
# lifts it again.
source "$(dirname "$0")/lib.sh"

write_config
printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'A1,,Anna Schmidt,2025-03-01' | drop distributors-1.csv
drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount,refund_of
U1,X1,2026-11-03,10.00,
U2,X1,2026-11-05,20.00,
U3,X2,2026-11-04,5.00,
U4,A1,2026-11-06,1.00,
U5,X1,2026-11-20,-4.00,U1
EOF
run_once

# ---- unattributed -------------------------------------------------------------
NOV=24322
assert_eq "U1|X1|1000|$NOV|0
U2|X1|2000|$NOV|0
U3|X2|500|$NOV|0
U4|A1|100|$NOV|1
U5|X1|-400|$NOV|0" "$(q 'SELECT sale_id, distributor_id, amount, booked_period, flags FROM sales ORDER BY sale_id')" \
	"sales before their distributors are known"
assert_eq "5|5|4|1" "$(q "SELECT rows, sales, unattributed, refunds FROM files WHERE name = 'sales-1.csv'")" "sales-1.csv counts"
grep '"name":"sales-1.csv"' "$AUDIT" | grep -qF '"late":0,"unattributed":4,"duplicates":0,"refunds":1,"clawbacks":0,"attributed":0' ||
	fail "file_booked of sales-1.csv: expected unattributed 4: $(grep sales-1.csv "$AUDIT")"
assert_contains "$LOG" "sales-1.csv: booked 5 rows (5 sales, 0 distributors, 0 products; 0 late, 4 unattributed"

run "$PAYOUTCTL" -c "$CONF" status
assert_eq 0 "$RC" "status exit"
assert_contains "$OUT" "unattributed:  4 sales for distributors not yet known:" "status"
assert_contains "$OUT" "  X1: 3 sales from 2026-11-03" "status"
assert_contains "$OUT" "  X2: 1 sales from 2026-11-04" "status"
assert_not_contains "$OUT" "  A1: " "status"
grep -Eq '^  2026-11 +5 sales, net 1\.00 EUR; 0 late, 0 clawbacks, 4 unattributed$' "$OUT" ||
	fail "status: expected the 2026-11 line with 4 unattributed, found: $(cat "$OUT")"

# ---- the distributors arrive; X1's sponsor X2 comes later in the same file ----------------
drop distributors-2.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,status
X1,X2,Xaver Eins,2026-10-01,
X2,A1,Xenia Zwei,2026-09-01,active
EOF
run_once
assert_file "$ARCHIVE/$(q "SELECT archive_dir FROM files WHERE name = 'distributors-2.csv'")/distributors-2.csv" "distributors-2.csv archived"
assert_eq "A1|
X1|X2
X2|A1" "$(q "SELECT id, coalesce(sponsor_id, '') FROM distributors ORDER BY id")" "sponsor tree"
assert_eq "U1|1
U2|1
U3|1
U4|1
U5|1" "$(q 'SELECT sale_id, flags FROM sales ORDER BY sale_id')" "flags after the distributors arrived"
assert_eq "$NOV" "$(q 'SELECT DISTINCT booked_period FROM sales')" "booked periods after attribution"
assert_eq "2|2|4" "$(q "SELECT rows, distributors, attributed FROM files WHERE name = 'distributors-2.csv'")" "distributors-2.csv counts"
grep '"name":"distributors-2.csv"' "$AUDIT" | grep -qF '"distributors":2,"products":0,"late":0,"unattributed":0,"duplicates":0,"refunds":0,"clawbacks":0,"attributed":4' ||
	fail "file_booked of distributors-2.csv: expected attributed 4: $(grep distributors-2.csv "$AUDIT")"
assert_contains "$LOG" "distributors-2.csv: booked 2 rows (0 sales, 2 distributors, 0 products; 0 late, 0 unattributed, 0 duplicates, 4 attributed)"
# an explicit "active" for a distributor that never was terminated records nothing
assert_eq "0" "$(q 'SELECT count(*) FROM distributor_status')" "distributor_status rows"

run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "unattributed:  none" "status"
assert_contains "$OUT" "distributors:  3 (0 terminated)" "status"
grep -Eq '^  2026-11 +5 sales, net 32\.00 EUR; 0 late, 0 clawbacks, 0 unattributed$' "$OUT" ||
	fail "status: expected the 2026-11 line with 0 unattributed, found: $(cat "$OUT")"

# a later sale for a now known distributor is attributed at once
printf '%s\n' 'sale_id,distributor_id,date,amount' 'U6,X2,2026-11-21,3.00' | drop sales-2.csv
run_once
assert_eq "1" "$(q "SELECT flags FROM sales WHERE sale_id = 'U6'")" "flags of a sale for a known distributor"
assert_eq "0" "$(q "SELECT unattributed FROM files WHERE name = 'sales-2.csv'")" "unattributed in sales-2.csv"

# ---- termination --------------------------------------------------------------------
drop distributors-3.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,status
X1,X2,Xaver Eins,2026-10-01,terminated
EOF
run_once
file3=$(q "SELECT id FROM files WHERE name = 'distributors-3.csv'")
# nothing closed yet: it takes effect from the very first period (LEDGER_NO_CLOSE = INT32_MIN)
assert_eq "X1|-2147483648|1|$file3" "$(q 'SELECT distributor_id, from_period, terminated, file_id FROM distributor_status')" "distributor_status after termination"
assert_eq "X2" "$(q "SELECT sponsor_id FROM distributors WHERE id = 'X1'")" "X1's sponsor after termination"
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "distributors:  3 (1 terminated)" "status"

# terminating again records nothing new; a file without a status column changes nothing
drop distributors-4.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,status
X1,X2,Xaver Eins,2026-10-01,terminated
EOF
drop distributors-5.csv <<'EOF'
distributor_id,sponsor_id,name,join_date
X1,X2,Xaver Eins-Neu,2026-10-01
EOF
run_once
assert_eq "1" "$(q 'SELECT count(*) FROM distributor_status')" "distributor_status rows after repeats"
assert_eq "Xaver Eins-Neu" "$(q "SELECT name FROM distributors WHERE id = 'X1'")" "X1's name updated"
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "distributors:  3 (1 terminated)" "status"

# "active" lifts the termination
drop distributors-6.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,status
X1,X2,Xaver Eins,2026-10-01,active
EOF
run_once
file6=$(q "SELECT id FROM files WHERE name = 'distributors-6.csv'")
assert_eq "X1|-2147483648|1|$file3
X1|-2147483648|0|$file6" "$(q 'SELECT distributor_id, from_period, terminated, file_id FROM distributor_status ORDER BY seq')" \
	"distributor_status after reactivation"
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "distributors:  3 (0 terminated)" "status"

assert_inbox_idle
audit_verify_ok
pass
