/*
 * fuzz_plan.c - libFuzzer target: the plan language (plan_load_buf), and
 * the engine run with every plan it accepts.
 *
 * The input is the plan's text. A plan that loads is checked for what
 * plan.h promises, then one period of a small fixed tree (eight
 * distributors, volumes from zero to near the int64 limit, a clawback,
 * carried balances) runs through engine_run, so extreme rates, caps, fees
 * and rank rules from the plan meet the engine's arithmetic.
 *
 * Checked beyond the sanitizers:
 *  - a refused plan has at least one message, an accepted one none, and
 *    every message starts "plan.yaml:LINE:COLUMN: ";
 *  - an accepted plan: 1..100 ranks, a rank's legs.min_rank names a rank,
 *    rates and ratios in range, a promotion's days in order and found by
 *    plan_promotion_for on its first day, the time zone exists;
 *  - the engine's statement: lines grouped by recipient, each distributor's
 *    lines add up to its payable, paid + carried_out = payable, totals are
 *    the sums over distributors.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "engine.h"
#include "money.h"
#include "plan.h"

#include "fuzz_common.h"

#define NAME "plan.yaml"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *msg)
{
	size_t nl = strlen(NAME);
	FUZZ_CHECK(strncmp(msg, NAME, nl) == 0 && msg[nl] == ':', "message without the file name: %s", msg);
	const char *p = msg + nl + 1;
	char *end;
	long line = strtol(p, &end, 10);
	FUZZ_CHECK(end != p && *end == ':' && line >= 1, "message without a line: %s", msg);
	p = end + 1;
	long col = strtol(p, &end, 10);
	FUZZ_CHECK(end != p && end[0] == ':' && end[1] == ' ' && col >= 1, "message without a column: %s", msg);
}

static void check_plan(const plan *p)
{
	FUZZ_CHECK(p->name && p->timezone, "name or time zone missing");
	FUZZ_CHECK(dates_zone_exists(p->timezone), "time zone %s does not exist", p->timezone);
	FUZZ_CHECK(p->period == PERIOD_MONTHLY || p->period == PERIOD_WEEKLY, "period %d", p->period);
	FUZZ_CHECK(strlen(p->currency) == 3, "currency \"%s\"", p->currency);
	FUZZ_CHECK(p->n_ranks >= 1 && p->n_ranks <= 100 && p->ranks, "%zu ranks", p->n_ranks);
	for (size_t r = 0; r < p->n_ranks; r++) {
		const plan_rank *rk = &p->ranks[r];
		FUZZ_CHECK(rk->id && *rk->id, "rank %zu without an id", r);
		FUZZ_CHECK(rk->periods >= 1, "rank %s: periods %d", rk->id, rk->periods);
		FUZZ_CHECK(!rk->has_legs || (rk->legs_count >= 1 && rk->legs_min_rank >= 0 &&
					     (size_t)rk->legs_min_rank < p->n_ranks),
			   "rank %s: legs %d of rank %d", rk->id, rk->legs_count, rk->legs_min_rank);
		FUZZ_CHECK(!rk->has_max_leg_share || (rk->max_leg_share >= 0 && rk->max_leg_share <= RATE_SCALE),
			   "rank %s: max_leg_share %" PRId64, rk->id, rk->max_leg_share);
		if (p->has_unilevel)
			for (int k = 1; k <= p->unilevel_max_levels + 1; k++) {
				int64_t rate = plan_unilevel_rate(p, (int)r, k);
				FUZZ_CHECK(k <= p->unilevel_levels[r] || rate == 0, "rank %s level %d past its list pays %" PRId64,
					   rk->id, k, rate);
			}
	}
	FUZZ_CHECK(!p->has_cap || (p->cap_payout_ratio >= 0 && p->cap_payout_ratio <= RATE_SCALE), "cap ratio %" PRId64,
		   p->cap_payout_ratio);
	for (size_t i = 0; i < p->n_fees; i++)
		FUZZ_CHECK(p->fees[i].amount > 0, "fee %zu amount %" PRId64, i, p->fees[i].amount);
	for (size_t i = 0; i < p->n_promos; i++) {
		const plan_promotion *pm = &p->promos[i];
		FUZZ_CHECK(pm->from <= pm->to, "promotion %s ends before it starts", pm->id);
		const char *sku = pm->n_skus ? pm->skus[0] : NULL;
		const char *cat = pm->n_categories ? pm->categories[0] : NULL;
		if (sku || cat)
			FUZZ_CHECK(plan_promotion_for(p, pm->from, sku, cat) != NULL, "promotion %s not found on its first day",
				   pm->id);
		plan_promotion_for(p, pm->to, NULL, NULL);
	}
}

/* One period of a small tree: 0 is the root; 7 is the deepest. */
#define N 8
static const int32_t parent[N] = { -1, 0, 0, 1, 1, 2, 3, 6 };
static const int64_t pv[N] = { 15000, 10000, 0, 250000, 9999, INT64_MAX / 16, 100, 1 };
static const int64_t cv[N] = { 12000, 8000, 0, 200000, -500, INT64_MAX / 16, 100, 0 };
static const uint8_t terminated[N] = { 0, 0, 0, 0, 1, 0, 0, 0 };
static const int64_t carried_in[N] = { 0, 500, 0, 0, 0, 0, -300, 999 };
/* fast_start window CV; a placement tree unlike the sponsor tree (7 under 3,
 * 6 under 5) and carried leg volumes, for binary plans */
