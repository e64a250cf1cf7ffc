/*
 * plan.c - plan file -> struct plan. Keys are declared in tables; values are
 * checked by type and range; every problem is reported, not just the first.
 *
 * Reading order: the header keys, ranks (ids first, so requirements and
 * commissions may name any rank), commissions, then the money sections.
 * Each section is read only when it has the right shape; a wrong shape is
 * reported once at the section and nothing inside it is looked at, so one
 * mistake does not turn into a cascade of follow-up messages.
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "yamltree.h"

/* Bounds on what a plan may declare, so that per-rank and per-level arrays
 * (n_ranks x levels in the engine, rank history of `periods` periods per
 * distributor) stay small whatever the file says. Real plans use about ten
 * of each. */
#define PLAN_MAX_RANKS 100
#define PLAN_MAX_LEVELS 100
#define PLAN_MAX_COUNT 1000000   /* legs.count, active_recruits */
#define PLAN_MAX_PERIODS 1000    /* requires.periods */

typedef struct pctx {
	const char *file;
	pd_diag *diag;
	const char **rank_ids;   /* the valid rank ids, for suggestions */
	size_t n_rank_ids;
} pctx;

#define AT(n) ctx->file, (n)->line, (n)->col
#define NKEYS(a) (sizeof a / sizeof *a)

static const char *const top_keys[] = {
	"plan", "currency", "timezone", "period", "activity", "ranks", "commissions",
	"promotions", "caps", "fees", "min_payout",
};
static const char *const promo_keys[] = {
	"id", "from", "to", "when", "pv_multiplier", "cv_multiplier",
};
static const char *const when_keys[] = {"categories", "skus"};
static const char *const activity_keys[] = {"min_pv"};
static const char *const rank_keys[] = {"id", "requires"};
static const char *const requires_keys[] = {
	"pv", "gv", "max_leg_share", "legs", "active_recruits", "periods",
};
static const char *const legs_keys[] = {"count", "min_rank"};
static const char *const retail_keys[] = {"type", "rate"};
static const char *const unilevel_keys[] = {"type", "compression", "levels"};
static const char *const advancement_keys[] = {"type", "bonus"};
static const char *const differential_keys[] = {"type", "brackets"};
static const char *const bracket_keys[] = {"from", "rate"};
static const char *const binary_keys[] = {"type", "rate", "volume", "carry", "cap"};
static const char *const fast_start_keys[] = {"type", "days", "levels", "exclusive"};
static const char *const pool_keys[] = {"type", "name", "share", "shares"};
static const char *const matching_keys[] = {"type", "of", "generations"};
static const char *const caps_keys[] = {"payout_ratio"};
static const char *const fee_keys[] = {"name", "amount"};

static void load_retail(pctx *ctx, const yt_node *n, plan *p);
static void load_unilevel(pctx *ctx, const yt_node *n, plan *p);
static void load_advancement(pctx *ctx, const yt_node *n, plan *p);
static void load_differential(pctx *ctx, const yt_node *n, plan *p);
static void load_fast_start(pctx *ctx, const yt_node *n, plan *p);
static void load_binary(pctx *ctx, const yt_node *n, plan *p);
static void load_pool(pctx *ctx, const yt_node *n, plan *p);
static void load_matching(pctx *ctx, const yt_node *n, plan *p);

/* The commission types, indexed by plan_type, with their keys and reader. */
static const struct commission_type {
	const char *name;
	const char *where;          /* for "unknown key ... in WHERE" */
	const char *const *keys;
	size_t nkeys;
	void (*load)(pctx *ctx, const yt_node *n, plan *p);
} commission_types[] = {
	{"retail", "a retail commission", retail_keys, NKEYS(retail_keys), load_retail},
	{"unilevel", "a unilevel commission", unilevel_keys, NKEYS(unilevel_keys), load_unilevel},
	{"rank_advancement", "a rank_advancement commission", advancement_keys, NKEYS(advancement_keys),
	 load_advancement},
	{"differential", "a differential commission", differential_keys, NKEYS(differential_keys),
	 load_differential},
	{"binary", "a binary commission", binary_keys, NKEYS(binary_keys), load_binary},
	{"fast_start", "a fast_start commission", fast_start_keys, NKEYS(fast_start_keys), load_fast_start},
	{"pool", "a pool commission", pool_keys, NKEYS(pool_keys), load_pool},
	{"matching", "a matching commission", matching_keys, NKEYS(matching_keys), load_matching},
};
#define N_COMMISSION_TYPES NKEYS(commission_types)
_Static_assert(N_COMMISSION_TYPES == PLAN_N_TYPES, "one entry per plan_type, in its order");

const char *plan_type_name(plan_type t)
{
	return t >= 0 && t < PLAN_N_TYPES ? commission_types[t].name : NULL;
}

int plan_has_type(const plan *p, plan_type t)
{
	switch (t) {
	case PLAN_RETAIL: return p->has_retail;
	case PLAN_UNILEVEL: return p->has_unilevel;
	case PLAN_RANK_ADVANCEMENT: return p->has_rank_advancement;
	case PLAN_DIFFERENTIAL: return p->has_differential;
	case PLAN_BINARY: return p->has_binary;
	case PLAN_FAST_START: return p->has_fast_start;
	case PLAN_POOL: return p->has_pool;
	case PLAN_MATCHING: return p->has_matching;
	default: return 0;
	}
}

static void unknown_key(pctx *ctx, const yt_node *k, const char *const *keys, size_t nkeys,
			const char *where)
{
	yt_unknown_key(k, keys, nkeys, where, ctx->file, ctx->diag);
}

static int known_key(const char *key, const char *const *keys, size_t nkeys)
{
	for (size_t j = 0; j < nkeys; j++)
		if (strcmp(key, keys[j]) == 0)
			return 1;
	return 0;
}

static void check_keys(pctx *ctx, const yt_node *map, const char *const *keys, size_t nkeys,
		       const char *where)
{
	yt_check_keys(map, keys, nkeys, where, ctx->file, ctx->diag);
}

