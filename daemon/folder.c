#include "folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int dirfd, const char *name, const char *buf, size_t len, pd_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return pd_errf(err, "cannot create %s: %s", name, strerror(errno));
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return pd_errf(err, "cannot write %s: %s", name, strerror(e));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return pd_errf(err, "cannot write %s: %s", name, strerror(errno));
	return 0;
}

static void hex(const unsigned char d[32], char out[65])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

static void sha256(const char *buf, size_t len, unsigned char d[32])
{
	EVP_Digest(buf, len, d, NULL, EVP_sha256(), NULL);
}

int folder_remove(const char *path, pd_err *err)
{
	DIR *dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : pd_errf(err, "cannot open %s: %s", path, strerror(errno));
	struct dirent *e;
	while ((e = readdir(dir)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && unlinkat(dirfd(dir), e->d_name, 0) < 0) {
			int er = errno;
			closedir(dir);
			return pd_errf(err, "cannot remove %s/%s: %s", path, e->d_name, strerror(er));
		}
	closedir(dir);
	if (rmdir(path) < 0)
		return pd_errf(err, "cannot remove %s: %s", path, strerror(errno));
	return 0;
}

typedef struct job {
	const stmt_period *sp;
	int dirfd;
	const int32_t *wanted;   /* distributor indexes with a statement */
	int64_t n_wanted;
	unsigned char (*digest)[2][32]; /* per wanted statement: json, html */
	int64_t bytes;
	int thread, threads;
	int failed;
	pd_err err;
} job;

static void *worker(void *arg)
{
	job *j = arg;
	char name[128], *buf = NULL;
	size_t len;
	for (int64_t w = j->thread; w < j->n_wanted && !j->failed; w += j->threads) {
		int32_t k = j->wanted[w];
		for (int f = 0; f < 2 && !j->failed; f++) {
			snprintf(name, sizeof name, "%s.%s", j->sp->ids[k], f ? "html" : "json");
			int rc = f ? statement_html(j->sp, k, &buf, &len) : statement_json(j->sp, k, &buf, &len);
			if (rc < 0) {
				pd_errf(&j->err, "cannot make %s", name);
				j->failed = 1;
			} else if (write_all(j->dirfd, name, buf, len, &j->err) < 0) {
				j->failed = 1;
			} else {
				sha256(buf, len, j->digest[w][f]);
				j->bytes += (int64_t)len;
			}
			free(buf);
			buf = NULL;
		}
	}
	return NULL;
}

static void manifest_line(char **m, size_t *len, size_t *cap, const unsigned char d[32], const char *name)
{
	size_t need = 64 + 2 + strlen(name) + 2;
	if (*len + need > *cap) {
		*cap = (*len + need) * 2;
		*m = xrealloc(*m, *cap);
	}
	char h[65];
	hex(d, h);
	*len += (size_t)snprintf(*m + *len, *cap - *len, "%s  %s\n", h, name);
}

int folder_write(const stmt_period *sp, const char *folder, int threads, folder_result *res, pd_err *err)
{
	memset(res, 0, sizeof *res);
	if (threads < 1)
		threads = 1;
	if (threads > 16)
		threads = 16;
	if (folder_remove(folder, err) < 0)
		return -1;
	if (mkdir(folder, 0750) < 0)
		return pd_errf(err, "cannot create %s: %s", folder, strerror(errno));
	int dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pd_errf(err, "cannot open %s: %s", folder, strerror(errno));
	int rc = -1;
	char *buf = NULL, *m = NULL;
	size_t len, mlen = 0, mcap = 0;
	int32_t *wanted = xmalloc((size_t)(sp->n ? sp->n : 1) * sizeof *wanted);
	int64_t nw = 0;
	for (int32_t k = 0; k < sp->n; k++)
		if (statement_wanted(sp, k))
			wanted[nw++] = k;
	unsigned char (*digest)[2][32] = xmalloc((size_t)(nw ? nw : 1) * sizeof *digest);
	json_object_seed(1); /* jansson's hash seed, set once before the threads start */
	job jobs[16];
	pthread_t tid[16];
	int created[16] = {0};
	for (int t = 0; t < threads; t++)
		jobs[t] = (job){.sp = sp, .dirfd = dfd, .wanted = wanted, .n_wanted = nw, .digest = digest,
				.thread = t, .threads = threads};
	for (int t = 1; t < threads; t++)
		created[t] = pthread_create(&tid[t], NULL, worker, &jobs[t]) == 0;
	worker(&jobs[0]);
	for (int t = 1; t < threads; t++) {
		if (created[t])
			pthread_join(tid[t], NULL);
		else
			worker(&jobs[t]); /* no thread: do its share here */
	}
	for (int t = 0; t < threads; t++) {
		if (jobs[t].failed) {
			*err = jobs[t].err;
			goto out;
		}
		res->bytes += jobs[t].bytes;
	}
	res->statements = nw;
	/* the manifest in engine order, independent of which thread wrote what */
	char name[128];
	for (int64_t w = 0; w < nw; w++)
		for (int f = 0; f < 2; f++) {
			snprintf(name, sizeof name, "%s.%s", sp->ids[wanted[w]], f ? "html" : "json");
			manifest_line(&m, &mlen, &mcap, digest[w][f], name);
		}
	unsigned char d[32];
	if (statement_payouts_csv(sp, &buf, &len) < 0 || write_all(dfd, "payouts.csv", buf, len, err) < 0)
		goto fail_make;
	sha256(buf, len, d);
	hex(d, res->payouts_sha);
	manifest_line(&m, &mlen, &mcap, d, "payouts.csv");
	res->bytes += (int64_t)len;
	free(buf);
	buf = NULL;
	if (statement_summary_json(sp, &buf, &len) < 0 || write_all(dfd, "summary.json", buf, len, err) < 0)
		goto fail_make;
	sha256(buf, len, d);
	hex(d, res->summary_sha);
	manifest_line(&m, &mlen, &mcap, d, "summary.json");
	res->bytes += (int64_t)len;
	if (write_all(dfd, "SHA256SUMS", m ? m : "", mlen, err) < 0)
		goto out;
	sha256(m ? m : "", mlen, d);
	hex(d, res->manifest_sha);
	res->files = 2 * nw + 3;
	res->manifest = m;
	res->manifest_len = mlen;
	m = NULL;
	/* one syncfs for the whole folder rather than an fsync per file */
	if (syncfs(dfd) < 0 || fsync(dfd) < 0) {
		pd_errf(err, "cannot sync %s: %s", folder, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
fail_make:
	if (!err->msg[0])
		pd_errf(err, "cannot make the summary files of %s", sp->period);
out:
	free(buf);
	free(m);
	free(wanted);
	free(digest);
	close(dfd);
	return rc;
}
