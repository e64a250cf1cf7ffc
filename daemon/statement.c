/*
 * statement.c - the files a close writes (SPEC 7, 11.21), made in memory.
 *
 * Four writers over one stmt_period: the statement as JSON for machines, the
 * same statement as an HTML page for people, payouts.csv for finance and
 * summary.json for the period. All are pure functions of their input: no
 * clock, no locale, no hash-table order, so a close is byte-for-byte
 * reproducible (SPEC 7).
 *
 * Every number is an integer: money and volumes in hundredths, rates in
 * millionths, printed through money.h. JSON carries them as strings; the
 * HTML chart computes bar widths with __int128 products. Nothing here uses
 * the C types for binary fractions, and a unit test greps this file to keep
 * it that way.
 *
 * Output goes into an sbuf, a growable buffer with a hard maximum
 * (STYLE.md "Memory and bounds"): past it the writer fails with -1.
 *
 * A close makes a JSON and an HTML statement per distributor, a million of
 * each at the largest sizes (docs/performance.md), so those two writers
 * append text directly, without printf or a jansson tree; `bench_statements`
 * times them, and its --dump shows that a change keeps every byte.
 */
#include "statement.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "money.h"

/* ---- a bounded growable buffer ----------------------------------------- */

/* No single file of a close may exceed this (a leader with a very wide
 * downline has one line per source and level: 1 GiB is far beyond that). */
#define SBUF_MAX ((size_t)1 << 30)

/*
 * The text in v[0..n) is not NUL-terminated while it is being written; there
 * is always room for the terminator, which sb_finish adds. The writers below
 * put millions of small pieces per close, so the common case (the piece
 * fits) is a compare and a memcpy.
 */
typedef struct sbuf {
	char *v;
	size_t n, cap;
	bool failed;  /* the maximum was reached, or a formatting error */
} sbuf;

/* Room for `len` more bytes and the terminator; false (and failed) past SBUF_MAX. */
static bool sb_grow(sbuf *b, size_t len)
{
	if (b->failed)
		return false;
	if (len > SBUF_MAX - 1 - b->n) {
		b->failed = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->n + len + 1)
		cap = cap > SBUF_MAX / 2 ? SBUF_MAX : cap * 2;
	b->v = xrealloc(b->v, cap);
	b->cap = cap;
	return true;
}

/* Starts with room for about `hint` bytes, so most documents never grow. */
static void sb_init(sbuf *b, size_t hint)
{
	*b = (sbuf){0};
	b->cap = hint < 256 ? 256 : hint > SBUF_MAX ? SBUF_MAX : hint;
	b->v = xmalloc(b->cap);
}

/* Where the next `len` bytes go (the caller then adds to n), or NULL when
 * the buffer has failed. */
static inline char *sb_room(sbuf *b, size_t len)
{
	if (len >= b->cap - b->n && !sb_grow(b, len))
		return NULL;
	return b->v + b->n;
}

static inline void sb_put(sbuf *b, const char *s, size_t len)
{
	char *o = sb_room(b, len);
	if (!o)
		return;
	memcpy(o, s, len);
	b->n += len;
}

static inline void sb_putc(sbuf *b, char c)
{
	char *o = sb_room(b, 1);
	if (!o)
		return;
	*o = c;
	b->n++;
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* A string literal, its length known at compile time. */
#define SB_LIT(b, lit) sb_put((b), "" lit "", sizeof(lit) - 1)

/* A decimal integer, as printf's %lld would print it. */
static void sb_int(sbuf *b, int64_t v)
{
	char t[24];
	char *end = t + sizeof t, *q = end;
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--q = (char)('0' + mag % 10);
		mag /= 10;
	} while (mag);
	if (v < 0)
		*--q = '-';
	sb_put(b, q, (size_t)(end - q));
}

/* money_format(v, digits) written in place. */
static void sb_money(sbuf *b, int64_t v, int digits)
{
	char *o = sb_room(b, 32);
	if (o)
		b->n += (size_t)money_format(v, digits, o);
}

