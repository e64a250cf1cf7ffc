/*
 * fuzz_config.c - libFuzzer target: the configuration file (config_load).
 *
 * The input is the file's text. config_load takes a path, so each input is
 * written to one scratch file (fuzz_common.h); relative paths resolve
 * against its folder, which is only string work.
 *
 * Checked beyond the sanitizers:
 *  - a refused file has at least one message, an accepted one none, and
 *    every message starts "FILE:LINE:COLUMN: " with LINE and COLUMN >= 1;
 *  - an accepted config is complete: every path set, grace in range, each
 *    input with a pattern, a kind, a valid delimiter, decimal, date format
 *    and encoding, and its column mapping pointing at its own strings;
 *  - an accepted input's date format works with the date parser, and the
 *    first input with a column mapping with the CSV reader (a header of its
 *    names and a row are read with the input's format).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "csvin.h"
#include "dates.h"

#include "fuzz_common.h"

static int memfd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_init("payoutd.yaml");
	memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
	FUZZ_CHECK(memfd >= 0, "memfd_create: %s", strerror(errno));
	return 0;
}

static void check_message(const char *path, const char *msg)
{
	size_t pl = strlen(path);
	FUZZ_CHECK(strncmp(msg, path, pl) == 0 && msg[pl] == ':', "message without the file name: %s", msg);
	const char *p = msg + pl + 1;
	char *end;
	long line = strtol(p, &end, 10);
	FUZZ_CHECK(end != p && *end == ':' && line >= 1, "message without a line: %s", msg);
	p = end + 1;
	long col = strtol(p, &end, 10);
	FUZZ_CHECK(end != p && end[0] == ':' && end[1] == ' ' && col >= 1, "message without a column: %s", msg);
}

static int row_ok(void *ctx, const csvin_row *row, pd_err *err)
{
	(void)ctx;
	(void)row;
	(void)err;
	return 0;
}

static void row_err(void *ctx, long line, int col, const char *value, size_t vlen, const char *reason)
{
	(void)ctx;
	(void)line;
	(void)col;
	(void)value;
	(void)vlen;
	(void)reason;
}

/* A header line of the input's own column names and one row, read with its format. */
static void read_sample(const config_input *in)
{
	size_t n;
	const csvin_column *cols = csvin_columns(in->fmt.kind, &n);
	char delim = in->fmt.delimiter ? in->fmt.delimiter : ',';
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	FUZZ_CHECK(f != NULL, "open_memstream");
	for (size_t c = 0; c < n; c++)
		fprintf(f, "%s%c", in->fmt.header[c] ? in->fmt.header[c] : cols[c].name, c + 1 < n ? delim : '\n');
	for (size_t c = 0; c < n; c++)
		fprintf(f, "x%zu%c", c, c + 1 < n ? delim : '\n');
	fclose(f);

	FUZZ_CHECK(ftruncate(memfd, 0) == 0 && pwrite(memfd, text, len, 0) == (ssize_t)len &&
		   lseek(memfd, 0, SEEK_SET) == 0, "memfd: %s", strerror(errno));
	free(text);
	csvin *r = csvin_new("sample.csv", memfd, &in->fmt);
	pd_err err;
	csvin_read(r, row_ok, row_err, NULL, &err);
	csvin_free(r);
}

static void check_input(const config_input *in, bool *sampled)
{
	static const char *const dates[] = { "2026-11-05", "05.11.2026", "11/05/2026", "20261105", "5.11.2026" };
	FUZZ_CHECK(in->match && *in->match, "an input without a pattern");
	FUZZ_CHECK(in->fmt.kind >= KIND_DISTRIBUTORS && in->fmt.kind <= KIND_PRODUCTS, "kind %d", in->fmt.kind);
	FUZZ_CHECK(in->fmt.delimiter == 0 || in->fmt.delimiter == ',' || in->fmt.delimiter == ';' ||
		   in->fmt.delimiter == '\t', "delimiter %d", in->fmt.delimiter);
	FUZZ_CHECK(in->fmt.decimal == '.' || in->fmt.decimal == ',', "decimal %d", in->fmt.decimal);
	FUZZ_CHECK(in->date_format && in->encoding && in->fmt.encoding == in->encoding, "date format or encoding");
	size_t n;
	csvin_columns(in->fmt.kind, &n);
	for (size_t c = 0; c < CSVIN_MAX_COLS; c++) {
		FUZZ_CHECK(in->fmt.header[c] == in->header_names[c], "column %zu maps outside header_names", c);
		FUZZ_CHECK(c < n || !in->header_names[c], "column %zu mapped past the kind's columns", c);
	}
	for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
		int32_t day;
		const char *why = NULL;
		if (date_parse_format(dates[i], strlen(dates[i]), in->date_format, &day, &why) < 0)
			FUZZ_CHECK(why && *why, "date \"%s\" refused without a reason", dates[i]);
	}
	/* a CSV read costs 1-5 MiB of buffers (slow under ASan): only the first
	 * input that names its columns */
	for (size_t c = 0; c < n && !*sampled; c++)
		if (in->header_names[c]) {
			read_sample(in);
			*sampled = true;
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_scratch.path;
	fuzz_file_write(data, size);
	config *c = NULL;
	pd_diag diag = { 0 };
	int rc = config_load(path, &c, &diag);
	FUZZ_CHECK(rc == 0 || rc == -1, "config_load returned %d", rc);
	for (size_t i = 0; i < diag.n; i++)
		check_message(path, diag.msgs[i]);
	if (rc < 0) {
		FUZZ_CHECK(pd_diag_count(&diag) > 0, "refused without a message");
	} else {
		FUZZ_CHECK(pd_diag_count(&diag) == 0, "accepted with %zu messages", pd_diag_count(&diag));
		const char *paths[] = { c->plan, c->database, c->inbox, c->archive, c->rejected, c->statements,
					c->audit_log };
		for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
			FUZZ_CHECK(paths[i] && *paths[i], "path %zu not set", i);
		FUZZ_CHECK(c->grace_seconds >= 0 && c->grace_seconds <= (int64_t)100000 * 86400, "grace %" PRId64,
			   c->grace_seconds);
		FUZZ_CHECK(c->n_inputs >= 1 && c->inputs, "no inputs");
		bool sampled = false;
		for (size_t i = 0; i < c->n_inputs; i++)
			check_input(&c->inputs[i], &sampled);
		static const char *const names[] = { "sales-2026-11.csv", "distributors.csv", "products-x.csv",
						     "umsatz-2026-11.csv", ".hidden.csv", "x" };
		for (size_t i = 0; i < sizeof names / sizeof *names; i++)
			config_match(c, names[i]);
		free(config_work_dir(c));
		config_free(c);
	}
	pd_diag_free(&diag);
	return 0;
}
