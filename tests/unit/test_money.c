/*
 * test_money.c - money.c: strict decimal parsing, half-even rounding, floor
 * division, checked addition and formatting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "money.h"

/* ---- helpers ------------------------------------------------------------ */

static int64_t parse_ok(const char *s, char decimal, int max_frac, int scale, bool neg)
{
	int64_t v = 0x5a5a;
	const char *why = NULL;
	int rc = money_parse(s, strlen(s), decimal, max_frac, scale, neg, &v, &why);
	if (rc != 0)
		print_error("unexpected failure for \"%s\" (decimal '%c'): %s\n", s, decimal,
			    why ? why : "(null)");
	assert_int_equal(rc, 0);
	return v;
}

static int64_t cents_ok(const char *s, char decimal)
{
	return parse_ok(s, decimal, 2, 2, true);
}

/* Fails, leaves *out alone, and gives a reason containing `want`. */
static void parse_bad(const char *s, size_t len, char decimal, int max_frac, int scale,
		      bool neg, const char *want)
{
	int64_t v = 0x5a5a;
	const char *why = NULL;
	int rc = money_parse(s, len, decimal, max_frac, scale, neg, &v, &why);
	if (rc != -1)
		print_error("\"%.*s\" (decimal '%c') parsed as %lld\n", (int)len, s, decimal,
			    (long long)v);
	assert_int_equal(rc, -1);
	assert_int_equal(v, 0x5a5a);
	assert_non_null(why);
	assert_true(strlen(why) > 0);
	if (want && !strstr(why, want)) {
		print_error("\"%.*s\": reason \"%s\" lacks \"%s\"\n", (int)len, s, why, want);
		fail();
	}
}

static void cents_bad(const char *s, char decimal, const char *want)
{
	parse_bad(s, strlen(s), decimal, 2, 2, true, want);
}

static void round_is(__int128 num, __int128 den, int64_t want)
{
	int64_t v = 0;
	assert_int_equal(money_round_half_even(num, den, &v), 0);
	assert_int_equal(v, want);
}

static void floor_is(__int128 num, __int128 den, int64_t want)
{
	int64_t v = 0;
	assert_int_equal(money_floor_div(num, den, &v), 0);
	assert_int_equal(v, want);
}

static void rate_is(int64_t base, int64_t rate, int64_t want)
{
	int64_t v = 0;
	assert_int_equal(money_apply_rate(base, rate, &v), 0);
	assert_int_equal(v, want);
}

