/*
 * ingest_sales.c - booking a sales file with both cores.
 *
 * A reader thread does everything that needs no write access: reading,
 * hashing, decoding and splitting the CSV, parsing and checking every field,
 * the catalog and promotion lookups, and whether the distributor is known
 * (on its own read-only connection, which sees the ledger as committed
 * before this file: a sales file adds no distributors). It hands batches of
 * parsed sales to this thread through a small bounded queue; this thread
 * does what needs the open transaction: refunds (their original, what is
 * left), the insert, and duplicate sale_ids. Each thread keeps its own list
 * of row errors in line order; ingest_file merges them.
 *
 * Memory is bounded by the queue: QUEUE_BATCHES batches in flight.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idset.h"
#include "ingest_int.h"
#include "money.h"

#define DIST_CACHE_MAX 200000       /* distributor ids a small file's reader remembers */
#define PRELOAD_FILE_BYTES (8u << 20) /* from this size on, all ids are loaded up front */
#define BATCH_ROWS 4096
#define BATCH_TEXT (BATCH_ROWS * 64)
#define ROW_TEXT_MAX (3 * INGEST_MAX_ID + 64 + 8)
#define QUEUE_BATCHES 4

/* One parsed, checked sale; strings live in its batch's text arena. */
typedef struct psale {
	long line;
	const char *sale_id, *dist, *refund_of, *amount_text, *promo;
	int32_t day, booked;
	int flags;              /* SALE_* known so far (attributed, late, to_distributor) */
	int refund;
	int64_t amount, pv, cv;  /* pv/cv before any multiplier */
	int64_t pv_mult, cv_mult, pv_eff, cv_eff, content;
} psale;

typedef struct batch {
	struct batch *next;
	size_t n, used;
	psale rows[BATCH_ROWS];
	char text[BATCH_TEXT];
} batch;

typedef struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	batch *head, *tail, *free;
	size_t depth;
	int done, abort;
} queue;

typedef struct reader {
	ictx c;                  /* a copy of the writer's context with its own errs, err, db */
	pd_err err;
	queue *q;
	batch *cur;
	strmap *catalog;         /* shared read-only: sku -> index into products */
	const product *products;
	strmap *known;           /* small files: distributor id -> 1 known / 2 unknown */
	idset *all;              /* big files: every distributor id in the ledger */
	sqlite3_stmt *dist_known;
	int read_rc;
} reader;

/* ---- the queue ------------------------------------------------------------ */

static batch *queue_get_free(queue *q)
{
	pthread_mutex_lock(&q->mu);
	batch *b = q->free;
	if (b)
		q->free = b->next;
	pthread_mutex_unlock(&q->mu);
	if (!b)
		b = xmalloc(sizeof *b);
	b->next = NULL;
	b->n = b->used = 0;
	return b;
}

