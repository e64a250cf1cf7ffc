/*
 * test_engine_families.c - the plan families of SPEC 6.8 in the commission
 * engine (rules/engine.h): differential, fast_start, pool and matching, alone
 * and in a hybrid plan, against worked examples computed by hand and against
 * an independent reference model on random plans and trees; the random plans
 * also combine them with binary (worked binary examples: test_engine_binary.c).
 *
 * As in test_engine.c, every hand example builds its plan directly as a C
 * struct (no YAML) and a small sponsor tree, and asserts every
 * per-distributor result and every statement line to the cent, with the
 * arithmetic written out next to the numbers (SPEC 6.1-6.8 and 11).
 *
 * Units: money and volumes are hundredths (15000 = 150.00), rates millionths
 * (50000 = 5%).
 *
 * The reference model (model_run below) is a deliberately naive, quadratic
 * implementation of the SPEC written without looking at rules/engine.c (its
 * base part, volumes to fees, follows test_engine.c's model; the five
 * families are new). The hand examples run against BOTH the engine and the
 * model, so the model is checked by the hand figures; the random test then
 * requires the engine and the model to agree line for line (and on the
 * binary figures left, right, matched, carry_left, carry_right) on random
 * hybrid plans, and checks money conservation, the cap, determinism and
 * independence from the order of the distributors (each distributor
 * renumbered in another order where sponsors still come first must get the
 * same lines). The model's binary part has no hand example here: it is the
 * SPEC's sentence written as a walk (each seller's volume up its placement
 * chain), and test_engine_binary.c checks the engine's binary figures by hand.
 *
 * Tests: 1 differential, 2 fast_start, 3 pool, 4 matching (with a binding cap),
 * 5 a hybrid plan (unilevel + fast_start + pool + matching + cap), 6 invalid
 * input and line type names, 7 random hybrid plans (binary in about half of
 * them, on random placement trees, matching of binary included).
 *
 * Compile with -DTEST_ENGINE_MODEL_ONLY to run everything against the model
 * alone (no engine.c needed).
 *
 * fast_start windows: the engine does not see dates. The caller (the close)
 * gives per distributor fast_start_cv, the part of its CV from sales with
 * 0 <= sale date - join_date < days (SPEC 11.27); the window boundaries are
 * tested where that sum is computed, not here. Here fast_start_cv is an input,
 * and fast_start_cv = 0 must pay nothing.
 *
 * Where the SPEC leaves a point open, the reading taken is marked
 * "READING (SPEC items):" next to the example that depends on it. The readings
 * common to the whole file:
 *   - a pool line exists for each active holder (shares > 0) whenever the
 *     pool is > 0, even when its floor amount is 0.00; its rate is 0;
 *   - differential lines are aggregated per (recipient, source, differential
 *     rate), source = the frontline recruit whose leg the volume came
 *     through, or the recipient itself for its own CV;
 *   - fast_start `exclusive` takes fast_start_cv out of the seller's unilevel
 *     base (cv - fast_start_cv) and changes nothing else;
 *   - matching's base for a source is the sum of its line amounts (before
 *     the cap) of the `of` types, active or not; a line exists when that base
 *     is not 0 and the rate is above 0; generations count every distributor;
 *   - only active recipients earn differential, binary, fast_start, pool,
 *     matching;
 *   - binary (random test only): one line per active recipient with matched
 *     > 0 and rate > 0, level -1 and source -1 (SPEC 6.8 names no source),
 *     amount min(round_half_even(matched x rate), cap); matching of binary
 *     matches that amount (after the binary cap, before the plan cap); with
 *     `carry: false` the caller carries in 0 (it carried out 0), so the
 *     random cases draw carries only with `carry: true`;
 *   - the cap (11.2) covers every commission line, the new ones included;
 *     with same-period refunds a statement's lines can be negative, and its
 *     cap_adjustment (sum(floor(line x limit / total)) - sum(line)) positive.
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
#define MAX_RANKS 6
#define MAX_LIST 8

/* ==== plans built by hand ================================================================= */

/* A rank of a test plan. A requirement left 0 is not listed. */
typedef struct rank_spec {
	const char *id;
	int64_t pv, gv;            /* hundredths */
	int legs_count, legs_min_rank;
	int periods;               /* 0 means 1 */
	int64_t bonus;             /* rank_advancement bonus, hundredths; 0 = none */
	int n_levels;              /* unilevel list of this rank (0 = rank not listed) */
	int64_t levels[MAX_LIST];  /* millionths */
	int64_t shares;            /* pool shares (0 = not a holder) */
	int n_gens;                /* matching generations of this rank (0 = not listed) */
	int64_t gens[MAX_LIST];    /* millionths */
} rank_spec;

/* Fills a plan: ranks (with unilevel lists, bonuses, pool shares and matching
 * generations), activity.min_pv. Unilevel is present (dynamic) when some rank
 * has a list; rank_advancement when some rank has a bonus. The pool and
 * matching arrays are filled but the types are off until plan_pool /
 * plan_matching; retail, differential, fast_start, cap, fees: plan_* below. */
