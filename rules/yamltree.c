/*
 * yamltree.c - YAML text -> yt_node tree, refusing anything we do not need.
 *
 * Built from libyaml's event stream (not its document API) so every limit
 * is checked as the input is read: an alias bomb or a 10^5-deep nesting is
 * refused at its first anchor or 33rd level, before it costs any memory.
 *
 * Invariant while building: every node is attached to its parent (or is
 * the root) the moment it is created, so on any error one yt_free(root)
 * releases everything.
 */
#include "yamltree.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* An open mapping or sequence and the capacity of its arrays. */
typedef struct frame {
	yt_node *node;
	size_t cap;
} frame;

typedef struct builder {
	const char *name;
	pd_err *err;
	yt_node *root;
	frame stack[YT_MAX_DEPTH];
	int depth;
	size_t nodes;
	int docs;
} builder;

static int mark_line(const yaml_mark_t *m)
{
	return (int)m->line + 1;
}

static int mark_col(const yaml_mark_t *m)
{
	return (int)m->column + 1;
}

static int fail(builder *b, const yaml_mark_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(builder *b, const yaml_mark_t *at, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pd_errf(b->err, "%s:%d:%d: %s", b->name, mark_line(at), mark_col(at), msg);
}

/* A mapping whose last key still waits for its value (vals[n-1] is NULL
 * only in that window). */
static bool awaiting_value(const yt_node *map)
{
	return map->n > 0 && map->vals[map->n - 1] == NULL;
}

static void grow(frame *f)
{
	yt_node *c = f->node;
	if (c->n < f->cap)
		return;
	f->cap = f->cap ? f->cap * 2 : 4;
	c->vals = xrealloc(c->vals, f->cap * sizeof *c->vals);
	if (c->kind == YT_MAP)
		c->keys = xrealloc(c->keys, f->cap * sizeof *c->keys);
}

/* Creates a node starting at `at` and hangs it in the innermost open
 * container (as a key or a value) or makes it the root. */
static yt_node *add_node(builder *b, yt_kind kind, const yaml_mark_t *at)
{
	if (++b->nodes > YT_MAX_NODES) {
		fail(b, at, "more than %d nodes", YT_MAX_NODES);
		return NULL;
	}
	frame *top = b->depth ? &b->stack[b->depth - 1] : NULL;
	bool is_key = top && top->node->kind == YT_MAP && !awaiting_value(top->node);
	if (is_key && kind != YT_SCALAR) {
		fail(b, at, "mapping keys must be scalars");
		return NULL;
	}

	yt_node *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->line = mark_line(at);
	n->col = mark_col(at);
	if (!top) {
		b->root = n;
	} else if (top->node->kind == YT_SEQ) {
		grow(top);
		top->node->vals[top->node->n++] = n;
	} else if (is_key) {
		grow(top);
		top->node->keys[top->node->n] = n;
		top->node->vals[top->node->n++] = NULL;
	} else {
		top->node->vals[top->node->n - 1] = n;
	}
	return n;
}

/* Anchors, aliases and tags are refused rather than resolved: our files
 * never need them, and aliases are how small YAML becomes huge trees. */
static int check_props(builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
		       const yaml_char_t *tag)
{
	if (anchor)
		return fail(b, &ev->start_mark, "anchors and aliases are not allowed");
	if (tag)
		return fail(b, &ev->start_mark, "tags are not allowed (\"%.64s\")", (const char *)tag);
	return 0;
}

static int scalar_cmp(const yt_node *a, const yt_node *b)
{
	int c = memcmp(a->str, b->str, a->len < b->len ? a->len : b->len);
	if (c != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static bool before(const yt_node *a, const yt_node *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* By text, then document order, so equal keys sit together, first one first. */
static int key_order(const void *pa, const void *pb)
{
	const yt_node *a = *(const yt_node *const *)pa, *b = *(const yt_node *const *)pb;
	int c = scalar_cmp(a, b);
	if (c != 0)
		return c;
	return before(a, b) ? -1 : before(b, a);
}

/* Duplicate keys are found by sorting when the mapping closes: O(n log n)
 * even for a hostile 100 000-key mapping. Reports the earliest repeat. */
static int check_dups(builder *b, const yt_node *map)
{
	if (map->n < 2)
		return 0;
	yt_node **k = xmalloc(map->n * sizeof *k);
	memcpy(k, map->keys, map->n * sizeof *k);
	qsort(k, map->n, sizeof *k, key_order);

	const yt_node *dup = NULL, *first = NULL, *group = k[0];
	for (size_t i = 1; i < map->n; i++) {
		if (scalar_cmp(k[i - 1], k[i]) != 0)
			group = k[i];
		else if (!dup || before(k[i], dup)) {
			dup = k[i];
			first = group;
		}
	}
	free(k);
	if (!dup)
		return 0;
	return pd_errf(b->err, "%s:%d:%d: duplicate key \"%.64s\" (first at line %d)", b->name,
		       dup->line, dup->col, dup->str, first->line);
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
	if (check_props(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag) < 0)
		return -1;
	size_t len = ev->data.scalar.length;
	if (len > YT_MAX_SCALAR)
		return fail(b, &ev->start_mark, "value is longer than %d bytes", YT_MAX_SCALAR);
	yt_node *n = add_node(b, YT_SCALAR, &ev->start_mark);
	if (!n)
		return -1;
	n->str = xmalloc(len + 1);
	memcpy(n->str, ev->data.scalar.value, len);
	n->str[len] = '\0';
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return 0;
}

static int on_open(builder *b, const yaml_event_t *ev, yt_kind kind, const yaml_char_t *anchor,
		   const yaml_char_t *tag)
{
	if (check_props(b, ev, anchor, tag) < 0)
		return -1;
	if (b->depth == YT_MAX_DEPTH)
		return fail(b, &ev->start_mark, "nested deeper than %d levels", YT_MAX_DEPTH);
	yt_node *n = add_node(b, kind, &ev->start_mark);
	if (!n)
		return -1;
	b->stack[b->depth++] = (frame){ .node = n, .cap = 0 };
	return 0;
}

static int on_event(builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return fail(b, &ev->start_mark, "more than one document (only one is allowed)");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(b, &ev->start_mark, "anchors and aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_open(b, ev, YT_SEQ, ev->data.sequence_start.anchor,
			       ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return on_open(b, ev, YT_MAP, ev->data.mapping_start.anchor,
			       ev->data.mapping_start.tag);
	case YAML_MAPPING_END_EVENT:
		b->depth--;
		return check_dups(b, b->stack[b->depth].node);
	case YAML_SEQUENCE_END_EVENT:
		b->depth--;
		return 0;
	default:
		return 0;
	}
}

/* libyaml gives reader errors (bad UTF-8, control characters) as a byte
 * offset, not a mark: count lines and characters up to it ourselves. */
static yaml_mark_t offset_mark(const char *buf, size_t len, size_t off)
{
	yaml_mark_t m = { 0 };
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)buf[i] & 0xC0) != 0x80) {
			m.column++;
		}
	}
	return m;
}

