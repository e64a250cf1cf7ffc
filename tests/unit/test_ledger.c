/*
 * test_ledger.c - schema versions and migration, the plan binding, and the
 * audit file kept in step with the ledger (repair after a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "ledger.h"
#include "placement.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_ledger.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path(char *out, const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
}

static int user_version_of(const char *db)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int v = -1;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void set_user_version(const char *db, int v)
{
	sqlite3 *h;
	char sql[64];
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

/* An empty database (version 0) is migrated to the current version, and its
 * tables exist afterwards. */
static void test_migrates_empty_to_current(void **state)
{
	(void)state;
	char db[512];
	path(db, "a.db");
	ledger *l = NULL;
	pd_err err;
	assert_int_equal(ledger_open(db, &l, &err), 0);
	assert_int_equal(ledger_schema_version(l), LEDGER_SCHEMA_VERSION);
	assert_int_equal(ledger_exec(l, "SELECT sale_id, flags, content FROM sales LIMIT 0", &err), 0);
	assert_int_equal(ledger_exec(l, "SELECT seq, line, hash FROM audit LIMIT 0", &err), 0);
	ledger_close(l);
	assert_int_equal(user_version_of(db), LEDGER_SCHEMA_VERSION);
	/* opening again changes nothing */
	assert_int_equal(ledger_open(db, &l, &err), 0);
	ledger_close(l);
	assert_int_equal(user_version_of(db), LEDGER_SCHEMA_VERSION);
}

static void expect_text(ledger *l, const char *sql, const char *want);

/* Every migration, one at a time: a ledger left at version v by an older
 * build, holding data, is migrated by ledger_open to the current version
 * with its data intact (version 1 -> 2 adds the tables of the close, 2 -> 3
 * sums the sales into volumes, 3 -> 4 places the distributors, 4 -> 5 adds
 * the binary columns of period_results). */
static void test_each_migration_keeps_data(void **state)
{
	(void)state;
	for (int from = 1; from < LEDGER_SCHEMA_VERSION; from++) {
		char db[512], name[32];
		snprintf(name, sizeof name, "m%d.db", from);
		path(db, name);
		sqlite3 *h;
		assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
		for (int v = 0; v < from; v++)
			assert_int_equal(sqlite3_exec(h, ledger_migration_sql(v), NULL, NULL, NULL), SQLITE_OK);
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", from);
		assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
		/* a little of everything version 1 has */
		assert_int_equal(sqlite3_exec(h,
			"INSERT INTO meta VALUES('currency', 'EUR');"
			"INSERT INTO distributors(id, sponsor_id, name, join_date, country, email, iban, vat_id, vat_liable,"
			"  placement_id, leg, created_file, updated_file)"
			"  VALUES('A1', NULL, 'Anna', 20000, 'DE', NULL, 'DE89', NULL, 0, NULL, NULL, 1, 1);"
			"INSERT INTO sales VALUES('S1', 'A1', 20760, 8000, 16000, 6400, 24322, 1, NULL, 'promo', 2000000, 1000000, 42, 2, 2);"
			"INSERT INTO periods(period, name, closed_at) VALUES(24321, '2026-10', '2026-11-03T00:00:00Z');"
			"INSERT INTO audit VALUES(1, '{}', 'abc');", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);

		ledger *l = NULL;
		pd_err err;
		assert_int_equal(ledger_open(db, &l, &err), 0);
		assert_int_equal(ledger_schema_version(l), LEDGER_SCHEMA_VERSION);
		sqlite3_stmt *st;
		assert_int_equal(ledger_prepare(l, "SELECT s.amount, s.pv, d.name, p.name, p.plan_sha256 FROM sales s"
						   " JOIN distributors d ON d.id = s.distributor_id, periods p", &st, &err), 0);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), 8000);
		assert_int_equal(sqlite3_column_int64(st, 1), 16000);
		assert_string_equal((const char *)sqlite3_column_text(st, 2), "Anna");
		assert_string_equal((const char *)sqlite3_column_text(st, 3), "2026-10");
		assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL); /* closed before plans were kept */
		sqlite3_finalize(st);
		assert_int_equal(ledger_exec(l, "SELECT * FROM period_results, period_sources, plans LIMIT 0", &err), 0);
		/* version 4 makes the one distributor a root of its own placement tree */
		expect_text(l, "SELECT coalesce(placement_id, 'none') || '/' || placement_auto FROM distributors", "none/1");
		/* version 3 sums the sale into its distributor's volumes (a ledger already
		 * at version 3 has them kept up to date by its bookings: none here) */
		assert_int_equal(ledger_prepare(l, "SELECT period, distributor_id, pv, cv, amount FROM volumes", &st, &err), 0);
		if (from >= 3) {
			assert_int_equal(sqlite3_step(st), SQLITE_DONE);
			sqlite3_finalize(st);
			ledger_close(l);
			continue;
		}
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 24322);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "A1");
		assert_int_equal(sqlite3_column_int64(st, 2), 16000);
		assert_int_equal(sqlite3_column_int64(st, 3), 6400);
		assert_int_equal(sqlite3_column_int64(st, 4), 8000);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		ledger_close(l);
	}
}

