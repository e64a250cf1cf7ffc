#!/usr/bin/env bash
# backup: `payoutctl backup FILE` copies the ledger online (while payoutd
# runs) into one self-contained SQLite file, never overwrites a file, and
# the restore procedure of docs/operations.md works: stop payoutd, put the
# copy in place of ledger.db (no -wal/-shm), move audit.log aside, start:
# payoutd writes the audit log again from the ledger, byte for byte, and
# audit verify passes.
source "$(dirname "$0")/lib.sh"

write_config
book_base
drop sales-1.csv <<'EOF2'
sale_id,distributor_id,date,amount,sku,quantity
S1,A1,2026-11-03,150.00,,
S2,B1,2026-11-04,120.00,VIT-01,4
S3,B2,2026-11-05,80.00,SKIN-01,2
EOF2
run_once
close_ok 2026-11

# ---- a backup while the daemon runs ------------------------------------------------------
start_daemon
(umask 022 && run "$PAYOUTCTL" -c "$CONF" backup "$T/backup.db" && echo "$RC" >"$T/rc")
RC=$(cat "$T/rc")
assert_eq 0 "$RC" "backup exit status ($(cat "$OUT"))"
grep -Eq "^backed up $DB to $T/backup.db \([0-9]+ pages, [0-9.]+ s\)$" "$OUT" || fail "backup output: $(cat "$OUT")"
# a file dropped after the backup is in the ledger, not in the copy
drop sales-2.csv <<'EOF2'
sale_id,distributor_id,date,amount
S4,A1,2026-12-03,130.00
EOF2
wait_for 10 "payoutd to book sales-2.csv" inbox_empty
stop_daemon
assert_eq 0 "$RC" "daemon exit status"

# one file: no -wal or -shm beside it, not in WAL mode, whole
assert_no_file "$T/backup.db-wal" "a -wal file beside the backup"
assert_eq "delete" "$(sqlite3 -batch "$T/backup.db" 'PRAGMA journal_mode')" "journal mode of the backup"
assert_eq "ok" "$(sqlite3 -batch -readonly "$T/backup.db" 'PRAGMA integrity_check')" "integrity of the backup"
assert_eq "3" "$(sqlite3 -batch -readonly "$T/backup.db" 'SELECT count(*) FROM sales')" "sales in the backup"
assert_eq "4" "$(q 'SELECT count(*) FROM sales')" "sales in the ledger"
assert_eq "$(q 'PRAGMA user_version')" "$(sqlite3 -batch -readonly "$T/backup.db" 'PRAGMA user_version')" "schema version"
ls "$T" | grep -q 'backup.db.tmp' && fail "a temporary file was left: $(ls "$T")"
assert_eq "640" "$(stat -c %a "$T/backup.db")" "mode of the backup (umask $(umask))"

# ---- never overwrites ---------------------------------------------------------------------
before=$(sha256sum "$T/backup.db")
run "$PAYOUTCTL" -c "$CONF" backup "$T/backup.db"
assert_eq 1 "$RC" "exit status of a backup onto an existing file"
assert_contains "$OUT" "backup.db exists: a backup never overwrites a file"
assert_eq "$before" "$(sha256sum "$T/backup.db")" "the existing backup"
run "$PAYOUTCTL" -c "$CONF" backup "$T/no/such/folder/b.db"
assert_eq 1 "$RC" "exit status of a backup into a missing folder ($(cat "$OUT"))"

# ---- restore ------------------------------------------------------------------------------
audit_at_backup=$(head -n "$(sqlite3 -batch -readonly "$T/backup.db" 'SELECT count(*) FROM audit')" "$AUDIT")
cp "$T/backup.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
mv "$AUDIT" "$T/audit.log.after-backup"
run_once
# the audit log starts with exactly the lines it had when the backup was taken
assert_eq "$audit_at_backup" "$(head -n "$(printf '%s\n' "$audit_at_backup" | wc -l)" "$AUDIT")" "audit log rewritten from the restored ledger"
audit_verify_ok
assert_eq "3" "$(q 'SELECT count(*) FROM sales')" "sales after the restore"
assert_eq "1" "$(q "SELECT count(*) FROM periods WHERE name = '2026-11'")" "2026-11 closed after the restore"
# what came after the backup is booked again from its archived file
cp "$ARCHIVE"/*/sales-2.csv "$INBOX/sales-2.csv"
run_once
assert_eq "4" "$(q 'SELECT count(*) FROM sales')" "sales after booking sales-2.csv again"
audit_verify_ok
pass
