#!/usr/bin/env bash
# kill9.sh - kill -9 of payoutd at random moments while it books a large
# file loses nothing and books nothing twice (SPEC 4.1.4).
#
# An episode is a fresh state folder: its distributors file is booked, then
# four sales files are dropped (a small one, a bad one that is rejected, the
# large one, another small one: booked in this order), and `payoutd --once`
# is started and killed with SIGKILL after a random delay, again and again,
# until a run ends on its own. After every kill, with the daemon stopped:
#   - the ledger opens and answers queries (also `payoutctl status`, every
#     fifth kill: it reads every sale);
#   - every dropped file is in exactly one place: inbox, inbox/.work,
#     archive/YYYY-MM or rejected (never lost, never in two places);
#   - no file is recorded twice; a file is in archive only if recorded in
#     `files`, in rejected only if recorded in `rejections`, in .work under
#     the claim the ledger recorded; a file in the inbox is recorded nowhere;
#     a good file is never rejected (e.g. as a duplicate of itself);
#   - the sales booked are exactly the rows of the files recorded, file by file;
#   - the ledger's audit table has one file_booked line per recorded file.
# Then one uninterrupted run finishes the episode and the totals are checked:
# every sale generated booked once, each file recorded once, inbox and .work
# empty, each file archived (or rejected) once, `payoutctl audit verify`, and
# the audit log's file_booked lines equal to the files table. Episodes repeat
# until KILL9_POINTS kills have landed.
#
# Kill delays, drawn from bash's $RANDOM seeded with KILL9_SEED (printed; the
# same seed gives the same draws, timing aside): 15% in the first 30 ms
# (start-up, recovery of .work, claims), 15% in [0.85, 1.05] of the run's
# expected length (the end: the last commits and moves), 10% as soon as the
# large file's file_booked line reaches the audit log (after its commit,
# while it is moved), the rest uniform in [0, 1.05] of the expected length.
# The expected length is start-up + rows still to book x time per row,
# measured by one uninterrupted episode first, refined by runs that end before
# their kill and lengthened when a kill near the end finds nothing booked.
#
# Environment: PAYOUTD, PAYOUTCTL, GEN_SALES (default: build/ of the source
# tree), SRCDIR; KILL9_SEED; KILL9_POINTS (default 60); PAYOUTD_TEST_SCALE
# multiplies the large file's 300000 rows (default 1, or 0.25 when payoutd is
# built with a sanitizer; without PAYOUTD_TEST_SCALE the file is also cut to
# what a probe run books in 2 s); KEEP=1 keeps the temp folder.
set -euo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
PAYOUTD=${PAYOUTD:-$SRCDIR/build/payoutd}
PAYOUTCTL=${PAYOUTCTL:-$SRCDIR/build/payoutctl}
GEN_SALES=${GEN_SALES:-$SRCDIR/build/gen_sales}
POINTS=${KILL9_POINTS:-60}
SEED=${KILL9_SEED:-$(($(date +%s%N) % 1000000007))}
MAX_BIG_ROWS=300000
DISTRIBUTORS=2000

