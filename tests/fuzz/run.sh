#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS] - builds the libFuzzer targets (clang, ASan + UBSan)
# and runs each for SECONDS (default 60) on a temporary copy of its seed corpus,
# up to nproc targets at a time. Exits 1 when any target finds a crash, a leak,
# a timeout or an out-of-memory, printing the reproducer and the target's last
# output; 2 on a usage or build problem. New inputs never go into the repo.
#
# Environment:
#   BUILD_DIR   build folder (default: build-fuzz in the repo root)
#   CC          the compiler (default clang; PAYOUTD_FUZZ refuses anything else)
#   JOBS        targets run at once (default: nproc); BUILD_JOBS likewise for the build
#   TARGETS     which targets (default: "csv config plan audit")
#   KEEP=1      keep the temporary folder (corpora, logs) even when all passed
#   NO_BUILD=1  run the targets already built in BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
secs=${1:-60}
if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: $0 [SECONDS]   (a positive whole number, default 60)" >&2
	exit 2
fi
build=${BUILD_DIR:-$repo/build-fuzz}
jobs=${JOBS:-$(nproc)}
build_jobs=${BUILD_JOBS:-$(nproc)}
targets=(${TARGETS:-csv config plan audit})
export CC=${CC:-clang}

# Longest input per target: a few rows / a plan / a config / a log of ~30 lines.
declare -A max_len=([csv]=8192 [config]=4096 [plan]=8192 [audit]=16384)

build_targets() {
	local log
	log=$(mktemp "${TMPDIR:-/tmp}/payoutd-fuzz-cmake.XXXXXX")
	echo "== configure and build $build (CC=$CC)"
	if ! cmake -S "$repo" -B "$build" -DPAYOUTD_FUZZ=ON -DPAYOUTD_TESTS=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		exit 2
	fi
	rm -f "$log"
	cmake --build "$build" --target fuzz -j "$build_jobs" || exit 2
}
if [[ -n ${NO_BUILD:-} ]]; then
	echo "== using the targets already built in $build"
else
	build_targets
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/payoutd-fuzz.XXXXXX")
mkdir -p "$work/tmp" "$work/logs"
declare -A pid_of=() # target -> pid of its running fuzzer
failed=0

cleanup() {
	local rc=$? t
	trap - EXIT INT TERM
	for t in "${!pid_of[@]}"; do
		kill -TERM "${pid_of[$t]}" 2>/dev/null || true
	done
	for t in "${!pid_of[@]}"; do
		wait "${pid_of[$t]}" 2>/dev/null || true
	done
	if [[ $failed -eq 0 && $rc -eq 0 && -z ${KEEP:-} ]]; then
		rm -rf "$work"
	else
		echo "kept $work (corpora, logs, crash artifacts)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The fuzzers write their scratch files under TMPDIR (fuzz_common.h).
export TMPDIR=$work/tmp
# clear_shadow_mmap_threshold: the readers allocate 1-5 MiB buffers per input;
# zeroing their shadow with memset instead of remapping it halves the system
# time per input (it changes nothing about what ASan detects).
export ASAN_OPTIONS=detect_leaks=1:symbolize=1:clear_shadow_mmap_threshold=1073741824${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:symbolize=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
# stack traces with file:line need llvm-symbolizer (Debian: llvm, or llvm-14's versioned name)
if [[ -z ${ASAN_SYMBOLIZER_PATH:-} ]]; then
	for s in llvm-symbolizer llvm-symbolizer-14; do
		if command -v "$s" >/dev/null; then
			export ASAN_SYMBOLIZER_PATH=$(command -v "$s")
			break
		fi
	done
fi

start() {
	local t=$1 bin=$build/tests/fuzz/fuzz_$1
	mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
	cp -R "$here/corpus/$t/." "$work/corpus/$t/"
	local dict=()
	[[ -f $here/$t.dict ]] && dict=(-dict="$here/$t.dict")
	# timeout(1) is a backstop only: libFuzzer stops itself at -max_total_time
	timeout --signal=TERM --kill-after=30 $((secs + 300)) \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="${max_len[$t]:-8192}" \
		-print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/artifacts/$t/" \
		"$work/corpus/$t" >"$work/logs/$t.log" 2>&1 &
	pid_of[$t]=$!
	echo "== fuzz_$t: ${secs}s (log $work/logs/$t.log)"
}

declare -A rc_of=()
# Waits for one fuzzer (any) to end and records its exit status.
reap() {
	local done_pid= rc=0 t
	wait -n -p done_pid "${pid_of[@]}" || rc=$?
	for t in "${!pid_of[@]}"; do
		if [[ ${pid_of[$t]} == "$done_pid" ]]; then
			rc_of[$t]=$rc
			unset "pid_of[$t]"
		fi
	done
}

for t in "${targets[@]}"; do
	[[ -x $build/tests/fuzz/fuzz_$t ]] || { echo "no target fuzz_$t in $build" >&2; exit 2; }
	while ((${#pid_of[@]} >= jobs)); do
		reap
	done
	start "$t"
done
while ((${#pid_of[@]} > 0)); do
	reap
done

# ---- report -------------------------------------------------------------------
final_stat() { # final_stat LOG NAME: the value of libFuzzer's final "stat::NAME: value" line
	sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}
printf '\n%-12s %10s %8s %7s %8s %8s %8s %7s  %s\n' target runs exec/s cov ft corpus new rss_mb result
for t in "${targets[@]}"; do
	log=$work/logs/$t.log
	last=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$log" | tail -n 1 || true)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	ncorp=$(find "$work/corpus/$t" -type f | wc -l)
	artifacts=$(find "$work/artifacts/$t" -type f | sort)
	result=ok
	if [[ ${rc_of[$t]:-1} -ne 0 || -n $artifacts ]]; then
		result="FAILED (exit ${rc_of[$t]:-?})"
	fi
	printf '%-12s %10s %8s %7s %8s %8s %8s %7s  %s\n' "fuzz_$t" "$(final_stat "$log" number_of_executed_units)" \
		"$(final_stat "$log" average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "$ncorp" \
		"$(final_stat "$log" new_units_added)" "$(final_stat "$log" peak_rss_mb)" "$result"
done
for t in "${targets[@]}"; do
	artifacts=$(find "$work/artifacts/$t" -type f | sort)
	if [[ ${rc_of[$t]:-1} -ne 0 || -n $artifacts ]]; then
		failed=1
		echo
		echo "==== fuzz_$t FAILED (exit ${rc_of[$t]:-?})"
		if [[ -n $artifacts ]]; then
			echo "reproducer(s):"
			sed 's/^/  /' <<<"$artifacts"
			echo "reproduce with: $build/tests/fuzz/fuzz_$t $(head -n 1 <<<"$artifacts")"
		fi
		case ${rc_of[$t]:-} in
		124 | 137) echo "no result: stopped by the $((secs + 300))s backstop (a hang libFuzzer did not catch)" ;;
		esac
		echo "---- last output of fuzz_$t ($work/logs/$t.log):"
		grep -v -E '^(#[0-9]+[[:space:]]|INFO: |stat::)' "$work/logs/$t.log" | tail -n 60 || true
	fi
done
echo
if [[ $failed -ne 0 ]]; then
	echo "fuzz: FAILED; crash artifacts in $work/artifacts"
	exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${secs}s without a finding"