static plan *plan_build(int64_t min_pv, const rank_spec *rs, size_t n)
{
	plan *p = xcalloc(1, sizeof *p);
	p->name = xstrdup("test plan");
	memcpy(p->currency, "EUR", 4);
	p->timezone = xstrdup("UTC");
	p->activity_min_pv = min_pv;
	p->ranks = xcalloc(n, sizeof *p->ranks);
	p->n_ranks = n;
	int maxl = 0, maxg = 0, any_bonus = 0;
	for (size_t r = 0; r < n; r++) {
		plan_rank *rk = &p->ranks[r];
		rk->id = xstrdup(rs[r].id);
		rk->has_pv = rs[r].pv != 0;
		rk->pv = rs[r].pv;
		rk->has_gv = rs[r].gv != 0;
		rk->gv = rs[r].gv;
		rk->has_legs = rs[r].legs_count != 0;
		rk->legs_count = rs[r].legs_count;
		rk->legs_min_rank = rs[r].legs_min_rank;
		rk->periods = rs[r].periods ? rs[r].periods : 1;
		if (rs[r].n_levels > maxl)
			maxl = rs[r].n_levels;
		if (rs[r].n_gens > maxg)
			maxg = rs[r].n_gens;
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
	p->pool_shares = xcalloc(n, sizeof *p->pool_shares);
	p->matching_max_gens = maxg;
	p->matching_gens = xcalloc(n, sizeof *p->matching_gens);
	p->matching_rates = xcalloc(n * (size_t)(maxg ? maxg : 1), sizeof *p->matching_rates);
	for (size_t r = 0; r < n; r++) {
		p->unilevel_levels[r] = rs[r].n_levels;
		for (int k = 0; k < rs[r].n_levels; k++)
			p->unilevel_rates[r * (size_t)maxl + (size_t)k] = rs[r].levels[k];
		p->advancement_bonus[r] = rs[r].bonus;
		p->pool_shares[r] = rs[r].shares;
		p->matching_gens[r] = rs[r].n_gens;
		for (int g = 0; g < rs[r].n_gens; g++)
			p->matching_rates[r * (size_t)maxg + (size_t)g] = rs[r].gens[g];
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

static void plan_differential(plan *p, int n, const int64_t *from, const int64_t *rate)
{
	p->has_differential = 1;
	p->n_brackets = n;
	p->diff_from = xcalloc((size_t)n, sizeof *p->diff_from);
	p->diff_rate = xcalloc((size_t)n, sizeof *p->diff_rate);
	memcpy(p->diff_from, from, (size_t)n * sizeof *from);
	memcpy(p->diff_rate, rate, (size_t)n * sizeof *rate);
}

static void plan_fast_start(plan *p, int n, const int64_t *rates, int exclusive)
{
	p->has_fast_start = 1;
	p->fast_start_days = 60;
	p->fast_start_levels = n;
	p->fast_start_rates = xcalloc((size_t)n, sizeof *p->fast_start_rates);
	memcpy(p->fast_start_rates, rates, (size_t)n * sizeof *rates);
	p->fast_start_exclusive = exclusive;
}

/* Pool shares per rank come from the rank_spec. */
static void plan_pool(plan *p, int64_t share)
{
	p->has_pool = 1;
	p->pool_name = xstrdup("leadership pool");
	p->pool_share = share;
}

/* Generations per rank come from the rank_spec. */
static void plan_matching(plan *p, unsigned of)
{
	p->has_matching = 1;
	p->matching_of = of;
}

#define OF(t) (1u << (t))

/* ==== one period's input, built by hand ==================================================== */

#define TMAX 24   /* distributors of a hand example */
#define THIST 4   /* history stride */

typedef struct tcase {
	const plan *p;
	int32_t n;
	int32_t parent[TMAX];
	int64_t pv[TMAX], cv[TMAX], fscv[TMAX], carried[TMAX];
	uint8_t term[TMAX], title[TMAX];
	uint8_t hist[TMAX * THIST];
	int64_t net_sales;
} tcase;

/* Adds distributor `id` (which must be the next index) under `parent`;
 * fs = the part of cv inside its fast_start window. */
static void add(tcase *t, int id, int parent, int64_t pv, int64_t cv, int64_t fs)
{
	assert_int_equal(id, t->n);
	assert_true(t->n < TMAX);
	t->parent[id] = parent;
	t->pv[id] = pv;
	t->cv[id] = cv;
	t->fscv[id] = fs;
	t->n++;
}

static engine_input input_of(const tcase *t)
{
	return (engine_input){
		.p = t->p, .n = t->n, .parent = t->parent, .pv = t->pv, .cv = t->cv,
		.fast_start_cv = t->p->has_fast_start ? t->fscv : NULL,
		.terminated = t->term, .q_history = t->hist, .history = THIST, .title = t->title,
		.carried_in = t->carried, .net_sales = t->net_sales,
	};
}

/* ==== the reference model ================================================================== */

/* round_half_even(num / den), den > 0 */
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

static int64_t model_matching_rate(const plan *p, int r, int g)
{
	if (!p->has_matching || g < 1 || g > p->matching_gens[r])
		return 0;
	return p->matching_rates[(size_t)r * (size_t)p->matching_max_gens + (size_t)(g - 1)];
}

/* SPEC 6.8: the rate of the highest bracket whose `from` <= GV, 0 below the lowest. */
static int64_t model_bracket_rate(const plan *p, int64_t gv)
{
	int64_t rate = 0;
	for (int b = 0; b < p->n_brackets; b++)
		if (p->diff_from[b] <= gv)
			rate = p->diff_rate[b]; /* `from` increases: the last one wins */
	return rate;
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

/* engine.h's order: recipient; type (the enum order: retail, unilevel,
 * rank_advancement, differential, binary, fast_start, pool, matching,
 * cap_adjustment, clawback, fee, carry_in); then level, source, rank, fee,
 * rate. That is unilevel, fast_start and matching by level then source,
 * differential by source then rate (its level is -1); binary has one line. */
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

/* A total order on every field (for comparing multisets of lines). */
static int line_cmp_all(const void *pa, const void *pb)
{
	const engine_line *a = pa, *b = pb;
	int c;
	if ((c = line_cmp(a, b)) || (c = cmp64(a->base, b->base)) ||
	    (c = cmp64(a->shares, b->shares)) ||
	    (c = cmp64(a->amount, b->amount)))
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

/* One differential aggregate: (recipient, source, rate) -> base. */
typedef struct diff_acc {
	int32_t recipient, source;
	int64_t rate, base;
} diff_acc;

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
	if (p->has_fast_start && in->fast_start_cv == NULL)
		return pd_errf(err, "model: a fast_start plan needs fast_start_cv");
	/* SPEC 4, 11.24: a placement tree in any index order, one distributor
	 * per slot, no cycle. Checked here so that the leg walk below ends. */
	if (p->has_binary) {
		if (!in->place_parent || !in->place_leg || !in->carry_left || !in->carry_right)
			return pd_errf(err, "model: a binary plan needs the placement and carries");
		uint8_t *slot = xcalloc(2 * (size_t)(n > 0 ? n : 1), 1);
		const char *bad = NULL;
		int32_t at = 0;
		for (int32_t i = 0; i < n && !bad; i++) {
			int32_t a = in->place_parent[i];
			at = i;
			if (a < -1 || a >= n || a == i)
				bad = "placement parent out of range";
			else if (a >= 0 && in->place_leg[i] > 1)
				bad = "leg not 0 or 1";
			else if (a >= 0 && slot[2 * (size_t)a + in->place_leg[i]]++)
				bad = "slot taken twice";
		}
		for (int32_t i = 0; i < n && !bad; i++) {
			int32_t steps = 0;
			for (int32_t a = in->place_parent[i]; a >= 0 && !bad; a = in->place_parent[a])
				if (++steps > n) {
					bad = "placement cycle";
					at = i;
				}
		}
		free(slot);
		if (bad)
			return pd_errf(err, "model: distributor %d: %s", at, bad);
	}

	size_t nn = n > 0 ? (size_t)n : 1;
	int64_t *gv = xcalloc(nn, sizeof *gv);
	uint8_t *active = xcalloc(nn, 1), *q = xcalloc(nn, 1), *paid = xcalloc(nn, 1);
	uint8_t *best = xcalloc(nn, 1), *title = xcalloc(nn, 1);
	int32_t *nkids = xcalloc(nn + 1, sizeof *nkids), *kids = xcalloc(nn, sizeof *kids);
	int32_t *fill = xcalloc(nn + 1, sizeof *fill);
	int64_t *comm = xcalloc(nn, sizeof *comm), *capadj = xcalloc(nn, sizeof *capadj);
	int64_t *scaled = xcalloc(nn, sizeof *scaled);
	int64_t *mbase = xcalloc(nn, sizeof *mbase);
	/* binary figures: legs (carried in + this period), matched, carried out */
	int64_t *bl = xcalloc(nn, sizeof *bl), *br = xcalloc(nn, sizeof *br);
	int64_t *bm = xcalloc(nn, sizeof *bm), *bcl = xcalloc(nn, sizeof *bcl);
	int64_t *bcr = xcalloc(nn, sizeof *bcr);

	/* 6.2: active and GV. */
	for (int32_t i = 0; i < n; i++) {
		gv[i] = in->pv[i];
		active[i] = !in->terminated[i] && in->pv[i] >= p->activity_min_pv;
	}
	for (int32_t i = n - 1; i >= 0; i--)
		if (in->parent[i] >= 0)
			gv[in->parent[i]] += gv[i];

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

	/* 6.3, 11.15-17: ranks bottom-up (no max_leg_share or active_recruits
	 * in this file's plans: test_engine.c covers them). */
	for (int32_t i = n - 1; i >= 0; i--) {
		q[i] = 0;
		paid[i] = 0;
		if (!in->terminated[i]) {
			for (int r = (int)p->n_ranks - 1; r >= 1; r--) {
				const plan_rank *rk = &p->ranks[r];
				int ok = 1;
				if (rk->has_pv && in->pv[i] < rk->pv)
					ok = 0;
				if (ok && rk->has_gv)
					ok = gv[i] >= rk->gv;
				if (ok && rk->has_legs) {
					int cnt = 0;
					for (int32_t k = nkids[i]; k < nkids[i + 1]; k++)
						cnt += best[kids[k]] >= rk->legs_min_rank;
					ok = cnt >= rk->legs_count;
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
	/* 6.4, 11.18; 11.27: an exclusive fast_start takes the window CV out of
	 * the unilevel base. */
	if (p->has_unilevel)
		for (int32_t s = 0; s < n; s++) {
			int64_t base = in->cv[s];
			if (p->has_fast_start && p->fast_start_exclusive)
				base -= in->fast_start_cv[s];
			if (base == 0)
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
				l.base = base;
				l.rate = rate;
				l.amount = ref_rate(l.base, rate);
				push(&b, l);
			}
		}
	/* 6.3, 11.14 */
	if (p->has_rank_advancement)
		for (int32_t i = 0; i < n; i++)
			for (int r = in->title[i] + 1; !in->terminated[i] && r <= title[i]; r++)
				if (p->advancement_bonus[r] > 0) {
					engine_line l = mkline(i, LINE_RANK_ADVANCEMENT);
					l.rank = r;
					l.amount = p->advancement_bonus[r];
					push(&b, l);
				}
	/* 6.8, 11.23: differential. For every seller, walk up from the seller
	 * itself; `limit` is the highest rate met so far (the seller included). */
	if (p->has_differential) {
		diff_acc *acc = NULL;
		size_t n_acc = 0, cap_acc = 0;
		for (int32_t s = 0; s < n; s++) {
			if (in->cv[s] == 0)
				continue;
			int64_t limit = 0;
			for (int32_t a = s, below = -1; a >= 0; below = a, a = in->parent[a]) {
				int64_t ra = model_bracket_rate(p, gv[a]);
				int64_t d = ra - limit;
				if (d > 0 && active[a]) {
					int32_t src = a == s ? s : below;
					size_t k = 0;
					while (k < n_acc && !(acc[k].recipient == a && acc[k].source == src &&
							      acc[k].rate == d))
						k++;
					if (k == n_acc) {
						if (n_acc == cap_acc) {
							cap_acc = cap_acc ? 2 * cap_acc : 16;
							acc = xrealloc(acc, cap_acc * sizeof *acc);
						}
						acc[n_acc++] = (diff_acc){ a, src, d, 0 };
					}
					acc[k].base += in->cv[s];
				}
				if (ra > limit)
					limit = ra;
			}
		}
		for (size_t k = 0; k < n_acc; k++)
			if (acc[k].base != 0) {
				engine_line l = mkline(acc[k].recipient, LINE_DIFFERENTIAL);
				l.source = acc[k].source;
				l.base = acc[k].base;
				l.rate = acc[k].rate;
				l.amount = ref_rate(l.base, l.rate);
				push(&b, l);
			}
		free(acc);
	}
	/*
	 * 6.8, 11.25: binary, after differential (11.1). A distributor's left leg
	 * is carry_left + the volume (pv or cv, `volume`) of everybody in the
	 * placement subtree of its left child: walk up from every seller, and at
	 * each placement ancestor add the volume to the side of the child the
	 * walk came through. Every seller counts, terminated, inactive or
	 * refunding (negative). matched = max(0, min(left, right)); both legs
	 * lose it and keep the rest (0 with carry: false), whoever the position
	 * is; a line only for an active (so not terminated) recipient with
	 * matched > 0 and rate > 0 (6.8, 11.7), amount min(round(matched x
	 * rate), cap).
	 */
	if (p->has_binary) {
		const int64_t *vol = p->binary_volume_pv ? in->pv : in->cv;
		for (int32_t i = 0; i < n; i++) {
			bl[i] = in->carry_left[i];
			br[i] = in->carry_right[i];
		}
		for (int32_t s = 0; s < n; s++)
			for (int32_t c = s; in->place_parent[c] >= 0; c = in->place_parent[c]) {
				int32_t a = in->place_parent[c];
				if (in->place_leg[c] == 0)
					bl[a] += vol[s];
				else
					br[a] += vol[s];
			}
		for (int32_t i = 0; i < n; i++) {
			int64_t m = bl[i] < br[i] ? bl[i] : br[i];
			bm[i] = m > 0 ? m : 0;
			bcl[i] = p->binary_carry ? bl[i] - bm[i] : 0;
			bcr[i] = p->binary_carry ? br[i] - bm[i] : 0;
			if (!active[i] || bm[i] == 0 || p->binary_rate <= 0)
				continue;
			engine_line l = mkline(i, LINE_BINARY);
			l.base = bm[i];
			l.rate = p->binary_rate;
			l.amount = ref_rate(l.base, l.rate);
			if (p->has_binary_cap && l.amount > p->binary_cap)
				l.amount = p->binary_cap;
			push(&b, l);
		}
	}
	/* 6.8, 11.27: fast_start, k-th sponsor above the seller, no compression. */
	if (p->has_fast_start)
		for (int32_t s = 0; s < n; s++) {
			int64_t base = in->fast_start_cv[s];
			if (base == 0)
				continue;
			int32_t a = in->parent[s];
			for (int k = 1; k <= p->fast_start_levels && a >= 0; k++, a = in->parent[a]) {
				int64_t rate = p->fast_start_rates[k - 1];
				if (!active[a] || rate <= 0)
					continue;
				engine_line l = mkline(a, LINE_FAST_START);
				l.level = k;
				l.source = s;
				l.base = base;
				l.rate = rate;
				l.amount = ref_rate(base, rate);
				push(&b, l);
			}
		}
	/* 6.8, 11.28: pool. */
	if (p->has_pool) {
		int64_t sum = 0, tot_sh = 0, allotted = 0;
		for (int32_t i = 0; i < n; i++)
			sum += in->cv[i];
		out->total_cv = sum > 0 ? sum : 0;
		out->pool = ref_floor((__int128)p->pool_share * out->total_cv, RATE_ONE);
		for (int32_t i = 0; i < n; i++)
			if (active[i])
				tot_sh += p->pool_shares[paid[i]];
		out->pool_total_shares = tot_sh;
		if (out->pool > 0 && tot_sh > 0)
			for (int32_t i = 0; i < n; i++)
				if (active[i] && p->pool_shares[paid[i]] > 0) {
					engine_line l = mkline(i, LINE_POOL);
					l.base = out->pool;
					l.shares = (int32_t)p->pool_shares[paid[i]];
					l.amount = ref_floor((__int128)out->pool * l.shares, tot_sh);
					allotted += l.amount;
					push(&b, l);
				}
		out->pool_allotted = allotted;
	}
	/* 6.8, 11.26: matching, from the amounts of the `of` lines so far. */
	if (p->has_matching) {
		for (size_t k = 0; k < b.n; k++)
			if (p->matching_of & OF(b.v[k].type))
				mbase[b.v[k].recipient] += b.v[k].amount;
		for (int32_t r = 0; r < n; r++) {
			if (!active[r])
				continue;
			for (int32_t x = 0; x < n; x++) {
				int g = 0;
				int32_t a = x;
				while (a >= 0 && a != r) {
					a = in->parent[a];
					g++;
				}
				if (a != r || g == 0)
					continue;
				int64_t rate = model_matching_rate(p, paid[r], g);
				if (rate <= 0 || mbase[x] == 0)
					continue;
				engine_line l = mkline(r, LINE_MATCHING);
				l.level = g;
				l.source = x;
				l.base = mbase[x];
				l.rate = rate;
				l.amount = ref_rate(l.base, rate);
				push(&b, l);
			}
		}
	}
	int64_t total = 0;
	for (size_t k = 0; k < b.n; k++) {
		comm[b.v[k].recipient] += b.v[k].amount;
		total += b.v[k].amount;
	}
	/* 11.2: the cap, over every commission line. */
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
		r->left = bl[i];
		r->right = br[i];
		r->matched = bm[i];
		r->carry_left = bcl[i];
		r->carry_right = bcr[i];
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
	free(mbase);
	free(bl);
	free(br);
	free(bm);
	free(bcl);
	free(bcr);
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

static const char *const type_names[] = { "retail", "unilevel", "rank_advancement",
					  "differential", "binary", "fast_start", "pool",
					  "matching", "cap_adjustment", "clawback", "fee",
					  "carry_in" };

static const char *tname(int32_t t)
{
	return t >= 0 && t <= LINE_CARRY_IN ? type_names[t] : "?";
}

static void print_line(const char *what, const engine_line *x)
{
	print_error("  %s: recipient %d %s level %d source %d rank %d fee %d base %lld rate %lld "
		    "shares %lld amount %lld\n",
		    what, x->recipient, tname(x->type), x->level, x->source, x->rank, x->fee,
		    (long long)x->base, (long long)x->rate, (long long)x->shares, (long long)x->amount);
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
#define XL(t, lv, src, b, r, a) \
	{ .type = (t), .level = (lv), .source = (src), .rank = -1, .fee = -1, \
	  .base = (b), .rate = (r), .amount = (a) }
#define RETAIL(src, b, r, a) XL(LINE_RETAIL, -1, src, b, r, a)
#define UNI(lv, src, b, r, a) XL(LINE_UNILEVEL, lv, src, b, r, a)
#define DIFF(src, b, r, a) XL(LINE_DIFFERENTIAL, -1, src, b, r, a)
#define FS(lv, src, b, r, a) XL(LINE_FAST_START, lv, src, b, r, a)
#define MATCH(lv, src, b, r, a) XL(LINE_MATCHING, lv, src, b, r, a)
/* everybody's shares: EXPECT_POOL's total_shares (the output's, one per period) */
#define POOL(b, sh, a) \
	{ .type = LINE_POOL, .level = -1, .source = -1, .rank = -1, .fee = -1, \
	  .base = (b), .rate = 0, .shares = (sh), .amount = (a) }
#define CAP(a) XL(LINE_CAP_ADJUSTMENT, -1, -1, 0, 0, a)
#define FEE(f, a) \
	{ .type = LINE_FEE, .level = -1, .source = -1, .rank = -1, .fee = (f), \
	  .base = 0, .rate = 0, .amount = (a) }

static void expect_lines_(const engine_output *o, int i, const engine_line *want, size_t n, int line)
{
	uint32_t from = o->first_line[i], to = o->first_line[i + 1];
	if (to - from != n) {
		print_error("[%s] distributor %d: %u lines, want %zu\n", cur_impl, i, to - from, n);
		for (uint32_t k = from; k < to; k++)
			print_line("got ", &o->lines[k]);
		for (size_t k = 0; k < n; k++)
			print_line("want", &want[k]);
	}
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
		CHK(line, g->shares, w->shares, "distributor %d line %zu (%s) shares", i, k, tname(w->type));
		CHK(line, g->amount, w->amount, "distributor %d line %zu (%s) amount", i, k, tname(w->type));
	}
}
#define EXPECT_LINES(o, i, ...) \
	expect_lines_((o), (i), (const engine_line[]){ __VA_ARGS__ }, \
		      sizeof((const engine_line[]){ __VA_ARGS__ }) / sizeof(engine_line), __LINE__)
#define EXPECT_NO_LINES(o, i) expect_lines_((o), (i), NULL, 0, __LINE__)

typedef struct xtot {
	int64_t commissions, cap_adjustment, fees, payable, paid, carried_out;
	int64_t cap_limit;
	size_t n_lines;
} xtot;

static void expect_totals_(const engine_output *o, xtot e, int line)
{
	CHK(line, o->total_commissions, e.commissions, "total_commissions");
	CHK(line, o->total_cap_adjustment, e.cap_adjustment, "total_cap_adjustment");
	CHK(line, o->total_clawbacks, 0, "total_clawbacks");
	CHK(line, o->total_fees, e.fees, "total_fees");
	CHK(line, o->total_carried_in, 0, "total_carried_in");
	CHK(line, o->total_payable, e.payable, "total_payable");
	CHK(line, o->total_paid, e.paid, "total_paid");
	CHK(line, o->total_carried_out, e.carried_out, "total_carried_out");
	CHK(line, o->cap_limit, e.cap_limit, "cap_limit");
	CHK(line, o->n_lines, e.n_lines, "n_lines");
}
#define EXPECT_TOTALS(o, ...) expect_totals_((o), (xtot){ __VA_ARGS__ }, __LINE__)

typedef struct xpool {
	int64_t total_cv, pool, total_shares, allotted;
} xpool;

static void expect_pool_(const engine_output *o, xpool e, int line)
{
	CHK(line, o->total_cv, e.total_cv, "total_cv");
	CHK(line, o->pool, e.pool, "pool");
	CHK(line, o->pool_total_shares, e.total_shares, "pool_total_shares");
	CHK(line, o->pool_allotted, e.allotted, "pool_allotted");
}
#define EXPECT_POOL(o, ...) expect_pool_((o), (xpool){ __VA_ARGS__ }, __LINE__)

/*
 * Properties every output must have, whatever the plan and tree: SPEC 6.6,
 * 6.8, 11.2, 11.5-11.7, 11.23-11.28 and engine.h's line order. Checked on
 * every run of every test, hand-built or random. The binary leg volumes
 * themselves are the model's business (the engine is compared with it); here
 * only what follows from them: matched, carries, the one line.
 */
static void check_invariants(const engine_input *in, const engine_output *o)
{
	const plan *p = in->p;
	const int L = __LINE__;
	CHK(L, o->first_line[0], 0, "first_line[0]");
	CHK(L, o->first_line[in->n], o->n_lines, "first_line[n] == n_lines");
	int64_t tot[8] = { 0 };
	int64_t all_comm = 0, pool_lines = 0;
	int64_t limit = -1;
	if (p->has_cap) {
		limit = ref_floor((__int128)p->cap_payout_ratio * in->net_sales, RATE_ONE);
		if (limit < 0)
			limit = 0;
	}
	/* the total of all commission lines, for the cap formula */
	int64_t total = 0;
	for (size_t k = 0; k < o->n_lines; k++)
		if (engine_line_is_commission(o->lines[k].type))
			total += o->lines[k].amount;
	int capped = p->has_cap && total > limit;
	for (int32_t i = 0; i < in->n; i++) {
		const engine_result *r = &o->res[i];
		uint32_t from = o->first_line[i], to = o->first_line[i + 1];
		CHK(L, to >= from, 1, "first_line of %d not increasing", i);
		CHK(L, r->n_lines, to - from, "res[%d].n_lines vs first_line", i);
		int64_t sum[LINE_CARRY_IN + 1] = { 0 }, all = 0, comm = 0, scaled = 0;
		int n_cap = 0, n_carry = 0, n_fee = 0, n_bin = 0;
		for (uint32_t k = from; k < to; k++) {
			const engine_line *l = &o->lines[k];
			CHK(L, l->recipient, i, "line %u recipient", k);
			CHK(L, l->type >= LINE_RETAIL && l->type <= LINE_CARRY_IN, 1, "line %u type", k);
			if (k > from && line_cmp(&o->lines[k - 1], l) >= 0) {
				print_line("previous", &o->lines[k - 1]);
				print_line("this    ", l);
				CHK(L, 0, 1, "distributor %d: line %u (%s) out of order after %s", i, k,
				    tname(l->type), tname(o->lines[k - 1].type));
			}
			sum[l->type] += l->amount;
			all += l->amount;
			if (engine_line_is_commission(l->type)) {
				comm += l->amount;
				if (capped)
					scaled += ref_floor((__int128)l->amount * limit, total);
				CHK(L, in->terminated[i], 0, "terminated %d earns %s", i, tname(l->type));
			}
			if (l->type != LINE_POOL)
				CHK(L, l->shares, 0, "line %u: shares", k);
			switch (l->type) {
			case LINE_RETAIL:
				CHK(L, l->source, i, "retail line %u source", k);
				/* fallthrough */
			case LINE_UNILEVEL:
			case LINE_DIFFERENTIAL:
			case LINE_FAST_START:
			case LINE_MATCHING:
				CHK(L, l->base != 0 && l->rate > 0, 1, "%s line %u: base 0 or rate 0 (11.7)",
				    tname(l->type), k);
				CHK(L, l->amount, ref_rate(l->base, l->rate), "%s line %u amount",
				    tname(l->type), k);
				if (l->type != LINE_RETAIL)
					CHK(L, r->active, 1, "inactive %d earns %s", i, tname(l->type));
				if (l->type == LINE_DIFFERENTIAL)
					CHK(L, l->level, -1, "differential line %u level", k);
				if (l->type == LINE_FAST_START)
					CHK(L, l->level >= 1 && l->level <= p->fast_start_levels, 1,
					    "fast_start line %u level %d", k, l->level);
				if (l->type == LINE_MATCHING)
					CHK(L, l->level >= 1 && l->level <= p->matching_max_gens, 1,
					    "matching line %u level %d", k, l->level);
				if (l->type != LINE_DIFFERENTIAL)
					CHK(L, l->source >= 0 && l->source < in->n, 1, "line %u source", k);
				break;
			case LINE_BINARY: {
				/* SPEC 6.8: (recipient, binary, base = matched, rate); 11.25: the cap */
				int64_t want = ref_rate(r->matched, p->binary_rate);
				if (p->has_binary_cap && want > p->binary_cap)
					want = p->binary_cap;
				n_bin++;
				CHK(L, p->has_binary, 1, "binary line without binary");
				CHK(L, r->active, 1, "inactive %d earns binary", i);
				CHK(L, l->level == -1 && l->source == -1, 1, "binary line %u level/source", k);
				CHK(L, l->base, r->matched, "binary line %u base == matched", k);
				CHK(L, l->rate, p->binary_rate, "binary line %u rate", k);
				CHK(L, l->amount, want, "binary line %u amount", k);
				break;
			}
			case LINE_POOL:
				CHK(L, p->has_pool, 1, "pool line without a pool");
				CHK(L, r->active, 1, "inactive %d earns pool", i);
				CHK(L, l->rate, 0, "pool line %u rate", k);
				CHK(L, l->base, o->pool, "pool line %u base", k);
				CHK(L, l->shares > 0, 1, "pool line %u shares", k);
				CHK(L, l->shares, p->pool_shares[r->paid_as], "pool line %u shares by rank", k);
				if (o->pool_total_shares > 0)
					CHK(L, l->amount, ref_floor((__int128)l->base * l->shares, o->pool_total_shares),
					    "pool line %u amount", k);
				pool_lines += l->amount;
				break;
			case LINE_CAP_ADJUSTMENT:
				/* not always negative: with refunds a statement's lines can be
				 * negative, and floor(line x limit / total) of those is above them */
				n_cap++;
				CHK(L, l->amount != 0, 1, "cap_adjustment line of %d is 0", i);
				break;
			case LINE_FEE:
				CHK(L, l->fee, n_fee, "fee line of %d in plan order", i);
				n_fee++;
				break;
			case LINE_CARRY_IN:
				n_carry++;
				break;
			default:
				break;
			}
		}
		if (p->has_binary) {
			/* SPEC 6.8, 11.25: matched = max(0, min(left, right)); both legs lose
			 * it, the rest is carried (0 with carry: false); one line for an
			 * active recipient with matched > 0 and rate > 0 (11.7), else none */
			int64_t m = r->left < r->right ? r->left : r->right;
			CHK(L, r->matched, m > 0 ? m : 0, "matched of %d", i);
			CHK(L, r->carry_left, p->binary_carry ? r->left - r->matched : 0, "carry_left of %d", i);
			CHK(L, r->carry_right, p->binary_carry ? r->right - r->matched : 0,
			    "carry_right of %d", i);
			CHK(L, n_bin, r->active && r->matched > 0 && p->binary_rate > 0, "binary lines of %d", i);
		} else {
			CHK(L, r->left == 0 && r->right == 0 && r->matched == 0 && r->carry_left == 0 &&
				       r->carry_right == 0,
			    1, "binary figures of %d without a binary plan", i);
		}
		CHK(L, r->commissions, comm, "res[%d].commissions == its commission lines", i);
		CHK(L, r->cap_adjustment, sum[LINE_CAP_ADJUSTMENT], "res[%d].cap_adjustment", i);
		/* 11.2: cap_adjustment = sum(floor(line x limit / total)) - sum(line) */
		CHK(L, r->cap_adjustment, capped ? scaled - comm : 0, "cap_adjustment of %d (11.2)", i);
		CHK(L, n_cap, r->cap_adjustment != 0, "cap_adjustment line of %d", i);
		CHK(L, r->clawbacks, sum[LINE_CLAWBACK], "res[%d].clawbacks", i);
		CHK(L, r->fees, sum[LINE_FEE], "res[%d].fees", i);
		CHK(L, r->carried_in, sum[LINE_CARRY_IN], "res[%d].carried_in", i);
		CHK(L, r->carried_in, in->carried_in[i], "res[%d].carried_in == input", i);
		CHK(L, n_carry, in->carried_in[i] != 0, "carry_in line of %d", i);
		/* money conservation per statement */
		CHK(L, r->payable, all, "payable of %d == sum of its lines", i);
		CHK(L, r->payable,
		    r->commissions + r->cap_adjustment + r->clawbacks + r->fees + r->carried_in,
		    "payable of %d == commissions + cap + clawbacks + fees + carried_in", i);
		CHK(L, r->paid + r->carried_out, r->payable, "paid + carried_out of %d", i);
		if (r->payable >= p->min_payout)
			CHK(L, r->paid, r->payable, "payable of %d >= min_payout is paid", i);
		else
			CHK(L, r->carried_out, r->payable, "payable of %d < min_payout is carried", i);
		int fee_due = !in->terminated[i] && r->commissions + r->cap_adjustment > 0;
		CHK(L, n_fee, fee_due ? (int)p->n_fees : 0, "fees of %d (11.5)", i);
		CHK(L, r->active, !in->terminated[i] && in->pv[i] >= p->activity_min_pv, "active %d", i);
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
	CHK(L, o->total_payable,
	    o->total_commissions + o->total_cap_adjustment + o->total_clawbacks + o->total_fees +
		    o->total_carried_in,
	    "total_payable == commissions + cap + clawbacks + fees + carried_in");
	CHK(L, o->cap_limit, limit, "cap_limit");
	if (capped)
		CHK(L, o->total_commissions + o->total_cap_adjustment <= limit, 1,
		    "capped commissions %lld exceed the limit %lld",
		    (long long)(o->total_commissions + o->total_cap_adjustment), (long long)limit);
	if (p->has_pool) {
		int64_t sum = 0;
		for (int32_t i = 0; i < in->n; i++)
			sum += in->cv[i];
		CHK(L, o->total_cv, sum > 0 ? sum : 0, "total_cv = max(0, sum of cv)");
		CHK(L, o->pool, ref_floor((__int128)p->pool_share * o->total_cv, RATE_ONE),
		    "pool = floor(share x total CV)");
		CHK(L, o->pool_allotted <= o->pool, 1, "pool_allotted <= pool");
		CHK(L, o->pool_allotted >= 0, 1, "pool_allotted >= 0");
		CHK(L, pool_lines, o->pool_allotted, "sum of pool lines == pool_allotted");
	} else {
		CHK(L, o->pool, 0, "pool without a pool");
		CHK(L, o->pool_allotted, 0, "pool_allotted without a pool");
		CHK(L, o->pool_total_shares, 0, "pool_total_shares without a pool");
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

/* ==== 1. differential ======================================================================= */

/*
 * Plan: activity.min_pv 100; one rank, member; no retail, no unilevel;
 * differential brackets, rates deliberately NOT increasing (SPEC 11.23: "rates
 * may come in any order"):
 *     from 1000.00: 9%    from 2000.00: 15%    from 4000.00: 12%    from 10000.00: 21%
 *
 * Tree (sponsor <- recruit), GV = PV + recruits' GV, rate = highest bracket
 * whose from <= GV:
 *
 *     id  parent   PV        CV       GV                            rate
 *     A   -      1000.00   400.00   1000 + 4000 + 2150 + 3200 = 10350   21%
 *     B   A       500.00   200.00    500 + 2500 + 1000 = 4000.00     12% (boundary; 15% below it)
 *     C   B      2500.00   300.00                        2500.00     15%  deeper, HIGHER than B
 *     G   B      1000.00   100.00                        1000.00      9%  (boundary)
 *     D   A        50.00    80.00     50 + 1500 + 600  = 2150.00     15%  INACTIVE (pv < 100)
 *     E   D      1500.00   250.50                        1500.00      9%
 *     F   D       600.00   120.00                         600.00      0%  below the lowest bracket
 *     T   A      3000.00   100.00   3000 + 200        = 3200.00     15%  TERMINATED
 *     U   T       200.00   500.00                         200.00      0%
 *
 * Each unit of CV pays each upline (the seller included) its rate minus the
 * highest rate met on the path from the seller up to just below it; never < 0.
 *   own sales: A 400.00 x 21% = 84.00; B 200.00 x 12% = 24.00; C 300.00 x 15% = 45.00;
 *              G 100.00 x 9% = 9.00; E 250.50 x 9% = 22.545 -> 22.54 (half even);
 *              D inactive: nothing (11.23: not even on own sales); F, U rate 0: nothing;
 *              T terminated: nothing.
 *   B on G's 100.00: 12% - 9% = 3% -> 3.00 (source G).
 *   B on C's 300.00: 12% - 15% < 0 -> 0: no line, and no negative line.
 *   A, leg B: B's own 200.00: 21 - 12 = 9%; G's 100.00: 21 - max(9, 12) = 9%;
 *             C's 300.00: 21 - max(15, 12) = 6%.  Two lines for the one leg
 *             (11.23): (B, 9%) base 300.00 -> 27.00; (B, 6%) base 300.00 -> 18.00.
 *   A, leg D: D's own 80.00, E's 250.50 (path E 9%, D 15%), F's 120.00 (F 0%, D 15%):
 *             all at 21 - 15 = 6% (the inactive D still limits):
 *             base 80.00 + 250.50 + 120.00 = 450.50 x 6% = 27.03.
 *   A, leg T: T's own 100.00 and U's 500.00 (U 0%, T 15%): 21 - 15 = 6% (the terminated
 *             T still limits): base 600.00 x 6% = 36.00.
 *   A: 84.00 + 18.00 + 27.00 + 27.03 + 36.00 = 192.03 (lines by source, then rate).
 */
static void test_differential(void **state)
{
	(void)state;
	enum { A, B, C, G, D, E, F, T, U };
	static const rank_spec rs[] = { { .id = "member" } };
	static const int64_t from[] = { 100000, 200000, 400000, 1000000 };
	static const int64_t rate[] = { 90000, 150000, 120000, 210000 };
	plan *p = plan_build(10000, rs, 1);
	plan_differential(p, 4, from, rate);
	tcase t = { .p = p };
	add(&t, A, -1, 100000, 40000, 0);
	add(&t, B, A, 50000, 20000, 0);
	add(&t, C, B, 250000, 30000, 0);
	add(&t, G, B, 100000, 10000, 0);
	add(&t, D, A, 5000, 8000, 0);
	add(&t, E, D, 150000, 25050, 0);
	add(&t, F, D, 60000, 12000, 0);
	add(&t, T, A, 300000, 10000, 0);
	add(&t, U, T, 20000, 50000, 0);
	t.term[T] = 1;
	engine_input in = input_of(&t);

	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, DIFF(A, 40000, 210000, 8400), DIFF(B, 30000, 60000, 1800),
			     DIFF(B, 30000, 90000, 2700), DIFF(D, 45050, 60000, 2703),
			     DIFF(T, 60000, 60000, 3600));
		EXPECT_RES(&o, A, .active = 1, .gv = 1035000, .commissions = 19203, .payable = 19203,
			   .paid = 19203);
		/* B: 24.00 + 3.00 = 27.00 */
		EXPECT_LINES(&o, B, DIFF(B, 20000, 120000, 2400), DIFF(G, 10000, 30000, 300));
		EXPECT_RES(&o, B, .active = 1, .gv = 400000, .commissions = 2700, .payable = 2700,
			   .paid = 2700);
		EXPECT_LINES(&o, C, DIFF(C, 30000, 150000, 4500));
		EXPECT_RES(&o, C, .active = 1, .gv = 250000, .commissions = 4500, .payable = 4500,
			   .paid = 4500);
		EXPECT_LINES(&o, G, DIFF(G, 10000, 90000, 900));
		EXPECT_RES(&o, G, .active = 1, .gv = 100000, .commissions = 900, .payable = 900,
			   .paid = 900);
		EXPECT_NO_LINES(&o, D);
		EXPECT_RES(&o, D, .active = 0, .gv = 215000);
		EXPECT_LINES(&o, E, DIFF(E, 25050, 90000, 2254));
		EXPECT_RES(&o, E, .active = 1, .gv = 150000, .commissions = 2254, .payable = 2254,
			   .paid = 2254);
		EXPECT_NO_LINES(&o, F);
		EXPECT_RES(&o, F, .active = 1, .gv = 60000);
		EXPECT_NO_LINES(&o, T);
		EXPECT_RES(&o, T, .active = 0, .gv = 320000);
		EXPECT_NO_LINES(&o, U);
		EXPECT_RES(&o, U, .active = 1, .gv = 20000);
		/* 192.03 + 27.00 + 45.00 + 9.00 + 22.54 = 295.57 */
		EXPECT_TOTALS(&o, .commissions = 29557, .payable = 29557, .paid = 29557,
			      .cap_limit = -1, .n_lines = 10);
	}

	/*
	 * G's sales refunded in the period: G's CV -200.00 (the refund exceeds its
	 * sales). Line bases are sums of CV and may be negative (6.5, 6.1):
	 *   A, leg B at 9%: B's 200.00 + G's -200.00 = 0: no line (11.7: base 0);
	 *   B on G at 3%: -200.00 x 3% = -6.00;  G's own at 9%: -200.00 x 9% = -18.00.
	 * A: 84.00 + 18.00 + 27.03 + 36.00 = 165.03; B: 24.00 - 6.00 = 18.00;
	 * G: -18.00, below min_payout 0: carried (11.6).
	 */
	t.cv[G] = -20000;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, DIFF(A, 40000, 210000, 8400), DIFF(B, 30000, 60000, 1800),
			     DIFF(D, 45050, 60000, 2703), DIFF(T, 60000, 60000, 3600));
		EXPECT_LINES(&o, B, DIFF(B, 20000, 120000, 2400), DIFF(G, -20000, 30000, -600));
		EXPECT_RES(&o, B, .active = 1, .gv = 400000, .commissions = 1800, .payable = 1800,
			   .paid = 1800);
		EXPECT_LINES(&o, C, DIFF(C, 30000, 150000, 4500));
		EXPECT_LINES(&o, G, DIFF(G, -20000, 90000, -1800));
		EXPECT_RES(&o, G, .active = 1, .gv = 100000, .commissions = -1800, .payable = -1800,
			   .carried_out = -1800);
		EXPECT_LINES(&o, E, DIFF(E, 25050, 90000, 2254));
		/* 165.03 + 18.00 + 45.00 - 18.00 + 22.54 = 232.57; paid 250.57, carried -18.00 */
		EXPECT_TOTALS(&o, .commissions = 23257, .payable = 23257, .paid = 25057,
			      .carried_out = -1800, .cap_limit = -1, .n_lines = 9);
	}
	t.cv[G] = 10000;

	/*
	 * The same tree, brackets raised so that everyone but A falls below the
	 * lowest (from 5000.00: 10%): only A has a rate; it earns 10% on every
	 * unit of its group, each leg in one line:
	 *   A own 400.00 -> 40.00; leg B 200 + 300 + 100 = 600.00 -> 60.00;
	 *   leg D 80 + 250.50 + 120 = 450.50 -> 45.05; leg T 100 + 500 = 600.00 -> 60.00.
	 */
	static const int64_t from2[] = { 500000 };
	static const int64_t rate2[] = { 100000 };
	memcpy(p->diff_from, from2, sizeof from2);
	memcpy(p->diff_rate, rate2, sizeof rate2);
	p->n_brackets = 1;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, DIFF(A, 40000, 100000, 4000), DIFF(B, 60000, 100000, 6000),
			     DIFF(D, 45050, 100000, 4505), DIFF(T, 60000, 100000, 6000));
		for (int i = B; i <= U; i++)
			EXPECT_NO_LINES(&o, i);
		/* 40.00 + 60.00 + 45.05 + 60.00 = 205.05 */
		EXPECT_TOTALS(&o, .commissions = 20505, .payable = 20505, .paid = 20505,
			      .cap_limit = -1, .n_lines = 4);
	}
	plan_free(p);
}

/* ==== 2. fast_start ========================================================================= */

/*
 * Plan: activity.min_pv 100; one rank, member, unilevel dynamic [5%, 4%, 3%];
 * retail 10%; fast_start levels [20%, 10%, 5%].
 *
 * Chain A <- B <- C <- S <- D.
 *
 *     id  parent   PV      CV      fast_start_cv (window CV, computed by the caller)
 *     A   -      100.00    0.00      0.00
 *     B   A       50.00    0.00      0.00    INACTIVE
 *     C   B      100.00   80.00     80.00    (all its sales in its window)
 *     S   C      100.00  300.00    200.00
 *     D   S      100.00  150.00      0.00    (joined long ago: fast_start_cv 0 pays nothing)
 *
 * fast_start (no compression; an inactive sponsor earns nothing and its
 * amount is not passed up):
 *   S 200.00: C lvl1 20% = 40.00; B lvl2 inactive: nothing; A lvl3 5% = 10.00
 *   C  80.00: B lvl1 inactive: nothing; A lvl2 10% = 8.00
 *   D   0.00: nothing.
 * retail 10% (never changed by exclusive): C 8.00, S 30.00, D 15.00.
 */
static void test_fast_start(void **state)
{
	(void)state;
	enum { A, B, C, S, D };
	static const rank_spec rs[] = {
		{ .id = "member", .n_levels = 3, .levels = { 50000, 40000, 30000 } },
	};
	static const int64_t fsr[] = { 200000, 100000, 50000 };
	plan *p = plan_build(10000, rs, 1);
	plan_retail(p, 100000);
	plan_fast_start(p, 3, fsr, 1);
	tcase t = { .p = p };
	add(&t, A, -1, 10000, 0, 0);
	add(&t, B, A, 5000, 0, 0);
	add(&t, C, B, 10000, 8000, 8000);
	add(&t, S, C, 10000, 30000, 20000);
	add(&t, D, S, 10000, 15000, 0);
	engine_input in = input_of(&t);

	/*
	 * exclusive: true. Unilevel bases are cv - fast_start_cv:
	 *   S 300.00 - 200.00 = 100.00: C lvl1 5% = 5.00; B skipped (dynamic); A lvl2 4% = 4.00
	 *   C  80.00 -  80.00 =   0.00: no unilevel line at all
	 *   D 150.00 -   0.00 = 150.00: S lvl1 5% = 7.50; C lvl2 4% = 6.00; A lvl3 3% = 4.50
	 */
	FOR_EACH_IMPL(k, &in, o) {
		/* A: 4.00 + 4.50 + 8.00 + 10.00 = 26.50 */
		EXPECT_LINES(&o, A, UNI(2, S, 10000, 40000, 400), UNI(3, D, 15000, 30000, 450),
			     FS(2, C, 8000, 100000, 800), FS(3, S, 20000, 50000, 1000));
		EXPECT_RES(&o, A, .active = 1, .gv = 45000, .commissions = 2650, .payable = 2650,
			   .paid = 2650);
		EXPECT_NO_LINES(&o, B);
		EXPECT_RES(&o, B, .active = 0, .gv = 35000);
		/* C: 8.00 + 5.00 + 6.00 + 40.00 = 59.00 */
		EXPECT_LINES(&o, C, RETAIL(C, 8000, 100000, 800), UNI(1, S, 10000, 50000, 500),
			     UNI(2, D, 15000, 40000, 600), FS(1, S, 20000, 200000, 4000));
		EXPECT_RES(&o, C, .active = 1, .gv = 30000, .commissions = 5900, .payable = 5900,
			   .paid = 5900);
		/* S: 30.00 + 7.50 = 37.50 */
		EXPECT_LINES(&o, S, RETAIL(S, 30000, 100000, 3000), UNI(1, D, 15000, 50000, 750));
		EXPECT_RES(&o, S, .active = 1, .gv = 20000, .commissions = 3750, .payable = 3750,
			   .paid = 3750);
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000, .commissions = 1500, .payable = 1500,
			   .paid = 1500);
		/* 26.50 + 59.00 + 37.50 + 15.00 = 138.00 */
		EXPECT_TOTALS(&o, .commissions = 13800, .payable = 13800, .paid = 13800,
			      .cap_limit = -1, .n_lines = 11);
	}

	/*
	 * exclusive: false. Unilevel on the whole CV; fast_start and retail as above:
	 *   S 300.00: C lvl1 5% = 15.00; A lvl2 4% = 12.00
	 *   C  80.00: B skipped; A lvl1 5% = 4.00
	 *   D 150.00: as above.
	 */
	p->fast_start_exclusive = 0;
	FOR_EACH_IMPL(k, &in, o) {
		/* A: 4.00 + 12.00 + 4.50 + 8.00 + 10.00 = 38.50 */
		EXPECT_LINES(&o, A, UNI(1, C, 8000, 50000, 400), UNI(2, S, 30000, 40000, 1200),
			     UNI(3, D, 15000, 30000, 450), FS(2, C, 8000, 100000, 800),
			     FS(3, S, 20000, 50000, 1000));
		EXPECT_RES(&o, A, .active = 1, .gv = 45000, .commissions = 3850, .payable = 3850,
			   .paid = 3850);
		EXPECT_NO_LINES(&o, B);
		/* C: 8.00 + 15.00 + 6.00 + 40.00 = 69.00 */
		EXPECT_LINES(&o, C, RETAIL(C, 8000, 100000, 800), UNI(1, S, 30000, 50000, 1500),
			     UNI(2, D, 15000, 40000, 600), FS(1, S, 20000, 200000, 4000));
		EXPECT_RES(&o, C, .active = 1, .gv = 30000, .commissions = 6900, .payable = 6900,
			   .paid = 6900);
		EXPECT_LINES(&o, S, RETAIL(S, 30000, 100000, 3000), UNI(1, D, 15000, 50000, 750));
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500));
		/* 38.50 + 69.00 + 37.50 + 15.00 = 160.00 */
		EXPECT_TOTALS(&o, .commissions = 16000, .payable = 16000, .paid = 16000,
			      .cap_limit = -1, .n_lines = 12);
	}

	/*
	 * exclusive: true but no sale in any window (fast_start_cv 0 everywhere):
	 * no fast_start line, unilevel on the whole CV.
	 *   A: 4.00 + 12.00 + 4.50 = 20.50; C: 8.00 + 15.00 + 6.00 = 29.00
	 */
	p->fast_start_exclusive = 1;
	t.fscv[C] = 0;
	t.fscv[S] = 0;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, A, UNI(1, C, 8000, 50000, 400), UNI(2, S, 30000, 40000, 1200),
			     UNI(3, D, 15000, 30000, 450));
		EXPECT_LINES(&o, C, RETAIL(C, 8000, 100000, 800), UNI(1, S, 30000, 50000, 1500),
			     UNI(2, D, 15000, 40000, 600));
		EXPECT_LINES(&o, S, RETAIL(S, 30000, 100000, 3000), UNI(1, D, 15000, 50000, 750));
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500));
		/* 20.50 + 29.00 + 37.50 + 15.00 = 102.00 */
		EXPECT_TOTALS(&o, .commissions = 10200, .payable = 10200, .paid = 10200,
			      .cap_limit = -1, .n_lines = 9);
	}

	/*
	 * A terminated seller's window CV still pays (11.27); a terminated sponsor
	 * earns nothing and passes nothing on. S terminated (exclusive, windows as
	 * at first): S 200.00: C lvl1 40.00, A lvl3 10.00 as before; S earns nothing
	 * (no retail, no unilevel on D, which now goes C lvl1 5% = 7.50, A lvl2 4% = 6.00).
	 * S's unilevel base 100.00: C lvl1 5.00; A lvl2 4.00.
	 */
	t.fscv[C] = 8000;
	t.fscv[S] = 20000;
	t.term[S] = 1;
	FOR_EACH_IMPL(k, &in, o) {
		/* A: 4.00 + 6.00 + 8.00 + 10.00 = 28.00 */
		EXPECT_LINES(&o, A, UNI(2, S, 10000, 40000, 400), UNI(2, D, 15000, 40000, 600),
			     FS(2, C, 8000, 100000, 800), FS(3, S, 20000, 50000, 1000));
		/* C: 8.00 + 5.00 + 7.50 + 40.00 = 60.50 */
		EXPECT_LINES(&o, C, RETAIL(C, 8000, 100000, 800), UNI(1, S, 10000, 50000, 500),
			     UNI(1, D, 15000, 50000, 750), FS(1, S, 20000, 200000, 4000));
		EXPECT_NO_LINES(&o, S);
		EXPECT_RES(&o, S, .active = 0, .gv = 20000);
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500));
		/* 28.00 + 60.50 + 15.00 = 103.50 */
		EXPECT_TOTALS(&o, .commissions = 10350, .payable = 10350, .paid = 10350,
			      .cap_limit = -1, .n_lines = 9);
	}
	plan_free(p);
}

