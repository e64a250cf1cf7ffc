#!/usr/bin/env bash
# crash_points: kills payoutd and payoutctl at every numbered crash point of a
# scenario (daemon/crashpoint.h; needs a build with -DPAYOUTD_CRASH_POINTS=ON)
# and proves that after a restart the run ends exactly where an uninterrupted
# run ends: the same ledger (a canonical dump), the same bytes in every
# output folder, the same booking and close events, an intact audit log.
#
# The scenario, in four steps (the operator's files arrive before 1 and 3):
#   1  payoutd --once books products, distributors and two sales files of
#      2026-09 (one with a refund inside the period)
#   2  payoutctl close 2026-09
#   3  payoutd --once books a new distributor, sales of 2026-10, a late sale
#      of 2026-09 (booked into 2026-10) and a refund of a closed 2026-09 sale
#      (a clawback in 2026-10)
#   4  payoutctl close 2026-10
# A counting run logs every point each step reaches (PAYOUTD_CRASH_LOG). Then
# for each step S and each of its points N: the state as it was before S is
# copied, S runs with PAYOUTD_CRASH_AT=N and must die of SIGKILL there; the
# daemon is restarted (payoutd --once: its start-up recovery), S runs again,
# the remaining steps run, and the final state is compared with the
# uninterrupted run's.
#
# CRASH_STEP=S and CRASH_ONLY=N (environment) narrow the loop when debugging.
source "$(dirname "$0")/../e2e/lib.sh"

write_config
BASE=$T/base
mkdir -p "$BASE/state/inbox"
cp "$CONF" "$PLAN" "$BASE/"
rm -rf "$STATE"

# put DIR NAME: stdin into DIR/state/inbox/NAME by write and rename, as the
# operator's systems are told to drop files.
put() {
	cat >"$1/state/inbox/.$2.part"
	mv "$1/state/inbox/.$2.part" "$1/state/inbox/$2"
}

prep() { # STEP DIR: the files that arrive before STEP
	case $1 in
	1)
		echo "$PRODUCTS_CSV" | put "$2" products-1.csv
		put "$2" distributors-1.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,country,email,iban,vat_liable
A1,,Anna Schmidt,2025-03-01,DE,anna@example.com,DE89370400440532013000,yes
B1,A1,Bernd Müller,2025-06-15,DE,bernd@example.com,DE44500105175407324931,no
B2,A1,Clara Jäger,2025-09-01,AT,clara@example.com,AT611904300234573201,no
C1,B1,Dora Beck,2026-01-10,DE,dora@example.com,DE02120300000000202051,no
C2,B1,Emil Roth,2026-02-01,DE,emil@example.com,DE02500105170137075030,no
C3,B2,Frieda Wolf,2026-03-15,AT,frieda@example.com,AT483200000012345864,no
D1,C1,Gustav Lang,2026-05-01,DE,gustav@example.com,DE12500105170648489890,no
D2,C3,Hanna Koch,2026-06-01,AT,hanna@example.com,AT026000000001349870,no
EOF
		put "$2" sales-2026-09-a.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S01,A1,2026-09-02,400.00,SKIN-02,4
S02,B1,2026-09-03,600.00,VIT-01,10
S03,B2,2026-09-05,300.00,SKIN-01,5
S04,C1,2026-09-08,250.00,VIT-01,5
S05,C2,2026-09-09,180.00,SKIN-01,3
EOF
		put "$2" sales-2026-09-b.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,refund_of
S06,C3,2026-09-12,500.00,SKIN-02,5,
S07,D1,2026-09-15,210.00,VIT-01,7,
S08,D2,2026-09-20,330.00,SKIN-02,3,
S09,C1,2026-09-21,-50.00,VIT-01,1,S04
S10,B1,2026-09-28,120.00,SKIN-01,2,
EOF
		;;
	3)
		put "$2" distributors-2.csv <<'EOF'
distributor_id,sponsor_id,name,join_date,country,email,iban,vat_liable
E1,D1,Ida Vogel,2026-10-05,DE,ida@example.com,DE75512108001245126199,no
EOF
		put "$2" sales-2026-10.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity
S11,A1,2026-10-02,450.00,SKIN-01,9
S12,B1,2026-10-04,520.00,VIT-01,8
S13,C1,2026-10-07,260.00,SKIN-02,2
S14,D1,2026-10-11,190.00,VIT-01,6
S15,E1,2026-10-12,310.00,SKIN-01,6
S16,C3,2026-10-20,410.00,SKIN-02,4
EOF
		put "$2" sales-late.csv <<'EOF'
sale_id,distributor_id,date,amount,sku,quantity,refund_of
S17,D2,2026-09-29,150.00,VIT-01,5,
S18,B2,2026-10-14,-120.00,SKIN-01,2,S03
EOF
		;;
	esac
}

action() { # STEP DIR: what the step runs
	case $1 in
	1 | 3) timeout 60 "$PAYOUTD" -c "$2/payoutd.yaml" --once ;;
	2) timeout 60 "$PAYOUTCTL" -c "$2/payoutd.yaml" close 2026-09 ;;
	4) timeout 60 "$PAYOUTCTL" -c "$2/payoutd.yaml" close 2026-10 ;;
	esac
}
STEPS=4