/* What HTML text must escape, as character references; NULL for the rest. */
static const char *const html_entity[256] = {
	['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
};

/* Text as HTML character data or a quoted attribute value. */
static void sb_html(sbuf *b, const char *s)
{
	if (!s)
		return;
	const char *run = s, *c = s;
	for (;; c++) {
		const char *rep = html_entity[(unsigned char)*c];
		if (!rep) {
			if (*c == '\0')
				break;
			continue;
		}
		sb_put(b, run, (size_t)(c - run));
		sb_puts(b, rep);
		run = c + 1;
	}
	sb_put(b, run, (size_t)(c - run));
}

/* Hands the text to the caller (who frees it), or frees it on failure. */
static int sb_finish(sbuf *b, char **buf, size_t *len)
{
	if (b->failed || !b->v) {
		free(b->v);
		*buf = NULL;
		if (len)
			*len = 0;
		return -1;
	}
	b->v[b->n] = '\0'; /* sb_room always leaves room for it */
	*buf = b->v;
	if (len)
		*len = b->n;
	return 0;
}

/* ---- shared checks and names -------------------------------------------- */

#define N_LINE_TYPES LINE_N_TYPES

static bool period_ok(const stmt_period *sp)
{
	return sp && sp->p && sp->out && sp->out->res && sp->out->first_line && sp->ids && sp->names &&
	       sp->pv && sp->terminated && sp->period && sp->n >= 0 &&
	       sp->out->first_line[sp->n] <= sp->out->n_lines && (sp->n == 0 || sp->out->lines);
}

static bool index_ok(const stmt_period *sp, int32_t i)
{
	return period_ok(sp) && i >= 0 && i < sp->n && sp->ids[i] &&
	       sp->out->first_line[i] <= sp->out->first_line[i + 1] &&
	       sp->out->res[i].paid_as < sp->p->n_ranks && sp->out->res[i].title < sp->p->n_ranks;
}

static const char *name_of(const stmt_period *sp, int32_t i)
{
	return sp->names[i] ? sp->names[i] : "";
}

/* The line's own members that name things, checked against the plan and the
 * distributor count; NULL when absent (or, for rank and fee, invalid). */
static const char *source_id(const stmt_period *sp, const engine_line *l)
{
	return l->source >= 0 && l->source < sp->n ? sp->ids[l->source] : NULL;
}

static const char *rank_id(const stmt_period *sp, int32_t r)
{
	return r >= 0 && (size_t)r < sp->p->n_ranks ? sp->p->ranks[r].id : NULL;
}

static const char *fee_name(const stmt_period *sp, int32_t f)
{
	return f >= 0 && (size_t)f < sp->p->n_fees ? sp->p->fees[f].name : NULL;
}

/* Which members a line carries (SPEC 6.8, 11.21): decided by its type, never
 * by whether a value happens to be zero. A pool line has a base (the pool)
 * and shares but no rate. */
static bool has_base_rate(int32_t type)
{
	return type == LINE_RETAIL || type == LINE_UNILEVEL || type == LINE_CLAWBACK || type == LINE_DIFFERENTIAL ||
	       type == LINE_BINARY || type == LINE_FAST_START || type == LINE_MATCHING;
}

static bool has_level(const engine_line *l)
{
	return (l->type == LINE_UNILEVEL || l->type == LINE_CLAWBACK || l->type == LINE_FAST_START ||
		l->type == LINE_MATCHING) && l->level >= 1;
}

static bool has_source(int32_t type)
{
	return type == LINE_RETAIL || type == LINE_UNILEVEL || type == LINE_CLAWBACK || type == LINE_DIFFERENTIAL ||
	       type == LINE_FAST_START || type == LINE_MATCHING;
}

int statement_wanted(const stmt_period *sp, int32_t i)
{
	if (!index_ok(sp, i))
		return 0;
	return sp->out->first_line[i + 1] > sp->out->first_line[i];
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *j_money(int64_t v)
{
	char t[32];
	money_format(v, 2, t);
	return json_string(t);
}

/* Sets obj[key] = v (stolen). A NULL v (jansson could not make it, e.g.
 * invalid UTF-8 in a name) marks the whole document as failed. */
static void j_set(json_t *obj, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(obj, key, v) < 0)
		*bad = true;
}

static int j_dump_cb(const char *s, size_t len, void *data)
{
	sbuf *b = data;
	sb_put(b, s, len);
	return b->failed ? -1 : 0;
}

/* Two-space indented, members in insertion order, ending with a newline. */
static int j_finish(json_t *root, bool bad, char **buf, size_t *len)
{
	sbuf b = {0};
	if (bad || !root || json_dump_callback(root, j_dump_cb, &b, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		b.failed = true;
	sb_puts(&b, "\n");
	json_decref(root);
	return sb_finish(&b, buf, len);
}

/*
 * The statement JSON, one per distributor, is written directly rather than
 * built as a jansson tree and dumped (the tree cost most of the time of a
 * statement). It produces exactly the bytes that json_dump_callback with
 * JSON_INDENT(2) | JSON_PRESERVE_ORDER produced, and refuses what jansson
 * refused: the layout is fixed (two spaces per depth, "key": value, "[]"
 * for no lines), and strings go through j_str below. summary.json, one per
 * period, still goes through jansson (j_set, j_finish above).
 */

/* Length of the UTF-8 sequence at s if jansson accepts it (utf8_check_first
 * and utf8_check_full: no continuation byte first, no overlong form, no
 * surrogate, nothing above U+10FFFF), else 0. s[0] >= 0x80. Stops at the
 * first byte that is not a continuation byte, so it never reads past the NUL. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		v = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		v = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		v = c & 0x07u;
	} else {
		return 0;
	}
	for (size_t k = 1; k < n; k++) {
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
		v = (v << 6) | (s[k] & 0x3Fu);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n; /* a 2-byte sequence from C2..DF is never overlong */
}

/* A JSON string as jansson dumps it without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: '"' and '\' escaped, control characters as \b \f \n
 * \r \t or \u00XX (upper-case hex), everything else (DEL, '/', non-ASCII)
 * as is. false, like json_string(), for NULL or invalid UTF-8. */
static bool j_str(sbuf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	if (!s)
		return false;
	sb_putc(b, '"');
	const unsigned char *c = (const unsigned char *)s, *run = c;
	for (;;) {
		unsigned char ch = *c;
		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			c++;
			continue;
		}
		if (ch >= 0x80) {
			size_t k = utf8_seq(c);
			if (k == 0)
				return false;
			c += k;
			continue;
		}
		sb_put(b, (const char *)run, (size_t)(c - run));
		if (ch == '\0')
			break;
		switch (ch) {
		case '"': SB_LIT(b, "\\\""); break;
		case '\\': SB_LIT(b, "\\\\"); break;
		case '\b': SB_LIT(b, "\\b"); break;
		case '\f': SB_LIT(b, "\\f"); break;
		case '\n': SB_LIT(b, "\\n"); break;
		case '\r': SB_LIT(b, "\\r"); break;
		case '\t': SB_LIT(b, "\\t"); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hexd[ch >> 4], hexd[ch & 15]};
			sb_put(b, u, sizeof u);
		}
		}
		run = ++c;
	}
	sb_putc(b, '"');
	return true;
}

/* A money value as a JSON string: only digits, '-' and '.', nothing to escape. */
static void j_money_str(sbuf *b, int64_t v)
{
	sb_putc(b, '"');
	sb_money(b, v, 2);
	sb_putc(b, '"');
}

