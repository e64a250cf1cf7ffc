/*
 * close.h - the period close (SPEC 5, 7, 11): gathers one period from the
 * ledger into flat arrays, runs the engine, writes the statements folder,
 * and records the results, the lines and the period_closed audit line in
 * one transaction; then publishes the folder by rename.
 *
 *   statements/.PERIOD.tmp/   written and fsync'ed before the COMMIT
 *   statements/PERIOD/        appears by rename after it
 *
 * A crash between the two leaves a committed period without its folder
 * (periods.published = 0 until the rename is recorded). close_recover(), run
 * by every close and every daemon start, finishes it: it publishes the
 * temporary folder when that is exactly what the ledger recorded (the SHA-256
 * of SHA256SUMS and every file it lists), and otherwise makes the folder
 * again from the ledger alone (the plan text, every distributor's results
 * and lines, summary.json), checks it against the recorded SHA256SUMS and
 * publishes that. A folder published and later deleted is left alone.
 * A close holds DB.close.lock (common_lock_close) from start to publication.
 */
#ifndef PAYOUTD_CLOSE_H
#define PAYOUTD_CLOSE_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "ledger.h"
#include "plan.h"

enum { CLOSE_DONE = 0, CLOSE_NOTHING = 1, CLOSE_REFUSED = 2, CLOSE_FAILED = -1 };

typedef struct close_opts {
	int dry_run;   /* compute and write PERIOD.dry-run folders; the ledger is unchanged */
	int force;     /* close although unattributed sales are dated in a period to close */
	int due;       /* close --due: before the first sale is booked nothing is due */
} close_opts;

/*
 * Closes every open period up to and including `target`, oldest first.
 * CLOSE_DONE, CLOSE_NOTHING (target already closed, or nothing booked yet
 * with o->due; msg says so), CLOSE_REFUSED (err says why: unattributed
 * sales, which it lists, or a statements folder already there for a period
 * this ledger has not closed) or CLOSE_FAILED (err).
 */
int close_periods(const config *cfg, const plan *p, const char *plan_path, const char *plan_sha,
		  ledger *l, int32_t target, const close_opts *o, char *msg, size_t msgcap, pd_err *err);

/* The latest period whose end plus the grace has passed at `now` (seconds since the epoch). */
int32_t close_due_period(const config *cfg, const plan *p, int64_t now);

/* Publishes, or makes again and publishes, the folders of closed periods
 * whose close committed but did not publish. Call with the close lock held. */
int close_recover(const config *cfg, ledger *l, pd_err *err);

#endif
