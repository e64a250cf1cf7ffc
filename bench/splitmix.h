/*
 * splitmix.h - the benchmarks' random numbers: splitmix64, fast and
 * deterministic for a given seed, so a benchmark's data is the same on every
 * run and machine. Not for anything that must be unpredictable.
 */
#ifndef PAYOUTD_BENCH_SPLITMIX_H
#define PAYOUTD_BENCH_SPLITMIX_H

#include <stdint.h>

static inline uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

#endif
