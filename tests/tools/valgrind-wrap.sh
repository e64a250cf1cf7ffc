#!/usr/bin/env bash
# tests/tools/valgrind-wrap.sh - the end-to-end tests under valgrind memcheck.
#
#   valgrind-wrap.sh run-test SCRIPT [ARGS...]
#       Runs one e2e test (tests/e2e/NAME.sh) with PAYOUTD and PAYOUTCTL
#       replaced by two small scripts that run the real programs under
#       memcheck (PAYOUTD_VALGRIND=1 is exported: tests/e2e/lib.sh then
#       allows more time), then reads every valgrind log the programs wrote.
#       Fails (exit 1, printing the offending logs) when the test failed or
#       when any log reports an error or a leak, whatever the programs' exit
#       statuses were. ctest runs it for the tests labelled `valgrind`
#       (cmake -DPAYOUTD_VALGRIND=ON; tests/valgrind.sh does it all).
#       Environment: PAYOUTD, PAYOUTCTL (the real programs, as for any e2e
#       test); VALGRIND_LOGS (where the logs go; default a fresh folder
#       under ${TMPDIR:-/tmp}; kept when the test fails); VALGRIND_EXTRA
#       (more valgrind options, e.g. --track-origins=yes).
#
#   valgrind-wrap.sh exec PROGRAM [ARGS...]
#       What the two scripts run: exec's valgrind on PROGRAM (same process
#       id, so `kill -9 $!`, `wait` and lock owners see the program itself),
#       its log in $VALGRIND_LOGS/NAME.PID.NANOSECONDS.log.
#
# The verdict on a log:
#   - "ERROR SUMMARY: N errors" with N > 0 (leaks count as errors: see
#     --errors-for-leak-kinds), or a "definitely/indirectly/possibly lost"
#     total above 0: failure.
#   - No ERROR SUMMARY line: the process was killed with SIGKILL (kill9.sh,
#     crash points, a test's cleanup), which lets no process report its leaks.
#     Not a failure by itself; but any error valgrind had already reported
#     before the kill (a stack trace in the log) is one.
#   - A process ended by another signal (SIGTERM without a handler, SIGABRT,
#     `timeout`) still reports, and is judged like any other.
#   - "still reachable" blocks (memory that libraries such as OpenSSL,
#     libsystemd or glibc keep for the life of a process) are not reported
#     and not counted: only memory that nothing points to any more is a leak.
#   - valgrind's own complaints that change what the program sees (an
#     unhandled syscall or ioctl, a bad file descriptor for a syscall) fail too.
set -euo pipefail

self=$(readlink -f "${BASH_SOURCE[0]}")
tools=$(dirname "$self")

vg_exec() {
	local prog=$1
	shift
	: "${VALGRIND_LOGS:?VALGRIND_LOGS must name the folder for the valgrind logs}"
	# a distinct name per process even if a PID comes round again
	export PAYOUTD_VG_SEQ=${EPOCHREALTIME/[.,]/}
	# shellcheck disable=SC2086 # VALGRIND_EXTRA: options, split on purpose
	exec valgrind --tool=memcheck \
		--leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 --track-fds=no --child-silent-after-fork=yes \
		--num-callers=40 --gen-suppressions=all \
		--suppressions="$tools/valgrind.supp" \
		${VALGRIND_EXTRA:-} \
		--log-file="$VALGRIND_LOGS/${prog##*/}.%p.%q{PAYOUTD_VG_SEQ}.log" \
		"$prog" "$@"
}

