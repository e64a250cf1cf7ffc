#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct slot {
	const char *key; /* NULL = empty */
	uint32_t len;
	uint32_t hash;
	int64_t value;
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

static uint32_t hash_bytes(const char *s, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a: short keys, good enough spread */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
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

static slot *find(const strmap *m, const char *key, size_t len, uint32_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

int64_t *strmap_get(const strmap *m, const char *key, size_t len)
{
	slot *s = find(m, key, len, hash_bytes(key, len));
	return s->key ? &s->value : NULL;
}

static void grow(strmap *m)
{
	slot *old = m->slots;
	size_t ocap = m->cap;
	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
}

int64_t *strmap_put(strmap *m, const char *key, size_t len, int *created)
{
	if ((m->count + 1) * 4 > m->cap * 3)
		grow(m);
	uint32_t h = hash_bytes(key, len);
	slot *s = find(m, key, len, h);
	if (created)
		*created = !s->key;
	if (!s->key) {
		s->key = arena_copy(m, key, len);
		s->len = (uint32_t)len;
		s->hash = h;
		s->value = 0;
		m->count++;
	}
	return &s->value;
}

size_t strmap_count(const strmap *m)
{
	return m->count;
}
