/*
 * placement.c - the placement tree in memory for one booking.
 *
 * Automatic placement is a breadth-first search of the sponsor's placement
 * subtree for the first free slot. Done naively, a star (one sponsor, n new
 * recruits) costs n^2/2 node visits. Instead each sponsor keeps its search
 * queue for the whole booking: the nodes before the queue's head are full
 * (both slots taken), and since a slot once taken is never freed and a new
 * node always lands one level below a node that still had a free slot (at
 * or after the head in breadth-first order), the part of the order before
 * the head never changes. So the next search of that sponsor resumes at the
 * head, and every node is passed over at most once per sponsor whose
 * subtree holds it and who recruits in this booking: a star or a chain
 * costs O(n).
 */
#include "placement.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "idset.h"

enum {
	F_STORED = 1,  /* in the ledger: its children there are loaded on demand */
	F_LOADED = 2,  /* those children are here */
	F_WANT = 4,    /* queued for automatic placement */
	F_DONE = 8,    /* and placed (or made a root) */
};

typedef struct pl_node {
	size_t name;            /* offset into names */
	int32_t parent, child[2];
	int32_t sponsor;        /* while F_WANT */
	int32_t wait_first, wait_last, wait_next; /* recruits waiting for this node */
	int32_t bfs;            /* its search queue (index into queues), or PL_NONE */
	uint8_t leg, flags;
} pl_node;

typedef struct pl_queue {
	int32_t *a;
	size_t head, n, cap;
} pl_queue;

struct placement {
	placement_loader load;
	void *ctx;
	idset *ids;             /* id -> node number */
	pl_node *nodes;
	size_t n, cap;
	char *names;
	size_t names_used, names_cap;
	pl_queue *queues;
	size_t nq, capq;
	int32_t *want;
	size_t nwant, capwant;
};

placement *placement_new(placement_loader load, void *ctx)
{
	placement *pl = xcalloc(1, sizeof *pl);
	pl->load = load;
	pl->ctx = ctx;
	pl->ids = idset_new();
	return pl;
}

void placement_free(placement *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->nq; i++)
		free(pl->queues[i].a);
	free(pl->queues);
	idset_free(pl->ids);
	free(pl->nodes);
	free(pl->names);
	free(pl->want);
	free(pl);
}

int32_t placement_node(placement *pl, const char *id, size_t len)
{
	int created = 0;
	size_t k = idset_put(pl->ids, id, len, &created);
	if (k == SIZE_MAX || k >= INT32_MAX)
		return PL_NONE;
	if (!created)
		return (int32_t)k;
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 1024;
		pl->nodes = xrealloc(pl->nodes, pl->cap * sizeof *pl->nodes);
	}
	if (pl->names_used + len + 1 > pl->names_cap) {
		pl->names_cap = (pl->names_used + len + 1) * 2 + 4096;
		pl->names = xrealloc(pl->names, pl->names_cap);
	}
	pl_node *x = &pl->nodes[pl->n++];
	x->name = pl->names_used;
	memcpy(pl->names + pl->names_used, id, len);
	pl->names[pl->names_used + len] = '\0';
	pl->names_used += len + 1;
	x->parent = x->child[0] = x->child[1] = PL_NONE;
	x->sponsor = x->wait_first = x->wait_last = x->wait_next = x->bfs = PL_NONE;
	x->leg = 0;
	x->flags = 0;
	return (int32_t)k;
}

int32_t placement_find(const placement *pl, const char *id, size_t len)
{
	size_t k = idset_find(pl->ids, id, len);
	return k == SIZE_MAX ? PL_NONE : (int32_t)k;
}

size_t placement_count(const placement *pl)
{
	return pl->n;
}

const char *placement_name(const placement *pl, int32_t node)
{
	return pl->names + pl->nodes[node].name;
}

void placement_set_stored(placement *pl, int32_t node)
{
	pl->nodes[node].flags |= F_STORED;
}

int32_t placement_parent(const placement *pl, int32_t node, int *leg)
{
	const pl_node *x = &pl->nodes[node];
	if (leg && x->parent != PL_NONE)
		*leg = x->leg;
	return x->parent;
}

