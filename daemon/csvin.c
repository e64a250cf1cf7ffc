/*
 * csvin.c - streaming CSV input: raw bytes -> SHA-256, BOM, iconv, lines ->
 * libcsv -> rows of canonical columns. See csvin.h for the contract.
 *
 * We feed libcsv one physical line at a time so that every row knows the
 * line it starts on (libcsv itself does not count lines). Memory is bounded:
 * one read chunk, its conversion, and at most CSVIN_MAX_ROW bytes of a row.
 */
#include "csvin.h"

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "progress.h"

#define CHUNK (1u << 20)

static const csvin_column dist_cols[DC__N] = {
	{"distributor_id", 1}, {"sponsor_id", 0}, {"name", 1}, {"join_date", 1},
	{"country", 0}, {"email", 0}, {"iban", 0}, {"vat_id", 0}, {"vat_liable", 0},
	{"status", 0}, {"placement_id", 0}, {"leg", 0},
};
static const csvin_column sale_cols[SC__N] = {
	{"sale_id", 1}, {"distributor_id", 1}, {"date", 1}, {"amount", 1}, {"currency", 0},
	{"sku", 0}, {"quantity", 0}, {"pv", 0}, {"cv", 0}, {"refund_of", 0},
	{"customer_type", 0},
};
static const csvin_column prod_cols[PC__N] = {
	{"sku", 1}, {"name", 1}, {"pv", 1}, {"cv", 1}, {"category", 0},
};

const csvin_column *csvin_columns(input_kind kind, size_t *n)
{
	switch (kind) {
	case KIND_DISTRIBUTORS: *n = DC__N; return dist_cols;
	case KIND_SALES: *n = SC__N; return sale_cols;
	case KIND_PRODUCTS: *n = PC__N; return prod_cols;
	}
	*n = 0;
	return NULL;
}

const char *csvin_kind_name(input_kind kind)
{
	switch (kind) {
	case KIND_DISTRIBUTORS: return "distributors";
	case KIND_SALES: return "sales";
	case KIND_PRODUCTS: return "products";
	}
	return "?";
}

