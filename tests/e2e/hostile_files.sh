#!/usr/bin/env bash
# hostile_files: the file-system cases of the hostile input catalogue (issue
# 5, docs/hostile-inputs.md): symbolic links, FIFOs, sockets and device files
# are rejected without being opened or followed; odd names (dots, "..",
# backslashes, shell and printf syntax, escape sequences, bytes that are not
# UTF-8, a name that collides with a report's) are booked or rejected like any
# other and shown escaped; a name too long to claim is left in the inbox with
# a clear error; a file renamed while being read is booked once; a 1 GiB line
# and a large sparse file are rejected with file, line and column in bounded
# memory. Every run is timed and its peak memory measured (/usr/bin/time, or
# VmHWM for the daemon).
#
# While the daemon reads one long file it keeps feeding systemd's watchdog
# (WATCHDOG=1 at least every WatchdogSec/4 while it makes progress), and a
# file over max_file_size (the catalogue's 10 GiB sparse file) is refused
# unread.
#
# special_files.sh already covers a link to a good file, a dangling link, a
# FIFO nobody writes, folders, ignored names and a newline in a name.
#
# The sparse file read whole is HOSTILE_SPARSE_SIZE (default 2048M, under the
# default max_file_size) so that this test stays near a minute on a small
# machine: payoutd reads and hashes every byte of a file, also after rejecting
# it at its third line.
source "$(dirname "$0")/lib.sh"
: "${NOTIFY_LISTEN:?NOTIFY_LISTEN must name the notify_listen test tool}"

# ---- bounds --------------------------------------------------------------------
# A sanitizer build is slower and needs more memory (shadow memory, redzones);
# under valgrind (PAYOUTD_VALGRIND, tests/tools/valgrind-wrap.sh) the peak RSS
# is valgrind's own and is not checked, and times scale with E2E_TIME_SCALE.
SAN=0
grep -aq -e __asan_init -e __ubsan_handle "$PAYOUTD" && SAN=1
VG=0
[[ -n ${PAYOUTD_VALGRIND:-} ]] && VG=1
MAX_RSS_KIB=$((VG ? 0 : SAN ? 800 * 1024 : 200 * 1024)) # 0: not checked
SCALE=$((SAN ? 4 : ${E2E_TIME_SCALE:-1}))
# sizes: valgrind runs every instruction of the SHA-256 of every byte, so
# the huge cases shrink there (they are here for memory errors, not scale)
ROWS=$((VG ? 20000 : 150000))
LINE_MIB=$((VG ? 16 : 1024))
SIZE=${HOSTILE_SPARSE_SIZE:-$((VG ? 64 : 2048))M}
[[ -x /usr/bin/time ]] || fail "/usr/bin/time is needed (Debian package time, see scripts/install-deps.sh)"

# measured_once EXPECTED_RC MAX_SECS WHAT: payoutd --once under /usr/bin/time
# and timeout; fails unless it exits EXPECTED_RC within MAX_SECS x SCALE with
# a peak RSS below MAX_RSS_KIB. Sets RSS_KIB and MSECS (wall milliseconds).
measured_once() {
	local want=$1 max=$(($2 * SCALE)) what=$3 rc t0 t1
	t0=$(date +%s%N)
	set +e
	/usr/bin/time -f %M -o "$T/rss.txt" timeout "$max" "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
	rc=$?
	set -e
	t1=$(date +%s%N)
	MSECS=$(((t1 - t0) / 1000000))
	[[ $rc -ne 124 ]] || fail "$what: payoutd --once took longer than $max s"
	[[ $rc -eq $want ]] || fail "$what: payoutd --once exited $rc, expected $want"
	RSS_KIB=$(tail -n 1 "$T/rss.txt")
	[[ $RSS_KIB =~ ^[0-9]+$ ]] || fail "$what: no peak RSS from /usr/bin/time: $(cat "$T/rss.txt")"
	((MAX_RSS_KIB == 0 || RSS_KIB < MAX_RSS_KIB)) || fail "$what: peak RSS $RSS_KIB KiB, bound $MAX_RSS_KIB KiB"
	echo "$what: $((MSECS / 1000)).$(printf %03d $((MSECS % 1000))) s, peak RSS $RSS_KIB KiB"
}