void placement_attach(placement *pl, int32_t parent, int leg, int32_t child)
{
	pl->nodes[parent].child[leg] = child;
	pl->nodes[child].parent = parent;
	pl->nodes[child].leg = (uint8_t)leg;
}

void placement_detach(placement *pl, int32_t node)
{
	pl_node *x = &pl->nodes[node];
	if (x->parent == PL_NONE)
		return;
	pl->nodes[x->parent].child[x->leg] = PL_NONE;
	x->parent = PL_NONE;
}

/* The ledger's children of node, once (the loader may add nodes: no pointers kept across it). */
static int ensure_loaded(placement *pl, int32_t node)
{
	uint8_t f = pl->nodes[node].flags;
	if (!(f & F_STORED) || (f & F_LOADED) || !pl->load)
		return 0;
	pl->nodes[node].flags |= F_LOADED;
	size_t name = pl->nodes[node].name;
	/* the loader may grow names: hand it a copy that stays put */
	char id[256];
	size_t len = strlen(pl->names + name);
	if (len >= sizeof id)
		return -1;
	memcpy(id, pl->names + name, len + 1);
	return pl->load(pl->ctx, pl, node, id);
}

int placement_slot(placement *pl, int32_t parent, int leg, int32_t *holder)
{
	if (ensure_loaded(pl, parent) < 0)
		return -1;
	*holder = pl->nodes[parent].child[leg];
	return 0;
}

size_t placement_cycles(placement *pl, placement_cycle_fn fn, void *ctx)
{
	/* stamp: the walk that first reached a node (0: none yet). Reaching a
	 * node of the current walk again is a cycle; an earlier walk's node is
	 * known to end at a root or at a cycle already reported. */
	size_t n = pl->n, found = 0, npath = 0;
	uint32_t *stamp = xcalloc(n ? n : 1, sizeof *stamp);
	int32_t *path = xmalloc((n ? n : 1) * sizeof *path);
	for (size_t i = 0; i < n; i++) {
		if (stamp[i] || pl->nodes[i].parent == PL_NONE)
			continue;
		uint32_t walk = (uint32_t)i + 1;
		npath = 0;
		for (int32_t cur = (int32_t)i; cur != PL_NONE; cur = pl->nodes[cur].parent) {
			if (stamp[cur] == walk) {
				size_t start = 0;
				while (path[start] != cur)
					start++;
				fn(ctx, pl, path + start, npath - start);
				found++;
				break;
			}
			if (stamp[cur])
				break;
			stamp[cur] = walk;
			path[npath++] = cur;
		}
	}
	free(path);
	free(stamp);
	return found;
}

void placement_want(placement *pl, int32_t node, int32_t sponsor)
{
	if (pl->nwant == pl->capwant) {
		pl->capwant = pl->capwant ? pl->capwant * 2 : 1024;
		pl->want = xrealloc(pl->want, pl->capwant * sizeof *pl->want);
	}
	pl->want[pl->nwant++] = node;
	pl->nodes[node].flags |= F_WANT;
	pl->nodes[node].sponsor = sponsor;
}

static void queue_push(pl_queue *q, int32_t v)
{
	if (q->n == q->cap) {
		if (q->head > 0 && q->head >= q->n / 2) {
			/* drop the passed-over part instead of growing */
			memmove(q->a, q->a + q->head, (q->n - q->head) * sizeof *q->a);
			q->n -= q->head;
			q->head = 0;
		} else {
			q->cap = q->cap ? q->cap * 2 : 8;
			q->a = xrealloc(q->a, q->cap * sizeof *q->a);
		}
	}
	q->a[q->n++] = v;
}

