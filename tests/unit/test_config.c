/*
 * test_config.c - the daemon's config file: defaults, path resolution,
 * every input key, every error with its exact FILE:LINE:COLUMN, all errors
 * of a file reported together, and input matching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_tmpdir(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_config.XXXXXX", base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The folder and config path of the current case. */
static char dir[512], path[600];

/* Writes text to TMPDIR/case/payoutd.yaml (a folder per case). */
static void write_config(const char *casename, const char *text)
{
	snprintf(dir, sizeof dir, "%s/%s", tmpdir, casename);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	snprintf(path, sizeof path, "%s/payoutd.yaml", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static config *load_ok(const char *casename, const char *text)
{
	write_config(casename, text);
	pd_diag d = {0};
	config *c = NULL;
	int rc = config_load(path, &c, &d);
	if (rc != 0)
		fail_msg("config refused: %s", d.n ? d.msgs[0] : "(no message)");
	assert_int_equal(pd_diag_count(&d), 0);
	assert_non_null(c);
	pd_diag_free(&d);
	return c;
}

/* Loads a config that must be refused; the caller frees d. */
static void load_bad(const char *casename, const char *text, pd_diag *d)
{
	write_config(casename, text);
	memset(d, 0, sizeof *d);
	config *c = (config *)0x1;
	if (config_load(path, &c, d) != -1) {
		config_free(c);
		fail_msg("config accepted: %s", text);
	}
	assert_ptr_equal(c, (config *)0x1); /* *out untouched */
	assert_true(pd_diag_count(d) > 0);
}

/* want starts with '@', which stands for the config path. */
static void assert_has(const pd_diag *d, const char *want)
{
	char full[1024];
	snprintf(full, sizeof full, "%s%s", path, want + 1);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->msgs[i], full) == 0)
			return;
	for (size_t i = 0; i < d->n; i++)
		print_message("  got: %s\n", d->msgs[i]);
	fail_msg("missing message: %s", full);
}

/* The config is refused with exactly this one message. */
static void assert_refused(const char *casename, const char *text, const char *want)
{
	pd_diag d;
	load_bad(casename, text, &d);
	assert_has(&d, want);
	if (pd_diag_count(&d) != 1) {
		for (size_t i = 0; i < d.n; i++)
			print_message("  got: %s\n", d.msgs[i]);
		fail_msg("%zu messages, expected 1", pd_diag_count(&d));
	}
	pd_diag_free(&d);
}

static void assert_path(const char *got, const char *rel)
{
	char want[1024];
	snprintf(want, sizeof want, "%s/%s", dir, rel);
	assert_string_equal(got, want);
}

/* ---- defaults and paths --------------------------------------------------- */

static void assert_default_inputs(const config *c)
{
	assert_int_equal(c->n_inputs, 3);
	static const char *const match[] = {"distributors*.csv", "sales*.csv", "products*.csv"};
	static const input_kind kind[] = {KIND_DISTRIBUTORS, KIND_SALES, KIND_PRODUCTS};
	for (size_t i = 0; i < 3; i++) {
		const config_input *in = &c->inputs[i];
		assert_string_equal(in->match, match[i]);
		assert_int_equal(in->fmt.kind, kind[i]);
		assert_string_equal(in->date_format, "%Y-%m-%d");
		assert_string_equal(in->encoding, "utf-8");
		assert_ptr_equal(in->fmt.encoding, in->encoding);
		assert_int_equal(in->fmt.delimiter, 0);
		assert_int_equal(in->fmt.decimal, '.');
		for (int k = 0; k < CSVIN_MAX_COLS; k++) {
			assert_null(in->fmt.header[k]);
			assert_null(in->header_names[k]);
		}
	}
}

