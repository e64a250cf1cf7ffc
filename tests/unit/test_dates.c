/*
 * test_dates.c - dates.c: civil conversions, strict date and date-time
 * parsing, the plan's time zone, monthly and ISO weekly periods.
 *
 * Independent oracles where possible: a day-by-day calendar walk for the
 * civil conversions, and glibc's strftime("%G-W%V") for ISO weeks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dates.h"

#define DAY_1900_01_01 (-25567)
#define DAY_9999_12_31 2932896

/* ---- helpers ------------------------------------------------------------ */

static int32_t ymd(int y, int m, int d)
{
	int32_t v = 0;
	if (date_from_ymd(y, m, d, &v) != 0)
		print_error("%04d-%02d-%02d rejected\n", y, m, d);
	assert_int_equal(date_from_ymd(y, m, d, &v), 0);
	return v;
}

static void no_ymd(int y, int m, int d)
{
	int32_t v = 12345;
	assert_int_equal(date_from_ymd(y, m, d, &v), -1);
	assert_int_equal(v, 12345);
}

static void fmt_ok(const char *s, const char *fmt, int y, int m, int d)
{
	int32_t v = 0;
	const char *why = NULL;
	int rc = date_parse_format(s, strlen(s), fmt, &v, &why);
	if (rc != 0)
		print_error("\"%s\" with \"%s\": %s\n", s, fmt ? fmt : "(null)", why ? why : "(null)");
	assert_int_equal(rc, 0);
	assert_int_equal(v, ymd(y, m, d));
}

static void fmt_bad(const char *s, const char *fmt, const char *want)
{
	int32_t v = 12345;
	const char *why = NULL;
	int rc = date_parse_format(s, strlen(s), fmt, &v, &why);
	if (rc != -1)
		print_error("\"%s\" with \"%s\" accepted\n", s, fmt ? fmt : "(null)");
	assert_int_equal(rc, -1);
	assert_int_equal(v, 12345);
	assert_non_null(why);
	if (want && !strstr(why, want)) {
		print_error("\"%s\": reason \"%s\" lacks \"%s\"\n", s, why, want);
		fail();
	}
}

static void iso_offset(const char *s, int64_t want_utc)
{
	bool has = false;
	int64_t utc = 0;
	int32_t local = 0;
	const char *why = NULL;
	int rc = date_parse_iso_datetime(s, strlen(s), &has, &utc, &local, &why);
	if (rc != 0)
		print_error("\"%s\": %s\n", s, why ? why : "(null)");
	assert_int_equal(rc, 0);
	assert_true(has);
	assert_int_equal(utc, want_utc);
}

static void iso_local(const char *s, int y, int m, int d)
{
	bool has = true;
	int64_t utc = 0;
	int32_t local = 0;
	const char *why = NULL;
	int rc = date_parse_iso_datetime(s, strlen(s), &has, &utc, &local, &why);
	if (rc != 0)
		print_error("\"%s\": %s\n", s, why ? why : "(null)");
	assert_int_equal(rc, 0);
	assert_false(has);
	assert_int_equal(local, ymd(y, m, d));
}

static void iso_bad(const char *s, const char *want)
{
	bool has = false;
	int64_t utc = 0;
	int32_t local = 0;
	const char *why = NULL;
	int rc = date_parse_iso_datetime(s, strlen(s), &has, &utc, &local, &why);
	if (rc != -1)
		print_error("\"%s\" accepted\n", s);
	assert_int_equal(rc, -1);
	assert_non_null(why);
	if (want && !strstr(why, want)) {
		print_error("\"%s\": reason \"%s\" lacks \"%s\"\n", s, why, want);
		fail();
	}
}

static void sale_is(const char *s, const char *fmt, int y, int m, int d)
{
	int32_t v = 0;
	const char *why = NULL;
	int rc = date_parse_sale(s, strlen(s), fmt, &v, &why);
	if (rc != 0)
		print_error("sale date \"%s\": %s\n", s, why ? why : "(null)");
	assert_int_equal(rc, 0);
	char got[11], want[11];
	date_format_iso(v, got);
	date_format_iso(ymd(y, m, d), want);
	assert_string_equal(got, want);
}

static void sale_bad(const char *s, const char *fmt, const char *want)
{
	int32_t v = 12345;
	const char *why = NULL;
	int rc = date_parse_sale(s, strlen(s), fmt, &v, &why);
	if (rc != -1)
		print_error("sale date \"%s\" accepted\n", s);
	assert_int_equal(rc, -1);
	assert_int_equal(v, 12345);
	assert_non_null(why);
	if (want && !strstr(why, want)) {
		print_error("\"%s\": reason \"%s\" lacks \"%s\"\n", s, why, want);
		fail();
	}
}

static void set_zone(const char *name)
{
	pd_err err = {{0}};
	int rc = dates_set_timezone(name, &err);
	if (rc != 0)
		print_error("%s: %s\n", name, err.msg);
	assert_int_equal(rc, 0);
}