# assert_unchanged WHAT: the ledger's booked content is $SNAPSHOT.
assert_unchanged() {
	local now
	now=$(ledger_dump)
	[[ $now == "$SNAPSHOT" ]] || fail "$1: the ledger changed:
$(diff <(echo "$SNAPSHOT") <(echo "$now") | head -20 || true)"
}

write_config
book_base
H=sale_id,distributor_id,date,amount

# ==== 1. links, FIFOs, sockets, device files: rejected, never opened =======================
mkdir "$T/outside"
mkfifo "$T/outside/fifo"
echo "$H" >"$T/outside/sales-target.csv"
echo 'L1,A1,2026-11-03,1.00' >>"$T/outside/sales-target.csv"
target_sum=$(sha256sum <"$T/outside/sales-target.csv")
ln -s /dev/zero "$INBOX/sales-link-dev-zero.csv"
ln -s sales-link-loop.csv "$INBOX/sales-link-loop.csv"
ln -s "$T/outside" "$INBOX/sales-link-folder.csv"
ln -s "$T/outside/fifo" "$INBOX/sales-link-fifo.csv"
ln -s ../../outside/sales-target.csv "$INBOX/sales-link-relative.csv"
LINKS=(sales-link-dev-zero.csv sales-link-loop.csv sales-link-folder.csv sales-link-fifo.csv sales-link-relative.csv)
# a FIFO with a writer holding it open (opened read-write: that does not block)
mkfifo "$INBOX/sales-fifo-open.csv"
exec 8<>"$INBOX/sales-fifo-open.csv"
# a listening UNIX socket (perl-base is on every Debian system)
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $ARGV[0], Listen => 1) or die "$!\n"' \
	"$INBOX/sales-socket.csv" || fail "cannot make a UNIX socket with perl"
SPECIAL=("${LINKS[@]}" sales-fifo-open.csv sales-socket.csv)
declare -A WHY=([sales-fifo-open.csv]="a FIFO" [sales-socket.csv]="a socket")
for f in "${LINKS[@]}"; do WHY[$f]="a symbolic link (not followed)"; done
# device files: copies of /dev/null, /dev/zero, /dev/urandom and a block device (needs root)
DEVICES=()
if mknod "$INBOX/sales-dev-null.csv" c 1 3 2>/dev/null; then
	mknod "$INBOX/sales-dev-zero.csv" c 1 5
	mknod "$INBOX/sales-dev-urandom.csv" c 1 9
	mknod "$INBOX/sales-dev-loop.csv" b 7 0
	DEVICES=(sales-dev-null.csv sales-dev-zero.csv sales-dev-urandom.csv sales-dev-loop.csv)
	for f in "${DEVICES[@]}"; do WHY[$f]="a device file"; done
	SPECIAL+=("${DEVICES[@]}")
else
	echo "note: not root: mknod is refused, the device file cases are skipped"
fi

SNAPSHOT=$(ledger_dump)
measured_once 0 10 "links, FIFOs, sockets, device files"
exec 8<&-
assert_unchanged "special files"
for f in "${SPECIAL[@]}"; do
	[[ -e $REJECTED/$f || -L $REJECTED/$f ]] || fail "$f: expected it in rejected/, found: $(ls -A "$REJECTED")"
	assert_file "$REJECTED/$f.errors.txt" "report of $f"
	assert_contains "$REJECTED/$f.errors.txt" "Reason: not a regular file: ${WHY[$f]}" "report of $f"
	assert_contains "$LOG" "payoutd: $f: rejected: not a regular file: ${WHY[$f]}" "payoutd log"
	assert_contains "$AUDIT" '"event":"file_rejected","name":"'"$f"'","sha256":null,"reason":"not a regular file: '"${WHY[$f]}"'"' "audit log"