static void test_defaults(void **state)
{
	(void)state;
	config *c = load_ok("empty", "");
	assert_string_equal(c->path, path);
	assert_string_equal(c->dir, dir);
	assert_path(c->plan, "plan.yaml");
	assert_path(c->database, "state/ledger.db");
	assert_path(c->inbox, "state/inbox");
	assert_path(c->archive, "state/archive");
	assert_path(c->rejected, "state/rejected");
	assert_path(c->statements, "state/statements");
	assert_path(c->audit_log, "state/audit.log");
	assert_int_equal(c->grace_seconds, 3 * 86400);
	assert_default_inputs(c);
	char *work = config_work_dir(c);
	assert_path(work, "state/inbox/.work");
	free(work);
	config_free(c);
	config_free(NULL);

	/* comments only, an explicit null inputs, an empty close mapping: still the defaults */
	c = load_ok("nulls", "# nothing to see\ninputs:\nclose: {}\n");
	assert_int_equal(c->grace_seconds, 3 * 86400);
	assert_default_inputs(c);
	config_free(c);

	/* the spec's example, spelled out, gives the same */
	c = load_ok("spelled",
		    "plan: plan.yaml\n"
		    "database: state/ledger.db\n"
		    "inbox: state/inbox\n"
		    "archive: state/archive\n"
		    "rejected: state/rejected\n"
		    "statements: state/statements\n"
		    "audit_log: state/audit.log\n"
		    "close:\n"
		    "  grace: 3d\n"
		    "inputs:\n"
		    "  - match: \"distributors*.csv\"\n"
		    "    kind: distributors\n"
		    "  - match: \"sales*.csv\"\n"
		    "    kind: sales\n"
		    "  - match: \"products*.csv\"\n"
		    "    kind: products\n");
	assert_path(c->plan, "plan.yaml");
	assert_path(c->audit_log, "state/audit.log");
	assert_int_equal(c->grace_seconds, 3 * 86400);
	assert_default_inputs(c);
	config_free(c);
}

static void test_paths(void **state)
{
	(void)state;
	config *c = load_ok("paths",
			    "plan: plans/unilevel.yaml\n"
			    "database: /var/lib/payoutd/ledger.db\n"
			    "inbox: ../shared/inbox/\n"
			    "archive: ./archive\n"
			    "rejected: /srv/rejected\n"
			    "statements: \"out dir/statements\"\n"
			    "audit_log: /var/log/payoutd/audit.log\n");
	assert_path(c->plan, "plans/unilevel.yaml");
	assert_string_equal(c->database, "/var/lib/payoutd/ledger.db");
	assert_path(c->inbox, "../shared/inbox/");
	assert_path(c->archive, "./archive");
	assert_string_equal(c->rejected, "/srv/rejected");
	assert_path(c->statements, "out dir/statements");
	assert_string_equal(c->audit_log, "/var/log/payoutd/audit.log");
	/* the work folder sits inside the inbox (same filesystem), one '/' either way */
	char *work = config_work_dir(c);
	assert_path(work, "../shared/inbox/.work");
	free(work);
	config_free(c);

	c = load_ok("abs-inbox", "inbox: /srv/inbox\n");
	work = config_work_dir(c);
	assert_string_equal(work, "/srv/inbox/.work");
	free(work);
	config_free(c);

	/* a config given by a bare file name: paths are relative to "." */
	write_config("bare", "plan: p.yaml\n");
	char cwd[1024];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(dir), 0);
	pd_diag d = {0};
	c = NULL;
	int rc = config_load("payoutd.yaml", &c, &d);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(rc, 0);
	assert_string_equal(c->path, "payoutd.yaml");
	assert_string_equal(c->dir, ".");
	assert_string_equal(c->plan, "./p.yaml");
	assert_string_equal(c->database, "./state/ledger.db");
	config_free(c);
	pd_diag_free(&d);
}

/* ---- input entries ------------------------------------------------------ */

