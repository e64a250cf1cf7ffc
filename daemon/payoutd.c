/*
 * payoutd - the inbox daemon: watches the inbox and books every file into
 * the ledger exactly once (SPEC 2, 4, 10).
 *
 * One thread, one poll loop: inotify is only a hint that something arrived;
 * the truth is a full scan of the inbox, done at start-up, after any inotify
 * event, on queue overflow and on a slow timer. Signals arrive through a
 * signalfd, so SIGTERM and SIGHUP are handled between files, never inside a
 * transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "close.h"
#include "common.h"
#include "dates.h"
#include "fsutil.h"
#include "inbox.h"
#include "ledger.h"
#include "log.h"
#include "watchdog.h"

#define RESCAN_SECONDS 60

typedef struct daemon_state {
	config *cfg;
	plan *plan;
	char plan_sha[65];
	ledger *l;
	int sigfd, inofd, timerfd, wdfd;
	int inbox_wd;
	dev_t inbox_dev; /* the folder watched (the inbox may be replaced under us) */
	ino_t inbox_ino;
	int inbox_missing;
	int stopping, reload;
	uint64_t watchdog_usec;
} daemon_state;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: payoutd [-c CONFIG] [--once]\n"
		"Watches the inbox and books sales, distributor and product files into the ledger.\n\n"
		"  -c, --config FILE  config file (default " CONFIG_DEFAULT_PATH ")\n"
		"      --once         book what is in the inbox now, then exit\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"Exit status: 0 every file handled (accepted or rejected), 1 failure, 2 usage,\n"
		"3 invalid config or plan.\n");
}

static int audit_simple(daemon_state *d, const char *event, json_t *m)
{
	pd_err err;
	int rc = ledger_audit_event(d->l, d->cfg->audit_log, event, m, &err);
	if (rc < 0)
		log_msg(LOG_ERR, "audit log: %s", err.msg);
	json_decref(m);
	return rc;
}

static json_t *plan_members(daemon_state *d)
{
	json_t *m = json_object();
	json_object_set_new(m, "plan", json_string(d->plan->name));
	json_object_set_new(m, "path", json_string(d->cfg->plan));
	json_object_set_new(m, "sha256", json_string(d->plan_sha));
	return m;
}

/* Non-blocking look at the signalfd: lets a long run stop between files. */
static int check_signals(void *ctx)
{
	daemon_state *d = ctx;
	struct signalfd_siginfo si;
	while (d->sigfd >= 0 && read(d->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGHUP)
			d->reload = 1;
		else
			d->stopping = 1;
	}
	if (d->watchdog_usec)
		sd_notify(0, "WATCHDOG=1");
	return d->stopping;
}

static int watch_inbox(daemon_state *d);
static int arm_timer(int fd, uint64_t usec);

/*
 * The inbox can go away under a running daemon (deleted, moved away, its file
 * system unmounted): say so once, look every second, and when it is back make
 * its .work again and watch the new folder. 0 while it is not usable.
 */
static int inbox_ready(daemon_state *d)
{
	struct stat sb;
	pd_err err = {""};
	int bad = stat(d->cfg->inbox, &sb) < 0 ? pd_errf(&err, "the inbox %s is gone: %s", d->cfg->inbox, strerror(errno))
		  : !S_ISDIR(sb.st_mode)         ? pd_errf(&err, "the inbox %s is not a folder", d->cfg->inbox)
		  : d->inbox_missing || sb.st_ino != d->inbox_ino || sb.st_dev != d->inbox_dev ? inbox_prepare_dirs(d->cfg, &err)
											     : 0;
	if (bad < 0) {
		if (!d->inbox_missing) {
			log_msg(LOG_ERR, "%s; nothing can be booked until it is back (looking every second)", err.msg);
			sd_notifyf(0, "STATUS=Inbox problem: %s", err.msg);
			d->inbox_missing = 1;
			arm_timer(d->timerfd, 1000000);
		}
		return 0;
	}
	if (d->inbox_missing || sb.st_ino != d->inbox_ino || sb.st_dev != d->inbox_dev) {
		watch_inbox(d);
		if (d->inbox_missing)
			log_msg(LOG_NOTICE, "the inbox %s is back", d->cfg->inbox);
		d->inbox_missing = 0;
		arm_timer(d->timerfd, RESCAN_SECONDS * 1000000ULL);
	}
	return 1;
}

