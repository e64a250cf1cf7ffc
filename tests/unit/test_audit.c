/*
 * test_audit.c - the hash-chained audit log: line format, a fixed vector, and
 * every kind of tampering (edit, drop, swap, truncate, append, case, reorder)
 * caught at the line where it first shows.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "audit.h"

#define NLINES 5

/* ---- helpers ---------------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, f);
	int n = vasprintf(&s, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

static char *temp_path(void)
{
	const char *dir = getenv("TMPDIR");
	char *path = fmt("%s/test_audit.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return path;
}

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Writes lines[order[i]] + '\n' for each i; newline_last = 0 leaves the last line bare. */
static void write_lines(const char *path, char **lines, const int *order, int n, int newline_last)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (int i = 0; i < n; i++) {
		fputs(lines[order[i]], f);
		if (i < n - 1 || newline_last)
			fputc('\n', f);
	}
	assert_int_equal(fclose(f), 0);
}

static const int in_order[NLINES] = { 0, 1, 2, 3, 4 };

/* Builds a 5-line chain with a few kinds of members; lines[i] is seq i + 1. */
static void make_chain(char **lines, char hashes[NLINES][AUDIT_HASH_HEX + 1])
{
	static const char *const events[NLINES] = { "started", "plan_loaded", "file_booked",
						     "file_rejected", "stopped" };
	const char *prev = audit_zero_hash;
	pd_err err = { { 0 } };

	for (int i = 0; i < NLINES; i++) {
		json_t *m = json_object();
		json_object_set_new(m, "name", json_string("sales-2026-11.csv"));
		json_object_set_new(m, "rows", json_integer(1000 + i));
		json_object_set_new(m, "amount", json_string("1234.50"));
		json_object_set_new(m, "ok", json_true());
		json_t *arr = json_array();
		json_array_append_new(arr, json_string("a"));
		json_array_append_new(arr, json_null());
		json_object_set_new(m, "list", arr);
		char tm[32];
		snprintf(tm, sizeof tm, "2026-11-30T03:14:5%dZ", i);
		int rc = audit_make_line(i + 1, tm, events[i], m, prev, &lines[i], hashes[i], &err);
		json_decref(m);
		assert_int_equal(rc, 0);
		prev = hashes[i];
	}
}

static void free_chain(char **lines)
{
	for (int i = 0; i < NLINES; i++)
		free(lines[i]);
}

/* Recomputes the trailing hash of a line whose content was edited (a forger would). */
static char *rehash(const char *line)
{
	const char *at = strstr(line, ",\"hash\":\"");
	assert_non_null(at);
	size_t body = (size_t)(at - line);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	assert_int_equal(EVP_Digest(line, body, md, &mdlen, EVP_sha256(), NULL), 1);
	char hex[AUDIT_HASH_HEX + 1];
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return fmt("%.*s,\"hash\":\"%s\"}", (int)body, line, hex);
}

/* Replaces the first occurrence of from with to in *s (reallocating). */
static void replace(char **s, const char *from, const char *to)
{
	char *at = strstr(*s, from);
	assert_non_null(at);
	char *out = fmt("%.*s%s%s", (int)(at - *s), *s, to, at + strlen(from));
	free(*s);
	*s = out;
}

/* Verifies path, expecting result rc and (when rc == 1) "PATH:LINE: reason". */
static void expect_verify(const char *path, int want_rc, int64_t want_lines, int bad_line,
			  const char *reason)
{
	pd_err err = { { 0 } };
	int64_t n = -1;
	int rc = audit_verify_file(path, &n, &err);
	if (rc != want_rc)
		print_error("verify returned %d: %s\n", rc, err.msg);
	assert_int_equal(rc, want_rc);
	assert_int_equal(n, want_lines);
	if (reason) {
		char *want = fmt("%s:%d: %s", path, bad_line, reason);
		assert_string_equal(err.msg, want);
		free(want);
	}
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_zero_hash(void **state)
{
	assert_int_equal(strlen(audit_zero_hash), AUDIT_HASH_HEX);
	assert_int_equal(strspn(audit_zero_hash, "0"), AUDIT_HASH_HEX);
}

/* Exact bytes of one line; the hash was computed independently:
 *   printf '%s' '{"seq":1,...,"prev":"000...0"' | sha256sum */
static void test_fixed_vector(void **state)
{
	static const char hash[] = "0e6b7783ef653cfa37c36bb77e4dcbee40bfd82d8414a841418bc283491762e7";
	static const char want[] =
		"{\"seq\":1,\"time\":\"2026-11-30T03:14:55Z\",\"event\":\"started\","
		"\"version\":\"0.1.0\",\"pid\":4242,"
		"\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
		"\"hash\":\"0e6b7783ef653cfa37c36bb77e4dcbee40bfd82d8414a841418bc283491762e7\"}";
	json_t *m = json_object();
	json_object_set_new(m, "version", json_string("0.1.0"));
	json_object_set_new(m, "pid", json_integer(4242));
	char *line = NULL;
	char h[AUDIT_HASH_HEX + 1];
	pd_err err = { { 0 } };
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "started", m, audit_zero_hash,
					 &line, h, &err), 0);
	json_decref(m);
	assert_string_equal(line, want);
	assert_string_equal(h, hash);

	char back[AUDIT_HASH_HEX + 1];
	assert_int_equal(audit_check_line(line, strlen(line), 1, audit_zero_hash, back, &err), 0);
	assert_string_equal(back, hash);

	/* prev of line 1 is 64 zeros; anything else is refused with a clear reason. */
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "prev")), audit_zero_hash);
	json_decref(o);
	assert_int_equal(audit_check_line(line, strlen(line), 1, hash, back, &err), -1);
	assert_string_equal(err.msg, "prev of line 1 is not 64 zeros");
	free(line);
}

