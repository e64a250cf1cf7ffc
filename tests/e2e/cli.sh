#!/usr/bin/env bash
# cli: options and exit statuses of payoutd and payoutctl (0 ok, 1 failure,
# 2 usage, 3 invalid input, 5 audit chain broken); `rules check` and the
# config report every problem as FILE:LINE:COLUMN; `audit verify` names the
# first bad line of an edited, cut or reordered log, and payoutd rebuilds a
# deleted log from the ledger.
source "$(dirname "$0")/lib.sh"

# expect_rc WANT CMD...: runs CMD, fails unless it exits WANT.
expect_rc() {
	local want=$1
	shift
	run "$@"
	[[ $RC -eq $want ]] || fail "$* exited $RC, expected $want; output:
$(cat "$OUT")"
}
# expect_line REGEX: a line of the last output matches REGEX (ERE).
expect_line() {
	grep -Eq -- "$1" "$OUT" || fail "output: expected a line matching /$1/, found:
$(cat "$OUT")"
}

# ---- --help, --version, usage errors ---------------------------------------------
for prog in "$PAYOUTD" "$PAYOUTCTL"; do
	name=$(basename "$prog")
	expect_rc 0 "$prog" --help
	assert_contains "$OUT" "Usage: $name" "$name --help"
	expect_rc 0 "$prog" -h
	assert_contains "$OUT" "Usage: $name" "$name -h"
	expect_rc 0 "$prog" --version
	expect_line "^$name [0-9]+\.[0-9]+\.[0-9]+$"
	expect_rc 0 "$prog" -V
	expect_line "^$name [0-9]+\.[0-9]+\.[0-9]+$"
	expect_rc 2 "$prog" --no-such-option
	assert_contains "$OUT" "Usage: $name" "$name with an unknown option"
	expect_rc 2 "$prog" -c
done
expect_rc 2 "$PAYOUTD" --once extra-argument
expect_rc 2 "$PAYOUTCTL"
assert_contains "$OUT" "a command is required"
expect_rc 2 "$PAYOUTCTL" frobnicate
assert_contains "$OUT" 'unknown command "frobnicate"'
expect_rc 2 "$PAYOUTCTL" audit
expect_rc 2 "$PAYOUTCTL" rules check a.yaml b.yaml

# ---- rules check ------------------------------------------------------------------
expect_rc 0 "$PAYOUTCTL" rules check "$SRCDIR/demo/plan.yaml"
assert_contains "$OUT" "$SRCDIR/demo/plan.yaml: valid (plan \"Example Unilevel 2026\", EUR, monthly periods, 1 promotion, sha256 $(sha256sum <"$SRCDIR/demo/plan.yaml" | cut -d' ' -f1))"

write_config
expect_rc 0 "$PAYOUTCTL" -c "$CONF" rules check
assert_contains "$OUT" "$PLAN: valid"

# three problems in one plan: all three are reported, each with its place
BAD=$T/bad-plan.yaml
sed -e 's/^currency: EUR$/currency: EURO/' \
	-e 's/^    pv_multiplier: 2$/    pv_multiplier: 2.0000001/' \
	-e 's/^commissions:$/comission:/' "$SRCDIR/demo/plan.yaml" >"$BAD"
cur_line=$(grep -n '^currency: EURO$' "$BAD" | cut -d: -f1)
mult_line=$(grep -n 'pv_multiplier: 2.0000001' "$BAD" | cut -d: -f1)
key_line=$(grep -n '^comission:$' "$BAD" | cut -d: -f1)
expect_rc 3 "$PAYOUTCTL" rules check "$BAD"
expect_line "^payoutctl: $BAD:$key_line:1: unknown key \"comission\" in the plan \(did you mean \"commissions\"\?\)$"
expect_line "^payoutctl: $BAD:$cur_line:11: currency: \"EURO\" is not a three-letter ISO 4217 code"
expect_line "^payoutctl: $BAD:$mult_line:[0-9]+: pv_multiplier: \"2.0000001\": more than 6 decimals"
expect_line "plan $BAD is invalid \([0-9]+ problems\)"
# every diagnostic names FILE:LINE:COLUMN
diags=$(grep -c "^payoutctl: $BAD:[0-9]*:[0-9]*: " "$OUT" || true)
((diags >= 3)) || fail "rules check: expected at least 3 FILE:LINE:COLUMN lines, found $diags:
$(cat "$OUT")"
expect_rc 3 "$PAYOUTCTL" rules check "$T/no-such-plan.yaml"
assert_contains "$OUT" "$T/no-such-plan.yaml"

