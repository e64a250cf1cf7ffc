/*
 * bench_statements - times the statement makers on a generated period: for
 * every distributor with a statement, statement_json(), statement_html() and
 * the SHA-256 of both, exactly as folder.c's maker thread calls them, with
 * the time of each of the three parts reported separately.
 *
 *   bench_statements PLAN.yaml [DISTRIBUTORS [SEED]] [--currency CODE] [--repeat R]
 *   bench_statements PLAN.yaml [DISTRIBUTORS [SEED]] [--currency CODE] --dump DIR
 *
 * The period is synthetic but shaped like a real close: about 7 lines per
 * distributor of every type (retail, unilevel levels 1-7 by paid-as rank,
 * rank advancement, cap adjustment, clawbacks of retail and unilevel, the
 * plan's fee, carry-in), amounts from cents to billions, some negative
 * balances and carried amounts, names with non-ASCII text and characters
 * that JSON, HTML and CSV must escape, some unknown IBANs, some terminated
 * distributors and some without any line (no statement).
 *
 * --dump DIR writes every statement (ID.json, ID.html), payouts.csv and
 * summary.json into DIR (which must exist), so that `diff -r` of two dumps
 * proves that a change to the makers kept every byte. Both modes print one
 * SHA-256 over all statement digests in order, a quick identity check.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine.h"
#include "money.h"
#include "plan.h"
#include "statement.h"
#include "splitmix.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

/* uniform in [0, n) */
static int64_t pick(int64_t n)
{
	return (int64_t)(rng() % (uint64_t)n);
}

