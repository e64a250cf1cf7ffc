/*
 * engine.c - one period of one plan: flat arrays in, results and lines out.
 * See engine.h for the contract and SPEC 6 and 11 for the rules.
 *
 * Every pass is linear in distributors (times ranks or levels, bounded by
 * the plan): GV and ranks bottom-up over the parent array (children come
 * after their sponsor, so a reverse scan sees every child first), and the
 * unilevel walk follows a precomputed "next upline that can earn" pointer,
 * so dynamic compression over a long chain of inactive distributors costs
 * nothing per skipped distributor.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "money.h"

/* engine.h says why the line is kept small */
_Static_assert(sizeof(engine_line) == 48, "engine_line is no longer 48 bytes");

typedef struct lines_buf {
	engine_line *v;
	size_t n, cap;
} lines_buf;

/* Room for at least `want` lines (a reservation only touches what is used). */
static void reserve(lines_buf *b, size_t want)
{
	if (want <= b->cap)
		return;
	b->cap = want;
	b->v = xrealloc(b->v, b->cap * sizeof *b->v);
}

static inline void push(lines_buf *b, const engine_line *l)
{
	if (b->n == b->cap)
		reserve(b, b->cap ? b->cap * 2 : 1024);
	b->v[b->n++] = *l;
}

static engine_line make_line(int32_t recipient, engine_line_type type)
{
	engine_line l = {.recipient = recipient, .type = (int8_t)type, .level = -1, .source = -1, .rank = -1,
			 .fee = -1, .base = 0, .rate = 0, .shares = 0, .amount = 0};
	return l;
}

static const char *const line_type_names[LINE_N_TYPES] = {
	[LINE_RETAIL] = "retail", [LINE_UNILEVEL] = "unilevel", [LINE_RANK_ADVANCEMENT] = "rank_advancement",
	[LINE_DIFFERENTIAL] = "differential", [LINE_BINARY] = "binary", [LINE_FAST_START] = "fast_start",
	[LINE_POOL] = "pool", [LINE_MATCHING] = "matching", [LINE_CAP_ADJUSTMENT] = "cap_adjustment",
	[LINE_CLAWBACK] = "clawback", [LINE_FEE] = "fee", [LINE_CARRY_IN] = "carry_in",
};

const char *engine_line_type_name(int type)
{
	return type >= 0 && type < LINE_N_TYPES ? line_type_names[type] : NULL;
}

int engine_line_type_find(const char *name)
{
	for (int t = 0; name && t < LINE_N_TYPES; t++)
		if (strcmp(line_type_names[t], name) == 0)
			return t;
	return -1;
}

int engine_max_periods(const plan *p)
{
	int m = 1;
	for (size_t r = 0; r < p->n_ranks; r++)
		if (p->ranks[r].periods > m)
			m = p->ranks[r].periods;
	return m;
}

/* Children of every distributor as one flat array (CSR). */
typedef struct tree {
	int32_t *start; /* [n + 1] */
	int32_t *child; /* [n] */
} tree;

static void build_tree(const engine_input *in, tree *t)
{
	int32_t n = in->n;
	t->start = xcalloc((size_t)n + 1, sizeof *t->start);
	t->child = xmalloc((size_t)(n ? n : 1) * sizeof *t->child);
	for (int32_t i = 0; i < n; i++)
		if (in->parent[i] >= 0)
			t->start[in->parent[i] + 1]++;
	for (int32_t i = 0; i < n; i++)
		t->start[i + 1] += t->start[i];
	int32_t *fill = xmalloc((size_t)(n ? n : 1) * sizeof *fill);
	memcpy(fill, t->start, (size_t)n * sizeof *fill);
	for (int32_t i = 0; i < n; i++)
		if (in->parent[i] >= 0)
			t->child[fill[in->parent[i]]++] = i;
	free(fill);
}

