/*
 * Part 3: compaction (compact.h) — the newest entry of each key kept, history dropped, tombstones kept while an
 * older segment may still hold the key; a power cut after every durable step of a compaction, each followed by
 * recovery, which must read exactly what the store read before; and space amplification falling back after a
 * compaction of a workload that overwrote every key.
 */
#include "ordered_support.h"

#include "compact.h"
#include "cutio.h"
#include "faultio.h"
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(3, "compaction and the manifest");

/* Writes @p mt as segment @p number of @p dir through the real file system. */
static void put_segment(const char *dir, uint64_t number, const kv_memtable *mt)
{
    char name[KV_SEGMENT_NAME_BYTES];
    kv_segment_file_name(number, name);
    ck_assert_int_eq(kv_segment_write(kv_io_posix(), dir, name, mt, 256), KV_OK);
}

/* Every live key of the store, "key=value " in key order, read through @p m's segments. */
static char *store_text(const char *dir, const kv_manifest *m)
{
    kv_segment *segs[KV_MANIFEST_MAX_SEGMENTS];
    for (size_t i = 0; i < m->segment_count; i++) {
        char name[KV_SEGMENT_NAME_BYTES], path[512];
        kv_segment_file_name(m->segments[i], name);
        kv_status st = kv_segment_open(kv_io_posix(), dir_path(dir, name, path), &segs[i]);
        ck_assert_msg(st == KV_OK, "the manifest names %s, which opens with %d", name, (int)st);
    }
    kv_view view = {.segments = segs, .segment_count = m->segment_count};
    kv_scan *scan = NULL;
    ck_assert_int_eq(kv_scan_open(&view, NULL, 0, NULL, 0, &scan), KV_OK);
    size_t cap = 1 << 16, at = 0;
    char *out = malloc(cap);
    ck_assert_ptr_ne(out, NULL);
    out[0] = '\0';
    kv_entry e;
    while (kv_scan_next(scan, &e) == KV_OK) {
        at += (size_t)snprintf(out + at, cap - at, "%.*s=%.*s ", (int)e.key_len, (const char *)e.key, (int)e.value_len,
                               e.value ? (const char *)e.value : "");
        ck_assert_uint_lt(at, cap);
    }
    kv_scan_close(scan);
    for (size_t i = 0; i < m->segment_count; i++)
        kv_segment_close(segs[i]);
    return out;
}

/* Entries in segment @p number (tombstones included). */
static size_t segment_entries(const char *dir, uint64_t number)
{
    char name[KV_SEGMENT_NAME_BYTES], path[512];
    kv_segment_file_name(number, name);
    kv_segment *seg = NULL;
    ck_assert_int_eq(kv_segment_open(kv_io_posix(), dir_path(dir, name, path), &seg), KV_OK);
    size_t n = kv_segment_count(seg);
    kv_segment_close(seg);
    return n;
}

/* The three segments the first two tests share: 3 (newest), 2, 1 (oldest). */
static kv_manifest three_segments(const char *dir, const char *newest[][2], const char *middle[][2],
                                  const char *oldest[][2])
{
    const char *(*layers[3])[2] = {oldest, middle, newest};
    for (int l = 0; l < 3; l++) {
        kv_memtable *mt = memtable_new();
        for (size_t i = 0; layers[l][i][0] != NULL; i++) {
            if (layers[l][i][1] != NULL)
                mt_put(mt, layers[l][i][0], layers[l][i][1]);
            else
                mt_del(mt, layers[l][i][0]);
        }
        put_segment(dir, (uint64_t)l + 1, mt);
        kv_memtable_destroy(mt);
    }
    kv_manifest m = {.log_number = 1, .next_number = 4, .segment_count = 3, .segments = {3, 2, 1}};
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK);
    return m;
}

FT_TEST(3, compaction_keeps_the_newest_value_and_drops_history, 3,
        "The newest wins: of a key's entries in the inputs, the one from the newest segment survives and the older "
        "ones are dropped; a run that reaches the oldest segment drops tombstones too (nothing older can hold the "
        "key). The output takes the next file number, the manifest names it alone, and the inputs are removed.")
{
    const char *dir = scratch_dir();
    const char *newest[][2] = {{"k1", "c"}, {"k3", NULL}, {NULL, NULL}};
    const char *middle[][2] = {{"k1", "b"}, {"k2", "b"}, {"k3", "b"}, {NULL, NULL}};
    const char *oldest[][2] = {{"k1", "a"}, {"k2", "a"}, {"k3", "a"}, {"k4", "a"}, {NULL, NULL}};
    kv_manifest m = three_segments(dir, newest, middle, oldest);
    char *before = store_text(dir, &m);
    ck_assert_str_eq(before, "k1=c k2=b k4=a ");
    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 0, 3, 256), KV_OK);
    ck_assert_uint_eq(m.segment_count, 1);
    ck_assert_uint_eq(m.segments[0], 4);
    ck_assert_uint_eq(m.next_number, 5);
    kv_manifest disk = {0};
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &disk), KV_OK);
    ck_assert(disk.segment_count == 1 && disk.segments[0] == 4 && disk.next_number == 5 && disk.log_number == 1);
    char *after = store_text(dir, &m);
    ck_assert_msg(strcmp(after, before) == 0,
                  "after the compaction the store reads \"%s\", not \"%s\" (the newest "
                  "entry of a key must win)",
                  after, before);
    ck_assert_msg(segment_entries(dir, 4) == 3,
                  "the output holds %zu entries, not 3: history or a tombstone with "
                  "nothing older to hide was kept",
                  segment_entries(dir, 4));
    ck_assert(!dir_has(dir, "000001.seg") && !dir_has(dir, "000002.seg") && !dir_has(dir, "000003.seg"));
    free(before);
    free(after);
}

