#!/usr/bin/env bash
# placement: the placement tree of binary plans (SPEC 6.8, 11.24;
# docs/placement.md), booked through payoutd --once and read back with
# sqlite3. Given placements are kept and claim their slots first, the others
# go to the first free slot breadth-first, left before right, under their
# sponsor; every broken rule rejects the whole file naming line, column
# and value, and leaves the ledger as it was.
source "$(dirname "$0")/lib.sh"

# placements: "id:parent.leg/auto" of every distributor by id ("-": a root)
placements() {
	q "SELECT group_concat(id || ':' || coalesce(placement_id || '.' || leg, '-') || '/' || placement_auto, ' ')
	   FROM (SELECT * FROM distributors ORDER BY id)"
}

write_config
H='distributor_id,sponsor_id,name,join_date,placement_id,leg'

# ---- 1. automatic placement: a sponsor with three recruits ----------------
# R is a root (no sponsor, no placement): it starts its own tree.
# A -> R.left, B -> R.right, C -> A.left (R is full; A is first in breadth order).
drop distributors-1.csv <<EOF
$H
R,,Rita,2025-01-01,,
A,R,Anna,2025-01-02,,
B,R,Bea,2025-01-03,,
C,R,Carl,2025-01-04,,
EOF
run_once
assert_eq "A:R.left/1 B:R.right/1 C:A.left/1 R:-/1" "$(placements)" "placements after file 1"

# ---- 2. given placements first, a forward reference, a repeat ------------
# Row 3 (E) claims A.right before row 2 (D) is placed automatically, so D,
# passing over R (A, B) and A (C, E), lands at B.left. F names G, defined two
# rows later, as its placement (and sponsor): F -> G.left as given. G then goes
# to the next free slot under R: B.right. A repeats its automatic placement
# (R, left): accepted, and it stays automatic.
drop distributors-2.csv <<EOF
$H
D,R,Dora,2025-02-01,,
E,R,Emil,2025-02-02,A,right
F,G,Fritz,2025-02-03,G,left
G,R,Gina,2025-02-04,,
A,R,Anna,2025-01-02,R,left
EOF
run_once
assert_eq "A:R.left/1 B:R.right/1 C:A.left/1 D:B.left/1 E:A.right/0 F:G.left/0 G:B.right/1 R:-/1" \
	"$(placements)" "placements after file 2"

# ---- 3. a sponsor defined later, a second tree, later rows ----------------
# H's sponsor I comes on the next row: H waits, and is placed right after I,
# before J: I -> C.left (C has no children), H -> I.left, J -> I.right.
# Z has neither sponsor nor placement: a second tree; Y (by Z) -> Z.left.
# B names no placement, E repeats its given one: both accepted, unchanged.
drop distributors-3.csv <<EOF
$H
H,I,Hans,2025-03-01,,
I,C,Ida,2025-03-02,,
J,I,Jan,2025-03-03,,
Z,,Zoe,2025-03-04,,
Y,Z,Yann,2025-03-05,,
B,R,Bea B.,2025-01-03,,
E,R,Emil,2025-02-02,A,right
EOF
run_once
assert_eq "A:R.left/1 B:R.right/1 C:A.left/1 D:B.left/1 E:A.right/0 F:G.left/0 G:B.right/1 H:I.left/1 I:C.left/1 J:I.right/1 R:-/1 Y:Z.left/1 Z:-/1" \
	"$(placements)" "placements after file 3"
assert_eq "Bea B." "$(q "SELECT name FROM distributors WHERE id = 'B'")" "B updated by a row without placement"

# a file without placement columns at all changes no placement
drop distributors-4.csv <<'EOF'
distributor_id,name,join_date
E,Emil E.,2025-02-02
EOF
run_once
assert_eq "A.right/0" "$(q "SELECT placement_id || '.' || leg || '/' || placement_auto FROM distributors WHERE id = 'E'")" \
	"E after a file without placement columns"

# ---- 4. row errors: the whole file is rejected, the ledger unchanged -----
# reject NAME MESSAGE: books $INBOX/NAME (dropped by the caller), which must be
# rejected with MESSAGE in its report and nothing booked.
reject() {
	local name=$1 msg=$2 before after
	before=$(ledger_dump)
	run_once
	assert_rejected "$name" "$msg"
	after=$(ledger_dump)
	[[ $before == "$after" ]] || fail "$name: the ledger changed although the file was rejected"
	assert_eq "0" "$(q "SELECT count(*) FROM distributors WHERE id LIKE 'N%'")" "$name: new distributors booked"
}

# an occupied slot within the file: N2 wants D.left, which N1 claimed on line 2
drop distributors-bad-slot-file.csv <<EOF
$H
N1,R,Nina,2025-04-01,D,left
N2,R,Nils,2025-04-01,D,left
N3,R,Nora,2025-04-01,,
EOF
reject distributors-bad-slot-file.csv 'distributors-bad-slot-file.csv:3:5: column "placement_id": value "D": the left slot under D is already taken by N1 on line 2'

