/*
 * fuzz_csv.c - libFuzzer target: the CSV reader (csvin) with a column
 * mapping, and the field checks a booking runs on every row it hands over.
 *
 * Input: three option bytes, then the file's bytes.
 *   byte 0  bits 0-1  kind: 0 and 3 sales, 1 distributors, 2 products
 *           bits 2-3  delimiter: auto, ",", ";", tab
 *           bit  4    decimal "," (else ".")
 *           bits 5-6  encoding: utf-8, windows-1252, iso-8859-1, iso-8859-15
 *           bit  7    read the file a second time in short pieces and compare
 *   byte 1  bits 0-5  bit k renames canonical columns k and k + 6 to the
 *                     other header names below (a `columns:` mapping)
 *           bits 6-7  date format: %Y-%m-%d, %d.%m.%Y, %m/%d/%Y, %Y%m%d
 *   byte 2  the sizes of the short pieces (see pieces_fd)
 * tests/fuzz/corpus/csv/ holds real files with these three bytes in front.
 *
 * Every row goes through the checks of ingest.c and ingest_sales.c that need
 * no ledger: the exported ingest_check_* / ingest_parse_* helpers, money and
 * date parsing, the plan's promotion lookup and multipliers, and the per-file
 * volume and period totals (ingest_count_volume, ingest_count_stats). The
 * per-kind glue (on_distributor_row, reader_row, on_product_row) is static
 * in ingest*.c; its ledger-free part is mirrored here (see README.md).
 *
 * Checked beyond the sanitizers:
 *  - csvin_bytes() is the input's size and csvin's SHA-256 is the input's;
 *  - every value handed over is valid UTF-8, NUL-free, len == strlen, trimmed;
 *  - rows and row errors come in line order, within the file's line count;
 *  - an amount that parses formats and parses back to itself, a date to
 *    itself, and a date lies inside its monthly and weekly period, whose
 *    name parses back;
 *  - (bit 7) reading the same bytes in short pieces gives the same result,
 *    message, rows and row errors: where reads split a file must not matter.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "csvin.h"
#include "dates.h"
#include "fsutil.h"
#include "ingest_int.h"
#include "money.h"
#include "plan.h"

#include "fuzz_common.h"

#define OPT_BYTES 3
#define MAX_PIECES 64

/* other header names per canonical column (csvin.h order) */
static const char *const alt_sales[SC__N] = {
	"Belegnummer", "Berater", "Datum", "Nettobetrag", "W\xC3\xA4hrung", "Artikel",
	"Menge", "PV", "CV", "Storno von", "Kundentyp",
};
static const char *const alt_distributors[DC__N] = {
	"ID", "Sponsor", "Name", "Eintritt", "Land", "E-Mail", "IBAN", "USt-IdNr.",
	"USt-pflichtig", "Status", "Platzierung", "Bein",
};
static const char *const alt_products[PC__N] = {
	"Artikelnummer", "Bezeichnung", "Punkte", "Provisionswert", "Kategorie",
};
static char date_formats[4][12] = { "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d" };
static char encodings[4][16] = { "utf-8", "windows-1252", "iso-8859-1", "iso-8859-15" };

/* The plan the sales are checked against: currency, period, a promotion. */
static const char plan_text[] =
	"plan: Fuzz\n"
	"currency: EUR\n"
	"timezone: Europe/Berlin\n"
	"period: monthly\n"
	"ranks:\n"
	"  - id: partner\n"
	"commissions:\n"
	"  - type: retail\n"
	"    rate: 0.20\n"
	"promotions:\n"
	"  - id: skincare\n"
	"    from: 2026-11-01\n"
	"    to: 2026-11-30\n"
	"    when: { categories: [skincare], skus: [VIT-01] }\n"
	"    pv_multiplier: 2\n"
	"    cv_multiplier: 1.5\n";

/* The catalog a sale's sku is looked up in (what load_catalog reads). */
static const struct {
	const char *sku;
	product p;
} catalog[] = {
	{ "SKIN-01", { 4000, 3200, "skincare" } },
	{ "VIT-01", { 3000, 2500, "nutrition" } },
	{ "BIG", { INT64_MAX / 4, INT64_MAX / 4, NULL } },
};