FT_TEST(3, compaction_keeps_tombstones_that_hide_older_segments, 3,
        "A run that does not reach the oldest segment must keep its tombstones: an older segment still holds the "
        "deleted key, and dropping the tombstone would resurrect its old value. The newest entry still wins.")
{
    const char *dir = scratch_dir();
    const char *newest[][2] = {{"k1", NULL}, {"k2", "new"}, {NULL, NULL}};
    const char *middle[][2] = {{"k2", "old"}, {"k5", "x"}, {NULL, NULL}};
    const char *oldest[][2] = {{"k1", "old"}, {"k2", "oldest"}, {NULL, NULL}};
    kv_manifest m = three_segments(dir, newest, middle, oldest);
    char *before = store_text(dir, &m);
    ck_assert_str_eq(before, "k2=new k5=x ");
    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 0, 2, 0), KV_OK);
    ck_assert(m.segment_count == 2 && m.segments[0] == 4 && m.segments[1] == 1);
    char *after = store_text(dir, &m);
    ck_assert_msg(strcmp(after, before) == 0,
                  "after compacting the two newest segments the store reads \"%s\", "
                  "not \"%s\": a dropped tombstone lets the oldest segment resurrect its value",
                  after, before);
    free(after);
    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 0, 2, 0), KV_OK);
    ck_assert(m.segment_count == 1 && m.segments[0] == 5);
    after = store_text(dir, &m);
    ck_assert_str_eq(after, before);
    ck_assert_uint_eq(segment_entries(dir, 5), 2);
    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 1, 1, 0), KV_INVALID);
    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 0, 0, 0), KV_INVALID);
    free(before);
    free(after);
}

/* Counts the segment files and the .tmp files in a directory. */
typedef struct dir_count {
    size_t segments, tmps;
} dir_count;

static kv_status count_entry(const char *name, void *ctx)
{
    dir_count *d = ctx;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".seg") == 0)
        d->segments++;
    if (len > 4 && strcmp(name + len - 4, ".tmp") == 0)
        d->tmps++;
    return KV_OK;
}

/* Three overlapping segments of 120 keys each, with tombstones, in @p dir; the manifest that names them. */
static kv_manifest crash_store(const char *dir)
{
    for (unsigned l = 0; l < 3; l++) {
        kv_memtable *mt = memtable_new();
        for (unsigned k = l * 40; k < l * 40 + 120; k++) {
            char key[16], value[32];
            key_name(k, key);
            if ((k + l) % 5 == 0)
                mt_del(mt, key);
            else
                mt_put(mt, key, value_name(k, l, value));
        }
        put_segment(dir, l + 1, mt);
        kv_memtable_destroy(mt);
    }
    kv_manifest m = {.log_number = 3, .next_number = 4, .segment_count = 3, .segments = {3, 2, 1}};
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK);
    return m;
}

