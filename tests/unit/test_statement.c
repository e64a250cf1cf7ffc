/*
 * test_statement.c - statement.c: the statement JSON byte for byte (every
 * line type, key order, money and rates as strings, level as an integer),
 * payouts.csv (byte order, RFC 4180 quoting, formula neutralisation, zero
 * paid left out), summary.json (totals, rank counts, payout_ratio rounding),
 * the HTML page (escaping, self-contained, inline SVG with integer bar
 * widths, deterministic), and one run through the real engine.
 *
 * The fixture is built by hand, so every number here is known in advance.
 * With PAYOUTD_STATEMENT_EXAMPLE=FILE set, the fixture's HTML statement is
 * also written to FILE for a person to look at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "money.h"
#include "plan.h"
#include "statement.h"

/* ---- a hand-built plan and period ------------------------------------------ */

static char rank_partner[] = "partner", rank_bronze[] = "bronze", rank_silver[] = "silver";
static char fee_statement[] = "statement fee";
static char plan_name[] = "Test Plan <2026>";

typedef struct fixture {
	plan p;
	plan_rank ranks[3];
	plan_fee fees[1];
	const char *ids[8], *names[8], *ibans[8];
	int64_t pv[8];
	uint8_t terminated[8];
	engine_result res[8];
	engine_line lines[16];
	uint32_t first_line[9];
	engine_output out;
	stmt_period sp;
} fixture;

static void fixture_plan(fixture *f)
{
	memset(f, 0, sizeof *f);
	f->ranks[0].id = rank_partner;
	f->ranks[1].id = rank_bronze;
	f->ranks[2].id = rank_silver;
	for (int r = 0; r < 3; r++)
		f->ranks[r].periods = 1;
	f->fees[0].name = fee_statement;
	f->fees[0].amount = 150;
	f->p.name = plan_name;
	memcpy(f->p.currency, "EUR", 4);
	f->p.ranks = f->ranks;
	f->p.n_ranks = 3;
	f->p.fees = f->fees;
	f->p.n_fees = 1;
	f->p.has_cap = 1;
	f->p.cap_payout_ratio = 450000;
	f->p.min_payout = 1000;
}

static void fixture_wire(fixture *f, int32_t n, size_t n_lines)
{
	f->out.res = f->res;
	f->out.lines = f->lines;
	f->out.n_lines = n_lines;
	f->out.first_line = f->first_line;
	f->sp.p = &f->p;
	f->sp.plan_sha256 = "5f7d9c0e2b4a6183f5e7d9c0b2a41638e5f7d9c0b2a4163805f7d9c0b2a41638";
	f->sp.period = "2026-11";
	f->sp.n = n;
	f->sp.ids = f->ids;
	f->sp.names = f->names;
	f->sp.ibans = f->ibans;
	f->sp.pv = f->pv;
	f->sp.terminated = f->terminated;
	f->sp.out = &f->out;
}

static engine_line line(int32_t recipient, int32_t type, int32_t level, int32_t source, int32_t rank,
			int32_t fee, int64_t base, int64_t rate, int64_t amount)
{
	engine_line l = {.recipient = recipient, .type = type, .level = level, .source = source, .rank = rank,
			 .fee = fee, .base = base, .rate = rate, .amount = amount};
	return l;
}

/*
 * D001 has one line of every type; D002 a small retail line carried out
 * (below min_payout); D003 is terminated and has nothing.
 */
