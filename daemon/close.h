/*
 * close.h - the period close (SPEC 5, 7, 11): gathers one period from the
 * ledger into flat arrays, runs the engine, writes the statements folder,
 * and records the results, the lines and the period_closed audit line in
 * one transaction; then publishes the folder by rename.
 *
 *   statements/.PERIOD.tmp/   written and fsync'ed before the COMMIT
 *   statements/PERIOD/        appears by rename after it
 *
 * A crash between the two leaves a committed period without its folder:
 * close_recover() (run by every close and every daemon start) publishes the
 * temporary folder, which was complete and synced before the commit.
 * Not yet done: checking it against the recorded manifest, and making a
 * lost folder again from the ledger's results and lines.
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
} close_opts;

/*
 * Closes every open period up to and including `target`, oldest first.
 * CLOSE_DONE, CLOSE_NOTHING (target already closed; msg says so),
 * CLOSE_REFUSED (err says why and lists the unattributed sales) or
 * CLOSE_FAILED (err).
 */
int close_periods(const config *cfg, const plan *p, const char *plan_path, const char *plan_sha,
		  ledger *l, int32_t target, const close_opts *o, char *msg, size_t msgcap, pd_err *err);

/* The latest period whose end plus the grace has passed at `now` (seconds since the epoch). */
int32_t close_due_period(const config *cfg, const plan *p, int64_t now);

/* Publishes or remakes the folders of closed periods that lack them. */
int close_recover(const config *cfg, ledger *l, pd_err *err);

#endif