int csvin_column_index(input_kind kind, const char *name)
{
	size_t n;
	const csvin_column *cols = csvin_columns(kind, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

struct csvin {
	char *name;
	int fd;
	csvin_format fmt;
	EVP_MD_CTX *sha;
	unsigned char digest[32];
	uint64_t bytes;
	iconv_t cd;
	struct csv_parser parser;
	int parser_ready;

	/* the row being assembled: fields packed in fbuf, each NUL-terminated */
	char *fbuf;
	size_t flen, fcap;
	size_t foff[CSVIN_MAX_FIELDS], fsz[CSVIN_MAX_FIELDS];
	int nf, overflow_fields;

	long line;           /* physical line being fed, 1-based */
	long row_line;       /* line the current row started on */
	int at_row_start;
	size_t row_bytes;

	/* a physical line split across read chunks */
	char *lbuf;
	size_t llen, lcap;

	int header_done, nheader;
	int col_field[CSVIN_MAX_COLS];    /* canonical column -> 0-based field, or -1 */
	char *col_header[CSVIN_MAX_COLS]; /* header text as found in the file */
	size_t ncols;
	long rows;

	csvin_row_fn on_row;
	csvin_rowerr_fn on_err;
	void *ctx;
	pd_err *err;
	int failed;
	int io_error; /* the failure was read(2)'s, not the content's */
};

csvin *csvin_new(const char *name, int fd, const csvin_format *fmt)
{
	csvin *r = xcalloc(1, sizeof *r);
	r->name = xstrdup(name);
	r->fd = fd;
	r->fmt = *fmt;
	r->cd = (iconv_t)-1;
	r->line = 1;
	r->at_row_start = 1;
	for (int i = 0; i < CSVIN_MAX_COLS; i++)
		r->col_field[i] = -1;
	csvin_columns(fmt->kind, &r->ncols);
	return r;
}

void csvin_free(csvin *r)
{
	if (!r)
		return;
	if (r->sha)
		EVP_MD_CTX_free(r->sha);
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	if (r->parser_ready)
		csv_free(&r->parser);
	for (int i = 0; i < CSVIN_MAX_COLS; i++)
		free(r->col_header[i]);
	free(r->fbuf);
	free(r->lbuf);
	free(r->name);
	free(r);
}

char csvin_detect_delimiter(const char *line, size_t len)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;
	for (size_t i = 0; i < len; i++) {
		char c = line[i];
		if (c == '"')
			quoted = !quoted;
		else if (!quoted && c == ',')
			comma++;
		else if (!quoted && c == ';')
			semi++;
		else if (!quoted && c == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

int csvin_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		if (c < 0x80) {
			if (c == 0)
				return 0;
			i++;
			continue;
		}
		size_t n;
		unsigned min;
		unsigned cp;
		if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
		else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
		else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
		else return 0;
		if (i + n >= len) /* truncated sequence */
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void fail(csvin *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(csvin *r, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = 1;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pd_errf(r->err, "%s", msg);
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

static void on_field(void *s, size_t len, void *data)
{
	csvin *r = data;
	if (r->failed)
		return;
	if (r->nf >= CSVIN_MAX_FIELDS) {
		r->overflow_fields++;
		return;
	}
	if (r->flen + len + 1 > r->fcap) {
		r->fcap = (r->flen + len + 1) * 2;
		r->fbuf = xrealloc(r->fbuf, r->fcap);
	}
	if (len)
		memcpy(r->fbuf + r->flen, s, len);
	r->fbuf[r->flen + len] = '\0';
	r->foff[r->nf] = r->flen;
	r->fsz[r->nf] = len;
	r->flen += len + 1;
	r->nf++;
}

static void take_header(csvin *r)
{
	size_t n;
	const csvin_column *cols = csvin_columns(r->fmt.kind, &n);
	r->nheader = r->nf + r->overflow_fields;
	if (r->overflow_fields) {
		fail(r, "%s:%ld:1: the header has more than %d columns", r->name, r->row_line,
		     CSVIN_MAX_FIELDS);
		return;
	}
	for (int f = 0; f < r->nf; f++) {
		const char *h = r->fbuf + r->foff[f];
		size_t hl = r->fsz[f];
		trim(&h, &hl);
		for (size_t c = 0; c < n; c++) {
			const char *want = r->fmt.header[c] ? r->fmt.header[c] : cols[c].name;
			if (strlen(want) != hl || memcmp(want, h, hl) != 0)
				continue;
			if (r->col_field[c] >= 0) {
				fail(r, "%s:%ld:%d: column \"%s\" appears twice in the header (also column %d)",
				     r->name, r->row_line, f + 1, want, r->col_field[c] + 1);
				return;
			}
			r->col_field[c] = f;
			r->col_header[c] = xstrdup(want);
		}
	}
	for (size_t c = 0; c < n; c++) {
		if (cols[c].required && r->col_field[c] < 0) {
			const char *want = r->fmt.header[c] ? r->fmt.header[c] : cols[c].name;
			if (r->fmt.header[c])
				fail(r, "%s:%ld:1: required column \"%s\" (mapped to \"%s\") is missing from the header",
				     r->name, r->row_line, cols[c].name, want);
			else
				fail(r, "%s:%ld:1: required column \"%s\" is missing from the header",
				     r->name, r->row_line, want);
			return;
		}
	}
	r->header_done = 1;
}

static void take_row(csvin *r)
{
	int nf = r->nf + r->overflow_fields;
	int all_empty = !r->overflow_fields;
	for (int f = 0; f < r->nf && all_empty; f++) {
		const char *v = r->fbuf + r->foff[f];
		size_t vl = r->fsz[f];
		trim(&v, &vl);
		all_empty = vl == 0;
	}
	if (all_empty) /* spreadsheets pad exports with ";;;;" rows */
		return;
	r->rows++;
	if (nf != r->nheader) {
		char why[96];
		snprintf(why, sizeof why, "expected %d fields as in the header, found %d", r->nheader, nf);
		r->on_err(r->ctx, r->row_line, -1, NULL, 0, why);
		return;
	}
	csvin_row row;
	memset(&row, 0, sizeof row);
	row.line = r->row_line;
	int bad = 0;
	for (size_t c = 0; c < r->ncols; c++) {
		int f = r->col_field[c];
		if (f < 0)
			continue;
		const char *v = r->fbuf + r->foff[f];
		size_t vl = r->fsz[f];
		trim(&v, &vl);
		if (!csvin_valid_utf8(v, vl)) {
			r->on_err(r->ctx, r->row_line, (int)c, v, vl,
				  memchr(v, '\0', vl) ? "contains a NUL byte" : "not valid UTF-8 (check the input's encoding)");
			bad = 1;
			continue;
		}
		((char *)v)[vl] = '\0'; /* trimmed in place: the buffer is ours */
		row.val[c] = v;
		row.len[c] = vl;
	}
	if (bad)
		return;
	if (r->on_row(r->ctx, &row, r->err) < 0)
		r->failed = 1;
}

static void on_row_end(int c, void *data)
{
	csvin *r = data;
	(void)c;
	if (!r->failed) {
		if (!r->header_done)
			take_header(r);
		else
			take_row(r);
	}
	r->nf = 0;
	r->flen = 0;
	r->overflow_fields = 0;
	r->at_row_start = 1;
}

static int is_blank_line(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '\r');
}

/* Feeds one physical line; `len` excludes the '\n'; when has_nl, s[len] is that '\n'. */
static void feed_line(csvin *r, const char *s, size_t len, int has_nl)
{
	if (r->failed)
		return;
	if (r->at_row_start && is_blank_line(s, len)) {
		r->line++;
		return;
	}
	if (!r->parser_ready) {
		char delim = r->fmt.delimiter ? r->fmt.delimiter : csvin_detect_delimiter(s, len);
		if (csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
			fail(r, "%s: cannot start the CSV parser", r->name);
			return;
		}
		csv_set_delim(&r->parser, (unsigned char)delim);
		/* grow a long field in big steps, not libcsv's default 128 bytes */
		csv_set_blk_size(&r->parser, 65536);
		r->parser_ready = 1;
	}
	if (r->at_row_start) {
		r->at_row_start = 0;
		r->row_line = r->line;
		r->row_bytes = 0;
	}
	r->row_bytes += len + 1;
	if (r->row_bytes > CSVIN_MAX_ROW) {
		fail(r, "%s:%ld:1: the row starting here is longer than %u bytes (an unterminated quote?)",
		     r->name, r->row_line, CSVIN_MAX_ROW);
		return;
	}
	size_t flen = len + (has_nl ? 1 : 0);
	if (csv_parse(&r->parser, s, flen, on_field, on_row_end, r) != flen) {
		fail(r, "%s:%ld:1: malformed CSV quoting in the row starting at line %ld (a quote inside an unquoted field, or text after a closing quote)",
		     r->name, r->line, r->row_line);
		return;
	}
	if (has_nl)
		r->line++;
}

static void feed_text(csvin *r, const char *s, size_t len)
{
	while (len && !r->failed) {
		const char *nl = memchr(s, '\n', len);
		size_t seg = nl ? (size_t)(nl - s) : len;
		/* CRLF and LF end lines; a lone CR (old Mac line ends) would make
		 * libcsv end rows we cannot give line numbers to: refuse it. A CR at
		 * the very end of a chunk may be the first half of a CRLF. */
		/* the kept CR comes first: it is the earlier one on the line, so the
		 * column is the same wherever the reads split the file (fuzz_csv) */
		if (r->llen && r->lbuf[r->llen - 1] == '\r' && seg > 0) {
			fail(r, "%s:%ld:%zu: a carriage return without a line feed (old Mac line ends?): save the file with LF or CRLF line ends",
			     r->name, r->line, r->llen);
			return;
		}
		const char *cr = seg > 1 ? memchr(s, '\r', seg - 1) : NULL;
		if (cr) {
			fail(r, "%s:%ld:%zu: a carriage return without a line feed (old Mac line ends?): save the file with LF or CRLF line ends",
			     r->name, r->line, r->llen + (size_t)(cr - s) + 1);
			return;
		}
		if (r->llen || !nl) {
			/* part of a line that spans chunks: keep it, bounded */
			if (r->llen + seg > CSVIN_MAX_ROW) {
				fail(r, "%s:%ld:1: line is longer than %u bytes", r->name, r->line, CSVIN_MAX_ROW);
				return;
			}
			if (r->llen + seg + 1 > r->lcap) {
				r->lcap = (r->llen + seg) * 2 + 64;
				r->lbuf = xrealloc(r->lbuf, r->lcap);
			}
			memcpy(r->lbuf + r->llen, s, seg);
			r->llen += seg;
			if (nl) {
				r->lbuf[r->llen] = '\n';
				feed_line(r, r->lbuf, r->llen, 1);
				r->llen = 0;
			}
		} else {
			feed_line(r, s, seg, 1);
		}
		if (!nl)
			break;
		s += seg + 1;
		len -= seg + 1;
	}
}

int csvin_read(csvin *r, csvin_row_fn on_row, csvin_rowerr_fn on_error, void *ctx, pd_err *err)
{
	r->on_row = on_row;
	r->on_err = on_error;
	r->ctx = ctx;
	r->err = err;
	r->sha = EVP_MD_CTX_new();
	if (!r->sha || EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL) != 1)
		return pd_errf(err, "%s: cannot initialise SHA-256", r->name);
	const char *enc = r->fmt.encoding;
	if (enc && strcasecmp(enc, "utf-8") != 0 && strcasecmp(enc, "utf8") != 0) {
		r->cd = iconv_open("UTF-8", enc);
		if (r->cd == (iconv_t)-1)
			return pd_errf(err, "%s: unknown encoding \"%s\"", r->name, enc);
	}
	char *raw = xmalloc(CHUNK);
	char *conv = r->cd != (iconv_t)-1 ? xmalloc(CHUNK * 4 + 16) : NULL;
	size_t carry = 0; /* undecoded tail of the previous chunk (multi-byte input encodings) */
	int first = 1;
	for (;;) {
		ssize_t n = read(r->fd, raw + carry, CHUNK - carry);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(r, "%s: read error: %s", r->name, strerror(errno));
			r->io_error = 1;
			break;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(r->sha, raw + carry, (size_t)n);
		r->bytes += (uint64_t)n;
		progress_tick();
		size_t have = carry + (size_t)n;
		char *p = raw;
		if (first) {
			if (have < 3 && memcmp(p, "\xEF\xBB\xBF", have) == 0) {
				carry = have; /* maybe a byte order mark cut by a short read: read on */
				continue;
			}
			first = 0;
			if (memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
				p += 3;
				have -= 3;
			}
		}
		if (!conv) {
			feed_text(r, p, have);
			carry = 0;
		} else {
			char *in = p, *out = conv;
			size_t inleft = have, outleft = CHUNK * 4 + 16;
			if (iconv(r->cd, &in, &inleft, &out, &outleft) == (size_t)-1 && errno != EINVAL) {
				feed_text(r, conv, (size_t)(out - conv)); /* so the line number is right */
				fail(r, "%s:%ld:1: byte 0x%02X cannot be read as %s", r->name, r->line,
				     (unsigned char)*in, enc);
				break;
			}
			feed_text(r, conv, (size_t)(out - conv));
			memmove(raw, in, inleft);
			carry = inleft;
		}
		if (r->failed)
			break;
	}
	if (!r->failed && carry && first && !conv) { /* a tiny file that only looked like a BOM's start */
		feed_text(r, raw, carry);
		carry = 0;
	}
	if (!r->failed && carry)
		fail(r, "%s:%ld:1: the file ends inside a multi-byte character", r->name, r->line);
	if (!r->failed && r->llen) {
		feed_line(r, r->lbuf, r->llen, 0);
		r->llen = 0;
	}
	if (!r->failed && r->parser_ready &&
	    csv_fini(&r->parser, on_field, on_row_end, r) != 0)
		fail(r, "%s:%ld:1: unterminated quote in the row starting at line %ld", r->name,
		     r->row_line, r->row_line);
	if (!r->failed && !r->header_done)
		fail(r, "%s:1:1: the file is empty: a header line is required", r->name);
	/* finish the hash over the whole file even when we stopped early */
	while (r->failed) {
		ssize_t n = read(r->fd, raw, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r->io_error = 1; /* no SHA-256 of the whole file: nothing to reject it by */
		if (n <= 0)
			break;
		EVP_DigestUpdate(r->sha, raw, (size_t)n);
		r->bytes += (uint64_t)n;
		progress_tick();
	}
	unsigned len = 0;
	EVP_DigestFinal_ex(r->sha, r->digest, &len);
	free(raw);
	free(conv);
	return r->failed ? -1 : 0;
}

void csvin_sha256_hex(const csvin *r, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[r->digest[i] >> 4];
		out[2 * i + 1] = hex[r->digest[i] & 15];
	}
	out[64] = '\0';
}

int csvin_io_error(const csvin *r)
{
	return r->io_error;
}

uint64_t csvin_bytes(const csvin *r)
{
	return r->bytes;
}

long csvin_rows(const csvin *r)
{
	return r->rows;
}

const char *csvin_header_name(const csvin *r, int c)
{
	if (c >= 0 && c < CSVIN_MAX_COLS && r->col_header[c])
		return r->col_header[c];
	size_t n;
	const csvin_column *cols = csvin_columns(r->fmt.kind, &n);
	return (c >= 0 && (size_t)c < n) ? cols[c].name : "";
}

int csvin_field_number(const csvin *r, int c)
{
	return (c >= 0 && c < CSVIN_MAX_COLS && r->col_field[c] >= 0) ? r->col_field[c] + 1 : 1;
}

int csvin_has_column(const csvin *r, int c)
{
	return c >= 0 && c < CSVIN_MAX_COLS && r->col_field[c] >= 0;
}
