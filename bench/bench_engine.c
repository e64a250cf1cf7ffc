/*
 * bench_engine - times the pure commission engine on a generated period:
 * N distributors in a realistic tree (mostly shallow random sponsorship,
 * plus a few very deep chains of mostly inactive distributors that dynamic
 * compression must pass over), volumes as if from S sales, over a plan file.
 *
 *   bench_engine PLAN.yaml [DISTRIBUTORS [SALES [SEED]]]
 *
 * Prints the engine time, lines produced, totals and peak memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine.h"
#include "plan.h"
#include "splitmix.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_engine PLAN.yaml [DISTRIBUTORS [SALES [SEED]]]\n");
		return 2;
	}
	int32_t n = argc > 2 ? (int32_t)atol(argv[2]) : 1000000;
	long sales = argc > 3 ? atol(argv[3]) : 10L * n;
	rng_state = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
	pd_diag d = {0};
	plan *p;
	if (plan_load(argv[1], &p, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.msgs[i]);
		return 3;
	}
	int32_t *parent = malloc((size_t)n * sizeof *parent);
	int64_t *pv = calloc((size_t)n, sizeof *pv), *cv = calloc((size_t)n, sizeof *cv);
	uint8_t *term = calloc((size_t)n, 1), *title = calloc((size_t)n, 1);
	int64_t *carried = calloc((size_t)n, sizeof *carried);
	/* 1% of distributors sit in one deep chain; the rest sponsor at random */
	int32_t deep = n / 100;
	for (int32_t i = 0; i < n; i++) {
		if (i == 0)
			parent[i] = -1;
		else if (i > n - deep)
			parent[i] = i - 1; /* one long chain */
		else
			parent[i] = (int32_t)(rng() % (uint64_t)i);
		term[i] = rng() % 200 == 0;
	}
	for (long s = 0; s < sales; s++) {
		int32_t i = (int32_t)(rng() % (uint64_t)(n - deep + 1)); /* chains stay inactive */
		int64_t amount = 500 + (int64_t)(rng() % 20000);
		pv[i] += amount;
		cv[i] += amount * 8 / 10;
	}
	int64_t net = 0;
	for (int32_t i = 0; i < n; i++)
		net += pv[i];
	int history = engine_max_periods(p) - 1;
	uint8_t *hist = calloc((size_t)n * (size_t)(history ? history : 1), 1);
	engine_input in = {.p = p, .n = n, .parent = parent, .pv = pv, .cv = cv, .terminated = term,
			   .q_history = hist, .history = history, .title = title, .carried_in = carried,
			   .net_sales = net};
	engine_output out;
	pd_err err;
	double t0 = now();
	if (engine_run(&in, &out, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	double t1 = now();
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	size_t ranks[256] = {0};
	for (int32_t i = 0; i < n; i++)
		ranks[out.res[i].paid_as]++;
	printf("distributors %d, sales %ld (%d in deep chains)\n", n, sales, deep);
	printf("engine: %.3f s, %zu lines\n", t1 - t0, out.n_lines);
	printf("totals: commissions %lld, cap adjustment %lld, fees %lld, paid %lld, carried %lld (cents)\n",
	       (long long)out.total_commissions, (long long)out.total_cap_adjustment, (long long)out.total_fees,
	       (long long)out.total_paid, (long long)out.total_carried_out);
	for (size_t r = 0; r < p->n_ranks; r++)
		printf("rank %s: %zu\n", p->ranks[r].id, ranks[r]);
	printf("peak memory: %ld MiB\n", ru.ru_maxrss / 1024);
	engine_output_free(&out);
	free(parent);
	free(pv);
	free(cv);
	free(term);
	free(title);
	free(carried);
	free(hist);
	plan_free(p);
	return 0;
}
