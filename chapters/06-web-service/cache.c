/*
 * Chapter 06, part 4: the item cache. The contract, and the reasons for its design, are in cache.h.
 *
 * Suggested layout of one shard: a pthread_rwlock_t; a fixed array of entry slots (key, blob, expiry, an
 * atomic_bool for CLOCK's reference bit, the index of the next slot of the same hash bucket); an array of bucket
 * heads; the CLOCK hand; the bytes in use; and a list of the flights in progress. Define struct ws_cache and
 * struct ws_cache_flight here: the header keeps them opaque.
 */
#define _POSIX_C_SOURCE 200809L

#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

ws_blob *ws_blob_new(const void *bytes, size_t len)
{
    /* TODO (part 4): malloc the header and the bytes in one block (a flexible array member), count 1, copy the
     * bytes. One allocation per value, and the bytes never change afterwards: that is what lets readers share it
     * without a lock. */
    (void)bytes;
    (void)len;
    return NULL;
}

ws_blob *ws_blob_ref(ws_blob *b)
{
    /* TODO (part 4): add one to the count. Which memory order does Arc::clone use, and why is it enough? (The
     * caller already holds a reference.) */
    (void)b;
    return NULL;
}

void ws_blob_release(ws_blob *b)
{
    /* TODO (part 4): take one from the count; the holder that takes the last one frees the blob. Every other
     * holder's reads of the bytes must happen before that free(): release on the decrement, acquire before the
     * free, as Drop for Arc does. NULL does nothing. */
    (void)b;
}

ws_status ws_cache_create(const ws_cache_config *config, ws_cache **out)
{
    /* TODO (part 4): check the config (shards a power of two, no zero), allocate the shards, their slots and
     * bucket heads, and initialise each rwlock. On any failure free what was made and answer 500. */
    (void)config;
    *out = NULL;
    return WS_STATUS_TODO;
}

void ws_cache_destroy(ws_cache *cache)
{
    /* TODO (part 4): release the cache's reference of every entry (a reader may still hold its own), free the
     * tables and destroy the locks. A flight still open is a bug in the caller: abort with a message. */
    (void)cache;
}

ws_cache_answer ws_cache_get(ws_cache *cache, int64_t key, uint64_t now_ms, ws_cache_waiter *waiter, ws_cache_lookup *out)
{
    /* TODO (part 4): a hit under the shared lock (fresh while now_ms < expiry; set the CLOCK bit with a relaxed
     * atomic store; hand out a new reference). On a miss, take the exclusive lock and decide there, in one
     * critical section: hit after all, join the flight in progress (WAIT), or start one (LEAD). Deciding with
     * the lock dropped in between is the study's stampede. */
    (void)cache;
    (void)key;
    (void)now_ms;
    (void)waiter;
    out->value = NULL;
    out->flight = NULL;
    return WS_CACHE_TODO;
}

bool ws_cache_complete(ws_cache *cache, ws_cache_flight *flight, ws_blob *value, ws_status status, uint64_t now_ms)
{
    /* TODO (part 4): under the exclusive lock, take the flight off the shard's list (unless an invalidation did),
     * install the value only if it succeeded and is not stale (evicting with CLOCK until it fits), and detach the
     * waiters. Then, with the lock released, call each waiter once with its own reference (or the error), and
     * free the flight. */
    (void)cache;
    (void)flight;
    (void)value;
    (void)status;
    (void)now_ms;
    return false;
}

void ws_cache_invalidate(ws_cache *cache, int64_t key)
{
    /* TODO (part 4): remove the key's entry, and mark its flight in progress stale and take it off the list, so
     * that a load which may have read the row before the write can never install it. */
    (void)cache;
    (void)key;
}

void ws_cache_stats_read(const ws_cache *cache, ws_cache_stats *out)
{
    /* TODO (part 4): load each counter with a relaxed atomic load. */
    (void)cache;
    memset(out, 0, sizeof *out);
}
