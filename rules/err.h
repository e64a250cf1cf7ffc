/*
 * err.h - error context carried up to the one place that reports it.
 *
 * A function that can fail returns 0 on success and -1 on failure, after
 * filling a pd_err with one sentence a user can act on ("sales.csv:12:
 * column amount: \"12,5\": expected ..."). Callers add context with
 * pd_err_prefix() and pass it on; only main() or the inbox loop print it.
 *
 * pd_diag collects many such messages where every problem must be listed
 * (config and plan validation report all of them, not just the first).
 */
#ifndef PAYOUTD_ERR_H
#define PAYOUTD_ERR_H

#include <stddef.h>

typedef struct pd_err {
	char msg[1024];
} pd_err;

/* Sets err->msg (err may be NULL) and returns -1, so "return pd_errf(...)" reads well. */
int pd_errf(pd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "PREFIX: " to the message already in err. Returns -1. */
int pd_err_prefix(pd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A growable list of messages; owns its strings. At most PD_DIAG_MAX are kept, the rest counted. */
#define PD_DIAG_MAX 1000
typedef struct pd_diag {
	char **msgs;
	size_t n, cap;
	size_t dropped;
} pd_diag;

void pd_diag_add(pd_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Adds "FILE:LINE:COLUMN: message". */
void pd_diag_at(pd_diag *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
size_t pd_diag_count(const pd_diag *d);
void pd_diag_free(pd_diag *d);

/* Allocation that cannot fail: on exhaustion the process logs and aborts (one policy, one place). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
