/*
 * Part 2: the memtable (memtable.h) — byte order with prefixes, replace in place, tombstones, seek, the size
 * that says when to flush. Keys are drawn in a fixed-seed order, so every run inserts them the same way.
 */
#include "ordered_support.h"

#include <stdlib.h>
#include <string.h>

FT_PART(2, "ordered storage: memtable, segments, merged scans");

/* Walks @p mt from the start and checks that it yields exactly @p keys (with @p lens), in that order. */
static void expect_order(const kv_memtable *mt, const char *const *keys, const size_t *lens, size_t n)
{
    kv_memtable_iter it;
    kv_entry e;
    size_t i = 0;
    for (kv_memtable_seek(mt, NULL, 0, &it); kv_memtable_iter_entry(&it, &e); kv_memtable_iter_next(&it), i++) {
        ck_assert_uint_lt(i, n);
        ck_assert_msg(e.key_len == lens[i] && memcmp(e.key, keys[i], lens[i]) == 0,
                      "entry %zu: expected key of length %zu, got length %zu", i, lens[i], e.key_len);
    }
    ck_assert_uint_eq(i, n);
}

FT_TEST(2, memtable_orders_keys_bytewise_with_prefixes_first, 3,
        "Keys compare as unsigned bytes (memcmp), and a key that is a prefix of another sorts first: "
        "\"\" < \"a\" < \"ab\" < \"abc\" < \"b\" < \"\\xff\". That is Rust's Ord for [u8]; comparing only the common "
        "prefix makes \"ab\" and \"abc\" the same key.")
{
    static const char *const sorted[] = {"", "\x00", "\x00\x00", "a", "ab", "ab\x00", "abc", "b", "\x7f", "\x80", "\xff"};
    static const size_t lens[] = {0, 1, 2, 1, 2, 3, 3, 1, 1, 1, 1};
    static const int order[] = {6, 3, 10, 1, 8, 0, 4, 9, 2, 7, 5}; /* a fixed shuffle of 0..10 */
    kv_memtable *mt = memtable_new();
    for (size_t i = 0; i < 11; i++) {
        int k = order[i];
        ck_assert_int_eq(kv_memtable_put(mt, sorted[k], lens[k], "v", 1), KV_OK);
    }
    ck_assert_uint_eq(kv_memtable_count(mt), 11);
    expect_order(mt, sorted, lens, 11);
    ck_assert_int_lt(kv_key_compare("ab", 2, "abc", 3), 0);
    ck_assert_int_gt(kv_key_compare("abc", 3, "ab", 2), 0);
    ck_assert_int_lt(kv_key_compare("\x7f", 1, "\x80", 1), 0);
    ck_assert_int_eq(kv_key_compare("", 0, NULL, 0), 0);
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_prefix_keys_are_different_keys, 2,
        "\"ab\" and \"abc\" are two keys: a put of one must not replace the other. A comparison that stops at the "
        "shorter key's length calls them equal (compare the lengths when the common prefix is equal).")
{
    kv_memtable *mt = memtable_new();
    mt_put(mt, "abc", "long");
    mt_put(mt, "ab", "short");
    mt_put(mt, "abcd", "longer");
    ck_assert_uint_eq(kv_memtable_count(mt), 3);
    kv_entry e;
    ck_assert(kv_memtable_get(mt, "ab", 2, &e) && entry_is(&e, "ab", "short"));
    ck_assert(kv_memtable_get(mt, "abc", 3, &e) && entry_is(&e, "abc", "long"));
    ck_assert(kv_memtable_get(mt, "abcd", 4, &e) && entry_is(&e, "abcd", "longer"));
    ck_assert(!kv_memtable_get(mt, "a", 1, &e));
    ck_assert(!kv_memtable_get(mt, "abcde", 5, &e));
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_put_replaces_the_value_in_place, 2,
        "A memtable holds each key once (no versions yet): a second put replaces the value, the count stays, and "
        "the bytes counted change by the difference in value length.")
{
    kv_memtable *mt = memtable_new();
    ck_assert_uint_eq(kv_memtable_bytes(mt), 0);
    mt_put(mt, "key", "one");
    ck_assert_uint_eq(kv_memtable_bytes(mt), 3 + 3 + KV_MEMTABLE_ENTRY_OVERHEAD);
    mt_put(mt, "key", "three");
    ck_assert_uint_eq(kv_memtable_count(mt), 1);
    ck_assert_uint_eq(kv_memtable_bytes(mt), 3 + 5 + KV_MEMTABLE_ENTRY_OVERHEAD);
    kv_entry e;
    ck_assert(kv_memtable_get(mt, "key", 3, &e) && entry_is(&e, "key", "three"));
    ck_assert_int_eq(kv_memtable_put(mt, "key", 3, NULL, 0), KV_OK); /* an empty value is a value */
    ck_assert(kv_memtable_get(mt, "key", 3, &e) && entry_is(&e, "key", ""));
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_delete_records_a_tombstone, 3,
        "A delete is a tombstone: an entry that says \"deleted\", kept even when the memtable never had the key, "
        "because an older value may be in a segment on disk. A later put replaces the tombstone.")
{
    kv_memtable *mt = memtable_new();
    mt_del(mt, "gone");
    ck_assert_uint_eq(kv_memtable_count(mt), 1);
    kv_entry e;
    ck_assert(kv_memtable_get(mt, "gone", 4, &e));
    ck_assert(entry_is(&e, "gone", NULL));
    ck_assert_uint_eq(kv_memtable_bytes(mt), 4 + KV_MEMTABLE_ENTRY_OVERHEAD);
    mt_put(mt, "here", "1");
    mt_del(mt, "here");
    ck_assert(kv_memtable_get(mt, "here", 4, &e) && entry_is(&e, "here", NULL));
    ck_assert_uint_eq(kv_memtable_count(mt), 2);
    mt_put(mt, "gone", "back");
    ck_assert(kv_memtable_get(mt, "gone", 4, &e) && entry_is(&e, "gone", "back"));
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_seek_lands_on_the_first_key_not_below, 2,
        "seek(k) is range(k..): the first key >= k, a prefix-extended key included (seek(\"ab\") lands on \"ab\" if "
        "present, else on \"abc\"); past the end when every key is below k.")
{
    kv_memtable *mt = memtable_new();
    mt_put(mt, "abc", "1");
    mt_put(mt, "b", "2");
    mt_put(mt, "a", "0");
    kv_memtable_iter it;
    kv_entry e;
    kv_memtable_seek(mt, "ab", 2, &it);
    ck_assert(kv_memtable_iter_entry(&it, &e) && entry_is(&e, "abc", "1"));
    kv_memtable_iter_next(&it);
    ck_assert(kv_memtable_iter_entry(&it, &e) && entry_is(&e, "b", "2"));
    kv_memtable_iter_next(&it);
    ck_assert(!kv_memtable_iter_entry(&it, &e));
    kv_memtable_iter_next(&it); /* past the end stays there */
    ck_assert(!kv_memtable_iter_entry(&it, &e));
    kv_memtable_seek(mt, "a", 1, &it);
    ck_assert(kv_memtable_iter_entry(&it, &e) && entry_is(&e, "a", "0"));
    kv_memtable_seek(mt, "c", 1, &it);
    ck_assert(!kv_memtable_iter_entry(&it, &e));
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_is_full_once_its_bytes_reach_the_limit, 1,
        "kv_memtable_full says when to flush: bytes (keys, values, and the per-entry overhead) >= the limit. A put "
        "past the limit still succeeds; the limit decides when to write a segment, not what to drop.")
{
    kv_memtable *mt = NULL;
    ck_assert_int_eq(kv_memtable_create(0, &mt), KV_INVALID);
    ck_assert_ptr_eq(mt, NULL);
    size_t per = 6 + 4 + KV_MEMTABLE_ENTRY_OVERHEAD;
    ck_assert_int_eq(kv_memtable_create(3 * per, &mt), KV_OK);
    mt_put(mt, "key001", "abcd");
    mt_put(mt, "key002", "abcd");
    ck_assert(!kv_memtable_full(mt));
    mt_put(mt, "key003", "abcd");
    ck_assert(kv_memtable_full(mt));
    mt_put(mt, "key004", "abcd");
    ck_assert_uint_eq(kv_memtable_count(mt), 4);
    kv_memtable_destroy(mt);
}

