/*
 * ingest_int.h - what ingest.c (the file, distributors, products) and
 * ingest_sales.c (the sales pipeline) share. Not for other modules.
 */
#ifndef PAYOUTD_INGEST_INT_H
#define PAYOUTD_INGEST_INT_H

#include <stdarg.h>

#include "csvin.h"
#include "ingest.h"
#include "strmap.h"

#define INGEST_MAX_ID 128

typedef struct product {
	int64_t pv, cv;
	char *category;
} product;

/* rows of a distributors file, kept for the checks after the last row;
 * the strings are offsets into ictx.dtext (NO_TEXT: none), so a million rows
 * cost two allocations, not three million */
#define NO_TEXT SIZE_MAX
typedef struct drow {
	long line;
	size_t id, sponsor, placement;
	int leg;              /* PL_LEFT, PL_RIGHT, or -1 with no placement */
} drow;

/* Row errors of one thread, in line order, at most PD_DIAG_MAX kept. */
typedef struct errlist {
	long *line;
	char **msg;
	size_t n, cap, dropped;
} errlist;

/* What one file changes in period_stats, applied just before its commit. */
typedef struct period_delta {
	int32_t period;
	int64_t sales, net, late, clawbacks, unattributed;
} period_delta;

/* What one file changes in volumes: per (booked period, distributor) net
 * pv, cv and amount of the sales that count (attributed, not clawbacks).
 * key: the period big-endian then the id, so byte order = the table's order. */
typedef struct volume_delta {
	uint32_t key;         /* offset into ictx.vkeys (a file's keys stay far below 4 GiB) */
	uint16_t key_len;
	int64_t pv, cv, amount;
} volume_delta;

typedef struct ictx {
	ledger *l;
	sqlite3 *db;          /* the connection this context may use */
	const plan *p;
	const config_input *in;
	const char *name;
	csvin *r;
	ingest_result *res;
	errlist *errs;
	pd_err *err;
	int32_t eo;           /* earliest open period, or LEDGER_NO_CLOSE */
	int64_t file_id;
	uint64_t file_size;    /* bytes, as found when the file was opened */
	int fatal;            /* an SQLite failure: abort, retry later */

	/* sales (ingest_sales.c) */
	void *sales;

	/* distributors */
	sqlite3_stmt *upsert_dist, *get_status, *ins_status, *get_sponsor;
	drow *drows;
	size_t n_drows, cap_drows;
	char *dtext;
	size_t dtext_used, dtext_cap;

	/* products */
	sqlite3_stmt *upsert_product;

	period_delta *deltas;
	size_t n_deltas, cap_deltas;

	struct idset *vindex;  /* volume key -> index into vols */
	volume_delta *vols;
	size_t n_vols, cap_vols;
	char *vkeys;
	size_t vkeys_used, vkeys_cap;
} ictx;

/* Counts a sale (sign +1) or takes it back (-1) in booked period `period`:
 * the period statistics, and the volumes of distributor `dist` when the sale
 * counts there (attributed, not a clawback). Returns 0, or -1 after a row
 * error on `line`, column `col` (the distributor's) when a volume total would
 * overflow (or after ingest_sql_fail, c->fatal set). */
int ingest_count_sale(ictx *c, long line, int col, int32_t period, int sign, const char *dist, int64_t amount,
		      int64_t pv, int64_t cv, int flags);
/* The same for the period statistics only: the sales pipeline counts the
 * volumes of plain sales on its reader thread (see ingest_sales.c). Returns
 * 0, or -1 after a row error on line/col (value: the cell to quote) when the
 * period's net sales would overflow. */
int ingest_count_stats(ictx *c, long line, int col, const char *value, int32_t period, int sign, int64_t amount,
		       int flags);
/* Adds sign * (pv, cv, amount) to the volumes of dist (dlen bytes) in period,
 * in c's own table; -1 after a row error on line/col when a total would
 * overflow (or after ingest_sql_fail). */
int ingest_count_volume(ictx *c, long line, int col, int32_t period, int sign, const char *dist, size_t dlen,
			int64_t amount, int64_t pv, int64_t cv);
/* Adds every volume delta of `from` into `into` and frees from's table. */
int ingest_merge_volumes(ictx *into, ictx *from);
/* Moves from's volume table into `into`, whose own must be empty. */
void ingest_take_volumes(ictx *into, ictx *from);
void ingest_free_volumes(ictx *c);

size_t ingest_error_count(const ictx *c);
void ingest_value_errorv(ictx *c, long line, int col, const char *value, size_t vlen, const char *fmt,
			 va_list ap) __attribute__((format(printf, 6, 0)));
void ingest_value_error(ictx *c, long line, int col, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ingest_row_error(ictx *c, const csvin_row *row, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ingest_on_csv_error(void *ctx, long line, int col, const char *value, size_t vlen, const char *reason);
int ingest_sql_fail(ictx *c, const char *what);

int ingest_present(const csvin_row *row, int col);
int ingest_check_text_id(ictx *c, const csvin_row *row, int col, int required);
int ingest_check_dist_id(ictx *c, const csvin_row *row, int col, int required);
int ingest_parse_money_col(ictx *c, const csvin_row *row, int col, int allow_negative, int64_t *out);
int ingest_parse_date_col(ictx *c, const csvin_row *row, int col, int32_t *day);

/*
 * Books a whole sales file: a reader thread parses and validates rows while
 * this thread writes them into the open transaction. Returns what
 * csvin_read returned (0, or -1 with err set for a structural problem);
 * c->fatal is set on a ledger failure. Row errors land in c->errs.
 */
int ingest_sales(ictx *c, pd_err *err);

#endif
