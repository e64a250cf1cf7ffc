/*
 * money.c - exact decimal parsing, rounding and formatting (see money.h).
 *
 * Everything is integer arithmetic: parsed magnitudes are accumulated in
 * __int128 (so a digit can never overflow the accumulator itself) and checked
 * against the int64 limit after every step.
 */
#include "money.h"

#include <string.h>

static const int64_t pow10_tab[10] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
};

/* Indexed by max_frac: the phrase for a value with too many fractional digits. */
static const char *const too_many_decimals[10] = {
	"decimals not allowed", "more than 1 decimal",  "more than 2 decimals",
	"more than 3 decimals", "more than 4 decimals", "more than 5 decimals",
	"more than 6 decimals", "more than 7 decimals", "more than 8 decimals",
	"more than 9 decimals",
};

static int fail(const char **why, const char *phrase)
{
	if (why)
		*why = phrase;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool has_prefix(const char *s, size_t len, size_t i, const char *pre)
{
	size_t n = strlen(pre);
	return len - i >= n && memcmp(s + i, pre, n) == 0;
}

/*
 * s[i] can never be part of a decimal. Name the habit that most likely put it
 * there (spreadsheet exports, locale formatting, accounting notation), so the
 * row error tells the user what to change rather than just "not a number".
 */
static const char *foreign_why(const char *s, size_t len, size_t i)
{
	char c = s[i];

	if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f')
		return "spaces not allowed";
	if (c == '+')
		return "a sign must be a leading '-'";
	if (c == '(' || c == ')')
		return "parentheses not allowed (a sign must be a leading '-')";
	if ((c == 'e' || c == 'E') && i > 0 && is_digit(s[i - 1]))
		return "exponent not allowed";
	if (c == '%')
		return "percent sign not allowed";
	if (c == '\'')
		return "thousands separator \"'\" not allowed";
	if (c == '$')
		return "currency signs not allowed";
	/* UTF-8 sequences seen in exported numbers. */
	if (has_prefix(s, len, i, "\xc2\xa0") || has_prefix(s, len, i, "\xe2\x80\xaf") ||
	    has_prefix(s, len, i, "\xe2\x80\x89"))
		return "spaces not allowed"; /* no-break, narrow no-break, thin space */
	if (has_prefix(s, len, i, "\xe2\x82\xac") || has_prefix(s, len, i, "\xc2\xa3") ||
	    has_prefix(s, len, i, "\xc2\xa5"))
		return "currency signs not allowed"; /* euro, pound, yen */
	if (has_prefix(s, len, i, "\xe2\x88\x92"))
		return "a sign must be a leading '-'"; /* U+2212 MINUS SIGN */
	return "not a number";
}

/* Do s[0..n) look like digits grouped by `sep` in threes ("1.234.567")? */
static bool looks_grouped(const char *s, size_t n, char sep)
{
	size_t run = 0, groups = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == sep) {
			if (run == 0 || run > 3 || (groups > 0 && run != 3))
				return false;
			groups++;
			run = 0;
		} else if (is_digit(s[i])) {
			run++;
		} else {
			return false;
		}
	}
	return groups > 0 && run == 3;
}

static size_t count_char(const char *s, size_t n, char c)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i] == c;
	return k;
}