static plan *the_plan;
static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pd_err err;
	/* ISO date-times with an offset are converted to the plan's zone */
	if (dates_set_timezone("Europe/Berlin", &err) < 0)
		FUZZ_CHECK(dates_set_timezone("UTC", &err) == 0, "%s", err.msg);
	pd_diag diag = { 0 };
	if (plan_load_buf("fuzz-plan.yaml", plan_text, sizeof plan_text - 1, &the_plan, &diag) < 0)
		FUZZ_CHECK(0, "the built-in plan is invalid: %s", diag.n ? diag.msgs[0] : "?");
	pd_diag_free(&diag);
	memfd = memfd_create("fuzz_csv", MFD_CLOEXEC);
	FUZZ_CHECK(memfd >= 0, "memfd_create: %s", strerror(errno));
	return 0;
}

/* ---- one read of the file ---------------------------------------------------- */

typedef struct fz {
	ictx c;               /* what the ingest helpers report into */
	errlist errs;
	ingest_result res;
	config_input in;
	size_t ncols;
	long max_line;        /* lines in the file */
	long last_line;       /* of the last row or row error */
	long last_row_line;
	uint64_t h;           /* digest of every row and row error csvin handed over */
	bool check_fields;    /* run the field checks (the first read only) */
} fz;

static void money_checks(const char *s, size_t len, char decimal, bool allow_negative, int64_t v)
{
	const char *why = NULL;
	char buf[32];
	int n = money_format(v, 2, buf);
	int64_t back = 0;
	FUZZ_CHECK(allow_negative || v >= 0, "\"%.*s\" parsed to a negative %s", (int)len, s, buf);
	FUZZ_CHECK(money_parse_cents(buf, (size_t)n, '.', true, &back, &why) == 0 && back == v,
		   "\"%.*s\" (decimal '%c') parsed to %" PRId64 ", formatted \"%s\", which parses %s",
		   (int)len, s, decimal, v, buf, why ? why : "to another value");
}

static void date_checks(int32_t day)
{
	int y, m, d;
	int32_t back = 0;
	const char *why = NULL;
	char iso[11], name[16];
	date_to_ymd(day, &y, &m, &d);
	FUZZ_CHECK(date_from_ymd(y, m, d, &back) == 0 && back == day, "day %" PRId32 " is %d-%d-%d, which is not valid",
		   day, y, m, d);
	date_format_iso(day, iso);
	FUZZ_CHECK(date_parse_format(iso, 10, "%Y-%m-%d", &back, &why) == 0 && back == day,
		   "day %" PRId32 " formats as %s, which does not parse back (%s)", day, iso, why ? why : "");
	static const period_kind kinds[] = { PERIOD_MONTHLY, PERIOD_WEEKLY };
	for (size_t i = 0; i < 2; i++) {
		int32_t p = period_of_day(kinds[i], day), q = 0;
		FUZZ_CHECK(period_first_day(kinds[i], p) <= day && day < period_end_day(kinds[i], p),
			   "%s is outside its %s period", iso, period_kind_name(kinds[i]));
		period_name(kinds[i], p, name);
		FUZZ_CHECK(period_parse(kinds[i], name, &q) == 0 && q == p, "period %s of %s does not parse back",
			   name, iso);
	}
}

static int money_col(ictx *c, const csvin_row *row, int col, int allow_negative, int64_t *out)
{
	if (ingest_parse_money_col(c, row, col, allow_negative, out) < 0)
		return -1;
	money_checks(row->val[col], row->len[col], c->in->fmt.decimal, allow_negative, *out);
	return 0;
}

static int date_col(ictx *c, const csvin_row *row, int col, int32_t *day)
{
	if (ingest_parse_date_col(c, row, col, day) < 0)
		return -1;
	date_checks(*day);
	return 0;
}

