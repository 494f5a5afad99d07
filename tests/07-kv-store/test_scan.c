/*
 * Part 2: reads across layers (scan.h) — point lookups where the newest layer decides, merged range scans where
 * the newest entry of a key wins and tombstones hide what they delete, and a randomized differential test of
 * memtable + segments against a sorted-array model.
 */
#include "ordered_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a whole scan of @p view over [start, end) and writes "key=value " for each entry into @p out. */
static const char *scan_text(const kv_view *view, const char *start, const char *end, char *out, size_t cap)
{
    kv_scan *scan = NULL;
    ck_assert_int_eq(kv_scan_open(view, start, start ? strlen(start) : 0, end, end ? strlen(end) : 0, &scan), KV_OK);
    size_t at = 0;
    out[0] = '\0';
    kv_entry e;
    while (kv_scan_next(scan, &e) == KV_OK) {
        ck_assert_msg(!e.tombstone, "a scan returned a tombstone for %.*s", (int)e.key_len, (const char *)e.key);
        at += (size_t)snprintf(out + at, cap - at, "%.*s=%.*s ", (int)e.key_len, (const char *)e.key, (int)e.value_len,
                               e.value ? (const char *)e.value : "");
        ck_assert_uint_lt(at, cap);
    }
    ck_assert_int_eq(kv_scan_next(scan, &e), KV_NOT_FOUND); /* the end stays the end */
    kv_scan_close(scan);
    return out;
}

/* Three layers: an old segment, a newer segment, and the memtable. */
typedef struct layers {
    const char *dir;
    kv_memtable *old_mt, *new_mt, *mem;
    kv_segment *segs[2]; /* newest first */
    kv_view view;
} layers;

static void layers_make(layers *l)
{
    l->dir = scratch_dir();
    l->old_mt = memtable_new();
    mt_put(l->old_mt, "apple", "old");
    mt_put(l->old_mt, "banana", "old");
    mt_put(l->old_mt, "cherry", "old");
    mt_put(l->old_mt, "date", "old");
    mt_put(l->old_mt, "fig", "old");
    l->new_mt = memtable_new();
    mt_put(l->new_mt, "banana", "newer");
    mt_del(l->new_mt, "cherry");
    mt_put(l->new_mt, "elder", "newer");
    mt_del(l->new_mt, "fig");
    l->mem = memtable_new();
    mt_put(l->mem, "banana", "newest");
    mt_put(l->mem, "fig", "again");
    mt_del(l->mem, "date");
    mt_del(l->mem, "grape"); /* a tombstone for a key no layer has */
    l->segs[1] = segment_from(l->dir, "000001.seg", l->old_mt, 0);
    l->segs[0] = segment_from(l->dir, "000002.seg", l->new_mt, 0);
    l->view = (kv_view){l->mem, l->segs, 2};
}

static void layers_free(layers *l)
{
    kv_segment_close(l->segs[0]);
    kv_segment_close(l->segs[1]);
    kv_memtable_destroy(l->old_mt);
    kv_memtable_destroy(l->new_mt);
    kv_memtable_destroy(l->mem);
}

static void expect_get(const kv_view *v, const char *key, const char *value)
{
    kv_entry e;
    kv_status st = kv_view_get(v, key, strlen(key), &e);
    if (value == NULL) {
        ck_assert_msg(st == KV_NOT_FOUND, "get(%s) should be KV_NOT_FOUND, got %d", key, (int)st);
        return;
    }
    ck_assert_msg(st == KV_OK, "get(%s) should find \"%s\", got status %d", key, value, (int)st);
    ck_assert_msg(entry_is(&e, key, value), "get(%s) should be \"%s\", got \"%.*s\"", key, value, (int)e.value_len,
                  e.value ? (const char *)e.value : "");
}

FT_TEST(2, view_get_takes_the_newest_layer_that_has_the_key, 3,
        "Layers are newest first (memtable, then segments from newest to oldest); the first layer with an entry "
        "for the key decides: newest wins, and a tombstone there means not found, whatever older layers hold.")
{
    layers l;
    layers_make(&l);
    expect_get(&l.view, "apple", "old");     /* only the oldest layer has it */
    expect_get(&l.view, "banana", "newest"); /* all three do */
    expect_get(&l.view, "cherry", NULL);     /* deleted in the newer segment */
    expect_get(&l.view, "date", NULL);       /* deleted in the memtable */
    expect_get(&l.view, "elder", "newer");
    expect_get(&l.view, "fig", "again"); /* deleted, then put again */
    expect_get(&l.view, "grape", NULL);
    expect_get(&l.view, "kiwi", NULL);
    kv_view segments_only = {NULL, l.segs, 2};
    expect_get(&segments_only, "banana", "newer");
    expect_get(&segments_only, "fig", NULL);
    layers_free(&l);
}

