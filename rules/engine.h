/*
 * engine.h - the commission engine: one period of one plan, pure.
 *
 * No I/O, no SQL, no clock, no allocation per sale. The caller (the close)
 * gathers flat arrays; the engine fills per-distributor results and an
 * array of statement lines, in the order of SPEC 11 item 1: volumes; ranks
 * bottom-up; retail, unilevel, rank_advancement, differential, binary,
 * fast_start, pool and matching lines; the cap; clawbacks; fees; carry_in;
 * payable and the min_payout test.
 *
 * Distributors are indexed 0..n-1 in an order where every sponsor comes
 * before its recruits: parent[i] < i, or -1 for a root. All money and
 * volumes are int64 hundredths, rates int64 millionths; every line amount
 * is rounded once, half to even (money_apply_rate), cap scaling rounds down.
 * Results are deterministic: the same input gives the same output, bit for
 * bit, whatever the machine.
 */
#ifndef PAYOUTD_ENGINE_H
#define PAYOUTD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "plan.h"

/* Line types, in the order of a statement (SPEC 11.1); the commission
 * types first, numbered as plan_type. */
typedef enum {
	LINE_RETAIL = PLAN_RETAIL,
	LINE_UNILEVEL = PLAN_UNILEVEL,
	LINE_RANK_ADVANCEMENT = PLAN_RANK_ADVANCEMENT,
	LINE_DIFFERENTIAL = PLAN_DIFFERENTIAL,
	LINE_BINARY = PLAN_BINARY,
	LINE_FAST_START = PLAN_FAST_START,
	LINE_POOL = PLAN_POOL,
	LINE_MATCHING = PLAN_MATCHING,
	LINE_CAP_ADJUSTMENT,
	LINE_CLAWBACK,
	LINE_FEE,
	LINE_CARRY_IN,
	LINE_N_TYPES
} engine_line_type;

/* "retail", "cap_adjustment", ...: the name of a line type in statements
 * and in the ledger; NULL out of range. engine_line_type_find: the reverse, -1. */
const char *engine_line_type_name(int type);
int engine_line_type_find(const char *name);
/* Whether a line of this type is a commission (capped, matched, counted in
 * `commissions`). */
static inline int engine_line_is_commission(int type)
{
	return type >= LINE_RETAIL && type <= LINE_MATCHING;
}

/* One statement line. Fields that do not apply are -1 (level, source, rank,
 * fee) or 0 (base, rate, shares). 48 bytes: a close at a million
 * distributors holds millions of lines twice over (made, then grouped), and
 * on a machine where fresh memory is dear every byte of it costs time. */
typedef struct engine_line {
	int32_t recipient;   /* distributor index */
	int32_t source;      /* retail: the recipient; unilevel, clawback, fast_start, matching: the
			      * seller / earner; differential: the frontline leg's root or the
			      * recipient for its own sales; else -1 */
	int32_t rank;        /* rank_advancement: the rank passed (index); else -1 */
	int32_t fee;         /* fee: index into plan.fees; else -1 */
	int32_t shares;      /* pool: the recipient's shares (at most PLAN_MAX_SHARES); everybody's
			      * are engine_output.pool_total_shares */
	int16_t level;       /* unilevel, clawback, fast_start, matching (generation): 1-based, at
			      * most PLAN_MAX_LEVELS; else -1 */
	int8_t type;         /* engine_line_type */
	uint8_t zero;        /* always 0: the struct has no padding, so equal lines are equal bytes */
	int64_t base;        /* hundredths: CV (retail, unilevel, differential, fast_start), refunded
			      * CV (clawback, positive), matched commissions (matching), the pool */
	int64_t rate;        /* millionths; 0 for pool lines, which have none */
	int64_t amount;      /* hundredths; negative for clawbacks and fees */
} engine_line;

/* A clawback to book this period (SPEC 6.7, 11.4): a refund, in a closed
 * period's sale, of CV that paid `recipient` a retail (level -1) or
 * unilevel (level k) line at `rate`. The caller aggregates per (recipient,
 * level, source, rate); base is the refunded CV, positive. */