/* 4 -> 5: a closed period's results keep their values; the binary columns
 * are 0 (no older plan could be binary), and a new close can write them. */
static void test_migration_v5_binary_columns(void **state)
{
	(void)state;
	char db[512];
	path(db, "m5.db");
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	for (int v = 0; v < 4; v++)
		assert_int_equal(sqlite3_exec(h, ledger_migration_sql(v), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 4;"
		"INSERT INTO period_results(period, distributor_id, qualified, paid_as, title, active, terminated,"
		"  pv, gv, commissions, cap_adjustment, clawbacks, fees, carried_in, payable, paid, carried_out,"
		"  name, iban, lines)"
		"  VALUES(24322, 'A1', 'partner', 'partner', 'partner', 1, 0, 10000, 10000, 2000, 0, 0, 0, 0, 2000,"
		"  2000, 0, 'Anna', NULL, '[]');", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	ledger *l = NULL;
	pd_err err;
	if (ledger_open(db, &l, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ledger_schema_version(l), 5);
	expect_text(l, "SELECT paid || '/' || bin_left || '/' || bin_right || '/' || bin_matched || '/' || carry_left"
		       " || '/' || carry_right FROM period_results", "2000/0/0/0/0/0");
	assert_int_equal(ledger_exec(l, "UPDATE period_results SET carry_left = 50000", &err), 0);
	expect_text(l, "SELECT carry_left FROM period_results", "50000");
	ledger_close(l);
}

static void expect_text(ledger *l, const char *sql, const char *want)
{
	sqlite3_stmt *st;
	pd_err err;
	assert_int_equal(ledger_prepare(l, sql, &st, &err), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const unsigned char *got = sqlite3_column_text(st, 0);
	if (!got || strcmp((const char *)got, want) != 0)
		fail_msg("%s\n  gave %s\n  want %s", sql, got ? (const char *)got : "NULL", want);
	sqlite3_finalize(st);
}

/*
 * Version 2 -> 3 on a ledger with a closed period: the lines of each
 * statement become one JSON array in seq order, what each source paid
 * becomes one row per source, and volumes hold the net pv, cv and amount of
 * the sales that count (attributed, not clawbacks; same-period refunds do).
 */
static void test_migration_v3_packs_lines(void **state)
{
	(void)state;
	char db[512];
	path(db, "v2.db");
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	for (int v = 0; v < 2; v++)
		assert_int_equal(sqlite3_exec(h, ledger_migration_sql(v), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 2;"
		/* sales of period 24322: B1 150.00 (pv 100, cv 80), refunded 50.00 (pv -30, cv -20) in the
		 * same period; an unattributed one and a clawback, which do not count; A1 one sale */
		"INSERT INTO sales VALUES('S1', 'B1', 20760, 15000, 10000, 8000, 24322, 1, NULL, NULL, NULL, NULL, 1, 2, 2);"
		"INSERT INTO sales VALUES('R1', 'B1', 20761, -5000, -3000, -2000, 24322, 1, 'S1', NULL, NULL, NULL, 2, 2, 3);"
		"INSERT INTO sales VALUES('S2', 'Z9', 20762, 9900, 9900, 9900, 24322, 0, NULL, NULL, NULL, NULL, 3, 2, 4);"
		"INSERT INTO sales VALUES('R0', 'B1', 20763, -700, -700, -700, 24322, 5, 'S0', NULL, NULL, NULL, 4, 2, 5);"
		"INSERT INTO sales VALUES('S3', 'A1', 20764, 2000, 1000, 1000, 24322, 1, NULL, NULL, NULL, NULL, 5, 2, 6);"
		"INSERT INTO sales VALUES('S4', 'A1', 20790, 3000, 2000, 2000, 24323, 3, NULL, NULL, NULL, NULL, 6, 2, 7);"
		"INSERT INTO periods VALUES(24322, '2026-11', '2026-12-01T00:00:00Z', 'abc', 17000, 'def');"
		"INSERT INTO period_results VALUES(24322, 'A1', 'r1', 'r1', 'r1', 1, 0, 1000, 8000, 1200, 0, 0, 100,"
		"  0, 1100, 1100, 0, 'Anna', NULL);"
		"INSERT INTO period_results VALUES(24322, 'B1', 'r1', 'r1', 'r1', 1, 0, 7000, 7000, 0, 0, 0, 0,"
		"  0, 0, 0, 0, 'Bernd', NULL);"
		/* inserted out of seq order on purpose */
		"INSERT INTO period_lines VALUES(24322, 'A1', 2, 'fee', NULL, NULL, 0, 0, NULL, 'admin \"fee\"', -100);"
		"INSERT INTO period_lines VALUES(24322, 'A1', 0, 'retail', NULL, 'A1', 1000, 100000, NULL, NULL, 100);"
		"INSERT INTO period_lines VALUES(24322, 'A1', 1, 'unilevel', 1, 'B1', 6000, 100000, NULL, NULL, 600);"
		"INSERT INTO period_lines VALUES(24322, 'A1', 3, 'unilevel', 1, 'B2', 5000, 100000, NULL, NULL, 500);",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	ledger *l = NULL;
	pd_err err;
	assert_int_equal(ledger_open(db, &l, &err), 0);
	assert_int_equal(ledger_schema_version(l), LEDGER_SCHEMA_VERSION);
	expect_text(l, "SELECT lines FROM period_results WHERE distributor_id = 'A1'",
		    "[[\"retail\",null,\"A1\",1000,100000,null,null,100],"
		    "[\"unilevel\",1,\"B1\",6000,100000,null,null,600],"
		    "[\"fee\",null,null,0,0,null,\"admin \\\"fee\\\"\",-100],"
		    "[\"unilevel\",1,\"B2\",5000,100000,null,null,500]]");
	expect_text(l, "SELECT lines FROM period_results WHERE distributor_id = 'B1'", "[]");
	expect_text(l, "SELECT group_concat(source || '=' || paid, ' ') FROM period_sources WHERE period = 24322",
		    "A1=[[\"A1\",null,100000]] B1=[[\"A1\",1,100000]] B2=[[\"A1\",1,100000]]");
	/* B1: 150.00 - 50.00 = 100.00, pv 100 - 30 = 70, cv 80 - 20 = 60 */
	expect_text(l, "SELECT group_concat(period || ' ' || distributor_id || ' ' || pv || ' ' || cv || ' ' || amount, '; ')"
		       " FROM volumes",
		    "24322 A1 1000 1000 2000; 24322 B1 7000 6000 10000; 24323 A1 2000 2000 3000");
	/* a period closed before version 3 counts as published; it has no summary to make its folder again */
	expect_text(l, "SELECT published || '/' || coalesce(summary, 'none') || '/' || manifest_sha256 FROM periods",
		    "1/none/def");
	assert_int_not_equal(ledger_exec(l, "SELECT * FROM period_lines", &err), 0);
	ledger_close(l);
}

/* A version 3 ledger holding the given distributors rows (id, sponsor_id,
 * placement_id, leg, created_file), opened (migrated to version 4) by
 * ledger_open. */
static ledger *v3_ledger(const char *name, const char *rows)
{
	char db[512];
	path(db, name);
	sqlite3 *h;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	for (int v = 0; v < 3; v++)
		assert_int_equal(sqlite3_exec(h, ledger_migration_sql(v), NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA user_version = 3;"
		"CREATE TEMP TABLE r(id, sponsor_id, placement_id, leg, created_file);", NULL, NULL, NULL), SQLITE_OK);
	char *sql = NULL;
	assert_true(asprintf(&sql, "INSERT INTO r VALUES %s;"
		"INSERT INTO distributors SELECT id, sponsor_id, 'N ' || id, 20000, NULL, NULL, NULL, NULL, 0,"
		"  placement_id, leg, created_file, created_file FROM r;", rows) > 0);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	free(sql);
	sqlite3_close(h);
	ledger *l = NULL;
	pd_err err;
	if (ledger_open(db, &l, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ledger_schema_version(l), LEDGER_SCHEMA_VERSION);
	assert_int_equal(user_version_of(db), LEDGER_SCHEMA_VERSION);
	return l;
}

/* id:placement_id.leg/placement_auto of every distributor, by id ("-" for a root) */
#define PLACEMENTS "SELECT group_concat(id || ':' || coalesce(placement_id || '.' || leg, '-') || '/' || placement_auto, ' ')" \
		   " FROM (SELECT * FROM distributors ORDER BY id)"

/*
 * Version 3 -> 4 places the distributors booked before placements were
 * checked, in booking order (created_file, id), given placements first:
 *   file 1: A, B, C sponsored by R, and R, a root (by id: A, B, C, R);
 *   file 2: D, E by A; F by R; G by B; H a second root; K by H, given (H, right).
 * Given: K -> H.right. Automatic, in that order, breadth-first under the sponsor:
 *   A, B, C wait for their sponsor R (later by id); R is a root; then
 *   A -> R.left, B -> R.right, C -> A.left (R is full; A comes next);
 *   D (by A) -> A.right; E (by A) -> C.left (A is full; C is its first child);
 *   F (by R) -> B.left (R and A are full, B is next); G (by B) -> B.right;
 *   H: a root.
 * And the unique slot index exists afterwards.
 */
static void test_migration_v4_places(void **state)
{
	(void)state;
	ledger *l = v3_ledger("v3.db",
		"('R', NULL, NULL, NULL, 1), ('C', 'R', NULL, NULL, 1), ('A', 'R', NULL, NULL, 1), ('B', 'R', NULL, NULL, 1),"
		"('E', 'A', NULL, NULL, 2), ('D', 'A', NULL, NULL, 2), ('F', 'R', NULL, NULL, 2), ('G', 'B', NULL, NULL, 2),"
		"('H', NULL, NULL, NULL, 2), ('K', 'H', 'H', 'right', 2)");
	expect_text(l, PLACEMENTS,
		    "A:R.left/1 B:R.right/1 C:A.left/1 D:A.right/1 E:C.left/1 F:B.left/1 G:B.right/1 H:-/1 K:H.right/0 R:-/1");
	pd_err err;
	assert_int_not_equal(ledger_exec(l, "UPDATE distributors SET placement_id = 'R', leg = 'left' WHERE id = 'K'", &err), 0);
	assert_non_null(strstr(err.msg, "UNIQUE"));
	ledger_close(l);
}

/*
 * An older ledger may hold given placements that clash: two on one slot, or
 * a cycle. The earliest booked keeps its slot; in a cycle the latest booked
 * loses its placement; those are placed automatically like the rest, and an
 * audit line names them.
 *   file 1: R root; X (by R) given R.left; Y (by R) given R.left too: dropped.
 *   file 2: P given Q.left, Q given P.left (cycle: Q is later by id, dropped),
 *           both by R.
 * Automatic in order (file 1: Y; file 2: Q): Y -> R.right; Q -> X.left
 * (R full; X is its first child).
 */
static void test_migration_v4_resolves_clashes(void **state)
{
	(void)state;
	ledger *l = v3_ledger("v3c.db",
		"('R', NULL, NULL, NULL, 1), ('X', 'R', 'R', 'left', 1), ('Y', 'R', 'R', 'left', 1),"
		"('P', 'R', 'Q', 'left', 2), ('Q', 'R', 'P', 'left', 2)");
	expect_text(l, PLACEMENTS, "P:Q.left/0 Q:X.left/1 R:-/1 X:R.left/0 Y:R.right/1");
	expect_text(l, "SELECT json_extract(line, '$.given_placements_dropped') || ' ' || json_extract(line, '$.ids')"
		       " FROM audit WHERE line LIKE '%placement_migrated%'", "2 [\"Y\",\"Q\"]");
	ledger_close(l);
}

/*
 * placement.c's breadth-first search keeps each sponsor's queue across
 * placements instead of starting over. Against a plain search from the
 * sponsor for every node (the rule as written), on random forests: 3000
 * nodes, some given placements first, then automatic placement in node
 * order under sponsors drawn earlier (a third of them the same one, a star).
 */
static void test_placement_matches_plain_bfs(void **state)
{
	(void)state;
	enum { N = 3000 };
	static int32_t child[N][2], parent[N], sponsor[N], queue[N];
	for (unsigned seed = 1; seed <= 5; seed++) {
		uint64_t r = seed * 0x9E3779B97F4A7C15u;
#define RND() (r ^= r << 13, r ^= r >> 7, r ^= r << 17, r)
		placement *pl = placement_new(NULL, NULL);
		char id[16];
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof id, "n%d", i);
			assert_int_equal(placement_node(pl, id, strlen(id)), i);
			child[i][0] = child[i][1] = parent[i] = PL_NONE;
		}
		/* given: node i under an earlier node's free slot, now and then */
		for (int i = 1; i < N; i++) {
			sponsor[i] = RND() % 3 == 0 ? 0 : (int32_t)(RND() % (uint64_t)i);
			if (RND() % 10 == 0) {
				int32_t p = (int32_t)(RND() % (uint64_t)i);
				int leg = (int)(RND() % 2);
				if (child[p][leg] == PL_NONE) {
					child[p][leg] = i;
					parent[i] = p;
					placement_attach(pl, p, leg, i);
				}
			}
		}
		placement_want(pl, 0, PL_NONE);
		for (int i = 1; i < N; i++)
			if (parent[i] == PL_NONE)
				placement_want(pl, i, sponsor[i]);
		assert_int_equal(placement_run(pl, NULL, NULL), 0);
		/* the rule as written */
		for (int i = 1; i < N; i++) {
			if (parent[i] != PL_NONE)
				continue;
			int head = 0, n = 0, leg = -1;
			queue[n++] = sponsor[i];
			while (leg < 0) {
				int32_t x = queue[head++];
				leg = child[x][0] == PL_NONE ? 0 : child[x][1] == PL_NONE ? 1 : -1;
				if (leg >= 0) {
					child[x][leg] = i;
					parent[i] = x;
				} else {
					queue[n++] = child[x][0];
					queue[n++] = child[x][1];
				}
			}
		}
		for (int i = 0; i < N; i++) {
			int leg = -1;
			int32_t got = placement_parent(pl, i, &leg);
			if (got != parent[i] || (got != PL_NONE && child[got][leg] != i))
				fail_msg("seed %u: node %d under %d, the plain search gives %d", seed, i, got, parent[i]);
		}
		placement_free(pl);
#undef RND
	}
}

/* A ledger written by a newer build is refused, never reinterpreted. */
static void test_refuses_newer_schema(void **state)
{
	(void)state;
	char db[512];
	path(db, "b.db");
	ledger *l = NULL;
	pd_err err;
	assert_int_equal(ledger_open(db, &l, &err), 0);
	ledger_close(l);
	set_user_version(db, LEDGER_SCHEMA_VERSION + 1);
	l = NULL;
	assert_int_equal(ledger_open(db, &l, &err), -1);
	assert_null(l);
	assert_non_null(strstr(err.msg, "newer than this build knows"));
	assert_int_equal(user_version_of(db), LEDGER_SCHEMA_VERSION + 1);
	assert_int_equal(ledger_open_readonly(db, &l, &err), -1);
}

/* The first plan stamps period kind and currency; another plan must agree. */
static void test_plan_binding(void **state)
{
	(void)state;
	char db[512];
	path(db, "c.db");
	ledger *l = NULL;
	pd_err err;
	assert_int_equal(ledger_open(db, &l, &err), 0);
	plan p = {.name = "x", .currency = "EUR", .period = PERIOD_MONTHLY};
	assert_int_equal(ledger_bind_plan(l, &p, &err), 0);
	assert_int_equal(ledger_bind_plan(l, &p, &err), 0);
	plan weekly = p;
	weekly.period = PERIOD_WEEKLY;
	assert_int_equal(ledger_bind_plan(l, &weekly, &err), -1);
	assert_non_null(strstr(err.msg, "period"));
	plan usd = p;
	memcpy(usd.currency, "USD", 4);
	assert_int_equal(ledger_bind_plan(l, &usd, &err), -1);
	assert_non_null(strstr(err.msg, "currency"));
	int32_t eo = 0;
	assert_int_equal(ledger_earliest_open(l, &eo, &err), 0);
	assert_int_equal(eo, LEDGER_NO_CLOSE);
	assert_int_equal(ledger_exec(l, "INSERT INTO periods(period, name, closed_at) VALUES(24321, '2026-10', 'x')", &err), 0);
	assert_int_equal(ledger_earliest_open(l, &eo, &err), 0);
	assert_int_equal(eo, 24322);
	ledger_close(l);
}

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void add_event(ledger *l, const char *name)
{
	pd_err err;
	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(name));
	assert_int_equal(ledger_begin(l, &err), 0);
	assert_int_equal(ledger_audit_add(l, "file_booked", m, &err), 0);
	assert_int_equal(ledger_commit(l, &err), 0);
	json_decref(m);
}

/* The file is a mirror of the ledger's audit table: sync appends what is
 * missing, drops a torn last line, rebuilds a deleted file byte for byte,
 * and refuses a file that differs from the ledger. */
static void test_audit_sync_repairs(void **state)
{
	(void)state;
	char db[512], log[512];
	path(db, "d.db");
	path(log, "audit.log");
	ledger *l = NULL;
	pd_err err;
	int64_t lines;
	assert_int_equal(ledger_open(db, &l, &err), 0);
	add_event(l, "a.csv");
	add_event(l, "b.csv");
	/* committed, not yet in the file (a crash right after COMMIT) */
	assert_int_equal(ledger_audit_sync(l, log, &err), 0);
	assert_int_equal(audit_verify_file(log, &lines, &err), 0);
	assert_int_equal(lines, 2);
	size_t len2;
	char *two = slurp(log, &len2);

	add_event(l, "c.csv");
	assert_int_equal(ledger_audit_sync(l, log, &err), 0);
	size_t len3;
	char *three = slurp(log, &len3);
	assert_int_equal(memcmp(three, two, len2), 0); /* appended, earlier lines untouched */

	/* a torn last line (crash in the middle of the append) */
	assert_int_equal(truncate(log, (off_t)(len3 - 10)), 0);
	assert_int_equal(ledger_audit_sync(l, log, &err), 0);
	size_t len;
	char *again = slurp(log, &len);
	assert_int_equal(len, len3);
	assert_memory_equal(again, three, len3);
	free(again);

	/* deleted: rebuilt identically */
	assert_int_equal(unlink(log), 0);
	assert_int_equal(ledger_audit_sync(l, log, &err), 0);
	again = slurp(log, &len);
	assert_int_equal(len, len3);
	assert_memory_equal(again, three, len3);
	free(again);

	int64_t bad = -1;
	assert_int_equal(ledger_audit_compare(l, log, &bad, &err), 0);

	/* edited last line: sync refuses and leaves the file as it is */
	char *edited = strdup(three);
	char *p = strstr(edited, "c.csv");
	p[0] = 'x';
	FILE *f = fopen(log, "wb");
	fwrite(edited, 1, len3, f);
	fclose(f);
	assert_int_equal(ledger_audit_sync(l, log, &err), -1);
	assert_non_null(strstr(err.msg, "edited"));
	again = slurp(log, &len);
	assert_memory_equal(again, edited, len3);
	assert_int_equal(ledger_audit_compare(l, log, &bad, &err), 1);
	assert_int_equal(bad, 3);
	free(again);
	free(edited);
	free(two);
	free(three);
	ledger_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrates_empty_to_current, setup, teardown),
		cmocka_unit_test_setup_teardown(test_each_migration_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v5_binary_columns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v3_packs_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v4_places, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_v4_resolves_clashes, setup, teardown),
		cmocka_unit_test(test_placement_matches_plain_bfs),
		cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_binding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_sync_repairs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
