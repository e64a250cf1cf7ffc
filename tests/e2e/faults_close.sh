#!/usr/bin/env bash
# faults_close: I/O faults during `payoutctl close` (issue 5), injected with
# tests/tools/faultshim.c. Before the commit a fault leaves the period open and
# the ledger as it was (its statements/.PERIOD.tmp is replaced by the next
# close); after the commit it leaves the period closed and unpublished, and the
# next close (or payoutd start) publishes it. Every failed close exits 1 with
# a message naming the path and the cause; the close run once the cause is
# gone writes a folder byte for byte like a close that never met a fault (a
# reference state closed alongside); `audit verify` stays intact.
#
#   before the commit, 2026-11: disk full and EIO writing a statement; a
#     read-only ledger (status still reads it); permission denied
#     creating the folder and a statement; EIO on its syncfs; disk full on the
#     ledger's WAL; EIO on the WAL's fdatasync at the COMMIT
#   after the commit: permission denied on the rename into place (2026-12); EIO
#     on the audit log's fsync (2027-01: its line is not left in the file
#     unsynced); EIO on the statements folder's fsync after the rename (2027-02)
#   payoutd's start publishing a committed close under a fault, then without
source "$(dirname "$0")/lib.sh"

# ---- the shim ------------------------------------------------------------------------
: "${FAULTSHIM:?FAULTSHIM must name libfaultshim.so (tests/CMakeLists.txt sets it)}"
[[ -f $FAULTSHIM ]] || fail "the fault shim $FAULTSHIM is not built"
PRELOAD=$FAULTSHIM
asan_rt=$(ldd "$PAYOUTCTL" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3; exit }' || true)
[[ -n $asan_rt ]] && PRELOAD="$asan_rt $FAULTSHIM"
FAULTS=$T/faults.log
: >"$FAULTS"

# close_faulty PERIOD FAULT_VAR=VALUE...: `payoutctl close PERIOD` with the shim;
# must exit 1 (output in $OUT) and have injected at least one fault.
close_faulty() {
	local p=$1 n
	shift
	n=$(wc -l <"$FAULTS")
	run env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" "$@" "$PAYOUTCTL" -c "$CONF" close "$p"
	[[ $RC -eq 1 ]] || fail "close $p with $* exited $RC, expected 1: $(cat "$OUT")"
	(($(wc -l <"$FAULTS") > n)) || fail "close $p with $*: the shim injected nothing"
}

# periods_dump: what a close writes into the ledger.
periods_dump() {
	sqlite3 -batch -readonly "$DB" '.dump periods period_results period_sources plans'
}

# assert_open PERIOD BEFORE: the failed close changed nothing: PERIOD is not
# closed, the ledger's close tables are BEFORE, no folder of PERIOD is published.
assert_open() {
	assert_eq 0 "$(q "SELECT count(*) FROM periods WHERE name = '$1'")" "$1 closed after a failed close"
	assert_eq "$2" "$(periods_dump)" "the ledger's close tables after a failed close of $1"
	assert_no_file "$STATEMENTS/$1" "statements/$1 after a failed close"
	audit_verify_ok
}

# assert_unpublished PERIOD: committed, not yet in place.
assert_unpublished() {
	assert_eq "0" "$(q "SELECT published FROM periods WHERE name = '$1'")" "published flag of $1"
}

# assert_like_ref PERIOD: published, byte for byte what the fault-free reference close wrote.
assert_like_ref() {
	local p=$1
	[[ -d $STATEMENTS/$p ]] || fail "statements/$p is not published; statements holds: $(ls -A "$STATEMENTS" | tr '\n' ' ')"
	assert_no_file "$STATEMENTS/.$p.tmp" "temporary folder of $p"
	assert_eq "$(tree_sums "$T/ref/statements/$p")" "$(tree_sums "$STATEMENTS/$p")" "statements/$p vs the reference close"
	assert_sums_ok "$STATEMENTS/$p"
	assert_eq "1" "$(q "SELECT published FROM periods WHERE name = '$p'")" "published flag of $p"
	assert_eq "$(sqlite3 -batch -readonly "$T/ref/ledger.db" "SELECT manifest_sha256 FROM periods WHERE name = '$p'")" \
		"$(q "SELECT manifest_sha256 FROM periods WHERE name = '$p'")" "SHA256SUMS recorded for $p vs the reference"
	audit_verify_ok
}

