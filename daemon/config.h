/*
 * config.h - the daemon's configuration file (SPEC 3).
 *
 * config_load() reads and validates the whole file and reports every
 * problem as "FILE:LINE:COLUMN: message" into a pd_diag; a config is
 * returned only when it is entirely valid. Relative paths are resolved
 * against the config file's own folder. The caller owns the config.
 */
#ifndef PAYOUTD_CONFIG_H
#define PAYOUTD_CONFIG_H

#include <stdint.h>

#include "csvin.h"
#include "err.h"

#define CONFIG_DEFAULT_PATH "/etc/payoutd/payoutd.yaml"
/* Default max_file_size: 4 GiB, some 80 million sales rows; larger is a mistake
 * (a disk image, a sparse file) or a file to split. */
#define CONFIG_MAX_FILE_SIZE (4ull << 30)

typedef struct config_input {
	char *match;            /* fnmatch(3) pattern on the file name */
	char *date_format;      /* default "%Y-%m-%d" */
	char *encoding;         /* default "utf-8" */
	csvin_format fmt;       /* fmt.header[] point into header_names */
	char *header_names[CSVIN_MAX_COLS];
} config_input;

typedef struct config {
	char *path;             /* as given */
	char *dir;              /* its folder, the base of relative paths */
	char *plan, *database, *inbox, *archive, *rejected, *statements, *audit_log;
	int64_t grace_seconds;  /* close.grace */
	uint64_t max_file_size; /* bytes; a bigger input file is rejected unread */
	config_input *inputs;
	size_t n_inputs;
} config;

/* Returns 0 and *out, or -1 with every problem in diag. */
int config_load(const char *path, config **out, pd_diag *diag);
void config_free(config *c);
/* The first input entry whose match fits the file name, or NULL. */
const config_input *config_match(const config *c, const char *filename);
/* The claim folder for files being processed: INBOX/.work (same filesystem). */
char *config_work_dir(const config *c);

#endif
