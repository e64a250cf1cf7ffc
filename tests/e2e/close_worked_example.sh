#!/usr/bin/env bash
# close_worked_example: a six-person tree, two monthly closes under the demo
# plan, every statement computed by hand below and compared whole (JSON),
# byte for byte (payouts.csv), and in total (summary.json, audit line).
#
# Covers: retail on own CV (inactive too), dynamic compression over an
# inactive middle upline, the bronze rank and its three levels, the
# november-skincare promotion (pv x2, cv x1), half-to-even rounding of a line
# (up and down), the statement fee, min_payout (balances carried, paid next
# period with a carry_in line; a negative balance carried), a refund in the
# same period (volumes net out), a refund after the close (clawback lines in
# the next period at the original lines' rates), no statement without a
# line, and a name with "<&>" HTML-escaped in a self-contained page.
source "$(dirname "$0")/lib.sh"

write_config

# ---- the demo plan (demo/plan.yaml), the parts this test uses ------------------------
#   retail 0.20 on own CV, to everyone not terminated
#   unilevel, dynamic compression: partner [0.05], bronze [0.05, 0.04, 0.03]
#   active: PV >= 100;  bronze: PV >= 100 and GV >= 1000;  silver needs GV 5000
#   november-skincare: category skincare, 2026-11-01..30, pv x2, cv x1
#   cap 45% of net sales;  fee "statement fee" 1.50;  min_payout 10.00

drop products-1.csv <<'EOF'
sku,name,pv,cv,category
SKIN-01,Hydrating Serum,40.00,32.00,skincare
VIT-01,Vitamin Pack,30.00,25.00,nutrition
PRO-01,Protein Tub,120.00,100.00,nutrition
EOF
# The tree:        A
#                /   \
#               B     D
#               |     |
#               C     F
#               |
#               E
drop distributors-1.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,country,iban
A,,Anna Schmidt,2025-03-01,DE,DE89370400440532013000
B,A,Bernd Müller,2025-06-15,DE,DE44500105175407324931
C,B,Clara Jäger,2025-09-01,AT,AT611904300234573201
D,A,Dora Klein,2026-01-10,DE,DE02120300000000202051
E,C,Emil <Bauer> & Söhne,2026-02-01,DE,DE02500105170137075030
F,D,Frida Lang,2026-10-01,DE,
EOF
run_once

# ---- November ------------------------------------------------------------------------
# sale  who  what                 amount    PV                     CV
# S1    A    SKIN-01 x2            80.00   2 x 40 x 2 = 160.00    2 x 32 = 64.00   (promotion)
# S2    B    VIT-01  x1, cv given  30.00   30.00                  24.50
# S3    C    PRO-01  x5           600.00   600.00                 500.00
# S4    C    SKIN-01 x1            40.00   40 x 2 = 80.00         32.00            (promotion)
# S5    D    VIT-01  x2, cv given  60.00   60.00                  51.50
# S6    E    PRO-01  x2           240.00   240.00                 200.00
# S7    C    refund of S3, PRO-01 x1 -120.00  -120.00             -100.00          (same period)
drop sales-2026-11.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
S1,A,2026-11-03,80.00,SKIN-01,2,,,
S2,B,2026-11-04,30.00,VIT-01,1,,24.50,
S3,C,2026-11-05,600.00,PRO-01,5,,,
S4,C,2026-11-06,40.00,SKIN-01,1,,,
S5,D,2026-11-07,60.00,VIT-01,2,,51.50,
S6,E,2026-11-08,240.00,PRO-01,2,,,
S7,C,2026-11-20,-120.00,PRO-01,1,,,S3
EOF
run_once

