#!/usr/bin/env bash
# close_determinism: a close is a function of the ledger's contents and the
# plan only (SPEC 7). Two ledgers booked from the same files, dropped in
# different orders (sales before their distributors in one of them) and with
# the rows of every file shuffled, close 2026-11 and 2026-12 into
# byte-identical statement folders; a copy of the first ledger taken before
# its close, closed elsewhere, writes the same bytes again.
# Data: gen_sales (a 300-person tree, 2 x 2000 sales in November and 2000 in
# December), a catalog with skincare SKUs (the promotion), same-period
# refunds and a terminated distributor.
source "$(dirname "$0")/lib.sh"
[[ -n $GEN_SALES ]] || fail "GEN_SALES must name the gen_sales binary"

# ---- the files -------------------------------------------------------------------------
F=$T/files
mkdir -p "$F"
"$GEN_SALES" --distributors 300 >"$F/distributors.csv"
"$GEN_SALES" 4000 300 11 >"$T/nov.csv"
{ head -n 2001 "$T/nov.csv"; } >"$F/sales-a.csv"
{ head -n 1 "$T/nov.csv"; tail -n +2002 "$T/nov.csv"; } >"$F/sales-b.csv"
# December: another 2000 sales with their own ids
"$GEN_SALES" 2000 300 12 | sed -e 's/^S/T/' -e 's/,2026-11-/,2026-12-/' >"$F/sales-c.csv"
{
	echo "sku,name,pv,cv,category"
	for k in $(seq 0 9); do echo "SKU$k,Serum $k,$((k + 10)).00,$((k + 5)).50,skincare"; done
	for k in $(seq 10 19); do echo "SKU$k,Pack $k,$((k + 3)).25,$k.00,nutrition"; done
} >"$F/products.csv"
# refunds of 1.00 on every 50th November sale (same period: volumes net out)
awk -F, 'NR > 1 && NR % 50 == 0 { printf "R%s,%s,2026-11-29,-1.00,%s\n", substr($1, 2), $2, $1 }' "$F/sales-a.csv" |
	{ echo "sale_id,distributor_id,date,amount,refund_of"; cat; } >"$F/sales-refunds.csv"
printf '%s\n' 'distributor_id,name,join_date,status' 'D0000003,Distributor 3,2026-01-04,terminated' >"$F/distributors-status.csv"
# five small sellers under D0000010: 2.00 retail - 1.50 fee = 0.50 each, carried into December
{
	echo "distributor_id,sponsor_id,name,join_date"
	for k in 1 2 3 4 5; do echo "X$k,D0000010,Small $k,2026-10-0$k"; done
} >"$F/distributors-small.csv"
{
	echo "sale_id,distributor_id,date,amount"
	for k in 1 2 3 4 5; do echo "X-S$k,X$k,2026-11-1$k,10.00"; done
} >"$F/sales-small.csv"