/* The local date of an ISO date-time with offset, in the current zone. */
static void local_day_is(const char *s, int y, int m, int d)
{
	bool has = false;
	int64_t utc = 0;
	int32_t local = 0;
	assert_int_equal(date_parse_iso_datetime(s, strlen(s), &has, &utc, &local, NULL), 0);
	assert_true(has);
	char got[11], want[11];
	date_format_iso(dates_local_day(utc), got);
	date_format_iso(ymd(y, m, d), want);
	if (strcmp(got, want) != 0)
		print_error("%s in %s\n", s, getenv("TZ"));
	assert_string_equal(got, want);
}

static int32_t period_of(period_kind k, int y, int m, int d)
{
	return period_of_day(k, ymd(y, m, d));
}

static void name_is(period_kind k, int32_t p, const char *want)
{
	char buf[16];
	period_name(k, p, buf);
	assert_string_equal(buf, want);
	int32_t back = -1;
	assert_int_equal(period_parse(k, want, &back), 0);
	assert_int_equal(back, p);
}

static void period_bad(period_kind k, const char *s)
{
	int32_t p = 4242;
	if (period_parse(k, s, &p) != -1)
		print_error("%s period \"%s\" accepted\n", period_kind_name(k), s ? s : "(null)");
	assert_int_equal(period_parse(k, s, &p), -1);
	assert_int_equal(p, 4242);
}

/* ---- civil dates --------------------------------------------------------- */

static void test_known_days(void **state)
{
	(void)state;
	assert_int_equal(ymd(1970, 1, 1), 0);
	assert_int_equal(ymd(1970, 1, 2), 1);
	assert_int_equal(ymd(1969, 12, 31), -1);
	assert_int_equal(ymd(1900, 1, 1), DAY_1900_01_01);
	assert_int_equal(ymd(9999, 12, 31), DAY_9999_12_31);
	assert_int_equal(ymd(2000, 3, 1), 11017);
	assert_int_equal(ymd(2026, 11, 5), 20762);

	int y, m, d;
	date_to_ymd(0, &y, &m, &d);
	assert_true(y == 1970 && m == 1 && d == 1);
	date_to_ymd(-1, &y, &m, &d);
	assert_true(y == 1969 && m == 12 && d == 31);
	date_to_ymd(DAY_1900_01_01, &y, &m, &d);
	assert_true(y == 1900 && m == 1 && d == 1);
	date_to_ymd(DAY_9999_12_31, &y, &m, &d);
	assert_true(y == 9999 && m == 12 && d == 31);
	date_to_ymd(11016, &y, &m, &d);
	assert_true(y == 2000 && m == 2 && d == 29);

	char buf[11];
	date_format_iso(0, buf);
	assert_string_equal(buf, "1970-01-01");
	date_format_iso(20762, buf);
	assert_string_equal(buf, "2026-11-05");
	date_format_iso(DAY_1900_01_01, buf);
	assert_string_equal(buf, "1900-01-01");
	date_format_iso(DAY_9999_12_31, buf);
	assert_string_equal(buf, "9999-12-31");
}

static void test_weekday(void **state)
{
	(void)state;
	assert_int_equal(date_weekday(0), 3);                      /* Thursday */
	assert_int_equal(date_weekday(ymd(1970, 1, 5)), 0);        /* Monday */
	assert_int_equal(date_weekday(ymd(1969, 12, 28)), 6);      /* Sunday */
	assert_int_equal(date_weekday(ymd(1900, 1, 1)), 0);        /* Monday */
	assert_int_equal(date_weekday(ymd(2026, 11, 5)), 3);       /* Thursday */
	assert_int_equal(date_weekday(ymd(2027, 1, 1)), 4);        /* Friday */
	assert_int_equal(date_weekday(ymd(9999, 12, 31)), 4);      /* Friday */
	for (int32_t d = DAY_1900_01_01; d < DAY_1900_01_01 + 100; d++)
		assert_int_equal(date_weekday(d + 1), (date_weekday(d) + 1) % 7);
}

static void test_leap_years(void **state)
{
	(void)state;
	ymd(2000, 2, 29);
	ymd(2024, 2, 29);
	ymd(2400, 2, 29);
	ymd(1904, 2, 29);
	ymd(9996, 2, 29);
	no_ymd(1900, 2, 29);
	no_ymd(2100, 2, 29);
	no_ymd(2023, 2, 29);
	no_ymd(2026, 2, 29);
	no_ymd(2024, 2, 30);
	assert_int_equal(ymd(2000, 3, 1) - ymd(2000, 2, 28), 2);
	assert_int_equal(ymd(1900, 3, 1) - ymd(1900, 2, 28), 1);
	assert_int_equal(ymd(2025, 1, 1) - ymd(2024, 1, 1), 366);
	assert_int_equal(ymd(2101, 1, 1) - ymd(2100, 1, 1), 365);
	assert_int_equal(ymd(2400, 1, 1) - ymd(2000, 1, 1), 146097);
}

static void test_impossible_dates(void **state)
{
	(void)state;
	no_ymd(2026, 0, 1);
	no_ymd(2026, 13, 1);
	no_ymd(2026, -1, 1);
	no_ymd(2026, 1, 0);
	no_ymd(2026, 1, 32);
	no_ymd(2026, 4, 31);
	no_ymd(2026, 6, 31);
	no_ymd(2026, 9, 31);
	no_ymd(2026, 11, 31);
	no_ymd(2026, 1, -5);
	no_ymd(1899, 12, 31);
	no_ymd(10000, 1, 1);
	no_ymd(0, 1, 1);
	no_ymd(-1, 1, 1);
	ymd(2026, 1, 31);
	ymd(2026, 12, 31);
	ymd(2026, 4, 30);
}

