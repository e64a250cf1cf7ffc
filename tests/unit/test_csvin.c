/*
 * test_csvin.c - the CSV reader: delimiter detection, header mapping,
 * quoting, line numbers, encodings, limits, hashing, and reads that split
 * lines, characters and byte order marks at awkward places.
 *
 * Input comes from a memfd (one read per 1 MiB chunk, like a regular file)
 * or from a SOCK_SEQPACKET socket, where every read returns exactly one of
 * the pieces we wrote: that makes short reads deterministic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csvin.h"

#define CHUNK_SIZE ((size_t)1 << 20) /* csvin.c reads this much at a time */
#define MAX_KEEP 256                 /* rows and errors kept as text per run */

/* ---- recording callbacks ---------------------------------------------- */

typedef struct rec {
	size_t ncols;
	long nrows;            /* rows delivered to the row callback */
	char *rows[MAX_KEEP];  /* "LINE:v0|v1|...", NULL cells as "~", bytes escaped */
	long nerrs;
	char *errs[MAX_KEEP];  /* "LINE:COL:VALUE:REASON" */
	long stop_at;          /* return -1 on this delivered row (1-based); 0 = never */
	/* optional: checks each row instead of keeping it; returns 0 or a failure message */
	const char *(*check)(struct rec *rc, const csvin_row *row);
	const char *check_failed;
	void *user;
} rec;

static void put_escaped(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7F)
			fprintf(f, "\\x%02X", c);
		else
			fputc(c, f);
	}
}

static int on_row(void *ctx, const csvin_row *row, pd_err *err)
{
	rec *rc = ctx;
	rc->nrows++;
	for (size_t c = 0; c < rc->ncols; c++)
		if (row->val[c] && strlen(row->val[c]) != row->len[c])
			rc->check_failed = "a value's len differs from its strlen";
	if (rc->check) {
		const char *why = rc->check(rc, row);
		if (why && !rc->check_failed)
			rc->check_failed = why;
	} else if (rc->nrows <= MAX_KEEP) {
		char *s = NULL;
		size_t sl = 0;
		FILE *f = open_memstream(&s, &sl);
		assert_non_null(f);
		fprintf(f, "%ld:", row->line);
		for (size_t c = 0; c < rc->ncols; c++) {
			if (c)
				fputc('|', f);
			if (row->val[c])
				put_escaped(f, row->val[c], row->len[c]);
			else
				fputc('~', f);
		}
		fclose(f);
		rc->rows[rc->nrows - 1] = s;
	}
	if (rc->stop_at && rc->nrows == rc->stop_at)
		return pd_errf(err, "stopped by the callback at line %ld", row->line);
	return 0;
}

static void on_error(void *ctx, long line, int col, const char *value, size_t vlen,
		     const char *reason)
{
	rec *rc = ctx;
	rc->nerrs++;
	if (rc->nerrs > MAX_KEEP)
		return;
	char *s = NULL;
	size_t sl = 0;
	FILE *f = open_memstream(&s, &sl);
	assert_non_null(f);
	fprintf(f, "%ld:%d:", line, col);
	if (value)
		put_escaped(f, value, vlen);
	else
		fputc('~', f);
	fprintf(f, ":%s", reason);
	fclose(f);
	rc->errs[rc->nerrs - 1] = s;
}

/* ---- inputs --------------------------------------------------------------- */

static void write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

/* A memory file holding data, positioned at its start. */
static int memfd_with(const char *data, size_t len)
{
	int fd = memfd_create("csvin-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	write_all(fd, data, len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* A socket from which each read returns exactly one piece, then EOF. */
static int pieces_fd(const char *const *pieces, const size_t *lens, size_t n)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(write(sv[1], pieces[i], lens[i]), (ssize_t)lens[i]);
	close(sv[1]);
	return sv[0];
}

/* ---- one run of the reader ---------------------------------------------- */

typedef struct run {
	csvin *r;
	rec rc;
	pd_err err;
	int ret;
	int busy; /* holds a reader or rows: the teardown frees it */
} run;

static csvin_format format(input_kind kind)
{
	csvin_format f;
	memset(&f, 0, sizeof f);
	f.kind = kind;
	f.decimal = '.';
	return f;
}

static void run_fd(run *x, int fd, const csvin_format *fmt)
{
	x->busy = 1;
	x->r = csvin_new("t.csv", fd, fmt);
	assert_non_null(x->r);
	csvin_columns(fmt->kind, &x->rc.ncols);
	x->err.msg[0] = '\0';
	x->ret = csvin_read(x->r, on_row, on_error, &x->rc, &x->err);
	close(fd);
	if (x->rc.check_failed)
		fail_msg("row check: %s", x->rc.check_failed);
}

static void run_buf(run *x, const csvin_format *fmt, const char *data, size_t len)
{
	run_fd(x, memfd_with(data, len), fmt);
}

static void run_str(run *x, const csvin_format *fmt, const char *text)
{
	run_buf(x, fmt, text, strlen(text));
}

/* Frees what a run holds and makes it ready for the next run. */
static void run_done(run *x)
{
	for (long i = 0; i < x->rc.nrows && i < MAX_KEEP; i++)
		free(x->rc.rows[i]);
	for (long i = 0; i < x->rc.nerrs && i < MAX_KEEP; i++)
		free(x->rc.errs[i]);
	csvin_free(x->r);
	memset(x, 0, sizeof *x);
}

/*
 * Runs live in a static pool rather than on the test's stack, so that the
 * teardown can free them when a failed assertion jumps out of a test
 * (otherwise LeakSanitizer would report our own leaks after a failure).
 */
static run pool[2];

static run *run_new(void)
{
	for (size_t i = 0; i < sizeof pool / sizeof *pool; i++)
		if (!pool[i].busy) {
			memset(&pool[i], 0, sizeof pool[i]);
			pool[i].busy = 1;
			return &pool[i];
		}
	fail_msg("no free run in the pool");
	return NULL;
}

static int free_runs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof pool / sizeof *pool; i++)
		if (pool[i].busy)
			run_done(&pool[i]);
	return 0;
}

static void assert_ok(const run *x)
{
	if (x->ret != 0)
		fail_msg("csvin_read failed: %s", x->err.msg);
}

static void assert_fails(const run *x, const char *want)
{
	if (x->ret == 0)
		fail_msg("csvin_read succeeded, expected: %s", want);
	assert_string_equal(x->err.msg, want);
}

/* Fails with a message that starts with prefix and contains part. */
static void assert_fails_like(const run *x, const char *prefix, const char *part)
{
	if (x->ret == 0)
		fail_msg("csvin_read succeeded, expected: %s...%s", prefix, part);
	if (strncmp(x->err.msg, prefix, strlen(prefix)) != 0 || !strstr(x->err.msg, part))
		fail_msg("message \"%s\" lacks \"%s\"...\"%s\"", x->err.msg, prefix, part);
}

static void assert_row(const run *x, long i, const char *want)
{
	if (i >= x->rc.nrows)
		fail_msg("row %ld missing (only %ld rows); wanted %s", i, x->rc.nrows, want);
	assert_string_equal(x->rc.rows[i], want);
}

