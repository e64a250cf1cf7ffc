/*
 * fsutil.h - durable file-system steps: every rename is followed by an
 * fsync of the directories involved, every file we create is written to a
 * temporary name, fsync'ed and renamed into place.
 */
#ifndef PAYOUTD_FSUTIL_H
#define PAYOUTD_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * A failed fsync, fdatasync or syncfs is never retried on the same data: the
 * kernel may have dropped the dirty pages and reports the error only once, so
 * a second fsync can succeed with the data lost. Whoever meets one notes it
 * here (the ledger's SQLite sync failures included); payoutd then stops at the
 * next file boundary and exits 1, and its next start works out from the
 * ledger and the work folder what was done.
 */
void fs_note_sync_failure(void);
int fs_sync_failed(void);

/* mkdir -p with mode for the created parts. */
int fs_mkdirs(const char *path, unsigned mode, pd_err *err);
int fs_fsync_dir(const char *dir, pd_err *err);
/* rename(from, to) then fsync both parent directories (once if the same). */
int fs_rename_durable(const char *from, const char *to, pd_err *err);
/* Writes data to dir/.NAME.tmp, fsyncs, renames to dir/NAME, fsyncs dir. */
int fs_write_file_durable(const char *dir, const char *name, const void *data, size_t len,
			  unsigned mode, pd_err *err);
/* A name in dir that does not exist yet: NAME, else NAME with ".2", ".3", ...
 * inserted before the last extension ("sales.csv" -> "sales.2.csv").
 * Returns a malloc'ed full path. */
char *fs_free_name(const char *dir, const char *name, const char *suffix);
/* Joins a and b with one '/'; malloc'ed. */
char *fs_join(const char *a, const char *b);
/* Parent folder of path; malloc'ed. */
char *fs_dirname(const char *path);
/* Resolves rel against base_dir unless rel is absolute; malloc'ed. */
char *fs_resolve(const char *base_dir, const char *rel);

/* SHA-256 of buf (thread-safe; the digest implementation is looked up once,
 * not per call: a close hashes two million files). */
void fs_sha256(const void *buf, size_t len, unsigned char out[32]);
/* Lowercase hex of a SHA-256 (out: 65 bytes, NUL-terminated). */
void fs_hex(const unsigned char d[32], char out[65]);

/* Lowercase hex SHA-256 of what is left to read on fd (out: 65 bytes);
 * -1 with errno on a read error. */
int fs_sha256_fd(int fd, char out[65], uint64_t *size);
/* Lowercase hex SHA-256 of a file's bytes (out: 65 bytes). */
int fs_sha256_file(const char *path, char out[65], pd_err *err);

#endif
