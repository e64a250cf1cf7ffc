/*
 * test_plan.c - the plan reader: the demo plan, promotion lookup (dates,
 * sku, category, plan order), and every refusal with its exact
 * FILE:LINE:COLUMN, all problems of a file reported together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plan.h"

static char tmpdir[256];
static char path[600];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_plan.XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_plan(const char *name, const char *text)
{
	snprintf(path, sizeof path, "%s/%s.yaml", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static int32_t day(int y, int m, int d)
{
	int32_t days;
	assert_int_equal(date_from_ymd(y, m, d, &days), 0);
	return days;
}

/* The four required keys, lines 1-4. */
#define HEAD "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n"

static plan *load_ok(const char *name, const char *text)
{
	write_plan(name, text);
	pd_diag d = {0};
	plan *p = NULL;
	if (plan_load(path, &p, &d) != 0)
		fail_msg("plan refused: %s", d.n ? d.msgs[0] : "(no message)");
	assert_int_equal(pd_diag_count(&d), 0);
	assert_non_null(p);
	pd_diag_free(&d);
	return p;
}

static void load_bad(const char *name, const char *text, pd_diag *d)
{
	write_plan(name, text);
	memset(d, 0, sizeof *d);
	plan *p = (plan *)0x1;
	if (plan_load(path, &p, d) != -1) {
		plan_free(p);
		fail_msg("plan accepted: %s", text);
	}
	assert_ptr_equal(p, (plan *)0x1); /* *out untouched */
	assert_true(pd_diag_count(d) > 0);
}

static void print_all(const pd_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  got: %s\n", d->msgs[i]);
}

/* want starts with '@', standing for the plan's path. */
static void assert_has(const pd_diag *d, const char *want)
{
	char full[1024];
	snprintf(full, sizeof full, "%s%s", path, want + 1);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->msgs[i], full) == 0)
			return;
	print_all(d);
	fail_msg("missing message: %s", full);
}

/* Some message starts with "@:LINE:COL: " + prefix. */
static void assert_has_prefix(const pd_diag *d, const char *want)
{
	char full[1024];
	snprintf(full, sizeof full, "%s%s", path, want + 1);
	for (size_t i = 0; i < d->n; i++)
		if (strncmp(d->msgs[i], full, strlen(full)) == 0)
			return;
	print_all(d);
	fail_msg("no message starts with: %s", full);
}

static void assert_count(const pd_diag *d, size_t n)
{
	if (pd_diag_count(d) != n) {
		print_all(d);
		fail_msg("%zu messages, expected %zu", pd_diag_count(d), n);
	}
}

static void assert_refused(const char *name, const char *text, const char *want)
{
	pd_diag d;
	load_bad(name, text, &d);
	assert_has(&d, want);
	assert_count(&d, 1);
	pd_diag_free(&d);
}

/* ---- the demo plan ---------------------------------------------------------- */

static void test_demo_plan(void **state)
{
	(void)state;
	const char *data = getenv("PAYOUTD_TEST_DATA");
	if (!data) {
		print_message("PAYOUTD_TEST_DATA is not set: skipped\n");
		skip();
	}
	char demo[1024];
	snprintf(demo, sizeof demo, "%s/../../demo/plan.yaml", data);
	pd_diag d = {0};
	plan *p = NULL;
	if (plan_load(demo, &p, &d) != 0)
		fail_msg("demo plan refused: %s", d.n ? d.msgs[0] : "(no message)");
	assert_int_equal(pd_diag_count(&d), 0);
	assert_string_equal(p->name, "Example Unilevel 2026");
	assert_string_equal(p->currency, "EUR");
	assert_string_equal(p->timezone, "Europe/Berlin");
	assert_int_equal(p->period, PERIOD_MONTHLY);
	assert_int_equal(p->n_promos, 1);
	const plan_promotion *pr = &p->promos[0];
	assert_string_equal(pr->id, "november-skincare");
	assert_int_equal(pr->from, day(2026, 11, 1));
	assert_int_equal(pr->to, day(2026, 11, 30));
	assert_int_equal(pr->n_categories, 1);
	assert_string_equal(pr->categories[0], "skincare");
	assert_int_equal(pr->n_skus, 0);
	assert_int_equal(pr->pv_mult, 2000000);
	assert_int_equal(pr->cv_mult, 1000000);

	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 15), "ANY", "skincare"), pr);
	assert_null(plan_promotion_for(p, day(2026, 11, 15), "ANY", "haircare"));
	assert_null(plan_promotion_for(p, day(2026, 12, 1), NULL, "skincare"));
	plan_free(p);
	pd_diag_free(&d);
	plan_free(NULL);
}

