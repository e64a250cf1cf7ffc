#!/usr/bin/env bash
# close_unattributed_refund: a sale and its refund both wait for their
# distributor across a forced close; when the distributor arrives both are
# booked late into the earliest open period, and the refund nets out there
# with its original (SPEC 11.11) instead of becoming a clawback of a period
# that never counted the sale.
source "$(dirname "$0")/lib.sh"

write_config
printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'A1,,Anna,2025-03-01' | drop distributors-1.csv
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount,refund_of
U1,Z,2026-11-07,100.00,
UR1,Z,2026-11-20,-40.00,U1
S1,A1,2026-11-08,150.00,
EOF2
run_once
close_ok 2026-11 --force
printf '%s\n' 'distributor_id,sponsor_id,name,join_date' 'Z,A1,Zora,2026-11-01' | drop distributors-2.csv
run_once
DEC=24323
assert_eq "U1|$DEC|3
UR1|$DEC|1" "$(q "SELECT sale_id, booked_period, flags FROM sales WHERE distributor_id = 'Z' ORDER BY sale_id")" \
	"both booked into December: U1 late (flags 3), UR1 with it (flags 1, not a clawback)"
close_ok 2026-12
# Z: PV = CV = 100.00 - 40.00 = 60.00 in December; retail 20% of 60.00 = 12.00
grep -q '"base": "60.00"' "$STATEMENTS/2026-12/Z.json" || fail "Z's December retail base is not 60.00: $(cat "$STATEMENTS/2026-12/Z.json")"
grep -q '"amount": "12.00"' "$STATEMENTS/2026-12/Z.json" || fail "Z's December retail is not 12.00"
grep -q '"net_sales": "60.00"' "$STATEMENTS/2026-12/summary.json" || fail "December net sales are not 60.00: $(cat "$STATEMENTS/2026-12/summary.json")"
! grep -q '"clawback"' "$STATEMENTS/2026-12/Z.json" || fail "Z got a clawback line"
audit_verify_ok
pass
