/*
 * test_yamltree.c - the YAML tree: positions, scalar styles, nulls, and
 * every input it must refuse (with the exact FILE:LINE:COLUMN message).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "yamltree.h"

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup_tmpdir(void **state)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_yamltree.XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Path of `name` inside the test's temp folder (static buffer). */
static const char *tmp_path(const char *name)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	return path;
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static yt_node *load(const char *text, pd_err *err)
{
	return yt_load_buf("t.yaml", text, strlen(text), err);
}

static void assert_refused(const char *text, const char *want)
{
	pd_err err = { { 0 } };
	yt_node *n = load(text, &err);
	if (n)
		fail_msg("accepted: %s", text);
	assert_string_equal(err.msg, want);
}

/* Refused with a message that starts with `prefix` (position) and contains `part`. */
static void assert_refused_like(const char *text, const char *prefix, const char *part)
{
	pd_err err = { { 0 } };
	yt_node *n = load(text, &err);
	if (n)
		fail_msg("accepted: %s", text);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, part))
		fail_msg("message \"%s\" lacks \"%s\"...\"%s\"", err.msg, prefix, part);
}

static void assert_at(const yt_node *n, yt_kind kind, int line, int col)
{
	assert_non_null(n);
	assert_int_equal(n->kind, kind);
	assert_int_equal(n->line, line);
	assert_int_equal(n->col, col);
}

static void assert_scalar(const yt_node *n, const char *str, int line, int col)
{
	assert_at(n, YT_SCALAR, line, col);
	assert_string_equal(n->str, str);
	assert_int_equal(n->len, strlen(str));
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail)
{
	size_t lh = strlen(head), lu = strlen(unit), lt = strlen(tail);
	char *s = malloc(lh + lu * times + lt + 1);
	assert_non_null(s);
	memcpy(s, head, lh);
	for (size_t i = 0; i < times; i++)
		memcpy(s + lh + i * lu, unit, lu);
	memcpy(s + lh + lu * times, tail, lt + 1);
	return s;
}

static void test_nested_block(void **state)
{
	pd_err err = { { 0 } };
	yt_node *root = load("plan: demo\n"
			     "ranks:\n"
			     "  - name: bronze\n"
			     "    min:\n"
			     "      pv: 100\n"
			     "  - name: silver\n"
			     "levels: [a, b]\n",
			     &err);
	assert_at(root, YT_MAP, 1, 1);
	assert_int_equal(root->n, 3);
	assert_scalar(root->keys[0], "plan", 1, 1);
	assert_scalar(yt_get(root, "plan"), "demo", 1, 7);

	const yt_node *ranks = yt_get(root, "ranks");
	assert_at(ranks, YT_SEQ, 3, 3);
	assert_int_equal(ranks->n, 2);
	assert_null(ranks->keys);
	assert_at(ranks->vals[0], YT_MAP, 3, 5);
	assert_scalar(yt_get(ranks->vals[0], "name"), "bronze", 3, 11);
	const yt_node *min = yt_get(ranks->vals[0], "min");
	assert_at(min, YT_MAP, 5, 7);
	assert_scalar(min->keys[0], "pv", 5, 7);
	assert_scalar(yt_get(min, "pv"), "100", 5, 11);
	assert_scalar(yt_get(ranks->vals[1], "name"), "silver", 6, 11);

	const yt_node *levels = yt_get(root, "levels");
	assert_at(levels, YT_SEQ, 7, 9);
	assert_scalar(levels->vals[0], "a", 7, 10);
	assert_scalar(levels->vals[1], "b", 7, 13);
	yt_free(root);
}

