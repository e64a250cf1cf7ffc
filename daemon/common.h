/*
 * common.h - what both programs share at start-up: exit codes, loading
 * the config and plan with every problem printed, the ledger lock.
 */
#ifndef PAYOUTD_COMMON_H
#define PAYOUTD_COMMON_H

#include "config.h"
#include "plan.h"

enum {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,  /* any other failure */
	EXIT_USAGE = 2,
	EXIT_INVALID = 3,   /* invalid plan, config or data */
	EXIT_REFUSED = 4,   /* a close refused */
	EXIT_AUDIT = 5,     /* audit chain broken */
};

/* Loads the config; prints every problem to the log. NULL on failure. */
config *common_load_config(const char *path);
/* Loads the plan and its SHA-256; prints every problem. NULL on failure. */
plan *common_load_plan(const char *path, char sha[65]);
/* Takes the daemon's exclusive lock next to the ledger (DB.lock). Returns the
 * fd to keep open, or -1 after logging who holds it. */
int common_lock_ledger(const char *database);
/* The lock a close holds from start to publication (DB.close.lock): a second
 * close says so at once (unless quiet) instead of waiting on the ledger's
 * write lock, and payoutd's start leaves a running close's publication to it. */
int common_lock_close(const char *database, int quiet);

#endif