static void test_minimal_and_weekly(void **state)
{
	(void)state;
	plan *p = load_ok("min", HEAD);
	assert_string_equal(p->name, "Test");
	assert_int_equal(p->n_promos, 0);
	assert_null(plan_promotion_for(p, day(2026, 1, 1), "A", "b"));
	plan_free(p);

	p = load_ok("weekly", "plan: \"Weekly: plan\"\ncurrency: CHF\ntimezone: America/New_York\nperiod: weekly\npromotions:\n");
	assert_string_equal(p->name, "Weekly: plan");
	assert_string_equal(p->currency, "CHF");
	assert_string_equal(p->timezone, "America/New_York");
	assert_int_equal(p->period, PERIOD_WEEKLY);
	assert_int_equal(p->n_promos, 0);
	plan_free(p);

	p = load_ok("utc", "plan: T\ncurrency: USD\ntimezone: UTC\nperiod: monthly\npromotions: []\n");
	assert_string_equal(p->timezone, "UTC");
	plan_free(p);
}

/* ---- promotions --------------------------------------------------------------- */

static void test_promotion_for(void **state)
{
	(void)state;
	plan *p = load_ok("promos",
			  HEAD
			  "promotions:\n"
			  "  - id: skin\n"
			  "    from: 2026-11-01\n"
			  "    to: 2026-11-30\n"
			  "    when: { categories: [skincare, bodycare] }\n"
			  "    pv_multiplier: 2\n"
			  "  - id: sku-deal\n"
			  "    from: 2026-11-15\n"
			  "    to: 2026-12-15\n"
			  "    when: { skus: [SKU-1, SKU-2], categories: [skincare] }\n"
			  "    pv_multiplier: 1.5\n"
			  "    cv_multiplier: 0.000001\n"
			  "  - id: one-day\n"
			  "    from: 2026-12-24\n"
			  "    to: 2026-12-24\n"
			  "    when:\n"
			  "      skus: [GIFT]\n"
			  "    cv_multiplier: 1000\n");
	assert_int_equal(p->n_promos, 3);
	const plan_promotion *skin = &p->promos[0], *deal = &p->promos[1], *xmas = &p->promos[2];
	assert_int_equal(skin->pv_mult, 2000000);
	assert_int_equal(skin->cv_mult, 1000000); /* default 1 */
	assert_int_equal(deal->pv_mult, 1500000);
	assert_int_equal(deal->cv_mult, 1);
	assert_int_equal(xmas->pv_mult, 1000000);
	assert_int_equal(xmas->cv_mult, 1000000000);
	assert_int_equal(deal->n_skus, 2);
	assert_string_equal(deal->skus[1], "SKU-2");
	assert_int_equal(skin->n_categories, 2);
	assert_string_equal(skin->categories[1], "bodycare");

	/* inclusive bounds */
	assert_null(plan_promotion_for(p, day(2026, 10, 31), NULL, "skincare"));
	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 1), NULL, "skincare"), skin);
	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 30), NULL, "bodycare"), skin);
	assert_null(plan_promotion_for(p, day(2026, 12, 1), NULL, "bodycare"));
	/* overlap: the first in plan order wins */
	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 20), "SKU-1", "skincare"), skin);
	/* ... unless it does not match: then the next one */
	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 20), "SKU-1", "food"), deal);
	assert_ptr_equal(plan_promotion_for(p, day(2026, 11, 20), "SKU-2", NULL), deal);
	assert_ptr_equal(plan_promotion_for(p, day(2026, 12, 1), NULL, "skincare"), deal);
	assert_ptr_equal(plan_promotion_for(p, day(2026, 12, 15), "SKU-1", NULL), deal);
	assert_null(plan_promotion_for(p, day(2026, 12, 16), "SKU-1", "skincare"));
	assert_null(plan_promotion_for(p, day(2026, 11, 14), "SKU-1", NULL));
	/* a one-day promotion */
	assert_null(plan_promotion_for(p, day(2026, 12, 23), "GIFT", NULL));
	assert_ptr_equal(plan_promotion_for(p, day(2026, 12, 24), "GIFT", NULL), xmas);
	assert_null(plan_promotion_for(p, day(2026, 12, 25), "GIFT", NULL));
	/* sku and category are matched separately and exactly */
	assert_null(plan_promotion_for(p, day(2026, 12, 24), NULL, "GIFT"));
	assert_null(plan_promotion_for(p, day(2026, 11, 20), "skincare", NULL));
	assert_null(plan_promotion_for(p, day(2026, 11, 20), "sku-1", "Skincare"));
	assert_null(plan_promotion_for(p, day(2026, 11, 20), "SKU-1 ", "skincare "));
	assert_null(plan_promotion_for(p, day(2026, 11, 20), NULL, NULL));
	plan_free(p);
}

