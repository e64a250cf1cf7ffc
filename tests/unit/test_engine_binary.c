/*
 * test_engine_binary.c - the `binary` plan family (SPEC 6.8, 11.25) in the
 * commission engine (rules/engine.h): leg volumes on the placement tree,
 * matched volume, rate and rounding, carry across periods, `carry: false`,
 * the per-distributor `cap`, inactive and terminated positions, negative legs,
 * `volume: pv`, the plan cap (11.2) and `matching` of binary lines, invalid
 * placements, a 100,000-deep spill leg, and random placement trees checked
 * against a naive walk.
 *
 * As in test_engine_families.c (whose helpers are copied here, not shared),
 * every hand example builds its plan directly as a C struct (no YAML) and a
 * small tree, and asserts every statement line and every binary figure
 * (left, right, matched, carry_left, carry_right) to the cent, with the
 * arithmetic written out next to the numbers. The examples were computed from
 * the SPEC, not from rules/engine.c.
 *
 * Units: money and volumes are hundredths (15000 = 150.00), rates millionths
 * (100000 = 10%).
 *
 * The placement tree is given to the engine in any index order: a placement
 * parent may have a HIGHER index than its child (SPEC 4: "the placement tree
 * of binary plans, which can differ from the sponsor tree"; engine.h: "in any
 * index order"). The sponsor tree keeps parent < child (engine.h).
 *
 * Where the SPEC leaves a point open, the reading taken is marked
 * "READING (SPEC items):" next to the example that depends on it. The readings
 * common to the whole file:
 *   - a binary line has level -1 and source -1 (SPEC 6.8 "Line: (recipient,
 *     `binary`, base = matched, rate)" names no source; engine.h: "else -1");
 *   - left/right are reported as carried in + this period's leg volume, also
 *     with `carry: false` (engine.h); with `carry: false` the caller carries
 *     in 0, since 0 was carried out;
 *   - a negative leg (same-period refunds) is carried as it is: "both legs
 *     lose matched; what remains is carried" with matched = 0 leaves
 *     carry_left = left (SPEC 6.8, 11.25);
 *   - the binary `cap` limits the one binary line of a distributor in a
 *     period; `matching` of binary matches that line's amount (after the
 *     binary `cap`, before the plan cap: 11.26 "the source's line amounts ...
 *     before the cap").
 *
 * Tests: 1 a placement tree unlike the sponsor tree (cv, then pv), 2 rounding,
 * 3 carry across periods and carry: false, 4 the binary cap, 5 inactive and
 * terminated positions, 6 negative legs, 7 plan cap and matching, 8 invalid
 * input and the line type, 9 a 100,000-deep spill leg, 10 random placement
 * trees.
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

/* A plan with one rank, `member` (no requirements), activity.min_pv, and a
 * binary commission at `rate` (volume: cv, carry: true, no cap). Nothing else:
 * plan_* below add the rest. */
static plan *plan_new(int64_t min_pv, int64_t rate)
{
	plan *p = xcalloc(1, sizeof *p);
	p->name = xstrdup("binary test plan");
	memcpy(p->currency, "EUR", 4);
	p->timezone = xstrdup("UTC");
	p->activity_min_pv = min_pv;
	p->ranks = xcalloc(1, sizeof *p->ranks);
	p->n_ranks = 1;
	p->ranks[0].id = xstrdup("member");
	p->ranks[0].periods = 1;
	p->has_binary = 1;
	p->binary_rate = rate;
	p->binary_volume_pv = 0;
	p->binary_carry = 1;
	return p;
}

static void plan_binary_cap(plan *p, int64_t cap)
{
	p->has_binary_cap = 1;
	p->binary_cap = cap;
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

/* matching of the types in `of` (bits 1 << plan_type), generation rates of
 * the one rank. */
static void plan_matching(plan *p, unsigned of, int n_gens, const int64_t *gens)
{
	p->has_matching = 1;
	p->matching_of = of;
	p->matching_max_gens = n_gens;
	p->matching_gens = xcalloc(1, sizeof *p->matching_gens);
	p->matching_gens[0] = n_gens;
	p->matching_rates = xcalloc((size_t)n_gens, sizeof *p->matching_rates);
	memcpy(p->matching_rates, gens, (size_t)n_gens * sizeof *gens);
}

#define OF(t) (1u << (t))

/* ==== one period's input, built by hand ==================================================== */

#define TMAX 24   /* distributors of a hand example */
#define THIST 4   /* history stride */
#define LEFT 0
#define RIGHT 1
#define NONE (-1)

typedef struct tcase {
	const plan *p;
	int32_t n;
	int32_t parent[TMAX];           /* sponsor */
	int32_t place[TMAX];            /* placement parent */
	uint8_t leg[TMAX];
	int64_t pv[TMAX], cv[TMAX], cl[TMAX], cr[TMAX], carried[TMAX];
	uint8_t term[TMAX], title[TMAX];
	uint8_t hist[TMAX * THIST];
	int64_t net_sales;
} tcase;

/* Adds distributor `id` (which must be the next index) under sponsor
 * `parent`, placed at (`place`, `leg`); `place` may be a later index. */
static void add(tcase *t, int id, int parent, int place, int leg, int64_t pv, int64_t cv)
{
	assert_int_equal(id, t->n);
	assert_true(t->n < TMAX);
	t->parent[id] = parent;
	t->place[id] = place;
	t->leg[id] = (uint8_t)(place < 0 ? 0 : leg);
	t->pv[id] = pv;
	t->cv[id] = cv;
	t->n++;
}

static engine_input input_of(const tcase *t)
{
	return (engine_input){
		.p = t->p, .n = t->n, .parent = t->parent, .pv = t->pv, .cv = t->cv,
		.fast_start_cv = NULL, .place_parent = t->place, .place_leg = t->leg,
		.carry_left = t->cl, .carry_right = t->cr,
		.terminated = t->term, .q_history = t->hist, .history = THIST, .title = t->title,
		.carried_in = t->carried, .net_sales = t->net_sales,
	};
}

/* ==== arithmetic of the SPEC, written again for the checks ================================== */

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

/* SPEC 6.8, 11.25: min(round_half_even(matched x rate), cap) */
static int64_t ref_binary_amount(const plan *p, int64_t matched)
{
	int64_t a = ref_rate(matched, p->binary_rate);
	if (p->has_binary_cap && a > p->binary_cap)
		a = p->binary_cap;
	return a;
}

static int cmp64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* engine.h's order: recipient; type (the enum order: retail, unilevel,
 * rank_advancement, differential, binary, fast_start, pool, matching,
 * cap_adjustment, clawback, fee, carry_in); then level, source, rank, fee, rate. */
static int line_cmp(const engine_line *a, const engine_line *b)
{
	int c;
	if ((c = cmp64(a->recipient, b->recipient)) || (c = cmp64(a->type, b->type)) ||
	    (c = cmp64(a->level, b->level)) || (c = cmp64(a->source, b->source)) ||
	    (c = cmp64(a->rank, b->rank)) || (c = cmp64(a->fee, b->fee)) ||
	    (c = cmp64(a->rate, b->rate)))
		return c;
	return 0;
}

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
	print_error("%s: got %lld, want %lld\n", what, got, want);
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

/* The binary figures of one distributor (SPEC 6.8: the statement's `binary`
 * object): left, right, matched, carry_left, carry_right. */
static void expect_bin_(const engine_output *o, int i, int64_t left, int64_t right, int64_t matched,
			int64_t carry_left, int64_t carry_right, int line)
{
	const engine_result *r = &o->res[i];
	CHK(line, r->left, left, "distributor %d left", i);
	CHK(line, r->right, right, "distributor %d right", i);
	CHK(line, r->matched, matched, "distributor %d matched", i);
	CHK(line, r->carry_left, carry_left, "distributor %d carry_left", i);
	CHK(line, r->carry_right, carry_right, "distributor %d carry_right", i);
}
#define EXPECT_BIN(o, i, l, r, m, cl, cr) expect_bin_((o), (i), (l), (r), (m), (cl), (cr), __LINE__)
#define EXPECT_BIN0(o, i) expect_bin_((o), (i), 0, 0, 0, 0, 0, __LINE__)

