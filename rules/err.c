#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
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

/*
 * Large arrays (a close's per-distributor arrays and statement lines, tens to
 * hundreds of MiB) are asked to be backed by transparent huge pages where the
 * kernel offers them on request (Debian's default, "madvise"): first touching
 * 300 MiB in 4 KiB pages costs a page fault per page and TLB misses after,
 * which measured as a fifth of a million-distributor engine run. Only a hint:
 * nothing depends on it being taken.
 */
#define HUGE_ADVISE_MIN ((size_t)8 << 20)

static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	if (n < HUGE_ADVISE_MIN)
		return;
	/* The whole block, to page bounds (its huge-page-aligned middle is what
	 * the kernel can back with huge pages). Advising only that middle split
	 * the block's mapping in three, and then realloc could no longer grow it
	 * with mremap: it copied the whole block into new, small pages instead
	 * (bench_families: 4 failed mremaps and ~130,000 page faults per run). */
	uintptr_t page = 4096;
	uintptr_t a = (uintptr_t)p & ~(page - 1);
	uintptr_t e = ((uintptr_t)p + n + page - 1) & ~(page - 1);
	(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)p;
	(void)n;
#endif
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		return oom();
	advise_huge(p, n);
	return p;
}

void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		return oom();
	if (m && n <= SIZE_MAX / m)
		advise_huge(p, n * m);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		return oom();
	advise_huge(q, n);
	return q;
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
