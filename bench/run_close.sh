#!/usr/bin/env bash
# Benchmark of a period close (not a test): books DISTRIBUTORS distributors and
# SALES sales for 2026-11 over the SPEC example plan (or $PLAN), closes the period with
# payoutctl, and reports the close's phases as payoutctl logs them (load,
# engine, files, ledger), peak memory, and the statement writers' files per
# second against a plain single-threaded create-write-close loop that makes
# the same number of files of the same sizes on the same disk.
#
#   bench/run_close.sh [DISTRIBUTORS [SALES]]     (default 1000000 10000000)
#
# Environment: BUILD (default build/), BENCH_DIR (default /var/tmp), KEEP=1,
# PLAN (default rules/plans/example-unilevel.yaml; bench/hybrid-all-five.yaml
# is every commission type at once).
set -euo pipefail
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRCDIR/build}
N=${1:-1000000}
S=${2:-10000000}
work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/payoutd-close-bench.XXXXXX")
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$work"' EXIT
cp "${PLAN:-$SRCDIR/rules/plans/example-unilevel.yaml}" "$work/plan.yaml"
printf 'plan: plan.yaml\n' > "$work/payoutd.yaml"
mkdir -p "$work/state/inbox"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -hT "$work" | awk 'NR==2 {print $2 " on " $1}')"
echo "== booking $N distributors and $S sales"
"$BUILD/gen_sales" --distributors "$N" > "$work/state/inbox/distributors.csv"
"$BUILD/payoutd" -c "$work/payoutd.yaml" --once 2>&1 | grep -E 'booked' || true
"$BUILD/gen_sales" "$S" "$N" > "$work/state/inbox/sales.csv"
"$BUILD/payoutd" -c "$work/payoutd.yaml" --once 2>&1 | grep -E 'booked' || true
echo "== close 2026-11"
/usr/bin/time -v "$BUILD/payoutctl" -c "$work/payoutd.yaml" close 2026-11 > "$work/close.out" 2> "$work/close.err" || { cat "$work/close.err"; exit 1; }
grep -E 'sponsor tree|ledger: results|close 2026-11|closed 2026-11' "$work/close.err" "$work/close.out" | sed 's/^[^:]*://'
grep -E 'Elapsed|Maximum resident' "$work/close.err" | sed 's/^\s*/  /'
files=$(ls "$work/state/statements/2026-11" | wc -l)
du -sh "$work/state/statements/2026-11" | awk '{print "  statements folder: " $1}'
echo "== plain-loop reference: the same number of files of the same sizes"
"$BUILD/plain_files" "$work/state/statements/2026-11" "$work/plain"
echo "  ($files files in the statements folder)"