static void test_no_members(void **state)
{
	char *line = NULL;
	char h[AUDIT_HASH_HEX + 1];
	pd_err err = { { 0 } };
	assert_int_equal(audit_make_line(7, "2026-01-01T00:00:00Z", "stopped", NULL, audit_zero_hash,
					 &line, h, &err), 0);
	assert_non_null(strstr(line, "\"event\":\"stopped\",\"prev\":"));
	assert_int_equal(audit_check_line(line, strlen(line), 7, audit_zero_hash, h, &err), 0);
	assert_int_equal(audit_check_line(line, strlen(line), 6, audit_zero_hash, h, &err), -1);
	assert_string_equal(err.msg, "seq is 7, expected 6");
	free(line);
}

static void test_chain_verifies(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 0, NLINES, 0, NULL);

	/* No spaces anywhere in what we produce, and member order as written. */
	assert_null(strchr(lines[2], ' '));
	assert_non_null(strstr(lines[2], "{\"seq\":3,\"time\":\"2026-11-30T03:14:52Z\","
					 "\"event\":\"file_booked\",\"name\":"));
	assert_non_null(strstr(lines[2], "\"list\":[\"a\",null],\"prev\":\""));
	assert_non_null(strstr(lines[2], hashes[1]));

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_empty_and_missing(void **state)
{
	char *path = temp_path();
	expect_verify(path, 0, 0, 0, NULL);
	unlink(path);

	pd_err err = { { 0 } };
	int64_t n = -1;
	assert_int_equal(audit_verify_file(path, &n, &err), -1);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, strerror(ENOENT)));
	free(path);
}

