/*
 * dates.c - civil dates as day numbers, strict date parsing, the plan's time
 * zone and period arithmetic (see dates.h).
 *
 * All calendar arithmetic is done here in int64 on day numbers; the C library
 * is used only to map a UTC instant to a local date (localtime_r), because
 * that needs the tz database.
 */
#include "dates.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define YEAR_MIN 1900
#define YEAR_MAX 9999
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define ZONE_NAME_MAX 128

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

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if (a % b != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/*
 * Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms": days since
 * 1970-01-01 of a proleptic Gregorian date. The year is shifted to start in
 * March so that the leap day is the last day of its year; an era is 400 years
 * (146097 days). Valid for any y, m 1..12, d 1..31 (no range checks).
 */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;                                    /* [0, 399] */
	const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const int64_t doe = z - era * 146097;                                      /* [0, 146096] */
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
	const int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int date_from_ymd(int y, int m, int d, int32_t *days)
{
	if (y < YEAR_MIN || y > YEAR_MAX || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	*days = (int32_t)days_from_civil(y, m, d);
	return 0;
}

void date_to_ymd(int32_t days, int *y, int *m, int *d)
{
	int64_t yy;
	civil_from_days(days, &yy, m, d);
	*y = (int)yy; /* |days| < 2^31 keeps the year within +-6 million */
}

/* Writes v (0 <= v < 10^n) as exactly n digits. */
static void put_digits(char *buf, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		buf[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

void date_format_iso(int32_t days, char *buf)
{
	int y, m, d;
	date_to_ymd(days, &y, &m, &d);
	/* Only 1900..9999 are valid dates; anything else gets a visibly odd year. */
	if (y < 0 || y > YEAR_MAX)
		y = 0;
	put_digits(buf, (unsigned)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, (unsigned)m, 2);
	buf[7] = '-';
	put_digits(buf + 8, (unsigned)d, 2);
	buf[10] = '\0';
}

int date_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (3 when Monday is 0). */
	return (int)floor_mod((int64_t)days + 3, 7);
}

/* Reads between min and max digits at s[*i] (greedily) into *v. */
static bool read_digits(const char *s, size_t len, size_t *i, int min, int max, int *v)
{
	int n = 0, x = 0;
	while (n < max && *i < len && is_digit(s[*i])) {
		x = x * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	*v = x;
	return n >= min;
}

/* The reason y-m-d is not a valid date (date_from_ymd failed). */
static const char *bad_ymd_why(int y, int m)
{
	if (y < YEAR_MIN || y > YEAR_MAX)
		return "year out of range (1900..9999)";
	if (m < 1 || m > 12)
		return "no such month";
	return "no such day in that month";
}

int date_parse_format(const char *s, size_t len, const char *fmt, int32_t *days, const char **why)
{
	if (!fmt)
		fmt = "%Y-%m-%d";
	if (!s || len == 0)
		return fail(why, "empty");

	int y = -1, m = -1, d = -1;
	size_t i = 0;
	for (const char *f = fmt; *f; f++) {
		if (*f != '%' || f[1] == '%') {
			if (*f == '%')
				f++; /* "%%" is a literal '%' */
			if (i >= len || s[i] != *f)
				return fail(why, "does not match the date format");
			i++;
			continue;
		}
		f++;
		if (*f == 'Y' && y < 0) {
			if (!read_digits(s, len, &i, 4, 4, &y))
				return fail(why, "expected a 4-digit year");
		} else if (*f == 'm' && m < 0) {
			if (!read_digits(s, len, &i, 1, 2, &m))
				return fail(why, "expected a month");
		} else if (*f == 'd' && d < 0) {
			if (!read_digits(s, len, &i, 1, 2, &d))
				return fail(why, "expected a day");
		} else {
			return fail(why, "invalid date format"); /* config validation's job */
		}
	}
	if (y < 0 || m < 0 || d < 0)
		return fail(why, "invalid date format");
	if (i != len)
		return fail(why, "unexpected characters after the date");
	int32_t v;
	if (date_from_ymd(y, m, d, &v) != 0)
		return fail(why, bad_ymd_why(y, m));
	if (days)
		*days = v;
	return 0;
}

/* s[*i] == c, consumed. */
static bool expect(const char *s, size_t len, size_t *i, char c)
{
	if (*i < len && s[*i] == c) {
		(*i)++;
		return true;
	}
	return false;
}

int date_parse_iso_datetime(const char *s, size_t len, bool *has_offset, int64_t *utc,
			    int32_t *local_days, const char **why)
{
	if (!s || len == 0)
		return fail(why, "empty");

	size_t i = 0;
	int y, mo, d, hh, mi, ss = 0;
	if (!read_digits(s, len, &i, 4, 4, &y) || !expect(s, len, &i, '-') ||
	    !read_digits(s, len, &i, 2, 2, &mo) || !expect(s, len, &i, '-') ||
	    !read_digits(s, len, &i, 2, 2, &d))
		return fail(why, "expected a date-time YYYY-MM-DDTHH:MM");
	int32_t day;
	if (date_from_ymd(y, mo, d, &day) != 0)
		return fail(why, bad_ymd_why(y, mo));
	if (!expect(s, len, &i, 'T') && !expect(s, len, &i, ' '))
		return fail(why, "expected 'T' between date and time");
	if (!read_digits(s, len, &i, 2, 2, &hh) || !expect(s, len, &i, ':') ||
	    !read_digits(s, len, &i, 2, 2, &mi))
		return fail(why, "expected a time HH:MM");
	if (expect(s, len, &i, ':')) {
		if (!read_digits(s, len, &i, 2, 2, &ss))
			return fail(why, "expected seconds");
		if (expect(s, len, &i, '.') || expect(s, len, &i, ',')) {
			/* Fractions of a second cannot move a date: truncating is flooring here. */
			size_t start = i;
			while (i < len && is_digit(s[i]))
				i++;
			if (i == start)
				return fail(why, "expected digits after the decimal point");
		}
	}
	if (hh > 23 || mi > 59 || ss > 59)
		return fail(why, "no such time of day");

	bool offset = false;
	int64_t off_seconds = 0;
	if (expect(s, len, &i, 'Z')) {
		offset = true;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int sign = s[i] == '-' ? -1 : 1;
		int oh, om;
		i++;
		if (!read_digits(s, len, &i, 2, 2, &oh))
			return fail(why, "expected an offset +HH:MM");
		expect(s, len, &i, ':'); /* both +HH:MM and +HHMM */
		if (!read_digits(s, len, &i, 2, 2, &om))
			return fail(why, "expected an offset +HH:MM");
		if (oh > 23 || om > 59)
			return fail(why, "offset out of range");
		offset = true;
		off_seconds = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	}
	if (i != len)
		return fail(why, "unexpected characters after the time");

	if (has_offset)
		*has_offset = offset;
	if (utc)
		*utc = offset ? (int64_t)day * 86400 + hh * 3600 + mi * 60 + ss - off_seconds : 0;
	if (local_days)
		*local_days = day;
	return 0;
}

int date_parse_sale(const char *s, size_t len, const char *fmt, int32_t *days, const char **why)
{
	const char *fmt_why = NULL, *iso_why = NULL;
	int32_t v;
	if (date_parse_format(s, len, fmt, &v, &fmt_why) == 0) {
		if (days)
			*days = v;
		return 0;
	}
	bool has_offset;
	int64_t utc;
	int32_t local;
	if (date_parse_iso_datetime(s, len, &has_offset, &utc, &local, &iso_why) == 0) {
		v = has_offset ? dates_local_day(utc) : local;
		/* 9999-12-31T23:00-05:00 is a valid instant but a day out of range. */
		int y, m, d;
		date_to_ymd(v, &y, &m, &d);
		if (y < YEAR_MIN || y > YEAR_MAX)
			return fail(why, "year out of range (1900..9999)");
		if (days)
			*days = v;
		return 0;
	}
	/* Explain the failure in terms of what the value looks like: something
	 * after a 10-character date is an attempted date-time. */
	if (len > 10 && (s[10] == 'T' || s[10] == ' '))
		return fail(why, iso_why);
	return fail(why, fmt_why);
}

/* IANA names are made of these only; everything else (including '.', so no
 * "..", and no leading '/') could point outside the zoneinfo tree. */
static bool zone_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > ZONE_NAME_MAX || name[0] == '/' || name[n - 1] == '/' ||
	    strstr(name, "..") || strstr(name, "//"))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
			  c == '/' || c == '_' || c == '-' || c == '+';
		if (!ok)
			return false;
	}
	return true;
}

/* A regular file starting with the tzfile magic: a zone, not one of the
 * tables (zone.tab, tzdata.zi, ...) that live alongside them. */
static bool is_tzfile(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char magic[4];
	ssize_t n = read(fd, magic, sizeof magic);
	close(fd);
	return n == (ssize_t)sizeof magic && memcmp(magic, "TZif", 4) == 0;
}

bool dates_zone_exists(const char *name)
{
	if (!name || !zone_name_ok(name))
		return false;
	char path[sizeof ZONEINFO_DIR + 1 + ZONE_NAME_MAX + 1];
	snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, name);
	return is_tzfile(path);
}

