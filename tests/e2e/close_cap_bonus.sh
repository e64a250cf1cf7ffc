#!/usr/bin/env bash
# close_cap_bonus: the demo plan's rank_advancement bonus and its 45% cap,
# computed by hand (SPEC 6.3, 6.6, 11.2, 11.14, 11.21):
#  - 2026-11: A reaches silver (max_leg_share, two bronze legs): one
#    rank_advancement line with `rank`, paid once;
#  - 2026-12: commissions above 45% of net sales (CV given above the amount):
#    one cap_adjustment line per statement = sum(floor(line x limit / total))
#    - sum(line), fees after the cap;
#  - 2027-01: A is silver again: no second bonus.
source "$(dirname "$0")/lib.sh"

write_config
drop distributors-1.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,iban
A,,Anna Schmidt,2025-03-01,DE89370400440532013000
B,A,Bernd Müller,2025-06-15,DE44500105175407324931
C,A,Clara Jäger,2025-09-01,AT611904300234573201
EOF
run_once
drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount,pv,cv
N1,A,2026-11-02,100.00,,
N2,B,2026-11-03,2500.00,,
N3,C,2026-11-04,2500.00,,
D1,A,2026-12-02,10.00,100.00,300.00
D2,B,2026-12-03,50.00,100.00,200.00
J1,A,2027-01-02,100.00,,
J2,B,2027-01-03,2500.00,,
J3,C,2027-01-04,2500.00,,
EOF
run_once

# ---- 2026-11: silver ----------------------------------------------------------------------
# PV = CV = amount. B: PV 2500, GV 2500: bronze (pv >= 100, gv >= 1000); C the same.
# A: PV 100, GV 5100; silver needs pv 100, and with max_leg_share 0.5 each leg counts
#    at most 0.5 x 5000 = 2500: 100 + min(2500, 2500) + min(2500, 2500) = 5100 >= 5000,
#    and 2 legs holding a bronze (B, C): silver. Title partner -> silver: the ranks passed
#    are bronze (no bonus) and silver (250.00).
#   A  retail 100.00 x 0.20 = 20.00; unilevel 1 B 2500.00 x 0.05 = 125.00, C 125.00;
#      rank_advancement silver 250.00; commissions 520.00; fee -1.50; paid 518.50
#   B  retail 2500.00 x 0.20 = 500.00; fee -1.50; paid 498.50;  C the same
#   net sales 5100.00, limit floor(0.45 x 5100.00) = 2295.00 >= 1520.00: no cap;
#   ratio 1520 / 5100 = 0.29803... -> 0.2980
close_ok 2026-11
expect_file "$STATEMENTS/2026-11/A.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "A",
  "name": "Anna Schmidt",
  "currency": "EUR",
  "paid_as_rank": "silver",
  "title_rank": "silver",
  "active": true,
  "pv": "100.00",
  "gv": "5100.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "100.00",
      "rate": "0.20",
      "amount": "20.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "B",
      "base": "2500.00",
      "rate": "0.05",
      "amount": "125.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "C",
      "base": "2500.00",
      "rate": "0.05",
      "amount": "125.00"
    },
    {
      "type": "rank_advancement",
      "rank": "silver",
      "amount": "250.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "520.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "518.50",
    "paid": "518.50",
    "carried_out": "0.00"
  }
}
EOF
assert_contains "$STATEMENTS/2026-11/B.json" '"paid_as_rank": "bronze",
  "title_rank": "bronze",'
assert_not_contains "$STATEMENTS/2026-11/B.json" "rank_advancement" "bronze has no bonus"
assert_contains "$STATEMENTS/2026-11/summary.json" '"commissions": "1520.00",
  "cap_adjustment": "0.00",
  "cap_limit": "2295.00",'
assert_contains "$STATEMENTS/2026-11/summary.json" '"payout_ratio": "0.2980",
  "ranks": {
    "partner": 0,
    "bronze": 2,
    "silver": 1,
    "gold": 0
  }'

