/*
 * Part 4: versions of a key (mvcc.h) — TiKV's memcomparable encoding byte for byte, bytewise order of the encoded
 * keys equal to (key ascending, version descending) for keys that are prefixes of each other or hold NUL and 0xFF
 * bytes, malformed internal keys refused, and the garbage-collection rule of the compaction filter.
 */
#include "support.h"

#include "mvcc.h"

#include <stdlib.h>
#include <string.h>

FT_PART(4, "the store: recovery, snapshots, transactions");

static void expect_bytes(const kv_buf *b, const uint8_t *want, size_t want_len, const char *what)
{
    ck_assert_msg(b->len == want_len, "%s: %zu bytes, expected %zu", what, b->len, want_len);
    for (size_t i = 0; i < want_len; i++)
        ck_assert_msg(b->data[i] == want[i], "%s: byte %zu is 0x%02x, expected 0x%02x", what, i, b->data[i], want[i]);
}

FT_TEST(4, mvcc_encoding_is_tikvs_memcomparable_format, 2,
        "Memcomparable encoding: groups of 8 key bytes, the last padded with zeros, each followed by 0xFF minus its "
        "pad count; a key whose length is a multiple of 8 (the empty key too) ends with a whole group of padding "
        "(marker 0xF7); then the version as ~seq, big-endian.")
{
    kv_buf b = {0};
    const uint8_t empty[] = {0, 0, 0, 0, 0, 0, 0, 0, 0xf7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    ck_assert_int_eq(kv_mvcc_encode(NULL, 0, 1, &b), KV_OK);
    expect_bytes(&b, empty, sizeof empty, "the empty key at version 1");
    ck_assert_uint_eq(kv_mvcc_key_bytes(0), sizeof empty);

    const uint8_t abc[] = {'a', 'b', 'c', 0, 0, 0, 0, 0, 0xfa, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff};
    ck_assert_int_eq(kv_mvcc_encode("abc", 3, 0x100, &b), KV_OK);
    expect_bytes(&b, abc, sizeof abc, "\"abc\" at version 0x100");

    const uint8_t eight[] = {'1', '2', '3', '4', '5',  '6',  '7',  '8',  0xff, 0,    0,    0,    0,
                             0,   0,   0,   0,   0xf7, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    ck_assert_int_eq(kv_mvcc_encode("12345678", 8, 0x0123456789abcdefull, &b), KV_OK);
    expect_bytes(&b, eight, sizeof eight, "\"12345678\" at version 0x0123456789abcdef");
    ck_assert_uint_eq(kv_mvcc_key_bytes(8), sizeof eight);
    ck_assert_uint_eq(kv_mvcc_seq(b.data, b.len), 0x0123456789abcdefull);
    kv_buf_free(&b);
}

typedef struct versioned {
    uint8_t key[12];
    size_t key_len;
    uint64_t seq;
    kv_buf enc;
} versioned;

static int by_key_then_newest(const void *pa, const void *pb)
{
    const versioned *a = pa, *b = pb;
    int c = kv_key_compare(a->key, a->key_len, b->key, b->key_len);
    if (c != 0)
        return c;
    return a->seq > b->seq ? -1 : a->seq < b->seq;
}

FT_TEST(4, mvcc_encoded_order_is_key_order_then_newest_first, 3,
        "Bytewise order of internal keys must equal (user key ascending, version descending). Appending the version "
        "to the raw key breaks it when one key is a prefix of another (\"a\"+version against \"ab\"+version); "
        "the version must be stored inverted (~seq) and big-endian so that newer sorts first.")
{
    enum { N = 600 };
    versioned *v = calloc(N, sizeof *v);
    ck_assert_ptr_ne(v, NULL);
    test_rng r = rng_new(7);
    const uint8_t alphabet[] = {0x00, 0x01, 'a', 'b', 0xf7, 0xfe, 0xff};
    for (size_t i = 0; i < N; i++) {
        v[i].key_len = rng_below(&r, 12);
        for (size_t j = 0; j < v[i].key_len; j++)
            v[i].key[j] = alphabet[rng_below(&r, sizeof alphabet)];
        uint64_t pick = rng_below(&r, 4);
        v[i].seq = pick == 0 ? 1 : pick == 1 ? UINT64_MAX - rng_below(&r, 3) : 1 + rng_below(&r, 1u << 20) * 257;
        ck_assert_int_eq(kv_mvcc_encode(v[i].key, v[i].key_len, v[i].seq, &v[i].enc), KV_OK);
    }
    qsort(v, N, sizeof *v, by_key_then_newest);
    for (size_t i = 0; i + 1 < N; i++) {
        int want = by_key_then_newest(&v[i], &v[i + 1]);
        int got = kv_key_compare(v[i].enc.data, v[i].enc.len, v[i + 1].enc.data, v[i + 1].enc.len);
        ck_assert_msg((want < 0) == (got < 0) && (want == 0) == (got == 0),
                      "a key of %zu bytes at version %llu and a key of %zu bytes at version %llu: the encodings "
                      "compare %d, the pairs %d",
                      v[i].key_len, (unsigned long long)v[i].seq, v[i + 1].key_len, (unsigned long long)v[i + 1].seq, got,
                      want);
        bool same = v[i].key_len == v[i + 1].key_len && memcmp(v[i].key, v[i + 1].key, v[i].key_len) == 0;
        ck_assert_msg(kv_mvcc_same_key(v[i].enc.data, v[i].enc.len, v[i + 1].enc.data, v[i + 1].enc.len) == same,
                      "kv_mvcc_same_key says %d for two versions whose user keys are %s", !same,
                      same ? "equal" : "different");
    }
    for (size_t i = 0; i < N; i++)
        kv_buf_free(&v[i].enc);
    free(v);
}

FT_TEST(4, mvcc_decode_round_trips_and_refuses_malformed_keys, 2,
        "Decoding trusts nothing: the length must be 9 * n + 8, only the last group may be (and must be) padded, a "
        "marker is 0xF7..0xFF, and pad bytes are zeros; anything else is KV_CORRUPT, never a guess.")
{
    kv_buf enc = {0}, user = {0};
    const char *keys[] = {"", "x", "1234567", "12345678", "123456789", "a\0b\xff"};
    const size_t lens[] = {0, 1, 7, 8, 9, 4};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        uint64_t seq = 0;
        ck_assert_int_eq(kv_mvcc_encode(keys[i], lens[i], 42 + i, &enc), KV_OK);
        ck_assert_int_eq(kv_mvcc_decode(enc.data, enc.len, &user, &seq), KV_OK);
        ck_assert_uint_eq(user.len, lens[i]);
        ck_assert(lens[i] == 0 || memcmp(user.data, keys[i], lens[i]) == 0);
        ck_assert_uint_eq(seq, 42 + i);
    }
    ck_assert_int_eq(kv_mvcc_encode("123456789", 9, 5, &enc), KV_OK); /* two groups: full, then 1 byte + 7 pad */
    uint8_t bad[64];
    memcpy(bad, enc.data, enc.len);
    ck_assert_int_eq(kv_mvcc_decode(bad, enc.len - 1, &user, NULL), KV_CORRUPT); /* length not 9n + 8 */
    ck_assert_int_eq(kv_mvcc_decode(bad, 7, &user, NULL), KV_CORRUPT);
    bad[8] = 0xfe; /* the first group claims padding but is not the last */
    ck_assert_int_eq(kv_mvcc_decode(bad, enc.len, &user, NULL), KV_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    bad[17] = 0xf0; /* a marker below 0xF7 */
    ck_assert_int_eq(kv_mvcc_decode(bad, enc.len, &user, NULL), KV_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    bad[12] = 'z'; /* a pad byte that is not zero */
    ck_assert_int_eq(kv_mvcc_decode(bad, enc.len, &user, NULL), KV_CORRUPT);
    memcpy(bad, enc.data, enc.len);
    bad[17] = 0xff; /* the last group claims to be full: the key never ends */
    ck_assert_int_eq(kv_mvcc_decode(bad, enc.len, &user, NULL), KV_CORRUPT);
    kv_buf_free(&enc);
    kv_buf_free(&user);
}

/* Runs the filter over (key, seq, put/delete) triples in order and returns the kept ones as a bitmask. */
static unsigned run_gc(uint64_t safe_point, bool bottom, const char *keys[], const uint64_t *seqs, const char *kinds,
                       size_t n, uint64_t *dropped)
{
    kv_mvcc_gc gc = kv_mvcc_gc_init(safe_point);
    kv_buf enc = {0};
    unsigned kept = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(kv_mvcc_encode(keys[i], strlen(keys[i]), seqs[i], &enc), KV_OK);
        uint8_t value[2] = {kinds[i] == 'P' ? KV_MVCC_PUT : KV_MVCC_DELETE, 'v'};
        kv_entry e = {.key = enc.data, .key_len = enc.len, .value = value, .value_len = kinds[i] == 'P' ? 2 : 1};
        if (kv_mvcc_gc_keep(&e, bottom, &gc))
            kept |= 1u << i;
    }
    *dropped = gc.dropped;
    kv_mvcc_gc_free(&gc);
    kv_buf_free(&enc);
    return kept;
}

FT_TEST(4, mvcc_gc_keeps_exactly_what_a_reader_at_the_safe_point_can_see, 3,
        "Garbage collection at a safe point: versions above it stay; the newest version at or below it stays (a "
        "reader at the safe point reads it), except a delete when nothing older exists outside the compaction "
        "(bottom); every older version goes. Reset the state at each new user key.")
{
    const char *keys[] = {"a", "a", "a", "a", "b", "b", "c", "d", "d"};
    const uint64_t seqs[] = {9, 7, 5, 3, 4, 2, 8, 6, 1};
    const char kinds[] = {'P', 'P', 'P', 'P', 'D', 'P', 'P', 'P', 'P'};
    uint64_t dropped = 0;
    unsigned kept = run_gc(6, true, keys, seqs, kinds, 9, &dropped);
    /* a: 9, 7 above; 5 the reader's; 3 hidden. b: delete 4 at the bottom goes, 2 hidden. c: above. d: 6 is the
     * reader's (at the safe point itself), 1 hidden. */
    ck_assert_msg(kept == (1u << 0 | 1u << 1 | 1u << 2 | 1u << 6 | 1u << 7),
                  "bottom compaction at safe point 6 kept mask 0x%x, expected 0x%x", kept,
                  1u << 0 | 1u << 1 | 1u << 2 | 1u << 6 | 1u << 7);
    ck_assert_uint_eq(dropped, 4);
    kept = run_gc(6, false, keys, seqs, kinds, 9, &dropped);
    ck_assert_msg(kept == (1u << 0 | 1u << 1 | 1u << 2 | 1u << 4 | 1u << 6 | 1u << 7),
                  "a compaction above older segments must keep b's delete (it hides an older value elsewhere): "
                  "kept mask 0x%x",
                  kept);
    ck_assert_uint_eq(dropped, 3);
}
