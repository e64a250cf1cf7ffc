/*
 * fuzz_audit.c - libFuzzer target: the audit log verifier.
 *
 * The input is an audit log. It is checked line by line with
 * audit_check_line, chained as audit_verify_file chains them (seq from 1,
 * prev from 64 zeros, stop at the first bad line):
 *
 *  1. the bytes as they are: the framing, the tail and hash checks;
 *  2. the bytes with every line's hash, and its prev where the line ends in
 *     ,"prev":"<64>","hash":"<64>"}, rewritten to chain correctly, so that
 *     mutations reach the JSON checks behind the SHA-256 (member order,
 *     seq, time, event, prev) instead of stopping at "hash does not match".
 *
 * The bytes of 2. are also verified as a file with audit_verify_file, which
 * must agree with the chained check on intact or broken and on the number
 * of intact lines. (Once per input: under ASan its 1 MiB line buffer costs
 * more than everything else here.)
 *
 * Each line is handed to audit_check_line in a buffer of exactly its length
 * (ASan sees any read past it). For every line that passes in 2., its
 * members go back through audit_make_line: a line the writer makes from
 * them must pass the verifier (the daemon must never write a line its own
 * `audit verify` refuses).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fsutil.h"

#include "fuzz_common.h"

#define HASH_HEAD ",\"hash\":\""
#define HASH_HEAD_LEN (sizeof HASH_HEAD - 1)
#define HASH_TAIL_LEN (HASH_HEAD_LEN + AUDIT_HASH_HEX + 2)     /* ,"hash":"<64>"} */
#define PREV_HEAD ",\"prev\":\""
#define PREV_HEAD_LEN (sizeof PREV_HEAD - 1)
#define PREV_LEN (PREV_HEAD_LEN + AUDIT_HASH_HEX + 1)          /* ,"prev":"<64>" */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init("audit.log");
	return 0;
}

static bool is_hash(const char *h)
{
	for (int i = 0; i < AUDIT_HASH_HEX; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return h[AUDIT_HASH_HEX] == '\0';
}

/* An accepted line's members, made into a line again, must be accepted. */
static void remake(const char *line, size_t len, int64_t seq, const char *prev)
{
	json_error_t jerr;
	json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(json_is_object(obj), "an accepted line does not parse: %s", jerr.text);
	json_t *members = json_object();
	size_t n = json_object_size(obj), i = 0;
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it), i++)
		if (i >= 3 && i < n - 2)
			json_object_setn(members, json_object_iter_key(it), json_object_iter_key_len(it),
					 json_object_iter_value(it));
	const char *time = json_string_value(json_object_get(obj, "time"));
	const char *event = json_string_value(json_object_get(obj, "event"));
	char *made = NULL, hash[AUDIT_HASH_HEX + 1], back[AUDIT_HASH_HEX + 1];
	pd_err err;
	if (audit_make_line(seq, time, event, members, prev, &made, hash, &err) == 0) {
		size_t ml = strlen(made);
		char *copy = malloc(ml ? ml : 1);
		FUZZ_CHECK(copy, "out of memory");
		memcpy(copy, made, ml);
		int rc = audit_check_line(copy, ml, seq, prev, back, &err);
		FUZZ_CHECK(rc == 0, "audit_make_line wrote a line audit_check_line refuses (%s): %s", err.msg, made);
		FUZZ_CHECK(strcmp(hash, back) == 0, "the made line's hash differs from the checked one");
		free(copy);
		free(made);
	}
	json_decref(members);
	json_decref(obj);
}

/* audit_verify_file's loop over data[0..size): 0 intact, 1 broken; *lines intact lines. */
static int check_chain(const uint8_t *data, size_t size, bool remake_lines, int64_t *lines)
{
	char prev[AUDIT_HASH_HEX + 1];
	memcpy(prev, audit_zero_hash, sizeof prev);
	int64_t k = 0;
	int rc = 0;
	size_t off = 0;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		if (!nl) {
			rc = 1; /* a last line without '\n' is broken */
			break;
		}
		size_t len = (size_t)(nl - (data + off));
		char *line = malloc(len ? len : 1);
		FUZZ_CHECK(line, "out of memory");
		memcpy(line, data + off, len);
		char hash[AUDIT_HASH_HEX + 1];
		pd_err err;
		err.msg[0] = '\0';
		if (audit_check_line(line, len, k + 1, prev, hash, &err) < 0) {
			FUZZ_CHECK(err.msg[0], "line %" PRId64 " refused without a reason", k + 1);
			free(line);
			rc = 1;
			break;
		}
		FUZZ_CHECK(is_hash(hash), "line %" PRId64 ": hash_out is not 64 hex digits", k + 1);
		if (remake_lines)
			remake(line, len, k + 1, prev);
		free(line);
		memcpy(prev, hash, sizeof prev);
		k++;
		off += len + 1;
	}
	*lines = k;
	return rc;
}

/* Both ways over the same bytes must agree. */
static void check_both(const uint8_t *data, size_t size)
{
	int64_t chain_lines = 0, file_lines = -1;
	int chain_rc = check_chain(data, size, true, &chain_lines);
	fuzz_file_write(data, size);
	pd_err err;
	err.msg[0] = '\0';
	int file_rc = audit_verify_file(fuzz_scratch.path, &file_lines, &err);
	FUZZ_CHECK(file_rc == 0 || file_rc == 1, "audit_verify_file returned %d: %s", file_rc, err.msg);
	FUZZ_CHECK(file_rc == chain_rc && file_lines == chain_lines,
		   "audit_verify_file says %d after %" PRId64 " lines (%s), the chained check %d after %" PRId64,
		   file_rc, file_lines, err.msg, chain_rc, chain_lines);
}

/* Rewrites prev and hash of every line of buf so the chain holds. */
static void fix_chain(uint8_t *buf, size_t size)
{
	char prev[AUDIT_HASH_HEX + 1], hash[AUDIT_HASH_HEX + 1];
	memcpy(prev, audit_zero_hash, sizeof prev);
	size_t off = 0;
	while (off < size) {
		uint8_t *line = buf + off;
		uint8_t *nl = memchr(line, '\n', size - off);
		size_t len = nl ? (size_t)(nl - line) : size - off;
		if (len >= 1 + HASH_TAIL_LEN && memcmp(line + len - HASH_TAIL_LEN, HASH_HEAD, HASH_HEAD_LEN) == 0 &&
		    memcmp(line + len - 2, "\"}", 2) == 0) {
			size_t body = len - HASH_TAIL_LEN;
			if (body >= PREV_LEN && memcmp(line + body - PREV_LEN, PREV_HEAD, PREV_HEAD_LEN) == 0 &&
			    line[body - 1] == '"')
				memcpy(line + body - 1 - AUDIT_HASH_HEX, prev, AUDIT_HASH_HEX);
			unsigned char md[32];
			fs_sha256(line, body, md);
			fs_hex(md, hash);
			memcpy(line + body + HASH_HEAD_LEN, hash, AUDIT_HASH_HEX);
			memcpy(prev, hash, sizeof prev);
		}
		off += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t lines;
	check_chain(data, size, false, &lines);
	uint8_t *fixed = malloc(size ? size : 1);
	FUZZ_CHECK(fixed, "out of memory");
	memcpy(fixed, data, size);
	fix_chain(fixed, size);
	check_both(fixed, size);
	free(fixed);
	return 0;
}