# payoutd refuses to start on that plan, with the same messages, and creates nothing
cp "$BAD" "$PLAN"
expect_rc 3 "$PAYOUTD" -c "$CONF" --once
expect_line "^payoutd: $PLAN:$key_line:1: unknown key \"comission\" in the plan \(did you mean \"commissions\"\?\)$"
[[ ! -e $DB ]] || fail "payoutd created the ledger although the plan is invalid"
cp "$SRCDIR/demo/plan.yaml" "$PLAN"

# ---- an invalid config ----------------------------------------------------------------
BADCONF=$T/bad-config.yaml
cat >"$BADCONF" <<'EOF'
plan: plan.yaml
inbx: state/inbox
close:
  grace: 3 days
inputs:
  - match: "umsatz*.csv"
    kind: sales
    decimal: ";"
    encoding: ebcdic
    columns:
      sale_idd: Belegnummer
EOF
expect_rc 3 "$PAYOUTD" -c "$BADCONF" --once
expect_line "^payoutd: $BADCONF:2:1: unknown key \"inbx\" in the config \(did you mean \"inbox\"\?\)$"
expect_line "^payoutd: $BADCONF:4:10: grace: \"3 days\" is not a duration like 3d or 12h$"
expect_line "^payoutd: $BADCONF:8:14: decimal: \";\" is not \"\.\" or \",\"$"
expect_line "^payoutd: $BADCONF:9:15: encoding: \"ebcdic\" is not one of "
expect_line "^payoutd: $BADCONF:11:7: columns: \"sale_idd\" is not a sales column \(did you mean \"sale_id\"\?\)$"
expect_line "config $BADCONF is invalid \(5 problems\)"
[[ ! -e $T/state/ledger.db ]] || fail "payoutd created a ledger from an invalid config"
# payoutctl reads the same config and refuses it the same way
expect_rc 3 "$PAYOUTCTL" -c "$BADCONF" status
expect_line "^payoutctl: $BADCONF:4:10: grace: "
printf 'close:\n  grace: 12x\n' >"$BADCONF"
expect_rc 3 "$PAYOUTD" -c "$BADCONF" --once
expect_line "^payoutd: $BADCONF:2:10: grace: \"12x\" is not a duration like 3d or 12h$"
expect_rc 3 "$PAYOUTD" -c "$T/no-such-config.yaml" --once
assert_contains "$OUT" "$T/no-such-config.yaml"

# ---- status before anything was booked ----------------------------------------------------
expect_rc 0 "$PAYOUTCTL" -c "$CONF" status
assert_contains "$OUT" "does not exist yet"

# ---- audit verify -----------------------------------------------------------------------
book_base
run_once # a second start: more lines
expect_rc 0 "$PAYOUTCTL" -c "$CONF" audit verify
n=$(wc -l <"$AUDIT")
assert_contains "$OUT" "$AUDIT: intact, $n lines"
((n >= 8)) || fail "audit.log: expected at least 8 lines, found $n"
cp "$AUDIT" "$T/audit.orig"

# a value edited in the middle (line 3: the first file_booked)
sed -n 3p "$AUDIT" | grep -qF '"event":"file_booked"' || fail "audit.log line 3: expected a file_booked line: $(sed -n 3p "$AUDIT")"
sed -i '3s/"rows":3,/"rows":4,/' "$AUDIT"
cmp -s "$AUDIT" "$T/audit.orig" && fail "the edit of audit.log line 3 changed nothing"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:3: "

# the last line deleted: the chain itself is fine, but the ledger knows one line more
head -n $((n - 1)) "$T/audit.orig" >"$AUDIT"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:$n: the log ends after line $((n - 1)) but the ledger recorded $n lines"