static void assert_err(const run *x, long i, const char *want)
{
	if (i >= x->rc.nerrs)
		fail_msg("error %ld missing (only %ld errors); wanted %s", i, x->rc.nerrs, want);
	assert_string_equal(x->rc.errs[i], want);
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned dl = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, d, &dl), 1);
	EVP_MD_CTX_free(c);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A growable byte buffer for generated files. */
typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_adds(buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_fill(buf *b, char c, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memset(b->p + b->len, c, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* ---- the column tables ---------------------------------------------------- */

static void test_columns(void **state)
{
	(void)state;
	size_t n = 0;
	const csvin_column *c = csvin_columns(KIND_SALES, &n);
	assert_int_equal(n, SC__N);
	assert_string_equal(c[SC_SALE_ID].name, "sale_id");
	assert_true(c[SC_SALE_ID].required);
	assert_true(c[SC_AMOUNT].required);
	assert_false(c[SC_CURRENCY].required);
	c = csvin_columns(KIND_DISTRIBUTORS, &n);
	assert_int_equal(n, DC__N);
	assert_string_equal(c[DC_JOIN_DATE].name, "join_date");
	assert_true(c[DC_NAME].required);
	assert_false(c[DC_SPONSOR_ID].required);
	c = csvin_columns(KIND_PRODUCTS, &n);
	assert_int_equal(n, PC__N);
	assert_string_equal(c[PC_CATEGORY].name, "category");
	assert_false(c[PC_CATEGORY].required);
	assert_true(DC__N <= CSVIN_MAX_COLS && SC__N <= CSVIN_MAX_COLS && PC__N <= CSVIN_MAX_COLS);

	assert_string_equal(csvin_kind_name(KIND_DISTRIBUTORS), "distributors");
	assert_string_equal(csvin_kind_name(KIND_SALES), "sales");
	assert_string_equal(csvin_kind_name(KIND_PRODUCTS), "products");
	assert_int_equal(csvin_column_index(KIND_SALES, "refund_of"), SC_REFUND_OF);
	assert_int_equal(csvin_column_index(KIND_PRODUCTS, "sku"), PC_SKU);
	assert_int_equal(csvin_column_index(KIND_DISTRIBUTORS, "sku"), -1);
	assert_int_equal(csvin_column_index(KIND_SALES, "Sale_ID"), -1);
}

/* ---- delimiter detection -------------------------------------------------- */

static char detect(const char *s)
{
	return csvin_detect_delimiter(s, strlen(s));
}

static void test_detect_delimiter(void **state)
{
	(void)state;
	assert_int_equal(detect("sku,name,pv,cv"), ',');
	assert_int_equal(detect("sku;name;pv;cv"), ';');
	assert_int_equal(detect("sku\tname\tpv\tcv"), '\t');
	/* none at all: comma */
	assert_int_equal(detect(""), ',');
	assert_int_equal(detect("sku"), ',');
	/* the most frequent wins */
	assert_int_equal(detect("a;b;c,d"), ';');
	assert_int_equal(detect("a,b,c;d"), ',');
	assert_int_equal(detect("a\tb\tc;d"), '\t');
	assert_int_equal(detect("a\tb\tc,d"), '\t');
	assert_int_equal(detect("a;b;c\td\te\tf"), '\t');
	/* ties with the comma go to the comma */
	assert_int_equal(detect("a,b;c"), ',');
	assert_int_equal(detect("a,b\tc"), ',');
	assert_int_equal(detect("a,b;c\td"), ',');
	assert_int_equal(detect("a\tb\tc,d,e"), ',');
	assert_int_equal(detect("a;b;c,d,e"), ',');
	/* a semicolon/tab tie (no comma) is not specified by the header; it is ';' today */
	assert_int_equal(detect("a;b\tc"), ';');
	/* delimiters inside quotes do not count */
	assert_int_equal(detect("\"a;b;c\",d"), ',');
	assert_int_equal(detect("\"Name, first\";\"Name, last\";id"), ';');
	assert_int_equal(detect("\"x\ty\tz\";a;b"), ';');
	assert_int_equal(detect("\"a,b,c,d\"\tx\ty"), '\t');
	/* a doubled quote inside a quoted name keeps the quoting state right */
	assert_int_equal(detect("\"say \"\"hi;there;now\"\"\";x,y"), ',');
	assert_int_equal(detect("\"a\"\"b,c,d\";e;f"), ';');
	/* only len bytes are looked at */
	assert_int_equal(csvin_detect_delimiter("a;b,c,d,e", 3), ';');
	assert_int_equal(csvin_detect_delimiter("a\tb;c;d", 3), '\t');
}

/* ---- UTF-8 validation ----------------------------------------------------- */

static int valid(const char *s)
{
	return csvin_valid_utf8(s, strlen(s));
}

static void test_valid_utf8(void **state)
{
	(void)state;
	assert_true(csvin_valid_utf8("", 0));
	assert_true(valid("plain ASCII ~ 0123"));
	assert_true(valid("\xC3\xA4\xC3\xB6\xC3\xBC\xC3\x9F\xE2\x82\xAC")); /* äöüß€ */
	assert_true(valid("\xF0\x9D\x84\x9E"));                             /* U+1D11E */
	assert_true(valid("\xC2\x80"));                                     /* U+0080, smallest 2-byte */
	assert_true(valid("\xDF\xBF"));                                     /* U+07FF */
	assert_true(valid("\xE0\xA0\x80"));                                 /* U+0800, smallest 3-byte */
	assert_true(valid("\xEF\xBF\xBF"));                                 /* U+FFFF */
	assert_true(valid("\xF0\x90\x80\x80"));                             /* U+10000, smallest 4-byte */
	assert_true(valid("\xF4\x8F\xBF\xBF"));                             /* U+10FFFF, the last */
	assert_true(valid("\xED\x9F\xBF"));                                 /* U+D7FF, before surrogates */
	assert_true(valid("\xEE\x80\x80"));                                 /* U+E000, after them */
	assert_true(valid("\xEF\xBB\xBF"));                                 /* a BOM inside text is a character */

	/* overlong forms */
	assert_false(valid("\xC0\x80"));
	assert_false(valid("\xC0\xAF"));
	assert_false(valid("\xC1\xBF"));
	assert_false(valid("\xE0\x80\x80"));
	assert_false(valid("\xE0\x9F\xBF"));
	assert_false(valid("\xF0\x80\x80\x80"));
	assert_false(valid("\xF0\x8F\xBF\xBF"));
	/* UTF-16 surrogates */
	assert_false(valid("\xED\xA0\x80"));
	assert_false(valid("\xED\xAD\xBF"));
	assert_false(valid("\xED\xB0\x80"));
	assert_false(valid("\xED\xBF\xBF"));
	/* past U+10FFFF and bytes that never start a sequence */
	assert_false(valid("\xF4\x90\x80\x80"));
	assert_false(valid("\xF5\x80\x80\x80"));
	assert_false(valid("\xF7\xBF\xBF\xBF"));
	assert_false(valid("\xF8\x88\x80\x80\x80"));
	assert_false(valid("\xFC\x84\x80\x80\x80\x80"));
	assert_false(valid("\xFE"));
	assert_false(valid("\xFF"));
	/* stray continuation bytes */
	assert_false(valid("\x80"));
	assert_false(valid("a\xBF"));
	assert_false(valid("\xC3\xA4\xA4"));
	/* truncated sequences, at the end and followed by ASCII */
	assert_false(valid("\xC3"));
	assert_false(valid("a\xE2\x82"));
	assert_false(valid("\xF0\x9F\x98"));
	assert_false(valid("\xC3" "A"));
	assert_false(valid("\xE2\x82" "A"));
	assert_false(valid("\xF0\x9F\x98" "A"));
	assert_false(valid("\xE2" "AB"));
	/* Latin-1 text is not UTF-8 */
	assert_false(valid("M\xFCller"));
	/* NUL bytes */
	assert_false(csvin_valid_utf8("a\0b", 3));
	assert_false(csvin_valid_utf8("\0", 1));
	/* only len bytes are looked at: a sequence cut by len is truncated */
	assert_false(csvin_valid_utf8("\xC3\xA4", 1));
	assert_true(csvin_valid_utf8("a\xC3\xA4", 1));
	assert_true(csvin_valid_utf8("ab\xFF", 2));
}

/* ---- basic reading, header mapping ---------------------------------------- */

static void test_basic(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv,category\nA1,Cream,10.50,8,skincare\nB2,Soap,1,2,\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_int_equal(x->rc.nerrs, 0);
	assert_row(x, 0, "2:A1|Cream|10.50|8|skincare");
	assert_row(x, 1, "3:B2|Soap|1|2|");
	assert_int_equal(csvin_rows(x->r), 2);
	assert_true(csvin_has_column(x->r, PC_CATEGORY));
	assert_int_equal(csvin_field_number(x->r, PC_CV), 4);
	assert_string_equal(csvin_header_name(x->r, PC_PV), "pv");
	run_done(x);

	/* Columns in any order; an optional column may be absent (NULL, not ""). */
	run_str(x, &f, "cv,pv,name,sku\n1,2,three,4\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "2:4|three|2|1|~");
	assert_false(csvin_has_column(x->r, PC_CATEGORY));
	assert_int_equal(csvin_field_number(x->r, PC_SKU), 4);
	assert_string_equal(csvin_header_name(x->r, PC_CATEGORY), "category");
	run_done(x);

	/* A header alone is a valid file with no rows. */
	run_str(x, &f, "sku,name,pv,cv\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 0);
	assert_int_equal(csvin_rows(x->r), 0);
	run_done(x);
}

static void test_header_mapping(void **state)
{
	(void)state;
	csvin_format f = format(KIND_SALES);
	f.header[SC_SALE_ID] = "Bestellnummer";
	f.header[SC_DISTRIBUTOR_ID] = "Berater";
	f.header[SC_DATE] = "Datum";
	f.header[SC_AMOUNT] = "Betrag (netto)";
	f.header[SC_SKU] = "Artikel";
	run *x = run_new();
	/* extra shop columns (Notiz, Lager) are ignored; spaces around names are trimmed */
	run_str(x, &f,
		"Notiz;Datum; Betrag (netto) ;Bestellnummer;Berater;Artikel;currency;Lager\n"
		"gift;01.11.2026;12,50;O-1;D-7;SKU-1;EUR;north\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "2:O-1|D-7|01.11.2026|12,50|EUR|SKU-1|~|~|~|~|~");
	assert_string_equal(csvin_header_name(x->r, SC_AMOUNT), "Betrag (netto)");
	assert_string_equal(csvin_header_name(x->r, SC_SALE_ID), "Bestellnummer");
	assert_string_equal(csvin_header_name(x->r, SC_CURRENCY), "currency");
	assert_int_equal(csvin_field_number(x->r, SC_SALE_ID), 4);
	assert_int_equal(csvin_field_number(x->r, SC_AMOUNT), 3);
	assert_true(csvin_has_column(x->r, SC_SKU));
	assert_false(csvin_has_column(x->r, SC_PV));
	run_done(x);

	/* With a mapping, the canonical name no longer matches that column. */
	run_str(x, &f, "sale_id;Berater;Datum;Betrag (netto)\nO-1;D-7;2026-11-01;1\n");
	assert_fails(x, "t.csv:1:1: required column \"sale_id\" (mapped to \"Bestellnummer\") is missing from the header");
	assert_int_equal(x->rc.nrows, 0);
	run_done(x);

	/* Header names match exactly: case matters. */
	f = format(KIND_PRODUCTS);
	run_str(x, &f, "SKU,name,pv,cv\nA,b,1,2\n");
	assert_fails(x, "t.csv:1:1: required column \"sku\" is missing from the header");
	run_done(x);
}

static void test_missing_required_column(void **state)
{
	(void)state;
	csvin_format f = format(KIND_SALES);
	run *x = run_new();
	run_str(x, &f, "sale_id,distributor_id,amount\nS1,D1,5\n");
	assert_fails(x, "t.csv:1:1: required column \"date\" is missing from the header");
	assert_int_equal(x->rc.nrows, 0);
	assert_int_equal(x->rc.nerrs, 0);
	run_done(x);

	f = format(KIND_DISTRIBUTORS);
	run_str(x, &f, "distributor_id;sponsor_id;join_date\n");
	assert_fails(x, "t.csv:1:1: required column \"name\" is missing from the header");
	run_done(x);

	/* Optional columns may all be missing. */
	run_str(x, &f, "distributor_id;name;join_date\nD1;Ann;2026-01-01\n");
	assert_ok(x);
	assert_row(x, 0, "2:D1|~|Ann|2026-01-01|~|~|~|~|~|~|~|~");
	run_done(x);
}

static void test_duplicate_header_column(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,sku,cv\nA,b,1,A,2\n");
	assert_fails(x, "t.csv:1:4: column \"sku\" appears twice in the header (also column 1)");
	assert_int_equal(x->rc.nrows, 0);
	run_done(x);

	/* also when one spelling has spaces around it */
	run_str(x, &f, "sku,name,pv,cv, cv \n");
	assert_fails(x, "t.csv:1:5: column \"cv\" appears twice in the header (also column 4)");
	run_done(x);

	/* an unknown column may repeat: it is ignored */
	run_str(x, &f, "note,sku,name,note,pv,cv\nx,A,b,y,1,2\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|b|1|2|~");
	run_done(x);
}

static void test_empty_files(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "");
	assert_fails(x, "t.csv:1:1: the file is empty: a header line is required");
	assert_int_equal(csvin_bytes(x->r), 0);
	run_done(x);

	run_str(x, &f, "\xEF\xBB\xBF");
	assert_fails(x, "t.csv:1:1: the file is empty: a header line is required");
	assert_int_equal(csvin_bytes(x->r), 3);
	run_done(x);

	run_str(x, &f, "\n\r\n\n");
	assert_fails(x, "t.csv:1:1: the file is empty: a header line is required");
	run_done(x);
}

/* ---- fields ------------------------------------------------------------- */

static void test_trimming(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		" sku ,\tname\t, pv,cv ,category\n"
		"  A1  ,\t Cream  deluxe \t,  1 ,2,   \n"
		"\" B2 \",\"  spaced  \",3,4,\"\"\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	/* inner spaces stay; surrounding spaces and tabs go, quoted or not */
	assert_row(x, 0, "2:A1|Cream  deluxe|1|2|");
	assert_row(x, 1, "3:B2|spaced|3|4|");
	run_done(x);
}

static void test_quoting(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku,name,pv,cv,category\n"
		"A,\"Cream, large\",1,2,\"a;b\"\n"
		"B,\"say \"\"hi\"\"\",3,4,\"\"\"\"\n"
		"C,\"two\nlines\",5,6,x\n"
		"D,\"three\n\nlines, with a blank one\",7,8,y\n"
		"E,plain,9,10,z\n"
		"\"F\",\"\",\"11\",\"12\",\"\"\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 6);
	assert_row(x, 0, "2:A|Cream, large|1|2|a;b");
	assert_row(x, 1, "3:B|say \"hi\"|3|4|\"");
	/* a row's line is the line it starts on; rows after it keep their real lines */
	assert_row(x, 2, "4:C|two\\nlines|5|6|x");
	assert_row(x, 3, "6:D|three\\n\\nlines, with a blank one|7|8|y");
	assert_row(x, 4, "9:E|plain|9|10|z");
	assert_row(x, 5, "10:F||11|12|");
	run_done(x);

	/* a quoted semicolon file */
	f.delimiter = 0;
	run_str(x, &f, "sku;name;pv;cv\n\"A;1\";\"x;y\";1;2\n");
	assert_ok(x);
	assert_row(x, 0, "2:A;1|x;y|1|2|~");
	run_done(x);
}

static void test_quoted_newlines_crlf(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku,name,pv,cv\r\n"
		"A,\"one\r\ntwo\r\nthree\",1,2\r\n"
		"\r\n"
		"B,b,3,4\r\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	/* the quoted line ends are kept as they are */
	assert_row(x, 0, "2:A|one\\r\\ntwo\\r\\nthree|1|2|~");
	assert_row(x, 1, "6:B|b|3|4|~");
	run_done(x);
}

static void test_blank_lines(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku,name,pv,cv\n"
		"\n"
		"A,a,1,2\n"
		"\n"
		"\r\n"
		"\n"
		"B,b,3,4\n"
		"\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "3:A|a|1|2|~");
	assert_row(x, 1, "7:B|b|3|4|~");
	assert_int_equal(csvin_rows(x->r), 2);
	run_done(x);

	/* blank lines before the header: the header and rows keep their real lines */
	run_str(x, &f, "\n\nsku,name,pv,cv\nA,a,1,2\n");
	assert_ok(x);
	assert_row(x, 0, "4:A|a|1|2|~");
	run_done(x);
	run_str(x, &f, "\n\nsku,name,pv\nA,a,1\n");
	assert_fails(x, "t.csv:3:1: required column \"cv\" is missing from the header");
	run_done(x);
}

/*
 * BUG (daemon/csvin.c, feed_line): the delimiter is detected from the first
 * physical line even when that line is blank, so a file whose header comes
 * after a blank line is always read as comma-separated. Expected: ';' is
 * detected from the header line (SPEC 3: "detected from the header line").
 */
static void test_blank_line_before_semicolon_header(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "\nsku;name;pv;cv\nA;a;1;2\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "3:A|a|1|2|~");
	run_done(x);
}

static void test_empty_rows_skipped(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	/* rows of only empty (or blank) fields, with fewer fields than the header */
	run_str(x, &f,
		"sku;name;pv;cv;category\n"
		"A;a;1;2;x\n"
		";;\n"
		" ; ;\t\n"
		";\n"
		"B;b;3;4;y\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "2:A|a|1|2|x");
	assert_row(x, 1, "6:B|b|3|4|y");
	assert_int_equal(csvin_rows(x->r), 2);
	run_done(x);

	/* a quoted empty field is still empty; more fields than the header too */
	run_str(x, &f, "sku;name;pv;cv;category\n\"\";;;;;;;\nB;b;3;4;y\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "3:B|b|3|4|y");
	run_done(x);
}

/*
 * BUG (daemon/csvin.c, take_row): a row of only empty fields is skipped only
 * when its field count differs from the header's. The usual spreadsheet
 * padding row has exactly as many (empty) fields as the header (";;;;" under
 * a five-column header) and is passed on as a data row of empty strings
 * (which ingest then reports as empty required fields, rejecting the file).
 * Expected: skipped like the other all-empty rows, not counted.
 */
static void test_padding_rows_with_header_width(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku;name;pv;cv;category\n"
		"A;a;1;2;x\n"
		";;;;\n"
		" ; ; ;\t; \n"
		"B;b;3;4;y\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "2:A|a|1|2|x");
	assert_row(x, 1, "5:B|b|3|4|y");
	assert_int_equal(csvin_rows(x->r), 2);
	run_done(x);
}

static void test_wrong_field_count(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku,name,pv,cv\n"
		"A,a,1\n"
		"B,b,2,3\n"
		"C,\"c\nc\",2,3,4,5\n"
		"D,d,4,5\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 2);
	assert_err(x, 0, "2:-1:~:expected 4 fields as in the header, found 3");
	assert_err(x, 1, "4:-1:~:expected 4 fields as in the header, found 6");
	/* the bad rows are not passed on; the rest keep their lines */
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "3:B|b|2|3|~");
	assert_row(x, 1, "6:D|d|4|5|~");
	/* rows seen: the bad ones count */
	assert_int_equal(csvin_rows(x->r), 4);
	run_done(x);

	/* more fields than CSVIN_MAX_FIELDS in a row is a field-count error too */
	buf b = {0};
	buf_adds(&b, "sku,name,pv,cv\nA");
	for (int i = 0; i < CSVIN_MAX_FIELDS + 10; i++)
		buf_adds(&b, ",x");
	buf_adds(&b, "\nB,b,1,2\n");
	run_buf(x, &f, b.p, b.len);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 1);
	char want[128];
	snprintf(want, sizeof want, "2:-1:~:expected 4 fields as in the header, found %d",
		 CSVIN_MAX_FIELDS + 11);
	assert_err(x, 0, want);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "3:B|b|1|2|~");
	run_done(x);
	free(b.p);
}

static void test_header_too_wide(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	buf b = {0};
	buf_adds(&b, "sku,name,pv,cv");
	for (int i = 0; i < CSVIN_MAX_FIELDS; i++)
		buf_adds(&b, ",extra");
	buf_adds(&b, "\n");
	run *x = run_new();
	run_buf(x, &f, b.p, b.len);
	char want[128];
	snprintf(want, sizeof want, "t.csv:1:1: the header has more than %d columns", CSVIN_MAX_FIELDS);
	assert_fails(x, want);
	run_done(x);
	free(b.p);
}

static void test_bom_crlf_lf_last_line(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	const char *bom_crlf = "\xEF\xBB\xBFsku,name,pv,cv\r\nA,n,1,2\r\n";
	run_str(x, &f, bom_crlf);
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "2:A|n|1|2|~");
	/* the BOM is hashed and counted: these are the file's bytes */
	assert_int_equal(csvin_bytes(x->r), strlen(bom_crlf));
	char hex[65];
	csvin_sha256_hex(x->r, hex);
	assert_string_equal(hex, "ef0504e4ad4257869a3724147ada299fd88ac9e4dbd3fa781373fbbb885a00aa");
	run_done(x);

	/* the last line without a line end, LF */
	run_str(x, &f, "sku,name,pv,cv\nA,a,1,2\nB,b,3,4");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 1, "3:B|b|3|4|~");
	run_done(x);

	/* ... CRLF, and a quoted last field */
	run_str(x, &f, "sku,name,pv,cv\r\nA,a,1,2\r\nB,b,3,\"4\"");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 1, "3:B|b|3|4|~");
	run_done(x);

	/* ... a header alone without a line end */
	run_str(x, &f, "sku,name,pv,cv");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 0);
	run_done(x);

	/* ... a last line ending in a lone CR */
	run_str(x, &f, "sku,name,pv,cv\nA,a,1,2\r");
	assert_ok(x);
	assert_row(x, 0, "2:A|a|1|2|~");
	run_done(x);

	/* a BOM only counts at the very start: elsewhere it is data */
	run_str(x, &f, "sku,name,pv,cv\nA,\xEF\xBB\xBFx,1,2\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|\xEF\xBB\xBFx|1|2|~");
	run_done(x);
}