static void fixture_main(fixture *f)
{
	fixture_plan(f);
	f->ids[0] = "D001";
	f->names[0] = "Zo\xc3\xab \"Z\" <Boss> & Co";
	f->ibans[0] = "DE89370400440532013000";
	f->ids[1] = "D002";
	f->names[1] = "Bob Builder";
	f->ibans[1] = NULL;
	f->ids[2] = "D003";
	f->names[2] = "Carla";
	f->ibans[2] = "FR7630006000011234567890189";
	f->pv[0] = 15000;
	f->pv[1] = 5000;
	f->terminated[2] = 1;

	size_t k = 0;
	f->lines[k++] = line(0, LINE_RETAIL, -1, 0, -1, -1, 12345, 200000, 2469);
	f->lines[k++] = line(0, LINE_UNILEVEL, 1, 1, -1, -1, 10000, 50000, 500);
	f->lines[k++] = line(0, LINE_UNILEVEL, 2, 2, -1, -1, 20000, 125000, 2500);
	f->lines[k++] = line(0, LINE_RANK_ADVANCEMENT, -1, -1, 2, -1, 0, 0, 25000);
	f->lines[k++] = line(0, LINE_CAP_ADJUSTMENT, -1, -1, -1, -1, 0, 0, -1234);
	f->lines[k++] = line(0, LINE_CLAWBACK, -1, 0, -1, -1, 1000, 1000000, -1000);
	f->lines[k++] = line(0, LINE_CLAWBACK, 1, 1, -1, -1, 3000, 50000, -150);
	f->lines[k++] = line(0, LINE_FEE, -1, -1, -1, 0, 0, 0, -150);
	f->lines[k++] = line(0, LINE_CARRY_IN, -1, -1, -1, -1, 0, 0, -500);
	f->lines[k++] = line(1, LINE_RETAIL, -1, 1, -1, -1, 3000, 200000, 600);
	f->first_line[0] = 0;
	f->first_line[1] = 9;
	f->first_line[2] = 10;
	f->first_line[3] = 10;

	engine_result r0 = {.active = 1, .qualified = 2, .paid_as = 2, .title = 2, .gv = 45000,
			    .commissions = 30469, .cap_adjustment = -1234, .clawbacks = -1150, .fees = -150,
			    .carried_in = -500, .payable = 27435, .paid = 27435, .carried_out = 0, .n_lines = 9};
	engine_result r1 = {.active = 0, .qualified = 1, .paid_as = 0, .title = 1, .gv = 5000,
			    .commissions = 600, .payable = 600, .paid = 0, .carried_out = 600, .n_lines = 1};
	f->res[0] = r0;
	f->res[1] = r1;
	f->out.total_commissions = 31069;
	f->out.total_cap_adjustment = -1234;
	f->out.total_clawbacks = -1150;
	f->out.total_fees = -150;
	f->out.total_carried_in = -500;
	f->out.total_payable = 28035;
	f->out.total_paid = 27435;
	f->out.total_carried_out = 600;
	f->out.cap_limit = 29835;
	f->sp.net_sales = 66300;
	fixture_wire(f, 3, k);
}

/* ---- statement JSON --------------------------------------------------------- */

static const char expected_d001[] =
	"{\n"
	"  \"period\": \"2026-11\",\n"
	"  \"distributor_id\": \"D001\",\n"
	"  \"name\": \"Zo\xc3\xab \\\"Z\\\" <Boss> & Co\",\n"
	"  \"currency\": \"EUR\",\n"
	"  \"paid_as_rank\": \"silver\",\n"
	"  \"title_rank\": \"silver\",\n"
	"  \"active\": true,\n"
	"  \"pv\": \"150.00\",\n"
	"  \"gv\": \"450.00\",\n"
	"  \"lines\": [\n"
	"    {\n"
	"      \"type\": \"retail\",\n"
	"      \"source\": \"D001\",\n"
	"      \"base\": \"123.45\",\n"
	"      \"rate\": \"0.20\",\n"
	"      \"amount\": \"24.69\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"unilevel\",\n"
	"      \"level\": 1,\n"
	"      \"source\": \"D002\",\n"
	"      \"base\": \"100.00\",\n"
	"      \"rate\": \"0.05\",\n"
	"      \"amount\": \"5.00\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"unilevel\",\n"
	"      \"level\": 2,\n"
	"      \"source\": \"D003\",\n"
	"      \"base\": \"200.00\",\n"
	"      \"rate\": \"0.125\",\n"
	"      \"amount\": \"25.00\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"rank_advancement\",\n"
	"      \"rank\": \"silver\",\n"
	"      \"amount\": \"250.00\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"cap_adjustment\",\n"
	"      \"amount\": \"-12.34\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"clawback\",\n"
	"      \"source\": \"D001\",\n"
	"      \"base\": \"10.00\",\n"
	"      \"rate\": \"1.00\",\n"
	"      \"amount\": \"-10.00\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"clawback\",\n"
	"      \"level\": 1,\n"
	"      \"source\": \"D002\",\n"
	"      \"base\": \"30.00\",\n"
	"      \"rate\": \"0.05\",\n"
	"      \"amount\": \"-1.50\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"fee\",\n"
	"      \"name\": \"statement fee\",\n"
	"      \"amount\": \"-1.50\"\n"
	"    },\n"
	"    {\n"
	"      \"type\": \"carry_in\",\n"
	"      \"amount\": \"-5.00\"\n"
	"    }\n"
	"  ],\n"
	"  \"totals\": {\n"
	"    \"commissions\": \"304.69\",\n"
	"    \"cap_adjustment\": \"-12.34\",\n"
	"    \"clawbacks\": \"-11.50\",\n"
	"    \"fees\": \"-1.50\",\n"
	"    \"carried_in\": \"-5.00\",\n"
	"    \"payable\": \"274.35\",\n"
	"    \"paid\": \"274.35\",\n"
	"    \"carried_out\": \"0.00\"\n"
	"  }\n"
	"}\n";

