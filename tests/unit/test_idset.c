/*
 * test_idset.c - the id set: numbering in order of addition, keys that
 * differ only at the end or in length, growth through many resizes, and the
 * batched lookup (hash, prefetch, find_hashed) agreeing with idset_find for
 * members and non-members alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "idset.h"

static void test_numbering(void **state)
{
	(void)state;
	idset *s = idset_new();
	int created = -1;
	assert_int_equal(idset_put(s, "D2", 2, &created), 0);
	assert_int_equal(created, 1);
	assert_int_equal(idset_put(s, "D1", 2, &created), 1);
	assert_int_equal(created, 1);
	assert_int_equal(idset_put(s, "D2", 2, &created), 0); /* present: its number, not created */
	assert_int_equal(created, 0);
	assert_int_equal(idset_put(s, "D", 1, &created), 2); /* a prefix is another key */
	assert_int_equal(idset_put(s, "", 0, &created), 3);
	assert_int_equal(idset_count(s), 4);
	assert_int_equal(idset_find(s, "D1", 2), 1);
	assert_int_equal(idset_find(s, "D", 1), 2);
	assert_int_equal(idset_find(s, "", 0), 3);
	assert_true(idset_find(s, "D3", 2) == SIZE_MAX);
	assert_true(idset_find(s, "D12", 3) == SIZE_MAX);
	idset_free(s);
}

/* 200,000 keys (many resizes), looked up both ways, with absent keys mixed in */
static void test_batched_lookup_agrees(void **state)
{
	(void)state;
	idset *s = idset_new();
	char key[32];
	enum { N = 200000 };
	for (int k = 0; k < N; k++) {
		int len = snprintf(key, sizeof key, "DIST-%07d", k * 3); /* multiples of 3 are members */
		assert_int_equal(idset_put(s, key, (size_t)len, NULL), (size_t)k);
	}
	assert_int_equal(idset_count(s), N);
	size_t found = 0, absent = 0;
	for (int k = 0; k < 3 * N; k += 64) {
		uint64_t h[64];
		int len[64];
		char keys[64][32];
		for (int b = 0; b < 64; b++) {
			len[b] = snprintf(keys[b], sizeof keys[b], "DIST-%07d", k + b);
			h[b] = idset_hash(keys[b], (size_t)len[b]);
			idset_prefetch_slot(s, h[b]);
		}
		for (int b = 0; b < 64; b++)
			idset_prefetch_entry(s, h[b]);
		for (int b = 0; b < 64; b++) {
			size_t got = idset_find_hashed(s, keys[b], (size_t)len[b], h[b]);
			assert_true(got == idset_find(s, keys[b], (size_t)len[b]));
			if ((k + b) % 3 == 0) {
				assert_int_equal(got, (size_t)((k + b) / 3));
				found++;
			} else {
				assert_true(got == SIZE_MAX);
				absent++;
			}
		}
	}
	assert_int_equal(found, N);
	assert_int_equal(absent, 2 * N);
	idset_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbering),
		cmocka_unit_test(test_batched_lookup_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
