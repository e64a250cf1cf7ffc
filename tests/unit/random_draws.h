/*
 * random_draws.h - the random draws the engine's property tests share
 * (test_engine_binary.c, test_engine_families.c): a splitmix64 stream with
 * a fixed seed, the same sequence on every machine, and a random placement
 * tree. Static functions in a header: each test program has its own stream
 * (set rng to its seed before drawing). Needs <stdint.h> and err.h's xcalloc.
 */
#ifndef PAYOUTD_TEST_RANDOM_DRAWS_H
#define PAYOUTD_TEST_RANDOM_DRAWS_H

static uint64_t rng;

static inline uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0 .. n - 1; 0 when n <= 0 */
static inline int64_t rnd_below(int64_t n)
{
	return n > 0 ? (int64_t)(rnd() % (uint64_t)n) : 0;
}

/*
 * A random placement tree of n distributors into place[n] (parent or -1)
 * and leg[n] (0 left, 1 right). They are placed one by one in a random
 * permutation order, so a placement parent often has a higher index than
 * its child, each in a free slot of one placed before it (no cycle, one
 * distributor per slot): with probability spill/16 under the one placed
 * just before (long spill legs), else under any; with probability 1/roots
 * it starts a new placement tree instead.
 */
static inline void random_placement(int32_t n, int spill, int roots, int32_t *place, uint8_t *leg)
{
	size_t sz = (size_t)(n ? n : 1);
	int32_t *perm = xcalloc(sz, sizeof *perm), *open = xcalloc(sz, sizeof *open);
	uint8_t *used = xcalloc(2 * sz, 1);
	for (int32_t i = 0; i < n; i++)
		perm[i] = i;
	for (int32_t i = n - 1; i > 0; i--) {
		int32_t j = (int32_t)rnd_below(i + 1), x = perm[i];
		perm[i] = perm[j];
		perm[j] = x;
	}
	int32_t n_open = 0, last = -1;
	for (int32_t k = 0; k < n; k++) {
		int32_t i = perm[k];
		if (n_open == 0 || rnd_below(roots) == 0) {
			place[i] = -1;
			leg[i] = 0;
		} else {
			int32_t a = -1, at = -1;
			if (last >= 0 && rnd_below(16) < spill && !(used[2 * last] && used[2 * last + 1])) {
				a = last;
				for (at = 0; open[at] != a; at++)
					;
			} else {
				at = (int32_t)rnd_below(n_open);
				a = open[at];
			}
			int g = used[2 * a] ? 1 : used[2 * a + 1] ? 0 : (int)rnd_below(2);
			used[2 * a + g] = 1;
			place[i] = a;
			leg[i] = (uint8_t)g;
			if (used[2 * a] && used[2 * a + 1])
				open[at] = open[--n_open];
		}
		open[n_open++] = i;
		last = i;
	}
	free(perm);
	free(open);
	free(used);
}

#endif
