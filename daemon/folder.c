#include "folder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "crashpoint.h"
#include "progress.h"

/* folder: dirfd's path, for the messages */
static int write_all(int dirfd, const char *folder, const char *name, const char *buf, size_t len, pd_err *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return pd_errf(err, "cannot create %s/%s: %s", folder, name, strerror(errno));
	size_t off = 0;
	CRASH_POINT("before write", name);
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			return pd_errf(err, "cannot write %s/%s: %s", folder, name, strerror(e));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0)
		return pd_errf(err, "cannot write %s/%s: %s", folder, name, strerror(errno));
	CRASH_POINT("after write", name);
	progress_tick();
	return 0;
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

/*
 * Creating files in one folder is bound by the kernel (the folder's lock is
 * taken for every create; two creating threads mostly wait for each other),
 * while making a statement is CPU work. So one thread makes the statements
 * and this one writes and hashes them, meeting at a small bounded ring.
 */
#define RING 256

typedef struct item {
	char *buf;
	size_t len;
} item;

/* The maker is the faster side: when the ring is full it sleeps until the
 * writer has emptied half of it, so the two wake each other about twice per
 * RING / 2 files rather than once per file (a futex wake per file shows). */
typedef struct job {
	const stmt_period *sp;
	const int32_t *wanted;
	unsigned char (*digest)[2][32]; /* filled by the maker: hashing is CPU work too */
	int64_t n_items;          /* 2 per wanted statement: json, then html */
	item ring[RING];
	int64_t head, tail;       /* items made / items taken */
	int stop, failed;
	int maker_waits, writer_waits;
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* one condition for both sides: few wake-ups either way */
} job;