/* One element of "lines", from the '{' to the '}' (at depth 2). */
static bool j_line(sbuf *b, const stmt_period *sp, const engine_line *l)
{
	if (l->type < 0 || l->type >= N_LINE_TYPES)
		return false;
	SB_LIT(b, "{\n      \"type\": \"");
	sb_puts(b, engine_line_type_name(l->type)); /* constant, nothing to escape */
	sb_putc(b, '"');
	if (has_level(l)) {
		SB_LIT(b, ",\n      \"level\": ");
		sb_int(b, l->level);
	}
	const char *src = has_source(l->type) ? source_id(sp, l) : NULL;
	if (src) {
		SB_LIT(b, ",\n      \"source\": ");
		if (!j_str(b, src))
			return false;
	}
	if (has_base_rate(l->type)) {
		SB_LIT(b, ",\n      \"base\": ");
		j_money_str(b, l->base);
		SB_LIT(b, ",\n      \"rate\": \"");
		char *o = sb_room(b, 32);
		if (o)
			b->n += (size_t)money_format_rate(l->rate, o);
		sb_putc(b, '"');
	}
	if (l->type == LINE_RANK_ADVANCEMENT) {
		SB_LIT(b, ",\n      \"rank\": ");
		if (!j_str(b, rank_id(sp, l->rank)))
			return false;
	}
	if (l->type == LINE_FEE) {
		SB_LIT(b, ",\n      \"name\": ");
		if (!j_str(b, fee_name(sp, l->fee)))
			return false;
	}
	if (l->type == LINE_POOL) {
		/* SPEC 11.28: shares print as JSON integers; no rate */
		SB_LIT(b, ",\n      \"name\": ");
		if (!j_str(b, sp->p->pool_name ? sp->p->pool_name : ""))
			return false;
		SB_LIT(b, ",\n      \"base\": ");
		j_money_str(b, l->base);
		SB_LIT(b, ",\n      \"shares\": ");
		sb_int(b, l->shares);
		SB_LIT(b, ",\n      \"total_shares\": ");
		sb_int(b, sp->out->pool_total_shares);
	}
	SB_LIT(b, ",\n      \"amount\": ");
	j_money_str(b, l->amount);
	SB_LIT(b, "\n    }");
	return true;
}

int statement_json(const stmt_period *sp, int32_t i, char **buf, size_t *len)
{
	*buf = NULL;
	if (!index_ok(sp, i))
		return -1;
	const engine_result *r = &sp->out->res[i];
	const plan *p = sp->p;
	uint32_t first = sp->out->first_line[i], end = sp->out->first_line[i + 1];
	sbuf b;
	sb_init(&b, 768 + 224 * (size_t)(end - first)); /* a line is about 100-200 bytes */
	bool ok = true;
	/* The source ids of the lines are scattered in memory: load them all
	 * at once here (the loads overlap) rather than one miss after another
	 * while writing. Only a hint; it changes no output. */
	for (uint32_t k = first; k < end; k++) {
		const engine_line *l = &sp->out->lines[k];
		if (l->source >= 0 && l->source < sp->n)
			__builtin_prefetch(sp->ids[l->source]);
	}

	SB_LIT(&b, "{\n  \"period\": ");
	ok = ok && j_str(&b, sp->period);
	SB_LIT(&b, ",\n  \"distributor_id\": ");
	ok = ok && j_str(&b, sp->ids[i]);
	SB_LIT(&b, ",\n  \"name\": ");
	ok = ok && j_str(&b, name_of(sp, i));
	SB_LIT(&b, ",\n  \"currency\": ");
	ok = ok && j_str(&b, p->currency);
	SB_LIT(&b, ",\n  \"paid_as_rank\": ");
	ok = ok && j_str(&b, p->ranks[r->paid_as].id);
	SB_LIT(&b, ",\n  \"title_rank\": ");
	ok = ok && j_str(&b, p->ranks[r->title].id);
	if (r->active)
		SB_LIT(&b, ",\n  \"active\": true");
	else
		SB_LIT(&b, ",\n  \"active\": false");
	SB_LIT(&b, ",\n  \"pv\": ");
	j_money_str(&b, sp->pv[i]);
	SB_LIT(&b, ",\n  \"gv\": ");
	j_money_str(&b, r->gv);
	if (p->has_binary) {
		/* SPEC 6.8, 11.25: every statement of a binary plan; carry_* is what is carried out */
		SB_LIT(&b, ",\n  \"binary\": {\n    \"left\": ");
		j_money_str(&b, r->left);
		SB_LIT(&b, ",\n    \"right\": ");
		j_money_str(&b, r->right);
		SB_LIT(&b, ",\n    \"matched\": ");
		j_money_str(&b, r->matched);
		SB_LIT(&b, ",\n    \"carry_left\": ");
		j_money_str(&b, r->carry_left);
		SB_LIT(&b, ",\n    \"carry_right\": ");
		j_money_str(&b, r->carry_right);
		SB_LIT(&b, "\n  }");
	}

	SB_LIT(&b, ",\n  \"lines\": [");
	for (uint32_t k = first; ok && k < end; k++) {
		if (k == first)
			SB_LIT(&b, "\n    ");
		else
			SB_LIT(&b, ",\n    ");
		ok = j_line(&b, sp, &sp->out->lines[k]);
	}
	if (end > first)
		SB_LIT(&b, "\n  ]");
	else
		SB_LIT(&b, "]");

	SB_LIT(&b, ",\n  \"totals\": {\n    \"commissions\": ");
	j_money_str(&b, r->commissions);
	SB_LIT(&b, ",\n    \"cap_adjustment\": ");
	j_money_str(&b, r->cap_adjustment);
	SB_LIT(&b, ",\n    \"clawbacks\": ");
	j_money_str(&b, r->clawbacks);
	SB_LIT(&b, ",\n    \"fees\": ");
	j_money_str(&b, r->fees);
	SB_LIT(&b, ",\n    \"carried_in\": ");
	j_money_str(&b, r->carried_in);
	SB_LIT(&b, ",\n    \"payable\": ");
	j_money_str(&b, r->payable);
	SB_LIT(&b, ",\n    \"paid\": ");
	j_money_str(&b, r->paid);
	SB_LIT(&b, ",\n    \"carried_out\": ");
	j_money_str(&b, r->carried_out);
	SB_LIT(&b, "\n  }\n}\n");
	if (!ok)
		b.failed = true;
	return sb_finish(&b, buf, len);
}

/* (commissions + cap adjustment) / net sales to 4 decimals, half to even,
 * exactly: "0.0000" when there were no net sales. */
static int payout_ratio(int64_t paid_out, int64_t net_sales, char *t)
{
	if (net_sales == 0) {
		money_format(0, 4, t);
		return 0;
	}
	__int128 num = (__int128)paid_out * 10000;
	__int128 den = net_sales;
	if (den < 0) {
		num = -num;
		den = -den;
	}
	int64_t v;
	if (money_round_half_even(num, den, &v) < 0)
		return -1;
	money_format(v, 4, t);
	return 0;
}

