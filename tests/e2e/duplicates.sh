#!/usr/bin/env bash
# duplicates: a file whose SHA-256 was booked is rejected as "duplicate of
# NAME booked at TIME"; identical sale rows in another file are skipped and
# counted as duplicates; a known sale_id with other content rejects its file;
# a name clash in archive/ or rejected/ gets a ".2", ".3" suffix before the
# extension, and no file is ever overwritten (not even by a report).
source "$(dirname "$0")/lib.sh"

write_config
book_base
SALES_A='sale_id,distributor_id,date,amount,sku,quantity
S1,A1,2026-11-03,80.00,SKIN-01,2
S2,B1,2026-11-04,120.00,VIT-01,4'

# ---- 1. the first copy is booked ------------------------------------------------
echo "$SALES_A" | drop sales-a.csv
run_once
month=$(q "SELECT archive_dir FROM files WHERE name = 'sales-a.csv'")
assert_file "$ARCHIVE/$month/sales-a.csv" "first sales-a.csv archived"
booked_at=$(q "SELECT booked_at FROM files WHERE name = 'sales-a.csv'")
[[ $booked_at =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
	fail "booked_at: expected an RFC 3339 UTC time, found [$booked_at]"
sha_a=$(echo "$SALES_A" | sha256sum | cut -d' ' -f1)
assert_eq "$sha_a" "$(q "SELECT sha256 FROM files WHERE name = 'sales-a.csv'")" "sha256 of sales-a.csv"
snapshot=$(ledger_dump)

# ---- 2. the same bytes again, under another name: rejected as a duplicate -----------
echo "$SALES_A" | drop sales-a-again.csv
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after a duplicate file"
assert_rejected sales-a-again.csv "Reason: duplicate of sales-a.csv booked at $booked_at"
assert_eq "duplicate of sales-a.csv booked at $booked_at" \
	"$(q "SELECT reason FROM rejections WHERE name = 'sales-a-again.csv'")" "rejection reason"
assert_contains "$AUDIT" '"event":"file_rejected","name":"sales-a-again.csv","sha256":"'"$sha_a"'","reason":"duplicate of sales-a.csv booked at '"$booked_at"'"'
assert_eq "$SALES_A" "$(cat "$REJECTED/sales-a-again.csv")" "rejected duplicate keeps its content"

# ---- 3. the same bytes under the same name: rejected too; names in rejected/ clash -----
echo "$SALES_A" | drop sales-a-again.csv
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after a second duplicate"
assert_rejected sales-a-again.2.csv "Reason: duplicate of sales-a.csv booked at $booked_at"
assert_contains "$REJECTED/sales-a-again.2.csv.errors.txt" "sales-a-again.csv was rejected at "
assert_file "$REJECTED/sales-a-again.csv" "first rejected copy still there"
assert_file "$REJECTED/sales-a-again.csv.errors.txt" "first report still there"
assert_inbox_idle

# ---- 4. another file repeating identical rows: booked, the repeats counted ------------
drop sales-b.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S2,B1,2026-11-04,120.00,VIT-01,4
S3,B2,2026-11-05,10.00,,
S1,A1,2026-11-03,80.00,SKIN-01,2
S3,B2,2026-11-05,10.00,,
EOF
run_once
assert_file "$ARCHIVE/$month/sales-b.csv" "sales-b.csv archived"
# rows|sales|duplicates
assert_eq "4|1|3" "$(q "SELECT rows, sales, duplicates FROM files WHERE name = 'sales-b.csv'")" "sales-b.csv counts"
assert_contains "$AUDIT" '"name":"sales-b.csv","kind":"sales"'
grep '"name":"sales-b.csv","kind":"sales"' "$AUDIT" | grep -qF '"rows":4,"sales":1,"distributors":0,"products":0,"late":0,"unattributed":0,"duplicates":3,' ||
	fail "audit file_booked of sales-b.csv: expected rows 4, sales 1, duplicates 3: $(grep sales-b.csv "$AUDIT")"
assert_contains "$LOG" "sales-b.csv: booked 4 rows (1 sales, 0 distributors, 0 products; 0 late, 0 unattributed, 3 duplicates"
# the first booking of each sale stays (file 3 = sales-a.csv)
assert_eq "S1|8000|3|2
S2|12000|3|3
S3|1000|4|3" "$(q 'SELECT sale_id, amount, file_id, line FROM sales ORDER BY sale_id')" "sales after sales-b.csv"

# ---- 5. a known sale_id with other content rejects its whole file ----------------------
snapshot=$(ledger_dump)
drop sales-c.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S4,A1,2026-11-06,5.00,,
S1,A1,2026-11-03,80.01,SKIN-01,2
S2,B2,2026-11-04,120.00,VIT-01,4
S5,A1,2026-11-06,5.00,,
S5,A1,2026-11-07,5.00,,
EOF
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after a conflicting sale_id"
assert_rejected sales-c.csv \
	'Reason: 3 bad rows; first: sales-c.csv:3:1: column "sale_id": value "S1": this sale_id is already booked (file 3, line 2) with different content' \
	'sales-c.csv:4:1: column "sale_id": value "S2": this sale_id is already booked (file 3, line 3) with different content' \
	'sales-c.csv:6:1: column "sale_id": value "S5": this sale_id is already booked (file 5, line 5) with different content'
assert_not_contains "$REJECTED/sales-c.csv.errors.txt" 'sales-c.csv:2:'
assert_not_contains "$REJECTED/sales-c.csv.errors.txt" 'sales-c.csv:5:'

# ---- 6. the same name with new content: booked, archived beside the first ---------------
drop sales-a.csv <<'EOF'
sale_id,distributor_id,date,amount
S10,A1,2026-11-10,1.00
EOF
run_once
drop sales-a.csv <<'EOF'
sale_id,distributor_id,date,amount
S11,A1,2026-11-11,2.00
EOF
run_once
assert_file "$ARCHIVE/$month/sales-a.csv" "first sales-a.csv"
assert_file "$ARCHIVE/$month/sales-a.2.csv" "second sales-a.csv"
assert_file "$ARCHIVE/$month/sales-a.3.csv" "third sales-a.csv"
assert_eq "$SALES_A" "$(cat "$ARCHIVE/$month/sales-a.csv")" "first sales-a.csv is not overwritten"
assert_contains "$ARCHIVE/$month/sales-a.2.csv" "S10,A1,2026-11-10,1.00"
assert_contains "$ARCHIVE/$month/sales-a.3.csv" "S11,A1,2026-11-11,2.00"
assert_eq "3" "$(q "SELECT count(*) FROM files WHERE name = 'sales-a.csv'")" "files named sales-a.csv"
assert_eq "S10|100
S11|200" "$(q "SELECT sale_id, amount FROM sales WHERE sale_id IN ('S10', 'S11') ORDER BY sale_id")" "sales of the later sales-a.csv"

# a name without an extension gets the suffix at its end
printf '%s\n' 'sale_id,distributor_id,date,amount' 'S12,A1,2026-11-12,3.00' | drop sales
run_once
printf '%s\n' 'sale_id,distributor_id,date,amount' 'S13,A1,2026-11-12,3.00' | drop sales
run_once
for f in "$REJECTED/sales" "$REJECTED/sales.2"; do
	assert_file "$f" "rejected name without extension"
	assert_file "$f.errors.txt" "report of $f"
done
assert_contains "$REJECTED/sales.errors.txt" "Reason: the name matches no input entry of the config"

# a file once dropped as NAME.errors.txt is never replaced by the report of a later NAME
echo "an earlier file" | drop sales-z.csv.errors.txt
run_once
echo "not a sales file" | drop sales-z.csv
run_once
assert_eq "an earlier file" "$(cat "$REJECTED/sales-z.csv.errors.txt")" "rejected file named like a report"
assert_rejected sales-z.2.csv 'sales-z.csv:1:1: required column "sale_id" is missing from the header'
assert_no_file "$REJECTED/sales-z.csv" "sales-z.csv beside a file named like its report"
assert_eq "not a sales file" "$(cat "$REJECTED/sales-z.2.csv")" "content of rejected/sales-z.2.csv"

assert_inbox_idle
audit_verify_ok
assert_eq "6 accepted, 7 rejected" "$(sed -n 's/^files: *//p' <("$PAYOUTCTL" -c "$CONF" status))" "status files line"
pass