static int scan(daemon_state *d)
{
	inbox_stats st;
	pd_err err = {""};
	if (d->inofd >= 0 && !inbox_ready(d))
		return -1;
	sd_notify(0, "STATUS=Booking files from the inbox");
	if (inbox_run(d->cfg, d->plan, d->l, check_signals, d, &st, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		sd_notifyf(0, "STATUS=Inbox problem: %s", err.msg);
		return -1;
	}
	if (st.booked && ledger_checkpoint(d->l, &err) < 0)
		log_msg(LOG_WARNING, "%s", err.msg);
	if (st.booked || st.rejected || st.failed)
		log_msg(LOG_INFO, "inbox: %ld booked, %ld rejected, %ld left for a retry", st.booked, st.rejected, st.failed);
	sd_notifyf(0, "STATUS=Waiting for files (last scan: %ld booked, %ld rejected, %ld to retry)",
		   st.booked, st.rejected, st.failed);
	return st.failed ? 1 : 0;
}

static int watch_inbox(daemon_state *d)
{
	if (d->inbox_wd >= 0)
		inotify_rm_watch(d->inofd, d->inbox_wd);
	struct stat sb;
	if (stat(d->cfg->inbox, &sb) == 0) {
		d->inbox_dev = sb.st_dev;
		d->inbox_ino = sb.st_ino;
	}
	/* *_SELF: the inbox itself was deleted or moved away (inbox_ready) */
	d->inbox_wd = inotify_add_watch(d->inofd, d->cfg->inbox,
					IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (d->inbox_wd < 0) {
		log_msg(LOG_ERR, "cannot watch %s: %s (falling back to the %d s rescan)", d->cfg->inbox,
			strerror(errno), RESCAN_SECONDS);
		return -1;
	}
	return 0;
}

static void reload(daemon_state *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading config and plan",
		   (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	log_msg(LOG_NOTICE, "reloading %s", d->cfg->path);
	config *c = common_load_config(d->cfg->path);
	char sha[65];
	plan *p = c ? common_load_plan(c->plan, sha) : NULL;
	pd_err err;
	if (!c || !p) {
		log_msg(LOG_ERR, "reload failed: keeping the running config and plan");
	} else if (strcmp(c->database, d->cfg->database) != 0) {
		log_msg(LOG_ERR, "reload failed: the database path changed (%s); restart payoutd to use another ledger",
			c->database);
	} else if (ledger_bind_plan(d->l, p, &err) < 0 || dates_set_timezone(p->timezone, &err) < 0) {
		log_msg(LOG_ERR, "reload failed: %s; keeping the running config and plan", err.msg);
		dates_set_timezone(d->plan->timezone, &err);
	} else if (inbox_prepare_dirs(c, &err) < 0) {
		log_msg(LOG_ERR, "reload failed: %s; keeping the running config and plan", err.msg);
	} else {
		int inbox_changed = strcmp(c->inbox, d->cfg->inbox) != 0;
		config_free(d->cfg);
		plan_free(d->plan);
		d->cfg = c;
		d->plan = p;
		memcpy(d->plan_sha, sha, sizeof sha);
		c = NULL;
		p = NULL;
		if (inbox_changed)
			watch_inbox(d);
		audit_simple(d, "plan_loaded", plan_members(d));
		log_msg(LOG_NOTICE, "reloaded: plan %s (sha256 %s)", d->plan->name, d->plan_sha);
	}
	config_free(c);
	plan_free(p);
	sd_notify(0, "READY=1\nSTATUS=Waiting for files");
}

static int arm_timer(int fd, uint64_t usec)
{
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(usec / 1000000);
	its.it_value.tv_nsec = (long)(usec % 1000000) * 1000;
	its.it_interval = its.it_value;
	return timerfd_settime(fd, 0, &its, NULL);
}

static int run_loop(daemon_state *d)
{
	sd_notify(0, "READY=1\nSTATUS=Waiting for files");
	for (;;) {
		if (d->stopping)
			break;
		if (d->reload) {
			d->reload = 0;
			reload(d);
			scan(d);
		}
		if (fs_sync_failed())
			return -1; /* never go on after a failed sync (fsutil.h) */
		struct pollfd fds[4] = {
			{d->sigfd, POLLIN, 0}, {d->inofd, POLLIN, 0}, {d->timerfd, POLLIN, 0}, {d->wdfd, POLLIN, 0},
		};
		int n = poll(fds, d->wdfd >= 0 ? 4 : 3, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			return -1;
		}
		int want_scan = 0;
		if (fds[0].revents & POLLIN)
			check_signals(d);
		if (fds[1].revents & POLLIN) {
			char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
			ssize_t len;
			/* drain: any event (IN_Q_OVERFLOW included) just means "scan" */
			while ((len = read(d->inofd, buf, sizeof buf)) > 0)
				want_scan = 1;
		}
		if (fds[2].revents & POLLIN) {
			uint64_t ticks;
			if (read(d->timerfd, &ticks, sizeof ticks) > 0)
				want_scan = 1;
		}
		if (d->wdfd >= 0 && (fds[3].revents & POLLIN)) {
			uint64_t ticks;
			if (read(d->wdfd, &ticks, sizeof ticks) > 0)
				sd_notify(0, "WATCHDOG=1");
		}
		if (want_scan && !d->stopping)
			scan(d);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfgpath = CONFIG_DEFAULT_PATH;
	int once = 0;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"once", no_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfgpath = optarg; break;
		case 'o': once = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("payoutd %s\n", PAYOUTD_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	log_init("payoutd");
	daemon_state d = {.sigfd = -1, .inofd = -1, .timerfd = -1, .wdfd = -1, .inbox_wd = -1};
	int rc = EXIT_FAILURE_;
	int lockfd = -1;
	pd_err err;

	/* Block the stop signals before anything else: a SIGTERM that arrives
	 * during start-up (loading the ledger, publishing a pending close,
	 * writing the "started" line) waits in the signalfd and stops the
	 * daemon cleanly at its first look, instead of killing it mid-way. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d.sigfd < 0) {
		log_msg(LOG_ERR, "cannot create a signalfd: %s", strerror(errno));
		return EXIT_FAILURE_;
	}

	d.cfg = common_load_config(cfgpath);
	if (!d.cfg) {
		close(d.sigfd);
		return EXIT_INVALID;
	}
	d.plan = common_load_plan(d.cfg->plan, d.plan_sha);
	if (!d.plan) {
		config_free(d.cfg);
		close(d.sigfd);
		return EXIT_INVALID;
	}
	if (dates_set_timezone(d.plan->timezone, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		rc = EXIT_INVALID;
		goto out;
	}
	if (inbox_prepare_dirs(d.cfg, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	if ((lockfd = common_lock_ledger(d.cfg->database)) < 0)
		goto out;
	if (ledger_open(d.cfg->database, &d.l, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	ledger_manual_checkpoints(d.l);
	if (ledger_bind_plan(d.l, d.plan, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		rc = EXIT_INVALID;
		goto out;
	}
	/* repair the audit file first: a crash may have left it behind the ledger */
	if (ledger_audit_sync(d.l, d.cfg->audit_log, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	/* a close that committed but did not publish its folder is finished now,
	 * unless a close is running: it publishes its own */
	sd_notify(0, "STATUS=Checking for statements a crashed close left unpublished");
	int closefd = common_lock_close(d.cfg->database, 1);
	if (closefd < 0)
		log_msg(LOG_INFO, "a close is running: it publishes its statements itself");
	else if (close_recover(d.cfg, d.l, &err) < 0)
		log_msg(LOG_ERR, "%s", err.msg);
	if (closefd >= 0)
		close(closefd);
	if (fs_sync_failed())
		goto out; /* rc: failure */
	json_t *m = json_object();
	json_object_set_new(m, "version", json_string(PAYOUTD_VERSION));
	json_object_set_new(m, "config", json_string(d.cfg->path));
	json_object_set_new(m, "mode", json_string(once ? "once" : "daemon"));
	if (audit_simple(&d, "started", m) < 0 || audit_simple(&d, "plan_loaded", plan_members(&d)) < 0)
		goto out;
	log_msg(LOG_INFO, "started: ledger %s, inbox %s, plan %s (sha256 %s)", d.cfg->database, d.cfg->inbox,
		d.plan->name, d.plan_sha);

	if (once) {
		int s = scan(&d);
		rc = s < 0 ? EXIT_FAILURE_ : s > 0 ? EXIT_FAILURE_ : EXIT_OK;
	} else {
		d.inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		d.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (d.inofd < 0 || d.timerfd < 0 || arm_timer(d.timerfd, RESCAN_SECONDS * 1000000ULL) < 0) {
			log_msg(LOG_ERR, "cannot set up inotify or timers: %s", strerror(errno));
			goto out;
		}
		watch_inbox(&d);
		if (sd_watchdog_enabled(0, &d.watchdog_usec) > 0) {
			d.wdfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
			arm_timer(d.wdfd, d.watchdog_usec / 2);
			/* and from a thread while a long step moves (watchdog.h) */
			if (watchdog_start(d.watchdog_usec) < 0)
				log_msg(LOG_WARNING, "cannot start the watchdog thread: %s", strerror(errno));
		} else {
			d.watchdog_usec = 0;
		}
		scan(&d); /* start-up scan: recover .work, then everything waiting */
		rc = run_loop(&d) < 0 ? EXIT_FAILURE_ : EXIT_OK;
		watchdog_stop();
		sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	}
	if (fs_sync_failed()) {
		/* no more writes: the next start finds the state as after a crash */
		log_msg(LOG_ERR, "stopped after a failed sync to disk: check the storage (kernel log); the next start "
				 "(systemd restarts payoutd) picks up from the ledger");
		rc = EXIT_FAILURE_;
		goto out;
	}
	json_t *sm = json_object();
	json_object_set_new(sm, "reason", json_string(once ? "once" : "signal"));
	audit_simple(&d, "stopped", sm);
	log_msg(LOG_INFO, "stopped");
out:
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.inofd >= 0)
		close(d.inofd);
	if (d.timerfd >= 0)
		close(d.timerfd);
	if (d.wdfd >= 0)
		close(d.wdfd);
	ledger_close(d.l);
	if (lockfd >= 0)
		close(lockfd);
	plan_free(d.plan);
	config_free(d.cfg);
	return rc;
}
