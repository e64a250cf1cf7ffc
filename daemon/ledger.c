/*
 * ledger.c - SQLite ledger: schema and migrations, transactions, the plan
 * binding, and the audit table mirrored into the audit log file.
 */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "fsutil.h"
#include "crashpoint.h"
#include "placement.h"

struct ledger {
	sqlite3 *db;
	char *path;
	int readonly;
};

/*
 * Schema version 1. Amounts, pv and cv are integer hundredths; multipliers
 * integer millionths; days are days since 1970-01-01; periods are integer
 * indexes (dates.h). Sales are keyed by sale_id (WITHOUT ROWID: one B-tree).
 */
static const char schema_v1[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;\n"
	"CREATE TABLE files(id INTEGER PRIMARY KEY, name TEXT NOT NULL, claim TEXT NOT NULL UNIQUE,\n"
	"  kind TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL UNIQUE,\n"
	"  booked_at TEXT NOT NULL, archive_dir TEXT NOT NULL, rows INTEGER NOT NULL,\n"
	"  sales INTEGER NOT NULL, distributors INTEGER NOT NULL, products INTEGER NOT NULL,\n"
	"  late INTEGER NOT NULL, unattributed INTEGER NOT NULL, duplicates INTEGER NOT NULL,\n"
	"  refunds INTEGER NOT NULL, clawbacks INTEGER NOT NULL, attributed INTEGER NOT NULL);\n"
	"CREATE TABLE rejections(id INTEGER PRIMARY KEY, name TEXT NOT NULL, claim TEXT NOT NULL UNIQUE,\n"
	"  size INTEGER, sha256 TEXT, rejected_at TEXT NOT NULL, reason TEXT NOT NULL,\n"
	"  errors INTEGER NOT NULL, report TEXT NOT NULL);\n"
	"CREATE TABLE distributors(id TEXT PRIMARY KEY, sponsor_id TEXT, name TEXT NOT NULL,\n"
	"  join_date INTEGER NOT NULL, country TEXT, email TEXT, iban TEXT, vat_id TEXT,\n"
	"  vat_liable INTEGER NOT NULL, placement_id TEXT, leg TEXT,\n"
	"  created_file INTEGER NOT NULL, updated_file INTEGER NOT NULL) WITHOUT ROWID;\n"
	/* termination history: status in period P = the last row with from_period <= P */
	"CREATE TABLE distributor_status(seq INTEGER PRIMARY KEY, distributor_id TEXT NOT NULL,\n"
	"  from_period INTEGER NOT NULL, terminated INTEGER NOT NULL, file_id INTEGER NOT NULL);\n"
	"CREATE INDEX distributor_status_by_id ON distributor_status(distributor_id, seq);\n"
	"CREATE TABLE products(sku TEXT PRIMARY KEY, name TEXT NOT NULL, pv INTEGER NOT NULL,\n"
	"  cv INTEGER NOT NULL, category TEXT, file_id INTEGER NOT NULL) WITHOUT ROWID;\n"
	/* One narrow row per sale line (ingest speed is bound by row width).
	 * day: the sale's own date; booked_period: where it counts (SPEC 4.2);
	 * pv/cv: after the promotion multiplier, whose id and multipliers are kept
	 * (NULL when none applied) because a refund must use its original's;
	 * flags: see SALE_* in ledger.h; content: fingerprint of the row as given,
	 * to tell a re-sent sale from a conflicting one. */
	"CREATE TABLE sales(sale_id TEXT PRIMARY KEY, distributor_id TEXT NOT NULL,\n"
	"  day INTEGER NOT NULL, amount INTEGER NOT NULL, pv INTEGER NOT NULL, cv INTEGER NOT NULL,\n"
	"  booked_period INTEGER NOT NULL, flags INTEGER NOT NULL, refund_of TEXT,\n"
	"  promo TEXT, pv_mult INTEGER, cv_mult INTEGER, content INTEGER NOT NULL,\n"
	"  file_id INTEGER NOT NULL, line INTEGER NOT NULL) WITHOUT ROWID;\n"
	"CREATE INDEX sales_unattributed ON sales(distributor_id) WHERE flags & 1 = 0;\n"
	"CREATE INDEX sales_refunds ON sales(refund_of) WHERE refund_of IS NOT NULL;\n"
	/* per booked period, kept up to date by every booking: what status shows
	 * without reading every sale. net_amount: attributed, not clawbacks. */
	"CREATE TABLE period_stats(period INTEGER PRIMARY KEY, sales INTEGER NOT NULL,\n"
	"  net_amount INTEGER NOT NULL, late INTEGER NOT NULL, clawbacks INTEGER NOT NULL,\n"
	"  unattributed INTEGER NOT NULL);\n"
	/* closed periods; the close adds its results in later schema versions */
	"CREATE TABLE periods(period INTEGER PRIMARY KEY, name TEXT NOT NULL, closed_at TEXT NOT NULL);\n"
	"CREATE TABLE audit(seq INTEGER PRIMARY KEY, line TEXT NOT NULL, hash TEXT NOT NULL);\n";

/*
 * Version 2: what a period close keeps. Ranks are stored by their ids (a plan
 * may rename or add ranks later; indices would be reinterpreted), the plan a
 * period was closed with is kept whole (plans) so its statements can be made
 * again byte for byte, and the results of every distributor who has anything
 * to carry (a rank, a title, a balance, a line) are kept per period.
 */
static const char schema_v2[] =
	"ALTER TABLE periods ADD COLUMN plan_sha256 TEXT;\n"
	"ALTER TABLE periods ADD COLUMN net_sales INTEGER;\n"
	"ALTER TABLE periods ADD COLUMN manifest_sha256 TEXT;\n"
	"CREATE TABLE plans(sha256 TEXT PRIMARY KEY, text BLOB NOT NULL) WITHOUT ROWID;\n"
	"CREATE TABLE period_results(period INTEGER NOT NULL, distributor_id TEXT NOT NULL,\n"
	"  qualified TEXT NOT NULL, paid_as TEXT NOT NULL, title TEXT NOT NULL,\n"
	"  active INTEGER NOT NULL, terminated INTEGER NOT NULL, pv INTEGER NOT NULL, gv INTEGER NOT NULL,\n"
	"  commissions INTEGER NOT NULL, cap_adjustment INTEGER NOT NULL, clawbacks INTEGER NOT NULL,\n"
	"  fees INTEGER NOT NULL, carried_in INTEGER NOT NULL, payable INTEGER NOT NULL,\n"
	"  paid INTEGER NOT NULL, carried_out INTEGER NOT NULL, name TEXT, iban TEXT,\n"
	"  PRIMARY KEY (period, distributor_id)) WITHOUT ROWID;\n"
	"CREATE TABLE period_lines(period INTEGER NOT NULL, recipient TEXT NOT NULL, seq INTEGER NOT NULL,\n"
	"  type TEXT NOT NULL, level INTEGER, source TEXT, base INTEGER NOT NULL, rate INTEGER NOT NULL,\n"
	"  rank TEXT, name TEXT, amount INTEGER NOT NULL,\n"
	"  PRIMARY KEY (period, recipient, seq)) WITHOUT ROWID;\n"
	/* clawbacks look up what a source's sales paid in a closed period */
	"CREATE INDEX period_lines_by_source ON period_lines(period, source) WHERE type IN ('retail', 'unilevel');\n";

/*
 * Version 3: what a close reads and writes, sized for millions.
 *
 * volumes: the net pv, cv and amount of the sales that count (attributed,
 * not clawbacks) per booked period and distributor, kept up to date by every
 * booking in the same transaction, so a close reads one row per distributor
 * instead of scanning every sale.
 *
 * period_results.lines: a statement's lines as one JSON array of
 * [type, level, source, base, rate, rank, name, amount] (the columns of
 * version 2's period_lines, in their order), instead of a row per line.
 * period_sources: for clawbacks, what each source's sales paid in a closed
 * period: a JSON array of [recipient, level, rate] for its retail (level
 * null) and unilevel lines. 2 rows per distributor instead of 7 and an index.
 * JSON so that an operator can read them with sqlite3's json_each.
 *
 * periods.summary: summary.json as written, so that a statements folder can
 * be made again from the ledger alone (close_recover) byte for byte;
 * periods.published: whether the folder has been put in place since.
 */
static const char schema_v3[] =
	"CREATE TABLE volumes(period INTEGER NOT NULL, distributor_id TEXT NOT NULL,\n"
	"  pv INTEGER NOT NULL, cv INTEGER NOT NULL, amount INTEGER NOT NULL,\n"
	"  PRIMARY KEY (period, distributor_id)) WITHOUT ROWID;\n"
	"INSERT INTO volumes SELECT booked_period, distributor_id, sum(pv), sum(cv), sum(amount) FROM sales\n"
	"  WHERE flags & 5 = 1 GROUP BY booked_period, distributor_id ORDER BY booked_period, distributor_id;\n"
	"ALTER TABLE period_results ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';\n"
	/* json(x): a column of a subquery loses its JSON subtype; json() gives it back */
	"UPDATE period_results SET lines = (SELECT json_group_array(json(x)) FROM (\n"
	"    SELECT json_array(type, level, source, base, rate, rank, name, amount) AS x FROM period_lines l\n"
	"    WHERE l.period = period_results.period AND l.recipient = period_results.distributor_id ORDER BY seq))\n"
	"  WHERE EXISTS (SELECT 1 FROM period_lines l\n"
	"    WHERE l.period = period_results.period AND l.recipient = period_results.distributor_id);\n"
	"CREATE TABLE period_sources(period INTEGER NOT NULL, source TEXT NOT NULL, paid TEXT NOT NULL,\n"
	"  PRIMARY KEY (period, source)) WITHOUT ROWID;\n"
	"INSERT INTO period_sources SELECT period, source, json_group_array(json(x)) FROM (\n"
	"    SELECT period, source, json_array(recipient, level, rate) AS x FROM period_lines\n"
	"    WHERE type IN ('retail', 'unilevel') AND source IS NOT NULL ORDER BY period, source, recipient, seq)\n"
	"  GROUP BY period, source;\n"
	"DROP TABLE period_lines;\n"
	"ALTER TABLE periods ADD COLUMN summary TEXT;\n"
	/* 0 from the commit of a close until its folder is in place */
	"ALTER TABLE periods ADD COLUMN published INTEGER NOT NULL DEFAULT 1;\n";

/*
 * Version 4: the placement tree (SPEC 6.8, 11.24; docs/placement.md).
 * placement_auto: 0 when the placement was given in a file, 1 when it was
 * chosen automatically (placement_id NULL then: a root of its own tree).
 * A slot holds one distributor: a unique index on (placement_id, leg), which
 * is also how the children of a node are found.
 *
 * Older versions stored given placements without checking slots or cycles,
 * and never placed the others; after this SQL, place_existing (C) places
 * every distributor as a file of them all would have been, in the order
 * they were booked, and then creates the index.
 */
static const char schema_v4[] =
	"ALTER TABLE distributors ADD COLUMN placement_auto INTEGER NOT NULL DEFAULT 1;\n";
static const char schema_v4_index[] =
	"CREATE UNIQUE INDEX distributors_by_slot ON distributors(placement_id, leg) WHERE placement_id IS NOT NULL;\n";

static int place_existing(ledger *l, pd_err *err);

/*
 * Version 5: binary plans (SPEC 6.8, 11.25). A close keeps each
 * distributor's leg volumes, what they matched and what they carry into the
 * next period, so the next close starts from the carry and a statements
 * folder can be made again with its `binary` objects. 0 for every row of an
 * older ledger: no plan before this version could be binary.
 */
static const char schema_v5[] =
	"ALTER TABLE period_results ADD COLUMN bin_left INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE period_results ADD COLUMN bin_right INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE period_results ADD COLUMN bin_matched INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE period_results ADD COLUMN carry_left INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE period_results ADD COLUMN carry_right INTEGER NOT NULL DEFAULT 0;\n";

/* migrations[v] takes a ledger from version v to v + 1: its SQL, then its C step (or NULL) */
static const struct {
	const char *sql;
	int (*step)(ledger *l, pd_err *err);
} migrations[] = {
	{schema_v1, NULL},
	{schema_v2, NULL},
	{schema_v3, NULL},
	{schema_v4, place_existing},
	{schema_v5, NULL},
};

_Static_assert(sizeof migrations / sizeof *migrations == LEDGER_SCHEMA_VERSION,
	       "one migration per schema version");

const char *ledger_migration_sql(int from_version)
{
	int n = (int)(sizeof migrations / sizeof *migrations);
	return from_version >= 0 && from_version < n ? migrations[from_version].sql : NULL;
}

/* What SQLite's message leaves out after an I/O error: which step failed
 * ("disk I/O error" alone does not say that a sync failed), and the system's
 * error where SQLite kept it (it does not for a failed write or sync). */
static void io_cause(ledger *l, char *out, size_t cap)
{
	int ec = sqlite3_extended_errcode(l->db), se = sqlite3_system_errno(l->db);
	const char *what = ec == SQLITE_IOERR_FSYNC || ec == SQLITE_IOERR_DIR_FSYNC ? "syncing the ledger or its WAL to disk failed"
			   : ec == SQLITE_IOERR_WRITE ? "writing the ledger or its WAL failed"
			   : ec == SQLITE_IOERR_READ || ec == SQLITE_IOERR_SHORT_READ ? "reading the ledger or its WAL failed"
			   : ec == SQLITE_IOERR_TRUNCATE ? "truncating the ledger or its WAL failed" : "";
	int sys = se > 0 && ((ec & 0xff) == SQLITE_IOERR || (ec & 0xff) == SQLITE_CANTOPEN);
	out[0] = '\0';
	if (*what || sys)
		snprintf(out, cap, " (%s%s%s)", what, *what && sys ? ": " : "", sys ? strerror(se) : "");
}

int ledger_exec(ledger *l, const char *sql, pd_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		char cause[128];
		io_cause(l, cause, sizeof cause);
		pd_errf(err, "ledger %s: %s%s", l->path, msg ? msg : sqlite3_errmsg(l->db), cause);
		int ec = sqlite3_extended_errcode(l->db);
		if (ec == SQLITE_IOERR_FSYNC || ec == SQLITE_IOERR_DIR_FSYNC)
			fs_note_sync_failure();
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int ledger_prepare(ledger *l, const char *sql, sqlite3_stmt **st, pd_err *err)
{
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
	return 0;
}

static int user_version(ledger *l)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(l->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

int ledger_schema_version(ledger *l)
{
	return user_version(l);
}

static int migrate(ledger *l, pd_err *err)
{
	if (ledger_exec(l, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	int v = user_version(l);
	int target = (int)(sizeof migrations / sizeof *migrations);
	if (v > target) {
		ledger_exec(l, "ROLLBACK", NULL);
		return pd_errf(err, "ledger %s has schema version %d, newer than this build knows (%d): upgrade payoutd",
			       l->path, v, target);
	}
	for (; v < target; v++) {
		char sql[64];
		if (ledger_exec(l, migrations[v].sql, err) < 0)
			goto fail;
		if (migrations[v].step && migrations[v].step(l, err) < 0)
			goto fail;
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (ledger_exec(l, sql, err) < 0)
			goto fail;
	}
	return ledger_exec(l, "COMMIT", err);
fail:
	pd_err_prefix(err, "migrating to schema version %d", v + 1);
	ledger_exec(l, "ROLLBACK", NULL);
	return -1;
}

/* The migration drops a given placement that clashes with an earlier one
 * (the slot was taken, or it closes a cycle): the latest booked of a cycle
 * loses its placement and is placed automatically instead. */
typedef struct mig {
	placement *pl;
	uint8_t *given;
	json_t *dropped;      /* the first 100 ids */
	int64_t ndropped;
} mig;

static void drop_given(mig *m, int32_t node)
{
	placement_detach(m->pl, node);
	m->given[node] = 0;
	m->ndropped++;
	if (json_array_size(m->dropped) < 100)
		json_array_append_new(m->dropped, json_string(placement_name(m->pl, node)));
}

static void mig_cycle(void *ctx, placement *pl, const int32_t *members, size_t n)
{
	(void)pl;
	int32_t last = members[0];
	for (size_t i = 1; i < n; i++)
		if (members[i] > last) /* node numbers follow (created_file, id) */
			last = members[i];
	drop_given(ctx, last);
}

/*
 * Schema version 4's C step: the placement of every distributor, in memory
 * (a one-time pass; about 100 bytes per distributor). Order: (created_file,
 * id), the order of booking as far as the ledger knows it. Given
 * placements claim their slots first, in that order; then the others are
 * placed automatically, a sponsor before its recruits (placement.h). What
 * was dropped is written to the audit log (event placement_migrated).
 */
static int place_existing(ledger *l, pd_err *err)
{
	static const char *const leg_names[2] = {"left", "right"};
	sqlite3_stmt *st = NULL;
	mig m = {.pl = placement_new(NULL, NULL), .dropped = json_array()};
	int32_t *sponsor = NULL;
	size_t n = 0;
	int rc = -1, step;
	if (ledger_prepare(l, "SELECT id, sponsor_id, placement_id, leg FROM distributors ORDER BY created_file, id", &st,
			   err) < 0)
		goto out;
	/* every id first: a placement or sponsor may name one booked later */
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		if (placement_node(m.pl, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0)) ==
		    PL_NONE) {
			pd_errf(err, "ledger %s: a distributor id cannot be placed", l->path);
			goto out;
		}
	if (step != SQLITE_DONE)
		goto sqlfail;
	n = placement_count(m.pl);
	m.given = xcalloc(n ? n : 1, 1);
	sponsor = xmalloc((n ? n : 1) * sizeof *sponsor);
	sqlite3_reset(st);
	for (int32_t k = 0; (step = sqlite3_step(st)) == SQLITE_ROW; k++) {
		const char *sp = (const char *)sqlite3_column_text(st, 1);
		const char *pid = (const char *)sqlite3_column_text(st, 2);
		const char *leg = (const char *)sqlite3_column_text(st, 3);
		sponsor[k] = sp ? placement_find(m.pl, sp, strlen(sp)) : PL_NONE;
		if (sponsor[k] == k)
			sponsor[k] = PL_NONE;
		if (!pid)
			continue;
		int32_t parent = placement_find(m.pl, pid, strlen(pid));
		int lg = leg && strcmp(leg, "left") == 0 ? PL_LEFT : leg && strcmp(leg, "right") == 0 ? PL_RIGHT : -1;
		int32_t holder = PL_NONE;
		if (parent != PL_NONE && parent != k && lg >= 0)
			placement_slot(m.pl, parent, lg, &holder); /* no loader: cannot fail */
		if (parent == PL_NONE || parent == k || lg < 0 || holder != PL_NONE) {
			drop_given(&m, k);
			continue;
		}
		placement_attach(m.pl, parent, lg, k);
		m.given[k] = 1;
	}
	if (step != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(st);
	st = NULL;
	placement_cycles(m.pl, mig_cycle, &m);
	for (size_t k = 0; k < n; k++)
		if (!m.given[k])
			placement_want(m.pl, (int32_t)k, sponsor[k]);
	placement_run(m.pl, NULL, NULL); /* a node that would close a cycle stays a root */
	if (ledger_prepare(l, "UPDATE distributors SET placement_id = ?, leg = ?, placement_auto = ? WHERE id = ?", &st,
			   err) < 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		int leg = PL_LEFT;
		int32_t parent = placement_parent(m.pl, (int32_t)k, &leg);
		sqlite3_reset(st);
		if (parent == PL_NONE) {
			sqlite3_bind_null(st, 1);
			sqlite3_bind_null(st, 2);
		} else {
			sqlite3_bind_text(st, 1, placement_name(m.pl, parent), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, leg_names[leg], -1, SQLITE_STATIC);
		}
		sqlite3_bind_int(st, 3, m.given[k] ? 0 : 1);
		sqlite3_bind_text(st, 4, placement_name(m.pl, (int32_t)k), -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto sqlfail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (ledger_exec(l, schema_v4_index, err) < 0)
		goto out;
	if (m.ndropped > 0) {
		json_t *ev = json_object();
		json_object_set_new(ev, "given_placements_dropped", json_integer(m.ndropped));
		json_object_set_new(ev, "ids", json_incref(m.dropped));
		rc = ledger_audit_add(l, "placement_migrated", ev, err);
		json_decref(ev);
		goto out;
	}
	rc = 0;
	goto out;
sqlfail:
	pd_errf(err, "ledger %s: placing the distributors: %s", l->path, sqlite3_errmsg(l->db));
out:
	if (st)
		sqlite3_finalize(st);
	free(sponsor);
	free(m.given);
	json_decref(m.dropped);
	placement_free(m.pl);
	return rc;
}

static int open_common(const char *path, int readonly, ledger **out, pd_err *err)
{
	ledger *l = xcalloc(1, sizeof *l);
	l->path = xstrdup(path);
	l->readonly = readonly;
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &l->db, flags | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		char cause[128] = "";
		if (l->db)
			io_cause(l, cause, sizeof cause);
		pd_errf(err, "cannot open ledger %s: %s%s", path, l->db ? sqlite3_errmsg(l->db) : "out of memory", cause);
		ledger_close(l);
		return -1;
	}
	if (!readonly && sqlite3_db_readonly(l->db, "main") == 1) {
		/* SQLite quietly opens it read-only when it cannot open it for writing:
		 * say why now, not at the first write */
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		int e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		pd_errf(err, "cannot open ledger %s for writing: %s", path, e ? strerror(e) : "SQLite opened it read-only");
		ledger_close(l);
		return -1;
	}
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, 30000);
	/* WAL: readers never block the writer; FULL: a returned COMMIT survives power loss */
	if ((!readonly && ledger_exec(l, "PRAGMA page_size=65536; PRAGMA journal_mode=WAL", err) < 0) ||
	    ledger_exec(l, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-65536;"
			   "PRAGMA temp_store=MEMORY;", err) < 0) {
		ledger_close(l);
		return -1;
	}
	if (readonly) {
		int v = user_version(l);
		if (v != LEDGER_SCHEMA_VERSION) {
			pd_errf(err, "ledger %s has schema version %d, this build reads version %d%s", path, v,
				LEDGER_SCHEMA_VERSION, v < LEDGER_SCHEMA_VERSION ? " (start payoutd once to migrate it)" : "");
			ledger_close(l);
			return -1;
		}
	} else if (migrate(l, err) < 0) {
		ledger_close(l);
		return -1;
	}
	*out = l;
	return 0;
}

int ledger_open(const char *path, ledger **out, pd_err *err)
{
	/* statements and the ledger are for the service user and group only */
	mode_t old = umask(027);
	int rc = open_common(path, 0, out, err);
	umask(old);
	return rc;
}

int ledger_open_readonly(const char *path, ledger **out, pd_err *err)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return pd_errf(err, "cannot open ledger %s: %s", path, strerror(errno));
	return open_common(path, 1, out, err);
}

void ledger_close(ledger *l)
{
	if (!l)
		return;
	/* finalize any statement a module left prepared, then close */
	sqlite3_stmt *st;
	while (l->db && (st = sqlite3_next_stmt(l->db, NULL)))
		sqlite3_finalize(st);
	if (l->db)
		sqlite3_close(l->db);
	free(l->path);
	free(l);
}

sqlite3 *ledger_db(ledger *l)
{
	return l->db;
}

int ledger_begin(ledger *l, pd_err *err)
{
	return ledger_exec(l, "BEGIN IMMEDIATE", err);
}

int ledger_commit(ledger *l, pd_err *err)
{
	CRASH_POINT("before commit", l->path);
	int rc = ledger_exec(l, "COMMIT", err);
	if (rc == 0)
		CRASH_POINT("after commit", l->path);
	return rc;
}

void ledger_rollback(ledger *l)
{
	if (!sqlite3_get_autocommit(l->db))
		ledger_exec(l, "ROLLBACK", NULL);
}

static int meta_get(ledger *l, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *st;
	int found = 0;
	if (sqlite3_prepare_v2(l->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		found = 1;
	}
	sqlite3_finalize(st);
	return found;
}

static int meta_set(ledger *l, const char *key, const char *value, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(l, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", &st, err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
	return 0;
}

int ledger_bind_plan(ledger *l, const plan *p, pd_err *err)
{
	char kind[32], cur[32];
	int hk = meta_get(l, "period_kind", kind, sizeof kind);
	int hc = meta_get(l, "currency", cur, sizeof cur);
	if (hk < 0 || hc < 0)
		return pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
	const char *want = period_kind_name(p->period);
	if (hk && strcmp(kind, want) != 0)
		return pd_errf(err, "the plan's period is %s but ledger %s was started with %s periods; a ledger's period cannot change",
			       want, l->path, kind);
	if (hc && strcmp(cur, p->currency) != 0)
		return pd_errf(err, "the plan's currency is %s but ledger %s books %s; a ledger's currency cannot change",
			       p->currency, l->path, cur);
	if (hk && hc)
		return 0;
	if (l->readonly)
		return 0;
	if (ledger_begin(l, err) < 0)
		return -1;
	if ((!hk && meta_set(l, "period_kind", want, err) < 0) ||
	    (!hc && meta_set(l, "currency", p->currency, err) < 0)) {
		ledger_rollback(l);
		return -1;
	}
	return ledger_commit(l, err);
}

int ledger_earliest_open(ledger *l, int32_t *out, pd_err *err)
{
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT max(period) FROM periods", &st, err) < 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
	}
	*out = sqlite3_column_type(st, 0) == SQLITE_NULL ? LEDGER_NO_CLOSE : sqlite3_column_int(st, 0) + 1;
	sqlite3_finalize(st);
	return 0;
}

int ledger_audit_add(ledger *l, const char *event, json_t *members, pd_err *err)
{
	sqlite3_stmt *st;
	int64_t seq = 1;
	char prev[AUDIT_HASH_HEX + 1];
	memcpy(prev, audit_zero_hash, sizeof prev);
	if (ledger_prepare(l, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &st, err) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(prev, sizeof prev, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	char now[32], hash[AUDIT_HASH_HEX + 1], *line = NULL;
	audit_now(now);
	if (audit_make_line(seq, now, event, members, prev, &line, hash, err) < 0)
		return -1;
	if (ledger_prepare(l, "INSERT INTO audit(seq, line, hash) VALUES(?, ?, ?)", &st, err) < 0) {
		free(line);
		return -1;
	}
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, line, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	free(line);
	if (rc != SQLITE_DONE)
		return pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
	return 0;
}

/*
 * Finds the last complete line of the audit file: truncates a torn tail
 * (a crash in the middle of an append), and returns its seq and text
 * (*last, malloc'ed, without the newline). An empty file gives seq 0.
 */
static int audit_file_tail(int fd, const char *path, int64_t *seq, char **last, pd_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return pd_errf(err, "cannot stat %s: %s", path, strerror(errno));
	*seq = 0;
	*last = NULL;
	off_t size = st.st_size;
	if (size == 0)
		return 0;
	/* read backwards in blocks until we hold the last two newlines */
	size_t cap = 0, have = 0;
	char *buf = NULL;
	off_t pos = size;
	for (;;) {
		size_t blk = 65536;
		if ((off_t)blk > pos)
			blk = (size_t)pos;
		char *nb = xmalloc(have + blk + 1);
		ssize_t r = pread(fd, nb, blk, pos - (off_t)blk);
		if (r != (ssize_t)blk) {
			free(nb);
			free(buf);
			return pd_errf(err, "cannot read %s: %s", path, r < 0 ? strerror(errno) : "short read");
		}
		if (have)
			memcpy(nb + blk, buf, have);
		free(buf);
		buf = nb;
		have += blk;
		cap = have;
		pos -= (off_t)blk;
		buf[have] = '\0';
		/* last '\n' = end of the last complete line; the one before = its start */
		char *end = memrchr(buf, '\n', have);
		if (end) {
			char *start = end > buf ? memrchr(buf, '\n', (size_t)(end - buf)) : NULL;
			if (start || pos == 0) {
				const char *line = start ? start + 1 : buf;
				off_t keep = pos + (off_t)(end - buf) + 1;
				if (keep < size) {
					CRASH_POINT("before truncate", path);
					if (ftruncate(fd, keep) < 0) {
						free(buf);
						return pd_errf(err, "cannot repair %s: %s", path, strerror(errno));
					}
					CRASH_POINT("after truncate", path);
				}
				size_t ll = (size_t)(end - line);
				if (sscanf(line, "{\"seq\":%" SCNd64 ",", seq) != 1 || ll < AUDIT_HASH_HEX + 2) {
					free(buf);
					return pd_errf(err, "%s: the last line is not an audit line", path);
				}
				*last = xstrndup(line, ll);
				free(buf);
				return 0;
			}
		} else if (pos == 0) {
			/* no complete line at all: the whole file is a torn first line */
			free(buf);
			if (ftruncate(fd, 0) < 0)
				return pd_errf(err, "cannot repair %s: %s", path, strerror(errno));
			return 0;
		}
		if (cap > (8u << 20)) {
			free(buf);
			return pd_errf(err, "%s: the last line is longer than 8 MiB", path);
		}
	}
}

int ledger_audit_sync(ledger *l, const char *audit_path, pd_err *err)
{
	mode_t old = umask(027);
	int fd = open(audit_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	umask(old);
	if (fd < 0)
		return pd_errf(err, "cannot open audit log %s: %s", audit_path, strerror(errno));
	/* payoutd and payoutctl both sync: one at a time */
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return pd_errf(err, "cannot lock audit log %s: %s", audit_path, strerror(errno));
	}
	int rc = -1;
	int64_t fseq = 0;
	off_t start = -1; /* where this sync appends */
	char *flast = NULL;
	sqlite3_stmt *st = NULL;
	if (audit_file_tail(fd, audit_path, &fseq, &flast, err) < 0)
		goto out;
	if (fseq > 0) {
		if (ledger_prepare(l, "SELECT line FROM audit WHERE seq = ?", &st, err) < 0)
			goto out;
		sqlite3_bind_int64(st, 1, fseq);
		if (sqlite3_step(st) != SQLITE_ROW) {
			pd_errf(err, "audit log %s has line %" PRId64 " that ledger %s does not know: the log belongs to another ledger or was edited",
				audit_path, fseq, l->path);
			goto out;
		}
		if (strcmp((const char *)sqlite3_column_text(st, 0), flast) != 0) {
			pd_errf(err, "audit log %s line %" PRId64 " differs from the ledger's copy: the log was edited",
				audit_path, fseq);
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (ledger_prepare(l, "SELECT line FROM audit WHERE seq > ? ORDER BY seq", &st, err) < 0)
		goto out;
	sqlite3_bind_int64(st, 1, fseq);
	if ((start = lseek(fd, 0, SEEK_END)) < 0) {
		pd_errf(err, "cannot seek in %s: %s", audit_path, strerror(errno));
		goto out;
	}
	int wrote = 0, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		/* one write per line: a crash tears at most the last line, which the next sync drops */
		char *buf = xmalloc(len + 1);
		memcpy(buf, line, len);
		buf[len] = '\n';
		size_t off = 0;
		CRASH_POINT("before write", audit_path);
		while (off < len + 1) {
			ssize_t w = write(fd, buf + off, len + 1 - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				pd_errf(err, "cannot append to audit log %s: %s", audit_path, strerror(errno));
				free(buf);
				goto unappend;
			}
			off += (size_t)w;
		}
		free(buf);
		CRASH_POINT("after write", audit_path);
		wrote = 1;
	}
	if (step != SQLITE_DONE) {
		pd_errf(err, "ledger %s: %s", l->path, sqlite3_errmsg(l->db));
		goto out;
	}
	if (wrote)
		CRASH_POINT("before fsync", audit_path);
	if (wrote && fsync(fd) < 0) {
		pd_errf(err, "cannot sync audit log %s: %s", audit_path, strerror(errno));
		fs_note_sync_failure();
		goto unappend;
	}
	if (wrote)
		CRASH_POINT("after fsync", audit_path);
	if (wrote && fseq == 0) {
		/* the file may be new: its folder entry must be durable too */
		char *dir = fs_dirname(audit_path);
		int drc = fs_fsync_dir(dir, err);
		free(dir);
		if (drc < 0)
			goto out;
	}
	rc = 0;
	goto out;
unappend:
	/* Take off what this sync appended: the next sync must write and sync
	 * those lines anew. After a failed fsync the kernel may have dropped them
	 * from the disk while reads still show them; found in the file, they
	 * would never be written again. (The ledger keeps them either way.) */
	if (ftruncate(fd, start) < 0) {
		/* then they stay as they are: the message already says what failed */
	}
out:
	if (st)
		sqlite3_finalize(st);
	free(flast);
	close(fd);
	return rc;
}

int ledger_audit_event(ledger *l, const char *audit_path, const char *event, json_t *members,
		       pd_err *err)
{
	if (ledger_begin(l, err) < 0)
		return -1;
	if (ledger_audit_add(l, event, members, err) < 0) {
		ledger_rollback(l);
		return -1;
	}
	if (ledger_commit(l, err) < 0) {
		ledger_rollback(l);
		return -1;
	}
	return ledger_audit_sync(l, audit_path, err);
}

void ledger_manual_checkpoints(ledger *l)
{
	sqlite3_wal_autocheckpoint(l->db, 0);
}

int ledger_checkpoint(ledger *l, pd_err *err)
{
	int logged = 0, done = 0;
	if (sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &logged, &done) != SQLITE_OK) {
		int ec = sqlite3_extended_errcode(l->db);
		if (ec == SQLITE_IOERR_FSYNC || ec == SQLITE_IOERR_DIR_FSYNC)
			fs_note_sync_failure();
		char cause[128];
		io_cause(l, cause, sizeof cause);
		return pd_errf(err, "ledger %s: checkpoint: %s%s", l->path, sqlite3_errmsg(l->db), cause);
	}
	return 0;
}

int ledger_open_reader(ledger *l, sqlite3 **out, pd_err *err)
{
	*out = NULL;
	if (sqlite3_open_v2(l->path, out, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		pd_errf(err, "cannot open ledger %s for reading: %s", l->path, *out ? sqlite3_errmsg(*out) : "out of memory");
		sqlite3_close(*out);
		*out = NULL;
		return -1;
	}
	sqlite3_busy_timeout(*out, 30000);
	sqlite3_exec(*out, "PRAGMA cache_size=-16384", NULL, NULL, NULL);
	return 0;
}

int ledger_audit_compare(ledger *l, const char *audit_path, int64_t *bad_line, pd_err *err)
{
	*bad_line = 0;
	FILE *f = fopen(audit_path, "re");
	if (!f)
		return pd_errf(err, "cannot read audit log %s: %s", audit_path, strerror(errno));
	sqlite3_stmt *st;
	if (ledger_prepare(l, "SELECT line FROM audit ORDER BY seq", &st, err) < 0) {
		fclose(f);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t no = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		no++;
		if (sqlite3_step(st) != SQLITE_ROW) {
			*bad_line = no;
			rc = 1;
			break;
		}
		const char *want = (const char *)sqlite3_column_text(st, 0);
		size_t wl = (size_t)sqlite3_column_bytes(st, 0);
		if ((size_t)n != wl + 1 || memcmp(line, want, wl) != 0 || line[wl] != '\n') {
			*bad_line = no;
			rc = 1;
			break;
		}
	}
	free(line);
	sqlite3_finalize(st);
	fclose(f);
	return rc;
}

/*
 * Online backup (payoutctl backup). The source is opened read-only and
 * without the schema check, so a ledger of any version can be saved (say,
 * before an upgrade). One backup step copies everything inside one read
 * transaction: in WAL mode that never blocks payoutd's writes, and the copy
 * is the ledger as of one commit. The copy is made under a temporary name in
 * FILE's folder, turned into a single self-contained file (journal_mode
 * DELETE), checked, synced, and linked to FILE, which link() refuses to
 * replace: an existing backup is never overwritten.
 */
int ledger_backup(const char *src_path, const char *dest, int64_t *pages, pd_err *err)
{
	char *dir = fs_dirname(dest);
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp-%ld", dest, (long)getpid()) < 0)
		abort();
	sqlite3 *src = NULL, *dst = NULL;
	int rc = -1;
	struct stat sb;
	if (lstat(dest, &sb) == 0) {
		pd_errf(err, "%s exists: a backup never overwrites a file", dest);
		goto out;
	}
	unlink(tmp); /* a leftover of a backup that died with this pid */
	if (sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		pd_errf(err, "cannot open ledger %s: %s", src_path, src ? sqlite3_errmsg(src) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(src, 30000);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		pd_errf(err, "cannot create %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
		goto out;
	}
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		pd_errf(err, "cannot start the backup of %s: %s", src_path, sqlite3_errmsg(dst));
		goto out;
	}
	int step = sqlite3_backup_step(b, -1);
	if (pages)
		*pages = sqlite3_backup_pagecount(b);
	sqlite3_backup_finish(b);
	if (step != SQLITE_DONE) {
		pd_errf(err, "backup of %s failed: %s", src_path, sqlite3_errstr(step));
		goto out;
	}
	char *msg = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &msg) != SQLITE_OK) {
		pd_errf(err, "%s: %s", tmp, msg ? msg : sqlite3_errmsg(dst));
		sqlite3_free(msg);
		goto out;
	}
	const char *check = NULL;
	if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		check = (const char *)sqlite3_column_text(st, 0);
	if (!check || strcmp(check, "ok") != 0) {
		pd_errf(err, "the copy %s fails its integrity check: %s", tmp, check ? check : sqlite3_errmsg(dst));
		sqlite3_finalize(st);
		goto out;
	}
	sqlite3_finalize(st);
	if (sqlite3_close(dst) != SQLITE_OK) {
		pd_errf(err, "cannot close %s", tmp);
		goto out;
	}
	dst = NULL;
	int fd = open(tmp, O_RDONLY | O_CLOEXEC);
	/* 0640 like the ledger itself (names, IBANs), whatever the caller's umask */
	if (fd < 0 || fchmod(fd, 0640) < 0 || fsync(fd) < 0) {
		pd_errf(err, "cannot sync %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	if (link(tmp, dest) < 0) {
		pd_errf(err, "cannot create %s: %s", dest, strerror(errno));
		goto out;
	}
	unlink(tmp);
	rc = fs_fsync_dir(dir, err);
out:
	if (dst)
		sqlite3_close(dst);
	if (src)
		sqlite3_close(src);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}