# the same files, rows shuffled (header kept first)
S=$T/shuffled
mkdir -p "$S"
shuffle() { awk -v seed="$1" 'BEGIN { srand(seed) } { printf "%.12f\t%s\n", rand(), $0 }' | LC_ALL=C sort | cut -f 2-; }
seed=1
for f in "$F"/*.csv; do
	seed=$((seed + 1))
	{ head -n 1 "$f"; tail -n +2 "$f" | shuffle $seed; } >"$S/$(basename "$f")"
	cmp -s "$f" "$S/$(basename "$f")" && [[ $(wc -l <"$f") -gt 3 ]] && fail "shuffling $f changed nothing"
done

# ---- ledgers in folders of their own ---------------------------------------------------------
# new_ledger DIR: a config like write_config's under DIR
new_ledger() {
	mkdir -p "$1/state/inbox"
	cp "$SRCDIR/demo/plan.yaml" "$1/plan.yaml"
	sed -n '1,/^  grace:/p' "$CONF" >"$1/payoutd.yaml"
}
# book DIR FILE NEWNAME: drops FILE into DIR's inbox and books it alone
book() {
	cp "$2" "$1/state/inbox/.$3.tmp"
	mv "$1/state/inbox/.$3.tmp" "$1/state/inbox/$3"
	timeout $((60 * E2E_TIME_SCALE)) "$PAYOUTD" -c "$1/payoutd.yaml" --once 2>"$LOG" || fail "payoutd --once on $1 failed"
	[[ -z $(ls "$1/state/rejected" 2>/dev/null) ]] || fail "$3 was rejected in $1: $(cat "$1"/state/rejected/*.errors.txt)"
}
close_in() { # DIR PERIOD
	run "$PAYOUTCTL" -c "$1/payoutd.yaml" close "$2"
	[[ $RC -eq 0 ]] || fail "close $2 in $1 exited $RC: $(cat "$OUT")"
}

write_config   # the reference config that new_ledger copies
L1=$T/one
L2=$T/two
L3=$T/three
new_ledger "$L1"
new_ledger "$L2"
new_ledger "$L3"

# ledger one: catalog, tree, status, sales in file order
for f in products distributors distributors-small distributors-status sales-a sales-b sales-small sales-c sales-refunds; do
	book "$L1" "$F/$f.csv" "$f.csv"
done
# ledger two: catalog first (it is read at booking time), then the shuffled sales
# before the tree (booked unattributed, attributed when it arrives)
for f in products sales-small sales-c sales-b sales-a distributors distributors-small distributors-status sales-refunds; do
	book "$L2" "$S/$f.csv" "$f.csv"
done
sales_sum() { sqlite3 -batch -readonly "$1/state/ledger.db" 'SELECT count(*), sum(amount), sum(pv), sum(cv), sum(flags & 1), count(DISTINCT booked_period) FROM sales'; }
assert_eq "$(sales_sum "$L1")" "$(sales_sum "$L2")" "sales of the two ledgers"
assert_eq "6045|" "$(sales_sum "$L1" | cut -d'|' -f1)|" "sales booked"
assert_eq "6045" "$(sales_sum "$L1" | cut -d'|' -f5)" "attributed sales"
assert_eq "2000|6000" "$(sqlite3 -batch -readonly "$L2/state/ledger.db" "SELECT unattributed, (SELECT attributed FROM files WHERE name = 'distributors.csv') FROM files WHERE name = 'sales-c.csv'")" \
	"ledger two booked December unattributed, attributed when the tree came"
assert_eq "1" "$(sqlite3 -batch -readonly "$L2/state/ledger.db" "SELECT count(*) FROM distributor_status WHERE distributor_id = 'D0000003'")" "terminated in ledger two"

# ledger three: a copy of ledger one before its close
sqlite3 -batch "$L1/state/ledger.db" ".backup '$L3/state/ledger.db'"
cp "$L1/state/audit.log" "$L3/state/audit.log"

close_in "$L1" 2026-11
close_in "$L1" 2026-12
close_in "$L2" 2026-12   # closes 2026-11 first
close_in "$L3" 2026-11
close_in "$L3" 2026-12

ST1=$L1/state/statements
for p in 2026-11 2026-12; do
	assert_sums_ok "$ST1/$p"
	n=$(find "$ST1/$p" -name 'D*.json' | wc -l)
	((n > 250)) || fail "$p: expected statements for most of 300 distributors, found $n"
done
grep -q '"type": "unilevel"' "$ST1"/2026-11/D0000000.json || fail "the root earns no unilevel line"
grep -Eq '"(silver|gold)": [1-9]' "$ST1/2026-11/summary.json" || fail "expected silver or gold ranks in 2026-11: $(cat "$ST1/2026-11/summary.json")"
assert_contains "$ST1/2026-11/X1.json" '"carried_out": "0.50"'
expect_file "$ST1/2026-12/X3.json" <<'EOF'
{
  "period": "2026-12",
  "distributor_id": "X3",
  "name": "Small 3",
  "currency": "EUR",
  "paid_as_rank": "partner",
  "title_rank": "partner",
  "active": false,
  "pv": "0.00",
  "gv": "0.00",
  "lines": [
    {
      "type": "carry_in",
      "amount": "0.50"
    }
  ],
  "totals": {
    "commissions": "0.00",
    "cap_adjustment": "0.00",
    "clawbacks": "0.00",
    "fees": "0.00",
    "carried_in": "0.50",
    "payable": "0.50",
    "paid": "0.00",
    "carried_out": "0.50"
  }
}
EOF
# terminated D0000003 sold, earns nothing (no line, no statement), and its CV still pays its uplines
(($(grep -c ',D0000003,' "$F/sales-a.csv" "$F/sales-b.csv" | awk -F: '{ s += $2 } END { print s }') > 0)) ||
	fail "D0000003 has no November sales in the generated data"
assert_no_file "$ST1/2026-11/D0000003.json" "statement of terminated D0000003"
grep -lq '"source": "D0000003"' "$ST1"/2026-11/*.json || fail "the CV of terminated D0000003 paid no upline"

for other in "$L2" "$L3"; do
	diff -r "$ST1" "$other/state/statements" >"$T/diff.txt" 2>&1 ||
		fail "statements of $other differ from those of $L1: $(head -c 3000 "$T/diff.txt")"
done
# the ledgers agree on what they recorded, line by line
lines_dump() {
	sqlite3 -batch -readonly "$1/state/ledger.db" "SELECT * FROM volumes ORDER BY period, distributor_id;
		SELECT * FROM period_results ORDER BY period, distributor_id;
		SELECT * FROM period_sources ORDER BY period, source;
		SELECT period, name, plan_sha256, net_sales, manifest_sha256 FROM periods ORDER BY period" ||
		fail "cannot dump the ledger $1/state/ledger.db"
}
# every table is there and holds something (a dump of nothing would agree too)
for t in volumes period_results period_sources; do
	[[ $(sqlite3 -batch -readonly "$L1/state/ledger.db" "SELECT count(*) FROM $t") -gt 0 ]] || fail "$t is empty in $L1"
done
assert_eq "$(lines_dump "$L1" | sha256sum)" "$(lines_dump "$L2" | sha256sum)" "recorded results of ledgers one and two"
assert_eq "$(lines_dump "$L1" | sha256sum)" "$(lines_dump "$L3" | sha256sum)" "recorded results of ledgers one and three"
for d in "$L1" "$L2" "$L3"; do
	run "$PAYOUTCTL" -c "$d/payoutd.yaml" audit verify
	assert_eq 0 "$RC" "audit verify in $d: $(cat "$OUT")"
done
pass
