/*
 * Chapter 07, part 4: the store's life — open and recovery, flush, compaction, close, figures. Writes and reads are
 * in store_rw.c, snapshots and transactions in txn.c; the locks and the gate are described in store_impl.h.
 *
 * Suggested order: kv_store_open (defaults, locks — the rwlock set to prefer writers —, then recovery: make the
 * directory, read or create the manifest, remove leftovers and stale logs, open the segments, replay the log into a
 * fresh memtable with kv_store_apply), kv_store_close, the gate, then flush (segment, new log starting with a
 * record that carries the last sequence number, manifest, and only then the old log removed) and compaction
 * (kv_compact_filtered with kv_mvcc_gc_keep at the safe point).
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "compact.h"
#include "mvcc.h"

#include <stdlib.h>
#include <string.h>

kv_status kv_store_open(const char *dir, const kv_store_options *opt, kv_store **out)
{
    /* TODO (part 4): see store.h. */
    (void)dir;
    (void)opt;
    *out = NULL;
    return KV_TODO;
}

kv_status kv_store_close(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    return KV_TODO;
}

void kv_store_gate_close(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
}

kv_status kv_store_flush_locked(kv_store *s, bool force)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    (void)force;
    return KV_TODO;
}

kv_status kv_store_flush(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    return KV_TODO;
}

kv_status kv_store_compact(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    return KV_TODO;
}

kv_store_stats kv_store_stats_get(kv_store *s)
{
    /* TODO (part 4): see store.h. */
    (void)s;
    return (kv_store_stats){0};
}