static void test_flow(void **state)
{
	pd_err err = { { 0 } };
	yt_node *root = load("bonus: { pv: 100, gv: 1000 }\nrates: [0.05, 0.04]\n", &err);
	const yt_node *bonus = yt_get(root, "bonus");
	assert_at(bonus, YT_MAP, 1, 8);
	assert_int_equal(bonus->n, 2);
	assert_scalar(bonus->keys[1], "gv", 1, 19);
	assert_scalar(yt_get(bonus, "pv"), "100", 1, 14);
	assert_scalar(yt_get(bonus, "gv"), "1000", 1, 23);
	const yt_node *rates = yt_get(root, "rates");
	assert_at(rates, YT_SEQ, 2, 8);
	assert_int_equal(rates->n, 2);
	assert_scalar(rates->vals[0], "0.05", 2, 9);
	assert_scalar(rates->vals[1], "0.04", 2, 15);
	yt_free(root);
}

static void test_get_and_kind_names(void **state)
{
	pd_err err = { { 0 } };
	yt_node *root = load("m: {a: 1}\ns: [a]\nx: y\n", &err);
	assert_non_null(root);
	assert_null(yt_get(root, "missing"));
	assert_null(yt_get(root, "M"));
	assert_null(yt_get(yt_get(root, "s"), "a"));
	assert_null(yt_get(yt_get(root, "x"), "y"));
	assert_null(yt_get(NULL, "a"));
	assert_string_equal(yt_kind_name(yt_get(root, "m")), "mapping");
	assert_string_equal(yt_kind_name(yt_get(root, "s")), "sequence");
	assert_string_equal(yt_kind_name(yt_get(root, "x")), "scalar");
	yt_free(root);
	yt_free(NULL);
}

static void test_quoted_and_plain(void **state)
{
	pd_err err = { { 0 } };
	yt_node *root = load("a: \"null\"\n"
			     "b: null\n"
			     "c: 'it''s'\n"
			     "d: |\n"
			     "  text\n"
			     "  more\n"
			     "e: \"tab\\there\"\n"
			     "f: plain words\n",
			     &err);
	assert_non_null(root);
	const yt_node *a = yt_get(root, "a"), *b = yt_get(root, "b"), *c = yt_get(root, "c");
	const yt_node *d = yt_get(root, "d"), *e = yt_get(root, "e"), *f = yt_get(root, "f");
	assert_scalar(a, "null", 1, 4);
	assert_false(a->plain);
	assert_true(b->plain);
	assert_scalar(c, "it's", 3, 4);
	assert_false(c->plain);
	assert_scalar(d, "text\nmore\n", 4, 4);
	assert_false(d->plain);
	assert_scalar(e, "tab\there", 7, 4);
	assert_false(e->plain);
	assert_scalar(f, "plain words", 8, 4);
	assert_true(f->plain);
	yt_free(root);
}

static void test_null_detection(void **state)
{
	pd_err err = { { 0 } };
	yt_node *root = load("a:\nb: ~\nc: null\nd: Null\ne: NULL\n"
			     "f: nUll\ng: \"~\"\nh: ''\ni: 0\nj: [ ]\n",
			     &err);
	assert_non_null(root);
	const char *nulls[] = { "a", "b", "c", "d", "e" };
	for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
		assert_true(yt_is_null(yt_get(root, nulls[i])));
	const char *values[] = { "f", "g", "h", "i", "j" };
	for (size_t i = 0; i < sizeof values / sizeof *values; i++)
		assert_false(yt_is_null(yt_get(root, values[i])));
	assert_false(yt_is_null(root));
	assert_false(yt_is_null(NULL));
	yt_free(root);
}

static void test_empty_documents(void **state)
{
	const char *empties[] = { "", "\n\n", "# only a comment\n", "---\n", "--- ~\n" };
	for (size_t i = 0; i < sizeof empties / sizeof *empties; i++) {
		pd_err err = { { 0 } };
		yt_node *root = load(empties[i], &err);
		assert_at(root, YT_MAP, 1, 1);
		assert_int_equal(root->n, 0);
		yt_free(root);
	}
	pd_err err = { { 0 } };
	yt_node *root = yt_load_buf("t.yaml", NULL, 0, &err);
	assert_at(root, YT_MAP, 1, 1);
	yt_free(root);

	/* A quoted empty string is a value, not an empty document. */
	root = load("\"\"", &err);
	assert_scalar(root, "", 1, 1);
	yt_free(root);

	const char *path = tmp_path("empty.yaml");
	write_file(path, "", 0);
	root = yt_load_file(path, &err);
	assert_at(root, YT_MAP, 1, 1);
	assert_int_equal(root->n, 0);
	yt_free(root);
}

