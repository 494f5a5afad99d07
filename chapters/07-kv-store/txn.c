/*
 * Chapter 07, part 4: snapshots, the conflict oracle and optimistic transactions. The contract is in store.h; the
 * oracle is the table of recent writes in store_impl.h.
 *
 * Suggested order: snapshots (a circular list under mu) and the safe point, the oracle (an open-addressing table of
 * key hash -> last writer's number, rebuilt without what no snapshot can need), then transactions (a registered
 * snapshot, a read set of key hashes, a kv_batch of buffered writes; commit through kv_store_commit).
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "mvcc.h"
#include "segment.h"

#include <stdlib.h>
#include <string.h>

struct kv_txn {
    kv_store *s; /* TODO (part 4): a registered snapshot, the read set, the buffered writes */
};

void kv_store_snapshot(kv_store *s, kv_snapshot *snap)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)snap;
}

void kv_store_release(kv_store *s, kv_snapshot *snap)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)snap;
}

uint64_t kv_store_safe_point(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    return 0;
}

kv_status kv_store_recent_add(kv_store *s, uint64_t hash, uint64_t seq)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)hash;
    (void)seq;
    return KV_TODO;
}

uint64_t kv_store_recent_get(const kv_store *s, uint64_t hash)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)hash;
    return 0;
}

kv_status kv_txn_begin(kv_store *s, kv_txn **out)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    *out = NULL;
    return KV_TODO;
}

uint64_t kv_txn_read_seq(const kv_txn *t)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    return 0;
}

void kv_txn_abort(kv_txn *t)
{
    /* TODO (part 4): see store.h. */
    (void)t;
}

kv_status kv_txn_watch(kv_txn *t, const void *key, size_t key_len)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    (void)key;
    (void)key_len;
    return KV_TODO;
}

kv_status kv_txn_get(kv_txn *t, const void *key, size_t key_len, kv_buf *out)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    (void)key;
    (void)key_len;
    (void)out;
    return KV_TODO;
}

kv_status kv_txn_put(kv_txn *t, const void *key, size_t key_len, const void *value, size_t value_len)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return KV_TODO;
}

kv_status kv_txn_delete(kv_txn *t, const void *key, size_t key_len)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    (void)key;
    (void)key_len;
    return KV_TODO;
}

kv_status kv_txn_commit(kv_txn *t)
{
    /* TODO (part 4): see store.h. */
    (void)t;
    return KV_TODO;
}