static void *maker(void *arg)
{
	job *j = arg;
	for (int64_t i = 0; i < j->n_items; i++) {
		int32_t k = j->wanted[i / 2];
		item it = {NULL, 0};
		int rc = (i & 1) ? statement_html(j->sp, k, &it.buf, &it.len) : statement_json(j->sp, k, &it.buf, &it.len);
		if (rc == 0)
			fs_sha256(it.buf, it.len, j->digest[i / 2][i & 1]);
		pthread_mutex_lock(&j->mu);
		if (j->head - j->tail >= RING) {
			j->maker_waits = 1;
			while (j->head - j->tail > RING / 2 && !j->stop)
				pthread_cond_wait(&j->cv, &j->mu);
			j->maker_waits = 0;
		}
		if (j->stop || rc < 0) {
			j->failed |= rc < 0;
			pthread_cond_broadcast(&j->cv);
			pthread_mutex_unlock(&j->mu);
			free(it.buf);
			return NULL;
		}
		j->ring[j->head % RING] = it;
		j->head++;
		if (j->writer_waits)
			pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
	return NULL;
}

/* Takes the next item; 0 when the maker failed. */
static int take(job *j, item *out)
{
	pthread_mutex_lock(&j->mu);
	while (j->head == j->tail && !j->failed) {
		j->writer_waits = 1;
		pthread_cond_wait(&j->cv, &j->mu);
		j->writer_waits = 0;
	}
	int ok = j->head != j->tail;
	if (ok) {
		*out = j->ring[j->tail % RING];
		j->tail++;
		if (j->maker_waits && j->head - j->tail <= RING / 2)
			pthread_cond_broadcast(&j->cv);
	}
	pthread_mutex_unlock(&j->mu);
	return ok;
}

static void stop_maker(job *j)
{
	pthread_mutex_lock(&j->mu);
	j->stop = 1;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* Writes every statement of the period; digest[w][0|1]: json, html. */
static int write_statements(const stmt_period *sp, int dfd, const char *folder, const int32_t *wanted, int64_t nw,
			    unsigned char (*digest)[2][32], int64_t *bytes, pd_err *err)
{
	job *j = xcalloc(1, sizeof *j);
	j->sp = sp;
	j->wanted = wanted;
	j->digest = digest;
	j->n_items = 2 * nw;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	json_object_seed(1); /* jansson's hash seed, set before the maker starts */
	pthread_t tid;
	int threaded = pthread_create(&tid, NULL, maker, j) == 0;
	if (!threaded)
		j->n_items = 0; /* no thread: make each statement here instead */
	int rc = 0;
	char name[128];
	for (int64_t i = 0; i < 2 * nw && rc == 0; i++) {
		item it;
		int32_t k = wanted[i / 2];
		if (threaded) {
			if (!take(j, &it)) {
				rc = pd_errf(err, "cannot make the statement of %s", sp->ids[k]);
				break;
			}
		} else if (((i & 1) ? statement_html(sp, k, &it.buf, &it.len) : statement_json(sp, k, &it.buf, &it.len)) < 0) {
			rc = pd_errf(err, "cannot make the statement of %s", sp->ids[k]);
			break;
		}
		snprintf(name, sizeof name, "%s.%s", sp->ids[k], (i & 1) ? "html" : "json");
		if (write_all(dfd, folder, name, it.buf, it.len, err) < 0)
			rc = -1;
		else if (!threaded)
			fs_sha256(it.buf, it.len, digest[i / 2][i & 1]);
		*bytes += (int64_t)it.len;
		free(it.buf);
	}
	if (threaded) {
		stop_maker(j);
		pthread_join(tid, NULL);
		while (j->tail < j->head) /* what was made but not written after a failure */
			free(j->ring[j->tail++ % RING].buf);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j);
	return rc;
}

/* Appends "HEX  NAME\n" (sha256sum's format); two million per large close. */
static void manifest_line(char **m, size_t *len, size_t *cap, const unsigned char d[32], const char *name)
{
	size_t nlen = strlen(name), need = 64 + 2 + nlen + 2;
	if (*len + need > *cap) {
		*cap = (*len + need) * 2;
		*m = xrealloc(*m, *cap);
	}
	char h[65], *o = *m + *len;
	fs_hex(d, h);
	memcpy(o, h, 64);
	o[64] = ' ';
	o[65] = ' ';
	memcpy(o + 66, name, nlen);
	o[66 + nlen] = '\n';
	o[67 + nlen] = '\0';
	*len += 67 + nlen;
}

int folder_write(const stmt_period *sp, const char *folder, folder_result *res, pd_err *err)
{
	memset(res, 0, sizeof *res);
	if (!sp->order)
		return pd_errf(err, "folder_write: no statement order");
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
	for (int32_t x = 0; x < sp->n; x++)
		if (statement_wanted(sp, sp->order[x]))
			wanted[nw++] = sp->order[x];
	unsigned char (*digest)[2][32] = xmalloc((size_t)(nw ? nw : 1) * sizeof *digest);
	if (write_statements(sp, dfd, folder, wanted, nw, digest, &res->bytes, err) < 0)
		goto out;
	res->statements = nw;
	/* the manifest in engine order, independent of which thread wrote what */
	char name[128];
	for (int64_t w = 0; w < nw; w++)
		for (int f = 0; f < 2; f++) {
			snprintf(name, sizeof name, "%s.%s", sp->ids[wanted[w]], f ? "html" : "json");
			manifest_line(&m, &mlen, &mcap, digest[w][f], name);
		}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned char d[32];
	if (statement_payouts_csv(sp, &buf, &len) < 0 || write_all(dfd, folder, "payouts.csv", buf, len, err) < 0)
		goto fail_make;
	fs_sha256(buf, len, d);
	fs_hex(d, res->payouts_sha);
	manifest_line(&m, &mlen, &mcap, d, "payouts.csv");
	res->bytes += (int64_t)len;
	free(buf);
	buf = NULL;
	if (sp->summary_json) {
		len = sp->summary_len;
		buf = xmalloc(len ? len : 1);
		memcpy(buf, sp->summary_json, len);
	} else if (statement_summary_json(sp, &buf, &len) < 0) {
		goto fail_make;
	}
	if (write_all(dfd, folder, "summary.json", buf, len, err) < 0)
		goto fail_make;
	fs_sha256(buf, len, d);
	fs_hex(d, res->summary_sha);
	manifest_line(&m, &mlen, &mcap, d, "summary.json");
	res->bytes += (int64_t)len;
	res->summary = buf;
	res->summary_len = len;
	buf = NULL;
	if (write_all(dfd, folder, "SHA256SUMS", m ? m : "", mlen, err) < 0)
		goto out;
	fs_sha256(m ? m : "", mlen, d);
	fs_hex(d, res->manifest_sha);
	res->files = 2 * nw + 3;
	res->manifest = m;
	res->manifest_len = mlen;
	m = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->summary_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* one syncfs for the whole folder rather than an fsync per file */
	CRASH_POINT("before syncfs", folder);
	if (syncfs(dfd) < 0 || fsync(dfd) < 0) {
		pd_errf(err, "cannot sync %s: %s", folder, strerror(errno));
		fs_note_sync_failure();
		goto out;
	}
	CRASH_POINT("after syncfs", folder);
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