static void test_multipliers(void **state)
{
	(void)state;
	static const struct { const char *v; int64_t m; } ok[] = {
		{"0", 0}, {"1", 1000000}, {"2", 2000000}, {"1.5", 1500000}, {"0.123456", 123456},
		{"1000", 1000000000}, {"1000.000000", 1000000000}, {"\"3\"", 3000000},
	};
	char text[512], want[512];
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		snprintf(text, sizeof text,
			 HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
			 "    when: {skus: [A]}\n    pv_multiplier: %s\n", ok[i].v);
		plan *p = load_ok("mult", text);
		assert_int_equal(p->promos[0].pv_mult, ok[i].m);
		plan_free(p);
	}
	/* 7 decimals, sign, grouping, exponent, out of range: each refused at the value */
	static const char *const bad[] = {"1.0000001", "-1", "+2", "1e3", "1,5", "1.", ".5", "x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text,
			 HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
			 "    when: {skus: [A]}\n    cv_multiplier: \"%s\"\n", bad[i]);
		pd_diag d;
		load_bad("mult-bad", text, &d);
		snprintf(want, sizeof want, "@:10:20: cv_multiplier: \"%s\": ", bad[i]);
		assert_has_prefix(&d, want);
		assert_non_null(strstr(d.msgs[0], "(expected a decimal with at most 6 decimals)"));
		assert_count(&d, 1);
		pd_diag_free(&d);
	}
	assert_refused("mult-range",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n    pv_multiplier: 1000.000001\n",
		       "@:10:20: pv_multiplier: 1000.000001 is out of range 0..1000");
	assert_refused("mult-empty",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n    pv_multiplier: [2]\n",
		       "@:10:20: pv_multiplier: expected a value, found sequence");
}

/* ---- refusals ----------------------------------------------------------------- */

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_refused("top", HEAD "comissions: []\n",
		       "@:5:1: unknown key \"comissions\" in the plan (did you mean \"commissions\"?)");
	assert_refused("top2", HEAD "bonus_pool: 5\n",
		       "@:5:1: unknown key \"bonus_pool\" in the plan");
	assert_refused("promo",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n    pv_multiplyer: 2\n",
		       "@:10:5: unknown key \"pv_multiplyer\" in a promotion (did you mean \"pv_multiplier\"?)");
	assert_refused("when",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A], categorie: [x]}\n",
		       "@:9:23: unknown key \"categorie\" in when (did you mean \"categories\"?)");
	/* a misspelled required key: the unknown key and the missing one, both reported */
	pd_diag d;
	load_bad("currnecy", "plan: Test\ncurrnecy: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n", &d);
	assert_has(&d, "@:2:1: unknown key \"currnecy\" in the plan (did you mean \"currency\"?)");
	assert_has(&d, "@:1:1: plan: missing required key \"currency\"");
	assert_count(&d, 2);
	pd_diag_free(&d);
}

static void test_currency(void **state)
{
	(void)state;
	assert_refused("euro", "plan: Test\ncurrency: EURO\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:2:11: currency: \"EURO\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("eu", "plan: Test\ncurrency: EU\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:2:11: currency: \"EU\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("eur", "plan: Test\ncurrency: eur\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:2:11: currency: \"eur\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("e1r", "plan: Test\ncurrency: \"E1R\"\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:2:11: currency: \"E1R\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("nocur", "plan: Test\ncurrency:\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:2:10: currency: expected a value, found nothing");
}

static void test_timezone(void **state)
{
	(void)state;
	assert_refused("atlantis", "plan: Test\ncurrency: EUR\ntimezone: Europe/Atlantis\nperiod: monthly\n",
		       "@:3:11: timezone: \"Europe/Atlantis\" is not a known IANA time zone (like Europe/Berlin)");
	assert_refused("abs", "plan: Test\ncurrency: EUR\ntimezone: /etc/localtime\nperiod: monthly\n",
		       "@:3:11: timezone: \"/etc/localtime\" is not a known IANA time zone (like Europe/Berlin)");
	assert_refused("dots", "plan: Test\ncurrency: EUR\ntimezone: ../zoneinfo/UTC\nperiod: monthly\n",
		       "@:3:11: timezone: \"../zoneinfo/UTC\" is not a known IANA time zone (like Europe/Berlin)");
}

/*
 * BUG (rules/plan.c, zone_exists): a time zone is accepted when
 * /usr/share/zoneinfo/NAME is merely readable, so a folder ("Europe") or a
 * table file ("zone1970.tab", "tzdata.zi") passes plan_load and
 * `payoutctl rules check`, and is only refused later by
 * dates_set_timezone() (which checks for a regular TZif file) when the
 * daemon starts, without a FILE:LINE:COLUMN. Expected: refused by
 * plan_load at the value's position.
 */
static void test_timezone_not_a_zone_file(void **state)
{
	(void)state;
	static const char *const names[] = {"Europe", "zone1970.tab", "tzdata.zi"};
	char text[256], want[256];
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(text, sizeof text, "plan: Test\ncurrency: EUR\ntimezone: %s\nperiod: monthly\n", names[i]);
		snprintf(want, sizeof want,
			 "@:3:11: timezone: \"%s\" is not a known IANA time zone (like Europe/Berlin)", names[i]);
		assert_refused("notzone", text, want);
	}
}

