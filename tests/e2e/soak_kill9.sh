#!/usr/bin/env bash
# soak_kill9: the running daemon (not --once) is killed with SIGKILL at random
# moments while a stream of sales files arrives, and started again at once,
# over and over. Every file of the stream is booked exactly once and archived
# once, none is lost or rejected, every sale is in the ledger once, the audit
# log verifies, and the volumes the bookings keep equal the sales.
#
# The stream: SOAK_FILES files (default 80) of 1 to 40 sales each, some with
# a refund of an earlier sale, dropped by write+rename every 0 to 40 ms.
# Kill delays are uniform in [0, 300] ms from each start. SOAK_SEED replays
# the draws (timing aside).
source "$(dirname "$0")/lib.sh"

FILES=${SOAK_FILES:-80}
SEED=${SOAK_SEED:-$(($(date +%s%N) % 1000000007))}
echo "soak_kill9: seed $SEED (replay with SOAK_SEED=$SEED)"
RANDOM=$SEED

write_config
book_base

# the stream, written beforehand so that the dropper only renames
mkdir -p "$T/stream"
expected=0
for ((f = 1; f <= FILES; f++)); do
	n=$((1 + RANDOM % 40))
	{
		echo 'sale_id,distributor_id,date,amount,refund_of'
		for ((i = 1; i <= n; i++)); do
			# the first sale of each file is B1's: a later file may refund it
			echo "F${f}S$i,$(((i == 1 || RANDOM % 3 == 0)) && echo B1 || echo B2),2026-11-$((10 + RANDOM % 15)),$((1 + RANDOM % 500)).$((RANDOM % 90 + 10)),"
		done
		# a refund of a sale of an earlier file (booked before this one: files go by name)
		if ((f > 1 && RANDOM % 4 == 0)); then
			echo "F${f}R,B1,2026-11-26,-0.50,F$((f - 1))S1"
			n=$((n + 1))
		fi
	} >"$T/stream/sales-$(printf %04d "$f").csv"
	expected=$((expected + n))
done

(
	for ((f = 1; f <= FILES; f++)); do
		name=sales-$(printf %04d "$f").csv
		cp "$T/stream/$name" "$INBOX/.$name.part"
		mv "$INBOX/.$name.part" "$INBOX/$name"
		sleep "0.0$((RANDOM % 40))"
	done
) &
dropper=$!

kills=0
while kill -0 "$dropper" 2>/dev/null; do
	"$PAYOUTD" -c "$CONF" 2>>"$LOG" &
	DAEMON_PID=$!
	sleep "0.$(printf %03d $((RANDOM % 300)))"
	kill -KILL "$DAEMON_PID" 2>/dev/null || fail "payoutd exited on its own during the soak: $(tail -n 5 "$LOG")"
	wait "$DAEMON_PID" 2>/dev/null || true
	DAEMON_PID=
	kills=$((kills + 1))
done
wait "$dropper"
((kills >= 10)) || fail "only $kills kills landed: the stream ended too soon to prove anything"

# one last run books what is left, and stops on its own
run_once
assert_inbox_idle
assert_dir_empty "$REJECTED" "rejected/ after the soak"
assert_eq "$((FILES + 2))" "$(q 'SELECT count(*) FROM files')" "files booked (the stream and the two base files)"
assert_eq "0" "$(q 'SELECT count(*) FROM rejections')" "rejections"
assert_eq "$expected" "$(q "SELECT count(*) FROM sales WHERE sale_id LIKE 'F%'")" "sales of the stream booked"
assert_eq "$FILES" "$(find "$ARCHIVE" -type f -name 'sales-*.csv' | wc -l)" "sales files in the archive"
for ((f = 1; f <= FILES; f++)); do
	name=sales-$(printf %04d "$f").csv
	cmp -s "$T/stream/$name" "$ARCHIVE"/*/"$name" || fail "$name: the archived copy differs from the file dropped"
done
assert_eq "$((FILES + 2))" "$(q "SELECT count(*) FROM audit WHERE line->>'event' = 'file_booked'")" "file_booked lines in the ledger"
assert_eq "$((FILES + 2))" "$(grep -c '"event":"file_booked"' "$AUDIT")" "file_booked lines in audit.log"
audit_verify_ok
echo "soak_kill9: $kills kills of the running daemon during a stream of $FILES files ($expected sales)"
pass