/*
 * BUG (daemon/csvin.c, feed_text/feed_line): libcsv ends a row at a bare CR
 * (classic Mac line ends, Excel's "CSV (Macintosh)" export), but csvin only
 * counts '\n' as a line end and only sets a row's line at the start of a
 * physical line. So every row of a CR-only file is reported at line 1 (the
 * header's line), and in a LF file a row that follows a bare CR gets the
 * previous row's line. Expected: either such files are rejected, or rows
 * carry the lines they start on (2 and 3 here).
 */
static void test_bare_cr_line_ends(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv\rA,a,1,2\rB,b,3,4\r");
	if (x->ret == 0) {
		assert_int_equal(x->rc.nrows, 2);
		assert_row(x, 0, "2:A|a|1|2|~");
		assert_row(x, 1, "3:B|b|3|4|~");
	}
	run_done(x);
}

static void test_explicit_delimiters(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	/* a header with more commas than semicolons, read as ';' because the input says so */
	f.delimiter = ';';
	run_str(x, &f, "sku;name;pv;cv;category\nA;Cream, large, white;1,5;2,5;a,b\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|Cream, large, white|1,5|2,5|a,b");
	run_done(x);

	f.delimiter = '\t';
	run_str(x, &f, "sku\tname\tpv\tcv\tcategory\nA\tx;y,z\t1\t2\tc\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|x;y,z|1|2|c");
	run_done(x);

	f.delimiter = ',';
	run_str(x, &f, "sku,name,pv,cv\nA,\"x\ty\",1,2\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|x\\ty|1|2|~");
	run_done(x);
}