static const char *scalar(pctx *ctx, const yt_node *n, const char *key)
{
	if (n->kind != YT_SCALAR || yt_is_null(n) || n->len == 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: expected a value, found %s", key,
			   n->kind == YT_SCALAR ? "nothing" : yt_kind_name(n));
		return NULL;
	}
	return n->str;
}

static const yt_node *required(pctx *ctx, const yt_node *map, const char *key, const char *where)
{
	const yt_node *n = yt_get(map, key);
	if (!n)
		pd_diag_at(ctx->diag, AT(map), "%s: missing required key \"%s\"", where, key);
	return n;
}

/* The key node of `key` in a mapping (for messages about the key itself). */
static const yt_node *key_node(const yt_node *map, const char *key)
{
	for (size_t i = 0; map && map->kind == YT_MAP && i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->keys[i];
	return NULL;
}

static int date_value(pctx *ctx, const yt_node *n, const char *key, int32_t *out)
{
	const char *s = scalar(ctx, n, key), *why = NULL;
	if (!s)
		return -1;
	if (date_parse_format(s, n->len, "%Y-%m-%d", out, &why) < 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: \"%s\" is not a date YYYY-MM-DD (%s)", key, s, why);
		return -1;
	}
	return 0;
}

/* A multiplier: exact decimal, at most 6 decimals, 0..1000. */
static int multiplier(pctx *ctx, const yt_node *n, const char *key, int64_t *out)
{
	const char *s = scalar(ctx, n, key), *why = NULL;
	if (!s)
		return -1;
	if (money_parse(s, n->len, '.', 6, 6, false, out, &why) < 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: \"%s\": %s (expected a decimal with at most 6 decimals)", key, s, why);
		return -1;
	}
	if (*out > 1000LL * RATE_SCALE) {
		pd_diag_at(ctx->diag, AT(n), "%s: %s is out of range 0..1000", key, s);
		return -1;
	}
	return 0;
}

/* A rate (SPEC 6.1): exact decimal, at most 6 decimals, 0 <= rate <= 1, in
 * millionths. A sign is parsed so that "-0.1" gets the range message. */
