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

#include <dirent.h>
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

/* Four of the five required keys, lines 1-4. */
#define HEAD "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n"
/* The fifth, one rank: appended at the end of a text so that the line
 * numbers of everything before it do not depend on it. */
#define RANKS "ranks: [{id: partner}]\n"

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
	plan *p = load_ok("min", HEAD RANKS);
	assert_string_equal(p->name, "Test");
	assert_int_equal(p->n_promos, 0);
	assert_null(plan_promotion_for(p, day(2026, 1, 1), "A", "b"));
	plan_free(p);

	p = load_ok("weekly", "plan: \"Weekly: plan\"\ncurrency: CHF\ntimezone: America/New_York\nperiod: weekly\npromotions:\n" RANKS);
	assert_string_equal(p->name, "Weekly: plan");
	assert_string_equal(p->currency, "CHF");
	assert_string_equal(p->timezone, "America/New_York");
	assert_int_equal(p->period, PERIOD_WEEKLY);
	assert_int_equal(p->n_promos, 0);
	plan_free(p);

	p = load_ok("utc", "plan: T\ncurrency: USD\ntimezone: UTC\nperiod: monthly\npromotions: []\n" RANKS);
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
			  "    cv_multiplier: 1000\n" RANKS);
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
			 "    when: {skus: [A]}\n    pv_multiplier: %s\n" RANKS, ok[i].v);
		plan *p = load_ok("mult", text);
		assert_int_equal(p->promos[0].pv_mult, ok[i].m);
		plan_free(p);
	}
	/* 7 decimals, sign, grouping, exponent, out of range: each refused at the value */
	static const char *const bad[] = {"1.0000001", "-1", "+2", "1e3", "1,5", "1.", ".5", "x"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text,
			 HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
			 "    when: {skus: [A]}\n    cv_multiplier: \"%s\"\n" RANKS, bad[i]);
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
		       "    when: {skus: [A]}\n    pv_multiplier: 1000.000001\n" RANKS,
		       "@:10:20: pv_multiplier: 1000.000001 is out of range 0..1000");
	assert_refused("mult-empty",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n    pv_multiplier: [2]\n" RANKS,
		       "@:10:20: pv_multiplier: expected a value, found sequence");
}

/* ---- refusals ----------------------------------------------------------------- */

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_refused("top", HEAD "comissions: []\n" RANKS,
		       "@:5:1: unknown key \"comissions\" in the plan (did you mean \"commissions\"?)");
	assert_refused("top2", HEAD "bonus_pool: 5\n" RANKS,
		       "@:5:1: unknown key \"bonus_pool\" in the plan");
	assert_refused("promo",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A]}\n    pv_multiplyer: 2\n" RANKS,
		       "@:10:5: unknown key \"pv_multiplyer\" in a promotion (did you mean \"pv_multiplier\"?)");
	assert_refused("when",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [A], categorie: [x]}\n" RANKS,
		       "@:9:23: unknown key \"categorie\" in when (did you mean \"categories\"?)");
	/* a misspelled required key: the unknown key and the missing one, both reported */
	pd_diag d;
	load_bad("currnecy", "plan: Test\ncurrnecy: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS, &d);
	assert_has(&d, "@:2:1: unknown key \"currnecy\" in the plan (did you mean \"currency\"?)");
	assert_has(&d, "@:1:1: plan: missing required key \"currency\"");
	assert_count(&d, 2);
	pd_diag_free(&d);
}

static void test_currency(void **state)
{
	(void)state;
	assert_refused("euro", "plan: Test\ncurrency: EURO\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
		       "@:2:11: currency: \"EURO\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("eu", "plan: Test\ncurrency: EU\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
		       "@:2:11: currency: \"EU\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("eur", "plan: Test\ncurrency: eur\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
		       "@:2:11: currency: \"eur\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("e1r", "plan: Test\ncurrency: \"E1R\"\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
		       "@:2:11: currency: \"E1R\" is not a three-letter ISO 4217 code like EUR");
	assert_refused("nocur", "plan: Test\ncurrency:\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
		       "@:2:10: currency: expected a value, found nothing");
}

static void test_timezone(void **state)
{
	(void)state;
	assert_refused("atlantis", "plan: Test\ncurrency: EUR\ntimezone: Europe/Atlantis\nperiod: monthly\n" RANKS,
		       "@:3:11: timezone: \"Europe/Atlantis\" is not a known IANA time zone (like Europe/Berlin)");
	assert_refused("abs", "plan: Test\ncurrency: EUR\ntimezone: /etc/localtime\nperiod: monthly\n" RANKS,
		       "@:3:11: timezone: \"/etc/localtime\" is not a known IANA time zone (like Europe/Berlin)");
	assert_refused("dots", "plan: Test\ncurrency: EUR\ntimezone: ../zoneinfo/UTC\nperiod: monthly\n" RANKS,
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
		snprintf(text, sizeof text, "plan: Test\ncurrency: EUR\ntimezone: %s\nperiod: monthly\n" RANKS, names[i]);
		snprintf(want, sizeof want,
			 "@:3:11: timezone: \"%s\" is not a known IANA time zone (like Europe/Berlin)", names[i]);
		assert_refused("notzone", text, want);
	}
}

static void test_period(void **state)
{
	(void)state;
	assert_refused("daily", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: daily\n" RANKS,
		       "@:4:9: period: \"daily\" is not monthly or weekly");
	assert_refused("Monthly", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: Monthly\n" RANKS,
		       "@:4:9: period: \"Monthly\" is not monthly or weekly");
	assert_refused("period-map", "plan: Test\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: {every: month}\n" RANKS,
		       "@:4:9: period: expected a value, found mapping");
}

