/*
 * Chapter 06, part 4: the item cache (reference solution). The contract is in cache.h.
 *
 * One shard: a rwlock; a fixed array of entry slots with a chained hash index over it (slot indices, so nothing is
 * allocated per entry); a CLOCK hand over the same array; and a list of the flights in progress. Hits take the lock
 * shared; everything that changes the table takes it exclusively, and no callback ever runs under it.
 */
#define _POSIX_C_SOURCE 200809L

#include "cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NO_SLOT = -1 };

/* One cached item. All fields but `referenced` are guarded by the shard's lock (written only when held
 * exclusively); `referenced` is also set by hits under the shared lock, hence atomic. */
typedef struct entry {
    bool used;
    atomic_bool referenced; /* CLOCK's bit: set by hits (relaxed), cleared by the hand */
    int32_t next;           /* used: next slot of the same bucket; free: next free slot; or NO_SLOT */
    int64_t key;
    uint64_t expires_ms;
    ws_blob *value; /* the cache's own reference */
} entry;

struct ws_cache_flight {
    int64_t key;
    bool stale;                   /* set by invalidate; a stale flight is no longer on the shard's list */
    ws_cache_waiter *waiters;     /* joined in order; guarded by the shard's lock */
    ws_cache_waiter **tail;       /* where the next waiter goes */
    struct ws_cache_flight *next; /* the shard's list of flights in progress */
};

typedef struct shard {
    pthread_rwlock_t lock;
    entry *slots;       /* capacity entries */
    int32_t *buckets;   /* heads of the chains; bucket_mask + 1 of them */
    int32_t free_slots; /* head of the unused slots, chained through `next` */
    size_t bucket_mask;
    size_t hand;              /* CLOCK: the next slot to look at */
    size_t bytes;             /* budget used by this shard's entries */
    ws_cache_flight *flights; /* in progress and not stale */
} shard;

struct ws_cache {
    shard *shards;
    size_t shard_mask;
    size_t capacity;     /* slots per shard */
    size_t shard_budget; /* bytes per shard */
    uint64_t ttl_ms;
    atomic_uint_least64_t hits, misses, flights, waiters_served, stale_drops, evictions, bytes;
};

/* ---- blobs: Arc<[u8]> ---- */

ws_blob *ws_blob_new(const void *bytes, size_t len)
{
    ws_blob *b = malloc(sizeof *b + len);
    if (b == NULL)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    if (len > 0)
        memcpy(b->bytes, bytes, len);
    return b;
}

