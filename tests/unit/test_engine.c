/*
 * test_engine.c - the commission engine (rules/engine.h) against worked
 * examples computed by hand, and against an independent reference model on
 * random trees.
 *
 * Every hand example builds its plan directly as a C struct (no YAML) and a
 * small sponsor tree, and asserts every per-distributor result and every
 * statement line to the cent. The arithmetic is written out in the comments
 * next to the numbers: a reviewer can check each figure with pencil and paper
 * against SPEC sections 6.1-6.7 and 11.
 *
 * Units: money and volumes are hundredths (15000 = 150.00), rates millionths
 * (50000 = 5%).
 *
 * The reference model (model_run below) is a second, deliberately naive
 * implementation of the same SPEC rules written without looking at
 * rules/engine.c. The hand examples run against BOTH the engine and the model,
 * so the model is itself checked by the hand figures; the random-tree test then
 * requires the engine and the model to agree line for line on 200 trees, and
 * checks the invariants of SPEC 6.6 / 11 on every output.
 *
 * Compile with -DTEST_ENGINE_MODEL_ONLY to run the hand examples against the
 * model alone (no engine.c needed): that is how the figures below were
 * checked before the engine existed.
 *
 * Where the SPEC leaves a point open, the reading taken is marked
 * "READING (SPEC items):" next to the example that depends on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"
#include "plan.h"

#define RATE_ONE 1000000

/* ==== plans built by hand ================================================================= */

/* A rank of a test plan. A requirement left 0 is not listed (a pv or gv of
 * 0 would hold anyway; no test needs max_leg_share 0). */
typedef struct rank_spec {
	const char *id;
	int64_t pv, gv;            /* hundredths */
	int64_t max_leg_share;     /* millionths */
	int legs_count, legs_min_rank;
	int active_recruits;
	int periods;               /* 0 means 1 */
	int64_t bonus;             /* rank_advancement bonus, hundredths; 0 = none */
	int n_levels;              /* unilevel list of this rank (0 = rank not listed) */
	int64_t levels[8];         /* millionths */
} rank_spec;

/* Fills a plan: ranks (with their unilevel lists and bonuses), activity.min_pv.
 * Unilevel is present (dynamic) when some rank has a list; rank_advancement is
 * present when some rank has a bonus. Retail, cap, fees, min_payout: none;
 * tests set those fields directly. */
static plan *plan_build(int64_t min_pv, const rank_spec *rs, size_t n)
{
	plan *p = xcalloc(1, sizeof *p);
	p->name = xstrdup("test plan");
	memcpy(p->currency, "EUR", 4);
	p->timezone = xstrdup("UTC");
	p->activity_min_pv = min_pv;
	p->ranks = xcalloc(n, sizeof *p->ranks);
	p->n_ranks = n;
	int maxl = 0, any_bonus = 0;
	for (size_t r = 0; r < n; r++) {
		plan_rank *rk = &p->ranks[r];
		rk->id = xstrdup(rs[r].id);
		rk->has_pv = rs[r].pv != 0;
		rk->pv = rs[r].pv;
		rk->has_gv = rs[r].gv != 0;
		rk->gv = rs[r].gv;
		rk->has_max_leg_share = rs[r].max_leg_share != 0;
		rk->max_leg_share = rs[r].max_leg_share;
		rk->has_legs = rs[r].legs_count != 0;
		rk->legs_count = rs[r].legs_count;
		rk->legs_min_rank = rs[r].legs_min_rank;
		rk->has_active_recruits = rs[r].active_recruits != 0;
		rk->active_recruits = rs[r].active_recruits;
		rk->periods = rs[r].periods ? rs[r].periods : 1;
		if (rs[r].n_levels > maxl)
			maxl = rs[r].n_levels;
		if (rs[r].bonus)
			any_bonus = 1;
	}
	p->has_unilevel = maxl > 0;
	p->unilevel_dynamic = 1;
	p->unilevel_max_levels = maxl;
	p->unilevel_levels = xcalloc(n, sizeof *p->unilevel_levels);
	p->unilevel_rates = xcalloc(n * (size_t)(maxl ? maxl : 1), sizeof *p->unilevel_rates);
	p->advancement_bonus = xcalloc(n, sizeof *p->advancement_bonus);
	p->has_rank_advancement = any_bonus;
	for (size_t r = 0; r < n; r++) {
		p->unilevel_levels[r] = rs[r].n_levels;
		for (int k = 0; k < rs[r].n_levels; k++)
			p->unilevel_rates[r * (size_t)maxl + (size_t)k] = rs[r].levels[k];
		p->advancement_bonus[r] = rs[r].bonus;
	}
	return p;
}

static void plan_retail(plan *p, int64_t rate)
{
	p->has_retail = 1;
	p->retail_rate = rate;
}

static void plan_cap(plan *p, int64_t ratio)
{
	p->has_cap = 1;
	p->cap_payout_ratio = ratio;
}

static void plan_add_fee(plan *p, const char *name, int64_t amount)
{
	p->fees = xrealloc(p->fees, (p->n_fees + 1) * sizeof *p->fees);
	p->fees[p->n_fees].name = xstrdup(name);
	p->fees[p->n_fees].amount = amount;
	p->n_fees++;
}

/* ==== one period's input, built by hand ==================================================== */

#define TMAX 24   /* distributors of a hand example */
#define THIST 4   /* history stride: more than any test plan needs, on purpose */

typedef struct tcase {
	const plan *p;
	int32_t n;
	int32_t parent[TMAX];
	int64_t pv[TMAX], cv[TMAX], carried[TMAX];
	uint8_t term[TMAX], title[TMAX];
	uint8_t hist[TMAX * THIST];    /* hist[i * THIST + k]: q in period P-1-k */
	int64_t net_sales;
	engine_clawback claw[TMAX];
	size_t n_claw;
} tcase;

/* Adds distributor `id` (which must be the next index) under `parent`. */
static void add(tcase *t, int id, int parent, int64_t pv, int64_t cv)
{
	assert_int_equal(id, t->n);
	assert_true(t->n < TMAX);
	t->parent[id] = parent;
	t->pv[id] = pv;
	t->cv[id] = cv;
	t->n++;
}

static void add_clawback(tcase *t, int recipient, int level, int source, int64_t rate, int64_t base)
{
	assert_true(t->n_claw < TMAX);
	t->claw[t->n_claw++] = (engine_clawback){ .recipient = recipient, .level = level,
						  .source = source, .rate = rate, .base = base };
}

static engine_input input_of(const tcase *t)
{
	return (engine_input){
		.p = t->p, .n = t->n, .parent = t->parent, .pv = t->pv, .cv = t->cv,
		.terminated = t->term, .q_history = t->hist, .history = THIST, .title = t->title,
		.carried_in = t->carried, .net_sales = t->net_sales,
		.clawbacks = t->n_claw ? t->claw : NULL, .n_clawbacks = t->n_claw,
	};
}

/* ==== the reference model ================================================================== */

/* round_half_even(num / den), den > 0: written here again, not taken from money.c. */
static int64_t ref_round(__int128 num, __int128 den)
{
	__int128 q = num / den, r = num % den;
	if (r < 0) {
		q -= 1;
		r += den;
	}
	if (2 * r > den || (2 * r == den && (q % 2) != 0))
		q += 1;
	return (int64_t)q;
}

static int64_t ref_floor(__int128 num, __int128 den)
{
	__int128 q = num / den, r = num % den;
	if (r < 0)
		q -= 1;
	return (int64_t)q;
}

static int64_t ref_rate(int64_t base, int64_t rate)
{
	return ref_round((__int128)base * rate, RATE_ONE);
}

static int64_t model_unilevel_rate(const plan *p, int r, int k)
{
	if (!p->has_unilevel || k < 1 || k > p->unilevel_levels[r])
		return 0;
	return p->unilevel_rates[(size_t)r * (size_t)p->unilevel_max_levels + (size_t)(k - 1)];
}

typedef struct lines_buf {
	engine_line *v;
	size_t n, cap;
} lines_buf;

static void push(lines_buf *b, engine_line l)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->v = xrealloc(b->v, b->cap * sizeof *b->v);
	}
	b->v[b->n++] = l;
}

static int cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* engine.h's order: recipient; then type (retail, unilevel, rank_advancement,
 * cap_adjustment, clawback, fee, carry_in: the enum order); unilevel by level
 * then source; rank_advancement by rank; clawback by level, source, rate; fee
 * by plan order. One key sorts them all. */
static int line_cmp(const void *pa, const void *pb)
{
	const engine_line *a = pa, *b = pb;
	int c;
	if ((c = cmp64(a->recipient, b->recipient)) || (c = cmp64(a->type, b->type)) ||
	    (c = cmp64(a->level, b->level)) || (c = cmp64(a->source, b->source)) ||
	    (c = cmp64(a->rank, b->rank)) || (c = cmp64(a->fee, b->fee)) ||
	    (c = cmp64(a->rate, b->rate)))
		return c;
	return 0;
}

static engine_line mkline(int32_t recipient, int32_t type)
{
	return (engine_line){ .recipient = recipient, .type = type, .level = -1, .source = -1,
			      .rank = -1, .fee = -1 };
}

static int model_max_periods(const plan *p)
{
	int m = 1;
	for (size_t r = 0; r < p->n_ranks; r++)
		if (p->ranks[r].periods > m)
			m = p->ranks[r].periods;
	return m;
}