/* true with probability pct percent */
static int chance(int pct)
{
	return pick(100) < pct;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* the same call as folder.c's sha256() */
static void sha256(const char *buf, size_t len, unsigned char d[32])
{
	EVP_Digest(buf, len, d, NULL, EVP_sha256(), NULL);
}

/* ---- the generated period -------------------------------------------------- */

static const char *const first_names[] = {
	"Anna", "Ben", "Zo\xc3\xab", "Jos\xc3\xa9", "\xc5\x81ukasz", "M\xc3\xbcller & S\xc3\xb6hne",
	"O'Brien", "\"Big\" Tony", "<b>Bold</b>", "Back\\slash", "\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x99",
	"\xc3\x86r\xc3\xb8", "Fran\xc3\xa7oise", "Smile \xf0\x9f\x98\x80", "A/B", "Tab\there",
	"Line\nbreak", "Ctl\x01" "char", "Esc\x1b[0m\x1f", "Del\x7f", "=SUM(A1)", "+49 Tel", "-minus", "@home",
	"Comma, Inc", "Quote \"q\"", "1 > 0 < 2", "Amp&amp;", "Ren\xc3\xa9" "e", "\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0",
	"\xce\x9a\xcf\x8e\xcf\x83\xcf\x84\xce\xb1\xcf\x82", "Percent 100%", "CR\rhere", "FF\f", "BS\b",
};
static const char *const last_names[] = {
	"Schmidt", "Dupont", "N\xc3\xba\xc3\xb1" "ez", "Smith", "van der Berg", "\xd8\xb9\xd9\x84\xd9\x8a",
	"Kowalski", "Rossi", "M\xc3\xb8ller", "Garc\xc3\xad" "a", "Nakamura", "Lee", "Brown", "\xe2\x80\x94 dash",
	"<script>x</script>", "& Partners", "\\\\server", "Say \"hi\"", "O'Neil", "J\xc3\xa4rvinen",
};
#define N_FIRST (sizeof first_names / sizeof first_names[0])
#define N_LAST (sizeof last_names / sizeof last_names[0])

typedef struct gen {
	plan *p;
	int32_t n;
	char **ids, **names, **ibans;
	int64_t *pv;
	uint8_t *terminated;
	engine_output out;
	size_t lines_cap;
	stmt_period sp;
} gen;

static engine_line *new_line(gen *g, int32_t recipient, int32_t type)
{
	if (g->out.n_lines == g->lines_cap) {
		g->lines_cap = g->lines_cap ? 2 * g->lines_cap : 1024;
		g->out.lines = realloc(g->out.lines, g->lines_cap * sizeof *g->out.lines);
		if (!g->out.lines) {
			perror("realloc");
			exit(1);
		}
	}
	engine_line *l = &g->out.lines[g->out.n_lines++];
	*l = (engine_line){.recipient = recipient, .type = type, .level = -1, .source = -1, .rank = -1, .fee = -1};
	return l;
}

/* an amount of money, mostly small, sometimes very large */
static int64_t some_money(void)
{
	switch (pick(20)) {
	case 0: return pick(100);                    /* cents */
	case 1: return pick(1000000000000LL);        /* up to 10 billion */
	case 2: return pick(100000000);              /* up to a million */
	default: return 500 + pick(200000);          /* 5.00 .. 2,005.00 */
	}
}

static int64_t rate_of(gen *g, int32_t rank, int32_t level)
{
	const plan *p = g->p;
	if (level < 1 || level > p->unilevel_max_levels)
		return 0;
	int64_t r = p->unilevel_rates[(size_t)rank * (size_t)p->unilevel_max_levels + (size_t)(level - 1)];
	return r ? r : 50000;
}

typedef struct src {
	int32_t level, source;
} src;

static int cmp_src(const void *a, const void *b)
{
	const src *x = a, *y = b;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->source < y->source ? -1 : x->source > y->source;
}

static void add(int64_t *acc, int64_t v)
{
	if (money_add(*acc, v, acc) < 0) {
		fprintf(stderr, "overflow in the generator\n");
		exit(1);
	}
}

/* Lines for distributor i in the engine's order (engine.h), and its totals. */
static void gen_distributor(gen *g, int32_t i)
{
	const plan *p = g->p;
	engine_result *r = &g->out.res[i];
	memset(r, 0, sizeof *r);
	/* paid-as rank: mostly the lowest */
	int64_t roll = pick(100);
	int32_t top = (int32_t)p->n_ranks - 1;
	int32_t paid_as = roll < 65 ? 0 : roll < 87 ? 1 : roll < 97 ? 2 : 3;
	if (paid_as > top)
		paid_as = top;
	int32_t title = paid_as + (int32_t)(chance(10) ? pick(top - paid_as + 1) : 0);
	r->paid_as = (uint8_t)paid_as;
	r->title = (uint8_t)title;
	r->qualified = (uint8_t)paid_as;
	r->active = (uint8_t)chance(70);
	g->pv[i] = r->active ? 10000 + pick(50000) : pick(10000);
	r->gv = g->pv[i] + (chance(5) ? pick(100000000000LL) : pick(5000000));

	uint32_t first = (uint32_t)g->out.n_lines;
	g->out.first_line[i] = first;
	int has_lines = !chance(8);
	if (has_lines) {
		int64_t commissions = 0;
		if (chance(70)) {
			engine_line *l = new_line(g, i, LINE_RETAIL);
			l->source = i;
			l->base = some_money();
			l->rate = p->retail_rate ? p->retail_rate : 200000;
			if (money_apply_rate(l->base, l->rate, &l->amount) < 0)
				exit(1);
			add(&commissions, l->amount);
		}
		/* unilevel: as deep as the paid-as rank's list, sorted by level then source */
		int levels = p->unilevel_levels ? p->unilevel_levels[paid_as] : 1;
		if (levels < 1)
			levels = 1;
		int nu = (int)pick(12);
		src s[16];
		for (int k = 0; k < nu; k++) {
			s[k].level = 1 + (int32_t)pick(levels);
			s[k].source = (int32_t)pick(g->n);
		}
		qsort(s, (size_t)nu, sizeof s[0], cmp_src);
		for (int k = 0; k < nu; k++) {
			engine_line *l = new_line(g, i, LINE_UNILEVEL);
			l->level = s[k].level;
			l->source = s[k].source;
			l->base = some_money();
			l->rate = chance(3) ? 125000 : rate_of(g, paid_as, s[k].level);
			if (money_apply_rate(l->base, l->rate, &l->amount) < 0)
				exit(1);
			add(&commissions, l->amount);
		}
		if (paid_as >= 2 && chance(30)) {
			engine_line *l = new_line(g, i, LINE_RANK_ADVANCEMENT);
			l->rank = paid_as;
			l->amount = p->advancement_bonus && p->advancement_bonus[paid_as] ? p->advancement_bonus[paid_as]
											  : 25000;
			add(&commissions, l->amount);
		}
		r->commissions = commissions;
		if (commissions > 0 && chance(15)) {
			engine_line *l = new_line(g, i, LINE_CAP_ADJUSTMENT);
			l->amount = -(commissions / (2 + pick(20)));
			r->cap_adjustment = l->amount;
		}
		if (chance(6)) {
			/* a retail clawback, then unilevel clawbacks by level */
			int nc = 1 + (int)pick(3);
			for (int k = 0; k < nc; k++) {
				engine_line *l = new_line(g, i, LINE_CLAWBACK);
				if (k > 0) {
					l->level = k;
					l->source = (int32_t)pick(g->n);
					l->rate = chance(20) ? 1000000 : rate_of(g, paid_as, k);
				} else {
					l->source = i;
					l->rate = p->retail_rate ? p->retail_rate : 200000;
				}
				l->base = 100 + pick(100000);
				int64_t a;
				if (money_apply_rate(l->base, l->rate, &a) < 0)
					exit(1);
				l->amount = -a;
				add(&r->clawbacks, l->amount);
			}
		}
		if (p->n_fees && (commissions > 0 || chance(20))) {
			for (size_t f = 0; f < p->n_fees; f++) {
				engine_line *l = new_line(g, i, LINE_FEE);
				l->fee = (int32_t)f;
				l->amount = -p->fees[f].amount;
				add(&r->fees, l->amount);
			}
		}
		if (chance(12)) {
			engine_line *l = new_line(g, i, LINE_CARRY_IN);
			l->amount = chance(30) ? -(1 + pick(50000)) : 1 + pick(999);
			r->carried_in = l->amount;
		}
		/* a distributor with nothing above gets a carry-in so that it has a line */
		if (g->out.n_lines == first) {
			engine_line *l = new_line(g, i, LINE_CARRY_IN);
			l->amount = 1 + pick(999);
			r->carried_in = l->amount;
		}
	}
	r->n_lines = (uint32_t)(g->out.n_lines - first);
	r->payable = 0;
	add(&r->payable, r->commissions);
	add(&r->payable, r->cap_adjustment);
	add(&r->payable, r->clawbacks);
	add(&r->payable, r->fees);
	add(&r->payable, r->carried_in);
	if (r->payable >= p->min_payout && r->payable > 0) {
		r->paid = r->payable;
	} else {
		r->carried_out = r->payable;
	}
	engine_output *o = &g->out;
	add(&o->total_commissions, r->commissions);
	add(&o->total_cap_adjustment, r->cap_adjustment);
	add(&o->total_clawbacks, r->clawbacks);
	add(&o->total_fees, r->fees);
	add(&o->total_carried_in, r->carried_in);
	add(&o->total_payable, r->payable);
	add(&o->total_paid, r->paid);
	add(&o->total_carried_out, r->carried_out);
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_dup(const char *fmt, ...)
{
	char t[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t, sizeof t, fmt, ap);
	va_end(ap);
	char *s = strdup(t);
	if (!s) {
		perror("strdup");
		exit(1);
	}
	return s;
}

static void gen_period(gen *g, plan *p, int32_t n)
{
	memset(g, 0, sizeof *g);
	g->p = p;
	g->n = n;
	g->ids = calloc((size_t)n, sizeof *g->ids);
	g->names = calloc((size_t)n, sizeof *g->names);
	g->ibans = calloc((size_t)n, sizeof *g->ibans);
	g->pv = calloc((size_t)n, sizeof *g->pv);
	g->terminated = calloc((size_t)n, 1);
	g->out.res = calloc((size_t)n, sizeof *g->out.res);
	g->out.first_line = calloc((size_t)n + 1, sizeof *g->out.first_line);
	if (!g->ids || !g->names || !g->ibans || !g->pv || !g->terminated || !g->out.res || !g->out.first_line) {
		perror("calloc");
		exit(1);
	}
	for (int32_t i = 0; i < n; i++) {
		/* ids: mostly D0000001, some with the other allowed characters */
		if (i % 97 == 5)
			g->ids[i] = fmt_dup("dist-%" PRId32 ".x_%" PRId32, i, i % 7);
		else
			g->ids[i] = fmt_dup("D%07" PRId32, i);
		if (i % 211 == 3)
			g->names[i] = NULL; /* unknown: printed as "" */
		else if (i % 503 == 7)
			g->names[i] = fmt_dup("%s", "");
		else
			g->names[i] = fmt_dup("%s %s", first_names[pick(N_FIRST)], last_names[pick(N_LAST)]);
		if (chance(20))
			g->ibans[i] = NULL;
		else
			g->ibans[i] = fmt_dup("DE%02d%018" PRId64, (int)pick(100), pick(1000000000000000000LL));
		g->terminated[i] = (uint8_t)chance(2);
		gen_distributor(g, i);
	}
	g->out.first_line[n] = (uint32_t)g->out.n_lines;
	int64_t net = 0;
	for (int32_t i = 0; i < n; i++)
		add(&net, g->pv[i]);
	g->out.cap_limit = p->has_cap ? net * 45 / 100 : -1;
	g->sp = (stmt_period){
		.p = p,
		.plan_sha256 = "5f7d9c0e2b4a6183f5e7d9c0b2a41638e5f7d9c0b2a4163805f7d9c0b2a41638",
		.period = "2026-11",
		.n = n,
		.ids = (const char *const *)g->ids,
		.names = (const char *const *)g->names,
		.ibans = (const char *const *)g->ibans,
		.pv = g->pv,
		.terminated = g->terminated,
		.out = &g->out,
		.net_sales = net,
	};
}

static void gen_free(gen *g)
{
	for (int32_t i = 0; i < g->n; i++) {
		free(g->ids[i]);
		free(g->names[i]);
		free(g->ibans[i]);
	}
	free(g->ids);
	free(g->names);
	free(g->ibans);
	free(g->pv);
	free(g->terminated);
	free(g->out.res);
	free(g->out.first_line);
	free(g->out.lines);
}

/* ---- the two modes -------------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *ext, const char *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *plan_path = NULL, *dump = NULL, *currency = NULL;
	int32_t n = 100000;
	int repeat = 1;
	uint64_t seed = 1;
	int positional = 0;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--dump") == 0 && a + 1 < argc)
			dump = argv[++a];
		else if (strcmp(argv[a], "--currency") == 0 && a + 1 < argc)
			currency = argv[++a];
		else if (strcmp(argv[a], "--repeat") == 0 && a + 1 < argc)
			repeat = atoi(argv[++a]);
		else if (argv[a][0] == '-')
			positional = -100;
		else if (positional == 0 && ++positional)
			plan_path = argv[a];
		else if (positional == 1 && ++positional)
			n = (int32_t)atol(argv[a]);
		else if (positional == 2 && ++positional)
			seed = strtoull(argv[a], NULL, 10);
		else
			positional = -100;
	}
	if (!plan_path || positional < 0 || n < 1 || repeat < 1 || (currency && strlen(currency) != 3)) {
		fprintf(stderr, "usage: bench_statements PLAN.yaml [DISTRIBUTORS [SEED]] [--currency CODE]"
				" [--repeat R | --dump DIR]\n");
		return 2;
	}
	rng_state = seed;
	pd_diag d = {0};
	plan *p;
	if (plan_load(plan_path, &p, &d) < 0) {
		for (size_t k = 0; k < d.n; k++)
			fprintf(stderr, "%s\n", d.msgs[k]);
		return 3;
	}
	pd_diag_free(&d);
	if (currency)
		memcpy(p->currency, currency, 4);

	gen g;
	gen_period(&g, p, n);
	json_object_seed(1); /* as folder.c does before its maker starts */
	int32_t *wanted = malloc((size_t)n * sizeof *wanted);
	int64_t nw = 0;
	for (int32_t i = 0; i < n; i++)
		if (statement_wanted(&g.sp, i))
			wanted[nw++] = i;
	printf("distributors %" PRId32 ", statements %" PRId64 ", lines %zu (%.2f per distributor), currency %s\n", n,
	       nw, g.out.n_lines, (double)g.out.n_lines / n, p->currency);

	/* one digest over all the statement digests, in order */
	EVP_MD_CTX *all = EVP_MD_CTX_new();
	int rc = 0;
	int64_t t_json = 0, t_html = 0, t_sha = 0, json_bytes = 0, html_bytes = 0;
	for (int rep = 0; rep < repeat && rc == 0; rep++) {
		EVP_DigestInit_ex(all, EVP_sha256(), NULL);
		for (int64_t w = 0; w < nw && rc == 0; w++) {
			int32_t i = wanted[w];
			char *js = NULL, *ht = NULL;
			size_t jlen = 0, hlen = 0;
			unsigned char dg[2][32];
			int64_t t0 = now_ns();
			int rj = statement_json(&g.sp, i, &js, &jlen);
			int64_t t1 = now_ns();
			int rh = statement_html(&g.sp, i, &ht, &hlen);
			int64_t t2 = now_ns();
			if (rj == 0)
				sha256(js, jlen, dg[0]);
			if (rh == 0)
				sha256(ht, hlen, dg[1]);
			int64_t t3 = now_ns();
			t_json += t1 - t0;
			t_html += t2 - t1;
			t_sha += t3 - t2;
			json_bytes += (int64_t)jlen;
			html_bytes += (int64_t)hlen;
			if (rj < 0 || rh < 0) {
				fprintf(stderr, "cannot make the statement of %s (json %d, html %d)\n", g.ids[i], rj, rh);
				rc = 1;
			} else {
				EVP_DigestUpdate(all, dg, sizeof dg);
				if (dump && (write_file(dump, g.ids[i], ".json", js, jlen) < 0 ||
					     write_file(dump, g.ids[i], ".html", ht, hlen) < 0))
					rc = 1;
			}
			free(js);
			free(ht);
		}
	}
	unsigned char total[32];
	EVP_DigestFinal_ex(all, total, NULL);
	EVP_MD_CTX_free(all);

	char *buf = NULL;
	size_t len = 0;
	if (rc == 0 && statement_payouts_csv(&g.sp, &buf, &len) < 0) {
		fprintf(stderr, "cannot make payouts.csv\n");
		rc = 1;
	}
	if (rc == 0 && dump && write_file(dump, "payouts", ".csv", buf, len) < 0)
		rc = 1;
	free(buf);
	buf = NULL;
	if (rc == 0 && statement_summary_json(&g.sp, &buf, &len) < 0) {
		fprintf(stderr, "cannot make summary.json\n");
		rc = 1;
	}
	if (rc == 0 && dump && write_file(dump, "summary", ".json", buf, len) < 0)
		rc = 1;
	free(buf);

	if (rc == 0) {
		double per = (double)nw * repeat * 1000.0; /* ns -> us per statement */
		printf("avg bytes: json %" PRId64 ", html %" PRId64 "\n", json_bytes / (nw * repeat),
		       html_bytes / (nw * repeat));
		printf("us per distributor: json %.2f, html %.2f, sha %.2f, total %.2f\n", (double)t_json / per,
		       (double)t_html / per, (double)t_sha / per, (double)(t_json + t_html + t_sha) / per);
		printf("all digests: ");
		for (int k = 0; k < 32; k++)
			printf("%02x", total[k]);
		printf("\n");
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		printf("peak memory: %ld MiB\n", ru.ru_maxrss / 1024);
	}
	free(wanted);
	gen_free(&g);
	plan_free(p);
	return rc;
}