static void test_input_keys(void **state)
{
	(void)state;
	config *c = load_ok("inputs",
			    "inputs:\n"
			    "  - match: \"bestellungen-*.csv\"\n"
			    "    kind: sales\n"
			    "    delimiter: \";\"\n"
			    "    decimal: \",\"\n"
			    "    date_format: \"%d.%m.%Y\"\n"
			    "    encoding: windows-1252\n"
			    "    columns:\n"
			    "      sale_id: Bestellnummer\n"
			    "      distributor_id: Berater\n"
			    "      date: Datum\n"
			    "      amount: \"Betrag (netto)\"\n"
			    "  - match: \"*.tsv\"\n"
			    "    kind: products\n"
			    "    delimiter: tab\n"
			    "    encoding: ISO-8859-1\n"
			    "    date_format: \"%Y%m%d\"\n"
			    "  - match: \"partners*.csv\"\n"
			    "    kind: distributors\n"
			    "    delimiter: auto\n"
			    "    decimal: \".\"\n"
			    "    encoding: iso-8859-15\n"
			    "    columns: {distributor_id: ID, sponsor_id: Sponsor, leg: Bein}\n"
			    "  - match: \"x*.csv\"\n"
			    "    kind: sales\n"
			    "    delimiter: \",\"\n"
			    "    encoding: UTF-8\n"
			    "  - match: \"y*.csv\"\n"
			    "    kind: products\n"
			    "    delimiter: \"\\t\"\n"
			    "    date_format: \"%m/%d/%Y %%\"\n");
	assert_int_equal(c->n_inputs, 5);

	const config_input *in = &c->inputs[0];
	assert_string_equal(in->match, "bestellungen-*.csv");
	assert_int_equal(in->fmt.kind, KIND_SALES);
	assert_int_equal(in->fmt.delimiter, ';');
	assert_int_equal(in->fmt.decimal, ',');
	assert_string_equal(in->date_format, "%d.%m.%Y");
	assert_string_equal(in->encoding, "windows-1252");
	assert_ptr_equal(in->fmt.encoding, in->encoding);
	assert_string_equal(in->fmt.header[SC_SALE_ID], "Bestellnummer");
	assert_string_equal(in->fmt.header[SC_DISTRIBUTOR_ID], "Berater");
	assert_string_equal(in->fmt.header[SC_DATE], "Datum");
	assert_string_equal(in->fmt.header[SC_AMOUNT], "Betrag (netto)");
	assert_ptr_equal(in->fmt.header[SC_AMOUNT], in->header_names[SC_AMOUNT]);
	assert_null(in->fmt.header[SC_SKU]);
	assert_null(in->fmt.header[SC_CURRENCY]);

	in = &c->inputs[1];
	assert_int_equal(in->fmt.kind, KIND_PRODUCTS);
	assert_int_equal(in->fmt.delimiter, '\t');
	assert_int_equal(in->fmt.decimal, '.');
	assert_string_equal(in->encoding, "ISO-8859-1");
	assert_string_equal(in->date_format, "%Y%m%d");
	for (int k = 0; k < CSVIN_MAX_COLS; k++)
		assert_null(in->fmt.header[k]);

	in = &c->inputs[2];
	assert_int_equal(in->fmt.kind, KIND_DISTRIBUTORS);
	assert_int_equal(in->fmt.delimiter, 0);
	assert_int_equal(in->fmt.decimal, '.');
	assert_string_equal(in->encoding, "iso-8859-15");
	assert_string_equal(in->date_format, "%Y-%m-%d");
	assert_string_equal(in->fmt.header[DC_DISTRIBUTOR_ID], "ID");
	assert_string_equal(in->fmt.header[DC_SPONSOR_ID], "Sponsor");
	assert_string_equal(in->fmt.header[DC_LEG], "Bein");
	assert_null(in->fmt.header[DC_NAME]);

	in = &c->inputs[3];
	assert_int_equal(in->fmt.delimiter, ',');
	assert_string_equal(in->encoding, "UTF-8");

	in = &c->inputs[4];
	assert_int_equal(in->fmt.delimiter, '\t');
	assert_string_equal(in->date_format, "%m/%d/%Y %%");
	config_free(c);
}

