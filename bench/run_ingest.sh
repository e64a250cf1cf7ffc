#!/usr/bin/env bash
# run_ingest.sh - ingest benchmark: how long `payoutd --once` takes to book one
# large sales file end to end (claim, parse, validate, book in one transaction,
# commit, audit line, move to archive, checkpoint, exit), and its peak memory.
#
#   bench/run_ingest.sh [SALES_ROWS [DISTRIBUTORS]]     (defaults 10000000 1000000)
#
# The distributors file is booked first, in its own run, and reported
# separately; then the sales file (every sale attributed to a known
# distributor) is dropped and booked. The CSV was just written, so it is read
# from the page cache.
#
# Environment: PAYOUTD, GEN_SALES (default: build/ of the source tree, built
# with scripts/build.sh); BENCH_DIR, the folder in which a fresh work folder is
# made (default /var/tmp); KEEP=1 keeps the work folder (else deleted at the
# end). Needs /usr/bin/time (package `time`, in scripts/install-deps.sh).
# Disk: about 250 bytes per sales row (CSV, ledger, WAL), checked first.
# Not a test: ctest does not run it.
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
PAYOUTD=${PAYOUTD:-$SRCDIR/build/payoutd}
GEN_SALES=${GEN_SALES:-$SRCDIR/build/gen_sales}
ROWS=${1:-10000000}
DISTRIBUTORS=${2:-1000000}

