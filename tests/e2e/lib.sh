# tests/e2e/lib.sh - shared helpers of the end-to-end tests (sourced, not run).
#
# Every test runs the real binaries on a fresh temporary folder, removed on
# exit together with any process the test started in the background. The
# binaries come from the environment (tests/CMakeLists.txt sets them):
#   PAYOUTD, PAYOUTCTL, GEN_SALES  paths of the programs
#   SRCDIR                         the repository root (for demo/plan.yaml)
#
# Layout of a test folder ($T):
#   $T/payoutd.yaml  $T/plan.yaml  $T/state/{ledger.db,inbox,archive,rejected,audit.log}
#
# Helpers: write_config, drop, drop_bytes, run_once, q, ledger_dump,
# assert_eq, assert_contains, assert_not_contains, assert_file, assert_no_file,
# assert_dir_empty, wait_for, start_daemon, stop_daemon, fail, pass.

set -euo pipefail

: "${PAYOUTD:?PAYOUTD must name the payoutd binary}"
: "${PAYOUTCTL:?PAYOUTCTL must name the payoutctl binary}"
: "${SRCDIR:?SRCDIR must name the repository root}"
GEN_SALES=${GEN_SALES:-}
# PAYOUTD_VALGRIND=1 (set by tests/tools/valgrind-wrap.sh): the programs run
# under valgrind memcheck, 20 to 50 times slower; every time limit below
# (run_once, wait_for, start_daemon, stop_daemon) is multiplied by this.
E2E_TIME_SCALE=1
if [[ -n ${PAYOUTD_VALGRIND:-} ]]; then
	E2E_TIME_SCALE=20
fi
export LC_ALL=C
# never log to a journal, even when the test runner's stderr is one
unset JOURNAL_STREAM NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID || true

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/payoutd-e2e-$TEST_NAME.XXXXXX")
CONF=$T/payoutd.yaml
PLAN=$T/plan.yaml
STATE=$T/state
DB=$STATE/ledger.db
INBOX=$STATE/inbox
WORK=$INBOX/.work
ARCHIVE=$STATE/archive
REJECTED=$STATE/rejected
AUDIT=$STATE/audit.log
LOG=$T/payoutd.log          # stderr of the last run_once / of the daemon
OUT=$T/out.txt              # stdout+stderr of the last `run` command
RC=0                        # exit status of the last `run` command
DAEMON_PID=

