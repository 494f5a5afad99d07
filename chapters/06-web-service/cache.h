/**
 * @file cache.h
 * @brief Chapter 06, part 4: the item cache — sharded, bounded, with TTL, single-flight misses and invalidation.
 *
 * **Prefix and errors.** `ws_`, as in http.h. ws_cache_get() answers with a ::ws_cache_answer; a failure a
 * caller must report (a failed load, no memory) travels as a ::ws_status.
 *
 * **What it fixes.** The study's Axum handler read a `HashMap` behind `Arc<RwLock<_>>`; on a miss it queried the
 * database and wrote back what it got. Two bugs follow. *Stampede:* N requests that miss one key at once make N
 * queries. *Stale set:* a miss that started before a PUT can finish after it and write the old row back, where it
 * stays until it expires. This cache answers a miss in one of two ways: the first caller *leads* (loads the value
 * and hands it to ws_cache_complete()), every later caller *waits* (its ::ws_cache_waiter is called with the
 * leader's answer). ws_cache_invalidate() marks a flight in progress *stale*: its answer still reaches the callers
 * that asked before the write, but it is never installed.
 *
 * **Layout.** Keys are `int64_t` item ids; a hash of the key picks one of a power-of-two number of shards. Each
 * shard has a `pthread_rwlock_t`, a table of fixed capacity, its share of the byte budget, a CLOCK hand and the
 * list of its flights. A hit takes the shard's lock *shared*: hits on one shard run in parallel; only misses,
 * completions, invalidations and evictions take it exclusively.
 *
 * **Eviction: CLOCK, not LRU.** LRU moves an entry to the front of a list on every hit; that is a write to shared
 * links, so a hit would need the exclusive lock and hits would run one at a time. CLOCK keeps one *reference bit*
 * per entry: a hit sets it with a relaxed atomic store (a byte many readers may set at once, nothing else is
 * touched), so hits stay readers. When an insert needs room, the hand sweeps the table under the exclusive lock:
 * an entry whose bit is set loses the bit and is passed over (its *second chance*); the first entry without it is
 * evicted. A new entry starts with its bit clear: it earns its second chance by being hit.
 *
 * **Memory.** An entry costs its blob's length plus ::WS_CACHE_ENTRY_OVERHEAD bytes. Each shard may hold
 * `budget_bytes / shards` of them; a value larger than that share is handed to its waiters but not cached.
 *
 * **Time.** Every call that can install or expire an entry takes `now_ms`, a monotonic time in milliseconds
 * chosen by the caller (the service passes `CLOCK_MONOTONIC`; the tests pass numbers). An entry installed at `t`
 * is fresh while `now_ms < t + ttl_ms` and expired from `t + ttl_ms` on.
 *
 * **Threads.** Every function may be called from any thread at once, except ws_cache_create() and
 * ws_cache_destroy(), which the caller orders before and after all others.
 */
#ifndef FERRITE_CACHE_H
#define FERRITE_CACHE_H

#include "http.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief An immutable, reference-counted byte string: one cached item, shared by the cache and every request that
 *        is sending it.
 *
 * Each holder owns one reference: the cache holds one for as long as the entry is in its table, and each HIT, each
 * waiter's call and each ws_blob_ref() hands out one more. Whoever owns a reference must give it back exactly once
 * with ws_blob_release(); the last release frees the blob. The bytes never change after ws_blob_new(), so any
 * number of threads may read them without a lock while they hold a reference.
 * @rust `Arc<[u8]>` (or `bytes::Bytes`)
 */
typedef struct ws_blob {
    atomic_size_t refs;    /**< private: references outstanding; the blob is freed when it drops to 0 */
    size_t len;            /**< read-only: bytes at `bytes` */
    unsigned char bytes[]; /**< read-only: the value */
} ws_blob;

/**
 * @brief Copies @p len bytes from @p bytes into a new blob with one reference, owned by the caller.
 * @param bytes borrowed for the call; may be NULL when @p len is 0.
 * @param len the value's length.
 * @return the blob (release it with ws_blob_release()), or NULL when memory runs out.
 * @rust `Arc::<[u8]>::from(slice)`
 */
FT_MUST_USE ws_blob *ws_blob_new(const void *bytes, size_t len);

/**
 * @brief Takes one more reference to @p b, owned by the caller.
 * @param b a blob the caller holds a reference to (so the count cannot reach 0 during the call).
 * @return @p b.
 * @rust `Arc::clone(&b)`
 */
ws_blob *ws_blob_ref(ws_blob *b);