# check_logs DIR: prints the verdict on every log; exit 1 if any is bad.
check_logs() {
	local dir=$1 log bad=0 n=0 killed=0 why
	shopt -s nullglob
	for log in "$dir"/*.log; do
		n=$((n + 1))
		why=
		if grep -qE '^==[0-9]+== ERROR SUMMARY: ' "$log"; then
			if grep -qE '^==[0-9]+== ERROR SUMMARY: [1-9]' "$log"; then
				why="errors reported"
			elif grep -qE '^==[0-9]+== +(definitely|indirectly|possibly) lost: [1-9]' "$log"; then
				why="memory leaked"
			fi
		else
			killed=$((killed + 1))
			# killed (SIGKILL) before its summary: errors already reported still count
			if grep -qE '^==[0-9]+== +(at|by) 0x' "$log"; then
				why="errors reported before the process was killed"
			fi
		fi
		if [[ -z $why ]] && grep -qiE '^==[0-9]+== .*(unhandled (syscall|ioctl)|is not supported|bad file descriptor)' "$log"; then
			why="valgrind could not run the program faithfully"
		fi
		if [[ -n $why ]]; then
			bad=$((bad + 1))
			echo "valgrind: $log: $why:" >&2
			head -n 400 "$log" | sed 's/^/    /' >&2
		fi
	done
	echo "valgrind: $n processes checked, $killed killed before their summary (SIGKILL), $bad with errors or leaks"
	((bad == 0))
}

run_test() {
	local script=$1 rc=0 bin own_logs=
	shift
	: "${PAYOUTD:?PAYOUTD must name the payoutd binary}"
	: "${PAYOUTCTL:?PAYOUTCTL must name the payoutctl binary}"
	command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh)" >&2; exit 1; }
	if [[ -z ${VALGRIND_LOGS:-} ]]; then
		VALGRIND_LOGS=$(mktemp -d "${TMPDIR:-/tmp}/valgrind-$(basename "$script" .sh).XXXXXX")
		own_logs=1
	else # the logs of the previous run go
		mkdir -p "$VALGRIND_LOGS"
		rm -f "$VALGRIND_LOGS"/*.log
	fi
	VALGRIND_LOGS=$(cd "$VALGRIND_LOGS" && pwd)
	export VALGRIND_LOGS
	bin=$VALGRIND_LOGS/bin
	mkdir -p "$bin"
	# the stand-ins keep the programs' names (cli.sh checks "Usage: payoutd")
	local p real
	for p in PAYOUTD PAYOUTCTL; do
		real=$(readlink -f "${!p}")
		[[ -x $real ]] || { echo "valgrind-wrap: $p=${!p} is not an executable" >&2; exit 1; }
		printf '#!/bin/sh\nexec "%s" exec "%s" "$@"\n' "$self" "$real" >"$bin/${real##*/}"
		chmod +x "$bin/${real##*/}"
		export "$p=$bin/${real##*/}"
	done
	export PAYOUTD_VALGRIND=1
	# kill9.sh: each kill point is a run under valgrind (seconds each); a
	# few of them cover its recovery paths (the plain build runs 60)
	export KILL9_POINTS=${KILL9_POINTS:-${PAYOUTD_VALGRIND_KILL9_POINTS:-4}}
	bash "$script" "$@" || rc=$?
	if ! check_logs "$VALGRIND_LOGS"; then
		echo "valgrind: $(basename "$script"): errors or leaks (logs kept in $VALGRIND_LOGS)" >&2
		exit 1
	fi
	if ((rc != 0)); then
		echo "valgrind: $(basename "$script") exited $rc (logs kept in $VALGRIND_LOGS)" >&2
		exit "$rc"
	fi
	[[ -n $own_logs ]] && rm -rf "$VALGRIND_LOGS"
	exit 0
}

case ${1:-} in
exec)
	shift
	vg_exec "$@"
	;;
run-test)
	shift
	run_test "$@"
	;;
check)
	shift
	check_logs "${1:?usage: valgrind-wrap.sh check LOGDIR}"
	;;
*)
	echo "usage: valgrind-wrap.sh run-test SCRIPT [ARGS...] | exec PROGRAM [ARGS...] | check LOGDIR" >&2
	exit 2
	;;
esac