static void test_tab_empty_fields(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	/* empty cells between tabs, at the start and at the end of a row */
	run_str(x, &f, "sku\tname\tpv\tcv\tcategory\nA\t\t1\t2\t\n\tb\t3\t4\tc\nC\t c \t5\t6\t \n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 3);
	assert_row(x, 0, "2:A||1|2|");
	assert_row(x, 1, "3:|b|3|4|c");
	assert_row(x, 2, "4:C|c|5|6|");
	run_done(x);
}

/* ---- bad bytes ---------------------------------------------------------- */

static void test_invalid_utf8_row_error(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f,
		"sku,name,pv,cv,category\n"
		"A,M\xFCller,1,2,ok\n"
		"B,b,3,4,\xC3\n"
		"C,\xC0\xAF,5,6,\xED\xA0\x80\n"
		"D,Gr\xC3\xBC\xC3\x9F""e,7,8,\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 4);
	assert_err(x, 0, "2:1:M\xFCller:not valid UTF-8 (check the input's encoding)");
	assert_err(x, 1, "3:4:\xC3:not valid UTF-8 (check the input's encoding)");
	assert_err(x, 2, "4:1:\xC0\xAF:not valid UTF-8 (check the input's encoding)");
	assert_err(x, 3, "4:4:\xED\xA0\x80:not valid UTF-8 (check the input's encoding)");
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "5:D|Gr\xC3\xBC\xC3\x9F""e|7|8|");
	assert_int_equal(csvin_rows(x->r), 4);
	run_done(x);

	/* "utf8" means UTF-8 too */
	f.encoding = "UTF8";
	run_str(x, &f, "sku,name,pv,cv\nA,\xFF,1,2\n");
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 1);
	assert_err(x, 0, "2:1:\xFF:not valid UTF-8 (check the input's encoding)");
	run_done(x);
}