/* Every day from 1900-01-01 to 9999-12-31 against a plain calendar walk. */
static void test_round_trip_whole_range(void **state)
{
	(void)state;
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = 1900, m = 1, d = 1;
	int32_t expect = DAY_1900_01_01;
	for (;;) {
		int32_t v = 0;
		assert_int_equal(date_from_ymd(y, m, d, &v), 0);
		assert_int_equal(v, expect);
		int yy, mm, dd;
		date_to_ymd(v, &yy, &mm, &dd);
		if (yy != y || mm != m || dd != d)
			fail_msg("day %d: %d-%d-%d != %d-%d-%d", v, yy, mm, dd, y, m, d);
		if (y == 9999 && m == 12 && d == 31)
			break;
		bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
		int last = dim[m - 1] + (m == 2 && leap);
		/* The day after the last of a month is impossible. */
		if (d == last) {
			int32_t w = 7;
			assert_int_equal(date_from_ymd(y, m, d + 1, &w), -1);
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		} else {
			d++;
		}
		expect++;
	}
	assert_int_equal(expect, DAY_9999_12_31);

	char buf[11];
	for (int32_t v = DAY_1900_01_01; v <= DAY_9999_12_31; v += 997) {
		date_format_iso(v, buf);
		int32_t back = 0;
		assert_int_equal(date_parse_format(buf, 10, "%Y-%m-%d", &back, NULL), 0);
		assert_int_equal(back, v);
	}
}

/* ---- date_parse_format ---------------------------------------------------- */

static void test_parse_format_iso(void **state)
{
	(void)state;
	fmt_ok("2026-11-05", "%Y-%m-%d", 2026, 11, 5);
	fmt_ok("2026-11-5", "%Y-%m-%d", 2026, 11, 5);
	fmt_ok("2026-1-05", "%Y-%m-%d", 2026, 1, 5);
	fmt_ok("2024-02-29", "%Y-%m-%d", 2024, 2, 29);
	fmt_ok("2000-02-29", "%Y-%m-%d", 2000, 2, 29);
	fmt_ok("1900-01-01", "%Y-%m-%d", 1900, 1, 1);
	fmt_ok("9999-12-31", "%Y-%m-%d", 9999, 12, 31);
	fmt_ok("2026-11-05", NULL, 2026, 11, 5); /* default format */

	fmt_bad("", "%Y-%m-%d", "empty");
	fmt_bad("2026-02-29", "%Y-%m-%d", "no such day");
	fmt_bad("2024-02-30", "%Y-%m-%d", "no such day");
	fmt_bad("1900-02-29", "%Y-%m-%d", "no such day");
	fmt_bad("2026-04-31", "%Y-%m-%d", "no such day");
	fmt_bad("2026-11-00", "%Y-%m-%d", "no such day");
	fmt_bad("2026-11-32", "%Y-%m-%d", "no such day");
	fmt_bad("2026-00-10", "%Y-%m-%d", "no such month");
	fmt_bad("2026-13-10", "%Y-%m-%d", "no such month");
	fmt_bad("1899-12-31", "%Y-%m-%d", "year out of range");
	fmt_bad("0000-01-01", "%Y-%m-%d", "year out of range");
	fmt_bad("26-11-05", "%Y-%m-%d", "4-digit year");
	fmt_bad("02026-11-05", "%Y-%m-%d", NULL);
	fmt_bad("2026-011-05", "%Y-%m-%d", NULL);
	fmt_bad("2026-11-005", "%Y-%m-%d", "after the date");
	fmt_bad("2026-11-05x", "%Y-%m-%d", "after the date");
	fmt_bad("2026-11-05 ", "%Y-%m-%d", "after the date");
	fmt_bad("2026-11-05T10:00", "%Y-%m-%d", "after the date");
	fmt_bad(" 2026-11-05", "%Y-%m-%d", "4-digit year");
	fmt_bad("-2026-11-05", "%Y-%m-%d", NULL);
	fmt_bad("2026/11/05", "%Y-%m-%d", "does not match");
	fmt_bad("2026-11-", "%Y-%m-%d", "expected a day");
	fmt_bad("2026-11", "%Y-%m-%d", "does not match");
	fmt_bad("2026--05", "%Y-%m-%d", "expected a month");
	fmt_bad("2026-+1-05", "%Y-%m-%d", "expected a month");
	fmt_bad("05.11.2026", "%Y-%m-%d", NULL);

	/* len, not NUL, ends the input. */
	int32_t v = 0;
	assert_int_equal(date_parse_format("2026-11-05junk", 10, "%Y-%m-%d", &v, NULL), 0);
	assert_int_equal(v, ymd(2026, 11, 5));
	assert_int_equal(date_parse_format("2026-11-05", 9, "%Y-%m-%d", &v, NULL), -1); /* day 0 */
	assert_int_equal(date_parse_format("2026-11-05", 0, "%Y-%m-%d", &v, NULL), -1);
	assert_int_equal(date_parse_format(NULL, 0, "%Y-%m-%d", &v, NULL), -1);
}

