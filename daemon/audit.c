/*
 * audit.c - the hash-chained audit log (SPEC 8): formatting and checking lines.
 *
 * A line is written once and never reparsed to recompute its hash: the hash
 * covers the exact bytes on disk, so verification hashes the text before the
 * fixed-size tail ',"hash":"<64 hex>"}' and only then parses the JSON to check
 * member order, seq, time and prev. That way no JSON library behaviour
 * (escaping, number formatting, key order) can change what was hashed.
 *
 * Lines are produced by jansson with JSON_COMPACT (separators "," and ":"),
 * without JSON_ENSURE_ASCII (UTF-8 passes through) and in insertion order.
 * Money is always a JSON string in this product, so real numbers are refused.
 */
#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsutil.h"

const char audit_zero_hash[AUDIT_HASH_HEX + 1] =
	"0000000000000000000000000000000000000000000000000000000000000000";

/* One line (without '\n') may be at most this long; audit_make_line refuses longer ones. */
#define AUDIT_LINE_MAX ((size_t)1 << 20)
/* Nesting depth allowed inside an event's members (jansson's parser stops at 2048). */
#define AUDIT_MEMBER_DEPTH 64
/* ',"hash":"' + 64 hex + '"}' */
#define HASH_HEAD ",\"hash\":\""
#define HASH_HEAD_LEN (sizeof HASH_HEAD - 1)
#define HASH_TAIL_LEN (HASH_HEAD_LEN + AUDIT_HASH_HEX + 2)
#define TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

static const char *const reserved_names[] = { "seq", "time", "event", "prev", "hash" };

/* SHA-256 of buf as 64 lowercase hex digits plus NUL. */
static int sha256_hex(const void *buf, size_t len, char out[AUDIT_HASH_HEX + 1], pd_err *err)
{
	(void)err; /* fs_sha256 cannot fail short of running out of memory */
	unsigned char md[32];
	fs_sha256(buf, len, md);
	fs_hex(md, out);
	return 0;
}

static bool is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		bool lower = s[i] >= 'a' && s[i] <= 'f';
		if (!digit && !lower)
			return false;
	}
	return true;
}

static bool is_hash_string(const char *s)
{
	return s && strlen(s) == AUDIT_HASH_HEX && is_lower_hex(s, AUDIT_HASH_HEX);
}

static bool digits_at(const char *s, size_t from, size_t n, int *val)
{
	int v = 0;
	for (size_t i = from; i < from + n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*val = v;
	return true;
}

/* "YYYY-MM-DDTHH:MM:SSZ" with plausible field ranges (second 60 allows a leap second). */
static bool is_rfc3339_utc(const char *s, size_t len)
{
	int y, mo, d, h, mi, sec;

	if (len != TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != 'Z')
		return false;
	if (!digits_at(s, 0, 4, &y) || !digits_at(s, 5, 2, &mo) || !digits_at(s, 8, 2, &d) ||
	    !digits_at(s, 11, 2, &h) || !digits_at(s, 14, 2, &mi) || !digits_at(s, 17, 2, &sec))
		return false;
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 60;
}

static bool is_reserved(const char *key, size_t key_len)
{
	for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++) {
		if (strlen(reserved_names[i]) == key_len && memcmp(reserved_names[i], key, key_len) == 0)
			return true;
	}
	return false;
}

/*
 * Refuses real numbers anywhere in v (money is a string here) and nesting
 * deeper than AUDIT_MEMBER_DEPTH (which also stops on reference cycles).
 */