/* ==== 3. pool =============================================================================== */

/*
 * Plan: activity.min_pv 100; ranks member (0 shares: not a holder),
 * silver {gv 500.00} 1 share, gold {gv 3000.00} 3 shares; pool share 3%;
 * nothing else.
 *
 *     id  parent   PV       CV        GV                          paid-as
 *     G   -      200.00   300.00    200 + 600 + 3010 + 100 = 3910   gold
 *     S   G      600.00   400.00                            600   silver
 *     X   G       50.00   100.00     50 + 2960          = 3010   gold, INACTIVE: not a holder
 *     Y   X     2960.00   484.56                           2960   silver
 *     M   G      100.00   -50.00 (a refund)                 100   member: 0 shares
 *
 * total CV = 300.00 + 400.00 + 100.00 + 484.56 - 50.00 = 1234.56 (negatives count)
 * pool = floor(3% x 1234.56) = floor(37.0368) = 37.03
 * holders: G 3, S 1, Y 1 -> 5 shares (X's 3 do not count: inactive)
 *   G floor(37.03 x 3 / 5) = floor(22.218) = 22.21
 *   S floor(37.03 x 1 / 5) = floor(7.406)  =  7.40;  Y likewise 7.40
 * allotted 22.21 + 7.40 + 7.40 = 37.01; remainder 37.03 - 37.01 = 0.02.
 */