static void test_edit_value(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	replace(&lines[2], "\"1234.50\"", "\"9234.50\"");
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 2, 3, "hash does not match the line's content");

	/* A forger who also fixes line 3's hash is caught by line 4's prev. */
	char *forged = rehash(lines[2]);
	free(lines[2]);
	lines[2] = forged;
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 3, 4, "prev does not match the hash of line 3");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_drop_line(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	/* Without line 2 the file's line 2 is seq 3: the first bad line is the file's line 2. */
	static const int order[] = { 0, 2, 3, 4 };
	write_lines(path, lines, order, 4, 1);
	expect_verify(path, 1, 1, 2, "seq is 3, expected 2");

	/* Dropping the first line: line 1 is seq 2. */
	static const int order2[] = { 1, 2, 3, 4 };
	write_lines(path, lines, order2, 4, 1);
	expect_verify(path, 1, 0, 1, "seq is 2, expected 1");

	/* Dropping the last line cannot be seen by the chain alone (the ledger keeps the count). */
	write_lines(path, lines, in_order, NLINES - 1, 1);
	expect_verify(path, 0, NLINES - 1, 0, NULL);

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_drop_line_renumbered(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	/* Line 2 dropped and line 3 renumbered to seq 2 with a fresh hash: prev gives it away. */
	replace(&lines[2], "{\"seq\":3,", "{\"seq\":2,");
	char *forged = rehash(lines[2]);
	free(lines[2]);
	lines[2] = forged;
	static const int order[] = { 0, 2 };
	write_lines(path, lines, order, 2, 1);
	expect_verify(path, 1, 1, 2, "prev does not match the hash of line 1");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_swap_lines(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	static const int order[] = { 0, 2, 1, 3, 4 };
	write_lines(path, lines, order, NLINES, 1);
	expect_verify(path, 1, 1, 2, "seq is 3, expected 2");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_truncated_newline(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	write_lines(path, lines, in_order, NLINES, 0);
	expect_verify(path, 1, 4, 5, "line 5 is incomplete (no newline)");

	/* Cut in the middle of the last line (a crash mid-write). */
	lines[4][strlen(lines[4]) / 2] = '\0';
	write_lines(path, lines, in_order, NLINES, 0);
	expect_verify(path, 1, 4, 5, "line 5 is incomplete (no newline)");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_append_garbage(void **state)
{
	char *lines[NLINES + 1];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();
	static const int order6[] = { 0, 1, 2, 3, 4, 5 };

	lines[NLINES] = fmt("garbage");
	write_lines(path, lines, order6, NLINES + 1, 1);
	expect_verify(path, 1, 5, 6, "line does not start with '{'");

	write_lines(path, lines, order6, NLINES + 1, 0);
	expect_verify(path, 1, 5, 6, "line 6 is incomplete (no newline)");

	free(lines[NLINES]);
	lines[NLINES] = fmt("{}");
	write_lines(path, lines, order6, NLINES + 1, 1);
	expect_verify(path, 1, 5, 6, "line does not end with ,\"hash\":\"<64 hex digits>\"}");

	/* An empty line is not skipped. */
	free(lines[NLINES]);
	lines[NLINES] = fmt("%s", "");
	write_lines(path, lines, order6, NLINES + 1, 1);
	expect_verify(path, 1, 5, 6, "empty line");

	/* Garbage glued to the end of the last line. */
	free(lines[NLINES]);
	lines[NLINES] = NULL;
	char *glued = fmt("%s xyz", lines[4]);
	free(lines[4]);
	lines[4] = glued;
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 4, 5, "line does not end with ,\"hash\":\"<64 hex digits>\"}");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_uppercase_hash(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	/* Uppercase the trailing hash of line 4 (the same SHA-256, other spelling). */
	char *h = strstr(lines[3], ",\"hash\":\"") + strlen(",\"hash\":\"");
	for (char *p = h; *p != '"'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 3, 4, "hash is not 64 lowercase hex digits");

	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_reorder_members(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	char *path = temp_path();

	/* Swap time and event in line 2: the hash no longer matches. */
	char *orig = fmt("%s", lines[1]);
	replace(&lines[1], "\"time\":\"2026-11-30T03:14:51Z\",\"event\":\"plan_loaded\"",
		"\"event\":\"plan_loaded\",\"time\":\"2026-11-30T03:14:51Z\"");
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 1, 2, "hash does not match the line's content");

	/* With a recomputed hash the member order itself is refused. */
	char *forged = rehash(lines[1]);
	free(lines[1]);
	lines[1] = forged;
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 1, 2, "member 2 is \"event\", expected \"time\"");

	/* An event member moved after prev. */
	free(lines[1]);
	lines[1] = fmt("%s", orig);
	char *prevpos = strstr(lines[1], ",\"prev\":\"");
	char *hashpos = strstr(lines[1], ",\"hash\":\"");
	char *moved = fmt("%.*s%.*s,\"late\":\"0\"%s", (int)(prevpos - lines[1]), lines[1],
			  (int)(hashpos - prevpos), prevpos, hashpos);
	forged = rehash(moved);
	free(moved);
	free(lines[1]);
	lines[1] = forged;
	write_lines(path, lines, in_order, NLINES, 1);
	expect_verify(path, 1, 1, 2, "member 10 is \"late\", expected \"prev\"");

	free(orig);
	unlink(path);
	free(path);
	free_chain(lines);
}

static void test_check_line_reasons(void **state)
{
	char *lines[NLINES];
	char hashes[NLINES][AUDIT_HASH_HEX + 1];
	make_chain(lines, hashes);
	pd_err err = { { 0 } };
	char h[AUDIT_HASH_HEX + 1];

	for (int i = 0; i < NLINES; i++) {
		const char *prev = i ? hashes[i - 1] : audit_zero_hash;
		assert_int_equal(audit_check_line(lines[i], strlen(lines[i]), i + 1, prev, h, &err), 0);
		assert_string_equal(h, hashes[i]);
	}

	/* Wrong prev for line 5. */
	assert_int_equal(audit_check_line(lines[4], strlen(lines[4]), 5, hashes[2], h, &err), -1);
	assert_string_equal(err.msg, "prev does not match the hash of line 4");

	/* Hash-consistent but not JSON. */
	char *bad = rehash("{\"seq\":1,\"time\":,\"hash\":\"x\"}");
	assert_int_equal(audit_check_line(bad, strlen(bad), 1, audit_zero_hash, h, &err), -1);
	assert_memory_equal(err.msg, "not valid JSON: ", strlen("not valid JSON: "));
	free(bad);

	/* Hash-consistent but a duplicate member. */
	char *dup = fmt("%s", lines[0]);
	replace(&dup, "\"name\":", "\"ok\":false,\"name\":");
	bad = rehash(dup);
	free(dup);
	assert_int_equal(audit_check_line(bad, strlen(bad), 1, audit_zero_hash, h, &err), -1);
	assert_memory_equal(err.msg, "not valid JSON: ", strlen("not valid JSON: "));
	assert_non_null(strstr(err.msg, "duplicate"));
	free(bad);

	/* Hash-consistent with a bad time. */
	char *t = fmt("%s", lines[0]);
	replace(&t, "2026-11-30T03:14:50Z", "2026-11-30 03:14:50");
	bad = rehash(t);
	free(t);
	assert_int_equal(audit_check_line(bad, strlen(bad), 1, audit_zero_hash, h, &err), -1);
	assert_string_equal(err.msg, "time is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
	free(bad);

	/* seq as a string. */
	char *s = fmt("%s", lines[0]);
	replace(&s, "{\"seq\":1,", "{\"seq\":\"1\",");
	bad = rehash(s);
	free(s);
	assert_int_equal(audit_check_line(bad, strlen(bad), 1, audit_zero_hash, h, &err), -1);
	assert_string_equal(err.msg, "seq is not an integer");
	free(bad);

	/* CRLF and embedded NUL. */
	char *crlf = fmt("%s\r", lines[0]);
	assert_int_equal(audit_check_line(crlf, strlen(crlf), 1, audit_zero_hash, h, &err), -1);
	assert_string_equal(err.msg, "line ends with a carriage return (CRLF line endings)");
	free(crlf);
	char *nul = fmt("%s", lines[0]);
	size_t nlen = strlen(nul);
	nul[5] = '\0';
	assert_int_equal(audit_check_line(nul, nlen, 1, audit_zero_hash, h, &err), -1);
	assert_string_equal(err.msg, "line contains a NUL byte");
	free(nul);

	free_chain(lines);
}

static void test_line_too_long(void **state)
{
	size_t big = ((size_t)1 << 20) + 10;
	char *data = malloc(big + 1);
	assert_non_null(data);
	memset(data, 'x', big);
	data[big] = '\n';
	char *path = temp_path();
	write_bytes(path, data, big + 1);
	pd_err err = { { 0 } };
	int64_t n = -1;
	assert_int_equal(audit_verify_file(path, &n, &err), 1);
	assert_int_equal(n, 0);
	char *want = fmt("%s:1: line too long (over 1048576 bytes)", path);
	assert_string_equal(err.msg, want);
	free(want);

	/* A line exactly at the limit is read (and then refused for its content). */
	memset(data, 'x', (size_t)1 << 20);
	data[(size_t)1 << 20] = '\n';
	write_bytes(path, data, ((size_t)1 << 20) + 1);
	assert_int_equal(audit_verify_file(path, &n, &err), 1);
	want = fmt("%s:1: line does not start with '{'", path);
	assert_string_equal(err.msg, want);
	free(want);

	unlink(path);
	free(path);
	free(data);
}

static void test_make_line_refuses(void **state)
{
	char *line = (char *)"untouched";
	char h[AUDIT_HASH_HEX + 1];
	pd_err err = { { 0 } };
	static const char *const reserved[] = { "seq", "time", "event", "prev", "hash" };

	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		json_t *m = json_object();
		json_object_set_new(m, "name", json_string("x"));
		json_object_set_new(m, reserved[i], json_string("y"));
		assert_int_equal(audit_make_line(2, "2026-11-30T03:14:55Z", "file_booked", m,
						 audit_zero_hash, &line, h, &err), -1);
		assert_null(line);
		assert_non_null(strstr(err.msg, reserved[i]));
		assert_non_null(strstr(err.msg, "reserved"));
		json_decref(m);
	}

	/* A real number, at top level and nested. */
	json_t *m = json_pack("{s:s, s:f}", "name", "x", "amount", 12.5);
	assert_non_null(m);
	assert_int_equal(audit_make_line(2, "2026-11-30T03:14:55Z", "file_booked", m,
					 audit_zero_hash, &line, h, &err), -1);
	assert_non_null(strstr(err.msg, "\"amount\""));
	assert_non_null(strstr(err.msg, "real number"));
	json_decref(m);
	m = json_pack("{s:{s:[s, f]}}", "totals", "by_rank", "x", 0.1);
	assert_non_null(m);
	assert_int_equal(audit_make_line(2, "2026-11-30T03:14:55Z", "period_closed", m,
					 audit_zero_hash, &line, h, &err), -1);
	assert_non_null(strstr(err.msg, "\"totals\""));
	json_decref(m);

	/* Bad arguments. */
	assert_int_equal(audit_make_line(1, "2026-11-30 03:14:55", "started", NULL, audit_zero_hash,
					 &line, h, &err), -1);
	assert_non_null(strstr(err.msg, "RFC 3339"));
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "started", NULL,
					 "ABCDEF", &line, h, &err), -1);
	assert_non_null(strstr(err.msg, "prev"));
	assert_int_equal(audit_make_line(0, "2026-11-30T03:14:55Z", "started", NULL,
					 audit_zero_hash, &line, h, &err), -1);
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "", NULL, audit_zero_hash,
					 &line, h, &err), -1);
	json_t *arr = json_array();
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "started", arr,
					 audit_zero_hash, &line, h, &err), -1);
	json_decref(arr);
	assert_null(line);

	/* Nesting deeper than the limit (and a would-be reference cycle) is refused. */
	json_t *deep = json_object();
	json_t *cur = deep;
	for (int i = 0; i < 100; i++) {
		json_t *next = json_object();
		json_object_set_new(cur, "d", next);
		cur = next;
	}
	m = json_object();
	json_object_set_new(m, "deep", deep);
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "started", m, audit_zero_hash,
					 &line, h, &err), -1);
	assert_non_null(strstr(err.msg, "nested"));
	json_decref(m);
}