/* One period by the SPEC, in the most literal way. */
static int model_run(const engine_input *in, engine_output *out, pd_err *err)
{
	const plan *p = in->p;
	const int32_t n = in->n;
	memset(out, 0, sizeof *out);
	if (n < 0)
		return pd_errf(err, "model: n < 0");
	for (int32_t i = 0; i < n; i++)
		if (in->parent[i] < -1 || in->parent[i] >= i)
			return pd_errf(err, "model: parent of %d is %d", i, in->parent[i]);
	for (size_t c = 0; c < in->n_clawbacks; c++) {
		const engine_clawback *cb = &in->clawbacks[c];
		if (cb->recipient < 0 || cb->recipient >= n || cb->source < 0 || cb->source >= n)
			return pd_errf(err, "model: clawback %zu out of range", c);
	}
	if (in->history < model_max_periods(p) - 1)
		return pd_errf(err, "model: history too short");

	size_t nn = n > 0 ? (size_t)n : 1;
	int64_t *gv = xcalloc(nn, sizeof *gv);
	uint8_t *active = xcalloc(nn, 1), *q = xcalloc(nn, 1), *paid = xcalloc(nn, 1);
	uint8_t *best = xcalloc(nn, 1), *title = xcalloc(nn, 1);
	int32_t *nkids = xcalloc(nn + 1, sizeof *nkids), *kids = xcalloc(nn, sizeof *kids);
	int32_t *fill = xcalloc(nn + 1, sizeof *fill);
	int64_t *comm = xcalloc(nn, sizeof *comm), *capadj = xcalloc(nn, sizeof *capadj);
	int64_t *scaled = xcalloc(nn, sizeof *scaled);

	/* 6.2: active and GV. */
	for (int32_t i = 0; i < n; i++) {
		gv[i] = in->pv[i];
		active[i] = !in->terminated[i] && in->pv[i] >= p->activity_min_pv;
	}
	for (int32_t i = n - 1; i >= 0; i--)
		if (in->parent[i] >= 0)
			gv[in->parent[i]] += gv[i];

	/* children lists (CSR): kids of i are kids[nkids[i] .. nkids[i + 1]) */
	for (int32_t i = 0; i < n; i++)
		if (in->parent[i] >= 0)
			nkids[in->parent[i] + 1]++;
	for (int32_t i = 0; i < n; i++)
		nkids[i + 1] += nkids[i];
	for (int32_t i = 0; i < n; i++)
		if (in->parent[i] >= 0) {
			int32_t a = in->parent[i];
			kids[nkids[a] + fill[a]++] = i;
		}

	/* 6.3, 11.15-17: ranks bottom-up (recruits have higher indexes). */
	for (int32_t i = n - 1; i >= 0; i--) {
		q[i] = 0;
		paid[i] = 0;
		if (!in->terminated[i]) {
			for (int r = (int)p->n_ranks - 1; r >= 1; r--) {
				const plan_rank *rk = &p->ranks[r];
				int ok = 1;
				if (rk->has_pv && in->pv[i] < rk->pv)
					ok = 0;
				if (ok && rk->has_gv) {
					if (rk->has_max_leg_share) {
						__int128 lim = (__int128)rk->max_leg_share * rk->gv;
						__int128 sum = (__int128)in->pv[i] * RATE_ONE;
						for (int32_t k = nkids[i]; k < nkids[i + 1]; k++) {
							__int128 g = (__int128)gv[kids[k]] * RATE_ONE;
							sum += g < lim ? g : lim;
						}
						ok = sum >= (__int128)rk->gv * RATE_ONE;
					} else {
						ok = gv[i] >= rk->gv;
					}
				}
				if (ok && rk->has_legs) {
					int cnt = 0;
					for (int32_t k = nkids[i]; k < nkids[i + 1]; k++)
						cnt += best[kids[k]] >= rk->legs_min_rank;
					ok = cnt >= rk->legs_count;
				}
				if (ok && rk->has_active_recruits) {
					int cnt = 0;
					for (int32_t k = nkids[i]; k < nkids[i + 1]; k++)
						cnt += active[kids[k]];
					ok = cnt >= rk->active_recruits;
				}
				if (ok) {
					q[i] = (uint8_t)r;
					break;
				}
			}
			for (int r = (int)p->n_ranks - 1; r >= 1; r--) {
				int ok = q[i] >= r;
				for (int k = 0; ok && k < p->ranks[r].periods - 1; k++)
					ok = in->q_history[(size_t)i * (size_t)in->history + (size_t)k] >= r;
				if (ok) {
					paid[i] = (uint8_t)r;
					break;
				}
			}
		}
		best[i] = paid[i];
		for (int32_t k = nkids[i]; k < nkids[i + 1]; k++)
			if (best[kids[k]] > best[i])
				best[i] = best[kids[k]];
		title[i] = in->terminated[i] ? in->title[i]
					     : (paid[i] > in->title[i] ? paid[i] : in->title[i]);
	}

	lines_buf b = { 0 };
	/* 11.13: retail on own CV, not terminated, active or not. */
	if (p->has_retail && p->retail_rate > 0)
		for (int32_t i = 0; i < n; i++)
			if (!in->terminated[i] && in->cv[i] != 0) {
				engine_line l = mkline(i, LINE_RETAIL);
				l.source = i;
				l.base = in->cv[i];
				l.rate = p->retail_rate;
				l.amount = ref_rate(l.base, l.rate);
				push(&b, l);
			}
	/* 6.4, 11.18: unilevel walk. */
	if (p->has_unilevel)
		for (int32_t s = 0; s < n; s++) {
			if (in->cv[s] == 0)
				continue;
			int k = 0;
			for (int32_t a = in->parent[s]; a >= 0 && k < p->unilevel_max_levels;
			     a = in->parent[a]) {
				if (p->unilevel_dynamic && !active[a])
					continue;
				k++;
				if (!active[a])
					continue;
				int64_t rate = model_unilevel_rate(p, paid[a], k);
				if (rate <= 0)
					continue;
				engine_line l = mkline(a, LINE_UNILEVEL);
				l.level = k;
				l.source = s;
				l.base = in->cv[s];
				l.rate = rate;
				l.amount = ref_rate(l.base, rate);
				push(&b, l);
			}
		}
	/* 6.3, 11.14: one line per rank passed, active or not. */
	if (p->has_rank_advancement)
		for (int32_t i = 0; i < n; i++)
			for (int r = in->title[i] + 1; !in->terminated[i] && r <= title[i]; r++)
				if (p->advancement_bonus[r] > 0) {
					engine_line l = mkline(i, LINE_RANK_ADVANCEMENT);
					l.rank = r;
					l.amount = p->advancement_bonus[r];
					push(&b, l);
				}
	int64_t total = 0;
	for (size_t k = 0; k < b.n; k++) {
		comm[b.v[k].recipient] += b.v[k].amount;
		total += b.v[k].amount;
	}
	/* 11.2: the cap. */
	out->cap_limit = -1;
	if (p->has_cap) {
		int64_t limit = ref_floor((__int128)p->cap_payout_ratio * in->net_sales, RATE_ONE);
		if (limit < 0)
			limit = 0;
		out->cap_limit = limit;
		if (total > limit) {
			size_t ncomm = b.n;
			for (size_t k = 0; k < ncomm; k++)
				scaled[b.v[k].recipient] +=
					ref_floor((__int128)b.v[k].amount * limit, total);
			for (int32_t i = 0; i < n; i++) {
				capadj[i] = scaled[i] - comm[i];
				if (capadj[i] != 0) {
					engine_line l = mkline(i, LINE_CAP_ADJUSTMENT);
					l.amount = capadj[i];
					push(&b, l);
				}
			}
		}
	}
	/* 11.4: clawbacks, as given. */
	for (size_t c = 0; c < in->n_clawbacks; c++) {
		const engine_clawback *cb = &in->clawbacks[c];
		engine_line l = mkline(cb->recipient, LINE_CLAWBACK);
		l.level = cb->level;
		l.source = cb->source;
		l.base = cb->base;
		l.rate = cb->rate;
		l.amount = -ref_rate(cb->base, cb->rate);
		push(&b, l);
	}
	/* 11.5: fees. */
	for (int32_t i = 0; i < n; i++)
		if (!in->terminated[i] && comm[i] + capadj[i] > 0)
			for (size_t f = 0; f < p->n_fees; f++) {
				engine_line l = mkline(i, LINE_FEE);
				l.fee = (int32_t)f;
				l.amount = -p->fees[f].amount;
				push(&b, l);
			}
	/* 11.6: carry_in. */
	for (int32_t i = 0; i < n; i++)
		if (in->carried_in[i] != 0) {
			engine_line l = mkline(i, LINE_CARRY_IN);
			l.amount = in->carried_in[i];
			push(&b, l);
		}
	if (b.n)
		qsort(b.v, b.n, sizeof *b.v, line_cmp);

	out->res = xcalloc(nn, sizeof *out->res);
	out->first_line = xcalloc(nn + 1, sizeof *out->first_line);
	out->lines = b.v ? b.v : xcalloc(1, sizeof *out->lines);
	out->n_lines = b.n;
	for (size_t k = 0; k < b.n; k++) {
		engine_result *r = &out->res[b.v[k].recipient];
		r->n_lines++;
		switch (b.v[k].type) {
		case LINE_CAP_ADJUSTMENT: r->cap_adjustment += b.v[k].amount; break;
		case LINE_CLAWBACK: r->clawbacks += b.v[k].amount; break;
		case LINE_FEE: r->fees += b.v[k].amount; break;
		case LINE_CARRY_IN: r->carried_in += b.v[k].amount; break;
		default: r->commissions += b.v[k].amount; break;
		}
	}
	for (int32_t i = 0; i < n; i++) {
		engine_result *r = &out->res[i];
		out->first_line[i + 1] = out->first_line[i] + r->n_lines;
		r->active = active[i];
		r->qualified = q[i];
		r->paid_as = paid[i];
		r->title = title[i];
		r->gv = gv[i];
		r->payable = r->commissions + r->cap_adjustment + r->clawbacks + r->fees + r->carried_in;
		if (r->payable >= p->min_payout)
			r->paid = r->payable;
		else
			r->carried_out = r->payable;
		out->total_commissions += r->commissions;
		out->total_cap_adjustment += r->cap_adjustment;
		out->total_clawbacks += r->clawbacks;
		out->total_fees += r->fees;
		out->total_carried_in += r->carried_in;
		out->total_payable += r->payable;
		out->total_paid += r->paid;
		out->total_carried_out += r->carried_out;
	}
	free(gv);
	free(active);
	free(q);
	free(paid);
	free(best);
	free(title);
	free(nkids);
	free(kids);
	free(fill);
	free(comm);
	free(capadj);
	free(scaled);
	return 0;
}

static void model_free(engine_output *out)
{
	free(out->res);
	free(out->lines);
	free(out->first_line);
	memset(out, 0, sizeof *out);
}

/* ==== the implementations under test ======================================================== */

typedef struct impl {
	const char *name;
	int (*run)(const engine_input *, engine_output *, pd_err *);
	void (*free)(engine_output *);
} impl;

static const impl impls[] = {
#ifndef TEST_ENGINE_MODEL_ONLY
	{ "engine", engine_run, engine_output_free },
#endif
	{ "model", model_run, model_free },
};
#define N_IMPLS (sizeof impls / sizeof impls[0])

static const char *cur_impl = "?";

/* ==== checks ================================================================================ */

