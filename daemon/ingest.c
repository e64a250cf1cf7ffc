/*
 * ingest.c - one file, one transaction: parse, validate and book every row,
 * then either commit the file record with its audit line or roll back.
 *
 * Rows are booked as they are read (so memory does not grow with the file);
 * a bad row only records an error, reading goes on so that every bad row is
 * listed, and the transaction is rolled back at the end. Checks that need
 * the whole file (sponsors defined later in it, cycles) run after the last
 * row, still inside the transaction.
 */
#include "ingest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "csvin.h"
#include "money.h"
#include "idset.h"
#include "ingest_int.h"
#include "placement.h"
#include "strmap.h"

/* ---- error reporting --------------------------------------------------- */

/* Quotes a value for a message: about 60 bytes (cut between characters),
 * control bytes, quotes and backslashes as \xNN, and when the value is not
 * valid UTF-8 every byte above 0x7F too: messages end up in UTF-8 texts
 * (reports, the audit log) and must stay valid. */
static void quote_value(const char *v, size_t len, char *out, size_t cap)
{
	int ascii_only = !csvin_valid_utf8(v, len);
	size_t o = 0;
	for (size_t i = 0; i < len && o + 8 < cap; i++) {
		unsigned char c = (unsigned char)v[i];
		if (i >= 60 && (c & 0xC0) != 0x80) {
			o += (size_t)snprintf(out + o, cap - o, "...");
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || (ascii_only && c >= 0x80))
			o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* Each thread appends to its own list, in line order; ingest_file merges them. */
static void errlist_add(errlist *e, long line, char *msg)
{
	if (e->n >= PD_DIAG_MAX) {
		e->dropped++;
		free(msg);
		return;
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->line = xrealloc(e->line, e->cap * sizeof *e->line);
		e->msg = xrealloc(e->msg, e->cap * sizeof *e->msg);
	}
	e->line[e->n] = line;
	e->msg[e->n++] = msg;
}

static void errlist_free(errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->line);
	free(e->msg);
	memset(e, 0, sizeof *e);
}

size_t ingest_error_count(const ictx *c)
{
	return c->errs->n + c->errs->dropped;
}

/* The one place a row error's text is made: "NAME:LINE:COL: column "h": value "v": why". */
static void value_error_text(ictx *c, long line, int col, const char *value, size_t vlen, const char *why)
{
	char *msg = NULL;
	int n;
	if (col < 0) {
		n = asprintf(&msg, "%s:%ld:1: %s", c->name, line, why);
	} else {
		char q[256];
		quote_value(value ? value : "", value ? vlen : 0, q, sizeof q);
		n = asprintf(&msg, "%s:%ld:%d: column \"%s\": value \"%s\": %s", c->name, line,
			     csvin_field_number(c->r, col), csvin_header_name(c->r, col), q, why);
	}
	if (n < 0)
		abort();
	errlist_add(c->errs, line, msg);
}

void ingest_value_errorv(ictx *c, long line, int col, const char *value, size_t vlen,
			 const char *fmt, va_list ap)
{
	char why[512];
	vsnprintf(why, sizeof why, fmt, ap);
	value_error_text(c, line, col, value, vlen, why);
}

static void ingest_value_error_len(ictx *c, long line, int col, const char *value, size_t vlen, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static void ingest_value_error_len(ictx *c, long line, int col, const char *value, size_t vlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ingest_value_errorv(c, line, col, value, vlen, fmt, ap);
	va_end(ap);
}

void ingest_value_error(ictx *c, long line, int col, const char *value, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ingest_value_errorv(c, line, col, value, value ? strlen(value) : 0, fmt, ap);
	va_end(ap);
}

void ingest_row_error(ictx *c, const csvin_row *row, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ingest_value_errorv(c, row->line, col, col >= 0 ? row->val[col] : NULL, col >= 0 ? row->len[col] : 0, fmt, ap);
	va_end(ap);
}

/* csvin's structural row errors land in the same list */
void ingest_on_csv_error(void *ctx, long line, int col, const char *value, size_t vlen, const char *reason)
{
	value_error_text((ictx *)ctx, line, col, value, vlen, reason);
}

int ingest_sql_fail(ictx *c, const char *what)
{
	c->fatal = 1;
	return pd_errf(c->err, "ledger: %s: %s", what, sqlite3_errmsg(c->db));
}

/* ---- field parsing ----------------------------------------------------- */

int ingest_present(const csvin_row *row, int col)
{
	return row->val[col] && row->len[col] > 0;
}

int ingest_valid_distributor_id(const char *s, size_t len)
{
	if (len == 0 || len > 64 || s[0] == '.')
		return 0;
	/* "summary" would make summary.json, which is the period's summary */
	if (len == 7 && memcmp(s, "summary", 7) == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

int ingest_check_text_id(ictx *c, const csvin_row *row, int col, int required)
{
	if (!ingest_present(row, col)) {
		if (required)
			ingest_row_error(c, row, col, "required value is empty");
		return required ? -1 : 0;
	}
	if (row->len[col] > INGEST_MAX_ID) {
		ingest_row_error(c, row, col, "longer than %d bytes", INGEST_MAX_ID);
		return -1;
	}
	for (size_t i = 0; i < row->len[col]; i++)
		if ((unsigned char)row->val[col][i] < 0x20) {
			ingest_row_error(c, row, col, "contains a control character");
			return -1;
		}
	return 0;
}

int ingest_check_dist_id(ictx *c, const csvin_row *row, int col, int required)
{
	if (!ingest_present(row, col)) {
		if (required)
			ingest_row_error(c, row, col, "required value is empty");
		return required ? -1 : 0;
	}
	if (!ingest_valid_distributor_id(row->val[col], row->len[col])) {
		ingest_row_error(c, row, col, "a distributor id is 1 to 64 characters of A-Z a-z 0-9 . _ -, does not start with '.' and is not \"summary\"");
		return -1;
	}
	return 0;
}

int ingest_parse_money_col(ictx *c, const csvin_row *row, int col, int allow_negative, int64_t *out)
{
	const char *why;
	if (money_parse_cents(row->val[col], row->len[col], c->in->fmt.decimal, allow_negative, out, &why) < 0) {
		if (c->in->fmt.decimal == ',')
			ingest_row_error(c, row, col, "%s (expected a decimal like 1234,50 or 1.234,50, at most 2 decimals)", why);
		else
			ingest_row_error(c, row, col, "%s (expected a decimal like 1234.50, at most 2 decimals)", why);
		return -1;
	}
	return 0;
}

int ingest_parse_date_col(ictx *c, const csvin_row *row, int col, int32_t *day)
{
	const char *why;
	if (!ingest_present(row, col)) {
		ingest_row_error(c, row, col, "required value is empty");
		return -1;
	}
	if (date_parse_sale(row->val[col], row->len[col], c->in->date_format, day, &why) < 0) {
		ingest_row_error(c, row, col, "%s (expected a date as %s or an ISO 8601 date-time)", why, c->in->date_format);
		return -1;
	}
	return 0;
}

/* ---- distributors ------------------------------------------------------ */

/* The upsert only overwrites the optional columns this file has, so a file
 * without an `iban` column does not erase stored IBANs. It never writes a
 * placement: place_distributors sets those of new distributors after the
 * last row, and a stored one never changes. */
static int prepare_distributors(ictx *c)
{
	static const struct { int col; const char *name; } opt[] = {
		{DC_SPONSOR_ID, "sponsor_id"}, {DC_COUNTRY, "country"}, {DC_EMAIL, "email"}, {DC_IBAN, "iban"}, {DC_VAT_ID, "vat_id"},
		{DC_VAT_LIABLE, "vat_liable"},
	};
	char sql[2048];
	int n = snprintf(sql, sizeof sql,
		"INSERT INTO distributors(id, sponsor_id, name, join_date, country, email, iban, vat_id,"
		" vat_liable, placement_auto, created_file, updated_file)"
		" VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?12,?12) ON CONFLICT(id) DO UPDATE SET"
		" name = excluded.name, join_date = excluded.join_date,"
		" updated_file = excluded.updated_file");
	for (size_t i = 0; i < sizeof opt / sizeof *opt; i++)
		if (csvin_has_column(c->r, opt[i].col))
			n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s = excluded.%s", opt[i].name, opt[i].name);
	(void)n;
	return ledger_prepare(c->l, sql, &c->upsert_dist, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT terminated FROM distributor_status WHERE distributor_id = ? ORDER BY seq DESC LIMIT 1",
			      &c->get_status, c->err) < 0 ||
	       ledger_prepare(c->l, "INSERT INTO distributor_status(distributor_id, from_period, terminated, file_id) VALUES(?,?,?,?)",
			      &c->ins_status, c->err) < 0 ||
	       ledger_prepare(c->l, "SELECT sponsor_id FROM distributors WHERE id = ?", &c->get_sponsor, c->err) < 0
		? -1 : 0;
}

static void bind_col(sqlite3_stmt *st, int i, const csvin_row *row, int col)
{
	if (ingest_present(row, col))
		sqlite3_bind_text(st, i, row->val[col], (int)row->len[col], SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static size_t dtext_add(ictx *c, const char *s)
{
	size_t len = strlen(s) + 1;
	if (c->dtext_used + len > c->dtext_cap) {
		c->dtext_cap = (c->dtext_used + len) * 2 + 4096;
		c->dtext = xrealloc(c->dtext, c->dtext_cap);
	}
	memcpy(c->dtext + c->dtext_used, s, len);
	c->dtext_used += len;
	return c->dtext_used - len;
}

static int on_distributor_row(void *ctx, const csvin_row *row, pd_err *err)
{
	ictx *c = ctx;
	(void)err;
	if (!c->upsert_dist && prepare_distributors(c) < 0) {
		c->fatal = 1;
		return -1;
	}
	size_t errs_before = ingest_error_count(c);
	int32_t join = 0;
	ingest_check_dist_id(c, row, DC_DISTRIBUTOR_ID, 1);
	ingest_check_dist_id(c, row, DC_SPONSOR_ID, 0);
	if (!ingest_present(row, DC_NAME))
		ingest_row_error(c, row, DC_NAME, "required value is empty");
	ingest_parse_date_col(c, row, DC_JOIN_DATE, &join);
	int vat = 0;
	if (ingest_present(row, DC_VAT_LIABLE)) {
		if (strcmp(row->val[DC_VAT_LIABLE], "yes") == 0)
			vat = 1;
		else if (strcmp(row->val[DC_VAT_LIABLE], "no") != 0)
			ingest_row_error(c, row, DC_VAT_LIABLE, "expected yes or no");
	}
	int status = -1; /* -1: no status column, 0 active, 1 terminated */
	if (row->val[DC_STATUS]) {
		if (row->len[DC_STATUS] == 0 || strcmp(row->val[DC_STATUS], "active") == 0)
			status = 0;
		else if (strcmp(row->val[DC_STATUS], "terminated") == 0)
			status = 1;
		else
			ingest_row_error(c, row, DC_STATUS, "expected active or terminated");
	}
	ingest_check_dist_id(c, row, DC_PLACEMENT_ID, 0);
	if (ingest_present(row, DC_LEG) && strcmp(row->val[DC_LEG], "left") != 0 && strcmp(row->val[DC_LEG], "right") != 0)
		ingest_row_error(c, row, DC_LEG, "expected left or right");
	if (ingest_present(row, DC_PLACEMENT_ID) != ingest_present(row, DC_LEG))
		ingest_row_error(c, row, ingest_present(row, DC_LEG) ? DC_LEG : DC_PLACEMENT_ID,
			  "placement_id and leg are given together or not at all");
	if (ingest_error_count(c) > errs_before)
		return 0;
	const char *id = row->val[DC_DISTRIBUTOR_ID];
	if (ingest_present(row, DC_SPONSOR_ID) && strcmp(row->val[DC_SPONSOR_ID], id) == 0) {
		ingest_row_error(c, row, DC_SPONSOR_ID, "a distributor cannot sponsor itself");
		return 0;
	}
	if (ingest_present(row, DC_PLACEMENT_ID) && strcmp(row->val[DC_PLACEMENT_ID], id) == 0) {
		ingest_row_error(c, row, DC_PLACEMENT_ID, "a distributor cannot be placed under itself");
		return 0;
	}
	sqlite3_stmt *st = c->upsert_dist;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, (int)row->len[DC_DISTRIBUTOR_ID], SQLITE_STATIC);
	bind_col(st, 2, row, DC_SPONSOR_ID);
	sqlite3_bind_text(st, 3, row->val[DC_NAME], (int)row->len[DC_NAME], SQLITE_STATIC);
	sqlite3_bind_int(st, 4, join);
	bind_col(st, 5, row, DC_COUNTRY);
	bind_col(st, 6, row, DC_EMAIL);
	bind_col(st, 7, row, DC_IBAN);
	bind_col(st, 8, row, DC_VAT_ID);
	sqlite3_bind_int(st, 9, vat);
	sqlite3_bind_int64(st, 12, c->file_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return ingest_sql_fail(c, "booking a distributor");
	c->res->st.distributors++;

	if (status >= 0) {
		/* termination takes effect from the earliest open period (SPEC 11.8);
		 * before the first close that is the very beginning */
		sqlite3_reset(c->get_status);
		sqlite3_bind_text(c->get_status, 1, id, -1, SQLITE_STATIC);
		int rc = sqlite3_step(c->get_status);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return ingest_sql_fail(c, "reading a distributor's status");
		int current = rc == SQLITE_ROW ? sqlite3_column_int(c->get_status, 0) : 0;
		if (current != status) {
			sqlite3_reset(c->ins_status);
			sqlite3_bind_text(c->ins_status, 1, id, -1, SQLITE_STATIC);
			sqlite3_bind_int(c->ins_status, 2, c->eo);
			sqlite3_bind_int(c->ins_status, 3, status);
			sqlite3_bind_int64(c->ins_status, 4, c->file_id);
			if (sqlite3_step(c->ins_status) != SQLITE_DONE)
				return ingest_sql_fail(c, "recording a termination");
		}
	}
	if (c->n_drows == c->cap_drows) {
		c->cap_drows = c->cap_drows ? c->cap_drows * 2 : 256;
		c->drows = xrealloc(c->drows, c->cap_drows * sizeof *c->drows);
	}
	drow *d = &c->drows[c->n_drows++];
	d->line = row->line;
	d->id = dtext_add(c, id);
	d->sponsor = ingest_present(row, DC_SPONSOR_ID) ? dtext_add(c, row->val[DC_SPONSOR_ID]) : NO_TEXT;
	d->placement = ingest_present(row, DC_PLACEMENT_ID) ? dtext_add(c, row->val[DC_PLACEMENT_ID]) : NO_TEXT;
	d->leg = d->placement == NO_TEXT ? -1 : strcmp(row->val[DC_LEG], "left") == 0 ? PL_LEFT : PL_RIGHT;
	return 0;
}

static const char *dtext(const ictx *c, size_t off)
{
	return off == NO_TEXT ? NULL : c->dtext + off;
}

/* Sponsor of id as now booked: 1 with *out (malloc'ed, NULL for a root), 0 unknown id, -1 error. */
static int sponsor_of(ictx *c, const char *id, char **out)
{
	sqlite3_reset(c->get_sponsor);
	sqlite3_bind_text(c->get_sponsor, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(c->get_sponsor);
	*out = NULL;
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return ingest_sql_fail(c, "reading a sponsor");
	if (sqlite3_column_type(c->get_sponsor, 0) != SQLITE_NULL)
		*out = xstrdup((const char *)sqlite3_column_text(c->get_sponsor, 0));
	return 1;
}

/*
 * After the last row: every sponsor and placement must exist, and the
 * sponsor tree must stay a tree. Each walk goes up from a row of this file
 * and stops at a root or at a distributor already proven to reach a root,
 * so the whole check is linear in the distributors visited.
 */
static int attribute_waiting(ictx *c);
static int place_distributors(ictx *c);

static int finish_distributors(ictx *c)
{
	for (size_t i = 0; i < c->n_drows; i++) {
		drow *d = &c->drows[i];
		const char *refs[2] = {dtext(c, d->sponsor), dtext(c, d->placement)};
		const int cols[2] = {DC_SPONSOR_ID, DC_PLACEMENT_ID};
		for (int k = 0; k < 2; k++) {
			if (!refs[k])
				continue;
			char *tmp;
			int rc = sponsor_of(c, refs[k], &tmp);
			free(tmp);
			if (rc < 0)
				return -1;
			if (rc == 0)
				ingest_value_error(c, d->line, cols[k], refs[k],
						   "not a known distributor (neither in the ledger nor in this file)");
		}
	}
	/* value: the number of the walk that first reached the id; reaching one
	 * of this walk's own ids again is a cycle, an earlier walk's ids are known
	 * to end at a root (or at a cycle already reported) */
	idset *seen = idset_new();
	int64_t *walk_of = NULL; /* per member of seen */
	size_t cap_walk = 0;
	char **path = NULL;
	size_t npath = 0, cappath = 0;
	int rc = 0;
	for (size_t i = 0; i < c->n_drows && rc == 0; i++) {
		int64_t walk = (int64_t)i + 1;
		char *cur = xstrdup(dtext(c, c->drows[i].id));
		npath = 0;
		while (cur) {
			int created;
			size_t m = idset_put(seen, cur, strlen(cur), &created);
			if (m == SIZE_MAX) { /* an id over 64 KiB cannot be booked: ids are <= 64 bytes */
				free(cur);
				break;
			}
			if (m >= cap_walk) {
				cap_walk = cap_walk ? cap_walk * 2 : 1024;
				walk_of = xrealloc(walk_of, cap_walk * sizeof *walk_of);
			}
			int64_t *s = &walk_of[m];
			if (!created && *s != walk) {
				free(cur);
				break;
			}
			if (!created) {
				/* back on this walk: a cycle from cur around to cur */
				char msg[600];
				size_t o = 0, start = 0;
				while (start < npath && strcmp(path[start], cur) != 0)
					start++;
				for (size_t k = start; k < npath && o < 500; k++)
					o += (size_t)snprintf(msg + o, sizeof msg - o, "%s -> ", path[k]);
				snprintf(msg + o, sizeof msg - o, "%s", cur);
				ingest_value_error(c, c->drows[i].line, DC_SPONSOR_ID, dtext(c, c->drows[i].sponsor),
						   "sponsor cycle: %s", msg);
				free(cur);
				break;
			}
			*s = walk;
			if (npath == cappath) {
				cappath = cappath ? cappath * 2 : 64;
				path = xrealloc(path, cappath * sizeof *path);
			}
			path[npath++] = cur;
			char *next;
			if (sponsor_of(c, cur, &next) < 0) {
				rc = -1;
				break;
			}
			cur = next;
		}
		for (size_t k = 0; k < npath; k++)
			free(path[k]);
	}
	free(path);
	free(walk_of);
	idset_free(seen);
	if (rc < 0 || place_distributors(c) < 0)
		return -1;
	if (ingest_error_count(c) > 0)
		return 0;
	return attribute_waiting(c);
}

/* ---- placement (SPEC 6.8, 11.24; docs/placement.md) ---------------------- */

/* What place_distributors knows of a node, by node number. */
typedef struct pinfo {
	long line;            /* first row of this id in the file (0: not a row of this file) */
	long given_line;      /* the row whose placement this file gives it (new ids) */
	int32_t stored_parent; /* known ids: their stored placement (PL_NONE: a root) */
	int32_t sponsor;      /* new ids: the sponsor as booked, or PL_NONE */
	int8_t known;         /* booked before this file */
	int8_t stored_leg, stored_auto;
} pinfo;

typedef struct pctx {
	ictx *c;
	placement *pl;
	pinfo *info;
	size_t ninfo;
	sqlite3_stmt *children;
	int failed;
} pctx;

static const char *const leg_names[2] = {"left", "right"};

static pinfo *pinfo_of(pctx *p, int32_t node)
{
	if ((size_t)node >= p->ninfo) {
		size_t n = p->ninfo ? p->ninfo : 1024;
		while (n <= (size_t)node)
			n *= 2;
		p->info = xrealloc(p->info, n * sizeof *p->info);
		for (size_t i = p->ninfo; i < n; i++)
			p->info[i] = (pinfo){.stored_parent = PL_NONE, .sponsor = PL_NONE};
		p->ninfo = n;
	}
	return &p->info[node];
}

/* The children the ledger holds under a node: one query on the (placement_id, leg) index. */
static int load_children(void *ctx, placement *pl, int32_t node, const char *id)
{
	pctx *p = ctx;
	sqlite3_stmt *st = p->children;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *child = (const char *)sqlite3_column_text(st, 0);
		const char *leg = (const char *)sqlite3_column_text(st, 1);
		int32_t k = placement_node(pl, child, (size_t)sqlite3_column_bytes(st, 0));
		if (k == PL_NONE || !leg)
			return ingest_sql_fail(p->c, "reading the placement tree");
		placement_set_stored(pl, k);
		placement_attach(pl, node, strcmp(leg, "right") == 0 ? PL_RIGHT : PL_LEFT, k);
	}
	if (rc != SQLITE_DONE)
		return ingest_sql_fail(p->c, "reading the placement tree");
	return 0;
}

/* A cycle of given placements: reported on the row, of those that make it,
 * that comes last in the file (the one that closed it). */
static void on_placement_cycle(void *ctx, placement *pl, const int32_t *m, size_t n)
{
	pctx *p = ctx;
	size_t last = 0;
	for (size_t i = 1; i < n; i++)
		if (pinfo_of(p, m[i])->given_line > pinfo_of(p, m[last])->given_line)
			last = i;
	char msg[600];
	size_t o = 0;
	for (size_t k = 0; k <= n && o < 500; k++)
		o += (size_t)snprintf(msg + o, sizeof msg - o, "%s%s", k ? " -> " : "", placement_name(pl, m[(last + k) % n]));
	ingest_value_error(p->c, pinfo_of(p, m[last])->given_line, DC_PLACEMENT_ID,
			   placement_name(pl, m[(last + 1) % n]),
			   "placement cycle: %s (each placed under the next)", msg);
}

static void on_auto_cycle(void *ctx, placement *pl, int32_t node, int32_t sponsor)
{
	pctx *p = ctx;
	ingest_value_error(p->c, pinfo_of(p, node)->line, DC_SPONSOR_ID, placement_name(pl, sponsor),
			   "placement cycle: %s has no placement, so it goes below its sponsor %s,"
			   " which this file places below %s", placement_name(pl, node), placement_name(pl, sponsor),
			   placement_name(pl, node));
}

/* 1 when id is a distributor of the ledger or of this file (after the whole file). */
static int exists(pctx *p, const char *id)
{
	int32_t k = placement_find(p->pl, id, strlen(id));
	if (k != PL_NONE && pinfo_of(p, k)->line)
		return 1;
	char *tmp;
	int rc = sponsor_of(p->c, id, &tmp);
	free(tmp);
	return rc;
}

/* Pass 1: a node and what the ledger says for every id of the file. */
static int place_read(pctx *p, sqlite3_stmt *get)
{
	ictx *c = p->c;
	for (size_t i = 0; i < c->n_drows; i++) {
		const drow *d = &c->drows[i];
		const char *id = dtext(c, d->id);
		int32_t x = placement_node(p->pl, id, strlen(id));
		if (x == PL_NONE)
			return ingest_sql_fail(c, "out of memory placing distributors");
		if (pinfo_of(p, x)->line)
			continue;
		pinfo_of(p, x)->line = d->line;
		sqlite3_reset(get);
		sqlite3_bind_text(get, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(get) != SQLITE_ROW)
			return ingest_sql_fail(c, "reading a distributor's placement");
		int known = sqlite3_column_int64(get, 0) != c->file_id;
		int32_t sp = PL_NONE, parent = PL_NONE;
		if (sqlite3_column_type(get, 4) != SQLITE_NULL)
			sp = placement_node(p->pl, (const char *)sqlite3_column_text(get, 4), (size_t)sqlite3_column_bytes(get, 4));
		if (known && sqlite3_column_type(get, 1) != SQLITE_NULL)
			parent = placement_node(p->pl, (const char *)sqlite3_column_text(get, 1), (size_t)sqlite3_column_bytes(get, 1));
		const char *leg = (const char *)sqlite3_column_text(get, 2);
		pinfo *f = pinfo_of(p, x);
		f->known = (int8_t)known;
		f->sponsor = sp;
		f->stored_parent = parent;
		f->stored_leg = (int8_t)(leg && strcmp(leg, "right") == 0 ? PL_RIGHT : PL_LEFT);
		f->stored_auto = (int8_t)(sqlite3_column_int(get, 3) != 0);
	}
	/* whatever is not a new id of this file is in the ledger: its children there count */
	for (size_t k = 0; k < placement_count(p->pl); k++) {
		const pinfo *f = pinfo_of(p, (int32_t)k);
		if (!f->line || f->known)
			placement_set_stored(p->pl, (int32_t)k);
	}
	return 0;
}

/* Pass 2: the placements the file gives, in row order. */
static int place_given(pctx *p)
{
	ictx *c = p->c;
	placement *pl = p->pl;
	for (size_t i = 0; i < c->n_drows; i++) {
		const drow *d = &c->drows[i];
		const char *pid = dtext(c, d->placement);
		if (!pid)
			continue;
		int e = exists(p, pid);
		if (e < 0)
			return -1;
		if (e == 0)
			continue; /* reported: not a known distributor */
		const char *id = dtext(c, d->id);
		int32_t x = placement_find(pl, id, strlen(id));
		int32_t want = placement_node(pl, pid, strlen(pid));
		if (want == PL_NONE)
			return ingest_sql_fail(c, "out of memory placing distributors");
		if (!pinfo_of(p, want)->line)
			placement_set_stored(pl, want); /* a distributor of the ledger only */
		pinfo *f = pinfo_of(p, x);
		if (f->known) {
			if (f->stored_parent == PL_NONE)
				ingest_value_error(c, d->line, DC_PLACEMENT_ID, pid,
						   "%s has no placement (it started its own placement tree); a placement never changes",
						   id);
			else if (f->stored_parent != want || f->stored_leg != d->leg)
				ingest_value_error(c, d->line, DC_PLACEMENT_ID, pid,
						   "%s is placed %s under %s (%s); a placement never changes", id,
						   leg_names[f->stored_leg], placement_name(pl, f->stored_parent),
						   f->stored_auto ? "automatically" : "as given");
			continue;
		}
		if (f->given_line) {
			int leg = PL_LEFT;
			int32_t had = placement_parent(pl, x, &leg);
			if (had != want || leg != d->leg)
				ingest_value_error(c, d->line, DC_PLACEMENT_ID, pid,
						   "line %ld places %s %s under %s; a placement never changes",
						   f->given_line, id, leg_names[leg], placement_name(pl, had));
			continue;
		}
		int32_t holder;
		if (placement_slot(pl, want, d->leg, &holder) < 0)
			return -1;
		if (holder != PL_NONE) {
			const pinfo *h = pinfo_of(p, holder);
			if (h->given_line)
				ingest_value_error(c, d->line, DC_PLACEMENT_ID, pid,
						   "the %s slot under %s is already taken by %s on line %ld",
						   leg_names[d->leg], pid, placement_name(pl, holder), h->given_line);
			else
				ingest_value_error(c, d->line, DC_PLACEMENT_ID, pid,
						   "the %s slot under %s is already taken by %s in the ledger",
						   leg_names[d->leg], pid, placement_name(pl, holder));
			continue;
		}
		placement_attach(pl, want, d->leg, x);
		pinfo_of(p, x)->given_line = d->line;
	}
	placement_cycles(pl, on_placement_cycle, p);
	return 0;
}

/* Pass 4: the placements of new distributors into the ledger. */
static int place_write(pctx *p)
{
	sqlite3_stmt *st;
	if (ledger_prepare(p->c->l, "UPDATE distributors SET placement_id = ?, leg = ?, placement_auto = ? WHERE id = ?",
			   &st, p->c->err) < 0) {
		p->c->fatal = 1;
		return -1;
	}
	int rc = 0;
	for (size_t k = 0; k < placement_count(p->pl) && rc == 0; k++) {
		const pinfo *f = pinfo_of(p, (int32_t)k);
		int leg = PL_LEFT;
		int32_t parent = placement_parent(p->pl, (int32_t)k, &leg);
		if (!f->line || f->known || parent == PL_NONE)
			continue; /* not new here, or a root: nothing to write */
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, placement_name(p->pl, parent), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, leg_names[leg], -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, f->given_line ? 0 : 1);
		sqlite3_bind_text(st, 4, placement_name(p->pl, (int32_t)k), -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = ingest_sql_fail(p->c, "storing a placement");
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * After the last row: the placement of every distributor of the file.
 * Given placements are checked (slot free, no change, no cycle) and claim
 * their slots in row order; then, when the file has no error at all, every
 * new distributor without one is placed automatically (placement.h) and
 * the results are stored. Only the nodes the file touches and what the
 * searches pass over are read from the ledger, by indexed queries.
 */
static int place_distributors(ictx *c)
{
	pctx p = {.c = c};
	sqlite3_stmt *get = NULL;
	int rc = -1;
	if (ledger_prepare(c->l, "SELECT id, leg FROM distributors WHERE placement_id = ?", &p.children, c->err) < 0 ||
	    ledger_prepare(c->l, "SELECT created_file, placement_id, leg, placement_auto, sponsor_id FROM distributors"
				 " WHERE id = ?", &get, c->err) < 0) {
		c->fatal = 1;
		goto out;
	}
	p.pl = placement_new(load_children, &p);
	if (place_read(&p, get) < 0 || place_given(&p) < 0)
		goto out;
	if (ingest_error_count(c) == 0) {
		for (size_t i = 0; i < c->n_drows; i++) {
			const char *id = dtext(c, c->drows[i].id);
			int32_t x = placement_find(p.pl, id, strlen(id));
			const pinfo *f = pinfo_of(&p, x);
			if (f->line == c->drows[i].line && !f->known && !f->given_line)
				placement_want(p.pl, x, f->sponsor);
		}
		if (placement_run(p.pl, on_auto_cycle, &p) < 0)
			goto out;
	}
	rc = ingest_error_count(c) == 0 ? place_write(&p) : 0;
out:
	if (get)
		sqlite3_finalize(get);
	if (p.children)
		sqlite3_finalize(p.children);
	placement_free(p.pl);
	free(p.info);
	return rc;
}

/*
 * Sales that waited for these distributors are attributed now; one whose
 * period has closed meanwhile is booked late into the earliest open one (a
 * refund then becomes a clawback). Done row by row in C so that the period
 * statistics follow exactly (there are few such sales).
 */
static int attribute_waiting(ictx *c)
{
	sqlite3_stmt *any, *sel = NULL, *upd = NULL, *orig = NULL;
	if (ledger_prepare(c->l, "SELECT EXISTS(SELECT 1 FROM sales WHERE flags & 1 = 0)", &any, c->err) < 0)
		return -1;
	int waiting = sqlite3_step(any) == SQLITE_ROW && sqlite3_column_int(any, 0);
	sqlite3_finalize(any);
	if (!waiting)
		return 0;
	int rc = -1;
	/* originals before their refunds: a refund follows where its original went */
	if (ledger_prepare(c->l, "SELECT sale_id, booked_period, amount, flags, refund_of, pv, cv FROM sales"
				 " WHERE distributor_id = ? AND flags & 1 = 0 ORDER BY refund_of IS NOT NULL, sale_id",
				 &sel, c->err) < 0 ||
	    ledger_prepare(c->l, "UPDATE sales SET booked_period = ?, flags = ? WHERE sale_id = ?", &upd, c->err) < 0 ||
	    ledger_prepare(c->l, "SELECT booked_period, flags FROM sales WHERE sale_id = ?", &orig, c->err) < 0)
		goto out;
	for (size_t i = 0; i < c->n_drows; i++) {
		sqlite3_reset(sel);
		sqlite3_bind_text(sel, 1, dtext(c, c->drows[i].id), -1, SQLITE_STATIC);
		int step;
		while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
			int32_t booked = sqlite3_column_int(sel, 1);
			int64_t amount = sqlite3_column_int64(sel, 2);
			int flags = sqlite3_column_int(sel, 3);
			int refund = sqlite3_column_type(sel, 4) != SQLITE_NULL;
			int64_t pv = sqlite3_column_int64(sel, 5), cv = sqlite3_column_int64(sel, 6);
			const char *dist = dtext(c, c->drows[i].id);
			long line = c->drows[i].line;
			if (ingest_count_sale(c, line, DC_DISTRIBUTOR_ID, booked, -1, dist, amount, pv, cv, flags) < 0) {
				/* an overflow is this row's error (the file is rejected), not a ledger failure */
				rc = c->fatal ? -1 : 0;
				goto out;
			}
			int nflags = flags | SALE_ATTRIBUTED;
			int32_t nbooked = booked;
			if (refund) {
				/* SPEC 11.11: with its original's booked period while that is open
				 * (the original may have just moved there), else a clawback */
				sqlite3_reset(orig);
				sqlite3_bind_text(orig, 1, (const char *)sqlite3_column_text(sel, 4), -1, SQLITE_TRANSIENT);
				if (sqlite3_step(orig) == SQLITE_ROW)
					nbooked = sqlite3_column_int(orig, 0);
				if (c->eo != LEDGER_NO_CLOSE && nbooked < c->eo) {
					nbooked = c->eo;
					nflags |= SALE_CLAWBACK;
				}
			} else if (c->eo != LEDGER_NO_CLOSE && booked < c->eo) {
				nbooked = c->eo;
				nflags |= SALE_LATE;
			}
			if (ingest_count_sale(c, line, DC_DISTRIBUTOR_ID, nbooked, +1, dist, amount, pv, cv, nflags) < 0) {
				/* an overflow is this row's error (the file is rejected), not a ledger failure */
				rc = c->fatal ? -1 : 0;
				goto out;
			}
			sqlite3_reset(upd);
			sqlite3_bind_int(upd, 1, nbooked);
			sqlite3_bind_int(upd, 2, nflags);
			sqlite3_bind_text(upd, 3, (const char *)sqlite3_column_text(sel, 0), -1, SQLITE_TRANSIENT);
			if (sqlite3_step(upd) != SQLITE_DONE) {
				ingest_sql_fail(c, "attributing waiting sales");
				goto out;
			}
			c->res->st.attributed++;
		}
		if (step != SQLITE_DONE) {
			ingest_sql_fail(c, "reading waiting sales");
			goto out;
		}
	}
	rc = 0;
out:
	if (sel)
		sqlite3_finalize(sel);
	if (upd)
		sqlite3_finalize(upd);
	if (orig)
		sqlite3_finalize(orig);
	return rc;
}

/* ---- period statistics --------------------------------------------------- */

/* The delta of one volume key (period big-endian, then the id), made when new. */
static volume_delta *volume_slot(ictx *c, const char *key, size_t klen)
{
	if (!c->vindex)
		c->vindex = idset_new();
	int created = 0;
	size_t k = idset_put(c->vindex, key, klen, &created);
	if (k == SIZE_MAX)
		return NULL;
	if (created) {
		if (c->n_vols == c->cap_vols) {
			c->cap_vols = c->cap_vols ? c->cap_vols * 2 : 1024;
			c->vols = xrealloc(c->vols, c->cap_vols * sizeof *c->vols);
		}
		if (c->vkeys_used + klen > UINT32_MAX)
			return NULL;
		if (c->vkeys_used + klen > c->vkeys_cap) {
			c->vkeys_cap = c->vkeys_cap ? c->vkeys_cap * 2 : 65536;
			if (c->vkeys_cap < c->vkeys_used + klen)
				c->vkeys_cap = c->vkeys_used + klen;
			c->vkeys = xrealloc(c->vkeys, c->vkeys_cap);
		}
		volume_delta *v = &c->vols[c->n_vols++];
		memset(v, 0, sizeof *v);
		v->key = (uint32_t)c->vkeys_used;
		v->key_len = (uint16_t)klen;
		memcpy(c->vkeys + c->vkeys_used, key, klen);
		c->vkeys_used += klen;
	}
	return &c->vols[k];
}

int ingest_count_volume(ictx *c, long line, int col, int32_t period, int sign, const char *dist, size_t dlen,
			int64_t amount, int64_t pv, int64_t cv)
{
	size_t idlen = dlen;
	char key[4 + INGEST_MAX_ID];
	if (idlen > INGEST_MAX_ID) {
		ingest_value_error(c, line, col, NULL, "distributor id longer than %d bytes", INGEST_MAX_ID);
		return -1;
	}
	uint32_t up = (uint32_t)period;
	key[0] = (char)(up >> 24);
	key[1] = (char)(up >> 16);
	key[2] = (char)(up >> 8);
	key[3] = (char)up;
	memcpy(key + 4, dist, idlen);
	volume_delta *v = volume_slot(c, key, 4 + idlen);
	if (!v)
		return ingest_sql_fail(c, "out of memory counting volumes");
	if (money_add(v->pv, sign * pv, &v->pv) < 0 || money_add(v->cv, sign * cv, &v->cv) < 0 ||
	    money_add(v->amount, sign * amount, &v->amount) < 0) {
		ingest_value_error_len(c, line, col, dist, dlen, "the volume of this distributor in the period would overflow");
		return -1;
	}
	return 0;
}

int ingest_merge_volumes(ictx *into, ictx *from)
{
	int rc = 0;
	for (size_t i = 0; i < from->n_vols && rc == 0; i++) {
		const volume_delta *f = &from->vols[i];
		volume_delta *v = volume_slot(into, from->vkeys + f->key, f->key_len);
		if (!v)
			rc = ingest_sql_fail(into, "out of memory counting volumes");
		else if (money_add(v->pv, f->pv, &v->pv) < 0 || money_add(v->cv, f->cv, &v->cv) < 0 ||
			 money_add(v->amount, f->amount, &v->amount) < 0)
			rc = pd_errf(into->err, "a distributor's volume in a period would overflow");
	}
	ingest_free_volumes(from);
	return rc;
}

void ingest_take_volumes(ictx *into, ictx *from)
{
	ingest_free_volumes(into);
	into->vindex = from->vindex;
	into->vols = from->vols;
	into->n_vols = from->n_vols;
	into->cap_vols = from->cap_vols;
	into->vkeys = from->vkeys;
	into->vkeys_used = from->vkeys_used;
	into->vkeys_cap = from->vkeys_cap;
	from->vindex = NULL;
	from->vols = NULL;
	from->vkeys = NULL;
	from->n_vols = from->cap_vols = from->vkeys_used = from->vkeys_cap = 0;
}

void ingest_free_volumes(ictx *c)
{
	idset_free(c->vindex);
	free(c->vols);
	free(c->vkeys);
	c->vindex = NULL;
	c->vols = NULL;
	c->vkeys = NULL;
	c->n_vols = c->cap_vols = c->vkeys_used = c->vkeys_cap = 0;
}

int ingest_count_sale(ictx *c, long line, int col, int32_t period, int sign, const char *dist, int64_t amount,
		      int64_t pv, int64_t cv, int flags)
{
	if (ingest_count_stats(c, line, col, dist, period, sign, amount, flags) < 0)
		return -1;
	/* volumes count attributed sales and same-period refunds, not clawbacks (SPEC 6.2, 11.3) */
	if ((flags & SALE_ATTRIBUTED) && !(flags & SALE_CLAWBACK))
		return ingest_count_volume(c, line, col, period, sign, dist, strlen(dist), amount, pv, cv);
	return 0;
}

int ingest_count_stats(ictx *c, long line, int col, const char *value, int32_t period, int sign, int64_t amount,
		       int flags)
{
	period_delta *d = NULL;
	for (size_t i = 0; i < c->n_deltas && !d; i++)
		if (c->deltas[i].period == period)
			d = &c->deltas[i];
	if (!d) {
		if (c->n_deltas == c->cap_deltas) {
			c->cap_deltas = c->cap_deltas ? c->cap_deltas * 2 : 8;
			c->deltas = xrealloc(c->deltas, c->cap_deltas * sizeof *c->deltas);
		}
		d = &c->deltas[c->n_deltas++];
		memset(d, 0, sizeof *d);
		d->period = period;
	}
	d->sales += sign;
	/* net sales count attributed sales and same-period refunds, not clawbacks (SPEC 11.3) */
	if ((flags & SALE_ATTRIBUTED) && !(flags & SALE_CLAWBACK) && money_add(d->net, sign * amount, &d->net) < 0) {
		ingest_value_error(c, line, col, value, "the net sales of the period would overflow");
		return -1;
	}
	d->late += sign * ((flags & SALE_LATE) != 0);
	d->clawbacks += sign * ((flags & SALE_CLAWBACK) != 0);
	d->unattributed += sign * !(flags & SALE_ATTRIBUTED);
	return 0;
}

static const char *vol_keys; /* for cmp_vol: qsort has no context argument */

static int cmp_vol(const void *a, const void *b)
{
	const volume_delta *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(vol_keys + x->key, vol_keys + y->key, n);
	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Adds the file's volume deltas in key order: every upsert lands next to the
 * last one, so a file touching a million distributors stays sequential. */
static int flush_volumes(ictx *c)
{
	if (!c->n_vols)
		return 0;
	vol_keys = c->vkeys;
	qsort(c->vols, c->n_vols, sizeof *c->vols, cmp_vol);
	vol_keys = NULL;
	sqlite3_stmt *st;
	if (ledger_prepare(c->l,
		"INSERT INTO volumes(period, distributor_id, pv, cv, amount) VALUES(?1, ?2, ?3, ?4, ?5)"
		" ON CONFLICT(period, distributor_id) DO UPDATE SET pv = pv + ?3, cv = cv + ?4, amount = amount + ?5",
		&st, c->err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_vols; i++) {
		const volume_delta *v = &c->vols[i];
		const unsigned char *k = (const unsigned char *)c->vkeys + v->key;
		int32_t period = (int32_t)((uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3]);
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, period);
		sqlite3_bind_text(st, 2, (const char *)k + 4, v->key_len - 4, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, v->pv);
		sqlite3_bind_int64(st, 4, v->cv);
		sqlite3_bind_int64(st, 5, v->amount);
		if (sqlite3_step(st) != SQLITE_DONE) {
			/* SQLite reports "integer overflow" when a stored total would wrap */
			sqlite3_finalize(st);
			return ingest_sql_fail(c, "updating the volumes");
		}
	}
	sqlite3_finalize(st);
	return 0;
}

static int flush_stats(ictx *c)
{
	if (!c->n_deltas)
		return 0;
	sqlite3_stmt *st;
	if (ledger_prepare(c->l,
		"INSERT INTO period_stats(period, sales, net_amount, late, clawbacks, unattributed)"
		" VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(period) DO UPDATE SET sales = sales + ?2,"
		" net_amount = net_amount + ?3, late = late + ?4, clawbacks = clawbacks + ?5,"
		" unattributed = unattributed + ?6", &st, c->err) < 0)
		return -1;
	for (size_t i = 0; i < c->n_deltas; i++) {
		const period_delta *d = &c->deltas[i];
		sqlite3_reset(st);
		sqlite3_bind_int(st, 1, d->period);
		sqlite3_bind_int64(st, 2, d->sales);
		sqlite3_bind_int64(st, 3, d->net);
		sqlite3_bind_int64(st, 4, d->late);
		sqlite3_bind_int64(st, 5, d->clawbacks);
		sqlite3_bind_int64(st, 6, d->unattributed);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_finalize(st);
			return ingest_sql_fail(c, "updating period statistics");
		}
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- products ---------------------------------------------------------- */

static int on_product_row(void *ctx, const csvin_row *row, pd_err *err)
{
	ictx *c = ctx;
	(void)err;
	size_t before = ingest_error_count(c);
	int64_t pv = 0, cv = 0;
	ingest_check_text_id(c, row, PC_SKU, 1);
	if (!ingest_present(row, PC_NAME))
		ingest_row_error(c, row, PC_NAME, "required value is empty");
	if (!ingest_present(row, PC_PV))
		ingest_row_error(c, row, PC_PV, "required value is empty");
	else
		ingest_parse_money_col(c, row, PC_PV, 0, &pv);
	if (!ingest_present(row, PC_CV))
		ingest_row_error(c, row, PC_CV, "required value is empty");
	else
		ingest_parse_money_col(c, row, PC_CV, 0, &cv);
	if (ingest_error_count(c) > before)
		return 0;
	sqlite3_stmt *st = c->upsert_product;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, row->val[PC_SKU], (int)row->len[PC_SKU], SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->val[PC_NAME], (int)row->len[PC_NAME], SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, pv);
	sqlite3_bind_int64(st, 4, cv);
	bind_col(st, 5, row, PC_CATEGORY);
	sqlite3_bind_int64(st, 6, c->file_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return ingest_sql_fail(c, "booking a product");
	c->res->st.products++;
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

static void finalize_all(ictx *c)
{
	sqlite3_stmt *sts[] = {c->upsert_dist, c->get_status, c->ins_status, c->get_sponsor, c->upsert_product};
	for (size_t i = 0; i < sizeof sts / sizeof *sts; i++)
		if (sts[i])
			sqlite3_finalize(sts[i]);
	free(c->drows);
	free(c->dtext);
	free(c->deltas);
	ingest_free_volumes(c);
}

/* 1 when a file with this SHA-256 is booked; fills who/when for the message */
static int find_duplicate(ictx *c, char *who, size_t cap)
{
	sqlite3_stmt *st;
	if (ledger_prepare(c->l, "SELECT name, booked_at FROM files WHERE sha256 = ?", &st, c->err) < 0)
		return -1;
	sqlite3_bind_text(st, 1, c->res->sha256, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), found = 0;
	if (rc == SQLITE_ROW) {
		snprintf(who, cap, "duplicate of %s booked at %s", (const char *)sqlite3_column_text(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		found = 1;
	} else if (rc != SQLITE_DONE) {
		found = ingest_sql_fail(c, "looking for a duplicate file");
	}
	sqlite3_finalize(st);
	return found;
}

static int record_file(ictx *c, const char *claim, const char *archive_dir)
{
	sqlite3_stmt *st;
	char now[32];
	audit_now(now);
	if (ledger_prepare(c->l,
		"INSERT INTO files(id, name, claim, kind, size, sha256, booked_at, archive_dir, rows, sales,"
		" distributors, products, late, unattributed, duplicates, refunds, clawbacks, attributed)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st, c->err) < 0)
		return -1;
	const ingest_stats *s = &c->res->st;
	sqlite3_bind_int64(st, 1, c->file_id);
	sqlite3_bind_text(st, 2, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, claim, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, csvin_kind_name(c->in->fmt.kind), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)c->res->size);
	sqlite3_bind_text(st, 6, c->res->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, archive_dir, -1, SQLITE_STATIC);
	long v[] = {s->rows, s->sales, s->distributors, s->products, s->late, s->unattributed,
		    s->duplicates, s->refunds, s->clawbacks, s->attributed};
	for (int i = 0; i < 10; i++)
		sqlite3_bind_int64(st, 9 + i, v[i]);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ingest_sql_fail(c, "recording the file");

	json_t *m = json_object();
	json_object_set_new(m, "name", json_string(c->name));
	json_object_set_new(m, "kind", json_string(csvin_kind_name(c->in->fmt.kind)));
	json_object_set_new(m, "sha256", json_string(c->res->sha256));
	json_object_set_new(m, "size", json_integer((json_int_t)c->res->size));
	json_object_set_new(m, "rows", json_integer(s->rows));
	json_object_set_new(m, "sales", json_integer(s->sales));
	json_object_set_new(m, "distributors", json_integer(s->distributors));
	json_object_set_new(m, "products", json_integer(s->products));
	json_object_set_new(m, "late", json_integer(s->late));
	json_object_set_new(m, "unattributed", json_integer(s->unattributed));
	json_object_set_new(m, "duplicates", json_integer(s->duplicates));
	json_object_set_new(m, "refunds", json_integer(s->refunds));
	json_object_set_new(m, "clawbacks", json_integer(s->clawbacks));
	json_object_set_new(m, "attributed", json_integer(s->attributed));
	rc = ledger_audit_add(c->l, "file_booked", m, c->err);
	json_decref(m);
	if (rc < 0)
		c->fatal = 1;
	return rc;
}

/* Moves the errors into res->errors in line order (each list already is). */
static void merge_errors(ingest_result *res, errlist *lists, size_t nlists)
{
	size_t pos[2] = {0, 0};
	for (;;) {
		size_t best = nlists;
		for (size_t i = 0; i < nlists; i++)
			if (pos[i] < lists[i].n && (best == nlists || lists[i].line[pos[i]] < lists[best].line[pos[best]]))
				best = i;
		if (best == nlists)
			break;
		pd_diag_add(&res->errors, "%s", lists[best].msg[pos[best]++]);
	}
	for (size_t i = 0; i < nlists; i++) {
		res->errors.dropped += lists[i].dropped;
		errlist_free(&lists[i]);
	}
}

int ingest_file(ledger *l, const plan *p, const config_input *in, int fd, const char *name,
		const char *claim, const char *archive_dir, ingest_result *res, pd_err *err)
{
	memset(res, 0, sizeof *res);
	/* lists[0]: this thread's errors; lists[1]: the sales reader thread's */
	errlist lists[2];
	memset(lists, 0, sizeof lists);
	ictx cx = {.l = l, .db = ledger_db(l), .p = p, .in = in, .name = name, .res = res,
		   .errs = &lists[0], .err = err};
	ictx *c = &cx;
	if (ledger_begin(l, err) < 0)
		return INGEST_FAILED;
	int rc = INGEST_FAILED, read_rc = 0;
	sqlite3_stmt *st;
	if (ledger_earliest_open(l, &c->eo, err) < 0)
		goto out;
	if (ledger_prepare(l, "SELECT coalesce(max(id), 0) + 1 FROM files", &st, err) < 0)
		goto out;
	sqlite3_step(st);
	c->file_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	struct stat sb;
	c->file_size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	c->r = csvin_new(name, fd, &in->fmt);
	switch (in->fmt.kind) {
	case KIND_SALES:
		c->sales = &lists[1];
		read_rc = ingest_sales(c, err);
		break;
	case KIND_DISTRIBUTORS:
		/* the upsert depends on the header, so it is prepared on the first row */
		read_rc = csvin_read(c->r, on_distributor_row, ingest_on_csv_error, c, err);
		break;
	case KIND_PRODUCTS:
		if (ledger_prepare(l,
			"INSERT INTO products(sku, name, pv, cv, category, file_id) VALUES(?,?,?,?,?,?)"
			" ON CONFLICT(sku) DO UPDATE SET name = excluded.name, pv = excluded.pv, cv = excluded.cv,"
			" category = excluded.category, file_id = excluded.file_id", &c->upsert_product, err) < 0)
			goto out;
		read_rc = csvin_read(c->r, on_product_row, ingest_on_csv_error, c, err);
		break;
	}
	csvin_sha256_hex(c->r, res->sha256);
	res->size = csvin_bytes(c->r);
	res->st.rows = csvin_rows(c->r);
	if (c->fatal)
		goto out;
	if (csvin_io_error(c->r)) {
		/* the disk failed, not the file: leave it claimed for a retry (err says why) */
		if (!err->msg[0])
			pd_errf(err, "%s: read error", name);
		goto out;
	}
	merge_errors(res, lists, 2);
	if (read_rc < 0) {
		/* a structural problem: the file is rejected with that one error after any row errors */
		pd_diag_add(&res->errors, "%s", err->msg);
		snprintf(res->reason, sizeof res->reason, "%s", err->msg);
		rc = INGEST_REJECTED;
		goto out;
	}
	if (in->fmt.kind == KIND_DISTRIBUTORS && pd_diag_count(&res->errors) == 0) {
		if (finish_distributors(c) < 0)
			goto out;
		merge_errors(res, lists, 1);
	}
	char dup[600];
	int d = find_duplicate(c, dup, sizeof dup);
	if (d < 0)
		goto out;
	if (d) {
		snprintf(res->reason, sizeof res->reason, "%s", dup);
		pd_diag_free(&res->errors);
		pd_diag_add(&res->errors, "%s: %s", name, dup);
		rc = INGEST_REJECTED;
		goto out;
	}
	size_t nerr = pd_diag_count(&res->errors);
	if (nerr) {
		snprintf(res->reason, sizeof res->reason, "%zu bad row%s; first: %s", nerr, nerr == 1 ? "" : "s",
			 res->errors.msgs[0]);
		rc = INGEST_REJECTED;
		goto out;
	}
	if (flush_stats(c) < 0 || flush_volumes(c) < 0 || record_file(c, claim, archive_dir) < 0)
		goto out;
	finalize_all(c);
	csvin_free(c->r);
	if (ledger_commit(l, err) < 0) {
		ledger_rollback(l);
		return INGEST_FAILED;
	}
	return INGEST_BOOKED;
out:
	errlist_free(&lists[0]);
	errlist_free(&lists[1]);
	finalize_all(c);
	csvin_free(c->r);
	ledger_rollback(l);
	return rc;
}

void ingest_result_free(ingest_result *res)
{
	pd_diag_free(&res->errors);
}
