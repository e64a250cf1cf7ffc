/*
 * dates.h - calendar dates, the plan's time zone, and periods.
 *
 * A date is an int32 count of days since 1970-01-01 (proleptic Gregorian),
 * valid for years 1900..9999. A period is an int32 index:
 *   monthly: year * 12 + (month - 1)             named "YYYY-MM"
 *   weekly:  ISO week index = (days - 4) / 7 (floor; 1970-01-05 is a Monday,
 *            index 0), named "GGGG-Www" with the ISO week-numbering year.
 * Pure functions except dates_set_timezone(), which sets the process's TZ
 * (the daemon is single-threaded; this is done once per plan load).
 */
#ifndef PAYOUTD_DATES_H
#define PAYOUTD_DATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum { PERIOD_MONTHLY = 1, PERIOD_WEEKLY = 2 } period_kind;

/* Validates y-m-d (years 1900..9999) and returns days since epoch. -1 when impossible. */
int date_from_ymd(int y, int m, int d, int32_t *days);
void date_to_ymd(int32_t days, int *y, int *m, int *d);
/* Writes "YYYY-MM-DD" (buf >= 11 bytes). */
void date_format_iso(int32_t days, char *buf);
/* 0 = Monday .. 6 = Sunday */
int date_weekday(int32_t days);

/*
 * Parses s[0..len) with a strptime-like format supporting %Y (4 digits),
 * %m and %d (1 or 2 digits), %% and literal characters, matched exactly
 * and completely. Returns 0 and *days, or -1 and *why (static phrase).
 */
int date_parse_format(const char *s, size_t len, const char *fmt, int32_t *days, const char **why);

/*
 * Parses an ISO 8601 date-time "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by
 * "Z", "+HH:MM", "-HH:MM", "+HHMM" or nothing; 'T' may also be a space.
 * With an offset, sets *has_offset and *utc to seconds since the epoch.
 * Without, sets *local_days to the date part (a local date-time is taken
 * as already in the plan's time zone).
 */
int date_parse_iso_datetime(const char *s, size_t len, bool *has_offset, int64_t *utc,
			    int32_t *local_days, const char **why);

/*
 * A sale's date: first the input's date format, else an ISO date-time
 * converted to the plan's time zone (dates_set_timezone must have been called).
 */
int date_parse_sale(const char *s, size_t len, const char *fmt, int32_t *days, const char **why);

/* 1 when name is an IANA zone with a zone file (Europe/Berlin; not a folder or table). */
bool dates_zone_exists(const char *name);
/* Sets the process time zone to an IANA name ("Europe/Berlin"); -1 if unknown. */
int dates_set_timezone(const char *name, pd_err *err);
/* The local date, in the current time zone, of a UTC instant. */
int32_t dates_local_day(int64_t utc_seconds);
/* Today's date in the current time zone. */
int32_t dates_today(void);

/* Periods */
int32_t period_of_day(period_kind k, int32_t days);
/* First day of period p, and first day after it. */
int32_t period_first_day(period_kind k, int32_t p);
int32_t period_end_day(period_kind k, int32_t p);
/* "2026-11" or "2026-W45" (buf >= 16 bytes). */
void period_name(period_kind k, int32_t p, char *buf);
/* Parses a period name of the given kind; -1 if malformed. */
int period_parse(period_kind k, const char *s, int32_t *p);
/* "monthly" / "weekly" */
const char *period_kind_name(period_kind k);

#endif
