/*
 * plan.h - the compensation plan (SPEC 6), read from YAML and validated.
 *
 * plan_load() reports every problem as "FILE:LINE:COLUMN: message" into a
 * pd_diag and returns a plan only when the file is entirely valid.
 *
 * Status: this reader covers what ingest needs (name, currency, time zone,
 * period, promotions). The commission sections (activity, ranks,
 * commissions, caps, fees, min_payout) are recognised as top-level keys and
 * checked to be present in the right shape only; their full validation and
 * the engine come with the period close.
 */
#ifndef PAYOUTD_PLAN_H
#define PAYOUTD_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "dates.h"
#include "err.h"

typedef struct plan_promotion {
	char *id;
	int32_t from, to;          /* inclusive days, plan time zone */
	char **categories;
	size_t n_categories;
	char **skus;
	size_t n_skus;
	int64_t pv_mult, cv_mult;  /* millionths */
} plan_promotion;

typedef struct plan {
	char *name;
	char currency[4];
	char *timezone;
	period_kind period;
	plan_promotion *promos;
	size_t n_promos;
} plan;

int plan_load(const char *path, plan **out, pd_diag *diag);
void plan_free(plan *p);

/* The first promotion (plan order) whose dates contain `day` and whose
 * `when` matches sku or category (either may be NULL), or NULL (SPEC 6.2). */
const plan_promotion *plan_promotion_for(const plan *p, int32_t day, const char *sku,
					 const char *category);

#endif