die() { echo "run_ingest: $*" >&2; exit 1; }
[[ $ROWS =~ ^[0-9]+$ && $DISTRIBUTORS =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [SALES_ROWS [DISTRIBUTORS]]"
for t in "$PAYOUTD" "$GEN_SALES"; do
	[[ -x $t ]] || die "$t is not built (scripts/build.sh build)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing: apt-get install time (or scripts/install-deps.sh)"

mkdir -p "${BENCH_DIR:-/var/tmp}"
W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/payoutd-bench.XXXXXX")
cleanup() {
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "run_ingest: kept $W" >&2
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT

need_kb=$(((ROWS * 250 + DISTRIBUTORS * 400) / 1024 + 65536))
free_kb=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
((free_kb > need_kb)) || die "$W: $((free_kb / 1024)) MiB free, about $((need_kb / 1024)) MiB needed"

mkdir -p "$W/state/inbox"
cp "$SRCDIR/demo/plan.yaml" "$W/plan.yaml"
cat >"$W/payoutd.yaml" <<'EOF'
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

now() { echo "${EPOCHREALTIME/[.,]/}"; }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
rate() { awk -v n="$1" -v us="$2" 'BEGIN { printf "%.0f", (us > 0 ? n * 1e6 / us : 0) }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
# a member of /usr/bin/time -v's report
tv() { sed -n "s/^[[:space:]]*$2: //p" "$1"; }
size_of() { local s=0 f; for f; do [[ -e $f ]] && s=$((s + $(stat -c %s "$f"))); done; echo "$s"; }

# book NAME KIND: runs payoutd --once under /usr/bin/time -v; sets WALL_US,
# LOGGED (seconds payoutd logs for the file), RSS_KB, CPU (user+sys s)
book() {
	local name=$1 t0 t1
	t0=$(now)
	/usr/bin/time -v -o "$W/time.$name" "$PAYOUTD" -c "$W/payoutd.yaml" --once 2>"$W/log.$name" ||
		die "payoutd failed on $name: $(tail -n 5 "$W/log.$name")"
	t1=$(now)
	WALL_US=$((t1 - t0))
	LOGGED=$(sed -n "s/.*$name: booked .* in \([0-9.]*\) s\$/\1/p" "$W/log.$name")
	[[ -n $LOGGED ]] || die "$name was not booked: $(cat "$W/log.$name")"
	BOOKED_LINE=$(sed -n "s/.*\($name: booked .*\)/\1/p" "$W/log.$name")
	RSS_KB=$(tv "$W/time.$name" "Maximum resident set size (kbytes)")
	CPU=$(awk -v u="$(tv "$W/time.$name" "User time (seconds)")" -v s="$(tv "$W/time.$name" "System time (seconds)")" \
		'BEGIN { printf "%.2f s (user %.2f, sys %.2f)", u + s, u, s }')
}

# ---- the machine -----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
fs=$(df -PT "$W" | awk 'NR == 2 { print $2 " on " $1 " (mounted at " $7 ")" }')
rev=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z $(git -C "$SRCDIR" status --porcelain --untracked-files=no 2>/dev/null) ]] || rev="$rev + uncommitted changes"
build=$(sed -n 's/^CMAKE_BUILD_TYPE:[^=]*=//p' "$(dirname "$PAYOUTD")/CMakeCache.txt" 2>/dev/null || true)
echo "== machine"
echo "cpu:            ${cpu:-unknown}, $(nproc) cores (nproc)"
echo "memory:         $mem"
echo "work folder:    $W: $fs"
echo "kernel:         $(uname -sr)"
echo "payoutd:        $PAYOUTD (${build:-build type unknown}; source $rev)"
echo "sqlite:         $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo "?") (CLI; the library payoutd links may differ)"
echo "load average:   $(cut -d' ' -f1-3 /proc/loadavg) (before the run)"

# ---- the distributors ----------------------------------------------------------
echo "== distributors: $DISTRIBUTORS rows"
t0=$(now)
"$GEN_SALES" --distributors "$DISTRIBUTORS" >"$W/state/inbox/.distributors-bench.csv.tmp"
mv "$W/state/inbox/.distributors-bench.csv.tmp" "$W/state/inbox/distributors-bench.csv"
gen_us=$(($(now) - t0))
dsize=$(size_of "$W/state/inbox/distributors-bench.csv")
book distributors-bench.csv
echo "csv:            $(mib "$dsize") (generated in $(secs "$gen_us") s)"
echo "payoutd says:   $BOOKED_LINE"
echo "end to end:     $(secs "$WALL_US") s, $(rate "$DISTRIBUTORS" "$WALL_US") rows/s (payoutd --once, start to exit)"
echo "peak memory:    $((RSS_KB / 1024)) MiB (maximum resident set size)"
echo "cpu time:       $CPU"

# ---- the sales -------------------------------------------------------------------
echo "== sales: $ROWS rows"
t0=$(now)
"$GEN_SALES" "$ROWS" "$DISTRIBUTORS" >"$W/state/inbox/.sales-bench.csv.tmp"
mv "$W/state/inbox/.sales-bench.csv.tmp" "$W/state/inbox/sales-bench.csv"
gen_us=$(($(now) - t0))
ssize=$(size_of "$W/state/inbox/sales-bench.csv")
db_before=$(size_of "$W/state/ledger.db" "$W/state/ledger.db-wal")
book sales-bench.csv
logged_us=$(awk -v s="$LOGGED" 'BEGIN { printf "%d", s * 1e6 }')
db=$(size_of "$W/state/ledger.db")
wal=$(size_of "$W/state/ledger.db-wal")
[[ -n $(find "$W/state/archive" -name sales-bench.csv) ]] || die "sales-bench.csv is not in the archive"
echo "csv:            $(mib "$ssize") (generated in $(secs "$gen_us") s)"
echo "payoutd says:   $BOOKED_LINE"
echo "booking:        $LOGGED s, $(rate "$ROWS" "$logged_us") rows/s (as payoutd logs it: read, validate, book, commit)"
echo "end to end:     $(secs "$WALL_US") s, $(rate "$ROWS" "$WALL_US") rows/s (payoutd --once, start to exit: also claim, move, checkpoint)"
echo "peak memory:    $((RSS_KB / 1024)) MiB (maximum resident set size)"
echo "cpu time:       $CPU"
echo "ledger:         $(mib "$db") database + $(mib "$wal") WAL after the run ($(mib "$((db + wal - db_before))") for the sales)"
if command -v sqlite3 >/dev/null; then
	n=$(sqlite3 -readonly "$W/state/ledger.db" "SELECT count(*) FROM sales")
	((n == ROWS)) || die "the ledger holds $n sales, $ROWS expected"
	echo "check:          $n sales in the ledger"
fi
echo "summary: $ROWS sales rows in $(secs "$WALL_US") s end to end = $(rate "$ROWS" "$WALL_US") rows/s;" \
	"logged $LOGGED s = $(rate "$ROWS" "$logged_us") rows/s; peak RSS $((RSS_KB / 1024)) MiB;" \
	"csv $(mib "$ssize"), ledger $(mib "$((db + wal))"); $(nproc) cores, ${cpu:-unknown cpu}, ${fs%% *}"