# Volumes:   PV                    CV                   GV                         active  rank
#   A       160.00                 64.00     160 + 830 (B) + 60 (D) = 1050.00       yes   bronze (pv 160 >= 100, gv 1050 >= 1000)
#   B        30.00                 24.50      30 + 800 (C)          =  830.00       no    partner
#   C   600 + 80 - 120 = 560.00   432.00     560 + 240 (E)          =  800.00       yes   partner (gv < 1000)
#   D        60.00                 51.50      60 + 0 (F)            =   60.00       no    partner
#   E       240.00                200.00                               240.00       yes   partner
#   F         0.00                  0.00                                 0.00       no    partner (no line: no statement)
# Net sales 80 + 30 + 600 + 40 + 60 + 240 - 120 = 930.00; cap limit floor(0.45 x 930.00) = 418.50.
#
# Unilevel walk (dynamic: inactive B and D are passed over, using no level):
#   CV of B  24.50: A level 1 (bronze 0.05)
#   CV of D  51.50: A level 1 (bronze 0.05)
#   CV of C 432.00: B inactive, skipped -> A level 1 (bronze 0.05)
#   CV of E 200.00: C level 1 (partner 0.05) -> B skipped -> A level 2 (bronze 0.04)
#
# Lines (base x rate = amount, half to even), statement by statement:
#   A  retail        64.00 x 0.20 = 12.80
#      unilevel 1 B  24.50 x 0.05 =  1.225 -> 1.22 (half to even, down)
#      unilevel 1 D  51.50 x 0.05 =  2.575 -> 2.58 (half to even, up)
#      unilevel 1 C 432.00 x 0.05 = 21.60
#      unilevel 2 E 200.00 x 0.04 =  8.00
#      (level-1 lines go in tree order: B and D are A's recruits, C is one level further down)
#      commissions 46.20, fee -1.50, payable 44.70 >= 10.00: paid 44.70
#   B  retail 24.50 x 0.20 = 4.90; fee -1.50; payable 3.40 < 10.00: carried 3.40
#   C  retail 432.00 x 0.20 = 86.40; unilevel 1 E 200.00 x 0.05 = 10.00;
#      commissions 96.40, fee -1.50, payable 94.90: paid
#   D  retail 51.50 x 0.20 = 10.30; fee -1.50; payable 8.80 < 10.00: carried 8.80
#   E  retail 200.00 x 0.20 = 40.00; fee -1.50; payable 38.50: paid
# Totals: commissions 46.20 + 4.90 + 96.40 + 10.30 + 40.00 = 197.80 (<= 418.50: no cap),
#   fees -7.50, payable 190.30, paid 44.70 + 94.90 + 38.50 = 178.10, carried 3.40 + 8.80 = 12.20,
#   payout ratio 197.80 / 930.00 = 0.21268... -> 0.2127
close_ok 2026-11
assert_eq "closed 2026-11" "$(grep -v '^payoutctl:' "$OUT")" "output of close 2026-11"
NOV=$STATEMENTS/2026-11
assert_eq "A.html A.json B.html B.json C.html C.json D.html D.json E.html E.json SHA256SUMS payouts.csv summary.json" \
	"$(ls -A "$NOV" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "files of statements/2026-11"
assert_eq "2026-11" "$(ls -A "$STATEMENTS" | tr '\n' ' ' | sed 's/ $//')" "statements folder (no temporary left)"
assert_sums_ok "$NOV"
# readable only by the service user and group (SPEC 10)
assert_eq "750" "$(stat -c %a "$NOV")" "mode of statements/2026-11"
assert_eq "640" "$(stat -c %a "$NOV"/* | sort -u | tr '\n' ' ' | sed 's/ $//')" "modes of the statement files"