static void assert_bytes(const char *got, size_t got_len, const char *want)
{
	if (got_len != strlen(want) || memcmp(got, want, got_len) != 0) {
		print_error("--- got (%zu bytes) ---\n%.*s--- want (%zu bytes) ---\n%s", got_len, (int)got_len, got,
			    strlen(want), want);
		fail();
	}
}

static void json_every_line_type(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_json(&f.sp, 0, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	assert_bytes(buf, len, expected_d001);
	free(buf);
}

static void json_inactive_carried_out(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_json(&f.sp, 1, &buf, &len), 0);
	assert_bytes(buf, len,
		     "{\n"
		     "  \"period\": \"2026-11\",\n"
		     "  \"distributor_id\": \"D002\",\n"
		     "  \"name\": \"Bob Builder\",\n"
		     "  \"currency\": \"EUR\",\n"
		     "  \"paid_as_rank\": \"partner\",\n"
		     "  \"title_rank\": \"bronze\",\n"
		     "  \"active\": false,\n"
		     "  \"pv\": \"50.00\",\n"
		     "  \"gv\": \"50.00\",\n"
		     "  \"lines\": [\n"
		     "    {\n"
		     "      \"type\": \"retail\",\n"
		     "      \"source\": \"D002\",\n"
		     "      \"base\": \"30.00\",\n"
		     "      \"rate\": \"0.20\",\n"
		     "      \"amount\": \"6.00\"\n"
		     "    }\n"
		     "  ],\n"
		     "  \"totals\": {\n"
		     "    \"commissions\": \"6.00\",\n"
		     "    \"cap_adjustment\": \"0.00\",\n"
		     "    \"clawbacks\": \"0.00\",\n"
		     "    \"fees\": \"0.00\",\n"
		     "    \"carried_in\": \"0.00\",\n"
		     "    \"payable\": \"6.00\",\n"
		     "    \"paid\": \"0.00\",\n"
		     "    \"carried_out\": \"6.00\"\n"
		     "  }\n"
		     "}\n");
	free(buf);
}

/* The document parses back, and holds no JSON real anywhere. */
static void assert_no_reals(json_t *v)
{
	assert_false(json_is_real(v));
	const char *k;
	json_t *sub;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach(v, k, sub) assert_no_reals(sub);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, sub) assert_no_reals(sub);
	}
}

static void json_types_and_refusals(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_json(&f.sp, 0, &buf, &len), 0);
	json_error_t jerr;
	json_t *doc = json_loads(buf, 0, &jerr);
	assert_non_null(doc);
	assert_no_reals(doc);
	json_t *lines = json_object_get(doc, "lines");
	assert_int_equal(json_array_size(lines), 9);
	assert_true(json_is_integer(json_object_get(json_array_get(lines, 1), "level")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(lines, 2), "level")), 2);
	assert_true(json_is_boolean(json_object_get(doc, "active")));
	assert_true(json_is_string(json_object_get(json_array_get(lines, 0), "amount")));
	json_decref(doc);
	free(buf);

	/* a statement with no line still has an empty array */
	assert_int_equal(statement_json(&f.sp, 2, &buf, &len), 0);
	assert_non_null(strstr(buf, "  \"lines\": [],\n"));
	free(buf);

	/* out of range, a broken fee index, invalid UTF-8: -1 and nothing allocated */
	buf = (char *)"untouched";
	assert_int_equal(statement_json(&f.sp, 3, &buf, &len), -1);
	assert_null(buf);
	assert_int_equal(statement_json(&f.sp, -1, &buf, &len), -1);
	f.lines[7].fee = 5;
	assert_int_equal(statement_json(&f.sp, 0, &buf, &len), -1);
	assert_null(buf);
	f.lines[7].fee = 0;
	f.names[0] = "bad \xff name";
	assert_int_equal(statement_json(&f.sp, 0, &buf, &len), -1);
	assert_null(buf);
}