for t in "$PAYOUTD" "$PAYOUTCTL" "$GEN_SALES"; do
	[[ -x $t ]] || { echo "kill9: $t is not built" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "kill9: the sqlite3 CLI is needed (scripts/install-deps.sh)" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/kill9.XXXXXX")
DAEMON_PID=
cleanup() {
	local rc=$?
	if [[ -n $DAEMON_PID ]]; then
		kill -9 "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	if [[ ${KEEP:-0} == 1 ]]; then
		echo "kill9: kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP # so that cleanup runs

echo "kill9: seed $SEED (replay the draws with KILL9_SEED=$SEED)"
RANDOM=$SEED

# Microseconds, without a fork: sets NOW.
tick() { NOW=${EPOCHREALTIME/[.,]/}; }
fmt_us() { printf '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000)); }
# Succeeds while the process runs (kill -0 also succeeds on a zombie not yet waited for).
alive() {
	local s
	read -r s <"/proc/$1/stat" 2>/dev/null || return 1
	s=${s##*) }
	[[ ${s:0:1} != Z ]]
}

EP=                # the episode's folder
EPISODE=0
KILLS=0
DELAY=
fail() {
	echo "kill9: FAILED: $*" >&2
	echo "kill9: seed $SEED, episode $EPISODE, kill $KILLS, last delay ${DELAY:-none}" >&2
	if [[ -n $EP && -d $EP/state ]]; then
		echo "--- files:" >&2
		(cd "$EP/state" && find inbox archive rejected -type f | sort) >&2 || true
		echo "--- files table:" >&2
		sqlite3 -readonly "$EP/state/ledger.db" "SELECT id, name, claim, rows, sales FROM files" >&2 || true
		echo "--- last kills:" >&2
		tail -n 5 "$T/trace" >&2 || true
		echo "--- last daemon log:" >&2
		tail -n 20 "$T/run.log" >&2 || true
		[[ ${KEEP:-0} == 1 ]] || echo "(KEEP=1 keeps the folder)" >&2
	fi
	exit 1
}

# new_state DIR: config, plan, empty inbox; the distributors file booked.
new_state() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d/state/inbox"
	cp "$SRCDIR/demo/plan.yaml" "$d/plan.yaml"
	cat >"$d/payoutd.yaml" <<-'EOF'
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
	drop "$d" "$F/distributors-1.csv"
	"$PAYOUTD" -c "$d/payoutd.yaml" --once 2>"$T/run.log" || fail "booking the distributors file in $d"
}

# drop DIR FILE...: into DIR's inbox the way a writer must: a dot name, then a rename
drop() {
	local inbox=$1/state/inbox f
	shift
	for f; do
		cp "$f" "$inbox/.${f##*/}.tmp"
		mv "$inbox/.${f##*/}.tmp" "$inbox/${f##*/}"
	done
}

# gen_sales_file PATH ROWS SEED [bad]: sale ids carry the file's tag (unique across files)
gen_sales_file() {
	local path=$1 rows=$2 seed=$3 bad=${4:-} tag
	tag=${path##*/sales-}
	tag=${tag%.csv}
	"$GEN_SALES" "$rows" "$DISTRIBUTORS" "$seed" | sed "2,\$s/^S/S$tag-/" >"$path"
	if [[ -n $bad ]]; then
		echo "S$tag-bad,D0000001,2026-11-05,12.345,SKU1,1" >>"$path" # 3 decimals: a row error
	fi
}

# ---- the input files -----------------------------------------------------------
F=$T/files
mkdir -p "$F"
"$GEN_SALES" --distributors "$DISTRIBUTORS" >"$F/distributors-1.csv"

# a probe: how fast this build books (a sanitizer build is much slower)
C=$T/calib
new_state "$C"
STARTUP_US=0
for _ in 1 2 3; do # a run with nothing to do: start-up and shut-down
	tick; t0=$NOW
	"$PAYOUTD" -c "$C/payoutd.yaml" --once 2>"$T/run.log" || fail "calibration: an empty run"
	tick; STARTUP_US=$((STARTUP_US + (NOW - t0) / 3))
done
PROBE=30000
gen_sales_file "$T/sales-probe.csv" "$PROBE" 999
drop "$C" "$T/sales-probe.csv"
rm "$T/sales-probe.csv"
tick; t0=$NOW
"$PAYOUTD" -c "$C/payoutd.yaml" --once 2>"$T/run.log" || fail "calibration: probe"
tick; probe_us=$((NOW - t0))
scale=${PAYOUTD_TEST_SCALE:-}
if [[ -z $scale ]]; then
	scale=1
	grep -aq -e __asan_init -e __ubsan_handle "$PAYOUTD" && scale=0.25
fi
BIG_ROWS=$(awk -v s="$scale" -v m=$MAX_BIG_ROWS 'BEGIN { printf "%d", m * s }')
probe_work_us=$((probe_us > STARTUP_US ? probe_us - STARTUP_US : 1))
if [[ -z ${PAYOUTD_TEST_SCALE:-} ]] && ((PROBE * 2000000 / probe_work_us < BIG_ROWS)); then
	BIG_ROWS=$((PROBE * 2000000 / probe_work_us))
fi
((BIG_ROWS >= 10000)) || BIG_ROWS=10000

# the episode's sales files, in the order they are booked
S1=$((3000 + RANDOM % 3000))
S2=$((1000 + RANDOM % 1000))
S4=$((5000 + RANDOM % 5000))
gen_sales_file "$F/sales-1-small.csv" "$S1" 1
gen_sales_file "$F/sales-2-bad.csv" "$S2" 2 bad
gen_sales_file "$F/sales-3-large.csv" "$BIG_ROWS" 3
gen_sales_file "$F/sales-4-small.csv" "$S4" 4
BIG=sales-3-large.csv
SALES_FILES=("$F/sales-1-small.csv" "$F/sales-2-bad.csv" "$F/sales-3-large.csv" "$F/sales-4-small.csv")
MANIFEST=$T/manifest # NAME KIND ROWS OUTCOME
cat >"$MANIFEST" <<-EOF
distributors-1.csv distributors $DISTRIBUTORS booked
sales-1-small.csv sales $S1 booked
sales-2-bad.csv sales $((S2 + 1)) rejected
sales-3-large.csv sales $BIG_ROWS booked
sales-4-small.csv sales $S4 booked
EOF
EP_SALES=$((S1 + BIG_ROWS + S4))
EP_ROWS=$((S1 + S2 + 1 + BIG_ROWS + S4))

# one uninterrupted episode: the length of a run
drop "$C" "${SALES_FILES[@]}"
tick; t0=$NOW
"$PAYOUTD" -c "$C/payoutd.yaml" --once 2>"$T/run.log" || fail "calibration: an uninterrupted episode"
tick; D_US=$((NOW - t0))
big_log=$(sed -n "s/.*$BIG: booked .* in \([0-9.]*\) s\$/\1/p" "$T/run.log")
[[ -n $big_log ]] || fail "calibration: $BIG was not booked: $(cat "$T/run.log")"
NS_PER_ROW=$(((D_US - STARTUP_US) * 1000 / EP_ROWS))
((NS_PER_ROW > 0)) || NS_PER_ROW=1
rm -rf "$C"
echo "kill9: start-up $(fmt_us "$STARTUP_US") s; probe: $PROBE rows in $(fmt_us "$probe_us") s;" \
	"an episode of $EP_ROWS rows in $(fmt_us "$D_US") s ($BIG: $BIG_ROWS rows booked in $big_log s)"

# ---- the invariants ------------------------------------------------------------
# check_state WHEN [STATUS]: everything that must hold at any instant while the
# daemon is stopped. Sets NF_ NR_ NINBOX NWORK NARCH NREJ NDECIDED NINFLIGHT PENDING.
check_state() {
	local when=$1 status=${2:-0}
	if [[ $status != 0 ]]; then
		"$PAYOUTCTL" -c "$EP/payoutd.yaml" status >"$T/status.out" 2>&1 ||
			fail "$when: payoutctl status: $(cat "$T/status.out")"
	fi
	{
		sed 's/^/M /' "$MANIFEST"
		(cd "$EP/state" && find inbox archive rejected -type f) | awk '
			/^inbox\/\.work\// { c = substr($0, 13); print "P work", substr(c, 18), c; next }
			/^inbox\// { print "P inbox", substr($0, 7), "-"; next }
			/^archive\/[^\/]*\/[^\/]*$/ { n = split($0, p, "/"); print "P archive", p[n], "-"; next }
			/^rejected\/.*\.errors\.txt$/ { next }
			/^rejected\/\./ { next }
			/^rejected\/[^\/]*$/ { print "P rejected", substr($0, 10), "-"; next }
			{ print "P other", $0, "-" }'
		sqlite3 -readonly -separator ' ' "$EP/state/ledger.db" \
			"SELECT 'F', name, claim, kind, rows, sales, id FROM files;" \
			"SELECT 'R', name, claim FROM rejections;" \
			"SELECT 'C', file_id, count(*) FROM sales GROUP BY file_id;" \
			"SELECT 'A', (SELECT count(*) FROM audit WHERE line LIKE '%\"event\":\"file_booked\"%'),
			        (SELECT count(*) FROM audit WHERE line LIKE '%\"event\":\"file_rejected\"%');" ||
			echo "X sqlite3 failed"
	} >"$T/facts" 2>&1
	awk '
		function bad(m) { print m; errors++ }
		$1 == "X" { bad("the ledger cannot be queried") }
		$1 == "M" { kind[$2] = $3; rows[$2] = $4; outcome[$2] = $5 }
		$1 == "P" {
			if (!($3 in kind)) { bad("unknown file " $3 " in " $2); next }
			where[$3] = where[$3] " " $2; places[$3]++; place[$3] = $2; claim[$3] = $4
		}
		$1 == "F" {
			fcount[$2]++; fclaim[$2] = $3; fid[$7] = $2; nf++
			if (fcount[$2] > 1) bad($2 ": recorded in files twice")
			if (!($2 in kind)) bad($2 ": recorded in files but never dropped")
			else if (outcome[$2] != "booked") bad($2 ": a bad file was booked")
			else if ($5 != rows[$2]) bad($2 ": files.rows " $5 " but the file has " rows[$2])
			else if (kind[$2] == "sales" && $6 != rows[$2]) bad($2 ": files.sales " $6 " but the file has " rows[$2] " rows")
			if (kind[$2] == "sales") fsales[$7] = $6
		}
		$1 == "R" {
			rcount[$2]++; rclaim[$2] = $3; nr++
			if (rcount[$2] > 1) bad($2 ": recorded in rejections twice")
			if (outcome[$2] != "rejected") bad($2 ": a good file was rejected")
		}
		$1 == "C" {
			if (!($2 in fid)) bad($3 " sales belong to file id " $2 ", which is not in files")
			else if (fsales[$2] != $3) bad(fid[$2] ": " $3 " sales booked but files.sales says " fsales[$2])
			csales[$2] = $3
		}
		$1 == "A" { abooked = $2; arejected = $3 }
		END {
			for (n in kind) {
				if (places[n] == 0) { bad(n ": lost (in no folder)"); continue }
				if (places[n] > 1) { bad(n ": in " places[n] " places:" where[n]); continue }
				p = place[n]; booked = n in fcount; rejected = n in rcount
				if (p == "other") bad(n ": in an unexpected place")
				if (p == "inbox" && (booked || rejected)) bad(n ": in the inbox but recorded in the ledger")
				if (p == "archive" && !booked) bad(n ": in archive but not recorded in files")
				if (p == "rejected" && !rejected) bad(n ": in rejected but not recorded in rejections")
				if (p == "work" && booked && fclaim[n] != claim[n]) bad(n ": booked as " fclaim[n] " but .work holds " claim[n])
				if (p == "work" && rejected && rclaim[n] != claim[n]) bad(n ": rejected as " rclaim[n] " but .work holds " claim[n])
				if (booked && p != "archive" && p != "work") bad(n ": booked but in " p)
				if (rejected && p != "rejected" && p != "work") bad(n ": rejected but in " p)
				if (p == "archive") narch++
				if (p == "rejected") nrej++
				if (p == "inbox") ninbox++
				if (p == "work") nwork++
				if (p == "work" && (booked || rejected)) ndecided++
				if (p == "work" && !booked && !rejected) ninflight++
				if ((p == "work" || p == "inbox") && !booked && !rejected) pending += rows[n]
			}
			for (i in fsales) if (!(i in csales) && fsales[i] != 0) bad(fid[i] ": files.sales " fsales[i] " but no sales booked")
			if (abooked != nf) bad("the audit table has " abooked " file_booked lines for " nf " files")
			if (arejected != nr) bad("the audit table has " arejected " file_rejected lines for " nr " rejections")
			printf "S %d %d %d %d %d %d %d %d %d\n", nf, nr, ninbox, nwork, narch, nrej, ndecided, ninflight, pending
			exit (errors > 0)
		}' "$T/facts" >"$T/check.out" || fail "$when: $(grep -v '^S ' "$T/check.out" | head -20)"
	read -r _ NF_ NR_ NINBOX NWORK NARCH NREJ NDECIDED NINFLIGHT PENDING < <(grep '^S ' "$T/check.out")
}

# check_done: after an uninterrupted run, the episode's totals.
check_done() {
	local db=$EP/state/ledger.db log=$EP/state/audit.log n
	check_state "episode $EPISODE, after the last run" 1
	((NINBOX == 0 && NWORK == 0)) || fail "after the last run: $NINBOX files in the inbox, $NWORK in .work"
	((NARCH == 4 && NF_ == 4)) || fail "after the last run: $NARCH files archived and $NF_ recorded, expected 4"
	((NREJ == 1 && NR_ == 1)) || fail "after the last run: $NREJ files rejected and $NR_ recorded, expected 1"
	n=$(sqlite3 -readonly "$db" "SELECT count(*) FROM sales")
	((n == EP_SALES)) || fail "$n sales booked, $EP_SALES generated"
	n=$(sqlite3 -readonly "$db" "PRAGMA integrity_check")
	[[ $n == ok ]] || fail "integrity_check: $n"
	"$PAYOUTCTL" -c "$EP/payoutd.yaml" audit verify >"$T/verify.out" 2>&1 || fail "audit verify: $(cat "$T/verify.out")"
	sed -n 's/.*"event":"file_booked","name":"\([^"]*\)".*/\1/p' "$log" | sort >"$T/log.booked"
	sqlite3 -readonly "$db" "SELECT name FROM files" | sort >"$T/db.booked"
	cmp -s "$T/log.booked" "$T/db.booked" ||
		fail "the audit log's file_booked lines differ from the files table: $(diff "$T/db.booked" "$T/log.booked" | head)"
	n=$(grep -c '"event":"file_rejected","name":"sales-2-bad.csv"' "$log" || true)
	((n == 1)) || fail "the audit log has $n file_rejected lines for sales-2-bad.csv"
	n=$(wc -l <"$log")
	((n == $(sqlite3 -readonly "$db" "SELECT count(*) FROM audit"))) || fail "the audit log has $n lines, the ledger's audit table another count"
}

# ---- the episodes ----------------------------------------------------------------
RUNS=0 FINISHED=0 EARLY=0 LATE=0 COMMIT=0 ANY=0 WINDOW=0 INFLIGHT=0 BOOKED_FILES=0 BOOKED_SALES=0
EP=$T/ep
tick; loop_start=$NOW
while ((KILLS < POINTS)); do
	EPISODE=$((EPISODE + 1))
	new_state "$EP"
	drop "$EP" "${SALES_FILES[@]}"
	check_state "episode $EPISODE, files dropped" 1
	while ((PENDING > 0 && KILLS < POINTS)); do
		((RUNS < POINTS * 5)) || fail "$RUNS runs for $KILLS kills: the runs end before the kills"
		RUNS=$((RUNS + 1))
		expect_us=$((STARTUP_US + PENDING * NS_PER_ROW / 1000))
		pick=$((RANDOM % 100))
		r=$(((RANDOM << 15 | RANDOM) % 1000000)) # a fraction, in millionths
		if ((pick < 15)); then
			class=early us=$((30000 * r / 1000000))
		elif ((pick < 30)); then
			class=late us=$((expect_us * 85 / 100 + expect_us * 20 * r / 100000000))
		elif ((pick < 40)) && [[ $(sqlite3 -readonly "$EP/state/ledger.db" "SELECT count(*) FROM files WHERE name = '$BIG'") == 0 ]]; then
			class=commit us=0
		else
			class=any us=$((expect_us * 105 * r / 100000000))
		fi
		DELAY="$(fmt_us "$us") s"
		pending_before=$PENDING
		"$PAYOUTD" -c "$EP/payoutd.yaml" --once 2>"$T/run.log" &
		DAEMON_PID=$!
		if [[ $class == commit ]]; then
			# poll the audit log without forking, kill as soon as the line is there
			tick; t0=$NOW
			line="\"event\":\"file_booked\",\"name\":\"$BIG\""
			while alive "$DAEMON_PID"; do
				IFS= read -r -d '' text <"$EP/state/audit.log" || true
				[[ $text == *"$line"* ]] && break
				tick
				((NOW - t0 < 10 * expect_us + 10000000)) || break
			done
			kill -9 "$DAEMON_PID" 2>/dev/null || true
			tick; DELAY="$(fmt_us $((NOW - t0))) s, when $BIG's audit line appeared"
		else
			sleep "$(fmt_us "$us")"
			kill -9 "$DAEMON_PID" 2>/dev/null || true
		fi
		rc=0
		wait "$DAEMON_PID" 2>/dev/null || rc=$? # 2>/dev/null: no "Killed" notice
		DAEMON_PID=
		if ((rc == 128 + 9)); then
			KILLS=$((KILLS + 1))
			case $class in
			early) EARLY=$((EARLY + 1)) ;;
			late) LATE=$((LATE + 1)) ;;
			commit) COMMIT=$((COMMIT + 1)) ;;
			*) ANY=$((ANY + 1)) ;;
			esac
			check_state "episode $EPISODE, kill $KILLS ($class, after $DELAY)" $((KILLS % 5 == 0))
			# a kill near the expected end that found nothing newly booked: the
			# runs are slower than expected (a busier machine): expect longer
			if [[ $class == late ]] && ((PENDING == pending_before)); then
				NS_PER_ROW=$((NS_PER_ROW + NS_PER_ROW / 8))
			fi
			((NDECIDED == 0)) || WINDOW=$((WINDOW + 1))
			((NINFLIGHT == 0)) || INFLIGHT=$((INFLIGHT + 1))
			echo "episode $EPISODE kill $KILLS: $class, $DELAY: $NARCH archived, $NREJ rejected, $NINFLIGHT in flight," \
				"$NDECIDED decided in .work, $NINBOX in the inbox" >>"$T/trace"
		elif ((rc == 0)); then
			FINISHED=$((FINISHED + 1))
			echo "episode $EPISODE run $RUNS: $class, $DELAY: ended before the kill" >>"$T/trace"
			if ((pending_before > BIG_ROWS / 2)); then # learn the time per row
				took_us=$(awk '/: booked .* in [0-9.]+ s$/ { s += $(NF - 1) } END { printf "%d", s * 1000000 }' "$T/run.log")
				NS_PER_ROW=$(((NS_PER_ROW + took_us * 1000 / pending_before) / 2))
			fi
			break
		else
			fail "payoutd exited with $rc (not killed): $(tail -n 5 "$T/run.log")"
		fi
	done
	# the rest, uninterrupted (also when a run ended on its own: it must be a no-op then)
	"$PAYOUTD" -c "$EP/payoutd.yaml" --once 2>"$T/run.log" || fail "the last run exited with $?: $(tail -n 5 "$T/run.log")"
	check_done
	BOOKED_FILES=$((BOOKED_FILES + 4))
	BOOKED_SALES=$((BOOKED_SALES + EP_SALES))
done
tick; loop_us=$((NOW - loop_start))
rm -rf "$EP"

echo "kill9: $EPISODE episodes, $RUNS runs in $(fmt_us "$loop_us") s; $KILLS killed: $EARLY in the first 30 ms," \
	"$LATE near the expected end, $COMMIT when the large file's audit line appeared, $ANY anywhere;" \
	"$INFLIGHT left a claim in flight, $WINDOW a committed file not yet moved; $FINISHED runs ended before their kill"
echo "kill9: $KILLS kill points, $BOOKED_FILES files, $BOOKED_SALES rows, all invariants held"