/* The first free slot, breadth-first, left before right, under top (see the top of the file). */
static int first_free(placement *pl, int32_t top, int32_t *parent, int *leg)
{
	if (pl->nodes[top].bfs == PL_NONE) {
		if (pl->nq == pl->capq) {
			pl->capq = pl->capq ? pl->capq * 2 : 64;
			pl->queues = xrealloc(pl->queues, pl->capq * sizeof *pl->queues);
		}
		memset(&pl->queues[pl->nq], 0, sizeof *pl->queues);
		queue_push(&pl->queues[pl->nq], top);
		pl->nodes[top].bfs = (int32_t)pl->nq++;
	}
	pl_queue *q = &pl->queues[pl->nodes[top].bfs];
	for (;;) {
		/* never empty: a node leaves only when full, and its two children come in */
		int32_t x = q->a[q->head];
		if (ensure_loaded(pl, x) < 0)
			return -1;
		for (int l = 0; l < 2; l++)
			if (pl->nodes[x].child[l] == PL_NONE) {
				*parent = x;
				*leg = l;
				return 0;
			}
		q->head++;
		queue_push(q, pl->nodes[x].child[0]);
		queue_push(q, pl->nodes[x].child[1]);
	}
}

/* 1 when a lies on the path from s up to its root. */
static int is_above(const placement *pl, int32_t a, int32_t s)
{
	size_t steps = 0;
	for (int32_t x = s; x != PL_NONE && steps <= pl->n; x = pl->nodes[x].parent, steps++)
		if (x == a)
			return 1;
	return 0;
}

static int place_one(placement *pl, int32_t x, placement_auto_cycle_fn on_cycle, void *ctx)
{
	pl->nodes[x].flags |= F_DONE;
	int32_t s = pl->nodes[x].sponsor;
	if (s == PL_NONE)
		return 0; /* a root */
	/* only a node that already has children (given placements under it) can
	 * have its sponsor below it */
	if ((pl->nodes[x].child[0] != PL_NONE || pl->nodes[x].child[1] != PL_NONE) && is_above(pl, x, s)) {
		if (on_cycle)
			on_cycle(ctx, pl, x, s);
		return 0;
	}
	int32_t p;
	int leg;
	if (first_free(pl, s, &p, &leg) < 0)
		return -1;
	placement_attach(pl, p, leg, x);
	return 0;
}

int placement_run(placement *pl, placement_auto_cycle_fn on_cycle, void *ctx)
{
	int32_t *fifo = NULL;
	size_t cap = 0;
	int rc = 0;
	for (size_t k = 0; k < pl->nwant && rc == 0; k++) {
		int32_t x = pl->want[k];
		if (pl->nodes[x].flags & F_DONE)
			continue;
		int32_t s = pl->nodes[x].sponsor;
		if (s != PL_NONE && (pl->nodes[s].flags & (F_WANT | F_DONE)) == F_WANT) {
			/* its sponsor comes later: wait for it */
			if (pl->nodes[s].wait_last == PL_NONE)
				pl->nodes[s].wait_first = x;
			else
				pl->nodes[pl->nodes[s].wait_last].wait_next = x;
			pl->nodes[s].wait_last = x;
			continue;
		}
		if (place_one(pl, x, on_cycle, ctx) < 0) {
			rc = -1;
			break;
		}
		/* then those that waited for it, first in, first out */
		size_t head = 0, n = 0;
		if (cap == 0) {
			cap = 64;
			fifo = xrealloc(fifo, cap * sizeof *fifo);
		}
		fifo[n++] = x;
		while (head < n && rc == 0) {
			int32_t y = fifo[head++];
			for (int32_t w = pl->nodes[y].wait_first; w != PL_NONE; w = pl->nodes[w].wait_next) {
				if (place_one(pl, w, on_cycle, ctx) < 0) {
					rc = -1;
					break;
				}
				if (n == cap) {
					cap *= 2;
					fifo = xrealloc(fifo, cap * sizeof *fifo);
				}
				fifo[n++] = w;
			}
		}
	}
	/* whoever still waits has a sponsor cycle (refused before, never
	 * stored): such a node stays a root */
	for (size_t k = 0; k < pl->nwant && rc == 0; k++)
		pl->nodes[pl->want[k]].flags |= F_DONE;
	free(fifo);
	return rc;
}