static void test_nul_byte(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	static const char data[] = "sku,name,pv,cv\nA,x\0y,1,2\nB,b,3,4\n";
	run_buf(x, &f, data, sizeof data - 1);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 1);
	assert_err(x, 0, "2:1:x\\x00y:contains a NUL byte");
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "3:B|b|3|4|~");
	run_done(x);

	/* a NUL byte in a quoted field, at the start of a field */
	static const char data2[] = "sku,name,pv,cv\nA,\"\0\",1,2\n";
	run_buf(x, &f, data2, sizeof data2 - 1);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 1);
	assert_err(x, 0, "2:1:\\x00:contains a NUL byte");
	assert_int_equal(x->rc.nrows, 0);
	run_done(x);
}

/* ---- encodings ---------------------------------------------------------- */

static void test_windows_1252(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	f.encoding = "windows-1252";
	run *x = run_new();
	static const char data[] = "sku;name;pv;cv\nA;\xE4\xF6\xFC\xDF\x80;1;2\nB;\x93q\x94 \x96 \xA9;3;4\n";
	run_buf(x, &f, data, sizeof data - 1);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "2:A|\xC3\xA4\xC3\xB6\xC3\xBC\xC3\x9F\xE2\x82\xAC|1|2|~"); /* äöüß€ */
	assert_row(x, 1, "3:B|\xE2\x80\x9Cq\xE2\x80\x9D \xE2\x80\x93 \xC2\xA9|3|4|~");
	/* hash and size are of the raw bytes, before conversion */
	char hex[65], want[65];
	csvin_sha256_hex(x->r, hex);
	sha256_hex(data, sizeof data - 1, want);
	assert_string_equal(hex, want);
	assert_int_equal(csvin_bytes(x->r), sizeof data - 1);
	run_done(x);

	/* the iconv name is case-insensitive, and CP1252 is the same table */
	f.encoding = "CP1252";
	run_str(x, &f, "sku,name,pv,cv\n\xC4,\x80,1,2\n");
	assert_ok(x);
	assert_row(x, 0, "2:\xC3\x84|\xE2\x82\xAC|1|2|~");
	run_done(x);
}

