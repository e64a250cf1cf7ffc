#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts payoutd as a daemon on a
# fresh demo folder, drops the sample files into its inbox the way a shop
# should (write to a temporary name, then rename), waits until each one is
# booked or rejected, and shows the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
demo=demo
state=$demo/state
rm -rf "$state"
mkdir -p "$state/inbox"

echo "== payoutd starts (as a daemon, logging to stderr)"
build/payoutd -c "$demo/payoutd.yaml" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -e $state/audit.log ]] && break; sleep 0.1; done

# in dependency order, as a shop's export job would send them
for f in products-2026-11.csv distributors-2026-11.csv sales-2026-11.csv umsatz-2026-11.csv sales-bad-export.csv; do
	cp "$demo/files/$f" "$state/inbox/.$f.tmp"
	mv "$state/inbox/.$f.tmp" "$state/inbox/$f"
	for _ in $(seq 100); do
		[[ -e $state/inbox/$f ]] || [[ -n $(ls -A "$state/inbox/.work" 2>/dev/null) ]] || break
		sleep 0.1
	done
done
sleep 0.5
kill -TERM $daemon
wait $daemon || true
trap - EXIT

echo
echo "== payoutctl status"
build/payoutctl -c "$demo/payoutd.yaml" status
echo
echo "== the rejected file's report"
cat "$state"/rejected/*.errors.txt
echo
echo "== payoutctl close 2026-11"
build/payoutctl -c "$demo/payoutd.yaml" close 2026-11
ls "$state/statements/2026-11"
echo
echo "== payoutctl statement A1"
build/payoutctl -c "$demo/payoutd.yaml" statement A1
echo
echo "== payoutctl audit verify"
build/payoutctl -c "$demo/payoutd.yaml" audit verify
echo
echo "Look at: $state/statements/2026-11/ (open A1.html in a browser; payouts.csv, summary.json),"
echo "         $state/archive/ (booked files), $state/rejected/ (with .errors.txt),"
echo "         $state/audit.log, and the ledger: sqlite3 $state/ledger.db 'SELECT * FROM sales'"
