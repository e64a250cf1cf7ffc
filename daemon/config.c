/*
 * config.c - config file keys are declared in one table; each value is
 * checked by its type and the whole file is validated before use.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "yamltree.h"

typedef struct cfg_ctx {
	const char *file;
	pd_diag *diag;
} cfg_ctx;

#define AT(n) ctx->file, (n)->line, (n)->col

static const char *const top_keys[] = {
	"plan", "database", "inbox", "archive", "rejected", "statements", "audit_log", "close", "inputs",
	"max_file_size",
};
static const char *const input_keys[] = {
	"match", "kind", "delimiter", "decimal", "date_format", "encoding", "columns",
};
static const char *const close_keys[] = {"grace"};

static int unknown_keys(cfg_ctx *ctx, const yt_node *map, const char *const *keys, size_t nkeys,
			const char *where)
{
	return yt_check_keys(map, keys, nkeys, where, ctx->file, ctx->diag) > 0;
}

static const char *want_string(cfg_ctx *ctx, const yt_node *n, const char *key)
{
	if (!n)
		return NULL;
	if (n->kind != YT_SCALAR || yt_is_null(n) || n->len == 0) {
		pd_diag_at(ctx->diag, AT(n), "%s: expected a non-empty string, found %s", key,
			   n->kind == YT_SCALAR ? "nothing" : yt_kind_name(n));
		return NULL;
	}
	if (memchr(n->str, '\0', n->len)) {
		pd_diag_at(ctx->diag, AT(n), "%s: contains a NUL byte", key);
		return NULL;
	}
	return n->str;
}

static char *path_key(cfg_ctx *ctx, const yt_node *root, const char *key, const char *dflt,
		      const char *base)
{
	const yt_node *n = yt_get(root, key);
	const char *v = n ? want_string(ctx, n, key) : dflt;
	return v ? fs_resolve(base, v) : NULL;
}

/* "3d" or "12h" -> seconds. */
static int parse_grace(const char *s, int64_t *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (v > 100000 || (strcmp(end, "d") != 0 && strcmp(end, "h") != 0))
		return -1;
	*out = (int64_t)v * (*end == 'd' ? 86400 : 3600);
	return 0;
}

