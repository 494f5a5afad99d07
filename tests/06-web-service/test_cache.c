/*
 * Part 4: the cache (cache.h), one thread at a time — reference-counted blobs, hits, TTL, a byte budget with CLOCK
 * eviction and invalidation. Single-flight misses, stale flights and the cache under many threads are in
 * test_cache_flight.c.
 *
 * Time is a number the tests choose (`now_ms`), so expiry is exact and nothing sleeps.
 */
#include "cache_support.h"

#include <string.h>

FT_PART(4, "the cache: sharded, bounded, single-flight");

FT_TEST(4, blob_lives_as_long_as_its_last_reference, 2,
        "ws_blob is Arc<[u8]>: the reference count starts at 1, ws_blob_ref adds one and returns the same blob, and "
        "only the last ws_blob_release frees it (Valgrind and ASan see a leak or a use after free).")
{
    ws_blob *a = blob_of("row 7");
    ck_assert_uint_eq(a->len, 5);
    ws_blob *b = ws_blob_ref(a);
    ck_assert_ptr_eq(b, a);
    ws_blob_release(a); /* the first holder lets go: the bytes must still be there for the second */
    ck_assert(blob_is(b, "row 7"));
    ws_blob_release(b);
    ws_blob_release(NULL);
    ws_blob *empty = ws_blob_new(NULL, 0);
    ck_assert_ptr_ne(empty, NULL);
    ck_assert_uint_eq(empty->len, 0);
    ws_blob_release(empty);
    ws_blob *one = blob_of("x"); /* the shortest value with bytes: they are copied too */
    ck_assert(blob_is(one, "x"));
    ws_blob_release(one);
}

FT_TEST(4, hit_after_fill_returns_the_same_bytes_and_counts_a_hit, 2,
        "A miss leads, ws_cache_complete installs a reference of its own (the reference count of the caller's blob "
        "is the caller's), and each hit hands out one more reference with the same bytes.")
{
    ws_cache *c = cache_new(4, 8, 4096);
    ck_assert(cache_fill(c, 7, "row 7", T0));
    for (int i = 0; i < 3; i++) {
        answer unused;
        answer_init(&unused);
        ws_cache_lookup out;
        ck_assert_int_eq(ws_cache_get(c, 7, T0 + 1, &unused.w, &out), WS_CACHE_HIT);
        ck_assert(blob_is(out.value, "row 7"));
        ws_blob_release(out.value);
    }
    ws_cache_stats s = cache_stats_of(c);
    ck_assert_uint_eq(s.hits, 3);
    ck_assert_uint_eq(s.misses, 1);
    ck_assert_uint_eq(s.flights, 1);
    ck_assert_uint_eq(s.bytes, ENTRY("row 7"));
    ws_cache_destroy(c);
}

FT_TEST(4, ttl_expires_at_the_exact_boundary, 2,
        "TTL boundary: an entry installed at t is fresh while now < t + ttl and expired at now == t + ttl "
        "(an off-by-one here serves a value 1 ms too long, or never serves it at ttl 1).")
{
    ws_cache *c = cache_new(1, 8, 4096);
    ck_assert(cache_fill(c, 3, "row 3", T0));
    ck_assert_int_eq(cache_get_expect(c, 3, T0 + TTL - 1, "row 3"), WS_CACHE_HIT);
    ck_assert_int_eq(cache_get_expect(c, 3, T0 + TTL, "row 3"), WS_CACHE_LEAD);
    ck_assert_uint_eq(cache_stats_of(c).bytes, 0); /* the expired entry was removed, its blob released */
    ws_cache_destroy(c);
}

FT_TEST(4, budget_is_respected_and_clock_gives_a_hit_entry_a_second_chance, 3,
        "CLOCK second chance: a new entry starts with its bit clear, a hit sets it; the hand clears a set bit and "
        "passes on, and evicts the first entry without one. The bytes in use never exceed the budget.")
{
    ws_cache *c = cache_new(1, 8, 3 * ENTRY("row 1"));
    ck_assert(cache_fill(c, 1, "row 1", T0));
    ck_assert(cache_fill(c, 2, "row 2", T0));
    ck_assert(cache_fill(c, 3, "row 3", T0));
    ck_assert_int_eq(cache_get_expect(c, 1, T0, "row 1"), WS_CACHE_HIT); /* 1 earns its second chance */
    ck_assert(cache_fill(c, 4, "row 4", T0));                            /* no room: one eviction */
    ws_cache_stats s = cache_stats_of(c);
    ck_assert_uint_eq(s.evictions, 1);
    ck_assert_uint_le(s.bytes, 3 * ENTRY("row 1"));
    ck_assert_int_eq(cache_get_expect(c, 1, T0, "row 1"), WS_CACHE_HIT);  /* survived the sweep */
    ck_assert_int_eq(cache_get_expect(c, 3, T0, "row 3"), WS_CACHE_HIT);  /* not reached by the hand */
    ck_assert_int_eq(cache_get_expect(c, 4, T0, "row 4"), WS_CACHE_HIT);  /* just installed */
    ck_assert_int_eq(cache_get_expect(c, 2, T0, "row 2"), WS_CACHE_LEAD); /* the victim */
    ck_assert_uint_eq(cache_stats_of(c).bytes, 3 * ENTRY("row 1"));
    ws_cache_destroy(c);
}