static void test_iso_8859_1(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	f.encoding = "iso-8859-1";
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv\nA,\xE4\xF6\xFC\xDF,1,2\nB,\xA4\x80\xFF,3,4\n");
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_row(x, 0, "2:A|\xC3\xA4\xC3\xB6\xC3\xBC\xC3\x9F|1|2|~");
	/* Latin-1 has no euro sign: 0xA4 is the currency sign ¤, 0x80 a C1 control */
	assert_row(x, 1, "3:B|\xC2\xA4\xC2\x80\xC3\xBF|3|4|~");
	run_done(x);

	f.encoding = "ISO-8859-15";
	run_str(x, &f, "sku,name,pv,cv\nA,\xA4,1,2\n");
	assert_ok(x);
	assert_row(x, 0, "2:A|\xE2\x82\xAC|1|2|~");
	run_done(x);
}

static void test_windows_1252_undefined_byte(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	f.encoding = "windows-1252";
	run *x = run_new();
	static const char data[] = "sku,name,pv,cv\nA,a,1,2\n\nB,x\x81y,3,4\nC,c,5,6\n";
	run_buf(x, &f, data, sizeof data - 1);
	assert_fails_like(x, "t.csv:4:", "byte 0x81 cannot be read as windows-1252");
	/* the file is hashed to the end even though reading stopped */
	char hex[65], want[65];
	csvin_sha256_hex(x->r, hex);
	sha256_hex(data, sizeof data - 1, want);
	assert_string_equal(hex, want);
	assert_int_equal(csvin_bytes(x->r), sizeof data - 1);
	run_done(x);
}

static void test_unknown_encoding(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	f.encoding = "klingon-7";
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv\n");
	assert_fails(x, "t.csv: unknown encoding \"klingon-7\"");
	run_done(x);
}

/* ---- structural errors -------------------------------------------------- */

static void test_unterminated_quote(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv\nA,a,1,2\nB,\"never closed,3,4\nC,c,5,6\n");
	assert_fails_like(x, "t.csv:", "unterminated quote in the row starting at line 3");
	/* the row before it was read; nothing after the open quote was */
	assert_int_equal(x->rc.nrows, 1);
	assert_row(x, 0, "2:A|a|1|2|~");
	run_done(x);

	run_str(x, &f, "sku,name,pv,cv\nA,\"");
	assert_fails_like(x, "t.csv:", "unterminated quote in the row starting at line 2");
	run_done(x);
}

static void test_text_after_quote(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "sku,name,pv,cv\nA,a,1,2\nB,\"a\"b,3,4\nC,c,5,6\n");
	assert_fails(x, "t.csv:3:1: malformed CSV quoting in the row starting at line 3 (a quote inside an unquoted field, or text after a closing quote)");
	assert_int_equal(x->rc.nrows, 1);
	run_done(x);

	/* in a row that started two lines earlier */
	run_str(x, &f, "sku,name,pv,cv\nB,\"a\nb\nc\"d,3,4\n");
	assert_fails_like(x, "t.csv:4:1: malformed CSV quoting", "starting at line 2");
	run_done(x);

	/* a quote inside an unquoted field */
	run_str(x, &f, "sku,name,pv,cv\nB,ab\"c,3,4\n");
	assert_fails_like(x, "t.csv:2:1: malformed CSV quoting", "starting at line 2");
	run_done(x);
}

/*
 * libcsv grows a field's buffer 128 bytes at a time (csvin does not call
 * csv_set_blk_size), so one field of ~1 MiB costs ~8000 reallocs. glibc
 * does that quickly; under AddressSanitizer every realloc is a fresh mmap
 * and a copy, ~40 s per such field. The single-huge-field cases therefore
 * run in the plain build only; the many-fields variants run everywhere.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void assert_hashed_whole(const run *x, const buf *b)
{
	char hex[65], want[65];
	assert_int_equal(csvin_bytes(x->r), b->len);
	csvin_sha256_hex(x->r, hex);
	sha256_hex(b->p, b->len, want);
	assert_string_equal(hex, want);
}

#define ROW_MSG "t.csv:3:1: the row starting here is longer than %u bytes (an unterminated quote?)"

/* A row over CSVIN_MAX_ROW stops the read at once; the file is only as big as needed. */
static void test_row_too_long(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	char want[160];
	run *x = run_new();
	buf b = {0};

	/* one physical line, longer than the limit (it spans read chunks) */
	buf_adds(&b, "sku,name,pv,cv\nA,a,1,2\nB,");
	buf_fill(&b, 'x', CSVIN_MAX_ROW + 10);
	buf_adds(&b, ",3,4\nC,c,5,6\n");
	run_buf(x, &f, b.p, b.len);
	snprintf(want, sizeof want, "t.csv:3:1: line is longer than %u bytes", CSVIN_MAX_ROW);
	assert_fails(x, want);
	assert_int_equal(x->rc.nrows, 1); /* row C is never reached */
	assert_int_equal(x->rc.nerrs, 0);
	assert_hashed_whole(x, &b);       /* yet the file is hashed to its end */
	run_done(x);

	/* every line ends inside a quote, so the row never ends: "x","y<LF>x","y<LF>... */
	b.len = 0;
	buf_adds(&b, "sku,name,pv,cv\nA,a,1,2\nB,\"open\n");
	while (b.len < CSVIN_MAX_ROW + 4096)
		buf_adds(&b, "x\",\"y\n");
	buf_adds(&b, "z\",3,4\nC,c,5,6\n");
	run_buf(x, &f, b.p, b.len);
	snprintf(want, sizeof want, ROW_MSG, CSVIN_MAX_ROW);
	assert_fails(x, want);
	assert_int_equal(x->rc.nrows, 1);
	assert_int_equal(x->rc.nerrs, 0);
	assert_hashed_whole(x, &b);
	run_done(x);

#ifndef UNDER_ASAN
	/* an open quote swallowing the rest of the file as one field */
	b.len = 0;
	buf_adds(&b, "sku,name,pv,cv\nA,a,1,2\nB,\"open\n");
	while (b.len < CSVIN_MAX_ROW + 4096)
		buf_adds(&b, "C,c,5,6\n");
	run_buf(x, &f, b.p, b.len);
	snprintf(want, sizeof want, ROW_MSG, CSVIN_MAX_ROW);
	assert_fails(x, want);
	assert_int_equal(x->rc.nrows, 1);
	run_done(x);

	/* one field just under the limit is fine */
	b.len = 0;
	buf_adds(&b, "sku,name,pv,cv\nA,");
	buf_fill(&b, 'y', CSVIN_MAX_ROW - 100);
	buf_adds(&b, ",1,2\nB,b,3,4\n");
	run_buf(x, &f, b.p, b.len);
	assert_ok(x);
	assert_int_equal(x->rc.nrows, 2);
	assert_int_equal(strlen(x->rc.rows[0]), strlen("2:A||1|2|~") + CSVIN_MAX_ROW - 100);
	assert_row(x, 1, "3:B|b|3|4|~");
	run_done(x);
#endif

	/* a row just under the limit, in 200 fields of ~5 KiB, spanning the chunk boundary */
	enum { NF = 200, FW = (int)(CSVIN_MAX_ROW / NF) - 40 };
	b.len = 0;
	buf_adds(&b, "sku,name,pv,cv");
	for (int i = 4; i < NF; i++) {
		char h[16];
		snprintf(h, sizeof h, ",x%d", i);
		buf_adds(&b, h);
	}
	buf_adds(&b, "\n");
	for (int r = 0; r < 20; r++) { /* 60 KiB of ordinary rows first */
		buf_adds(&b, "P,");
		buf_fill(&b, 'p', 3000);
		buf_adds(&b, ",1,2");
		buf_fill(&b, ',', NF - 4);
		buf_adds(&b, "\n");
	}
	size_t row_start = b.len;
	buf_adds(&b, "A,\"");
	buf_fill(&b, 'n', FW);
	buf_adds(&b, "\n");          /* a quoted line end in the middle */
	buf_fill(&b, 'n', FW);
	buf_adds(&b, "\",1,2");
	for (int i = 4; i < NF; i++) {
		buf_adds(&b, ",");
		buf_fill(&b, 'z', FW);
	}
	buf_adds(&b, "\nB,b,3,4");
	for (int i = 4; i < NF; i++)
		buf_adds(&b, ",");
	buf_adds(&b, "\n");
	assert_true(b.len - row_start < CSVIN_MAX_ROW);
	assert_true(b.len > CHUNK_SIZE);
	run_buf(x, &f, b.p, b.len);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 22);
	assert_true(row_start < CHUNK_SIZE && b.len > CHUNK_SIZE);
	assert_int_equal(strlen(x->rc.rows[20]), strlen("22:A|\\n|1|2|~") + 2 * (size_t)FW);
	assert_int_equal(strncmp(x->rc.rows[20], "22:A|nnn", 8), 0);
	assert_row(x, 21, "24:B|b|3|4|~");
	run_done(x);
	free(b.p);
}