/**
 * @brief Gives back one reference; the last one frees the blob. @p b must not be used by this holder afterwards.
 * @param b a reference the caller owns, or NULL (nothing happens).
 * @rust `drop(b)`: `impl Drop for Arc`, which frees on the last strong count
 */
void ws_blob_release(ws_blob *b);

/** Bytes an entry costs on top of its value's length, in the budget (the entry and the blob's header). */
#define WS_CACHE_ENTRY_OVERHEAD 64

/**
 * @brief The cache's shape, fixed at creation.
 * @rust `moka::sync::Cache::builder().max_capacity(..).weigher(..).time_to_live(..)`
 */
typedef struct ws_cache_config {
    size_t shards;            /**< a power of two, >= 1 */
    size_t entries_per_shard; /**< table capacity of each shard, >= 1 */
    size_t budget_bytes;      /**< for all shards, split evenly; entries cost len + ::WS_CACHE_ENTRY_OVERHEAD */
    uint64_t ttl_ms;          /**< time to live of every entry, >= 1 */
} ws_cache_config;

/** @brief The cache: opaque, created by ws_cache_create(). @rust `Arc<moka::sync::Cache<i64, Arc<[u8]>>>` */
typedef struct ws_cache ws_cache;

/** @brief One miss in progress, led by one caller: opaque. @rust the `OnceCell` a `singleflight` group shares */
typedef struct ws_cache_flight ws_cache_flight;

/**
 * @brief Called once with the answer of the flight a waiter joined.
 * @param ctx the waiter's `ctx`.
 * @param value on success, one reference the callee now owns (release it); NULL on failure.
 * @param status ::WS_STATUS_OK, or the error the leader reported.
 *
 * It runs on the thread that called ws_cache_complete(), after the shard's lock is released, so it may call
 * any function of the cache. It should be quick (it delays the leader's other waiters): the service's callback
 * only queues the answer to its connection's reactor.
 */
typedef void (*ws_cache_waiter_fn)(void *ctx, ws_blob *value, ws_status status);

/**
 * @brief A request to be told the answer of a flight: the caller's memory, lent to the cache.
 *
 * Fill in `fn` and `ctx`. When ws_cache_get() answers ::WS_CACHE_WAIT, the cache keeps a pointer to the waiter
 * until it has called `fn`, exactly once; until then the caller must neither free nor reuse it. On any other
 * answer the waiter was not kept.
 * @rust the `Receiver` of a `tokio::sync::oneshot` (or a `Shared` future) each waiting task awaits
 */
typedef struct ws_cache_waiter {
    ws_cache_waiter_fn fn;        /**< public: called with the answer */
    void *ctx;                    /**< public: passed to `fn` */
    struct ws_cache_waiter *next; /**< private: the flight's list, guarded by the shard's lock */
} ws_cache_waiter;

/** @brief What ws_cache_get() found. @rust `match cache.get(&k) { Some(v) => .., None => .. }` with single-flight */
typedef enum ws_cache_answer {
    WS_CACHE_TODO = -99,   /**< returned by the exercise skeleton: not written yet */
    WS_CACHE_HIT = 1,      /**< `out->value` holds a reference the caller owns */
    WS_CACHE_LEAD = 2,     /**< a miss, and no load is in progress: load, then ws_cache_complete(`out->flight`) */
    WS_CACHE_WAIT = 3,     /**< a load is in progress: the waiter will be called with its answer */
    WS_CACHE_NO_MEMORY = 4 /**< a flight could not be allocated: load without caching, or answer 503 */
} ws_cache_answer;

/** @brief ws_cache_get()'s result: set according to the answer, NULL otherwise. */
typedef struct ws_cache_lookup {
    ws_blob *value;          /**< after ::WS_CACHE_HIT: one reference, owned by the caller */
    ws_cache_flight *flight; /**< after ::WS_CACHE_LEAD: the ticket to give to ws_cache_complete(), once */
} ws_cache_lookup;

/**
 * @brief Counters for `/metrics`, each read with a relaxed atomic load: each is exact, but a snapshot taken while
 *        other threads work need not be consistent across counters.
 * @rust `moka`'s `entry_count`/`weighted_size`, and a struct of `AtomicU64` with `Ordering::Relaxed`
 */