static void test_period(void **state)
{
	(void)state;
	assert_refused("daily", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: daily\n",
		       "@:4:9: period: \"daily\" is not monthly or weekly");
	assert_refused("Monthly", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: Monthly\n",
		       "@:4:9: period: \"Monthly\" is not monthly or weekly");
	assert_refused("period-map", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: {every: month}\n",
		       "@:4:9: period: expected a value, found mapping");
}

static void test_promotion_dates(void **state)
{
	(void)state;
	assert_refused("to-before-from",
		       HEAD "promotions:\n  - id: p\n    from: 2026-11-30\n    to: 2026-11-01\n"
		       "    when: {skus: [A]}\n",
		       "@:8:9: to: the promotion ends before it starts");
	/* one day (to == from) is fine: see test_promotion_for */
	pd_diag d;
	load_bad("bad-date",
		 HEAD "promotions:\n  - id: p\n    from: 2026-02-30\n    to: 26-03-01\n"
		 "    when: {skus: [A]}\n",
		 &d);
	assert_has_prefix(&d, "@:7:11: from: \"2026-02-30\" is not a date YYYY-MM-DD (");
	assert_has_prefix(&d, "@:8:9: to: \"26-03-01\" is not a date YYYY-MM-DD (");
	assert_count(&d, 2); /* and no "ends before it starts" on top */
	pd_diag_free(&d);
}

static void test_promotion_structure(void **state)
{
	(void)state;
	/* missing keys are reported at the promotion's own position */
	pd_diag d;
	load_bad("promo-empty", HEAD "promotions:\n  - pv_multiplier: 2\n", &d);
	assert_has(&d, "@:6:5: promotion: missing required key \"id\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"from\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"to\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"when\"");
	assert_count(&d, 4);
	pd_diag_free(&d);

	assert_refused("when-empty",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [], categories: []}\n",
		       "@:9:11: when: name at least one category or sku");
	assert_refused("when-scalar",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: skincare\n",
		       "@:9:11: when: expected a mapping with categories and/or skus");
	/* a list of the wrong shape; "name at least one" follows from it */
	load_bad("skus-scalar",
		 HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		 "    when: {skus: A}\n",
		 &d);
	assert_has(&d, "@:9:18: skus: expected a list, found scalar");
	assert_has(&d, "@:9:11: when: name at least one category or sku");
	assert_count(&d, 2);
	pd_diag_free(&d);
	assert_refused("promos-map", HEAD "promotions:\n  id: p\n",
		       "@:6:3: promotions: expected a list");
	assert_refused("promo-scalar", HEAD "promotions:\n  - p\n",
		       "@:6:5: promotions: each entry must be a mapping");
}

static void test_duplicate_promotion_id(void **state)
{
	(void)state;
	assert_refused("dup-id",
		       HEAD "promotions:\n"
		       "  - id: p\n"                            /* 6 */
		       "    from: 2026-01-01\n"
		       "    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n"
		       "  - id: q\n"                            /* 10 */
		       "    from: 2026-01-01\n"
		       "    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n"
		       "  - id: p\n"                            /* 14 */
		       "    from: 2026-02-01\n"
		       "    to: 2026-02-28\n"
		       "    when: {skus: [B]}\n",
		       "@:14:5: promotions: id \"p\" is used twice");
}

