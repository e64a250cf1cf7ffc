#!/usr/bin/env bash
# ingest_good: products, distributors and sales files are booked exactly as
# given: amounts in cents, pv/cv derived from the catalog and multiplied by
# the demo plan's november-skincare promotion (pv x2), booked periods in the
# plan's time zone, flags; the file records, the archive, the audit log and
# `payoutctl status` agree.
source "$(dirname "$0")/lib.sh"

write_config
echo "$PRODUCTS_CSV" | drop products-2026-11.csv
echo "$DISTRIBUTORS_CSV" | drop distributors-2026-11.csv
drop sales-2026-11.csv <<'EOF'
sale_id,distributor_id,date,amount,currency,sku,quantity,pv,cv,customer_type,refund_of
S1,A1,2026-11-03,80.00,EUR,SKIN-01,2,,,retail,
S2,B1,2026-11-04,120.00,EUR,VIT-01,4,,,,
S3,B2,2026-11-05T09:30:00+01:00,55.00,,SKIN-02,,,,distributor,
S4,A1,2026-11-06,19.99,,,,,,,
S5,B1,2026-11-07,7.50,EUR,NOPE-99,3,,,,
S6,B2,2026-11-08,40.00,EUR,SKIN-01,1,10.50,,retail,
S7,A1,2026-11-09,49.00,EUR,KIT-01,1,,,distributor,
S8,B1,2026-11-30T23:30:00+01:00,40.00,EUR,SKIN-01,1,,,,
S9,B1,2026-11-30T23:30:00Z,40.00,EUR,SKIN-01,1,,,,
S10,A1,2026-12-02,1234567.89,EUR,VIT-01,2,,,,
S11,A1,2026-11-10,-19.99,EUR,,,,,,S4
EOF
month_before=$(archive_month)
run_once
month_after=$(archive_month)

# ---- the ledger -----------------------------------------------------------
# period indexes: monthly = year*12 + month - 1
NOV=24322
DEC=24323
assert_eq "$NOV" "$((2026 * 12 + 11 - 1))" "period index of 2026-11"