static void test_callback_stops(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	x->rc.stop_at = 2;
	static const char data[] = "sku,name,pv,cv\nA,a,1,2\nB,b,3,4\nC,c,5,6\n";
	run_buf(x, &f, data, sizeof data - 1);
	assert_int_equal(x->ret, -1);
	assert_string_equal(x->err.msg, "stopped by the callback at line 3");
	assert_int_equal(x->rc.nrows, 2);
	char hex[65], want[65];
	csvin_sha256_hex(x->r, hex);
	sha256_hex(data, sizeof data - 1, want);
	assert_string_equal(hex, want);
	run_done(x);
}

/* ---- hashing and counting ------------------------------------------------ */

static void test_sha256_and_counts(void **state)
{
	(void)state;
	/* sha256("a,b\n1,2\n"), from sha256sum(1); the header lacks the columns, so
	 * reading fails at line 1, yet the whole file is hashed and counted */
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	run_str(x, &f, "a,b\n1,2\n");
	assert_int_equal(x->ret, -1);
	char hex[65];
	csvin_sha256_hex(x->r, hex);
	assert_string_equal(hex, "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470");
	assert_int_equal(csvin_bytes(x->r), 8);
	run_done(x);

	/* the empty file */
	run_str(x, &f, "");
	csvin_sha256_hex(x->r, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	run_done(x);

	/* reading starts at the fd's current offset */
	static const char data[] = "garbage\nsku,name,pv,cv\nA,a,1,2\n";
	int fd = memfd_with(data, sizeof data - 1);
	assert_int_equal(lseek(fd, 8, SEEK_SET), 8);
	run_fd(x, fd, &f);
	assert_ok(x);
	assert_int_equal(csvin_bytes(x->r), sizeof data - 1 - 8);
	assert_row(x, 0, "2:A|a|1|2|~");
	run_done(x);
}

/* ---- chunk boundaries ----------------------------------------------------- */

/*
 * A generated file of more than 1 MiB: filler rows "S<line>,name <line>,1,2"
 * and one special row placed so that byte `at` of its text falls exactly at
 * offset CHUNK_SIZE. Rows are checked as they arrive.
 */
typedef struct gen {
	buf b;
	long line;            /* next line number */
	long special_line;
	const char *special_name; /* expected name of the special row */
	long nfiller;
	const char *eol;
} gen;

static void gen_filler(gen *g, size_t until)
{
	char row[96];
	while (g->b.len < until) {
		snprintf(row, sizeof row, "S%07ld,name %ld,1,2%s", g->line, g->line, g->eol);
		buf_adds(&g->b, row);
		g->line++;
		g->nfiller++;
	}
}

/* Adds head + 'x' * k + tail such that tail[at] lands at CHUNK_SIZE. */
static void gen_special(gen *g, const char *head, const char *tail, size_t tail_len, size_t at,
			long lines)
{
	gen_filler(g, CHUNK_SIZE - 200);
	size_t k = CHUNK_SIZE - g->b.len - strlen(head) - at;
	buf_adds(&g->b, head);
	buf_fill(&g->b, 'x', k);
	buf_add(&g->b, tail, tail_len);
	assert_int_equal((unsigned char)g->b.p[CHUNK_SIZE], (unsigned char)tail[at]);
	g->special_line = g->line;
	g->line += lines;
	gen_filler(g, CHUNK_SIZE + CHUNK_SIZE / 2);
}

static const char *check_gen_row(rec *rc, const csvin_row *row)
{
	gen *g = rc->user;
	char want[64];
	if (!row->val[PC_SKU] || !row->val[PC_NAME] || !row->val[PC_CV])
		return "a column is missing";
	if (row->line == g->special_line) {
		if (strcmp(row->val[PC_SKU], "SPECIAL") != 0)
			return "the special row has the wrong sku";
		const char *name = row->val[PC_NAME];
		size_t nl = strlen(name), el = strlen(g->special_name);
		/* name = 'x' * k + expected tail of the name */
		if (nl < el || strcmp(name + nl - el, g->special_name) != 0)
			return "the special row's name is wrong";
		for (size_t i = 0; i < nl - el; i++)
			if (name[i] != 'x')
				return "the special row's name is wrong";
		return NULL;
	}
	snprintf(want, sizeof want, "S%07ld", row->line);
	if (strcmp(row->val[PC_SKU], want) != 0)
		return "a filler row has the wrong line number";
	snprintf(want, sizeof want, "name %ld", row->line);
	if (strcmp(row->val[PC_NAME], want) != 0)
		return "a filler row has the wrong name";
	if (strcmp(row->val[PC_PV], "1") != 0 || strcmp(row->val[PC_CV], "2") != 0)
		return "a filler row has wrong volumes";
	return NULL;
}

static void run_gen(gen *g, const csvin_format *f)
{
	run *x = run_new();
	x->rc.check = check_gen_row;
	x->rc.user = g;
	run_buf(x, f, g->b.p, g->b.len);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, g->nfiller + 1);
	assert_int_equal(csvin_rows(x->r), g->nfiller + 1);
	assert_int_equal(csvin_bytes(x->r), g->b.len);
	char hex[65], want[65];
	csvin_sha256_hex(x->r, hex);
	sha256_hex(g->b.p, g->b.len, want);
	assert_string_equal(hex, want);
	run_done(x);
	free(g->b.p);
}

static void gen_start(gen *g, const char *eol)
{
	memset(g, 0, sizeof *g);
	g->eol = eol;
	buf_adds(&g->b, "sku,name,pv,cv");
	buf_adds(&g->b, eol);
	g->line = 2;
}