static void test_anchors_and_aliases(void **state)
{
	assert_refused("a: &x 1\n", "t.yaml:1:4: anchors and aliases are not allowed");
	assert_refused("base: &b {x: 1}\n", "t.yaml:1:7: anchors and aliases are not allowed");
	assert_refused("l: &l [1]\n", "t.yaml:1:4: anchors and aliases are not allowed");
	assert_refused("a: 1\nb: *x\n", "t.yaml:2:4: anchors and aliases are not allowed");
}

static void test_alias_bomb(void **state)
{
	/* "Billion laughs": nine levels of nine aliases each. */
	static const char bomb[] =
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
		"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_refused(bomb, "t.yaml:1:4: anchors and aliases are not allowed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs < 0.5);
}

static void test_tags(void **state)
{
	assert_refused("a: !!str x\n", "t.yaml:1:4: tags are not allowed (\"tag:yaml.org,2002:str\")");
	assert_refused("!custom x\n", "t.yaml:1:1: tags are not allowed (\"!custom\")");
	assert_refused("a: ! x\n", "t.yaml:1:4: tags are not allowed (\"!\")");
	assert_refused_like("a: !!map {}\n", "t.yaml:1:4: ", "tags are not allowed");
	assert_refused_like("a:\n  - !!seq []\n", "t.yaml:2:5: ", "tags are not allowed");
}

static void test_two_documents(void **state)
{
	assert_refused("a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one document (only one is allowed)");
	assert_refused("--- a\n--- b\n", "t.yaml:2:1: more than one document (only one is allowed)");
	/* One explicit document is fine. */
	pd_err err = { { 0 } };
	yt_node *root = load("---\na: 1\n...\n", &err);
	assert_scalar(yt_get(root, "a"), "1", 2, 4);
	yt_free(root);
}

static void test_depth(void **state)
{
	pd_err err = { { 0 } };
	char *ok = repeat("", "[", YT_MAX_DEPTH, "");
	char *closed = repeat(ok, "]", YT_MAX_DEPTH, "");
	yt_node *root = load(closed, &err);
	assert_at(root, YT_SEQ, 1, 1);
	yt_free(root);
	free(ok);
	free(closed);

	char *deep = repeat("", "[", 40, "");
	assert_refused(deep, "t.yaml:1:33: nested deeper than 32 levels");
	free(deep);

	/* Block style counts the same way. */
	char *block = malloc(64 * 64);
	assert_non_null(block);
	block[0] = '\0';
	for (int i = 0; i <= YT_MAX_DEPTH; i++)
		snprintf(block + strlen(block), 64, "%*sk:\n", i, "");
	assert_refused(block, "t.yaml:33:33: nested deeper than 32 levels");
	free(block);
}

static void test_scalar_limit(void **state)
{
	pd_err err = { { 0 } };
	char *ok = repeat("k: ", "a", YT_MAX_SCALAR, "\n");
	yt_node *root = load(ok, &err);
	assert_non_null(root);
	assert_int_equal(yt_get(root, "k")->len, YT_MAX_SCALAR);
	yt_free(root);
	free(ok);

	char *plain = repeat("k: ", "a", YT_MAX_SCALAR + 1, "\n");
	assert_refused(plain, "t.yaml:1:4: value is longer than 65536 bytes");
	free(plain);
	char *quoted = repeat("k: [\"", "b", YT_MAX_SCALAR + 1, "\"]\n");
	assert_refused(quoted, "t.yaml:1:5: value is longer than 65536 bytes");
	free(quoted);
	char *key = repeat("", "c", YT_MAX_SCALAR + 1, ": 1\n");
	assert_refused(key, "t.yaml:1:1: value is longer than 65536 bytes");
	free(key);
}