/* "4G", "500M", "64K" (powers of 1024) or a number of bytes; 1K to 1T. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	if (*end) {
		const char *units = "KMGT", *u = strchr(units, *end);
		if (!u || end[1] != '\0')
			return -1;
		shift = 10 * (unsigned)(u - units + 1);
	}
	if (v > (1ull << 40) >> shift)
		return -1;
	v <<= shift;
	if (v < 1024)
		return -1;
	*out = v;
	return 0;
}

static void load_input(cfg_ctx *ctx, const yt_node *n, config_input *in)
{
	memset(in, 0, sizeof *in);
	in->fmt.decimal = '.';
	if (n->kind != YT_MAP) {
		pd_diag_at(ctx->diag, AT(n), "inputs: each entry must be a mapping, found %s", yt_kind_name(n));
		return;
	}
	unknown_keys(ctx, n, input_keys, sizeof input_keys / sizeof *input_keys, "an input entry");
	const yt_node *v;
	const char *s;
	if (!(v = yt_get(n, "match")))
		pd_diag_at(ctx->diag, AT(n), "inputs: entry has no \"match\" pattern");
	else if ((s = want_string(ctx, v, "match")))
		in->match = xstrdup(s);
	if (!(v = yt_get(n, "kind"))) {
		pd_diag_at(ctx->diag, AT(n), "inputs: entry has no \"kind\" (distributors, sales or products)");
	} else if ((s = want_string(ctx, v, "kind"))) {
		if (strcmp(s, "distributors") == 0)
			in->fmt.kind = KIND_DISTRIBUTORS;
		else if (strcmp(s, "sales") == 0)
			in->fmt.kind = KIND_SALES;
		else if (strcmp(s, "products") == 0)
			in->fmt.kind = KIND_PRODUCTS;
		else
			pd_diag_at(ctx->diag, AT(v), "kind: \"%s\" is not one of distributors, sales, products", s);
	}
	if ((v = yt_get(n, "delimiter")) && (s = want_string(ctx, v, "delimiter"))) {
		if (strcmp(s, "auto") == 0)
			in->fmt.delimiter = 0;
		else if (strcmp(s, ",") == 0 || strcmp(s, ";") == 0 || strcmp(s, "\t") == 0)
			in->fmt.delimiter = s[0];
		else if (strcmp(s, "tab") == 0)
			in->fmt.delimiter = '\t';
		else
			pd_diag_at(ctx->diag, AT(v), "delimiter: \"%s\" is not one of auto, \",\", \";\", tab", s);
	}
	if ((v = yt_get(n, "decimal")) && (s = want_string(ctx, v, "decimal"))) {
		if (strcmp(s, ".") == 0 || strcmp(s, ",") == 0)
			in->fmt.decimal = s[0];
		else
			pd_diag_at(ctx->diag, AT(v), "decimal: \"%s\" is not \".\" or \",\"", s);
	}
	in->date_format = xstrdup("%Y-%m-%d");
	if ((v = yt_get(n, "date_format")) && (s = want_string(ctx, v, "date_format"))) {
		/* the format must name a year, a month and a day, and nothing else */
		int y = 0, m = 0, d = 0, bad = 0;
		for (const char *p = s; *p; p++) {
			if (*p != '%')
				continue;
			p++;
			if (*p == 'Y') y++;
			else if (*p == 'm') m++;
			else if (*p == 'd') d++;
			else if (*p != '%') bad = 1;
			if (!*p) { bad = 1; break; }
		}
		if (bad || y != 1 || m != 1 || d != 1)
			pd_diag_at(ctx->diag, AT(v), "date_format: \"%s\" must contain %%Y, %%m and %%d once each and no other %% directive", s);
		else {
			free(in->date_format);
			in->date_format = xstrdup(s);
		}
	}
	in->encoding = xstrdup("utf-8");
	if ((v = yt_get(n, "encoding")) && (s = want_string(ctx, v, "encoding"))) {
		static const char *const encs[] = {"utf-8", "windows-1252", "iso-8859-1", "iso-8859-15"};
		int ok = 0;
		for (size_t i = 0; i < sizeof encs / sizeof *encs; i++)
			ok |= strcasecmp(s, encs[i]) == 0;
		iconv_t cd = ok ? iconv_open("UTF-8", s) : (iconv_t)-1;
		if (cd == (iconv_t)-1)
			pd_diag_at(ctx->diag, AT(v), "encoding: \"%s\" is not one of utf-8, windows-1252, iso-8859-1, iso-8859-15", s);
		else {
			iconv_close(cd);
			free(in->encoding);
			in->encoding = xstrdup(s);
		}
	}
	in->fmt.encoding = in->encoding;
	if ((v = yt_get(n, "columns"))) {
		if (v->kind != YT_MAP) {
			pd_diag_at(ctx->diag, AT(v), "columns: expected a mapping from canonical column names to header names");
		} else if (in->fmt.kind) {
			size_t ncols;
			const csvin_column *cols = csvin_columns(in->fmt.kind, &ncols);
			const char *names[CSVIN_MAX_COLS];
			for (size_t i = 0; i < ncols; i++)
				names[i] = cols[i].name;
			for (size_t i = 0; i < v->n; i++) {
				const yt_node *k = v->keys[i];
				int c = csvin_column_index(in->fmt.kind, k->str);
				if (c < 0) {
					const char *sug = yt_suggest(k->str, names, ncols);
					pd_diag_at(ctx->diag, AT(k), "columns: \"%s\" is not a %s column%s%s%s", k->str,
						   csvin_kind_name(in->fmt.kind), sug ? " (did you mean \"" : "",
						   sug ? sug : "", sug ? "\"?)" : "");
					continue;
				}
				if ((s = want_string(ctx, v->vals[i], k->str))) {
					in->header_names[c] = xstrdup(s);
					in->fmt.header[c] = in->header_names[c];
				}
			}
		}
	}
}

static void default_inputs(config *c)
{
	static const struct { const char *m; input_kind k; } d[] = {
		{"distributors*.csv", KIND_DISTRIBUTORS},
		{"sales*.csv", KIND_SALES},
		{"products*.csv", KIND_PRODUCTS},
	};
	c->n_inputs = 3;
	c->inputs = xcalloc(3, sizeof *c->inputs);
	for (size_t i = 0; i < 3; i++) {
		c->inputs[i].match = xstrdup(d[i].m);
		c->inputs[i].date_format = xstrdup("%Y-%m-%d");
		c->inputs[i].encoding = xstrdup("utf-8");
		c->inputs[i].fmt.kind = d[i].k;
		c->inputs[i].fmt.decimal = '.';
		c->inputs[i].fmt.encoding = c->inputs[i].encoding;
	}
}