static int check_member_value(const char *name, json_t *v, int depth, pd_err *err)
{
	if (depth > AUDIT_MEMBER_DEPTH)
		return pd_errf(err, "member \"%.100s\" is nested deeper than %d levels", name,
			       AUDIT_MEMBER_DEPTH);
	if (json_is_real(v))
		return pd_errf(err, "member \"%.100s\" contains a real number %g; "
				    "amounts must be JSON strings", name, json_real_value(v));
	if (json_is_object(v)) {
		const char *k;
		json_t *sub;
		json_object_foreach(v, k, sub) {
			if (check_member_value(name, sub, depth + 1, err) < 0)
				return -1;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *sub;
		json_array_foreach(v, i, sub) {
			if (check_member_value(name, sub, depth + 1, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* Sets a freshly made value; json_string() returns NULL on invalid UTF-8. */
static int set_new(json_t *obj, const char *key, json_t *value, pd_err *err)
{
	if (!value)
		return pd_errf(err, "%s is not valid UTF-8", key);
	if (json_object_set_new(obj, key, value) < 0)
		return pd_errf(err, "cannot add member %s", key);
	return 0;
}

int audit_make_line(int64_t seq, const char *time, const char *event, json_t *members,
		    const char *prev, char **line_out, char hash_out[AUDIT_HASH_HEX + 1], pd_err *err)
{
	json_t *obj = NULL;
	char *text = NULL;
	int rc = -1;

	*line_out = NULL;
	if (seq < 1) {
		pd_errf(err, "seq %" PRId64 " is not a positive number", seq);
		goto fail;
	}
	if (!time || !is_rfc3339_utc(time, strlen(time))) {
		pd_errf(err, "time \"%.40s\" is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)",
			time ? time : "(null)");
		goto fail;
	}
	if (!event || !*event) {
		pd_errf(err, "event name is empty");
		goto fail;
	}
	if (!is_hash_string(prev)) {
		pd_errf(err, "prev \"%.80s\" is not 64 lowercase hex digits", prev ? prev : "(null)");
		goto fail;
	}
	if (members && !json_is_object(members)) {
		pd_errf(err, "event members must be a JSON object");
		goto fail;
	}

	obj = json_object();
	if (!obj) {
		pd_errf(err, "out of memory building an audit line");
		goto fail;
	}
	if (set_new(obj, "seq", json_integer(seq), err) < 0 ||
	    set_new(obj, "time", json_string(time), err) < 0 ||
	    set_new(obj, "event", json_string(event), err) < 0)
		goto fail;
	if (members) {
		const char *key;
		size_t key_len;
		json_t *value;
		json_object_keylen_foreach(members, key, key_len, value) {
			if (is_reserved(key, key_len)) {
				pd_errf(err, "event member name \"%s\" is reserved for the audit line "
					     "itself", key);
				goto fail;
			}
			if (check_member_value(key, value, 1, err) < 0)
				goto fail;
			if (json_object_setn(obj, key, key_len, value) < 0) {
				pd_errf(err, "cannot add member \"%.100s\"", key);
				goto fail;
			}
		}
	}
	if (set_new(obj, "prev", json_string(prev), err) < 0)
		goto fail;

	/* JSON_COMPACT: "," and ":" separators; no JSON_ENSURE_ASCII: UTF-8 passes through. */
	text = json_dumps(obj, JSON_COMPACT);
	if (!text) {
		pd_errf(err, "cannot encode audit line as JSON");
		goto fail;
	}
	size_t body = strlen(text);
	if (body < 2 || text[0] != '{' || text[body - 1] != '}') {
		pd_errf(err, "internal error: encoded audit line is not an object");
		goto fail;
	}
	body--; /* the hashed text: everything but the closing '}' */
	if (body + HASH_TAIL_LEN > AUDIT_LINE_MAX) {
		pd_errf(err, "audit line would be %zu bytes, over the %zu byte limit",
			body + HASH_TAIL_LEN, AUDIT_LINE_MAX);
		goto fail;
	}

	char hex[AUDIT_HASH_HEX + 1];
	if (sha256_hex(text, body, hex, err) < 0)
		goto fail;

	char *line = xmalloc(body + HASH_TAIL_LEN + 1);
	memcpy(line, text, body);
	memcpy(line + body, HASH_HEAD, HASH_HEAD_LEN);
	memcpy(line + body + HASH_HEAD_LEN, hex, AUDIT_HASH_HEX);
	memcpy(line + body + HASH_HEAD_LEN + AUDIT_HASH_HEX, "\"}", 3);
	*line_out = line;
	memcpy(hash_out, hex, AUDIT_HASH_HEX + 1);
	rc = 0;
fail:
	free(text);
	json_decref(obj);
	return rc;
}

void audit_now(char *buf)
{
	time_t t = time(NULL);
	struct tm tm;

	if (t == (time_t)-1 || !gmtime_r(&t, &tm) ||
	    strftime(buf, TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != TIME_LEN) {
		/* Never silently plausible: audit_make_line refuses month 00. */
		memcpy(buf, "0000-00-00T00:00:00Z", TIME_LEN + 1);
	}
}

static bool key_is(const char *key, size_t key_len, const char *want)
{
	return strlen(want) == key_len && memcmp(key, want, key_len) == 0;
}

/* Member order must be seq, time, event, ..., prev, hash. */
static int check_member_order(json_t *obj, pd_err *err)
{
	static const char *const first[] = { "seq", "time", "event" };
	static const char *const last[] = { "prev", "hash" };
	size_t n = json_object_size(obj);
	size_t i = 0;

	if (n < 5)
		return pd_errf(err, "has %zu members; needs at least seq, time, event, prev and hash",
			       n);
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++) {
		const char *key = json_object_iter_key(it);
		size_t key_len = json_object_iter_key_len(it);
		const char *want = NULL;
		if (i < 3)
			want = first[i];
		else if (i >= n - 2)
			want = last[i - (n - 2)];
		if (want && !key_is(key, key_len, want))
			return pd_errf(err, "member %zu is \"%.60s\", expected \"%s\"", i + 1, key, want);
	}
	return 0;
}

int audit_check_line(const char *line, size_t len, int64_t expect_seq, const char *expect_prev,
		     char hash_out[AUDIT_HASH_HEX + 1], pd_err *err)
{
	if (len == 0)
		return pd_errf(err, "empty line");
	if (len > AUDIT_LINE_MAX)
		return pd_errf(err, "line too long (%zu bytes, limit %zu)", len, AUDIT_LINE_MAX);
	if (memchr(line, '\0', len))
		return pd_errf(err, "line contains a NUL byte");
	if (line[len - 1] == '\r')
		return pd_errf(err, "line ends with a carriage return (CRLF line endings)");
	if (line[0] != '{')
		return pd_errf(err, "line does not start with '{'");
	if (len < 1 + HASH_TAIL_LEN ||
	    memcmp(line + len - HASH_TAIL_LEN, HASH_HEAD, HASH_HEAD_LEN) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0)
		return pd_errf(err, "line does not end with ,\"hash\":\"<64 hex digits>\"}");

	const char *hash = line + len - 2 - AUDIT_HASH_HEX;
	if (!is_lower_hex(hash, AUDIT_HASH_HEX))
		return pd_errf(err, "hash is not 64 lowercase hex digits");

	size_t body = len - HASH_TAIL_LEN;
	char actual[AUDIT_HASH_HEX + 1];
	if (sha256_hex(line, body, actual, err) < 0)
		return -1;
	if (memcmp(actual, hash, AUDIT_HASH_HEX) != 0)
		return pd_errf(err, "hash does not match the line's content");

	json_error_t jerr;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return pd_errf(err, "not valid JSON: %s (at byte %d)", jerr.text, jerr.position);

	int rc = -1;
	if (!json_is_object(obj)) {
		pd_errf(err, "not a JSON object");
		goto out;
	}
	if (check_member_order(obj, err) < 0)
		goto out;

	json_t *seq = json_object_get(obj, "seq");
	if (!json_is_integer(seq)) {
		pd_errf(err, "seq is not an integer");
		goto out;
	}
	if (json_integer_value(seq) != expect_seq) {
		pd_errf(err, "seq is %" JSON_INTEGER_FORMAT ", expected %" PRId64,
			json_integer_value(seq), expect_seq);
		goto out;
	}

	json_t *tm = json_object_get(obj, "time");
	if (!json_is_string(tm) || !is_rfc3339_utc(json_string_value(tm), json_string_length(tm))) {
		pd_errf(err, "time is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
		goto out;
	}

	json_t *ev = json_object_get(obj, "event");
	if (!json_is_string(ev) || json_string_length(ev) == 0) {
		pd_errf(err, "event is not a non-empty string");
		goto out;
	}

	json_t *prev = json_object_get(obj, "prev");
	if (!json_is_string(prev) || json_string_length(prev) != AUDIT_HASH_HEX ||
	    !is_lower_hex(json_string_value(prev), AUDIT_HASH_HEX)) {
		pd_errf(err, "prev is not 64 lowercase hex digits");
		goto out;
	}
	if (strcmp(json_string_value(prev), expect_prev) != 0) {
		if (expect_seq == 1)
			pd_errf(err, "prev of line 1 is not 64 zeros");
		else
			pd_errf(err, "prev does not match the hash of line %" PRId64, expect_seq - 1);
		goto out;
	}

	/* Guaranteed by the tail check and the parse; kept as a cheap invariant. */
	json_t *h = json_object_get(obj, "hash");
	if (!json_is_string(h) || json_string_length(h) != AUDIT_HASH_HEX ||
	    memcmp(json_string_value(h), hash, AUDIT_HASH_HEX) != 0) {
		pd_errf(err, "hash member does not match the line's trailing hash");
		goto out;
	}

	memcpy(hash_out, hash, AUDIT_HASH_HEX);
	hash_out[AUDIT_HASH_HEX] = '\0';
	rc = 0;
out:
	json_decref(obj);
	return rc;
}

/*
 * Reads lines of at most AUDIT_LINE_MAX bytes through a fixed block buffer,
 * so memory stays bounded whatever the file holds (NUL bytes included).
 */
typedef struct line_reader {
	FILE *f;
	char block[64 * 1024];
	size_t pos, end;
	bool eof;
	char *line; /* AUDIT_LINE_MAX + 1 bytes */
	size_t len;
} line_reader;

enum read_result { READ_LINE, READ_PARTIAL, READ_EOF, READ_TOO_LONG, READ_ERROR };

static enum read_result reader_next(line_reader *r)
{
	r->len = 0;
	for (;;) {
		if (r->pos == r->end) {
			if (r->eof)
				return r->len ? READ_PARTIAL : READ_EOF;
			r->end = fread(r->block, 1, sizeof r->block, r->f);
			r->pos = 0;
			if (r->end < sizeof r->block) {
				if (ferror(r->f))
					return READ_ERROR;
				r->eof = true;
			}
			continue;
		}
		const char *start = r->block + r->pos;
		size_t avail = r->end - r->pos;
		const char *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		if (r->len + take > AUDIT_LINE_MAX)
			return READ_TOO_LONG;
		memcpy(r->line + r->len, start, take);
		r->len += take;
		r->pos += take;
		if (nl) {
			r->pos++; /* the '\n' */
			return READ_LINE;
		}
	}
}

int audit_verify_file(const char *path, int64_t *lines_out, pd_err *err)
{
	if (lines_out)
		*lines_out = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return pd_errf(err, "cannot open %s: %s", path, strerror(errno));

	line_reader *r = xcalloc(1, sizeof *r);
	r->f = f;
	r->line = xmalloc(AUDIT_LINE_MAX + 1);

	char prev[AUDIT_HASH_HEX + 1];
	memcpy(prev, audit_zero_hash, sizeof prev);
	int64_t n = 0;
	int rc = -1;
	for (;;) {
		enum read_result res = reader_next(r);
		if (res == READ_EOF) {
			rc = 0;
			break;
		}
		if (res == READ_ERROR) {
			rc = pd_errf(err, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		int64_t lineno = n + 1;
		if (res == READ_TOO_LONG) {
			pd_errf(err, "%s:%" PRId64 ": line too long (over %zu bytes)", path, lineno,
				AUDIT_LINE_MAX);
			rc = 1;
			break;
		}
		if (res == READ_PARTIAL) {
			pd_errf(err, "%s:%" PRId64 ": line %" PRId64 " is incomplete (no newline)",
				path, lineno, lineno);
			rc = 1;
			break;
		}
		char hash[AUDIT_HASH_HEX + 1];
		if (audit_check_line(r->line, r->len, lineno, prev, hash, err) < 0) {
			pd_err_prefix(err, "%s:%" PRId64, path, lineno);
			rc = 1;
			break;
		}
		memcpy(prev, hash, sizeof prev);
		n = lineno;
	}
	/* On a broken chain *lines_out is the number of intact lines before the bad one. */
	if (lines_out)
		*lines_out = n;
	free(r->line);
	free(r);
	fclose(f);
	return rc;
}