static int parse_error(builder *b, const yaml_parser_t *p, const char *buf, size_t len)
{
	if (p->error == YAML_MEMORY_ERROR)
		return fail(b, &p->mark, "out of memory");
	yaml_mark_t at = p->problem_mark;
	if (p->error == YAML_READER_ERROR)
		at = offset_mark(buf, len, p->problem_offset);
	const char *what = p->problem ? p->problem : "not valid YAML";
	if (p->context)
		return fail(b, &at, "%s (%s at line %d)", what, p->context, mark_line(&p->context_mark));
	return fail(b, &at, "%s", what);
}

/* An empty file or a null document ("", "---", "~") reads as an empty
 * mapping, so callers can treat "nothing configured" like "no keys". */
static yt_node *finish(builder *b)
{
	yt_node *r = b->root;
	if (r && !yt_is_null(r))
		return r;
	yt_free(r);
	r = xcalloc(1, sizeof *r);
	r->kind = YT_MAP;
	r->line = 1;
	r->col = 1;
	return r;
}

yt_node *yt_load_buf(const char *name, const char *buf, size_t len, pd_err *err)
{
	builder b = { .name = name, .err = err };
	yaml_mark_t start = { 0 };
	if (len > YT_MAX_BYTES) {
		fail(&b, &start, "file is larger than %u bytes", YT_MAX_BYTES);
		return NULL;
	}
	if (len == 0)
		buf = ""; /* libyaml asserts on a NULL input even when empty */

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		fail(&b, &start, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	int rc = 0;
	bool done = false;
	while (rc == 0 && !done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parse_error(&b, &parser, buf, len);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		rc = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (rc != 0) {
		yt_free(b.root);
		return NULL;
	}
	return finish(&b);
}

/* Reads at most YT_MAX_BYTES + 1 bytes so a file that grows after fstat
 * is still caught. Returns the byte count, or -1 with errno set. */
static ssize_t read_capped(int fd, char *buf)
{
	size_t got = 0;
	while (got < (size_t)YT_MAX_BYTES + 1) {
		ssize_t r = read(fd, buf + got, (size_t)YT_MAX_BYTES + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

yt_node *yt_load_file(const char *path, pd_err *err)
{
	builder b = { .name = path, .err = err };
	yaml_mark_t start = { 0 };
	/* No symlinks: the file read is the file named. O_NONBLOCK only so
	 * that opening a FIFO cannot hang us; it is refused just below. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			fail(&b, &start, "is a symbolic link (not followed)");
		else
			fail(&b, &start, "cannot open: %s", strerror(e));
		return NULL;
	}

	yt_node *root = NULL;
	char *buf = NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		fail(&b, &start, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(&b, &start, "not a regular file");
		goto out;
	}
	if (st.st_size > (off_t)YT_MAX_BYTES) {
		fail(&b, &start, "file is larger than %u bytes", YT_MAX_BYTES);
		goto out;
	}
	buf = xmalloc((size_t)YT_MAX_BYTES + 1);
	ssize_t len = read_capped(fd, buf);
	if (len < 0) {
		fail(&b, &start, "cannot read: %s", strerror(errno));
		goto out;
	}
	root = yt_load_buf(path, buf, (size_t)len, err);
out:
	free(buf);
	close(fd);
	return root;
}

void yt_free(yt_node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		if (n->keys)
			yt_free(n->keys[i]);
		yt_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	free(n->str);
	free(n);
}

const yt_node *yt_get(const yt_node *map, const char *key)
{
	if (!map || map->kind != YT_MAP)
		return NULL;
	size_t len = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const yt_node *k = map->keys[i];
		if (k->len == len && memcmp(k->str, key, len) == 0)
			return map->vals[i];
	}
	return NULL;
}

bool yt_is_null(const yt_node *n)
{
	if (!n || n->kind != YT_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const char *yt_kind_name(const yt_node *n)
{
	switch (n ? n->kind : 0) {
	case YT_SCALAR:
		return "scalar";
	case YT_MAP:
		return "mapping";
	case YT_SEQ:
		return "sequence";
	default:
		return "nothing";
	}
}

/* Keys are short; longer words are never near-misses worth suggesting,
 * and the cap keeps the distance rows on the stack. */
#define SUGGEST_MAX 64

/* Case-insensitive Levenshtein distance; a, b at most SUGGEST_MAX long. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t prev[SUGGEST_MAX + 1], cur[SUGGEST_MAX + 1];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			bool same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
			size_t best = prev[j - 1] + (same ? 0 : 1);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			cur[j] = best;
		}
		memcpy(prev, cur, (lb + 1) * sizeof *prev);
	}
	return prev[lb];
}

const char *yt_suggest(const char *word, const char *const *candidates, size_t n)
{
	size_t lw = strlen(word);
	if (lw > SUGGEST_MAX)
		return NULL;
	size_t limit = lw > 6 ? lw / 3 : 2;
	const char *best = NULL;
	size_t best_d = limit + 1;
	for (size_t i = 0; i < n; i++) {
		size_t lc = strlen(candidates[i]);
		/* the length difference alone already exceeds the limit */
		if (lc > SUGGEST_MAX || (lc > lw ? lc - lw : lw - lc) > limit)
			continue;
		size_t d = edit_distance(word, lw, candidates[i], lc);
		if (d < best_d) {
			best = candidates[i];
			best_d = d;
		}
	}
	return best;
}

void yt_unknown_key(const yt_node *key, const char *const *keys, size_t nkeys, const char *where,
		    const char *file, pd_diag *diag)
{
	const char *s = yt_suggest(key->str, keys, nkeys);
	pd_diag_at(diag, file, key->line, key->col, "unknown key \"%s\" in %s%s%s%s", key->str, where,
		   s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
}

size_t yt_check_keys(const yt_node *map, const char *const *keys, size_t nkeys, const char *where,
		     const char *file, pd_diag *diag)
{
	size_t bad = 0;
	for (size_t i = 0; i < map->n; i++) {
		size_t j = 0;
		while (j < nkeys && strcmp(map->keys[i]->str, keys[j]) != 0)
			j++;
		if (j == nkeys) {
			yt_unknown_key(map->keys[i], keys, nkeys, where, file, diag);
			bad++;
		}
	}
	return bad;
}