static void check_eq_(long long got, long long want, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void check_eq_(long long got, long long want, int line, const char *fmt, ...)
{
	if (got == want)
		return;
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	print_error("[%s] %s: got %lld, want %lld\n", cur_impl, what, got, want);
	_fail(__FILE__, line);
}
#define CHK(line, got, want, ...) check_eq_((long long)(got), (long long)(want), (line), __VA_ARGS__)

static const char *const type_names[LINE_N_TYPES] = {
	[LINE_RETAIL] = "retail", [LINE_UNILEVEL] = "unilevel", [LINE_RANK_ADVANCEMENT] = "rank_advancement",
	[LINE_DIFFERENTIAL] = "differential", [LINE_BINARY] = "binary", [LINE_FAST_START] = "fast_start",
	[LINE_POOL] = "pool", [LINE_MATCHING] = "matching", [LINE_CAP_ADJUSTMENT] = "cap_adjustment",
	[LINE_CLAWBACK] = "clawback", [LINE_FEE] = "fee", [LINE_CARRY_IN] = "carry_in",
};

static const char *tname(int32_t t)
{
	return t >= 0 && t < LINE_N_TYPES ? type_names[t] : "?";
}

/* The expected result of one distributor; every field is asserted. */
typedef struct xres {
	int active, qualified, paid_as, title;
	int64_t gv, commissions, cap_adjustment, clawbacks, fees, carried_in;
	int64_t payable, paid, carried_out;
} xres;

static void expect_res_(const engine_output *o, int i, xres e, int line)
{
	const engine_result *r = &o->res[i];
	CHK(line, r->active, e.active, "distributor %d active", i);
	CHK(line, r->qualified, e.qualified, "distributor %d qualified", i);
	CHK(line, r->paid_as, e.paid_as, "distributor %d paid_as", i);
	CHK(line, r->title, e.title, "distributor %d title", i);
	CHK(line, r->gv, e.gv, "distributor %d gv", i);
	CHK(line, r->commissions, e.commissions, "distributor %d commissions", i);
	CHK(line, r->cap_adjustment, e.cap_adjustment, "distributor %d cap_adjustment", i);
	CHK(line, r->clawbacks, e.clawbacks, "distributor %d clawbacks", i);
	CHK(line, r->fees, e.fees, "distributor %d fees", i);
	CHK(line, r->carried_in, e.carried_in, "distributor %d carried_in", i);
	CHK(line, r->payable, e.payable, "distributor %d payable", i);
	CHK(line, r->paid, e.paid, "distributor %d paid", i);
	CHK(line, r->carried_out, e.carried_out, "distributor %d carried_out", i);
}
#define EXPECT_RES(o, i, ...) expect_res_((o), (i), (xres){ __VA_ARGS__ }, __LINE__)

/* Expected lines (the recipient is the distributor they are expected for). */
#define RETAIL(src, b, r, a) \
	{ .type = LINE_RETAIL, .level = -1, .source = (src), .rank = -1, .fee = -1, \
	  .base = (b), .rate = (r), .amount = (a) }
#define UNI(lv, src, b, r, a) \
	{ .type = LINE_UNILEVEL, .level = (lv), .source = (src), .rank = -1, .fee = -1, \
	  .base = (b), .rate = (r), .amount = (a) }
#define ADV(rk, a) \
	{ .type = LINE_RANK_ADVANCEMENT, .level = -1, .source = -1, .rank = (rk), .fee = -1, \
	  .base = 0, .rate = 0, .amount = (a) }
#define CAP(a) \
	{ .type = LINE_CAP_ADJUSTMENT, .level = -1, .source = -1, .rank = -1, .fee = -1, \
	  .base = 0, .rate = 0, .amount = (a) }
#define CLAW(lv, src, b, r, a) \
	{ .type = LINE_CLAWBACK, .level = (lv), .source = (src), .rank = -1, .fee = -1, \
	  .base = (b), .rate = (r), .amount = (a) }
#define FEE(f, a) \
	{ .type = LINE_FEE, .level = -1, .source = -1, .rank = -1, .fee = (f), \
	  .base = 0, .rate = 0, .amount = (a) }
#define CARRY(a) \
	{ .type = LINE_CARRY_IN, .level = -1, .source = -1, .rank = -1, .fee = -1, \
	  .base = 0, .rate = 0, .amount = (a) }

static void expect_lines_(const engine_output *o, int i, const engine_line *want, size_t n, int line)
{
	uint32_t from = o->first_line[i], to = o->first_line[i + 1];
	CHK(line, to - from, n, "distributor %d: number of lines", i);
	CHK(line, o->res[i].n_lines, n, "distributor %d: res.n_lines", i);
	for (size_t k = 0; k < n && from + k < to; k++) {
		const engine_line *g = &o->lines[from + k], *w = &want[k];
		CHK(line, g->recipient, i, "distributor %d line %zu recipient", i, k);
		CHK(line, g->type, w->type, "distributor %d line %zu type (got %s, want %s)", i, k,
		    tname(g->type), tname(w->type));
		CHK(line, g->level, w->level, "distributor %d line %zu (%s) level", i, k, tname(w->type));
		CHK(line, g->source, w->source, "distributor %d line %zu (%s) source", i, k, tname(w->type));
		CHK(line, g->rank, w->rank, "distributor %d line %zu (%s) rank", i, k, tname(w->type));
		CHK(line, g->fee, w->fee, "distributor %d line %zu (%s) fee", i, k, tname(w->type));
		CHK(line, g->base, w->base, "distributor %d line %zu (%s) base", i, k, tname(w->type));
		CHK(line, g->rate, w->rate, "distributor %d line %zu (%s) rate", i, k, tname(w->type));
		CHK(line, g->amount, w->amount, "distributor %d line %zu (%s) amount", i, k, tname(w->type));
	}
}
#define EXPECT_LINES(o, i, ...) \
	expect_lines_((o), (i), (const engine_line[]){ __VA_ARGS__ }, \
		      sizeof((const engine_line[]){ __VA_ARGS__ }) / sizeof(engine_line), __LINE__)
#define EXPECT_NO_LINES(o, i) expect_lines_((o), (i), NULL, 0, __LINE__)

typedef struct xtot {
	int64_t commissions, cap_adjustment, clawbacks, fees, carried_in, payable, paid, carried_out;
	int64_t cap_limit;
	size_t n_lines;
} xtot;

static void expect_totals_(const engine_output *o, xtot e, int line)
{
	CHK(line, o->total_commissions, e.commissions, "total_commissions");
	CHK(line, o->total_cap_adjustment, e.cap_adjustment, "total_cap_adjustment");
	CHK(line, o->total_clawbacks, e.clawbacks, "total_clawbacks");
	CHK(line, o->total_fees, e.fees, "total_fees");
	CHK(line, o->total_carried_in, e.carried_in, "total_carried_in");
	CHK(line, o->total_payable, e.payable, "total_payable");
	CHK(line, o->total_paid, e.paid, "total_paid");
	CHK(line, o->total_carried_out, e.carried_out, "total_carried_out");
	CHK(line, o->cap_limit, e.cap_limit, "cap_limit");
	CHK(line, o->n_lines, e.n_lines, "n_lines");
}
#define EXPECT_TOTALS(o, ...) expect_totals_((o), (xtot){ __VA_ARGS__ }, __LINE__)

/*
 * Properties every output must have, whatever the tree (SPEC 6.2, 6.6, 11.2,
 * 11.5-11.8, 11.13, 11.14 and engine.h's line order). Checked on every run of
 * every test, hand-built or random.
 */
static void check_invariants(const engine_input *in, const engine_output *o)
{
	const plan *p = in->p;
	const int L = __LINE__;
	CHK(L, o->first_line[0], 0, "first_line[0]");
	CHK(L, o->first_line[in->n], o->n_lines, "first_line[n] == n_lines");
	int64_t tot[8] = { 0 };
	int64_t all_comm = 0;
	for (int32_t i = 0; i < in->n; i++) {
		const engine_result *r = &o->res[i];
		uint32_t from = o->first_line[i], to = o->first_line[i + 1];
		CHK(L, to >= from, 1, "first_line of %d not increasing", i);
		CHK(L, r->n_lines, to - from, "res[%d].n_lines vs first_line", i);
		int64_t sum[LINE_CARRY_IN + 1] = { 0 }, all = 0;
		int n_cap = 0, n_carry = 0, n_fee = 0;
		for (uint32_t k = from; k < to; k++) {
			const engine_line *l = &o->lines[k];
			CHK(L, l->recipient, i, "line %u recipient", k);
			CHK(L, l->type >= LINE_RETAIL && l->type <= LINE_CARRY_IN, 1, "line %u type", k);
			if (k > from)
				CHK(L, line_cmp(&o->lines[k - 1], l) < 0, 1,
				    "distributor %d: line %u (%s) out of order after %s", i, k,
				    tname(l->type), tname(o->lines[k - 1].type));
			sum[l->type] += l->amount;
			all += l->amount;
			switch (l->type) {
			case LINE_RETAIL:
				CHK(L, l->source, i, "retail line %u source", k);
				CHK(L, l->level, -1, "retail line %u level", k);
				/* fallthrough */
			case LINE_UNILEVEL:
				CHK(L, l->base != 0 && l->rate > 0, 1, "line %u: base 0 or rate 0 (11.7)", k);
				CHK(L, l->amount, ref_rate(l->base, l->rate), "line %u amount", k);
				CHK(L, in->terminated[i], 0, "terminated %d earns %s", i, tname(l->type));
				if (l->type == LINE_UNILEVEL) {
					CHK(L, l->level >= 1 && l->level <= p->unilevel_max_levels, 1,
					    "unilevel line %u level %d", k, l->level);
					CHK(L, r->active, 1, "inactive %d earns an override", i);
				}
				break;
			case LINE_RANK_ADVANCEMENT:
				CHK(L, in->terminated[i], 0, "terminated %d earns a bonus", i);
				CHK(L, l->rank > in->title[i] && l->rank <= r->title, 1, "bonus rank %d", l->rank);
				CHK(L, l->amount, p->advancement_bonus[l->rank], "bonus amount");
				break;
			case LINE_CAP_ADJUSTMENT:
				n_cap++;
				CHK(L, l->amount < 0, 1, "cap_adjustment line of %d not negative", i);
				break;
			case LINE_CLAWBACK:
				CHK(L, l->base > 0, 1, "clawback base positive");
				CHK(L, l->amount, -ref_rate(l->base, l->rate), "clawback amount");
				break;
			case LINE_FEE:
				CHK(L, l->fee, n_fee, "fee line of %d in plan order", i);
				CHK(L, (size_t)l->fee < p->n_fees, 1, "fee index");
				if ((size_t)l->fee < p->n_fees)
					CHK(L, l->amount, -p->fees[l->fee].amount, "fee amount");
				n_fee++;
				break;
			case LINE_CARRY_IN:
				n_carry++;
				break;
			}
		}
		int64_t comm = sum[LINE_RETAIL] + sum[LINE_UNILEVEL] + sum[LINE_RANK_ADVANCEMENT];
		CHK(L, r->commissions, comm, "res[%d].commissions == its commission lines", i);
		CHK(L, r->cap_adjustment, sum[LINE_CAP_ADJUSTMENT], "res[%d].cap_adjustment", i);
		CHK(L, r->clawbacks, sum[LINE_CLAWBACK], "res[%d].clawbacks", i);
		CHK(L, r->fees, sum[LINE_FEE], "res[%d].fees", i);
		CHK(L, r->carried_in, sum[LINE_CARRY_IN], "res[%d].carried_in", i);
		CHK(L, r->carried_in, in->carried_in[i], "res[%d].carried_in == input", i);
		CHK(L, n_carry, in->carried_in[i] != 0, "carry_in line of %d", i);
		CHK(L, n_cap <= 1, 1, "one cap_adjustment line at most for %d", i);
		CHK(L, r->payable, all, "payable of %d == sum of its lines", i);
		CHK(L, r->payable,
		    r->commissions + r->cap_adjustment + r->clawbacks + r->fees + r->carried_in,
		    "payable of %d == commissions + cap + clawbacks + fees + carried_in", i);
		CHK(L, r->paid + r->carried_out, r->payable, "paid + carried_out of %d", i);
		CHK(L, r->paid == 0 || r->paid == r->payable, 1, "paid of %d is 0 or payable", i);
		if (r->payable >= p->min_payout) {
			CHK(L, r->paid, r->payable, "payable of %d >= min_payout is paid", i);
		} else {
			CHK(L, r->paid, 0, "payable of %d < min_payout is not paid", i);
			CHK(L, r->carried_out, r->payable, "payable of %d < min_payout is carried", i);
		}
		int fee_due = !in->terminated[i] && r->commissions + r->cap_adjustment > 0;
		CHK(L, n_fee, fee_due ? (int)p->n_fees : 0, "fees of %d (11.5)", i);
		CHK(L, r->active, !in->terminated[i] && in->pv[i] >= p->activity_min_pv, "active %d", i);
		CHK(L, r->paid_as <= r->qualified, 1, "paid_as <= qualified for %d", i);
		CHK(L, r->qualified < p->n_ranks, 1, "qualified in range for %d", i);
		if (in->terminated[i]) {
			CHK(L, r->qualified, 0, "terminated %d qualified", i);
			CHK(L, r->paid_as, 0, "terminated %d paid_as", i);
			CHK(L, r->title, in->title[i], "terminated %d title frozen", i);
		} else {
			CHK(L, r->title, in->title[i] > r->paid_as ? in->title[i] : r->paid_as,
			    "title of %d = max(title before, paid_as)", i);
		}
		/* GV = PV + the GV of the recruits (recomputed here, top-down sum). */
		int64_t g = in->pv[i];
		for (int32_t j = i + 1; j < in->n; j++)
			if (in->parent[j] == i)
				g += o->res[j].gv;
		CHK(L, r->gv, g, "gv of %d", i);
		tot[0] += r->commissions;
		tot[1] += r->cap_adjustment;
		tot[2] += r->clawbacks;
		tot[3] += r->fees;
		tot[4] += r->carried_in;
		tot[5] += r->payable;
		tot[6] += r->paid;
		tot[7] += r->carried_out;
		all_comm += comm;
	}
	CHK(L, o->total_commissions, tot[0], "total_commissions == sum");
	CHK(L, o->total_cap_adjustment, tot[1], "total_cap_adjustment == sum");
	CHK(L, o->total_clawbacks, tot[2], "total_clawbacks == sum");
	CHK(L, o->total_fees, tot[3], "total_fees == sum");
	CHK(L, o->total_carried_in, tot[4], "total_carried_in == sum");
	CHK(L, o->total_payable, tot[5], "total_payable == sum");
	CHK(L, o->total_paid, tot[6], "total_paid == sum");
	CHK(L, o->total_carried_out, tot[7], "total_carried_out == sum");
	if (p->has_cap) {
		int64_t limit = ref_floor((__int128)p->cap_payout_ratio * in->net_sales, RATE_ONE);
		if (limit < 0)
			limit = 0;
		CHK(L, o->cap_limit, limit, "cap_limit = max(0, floor(ratio x net sales))");
		if (all_comm > limit)
			CHK(L, o->total_commissions + o->total_cap_adjustment <= limit, 1,
			    "capped commissions %lld exceed the limit %lld",
			    (long long)(o->total_commissions + o->total_cap_adjustment), (long long)limit);
		else
			CHK(L, o->total_cap_adjustment, 0, "no cap adjustment under the limit");
	} else {
		CHK(L, o->cap_limit, -1, "cap_limit without a cap");
		CHK(L, o->total_cap_adjustment, 0, "no cap adjustment without a cap");
	}
}

/* Runs implementation k on the case, asserting success and the invariants. */
static void run_impl(size_t k, const engine_input *in, engine_output *out)
{
	pd_err err = { { 0 } };
	cur_impl = impls[k].name;
	memset(out, 0, sizeof *out);
	int rc = impls[k].run(in, out, &err);
	if (rc != 0)
		fail_msg("[%s] run failed: %s", impls[k].name, err.msg);
	check_invariants(in, out);
}

/* Every hand example runs once per implementation: `o` is that run's output. */
#define FOR_EACH_IMPL(k, in, o) \
	for (size_t k = 0; k < N_IMPLS; k++) \
		for (engine_output o, *o##_once = (run_impl(k, (in), &o), &o); o##_once; \
		     impls[k].free(&o), o##_once = NULL)

/* ==== 1. three-level unilevel on a chain ==================================================== */

/*
 * Plan: activity.min_pv 100; ranks partner, bronze {pv 100, gv 1000};
 * retail 20%; unilevel dynamic, partner [5%], bronze [5%, 4%, 3%] (longest
 * list 3); no cap, no fees, min_payout 0.
 *
 * Tree (sponsor <- recruit):  A <- B <- C <- E <- F,  and A <- D.
 *
 *     id  parent   PV       CV      GV = PV + recruits' GV
 *     A   -      250.00   200.00   250 + 1020 + 50 = 1320.00   bronze (pv 250, gv 1320)
 *     B   A      150.00   100.00   150 + 870       = 1020.00   bronze (pv 150, gv 1020)
 *     C   B      150.00   150.00   150 + 720       =  870.00   partner (gv < 1000)
 *     E   C      120.00    80.00   120 + 600       =  720.00   partner
 *     F   E      600.00   250.00                      600.00   partner (gv < 1000)
 *     D   A       50.00    40.00                       50.00   partner, INACTIVE (pv < 100)
 */
static void test_unilevel_chain(void **state)
{
	(void)state;
	enum { A, B, C, E, F, D };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 1, .levels = { 50000 } },
		{ .id = "bronze", .pv = 10000, .gv = 100000, .n_levels = 3,
		  .levels = { 50000, 40000, 30000 } },
	};
	plan *p = plan_build(10000, rs, 2);
	plan_retail(p, 200000);
	tcase t = { .p = p };
	add(&t, A, -1, 25000, 20000);
	add(&t, B, A, 15000, 10000);
	add(&t, C, B, 15000, 15000);
	add(&t, E, C, 12000, 8000);
	add(&t, F, E, 60000, 25000);
	add(&t, D, A, 5000, 4000);
	engine_input in = input_of(&t);

	FOR_EACH_IMPL(k, &in, o) {
		/*
		 * Retail, 20% of own CV, everyone (D too, though inactive):
		 *   A 200.00 x 20% = 40.00   B 100.00 x 20% = 20.00   C 150.00 x 20% = 30.00
		 *   E  80.00 x 20% = 16.00   F 250.00 x 20% = 50.00   D  40.00 x 20% =  8.00
		 * Unilevel, walking up from each seller (all uplines active):
		 *   F 250.00: E lvl1 partner 5% = 12.50; C lvl2 partner (list of 1) -> no line;
		 *             B lvl3 bronze 3% = 7.50; A would be lvl4 > 3: the walk stops.
		 *   E  80.00: C lvl1 5% = 4.00; B lvl2 bronze 4% = 3.20; A lvl3 bronze 3% = 2.40
		 *   C 150.00: B lvl1 5% = 7.50; A lvl2 bronze 4% = 6.00
		 *   B 100.00: A lvl1 5% = 5.00
		 *   D  40.00: A lvl1 5% = 2.00 (an inactive seller still pays its uplines)
		 */
		/* A: 40.00 + 5.00 + 2.00 + 6.00 + 2.40 = 55.40 */
		EXPECT_LINES(&o, A, RETAIL(A, 20000, 200000, 4000),
			     UNI(1, B, 10000, 50000, 500), UNI(1, D, 4000, 50000, 200),
			     UNI(2, C, 15000, 40000, 600), UNI(3, E, 8000, 30000, 240));
		EXPECT_RES(&o, A, .active = 1, .qualified = 1, .paid_as = 1, .title = 1,
			   .gv = 132000, .commissions = 5540, .payable = 5540, .paid = 5540);
		/* B: 20.00 + 7.50 + 3.20 + 7.50 = 38.20 */
		EXPECT_LINES(&o, B, RETAIL(B, 10000, 200000, 2000), UNI(1, C, 15000, 50000, 750),
			     UNI(2, E, 8000, 40000, 320), UNI(3, F, 25000, 30000, 750));
		EXPECT_RES(&o, B, .active = 1, .qualified = 1, .paid_as = 1, .title = 1,
			   .gv = 102000, .commissions = 3820, .payable = 3820, .paid = 3820);
		/* C: 30.00 + 4.00 = 34.00 */
		EXPECT_LINES(&o, C, RETAIL(C, 15000, 200000, 3000), UNI(1, E, 8000, 50000, 400));
		EXPECT_RES(&o, C, .active = 1, .gv = 87000, .commissions = 3400, .payable = 3400,
			   .paid = 3400);
		/* E: 16.00 + 12.50 = 28.50 */
		EXPECT_LINES(&o, E, RETAIL(E, 8000, 200000, 1600), UNI(1, F, 25000, 50000, 1250));
		EXPECT_RES(&o, E, .active = 1, .gv = 72000, .commissions = 2850, .payable = 2850,
			   .paid = 2850);
		EXPECT_LINES(&o, F, RETAIL(F, 25000, 200000, 5000));
		EXPECT_RES(&o, F, .active = 1, .gv = 60000, .commissions = 5000, .payable = 5000,
			   .paid = 5000);
		EXPECT_LINES(&o, D, RETAIL(D, 4000, 200000, 800));
		EXPECT_RES(&o, D, .active = 0, .gv = 5000, .commissions = 800, .payable = 800,
			   .paid = 800);
		/* 55.40 + 38.20 + 34.00 + 28.50 + 50.00 + 8.00 = 214.10; 5+4+2+2+1+1 = 15 lines */
		EXPECT_TOTALS(&o, .commissions = 21410, .payable = 21410, .paid = 21410,
			      .cap_limit = -1, .n_lines = 15);
	}
	plan_free(p);
}

/* ==== 2. compression: dynamic vs none ======================================================== */

/*
 * Plan: activity.min_pv 100; one rank, partner [5%, 4%, 3%]; retail 10%;
 * fee "statement fee" 1.50; no cap; min_payout 0.
 *
 * Chain: A <- B <- T <- C <- S.
 *
 *     id  parent   PV       CV      GV
 *     A   -      100.00     0.00   100 + 510 = 610.00   active
 *     B   A       60.00    60.00    60 + 450 = 510.00   INACTIVE (pv 60 < 100)
 *     T   B      200.00   100.00   200 + 250 = 450.00   TERMINATED (its PV still in GV)
 *     C   T      100.00    20.00   100 + 150 = 250.00   active
 *     S   C      150.00   300.00               150.00   active
 */
