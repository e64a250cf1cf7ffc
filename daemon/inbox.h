/*
 * inbox.h - the life of an input file (SPEC 4.1).
 *
 *   inbox/NAME  --claim (rename)-->  inbox/.work/TOKEN.NAME
 *     --ingest (one transaction, with its audit line)--> commit
 *     --rename--> archive/YYYY-MM/NAME    or    rejected/NAME + NAME.errors.txt
 *
 * A claimed file is in exactly one place at every instant. After a crash the
 * work folder says what was in flight: a claim the ledger has booked (or
 * rejected) is only moved on; any other claim is processed again from the
 * start, and since its transaction never committed nothing is booked twice.
 */
#ifndef PAYOUTD_INBOX_H
#define PAYOUTD_INBOX_H

#include "config.h"
#include "err.h"
#include "ledger.h"
#include "plan.h"

typedef struct inbox_stats {
	long booked, rejected, failed;
} inbox_stats;

/* Creates the folders the config names (mode 0750) when missing. */
int inbox_prepare_dirs(const config *cfg, pd_err *err);

/* Called between files; returning non-zero stops the run early (SIGTERM). */
typedef int (*inbox_stop_fn)(void *ctx);

/*
 * Handles everything waiting: first the work folder (crash recovery), then
 * the inbox in name order. Problems with single files are logged and
 * counted; -1 only when the run cannot go on (err).
 */
int inbox_run(const config *cfg, const plan *p, ledger *l, inbox_stop_fn stop, void *stop_ctx,
	      inbox_stats *st, pd_err *err);

/* 1 when the daemon ignores this name (SPEC 4.1.1). Exposed for tests. */
int inbox_ignored_name(const char *name);

#endif
