/*
 * folder.h - writing a period's statements folder with both cores.
 *
 * Every file is made in memory by statement.c and written into `folder`
 * (created fresh); the statements are shared out between worker threads
 * (the files are independent), while SHA256SUMS lists them in one fixed
 * order, so the folder is byte-identical whatever the number of threads.
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
} folder_result;

int folder_write(const stmt_period *sp, const char *folder, int threads, folder_result *res, pd_err *err);
/* Removes a flat folder of ours (statement folders have no subfolders); a missing one is fine. */
int folder_remove(const char *path, pd_err *err);

#endif