expect_file "$NOV/A.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "A",
  "name": "Anna Schmidt",
  "currency": "EUR",
  "paid_as_rank": "bronze",
  "title_rank": "bronze",
  "active": true,
  "pv": "160.00",
  "gv": "1050.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "64.00",
      "rate": "0.20",
      "amount": "12.80"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "B",
      "base": "24.50",
      "rate": "0.05",
      "amount": "1.22"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "D",
      "base": "51.50",
      "rate": "0.05",
      "amount": "2.58"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "C",
      "base": "432.00",
      "rate": "0.05",
      "amount": "21.60"
    },
    {
      "type": "unilevel",
      "level": 2,
      "source": "E",
      "base": "200.00",
      "rate": "0.04",
      "amount": "8.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "46.20",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "44.70",
    "paid": "44.70",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$NOV/B.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "B",
  "name": "Bernd Müller",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "30.00",
  "gv": "830.00",
  "lines": [
    {
      "type": "retail",
      "source": "B",
      "base": "24.50",
      "rate": "0.20",
      "amount": "4.90"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "4.90",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "3.40",
    "paid": "0.00",
    "carried_out": "3.40"
  }
}
EOF
expect_file "$NOV/C.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "C",
  "name": "Clara Jäger",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "560.00",
  "gv": "800.00",
  "lines": [
    {
      "type": "retail",
      "source": "C",
      "base": "432.00",
      "rate": "0.20",
      "amount": "86.40"
    },
    {
      "type": "unilevel",
      "level": 1,
      "source": "E",
      "base": "200.00",
      "rate": "0.05",
      "amount": "10.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "96.40",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "94.90",
    "paid": "94.90",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$NOV/D.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "D",
  "name": "Dora Klein",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "60.00",
  "gv": "60.00",
  "lines": [
    {
      "type": "retail",
      "source": "D",
      "base": "51.50",
      "rate": "0.20",
      "amount": "10.30"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "10.30",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "8.80",
    "paid": "0.00",
    "carried_out": "8.80"
  }
}
EOF
expect_file "$NOV/E.json" <<'EOF'
{
  "period": "2026-11",
  "distributor_id": "E",
  "name": "Emil <Bauer> & Söhne",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "240.00",
  "gv": "240.00",
  "lines": [
    {
      "type": "retail",
      "source": "E",
      "base": "200.00",
      "rate": "0.20",
      "amount": "40.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "40.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "38.50",
    "paid": "38.50",
    "carried_out": "0.00"
  }
}
EOF
printf 'distributor_id,name,iban,currency,amount\nA,Anna Schmidt,DE89370400440532013000,EUR,44.70\nC,Clara Jäger,AT611904300234573201,EUR,94.90\nE,Emil <Bauer> & Söhne,DE02500105170137075030,EUR,38.50\n' >"$T/payouts-nov.csv"
cmp "$T/payouts-nov.csv" "$NOV/payouts.csv" || fail "payouts.csv of 2026-11: expected
$(cat "$T/payouts-nov.csv")
found
$(cat "$NOV/payouts.csv")"
plan_sha=$(sha256sum "$PLAN" | cut -d' ' -f1)
expect_file "$NOV/summary.json" <<EOF
{
  "period": "2026-11",
  "plan": "Example Unilevel 2026",
  "plan_sha256": "$plan_sha",
  "currency": "EUR",
  "distributors": 6,
  "statements": 5,
  "net_sales": "930.00",
  "commissions": "197.80",
  "cap_adjustment": "0.00",
  "cap_limit": "418.50",
  "clawbacks": "0.00",
  "fees": "-7.50",
  "carried_in": "0.00",
  "payable": "190.30",
  "paid": "178.10",
  "carried_out": "12.20",
  "payout_ratio": "0.2127",
  "ranks": {
    "partner": 5,
    "bronze": 1,
    "silver": 0,
    "gold": 0
  }
}
EOF

# the audit line pins the folder: the SHA-256 of every file written, in
# SHA256SUMS order, then SHA256SUMS itself
line=$(grep '"event":"period_closed"' "$AUDIT")
assert_eq 1 "$(echo "$line" | wc -l)" "period_closed lines after the first close"
sums_sha=$(sha256sum "$NOV/SHA256SUMS" | cut -d' ' -f1)
files=$(awk '{ printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), $2, $1 }' "$NOV/SHA256SUMS")
echo "$line" | grep -qF '"event":"period_closed","period":"2026-11","plan":"Example Unilevel 2026","plan_sha256":"'"$plan_sha"'","totals":{"net_sales":"930.00","commissions":"197.80","cap_adjustment":"0.00","clawbacks":"0.00","fees":"-7.50","carried_in":"0.00","payable":"190.30","paid":"178.10","carried_out":"12.20"},"statements":5,"files":{'"$files"',"SHA256SUMS":"'"$sums_sha"'"}' ||
	fail "period_closed line of 2026-11: $line"
# and every file of the folder is listed there
for f in "$NOV"/*; do
	[[ $(basename "$f") == SHA256SUMS ]] && continue
	echo "$line" | grep -qF "\"$(basename "$f")\":\"$(sha256sum "$f" | cut -d' ' -f1)\"" ||
		fail "period_closed line lacks $(basename "$f")"
done
assert_eq "2026-11|93000|$plan_sha|$sums_sha" "$(q 'SELECT name, net_sales, plan_sha256, manifest_sha256 FROM periods')" "periods rows"
assert_eq "$plan_sha" "$(q 'SELECT sha256 FROM plans')" "plans rows"
assert_eq "$(cat "$PLAN")" "$(q 'SELECT CAST(text AS TEXT) FROM plans')" "plan text kept in the ledger"
audit_verify_ok

# ---- the HTML statements: self-contained, the name escaped --------------------------------
for f in "$NOV"/*.html; do
	grep -qi 'http' "$f" && fail "$f refers to something outside itself: $(grep -io '.\{30\}http.\{30\}' "$f" | head -3)"
	grep -qiE '<(link|script|img|iframe)[ >]|url\(|@import' "$f" && fail "$f loads an external asset"
	grep -q '<svg' "$f" || fail "$f has no chart"
done
assert_contains "$NOV/E.html" "Emil &lt;Bauer&gt; &amp; Söhne" "E.html"
assert_not_contains "$NOV/E.html" "<Bauer>" "E.html"
assert_contains "$NOV/A.html" "Anna Schmidt" "A.html"

# ---- December ------------------------------------------------------------------------
# A refund of S6 (closed November) after the close: booked into December as a
# clawback; it changes no period's volumes or net sales.
#   S20  E  refund of S6, PRO-01 x1, cv given -33.30, amount -40.00
drop sales-2026-12.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,pv,cv,refund_of
S10,D,2026-12-02,30.00,VIT-01,1,,,
S11,A,2026-12-03,40.00,SKIN-01,1,,,
S12,C,2026-12-04,120.00,PRO-01,1,,,
S20,E,2026-12-05,-40.00,PRO-01,1,,-33.30,S6
EOF
run_once
DEC_INDEX=$((2026 * 12 + 12 - 1))
assert_eq "$DEC_INDEX|5" "$(q "SELECT booked_period, flags FROM sales WHERE sale_id = 'S20'")" "S20 booked as a clawback (attributed + clawback)"

# Volumes (December: no promotion; S20 is a clawback, not volume):
#   A  S11 SKIN-01 x1: PV 40.00, CV 32.00; inactive (40 < 100): partner, title stays bronze
#   B  nothing;  C  S12 PRO-01 x1: PV 120.00, CV 100.00, active, partner
#   D  S10 VIT-01 x1: PV 30.00, CV 25.00, inactive;  E, F nothing
#   GV: E 0, C 120, B 120, F 0, D 30, A 40 + 120 + 30 = 190
# Net sales 30 + 40 + 120 = 190.00 (the refund of a closed sale does not count); cap limit 85.50.
# Unilevel: C's CV walks up B (inactive), A (inactive), root: no line; D's CV: A inactive: none.
# Clawbacks of S20 (refunded CV 33.30) at the rates of the November lines whose source was E:
#   E retail 0.20:      33.30 x 0.20 = 6.66   -> -6.66
#   C unilevel 1 0.05:  33.30 x 0.05 = 1.665  -> -1.66 (half to even)
#   A unilevel 2 0.04:  33.30 x 0.04 = 1.332  -> -1.33
# Statements:
#   A  retail 32.00 x 0.20 = 6.40; clawback -1.33; fee -1.50 (commissions 6.40 > 0);
#      payable 3.57 < 10.00: carried
#   B  carry_in 3.40; payable 3.40: carried again
#   C  retail 100.00 x 0.20 = 20.00; clawback -1.66; fee -1.50; payable 16.84: paid
#   D  retail 25.00 x 0.20 = 5.00; fee -1.50; carry_in 8.80; payable 12.30 >= 10.00: paid
#   E  clawback -6.66; no fee (no commissions); payable -6.66: carried (negative)
# Totals: commissions 6.40 + 20.00 + 5.00 = 31.40, clawbacks -9.65, fees -4.50,
#   carried in 12.20, payable 29.45, paid 16.84 + 12.30 = 29.14,
#   carried out 3.57 + 3.40 - 6.66 = 0.31, ratio 31.40 / 190.00 = 0.16526... -> 0.1653
close_ok 2026-12
assert_eq "closed 2026-12" "$(grep -v '^payoutctl:' "$OUT")" "output of close 2026-12"
DEC=$STATEMENTS/2026-12
assert_eq "A.html A.json B.html B.json C.html C.json D.html D.json E.html E.json SHA256SUMS payouts.csv summary.json" \
	"$(ls -A "$DEC" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "files of statements/2026-12"
assert_sums_ok "$DEC"

expect_file "$DEC/A.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "A",
  "name": "Anna Schmidt",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "bronze",
  "active": false,
  "pv": "40.00",
  "gv": "190.00",
  "lines": [
    {
      "type": "retail",
      "source": "A",
      "base": "32.00",
      "rate": "0.20",
      "amount": "6.40"
    },
    {
      "type": "clawback",
      "level": 2,
      "source": "E",
      "base": "33.30",
      "rate": "0.04",
      "amount": "-1.33"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "6.40",
    "cap_adjustment": "0.00",
    "clawbacks": "-1.33",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "3.57",
    "paid": "0.00",
    "carried_out": "3.57"
  }
}
EOF
expect_file "$DEC/B.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "B",
  "name": "Bernd Müller",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "0.00",
  "gv": "120.00",
  "lines": [
    {
      "type": "carry_in",
      "amount": "3.40"
    }
  ],
  "totals": {
    "commissions": "0.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "3.40",
    "payable": "3.40",
    "paid": "0.00",
    "carried_out": "3.40"
  }
}
EOF
expect_file "$DEC/C.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "C",
  "name": "Clara Jäger",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": true,
  "pv": "120.00",
  "gv": "120.00",
  "lines": [
    {
      "type": "retail",
      "source": "C",
      "base": "100.00",
      "rate": "0.20",
      "amount": "20.00"
    },
    {
      "type": "clawback",
      "level": 1,
      "source": "E",
      "base": "33.30",
      "rate": "0.05",
      "amount": "-1.66"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    }
  ],
  "totals": {
    "commissions": "20.00",
    "cap_adjustment": "0.00",
    "clawbacks": "-1.66",
    "fees": "-1.50",
    "carried_in": "0.00",
    "payable": "16.84",
    "paid": "16.84",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$DEC/D.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "D",
  "name": "Dora Klein",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "30.00",
  "gv": "30.00",
  "lines": [
    {
      "type": "retail",
      "source": "D",
      "base": "25.00",
      "rate": "0.20",
      "amount": "5.00"
    },
    {
      "type": "fee",
      "name": "statement fee",
      "amount": "-1.50"
    },
    {
      "type": "carry_in",
      "amount": "8.80"
    }
  ],
  "totals": {
    "commissions": "5.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "-1.50",
    "carried_in": "8.80",
    "payable": "12.30",
    "paid": "12.30",
    "carried_out": "0.00"
  }
}
EOF
expect_file "$DEC/E.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "E",
  "name": "Emil <Bauer> & Söhne",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "0.00",
  "gv": "0.00",
  "lines": [
    {
      "type": "clawback",
      "source": "E",
      "base": "33.30",
      "rate": "0.20",
      "amount": "-6.66"
    }
  ],
  "totals": {
    "commissions": "0.00",
    "cap_adjustment": "0.00",
    "clawbacks": "-6.66",
    "fees": "0.00",
    "carried_in": "0.00",
    "payable": "-6.66",
    "paid": "0.00",
    "carried_out": "-6.66"
  }
}
EOF
printf 'distributor_id,name,iban,currency,amount\nC,Clara Jäger,AT611904300234573201,EUR,16.84\nD,Dora Klein,DE02120300000000202051,EUR,12.30\n' >"$T/payouts-dec.csv"
cmp "$T/payouts-dec.csv" "$DEC/payouts.csv" || fail "payouts.csv of 2026-12: expected
$(cat "$T/payouts-dec.csv")
found
$(cat "$DEC/payouts.csv")"
expect_file "$DEC/summary.json" <<EOF
{
  "period": "2026-12",
  "plan": "Example Unilevel 2026",
  "plan_sha256": "$plan_sha",
  "currency": "EUR",
  "distributors": 6,
  "statements": 5,
  "net_sales": "190.00",
  "commissions": "31.40",
  "cap_adjustment": "0.00",
  "cap_limit": "85.50",
  "clawbacks": "-9.65",
  "fees": "-4.50",
  "carried_in": "12.20",
  "payable": "29.45",
  "paid": "29.14",
  "carried_out": "0.31",
  "payout_ratio": "0.1653",
  "ranks": {
    "partner": 6,
    "bronze": 0,
    "silver": 0,
    "gold": 0
  }
}
EOF
# November is final: its folder did not change
cmp "$T/payouts-nov.csv" "$NOV/payouts.csv" || fail "payouts.csv of 2026-11 changed after the next close"
assert_sums_ok "$NOV"
assert_eq "$sums_sha" "$(sha256sum "$NOV/SHA256SUMS" | cut -d' ' -f1)" "SHA256SUMS of 2026-11 after the next close"
assert_eq "2026-11|93000
2026-12|19000" "$(q 'SELECT name, net_sales FROM periods ORDER BY period')" "periods rows"
assert_eq 2 "$(count_lines "$AUDIT" '"event":"period_closed"')" "period_closed lines"
dec_files=$(awk '{ printf "%s\"%s\":\"%s\"", (NR > 1 ? "," : ""), $2, $1 }' "$DEC/SHA256SUMS")
assert_contains "$AUDIT" '"event":"period_closed","period":"2026-12","plan":"Example Unilevel 2026","plan_sha256":"'"$plan_sha"'","totals":{"net_sales":"190.00","commissions":"31.40","cap_adjustment":"0.00","clawbacks":"-9.65","fees":"-4.50","carried_in":"12.20","payable":"29.45","paid":"29.14","carried_out":"0.31"},"statements":5,"files":{'"$dec_files"',"SHA256SUMS":"'"$(sha256sum "$DEC/SHA256SUMS" | cut -d' ' -f1)"'"'
audit_verify_ok

# ---- payoutctl statement: the last closed period, or the one named --------------------------
run "$PAYOUTCTL" -c "$CONF" statement D
assert_eq 0 "$RC" "statement D exit status: $(cat "$OUT")"
assert_contains "$OUT" "Statement 2026-12 — D (Dora Klein)"
assert_contains "$OUT" "carry_in"
grep -Eq '^  paid +12\.30 EUR$' "$OUT" || fail "statement D: expected paid 12.30 EUR: $(cat "$OUT")"
run "$PAYOUTCTL" -c "$CONF" statement D 2026-11
assert_eq 0 "$RC" "statement D 2026-11 exit status: $(cat "$OUT")"
assert_contains "$OUT" "Statement 2026-11 — D (Dora Klein)"
grep -Eq '^  carried out +8\.80 EUR$' "$OUT" || fail "statement D 2026-11: expected carried out 8.80 EUR: $(cat "$OUT")"
pass
