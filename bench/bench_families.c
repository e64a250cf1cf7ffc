/*
 * bench_families - times the commission engine on the plan families of
 * SPEC 6.8 (issue 6 item 4), on trees and plans built in memory:
 *
 *   chain       differential over a 100,000-deep sponsor chain
 *   binary      binary on 1,000,000 placements whose root has two
 *               100,000-deep spill legs (all-left, all-right), the rest
 *               placed breadth-first, and a random sponsor tree
 *   matching    unilevel + matching of [unilevel], 1,000,000 distributors
 *   hybrid      retail, unilevel, differential, binary, fast_start, pool,
 *               matching of [unilevel, binary] and the cap: 1,000,000
 *               distributors, 10,000,000 sales
 *
 *   bench_families [--seed N] [--warm] [CASE...]   (all four cases by default)
 *
 * Each case runs in its own child process, so its peak RSS (getrusage) is
 * its own: the inputs, the sales while they are summed, and one engine run
 * with its output. Sales are generated (seller, amount, day), then summed into
 * per-distributor pv, cv and fast_start_cv as the close does; that sum is
 * timed on its own ("aggregation"). The engine time is engine_run alone,
 * CLOCK_MONOTONIC, best of 3 runs on the same input, with the CPU time of
 * that run beside it (on a shared machine the difference is time spent
 * waiting for a core), and the page faults of each run. --warm keeps
 * every allocation in the process's heap once touched (mallopt: no mmap,
 * no trim), so that runs 2 and 3 measure the engine without first touches
 * of fresh memory; on a virtual machine whose host takes back free guest
 * memory these cost several seconds per GiB (docs/performance.md).
 *
 * Every case then checks its output against figures computed here another
 * way (the chain's every differential line; the binary legs from sides
 * recorded while the placement tree was built; matching, fast_start and the
 * pool recounted from the inputs and the lines), so the bench cannot time a
 * no-op. A failed check prints why and makes the exit status 1.
 *
 * Units as everywhere: money and volumes in hundredths, rates in millionths.
 */
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "money.h"
#include "plan.h"
#include "splitmix.h"

#define RUNS 3
#define SPILL_DEPTH 100000    /* each spill leg of the binary cases */
#define SALE_DAYS 30          /* the period: days 0..29 */
#define NOT_NEW (-100000)     /* join day of a distributor who joined long ago */

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static uint64_t below(uint64_t n)
{
	return rng() % n;
}