FT_TEST(4, evicted_value_stays_valid_while_a_reader_holds_it, 2,
        "Eviction drops the cache's reference, never the reader's: release, not free, or the reader of a hit "
        "reads freed memory (use after free).")
{
    ws_cache *c = cache_new(1, 1, 4096); /* one slot: every fill evicts the previous entry */
    ck_assert(cache_fill(c, 1, "row 1", T0));
    answer unused;
    answer_init(&unused);
    ws_cache_lookup held;
    ck_assert_int_eq(ws_cache_get(c, 1, T0, &unused.w, &held), WS_CACHE_HIT);
    ck_assert(cache_fill(c, 2, "row 2", T0));
    ck_assert_int_eq(cache_get_expect(c, 1, T0, "row 1"), WS_CACHE_LEAD); /* evicted from the table... */
    ck_assert(blob_is(held.value, "row 1"));                              /* ...but alive for its reader */
    ws_blob_release(held.value);
    ws_cache_destroy(c);
}

FT_TEST(4, invalidate_removes_the_entry_and_releases_its_blob, 1,
        "ws_cache_invalidate removes the entry and gives back the cache's reference count (its bytes leave the "
        "budget); the next get leads a load.")
{
    ws_cache *c = cache_new(2, 4, 4096);
    ck_assert(cache_fill(c, 9, "row 9", T0));
    ws_cache_invalidate(c, 9);
    ws_cache_invalidate(c, 10); /* nothing cached: nothing happens */
    ck_assert_uint_eq(cache_stats_of(c).bytes, 0);
    ck_assert_int_eq(cache_get_expect(c, 9, T0, "row 9"), WS_CACHE_LEAD);
    ws_cache_destroy(c);
}

FT_TEST(4, a_freed_slot_is_skipped_by_the_clock_hand, 1,
        "An invalidated entry's slot is free: the CLOCK hand passes over it and evicts a live entry, whose "
        "reference count it gives back; the bytes in use stay within the budget.")
{
    char big[2 * WS_CACHE_ENTRY_OVERHEAD + 1]; /* costs more than two small entries: needs an eviction */
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ws_cache *c = cache_new(1, 4, 3 * ENTRY("row 1"));
    ck_assert(cache_fill(c, 1, "row 1", T0)); /* slot 0, where the hand starts */
    ck_assert(cache_fill(c, 2, "row 2", T0));
    ws_cache_invalidate(c, 1);
    ck_assert(cache_fill(c, 3, big, T0));
    ck_assert_uint_eq(cache_stats_of(c).evictions, 1);
    ck_assert_uint_le(cache_stats_of(c).bytes, 3 * ENTRY("row 1"));
    ck_assert_int_eq(cache_get_expect(c, 3, T0, big), WS_CACHE_HIT);
    ck_assert_int_eq(cache_get_expect(c, 2, T0, "row 2"), WS_CACHE_LEAD);
    ws_cache_destroy(c);
}

FT_TEST(4, a_value_as_large_as_the_shard_budget_is_cached_one_byte_more_is_not, 1,
        "A shard holds budget_bytes / shards; a value whose cost (len + WS_CACHE_ENTRY_OVERHEAD) equals that "
        "share fits exactly (off-by-one), one byte more is handed to the waiters but not cached.")
{
    ws_cache *c = cache_new(2, 4, 2 * ENTRY("row 1"));
    ck_assert(cache_fill(c, 1, "row 1", T0));
    ck_assert_int_eq(cache_get_expect(c, 1, T0, "row 1"), WS_CACHE_HIT);
    ck_assert(!cache_fill(c, 2, "row 22", T0));
    ck_assert_int_eq(cache_get_expect(c, 2, T0, "row 22"), WS_CACHE_LEAD);
    ws_cache_destroy(c);
}
