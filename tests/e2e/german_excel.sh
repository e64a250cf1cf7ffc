#!/usr/bin/env bash
# german_excel: a shop's German Excel export is read unchanged through an
# input entry (like demo/payoutd.yaml's umsatz*.csv): UTF-8 BOM, then
# Windows-1252 text, CRLF line ends, semicolons, decimal comma with
# thousands grouping, dates as 05.11.2026 and the shop's own column names.
# Amounts come out to the cent; umlauts of a Windows-1252 distributors file
# are stored as UTF-8; a byte Windows-1252 does not define rejects the file.
source "$(dirname "$0")/lib.sh"

write_config 'inputs:
  - match: "products*.csv"
    kind: products
  - match: "umsatz*.csv"
    kind: sales
    delimiter: ";"
    decimal: ","
    date_format: "%d.%m.%Y"
    encoding: windows-1252
    columns:
      sale_id: Belegnummer
      distributor_id: Berater
      date: Datum
      amount: Nettobetrag
      sku: Artikel
      quantity: Menge
  - match: "vertriebspartner*.csv"
    kind: distributors
    date_format: "%d.%m.%Y"
    encoding: windows-1252
    columns:
      distributor_id: Partner-Nr
      sponsor_id: Sponsor
      name: Name
      join_date: Eintritt
      country: Land'

# ---- distributors in Windows-1252 (auto-detected semicolons) ---------------------
# 0xFC ü, 0xDF ß, 0xEB ë, 0x8A Š, 0xF3 ó, 0x80 €, 0xC4 Ä
drop_bytes vertriebspartner-2026-11.csv '%s' \
	$'Partner-Nr;Sponsor;Name;Eintritt;Land\r\n' \
	$'A1;;J\xfcrgen Wei\xdf;01.03.2025;DE\r\n' \
	$'B1;A1;Zo\xeb \x8aim\xf3n \x80uro;15.06.2025;AT\r\n' \
	$'B2;A1;"M\xfcller; \xc4nne";1.9.2025;DE\r\n'
echo "$PRODUCTS_CSV" | drop products-2026-11.csv
run_once
assert_eq "A1||Jürgen Weiß|$(day 2025-03-01)|DE
B1|A1|Zoë Šimón €uro|$(day 2025-06-15)|AT
B2|A1|Müller; Änne|$(day 2025-09-01)|DE" \
	"$(q "SELECT id, coalesce(sponsor_id, ''), name, join_date, country FROM distributors ORDER BY id")" "distributors"
# byte for byte: UTF-8 of J ü r g e n space W e i ß
assert_eq "4AC3BC7267656E20576569C39F" "$(q "SELECT hex(name) FROM distributors WHERE id = 'A1'")" "UTF-8 bytes of A1's name"
# € is U+20AC (E2 82 AC), Š is U+0160 (C5 A0): Windows-1252, not ISO-8859-1
assert_eq "1" "$(q "SELECT instr(hex(name), 'C5A0') > 0 AND instr(hex(name), 'E282AC') > 0 FROM distributors WHERE id = 'B1'")" "Š and € of B1's name"

# ---- the sales export --------------------------------------------------------------
# BOM, then Windows-1252; an extra column (Bemerkung) is ignored; an empty
# padding row ";;;" (fewer fields than the header) is skipped
drop_bytes umsatz-2026-11.csv '%s' \
	$'\xef\xbb\xbfBelegnummer;Berater;Datum;Nettobetrag;Artikel;Menge;Bemerkung\r\n' \
	$'U1;B2;05.11.2026;1.234,50;SKIN-02;20;Gro\xdfbestellung K\xf6ln\r\n' \
	$'U2;A1;14.11.2026;89,90;VIT-01;3;Geschenk f\xfcr J\xfcrgen\r\n' \
	$'U3;B1;21.11.2026;12,00;;1;Versand \x80\r\n' \
	$'U4;B1;02.12.2026;1.234.567,89;;;\r\n' \
	$'U5;A1;30.11.2026;0,05;SKIN-01;1;\r\n' \
	$'U6;A1;01.12.2026;1.234;;;"Menge; leer"\r\n' \
	$'U7;A1;3.11.2026;1234,5;;;\r\n' \
	$';;;\r\n'