static void format_is(int64_t v, int digits, const char *want)
{
	char buf[32];
	memset(buf, 'x', sizeof buf);
	int n = money_format(v, digits, buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void rate_format_is(int64_t v, const char *want)
{
	char buf[32];
	memset(buf, 'x', sizeof buf);
	int n = money_format_rate(v, buf);
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

/* ---- parsing: accepted forms -------------------------------------------- */

static void test_parse_plain(void **state)
{
	(void)state;
	assert_int_equal(cents_ok("0", '.'), 0);
	assert_int_equal(cents_ok("12", '.'), 1200);
	assert_int_equal(cents_ok("12.5", '.'), 1250);
	assert_int_equal(cents_ok("12.50", '.'), 1250);
	assert_int_equal(cents_ok("12.05", '.'), 1205);
	assert_int_equal(cents_ok("0.01", '.'), 1);
	assert_int_equal(cents_ok("0.1", '.'), 10);
	assert_int_equal(cents_ok("-0.05", '.'), -5);
	assert_int_equal(cents_ok("-12.50", '.'), -1250);
	assert_int_equal(cents_ok("-0", '.'), 0);
	assert_int_equal(cents_ok("-0.00", '.'), 0);
	assert_int_equal(cents_ok("007", '.'), 700);
	assert_int_equal(cents_ok("00000000000000000000000000001.10", '.'), 110);
	assert_int_equal(cents_ok("1234567", '.'), 123456700);
}

static void test_parse_decimal_comma(void **state)
{
	(void)state;
	assert_int_equal(cents_ok("12,5", ','), 1250);
	assert_int_equal(cents_ok("12,50", ','), 1250);
	assert_int_equal(cents_ok("1234,50", ','), 123450);
	assert_int_equal(cents_ok("1.234,50", ','), 123450);
	assert_int_equal(cents_ok("1.234.567,89", ','), 123456789);
	assert_int_equal(cents_ok("123.456,7", ','), 12345670);
	assert_int_equal(cents_ok("-1.234,50", ','), -123450);
	assert_int_equal(cents_ok("0,01", ','), 1);
	assert_int_equal(cents_ok("12", ','), 1200);
	/* Grouping without a fractional part: digits before an absent comma. */
	assert_int_equal(cents_ok("1.234", ','), 123400);
	assert_int_equal(cents_ok("1.234.567", ','), 123456700);
	assert_int_equal(cents_ok("-1.000", ','), -100000);
}

static void test_parse_scales(void **state)
{
	(void)state;
	/* Rates: millionths, at most 6 decimals. */
	assert_int_equal(parse_ok("0.05", '.', 6, 6, false), 50000);
	assert_int_equal(parse_ok("0.125", '.', 6, 6, false), 125000);
	assert_int_equal(parse_ok("1", '.', 6, 6, false), 1000000);
	assert_int_equal(parse_ok("0.000001", '.', 6, 6, false), 1);
	assert_int_equal(parse_ok("0,5", ',', 6, 6, false), 500000);
	/* Fewer allowed decimals than the scale. */
	assert_int_equal(parse_ok("1.5", '.', 2, 6, true), 1500000);
	/* Whole numbers only. */
	assert_int_equal(parse_ok("42", '.', 0, 0, false), 42);
	assert_int_equal(parse_ok("42", '.', 0, 3, false), 42000);
	assert_int_equal(parse_ok("9223372036854775807", '.', 0, 0, false), INT64_MAX);
	assert_int_equal(parse_ok("-9223372036854775807", '.', 0, 0, true), -INT64_MAX);
	/* symmetric: INT64_MIN is refused, so negating a parsed value is always defined */
	parse_bad("-9223372036854775808", 20, '.', 0, 0, true, "too large");
	assert_int_equal(parse_ok("1.123456789", '.', 9, 9, false), 1123456789);
	assert_int_equal(parse_ok("9223372036.854775807", '.', 9, 9, false), INT64_MAX);

	int64_t v = 0;
	assert_int_equal(money_parse_cents("3,25", 4, ',', false, &v, NULL), 0);
	assert_int_equal(v, 325);
	/* len, not NUL, ends the value. */
	assert_int_equal(money_parse_cents("12.345", 4, '.', false, &v, NULL), 0);
	assert_int_equal(v, 1230);
	/* out and why may be NULL. */
	assert_int_equal(money_parse_cents("1", 1, '.', false, NULL, NULL), 0);
	assert_int_equal(money_parse_cents("x", 1, '.', false, NULL, NULL), -1);
}

static void test_parse_int64_edges(void **state)
{
	(void)state;
	assert_int_equal(cents_ok("92233720368547758.07", '.'), INT64_MAX);
	cents_bad("-92233720368547758.08", '.', "too large");
	assert_int_equal(cents_ok("-92233720368547758.07", '.'), -INT64_MAX);
	assert_int_equal(cents_ok("92.233.720.368.547.758,07", ','), INT64_MAX);
	cents_bad("92233720368547758.08", '.', "too large");
	cents_bad("-92233720368547758.09", '.', "too large"); /* and beyond */
	cents_bad("92233720368547759", '.', "too large");     /* overflows only once scaled */
	cents_bad("92233720368547758.1", '.', "too large");   /* ... or once the fraction is added */
	cents_bad("99999999999999999999", '.', "too large");  /* 20 digits */
	cents_bad("12345678901234567890.12", '.', "too large");
	cents_bad("340282366920938463463374607431768211456", '.', "too large"); /* 2^128 */
	cents_bad("9999999999999999999999999999999999999999999999999", '.', "too large");
	parse_bad("9223372036854775808", 19, '.', 0, 0, false, "too large");
	parse_bad("-9223372036854775809", 20, '.', 0, 0, true, "too large");
	parse_bad("9223372036.854775808", 20, '.', 9, 9, false, "too large");
	parse_bad("9223372036855", 13, '.', 6, 6, false, "too large");
	assert_int_equal(parse_ok("9223372036854", '.', 6, 6, false), 9223372036854000000);
}

/* ---- parsing: rejected forms -------------------------------------------- */

static void test_parse_empty_and_signs(void **state)
{
	(void)state;
	cents_bad("", '.', "empty");
	cents_bad("", ',', "empty");
	parse_bad(NULL, 0, '.', 2, 2, true, "empty");
	cents_bad("-", '.', "not a number");
	cents_bad("+1", '.', "leading '-'");
	cents_bad("+", '.', "leading '-'");
	cents_bad("12.50-", '.', "leading '-'");
	cents_bad("--1", '.', "leading '-'");
	cents_bad("-1-", '.', "leading '-'");
	cents_bad("1-2", '.', "leading '-'");
	cents_bad("(12.50)", '.', "parentheses");
	cents_bad("12.50)", '.', "parentheses");
	cents_bad("\xe2\x88\x92" "5", '.', "leading '-'"); /* U+2212 minus */
	parse_bad("-5", 2, '.', 2, 2, false, "negative not allowed");
	parse_bad("-0", 2, '.', 2, 2, false, "negative not allowed");
	parse_bad("-0.05", 5, '.', 6, 6, false, "negative not allowed");
}

static void test_parse_foreign_characters(void **state)
{
	(void)state;
	cents_bad(" 12", '.', "spaces");
	cents_bad("12 ", '.', "spaces");
	cents_bad("1 234", '.', "spaces");
	cents_bad("1 234,50", ',', "spaces");
	cents_bad("12\t", '.', "spaces");
	cents_bad("12\n", '.', "spaces");
	cents_bad("1\xc2\xa0" "234,50", ',', "spaces");     /* no-break space */
	cents_bad("1\xe2\x80\xaf" "234,50", ',', "spaces"); /* narrow no-break space */
	cents_bad("\xe2\x82\xac" "12", '.', "currency");    /* euro sign */
	cents_bad("12\xe2\x82\xac", '.', "currency");
	cents_bad("\xc2\xa3" "12", '.', "currency");
	cents_bad("$12", '.', "currency");
	cents_bad("EUR12", '.', "not a number");
	cents_bad("1,23E+05", '.', "exponent");
	cents_bad("1e5", '.', "exponent");
	cents_bad("1E5", ',', "exponent");
	cents_bad("0x10", '.', "not a number");
	cents_bad("abc", '.', "not a number");
	cents_bad("e5", '.', "not a number");
	cents_bad("NaN", '.', "not a number");
	cents_bad("inf", '.', "not a number");
	cents_bad("5%", '.', "percent");
	cents_bad("1'234.50", '.', "thousands");
	parse_bad("1\0" "2", 3, '.', 2, 2, true, "not a number"); /* embedded NUL */
}

static void test_parse_separators_dot(void **state)
{
	(void)state;
	cents_bad("12.", '.', "digit must follow");
	cents_bad(".5", '.', "digit must come before");
	cents_bad("-.5", '.', "digit must come before");
	cents_bad(".", '.', "digit must come before");
	cents_bad("1..2", '.', "more than one decimal separator");
	cents_bad("1.2.3", '.', "more than one decimal separator");
	cents_bad("1.234.567", '.', "thousands separator not allowed with decimal \".\"");
	cents_bad("1.23.456", '.', "more than one decimal separator");
	cents_bad("1,234.50", '.', "thousands separator not allowed with decimal \".\"");
	cents_bad("1,234", '.', "thousands separator not allowed with decimal \".\"");
	cents_bad("1,234,567", '.', "thousands separator not allowed with decimal \".\"");
	cents_bad("1.234,50", '.', "thousands separator not allowed with decimal \".\"");
	cents_bad("12,5", '.', "decimal separator must be \".\"");
	cents_bad("12,50", '.', "decimal separator must be \".\"");
	cents_bad(",5", '.', "decimal separator must be \".\"");
	cents_bad("1.234", '.', "more than 2 decimals");
	cents_bad("12.345", '.', "more than 2 decimals");
	cents_bad("12.500", '.', "more than 2 decimals"); /* even trailing zeros */
	cents_bad("0.001", '.', "more than 2 decimals");
	parse_bad("0.1234567", 9, '.', 6, 6, false, "more than 6 decimals");
	parse_bad("1.5", 3, '.', 0, 0, false, "decimals not allowed");
	parse_bad("1.05", 4, '.', 1, 2, false, "more than 1 decimal");
}

static void test_parse_separators_comma(void **state)
{
	(void)state;
	cents_bad("1.23,50", ',', "groups must have exactly 3 digits");
	cents_bad("1.2345,50", ',', "groups must have exactly 3 digits");
	cents_bad("1234.567,89", ',', "groups must have exactly 3 digits");
	cents_bad("1.234.56,7", ',', "groups must have exactly 3 digits");
	cents_bad("1.23.456,50", ',', "groups must have exactly 3 digits");
	cents_bad("1.23.456", ',', "groups must have exactly 3 digits");
	cents_bad("1234.567", ',', "groups must have exactly 3 digits");
	cents_bad(".234,50", ',', "groups must have exactly 3 digits");
	cents_bad("1..234,50", ',', "groups must have exactly 3 digits");
	cents_bad("1.234.,50", ',', "groups must have exactly 3 digits");
	cents_bad("1.234.", ',', "groups must have exactly 3 digits");
	cents_bad("1,234.50", ',', "decimal separator must be \",\"");
	cents_bad("12,50.", ',', "decimal separator must be \",\"");
	cents_bad("12.50", ',', "decimal separator must be \",\"");
	cents_bad("12.5", ',', "decimal separator must be \",\"");
	cents_bad("1,2,3", ',', "more than one decimal separator");
	cents_bad("1,,2", ',', "more than one decimal separator");
	cents_bad("12,", ',', "digit must follow");
	cents_bad(",5", ',', "digit must come before");
	cents_bad("1.234,", ',', "digit must follow");
	cents_bad("1,234", ',', "more than 2 decimals");
	cents_bad("12,345", ',', "more than 2 decimals");
	cents_bad("1.234,567", ',', "more than 2 decimals");
}

static void test_parse_bad_arguments(void **state)
{
	(void)state;
	parse_bad("1", 1, ';', 2, 2, true, NULL);
	parse_bad("1", 1, '.', 3, 2, true, NULL);  /* max_frac > scale */
	parse_bad("1", 1, '.', 2, 10, true, NULL); /* scale > 9 */
	parse_bad("1", 1, '.', -1, 2, true, NULL);
}

/* ---- rounding ------------------------------------------------------------ */

static void test_round_half_even(void **state)
{
	(void)state;
	/* Ties go to the even neighbour, on both sides of zero. */
	round_is(5, 10, 0);     /* 0.5 */
	round_is(15, 10, 2);    /* 1.5 */
	round_is(25, 10, 2);    /* 2.5 */
	round_is(35, 10, 4);    /* 3.5 */
	round_is(-5, 10, 0);    /* -0.5 */
	round_is(-15, 10, -2);  /* -1.5 */
	round_is(-25, 10, -2);  /* -2.5 */
	round_is(-35, 10, -4);  /* -3.5 */
	/* Not ties. */
	round_is(14, 10, 1);
	round_is(16, 10, 2);
	round_is(-14, 10, -1);
	round_is(-16, 10, -2);
	round_is(1, 3, 0);
	round_is(2, 3, 1);
	round_is(-1, 3, 0);
	round_is(-2, 3, -1);
	round_is(0, 7, 0);
	round_is(7, 1, 7);
	round_is(-7, 1, -7);
	round_is(12, 4, 3);
	/* Just off the tie. */
	round_is(2500001, 1000000, 3);
	round_is(2499999, 1000000, 2);
	round_is(-2500001, 1000000, -3);
	/* Largest results. */
	round_is(INT64_MAX, 1, INT64_MAX);
	round_is(INT64_MIN, 1, INT64_MIN);
	round_is((__int128)INT64_MAX * 1000000, 1000000, INT64_MAX);
	round_is((__int128)INT64_MAX * 4 + 1, 4, INT64_MAX);     /* MAX + 0.25 */
	round_is((__int128)INT64_MIN * 2 - 1, 2, INT64_MIN);     /* MIN - 0.5: MIN is even */
	/* Huge numerator and denominator: no overflow inside the rounding. */
	__int128 big = ((__int128)1 << 126);
	round_is(big, big, 1);
	round_is(big / 2, big, 0);   /* exactly 0.5 */
	round_is(big / 2 * 3, big, 2); /* exactly 1.5 */
	round_is(-big, big, -1);
}

static void test_round_overflow(void **state)
{
	(void)state;
	int64_t v = 77;
	assert_int_equal(money_round_half_even((__int128)INT64_MAX + 1, 1, &v), -1);
	assert_int_equal(money_round_half_even((__int128)INT64_MIN - 1, 1, &v), -1);
	/* MAX + 0.5 with MAX odd ties up to 2^63: does not fit. */
	assert_int_equal(money_round_half_even((__int128)INT64_MAX * 2 + 1, 2, &v), -1);
	assert_int_equal(money_round_half_even((__int128)INT64_MIN * 4 - 3, 4, &v), -1);
	assert_int_equal(money_round_half_even((__int128)INT64_MAX * 4 + 3, 4, &v), -1);
	assert_int_equal(money_round_half_even(1, 0, &v), -1);
	assert_int_equal(money_round_half_even(1, -1, &v), -1);
}

static void test_apply_rate(void **state)
{
	(void)state;
	rate_is(1234, 50000, 62);   /* 61.7 */
	rate_is(1250, 50000, 62);   /* 62.5 -> even */
	rate_is(1350, 50000, 68);   /* 67.5 -> even */
	rate_is(1270, 50000, 64);   /* 63.5 -> even */
	rate_is(-1250, 50000, -62);
	rate_is(-1350, 50000, -68);
	rate_is(-1234, 50000, -62);
	rate_is(10000, 200000, 2000);
	rate_is(10000, 1000000, 10000);
	rate_is(10000, 0, 0);
	rate_is(0, 500000, 0);
	rate_is(1, 500000, 0);      /* 0.5 -> 0 */
	rate_is(3, 500000, 2);      /* 1.5 -> 2 */
	rate_is(1, 1, 0);
	rate_is(12345, 333333, 4115); /* 4114.99... */
	rate_is(INT64_MAX, 1000000, INT64_MAX);
	rate_is(INT64_MIN, 1000000, INT64_MIN);
	/* Promotion multipliers may exceed 1. */
	rate_is(1234, 2000000, 2468);
	rate_is(1235, 1500000, 1852); /* 1852.5 -> even */

	int64_t v = 0;
	assert_int_equal(money_apply_rate(INT64_MAX, 2000000, &v), -1);
	assert_int_equal(money_apply_rate(INT64_MIN, 1000001, &v), -1);
	assert_int_equal(money_apply_rate(INT64_MAX, INT64_MAX, &v), -1);
}

static void test_floor_div(void **state)
{
	(void)state;
	floor_is(7, 2, 3);
	floor_is(-7, 2, -4);
	floor_is(6, 2, 3);
	floor_is(-6, 2, -3);
	floor_is(-1, 3, -1);
	floor_is(1, 3, 0);
	floor_is(0, 3, 0);
	floor_is(-1, 1000000, -1);
	floor_is(999999, 1000000, 0);
	/* cap shares: floor(line x limit / total) */
	floor_is((__int128)1000 * 450, 1001, 449);
	floor_is((__int128)-1000 * 450, 1001, -450);
	floor_is(INT64_MIN, 1, INT64_MIN);
	floor_is((__int128)INT64_MIN * 3, 3, INT64_MIN);
	floor_is((__int128)INT64_MAX * 3 + 2, 3, INT64_MAX);

	int64_t v = 0;
	assert_int_equal(money_floor_div((__int128)INT64_MAX + 1, 1, &v), -1);
	assert_int_equal(money_floor_div((__int128)INT64_MIN * 3 - 1, 3, &v), -1);
	assert_int_equal(money_floor_div(1, 0, &v), -1);
	assert_int_equal(money_floor_div(1, -2, &v), -1);
}

static void test_add(void **state)
{
	(void)state;
	int64_t v = 0;
	assert_int_equal(money_add(2, 3, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(money_add(-2, -3, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(money_add(INT64_MAX, 0, &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(money_add(INT64_MAX, INT64_MIN, &v), 0);
	assert_int_equal(v, -1);
	assert_int_equal(money_add(INT64_MIN, 0, &v), 0);
	assert_int_equal(v, INT64_MIN);
	v = 42;
	assert_int_equal(money_add(INT64_MAX, 1, &v), -1);
	assert_int_equal(money_add(INT64_MIN, -1, &v), -1);
	assert_int_equal(money_add(INT64_MAX / 2 + 1, INT64_MAX / 2 + 1, &v), -1);
	assert_int_equal(v, 42);
}

/* ---- formatting ---------------------------------------------------------- */

static void test_format(void **state)
{
	(void)state;
	format_is(1234, 2, "12.34");
	format_is(-5, 2, "-0.05");
	format_is(700, 2, "7.00");
	format_is(0, 2, "0.00");
	format_is(-1250, 2, "-12.50");
	format_is(-100, 2, "-1.00");
	format_is(1, 2, "0.01");
	format_is(42, 0, "42");
	format_is(-42, 0, "-42");
	format_is(0, 0, "0");
	format_is(1, 9, "0.000000001");
	format_is(-1, 9, "-0.000000001");
	format_is(INT64_MAX, 2, "92233720368547758.07");
	format_is(INT64_MIN, 2, "-92233720368547758.08");
	format_is(INT64_MIN, 0, "-9223372036854775808");
	format_is(INT64_MIN, 9, "-9223372036.854775808");
	format_is(50000, 6, "0.050000");

	char buf[32];
	assert_int_equal(money_format(1, 10, buf), -1);
	assert_int_equal(money_format(1, -1, buf), -1);
}

static void test_format_rate(void **state)
{
	(void)state;
	rate_format_is(50000, "0.05");
	rate_format_is(125000, "0.125");
	rate_format_is(1000000, "1.00");
	rate_format_is(0, "0.00");
	rate_format_is(1, "0.000001");
	rate_format_is(100000, "0.10");
	rate_format_is(200000, "0.20");
	rate_format_is(450000, "0.45");
	rate_format_is(333333, "0.333333");
	rate_format_is(2500000, "2.50");
	rate_format_is(1234500, "1.2345");
	rate_format_is(-50000, "-0.05");
}

/* Every formatted value parses back to itself (INT64_MIN formats, but is
 * outside the symmetric range money_parse accepts). */
static void test_format_parse_round_trip(void **state)
{
	(void)state;
	const int64_t values[] = {0,      1,        -1,        5,         -5,        99,
				  100,    1234,     -1234,     100000000, INT64_MAX, -INT64_MAX,
				  INT64_MAX - 1, INT64_MIN + 2, 4611686018427387904};
	char buf[32];
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		for (int digits = 0; digits <= 9; digits++) {
			int n = money_format(values[i], digits, buf);
			int64_t back = 0;
			const char *why = NULL;
			assert_int_equal(money_parse(buf, (size_t)n, '.', digits, digits, true, &back, &why), 0);
			assert_int_equal(back, values[i]);
		}
	}
	/* A sweep of small values in both notations. */
	for (int64_t v = -100000; v <= 100000; v += 37) {
		int n = money_format(v, 2, buf);
		int64_t back = 0;
		assert_int_equal(money_parse_cents(buf, (size_t)n, '.', true, &back, NULL), 0);
		assert_int_equal(back, v);
		char *dot = strchr(buf, '.');
		*dot = ',';
		assert_int_equal(money_parse_cents(buf, (size_t)n, ',', true, &back, NULL), 0);
		assert_int_equal(back, v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_plain),
		cmocka_unit_test(test_parse_decimal_comma),
		cmocka_unit_test(test_parse_scales),
		cmocka_unit_test(test_parse_int64_edges),
		cmocka_unit_test(test_parse_empty_and_signs),
		cmocka_unit_test(test_parse_foreign_characters),
		cmocka_unit_test(test_parse_separators_dot),
		cmocka_unit_test(test_parse_separators_comma),
		cmocka_unit_test(test_parse_bad_arguments),
		cmocka_unit_test(test_round_half_even),
		cmocka_unit_test(test_round_overflow),
		cmocka_unit_test(test_apply_rate),
		cmocka_unit_test(test_floor_div),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_rate),
		cmocka_unit_test(test_format_parse_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
