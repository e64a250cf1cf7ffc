/*
 * ingest.c - one file, one transaction: parse, validate and book every row,
 * then either commit the file record with its audit line or roll back.
 *
 * Rows are booked as they are read (so memory does not grow with the file);
 * a bad row only records an error, reading goes on so that every bad row is
 * listed, and the transaction is rolled back at the end. Checks that need
 * the whole file (sponsors defined later in it, cycles) run after the last
 * row, still inside the transaction.
 */
#include "ingest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "csvin.h"
#include "money.h"
#include "strmap.h"

#define MAX_ID 128
#define DIST_CACHE_MAX 1000000

typedef struct product {
	int64_t pv, cv;
	char *category;
} product;

/* rows of a distributors file, kept for the checks after the last row */
typedef struct drow {
	long line;
	char *id, *sponsor, *placement;
} drow;

typedef struct ictx {
	ledger *l;
	sqlite3 *db;
	const plan *p;
	const config_input *in;
	const char *name;
	csvin *r;
	ingest_result *res;
	pd_err *err;
	int32_t eo;           /* earliest open period, or LEDGER_NO_CLOSE */
	int64_t file_id;
	int fatal;            /* an SQLite failure: abort, retry later */

	/* sales */
	sqlite3_stmt *ins_sale, *get_sale, *sum_refunds, *dist_known;
	strmap *catalog;      /* sku -> index into products */
	product *products;
	size_t n_products;
	strmap *known;        /* distributor id -> 1 known / 2 unknown */

	/* distributors */
	sqlite3_stmt *upsert_dist, *get_status, *ins_status, *get_sponsor;
	drow *drows;
	size_t n_drows, cap_drows;

	/* products */
	sqlite3_stmt *upsert_product;
} ictx;

/* ---- error reporting --------------------------------------------------- */