/* on_distributor_row without the ledger */
static void check_distributor(ictx *c, const csvin_row *row)
{
	int32_t join = 0;
	ingest_check_dist_id(c, row, DC_DISTRIBUTOR_ID, 1);
	ingest_check_dist_id(c, row, DC_SPONSOR_ID, 0);
	if (!ingest_present(row, DC_NAME))
		ingest_row_error(c, row, DC_NAME, "required value is empty");
	date_col(c, row, DC_JOIN_DATE, &join);
	if (ingest_present(row, DC_VAT_LIABLE) && strcmp(row->val[DC_VAT_LIABLE], "yes") != 0 &&
	    strcmp(row->val[DC_VAT_LIABLE], "no") != 0)
		ingest_row_error(c, row, DC_VAT_LIABLE, "expected yes or no");
	if (row->val[DC_STATUS] && row->len[DC_STATUS] != 0 && strcmp(row->val[DC_STATUS], "active") != 0 &&
	    strcmp(row->val[DC_STATUS], "terminated") != 0)
		ingest_row_error(c, row, DC_STATUS, "expected active or terminated");
	ingest_check_dist_id(c, row, DC_PLACEMENT_ID, 0);
	if (ingest_present(row, DC_LEG) && strcmp(row->val[DC_LEG], "left") != 0 &&
	    strcmp(row->val[DC_LEG], "right") != 0)
		ingest_row_error(c, row, DC_LEG, "expected left or right");
	if (ingest_present(row, DC_PLACEMENT_ID) != ingest_present(row, DC_LEG))
		ingest_row_error(c, row, ingest_present(row, DC_LEG) ? DC_LEG : DC_PLACEMENT_ID,
				 "placement_id and leg are given together or not at all");
}

/* on_product_row without the ledger */
static void check_product(ictx *c, const csvin_row *row)
{
	int64_t pv = 0, cv = 0;
	ingest_check_text_id(c, row, PC_SKU, 1);
	if (!ingest_present(row, PC_NAME))
		ingest_row_error(c, row, PC_NAME, "required value is empty");
	if (!ingest_present(row, PC_PV))
		ingest_row_error(c, row, PC_PV, "required value is empty");
	else
		money_col(c, row, PC_PV, 0, &pv);
	if (!ingest_present(row, PC_CV))
		ingest_row_error(c, row, PC_CV, "required value is empty");
	else
		money_col(c, row, PC_CV, 0, &cv);
}

static const product *catalog_find(const char *sku)
{
	for (size_t i = 0; sku && i < sizeof catalog / sizeof *catalog; i++)
		if (strcmp(catalog[i].sku, sku) == 0)
			return &catalog[i].p;
	return NULL;
}

/* derive_volume of ingest_sales.c: given, else unit x quantity, else the amount */
static int derive(int has, int64_t given, const product *pr, int64_t unit, int64_t quantity, int64_t amount,
		  int64_t *out)
{
	if (has) {
		*out = given;
		return 0;
	}
	if (pr) {
		__int128 v = (__int128)unit * quantity;
		if (v > INT64_MAX / 2)
			return -1;
		*out = amount < 0 ? -(int64_t)v : (int64_t)v;
		return 0;
	}
	*out = amount;
	return 0;
}

/* reader_row (and the counting of book_sale) without the ledger: every
 * distributor is known, no period is closed, a refund's original is taken
 * to be in the refund's own period without a promotion */