int statement_summary_json(const stmt_period *sp, char **buf, size_t *len)
{
	*buf = NULL;
	if (!period_ok(sp))
		return -1;
	const engine_output *o = sp->out;
	const plan *p = sp->p;
	bool bad = false;

	int64_t statements = 0;
	int64_t *ranks = xcalloc(p->n_ranks ? p->n_ranks : 1, sizeof *ranks);
	for (int32_t i = 0; i < sp->n; i++) {
		statements += statement_wanted(sp, i);
		if (!sp->terminated[i] && o->res[i].paid_as < p->n_ranks)
			ranks[o->res[i].paid_as]++;
	}
	int64_t paid_out;
	char ratio[32];
	if (money_add(o->total_commissions, o->total_cap_adjustment, &paid_out) < 0 ||
	    payout_ratio(paid_out, sp->net_sales, ratio) < 0)
		bad = true;

	json_t *root = json_object();
	if (!root) {
		free(ranks);
		return -1;
	}
	j_set(root, "period", json_string(sp->period), &bad);
	j_set(root, "plan", json_string(p->name ? p->name : ""), &bad);
	j_set(root, "plan_sha256", json_string(sp->plan_sha256 ? sp->plan_sha256 : ""), &bad);
	j_set(root, "currency", json_string(p->currency), &bad);
	j_set(root, "distributors", json_integer(sp->n), &bad);
	j_set(root, "statements", json_integer(statements), &bad);
	j_set(root, "net_sales", j_money(sp->net_sales), &bad);
	j_set(root, "commissions", j_money(o->total_commissions), &bad);
	j_set(root, "cap_adjustment", j_money(o->total_cap_adjustment), &bad);
	/* null when the plan has no cap */
	j_set(root, "cap_limit", o->cap_limit >= 0 ? j_money(o->cap_limit) : json_null(), &bad);
	j_set(root, "clawbacks", j_money(o->total_clawbacks), &bad);
	j_set(root, "fees", j_money(o->total_fees), &bad);
	j_set(root, "carried_in", j_money(o->total_carried_in), &bad);
	j_set(root, "payable", j_money(o->total_payable), &bad);
	j_set(root, "paid", j_money(o->total_paid), &bad);
	j_set(root, "carried_out", j_money(o->total_carried_out), &bad);
	j_set(root, "payout_ratio", bad ? NULL : json_string(ratio), &bad);
	json_t *rk = json_object();
	for (size_t r = 0; rk && r < p->n_ranks; r++)
		j_set(rk, p->ranks[r].id, json_integer(ranks[r]), &bad);
	j_set(root, "ranks", rk, &bad);
	if (p->has_pool) {
		/* SPEC 11.28: before any cap; with no holder the whole pool remains */
		int64_t remainder = o->pool - o->pool_allotted;
		json_t *pl = json_object(), *arr = json_array();
		j_set(pl, "name", json_string(p->pool_name ? p->pool_name : ""), &bad);
		j_set(pl, "pool", j_money(o->pool), &bad);
		j_set(pl, "total_shares", json_integer(o->pool_total_shares), &bad);
		j_set(pl, "allotted", j_money(o->pool_allotted), &bad);
		j_set(pl, "remainder", j_money(remainder), &bad);
		if (!arr || json_array_append_new(arr, pl) < 0)
			bad = true;
		j_set(root, "pools", arr, &bad);
		j_set(root, "pool_remainder", j_money(remainder), &bad);
	}
	free(ranks);
	return j_finish(root, bad, buf, len);
}

/* ---- payouts.csv ---------------------------------------------------------- */

/* One RFC 4180 field. Text from the input (ids, names, IBANs) that a
 * spreadsheet would take for a formula (= + - @, tab, CR first) gets a
 * leading apostrophe; quoting only when the field needs it. */
static void csv_field(sbuf *b, const char *s, bool neutralise)
{
	if (!s)
		s = "";
	bool formula = neutralise && s[0] && strchr("=+-@\t\r", s[0]);
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		sb_puts(b, "\"");
	if (formula)
		sb_puts(b, "'");
	if (!quote) {
		sb_puts(b, s);
		return;
	}
	const char *run = s;
	for (const char *c = s; *c; c++)
		if (*c == '"') {
			sb_put(b, run, (size_t)(c - run) + 1);
			sb_puts(b, "\"");
			run = c + 1;
		}
	sb_puts(b, run);
	sb_puts(b, "\"");
}

typedef struct payee {
	const char *id;
	int32_t i;
} payee;

static int cmp_payee(const void *a, const void *b)
{
	const payee *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c != 0)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

int statement_payouts_csv(const stmt_period *sp, char **buf, size_t *len)
{
	*buf = NULL;
	if (!period_ok(sp))
		return -1;
	payee *v = xmalloc((size_t)(sp->n ? sp->n : 1) * sizeof *v);
	size_t n = 0;
	for (int32_t x = 0; x < sp->n; x++) {
		/* in the folder's order when given: the close gives id order, which
		 * saves sorting a million ids (checked below, never assumed) */
		int32_t i = sp->order ? sp->order[x] : x;
		if (i < 0 || i >= sp->n || !sp->ids[i]) {
			free(v);
			return -1;
		}
		if (sp->out->res[i].paid == 0)
			continue;
		v[n].id = sp->ids[i];
		v[n].i = i;
		n++;
	}
	size_t sorted = 1;
	while (sorted < n && cmp_payee(&v[sorted - 1], &v[sorted]) < 0)
		sorted++;
	if (sorted < n)
		qsort(v, n, sizeof *v, cmp_payee);

	sbuf b = {0};
	sb_puts(&b, "distributor_id,name,iban,currency,amount\n");
	for (size_t k = 0; k < n; k++) {
		int32_t i = v[k].i;
		char amount[32];
		money_format(sp->out->res[i].paid, 2, amount);
		csv_field(&b, sp->ids[i], true);
		sb_puts(&b, ",");
		csv_field(&b, name_of(sp, i), true);
		sb_puts(&b, ",");
		csv_field(&b, sp->ibans ? sp->ibans[i] : NULL, true);
		sb_puts(&b, ",");
		csv_field(&b, sp->p->currency, false);
		sb_puts(&b, ",");
		sb_puts(&b, amount);
		sb_puts(&b, "\n");
	}
	free(v);
	return sb_finish(&b, buf, len);
}