static void test_pool(void **state)
{
	(void)state;
	enum { G, S, X, Y, M };
	static const rank_spec rs[] = {
		{ .id = "member" },
		{ .id = "silver", .gv = 50000, .shares = 1 },
		{ .id = "gold", .gv = 300000, .shares = 3 },
	};
	plan *p = plan_build(10000, rs, 3);
	plan_pool(p, 30000);
	tcase t = { .p = p };
	add(&t, G, -1, 20000, 30000, 0);
	add(&t, S, G, 60000, 40000, 0);
	add(&t, X, G, 5000, 10000, 0);
	add(&t, Y, X, 296000, 48456, 0);
	add(&t, M, G, 10000, -5000, 0);
	engine_input in = input_of(&t);

	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, G, POOL(3703, 3, 2221));
		EXPECT_RES(&o, G, .active = 1, .qualified = 2, .paid_as = 2, .title = 2, .gv = 391000,
			   .commissions = 2221, .payable = 2221, .paid = 2221);
		EXPECT_LINES(&o, S, POOL(3703, 1, 740));
		EXPECT_RES(&o, S, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 60000,
			   .commissions = 740, .payable = 740, .paid = 740);
		EXPECT_NO_LINES(&o, X);
		EXPECT_RES(&o, X, .active = 0, .qualified = 2, .paid_as = 2, .title = 2, .gv = 301000);
		EXPECT_LINES(&o, Y, POOL(3703, 1, 740));
		EXPECT_RES(&o, Y, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 296000,
			   .commissions = 740, .payable = 740, .paid = 740);
		EXPECT_NO_LINES(&o, M);
		EXPECT_RES(&o, M, .active = 1, .gv = 10000);
		EXPECT_POOL(&o, .total_cv = 123456, .pool = 3703, .total_shares = 5, .allotted = 3701);
		EXPECT_TOTALS(&o, .commissions = 3701, .payable = 3701, .paid = 3701,
			      .cap_limit = -1, .n_lines = 3);
	}

	/*
	 * A pool of 0.04: total CV 1.50 (M's refund -1283.06): pool = floor(3% x
	 * 1.50) = floor(0.045) = 0.04.  G floor(0.04 x 3 / 5) = floor(0.024) =
	 * 0.02; S and Y floor(0.008) = 0.00.
	 * READING (6.8, 11.7): a holder's pool line exists whenever the pool is
	 * above 0, even when its floor is 0.00 (base = the pool is not 0).
	 * allotted 0.02, remainder 0.02.
	 */
	t.cv[M] = -128306;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, G, POOL(4, 3, 2));
		EXPECT_LINES(&o, S, POOL(4, 1, 0));
		EXPECT_NO_LINES(&o, X);
		EXPECT_LINES(&o, Y, POOL(4, 1, 0));
		EXPECT_NO_LINES(&o, M);
		EXPECT_POOL(&o, .total_cv = 150, .pool = 4, .total_shares = 5, .allotted = 2);
		EXPECT_TOTALS(&o, .commissions = 2, .payable = 2, .paid = 2, .cap_limit = -1,
			      .n_lines = 3);
	}

	/*
	 * Negative total CV: 300 + 400 + 100 + 484.56 - 1300.00 = -15.44 -> total
	 * CV 0 (11.28: "at least 0"), pool 0: no line.
	 * READING (engine.h "all shares held"): pool_total_shares still counts
	 * the 5 shares held.
	 */
	t.cv[M] = -130000;
	FOR_EACH_IMPL(k, &in, o) {
		for (int i = G; i <= M; i++)
			EXPECT_NO_LINES(&o, i);
		EXPECT_POOL(&o, .total_cv = 0, .pool = 0, .total_shares = 5, .allotted = 0);
		EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	}

	/*
	 * No holder: silver lists 0 shares (not a holder), G inactive (pv 50.00;
	 * GV 50 + 600 + 3010 + 100 = 3760: still gold, but inactive), X inactive.
	 * The pool is 37.03 again; nothing is paid and the whole pool is the
	 * remainder (allotted 0).
	 */
	t.cv[M] = -5000;
	t.pv[G] = 5000;
	p->pool_shares[1] = 0;
	FOR_EACH_IMPL(k, &in, o) {
		for (int i = G; i <= M; i++)
			EXPECT_NO_LINES(&o, i);
		EXPECT_RES(&o, G, .active = 0, .qualified = 2, .paid_as = 2, .title = 2, .gv = 376000);
		EXPECT_POOL(&o, .total_cv = 123456, .pool = 3703, .total_shares = 0, .allotted = 0);
		EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	}
	plan_free(p);
}

