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
 */
#include "statement.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "money.h"

/* ---- a bounded growable buffer ----------------------------------------- */

/* No single file of a close may exceed this (a leader with a very wide
 * downline has one line per source and level: 1 GiB is far beyond that). */
#define SBUF_MAX ((size_t)1 << 30)

typedef struct sbuf {
	char *v;
	size_t n, cap;
	bool failed;  /* the maximum was reached, or a formatting error */
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t len)
{
	if (b->failed)
		return;
	if (len > SBUF_MAX - 1 - b->n) {
		b->failed = true;
		return;
	}
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + len + 1)
			cap = cap > SBUF_MAX / 2 ? SBUF_MAX : cap * 2;
		b->v = xrealloc(b->v, cap);
		b->cap = cap;
	}
	memcpy(b->v + b->n, s, len);
	b->n += len;
	b->v[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (k < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)k < sizeof small) {
		sb_put(b, small, (size_t)k);
		return;
	}
	char *big = xmalloc((size_t)k + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)k + 1, fmt, ap);
	va_end(ap);
	sb_put(b, big, (size_t)k);
	free(big);
}

/* Text as HTML character data or a quoted attribute value. */
static void sb_html(sbuf *b, const char *s)
{
	if (!s)
		return;
	const char *run = s;
	for (const char *c = s; *c; c++) {
		const char *rep;
		switch (*c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		sb_put(b, run, (size_t)(c - run));
		sb_puts(b, rep);
		run = c + 1;
	}
	sb_puts(b, run);
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
	*buf = b->v;
	if (len)
		*len = b->n;
	return 0;
}

/* ---- shared checks and names -------------------------------------------- */

static const char *const line_type_name[] = {
	[LINE_RETAIL] = "retail",
	[LINE_UNILEVEL] = "unilevel",
	[LINE_RANK_ADVANCEMENT] = "rank_advancement",
	[LINE_CAP_ADJUSTMENT] = "cap_adjustment",
	[LINE_CLAWBACK] = "clawback",
	[LINE_FEE] = "fee",
	[LINE_CARRY_IN] = "carry_in",
};
#define N_LINE_TYPES ((int32_t)(sizeof line_type_name / sizeof line_type_name[0]))

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

/* Which members a line carries (SPEC 11.21): decided by its type, never by
 * whether a value happens to be zero. */
static bool has_base_rate(int32_t type)
{
	return type == LINE_RETAIL || type == LINE_UNILEVEL || type == LINE_CLAWBACK;
}

static bool has_level(const engine_line *l)
{
	return (l->type == LINE_UNILEVEL || l->type == LINE_CLAWBACK) && l->level >= 1;
}

static bool has_source(int32_t type)
{
	return type == LINE_RETAIL || type == LINE_UNILEVEL || type == LINE_CLAWBACK;
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

static json_t *j_rate(int64_t v)
{
	char t[32];
	money_format_rate(v, t);
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

static json_t *line_json(const stmt_period *sp, const engine_line *l, bool *bad)
{
	json_t *o = json_object();
	if (!o || l->type < 0 || l->type >= N_LINE_TYPES) {
		*bad = true;
		return o;
	}
	j_set(o, "type", json_string(line_type_name[l->type]), bad);
	if (has_level(l))
		j_set(o, "level", json_integer(l->level), bad);
	if (has_source(l->type) && source_id(sp, l))
		j_set(o, "source", json_string(source_id(sp, l)), bad);
	if (has_base_rate(l->type)) {
		j_set(o, "base", j_money(l->base), bad);
		j_set(o, "rate", j_rate(l->rate), bad);
	}
	if (l->type == LINE_RANK_ADVANCEMENT)
		j_set(o, "rank", rank_id(sp, l->rank) ? json_string(rank_id(sp, l->rank)) : NULL, bad);
	if (l->type == LINE_FEE)
		j_set(o, "name", fee_name(sp, l->fee) ? json_string(fee_name(sp, l->fee)) : NULL, bad);
	j_set(o, "amount", j_money(l->amount), bad);
	return o;
}

int statement_json(const stmt_period *sp, int32_t i, char **buf, size_t *len)
{
	*buf = NULL;
	if (!index_ok(sp, i))
		return -1;
	const engine_result *r = &sp->out->res[i];
	bool bad = false;
	json_t *root = json_object();
	if (!root)
		return -1;
	j_set(root, "period", json_string(sp->period), &bad);
	j_set(root, "distributor_id", json_string(sp->ids[i]), &bad);
	j_set(root, "name", json_string(name_of(sp, i)), &bad);
	j_set(root, "currency", json_string(sp->p->currency), &bad);
	j_set(root, "paid_as_rank", json_string(sp->p->ranks[r->paid_as].id), &bad);
	j_set(root, "title_rank", json_string(sp->p->ranks[r->title].id), &bad);
	j_set(root, "active", json_boolean(r->active), &bad);
	j_set(root, "pv", j_money(sp->pv[i]), &bad);
	j_set(root, "gv", j_money(r->gv), &bad);

	json_t *lines = json_array();
	for (uint32_t k = sp->out->first_line[i]; lines && k < sp->out->first_line[i + 1] && !bad; k++)
		if (json_array_append_new(lines, line_json(sp, &sp->out->lines[k], &bad)) < 0)
			bad = true;
	j_set(root, "lines", lines, &bad);

	json_t *t = json_object();
	if (t) {
		j_set(t, "commissions", j_money(r->commissions), &bad);
		j_set(t, "cap_adjustment", j_money(r->cap_adjustment), &bad);
		j_set(t, "clawbacks", j_money(r->clawbacks), &bad);
		j_set(t, "fees", j_money(r->fees), &bad);
		j_set(t, "carried_in", j_money(r->carried_in), &bad);
		j_set(t, "payable", j_money(r->payable), &bad);
		j_set(t, "paid", j_money(r->paid), &bad);
		j_set(t, "carried_out", j_money(r->carried_out), &bad);
	}
	j_set(root, "totals", t, &bad);
	return j_finish(root, bad, buf, len);
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
	for (int32_t i = 0; i < sp->n; i++) {
		if (sp->out->res[i].paid == 0)
			continue;
		if (!sp->ids[i]) {
			free(v);
			return -1;
		}
		v[n].id = sp->ids[i];
		v[n].i = i;
		n++;
	}
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

/* v in hundredths, grouped, with `digits` decimals (see above). out >= 64 bytes. */
static void fmt_grouped(int64_t v, int digits, char *out)
{
	char t[32];
	money_format(v, 2, t);
	const char *s = t;
	char *o = out;
	if (*s == '-')
		*o++ = *s++;
	const char *dot = strchr(s, '.');
	size_t int_len = (size_t)(dot - s);
	for (size_t k = 0; k < int_len; k++) {
		if (k > 0 && (int_len - k) % 3 == 0)
			*o++ = ',';
		*o++ = s[k];
	}
	bool zero_frac = dot[1] == '0' && dot[2] == '0';
	if (digits != 0 || !zero_frac) {
		memcpy(o, dot, 3);
		o += 3;
		if (digits == 3)
			*o++ = '0';
	}
	*o = '\0';
}

static void put_money(sbuf *b, const stmt_period *sp, int64_t v)
{
	char t[64];
	fmt_grouped(v, currency_digits(sp->p->currency), t);
	sb_html(b, sp->p->currency);
	sb_puts(b, " ");
	sb_puts(b, t);
}

static void put_volume(sbuf *b, int64_t v)
{
	char t[64];
	fmt_grouped(v, 2, t);
	sb_puts(b, t);
}

/* A rate in millionths as a percentage: 50000 -> "5%", 125000 -> "12.5%".
 * Millionths of one are ten-thousandths of a percent, so money_format with
 * 4 digits prints the percentage exactly; trailing zeros go. */
static void put_percent(sbuf *b, int64_t millionths)
{
	char t[32];
	int n = money_format(millionths, 4, t);
	while (n > 0 && t[n - 1] == '0')
		n--;
	if (n > 0 && t[n - 1] == '.')
		n--;
	t[n] = '\0';
	sb_puts(b, t);
	sb_puts(b, "%");
}

static const char *const line_type_label[] = {
	[LINE_RETAIL] = "Retail",
	[LINE_UNILEVEL] = "Unilevel",
	[LINE_RANK_ADVANCEMENT] = "Rank advancement",
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

typedef struct chart_row {
	char label[48];
	int64_t amount;     /* hundredths; negative draws in the deduction colour */
} chart_row;

static void put_chart(sbuf *b, const stmt_period *sp, const char *title, const chart_row *rows, size_t n,
		      const char *colour)
{
	uint64_t max = 0;
	for (size_t k = 0; k < n; k++) {
		uint64_t mag = rows[k].amount < 0 ? 0 - (uint64_t)rows[k].amount : (uint64_t)rows[k].amount;
		if (mag > max)
			max = mag;
	}
	int height = (int)n * CH_ROW + 4;
	sb_printf(b, "<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", CH_W,
		  height, CH_W, height);
	sb_html(b, title);
	sb_puts(b, "\">\n<title>");
	sb_html(b, title);
	sb_puts(b, "</title>\n");
	for (size_t k = 0; k < n; k++) {
		int64_t a = rows[k].amount;
		uint64_t mag = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
		/* integer pixels: mag * W / max, at least 1 for any non-zero amount */
		int w = max ? (int)((unsigned __int128)mag * CH_BAR_W / max) : 0;
		if (mag && w == 0)
			w = 1;
		int y = (int)k * CH_ROW + 4;
		sb_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"12\" fill=\"#111827\">", y + 13);
		sb_html(b, rows[k].label);
		sb_puts(b, "</text>\n");
		sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" rx=\"2\" fill=\"%s\"/>\n", CH_BAR_X,
			  y + 1, w, a < 0 ? "#dc2626" : colour);
		sb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\" fill=\"%s\">", CH_W, y + 13,
			  a < 0 ? "#b91c1c" : "#111827");
		put_money(b, sp, a);
		sb_puts(b, "</text>\n");
	}
	sb_puts(b, "</svg>\n");
}

/* Highest unilevel level worth a chart row; beyond this the plan is absurd. */
#define CHART_MAX_LEVELS 1000

static int put_charts(sbuf *b, const stmt_period *sp, int32_t i)
{
	const engine_output *o = sp->out;
	int64_t by_type[N_LINE_TYPES];
	memset(by_type, 0, sizeof by_type);
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
			if (l->level > max_level)
				max_level = l->level;
		}
	}

	/* earnings by type: the commissions, then what was taken off them */
	static const int32_t shown[] = {LINE_RETAIL, LINE_UNILEVEL, LINE_RANK_ADVANCEMENT,
					LINE_CAP_ADJUSTMENT, LINE_CLAWBACK, LINE_FEE};
	static const char *const plural[] = {
		[LINE_RETAIL] = "Retail", [LINE_UNILEVEL] = "Unilevel",
		[LINE_RANK_ADVANCEMENT] = "Rank advancement", [LINE_CAP_ADJUSTMENT] = "Cap adjustment",
		[LINE_CLAWBACK] = "Clawbacks", [LINE_FEE] = "Fees", [LINE_CARRY_IN] = "Carried in"};
	chart_row rows[sizeof shown / sizeof shown[0]];
	size_t nrows = 0;
	for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
		if (by_type[shown[k]] == 0)
			continue;
		snprintf(rows[nrows].label, sizeof rows[nrows].label, "%s", plural[shown[k]]);
		rows[nrows].amount = by_type[shown[k]];
		nrows++;
	}
	sb_puts(b, "<section class=\"chart\">\n<h2>Earnings by type</h2>\n");
	if (nrows)
		put_chart(b, sp, "Earnings by type", rows, nrows, "#2563eb");
	else
		sb_puts(b, "<p class=\"note\">No earnings this period.</p>\n");
	sb_puts(b, "</section>\n");

	/* unilevel by level */
	sb_puts(b, "<section class=\"chart\">\n<h2>Unilevel by level</h2>\n");
	if (max_level == 0) {
		sb_puts(b, "<p class=\"note\">No unilevel earnings this period.</p>\n");
	} else {
		chart_row *lv = xcalloc((size_t)max_level, sizeof *lv);
		for (int32_t k = 0; k < max_level; k++)
			snprintf(lv[k].label, sizeof lv[k].label, "Level %" PRId32, k + 1);
		for (uint32_t k = o->first_line[i]; k < o->first_line[i + 1]; k++) {
			const engine_line *l = &o->lines[k];
			if (l->type == LINE_UNILEVEL &&
			    money_add(lv[l->level - 1].amount, l->amount, &lv[l->level - 1].amount) < 0) {
				free(lv);
				return -1;
			}
		}
		put_chart(b, sp, "Unilevel earnings by level", lv, (size_t)max_level, "#059669");
		free(lv);
	}
	sb_puts(b, "</section>\n");
	return 0;
}