static void test_unicode_unescaped(void **state)
{
	static const char name[] = "ventas-Müller-ñ-日本.csv";
	static const char reason[] = "Zeile 3: „12,5“ ✓ € \"quoted\" / slash";
	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(name));
	json_object_set_new(m, "reason", json_string(reason));
	char *line = NULL;
	char h[AUDIT_HASH_HEX + 1];
	pd_err err = { { 0 } };
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "file_rejected", m,
					 audit_zero_hash, &line, h, &err), 0);
	json_decref(m);
	assert_non_null(strstr(line, "\"name\":\"ventas-Müller-ñ-日本.csv\""));
	assert_non_null(strstr(line, "\"reason\":\"Zeile 3: „12,5“ ✓ € \\\"quoted\\\" / slash\""));
	assert_null(strstr(line, "\\u"));

	assert_int_equal(audit_check_line(line, strlen(line), 1, audit_zero_hash, h, &err), 0);
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "name")), name);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), reason);
	json_decref(o);
	free(line);

	/* Control characters are escaped, so a line never contains a raw newline. */
	m = json_pack("{s:s}", "reason", "a\nb\tc");
	assert_int_equal(audit_make_line(1, "2026-11-30T03:14:55Z", "file_rejected", m,
					 audit_zero_hash, &line, h, &err), 0);
	json_decref(m);
	assert_null(strchr(line, '\n'));
	assert_non_null(strstr(line, "a\\nb\\tc"));
	free(line);
}

