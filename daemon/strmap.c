/*
 * strmap.c - open addressing with linear probing. Keys up to INLINE bytes
 * live inside the slot, so a lookup of a typical id costs one cache miss
 * (this map sits on the per-row path of a 10-million-row ingest).
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define INLINE 20

typedef struct slot {
	uint64_t hash;   /* 0: empty (real hashes have the low bit set) */
	int64_t value;
	uint32_t len;
	char inl[INLINE]; /* the key when len <= INLINE, else a pointer into the arena */
} slot;

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
} chunk;

struct strmap {
	slot *slots;
	size_t cap, count; /* cap is a power of two */
	chunk *arena;
};

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a murmur finaliser to spread the low bits */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h | 1;
}

strmap *strmap_new(void)
{
	strmap *m = xcalloc(1, sizeof *m);
	m->cap = 64;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	return m;
}

static void free_arena(strmap *m)
{
	while (m->arena) {
		chunk *n = m->arena->next;
		free(m->arena);
		m->arena = n;
	}
}

void strmap_free(strmap *m)
{
	if (!m)
		return;
	free_arena(m);
	free(m->slots);
	free(m);
}

void strmap_clear(strmap *m)
{
	free_arena(m);
	memset(m->slots, 0, m->cap * sizeof *m->slots);
	m->count = 0;
}

static const char *arena_copy(strmap *m, const char *s, size_t len)
{
	if (!m->arena || m->arena->used + len + 1 > m->arena->cap) {
		size_t cap = len + 1 > 65536 ? len + 1 : 65536;
		chunk *c = xmalloc(sizeof *c + cap);
		c->next = m->arena;
		c->used = 0;
		c->cap = cap;
		m->arena = c;
	}
	char *p = m->arena->data + m->arena->used;
	memcpy(p, s, len);
	p[len] = '\0';
	m->arena->used += len + 1;
	return p;
}

static const char *slot_key(const slot *s)
{
	if (s->len <= INLINE)
		return s->inl;
	const char *p;
	memcpy(&p, s->inl, sizeof p);
	return p;
}

static slot *find(const strmap *m, const char *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)(h >> 7) & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (!s->hash || (s->hash == h && s->len == len && memcmp(slot_key(s), key, len) == 0))
			return s;
	}
}

int64_t *strmap_get(const strmap *m, const char *key, size_t len)
{
	slot *s = find(m, key, len, hash_bytes(key, len));
	return s->hash ? &s->value : NULL;
}

static void grow(strmap *m)
{
	slot *old = m->slots;
	size_t ocap = m->cap;
	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	size_t mask = m->cap - 1;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].hash)
			continue;
		size_t j = (size_t)(old[i].hash >> 7) & mask;
		while (m->slots[j].hash)
			j = (j + 1) & mask;
		m->slots[j] = old[i];
	}
	free(old);
}

int64_t *strmap_put(strmap *m, const char *key, size_t len, int *created)
{
	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t h = hash_bytes(key, len);
	slot *s = find(m, key, len, h);
	if (created)
		*created = !s->hash;
	if (!s->hash) {
		s->hash = h;
		s->len = (uint32_t)len;
		if (len <= INLINE) {
			memcpy(s->inl, key, len);
		} else {
			const char *p = arena_copy(m, key, len);
			memcpy(s->inl, &p, sizeof p);
		}
		s->value = 0;
		m->count++;
	}
	return &s->value;
}

size_t strmap_count(const strmap *m)
{
	return m->count;
}