static void test_compression(void **state)
{
	(void)state;
	enum { A, B, T, C, S };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 3, .levels = { 50000, 40000, 30000 } },
	};
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 100000);
	plan_add_fee(p, "statement fee", 150);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 0);
	add(&t, B, A, 6000, 6000);
	add(&t, T, B, 20000, 10000);
	add(&t, C, T, 10000, 2000);
	add(&t, S, C, 15000, 30000);
	t.term[T] = 1;
	engine_input in = input_of(&t);

	/*
	 * dynamic: B (inactive) and T (terminated) are passed over and use no level.
	 *   S 300.00: C lvl1 5% = 15.00; T skip; B skip; A lvl2 4% = 12.00; root.
	 *   C  20.00: T skip; B skip; A lvl1 5% = 1.00
	 *   T 100.00: B skip; A lvl1 5% = 5.00   (a terminated seller's CV still pays)
	 *   B  60.00: A lvl1 5% = 3.00
	 * Retail 10%: A none (CV 0: no line); B 60.00 -> 6.00 (inactive still earns
	 * retail); T none (terminated); C 20.00 -> 2.00; S 300.00 -> 30.00.
	 * Fee 1.50 to everyone with commissions > 0 (B too: fees follow earnings,
	 * not activity); T has no line at all.
	 */
	FOR_EACH_IMPL(k, &in, o) {
		/* A: 3.00 + 5.00 + 1.00 + 12.00 = 21.00; payable 21.00 - 1.50 = 19.50 */
		EXPECT_LINES(&o, A, UNI(1, B, 6000, 50000, 300), UNI(1, T, 10000, 50000, 500),
			     UNI(1, C, 2000, 50000, 100), UNI(2, S, 30000, 40000, 1200), FEE(0, -150));
		EXPECT_RES(&o, A, .active = 1, .gv = 61000, .commissions = 2100, .fees = -150,
			   .payable = 1950, .paid = 1950);
		EXPECT_LINES(&o, B, RETAIL(B, 6000, 100000, 600), FEE(0, -150));
		EXPECT_RES(&o, B, .active = 0, .gv = 51000, .commissions = 600, .fees = -150,
			   .payable = 450, .paid = 450);
		EXPECT_NO_LINES(&o, T);
		EXPECT_RES(&o, T, .active = 0, .gv = 45000);
		/* C: 2.00 + 15.00 = 17.00; 17.00 - 1.50 = 15.50 */
		EXPECT_LINES(&o, C, RETAIL(C, 2000, 100000, 200), UNI(1, S, 30000, 50000, 1500),
			     FEE(0, -150));
		EXPECT_RES(&o, C, .active = 1, .gv = 25000, .commissions = 1700, .fees = -150,
			   .payable = 1550, .paid = 1550);
		EXPECT_LINES(&o, S, RETAIL(S, 30000, 100000, 3000), FEE(0, -150));
		EXPECT_RES(&o, S, .active = 1, .gv = 15000, .commissions = 3000, .fees = -150,
			   .payable = 2850, .paid = 2850);
		/* 21.00 + 6.00 + 17.00 + 30.00 = 74.00; fees 4 x 1.50 = 6.00 */
		EXPECT_TOTALS(&o, .commissions = 7400, .fees = -600, .payable = 6800, .paid = 6800,
			      .cap_limit = -1, .n_lines = 12);
	}

	/*
	 * none: every upline uses up a level; inactive and terminated ones earn
	 * nothing on it.
	 * READING (6.4 vs 11.8): under `none` a terminated upline uses up a level
	 * like an inactive one. 6.4 says "with none they use up a level", "they"
	 * being the "inactive (or terminated) uplines" of the sentence before;
	 * 11.8's "compression skips it" is about dynamic compression.
	 *   S 300.00: C lvl1 5% = 15.00; T lvl2 nothing; B lvl3 nothing; stop (3 levels).
	 *             A earns nothing on S.
	 *   C  20.00: T lvl1 nothing; B lvl2 nothing; A lvl3 3% = 0.60
	 *   T 100.00: B lvl1 nothing; A lvl2 4% = 4.00
	 *   B  60.00: A lvl1 5% = 3.00
	 */
	p->unilevel_dynamic = 0;
	FOR_EACH_IMPL(k, &in, o) {
		/* A: 3.00 + 4.00 + 0.60 = 7.60; 7.60 - 1.50 = 6.10 */
		EXPECT_LINES(&o, A, UNI(1, B, 6000, 50000, 300), UNI(2, T, 10000, 40000, 400),
			     UNI(3, C, 2000, 30000, 60), FEE(0, -150));
		EXPECT_RES(&o, A, .active = 1, .gv = 61000, .commissions = 760, .fees = -150,
			   .payable = 610, .paid = 610);
		EXPECT_LINES(&o, B, RETAIL(B, 6000, 100000, 600), FEE(0, -150));
		EXPECT_RES(&o, B, .active = 0, .gv = 51000, .commissions = 600, .fees = -150,
			   .payable = 450, .paid = 450);
		EXPECT_NO_LINES(&o, T);
		EXPECT_RES(&o, T, .active = 0, .gv = 45000);
		EXPECT_LINES(&o, C, RETAIL(C, 2000, 100000, 200), UNI(1, S, 30000, 50000, 1500),
			     FEE(0, -150));
		EXPECT_RES(&o, C, .active = 1, .gv = 25000, .commissions = 1700, .fees = -150,
			   .payable = 1550, .paid = 1550);
		EXPECT_LINES(&o, S, RETAIL(S, 30000, 100000, 3000), FEE(0, -150));
		EXPECT_RES(&o, S, .active = 1, .gv = 15000, .commissions = 3000, .fees = -150,
			   .payable = 2850, .paid = 2850);
		/* 7.60 + 6.00 + 17.00 + 30.00 = 60.60 */
		EXPECT_TOTALS(&o, .commissions = 6060, .fees = -600, .payable = 5460, .paid = 5460,
			      .cap_limit = -1, .n_lines = 11);
	}
	plan_free(p);
}

/* ==== 3. rank qualification ================================================================= */

/*
 * max_leg_share (SPEC 11.17): PV + sum(min(GV(leg), s x gv)) >= gv, exact.
 *
 * Plan 1: partner, silver {gv 5000.00, max_leg_share 0.5}: a leg counts at
 * most 0.5 x 5000.00 = 2500.00.
 *   X (pv 100.00) legs X1 GV 2600.00, X2 GV 2400.00:
 *       100.00 + min(2600, 2500) + min(2400, 2500) = 100 + 2500 + 2400 = 5000.00 >= 5000  silver (boundary)
 *   Y (pv 100.00) legs Y1 GV 4000.00, Y2 GV 2399.99 (plain GV 6499.99 >= 5000, but):
 *       100.00 + 2500.00 + 2399.99 = 4999.99 < 5000                                    partner
 *   W (pv 5000.00, no legs): own PV counts fully, 5000.00 >= 5000                       silver
 *
 * Plan 2: partner, exact {gv 1000.00, max_leg_share 0.499999}: a leg counts at
 * most 0.499999 x 1000.00 = 499.999 (a fraction of a cent: nothing rounds).
 *   Z  (pv 0.01) legs of GV 500.00 and 500.00:  0.01 + 499.999 + 499.999 = 1000.008 >= 1000  exact
 *       (a leg limit floored to 499.99 would give 999.99 and fail)
 *   Z' (pv 0.00) same legs:                     0.00 + 999.998 = 999.998 < 1000             partner
 *       (a leg limit rounded to 500.00 would give 1000.00 and pass)
 */
static void test_rank_max_leg_share(void **state)
{
	(void)state;
	{
		enum { X, X1, X2, Y, Y1, Y2, W };
		static const rank_spec rs[] = {
			{ .id = "partner" },
			{ .id = "silver", .gv = 500000, .max_leg_share = 500000 },
		};
		plan *p = plan_build(10000, rs, 2);
		tcase t = { .p = p };
		add(&t, X, -1, 10000, 0);
		add(&t, X1, X, 260000, 0);
		add(&t, X2, X, 240000, 0);
		add(&t, Y, -1, 10000, 0);
		add(&t, Y1, Y, 400000, 0);
		add(&t, Y2, Y, 239999, 0);
		add(&t, W, -1, 500000, 0);
		engine_input in = input_of(&t);
		FOR_EACH_IMPL(k, &in, o) {
			EXPECT_RES(&o, X, .active = 1, .qualified = 1, .paid_as = 1, .title = 1,
				   .gv = 510000);
			EXPECT_RES(&o, X1, .active = 1, .gv = 260000); /* 2600 < 5000: partner */
			EXPECT_RES(&o, X2, .active = 1, .gv = 240000);
			EXPECT_RES(&o, Y, .active = 1, .gv = 649999);
			EXPECT_RES(&o, Y1, .active = 1, .gv = 400000);
			EXPECT_RES(&o, Y2, .active = 1, .gv = 239999);
			EXPECT_RES(&o, W, .active = 1, .qualified = 1, .paid_as = 1, .title = 1,
				   .gv = 500000);
			EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
		}
		plan_free(p);
	}
	{
		enum { Z, Z1, Z2, ZP, ZP1, ZP2 };
		static const rank_spec rs[] = {
			{ .id = "partner" },
			{ .id = "exact", .gv = 100000, .max_leg_share = 499999 },
		};
		plan *p = plan_build(10000, rs, 2);
		tcase t = { .p = p };
		add(&t, Z, -1, 1, 0);
		add(&t, Z1, Z, 50000, 0);
		add(&t, Z2, Z, 50000, 0);
		add(&t, ZP, -1, 0, 0);
		add(&t, ZP1, ZP, 50000, 0);
		add(&t, ZP2, ZP, 50000, 0);
		engine_input in = input_of(&t);
		FOR_EACH_IMPL(k, &in, o) {
			EXPECT_RES(&o, Z, .active = 0, .qualified = 1, .paid_as = 1, .title = 1,
				   .gv = 100001);
			EXPECT_RES(&o, Z1, .active = 1, .gv = 50000);
			EXPECT_RES(&o, Z2, .active = 1, .gv = 50000);
			EXPECT_RES(&o, ZP, .active = 0, .gv = 100000);
			EXPECT_RES(&o, ZP1, .active = 1, .gv = 50000);
			EXPECT_RES(&o, ZP2, .active = 1, .gv = 50000);
		}
		plan_free(p);
	}
}

/*
 * legs (SPEC 11.16): a first-level leg counts when ANY member, however deep,
 * has paid-as >= min_rank; a leg counts once however many such members.
 *
 * Plan: partner, bronze {pv 100, gv 1000}, silver {pv 100, legs {2, bronze}};
 * activity.min_pv 100.
 *
 *   A (pv 100)                                        GV 100+1020+1050+500 = 2670  bronze ok;
 *   |- B (pv 10)                                        GV 1020, pv 10 < 100: partner
 *   |  `- C (pv 10)                                     GV 1010, partner
 *   |     `- D (pv 1000)                                GV 1000 >= 1000: bronze (boundary)
 *   |- E (pv 100)                                       GV 1050: bronze
 *   |  `- F (pv 950)                                    GV 950: partner
 *   `- G (pv 500)                                       GV 500: partner
 *   legs of A: B-leg (D is bronze, 3 deep) yes, E-leg yes, G-leg no: 2 >= 2  -> A silver
 *
 *   H (pv 100)                                        GV 100+2000+50 = 2150  bronze ok;
 *   |- I (pv 1000)                                      GV 2000: bronze (its 1 leg: no silver)
 *   |  `- K (pv 1000)                                   GV 1000: bronze
 *   `- J (pv 50)                                        GV 50: partner, inactive
 *   legs of H: I-leg (I and K: counts once) yes, J-leg no: 1 < 2  -> H bronze
 */
static void test_rank_legs(void **state)
{
	(void)state;
	enum { A, B, C, D, E, F, G, H, I, K, J };
	static const rank_spec rs[] = {
		{ .id = "partner" },
		{ .id = "bronze", .pv = 10000, .gv = 100000 },
		{ .id = "silver", .pv = 10000, .legs_count = 2, .legs_min_rank = 1 },
	};
	plan *p = plan_build(10000, rs, 3);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 0);
	add(&t, B, A, 1000, 0);
	add(&t, C, B, 1000, 0);
	add(&t, D, C, 100000, 0);
	add(&t, E, A, 10000, 0);
	add(&t, F, E, 95000, 0);
	add(&t, G, A, 50000, 0);
	add(&t, H, -1, 10000, 0);
	add(&t, I, H, 100000, 0);
	add(&t, K, I, 100000, 0);
	add(&t, J, H, 5000, 0);
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_RES(&o, A, .active = 1, .qualified = 2, .paid_as = 2, .title = 2, .gv = 267000);
		EXPECT_RES(&o, B, .active = 0, .gv = 102000);
		EXPECT_RES(&o, C, .active = 0, .gv = 101000);
		EXPECT_RES(&o, D, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 100000);
		EXPECT_RES(&o, E, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 105000);
		EXPECT_RES(&o, F, .active = 1, .gv = 95000);
		EXPECT_RES(&o, G, .active = 1, .gv = 50000);
		EXPECT_RES(&o, H, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 215000);
		EXPECT_RES(&o, I, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 200000);
		EXPECT_RES(&o, K, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 100000);
		EXPECT_RES(&o, J, .active = 0, .gv = 5000);
	}
	plan_free(p);
}

/*
 * active_recruits and SPEC 11.15 (the highest rank whose own requirements
 * hold, whether or not a lower rank's do).
 *
 * Plan: partner, bronze {pv 100, gv 1000}, leader {active_recruits 3};
 * activity.min_pv 100.
 *
 *   A (pv 0, inactive): recruits B, C, D (pv 100, active) and E (pv 99.99,
 *     inactive): 3 active recruits -> leader met; bronze is not (pv 0 < 100):
 *     qualified = leader (2). GV 399.99.
 *     READING (6.3 "every listed requirement"): being active is not itself a
 *     requirement of a rank; a rank without `pv` can be met with PV 0.
 *   F (pv 100): recruits G (pv 100, with J pv 100 below it), H (pv 100) and
 *     I (pv 1000, TERMINATED, title before = bronze): active recruits G and H
 *     only (I is terminated, J is not F's own recruit): 2 < 3, no leader.
 *     GV 100 + 200 + 100 + 1000 = 1400 >= 1000 (I's PV counts) -> bronze.
 *   I: terminated: qualified and paid-as partner though pv 1000 would meet
 *     bronze's pv; title stays bronze (frozen, 11.8).
 */