int config_load(const char *path, config **out, pd_diag *diag)
{
	pd_err err;
	size_t before = pd_diag_count(diag);
	yt_node *root = yt_load_file(path, &err);
	if (!root) {
		pd_diag_add(diag, "%s", err.msg);
		return -1;
	}
	cfg_ctx cx = {path, diag}, *ctx = &cx;
	config *c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	c->dir = fs_dirname(path);
	if (root->kind != YT_MAP) {
		pd_diag_at(diag, AT(root), "the config must be a mapping of keys to values");
		goto done;
	}
	unknown_keys(ctx, root, top_keys, sizeof top_keys / sizeof *top_keys, "the config");
	c->plan = path_key(ctx, root, "plan", "plan.yaml", c->dir);
	c->database = path_key(ctx, root, "database", "state/ledger.db", c->dir);
	c->inbox = path_key(ctx, root, "inbox", "state/inbox", c->dir);
	c->archive = path_key(ctx, root, "archive", "state/archive", c->dir);
	c->rejected = path_key(ctx, root, "rejected", "state/rejected", c->dir);
	c->statements = path_key(ctx, root, "statements", "state/statements", c->dir);
	c->audit_log = path_key(ctx, root, "audit_log", "state/audit.log", c->dir);
	c->max_file_size = CONFIG_MAX_FILE_SIZE;
	const yt_node *ms = yt_get(root, "max_file_size");
	const char *mss;
	if (ms && (mss = want_string(ctx, ms, "max_file_size")) && parse_size(mss, &c->max_file_size) < 0)
		pd_diag_at(diag, AT(ms), "max_file_size: \"%s\" is not a size from 1K to 1T like 4G or 500M", mss);
	c->grace_seconds = 3 * 86400;
	const yt_node *cl = yt_get(root, "close");
	if (cl) {
		if (cl->kind != YT_MAP) {
			pd_diag_at(diag, AT(cl), "close: expected a mapping");
		} else {
			unknown_keys(ctx, cl, close_keys, 1, "close");
			const yt_node *g = yt_get(cl, "grace");
			const char *s;
			if (g && (s = want_string(ctx, g, "grace")) && parse_grace(s, &c->grace_seconds) < 0)
				pd_diag_at(diag, AT(g), "grace: \"%s\" is not a duration like 3d or 12h", s);
		}
	}
	const yt_node *ins = yt_get(root, "inputs");
	if (!ins || yt_is_null(ins)) {
		default_inputs(c);
	} else if (ins->kind != YT_SEQ || ins->n == 0) {
		pd_diag_at(diag, AT(ins), "inputs: expected a non-empty list of input entries");
	} else {
		c->n_inputs = ins->n;
		c->inputs = xcalloc(ins->n, sizeof *c->inputs);
		for (size_t i = 0; i < ins->n; i++)
			load_input(ctx, ins->vals[i], &c->inputs[i]);
	}
done:
	yt_free(root);
	if (pd_diag_count(diag) > before) {
		config_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void config_free(config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_inputs; i++) {
		config_input *in = &c->inputs[i];
		free(in->match);
		free(in->date_format);
		free(in->encoding);
		for (int k = 0; k < CSVIN_MAX_COLS; k++)
			free(in->header_names[k]);
	}
	free(c->inputs);
	free(c->path);
	free(c->dir);
	free(c->plan);
	free(c->database);
	free(c->inbox);
	free(c->archive);
	free(c->rejected);
	free(c->statements);
	free(c->audit_log);
	free(c);
}

const config_input *config_match(const config *c, const char *filename)
{
	for (size_t i = 0; i < c->n_inputs; i++)
		if (c->inputs[i].match && fnmatch(c->inputs[i].match, filename, FNM_PERIOD) == 0)
			return &c->inputs[i];
	return NULL;
}

char *config_work_dir(const config *c)
{
	return fs_join(c->inbox, ".work");
}