static int rate_value(pctx *ctx, const yt_node *n, const char *key, int64_t *out)
{
	const char *s = scalar(ctx, n, key), *why = NULL;
	int64_t v;
	if (!s)
		return -1;
	if (money_parse(s, n->len, '.', 6, 6, true, &v, &why) < 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: \"%s\": %s (expected a rate between 0 and 1 with at most 6 decimals)",
			   key, s, why);
		return -1;
	}
	if (v < 0 || v > RATE_SCALE) {
		pd_diag_at(ctx->diag, AT(n), "%s: %s must be between 0 and 1", key, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Money or a volume in hundredths: at most 2 decimals; > 0 when `positive`,
 * else >= 0. `noun` ("an amount", "a volume") is for the message. */
static int hundredths_value(pctx *ctx, const yt_node *n, const char *key, const char *noun,
			    int positive, int64_t *out)
{
	const char *s = scalar(ctx, n, key), *why = NULL;
	int64_t v;
	if (!s)
		return -1;
	if (money_parse(s, n->len, '.', 2, 2, true, &v, &why) < 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: \"%s\": %s (expected %s with at most 2 decimals)", key, s, why, noun);
		return -1;
	}
	if (positive && v <= 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: %s must be greater than 0", key, s);
		return -1;
	}
	if (v < 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: %s must not be negative", key, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* A whole number min..max: digits only (no sign, no decimals). */
static int whole_value(pctx *ctx, const yt_node *n, const char *key, long min, long max, int *out)
{
	const char *s = scalar(ctx, n, key);
	if (!s)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n->len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			pd_diag_at(ctx->diag, AT(n), "%s: \"%s\" is not a whole number", key, s);
			return -1;
		}
		if (v <= max) /* past max it stays past max; no overflow */
			v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max) {
		pd_diag_at(ctx->diag, AT(n), "%s: %s is out of range %ld..%ld", key, s, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Index of the rank with this id (the first one if listed twice), or -1. */
static int rank_find(const plan *p, const char *id)
{
	for (size_t i = 0; i < p->n_ranks; i++)
		if (p->ranks[i].id && strcmp(p->ranks[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* A reference to a rank by id (a value or a mapping key). Silent when the
 * ranks themselves could not be read: that is already reported. */
static int rank_ref(pctx *ctx, const plan *p, const yt_node *n, const char *key, int *out)
{
	const char *s = scalar(ctx, n, key);
	if (!s || ctx->n_rank_ids == 0)
		return -1;
	int r = rank_find(p, s);
	if (r >= 0) {
		*out = r;
		return 0;
	}
	const char *sug = yt_suggest(s, ctx->rank_ids, ctx->n_rank_ids);
	pd_diag_at(ctx->diag, AT(n), "%s: \"%s\" is not a rank of this plan%s%s%s", key, s,
		   sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
	return -1;
}

static char **string_list(pctx *ctx, const yt_node *n, const char *key, size_t *count)
{
	*count = 0;
	if (n->kind != YT_SEQ) {
		pd_diag_at(ctx->diag, AT(n), "%s: expected a list, found %s", key, yt_kind_name(n));
		return NULL;
	}
	char **v = xcalloc(n->n + 1, sizeof *v);
	for (size_t i = 0; i < n->n; i++) {
		const char *s = scalar(ctx, n->vals[i], key);
		if (s)
			v[(*count)++] = xstrdup(s);
	}
	return v;
}

static void load_promotion(pctx *ctx, const yt_node *n, plan_promotion *pr)
{
	memset(pr, 0, sizeof *pr);
	pr->pv_mult = pr->cv_mult = RATE_SCALE;
	if (n->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(n), "promotions: each entry must be a mapping");
		return;
	}
	check_keys(ctx, n, promo_keys, NKEYS(promo_keys), "a promotion");
	const yt_node *v;
	const char *s;
	if ((v = required(ctx, n, "id", "promotion")) && (s = scalar(ctx, v, "id")))
		pr->id = xstrdup(s);
	int ok = 1;
	if ((v = required(ctx, n, "from", "promotion")))
		ok &= date_value(ctx, v, "from", &pr->from) == 0;
	else
		ok = 0;
	if ((v = required(ctx, n, "to", "promotion")))
		ok &= date_value(ctx, v, "to", &pr->to) == 0;
	else
		ok = 0;
	if (ok && pr->to < pr->from)
		pd_diag_at(ctx->diag, AT(yt_get(n, "to")), "to: the promotion ends before it starts");
	if ((v = yt_get(n, "pv_multiplier")))
		multiplier(ctx, v, "pv_multiplier", &pr->pv_mult);
	if ((v = yt_get(n, "cv_multiplier")))
		multiplier(ctx, v, "cv_multiplier", &pr->cv_mult);
	if ((v = required(ctx, n, "when", "promotion"))) {
		if (v->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(v), "when: expected a mapping with categories and/or skus");
			return;
		}
		check_keys(ctx, v, when_keys, NKEYS(when_keys), "when");
		const yt_node *w;
		if ((w = yt_get(v, "categories")))
			pr->categories = string_list(ctx, w, "categories", &pr->n_categories);
		if ((w = yt_get(v, "skus")))
			pr->skus = string_list(ctx, w, "skus", &pr->n_skus);
		if (pr->n_categories + pr->n_skus == 0)
			pd_diag_at(ctx->diag, AT(v), "when: name at least one category or sku");
	}
}

/* ---- activity and ranks (SPEC 6.2, 6.3, 11.15-17) ------------------------------ */

static void load_activity(pctx *ctx, const yt_node *n, plan *p)
{
	check_keys(ctx, n, activity_keys, NKEYS(activity_keys), "activity");
	const yt_node *v = yt_get(n, "min_pv");
	if (v)
		hundredths_value(ctx, v, "min_pv", "a volume", 0, &p->activity_min_pv);
}

static void load_legs(pctx *ctx, const yt_node *n, const plan *p, plan_rank *rk)
{
	if (n->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(n), "legs: expected a mapping with count and min_rank");
		return;
	}
	check_keys(ctx, n, legs_keys, NKEYS(legs_keys), "legs");
	const yt_node *c = required(ctx, n, "count", "legs");
	const yt_node *m = required(ctx, n, "min_rank", "legs");
	int ok = c && whole_value(ctx, c, "count", 1, PLAN_MAX_COUNT, &rk->legs_count) == 0;
	/* min_rank may name a higher rank than this one: it compares paid-as ranks */
	ok &= m && rank_ref(ctx, p, m, "min_rank", &rk->legs_min_rank) == 0;
	rk->has_legs = ok;
}

static void load_requires(pctx *ctx, const yt_node *n, const plan *p, plan_rank *rk)
{
	check_keys(ctx, n, requires_keys, NKEYS(requires_keys), "requires");
	const yt_node *v;
	if ((v = yt_get(n, "pv")))
		rk->has_pv = hundredths_value(ctx, v, "pv", "a volume", 0, &rk->pv) == 0;
	if ((v = yt_get(n, "gv")))
		rk->has_gv = hundredths_value(ctx, v, "gv", "a volume", 0, &rk->gv) == 0;
	if ((v = yt_get(n, "max_leg_share")) && rate_value(ctx, v, "max_leg_share", &rk->max_leg_share) == 0) {
		if (rk->max_leg_share == 0)
			pd_diag_at(ctx->diag, AT(v), "max_leg_share: %s must be greater than 0 (no leg could count)",
				   v->str);
		else
			rk->has_max_leg_share = 1;
	}
	if ((v = yt_get(n, "legs")))
		load_legs(ctx, v, p, rk);
	if ((v = yt_get(n, "active_recruits")))
		rk->has_active_recruits =
			whole_value(ctx, v, "active_recruits", 1, PLAN_MAX_COUNT, &rk->active_recruits) == 0;
	if ((v = yt_get(n, "periods")))
		whole_value(ctx, v, "periods", 1, PLAN_MAX_PERIODS, &rk->periods);
}

/*
 * Two passes: every id first, so that legs.min_rank (and later the
 * commissions) may name any rank, including one listed further down.
 */
static void load_ranks(pctx *ctx, const yt_node *v, plan *p)
{
	if (yt_is_null(v) || (v->kind == YT_SEQ && v->n == 0)) {
		pd_diag_at(ctx->diag, AT(v), "ranks: expected a non-empty list of ranks, lowest first");
		return;
	}
	if (v->kind != YT_SEQ)
		return; /* reported with the other section shapes */
	if (v->n > PLAN_MAX_RANKS) {
		pd_diag_at(ctx->diag, AT(v), "ranks: %zu ranks, at most %d are allowed", v->n, PLAN_MAX_RANKS);
		return;
	}
	p->n_ranks = v->n;
	p->ranks = xcalloc(v->n, sizeof *p->ranks);
	ctx->rank_ids = xcalloc(v->n, sizeof *ctx->rank_ids);
	const yt_node **id_at = xcalloc(v->n, sizeof *id_at);
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *r = v->vals[i];
		plan_rank *rk = &p->ranks[i];
		rk->periods = 1;
		if (r->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(r), "ranks: each entry must be a mapping with id and requires");
			continue;
		}
		for (size_t k = 0; k < r->n; k++) {
			const yt_node *key = r->keys[k];
			if (known_key(key->str, rank_keys, NKEYS(rank_keys)))
				continue;
			if (known_key(key->str, requires_keys, NKEYS(requires_keys)))
				pd_diag_at(ctx->diag, AT(key), "%s: a requirement is written inside \"requires\" "
					   "(requires: { %s: ... })", key->str, key->str);
			else
				unknown_key(ctx, key, rank_keys, NKEYS(rank_keys), "a rank");
		}
		const yt_node *id = required(ctx, r, "id", "rank");
		const char *s;
		if (!id || !(s = scalar(ctx, id, "id")))
			continue;
		int first = rank_find(p, s);
		if (first >= 0) {
			pd_diag_at(ctx->diag, AT(id), "ranks: id \"%s\" is used twice (first at line %d)", s,
				   id_at[first]->line);
			continue;
		}
		rk->id = xstrdup(s);
		id_at[i] = id;
		ctx->rank_ids[ctx->n_rank_ids++] = rk->id;
	}
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *req = yt_get(v->vals[i], "requires");
		if (!req)
			continue;
		if (i == 0) {
			pd_diag_at(ctx->diag, AT(key_node(v->vals[i], "requires")),
				   "requires: the first rank is everybody's starting rank and cannot have requirements");
			continue;
		}
		if (yt_is_null(req))
			continue;
		if (req->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(req), "requires: expected a mapping of requirements, found %s",
				   yt_kind_name(req));
			continue;
		}
		load_requires(ctx, req, p, &p->ranks[i]);
	}
	free(id_at);
}

/* ---- commissions (SPEC 6, 6.4, 11.1, 11.14, 11.18) ----------------------------- */

static void load_retail(pctx *ctx, const yt_node *n, plan *p)
{
	const yt_node *v = required(ctx, n, "rate", "retail commission");
	if (v && rate_value(ctx, v, "rate", &p->retail_rate) == 0)
		p->has_retail = 1;
}

/*
 * A mapping of rank id to a list of rates, one per level or generation
 * (unilevel levels, matching generations): a n_ranks x max table of
 * millionths (0 past a rank's list) and each rank's list length. `what` is
 * the key ("levels"), `unit` one entry ("level").
 */
static void load_rank_lists(pctx *ctx, const yt_node *lv, const plan *p, const char *what, const char *unit,
			    int64_t **rates, int **lens, int *maxp)
{
	*lens = xcalloc(p->n_ranks ? p->n_ranks : 1, sizeof **lens);
	*rates = NULL;
	*maxp = 0;
	if (lv->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(lv), "%s: expected a mapping of rank id to a list of rates, found %s", what,
			   yt_is_null(lv) ? "nothing" : yt_kind_name(lv));
		return;
	}
	/* the longest valid list sizes the table */
	int max = 0;
	for (size_t i = 0; i < lv->n; i++) {
		const yt_node *list = lv->vals[i];
		if (list->kind == YT_SEQ && list->n <= PLAN_MAX_LEVELS && (int)list->n > max)
			max = (int)list->n;
	}
	*maxp = max;
	*rates = xcalloc(p->n_ranks * (size_t)max + 1, sizeof **rates);
	char label[128];
	for (size_t i = 0; i < lv->n; i++) {
		const yt_node *key = lv->keys[i], *list = lv->vals[i];
		int r = -1;
		rank_ref(ctx, p, key, what, &r);
		snprintf(label, sizeof label, "%s of %.80s", what, key->str);
		if (list->kind != YT_SEQ) {
			pd_diag_at(ctx->diag, AT(list), "%s: expected a list of rates, one per %s, found %s", label, unit,
				   yt_is_null(list) ? "nothing" : yt_kind_name(list));
			continue;
		}
		if (list->n > PLAN_MAX_LEVELS) {
			pd_diag_at(ctx->diag, AT(list), "%s: %zu %ss, at most %d are allowed", label, list->n, unit,
				   PLAN_MAX_LEVELS);
			continue;
		}
		for (size_t k = 0; k < list->n; k++) {
			int64_t rate = 0;
			snprintf(label, sizeof label, "%s %zu of %.80s", unit, k + 1, key->str);
			if (rate_value(ctx, list->vals[k], label, &rate) == 0 && r >= 0)
				(*rates)[(size_t)r * (size_t)max + k] = rate;
		}
		if (r >= 0)
			(*lens)[r] = (int)list->n;
	}
}

static void load_unilevel(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_unilevel = 1;
	p->unilevel_dynamic = 1;
	const yt_node *v;
	const char *s;
	if ((v = yt_get(n, "compression")) && (s = scalar(ctx, v, "compression"))) {
		if (strcmp(s, "none") == 0)
			p->unilevel_dynamic = 0;
		else if (strcmp(s, "dynamic") != 0)
			pd_diag_at(ctx->diag, AT(v), "compression: \"%s\" is not dynamic or none", s);
	}
	const yt_node *lv = required(ctx, n, "levels", "unilevel commission");
	if (lv)
		load_rank_lists(ctx, lv, p, "levels", "level", &p->unilevel_rates, &p->unilevel_levels,
				&p->unilevel_max_levels);
	else
		p->unilevel_levels = xcalloc(p->n_ranks ? p->n_ranks : 1, sizeof *p->unilevel_levels);
}

static void load_advancement(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_rank_advancement = 1;
	p->advancement_bonus = xcalloc(p->n_ranks, sizeof *p->advancement_bonus);
	const yt_node *b = required(ctx, n, "bonus", "rank_advancement commission");
	if (!b)
		return;
	if (b->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(b), "bonus: expected a mapping of rank id to an amount, found %s",
			   yt_is_null(b) ? "nothing" : yt_kind_name(b));
		return;
	}
	char label[128];
	for (size_t i = 0; i < b->n; i++) {
		const yt_node *key = b->keys[i];
		int r = -1;
		int64_t amount = 0;
		rank_ref(ctx, p, key, "bonus", &r);
		snprintf(label, sizeof label, "bonus of %.80s", key->str);
		if (hundredths_value(ctx, b->vals[i], label, "an amount", 1, &amount) < 0 || r < 0)
			continue;
		if (r == 0)
			pd_diag_at(ctx->diag, AT(key), "bonus: \"%s\" is the first rank, which everybody holds from "
				   "the start; its bonus could never be paid", key->str);
		else
			p->advancement_bonus[r] = amount;
	}
}

