/*
 * status.h - what `payoutctl status` prints: periods, files, distributors,
 * sales per open period, unattributed sales, last close, plan in force.
 */
#ifndef PAYOUTD_STATUS_H
#define PAYOUTD_STATUS_H

#include <stdio.h>

#include "config.h"
#include "ledger.h"
#include "plan.h"

/* p may be NULL when the plan cannot be loaded. */
int status_print(FILE *out, const config *cfg, ledger *l, const plan *p, const char *plan_sha, pd_err *err);

#endif
