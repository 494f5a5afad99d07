/*
 * Set-up for chapter 07's part-2 tests (memtable, segments, scans), on top of support.h: keys made from numbers,
 * one-line memtable edits, a segment written and opened in one call, and a reference model — a sorted array of
 * the newest state of each key — that the randomized test compares the store's layers against.
 */
#ifndef FERRITE_TEST_ORDERED_SUPPORT_07_H
#define FERRITE_TEST_ORDERED_SUPPORT_07_H

#include "memtable.h"
#include "scan.h"
#include "segment.h"
#include "support.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** "dir/name" in @p out, returned. */
const char *dir_path(const char *dir, const char *name, char out[512]);
/** Whether directory @p dir holds an entry called @p name (through the real file system). */
bool dir_has(const char *dir, const char *name);

/** "key%06u": nine-byte keys whose byte order is their number's order. */
const char *key_name(unsigned n, char out[16]);
/** A value that says which key and which version it is: "v<version>-<n>". */
const char *value_name(unsigned n, unsigned version, char out[32]);

/** A memtable with a large limit; fails the test when it cannot be made. */
kv_memtable *memtable_new(void);
void mt_put(kv_memtable *mt, const char *key, const char *value);
void mt_del(kv_memtable *mt, const char *key);

/** Writes @p mt as segment @p dir/@p name with @p block_bytes through the real file system, and opens it. */
kv_segment *segment_from(const char *dir, const char *name, const kv_memtable *mt, size_t block_bytes);

/** A memtable of @p n entries: keys 0, 2, 4, ... 2*(n-1) (odd numbers are absent), every seventh a tombstone. */
kv_memtable *even_keys(unsigned n);
/** Checks that @p seg holds exactly what even_keys(@p n) put in it, and none of the odd keys. */
void expect_even_keys(kv_segment *seg, unsigned n);

/** Whether an entry holds exactly this key, and this value (NULL: a tombstone). */
bool entry_is(const kv_entry *e, const char *key, const char *value);

/* ---- the reference model: one slot per key ever written, sorted by key ---- */

#define MODEL_KEY_MAX 8

typedef struct model_slot {
    uint8_t key[MODEL_KEY_MAX];
    size_t key_len;
    char value[24];
    bool live; /* false: deleted */
} model_slot;

typedef struct model {
    model_slot *slots;
    size_t count, cap;
} model;

void model_put(model *m, const uint8_t *key, size_t key_len, const char *value);
void model_del(model *m, const uint8_t *key, size_t key_len);
/** The slot of @p key, or NULL. */
const model_slot *model_find(const model *m, const uint8_t *key, size_t key_len);
/** The model's own byte order (memcmp, then length), written apart from kv_key_compare so a bug cannot hide in
 *  both. */
int model_compare(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);
void model_free(model *m);

#endif