static void check_sale(ictx *c, const csvin_row *row)
{
	size_t before = ingest_error_count(c);
	int32_t day = 0;
	int64_t amount = 0, quantity = 1, pv = 0, cv = 0;
	int has_pv = 0, has_cv = 0;
	const char *why;

	ingest_check_text_id(c, row, SC_SALE_ID, 1);
	ingest_check_dist_id(c, row, SC_DISTRIBUTOR_ID, 1);
	date_col(c, row, SC_DATE, &day);
	if (!ingest_present(row, SC_AMOUNT))
		ingest_row_error(c, row, SC_AMOUNT, "required value is empty");
	else
		money_col(c, row, SC_AMOUNT, 1, &amount);
	if (ingest_present(row, SC_CURRENCY) && strcmp(row->val[SC_CURRENCY], c->p->currency) != 0)
		ingest_row_error(c, row, SC_CURRENCY, "the plan's currency is %s; other currencies are not accepted",
				 c->p->currency);
	if (ingest_present(row, SC_SKU))
		ingest_check_text_id(c, row, SC_SKU, 0);
	if (ingest_present(row, SC_QUANTITY) &&
	    (money_parse(row->val[SC_QUANTITY], row->len[SC_QUANTITY], '.', 0, 0, false, &quantity, &why) < 0 ||
	     quantity < 1 || quantity > 1000000))
		ingest_row_error(c, row, SC_QUANTITY, "expected a whole number from 1 to 1000000");
	if (ingest_present(row, SC_PV) && money_col(c, row, SC_PV, 1, &pv) == 0)
		has_pv = 1;
	if (ingest_present(row, SC_CV) && money_col(c, row, SC_CV, 1, &cv) == 0)
		has_cv = 1;
	if (ingest_present(row, SC_REFUND_OF))
		ingest_check_text_id(c, row, SC_REFUND_OF, 0);
	if (ingest_present(row, SC_CUSTOMER_TYPE) && strcmp(row->val[SC_CUSTOMER_TYPE], "distributor") != 0 &&
	    strcmp(row->val[SC_CUSTOMER_TYPE], "retail") != 0)
		ingest_row_error(c, row, SC_CUSTOMER_TYPE, "expected retail or distributor");
	if (ingest_error_count(c) > before)
		return;

	const char *sku = ingest_present(row, SC_SKU) ? row->val[SC_SKU] : NULL;
	const char *refund_of = ingest_present(row, SC_REFUND_OF) ? row->val[SC_REFUND_OF] : NULL;
	int refund = amount < 0;
	if (refund && !refund_of) {
		ingest_row_error(c, row, SC_AMOUNT, "a negative amount is a refund and needs refund_of");
		return;
	}
	if (!refund && refund_of) {
		ingest_row_error(c, row, SC_REFUND_OF, "refund_of is set but the amount is not negative");
		return;
	}
	if (!refund && ((has_pv && pv < 0) || (has_cv && cv < 0))) {
		ingest_row_error(c, row, has_pv && pv < 0 ? SC_PV : SC_CV, "a sale's volume cannot be negative");
		return;
	}
	if (refund && ((has_pv && pv > 0) || (has_cv && cv > 0))) {
		ingest_row_error(c, row, has_pv && pv > 0 ? SC_PV : SC_CV, "a refund's volume must not be positive");
		return;
	}
	if (refund_of && strcmp(refund_of, row->val[SC_SALE_ID]) == 0) {
		ingest_row_error(c, row, SC_REFUND_OF, "a sale cannot refund itself");
		return;
	}
	const product *pr = catalog_find(sku);
	int64_t pv_base, cv_base, pv_eff, cv_eff, pv_mult = RATE_SCALE, cv_mult = RATE_SCALE;
	if (derive(has_pv, pv, pr, pr ? pr->pv : 0, quantity, amount, &pv_base) < 0 ||
	    derive(has_cv, cv, pr, pr ? pr->cv : 0, quantity, amount, &cv_base) < 0) {
		ingest_row_error(c, row, SC_QUANTITY, "catalog volume times quantity is too large");
		return;
	}
	if (!refund) {
		const plan_promotion *pm = plan_promotion_for(c->p, day, sku, pr ? pr->category : NULL);
		if (pm) {
			pv_mult = pm->pv_mult;
			cv_mult = pm->cv_mult;
		}
	}
	if (money_apply_rate(pv_base, pv_mult, &pv_eff) < 0 || money_apply_rate(cv_base, cv_mult, &cv_eff) < 0) {
		ingest_row_error(c, row, SC_AMOUNT, "volume overflow after the promotion multiplier");
		return;
	}
	/* the reader thread counts the volumes, the writer the period's statistics */
	int32_t period = period_of_day(c->p->period, day);
	if (ingest_count_volume(c, row->line, SC_DISTRIBUTOR_ID, period, +1, row->val[SC_DISTRIBUTOR_ID],
				row->len[SC_DISTRIBUTOR_ID], amount, pv_eff, cv_eff) < 0)
		return;
	ingest_count_stats(c, row->line, SC_AMOUNT, row->val[SC_AMOUNT], period, +1, amount, SALE_ATTRIBUTED);
}

static void check_order(fz *f, long line)
{
	FUZZ_CHECK(line >= 1 && line <= f->max_line, "line %ld outside the file's %ld lines", line, f->max_line);
	FUZZ_CHECK(line >= f->last_line, "line %ld reported after line %ld", line, f->last_line);
	f->last_line = line;
}