static void test_node_limit(void **state)
{
	/* One sequence + N-1 items is exactly N nodes. */
	pd_err err = { { 0 } };
	char *ok = repeat("[", "1,", YT_MAX_NODES - 1, "]");
	yt_node *root = load(ok, &err);
	assert_non_null(root);
	assert_int_equal(root->n, YT_MAX_NODES - 1);
	yt_free(root);
	free(ok);

	/* The one node too many is item 200000, at column 2 + 2 * 199999. */
	char *over = repeat("[", "1,", YT_MAX_NODES, "]");
	assert_refused(over, "t.yaml:1:400000: more than 200000 nodes");
	free(over);
}

static void test_duplicate_keys(void **state)
{
	assert_refused("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key \"a\" (first at line 1)");
	assert_refused("x:\n  k: 1\n  j: 2\n  k: 3\n", "t.yaml:4:3: duplicate key \"k\" (first at line 2)");
	assert_refused("a: 1\n\"a\": 2\n", "t.yaml:2:1: duplicate key \"a\" (first at line 1)");
	assert_refused("m: {pv: 1, gv: 2, pv: 3}\n", "t.yaml:1:19: duplicate key \"pv\" (first at line 1)");
	/* The earliest repeat is reported, whatever the keys' order. */
	assert_refused("b: 1\nb: 2\na: 1\na: 2\n", "t.yaml:2:1: duplicate key \"b\" (first at line 1)");
	assert_refused("z: 1\nz: 2\nz: 3\n", "t.yaml:2:1: duplicate key \"z\" (first at line 1)");

	/* The same key in different mappings is fine. */
	pd_err err = { { 0 } };
	yt_node *root = load("a: {k: 1}\nb: {k: 2}\nc: [{k: 1}, {k: 2}]\n", &err);
	assert_non_null(root);
	yt_free(root);
}

static void test_non_scalar_keys(void **state)
{
	assert_refused("? [a]\n: 1", "t.yaml:1:3: mapping keys must be scalars");
	assert_refused("? {a: 1}\n: 2\n", "t.yaml:1:3: mapping keys must be scalars");
	assert_refused("{[a]: 1}\n", "t.yaml:1:2: mapping keys must be scalars");
	assert_refused("ok: 1\n? - a\n: 2\n", "t.yaml:2:3: mapping keys must be scalars");
}

static void test_syntax_errors(void **state)
{
	assert_refused_like("a: 1\nb: [1, 2\n", "t.yaml:3:1: ", "did not find expected ',' or ']'");
	assert_refused_like("a:\n  b: 1\n c: 2\n", "t.yaml:3:2: ", "did not find expected key");
	assert_refused_like("a: \"open\n", "t.yaml:2:1: ", "found unexpected end of stream");
	/* Reader errors come as an offset; the position is still right. */
	assert_refused("a: 1\nb: \xff\n", "t.yaml:2:4: invalid leading UTF-8 octet");
	assert_refused("a: \x01\n", "t.yaml:1:4: control characters are not allowed");
}

static void test_buffer_too_big(void **state)
{
	pd_err err = { { 0 } };
	char *big = calloc(YT_MAX_BYTES + 1, 1);
	assert_non_null(big);
	memset(big, '#', YT_MAX_BYTES + 1);
	assert_null(yt_load_buf("t.yaml", big, YT_MAX_BYTES + 1, &err));
	assert_string_equal(err.msg, "t.yaml:1:1: file is larger than 1048576 bytes");
	free(big);
}

static void test_load_file(void **state)
{
	pd_err err = { { 0 } };
	const char *path = tmp_path("plan.yaml");
	write_file(path, "rates: [0.05, 0.04]\n", 20);
	yt_node *root = yt_load_file(path, &err);
	assert_at(yt_get(root, "rates"), YT_SEQ, 1, 8);
	yt_free(root);

	/* Messages name the file. */
	write_file(path, "a: 1\na: 2\n", 10);
	assert_null(yt_load_file(path, &err));
	char want[600];
	snprintf(want, sizeof want, "%s:2:1: duplicate key \"a\" (first at line 1)", path);
	assert_string_equal(err.msg, want);
}