write_config
book_base
drop sales-1.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S1,A1,2026-11-03,150.00,,
S2,B1,2026-11-04,120.00,VIT-01,4
S3,B2,2026-11-05,80.00,SKIN-01,2
S4,A1,2026-12-03,130.00,,
S5,B1,2026-12-04,90.00,,
S6,A1,2027-01-03,110.00,,
S7,B2,2027-01-08,60.00,,
S8,A1,2027-02-03,140.00,,
EOF
run_once

# the reference: the same ledger, closed month by month without faults
cp -a "$STATE" "$T/ref"
sed 's#state/#ref/#' "$CONF" >"$T/ref.yaml"
for p in 2026-11 2026-12 2027-01 2027-02; do
	run "$PAYOUTCTL" -c "$T/ref.yaml" close $p
	[[ $RC -eq 0 ]] || fail "reference close of $p exited $RC: $(cat "$OUT")"
done

# ---- before the commit: 2026-11 stays open ---------------------------------------------
before=$(periods_dump)
TMP=$STATEMENTS/.2026-11.tmp

# disk full, and EIO, writing a statement
for e in "ENOSPC:No space left on device" "EIO:Input/output error"; do
	close_faulty 2026-11 FAULT_OP=write FAULT_ERRNO="${e%%:*}" FAULT_PATH="$TMP/"
	assert_contains "$OUT" "close failed: cannot write $TMP/A1.json: ${e#*:}" "close output"
	assert_open 2026-11 "$before"
done

# a read-only ledger: refused with the reason; reading it still works
close_faulty 2026-11 FAULT_OP=openw FAULT_ERRNO=EROFS FAULT_PATH="$DB\$"
assert_contains "$OUT" "cannot open ledger $DB for writing: Read-only file system" "close output"
assert_open 2026-11 "$before"
run env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" FAULT_OP=openw FAULT_ERRNO=EROFS FAULT_PATH="$DB\$" "$PAYOUTCTL" -c "$CONF" status
assert_eq 0 "$RC" "payoutctl status on a read-only ledger ($(cat "$OUT"))"
assert_contains "$OUT" "files:         3 accepted, 0 rejected" "status on a read-only ledger"

# permission denied creating the folder, then a statement in it
close_faulty 2026-11 FAULT_OP=mkdir FAULT_ERRNO=EACCES FAULT_PATH="$TMP"
assert_contains "$OUT" "close failed: cannot create $TMP: Permission denied" "close output"
assert_open 2026-11 "$before"
close_faulty 2026-11 FAULT_OP=openw FAULT_ERRNO=EACCES FAULT_PATH="$TMP/"
assert_contains "$OUT" "close failed: cannot create $TMP/A1.json: Permission denied" "close output"
assert_open 2026-11 "$before"

# EIO syncing the folder before the commit: nothing is committed on statements
# that may not be on disk; the next close writes them anew
close_faulty 2026-11 FAULT_OP=syncfs FAULT_ERRNO=EIO FAULT_PATH="$TMP"
assert_contains "$OUT" "close failed: cannot sync $TMP: Input/output error" "close output"
assert_open 2026-11 "$before"

# disk full on the ledger's WAL; EIO on its fdatasync at the COMMIT
close_faulty 2026-11 FAULT_OP=pwrite FAULT_ERRNO=ENOSPC FAULT_PATH="$DB-wal"
assert_contains "$OUT" "close failed: ledger $DB: database or disk is full" "close output"
assert_open 2026-11 "$before"
close_faulty 2026-11 FAULT_OP=fdatasync FAULT_ERRNO=EIO FAULT_PATH="$DB-wal"
assert_contains "$OUT" "close failed: ledger $DB: disk I/O error (syncing the ledger or its WAL to disk failed)" "close output"
assert_open 2026-11 "$before"
grep -qF "fdatasync($DB-wal) -> EIO" "$FAULTS" || fail "no fdatasync of the WAL failed: $(tail -n 3 "$FAULTS")"

