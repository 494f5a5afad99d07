/*
 * Part 4 (declared in test_cache.c): the cache's single-flight misses, invalidation with stale flights, waiters
 * called without the lock, and the cache shared by many threads.
 *
 * Time is a number the tests choose (`now_ms`), so nothing sleeps. Threads start together behind a barrier;
 * anything that waits for another thread polls with a deadline.
 */
#define _POSIX_C_SOURCE 200809L

#include "cache_support.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

enum { STAMPEDE = 64, HOT_KEY = 42 };

typedef struct stampede {
    ws_cache *c;
    pthread_barrier_t go;
    atomic_int leaders, waits, hits, returned;
    answer answers[STAMPEDE];
} stampede;

typedef struct stampede_arg {
    stampede *st;
    int index;
} stampede_arg;

static void *stampede_thread(void *p)
{
    stampede_arg *arg = p;
    stampede *st = arg->st;
    pthread_barrier_wait(&st->go);
    ws_cache_lookup out;
    ws_cache_answer r = ws_cache_get(st->c, HOT_KEY, T0, &st->answers[arg->index].w, &out);
    atomic_fetch_add(&st->returned, 1);
    if (r == WS_CACHE_HIT) {
        atomic_fetch_add(&st->hits, 1);
        ws_blob_release(out.value);
    } else if (r == WS_CACHE_WAIT) {
        atomic_fetch_add(&st->waits, 1);
    } else if (r == WS_CACHE_LEAD) {
        atomic_fetch_add(&st->leaders, 1);
        (void)wait_until_count(&st->returned, STAMPEDE); /* the slow query: every other request misses meanwhile */
        ws_blob *row = ws_blob_new("row 42", 6);
        (void)ws_cache_complete(st->c, out.flight, row, row != NULL ? WS_STATUS_OK : WS_STATUS_UNAVAILABLE, T0);
        ws_blob_release(row);
    }
    return NULL;
}

FT_TEST(4, stampede_of_64_misses_makes_one_leader, 4,
        "Single-flight: decide hit, wait or lead in one critical section under the exclusive lock, so that of 64 "
        "concurrent misses exactly one leads (one query) and 63 wait; each waiter is called exactly once, with a "
        "reference count of its own.")
{
    static stampede st;
    memset(&st, 0, sizeof st);
    st.c = cache_new(8, 16, 1 << 16);
    pthread_barrier_init(&st.go, NULL, STAMPEDE);
    pthread_t threads[STAMPEDE];
    stampede_arg args[STAMPEDE];
    for (int i = 0; i < STAMPEDE; i++) {
        answer_init(&st.answers[i]);
        args[i] = (stampede_arg){&st, i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, stampede_thread, &args[i]), 0);
    }
    for (int i = 0; i < STAMPEDE; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&st.go);
    ck_assert_int_eq(atomic_load(&st.leaders), 1);
    ck_assert_int_eq(atomic_load(&st.waits), STAMPEDE - 1);
    int called = 0;
    for (int i = 0; i < STAMPEDE; i++) {
        int calls = atomic_load(&st.answers[i].calls);
        ck_assert_int_le(calls, 1);
        if (calls == 1) {
            called++;
            ck_assert_int_eq(st.answers[i].status, WS_STATUS_OK);
            ck_assert_str_eq(st.answers[i].text, "row 42");
        }
    }
    ck_assert_int_eq(called, STAMPEDE - 1);
    ws_cache_stats s = cache_stats_of(st.c);
    ck_assert_uint_eq(s.flights, 1);
    ck_assert_uint_eq(s.misses, STAMPEDE);
    ck_assert_uint_eq(s.waiters_served, STAMPEDE - 1);
    ck_assert_int_eq(cache_get_expect(st.c, HOT_KEY, T0, "row 42"), WS_CACHE_HIT);
    ws_cache_destroy(st.c);
}
FT_TIMEOUT(stampede_of_64_misses_makes_one_leader, 15);

