/*
 * money.h - exact decimal arithmetic for money, volumes and rates.
 *
 * Money and volumes are int64 hundredths (cents, PV hundredths); rates and
 * multipliers are int64 millionths. No floating point anywhere. Products are
 * computed in __int128 and every result is checked to fit in int64.
 *
 * money_round_half_even() is the ONE place in the product that rounds to
 * nearest (SPEC 6.1): every statement line and every promoted volume goes
 * through it. money_floor_div() is the one place that rounds down (cap, pool).
 */
#ifndef PAYOUTD_MONEY_H
#define PAYOUTD_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MONEY_SCALE 100       /* hundredths */
#define RATE_SCALE 1000000    /* millionths */

/*
 * Parses the decimal text s[0..len) into an integer count of 10^-scale units.
 *  - decimal is '.' or ','. With '.', no grouping is accepted. With ',',
 *    digits before the comma may be grouped with '.' in groups of exactly
 *    three ("1.234,50"), or not grouped at all ("1234,50").
 *  - at most max_frac fractional digits (max_frac <= scale <= 9); a decimal
 *    separator must have at least one digit on each side ("12." ".5" fail).
 *  - the only sign accepted is a leading '-' (if allow_negative); no '+',
 *    no spaces, no currency signs, no exponents, no parentheses.
 *  - a magnitude over INT64_MAX is an error (INT64_MIN too: the range is
 *    symmetric, so a parsed value can always be negated).
 * Returns 0 and sets *out, or -1 and sets *why to a static phrase saying
 * what was expected (e.g. "more than 2 decimals", "not a number").
 */
int money_parse(const char *s, size_t len, char decimal, int max_frac, int scale,
		bool allow_negative, int64_t *out, const char **why);

/* Convenience: hundredths with at most 2 decimals. */
int money_parse_cents(const char *s, size_t len, char decimal, bool allow_negative,
		      int64_t *out, const char **why);

/* Rounds num/den to the nearest integer, ties to even. den > 0.
 * Returns 0, or -1 when the result does not fit in int64. */
int money_round_half_even(__int128 num, __int128 den, int64_t *out);

/* round_half_even(base * rate / RATE_SCALE): a statement line amount, or a
 * promoted volume. Returns -1 on overflow. */
int money_apply_rate(int64_t base, int64_t rate_millionths, int64_t *out);

/* floor(num/den) toward minus infinity, den > 0. Returns -1 on overflow. */
int money_floor_div(__int128 num, __int128 den, int64_t *out);

/* Checked add: -1 on overflow. */
int money_add(int64_t a, int64_t b, int64_t *out);

/* Formats v (units of 10^-digits) as a decimal with exactly `digits`
 * fractional digits ("12.34", "-0.05", "7.00"); digits 0..9. Returns the
 * length written; buf must hold at least 32 bytes. */
int money_format(int64_t v, int digits, char *buf);

/* Formats a rate in millionths with at least two decimals and no trailing
 * zeros beyond that: 50000 -> "0.05", 125000 -> "0.125", 1000000 -> "1.00". */
int money_format_rate(int64_t millionths, char *buf);

#endif
