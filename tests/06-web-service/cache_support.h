/*
 * Shared set-up for part 4's tests (test_cache.c, test_cache_flight.c): a cache and blobs that fail the test when
 * they cannot be made, a waiter that records what it was told, and the miss-then-complete sequence most tests start
 * with.
 */
#ifndef FERRITE_TEST_CACHE_SUPPORT_06_H
#define FERRITE_TEST_CACHE_SUPPORT_06_H

#include "cache.h"
#include "ferrite_test.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum { T0 = 1000, TTL = 500 };
/* Bytes one entry of a short test value costs: a budget of n * ENTRY holds n of them. */
#define ENTRY(text_) (sizeof(text_) - 1 + WS_CACHE_ENTRY_OVERHEAD)

/* A waiter that records what it was told: the call count, the status and a copy of the bytes. */
typedef struct answer {
    ws_cache_waiter w;
    atomic_int calls;
    ws_status status;
    bool had_value;
    char text[32];
} answer;

/* A cache with @p shards shards of @p entries slots, @p budget bytes in all and TTL ms to live; asserts. */
ws_cache *cache_new(size_t shards, size_t entries, size_t budget);
/* A new blob holding @p text (one reference, the caller's); asserts. */
ws_blob *blob_of(const char *text);
/* True when @p b holds exactly the bytes of @p text. */
bool blob_is(const ws_blob *b, const char *text);
/* The ::ws_cache_waiter_fn of an ::answer: records, copies the bytes, releases the value, counts the call. */
void answer_fn(void *ctx, ws_blob *value, ws_status status);
/* Zeroes @p a and points its waiter at answer_fn() with @p a as context. */
void answer_init(answer *a);
/* Misses @p key (it must lead), completes the flight with @p text; returns what complete returned. */
bool cache_fill(ws_cache *c, int64_t key, const char *text, uint64_t now);
/* Gets @p key at @p now and returns the answer; a hit's value must read @p text, and is released. A LEAD is
 * completed with an error so that no flight stays open. */
ws_cache_answer cache_get_expect(ws_cache *c, int64_t key, uint64_t now, const char *text);
/* The counters of @p c. */
ws_cache_stats cache_stats_of(const ws_cache *c);
/* Polls until *counter reaches @p target or 10 s pass; true if it did. Yields, never sleeps a fixed time. */
bool wait_until_count(atomic_int *counter, int target);

#endif