/* ---- HTML ------------------------------------------------------------------ */

/*
 * Amounts for people. The engine counts money in hundredths whatever the
 * currency; a person reads it as the ISO code, a space, and the amount with
 * ',' grouping thousands and '.' before the decimals, the same in every
 * locale so that the page is deterministic: "EUR 1,234.50", "EUR -1.50".
 * The number of decimals follows ISO 4217 minor units: 2 for most
 * currencies, 3 for the dinar family (a zero appended), 0 for yen-like ones
 * (".00" dropped, but only when it is zero: nothing is rounded away).
 */
static int currency_digits(const char *code)
{
	static const char zero[] = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
	static const char three[] = "BHD IQD JOD KWD LYD OMR TND";
	if (strlen(code) != 3)
		return 2;
	if (strstr(zero, code))
		return 0;
	if (strstr(three, code))
		return 3;
	return 2;
}

/* The currency as every amount on one page shows it, worked out once per page. */
typedef struct money_style {
	int digits;       /* currency_digits() */
	size_t code_len;  /* of code, the trailing space included */
	char code[32];    /* the code HTML-escaped, then a space: "EUR " */
} money_style;

static void money_style_init(money_style *ms, const char *currency)
{
	ms->digits = currency_digits(currency);
	size_t n = 0;
	/* a plan's code has 3 characters: even escaped they fit */
	for (const char *c = currency; *c && n + 7 < sizeof ms->code; c++) {
		const char *rep = html_entity[(unsigned char)*c];
		size_t k = rep ? strlen(rep) : 1;
		memcpy(ms->code + n, rep ? rep : c, k);
		n += k;
	}
	ms->code[n++] = ' ';
	ms->code_len = n;
}

/* v in hundredths, grouped, with `digits` decimals (see above). */
static void put_grouped(sbuf *b, int64_t v, int digits)
{
	char t[48]; /* sign, 18 digits, 6 commas, point, 3 decimals */
	char *end = t + sizeof t, *q = end;
	uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	uint64_t whole = mag / 100;
	unsigned frac = (unsigned)(mag % 100);
	if (digits != 0 || frac != 0) {
		if (digits == 3)
			*--q = '0';
		*--q = (char)('0' + frac % 10);
		*--q = (char)('0' + frac / 10);
		*--q = '.';
	}
	for (int k = 0; k == 0 || whole; k++) {
		if (k > 0 && k % 3 == 0)
			*--q = ',';
		*--q = (char)('0' + whole % 10);
		whole /= 10;
	}
	if (v < 0)
		*--q = '-';
	sb_put(b, q, (size_t)(end - q));
}

static void put_money(sbuf *b, const money_style *ms, int64_t v)
{
	sb_put(b, ms->code, ms->code_len);
	put_grouped(b, v, ms->digits);
}

static void put_volume(sbuf *b, int64_t v)
{
	put_grouped(b, v, 2);
}

/* A rate in millionths as a percentage: 50000 -> "5%", 125000 -> "12.5%".
 * Millionths of one are ten-thousandths of a percent, so money_format with
 * 4 digits prints the percentage exactly; trailing zeros go. */
static void put_percent(sbuf *b, int64_t millionths)
{
	char *t = sb_room(b, 33);
	if (!t)
		return;
	int n = money_format(millionths, 4, t);
	while (n > 0 && t[n - 1] == '0')
		n--;
	if (n > 0 && t[n - 1] == '.')
		n--;
	t[n++] = '%';
	b->n += (size_t)n;
}

static const char *const line_type_label[] = {
	[LINE_RETAIL] = "Retail",
	[LINE_UNILEVEL] = "Unilevel",
	[LINE_RANK_ADVANCEMENT] = "Rank advancement",
	[LINE_DIFFERENTIAL] = "Differential",
	[LINE_BINARY] = "Binary",
	[LINE_FAST_START] = "Fast start",
	[LINE_POOL] = "Pool",
	[LINE_MATCHING] = "Matching",
	[LINE_CAP_ADJUSTMENT] = "Cap adjustment",
	[LINE_CLAWBACK] = "Clawback",
	[LINE_FEE] = "Fee",
	[LINE_CARRY_IN] = "Carried in",
};

static const char html_head[] =
	"<!doctype html>\n"
	"<html lang=\"en\">\n"
	"<head>\n"
	"<meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";