static void test_rank_recruits_and_higher_rank(void **state)
{
	(void)state;
	enum { A, B, C, D, E, F, G, H, I, J };
	static const rank_spec rs[] = {
		{ .id = "partner" },
		{ .id = "bronze", .pv = 10000, .gv = 100000 },
		{ .id = "leader", .active_recruits = 3 },
	};
	plan *p = plan_build(10000, rs, 3);
	tcase t = { .p = p };
	add(&t, A, -1, 0, 0);
	add(&t, B, A, 10000, 0);
	add(&t, C, A, 10000, 0);
	add(&t, D, A, 10000, 0);
	add(&t, E, A, 9999, 0);
	add(&t, F, -1, 10000, 0);
	add(&t, G, F, 10000, 0);
	add(&t, H, F, 10000, 0);
	add(&t, I, F, 100000, 0);
	add(&t, J, G, 10000, 0);
	t.term[I] = 1;
	t.title[I] = 1;
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_RES(&o, A, .active = 0, .qualified = 2, .paid_as = 2, .title = 2, .gv = 39999);
		EXPECT_RES(&o, B, .active = 1, .gv = 10000);
		EXPECT_RES(&o, E, .active = 0, .gv = 9999);
		EXPECT_RES(&o, F, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 140000);
		EXPECT_RES(&o, G, .active = 1, .gv = 20000);
		EXPECT_RES(&o, I, .active = 0, .qualified = 0, .paid_as = 0, .title = 1, .gv = 100000);
		EXPECT_RES(&o, J, .active = 1, .gv = 10000);
		EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	}
	plan_free(p);
}

/* ==== 4. a rank held over two periods ======================================================= */

/*
 * Plan: activity.min_pv 100; ranks
 *   0 partner                              unilevel [5%]
 *   1 bronze {pv 100, gv 1000}             unilevel [5%, 3%]
 *   2 silver {pv 100, gv 2000, periods 2}  unilevel [5%, 4%]
 *   3 gold   {legs {1, silver}}            (not in levels: earns 0)
 * dynamic; no retail, no cap, no fees. q_history[i][0] = q in P-1.
 *
 *   A  pv 2400, hist bronze; S under A (pv 100, cv 0); T under S (pv 0, cv 200.00)
 *      GV 2400 + 100 + 0 = 2500: q silver, but not silver in P-1 -> paid-as bronze.
 *   B  pv 2400, hist silver; U under B (pv 100, cv 0); V under U (pv 0, cv 200.00)
 *      q silver, silver in P-1 too -> paid-as silver.
 *   C  pv 2500, hist partner -> q silver, paid-as bronze.
 *   D  pv 1500, hist silver  -> q bronze (gv 1500 < 2000), paid-as bronze.
 *   E  pv 50,   hist silver  -> q partner, paid-as partner.
 *   W  pv 0, recruit X (pv 2500, hist bronze: q silver, paid-as bronze):
 *      gold needs a leg with paid-as >= silver: X is only paid as bronze -> W partner.
 *   Y  pv 0, recruit Z (pv 2500, hist silver: paid-as silver): Y meets gold
 *      (and nothing below it: pv 0) -> q gold, paid-as gold (periods 1).
 *
 * Unilevel uses the PAID-AS rank:
 *   T 200.00: S lvl1 partner 5% = 10.00; A lvl2 paid-as bronze 3% = 6.00 (silver would be 4%)
 *   V 200.00: U lvl1 partner 5% = 10.00; B lvl2 paid-as silver 4% = 8.00
 */
static void test_rank_two_periods(void **state)
{
	(void)state;
	enum { A, S, T, B, U, V, C, D, E, W, X, Y, Z };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 1, .levels = { 50000 } },
		{ .id = "bronze", .pv = 10000, .gv = 100000, .n_levels = 2, .levels = { 50000, 30000 } },
		{ .id = "silver", .pv = 10000, .gv = 200000, .periods = 2, .n_levels = 2,
		  .levels = { 50000, 40000 } },
		{ .id = "gold", .legs_count = 1, .legs_min_rank = 2 },
	};
	plan *p = plan_build(10000, rs, 4);
	tcase t = { .p = p };
	add(&t, A, -1, 240000, 0);
	add(&t, S, A, 10000, 0);
	add(&t, T, S, 0, 20000);
	add(&t, B, -1, 240000, 0);
	add(&t, U, B, 10000, 0);
	add(&t, V, U, 0, 20000);
	add(&t, C, -1, 250000, 0);
	add(&t, D, -1, 150000, 0);
	add(&t, E, -1, 5000, 0);
	add(&t, W, -1, 0, 0);
	add(&t, X, W, 250000, 0);
	add(&t, Y, -1, 0, 0);
	add(&t, Z, Y, 250000, 0);
	t.hist[A * THIST] = 1;
	t.hist[B * THIST] = 2;
	t.hist[C * THIST] = 0;
	t.hist[D * THIST] = 2;
	t.hist[E * THIST] = 2;
	t.hist[X * THIST] = 1;
	t.hist[Z * THIST] = 2;
	/* Older history says silver everywhere: a 2-period rank must not look at it. */
	for (int i = 0; i < t.n; i++)
		t.hist[i * THIST + 1] = t.hist[i * THIST + 2] = 2;
	engine_input in = input_of(&t);

#ifndef TEST_ENGINE_MODEL_ONLY
	assert_int_equal(engine_max_periods(p), 2);
#endif
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_RES(&o, A, .active = 1, .qualified = 2, .paid_as = 1, .title = 1, .gv = 250000,
			   .commissions = 600, .payable = 600, .paid = 600);
		EXPECT_LINES(&o, A, UNI(2, T, 20000, 30000, 600));
		EXPECT_RES(&o, S, .active = 1, .gv = 10000, .commissions = 1000, .payable = 1000,
			   .paid = 1000);
		EXPECT_LINES(&o, S, UNI(1, T, 20000, 50000, 1000));
		EXPECT_RES(&o, T, .active = 0);
		EXPECT_NO_LINES(&o, T);
		EXPECT_RES(&o, B, .active = 1, .qualified = 2, .paid_as = 2, .title = 2, .gv = 250000,
			   .commissions = 800, .payable = 800, .paid = 800);
		EXPECT_LINES(&o, B, UNI(2, V, 20000, 40000, 800));
		EXPECT_RES(&o, U, .active = 1, .gv = 10000, .commissions = 1000, .payable = 1000,
			   .paid = 1000);
		EXPECT_LINES(&o, U, UNI(1, V, 20000, 50000, 1000));
		EXPECT_RES(&o, C, .active = 1, .qualified = 2, .paid_as = 1, .title = 1, .gv = 250000);
		EXPECT_RES(&o, D, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 150000);
		EXPECT_RES(&o, E, .active = 0, .gv = 5000);
		EXPECT_RES(&o, W, .active = 0, .gv = 250000);
		EXPECT_RES(&o, X, .active = 1, .qualified = 2, .paid_as = 1, .title = 1, .gv = 250000);
		EXPECT_RES(&o, Y, .active = 0, .qualified = 3, .paid_as = 3, .title = 3, .gv = 250000);
		EXPECT_RES(&o, Z, .active = 1, .qualified = 2, .paid_as = 2, .title = 2, .gv = 250000);
		EXPECT_TOTALS(&o, .commissions = 3400, .payable = 3400, .paid = 3400, .cap_limit = -1,
			      .n_lines = 4);
	}
	plan_free(p);
}

/* ==== 5. rank advancement ==================================================================== */

/*
 * Plan: activity.min_pv 1000.00 (so that most are inactive); ranks partner,
 * bronze {pv 100} (no bonus), silver {pv 200} bonus 250.00, gold {pv 300}
 * bonus 1000.00; no other commission; no cap, no fees, min_payout 0.
 * All are roots (GV = PV).
 *
 *   A pv 300,  title before partner: paid-as gold -> passes bronze, silver, gold:
 *               lines silver 250.00, gold 1000.00 (bronze has no bonus) = 1250.00,
 *               though INACTIVE (pv 300 < 1000; 11.14).
 *   B pv 300,  title gold:   paid-as gold, title unchanged -> no line.
 *   D pv 1000, title bronze: active, -> gold: silver 250.00 + gold 1000.00.
 *   E pv 200,  title gold:   drops to silver: title stays gold, no line.
 *   F pv 300,  title silver: -> gold: gold 1000.00 only.
 *   G pv 300,  TERMINATED, title partner: paid-as partner, title frozen, nothing.
 *   H pv 100,  title partner: -> bronze, title bronze, no line (no bonus).
 */
static void test_rank_advancement(void **state)
{
	(void)state;
	enum { A, B, D, E, F, G, H };
	static const rank_spec rs[] = {
		{ .id = "partner" },
		{ .id = "bronze", .pv = 10000 },
		{ .id = "silver", .pv = 20000, .bonus = 25000 },
		{ .id = "gold", .pv = 30000, .bonus = 100000 },
	};
	plan *p = plan_build(100000, rs, 4);
	tcase t = { .p = p };
	add(&t, A, -1, 30000, 0);
	add(&t, B, -1, 30000, 0);
	add(&t, D, -1, 100000, 0);
	add(&t, E, -1, 20000, 0);
	add(&t, F, -1, 30000, 0);
	add(&t, G, -1, 30000, 0);
	add(&t, H, -1, 10000, 0);
	t.title[B] = 3;
	t.title[D] = 1;
	t.title[E] = 3;
	t.title[F] = 2;
	t.term[G] = 1;
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, ADV(2, 25000), ADV(3, 100000));
		EXPECT_RES(&o, A, .active = 0, .qualified = 3, .paid_as = 3, .title = 3, .gv = 30000,
			   .commissions = 125000, .payable = 125000, .paid = 125000);
		EXPECT_NO_LINES(&o, B);
		EXPECT_RES(&o, B, .active = 0, .qualified = 3, .paid_as = 3, .title = 3, .gv = 30000);
		EXPECT_LINES(&o, D, ADV(2, 25000), ADV(3, 100000));
		EXPECT_RES(&o, D, .active = 1, .qualified = 3, .paid_as = 3, .title = 3, .gv = 100000,
			   .commissions = 125000, .payable = 125000, .paid = 125000);
		EXPECT_NO_LINES(&o, E);
		EXPECT_RES(&o, E, .active = 0, .qualified = 2, .paid_as = 2, .title = 3, .gv = 20000);
		EXPECT_LINES(&o, F, ADV(3, 100000));
		EXPECT_RES(&o, F, .active = 0, .qualified = 3, .paid_as = 3, .title = 3, .gv = 30000,
			   .commissions = 100000, .payable = 100000, .paid = 100000);
		EXPECT_NO_LINES(&o, G);
		EXPECT_RES(&o, G, .active = 0, .qualified = 0, .paid_as = 0, .title = 0, .gv = 30000);
		EXPECT_NO_LINES(&o, H);
		EXPECT_RES(&o, H, .active = 0, .qualified = 1, .paid_as = 1, .title = 1, .gv = 10000);
		/* 1250.00 + 1250.00 + 1000.00 = 3500.00 */
		EXPECT_TOTALS(&o, .commissions = 350000, .payable = 350000, .paid = 350000,
			      .cap_limit = -1, .n_lines = 5);
	}
	plan_free(p);
}

/* ==== 6. the cap ============================================================================= */

/*
 * Plan: activity.min_pv 100; ranks partner [10%], silver {pv 500} [10%] bonus
 * 100.00; retail 20%; dynamic; cap payout_ratio 0.35; fee "statement fee"
 * 1.00; min_payout 0.
 *
 * Tree: A (pv 500, cv 333.33) with recruits B (pv 100, cv 123.45),
 * C (pv 100, cv 77.77), D (pv 100, cv 0.02). A is silver (pv 500), title
 * before partner: rank_advancement silver 100.00.
 *
 * Commission lines (each rounded once, half even):
 *   A retail   333.33 x 20% = 66.666  -> 66.67
 *   A lvl1 B   123.45 x 10% = 12.345  -> 12.34 (tie, 4 is even)
 *   A lvl1 C    77.77 x 10% =  7.777  ->  7.78
 *   A lvl1 D     0.02 x 10% =  0.002  ->  0.00 (line kept: base and rate not 0, 11.7)
 *   A silver bonus                       100.00
 *     A: 66.67 + 12.34 + 7.78 + 0.00 + 100.00 = 186.79
 *   B retail   123.45 x 20% = 24.69
 *   C retail    77.77 x 20% = 15.554  -> 15.55
 *   D retail     0.02 x 20% =  0.004  ->  0.00
 *   total = 186.79 + 24.69 + 15.55 + 0.00 = 227.03
 */
static void cap_case(tcase *t, plan **pp)
{
	enum { A, B, C, D };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 1, .levels = { 100000 } },
		{ .id = "silver", .pv = 50000, .bonus = 10000, .n_levels = 1, .levels = { 100000 } },
	};
	plan *p = plan_build(10000, rs, 2);
	plan_retail(p, 200000);
	plan_cap(p, 350000);
	plan_add_fee(p, "statement fee", 100);
	*t = (tcase){ .p = p };
	add(t, A, -1, 50000, 33333);
	add(t, B, A, 10000, 12345);
	add(t, C, A, 10000, 7777);
	add(t, D, A, 10000, 2);
	*pp = p;
}

