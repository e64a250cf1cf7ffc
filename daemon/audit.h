/*
 * audit.h - the hash-chained audit log (SPEC 8): line format and verification.
 *
 * A line is a JSON object whose members are, in order, seq, time, event, the
 * event's own members, prev, and last hash; hash is the lowercase hex SHA-256
 * of the line's bytes from its first '{' up to (not including) the ',"hash":'
 * that introduces it. prev is the previous line's hash, 64 zeros on line 1.
 *
 * This module only formats and checks lines. Where lines are kept and how the
 * file is kept in step with the ledger is ledger.c's business (see
 * docs/design.md, "Audit log and the ledger").
 */
#ifndef PAYOUTD_AUDIT_H
#define PAYOUTD_AUDIT_H

#include <jansson.h>
#include <stdint.h>

#include "err.h"

#define AUDIT_HASH_HEX 64
extern const char audit_zero_hash[AUDIT_HASH_HEX + 1];

/*
 * Builds one line (without the trailing '\n').
 *  members: a JSON object of the event's own members, in order (may be NULL);
 *           member names seq/time/event/prev/hash are not allowed in it.
 *  time:    RFC 3339 UTC, e.g. "2026-11-30T03:14:55Z".
 *  prev:    64 lowercase hex chars.
 * On success returns 0, *line_out is malloc'ed (caller frees) and hash_out
 * holds the line's hash (65 bytes with NUL).
 */
int audit_make_line(int64_t seq, const char *time, const char *event, json_t *members,
		    const char *prev, char **line_out, char hash_out[AUDIT_HASH_HEX + 1], pd_err *err);

/* Formats the current UTC time as RFC 3339 ("YYYY-MM-DDTHH:MM:SSZ"); buf >= 21 bytes. */
void audit_now(char *buf);

/*
 * Checks one line (without '\n') against the expected seq and prev.
 * Returns 0 if valid and copies its hash to hash_out, else -1 with a reason.
 */
int audit_check_line(const char *line, size_t len, int64_t expect_seq, const char *expect_prev,
		     char hash_out[AUDIT_HASH_HEX + 1], pd_err *err);

/*
 * Verifies a whole audit log file. Returns 0 when intact (*lines_out = number
 * of lines), 1 when broken (err names the first bad line: "audit.log:17: ..."),
 * -1 when the file cannot be read. A missing file is -1; an empty file is
 * intact with 0 lines. A final line without '\n' is broken. When broken,
 * *lines_out is the number of intact lines before the bad one.
 */
int audit_verify_file(const char *path, int64_t *lines_out, pd_err *err);

#endif
