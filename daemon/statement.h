/*
 * statement.h - the files a close writes (SPEC 7, 11.21), made in memory
 * from the engine's output. Pure: no I/O, no clock; the same input gives the
 * same bytes. The close writes them to a temporary folder and publishes it.
 */
#ifndef PAYOUTD_STATEMENT_H
#define PAYOUTD_STATEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "plan.h"

/* Everything the writers need about one closed period. */
typedef struct stmt_period {
	const plan *p;
	const char *plan_sha256;     /* hex of the plan file */
	const char *period;          /* "2026-11" or "2026-W45" */
	int32_t n;                   /* distributors, in the engine's order */
	const char *const *ids;      /* [n] distributor ids */
	const char *const *names;    /* [n] */
	const char *const *ibans;    /* [n], NULL entries when unknown */
	const int64_t *pv;           /* [n] the engine's input volumes */
	const uint8_t *terminated;   /* [n] */
	const engine_output *out;
	int64_t net_sales;           /* hundredths */
	/* folder_write only: the order in which statements are written and listed
	 * in SHA256SUMS ([n] positions; the close gives id order), and, when a
	 * folder is made again from the ledger, summary.json as it was recorded */
	const int32_t *order;
	const char *summary_json;
	size_t summary_len;
} stmt_period;

/*
 * DISTRIBUTOR_ID.json for distributor i: period, distributor_id, name,
 * currency, paid_as_rank, title_rank, active, pv, gv, lines, totals, in that
 * order; money, volumes and rates as decimal strings; level and shares as
 * integers. *buf is malloc'ed (caller frees). Returns 0 or -1.
 */
int statement_json(const stmt_period *sp, int32_t i, char **buf, size_t *len);

/* DISTRIBUTOR_ID.html: the same statement for a person: self-contained
 * (inline CSS and SVG, no external assets), printable, readable on a phone,
 * amounts formatted for the plan's currency, with a small chart of earnings
 * by type and by level. */
int statement_html(const stmt_period *sp, int32_t i, char **buf, size_t *len);

/* payouts.csv: distributor_id,name,iban,currency,amount for every non-zero
 * paid amount, sorted by distributor_id (byte order), RFC 4180, LF line
 * ends, UTF-8; a field that starts with = + - @ or a tab is prefixed with '
 * so that spreadsheets do not run it as a formula. Header only when empty. */
int statement_payouts_csv(const stmt_period *sp, char **buf, size_t *len);

/* summary.json: period, plan, plan_sha256, currency, distributors, statements,
 * net_sales, commissions, cap_adjustment, cap_limit, clawbacks, fees,
 * carried_in, payable, paid, carried_out, payout_ratio (commissions + cap
 * adjustment over net sales, 4 decimals, "0.0000" when net sales are 0), and
 * ranks {rank id: count of non-terminated distributors by paid-as rank}. */
int statement_summary_json(const stmt_period *sp, char **buf, size_t *len);

/* Does distributor i get a statement? (SPEC 11.7: at least one line) */
int statement_wanted(const stmt_period *sp, int32_t i);

#endif
