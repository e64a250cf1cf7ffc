/*
 * folder.h - writing a period's statements folder with both cores.
 *
 * Every file is made in memory by statement.c (on a second thread) and
 * written into `folder` (created fresh) by the calling thread, in one fixed
 * order that SHA256SUMS follows, so the folder is byte-identical always.
 * One syncfs makes the whole folder durable before the caller commits.
 */
#ifndef PAYOUTD_FOLDER_H
#define PAYOUTD_FOLDER_H

#include <stdint.h>

#include "err.h"
#include "statement.h"

typedef struct folder_result {
	char manifest_sha[65], payouts_sha[65], summary_sha[65];
	int64_t statements;       /* distributors with a statement */
	int64_t files;            /* files written, SHA256SUMS included */
	int64_t bytes;
	char *manifest;           /* SHA256SUMS as written ("HEX  NAME\n" lines); malloc'ed, caller frees */
	size_t manifest_len;
	/* seconds spent on the period's own files (payouts.csv, summary.json,
	 * SHA256SUMS: made, hashed, written), for the phase times in the log */
	double summary_seconds;
	char *summary;            /* summary.json as written; malloc'ed, caller frees */
	size_t summary_len;
} folder_result;

/* sp->order is required: statements are written and listed in that order. */
int folder_write(const stmt_period *sp, const char *folder, folder_result *res, pd_err *err);
/* Removes a flat folder of ours (statement folders have no subfolders); a missing one is fine. */
int folder_remove(const char *path, pd_err *err);

#endif