/* differential (SPEC 6.8, 11.23): brackets lowest first, `from` strictly increasing. */
static void load_differential(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_differential = 1;
	const yt_node *b = required(ctx, n, "brackets", "differential commission");
	if (!b)
		return;
	if (b->kind != YT_SEQ || b->n == 0) {
		pd_diag_at(ctx->diag, AT(b), "brackets: expected a list of { from: GV, rate: RATE }, lowest first, "
			   "found %s", b->kind == YT_SEQ ? "an empty list" : yt_is_null(b) ? "nothing" : yt_kind_name(b));
		return;
	}
	if (b->n > PLAN_MAX_BRACKETS) {
		pd_diag_at(ctx->diag, AT(b), "brackets: %zu brackets, at most %d are allowed", b->n, PLAN_MAX_BRACKETS);
		return;
	}
	p->n_brackets = (int)b->n;
	p->diff_from = xcalloc(b->n, sizeof *p->diff_from);
	p->diff_rate = xcalloc(b->n, sizeof *p->diff_rate);
	const yt_node *prev = NULL;
	for (size_t i = 0; i < b->n; i++) {
		const yt_node *e = b->vals[i], *v;
		if (e->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(e), "brackets: each entry must be a mapping { from: GV, rate: RATE }");
			prev = NULL;
			continue;
		}
		check_keys(ctx, e, bracket_keys, NKEYS(bracket_keys), "a differential bracket");
		int ok = 1;
		if ((v = required(ctx, e, "from", "differential bracket")))
			ok = hundredths_value(ctx, v, "from", "a group volume", 0, &p->diff_from[i]) == 0;
		else
			ok = 0;
		if ((v = required(ctx, e, "rate", "differential bracket")))
			rate_value(ctx, v, "rate", &p->diff_rate[i]);
		if (ok && prev && p->diff_from[i] <= p->diff_from[i - 1])
			pd_diag_at(ctx->diag, AT(yt_get(e, "from")),
				   "from: %s is not above the previous bracket's (line %d): `from` must strictly increase",
				   yt_get(e, "from")->str, prev->line);
		prev = ok ? yt_get(e, "from") : NULL;
	}
}

