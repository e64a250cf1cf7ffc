#!/usr/bin/env bash
# plan_hybrid: the hybrid example plan (rules/plans/hybrid-fast-start-matching-
# pool.yaml: retail, unilevel, exclusive fast_start, matching of unilevel and
# fast_start, a leadership pool) closed through the real binaries, every
# number computed by hand below (SPEC 6.8, 11.22, 11.26-28); docs/plans.md
# walks through the same example.
source "$(dirname "$0")/lib.sh"

write_config
cp "$SRCDIR/rules/plans/hybrid-fast-start-matching-pool.yaml" "$PLAN"
# L leads; N1 joined 2026-09-15 (window: up to 2026-11-13, 60 days), N2 joined
# 2026-11-10 under N1, P is an old partner under L.
drop distributors-1.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date
L,,Lena Leader,2024-01-10
N1,L,Noah New,2026-09-15
N2,N1,Nina Newer,2026-11-10
P,L,Paul Partner,2025-02-01
EOF2
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount
S1,L,2026-11-05,1000.55
S2,N1,2026-11-02,300.00
S3,N1,2026-11-20,100.00
S4,N2,2026-11-20,200.00
S5,P,2026-11-06,1000.00
EOF2
run_once

# ---- 2026-11 ----------------------------------------------------------------------------
# PV = CV = amount. PV: L 1000.55, N1 400.00, N2 200.00, P 1000.00: all active (>= 100).
# GV: N2 200.00, N1 600.00, P 1000.00, L 2600.55. leader needs pv 100, gv 1000: L, P.
# Fast-start windows: N1's S2 (day 48 after 2026-09-15) is in, S3 (day 66) is not;
# N2's S4 (day 10) is in. Window CV: N1 300.00, N2 200.00.
# retail 10% of own CV: L 1000.55 x 0.10 = 100.055 -> 100.06 (half to even: 10005.5
#   cents -> 10006), N1 40.00, N2 20.00, P 100.00.
# unilevel (exclusive: window CV pays none): base N1 400 - 300 = 100.00, N2 200 - 200 = 0,
#   P 1000.00. L (leader) level 1: N1 100.00 x 0.05 = 5.00, P 1000.00 x 0.05 = 50.00.
# fast_start: N1's 300.00 -> L (level 1) x 0.20 = 60.00;
#   N2's 200.00 -> N1 (level 1) x 0.20 = 40.00, L (level 2) x 0.10 = 20.00.
# pool: floor(0.02 x 2600.55) = floor(52.011) = 52.01; leaders L and P hold 1 share each:
#   floor(52.01 x 1 / 2) = 26.00 each; allotted 52.00, remainder 0.01.
# matching of unilevel + fast_start, before the cap: N1 earned 40.00 (fast_start) ->
#   L (generation 1, leader 10%) 4.00; N2 and P earned none of those types; L has no sponsor.
# L: 100.06 + 5.00 + 50.00 + 60.00 + 20.00 + 26.00 + 4.00 = 265.06
# N1: 40.00 + 40.00 = 80.00; N2: 20.00; P: 100.00 + 26.00 = 126.00; total 491.06
close_ok 2026-11
S=$STATEMENTS/2026-11
expect_file "$S/L.json" <<'EOF2'
{
  "period": "2026-11",
  "distributor_id": "L",
  "name": "Lena Leader",
  "currency": "EUR",
  "paid_as_rank": "leader",
  "title_rank": "leader",
  "active": true,
  "pv": "1000.55",
  "gv": "2600.55",
  "lines": [
    {
      "type": "retail",
      "source": "L",
      "base": "1000.55",
      "rate": "0.10",
      "amount": "100.06"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "N1",
      "base": "100.00",
      "rate": "0.05",
      "amount": "5.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "P",
      "base": "1000.00",
      "rate": "0.05",
      "amount": "50.00"
    },
    {
      "type": "fast_start",
      "level": 1,
      "source": "N1",
      "base": "300.00",
      "rate": "0.20",
      "amount": "60.00"
    },
    {
      "type": "fast_start",
      "level": 2,
      "source": "N2",
      "base": "200.00",
      "rate": "0.10",
      "amount": "20.00"
    },
    {
      "type": "pool",
      "name": "leadership pool",
      "base": "52.01",
      "shares": 1,
      "total_shares": 2,
      "amount": "26.00"
    },
    {
      "type": "matching",
      "level": 1,
      "source": "N1",
      "base": "40.00",
      "rate": "0.10",
      "amount": "4.00"
    }
  ],
  "totals": {
    "commissions": "265.06",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "0.00",
    "payable": "265.06",
    "paid": "265.06",
    "carried_out": "0.00"
  }
}
EOF2
expect_file "$S/N1.json" <<'EOF2'
{
  "period": "2026-11",
  "distributor_id": "N1",
  "name": "Noah New",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "400.00",
  "gv": "600.00",
  "lines": [
    {
      "type": "retail",
      "source": "N1",
      "base": "400.00",
      "rate": "0.10",
      "amount": "40.00"
    },
    {
      "type": "fast_start",
      "level": 1,
      "source": "N2",
      "base": "200.00",
      "rate": "0.20",
      "amount": "40.00"
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
assert_contains "$S/P.json" '"type": "pool"' "P's pool line"
assert_contains "$S/P.json" '"commissions": "126.00"' "P's commissions"
assert_contains "$S/N2.json" '"commissions": "20.00"' "N2's commissions"
assert_eq 4 "$(grep -c '^[A-Z]' "$S/payouts.csv")" "payees"
assert_contains "$S/summary.json" '"commissions": "491.06"' "summary commissions"
assert_contains "$S/summary.json" '"pool_remainder": "0.01"' "summary pool_remainder"
assert_contains "$S/summary.json" '"allotted": "52.00"' "summary pool allotted"
assert_contains "$S/summary.json" '"total_shares": 2' "summary pool shares"
assert_contains "$S/L.html" 'Fast start' "HTML names the fast_start lines"
assert_contains "$S/L.html" 'leadership pool: 1 of 2 shares' "HTML shows the pool shares"

# ---- 2026-12: a refund of N1's window sale claws back only its retail line (SPEC 11.22) --
# S2 (300.00, in N1's window) paid N1 retail 30.00 and L fast_start 60.00; under an
# exclusive fast_start it paid no unilevel. Clawback: N1 -(300.00 x 0.10) = -30.00; L none
# (fast_start is never clawed back; without the rule L would lose 300.00 x 0.05 = 15.00).
drop sales-2.csv <<'EOF2'
sale_id,distributor_id,date,amount,refund_of
R1,N1,2026-12-03,-300.00,S2
EOF2
run_once
close_ok 2026-12
assert_contains "$STATEMENTS/2026-12/N1.json" '"type": "clawback"' "N1's clawback"
assert_contains "$STATEMENTS/2026-12/N1.json" '"clawbacks": "-30.00"' "N1's clawback amount"
assert_no_file "$STATEMENTS/2026-12/L.json" "a statement for L in 2026-12 (nothing to claw back)"
# November's pool lines (shares, total_shares), fast_start and matching lines,
# made again from the ledger's packed lines
assert_remade_from_ledger 2026-11
audit_verify_ok
pass