/* Does distributor i meet rank r's own requirements in this period (SPEC 6.3, 11.15-17)? */
static int meets(const engine_input *in, const tree *t, const engine_result *res, const uint8_t *best,
		 int32_t i, int r)
{
	const plan_rank *k = &in->p->ranks[r];
	if (k->has_pv && in->pv[i] < k->pv)
		return 0;
	if (k->has_gv) {
		if (k->has_max_leg_share) {
			/* PV + sum(min(GV(leg), s x gv)) >= gv, exactly: all in millionths */
			__int128 cap = (__int128)k->max_leg_share * k->gv;
			__int128 sum = (__int128)in->pv[i] * RATE_SCALE;
			for (int32_t c = t->start[i]; c < t->start[i + 1]; c++) {
				__int128 leg = (__int128)res[t->child[c]].gv * RATE_SCALE;
				sum += leg < cap ? leg : cap;
			}
			if (sum < (__int128)k->gv * RATE_SCALE)
				return 0;
		} else if (res[i].gv < k->gv) {
			return 0;
		}
	}
	if (k->has_legs) {
		int legs = 0;
		for (int32_t c = t->start[i]; c < t->start[i + 1]; c++)
			legs += best[t->child[c]] >= k->legs_min_rank;
		if (legs < k->legs_count)
			return 0;
	}
	if (k->has_active_recruits) {
		int act = 0;
		for (int32_t c = t->start[i]; c < t->start[i + 1]; c++)
			act += res[t->child[c]].active;
		if (act < k->active_recruits)
			return 0;
	}
	return 1;
}

/* Paid-as: the highest rank r with q >= r in each of the last r.periods periods (SPEC 6.3). */
static int paid_as(const engine_input *in, int32_t i, int q)
{
	for (int r = q; r > 0; r--) {
		int need = in->p->ranks[r].periods;
		int ok = 1;
		for (int k = 0; k < need - 1 && ok; k++) {
			int prev = k < in->history ? in->q_history[(size_t)i * (size_t)in->history + (size_t)k] : 0;
			ok = prev >= r;
		}
		if (ok)
			return r;
	}
	return 0;
}

static int add(int64_t *acc, int64_t v, pd_err *err)
{
	if (money_add(*acc, v, acc) < 0)
		return pd_errf(err, "engine: an amount overflowed");
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	const engine_line *x = a, *y = b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->source != y->source)
		return x->source < y->source ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->fee != y->fee)
		return x->fee < y->fee ? -1 : 1;
	if (x->rate != y->rate)
		return x->rate < y->rate ? -1 : 1;
	return 0;
}

/* Orders one statement's lines by cmp_line. Most statements are a handful
 * of lines made nearly in order: an insertion sort with the comparison
 * inlined, stable, instead of a qsort call each. Long ones still go to
 * qsort; either way the order is cmp_line's, which no two lines of a
 * close's statement tie on (clawbacks come aggregated per level, source
 * and rate). */
static void sort_statement(engine_line *v, uint32_t n)
{
	if (n > 48) {
		qsort(v, n, sizeof *v, cmp_line);
		return;
	}
	for (uint32_t k = 1; k < n; k++) {
		if (cmp_line(&v[k - 1], &v[k]) <= 0)
			continue;
		engine_line x = v[k];
		uint32_t j = k;
		do {
			v[j] = v[j - 1];
			j--;
		} while (j > 0 && cmp_line(&v[j - 1], &x) > 0);
		v[j] = x;
	}
}

/* ---- the families of SPEC 6.8 ---------------------------------------------------------- */