static void test_parse_format_others(void **state)
{
	(void)state;
	fmt_ok("05.11.2026", "%d.%m.%Y", 2026, 11, 5);
	fmt_ok("5.11.2026", "%d.%m.%Y", 2026, 11, 5);
	fmt_ok("5.1.2026", "%d.%m.%Y", 2026, 1, 5);
	fmt_ok("31.12.1999", "%d.%m.%Y", 1999, 12, 31);
	fmt_ok("11/05/2026", "%m/%d/%Y", 2026, 11, 5);
	fmt_ok("20261105", "%Y%m%d", 2026, 11, 5);
	fmt_ok("2026-11-05%", "%Y-%m-%d%%", 2026, 11, 5);
	fmt_ok("on 5 11 2026!", "on %d %m %Y!", 2026, 11, 5);

	fmt_bad("05.11.26", "%d.%m.%Y", "4-digit year");
	fmt_bad("05/11/2026", "%d.%m.%Y", "does not match");
	fmt_bad("05.11.2026.", "%d.%m.%Y", "after the date");
	fmt_bad("005.11.2026", "%d.%m.%Y", "does not match");
	fmt_bad("29.02.2026", "%d.%m.%Y", "no such day");
	fmt_bad("2026-11-05", "%d.%m.%Y", NULL);
	fmt_bad("2026-11-05", "%Y-%m-%d%%", "does not match");

	/* Formats the parser cannot honour. */
	fmt_bad("2026-11", "%Y-%m", "invalid date format");
	fmt_bad("2026-11-05 10", "%Y-%m-%d %H", "invalid date format");
	fmt_bad("2026-11-05", "%Y-%m-%d%", "invalid date format");
	fmt_bad("2026-2026-05", "%Y-%Y-%d", "invalid date format");
	fmt_bad("2026-11-05", "", NULL);
}

/* ---- ISO date-times ------------------------------------------------------ */

static void test_iso_datetime(void **state)
{
	(void)state;
	const int64_t day_2026_11_30 = (int64_t)ymd(2026, 11, 30) * 86400;

	iso_offset("1970-01-01T00:00:00Z", 0);
	iso_offset("1970-01-01T00:00Z", 0);
	iso_offset("1970-01-01T00:00:00+01:00", -3600);
	iso_offset("1970-01-01T00:00:00-01:30", 5400);
	iso_offset("1969-12-31T23:59:59Z", -1);
	iso_offset("2026-11-30T22:59:59Z", 1796079599);
	iso_offset("2026-11-30T23:30:00-02:00", day_2026_11_30 + 86400 + 5400);
	iso_offset("2026-11-30T23:30:00+02:00", day_2026_11_30 + 21 * 3600 + 1800);
	iso_offset("2026-11-30T23:30:00+0200", day_2026_11_30 + 21 * 3600 + 1800);
	iso_offset("2026-11-30T23:30:00-0200", day_2026_11_30 + 86400 + 5400);
	iso_offset("2026-11-30 23:30:00Z", day_2026_11_30 + 23 * 3600 + 1800);
	iso_offset("2026-11-30T23:30:00.999Z", day_2026_11_30 + 23 * 3600 + 1800);
	iso_offset("2026-11-30T23:30:00,5+01:00", day_2026_11_30 + 22 * 3600 + 1800);
	iso_offset("2026-11-30T00:00:00+14:00", day_2026_11_30 - 14 * 3600);
	iso_offset("2026-11-30T00:00:00-00:00", day_2026_11_30);
	iso_offset("2026-11-30T12:34+05:45", day_2026_11_30 + 12 * 3600 + 34 * 60 - 5 * 3600 - 45 * 60);
	iso_offset("1900-01-01T00:00:00Z", (int64_t)DAY_1900_01_01 * 86400);
	iso_offset("9999-12-31T23:59:59Z", (int64_t)DAY_9999_12_31 * 86400 + 86399);

	iso_local("2026-11-30T23:30:00", 2026, 11, 30);
	iso_local("2026-11-30T23:30", 2026, 11, 30);
	iso_local("2026-11-30 00:00:00.000", 2026, 11, 30);
	iso_local("2024-02-29T12:00", 2024, 2, 29);

	iso_bad("", "empty");
	iso_bad("2026-11-30", "'T'");
	iso_bad("2026-11-30T", "time");
	iso_bad("2026-11-30t23:30Z", "'T'");
	iso_bad("2026-11-30T23", "time");
	iso_bad("2026-11-30T23:3", "time");
	iso_bad("2026-11-30T2:30", "time");
	iso_bad("2026-11-30T24:00Z", "no such time");
	iso_bad("2026-11-30T23:60Z", "no such time");
	iso_bad("2026-11-30T23:59:60Z", "no such time");
	iso_bad("2026-11-30T23:30:0Z", "seconds");
	iso_bad("2026-11-30T23:30:00.Z", "digits");
	iso_bad("2026-11-30T23:30.5Z", "after the time");
	iso_bad("2026-11-30T23:30:00Q", "after the time");
	iso_bad("2026-11-30T23:30:00ZZ", "after the time");
	iso_bad("2026-11-30T23:30:00Z ", "after the time");
	iso_bad("2026-11-30T23:30:00z", "after the time");
	iso_bad("2026-11-30T23:30:00+2:00", "offset");
	iso_bad("2026-11-30T23:30:00+02", "offset");
	iso_bad("2026-11-30T23:30:00+02:0", "offset");
	iso_bad("2026-11-30T23:30:00+02:00 ", "after the time");
	iso_bad("2026-11-30T23:30:00+24:00", "offset out of range");
	iso_bad("2026-11-30T23:30:00+02:60", "offset out of range");
	iso_bad("2026-02-29T00:00Z", "no such day");
	iso_bad("2026-13-01T00:00Z", "no such month");
	iso_bad("1899-12-31T23:00Z", "year out of range");
	iso_bad("2026-1-30T00:00Z", "date-time");
	iso_bad("26-11-30T00:00Z", "date-time");
	iso_bad("2026/11/30T00:00Z", "date-time");
	iso_bad(" 2026-11-30T00:00Z", "date-time");
}

