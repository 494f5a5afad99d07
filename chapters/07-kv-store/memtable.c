/*
 * Chapter 07, part 2: the memtable. The contract, and why it is a skip list, are in memtable.h.
 *
 * Suggested layout: a node holds its value (malloc'd, NULL for a tombstone), the value's length, the tombstone
 * flag, the key's length, its height and a flexible array of `next` pointers, one per level, with the key's bytes
 * right after them in the same allocation. The table holds a head node with MAX_HEIGHT links and no key, the
 * number of levels in use, the count, the bytes counted, the limit and the state of a small random generator
 * (xorshift, fixed seed: a run must be the same every time). Define struct kv_memtable here: the header keeps it
 * opaque.
 */
#include "memtable.h"

#include <stdlib.h>
#include <string.h>

int kv_key_compare(const void *a, size_t a_len, const void *b, size_t b_len)
{
    /* TODO (part 2): memcmp over the common length; when that is equal, the shorter key sorts first. Stopping at
     * the common length makes "ab" and "abc" one key. Mind memcmp with a NULL pointer: only call it for a length
     * above 0. */
    (void)a;
    (void)a_len;
    (void)b;
    (void)b_len;
    return 0;
}

kv_status kv_memtable_create(size_t limit_bytes, kv_memtable **out)
{
    /* TODO (part 2): refuse a zero limit (KV_INVALID); allocate the table and its head node; seed the generator
     * with a constant. */
    (void)limit_bytes;
    *out = NULL;
    return KV_TODO;
}

void kv_memtable_destroy(kv_memtable *mt)
{
    /* TODO (part 2): walk level 0 from the head, freeing each node's value and the node. */
    (void)mt;
}

kv_status kv_memtable_put(kv_memtable *mt, const void *key, size_t key_len, const void *value, size_t value_len)
{
    /* TODO (part 2): search from the top level down, remembering on each level the last node whose key is below
     * the new one (where it will be linked). If the key is there, replace its value (or tombstone) in place;
     * otherwise draw a height (each level up with probability 1/4) and link a new node into every level of its
     * tower. Copy the value first, so that a failed allocation leaves the table as it was. Keep the byte count. */
    (void)mt;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return KV_TODO;
}

kv_status kv_memtable_delete(kv_memtable *mt, const void *key, size_t key_len)
{
    /* TODO (part 2): the same insert-or-replace as put, recording a tombstone instead of a value. Nothing is
     * removed: an older value may be in a segment, and only the tombstone can hide it. */
    (void)mt;
    (void)key;
    (void)key_len;
    return KV_TODO;
}

bool kv_memtable_get(const kv_memtable *mt, const void *key, size_t key_len, kv_entry *out)
{
    /* TODO (part 2): find the first node whose key is >= key; it is the key's entry if the keys are equal. */
    (void)mt;
    (void)key;
    (void)key_len;
    memset(out, 0, sizeof *out);
    return false;
}

size_t kv_memtable_count(const kv_memtable *mt)
{
    /* TODO (part 2) */
    (void)mt;
    return 0;
}

size_t kv_memtable_bytes(const kv_memtable *mt)
{
    /* TODO (part 2): keys + values + KV_MEMTABLE_ENTRY_OVERHEAD per entry. */
    (void)mt;
    return 0;
}

bool kv_memtable_full(const kv_memtable *mt)
{
    /* TODO (part 2) */
    (void)mt;
    return false;
}

void kv_memtable_seek(const kv_memtable *mt, const void *key, size_t key_len, kv_memtable_iter *it)
{
    /* TODO (part 2): the first node whose key is >= key (level 0's first node when key is NULL). */
    (void)key;
    (void)key_len;
    it->mt = mt;
    it->node = NULL;
}

bool kv_memtable_iter_entry(const kv_memtable_iter *it, kv_entry *out)
{
    /* TODO (part 2): the node's key, value and tombstone flag, as pointers into the node. */
    (void)it;
    (void)out;
    return false;
}

void kv_memtable_iter_next(kv_memtable_iter *it)
{
    /* TODO (part 2): follow level 0. */
    (void)it;
}