static double clock_s(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of this process: on a shared machine, wall time minus this is
 * time spent waiting for a core. */
static double cpu_now(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* ==== the plan, as a C struct ============================================================= */

/* The ranks every case uses; a requirement left 0 is not listed. */
typedef struct rank_spec {
	const char *id;
	int64_t pv, gv;                  /* hundredths */
	int legs_count, legs_min_rank, periods;
	int n_levels;                    /* unilevel */
	int64_t levels[8];
	int64_t shares;                  /* pool */
	int n_gens;                      /* matching */
	int64_t gens[2];
} rank_spec;

static const rank_spec RANKS[] = {
	{.id = "member", .n_levels = 1, .levels = {50000}},
	{.id = "silver", .pv = 10000, .gv = 100000, .n_levels = 3, .levels = {50000, 40000, 30000},
	 .shares = 1, .n_gens = 1, .gens = {50000}},
	{.id = "gold", .pv = 10000, .gv = 500000, .legs_count = 2, .legs_min_rank = 1, .n_levels = 5,
	 .levels = {50000, 40000, 30000, 20000, 20000}, .shares = 3, .n_gens = 2, .gens = {100000, 50000}},
	{.id = "diamond", .pv = 10000, .gv = 2500000, .legs_count = 3, .legs_min_rank = 2, .periods = 2,
	 .n_levels = 7, .levels = {50000, 40000, 30000, 20000, 20000, 10000, 10000}, .shares = 10, .n_gens = 2,
	 .gens = {150000, 100000}},
};
#define N_RANKS (sizeof RANKS / sizeof RANKS[0])

/* The plan families a case turns on. */
enum {
	F_RETAIL = 1 << 0,
	F_UNILEVEL = 1 << 1,
	F_DIFFERENTIAL = 1 << 2,
	F_BINARY = 1 << 3,
	F_FAST_START = 1 << 4,
	F_POOL = 1 << 5,
	F_MATCHING = 1 << 6,
	F_CAP = 1 << 7,
};

/* A plan like SPEC 6.8's examples: activity 100.00 PV, the ranks above,
 * retail 10%, unilevel with dynamic compression, differential brackets
 * 1000/2000/4000/10000 -> 9/12/15/21%, binary 10% of matched CV with carry
 * and a 5000.00 cap, fast_start 60 days [20, 10, 5%] exclusive, a 2% pool
 * by rank shares, matching of `matching_of` over 2 generations, a cap of
 * 45% of net sales. Freed with plan_free. */
static plan *make_plan(unsigned families, unsigned matching_of)
{
	plan *p = xcalloc(1, sizeof *p);
	p->name = xstrdup("bench families");
	memcpy(p->currency, "EUR", 4);
	p->timezone = xstrdup("UTC");
	p->period = PERIOD_MONTHLY;
	p->activity_min_pv = 10000;
	size_t n = N_RANKS;
	p->ranks = xcalloc(n, sizeof *p->ranks);
	p->n_ranks = n;
	int maxl = 0, maxg = 0;
	for (size_t r = 0; r < n; r++) {
		plan_rank *k = &p->ranks[r];
		k->id = xstrdup(RANKS[r].id);
		k->has_pv = RANKS[r].pv != 0;
		k->pv = RANKS[r].pv;
		k->has_gv = RANKS[r].gv != 0;
		k->gv = RANKS[r].gv;
		k->has_legs = RANKS[r].legs_count != 0;
		k->legs_count = RANKS[r].legs_count;
		k->legs_min_rank = RANKS[r].legs_min_rank;
		k->periods = RANKS[r].periods ? RANKS[r].periods : 1;
		if (RANKS[r].n_levels > maxl)
			maxl = RANKS[r].n_levels;
		if (RANKS[r].n_gens > maxg)
			maxg = RANKS[r].n_gens;
	}
	p->advancement_bonus = xcalloc(n, sizeof *p->advancement_bonus);
	p->unilevel_levels = xcalloc(n, sizeof *p->unilevel_levels);
	p->unilevel_rates = xcalloc(n * (size_t)maxl, sizeof *p->unilevel_rates);
	p->pool_shares = xcalloc(n, sizeof *p->pool_shares);
	p->matching_gens = xcalloc(n, sizeof *p->matching_gens);
	p->matching_rates = xcalloc(n * (size_t)maxg, sizeof *p->matching_rates);
	p->unilevel_max_levels = maxl;
	p->matching_max_gens = maxg;
	for (size_t r = 0; r < n; r++) {
		p->unilevel_levels[r] = RANKS[r].n_levels;
		for (int k = 0; k < RANKS[r].n_levels; k++)
			p->unilevel_rates[r * (size_t)maxl + (size_t)k] = RANKS[r].levels[k];
		p->pool_shares[r] = RANKS[r].shares;
		p->matching_gens[r] = RANKS[r].n_gens;
		for (int g = 0; g < RANKS[r].n_gens; g++)
			p->matching_rates[r * (size_t)maxg + (size_t)g] = RANKS[r].gens[g];
	}
	if (families & F_RETAIL) {
		p->has_retail = 1;
		p->retail_rate = 100000;
	}
	if (families & F_UNILEVEL) {
		p->has_unilevel = 1;
		p->unilevel_dynamic = 1;
	}
	if (families & F_DIFFERENTIAL) {
		static const int64_t from[] = {100000, 200000, 400000, 1000000};
		static const int64_t rate[] = {90000, 120000, 150000, 210000};
		p->has_differential = 1;
		p->n_brackets = 4;
		p->diff_from = xmalloc(sizeof from);
		p->diff_rate = xmalloc(sizeof rate);
		memcpy(p->diff_from, from, sizeof from);
		memcpy(p->diff_rate, rate, sizeof rate);
	}
	if (families & F_BINARY) {
		p->has_binary = 1;
		p->binary_rate = 100000;
		p->binary_carry = 1;
		p->has_binary_cap = 1;
		p->binary_cap = 500000;
	}
	if (families & F_FAST_START) {
		static const int64_t fs[] = {200000, 100000, 50000};
		p->has_fast_start = 1;
		p->fast_start_days = 60;
		p->fast_start_levels = 3;
		p->fast_start_rates = xmalloc(sizeof fs);
		memcpy(p->fast_start_rates, fs, sizeof fs);
		p->fast_start_exclusive = 1;
	}
	if (families & F_POOL) {
		p->has_pool = 1;
		p->pool_name = xstrdup("leadership pool");
		p->pool_share = 20000;
	}
	if (families & F_MATCHING) {
		p->has_matching = 1;
		p->matching_of = matching_of;
	}
	if (families & F_CAP) {
		p->has_cap = 1;
		p->cap_payout_ratio = 450000;
	}
	return p;
}

/* ==== trees, sales and the engine's input ================================================= */

typedef struct bench_case {
	const char *name;
	plan *p;
	int32_t n;
	long n_sales;
	int32_t *parent, *place_parent, *join_day;
	uint8_t *place_leg, *side, *dormant, *term, *title, *hist;
	int64_t *pv, *cv, *fscv, *carry_left, *carry_right, *carried;
	int history;
	int64_t net_sales;
	double agg_s;
} bench_case;

static void case_alloc(bench_case *c, int32_t n)
{
	size_t z = (size_t)n;
	c->n = n;
	c->parent = xmalloc(z * sizeof *c->parent);
	c->join_day = xmalloc(z * sizeof *c->join_day);
	c->dormant = xcalloc(z, 1);
	c->term = xcalloc(z, 1);
	c->title = xcalloc(z, 1);
	c->pv = xcalloc(z, sizeof *c->pv);
	c->cv = xcalloc(z, sizeof *c->cv);
	c->fscv = xcalloc(z, sizeof *c->fscv);
	c->carried = xcalloc(z, sizeof *c->carried);
	/* 12% joined inside the last 90 days (fast_start windows), 0.5% are
	 * terminated in this period, 25% buy nothing */
	for (int32_t i = 0; i < n; i++) {
		c->join_day[i] = below(100) < 12 ? (int32_t)below(90) - 60 : NOT_NEW;
		c->term[i] = below(200) == 0;
		c->dormant[i] = below(4) == 0;
	}
	/* the top of the sponsor tree and the placement root earns: the checks
	 * look at its lines */
	c->term[0] = c->dormant[0] = 0;
}

/* Sponsor tree: every distributor recruited by a random earlier one (a
 * random recursive tree: depth about ln n), plus, with `chain`, the last
 * `chain` distributors in one chain of dormant ones (as bench_engine). */
static void random_sponsors(bench_case *c, int32_t chain)
{
	for (int32_t i = 0; i < c->n; i++) {
		if (i == 0) {
			c->parent[i] = -1;
		} else if (i >= c->n - chain) {
			c->parent[i] = i - 1;
			c->dormant[i] = 1;
		} else {
			c->parent[i] = (int32_t)below((uint64_t)i);
		}
	}
}

/*
 * The placement tree of the binary cases: distributor 0 is the root; its
 * left leg is a chain of SPILL_DEPTH distributors each placed on the left of
 * the previous one, numbered bottom-up (depth d is index SPILL_DEPTH + 1 - d,
 * so a placement parent comes after its child: the engine must not rely on
 * index order); its right leg a chain of SPILL_DEPTH placed all-right; every
 * other distributor at the first free slot breadth-first, left before right.
 * side[i]: 0 in the root's left leg, 1 in its right leg, 2 the root.
 */
static void spill_placement(bench_case *c)
{
	int32_t n = c->n, d = SPILL_DEPTH;
	size_t z = (size_t)n;
	c->place_parent = xmalloc(z * sizeof *c->place_parent);
	c->place_leg = xcalloc(z, 1);
	c->side = xcalloc(z, 1);
	c->carry_left = xcalloc(z, sizeof *c->carry_left);
	c->carry_right = xcalloc(z, sizeof *c->carry_right);
	int32_t *kid = xmalloc(2 * z * sizeof *kid);
	int32_t *queue = xmalloc(z * sizeof *queue);
	for (size_t k = 0; k < 2 * z; k++)
		kid[k] = -1;
	c->place_parent[0] = -1;
	c->side[0] = 2;
	for (int32_t i = 1; i <= d; i++) { /* left chain */
		c->place_parent[i] = i == d ? 0 : i + 1;
		c->place_leg[i] = 0;
		c->side[i] = 0;
		kid[2 * (size_t)c->place_parent[i]] = i;
	}
	for (int32_t i = d + 1; i <= 2 * d; i++) { /* right chain */
		c->place_parent[i] = i == d + 1 ? 0 : i - 1;
		c->place_leg[i] = 1;
		c->side[i] = 1;
		kid[2 * (size_t)c->place_parent[i] + 1] = i;
	}
	int32_t head = 0, tail = 0, next = 2 * d + 1;
	queue[tail++] = 0;
	while (next < n) {
		int32_t x = queue[head++];
		for (int leg = 0; leg < 2; leg++) {
			int32_t *slot = &kid[2 * (size_t)x + (size_t)leg];
			if (*slot < 0 && next < n) {
				*slot = next;
				c->place_parent[next] = x;
				c->place_leg[next] = (uint8_t)leg;
				c->side[next] = c->side[x] == 2 ? (uint8_t)leg : c->side[x];
				next++;
			}
			if (*slot >= 0)
				queue[tail++] = *slot;
		}
	}
	free(kid);
	free(queue);
	/* 10% carry some volume in from the previous period */
	for (int32_t i = 0; i < n; i++)
		if (below(10) == 0) {
			c->carry_left[i] = (int64_t)below(50000);
			c->carry_right[i] = (int64_t)below(50000);
		}
}

/* Rank history of the previous period (diamond needs 2 periods). */
static void rank_history(bench_case *c)
{
	c->history = engine_max_periods(c->p) - 1;
	size_t h = (size_t)(c->history ? c->history : 1);
	c->hist = xcalloc((size_t)c->n * h, 1);
	for (int32_t i = 0; i < c->n; i++)
		for (size_t k = 0; k < (size_t)c->history; k++) {
			uint64_t x = below(100);
			c->hist[(size_t)i * h + k] = x < 70 ? 0 : x < 85 ? 1 : x < 95 ? 2 : 3;
		}
}

/*
 * n_sales sales: a random seller who buys at all, an amount of 5.00 to
 * 35.00 (PV = amount, CV = 80%), a day of the period (not before the
 * seller joined). Generated into arrays first, then summed per distributor
 * as the close does (pv, cv, the fast_start window's cv), and only the sum
 * is timed.
 */
static void sales(bench_case *c, long n_sales)
{
	size_t z = (size_t)n_sales;
	int32_t *seller = xmalloc(z * sizeof *seller);
	int32_t *amount = xmalloc(z * sizeof *amount);
	uint8_t *day = xmalloc(z ? z : 1);
	int64_t net = 0;
	for (size_t s = 0; s < z; s++) {
		int32_t i;
		do
			i = (int32_t)below((uint64_t)c->n);
		while (c->dormant[i]);
		int32_t d = (int32_t)below(SALE_DAYS);
		if (d < c->join_day[i]) /* join days are < SALE_DAYS */
			d = c->join_day[i];
		seller[s] = i;
		amount[s] = 500 + (int32_t)below(3001);
		day[s] = (uint8_t)d;
		net += amount[s];
	}
	double t0 = now();
	for (size_t s = 0; s < z; s++) {
		int32_t i = seller[s];
		int64_t a = amount[s], cv = a * 8 / 10;
		c->pv[i] += a;
		c->cv[i] += cv;
		int32_t age = (int32_t)day[s] - c->join_day[i];
		if (age >= 0 && age < 60)
			c->fscv[i] += cv;
	}
	c->agg_s = now() - t0;
	c->n_sales = n_sales;
	c->net_sales = net;
	free(seller);
	free(amount);
	free(day);
}

static engine_input input_of(const bench_case *c)
{
	return (engine_input){
		.p = c->p, .n = c->n, .parent = c->parent, .pv = c->pv, .cv = c->cv,
		.fast_start_cv = c->p->has_fast_start ? c->fscv : NULL,
		.place_parent = c->place_parent, .place_leg = c->place_leg,
		.carry_left = c->carry_left, .carry_right = c->carry_right,
		.terminated = c->term, .q_history = c->hist, .history = c->history, .title = c->title,
		.carried_in = c->carried, .net_sales = c->net_sales,
	};
}

static void case_free(bench_case *c)
{
	free(c->parent);
	free(c->place_parent);
	free(c->join_day);
	free(c->place_leg);
	free(c->side);
	free(c->dormant);
	free(c->term);
	free(c->title);
	free(c->hist);
	free(c->pv);
	free(c->cv);
	free(c->fscv);
	free(c->carry_left);
	free(c->carry_right);
	free(c->carried);
	plan_free(c->p);
}

/* ==== the cases ============================================================================ */

static void case_chain(bench_case *c)
{
	c->name = "chain";
	c->p = make_plan(F_DIFFERENTIAL, 0);
	case_alloc(c, SPILL_DEPTH);
	for (int32_t i = 0; i < c->n; i++)
		c->parent[i] = i - 1;
	rank_history(c);
	sales(c, 10L * c->n);
}

static void case_binary(bench_case *c)
{
	c->name = "binary";
	c->p = make_plan(F_BINARY, 0);
	case_alloc(c, 1000000);
	random_sponsors(c, 0);
	spill_placement(c);
	rank_history(c);
	sales(c, 10L * c->n);
}

static void case_matching(bench_case *c)
{
	c->name = "matching";
	c->p = make_plan(F_UNILEVEL | F_MATCHING, 1u << PLAN_UNILEVEL);
	case_alloc(c, 1000000);
	random_sponsors(c, 0);
	rank_history(c);
	sales(c, 10L * c->n);
}

/* The matching case without matching: the same tree, sales and unilevel
 * plan (same seed), so that matching's own cost is the difference. */
static void case_unilevel(bench_case *c)
{
	c->name = "unilevel";
	c->p = make_plan(F_UNILEVEL, 0);
	case_alloc(c, 1000000);
	random_sponsors(c, 0);
	rank_history(c);
	sales(c, 10L * c->n);
}

static void case_hybrid(bench_case *c)
{
	c->name = "hybrid";
	c->p = make_plan(F_RETAIL | F_UNILEVEL | F_DIFFERENTIAL | F_BINARY | F_FAST_START | F_POOL | F_MATCHING | F_CAP,
			 1u << PLAN_UNILEVEL | 1u << PLAN_BINARY);
	case_alloc(c, 1000000);
	random_sponsors(c, c->n / 100);
	spill_placement(c);
	rank_history(c);
	sales(c, 10000000);
}

/* ==== checks: the output recomputed another way ============================================ */

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("  CHECK FAILED: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static int64_t rate_of(int64_t base, int64_t rate)
{
	int64_t a = 0;
	if (money_apply_rate(base, rate, &a) < 0)
		fail("money_apply_rate(%lld, %lld) overflowed", (long long)base, (long long)rate);
	return a;
}

/* Every case: commissions paid, the totals add up. */
static void check_common(const bench_case *c, const engine_output *out, size_t *per_type)
{
	int64_t comm = 0;
	for (size_t k = 0; k < out->n_lines; k++) {
		const engine_line *l = &out->lines[k];
		per_type[l->type]++;
		if (engine_line_is_commission(l->type))
			comm += l->amount;
	}
	if (out->total_commissions <= 0)
		fail("%s: total commissions %lld, expected > 0", c->name, (long long)out->total_commissions);
	if (comm != out->total_commissions)
		fail("%s: commission lines add to %lld, total_commissions %lld", c->name, (long long)comm,
		     (long long)out->total_commissions);
}

static int active(const bench_case *c, int32_t i)
{
	return !c->term[i] && c->pv[i] >= c->p->activity_min_pv;
}

static int64_t bracket(const plan *p, int64_t gv)
{
	int64_t r = 0;
	for (int b = 0; b < p->n_brackets; b++)
		if (p->diff_from[b] <= gv)
			r = p->diff_rate[b];
	return r;
}

/*
 * The chain, every differential line. Along a chain GV only grows upward,
 * so bracket rates never fall on the way up: for a above c = a + 1, all the
 * CV below a sits at rate(c), and a earns on its own CV at rate(a) and on
 * everything below at rate(a) - rate(c) when that is > 0, base = the CV of
 * the whole chain below a. At the top (0) the leg line, when there is one,
 * has base = the chain's total CV minus the top's own.
 */
static void check_chain(const bench_case *c, const engine_output *out)
{
	int32_t n = c->n;
	int64_t *gv = xmalloc((size_t)n * sizeof *gv), *below_cv = xmalloc((size_t)n * sizeof *below_cv);
	int64_t g = 0, b = 0;
	for (int32_t i = n - 1; i >= 0; i--) { /* below_cv[i]: CV of i + 1 .. n - 1 */
		below_cv[i] = b;
		g += c->pv[i];
		b += c->cv[i];
		gv[i] = g;
	}
	size_t expect = 0, leg_lines = 0;
	int64_t expect_sum = 0;
	for (int32_t a = 0; a < n; a++) {
		int64_t ra = bracket(c->p, gv[a]);
		if (out->res[a].gv != gv[a]) {
			fail("chain: GV of %d is %lld, expected %lld", a, (long long)out->res[a].gv, (long long)gv[a]);
			break;
		}
		/* the lines a should get, in the engine's order (by source, then rate) */
		engine_line want[2];
		int nw = 0;
		if (active(c, a) && ra > 0 && c->cv[a] != 0)
			want[nw++] = (engine_line){.source = a, .base = c->cv[a], .rate = ra};
		if (a + 1 < n && active(c, a) && ra > bracket(c->p, gv[a + 1]) && below_cv[a] != 0)
			want[nw++] = (engine_line){.source = a + 1, .base = below_cv[a],
						   .rate = ra - bracket(c->p, gv[a + 1])};
		if ((int)out->res[a].n_lines != nw) {
			fail("chain: distributor %d has %u lines, expected %d", a, out->res[a].n_lines, nw);
			break;
		}
		for (int k = 0; k < nw; k++) {
			const engine_line *l = &out->lines[out->first_line[a] + (uint32_t)k];
			int64_t amount = rate_of(want[k].base, want[k].rate);
			if (l->type != LINE_DIFFERENTIAL || l->source != want[k].source || l->base != want[k].base ||
			    l->rate != want[k].rate || l->amount != amount)
				fail("chain: line %d of %d: source %d base %lld rate %lld amount %lld, expected %d %lld %lld %lld",
				     k, a, l->source, (long long)l->base, (long long)l->rate, (long long)l->amount,
				     want[k].source, (long long)want[k].base, (long long)want[k].rate, (long long)amount);
			expect_sum += amount;
			leg_lines += want[k].source != a;
		}
		expect += (size_t)nw;
	}
	if (expect != out->n_lines || expect_sum != out->total_commissions)
		fail("chain: %zu lines, %lld total, expected %zu, %lld", out->n_lines, (long long)out->total_commissions,
		     expect, (long long)expect_sum);
	printf("  chain: top GV %lld = chain PV; %zu own-sales lines, %zu leg lines (where the bracket rises), "
	       "every line as recomputed\n",
	       (long long)gv[0], expect - leg_lines, leg_lines);
	free(gv);
	free(below_cv);
}

/* Binary: the root's legs = carry + the CV of every distributor recorded on
 * that side while building; a node halfway down the left spill leg sees only
 * the chain below it; one line per active distributor with matched volume,
 * at 10% capped at 5000.00. */
static void check_binary(const bench_case *c, const engine_output *out, size_t n_binary_lines)
{
	int64_t side[2] = {0, 0};
	for (int32_t i = 0; i < c->n; i++)
		if (c->side[i] < 2)
			side[c->side[i]] += c->cv[i];
	const engine_result *r0 = &out->res[0];
	if (r0->left != c->carry_left[0] + side[0] || r0->right != c->carry_right[0] + side[1])
		fail("%s: root legs %lld / %lld, expected %lld / %lld", c->name, (long long)r0->left, (long long)r0->right,
		     (long long)(c->carry_left[0] + side[0]), (long long)(c->carry_right[0] + side[1]));
	/* depth SPILL_DEPTH / 2 of the left leg: index SPILL_DEPTH + 1 - depth;
	 * below it the chain indexes 1 .. SPILL_DEPTH - depth */
	int32_t depth = SPILL_DEPTH / 2, mid = SPILL_DEPTH + 1 - depth;
	int64_t chain = 0;
	for (int32_t i = 1; i <= SPILL_DEPTH - depth; i++)
		chain += c->cv[i];
	for (int32_t i = 0; i < c->n; i++)
		if (c->place_parent[i] == mid && c->place_leg[i] == 1)
			fail("%s: the breadth-first fill reached depth %d", c->name, depth);
	if (out->res[mid].left != c->carry_left[mid] + chain || out->res[mid].right != c->carry_right[mid])
		fail("%s: mid-leg %d legs %lld / %lld, expected %lld / %lld", c->name, mid,
		     (long long)out->res[mid].left, (long long)out->res[mid].right,
		     (long long)(c->carry_left[mid] + chain), (long long)c->carry_right[mid]);
	size_t expect = 0, capped = 0;
	for (int32_t i = 0; i < c->n; i++) {
		const engine_result *r = &out->res[i];
		if (r->matched != (r->left < r->right ? r->left : r->right) || r->carry_left != r->left - r->matched ||
		    r->carry_right != r->right - r->matched) {
			fail("%s: distributor %d: matched or carry inconsistent", c->name, i);
			break;
		}
		if (!r->active || r->matched == 0)
			continue;
		expect++;
		capped += rate_of(r->matched, c->p->binary_rate) > c->p->binary_cap;
	}
	if (expect != n_binary_lines)
		fail("%s: %zu binary lines, expected %zu", c->name, n_binary_lines, expect);
	int64_t root_amount = -1;
	for (uint32_t k = out->first_line[0]; k < out->first_line[1]; k++)
		if (out->lines[k].type == LINE_BINARY)
			root_amount = out->lines[k].amount;
	if (root_amount != c->p->binary_cap)
		fail("%s: the root's binary line is %lld, expected the cap", c->name, (long long)root_amount);
	printf("  %s: root legs %lld / %lld matched %lld (as recomputed by side); mid-leg node %d: %lld / %lld; "
	       "%zu lines, %zu at the cap\n",
	       c->name, (long long)r0->left, (long long)r0->right, (long long)r0->matched, mid,
	       (long long)out->res[mid].left, (long long)out->res[mid].right, expect, capped);
}

/* Matching: each distributor's matched commissions (its lines of the `of`
 * types) paid at generation g to its g-th sponsor when active at a rate > 0. */
static void check_matching(const bench_case *c, const engine_output *out, size_t n_matching_lines)
{
	const plan *p = c->p;
	int64_t *m = xcalloc((size_t)c->n, sizeof *m);
	for (size_t k = 0; k < out->n_lines; k++)
		if (p->matching_of & (1u << out->lines[k].type))
			m[out->lines[k].recipient] += out->lines[k].amount;
	size_t expect = 0;
	int64_t base = 0, amount = 0, got_base = 0, got_amount = 0;
	for (int32_t s = 0; s < c->n; s++) {
		if (m[s] == 0)
			continue;
		int32_t a = c->parent[s];
		for (int g = 1; g <= p->matching_max_gens && a >= 0; g++, a = c->parent[a]) {
			int64_t rate = plan_matching_rate(p, out->res[a].paid_as, g);
			if (!out->res[a].active || rate <= 0)
				continue;
			expect++;
			base += m[s];
			amount += rate_of(m[s], rate);
		}
	}
	for (size_t k = 0; k < out->n_lines; k++)
		if (out->lines[k].type == LINE_MATCHING) {
			got_base += out->lines[k].base;
			got_amount += out->lines[k].amount;
		}
	if (expect != n_matching_lines || base != got_base || amount != got_amount)
		fail("%s: matching %zu lines, base %lld, amount %lld; expected %zu, %lld, %lld", c->name,
		     n_matching_lines, (long long)got_base, (long long)got_amount, expect, (long long)base,
		     (long long)amount);
	printf("  %s: %zu matching lines, base %lld, amount %lld (as recounted from the matched lines)\n", c->name,
	       expect, (long long)base, (long long)amount);
	free(m);
}

/* fast_start: the k-th sponsor of every seller with window CV, when active. */
static void check_fast_start(const bench_case *c, const engine_output *out, size_t n_lines)
{
	size_t expect = 0;
	for (int32_t s = 0; s < c->n; s++) {
		if (c->fscv[s] == 0)
			continue;
		int32_t a = c->parent[s];
		for (int k = 1; k <= c->p->fast_start_levels && a >= 0; k++, a = c->parent[a])
			expect += out->res[a].active && c->p->fast_start_rates[k - 1] > 0;
	}
	if (expect != n_lines)
		fail("%s: %zu fast_start lines, expected %zu", c->name, n_lines, expect);
}

/* pool: floor(2% x total CV), one line per active holder. */
static void check_pool(const bench_case *c, const engine_output *out, size_t n_lines)
{
	int64_t total = 0, shares = 0;
	size_t holders = 0;
	for (int32_t i = 0; i < c->n; i++) {
		total += c->cv[i];
		if (active(c, i) && c->p->pool_shares[out->res[i].paid_as] > 0) {
			holders++;
			shares += c->p->pool_shares[out->res[i].paid_as];
		}
	}
	int64_t pool = (int64_t)((__int128)c->p->pool_share * total / RATE_SCALE);
	if (out->pool != pool || out->pool_total_shares != shares || holders != n_lines ||
	    out->pool_allotted > pool || pool - out->pool_allotted >= (int64_t)holders + 1)
		fail("%s: pool %lld shares %lld lines %zu allotted %lld; expected %lld, %lld, %zu", c->name,
		     (long long)out->pool, (long long)out->pool_total_shares, n_lines, (long long)out->pool_allotted,
		     (long long)pool, (long long)shares, holders);
}

static void check_case(const bench_case *c, const engine_output *out)
{
	size_t per_type[LINE_N_TYPES] = {0};
	check_common(c, out, per_type);
	const plan *p = c->p;
	for (int t = LINE_RETAIL; t <= LINE_MATCHING; t++)
		if (plan_has_type(p, (plan_type)t) && per_type[t] == 0)
			fail("%s: no %s lines", c->name, engine_line_type_name(t));
	if (strcmp(c->name, "chain") == 0)
		check_chain(c, out);
	if (p->has_binary)
		check_binary(c, out, per_type[LINE_BINARY]);
	if (p->has_matching)
		check_matching(c, out, per_type[LINE_MATCHING]);
	if (p->has_fast_start)
		check_fast_start(c, out, per_type[LINE_FAST_START]);
	if (p->has_pool)
		check_pool(c, out, per_type[LINE_POOL]);
	if (p->has_cap) {
		if (out->cap_limit < 0 || out->total_commissions + out->total_cap_adjustment > out->cap_limit)
			fail("%s: paid %lld over the cap %lld", c->name,
			     (long long)(out->total_commissions + out->total_cap_adjustment), (long long)out->cap_limit);
		printf("  %s: commissions %lld, cap %lld (%s), cap adjustment %lld\n", c->name,
		       (long long)out->total_commissions, (long long)out->cap_limit,
		       out->total_commissions > out->cap_limit ? "binding" : "not binding",
		       (long long)out->total_cap_adjustment);
	}
	size_t ranks[N_RANKS] = {0};
	for (int32_t i = 0; i < c->n; i++)
		ranks[out->res[i].paid_as]++;
	printf("  %s: lines by type:", c->name);
	for (int t = 0; t < LINE_N_TYPES; t++)
		if (per_type[t])
			printf(" %s %zu", engine_line_type_name(t), per_type[t]);
	printf("; paid-as ranks:");
	for (size_t r = 0; r < N_RANKS; r++)
		printf(" %s %zu", RANKS[r].id, ranks[r]);
	printf("\n");
}

/* ==== running a case ======================================================================= */

typedef void (*case_fn)(bench_case *);

static const struct {
	const char *name;
	case_fn build;
	const char *bar;
} CASES[] = {
	{"chain", case_chain, "well under 1 s"},
	{"binary", case_binary, "well under 1 s"},
	{"matching", case_matching, "well under 1 s"},
	{"unilevel", case_unilevel, "matching's baseline"},
	{"hybrid", case_hybrid, "< 5 s"},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

/* Builds, times and checks one case; returns the exit status of its child. */
static int run_case(size_t which, uint64_t seed)
{
	rng_state = seed;
	bench_case c = {0};
	CASES[which].build(&c);
	engine_input in = input_of(&c);
	double best = 1e30, best_cpu = 0, t[RUNS];
	long faults[RUNS];
	engine_output out = {0};
	pd_err err;
	for (int r = 0; r < RUNS; r++) {
		if (r > 0)
			engine_output_free(&out);
		struct rusage r0, r1;
		getrusage(RUSAGE_SELF, &r0);
		double c0 = cpu_now(), t0 = now();
		if (engine_run(&in, &out, &err) < 0) {
			fprintf(stderr, "%s: engine: %s\n", c.name, err.msg);
			return 1;
		}
		t[r] = now() - t0;
		getrusage(RUSAGE_SELF, &r1);
		faults[r] = r1.ru_minflt - r0.ru_minflt + r1.ru_majflt - r0.ru_majflt;
		if (t[r] < best) {
			best = t[r];
			best_cpu = cpu_now() - c0;
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%-9s %12d %11ld %11zu %9.3f %9.3f %9.3f %9.1f   runs %.3f %.3f %.3f s, page faults %ld %ld %ld "
	       "(bar: %s)\n",
	       c.name, c.n, c.n_sales, out.n_lines, best, best_cpu, c.agg_s, (double)ru.ru_maxrss / 1024.0, t[0], t[1],
	       t[2], faults[0], faults[1], faults[2], CASES[which].bar);
	fflush(stdout);
	check_case(&c, &out);
	fflush(stdout);
	engine_output_free(&out);
	case_free(&c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = 1;
	int want[N_CASES] = {0}, any = 0;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
			seed = strtoull(argv[++a], NULL, 10);
			continue;
		}
		if (strcmp(argv[a], "--warm") == 0) {
			/* every allocation from the heap, never given back: runs 2
			 * and 3 reuse memory the process has already touched */
			mallopt(M_MMAP_MAX, 0);
			mallopt(M_TRIM_THRESHOLD, INT_MAX);
			continue;
		}
		size_t k = 0;
		while (k < N_CASES && strcmp(argv[a], CASES[k].name) != 0)
			k++;
		if (k == N_CASES) {
			fprintf(stderr, "usage: bench_families [--seed N] [--warm] [chain|binary|matching|hybrid ...]\n");
			return 2;
		}
		want[k] = any = 1;
	}
	printf("%-9s %12s %11s %11s %9s %9s %9s %9s\n", "case", "distributors", "sales", "lines", "engine_s", "cpu_s",
	       "aggreg_s", "peak_MiB");
	fflush(stdout);
	int status = 0;
	for (size_t k = 0; k < N_CASES; k++) {
		if (any && !want[k])
			continue;
		/* a child per case: its peak RSS is the case's own */
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(run_case(k, seed));
		int ws;
		if (waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
			fprintf(stderr, "%s: FAILED\n", CASES[k].name);
			status = 1;
		}
	}
	return status;
}
