#!/usr/bin/env bash
# plan_fast_start_window: where the fast-start window ends (SPEC 11.27), with
# the hybrid example plan (days: 60, exclusive): a sale on day 59 after the
# join date is in, day 60 is out; a same-period refund counts by its
# original's date, not its own. Every number computed by hand below.
source "$(dirname "$0")/lib.sh"

write_config
cp "$SRCDIR/rules/plans/hybrid-fast-start-matching-pool.yaml" "$PLAN"
drop distributors-1.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date
L,,Lena,2024-01-10
N,L,Noor,2026-10-01
EOF2
# 2026-10-01 + 59 days = 2026-11-29 (day 59: in); 2026-11-30 is day 60: out.
# R1 refunds 10.00 of F1 (in the window by F1's date, although R1 is dated day 60);
# R2 refunds 20.00 of F2 (out of the window by F2's date).
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount,refund_of
S1,L,2026-11-05,100.00,
F1,N,2026-11-29,100.00,
F2,N,2026-11-30,50.00,
R1,N,2026-11-30,-10.00,F1
R2,N,2026-11-30,-20.00,F2
EOF2
run_once
# N: CV 100 + 50 - 10 - 20 = 120.00 (active); window CV 100 - 10 = 90.00.
# L: GV 220.00, a partner (leader needs GV 1000).
# fast_start: 90.00 x 0.20 = 18.00 to L (level 1).
# unilevel (exclusive: without window CV): 120.00 - 90.00 = 30.00 x 0.05 (partner) = 1.50.
# retail: L 10.00, N 12.00. matching: L has no sponsor; N, a partner, earns no matching.
# pool: floor(0.02 x 220.00) = 4.40; no leader holds a share: all of it is the remainder.
close_ok 2026-11
S=$STATEMENTS/2026-11
expect_file "$S/L.json" <<'EOF2'
{
  "period": "2026-11",
  "distributor_id": "L",
  "name": "Lena",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "100.00",
  "gv": "220.00",
  "lines": [
    {
      "type": "retail",
      "source": "L",
      "base": "100.00",
      "rate": "0.10",
      "amount": "10.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "N",
      "base": "30.00",
      "rate": "0.05",
      "amount": "1.50"
    },
    {
      "type": "fast_start",
      "level": 1,
      "source": "N",
      "base": "90.00",
      "rate": "0.20",
      "amount": "18.00"
    }
  ],
  "totals": {
    "commissions": "29.50",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "0.00",
    "payable": "29.50",
    "paid": "29.50",
    "carried_out": "0.00"
  }
}
EOF2
assert_contains "$S/N.json" '"commissions": "12.00"' "N: retail only"
assert_contains "$S/summary.json" '"pool_remainder": "4.40"' "no holder: the whole pool remains"
assert_contains "$S/summary.json" '"total_shares": 0' "no shares held"
audit_verify_ok
pass
