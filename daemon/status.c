#include "status.h"

#include <inttypes.h>
#include <string.h>

#include "dates.h"
#include "money.h"

static int64_t scalar_int(ledger *l, const char *sql, int64_t dflt)
{
	sqlite3_stmt *st;
	int64_t v = dflt;
	if (ledger_prepare(l, sql, &st, NULL) < 0)
		return dflt;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int status_print(FILE *out, const config *cfg, ledger *l, const plan *p, const char *plan_sha, pd_err *err)
{
	char kindbuf[16] = "";
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT value FROM meta WHERE key = 'period_kind'", &st, err) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(kindbuf, sizeof kindbuf, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	period_kind kind = strcmp(kindbuf, "weekly") == 0 ? PERIOD_WEEKLY
			 : strcmp(kindbuf, "monthly") == 0 ? PERIOD_MONTHLY : (p ? p->period : PERIOD_MONTHLY);

	fprintf(out, "ledger:        %s (schema %d)\n", cfg->database, ledger_schema_version(l));
	if (p)
		fprintf(out, "plan:          %s (%s, %s, %s periods, sha256 %s)\n", p->name, cfg->plan, p->currency,
			period_kind_name(p->period), plan_sha);
	else
		fprintf(out, "plan:          %s (cannot be loaded: run payoutctl rules check)\n", cfg->plan);

	int64_t accepted = scalar_int(l, "SELECT count(*) FROM files", 0);
	int64_t rejected = scalar_int(l, "SELECT count(*) FROM rejections", 0);
	fprintf(out, "files:         %" PRId64 " accepted, %" PRId64 " rejected\n", accepted, rejected);
	int64_t dists = scalar_int(l, "SELECT count(*) FROM distributors", 0);
	int64_t term = scalar_int(l,
		"SELECT count(*) FROM (SELECT terminated FROM distributor_status s WHERE seq ="
		" (SELECT max(seq) FROM distributor_status WHERE distributor_id = s.distributor_id)) WHERE terminated = 1", 0);
	fprintf(out, "distributors:  %" PRId64 " (%" PRId64 " terminated)\n", dists, term);
	fprintf(out, "products:      %" PRId64 "\n", scalar_int(l, "SELECT count(*) FROM products", 0));

	/* closed periods */
	int64_t nclosed = scalar_int(l, "SELECT count(*) FROM periods", 0);
	char name[32];
	if (nclosed == 0) {
		fprintf(out, "closed:        none\n");
	} else {
		if (ledger_prepare(l, "SELECT min(period), max(period), max(closed_at) FROM periods", &st, err) < 0)
			return -1;
		sqlite3_step(st);
		char first[32], last[32];
		period_name(kind, sqlite3_column_int(st, 0), first);
		period_name(kind, sqlite3_column_int(st, 1), last);
		fprintf(out, "closed:        %" PRId64 " period%s, %s to %s\n", nclosed, nclosed == 1 ? "" : "s", first, last);
		fprintf(out, "last close:    %s at %s\n", last, (const char *)sqlite3_column_text(st, 2));
		sqlite3_finalize(st);
	}

	/* open periods that hold sales */
	int32_t eo;
	if (ledger_earliest_open(l, &eo, err) < 0)
		return -1;
	if (ledger_prepare(l,
		"SELECT period, sales, net_amount, late, clawbacks, unattributed FROM period_stats"
		" WHERE period >= ? AND sales != 0 ORDER BY period", &st, err) < 0)
		return -1;
	sqlite3_bind_int(st, 1, eo);
	int any = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (!any)
			fprintf(out, "open periods:\n");
		any = 1;
		char amount[32];
		period_name(kind, sqlite3_column_int(st, 0), name);
		money_format(sqlite3_column_int64(st, 2), 2, amount);
		fprintf(out, "  %-10s %10" PRId64 " sales, net %s %s; %" PRId64 " late, %" PRId64 " clawbacks, %" PRId64 " unattributed\n",
			name, (int64_t)sqlite3_column_int64(st, 1), amount, p ? p->currency : "",
			(int64_t)sqlite3_column_int64(st, 3), (int64_t)sqlite3_column_int64(st, 4),
			(int64_t)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	if (!any)
		fprintf(out, "open periods:  no sales booked yet\n");

	int64_t unattr = scalar_int(l, "SELECT count(*) FROM sales WHERE flags & 1 = 0", 0);
	if (unattr == 0) {
		fprintf(out, "unattributed:  none\n");
	} else {
		fprintf(out, "unattributed:  %" PRId64 " sales for distributors not yet known:\n", unattr);
		if (ledger_prepare(l, "SELECT distributor_id, count(*), min(day) FROM sales WHERE flags & 1 = 0"
				      " GROUP BY distributor_id ORDER BY distributor_id LIMIT 20", &st, err) < 0)
			return -1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			char day[16];
			date_format_iso(sqlite3_column_int(st, 2), day);
			fprintf(out, "  %s: %" PRId64 " sales from %s\n", (const char *)sqlite3_column_text(st, 0),
				(int64_t)sqlite3_column_int64(st, 1), day);
		}
		sqlite3_finalize(st);
	}
	return 0;
}
