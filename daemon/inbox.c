/*
 * inbox.c - claim, ingest, archive or reject; and recovery of the work
 * folder after a crash. See inbox.h for the life of a file.
 */
#include "inbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "fsutil.h"
#include "ingest.h"
#include "log.h"

#define TOKEN_LEN 16 /* hex characters before the '.' of a claim name */
#define MAX_NAME 200 /* longer names cannot be claimed with their token */

typedef struct run {
	const config *cfg;
	const plan *p;
	ledger *l;
	char *work;
	inbox_stats *st;
} run;

int inbox_ignored_name(const char *name)
{
	size_t n = strlen(name);
	static const char *const suffixes[] = {".tmp", ".part", ".partial", "~"};
	if (n == 0 || name[0] == '.')
		return 1;
	for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
		size_t k = strlen(suffixes[i]);
		if (n >= k && strcmp(name + n - k, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

int inbox_prepare_dirs(const config *cfg, pd_err *err)
{
	char *work = config_work_dir(cfg);
	char *dbdir = fs_dirname(cfg->database), *auditdir = fs_dirname(cfg->audit_log);
	const char *dirs[] = {cfg->inbox, work, cfg->archive, cfg->rejected, cfg->statements, dbdir, auditdir};
	struct stat sb;
	int inbox_missing = stat(cfg->inbox, &sb) < 0 && errno == ENOENT;
	int rc = 0;
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs && rc == 0; i++)
		rc = fs_mkdirs(dirs[i], 0750, err);
	/* others drop files into it: say so when it is not the folder they know */
	if (rc == 0 && inbox_missing)
		log_msg(LOG_WARNING, "the inbox %s was missing: created it (mode 0750, owned by this user)", cfg->inbox);
	free(work);
	free(dbdir);
	free(auditdir);
	return rc;
}

/* Length of the valid UTF-8 sequence starting at s (1 to 4), or 0. */
static size_t utf8_seq(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
	return n && strnlen(s, n) == n && csvin_valid_utf8(s, n) ? n : 0;
}

/*
 * A copy of s that is valid UTF-8: bytes that are not, and with `controls`
 * also control characters (names may hold newlines), are written as \xNN.
 * Names and messages go into logs, reports and the audit log, which are
 * UTF-8 text (jansson refuses a string that is not) with one entry a line.
 * Malloc'ed.
 */
static char *clean_text(const char *s, int controls)
{
	char *out = xmalloc(strlen(s) * 4 + 1);
	size_t o = 0;
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t n = utf8_seq(s);
		if (n == 0 || (controls && (c < 0x20 || c == 0x7f))) {
			o += (size_t)sprintf(out + o, "\\x%02X", c);
			s++;
		} else {
			memcpy(out + o, s, n);
			o += n;
			s += n;
		}
	}
	out[o] = '\0';
	return out;
}

/* A printable copy of a file name for logs, messages and the ledger. */
static void printable(const char *s, char *out, size_t cap)
{
	char *c = clean_text(s, 1);
	snprintf(out, cap, "%s", c);
	free(c);
}

static void month_now(char out[8])
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(out, 8, "%Y-%m", &tm);
}

static const char *type_name(mode_t m)
{
	if (S_ISLNK(m)) return "a symbolic link (not followed)";
	if (S_ISDIR(m)) return "a folder";
	if (S_ISFIFO(m)) return "a FIFO";
	if (S_ISSOCK(m)) return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m)) return "a device file";
	return "not a regular file";
}

/* ---- finishing a decided claim (also used by crash recovery) ----------- */

static int move_to_archive(run *r, const char *claim, const char *name, const char *month, pd_err *err)
{
	char *dir = fs_join(r->cfg->archive, month);
	char *from = fs_join(r->work, claim);
	int rc = fs_mkdirs(dir, 0750, err);
	if (rc == 0) {
		char *to = fs_free_name(dir, name, "");
		rc = fs_rename_durable(from, to, err);
		free(to);
	}
	free(dir);
	free(from);
	return rc;
}