# sale_id|distributor|day|amount|pv|cv|booked_period|flags|refund_of|promo|pv_mult|cv_mult
P=november-skincare
expected="S1|A1|$(day 2026-11-03)|8000|16000|6400|$NOV|1||$P|2000000|1000000
S10|A1|$(day 2026-12-02)|123456789|6000|5000|$DEC|1||||
S11|A1|$(day 2026-11-10)|-1999|-1999|-1999|$NOV|1|S4|||
S2|B1|$(day 2026-11-04)|12000|12000|10000|$NOV|1||||
S3|B2|$(day 2026-11-05)|5500|11000|4400|$NOV|9||$P|2000000|1000000
S4|A1|$(day 2026-11-06)|1999|1999|1999|$NOV|1||||
S5|B1|$(day 2026-11-07)|750|750|750|$NOV|1||||
S6|B2|$(day 2026-11-08)|4000|2100|3200|$NOV|1||$P|2000000|1000000
S7|A1|$(day 2026-11-09)|4900|0|0|$NOV|9||||
S8|B1|$(day 2026-11-30)|4000|8000|3200|$NOV|1||$P|2000000|1000000
S9|B1|$(day 2026-12-01)|4000|4000|3200|$DEC|1||||"
actual=$(q "SELECT sale_id, distributor_id, day, amount, pv, cv, booked_period, flags,
                   coalesce(refund_of, ''), coalesce(promo, ''), coalesce(pv_mult, ''), coalesce(cv_mult, '')
            FROM sales ORDER BY sale_id")
assert_eq "$expected" "$actual" "sales rows"
# each sale remembers its file and line
assert_eq "S1|3|2
S11|3|12" "$(q "SELECT sale_id, file_id, line FROM sales WHERE sale_id IN ('S1','S11') ORDER BY sale_id")" "sale file/line"

expected="A1||Anna Schmidt|$(day 2025-03-01)|DE|anna@example.com|DE89370400440532013000|1
B1|A1|Bernd Müller|$(day 2025-06-15)|DE|bernd@example.com|DE44500105175407324931|0
B2|A1|Clara Jäger|$(day 2025-09-01)|AT|clara@example.com|AT611904300234573201|0"
actual=$(q "SELECT id, coalesce(sponsor_id, ''), name, join_date, country, email, iban, vat_liable
            FROM distributors ORDER BY id")
assert_eq "$expected" "$actual" "distributors rows"
assert_eq "0" "$(q 'SELECT count(*) FROM distributor_status')" "distributor_status rows"

expected="KIT-01|Starter Kit|0|0|kits
SKIN-01|Hydrating Serum|4000|3200|skincare
SKIN-02|Night Cream|5500|4400|skincare
VIT-01|Vitamin Pack|3000|2500|nutrition"
assert_eq "$expected" "$(q 'SELECT sku, name, pv, cv, category FROM products ORDER BY sku')" "products rows"

# ---- file records ---------------------------------------------------------
# name|kind|rows|sales|distributors|products|late|unattributed|duplicates|refunds|clawbacks|attributed
expected="distributors-2026-11.csv|distributors|3|0|3|0|0|0|0|0|0|0
products-2026-11.csv|products|4|0|0|4|0|0|0|0|0|0
sales-2026-11.csv|sales|11|11|0|0|0|0|0|1|0|0"
actual=$(q "SELECT name, kind, rows, sales, distributors, products, late, unattributed, duplicates,
                   refunds, clawbacks, attributed FROM files ORDER BY id")
assert_eq "$expected" "$actual" "files rows"
assert_eq "0" "$(q 'SELECT count(*) FROM rejections')" "rejections"
sales_sha=$(sha256sum "$ARCHIVE"/*/sales-2026-11.csv | cut -d' ' -f1)
assert_eq "$sales_sha" "$(q "SELECT sha256 FROM files WHERE name = 'sales-2026-11.csv'")" "sha256 of the sales file"
assert_eq "$(stat -c %s "$ARCHIVE"/*/sales-2026-11.csv)" "$(q "SELECT size FROM files WHERE name = 'sales-2026-11.csv'")" "size of the sales file"

# ---- folders ----------------------------------------------------------------
month=$(q "SELECT DISTINCT archive_dir FROM files")
[[ $month == "$month_before" || $month == "$month_after" ]] ||
	fail "archive_dir: expected $month_before (the current month), found $month"
for f in products-2026-11.csv distributors-2026-11.csv sales-2026-11.csv; do
	assert_file "$ARCHIVE/$month/$f" "archived $f"
done
assert_eq "3" "$(ls -A "$ARCHIVE/$month" | wc -l)" "files in archive/$month"
assert_eq "$(echo "$PRODUCTS_CSV")" "$(cat "$ARCHIVE/$month/products-2026-11.csv")" "archived products file content"
assert_inbox_idle
assert_dir_empty "$REJECTED" "rejected folder"

# ---- audit log ------------------------------------------------------------
assert_eq "3" "$(count_lines "$AUDIT" '"event":"file_booked"')" "file_booked lines"
assert_contains "$AUDIT" '"event":"file_booked","name":"sales-2026-11.csv","kind":"sales","sha256":"'"$sales_sha"'"'
assert_contains "$AUDIT" '"rows":11,"sales":11,"distributors":0,"products":0,"late":0,"unattributed":0,"duplicates":0,"refunds":1,'
assert_contains "$AUDIT" '"name":"products-2026-11.csv","kind":"products"'
assert_contains "$AUDIT" '"rows":4,"sales":0,"distributors":0,"products":4,'
assert_contains "$AUDIT" '"rows":3,"sales":0,"distributors":3,"products":0,'
assert_eq '"event":"started"' "$(head -n 1 "$AUDIT" | grep -o '"event":"started"')" "first audit event"
assert_eq '"event":"stopped"' "$(tail -n 1 "$AUDIT" | grep -o '"event":"stopped"')" "last audit event"
assert_eq "$(wc -l <"$AUDIT")" "$(q 'SELECT count(*) FROM audit')" "audit lines in file and ledger"
audit_verify_ok
assert_contains "$OUT" "intact, $(wc -l <"$AUDIT") lines"
assert_contains "$LOG" "sales-2026-11.csv: booked 11 rows (11 sales, 0 distributors, 0 products; 0 late, 0 unattributed, 0 duplicates, 0 attributed)"

# ---- payoutctl status -----------------------------------------------------
run "$PAYOUTCTL" -c "$CONF" status
[[ $RC -eq 0 ]] || fail "status exited $RC: $(cat "$OUT")"
assert_contains "$OUT" "files:         3 accepted, 0 rejected" "status"
assert_contains "$OUT" "distributors:  3 (0 terminated)" "status"
assert_contains "$OUT" "products:      4" "status"
assert_contains "$OUT" "closed:        none" "status"
assert_contains "$OUT" "Example Unilevel 2026" "status"
assert_contains "$OUT" "unattributed:  none" "status"
grep -Eq '^  2026-11 +9 sales, net 391\.50 EUR; 0 late, 0 clawbacks, 0 unattributed$' "$OUT" ||
	fail "status: expected the 2026-11 line with 9 sales, net 391.50 EUR; found: $(cat "$OUT")"
grep -Eq '^  2026-12 +2 sales, net 1234607\.89 EUR; 0 late, 0 clawbacks, 0 unattributed$' "$OUT" ||
	fail "status: expected the 2026-12 line with 2 sales, net 1234607.89 EUR; found: $(cat "$OUT")"

# ---- a generated file of 5000 sales for 200 distributors ------------------------
if [[ -n $GEN_SALES ]]; then
	"$GEN_SALES" --distributors 200 | drop distributors-gen.csv
	"$GEN_SALES" 5000 200 42 | drop sales-gen.csv
	run_once
	want_cents=$(awk -F, 'NR > 1 { split($4, a, "."); s += a[1] * 100 + a[2] } END { print s }' "$ARCHIVE"/*/sales-gen.csv)
	assert_eq "200|200|0" "$(q "SELECT rows, distributors, attributed FROM files WHERE name = 'distributors-gen.csv'")" "distributors-gen.csv counts"
	assert_eq "5000|5000|0|0" "$(q "SELECT rows, sales, unattributed, duplicates FROM files WHERE name = 'sales-gen.csv'")" "sales-gen.csv counts"
	assert_eq "5000|$want_cents|$want_cents|$want_cents|5000" \
		"$(q "SELECT count(*), sum(amount), sum(pv), sum(cv), sum(flags = 1) FROM sales WHERE sale_id LIKE 'S0%'")" "generated sales"
	assert_eq "24322" "$(q "SELECT DISTINCT booked_period FROM sales WHERE sale_id LIKE 'S0%'")" "booked period of the generated sales"
fi

# ---- a second run with nothing waiting changes nothing ---------------------
before=$(ledger_dump)
run_once
assert_eq "$before" "$(ledger_dump)" "ledger after an idle run"
assert_inbox_idle
audit_verify_ok
pass