/* ==== 4. matching, and the cap over it ======================================================= */

/*
 * Plan: activity.min_pv 100; ranks member (unilevel [5%], no generations:
 * earns no matching), leader {gv 1000.00} (unilevel [5%, 3%], matching
 * generations [20%, 10%]); retail 10%; fast_start [10%], not exclusive;
 * matching of [retail, unilevel, fast_start]; cap payout_ratio 50%, net
 * sales 300.00 -> limit 150.00.
 *
 *     id  parent   PV       CV      window CV   GV                       paid-as
 *     R   -      200.00     0.00      0.00    200 + 400 + 1050 = 1650   leader
 *     A   R      150.00   100.00    100.00    150 + 250       =  400   member
 *     B   A       50.00    60.00      0.00     50 + 200       =  250   member, INACTIVE
 *     C   B      100.00   200.00    100.00    100 + 100       =  200   member
 *     D   C      100.00   150.00    150.00                       100   member
 *     M   R       50.00     0.00      0.00     50 + 1000      = 1050   leader, INACTIVE
 *     N   M     1000.00   300.00    300.00                      1000   leader
 *
 * retail 10%: A 10.00, B 6.00 (inactive, not terminated: still paid), C 20.00,
 *   D 15.00, N 30.00.
 * unilevel (dynamic: B and M passed over; longest list 2):
 *   A 100.00: R lvl1 5% = 5.00
 *   B  60.00: A lvl1 5% = 3.00; R lvl2 3% = 1.80
 *   C 200.00: A lvl1 5% = 10.00; R lvl2 3% = 6.00
 *   D 150.00: C lvl1 5% = 7.50; A lvl2 (member list of 1): nothing; the walk stops.
 *   N 300.00: R lvl1 5% = 15.00
 * fast_start [10%] (no compression, nothing passed on):
 *   A 100.00: R 10.00;  C 100.00: B inactive, nothing;  D 150.00: C 15.00;
 *   N 300.00: M inactive, nothing (R gets nothing of it).
 * matched commissions (retail + unilevel + fast_start, before the cap):
 *   A 10.00 + 3.00 + 10.00 = 23.00;  B 6.00;  C 20.00 + 7.50 + 15.00 = 42.50;
 *   D 15.00;  M 0;  N 30.00.
 * matching (generations count everyone, inactive included):
 *   R (leader, active): gen 1 = A, M:  A 23.00 x 20% = 4.60;  M base 0: no line.
 *                       gen 2 = B (under A), N (under M):  B 6.00 x 10% = 0.60 (an inactive
 *                       source's commissions are matched);  N 30.00 x 10% = 3.00.
 *                       gen 3 = C: R's list has 2 generations: nothing.
 *   M (leader, INACTIVE): would get N 30.00 x 20% = 6.00: nothing.
 *   A, C, D (member, not in `generations`): 0.
 * commissions: R 5.00 + 15.00 + 1.80 + 6.00 + 10.00 + 4.60 + 0.60 + 3.00 = 46.00;
 *   A 10.00 + 3.00 + 10.00 = 23.00; B 6.00; C 20.00 + 7.50 + 15.00 = 42.50; D 15.00;
 *   N 30.00.  total 46.00 + 23.00 + 6.00 + 42.50 + 15.00 + 30.00 = 162.50 > 150.00.
 * cap: each line x 150.00 / 162.50 = x 12/13, rounded down, per line:
 *   R: 500 -> 461, 1500 -> 1384, 180 -> 166, 600 -> 553, 1000 -> 923, 460 -> 424,
 *      60 -> 55, 300 -> 276: 42.42 - 46.00 = -3.58
 *   A: 1000 -> 923, 300 -> 276, 1000 -> 923: 21.22 - 23.00 = -1.78
 *   B: 600 -> 553: -0.47
 *   C: 2000 -> 1846, 750 -> 692, 1500 -> 1384: 39.22 - 42.50 = -3.28
 *   D: 1500 -> 1384: -1.16
 *   N: 3000 -> 2769: -2.31
 *   total -12.58; paid 162.50 - 12.58 = 149.92 <= 150.00.
 * The matching lines keep their bases of before the cap (A's 23.00, not 21.22).
 */
static void test_matching(void **state)
{
	(void)state;
	enum { R, A, B, C, D, M, N };
	static const rank_spec rs[] = {
		{ .id = "member", .n_levels = 1, .levels = { 50000 } },
		{ .id = "leader", .gv = 100000, .n_levels = 2, .levels = { 50000, 30000 }, .n_gens = 2,
		  .gens = { 200000, 100000 } },
	};
	static const int64_t fsr[] = { 100000 };
	plan *p = plan_build(10000, rs, 2);
	plan_retail(p, 100000);
	plan_fast_start(p, 1, fsr, 0);
	plan_matching(p, OF(PLAN_RETAIL) | OF(PLAN_UNILEVEL) | OF(PLAN_FAST_START));
	plan_cap(p, 500000);
	tcase t = { .p = p, .net_sales = 30000 };
	add(&t, R, -1, 20000, 0, 0);
	add(&t, A, R, 15000, 10000, 10000);
	add(&t, B, A, 5000, 6000, 0);
	add(&t, C, B, 10000, 20000, 10000);
	add(&t, D, C, 10000, 15000, 15000);
	add(&t, M, R, 5000, 0, 0);
	add(&t, N, M, 100000, 30000, 30000);
	engine_input in = input_of(&t);

	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, R, UNI(1, A, 10000, 50000, 500), UNI(1, N, 30000, 50000, 1500),
			     UNI(2, B, 6000, 30000, 180), UNI(2, C, 20000, 30000, 600),
			     FS(1, A, 10000, 100000, 1000), MATCH(1, A, 2300, 200000, 460),
			     MATCH(2, B, 600, 100000, 60), MATCH(2, N, 3000, 100000, 300), CAP(-358));
		EXPECT_RES(&o, R, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 165000,
			   .commissions = 4600, .cap_adjustment = -358, .payable = 4242, .paid = 4242);
		EXPECT_LINES(&o, A, RETAIL(A, 10000, 100000, 1000), UNI(1, B, 6000, 50000, 300),
			     UNI(1, C, 20000, 50000, 1000), CAP(-178));
		EXPECT_RES(&o, A, .active = 1, .gv = 40000, .commissions = 2300, .cap_adjustment = -178,
			   .payable = 2122, .paid = 2122);
		EXPECT_LINES(&o, B, RETAIL(B, 6000, 100000, 600), CAP(-47));
		EXPECT_RES(&o, B, .active = 0, .gv = 25000, .commissions = 600, .cap_adjustment = -47,
			   .payable = 553, .paid = 553);
		EXPECT_LINES(&o, C, RETAIL(C, 20000, 100000, 2000), UNI(1, D, 15000, 50000, 750),
			     FS(1, D, 15000, 100000, 1500), CAP(-328));
		EXPECT_RES(&o, C, .active = 1, .gv = 20000, .commissions = 4250, .cap_adjustment = -328,
			   .payable = 3922, .paid = 3922);
		EXPECT_LINES(&o, D, RETAIL(D, 15000, 100000, 1500), CAP(-116));
		EXPECT_RES(&o, D, .active = 1, .gv = 10000, .commissions = 1500, .cap_adjustment = -116,
			   .payable = 1384, .paid = 1384);
		EXPECT_NO_LINES(&o, M);
		EXPECT_RES(&o, M, .active = 0, .qualified = 1, .paid_as = 1, .title = 1, .gv = 105000);
		EXPECT_LINES(&o, N, RETAIL(N, 30000, 100000, 3000), CAP(-231));
		EXPECT_RES(&o, N, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 100000,
			   .commissions = 3000, .cap_adjustment = -231, .payable = 2769, .paid = 2769);
		EXPECT_TOTALS(&o, .commissions = 16250, .cap_adjustment = -1258, .payable = 14992,
			      .paid = 14992, .cap_limit = 15000, .n_lines = 23);
	}

	/*
	 * Matching only fast_start: R's bases become A 0 (A earned no fast_start:
	 * no line), B 0, N 0; no matching line at all. Without the cap (net sales
	 * large): R 5.00 + 15.00 + 1.80 + 6.00 + 10.00 = 37.80.
	 * Then matching of unilevel alone, generation 1 rate 0 for leaders
	 * ([0, 10%]): gen 1 pays nothing (rate 0: no line, 11.7), gen 2: B has no
	 * unilevel (base 0), N none: nothing either.
	 */
	/*
	 * M terminated instead of merely inactive: its paid-as rank drops to the
	 * first (11.8) and it earns nothing, but it still counts as generation 1
	 * of R, so N is still R's generation 2 (11.26). Every line is as above.
	 */
	t.term[M] = 1;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, R, UNI(1, A, 10000, 50000, 500), UNI(1, N, 30000, 50000, 1500),
			     UNI(2, B, 6000, 30000, 180), UNI(2, C, 20000, 30000, 600),
			     FS(1, A, 10000, 100000, 1000), MATCH(1, A, 2300, 200000, 460),
			     MATCH(2, B, 600, 100000, 60), MATCH(2, N, 3000, 100000, 300), CAP(-358));
		EXPECT_NO_LINES(&o, M);
		EXPECT_RES(&o, M, .active = 0, .gv = 105000);
		EXPECT_TOTALS(&o, .commissions = 16250, .cap_adjustment = -1258, .payable = 14992,
			      .paid = 14992, .cap_limit = 15000, .n_lines = 23);
	}
	t.term[M] = 0;

	p->matching_of = OF(PLAN_FAST_START);
	in.net_sales = 1000000;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, R, UNI(1, A, 10000, 50000, 500), UNI(1, N, 30000, 50000, 1500),
			     UNI(2, B, 6000, 30000, 180), UNI(2, C, 20000, 30000, 600),
			     FS(1, A, 10000, 100000, 1000));
		/* 162.50 - 4.60 - 0.60 - 3.00 = 154.30 <= 5000.00: no cap */
		EXPECT_TOTALS(&o, .commissions = 15430, .payable = 15430, .paid = 15430,
			      .cap_limit = 500000, .n_lines = 14);
	}
	p->matching_of = OF(PLAN_UNILEVEL);
	p->matching_rates[1 * 2 + 0] = 0;
	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, R, UNI(1, A, 10000, 50000, 500), UNI(1, N, 30000, 50000, 1500),
			     UNI(2, B, 6000, 30000, 180), UNI(2, C, 20000, 30000, 600),
			     FS(1, A, 10000, 100000, 1000));
		EXPECT_TOTALS(&o, .commissions = 15430, .payable = 15430, .paid = 15430,
			      .cap_limit = 500000, .n_lines = 14);
	}
	plan_free(p);
}