run_once
assert_eq "" "$(ls -A "$REJECTED")" "rejected files"
# sale_id|distributor|day|amount|pv|cv|booked_period|flags|promo
P=november-skincare
expected="U1|B2|$(day 2026-11-05)|123450|220000|88000|24322|1|$P
U2|A1|$(day 2026-11-14)|8990|9000|7500|24322|1|
U3|B1|$(day 2026-11-21)|1200|1200|1200|24322|1|
U4|B1|$(day 2026-12-02)|123456789|123456789|123456789|24323|1|
U5|A1|$(day 2026-11-30)|5|8000|3200|24322|1|$P
U6|A1|$(day 2026-12-01)|123400|123400|123400|24323|1|
U7|A1|$(day 2026-11-03)|123450|123450|123450|24322|1|"
assert_eq "$expected" "$(q "SELECT sale_id, distributor_id, day, amount, pv, cv, booked_period, flags, coalesce(promo, '')
                            FROM sales ORDER BY sale_id")" "sales of the German export"
assert_eq "7|7" "$(q "SELECT rows, sales FROM files WHERE name = 'umsatz-2026-11.csv'")" "rows and sales of the export"
assert_eq "$(sha256sum <"$ARCHIVE/$(q "SELECT archive_dir FROM files WHERE name = 'umsatz-2026-11.csv'")/umsatz-2026-11.csv" | cut -d' ' -f1)" \
	"$(q "SELECT sha256 FROM files WHERE name = 'umsatz-2026-11.csv'")" "sha256 covers the raw bytes, BOM included"

# ---- bad input in the German format ----------------------------------------------------
snapshot=$(ledger_dump)
# a byte Windows-1252 leaves undefined
drop_bytes umsatz-undefined.csv '%s' \
	$'Belegnummer;Berater;Datum;Nettobetrag\r\n' \
	$'V1;A1;05.11.2026;1,00\r\n' \
	$'V2;A1;05.11.2026;2,00;Stra\x81e\r\n'
# grouping that is not in threes, a decimal point, an ISO date
drop_bytes umsatz-values.csv '%s' \
	$'Belegnummer;Berater;Datum;Nettobetrag\r\n' \
	$'V3;A1;05.11.2026;1.23,50\r\n' \
	$'V4;A1;05.11.2026;12.50\r\n' \
	$'V5;A1;2026-11-05;1,00\r\n' \
	$'V6;A1;05.11.2026;1,234\r\n'
run_once
assert_eq "$snapshot" "$(ledger_dump)" "ledger after rejected German files"
assert_rejected umsatz-undefined.csv 'umsatz-undefined.csv:3:1: byte 0x81 cannot be read as windows-1252'
assert_rejected umsatz-values.csv \
	'umsatz-values.csv:2:4: column "Nettobetrag": value "1.23,50": thousands groups must have exactly 3 digits (expected a decimal like 1234,50 or 1.234,50, at most 2 decimals)' \
	'umsatz-values.csv:3:4: column "Nettobetrag": value "12.50": decimal separator must be ","' \
	'umsatz-values.csv:4:3: column "Datum": value "2026-11-05": does not match the date format (expected a date as %d.%m.%Y' \
	'umsatz-values.csv:5:4: column "Nettobetrag": value "1,234": more than 2 decimals'
# a mapped column missing from the header is named by both names
drop_bytes umsatz-header.csv '%s' $'Belegnummer;Berater;Datum;Betrag\r\n' $'V7;A1;05.11.2026;1,00\r\n'
run_once
assert_rejected umsatz-header.csv 'umsatz-header.csv:1:1: required column "amount" (mapped to "Nettobetrag") is missing from the header'
assert_eq "$snapshot" "$(ledger_dump)" "ledger after a rejected header"

assert_inbox_idle
audit_verify_ok
pass
