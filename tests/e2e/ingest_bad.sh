#!/usr/bin/env bash
# ingest_bad: every kind of bad input rejects its file whole. The ledger's
# booked content (sales, distributors, distributor_status, products, files)
# stays byte-for-byte the same, the file moves to rejected/ with
# NAME.errors.txt naming file, line, column and value, the rejection is in
# the ledger and the audit log, and the inbox is left empty.
source "$(dirname "$0")/lib.sh"

write_config
book_base
drop sales-base.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,refund_of
S1,A1,2026-11-03,50.00,SKIN-01,1,
S1R,A1,2026-11-04,-10.00,,,S1
EOF
run_once
assert_eq "2" "$(q 'SELECT count(*) FROM sales')" "base sales booked"

# All bad files are dropped first and handled by one run (each file is its
# own transaction, so one run proves the same as one run per file, faster).
NAMES=()
declare -A EXPECT=() EXPECT_RE=()
# expect NAME TEXT...: NAME must be rejected with each TEXT in its report.
expect() {
	local name=$1
	shift
	NAMES+=("$name")
	EXPECT[$name]=$(printf '%s\n' "$name was rejected at " "$@")
}
# expect_re NAME REGEX: NAME must be rejected, a line of its report matching REGEX (ERE).
expect_re() {
	expect "$1"
	EXPECT_RE[$1]=$2
}

H=sale_id,distributor_id,date,amount,currency
AMOUNT_HINT='(expected a decimal like 1234.50, at most 2 decimals)'

# ---- numbers ----------------------------------------------------------------
printf '%s\n' "$H" 'X1,A1,2026-11-03,"12,5",EUR' | drop sales-comma.csv
expect sales-comma.csv \
	'sales-comma.csv:2:4: column "amount": value "12,5": decimal separator must be "."' "$AMOUNT_HINT"

printf '%s\n' "$H" 'X1,A1,2026-11-03,12.345,EUR' | drop sales-3dec.csv
expect sales-3dec.csv 'sales-3dec.csv:2:4: column "amount": value "12.345": more than 2 decimals'

printf '%s\n' "$H" 'X1,A1,2026-11-03,"1,23E+05",EUR' | drop sales-exp.csv
expect sales-exp.csv 'sales-exp.csv:2:4: column "amount": value "1,23E+05": exponent not allowed'

printf '%s\n' "$H" 'X1,A1,2026-11-03,€12,EUR' | drop sales-euro.csv
expect sales-euro.csv 'sales-euro.csv:2:4: column "amount": value "€12": currency signs not allowed'

printf '%s\n' "$H" 'X1,A1,2026-11-03,(12.50),EUR' | drop sales-paren.csv
expect sales-paren.csv 'sales-paren.csv:2:4: column "amount": value "(12.50)": parentheses not allowed'

printf '%s\n' "$H" 'X1,A1,2026-11-03,12.50-,EUR' | drop sales-trailing-minus.csv
expect sales-trailing-minus.csv \
	"sales-trailing-minus.csv:2:4: column \"amount\": value \"12.50-\": a sign must be a leading '-'"

printf '%s\n' "$H" 'X1,A1,2026-11-03,+12.50,EUR' | drop sales-plus.csv
expect sales-plus.csv 'sales-plus.csv:2:4: column "amount": value "+12.50"'

printf '%s\n' "$H" 'X1,A1,2026-11-03,"1,234.50",EUR' | drop sales-thousands.csv
expect sales-thousands.csv \
	'sales-thousands.csv:2:4: column "amount": value "1,234.50": thousands separator not allowed'

printf '%s\n' "$H" 'X1,A1,2026-11-03,99999999999999999999,EUR' | drop sales-overflow.csv
expect sales-overflow.csv 'sales-overflow.csv:2:4: column "amount": value "99999999999999999999": value too large'

# each amount fits, their total in A1's volume for 2026-11 does not (int64 cents)
printf '%s\n' "$H" 'X1,A1,2026-11-03,50000000000000000.00,EUR' 'X2,A1,2026-11-04,50000000000000000.00,EUR' |
	drop sales-volume-overflow.csv
expect sales-volume-overflow.csv 'sales-volume-overflow.csv:3:2: column "distributor_id": value "A1": the volume of this distributor in the period would overflow'