typedef struct engine_clawback {
	int32_t recipient, level, source;
	int64_t rate, base;
} engine_clawback;

typedef struct engine_input {
	const plan *p;
	int32_t n;
	const int32_t *parent;        /* [n] sponsor index or -1 */
	const int64_t *pv, *cv;       /* [n] volumes booked into this period (after promotions) */
	/* [n] the part of cv[i] from sales inside i's fast_start window (SPEC
	 * 11.27); NULL when the plan has no fast_start */
	const int64_t *fast_start_cv;
	/* binary plans (SPEC 6.8, 11.25), else NULL: the placement tree, in any
	 * index order (it need not follow the sponsor tree), and the leg
	 * volumes carried in from the previous period */
	const int32_t *place_parent;  /* [n] placement parent or -1 (the root of a placement tree) */
	const uint8_t *place_leg;     /* [n] 0 left, 1 right; one distributor per slot */
	const int64_t *carry_left, *carry_right; /* [n] */
	const uint8_t *terminated;    /* [n] 1 when terminated in this period */
	/* qualified rank of the previous periods: q_history[i * history + k] is
	 * the qualified rank in period P-1-k (0 = first rank, also before the
	 * ledger's first period); history >= (max periods of any rank) - 1 */
	const uint8_t *q_history;
	int32_t history;
	const uint8_t *title;         /* [n] highest paid-as rank before this period */
	const int64_t *carried_in;    /* [n] balance carried from the previous period */
	int64_t net_sales;            /* net sales amount of the period (SPEC 11.3) */
	const engine_clawback *clawbacks;
	size_t n_clawbacks;
} engine_input;

/* Per distributor, filled by engine_run. */
typedef struct engine_result {
	uint8_t active, qualified, paid_as, title;
	int64_t gv;
	int64_t commissions;     /* every commission line (retail ... matching), before the cap */
	int64_t cap_adjustment;  /* SPEC 11.2; usually <= 0, > 0 when same-period refunds make lines negative */
	int64_t clawbacks;       /* <= 0 */
	int64_t fees;            /* <= 0 */
	int64_t carried_in;
	int64_t payable, paid, carried_out;
	uint32_t n_lines;        /* lines of this distributor */
	/* binary plans: leg volumes (carried in + this period), what was
	 * matched, and what is carried out (0 with carry: false) */
	int64_t left, right, matched, carry_left, carry_right;
} engine_result;

typedef struct engine_output {
	engine_result *res;      /* [n], owned */
	engine_line *lines;      /* owned; grouped by recipient in index order, and within a
				  * recipient in the order retail, unilevel (by level, then
				  * source index), rank_advancement (by rank), differential (by
				  * source, then rate), fast_start and matching (by level, then
				  * source), pool, cap_adjustment, clawback (by level, source,
				  * rate), fee (plan order), carry_in */
	size_t n_lines;
	uint32_t *first_line;    /* [n + 1]: lines of i are first_line[i] .. first_line[i + 1] - 1 */
	int64_t total_commissions, total_cap_adjustment, total_clawbacks, total_fees,
		total_carried_in, total_payable, total_paid, total_carried_out;
	int64_t cap_limit;       /* max(0, floor(payout_ratio x net sales)); -1 without a cap */
	/* pool plans (SPEC 11.28): the pool, all shares held, what the lines got
	 * (the rest, pool - allotted, stays with the company); all 0 without */
	int64_t total_cv;        /* max(0, sum of cv): the base of the pool */
	int64_t pool, pool_total_shares, pool_allotted;
} engine_output;

/* Runs one period. Returns 0, or -1 with err on invalid input (parent not
 * before child, an index out of range) or an arithmetic overflow. */
int engine_run(const engine_input *in, engine_output *out, pd_err *err);
void engine_output_free(engine_output *out);

/* The longest `periods` requirement of the plan's ranks (>= 1). */
int engine_max_periods(const plan *p);

#endif