/* ---- time zones ------------------------------------------------------------ */

static void test_timezone_names(void **state)
{
	(void)state;
	set_zone("Europe/Berlin");
	assert_string_equal(getenv("TZ"), "Europe/Berlin");
	set_zone("UTC");
	set_zone("Etc/UTC");
	set_zone("America/New_York");
	set_zone("America/Argentina/Buenos_Aires");
	set_zone("Etc/GMT+5");

	set_zone("Europe/Berlin");
	const char *bad[] = {
		"Mars/Olympus", "", "Europe", "Europe/", "Europe/Berlin/", "/etc/localtime",
		"/usr/share/zoneinfo/Europe/Berlin", "../zoneinfo/Europe/Berlin",
		"Europe/../Europe/Berlin", "Europe//Berlin", "./Europe/Berlin", "zone.tab",
		"tzdata.zi", "leapseconds", "Europe/Berlin ", "Europe/Berlin\n", "europe berlin",
		"Europe/Berlin;rm", "CET\\",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pd_err err = {{0}};
		if (dates_set_timezone(bad[i], &err) != -1)
			fail_msg("zone \"%s\" accepted", bad[i]);
		assert_true(strlen(err.msg) > 0);
		/* A rejected zone leaves the previous one in force. */
		assert_string_equal(getenv("TZ"), "Europe/Berlin");
	}
	pd_err err = {{0}};
	assert_int_equal(dates_set_timezone(NULL, &err), -1);
	assert_int_equal(dates_set_timezone("Mars/Olympus", NULL), -1);
	assert_int_equal(dates_set_timezone("Mars/Olympus", &err), -1);
	assert_non_null(strstr(err.msg, "Mars/Olympus"));

	char longname[300];
	memset(longname, 'A', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(dates_set_timezone(longname, &err), -1);
	assert_true(strlen(err.msg) < sizeof err.msg);
}

static void test_local_day_berlin(void **state)
{
	(void)state;
	set_zone("Europe/Berlin");
	/* Winter: CET, UTC+1. */
	local_day_is("2026-11-30T23:30:00-02:00", 2026, 12, 1);
	local_day_is("2026-11-30T23:30:00Z", 2026, 12, 1);
	local_day_is("2026-11-30T22:59:59Z", 2026, 11, 30);
	local_day_is("2026-11-30T23:00:00Z", 2026, 12, 1);
	local_day_is("2026-11-30T23:30:00+01:00", 2026, 11, 30);
	local_day_is("2026-12-01T00:30:00+02:00", 2026, 11, 30);
	local_day_is("2026-12-31T22:59:59Z", 2026, 12, 31);
	local_day_is("2026-12-31T23:00:00Z", 2027, 1, 1);
	/* Summer: CEST, UTC+2. */
	local_day_is("2026-06-30T21:59:59Z", 2026, 6, 30);
	local_day_is("2026-06-30T22:00:00Z", 2026, 7, 1);
	/* Spring forward 2026-03-29 01:00Z; fall back 2026-10-25 01:00Z. */
	local_day_is("2026-03-28T22:59:59Z", 2026, 3, 28);
	local_day_is("2026-03-28T23:00:00Z", 2026, 3, 29);
	local_day_is("2026-03-29T21:59:59Z", 2026, 3, 29);
	local_day_is("2026-03-29T22:00:00Z", 2026, 3, 30);
	local_day_is("2026-10-24T21:59:59Z", 2026, 10, 24);
	local_day_is("2026-10-24T22:00:00Z", 2026, 10, 25);
	local_day_is("2026-10-25T22:59:59Z", 2026, 10, 25);
	local_day_is("2026-10-25T23:00:00Z", 2026, 10, 26);
}

static void test_local_day_other_zones(void **state)
{
	(void)state;
	set_zone("America/New_York");
	local_day_is("2026-11-30T04:59:59Z", 2026, 11, 29);
	local_day_is("2026-11-30T05:00:00Z", 2026, 11, 30);
	local_day_is("2026-07-01T03:59:59Z", 2026, 6, 30);
	local_day_is("2026-07-01T04:00:00Z", 2026, 7, 1);
	local_day_is("2026-11-30T23:30:00-02:00", 2026, 11, 30);

	set_zone("Asia/Kolkata");
	local_day_is("2026-11-30T18:29:59Z", 2026, 11, 30);
	local_day_is("2026-11-30T18:30:00Z", 2026, 12, 1);

	set_zone("Pacific/Kiritimati");
	local_day_is("2026-11-30T09:59:59Z", 2026, 11, 30);
	local_day_is("2026-11-30T10:00:00Z", 2026, 12, 1);

	set_zone("UTC");
	local_day_is("2026-11-30T23:59:59Z", 2026, 11, 30);
	local_day_is("2026-11-30T23:30:00-02:00", 2026, 12, 1);
	for (int64_t t = -3 * 86400 - 1; t <= 3 * 86400 + 1; t += 3601)
		assert_int_equal(dates_local_day(t), (int32_t)((t - ((t % 86400 + 86400) % 86400)) / 86400));
	assert_int_equal(dates_local_day(-1), -1);
	assert_int_equal(dates_local_day(0), 0);

	/* Today: now / 86400 in UTC (allowing for midnight passing in between). */
	int32_t before = (int32_t)(time(NULL) / 86400);
	int32_t today = dates_today();
	int32_t after = (int32_t)(time(NULL) / 86400);
	assert_true(today == before || today == after);
}

/* ---- sale dates ---------------------------------------------------------- */

static void test_parse_sale(void **state)
{
	(void)state;
	set_zone("Europe/Berlin");
	sale_is("2026-11-30", "%Y-%m-%d", 2026, 11, 30);
	sale_is("2026-11-30T23:30:00-02:00", "%Y-%m-%d", 2026, 12, 1);
	sale_is("2026-11-30T23:30:00Z", "%Y-%m-%d", 2026, 12, 1);
	sale_is("2026-11-30T22:59:59Z", "%Y-%m-%d", 2026, 11, 30);
	sale_is("2026-11-30T23:30:00", "%Y-%m-%d", 2026, 11, 30); /* already local */
	sale_is("2026-11-30 23:59:59", "%Y-%m-%d", 2026, 11, 30);
	sale_is("05.11.2026", "%d.%m.%Y", 2026, 11, 5);
	sale_is("5.11.2026", "%d.%m.%Y", 2026, 11, 5);
	sale_is("2026-11-30T23:30:00Z", "%d.%m.%Y", 2026, 12, 1);
	sale_is("2026-06-30T22:30:00Z", NULL, 2026, 7, 1);

	sale_bad("", "%Y-%m-%d", "empty");
	sale_bad("2026-02-29", "%Y-%m-%d", "no such day");
	sale_bad("2026-13-01", "%Y-%m-%d", "no such month");
	sale_bad("30.11.2026", "%Y-%m-%d", NULL);
	sale_bad("2026-11-30x", "%Y-%m-%d", "after the date");
	sale_bad("2026-11-30T25:00:00Z", "%Y-%m-%d", "no such time");
	sale_bad("2026-11-30T23:30:00+25:00", "%Y-%m-%d", "offset");
	sale_bad("2026-11-30 23:30 CET", "%Y-%m-%d", "after the time");
	sale_bad("2026-11-30", "%d.%m.%Y", NULL);
	sale_bad("yesterday", "%Y-%m-%d", NULL);

	/* A valid instant whose local day falls outside 1900..9999. */
	set_zone("UTC");
	sale_bad("9999-12-31T23:00:00-05:00", "%Y-%m-%d", "year out of range");
	sale_bad("1900-01-01T00:30:00+01:00", "%Y-%m-%d", "year out of range");
	sale_is("9999-12-31T23:00:00Z", "%Y-%m-%d", 9999, 12, 31);
	sale_is("1900-01-01T00:30:00Z", "%Y-%m-%d", 1900, 1, 1);
}

/* ---- periods ----------------------------------------------------------- */

static void test_monthly(void **state)
{
	(void)state;
	int32_t p = period_of(PERIOD_MONTHLY, 2026, 11, 5);
	assert_int_equal(p, 2026 * 12 + 10);
	assert_int_equal(period_of(PERIOD_MONTHLY, 2026, 11, 1), p);
	assert_int_equal(period_of(PERIOD_MONTHLY, 2026, 11, 30), p);
	assert_int_equal(period_of(PERIOD_MONTHLY, 2026, 12, 1), p + 1);
	assert_int_equal(period_of(PERIOD_MONTHLY, 2026, 10, 31), p - 1);
	assert_int_equal(period_first_day(PERIOD_MONTHLY, p), ymd(2026, 11, 1));
	assert_int_equal(period_end_day(PERIOD_MONTHLY, p), ymd(2026, 12, 1));
	assert_int_equal(period_end_day(PERIOD_MONTHLY, p + 1), ymd(2027, 1, 1));
	assert_int_equal(period_first_day(PERIOD_MONTHLY, 2024 * 12 + 2), ymd(2024, 3, 1));
	assert_int_equal(period_end_day(PERIOD_MONTHLY, 2024 * 12 + 1), ymd(2024, 3, 1));
	assert_int_equal(period_end_day(PERIOD_MONTHLY, 2024 * 12 + 1) -
				 period_first_day(PERIOD_MONTHLY, 2024 * 12 + 1), 29);

	name_is(PERIOD_MONTHLY, p, "2026-11");
	name_is(PERIOD_MONTHLY, 2026 * 12, "2026-01");
	name_is(PERIOD_MONTHLY, 2026 * 12 + 11, "2026-12");
	name_is(PERIOD_MONTHLY, 1900 * 12, "1900-01");
	name_is(PERIOD_MONTHLY, 9999 * 12 + 11, "9999-12");
	name_is(PERIOD_MONTHLY, 1970 * 12, "1970-01");

	period_bad(PERIOD_MONTHLY, "2026-13");
	period_bad(PERIOD_MONTHLY, "2026-00");
	period_bad(PERIOD_MONTHLY, "2026-1");
	period_bad(PERIOD_MONTHLY, "2026-011");
	period_bad(PERIOD_MONTHLY, "26-11");
	period_bad(PERIOD_MONTHLY, "2026-11 ");
	period_bad(PERIOD_MONTHLY, " 2026-11");
	period_bad(PERIOD_MONTHLY, "2026/11");
	period_bad(PERIOD_MONTHLY, "202611");
	period_bad(PERIOD_MONTHLY, "2026-W45");
	period_bad(PERIOD_MONTHLY, "2026-11-01");
	period_bad(PERIOD_MONTHLY, "1899-12");
	period_bad(PERIOD_MONTHLY, "10000-01");
	period_bad(PERIOD_MONTHLY, "");
	period_bad(PERIOD_MONTHLY, NULL);
}

static void test_weekly(void **state)
{
	(void)state;
	/* 1970-01-05 is a Monday and starts week index 0. */
	assert_int_equal(period_of(PERIOD_WEEKLY, 1970, 1, 5), 0);
	assert_int_equal(period_of(PERIOD_WEEKLY, 1970, 1, 11), 0);
	assert_int_equal(period_of(PERIOD_WEEKLY, 1970, 1, 12), 1);
	assert_int_equal(period_of(PERIOD_WEEKLY, 1970, 1, 4), -1);
	assert_int_equal(period_of(PERIOD_WEEKLY, 1969, 12, 29), -1);
	assert_int_equal(period_of(PERIOD_WEEKLY, 1969, 12, 28), -2);
	assert_int_equal(period_first_day(PERIOD_WEEKLY, 0), ymd(1970, 1, 5));
	assert_int_equal(period_end_day(PERIOD_WEEKLY, 0), ymd(1970, 1, 12));
	assert_int_equal(period_first_day(PERIOD_WEEKLY, -1), ymd(1969, 12, 29));
	name_is(PERIOD_WEEKLY, 0, "1970-W02");
	name_is(PERIOD_WEEKLY, -1, "1970-W01");

	/* Year boundaries. */
	int32_t w = period_of(PERIOD_WEEKLY, 2026, 1, 1);
	name_is(PERIOD_WEEKLY, w, "2026-W01");
	assert_int_equal(period_first_day(PERIOD_WEEKLY, w), ymd(2025, 12, 29));
	assert_int_equal(period_end_day(PERIOD_WEEKLY, w), ymd(2026, 1, 5));
	assert_int_equal(period_of(PERIOD_WEEKLY, 2025, 12, 29), w);
	assert_int_equal(period_of(PERIOD_WEEKLY, 2025, 12, 28), w - 1);
	name_is(PERIOD_WEEKLY, w - 1, "2025-W52");

	w = period_of(PERIOD_WEEKLY, 2027, 1, 1);
	name_is(PERIOD_WEEKLY, w, "2026-W53");
	assert_int_equal(period_first_day(PERIOD_WEEKLY, w), ymd(2026, 12, 28));
	assert_int_equal(period_of(PERIOD_WEEKLY, 2027, 1, 3), w);
	name_is(PERIOD_WEEKLY, w + 1, "2027-W01");
	assert_int_equal(period_first_day(PERIOD_WEEKLY, w + 1), ymd(2027, 1, 4));

	w = period_of(PERIOD_WEEKLY, 2021, 1, 3);
	name_is(PERIOD_WEEKLY, w, "2020-W53");
	assert_int_equal(period_first_day(PERIOD_WEEKLY, w), ymd(2020, 12, 28));
	name_is(PERIOD_WEEKLY, w + 1, "2021-W01");
	assert_int_equal(period_first_day(PERIOD_WEEKLY, w + 1), ymd(2021, 1, 4));

	name_is(PERIOD_WEEKLY, period_of(PERIOD_WEEKLY, 2026, 11, 5), "2026-W45");
	name_is(PERIOD_WEEKLY, period_of(PERIOD_WEEKLY, 2008, 12, 29), "2009-W01");
	name_is(PERIOD_WEEKLY, period_of(PERIOD_WEEKLY, 2010, 1, 3), "2009-W53");
	name_is(PERIOD_WEEKLY, period_of(PERIOD_WEEKLY, 1900, 1, 1), "1900-W01");
	name_is(PERIOD_WEEKLY, period_of(PERIOD_WEEKLY, 9999, 12, 31), "9999-W52");

	int32_t p = 0;
	assert_int_equal(period_parse(PERIOD_WEEKLY, "2020-W53", &p), 0);
	assert_int_equal(period_first_day(PERIOD_WEEKLY, p), ymd(2020, 12, 28));
	assert_int_equal(date_weekday(period_first_day(PERIOD_WEEKLY, p)), 0);

	period_bad(PERIOD_WEEKLY, "2021-W53");
	period_bad(PERIOD_WEEKLY, "2025-W53");
	period_bad(PERIOD_WEEKLY, "2026-W54");
	period_bad(PERIOD_WEEKLY, "2026-W00");
	period_bad(PERIOD_WEEKLY, "2026-W99");
	period_bad(PERIOD_WEEKLY, "2026-W1");
	period_bad(PERIOD_WEEKLY, "2026-W001");
	period_bad(PERIOD_WEEKLY, "2026-w01");
	period_bad(PERIOD_WEEKLY, "2026W01");
	period_bad(PERIOD_WEEKLY, "2026-01");
	period_bad(PERIOD_WEEKLY, "2026-W01-1");
	period_bad(PERIOD_WEEKLY, "2026-W01 ");
	period_bad(PERIOD_WEEKLY, "1899-W52");
	period_bad(PERIOD_WEEKLY, "");
	period_bad(PERIOD_WEEKLY, NULL);

	assert_string_equal(period_kind_name(PERIOD_MONTHLY), "monthly");
	assert_string_equal(period_kind_name(PERIOD_WEEKLY), "weekly");
}

/* Every monthly and weekly period of the range: name round trip, bounds. */
static void test_period_round_trips(void **state)
{
	(void)state;
	const period_kind kinds[] = {PERIOD_MONTHLY, PERIOD_WEEKLY};
	for (size_t k = 0; k < 2; k++) {
		period_kind kind = kinds[k];
		int32_t lo = period_of_day(kind, DAY_1900_01_01);
		int32_t hi = period_of_day(kind, DAY_9999_12_31);
		for (int32_t p = lo; p <= hi; p++) {
			char name[16];
			period_name(kind, p, name);
			int32_t back = 0;
			if (period_parse(kind, name, &back) != 0 || back != p)
				fail_msg("%s period %d named \"%s\" does not parse back", period_kind_name(kind), p, name);
			int32_t first = period_first_day(kind, p);
			int32_t end = period_end_day(kind, p);
			assert_true(end > first);
			assert_int_equal(period_of_day(kind, first), p);
			assert_int_equal(period_of_day(kind, end - 1), p);
			assert_int_equal(period_first_day(kind, p + 1), end);
			if (kind == PERIOD_WEEKLY) {
				assert_int_equal(end - first, 7);
				assert_int_equal(date_weekday(first), 0);
			} else {
				int y, m, d;
				date_to_ymd(first, &y, &m, &d);
				assert_int_equal(d, 1);
				assert_int_equal(p, y * 12 + m - 1);
			}
		}
	}
	for (int32_t d = DAY_1900_01_01; d <= DAY_9999_12_31; d += 13) {
		for (size_t k = 0; k < 2; k++) {
			int32_t p = period_of_day(kinds[k], d);
			assert_true(period_first_day(kinds[k], p) <= d);
			assert_true(d < period_end_day(kinds[k], p));
		}
	}
}

/* ISO weeks against glibc's %G-W%V, and week 53 against its definition. */
static void test_weekly_against_libc(void **state)
{
	(void)state;
	for (int32_t d = DAY_1900_01_01; d <= DAY_9999_12_31; d += 3) {
		time_t t = (time_t)d * 86400;
		struct tm tm;
		assert_non_null(gmtime_r(&t, &tm));
		char want[32], got[16];
		strftime(want, sizeof want, "%G-W%V", &tm);
		period_name(PERIOD_WEEKLY, period_of_day(PERIOD_WEEKLY, d), got);
		if (strcmp(want, got) != 0)
			fail_msg("day %d: %s != %s", d, got, want);
	}
	/* A year has 53 weeks iff it starts on a Thursday, or a Wednesday in a leap year. */
	int count = 0;
	for (int y = 1900; y <= 9998; y++) {
		char name[16];
		snprintf(name, sizeof name, "%04d-W53", y);
		int32_t p;
		int wd = date_weekday(ymd(y, 1, 1));
		bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
		bool long_year = wd == 3 || (wd == 2 && leap);
		assert_int_equal(period_parse(PERIOD_WEEKLY, name, &p) == 0, long_year);
		if (y >= 2000 && y < 2400)
			count += long_year;
	}
	assert_int_equal(count, 71); /* per 400-year cycle */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_days),
		cmocka_unit_test(test_weekday),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_impossible_dates),
		cmocka_unit_test(test_round_trip_whole_range),
		cmocka_unit_test(test_parse_format_iso),
		cmocka_unit_test(test_parse_format_others),
		cmocka_unit_test(test_iso_datetime),
		cmocka_unit_test(test_timezone_names),
		cmocka_unit_test(test_local_day_berlin),
		cmocka_unit_test(test_local_day_other_zones),
		cmocka_unit_test(test_parse_sale),
		cmocka_unit_test(test_monthly),
		cmocka_unit_test(test_weekly),
		cmocka_unit_test(test_period_round_trips),
		cmocka_unit_test(test_weekly_against_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