FT_TEST(2, scan_merges_layers_in_key_order_newest_wins, 3,
        "A scan merges one iterator per layer: at each step the smallest key; when several layers are on it, the "
        "newest layer's entry wins and every layer moves past that key. Returning the older entry of an equal key "
        "brings deleted or overwritten values back.")
{
    layers l;
    layers_make(&l);
    char buf[512];
    ck_assert_str_eq(scan_text(&l.view, NULL, NULL, buf, sizeof buf), "apple=old banana=newest elder=newer fig=again ");
    kv_view segments_only = {NULL, l.segs, 2};
    ck_assert_str_eq(scan_text(&segments_only, NULL, NULL, buf, sizeof buf),
                     "apple=old banana=newer date=old elder=newer ");
    kv_view memtable_only = {l.mem, NULL, 0};
    ck_assert_str_eq(scan_text(&memtable_only, NULL, NULL, buf, sizeof buf), "banana=newest fig=again ");
    layers_free(&l);
}

FT_TEST(2, scan_skips_tombstones_and_what_they_hide, 3,
        "A tombstone that wins its key is skipped, and so is every older entry of that key: a scan that returns "
        "the tombstone (or lets the older value through) shows a deleted key.")
{
    const char *dir = scratch_dir();
    kv_memtable *old_mt = memtable_new(), *mem = memtable_new();
    char key[16], value[32];
    for (unsigned i = 0; i < 100; i++)
        mt_put(old_mt, key_name(i, key), value_name(i, 1, value));
    for (unsigned i = 0; i < 100; i++)
        if (i % 3 != 0)
            mt_del(mem, key_name(i, key));
    kv_segment *seg = segment_from(dir, "000001.seg", old_mt, 128);
    kv_view view = {mem, &seg, 1};
    kv_scan *scan = NULL;
    ck_assert_int_eq(kv_scan_open(&view, NULL, 0, NULL, 0, &scan), KV_OK);
    kv_entry e;
    for (unsigned i = 0; i < 100; i += 3) {
        ck_assert_int_eq(kv_scan_next(scan, &e), KV_OK);
        ck_assert_msg(entry_is(&e, key_name(i, key), value_name(i, 1, value)), "expected %s next", key);
    }
    ck_assert_int_eq(kv_scan_next(scan, &e), KV_NOT_FOUND);
    kv_scan_close(scan);
    kv_segment_close(seg);
    kv_memtable_destroy(old_mt);
    kv_memtable_destroy(mem);
}

FT_TEST(2, scan_bounds_are_half_open, 2,
        "A range is [start, end): start included, end excluded, compared as whole keys — \"ab\" is below \"abc\", "
        "so start \"ab\" takes \"abc\" and end \"abc\" stops before it. An end <= start is an empty range.")
{
    kv_memtable *mem = memtable_new();
    mt_put(mem, "a", "1");
    mt_put(mem, "ab", "2");
    mt_put(mem, "abc", "3");
    mt_put(mem, "b", "4");
    kv_view view = {mem, NULL, 0};
    char buf[256];
    ck_assert_str_eq(scan_text(&view, "ab", NULL, buf, sizeof buf), "ab=2 abc=3 b=4 ");
    ck_assert_str_eq(scan_text(&view, "aa", "abc", buf, sizeof buf), "ab=2 ");
    ck_assert_str_eq(scan_text(&view, NULL, "ab", buf, sizeof buf), "a=1 ");
    ck_assert_str_eq(scan_text(&view, "abc", "abc", buf, sizeof buf), "");
    ck_assert_str_eq(scan_text(&view, "b", "a", buf, sizeof buf), "");
    ck_assert_str_eq(scan_text(&view, "", "", buf, sizeof buf), "");
    ck_assert_str_eq(scan_text(&view, "", "\xff", buf, sizeof buf), "a=1 ab=2 abc=3 b=4 ");
    kv_memtable_destroy(mem);
}

/* ---- the differential test ---- */

enum { ROUNDS = 12, OPS_PER_ROUND = 300, MAX_SEGMENTS = ROUNDS };

/* A random key over a four-letter alphabet with NUL and 0xff, length 0..4: many prefixes of each other. */
static size_t random_key(test_rng *rng, uint8_t key[MODEL_KEY_MAX])
{
    static const uint8_t alphabet[] = {0x00, 'a', 'b', 0xff};
    size_t len = rng_next(rng) % 5;
    for (size_t i = 0; i < len; i++)
        key[i] = alphabet[rng_next(rng) % 4];
    return len;
}

static void compare_get(const kv_view *view, const model *m, const uint8_t *key, size_t key_len)
{
    kv_entry e;
    kv_status st = kv_view_get(view, key, key_len, &e);
    const model_slot *slot = model_find(m, key, key_len);
    if (slot == NULL || !slot->live) {
        ck_assert_msg(st == KV_NOT_FOUND, "get of a key of length %zu: expected not found, got %d", key_len, (int)st);
        return;
    }
    ck_assert_msg(st == KV_OK, "get of a key of length %zu: expected \"%s\", got status %d", key_len, slot->value, (int)st);
    ck_assert_msg(e.value_len == strlen(slot->value) && memcmp(e.value, slot->value, e.value_len) == 0,
                  "get of a key of length %zu: expected \"%s\"", key_len, slot->value);
}