static void wanted(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	assert_true(statement_wanted(&f.sp, 0));
	assert_true(statement_wanted(&f.sp, 1));
	assert_false(statement_wanted(&f.sp, 2));
	assert_false(statement_wanted(&f.sp, 3));
}

/* ---- summary.json ------------------------------------------------------------ */

static void summary_bytes(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_summary_json(&f.sp, &buf, &len), 0);
	assert_bytes(buf, len,
		     "{\n"
		     "  \"period\": \"2026-11\",\n"
		     "  \"plan\": \"Test Plan <2026>\",\n"
		     "  \"plan_sha256\": \"5f7d9c0e2b4a6183f5e7d9c0b2a41638e5f7d9c0b2a4163805f7d9c0b2a41638\",\n"
		     "  \"currency\": \"EUR\",\n"
		     "  \"distributors\": 3,\n"
		     "  \"statements\": 2,\n"
		     "  \"net_sales\": \"663.00\",\n"
		     "  \"commissions\": \"310.69\",\n"
		     "  \"cap_adjustment\": \"-12.34\",\n"
		     "  \"cap_limit\": \"298.35\",\n"
		     "  \"clawbacks\": \"-11.50\",\n"
		     "  \"fees\": \"-1.50\",\n"
		     "  \"carried_in\": \"-5.00\",\n"
		     "  \"payable\": \"280.35\",\n"
		     "  \"paid\": \"274.35\",\n"
		     "  \"carried_out\": \"6.00\",\n"
		     "  \"payout_ratio\": \"0.4500\",\n"
		     "  \"ranks\": {\n"
		     "    \"partner\": 1,\n"
		     "    \"bronze\": 0,\n"
		     "    \"silver\": 1\n"
		     "  }\n"
		     "}\n");
	free(buf);
}

static const char *summary_member(fixture *f, const char *key, char *out, size_t cap)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_summary_json(&f->sp, &buf, &len), 0);
	json_error_t jerr;
	json_t *doc = json_loads(buf, 0, &jerr);
	assert_non_null(doc);
	json_t *v = json_object_get(doc, key);
	assert_non_null(v);
	if (json_is_null(v))
		snprintf(out, cap, "null");
	else
		snprintf(out, cap, "%s", json_string_value(v));
	json_decref(doc);
	free(buf);
	return out;
}

static void ratio_is(fixture *f, int64_t commissions, int64_t cap, int64_t net, const char *want)
{
	char got[64];
	f->out.total_commissions = commissions;
	f->out.total_cap_adjustment = cap;
	f->sp.net_sales = net;
	assert_string_equal(summary_member(f, "payout_ratio", got, sizeof got), want);
}

static void summary_payout_ratio(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	ratio_is(&f, 1, 0, 20000, "0.0000");          /* 0.00005: half, to even (0) */
	ratio_is(&f, 3, 0, 20000, "0.0002");          /* 0.00015: half, to even (2) */
	ratio_is(&f, 29225, 0, 100000, "0.2922");     /* 0.29225 */
	ratio_is(&f, 29235, 0, 100000, "0.2924");     /* 0.29235 */
	ratio_is(&f, 29236, -2, 100000, "0.2923");    /* cap adjustment counts: 0.29234 */
	ratio_is(&f, 1, 0, 3, "0.3333");              /* 0.33333... */
	ratio_is(&f, 2, 0, 3, "0.6667");              /* 0.66666... */
	ratio_is(&f, 12345, 0, 0, "0.0000");          /* no net sales */
	ratio_is(&f, 500, 0, 250, "2.0000");          /* above 1 is shown as is */

	/* a ratio too large for the arithmetic is refused, not wrapped */
	f.out.total_commissions = INT64_MAX;
	f.sp.net_sales = 1;
	char *buf = (char *)"untouched";
	assert_int_equal(statement_summary_json(&f.sp, &buf, NULL), -1);
	assert_null(buf);
}