int dates_set_timezone(const char *name, pd_err *err)
{
	if (!name || !*name)
		return pd_errf(err, "time zone: empty");
	if (!zone_name_ok(name))
		return pd_errf(err, "time zone \"%.*s\": expected an IANA name such as Europe/Berlin",
			       ZONE_NAME_MAX, name);
	char path[sizeof ZONEINFO_DIR + 1 + ZONE_NAME_MAX + 1];
	snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, name);
	if (!is_tzfile(path))
		return pd_errf(err, "unknown time zone \"%s\" (no zone file %s)", name, path);
	if (setenv("TZ", name, 1) != 0)
		return pd_errf(err, "time zone \"%s\": cannot set TZ", name);
	/* localtime_r() need not re-read TZ; tzset() makes the change take effect. */
	tzset();
	return 0;
}

int32_t dates_local_day(int64_t utc_seconds)
{
	time_t t = (time_t)utc_seconds;
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL)
		return (int32_t)floor_div(utc_seconds, 86400); /* beyond the tz data: UTC */
	return (int32_t)days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int32_t dates_today(void)
{
	return dates_local_day((int64_t)time(NULL));
}

/* ISO week-numbering year and week (1..53) of weekly period p. The year is
 * the calendar year of the week's Thursday. */
static void iso_week(int32_t p, int64_t *g, int *w)
{
	int64_t thursday = (int64_t)p * 7 + 4 + 3;
	int m, d;
	civil_from_days(thursday, g, &m, &d);
	*w = (int)((thursday - days_from_civil(*g, 1, 1)) / 7 + 1);
}