/* Quotes a value for a message: at most 60 bytes, control bytes as \xNN. */
static void quote_value(const char *v, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)v[i];
		if (i == 60) {
			o += (size_t)snprintf(out + o, cap - o, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

static void row_errorv(ictx *c, long line, int col, const char *value, size_t vlen,
		       const char *fmt, va_list ap)
{
	char why[512];
	vsnprintf(why, sizeof why, fmt, ap);
	if (col < 0) {
		pd_diag_add(&c->res->errors, "%s:%ld:1: %s", c->name, line, why);
		return;
	}
	char q[256];
	quote_value(value ? value : "", value ? vlen : 0, q, sizeof q);
	pd_diag_add(&c->res->errors, "%s:%ld:%d: column \"%s\": value \"%s\": %s", c->name, line,
		    csvin_field_number(c->r, col), csvin_header_name(c->r, col), q, why);
}

static void row_error(ictx *c, const csvin_row *row, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void row_error(ictx *c, const csvin_row *row, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	row_errorv(c, row->line, col, col >= 0 ? row->val[col] : NULL, col >= 0 ? row->len[col] : 0, fmt, ap);
	va_end(ap);
}

static void line_error(ictx *c, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line_error(ictx *c, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	row_errorv(c, line, -1, NULL, 0, fmt, ap);
	va_end(ap);
}

/* csvin's structural row errors land in the same list */
static void on_csv_error(void *ctx, long line, int col, const char *value, size_t vlen, const char *reason)
{
	ictx *c = ctx;
	if (col < 0)
		pd_diag_add(&c->res->errors, "%s:%ld:1: %s", c->name, line, reason);
	else {
		char q[256];
		quote_value(value, vlen, q, sizeof q);
		pd_diag_add(&c->res->errors, "%s:%ld:%d: column \"%s\": value \"%s\": %s", c->name, line,
			    csvin_field_number(c->r, col), csvin_header_name(c->r, col), q, reason);
	}
}

static int sql_fail(ictx *c, const char *what)
{
	c->fatal = 1;
	return pd_errf(c->err, "ledger: %s: %s", what, sqlite3_errmsg(c->db));
}

/* ---- field parsing ----------------------------------------------------- */

static int present(const csvin_row *row, int col)
{
	return row->val[col] && row->len[col] > 0;
}

int ingest_valid_distributor_id(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static int check_text_id(ictx *c, const csvin_row *row, int col, int required)
{
	if (!present(row, col)) {
		if (required)
			row_error(c, row, col, "required value is empty");
		return required ? -1 : 0;
	}
	if (row->len[col] > MAX_ID) {
		row_error(c, row, col, "longer than %d bytes", MAX_ID);
		return -1;
	}
	for (size_t i = 0; i < row->len[col]; i++)
		if ((unsigned char)row->val[col][i] < 0x20) {
			row_error(c, row, col, "contains a control character");
			return -1;
		}
	return 0;
}

static int check_dist_id(ictx *c, const csvin_row *row, int col, int required)
{
	if (!present(row, col)) {
		if (required)
			row_error(c, row, col, "required value is empty");
		return required ? -1 : 0;
	}
	if (!ingest_valid_distributor_id(row->val[col], row->len[col])) {
		row_error(c, row, col, "a distributor id is 1 to 64 characters of A-Z a-z 0-9 . _ - and does not start with '.'");
		return -1;
	}
	return 0;
}

static int parse_money_col(ictx *c, const csvin_row *row, int col, int allow_negative, int64_t *out)
{
	const char *why;
	if (money_parse_cents(row->val[col], row->len[col], c->in->fmt.decimal, allow_negative, out, &why) < 0) {
		if (c->in->fmt.decimal == ',')
			row_error(c, row, col, "%s (expected a decimal like 1234,50 or 1.234,50, at most 2 decimals)", why);
		else
			row_error(c, row, col, "%s (expected a decimal like 1234.50, at most 2 decimals)", why);
		return -1;
	}
	return 0;
}

static int parse_date_col(ictx *c, const csvin_row *row, int col, int32_t *day)
{
	const char *why;
	if (!present(row, col)) {
		row_error(c, row, col, "required value is empty");
		return -1;
	}
	if (date_parse_sale(row->val[col], row->len[col], c->in->date_format, day, &why) < 0) {
		row_error(c, row, col, "%s (expected a date as %s or an ISO 8601 date-time)", why, c->in->date_format);
		return -1;
	}
	return 0;
}

/* ---- sales ------------------------------------------------------------- */

static int load_catalog(ictx *c)
{
	sqlite3_stmt *st;
	if (ledger_prepare(c->l, "SELECT sku, pv, cv, category FROM products", &st, c->err) < 0)
		return -1;
	c->catalog = strmap_new();
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (c->n_products == cap) {
			cap = cap ? cap * 2 : 64;
			c->products = xrealloc(c->products, cap * sizeof *c->products);
		}
		product *pr = &c->products[c->n_products];
		pr->pv = sqlite3_column_int64(st, 1);
		pr->cv = sqlite3_column_int64(st, 2);
		pr->category = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL
			: xstrdup((const char *)sqlite3_column_text(st, 3));
		*strmap_put(c->catalog, (const char *)sqlite3_column_text(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0), NULL) = (int64_t)c->n_products;
		c->n_products++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(c, "reading the product catalog");
}

static const product *catalog_find(ictx *c, const char *sku, size_t len)
{
	if (!sku)
		return NULL;
	int64_t *v = strmap_get(c->catalog, sku, len);
	return v ? &c->products[*v] : NULL;
}

static int distributor_known(ictx *c, const char *id, size_t len)
{
	int64_t *v = strmap_get(c->known, id, len);
	if (v)
		return *v == 1;
	sqlite3_reset(c->dist_known);
	sqlite3_bind_text(c->dist_known, 1, id, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(c->dist_known);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(c, "looking up a distributor");
	if (strmap_count(c->known) >= DIST_CACHE_MAX) /* bounded memory */
		strmap_clear(c->known);
	*strmap_put(c->known, id, len, NULL) = rc == SQLITE_ROW ? 1 : 2;
	return rc == SQLITE_ROW;
}

typedef struct sale {
	const char *sale_id, *dist, *sku, *refund_of, *promo;
	int32_t day, period, booked;
	int64_t amount, quantity, pv, cv, pv_mult, cv_mult, pv_eff, cv_eff;
	int has_pv, has_cv, to_distributor;
	int64_t given_pv, given_cv;
	int flags;
	int64_t content;
} sale;

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/*
 * The fingerprint of a sale row's own content (everything but sale_id, as
 * given in the file, before any derivation): two rows with one sale_id are
 * "the same sale" when their fingerprints agree (SPEC 4.1.3). FNV-1a 64 with
 * a final mix over tagged fields. It is part of the ledger format: never
 * change it without a schema migration.
 */
static uint64_t fp_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static uint64_t fp_field(uint64_t h, int present_, const void *p, size_t n)
{
	unsigned char tag = present_ ? 1 : 0;
	uint64_t len = n;
	h = fp_bytes(h, &tag, 1);
	if (present_) {
		h = fp_bytes(h, &len, sizeof len);
		h = fp_bytes(h, p, n);
	}
	return h;
}

static int64_t sale_fingerprint(const sale *s)
{
	uint64_t h = 1469598103934665603ULL;
	int64_t v[4] = {s->day, s->amount, s->quantity, s->to_distributor};
	h = fp_field(h, 1, s->dist, strlen(s->dist));
	h = fp_field(h, 1, v, sizeof v);
	h = fp_field(h, s->sku != NULL, s->sku, s->sku ? strlen(s->sku) : 0);
	h = fp_field(h, s->has_pv, &s->given_pv, sizeof s->given_pv);
	h = fp_field(h, s->has_cv, &s->given_cv, sizeof s->given_cv);
	h = fp_field(h, s->refund_of != NULL, s->refund_of, s->refund_of ? strlen(s->refund_of) : 0);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (int64_t)h;
}

/* get_sale columns */
enum { GS_DIST, GS_AMOUNT, GS_BOOKED, GS_FLAGS, GS_REFUND_OF, GS_PROMO, GS_PV_MULT, GS_CV_MULT,
       GS_CONTENT, GS_FILE, GS_LINE };

static int same_sale(sqlite3_stmt *g, const sale *s)
{
	return sqlite3_column_int64(g, GS_CONTENT) == s->content;
}

static void report_conflict(ictx *c, const csvin_row *row, sqlite3_stmt *g)
{
	row_error(c, row, SC_SALE_ID, "this sale_id is already booked (file %" PRId64 ", line %" PRId64 ") with different content",
		  (int64_t)sqlite3_column_int64(g, GS_FILE), (int64_t)sqlite3_column_int64(g, GS_LINE));
}

/* Looks up a booked sale; 1 found (row in c->get_sale), 0 not, -1 error. */
static int fetch_sale(ictx *c, const char *id)
{
	sqlite3_reset(c->get_sale);
	sqlite3_bind_text(c->get_sale, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->get_sale);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return sql_fail(c, "looking up a sale");
}

/* Volume of a sale before promotion (SPEC 11.12): given, else catalog unit
 * value x quantity (negated for a refund), else the amount. -1 on overflow. */
static int derive_volume(int has, int64_t given, const product *pr, int64_t unit, const sale *s,
			 int64_t *out)
{
	if (has) {
		*out = given;
		return 0;
	}
	if (pr) {
		__int128 v = (__int128)unit * s->quantity;
		if (v > INT64_MAX / 2)
			return -1;
		*out = s->amount < 0 ? -(int64_t)v : (int64_t)v;
		return 0;
	}
	*out = s->amount;
	return 0;
}

static int on_sale_row(void *ctx, const csvin_row *row, pd_err *err)
{
	ictx *c = ctx;
	(void)err;
	size_t errs_before = pd_diag_count(&c->res->errors);
	sale s;
	memset(&s, 0, sizeof s);
	const char *why;

	check_text_id(c, row, SC_SALE_ID, 1);
	check_dist_id(c, row, SC_DISTRIBUTOR_ID, 1);
	parse_date_col(c, row, SC_DATE, &s.day);
	if (!present(row, SC_AMOUNT))
		row_error(c, row, SC_AMOUNT, "required value is empty");
	else
		parse_money_col(c, row, SC_AMOUNT, 1, &s.amount);
	if (present(row, SC_CURRENCY) && strcmp(row->val[SC_CURRENCY], c->p->currency) != 0)
		row_error(c, row, SC_CURRENCY, "the plan's currency is %s; other currencies are not accepted", c->p->currency);
	if (present(row, SC_SKU))
		check_text_id(c, row, SC_SKU, 0);
	s.quantity = 1;
	if (present(row, SC_QUANTITY)) {
		if (money_parse(row->val[SC_QUANTITY], row->len[SC_QUANTITY], '.', 0, 0, false, &s.quantity, &why) < 0 ||
		    s.quantity < 1 || s.quantity > 1000000)
			row_error(c, row, SC_QUANTITY, "expected a whole number from 1 to 1000000");
	}
	if (present(row, SC_PV) && parse_money_col(c, row, SC_PV, 1, &s.given_pv) == 0)
		s.has_pv = 1;
	if (present(row, SC_CV) && parse_money_col(c, row, SC_CV, 1, &s.given_cv) == 0)
		s.has_cv = 1;
	if (present(row, SC_REFUND_OF))
		check_text_id(c, row, SC_REFUND_OF, 0);
	if (present(row, SC_CUSTOMER_TYPE)) {
		if (strcmp(row->val[SC_CUSTOMER_TYPE], "distributor") == 0)
			s.to_distributor = 1;
		else if (strcmp(row->val[SC_CUSTOMER_TYPE], "retail") != 0)
			row_error(c, row, SC_CUSTOMER_TYPE, "expected retail or distributor");
	}
	if (pd_diag_count(&c->res->errors) > errs_before)
		return 0;

	s.sale_id = row->val[SC_SALE_ID];
	s.dist = row->val[SC_DISTRIBUTOR_ID];
	s.sku = present(row, SC_SKU) ? row->val[SC_SKU] : NULL;
	s.refund_of = present(row, SC_REFUND_OF) ? row->val[SC_REFUND_OF] : NULL;
	int refund = s.amount < 0;
	if (refund && !s.refund_of) {
		row_error(c, row, SC_AMOUNT, "a negative amount is a refund and needs refund_of (the refunded sale_id)");
		return 0;
	}
	if (!refund && s.refund_of) {
		row_error(c, row, SC_REFUND_OF, "refund_of is set but the amount is not negative");
		return 0;
	}
	if (!refund && ((s.has_pv && s.given_pv < 0) || (s.has_cv && s.given_cv < 0))) {
		row_error(c, row, s.has_pv && s.given_pv < 0 ? SC_PV : SC_CV, "a sale's volume cannot be negative");
		return 0;
	}
	if (refund && ((s.has_pv && s.given_pv > 0) || (s.has_cv && s.given_cv > 0))) {
		row_error(c, row, s.has_pv && s.given_pv > 0 ? SC_PV : SC_CV, "a refund's volume must not be positive");
		return 0;
	}
	if (s.refund_of && strcmp(s.refund_of, s.sale_id) == 0) {
		row_error(c, row, SC_REFUND_OF, "a sale cannot refund itself");
		return 0;
	}
	s.content = sale_fingerprint(&s);

	const product *pr = catalog_find(c, s.sku, s.sku ? row->len[SC_SKU] : 0);
	if (derive_volume(s.has_pv, s.given_pv, pr, pr ? pr->pv : 0, &s, &s.pv) < 0 ||
	    derive_volume(s.has_cv, s.given_cv, pr, pr ? pr->cv : 0, &s, &s.cv) < 0) {
		row_error(c, row, SC_QUANTITY, "catalog volume times quantity is too large");
		return 0;
	}

	s.period = period_of_day(c->p->period, s.day);
	s.pv_mult = s.cv_mult = RATE_SCALE;
	char promo[256];
	int fr;
	if (refund) {
		/* a re-sent refund is a duplicate, not a second refund */
		if ((fr = fetch_sale(c, s.sale_id)) < 0)
			return -1;
		if (fr) {
			if (same_sale(c->get_sale, &s))
				c->res->st.duplicates++;
			else
				report_conflict(c, row, c->get_sale);
			return 0;
		}
		if ((fr = fetch_sale(c, s.refund_of)) < 0)
			return -1;
		if (!fr) {
			row_error(c, row, SC_REFUND_OF, "no sale with this sale_id is booked");
			return 0;
		}
		sqlite3_stmt *g = c->get_sale;
		if (sqlite3_column_type(g, GS_REFUND_OF) != SQLITE_NULL) {
			row_error(c, row, SC_REFUND_OF, "that sale is itself a refund; a refund of a refund is not allowed");
			return 0;
		}
		if (strcmp((const char *)sqlite3_column_text(g, GS_DIST), s.dist) != 0) {
			row_error(c, row, SC_DISTRIBUTOR_ID, "the refunded sale belongs to distributor %s",
				  (const char *)sqlite3_column_text(g, GS_DIST));
			return 0;
		}
		int64_t orig_amount = sqlite3_column_int64(g, GS_AMOUNT);
		int32_t orig_booked = sqlite3_column_int(g, GS_BOOKED);
		int orig_attributed = sqlite3_column_int(g, GS_FLAGS) & SALE_ATTRIBUTED;
		if (sqlite3_column_type(g, GS_PROMO) != SQLITE_NULL) {
			snprintf(promo, sizeof promo, "%s", (const char *)sqlite3_column_text(g, GS_PROMO));
			s.promo = promo;
			s.pv_mult = sqlite3_column_int64(g, GS_PV_MULT);
			s.cv_mult = sqlite3_column_int64(g, GS_CV_MULT);
		}
		sqlite3_reset(c->sum_refunds);
		sqlite3_bind_text(c->sum_refunds, 1, s.refund_of, -1, SQLITE_STATIC);
		if (sqlite3_step(c->sum_refunds) != SQLITE_ROW)
			return sql_fail(c, "summing refunds");
		int64_t left = orig_amount + sqlite3_column_int64(c->sum_refunds, 0); /* refunds are <= 0 */
		if (-s.amount > left) {
			char l1[32], l2[32];
			money_format(left, 2, l1);
			money_format(-s.amount, 2, l2);
			row_error(c, row, SC_AMOUNT, "refund of %s exceeds what is left of sale %s (%s)", l2, s.refund_of, l1);
			return 0;
		}
		/* a refund goes with its original's booked period while that is open;
		 * once it is closed its volumes stay and a clawback is booked instead.
		 * An original still waiting for its distributor has not been counted
		 * anywhere yet, so its refund simply goes with it. */
		if (c->eo == LEDGER_NO_CLOSE || orig_booked >= c->eo || !orig_attributed) {
			s.booked = orig_booked;
		} else {
			s.booked = c->eo;
			s.flags |= SALE_CLAWBACK;
		}
	} else {
		const plan_promotion *pm = plan_promotion_for(c->p, s.day, s.sku, pr ? pr->category : NULL);
		if (pm) {
			s.promo = pm->id;
			s.pv_mult = pm->pv_mult;
			s.cv_mult = pm->cv_mult;
		}
		if (c->eo != LEDGER_NO_CLOSE && s.period < c->eo) {
			s.booked = c->eo;
			s.flags |= SALE_LATE;
		} else {
			s.booked = s.period;
		}
	}
	if (money_apply_rate(s.pv, s.pv_mult, &s.pv_eff) < 0 || money_apply_rate(s.cv, s.cv_mult, &s.cv_eff) < 0) {
		row_error(c, row, SC_AMOUNT, "volume overflow after the promotion multiplier");
		return 0;
	}
	int known = distributor_known(c, s.dist, row->len[SC_DISTRIBUTOR_ID]);
	if (known < 0)
		return -1;
	if (known)
		s.flags |= SALE_ATTRIBUTED;
	if (s.to_distributor)
		s.flags |= SALE_TO_DISTRIBUTOR;

	sqlite3_stmt *st = c->ins_sale;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, s.sale_id, (int)row->len[SC_SALE_ID], SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s.dist, (int)row->len[SC_DISTRIBUTOR_ID], SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s.day);
	sqlite3_bind_int64(st, 4, s.amount);
	sqlite3_bind_int64(st, 5, s.pv_eff);
	sqlite3_bind_int64(st, 6, s.cv_eff);
	sqlite3_bind_int(st, 7, s.booked);
	sqlite3_bind_int(st, 8, s.flags);
	bind_opt_text(st, 9, s.refund_of);
	bind_opt_text(st, 10, s.promo);
	if (s.promo) {
		sqlite3_bind_int64(st, 11, s.pv_mult);
		sqlite3_bind_int64(st, 12, s.cv_mult);
	} else {
		sqlite3_bind_null(st, 11);
		sqlite3_bind_null(st, 12);
	}
	sqlite3_bind_int64(st, 13, s.content);
	sqlite3_bind_int64(st, 14, c->file_id);
	sqlite3_bind_int64(st, 15, row->line);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_fail(c, "booking a sale");
	if (sqlite3_changes(c->db) == 0) {
		/* sale_id already booked: the same sale again is skipped, another is an error */
		if ((fr = fetch_sale(c, s.sale_id)) <= 0)
			return fr < 0 ? -1 : sql_fail(c, "re-reading a sale");
		if (same_sale(c->get_sale, &s))
			c->res->st.duplicates++;
		else
			report_conflict(c, row, c->get_sale);
		return 0;
	}
	c->res->st.sales++;
	c->res->st.late += (s.flags & SALE_LATE) != 0;
	c->res->st.unattributed += !known;
	c->res->st.refunds += refund;
	c->res->st.clawbacks += (s.flags & SALE_CLAWBACK) != 0;
	return 0;
}

static int prepare_sales(ictx *c)
{
	c->known = strmap_new();
	if (load_catalog(c) < 0)
		return -1;
	return ledger_prepare(c->l,
		"INSERT INTO sales(sale_id, distributor_id, day, amount, pv, cv, booked_period, flags,"
		" refund_of, promo, pv_mult, cv_mult, content, file_id, line)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sale_id) DO NOTHING",
		&c->ins_sale, c->err) < 0 ||
	       ledger_prepare(c->l,
		"SELECT distributor_id, amount, booked_period, flags, refund_of, promo, pv_mult, cv_mult,"
		" content, file_id, line FROM sales WHERE sale_id = ?",
		&c->get_sale, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT coalesce(sum(amount), 0) FROM sales WHERE refund_of = ?",
			      &c->sum_refunds, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT 1 FROM distributors WHERE id = ?", &c->dist_known, c->err) < 0
		? -1 : 0;
}

/* ---- distributors ------------------------------------------------------ */

/* The upsert only overwrites the optional columns this file has, so a file
 * without an `iban` column does not erase stored IBANs. */
static int prepare_distributors(ictx *c)
{
	static const struct { int col; const char *name; } opt[] = {
		{DC_COUNTRY, "country"}, {DC_EMAIL, "email"}, {DC_IBAN, "iban"}, {DC_VAT_ID, "vat_id"},
		{DC_VAT_LIABLE, "vat_liable"}, {DC_PLACEMENT_ID, "placement_id"}, {DC_LEG, "leg"},
	};
	char sql[2048];
	int n = snprintf(sql, sizeof sql,
		"INSERT INTO distributors(id, sponsor_id, name, join_date, country, email, iban, vat_id,"
		" vat_liable, placement_id, leg, created_file, updated_file)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?12) ON CONFLICT(id) DO UPDATE SET"
		" sponsor_id = excluded.sponsor_id, name = excluded.name, join_date = excluded.join_date,"
		" updated_file = excluded.updated_file");
	for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
		if (csvin_has_column(c->r, opt[i].col))
			n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s = excluded.%s", opt[i].name, opt[i].name);
	(void)n;
	return ledger_prepare(c->l, sql, &c->upsert_dist, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT terminated FROM distributor_status WHERE distributor_id = ? ORDER BY seq DESC LIMIT 1",
			      &c->get_status, c->err) < 0 ||
	       ledger_prepare(c->l, "INSERT INTO distributor_status(distributor_id, from_period, terminated, file_id) VALUES(?,?,?,?)",
			      &c->ins_status, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT sponsor_id FROM distributors WHERE id = ?", &c->get_sponsor, c->err) < 0
		? -1 : 0;
}

static void bind_col(sqlite3_stmt *st, int i, const csvin_row *row, int col)
{
	if (present(row, col))
		sqlite3_bind_text(st, i, row->val[col], (int)row->len[col], SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int on_distributor_row(void *ctx, const csvin_row *row, pd_err *err)
{
	ictx *c = ctx;
	(void)err;
	if (!c->upsert_dist && prepare_distributors(c) < 0) {
		c->fatal = 1;
		return -1;
	}
	size_t errs_before = pd_diag_count(&c->res->errors);
	int32_t join = 0;
	check_dist_id(c, row, DC_DISTRIBUTOR_ID, 1);
	check_dist_id(c, row, DC_SPONSOR_ID, 0);
	if (!present(row, DC_NAME))
		row_error(c, row, DC_NAME, "required value is empty");
	parse_date_col(c, row, DC_JOIN_DATE, &join);
	int vat = 0;
	if (present(row, DC_VAT_LIABLE)) {
		if (strcmp(row->val[DC_VAT_LIABLE], "yes") == 0)
			vat = 1;
		else if (strcmp(row->val[DC_VAT_LIABLE], "no") != 0)
			row_error(c, row, DC_VAT_LIABLE, "expected yes or no");
	}
	int status = -1; /* -1: no status column, 0 active, 1 terminated */
	if (row->val[DC_STATUS]) {
		if (row->len[DC_STATUS] == 0 || strcmp(row->val[DC_STATUS], "active") == 0)
			status = 0;
		else if (strcmp(row->val[DC_STATUS], "terminated") == 0)
			status = 1;
		else
			row_error(c, row, DC_STATUS, "expected active or terminated");
	}
	check_dist_id(c, row, DC_PLACEMENT_ID, 0);
	if (present(row, DC_LEG) && strcmp(row->val[DC_LEG], "left") != 0 && strcmp(row->val[DC_LEG], "right") != 0)
		row_error(c, row, DC_LEG, "expected left or right");
	if (present(row, DC_PLACEMENT_ID) != present(row, DC_LEG))
		row_error(c, row, present(row, DC_LEG) ? DC_LEG : DC_PLACEMENT_ID,
			  "placement_id and leg are given together or not at all");
	if (pd_diag_count(&c->res->errors) > errs_before)
		return 0;
	const char *id = row->val[DC_DISTRIBUTOR_ID];
	if (present(row, DC_SPONSOR_ID) && strcmp(row->val[DC_SPONSOR_ID], id) == 0) {
		row_error(c, row, DC_SPONSOR_ID, "a distributor cannot sponsor itself");
		return 0;
	}
	if (present(row, DC_PLACEMENT_ID) && strcmp(row->val[DC_PLACEMENT_ID], id) == 0) {
		row_error(c, row, DC_PLACEMENT_ID, "a distributor cannot be placed under itself");
		return 0;
	}
	sqlite3_stmt *st = c->upsert_dist;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, (int)row->len[DC_DISTRIBUTOR_ID], SQLITE_STATIC);
	bind_col(st, 2, row, DC_SPONSOR_ID);
	sqlite3_bind_text(st, 3, row->val[DC_NAME], (int)row->len[DC_NAME], SQLITE_STATIC);
	sqlite3_bind_int(st, 4, join);
	bind_col(st, 5, row, DC_COUNTRY);
	bind_col(st, 6, row, DC_EMAIL);
	bind_col(st, 7, row, DC_IBAN);
	bind_col(st, 8, row, DC_VAT_ID);
	sqlite3_bind_int(st, 9, vat);
	bind_col(st, 10, row, DC_PLACEMENT_ID);
	bind_col(st, 11, row, DC_LEG);
	sqlite3_bind_int64(st, 12, c->file_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_fail(c, "booking a distributor");
	c->res->st.distributors++;

	if (status >= 0) {
		/* termination takes effect from the earliest open period (SPEC 11.8);
		 * before the first close that is the very beginning */
		sqlite3_reset(c->get_status);
		sqlite3_bind_text(c->get_status, 1, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(c->get_status);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return sql_fail(c, "reading a distributor's status");
		int current = rc == SQLITE_ROW ? sqlite3_column_int(c->get_status, 0) : 0;
		if (current != status) {
			sqlite3_reset(c->ins_status);
			sqlite3_bind_text(c->ins_status, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_int(c->ins_status, 2, c->eo);
			sqlite3_bind_int(c->ins_status, 3, status);
			sqlite3_bind_int64(c->ins_status, 4, c->file_id);
			if (sqlite3_step(c->ins_status) != SQLITE_DONE)
				return sql_fail(c, "recording a termination");
		}
	}
	if (c->n_drows == c->cap_drows) {
		c->cap_drows = c->cap_drows ? c->cap_drows * 2 : 256;
		c->drows = xrealloc(c->drows, c->cap_drows * sizeof *c->drows);
	}
	drow *d = &c->drows[c->n_drows++];
	d->line = row->line;
	d->id = xstrdup(id);
	d->sponsor = present(row, DC_SPONSOR_ID) ? xstrdup(row->val[DC_SPONSOR_ID]) : NULL;
	d->placement = present(row, DC_PLACEMENT_ID) ? xstrdup(row->val[DC_PLACEMENT_ID]) : NULL;
	return 0;
}

/* Sponsor of id as now booked: 1 with *out (malloc'ed, NULL for a root), 0 unknown id, -1 error. */
static int sponsor_of(ictx *c, const char *id, char **out)
{
	sqlite3_reset(c->get_sponsor);
	sqlite3_bind_text(c->get_sponsor, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->get_sponsor);
	*out = NULL;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sql_fail(c, "reading a sponsor");
	if (sqlite3_column_type(c->get_sponsor, 0) != SQLITE_NULL)
		*out = xstrdup((const char *)sqlite3_column_text(c->get_sponsor, 0));
	return 1;
}

/*
 * After the last row: every sponsor and placement must exist, and the
 * sponsor tree must stay a tree. Each walk goes up from a row of this file
 * and stops at a root or at a distributor already proven to reach a root,
 * so the whole check is linear in the distributors visited.
 */
static int finish_distributors(ictx *c)
{
	for (size_t i = 0; i < c->n_drows; i++) {
		drow *d = &c->drows[i];
		const char *refs[2] = {d->sponsor, d->placement};
		const char *what[2] = {"sponsor_id", "placement_id"};
		for (int k = 0; k < 2; k++) {
			if (!refs[k])
				continue;
			char *tmp;
			int rc = sponsor_of(c, refs[k], &tmp);
			free(tmp);
			if (rc < 0)
				return -1;
			if (rc == 0)
				line_error(c, d->line, "%s \"%s\" is not a known distributor (not in the ledger nor in this file)",
					   what[k], refs[k]);
		}
	}
	strmap *state = strmap_new(); /* 1: on the current walk, 2: reaches a root */
	char **path = NULL;
	size_t npath = 0, cappath = 0;
	int rc = 0;
	for (size_t i = 0; i < c->n_drows && rc == 0; i++) {
		char *cur = xstrdup(c->drows[i].id);
		npath = 0;
		while (cur) {
			int created;
			int64_t *s = strmap_put(state, cur, strlen(cur), &created);
			if (!created && *s == 2) {
				free(cur);
				break;
			}
			if (!created && *s == 1) {
				/* back on the walk: a cycle from cur around to cur */
				char msg[600];
				size_t o = 0, start = 0;
				while (start < npath && strcmp(path[start], cur) != 0)
					start++;
				for (size_t k = start; k < npath && o < 500; k++)
					o += (size_t)snprintf(msg + o, sizeof msg - o, "%s -> ", path[k]);
				snprintf(msg + o, sizeof msg - o, "%s", cur);
				line_error(c, c->drows[i].line, "sponsor cycle: %s", msg);
				free(cur);
				break;
			}
			*s = 1;
			if (npath == cappath) {
				cappath = cappath ? cappath * 2 : 64;
				path = xrealloc(path, cappath * sizeof *path);
			}
			path[npath++] = cur;
			char *next;
			if (sponsor_of(c, cur, &next) < 0) {
				rc = -1;
				break;
			}
			cur = next;
		}
		for (size_t k = 0; k < npath; k++) {
			*strmap_put(state, path[k], strlen(path[k]), NULL) = 2;
			free(path[k]);
		}
	}
	free(path);
	strmap_free(state);
	if (rc < 0 || pd_diag_count(&c->res->errors) > 0)
		return rc;

	/* sales that waited for these distributors are attributed now; one whose
	 * period has closed meanwhile is booked late into the earliest open one */
	sqlite3_stmt *any, *attr;
	if (ledger_prepare(c->l, "SELECT EXISTS(SELECT 1 FROM sales WHERE flags & 1 = 0)", &any, c->err) < 0)
		return -1;
	int waiting = sqlite3_step(any) == SQLITE_ROW && sqlite3_column_int(any, 0);
	sqlite3_finalize(any);
	if (!waiting)
		return 0;
	if (ledger_prepare(c->l,
		/* flags: see ledger.h; a refund whose period closed meanwhile becomes a clawback */
		"UPDATE sales SET booked_period = CASE WHEN ?2 IS NOT NULL AND booked_period < ?2 THEN ?2 ELSE booked_period END,"
		" flags = flags | 1 | CASE WHEN ?2 IS NOT NULL AND booked_period < ?2"
		"   THEN (CASE WHEN refund_of IS NULL THEN 2 ELSE 4 END) ELSE 0 END"
		" WHERE distributor_id = ?1 AND flags & 1 = 0", &attr, c->err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_drows; i++) {
		sqlite3_reset(attr);
		sqlite3_bind_text(attr, 1, c->drows[i].id, -1, SQLITE_STATIC);
		if (c->eo == LEDGER_NO_CLOSE)
			sqlite3_bind_null(attr, 2);
		else
			sqlite3_bind_int(attr, 2, c->eo);
		if (sqlite3_step(attr) != SQLITE_DONE) {
			sqlite3_finalize(attr);
			return sql_fail(c, "attributing waiting sales");
		}
		c->res->st.attributed += sqlite3_changes(c->db);
	}
	sqlite3_finalize(attr);
	return 0;
}

/* ---- products ---------------------------------------------------------- */

static int on_product_row(void *ctx, const csvin_row *row, pd_err *err)
{
	ictx *c = ctx;
	(void)err;
	size_t before = pd_diag_count(&c->res->errors);
	int64_t pv = 0, cv = 0;
	check_text_id(c, row, PC_SKU, 1);
	if (!present(row, PC_NAME))
		row_error(c, row, PC_NAME, "required value is empty");
	if (!present(row, PC_PV))
		row_error(c, row, PC_PV, "required value is empty");
	else
		parse_money_col(c, row, PC_PV, 0, &pv);
	if (!present(row, PC_CV))
		row_error(c, row, PC_CV, "required value is empty");
	else
		parse_money_col(c, row, PC_CV, 0, &cv);
	if (pd_diag_count(&c->res->errors) > before)
		return 0;
	sqlite3_stmt *st = c->upsert_product;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, row->val[PC_SKU], (int)row->len[PC_SKU], SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->val[PC_NAME], (int)row->len[PC_NAME], SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, pv);
	sqlite3_bind_int64(st, 4, cv);
	bind_col(st, 5, row, PC_CATEGORY);
	sqlite3_bind_int64(st, 6, c->file_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return sql_fail(c, "booking a product");
	c->res->st.products++;
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

static void finalize_all(ictx *c)
{
	sqlite3_stmt *sts[] = {c->ins_sale, c->get_sale, c->sum_refunds, c->dist_known, c->upsert_dist,
			       c->get_status, c->ins_status, c->get_sponsor, c->upsert_product};
	for (size_t i = 0; i < sizeof sts / sizeof *sts; i++)
		if (sts[i])
			sqlite3_finalize(sts[i]);
	strmap_free(c->catalog);
	strmap_free(c->known);
	for (size_t i = 0; i < c->n_products; i++)
		free(c->products[i].category);
	free(c->products);
	for (size_t i = 0; i < c->n_drows; i++) {
		free(c->drows[i].id);
		free(c->drows[i].sponsor);
		free(c->drows[i].placement);
	}
	free(c->drows);
}

/* 1 when a file with this SHA-256 is booked; fills who/when for the message */
static int find_duplicate(ictx *c, char *who, size_t cap)
{
	sqlite3_stmt *st;
	if (ledger_prepare(c->l, "SELECT name, booked_at FROM files WHERE sha256 = ?", &st, c->err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, c->res->sha256, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		snprintf(who, cap, "duplicate of %s booked at %s", (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = sql_fail(c, "looking for a duplicate file");
	}
	sqlite3_finalize(st);
	return found;
}

static int record_file(ictx *c, const char *claim, const char *archive_dir)
{
	sqlite3_stmt *st;
	char now[32];
	audit_now(now);
	if (ledger_prepare(c->l,
		"INSERT INTO files(id, name, claim, kind, size, sha256, booked_at, archive_dir, rows, sales,"
		" distributors, products, late, unattributed, duplicates, refunds, clawbacks, attributed)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st, c->err) < 0)
		return -1;
	const ingest_stats *s = &c->res->st;
	sqlite3_bind_int64(st, 1, c->file_id);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, claim, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, csvin_kind_name(c->in->fmt.kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)c->res->size);
	sqlite3_bind_text(st, 6, c->res->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, archive_dir, -1, SQLITE_STATIC);
	long v[] = {s->rows, s->sales, s->distributors, s->products, s->late, s->unattributed,
		    s->duplicates, s->refunds, s->clawbacks, s->attributed};
	for (int i = 0; i < 10; i++)
		sqlite3_bind_int64(st, 9 + i, v[i]);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_fail(c, "recording the file");

	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(c->name));
	json_object_set_new(m, "kind", json_string(csvin_kind_name(c->in->fmt.kind)));
	json_object_set_new(m, "sha256", json_string(c->res->sha256));
	json_object_set_new(m, "size", json_integer((json_int_t)c->res->size));
	json_object_set_new(m, "rows", json_integer(s->rows));
	json_object_set_new(m, "sales", json_integer(s->sales));
	json_object_set_new(m, "distributors", json_integer(s->distributors));
	json_object_set_new(m, "products", json_integer(s->products));
	json_object_set_new(m, "late", json_integer(s->late));
	json_object_set_new(m, "unattributed", json_integer(s->unattributed));
	json_object_set_new(m, "duplicates", json_integer(s->duplicates));
	json_object_set_new(m, "refunds", json_integer(s->refunds));
	json_object_set_new(m, "clawbacks", json_integer(s->clawbacks));
	json_object_set_new(m, "attributed", json_integer(s->attributed));
	rc = ledger_audit_add(c->l, "file_booked", m, c->err);
	json_decref(m);
	if (rc < 0)
		c->fatal = 1;
	return rc;
}

int ingest_file(ledger *l, const plan *p, const config_input *in, int fd, const char *name,
		const char *claim, const char *archive_dir, ingest_result *res, pd_err *err)
{
	memset(res, 0, sizeof *res);
	ictx cx = {.l = l, .db = ledger_db(l), .p = p, .in = in, .name = name, .res = res, .err = err};
	ictx *c = &cx;
	if (ledger_begin(l, err) < 0)
		return INGEST_FAILED;
	int rc = INGEST_FAILED;
	sqlite3_stmt *st;
	if (ledger_earliest_open(l, &c->eo, err) < 0)
		goto out;
	if (ledger_prepare(l, "SELECT coalesce(max(id), 0) + 1 FROM files", &st, err) < 0)
		goto out;
	sqlite3_step(st);
	c->file_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	c->r = csvin_new(name, fd, &in->fmt);
	csvin_row_fn fn = NULL;
	int prep = 0;
	switch (in->fmt.kind) {
	case KIND_SALES:
		prep = prepare_sales(c);
		fn = on_sale_row;
		break;
	case KIND_DISTRIBUTORS:
		fn = on_distributor_row; /* prepares on its first row: the upsert depends on the header */
		break;
	case KIND_PRODUCTS:
		prep = ledger_prepare(l,
			"INSERT INTO products(sku, name, pv, cv, category, file_id) VALUES(?,?,?,?,?,?)"
			" ON CONFLICT(sku) DO UPDATE SET name = excluded.name, pv = excluded.pv, cv = excluded.cv,"
			" category = excluded.category, file_id = excluded.file_id", &c->upsert_product, err);
		fn = on_product_row;
		break;
	}
	if (prep < 0)
		goto out;
	int read_rc = csvin_read(c->r, fn, on_csv_error, c, err);
	csvin_sha256_hex(c->r, res->sha256);
	res->size = csvin_bytes(c->r);
	res->st.rows = csvin_rows(c->r);
	if (c->fatal)
		goto out;
	if (read_rc < 0) {
		/* a structural problem: the file is rejected with that one error */
		pd_diag_add(&res->errors, "%s", err->msg);
		snprintf(res->reason, sizeof res->reason, "%s", err->msg);
		rc = INGEST_REJECTED;
		goto out;
	}
	if (in->fmt.kind == KIND_DISTRIBUTORS && pd_diag_count(&res->errors) == 0 &&
	    finish_distributors(c) < 0)
		goto out;
	char dup[600];
	int d = find_duplicate(c, dup, sizeof dup);
	if (d < 0)
		goto out;
	if (d) {
		snprintf(res->reason, sizeof res->reason, "%s", dup);
		pd_diag_free(&res->errors);
		pd_diag_add(&res->errors, "%s: %s", name, dup);
		rc = INGEST_REJECTED;
		goto out;
	}
	size_t nerr = pd_diag_count(&res->errors);
	if (nerr) {
		snprintf(res->reason, sizeof res->reason, "%zu bad row%s; first: %s", nerr, nerr == 1 ? "" : "s",
			 res->errors.msgs[0]);
		rc = INGEST_REJECTED;
		goto out;
	}
	if (record_file(c, claim, archive_dir) < 0)
		goto out;
	finalize_all(c);
	csvin_free(c->r);
	if (ledger_commit(l, err) < 0) {
		ledger_rollback(l);
		return INGEST_FAILED;
	}
	return INGEST_BOOKED;
out:
	finalize_all(c);
	csvin_free(c->r);
	ledger_rollback(l);
	return rc;
}

void ingest_result_free(ingest_result *res)
{
	pd_diag_free(&res->errors);
}