static void test_cap(void **state)
{
	(void)state;
	enum { A, B, C, D };
	tcase t;
	plan *p;
	cap_case(&t, &p);

	/*
	 * Net sales 543.21: limit = floor(0.35 x 543.21) = floor(190.1235) = 190.12
	 * < 227.03: binding. Each line becomes floor(line x 19012 / 22703):
	 *   A 66.67:  6667 x 19012 = 126753004 = 5583 x 22703 + 2155  -> 55.83
	 *   A 12.34:  1234 x 19012 =  23460808 = 1033 x 22703 + 8609  -> 10.33
	 *   A  7.78:   778 x 19012 =  14791336 =  651 x 22703 + 11683 ->  6.51
	 *   A  0.00:                                                  ->  0.00
	 *   A 100.00: 10000 x 19012 = 190120000 = 8374 x 22703 + 5078 -> 83.74
	 *     A: 55.83 + 10.33 + 6.51 + 0.00 + 83.74 = 156.41; 156.41 - 186.79 = -30.38
	 *     (per line: flooring A's total, 18679 x 19012 / 22703 = 15642.2, would give
	 *     156.42: the per-line floors leave one more cent with the company)
	 *   B 24.69:  2469 x 19012 =  46940628 = 2067 x 22703 + 13527 -> 20.67; -4.02
	 *   C 15.55:  1555 x 19012 =  29563660 = 1302 x 22703 + 4354  -> 13.02; -2.53
	 *   D  0.00 -> 0.00: adjustment 0, no cap_adjustment line.
	 *   capped total 156.41 + 20.67 + 13.02 = 190.10 <= 190.12 (2 cents not paid)
	 * Fees (after the cap): A 156.41 > 0, B 20.67, C 13.02 -> 1.00 each; D 0.00 -> none.
	 *   payable A 156.41 - 1.00 = 155.41; B 19.67; C 12.02; D 0.00.
	 */
	t.net_sales = 54321;
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 33333, 200000, 6667), UNI(1, B, 12345, 100000, 1234),
			     UNI(1, C, 7777, 100000, 778), UNI(1, D, 2, 100000, 0), ADV(1, 10000),
			     CAP(-3038), FEE(0, -100));
		EXPECT_RES(&o, A, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 80000,
			   .commissions = 18679, .cap_adjustment = -3038, .fees = -100,
			   .payable = 15541, .paid = 15541);
		EXPECT_LINES(&o, B, RETAIL(B, 12345, 200000, 2469), CAP(-402), FEE(0, -100));
		EXPECT_RES(&o, B, .active = 1, .gv = 10000, .commissions = 2469,
			   .cap_adjustment = -402, .fees = -100, .payable = 1967, .paid = 1967);
		EXPECT_LINES(&o, C, RETAIL(C, 7777, 200000, 1555), CAP(-253), FEE(0, -100));
		EXPECT_RES(&o, C, .active = 1, .gv = 10000, .commissions = 1555,
			   .cap_adjustment = -253, .fees = -100, .payable = 1202, .paid = 1202);
		EXPECT_LINES(&o, D, RETAIL(D, 2, 200000, 0));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000);
		/* cap: -30.38 - 4.02 - 2.53 = -36.93; payable 155.41 + 19.67 + 12.02 = 187.10 */
		EXPECT_TOTALS(&o, .commissions = 22703, .cap_adjustment = -3693, .fees = -300,
			      .payable = 18710, .paid = 18710, .cap_limit = 19012, .n_lines = 14);
	}

	/*
	 * Net sales 648.65: limit = floor(0.35 x 648.65) = floor(227.0275) = 227.02,
	 * one cent under 227.03: still binding. floor(x x 22702 / 22703) = x - 1 cent
	 * for every line 0 < x < 227.03, and 0 for the 0.00 lines:
	 *   A: 4 non-zero lines -> -0.04; B -0.01; C -0.01; D none.
	 *   capped total 227.03 - 0.06 = 226.97 <= 227.02.
	 */
	t.net_sales = 64865;
	in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 33333, 200000, 6667), UNI(1, B, 12345, 100000, 1234),
			     UNI(1, C, 7777, 100000, 778), UNI(1, D, 2, 100000, 0), ADV(1, 10000),
			     CAP(-4), FEE(0, -100));
		EXPECT_RES(&o, A, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 80000,
			   .commissions = 18679, .cap_adjustment = -4, .fees = -100,
			   .payable = 18575, .paid = 18575);
		EXPECT_LINES(&o, B, RETAIL(B, 12345, 200000, 2469), CAP(-1), FEE(0, -100));
		EXPECT_RES(&o, B, .active = 1, .gv = 10000, .commissions = 2469,
			   .cap_adjustment = -1, .fees = -100, .payable = 2368, .paid = 2368);
		EXPECT_LINES(&o, C, RETAIL(C, 7777, 200000, 1555), CAP(-1), FEE(0, -100));
		EXPECT_RES(&o, C, .active = 1, .gv = 10000, .commissions = 1555,
			   .cap_adjustment = -1, .fees = -100, .payable = 1454, .paid = 1454);
		EXPECT_LINES(&o, D, RETAIL(D, 2, 200000, 0));
		EXPECT_TOTALS(&o, .commissions = 22703, .cap_adjustment = -6, .fees = -300,
			      .payable = 22397, .paid = 22397, .cap_limit = 22702, .n_lines = 14);
	}

	/*
	 * Net sales 648.66: limit = floor(0.35 x 648.66) = floor(227.031) = 227.03 =
	 * the total: not exceeded (11.2 scales only when the sum EXCEEDS the limit),
	 * no cap_adjustment line anywhere; cap_limit still reported.
	 */
	t.net_sales = 64866;
	in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 33333, 200000, 6667), UNI(1, B, 12345, 100000, 1234),
			     UNI(1, C, 7777, 100000, 778), UNI(1, D, 2, 100000, 0), ADV(1, 10000),
			     FEE(0, -100));
		EXPECT_RES(&o, A, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 80000,
			   .commissions = 18679, .fees = -100, .payable = 18579, .paid = 18579);
		EXPECT_LINES(&o, B, RETAIL(B, 12345, 200000, 2469), FEE(0, -100));
		EXPECT_LINES(&o, C, RETAIL(C, 7777, 200000, 1555), FEE(0, -100));
		/* 186.79 - 1 + 24.69 - 1 + 15.55 - 1 = 224.03 */
		EXPECT_TOTALS(&o, .commissions = 22703, .fees = -300, .payable = 22403, .paid = 22403,
			      .cap_limit = 22703, .n_lines = 11);
	}

	/*
	 * Net sales -10.00 (refunds exceeded sales): limit = max(0, floor(0.35 x -10.00))
	 * = max(0, -3.50) = 0. Every line scales to 0: the adjustment is minus the
	 * commissions; commissions + cap = 0 is not above zero: no fee (11.5).
	 * READING (11.2, 11.5): a period with no positive net sales pays no
	 * commission at all, and so charges no fee.
	 *   A -186.79, B -24.69, C -15.55; payable 0 everywhere (0 >= min_payout 0: paid 0).
	 */
	t.net_sales = -1000;
	in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 33333, 200000, 6667), UNI(1, B, 12345, 100000, 1234),
			     UNI(1, C, 7777, 100000, 778), UNI(1, D, 2, 100000, 0), ADV(1, 10000),
			     CAP(-18679));
		EXPECT_RES(&o, A, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 80000,
			   .commissions = 18679, .cap_adjustment = -18679);
		EXPECT_LINES(&o, B, RETAIL(B, 12345, 200000, 2469), CAP(-2469));
		EXPECT_RES(&o, B, .active = 1, .gv = 10000, .commissions = 2469,
			   .cap_adjustment = -2469);
		EXPECT_LINES(&o, C, RETAIL(C, 7777, 200000, 1555), CAP(-1555));
		EXPECT_LINES(&o, D, RETAIL(D, 2, 200000, 0));
		EXPECT_TOTALS(&o, .commissions = 22703, .cap_adjustment = -22703, .cap_limit = 0,
			      .n_lines = 11);
	}
	plan_free(p);
}

/* ==== 7. fees ================================================================================= */

/*
 * Plan: activity.min_pv 100; one rank; retail 10%; fees "statement fee" 1.50
 * then "platform fee" 0.50; min_payout 0. All roots (no overrides).
 *
 *   A cv 100.00: retail 10.00 > 0 -> both fees: 10.00 - 1.50 - 0.50 = 8.00 paid.
 *   B cv 5.00:   retail 0.50 > 0 -> both fees: 0.50 - 2.00 = -1.50 < 0 = min_payout:
 *                carried (fees may push a balance below zero).
 *                READING (11.5, 11.6): a fee is charged in full even when it
 *                exceeds the earnings; the negative balance is carried like
 *                any other (with min_payout 0 too, since -1.50 < 0).
 *   C TERMINATED, cv 100.00, carried in 20.00: no retail, no fee; carry_in 20.00 paid.
 *   D cv 0, carried in 30.00: commissions 0 -> no fee; 30.00 paid.
 *   E clawback only (retail, base 50.00 at 10% = -5.00): no fee; -5.00 carried.
 *   F cv 0.04: retail 0.004 -> a 0.00 line; commissions 0 -> no fee; payable 0.
 *   G cv 5.00, carried in -3.00: retail 0.50 -> fees: 0.50 - 2.00 - 3.00 = -4.50 carried.
 */
static void test_fees(void **state)
{
	(void)state;
	enum { A, B, C, D, E, F, G };
	static const rank_spec rs[] = { { .id = "partner" } };
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 100000);
	plan_add_fee(p, "statement fee", 150);
	plan_add_fee(p, "platform fee", 50);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 10000);
	add(&t, B, -1, 10000, 500);
	add(&t, C, -1, 10000, 10000);
	add(&t, D, -1, 10000, 0);
	add(&t, E, -1, 10000, 0);
	add(&t, F, -1, 10000, 4);
	add(&t, G, -1, 10000, 500);
	t.term[C] = 1;
	t.carried[C] = 2000;
	t.carried[D] = 3000;
	t.carried[G] = -300;
	add_clawback(&t, E, -1, E, 100000, 5000);
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 10000, 100000, 1000), FEE(0, -150), FEE(1, -50));
		const engine_line *fl = &o.lines[o.first_line[A] + 2];
		assert_string_equal(p->fees[fl->fee].name, "platform fee");
		EXPECT_RES(&o, A, .active = 1, .commissions = 1000, .fees = -200, .payable = 800,
			   .paid = 800, .gv = 10000);
		EXPECT_LINES(&o, B, RETAIL(B, 500, 100000, 50), FEE(0, -150), FEE(1, -50));
		EXPECT_RES(&o, B, .active = 1, .commissions = 50, .fees = -200, .payable = -150,
			   .carried_out = -150, .gv = 10000);
		EXPECT_LINES(&o, C, CARRY(2000));
		EXPECT_RES(&o, C, .active = 0, .carried_in = 2000, .payable = 2000, .paid = 2000,
			   .gv = 10000);
		EXPECT_LINES(&o, D, CARRY(3000));
		EXPECT_RES(&o, D, .active = 1, .carried_in = 3000, .payable = 3000, .paid = 3000,
			   .gv = 10000);
		EXPECT_LINES(&o, E, CLAW(-1, E, 5000, 100000, -500));
		EXPECT_RES(&o, E, .active = 1, .clawbacks = -500, .payable = -500, .carried_out = -500,
			   .gv = 10000);
		EXPECT_LINES(&o, F, RETAIL(F, 4, 100000, 0));
		EXPECT_RES(&o, F, .active = 1, .gv = 10000);
		EXPECT_LINES(&o, G, RETAIL(G, 500, 100000, 50), FEE(0, -150), FEE(1, -50), CARRY(-300));
		EXPECT_RES(&o, G, .active = 1, .commissions = 50, .fees = -200, .carried_in = -300,
			   .payable = -450, .carried_out = -450, .gv = 10000);
		/* commissions 10.00 + 0.50 + 0.50; fees 3 x 2.00; carried in 20 + 30 - 3;
		 * payable 8.00 - 1.50 + 20.00 + 30.00 - 5.00 + 0 - 4.50 = 47.00;
		 * paid 8 + 20 + 30 = 58.00; carried out -1.50 - 5.00 - 4.50 = -11.00 */
		EXPECT_TOTALS(&o, .commissions = 1100, .clawbacks = -500, .fees = -600,
			      .carried_in = 4700, .payable = 4700, .paid = 5800, .carried_out = -1100,
			      .cap_limit = -1, .n_lines = 14);
	}
	plan_free(p);
}

/* ==== 8. minimum payout over three periods =================================================== */

/*
 * Plan: activity.min_pv 100; one rank; retail 10%; min_payout 10.00; no fees.
 * All roots. Period 2's carried_in is period 1's carried_out, and so on.
 *
 * Period 1:
 *   A cv 60.00  -> 6.00 < 10.00: carried 6.00, paid 0.
 *   B cv 100.00 -> 10.00 >= 10.00: paid (boundary).
 *   C cv 99.99  -> 9.999 -> 10.00 (rounded once, up): paid.
 *   D cv 50.00  -> 5.00, clawback retail 120.00 x 10% = -12.00: -7.00 carried.
 *   T TERMINATED, carried in 12.00 -> paid (its balance still follows min_payout).
 *   U TERMINATED, carried in 5.00 -> carried again.
 * Period 2:
 *   A cv 40.00 -> 4.00 + carry_in 6.00 = 10.00: paid in full.
 *   D cv 30.00 -> 3.00 + carry_in -7.00 = -4.00: carried (never written off).
 *   U carry_in 5.00: carried.
 * Period 3:
 *   D cv 150.00 -> 15.00 + carry_in -4.00 = 11.00: paid.
 */
static void test_min_payout(void **state)
{
	(void)state;
	enum { A, B, C, D, T, U };
	static const rank_spec rs[] = { { .id = "partner" } };
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 100000);
	p->min_payout = 1000;
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 6000);
	add(&t, B, -1, 10000, 10000);
	add(&t, C, -1, 10000, 9999);
	add(&t, D, -1, 10000, 5000);
	add(&t, T, -1, 0, 0);
	add(&t, U, -1, 0, 0);
	t.term[T] = t.term[U] = 1;
	t.carried[T] = 1200;
	t.carried[U] = 500;
	add_clawback(&t, D, -1, D, 100000, 12000);
	engine_input in = input_of(&t);
	int64_t carry1[TMAX] = { 0 }, carry2[TMAX] = { 0 };
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 6000, 100000, 600));
		EXPECT_RES(&o, A, .active = 1, .gv = 10000, .commissions = 600, .payable = 600,
			   .carried_out = 600);
		EXPECT_LINES(&o, B, RETAIL(B, 10000, 100000, 1000));
		EXPECT_RES(&o, B, .active = 1, .gv = 10000, .commissions = 1000, .payable = 1000,
			   .paid = 1000);
		EXPECT_LINES(&o, C, RETAIL(C, 9999, 100000, 1000));
		EXPECT_RES(&o, C, .active = 1, .gv = 10000, .commissions = 1000, .payable = 1000,
			   .paid = 1000);
		EXPECT_LINES(&o, D, RETAIL(D, 5000, 100000, 500), CLAW(-1, D, 12000, 100000, -1200));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000, .commissions = 500, .clawbacks = -1200,
			   .payable = -700, .carried_out = -700);
		EXPECT_LINES(&o, T, CARRY(1200));
		EXPECT_RES(&o, T, .carried_in = 1200, .payable = 1200, .paid = 1200);
		EXPECT_LINES(&o, U, CARRY(500));
		EXPECT_RES(&o, U, .carried_in = 500, .payable = 500, .carried_out = 500);
		EXPECT_TOTALS(&o, .commissions = 3100, .clawbacks = -1200, .carried_in = 1700,
			      .payable = 3600, .paid = 3200, .carried_out = 400, .cap_limit = -1,
			      .n_lines = 7);
		for (int i = 0; i < t.n; i++)
			carry1[i] = o.res[i].carried_out;
	}

	tcase t2 = t;
	t2.n_claw = 0;
	memset(t2.cv, 0, sizeof t2.cv);
	t2.cv[A] = 4000;
	t2.cv[D] = 3000;
	memcpy(t2.carried, carry1, sizeof carry1);
	in = input_of(&t2);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 4000, 100000, 400), CARRY(600));
		EXPECT_RES(&o, A, .active = 1, .gv = 10000, .commissions = 400, .carried_in = 600,
			   .payable = 1000, .paid = 1000);
		EXPECT_NO_LINES(&o, B);
		EXPECT_RES(&o, B, .active = 1, .gv = 10000);
		EXPECT_NO_LINES(&o, C);
		EXPECT_LINES(&o, D, RETAIL(D, 3000, 100000, 300), CARRY(-700));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000, .commissions = 300, .carried_in = -700,
			   .payable = -400, .carried_out = -400);
		EXPECT_NO_LINES(&o, T);
		EXPECT_LINES(&o, U, CARRY(500));
		EXPECT_RES(&o, U, .carried_in = 500, .payable = 500, .carried_out = 500);
		EXPECT_TOTALS(&o, .commissions = 700, .carried_in = 400, .payable = 1100, .paid = 1000,
			      .carried_out = 100, .cap_limit = -1, .n_lines = 5);
		for (int i = 0; i < t.n; i++)
			carry2[i] = o.res[i].carried_out;
	}

	tcase t3 = t2;
	memset(t3.cv, 0, sizeof t3.cv);
	t3.cv[D] = 15000;
	memcpy(t3.carried, carry2, sizeof carry2);
	in = input_of(&t3);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_NO_LINES(&o, A);
		EXPECT_RES(&o, A, .active = 1, .gv = 10000);
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500), CARRY(-400));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000, .commissions = 1500, .carried_in = -400,
			   .payable = 1100, .paid = 1100);
		EXPECT_TOTALS(&o, .commissions = 1500, .carried_in = 100, .payable = 1600, .paid = 1100,
			      .carried_out = 500, .cap_limit = -1, .n_lines = 3);
	}
	plan_free(p);
}

