#!/usr/bin/env bash
# hostile_yaml: the YAML cases of the hostile input catalogue (issue 5,
# docs/hostile-inputs.md), through the real programs: plans through
# `payoutctl rules check`, configs through `payoutd --once` (and `payoutctl
# status`), and both through a running daemon's SIGHUP reload. Alias bombs,
# merge keys, deep nesting, huge scalars, too many nodes, oversized and sparse
# files, duplicate keys, tags, several documents, bytes that are not UTF-8 or
# are control characters, links, FIFOs and devices: each is refused with one
# FILE:LINE:COLUMN: message and exit 3, in bounded time and memory; the
# ledger and the audit log stay as they were; a running daemon keeps its
# config and plan and goes on booking. What YAML allows and the plan needs
# nothing else for (a byte order mark, CRLF, UTF-16, explicit document
# markers) is accepted.
#
# The unit tests (test_yamltree, test_config, test_plan) cover the limits on
# YAML text; this file proves the programs use them.
source "$(dirname "$0")/lib.sh"

# ---- bounds --------------------------------------------------------------------
# A sanitizer build is slower and needs more memory (shadow memory, redzones);
# under valgrind (PAYOUTD_VALGRIND, tests/tools/valgrind-wrap.sh) the peak RSS
# is valgrind's own and is not checked, and times scale with E2E_TIME_SCALE.
SAN=0
grep -aq -e __asan_init -e __ubsan_handle "$PAYOUTD" && SAN=1
VG=0
[[ -n ${PAYOUTD_VALGRIND:-} ]] && VG=1
MAX_RSS_KIB=$((VG ? 0 : SAN ? 800 * 1024 : 200 * 1024)) # 0: not checked
MAX_SECS=$((SAN ? 60 : 15 * ${E2E_TIME_SCALE:-1}))
[[ -x /usr/bin/time ]] || fail "/usr/bin/time is needed (Debian package time, see scripts/install-deps.sh)"

# measured EXPECTED_RC WHAT CMD...: CMD under /usr/bin/time and timeout,
# stdout+stderr in $OUT; fails unless it exits EXPECTED_RC within MAX_SECS
# with a peak RSS below MAX_RSS_KIB.
measured() {
	local want=$1 what=$2 rc rss
	shift 2
	set +e
	/usr/bin/time -f %M -o "$T/rss.txt" timeout "$MAX_SECS" "$@" >"$OUT" 2>&1
	rc=$?
	set -e
	[[ $rc -ne 124 ]] || fail "$what: took longer than $MAX_SECS s"
	[[ $rc -eq $want ]] || fail "$what: exited $rc, expected $want: $(head -c 2000 "$OUT")"
	rss=$(tail -n 1 "$T/rss.txt")
	[[ $rss =~ ^[0-9]+$ ]] || fail "$what: no peak RSS from /usr/bin/time: $(cat "$T/rss.txt")"
	((MAX_RSS_KIB == 0 || rss < MAX_RSS_KIB)) || fail "$what: peak RSS $rss KiB, bound $MAX_RSS_KIB KiB"
	MAXRSS_SEEN=$((rss > ${MAXRSS_SEEN:-0} ? rss : ${MAXRSS_SEEN:-0}))
}

write_config
book_base
cp "$CONF" "$T/good-config.yaml"
cp "$PLAN" "$T/good-plan.yaml"
Y=$T/yaml
mkdir "$Y"