done
for f in "${LINKS[@]}"; do
	[[ -L $REJECTED/$f ]] || fail "$f: the link itself should be in rejected/"
done
[[ -p $REJECTED/sales-fifo-open.csv ]] || fail "the FIFO should be in rejected/"
[[ -S $REJECTED/sales-socket.csv ]] || fail "the socket should be in rejected/"
for f in "${DEVICES[@]}"; do
	[[ -c $REJECTED/$f || -b $REJECTED/$f ]] || fail "$f: the device file should be in rejected/"
done
assert_eq "$target_sum" "$(sha256sum <"$T/outside/sales-target.csv")" "target of the relative link"
assert_eq "fifo sales-target.csv" "$(ls -A "$T/outside" | tr '\n' ' ' | sed 's/ $//')" "folder the links point into"
assert_contains "$LOG" "inbox: 0 booked, ${#SPECIAL[@]} rejected, 0 left for a retry" "payoutd log"
assert_inbox_idle

# ==== 2. odd names ==========================================================================
# valid files (booked), each with its own sale; then two with a bad row (rejected)
long200="sales-$(printf 'a%.0s' {1..190}).csv"   # 200 bytes: the longest name claimed
long201="sales-$(printf 'b%.0s' {1..191}).csv"   # 201 bytes: left in the inbox
GOOD=('sales..csv' 'sales-...csv' 'sales-..\..\etc.csv' 'sales-$(touch PWNED).csv' 'sales-`touch PWNED2`.csv'
	$'sales-tab\t.csv' $'sales-\xff\xfe.csv' 'sales-ü.csv' 'sales-*.csv' "$long200")
declare -A SHOWN=([$'sales-tab\t.csv']='sales-tab\x09.csv' [$'sales-\xff\xfe.csv']='sales-\xFF\xFE.csv')
i=0
for f in "${GOOD[@]}"; do
	i=$((i + 1))
	printf '%s\n' "$H" "N$i,A1,2026-11-03,1.00" >"$INBOX/.n.tmp"
	mv "$INBOX/.n.tmp" "$INBOX/$f"
done
printf '%s\n' "$H" 'P1,A1,2026-11-03,1.001' | drop 'sales-%s%n%x%p.csv'
printf '%s\n' "$H" 'P2,A1,2026-11-03,1.002' | drop $'sales-\e[31mred\e[0m.csv'
# rejected for its name (no input entry matches), after sales-x.csv whose
# report took that name: neither may overwrite the other
printf '%s\n' "$H" 'P3,A1,2026-11-03,1.003' | drop 'sales-x.csv'
printf '%s\n' "$H" 'P4,A1,2026-11-03,1.00' | drop 'sales-x.csv.errors.txt'
printf '%s\n' "$H" 'P5,A1,2026-11-03,1.00' | drop "$long201"
printf '%s\n' "$H" 'P6,A1,2026-11-03,1.00' | drop ' sales-leading-space.csv'
measured_once 1 10 "odd names"   # 1: the 201-byte name is left for a retry
assert_contains "$LOG" "inbox: ${#GOOD[@]} booked, 5 rejected, 1 left for a retry" "payoutd log"
month=$(q "SELECT archive_dir FROM files WHERE name = 'sales..csv'")
for f in "${GOOD[@]}"; do
	shown=${SHOWN[$f]:-$f}
	assert_file "$ARCHIVE/$month/$f" "archived $shown"
	assert_eq "1" "$(q "SELECT count(*) FROM files WHERE name = '${shown//\'/\'\'}'")" "files row of $shown"
	assert_contains "$LOG" "payoutd: $shown: booked 1 rows" "payoutd log"
done
# nothing was written outside the archive's month folder, and nothing ran
assert_eq "$month" "$(ls -A "$ARCHIVE")" "folders in archive/"
assert_eq "0" "$(find "$T" -name 'PWNED*' | wc -l)" "files made by a name's shell syntax"
assert_eq "$((${#GOOD[@]} + 2))" "$(ls -A "$ARCHIVE/$month" | wc -l)" "files in archive/$month (and the two of book_base)"
assert_rejected 'sales-%s%n%x%p.csv' \
	'sales-%s%n%x%p.csv:2:4: column "amount": value "1.001": more than 2 decimals'