int money_parse(const char *s, size_t len, char decimal, int max_frac, int scale,
		bool allow_negative, int64_t *out, const char **why)
{
	if (scale < 0 || scale > 9 || max_frac < 0 || max_frac > scale ||
	    (decimal != '.' && decimal != ','))
		return fail(why, "invalid number format"); /* a caller's bug */
	if (!s || len == 0)
		return fail(why, "empty");

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!is_digit(c) && c != '.' && c != ',' && c != '-')
			return fail(why, foreign_why(s, len, i));
	}

	/* From here on s holds only digits, '.', ',' and '-'. */
	bool neg = s[0] == '-';
	const char *p = s + neg;
	size_t n = len - neg;
	if (count_char(p, n, '-') > 0)
		return fail(why, "a sign must be a leading '-'");
	if (n == 0)
		return fail(why, "not a number");
	if (neg && !allow_negative)
		return fail(why, "negative not allowed");

	char group = decimal == '.' ? ',' : '.';
	size_t ndec = count_char(p, n, decimal);
	size_t ngroup = count_char(p, n, group);

	if (decimal == '.') {
		if (ngroup > 0) {
			/* "1,234.50" or "1,234" is grouping; "12,5" is a decimal comma. */
			const char *comma = memchr(p, ',', n);
			size_t after = 0;
			while (comma + 1 + after < p + n && is_digit(comma[1 + after]))
				after++;
			if (ndec > 0 || after == 3)
				return fail(why, "thousands separator not allowed with decimal \".\"");
			return fail(why, "decimal separator must be \".\"");
		}
		if (ndec > 1) {
			if (looks_grouped(p, n, '.'))
				return fail(why, "thousands separator not allowed with decimal \".\"");
			return fail(why, "more than one decimal separator");
		}
	} else {
		if (ndec > 1)
			return fail(why, "more than one decimal separator");
		const char *comma = memchr(p, ',', n);
		if (comma && memchr(comma, '.', (size_t)(p + n - comma)))
			return fail(why, "decimal separator must be \",\"");
		if (!comma && ngroup == 1) {
			/* "12.50" was meant as a decimal point; "1.234" is grouping. */
			const char *dot = memchr(p, '.', n);
			if ((size_t)(p + n - dot - 1) != 3)
				return fail(why, "decimal separator must be \",\"");
		}
	}

	const char *dp = memchr(p, decimal, n);
	size_t int_len = dp ? (size_t)(dp - p) : n;
	size_t frac_len = dp ? n - int_len - 1 : 0;
	if (dp && int_len == 0)
		return fail(why, "a digit must come before the decimal separator");
	if (dp && frac_len == 0)
		return fail(why, "a digit must follow the decimal separator");
	if (decimal == ',' && ngroup > 0 && !looks_grouped(p, int_len, '.'))
		return fail(why, "thousands groups must have exactly 3 digits");
	if (frac_len > (size_t)max_frac)
		return fail(why, too_many_decimals[max_frac]);

	/* Magnitude limit INT64_MAX, negative values too: the range is symmetric,
	 * so negating a parsed value (a refund's volumes, a clawback's base) can
	 * never overflow. INT64_MIN itself is refused. */
	const __int128 limit = INT64_MAX;
	__int128 mag = 0;
	for (size_t i = 0; i < int_len; i++) {
		if (p[i] == group)
			continue;
		mag = mag * 10 + (p[i] - '0');
		if (mag > limit)
			return fail(why, "value too large"); /* stops before mag can grow further */
	}
	__int128 frac = 0;
	for (size_t i = 0; i < frac_len; i++)
		frac = frac * 10 + (dp[1 + i] - '0');
	/* mag <= 2^63 and scale <= 9, so this fits easily in 128 bits. */
	mag = mag * pow10_tab[scale] + frac * pow10_tab[scale - (int)frac_len];
	if (mag > limit)
		return fail(why, "value too large");

	if (out)
		*out = (int64_t)(neg ? -mag : mag);
	return 0;
}

int money_parse_cents(const char *s, size_t len, char decimal, bool allow_negative,
		      int64_t *out, const char **why)
{
	return money_parse(s, len, decimal, 2, 2, allow_negative, out, why);
}

static int to_int64(__int128 v, int64_t *out)
{
	if (v < INT64_MIN || v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* floor(num/den) and the remainder in [0, den), for den > 0. C division
 * truncates toward zero, so a negative remainder moves the quotient down. */
static void floor_divmod(__int128 num, __int128 den, __int128 *q, __int128 *r)
{
	*q = num / den;
	*r = num % den;
	if (*r < 0) {
		*q -= 1;
		*r += den;
	}
}

int money_round_half_even(__int128 num, __int128 den, int64_t *out)
{
	if (den <= 0)
		return -1;
	__int128 q, r;
	floor_divmod(num, den, &q, &r);
	/* Compare r with den - r rather than 2r with den: 2r could overflow. */
	__int128 rest = den - r;
	if (r > rest || (r == rest && (q & 1) != 0))
		q += 1;
	return to_int64(q, out);
}

int money_apply_rate(int64_t base, int64_t rate_millionths, int64_t *out)
{
	return money_round_half_even((__int128)base * rate_millionths, RATE_SCALE, out);
}

int money_floor_div(__int128 num, __int128 den, int64_t *out)
{
	if (den <= 0)
		return -1;
	__int128 q, r;
	floor_divmod(num, den, &q, &r);
	return to_int64(q, out);
}

int money_add(int64_t a, int64_t b, int64_t *out)
{
	int64_t sum;
	if (__builtin_add_overflow(a, b, &sum))
		return -1;
	*out = sum;
	return 0;
}

int money_format(int64_t v, int digits, char *buf)
{
	if (digits < 0 || digits > 9) {
		buf[0] = '\0';
		return -1;
	}
	/* Unsigned magnitude so that INT64_MIN formats too. Digits are made
	 * right to left (the fraction, the point, then at least one integer
	 * digit) without printf: statements format millions of amounts. */
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	char t[32];
	char *end = t + sizeof t, *q = end;
	for (int k = 0; k < digits; k++) {
		*--q = (char)('0' + mag % 10);
		mag /= 10;
	}
	if (digits > 0)
		*--q = '.';
	do {
		*--q = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (v < 0)
		*--q = '-';
	int n = (int)(end - q); /* at most 22: a sign, 20 digits, a point */
	memcpy(buf, q, (size_t)n);
	buf[n] = '\0';
	return n;
}

int money_format_rate(int64_t millionths, char *buf)
{
	int n = money_format(millionths, 6, buf);
	/* "0.125000" -> "0.125", but keep two decimals: "1.000000" -> "1.00". */
	const char *dot = strchr(buf, '.');
	int keep = (int)(dot - buf) + 1 + 2;
	while (n > keep && buf[n - 1] == '0')
		n--;
	buf[n] = '\0';
	return n;
}
