/*
 * fuzz_common.h - what the libFuzzer targets of tests/fuzz share: a scratch
 * file for parsers that take a path, a 64-bit FNV-1a for comparing runs, and
 * a fatal check that libFuzzer reports as a crash (with the input saved).
 *
 * Header-only (static functions): each target is one translation unit.
 */
#ifndef PAYOUTD_FUZZ_COMMON_H
#define PAYOUTD_FUZZ_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A property the code under test promised does not hold: print why and
 * abort, which libFuzzer reports like any crash, saving the input. */
#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "fuzz check failed: %s (%s:%d): ", #cond, \
				__FILE__, __LINE__);                            \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

/* ---- a scratch file -------------------------------------------------------- */

/*
 * config_load, yt_load_file and audit_verify_file open a path (with
 * O_NOFOLLOW, so /proc/self/fd/N of a memfd will not do). Each process
 * makes one private folder under $TMPDIR (default /tmp) holding one file,
 * rewritten for every input and removed at exit. tests/fuzz/run.sh points
 * TMPDIR at its own temporary folder, so a crashed run leaves nothing behind.
 */
typedef struct fuzz_file {
	char dir[4096];
	char path[4096 + 32];
	int fd; /* open for writing; -1 before fuzz_file_init */
} fuzz_file;

static fuzz_file fuzz_scratch __attribute__((unused)) = { .fd = -1 };

static inline void fuzz_file_cleanup(void)
{
	if (fuzz_scratch.fd >= 0) {
		close(fuzz_scratch.fd);
		fuzz_scratch.fd = -1;
		unlink(fuzz_scratch.path);
		rmdir(fuzz_scratch.dir);
	}
}

/* name: the file's name in its folder (config_load resolves paths against
 * the folder; messages show the name). Aborts when no file can be made:
 * a fuzz run without its scratch file would test nothing. */
static inline const char *fuzz_file_init(const char *name)
{
	if (fuzz_scratch.fd >= 0)
		return fuzz_scratch.path;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	int n = snprintf(fuzz_scratch.dir, sizeof fuzz_scratch.dir, "%s/payoutd-fuzz.XXXXXX", tmp);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof fuzz_scratch.dir, "TMPDIR too long");
	FUZZ_CHECK(mkdtemp(fuzz_scratch.dir) != NULL, "mkdtemp %s: %s", fuzz_scratch.dir, strerror(errno));
	snprintf(fuzz_scratch.path, sizeof fuzz_scratch.path, "%s/%s", fuzz_scratch.dir, name);
	fuzz_scratch.fd = open(fuzz_scratch.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FUZZ_CHECK(fuzz_scratch.fd >= 0, "open %s: %s", fuzz_scratch.path, strerror(errno));
	atexit(fuzz_file_cleanup);
	return fuzz_scratch.path;
}

/* Makes the scratch file hold exactly data[0..size). */
static inline void fuzz_file_write(const uint8_t *data, size_t size)
{
	FUZZ_CHECK(ftruncate(fuzz_scratch.fd, 0) == 0, "ftruncate: %s", strerror(errno));
	size_t off = 0;
	while (off < size) {
		ssize_t w = pwrite(fuzz_scratch.fd, data + off, size - off, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		FUZZ_CHECK(w > 0, "pwrite: %s", strerror(errno));
		off += (size_t)w;
	}
}

/* ---- comparing runs -------------------------------------------------------- */

#define FUZZ_FNV_INIT 1469598103934665603ULL

static inline uint64_t fuzz_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static inline uint64_t fuzz_fnv_i64(uint64_t h, int64_t v)
{
	return fuzz_fnv(h, &v, sizeof v);
}

/* A string with its length, so ("ab","c") and ("a","bc") differ. */
static inline uint64_t fuzz_fnv_str(uint64_t h, const char *s, size_t n)
{
	h = fuzz_fnv_i64(h, (int64_t)n);
	return fuzz_fnv(h, s, n);
}

#endif
