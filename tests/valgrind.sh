#!/usr/bin/env bash
# tests/valgrind.sh - every end-to-end test once under valgrind memcheck
# (issue 5, item 5): builds build-valgrind/ (RelWithDebInfo, no sanitizers,
# -DPAYOUTD_VALGRIND=ON) and runs the tests labelled `valgrind`
# (tests/CMakeLists.txt), each through tests/tools/valgrind-wrap.sh: payoutd
# and payoutctl run under memcheck, and a test fails on any error or leak
# valgrind reports, printing the log. Logs: build-valgrind/tests/valgrind/NAME/.
#
#   tests/valgrind.sh [CTEST_ARGS...]     e.g. -R kill9, or -j 1
#
# Environment: JOBS (ctest -j, default 2); PAYOUTD_VALGRIND_KILL9_POINTS
# (kill points of kill9.sh under valgrind, default 4); VALGRIND_EXTRA (more
# valgrind options, e.g. --track-origins=yes).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh)" >&2; exit 1; }
jobs=${JOBS:-2}
start=$SECONDS
echo "== build (valgrind: RelWithDebInfo, no sanitizers)"
cmake -S . -B build-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPAYOUTD_WERROR=ON \
	-DPAYOUTD_SANITIZE=OFF -DPAYOUTD_VALGRIND=ON >/dev/null
cmake --build build-valgrind -j "$jobs"
built=$SECONDS
echo "== e2e tests under valgrind memcheck"
rc=0
(cd build-valgrind && ctest -L valgrind --output-on-failure -j "$jobs" "$@") || rc=$?
echo "valgrind stage: build $((built - start)) s, tests $((SECONDS - built)) s"
exit "$rc"