/* binary (SPEC 6.8, 11.25): volume defaults to cv, carry to true. */
static void load_binary(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_binary = 1;
	p->binary_carry = 1;
	const yt_node *v;
	const char *s;
	if ((v = required(ctx, n, "rate", "binary commission")))
		rate_value(ctx, v, "rate", &p->binary_rate);
	if ((v = yt_get(n, "volume")) && (s = scalar(ctx, v, "volume"))) {
		if (strcmp(s, "pv") == 0)
			p->binary_volume_pv = 1;
		else if (strcmp(s, "cv") != 0)
			pd_diag_at(ctx->diag, AT(v), "volume: \"%s\" is not cv or pv", s);
	}
	if ((v = yt_get(n, "carry")) && (s = scalar(ctx, v, "carry"))) {
		if (strcmp(s, "false") == 0)
			p->binary_carry = 0;
		else if (strcmp(s, "true") != 0)
			pd_diag_at(ctx->diag, AT(v), "carry: \"%s\" is not true or false", s);
	}
	if ((v = yt_get(n, "cap")) && hundredths_value(ctx, v, "cap", "an amount", 1, &p->binary_cap) == 0)
		p->has_binary_cap = 1;
}

/* fast_start (SPEC 6.8, 11.27). */
static void load_fast_start(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_fast_start = 1;
	const yt_node *v;
	int days = 0;
	if ((v = required(ctx, n, "days", "fast_start commission")) &&
	    whole_value(ctx, v, "days", 1, 3660, &days) == 0)
		p->fast_start_days = days;
	if ((v = yt_get(n, "exclusive"))) {
		const char *s = scalar(ctx, v, "exclusive");
		if (s && strcmp(s, "true") == 0)
			p->fast_start_exclusive = 1;
		else if (s && strcmp(s, "false") != 0)
			pd_diag_at(ctx->diag, AT(v), "exclusive: \"%s\" is not true or false", s);
	}
	const yt_node *lv = required(ctx, n, "levels", "fast_start commission");
	if (!lv)
		return;
	if (lv->kind != YT_SEQ || lv->n == 0) {
		pd_diag_at(ctx->diag, AT(lv), "levels: expected a list of rates (the sponsor's first), found %s",
			   lv->kind == YT_SEQ ? "an empty list" : yt_is_null(lv) ? "nothing" : yt_kind_name(lv));
		return;
	}
	if (lv->n > PLAN_MAX_LEVELS) {
		pd_diag_at(ctx->diag, AT(lv), "levels: %zu levels, at most %d are allowed", lv->n, PLAN_MAX_LEVELS);
		return;
	}
	p->fast_start_levels = (int)lv->n;
	p->fast_start_rates = xcalloc(lv->n, sizeof *p->fast_start_rates);
	char label[64];
	for (size_t k = 0; k < lv->n; k++) {
		snprintf(label, sizeof label, "level %zu", k + 1);
		rate_value(ctx, lv->vals[k], label, &p->fast_start_rates[k]);
	}
}


/* pool (SPEC 6.8, 11.28). */
static void load_pool(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_pool = 1;
	p->pool_shares = xcalloc(p->n_ranks ? p->n_ranks : 1, sizeof *p->pool_shares);
	const yt_node *v;
	const char *s;
	if ((v = required(ctx, n, "name", "pool commission")) && (s = scalar(ctx, v, "name")))
		p->pool_name = xstrdup(s);
	if ((v = required(ctx, n, "share", "pool commission")))
		rate_value(ctx, v, "share", &p->pool_share);
	const yt_node *sh = required(ctx, n, "shares", "pool commission");
	if (!sh)
		return;
	if (sh->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(sh), "shares: expected a mapping of rank id to a whole number of shares, "
			   "found %s", yt_is_null(sh) ? "nothing" : yt_kind_name(sh));
		return;
	}
	char label[128];
	for (size_t i = 0; i < sh->n; i++) {
		int r = -1, count = 0;
		rank_ref(ctx, p, sh->keys[i], "shares", &r);
		snprintf(label, sizeof label, "shares of %.80s", sh->keys[i]->str);
		if (whole_value(ctx, sh->vals[i], label, 0, PLAN_MAX_SHARES, &count) == 0 && r >= 0)
			p->pool_shares[r] = count;
	}
}

