#!/usr/bin/env bash
# plan_differential: the stair-step example plan (rules/plans/stair-step-
# differential.yaml) closed through the real binaries, every number computed
# by hand below (SPEC 6.8 differential, 11.23); docs/plans.md walks through it.
source "$(dirname "$0")/lib.sh"

write_config
cp "$SRCDIR/rules/plans/stair-step-differential.yaml" "$PLAN"
# A's frontline: B (with C below) and D; E, below D, sells too little to be active.
drop distributors-1.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date
A,,Ada,2024-01-10
B,A,Ben,2024-03-01
C,B,Cem,2024-05-01
D,A,Dora,2024-07-01
E,D,Eli,2024-08-01
EOF2
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount
S1,A,2026-11-05,200.00
S2,B,2026-11-06,500.00
S3,C,2026-11-07,6000.00
S4,D,2026-11-08,3450.00
S5,E,2026-11-09,50.00
EOF2
run_once

# ---- 2026-11 ----------------------------------------------------------------------------
# PV = CV = amount; active: PV >= 100 (E is not, with 50.00).
# GV: C 6000.00 -> 15%; B 6500.00 -> 15%; E 50.00 -> 0%; D 3500.00 -> 12%;
#     A 200 + 6500 + 3500 = 10200.00 -> 21%.
# retail 10% of own CV: A 20.00, B 50.00, C 600.00, D 345.00, E 5.00 (retail pays the
#   inactive too, SPEC 11.13).
# differential: own sales at the full rate: A 200.00 x 0.21 = 42.00, B 500.00 x 0.15 = 75.00,
#   C 6000.00 x 0.15 = 900.00, D 3450.00 x 0.12 = 414.00; E earns nothing (inactive, rate 0).
#   B on C's leg: 15% - 15% = 0: no line.
#   D on E's leg: E's rate is 0%: 50.00 x 0.12 = 6.00.
#   A on B's leg: everything in it (6500.00) reached B at 15%: 6500.00 x (0.21 - 0.15) = 390.00.
#   A on D's leg: 3500.00 at 12% (E's 50.00 was raised to D's 12%): 3500.00 x 0.09 = 315.00.
# A: 20.00 + 42.00 + 390.00 + 315.00 = 767.00; B 125.00; C 1500.00; D 345 + 414 + 6 = 765.00;
# E 5.00; total 3162.00 on net sales 10200.00.
close_ok 2026-11
S=$STATEMENTS/2026-11
expect_file "$S/A.json" <<'EOF2'
{
  "period": "2026-11",
  "distributor_id": "A",
  "name": "Ada",
  "currency": "USD",
  "paid_as_rank": "member",
  "title_rank": "member",
  "active": true,
  "pv": "200.00",
  "gv": "10200.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "200.00",
      "rate": "0.10",
      "amount": "20.00"
    },
    {
      "type": "differential",
      "source": "A",
      "base": "200.00",
      "rate": "0.21",
      "amount": "42.00"
    },
    {
      "type": "differential",
      "source": "B",
      "base": "6500.00",
      "rate": "0.06",
      "amount": "390.00"
    },
    {
      "type": "differential",
      "source": "D",
      "base": "3500.00",
      "rate": "0.09",
      "amount": "315.00"
    }
  ],
  "totals": {
    "commissions": "767.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "0.00",
    "payable": "767.00",
    "paid": "767.00",
    "carried_out": "0.00"
  }
}
EOF2
assert_contains "$S/B.json" '"commissions": "125.00"' "B: retail and own differential only"
assert_not_contains "$S/B.json" '"source": "C"' "B earns nothing on C's leg (same rate)"
assert_contains "$S/C.json" '"commissions": "1500.00"' "C"
assert_contains "$S/D.json" '"commissions": "765.00"' "D"
assert_contains "$S/D.json" '"source": "E"' "D's line on E's leg"
assert_contains "$S/E.json" '"commissions": "5.00"' "E: retail only"
assert_not_contains "$S/E.json" '"differential"' "E, inactive, earns no differential"
assert_contains "$S/summary.json" '"commissions": "3162.00"' "summary commissions"
assert_contains "$S/A.html" 'Differential' "HTML names the differential lines"
audit_verify_ok
pass