static int on_row(void *ctx, const csvin_row *row, pd_err *err)
{
	fz *f = ctx;
	(void)err;
	check_order(f, row->line);
	FUZZ_CHECK(row->line > f->last_row_line, "two rows start on line %ld", row->line);
	f->last_row_line = row->line;
	f->h = fuzz_fnv_i64(f->h, row->line);
	for (size_t c = 0; c < CSVIN_MAX_COLS; c++) {
		const char *v = row->val[c];
		size_t n = row->len[c];
		FUZZ_CHECK(c < f->ncols || !v, "value for column %zu, past the kind's %zu columns", c, f->ncols);
		if (!v) {
			FUZZ_CHECK(n == 0, "column %zu absent but len %zu", c, n);
			f->h = fuzz_fnv_i64(f->h, -1);
			continue;
		}
		FUZZ_CHECK(strlen(v) == n, "column %zu: len %zu but strlen %zu", c, n, strlen(v));
		FUZZ_CHECK(csvin_valid_utf8(v, n), "column %zu: value is not valid UTF-8", c);
		FUZZ_CHECK(n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t'),
			   "column %zu: value \"%s\" is not trimmed", c, v);
		FUZZ_CHECK(csvin_has_column(f->c.r, (int)c), "column %zu has a value but is not in the header", c);
		f->h = fuzz_fnv_str(f->h, v, n);
	}
	if (f->check_fields) {
		switch (f->in.fmt.kind) {
		case KIND_SALES: check_sale(&f->c, row); break;
		case KIND_DISTRIBUTORS: check_distributor(&f->c, row); break;
		case KIND_PRODUCTS: check_product(&f->c, row); break;
		}
	}
	return 0;
}

static void on_error(void *ctx, long line, int col, const char *value, size_t vlen, const char *reason)
{
	fz *f = ctx;
	check_order(f, line);
	FUZZ_CHECK(col >= -1 && col < (int)f->ncols, "row error on column %d", col);
	FUZZ_CHECK(reason && *reason, "row error without a reason");
	f->h = fuzz_fnv_i64(f->h, line);
	f->h = fuzz_fnv_i64(f->h, col);
	f->h = fuzz_fnv_str(f->h, value ? value : "", value ? vlen : 0);
	f->h = fuzz_fnv_str(f->h, reason, strlen(reason));
	if (f->check_fields) /* as ingest_file reports it */
		ingest_on_csv_error(&f->c, line, col, value, vlen, reason);
}

typedef struct outcome {
	int rc;
	pd_err err;
	uint64_t h, bytes;
	long rows;
	char sha[65];
} outcome;

/* Reads fd (closed here) as `in` says; fills o. */
static void read_once(int fd, const config_input *in, const uint8_t *data, size_t size, bool check_fields,
		      outcome *o)
{
	fz f;
	memset(&f, 0, sizeof f);
	f.in = *in;
	f.check_fields = check_fields;
	f.h = FUZZ_FNV_INIT;
	f.max_line = 1;
	for (size_t i = 0; i < size; i++)
		f.max_line += data[i] == '\n';
	csvin_columns(in->fmt.kind, &f.ncols);

	memset(o, 0, sizeof *o);
	csvin *r = csvin_new("fuzz.csv", fd, &f.in.fmt);
	f.c.name = "fuzz.csv";
	f.c.r = r;
	f.c.in = &f.in;
	f.c.p = the_plan;
	f.c.res = &f.res;
	f.c.errs = &f.errs;
	f.c.err = &o->err;
	f.c.eo = LEDGER_NO_CLOSE;
	o->rc = csvin_read(r, on_row, on_error, &f, &o->err);
	FUZZ_CHECK(o->rc == 0 || o->rc == -1, "csvin_read returned %d", o->rc);
	FUZZ_CHECK(o->rc == 0 || o->err.msg[0], "csvin_read failed without a message");
	o->h = f.h;
	o->bytes = csvin_bytes(r);
	o->rows = csvin_rows(r);
	csvin_sha256_hex(r, o->sha);
	FUZZ_CHECK(o->bytes == size, "csvin read %" PRIu64 " bytes of %zu", o->bytes, size);

	/* what the reports would print: every field's header name and number */
	for (int c = -1; c <= (int)f.ncols; c++) {
		FUZZ_CHECK(csvin_header_name(r, c) != NULL, "no header name for column %d", c);
		FUZZ_CHECK(csvin_field_number(r, c) >= 1, "field number of column %d", c);
	}
	csvin_free(r);
	close(fd);
	for (size_t i = 0; i < f.errs.n; i++)
		free(f.errs.msg[i]);
	free(f.errs.line);
	free(f.errs.msg);
	ingest_free_volumes(&f.c);
	free(f.c.deltas);
	pd_diag_free(&f.res.errors);
}