/* One stylesheet for screen, phone (narrow) and paper. */
static const char html_style[] =
	"<style>\n"
	":root{color-scheme:light}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:#f3f4f6;color:#111827;"
	"font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;"
	"-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
	"main{max-width:52rem;margin:0 auto;padding:1rem}\n"
	"section,header{background:#fff;border:1px solid #e5e7eb;border-radius:.5rem;padding:1rem;margin:0 0 1rem}\n"
	"h1{font-size:1.35rem;margin:0;overflow-wrap:anywhere}\n"
	"h2{font-size:1.05rem;margin:0 0 .5rem}\n"
	".kicker{margin:0 0 .25rem;color:#6b7280;font-size:.8rem;text-transform:uppercase;letter-spacing:.05em}\n"
	".id{margin:.1rem 0 .8rem;color:#4b5563;overflow-wrap:anywhere}\n"
	".facts{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:.6rem 1rem;margin:0}\n"
	".facts dt{font-size:.72rem;text-transform:uppercase;letter-spacing:.04em;color:#6b7280}\n"
	".facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}\n"
	".paid{margin:.9rem 0 0;padding:.6rem .8rem;background:#eff6ff;border-radius:.375rem;font-size:1.1rem}\n"
	".paid strong{white-space:nowrap}\n"
	".scroll{overflow-x:auto}\n"
	"table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
	"th,td{padding:.35rem .4rem;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}\n"
	"th{font-size:.72rem;text-transform:uppercase;letter-spacing:.03em;color:#6b7280;font-weight:600}\n"
	".num{text-align:right;white-space:nowrap}\n"
	"th.num{white-space:normal}\n"
	".src{overflow-wrap:anywhere}\n"
	".det{display:block;color:#6b7280;font-size:.85em;overflow-wrap:anywhere}\n"
	".neg{color:#b91c1c}\n"
	".totals th{font-size:inherit;text-transform:none;letter-spacing:0;color:inherit;font-weight:400}\n"
	".totals tr.sum th,.totals tr.sum td{font-weight:700;border-top:2px solid #111827}\n"
	".note{color:#4b5563;font-size:.9rem;margin:.6rem 0 0}\n"
	"svg{display:block;width:100%;max-width:30rem;height:auto}\n"
	"footer{color:#6b7280;font-size:.8rem;text-align:center;margin:0 0 1rem;overflow-wrap:anywhere}\n"
	"@media (max-width:30rem){body{font-size:14px}main{padding:.5rem}"
	"section,header{padding:.75rem;margin-bottom:.6rem}th,td{padding:.3rem .2rem}.lines{font-size:13px}"
	".facts{grid-template-columns:repeat(2,minmax(0,1fr))}}\n"
	"@media print{@page{margin:15mm}body{background:#fff;font-size:10pt}"
	"main{max-width:none;padding:0}"
	"section,header{border:0;border-radius:0;padding:0;margin:0 0 6mm}"
	".chart{break-inside:avoid}.scroll{overflow:visible}thead{display:table-header-group}"
	"tr{break-inside:avoid}.paid{border:1px solid #111827;background:none}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n"
	"</style>\n";

/* Bar charts: a label column, a bar, and the value right-aligned; the
 * viewBox scales the drawing to the page. */
#define CH_W 400        /* viewBox width */
#define CH_ROW 26       /* height of one bar's row */
#define CH_BAR_X 130    /* bars start here; labels to the left */
#define CH_BAR_W 144    /* the longest bar */
#define STR_(x) #x
#define STR(x) STR_(x)  /* a constant above as text */

/* Rows k = 0..n-1: labels[k] (HTML-escaped), or "Level k+1" without labels;
 * amounts[k] in hundredths, a negative one drawn in the deduction colour. */
static void put_chart(sbuf *b, const money_style *ms, const char *title, const char *const *labels,
		      const int64_t *amounts, size_t n, const char *colour)
{
	uint64_t max = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t mag = amounts[k] < 0 ? 0 - (uint64_t)amounts[k] : (uint64_t)amounts[k];
		if (mag > max)
			max = mag;
	}
	int height = (int)n * CH_ROW + 4;
	SB_LIT(b, "<svg viewBox=\"0 0 " STR(CH_W) " ");
	sb_int(b, height);
	SB_LIT(b, "\" width=\"" STR(CH_W) "\" height=\"");
	sb_int(b, height);
	SB_LIT(b, "\" role=\"img\" aria-label=\"");
	sb_html(b, title);
	SB_LIT(b, "\">\n<title>");
	sb_html(b, title);
	SB_LIT(b, "</title>\n");
	for (size_t k = 0; k < n; k++) {
		int64_t a = amounts[k];
		uint64_t mag = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
		/* integer pixels: mag * W / max, at least 1 for any non-zero amount */
		int w = max ? (int)((unsigned __int128)mag * CH_BAR_W / max) : 0;
		if (mag && w == 0)
			w = 1;
		int y = (int)k * CH_ROW + 4;
		SB_LIT(b, "<text x=\"0\" y=\"");
		sb_int(b, y + 13);
		SB_LIT(b, "\" font-size=\"12\" fill=\"#111827\">");
		if (labels) {
			sb_html(b, labels[k]);
		} else {
			SB_LIT(b, "Level ");
			sb_int(b, (int64_t)k + 1);
		}
		SB_LIT(b, "</text>\n<rect x=\"" STR(CH_BAR_X) "\" y=\"");
		sb_int(b, y + 1);
		SB_LIT(b, "\" width=\"");
		sb_int(b, w);
		SB_LIT(b, "\" height=\"16\" rx=\"2\" fill=\"");
		if (a < 0)
			SB_LIT(b, "#dc2626");
		else
			sb_puts(b, colour);
		SB_LIT(b, "\"/>\n<text x=\"" STR(CH_W) "\" y=\"");
		sb_int(b, y + 13);
		if (a < 0)
			SB_LIT(b, "\" font-size=\"12\" text-anchor=\"end\" fill=\"#b91c1c\">");
		else
			SB_LIT(b, "\" font-size=\"12\" text-anchor=\"end\" fill=\"#111827\">");
		put_money(b, ms, a);
		SB_LIT(b, "</text>\n");
	}
	SB_LIT(b, "</svg>\n");
}

/* Highest unilevel level worth a chart row; beyond this the plan is absurd. */
#define CHART_MAX_LEVELS 1000

