/*
 * plan.h - the compensation plan (SPEC 6), read from YAML and validated.
 *
 * plan_load() reports every problem as "FILE:LINE:COLUMN: message" into a
 * pd_diag and returns a plan only when the file is entirely valid.
 *
 * Every number is exact: money and volumes in hundredths, rates, shares and
 * multipliers in millionths. Ranks are referred to by index, lowest first.
 */
#ifndef PAYOUTD_PLAN_H
#define PAYOUTD_PLAN_H

/* the most pool shares a rank may hold (a statement line keeps them in an int32) */
#define PLAN_MAX_SHARES 1000000

#include <stddef.h>
#include <stdint.h>

#include "dates.h"
#include "err.h"

/* The commission types in the order a close computes them (SPEC 11.1). */
typedef enum {
	PLAN_RETAIL = 0,
	PLAN_UNILEVEL,
	PLAN_RANK_ADVANCEMENT,
	PLAN_DIFFERENTIAL,
	PLAN_BINARY,
	PLAN_FAST_START,
	PLAN_POOL,
	PLAN_MATCHING,
	PLAN_N_TYPES
} plan_type;

#define PLAN_MAX_BRACKETS 20      /* differential brackets (real plans use 4 to 10) */

typedef struct plan_promotion {
	char *id;
	int32_t from, to;          /* inclusive days, plan time zone */
	char **categories;
	size_t n_categories;
	char **skus;
	size_t n_skus;
	int64_t pv_mult, cv_mult;  /* millionths */
} plan_promotion;

/* A rank and its promotion requirements (SPEC 6.3); a requirement that is
 * not listed is not checked. ranks[0] has none. */
typedef struct plan_rank {
	char *id;
	int has_pv, has_gv, has_max_leg_share, has_legs, has_active_recruits;
	int64_t pv, gv;             /* hundredths */
	int64_t max_leg_share;      /* millionths, 0..1 */
	int legs_count;             /* >= 1 */
	int legs_min_rank;          /* index into plan.ranks */
	int active_recruits;        /* >= 1 */
	int periods;                /* >= 1 (default 1) */
} plan_rank;

typedef struct plan_fee {
	char *name;
	int64_t amount;             /* hundredths, > 0, charged as a negative line */
} plan_fee;

typedef struct plan {
	char *name;
	char currency[4];
	char *timezone;
	period_kind period;
	plan_promotion *promos;
	size_t n_promos;

	int64_t activity_min_pv;    /* hundredths; 0 when absent */
	plan_rank *ranks;           /* lowest first; at least one */
	size_t n_ranks;

	/* commissions (each type at most once) */
	int has_retail;
	int64_t retail_rate;        /* millionths */
	int has_unilevel;
	int unilevel_dynamic;       /* compression: dynamic (1) or none (0) */
	int64_t *unilevel_rates;    /* n_ranks x unilevel_max_levels, millionths, 0 past a rank's list */
	int *unilevel_levels;       /* per rank: length of its list (0 when the rank is not listed) */
	int unilevel_max_levels;    /* the longest list */
	int has_rank_advancement;
	int64_t *advancement_bonus; /* per rank, hundredths; 0 = no bonus */

	/* differential (SPEC 6.8, 11.23): brackets lowest first, `from` strictly increasing */
	int has_differential;
	int64_t *diff_from;         /* [n_brackets] GV threshold, hundredths */
	int64_t *diff_rate;         /* [n_brackets] millionths, any order */
	int n_brackets;             /* 1..PLAN_MAX_BRACKETS */

	/* binary (SPEC 6.8, 11.25): on the placement tree */
	int has_binary;
	int64_t binary_rate;        /* millionths of the matched volume */
	int binary_volume_pv;       /* volume: pv (1) or cv (0, the default) */
	int binary_carry;           /* carry: true (1, the default) or false */
	int has_binary_cap;
	int64_t binary_cap;         /* hundredths, per distributor and period */

	/* fast_start (SPEC 6.8, 11.27) */
	int has_fast_start;
	int32_t fast_start_days;    /* window: 0 <= sale day - join day < days */
	int64_t *fast_start_rates;  /* [fast_start_levels] millionths: sponsor, its sponsor, ... */
	int fast_start_levels;
	int fast_start_exclusive;   /* window CV pays no unilevel */

	/* pool (SPEC 6.8, 11.28) */
	int has_pool;
	char *pool_name;
	int64_t pool_share;         /* millionths of the period's total CV */
	int64_t *pool_shares;       /* per rank: whole shares, 0 .. PLAN_MAX_SHARES (0: not a holder) */

	/* matching (SPEC 6.8, 11.26) */
	int has_matching;
	unsigned matching_of;       /* bit (1u << plan_type) per matched commission type */
	int64_t *matching_rates;    /* n_ranks x matching_max_gens, millionths, 0 past a rank's list */
	int *matching_gens;         /* per rank: length of its list */
	int matching_max_gens;

	int has_cap;
	int64_t cap_payout_ratio;   /* millionths, 0..1 */
	plan_fee *fees;
	size_t n_fees;
	int64_t min_payout;         /* hundredths, default 0 */
} plan;

/* "retail", "unilevel", ...: the YAML name of a commission type. */
const char *plan_type_name(plan_type t);
/* Whether the plan lists commission type t. */
int plan_has_type(const plan *p, plan_type t);

/* The rate of matching generation g (1-based) for paid-as rank r: 0 past its list. */
int64_t plan_matching_rate(const plan *p, int r, int g);

/* The rate of unilevel level k (1-based) for paid-as rank r: 0 past its list. */
int64_t plan_unilevel_rate(const plan *p, int r, int k);

int plan_load(const char *path, plan **out, pd_diag *diag);
/* The same from a plan's text in memory (a closed period's plan, kept in the
 * ledger); name stands for the file in messages. */
int plan_load_buf(const char *name, const char *buf, size_t len, plan **out, pd_diag *diag);
void plan_free(plan *p);

/* The first promotion (plan order) whose dates contain `day` and whose
 * `when` matches sku or category (either may be NULL), or NULL (SPEC 6.2). */
const plan_promotion *plan_promotion_for(const plan *p, int32_t day, const char *sku,
					 const char *category);

#endif