/* ==== 5. a hybrid plan ======================================================================= */

/*
 * Plan: activity.min_pv 100; ranks member (unilevel [10%]; 1 pool share; no
 * matching generations), leader {pv 100, gv 1500.00} (unilevel [10%, 5%];
 * 2 pool shares; matching [25%, 10%]); no retail; unilevel dynamic;
 * fast_start [20%, 10%] exclusive; pool 5%; matching of [unilevel,
 * fast_start, pool]; cap 40%, net sales 900.00 -> limit 360.00.
 *
 *     id  parent   PV        CV      window CV   GV                         paid-as
 *     L   -       300.00   100.00      0.00    300 + 340 + 1550 = 2190     leader
 *     P   L       200.00   200.00      0.00    200 + 100 + 40   =  340     member
 *     Q   P       100.00   500.00    500.00                        100     member (new)
 *     R   P        40.00    40.00     40.00                         40     member, INACTIVE (new)
 *     S   L      1400.00   300.00    100.00    1400 + 150       = 1550     leader
 *     T   S       150.00   250.00      0.00                        150     member
 *
 * unilevel (exclusive: base = cv - window CV; R passed over, dynamic):
 *   P 200.00: L lvl1 10% = 20.00
 *   Q 500.00 - 500.00 = 0: no line;  R 40.00 - 40.00 = 0: no line
 *   S 300.00 - 100.00 = 200.00: L lvl1 10% = 20.00
 *   T 250.00: S lvl1 10% = 25.00; L lvl2 5% = 12.50
 * fast_start [20%, 10%]:
 *   Q 500.00: P 20% = 100.00; L 10% = 50.00
 *   R  40.00: P 20% = 8.00;   L 10% = 4.00  (an inactive seller's window CV pays)
 *   S 100.00: L 20% = 20.00
 * pool: total CV 100 + 200 + 500 + 40 + 300 + 250 = 1390.00; pool = floor(5% x
 *   1390.00) = 69.50; shares L 2, P 1, Q 1, S 2, T 1 (R inactive) = 7:
 *   L, S floor(69.50 x 2 / 7) = floor(19.857) = 19.85; P, Q, T floor(9.928) = 9.92;
 *   allotted 2 x 19.85 + 3 x 9.92 = 69.46 (remainder 0.04).
 * matched (unilevel + fast_start + pool): P 100.00 + 8.00 + 9.92 = 117.92;
 *   Q 9.92; R 0; S 25.00 + 19.85 = 44.85; T 9.92.
 * matching: L gen 1: P 117.92 x 25% = 29.48; S 44.85 x 25% = 11.2125 -> 11.21;
 *             gen 2: Q 9.92 x 10% = 0.992 -> 0.99; R base 0: no line; T 0.99.
 *           S gen 1: T 9.92 x 25% = 2.48.   P, Q, T (members): 0.
 * commissions: L 20.00 + 20.00 + 12.50 + 20.00 + 50.00 + 4.00 + 19.85 + 29.48 + 11.21
 *   + 0.99 + 0.99 = 189.02;  P 100.00 + 8.00 + 9.92 = 117.92;  Q 9.92;
 *   S 25.00 + 19.85 + 2.48 = 47.33;  T 9.92.  total 374.11 > 360.00.
 * cap: floor(line x 36000 / 37411), per line (cents):
 *   L: 2000 -> 1924 (x3: the two unilevel lvl1 and fast_start lvl1), 1250 -> 1202,
 *      5000 -> 4811, 400 -> 384, 1985 -> 1910, 2948 -> 2836, 1121 -> 1078, 99 -> 95 (x2):
 *      181.83 - 189.02 = -7.19
 *   P: 10000 -> 9622, 800 -> 769, 992 -> 954: 113.45 - 117.92 = -4.47
 *   Q: 992 -> 954: -0.38;  T likewise -0.38
 *   S: 2500 -> 2405, 1985 -> 1910, 248 -> 238: 45.53 - 47.33 = -1.80
 *   total -14.22; 374.11 - 14.22 = 359.89 <= 360.00.
 */
static void test_hybrid(void **state)
{
	(void)state;
	enum { L, P, Q, R, S, T };
	static const rank_spec rs[] = {
		{ .id = "member", .n_levels = 1, .levels = { 100000 }, .shares = 1 },
		{ .id = "leader", .pv = 10000, .gv = 150000, .n_levels = 2, .levels = { 100000, 50000 },
		  .shares = 2, .n_gens = 2, .gens = { 250000, 100000 } },
	};
	static const int64_t fsr[] = { 200000, 100000 };
	plan *p = plan_build(10000, rs, 2);
	plan_fast_start(p, 2, fsr, 1);
	plan_pool(p, 50000);
	plan_matching(p, OF(PLAN_UNILEVEL) | OF(PLAN_FAST_START) | OF(PLAN_POOL));
	plan_cap(p, 400000);
	tcase t = { .p = p, .net_sales = 90000 };
	add(&t, L, -1, 30000, 10000, 0);
	add(&t, P, L, 20000, 20000, 0);
	add(&t, Q, P, 10000, 50000, 50000);
	add(&t, R, P, 4000, 4000, 4000);
	add(&t, S, L, 140000, 30000, 10000);
	add(&t, T, S, 15000, 25000, 0);
	engine_input in = input_of(&t);

	FOR_EACH_IMPL(k, &in, o) {
		EXPECT_LINES(&o, L, UNI(1, P, 20000, 100000, 2000), UNI(1, S, 20000, 100000, 2000),
			     UNI(2, T, 25000, 50000, 1250), FS(1, S, 10000, 200000, 2000),
			     FS(2, Q, 50000, 100000, 5000), FS(2, R, 4000, 100000, 400),
			     POOL(6950, 2, 1985), MATCH(1, P, 11792, 250000, 2948),
			     MATCH(1, S, 4485, 250000, 1121), MATCH(2, Q, 992, 100000, 99),
			     MATCH(2, T, 992, 100000, 99), CAP(-719));
		EXPECT_RES(&o, L, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 219000,
			   .commissions = 18902, .cap_adjustment = -719, .payable = 18183,
			   .paid = 18183);
		EXPECT_LINES(&o, P, FS(1, Q, 50000, 200000, 10000), FS(1, R, 4000, 200000, 800),
			     POOL(6950, 1, 992), CAP(-447));
		EXPECT_RES(&o, P, .active = 1, .gv = 34000, .commissions = 11792,
			   .cap_adjustment = -447, .payable = 11345, .paid = 11345);
		EXPECT_LINES(&o, Q, POOL(6950, 1, 992), CAP(-38));
		EXPECT_RES(&o, Q, .active = 1, .gv = 10000, .commissions = 992, .cap_adjustment = -38,
			   .payable = 954, .paid = 954);
		EXPECT_NO_LINES(&o, R);
		EXPECT_RES(&o, R, .active = 0, .gv = 4000);
		EXPECT_LINES(&o, S, UNI(1, T, 25000, 100000, 2500), POOL(6950, 2, 1985),
			     MATCH(1, T, 992, 250000, 248), CAP(-180));
		EXPECT_RES(&o, S, .active = 1, .qualified = 1, .paid_as = 1, .title = 1, .gv = 155000,
			   .commissions = 4733, .cap_adjustment = -180, .payable = 4553, .paid = 4553);
		EXPECT_LINES(&o, T, POOL(6950, 1, 992), CAP(-38));
		EXPECT_RES(&o, T, .active = 1, .gv = 15000, .commissions = 992, .cap_adjustment = -38,
			   .payable = 954, .paid = 954);
		EXPECT_POOL(&o, .total_cv = 139000, .pool = 6950, .total_shares = 7, .allotted = 6946);
		/* 189.02 + 117.92 + 9.92 + 47.33 + 9.92 = 374.11; after the cap 359.89 */
		EXPECT_TOTALS(&o, .commissions = 37411, .cap_adjustment = -1422, .payable = 35989,
			      .paid = 35989, .cap_limit = 36000, .n_lines = 24);
	}
	plan_free(p);
}

/* ==== 6. invalid input ====================================================================== */

/* A fast_start plan run without the window CV (engine.h: NULL only "when the
 * plan has no fast_start") is refused with a message, not read as zeros. */
static void test_invalid_input(void **state)
{
	(void)state;
	static const rank_spec rs[] = { { .id = "member" } };
	static const int64_t fsr[] = { 100000 };
	plan *p = plan_build(10000, rs, 1);
	plan_fast_start(p, 1, fsr, 1);
	tcase t = { .p = p };
	add(&t, 0, -1, 10000, 1000, 1000);
	add(&t, 1, 0, 10000, 1000, 1000);
	engine_input in = input_of(&t);
	in.fast_start_cv = NULL;
	for (size_t k = 0; k < N_IMPLS; k++) {
		engine_output out;
		memset(&out, 0, sizeof out);
		pd_err err = { { 0 } };
		cur_impl = impls[k].name;
		if (impls[k].run(&in, &out, &err) != -1)
			fail_msg("[%s] fast_start without fast_start_cv: accepted", impls[k].name);
		if (err.msg[0] == '\0')
			fail_msg("[%s] fast_start without fast_start_cv: no message", impls[k].name);
	}
#ifndef TEST_ENGINE_MODEL_ONLY
	/* more pool shares than a plan file may give a rank (plan.c refuses
	 * them): a line keeps shares in an int32, so the engine refuses too */
	plan_pool(p, 20000);
	p->pool_shares[0] = PLAN_MAX_SHARES + 1;
	in = input_of(&t);
	engine_output out;
	memset(&out, 0, sizeof out);
	pd_err err = { { 0 } };
	assert_int_equal(engine_run(&in, &out, &err), -1);
	if (!strstr(err.msg, "pool shares"))
		fail_msg("too many pool shares: message \"%s\"", err.msg);
	p->pool_shares[0] = PLAN_MAX_SHARES;
	assert_int_equal(engine_run(&in, &out, &err), 0);
	engine_output_free(&out);
#endif
	plan_free(p);
}

/* The new line types by name (SPEC 6.8: the `type` printed in statements),
 * and which of them are commissions (capped, matched, counted). */
static void test_line_types(void **state)
{
	(void)state;
#ifndef TEST_ENGINE_MODEL_ONLY
	static const struct {
		int type;
		const char *name;
		int commission;
	} want[] = {
		{ LINE_DIFFERENTIAL, "differential", 1 }, { LINE_BINARY, "binary", 1 },
		{ LINE_FAST_START, "fast_start", 1 },
		{ LINE_POOL, "pool", 1 },                 { LINE_MATCHING, "matching", 1 },
		{ LINE_CAP_ADJUSTMENT, "cap_adjustment", 0 },
	};
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		const char *name = engine_line_type_name(want[k].type);
		assert_non_null(name);
		assert_string_equal(name, want[k].name);
		assert_int_equal(engine_line_type_find(want[k].name), want[k].type);
		assert_int_equal(engine_line_is_commission(want[k].type), want[k].commission);
	}
	assert_int_equal(engine_line_type_find("leadership pool"), -1);
#endif
}

/* ==== 7. random hybrid plans on random trees ================================================= */