/* matching (SPEC 6.8, 11.26); `of` is checked against the plan's other
 * types once all are read (check_matching_of). */
static void load_matching(pctx *ctx, const yt_node *n, plan *p)
{
	p->has_matching = 1;
	const yt_node *of = required(ctx, n, "of", "matching commission");
	if (of && (of->kind != YT_SEQ || of->n == 0))
		pd_diag_at(ctx->diag, AT(of), "of: expected a list of the commission types matched, found %s",
			   of->kind == YT_SEQ ? "an empty list" : yt_is_null(of) ? "nothing" : yt_kind_name(of));
	const yt_node *g = required(ctx, n, "generations", "matching commission");
	if (g)
		load_rank_lists(ctx, g, p, "generations", "generation", &p->matching_rates, &p->matching_gens,
				&p->matching_max_gens);
	else
		p->matching_gens = xcalloc(p->n_ranks ? p->n_ranks : 1, sizeof *p->matching_gens);
}

/* matching.of: each name a type of this plan other than matching, once. */
static void check_matching_of(pctx *ctx, const yt_node *of, plan *p)
{
	for (size_t i = 0; i < of->n; i++) {
		const char *s = scalar(ctx, of->vals[i], "of");
		if (!s)
			continue;
		int t = 0;
		while (t < PLAN_N_TYPES && strcmp(s, commission_types[t].name) != 0)
			t++;
		if (t == PLAN_MATCHING)
			pd_diag_at(ctx->diag, AT(of->vals[i]), "of: matching cannot match itself");
		else if (t == PLAN_N_TYPES || !plan_has_type(p, (plan_type)t))
			pd_diag_at(ctx->diag, AT(of->vals[i]), "of: \"%s\" is not a commission type of this plan", s);
		else if (p->matching_of & (1u << t))
			pd_diag_at(ctx->diag, AT(of->vals[i]), "of: \"%s\" is listed twice", s);
		else
			p->matching_of |= 1u << t;
	}
}

int64_t plan_matching_rate(const plan *p, int r, int g)
{
	if (!p->has_matching || !p->matching_gens || r < 0 || (size_t)r >= p->n_ranks || g < 1 || g > p->matching_gens[r])
		return 0;
	return p->matching_rates[(size_t)r * (size_t)p->matching_max_gens + (size_t)(g - 1)];
}

/* Percent of a rate in millionths, exact: 1050000 -> "105", 12345 -> "1.2345". */
static void format_percent(int64_t millionths, char *buf, size_t size)
{
	int64_t whole = millionths / 10000, frac = millionths % 10000;
	if (frac == 0) {
		snprintf(buf, size, "%lld", (long long)whole);
		return;
	}
	int digits = 4;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, size, "%lld.%0*lld", (long long)whole, digits, (long long)frac);
}

/*
 * The legality guard (SPEC 9, 11.29): the most one sale's CV can pay is the
 * sum of retail (to the seller), the largest sum of one rank's unilevel
 * level rates (if every upline held that rank), the highest differential
 * rate, the fast_start level sum, the pool share, and for matching its
 * largest generation-rate sum times the rates of the types it matches (what
 * they paid, matched again). Above 100% the plan is refused, once, at the
 * `commissions` key, naming each part.
 */
static int64_t largest_list_sum(const plan *p, const int64_t *rates, const int *lens, int max, int *rank)
{
	int64_t best = 0;
	*rank = -1;
	for (size_t r = 0; lens && r < p->n_ranks; r++) {
		int64_t sum = 0;
		for (int k = 0; k < lens[r]; k++)
			sum += rates[r * (size_t)max + (size_t)k]; /* <= 100 x 10^6: no overflow */
		if (*rank < 0 || sum > best) {
			best = sum;
			*rank = (int)r;
		}
	}
	return best;
}

static void legality_guard(pctx *ctx, const yt_node *at, const plan *p)
{
	int64_t part[PLAN_N_TYPES] = {0};
	int uni_rank = -1, match_rank = -1;
	if (p->has_retail)
		part[PLAN_RETAIL] = p->retail_rate;
	if (p->has_unilevel)
		part[PLAN_UNILEVEL] = largest_list_sum(p, p->unilevel_rates, p->unilevel_levels,
						       p->unilevel_max_levels, &uni_rank);
	for (int i = 0; p->has_differential && i < p->n_brackets; i++)
		if (p->diff_rate[i] > part[PLAN_DIFFERENTIAL])
			part[PLAN_DIFFERENTIAL] = p->diff_rate[i];
	for (int k = 0; p->has_fast_start && k < p->fast_start_levels; k++)
		part[PLAN_FAST_START] += p->fast_start_rates[k];
	if (p->has_pool)
		part[PLAN_POOL] = p->pool_share;
	if (p->has_binary)
		part[PLAN_BINARY] = p->binary_rate; /* SPEC 11.29: the binary rate once */
	/* all in millionths of millionths, exact: each part <= 10^8 x 10^6 */
	int64_t matched = 0, gens = 0;
	if (p->has_matching) {
		gens = largest_list_sum(p, p->matching_rates, p->matching_gens, p->matching_max_gens, &match_rank);
		for (int t = 0; t < PLAN_MATCHING; t++)
			if (p->matching_of & (1u << t))
				matched += part[t];
	}
	int64_t total = 0;
	for (int t = 0; t < PLAN_MATCHING; t++)
		total += part[t] * RATE_SCALE;
	total += gens * matched;
	if (total <= (int64_t)RATE_SCALE * RATE_SCALE)
		return;
	char parts[1024] = "", pct[48];
	size_t o = 0;
	for (int t = 0; t <= PLAN_MATCHING && o < sizeof parts; t++) {
		int64_t v = t == PLAN_MATCHING ? (gens * matched) / RATE_SCALE : part[t];
		if (v <= 0)
			continue;
		format_percent(v, pct, sizeof pct);
		const char *who = t == PLAN_UNILEVEL ? "unilevel levels of " : t == PLAN_MATCHING ? "matching generations of " : "";
		const char *rk = t == PLAN_UNILEVEL && uni_rank >= 0 ? p->ranks[uni_rank].id
			       : t == PLAN_MATCHING && match_rank >= 0 ? p->ranks[match_rank].id : "";
		o += (size_t)snprintf(parts + o, sizeof parts - o, "%s%s%.80s%s%s %s%%", o ? " + " : "", who, rk,
				      *who ? "" : plan_type_name((plan_type)t), t == PLAN_MATCHING ? " x matched rates" : "",
				      pct);
	}
	char tot[48];
	format_percent(total / RATE_SCALE, tot, sizeof tot);
	pd_diag_at(ctx->diag, AT(at),
		   "the plan could pay up to %s%% of a sale's CV along its upline chain (%s); at most 100%% is allowed",
		   tot, parts);
}