FT_TEST(4, failed_leader_answers_every_waiter_with_the_error, 3,
        "A leader that gives up: every waiter is called exactly once with its error, nothing is installed, and "
        "the flight is gone, so the next get leads again (an error is not cached).")
{
    ws_cache *c = cache_new(2, 4, 4096);
    answer a[4];
    ws_cache_lookup out, lead;
    answer_init(&a[0]);
    ck_assert_int_eq(ws_cache_get(c, 5, T0, &a[0].w, &lead), WS_CACHE_LEAD);
    for (int i = 1; i < 4; i++) {
        answer_init(&a[i]);
        ck_assert_int_eq(ws_cache_get(c, 5, T0, &a[i].w, &out), WS_CACHE_WAIT);
    }
    ck_assert(!ws_cache_complete(c, lead.flight, NULL, WS_STATUS_UNAVAILABLE, T0));
    ck_assert_int_eq(atomic_load(&a[0].calls), 0); /* the leader's waiter was not kept */
    for (int i = 1; i < 4; i++) {
        ck_assert_int_eq(atomic_load(&a[i].calls), 1);
        ck_assert_int_eq(a[i].status, WS_STATUS_UNAVAILABLE);
        ck_assert(!a[i].had_value);
    }
    ck_assert_uint_eq(cache_stats_of(c).waiters_served, 3);
    ck_assert(cache_fill(c, 5, "row 5", T0 + 1)); /* leads again, and this time succeeds */
    ck_assert_int_eq(cache_get_expect(c, 5, T0 + 1, "row 5"), WS_CACHE_HIT);
    ws_cache_destroy(c);
}

FT_TEST(4, invalidation_during_a_flight_keeps_the_stale_value_out, 4,
        "Stale set: an invalidation during a flight marks it stale — its waiters still get its answer (they asked "
        "before the write), but its value is never installed, and the next get leads a fresh load.")
{
    ws_cache *c = cache_new(2, 4, 4096);
    answer lead_w, w1;
    answer_init(&lead_w);
    answer_init(&w1);
    ws_cache_lookup lead, out;
    ck_assert_int_eq(ws_cache_get(c, 7, T0, &lead_w.w, &lead), WS_CACHE_LEAD);
    ck_assert_int_eq(ws_cache_get(c, 7, T0, &w1.w, &out), WS_CACHE_WAIT);
    ws_cache_invalidate(c, 7); /* a PUT reached the database while the old row was being read */
    ws_blob *old = blob_of("old 7");
    ck_assert(!ws_cache_complete(c, lead.flight, old, WS_STATUS_OK, T0));
    ws_blob_release(old);
    ck_assert_int_eq(atomic_load(&w1.calls), 1);
    ck_assert_str_eq(w1.text, "old 7");
    ck_assert_uint_eq(cache_stats_of(c).stale_drops, 1);
    ck_assert_uint_eq(cache_stats_of(c).bytes, 0);
    ck_assert(cache_fill(c, 7, "new 7", T0)); /* leads again: nothing was installed */
    ck_assert_int_eq(cache_get_expect(c, 7, T0, "new 7"), WS_CACHE_HIT);
    ws_cache_destroy(c);
}

FT_TEST(4, stale_completion_cannot_overwrite_a_newer_fill, 2,
        "Stale set: after an invalidation a get must not join the stale flight but lead a new one; when the stale "
        "flight finishes last, the newer value stays.")
{
    ws_cache *c = cache_new(1, 4, 4096);
    answer wa, wb, w2;
    answer_init(&wa);
    answer_init(&wb);
    answer_init(&w2);
    ws_cache_lookup first, second, out;
    ck_assert_int_eq(ws_cache_get(c, 8, T0, &wa.w, &first), WS_CACHE_LEAD);
    ws_cache_invalidate(c, 8);
    ck_assert_int_eq(ws_cache_get(c, 8, T0, &wb.w, &second), WS_CACHE_LEAD);
    ck_assert_int_eq(ws_cache_get(c, 8, T0, &w2.w, &out), WS_CACHE_WAIT);
    ws_blob *fresh = blob_of("new 8"), *old = blob_of("old 8");
    ck_assert(ws_cache_complete(c, second.flight, fresh, WS_STATUS_OK, T0));
    ck_assert(!ws_cache_complete(c, first.flight, old, WS_STATUS_OK, T0));
    ws_blob_release(fresh);
    ws_blob_release(old);
    ck_assert_int_eq(atomic_load(&w2.calls), 1);
    ck_assert_str_eq(w2.text, "new 8");
    ck_assert_int_eq(cache_get_expect(c, 8, T0, "new 8"), WS_CACHE_HIT);
    ws_cache_destroy(c);
}

