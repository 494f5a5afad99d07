/*
 * Part 3: the manifest (manifest.h) — written whole through a temporary file, synced, renamed and made durable by a
 * directory sync; refused whole when any byte of it is wrong; and the cleanup that removes what a crash left behind.
 */
#include "ordered_support.h"

#include "faultio.h"
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_manifest sample(void)
{
    kv_manifest m = {.log_number = 7, .next_number = 12, .segment_count = 3, .segments = {11, 9, 4}};
    return m;
}

static bool manifest_equal(const kv_manifest *a, const kv_manifest *b)
{
    if (a->log_number != b->log_number || a->next_number != b->next_number || a->segment_count != b->segment_count)
        return false;
    for (size_t i = 0; i < a->segment_count; i++)
        if (a->segments[i] != b->segments[i])
            return false;
    return true;
}

FT_TEST(3, manifest_round_trips_and_a_new_store_has_none, 2,
        "kv_manifest_read returns exactly what kv_manifest_write wrote (log number, next number, the segments "
        "newest first), KV_NOT_FOUND when there is no MANIFEST yet, and the file is 36 + 8 * segment_count bytes; "
        "kv_manifest_write refuses a segment number that is not below next_number (KV_INVALID).")
{
    const char *dir = scratch_dir();
    char name[KV_SEGMENT_NAME_BYTES], path[512];
    kv_segment_file_name(42, name);
    ck_assert_str_eq(name, "000042.seg");
    kv_manifest got = {0}, m = sample();
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_NOT_FOUND);
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK);
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_OK);
    ck_assert(manifest_equal(&got, &m));
    ck_assert_uint_eq(file_size(dir_path(dir, KV_MANIFEST_NAME, path)), KV_MANIFEST_FIXED_BYTES + 8 * 3);
    ck_assert(!dir_has(dir, KV_MANIFEST_NAME ".tmp"));

    kv_manifest empty = {.log_number = 1, .next_number = 1, .segment_count = 0};
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &empty), KV_OK);
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_OK);
    ck_assert(manifest_equal(&got, &empty));

    kv_manifest bad = sample();
    bad.segments[1] = 12; /* not below next_number */
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &bad), KV_INVALID);
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_OK);
    ck_assert(manifest_equal(&got, &empty));
}

FT_TEST(3, manifest_survives_a_power_cut_right_after_write, 3,
        "kv_manifest_write returns KV_OK only once the new manifest is durable and current: fsync before rename "
        "(else the name survives the power cut on an empty file: KV_CORRUPT) and a directory fsync after it (else "
        "the rename is lost and the old manifest comes back). The fault layer keeps exactly what was synced.")
{
    const char *dir = scratch_dir();
    faultio *f = faultio_new();
    kv_manifest first = {.log_number = 1, .next_number = 2, .segment_count = 1, .segments = {1}}, second = sample();
    ck_assert_int_eq(kv_manifest_write(faultio_io(f), dir, &first), KV_OK);
    ck_assert_int_eq(kv_manifest_write(faultio_io(f), dir, &second), KV_OK);
    faultio_power_cut(f);
    faultio_free(f);
    kv_manifest got = {0};
    kv_status st = kv_manifest_read(kv_io_posix(), dir, &got);
    ck_assert_msg(st == KV_OK,
                  "after the power cut, the manifest reads with %d (KV_CORRUPT: not synced before the "
                  "rename; KV_NOT_FOUND: directory not synced after it)",
                  (int)st);
    ck_assert_msg(manifest_equal(&got, &second),
                  "after the power cut the older manifest is current: the rename "
                  "was not made durable by a directory fsync");
}