static int put_charts(sbuf *b, const money_style *ms, const stmt_period *sp, int32_t i)
{
	const engine_output *o = sp->out;
	int64_t by_type[N_LINE_TYPES];
	memset(by_type, 0, sizeof by_type);
	int64_t by_level[CHART_MAX_LEVELS]; /* [0, max_level) in use */
	int32_t max_level = 0;
	for (uint32_t k = o->first_line[i]; k < o->first_line[i + 1]; k++) {
		const engine_line *l = &o->lines[k];
		if (l->type < 0 || l->type >= N_LINE_TYPES)
			return -1;
		if (money_add(by_type[l->type], l->amount, &by_type[l->type]) < 0)
			return -1;
		if (l->type == LINE_UNILEVEL) {
			if (l->level < 1 || l->level > CHART_MAX_LEVELS)
				return -1;
			while (max_level < l->level)
				by_level[max_level++] = 0;
			if (money_add(by_level[l->level - 1], l->amount, &by_level[l->level - 1]) < 0)
				return -1;
		}
	}

	/* earnings by type: the commissions, then what was taken off them */
	static const int32_t shown[] = {LINE_RETAIL, LINE_UNILEVEL, LINE_RANK_ADVANCEMENT, LINE_DIFFERENTIAL,
					LINE_BINARY, LINE_FAST_START, LINE_POOL, LINE_MATCHING,
					LINE_CAP_ADJUSTMENT, LINE_CLAWBACK, LINE_FEE};
	static const char *const plural[] = {
		[LINE_RETAIL] = "Retail", [LINE_UNILEVEL] = "Unilevel",
		[LINE_RANK_ADVANCEMENT] = "Rank advancement", [LINE_DIFFERENTIAL] = "Differential",
		[LINE_BINARY] = "Binary", [LINE_FAST_START] = "Fast start", [LINE_POOL] = "Pool",
		[LINE_MATCHING] = "Matching", [LINE_CAP_ADJUSTMENT] = "Cap adjustment",
		[LINE_CLAWBACK] = "Clawbacks", [LINE_FEE] = "Fees", [LINE_CARRY_IN] = "Carried in"};
	const char *labels[sizeof shown / sizeof shown[0]];
	int64_t amounts[sizeof shown / sizeof shown[0]];
	size_t nrows = 0;
	for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
		if (by_type[shown[k]] == 0)
			continue;
		labels[nrows] = plural[shown[k]];
		amounts[nrows] = by_type[shown[k]];
		nrows++;
	}
	SB_LIT(b, "<section class=\"chart\">\n<h2>Earnings by type</h2>\n");
	if (nrows)
		put_chart(b, ms, "Earnings by type", labels, amounts, nrows, "#2563eb");
	else
		SB_LIT(b, "<p class=\"note\">No earnings this period.</p>\n");
	SB_LIT(b, "</section>\n");

	/* unilevel by level */
	SB_LIT(b, "<section class=\"chart\">\n<h2>Unilevel by level</h2>\n");
	if (max_level == 0)
		SB_LIT(b, "<p class=\"note\">No unilevel earnings this period.</p>\n");
	else
		put_chart(b, ms, "Unilevel earnings by level", NULL, by_level, (size_t)max_level, "#059669");
	SB_LIT(b, "</section>\n");
	return 0;
}

/* <div><dt>label</dt><dd>, the value, then put_fact_end. */
static void put_fact_start(sbuf *b, const char *label)
{
	SB_LIT(b, "<div><dt>");
	sb_puts(b, label);
	SB_LIT(b, "</dt><dd>");
}

static void put_fact_end(sbuf *b)
{
	SB_LIT(b, "</dd></div>\n");
}

static void put_fact(sbuf *b, const char *label, const char *value)
{
	put_fact_start(b, label);
	sb_html(b, value);
	put_fact_end(b);
}

static void put_money_cell(sbuf *b, const money_style *ms, int64_t v, bool code)
{
	if (v < 0)
		SB_LIT(b, "<td class=\"num neg\">");
	else
		SB_LIT(b, "<td class=\"num\">");
	if (code)
		sb_put(b, ms->code, ms->code_len);
	put_grouped(b, v, ms->digits);
	SB_LIT(b, "</td>");
}

static int put_lines(sbuf *b, const money_style *ms, const stmt_period *sp, int32_t i)
{
	const engine_output *o = sp->out;
	SB_LIT(b, "<section>\n<h2>Lines</h2>\n");
	if (o->first_line[i] == o->first_line[i + 1]) {
		SB_LIT(b, "<p class=\"note\">No lines this period.</p>\n</section>\n");
		return 0;
	}
	/* the currency code once, in the heading, keeps the columns narrow on a phone */
	SB_LIT(b, "<div class=\"scroll\"><table class=\"lines\">\n<thead><tr><th>Type</th><th class=\"num\">Level</th>"
		  "<th>From</th><th class=\"num\">Base</th><th class=\"num\">Rate</th><th class=\"num\">Amount (");
	sb_put(b, ms->code, ms->code_len ? ms->code_len - 1 : 0); /* without its space */
	SB_LIT(b, ")</th></tr></thead>\n<tbody>\n");
	for (uint32_t k = o->first_line[i]; k < o->first_line[i + 1]; k++) {
		const engine_line *l = &o->lines[k];
		if (l->type < 0 || l->type >= N_LINE_TYPES)
			return -1;
		SB_LIT(b, "<tr><td>");
		sb_puts(b, line_type_label[l->type]);
		if (l->type == LINE_RANK_ADVANCEMENT) {
			if (!rank_id(sp, l->rank))
				return -1;
			SB_LIT(b, "<span class=\"det\">to ");
			sb_html(b, rank_id(sp, l->rank));
			SB_LIT(b, "</span>");
		} else if (l->type == LINE_FEE) {
			if (!fee_name(sp, l->fee))
				return -1;
			SB_LIT(b, "<span class=\"det\">");
			sb_html(b, fee_name(sp, l->fee));
			SB_LIT(b, "</span>");
		} else if (l->type == LINE_CLAWBACK) {
			if (has_level(l))
				SB_LIT(b, "<span class=\"det\">of unilevel</span>");
			else
				SB_LIT(b, "<span class=\"det\">of retail</span>");
		} else if (l->type == LINE_DIFFERENTIAL) {
			/* by leg: whose group the volume came through */
			if (l->source == i)
				SB_LIT(b, "<span class=\"det\">own sales</span>");
			else
				SB_LIT(b, "<span class=\"det\">leg</span>");
		} else if (l->type == LINE_MATCHING) {
			SB_LIT(b, "<span class=\"det\">generation</span>");
		} else if (l->type == LINE_POOL) {
			SB_LIT(b, "<span class=\"det\">");
			sb_html(b, sp->p->pool_name ? sp->p->pool_name : "");
			SB_LIT(b, ": ");
			sb_int(b, l->shares);
			SB_LIT(b, " of ");
			sb_int(b, sp->out->pool_total_shares);
			SB_LIT(b, " shares</span>");
		}
		SB_LIT(b, "</td><td class=\"num\">");
		if (has_level(l))
			sb_int(b, l->level);
		SB_LIT(b, "</td><td class=\"src\">");
		if (has_source(l->type))
			sb_html(b, source_id(sp, l));
		SB_LIT(b, "</td><td class=\"num\">");
		if (has_base_rate(l->type) || l->type == LINE_POOL)
			put_volume(b, l->base);
		SB_LIT(b, "</td><td class=\"num\">");
		if (has_base_rate(l->type))
			put_percent(b, l->rate);
		SB_LIT(b, "</td>");
		put_money_cell(b, ms, l->amount, false);
		SB_LIT(b, "</tr>\n");
	}
	SB_LIT(b, "</tbody>\n</table></div>\n</section>\n");
	return 0;
}

