/*
 * Chapter 07, part 4: the store's write path (a number, the log, the memtable, visibility in order) and its reads
 * (the newest version at a snapshot, merged scans). The record format is in store.h, the locks in store_impl.h.
 *
 * Suggested order: the batch (an op is u32 key_len, u32 value_len, key, op byte, value: the op byte and value
 * together are the version's stored value), kv_store_apply, kv_store_commit (number under mu, append without it,
 * apply under the layers lock, then finish: mark done, move visible, wait until visible reaches your number),
 * put/delete/write on top, then kv_store_get (seek memcomparable(key) | ~seq in each layer, newest first) and
 * kv_store_scan.
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "mvcc.h"
#include "scan.h"

#include <stdlib.h>
#include <string.h>

kv_status kv_batch_put(kv_batch *b, const void *key, size_t key_len, const void *value, size_t value_len)
{
    /* TODO (part 4): see store.h. */
    (void)b;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return KV_TODO;
}

kv_status kv_batch_delete(kv_batch *b, const void *key, size_t key_len)
{
    /* TODO (part 4): see store.h. */
    (void)b;
    (void)key;
    (void)key_len;
    return KV_TODO;
}

void kv_batch_free(kv_batch *b)
{
    /* TODO (part 4): see store.h. */
    (void)b;
}

kv_status kv_store_apply(kv_store *s, const uint8_t *rec, size_t len, uint64_t *seq)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)rec;
    (void)len;
    (void)seq;
    return KV_TODO;
}

kv_status kv_store_commit(kv_store *s, const uint8_t *ops, size_t ops_len, uint32_t count, const uint64_t *reads,
                          size_t read_count, uint64_t read_seq)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)ops;
    (void)ops_len;
    (void)count;
    (void)reads;
    (void)read_count;
    (void)read_seq;
    return KV_TODO;
}

kv_status kv_store_write(kv_store *s, const kv_batch *b)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)b;
    return KV_TODO;
}

kv_status kv_store_put(kv_store *s, const void *key, size_t key_len, const void *value, size_t value_len)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return KV_TODO;
}

kv_status kv_store_delete(kv_store *s, const void *key, size_t key_len)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)key;
    (void)key_len;
    return KV_TODO;
}

kv_status kv_store_get(kv_store *s, const kv_snapshot *snap, const void *key, size_t key_len, kv_buf *out)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)snap;
    (void)key;
    (void)key_len;
    (void)out;
    return KV_TODO;
}

kv_status kv_store_scan(kv_store *s, const kv_snapshot *snap, const void *start, size_t start_len, const void *end,
                        size_t end_len, size_t limit, kv_store_scan_fn *fn, void *ctx, size_t *count)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)snap;
    (void)start;
    (void)start_len;
    (void)end;
    (void)end_len;
    (void)limit;
    (void)fn;
    (void)ctx;
    (void)count;
    return KV_TODO;
}