# ---- 2026-12: the cap ---------------------------------------------------------------------
# A: PV 100, CV 300 (amount 10.00); B: PV 100, CV 200 (amount 50.00); C nothing.
# A GV 200: partner (title stays silver); A and B active.
#   lines: A retail 300.00 x 0.20 = 60.00, A unilevel 1 B 200.00 x 0.05 = 10.00,
#          B retail 200.00 x 0.20 = 40.00; total 110.00
#   net sales 60.00, limit floor(0.45 x 60.00) = 27.00 < 110.00: scaled, rounded down:
#          A retail   floor(60.00 x 27.00 / 110.00) = floor(14.7272) = 14.72
#          A unilevel floor(10.00 x 27.00 / 110.00) = floor( 2.4545) =  2.45
#          B retail   floor(40.00 x 27.00 / 110.00) = floor( 9.8181) =  9.81
#   A cap_adjustment 14.72 + 2.45 - 70.00 = -52.83; fee -1.50 (commissions + cap = 17.17 > 0);
#     payable 70.00 - 52.83 - 1.50 = 15.67 >= 10.00: paid
#   B cap_adjustment 9.81 - 40.00 = -30.19; fee -1.50; payable 8.31 < 10.00: carried
#   totals: commissions 110.00, cap -83.02, fees -3.00, payable 23.98, paid 15.67, carried 8.31;
#   ratio (110.00 - 83.02) / 60.00 = 26.98 / 60 = 0.44966... -> 0.4497
close_ok 2026-12
expect_file "$STATEMENTS/2026-12/A.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "A",
  "name": "Anna Schmidt",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "silver",
  "active": true,
  "pv": "100.00",
  "gv": "200.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "300.00",
      "rate": "0.20",
      "amount": "60.00"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "B",
      "base": "200.00",
      "rate": "0.05",
      "amount": "10.00"
    },
    {
      "type": "cap_adjustment",
      "amount": "-52.83"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "70.00",
    "cap_adjustment": "-52.83",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "15.67",
    "paid": "15.67",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$STATEMENTS/2026-12/B.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "B",
  "name": "Bernd Müller",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "bronze",
  "active": true,
  "pv": "100.00",
  "gv": "100.00",
  "lines": [
    {
      "type": "retail",
      "source": "B",
      "base": "200.00",
      "rate": "0.20",
      "amount": "40.00"
    },
    {
      "type": "cap_adjustment",
      "amount": "-30.19"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "40.00",
    "cap_adjustment": "-30.19",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "8.31",
    "paid": "0.00",
    "carried_out": "8.31"
  }
}
EOF
assert_no_file "$STATEMENTS/2026-12/C.json" "statement of C without lines in 2026-12"
plan_sha=$(sha256sum "$PLAN" | cut -d' ' -f1)
expect_file "$STATEMENTS/2026-12/summary.json" <<EOF
{
  "period": "2026-12",
  "plan": "Example Unilevel 2026",
  "plan_sha256": "$plan_sha",
  "currency": "EUR",
  "distributors": 3,
  "statements": 2,
  "net_sales": "60.00",
  "commissions": "110.00",
  "cap_adjustment": "-83.02",
  "cap_limit": "27.00",
  "clawbacks": "0.00",
  "fees": "-3.00",
  "carried_in": "0.00",
  "payable": "23.98",
  "paid": "15.67",
  "carried_out": "8.31",
  "payout_ratio": "0.4497",
  "ranks": {
    "partner": 3,
    "bronze": 0,
    "silver": 0,
    "gold": 0
  }
}
EOF
expect_file "$STATEMENTS/2026-12/payouts.csv" <<'EOF'
distributor_id,name,iban,currency,amount
A,Anna Schmidt,DE89370400440532013000,EUR,15.67
EOF

# ---- 2027-01: silver again, no second bonus ---------------------------------------------------
#   A  retail 20.00 + unilevel 125.00 + 125.00 = 270.00; fee -1.50; paid 268.50
#   B  retail 500.00; fee -1.50; carry_in 8.31; paid 506.81
close_ok 2027-01
assert_contains "$STATEMENTS/2027-01/A.json" '"paid_as_rank": "silver",
  "title_rank": "silver",'
assert_not_contains "$STATEMENTS/2027-01/A.json" "rank_advancement" "a regained rank pays no bonus"
assert_contains "$STATEMENTS/2027-01/A.json" '"commissions": "270.00",'
assert_contains "$STATEMENTS/2027-01/B.json" '"type": "carry_in",
      "amount": "8.31"'
expect_file "$STATEMENTS/2027-01/payouts.csv" <<'EOF'
distributor_id,name,iban,currency,amount
A,Anna Schmidt,DE89370400440532013000,EUR,268.50
B,Bernd Müller,DE44500105175407324931,EUR,506.81
C,Clara Jäger,AT611904300234573201,EUR,498.50
EOF
audit_verify_ok
pass
