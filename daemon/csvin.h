/*
 * csvin.h - reading one input CSV file: bytes -> rows of canonical columns.
 *
 * The reader streams the file (bounded memory whatever its size): it hashes
 * the raw bytes (SHA-256), drops a UTF-8 byte order mark, converts the
 * input's encoding to UTF-8 with iconv, detects the delimiter from the header
 * line, maps header names to canonical columns (SPEC 3 `columns`), and hands
 * each data row to a callback with the physical line it starts on.
 *
 * Structural problems of the file as a whole (no header, missing required
 * column, broken quoting, a row over CSVIN_MAX_ROW bytes, undecodable bytes)
 * stop reading: csvin_read returns -1 with err "NAME:LINE:COL: ...".
 * Problems of one row (wrong field count, invalid UTF-8, a NUL byte) are
 * reported through the error callback and the row is not passed on.
 */
#ifndef PAYOUTD_CSVIN_H
#define PAYOUTD_CSVIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef enum { KIND_DISTRIBUTORS = 1, KIND_SALES, KIND_PRODUCTS } input_kind;

/* Canonical columns, indexed per kind. */
enum {
	DC_DISTRIBUTOR_ID, DC_SPONSOR_ID, DC_NAME, DC_JOIN_DATE, DC_COUNTRY, DC_EMAIL, DC_IBAN,
	DC_VAT_ID, DC_VAT_LIABLE, DC_STATUS, DC_PLACEMENT_ID, DC_LEG, DC__N
};
enum {
	SC_SALE_ID, SC_DISTRIBUTOR_ID, SC_DATE, SC_AMOUNT, SC_CURRENCY, SC_SKU, SC_QUANTITY, SC_PV,
	SC_CV, SC_REFUND_OF, SC_CUSTOMER_TYPE, SC__N
};
enum { PC_SKU, PC_NAME, PC_PV, PC_CV, PC_CATEGORY, PC__N };

#define CSVIN_MAX_COLS 16
#define CSVIN_MAX_ROW (1u << 20)   /* one row, quoted newlines included */
#define CSVIN_MAX_FIELDS 256

typedef struct csvin_column {
	const char *name;
	int required;
} csvin_column;

/* The canonical columns of a kind; *n is set to their count. */
const csvin_column *csvin_columns(input_kind kind, size_t *n);
const char *csvin_kind_name(input_kind kind);
/* Canonical column index of `name` in kind, or -1. */
int csvin_column_index(input_kind kind, const char *name);

/* How to read a file (from the matching config input entry). */
typedef struct csvin_format {
	input_kind kind;
	char delimiter;            /* 0 = auto-detect from the header */
	char decimal;              /* '.' or ',' */
	const char *encoding;      /* NULL or "utf-8", else an iconv name */
	const char *header[CSVIN_MAX_COLS]; /* header name per canonical column; NULL = canonical */
} csvin_format;

/* One data row. val[c] is the canonical column c's value (NUL-terminated,
 * trimmed of surrounding spaces) or NULL when the file has no such column;
 * an empty cell is "" (len 0). Valid only during the callback. */
typedef struct csvin_row {
	long line;
	const char *val[CSVIN_MAX_COLS];
	size_t len[CSVIN_MAX_COLS];
} csvin_row;

typedef struct csvin csvin;

/* Row callback: return 0 to go on, -1 to stop reading (err already set). */
typedef int (*csvin_row_fn)(void *ctx, const csvin_row *row, pd_err *err);
/* Row-error callback: col is a canonical column or -1 for the whole row. */
typedef void (*csvin_rowerr_fn)(void *ctx, long line, int col, const char *value, size_t vlen,
				const char *reason);

/* name: shown in messages. The fd is read from its current offset; not closed. */
csvin *csvin_new(const char *name, int fd, const csvin_format *fmt);
void csvin_free(csvin *r);

/* Reads the whole file. 0 when read to the end (row errors may have been
 * reported), -1 on a structural or I/O error (err set). */
int csvin_read(csvin *r, csvin_row_fn on_row, csvin_rowerr_fn on_error, void *ctx, pd_err *err);

/* After csvin_read: SHA-256 of every byte read, size in bytes, data rows seen. */
void csvin_sha256_hex(const csvin *r, char out[65]);
uint64_t csvin_bytes(const csvin *r);
/* 1 when reading stopped on an I/O error (EIO, ...) rather than on the
 * content: the file is not at fault and must be tried again, not rejected. */
int csvin_io_error(const csvin *r);
long csvin_rows(const csvin *r);
/* For messages: the header name and 1-based field number of canonical column c. */
const char *csvin_header_name(const csvin *r, int c);
int csvin_field_number(const csvin *r, int c);
/* 1 when the file's header has canonical column c. */
int csvin_has_column(const csvin *r, int c);

/* Delimiter detection on a header line: the most frequent of ',', ';', '\t'
 * outside quotes; ',' when none or tied with ','. Exposed for tests. */
char csvin_detect_delimiter(const char *line, size_t len);
/* 1 when s[0..len) is valid UTF-8 without NUL bytes. Exposed for tests. */
int csvin_valid_utf8(const char *s, size_t len);

#endif