# ---- the hostile YAML texts (used as plans, configs and for reloads) ----------------
# billion laughs: 9 levels of 9 aliases each
{
	echo 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'
	for ((i = 1; i <= 9; i++)); do
		printf 'lol%d: &lol%d [' $i $i
		for ((k = 0; k < 9; k++)); do printf '*lol%d%s' $((i - 1)) "$([[ $k -lt 8 ]] && echo ', ')"; done
		echo ']'
	done
} >"$Y/alias-bomb.yaml"
# a merge key, the common way to reuse a block
{
	echo 'base: &base { pv: 100, gv: 1000 }'
	sed 's/requires: { pv: 100, gv: 1000 }/requires: { <<: *base }/' "$T/good-plan.yaml"
} >"$Y/merge-key.yaml"
# an alias without an anchor
printf 'plan: *nothing\n' >"$Y/alias-only.yaml"
# 100 000 nested flow sequences (200 KB)
{
	printf 'plan: x\nranks: '
	head -c 100000 /dev/zero | tr '\0' '['
	head -c 100000 /dev/zero | tr '\0' ']'
	echo
} >"$Y/deep-flow.yaml"
# 300 nested block mappings
{
	echo 'root:'
	for ((i = 1; i < 300; i++)); do printf '%*sk%d:\n' "$i" '' "$i"; done
	printf '%*sv: 1\n' 300 ''
} >"$Y/deep-block.yaml"
# one 900 000-byte scalar
{
	printf 'plan: "'
	head -c 900000 /dev/zero | tr '\0' x
	printf '"\n'
} >"$Y/huge-scalar.yaml"
# 300 000 one-byte items (within the 1 MiB file limit)
{
	printf 'x: ['
	for ((i = 0; i < 1000; i++)); do printf '1,%.0s' {1..299}; printf '1'; ((i < 999)) && printf ','; done
	echo ']'
} >"$Y/many-nodes.yaml"
# 2 MiB: the plan and lots of comments
{
	cat "$T/good-plan.yaml"
	printf '# padding padding padding padding padding padding padding padding %s\n' {1..30000}
} >"$Y/over-1mib.yaml"
# 10 GiB, sparse: refused by its size before a byte is read
cp "$T/good-plan.yaml" "$Y/sparse-10g.yaml"
truncate -s 10G "$Y/sparse-10g.yaml"
sed 's/^currency: EUR$/currency: EUR\ncurrency: USD/' "$T/good-plan.yaml" >"$Y/dup-top.yaml"
sed 's/requires: { pv: 100, gv: 1000 }/requires: { pv: 100, gv: 1000, pv: 200 }/' "$T/good-plan.yaml" >"$Y/dup-nested.yaml"
sed 's/^plan: Example Unilevel 2026$/plan: !!str Example Unilevel 2026/' "$T/good-plan.yaml" >"$Y/tag-str.yaml"
sed 's/^caps:$/caps: !custom/' "$T/good-plan.yaml" >"$Y/tag-custom.yaml"
sed 's/^plan: Example Unilevel 2026$/plan: !!python\/object\/apply:os.system ["touch PWNED"]/' "$T/good-plan.yaml" >"$Y/tag-python.yaml"
{ cat "$T/good-plan.yaml"; echo '---'; cat "$T/good-plan.yaml"; } >"$Y/two-documents.yaml"
{ cat "$T/good-plan.yaml"; echo '---'; } >"$Y/trailing-document.yaml"
sed 's/^plan: Example Unilevel 2026$/plan: Example \xff Unilevel/' "$T/good-plan.yaml" >"$Y/invalid-utf8.yaml"
sed 's/^plan: Example Unilevel 2026$/plan: Example\x00Unilevel/' "$T/good-plan.yaml" >"$Y/nul-byte.yaml"
sed 's/^plan: Example Unilevel 2026$/plan: Example\x1bUnilevel/' "$T/good-plan.yaml" >"$Y/escape-char.yaml"
# files that are not regular files
ln -s "$T/good-plan.yaml" "$Y/link.yaml"
mkfifo "$Y/fifo.yaml"
mkdir "$Y/folder.yaml"

# plan cases: name | expected message (after "PATH:")
PLAN_CASES=(
	'alias-bomb|1:7: anchors and aliases are not allowed'
	'merge-key|1:7: anchors and aliases are not allowed'
	'alias-only|1:7: anchors and aliases are not allowed'
	'deep-flow|2:39: nested deeper than 32 levels'
	'deep-block|33:33: nested deeper than 32 levels'
	'huge-scalar|1:7: value is longer than 65536 bytes'
	'many-nodes|1:399999: more than 200000 nodes'
	'over-1mib|1:1: file is larger than 1048576 bytes'
	'sparse-10g|1:1: file is larger than 1048576 bytes'
	'dup-top|4:1: duplicate key "currency" (first at line 3)'
	'dup-nested|13:36: duplicate key "pv" (first at line 13)'
	'tag-str|2:7: tags are not allowed ("tag:yaml.org,2002:str")'
	'tag-custom|41:7: tags are not allowed ("!custom")'
	'tag-python|2:7: tags are not allowed ("tag:yaml.org,2002:python/object/apply:os.system")'
	'two-documents|47:1: more than one document (only one is allowed)'
	'trailing-document|47:1: more than one document (only one is allowed)'
	'invalid-utf8|2:15: invalid leading UTF-8 octet'
	'nul-byte|2:14: control characters are not allowed'
	'escape-char|2:14: control characters are not allowed'
	'link|1:1: is a symbolic link (not followed)'
	'fifo|1:1: not a regular file'
	'folder|1:1: not a regular file'
)

# ==== 1. plans: payoutctl rules check ===================================================
for c in "${PLAN_CASES[@]}"; do
	name=${c%%|*}
	want="$Y/$name.yaml:${c#*|}"
	measured 3 "rules check $name.yaml" "$PAYOUTCTL" rules check "$Y/$name.yaml"
	assert_contains "$OUT" "payoutctl: $want" "rules check $name.yaml"
	assert_contains "$OUT" "payoutctl: plan $Y/$name.yaml is invalid (1 problem)" "rules check $name.yaml"
	assert_eq 2 "$(wc -l <"$OUT")" "lines printed by rules check $name.yaml"