_cleanup() {
	local rc=$? j
	for j in $(jobs -p); do
		kill "$j" 2>/dev/null || true
	done
	if [[ -n ${DAEMON_PID:-} ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [[ $rc -ne 0 && -n ${KEEP_E2E:-} ]]; then
		echo "kept test folder $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _cleanup EXIT

# fail MESSAGE...: prints the message (and the last daemon log) and exits 1.
fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	if [[ -s $LOG ]]; then
		echo "--- last payoutd log ($LOG):" >&2
		tail -n 20 "$LOG" >&2
	fi
	exit 1
}

# pass: the last line of every test.
pass() {
	[[ -f $DB ]] && assert_volumes_consistent
	echo "PASS [$TEST_NAME]"
	exit 0
}

# assert_volumes_consistent: the volumes every booking keeps up to date are
# exactly what summing the sales that count gives (attributed, not
# clawbacks, per booked period and distributor). Every test checks it at
# its end, after whatever refunds, attributions, rejections and crashes it made.
assert_volumes_consistent() {
	local kept summed
	kept=$(q "SELECT period, distributor_id, pv, cv, amount FROM volumes
	          WHERE pv != 0 OR cv != 0 OR amount != 0 ORDER BY 1, 2") || fail "cannot read volumes"
	summed=$(q "SELECT * FROM (SELECT booked_period, distributor_id, sum(pv) AS pv, sum(cv) AS cv, sum(amount) AS a
	            FROM sales WHERE flags & 5 = 1 GROUP BY 1, 2) WHERE pv != 0 OR cv != 0 OR a != 0 ORDER BY 1, 2") ||
		fail "cannot sum the sales"
	[[ $kept == "$summed" ]] || fail "volumes differ from the sales they sum:
$(diff <(echo "$kept") <(echo "$summed") | head -20)"
}

# write_config [EXTRA_YAML]: writes $CONF (paths under state/) and copies the
# demo plan to $PLAN. EXTRA_YAML (e.g. an `inputs:` list) is appended as is.
write_config() {
	cp "$SRCDIR/demo/plan.yaml" "$PLAN"
	cat >"$CONF" <<EOF
plan: plan.yaml
database: state/ledger.db
inbox: state/inbox
archive: state/archive
rejected: state/rejected
statements: state/statements
audit_log: state/audit.log
close:
  grace: 3d
EOF
	if [[ $# -gt 0 ]]; then
		printf '%s\n' "$1" >>"$CONF"
	fi
	mkdir -p "$INBOX"
}

# drop NAME: copies stdin into the inbox as NAME (written to a dot name, then renamed).
drop() {
	local name=$1
	cat >"$INBOX/.$name.writing"
	mv "$INBOX/.$name.writing" "$INBOX/$name"
}

# drop_bytes NAME FORMAT [ARGS...]: like drop, the content given to printf
# (for exact bytes: \xNN, \r, \0).
drop_bytes() {
	local name=$1
	shift
	# shellcheck disable=SC2059
	printf "$@" >"$INBOX/.$name.writing"
	mv "$INBOX/.$name.writing" "$INBOX/$name"
}

# run CMD...: runs a command, keeping its exit status in $RC and its
# stdout+stderr in $OUT; never fails by itself.
run() {
	set +e
	"$@" >"$OUT" 2>&1
	RC=$?
	set -e
}

# run_once [EXPECTED_RC]: `payoutd -c $CONF --once` (stderr in $LOG); fails
# unless it exits with EXPECTED_RC (default 0).
run_once() {
	local want=${1:-0} rc
	set +e
	timeout $((60 * E2E_TIME_SCALE)) "$PAYOUTD" -c "$CONF" --once 2>"$LOG"
	rc=$?
	set -e
	[[ $rc -eq $want ]] || fail "payoutd --once exited $rc, expected $want"
}

# q SQL: runs one query on the ledger, prints rows as a|b|c.
q() {
	sqlite3 -batch -readonly "$DB" "$1"
}

# ledger_dump: the booked content of the ledger (not rejections, not audit).
ledger_dump() {
	sqlite3 -batch -readonly "$DB" '.dump sales volumes distributors distributor_status products files'
}

# archive_month: the month folder payoutd archives into now (its local time).
archive_month() {
	date +%Y-%m
}

# day ISO_DATE: days since 1970-01-01, as the ledger stores sales.day.
day() {
	echo $(($(date -u -d "$1" +%s) / 86400))
}

assert_eq() { # EXPECTED ACTUAL WHAT
	[[ "$1" == "$2" ]] || fail "$3: expected [$1], found [$2]"
}

assert_contains() { # FILE TEXT [WHAT]: FILE contains the fixed string TEXT
	[[ -f $1 ]] || fail "${3:-$1}: file $1 does not exist (expected it to contain [$2])"
	grep -qF -- "$2" "$1" || fail "${3:-$1}: expected to contain [$2], found:
$(head -c 4000 "$1")"
}

assert_not_contains() { # FILE TEXT [WHAT]
	if [[ -f $1 ]] && grep -qF -- "$2" "$1"; then
		fail "${3:-$1}: expected not to contain [$2], found:
$(head -c 4000 "$1")"
	fi
	return 0
}

assert_file() { # PATH [WHAT]: a regular file exists
	[[ -f $1 && ! -L $1 ]] || fail "${2:-file}: expected $1 to be a regular file; folder holds: $(ls -A "$(dirname "$1")" 2>&1 | tr '\n' ' ')"
}

assert_no_file() { # PATH [WHAT]
	[[ ! -e $1 && ! -L $1 ]] || fail "${2:-file}: expected $1 not to exist"
}

assert_dir_empty() { # DIR [WHAT]: no entries at all (dot files included)
	local left
	left=$(ls -A "$1")
	[[ -z $left ]] || fail "${2:-$1}: expected an empty folder, found: $(echo "$left" | tr '\n' ' ')"
}

# assert_inbox_idle: inbox holds only .work, and .work is empty.
assert_inbox_idle() {
	assert_eq ".work" "$(ls -A "$INBOX")" "inbox entries"
	assert_dir_empty "$WORK" "inbox/.work"
}

# count_lines FILE TEXT: lines of FILE containing the fixed string TEXT.
count_lines() {
	grep -cF -- "$2" "$1" || true
}

# assert_rejected NAME TEXT...: rejected/NAME exists with NAME.errors.txt
# beside it, and the report contains every TEXT.
assert_rejected() {
	local name=$1
	shift
	assert_file "$REJECTED/$name" "rejected file $name"
	assert_file "$REJECTED/$name.errors.txt" "error report of $name"
	assert_no_file "$INBOX/$name" "$name still in the inbox"
	local t
	for t in "$@"; do
		assert_contains "$REJECTED/$name.errors.txt" "$t" "errors of $name"
	done
}

# audit_verify_ok: `payoutctl audit verify` exits 0.
audit_verify_ok() {
	run "$PAYOUTCTL" -c "$CONF" audit verify
	[[ $RC -eq 0 ]] || fail "audit verify exited $RC, expected 0: $(cat "$OUT")"
	assert_contains "$OUT" "intact" "audit verify output"
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms until it
# succeeds (SECONDS x E2E_TIME_SCALE). COMMAND's words are expanded once, by
# the call: a condition that must be looked at again on every poll (a file
# listing, a count) belongs in a function, e.g. inbox_empty.
wait_for() {
	local secs=$(($1 * E2E_TIME_SCALE)) what=$2
	shift 2
	local deadline=$((SECONDS + secs))
	until "$@"; do
		if ((SECONDS >= deadline)); then
			fail "timed out after ${secs}s waiting for: $what"
		fi
		sleep 0.05
	done
}

# inbox_empty: no file waits in the inbox (.work and dot files aside); for
# wait_for.
inbox_empty() {
	local f
	for f in "$INBOX"/*; do
		[[ -e $f || -L $f ]] && return 1
	done
	return 0
}

# start_daemon: `payoutd -c $CONF` in the background (stderr in $LOG); waits
# until it has written its plan_loaded line.
start_daemon() {
	local before=0
	[[ -f $AUDIT ]] && before=$(count_lines "$AUDIT" '"mode":"daemon"')
	"$PAYOUTD" -c "$CONF" 2>"$LOG" &
	DAEMON_PID=$!
	_daemon_started() {
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd exited during start-up"
		[[ -f $AUDIT ]] && (($(count_lines "$AUDIT" '"mode":"daemon"') > before))
	}
	wait_for 10 "payoutd to start" _daemon_started
}

# stop_daemon [SIGNAL]: signals the daemon (TERM) and waits up to 5 s
# (x E2E_TIME_SCALE); sets RC.
stop_daemon() {
	local sig=${1:-TERM} i
	kill "-$sig" "$DAEMON_PID"
	for ((i = 0; i < 100 * E2E_TIME_SCALE; i++)); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$DAEMON_PID" 2>/dev/null && fail "payoutd still running $((5 * E2E_TIME_SCALE)) s after SIG$sig"
	set +e
	wait "$DAEMON_PID"
	RC=$?
	set -e
	DAEMON_PID=
}

# Standard test data: a catalog and a small sponsor tree.
PRODUCTS_CSV='sku,name,pv,cv,category
SKIN-01,Hydrating Serum,40.00,32.00,skincare
SKIN-02,Night Cream,55.00,44.00,skincare
VIT-01,Vitamin Pack,30.00,25.00,nutrition
KIT-01,Starter Kit,0.00,0.00,kits'
DISTRIBUTORS_CSV='distributor_id,sponsor_id,name,join_date,country,email,iban,vat_liable
A1,,Anna Schmidt,2025-03-01,DE,anna@example.com,DE89370400440532013000,yes
B1,A1,Bernd Müller,2025-06-15,DE,bernd@example.com,DE44500105175407324931,no
B2,A1,Clara Jäger,2025-09-01,AT,clara@example.com,AT611904300234573201,no'

# book_base: books $PRODUCTS_CSV and $DISTRIBUTORS_CSV (one run).
book_base() {
	echo "$PRODUCTS_CSV" | drop products-base.csv
	echo "$DISTRIBUTORS_CSV" | drop distributors-base.csv
	run_once
	assert_eq "2" "$(q 'SELECT count(*) FROM files')" "files booked by book_base"
}

# ---- helpers of the close tests (close_*.sh) ------------------------------------
STATEMENTS=$STATE/statements

# expect_file PATH [WHAT]: PATH holds exactly the bytes on stdin (a heredoc);
# on a difference, fails showing the unified diff.
expect_file() {
	local path=$1 what=${2:-$1} want=$T/expected.$$
	cat >"$want"
	[[ -f $path ]] || fail "$what: file $path does not exist"
	diff -u "$want" "$path" >"$T/diff.txt" 2>&1 || fail "$what: $path differs from the expected content:
$(head -c 6000 "$T/diff.txt")"
	rm -f "$want"
}

# close_ok ARGS...: `payoutctl close ARGS` must exit 0; its output is in $OUT.
close_ok() {
	run "$PAYOUTCTL" -c "$CONF" close "$@"
	[[ $RC -eq 0 ]] || fail "payoutctl close $* exited $RC, expected 0: $(cat "$OUT")"
}

# tree_sums DIR: "sha256  relative/path" of every file under DIR (names sorted,
# dot files included), to compare folders byte for byte.
tree_sums() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}

# assert_remade_from_ledger PERIOD: what a crash right after PERIOD's commit
# that also lost the temporary folder leaves (close_crash.sh has the rest of
# that story): the next `payoutd --once` makes the folder again from the
# ledger alone, and it must come back byte for byte.
assert_remade_from_ledger() {
	local p=$1
	rm -rf "$T/remade-$p"
	cp -a "$STATEMENTS/$p" "$T/remade-$p"
	rm -rf "$STATEMENTS/$p"
	sqlite3 -batch "$DB" "UPDATE periods SET published = 0 WHERE name = '$p'"
	run_once
	assert_contains "$LOG" "published the statements of $p, made again from the ledger"
	diff -r "$T/remade-$p" "$STATEMENTS/$p" >"$T/diff.txt" 2>&1 ||
		fail "statements/$p made again from the ledger differs: $(head -c 3000 "$T/diff.txt")"
}

# assert_sums_ok DIR: every file of a statements folder is listed in its
# SHA256SUMS with its current hash, and nothing else is in the folder.
assert_sums_ok() {
	local dir=$1
	assert_file "$dir/SHA256SUMS" "SHA256SUMS of $dir"
	(cd "$dir" && sha256sum --quiet -c SHA256SUMS) >"$T/sums.txt" 2>&1 ||
		fail "$dir: sha256sum -c SHA256SUMS failed: $(cat "$T/sums.txt")"
	local listed present
	listed=$(awk '{ print $2 }' "$dir/SHA256SUMS" | LC_ALL=C sort)
	present=$(find "$dir" -mindepth 1 -maxdepth 1 ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort)
	assert_eq "$present" "$listed" "files of $dir vs the names in its SHA256SUMS"
}
