/*
 * plan.c - plan file -> struct plan. Keys are declared in tables; values are
 * checked by type and range; every problem is reported, not just the first.
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"
#include "yamltree.h"

typedef struct pctx {
	const char *file;
	pd_diag *diag;
} pctx;

#define AT(n) ctx->file, (n)->line, (n)->col

static const char *const top_keys[] = {
	"plan", "currency", "timezone", "period", "activity", "ranks", "commissions",
	"promotions", "caps", "fees", "min_payout",
};
static const char *const promo_keys[] = {
	"id", "from", "to", "when", "pv_multiplier", "cv_multiplier",
};
static const char *const when_keys[] = {"categories", "skus"};

static void check_keys(pctx *ctx, const yt_node *map, const char *const *keys, size_t nkeys,
		       const char *where)
{
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *k = map->keys[i];
		int known = 0;
		for (size_t j = 0; j < nkeys && !known; j++)
			known = strcmp(k->str, keys[j]) == 0;
		if (known)
			continue;
		const char *s = yt_suggest(k->str, keys, nkeys);
		pd_diag_at(ctx->diag, AT(k), "unknown key \"%s\" in %s%s%s%s", k->str, where,
			   s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
	}
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
	check_keys(ctx, n, promo_keys, sizeof promo_keys / sizeof *promo_keys, "a promotion");
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
		check_keys(ctx, v, when_keys, 2, "when");
		const yt_node *w;
		if ((w = yt_get(v, "categories")))
			pr->categories = string_list(ctx, w, "categories", &pr->n_categories);
		if ((w = yt_get(v, "skus")))
			pr->skus = string_list(ctx, w, "skus", &pr->n_skus);
		if (pr->n_categories + pr->n_skus == 0)
			pd_diag_at(ctx->diag, AT(v), "when: name at least one category or sku");
	}
}

int plan_load(const char *path, plan **out, pd_diag *diag)
{
	pd_err err;
	size_t before = pd_diag_count(diag);
	yt_node *root = yt_load_file(path, &err);
	if (!root) {
		pd_diag_add(diag, "%s", err.msg);
		return -1;
	}
	pctx cx = {path, diag}, *ctx = &cx;
	plan *p = xcalloc(1, sizeof *p);
	if (root->kind != YT_MAP) {
		pd_diag_at(diag, AT(root), "the plan must be a mapping of keys to values");
		goto done;
	}
	check_keys(ctx, root, top_keys, sizeof top_keys / sizeof *top_keys, "the plan");
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
	/* the commission sections: their shape now, their contents with the engine */
	static const struct { const char *key; yt_kind kind; } shapes[] = {
		{"activity", YT_MAP}, {"ranks", YT_SEQ}, {"commissions", YT_SEQ}, {"caps", YT_MAP},
		{"fees", YT_SEQ}, {"min_payout", YT_SCALAR},
	};
	for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
		v = yt_get(root, shapes[i].key);
		if (v && !yt_is_null(v) && v->kind != shapes[i].kind)
			pd_diag_at(diag, AT(v), "%s: expected a %s, found a %s", shapes[i].key,
				   shapes[i].kind == YT_MAP ? "mapping" : shapes[i].kind == YT_SEQ ? "list" : "value",
				   yt_kind_name(v));
	}
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
	free(p->name);
	free(p->timezone);
	free(p);
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
