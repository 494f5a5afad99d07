/* Part 4's test helpers: see cache_support.h. */
#define _POSIX_C_SOURCE 200809L

#include "cache_support.h"

#include <sched.h>
#include <string.h>
#include <time.h>

ws_cache *cache_new(size_t shards, size_t entries, size_t budget)
{
    ws_cache *c = NULL;
    ws_cache_config config = {.shards = shards, .entries_per_shard = entries, .budget_bytes = budget, .ttl_ms = TTL};
    ck_assert_int_eq(ws_cache_create(&config, &c), WS_STATUS_OK);
    ck_assert_ptr_ne(c, NULL);
    return c;
}

ws_blob *blob_of(const char *text)
{
    ws_blob *b = ws_blob_new(text, strlen(text));
    ck_assert_msg(b != NULL, "ws_blob_new returned NULL");
    return b;
}

bool blob_is(const ws_blob *b, const char *text)
{
    return b != NULL && b->len == strlen(text) && memcmp(b->bytes, text, b->len) == 0;
}

void answer_fn(void *ctx, ws_blob *value, ws_status status)
{
    answer *a = ctx;
    a->status = status;
    a->had_value = value != NULL;
    a->text[0] = '\0';
    if (value != NULL && value->len < sizeof a->text) {
        memcpy(a->text, value->bytes, value->len);
        a->text[value->len] = '\0';
    }
    ws_blob_release(value);
    atomic_fetch_add_explicit(&a->calls, 1, memory_order_release); /* publishes the fields above */
}

void answer_init(answer *a)
{
    memset(a, 0, sizeof *a);
    a->w.fn = answer_fn;
    a->w.ctx = a;
}

/* Misses @p key (it must lead), completes the flight with @p text; returns what complete returned. */
bool cache_fill(ws_cache *c, int64_t key, const char *text, uint64_t now)
{
    answer unused;
    answer_init(&unused);
    ws_cache_lookup out;
    ck_assert_int_eq(ws_cache_get(c, key, now, &unused.w, &out), WS_CACHE_LEAD);
    ck_assert_ptr_ne(out.flight, NULL);
    ws_blob *b = blob_of(text);
    bool installed = ws_cache_complete(c, out.flight, b, WS_STATUS_OK, now);
    ws_blob_release(b);
    return installed;
}

/* Gets @p key at @p now and returns the answer; a hit's value must read @p text, and is released. A LEAD is
 * completed with an error so that no flight stays open. */
ws_cache_answer cache_get_expect(ws_cache *c, int64_t key, uint64_t now, const char *text)
{
    answer unused;
    answer_init(&unused);
    ws_cache_lookup out;
    ws_cache_answer r = ws_cache_get(c, key, now, &unused.w, &out);
    if (r == WS_CACHE_HIT) {
        ck_assert_msg(blob_is(out.value, text), "a hit on key %lld returned the wrong bytes", (long long)key);
        ws_blob_release(out.value);
    } else if (r == WS_CACHE_LEAD) {
        (void)ws_cache_complete(c, out.flight, NULL, WS_STATUS_UNAVAILABLE, now);
    }
    return r;
}

ws_cache_stats cache_stats_of(const ws_cache *c)
{
    ws_cache_stats s;
    ws_cache_stats_read(c, &s);
    return s;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Polls until *counter reaches @p target or 10 s pass; true if it did. Yields, never sleeps a fixed time. */
bool wait_until_count(atomic_int *counter, int target)
{
    double deadline = seconds_now() + 10.0;
    while (atomic_load_explicit(counter, memory_order_acquire) < target) {
        if (seconds_now() > deadline)
            return false;
        sched_yield();
    }
    return true;
}
