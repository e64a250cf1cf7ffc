/*
 * payoutctl - the operator's tool (SPEC 2). Works on the same ledger as the
 * daemon; SQLite WAL makes that safe while payoutd runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit.h"
#include "common.h"
#include "ledger.h"
#include "log.h"
#include "close.h"
#include "dates.h"
#include "money.h"
#include "status.h"

#include <time.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: payoutctl [-c CONFIG] COMMAND\n\n"
		"Commands:\n"
		"  status              periods, files, distributors, sales per open period,\n"
		"                      unattributed sales, last close, plan in force\n"
		"  rules check [PLAN]  validate a plan file (default: the config's plan)\n"
		"  audit verify        check the audit log's hash chain\n"
		"  close PERIOD [--dry-run] [--force]\n"
		"                      close every open period up to PERIOD (2026-11, 2026-W45)\n"
		"  close --due [--dry-run] [--force]\n"
		"                      close every period whose end plus the grace has passed\n"
		"  statement DISTRIBUTOR [PERIOD]\n"
		"                      print a statement (default: the last closed period\n"
		"                      with a result for DISTRIBUTOR)\n"
		"  backup FILE         online copy of the ledger into the new file FILE\n\n"
		"Options:\n"
		"  -c, --config FILE   config file (default " CONFIG_DEFAULT_PATH ")\n"
		"  -h, --help          this help\n"
		"  -V, --version       print the version\n\n"
		"Exit status: 0 success, 1 failure, 2 usage error, 3 invalid input,\n"
		"4 close refused, 5 audit chain broken.\n");
}

static int cmd_status(const char *cfgpath)
{
	config *cfg = common_load_config(cfgpath);
	if (!cfg)
		return EXIT_INVALID;
	char sha[65] = "";
	plan *p = common_load_plan(cfg->plan, sha);
	ledger *l = NULL;
	pd_err err;
	int rc = EXIT_FAILURE_;
	if (access(cfg->database, F_OK) != 0) {
		printf("ledger:        %s does not exist yet (payoutd creates it on its first start)\n", cfg->database);
		rc = EXIT_OK;
	} else if (ledger_open_readonly(cfg->database, &l, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
	} else if (status_print(stdout, cfg, l, p, sha, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
	} else {
		rc = EXIT_OK;
	}
	ledger_close(l);
	plan_free(p);
	config_free(cfg);
	return rc;
}

static int cmd_rules_check(const char *cfgpath, const char *planpath)
{
	config *cfg = NULL;
	if (!planpath) {
		cfg = common_load_config(cfgpath);
		if (!cfg)
			return EXIT_INVALID;
		planpath = cfg->plan;
	}
	char sha[65];
	plan *p = common_load_plan(planpath, sha);
	int rc = p ? EXIT_OK : EXIT_INVALID;
	if (p)
		printf("%s: valid (plan \"%s\", %s, %s periods, %zu promotion%s, sha256 %s)\n", planpath, p->name,
		       p->currency, period_kind_name(p->period), p->n_promos, p->n_promos == 1 ? "" : "s", sha);
	plan_free(p);
	config_free(cfg);
	return rc;
}

/* Lines of the ledger's copy of the audit log, or -1 when there is no ledger to ask. */
static int64_t ledger_audit_lines(const config *cfg)
{
	ledger *l = NULL;
	pd_err err;
	int64_t recorded = -1;
	if (access(cfg->database, F_OK) == 0 && ledger_open_readonly(cfg->database, &l, &err) == 0) {
		sqlite3_stmt *st;
		if (ledger_prepare(l, "SELECT coalesce(max(seq), 0) FROM audit", &st, NULL) == 0) {
			if (sqlite3_step(st) == SQLITE_ROW)
				recorded = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	ledger_close(l);
	return recorded;
}

static int cmd_audit_verify(const char *cfgpath)
{
	config *cfg = common_load_config(cfgpath);
	if (!cfg)
		return EXIT_INVALID;
	pd_err err;
	int64_t lines = 0;
	/*
	 * The chain cannot show lines cut from its end; the ledger's copy can.
	 * payoutd commits a line to the ledger first and appends it to the file
	 * right after, under an exclusive flock of the file. A shared flock held
	 * while reading both makes the pair consistent: the file is never torn
	 * mid-append and never ahead of the ledger. When the file is behind (a
	 * commit whose append waits for this lock), let go and give it a moment.
	 */
	int lockfd = open(cfg->audit_log, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (lockfd < 0) {
		log_msg(LOG_ERR, "cannot open %s: %s", cfg->audit_log, strerror(errno));
		config_free(cfg);
		return EXIT_FAILURE_;
	}
	int64_t recorded;
	int rc;
	for (int waited_ms = 0;; waited_ms += 50) {
		if (flock(lockfd, LOCK_SH) < 0) {
			log_msg(LOG_ERR, "cannot lock %s: %s", cfg->audit_log, strerror(errno));
			close(lockfd);
			config_free(cfg);
			return EXIT_FAILURE_;
		}
		recorded = ledger_audit_lines(cfg);
		rc = audit_verify_file(cfg->audit_log, &lines, &err);
		if (rc != 0 || recorded <= lines || waited_ms >= 1000)
			break;
		flock(lockfd, LOCK_UN);
		usleep(50 * 1000);
	}
	/* still under the lock: every line of the file must be one the ledger recorded */
	int64_t recorded_after = rc == 0 ? ledger_audit_lines(cfg) : -1;
	int exit_code;
	if (rc < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		exit_code = EXIT_FAILURE_;
	} else if (rc > 0) {
		log_msg(LOG_ERR, "audit chain broken: %s", err.msg);
		exit_code = EXIT_AUDIT;
	} else if (recorded > lines) {
		log_msg(LOG_ERR, "audit chain broken: %s:%" PRId64 ": the log ends after line %" PRId64
			" but the ledger recorded %" PRId64 " lines (lines were removed from the end, or payoutd has not yet caught up after a crash: start it once)",
			cfg->audit_log, lines + 1, lines, recorded);
		exit_code = EXIT_AUDIT;
	} else if (recorded_after >= 0 && lines > recorded_after) {
		log_msg(LOG_ERR, "audit chain broken: %s:%" PRId64 ": the ledger recorded only %" PRId64
			" lines: this line and those after it were added to the log",
			cfg->audit_log, recorded_after + 1, recorded_after);
		exit_code = EXIT_AUDIT;
	} else {
		/* a consistent chain can still be a rewritten one: each line must be the ledger's */
		int64_t bad = 0;
		ledger *l = NULL;
		int cmp = 0;
		if (recorded_after >= 0 && ledger_open_readonly(cfg->database, &l, &err) == 0)
			cmp = ledger_audit_compare(l, cfg->audit_log, &bad, &err);
		ledger_close(l);
		if (cmp > 0) {
			log_msg(LOG_ERR, "audit chain broken: %s:%" PRId64 ": the line differs from the one the ledger recorded (the log was rewritten)",
				cfg->audit_log, bad);
			exit_code = EXIT_AUDIT;
		} else if (cmp < 0) {
			log_msg(LOG_ERR, "%s", err.msg);
			exit_code = EXIT_FAILURE_;
		} else {
			printf("%s: intact, %" PRId64 " line%s\n", cfg->audit_log, lines, lines == 1 ? "" : "s");
			exit_code = EXIT_OK;
		}
	}
	close(lockfd); /* and with it the lock */
	config_free(cfg);
	return exit_code;
}

static int cmd_close(const char *cfgpath, int argc, char **argv)
{
	int due = 0;
	const char *period = NULL;
	close_opts o = {0};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--due") == 0)
			due = 1;
		else if (strcmp(argv[i], "--dry-run") == 0)
			o.dry_run = 1;
		else if (strcmp(argv[i], "--force") == 0)
			o.force = 1;
		else if (argv[i][0] != '-' && !period)
			period = argv[i];
		else {
			fprintf(stderr, "payoutctl: close: unexpected \"%s\"\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (due == (period != NULL)) {
		fprintf(stderr, "payoutctl: close needs a PERIOD or --due\n");
		return EXIT_USAGE;
	}
	o.due = due;
	config *cfg = common_load_config(cfgpath);
	if (!cfg)
		return EXIT_INVALID;
	char sha[65];
	plan *p = common_load_plan(cfg->plan, sha);
	ledger *l = NULL;
	pd_err err = {""};
	int rc = EXIT_FAILURE_;
	int lockfd = -1;
	if (!p) {
		rc = EXIT_INVALID;
		goto out;
	}
	if (dates_set_timezone(p->timezone, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		rc = EXIT_INVALID;
		goto out;
	}
	int32_t target;
	if (period && period_parse(p->period, period, &target) < 0) {
		fprintf(stderr, "payoutctl: close: \"%s\" is not a %s period (like %s)\n", period,
			period_kind_name(p->period), p->period == PERIOD_WEEKLY ? "2026-W45" : "2026-11");
		rc = EXIT_USAGE;
		goto out;
	}
	if ((lockfd = common_lock_close(cfg->database, 0)) < 0) {
		rc = EXIT_REFUSED;
		goto out;
	}
	if (ledger_open(cfg->database, &l, &err) < 0 || ledger_bind_plan(l, p, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	if (due)
		target = close_due_period(cfg, p, (int64_t)time(NULL));
	char msg[256];
	int r = close_periods(cfg, p, cfg->plan, sha, l, target, &o, msg, sizeof msg, &err);
	if (r == CLOSE_DONE || r == CLOSE_NOTHING) {
		if (due && r == CLOSE_NOTHING) /* "2026-10 is already closed" would puzzle a timer's reader */
			printf("%s\n", strncmp(msg, "nothing is due", 14) == 0 ? msg : "nothing is due");
		else
			printf("%s\n", msg);
		rc = EXIT_OK;
	} else if (r == CLOSE_REFUSED) {
		log_msg(LOG_ERR, "%s", err.msg);
		rc = EXIT_REFUSED;
	} else {
		log_msg(LOG_ERR, "close failed: %s", err.msg);
	}
out:
	ledger_close(l);
	if (lockfd >= 0)
		close(lockfd);
	plan_free(p);
	config_free(cfg);
	return rc;
}

/* backup FILE: see ledger_backup; the config only names the ledger. */
static int cmd_backup(const char *cfgpath, const char *file)
{
	config *cfg = common_load_config(cfgpath);
	if (!cfg)
		return EXIT_INVALID;
	pd_err err = {""};
	int64_t pages = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = EXIT_OK;
	if (ledger_backup(cfg->database, file, &pages, &err) < 0) {
		log_msg(LOG_ERR, "backup failed: %s", err.msg);
		rc = EXIT_FAILURE_;
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("backed up %s to %s (%" PRId64 " pages, %.1f s)\n", cfg->database, file, pages,
		       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	config_free(cfg);
	return rc;
}

static void print_money(const char *label, int64_t v, const char *cur)
{
	char b[32];
	money_format(v, 2, b);
	printf("  %-16s %14s %s\n", label, b, cur);
}

static int cmd_statement(const char *cfgpath, const char *dist, const char *period)
{
	config *cfg = common_load_config(cfgpath);
	if (!cfg)
		return EXIT_INVALID;
	ledger *l = NULL;
	pd_err err;
	int rc = EXIT_FAILURE_;
	sqlite3_stmt *st = NULL;
	char cur[8] = "";
	if (ledger_open_readonly(cfg->database, &l, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	if (ledger_prepare(l, "SELECT value FROM meta WHERE key = 'currency'", &st, &err) == 0) {
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(cur, sizeof cur, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	if (ledger_prepare(l,
		"SELECT r.period, p.name, r.name, r.paid_as, r.title, r.active, r.pv, r.gv, r.commissions,"
		" r.cap_adjustment, r.clawbacks, r.fees, r.carried_in, r.payable, r.paid, r.carried_out"
		" FROM period_results r JOIN periods p ON p.period = r.period"
		" WHERE r.distributor_id = ?1 AND (?2 IS NULL OR p.name = ?2) ORDER BY r.period DESC LIMIT 1",
		&st, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	sqlite3_bind_text(st, 1, dist, -1, SQLITE_STATIC);
	if (period)
		sqlite3_bind_text(st, 2, period, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	if (sqlite3_step(st) != SQLITE_ROW) {
		log_msg(LOG_ERR, "no statement for %s%s%s", dist, period ? " in " : "", period ? period : "");
		rc = EXIT_INVALID;
		goto out;
	}
	int32_t P = sqlite3_column_int(st, 0);
	char pv[32], gv[32];
	money_format(sqlite3_column_int64(st, 6), 2, pv);
	money_format(sqlite3_column_int64(st, 7), 2, gv);
	printf("Statement %s — %s (%s)\n", (const char *)sqlite3_column_text(st, 1), dist,
	       sqlite3_column_type(st, 2) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(st, 2));
	printf("  paid as %s, title %s, %s; PV %s, GV %s\n\n", (const char *)sqlite3_column_text(st, 3),
	       (const char *)sqlite3_column_text(st, 4), sqlite3_column_int(st, 5) ? "active" : "inactive", pv, gv);
	int64_t tot[8];
	for (int k = 0; k < 8; k++)
		tot[k] = sqlite3_column_int64(st, 8 + k);
	sqlite3_finalize(st);
	if (ledger_prepare(l, "SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4,"
			      " j.value ->> 5, j.value ->> 6, j.value ->> 7 FROM period_results r, json_each(r.lines) j"
			      " WHERE r.period = ? AND r.distributor_id = ? ORDER BY j.key", &st, &err) < 0) {
		log_msg(LOG_ERR, "%s", err.msg);
		goto out;
	}
	sqlite3_bind_int(st, 1, P);
	sqlite3_bind_text(st, 2, dist, -1, SQLITE_STATIC);
	printf("  %-17s %5s %-12s %12s %8s %14s\n", "type", "level", "source", "base", "rate", "amount");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char base[32] = "", rate[32] = "", amount[32], lvl[16] = "";
		if (sqlite3_column_int64(st, 3))
			money_format(sqlite3_column_int64(st, 3), 2, base);
		if (sqlite3_column_int64(st, 4))
			money_format_rate(sqlite3_column_int64(st, 4), rate);
		money_format(sqlite3_column_int64(st, 7), 2, amount);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(lvl, sizeof lvl, "%d", sqlite3_column_int(st, 1));
		const char *extra = sqlite3_column_type(st, 5) != SQLITE_NULL ? (const char *)sqlite3_column_text(st, 5)
				  : sqlite3_column_type(st, 6) != SQLITE_NULL ? (const char *)sqlite3_column_text(st, 6)
				  : sqlite3_column_type(st, 2) != SQLITE_NULL ? (const char *)sqlite3_column_text(st, 2) : "";
		printf("  %-17s %5s %-12s %12s %8s %14s\n", (const char *)sqlite3_column_text(st, 0), lvl, extra, base,
		       rate, amount);
	}
	sqlite3_finalize(st);
	st = NULL;
	printf("\n");
	static const char *const labels[] = {"commissions", "cap adjustment", "clawbacks", "fees",
					     "carried in", "payable", "paid", "carried out"};
	for (int k = 0; k < 8; k++)
		print_money(labels[k], tot[k], cur);
	rc = EXIT_OK;
out:
	if (st)
		sqlite3_finalize(st);
	ledger_close(l);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cfgpath = CONFIG_DEFAULT_PATH;
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
	};
	int o;
	/* '+': options stop at the command, so "rules check -x" is the command's business */
	while ((o = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfgpath = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("payoutctl %s\n", PAYOUTD_VERSION); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	log_init("payoutctl");
	int n = argc - optind;
	char **a = argv + optind;
	if (n == 1 && strcmp(a[0], "status") == 0)
		return cmd_status(cfgpath);
	if ((n == 2 || n == 3) && strcmp(a[0], "rules") == 0 && strcmp(a[1], "check") == 0)
		return cmd_rules_check(cfgpath, n == 3 ? a[2] : NULL);
	if (n == 2 && strcmp(a[0], "audit") == 0 && strcmp(a[1], "verify") == 0)
		return cmd_audit_verify(cfgpath);
	if (n >= 1 && strcmp(a[0], "close") == 0)
		return cmd_close(cfgpath, n - 1, a + 1);
	if ((n == 2 || n == 3) && strcmp(a[0], "statement") == 0)
		return cmd_statement(cfgpath, a[1], n == 3 ? a[2] : NULL);
	if (n == 2 && strcmp(a[0], "backup") == 0)
		return cmd_backup(cfgpath, a[1]);
	if (n == 0)
		fprintf(stderr, "payoutctl: a command is required\n");
	else
		fprintf(stderr, "payoutctl: unknown command \"%s\"\n", a[0]);
	usage(stderr);
	return EXIT_USAGE;
}
