/*
 * ledger.h - the SQLite ledger: schema, migrations, transactions, and the
 * audit lines that are committed together with every change.
 *
 * The database runs in WAL mode with synchronous=FULL, so a COMMIT that
 * returned is durable and readers (payoutctl) never block the daemon.
 * The schema version is PRAGMA user_version; ledger_open() migrates an
 * older ledger forward in one transaction and refuses a newer one.
 *
 * Audit log: every event is first inserted into the `audit` table inside
 * the transaction whose change it describes (so ledger and log cannot
 * disagree), then ledger_audit_sync() appends the committed lines that the
 * file does not have yet. After a crash the next sync repairs the file:
 * it drops a torn last line and appends what is missing.
 */
#ifndef PAYOUTD_LEDGER_H
#define PAYOUTD_LEDGER_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "err.h"
#include "plan.h"

#define LEDGER_SCHEMA_VERSION 5
/* earliest open period when nothing has been closed yet: every period is open */
#define LEDGER_NO_CLOSE INT32_MIN

/* sales.flags bits (stored: never renumber) */
#define SALE_ATTRIBUTED 1      /* its distributor is known */
#define SALE_LATE 2            /* dated in a period closed when it was booked */
#define SALE_CLAWBACK 4        /* a refund of a closed period's sale: booked as a clawback */
#define SALE_TO_DISTRIBUTOR 8  /* customer_type distributor (else retail) */

typedef struct ledger ledger;

/* The SQL that migrates a ledger from version v to v + 1, or NULL (tests).
 * Version 4's is followed by a C step (the placements of the distributors
 * already booked, then the unique slot index): its SQL alone is not the
 * whole migration. */
const char *ledger_migration_sql(int from_version);

/* Opens (creating when missing) and migrates. The ledger is closed with ledger_close. */
int ledger_open(const char *path, ledger **out, pd_err *err);
/* Opens an existing ledger for reading only (payoutctl status); no migration. */
int ledger_open_readonly(const char *path, ledger **out, pd_err *err);
void ledger_close(ledger *l);
sqlite3 *ledger_db(ledger *l);
int ledger_schema_version(ledger *l);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int ledger_begin(ledger *l, pd_err *err);
int ledger_commit(ledger *l, pd_err *err);
void ledger_rollback(ledger *l);

/* Runs one SQL statement without results; err carries SQLite's message. */
int ledger_exec(ledger *l, const char *sql, pd_err *err);
/* Prepares a statement, or fills err. */
int ledger_prepare(ledger *l, const char *sql, sqlite3_stmt **st, pd_err *err);

/* The plan's period kind and currency are fixed for a ledger's life: the
 * first plan used stamps them, a later plan must agree (else -1). */
int ledger_bind_plan(ledger *l, const plan *p, pd_err *err);

/* The period right after the last closed one, or LEDGER_NO_CLOSE. */
int ledger_earliest_open(ledger *l, int32_t *out, pd_err *err);

/* Inside a transaction: appends an audit line for `event` with `members`
 * (a JSON object, may be NULL; not stolen). */
int ledger_audit_add(ledger *l, const char *event, json_t *members, pd_err *err);
/* Outside a transaction: makes the audit file hold exactly the committed lines. */
int ledger_audit_sync(ledger *l, const char *audit_path, pd_err *err);
/* Compares each line of an audit file, byte for byte, with the ledger's
 * copy: 0 all agree, 1 with *bad_line the first that differs, -1 error. */
int ledger_audit_compare(ledger *l, const char *audit_path, int64_t *bad_line, pd_err *err);
/* One event in its own transaction, then synced to the file. */
int ledger_audit_event(ledger *l, const char *audit_path, const char *event, json_t *members,
		       pd_err *err);

/*
 * The daemon checkpoints the WAL itself, after a scan, instead of inside
 * the COMMIT of a big file: the commit is durable either way, and the copy
 * into the main database then happens while the inbox is idle.
 */
void ledger_manual_checkpoints(ledger *l);
/* A second, read-only connection to the same ledger for another thread; it
 * sees what was committed. The caller closes it with sqlite3_close. */
int ledger_open_reader(ledger *l, sqlite3 **out, pd_err *err);

/* Online copy of the ledger at src_path (any schema version, while payoutd
 * writes) into the new file dest, as one self-contained SQLite file checked
 * with integrity_check and synced; refuses an existing dest. *pages: the
 * pages copied. */
int ledger_backup(const char *src_path, const char *dest, int64_t *pages, pd_err *err);
int ledger_checkpoint(ledger *l, pd_err *err);

#endif