static void load_commissions(pctx *ctx, const yt_node *key, const yt_node *v, plan *p)
{
	size_t before = pd_diag_count(ctx->diag);
	const yt_node *first[N_COMMISSION_TYPES] = {0};
	const char *names[N_COMMISSION_TYPES];
	const yt_node *matching_of = NULL;
	for (size_t t = 0; t < N_COMMISSION_TYPES; t++)
		names[t] = commission_types[t].name;
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *e = v->vals[i];
		if (e->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(e), "commissions: each entry must be a mapping with a type");
			continue;
		}
		const yt_node *tn = required(ctx, e, "type", "commission");
		const char *s;
		if (!tn || !(s = scalar(ctx, tn, "type")))
			continue;
		size_t t = 0;
		while (t < N_COMMISSION_TYPES && strcmp(s, names[t]) != 0)
			t++;
		if (t == N_COMMISSION_TYPES) {
			const char *sug = yt_suggest(s, names, N_COMMISSION_TYPES);
			pd_diag_at(ctx->diag, AT(tn),
				   "unknown commission type \"%s\"%s%s%s; supported: retail, unilevel, rank_advancement, "
				   "differential, fast_start, pool, matching",
				   s, sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
			continue;
		}
		if (first[t]) {
			pd_diag_at(ctx->diag, AT(tn), "commission type \"%s\" is listed twice (first at line %d)", s,
				   first[t]->line);
			continue;
		}
		first[t] = tn;
		const struct commission_type *ct = &commission_types[t];
		check_keys(ctx, e, ct->keys, ct->nkeys, ct->where);
		ct->load(ctx, e, p);
		if (t == PLAN_MATCHING)
			matching_of = yt_get(e, "of");
	}
	if (matching_of && matching_of->kind == YT_SEQ)
		check_matching_of(ctx, matching_of, p);
	/* the guard only makes sense on numbers that were all read */
	if (pd_diag_count(ctx->diag) == before && ctx->n_rank_ids == p->n_ranks && p->n_ranks > 0)
		legality_guard(ctx, key, p);
}

/* ---- cap, fees, minimum payout (SPEC 6.6, 11.2, 11.5, 11.6) --------------------- */

static void load_caps(pctx *ctx, const yt_node *n, plan *p)
{
	check_keys(ctx, n, caps_keys, NKEYS(caps_keys), "caps");
	const yt_node *v = required(ctx, n, "payout_ratio", "caps");
	if (v && rate_value(ctx, v, "payout_ratio", &p->cap_payout_ratio) == 0)
		p->has_cap = 1;
}

static void load_fees(pctx *ctx, const yt_node *v, plan *p)
{
	p->n_fees = v->n;
	p->fees = xcalloc(v->n, sizeof *p->fees);
	const yt_node **name_at = xcalloc(v->n, sizeof *name_at);
	for (size_t i = 0; i < v->n; i++) {
		const yt_node *f = v->vals[i], *w;
		if (f->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(f), "fees: each entry must be a mapping with name and amount");
			continue;
		}
		check_keys(ctx, f, fee_keys, NKEYS(fee_keys), "a fee");
		const char *s;
		if ((w = required(ctx, f, "name", "fee")) && (s = scalar(ctx, w, "name"))) {
			size_t j = 0;
			while (j < i && !(p->fees[j].name && strcmp(p->fees[j].name, s) == 0))
				j++;
			if (j < i)
				pd_diag_at(ctx->diag, AT(w), "fees: name \"%s\" is used twice (first at line %d)", s,
					   name_at[j]->line);
			else {
				p->fees[i].name = xstrdup(s);
				name_at[i] = w;
			}
		}
		if ((w = required(ctx, f, "amount", "fee")))
			hundredths_value(ctx, w, "amount", "an amount", 1, &p->fees[i].amount);
	}
	free(name_at);
}

/* ---- the plan ------------------------------------------------------------------- */

static int plan_from_tree(const char *path, yt_node *root, plan **out, pd_diag *diag);

int plan_load(const char *path, plan **out, pd_diag *diag)
{
	pd_err err;
	yt_node *root = yt_load_file(path, &err);
	if (!root) {
		pd_diag_add(diag, "%s", err.msg);
		return -1;
	}
	return plan_from_tree(path, root, out, diag);
}

int plan_load_buf(const char *name, const char *buf, size_t len, plan **out, pd_diag *diag)
{
	pd_err err;
	yt_node *root = yt_load_buf(name, buf, len, &err);
	if (!root) {
		pd_diag_add(diag, "%s", err.msg);
		return -1;
	}
	return plan_from_tree(name, root, out, diag);
}

