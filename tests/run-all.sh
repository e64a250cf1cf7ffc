#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds with -Werror, runs every
# unit and end-to-end test and the crash-point loop, then builds again with AddressSanitizer and
# UndefinedBehaviorSanitizer and runs everything once more, runs the end-to-end
# tests once more under valgrind memcheck, and each libFuzzer target for 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
echo "== build (release, -Werror, with the numbered crash points of tests/crash)"
# The crash points are inert unless PAYOUTD_CRASH_AT/PAYOUTD_CRASH_LOG are set;
# the Debian package (tests/packaging/deb.sh) is built from source without them.
scripts/build.sh build -DPAYOUTD_CRASH_POINTS=ON
echo "== tests (release)"
(cd build && ctest --output-on-failure -j "$jobs")
echo "== build (ASan + UBSan)"
scripts/build.sh build-asan -DPAYOUTD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure -j "$jobs")
echo "== the end-to-end tests under valgrind memcheck (no error, no leak)"
unset ASAN_OPTIONS UBSAN_OPTIONS
tests/valgrind.sh
echo "== fuzz (libFuzzer + ASan + UBSan, 60 s per target)"
tests/fuzz/run.sh 60
