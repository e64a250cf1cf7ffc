/*
 * ingest.h - booking one input file into the ledger, all or nothing.
 *
 * ingest_file() reads and validates every row while booking it inside one
 * transaction (BEGIN IMMEDIATE). If any row is bad, or the file's SHA-256
 * was booked before, the transaction is rolled back and the result says
 * why; otherwise the file record and its `file_booked` audit line are added
 * and the transaction is committed. The booking rules are SPEC 4.2 and 11.
 */
#ifndef PAYOUTD_INGEST_H
#define PAYOUTD_INGEST_H

#include <stdint.h>

#include "config.h"
#include "err.h"
#include "ledger.h"
#include "plan.h"

typedef struct ingest_stats {
	long rows, sales, distributors, products, late, unattributed, duplicates, refunds,
		clawbacks, attributed;
} ingest_stats;

typedef struct ingest_result {
	char sha256[65];
	uint64_t size;
	ingest_stats st;
	pd_diag errors;      /* every bad row: "NAME:LINE:COL: column ...: value ...: reason" */
	char reason[1280];    /* one sentence when rejected */
} ingest_result;

enum { INGEST_BOOKED = 0, INGEST_REJECTED = 1, INGEST_FAILED = -1 };

/*
 * Books the file open on fd (read from its start). name: the file's name
 * as dropped; claim: its name in the work folder; archive_dir: "YYYY-MM"
 * where it will be archived. Returns INGEST_BOOKED (committed),
 * INGEST_REJECTED (nothing booked; res->reason and res->errors say why) or
 * INGEST_FAILED (nothing booked; a system problem in err, worth a retry).
 */
int ingest_file(ledger *l, const plan *p, const config_input *in, int fd, const char *name,
		const char *claim, const char *archive_dir, ingest_result *res, pd_err *err);
void ingest_result_free(ingest_result *res);

/* Distributor ids become file names of statements: [A-Za-z0-9._-], 1..64
 * bytes, not starting with '.'. Exposed for tests. */
int ingest_valid_distributor_id(const char *s, size_t len);

#endif