/* Expected lines (the recipient is the distributor they are expected for). */
#define XL(t, lv, src, b, r, a) \
	{ .type = (t), .level = (lv), .source = (src), .rank = -1, .fee = -1, \
	  .base = (b), .rate = (r), .amount = (a) }
#define BIN(b, r, a) XL(LINE_BINARY, -1, -1, b, r, a)
#define MATCH(lv, src, b, r, a) XL(LINE_MATCHING, lv, src, b, r, a)
#define CAP(a) XL(LINE_CAP_ADJUSTMENT, -1, -1, 0, 0, a)

static void expect_lines_(const engine_output *o, int i, const engine_line *want, size_t n, int line)
{
	uint32_t from = o->first_line[i], to = o->first_line[i + 1];
	if (to - from != n) {
		print_error("distributor %d: %u lines, want %zu\n", i, to - from, n);
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
		CHK(line, g->shares, 0, "distributor %d line %zu (%s) shares", i, k, tname(w->type));
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

/* Above this many distributors the naive leg walk (n x depth) is skipped. */
#define NAIVE_MAX 5000

/*
 * Leg volumes the slow way, independent of the engine: for every seller j,
 * walk up its placement chain; at each step the volume enters the left or
 * right leg of the placement parent, by the leg of the child it comes
 * through. legs[2i] = left subtree volume of i, legs[2i + 1] = right.
 * Quadratic on a deep tree; the placement must reach a root (no cycle).
 */
static void naive_legs(const engine_input *in, int64_t *legs)
{
	const int64_t *vol = in->p->binary_volume_pv ? in->pv : in->cv;
	memset(legs, 0, 2 * (size_t)in->n * sizeof *legs);
	for (int32_t j = 0; j < in->n; j++) {
		int32_t c = j;
		for (int32_t steps = 0; in->place_parent[c] >= 0; steps++) {
			assert_true(steps < in->n); /* the test's own trees have no cycle */
			int32_t a = in->place_parent[c];
			legs[2 * (size_t)a + in->place_leg[c]] += vol[j];
			c = a;
		}
	}
}

/*
 * Properties every output must have, whatever the plan and tree: SPEC 6.6,
 * 6.8 (binary), 11.2, 11.5-11.7, 11.25 and engine.h's line order. Checked on
 * every successful run, hand-built or random.
 */
static void check_invariants(const engine_input *in, const engine_output *o)
{
	const plan *p = in->p;
	const int L = __LINE__;
	CHK(L, o->first_line[0], 0, "first_line[0]");
	CHK(L, o->first_line[in->n], o->n_lines, "first_line[n] == n_lines");
	int64_t tot[8] = { 0 };
	int64_t limit = -1;
	if (p->has_cap) {
		limit = ref_floor((__int128)p->cap_payout_ratio * in->net_sales, RATE_ONE);
		if (limit < 0)
			limit = 0;
	}
	int64_t total = 0;
	for (size_t k = 0; k < o->n_lines; k++)
		if (engine_line_is_commission(o->lines[k].type))
			total += o->lines[k].amount;
	int capped = p->has_cap && total > limit;
	int64_t *legs = NULL;
	if (p->has_binary && in->n <= NAIVE_MAX) {
		legs = xcalloc(2 * (size_t)(in->n ? in->n : 1), sizeof *legs);
		naive_legs(in, legs);
	}
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
			CHK(L, l->shares, 0, "line %u: shares", k);
			switch (l->type) {
			case LINE_BINARY:
				/* SPEC 6.8: (recipient, binary, base = matched, rate); 11.25 the cap */
				n_bin++;
				CHK(L, p->has_binary, 1, "binary line without binary");
				CHK(L, r->active, 1, "inactive %d earns binary", i);
				CHK(L, l->level, -1, "binary line %u level", k);
				CHK(L, l->source, -1, "binary line %u source", k);
				CHK(L, l->base, r->matched, "binary line %u base == matched", k);
				CHK(L, l->rate, p->binary_rate, "binary line %u rate", k);
				CHK(L, l->amount, ref_binary_amount(p, r->matched), "binary line %u amount", k);
				break;
			case LINE_RETAIL:
				CHK(L, l->source, i, "retail line %u source", k);
				/* fallthrough */
			case LINE_MATCHING:
				CHK(L, l->base != 0 && l->rate > 0, 1, "%s line %u: base 0 or rate 0 (11.7)",
				    tname(l->type), k);
				CHK(L, l->amount, ref_rate(l->base, l->rate), "%s line %u amount",
				    tname(l->type), k);
				break;
			case LINE_CAP_ADJUSTMENT:
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
				CHK(L, 0, 1, "unexpected %s line of %d", tname(l->type), i);
				break;
			}
		}
		if (p->has_binary) {
			/* SPEC 6.8, 11.25: matched = max(0, min(left, right)); both legs lose it;
			 * the rest is carried, or dropped with carry: false; a line for an
			 * active recipient with matched > 0 and rate > 0 (11.7), and only then */
			int64_t m = r->left < r->right ? r->left : r->right;
			CHK(L, r->matched, m > 0 ? m : 0, "matched of %d", i);
			CHK(L, r->carry_left, p->binary_carry ? r->left - r->matched : 0, "carry_left of %d", i);
			CHK(L, r->carry_right, p->binary_carry ? r->right - r->matched : 0, "carry_right of %d",
			    i);
			CHK(L, n_bin, r->active && r->matched > 0 && p->binary_rate > 0, "binary lines of %d", i);
			if (legs) {
				CHK(L, r->left, in->carry_left[i] + legs[2 * (size_t)i], "left of %d (naive)", i);
				CHK(L, r->right, in->carry_right[i] + legs[2 * (size_t)i + 1], "right of %d (naive)",
				    i);
			}
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
	}
	free(legs);
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
}

/* Runs the engine, asserting success and the invariants. */
static void run_ok(const engine_input *in, engine_output *out)
{
	pd_err err = { { 0 } };
	memset(out, 0, sizeof *out);
	if (engine_run(in, out, &err) != 0)
		fail_msg("engine_run failed: %s", err.msg);
	check_invariants(in, out);
}

/* Runs the engine on invalid input: it must return -1 with a message. */
static void run_fails(const engine_input *in, const char *what)
{
	engine_output out;
	pd_err err = { { 0 } };
	memset(&out, 0, sizeof out);
	int rc = engine_run(in, &out, &err);
	if (rc == 0)
		engine_output_free(&out);
	if (rc != -1)
		fail_msg("%s: engine_run returned %d, want -1", what, rc);
	if (err.msg[0] == '\0')
		fail_msg("%s: no message", what);
	print_message("  %s: %s\n", what, err.msg);
}

/* ==== 1. a placement tree unlike the sponsor tree ============================================ */

/*
 * Plan: activity.min_pv 100; binary rate 10.5%, volume cv, carry true.
 *
 * Sponsor tree (parent < child):        Placement tree (E has a HIGHER index
 *   R -> A, B; A -> C, D; B -> E;       than A, its left child; B holds R's
 *   E -> F                              right, although B sponsors E):
 *                                                  R
 *                                               /     \
 *                                              E       B
 *                                             / \     /
 *                                            A   C   D
 *                                                     \
 *                                                      F
 *
 *     id  sponsor  placed       PV       CV
 *     R   -        -          120.00   100.00
 *     A   R        E left     100.00   200.00
 *     B   R        R right    130.00   150.00
 *     C   A        E right    100.00    50.00
 *     D   A        B left      10.00   300.00   INACTIVE
 *     E   B        R left     100.00    80.00
 *     F   E        D right    100.00    25.55
 *
 * Leg volume = every sale anywhere in that placement subtree (not just the
 * child's own); a distributor's own sales are in none of its own legs, only
 * in its uplines' legs. Volume cv:
 *   R: left  = E + A + C = 80.00 + 200.00 + 50.00 = 330.00
 *      right = B + D + F = 150.00 + 300.00 + 25.55 = 475.55  (R's own 100.00: nowhere)
 *      matched 330.00; 10.5% = 34.65; carry left 0, right 475.55 - 330.00 = 145.55
 *   E: left A 200.00, right C 50.00 (E's own 80.00 is in R's left, not here)
 *      matched 50.00; 10.5% = 5.25; carry left 150.00, right 0
 *   B: left D + F = 325.55, right 0: matched 0, no line; carry left 325.55
 *   D: left 0, right F 25.55: matched 0; carry right 25.55
 *   A, C, F: leaves, all 0.
 * A carried volume alone gives no line (11.25): B and D have none.
 * GV (sponsor tree, PV): F 100; E 200; D 10; C 100; B 130 + 200 = 330;
 *   A 100 + 100 + 10 = 210; R 120 + 210 + 330 = 660.
 */
static void test_placement_tree(void **state)
{
	(void)state;
	enum { R, A, B, C, D, E, F };
	plan *p = plan_new(10000, 105000);
	tcase t = { .p = p };
	add(&t, R, NONE, NONE, LEFT, 12000, 10000);
	add(&t, A, R, E, LEFT, 10000, 20000);
	add(&t, B, R, R, RIGHT, 13000, 15000);
	add(&t, C, A, E, RIGHT, 10000, 5000);
	add(&t, D, A, B, LEFT, 1000, 30000);
	add(&t, E, B, R, LEFT, 10000, 8000);
	add(&t, F, E, D, RIGHT, 10000, 2555);
	engine_input in = input_of(&t);
	engine_output o;

	run_ok(&in, &o);
	EXPECT_BIN(&o, R, 33000, 47555, 33000, 0, 14555);
	EXPECT_BIN0(&o, A);
	EXPECT_BIN(&o, B, 32555, 0, 0, 32555, 0);
	EXPECT_BIN0(&o, C);
	EXPECT_BIN(&o, D, 0, 2555, 0, 0, 2555);
	EXPECT_BIN(&o, E, 20000, 5000, 5000, 15000, 0);
	EXPECT_BIN0(&o, F);
	EXPECT_LINES(&o, R, BIN(33000, 105000, 3465));
	EXPECT_RES(&o, R, .active = 1, .gv = 66000, .commissions = 3465, .payable = 3465, .paid = 3465);
	EXPECT_NO_LINES(&o, A);
	EXPECT_RES(&o, A, .active = 1, .gv = 21000);
	EXPECT_NO_LINES(&o, B);
	EXPECT_RES(&o, B, .active = 1, .gv = 33000);
	EXPECT_NO_LINES(&o, C);
	EXPECT_RES(&o, C, .active = 1, .gv = 10000);
	EXPECT_NO_LINES(&o, D);
	EXPECT_RES(&o, D, .active = 0, .gv = 1000);
	EXPECT_LINES(&o, E, BIN(5000, 105000, 525));
	EXPECT_RES(&o, E, .active = 1, .gv = 20000, .commissions = 525, .payable = 525, .paid = 525);
	EXPECT_NO_LINES(&o, F);
	EXPECT_RES(&o, F, .active = 1, .gv = 10000);
	/* 34.65 + 5.25 = 39.90 */
	EXPECT_TOTALS(&o, .commissions = 3990, .payable = 3990, .paid = 3990, .cap_limit = -1, .n_lines = 2);
	engine_output_free(&o);

	/*
	 * volume: pv (the PV column differs from CV everywhere):
	 *   R: left  = E + A + C = 100.00 + 100.00 + 100.00 = 300.00
	 *      right = B + D + F = 130.00 +  10.00 + 100.00 = 240.00
	 *      matched 240.00; 10.5% = 25.20; carry left 60.00, right 0
	 *   E: left A 100.00, right C 100.00: matched 100.00; 10.5% = 10.50; carry 0, 0
	 *   B: left D + F = 110.00, right 0: carry left 110.00
	 *   D: right F 100.00: carry right 100.00 (D is inactive: no line anyway)
	 */
	p->binary_volume_pv = 1;
	run_ok(&in, &o);
	EXPECT_BIN(&o, R, 30000, 24000, 24000, 6000, 0);
	EXPECT_BIN0(&o, A);
	EXPECT_BIN(&o, B, 11000, 0, 0, 11000, 0);
	EXPECT_BIN0(&o, C);
	EXPECT_BIN(&o, D, 0, 10000, 0, 0, 10000);
	EXPECT_BIN(&o, E, 10000, 10000, 10000, 0, 0);
	EXPECT_BIN0(&o, F);
	EXPECT_LINES(&o, R, BIN(24000, 105000, 2520));
	EXPECT_RES(&o, R, .active = 1, .gv = 66000, .commissions = 2520, .payable = 2520, .paid = 2520);
	EXPECT_LINES(&o, E, BIN(10000, 105000, 1050));
	EXPECT_RES(&o, E, .active = 1, .gv = 20000, .commissions = 1050, .payable = 1050, .paid = 1050);
	for (int i = A; i <= F; i++)
		if (i != E)
			EXPECT_NO_LINES(&o, i);
	/* 25.20 + 10.50 = 35.70 */
	EXPECT_TOTALS(&o, .commissions = 3570, .payable = 3570, .paid = 3570, .cap_limit = -1, .n_lines = 2);
	engine_output_free(&o);
	plan_free(p);
}

/* ==== 2. matched = min(left, right), rounding ================================================ */

/*
 * Plan: activity.min_pv 100; binary rate 12.5%. Five separate placement
 * trees (each root starts its own: SPEC 11.24), each a root X0 with a left
 * child X1 and a right child X2; everyone PV 100.00, the roots sell nothing.
 *
 *   tree  left     right     matched  x 12.5%          half-even   carry L / R
 *   a     0.20     0.30      0.20     0.025            0.02 (2 even)   0 / 0.10
 *   b     0.60     0.60      0.60     0.075            0.08 (8 even)   0 / 0
 *   c     1.05     1.01      1.01     0.12625          0.13 (up)    0.04 / 0
 *   d     0.04     0.09      0.04     0.005            0.00 (0 even)   0 / 0.05
 *   e  1234.60  2000.00   1234.60   154.325          154.32 (2 even)   0 / 765.40
 *
 * d: a line with amount 0.00 still exists: its base is not zero and its rate
 * is above zero (11.7).
 */
static void test_rounding(void **state)
{
	(void)state;
	static const int64_t lv[5] = { 20, 60, 105, 4, 123460 };
	static const int64_t rv[5] = { 30, 60, 101, 9, 200000 };
	static const int64_t matched[5] = { 20, 60, 101, 4, 123460 };
	static const int64_t amount[5] = { 2, 8, 13, 0, 15432 };
	static const int64_t carry_l[5] = { 0, 0, 4, 0, 0 };
	static const int64_t carry_r[5] = { 10, 0, 0, 5, 76540 };
	plan *p = plan_new(10000, 125000);
	tcase t = { .p = p };
	for (int k = 0; k < 5; k++) {
		int root = 3 * k;
		add(&t, root, NONE, NONE, LEFT, 10000, 0);
		add(&t, root + 1, root, root, LEFT, 10000, lv[k]);
		add(&t, root + 2, root, root, RIGHT, 10000, rv[k]);
	}
	engine_input in = input_of(&t);
	engine_output o;
	run_ok(&in, &o);
	for (int k = 0; k < 5; k++) {
		int root = 3 * k;
		EXPECT_BIN(&o, root, lv[k], rv[k], matched[k], carry_l[k], carry_r[k]);
		EXPECT_LINES(&o, root, BIN(matched[k], 125000, amount[k]));
		EXPECT_RES(&o, root, .active = 1, .gv = 30000, .commissions = amount[k],
			   .payable = amount[k], .paid = amount[k]);
		for (int c = 1; c <= 2; c++) {
			EXPECT_BIN0(&o, root + c);
			EXPECT_NO_LINES(&o, root + c);
		}
	}
	/* 0.02 + 0.08 + 0.13 + 0.00 + 154.32 = 154.55 */
	EXPECT_TOTALS(&o, .commissions = 15455, .payable = 15455, .paid = 15455, .cap_limit = -1,
		      .n_lines = 5);
	engine_output_free(&o);
	plan_free(p);
}

/* ==== 3. carry across periods; carry: false ================================================== */

/*
 * Plan: activity.min_pv 100; binary rate 10%, carry true. Sponsor and
 * placement tree alike; everyone PV 100.00.
 *
 *            R
 *          /   \
 *         L     T
 *        /       \
 *      LL         TR
 *
 * Period 1 (nothing carried in): CV R 50.00, L 1000.00, LL 500.00, T 600.00, TR 400.00
 *   R: left L + LL = 1500.00, right T + TR = 1000.00: matched 1000.00, 100.00;
 *      carry left 500.00, right 0  (the SPEC's "left 1500 right 1000" example)
 *   L: left LL 500.00, right 0: carry left 500.00
 *   T: left 0, right TR 400.00: carry right 400.00
 * Period 2: carried in what period 1 carried out (R 500/0, L 500/0, T 0/400);
 *   CV R 0, L 100.00, LL 200.00, T 0, TR 900.00
 *   R: left 500.00 + 100.00 + 200.00 = 800.00, right 0 + 0 + 900.00 = 900.00:
 *      matched 800.00, 80.00; carry left 0, right 100.00
 *   L: left 500.00 + 200.00 = 700.00, right 0: carry left 700.00
 *   T: right 400.00 + 900.00 = 1300.00: carry right 1300.00
 */
static void test_carry(void **state)
{
	(void)state;
	enum { R, L, T, LL, TR };
	plan *p = plan_new(10000, 100000);
	tcase t1 = { .p = p };
	add(&t1, R, NONE, NONE, LEFT, 10000, 5000);
	add(&t1, L, R, R, LEFT, 10000, 100000);
	add(&t1, T, R, R, RIGHT, 10000, 60000);
	add(&t1, LL, L, L, LEFT, 10000, 50000);
	add(&t1, TR, T, T, RIGHT, 10000, 40000);
	engine_input in1 = input_of(&t1);
	engine_output o1, o2;

	run_ok(&in1, &o1);
	EXPECT_BIN(&o1, R, 150000, 100000, 100000, 50000, 0);
	EXPECT_BIN(&o1, L, 50000, 0, 0, 50000, 0);
	EXPECT_BIN(&o1, T, 0, 40000, 0, 0, 40000);
	EXPECT_BIN0(&o1, LL);
	EXPECT_BIN0(&o1, TR);
	EXPECT_LINES(&o1, R, BIN(100000, 100000, 10000));
	EXPECT_RES(&o1, R, .active = 1, .gv = 50000, .commissions = 10000, .payable = 10000,
		   .paid = 10000);
	for (int i = L; i <= TR; i++)
		EXPECT_NO_LINES(&o1, i);
	EXPECT_TOTALS(&o1, .commissions = 10000, .payable = 10000, .paid = 10000, .cap_limit = -1,
		      .n_lines = 1);

	/* period 2: the carry out of period 1 is the carry in */
	tcase t2 = t1;
	for (int i = 0; i < t2.n; i++) {
		t2.cl[i] = o1.res[i].carry_left;
		t2.cr[i] = o1.res[i].carry_right;
	}
	engine_output_free(&o1);
	t2.cv[R] = 0;
	t2.cv[L] = 10000;
	t2.cv[T] = 0;
	t2.cv[LL] = 20000;
	t2.cv[TR] = 90000;
	engine_input in2 = input_of(&t2);
	run_ok(&in2, &o2);
	EXPECT_BIN(&o2, R, 80000, 90000, 80000, 0, 10000);
	EXPECT_BIN(&o2, L, 70000, 0, 0, 70000, 0);
	EXPECT_BIN(&o2, T, 0, 130000, 0, 0, 130000);
	EXPECT_BIN0(&o2, LL);
	EXPECT_BIN0(&o2, TR);
	EXPECT_LINES(&o2, R, BIN(80000, 100000, 8000));
	EXPECT_RES(&o2, R, .active = 1, .gv = 50000, .commissions = 8000, .payable = 8000, .paid = 8000);
	for (int i = L; i <= TR; i++)
		EXPECT_NO_LINES(&o2, i);
	EXPECT_TOTALS(&o2, .commissions = 8000, .payable = 8000, .paid = 8000, .cap_limit = -1,
		      .n_lines = 1);
	engine_output_free(&o2);

	/*
	 * carry: false. Period 1 as above: the legs and matched are the same,
	 * R still earns 100.00, but nothing is carried out (11.25: "0 with
	 * carry: false"). Period 2 carries in that 0:
	 *   R: left 100.00 + 200.00 = 300.00, right 900.00: matched 300.00, 30.00; carry 0, 0
	 *   L: left 200.00: carry 0.  T: right 900.00: carry 0.
	 */
	p->binary_carry = 0;
	run_ok(&in1, &o1);
	EXPECT_BIN(&o1, R, 150000, 100000, 100000, 0, 0);
	EXPECT_BIN(&o1, L, 50000, 0, 0, 0, 0);
	EXPECT_BIN(&o1, T, 0, 40000, 0, 0, 0);
	EXPECT_BIN0(&o1, LL);
	EXPECT_BIN0(&o1, TR);
	EXPECT_LINES(&o1, R, BIN(100000, 100000, 10000));
	EXPECT_TOTALS(&o1, .commissions = 10000, .payable = 10000, .paid = 10000, .cap_limit = -1,
		      .n_lines = 1);
	for (int i = 0; i < t2.n; i++) {
		t2.cl[i] = o1.res[i].carry_left;
		t2.cr[i] = o1.res[i].carry_right;
	}
	engine_output_free(&o1);
	run_ok(&in2, &o2);
	EXPECT_BIN(&o2, R, 30000, 90000, 30000, 0, 0);
	EXPECT_BIN(&o2, L, 20000, 0, 0, 0, 0);
	EXPECT_BIN(&o2, T, 0, 90000, 0, 0, 0);
	EXPECT_BIN0(&o2, LL);
	EXPECT_BIN0(&o2, TR);
	EXPECT_LINES(&o2, R, BIN(30000, 100000, 3000));
	for (int i = L; i <= TR; i++)
		EXPECT_NO_LINES(&o2, i);
	EXPECT_TOTALS(&o2, .commissions = 3000, .payable = 3000, .paid = 3000, .cap_limit = -1,
		      .n_lines = 1);
	engine_output_free(&o2);
	plan_free(p);
}

/* ==== 4. the binary cap ====================================================================== */

/*
 * Plan: activity.min_pv 100; binary rate 10%, cap 50.00 (per distributor
 * and period). Four separate trees, root X0 with X1 left and X2 right;
 * everyone PV 100.00. Amount = min(round_half_even(matched x rate), cap), the
 * line keeping base = matched and its rate (11.25); the cap does not change
 * what is consumed (6.8: "consumed even when ... capped").
 *
 *   tree  left      right     matched   x 10%                  amount   carry L / R
 *   1     1500.00   1000.00   1000.00   100.00 > 50.00          50.00   500.00 / 0
 *   2      500.00    600.00    500.00    50.00 = cap            50.00   0 / 100.00
 *   3      499.90    499.90    499.90    49.99 < cap            49.99   0 / 0
 *   4      499.95    500.00    499.95    49.995 -> 50.00 (even) 50.00   0 / 0.05
 */
static void test_binary_cap(void **state)
{
	(void)state;
	static const int64_t lv[4] = { 150000, 50000, 49990, 49995 };
	static const int64_t rv[4] = { 100000, 60000, 49990, 50000 };
	static const int64_t matched[4] = { 100000, 50000, 49990, 49995 };
	static const int64_t amount[4] = { 5000, 5000, 4999, 5000 };
	static const int64_t carry_l[4] = { 50000, 0, 0, 0 };
	static const int64_t carry_r[4] = { 0, 10000, 0, 5 };
	plan *p = plan_new(10000, 100000);
	plan_binary_cap(p, 5000);
	tcase t = { .p = p };
	for (int k = 0; k < 4; k++) {
		int root = 3 * k;
		add(&t, root, NONE, NONE, LEFT, 10000, 0);
		add(&t, root + 1, root, root, LEFT, 10000, lv[k]);
		add(&t, root + 2, root, root, RIGHT, 10000, rv[k]);
	}
	engine_input in = input_of(&t);
	engine_output o;
	run_ok(&in, &o);
	for (int k = 0; k < 4; k++) {
		int root = 3 * k;
		EXPECT_BIN(&o, root, lv[k], rv[k], matched[k], carry_l[k], carry_r[k]);
		EXPECT_LINES(&o, root, BIN(matched[k], 100000, amount[k]));
		EXPECT_RES(&o, root, .active = 1, .gv = 30000, .commissions = amount[k],
			   .payable = amount[k], .paid = amount[k]);
		for (int c = 1; c <= 2; c++) {
			EXPECT_BIN0(&o, root + c);
			EXPECT_NO_LINES(&o, root + c);
		}
	}
	/* 50.00 + 50.00 + 49.99 + 50.00 = 199.99 */
	EXPECT_TOTALS(&o, .commissions = 19999, .payable = 19999, .paid = 19999, .cap_limit = -1,
		      .n_lines = 4);
	engine_output_free(&o);

	/* cap 0.01: every line is 0.01, base and rate unchanged, carries unchanged */
	p->binary_cap = 1;
	run_ok(&in, &o);
	for (int k = 0; k < 4; k++) {
		int root = 3 * k;
		EXPECT_BIN(&o, root, lv[k], rv[k], matched[k], carry_l[k], carry_r[k]);
		EXPECT_LINES(&o, root, BIN(matched[k], 100000, 1));
	}
	EXPECT_TOTALS(&o, .commissions = 4, .payable = 4, .paid = 4, .cap_limit = -1, .n_lines = 4);
	engine_output_free(&o);
	plan_free(p);
}

/* ==== 5. inactive and terminated positions ================================================== */

/*
 * Plan: activity.min_pv 100; binary rate 10%. Sponsor and placement tree alike:
 *
 *             R
 *          /     \
 *         L       T
 *        / \       \
 *      LL   LR      TR
 *
 * CV R 50.00, L 1000.00, T 600.00, LL 500.00, TR 400.00, LR 200.00.
 *   R: left L + LL + LR = 1700.00, right T + TR = 1000.00:
 *      matched 1000.00, 100.00; carry left 700.00, right 0
 *   L: left LL 500.00, right LR 200.00: matched 200.00, 20.00; carry left 300.00
 *   T: right TR 400.00: carry right 400.00
 * These figures do not depend on who is active (11.25: leg volume counts
 * "terminated and inactive sellers too"; "inactive or terminated positions
 * still consume and carry"); only the lines do.
 */
static void test_inactive(void **state)
{
	(void)state;
	enum { R, L, T, LL, TR, LR };
	plan *p = plan_new(10000, 100000);
	tcase t = { .p = p };
	add(&t, R, NONE, NONE, LEFT, 10000, 5000);
	add(&t, L, R, R, LEFT, 10000, 100000);
	add(&t, T, R, R, RIGHT, 10000, 60000);
	add(&t, LL, L, L, LEFT, 10000, 50000);
	add(&t, TR, T, T, RIGHT, 10000, 40000);
	add(&t, LR, L, L, RIGHT, 10000, 20000);
	engine_input in = input_of(&t);
	engine_output o;

#define SAME_FIGURES(o)                                              \
	do {                                                         \
		EXPECT_BIN((o), R, 170000, 100000, 100000, 70000, 0); \
		EXPECT_BIN((o), L, 50000, 20000, 20000, 30000, 0);   \
		EXPECT_BIN((o), T, 0, 40000, 0, 0, 40000);           \
		EXPECT_BIN0((o), LL);                                \
		EXPECT_BIN0((o), TR);                                \
		EXPECT_BIN0((o), LR);                                \
		for (int i_ = T; i_ <= LR; i_++)                     \
			EXPECT_NO_LINES((o), i_);                    \
	} while (0)

	/* a: everyone active. GV: LL, LR, TR 100; L 300; T 200; R 100 + 300 + 200 = 600 */
	run_ok(&in, &o);
	SAME_FIGURES(&o);
	EXPECT_LINES(&o, R, BIN(100000, 100000, 10000));
	EXPECT_RES(&o, R, .active = 1, .gv = 60000, .commissions = 10000, .payable = 10000,
		   .paid = 10000);
	EXPECT_LINES(&o, L, BIN(20000, 100000, 2000));
	EXPECT_RES(&o, L, .active = 1, .gv = 30000, .commissions = 2000, .payable = 2000, .paid = 2000);
	EXPECT_RES(&o, T, .active = 1, .gv = 20000);
	EXPECT_TOTALS(&o, .commissions = 12000, .payable = 12000, .paid = 12000, .cap_limit = -1,
		      .n_lines = 2);
	engine_output_free(&o);

	/*
	 * b: R inactive (PV 50.00 < 100), L terminated, LL inactive (PV 0, CV
	 * 500.00 still sold). R and L still consume their matched volume (R
	 * carries 700.00 left, not 1700.00; L 300.00, not 500.00) but get no line.
	 * GV: LL 0; L 100 + 0 + 100 = 200; R 50 + 200 + 200 = 450.
	 */
	t.pv[R] = 5000;
	t.term[L] = 1;
	t.pv[LL] = 0;
	run_ok(&in, &o);
	SAME_FIGURES(&o);
	EXPECT_NO_LINES(&o, R);
	EXPECT_RES(&o, R, .active = 0, .gv = 45000);
	EXPECT_NO_LINES(&o, L);
	EXPECT_RES(&o, L, .active = 0, .gv = 20000);
	EXPECT_RES(&o, LL, .active = 0, .gv = 0);
	EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	engine_output_free(&o);

	/*
	 * c: R active again; L still terminated, LL inactive: R's left leg still
	 * holds the terminated L's 1000.00 and the inactive LL's 500.00: R earns
	 * 100.00 as in a. L, terminated, consumes 200.00 and earns nothing.
	 * GV R: 100 + 200 + 200 = 500.
	 */
	t.pv[R] = 10000;
	run_ok(&in, &o);
	SAME_FIGURES(&o);
	EXPECT_LINES(&o, R, BIN(100000, 100000, 10000));
	EXPECT_RES(&o, R, .active = 1, .gv = 50000, .commissions = 10000, .payable = 10000,
		   .paid = 10000);
	EXPECT_NO_LINES(&o, L);
	EXPECT_RES(&o, L, .active = 0, .gv = 20000);
	EXPECT_TOTALS(&o, .commissions = 10000, .payable = 10000, .paid = 10000, .cap_limit = -1,
		      .n_lines = 1);
	engine_output_free(&o);

	/* d: R terminated (its PV 100.00 would make it active), L active again: only L earns. */
	t.term[R] = 1;
	t.term[L] = 0;
	run_ok(&in, &o);
	SAME_FIGURES(&o);
	EXPECT_NO_LINES(&o, R);
	EXPECT_RES(&o, R, .active = 0, .gv = 50000);
	EXPECT_LINES(&o, L, BIN(20000, 100000, 2000));
	EXPECT_RES(&o, L, .active = 1, .gv = 20000, .commissions = 2000, .payable = 2000, .paid = 2000);
	EXPECT_TOTALS(&o, .commissions = 2000, .payable = 2000, .paid = 2000, .cap_limit = -1,
		      .n_lines = 1);
	engine_output_free(&o);
#undef SAME_FIGURES
	plan_free(p);
}

/* ==== 6. negative legs ======================================================================= */

/*
 * Plan: activity.min_pv 100; binary rate 10%; everyone PV 100.00.
 *
 *            R
 *          /   \
 *         L     T
 *        /
 *      LL
 *
 * Period 1: CV L 500.00, LL -700.00 (a same-period refund), T 300.00, R 0.
 *   R: left 500.00 - 700.00 = -200.00, right 300.00: min -200.00, matched
 *      max(0, -200.00) = 0 (11.25), no line; carry left -200.00 - 0 = -200.00,
 *      right 300.00
 *   L: left -700.00, right 0: matched 0; carry left -700.00, right 0
 * Both legs negative (T -100.00 instead): R left -200.00, right -100.00,
 *   matched 0, carry -200.00 / -100.00.
 * Period 2, after the first: carried in R -200.00 / 300.00, L -700.00 / 0;
 *   CV L 400.00, LL 100.00, T 100.00:
 *   R: left -200.00 + 400.00 + 100.00 = 300.00, right 300.00 + 100.00 = 400.00:
 *      matched 300.00, 30.00; carry 0 / 100.00
 *   L: left -700.00 + 100.00 = -600.00: matched 0; carry -600.00 / 0
 */
static void test_negative_legs(void **state)
{
	(void)state;
	enum { R, L, T, LL };
	plan *p = plan_new(10000, 100000);
	tcase t = { .p = p };
	add(&t, R, NONE, NONE, LEFT, 10000, 0);
	add(&t, L, R, R, LEFT, 10000, 50000);
	add(&t, T, R, R, RIGHT, 10000, 30000);
	add(&t, LL, L, L, LEFT, 10000, -70000);
	engine_input in = input_of(&t);
	engine_output o;

	run_ok(&in, &o);
	EXPECT_BIN(&o, R, -20000, 30000, 0, -20000, 30000);
	EXPECT_BIN(&o, L, -70000, 0, 0, -70000, 0);
	EXPECT_BIN0(&o, T);
	EXPECT_BIN0(&o, LL);
	for (int i = R; i <= LL; i++)
		EXPECT_NO_LINES(&o, i);
	EXPECT_RES(&o, R, .active = 1, .gv = 40000);
	EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	int64_t cl[4], cr[4];
	for (int i = R; i <= LL; i++) {
		cl[i] = o.res[i].carry_left;
		cr[i] = o.res[i].carry_right;
	}
	engine_output_free(&o);

	t.cv[T] = -10000;
	run_ok(&in, &o);
	EXPECT_BIN(&o, R, -20000, -10000, 0, -20000, -10000);
	EXPECT_BIN(&o, L, -70000, 0, 0, -70000, 0);
	EXPECT_BIN0(&o, T);
	EXPECT_BIN0(&o, LL);
	EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	engine_output_free(&o);

	/* period 2 */
	memcpy(t.cl, cl, sizeof cl);
	memcpy(t.cr, cr, sizeof cr);
	t.cv[L] = 40000;
	t.cv[LL] = 10000;
	t.cv[T] = 10000;
	run_ok(&in, &o);
	EXPECT_BIN(&o, R, 30000, 40000, 30000, 0, 10000);
	EXPECT_BIN(&o, L, -60000, 0, 0, -60000, 0);
	EXPECT_BIN0(&o, T);
	EXPECT_BIN0(&o, LL);
	EXPECT_LINES(&o, R, BIN(30000, 100000, 3000));
	for (int i = L; i <= LL; i++)
		EXPECT_NO_LINES(&o, i);
	EXPECT_TOTALS(&o, .commissions = 3000, .payable = 3000, .paid = 3000, .cap_limit = -1,
		      .n_lines = 1);
	engine_output_free(&o);
	plan_free(p);
}

/* ==== 7. the plan cap and matching of binary ================================================= */

/*
 * Plan: activity.min_pv 100; binary rate 10%; matching of [binary],
 * generations member: [10%, 5%]; caps.payout_ratio 0.10; net sales 1000.00.
 * The tree of test 5 (sponsor = placement), everyone active:
 *   binary: R 100.00 (matched 1000.00), L 20.00 (matched 200.00)
 *   matching (11.1: after binary): R, generation 1 on L (its binary 20.00):
 *     10% = 2.00. T earns nothing (no binary); generation 2 (LL, LR, TR):
 *     no binary either; L's generation 1 (LL, LR): nothing.
 *   total 100.00 + 2.00 + 20.00 = 122.00 > limit floor(10% x 1000.00) = 100.00:
 *   cap (11.2), per statement sum(floor(line x 100.00 / 122.00)) - sum(line):
 *     R: floor(10000 x 10000 / 12200) = floor(8196.72) = 8196
 *        floor(  200 x 10000 / 12200) = floor( 163.93) =  163 -> 8359 - 10200 = -18.41
 *     L: floor( 2000 x 10000 / 12200) = floor(1639.34) = 1639 -> 1639 -  2000 =  -3.61
 *   payable R 83.59, L 16.39; total 99.98 <= 100.00.
 */
static void test_cap_and_matching(void **state)
{
	(void)state;
	enum { R, L, T, LL, TR, LR };
	static const int64_t gens[] = { 100000, 50000 };
	plan *p = plan_new(10000, 100000);
	plan_matching(p, OF(PLAN_BINARY), 2, gens);
	plan_cap(p, 100000);
	tcase t = { .p = p, .net_sales = 100000 };
	add(&t, R, NONE, NONE, LEFT, 10000, 5000);
	add(&t, L, R, R, LEFT, 10000, 100000);
	add(&t, T, R, R, RIGHT, 10000, 60000);
	add(&t, LL, L, L, LEFT, 10000, 50000);
	add(&t, TR, T, T, RIGHT, 10000, 40000);
	add(&t, LR, L, L, RIGHT, 10000, 20000);
	engine_input in = input_of(&t);
	engine_output o;

	run_ok(&in, &o);
	EXPECT_BIN(&o, R, 170000, 100000, 100000, 70000, 0);
	EXPECT_BIN(&o, L, 50000, 20000, 20000, 30000, 0);
	EXPECT_BIN(&o, T, 0, 40000, 0, 0, 40000);
	EXPECT_LINES(&o, R, BIN(100000, 100000, 10000), MATCH(1, L, 2000, 100000, 200), CAP(-1841));
	EXPECT_RES(&o, R, .active = 1, .gv = 60000, .commissions = 10200, .cap_adjustment = -1841,
		   .payable = 8359, .paid = 8359);
	EXPECT_LINES(&o, L, BIN(20000, 100000, 2000), CAP(-361));
	EXPECT_RES(&o, L, .active = 1, .gv = 30000, .commissions = 2000, .cap_adjustment = -361,
		   .payable = 1639, .paid = 1639);
	for (int i = T; i <= LR; i++)
		EXPECT_NO_LINES(&o, i);
	EXPECT_TOTALS(&o, .commissions = 12200, .cap_adjustment = -2202, .payable = 9998, .paid = 9998,
		      .cap_limit = 10000, .n_lines = 5);
	engine_output_free(&o);

	/*
	 * With a binary cap of 15.00: R min(100.00, 15.00) = 15.00, L min(20.00,
	 * 15.00) = 15.00 (bases 1000.00 and 200.00 kept). READING (11.26): R's
	 * matching base is L's binary line amount, 15.00: 10% = 1.50.
	 * Total 15.00 + 1.50 + 15.00 = 31.50 <= 100.00: no cap adjustment.
	 */
	plan_binary_cap(p, 1500);
	run_ok(&in, &o);
	EXPECT_BIN(&o, R, 170000, 100000, 100000, 70000, 0);
	EXPECT_BIN(&o, L, 50000, 20000, 20000, 30000, 0);
	EXPECT_LINES(&o, R, BIN(100000, 100000, 1500), MATCH(1, L, 1500, 100000, 150));
	EXPECT_RES(&o, R, .active = 1, .gv = 60000, .commissions = 1650, .payable = 1650, .paid = 1650);
	EXPECT_LINES(&o, L, BIN(20000, 100000, 1500));
	EXPECT_RES(&o, L, .active = 1, .gv = 30000, .commissions = 1500, .payable = 1500, .paid = 1500);
	EXPECT_TOTALS(&o, .commissions = 3150, .payable = 3150, .paid = 3150, .cap_limit = 10000,
		      .n_lines = 3);
	engine_output_free(&o);
	plan_free(p);
}

/* ==== 8. invalid input; the line type ======================================================== */

/* A valid three-distributor tree, then one fault at a time: each must give
 * -1 and a message (SPEC 6.8: "A slot holds one distributor"; 11.24: a
 * placement cycle is an error; engine.h: the placement arrays are needed
 * for a binary plan). */
static void test_invalid_input(void **state)
{
	(void)state;
	plan *p = plan_new(10000, 100000);
	tcase t = { .p = p };
	add(&t, 0, NONE, NONE, LEFT, 10000, 0);
	add(&t, 1, 0, 0, LEFT, 10000, 1000);
	add(&t, 2, 0, 0, RIGHT, 10000, 1000);
	add(&t, 3, 0, NONE, LEFT, 10000, 1000); /* a second placement root: valid (11.24) */
	engine_input in = input_of(&t);
	engine_output o;
	run_ok(&in, &o);
	EXPECT_BIN(&o, 0, 1000, 1000, 1000, 0, 0);
	EXPECT_LINES(&o, 0, BIN(1000, 100000, 100));
	EXPECT_BIN0(&o, 3);
	engine_output_free(&o);

	/* two distributors in the same slot: 1 and 2 both left of 0 */
	t.leg[2] = LEFT;
	run_fails(&in, "two in one slot");
	t.leg[2] = RIGHT;

	/* a placement cycle: 1 and 2 under each other, no root reaching them */
	t.place[1] = 2;
	t.place[2] = 1;
	t.leg[1] = t.leg[2] = LEFT;
	run_fails(&in, "cycle of two");
	/* a cycle of three: 1 under 2, 2 under 3, 3 under 1 (0 stays a root, alone) */
	t.place[1] = 2;
	t.place[2] = 3;
	t.place[3] = 1;
	t.leg[3] = RIGHT;
	run_fails(&in, "cycle of three");
	/* placed under itself */
	t.place[1] = 0;
	t.leg[1] = LEFT;
	t.place[2] = 0;
	t.leg[2] = RIGHT;
	t.place[3] = 3;
	run_fails(&in, "placed under itself");
	/* out of range, and a leg that is neither left nor right */
	t.place[3] = 4;
	run_fails(&in, "placement parent out of range");
	t.place[3] = NONE;
	t.place[2] = 1;
	t.leg[2] = 2;
	run_fails(&in, "leg 2");
	t.place[2] = 0;
	t.leg[2] = RIGHT;
	run_ok(&in, &o); /* valid again */
	engine_output_free(&o);

	/* an overflow of a leg sum (engine.h: -1 "on ... an arithmetic overflow"):
	 * 2 sells 1.00 below 1, which sells INT64_MAX hundredths; then a carry
	 * that overflows with the leg's volume */
	t.place[3] = 1;
	t.leg[3] = LEFT;
	t.cv[1] = INT64_MAX;
	t.cv[3] = 100;
	run_fails(&in, "leg volume overflow");
	t.cv[1] = 1000;
	t.cl[0] = INT64_MAX;
	run_fails(&in, "carry + leg volume overflow");
	t.cl[0] = 0;
	t.cv[3] = 1000;
	/* 0: left 1 + 3 = 20.00, right 10.00; 1: left 10.00, right 0 */
	run_ok(&in, &o);
	EXPECT_BIN(&o, 0, 2000, 1000, 1000, 1000, 0);
	EXPECT_BIN(&o, 1, 1000, 0, 0, 1000, 0);
	EXPECT_LINES(&o, 0, BIN(1000, 100000, 100));
	engine_output_free(&o);
	t.place[3] = NONE;

	/* the placement and carry arrays are required for a binary plan */
	in.place_parent = NULL;
	run_fails(&in, "place_parent NULL");
	in = input_of(&t);
	in.place_leg = NULL;
	run_fails(&in, "place_leg NULL");
	in = input_of(&t);
	in.carry_left = NULL;
	run_fails(&in, "carry_left NULL");
	in = input_of(&t);
	in.carry_right = NULL;
	run_fails(&in, "carry_right NULL");

	/* ... and not needed without one: all binary figures 0 */
	p->has_binary = 0;
	in = input_of(&t);
	in.place_parent = NULL;
	in.place_leg = NULL;
	in.carry_left = NULL;
	in.carry_right = NULL;
	run_ok(&in, &o);
	EXPECT_TOTALS(&o, .cap_limit = -1, .n_lines = 0);
	engine_output_free(&o);
	plan_free(p);

	/* the line type: printed "binary", a commission (capped, matched, counted) */
	assert_string_equal(engine_line_type_name(LINE_BINARY), "binary");
	assert_int_equal(engine_line_type_find("binary"), LINE_BINARY);
	assert_true(engine_line_is_commission(LINE_BINARY));
	assert_int_equal(LINE_BINARY, PLAN_BINARY);
	assert_string_equal(plan_type_name(PLAN_BINARY), "binary");
}

/* ==== 9. a 100,000-deep spill leg ============================================================ */

/*
 * Plan: activity.min_pv 100; binary rate 10%. Everyone PV 100.00, sponsored
 * by the root 0. The placement is a chain of D = 100,000 distributors all
 * placed left, numbered so that every placement parent has a HIGHER index
 * than its child: D is left of 0, and i is left of i + 1 for 1 <= i < D.
 * Each chain member sells 1.00. D + 1 (80,000.00) is right of 0; D + 2
 * (30,000.00) is right of the chain member M = 50,000. The root sells 123.45,
 * which is in none of its own legs.
 *
 *   0:  left = D x 1.00 + 30,000.00 = 130,000.00, right 80,000.00:
 *       matched 80,000.00, 10% = 8,000.00; carry left 50,000.00, right 0
 *   chain i: left = (i - 1) x 1.00, + 30,000.00 when i > M (M is below i);
 *       right 0 except M: matched 0, carry left = left
 *   M:  left 49,999.00, right 30,000.00: matched 30,000.00, 3,000.00;
 *       carry left 19,999.00
 *   D:  left 99,999.00 + 30,000.00 = 129,999.00
 * Not timed: it must simply run and give these figures.
 */
static void test_deep_spill(void **state)
{
	(void)state;
	enum { D = 100000, M = 50000 };
	int32_t n = D + 3;
	size_t sz = (size_t)n;
	plan *p = plan_new(10000, 100000);
	int32_t *parent = xcalloc(sz, sizeof *parent), *place = xcalloc(sz, sizeof *place);
	uint8_t *leg = xcalloc(sz, 1), *term = xcalloc(sz, 1), *title = xcalloc(sz, 1);
	int64_t *pv = xcalloc(sz, sizeof *pv), *cv = xcalloc(sz, sizeof *cv);
	int64_t *cl = xcalloc(sz, sizeof *cl), *cr = xcalloc(sz, sizeof *cr);
	int64_t *carried = xcalloc(sz, sizeof *carried);
	for (int32_t i = 0; i < n; i++) {
		parent[i] = i == 0 ? -1 : 0;
		pv[i] = 10000;
	}
	place[0] = -1;
	cv[0] = 12345;
	for (int32_t i = 1; i <= D; i++) {
		place[i] = i == D ? 0 : i + 1;
		leg[i] = LEFT;
		cv[i] = 100;
	}
	place[D + 1] = 0;
	leg[D + 1] = RIGHT;
	cv[D + 1] = 8000000;
	place[D + 2] = M;
	leg[D + 2] = RIGHT;
	cv[D + 2] = 3000000;
	engine_input in = {
		.p = p, .n = n, .parent = parent, .pv = pv, .cv = cv, .place_parent = place,
		.place_leg = leg, .carry_left = cl, .carry_right = cr, .terminated = term,
		.q_history = NULL, .history = 0, .title = title, .carried_in = carried,
	};
	engine_output o;
	run_ok(&in, &o);
	EXPECT_BIN(&o, 0, 13000000, 8000000, 8000000, 5000000, 0);
	EXPECT_LINES(&o, 0, BIN(8000000, 100000, 800000));
	EXPECT_BIN(&o, M, 4999900, 3000000, 3000000, 1999900, 0);
	EXPECT_LINES(&o, M, BIN(3000000, 100000, 300000));
	EXPECT_BIN(&o, D, 12999900, 0, 0, 12999900, 0);
	EXPECT_BIN0(&o, 1);
	EXPECT_BIN(&o, 2, 100, 0, 0, 100, 0);
	for (int32_t i = 1; i <= D; i++) {
		if (i == M)
			continue;
		int64_t left = (int64_t)(i - 1) * 100 + (i > M ? 3000000 : 0);
		if (o.res[i].left != left || o.res[i].right != 0 || o.res[i].matched != 0 ||
		    o.res[i].carry_left != left || o.res[i].carry_right != 0 || o.res[i].n_lines != 0)
			fail_msg("chain member %d: left %lld right %lld matched %lld carry %lld/%lld "
				 "lines %u, want left %lld", i, (long long)o.res[i].left,
				 (long long)o.res[i].right, (long long)o.res[i].matched,
				 (long long)o.res[i].carry_left, (long long)o.res[i].carry_right,
				 o.res[i].n_lines, (long long)left);
	}
	EXPECT_BIN0(&o, D + 1);
	EXPECT_BIN0(&o, D + 2);
	/* 8,000.00 + 3,000.00 = 11,000.00 */
	EXPECT_TOTALS(&o, .commissions = 1100000, .payable = 1100000, .paid = 1100000, .cap_limit = -1,
		      .n_lines = 2);
	engine_output_free(&o);
	free(parent);
	free(place);
	free(leg);
	free(term);
	free(title);
	free(pv);
	free(cv);
	free(cl);
	free(cr);
	free(carried);
	plan_free(p);
}

/* ==== 10. random placement trees ============================================================= */

#define RANDOM_SEED 0x62696e617279ULL /* "binary" */
#define N_RANDOM 3000
#define MAX_RTREE 120

#include "random_draws.h" /* rng, rnd, rnd_below, random_placement */

/* A volume: 0 a fifth of the time, negative (a refund) a sixth, else up to 2000.00. */
static int64_t rnd_volume(void)
{
	int64_t k = rnd_below(30);
	if (k < 6)
		return 0;
	if (k < 11)
		return -(1 + rnd_below(60000));
	return 1 + rnd_below(200000);
}

typedef struct rcase {
	int32_t n;
	int32_t *parent, *place;
	uint8_t *leg, *term, *title;
	int64_t *pv, *cv, *cl, *cr, *carried;
} rcase;

static void rcase_free(rcase *c)
{
	free(c->parent);
	free(c->place);
	free(c->leg);
	free(c->term);
	free(c->title);
	free(c->pv);
	free(c->cv);
	free(c->cl);
	free(c->cr);
	free(c->carried);
}

/*
 * A random placement: the distributors are placed one by one in a random
 * permutation order (so a placement parent often has a higher index than
 * its child), each in a free slot of a distributor placed before it: with
 * probability spill/16 the one placed just before (long spill legs), else
 * any; with probability 1/roots it starts a new placement tree instead. The
 * sponsor tree is drawn apart (parent < child), so the two trees differ.
 */
static void random_case(rcase *c, const plan *p, int32_t n, int spill, int roots)
{
	size_t sz = (size_t)(n ? n : 1);
	c->n = n;
	c->parent = xcalloc(sz, sizeof *c->parent);
	c->place = xcalloc(sz, sizeof *c->place);
	c->leg = xcalloc(sz, 1);
	c->term = xcalloc(sz, 1);
	c->title = xcalloc(sz, 1);
	c->pv = xcalloc(sz, sizeof *c->pv);
	c->cv = xcalloc(sz, sizeof *c->cv);
	c->cl = xcalloc(sz, sizeof *c->cl);
	c->cr = xcalloc(sz, sizeof *c->cr);
	c->carried = xcalloc(sz, sizeof *c->carried);
	random_placement(n, spill, roots, c->place, c->leg);
	for (int32_t i = 0; i < n; i++) {
		c->parent[i] = i == 0 || rnd_below(5) == 0 ? -1 : (int32_t)rnd_below(i);
		c->pv[i] = rnd_volume();
		c->cv[i] = rnd_volume();
		c->term[i] = rnd_below(8) == 0;
		if (p->binary_carry && rnd_below(3) != 0) {
			c->cl[i] = rnd_below(4) == 0 ? -rnd_below(30000) : rnd_below(100000);
			c->cr[i] = rnd_below(4) == 0 ? -rnd_below(30000) : rnd_below(100000);
		}
		if (rnd_below(4) == 0)
			c->carried[i] = rnd_below(3000) - 1000;
	}
}

static plan *random_plan(void)
{
	static const int64_t rates[] = { 0, 100000, 125000, 105000, 333333, 1 };
	int64_t rate = rnd_below(2) ? rates[rnd_below(6)] : 1 + rnd_below(400000);
	plan *p = plan_new(rnd_below(4) == 0 ? 0 : rnd_below(15000), rate);
	p->binary_volume_pv = rnd_below(2) == 0;
	p->binary_carry = rnd_below(4) != 0;
	if (rnd_below(2) == 0)
		plan_binary_cap(p, 1 + rnd_below(20000));
	if (rnd_below(3) == 0)
		plan_retail(p, 1 + rnd_below(200000));
	if (rnd_below(3) == 0)
		plan_cap(p, rnd_below(RATE_ONE + 1));
	if (rnd_below(4) == 0)
		plan_add_fee(p, "statement fee", 1 + rnd_below(500));
	if (rnd_below(4) == 0)
		p->min_payout = rnd_below(5000);
	return p;
}

/*
 * Random plans on random placement trees. check_invariants (run_ok) checks
 * for every distributor, against the naive walk: left = carry_left in + the
 * volume of its left placement subtree (right likewise); matched =
 * max(0, min(left, right)); carry = left/right - matched (0 with carry:
 * false); a binary line exactly for active recipients with matched > 0 and
 * rate > 0, base matched, amount min(round_half_even(matched x rate), cap);
 * the plan cap; and money conservation (payable = commissions + cap
 * adjustment + clawbacks + fees + carried in = the sum of its lines).
 */
static void test_random(void **state)
{
	(void)state;
	rng = RANDOM_SEED;
	int lines = 0, capped_lines = 0, zero_lines = 0, neg_min = 0, inactive_matched = 0;
	int parent_after = 0, deep = 0, plan_capped = 0, no_carry = 0, neg_carry = 0;
	for (int run = 0; run < N_RANDOM; run++) {
		plan *p = random_plan();
		int32_t n = (int32_t)(1 + rnd_below(run < 300 ? 8 : run % 50 == 0 ? 1500 : MAX_RTREE));
		static const int spills[] = { 0, 8, 15 };
		static const int roots[] = { 12, 200 };
		rcase c;
		int spill = spills[rnd_below(3)]; /* drawn in this order, not in an argument list's */
		int root = roots[rnd_below(2)];
		random_case(&c, p, n, spill, root);
		engine_input in = {
			.p = p, .n = n, .parent = c.parent, .pv = c.pv, .cv = c.cv,
			.place_parent = c.place, .place_leg = c.leg, .carry_left = c.cl,
			.carry_right = c.cr, .terminated = c.term, .q_history = NULL, .history = 0,
			.title = c.title, .carried_in = c.carried,
			.net_sales = rnd_below(200000) - 20000,
		};
		engine_output o;
		run_ok(&in, &o);
		for (int32_t i = 0; i < n; i++) {
			const engine_result *r = &o.res[i];
			parent_after += c.place[i] > i;
			neg_min += (r->left < r->right ? r->left : r->right) < 0;
			neg_carry += p->binary_carry && (r->carry_left < 0 || r->carry_right < 0);
			inactive_matched += !r->active && r->matched > 0;
			int depth = 0;
			for (int32_t a = c.place[i]; a >= 0; a = c.place[a])
				depth++;
			deep += depth >= 30;
		}
		for (size_t k = 0; k < o.n_lines; k++) {
			const engine_line *l = &o.lines[k];
			if (l->type != LINE_BINARY)
				continue;
			lines++;
			capped_lines += l->amount < ref_rate(l->base, l->rate);
			zero_lines += l->amount == 0;
		}
		plan_capped += o.total_cap_adjustment != 0;
		no_carry += !p->binary_carry;
		engine_output_free(&o);
		rcase_free(&c);
		plan_free(p);
	}
	print_message("random: %d runs; %d binary lines (%d at the binary cap, %d of 0.00); "
		      "%d placement parents after their child; %d deeper than 30; %d legs with "
		      "min < 0; %d negative carries; %d inactive with matched > 0; %d plan-capped "
		      "runs; %d runs with carry: false\n",
		      N_RANDOM, lines, capped_lines, zero_lines, parent_after, deep, neg_min, neg_carry,
		      inactive_matched, plan_capped, no_carry);
	/* The draw must reach the interesting cases. */
	assert_true(lines >= 5000);
	assert_true(capped_lines >= 1000);
	assert_true(zero_lines >= 10);
	assert_true(parent_after >= 10000);
	assert_true(deep >= 1000);
	assert_true(neg_min >= 1000);
	assert_true(neg_carry >= 1000);
	assert_true(inactive_matched >= 1000);
	assert_true(plan_capped >= 100);
	assert_true(no_carry >= 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement_tree),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_carry),
		cmocka_unit_test(test_binary_cap),
		cmocka_unit_test(test_inactive),
		cmocka_unit_test(test_negative_legs),
		cmocka_unit_test(test_cap_and_matching),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_deep_spill),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