# each distributor's volume fits, the period's net sales do not (found by fuzz_csv)
printf '%s\n' "$H" 'X1,A1,2026-11-03,50000000000000000.00,EUR' 'X2,B1,2026-11-04,50000000000000000.00,EUR' |
	drop sales-net-overflow.csv
expect sales-net-overflow.csv 'sales-net-overflow.csv:3:4: column "amount": value "50000000000000000.00": the net sales of the period would overflow'

# the int64 range is symmetric: -92233720368547758.08 (INT64_MIN cents) is out of it,
# so no refund can get past the "what is left" check by overflowing its negation
printf '%s\n' "$H" 'X1,A1,2026-11-03,-92233720368547758.08,EUR' | drop sales-int64-min.csv
expect sales-int64-min.csv 'sales-int64-min.csv:2:4: column "amount": value "-92233720368547758.08": value too large'

# ---- fields -----------------------------------------------------------------
# the good row X0 of each file is not booked either: a file is all or nothing
printf '%s\n' "$H" 'X0,A1,2026-11-03,1.00,EUR' 'X1,,2026-11-03,12.50,EUR' | drop sales-empty-field.csv
expect sales-empty-field.csv \
	'sales-empty-field.csv:3:2: column "distributor_id": value "": required value is empty'

printf '%s\n' "$H" 'X0,A1,2026-11-03,1.00,EUR' 'X1,A1,2026-02-30,12.50,EUR' | drop sales-impossible-date.csv
expect sales-impossible-date.csv \
	'sales-impossible-date.csv:3:3: column "date": value "2026-02-30": no such day in that month'

printf '%s\n' "$H" 'X1,A1,2026-11-03,12.50,USD' | drop sales-currency.csv
expect sales-currency.csv \
	'sales-currency.csv:2:5: column "currency": value "USD": the plan'"'"'s currency is EUR'

printf '%s\n' "$H" 'X0,A1,2026-11-03,1.00,EUR' 'X1,A1,2026-11-03,12.50,EUR,extra' | drop sales-field-count.csv
expect sales-field-count.csv 'sales-field-count.csv:3:1: expected 5 fields as in the header, found 6'

printf '%s\n' 'sale_id,distributor_id,amount' 'X1,A1,12.50' | drop sales-no-date-column.csv
expect sales-no-date-column.csv \
	'sales-no-date-column.csv:1:1: required column "date" is missing from the header'

printf '%s\n' 'sale_id,distributor_id,date,amount,sale_id' 'X1,A1,2026-11-03,12.50,X1' | drop sales-dup-header.csv
expect sales-dup-header.csv \
	'sales-dup-header.csv:1:5: column "sale_id" appears twice in the header (also column 1)'

# ---- CSV structure and bytes -----------------------------------------------------
printf '%s\n' "$H" 'X1,A1,2026-11-03,12.50,"EUR' 'X2,A1,2026-11-03,1.00,EUR' | drop sales-unterminated.csv
expect_re sales-unterminated.csv \
	'^sales-unterminated\.csv:[0-9]+:[0-9]+: unterminated quote in the row starting at line 2$'

printf '%s\n' "$H" 'X0,A1,2026-11-03,1.00,EUR' '"a"b,A1,2026-11-03,12.50,EUR' | drop sales-bad-quote.csv
expect sales-bad-quote.csv 'sales-bad-quote.csv:3:1: malformed CSV quoting in the row starting at line 3'

drop_bytes sales-invalid-utf8.csv '%s\nX1,A1,2026-11-03,12.50,EUR,ab\xff\xfe\n' "$H,sku"
expect sales-invalid-utf8.csv \
	'sales-invalid-utf8.csv:2:6: column "sku": value "ab' 'not valid UTF-8'

drop_bytes sales-nul.csv '%s\nX1,A1\0,2026-11-03,12.50,EUR\n' "$H"
expect sales-nul.csv 'sales-nul.csv:2:2: column "distributor_id": value "A1\x00": contains a NUL byte'

: | drop sales-empty.csv
expect sales-empty.csv 'sales-empty.csv:1:1: the file is empty: a header line is required'

echo "just some notes" | drop notes.txt
expect notes.txt 'Reason: the name matches no input entry of the config'

# ---- refunds ------------------------------------------------------------------
HR="$H,refund_of"
printf '%s\n' "$HR" 'X1,A1,2026-11-03,-5.00,EUR,' | drop sales-refund-without-original.csv
expect sales-refund-without-original.csv \
	'sales-refund-without-original.csv:2:4: column "amount": value "-5.00": a negative amount is a refund and needs refund_of'