FT_TEST(2, memtable_stays_sorted_under_many_random_inserts, 2,
        "A skip list finds the insert position on every level (the last node below the key on each one) and links "
        "the new node in on each level of its tower: 20,000 keys in random order must come back sorted, each once.")
{
    enum { N = 20000 };
    unsigned *order = malloc(N * sizeof *order);
    ck_assert_ptr_ne(order, NULL);
    for (unsigned i = 0; i < N; i++)
        order[i] = i;
    test_rng rng = rng_new(0x5eed0702u);
    for (unsigned i = N - 1; i > 0; i--) { /* Fisher-Yates with a fixed seed */
        unsigned j = (unsigned)(rng_next(&rng) % (i + 1));
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    kv_memtable *mt = memtable_new();
    char key[16], value[32];
    for (unsigned i = 0; i < N; i++)
        mt_put(mt, key_name(order[i], key), value_name(order[i], 1, value));
    ck_assert_uint_eq(kv_memtable_count(mt), N);
    kv_memtable_iter it;
    kv_entry e;
    unsigned n = 0;
    for (kv_memtable_seek(mt, NULL, 0, &it); kv_memtable_iter_entry(&it, &e); kv_memtable_iter_next(&it), n++)
        ck_assert_msg(entry_is(&e, key_name(n, key), value_name(n, 1, value)), "entry %u is out of order", n);
    ck_assert_uint_eq(n, N);
    for (unsigned i = 0; i < N; i += 97)
        ck_assert(kv_memtable_get(mt, key_name(i, key), 9, &e) && entry_is(&e, key, value_name(i, 1, value)));
    kv_memtable_destroy(mt);
    free(order);
}