done
measured 3 "rules check /dev/zero" "$PAYOUTCTL" rules check /dev/zero
assert_contains "$OUT" "payoutctl: /dev/zero:1:1: not a regular file"
assert_eq "0" "$(find "$T" / -maxdepth 1 -name PWNED 2>/dev/null | wc -l)" "files made by a !!python tag"

# accepted: what YAML allows (a BOM, CRLF, UTF-16 with its BOM, document markers)
printf '\xef\xbb\xbf' >"$Y/bom.yaml"
cat "$T/good-plan.yaml" >>"$Y/bom.yaml"
sed 's/$/\r/' "$T/good-plan.yaml" >"$Y/crlf.yaml"
iconv -f UTF-8 -t UTF-16 "$T/good-plan.yaml" >"$Y/utf16.yaml"
{ echo '---'; cat "$T/good-plan.yaml"; echo '...'; } >"$Y/markers.yaml"
for name in bom crlf utf16 markers; do
	measured 0 "rules check $name.yaml" "$PAYOUTCTL" rules check "$Y/$name.yaml"
	assert_contains "$OUT" "$Y/$name.yaml: valid (plan \"Example Unilevel 2026\", EUR, monthly periods" "rules check $name.yaml"
done

# ==== 2. configs: payoutd --once and payoutctl refuse to start, and touch nothing ==================
SNAPSHOT=$(ledger_dump)
audit_before=$(cat "$AUDIT")
good=$(cat "$T/good-config.yaml")
mkconf() { # NAME: a config in $T (so that its relative paths are the good ones)
	cat >"$T/$1.yaml"
}
{
	echo "$good"
	echo 'x: &grace { grace: 3d }'
	echo 'y: *grace'
} | mkconf c-alias
{
	echo "$good" | sed 's/^close:$/close: \&c/'
	echo 'other: *c'
} | mkconf c-anchor
{ echo "$good"; echo '  grace: 4d'; } | mkconf c-dup
echo "$good" | sed 's/^close:$/close: !!map/' | mkconf c-tag
{ echo "$good"; echo '---'; echo "$good"; } | mkconf c-two-documents
{
	echo "$good"
	printf 'inputs: '
	head -c 1000 /dev/zero | tr '\0' '['
	head -c 1000 /dev/zero | tr '\0' ']'
	echo
} | mkconf c-deep
{
	echo "$good" | sed '/^inbox:/d'
	printf 'inbox: "'
	head -c 70000 /dev/zero | tr '\0' a
	printf '"\n'
} | mkconf c-huge-scalar
{ echo "$good"; printf '# padding padding padding padding padding padding padding padding %s\n' {1..30000}; } | mkconf c-over-1mib
echo "$good" >"$T/c-sparse.yaml"
truncate -s 10G "$T/c-sparse.yaml"
printf '%s\n' "$good" | sed 's/^plan: plan.yaml$/plan: \/dev\/zero/' | mkconf c-plan-dev-zero
mkfifo "$T/c-fifo.yaml"
ln -s good-config.yaml "$T/c-link.yaml"
cp "$Y/alias-bomb.yaml" "$T/c-bomb-plan.yaml"
echo "$good" | sed 's/^plan: plan.yaml$/plan: c-bomb-plan.yaml/' | mkconf c-plan-bomb
printf '%s\n' "$good" | sed 's/^close:$/close: \x00/' | mkconf c-nul

CONFIG_CASES=(
	'c-alias|10:4: anchors and aliases are not allowed'
	'c-anchor|8:8: anchors and aliases are not allowed'
	'c-dup|10:3: duplicate key "grace" (first at line 9)'
	'c-tag|8:8: tags are not allowed ("tag:yaml.org,2002:map")'
	'c-two-documents|10:1: more than one document (only one is allowed)'
	'c-deep|10:40: nested deeper than 32 levels'
	'c-huge-scalar|9:8: value is longer than 65536 bytes'
	'c-over-1mib|1:1: file is larger than 1048576 bytes'
	'c-sparse|1:1: file is larger than 1048576 bytes'
	'c-fifo|1:1: not a regular file'
	'c-link|1:1: is a symbolic link (not followed)'
	'c-nul|8:8: control characters are not allowed'
)
for c in "${CONFIG_CASES[@]}"; do
	name=${c%%|*}
	want="$T/$name.yaml:${c#*|}"
	measured 3 "payoutd -c $name.yaml --once" "$PAYOUTD" -c "$T/$name.yaml" --once
	assert_contains "$OUT" "payoutd: $want" "payoutd -c $name.yaml"
	assert_contains "$OUT" "payoutd: config $T/$name.yaml is invalid (1 problem)" "payoutd -c $name.yaml"
	measured 3 "payoutctl -c $name.yaml status" "$PAYOUTCTL" -c "$T/$name.yaml" status
	assert_contains "$OUT" "payoutctl: $want" "payoutctl -c $name.yaml status"