/* ==== 9. clawbacks ============================================================================ */

/*
 * Plan: activity.min_pv 100; one rank, partner [5%, 4%]; retail 20%; cap
 * payout_ratio 0.10; fee "statement fee" 1.00; min_payout 0.
 *
 * Tree: A (pv 100, cv 100.00) <- B (pv 100, cv 50.00) <- C (pv 0, cv 0);
 * A <- T (TERMINATED, nothing this period).
 *
 * This period's commissions: A retail 100.00 x 20% = 20.00; A lvl1 B 50.00 x
 * 5% = 2.50; B retail 50.00 x 20% = 10.00. Total 32.50.
 * Cap: net sales 300.00, limit floor(0.10 x 300.00) = 30.00 < 32.50:
 *   A: floor(2000 x 3000 / 3250) = floor(1846.15) = 18.46;
 *      floor(250 x 3000 / 3250) = floor(230.77) = 2.30;  18.46 + 2.30 - 22.50 = -1.74
 *   B: floor(1000 x 3000 / 3250) = floor(923.08) = 9.23;  -0.77
 *
 * Clawbacks booked this period (refunds of closed-period sales), given to the
 * engine in a scrambled order; each -round_half_even(base x rate), NOT capped:
 *   B  lvl1 src C  13.50 x 5%  = 0.675  -> -0.68 (tie, 8 even)
 *   T  retail src T 40.00 x 20% = 8.00  -> -8.00 (terminated: clawbacks still reach it)
 *   A  lvl2 src C  13.50 x 5%  = 0.675  -> -0.68
 *   A  lvl1 src B  12.50 x 5%  = 0.625  -> -0.62 (tie, 2 even)
 *   B  retail src B 12.50 x 20% = 2.50   -> -2.50
 *   A  lvl1 src B  10.00 x 3%  = 0.30   -> -0.30 (same level and source, an older rate)
 *   A  retail src A  0.05 x 20% = 0.01   -> -0.01
 * A's clawback lines by (level, source, rate): retail (level -1), lvl1 B 3%,
 * lvl1 B 5%, lvl2 C 5%; sum -0.01 - 0.30 - 0.62 - 0.68 = -1.61.
 *   A: 22.50 - 1.74 - 1.61 - 1.00 (fee: 22.50 - 1.74 > 0) = 18.15
 *   B: 10.00 - 0.77 - 3.18 - 1.00 = 5.05
 *   T: -8.00 < 0: carried; no fee (terminated, and no commissions).
 */
static void test_clawbacks(void **state)
{
	(void)state;
	enum { A, B, C, T };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 2, .levels = { 50000, 40000 } },
	};
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 200000);
	plan_cap(p, 100000);
	plan_add_fee(p, "statement fee", 100);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 10000);
	add(&t, B, A, 10000, 5000);
	add(&t, C, B, 0, 0);
	add(&t, T, A, 0, 0);
	t.term[T] = 1;
	t.net_sales = 30000;
	add_clawback(&t, B, 1, C, 50000, 1350);
	add_clawback(&t, T, -1, T, 200000, 4000);
	add_clawback(&t, A, 2, C, 50000, 1350);
	add_clawback(&t, A, 1, B, 50000, 1250);
	add_clawback(&t, B, -1, B, 200000, 1250);
	add_clawback(&t, A, 1, B, 30000, 1000);
	add_clawback(&t, A, -1, A, 200000, 5);
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 10000, 200000, 2000), UNI(1, B, 5000, 50000, 250),
			     CAP(-174), CLAW(-1, A, 5, 200000, -1), CLAW(1, B, 1000, 30000, -30),
			     CLAW(1, B, 1250, 50000, -62), CLAW(2, C, 1350, 50000, -68), FEE(0, -100));
		EXPECT_RES(&o, A, .active = 1, .gv = 20000, .commissions = 2250, .cap_adjustment = -174,
			   .clawbacks = -161, .fees = -100, .payable = 1815, .paid = 1815);
		EXPECT_LINES(&o, B, RETAIL(B, 5000, 200000, 1000), CAP(-77),
			     CLAW(-1, B, 1250, 200000, -250), CLAW(1, C, 1350, 50000, -68), FEE(0, -100));
		EXPECT_RES(&o, B, .active = 1, .gv = 10000, .commissions = 1000, .cap_adjustment = -77,
			   .clawbacks = -318, .fees = -100, .payable = 505, .paid = 505);
		EXPECT_NO_LINES(&o, C);
		EXPECT_RES(&o, C, .active = 0);
		EXPECT_LINES(&o, T, CLAW(-1, T, 4000, 200000, -800));
		EXPECT_RES(&o, T, .active = 0, .clawbacks = -800, .payable = -800, .carried_out = -800);
		/* clawbacks -1.61 - 3.18 - 8.00 = -12.79; payable 18.15 + 5.05 - 8.00 = 15.20 */
		EXPECT_TOTALS(&o, .commissions = 3250, .cap_adjustment = -251, .clawbacks = -1279,
			      .fees = -200, .payable = 1520, .paid = 2320, .carried_out = -800,
			      .cap_limit = 3000, .n_lines = 14);
	}
	plan_free(p);
}

/* ==== 10. half-even ties and lines that round to 0.00 ========================================= */

/*
 * Plan: activity.min_pv 100; one rank, partner [0%, 5%] (level 1 pays 0: no
 * line at all); retail 5%; dynamic; no cap, no fees, min_payout 0.
 * Chain A <- B <- C <- D <- E <- F <- G, and H under A; everyone pv 100.
 *
 *   seller  CV     retail 5%                        lvl2 upline 5% (lvl1 rate 0: no line)
 *   A      12.50   0.625  -> 0.62 (tie, 2 even)     -
 *   B      13.50   0.675  -> 0.68 (tie, 8 even)     -   (A would be lvl1: rate 0)
 *   C       0.09   0.0045 -> 0.00 (line kept)       A: 0.0045 -> 0.00 (line kept)
 *   D       0.10   0.005  -> 0.00 (tie, 0 even)     B: 0.00
 *   E       0.30   0.015  -> 0.02 (tie, 1 odd: up)  C: 0.02
 *   F       0.70   0.035  -> 0.04 (tie, 3 odd: up)  D: 0.04
 *   G       0.50   0.025  -> 0.02 (tie, 2 even)     E: 0.02
 *   H       0.00   no line (base 0)                 no line
 */
static void test_half_even_and_zero_lines(void **state)
{
	(void)state;
	enum { A, B, C, D, E, F, G, H };
	static const rank_spec rs[] = {
		{ .id = "partner", .n_levels = 2, .levels = { 0, 50000 } },
	};
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 50000);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 1250);
	add(&t, B, A, 10000, 1350);
	add(&t, C, B, 10000, 9);
	add(&t, D, C, 10000, 10);
	add(&t, E, D, 10000, 30);
	add(&t, F, E, 10000, 70);
	add(&t, G, F, 10000, 50);
	add(&t, H, A, 10000, 0);
	engine_input in = input_of(&t);
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, RETAIL(A, 1250, 50000, 62), UNI(2, C, 9, 50000, 0));
		EXPECT_RES(&o, A, .active = 1, .gv = 80000, .commissions = 62, .payable = 62, .paid = 62);
		EXPECT_LINES(&o, B, RETAIL(B, 1350, 50000, 68), UNI(2, D, 10, 50000, 0));
		EXPECT_RES(&o, B, .active = 1, .gv = 60000, .commissions = 68, .payable = 68, .paid = 68);
		EXPECT_LINES(&o, C, RETAIL(C, 9, 50000, 0), UNI(2, E, 30, 50000, 2));
		EXPECT_RES(&o, C, .active = 1, .gv = 50000, .commissions = 2, .payable = 2, .paid = 2);
		EXPECT_LINES(&o, D, RETAIL(D, 10, 50000, 0), UNI(2, F, 70, 50000, 4));
		EXPECT_RES(&o, D, .active = 1, .gv = 40000, .commissions = 4, .payable = 4, .paid = 4);
		EXPECT_LINES(&o, E, RETAIL(E, 30, 50000, 2), UNI(2, G, 50, 50000, 2));
		EXPECT_RES(&o, E, .active = 1, .gv = 30000, .commissions = 4, .payable = 4, .paid = 4);
		EXPECT_LINES(&o, F, RETAIL(F, 70, 50000, 4));
		EXPECT_RES(&o, F, .active = 1, .gv = 20000, .commissions = 4, .payable = 4, .paid = 4);
		EXPECT_LINES(&o, G, RETAIL(G, 50, 50000, 2));
		EXPECT_RES(&o, G, .active = 1, .gv = 10000, .commissions = 2, .payable = 2, .paid = 2);
		EXPECT_NO_LINES(&o, H);
		EXPECT_RES(&o, H, .active = 1, .gv = 10000);
		/* 0.62 + 0.68 + 0.02 + 0.04 + 0.04 + 0.04 + 0.02 = 1.46 */
		EXPECT_TOTALS(&o, .commissions = 146, .payable = 146, .paid = 146, .cap_limit = -1,
			      .n_lines = 12);
	}

	/* Retail listed at rate 0 and no unilevel: no line at all (11.7). */
	p->retail_rate = 0;
	p->has_unilevel = 0;
	FOR_EACH_IMPL(k, &in, o) {
		for (int i = 0; i < t.n; i++)
			EXPECT_NO_LINES(&o, i);
		EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	}
	plan_free(p);
}

/* ==== invalid input ========================================================================== */

static void test_invalid_input(void **state)
{
	(void)state;
	static const rank_spec rs[] = { { .id = "partner", .n_levels = 1, .levels = { 50000 } } };
	plan *p = plan_build(10000, rs, 1);
	for (size_t k = 0; k < N_IMPLS; k++) {
		cur_impl = impls[k].name;
		struct {
			const char *what;
			int32_t parent1;
			int claw_recipient;
		} bad[] = {
			{ "recruit before its sponsor", 2, 0 },
			{ "own sponsor", 1, 0 },
			{ "sponsor below -1", -2, 0 },
			{ "clawback recipient out of range", 0, 3 },
			{ "clawback recipient negative", 0, -1 },
		};
		for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
			tcase t = { .p = p };
			add(&t, 0, -1, 10000, 100);
			add(&t, 1, 0, 10000, 100);
			add(&t, 2, 1, 10000, 100);
			t.parent[1] = bad[b].parent1;
			add_clawback(&t, bad[b].claw_recipient, -1, 0, 50000, 100);
			engine_input in = input_of(&t);
			engine_output out;
			memset(&out, 0, sizeof out);
			pd_err err = { { 0 } };
			int rc = impls[k].run(&in, &out, &err);
			if (rc != -1)
				fail_msg("[%s] %s: accepted", impls[k].name, bad[b].what);
			if (err.msg[0] == '\0')
				fail_msg("[%s] %s: no message", impls[k].name, bad[b].what);
		}
	}
	plan_free(p);
}

/* ==== 11. random trees: invariants, determinism, and the reference model ===================== */

static uint64_t rng;

