#!/usr/bin/env bash
# plan_binary: the binary example plan (rules/plans/binary-carry.yaml) over two
# periods through the real binaries: leg volumes from whole placement
# subtrees, matched volume, the carry into the next period, the cap, and the
# statements' binary object; every number computed by hand below (SPEC 6.8,
# 11.24-25). docs/plans.md walks through the same example.
source "$(dirname "$0")/lib.sh"

write_config
cp "$SRCDIR/rules/plans/binary-carry.yaml" "$PLAN"
# placement tree:        R              sponsor tree: R sponsors A, B and D;
#                      /   \                          A sponsors C.
#                     A     B           D sits in A's right leg though R sponsored it.
#                    / \
#                   C   D
drop distributors-1.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date,placement_id,leg
R,,Rosa,2024-01-10,,
A,R,Arne,2024-02-01,R,left
B,R,Bea,2024-02-02,R,right
C,A,Carl,2024-03-01,A,left
D,R,Dana,2024-03-02,A,right
EOF2
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount
N1,R,2026-11-02,100.00
N2,A,2026-11-03,600.00
N3,C,2026-11-04,900.00
N4,D,2026-11-05,300.00
N5,B,2026-11-06,700.00
D1,R,2026-12-02,60.00
D2,A,2026-12-03,60.00
D3,C,2026-12-04,100.00
D4,D,2026-12-05,60.00
D5,B,2026-12-06,1500.00
EOF2
run_once

# ---- 2026-11 ----------------------------------------------------------------------------
# CV = amount. Legs are whole placement subtrees; one's own sales are in no leg of its own.
# R: left = A + C + D = 600 + 900 + 300 = 1800.00, right = B = 700.00; matched 700.00,
#    binary 700.00 x 0.10 = 70.00; carried: left 1800 - 700 = 1100.00, right 0.00.
# A: left = C 900.00, right = D 300.00; matched 300.00 -> 30.00; carried left 600.00.
# B, C, D: empty legs: nothing matched, nothing carried.
# retail 10%: R 10.00, A 60.00, B 70.00, C 90.00, D 30.00.
close_ok 2026-11
S=$STATEMENTS/2026-11
expect_file "$S/R.json" <<'EOF2'
{
  "period": "2026-11",
  "distributor_id": "R",
  "name": "Rosa",
  "currency": "EUR",
  "paid_as_rank": "member",
  "title_rank": "member",
  "active": true,
  "pv": "100.00",
  "gv": "2600.00",
  "binary": {
    "left": "1800.00",
    "right": "700.00",
    "matched": "700.00",
    "carry_left": "1100.00",
    "carry_right": "0.00"
  },
  "lines": [
    {
      "type": "retail",
      "source": "R",
      "base": "100.00",
      "rate": "0.10",
      "amount": "10.00"
    },
    {
      "type": "binary",
      "base": "700.00",
      "rate": "0.10",
      "amount": "70.00"
    }
  ],
  "totals": {
    "commissions": "80.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "0.00",
    "payable": "80.00",
    "paid": "80.00",
    "carried_out": "0.00"
  }
}
EOF2
assert_contains "$S/A.json" '"matched": "300.00"' "A matched"
assert_contains "$S/A.json" '"carry_left": "600.00"' "A carries its left leg"
assert_contains "$S/A.json" '"commissions": "90.00"' "A: retail 60.00 + binary 30.00"
assert_contains "$S/D.json" '"binary": {' "every statement of a binary plan has the object"
assert_contains "$S/D.json" '"matched": "0.00"' "D matched nothing"
assert_contains "$S/R.html" 'Binary left leg' "HTML shows the legs"

# ---- 2026-12: the carry and the cap -----------------------------------------------------
# R: left = 1100.00 carried + A 60 + C 100 + D 60 = 1320.00; right = 0 + B 1500.00;
#    matched 1320.00 -> 132.00, capped at 100.00 (base and rate stay); carried left 0.00,
#    right 1500 - 1320 = 180.00.
# A: left = 600.00 carried + C 100.00 = 700.00, right = D 60.00; matched 60.00 -> 6.00;
#    carried left 640.00.
close_ok 2026-12
S=$STATEMENTS/2026-12
assert_contains "$S/R.json" '"left": "1320.00"' "R's left leg with the carry"
assert_contains "$S/R.json" '"carry_right": "180.00"' "R carries its right leg"
assert_contains "$S/R.json" '"carry_left": "0.00"' "R's left leg is used up"
assert_contains "$S/R.json" '"amount": "100.00"' "R's binary line is capped at 100.00"
assert_contains "$S/R.json" '"base": "1320.00"' "the capped line keeps base = matched"
assert_contains "$S/A.json" '"left": "700.00"' "A's left leg with the carry"
assert_contains "$S/A.json" '"carry_left": "640.00"' "A carries on"
assert_contains "$S/A.json" '"commissions": "12.00"' "A: retail 6.00 + binary 6.00"
# the legs, matched and carries of a folder made again come from the ledger (schema 5)
assert_remade_from_ledger 2026-12
audit_verify_ok
pass
