#!/usr/bin/env bash
# The demo: installs what is missing, builds, drops the sample files into a
# fresh inbox, lets payoutd book them, and shows the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
demo=demo
rm -rf "$demo/state"
mkdir -p "$demo/state/inbox"
cp "$demo"/files/*.csv "$demo/state/inbox/"
echo "== payoutd --once books the inbox"
build/payoutd -c "$demo/payoutd.yaml" --once
echo
echo "== payoutctl status"
build/payoutctl -c "$demo/payoutd.yaml" status
echo
echo "== payoutctl audit verify"
build/payoutctl -c "$demo/payoutd.yaml" audit verify
echo
echo "Look at: $demo/state/archive/ (booked files), $demo/state/rejected/ (with .errors.txt),"
echo "         $demo/state/audit.log, and the ledger: sqlite3 $demo/state/ledger.db"