static void summary_no_cap(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	f.out.cap_limit = -1;
	char got[64];
	assert_string_equal(summary_member(&f, "cap_limit", got, sizeof got), "null");
}

/* ---- payouts.csv -------------------------------------------------------------- */

static void payouts_csv_bytes(void **state)
{
	(void)state;
	fixture f;
	fixture_plan(&f);
	static const struct {
		const char *id, *name, *iban;
		int64_t paid;
	} rows[] = {
		{"B2", "Smith, John", "DE89370400440532013000", 12345},
		{"A9", "Say \"hi\"", NULL, 1000},
		{"A10", "=HYPERLINK(\"x\",\"y\")", "=cmd|' /C calc'!A0", 5},
		{"C", "Zero Paid", "GB33BUKB20201555555555", 0},
		{"=1+1", "+49 Tel", "@SUM(A1)", 100},
		{"b1", "-minus\tand tab", "\tX", 123456789},
		{"A1", "Line\nbreak", "", 250},
	};
	int32_t n = (int32_t)(sizeof rows / sizeof rows[0]);
	for (int32_t i = 0; i < n; i++) {
		f.ids[i] = rows[i].id;
		f.names[i] = rows[i].name;
		f.ibans[i] = rows[i].iban;
		f.res[i].paid = rows[i].paid;
	}
	memset(f.first_line, 0, sizeof f.first_line);
	fixture_wire(&f, n, 0);

	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_payouts_csv(&f.sp, &buf, &len), 0);
	assert_bytes(buf, len,
		     "distributor_id,name,iban,currency,amount\n"
		     "'=1+1,'+49 Tel,'@SUM(A1),EUR,1.00\n"
		     "A1,\"Line\nbreak\",,EUR,2.50\n"
		     "A10,\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",'=cmd|' /C calc'!A0,EUR,0.05\n"
		     "A9,\"Say \"\"hi\"\"\",,EUR,10.00\n"
		     "B2,\"Smith, John\",DE89370400440532013000,EUR,123.45\n"
		     "b1,'-minus\tand tab,'\tX,EUR,1234567.89\n");
	free(buf);

	/* nobody paid: the header alone */
	for (int32_t i = 0; i < n; i++)
		f.res[i].paid = 0;
	assert_int_equal(statement_payouts_csv(&f.sp, &buf, &len), 0);
	assert_bytes(buf, len, "distributor_id,name,iban,currency,amount\n");
	free(buf);

	/* no distributors at all, and no IBAN array: the header alone too */
	f.sp.ibans = NULL;
	fixture_wire(&f, 0, 0);
	f.sp.ibans = NULL;
	assert_int_equal(statement_payouts_csv(&f.sp, &buf, &len), 0);
	assert_bytes(buf, len, "distributor_id,name,iban,currency,amount\n");
	free(buf);
}

/* ---- HTML ---------------------------------------------------------------------- */

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_error("missing: %s\n", needle);
		fail();
	}
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle)) {
		print_error("unexpected: %s\n", needle);
		fail();
	}
}

