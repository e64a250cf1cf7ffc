/*
 * idset.h - a compact, exact set of short strings (distributor ids), built
 * once and then only read: about 8 bytes of table plus the id's own bytes
 * per member, so a million ids fit in ~20 MB. Safe to read from one thread
 * while nothing adds to it.
 */
#ifndef PAYOUTD_IDSET_H
#define PAYOUTD_IDSET_H

#include <stddef.h>

typedef struct idset idset;

idset *idset_new(void);
void idset_free(idset *s);
/* Adds key (no-op when present). Keys longer than 65535 bytes are not supported. */
void idset_add(idset *s, const char *key, size_t len);
int idset_has(const idset *s, const char *key, size_t len);
size_t idset_count(const idset *s);

#endif
