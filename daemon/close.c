/*
 * close.c - the period close. See close.h for the publication protocol and
 * SPEC 11 for the rules; the arithmetic is all in rules/engine.c.
 */
#include "close.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crashpoint.h"
#include "dates.h"
#include "engine.h"
#include "folder.h"
#include "idset.h"
#include "fsutil.h"
#include "log.h"
#include "money.h"
#include "statement.h"

/* ---- the distributors, in ledger (id) order and in tree order ------------------- */

typedef struct dists {
	int32_t n;
	char **id, **name, **iban;   /* [n], sorted by id */
	int32_t *sponsor;            /* [n] sorted index, or -1 */
	int32_t *join;               /* [n] join_date (day number), for fast_start windows */
	int32_t *order;              /* tree position -> sorted index */
	int32_t *pos;                /* sorted index -> tree position */
	idset *index;                /* id -> sorted index (members numbered in id order) */
} dists;

/* Frees n rows of per-distributor strings (id, name, IBAN) and the arrays. */
static void free_texts(int32_t n, char **id, char **name, char **iban)
{
	for (int32_t i = 0; i < n; i++) {
		free(id[i]);
		free(name[i]);
		free(iban[i]);
	}
	free(id);
	free(name);
	free(iban);
}

static void dists_free(dists *d)
{
	free_texts(d->n, d->id, d->name, d->iban);
	free(d->sponsor);
	free(d->join);
	free(d->order);
	free(d->pos);
	idset_free(d->index);
	memset(d, 0, sizeof *d);
}

/* Sorted index of id, or -1: one hash probe (a close maps every one of
 * millions of sales to its distributor). */
static int32_t find_id(const dists *d, const char *id)
{
	if (!id)
		return -1;
	size_t k = idset_find(d->index, id, strlen(id));
	return k == SIZE_MAX ? -1 : (int32_t)k;
}

static char *col_dup(sqlite3_stmt *st, int c)
{
	return sqlite3_column_type(st, c) == SQLITE_NULL ? NULL : xstrdup((const char *)sqlite3_column_text(st, c));
}

/*
 * Loads the tree as known now (SPEC 11.19) and orders it so that every
 * sponsor comes before its recruits: breadth-first from the roots, children
 * in id order, so the order depends on the ledger's contents only.
 */
static int load_dists(ledger *l, dists *d, pd_err *err)
{
	memset(d, 0, sizeof *d);
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT count(*) FROM distributors", &st, err) < 0)
		return -1;
	sqlite3_step(st);
	int64_t count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (count >= INT32_MAX / 2)
		return pd_errf(err, "too many distributors");
	size_t n = (size_t)count;
	d->id = xcalloc(n + 1, sizeof *d->id);
	d->name = xcalloc(n + 1, sizeof *d->name);
	d->iban = xcalloc(n + 1, sizeof *d->iban);
	char **sponsor_id = xcalloc(n + 1, sizeof *sponsor_id);
	d->join = xcalloc(n + 1, sizeof *d->join);
	if (ledger_prepare(l, "SELECT id, sponsor_id, name, iban, join_date FROM distributors ORDER BY id", &st, err) < 0) {
		free(sponsor_id);
		return -1;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (size_t)d->n < n) {
		d->id[d->n] = col_dup(st, 0);
		sponsor_id[d->n] = col_dup(st, 1);
		d->name[d->n] = col_dup(st, 2);
		d->iban[d->n] = col_dup(st, 3);
		d->join[d->n] = sqlite3_column_int(st, 4);
		d->n++;
	}
	sqlite3_finalize(st);
	/* numbered in the order added, which is id order: the number is the sorted index */
	d->index = idset_new();
	for (int32_t i = 0; i < d->n; i++)
		idset_put(d->index, d->id[i], strlen(d->id[i]), NULL);
	d->sponsor = xmalloc((n + 1) * sizeof *d->sponsor);
	for (int32_t i = 0; i < d->n; i++) {
		d->sponsor[i] = find_id(d, sponsor_id[i]);
		free(sponsor_id[i]);
	}
	free(sponsor_id);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return pd_errf(err, "ledger: reading distributors: %s", sqlite3_errmsg(ledger_db(l)));

	/* children in id order (CSR), then breadth-first from the roots */
	int32_t *start = xcalloc(n + 2, sizeof *start), *kids = xmalloc((n + 1) * sizeof *kids);
	for (int32_t i = 0; i < d->n; i++)
		if (d->sponsor[i] >= 0)
			start[d->sponsor[i] + 1]++;
	for (int32_t i = 0; i < d->n; i++)
		start[i + 1] += start[i];
	int32_t *fill = xmalloc((n + 1) * sizeof *fill);
	memcpy(fill, start, (n + 1) * sizeof *fill);
	for (int32_t i = 0; i < d->n; i++)
		if (d->sponsor[i] >= 0)
			kids[fill[d->sponsor[i]]++] = i;
	free(fill);
	d->order = xmalloc((n + 1) * sizeof *d->order);
	d->pos = xmalloc((n + 1) * sizeof *d->pos);
	int32_t head = 0, tail = 0;
	for (int32_t i = 0; i < d->n; i++)
		if (d->sponsor[i] < 0)
			d->order[tail++] = i;
	while (head < tail) {
		int32_t v = d->order[head++];
		for (int32_t k = start[v]; k < start[v + 1]; k++)
			d->order[tail++] = kids[k];
	}
	free(start);
	free(kids);
	if (tail != d->n)
		return pd_errf(err, "the sponsor tree has a cycle (%d of %d distributors reached from the roots)", tail, d->n);
	for (int32_t k = 0; k < d->n; k++)
		d->pos[d->order[k]] = k;
	return 0;
}

/* ---- one period ------------------------------------------------------------------- */

typedef struct period_data {
	int32_t n;
	int32_t *parent;
	int64_t *pv, *cv;
	int64_t *fast_start_cv; /* NULL unless the plan has fast_start */
	/* NULL unless the plan has binary: the placement tree, the carried leg volumes */
	int32_t *place_parent;
	uint8_t *place_leg;
	int64_t *carry_left, *carry_right;
	uint8_t *terminated, *q_history, *title;
	int64_t *carried_in;
	int history;
	int64_t net_sales;
	engine_clawback *claw;
	size_t n_claw, cap_claw;
	const char **ids, **names, **ibans; /* tree order; point into dists */
} period_data;

static void period_data_free(period_data *pd)
{
	free(pd->parent);
	free(pd->pv);
	free(pd->cv);
	free(pd->fast_start_cv);
	free(pd->place_parent);
	free(pd->place_leg);
	free(pd->carry_left);
	free(pd->carry_right);
	free(pd->terminated);
	free(pd->q_history);
	free(pd->title);
	free(pd->carried_in);
	free(pd->claw);
	free(pd->ids);
	free(pd->names);
	free(pd->ibans);
	memset(pd, 0, sizeof *pd);
}

/* The index of rank id in p (*out), or -1 when p has no such rank. */
static int stored_rank(const plan *p, const char *id, int32_t *out)
{
	for (size_t r = 0; id && r < p->n_ranks; r++)
		if (strcmp(p->ranks[r].id, id) == 0) {
			*out = (int32_t)r;
			return 0;
		}
	return -1;
}

static int rank_index(const plan *p, const char *id)
{
	int32_t r;
	return stored_rank(p, id, &r) == 0 ? (int)r : 0; /* a rank the plan no longer has counts as the first */
}

static int sql_err(ledger *l, pd_err *err, const char *what)
{
	return pd_errf(err, "ledger: %s: %s", what, sqlite3_errmsg(ledger_db(l)));
}

static int cmp_claw(const void *a, const void *b)
{
	const engine_clawback *x = a, *y = b;
	if (x->recipient != y->recipient)
		return x->recipient < y->recipient ? -1 : 1;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	if (x->rate != y->rate)
		return x->rate < y->rate ? -1 : 1;
	return 0;
}

/*
 * Clawbacks booked into P (SPEC 6.7, 11.4): a refund of a sale booked into a
 * closed period Q reverses, at their original rates, the retail and unilevel
 * lines that the sale's source earned its recipients in Q; aggregated per
 * (recipient, level, source, rate), base = the refunded CV (positive).
 */