static void test_input_value_errors(void **state)
{
	(void)state;
	assert_refused("delim", "inputs:\n  - match: a*\n    kind: sales\n    delimiter: \"|\"\n",
		       "@:4:16: delimiter: \"|\" is not one of auto, \",\", \";\", tab");
	assert_refused("delim2", "inputs:\n  - match: a*\n    kind: sales\n    delimiter: comma\n",
		       "@:4:16: delimiter: \"comma\" is not one of auto, \",\", \";\", tab");
	assert_refused("decimal", "inputs:\n  - match: a*\n    kind: sales\n    decimal: \";\"\n",
		       "@:4:14: decimal: \";\" is not \".\" or \",\"");
	assert_refused("encoding", "inputs:\n  - match: a*\n    kind: sales\n    encoding: utf-16\n",
		       "@:4:15: encoding: \"utf-16\" is not one of utf-8, windows-1252, iso-8859-1, iso-8859-15");
	assert_refused("encoding2", "inputs:\n  - match: a*\n    kind: sales\n    encoding: ebcdic\n",
		       "@:4:15: encoding: \"ebcdic\" is not one of utf-8, windows-1252, iso-8859-1, iso-8859-15");
	assert_refused("kind", "inputs:\n  - match: a*\n    kind: sale\n",
		       "@:3:11: kind: \"sale\" is not one of distributors, sales, products");
	assert_refused("nomatch", "inputs:\n  - kind: sales\n",
		       "@:2:5: inputs: entry has no \"match\" pattern");
	assert_refused("nokind", "inputs:\n  - match: a*\n",
		       "@:2:5: inputs: entry has no \"kind\" (distributors, sales or products)");
	assert_refused("emptymatch", "inputs:\n  - match: \"\"\n    kind: sales\n",
		       "@:2:12: match: expected a non-empty string, found nothing");
	assert_refused("listmatch", "inputs:\n  - match: [a, b]\n    kind: sales\n",
		       "@:2:12: match: expected a non-empty string, found sequence");
	assert_refused("notmap", "inputs:\n  - sales*.csv\n",
		       "@:2:5: inputs: each entry must be a mapping, found scalar");
	assert_refused("emptylist", "inputs: []\n",
		       "@:1:9: inputs: expected a non-empty list of input entries");
	assert_refused("inputsmap", "inputs:\n  match: a*\n  kind: sales\n",
		       "@:2:3: inputs: expected a non-empty list of input entries");
	assert_refused("colsnotmap", "inputs:\n  - match: a*\n    kind: sales\n    columns: [sale_id]\n",
		       "@:4:14: columns: expected a mapping from canonical column names to header names");
	assert_refused("colval", "inputs:\n  - match: a*\n    kind: sales\n    columns:\n      sale_id: [a]\n",
		       "@:5:16: sale_id: expected a non-empty string, found sequence");
	assert_refused("colnone", "inputs:\n  - match: a*\n    kind: products\n    columns:\n      category: colour\n      colour: x\n",
		       "@:6:7: columns: \"colour\" is not a products column");
}

static void test_date_format(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"%Y-%m",          /* no day */
		"%d.%m",          /* no year */
		"%Y-%d",          /* no month */
		"%Y-%m-%d %H:%M", /* other directives */
		"%Y-%m-%d%",      /* a lone % at the end */
		"%Y-%m-%d-%d",    /* twice */
		"%%Y-%m-%d",      /* %% is a literal %, so no %Y */
		"%F",
		"2026-11-01",
	};
	char text[256], want[512];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text, "inputs:\n  - match: a*\n    kind: sales\n    date_format: '%s'\n", bad[i]);
		snprintf(want, sizeof want,
			 "@:4:18: date_format: \"%s\" must contain %%Y, %%m and %%d once each and no other %% directive",
			 bad[i]);
		assert_refused("datefmt", text, want);
	}
	static const char *const good[] = {"%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d", "%d%%%m%%%Y"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		snprintf(text, sizeof text, "inputs:\n  - match: a*\n    kind: sales\n    date_format: '%s'\n", good[i]);
		config *c = load_ok("datefmt-ok", text);
		assert_string_equal(c->inputs[0].date_format, good[i]);
		config_free(c);
	}
}