FT_TEST(3, compaction_survives_a_power_cut_at_every_step, 4,
        "A power cut after any step of a compaction (the output written, synced, renamed; the manifest written, "
        "made current; each input removed), then recovery (kv_manifest_read, kv_manifest_remove_leftovers), must "
        "read exactly what the store read before: no key lost, none resurrected, no leftover file. The new manifest "
        "is the commit point: inputs may be removed only after it is current and durable.")
{
    const char *root = scratch_dir();
    const size_t runs[][2] = {{0, 2}, {0, 3}, {1, 2}};
    int cuts = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        for (int cut_at = 1;; cut_at++) {
            ck_assert_int_lt(cut_at, 200);
            char dir[512];
            snprintf(dir, sizeof dir, "%s/r%zu-%d", root, r, cut_at);
            ck_assert_int_eq(kv_io_posix()->make_dir(kv_io_posix(), dir), KV_OK);
            kv_manifest m = crash_store(dir);
            char *before = store_text(dir, &m);

            cut_io c;
            cut_init(&c, cut_at);
            kv_status st = kv_compact(&c.io, dir, &m, runs[r][0], runs[r][1], 512);
            bool finished = c.steps < cut_at;
            faultio_free(c.f);
            if (finished)
                ck_assert_int_eq(st, KV_OK);

            kv_manifest rec = {0};
            st = kv_manifest_read(kv_io_posix(), dir, &rec);
            ck_assert_msg(st == KV_OK, "run %zu, power cut after \"%s\": the manifest reads with %d", r, c.last, (int)st);
            ck_assert_int_eq(kv_manifest_remove_leftovers(kv_io_posix(), dir, &rec, NULL), KV_OK);
            dir_count d = {0};
            ck_assert_int_eq(kv_io_posix()->list_dir(kv_io_posix(), dir, count_entry, &d), KV_OK);
            ck_assert_msg(d.segments == rec.segment_count && d.tmps == 0,
                          "run %zu, power cut after \"%s\": %zu segment files and %zu .tmp files after recovery, "
                          "for %zu live segments (a leftover was not removed)",
                          r, c.last, d.segments, d.tmps, rec.segment_count);
            char *after = store_text(dir, &rec);
            ck_assert_msg(strcmp(before, after) == 0,
                          "run %zu (segments %zu..%zu), power cut after \"%s\": the store reads differently after "
                          "recovery (a key lost or resurrected)",
                          r, runs[r][0], runs[r][0] + runs[r][1] - 1, finished ? "nothing" : c.last);
            free(before);
            free(after);
            if (finished) {
                cuts += cut_at - 1;
                ck_assert_uint_eq(rec.segment_count, 3 - runs[r][1] + 1);
                ck_assert_int_ge(cut_at, 8); /* at least: output append, sync, rename, sync_dir, manifest x4 */
                break;
            }
        }
    }
    printf("compaction: %d power cuts over %zu runs, each recovered to the same contents\n", cuts,
           sizeof runs / sizeof runs[0]);
}

FT_TIMEOUT(compaction_survives_a_power_cut_at_every_step, 60);

FT_TEST(3, space_amplification_falls_back_near_one_after_compaction, 3,
        "kv_space_stats reports the bytes of the live segment files over the bytes of the live keys and values "
        "(space amplification). Four rounds that overwrite every key leave four copies on disk; a compaction of "
        "every segment keeps only the newest value of each key and drops the deleted ones, bringing it back near 1.")
{
    const char *dir = scratch_dir();
    enum { KEYS = 400, ROUNDS = 4, VALUE = 100 };
    kv_manifest m = {.log_number = 1, .next_number = 1};
    for (unsigned round = 0; round <= ROUNDS; round++) {
        kv_memtable *mt = memtable_new();
        for (unsigned k = 0; k < KEYS; k++) {
            char key[16], value[VALUE + 1];
            key_name(k, key);
            memset(value, 'a' + (int)round, VALUE);
            value[VALUE] = '\0';
            if (round < ROUNDS)
                mt_put(mt, key, value);
            else if (k % 10 == 0)
                mt_del(mt, key); /* the last round deletes one key in ten */
        }
        memmove(m.segments + 1, m.segments, m.segment_count * sizeof m.segments[0]);
        m.segments[0] = m.next_number++;
        m.segment_count++;
        put_segment(dir, m.segments[0], mt);
        kv_memtable_destroy(mt);
    }
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK);

    const uint64_t live_keys = KEYS - KEYS / 10, live_bytes = live_keys * (9 + VALUE);
    kv_space before = {0};
    ck_assert_int_eq(kv_space_stats(kv_io_posix(), dir, &m, &before), KV_OK);
    ck_assert_uint_eq(before.live_keys, live_keys);
    ck_assert_uint_eq(before.live_bytes, live_bytes);
    ck_assert_msg(before.amplification > 3.5, "four full copies of the data report a space amplification of %.2f",
                  before.amplification);
    ck_assert(before.amplification == (double)before.segment_bytes / (double)before.live_bytes);

    ck_assert_int_eq(kv_compact(kv_io_posix(), dir, &m, 0, m.segment_count, 0), KV_OK);
    kv_space after = {0};
    ck_assert_int_eq(kv_space_stats(kv_io_posix(), dir, &m, &after), KV_OK);
    ck_assert_uint_eq(after.live_keys, live_keys);
    ck_assert_uint_eq(after.live_bytes, live_bytes);
    ck_assert_msg(after.amplification >= 1.0 && after.amplification < 1.25,
                  "after compacting every segment the space amplification is %.2f (segments %llu bytes, live data "
                  "%llu bytes): overwritten values or deleted keys were kept",
                  after.amplification, (unsigned long long)after.segment_bytes, (unsigned long long)after.live_bytes);
    ck_assert_uint_eq(m.segment_count, 1);
    printf("space amplification: %.2f before the compaction, %.2f after\n", before.amplification, after.amplification);
}