static const int64_t fast_start_cv[N] = { 0, 8000, 0, 100000, -500, INT64_MAX / 32, 100, 0 };
static const int32_t place_parent[N] = { -1, 0, 0, 1, 1, 2, 5, 3 };
static const uint8_t place_leg[N] = { 0, 0, 1, 0, 1, 0, 0, 0 };
static const int64_t carry_left[N] = { 700, 0, -100, 0, 0, 0, 0, 0 };
static const int64_t carry_right[N] = { 0, 250, 0, 0, 0, 0, 0, INT64_MAX / 64 };

static void run_engine(const plan *p)
{
	int history = engine_max_periods(p) - 1;
	FUZZ_CHECK(history >= 0 && history < 1000, "max periods %d", history + 1);
	uint8_t *q_history = calloc((size_t)N * (size_t)(history ? history : 1), 1);
	uint8_t title[N] = { 0 };
	FUZZ_CHECK(q_history, "out of memory");
	for (size_t i = 0; i < (size_t)N * (size_t)history; i++)
		q_history[i] = (uint8_t)(i % p->n_ranks);
	title[3] = (uint8_t)(p->n_ranks - 1);
	const engine_clawback claw[] = {
		{ .recipient = 1, .level = 1, .source = 3, .rate = 50000, .base = 12345 },
		{ .recipient = 0, .level = -1, .source = 0, .rate = 200000, .base = 99 },
	};
	engine_input in = {
		.p = p, .n = N, .parent = parent, .pv = pv, .cv = cv, .terminated = terminated,
		.q_history = q_history, .history = history, .title = title, .carried_in = carried_in,
		.net_sales = 100000000, .clawbacks = claw, .n_clawbacks = 2, .fast_start_cv = fast_start_cv,
		.place_parent = place_parent, .place_leg = place_leg, .carry_left = carry_left, .carry_right = carry_right,
	};
	engine_output out;
	pd_err err;
	if (engine_run(&in, &out, &err) == 0) {
		FUZZ_CHECK(out.first_line[0] == 0 && out.first_line[N] == out.n_lines, "lines %u..%u of %zu",
			   out.first_line[0], out.first_line[N], out.n_lines);
		__int128 tot_payable = 0, tot_paid = 0;
		for (int32_t i = 0; i < N; i++) {
			const engine_result *r = &out.res[i];
			__int128 sum = 0;
			FUZZ_CHECK(out.first_line[i + 1] - out.first_line[i] == r->n_lines, "distributor %d: n_lines", i);
			for (uint32_t k = out.first_line[i]; k < out.first_line[i + 1]; k++) {
				FUZZ_CHECK(out.lines[k].recipient == i, "line %u of %d is for %d", k, i,
					   out.lines[k].recipient);
				sum += out.lines[k].amount;
			}
			FUZZ_CHECK(sum == r->payable, "distributor %d: lines add up to %" PRId64 ", payable %" PRId64, i,
				   (int64_t)sum, r->payable);
			FUZZ_CHECK((__int128)r->paid + r->carried_out == r->payable, "distributor %d: paid + carried", i);
			FUZZ_CHECK(r->paid == 0 || r->paid >= p->min_payout, "distributor %d paid below min_payout", i);
			tot_payable += r->payable;
			tot_paid += r->paid;
		}
		FUZZ_CHECK(tot_payable == out.total_payable && tot_paid == out.total_paid, "totals");
		engine_output_free(&out);
	}
	free(q_history);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	plan *p = NULL;
	pd_diag diag = { 0 };
	int rc = plan_load_buf(NAME, (const char *)data, size, &p, &diag);
	FUZZ_CHECK(rc == 0 || rc == -1, "plan_load_buf returned %d", rc);
	for (size_t i = 0; i < diag.n; i++)
		check_message(diag.msgs[i]);
	if (rc < 0) {
		FUZZ_CHECK(pd_diag_count(&diag) > 0, "refused without a message");
	} else {
		FUZZ_CHECK(pd_diag_count(&diag) == 0, "accepted with %zu messages", pd_diag_count(&diag));
		check_plan(p);
		run_engine(p);
		plan_free(p);
	}
	pd_diag_free(&diag);
	return 0;
}