static void html_page(void **state)
{
	(void)state;
	fixture f;
	fixture_main(&f);
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	assert_int_equal(statement_html(&f.sp, 0, &a, &alen), 0);
	assert_int_equal(statement_html(&f.sp, 0, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_int_equal(strlen(a), alen);

	assert_true(strncmp(a, "<!doctype html>\n", 16) == 0);
	assert_contains(a, "<meta charset=\"utf-8\">");
	assert_contains(a, "<meta name=\"viewport\"");
	assert_contains(a, "<style>");
	assert_contains(a, "@media print");
	assert_true(alen > 8 && strcmp(a + alen - 8, "</html>\n") == 0);

	/* the name escaped everywhere, never raw */
	assert_contains(a, "<h1>Zo\xc3\xab &quot;Z&quot; &lt;Boss&gt; &amp; Co</h1>");
	assert_lacks(a, "<Boss>");
	assert_lacks(a, "\"Z\"");
	assert_contains(a, "Test Plan &lt;2026&gt;");
	assert_contains(a, "D001");

	/* self-contained, nothing to run */
	assert_lacks(a, "http");
	assert_lacks(a, "<script");
	assert_lacks(a, "<link");
	assert_lacks(a, "<img");
	assert_lacks(a, "url(");
	assert_lacks(a, " src=");

	/* facts, lines, totals */
	assert_contains(a, "<dt>Period</dt><dd>2026-11</dd>");
	assert_contains(a, "<dt>Paid-as rank</dt><dd>silver</dd>");
	assert_contains(a, "<dt>Title rank</dt><dd>silver</dd>");
	assert_contains(a, "<dt>Personal volume (PV)</dt><dd>150.00</dd>");
	assert_contains(a, "<dt>Group volume (GV)</dt><dd>450.00</dd>");
	assert_contains(a, "<dt>Active</dt><dd>yes</dd>");
	assert_contains(a, "Paid this period: <strong>EUR 274.35</strong>");
	assert_contains(a, "Rank advancement<span class=\"det\">to silver</span>");
	assert_contains(a, "Fee<span class=\"det\">statement fee</span>");
	assert_contains(a, ">12.5%<");
	assert_contains(a, ">20%<");
	assert_contains(a, ">100%<");
	assert_contains(a, "<td class=\"num neg\">-12.34</td>");
	assert_contains(a, "<tr class=\"sum\"><th>Payable</th><td class=\"num\">EUR 274.35</td></tr>");

	/* charts: inline SVG, integer widths: rank advancement 250.00 is the
	 * widest (144); retail 24.69 -> 24.69 * 144 / 250 = 14.2 -> 14; a cap
	 * adjustment of -12.34 -> 7.1 -> 7; fees -1.50 -> 0.86 -> at least 1 */
	assert_contains(a, "<svg viewBox=");
	assert_contains(a, "Earnings by type");
	assert_contains(a, "Unilevel by level");
	assert_contains(a, "width=\"144\" height=\"16\"");
	assert_contains(a, "width=\"14\" height=\"16\"");
	assert_contains(a, "width=\"7\" height=\"16\" rx=\"2\" fill=\"#dc2626\"");
	assert_contains(a, "width=\"1\" height=\"16\"");
	assert_contains(a, ">Level 2</text>");
	assert_lacks(a, ">Level 3</text>");
	free(a);
	free(b);

	/* large amounts are grouped; an empty statement still renders */
	f.res[2].paid = 123456789;
	assert_int_equal(statement_html(&f.sp, 2, &a, &alen), 0);
	assert_contains(a, "EUR 1,234,567.89");
	assert_contains(a, "No lines this period.");
	assert_contains(a, "No earnings this period.");
	assert_contains(a, "<h1>Carla</h1>");
	free(a);

	/* yen-like currencies show no decimals unless there are some; dinars three */
	memcpy(f.p.currency, "JPY", 4);
	f.res[2].paid = 123400;
	assert_int_equal(statement_html(&f.sp, 2, &a, &alen), 0);
	assert_contains(a, "JPY 1,234<");
	free(a);
	f.res[2].paid = -123456;
	assert_int_equal(statement_html(&f.sp, 2, &a, &alen), 0);
	assert_contains(a, "JPY -1,234.56<");
	free(a);
	memcpy(f.p.currency, "KWD", 4);
	f.res[2].paid = 5;
	assert_int_equal(statement_html(&f.sp, 2, &a, &alen), 0);
	assert_contains(a, "KWD 0.050<");
	free(a);

	assert_int_equal(statement_html(&f.sp, 7, &a, &alen), -1);
	assert_null(a);
}

/* Writes the fixture page for a person to look at (see the file comment). */
static void html_example(void **state)
{
	(void)state;
	const char *path = getenv("PAYOUTD_STATEMENT_EXAMPLE");
	if (!path)
		return; /* nothing asked for: not a skip, just nothing to do */
	fixture f;
	fixture_main(&f);
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_html(&f.sp, 0, &buf, &len), 0);
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, len, out), len);
	assert_int_equal(fclose(out), 0);
	free(buf);
}

/* ---- through the real engine ---------------------------------------------------- */