/*
 * Random hybrid plans (every family, binary in about half of them, matching
 * of any present type, binary included) on random sponsor trees and, for
 * binary, random placement trees drawn apart from the sponsor tree: the
 * engine must agree with model_run line for line and on every result
 * (binary figures included), give the same bytes twice, and give the same
 * results when the distributors are renumbered (placement parents, legs and
 * carries follow their distributors).
 */

#include "random_draws.h" /* rng, rnd, rnd_below, random_placement */

/* A rate: 0 a quarter of the time (11.7: no line), else up to `max`. */
static int64_t rnd_rate(int64_t max)
{
	return rnd_below(4) == 0 ? 0 : 1 + rnd_below(max);
}

/*
 * A random plan: 1 to 4 ranks (pv, gv, legs, 2-period ranks, bonuses),
 * retail and unilevel (dynamic or none) each present or not, then each of
 * differential, binary (volume pv or cv, carry or not, a binary cap or not),
 * fast_start, pool and matching (of any of the present types) present or
 * not, with random rates (the legality guard is plan.c's business, not the
 * engine's), a cap or not, a fee or not, a min_payout or not.
 */
static plan *random_plan(void)
{
	static const char *const ids[] = { "r0", "r1", "r2", "r3" };
	rank_spec rs[4];
	memset(rs, 0, sizeof rs);
	int nr = 1 + (int)rnd_below(4);
	int uni = rnd_below(3) != 0, match = rnd_below(2) != 0;
	for (int r = 0; r < nr; r++) {
		rank_spec *s = &rs[r];
		s->id = ids[r];
		if (r > 0) {
			s->pv = rnd_below(3) ? 0 : 5000 + rnd_below(10000);
			s->gv = r * (10000 + rnd_below(80000));
			s->periods = rnd_below(5) == 0 ? 2 : 1;
			s->bonus = rnd_below(3) == 0 ? rnd_below(50000) : 0;
			if (rnd_below(5) == 0) {
				s->legs_count = 1 + (int)rnd_below(2);
				s->legs_min_rank = (int)rnd_below(r);
			}
		}
		if (uni) {
			s->n_levels = (int)rnd_below(5);
			for (int k = 0; k < s->n_levels; k++)
				s->levels[k] = rnd_rate(80000);
		}
		s->shares = rnd_below(3) == 0 ? 0 : rnd_below(6);
		if (match) {
			s->n_gens = (int)rnd_below(4);
			if (r == nr - 1 && s->n_gens == 0)
				s->n_gens = 1;
			for (int g = 0; g < s->n_gens; g++)
				s->gens[g] = rnd_rate(300000);
		}
	}
	static const int64_t min_pvs[] = { 0, 5000, 10000 };
	plan *p = plan_build(min_pvs[rnd_below(3)], rs, (size_t)nr);
	p->unilevel_dynamic = rnd_below(2) != 0;
	if (rnd_below(5) < 3)
		plan_retail(p, rnd_rate(250000));
	if (rnd_below(2)) {
		int nb = 1 + (int)rnd_below(5);
		int64_t from[5], rate[5], f = rnd_below(20000);
		for (int k = 0; k < nb; k++) {
			f += 1 + rnd_below(150000);
			from[k] = f;
			rate[k] = rnd_rate(250000);
		}
		plan_differential(p, nb, from, rate);
	}
	if (rnd_below(2)) {
		/* rates that make half-cent ties (125000 on odd matched x 4, 105000)
		 * and 0 (11.7: no line, yet the legs are still matched and carried) */
		static const int64_t brates[] = { 0, 100000, 125000, 105000, 333333, 1 };
		p->has_binary = 1;
		p->binary_rate = rnd_below(2) ? brates[rnd_below(6)] : 1 + rnd_below(400000);
		p->binary_volume_pv = rnd_below(2) == 0;
		p->binary_carry = rnd_below(4) != 0;
		if (rnd_below(2)) {
			/* small enough to bind often: a leg of a few sellers matches
			 * thousands, and rate x matched is then above the cap */
			p->has_binary_cap = 1;
			p->binary_cap = 1 + rnd_below(20000);
		}
	}
	if (rnd_below(2)) {
		int nl = 1 + (int)rnd_below(4);
		int64_t rates[4];
		for (int k = 0; k < nl; k++)
			rates[k] = rnd_rate(250000);
		plan_fast_start(p, nl, rates, rnd_below(2) != 0);
	}
	if (rnd_below(2))
		plan_pool(p, rnd_rate(50000));
	if (match) {
		unsigned present = 0, of = 0;
		for (int ty = PLAN_RETAIL; ty < PLAN_MATCHING; ty++)
			if (plan_has_type(p, (plan_type)ty))
				present |= OF(ty);
		for (int ty = PLAN_RETAIL; ty < PLAN_MATCHING; ty++)
			if ((present & OF(ty)) && rnd_below(2))
				of |= OF(ty);
		if (of == 0)
			for (int ty = PLAN_RETAIL; ty < PLAN_MATCHING && of == 0; ty++)
				of = present & OF(ty);
		if (of)
			plan_matching(p, of);
	}
	if (rnd_below(2))
		plan_cap(p, 50000 + rnd_below(600000));
	if (rnd_below(3) == 0)
		plan_add_fee(p, "statement fee", 150);
	p->min_payout = rnd_below(3) == 0 ? 1000 : 0;
	return p;
}