/* Compares a scan over [start, end) (either may be absent) with the model's live slots in that range. */
static void compare_scan(const kv_view *view, const model *m, const uint8_t *start, size_t start_len, const uint8_t *end,
                         size_t end_len)
{
    kv_scan *scan = NULL;
    ck_assert_int_eq(kv_scan_open(view, start, start_len, end, end_len, &scan), KV_OK);
    kv_entry e;
    for (size_t i = 0; i < m->count; i++) {
        const model_slot *slot = &m->slots[i];
        if (!slot->live || (start && kv_key_compare(slot->key, slot->key_len, start, start_len) < 0) ||
            (end && kv_key_compare(slot->key, slot->key_len, end, end_len) >= 0))
            continue;
        ck_assert_msg(kv_scan_next(scan, &e) == KV_OK, "the scan ended early: model slot %zu (\"%s\") missing", i,
                      slot->value);
        ck_assert_msg(e.key_len == slot->key_len && memcmp(e.key, slot->key, e.key_len) == 0,
                      "the scan returned a wrong key where the model has \"%s\"", slot->value);
        ck_assert_msg(!e.tombstone && e.value_len == strlen(slot->value) && memcmp(e.value, slot->value, e.value_len) == 0,
                      "the scan returned a stale or deleted value where the model has \"%s\"", slot->value);
    }
    ck_assert_msg(kv_scan_next(scan, &e) == KV_NOT_FOUND, "the scan returned a key the model does not have");
    kv_scan_close(scan);
}

static void compare_all(const kv_view *view, const model *m, test_rng *rng)
{
    for (size_t i = 0; i < m->count; i++)
        compare_get(view, m, m->slots[i].key, m->slots[i].key_len);
    uint8_t a[MODEL_KEY_MAX], b[MODEL_KEY_MAX];
    for (int i = 0; i < 20; i++) {
        size_t a_len = random_key(rng, a), b_len = random_key(rng, b);
        compare_get(view, m, a, a_len);
        int shape = (int)(rng_next(rng) % 4);
        compare_scan(view, m, shape & 1 ? a : NULL, a_len, shape & 2 ? b : NULL, b_len);
    }
}

FT_TEST(2, differential_memtable_and_segments_match_a_sorted_array, 4,
        "Random puts and deletes (fixed seed) over short keys that are prefixes of each other, flushed to a new "
        "segment every round; after each round every get and random scans must equal a sorted-array model. "
        "Newest layer wins, tombstones hide older values, byte order puts a prefix first: the failure message "
        "names which of these broke.")
{
    const char *dir = scratch_dir();
    test_rng rng = rng_new(0x07020702u);
    model m = {0};
    kv_segment *segs[MAX_SEGMENTS]; /* newest first */
    size_t nsegs = 0;
    kv_memtable *mem = memtable_new();
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned op = 0; op < OPS_PER_ROUND; op++) {
            uint8_t key[MODEL_KEY_MAX];
            size_t key_len = random_key(&rng, key);
            if (rng_next(&rng) % 3 == 0) {
                ck_assert_int_eq(kv_memtable_delete(mem, key, key_len), KV_OK);
                model_del(&m, key, key_len);
            } else {
                char value[24];
                snprintf(value, sizeof value, "r%u-o%u", round, op);
                ck_assert_int_eq(kv_memtable_put(mem, key, key_len, value, strlen(value)), KV_OK);
                model_put(&m, key, key_len, value);
            }
        }
        kv_view view = {mem, segs, nsegs};
        compare_all(&view, &m, &rng);
        /* Flush: the memtable becomes the newest segment, and a new, empty memtable takes its place. */
        char name[32], path[512];
        snprintf(name, sizeof name, "%06u.seg", round + 1);
        ck_assert_int_eq(kv_segment_write(kv_io_posix(), dir, name, mem, 64), KV_OK);
        kv_memtable_destroy(mem);
        mem = memtable_new();
        memmove(&segs[1], &segs[0], nsegs * sizeof segs[0]);
        ck_assert_int_eq(kv_segment_open(kv_io_posix(), dir_path(dir, name, path), &segs[0]), KV_OK);
        nsegs++;
        view = (kv_view){mem, segs, nsegs};
        compare_all(&view, &m, &rng);
    }
    for (size_t i = 0; i < nsegs; i++)
        kv_segment_close(segs[i]);
    kv_memtable_destroy(mem);
    model_free(&m);
}
FT_TIMEOUT(differential_memtable_and_segments_match_a_sorted_array, 20);