/* Reads the plan from its YAML tree, which it frees. */
static int plan_from_tree(const char *path, yt_node *root, plan **out, pd_diag *diag)
{
	size_t before = pd_diag_count(diag);
	pctx cx = {path, diag, NULL, 0}, *ctx = &cx;
	plan *p = xcalloc(1, sizeof *p);
	if (root->kind != YT_MAP) {
		pd_diag_at(diag, AT(root), "the plan must be a mapping of keys to values");
		goto done;
	}
	check_keys(ctx, root, top_keys, NKEYS(top_keys), "the plan");
	const yt_node *v;
	const char *s;
	if ((v = required(ctx, root, "plan", "plan")) && (s = scalar(ctx, v, "plan")))
		p->name = xstrdup(s);
	if ((v = required(ctx, root, "currency", "plan")) && (s = scalar(ctx, v, "currency"))) {
		if (v->len != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' || s[2] < 'A' || s[2] > 'Z')
			pd_diag_at(diag, AT(v), "currency: \"%s\" is not a three-letter ISO 4217 code like EUR", s);
		else
			memcpy(p->currency, s, 4);
	}
	if ((v = required(ctx, root, "timezone", "plan")) && (s = scalar(ctx, v, "timezone"))) {
		if (!dates_zone_exists(s))
			pd_diag_at(diag, AT(v), "timezone: \"%s\" is not a known IANA time zone (like Europe/Berlin)", s);
		else
			p->timezone = xstrdup(s);
	}
	if ((v = required(ctx, root, "period", "plan")) && (s = scalar(ctx, v, "period"))) {
		if (strcmp(s, "monthly") == 0)
			p->period = PERIOD_MONTHLY;
		else if (strcmp(s, "weekly") == 0)
			p->period = PERIOD_WEEKLY;
		else
			pd_diag_at(diag, AT(v), "period: \"%s\" is not monthly or weekly", s);
	}
	/* The sections' shapes first; each is read below only when its shape is
	 * right. An empty (null) optional section is the same as an absent one. */
	static const struct { const char *key; yt_kind kind; } shapes[] = {
		{"activity", YT_MAP}, {"ranks", YT_SEQ}, {"commissions", YT_SEQ}, {"caps", YT_MAP},
		{"fees", YT_SEQ}, {"min_payout", YT_SCALAR},
	};
	for (size_t i = 0; i < NKEYS(shapes); i++) {
		v = yt_get(root, shapes[i].key);
		if (v && !yt_is_null(v) && v->kind != shapes[i].kind)
			pd_diag_at(diag, AT(v), "%s: expected a %s, found a %s", shapes[i].key,
				   shapes[i].kind == YT_MAP ? "mapping" : shapes[i].kind == YT_SEQ ? "list" : "value",
				   yt_kind_name(v));
	}
	if ((v = yt_get(root, "activity")) && v->kind == YT_MAP)
		load_activity(ctx, v, p);
	if ((v = required(ctx, root, "ranks", "plan")))
		load_ranks(ctx, v, p);
	if ((v = yt_get(root, "commissions")) && v->kind == YT_SEQ)
		load_commissions(ctx, key_node(root, "commissions"), v, p);
	if ((v = yt_get(root, "caps")) && v->kind == YT_MAP)
		load_caps(ctx, v, p);
	if ((v = yt_get(root, "fees")) && v->kind == YT_SEQ)
		load_fees(ctx, v, p);
	if ((v = yt_get(root, "min_payout")) && v->kind == YT_SCALAR && !yt_is_null(v))
		hundredths_value(ctx, v, "min_payout", "an amount", 0, &p->min_payout);
	if ((v = yt_get(root, "promotions")) && !yt_is_null(v)) {
		if (v->kind != YT_SEQ) {
			pd_diag_at(diag, AT(v), "promotions: expected a list");
		} else {
			p->n_promos = v->n;
			p->promos = xcalloc(v->n, sizeof *p->promos);
			for (size_t i = 0; i < v->n; i++)
				load_promotion(ctx, v->vals[i], &p->promos[i]);
			for (size_t i = 0; i < v->n; i++)
				for (size_t j = 0; j < i; j++)
					if (p->promos[i].id && p->promos[j].id && strcmp(p->promos[i].id, p->promos[j].id) == 0)
						pd_diag_at(diag, AT(v->vals[i]), "promotions: id \"%s\" is used twice", p->promos[i].id);
		}
	}
done:
	free(cx.rank_ids);
	yt_free(root);
	if (pd_diag_count(diag) > before) {
		plan_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void plan_free(plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_promos; i++) {
		free(p->promos[i].id);
		free_list(p->promos[i].categories, p->promos[i].n_categories);
		free_list(p->promos[i].skus, p->promos[i].n_skus);
	}
	free(p->promos);
	for (size_t i = 0; i < p->n_ranks; i++)
		free(p->ranks[i].id);
	free(p->ranks);
	free(p->unilevel_rates);
	free(p->unilevel_levels);
	free(p->advancement_bonus);
	free(p->diff_from);
	free(p->diff_rate);
	free(p->fast_start_rates);
	free(p->pool_name);
	free(p->pool_shares);
	free(p->matching_rates);
	free(p->matching_gens);
	for (size_t i = 0; i < p->n_fees; i++)
		free(p->fees[i].name);
	free(p->fees);
	free(p->name);
	free(p->timezone);
	free(p);
}

int64_t plan_unilevel_rate(const plan *p, int r, int k)
{
	if (!p->has_unilevel || !p->unilevel_levels || r < 0 || (size_t)r >= p->n_ranks || k < 1 || k > p->unilevel_levels[r])
		return 0;
	return p->unilevel_rates[(size_t)r * (size_t)p->unilevel_max_levels + (size_t)(k - 1)];
}

const plan_promotion *plan_promotion_for(const plan *p, int32_t day, const char *sku,
					 const char *category)
{
	for (size_t i = 0; i < p->n_promos; i++) {
		const plan_promotion *pr = &p->promos[i];
		if (day < pr->from || day > pr->to)
			continue;
		if (sku)
			for (size_t k = 0; k < pr->n_skus; k++)
				if (strcmp(pr->skus[k], sku) == 0)
					return pr;
		if (category)
			for (size_t k = 0; k < pr->n_categories; k++)
				if (strcmp(pr->categories[k], category) == 0)
					return pr;
	}
	return NULL;
}
