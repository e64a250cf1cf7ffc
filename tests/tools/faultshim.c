/*
 * faultshim - an LD_PRELOAD library that makes chosen file-system calls fail,
 * for the fault-injection tests (tests/e2e/faults_*.sh, docs/reliability.md).
 *
 *   LD_PRELOAD=/path/to/libfaultshim.so FAULT_OP=fdatasync FAULT_ERRNO=EIO \
 *     FAULT_PATH=ledger.db-wal payoutd -c payoutd.yaml --once
 *
 * Configuration (read once, at the first wrapped call):
 *   FAULT_OP          comma list of the calls to fail (required; unset: the shim
 *                     does nothing):
 *                       write (write, writev)   pwrite (pwrite, pwrite64, pwritev)
 *                       fsync   fdatasync   syncfs   sync (= all three)
 *                       open (open, open64, openat, openat64, creat: any mode)
 *                       openw (the same, only when asking for write access:
 *                              O_WRONLY, O_RDWR, O_CREAT or O_TRUNC)
 *                       rename (rename, renameat, renameat2)   mkdir (mkdir, mkdirat)
 *                       unlink (unlink, unlinkat)   link (link, linkat)   rmdir
 *                       read (read, pread, pread64)   ftruncate   fallocate   close
 *   FAULT_ERRNO       the error to return: ENOSPC, EIO, EACCES, EPERM, EROFS, EDQUOT,
 *                     ... or a number (default EIO)
 *   FAULT_PATH        only calls touching a path that contains this substring, or
 *                     with a trailing '$' ends with it ("state/rejected$": the
 *                     folder, not the files in it) (rename/link: either path;
 *                     calls on an fd: the fd's path as /proc/self/fd shows it;
 *                     *at calls: dirfd's path + "/" + name)
 *   FAULT_AFTER       let the first N matching calls through (default 0)
 *   FAULT_COUNT       then fail this many and let the rest through (default: all)
 *   FAULT_UNTIL_GONE  fail only while this path exists (delete it to "remove the
 *                     cause" while the process runs)
 *   FAULT_LOG         append a line per injected fault to this file (default:
 *                     stderr): "faultshim: fdatasync(/x/ledger.db-wal) -> EIO [#1, pid N]"
 *   FAULT_TRACE       when 1, also log every matching call let through:
 *                     "faultshim: write(/x/audit.log) passed [pid N]"
 *
 * Originals are found with dlsym(RTLD_NEXT); counters are atomic, so the shim
 * is thread-safe. Under AddressSanitizer the ASan runtime must come first:
 * LD_PRELOAD="$(libasan.so) libfaultshim.so".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	OP_WRITE = 1 << 0,
	OP_PWRITE = 1 << 1,
	OP_FSYNC = 1 << 2,
	OP_FDATASYNC = 1 << 3,
	OP_SYNCFS = 1 << 4,
	OP_OPEN = 1 << 5,
	OP_OPENW = 1 << 6,
	OP_RENAME = 1 << 7,
	OP_MKDIR = 1 << 8,
	OP_UNLINK = 1 << 9,
	OP_LINK = 1 << 10,
	OP_RMDIR = 1 << 11,
	OP_READ = 1 << 12,
	OP_FTRUNCATE = 1 << 13,
	OP_FALLOCATE = 1 << 14,
	OP_CLOSE = 1 << 15,
};

static const struct {
	const char *name;
	unsigned bits;
} op_names[] = {
	{"write", OP_WRITE}, {"writev", OP_WRITE}, {"pwrite", OP_PWRITE}, {"pwrite64", OP_PWRITE},
	{"pwritev", OP_PWRITE}, {"fsync", OP_FSYNC}, {"fdatasync", OP_FDATASYNC}, {"syncfs", OP_SYNCFS},
	{"sync", OP_FSYNC | OP_FDATASYNC | OP_SYNCFS}, {"open", OP_OPEN}, {"open64", OP_OPEN},
	{"openat", OP_OPEN}, {"openat64", OP_OPEN}, {"creat", OP_OPEN}, {"openw", OP_OPENW},
	{"rename", OP_RENAME}, {"renameat", OP_RENAME}, {"renameat2", OP_RENAME}, {"mkdir", OP_MKDIR},
	{"mkdirat", OP_MKDIR}, {"unlink", OP_UNLINK}, {"unlinkat", OP_UNLINK}, {"link", OP_LINK},
	{"linkat", OP_LINK}, {"rmdir", OP_RMDIR}, {"read", OP_READ}, {"pread", OP_READ},
	{"pread64", OP_READ}, {"ftruncate", OP_FTRUNCATE}, {"fallocate", OP_FALLOCATE},
	{"posix_fallocate", OP_FALLOCATE}, {"close", OP_CLOSE},
};

#define E(x) {#x, x}
static const struct {
	const char *name;
	int value;
} errno_names[] = {
	E(ENOSPC), E(EIO), E(EACCES), E(EPERM), E(EROFS), E(EDQUOT), E(ENOENT), E(EEXIST), E(EXDEV),
	E(EBUSY), E(EAGAIN), E(EINTR), E(ENOMEM), E(EMFILE), E(ENFILE), E(ENOTDIR), E(EISDIR),
	E(ETXTBSY), E(EFBIG), E(ENAMETOOLONG), E(ELOOP), E(ESTALE), E(EINVAL),
};
#undef E

static struct {
	unsigned ops;
	int err;
	const char *err_name;
	char path[PATH_MAX];
	long after, count;
	char gone[PATH_MAX];
	int logfd, trace;
} cfg = {.logfd = 2, .count = -1};

static long matched, injected; /* atomic */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Writes without going through our own write(). */
static void raw_write(int fd, const char *s, size_t n)
{
	while (n > 0) {
		long w = syscall(SYS_write, fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void die(const char *what, const char *value)
{
	char msg[512];
	int n = snprintf(msg, sizeof msg, "faultshim: %s: \"%s\"\n", what, value);
	raw_write(2, msg, (size_t)n);
	_exit(97);
}

static long env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	long x = strtol(v, &end, 10);
	if (*end || x < 0)
		die("bad number in the environment", name);
	return x;
}

static void init(void)
{
	const char *ops = getenv("FAULT_OP");
	if (!ops || !*ops)
		return;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", ops);
	for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		size_t i;
		for (i = 0; i < sizeof op_names / sizeof *op_names; i++)
			if (strcmp(t, op_names[i].name) == 0)
				break;
		if (i == sizeof op_names / sizeof *op_names)
			die("unknown call in FAULT_OP", t);
		cfg.ops |= op_names[i].bits;
	}
	const char *e = getenv("FAULT_ERRNO");
	cfg.err = EIO;
	cfg.err_name = "EIO";
	if (e && *e) {
		size_t i;
		for (i = 0; i < sizeof errno_names / sizeof *errno_names; i++)
			if (strcmp(e, errno_names[i].name) == 0)
				break;
		if (i < sizeof errno_names / sizeof *errno_names) {
			cfg.err = errno_names[i].value;
			cfg.err_name = errno_names[i].name;
		} else {
			char *end;
			long x = strtol(e, &end, 10);
			if (*end || x <= 0)
				die("unknown FAULT_ERRNO", e);
			cfg.err = (int)x;
			cfg.err_name = e;
		}
	}
	const char *p = getenv("FAULT_PATH");
	snprintf(cfg.path, sizeof cfg.path, "%s", p ? p : "");
	const char *g = getenv("FAULT_UNTIL_GONE");
	snprintf(cfg.gone, sizeof cfg.gone, "%s", g ? g : "");
	cfg.after = env_long("FAULT_AFTER", 0);
	cfg.count = env_long("FAULT_COUNT", -1);
	cfg.trace = env_long("FAULT_TRACE", 0) != 0;
	const char *lg = getenv("FAULT_LOG");
	if (lg && *lg) {
		long fd = syscall(SYS_openat, AT_FDCWD, lg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			die("cannot open FAULT_LOG", lg);
		cfg.logfd = (int)fd;
	}
}

static int armed(unsigned op)
{
	pthread_once(&once, init);
	return (cfg.ops & op) != 0;
}

/* The path an fd refers to (or "fd N"). */
static void fd_path(int fd, char *out, size_t cap)
{
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	long n = syscall(SYS_readlinkat, AT_FDCWD, proc, out, cap - 1);
	if (n < 0)
		snprintf(out, cap, "fd %d", fd);
	else
		out[n] = '\0';
}

/* dirfd's path + "/" + name for the *at calls (name as is when absolute). */
static void at_path(int dirfd, const char *name, char *out, size_t cap)
{
	if (!name) {
		snprintf(out, cap, "(null)");
	} else if (name[0] == '/') {
		snprintf(out, cap, "%s", name);
	} else if (dirfd == AT_FDCWD) {
		char cwd[PATH_MAX];
		if (syscall(SYS_getcwd, cwd, sizeof cwd) < 0)
			snprintf(cwd, sizeof cwd, ".");
		snprintf(out, cap, "%s/%s", cwd, name);
	} else {
		char d[PATH_MAX];
		fd_path(dirfd, d, sizeof d);
		snprintf(out, cap, "%s/%s", d, name);
	}
}

static int path_matches(const char *p)
{
	if (!cfg.path[0])
		return 1;
	if (!p)
		return 0;
	size_t n = strlen(cfg.path), lp = strlen(p);
	if (cfg.path[n - 1] == '$') /* anchored at the end: "state/rejected$" is the folder only */
		return lp >= n - 1 && memcmp(p + lp - (n - 1), cfg.path, n - 1) == 0;
	return strstr(p, cfg.path) != NULL;
}

/*
 * Whether this call fails: it matches the op and a path, the UNTIL_GONE file
 * exists, and it is past FAULT_AFTER and within FAULT_COUNT. Sets errno and
 * logs when it does.
 */
static void log_call(const char *call, const char *p1, const char *p2, const char *what, long k)
{
	char msg[2 * PATH_MAX + 128], num[32] = "";
	if (k)
		snprintf(num, sizeof num, "#%ld, ", k);
	int len = snprintf(msg, sizeof msg, "faultshim: %s(%s%s%s) %s [%spid %ld]\n", call, p1 ? p1 : "",
			   p2 ? ", " : "", p2 ? p2 : "", what, num, (long)getpid());
	if (len > (int)sizeof msg - 1)
		len = (int)sizeof msg - 1;
	raw_write(cfg.logfd, msg, (size_t)len);
}

static int inject(const char *call, const char *p1, const char *p2)
{
	if (!path_matches(p1) && !(p2 && path_matches(p2)))
		return 0;
	int on = 1;
	if (cfg.gone[0]) {
		struct stat st;
		on = syscall(SYS_newfstatat, AT_FDCWD, cfg.gone, &st, 0) == 0;
	}
	if (on) {
		long n = __atomic_fetch_add(&matched, 1, __ATOMIC_SEQ_CST);
		on = n >= cfg.after && (cfg.count < 0 || n - cfg.after < cfg.count);
	}
	if (!on) {
		if (cfg.trace)
			log_call(call, p1, p2, "passed", 0);
		return 0;
	}
	char what[64];
	snprintf(what, sizeof what, "-> %s", cfg.err_name);
	log_call(call, p1, p2, what, __atomic_add_fetch(&injected, 1, __ATOMIC_SEQ_CST));
	return 1;
}

static int inject_fd(const char *call, int fd)
{
	char p[PATH_MAX];
	fd_path(fd, p, sizeof p);
	return inject(call, p, NULL);
}

static int inject_at(const char *call, int dirfd, const char *name)
{
	char p[PATH_MAX + 64];
	at_path(dirfd, name, p, sizeof p);
	return inject(call, p, NULL);
}

static int inject_at2(const char *call, int d1, const char *n1, int d2, const char *n2)
{
	char p1[PATH_MAX + 64], p2[PATH_MAX + 64];
	at_path(d1, n1, p1, sizeof p1);
	at_path(d2, n2, p2, sizeof p2);
	return inject(call, p1, p2);
}

#define REAL(name)                                                                       \
	static __typeof__(name) *real_ptr;                                               \
	__typeof__(name) *real = __atomic_load_n(&real_ptr, __ATOMIC_ACQUIRE);            \
	if (!real) {                                                                     \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);                      \
		if (!real)                                                               \
			die("dlsym cannot find", #name);                                 \
		__atomic_store_n(&real_ptr, real, __ATOMIC_RELEASE);                     \
	}

#define FAIL(ret)                        \
	do {                             \
		errno = cfg.err;         \
		return ret;              \
	} while (0)

/* ---- writes and syncs -------------------------------------------------- */

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write);
	if (armed(OP_WRITE) && inject_fd("write", fd))
		FAIL(-1);
	return real(fd, buf, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(writev);
	if (armed(OP_WRITE) && inject_fd("writev", fd))
		FAIL(-1);
	return real(fd, iov, cnt);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(pwrite);
	if (armed(OP_PWRITE) && inject_fd("pwrite", fd))
		FAIL(-1);
	return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	REAL(pwrite64);
	if (armed(OP_PWRITE) && inject_fd("pwrite64", fd))
		FAIL(-1);
	return real(fd, buf, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	REAL(pwritev);
	if (armed(OP_PWRITE) && inject_fd("pwritev", fd))
		FAIL(-1);
	return real(fd, iov, cnt, off);
}

int fsync(int fd)
{
	REAL(fsync);
	if (armed(OP_FSYNC) && inject_fd("fsync", fd))
		FAIL(-1);
	return real(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync);
	if (armed(OP_FDATASYNC) && inject_fd("fdatasync", fd))
		FAIL(-1);
	return real(fd);
}

int syncfs(int fd)
{
	REAL(syncfs);
	if (armed(OP_SYNCFS) && inject_fd("syncfs", fd))
		FAIL(-1);
	return real(fd);
}

int ftruncate(int fd, off_t len)
{
	REAL(ftruncate);
	if (armed(OP_FTRUNCATE) && inject_fd("ftruncate", fd))
		FAIL(-1);
	return real(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	REAL(ftruncate64);
	if (armed(OP_FTRUNCATE) && inject_fd("ftruncate64", fd))
		FAIL(-1);
	return real(fd, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL(fallocate);
	if (armed(OP_FALLOCATE) && inject_fd("fallocate", fd))
		FAIL(-1);
	return real(fd, mode, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	REAL(posix_fallocate);
	if (armed(OP_FALLOCATE) && inject_fd("posix_fallocate", fd))
		return cfg.err; /* returns the error, errno untouched */
	return real(fd, off, len);
}

int close(int fd)
{
	REAL(close);
	if (armed(OP_CLOSE) && inject_fd("close", fd)) {
		real(fd); /* the fd is gone either way, as after a real EIO from close */
		FAIL(-1);
	}
	return real(fd);
}

/* ---- reads ------------------------------------------------------------- */

ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);
	if (armed(OP_READ) && inject_fd("read", fd))
		FAIL(-1);
	return real(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(pread);
	if (armed(OP_READ) && inject_fd("pread", fd))
		FAIL(-1);
	return real(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	REAL(pread64);
	if (armed(OP_READ) && inject_fd("pread64", fd))
		FAIL(-1);
	return real(fd, buf, n, off);
}

/* ---- opens ------------------------------------------------------------- */

static int wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

static int open_fails(const char *call, int dirfd, const char *name, int flags)
{
	if (!armed(OP_OPEN | OP_OPENW))
		return 0;
	if (!(cfg.ops & OP_OPEN) && !wants_write(flags))
		return 0;
	return inject_at(call, dirfd, name);
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *name, int flags, ...)
{
	REAL(open);
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (open_fails("open", AT_FDCWD, name, flags))
		FAIL(-1);
	return real(name, flags, mode);
}

int open64(const char *name, int flags, ...)
{
	REAL(open64);
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (open_fails("open64", AT_FDCWD, name, flags))
		FAIL(-1);
	return real(name, flags, mode);
}

int openat(int dirfd, const char *name, int flags, ...)
{
	REAL(openat);
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (open_fails("openat", dirfd, name, flags))
		FAIL(-1);
	return real(dirfd, name, flags, mode);
}

int openat64(int dirfd, const char *name, int flags, ...)
{
	REAL(openat64);
	va_list ap;
	va_start(ap, flags);
	mode_t mode = open_mode(flags, ap);
	va_end(ap);
	if (open_fails("openat64", dirfd, name, flags))
		FAIL(-1);
	return real(dirfd, name, flags, mode);
}

int creat(const char *name, mode_t mode)
{
	REAL(creat);
	if (open_fails("creat", AT_FDCWD, name, O_WRONLY | O_CREAT | O_TRUNC))
		FAIL(-1);
	return real(name, mode);
}

int creat64(const char *name, mode_t mode)
{
	REAL(creat64);
	if (open_fails("creat64", AT_FDCWD, name, O_WRONLY | O_CREAT | O_TRUNC))
		FAIL(-1);
	return real(name, mode);
}

/* the _FORTIFY_SOURCE entry points */
int __open_2(const char *name, int flags);
int __open_2(const char *name, int flags)
{
	REAL(__open_2);
	if (open_fails("open", AT_FDCWD, name, flags))
		FAIL(-1);
	return real(name, flags);
}

int __open64_2(const char *name, int flags);
int __open64_2(const char *name, int flags)
{
	REAL(__open64_2);
	if (open_fails("open64", AT_FDCWD, name, flags))
		FAIL(-1);
	return real(name, flags);
}

int __openat_2(int dirfd, const char *name, int flags);
int __openat_2(int dirfd, const char *name, int flags)
{
	REAL(__openat_2);
	if (open_fails("openat", dirfd, name, flags))
		FAIL(-1);
	return real(dirfd, name, flags);
}

int __openat64_2(int dirfd, const char *name, int flags);
int __openat64_2(int dirfd, const char *name, int flags)
{
	REAL(__openat64_2);
	if (open_fails("openat64", dirfd, name, flags))
		FAIL(-1);
	return real(dirfd, name, flags);
}

/* ---- names ------------------------------------------------------------- */

int rename(const char *from, const char *to)
{
	REAL(rename);
	if (armed(OP_RENAME) && inject_at2("rename", AT_FDCWD, from, AT_FDCWD, to))
		FAIL(-1);
	return real(from, to);
}

int renameat(int d1, const char *from, int d2, const char *to)
{
	REAL(renameat);
	if (armed(OP_RENAME) && inject_at2("renameat", d1, from, d2, to))
		FAIL(-1);
	return real(d1, from, d2, to);
}

int renameat2(int d1, const char *from, int d2, const char *to, unsigned flags)
{
	REAL(renameat2);
	if (armed(OP_RENAME) && inject_at2("renameat2", d1, from, d2, to))
		FAIL(-1);
	return real(d1, from, d2, to, flags);
}

int link(const char *from, const char *to)
{
	REAL(link);
	if (armed(OP_LINK) && inject_at2("link", AT_FDCWD, from, AT_FDCWD, to))
		FAIL(-1);
	return real(from, to);
}

int linkat(int d1, const char *from, int d2, const char *to, int flags)
{
	REAL(linkat);
	if (armed(OP_LINK) && inject_at2("linkat", d1, from, d2, to))
		FAIL(-1);
	return real(d1, from, d2, to, flags);
}

int unlink(const char *name)
{
	REAL(unlink);
	if (armed(OP_UNLINK) && inject_at("unlink", AT_FDCWD, name))
		FAIL(-1);
	return real(name);
}

int unlinkat(int dirfd, const char *name, int flags)
{
	REAL(unlinkat);
	if (armed(OP_UNLINK) && inject_at("unlinkat", dirfd, name))
		FAIL(-1);
	return real(dirfd, name, flags);
}

int mkdir(const char *name, mode_t mode)
{
	REAL(mkdir);
	if (armed(OP_MKDIR) && inject_at("mkdir", AT_FDCWD, name))
		FAIL(-1);
	return real(name, mode);
}

int mkdirat(int dirfd, const char *name, mode_t mode)
{
	REAL(mkdirat);
	if (armed(OP_MKDIR) && inject_at("mkdirat", dirfd, name))
		FAIL(-1);
	return real(dirfd, name, mode);
}

int rmdir(const char *name)
{
	REAL(rmdir);
	if (armed(OP_RMDIR) && inject_at("rmdir", AT_FDCWD, name))
		FAIL(-1);
	return real(name);
}