printf '%s\n' "$HR" 'X1,A1,2026-11-03,-40.01,EUR,S1' | drop sales-refund-too-much.csv
expect sales-refund-too-much.csv \
	'sales-refund-too-much.csv:2:4: column "amount": value "-40.01": refund of 40.01 exceeds what is left of sale S1 (40.00)'

# two refunds in one file that only together exceed what is left
printf '%s\n' "$HR" 'X1,A1,2026-11-03,-30.00,EUR,S1' 'X2,A1,2026-11-03,-10.01,EUR,S1' | drop sales-refunds-together.csv
expect sales-refunds-together.csv \
	'sales-refunds-together.csv:3:4: column "amount": value "-10.01": refund of 10.01 exceeds what is left of sale S1 (10.00)'

printf '%s\n' "$HR" 'X1,A1,2026-11-03,-1.00,EUR,NOSUCH' | drop sales-refund-unknown.csv
expect sales-refund-unknown.csv \
	'sales-refund-unknown.csv:2:6: column "refund_of": value "NOSUCH": no sale with this sale_id is booked'

printf '%s\n' "$HR" 'X1,A1,2026-11-03,-1.00,EUR,S1R' | drop sales-refund-of-refund.csv
expect sales-refund-of-refund.csv \
	'sales-refund-of-refund.csv:2:6: column "refund_of": value "S1R": that sale is itself a refund; a refund of a refund is not allowed'

printf '%s\n' "$HR" 'X1,B1,2026-11-03,-1.00,EUR,S1' | drop sales-refund-other-distributor.csv
expect sales-refund-other-distributor.csv \
	'sales-refund-other-distributor.csv:2:2: column "distributor_id": value "B1": the refunded sale belongs to distributor A1'

# ---- distributors -----------------------------------------------------------------
HD=distributor_id,sponsor_id,name,join_date
printf '%s\n' "$HD" 'C1,C2,Cy One,2026-01-01' 'C2,C1,Cy Two,2026-01-01' | drop distributors-cycle.csv
expect_re distributors-cycle.csv \
	'^distributors-cycle\.csv:[23]:[0-9]+: .*sponsor cycle: (C1 -> C2 -> C1|C2 -> C1 -> C2)'

printf '%s\n' "$HD" 'C1,A1,Fine,2026-01-01' 'C2,C2,Self,2026-01-01' | drop distributors-self.csv
expect distributors-self.csv \
	'distributors-self.csv:3:2: column "sponsor_id": value "C2": a distributor cannot sponsor itself'

printf '%s\n' "$HD" 'C1,ZZ,Orphan,2026-01-01' | drop distributors-unknown-sponsor.csv
expect_re distributors-unknown-sponsor.csv \
	'^distributors-unknown-sponsor\.csv:2:2: column "sponsor_id": value "ZZ": not a known distributor'

printf '%s\n' "$HD" 'a/b,A1,Slash,2026-01-01' | drop distributors-bad-id.csv
expect distributors-bad-id.csv \
	'distributors-bad-id.csv:2:1: column "distributor_id": value "a/b": a distributor id is 1 to 64 characters'
# "summary" would name summary.json, the period's own summary
printf '%s\n' "$HD" 'summary,A1,Sum,2026-01-01' | drop distributors-reserved-id.csv
expect distributors-reserved-id.csv \
	'distributors-reserved-id.csv:2:1: column "distributor_id": value "summary": a distributor id is 1 to 64 characters'

# an update of a known distributor in a rejected file leaves it as it was
printf '%s\n' "$HD" 'A1,,Anna Changed,2025-03-01' 'C9,,New One,2026-01-01' 'C10,C9,Bad Date,2026-13-01' |
	drop distributors-partial.csv
expect distributors-partial.csv 'distributors-partial.csv:4:4: column "join_date": value "2026-13-01"'

printf '%s\n' sku,name,pv,cv 'P1,Thing,1.234,1.00' | drop products-bad.csv
expect products-bad.csv 'products-bad.csv:2:3: column "pv": value "1.234": more than 2 decimals'

