/*
 * strmap.h - a string -> int64 hash map (open addressing, keys copied into
 * an arena). Used for per-file caches and visited sets; never for money.
 */
#ifndef PAYOUTD_STRMAP_H
#define PAYOUTD_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
void strmap_free(strmap *m);
/* Pointer to the value of key, or NULL when absent. Valid until the next put/clear. */
int64_t *strmap_get(const strmap *m, const char *key, size_t len);
/* Pointer to the value of key, inserting it with value 0 when absent (*created = 1). */
int64_t *strmap_put(strmap *m, const char *key, size_t len, int *created);
size_t strmap_count(const strmap *m);
void strmap_clear(strmap *m);

#endif
