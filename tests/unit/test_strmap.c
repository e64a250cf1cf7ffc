/*
 * test_strmap.c - the string -> int64 map: inline and arena keys, growth
 * through many resizes, clear and reuse, keys that differ only at the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

/* Puts key with value v; asserts whether it was new. */
static void put(strmap *m, const char *key, size_t len, int64_t v, int want_created)
{
	int created = -1;
	int64_t *p = strmap_put(m, key, len, &created);
	assert_non_null(p);
	assert_int_equal(created, want_created);
	*p = v;
}

static void assert_value(const strmap *m, const char *key, size_t len, int64_t want)
{
	int64_t *p = strmap_get(m, key, len);
	if (!p)
		fail_msg("key of length %zu is missing", len);
	assert_int_equal(*p, want);
}

static void test_put_get(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	assert_int_equal(strmap_count(m), 0);
	assert_null(strmap_get(m, "a", 1));

	put(m, "D-1001", 6, 42, 1);
	put(m, "D-1002", 6, -7, 1);
	assert_int_equal(strmap_count(m), 2);
	assert_value(m, "D-1001", 6, 42);
	assert_value(m, "D-1002", 6, -7);
	assert_null(strmap_get(m, "D-1003", 6));

	/* A second put finds the same slot, keeps the value, does not count. */
	int created = -1;
	int64_t *p = strmap_put(m, "D-1001", 6, &created);
	assert_int_equal(created, 0);
	assert_int_equal(*p, 42);
	*p += 1;
	assert_value(m, "D-1001", 6, 43);
	assert_int_equal(strmap_count(m), 2);

	/* A new key starts at 0; created may be NULL. */
	p = strmap_put(m, "fresh", 5, NULL);
	assert_int_equal(*p, 0);
	assert_int_equal(strmap_count(m), 3);

	/* The length is part of the key: a prefix is another key. */
	assert_null(strmap_get(m, "D-100", 5));
	assert_null(strmap_get(m, "D-10011", 7));
	assert_value(m, "D-10011", 6, 43);

	/* The empty key is a key like any other. */
	assert_null(strmap_get(m, "", 0));
	put(m, "", 0, 99, 1);
	assert_value(m, "", 0, 99);
	assert_value(m, "x", 0, 99);
	assert_int_equal(strmap_count(m), 4);

	/* The map copies keys: changing the caller's buffer changes nothing. */
	char buf[8] = "abc";
	put(m, buf, 3, 5, 1);
	buf[0] = 'z';
	assert_value(m, "abc", 3, 5);
	assert_null(strmap_get(m, buf, 3));

	strmap_free(m);
	strmap_free(NULL);
}

/* Keys around the inline limit (20 bytes) and well beyond it (arena). */
static void test_long_keys(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	char key[200];
	for (size_t len = 1; len < sizeof key; len++) {
		for (size_t i = 0; i < len; i++)
			key[i] = (char)('a' + (i * 7 + len) % 26);
		put(m, key, len, (int64_t)len * 1000, 1);
	}
	assert_int_equal(strmap_count(m), sizeof key - 1);
	for (size_t len = 1; len < sizeof key; len++) {
		for (size_t i = 0; i < len; i++)
			key[i] = (char)('a' + (i * 7 + len) % 26);
		assert_value(m, key, len, (int64_t)len * 1000);
		/* the same bytes one shorter are the other (len - 1) key or nothing */
		int64_t *p = strmap_get(m, key, len - 1);
		if (p)
			assert_int_not_equal(*p, (int64_t)len * 1000);
	}

	/* Keys of exactly 20, 21 and 22 bytes sharing a 20-byte prefix. */
	const char *k20 = "ABCDEFGHIJKLMNOPQRST";
	const char *k21 = "ABCDEFGHIJKLMNOPQRSTU";
	const char *k22 = "ABCDEFGHIJKLMNOPQRSTUV";
	put(m, k20, 20, 20, 1);
	put(m, k21, 21, 21, 1);
	put(m, k22, 22, 22, 1);
	assert_value(m, k20, 20, 20);
	assert_value(m, k21, 21, 21);
	assert_value(m, k22, 22, 22);

	/* A key larger than an arena chunk (64 KiB) gets its own chunk. */
	size_t big = 200000;
	char *huge = malloc(big);
	assert_non_null(huge);
	for (size_t i = 0; i < big; i++)
		huge[i] = (char)('0' + i % 10);
	put(m, huge, big, 123456789, 1);
	put(m, huge, big - 1, 2, 1);
	assert_value(m, huge, big, 123456789);
	assert_value(m, huge, big - 1, 2);
	huge[big - 1] = 'x';
	assert_null(strmap_get(m, huge, big));
	free(huge);

	/* Long keys inserted after the huge one still land in a usable chunk. */
	put(m, "a key that is longer than twenty bytes", 38, 38, 1);
	assert_value(m, "a key that is longer than twenty bytes", 38, 38);
	assert_value(m, k22, 22, 22);
	strmap_free(m);
}

static void make_key(char *buf, size_t cap, size_t i, int longform)
{
	if (longform)
		snprintf(buf, cap, "distributor-with-a-long-id-%08zu", i);
	else
		snprintf(buf, cap, "D%zu", i);
}