assert_contains "$LOG" 'payoutd: sales-%s%n%x%p.csv: rejected: 1 bad row; first: sales-%s%n%x%p.csv:2:4:' "payoutd log"
assert_rejected $'sales-\e[31mred\e[0m.csv' \
	'sales-\x1B[31mred\x1B[0m.csv:2:4: column "amount": value "1.002": more than 2 decimals'
assert_contains "$LOG" 'payoutd: sales-\x1B[31mred\x1B[0m.csv: rejected: ' "payoutd log"
assert_not_contains "$LOG" $'\e' "payoutd log (a raw escape character)"
assert_not_contains "$AUDIT" $'\e' "audit log (a raw escape character)"
assert_rejected 'sales-x.csv' 'sales-x.csv:2:4: column "amount": value "1.003": more than 2 decimals'
assert_rejected 'sales-x.csv.errors.2.txt' 'Reason: the name matches no input entry of the config'
assert_eq "P4" "$(sed -n 2p "$REJECTED/sales-x.csv.errors.2.txt" | cut -d, -f1)" "the file called sales-x.csv.errors.txt, stored as sales-x.csv.errors.2.txt"
assert_rejected ' sales-leading-space.csv' 'Reason: the name matches no input entry of the config'
assert_contains "$LOG" "payoutd: $long201: the name is longer than 200 bytes; rename it to be processed" "payoutd log"
assert_file "$INBOX/$long201" "the 201-byte name in the inbox"
assert_eq "0" "$(q "SELECT count(*) FROM sales WHERE sale_id GLOB 'P*'")" "sales of the rejected odd names"
rm "$INBOX/$long201"
assert_inbox_idle