static void test_columns_errors(void **state)
{
	(void)state;
	assert_refused("cols",
		       "inputs:\n"
		       "  - match: \"sales*.csv\"\n"
		       "    kind: sales\n"
		       "    columns:\n"
		       "      sale_id: Nr\n"
		       "      sales_id: Bestellnummer\n",
		       "@:6:7: columns: \"sales_id\" is not a sales column (did you mean \"sale_id\"?)");
	/* a distributors column named in a sales entry */
	assert_refused("cols2",
		       "inputs:\n"
		       "  - match: \"sales*.csv\"\n"
		       "    kind: sales\n"
		       "    columns: {join_date: Eintritt}\n",
		       "@:4:15: columns: \"join_date\" is not a sales column");
	assert_refused("cols3",
		       "inputs:\n"
		       "  - match: \"d*.csv\"\n"
		       "    kind: distributors\n"
		       "    columns:\n"
		       "        sponsorid: Sponsor\n",
		       "@:5:9: columns: \"sponsorid\" is not a distributors column (did you mean \"sponsor_id\"?)");
}

/* ---- unknown keys, close, types --------------------------------------------- */

static void test_unknown_keys(void **state)
{
	(void)state;
	assert_refused("top", "plan: p.yaml\ninbx: in\n",
		       "@:2:1: unknown key \"inbx\" in the config (did you mean \"inbox\"?)");
	assert_refused("top2", "colour: red\n",
		       "@:1:1: unknown key \"colour\" in the config");
	assert_refused("top3", "auditlog: a.log\n",
		       "@:1:1: unknown key \"auditlog\" in the config (did you mean \"audit_log\"?)");
	assert_refused("input",
		       "inputs:\n"
		       "  - match: a*\n"
		       "    kind: sales\n"
		       "    delimter: \";\"\n",
		       "@:4:5: unknown key \"delimter\" in an input entry (did you mean \"delimiter\"?)");
	assert_refused("input2",
		       "inputs:\n"
		       "  - {match: a*, kind: sales, header: yes}\n",
		       "@:2:30: unknown key \"header\" in an input entry");
	assert_refused("close", "close:\n  grac: 3d\n",
		       "@:2:3: unknown key \"grac\" in close (did you mean \"grace\"?)");
}

static void test_close_grace(void **state)
{
	(void)state;
	static const struct { const char *v; int64_t s; } ok[] = {
		{"3d", 3 * 86400}, {"12h", 12 * 3600}, {"0d", 0}, {"0h", 0}, {"1d", 86400},
		{"100000d", 100000LL * 86400}, {"\"7d\"", 7 * 86400},
	};
	char text[128], want[256];
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		snprintf(text, sizeof text, "close:\n  grace: %s\n", ok[i].v);
		config *c = load_ok("grace", text);
		assert_int_equal(c->grace_seconds, ok[i].s);
		config_free(c);
	}
	static const char *const bad[] = {
		"3w", "3", "d", "-1d", "+3d", "3dd", "3 d", "3D", "1.5d", "100001d", "99999999999999999999d", "3h30m",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text, "close:\n  grace: \"%s\"\n", bad[i]);
		snprintf(want, sizeof want, "@:2:10: grace: \"%s\" is not a duration like 3d or 12h", bad[i]);
		assert_refused("grace-bad", text, want);
	}
	assert_refused("grace-plain", "close:\n  grace: 3w\n",
		       "@:2:10: grace: \"3w\" is not a duration like 3d or 12h");
	assert_refused("grace-empty", "close:\n  grace: \"\"\n",
		       "@:2:10: grace: expected a non-empty string, found nothing");
	assert_refused("close-scalar", "close: 3d\n", "@:1:8: close: expected a mapping");
}