/*
 * SPEC 11.22: under an `exclusive` fast_start a sale inside its seller's
 * window paid no unilevel, so its refund claws back only its retail line.
 * What counts is the plan period Q was closed with (kept in the ledger):
 * its window length when exclusive, else 0. A few distinct Q per close: a
 * short list, each plan read once.
 */
typedef struct q_window {
	int32_t q, days;
} q_window;

static int exclusive_window(ledger *l, int32_t q, q_window **cache, size_t *n, int32_t *days, pd_err *err)
{
	for (size_t k = 0; k < *n; k++)
		if ((*cache)[k].q == q) {
			*days = (*cache)[k].days;
			return 0;
		}
	*days = 0;
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT x.text FROM periods p JOIN plans x ON x.sha256 = p.plan_sha256 WHERE p.period = ?",
			   &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, q);
	if (sqlite3_step(st) == SQLITE_ROW) {
		plan *qp = NULL;
		pd_diag diag = {0};
		if (plan_load_buf("the plan of a closed period", (const char *)sqlite3_column_blob(st, 0),
				  (size_t)sqlite3_column_bytes(st, 0), &qp, &diag) == 0 &&
		    qp->has_fast_start && qp->fast_start_exclusive)
			*days = qp->fast_start_days;
		plan_free(qp);
		pd_diag_free(&diag);
	}
	sqlite3_finalize(st);
	*cache = xrealloc(*cache, (*n + 1) * sizeof **cache);
	(*cache)[(*n)++] = (q_window){q, *days};
	return 0;
}