/* A socket from which each read returns one piece of data, then EOF (as in
 * tests/unit/test_csvin.c). Pieces are 1..(seed % 64 + 1) bytes, chosen by a
 * xorshift seeded with `seed`; the 64th holds the rest. -1 when the socket
 * would not take them all without blocking (then no comparison is made). */
static int pieces_fd(const uint8_t *data, size_t size, uint8_t seed)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	uint32_t x = 2654435761u * (uint32_t)(seed + 1);
	size_t max = (size_t)(seed % 64) + 1, off = 0;
	for (int pieces = 1; off < size; pieces++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t len = pieces == MAX_PIECES ? size - off : 1 + x % max;
		if (len > size - off)
			len = size - off;
		if (send(sv[1], data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len) {
			close(sv[0]);
			close(sv[1]);
			return -1;
		}
		off += len;
	}
	close(sv[1]);
	return sv[0];
}

static void make_input(const uint8_t *opt, config_input *in)
{
	static const char delimiters[4] = { 0, ',', ';', '\t' };
	memset(in, 0, sizeof *in);
	int k = opt[0] & 3;
	in->fmt.kind = k == 1 ? KIND_DISTRIBUTORS : k == 2 ? KIND_PRODUCTS : KIND_SALES;
	in->fmt.delimiter = delimiters[(opt[0] >> 2) & 3];
	in->fmt.decimal = opt[0] & 0x10 ? ',' : '.';
	in->encoding = encodings[(opt[0] >> 5) & 3];
	in->fmt.encoding = in->encoding;
	in->date_format = date_formats[opt[1] >> 6];
	size_t n;
	csvin_columns(in->fmt.kind, &n);
	const char *const *alt = in->fmt.kind == KIND_SALES ? alt_sales
		: in->fmt.kind == KIND_DISTRIBUTORS ? alt_distributors : alt_products;
	for (size_t c = 0; c < n; c++)
		if (opt[1] & (1u << (c % 6)))
			in->fmt.header[c] = alt[c];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < OPT_BYTES)
		return 0;
	config_input in;
	make_input(data, &in);
	bool pieces = data[0] & 0x80;
	uint8_t seed = data[2];
	data += OPT_BYTES;
	size -= OPT_BYTES;

	FUZZ_CHECK(ftruncate(memfd, 0) == 0, "ftruncate: %s", strerror(errno));
	for (size_t off = 0; off < size;) {
		ssize_t w = pwrite(memfd, data + off, size - off, (off_t)off);
		FUZZ_CHECK(w > 0, "pwrite: %s", strerror(errno));
		off += (size_t)w;
	}
	FUZZ_CHECK(lseek(memfd, 0, SEEK_SET) == 0, "lseek: %s", strerror(errno));
	/* csvin closes nothing: hand it a duplicate, closed by read_once */
	int fd = dup(memfd);
	FUZZ_CHECK(fd >= 0, "dup: %s", strerror(errno));

	outcome whole;
	read_once(fd, &in, data, size, true, &whole);
	char sha[65];
	unsigned char md[32];
	fs_sha256(data, size, md);
	fs_hex(md, sha);
	FUZZ_CHECK(strcmp(sha, whole.sha) == 0, "csvin's SHA-256 %s is not the input's %s", whole.sha, sha);

	if (pieces && (fd = pieces_fd(data, size, seed)) >= 0) {
		outcome split;
		read_once(fd, &in, data, size, false, &split);
		FUZZ_CHECK(split.rc == whole.rc && strcmp(split.err.msg, whole.err.msg) == 0,
			   "read whole: %d \"%s\"; in pieces (seed %u): %d \"%s\"", whole.rc, whole.err.msg,
			   seed, split.rc, split.err.msg);
		FUZZ_CHECK(split.h == whole.h && split.rows == whole.rows,
			   "rows or row errors differ when read in pieces (seed %u): %ld rows vs %ld", seed,
			   split.rows, whole.rows);
		FUZZ_CHECK(strcmp(split.sha, whole.sha) == 0, "SHA-256 differs when read in pieces");
	}
	return 0;
}