FT_TEST(3, manifest_that_is_corrupt_is_refused, 3,
        "kv_manifest_read checks the magic, the version, that the length is exactly 36 + 8 * segment_count, and "
        "the checksum (crc32c) of every byte before it: a flipped bit anywhere, a file cut at any length or one "
        "byte too long is KV_CORRUPT, and the out-parameter is left as it was. A manifest half read names some "
        "segments and hides the others.")
{
    const char *dir = scratch_dir();
    char path[512];
    dir_path(dir, KV_MANIFEST_NAME, path);
    kv_manifest m = sample();
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK);
    size_t len = 0;
    unsigned char *good = file_read(path, &len);
    ck_assert_uint_eq(len, KV_MANIFEST_FIXED_BYTES + 8 * 3);
    const kv_manifest untouched = {.log_number = 99};
    for (size_t at = 0; at < len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            file_flip_bit(path, at, bit);
            kv_manifest got = untouched;
            kv_status st = kv_manifest_read(kv_io_posix(), dir, &got);
            ck_assert_msg(st == KV_CORRUPT,
                          "bit %d of byte %zu flipped: kv_manifest_read returned %d, not "
                          "KV_CORRUPT (is the checksum checked?)",
                          bit, at, (int)st);
            ck_assert_uint_eq(got.log_number, 99);
            file_flip_bit(path, at, bit);
        }
    }
    for (size_t cut = 0; cut < len; cut++) {
        file_write(path, good, cut);
        kv_manifest got = untouched;
        kv_status st = kv_manifest_read(kv_io_posix(), dir, &got);
        ck_assert_msg(st == KV_CORRUPT,
                      "the manifest cut to %zu of %zu bytes: kv_manifest_read returned %d, not "
                      "KV_CORRUPT",
                      cut, len, (int)st);
        ck_assert_uint_eq(got.log_number, 99);
    }
    unsigned char longer[KV_MANIFEST_FIXED_BYTES + 8 * 3 + 1];
    memcpy(longer, good, len);
    longer[len] = 0;
    file_write(path, longer, len + 1);
    kv_manifest got = untouched;
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_CORRUPT);
    file_write(path, good, len);
    ck_assert_int_eq(kv_manifest_read(kv_io_posix(), dir, &got), KV_OK);
    ck_assert(manifest_equal(&got, &m));
    free(good);
}

FT_TEST(3, leftovers_are_removed_and_live_files_kept, 3,
        "kv_manifest_remove_leftovers removes every leftover of a crashed flush or compaction — each NNNNNN.seg "
        "the manifest does not name, each .tmp file — keeps the live segments and every other file (the log's), "
        "and syncs the directory so that the removals survive a power cut.")
{
    const char *dir = scratch_dir();
    char path[512];
    const char *live[] = {"000004.seg", "000009.seg", "000011.seg", "wal-000007.log", "notes"};
    const char *dead[] = {"000003.seg", "000010.seg", "000012.seg.tmp", "MANIFEST.tmp"};
    kv_manifest m = sample();
    ck_assert_int_eq(kv_manifest_write(kv_io_posix(), dir, &m), KV_OK); /* before the leftovers: it uses MANIFEST.tmp */
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        file_write(dir_path(dir, live[i], path), "x", 1);
    for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++)
        file_write(dir_path(dir, dead[i], path), "y", 1);
    faultio *f = faultio_new();
    size_t removed = 0;
    ck_assert_int_eq(kv_manifest_remove_leftovers(faultio_io(f), dir, &m, &removed), KV_OK);
    ck_assert_uint_eq(removed, sizeof dead / sizeof dead[0]);
    faultio_power_cut(f);
    faultio_free(f);
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        ck_assert_msg(dir_has(dir, live[i]), "%s was removed, but it is not a leftover", live[i]);
    for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++)
        ck_assert_msg(!dir_has(dir, dead[i]), "the leftover %s is still there after a power cut", dead[i]);
    ck_assert(dir_has(dir, KV_MANIFEST_NAME));
    ck_assert_int_eq(kv_manifest_remove_leftovers(kv_io_posix(), dir, &m, &removed), KV_OK);
    ck_assert_uint_eq(removed, 0);
}
