#!/usr/bin/env bash
# special_files: only regular files are read. A symbolic link is rejected
# without being followed (its target is neither read, moved nor booked), a
# FIFO is rejected without hanging, folders and ignored names (.hidden,
# *.tmp, *.part, *.partial, *~) stay in the inbox untouched, a file still
# open for writing waits until it is closed, and a name holding a newline is
# booked cleanly, shown as \x0A in logs and the ledger.
source "$(dirname "$0")/lib.sh"

write_config
book_base
SALE='sale_id,distributor_id,date,amount
S1,A1,2026-11-03,10.00'

# a symbolic link to a valid sales file outside the inbox, and a dangling one
mkdir "$T/outside"
echo "$SALE" >"$T/outside/sales-target.csv"
target_sum=$(sha256sum <"$T/outside/sales-target.csv")
ln -s "$T/outside/sales-target.csv" "$INBOX/sales-link.csv"
ln -s "$T/outside/nothing-here.csv" "$INBOX/sales-dangling.csv"
# a FIFO nobody writes to: opening it for reading would block forever
mkfifo "$INBOX/sales-fifo.csv"
# folders, one of them with a name that matches an input entry
mkdir "$INBOX/sub" "$INBOX/sales-folder.csv"
echo "$SALE" >"$INBOX/sub/sales-inside.csv"
# names a writer uses while writing
ignored=(.hidden.csv sales.csv.tmp sales.csv.part sales.csv.partial 'sales.csv~' .sales-x.csv)
for f in "${ignored[@]}"; do
	echo "$SALE" >"$INBOX/$f"
done
for f in "${ignored[@]}"; do
	touch -d '2026-01-02 03:04:05' "$INBOX/$f"
done
# a name with a newline in it
printf '%s\n' 'sale_id,distributor_id,date,amount' 'N1,B1,2026-11-04,12.34' | drop $'sales-new\nline.csv'

set +e
timeout $((20 * E2E_TIME_SCALE)) "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
rc=$?
set -e
[[ $rc -ne 124 ]] || fail "payoutd --once hung (killed after 20 s)"
assert_eq 0 "$rc" "exit status of payoutd --once"

# ---- links: rejected, not followed ------------------------------------------------
for f in sales-link.csv sales-dangling.csv; do
	[[ -L $REJECTED/$f ]] || fail "$f: expected the link itself in rejected/, found: $(ls -la "$REJECTED")"
	assert_file "$REJECTED/$f.errors.txt" "report of $f"
	assert_contains "$REJECTED/$f.errors.txt" "Reason: not a regular file: a symbolic link (not followed)"
	assert_contains "$AUDIT" '"event":"file_rejected","name":"'"$f"'","sha256":null,"reason":"not a regular file: a symbolic link (not followed)"'
done
assert_eq "$T/outside/sales-target.csv" "$(readlink "$REJECTED/sales-link.csv")" "the link still points at its target"
assert_file "$T/outside/sales-target.csv" "link target"
assert_eq "$target_sum" "$(sha256sum <"$T/outside/sales-target.csv")" "link target content"
assert_eq "sales-target.csv" "$(ls -A "$T/outside")" "folder of the link target"
assert_eq "0" "$(q "SELECT count(*) FROM sales WHERE sale_id = 'S1'")" "sales booked through the link"

# ---- FIFO: rejected --------------------------------------------------------------------
[[ -p $REJECTED/sales-fifo.csv ]] || fail "sales-fifo.csv: expected the FIFO in rejected/"
assert_contains "$REJECTED/sales-fifo.csv.errors.txt" "Reason: not a regular file: a FIFO"
assert_contains "$LOG" "sales-fifo.csv: rejected: not a regular file: a FIFO"

# ---- folders and ignored names stay as they are ------------------------------------------
[[ -d $INBOX/sub && -d $INBOX/sales-folder.csv ]] || fail "folders in the inbox: expected sub/ and sales-folder.csv/ to stay"
assert_eq "$SALE" "$(cat "$INBOX/sub/sales-inside.csv")" "file inside a sub-folder"
for f in "${ignored[@]}"; do
	assert_file "$INBOX/$f" "ignored name $f"
	assert_eq "$SALE" "$(cat "$INBOX/$f")" "content of ignored $f"
	assert_eq "2026-01-02 03:04:05" "$(date -d "@$(stat -c %Y "$INBOX/$f")" '+%Y-%m-%d %H:%M:%S')" "mtime of ignored $f"
	assert_not_contains "$LOG" "$f" "payoutd log"
	assert_not_contains "$AUDIT" "\"name\":\"$f\"" "audit log"
done
expected=$(printf '%s\n' "${ignored[@]}" .work sales-folder.csv sub | sort)
assert_eq "$expected" "$(ls -A "$INBOX" | sort)" "inbox entries"
assert_dir_empty "$WORK" "inbox/.work"

# ---- a newline in the name -----------------------------------------------------------------
month=$(archive_month)
nl_name=$'sales-new\nline.csv'
[[ -f $ARCHIVE/$month/$nl_name ]] || month=$(q "SELECT archive_dir FROM files WHERE kind = 'sales'")
assert_file "$ARCHIVE/$month/$nl_name" "archived file with a newline in its name"
assert_eq 'sales-new\x0Aline.csv' "$(q "SELECT name FROM files WHERE kind = 'sales'")" "files.name of the newline file"
assert_eq "N1|B1|1234|1" "$(q 'SELECT sale_id, distributor_id, amount, flags FROM sales')" "sales booked"
assert_contains "$LOG" 'payoutd: sales-new\x0Aline.csv: booked 1 rows (1 sales,' "payoutd log"
assert_contains "$AUDIT" '"event":"file_booked","name":"sales-new\\x0Aline.csv","kind":"sales"' "audit log"
assert_contains "$LOG" "inbox: 1 booked, 3 rejected, 0 left for a retry" "payoutd log"

# rejected with a newline in the name: the report stays one error a line
printf '%s\n' 'sale_id,distributor_id,date,amount' 'N2,B1,2026-11-04,1.234' | drop $'sales-bad\nname.csv'
run_once
assert_file "$REJECTED/"$'sales-bad\nname.csv' "rejected file with a newline in its name"
report=$REJECTED/$'sales-bad\nname.csv.errors.txt'
assert_file "$report" "report of the newline file"
assert_contains "$report" 'sales-bad\x0Aname.csv:2:4: column "amount": value "1.234": more than 2 decimals'
assert_eq "0" "$(grep -c '^name\.csv' "$report" || true)" "report lines starting inside the file name"

# a file still open for writing stays in the inbox (--once exits 0); once closed it is booked
exec 7>"$INBOX/sales-open.csv"
printf '%s\n' 'sale_id,distributor_id,date,amount' 'W1,A1,2026-11-03,1.00' >&7
set +e
timeout $((20 * E2E_TIME_SCALE)) "$PAYOUTD" -c "$CONF" --once 2>"$LOG" 7>&-
rc=$?
set -e
assert_eq 0 "$rc" "exit status of payoutd --once with a file being written"
assert_file "$INBOX/sales-open.csv" "file still open for writing"
assert_contains "$LOG" "sales-open.csv: still open for writing: left in the inbox until it is closed" "payoutd log"
echo 'W2,A1,2026-11-03,2.00' >&7
exec 7>&-
run_once
assert_eq "2|2" "$(q "SELECT rows, sales FROM files WHERE name = 'sales-open.csv'")" "rows of the file written in place"

# a second run leaves the folders and ignored files alone again
run_once
assert_eq "$expected" "$(ls -A "$INBOX" | sort)" "inbox entries after another run"
audit_verify_ok
pass