static void test_chunk_boundary(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	gen g;

	/* a line spanning the boundary, split inside a two-byte character */
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,", "\xC3\xA4,1,2\n", 7, 1, 1);
	g.special_name = "\xC3\xA4";
	run_gen(&g, &f);

	/* split inside a four-byte character */
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,", "\xF0\x9F\x98\x80z,1,2\n", 10, 3, 1);
	g.special_name = "\xF0\x9F\x98\x80z";
	run_gen(&g, &f);

	/* the boundary right after a line end: the next line starts a chunk */
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,", "e,1,2\n", 6, 6, 1);
	g.special_name = "e";
	assert_int_equal(g.b.p[CHUNK_SIZE - 1], '\n');
	run_gen(&g, &f);

	/* CRLF split between its two bytes */
	gen_start(&g, "\r\n");
	gen_special(&g, "SPECIAL,", "c,1,2\r\n", 7, 6, 1);
	g.special_name = "c";
	run_gen(&g, &f);

	/* a quoted field whose line end falls on the boundary: the row spans two lines */
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,\"", "\nq\",1,2\n", 8, 0, 2);
	g.special_name = "\nq";
	run_gen(&g, &f);

	/* a doubled quote split across the boundary */
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,\"", "\"\"q\",1,2\n", 9, 1, 1);
	g.special_name = "\"q";
	run_gen(&g, &f);
}

static void test_chunk_boundary_windows_1252(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	f.encoding = "windows-1252";
	gen g;
	gen_start(&g, "\n");
	gen_special(&g, "SPECIAL,", "\x80\xE4,1,2\n", 7, 1, 1);
	g.special_name = "\xE2\x82\xAC\xC3\xA4";
	run_gen(&g, &f);
}

/* ---- short reads ---------------------------------------------------------- */

static void run_pieces(run *x, const csvin_format *f, const char *const *p, size_t n)
{
	size_t lens[16];
	assert_true(n <= 16);
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(p[i]);
	run_fd(x, pieces_fd(p, lens, n), f);
}

static void test_short_reads(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	/* lines, a character, a CRLF and a quoted field split across reads */
	const char *p1[] = {"sk", "u,name,pv,cv\r", "\nA,M\xC3", "\xBCller,1,2\r\nB,\"x", "\ny\",3,4\n",
			    "C,c", ",5,6"};
	run_pieces(x, &f, p1, 7);
	assert_ok(x);
	assert_int_equal(x->rc.nerrs, 0);
	assert_int_equal(x->rc.nrows, 3);
	assert_row(x, 0, "2:A|M\xC3\xBCller|1|2|~");
	assert_row(x, 1, "3:B|x\\ny|3|4|~");
	assert_row(x, 2, "5:C|c|5|6|~");
	size_t total = 0;
	for (size_t i = 0; i < 7; i++)
		total += strlen(p1[i]);
	assert_int_equal(csvin_bytes(x->r), total);
	run_done(x);

	/* a BOM in one piece of its own */
	const char *p2[] = {"\xEF\xBB\xBF", "sku,name,pv,cv\nA,a,1,2\n"};
	run_pieces(x, &f, p2, 2);
	assert_ok(x);
	assert_row(x, 0, "2:A|a|1|2|~");
	run_done(x);

	/* windows-1252 in single bytes */
	f.encoding = "windows-1252";
	const char *p3[] = {"sku,name,pv,cv\nA,", "\x80", "\xE4", ",1,2\n"};
	run_pieces(x, &f, p3, 4);
	assert_ok(x);
	assert_row(x, 0, "2:A|\xE2\x82\xAC\xC3\xA4|1|2|~");
	run_done(x);
}

/*
 * BUG (daemon/csvin.c, csvin_read): the byte order mark is only recognised
 * when the first read() returns at least 3 bytes. From a pipe or socket that
 * delivers the BOM in pieces, it is kept as part of the first header name,
 * so "sku" is not found. Expected: the BOM is dropped however the reads fall.
 * (Regular files are read in 1 MiB chunks, so the daemon's own inbox files
 * are not affected; csvin_new accepts any fd.)
 */
static void test_bom_split_across_reads(void **state)
{
	(void)state;
	csvin_format f = format(KIND_PRODUCTS);
	run *x = run_new();
	const char *p[] = {"\xEF", "\xBB\xBFsku,name,pv,cv\nA,a,1,2\n"};
	run_pieces(x, &f, p, 2);
	assert_ok(x);
	assert_row(x, 0, "2:A|a|1|2|~");
	run_done(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_columns, free_runs),
		cmocka_unit_test_teardown(test_detect_delimiter, free_runs),
		cmocka_unit_test_teardown(test_valid_utf8, free_runs),
		cmocka_unit_test_teardown(test_basic, free_runs),
		cmocka_unit_test_teardown(test_header_mapping, free_runs),
		cmocka_unit_test_teardown(test_missing_required_column, free_runs),
		cmocka_unit_test_teardown(test_duplicate_header_column, free_runs),
		cmocka_unit_test_teardown(test_empty_files, free_runs),
		cmocka_unit_test_teardown(test_trimming, free_runs),
		cmocka_unit_test_teardown(test_quoting, free_runs),
		cmocka_unit_test_teardown(test_quoted_newlines_crlf, free_runs),
		cmocka_unit_test_teardown(test_blank_lines, free_runs),
		cmocka_unit_test_teardown(test_blank_line_before_semicolon_header, free_runs),
		cmocka_unit_test_teardown(test_empty_rows_skipped, free_runs),
		cmocka_unit_test_teardown(test_padding_rows_with_header_width, free_runs),
		cmocka_unit_test_teardown(test_wrong_field_count, free_runs),
		cmocka_unit_test_teardown(test_header_too_wide, free_runs),
		cmocka_unit_test_teardown(test_bom_crlf_lf_last_line, free_runs),
		cmocka_unit_test_teardown(test_bare_cr_line_ends, free_runs),
		cmocka_unit_test_teardown(test_explicit_delimiters, free_runs),
		cmocka_unit_test_teardown(test_tab_empty_fields, free_runs),
		cmocka_unit_test_teardown(test_invalid_utf8_row_error, free_runs),
		cmocka_unit_test_teardown(test_nul_byte, free_runs),
		cmocka_unit_test_teardown(test_windows_1252, free_runs),
		cmocka_unit_test_teardown(test_iso_8859_1, free_runs),
		cmocka_unit_test_teardown(test_windows_1252_undefined_byte, free_runs),
		cmocka_unit_test_teardown(test_unknown_encoding, free_runs),
		cmocka_unit_test_teardown(test_unterminated_quote, free_runs),
		cmocka_unit_test_teardown(test_text_after_quote, free_runs),
		cmocka_unit_test_teardown(test_row_too_long, free_runs),
		cmocka_unit_test_teardown(test_callback_stops, free_runs),
		cmocka_unit_test_teardown(test_sha256_and_counts, free_runs),
		cmocka_unit_test_teardown(test_chunk_boundary, free_runs),
		cmocka_unit_test_teardown(test_chunk_boundary_windows_1252, free_runs),
		cmocka_unit_test_teardown(test_short_reads, free_runs),
		cmocka_unit_test_teardown(test_bom_split_across_reads, free_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