/* 100k keys: many resizes from the initial 64 slots; every value survives. */
static void test_growth(void **state)
{
	(void)state;
	enum { N = 100000 };
	strmap *m = strmap_new();
	char key[64];
	for (size_t i = 0; i < N; i++) {
		make_key(key, sizeof key, i, (int)(i & 1));
		put(m, key, strlen(key), (int64_t)i * 3 - 5, 1);
		assert_int_equal(strmap_count(m), i + 1);
	}
	for (size_t i = 0; i < N; i++) {
		make_key(key, sizeof key, i, (int)(i & 1));
		assert_value(m, key, strlen(key), (int64_t)i * 3 - 5);
		/* the other form of the same number is absent */
		make_key(key, sizeof key, i, (int)!(i & 1));
		assert_null(strmap_get(m, key, strlen(key)));
	}
	/* Re-putting every key creates nothing. */
	for (size_t i = 0; i < N; i += 97) {
		make_key(key, sizeof key, i, (int)(i & 1));
		int created = -1;
		int64_t *p = strmap_put(m, key, strlen(key), &created);
		assert_int_equal(created, 0);
		assert_int_equal(*p, (int64_t)i * 3 - 5);
	}
	assert_int_equal(strmap_count(m), N);
	strmap_free(m);
}

static void test_clear(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	char key[64];
	for (size_t i = 0; i < 5000; i++) {
		make_key(key, sizeof key, i, 1);
		put(m, key, strlen(key), (int64_t)i, 1);
	}
	strmap_clear(m);
	assert_int_equal(strmap_count(m), 0);
	for (size_t i = 0; i < 5000; i += 13) {
		make_key(key, sizeof key, i, 1);
		assert_null(strmap_get(m, key, strlen(key)));
	}
	/* Reuse after clear: inline and arena keys both work again. */
	for (size_t i = 0; i < 3000; i++) {
		make_key(key, sizeof key, i, (int)(i % 3 == 0));
		put(m, key, strlen(key), (int64_t)i + 1, 1);
	}
	assert_int_equal(strmap_count(m), 3000);
	for (size_t i = 0; i < 3000; i++) {
		make_key(key, sizeof key, i, (int)(i % 3 == 0));
		assert_value(m, key, strlen(key), (int64_t)i + 1);
	}
	/* Clearing an empty map, twice, is harmless. */
	strmap_clear(m);
	strmap_clear(m);
	assert_int_equal(strmap_count(m), 0);
	put(m, "after", 5, 1, 1);
	assert_value(m, "after", 5, 1);
	strmap_free(m);
}

/* Keys that differ only in their last byte, at every length 1..64. */
static void test_last_byte(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	char key[64];
	memset(key, 'k', sizeof key);
	for (size_t len = 1; len <= sizeof key; len++)
		for (int b = 1; b < 256; b += 5) {
			key[len - 1] = (char)b;
			put(m, key, len, (int64_t)(len * 1000 + (size_t)b), 1);
			key[len - 1] = 'k';
		}
	for (size_t len = 1; len <= sizeof key; len++)
		for (int b = 1; b < 256; b += 5) {
			key[len - 1] = (char)b;
			assert_value(m, key, len, (int64_t)(len * 1000 + (size_t)b));
			key[len - 1] = (char)(b + 1);
			assert_null(strmap_get(m, key, len));
			key[len - 1] = 'k';
		}
	strmap_free(m);
}

/* Bytes 0x01..0xFF anywhere in a key, including high bytes and control characters. */
static void test_binary_keys(void **state)
{
	(void)state;
	strmap *m = strmap_new();
	unsigned char key[40];
	uint32_t x = 2463534242u;
	for (int i = 0; i < 20000; i++) {
		size_t len = 1 + (size_t)i % sizeof key;
		for (size_t k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			key[k] = (unsigned char)(1 + x % 255);
		}
		int created = -1;
		int64_t *p = strmap_put(m, (const char *)key, len, &created);
		if (created)
			*p = i;
	}
	size_t n = strmap_count(m);
	assert_true(n > 19000); /* random 40-bit+ keys barely collide; 1-byte keys do */
	/* Replay the same sequence: every key is found. */
	x = 2463534242u;
	size_t found = 0;
	for (int i = 0; i < 20000; i++) {
		size_t len = 1 + (size_t)i % sizeof key;
		for (size_t k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			key[k] = (unsigned char)(1 + x % 255);
		}
		int64_t *p = strmap_get(m, (const char *)key, len);
		assert_non_null(p);
		assert_true(*p <= i);
		found += *p == i;
	}
	assert_int_equal(found, n);

	/* UTF-8 and Latin-1 spellings of the same name are different keys. */
	put(m, "M\xC3\xBCller", 7, 1, 1);
	put(m, "M\xFCller", 6, 2, 1);
	assert_value(m, "M\xC3\xBCller", 7, 1);
	assert_value(m, "M\xFCller", 6, 2);
	strmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),
		cmocka_unit_test(test_long_keys),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_last_byte),
		cmocka_unit_test(test_binary_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