/* Any kind other than PERIOD_WEEKLY is treated as monthly. */
int32_t period_of_day(period_kind k, int32_t days)
{
	if (k == PERIOD_WEEKLY)
		return (int32_t)floor_div((int64_t)days - 4, 7);
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	return (int32_t)(y * 12 + m - 1);
}

int32_t period_first_day(period_kind k, int32_t p)
{
	if (k == PERIOD_WEEKLY)
		return (int32_t)((int64_t)p * 7 + 4);
	return (int32_t)days_from_civil(floor_div(p, 12), (int)floor_mod(p, 12) + 1, 1);
}

int32_t period_end_day(period_kind k, int32_t p)
{
	if (k == PERIOD_WEEKLY)
		return (int32_t)((int64_t)p * 7 + 4 + 7);
	int64_t next = (int64_t)p + 1;
	return (int32_t)days_from_civil(floor_div(next, 12), (int)floor_mod(next, 12) + 1, 1);
}

/* A year for a name: any int32 period maps within +-180 million years, but
 * only 1900..9999 are meaningful; clamping keeps the name within 16 bytes. */
static int name_year(int64_t y)
{
	return y < -999999 ? -999999 : y > 999999 ? 999999 : (int)y;
}

void period_name(period_kind k, int32_t p, char *buf)
{
	if (k == PERIOD_WEEKLY) {
		int64_t g;
		int w;
		iso_week(p, &g, &w);
		snprintf(buf, 16, "%04d-W%02u", name_year(g), (unsigned)w % 100u);
	} else {
		unsigned m = (unsigned)floor_mod(p, 12) + 1;
		snprintf(buf, 16, "%04d-%02u", name_year(floor_div(p, 12)), m % 100u);
	}
}

int period_parse(period_kind k, const char *s, int32_t *p)
{
	if (!s)
		return -1;
	size_t len = strlen(s), i = 0;
	int y, n;
	if (!read_digits(s, len, &i, 4, 4, &y) || !expect(s, len, &i, '-'))
		return -1;
	if (k == PERIOD_WEEKLY && !expect(s, len, &i, 'W'))
		return -1;
	if (!read_digits(s, len, &i, 2, 2, &n) || i != len || y < YEAR_MIN || y > YEAR_MAX)
		return -1;

	int32_t v;
	if (k == PERIOD_WEEKLY) {
		if (n < 1 || n > 53)
			return -1;
		/* Week 1 is the week containing January 4th. */
		int64_t jan4 = days_from_civil(y, 1, 4);
		int64_t monday = jan4 - floor_mod(jan4 + 3, 7);
		v = (int32_t)(floor_div(monday - 4, 7) + n - 1);
	} else {
		if (n < 1 || n > 12)
			return -1;
		v = y * 12 + n - 1;
	}
	/* Week 53 exists only in some years: the name must come back unchanged. */
	char back[16];
	period_name(k, v, back);
	if (strcmp(back, s) != 0)
		return -1;
	*p = v;
	return 0;
}

const char *period_kind_name(period_kind k)
{
	switch (k) {
	case PERIOD_MONTHLY:
		return "monthly";
	case PERIOD_WEEKLY:
		return "weekly";
	}
	return "unknown";
}