static void test_file_size_limit(void **state)
{
	pd_err err = { { 0 } };
	char *data = malloc(YT_MAX_BYTES + 1);
	assert_non_null(data);
	/* Exactly the limit (a comment line) loads. */
	memset(data, 'x', YT_MAX_BYTES + 1);
	data[0] = '#';
	data[YT_MAX_BYTES - 1] = '\n';
	const char *path = tmp_path("limit.yaml");
	write_file(path, data, YT_MAX_BYTES);
	yt_node *root = yt_load_file(path, &err);
	assert_at(root, YT_MAP, 1, 1);
	yt_free(root);

	path = tmp_path("big.yaml");
	write_file(path, data, YT_MAX_BYTES + 1);
	assert_null(yt_load_file(path, &err));
	char want[600];
	snprintf(want, sizeof want, "%s:1:1: file is larger than 1048576 bytes", path);
	assert_string_equal(err.msg, want);
	free(data);
}

static void test_not_regular_files(void **state)
{
	pd_err err = { { 0 } };
	char want[600], target[512];
	snprintf(target, sizeof target, "%s", tmp_path("target.yaml"));
	write_file(target, "a: 1\n", 5);

	const char *link = tmp_path("link.yaml");
	assert_int_equal(symlink(target, link), 0);
	assert_null(yt_load_file(link, &err));
	snprintf(want, sizeof want, "%s:1:1: is a symbolic link (not followed)", link);
	assert_string_equal(err.msg, want);

	const char *dir = tmp_path("dir.yaml");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_null(yt_load_file(dir, &err));
	snprintf(want, sizeof want, "%s:1:1: not a regular file", dir);
	assert_string_equal(err.msg, want);

	/* A FIFO with no writer must be refused, not block the open. */
	const char *fifo = tmp_path("fifo.yaml");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(yt_load_file(fifo, &err));
	snprintf(want, sizeof want, "%s:1:1: not a regular file", fifo);
	assert_string_equal(err.msg, want);

	const char *missing = tmp_path("missing.yaml");
	assert_null(yt_load_file(missing, &err));
	snprintf(want, sizeof want, "%s:1:1: cannot open: %s", missing, strerror(ENOENT));
	assert_string_equal(err.msg, want);
}

static void test_suggest(void **state)
{
	const char *keys[] = { "commission", "rank", "pv", "gv", "levels", "qualification" };
	size_t n = sizeof keys / sizeof *keys;
	assert_string_equal(yt_suggest("comission", keys, n), "commission");
	assert_null(yt_suggest("xyz", keys, n));
	assert_string_equal(yt_suggest("levls", keys, n), "levels");
	assert_string_equal(yt_suggest("Rank", keys, n), "rank");
	assert_string_equal(yt_suggest("pv", keys, n), "pv");
	/* Ties go to the first candidate. */
	assert_string_equal(yt_suggest("xv", keys, n), "pv");
	/* Long words allow a third of their length... */
	assert_string_equal(yt_suggest("qualifikatoin", keys, n), "qualification");
	/* ...but no more. */
	assert_null(yt_suggest("qualifying", keys, n));
	assert_null(yt_suggest("payout", keys, n));
	assert_null(yt_suggest("commission", keys, 0));
	char *huge = repeat("", "a", 200, "");
	assert_null(yt_suggest(huge, keys, n));
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_block),
		cmocka_unit_test(test_flow),
		cmocka_unit_test(test_get_and_kind_names),
		cmocka_unit_test(test_quoted_and_plain),
		cmocka_unit_test(test_null_detection),
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_anchors_and_aliases),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_scalar_limit),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_non_scalar_keys),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_buffer_too_big),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_file_size_limit),
		cmocka_unit_test(test_not_regular_files),
		cmocka_unit_test(test_suggest),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
