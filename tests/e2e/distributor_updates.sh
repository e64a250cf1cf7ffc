#!/usr/bin/env bash
# distributor_updates: a row for a known id updates it, and an optional
# column that a later file lacks leaves the stored value alone (a file of
# terminations without sponsor_id or iban must not erase sponsors or IBANs).
source "$(dirname "$0")/lib.sh"

write_config
drop distributors-1.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date,iban,email
A1,,Anna Schmidt,2025-03-01,DE89370400440532013000,anna@example.com
B1,A1,Bernd Müller,2025-06-15,DE44500105175407324931,bernd@example.com
EOF2
run_once
drop distributors-2.csv <<'EOF2'
distributor_id,name,join_date,status
B1,Bernd Mueller,2025-06-16,terminated
EOF2
run_once
assert_eq "B1|A1|Bernd Mueller|DE44500105175407324931|bernd@example.com" \
	"$(q "SELECT id, sponsor_id, name, iban, email FROM distributors WHERE id = 'B1'")" \
	"B1 after a file without sponsor_id, iban and email"
assert_eq "1" "$(q "SELECT terminated FROM distributor_status WHERE distributor_id = 'B1'")" "B1 terminated"
# a present but empty optional column does clear the value; a present sponsor moves
drop distributors-3.csv <<'EOF2'
distributor_id,sponsor_id,name,join_date,email
C1,A1,Clara,2025-09-01,
B1,C1,Bernd Mueller,2025-06-16,
EOF2
run_once
assert_eq "B1|C1||DE44500105175407324931" \
	"$(q "SELECT id, sponsor_id, coalesce(email, ''), iban FROM distributors WHERE id = 'B1'")" \
	"B1 after a file with sponsor_id and an empty email"
audit_verify_ok
pass