done
# a valid config whose plan is hostile
measured 3 "payoutd -c c-plan-bomb.yaml --once" "$PAYOUTD" -c "$T/c-plan-bomb.yaml" --once
assert_contains "$OUT" "payoutd: $T/c-bomb-plan.yaml:1:7: anchors and aliases are not allowed"
assert_contains "$OUT" "payoutd: plan $T/c-bomb-plan.yaml is invalid (1 problem)"
measured 3 "payoutd -c c-plan-dev-zero.yaml --once" "$PAYOUTD" -c "$T/c-plan-dev-zero.yaml" --once
assert_contains "$OUT" "payoutd: /dev/zero:1:1: not a regular file"
measured 3 "payoutd -c /dev/zero --once" "$PAYOUTD" -c /dev/zero --once
assert_contains "$OUT" "payoutd: /dev/zero:1:1: not a regular file"
assert_eq "$SNAPSHOT" "$(ledger_dump)" "the ledger after refused configs"
assert_eq "$audit_before" "$(cat "$AUDIT")" "the audit log after refused configs"

# ==== 3. reloads: a running daemon keeps its config and plan ======================================
cp "$T/good-config.yaml" "$CONF"
cp "$T/good-plan.yaml" "$PLAN"
start_daemon
loads=$(count_lines "$AUDIT" '"event":"plan_loaded"')
# replace FILE SOURCE: FILE becomes a copy of SOURCE (or a link/FIFO), atomically
replace() {
	rm -rf "$1.new"
	if [[ -L $2 || -p $2 ]]; then
		cp -a "$2" "$1.new"
	else
		cp "$2" "$1.new"
	fi
	mv -T "$1.new" "$1"
}
failed=0
# reload_refused WHAT TEXT: SIGHUP; waits for the next "reload failed"; the
# log holds TEXT; the daemon is alive; no plan_loaded line was added
reload_refused() {
	failed=$((failed + 1))
	kill -HUP "$DAEMON_PID"
	_failed_reloads() { (($(count_lines "$LOG" "reload failed") >= failed)); }
	wait_for 15 "the refused reload of $1" _failed_reloads
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "payoutd died on the reload of $1"
	assert_contains "$LOG" "$2" "payoutd log after the reload of $1"
	assert_eq "$loads" "$(count_lines "$AUDIT" '"event":"plan_loaded"')" "plan_loaded lines after the reload of $1"
}
for name in alias-bomb merge-key deep-flow huge-scalar many-nodes sparse-10g dup-nested tag-python two-documents invalid-utf8 link fifo; do
	replace "$PLAN" "$Y/$name.yaml"
	for c in "${PLAN_CASES[@]}"; do
		[[ ${c%%|*} == "$name" ]] && want=${c#*|}
	done
	reload_refused "plan $name.yaml" "payoutd: $PLAN:$want"
done
replace "$PLAN" "$T/good-plan.yaml"
for name in c-alias c-dup c-tag c-two-documents c-deep c-over-1mib c-nul; do
	replace "$CONF" "$T/$name.yaml"
	for c in "${CONFIG_CASES[@]}"; do
		[[ ${c%%|*} == "$name" ]] && want=${c#*|}
	done
	reload_refused "config $name.yaml" "payoutd: $CONF:$want"
done
replace "$CONF" "$T/c-plan-bomb.yaml"
reload_refused "config with a hostile plan" "payoutd: $T/c-bomb-plan.yaml:1:7: anchors and aliases are not allowed"
assert_eq "$failed" "$(count_lines "$LOG" "reload failed: keeping the running config and plan")" "failed reloads logged"
# it still books, under the plan it started with
replace "$CONF" "$T/good-config.yaml"
printf '%s\n' 'sale_id,distributor_id,date,amount' 'Y1,A1,2026-11-03,10.00' | drop sales-after-reloads.csv
_booked() { [[ $(q "SELECT count(*) FROM files WHERE name = 'sales-after-reloads.csv'") == 1 ]]; }
wait_for 15 "sales-after-reloads.csv to be booked" _booked
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DAEMON_PID/status")
((MAX_RSS_KIB == 0 || hwm < MAX_RSS_KIB)) || fail "daemon peak RSS $hwm KiB after $failed hostile reloads, bound $MAX_RSS_KIB KiB"
stop_daemon
assert_eq 0 "$RC" "exit status of the daemon"
echo "$failed hostile reloads refused; daemon peak RSS $hwm KiB; largest peak RSS of the refusing runs ${MAXRSS_SEEN} KiB"
run "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "Example Unilevel 2026" "plan in force"
audit_verify_ok
pass