static void put_fact(sbuf *b, const char *label, const char *value)
{
	sb_puts(b, "<div><dt>");
	sb_puts(b, label);
	sb_puts(b, "</dt><dd>");
	sb_html(b, value);
	sb_puts(b, "</dd></div>\n");
}

static void put_money_cell(sbuf *b, const stmt_period *sp, int64_t v, bool code)
{
	char t[64];
	fmt_grouped(v, currency_digits(sp->p->currency), t);
	sb_puts(b, v < 0 ? "<td class=\"num neg\">" : "<td class=\"num\">");
	if (code) {
		sb_html(b, sp->p->currency);
		sb_puts(b, " ");
	}
	sb_puts(b, t);
	sb_puts(b, "</td>");
}

static int put_lines(sbuf *b, const stmt_period *sp, int32_t i)
{
	const engine_output *o = sp->out;
	sb_puts(b, "<section>\n<h2>Lines</h2>\n");
	if (o->first_line[i] == o->first_line[i + 1]) {
		sb_puts(b, "<p class=\"note\">No lines this period.</p>\n</section>\n");
		return 0;
	}
	/* the currency code once, in the heading, keeps the columns narrow on a phone */
	sb_puts(b, "<div class=\"scroll\"><table class=\"lines\">\n<thead><tr><th>Type</th><th class=\"num\">Level</th>"
		   "<th>From</th><th class=\"num\">Base</th><th class=\"num\">Rate</th><th class=\"num\">Amount (");
	sb_html(b, sp->p->currency);
	sb_puts(b, ")</th></tr></thead>\n<tbody>\n");
	for (uint32_t k = o->first_line[i]; k < o->first_line[i + 1]; k++) {
		const engine_line *l = &o->lines[k];
		if (l->type < 0 || l->type >= N_LINE_TYPES)
			return -1;
		sb_puts(b, "<tr><td>");
		sb_puts(b, line_type_label[l->type]);
		if (l->type == LINE_RANK_ADVANCEMENT) {
			if (!rank_id(sp, l->rank))
				return -1;
			sb_puts(b, "<span class=\"det\">to ");
			sb_html(b, rank_id(sp, l->rank));
			sb_puts(b, "</span>");
		} else if (l->type == LINE_FEE) {
			if (!fee_name(sp, l->fee))
				return -1;
			sb_puts(b, "<span class=\"det\">");
			sb_html(b, fee_name(sp, l->fee));
			sb_puts(b, "</span>");
		} else if (l->type == LINE_CLAWBACK) {
			sb_puts(b, has_level(l) ? "<span class=\"det\">of unilevel</span>"
						: "<span class=\"det\">of retail</span>");
		}
		sb_puts(b, "</td><td class=\"num\">");
		if (has_level(l))
			sb_printf(b, "%" PRId32, l->level);
		sb_puts(b, "</td><td class=\"src\">");
		if (has_source(l->type))
			sb_html(b, source_id(sp, l));
		sb_puts(b, "</td><td class=\"num\">");
		if (has_base_rate(l->type))
			put_volume(b, l->base);
		sb_puts(b, "</td><td class=\"num\">");
		if (has_base_rate(l->type))
			put_percent(b, l->rate);
		sb_puts(b, "</td>");
		put_money_cell(b, sp, l->amount, false);
		sb_puts(b, "</tr>\n");
	}
	sb_puts(b, "</tbody>\n</table></div>\n</section>\n");
	return 0;
}