/* A waiter that, like a handler answering its request, looks the key up again from inside the callback. */
typedef struct reentrant {
    answer a;
    ws_cache *c;
    ws_cache_answer again;
    char again_text[32];
} reentrant;

static void reentrant_fn(void *ctx, ws_blob *value, ws_status status)
{
    reentrant *r = ctx;
    answer unused;
    answer_init(&unused);
    ws_cache_lookup out;
    r->again = ws_cache_get(r->c, 11, T0, &unused.w, &out);
    if (r->again == WS_CACHE_HIT && out.value->len < sizeof r->again_text)
        memcpy(r->again_text, out.value->bytes, out.value->len);
    if (r->again == WS_CACHE_HIT)
        ws_blob_release(out.value);
    answer_fn(&r->a, value, status);
}

FT_TEST(4, waiters_are_called_without_the_shard_lock, 3,
        "Call waiters after the shard lock is released: a waiter that calls back into the cache (here a get on the "
        "same key) deadlocks if ws_cache_complete still holds the lock; and install before you call them.")
{
    static reentrant r;
    memset(&r, 0, sizeof r);
    ws_cache *c = cache_new(1, 4, 4096);
    r.c = c;
    answer_init(&r.a);
    r.a.w.fn = reentrant_fn;
    r.a.w.ctx = &r;
    answer lead_w;
    answer_init(&lead_w);
    ws_cache_lookup lead, out;
    ck_assert_int_eq(ws_cache_get(c, 11, T0, &lead_w.w, &lead), WS_CACHE_LEAD);
    ck_assert_int_eq(ws_cache_get(c, 11, T0, &r.a.w, &out), WS_CACHE_WAIT);
    ws_blob *b = blob_of("row 11");
    ck_assert(ws_cache_complete(c, lead.flight, b, WS_STATUS_OK, T0));
    ws_blob_release(b);
    ck_assert_int_eq(atomic_load(&r.a.calls), 1);
    ck_assert_int_eq(r.again, WS_CACHE_HIT);
    ck_assert_str_eq(r.again_text, "row 11");
    ws_cache_destroy(c);
}

enum { READERS = 4, HOT_ROUNDS = 2000 };

typedef struct hot {
    ws_cache *c;
    pthread_barrier_t go;
    atomic_int wrong;
} hot;

static void *hot_reader(void *p)
{
    hot *h = p;
    answer unused;
    answer_init(&unused);
    pthread_barrier_wait(&h->go);
    for (int i = 0; i < HOT_ROUNDS; i++) {
        ws_cache_lookup out;
        if (ws_cache_get(h->c, 1, T0, &unused.w, &out) != WS_CACHE_HIT || !blob_is(out.value, "row 1"))
            atomic_fetch_add(&h->wrong, 1);
        ws_blob_release(out.value);
    }
    return NULL;
}

FT_TEST(4, hits_on_one_key_from_many_threads_stay_readers, 2,
        "A hit is a reader: it takes the shared lock and sets the CLOCK bit with an atomic store; a plain store "
        "from several readers at once is a data race (ThreadSanitizer), and the reference count must be atomic.")
{
    static hot h;
    memset(&h, 0, sizeof h);
    h.c = cache_new(1, 4, 4096);
    ck_assert(cache_fill(h.c, 1, "row 1", T0));
    pthread_barrier_init(&h.go, NULL, READERS);
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, hot_reader, &h), 0);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&h.go);
    ck_assert_int_eq(atomic_load(&h.wrong), 0);
    ck_assert_uint_eq(cache_stats_of(h.c).hits, READERS * HOT_ROUNDS);
    ws_cache_destroy(h.c);
}
FT_TIMEOUT(hits_on_one_key_from_many_threads_stay_readers, 10);

enum { MIXED_KEYS = 64, MIXED_ROUNDS = 1500 };

