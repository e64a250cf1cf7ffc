/*
 * placement.h - the placement tree of binary plans (SPEC 6.8, 11.24), held in
 * memory for one booking: the nodes a distributors file touches, what the
 * ledger holds around them (children loaded on demand, one indexed query per
 * node), and the placements the file adds. ingest.c uses it for a file,
 * ledger.c for the migration to schema version 4. docs/placement.md has the
 * rules and the algorithm.
 *
 * Nodes are numbered 0, 1, 2... in order of creation. A node has at most one
 * parent (PL_NONE: a root, or not placed yet) and two child slots, left (0)
 * and right (1).
 */
#ifndef PAYOUTD_PLACEMENT_H
#define PAYOUTD_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

#define PL_NONE (-1)
enum { PL_LEFT = 0, PL_RIGHT = 1 };

typedef struct placement placement;

/*
 * Loads the children that the ledger holds for a node marked stored: calls
 * placement_attach(pl, node, leg, placement_node(pl, child id)) for each
 * and marks those children stored. Returns 0, or -1 (the booking fails).
 */
typedef int (*placement_loader)(void *ctx, placement *pl, int32_t node, const char *id);

/* load may be NULL: nothing is stored (the migration holds every node). Freed with placement_free. */
placement *placement_new(placement_loader load, void *ctx);
void placement_free(placement *pl);

/* The node of id, created when missing; PL_NONE when the id cannot be stored. */
int32_t placement_node(placement *pl, const char *id, size_t len);
/* The node of id, or PL_NONE. */
int32_t placement_find(const placement *pl, const char *id, size_t len);
size_t placement_count(const placement *pl);
const char *placement_name(const placement *pl, int32_t node);
/* The node is in the ledger: its children there are loaded before its slots are looked at. */
void placement_set_stored(placement *pl, int32_t node);
/* The parent (PL_NONE: none) and, when there is one, *leg. */
int32_t placement_parent(const placement *pl, int32_t node, int *leg);
/* Puts child into the free slot (parent, leg). */
void placement_attach(placement *pl, int32_t parent, int leg, int32_t child);
/* Takes node out of its parent's slot (the migration drops a bad placement). */
void placement_detach(placement *pl, int32_t node);

/* The node in slot (parent, leg) into *holder (PL_NONE: free); loads the
 * parent's ledger children first. 0, or -1 when the loader failed. */
int placement_slot(placement *pl, int32_t parent, int leg, int32_t *holder);

/*
 * Finds every cycle among the parent links (A under B under A) and calls
 * fn with its members, child before parent, starting at the node first
 * reached twice. fn may detach a member. Linear in the nodes. Returns the
 * number of cycles.
 */
typedef void (*placement_cycle_fn)(void *ctx, placement *pl, const int32_t *members, size_t n);
size_t placement_cycles(placement *pl, placement_cycle_fn fn, void *ctx);

/*
 * Automatic placement. placement_want queues node (in the order of the
 * calls) with its sponsor (PL_NONE: it has none and becomes a root).
 * placement_run then places every queued node, in queue order, except that
 * a node whose sponsor is queued and not placed yet waits, and is placed
 * right after its sponsor (its waiting recruits first in, first out). A
 * node goes to the first free slot, breadth-first, left before right, of
 * the placement subtree rooted at its sponsor. When that would make a cycle
 * (the sponsor lies below the node, which already has children), on_cycle
 * is called and the node stays a root. Returns 0, or -1 when the loader failed.
 */
void placement_want(placement *pl, int32_t node, int32_t sponsor);
typedef void (*placement_auto_cycle_fn)(void *ctx, placement *pl, int32_t node, int32_t sponsor);
int placement_run(placement *pl, placement_auto_cycle_fn on_cycle, void *ctx);

#endif
