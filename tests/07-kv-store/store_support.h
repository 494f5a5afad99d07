/*
 * store_support.h — chapter 07's tests of the store (part 4): opening stores with small limits, keys and values
 * that can be recomputed from a number, whole-store comparisons.
 */
#ifndef FERRITE_TEST_STORE_SUPPORT_07_H
#define FERRITE_TEST_STORE_SUPPORT_07_H

#include "support.h"

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Opens (or creates) the store in @p dir through @p io with a memtable of @p memtable_bytes (0: the default); fails
 *  the test unless it opens. @p io NULL: the real files through faultio, whose syncs cost nothing (for the tests that
 *  are not about durability; those pass a faultio or cut_io of their own). */
kv_store *store_open(const char *dir, kv_io *io, size_t memtable_bytes);

/** Closes @p s and fails the test unless the close succeeds. */
void store_close(kv_store *s);

/** "k%06u" into @p out (at least 16 bytes); returns out. */
const char *skey(unsigned k, char *out);
/** The value written for key k at generation g: "v<k>.<g>" padded with k-dependent filler; length in *len. */
const char *sval(unsigned k, unsigned g, char *out, size_t *len);

/** Puts key k at generation g and fails the test unless it is acknowledged. */
void sput(kv_store *s, unsigned k, unsigned g);

/** Deletes key k and fails the test unless it is acknowledged. */
void sdel(kv_store *s, unsigned k);

/** The store's value of key k at @p snap: the generation it was written at, or -1 when absent; fails the test when
 *  the value is not one sval() writes for k. */
long sget(kv_store *s, const kv_snapshot *snap, unsigned k);

/** Writes "key=value\n" for every live key at @p snap (NULL: now) into a malloc'd string the caller frees. */
char *store_dump(kv_store *s, const kv_snapshot *snap);

#endif