static void put_total(sbuf *b, const stmt_period *sp, const char *label, int64_t v, bool sum)
{
	sb_puts(b, sum ? "<tr class=\"sum\"><th>" : "<tr><th>");
	sb_puts(b, label);
	sb_puts(b, "</th>");
	put_money_cell(b, sp, v, true);
	sb_puts(b, "</tr>\n");
}

static void put_totals(sbuf *b, const stmt_period *sp, int32_t i)
{
	const engine_result *r = &sp->out->res[i];
	const plan *p = sp->p;
	sb_puts(b, "<section>\n<h2>Totals</h2>\n<table class=\"totals\">\n<tbody>\n");
	put_total(b, sp, "Commissions", r->commissions, false);
	put_total(b, sp, "Cap adjustment", r->cap_adjustment, false);
	put_total(b, sp, "Clawbacks", r->clawbacks, false);
	put_total(b, sp, "Fees", r->fees, false);
	put_total(b, sp, "Carried in", r->carried_in, false);
	put_total(b, sp, "Payable", r->payable, true);
	put_total(b, sp, "Paid", r->paid, false);
	put_total(b, sp, "Carried to next period", r->carried_out, false);
	sb_puts(b, "</tbody>\n</table>\n");
	if (r->cap_adjustment != 0 && p->has_cap) {
		sb_puts(b, "<p class=\"note\">Commissions of all partners this period exceeded the plan&#39;s cap of ");
		put_percent(b, p->cap_payout_ratio);
		sb_puts(b, " of net sales, so every commission was scaled down in the same proportion.</p>\n");
	}
	if (r->carried_out != 0) {
		if (r->payable < 0) {
			sb_puts(b, "<p class=\"note\">The balance is negative; it is carried to the next period "
				   "and offset against future earnings.</p>\n");
		} else {
			sb_puts(b, "<p class=\"note\">The balance is below the minimum payout of ");
			put_money(b, sp, p->min_payout);
			sb_puts(b, "; it is carried to the next period.</p>\n");
		}
	}
	sb_puts(b, "</section>\n");
}