# a line dropped in the middle, and two lines swapped
sed 4d "$T/audit.orig" >"$AUDIT"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:4: "
{ sed -n 1,3p "$T/audit.orig"; sed -n 5p "$T/audit.orig"; sed -n 4p "$T/audit.orig"; sed -n '6,$p' "$T/audit.orig"; } >"$AUDIT"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:4: "
# a last line without its newline
head -c -1 "$T/audit.orig" >"$AUDIT"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:$n: "

# a forged line appended with a correct hash chain: the chain is fine, but
# the ledger never recorded that line
prev=$(tail -n 1 "$T/audit.orig" | grep -o '"hash":"[0-9a-f]*"' | cut -d'"' -f4)
body='{"seq":'$((n + 1))',"time":"2026-11-30T12:00:00Z","event":"file_booked","name":"forged.csv","prev":"'$prev'"'
forged="$body,\"hash\":\"$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)\"}"
{ cat "$T/audit.orig"; echo "$forged"; } >"$AUDIT"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:$((n + 1)): the ledger recorded only $n lines"

# the whole log rewritten with a recomputed chain and the same number of
# lines (line 2's time changed): the chain is consistent, but line 2 is not
# the one the ledger recorded
prev=0000000000000000000000000000000000000000000000000000000000000000
: >"$AUDIT"
i=0
while IFS= read -r line; do
	i=$((i + 1))
	body=${line%,\"hash\":*}
	body=$(printf '%s' "$body" | sed -E 's/"prev":"[0-9a-f]{64}"$/"prev":"'$prev'"/')
	[[ $i -eq 2 ]] && body=$(printf '%s' "$body" | sed -E 's/"time":"[^"]*"/"time":"2001-01-01T00:00:00Z"/')
	prev=$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)
	printf '%s,"hash":"%s"}\n' "$body" "$prev" >>"$AUDIT"
done <"$T/audit.orig"
expect_rc 5 "$PAYOUTCTL" -c "$CONF" audit verify
expect_line "^payoutctl: audit chain broken: $AUDIT:2: the line differs from the one the ledger recorded"

# intact again
cp "$T/audit.orig" "$AUDIT"
expect_rc 0 "$PAYOUTCTL" -c "$CONF" audit verify

# payoutd appends what the file lacks: after the cut last line it catches up
head -n $((n - 1)) "$T/audit.orig" >"$AUDIT"
run_once
expect_rc 0 "$PAYOUTCTL" -c "$CONF" audit verify
cmp -s <(head -n "$n" "$AUDIT") "$T/audit.orig" || fail "audit.log after the catch-up: the first $n lines differ from the original"

# audit.log deleted: verify cannot read it, payoutd rebuilds it from the ledger
cp "$AUDIT" "$T/audit.orig"
n=$(wc -l <"$AUDIT")
rm "$AUDIT"
expect_rc 1 "$PAYOUTCTL" -c "$CONF" audit verify
assert_contains "$OUT" "$AUDIT"
run_once
expect_rc 0 "$PAYOUTCTL" -c "$CONF" audit verify
assert_eq "$(q 'SELECT count(*) FROM audit')" "$(wc -l <"$AUDIT")" "lines of the rebuilt audit.log"
cmp -s <(head -n "$n" "$AUDIT") "$T/audit.orig" || fail "rebuilt audit.log: the first $n lines differ from the deleted log"
assert_eq '"event":"stopped"' "$(tail -n 1 "$AUDIT" | grep -o '"event":"stopped"')" "last line of the rebuilt log"

# an audit.log whose last line is not the ledger's (another ledger's log, or a
# forged hash): payoutd refuses to append to it and changes nothing
cp "$AUDIT" "$T/audit.good"
sed -n 1,2p "$T/audit.good" | sed -E '2s/"hash":"[0-9a-f]{64}"/"hash":"'"$(printf 'a%.0s' {1..64})"'"/' >"$AUDIT"
cp "$AUDIT" "$T/audit.forged"
expect_rc 1 "$PAYOUTD" -c "$CONF" --once
assert_contains "$OUT" "audit log $AUDIT line 2 differs from the ledger's copy"
cmp -s "$AUDIT" "$T/audit.forged" || fail "payoutd changed an audit.log that is not the ledger's"
cp "$T/audit.good" "$AUDIT"
expect_rc 0 "$PAYOUTCTL" -c "$CONF" audit verify
pass
