#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pd_errf(pd_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int pd_err_prefix(pd_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char pre[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* precision bounds keep gcc's truncation check quiet: truncation is fine here */
	snprintf(err->msg, sizeof err->msg, "%.*s: %.*s", 500, pre, 500, old);
	return -1;
}

static void diag_push(pd_diag *d, char *s)
{
	if (d->n >= PD_DIAG_MAX) {
		d->dropped++;
		free(s);
		return;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->msgs = xrealloc(d->msgs, d->cap * sizeof *d->msgs);
	}
	d->msgs[d->n++] = s;
}

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		fputs("payoutd: out of memory\n", stderr);
		abort();
	}
	return s;
}

void pd_diag_add(pd_diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_push(d, vfmt(fmt, ap));
	va_end(ap);
}

void pd_diag_at(pd_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *body = vfmt(fmt, ap);
	va_end(ap);
	char *s = NULL;
	if (asprintf(&s, "%s:%d:%d: %s", file, line, col, body) < 0) {
		fputs("payoutd: out of memory\n", stderr);
		abort();
	}
	free(body);
	diag_push(d, s);
}

size_t pd_diag_count(const pd_diag *d)
{
	return d->n + d->dropped;
}

void pd_diag_free(pd_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	memset(d, 0, sizeof *d);
}

static void *oom(void)
{
	fputs("payoutd: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	return p ? p : oom();
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	return p ? p : oom();
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	return q ? q : oom();
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	return p ? p : oom();
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	return p ? p : oom();
}