# ==== 3. a file renamed while it is being read ================================================
# payoutd claims a file by renaming it into inbox/.work/ and reads it from
# there through its open descriptor. The writer's own rename then finds
# nothing; someone who moves the claim back into the inbox under a new name
# while it is read gets it booked once and the copy rejected as a duplicate.
"$GEN_SALES" "$ROWS" 3000 5 >"$T/big.csv"
mv "$T/big.csv" "$INBOX/sales-big.csv"
files_before=$(q 'SELECT count(*) FROM files')
sales_before=$(q 'SELECT count(*) FROM sales')
t0=$(date +%s%N)
/usr/bin/time -f %M -o "$T/rss.txt" timeout $((60 * SCALE)) "$PAYOUTD" -c "$CONF" --once 2>"$LOG" &
pid=$!
_claimed() { compgen -G "$WORK/*.sales-big.csv" >/dev/null; }
wait_for 30 "sales-big.csv to be claimed" _claimed
claim=$(basename "$(compgen -G "$WORK/*.sales-big.csv")")
# the writer renames its file: it is not in the inbox any more
if mv "$INBOX/sales-big.csv" "$INBOX/sales-big-final.csv" 2>/dev/null; then
	fail "the writer could rename sales-big.csv after it was claimed"
fi
mv "$WORK/$claim" "$INBOX/sales-big-again.csv" ||
	fail "sales-big.csv was read before it could be renamed: raise ROWS in this test"
set +e
wait "$pid"
rc=$?
set -e
echo "a file renamed while read: $((($(date +%s%N) - t0) / 1000000)) ms, peak RSS $(tail -n 1 "$T/rss.txt") KiB"
assert_eq "0" "$rc" "exit status of payoutd --once (file renamed while read)"
((MAX_RSS_KIB == 0 || $(tail -n 1 "$T/rss.txt") < MAX_RSS_KIB)) || fail "a file renamed while read: peak RSS $(tail -n 1 "$T/rss.txt") KiB"
assert_contains "$LOG" "payoutd: sales-big.csv: booked $ROWS rows ($ROWS sales," "payoutd log"
assert_contains "$LOG" "sales-big.csv: booked, but could not be archived" "payoutd log"
assert_eq "$((files_before + 1))" "$(q 'SELECT count(*) FROM files')" "files booked"
assert_eq "$((sales_before + ROWS))" "$(q 'SELECT count(*) FROM sales')" "sales booked"
SNAPSHOT=$(ledger_dump)
measured_once 0 60 "the renamed copy"
assert_rejected sales-big-again.csv 'Reason: duplicate of sales-big.csv booked at '
assert_unchanged "the renamed copy"
assert_inbox_idle
rm -f "$REJECTED/sales-big-again.csv"

# ==== 4. a 1 GiB line ===========================================================================
# LINE_MIB (1024; 16 under valgrind) of "a" in one line after a good row (real
# bytes when there is room, else a hole of NUL bytes); rejected once the line
# passes 1 MiB, in small memory; the file is removed right after.
SNAPSHOT=$(ledger_dump)
avail=$(df --output=avail -B1 "$T" | tail -n 1 | tr -d ' ')
big=$INBOX/.sales-1g-line.csv.tmp
{
	echo "$H"
	echo 'G1,A1,2026-11-03,1.00'
	printf 'G2,A1,2026-11-03,1.00,'
} >"$big"
if ((avail > (LINE_MIB + 3072) * 1024 * 1024)); then
	perl -e 'my $b = "a" x (1 << 20); print $b for 1 .. $ARGV[0]' "$LINE_MIB" >>"$big"
else
	echo "note: little free space in $T: the long line is a hole"
	truncate -s "+${LINE_MIB}M" "$big"
fi
echo 'G3,A1,2026-11-03,1.00' >>"$big"
mv "$big" "$INBOX/sales-1g-line.csv"
measured_once 0 60 "a line of $LINE_MIB MiB"
assert_rejected sales-1g-line.csv 'sales-1g-line.csv:3:1: line is longer than 1048576 bytes'
assert_unchanged "a line of $LINE_MIB MiB"
rm -f "$REJECTED/sales-1g-line.csv"
audit_verify_ok

# ==== 5. a large sparse file, in the daemon: and its watchdog (SPEC 10) ===========================
# The daemon with WATCHDOG_USEC=1 s (systemd kills a service that sends no
# WATCHDOG=1 for WatchdogSec, 60 s in payoutd.service, and restarts it; the
# claim is then read again from the start). The file is rejected at its third
# line; memory (VmHWM) stays small; and the longest time without a WATCHDOG=1
# while it is read must stay under 1 s: inconclusive (not failed) when the
# file took under 1.5 s.
bytes=$(numfmt --from=iec "$SIZE")
gib=$(((bytes + (1 << 30) - 1) >> 30))
MAX_SPARSE=$(((30 + 15 * gib) * SCALE))
printf '%s\n' "$H" 'Z1,A1,2026-11-03,1.00' >"$INBOX/.sales-sparse.csv.tmp"
truncate -s "$SIZE" "$INBOX/.sales-sparse.csv.tmp"
"$NOTIFY_LISTEN" "$T/notify.sock" "$T/notify.log" &
wait_for 10 "the notify socket" test -S "$T/notify.sock"
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 "$PAYOUTD" -c "$CONF" 2>"$LOG" &
DAEMON_PID=$!
_ready() { grep -q 'READY=1' "$T/notify.log" 2>/dev/null; }
wait_for 10 "READY=1" _ready
mv "$INBOX/.sales-sparse.csv.tmp" "$INBOX/sales-sparse.csv"
t0=$(date +%s%N)
last=$t0
seen=$(grep -c 'WATCHDOG=1' "$T/notify.log" || true)
maxgap=0
while [[ ! -e $REJECTED/sales-sparse.csv ]]; do
	now=$(date +%s%N)
	c=$(grep -c 'WATCHDOG=1' "$T/notify.log" || true)
	# the gap up to this look (an upper bound: the ping came at most now)
	(((now - last) / 1000000 > maxgap)) && maxgap=$(((now - last) / 1000000))
	if ((c > seen)); then
		seen=$c
		last=$now
	fi
	(((now - t0) / 1000000000 < MAX_SPARSE)) || fail "a sparse file of $SIZE: not rejected within $MAX_SPARSE s"
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "a sparse file of $SIZE: the daemon died"
	sleep 0.05
done
took=$((($(date +%s%N) - t0) / 1000000))
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
stop_daemon
assert_eq 0 "$RC" "exit status of the daemon after SIGTERM"
echo "a sparse file of $SIZE: $took ms in the daemon, peak RSS $hwm KiB; longest time without WATCHDOG=1: $maxgap ms"
((MAX_RSS_KIB == 0 || hwm < MAX_RSS_KIB)) || fail "a sparse file of $SIZE: daemon peak RSS $hwm KiB, bound $MAX_RSS_KIB KiB"
assert_rejected sales-sparse.csv 'sales-sparse.csv:3:1: line is longer than 1048576 bytes'
assert_contains "$LOG" 'payoutd: sales-sparse.csv: rejected: sales-sparse.csv:3:1: line is longer than 1048576 bytes' "payoutd log"
assert_unchanged "a sparse file of $SIZE"
# under max_file_size, payoutd reads and hashes it whole
assert_eq "$bytes" "$(q "SELECT size FROM rejections WHERE name = 'sales-sparse.csv'")" "size recorded for the sparse file"
rm -f "$REJECTED/sales-sparse.csv"
audit_verify_ok
assert_inbox_idle
if ((VG)); then
	# valgrind runs one thread at a time: the watchdog thread waits for its turn
	echo "note: watchdog gaps not checked under valgrind (longest: $maxgap ms)"
elif ((took < 1500)); then
	echo "note: watchdog check inconclusive: the file was read in under 1.5 s"
elif ((maxgap >= 1000)); then
	fail "watchdog: no WATCHDOG=1 for $maxgap ms while one file was read (WATCHDOG_USEC = 1000 ms): under systemd the daemon would be killed and restarted, and would read the same file again"
fi

# ==== 6. the catalogue's 10 GiB sparse file: refused unread by max_file_size =====================
# Above max_file_size (default 4 GiB) a file is rejected by its size alone, in
# no time: nothing is read or hashed (no SHA-256 is recorded).
printf '%s\n' "$H" 'Z1,A1,2026-11-03,1.00' >"$INBOX/.sales-10g.csv.tmp"
truncate -s 10G "$INBOX/.sales-10g.csv.tmp"
mv "$INBOX/.sales-10g.csv.tmp" "$INBOX/sales-10g.csv"
measured_once 0 5 "a sparse file of 10 GiB"
((MSECS < 5000 * SCALE)) || fail "a sparse file of 10 GiB: took $MSECS ms"
assert_rejected sales-10g.csv \
	'the file has 10737418240 bytes, more than max_file_size (4294967296 bytes): split it, or raise max_file_size in the config'
assert_eq "10737418240|" "$(q "SELECT size, sha256 FROM rejections WHERE name = 'sales-10g.csv'")" "size and SHA-256 recorded"
rm -f "$REJECTED/sales-10g.csv"
assert_unchanged "a sparse file of 10 GiB"

# and the limit is the config's: max_file_size: 1K refuses a file of 1025 bytes
printf '%s\n' "$H" 'Z1,A1,2026-11-03,1.00' >"$INBOX/.sales-1025.csv.tmp"
truncate -s 1025 "$INBOX/.sales-1025.csv.tmp"
mv "$INBOX/.sales-1025.csv.tmp" "$INBOX/sales-1025.csv"
cp "$CONF" "$T/conf.saved"
echo 'max_file_size: 1K' >>"$CONF"
measured_once 0 10 "a file of 1025 bytes under max_file_size: 1K"
assert_rejected sales-1025.csv 'the file has 1025 bytes, more than max_file_size (1024 bytes)'
cp "$T/conf.saved" "$CONF"
assert_unchanged "a file over a configured max_file_size"
pass
