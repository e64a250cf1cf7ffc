#include "fsutil.h"
#include "crashpoint.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fs_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", a, (la && a[la - 1] == '/') ? "" : "/", b) < 0)
		abort();
	return s;
}

char *fs_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

char *fs_resolve(const char *base_dir, const char *rel)
{
	if (rel[0] == '/')
		return xstrdup(rel);
	return fs_join(base_dir, rel);
}

int fs_mkdirs(const char *path, unsigned mode, pd_err *err)
{
	char *p = xstrdup(path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) == 0) {
				/* a new folder exists after a crash only once its parent is synced:
				 * archive/YYYY-MM must not vanish with the files renamed into it */
				char *parent = fs_dirname(p);
				int rc = fs_fsync_dir(parent, err);
				free(parent);
				if (rc < 0) {
					free(p);
					return -1;
				}
			} else if (errno != EEXIST) {
				int e = errno;
				pd_errf(err, "cannot create folder %s: %s", p, strerror(e));
				free(p);
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(p);
		return pd_errf(err, "%s is not a folder", path);
	}
	free(p);
	return 0;
}

static int sync_failed;

void fs_note_sync_failure(void)
{
	__atomic_store_n(&sync_failed, 1, __ATOMIC_SEQ_CST);
}

int fs_sync_failed(void)
{
	return __atomic_load_n(&sync_failed, __ATOMIC_SEQ_CST);
}

int fs_fsync_dir(const char *dir, pd_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pd_errf(err, "cannot open folder %s: %s", dir, strerror(errno));
	CRASH_POINT("before fsync", dir);
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		fs_note_sync_failure();
		return pd_errf(err, "cannot sync folder %s: %s", dir, strerror(e));
	}
	close(fd);
	CRASH_POINT("after fsync", dir);
	return 0;
}

int fs_rename_durable(const char *from, const char *to, pd_err *err)
{
	CRASH_POINT("before rename", to);
	if (rename(from, to) < 0)
		return pd_errf(err, "cannot move %s to %s: %s", from, to, strerror(errno));
	CRASH_POINT("after rename", to);
	char *d1 = fs_dirname(from), *d2 = fs_dirname(to);
	int rc = fs_fsync_dir(d2, err);
	if (rc == 0 && strcmp(d1, d2) != 0)
		rc = fs_fsync_dir(d1, err);
	free(d1);
	free(d2);
	return rc;
}

int fs_write_file_durable(const char *dir, const char *name, const void *data, size_t len,
			  unsigned mode, pd_err *err)
{
	char *tmpname = NULL;
	if (asprintf(&tmpname, ".%s.tmp", name) < 0)
		abort();
	char *tmp = fs_join(dir, tmpname), *dst = fs_join(dir, name);
	free(tmpname);
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		pd_errf(err, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	const char *p = data;
	size_t left = len;
	CRASH_POINT("before write", tmp);
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			pd_errf(err, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			goto out;
		}
		p += w;
		left -= (size_t)w;
	}
	CRASH_POINT("after write", tmp);
	CRASH_POINT("before fsync", tmp);
	if (fsync(fd) < 0) {
		pd_errf(err, "cannot sync %s: %s", tmp, strerror(errno));
		fs_note_sync_failure();
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	CRASH_POINT("after fsync", tmp);
	CRASH_POINT("before rename", dst);
	if (rename(tmp, dst) < 0) {
		pd_errf(err, "cannot move %s to %s: %s", tmp, dst, strerror(errno));
		unlink(tmp);
		goto out;
	}
	CRASH_POINT("after rename", dst);
	rc = fs_fsync_dir(dir, err);
out:
	free(tmp);
	free(dst);
	return rc;
}

char *fs_free_name(const char *dir, const char *name, const char *suffix)
{
	char *cand = NULL;
	if (asprintf(&cand, "%s/%s%s", dir, name, suffix) < 0)
		abort();
	struct stat st;
	if (lstat(cand, &st) < 0 && errno == ENOENT)
		return cand;
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
	const char *ext = name + stem;
	for (unsigned n = 2;; n++) {
		free(cand);
		if (asprintf(&cand, "%s/%.*s.%u%s%s", dir, (int)stem, name, n, ext, suffix) < 0)
			abort();
		if (lstat(cand, &st) < 0 && errno == ENOENT)
			return cand;
	}
}

/* OpenSSL 3 looks EVP_sha256() up under a lock on every use; fetch it once. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_impl(void)
{
	pthread_once(&sha256_once, fetch_sha256);
	return sha256_md ? sha256_md : EVP_sha256();
}

void fs_sha256(const void *buf, size_t len, unsigned char out[32])
{
	if (EVP_Digest(buf, len, out, NULL, sha256_impl(), NULL) != 1)
		abort(); /* only out of memory: nothing sensible to hash with */
}

void fs_hex(const unsigned char d[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

int fs_sha256_fd(int fd, char out[65], uint64_t *size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, sha256_impl(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		errno = ENOMEM;
		return -1;
	}
	unsigned char buf[65536];
	ssize_t n;
	uint64_t total = 0;
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
		progress_tick();
	}
	int e = errno;
	unsigned char d[32];
	unsigned len;
	EVP_DigestFinal_ex(ctx, d, &len);
	EVP_MD_CTX_free(ctx);
	fs_hex(d, out);
	if (size)
		*size = total;
	errno = e;
	return n < 0 ? -1 : 0;
}

int fs_sha256_file(const char *path, char out[65], pd_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return pd_errf(err, "cannot read %s: %s", path, strerror(errno));
	int rc = fs_sha256_fd(fd, out, NULL);
	int e = errno;
	close(fd);
	if (rc < 0)
		return pd_errf(err, "cannot read %s: %s", path, strerror(e));
	return 0;
}