# an occupied slot in the ledger: R.left holds A
drop distributors-bad-slot-ledger.csv <<EOF
$H
N3,R,Nora,2025-04-01,,
N1,R,Nina,2025-04-01,R,left
EOF
reject distributors-bad-slot-ledger.csv 'distributors-bad-slot-ledger.csv:3:5: column "placement_id": value "R": the left slot under R is already taken by A in the ledger'

# an unknown placement (neither in the ledger nor anywhere in the file)
drop distributors-bad-unknown.csv <<EOF
$H
N1,R,Nina,2025-04-01,NOBODY,right
EOF
reject distributors-bad-unknown.csv 'distributors-bad-unknown.csv:2:5: column "placement_id": value "NOBODY": not a known distributor (neither in the ledger nor in this file)'

# a cycle: N1 under N2 under N1; reported on the row that closes it
drop distributors-bad-cycle.csv <<EOF
$H
N1,R,Nina,2025-04-01,N2,left
N2,R,Nils,2025-04-01,N1,right
EOF
reject distributors-bad-cycle.csv 'distributors-bad-cycle.csv:3:5: column "placement_id": value "N1": placement cycle: N2 -> N1 -> N2 (each placed under the next)'

# a longer cycle through three new distributors
drop distributors-bad-cycle3.csv <<EOF
$H
N1,R,Nina,2025-04-01,N2,left
N2,R,Nils,2025-04-01,N3,left
N3,R,Nora,2025-04-01,N1,left
EOF
reject distributors-bad-cycle3.csv 'distributors-bad-cycle3.csv:4:5: column "placement_id": value "N1": placement cycle: N3 -> N1 -> N2 -> N3 (each placed under the next)'

# self-placement
drop distributors-bad-self.csv <<EOF
$H
N1,R,Nina,2025-04-01,N1,left
EOF
reject distributors-bad-self.csv 'distributors-bad-self.csv:2:5: column "placement_id": value "N1": a distributor cannot be placed under itself'

# a changed placement: automatic, given, a root's, and twice within one file
drop distributors-bad-changed-auto.csv <<EOF
$H
N1,R,Nina,2025-04-01,,
A,R,Anna,2025-01-02,B,left
EOF
reject distributors-bad-changed-auto.csv 'distributors-bad-changed-auto.csv:3:5: column "placement_id": value "B": A is placed left under R (automatically); a placement never changes'
drop distributors-bad-changed-leg.csv <<EOF
$H
E,R,Emil,2025-02-02,A,left
EOF
reject distributors-bad-changed-leg.csv 'distributors-bad-changed-leg.csv:2:5: column "placement_id": value "A": E is placed right under A (as given); a placement never changes'
drop distributors-bad-changed-root.csv <<EOF
$H
Z,,Zoe,2025-03-04,Y,left
EOF
reject distributors-bad-changed-root.csv 'distributors-bad-changed-root.csv:2:5: column "placement_id": value "Y": Z has no placement (it started its own placement tree); a placement never changes'
drop distributors-bad-changed-file.csv <<EOF
$H
N1,R,Nina,2025-04-01,D,left
N1,R,Nina,2025-04-01,D,right
EOF
reject distributors-bad-changed-file.csv 'distributors-bad-changed-file.csv:3:5: column "placement_id": value "D": line 2 places N1 left under D; a placement never changes'

# a leg without placement_id, and a leg that is neither left nor right
drop distributors-bad-leg.csv <<EOF
$H
N1,R,Nina,2025-04-01,,left
EOF
reject distributors-bad-leg.csv 'distributors-bad-leg.csv:2:6: column "leg": value "left": placement_id and leg are given together or not at all'
drop distributors-bad-leg-name.csv <<EOF
$H
N1,R,Nina,2025-04-01,D,middle
EOF
reject distributors-bad-leg-name.csv 'distributors-bad-leg-name.csv:2:6: column "leg": value "middle": expected left or right'

# an automatic placement that would close a cycle: N2 is given N1.left, and
# N1, sponsored by N2, would go below N2, that is below itself
drop distributors-bad-auto-cycle.csv <<EOF
$H
N1,N2,Nina,2025-04-01,,
N2,R,Nils,2025-04-01,N1,left
EOF
reject distributors-bad-auto-cycle.csv 'distributors-bad-auto-cycle.csv:2:2: column "sponsor_id": value "N2": placement cycle: N1 has no placement, so it goes below its sponsor N2, which this file places below N1'

assert_eq "A:R.left/1 B:R.right/1 C:A.left/1 D:B.left/1 E:A.right/0 F:G.left/0 G:B.right/1 H:I.left/1 I:C.left/1 J:I.right/1 R:-/1 Y:Z.left/1 Z:-/1" \
	"$(placements)" "placements after the rejected files"
# the ledger refuses a second distributor in a slot by itself too
run sqlite3 "$DB" "UPDATE distributors SET placement_id = 'R', leg = 'left' WHERE id = 'D'"
[[ $RC -ne 0 ]] || fail "the ledger accepted two distributors in slot R.left"
assert_contains "$OUT" "UNIQUE constraint failed"
audit_verify_ok
pass