static void test_promotion_dates(void **state)
{
	(void)state;
	assert_refused("to-before-from",
		       HEAD "promotions:\n  - id: p\n    from: 2026-11-30\n    to: 2026-11-01\n"
		       "    when: {skus: [A]}\n" RANKS,
		       "@:8:9: to: the promotion ends before it starts");
	/* one day (to == from) is fine: see test_promotion_for */
	pd_diag d;
	load_bad("bad-date",
		 HEAD "promotions:\n  - id: p\n    from: 2026-02-30\n    to: 26-03-01\n"
		 "    when: {skus: [A]}\n" RANKS,
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
	load_bad("promo-empty", HEAD "promotions:\n  - pv_multiplier: 2\n" RANKS, &d);
	assert_has(&d, "@:6:5: promotion: missing required key \"id\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"from\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"to\"");
	assert_has(&d, "@:6:5: promotion: missing required key \"when\"");
	assert_count(&d, 4);
	pd_diag_free(&d);

	assert_refused("when-empty",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: {skus: [], categories: []}\n" RANKS,
		       "@:9:11: when: name at least one category or sku");
	assert_refused("when-scalar",
		       HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		       "    when: skincare\n" RANKS,
		       "@:9:11: when: expected a mapping with categories and/or skus");
	/* a list of the wrong shape; "name at least one" follows from it */
	load_bad("skus-scalar",
		 HEAD "promotions:\n  - id: p\n    from: 2026-01-01\n    to: 2026-01-31\n"
		 "    when: {skus: A}\n" RANKS,
		 &d);
	assert_has(&d, "@:9:18: skus: expected a list, found scalar");
	assert_has(&d, "@:9:11: when: name at least one category or sku");
	assert_count(&d, 2);
	pd_diag_free(&d);
	assert_refused("promos-map", HEAD "promotions:\n  id: p\n" RANKS,
		       "@:6:3: promotions: expected a list");
	assert_refused("promo-scalar", HEAD "promotions:\n  - p\n" RANKS,
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
		       "    when: {skus: [B]}\n" RANKS,
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
	assert_has(&d, "@:1:1: plan: missing required key \"ranks\"");
	assert_count(&d, 5);
	pd_diag_free(&d);

	load_bad("some", "# comment\n\nperiod: weekly\ncurrency: EUR\n", &d);
	assert_has(&d, "@:3:1: plan: missing required key \"plan\"");
	assert_has(&d, "@:3:1: plan: missing required key \"timezone\"");
	assert_has(&d, "@:3:1: plan: missing required key \"ranks\"");
	assert_count(&d, 3);
	pd_diag_free(&d);

	assert_refused("list", "- plan: x\n", "@:1:1: the plan must be a mapping of keys to values");
	assert_refused("nullname", "plan: ~\ncurrency: EUR\ntimezone: Europe/Berlin\nperiod: monthly\n" RANKS,
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
		 "    when: {skus: [S]}\n"           /* 15 */
		 RANKS,                               /* 16 */
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
 * A commission section (activity, ranks, commissions, caps, fees,
 * min_payout) of the wrong shape is refused at its position, once: nothing
 * inside it is read.
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

/* ---- the commission sections ------------------------------------------------ */

/* Three ranks, lines 5-10; commissions start at line 11. */
#define RANKS3                                      \
	"ranks:\n"                           /* 5 */  \
	"  - id: partner\n"                  /* 6 */  \
	"  - id: silver\n"                   /* 7 */  \
	"    requires: {pv: 100}\n"          /* 8 */  \
	"  - id: gold\n"                     /* 9 */  \
	"    requires: {pv: 100, gv: 5000}\n" /* 10 */

static const char *test_data(void)
{
	const char *data = getenv("PAYOUTD_TEST_DATA");
	if (!data)
		print_message("PAYOUTD_TEST_DATA is not set: skipped\n");
	return data;
}

/* Every number of the SPEC 6 example, as the engine will read it. */
static void check_example_plan(const plan *p)
{
	assert_int_equal(p->activity_min_pv, 10000);

	assert_int_equal(p->n_ranks, 4);
	const plan_rank *partner = &p->ranks[0], *bronze = &p->ranks[1], *silver = &p->ranks[2],
			*gold = &p->ranks[3];
	assert_string_equal(partner->id, "partner");
	assert_string_equal(bronze->id, "bronze");
	assert_string_equal(silver->id, "silver");
	assert_string_equal(gold->id, "gold");
	assert_false(partner->has_pv || partner->has_gv || partner->has_max_leg_share || partner->has_legs ||
		     partner->has_active_recruits);
	assert_int_equal(partner->periods, 1);
	assert_true(bronze->has_pv && bronze->has_gv);
	assert_false(bronze->has_max_leg_share || bronze->has_legs || bronze->has_active_recruits);
	assert_int_equal(bronze->pv, 10000);
	assert_int_equal(bronze->gv, 100000);
	assert_int_equal(bronze->periods, 1);
	assert_true(silver->has_pv && silver->has_gv && silver->has_max_leg_share && silver->has_legs);
	assert_false(silver->has_active_recruits);
	assert_int_equal(silver->pv, 10000);
	assert_int_equal(silver->gv, 500000);
	assert_int_equal(silver->max_leg_share, 500000);
	assert_int_equal(silver->legs_count, 2);
	assert_int_equal(silver->legs_min_rank, 1); /* bronze */
	assert_int_equal(silver->periods, 1);
	assert_true(gold->has_pv && gold->has_gv && gold->has_max_leg_share && gold->has_legs &&
		    gold->has_active_recruits);
	assert_int_equal(gold->pv, 15000);
	assert_int_equal(gold->gv, 2000000);
	assert_int_equal(gold->max_leg_share, 500000);
	assert_int_equal(gold->legs_count, 3);
	assert_int_equal(gold->legs_min_rank, 2); /* silver */
	assert_int_equal(gold->active_recruits, 4);
	assert_int_equal(gold->periods, 2);

	assert_true(p->has_retail);
	assert_int_equal(p->retail_rate, 200000);
	assert_true(p->has_unilevel);
	assert_true(p->unilevel_dynamic);
	assert_int_equal(p->unilevel_max_levels, 7);
	static const int levels[4] = {1, 3, 5, 7};
	static const int64_t rates[4][7] = {
		{50000, 0, 0, 0, 0, 0, 0},
		{50000, 40000, 30000, 0, 0, 0, 0},
		{50000, 40000, 30000, 20000, 20000, 0, 0},
		{50000, 40000, 30000, 20000, 20000, 10000, 10000},
	};
	for (int r = 0; r < 4; r++) {
		assert_int_equal(p->unilevel_levels[r], levels[r]);
		for (int k = 1; k <= 7; k++) {
			assert_int_equal(p->unilevel_rates[r * 7 + k - 1], rates[r][k - 1]);
			assert_int_equal(plan_unilevel_rate(p, r, k), rates[r][k - 1]);
		}
		assert_int_equal(plan_unilevel_rate(p, r, 0), 0);
		assert_int_equal(plan_unilevel_rate(p, r, 8), 0);
	}
	assert_int_equal(plan_unilevel_rate(p, -1, 1), 0);
	assert_int_equal(plan_unilevel_rate(p, 4, 1), 0);

	assert_true(p->has_rank_advancement);
	assert_int_equal(p->advancement_bonus[0], 0);
	assert_int_equal(p->advancement_bonus[1], 0);
	assert_int_equal(p->advancement_bonus[2], 25000);
	assert_int_equal(p->advancement_bonus[3], 100000);

	assert_true(p->has_cap);
	assert_int_equal(p->cap_payout_ratio, 450000);
	assert_int_equal(p->n_fees, 1);
	assert_string_equal(p->fees[0].name, "statement fee");
	assert_int_equal(p->fees[0].amount, 150);
	assert_int_equal(p->min_payout, 1000);
}

static void test_example_plan_numbers(void **state)
{
	(void)state;
	const char *data = test_data();
	if (!data)
		skip();
	static const char *const files[] = {"demo/plan.yaml", "rules/plans/example-unilevel.yaml"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char file[1024];
		snprintf(file, sizeof file, "%s/../../%s", data, files[i]);
		pd_diag d = {0};
		plan *p = NULL;
		if (plan_load(file, &p, &d) != 0)
			fail_msg("%s refused: %s", file, d.n ? d.msgs[0] : "(no message)");
		check_example_plan(p);
		plan_free(p);
		pd_diag_free(&d);
	}
}

static int yaml_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 5 && strcmp(e->d_name + n - 5, ".yaml") == 0;
}

/* Every shipped example plan is valid; the two besides the SPEC example are
 * checked where they differ from it. */
static void test_shipped_plans(void **state)
{
	(void)state;
	const char *data = test_data();
	if (!data)
		skip();
	char dir[1024], file[1400];
	snprintf(dir, sizeof dir, "%s/../../rules/plans", data);
	struct dirent **names = NULL;
	int n = scandir(dir, &names, yaml_name, alphasort);
	assert_true(n >= 3);
	int seen = 0;
	for (int i = 0; i < n; i++) {
		snprintf(file, sizeof file, "%s/%s", dir, names[i]->d_name);
		pd_diag d = {0};
		plan *p = NULL;
		if (plan_load(file, &p, &d) != 0) {
			print_all(&d);
			fail_msg("%s refused", file);
		}
		assert_true(p->n_ranks >= 1);
		if (strcmp(names[i]->d_name, "party-plan-weekly.yaml") == 0) {
			seen++;
			assert_string_equal(p->currency, "USD");
			assert_string_equal(p->timezone, "America/New_York");
			assert_int_equal(p->period, PERIOD_WEEKLY);
			assert_int_equal(p->n_ranks, 3);
			assert_int_equal(p->retail_rate, 250000);
			assert_false(p->unilevel_dynamic);
			assert_int_equal(p->unilevel_max_levels, 3);
			assert_int_equal(p->unilevel_levels[0], 0);
			assert_int_equal(plan_unilevel_rate(p, 0, 1), 0);
			assert_int_equal(plan_unilevel_rate(p, 1, 2), 20000);
			assert_int_equal(plan_unilevel_rate(p, 1, 3), 0);
			assert_int_equal(plan_unilevel_rate(p, 2, 3), 20000);
			assert_int_equal(p->ranks[2].legs_min_rank, 1);
			assert_false(p->has_rank_advancement);
			assert_false(p->has_cap);
			assert_int_equal(p->n_fees, 1);
			assert_int_equal(p->fees[0].amount, 75);
			assert_int_equal(p->min_payout, 2000);
		} else if (strcmp(names[i]->d_name, "wellness-5-ranks.yaml") == 0) {
			seen++;
			assert_int_equal(p->period, PERIOD_MONTHLY);
			assert_int_equal(p->n_ranks, 5);
			const plan_rank *top = &p->ranks[4];
			assert_string_equal(top->id, "executive");
			assert_int_equal(top->gv, 4000000);
			assert_int_equal(top->max_leg_share, 400000);
			assert_int_equal(top->legs_count, 4);
			assert_int_equal(top->legs_min_rank, 3);
			assert_int_equal(top->active_recruits, 5);
			assert_int_equal(top->periods, 3);
			assert_int_equal(p->ranks[3].periods, 1);
			assert_int_equal(p->unilevel_max_levels, 6);
			assert_int_equal(plan_unilevel_rate(p, 3, 6), 0);
			assert_int_equal(plan_unilevel_rate(p, 4, 6), 20000);
			assert_int_equal(p->advancement_bonus[1], 0);
			assert_int_equal(p->advancement_bonus[4], 250000);
			assert_int_equal(p->cap_payout_ratio, 400000);
			assert_int_equal(p->n_promos, 2);
			assert_int_equal(p->promos[1].cv_mult, 1250000);
			assert_int_equal(p->n_fees, 0);
			assert_int_equal(p->min_payout, 2500);
		}
		plan_free(p);
		pd_diag_free(&d);
		free(names[i]);
	}
	free(names);
	assert_int_equal(seen, 2);
}

/* Optional sections absent or empty: their defaults. */
static void test_defaults(void **state)
{
	(void)state;
	plan *p = load_ok("defaults", HEAD "activity:\ncommissions:\ncaps:\nfees: []\nmin_payout:\n" RANKS);
	assert_int_equal(p->activity_min_pv, 0);
	assert_int_equal(p->n_ranks, 1);
	assert_string_equal(p->ranks[0].id, "partner");
	assert_int_equal(p->ranks[0].periods, 1);
	assert_false(p->has_retail || p->has_unilevel || p->has_rank_advancement || p->has_cap);
	assert_int_equal(p->n_fees, 0);
	assert_int_equal(p->min_payout, 0);
	assert_int_equal(plan_unilevel_rate(p, 0, 1), 0);
	plan_free(p);

	/* quoted and plain numbers alike; compression none; a rank missing from
	 * levels; an empty list; min_rank naming a higher rank; retail + the
	 * largest level sum exactly 100% */
	p = load_ok("quoted",
		    HEAD
		    "activity: {min_pv: \"0\"}\n"
		    "ranks:\n"
		    "  - id: partner\n"
		    "  - id: silver\n"
		    "    requires: {gv: \"250.5\", legs: {count: \"1\", min_rank: gold}, periods: 12}\n"
		    "  - id: gold\n"
		    "    requires: {max_leg_share: 1, active_recruits: 1000000}\n"
		    "commissions:\n"
		    "  - type: unilevel\n"
		    "    compression: none\n"
		    "    levels: {silver: [], gold: [\"0.5\", 0.25, 0.000001]}\n"
		    "  - {type: retail, rate: \"0.249999\"}\n"
		    "caps: {payout_ratio: 0}\n"
		    "min_payout: 0\n");
	assert_int_equal(p->ranks[1].gv, 25050);
	assert_int_equal(p->ranks[1].legs_count, 1);
	assert_int_equal(p->ranks[1].legs_min_rank, 2);
	assert_int_equal(p->ranks[1].periods, 12);
	assert_false(p->ranks[1].has_pv);
	assert_int_equal(p->ranks[2].max_leg_share, 1000000);
	assert_int_equal(p->ranks[2].active_recruits, 1000000);
	assert_false(p->unilevel_dynamic);
	assert_int_equal(p->unilevel_max_levels, 3);
	assert_int_equal(p->unilevel_levels[0], 0);
	assert_int_equal(p->unilevel_levels[1], 0);
	assert_int_equal(p->unilevel_levels[2], 3);
	assert_int_equal(plan_unilevel_rate(p, 2, 3), 1);
	assert_int_equal(p->retail_rate, 249999);
	assert_true(p->has_cap);
	assert_int_equal(p->cap_payout_ratio, 0);
	plan_free(p);
}

static void test_rank_errors(void **state)
{
	(void)state;
	assert_refused("rank-require",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n    require: {pv: 100}\n",
		       "@:8:5: unknown key \"require\" in a rank (did you mean \"requires\"?)");
	assert_refused("rank-periods-outside",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {pv: 100}\n    periods: 2\n",
		       "@:9:5: periods: a requirement is written inside \"requires\" (requires: { periods: ... })");
	assert_refused("first-rank-requires",
		       HEAD "ranks:\n  - id: partner\n    requires: {pv: 10}\n  - id: gold\n",
		       "@:7:5: requires: the first rank is everybody's starting rank and cannot have requirements");
	assert_refused("min-rank-unknown",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n"
		       "    requires: {legs: {count: 2, min_rank: platinum}}\n",
		       "@:8:43: min_rank: \"platinum\" is not a rank of this plan");
	assert_refused("min-rank-near",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n"
		       "    requires: {legs: {count: 2, min_rank: glod}}\n",
		       "@:8:43: min_rank: \"glod\" is not a rank of this plan (did you mean \"gold\"?)");
	assert_refused("dup-rank",
		       HEAD "ranks:\n  - id: partner\n  - id: silver\n  - id: silver\n",
		       "@:8:9: ranks: id \"silver\" is used twice (first at line 7)");
	assert_refused("periods-0",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {gv: 100, periods: 0}\n",
		       "@:8:34: periods: 0 is out of range 1..1000");
	assert_refused("no-ranks", HEAD "ranks: []\n",
		       "@:5:8: ranks: expected a non-empty list of ranks, lowest first");
	assert_refused("null-ranks", HEAD "ranks:\n",
		       "@:5:7: ranks: expected a non-empty list of ranks, lowest first");
	assert_refused("rank-no-id", HEAD "ranks:\n  - id: partner\n  - requires: {pv: 1}\n",
		       "@:7:5: rank: missing required key \"id\"");
	assert_refused("rank-empty-id", HEAD "ranks:\n  - id: \"\"\n",
		       "@:6:9: id: expected a value, found nothing");
	assert_refused("rank-scalar", HEAD "ranks:\n  - partner\n",
		       "@:6:5: ranks: each entry must be a mapping with id and requires");
	assert_refused("requires-list", HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: [pv]\n",
		       "@:8:15: requires: expected a mapping of requirements, found sequence");
	assert_refused("requires-unknown", HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {pvv: 100}\n",
		       "@:8:16: unknown key \"pvv\" in requires (did you mean \"pv\"?)");
	assert_refused("legs-unknown",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n"
		       "    requires: {legs: {count: 2, min_rank: partner, mni_rank: gold}}\n",
		       "@:8:52: unknown key \"mni_rank\" in legs (did you mean \"min_rank\"?)");
	assert_refused("legs-missing",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {legs: {count: 2}}\n",
		       "@:8:22: legs: missing required key \"min_rank\"");
	assert_refused("mls-0", HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {max_leg_share: 0}\n",
		       "@:8:31: max_leg_share: 0 must be greater than 0 (no leg could count)");
	assert_refused("pv-negative", HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {pv: -1}\n",
		       "@:8:20: pv: -1 must not be negative");
	assert_refused("gv-decimals", HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {gv: 10.001}\n",
		       "@:8:20: gv: \"10.001\": more than 2 decimals (expected a volume with at most 2 decimals)");
	assert_refused("min-pv-negative", HEAD "activity: {min_pv: -5}\n" RANKS,
		       "@:5:20: min_pv: -5 must not be negative");
	assert_refused("activity-key", HEAD "activity: {min_gv: 5}\n" RANKS,
		       "@:5:12: unknown key \"min_gv\" in activity (did you mean \"min_pv\"?)");

	/* whole numbers: digits only, bounded */
	static const char *const bad[] = {"2.0", "-1", "+3", "1e3", "two", "0x10", "1 000"};
	char text[512], want[512];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text,
			 HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {active_recruits: \"%s\"}\n", bad[i]);
		snprintf(want, sizeof want, "@:8:33: active_recruits: \"%s\" is not a whole number", bad[i]);
		assert_refused("whole", text, want);
	}
	assert_refused("whole-big",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n    requires: {active_recruits: 1000001}\n",
		       "@:8:33: active_recruits: 1000001 is out of range 1..1000000");
	assert_refused("whole-huge",
		       HEAD "ranks:\n  - id: partner\n  - id: gold\n"
		       "    requires: {legs: {count: 99999999999999999999999, min_rank: partner}}\n",
		       "@:8:30: count: 99999999999999999999999 is out of range 1..1000000");

	/* at most PLAN_MAX_RANKS (100) ranks */
	static char big[8192];
	size_t len = (size_t)snprintf(big, sizeof big, HEAD "ranks:\n");
	for (int i = 0; i < 101; i++)
		len += (size_t)snprintf(big + len, sizeof big - len, "  - id: r%d\n", i);
	assert_refused("too-many-ranks", big, "@:6:3: ranks: 101 ranks, at most 100 are allowed");
}

static void test_commission_errors(void **state)
{
	(void)state;
	assert_refused("rate-decimals", HEAD RANKS3 "commissions:\n  - type: retail\n    rate: 0.1234567\n",
		       "@:13:11: rate: \"0.1234567\": more than 6 decimals "
		       "(expected a rate between 0 and 1 with at most 6 decimals)");
	assert_refused("rate-big", HEAD RANKS3 "commissions:\n  - type: retail\n    rate: 1.5\n",
		       "@:13:11: rate: 1.5 must be between 0 and 1");
	assert_refused("rate-negative", HEAD RANKS3 "commissions:\n  - type: retail\n    rate: -0.1\n",
		       "@:13:11: rate: -0.1 must be between 0 and 1");
	assert_refused("rate-missing", HEAD RANKS3 "commissions:\n  - type: retail\n",
		       "@:12:5: retail commission: missing required key \"rate\"");
	assert_refused("retail-key", HEAD RANKS3 "commissions:\n  - type: retail\n    rate: 0.1\n    rtae: 0.1\n",
		       "@:14:5: unknown key \"rtae\" in a retail commission (did you mean \"rate\"?)");
	assert_refused("bonus-negative",
		       HEAD RANKS3 "commissions:\n  - type: rank_advancement\n    bonus: {silver: 250, gold: -250.00}\n",
		       "@:13:32: bonus of gold: -250.00 must be greater than 0");
	assert_refused("bonus-zero",
		       HEAD RANKS3 "commissions:\n  - type: rank_advancement\n    bonus: {silver: 0.00}\n",
		       "@:13:21: bonus of silver: 0.00 must be greater than 0");
	assert_refused("bonus-unknown-rank",
		       HEAD RANKS3 "commissions:\n  - type: rank_advancement\n    bonus: {platinum: 100}\n",
		       "@:13:13: bonus: \"platinum\" is not a rank of this plan");
	assert_refused("bonus-first-rank",
		       HEAD RANKS3 "commissions:\n  - type: rank_advancement\n    bonus: {partner: 100}\n",
		       "@:13:13: bonus: \"partner\" is the first rank, which everybody holds from the start; "
		       "its bonus could never be paid");
	assert_refused("bonus-cents",
		       HEAD RANKS3 "commissions:\n  - type: rank_advancement\n    bonus: {gold: 1.005}\n",
		       "@:13:19: bonus of gold: \"1.005\": more than 2 decimals (expected an amount with at most 2 decimals)");
	assert_refused("levels-near-miss",
		       HEAD RANKS3 "commissions:\n  - type: unilevel\n    levels:\n"
		       "      partner: [0.05]\n      sliver: [0.05, 0.04]\n",
		       "@:15:7: levels: \"sliver\" is not a rank of this plan (did you mean \"silver\"?)");
	assert_refused("level-rate",
		       HEAD RANKS3 "commissions:\n  - type: unilevel\n    levels:\n      gold: [0.05, 0.0000001]\n",
		       "@:14:20: level 2 of gold: \"0.0000001\": more than 6 decimals "
		       "(expected a rate between 0 and 1 with at most 6 decimals)");
	assert_refused("levels-scalar",
		       HEAD RANKS3 "commissions:\n  - type: unilevel\n    levels:\n      gold: 0.05\n",
		       "@:14:13: levels of gold: expected a list of rates, one per level, found scalar");
	assert_refused("levels-missing", HEAD RANKS3 "commissions:\n  - type: unilevel\n",
		       "@:12:5: unilevel commission: missing required key \"levels\"");
	assert_refused("type-twice",
		       HEAD RANKS3 "commissions:\n  - type: retail\n    rate: 0.1\n  - type: retail\n    rate: 0.2\n",
		       "@:14:11: commission type \"retail\" is listed twice (first at line 12)");
	assert_refused("unilvl", HEAD RANKS3 "commissions:\n  - type: unilvl\n    levels: {gold: [0.1]}\n",
		       "@:12:11: unknown commission type \"unilvl\" (did you mean \"unilevel\"?); "
		       "supported: retail, unilevel, rank_advancement, differential, fast_start, pool, matching");
	assert_refused("sign-up-bonus", HEAD RANKS3 "commissions:\n  - type: enrollment\n    amount: 50\n",
		       "@:12:11: unknown commission type \"enrollment\"; supported: retail, unilevel, rank_advancement, "
		       "differential, fast_start, pool, matching");
	assert_refused("no-type", HEAD RANKS3 "commissions:\n  - rate: 0.1\n",
		       "@:12:5: commission: missing required key \"type\"");
	assert_refused("entry-scalar", HEAD RANKS3 "commissions:\n  - retail\n",
		       "@:12:5: commissions: each entry must be a mapping with a type");
	assert_refused("compression",
		       HEAD RANKS3 "commissions:\n  - type: unilevel\n    compression: static\n    levels: {gold: [0.05]}\n",
		       "@:13:18: compression: \"static\" is not dynamic or none");
}

/* ---- the SPEC 6.8 families: every key, its range, its place ----------------- */

#define C11 "commissions:\n" /* 11 */

static void test_families_ok(void **state)
{
	(void)state;
	plan *p = load_ok("families",
			  HEAD RANKS3 C11
			  "  - type: differential\n"
			  "    brackets:\n"
			  "      - { from: 1000, rate: 0.09 }\n"
			  "      - { from: 2000.50, rate: 0.06 }\n"
			  "  - type: binary\n"
			  "    rate: 0.1\n"
			  "    volume: pv\n"
			  "    carry: false\n"
			  "    cap: 5000.00\n"
			  "  - type: fast_start\n"
			  "    days: 60\n"
			  "    levels: [0.05, 0.02]\n"
			  "    exclusive: true\n"
			  "  - type: pool\n"
			  "    name: leadership pool\n"
			  "    share: 0.02\n"
			  "    shares: { silver: 1, gold: 5 }\n"
			  "  - type: matching\n"
			  "    of: [binary, differential]\n"
			  "    generations: { gold: [0.10, 0.05] }\n");
	assert_int_equal(p->n_brackets, 2);
	assert_int_equal(p->diff_from[1], 200050);
	assert_int_equal(p->diff_rate[1], 60000); /* rates may fall: only `from` must rise */
	assert_true(p->has_binary && p->binary_volume_pv && !p->binary_carry && p->has_binary_cap);
	assert_int_equal(p->binary_cap, 500000);
	assert_int_equal(p->fast_start_days, 60);
	assert_int_equal(p->fast_start_levels, 2);
	assert_true(p->fast_start_exclusive);
	assert_string_equal(p->pool_name, "leadership pool");
	assert_int_equal(p->pool_share, 20000);
	assert_int_equal(p->pool_shares[0], 0);
	assert_int_equal(p->pool_shares[2], 5);
	assert_int_equal(p->matching_of, (1u << PLAN_BINARY) | (1u << PLAN_DIFFERENTIAL));
	assert_int_equal(plan_matching_rate(p, 2, 2), 50000);
	assert_int_equal(plan_matching_rate(p, 1, 1), 0); /* silver: not listed */
	assert_true(plan_has_type(p, PLAN_POOL) && !plan_has_type(p, PLAN_UNILEVEL));
	plan_free(p);
	/* defaults: binary volume cv, carry true, no cap; fast_start not exclusive */
	p = load_ok("defaults", HEAD RANKS3 C11 "  - type: binary\n    rate: 0.1\n"
			       "  - type: fast_start\n    days: 30\n    levels: [0.1]\n");
	assert_true(!p->binary_volume_pv && p->binary_carry && !p->has_binary_cap && !p->fast_start_exclusive);
	plan_free(p);
}

static void test_families_errors(void **state)
{
	(void)state;
	assert_refused("brackets-rise", HEAD RANKS3 C11 "  - type: differential\n    brackets:\n"
		       "      - { from: 2000, rate: 0.09 }\n      - { from: 2000, rate: 0.12 }\n",
		       "@:15:17: from: 2000 is not above the previous bracket's (line 14): `from` must strictly increase");
	assert_refused("bracket-rate", HEAD RANKS3 C11 "  - type: differential\n    brackets:\n"
		       "      - { from: 1000, rate: 1.09 }\n",
		       "@:14:29: rate: 1.09 must be between 0 and 1");
	pd_diag d;
	load_bad("bracket-key", HEAD RANKS3 C11 "  - type: differential\n    brackets:\n"
		 "      - { from: 1000, rte: 0.09 }\n", &d);
	assert_has(&d, "@:14:23: unknown key \"rte\" in a differential bracket (did you mean \"rate\"?)");
	assert_has(&d, "@:14:9: differential bracket: missing required key \"rate\"");
	assert_count(&d, 2);
	pd_diag_free(&d);
	assert_refused("brackets-empty", HEAD RANKS3 C11 "  - type: differential\n    brackets: []\n",
		       "@:13:15: brackets: expected a list of { from: GV, rate: RATE }, lowest first, found an empty list");
	assert_refused("binary-volume", HEAD RANKS3 C11 "  - type: binary\n    rate: 0.1\n    volume: gv\n",
		       "@:14:13: volume: \"gv\" is not cv or pv");
	assert_refused("binary-carry", HEAD RANKS3 C11 "  - type: binary\n    rate: 0.1\n    carry: yes\n",
		       "@:14:12: carry: \"yes\" is not true or false");
	assert_refused("binary-cap", HEAD RANKS3 C11 "  - type: binary\n    rate: 0.1\n    cap: 0\n",
		       "@:14:10: cap: 0 must be greater than 0");
	assert_refused("binary-key", HEAD RANKS3 C11 "  - type: binary\n    rate: 0.1\n    cary: false\n",
		       "@:14:5: unknown key \"cary\" in a binary commission (did you mean \"carry\"?)");
	assert_refused("fs-days", HEAD RANKS3 C11 "  - type: fast_start\n    days: 0\n    levels: [0.1]\n",
		       "@:13:11: days: 0 is out of range 1..3660");
	assert_refused("fs-levels", HEAD RANKS3 C11 "  - type: fast_start\n    days: 60\n    levels: 0.1\n",
		       "@:14:13: levels: expected a list of rates (the sponsor's first), found scalar");
	assert_refused("fs-exclusive", HEAD RANKS3 C11 "  - type: fast_start\n    days: 60\n    levels: [0.1]\n"
		       "    exclusive: 1\n",
		       "@:15:16: exclusive: \"1\" is not true or false");
	assert_refused("pool-shares", HEAD RANKS3 C11 "  - type: pool\n    name: p\n    share: 0.02\n"
		       "    shares: { gold: 1.5 }\n",
		       "@:15:21: shares of gold: \"1.5\" is not a whole number");
	assert_refused("pool-rank", HEAD RANKS3 C11 "  - type: pool\n    name: p\n    share: 0.02\n"
		       "    shares: { gld: 1 }\n",
		       "@:15:15: shares: \"gld\" is not a rank of this plan (did you mean \"gold\"?)");
	assert_refused("matching-of-absent", HEAD RANKS3 C11 "  - type: matching\n    of: [unilevel]\n"
		       "    generations: { gold: [0.1] }\n",
		       "@:13:10: of: \"unilevel\" is not a commission type of this plan");
	assert_refused("matching-of-self", HEAD RANKS3 C11 "  - type: matching\n    of: [matching]\n"
		       "    generations: { gold: [0.1] }\n",
		       "@:13:10: of: matching cannot match itself");
	assert_refused("matching-gen", HEAD RANKS3 C11 "  - type: matching\n    of: [pool]\n"
		       "    generations: { gold: [0.1, 2] }\n"
		       "  - type: pool\n    name: p\n    share: 0.01\n    shares: { gold: 1 }\n",
		       "@:14:32: generation 2 of gold: 2 must be between 0 and 1");
	assert_refused("pool-twice", HEAD RANKS3 C11 "  - type: pool\n    name: p\n    share: 0.01\n    shares: {}\n"
		       "  - type: pool\n    name: q\n    share: 0.01\n    shares: {}\n",
		       "@:16:11: commission type \"pool\" is listed twice (first at line 12)");
}

/* SPEC 11.29: every family adds to the most a sale's CV can pay. */
static void test_families_legality(void **state)
{
	(void)state;
	/* 20 + 21 + 10 + 35 + 2 = 88%, and matching 15% of (unilevel 0 + fast_start 35%) = 5.25%:
	 * 93.25%, allowed */
	plan *p = load_ok("hybrid-ok", HEAD RANKS3 C11
			  "  - type: retail\n    rate: 0.2\n"
			  "  - type: differential\n    brackets: [{from: 10, rate: 0.21}]\n"
			  "  - type: binary\n    rate: 0.1\n"
			  "  - type: fast_start\n    days: 30\n    levels: [0.2, 0.1, 0.05]\n"
			  "  - type: pool\n    name: p\n    share: 0.02\n    shares: {gold: 1}\n"
			  "  - type: matching\n    of: [fast_start]\n    generations: {gold: [0.1, 0.05]}\n");
	plan_free(p);
	/* the same with matching of retail too: + 15% x 20% = 3%: 96.25%, still allowed; with
	 * generations {gold: [0.5, 0.5]}: 88 + 100% x (35 + 20)% = 143%: refused, each part named */
	assert_refused("hybrid-over", HEAD RANKS3 C11
		       "  - type: retail\n    rate: 0.2\n"
		       "  - type: differential\n    brackets: [{from: 10, rate: 0.21}]\n"
		       "  - type: binary\n    rate: 0.1\n"
		       "  - type: fast_start\n    days: 30\n    levels: [0.2, 0.1, 0.05]\n"
		       "  - type: pool\n    name: p\n    share: 0.02\n    shares: {gold: 1}\n"
		       "  - type: matching\n    of: [fast_start, retail]\n    generations: {gold: [0.5, 0.5]}\n",
		       "@:11:1: the plan could pay up to 143% of a sale's CV along its upline chain (retail 20% + "
		       "differential 21% + binary 10% + fast_start 35% + pool 2% + matching generations of gold x "
		       "matched rates 55%); at most 100% is allowed");
}

static void test_legality_guard(void **state)
{
	(void)state;
	assert_refused("over-100",
		       HEAD RANKS3
		       "commissions:\n"                     /* 11 */
		       "  - type: retail\n"
		       "    rate: 0.5\n"
		       "  - type: unilevel\n"
		       "    levels:\n"
		       "      silver: [0.1, 0.1]\n"
		       "      gold: [0.3, 0.2, 0.1]\n",
		       "@:11:1: the plan could pay up to 110% of a sale's CV along its upline chain "
		       "(retail 50% + unilevel levels of gold 60%); at most 100% is allowed");
	/* exact decimals, no floats: one millionth over */
	assert_refused("over-by-a-millionth",
		       HEAD RANKS3
		       "commissions:\n"
		       "  - type: unilevel\n"
		       "    levels: {silver: [0.666668], gold: [0.1]}\n"
		       "  - type: retail\n"
		       "    rate: 0.333333\n",
		       "@:11:1: the plan could pay up to 100.0001% of a sale's CV along its upline chain "
		       "(retail 33.3333% + unilevel levels of silver 66.6668%); at most 100% is allowed");
	assert_refused("levels-alone",
		       HEAD RANKS3 "commissions:\n  - type: unilevel\n    levels: {gold: [0.5, 0.5, 0.25]}\n",
		       "@:11:1: the plan could pay up to 125% of a sale's CV along its upline chain "
		       "(unilevel levels of gold 125%); at most 100% is allowed");
	/* exactly 100%, and ranks that each stay within it */
	plan *p = load_ok("exactly-100",
			  HEAD RANKS3
			  "commissions:\n"
			  "  - type: retail\n"
			  "    rate: 0.4\n"
			  "  - type: unilevel\n"
			  "    levels: {silver: [0.3, 0.3], gold: [0.2, 0.2, 0.2]}\n");
	assert_int_equal(p->retail_rate + 600000, 1000000);
	plan_free(p);
	/* no guard message on top of a broken rate */
	assert_refused("no-cascade",
		       HEAD RANKS3 "commissions:\n  - type: retail\n    rate: 0.9\n"
		       "  - type: unilevel\n    levels: {gold: [0.5, x]}\n",
		       "@:15:26: level 2 of gold: \"x\": not a number "
		       "(expected a rate between 0 and 1 with at most 6 decimals)");
}

static void test_money_sections_errors(void **state)
{
	(void)state;
	assert_refused("fee-no-name", HEAD "fees:\n  - amount: 1.50\n" RANKS,
		       "@:6:5: fee: missing required key \"name\"");
	assert_refused("fee-empty-name", HEAD "fees:\n  - {name: \"\", amount: 1.50}\n" RANKS,
		       "@:6:12: name: expected a value, found nothing");
	assert_refused("fee-dup",
		       HEAD "fees:\n  - {name: admin, amount: 1}\n  - {name: admin, amount: 2}\n" RANKS,
		       "@:7:12: fees: name \"admin\" is used twice (first at line 6)");
	assert_refused("fee-zero", HEAD "fees:\n  - {name: admin, amount: 0}\n" RANKS,
		       "@:6:27: amount: 0 must be greater than 0");
	assert_refused("fee-no-amount", HEAD "fees:\n  - name: admin\n" RANKS,
		       "@:6:5: fee: missing required key \"amount\"");
	assert_refused("fee-key", HEAD "fees:\n  - {name: admin, amount: 1, per: month}\n" RANKS,
		       "@:6:30: unknown key \"per\" in a fee");
	assert_refused("min-payout", HEAD "min_payout: \"10.005\"\n" RANKS,
		       "@:5:13: min_payout: \"10.005\": more than 2 decimals (expected an amount with at most 2 decimals)");
	assert_refused("min-payout-plain", HEAD "min_payout: 10.005\n" RANKS,
		       "@:5:13: min_payout: \"10.005\": more than 2 decimals (expected an amount with at most 2 decimals)");
	assert_refused("min-payout-comma", HEAD "min_payout: 10,00\n" RANKS,
		       "@:5:13: min_payout: \"10,00\": decimal separator must be \".\" "
		       "(expected an amount with at most 2 decimals)");
	assert_refused("min-payout-neg", HEAD "min_payout: -1\n" RANKS,
		       "@:5:13: min_payout: -1 must not be negative");
	assert_refused("cap-big", HEAD "caps: {payout_ratio: 1.01}\n" RANKS,
		       "@:5:22: payout_ratio: 1.01 must be between 0 and 1");
	pd_diag d;
	load_bad("cap-missing", HEAD "caps: {ratio: 0.4}\n" RANKS, &d);
	assert_has(&d, "@:5:8: unknown key \"ratio\" in caps");
	assert_has(&d, "@:5:7: caps: missing required key \"payout_ratio\"");
	assert_count(&d, 2);
	pd_diag_free(&d);
}

/* A plan with a problem in every section: each one reported at its place. */
static void test_all_commission_errors_reported(void **state)
{
	(void)state;
	pd_diag d;
	load_bad("many-commission",
		 HEAD
		 "activity: {min_pv: 1.234}\n"                          /* 5 */
		 "ranks:\n"                                             /* 6 */
		 "  - id: partner\n"                                    /* 7 */
		 "    requires: {pv: 1}\n"                              /* 8 */
		 "  - id: silver\n"                                     /* 9 */
		 "    requires: {pv: 100, legs: {count: 0, min_rank: bronze}}\n" /* 10 */
		 "  - id: silver\n"                                     /* 11 */
		 "  - id: gold\n"                                       /* 12 */
		 "    require: {periods: 2}\n"                          /* 13 */
		 "commissions:\n"                                       /* 14 */
		 "  - type: retail\n"                                   /* 15 */
		 "    rate: 0.1234567\n"                                /* 16 */
		 "  - type: unilevel\n"                                 /* 17 */
		 "    compression: static\n"                            /* 18 */
		 "    levels: {glod: [1.5]}\n"                          /* 19 */
		 "  - type: retail\n"                                   /* 20 */
		 "  - type: pool\n"                                     /* 21 */
		 "  - type: rank_advancment\n"                          /* 22 */
		 "caps: {payout_ratio: 45%}\n"                          /* 23 */
		 "fees:\n"                                              /* 24 */
		 "  - amount: -1.50\n"                                  /* 25 */
		 "min_payout: ten\n",                                   /* 26 */
		 &d);
	assert_has(&d, "@:5:20: min_pv: \"1.234\": more than 2 decimals (expected a volume with at most 2 decimals)");
	assert_has(&d, "@:8:5: requires: the first rank is everybody's starting rank and cannot have requirements");
	assert_has(&d, "@:10:39: count: 0 is out of range 1..1000000");
	assert_has(&d, "@:10:52: min_rank: \"bronze\" is not a rank of this plan");
	assert_has(&d, "@:11:9: ranks: id \"silver\" is used twice (first at line 9)");
	assert_has(&d, "@:13:5: unknown key \"require\" in a rank (did you mean \"requires\"?)");
	assert_has(&d, "@:16:11: rate: \"0.1234567\": more than 6 decimals "
		       "(expected a rate between 0 and 1 with at most 6 decimals)");
	assert_has(&d, "@:18:18: compression: \"static\" is not dynamic or none");
	assert_has(&d, "@:19:14: levels: \"glod\" is not a rank of this plan (did you mean \"gold\"?)");
	assert_has(&d, "@:19:21: level 1 of glod: 1.5 must be between 0 and 1");
	assert_has(&d, "@:20:11: commission type \"retail\" is listed twice (first at line 15)");
	assert_has(&d, "@:21:5: pool commission: missing required key \"name\"");
	assert_has(&d, "@:21:5: pool commission: missing required key \"share\"");
	assert_has(&d, "@:21:5: pool commission: missing required key \"shares\"");
	assert_has(&d, "@:22:11: unknown commission type \"rank_advancment\" (did you mean \"rank_advancement\"?); "
		       "supported: retail, unilevel, rank_advancement, differential, fast_start, pool, matching");
	assert_has(&d, "@:23:22: payout_ratio: \"45%\": percent sign not allowed "
		       "(expected a rate between 0 and 1 with at most 6 decimals)");
	assert_has(&d, "@:25:5: fee: missing required key \"name\"");
	assert_has(&d, "@:25:13: amount: -1.50 must be greater than 0");
	assert_has(&d, "@:26:13: min_payout: \"ten\": not a number (expected an amount with at most 2 decimals)");
	assert_count(&d, 19);
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
		cmocka_unit_test(test_example_plan_numbers),
		cmocka_unit_test(test_shipped_plans),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rank_errors),
		cmocka_unit_test(test_commission_errors),
		cmocka_unit_test(test_legality_guard),
		cmocka_unit_test(test_families_ok),
		cmocka_unit_test(test_families_errors),
		cmocka_unit_test(test_families_legality),
		cmocka_unit_test(test_money_sections_errors),
		cmocka_unit_test(test_all_commission_errors_reported),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