/* The bracket rate of a group volume: the highest bracket whose `from` <= gv, else 0. */
static int64_t bracket_rate(const plan *p, int64_t gv)
{
	int64_t r = 0;
	for (int b = 0; b < p->n_brackets && p->diff_from[b] <= gv; b++)
		r = p->diff_rate[b];
	return r;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * differential (SPEC 6.8, 11.23). Each distributor earns, on every unit of
 * CV in its group, its bracket rate minus the highest rate on the path from
 * the seller up to just below itself. Linear: h[c] holds c's group CV split
 * by that "highest rate so far" (one of the K distinct bracket rates, 0
 * included), built bottom-up. When c is done, its sponsor a earns on each
 * part at rate(a) - part's rate (one line per differential, source = c),
 * and the parts move up into h[a] with their rate raised to at least
 * rate(a). n x K int64 of memory, K <= PLAN_MAX_BRACKETS + 1.
 */
static int differential(const engine_input *in, const engine_result *res, lines_buf *lb, pd_err *err)
{
	const plan *p = in->p;
	int32_t n = in->n;
	int64_t rates[PLAN_MAX_BRACKETS + 1];
	int nk = 0;
	rates[nk++] = 0;
	for (int b = 0; b < p->n_brackets; b++)
		rates[nk++] = p->diff_rate[b];
	qsort(rates, (size_t)nk, sizeof *rates, cmp_i64);
	int k = 0;
	for (int j = 1; j < nk; j++)
		if (rates[j] != rates[k])
			rates[++k] = rates[j];
	nk = k + 1;
	uint8_t *idx = xmalloc((size_t)(n ? n : 1)); /* i's rate as an index into rates */
	for (int32_t i = 0; i < n; i++) {
		int64_t r = bracket_rate(p, res[i].gv);
		int j = 0;
		while (rates[j] != r)
			j++;
		idx[i] = (uint8_t)j;
	}
	int64_t *h = xcalloc((size_t)(n ? n : 1) * (size_t)nk, sizeof *h);
	int rc = -1;
	for (int32_t c = n - 1; c >= 0; c--) {
		int64_t *hc = h + (size_t)c * (size_t)nk;
		if (__builtin_add_overflow(hc[idx[c]], in->cv[c], &hc[idx[c]]))
			goto overflow;
		int own = res[c].active && idx[c] > 0 && in->cv[c] != 0;
		if (own) { /* on its own sales: its full rate (source = itself) */
			engine_line l = make_line(c, LINE_DIFFERENTIAL);
			l.source = c;
			l.base = in->cv[c];
			l.rate = rates[idx[c]];
			if (money_apply_rate(l.base, l.rate, &l.amount) < 0)
				goto overflow;
			push(lb, &l);
		}
		int32_t a = in->parent[c];
		if (a < 0)
			continue;
		int64_t *ha = h + (size_t)a * (size_t)nk;
		int earns = res[a].active; /* active implies not terminated */
		for (int j = 0; j < nk; j++) {
			if (hc[j] == 0)
				continue;
			if (earns && idx[a] > j) {
				engine_line l = make_line(a, LINE_DIFFERENTIAL);
				l.source = c;
				l.base = hc[j];
				l.rate = rates[idx[a]] - rates[j];
				if (money_apply_rate(l.base, l.rate, &l.amount) < 0)
					goto overflow;
				push(lb, &l);
			}
			int to = j > idx[a] ? j : idx[a];
			if (__builtin_add_overflow(ha[to], hc[j], &ha[to]))
				goto overflow;
		}
	}
	rc = 0;
	goto done;
overflow:
	pd_errf(err, "engine: differential amount overflow");
done:
	free(h);
	free(idx);
	return rc;
}

/*
 * binary (SPEC 6.8, 11.25). Leg volume = carried + the volume of every sale
 * in that leg's placement subtree; the subtree sums come from one pass in
 * reverse breadth-first order of the placement tree (which may order the
 * distributors differently from the sponsor tree), so it is linear however
 * deep the spill legs are. A placement that no root reaches (a cycle) or a
 * slot claimed twice is invalid input.
 */
static int binary(const engine_input *in, engine_result *res, lines_buf *lb, pd_err *err)
{
	const plan *p = in->p;
	int32_t n = in->n;
	size_t sz = (size_t)(n ? n : 1);
	const int64_t *vol = p->binary_volume_pv ? in->pv : in->cv;
	int32_t *kid = xmalloc(2 * sz * sizeof *kid); /* [2i] left child, [2i + 1] right child */
	int32_t *order = xmalloc(sz * sizeof *order);
	int64_t *sub = xmalloc(sz * sizeof *sub);
	int rc = -1;
	for (size_t k = 0; k < 2 * sz; k++)
		kid[k] = -1;
	int32_t head = 0, tail = 0;
	for (int32_t i = 0; i < n; i++) {
		int32_t pp = in->place_parent[i];
		if (pp < 0) {
			order[tail++] = i;
			continue;
		}
		if (pp >= n || pp == i || in->place_leg[i] > 1) {
			pd_errf(err, "engine: distributor %d has an invalid placement", i);
			goto done;
		}
		int32_t *slot = &kid[2 * (size_t)pp + in->place_leg[i]];
		if (*slot >= 0) {
			pd_errf(err, "engine: distributors %d and %d hold the same placement slot", *slot, i);
			goto done;
		}
		*slot = i;
	}
	while (head < tail) {
		int32_t i = order[head++];
		for (int k = 0; k < 2; k++)
			if (kid[2 * (size_t)i + (size_t)k] >= 0)
				order[tail++] = kid[2 * (size_t)i + (size_t)k];
	}
	if (tail != n) {
		pd_errf(err, "engine: the placement tree has a cycle (%d of %d distributors reached)", tail, n);
		goto done;
	}
	for (int32_t x = n - 1; x >= 0; x--) {
		int32_t i = order[x];
		int64_t s = vol[i];
		for (int k = 0; k < 2; k++) {
			int32_t c = kid[2 * (size_t)i + (size_t)k];
			if (c >= 0 && __builtin_add_overflow(s, sub[c], &s))
				goto overflow;
		}
		sub[i] = s;
	}
	for (int32_t i = 0; i < n; i++) {
		engine_result *r = &res[i];
		int32_t lc = kid[2 * (size_t)i], rc2 = kid[2 * (size_t)i + 1];
		if (__builtin_add_overflow(in->carry_left[i], lc >= 0 ? sub[lc] : 0, &r->left) ||
		    __builtin_add_overflow(in->carry_right[i], rc2 >= 0 ? sub[rc2] : 0, &r->right))
			goto overflow;
		int64_t m = r->left < r->right ? r->left : r->right;
		r->matched = m > 0 ? m : 0;
		/* consumed even when the recipient is inactive or capped */
		r->carry_left = p->binary_carry ? r->left - r->matched : 0;
		r->carry_right = p->binary_carry ? r->right - r->matched : 0;
		if (!r->active || r->matched == 0 || p->binary_rate <= 0)
			continue;
		engine_line l = make_line(i, LINE_BINARY);
		l.base = r->matched;
		l.rate = p->binary_rate;
		if (money_apply_rate(l.base, l.rate, &l.amount) < 0)
			goto overflow;
		if (p->has_binary_cap && l.amount > p->binary_cap)
			l.amount = p->binary_cap;
		push(lb, &l);
	}
	rc = 0;
	goto done;
overflow:
	pd_errf(err, "engine: binary volume or amount overflow");
done:
	free(kid);
	free(order);
	free(sub);
	return rc;
}

/* fast_start (SPEC 6.8, 11.27): the k-th sponsor above the seller earns
 * levels[k-1] of the seller's window CV; no compression, an inactive
 * sponsor's share is not passed on. */
static int fast_start(const engine_input *in, const engine_result *res, lines_buf *lb, pd_err *err)
{
	const plan *p = in->p;
	for (int32_t s = 0; s < in->n; s++) {
		int64_t base = in->fast_start_cv[s];
		if (base == 0)
			continue;
		int32_t a = in->parent[s];
		for (int k = 1; k <= p->fast_start_levels && a >= 0; k++, a = in->parent[a]) {
			int64_t rate = p->fast_start_rates[k - 1];
			if (!res[a].active || rate <= 0)
				continue;
			engine_line l = make_line(a, LINE_FAST_START);
			l.level = (int16_t)k; /* <= PLAN_MAX_LEVELS */
			l.source = s;
			l.base = base;
			l.rate = rate;
			if (money_apply_rate(base, rate, &l.amount) < 0)
				return pd_errf(err, "engine: fast_start amount overflow");
			push(lb, &l);
		}
	}
	return 0;
}

/* pool (SPEC 6.8, 11.28): floor(share x total CV), split by shares, each
 * share floored; what the floors leave is out->pool - out->pool_allotted. */
static int pool(const engine_input *in, const engine_result *res, lines_buf *lb, engine_output *out, pd_err *err)
{
	const plan *p = in->p;
	int64_t total_cv = 0, shares = 0;
	for (int32_t i = 0; i < in->n; i++)
		if (__builtin_add_overflow(total_cv, in->cv[i], &total_cv))
			return pd_errf(err, "engine: total CV overflow");
	if (total_cv < 0)
		total_cv = 0;
	out->total_cv = total_cv;
	if (money_floor_div((__int128)p->pool_share * total_cv, RATE_SCALE, &out->pool) < 0)
		return pd_errf(err, "engine: pool overflow");
	for (int32_t i = 0; i < in->n; i++)
		if (res[i].active)
			shares += p->pool_shares[res[i].paid_as]; /* <= 10^6 x 2^31: no overflow */
	out->pool_total_shares = shares;
	if (out->pool <= 0 || shares <= 0)
		return 0;
	for (int32_t i = 0; i < in->n; i++) {
		int64_t mine = res[i].active ? p->pool_shares[res[i].paid_as] : 0;
		if (mine <= 0)
			continue;
		engine_line l = make_line(i, LINE_POOL);
		l.base = out->pool;
		l.shares = (int32_t)mine; /* <= PLAN_MAX_SHARES, checked with the input */
		if (money_floor_div((__int128)out->pool * mine, shares, &l.amount) < 0)
			return pd_errf(err, "engine: pool overflow");
		out->pool_allotted += l.amount; /* sum of floors <= pool */
		push(lb, &l);
	}
	return 0;
}

/* matching (SPEC 6.8, 11.26): the commissions of the matched types each
 * distributor earned (before the cap) are matched at generation g by its
 * g-th sponsor, at that sponsor's paid-as rank's rate; no compression. */
static int matching(const engine_input *in, const engine_result *res, lines_buf *lb, pd_err *err)
{
	const plan *p = in->p;
	int32_t n = in->n;
	int64_t *m = xcalloc((size_t)(n ? n : 1), sizeof *m);
	size_t before = lb->n;
	int rc = -1;
	for (size_t k = 0; k < before; k++) {
		const engine_line *l = &lb->v[k];
		if ((p->matching_of & (1u << l->type)) &&
		    __builtin_add_overflow(m[l->recipient], l->amount, &m[l->recipient]))
			goto overflow;
	}
	for (int32_t s = 0; s < n; s++) {
		if (m[s] == 0)
			continue;
		int32_t a = in->parent[s];
		for (int g = 1; g <= p->matching_max_gens && a >= 0; g++, a = in->parent[a]) {
			if (!res[a].active)
				continue;
			int64_t rate = plan_matching_rate(p, res[a].paid_as, g);
			if (rate <= 0)
				continue;
			engine_line l = make_line(a, LINE_MATCHING);
			l.level = (int16_t)g; /* <= PLAN_MAX_LEVELS */
			l.source = s;
			l.base = m[s];
			l.rate = rate;
			if (money_apply_rate(l.base, rate, &l.amount) < 0)
				goto overflow;
			push(lb, &l);
		}
	}
	rc = 0;
	goto done;
overflow:
	pd_errf(err, "engine: matching amount overflow");
done:
	free(m);
	return rc;
}

static int check_input(const engine_input *in, pd_err *err)
{
	if (in->n < 0 || !in->p || in->p->n_ranks == 0 || in->p->n_ranks > 255)
		return pd_errf(err, "engine: invalid input");
	if (in->history < 0 || (in->history > 0 && !in->q_history))
		return pd_errf(err, "engine: invalid rank history");
	for (int32_t i = 0; i < in->n; i++)
		if (in->parent[i] < -1 || in->parent[i] >= i)
			return pd_errf(err, "engine: distributor %d comes before its sponsor %d", i, in->parent[i]);
	for (size_t k = 0; k < in->n_clawbacks; k++) {
		const engine_clawback *c = &in->clawbacks[k];
		if (c->recipient < 0 || c->recipient >= in->n || c->source < -1 || c->source >= in->n)
			return pd_errf(err, "engine: clawback %zu names a distributor out of range", k);
		if (c->level < -1 || c->level == 0 || c->level > INT16_MAX)
			return pd_errf(err, "engine: clawback %zu has level %d", k, (int)c->level);
	}
	if (in->p->has_pool)
		for (size_t r = 0; r < in->p->n_ranks; r++)
			if (in->p->pool_shares[r] < 0 || in->p->pool_shares[r] > PLAN_MAX_SHARES)
				return pd_errf(err, "engine: rank %zu holds %lld pool shares", r,
					       (long long)in->p->pool_shares[r]);
	if (in->p->has_fast_start && !in->fast_start_cv)
		return pd_errf(err, "engine: a fast_start plan needs each distributor's window CV");
	if (in->p->has_binary && (!in->place_parent || !in->place_leg || !in->carry_left || !in->carry_right))
		return pd_errf(err, "engine: a binary plan needs the placement tree and the carried volumes");
	return 0;
}

int engine_run(const engine_input *in, engine_output *out, pd_err *err)
{
	memset(out, 0, sizeof *out);
	if (check_input(in, err) < 0)
		return -1;
	const plan *p = in->p;
	int32_t n = in->n;
	engine_result *res = xcalloc((size_t)(n ? n : 1), sizeof *res);
	uint8_t *best = xcalloc((size_t)(n ? n : 1), 1); /* highest paid-as anywhere in i's subtree */
	int32_t *up = xmalloc((size_t)(n ? n : 1) * sizeof *up);
	tree t;
	build_tree(in, &t);
	lines_buf lb = {0};
	int rc = -1;

	/* 1. volumes: activity and GV (inactive and terminated downline included) */
	for (int32_t i = 0; i < n; i++) {
		res[i].active = !in->terminated[i] && in->pv[i] >= p->activity_min_pv;
		res[i].gv = in->pv[i];
	}
	for (int32_t i = n - 1; i >= 0; i--)
		if (in->parent[i] >= 0 && add(&res[in->parent[i]].gv, res[i].gv, err) < 0)
			goto out;

	/* 2. ranks, bottom-up: children (higher indexes) are settled first */
	for (int32_t i = n - 1; i >= 0; i--) {
		engine_result *r = &res[i];
		if (in->terminated[i]) {
			/* SPEC 11.8: first rank, title frozen */
			r->qualified = r->paid_as = 0;
			r->title = in->title[i];
		} else {
			int q = 0;
			for (int k = (int)p->n_ranks - 1; k > 0 && !q; k--)
				if (meets(in, &t, res, best, i, k))
					q = k;
			r->qualified = (uint8_t)q;
			r->paid_as = (uint8_t)paid_as(in, i, q);
			r->title = r->paid_as > in->title[i] ? r->paid_as : in->title[i];
		}
		uint8_t b = r->paid_as;
		for (int32_t c = t.start[i]; c < t.start[i + 1]; c++)
			if (best[t.child[c]] > b)
				b = best[t.child[c]];
		best[i] = b;
	}

	/* 3a. retail on own CV, active or not, unless terminated (SPEC 11.13) */
	if (p->has_retail && p->retail_rate > 0)
		for (int32_t i = 0; i < n; i++) {
			if (in->terminated[i] || in->cv[i] == 0)
				continue;
			engine_line l = make_line(i, LINE_RETAIL);
			l.source = i;
			l.base = in->cv[i];
			l.rate = p->retail_rate;
			if (money_apply_rate(l.base, l.rate, &l.amount) < 0) {
				pd_errf(err, "engine: retail amount overflow");
				goto out;
			}
			push(&lb, &l);
		}

	/* 3b. unilevel (SPEC 6.4, 11.18). up[i]: the nearest upline that may take
	 * a level: with dynamic compression the nearest active one (inactive and
	 * terminated uplines are passed over), with none simply the sponsor. */
	if (p->has_unilevel && p->unilevel_max_levels > 0) {
		/* The walk visits about seven uplines per source, a million sources
		 * in tree order: what it reads per upline is kept in one byte
		 * (0: cannot earn, else paid-as + 1), a megabyte that stays in the
		 * cache, instead of an 80-byte result per visit. */
		uint8_t *earn = xmalloc((size_t)(n ? n : 1));
		size_t sources = 0;
		for (int32_t i = 0; i < n; i++) {
			int32_t par = in->parent[i];
			if (!p->unilevel_dynamic || par < 0 || res[par].active)
				up[i] = par;
			else
				up[i] = up[par];
			earn[i] = res[i].active ? (uint8_t)(res[i].paid_as + 1) : 0;
			sources += in->cv[i] != 0;
		}
		/* lines for the retail and unilevel passes, reserved at once */
		reserve(&lb, lb.n + sources * (size_t)p->unilevel_max_levels);
		for (int32_t s = 0; s < n; s++) {
			if (in->cv[s] == 0)
				continue;
			/* SPEC 11.27: exclusive fast_start window CV pays no unilevel */
			int64_t base = in->cv[s];
			if (p->has_fast_start && p->fast_start_exclusive)
				base -= in->fast_start_cv[s];
			if (base == 0)
				continue;
			int32_t a = up[s];
			for (int k = 1; k <= p->unilevel_max_levels && a >= 0; k++, a = up[a]) {
				if (!earn[a])
					continue; /* none: an inactive upline uses the level and earns nothing */
				int64_t rate = p->unilevel_rates[(size_t)(earn[a] - 1) * (size_t)p->unilevel_max_levels +
								  (size_t)(k - 1)];
				if (rate <= 0)
					continue;
				engine_line l = make_line(a, LINE_UNILEVEL);
				l.level = (int16_t)k; /* <= PLAN_MAX_LEVELS */
				l.source = s;
				l.base = base;
				l.rate = rate;
				if (money_apply_rate(l.base, l.rate, &l.amount) < 0) {
					pd_errf(err, "engine: unilevel amount overflow");
					goto out;
				}
				push(&lb, &l);
			}
		}
		free(earn);
	}

	/* 3c. rank advancement: every rank passed when the title rises, once (SPEC 11.14) */
	if (p->has_rank_advancement)
		for (int32_t i = 0; i < n; i++)
			for (int r = in->title[i] + 1; r <= res[i].title; r++) {
				if (p->advancement_bonus[r] <= 0)
					continue;
				engine_line l = make_line(i, LINE_RANK_ADVANCEMENT);
				l.rank = r;
				l.amount = p->advancement_bonus[r];
				push(&lb, &l);
			}

	if (p->has_differential && differential(in, res, &lb, err) < 0)
		goto out;
	if (p->has_binary && binary(in, res, &lb, err) < 0)
		goto out;
	if (p->has_fast_start && fast_start(in, res, &lb, err) < 0)
		goto out;
	if (p->has_pool && pool(in, res, &lb, out, err) < 0)
		goto out;
	if (p->has_matching && matching(in, res, &lb, err) < 0)
		goto out;

	int64_t total = 0;
	for (size_t k = 0; k < lb.n; k++)
		if (add(&res[lb.v[k].recipient].commissions, lb.v[k].amount, err) < 0 ||
		    add(&total, lb.v[k].amount, err) < 0)
			goto out;

	/* 4. the cap (SPEC 11.2): each statement gets sum(floor(line x limit / total)) - sum(line) */
	out->cap_limit = -1;
	if (p->has_cap) {
		int64_t limit;
		if (money_floor_div((__int128)p->cap_payout_ratio * in->net_sales, RATE_SCALE, &limit) < 0) {
			pd_errf(err, "engine: cap overflow");
			goto out;
		}
		if (limit < 0)
			limit = 0;
		out->cap_limit = limit;
		if (total > limit) {
			size_t ncomm = lb.n;
			for (size_t k = 0; k < ncomm; k++) {
				int64_t scaled;
				if (money_floor_div((__int128)lb.v[k].amount * limit, total, &scaled) < 0) {
					pd_errf(err, "engine: cap overflow");
					goto out;
				}
				res[lb.v[k].recipient].cap_adjustment += scaled - lb.v[k].amount;
			}
			for (int32_t i = 0; i < n; i++)
				if (res[i].cap_adjustment != 0) {
					engine_line l = make_line(i, LINE_CAP_ADJUSTMENT);
					l.amount = res[i].cap_adjustment;
					push(&lb, &l);
				}
		}
	}

	/* 5. clawbacks: not capped, reach terminated distributors too (SPEC 11.4, 11.8) */
	for (size_t k = 0; k < in->n_clawbacks; k++) {
		const engine_clawback *c = &in->clawbacks[k];
		if (c->base == 0 || c->rate <= 0)
			continue;
		engine_line l = make_line(c->recipient, LINE_CLAWBACK);
		l.level = (int16_t)c->level; /* checked with the input */
		l.source = c->source;
		l.base = c->base;
		l.rate = c->rate;
		int64_t a;
		if (money_apply_rate(c->base, c->rate, &a) < 0) {
			pd_errf(err, "engine: clawback overflow");
			goto out;
		}
		l.amount = -a;
		push(&lb, &l);
		if (add(&res[c->recipient].clawbacks, l.amount, err) < 0)
			goto out;
	}

	/* 6. fees, once a period, to the earning and not terminated (SPEC 11.5) */
	for (int32_t i = 0; i < n; i++) {
		if (in->terminated[i] || res[i].commissions + res[i].cap_adjustment <= 0)
			continue;
		for (size_t f = 0; f < p->n_fees; f++) {
			engine_line l = make_line(i, LINE_FEE);
			l.fee = (int32_t)f;
			l.amount = -p->fees[f].amount;
			push(&lb, &l);
			if (add(&res[i].fees, l.amount, err) < 0)
				goto out;
		}
	}

	/* 7. carry_in, payable, min_payout (SPEC 6.6, 11.6) */
	for (int32_t i = 0; i < n; i++) {
		engine_result *r = &res[i];
		r->carried_in = in->carried_in[i];
		if (r->carried_in != 0) {
			engine_line l = make_line(i, LINE_CARRY_IN);
			l.amount = r->carried_in;
			push(&lb, &l);
		}
		r->payable = r->commissions;
		if (add(&r->payable, r->cap_adjustment, err) < 0 || add(&r->payable, r->clawbacks, err) < 0 ||
		    add(&r->payable, r->fees, err) < 0 || add(&r->payable, r->carried_in, err) < 0)
			goto out;
		if (r->payable >= p->min_payout) {
			r->paid = r->payable;
			r->carried_out = 0;
		} else {
			r->paid = 0;
			r->carried_out = r->payable;
		}
		int64_t *tot[] = {&out->total_commissions, &out->total_cap_adjustment, &out->total_clawbacks,
				  &out->total_fees, &out->total_carried_in, &out->total_payable, &out->total_paid,
				  &out->total_carried_out};
		int64_t val[] = {r->commissions, r->cap_adjustment, r->clawbacks, r->fees, r->carried_in,
				 r->payable, r->paid, r->carried_out};
		for (int k = 0; k < 8; k++)
			if (add(tot[k], val[k], err) < 0)
				goto out;
	}

	/* group lines by recipient (counting sort, stable), then order each statement */
	out->first_line = xcalloc((size_t)n + 1, sizeof *out->first_line);
	for (size_t k = 0; k < lb.n; k++)
		out->first_line[lb.v[k].recipient + 1]++;
	for (int32_t i = 0; i < n; i++) {
		res[i].n_lines = out->first_line[i + 1];
		out->first_line[i + 1] += out->first_line[i];
	}
	out->lines = xmalloc((lb.n ? lb.n : 1) * sizeof *out->lines);
	uint32_t *fill = xmalloc((size_t)(n ? n : 1) * sizeof *fill);
	memcpy(fill, out->first_line, (size_t)n * sizeof *fill);
	for (size_t k = 0; k < lb.n; k++)
		out->lines[fill[lb.v[k].recipient]++] = lb.v[k];
	free(fill);
	for (int32_t i = 0; i < n; i++)
		if (res[i].n_lines > 1)
			sort_statement(out->lines + out->first_line[i], res[i].n_lines);
	out->n_lines = lb.n;
	out->res = res;
	res = NULL;
	rc = 0;
out:
	free(lb.v);
	free(res);
	free(best);
	free(up);
	free(t.start);
	free(t.child);
	if (rc < 0)
		engine_output_free(out);
	return rc;
}

void engine_output_free(engine_output *out)
{
	free(out->res);
	free(out->lines);
	free(out->first_line);
	memset(out, 0, sizeof *out);
}