static void test_missing_required(void **state)
{
	(void)state;
	pd_diag d;
	load_bad("empty", "", &d);
	assert_has(&d, "@:1:1: plan: missing required key \"plan\"");
	assert_has(&d, "@:1:1: plan: missing required key \"currency\"");
	assert_has(&d, "@:1:1: plan: missing required key \"timezone\"");
	assert_has(&d, "@:1:1: plan: missing required key \"period\"");
	assert_count(&d, 4);
	pd_diag_free(&d);

	load_bad("some", "# comment\n\nperiod: weekly\ncurrency: EUR\n", &d);
	assert_has(&d, "@:3:1: plan: missing required key \"plan\"");
	assert_has(&d, "@:3:1: plan: missing required key \"timezone\"");
	assert_count(&d, 2);
	pd_diag_free(&d);

	assert_refused("list", "- plan: x\n", "@:1:1: the plan must be a mapping of keys to values");
	assert_refused("nullname", "plan: ~\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n",
		       "@:1:7: plan: expected a value, found nothing");
}

/* Every problem of a file is reported, each at its own position. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	pd_diag d;
	load_bad("many",
		 "plan: Test\n"                       /* 1 */
		 "currency: EURO\n"                   /* 2 */
		 "timezone: Mars/Olympus_Mons\n"      /* 3 */
		 "period: daily\n"                    /* 4 */
		 "activty: {min_pv: 100}\n"           /* 5 */
		 "promotions:\n"                      /* 6 */
		 "  - id: a\n"                        /* 7 */
		 "    from: 2026-11-30\n"             /* 8 */
		 "    to: 2026-11-01\n"               /* 9 */
		 "    when: {categories: [x]}\n"      /* 10 */
		 "    pv_multiplier: 1.0000001\n"     /* 11 */
		 "  - id: a\n"                        /* 12 */
		 "    from: 2026-11-01\n"             /* 13 */
		 "    to: 2026-11-30\n"               /* 14 */
		 "    when: {skus: [S]}\n",           /* 15 */
		 &d);
	assert_has(&d, "@:2:11: currency: \"EURO\" is not a three-letter ISO 4217 code like EUR");
	assert_has(&d, "@:3:11: timezone: \"Mars/Olympus_Mons\" is not a known IANA time zone (like Europe/Berlin)");
	assert_has(&d, "@:4:9: period: \"daily\" is not monthly or weekly");
	assert_has(&d, "@:5:1: unknown key \"activty\" in the plan (did you mean \"activity\"?)");
	assert_has(&d, "@:9:9: to: the promotion ends before it starts");
	assert_has_prefix(&d, "@:11:20: pv_multiplier: \"1.0000001\": ");
	assert_has(&d, "@:12:5: promotions: id \"a\" is used twice");
	assert_count(&d, 7);
	pd_diag_free(&d);

	/* a missing file: one message naming it */
	snprintf(path, sizeof path, "%s/no-such-plan.yaml", tmpdir);
	pd_diag m = {0};
	plan *p = NULL;
	assert_int_equal(plan_load(path, &p, &m), -1);
	assert_null(p);
	assert_int_equal(pd_diag_count(&m), 1);
	assert_non_null(strstr(m.msgs[0], path));
	pd_diag_free(&m);
}

/*
 * BUG (rules/plan.c, plan_load; contract in rules/plan.h): the header says
 * the commission sections (activity, ranks, commissions, caps, fees,
 * min_payout) are "checked to be present in the right shape", but plan_load
 * only recognises their keys: any value is accepted. Expected: a section of
 * the wrong shape is refused at its position.
 */
static void test_commission_sections_shape(void **state)
{
	(void)state;
	pd_diag d;
	load_bad("shapes",
		 HEAD
		 "activity: [100]\n"          /* 5: a mapping is expected */
		 "ranks: gold\n"              /* 6: a list */
		 "commissions: {retail: 1}\n" /* 7: a list */
		 "caps: 0.45\n"               /* 8: a mapping */
		 "fees: {amount: 1}\n"        /* 9: a list */
		 "min_payout: [10]\n",        /* 10: a scalar */
		 &d);
	assert_has_prefix(&d, "@:5:11: ");
	assert_has_prefix(&d, "@:6:8: ");
	assert_has_prefix(&d, "@:7:14: ");
	assert_has_prefix(&d, "@:8:7: ");
	assert_has_prefix(&d, "@:9:7: ");
	assert_has_prefix(&d, "@:10:13: ");
	pd_diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_demo_plan),
		cmocka_unit_test(test_minimal_and_weekly),
		cmocka_unit_test(test_promotion_for),
		cmocka_unit_test(test_multipliers),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_currency),
		cmocka_unit_test(test_timezone),
		cmocka_unit_test(test_timezone_not_a_zone_file),
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_promotion_dates),
		cmocka_unit_test(test_promotion_structure),
		cmocka_unit_test(test_duplicate_promotion_id),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_commission_sections_shape),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