typedef struct ws_cache_stats {
    uint64_t hits;           /**< gets answered ::WS_CACHE_HIT */
    uint64_t misses;         /**< gets answered ::WS_CACHE_LEAD or ::WS_CACHE_WAIT */
    uint64_t flights;        /**< gets answered ::WS_CACHE_LEAD: the loads the database saw */
    uint64_t waiters_served; /**< waiter calls made, with a value or an error */
    uint64_t stale_drops;    /**< successful completions not installed because an invalidation overtook them */
    uint64_t evictions;      /**< entries the CLOCK hand removed to make room */
    uint64_t bytes;          /**< bytes in use now, as the budget counts them */
} ws_cache_stats;

/**
 * @brief Creates an empty cache.
 * @param config borrowed for the call.
 * @param[out] out the cache, owned by the caller (ws_cache_destroy()); NULL on failure.
 * @return ::WS_STATUS_OK; ::WS_STATUS_INTERNAL_ERROR for a bad config (shards not a power of two, a zero) or when
 *         memory runs out.
 * @rust `Cache::builder()...build()`
 */
FT_MUST_USE ws_status ws_cache_create(const ws_cache_config *config, ws_cache **out);

/**
 * @brief Releases every cached blob and frees the cache. No other call may be running or follow.
 * @param cache owned by the caller; NULL does nothing. Every flight must have been completed: a flight still
 *        open would leave its waiters uncalled forever, so the cache aborts with a message instead.
 * @rust `drop(cache)`
 */
void ws_cache_destroy(ws_cache *cache);

/**
 * @brief Looks up @p key: a hit, or a miss that either starts a flight or joins the one in progress.
 * @param cache borrowed for the call.
 * @param key the item id.
 * @param now_ms the caller's clock (see **Time**); an expired entry is removed and counts as a miss.
 * @param waiter not NULL; kept by the cache only when the answer is ::WS_CACHE_WAIT (see ::ws_cache_waiter).
 * @param[out] out filled on every return (see ::ws_cache_lookup).
 * @return ::WS_CACHE_HIT, ::WS_CACHE_LEAD (the caller now owes exactly one ws_cache_complete()),
 *         ::WS_CACHE_WAIT or ::WS_CACHE_NO_MEMORY. Of N concurrent misses on one key with no flight in progress,
 *         exactly one is answered ::WS_CACHE_LEAD.
 * @rust `moka::future::Cache::try_get_with(key, load)`; `async_singleflight::Group::work`
 */
FT_MUST_USE ws_cache_answer ws_cache_get(ws_cache *cache, int64_t key, uint64_t now_ms, ws_cache_waiter *waiter,
                                         ws_cache_lookup *out);

/**
 * @brief Ends a flight: answers its waiters and, unless it failed or went stale, installs the value.
 * @param cache borrowed for the call.
 * @param flight the ticket from ::WS_CACHE_LEAD; consumed (freed) by this call, which must be made exactly once.
 * @param value with ::WS_STATUS_OK: the loaded value, borrowed — the cache takes its own references (one for the
 *        entry, one per waiter) and the caller keeps its own. NULL with any other status.
 * @param status ::WS_STATUS_OK, or the error to give every waiter (e.g. ::WS_STATUS_UNAVAILABLE); nothing is
 *        installed then, and the next get leads again.
 * @param now_ms the caller's clock: the entry expires at `now_ms + ttl_ms`.
 * @return true when the value was installed; false when the flight failed, was made stale by
 *         ws_cache_invalidate(), or the value does not fit in a shard's budget.
 * @rust `OnceCell::set` on the group's cell, waking every task awaiting it; `Err` is shared, not cached
 */
bool ws_cache_complete(ws_cache *cache, ws_cache_flight *flight, ws_blob *value, ws_status status, uint64_t now_ms);

/**
 * @brief Forgets @p key after a write to the database (PUT, DELETE): removes its entry, and marks a flight in
 *        progress for it stale, so that its value — read before the write, perhaps — is never installed.
 *
 * The stale flight still answers the waiters that joined it (they asked before the write); a get after this call
 * no longer joins it but leads a new flight, which reads the database after the write.
 * @param cache borrowed for the call.
 * @param key the item id.
 * @rust `moka::sync::Cache::invalidate(&key)`, plus the version check that makes a late `insert` a no-op
 */
void ws_cache_invalidate(ws_cache *cache, int64_t key);

/**
 * @brief Reads the counters.
 * @param cache borrowed for the call.
 * @param[out] out every counter of ::ws_cache_stats.
 * @rust loading each `AtomicU64` with `Ordering::Relaxed`
 */
void ws_cache_stats_read(const ws_cache *cache, ws_cache_stats *out);

#endif /* FERRITE_CACHE_H */