# canon DIR: everything the run's outcome is, minus what a restart changes by
# nature (times, claim tokens, the start/stop lines of the audit log).
canon() {
	local d=$1 db=$1/state/ledger.db
	sqlite3 -batch -readonly "$db" "
		SELECT 'files', id, name, kind, size, sha256, archive_dir, rows, sales, distributors,
		       products, late, unattributed, duplicates, refunds, clawbacks, attributed
		  FROM files ORDER BY id;
		SELECT 'rejections', count(*) FROM rejections;
		SELECT 'distributor', * FROM distributors ORDER BY id;
		SELECT 'status', * FROM distributor_status ORDER BY seq;
		SELECT 'product', * FROM products ORDER BY sku;
		SELECT 'sale', * FROM sales ORDER BY sale_id;
		SELECT 'volume', * FROM volumes ORDER BY period, distributor_id;
		SELECT 'stats', * FROM period_stats ORDER BY period;
		SELECT 'period', period, name, plan_sha256, net_sales, manifest_sha256, hex(sha3(summary)), published
		  FROM periods ORDER BY period;
		SELECT 'result', * FROM period_results ORDER BY period, distributor_id;
		SELECT 'source', * FROM period_sources ORDER BY period, source;
		SELECT 'plan', sha256 FROM plans ORDER BY sha256;
		SELECT 'event', json_remove(line, '$.seq', '$.time', '$.prev', '$.hash', '$.claim')
		  FROM audit WHERE line->>'event' IN ('file_booked', 'file_rejected', 'period_closed') ORDER BY seq;
	" 2>&1 || echo "cannot read the ledger of $d"
	echo "== output files"
	(cd "$d/state" && find . -path ./ledger.db\* -prune -o -path ./audit.log -prune -o \
		\( -type f -o -type d \) -print0 | LC_ALL=C sort -z |
		xargs -0r stat -c '%F %n' | sed 's/^regular file/file/')
	for f in statements archive; do
		[[ -d $d/state/$f ]] && (cd "$d/state/$f" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
	done
	echo "== audit verify"
	"$PAYOUTCTL" -c "$d/payoutd.yaml" audit verify 2>&1 | sed -e "s|$d|DIR|g" -e "s/: intact, [0-9]* lines*$/: intact/"
}

# ---- the uninterrupted run, counting the points of each step -------------------------------
REF=$T/ref
cp -a "$BASE" "$REF"
declare -a POINTS
for ((s = 1; s <= STEPS; s++)); do
	prep "$s" "$REF"
	cp -a "$REF" "$T/before-$s"
	set +e
	PAYOUTD_CRASH_LOG=$T/points-$s action "$s" "$REF" >"$T/ref-$s.log" 2>&1
	rc=$?
	set -e
	[[ $rc -eq 0 ]] || fail "step $s of the uninterrupted run exited $rc: $(tail -n 5 "$T/ref-$s.log")"
	POINTS[s]=$(wc -l <"$T/points-$s")
	((POINTS[s] > 0)) || fail "step $s reached no crash point: is this a -DPAYOUTD_CRASH_POINTS=ON build?"
done
canon "$REF" >"$T/ref.canon"
assert_contains "$T/ref.canon" "intact" "audit verify of the uninterrupted run"
# the scenario is what it says: a late sale, a clawback, two published periods
grep -aq '^volume|' "$T/ref.canon" || fail "the uninterrupted run booked no volumes"
[[ $(grep -ac '^period|.*|1$' "$T/ref.canon") -eq 2 ]] || fail "expected two published periods: $(grep '^period|' "$T/ref.canon")"
grep -aq '"late":1' "$T/ref.canon" || fail "expected a late sale in the scenario"
grep -aq '"clawbacks":1' "$T/ref.canon" || fail "expected a clawback in the scenario"

total=0
for ((s = 1; s <= STEPS; s++)); do
	total=$((total + POINTS[s]))
	echo "step $s: ${POINTS[s]} crash points ($(awk '{ print $2, $3 }' "$T/points-$s" | sort | uniq -c | sort -rn | awk '{ printf "%s%s %s %s", sep, $1, $2, $3; sep = ", " }'))"
done
echo "$total crash points in all"

# ---- crash at each point, restart, finish, compare -----------------------------------------
RUN=$T/run
crashes=0
for ((s = 1; s <= STEPS; s++)); do
	[[ -n ${CRASH_STEP:-} && $CRASH_STEP != "$s" ]] && continue
	for ((n = 1; n <= POINTS[s]; n++)); do
		[[ -n ${CRASH_ONLY:-} && $CRASH_ONLY != "$n" ]] && continue
		where="step $s, point $n ($(sed -n "${n}p" "$T/points-$s" | cut -d' ' -f2-))"
		rm -rf "$RUN"
		cp -a "$T/before-$s" "$RUN"
		set +e
		PAYOUTD_CRASH_AT=$n action "$s" "$RUN" >"$T/crash.log" 2>&1
		rc=$?
		set -e
		[[ $rc -eq 137 ]] || fail "$where: expected death by SIGKILL (137), exited $rc: $(tail -n 5 "$T/crash.log")"
		# the restart: payoutd's start-up recovery, then the step again, then the rest
		set +e
		timeout 60 "$PAYOUTD" -c "$RUN/payoutd.yaml" --once >"$T/restart.log" 2>&1
		rc=$?
		set -e
		[[ $rc -eq 0 ]] || fail "$where: the restart exited $rc: $(tail -n 5 "$T/restart.log")"
		for ((r = s; r <= STEPS; r++)); do
			((r > s)) && prep "$r" "$RUN"
			set +e
			action "$r" "$RUN" >"$T/rest.log" 2>&1
			rc=$?
			set -e
			[[ $rc -eq 0 ]] || fail "$where: step $r after the restart exited $rc: $(tail -n 5 "$T/rest.log")"
		done
		canon "$RUN" >"$T/run.canon"
		cmp -s "$T/ref.canon" "$T/run.canon" ||
			fail "$where: the final state differs from the uninterrupted run's:
$(diff "$T/ref.canon" "$T/run.canon" | head -40)"
		crashes=$((crashes + 1))
	done
done
echo "$crashes crashes, each restarted and finished with the uninterrupted run's final state"
pass