static void test_now(void **state)
{
	char buf[21];
	audit_now(buf);
	assert_int_equal(strlen(buf), 20);
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[19], 'Z');
	char *line = NULL;
	char h[AUDIT_HASH_HEX + 1];
	pd_err err = { { 0 } };
	assert_int_equal(audit_make_line(1, buf, "started", NULL, audit_zero_hash, &line, h, &err), 0);
	assert_int_equal(audit_check_line(line, strlen(line), 1, audit_zero_hash, h, &err), 0);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_hash),
		cmocka_unit_test(test_fixed_vector),
		cmocka_unit_test(test_no_members),
		cmocka_unit_test(test_chain_verifies),
		cmocka_unit_test(test_empty_and_missing),
		cmocka_unit_test(test_edit_value),
		cmocka_unit_test(test_drop_line),
		cmocka_unit_test(test_drop_line_renumbered),
		cmocka_unit_test(test_swap_lines),
		cmocka_unit_test(test_truncated_newline),
		cmocka_unit_test(test_append_garbage),
		cmocka_unit_test(test_uppercase_hash),
		cmocka_unit_test(test_reorder_members),
		cmocka_unit_test(test_check_line_reasons),
		cmocka_unit_test(test_line_too_long),
		cmocka_unit_test(test_make_line_refuses),
		cmocka_unit_test(test_unicode_unescaped),
		cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