ws_blob *ws_blob_ref(ws_blob *b)
{
    /* Relaxed, as Arc::clone: the caller already holds a reference, so the blob cannot be freed meanwhile, and
     * the new reference publishes nothing. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void ws_blob_release(ws_blob *b)
{
    if (b == NULL)
        return;
    /* Release, as Drop for Arc: this holder's reads of the bytes happen before its decrement. Acquire too, for
     * the holder that takes the last one: every other holder's reads then happen before its free(). (Arc uses a
     * release decrement and an acquire fence on the last; acq_rel costs the same on x86 and ThreadSanitizer,
     * which does not model fences, understands it.) */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

/* ---- locking: misuse is an abort, never a silent deadlock ---- */

static void lock_check(int err, const char *what)
{
    if (err != 0) {
        fprintf(stderr, "ws_cache: %s: %s\n", what, strerror(err));
        abort();
    }
}

static void read_lock(shard *s) { lock_check(pthread_rwlock_rdlock(&s->lock), "rdlock"); }
static void write_lock(shard *s) { lock_check(pthread_rwlock_wrlock(&s->lock), "wrlock"); }
static void unlock(shard *s) { lock_check(pthread_rwlock_unlock(&s->lock), "unlock"); }

/* ---- hashing and lookup ---- */

static uint64_t mix(int64_t key)
{
    uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15u; /* Fibonacci hashing: the high bits depend on every bit */
    return h ^ (h >> 31);
}

static shard *shard_of(const ws_cache *c, int64_t key) { return &c->shards[(mix(key) >> 40) & c->shard_mask]; }
static size_t bucket_of(const shard *s, int64_t key) { return mix(key) & s->bucket_mask; }

static size_t cost(const ws_blob *b) { return b->len + WS_CACHE_ENTRY_OVERHEAD; }

/* The slot holding @p key, or NO_SLOT. Reads only: the shared lock is enough. */
static int32_t find(const shard *s, int64_t key)
{
    for (int32_t i = s->buckets[bucket_of(s, key)]; i != NO_SLOT; i = s->slots[i].next)
        if (s->slots[i].key == key)
            return i;
    return NO_SLOT;
}

/* Unlinks slot @p i from its chain and drops the cache's reference. Exclusive lock held. A reader that took its
 * own reference keeps the blob alive: release, never free. */
static void remove_slot(ws_cache *c, shard *s, int32_t i)
{
    entry *e = &s->slots[i];
    int32_t *link = &s->buckets[bucket_of(s, e->key)];
    while (*link != i)
        link = &s->slots[*link].next;
    *link = e->next;
    e->next = s->free_slots;
    s->free_slots = i;
    size_t n = cost(e->value);
    s->bytes -= n;
    atomic_fetch_sub_explicit(&c->bytes, n, memory_order_relaxed);
    ws_blob_release(e->value);
    e->value = NULL;
    e->used = false;
}

/* CLOCK: evicts one entry. Exclusive lock held, and at least one slot in use. After one full turn every bit is
 * clear, so the loop ends within two turns. */
static void evict_one(ws_cache *c, shard *s)
{
    for (;;) {
        entry *e = &s->slots[s->hand];
        size_t at = s->hand;
        s->hand = (s->hand + 1) % c->capacity;
        if (!e->used)
            continue;
        if (atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
            atomic_store_explicit(&e->referenced, false, memory_order_relaxed); /* its second chance */
            continue;
        }
        remove_slot(c, s, (int32_t)at);
        atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
        return;
    }
}

/* A free slot, evicting until there is one and the budget has room for @p need bytes. Exclusive lock held. */
static int32_t make_room(ws_cache *c, shard *s, size_t need)
{
    while (s->free_slots == NO_SLOT || s->bytes + need > c->shard_budget)
        evict_one(c, s);
    int32_t i = s->free_slots;
    s->free_slots = s->slots[i].next;
    return i;
}

/* Installs a new reference to @p value under @p key. Exclusive lock held. */
static bool install(ws_cache *c, shard *s, int64_t key, ws_blob *value, uint64_t now_ms)
{
    size_t need = cost(value);
    if (need > c->shard_budget)
        return false; /* it would evict everything and still not fit */
    int32_t old = find(s, key);
    if (old != NO_SLOT)
        remove_slot(c, s, old);
    int32_t i = make_room(c, s, need);
    entry *e = &s->slots[i];
    e->used = true;
    atomic_store_explicit(&e->referenced, false, memory_order_relaxed); /* earns its second chance by a hit */
    e->key = key;
    e->expires_ms = now_ms + c->ttl_ms;
    e->value = ws_blob_ref(value);
    size_t b = bucket_of(s, key);
    e->next = s->buckets[b];
    s->buckets[b] = i;
    s->bytes += need;
    atomic_fetch_add_explicit(&c->bytes, need, memory_order_relaxed);
    return true;
}

/* Removes @p f from the shard's list of flights in progress. Exclusive lock held. */
static void unlink_flight(shard *s, ws_cache_flight *f)
{
    ws_cache_flight **link = &s->flights;
    while (*link != f)
        link = &(*link)->next;
    *link = f->next;
    f->next = NULL;
}

static ws_cache_flight *find_flight(const shard *s, int64_t key)
{
    for (ws_cache_flight *f = s->flights; f != NULL; f = f->next)
        if (f->key == key)
            return f;
    return NULL;
}

/* ---- the cache ---- */

ws_status ws_cache_create(const ws_cache_config *config, ws_cache **out)
{
    *out = NULL;
    size_t n = config->shards;
    if (n == 0 || (n & (n - 1)) != 0 || config->entries_per_shard == 0 || config->entries_per_shard > INT32_MAX ||
        config->budget_bytes == 0 || config->ttl_ms == 0)
        return WS_STATUS_INTERNAL_ERROR;
    ws_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return WS_STATUS_INTERNAL_ERROR;
    c->shards = calloc(n, sizeof *c->shards);
    c->shard_mask = n - 1;
    c->capacity = config->entries_per_shard;
    c->shard_budget = config->budget_bytes / n;
    c->ttl_ms = config->ttl_ms;
    size_t buckets = 1;
    while (buckets < c->capacity)
        buckets <<= 1;
    for (size_t i = 0; c->shards != NULL && i < n; i++) {
        shard *s = &c->shards[i];
        s->slots = calloc(c->capacity, sizeof *s->slots);
        s->buckets = malloc(buckets * sizeof *s->buckets);
        s->bucket_mask = buckets - 1;
        if (s->slots == NULL || s->buckets == NULL || pthread_rwlock_init(&s->lock, NULL) != 0) {
            free(s->slots);
            free(s->buckets);
            s->slots = NULL; /* marks the shard as never initialised, for destroy */
            break;
        }
        for (size_t b = 0; b < buckets; b++)
            s->buckets[b] = NO_SLOT;
        for (size_t j = 0; j < c->capacity; j++)
            s->slots[j].next = j + 1 < c->capacity ? (int32_t)(j + 1) : NO_SLOT;
        s->free_slots = 0;
    }
    if (c->shards == NULL || c->shards[n - 1].slots == NULL) {
        ws_cache_destroy(c);
        return WS_STATUS_INTERNAL_ERROR;
    }
    *out = c;
    return WS_STATUS_OK;
}

void ws_cache_destroy(ws_cache *cache)
{
    if (cache == NULL)
        return;
    for (size_t i = 0; cache->shards != NULL && i <= cache->shard_mask; i++) {
        shard *s = &cache->shards[i];
        if (s->slots == NULL)
            break;
        if (s->flights != NULL) {
            fprintf(stderr, "ws_cache_destroy: a flight is still open; its waiters would never be answered\n");
            abort();
        }
        for (size_t j = 0; j < cache->capacity; j++)
            ws_blob_release(s->slots[j].value);
        free(s->slots);
        free(s->buckets);
        pthread_rwlock_destroy(&s->lock);
    }
    free(cache->shards);
    free(cache);
}

/* The hit path: shared lock, a new reference, the CLOCK bit. Returns false on a miss or an expired entry. */
static bool try_hit(ws_cache *c, shard *s, int64_t key, uint64_t now_ms, ws_cache_lookup *out)
{
    int32_t i = find(s, key);
    if (i == NO_SLOT || now_ms >= s->slots[i].expires_ms)
        return false;
    entry *e = &s->slots[i];
    /* Many readers may do this at once: an atomic store, relaxed since it orders nothing else. */
    atomic_store_explicit(&e->referenced, true, memory_order_relaxed);
    out->value = ws_blob_ref(e->value);
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    return true;
}

ws_cache_answer ws_cache_get(ws_cache *cache, int64_t key, uint64_t now_ms, ws_cache_waiter *waiter, ws_cache_lookup *out)
{
    out->value = NULL;
    out->flight = NULL;
    shard *s = shard_of(cache, key);

    read_lock(s);
    bool hit = try_hit(cache, s, key, now_ms, out);
    unlock(s);
    if (hit)
        return WS_CACHE_HIT;

    /* A miss. Between the two locks another thread may have installed the key, or started its flight: look again
     * under the exclusive lock, and decide lead or wait there, in one critical section. That decision is the
     * single flight: check-then-insert with the lock dropped in between is the stampede. */
    write_lock(s);
    ws_cache_answer answer;
    ws_cache_flight *f;
    if (try_hit(cache, s, key, now_ms, out)) {
        answer = WS_CACHE_HIT;
    } else if ((f = find_flight(s, key)) != NULL) {
        waiter->next = NULL;
        *f->tail = waiter;
        f->tail = &waiter->next;
        answer = WS_CACHE_WAIT;
    } else if ((f = calloc(1, sizeof *f)) == NULL) {
        answer = WS_CACHE_NO_MEMORY;
    } else {
        int32_t old = find(s, key);
        if (old != NO_SLOT)
            remove_slot(cache, s, old); /* expired */
        f->key = key;
        f->tail = &f->waiters;
        f->next = s->flights;
        s->flights = f;
        out->flight = f;
        atomic_fetch_add_explicit(&cache->flights, 1, memory_order_relaxed);
        answer = WS_CACHE_LEAD;
    }
    unlock(s);
    if (answer == WS_CACHE_LEAD || answer == WS_CACHE_WAIT)
        atomic_fetch_add_explicit(&cache->misses, 1, memory_order_relaxed);
    return answer;
}

bool ws_cache_complete(ws_cache *cache, ws_cache_flight *flight, ws_blob *value, ws_status status, uint64_t now_ms)
{
    shard *s = shard_of(cache, flight->key);
    bool ok = status == WS_STATUS_OK && value != NULL;
    bool installed = false;

    write_lock(s);
    bool stale = flight->stale;
    if (!stale) /* a stale flight was unlinked by ws_cache_invalidate() */
        unlink_flight(s, flight);
    if (ok && !stale)
        installed = install(cache, s, flight->key, value, now_ms);
    /* Unlinked: no get can join it any more, so the list is complete and ours alone. */
    ws_cache_waiter *w = flight->waiters;
    unlock(s);

    if (ok && stale)
        atomic_fetch_add_explicit(&cache->stale_drops, 1, memory_order_relaxed);
    free(flight);
    /* Outside the lock: a waiter may call back into the cache. Read `next` before the call, which may free w. */
    while (w != NULL) {
        ws_cache_waiter *next = w->next;
        atomic_fetch_add_explicit(&cache->waiters_served, 1, memory_order_relaxed);
        w->fn(w->ctx, ok ? ws_blob_ref(value) : NULL, ok ? WS_STATUS_OK : status);
        w = next;
    }
    return installed;
}

void ws_cache_invalidate(ws_cache *cache, int64_t key)
{
    shard *s = shard_of(cache, key);
    write_lock(s);
    int32_t i = find(s, key);
    if (i != NO_SLOT)
        remove_slot(cache, s, i);
    ws_cache_flight *f = find_flight(s, key);
    if (f != NULL) {
        unlink_flight(s, f); /* the next get leads a new flight, which reads after the write */
        f->stale = true;     /* and this one's value, maybe read before it, is never installed */
    }
    unlock(s);
}

void ws_cache_stats_read(const ws_cache *cache, ws_cache_stats *out)
{
    out->hits = atomic_load_explicit(&cache->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&cache->misses, memory_order_relaxed);
    out->flights = atomic_load_explicit(&cache->flights, memory_order_relaxed);
    out->waiters_served = atomic_load_explicit(&cache->waiters_served, memory_order_relaxed);
    out->stale_drops = atomic_load_explicit(&cache->stale_drops, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&cache->evictions, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&cache->bytes, memory_order_relaxed);
}