int statement_html(const stmt_period *sp, int32_t i, char **buf, size_t *len)
{
	*buf = NULL;
	if (!index_ok(sp, i))
		return -1;
	const engine_result *r = &sp->out->res[i];
	const plan *p = sp->p;
	const char *name = name_of(sp, i);
	sbuf b = {0};

	sb_puts(&b, html_head);
	sb_puts(&b, "<title>Statement ");
	sb_html(&b, sp->period);
	sb_puts(&b, " \xe2\x80\x93 ");
	sb_html(&b, name);
	sb_puts(&b, " (");
	sb_html(&b, sp->ids[i]);
	sb_puts(&b, ")</title>\n");
	sb_puts(&b, html_style);
	sb_puts(&b, "</head>\n<body>\n<main>\n");

	/* who, when, rank and volumes */
	sb_puts(&b, "<header>\n<p class=\"kicker\">Commission statement ");
	sb_html(&b, sp->period);
	sb_puts(&b, "</p>\n<h1>");
	sb_html(&b, name);
	sb_puts(&b, "</h1>\n<p class=\"id\">Partner ID ");
	sb_html(&b, sp->ids[i]);
	sb_puts(&b, "</p>\n<dl class=\"facts\">\n");
	char pv[64], gv[64];
	fmt_grouped(sp->pv[i], 2, pv);
	fmt_grouped(r->gv, 2, gv);
	put_fact(&b, "Period", sp->period);
	put_fact(&b, "Paid-as rank", p->ranks[r->paid_as].id);
	put_fact(&b, "Title rank", p->ranks[r->title].id);
	put_fact(&b, "Active", r->active ? "yes" : "no");
	put_fact(&b, "Personal volume (PV)", pv);
	put_fact(&b, "Group volume (GV)", gv);
	sb_puts(&b, "</dl>\n<p class=\"paid\">Paid this period: <strong>");
	put_money(&b, sp, r->paid);
	sb_puts(&b, "</strong></p>\n</header>\n");

	int rc = put_lines(&b, sp, i);
	if (rc == 0) {
		put_totals(&b, sp, i);
		rc = put_charts(&b, sp, i);
	}
	sb_puts(&b, "<footer>");
	sb_html(&b, p->name);
	sb_puts(&b, " \xc2\xb7 amounts in ");
	sb_html(&b, p->currency);
	sb_puts(&b, ", volumes in PV/CV \xc2\xb7 payoutd</footer>\n</main>\n</body>\n</html>\n");
	if (rc < 0)
		b.failed = true;
	return sb_finish(&b, buf, len);
}
