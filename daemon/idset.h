/*
 * idset.h - a compact, exact set of short strings (distributor ids), built
 * once and then only read: about 16 bytes of table plus the id's own bytes
 * and 6 per member, so a million ids fit in ~30 MB. Safe to read from one thread
 * while nothing adds to it.
 */
#ifndef PAYOUTD_IDSET_H
#define PAYOUTD_IDSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct idset idset;

idset *idset_new(void);
void idset_free(idset *s);
/* Adds key (no-op when present). Keys longer than 65535 bytes are not supported. */
void idset_add(idset *s, const char *key, size_t len);
int idset_has(const idset *s, const char *key, size_t len);
/* Adds key when absent (*created = 1) and returns its number: members are
 * numbered 0, 1, 2... in order of addition, so callers can keep a value per
 * member in a plain array. SIZE_MAX when the key cannot be stored. */
size_t idset_put(idset *s, const char *key, size_t len, int *created);
/* The number of key, or SIZE_MAX when it is not a member. */
size_t idset_find(const idset *s, const char *key, size_t len);
size_t idset_count(const idset *s);

/* Looking up many keys that come in no order (a scan of millions of rows):
 * hash a batch of keys, prefetch each one's slot, then each one's entry,
 * then find them, so that the cache misses of the batch overlap instead of
 * following one another. idset_find_hashed(s, k, n, idset_hash(k, n)) ==
 * idset_find(s, k, n); the prefetches change nothing but speed. */
uint64_t idset_hash(const char *key, size_t len);
void idset_prefetch_slot(const idset *s, uint64_t h);
void idset_prefetch_entry(const idset *s, uint64_t h);
size_t idset_find_hashed(const idset *s, const char *key, size_t len, uint64_t h);

#endif
