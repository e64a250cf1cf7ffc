/*
 * idset.c - open addressing over one byte arena. A slot is 64 bits: the
 * arena offset of the key (40 bits, 0 = empty) and 24 bits of its hash, so
 * a probe that cannot match is rejected without touching the arena.
 * Arena entries are a 2-byte length, the member's 4-byte number (in order
 * of addition), then the key bytes.
 */
#include "idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct idset {
	uint64_t *slots;
	size_t cap, count; /* cap: power of two, load <= 1/2 */
	unsigned char *arena;
	size_t used, acap;
};

static uint64_t hash_key(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

idset *idset_new(void)
{
	idset *s = xcalloc(1, sizeof *s);
	s->cap = 1024;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	s->acap = 4096;
	s->arena = xmalloc(s->acap);
	s->used = 1; /* offset 0 means "empty slot" */
	return s;
}

void idset_free(idset *s)
{
	if (!s)
		return;
	free(s->slots);
	free(s->arena);
	free(s);
}

size_t idset_count(const idset *s)
{
	return s->count;
}

static int slot_matches(const idset *s, uint64_t slot, uint64_t tag, const char *key, size_t len)
{
	if ((slot & 0xFFFFFF) != tag)
		return 0;
	const unsigned char *e = s->arena + (slot >> 24);
	size_t elen = (size_t)e[0] | (size_t)e[1] << 8;
	return elen == len && memcmp(e + 6, key, len) == 0;
}

/* Index of key's slot, or of the empty slot where it would go. */
static size_t probe(const idset *s, const char *key, size_t len, uint64_t h)
{
	uint64_t tag = h & 0xFFFFFF;
	size_t mask = s->cap - 1;
	for (size_t i = (size_t)(h >> 24) & mask;; i = (i + 1) & mask)
		if (!s->slots[i] || slot_matches(s, s->slots[i], tag, key, len))
			return i;
}

size_t idset_find(const idset *s, const char *key, size_t len)
{
	return idset_find_hashed(s, key, len, hash_key(key, len));
}

uint64_t idset_hash(const char *key, size_t len)
{
	return hash_key(key, len);
}

void idset_prefetch_slot(const idset *s, uint64_t h)
{
	__builtin_prefetch(&s->slots[(size_t)(h >> 24) & (s->cap - 1)]);
}

/* The entry of the key's home slot when its tag matches (most keys sit in
 * their home slot at load <= 1/2; the others are found by probe anyway). */
void idset_prefetch_entry(const idset *s, uint64_t h)
{
	uint64_t slot = s->slots[(size_t)(h >> 24) & (s->cap - 1)];
	if (slot && (slot & 0xFFFFFF) == (h & 0xFFFFFF))
		__builtin_prefetch(s->arena + (slot >> 24));
}

size_t idset_find_hashed(const idset *s, const char *key, size_t len, uint64_t h)
{
	uint64_t slot = s->slots[probe(s, key, len, h)];
	if (!slot)
		return SIZE_MAX;
	uint32_t n;
	memcpy(&n, s->arena + (slot >> 24) + 2, sizeof n);
	return n;
}

int idset_has(const idset *s, const char *key, size_t len)
{
	return s->slots[probe(s, key, len, hash_key(key, len))] != 0;
}

static void grow(idset *s)
{
	uint64_t *old = s->slots;
	size_t ocap = s->cap;
	s->cap *= 2;
	s->slots = xcalloc(s->cap, sizeof *s->slots);
	size_t mask = s->cap - 1;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i])
			continue;
		const unsigned char *e = s->arena + (old[i] >> 24);
		size_t elen = (size_t)e[0] | (size_t)e[1] << 8;
		size_t j = (size_t)(hash_key((const char *)e + 6, elen) >> 24) & mask;
		while (s->slots[j])
			j = (j + 1) & mask;
		s->slots[j] = old[i];
	}
	free(old);
}

size_t idset_put(idset *s, const char *key, size_t len, int *created)
{
	if (created)
		*created = 0;
	if (len > 0xFFFF || s->count >= UINT32_MAX)
		return SIZE_MAX;
	if ((s->count + 1) * 2 > s->cap)
		grow(s);
	uint64_t h = hash_key(key, len);
	size_t i = probe(s, key, len, h);
	if (s->slots[i]) {
		const unsigned char *e = s->arena + (s->slots[i] >> 24);
		uint32_t n;
		memcpy(&n, e + 2, sizeof n);
		return n;
	}
	if (s->used + len + 6 > s->acap) {
		while (s->used + len + 6 > s->acap)
			s->acap *= 2;
		s->arena = xrealloc(s->arena, s->acap);
	}
	size_t off = s->used;
	uint32_t n = (uint32_t)s->count;
	s->arena[off] = (unsigned char)(len & 0xFF);
	s->arena[off + 1] = (unsigned char)(len >> 8);
	memcpy(s->arena + off + 2, &n, sizeof n);
	memcpy(s->arena + off + 6, key, len);
	s->used += len + 6;
	s->slots[i] = (uint64_t)off << 24 | (h & 0xFFFFFF);
	s->count++;
	if (created)
		*created = 1;
	return n;
}

void idset_add(idset *s, const char *key, size_t len)
{
	idset_put(s, key, len, NULL);
}