# the cause removed: closed, like the reference
close_ok 2026-11
assert_like_ref 2026-11

# ---- after the commit: closed, published by the next close ---------------------------------
# permission denied renaming the folder into place
close_faulty 2026-12 FAULT_OP=rename FAULT_ERRNO=EACCES FAULT_PATH="$STATEMENTS/2026-12"
assert_contains "$OUT" "close failed: 2026-12 is closed, but its statements are not published yet (the next close or payoutd start publishes them): cannot move $STATEMENTS/.2026-12.tmp to $STATEMENTS/2026-12: Permission denied" "close output"
assert_unpublished 2026-12
[[ -d $STATEMENTS/.2026-12.tmp ]] || fail "the temporary folder of 2026-12 is gone"
audit_verify_ok
close_ok 2026-12
assert_contains "$OUT" "published the statements of 2026-12 after a restart" "close output"
assert_contains "$OUT" "2026-12 is already closed: nothing to do" "close output"
assert_like_ref 2026-12

# EIO on the audit log's fsync after the commit: the period_closed line is not
# left in the file unsynced (the next sync writes it again); until then the
# file is behind the ledger, and payoutd's start (or the next close) repairs it
close_faulty 2027-01 FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$AUDIT"
assert_contains "$OUT" "close failed: 2027-01 is closed, but its statements are not published yet (the next close or payoutd start publishes them): cannot sync audit log $AUDIT: Input/output error" "close output"
assert_unpublished 2027-01
assert_not_contains "$AUDIT" '"event":"period_closed","period":"2027-01"' "audit log after its failed fsync"
run "$PAYOUTCTL" -c "$CONF" audit verify
assert_eq 5 "$RC" "audit verify while the log is behind ($(cat "$OUT"))"
run_once
assert_contains "$LOG" "published the statements of 2027-01 after a restart" "payoutd log"
assert_eq 1 "$(count_lines "$AUDIT" '"event":"period_closed","period":"2027-01"')" "period_closed lines of 2027-01"
assert_like_ref 2027-01

# EIO on the statements folder's fsync after the rename: the folder is in
# place but not known to be durable; recorded as published by the next close
close_faulty 2027-02 FAULT_OP=fsync FAULT_ERRNO=EIO FAULT_PATH="$STATEMENTS\$"
assert_contains "$OUT" "close failed: 2027-02 is closed, but its statements are not published yet (the next close or payoutd start publishes them): cannot sync folder $STATEMENTS: Input/output error" "close output"
assert_unpublished 2027-02
audit_verify_ok
close_ok 2027-02
assert_like_ref 2027-02

# ---- payoutd's start publishing a committed close, under a fault, then without ---------------
# (the state a crash right after a commit leaves: folder under its temporary name)
mv "$STATEMENTS/2027-02" "$STATEMENTS/.2027-02.tmp"
sqlite3 -batch "$DB" "UPDATE periods SET published = 0 WHERE name = '2027-02'"
set +e
timeout $((60 * ${E2E_TIME_SCALE:-1})) env LD_PRELOAD="$PRELOAD" FAULT_LOG="$FAULTS" FAULT_OP=rename FAULT_ERRNO=EACCES \
	FAULT_PATH="$STATEMENTS/2027-02" "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
set -e
assert_contains "$LOG" "cannot move $STATEMENTS/.2027-02.tmp to $STATEMENTS/2027-02: Permission denied" "payoutd log"
assert_unpublished 2027-02
run_once
assert_contains "$LOG" "published the statements of 2027-02 after a restart" "payoutd log"
assert_like_ref 2027-02

assert_eq "2026-11 2026-12 2027-01 2027-02" "$(ls -A "$STATEMENTS" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')" "statements/ at the end"
assert_eq "$(count_lines "$T/ref/audit.log" '"event":"period_closed"')" "$(count_lines "$AUDIT" '"event":"period_closed"')" "period_closed lines vs the reference"
audit_verify_ok
pass