static void test_max_file_size(void **state)
{
	(void)state;
	config *c = load_ok("size-default", "plan: p.yaml\n");
	assert_true(c->max_file_size == 4ull << 30);
	config_free(c);
	static const struct { const char *v; uint64_t b; } ok[] = {
		{"1K", 1024}, {"1024", 1024}, {"500M", 500ull << 20}, {"4G", 4ull << 30}, {"1T", 1ull << 40},
		{"1099511627776", 1ull << 40}, {"\"64K\"", 64 << 10},
	};
	char text[128], want[256];
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		snprintf(text, sizeof text, "max_file_size: %s\n", ok[i].v);
		c = load_ok("size", text);
		assert_true(c->max_file_size == ok[i].b);
		config_free(c);
	}
	/* 1K to 1T, whole numbers, one binary unit letter */
	static const char *const bad[] = {
		"1023", "0", "0K", "2T", "1025G", "4g", "4GB", "4 G", "-1G", "+4G", "1.5G", "G", "4P",
		"99999999999999999999", "18446744073709551616K",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(text, sizeof text, "max_file_size: \"%s\"\n", bad[i]);
		snprintf(want, sizeof want, "@:1:16: max_file_size: \"%s\" is not a size from 1K to 1T like 4G or 500M",
			 bad[i]);
		assert_refused("size-bad", text, want);
	}
}

static void test_value_types(void **state)
{
	(void)state;
	assert_refused("nullplan", "plan:\ninbox: in\n",
		       "@:1:6: plan: expected a non-empty string, found nothing");
	assert_refused("listdb", "database: [a, b]\n",
		       "@:1:11: database: expected a non-empty string, found sequence");
	assert_refused("mapinbox", "inbox:\n  path: x\n",
		       "@:2:3: inbox: expected a non-empty string, found mapping");
	assert_refused("notamap", "- plan: p.yaml\n",
		       "@:1:1: the config must be a mapping of keys to values");
	assert_refused("scalar", "just text\n",
		       "@:1:1: the config must be a mapping of keys to values");
}

static void test_file_errors(void **state)
{
	(void)state;
	/* a missing file: one message naming it */
	pd_diag d = {0};
	config *c = NULL;
	snprintf(path, sizeof path, "%s/no-such-folder/payoutd.yaml", tmpdir);
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_null(c);
	assert_int_equal(pd_diag_count(&d), 1);
	assert_non_null(strstr(d.msgs[0], path));
	pd_diag_free(&d);

	/* a YAML syntax error: one message with its position */
	write_config("syntax", "plan: p.yaml\ninputs: [\n");
	assert_int_equal(config_load(path, &c, &d), -1);
	assert_null(c);
	assert_int_equal(pd_diag_count(&d), 1);
	assert_int_equal(strncmp(d.msgs[0], path, strlen(path)), 0);
	assert_int_equal(d.msgs[0][strlen(path)], ':');
	pd_diag_free(&d);

	/* duplicate keys are refused by the YAML layer, with the position */
	assert_refused("dup", "plan: a.yaml\nplan: b.yaml\n", "@:2:1: duplicate key \"plan\" (first at line 1)");
}

/* Every problem of a file is reported, each at its own position. */
static void test_all_errors_reported(void **state)
{
	(void)state;
	pd_diag d;
	load_bad("many",
		 "plan: plan.yaml\n"                 /* 1 */
		 "inbx: state/inbox\n"               /* 2: unknown key */
		 "close:\n"                          /* 3 */
		 "  grace: 3w\n"                     /* 4: bad grace */
		 "inputs:\n"                         /* 5 */
		 "  - match: \"sales*.csv\"\n"       /* 6 */
		 "    kind: sales\n"                 /* 7 */
		 "    delimter: \";\"\n"             /* 8: unknown input key */
		 "    date_format: \"%Y-%m\"\n"      /* 9: no %d */
		 "    columns:\n"                    /* 10 */
		 "      sales_id: Nr\n"              /* 11: not canonical */
		 "      amount: Betrag\n"            /* 12 */
		 "  - match: \"x*.csv\"\n"           /* 13 */
		 "    kind: sale\n"                  /* 14: bad kind */
		 "    encoding: latin-9\n",          /* 15: bad encoding */
		 &d);
	assert_has(&d, "@:2:1: unknown key \"inbx\" in the config (did you mean \"inbox\"?)");
	assert_has(&d, "@:4:10: grace: \"3w\" is not a duration like 3d or 12h");
	assert_has(&d, "@:8:5: unknown key \"delimter\" in an input entry (did you mean \"delimiter\"?)");
	assert_has(&d, "@:9:18: date_format: \"%Y-%m\" must contain %Y, %m and %d once each and no other % directive");
	assert_has(&d, "@:11:7: columns: \"sales_id\" is not a sales column (did you mean \"sale_id\"?)");
	assert_has(&d, "@:14:11: kind: \"sale\" is not one of distributors, sales, products");
	assert_has(&d, "@:15:15: encoding: \"latin-9\" is not one of utf-8, windows-1252, iso-8859-1, iso-8859-15");
	assert_int_equal(pd_diag_count(&d), 7);
	pd_diag_free(&d);

	/* diag accumulates across loads: a second bad file adds to the count */
	pd_diag acc = {0};
	config *c = NULL;
	write_config("acc1", "x: 1\ny: 2\n");
	assert_int_equal(config_load(path, &c, &acc), -1);
	assert_int_equal(pd_diag_count(&acc), 2);
	write_config("acc2", "plan: p.yaml\n");
	/* a valid file with earlier messages in diag still loads */
	assert_int_equal(config_load(path, &c, &acc), 0);
	assert_non_null(c);
	assert_int_equal(pd_diag_count(&acc), 2);
	config_free(c);
	pd_diag_free(&acc);
}