/* Field-by-field equality of two outputs, naming the first difference. */
static void expect_same_output(const engine_output *a, const engine_output *b, int32_t n,
			       const char *what)
{
	const int L = __LINE__;
	for (int32_t i = 0; i < n; i++) {
		const engine_result *x = &a->res[i], *y = &b->res[i];
		CHK(L, x->active, y->active, "%s: res[%d].active", what, i);
		CHK(L, x->qualified, y->qualified, "%s: res[%d].qualified", what, i);
		CHK(L, x->paid_as, y->paid_as, "%s: res[%d].paid_as", what, i);
		CHK(L, x->title, y->title, "%s: res[%d].title", what, i);
		CHK(L, x->gv, y->gv, "%s: res[%d].gv", what, i);
		CHK(L, x->left, y->left, "%s: res[%d].left", what, i);
		CHK(L, x->right, y->right, "%s: res[%d].right", what, i);
		CHK(L, x->matched, y->matched, "%s: res[%d].matched", what, i);
		CHK(L, x->carry_left, y->carry_left, "%s: res[%d].carry_left", what, i);
		CHK(L, x->carry_right, y->carry_right, "%s: res[%d].carry_right", what, i);
	}
	size_t nl = a->n_lines < b->n_lines ? a->n_lines : b->n_lines;
	for (size_t k = 0; k < nl; k++) {
		const engine_line *x = &a->lines[k], *y = &b->lines[k];
		if (line_cmp_all(x, y) == 0)
			continue;
		print_error("[%s] %s: line %zu differs:\n", cur_impl, what, k);
		print_line("first ", x);
		print_line("second", y);
		_fail(__FILE__, L);
	}
	if (a->n_lines != b->n_lines) {
		const engine_output *more = a->n_lines > b->n_lines ? a : b;
		print_error("[%s] %s: %s has more lines, from:\n", cur_impl, what,
			    more == a ? "first" : "second");
		print_line("extra", &more->lines[nl]);
	}
	CHK(L, a->n_lines, b->n_lines, "%s: n_lines", what);
	for (int32_t i = 0; i < n; i++) {
		const engine_result *x = &a->res[i], *y = &b->res[i];
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
	CHK(L, a->total_commissions, b->total_commissions, "%s: total_commissions", what);
	CHK(L, a->total_cap_adjustment, b->total_cap_adjustment, "%s: total_cap_adjustment", what);
	CHK(L, a->total_clawbacks, b->total_clawbacks, "%s: total_clawbacks", what);
	CHK(L, a->total_fees, b->total_fees, "%s: total_fees", what);
	CHK(L, a->total_carried_in, b->total_carried_in, "%s: total_carried_in", what);
	CHK(L, a->total_payable, b->total_payable, "%s: total_payable", what);
	CHK(L, a->total_paid, b->total_paid, "%s: total_paid", what);
	CHK(L, a->total_carried_out, b->total_carried_out, "%s: total_carried_out", what);
	CHK(L, a->cap_limit, b->cap_limit, "%s: cap_limit", what);
	CHK(L, a->pool, b->pool, "%s: pool", what);
	CHK(L, a->pool_total_shares, b->pool_total_shares, "%s: pool_total_shares", what);
	CHK(L, a->pool_allotted, b->pool_allotted, "%s: pool_allotted", what);
}

/* One random period: the arrays of an engine_input, owned. place, leg, cl
 * and cr (the placement tree and the carried-in legs) go to the engine only
 * with a binary plan. */
typedef struct rcase {
	int32_t n, history;
	int32_t *parent, *place;
	uint8_t *leg;
	int64_t *pv, *cv, *fscv, *carried, *cl, *cr;
	uint8_t *term, *title, *hist;
	engine_clawback *claw;
	size_t n_claw;
	int64_t net_sales;
} rcase;

static void rcase_alloc(rcase *c, int32_t n, int32_t history)
{
	size_t nn = (size_t)n;
	c->n = n;
	c->history = history;
	c->parent = xcalloc(nn, sizeof *c->parent);
	c->place = xcalloc(nn, sizeof *c->place);
	c->leg = xcalloc(nn, 1);
	c->cl = xcalloc(nn, sizeof *c->cl);
	c->cr = xcalloc(nn, sizeof *c->cr);
	c->pv = xcalloc(nn, sizeof *c->pv);
	c->cv = xcalloc(nn, sizeof *c->cv);
	c->fscv = xcalloc(nn, sizeof *c->fscv);
	c->carried = xcalloc(nn, sizeof *c->carried);
	c->term = xcalloc(nn, 1);
	c->title = xcalloc(nn, 1);
	c->hist = xcalloc(nn * (size_t)(history ? history : 1), 1);
	c->claw = xcalloc(8, sizeof *c->claw);
	c->n_claw = 0;
}

static void rcase_free(rcase *c)
{
	free(c->parent);
	free(c->place);
	free(c->leg);
	free(c->cl);
	free(c->cr);
	free(c->pv);
	free(c->cv);
	free(c->fscv);
	free(c->carried);
	free(c->term);
	free(c->title);
	free(c->hist);
	free(c->claw);
}

static engine_input rcase_input(const rcase *c, const plan *p)
{
	return (engine_input){
		.p = p, .n = c->n, .parent = c->parent, .pv = c->pv, .cv = c->cv,
		.fast_start_cv = p->has_fast_start ? c->fscv : NULL,
		.place_parent = p->has_binary ? c->place : NULL,
		.place_leg = p->has_binary ? c->leg : NULL,
		.carry_left = p->has_binary ? c->cl : NULL,
		.carry_right = p->has_binary ? c->cr : NULL, .terminated = c->term,
		.q_history = c->hist, .history = c->history, .title = c->title,
		.carried_in = c->carried, .net_sales = c->net_sales, .clawbacks = c->claw,
		.n_clawbacks = c->n_claw,
	};
}

static void random_case(rcase *c, const plan *p, int32_t n)
{
	int32_t history = model_max_periods(p) - 1 + (int32_t)rnd_below(2);
	rcase_alloc(c, n, history);
	int64_t sum_cv = 0;
	for (int32_t i = 0; i < n; i++) {
		int64_t r = rnd_below(100);
		if (i == 0 || r < 3)
			c->parent[i] = -1;
		else if (r < 45)
			c->parent[i] = i - 1 - (int32_t)rnd_below(i < 3 ? i : 3); /* deep chains */
		else if (r < 70)
			c->parent[i] = (int32_t)rnd_below(1 + rnd_below(i)); /* wide tops */
		else
			c->parent[i] = (int32_t)rnd_below(i);
		switch (rnd_below(10)) {
		case 0: c->pv[i] = rnd_below(3) ? 0 : -rnd_below(5000); break; /* refunds */
		case 3: c->pv[i] = rnd_below(2) ? p->activity_min_pv : p->activity_min_pv - 1; break;
		case 9: c->pv[i] = rnd_below(500001); break;
		default: c->pv[i] = rnd_below(40001); break;
		}
		switch (rnd_below(12)) {
		case 0: case 1: c->cv[i] = 0; break;
		case 2: c->cv[i] = rnd_below(100); break;        /* 0.00 lines, ties */
		case 3: c->cv[i] = -rnd_below(20001); break;     /* refunds */
		default: c->cv[i] = rnd_below(40001); break;
		}
		int64_t cv = c->cv[i];
		switch (rnd_below(4)) {
		case 0: c->fscv[i] = 0; break;
		case 1: c->fscv[i] = cv; break;
		case 2: c->fscv[i] = cv / 2; break;
		default: c->fscv[i] = cv >= 0 ? rnd_below(cv + 1) : -rnd_below(1 - cv); break;
		}
		sum_cv += cv;
		c->term[i] = rnd_below(15) == 0;
		c->title[i] = rnd_below(3) == 0 ? (uint8_t)rnd_below((int64_t)p->n_ranks) : 0;
		for (int32_t k = 0; k < history; k++)
			c->hist[(size_t)i * (size_t)history + (size_t)k] =
				(uint8_t)(rnd_below(2) ? p->n_ranks - 1 : (size_t)rnd_below((int64_t)p->n_ranks));
		c->carried[i] = rnd_below(5) == 0 ? rnd_below(4001) - 2000 : 0;
		/* legs carried in, negative ones too (a leg left negative by refunds
		 * is carried as it is: 11.25 matched = max(0, min)); none after
		 * carry: false, which carried out 0 */
		if (p->has_binary && p->binary_carry && rnd_below(3) != 0) {
			c->cl[i] = rnd_below(4) == 0 ? -rnd_below(30000) : rnd_below(100000);
			c->cr[i] = rnd_below(4) == 0 ? -rnd_below(30000) : rnd_below(100000);
		}
	}
	if (p->has_binary) {
		static const int spills[] = { 0, 8, 15 };
		static const int roots[] = { 12, 200 };
		int spill = spills[rnd_below(3)]; /* drawn in this order, not in an argument list's */
		int root = roots[rnd_below(2)];
		random_placement(c->n, spill, root, c->place, c->leg);
	}
	if (sum_cv < 0)
		sum_cv = 0;
	switch (rnd_below(4)) {
	case 0: c->net_sales = 2 * sum_cv; break;
	case 1: c->net_sales = sum_cv / 3; break;
	case 2: c->net_sales = rnd_below(sum_cv + 1); break;
	default: c->net_sales = -rnd_below(1000); break;
	}
	static const int64_t claw_rates[] = { 200000, 50000, 40000, 125000, 33333 };
	for (int64_t m = rnd_below(5); m > 0; m--) {
		engine_clawback cb = {
			.recipient = (int32_t)rnd_below(n),
			.level = rnd_below(3) == 0 ? -1 : (int32_t)(1 + rnd_below(4)),
			.source = (int32_t)rnd_below(n),
			.rate = claw_rates[rnd_below(5)],
			.base = 1 + rnd_below(20000),
		};
		int dup = 0;
		for (size_t j = 0; j < c->n_claw; j++)
			dup |= c->claw[j].recipient == cb.recipient && c->claw[j].level == cb.level &&
			       c->claw[j].source == cb.source && c->claw[j].rate == cb.rate;
		if (!dup)
			c->claw[c->n_claw++] = cb;
	}
}

/* The same period with the distributors renumbered in another order where
 * every sponsor still comes before its recruits: pos[old] = new, inv[new] = old.
 * The placement tree is renumbered with them (it has no order to keep). */
static void relabel(const rcase *c, rcase *d, int32_t *pos, int32_t *inv)
{
	int32_t n = c->n;
	rcase_alloc(d, n, c->history);
	uint8_t *placed = xcalloc((size_t)n, 1);
	int32_t *ready = xcalloc((size_t)n, sizeof *ready);
	for (int32_t j = 0; j < n; j++) {
		int32_t nr = 0;
		for (int32_t i = 0; i < n; i++)
			if (!placed[i] && (c->parent[i] < 0 || placed[c->parent[i]]))
				ready[nr++] = i;
		int32_t i = ready[rnd_below(nr)];
		placed[i] = 1;
		pos[i] = j;
		inv[j] = i;
	}
	for (int32_t j = 0; j < n; j++) {
		int32_t i = inv[j];
		d->parent[j] = c->parent[i] < 0 ? -1 : pos[c->parent[i]];
		d->place[j] = c->place[i] < 0 ? -1 : pos[c->place[i]];
		d->leg[j] = c->leg[i];
		d->cl[j] = c->cl[i];
		d->cr[j] = c->cr[i];
		d->pv[j] = c->pv[i];
		d->cv[j] = c->cv[i];
		d->fscv[j] = c->fscv[i];
		d->carried[j] = c->carried[i];
		d->term[j] = c->term[i];
		d->title[j] = c->title[i];
		for (int32_t k = 0; k < c->history; k++)
			d->hist[(size_t)j * (size_t)c->history + (size_t)k] =
				c->hist[(size_t)i * (size_t)c->history + (size_t)k];
	}
	for (size_t k = 0; k < c->n_claw; k++) {
		d->claw[k] = c->claw[k];
		d->claw[k].recipient = pos[c->claw[k].recipient];
		d->claw[k].source = pos[c->claw[k].source];
	}
	d->n_claw = c->n_claw;
	d->net_sales = c->net_sales;
	free(placed);
	free(ready);
}

/* Distributor i of `a` and distributor pos[i] of `b` (renumbered) have the
 * same results and the same multiset of lines, indexes mapped back. */
static void expect_same_relabeled(const engine_output *a, const engine_output *b, int32_t n,
				  const int32_t *pos, const int32_t *inv)
{
	const int L = __LINE__;
	for (int32_t i = 0; i < n; i++) {
		int32_t j = pos[i];
		const engine_result *x = &a->res[i], *y = &b->res[j];
		CHK(L, x->active, y->active, "relabeled %d->%d: active", i, j);
		CHK(L, x->paid_as, y->paid_as, "relabeled %d->%d: paid_as", i, j);
		CHK(L, x->gv, y->gv, "relabeled %d->%d: gv", i, j);
		CHK(L, x->left, y->left, "relabeled %d->%d: left", i, j);
		CHK(L, x->right, y->right, "relabeled %d->%d: right", i, j);
		CHK(L, x->matched, y->matched, "relabeled %d->%d: matched", i, j);
		CHK(L, x->carry_left, y->carry_left, "relabeled %d->%d: carry_left", i, j);
		CHK(L, x->carry_right, y->carry_right, "relabeled %d->%d: carry_right", i, j);
		CHK(L, x->commissions, y->commissions, "relabeled %d->%d: commissions", i, j);
		CHK(L, x->cap_adjustment, y->cap_adjustment, "relabeled %d->%d: cap_adjustment", i, j);
		CHK(L, x->fees, y->fees, "relabeled %d->%d: fees", i, j);
		CHK(L, x->payable, y->payable, "relabeled %d->%d: payable", i, j);
		CHK(L, x->paid, y->paid, "relabeled %d->%d: paid", i, j);
		CHK(L, x->n_lines, y->n_lines, "relabeled %d->%d: n_lines", i, j);
		uint32_t na = a->first_line[i + 1] - a->first_line[i];
		uint32_t nb = b->first_line[j + 1] - b->first_line[j];
		CHK(L, na, nb, "relabeled %d->%d: lines", i, j);
		if (na != nb)
			return;
		engine_line *la = xcalloc(na + 1, sizeof *la), *lb = xcalloc(nb + 1, sizeof *lb);
		memcpy(la, &a->lines[a->first_line[i]], na * sizeof *la);
		memcpy(lb, &b->lines[b->first_line[j]], nb * sizeof *lb);
		for (uint32_t k = 0; k < nb; k++) {
			lb[k].recipient = inv[lb[k].recipient];
			if (lb[k].source >= 0)
				lb[k].source = inv[lb[k].source];
		}
		qsort(la, na, sizeof *la, line_cmp_all);
		qsort(lb, nb, sizeof *lb, line_cmp_all);
		for (uint32_t k = 0; k < na; k++)
			if (line_cmp_all(&la[k], &lb[k]) != 0) {
				print_error("[%s] distributor %d (relabeled %d): line differs\n", cur_impl, i, j);
				print_line("original ", &la[k]);
				print_line("relabeled", &lb[k]);
				free(la);
				free(lb);
				_fail(__FILE__, L);
			}
		free(la);
		free(lb);
	}
	CHK(L, a->total_commissions, b->total_commissions, "relabeled: total_commissions");
	CHK(L, a->total_cap_adjustment, b->total_cap_adjustment, "relabeled: total_cap_adjustment");
	CHK(L, a->total_payable, b->total_payable, "relabeled: total_payable");
	CHK(L, a->pool, b->pool, "relabeled: pool");
	CHK(L, a->pool_total_shares, b->pool_total_shares, "relabeled: pool_total_shares");
	CHK(L, a->pool_allotted, b->pool_allotted, "relabeled: pool_allotted");
}

#ifndef N_RANDOM        /* -DN_RANDOM=20000 -DRANDOM_SEED=... for a longer search */
#define N_RANDOM 400
#endif
#ifndef RANDOM_SEED
#define RANDOM_SEED 20261201
#endif
#define MAX_RTREE 120

static void test_random_hybrids(void **state)
{
	(void)state;
	rng = RANDOM_SEED;
	char ctx[300];
	int n_type[LINE_N_TYPES] = { 0 };
	int capped = 0, pooled = 0, remainder = 0, exclusive = 0, cap_up = 0;
	/* binary: runs, lines at the binary cap, matching lines on a binary line
	 * (and on one at the binary cap: matched after that cap), plan-capped
	 * runs, placement parents after their child, negative and inactive legs,
	 * carry: false */
	int bin_runs = 0, bin_at_cap = 0, match_bin = 0, match_bin_cap = 0, bin_plan_capped = 0;
	int place_after = 0, neg_leg = 0, inactive_matched = 0, no_carry = 0;

	for (int run = 0; run < N_RANDOM; run++) {
		plan *p = random_plan();
		int32_t n = (int32_t)(1 + rnd_below(run < 40 ? 8 : MAX_RTREE));
		rcase c, d;
		random_case(&c, p, n);
		engine_input in = rcase_input(&c, p);
		snprintf(ctx, sizeof ctx,
			 "random %d (n %d; diff %d fs %d excl %d pool %d match %d of %#x uni %d retail %d "
			 "cap %d; binary %d rate %lld pv %d carry %d cap %d %lld)",
			 run, n, p->has_differential, p->has_fast_start, p->fast_start_exclusive,
			 p->has_pool, p->has_matching, p->matching_of, p->has_unilevel, p->has_retail,
			 p->has_cap, p->has_binary, (long long)p->binary_rate, p->binary_volume_pv,
			 p->binary_carry, p->has_binary_cap, (long long)p->binary_cap);

		engine_output first, again, model, other;
		run_impl(0, &in, &first);
		run_impl(0, &in, &again);
		cur_impl = ctx;
		/* determinism: the same lines, byte for byte */
		CHK(__LINE__, first.n_lines, again.n_lines, "second run: n_lines");
		if (first.n_lines == again.n_lines)
			CHK(__LINE__,
			    memcmp(first.lines, again.lines, first.n_lines * sizeof *first.lines), 0,
			    "second run: lines differ");
		expect_same_output(&first, &again, n, "second run");
		/* the reference model */
		run_impl(N_IMPLS - 1, &in, &model);
		cur_impl = ctx;
		expect_same_output(&first, &model, n, "engine vs model");
		/* another topological order */
		int32_t *pos = xcalloc((size_t)n, sizeof *pos), *inv = xcalloc((size_t)n, sizeof *inv);
		relabel(&c, &d, pos, inv);
		engine_input in2 = rcase_input(&d, p);
		run_impl(0, &in2, &other);
		cur_impl = ctx;
		expect_same_relabeled(&first, &other, n, pos, inv);

		for (size_t k = 0; k < first.n_lines; k++)
			n_type[first.lines[k].type]++;
		capped += first.total_cap_adjustment != 0;
		for (int32_t i = 0; i < n; i++)
			cap_up += first.res[i].cap_adjustment > 0; /* a statement of refunds */
		pooled += first.pool_allotted > 0;
		remainder += first.pool > first.pool_allotted && first.pool_allotted > 0;
		exclusive += p->has_fast_start && p->fast_start_exclusive && p->has_unilevel;
		if (p->has_binary) {
			/* binary_amount[i]: i's binary line, what matching of binary matches;
			 * at_cap[i]: that line is at the binary cap */
			int64_t *binary_amount = xcalloc((size_t)n, sizeof *binary_amount);
			uint8_t *at_cap = xcalloc((size_t)n, 1);
			bin_runs++;
			bin_plan_capped += first.total_cap_adjustment != 0;
			no_carry += !p->binary_carry;
			for (size_t k = 0; k < first.n_lines; k++) {
				const engine_line *l = &first.lines[k];
				if (l->type != LINE_BINARY)
					continue;
				binary_amount[l->recipient] = l->amount;
				at_cap[l->recipient] = l->amount < ref_rate(l->base, l->rate);
				bin_at_cap += at_cap[l->recipient];
			}
			for (size_t k = 0; k < first.n_lines; k++) {
				const engine_line *l = &first.lines[k];
				if (l->type != LINE_MATCHING || !(p->matching_of & OF(PLAN_BINARY)) ||
				    binary_amount[l->source] == 0)
					continue;
				match_bin++;
				match_bin_cap += at_cap[l->source];
			}
			for (int32_t i = 0; i < n; i++) {
				const engine_result *r = &first.res[i];
				place_after += c.place[i] > i;
				neg_leg += r->left < 0 || r->right < 0;
				inactive_matched += !r->active && r->matched > 0;
			}
			free(binary_amount);
			free(at_cap);
		}
		impls[0].free(&first);
		impls[0].free(&again);
		impls[N_IMPLS - 1].free(&model);
		impls[0].free(&other);
		free(pos);
		free(inv);
		rcase_free(&c);
		rcase_free(&d);
		plan_free(p);
	}
	/* The draw must reach the interesting cases. */
	print_message("random hybrids: %d; lines: differential %d, fast_start %d, pool %d, "
		      "matching %d, unilevel %d; %d capped, %d pooled (%d with a remainder), "
		      "%d exclusive fast_start + unilevel; %d positive cap adjustments\n",
		      N_RANDOM, n_type[LINE_DIFFERENTIAL], n_type[LINE_FAST_START], n_type[LINE_POOL],
		      n_type[LINE_MATCHING], n_type[LINE_UNILEVEL], capped, pooled, remainder, exclusive,
		      cap_up);
	print_message("binary: %d runs (%d plan-capped, %d with carry: false); %d binary lines "
		      "(%d at the binary cap); %d matching lines on a binary line (%d at the binary "
		      "cap); %d placement parents after their child; %d negative legs; %d inactive "
		      "with matched > 0\n",
		      bin_runs, bin_plan_capped, no_carry, n_type[LINE_BINARY], bin_at_cap, match_bin,
		      match_bin_cap, place_after, neg_leg, inactive_matched);
	assert_true(n_type[LINE_DIFFERENTIAL] >= 500);
	assert_true(n_type[LINE_FAST_START] >= 500);
	assert_true(n_type[LINE_POOL] >= 200);
	assert_true(n_type[LINE_MATCHING] >= 500);
	assert_true(capped >= 30);
	assert_true(pooled >= 30);
	assert_true(remainder >= 10);
	assert_true(exclusive >= 30);
	assert_true(bin_runs >= 150);
	assert_true(n_type[LINE_BINARY] >= 1500);
	assert_true(bin_at_cap >= 250);
	assert_true(match_bin >= 300);
	assert_true(match_bin_cap >= 30);
	assert_true(bin_plan_capped >= 35);
	assert_true(no_carry >= 25);
	assert_true(place_after >= 2500);
	assert_true(neg_leg >= 800);
	assert_true(inactive_matched >= 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_fast_start),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_line_types),
		cmocka_unit_test(test_random_hybrids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