# ---- many bad rows: the first 1000 are listed, then a count ---------------------
{
	echo "$H"
	for ((i = 1; i <= 1500; i++)); do
		echo "M$i,A1,2026-11-03,$i.999,EUR"
	done
} | drop sales-many-bad.csv
expect sales-many-bad.csv \
	'Reason: 1500 bad rows; first: sales-many-bad.csv:2:4: column "amount": value "1.999": more than 2 decimals' \
	'1500 errors (line, column, value, reason):' \
	'sales-many-bad.csv:1001:4: column "amount": value "1000.999"' \
	'... and 500 more errors not listed'
# ---- one run rejects them all, and books nothing ---------------------------------
before=$(ledger_dump)
rej_before=$(q 'SELECT count(*) FROM rejections')
run_once
after=$(ledger_dump)
[[ $before == "$after" ]] || fail "the ledger changed although every file was rejected:
$(diff <(echo "$before") <(echo "$after") || true)"
nrej=${#NAMES[@]}
assert_eq "$((rej_before + nrej))" "$(q 'SELECT count(*) FROM rejections')" "rejections recorded"
assert_inbox_idle
for name in "${NAMES[@]}"; do
	mapfile -t texts <<<"${EXPECT[$name]}"
	assert_rejected "$name" "${texts[@]}"
	if [[ -n ${EXPECT_RE[$name]:-} ]]; then
		grep -Eq -- "${EXPECT_RE[$name]}" "$REJECTED/$name.errors.txt" ||
			fail "errors of $name: expected a line matching /${EXPECT_RE[$name]}/, found:
$(cat "$REJECTED/$name.errors.txt")"
	fi
	assert_contains "$AUDIT" '"event":"file_rejected","name":"'"$name"'","sha256":"' "audit log"
	assert_contains "$LOG" "payoutd: $name: rejected: " "payoutd log"
done
assert_contains "$LOG" "inbox: 0 booked, $nrej rejected, 0 left for a retry" "payoutd log"

# ---- details of some reports -------------------------------------------------------
# the report says which bytes, and stays valid UTF-8 itself
iconv -f UTF-8 -t UTF-8 "$REJECTED/sales-invalid-utf8.csv.errors.txt" >/dev/null 2>&1 ||
	fail "sales-invalid-utf8.csv.errors.txt is not valid UTF-8: $(cat -v "$REJECTED/sales-invalid-utf8.csv.errors.txt")"
assert_contains "$REJECTED/sales-invalid-utf8.csv.errors.txt" 'value "ab\xFF\xFE"'
# and the audit line keeps its reason (SPEC 8: file_rejected has name, sha256, reason, errors)
grep '"name":"sales-invalid-utf8.csv"' "$AUDIT" | grep -qF '"reason":"1 bad row; first: sales-invalid-utf8.csv:2:6: ' ||
	fail "audit file_rejected line of sales-invalid-utf8.csv has no reason: $(grep -a invalid-utf8 "$AUDIT")"
assert_eq "just some notes" "$(cat "$REJECTED/notes.txt")" "content of rejected/notes.txt"
assert_eq "Anna Schmidt" "$(q "SELECT name FROM distributors WHERE id = 'A1'")" "A1's name after a rejected update"
report=$REJECTED/sales-many-bad.csv.errors.txt
assert_eq "1000" "$(grep -c '^sales-many-bad\.csv:[0-9]*:4: column "amount"' "$report")" "listed errors"
assert_not_contains "$report" 'sales-many-bad.csv:1002:4:'
assert_eq "... and 500 more errors not listed" "$(tail -n 1 "$report")" "last line of the report"
assert_eq "1500" "$(q "SELECT errors FROM rejections WHERE name = 'sales-many-bad.csv'")" "error count recorded"
assert_contains "$AUDIT" '"errors":1500' "audit log"

# ---- everything booked is still as before; the log is intact --------------------------
assert_eq "S1|5000
S1R|-1000" "$(q 'SELECT sale_id, amount FROM sales ORDER BY sale_id')" "sales after all rejections"
assert_eq "3" "$(q 'SELECT count(*) FROM files')" "files booked"
assert_eq "$nrej" "$(count_lines "$AUDIT" '"event":"file_rejected"')" "file_rejected lines"
assert_eq "$nrej" "$(ls "$REJECTED" | grep -vc '\.errors\.txt$')" "files in rejected/"
assert_eq "$nrej" "$(ls "$REJECTED" | grep -c '\.errors\.txt$')" "reports in rejected/"
audit_verify_ok
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "files:         3 accepted, $nrej rejected" "status"
pass