static int path_free(const char *path)
{
	struct stat st;
	return lstat(path, &st) < 0 && errno == ENOENT;
}

/* 1 when path is a regular file holding exactly text. */
static int holds_exactly(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct stat st;
	int same = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len) {
		char *buf = xmalloc(len + 1);
		size_t got = 0;
		ssize_t n;
		while (got < len && (n = read(fd, buf + got, len - got)) > 0)
			got += (size_t)n;
		same = got == len && memcmp(buf, text, len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

/*
 * rejected/NAME where neither NAME nor NAME.errors.txt exists, trying the
 * names fs_free_name() tries (NAME, NAME.2.EXT, ...): an earlier rejected
 * file may itself have been called NAME.errors.txt, and no report may
 * replace it. A NAME.errors.txt that holds exactly this report counts as
 * free: an earlier try at this rejection wrote it, then could not move the
 * file (permission denied, a failed sync); the retry goes on with that name
 * instead of leaving the report there without its file. Malloc'ed.
 */
static char *rejected_name(const char *dir, const char *name, const char *report_text)
{
	const char *dot = strrchr(name, '.');
	int stem = (int)(dot && dot != name ? (size_t)(dot - name) : strlen(name));
	for (unsigned n = 1;; n++) {
		char *to = NULL, *report = NULL;
		if ((n == 1 ? asprintf(&to, "%s/%s", dir, name)
			    : asprintf(&to, "%s/%.*s.%u%s", dir, stem, name, n, name + stem)) < 0 ||
		    asprintf(&report, "%s.errors.txt", to) < 0)
			abort();
		int ok = path_free(to) && (path_free(report) || holds_exactly(report, report_text));
		free(report);
		if (ok)
			return to;
		free(to);
	}
}

static int move_to_rejected(run *r, const char *claim, const char *name, const char *report, pd_err *err)
{
	char *to = rejected_name(r->cfg->rejected, name, report);
	char *base = strrchr(to, '/') + 1;
	char *errname = NULL;
	if (asprintf(&errname, "%s.errors.txt", base) < 0)
		abort();
	/* the report first: whoever sees the file in rejected/ also sees why */
	int rc = fs_write_file_durable(r->cfg->rejected, errname, report, strlen(report), 0640, err);
	if (rc == 0) {
		char *from = fs_join(r->work, claim);
		rc = fs_rename_durable(from, to, err);
		free(from);
	}
	free(errname);
	free(to);
	return rc;
}

/* 1 when the ledger already decided this claim (and it was finished now), 0 when not, -1 error */
static int finish_decided(run *r, const char *claim, const char *name, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(r->l, "SELECT archive_dir FROM files WHERE claim = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, claim, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char month[16];
		snprintf(month, sizeof month, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (ledger_audit_sync(r->l, r->cfg->audit_log, err) < 0)
			return -1;
		return move_to_archive(r, claim, name, month, err) < 0 ? -1 : 1;
	}
	sqlite3_finalize(st);
	if (ledger_prepare(r->l, "SELECT report FROM rejections WHERE claim = ?", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, claim, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char *report = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		int rc = ledger_audit_sync(r->l, r->cfg->audit_log, err);
		if (rc == 0)
			rc = move_to_rejected(r, claim, name, report, err);
		free(report);
		return rc < 0 ? -1 : 1;
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- rejecting ----------------------------------------------------------- */

static char *make_report(const char *name, const char *reason, const pd_diag *errors)
{
	char now[32];
	audit_now(now);
	size_t cap = 4096, len = 0;
	for (size_t i = 0; i < errors->n; i++)
		cap += strlen(errors->msgs[i]) + 1;
	char *s = xmalloc(cap);
	len += (size_t)snprintf(s + len, cap - len, "%s was rejected at %s: nothing in it was booked.\nReason: %s\n",
				name, now, reason);
	if (errors->n) {
		size_t total = pd_diag_count(errors);
		len += (size_t)snprintf(s + len, cap - len, "\n%zu error%s (line, column, value, reason):\n", total,
					total == 1 ? "" : "s");
		for (size_t i = 0; i < errors->n; i++) {
			memcpy(s + len, errors->msgs[i], strlen(errors->msgs[i]));
			len += strlen(errors->msgs[i]);
			s[len++] = '\n';
		}
		if (errors->dropped)
			len += (size_t)snprintf(s + len, cap - len, "... and %zu more errors not listed\n", errors->dropped);
	}
	s[len] = '\0';
	return s;
}

/* name: as in the work folder; shown: as printable() makes it, for the texts */
static int reject(run *r, const char *claim, const char *name, const char *shown, const char *sha,
		  uint64_t size, const char *reason_raw, const pd_diag *errors, pd_err *err)
{
	/* row errors quote values as read: keep the report and the audit line UTF-8 */
	char *reason = clean_text(reason_raw, 1);
	char *raw_report = make_report(shown, reason, errors);
	char *report = clean_text(raw_report, 0);
	free(raw_report);
	char now[32];
	audit_now(now);
	size_t nerr = pd_diag_count(errors);
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (ledger_begin(r->l, err) < 0)
		goto out;
	if (ledger_prepare(r->l, "INSERT INTO rejections(name, claim, size, sha256, rejected_at, reason, errors, report)"
				 " VALUES(?,?,?,?,?,?,?,?)", &st, err) < 0)
		goto rollback;
	sqlite3_bind_text(st, 1, shown, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, claim, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)size);
	if (sha)
		sqlite3_bind_text(st, 4, sha, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (int64_t)nerr);
	sqlite3_bind_text(st, 8, report, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		pd_errf(err, "ledger: recording a rejection: %s", sqlite3_errmsg(ledger_db(r->l)));
		goto rollback;
	}
	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(shown));
	json_object_set_new(m, "sha256", sha ? json_string(sha) : json_null());
	json_object_set_new(m, "reason", json_string(reason));
	json_object_set_new(m, "errors", json_integer((json_int_t)nerr));
	int arc = ledger_audit_add(r->l, "file_rejected", m, err);
	json_decref(m);
	if (arc < 0 || ledger_commit(r->l, err) < 0)
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if (ledger_audit_sync(r->l, r->cfg->audit_log, err) < 0)
		goto out;
	rc = move_to_rejected(r, claim, name, report, err);
	goto out;
rollback:
	ledger_rollback(r->l);
out:
	if (st)
		sqlite3_finalize(st);
	free(report);
	free(reason);
	return rc;
}

/* Rejects a file for what it is as a whole (no row errors), counting and logging the outcome. */
static void reject_whole(run *r, const char *claim, const char *name, const char *shown, const char *sha,
			 uint64_t size, const char *why)
{
	pd_err err = {""};
	pd_diag none = {0};
	if (reject(r, claim, name, shown, sha, size, why, &none, &err) < 0) {
		log_file(LOG_ERR, shown, "%s: cannot reject it: %s", shown, err.msg);
		r->st->failed++;
	} else {
		log_file(LOG_WARNING, shown, "%s: rejected: %s", shown, why);
		r->st->rejected++;
	}
}

/* ---- one claimed file ----------------------------------------------------- */

static void process_claim(run *r, const char *claim)
{
	const char *name = claim + TOKEN_LEN + 1;
	char shown[1024];
	printable(name, shown, sizeof shown);
	pd_err err = {""};

	int d = finish_decided(r, claim, name, &err);
	if (d != 0) {
		if (d < 0) {
			log_file(LOG_ERR, shown, "%s: cannot finish moving it after a restart: %s", shown, err.msg);
			r->st->failed++;
		} else {
			log_file(LOG_NOTICE, shown, "%s: finished moving it after a restart", shown);
		}
		return;
	}
	char *path = fs_join(r->work, claim);
	struct stat st;
	if (lstat(path, &st) < 0) {
		log_file(LOG_ERR, shown, "%s: vanished from the work folder: %s", shown, strerror(errno));
		r->st->failed++;
		free(path);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		char why[128];
		snprintf(why, sizeof why, "not a regular file: %s", type_name(st.st_mode));
		reject_whole(r, claim, name, shown, NULL, 0, why);
		free(path);
		return;
	}
	/* O_NOFOLLOW and O_NONBLOCK: if it was swapped for a link or FIFO since lstat, fail safely */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_file(LOG_ERR, shown, "%s: cannot open it: %s", shown, fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		r->st->failed++;
		return;
	}
	if ((uint64_t)st.st_size > r->cfg->max_file_size) {
		/* refused unread: hashing a 10 GiB disk image or sparse file takes
		 * minutes and proves nothing (its SHA-256 is not recorded) */
		char why[256];
		close(fd);
		snprintf(why, sizeof why, "the file has %" PRIu64 " bytes, more than max_file_size (%" PRIu64
			 " bytes): split it, or raise max_file_size in the config",
			 (uint64_t)st.st_size, r->cfg->max_file_size);
		reject_whole(r, claim, name, shown, NULL, (uint64_t)st.st_size, why);
		return;
	}
	const config_input *in = config_match(r->cfg, name);
	if (!in) {
		char sha[65], why[256];
		uint64_t size;
		fs_sha256_fd(fd, sha, &size);
		close(fd);
		snprintf(why, sizeof why, "the name matches no input entry of the config (for example sales*.csv)");
		reject_whole(r, claim, name, shown, sha, size, why);
		return;
	}
	char month[8];
	month_now(month);
	ingest_result res;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* ingest names the file in messages, the ledger and the audit log: the printable name */
	int rc = ingest_file(r->l, r->p, in, fd, shown, claim, month, &res, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc == INGEST_BOOKED) {
		pd_err e2 = {""};
		if (ledger_audit_sync(r->l, r->cfg->audit_log, &e2) < 0)
			log_file(LOG_ERR, shown, "%s: booked, but the audit log could not be updated (will retry): %s", shown, e2.msg);
		else if (move_to_archive(r, claim, name, month, &e2) < 0)
			log_file(LOG_ERR, shown, "%s: booked, but could not be archived (will retry): %s", shown, e2.msg);
		log_file(LOG_INFO, shown,
			 "%s: booked %ld rows (%ld sales, %ld distributors, %ld products; %ld late, %ld unattributed, %ld duplicates, %ld attributed) in %.2f s",
			 shown, res.st.rows, res.st.sales, res.st.distributors, res.st.products, res.st.late,
			 res.st.unattributed, res.st.duplicates, res.st.attributed, secs);
		r->st->booked++;
	} else if (rc == INGEST_REJECTED) {
		if (reject(r, claim, name, shown, res.sha256, res.size, res.reason, &res.errors, &err) < 0) {
			log_file(LOG_ERR, shown, "%s: cannot reject it: %s", shown, err.msg);
			r->st->failed++;
		} else {
			char *why = clean_text(res.reason, 1);
			log_file(LOG_WARNING, shown, "%s: rejected: %s", shown, why);
			free(why);
			r->st->rejected++;
		}
	} else if (fs_sync_failed()) {
		/* the COMMIT was written but not synced: SQLite may find it committed at the next open */
		log_file(LOG_ERR, shown, "%s: not known to be booked: %s; the next start finds out from the ledger", shown,
			 err.msg);
		r->st->failed++;
	} else {
		log_file(LOG_ERR, shown, "%s: not booked, will retry: %s", shown, err.msg);
		r->st->failed++;
	}
	ingest_result_free(&res);
}

/* ---- scanning -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir (sorted), skipping those the filter rejects. */
static int list_dir(const char *dir, int claims, char ***out, size_t *n, pd_err *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return pd_errf(err, "cannot read folder %s: %s", dir, strerror(errno));
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (claims) {
			/* TOKEN.NAME with a hex token; anything else in .work is not ours */
			if (strlen(e->d_name) <= TOKEN_LEN + 1 || e->d_name[TOKEN_LEN] != '.' ||
			    strspn(e->d_name, "0123456789abcdef") != TOKEN_LEN)
				continue;
		} else if (inbox_ignored_name(e->d_name)) {
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[(*n)++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	*out = v;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/*
 * 1 when some process still has the file open for writing (SPEC 4.1.1: a
 * file is picked up once it is closed after writing): the kernel then
 * refuses a read lease. 0 when not, or when it cannot tell (a lease needs
 * the file's owner or CAP_LEASE, and a file system that has leases).
 */
static int being_written(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int busy = 0;
	/* should a writer open it meanwhile, the lease break signal must not kill
	 * us: SIGWINCH is ignored by default */
	if (fcntl(fd, F_SETSIG, SIGWINCH) == 0) {
		if (fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
			busy = errno == EAGAIN;
		else
			fcntl(fd, F_SETLEASE, F_UNLCK);
	}
	close(fd);
	return busy;
}

/* Renames inbox/NAME to .work/TOKEN.NAME; the claim name is written to out. */
static int claim_file(run *r, const char *name, char *out, size_t cap, pd_err *err)
{
	unsigned char rnd[TOKEN_LEN / 2];
	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return pd_errf(err, "getrandom: %s", strerror(errno));
	size_t o = 0;
	for (size_t i = 0; i < sizeof rnd; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", rnd[i]);
	snprintf(out + o, cap - o, ".%s", name);
	char *from = fs_join(r->cfg->inbox, name), *to = fs_join(r->work, out);
	int rc = fs_rename_durable(from, to, err);
	free(from);
	free(to);
	return rc;
}

int inbox_run(const config *cfg, const plan *p, ledger *l, inbox_stop_fn stop, void *stop_ctx,
	      inbox_stats *st, pd_err *err)
{
	memset(st, 0, sizeof *st);
	run r = {cfg, p, l, config_work_dir(cfg), st};
	int rc = 0;
	size_t n;
	/* 1. what was in flight when we last stopped */
	char **claims;
	if (list_dir(r.work, 1, &claims, &n, err) < 0) {
		free(r.work);
		return -1;
	}
	for (size_t i = 0; i < n && !(stop && stop(stop_ctx)) && !fs_sync_failed(); i++)
		process_claim(&r, claims[i]);
	free_list(claims, n);
	/* 2. everything waiting in the inbox, in name order */
	char **names;
	if (list_dir(cfg->inbox, 0, &names, &n, err) < 0) {
		free(r.work);
		return -1;
	}
	for (size_t i = 0; i < n && !(stop && stop(stop_ctx)) && !fs_sync_failed(); i++) {
		char *path = fs_join(cfg->inbox, names[i]);
		struct stat sb;
		int skip = lstat(path, &sb) < 0 || S_ISDIR(sb.st_mode);
		int writing = !skip && S_ISREG(sb.st_mode) && being_written(path);
		free(path);
		if (skip)
			continue;
		char shown[1024];
		printable(names[i], shown, sizeof shown);
		if (writing) {
			/* its IN_CLOSE_WRITE brings the daemon back; --once leaves it for the next run */
			log_file(LOG_NOTICE, shown, "%s: still open for writing: left in the inbox until it is closed", shown);
			continue;
		}
		if (strlen(names[i]) > MAX_NAME) {
			log_file(LOG_ERR, shown, "%s: the name is longer than %d bytes; rename it to be processed", shown, MAX_NAME);
			st->failed++;
			continue;
		}
		char claim[256];
		pd_err e = {""};
		if (claim_file(&r, names[i], claim, sizeof claim, &e) < 0) {
			log_file(LOG_ERR, shown, "%s: cannot claim it: %s", shown, e.msg);
			st->failed++;
			continue;
		}
		process_claim(&r, claim);
	}
	free_list(names, n);
	free(r.work);
	if (fs_sync_failed())
		rc = pd_errf(err, "stopping: a sync to disk failed (above); a failed sync is never retried: the next "
				  "start works out from the ledger what was done");
	return rc;
}