static void with_engine(void **state)
{
	(void)state;
	const char *data = getenv("PAYOUTD_TEST_DATA");
	if (!data) {
		print_message("PAYOUTD_TEST_DATA is not set: skipped\n");
		skip();
		return;
	}
	char path[1024];
	snprintf(path, sizeof path, "%s/../../rules/plans/example-unilevel.yaml", data);
	plan *p = NULL;
	pd_diag diag = {0};
	assert_int_equal(plan_load(path, &p, &diag), 0);
	pd_diag_free(&diag);

	/* root R sponsors A, A sponsors B; everybody active */
	int32_t parent[] = {-1, 0, 1};
	int64_t pv[] = {20000, 15000, 10000};
	int64_t cv[] = {20000, 15000, 10000};
	uint8_t term[] = {0, 0, 0};
	uint8_t title[] = {0, 0, 0};
	int64_t carried[] = {0, 0, 0};
	engine_input in = {.p = p, .n = 3, .parent = parent, .pv = pv, .cv = cv, .terminated = term,
			   .q_history = NULL, .history = 0, .title = title, .carried_in = carried,
			   .net_sales = 45000};
	engine_output out;
	pd_err err;
	assert_int_equal(engine_run(&in, &out, &err), 0);

	const char *ids[] = {"R", "A", "B"};
	const char *names[] = {"Root & Co", "Anne", "Ben"};
	stmt_period sp = {.p = p, .plan_sha256 = "00", .period = "2026-11", .n = 3, .ids = ids,
			  .names = names, .ibans = NULL, .pv = pv, .terminated = term, .out = &out,
			  .net_sales = 45000};
	for (int32_t i = 0; i < 3; i++) {
		char *buf = NULL;
		size_t len = 0;
		assert_true(statement_wanted(&sp, i));
		assert_int_equal(statement_json(&sp, i, &buf, &len), 0);
		json_error_t jerr;
		json_t *doc = json_loads(buf, 0, &jerr);
		assert_non_null(doc);
		assert_no_reals(doc);
		char want[32];
		money_format(out.res[i].paid, 2, want);
		assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "totals"), "paid")), want);
		assert_int_equal(json_array_size(json_object_get(doc, "lines")), out.res[i].n_lines);
		json_decref(doc);
		free(buf);
		assert_int_equal(statement_html(&sp, i, &buf, &len), 0);
		free(buf);
	}
	/* nobody reaches bronze (GV 450.00 < 1000.00): all partners, one level at 0.05 */
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(statement_json(&sp, 0, &buf, &len), 0);
	assert_contains(buf, "\"type\": \"retail\",\n      \"source\": \"R\",\n      \"base\": \"200.00\",\n"
			     "      \"rate\": \"0.20\",\n      \"amount\": \"40.00\"");
	assert_contains(buf, "\"type\": \"unilevel\",\n      \"level\": 1,\n      \"source\": \"A\",\n"
			     "      \"base\": \"150.00\",\n      \"rate\": \"0.05\",\n      \"amount\": \"7.50\"");
	free(buf);
	assert_int_equal(statement_summary_json(&sp, &buf, &len), 0);
	assert_contains(buf, "\"plan\": \"Example Unilevel 2026\"");
	free(buf);
	assert_int_equal(statement_payouts_csv(&sp, &buf, &len), 0);
	assert_true(strncmp(buf, "distributor_id,name,iban,currency,amount\n", 41) == 0);
	free(buf);
	engine_output_free(&out);
	plan_free(p);
}

/* ---- the source stays integer-only ------------------------------------------------ */

static void source_has_no_binary_fractions(void **state)
{
	(void)state;
	const char *data = getenv("PAYOUTD_TEST_DATA");
	if (!data) {
		skip();
		return;
	}
	char path[1024];
	snprintf(path, sizeof path, "%s/../../daemon/statement.c", data);
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, in);
	fclose(in);
	assert_true(n > 0 && n < sizeof text - 1);
	text[n] = '\0';
	assert_lacks(text, "double");
	assert_lacks(text, "float");
	assert_lacks(text, "math.h");
	assert_lacks(text, "strtod");
	assert_lacks(text, "%f");
	assert_lacks(text, "%g");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_every_line_type),
		cmocka_unit_test(json_inactive_carried_out),
		cmocka_unit_test(json_types_and_refusals),
		cmocka_unit_test(wanted),
		cmocka_unit_test(summary_bytes),
		cmocka_unit_test(summary_payout_ratio),
		cmocka_unit_test(summary_no_cap),
		cmocka_unit_test(payouts_csv_bytes),
		cmocka_unit_test(html_page),
		cmocka_unit_test(html_example),
		cmocka_unit_test(with_engine),
		cmocka_unit_test(source_has_no_binary_fractions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