/* ---- matching ------------------------------------------------------------- */

static void test_match(void **state)
{
	(void)state;
	config *c = load_ok("match",
			    "inputs:\n"
			    "  - match: \"sales-shop*.csv\"\n"
			    "    kind: sales\n"
			    "    delimiter: \";\"\n"
			    "  - match: \"sales*.csv\"\n"
			    "    kind: sales\n"
			    "  - match: \"*.csv\"\n"
			    "    kind: products\n"
			    "  - match: \"[dD]ist?.txt\"\n"
			    "    kind: distributors\n");
	/* first match wins, in file order */
	assert_ptr_equal(config_match(c, "sales-shop-2026-11.csv"), &c->inputs[0]);
	assert_ptr_equal(config_match(c, "sales-2026-11.csv"), &c->inputs[1]);
	assert_ptr_equal(config_match(c, "sales.2.csv"), &c->inputs[1]);
	assert_ptr_equal(config_match(c, "catalog.csv"), &c->inputs[2]);
	assert_ptr_equal(config_match(c, "Dist1.txt"), &c->inputs[3]);
	assert_null(config_match(c, "dist10.txt"));
	assert_null(config_match(c, "sales.txt"));
	assert_null(config_match(c, "sales.csv.part"));
	/* FNM_PERIOD: a leading dot is never matched by a wildcard */
	assert_null(config_match(c, ".sales.csv"));
	assert_null(config_match(c, ".csv"));
	assert_null(config_match(c, ".x.csv"));
	config_free(c);

	/* a pattern may name a leading dot itself */
	c = load_ok("match-dot", "inputs:\n  - match: \".*.csv\"\n    kind: sales\n");
	assert_ptr_equal(config_match(c, ".hidden.csv"), &c->inputs[0]);
	assert_null(config_match(c, "visible.csv"));
	config_free(c);

	/* the defaults */
	c = load_ok("match-default", "");
	assert_int_equal(config_match(c, "distributors.csv")->fmt.kind, KIND_DISTRIBUTORS);
	assert_int_equal(config_match(c, "sales-2026-11.csv")->fmt.kind, KIND_SALES);
	assert_int_equal(config_match(c, "products_fall.csv")->fmt.kind, KIND_PRODUCTS);
	assert_null(config_match(c, "Sales.csv"));
	assert_null(config_match(c, "orders.csv"));
	assert_null(config_match(c, "sales.csv.tmp"));
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_input_keys),
		cmocka_unit_test(test_input_value_errors),
		cmocka_unit_test(test_date_format),
		cmocka_unit_test(test_columns_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_close_grace),
		cmocka_unit_test(test_max_file_size),
		cmocka_unit_test(test_value_types),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_match),
	};
	return cmocka_run_group_tests(tests, setup_tmpdir, remove_tmpdir);
}