/* Reader: hands a full batch over, waiting while the writer is behind. */
static int queue_push(queue *q, batch *b)
{
	pthread_mutex_lock(&q->mu);
	while (q->depth >= QUEUE_BATCHES && !q->abort)
		pthread_cond_wait(&q->cv, &q->mu);
	int aborted = q->abort;
	if (!aborted) {
		if (q->tail)
			q->tail->next = b;
		else
			q->head = b;
		q->tail = b;
		q->depth++;
	} else {
		b->next = q->free;
		q->free = b;
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return aborted ? -1 : 0;
}

/* Writer: the next batch, or NULL when the reader is done. */
static batch *queue_pop(queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (!q->head && !q->done)
		pthread_cond_wait(&q->cv, &q->mu);
	batch *b = q->head;
	if (b) {
		q->head = b->next;
		if (!q->head)
			q->tail = NULL;
		q->depth--;
		pthread_cond_broadcast(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return b;
}

static void queue_recycle(queue *q, batch *b)
{
	pthread_mutex_lock(&q->mu);
	b->next = q->free;
	q->free = b;
	pthread_mutex_unlock(&q->mu);
}

/* ---- the reader ------------------------------------------------------------- */

static int load_catalog(ictx *c, strmap **catalog, product **products, size_t *n)
{
	sqlite3_stmt *st;
	if (ledger_prepare(c->l, "SELECT sku, pv, cv, category FROM products", &st, c->err) < 0)
		return -1;
	*catalog = strmap_new();
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*products = xrealloc(*products, cap * sizeof **products);
		}
		product *pr = &(*products)[*n];
		pr->pv = sqlite3_column_int64(st, 1);
		pr->cv = sqlite3_column_int64(st, 2);
		pr->category = sqlite3_column_type(st, 3) == SQLITE_NULL ? NULL
			: xstrdup((const char *)sqlite3_column_text(st, 3));
		*strmap_put(*catalog, (const char *)sqlite3_column_text(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0), NULL) = (int64_t)*n;
		(*n)++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : ingest_sql_fail(c, "reading the product catalog");
}

/*
 * Whether a distributor is known. A big file asks this millions of times
 * about up to millions of ids, so it loads every id into a compact set once
 * (~20 MB per million); a small file asks the ledger and remembers answers.
 */
static int load_all_ids(reader *rd)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(rd->c.db, "SELECT id FROM distributors", -1, &st, NULL) != SQLITE_OK)
		return ingest_sql_fail(&rd->c, "reading distributor ids");
	rd->all = idset_new();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		idset_add(rd->all, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : ingest_sql_fail(&rd->c, "reading distributor ids");
}

static int distributor_known(reader *rd, const char *id, size_t len)
{
	if (rd->all)
		return idset_has(rd->all, id, len);
	int64_t *v = strmap_get(rd->known, id, len);
	if (v)
		return *v == 1;
	sqlite3_reset(rd->dist_known);
	sqlite3_bind_text(rd->dist_known, 1, id, (int)len, SQLITE_STATIC);
	int rc = sqlite3_step(rd->dist_known);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return ingest_sql_fail(&rd->c, "looking up a distributor");
	if (strmap_count(rd->known) >= DIST_CACHE_MAX) /* bounded memory */
		strmap_clear(rd->known);
	*strmap_put(rd->known, id, len, NULL) = rc == SQLITE_ROW ? 1 : 2;
	return rc == SQLITE_ROW;
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

static uint64_t fp_field(uint64_t h, int present, const void *p, size_t n)
{
	unsigned char tag = present ? 1 : 0;
	uint64_t len = n;
	h = fp_bytes(h, &tag, 1);
	if (present) {
		h = fp_bytes(h, &len, sizeof len);
		h = fp_bytes(h, p, n);
	}
	return h;
}

typedef struct raw_sale {
	const char *dist, *sku, *refund_of;
	int32_t day;
	int64_t amount, quantity, given_pv, given_cv;
	int has_pv, has_cv, to_distributor;
} raw_sale;

static int64_t sale_fingerprint(const raw_sale *s)
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

/* Volume of a sale before promotion (SPEC 11.12): given, else catalog unit
 * value x quantity (negated for a refund), else the amount. -1 on overflow. */
static int derive_volume(int has, int64_t given, const product *pr, int64_t unit, const raw_sale *s,
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

static const char *arena_copy(batch *b, const char *s, size_t len)
{
	char *p = b->text + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

/* Reader: parse and check one row; a good one is appended to the batch. */
static int reader_row(void *ctx, const csvin_row *row, pd_err *unused)
{
	reader *rd = ctx;
	ictx *c = &rd->c;
	(void)unused;
	size_t errs_before = ingest_error_count(c);
	raw_sale s;
	memset(&s, 0, sizeof s);
	const char *why;

	ingest_check_text_id(c, row, SC_SALE_ID, 1);
	ingest_check_dist_id(c, row, SC_DISTRIBUTOR_ID, 1);
	ingest_parse_date_col(c, row, SC_DATE, &s.day);
	if (!ingest_present(row, SC_AMOUNT))
		ingest_row_error(c, row, SC_AMOUNT, "required value is empty");
	else
		ingest_parse_money_col(c, row, SC_AMOUNT, 1, &s.amount);
	if (ingest_present(row, SC_CURRENCY) && strcmp(row->val[SC_CURRENCY], c->p->currency) != 0)
		ingest_row_error(c, row, SC_CURRENCY, "the plan's currency is %s; other currencies are not accepted",
				 c->p->currency);
	if (ingest_present(row, SC_SKU))
		ingest_check_text_id(c, row, SC_SKU, 0);
	s.quantity = 1;
	if (ingest_present(row, SC_QUANTITY) &&
	    (money_parse(row->val[SC_QUANTITY], row->len[SC_QUANTITY], '.', 0, 0, false, &s.quantity, &why) < 0 ||
	     s.quantity < 1 || s.quantity > 1000000))
		ingest_row_error(c, row, SC_QUANTITY, "expected a whole number from 1 to 1000000");
	if (ingest_present(row, SC_PV) && ingest_parse_money_col(c, row, SC_PV, 1, &s.given_pv) == 0)
		s.has_pv = 1;
	if (ingest_present(row, SC_CV) && ingest_parse_money_col(c, row, SC_CV, 1, &s.given_cv) == 0)
		s.has_cv = 1;
	if (ingest_present(row, SC_REFUND_OF))
		ingest_check_text_id(c, row, SC_REFUND_OF, 0);
	if (ingest_present(row, SC_CUSTOMER_TYPE)) {
		if (strcmp(row->val[SC_CUSTOMER_TYPE], "distributor") == 0)
			s.to_distributor = 1;
		else if (strcmp(row->val[SC_CUSTOMER_TYPE], "retail") != 0)
			ingest_row_error(c, row, SC_CUSTOMER_TYPE, "expected retail or distributor");
	}
	if (ingest_error_count(c) > errs_before)
		return 0;

	s.dist = row->val[SC_DISTRIBUTOR_ID];
	s.sku = ingest_present(row, SC_SKU) ? row->val[SC_SKU] : NULL;
	s.refund_of = ingest_present(row, SC_REFUND_OF) ? row->val[SC_REFUND_OF] : NULL;
	int refund = s.amount < 0;
	if (refund && !s.refund_of) {
		ingest_row_error(c, row, SC_AMOUNT, "a negative amount is a refund and needs refund_of (the refunded sale_id)");
		return 0;
	}
	if (!refund && s.refund_of) {
		ingest_row_error(c, row, SC_REFUND_OF, "refund_of is set but the amount is not negative");
		return 0;
	}
	if (!refund && ((s.has_pv && s.given_pv < 0) || (s.has_cv && s.given_cv < 0))) {
		ingest_row_error(c, row, s.has_pv && s.given_pv < 0 ? SC_PV : SC_CV, "a sale's volume cannot be negative");
		return 0;
	}
	if (refund && ((s.has_pv && s.given_pv > 0) || (s.has_cv && s.given_cv > 0))) {
		ingest_row_error(c, row, s.has_pv && s.given_pv > 0 ? SC_PV : SC_CV, "a refund's volume must not be positive");
		return 0;
	}
	if (s.refund_of && strcmp(s.refund_of, row->val[SC_SALE_ID]) == 0) {
		ingest_row_error(c, row, SC_REFUND_OF, "a sale cannot refund itself");
		return 0;
	}

	psale ps;
	memset(&ps, 0, sizeof ps);
	ps.line = row->line;
	ps.day = s.day;
	ps.amount = s.amount;
	ps.refund = refund;
	ps.content = sale_fingerprint(&s);
	ps.pv_mult = ps.cv_mult = RATE_SCALE;
	const product *pr = NULL;
	if (s.sku) {
		int64_t *idx = strmap_get(rd->catalog, s.sku, row->len[SC_SKU]);
		pr = idx ? &rd->products[*idx] : NULL;
	}
	if (derive_volume(s.has_pv, s.given_pv, pr, pr ? pr->pv : 0, &s, &ps.pv) < 0 ||
	    derive_volume(s.has_cv, s.given_cv, pr, pr ? pr->cv : 0, &s, &ps.cv) < 0) {
		ingest_row_error(c, row, SC_QUANTITY, "catalog volume times quantity is too large");
		return 0;
	}
	if (!refund) {
		/* at most one promotion, by the sale's own date (also for a late sale) */
		const plan_promotion *pm = plan_promotion_for(c->p, s.day, s.sku, pr ? pr->category : NULL);
		if (pm) {
			ps.promo = pm->id;
			ps.pv_mult = pm->pv_mult;
			ps.cv_mult = pm->cv_mult;
		}
		if (money_apply_rate(ps.pv, ps.pv_mult, &ps.pv_eff) < 0 ||
		    money_apply_rate(ps.cv, ps.cv_mult, &ps.cv_eff) < 0) {
			ingest_row_error(c, row, SC_AMOUNT, "volume overflow after the promotion multiplier");
			return 0;
		}
		int32_t period = period_of_day(c->p->period, s.day);
		if (c->eo != LEDGER_NO_CLOSE && period < c->eo) {
			ps.booked = c->eo;
			ps.flags |= SALE_LATE;
		} else {
			ps.booked = period;
		}
	}
	int known = distributor_known(rd, s.dist, row->len[SC_DISTRIBUTOR_ID]);
	if (known < 0)
		return -1;
	if (known)
		ps.flags |= SALE_ATTRIBUTED;
	if (s.to_distributor)
		ps.flags |= SALE_TO_DISTRIBUTOR;
	/* A plain sale is booked as it is here unless the writer finds its
	 * sale_id booked already (it then takes the volume back), so its volume
	 * is counted on this thread, which has time to spare; refunds, which the
	 * writer books against their original, are counted there. */
	if (!refund && (ps.flags & SALE_ATTRIBUTED) &&
	    ingest_count_volume(c, row->line, SC_DISTRIBUTOR_ID, ps.booked, +1, s.dist, row->len[SC_DISTRIBUTOR_ID],
				ps.amount, ps.pv_eff, ps.cv_eff) < 0)
		return c->fatal ? -1 : 0;

	if (rd->cur->n == BATCH_ROWS || rd->cur->used + ROW_TEXT_MAX > BATCH_TEXT) {
		if (queue_push(rd->q, rd->cur) < 0)
			return -1; /* the writer gave up */
		rd->cur = queue_get_free(rd->q);
	}
	batch *b = rd->cur;
	ps.sale_id = arena_copy(b, row->val[SC_SALE_ID], row->len[SC_SALE_ID]);
	ps.dist = arena_copy(b, s.dist, row->len[SC_DISTRIBUTOR_ID]);
	ps.refund_of = s.refund_of ? arena_copy(b, s.refund_of, row->len[SC_REFUND_OF]) : NULL;
	ps.amount_text = arena_copy(b, row->val[SC_AMOUNT], row->len[SC_AMOUNT] > 60 ? 60 : row->len[SC_AMOUNT]);
	b->rows[b->n++] = ps;
	return 0;
}

static void *reader_main(void *arg)
{
	reader *rd = arg;
	rd->cur = queue_get_free(rd->q);
	if (rd->c.file_size >= PRELOAD_FILE_BYTES && load_all_ids(rd) < 0)
		rd->read_rc = -1;
	else
		rd->read_rc = csvin_read(rd->c.r, reader_row, ingest_on_csv_error, &rd->c, &rd->err);
	if (rd->cur->n)
		queue_push(rd->q, rd->cur);
	else
		queue_recycle(rd->q, rd->cur);
	rd->cur = NULL;
	pthread_mutex_lock(&rd->q->mu);
	rd->q->done = 1;
	pthread_cond_broadcast(&rd->q->cv);
	pthread_mutex_unlock(&rd->q->mu);
	return NULL;
}

/* ---- the writer ------------------------------------------------------------- */

typedef struct writer {
	sqlite3_stmt *ins, *get, *sum_refunds;
} writer;

/* get columns */
enum { GS_DIST, GS_AMOUNT, GS_BOOKED, GS_FLAGS, GS_REFUND_OF, GS_PROMO, GS_PV_MULT, GS_CV_MULT,
       GS_CONTENT, GS_FILE, GS_LINE };

/* Looks up a booked sale; 1 found (row in w->get), 0 not, -1 error. */
static int fetch_sale(ictx *c, writer *w, const char *id)
{
	sqlite3_reset(w->get);
	sqlite3_bind_text(w->get, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(w->get);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ingest_sql_fail(c, "looking up a sale");
}

/* w->get holds a booked sale with s's sale_id: the same content is a duplicate, else an error */
static void same_id_again(ictx *c, writer *w, const psale *s)
{
	if (sqlite3_column_int64(w->get, GS_CONTENT) == s->content)
		c->res->st.duplicates++;
	else
		ingest_value_error(c, s->line, SC_SALE_ID, s->sale_id,
				   "this sale_id is already booked (file %" PRId64 ", line %" PRId64 ") with different content",
				   (int64_t)sqlite3_column_int64(w->get, GS_FILE), (int64_t)sqlite3_column_int64(w->get, GS_LINE));
}

/* Refund checks against the ledger (SPEC 4.2, 11.11); 1 = book it, 0 = not (error or duplicate). */
static int prepare_refund(ictx *c, writer *w, psale *s, char *promo, size_t promo_cap)
{
	int fr = fetch_sale(c, w, s->sale_id);
	if (fr < 0)
		return -1;
	if (fr) { /* a re-sent refund is a duplicate, not a second refund */
		same_id_again(c, w, s);
		return 0;
	}
	if ((fr = fetch_sale(c, w, s->refund_of)) < 0)
		return -1;
	if (!fr) {
		ingest_value_error(c, s->line, SC_REFUND_OF, s->refund_of, "no sale with this sale_id is booked");
		return 0;
	}
	sqlite3_stmt *g = w->get;
	if (sqlite3_column_type(g, GS_REFUND_OF) != SQLITE_NULL) {
		ingest_value_error(c, s->line, SC_REFUND_OF, s->refund_of,
				   "that sale is itself a refund; a refund of a refund is not allowed");
		return 0;
	}
	if (strcmp((const char *)sqlite3_column_text(g, GS_DIST), s->dist) != 0) {
		ingest_value_error(c, s->line, SC_DISTRIBUTOR_ID, s->dist, "the refunded sale belongs to distributor %s",
				   (const char *)sqlite3_column_text(g, GS_DIST));
		return 0;
	}
	int64_t orig_amount = sqlite3_column_int64(g, GS_AMOUNT);
	int32_t orig_booked = sqlite3_column_int(g, GS_BOOKED);
	int orig_attributed = sqlite3_column_int(g, GS_FLAGS) & SALE_ATTRIBUTED;
	if (sqlite3_column_type(g, GS_PROMO) != SQLITE_NULL) {
		snprintf(promo, promo_cap, "%s", (const char *)sqlite3_column_text(g, GS_PROMO));
		s->promo = promo;
		s->pv_mult = sqlite3_column_int64(g, GS_PV_MULT);
		s->cv_mult = sqlite3_column_int64(g, GS_CV_MULT);
	}
	sqlite3_reset(w->sum_refunds);
	sqlite3_bind_text(w->sum_refunds, 1, s->refund_of, -1, SQLITE_STATIC);
	if (sqlite3_step(w->sum_refunds) != SQLITE_ROW)
		return ingest_sql_fail(c, "summing refunds");
	int64_t left = orig_amount + sqlite3_column_int64(w->sum_refunds, 0); /* refunds are <= 0 */
	if (s->amount < -left) { /* not -s->amount > left: -INT64_MIN overflows */
		char l1[32], l2[32];
		money_format(left, 2, l1);
		money_format(s->amount, 2, l2); /* "-12.34": its magnitude is l2 + 1 */
		ingest_value_error(c, s->line, SC_AMOUNT, s->amount_text,
				   "refund of %s exceeds what is left of sale %s (%s)", l2 + 1, s->refund_of, l1);
		return 0;
	}
	/* a refund goes with its original's booked period while that is open;
	 * once it is closed its volumes stay and a clawback is booked instead.
	 * An original still waiting for its distributor was never counted, so
	 * its refund simply goes with it. */
	if (c->eo == LEDGER_NO_CLOSE || orig_booked >= c->eo || !orig_attributed) {
		s->booked = orig_booked;
	} else {
		s->booked = c->eo;
		s->flags |= SALE_CLAWBACK;
	}
	if (money_apply_rate(s->pv, s->pv_mult, &s->pv_eff) < 0 || money_apply_rate(s->cv, s->cv_mult, &s->cv_eff) < 0) {
		ingest_value_error(c, s->line, SC_AMOUNT, s->amount_text, "volume overflow after the promotion multiplier");
		return 0;
	}
	return 1;
}

static int book_sale(ictx *c, writer *w, psale *s)
{
	char promo[256];
	if (s->refund) {
		int ok = prepare_refund(c, w, s, promo, sizeof promo);
		if (ok <= 0)
			return ok;
	}
	sqlite3_stmt *st = w->ins;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, s->sale_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->dist, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s->day);
	sqlite3_bind_int64(st, 4, s->amount);
	sqlite3_bind_int64(st, 5, s->pv_eff);
	sqlite3_bind_int64(st, 6, s->cv_eff);
	sqlite3_bind_int(st, 7, s->booked);
	sqlite3_bind_int(st, 8, s->flags);
	if (s->refund_of)
		sqlite3_bind_text(st, 9, s->refund_of, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	if (s->promo) {
		sqlite3_bind_text(st, 10, s->promo, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 11, s->pv_mult);
		sqlite3_bind_int64(st, 12, s->cv_mult);
	} else {
		sqlite3_bind_null(st, 10);
		sqlite3_bind_null(st, 11);
		sqlite3_bind_null(st, 12);
	}
	sqlite3_bind_int64(st, 13, s->content);
	sqlite3_bind_int64(st, 14, c->file_id);
	sqlite3_bind_int64(st, 15, s->line);
	if (sqlite3_step(st) != SQLITE_DONE)
		return ingest_sql_fail(c, "booking a sale");
	if (sqlite3_changes(c->db) == 0) {
		int fr = fetch_sale(c, w, s->sale_id);
		if (fr <= 0)
			return fr < 0 ? -1 : ingest_sql_fail(c, "re-reading a sale");
		same_id_again(c, w, s);
		/* not booked: take back the volume the reader counted */
		if (!s->refund && (s->flags & SALE_ATTRIBUTED) &&
		    ingest_count_volume(c, s->line, SC_DISTRIBUTOR_ID, s->booked, -1, s->dist, strlen(s->dist), s->amount,
					s->pv_eff, s->cv_eff) < 0)
			return c->fatal ? -1 : 0;
		return 0;
	}
	if (ingest_count_stats(c, s->line, SC_AMOUNT, s->amount_text, s->booked, +1, s->amount, s->flags) < 0)
		return 0; /* a row error: the file is rejected */
	if (s->refund && (s->flags & SALE_ATTRIBUTED) && !(s->flags & SALE_CLAWBACK) &&
	    ingest_count_volume(c, s->line, SC_DISTRIBUTOR_ID, s->booked, +1, s->dist, strlen(s->dist), s->amount,
				s->pv_eff, s->cv_eff) < 0)
		return c->fatal ? -1 : 0; /* else a row error: the file is rejected */
	ingest_stats *st_ = &c->res->st;
	st_->sales++;
	st_->late += (s->flags & SALE_LATE) != 0;
	st_->unattributed += !(s->flags & SALE_ATTRIBUTED);
	st_->refunds += s->refund;
	st_->clawbacks += (s->flags & SALE_CLAWBACK) != 0;
	return 0;
}

int ingest_sales(ictx *c, pd_err *err)
{
	queue q;
	memset(&q, 0, sizeof q);
	pthread_mutex_init(&q.mu, NULL);
	pthread_cond_init(&q.cv, NULL);
	writer w = {0};
	reader *rd = xcalloc(1, sizeof *rd);
	product *products = NULL;
	size_t n_products = 0;
	sqlite3 *rdb = NULL;
	int rc = 0;

	if (load_catalog(c, &rd->catalog, &products, &n_products) < 0 ||
	    ledger_prepare(c->l,
		"INSERT INTO sales(sale_id, distributor_id, day, amount, pv, cv, booked_period, flags,"
		" refund_of, promo, pv_mult, cv_mult, content, file_id, line)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(sale_id) DO NOTHING", &w.ins, err) < 0 ||
	    ledger_prepare(c->l,
		"SELECT distributor_id, amount, booked_period, flags, refund_of, promo, pv_mult, cv_mult,"
		" content, file_id, line FROM sales WHERE sale_id = ?", &w.get, err) < 0 ||
	    ledger_prepare(c->l, "SELECT coalesce(sum(amount), 0) FROM sales WHERE refund_of = ?",
			   &w.sum_refunds, err) < 0 ||
	    ledger_open_reader(c->l, &rdb, err) < 0) {
		c->fatal = 1;
		goto out;
	}
	rd->c = *c;
	rd->c.db = rdb;
	/* the reader counts into its own table, merged after it ends */
	rd->c.vindex = NULL;
	rd->c.vols = NULL;
	rd->c.vkeys = NULL;
	rd->c.n_vols = rd->c.cap_vols = rd->c.vkeys_used = rd->c.vkeys_cap = 0;
	rd->c.errs = c->sales; /* the reader's own error list */
	rd->c.err = &rd->err;
	rd->c.fatal = 0;
	rd->q = &q;
	rd->products = products;
	rd->known = strmap_new();
	if (sqlite3_prepare_v3(rdb, "SELECT 1 FROM distributors WHERE id = ?", -1, SQLITE_PREPARE_PERSISTENT,
			       &rd->dist_known, NULL) != SQLITE_OK) {
		pd_errf(err, "ledger: %s", sqlite3_errmsg(rdb));
		c->fatal = 1;
		goto out;
	}
	pthread_t tid;
	if (pthread_create(&tid, NULL, reader_main, rd) != 0) {
		pd_errf(err, "cannot start the reader thread");
		c->fatal = 1;
		goto out;
	}
	batch *b;
	while ((b = queue_pop(&q))) {
		for (size_t i = 0; i < b->n && !c->fatal; i++)
			book_sale(c, &w, &b->rows[i]);
		queue_recycle(&q, b);
		if (c->fatal) {
			/* stop the reader: it drops what it still has */
			pthread_mutex_lock(&q.mu);
			q.abort = 1;
			pthread_cond_broadcast(&q.cv);
			pthread_mutex_unlock(&q.mu);
		}
	}
	pthread_join(tid, NULL);
	if (rd->c.fatal) {
		c->fatal = 1;
		pd_errf(err, "%s", rd->err.msg);
	} else if (rd->read_rc < 0) {
		pd_errf(err, "%s", rd->err.msg);
		rc = -1;
	} else if (!c->fatal) {
		/* the writer's few deltas (refunds, duplicates) into the reader's big
		 * table, which becomes the file's: one table of a million keys at a time */
		if (ingest_merge_volumes(&rd->c, c) < 0) {
			pd_errf(err, "%s", rd->err.msg);
			rc = -1; /* a total that overflows only once both threads' counts meet */
		} else {
			ingest_take_volumes(c, &rd->c);
		}
	}
out:
	while (q.head) {
		batch *n = q.head->next;
		free(q.head);
		q.head = n;
	}
	while (q.free) {
		batch *n = q.free->next;
		free(q.free);
		q.free = n;
	}
	pthread_mutex_destroy(&q.mu);
	pthread_cond_destroy(&q.cv);
	if (w.ins)
		sqlite3_finalize(w.ins);
	if (w.get)
		sqlite3_finalize(w.get);
	if (w.sum_refunds)
		sqlite3_finalize(w.sum_refunds);
	if (rd->dist_known)
		sqlite3_finalize(rd->dist_known);
	if (rdb)
		sqlite3_close(rdb);
	ingest_free_volumes(&rd->c);
	strmap_free(rd->known);
	idset_free(rd->all);
	strmap_free(rd->catalog);
	for (size_t i = 0; i < n_products; i++)
		free(products[i].category);
	free(products);
	free(rd);
	return rc;
}
