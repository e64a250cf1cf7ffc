/*
 * gen_sales - writes a sales CSV of N rows (and optionally the matching
 * distributors file) for benchmarks and the kill -9 test. Deterministic for
 * a given seed; sale ids are unique; amounts are exact two-decimal strings.
 *
 *   gen_sales ROWS DISTRIBUTORS [SEED] > sales.csv
 *   gen_sales --distributors DISTRIBUTORS > distributors.csv
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "splitmix.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
	return splitmix64(&rng_state);
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	setvbuf(stdout, buf, _IOFBF, sizeof buf);
	if (argc >= 3 && strcmp(argv[1], "--distributors") == 0) {
		long n = atol(argv[2]);
		rng_state = 7;
		printf("distributor_id,sponsor_id,name,join_date,country,iban\n");
		for (long i = 0; i < n; i++) {
			/* a sponsor always has a smaller index: a valid tree in file order */
			long sponsor = i == 0 ? -1 : (long)(rng() % (uint64_t)i);
			if (sponsor < 0)
				printf("D%07ld,,Distributor %ld,2026-01-%02ld,DE,DE%020ld\n", i, i, 1 + i % 28, i);
			else
				printf("D%07ld,D%07ld,Distributor %ld,2026-01-%02ld,DE,DE%020ld\n", i, sponsor, i,
				       1 + i % 28, i);
		}
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: gen_sales ROWS DISTRIBUTORS [SEED]\n       gen_sales --distributors N\n");
		return 2;
	}
	long rows = atol(argv[1]), dists = atol(argv[2]);
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	if (dists < 1)
		dists = 1;
	printf("sale_id,distributor_id,date,amount,sku,quantity\n");
	for (long i = 0; i < rows; i++) {
		uint64_t r = rng();
		long d = (long)(r % (uint64_t)dists);
		unsigned day = 1 + (unsigned)((r >> 32) % 28);
		unsigned cents = 500 + (unsigned)((r >> 40) % 20000);
		printf("S%09ld,D%07ld,2026-11-%02u,%u.%02u,SKU%u,%u\n", i, d, day, cents / 100, cents % 100,
		       (unsigned)((r >> 16) % 50), 1 + (unsigned)((r >> 24) % 3));
	}
	return 0;
}
