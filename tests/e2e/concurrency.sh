#!/usr/bin/env bash
# concurrency: what operators do while the daemon books a stream of files
# (issue 5, item 6): `payoutctl status` and `payoutctl close` run meanwhile,
# a storm of SIGHUPs arrives. Nothing is lost or booked twice: every file is
# archived once, every sale is in the ledger once, the sales of the closed
# month booked after its close are late sales of the next, the audit log
# verifies, and the volumes kept at booking equal the sum over the sales
# (checked by pass).
source "$(dirname "$0")/lib.sh"

write_config
book_base
start_daemon

FILES=30
ROWS=40
# the stream: FILES files of ROWS sales, half dated November, half December
(
	for ((f = 1; f <= FILES; f++)); do
		{
			echo 'sale_id,distributor_id,date,amount'
			for ((r = 1; r <= ROWS; r++)); do
				d=$(((f + r) % 3))
				dist=A1
				((d == 1)) && dist=B1
				((d == 2)) && dist=B2
				if ((r % 2)); then day=2026-11-$(printf '%02d' $((r % 28 + 1))); else day=2026-12-$(printf '%02d' $((r % 28 + 1))); fi
				echo "F${f}R${r},$dist,$day,$((10 + r)).$((f % 10))0"
			done
		} | drop "sales-$f.csv"
		sleep 0.05
	done
) &
writer=$!

# meanwhile: status, a storm of SIGHUPs, and the close of November
statuses=0
for ((i = 0; i < 10; i++)); do
	run "$PAYOUTCTL" -c "$CONF" status
	assert_eq 0 "$RC" "payoutctl status while the daemon books ($(head -c 500 "$OUT"))"
	statuses=$((statuses + 1))
	kill -HUP "$DAEMON_PID"
	kill -HUP "$DAEMON_PID"
	sleep 0.05
done
run "$PAYOUTCTL" -c "$CONF" close 2026-11
assert_eq 0 "$RC" "close 2026-11 while the daemon books ($(cat "$OUT"))"
for ((i = 0; i < 20; i++)); do
	kill -HUP "$DAEMON_PID"
done
wait "$writer"

wait_for 60 "the daemon to book every file" inbox_empty
kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd died during the storm: $(tail -5 "$LOG")"
stop_daemon
assert_eq 0 "$RC" "daemon exit status"

# every file once, every sale once
assert_eq "$((FILES + 2))" "$(q 'SELECT count(*) FROM files')" "files booked"
assert_eq 0 "$(q 'SELECT count(*) FROM rejections')" "files rejected"
assert_eq "$((FILES + 2))" "$(find "$ARCHIVE" -type f | wc -l)" "files in the archive"
assert_eq "$((FILES * ROWS))" "$(q 'SELECT count(*) FROM sales')" "sales booked"
assert_eq "$((FILES * ROWS))" "$(q 'SELECT count(DISTINCT sale_id) FROM sales')" "distinct sale ids"
# November is closed; its sales booked after the close went into December, late
NOV=$((2026 * 12 + 10))
assert_eq 1 "$(q "SELECT count(*) FROM periods WHERE period = $NOV")" "2026-11 closed"
assert_eq 0 "$(q "SELECT count(*) FROM sales WHERE booked_period > $NOV + 1")" "sales booked after December"
late=$(q "SELECT count(*) FROM sales WHERE flags & 2 = 2")
nov_in_nov=$(q "SELECT count(*) FROM sales WHERE booked_period = $NOV")
assert_eq "$((FILES * ROWS / 2))" "$((late + nov_in_nov))" "November sales: in November or late in December"
# the statements of November are the ones the ledger recorded
[[ -d $STATEMENTS/2026-11 ]] || fail "statements/2026-11 was not published"
assert_sums_ok "$STATEMENTS/2026-11"
audit_verify_ok
echo "statuses: $statuses, November sales booked late: $late"
pass