static uint64_t rnd(void)
{
	/* splitmix64: fixed seed, same sequence on every machine */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t rnd_below(int64_t n)
{
	return n > 0 ? (int64_t)(rnd() % (uint64_t)n) : 0;
}

/* The plans the random trees are drawn against. */
#define N_RPLANS 4
static plan *random_plans(int which)
{
	plan *p;
	switch (which) {
	case 0: { /* SPEC 6's example plan, GV thresholds divided by 5 so that random
		    * trees of <= 300 reach gold */
		static const rank_spec rs[] = {
			{ .id = "partner", .n_levels = 1, .levels = { 50000 } },
			{ .id = "bronze", .pv = 10000, .gv = 20000, .n_levels = 3,
			  .levels = { 50000, 40000, 30000 } },
			{ .id = "silver", .pv = 10000, .gv = 100000, .max_leg_share = 500000,
			  .legs_count = 2, .legs_min_rank = 1, .bonus = 25000, .n_levels = 5,
			  .levels = { 50000, 40000, 30000, 20000, 20000 } },
			{ .id = "gold", .pv = 15000, .gv = 400000, .max_leg_share = 500000,
			  .legs_count = 3, .legs_min_rank = 2, .active_recruits = 4, .periods = 2,
			  .bonus = 100000, .n_levels = 7,
			  .levels = { 50000, 40000, 30000, 20000, 20000, 10000, 10000 } },
		};
		p = plan_build(10000, rs, 4);
		plan_retail(p, 200000);
		plan_cap(p, 450000);
		plan_add_fee(p, "statement fee", 150);
		p->min_payout = 1000;
		break;
	}
	case 1: { /* the party plan (GV thresholds halved, director: 1 senior leg,
		    * 3 active recruits): no compression, consultants not in levels */
		static const rank_spec rs[] = {
			{ .id = "consultant" },
			{ .id = "senior", .pv = 5000, .gv = 30000, .active_recruits = 2, .n_levels = 2,
			  .levels = { 40000, 20000 } },
			{ .id = "director", .pv = 10000, .gv = 150000, .legs_count = 1, .legs_min_rank = 1,
			  .active_recruits = 3, .n_levels = 3, .levels = { 60000, 40000, 20000 } },
		};
		p = plan_build(5000, rs, 3);
		plan_retail(p, 250000);
		p->unilevel_dynamic = 0;
		plan_add_fee(p, "weekly statement fee", 75);
		p->min_payout = 2000;
		break;
	}
	case 2: { /* the wellness plan (GV thresholds divided by 10, director and
		    * executive need 2 legs): five ranks, a 3-period top rank, every bonus */
		static const rank_spec rs[] = {
			{ .id = "member" },
			{ .id = "associate", .pv = 6000, .gv = 6000, .n_levels = 2,
			  .levels = { 50000, 30000 } },
			{ .id = "manager", .pv = 6000, .gv = 30000, .max_leg_share = 600000,
			  .legs_count = 2, .legs_min_rank = 1, .bonus = 15000, .n_levels = 3,
			  .levels = { 50000, 40000, 30000 } },
			{ .id = "director", .pv = 10000, .gv = 120000, .max_leg_share = 500000,
			  .legs_count = 2, .legs_min_rank = 2, .active_recruits = 3, .bonus = 50000,
			  .n_levels = 5, .levels = { 50000, 50000, 40000, 30000, 20000 } },
			{ .id = "executive", .pv = 10000, .gv = 400000, .max_leg_share = 400000,
			  .legs_count = 2, .legs_min_rank = 3, .active_recruits = 5, .periods = 3,
			  .bonus = 250000, .n_levels = 6,
			  .levels = { 50000, 50000, 40000, 30000, 30000, 20000 } },
		};
		p = plan_build(6000, rs, 5);
		plan_retail(p, 150000);
		plan_cap(p, 400000);
		p->min_payout = 2500;
		break;
	}
	default: { /* edges: odd rates (ties), a higher rank easier than a lower one,
		    * fractional leg share, zero rates inside lists, a tight cap, two fees */
		static const rank_spec rs[] = {
			{ .id = "base", .n_levels = 2, .levels = { 0, 33333 } },
			{ .id = "one", .pv = 2500, .gv = 30000, .max_leg_share = 333333, .periods = 3,
			  .bonus = 1, .n_levels = 3, .levels = { 70001, 0, 15000 } },
			{ .id = "two", .active_recruits = 2, .bonus = 99, .n_levels = 4,
			  .levels = { 1, 2, 3, 125000 } },
		};
		p = plan_build(2500, rs, 3);
		plan_retail(p, 125000);
		plan_cap(p, 150000);
		plan_add_fee(p, "a", 1);
		plan_add_fee(p, "b", 99);
		p->min_payout = 2500;
		break;
	}
	}
	return p;
}

/* Field-by-field equality of two outputs, naming the first difference. */
static void expect_same_output(const engine_output *a, const engine_output *b, int32_t n,
			       const char *what)
{
	const int L = __LINE__;
	CHK(L, a->n_lines, b->n_lines, "%s: n_lines", what);
	for (int32_t i = 0; i < n; i++) {
		const engine_result *x = &a->res[i], *y = &b->res[i];
		CHK(L, x->active, y->active, "%s: res[%d].active", what, i);
		CHK(L, x->qualified, y->qualified, "%s: res[%d].qualified", what, i);
		CHK(L, x->paid_as, y->paid_as, "%s: res[%d].paid_as", what, i);
		CHK(L, x->title, y->title, "%s: res[%d].title", what, i);
		CHK(L, x->gv, y->gv, "%s: res[%d].gv", what, i);
		CHK(L, x->commissions, y->commissions, "%s: res[%d].commissions", what, i);
		CHK(L, x->cap_adjustment, y->cap_adjustment, "%s: res[%d].cap_adjustment", what, i);
		CHK(L, x->clawbacks, y->clawbacks, "%s: res[%d].clawbacks", what, i);
		CHK(L, x->fees, y->fees, "%s: res[%d].fees", what, i);
		CHK(L, x->carried_in, y->carried_in, "%s: res[%d].carried_in", what, i);
		CHK(L, x->payable, y->payable, "%s: res[%d].payable", what, i);
		CHK(L, x->paid, y->paid, "%s: res[%d].paid", what, i);
		CHK(L, x->carried_out, y->carried_out, "%s: res[%d].carried_out", what, i);
		CHK(L, x->n_lines, y->n_lines, "%s: res[%d].n_lines", what, i);
		CHK(L, a->first_line[i], b->first_line[i], "%s: first_line[%d]", what, i);
	}
	for (size_t k = 0; k < a->n_lines; k++) {
		const engine_line *x = &a->lines[k], *y = &b->lines[k];
		if (memcmp(x, y, sizeof *x) == 0)
			continue;
		print_error("%s: line %zu differs:\n"
			    "  recipient %d type %s level %d source %d rank %d fee %d base %lld rate %lld amount %lld\n"
			    "  recipient %d type %s level %d source %d rank %d fee %d base %lld rate %lld amount %lld\n",
			    what, k, x->recipient, tname(x->type), x->level, x->source, x->rank, x->fee,
			    (long long)x->base, (long long)x->rate, (long long)x->amount, y->recipient,
			    tname(y->type), y->level, y->source, y->rank, y->fee, (long long)y->base,
			    (long long)y->rate, (long long)y->amount);
		_fail(__FILE__, L);
	}
	CHK(L, a->total_commissions, b->total_commissions, "%s: total_commissions", what);
	CHK(L, a->total_cap_adjustment, b->total_cap_adjustment, "%s: total_cap_adjustment", what);
	CHK(L, a->total_clawbacks, b->total_clawbacks, "%s: total_clawbacks", what);
	CHK(L, a->total_fees, b->total_fees, "%s: total_fees", what);
	CHK(L, a->total_carried_in, b->total_carried_in, "%s: total_carried_in", what);
	CHK(L, a->total_payable, b->total_payable, "%s: total_payable", what);
	CHK(L, a->total_paid, b->total_paid, "%s: total_paid", what);
	CHK(L, a->total_carried_out, b->total_carried_out, "%s: total_carried_out", what);
	CHK(L, a->cap_limit, b->cap_limit, "%s: cap_limit", what);
}

#define N_TREES 200
#define MAX_TREE 300

static void test_random_trees(void **state)
{
	(void)state;
	plan *plans[N_RPLANS];
	for (int k = 0; k < N_RPLANS; k++)
		plans[k] = random_plans(k);
	rng = 20261130;
	char ctx[160];
	int capped = 0, with_cap = 0, carried = 0, clawed = 0, ranked = 0, lines = 0;
	int top_rank[N_RPLANS] = { 0 }; /* distributors qualified for their plan's top rank */

	for (int tree = 0; tree < N_TREES; tree++) {
		int pi = tree % N_RPLANS;
		const plan *p = plans[pi];
		int32_t n = (int32_t)(1 + rnd_below(tree < 20 ? 8 : MAX_TREE));
		int maxp = model_max_periods(p);
		int32_t history = maxp - 1 + (int32_t)rnd_below(2);
		int32_t *parent = xcalloc((size_t)n, sizeof *parent);
		int64_t *pv = xcalloc((size_t)n, sizeof *pv), *cv = xcalloc((size_t)n, sizeof *cv);
		int64_t *carried_in = xcalloc((size_t)n, sizeof *carried_in);
		uint8_t *term = xcalloc((size_t)n, 1), *title = xcalloc((size_t)n, 1);
		uint8_t *hist = xcalloc((size_t)n * (size_t)(history ? history : 1), 1);
		engine_clawback *claw = xcalloc(8, sizeof *claw);
		size_t n_claw = 0;
		int64_t sum_cv = 0;

		for (int32_t i = 0; i < n; i++) {
			int64_t r = rnd_below(100);
			if (i == 0 || r < 3)
				parent[i] = -1;
			else if (r < 40)
				parent[i] = i - 1 - (int32_t)rnd_below(i < 4 ? i : 4); /* deep chains */
			else if (r < 70)
				parent[i] = (int32_t)rnd_below(1 + rnd_below(i)); /* wide tops */
			else
				parent[i] = (int32_t)rnd_below(i);
			switch (rnd_below(10)) {
			case 0: pv[i] = 0; break;
			case 3: pv[i] = rnd_below(2) ? p->activity_min_pv : p->activity_min_pv - 1; break;
			case 9: pv[i] = rnd_below(500001); break;
			default: pv[i] = rnd_below(40001); break;
			}
			switch (rnd_below(10)) {
			case 0: case 1: cv[i] = 0; break;
			case 2: cv[i] = rnd_below(100); break;   /* 0.00 lines, ties */
			default: cv[i] = rnd_below(40001); break;
			}
			sum_cv += cv[i];
			term[i] = rnd_below(20) == 0;
			title[i] = rnd_below(3) == 0 ? (uint8_t)rnd_below((int64_t)p->n_ranks) : 0;
			for (int32_t k = 0; k < history; k++)
				hist[(size_t)i * (size_t)history + (size_t)k] =
					(uint8_t)(rnd_below(3) == 0   ? 0
						  : rnd_below(2) ? p->n_ranks - 1
								 : (size_t)rnd_below((int64_t)p->n_ranks));
			carried_in[i] = rnd_below(5) == 0 ? rnd_below(4001) - 2000 : 0;
		}
		int64_t net_sales;
		switch (rnd_below(4)) {
		case 0: net_sales = 2 * sum_cv; break;
		case 1: net_sales = sum_cv / 2; break;
		case 2: net_sales = rnd_below(sum_cv + 1); break;
		default: net_sales = -rnd_below(1000); break;
		}
		static const int64_t claw_rates[] = { 200000, 50000, 40000, 125000, 33333 };
		for (int64_t m = rnd_below(9); m > 0; m--) {
			engine_clawback c = {
				.recipient = (int32_t)rnd_below(n),
				.level = rnd_below(4) == 0 ? -1 : (int32_t)(1 + rnd_below(4)),
				.source = (int32_t)rnd_below(n),
				.rate = claw_rates[rnd_below(5)],
				.base = 1 + rnd_below(20000),
			};
			int dup = 0;
			for (size_t j = 0; j < n_claw; j++)
				dup |= claw[j].recipient == c.recipient && claw[j].level == c.level &&
				       claw[j].source == c.source && claw[j].rate == c.rate;
			if (!dup)
				claw[n_claw++] = c;
		}
		engine_input in = {
			.p = p, .n = n, .parent = parent, .pv = pv, .cv = cv, .terminated = term,
			.q_history = hist, .history = history, .title = title, .carried_in = carried_in,
			.net_sales = net_sales, .clawbacks = claw, .n_clawbacks = n_claw,
		};

		engine_output first, again, model;
		snprintf(ctx, sizeof ctx, "%s, tree %d (plan %d, n %d)", impls[0].name, tree, pi, n);
		run_impl(0, &in, &first);
		cur_impl = ctx;
		check_invariants(&in, &first);
		run_impl(0, &in, &again);
		cur_impl = ctx;
		/* determinism: byte for byte */
		CHK(__LINE__, first.n_lines, again.n_lines, "second run: n_lines");
		CHK(__LINE__, memcmp(first.lines, again.lines, first.n_lines * sizeof *first.lines), 0,
		    "second run: lines differ");
		CHK(__LINE__,
		    memcmp(first.first_line, again.first_line, ((size_t)n + 1) * sizeof *first.first_line),
		    0, "second run: first_line differs");
		expect_same_output(&first, &again, n, "second run");
		/* the reference model */
		model_run(&in, &model, NULL);
		cur_impl = ctx;
		expect_same_output(&first, &model, n, "engine vs model");

		with_cap += p->has_cap;
		capped += first.total_cap_adjustment != 0;
		carried += first.total_carried_out != 0;
		clawed += n_claw > 0;
		lines += (int)first.n_lines;
		for (int32_t i = 0; i < n; i++)
			top_rank[pi] += first.res[i].qualified == p->n_ranks - 1;
		for (int32_t i = 0; i < n; i++)
			if (first.res[i].paid_as > 0) {
				ranked++;
				break;
			}
		impls[0].free(&first);
		impls[0].free(&again);
		model_free(&model);
		free(parent);
		free(pv);
		free(cv);
		free(carried_in);
		free(term);
		free(title);
		free(hist);
		free(claw);
	}
	/* The draw must actually reach the interesting cases. */
	assert_true(capped >= 10);
	assert_true(carried >= 50);
	assert_true(clawed >= 100);
	assert_true(ranked >= 50);
	assert_true(with_cap >= 50);
	for (int k = 0; k < N_RPLANS; k++)
		assert_true(top_rank[k] > 0);
	print_message("random trees: %d, %d lines, %d capped, %d with carried balances, "
		      "%d with ranks above the first\n", N_TREES, lines, capped, carried, ranked);
	for (int k = 0; k < N_RPLANS; k++)
		plan_free(plans[k]);
}

static void test_max_periods(void **state)
{
	(void)state;
#ifndef TEST_ENGINE_MODEL_ONLY
	plan *p = random_plans(0);
	assert_int_equal(engine_max_periods(p), 2); /* gold: periods 2 */
	plan_free(p);
	p = random_plans(1);
	assert_int_equal(engine_max_periods(p), 1); /* default 1 */
	plan_free(p);
	p = random_plans(2);
	assert_int_equal(engine_max_periods(p), 3); /* executive: periods 3 */
	plan_free(p);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unilevel_chain),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_rank_max_leg_share),
		cmocka_unit_test(test_rank_legs),
		cmocka_unit_test(test_rank_recruits_and_higher_rank),
		cmocka_unit_test(test_rank_two_periods),
		cmocka_unit_test(test_rank_advancement),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_fees),
		cmocka_unit_test(test_min_payout),
		cmocka_unit_test(test_clawbacks),
		cmocka_unit_test(test_half_even_and_zero_lines),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_max_periods),
		cmocka_unit_test(test_random_trees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
