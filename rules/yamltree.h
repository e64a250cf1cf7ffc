/*
 * yamltree.h - a small, hostile-input-safe YAML document tree on libyaml.
 *
 * The config and the plan are read into this tree first, then checked
 * against key tables (config.c, plan.c). Every node carries the 1-based
 * line and column of its start so all errors can say FILE:LINE:COLUMN.
 *
 * Refused outright (one error, no tree): files over YT_MAX_BYTES, more than
 * one document, anchors and aliases, explicit tags (other than none), nesting
 * deeper than YT_MAX_DEPTH, non-scalar mapping keys, duplicate keys in a
 * mapping, scalars longer than YT_MAX_SCALAR, syntax errors. An empty file
 * gives an empty mapping.
 */
#ifndef PAYOUTD_YAMLTREE_H
#define PAYOUTD_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define YT_MAX_BYTES (1u << 20)
#define YT_MAX_DEPTH 32
#define YT_MAX_SCALAR 65536
#define YT_MAX_NODES 200000

typedef enum { YT_SCALAR = 1, YT_MAP, YT_SEQ } yt_kind;

typedef struct yt_node {
	yt_kind kind;
	int line, col;          /* 1-based, from libyaml's start mark */
	/* YT_SCALAR: */
	char *str;              /* NUL-terminated, owned by the tree */
	size_t len;
	bool plain;             /* unquoted (so "null"/"~"/"" may mean null) */
	/* YT_MAP: keys[i] (scalars) and vals[i]; YT_SEQ: vals[i]. n entries. */
	struct yt_node **keys;
	struct yt_node **vals;
	size_t n;
} yt_node;

/* Loads a file. Returns a tree owned by the caller (yt_free), or NULL with
 * err = "FILE:LINE:COLUMN: message". */
yt_node *yt_load_file(const char *path, pd_err *err);
/* Same from memory; `name` is used in messages. */
yt_node *yt_load_buf(const char *name, const char *buf, size_t len, pd_err *err);
void yt_free(yt_node *n);

/* Value for key in a mapping, or NULL (also when map is not a mapping). */
const yt_node *yt_get(const yt_node *map, const char *key);
/* A plain scalar that YAML would read as null: "", "~", "null", "Null", "NULL". */
bool yt_is_null(const yt_node *n);
/* "mapping" / "sequence" / "scalar" for messages. */
const char *yt_kind_name(const yt_node *n);

/* The candidate closest to `word` by edit distance when that distance is
 * at most 2 (or a third of the word's length for long words), else NULL. */
const char *yt_suggest(const char *word, const char *const *candidates, size_t n);

/* Reports one unknown key as "FILE:LINE:COLUMN: unknown key "k" in WHERE
 * (did you mean "x"?)", the suggestion from keys when one is close. */
void yt_unknown_key(const yt_node *key, const char *const *keys, size_t nkeys, const char *where,
		    const char *file, pd_diag *diag);
/* Reports every key of map that is not in keys; returns how many. */
size_t yt_check_keys(const yt_node *map, const char *const *keys, size_t nkeys, const char *where,
		     const char *file, pd_diag *diag);

#endif