static int load_clawbacks(ledger *l, const dists *d, int32_t P, period_data *pd, pd_err *err)
{
	sqlite3_stmt *refunds, *orig;
	if (ledger_prepare(l,
		"SELECT r.distributor_id, r.cv, o.booked_period, o.day - d.join_date FROM sales r"
		" JOIN sales o ON o.sale_id = r.refund_of JOIN distributors d ON d.id = r.distributor_id"
		" WHERE r.refund_of IS NOT NULL AND r.booked_period = ? AND r.flags & 5 = 5", &refunds, err) < 0)
		return -1;
	q_window *windows = NULL;
	size_t n_windows = 0;
	if (ledger_prepare(l,
		"SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM period_sources s, json_each(s.paid) j"
		" WHERE s.period = ? AND s.source = ?", &orig, err) < 0) {
		sqlite3_finalize(refunds);
		return -1;
	}
	sqlite3_bind_int(refunds, 1, P);
	int rc = 0, step;
	while ((step = sqlite3_step(refunds)) == SQLITE_ROW) {
		const char *src = (const char *)sqlite3_column_text(refunds, 0);
		int64_t base = -sqlite3_column_int64(refunds, 1);
		int32_t s = find_id(d, src), days = 0;
		if (s < 0 || base <= 0)
			continue;
		if (exclusive_window(l, sqlite3_column_int(refunds, 2), &windows, &n_windows, &days, err) < 0) {
			rc = -1;
			break;
		}
		int64_t age = sqlite3_column_int64(refunds, 3);
		int retail_only = days > 0 && age >= 0 && age < days;
		sqlite3_reset(orig);
		sqlite3_bind_int(orig, 1, sqlite3_column_int(refunds, 2));
		sqlite3_bind_text(orig, 2, src, -1, SQLITE_TRANSIENT);
		while (sqlite3_step(orig) == SQLITE_ROW) {
			int32_t rcpt = find_id(d, (const char *)sqlite3_column_text(orig, 0));
			if (rcpt < 0 || (retail_only && sqlite3_column_type(orig, 1) != SQLITE_NULL))
				continue;
			if (pd->n_claw == pd->cap_claw) {
				pd->cap_claw = pd->cap_claw ? pd->cap_claw * 2 : 64;
				pd->claw = xrealloc(pd->claw, pd->cap_claw * sizeof *pd->claw);
			}
			engine_clawback *c = &pd->claw[pd->n_claw++];
			c->recipient = d->pos[rcpt];
			c->level = sqlite3_column_type(orig, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(orig, 1);
			c->source = d->pos[s];
			c->rate = sqlite3_column_int64(orig, 2);
			c->base = base;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = sql_err(l, err, "reading refunds");
	free(windows);
	sqlite3_finalize(refunds);
	sqlite3_finalize(orig);
	if (rc < 0 || pd->n_claw == 0)
		return rc;
	/* aggregate equal keys */
	qsort(pd->claw, pd->n_claw, sizeof *pd->claw, cmp_claw);
	size_t w = 0;
	for (size_t k = 0; k < pd->n_claw; k++) {
		if (w && cmp_claw(&pd->claw[w - 1], &pd->claw[k]) == 0) {
			if (money_add(pd->claw[w - 1].base, pd->claw[k].base, &pd->claw[w - 1].base) < 0)
				return pd_errf(err, "clawback overflow");
		} else {
			pd->claw[w++] = pd->claw[k];
		}
	}
	pd->n_claw = w;
	return 0;
}

/*
 * fast_start (SPEC 11.27): per distributor, the CV of the sales booked into
 * P whose date lies in its window, 0 <= date - join_date < days; a
 * same-period refund counts by its original's date (a late sale by its own).
 * Clawbacks (refunds of closed periods' sales) are not volumes of P.
 *
 * join_date is taken as known at the close (a later row may change it), so
 * this cannot be summed at booking like `volumes`: one pass over P's sales,
 * the window decided here per row (the id lookup is a hash probe), instead
 * of a join and a GROUP BY that sorted every row of the period.
 *
 * The rows come in sale_id order, their sellers at random, and each needs
 * four lookups that miss the cache (the id's hash slot, its key, the
 * seller's join date, the seller's total). One row at a time those misses
 * follow one another (7-8 s for 10M sales); a batch of rows is looked up in
 * stages with prefetches (fs_flush) so that the misses of the whole batch
 * overlap. The ids are copied out of SQLite's row (valid until the next
 * step) into keys.
 */
#define FS_BATCH 64

typedef struct fs_batch {
	int n;
	struct {
		uint64_t h;
		int64_t day, cv;
		size_t off, len;
		int32_t i;
	} row[FS_BATCH];
	char *keys; /* owned */
	size_t used, cap;
} fs_batch;

/* Adds the batch's window CV to acc (by sorted index). */
static int fs_flush(const dists *d, const plan *p, fs_batch *b, int64_t *acc, int32_t P, pd_err *err)
{
	for (int k = 0; k < b->n; k++) {
		b->row[k].h = idset_hash(b->keys + b->row[k].off, b->row[k].len);
		idset_prefetch_slot(d->index, b->row[k].h);
	}
	for (int k = 0; k < b->n; k++)
		idset_prefetch_entry(d->index, b->row[k].h);
	for (int k = 0; k < b->n; k++) {
		size_t i = idset_find_hashed(d->index, b->keys + b->row[k].off, b->row[k].len, b->row[k].h);
		b->row[k].i = i == SIZE_MAX ? -1 : (int32_t)i;
		if (i != SIZE_MAX) {
			__builtin_prefetch(&d->join[i]);
			__builtin_prefetch(&acc[i], 1);
		}
	}
	for (int k = 0; k < b->n; k++) {
		int32_t i = b->row[k].i;
		if (i < 0)
			continue;
		int64_t age = b->row[k].day - d->join[i];
		if (age < 0 || age >= p->fast_start_days)
			continue;
		if (money_add(acc[i], b->row[k].cv, &acc[i]) < 0)
			return pd_errf(err, "fast_start volume overflow in period %d", P);
	}
	b->n = 0;
	b->used = 0;
	return 0;
}

static int load_fast_start_cv(ledger *l, const plan *p, const dists *d, int32_t P, period_data *pd, pd_err *err)
{
	size_t sz = (size_t)(d->n ? d->n : 1);
	pd->fast_start_cv = xcalloc(sz, sizeof *pd->fast_start_cv);
	int64_t *acc = xcalloc(sz, sizeof *acc); /* by sorted index, moved to tree order at the end */
	fs_batch b = {.n = 0};
	sqlite3_stmt *st = NULL, *orig = NULL;
	int step, rc = -1;
	if (ledger_prepare(l, "SELECT distributor_id, day, cv, refund_of FROM sales WHERE booked_period = ? AND flags & 5 = 1",
			   &st, err) < 0 ||
	    ledger_prepare(l, "SELECT day FROM sales WHERE sale_id = ?", &orig, err) < 0)
		goto out;
	sqlite3_bind_int(st, 1, P);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t cv = sqlite3_column_int64(st, 2);
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (!cv || !id)
			continue;
		int64_t day = sqlite3_column_int64(st, 1);
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) { /* a refund: its original's date */
			sqlite3_reset(orig);
			sqlite3_bind_text(orig, 1, (const char *)sqlite3_column_text(st, 3), -1, SQLITE_TRANSIENT);
			if (sqlite3_step(orig) != SQLITE_ROW) {
				sql_err(l, err, "reading a refunded sale");
				goto out;
			}
			day = sqlite3_column_int64(orig, 0);
		}
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (b.used + len > b.cap) {
			b.cap = (b.used + len) * 2;
			b.keys = xrealloc(b.keys, b.cap);
		}
		memcpy(b.keys + b.used, id, len);
		b.row[b.n].off = b.used;
		b.row[b.n].len = len;
		b.row[b.n].day = day;
		b.row[b.n].cv = cv;
		b.used += len;
		if (++b.n == FS_BATCH && fs_flush(d, p, &b, acc, P, err) < 0)
			goto out;
	}
	if (step != SQLITE_DONE) {
		sql_err(l, err, "reading fast_start window volumes");
		goto out;
	}
	if (fs_flush(d, p, &b, acc, P, err) < 0)
		goto out;
	for (int32_t i = 0; i < d->n; i++)
		pd->fast_start_cv[d->pos[i]] = acc[i];
	rc = 0;
out:
	if (st)
		sqlite3_finalize(st);
	if (orig)
		sqlite3_finalize(orig);
	free(b.keys);
	free(acc);
	return rc;
}

/*
 * binary (SPEC 6.8, 11.24-25): the placement tree as booked (given or
 * automatic, ingest.c), in the close's tree order, and what the previous
 * period carried in each leg (period_results, ledger v5). A placement that
 * names a distributor the close does not know cannot happen (ingest refuses
 * it); it would leave a root here.
 */
static int load_binary(ledger *l, const dists *d, int32_t P, period_data *pd, pd_err *err)
{
	size_t sz = (size_t)(d->n ? d->n : 1);
	pd->place_parent = xmalloc(sz * sizeof *pd->place_parent);
	pd->place_leg = xcalloc(sz, 1);
	pd->carry_left = xcalloc(sz, sizeof *pd->carry_left);
	pd->carry_right = xcalloc(sz, sizeof *pd->carry_right);
	for (size_t k = 0; k < sz; k++)
		pd->place_parent[k] = -1;
	sqlite3_stmt *st;
	int step;
	if (ledger_prepare(l, "SELECT id, placement_id, leg FROM distributors WHERE placement_id IS NOT NULL", &st,
			   err) < 0)
		return -1;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int32_t i = find_id(d, (const char *)sqlite3_column_text(st, 0)),
			at = find_id(d, (const char *)sqlite3_column_text(st, 1));
		const char *leg = (const char *)sqlite3_column_text(st, 2);
		if (i < 0 || at < 0 || !leg)
			continue;
		pd->place_parent[d->pos[i]] = d->pos[at];
		pd->place_leg[d->pos[i]] = strcmp(leg, "right") == 0;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sql_err(l, err, "reading placements");
	if (ledger_prepare(l, "SELECT distributor_id, carry_left, carry_right FROM period_results"
			      " WHERE period = ? AND (carry_left != 0 OR carry_right != 0)", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P - 1);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int32_t i = find_id(d, (const char *)sqlite3_column_text(st, 0));
		if (i < 0)
			continue;
		pd->carry_left[d->pos[i]] = sqlite3_column_int64(st, 1);
		pd->carry_right[d->pos[i]] = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sql_err(l, err, "reading carried binary volumes");
	return 0;
}

static int load_period(ledger *l, const plan *p, const dists *d, int32_t P, period_data *pd, pd_err *err)
{
	memset(pd, 0, sizeof *pd);
	int32_t n = d->n;
	size_t sz = (size_t)(n ? n : 1);
	pd->n = n;
	pd->parent = xmalloc(sz * sizeof *pd->parent);
	pd->pv = xcalloc(sz, sizeof *pd->pv);
	pd->cv = xcalloc(sz, sizeof *pd->cv);
	pd->terminated = xcalloc(sz, 1);
	pd->title = xcalloc(sz, 1);
	pd->carried_in = xcalloc(sz, sizeof *pd->carried_in);
	pd->history = engine_max_periods(p) - 1;
	pd->q_history = xcalloc(sz * (size_t)(pd->history ? pd->history : 1), 1);
	pd->ids = xmalloc(sz * sizeof *pd->ids);
	pd->names = xmalloc(sz * sizeof *pd->names);
	pd->ibans = xmalloc(sz * sizeof *pd->ibans);
	for (int32_t k = 0; k < n; k++) {
		int32_t i = d->order[k];
		pd->parent[k] = d->sponsor[i] >= 0 ? d->pos[d->sponsor[i]] : -1;
		pd->ids[k] = d->id[i];
		pd->names[k] = d->name[i];
		pd->ibans[k] = d->iban[i];
	}
	sqlite3_stmt *st;
	int step;

	/* terminations: the last status row from a period up to P (SPEC 11.8) */
	if (ledger_prepare(l, "SELECT distributor_id, terminated FROM distributor_status WHERE from_period <= ?"
			      " ORDER BY seq", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int32_t i = find_id(d, (const char *)sqlite3_column_text(st, 0));
		if (i >= 0)
			pd->terminated[d->pos[i]] = (uint8_t)sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sql_err(l, err, "reading terminations");

	/* volumes and net sales: attributed sales booked into P, not clawbacks
	 * (SPEC 6.2, 11.3), as every booking has summed them up (ledger v3) */
	if (ledger_prepare(l, "SELECT distributor_id, pv, cv, amount FROM volumes WHERE period = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t amount = sqlite3_column_int64(st, 3);
		if (money_add(pd->net_sales, amount, &pd->net_sales) < 0) {
			sqlite3_finalize(st);
			return pd_errf(err, "net sales overflow in period %d", P);
		}
		int32_t i = find_id(d, (const char *)sqlite3_column_text(st, 0));
		if (i < 0)
			continue;
		int32_t k = d->pos[i];
		if (money_add(pd->pv[k], sqlite3_column_int64(st, 1), &pd->pv[k]) < 0 ||
		    money_add(pd->cv[k], sqlite3_column_int64(st, 2), &pd->cv[k]) < 0) {
			sqlite3_finalize(st);
			return pd_errf(err, "volume overflow in period %d", P);
		}
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return sql_err(l, err, "reading volumes");

	if (p->has_fast_start && load_fast_start_cv(l, p, d, P, pd, err) < 0)
		return -1;
	if (p->has_binary && load_binary(l, d, P, pd, err) < 0)
		return -1;

	/* rank history, titles and balances from the periods before */
	if (ledger_prepare(l, "SELECT distributor_id, qualified, title, carried_out FROM period_results WHERE period = ?",
			   &st, err) < 0)
		return -1;
	for (int k = 0; k < (pd->history > 0 ? pd->history : 1); k++) {
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, P - 1 - k);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			int32_t i = find_id(d, (const char *)sqlite3_column_text(st, 0));
			if (i < 0)
				continue;
			size_t t = (size_t)d->pos[i];
			if (k < pd->history)
				pd->q_history[t * (size_t)pd->history + (size_t)k] =
					(uint8_t)rank_index(p, (const char *)sqlite3_column_text(st, 1));
			if (k == 0) {
				pd->title[t] = (uint8_t)rank_index(p, (const char *)sqlite3_column_text(st, 2));
				pd->carried_in[t] = sqlite3_column_int64(st, 3);
			}
		}
		if (step != SQLITE_DONE) {
			sqlite3_finalize(st);
			return sql_err(l, err, "reading earlier results");
		}
	}
	sqlite3_finalize(st);
	return load_clawbacks(l, d, P, pd, err);
}

/* ---- recording a period -------------------------------------------------------------- */

static double seconds(void);


/* ---- the packed JSON of period_results.lines and period_sources.paid -------------------- */

/* A growing byte buffer; the caller owns b (free it). */
typedef struct jbuf {
	char *b;
	size_t n, cap;
} jbuf;

static void jb_reserve(jbuf *j, size_t more)
{
	if (j->n + more <= j->cap)
		return;
	size_t cap = j->cap ? j->cap : 1024;
	while (cap < j->n + more)
		cap *= 2;
	j->b = xrealloc(j->b, cap);
	j->cap = cap;
}

static void jb_raw(jbuf *j, const char *s, size_t len)
{
	jb_reserve(j, len);
	memcpy(j->b + j->n, s, len);
	j->n += len;
}

static void jb_char(jbuf *j, char ch)
{
	jb_reserve(j, 1);
	j->b[j->n++] = ch;
}

/* Decimal, as printf prints it (the close writes ~30M numbers: snprintf was
 * a tenth of the ledger phase). */
static void jb_i64(jbuf *j, int64_t v)
{
	char tmp[24];
	char *e = tmp + sizeof tmp, *q = e;
	/* magnitude as unsigned, so INT64_MIN is fine */
	uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--q = (char)('0' + m % 10);
		m /= 10;
	} while (m);
	if (v < 0)
		*--q = '-';
	jb_raw(j, q, (size_t)(e - q));
}

/* A JSON string, or null; ids are UTF-8 without control characters, but
 * escape them anyway rather than trust that here. Runs of characters that
 * need no escape are copied at once. */
static void jb_str(jbuf *j, const char *s)
{
	if (!s) {
		jb_raw(j, "null", 4);
		return;
	}
	jb_char(j, '"');
	const unsigned char *p = (const unsigned char *)s;
	for (;;) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			jb_raw(j, (const char *)run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p == '"' || *p == '\\') {
			jb_char(j, '\\');
			jb_char(j, (char)*p);
		} else {
			char esc[8];
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			jb_raw(j, esc, 6);
		}
		p++;
	}
	jb_char(j, '"');
}

/* [type, level, source, base, rate, rank, name, amount], as SQLite's json_array
 * writes it; a pool line has its name and, after the amount, shares and
 * total_shares (10 elements). */
static void jb_line(jbuf *j, const plan *p, const period_data *pd, const engine_output *out, const engine_line *e)
{
	jb_char(j, '[');
	jb_str(j, engine_line_type_name(e->type));
	jb_char(j, ',');
	if (e->level >= 1)
		jb_i64(j, e->level);
	else
		jb_raw(j, "null", 4);
	jb_char(j, ',');
	jb_str(j, e->source >= 0 ? pd->ids[e->source] : NULL);
	jb_char(j, ',');
	jb_i64(j, e->base);
	jb_char(j, ',');
	jb_i64(j, e->rate);
	jb_char(j, ',');
	jb_str(j, e->rank >= 0 ? p->ranks[e->rank].id : NULL);
	jb_char(j, ',');
	jb_str(j, e->fee >= 0 ? p->fees[e->fee].name : e->type == LINE_POOL ? p->pool_name : NULL);
	jb_char(j, ',');
	jb_i64(j, e->amount);
	if (e->type == LINE_POOL) {
		jb_char(j, ',');
		jb_i64(j, e->shares);
		jb_char(j, ',');
		jb_i64(j, out->pool_total_shares);
	}
	jb_char(j, ']');
}

static int is_source_line(const engine_line *e)
{
	return (e->type == LINE_RETAIL || e->type == LINE_UNILEVEL) && e->source >= 0;
}

/*
 * period_sources: for every source, in id order, the (recipient, level, rate)
 * of the retail and unilevel lines its volume paid, recipients in id order.
 * The line references are grouped by source in one counting pass (CSR).
 */
static int store_sources(ledger *l, const dists *d, const period_data *pd, const engine_output *out, int32_t P,
			 pd_err *err)
{
	size_t n = (size_t)pd->n;
	uint32_t *start = xcalloc(n + 1, sizeof *start);
	for (int32_t k = 0; k < pd->n; k++)
		for (uint32_t j = 0; j < out->res[k].n_lines; j++) {
			const engine_line *e = &out->lines[out->first_line[k] + j];
			if (is_source_line(e))
				start[e->source + 1]++;
		}
	for (size_t k = 0; k < n; k++)
		start[k + 1] += start[k];
	uint32_t *fill = xmalloc((n + 1) * sizeof *fill);
	memcpy(fill, start, (n + 1) * sizeof *fill);
	size_t total = start[n];
	uint64_t *ref = xmalloc((total ? total : 1) * sizeof *ref); /* recipient position << 32 | line index */
	/* recipients in id order, so each source's list is too */
	for (int32_t i = 0; i < pd->n; i++) {
		int32_t k = d->pos[i];
		for (uint32_t j = 0; j < out->res[k].n_lines; j++) {
			uint64_t li = out->first_line[k] + j;
			const engine_line *e = &out->lines[li];
			if (is_source_line(e))
				ref[fill[e->source]++] = (uint64_t)(uint32_t)k << 32 | (uint32_t)li;
		}
	}
	free(fill);
	sqlite3_stmt *st = NULL;
	jbuf j = {0};
	int rc = -1;
	if (ledger_prepare(l, "INSERT INTO period_sources(period, source, paid) VALUES(?,?,?)", &st, err) < 0)
		goto out;
	for (int32_t i = 0; i < pd->n; i++) {
		int32_t s = d->pos[i];
		if (start[s] == start[s + 1])
			continue;
		j.n = 0;
		jb_char(&j, '[');
		for (uint32_t r = start[s]; r < start[s + 1]; r++) {
			const engine_line *e = &out->lines[(uint32_t)ref[r]];
			if (r > start[s])
				jb_char(&j, ',');
			jb_char(&j, '[');
			jb_str(&j, pd->ids[ref[r] >> 32]);
			jb_char(&j, ',');
			if (e->level >= 1)
				jb_i64(&j, e->level);
			else
				jb_raw(&j, "null", 4);
			jb_char(&j, ',');
			jb_i64(&j, e->rate);
			jb_char(&j, ']');
		}
		jb_char(&j, ']');
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, P);
		sqlite3_bind_text(st, 2, d->id[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, j.b, (int)j.n, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sql_err(l, err, "recording what each source paid");
			goto out;
		}
	}
	rc = 0;
out:
	if (st)
		sqlite3_finalize(st);
	free(j.b);
	free(ref);
	free(start);
	return rc;
}

static int store_results(ledger *l, const plan *p, const dists *d, const period_data *pd, const engine_output *out,
			 int32_t P, pd_err *err)
{
	sqlite3_stmt *res = NULL;
	jbuf j = {0};
	int rc = -1;
	double t_start = seconds();
	if (ledger_prepare(l, "INSERT INTO period_results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			   &res, err) < 0)
		goto out;
	/* in id order, the table's key order: every insert appends at the B-tree's
	 * edge. Results and lines are in tree order, so each distributor's are
	 * somewhere else: fetched a few distributors ahead (ids, names and IBANs
	 * are read through d, in id order, where they lie one after another). */
	enum { AHEAD = 8 };
	for (int32_t i = 0; i < pd->n; i++) {
		if (i + 2 * AHEAD < pd->n) {
			int32_t f = d->pos[i + 2 * AHEAD];
			__builtin_prefetch(&out->res[f]);
			__builtin_prefetch(&out->first_line[f]);
			__builtin_prefetch(&pd->pv[f]);
		}
		if (i + AHEAD < pd->n) {
			int32_t f = d->pos[i + AHEAD];
			__builtin_prefetch(&out->lines[out->first_line[f]]);
			__builtin_prefetch(&pd->terminated[f]);
		}
		int32_t k = d->pos[i];
		const engine_result *r = &out->res[k];
		/* kept when the next periods need it: a rank, a title, a balance, a
		 * statement, carried binary volume */
		if (!r->qualified && !r->title && !r->carried_out && !r->n_lines && !r->carry_left && !r->carry_right)
			continue;
		sqlite3_reset(res);
		sqlite3_bind_int(res, 1, P);
		sqlite3_bind_text(res, 2, d->id[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(res, 3, p->ranks[r->qualified].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(res, 4, p->ranks[r->paid_as].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(res, 5, p->ranks[r->title].id, -1, SQLITE_STATIC);
		sqlite3_bind_int(res, 6, r->active);
		sqlite3_bind_int(res, 7, pd->terminated[k]);
		int64_t v[] = {pd->pv[k], r->gv, r->commissions, r->cap_adjustment, r->clawbacks, r->fees,
			       r->carried_in, r->payable, r->paid, r->carried_out};
		for (int c = 0; c < 10; c++)
			sqlite3_bind_int64(res, 8 + c, v[c]);
		sqlite3_bind_text(res, 18, d->name[i], -1, SQLITE_STATIC);
		if (d->iban[i])
			sqlite3_bind_text(res, 19, d->iban[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(res, 19);
		j.n = 0;
		jb_char(&j, '[');
		for (uint32_t x = 0; x < r->n_lines; x++) {
			if (x)
				jb_char(&j, ',');
			jb_line(&j, p, pd, out, &out->lines[out->first_line[k] + x]);
		}
		jb_char(&j, ']');
		sqlite3_bind_text(res, 20, j.b, (int)j.n, SQLITE_STATIC);
		int64_t bin[] = {r->left, r->right, r->matched, r->carry_left, r->carry_right};
		for (int c = 0; c < 5; c++)
			sqlite3_bind_int64(res, 21 + c, bin[c]);
		if (sqlite3_step(res) != SQLITE_DONE) {
			sql_err(l, err, "recording results");
			goto out;
		}
	}
	double t_sources = seconds();
	rc = store_sources(l, d, pd, out, P, err);
	log_msg(LOG_INFO, "ledger: results and lines %.2f s, what each source paid %.2f s", t_sources - t_start,
		seconds() - t_sources);
out:
	if (res)
		sqlite3_finalize(res);
	free(j.b);
	return rc;
}

static json_t *money_json(int64_t v)
{
	char b[32];
	money_format(v, 2, b);
	return json_string(b);
}

/* Audit lines stay well under the verifier's 1 MiB: up to this many files
 * every file's SHA-256 is listed in the period_closed line; beyond it the
 * line lists SHA256SUMS (which holds them all), payouts.csv and summary.json. */
#define AUDIT_MAX_LISTED_FILES 5000

static json_t *files_json(const folder_result *fr)
{
	json_t *f = json_object();
	if (fr->files <= AUDIT_MAX_LISTED_FILES) {
		/* SHA256SUMS lines are "HEX  NAME" */
		const char *s = fr->manifest, *end = fr->manifest + fr->manifest_len;
		while (s && s < end) {
			const char *nl = memchr(s, '\n', (size_t)(end - s));
			if (!nl || nl - s < 67)
				break;
			char *fname = xstrndup(s + 66, (size_t)(nl - s - 66));
			char *h = xstrndup(s, 64);
			json_object_set_new(f, fname, json_string(h));
			free(fname);
			free(h);
			s = nl + 1;
		}
	} else {
		json_object_set_new(f, "payouts.csv", json_string(fr->payouts_sha));
		json_object_set_new(f, "summary.json", json_string(fr->summary_sha));
	}
	json_object_set_new(f, "SHA256SUMS", json_string(fr->manifest_sha));
	return f;
}

/* The period itself, once its folder is written (store_results came before):
 * the plan, the period row with the folder's SHA256SUMS hash and summary,
 * the audit line. */
static int record_period(ledger *l, const plan *p, const char *plan_text, size_t plan_len, const char *plan_sha,
			 int32_t P, const char *name, const period_data *pd, const engine_output *out,
			 const folder_result *fr, pd_err *err)
{
	sqlite3_stmt *st;
	char now[32];
	audit_now(now);
	if (ledger_prepare(l, "INSERT OR IGNORE INTO plans(sha256, text) VALUES(?, ?)", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, plan_sha, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, plan_text, (int)plan_len, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(l, err, "recording the plan");
	if (ledger_prepare(l, "INSERT INTO periods(period, name, closed_at, plan_sha256, net_sales, manifest_sha256,"
			      " summary, published) VALUES(?,?,?,?,?,?,?,0)", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, plan_sha, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, pd->net_sales);
	sqlite3_bind_text(st, 6, fr->manifest_sha, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, fr->summary, (int)fr->summary_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(l, err, "recording the period");
	json_t *m = json_object();
	json_object_set_new(m, "period", json_string(name));
	json_object_set_new(m, "plan", json_string(p->name));
	json_object_set_new(m, "plan_sha256", json_string(plan_sha));
	json_t *t = json_object();
	json_object_set_new(t, "net_sales", money_json(pd->net_sales));
	json_object_set_new(t, "commissions", money_json(out->total_commissions));
	json_object_set_new(t, "cap_adjustment", money_json(out->total_cap_adjustment));
	json_object_set_new(t, "clawbacks", money_json(out->total_clawbacks));
	json_object_set_new(t, "fees", money_json(out->total_fees));
	json_object_set_new(t, "carried_in", money_json(out->total_carried_in));
	json_object_set_new(t, "payable", money_json(out->total_payable));
	json_object_set_new(t, "paid", money_json(out->total_paid));
	json_object_set_new(t, "carried_out", money_json(out->total_carried_out));
	json_object_set_new(m, "totals", t);
	json_object_set_new(m, "statements", json_integer(fr->statements));
	json_object_set_new(m, "files", files_json(fr));
	rc = ledger_audit_add(l, "period_closed", m, err);
	json_decref(m);
	return rc;
}

/* ---- the close ---------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len, pd_err *err)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		pd_errf(err, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 65536;
	char *buf = xmalloc(cap);
	*len = 0;
	size_t r;
	while ((r = fread(buf + *len, 1, cap - *len, f)) > 0) {
		*len += r;
		if (*len == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	fclose(f);
	return buf;
}

/* Unattributed sales dated in or before `target` (SPEC 4.2, 11.20): -1 error, else how many. */
static int64_t unattributed_before(ledger *l, const plan *p, int32_t target, char *list, size_t cap, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT distributor_id, count(*), min(day) FROM sales WHERE flags & 1 = 0 AND day < ?"
			      " GROUP BY distributor_id ORDER BY distributor_id", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, period_end_day(p->period, target));
	int64_t total = 0;
	size_t o = 0;
	int shown = 0;
	list[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t c = sqlite3_column_int64(st, 1);
		total += c;
		if (shown++ < 20 && o + 100 < cap) {
			char day[16];
			date_format_iso(sqlite3_column_int(st, 2), day);
			o += (size_t)snprintf(list + o, cap - o, "\n  %s: %" PRId64 " sale%s from %s",
					      (const char *)sqlite3_column_text(st, 0), c, c == 1 ? "" : "s", day);
		}
	}
	sqlite3_finalize(st);
	return total;
}

/* The first period to close before any close: the earliest with sales, or
 * target when that is later (or nothing is booked: *any_sales = 0). */
static int32_t first_period(ledger *l, int32_t target, int *any_sales)
{
	sqlite3_stmt *st;
	int32_t first = target;
	*any_sales = 1; /* when unsure, behave as if there were */
	if (ledger_prepare(l, "SELECT min(period) FROM period_stats WHERE sales != 0", &st, NULL) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*any_sales = sqlite3_column_type(st, 0) != SQLITE_NULL;
			if (*any_sales && sqlite3_column_int(st, 0) < first)
				first = sqlite3_column_int(st, 0);
		}
		sqlite3_finalize(st);
	}
	return first;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Closes one period inside the transaction the caller holds. */
static int close_one(const config *cfg, const plan *p, const char *plan_text, size_t plan_len, const char *plan_sha,
		     ledger *l, const dists *d, int32_t P, int dry_run, pd_err *err)
{
	char name[16];
	period_name(p->period, P, name);
	period_data pd;
	engine_output out;
	folder_result fr;
	memset(&out, 0, sizeof out);
	memset(&fr, 0, sizeof fr);
	int rc = -1;
	char *folder = NULL;
	/* phase times for the log: operators and the benchmark read them (not money) */
	double t[6] = {seconds(), 0, 0, 0, 0, 0};
	if (load_period(l, p, d, P, &pd, err) < 0)
		goto out;
	t[1] = seconds();
	engine_input in = {.p = p, .n = pd.n, .parent = pd.parent, .pv = pd.pv, .cv = pd.cv,
			   .fast_start_cv = pd.fast_start_cv, .place_parent = pd.place_parent,
			   .place_leg = pd.place_leg, .carry_left = pd.carry_left, .carry_right = pd.carry_right,
			   .terminated = pd.terminated, .q_history = pd.q_history, .history = pd.history,
			   .title = pd.title, .carried_in = pd.carried_in, .net_sales = pd.net_sales,
			   .clawbacks = pd.claw, .n_clawbacks = pd.n_claw};
	if (engine_run(&in, &out, err) < 0)
		goto out;
	stmt_period sp = {.p = p, .plan_sha256 = plan_sha, .period = name, .n = pd.n, .ids = pd.ids,
			  .names = pd.names, .ibans = pd.ibans, .pv = pd.pv, .terminated = pd.terminated,
			  .out = &out, .net_sales = pd.net_sales, .order = d->pos};
	char tmpname[64];
	snprintf(tmpname, sizeof tmpname, dry_run ? "%s.dry-run" : ".%s.tmp", name);
	folder = fs_join(cfg->statements, tmpname);
	/* The results and lines go into the transaction before the files: they
	 * do not depend on them, a ledger error (a full disk, say) is found
	 * before 2 files per distributor are written, and the writes do not
	 * meet the page cache and writeback of those files. */
	t[2] = seconds();
	if (store_results(l, p, d, &pd, &out, P, err) < 0)
		goto out;
	t[3] = seconds();
	if (folder_write(&sp, folder, &fr, err) < 0)
		goto out;
	t[4] = seconds();
	if (record_period(l, p, plan_text, plan_len, plan_sha, P, name, &pd, &out, &fr, err) < 0)
		goto out;
	t[5] = seconds();
	/* the statements' time without the period's own files, which the
	 * benchmark counts with load, engine and ledger */
	double files_s = t[4] - t[3] - fr.summary_seconds;
	log_msg(LOG_INFO, "%s %s: %" PRId64 " statements; load %.2f s, engine %.2f s, statement files %.2f s (%" PRId64
		" files, %.0f files/s), payouts.csv + summary.json + SHA256SUMS %.2f s, ledger %.2f s (before the commit)",
		dry_run ? "dry run of" : "close", name, fr.statements, t[1] - t[0], t[2] - t[1], files_s, 2 * fr.statements,
		files_s > 0 ? (double)(2 * fr.statements) / files_s : 0.0, fr.summary_seconds,
		(t[3] - t[2]) + (t[5] - t[4]));
	rc = 0;
out:
	free(fr.manifest);
	free(fr.summary);
	free(folder);
	engine_output_free(&out);
	period_data_free(&pd);
	return rc;
}

/* Records that P's folder is in place (outside any transaction). */
static int mark_published(ledger *l, int32_t P, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(l, "UPDATE periods SET published = 1 WHERE period = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P);
	CRASH_POINT("before commit", "published");
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(l, err, "recording a publication");
	sqlite3_finalize(st);
	if (rc == 0)
		CRASH_POINT("after commit", "published");
	return rc;
}

/* Renames statements/.NAME.tmp to statements/NAME, syncs the folder, and
 * records the publication: from then on the folder is the operator's (a
 * folder deleted later, say by a retention policy, is not made again). */
static int publish(const config *cfg, ledger *l, int32_t P, const char *name, pd_err *err)
{
	char tmpname[64];
	snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
	char *from = fs_join(cfg->statements, tmpname), *to = fs_join(cfg->statements, name);
	int rc = fs_rename_durable(from, to, err);
	free(from);
	free(to);
	return rc < 0 ? -1 : mark_published(l, P, err);
}

int close_periods(const config *cfg, const plan *p, const char *plan_path, const char *plan_sha,
		  ledger *l, int32_t target, const close_opts *o, char *msg, size_t msgcap, pd_err *err)
{
	msg[0] = '\0';
	size_t plan_len;
	char *plan_text = read_file(plan_path, &plan_len, err);
	if (!plan_text)
		return CLOSE_FAILED;
	dists d = {0};
	int rc = CLOSE_FAILED;
	char tname[16];
	period_name(p->period, target, tname);
	/* finish what a close that crashed after its commit left, in the order a
	 * close does it: the audit file first (as payoutd's start does), then the folder */
	if (ledger_audit_sync(l, cfg->audit_log, err) < 0 || close_recover(cfg, l, err) < 0)
		goto out;
	/* A close commits hundreds of MiB at a million distributors; copying
	 * them from the WAL into the database (the checkpoint) is done after the
	 * publication, not inside the COMMIT: the commit is durable with the WAL
	 * alone (synchronous=FULL). */
	ledger_manual_checkpoints(l);
	if (fs_mkdirs(cfg->statements, 0750, err) < 0)
		goto out;
	if (ledger_begin(l, err) < 0)
		goto out;
	int32_t eo;
	if (ledger_earliest_open(l, &eo, err) < 0)
		goto rollback;
	int any_sales = 1;
	int32_t first = eo == LEDGER_NO_CLOSE ? first_period(l, target, &any_sales) : eo;
	if (target < first) {
		snprintf(msg, msgcap, "%s is already closed: nothing to do", tname);
		rc = CLOSE_NOTHING;
		goto rollback;
	}
	/* a timer that fires on a fresh install must not close an empty month
	 * before the history has been booked into it */
	if (o->due && !any_sales) {
		snprintf(msg, msgcap, "nothing is due: no sales are booked yet");
		rc = CLOSE_NOTHING;
		goto rollback;
	}
	/* a folder of a period this ledger has not closed (say, after restoring
	 * an older ledger) would stop the publication after the commit */
	for (int32_t P = first; P <= target && !o->dry_run; P++) {
		char name[16];
		period_name(p->period, P, name);
		char *f = fs_join(cfg->statements, name);
		struct stat sb;
		int exists = lstat(f, &sb) == 0;
		free(f);
		if (exists) {
			pd_errf(err, "close of %s refused: %s/%s exists, but this ledger has not closed %s (was an older "
				     "ledger restored?); move that folder away first", tname, cfg->statements, name, name);
			rc = CLOSE_REFUSED;
			goto rollback;
		}
	}
	char list[2400];
	int64_t waiting = unattributed_before(l, p, target, list, sizeof list, err);
	if (waiting < 0)
		goto rollback;
	if (waiting > 0 && !o->force) {
		pd_errf(err, "close of %s refused: %" PRId64 " unattributed sale%s dated in or before it (their distributors are not known yet; book them, or close with --force to book those sales late):%s",
			tname, waiting, waiting == 1 ? " is" : "s are", list);
		rc = CLOSE_REFUSED;
		goto rollback;
	}
	double t0 = seconds();
	if (load_dists(l, &d, err) < 0)
		goto rollback;
	log_msg(LOG_INFO, "sponsor tree: %d distributors loaded and ordered in %.2f s", d.n, seconds() - t0);
	for (int32_t P = first; P <= target; P++) {
		if (close_one(cfg, p, plan_text, plan_len, plan_sha, l, &d, P, o->dry_run, err) < 0)
			goto rollback;
		if (o->dry_run)
			continue; /* results stay in the open transaction for the next period, then go */
		char name[16];
		period_name(p->period, P, name);
		t0 = seconds();
		if (ledger_commit(l, err) < 0)
			goto rollback;
		log_msg(LOG_INFO, "close %s: committed in %.2f s", name, seconds() - t0);
		if (ledger_audit_sync(l, cfg->audit_log, err) < 0 || publish(cfg, l, P, name, err) < 0) {
			/* committed: close_recover finishes it next time */
			pd_err_prefix(err, "%s is closed, but its statements are not published yet (the next close or "
					   "payoutd start publishes them)", name);
			goto out;
		}
		t0 = seconds();
		if (ledger_checkpoint(l, err) < 0)
			log_msg(LOG_WARNING, "%s", err->msg); /* the next checkpoint catches up */
		else
			log_msg(LOG_INFO, "close %s: ledger checkpointed after the publication in %.2f s", name, seconds() - t0);
		if (P < target && ledger_begin(l, err) < 0)
			goto out;
	}
	if (o->dry_run)
		ledger_rollback(l);
	if (first == target)
		snprintf(msg, msgcap, o->dry_run ? "dry run of %s: statements in %s/%s.dry-run" : "closed %s",
			 tname, cfg->statements, tname);
	else {
		char fname[16];
		period_name(p->period, first, fname);
		snprintf(msg, msgcap, o->dry_run ? "dry run of %s to %s: statements in %s/PERIOD.dry-run" : "closed %s to %s",
			 fname, tname, cfg->statements);
	}
	rc = CLOSE_DONE;
	goto out;
rollback:
	ledger_rollback(l);
out:
	dists_free(&d);
	free(plan_text);
	return rc;
}

int32_t close_due_period(const config *cfg, const plan *p, int64_t now)
{
	/* the period containing today is never due; walk back from it */
	int32_t today = dates_local_day(now);
	int32_t P = period_of_day(p->period, today);
	for (;;) {
		int32_t end = period_end_day(p->period, P); /* first day after P, local midnight */
		int y, m, dd;
		date_to_ymd(end, &y, &m, &dd);
		struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd, .tm_isdst = -1};
		int64_t end_utc = (int64_t)mktime(&tm);
		if (end_utc + cfg->grace_seconds <= now)
			return P;
		P--;
	}
}

/*
 * Checks a synced temporary folder against what the ledger recorded: the
 * SHA-256 of its SHA256SUMS, then every file that SHA256SUMS lists.
 * 1 when it matches, 0 when not (why), -1 on an I/O error.
 */
static int folder_matches(const char *folder, const char *manifest_sha, char *why, size_t cap, pd_err *err)
{
	char *path = fs_join(folder, "SHA256SUMS");
	size_t len;
	char *m = read_file(path, &len, err);
	free(path);
	if (!m) {
		snprintf(why, cap, "it has no SHA256SUMS");
		return 0;
	}
	unsigned char d[32];
	char h[65];
	fs_sha256(m, len, d);
	fs_hex(d, h);
	int ok = manifest_sha && strcmp(h, manifest_sha) == 0;
	if (!ok)
		snprintf(why, cap, "its SHA256SUMS is not the one the ledger recorded");
	for (char *line = m; ok && line < m + len;) {
		char *nl = memchr(line, '\n', (size_t)(m + len - line));
		if (!nl || nl - line < 67) {
			ok = 0;
			snprintf(why, cap, "its SHA256SUMS is malformed");
			break;
		}
		*nl = '\0';
		char *fpath = fs_join(folder, line + 66);
		char fh[65];
		int fd = open(fpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fs_sha256_fd(fd, fh, NULL) < 0 || memcmp(fh, line, 64) != 0) {
			ok = 0;
			snprintf(why, cap, "%s is missing or differs from SHA256SUMS", line + 66);
		}
		if (fd >= 0)
			close(fd);
		free(fpath);
		line = nl + 1;
	}
	free(m);
	return ok;
}

/* ---- making a closed period's folder again from the ledger ----------------------------- */

/* What regenerate() builds, all owned. */
typedef struct regen {
	plan *p;
	int32_t n, cap;                 /* distributors: the period's rows, then sources without a row */
	char **ids, **names, **ibans;
	int64_t *pv;
	uint8_t *terminated;
	int32_t *order;
	idset *index;
	engine_output out;
	size_t cap_lines;
	int64_t pool_lines;             /* read so far */
	char *summary;
	size_t summary_len;
	char plan_sha[65];
	int64_t net_sales;
} regen;

static void regen_free(regen *g)
{
	free_texts(g->n, g->ids, g->names, g->ibans);
	free(g->pv);
	free(g->terminated);
	free(g->order);
	idset_free(g->index);
	engine_output_free(&g->out);
	free(g->summary);
	plan_free(g->p);
	memset(g, 0, sizeof *g);
}

/* Index of a distributor id, adding it (without a row: no lines, paid 0) when new. */
static int32_t regen_id(regen *g, const char *id)
{
	int created = 0;
	size_t k = idset_put(g->index, id, strlen(id), &created);
	if (k == SIZE_MAX)
		return -1;
	if (created) {
		if (g->n == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 1024;
			size_t c = (size_t)g->cap;
			g->ids = xrealloc(g->ids, c * sizeof *g->ids);
			g->names = xrealloc(g->names, c * sizeof *g->names);
			g->ibans = xrealloc(g->ibans, c * sizeof *g->ibans);
			g->pv = xrealloc(g->pv, c * sizeof *g->pv);
			g->terminated = xrealloc(g->terminated, c);
			g->out.res = xrealloc(g->out.res, c * sizeof *g->out.res);
			g->out.first_line = xrealloc(g->out.first_line, (c + 1) * sizeof *g->out.first_line);
		}
		int32_t i = g->n++;
		g->ids[i] = xstrdup(id);
		g->names[i] = NULL;
		g->ibans[i] = NULL;
		g->pv[i] = 0;
		g->terminated[i] = 0;
		memset(&g->out.res[i], 0, sizeof g->out.res[i]);
		g->out.first_line[i + 1] = g->out.first_line[i];
	}
	return (int32_t)k;
}

/* Appends the lines of row i from their stored JSON; -1 when it is not what a close writes. */
static int regen_lines(regen *g, int32_t i, const char *text, int len)
{
	json_error_t je;
	json_t *arr = json_loadb(text, (size_t)len, JSON_REJECT_DUPLICATES, &je);
	int rc = -1;
	if (!json_is_array(arr))
		goto out;
	for (size_t x = 0; x < json_array_size(arr); x++) {
		json_t *ln = json_array_get(arr, x);
		engine_line e = {.recipient = i, .level = -1, .source = -1, .rank = -1, .fee = -1};
		int type = engine_line_type_find(json_string_value(json_array_get(ln, 0)));
		e.type = (int8_t)type;
		size_t want = type == LINE_POOL ? 10 : 8;
		if (!json_is_array(ln) || json_array_size(ln) != want)
			goto out;
		json_t *lv = json_array_get(ln, 1), *src = json_array_get(ln, 2), *rk = json_array_get(ln, 5),
		       *fee = json_array_get(ln, 6);
		if (type < 0 || !json_is_integer(json_array_get(ln, 3)) || !json_is_integer(json_array_get(ln, 4)) ||
		    !json_is_integer(json_array_get(ln, 7)) || !(json_is_null(lv) || json_is_integer(lv)) ||
		    !(json_is_null(src) || json_is_string(src)) || !(json_is_null(rk) || json_is_string(rk)) ||
		    !(json_is_null(fee) || json_is_string(fee)))
			goto out;
		if (json_is_integer(lv)) {
			json_int_t v = json_integer_value(lv);
			if (v < 1 || v > 1000)
				goto out;
			e.level = (int16_t)v;
		}
		if (json_is_string(src) && (e.source = regen_id(g, json_string_value(src))) < 0)
			goto out;
		if (json_is_string(rk) && stored_rank(g->p, json_string_value(rk), &e.rank) < 0)
			goto out;
		if (e.type == LINE_POOL) {
			json_t *sh = json_array_get(ln, 8), *tot = json_array_get(ln, 9);
			if (!json_is_integer(sh) || !json_is_integer(tot))
				goto out;
			/* every pool line of a close has the same total (the output's) */
			json_int_t mine = json_integer_value(sh), all = json_integer_value(tot);
			if (mine < 0 || mine > PLAN_MAX_SHARES || (g->pool_lines && all != g->out.pool_total_shares))
				goto out;
			e.shares = (int32_t)mine;
			g->out.pool_total_shares = all;
			g->pool_lines++;
		} else if (json_is_string(fee)) {
			for (size_t f = 0; f < g->p->n_fees && e.fee < 0; f++)
				if (strcmp(g->p->fees[f].name, json_string_value(fee)) == 0)
					e.fee = (int32_t)f;
			if (e.fee < 0)
				goto out;
		}
		e.base = json_integer_value(json_array_get(ln, 3));
		e.rate = json_integer_value(json_array_get(ln, 4));
		e.amount = json_integer_value(json_array_get(ln, 7));
		if (g->out.n_lines == g->cap_lines) {
			g->cap_lines = g->cap_lines ? g->cap_lines * 2 : 4096;
			g->out.lines = xrealloc(g->out.lines, g->cap_lines * sizeof *g->out.lines);
		}
		g->out.lines[g->out.n_lines++] = e;
	}
	rc = 0;
out:
	json_decref(arr);
	return rc;
}

/*
 * Makes closed period P's statements folder again, into `folder`, from the
 * ledger alone: the plan it was closed with (plans), every distributor's
 * results and lines (period_results), net sales and summary.json (periods).
 * The statements are listed in id order, as the close lists them, so the
 * folder comes out byte-identical; the caller compares its SHA256SUMS with
 * the one the close recorded before publishing it.
 */
static int regenerate(ledger *l, int32_t P, const char *name, const char *folder, folder_result *fr, pd_err *err)
{
	regen g;
	memset(&g, 0, sizeof g);
	sqlite3_stmt *st = NULL;
	int rc = -1, step;
	if (ledger_prepare(l, "SELECT p.plan_sha256, p.net_sales, p.summary, x.text FROM periods p"
			      " JOIN plans x ON x.sha256 = p.plan_sha256 WHERE p.period = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, P);
	if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 2) == SQLITE_NULL) {
		pd_errf(err, "the ledger does not hold what it takes to make the statements of %s again (a period closed "
			     "by a version before 0.1's ledger schema 3)", name);
		goto out;
	}
	snprintf(g.plan_sha, sizeof g.plan_sha, "%s", (const char *)sqlite3_column_text(st, 0));
	g.net_sales = sqlite3_column_int64(st, 1);
	g.summary_len = (size_t)sqlite3_column_bytes(st, 2);
	g.summary = xmalloc(g.summary_len + 1);
	memcpy(g.summary, sqlite3_column_text(st, 2), g.summary_len + 1);
	pd_diag diag = {0};
	char plan_name[64];
	snprintf(plan_name, sizeof plan_name, "the plan of %s (ledger)", name);
	if (plan_load_buf(plan_name, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &g.p, &diag) < 0) {
		pd_errf(err, "%s does not load: %s", plan_name, pd_diag_count(&diag) ? diag.msgs[0] : "?");
		pd_diag_free(&diag);
		goto out;
	}
	pd_diag_free(&diag);
	sqlite3_finalize(st);
	st = NULL;

	/* the rows first, numbered in id order, then sources without a row after them */
	g.index = idset_new();
	g.out.first_line = xcalloc(1, sizeof *g.out.first_line);
	if (ledger_prepare(l, "SELECT distributor_id FROM period_results WHERE period = ? ORDER BY distributor_id",
			   &st, err) < 0)
		goto out;
	sqlite3_bind_int(st, 1, P);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (regen_id(&g, (const char *)sqlite3_column_text(st, 0)) < 0)
			break;
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE) {
		sql_err(l, err, "reading results");
		goto out;
	}
	int32_t rows = g.n;
	if (ledger_prepare(l, "SELECT qualified, paid_as, title, active, terminated, pv, gv, commissions,"
			      " cap_adjustment, clawbacks, fees, carried_in, payable, paid, carried_out, name, iban, lines,"
			      " bin_left, bin_right, bin_matched, carry_left, carry_right"
			      " FROM period_results WHERE period = ? ORDER BY distributor_id", &st, err) < 0)
		goto out;
	sqlite3_bind_int(st, 1, P);
	int32_t i = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW && i < rows) {
		engine_result *r = &g.out.res[i];
		int32_t q, pa, ti;
		if (stored_rank(g.p, (const char *)sqlite3_column_text(st, 0), &q) < 0 ||
		    stored_rank(g.p, (const char *)sqlite3_column_text(st, 1), &pa) < 0 ||
		    stored_rank(g.p, (const char *)sqlite3_column_text(st, 2), &ti) < 0) {
			pd_errf(err, "the results of %s in %s name a rank its plan does not have", g.ids[i], name);
			goto out;
		}
		r->qualified = (uint8_t)q;
		r->paid_as = (uint8_t)pa;
		r->title = (uint8_t)ti;
		r->active = (uint8_t)sqlite3_column_int(st, 3);
		g.terminated[i] = (uint8_t)sqlite3_column_int(st, 4);
		g.pv[i] = sqlite3_column_int64(st, 5);
		r->gv = sqlite3_column_int64(st, 6);
		r->commissions = sqlite3_column_int64(st, 7);
		r->cap_adjustment = sqlite3_column_int64(st, 8);
		r->clawbacks = sqlite3_column_int64(st, 9);
		r->fees = sqlite3_column_int64(st, 10);
		r->carried_in = sqlite3_column_int64(st, 11);
		r->payable = sqlite3_column_int64(st, 12);
		r->paid = sqlite3_column_int64(st, 13);
		r->carried_out = sqlite3_column_int64(st, 14);
		r->left = sqlite3_column_int64(st, 18);
		r->right = sqlite3_column_int64(st, 19);
		r->matched = sqlite3_column_int64(st, 20);
		r->carry_left = sqlite3_column_int64(st, 21);
		r->carry_right = sqlite3_column_int64(st, 22);
		g.names[i] = col_dup(st, 15);
		g.ibans[i] = col_dup(st, 16);
		size_t before = g.out.n_lines;
		if (regen_lines(&g, i, (const char *)sqlite3_column_text(st, 17), sqlite3_column_bytes(st, 17)) < 0) {
			pd_errf(err, "the stored lines of %s in %s are not what a close writes", g.ids[i], name);
			goto out;
		}
		if (g.out.n_lines - before > UINT32_MAX || g.out.n_lines > UINT32_MAX) {
			pd_errf(err, "too many lines in %s", name);
			goto out;
		}
		r->n_lines = (uint32_t)(g.out.n_lines - before);
		g.out.first_line[i + 1] = (uint32_t)g.out.n_lines;
		i++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		sql_err(l, err, "reading results");
		goto out;
	}
	/* sources added meanwhile have no lines: their first_line is the end */
	for (int32_t k = rows; k < g.n; k++)
		g.out.first_line[k + 1] = (uint32_t)g.out.n_lines;
	g.order = xmalloc((size_t)(g.n ? g.n : 1) * sizeof *g.order);
	for (int32_t k = 0; k < g.n; k++)
		g.order[k] = k;
	stmt_period sp = {.p = g.p, .plan_sha256 = g.plan_sha, .period = name, .n = g.n,
			  .ids = (const char *const *)g.ids, .names = (const char *const *)g.names,
			  .ibans = (const char *const *)g.ibans, .pv = g.pv, .terminated = g.terminated, .out = &g.out,
			  .net_sales = g.net_sales, .order = g.order, .summary_json = g.summary,
			  .summary_len = g.summary_len};
	rc = folder_write(&sp, folder, fr, err);
out:
	if (st)
		sqlite3_finalize(st);
	regen_free(&g);
	return rc;
}

int close_recover(const config *cfg, ledger *l, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT period, name, manifest_sha256, published FROM periods ORDER BY period", &st, err) < 0)
		return -1;
	int rc = 0;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int32_t P = sqlite3_column_int(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *msha = (const char *)sqlite3_column_text(st, 2);
		int published = sqlite3_column_int(st, 3);
		char *final = fs_join(cfg->statements, name);
		char tmpname[64];
		snprintf(tmpname, sizeof tmpname, ".%s.tmp", name);
		char *tmp = fs_join(cfg->statements, tmpname);
		struct stat sb;
		int have_final = stat(final, &sb) == 0, have_tmp = stat(tmp, &sb) == 0;
		char why[300] = "";
		if (!msha || (published && !have_tmp)) {
			/* published (what happens to it later is the operator's business), or
			 * closed before the ledger kept manifests */
		} else if (have_final) {
			/* renamed, crashed before recording it */
			rc = mark_published(l, P, err);
		} else if (have_tmp && (rc = folder_matches(tmp, msha, why, sizeof why, err)) > 0) {
			/* committed, not yet published: the folder was complete and synced before
			 * the commit, and it is exactly what the ledger recorded */
			rc = publish(cfg, l, P, name, err);
			if (rc == 0)
				log_msg(LOG_NOTICE, "published the statements of %s after a restart", name);
		} else if (rc == 0) {
			/* committed, and its folder is gone or not what was recorded: make it again */
			log_msg(LOG_NOTICE, "the statements of closed period %s were not published and %s %s; making them "
					    "again from the ledger", name, tmp, have_tmp ? why : "is missing");
			folder_result fr;
			memset(&fr, 0, sizeof fr);
			rc = regenerate(l, P, name, tmp, &fr, err);
			if (rc == 0 && strcmp(fr.manifest_sha, msha) != 0)
				rc = pd_errf(err, "the statements of %s made again from the ledger differ from what the close "
						  "recorded (SHA256SUMS %s, recorded %s); left unpublished in %s",
					     name, fr.manifest_sha, msha, tmp);
			free(fr.manifest);
			free(fr.summary);
			if (rc == 0 && (rc = publish(cfg, l, P, name, err)) == 0)
				log_msg(LOG_NOTICE, "published the statements of %s, made again from the ledger", name);
		}
		free(final);
		free(tmp);
	}
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}