static void put_total(sbuf *b, const money_style *ms, const char *label, int64_t v, bool sum)
{
	if (sum)
		SB_LIT(b, "<tr class=\"sum\"><th>");
	else
		SB_LIT(b, "<tr><th>");
	sb_puts(b, label);
	SB_LIT(b, "</th>");
	put_money_cell(b, ms, v, true);
	SB_LIT(b, "</tr>\n");
}

static void put_totals(sbuf *b, const money_style *ms, const stmt_period *sp, int32_t i)
{
	const engine_result *r = &sp->out->res[i];
	const plan *p = sp->p;
	SB_LIT(b, "<section>\n<h2>Totals</h2>\n<table class=\"totals\">\n<tbody>\n");
	put_total(b, ms, "Commissions", r->commissions, false);
	put_total(b, ms, "Cap adjustment", r->cap_adjustment, false);
	put_total(b, ms, "Clawbacks", r->clawbacks, false);
	put_total(b, ms, "Fees", r->fees, false);
	put_total(b, ms, "Carried in", r->carried_in, false);
	put_total(b, ms, "Payable", r->payable, true);
	put_total(b, ms, "Paid", r->paid, false);
	put_total(b, ms, "Carried to next period", r->carried_out, false);
	SB_LIT(b, "</tbody>\n</table>\n");
	if (r->cap_adjustment != 0 && p->has_cap) {
		SB_LIT(b, "<p class=\"note\">Commissions of all partners this period exceeded the plan&#39;s cap of ");
		put_percent(b, p->cap_payout_ratio);
		SB_LIT(b, " of net sales, so every commission was scaled down in the same proportion.</p>\n");
	}
	if (r->carried_out != 0) {
		if (r->payable < 0) {
			SB_LIT(b, "<p class=\"note\">The balance is negative; it is carried to the next period "
				  "and offset against future earnings.</p>\n");
		} else {
			SB_LIT(b, "<p class=\"note\">The balance is below the minimum payout of ");
			put_money(b, ms, p->min_payout);
			SB_LIT(b, "; it is carried to the next period.</p>\n");
		}
	}
	SB_LIT(b, "</section>\n");
}

int statement_html(const stmt_period *sp, int32_t i, char **buf, size_t *len)
{
	*buf = NULL;
	if (!index_ok(sp, i))
		return -1;
	const engine_result *r = &sp->out->res[i];
	const plan *p = sp->p;
	const char *name = name_of(sp, i);
	money_style ms;
	money_style_init(&ms, p->currency);
	sbuf b;
	/* the fixed parts, and a few hundred bytes per line and chart row */
	sb_init(&b, sizeof html_head + sizeof html_style + 3072 +
			    320 * (size_t)(sp->out->first_line[i + 1] - sp->out->first_line[i]));

	sb_put(&b, html_head, sizeof html_head - 1);
	SB_LIT(&b, "<title>Statement ");
	sb_html(&b, sp->period);
	SB_LIT(&b, " \xe2\x80\x93 ");
	sb_html(&b, name);
	SB_LIT(&b, " (");
	sb_html(&b, sp->ids[i]);
	SB_LIT(&b, ")</title>\n");
	sb_put(&b, html_style, sizeof html_style - 1);
	SB_LIT(&b, "</head>\n<body>\n<main>\n");

	/* who, when, rank and volumes */
	SB_LIT(&b, "<header>\n<p class=\"kicker\">Commission statement ");
	sb_html(&b, sp->period);
	SB_LIT(&b, "</p>\n<h1>");
	sb_html(&b, name);
	SB_LIT(&b, "</h1>\n<p class=\"id\">Partner ID ");
	sb_html(&b, sp->ids[i]);
	SB_LIT(&b, "</p>\n<dl class=\"facts\">\n");
	put_fact(&b, "Period", sp->period);
	put_fact(&b, "Paid-as rank", p->ranks[r->paid_as].id);
	put_fact(&b, "Title rank", p->ranks[r->title].id);
	put_fact(&b, "Active", r->active ? "yes" : "no");
	put_fact_start(&b, "Personal volume (PV)");
	put_volume(&b, sp->pv[i]); /* digits, commas and a point: nothing to escape */
	put_fact_end(&b);
	put_fact_start(&b, "Group volume (GV)");
	put_volume(&b, r->gv);
	put_fact_end(&b);
	if (p->has_binary) {
		/* the two legs, what they matched, and what they carry to the next period */
		static const char *const bl[] = {"Binary left leg", "Binary right leg", "Binary matched",
						 "Carried to next period (left)", "Carried to next period (right)"};
		const int64_t bv[] = {r->left, r->right, r->matched, r->carry_left, r->carry_right};
		for (size_t k = 0; k < sizeof bv / sizeof *bv; k++) {
			put_fact_start(&b, bl[k]);
			put_volume(&b, bv[k]);
			put_fact_end(&b);
		}
	}
	SB_LIT(&b, "</dl>\n<p class=\"paid\">Paid this period: <strong>");
	put_money(&b, &ms, r->paid);
	SB_LIT(&b, "</strong></p>\n</header>\n");

	int rc = put_lines(&b, &ms, sp, i);
	if (rc == 0) {
		put_totals(&b, &ms, sp, i);
		rc = put_charts(&b, &ms, sp, i);
	}
	SB_LIT(&b, "<footer>");
	sb_html(&b, p->name);
	SB_LIT(&b, " \xc2\xb7 amounts in ");
	sb_html(&b, p->currency);
	SB_LIT(&b, ", volumes in PV/CV \xc2\xb7 payoutd</footer>\n</main>\n</body>\n</html>\n");
	if (rc < 0)
		b.failed = true;
	return sb_finish(&b, buf, len);
}
