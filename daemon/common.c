#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

static void print_diag(const pd_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		log_msg(LOG_ERR, "%s", d->msgs[i]);
	if (d->dropped)
		log_msg(LOG_ERR, "... and %zu more problems", d->dropped);
}

config *common_load_config(const char *path)
{
	pd_diag d = {0};
	config *c = NULL;
	if (config_load(path, &c, &d) < 0) {
		print_diag(&d);
		log_msg(LOG_ERR, "config %s is invalid (%zu problem%s)", path, pd_diag_count(&d),
			pd_diag_count(&d) == 1 ? "" : "s");
		c = NULL;
	}
	pd_diag_free(&d);
	return c;
}

plan *common_load_plan(const char *path, char sha[65])
{
	pd_diag d = {0};
	plan *p = NULL;
	pd_err err;
	if (plan_load(path, &p, &d) < 0) {
		print_diag(&d);
		log_msg(LOG_ERR, "plan %s is invalid (%zu problem%s)", path, pd_diag_count(&d),
			pd_diag_count(&d) == 1 ? "" : "s");
		p = NULL;
	} else if (fs_sha256_file(path, sha, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		plan_free(p);
		p = NULL;
	}
	pd_diag_free(&d);
	return p;
}

/* flock(LOCK_EX | LOCK_NB) on DATABASE + suffix, with our pid in it for the
 * message another process prints when it finds the lock held (held_by; NULL:
 * say nothing when it is held). */
static int lock_next_to(const char *database, const char *suffix, const char *held_by)
{
	char *path = NULL;
	if (asprintf(&path, "%s%s", database, suffix) < 0)
		abort();
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		log_msg(LOG_ERR, "cannot open lock file %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (!held_by) {
			close(fd);
			free(path);
			return -1;
		}
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		if (n > 0)
			pid[strcspn(pid, "\n")] = '\0';
		log_msg(LOG_ERR, "%s on ledger %s%s%s (lock %s)", held_by, database, n > 0 ? " as process " : "",
			n > 0 ? pid : "", path);
		close(fd);
		free(path);
		return -1;
	}
	char buf[32];
	int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)len, 0) < 0)
		log_msg(LOG_WARNING, "cannot write the pid to %s", path);
	free(path);
	return fd;
}

int common_lock_ledger(const char *database)
{
	return lock_next_to(database, ".lock", "another payoutd is already running");
}

int common_lock_close(const char *database, int quiet)
{
	return lock_next_to(database, ".close.lock", quiet ? NULL : "another close is running");
}