typedef struct mixed {
    ws_cache *c;
    atomic_int next_index;
    pthread_barrier_t go;
    atomic_int readers_left, gets, waits, leads, wrong, lost;
} mixed;

static void mixed_value(int64_t key, char *text, size_t cap) { snprintf(text, cap, "item %lld", (long long)key); }

static void *mixed_reader(void *p)
{
    mixed *m = p;
    answer w;
    char text[32];
    pthread_barrier_wait(&m->go);
    int self = atomic_fetch_add(&m->next_index, 1);
    int step = 2 * self + 1; /* odd, so each reader visits every key, in its own order */
    for (int i = 0; i < MIXED_ROUNDS; i++) {
        int64_t key = (self + i * step) % MIXED_KEYS;
        mixed_value(key, text, sizeof text);
        answer_init(&w);
        ws_cache_lookup out;
        ws_cache_answer r = ws_cache_get(m->c, key, T0, &w.w, &out);
        atomic_fetch_add(&m->gets, 1);
        if (r == WS_CACHE_HIT) {
            if (!blob_is(out.value, text))
                atomic_fetch_add(&m->wrong, 1);
            ws_blob_release(out.value);
        } else if (r == WS_CACHE_LEAD) {
            atomic_fetch_add(&m->leads, 1);
            ws_blob *b = ws_blob_new(text, strlen(text));
            (void)ws_cache_complete(m->c, out.flight, b, b != NULL ? WS_STATUS_OK : WS_STATUS_UNAVAILABLE, T0);
            ws_blob_release(b);
        } else if (r == WS_CACHE_WAIT) {
            atomic_fetch_add(&m->waits, 1);
            if (!wait_until_count(&w.calls, 1)) { /* another reader leads, and completes at once */
                atomic_fetch_add(&m->lost, 1);
                break; /* w stays lent to the cache: stop using it */
            }
            if (strcmp(w.text, text) != 0)
                atomic_fetch_add(&m->wrong, 1);
        } else {
            atomic_fetch_add(&m->wrong, 1);
        }
    }
    atomic_fetch_sub(&m->readers_left, 1);
    return NULL;
}

static void *mixed_writer(void *p)
{
    mixed *m = p;
    pthread_barrier_wait(&m->go);
    for (int64_t key = 0; atomic_load(&m->readers_left) > 0; key = (key + 5) % MIXED_KEYS) {
        ws_cache_invalidate(m->c, key); /* a PUT: the next reader of this key loads it again */
        sched_yield();
    }
    return NULL;
}

FT_TEST(4, readers_and_an_invalidating_writer_share_the_cache_safely, 3,
        "Hits under the shared lock, misses, completions, evictions and invalidations under the exclusive one: no "
        "data race (ThreadSanitizer), every reference count given back (Valgrind), the last release acquires "
        "before it frees, every waiter answered.")
{
    static mixed m;
    memset(&m, 0, sizeof m);
    m.c = cache_new(4, 8, 4 * 6 * (8 + WS_CACHE_ENTRY_OVERHEAD)); /* 24 entries for 64 keys: evictions too */
    atomic_store(&m.readers_left, READERS);
    pthread_barrier_init(&m.go, NULL, READERS + 1);
    pthread_t threads[READERS + 1];
    for (int i = 0; i < READERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, mixed_reader, &m), 0);
    ck_assert_int_eq(pthread_create(&threads[READERS], NULL, mixed_writer, &m), 0);
    for (int i = 0; i <= READERS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&m.go);
    ck_assert_int_eq(atomic_load(&m.lost), 0);
    ck_assert_int_eq(atomic_load(&m.wrong), 0);
    ws_cache_stats s = cache_stats_of(m.c);
    ck_assert_uint_eq(s.hits + s.misses, (uint64_t)atomic_load(&m.gets));
    ck_assert_uint_eq(s.flights, (uint64_t)atomic_load(&m.leads));
    ck_assert_uint_eq(s.waiters_served, (uint64_t)atomic_load(&m.waits));
    ck_assert_uint_le(s.bytes, 4 * 6 * (8 + WS_CACHE_ENTRY_OVERHEAD));
    ws_cache_destroy(m.c);
}
FT_TIMEOUT(readers_and_an_invalidating_writer_share_the_cache_safely, 30);
