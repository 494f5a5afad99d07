/*
 * Chapter 07, part 1: the write-ahead log on the real file system — the frame, the round trip, and recovery from
 * every torn and corrupt tail the tests can make by cutting and flipping the file's bytes. The log under crashes,
 * power cuts, a full disk and many writers is in test_wal_crash.c.
 */
#include "crc32c.h"
#include "faultio.h"
#include "support.h"
#include "wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(1, "the write-ahead log: frames, recovery, group commit");

/* The file system of these tests: the real one, except that syncs are only counted (faultio never cuts the power
 * here), since the tests that cut and flip bytes reopen the log hundreds of times. One per test process. */
static kv_io *test_io(void)
{
    static faultio *fio;
    if (fio == NULL)
        fio = faultio_new();
    return faultio_io(fio);
}

static kv_wal *open_ok(const char *path, const kv_wal_options *opt, rec_list *got)
{
    kv_wal *w = NULL;
    kv_status st = kv_wal_open(test_io(), path, opt, got ? rec_collect : NULL, got, &w);
    ck_assert_msg(st == KV_OK, "kv_wal_open(%s) returned %d", path, st);
    ck_assert(w != NULL);
    return w;
}

static void append_ids(kv_wal *w, uint64_t first, uint64_t n)
{
    unsigned char rec[REC_MAX];
    for (uint64_t id = first; id < first + n; id++)
        ck_assert_int_eq(kv_wal_append(w, rec, rec_make(id, rec)), KV_OK);
}

/* Writes records 0 .. n-1 to a new log at path; *ends gets the end offset of each (n entries). */
static void write_log(const char *path, uint64_t n, uint64_t *ends)
{
    kv_wal *w = open_ok(path, NULL, NULL);
    unsigned char rec[REC_MAX];
    uint64_t end = 0;
    for (uint64_t id = 0; id < n; id++) {
        size_t len = rec_make(id, rec);
        ck_assert_int_eq(kv_wal_append(w, rec, len), KV_OK);
        end += KV_WAL_HEADER + len;
        if (ends)
            ends[id] = end;
    }
    ck_assert_uint_eq(kv_wal_stats_get(w).end, end);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
}

static void assert_ids_from_zero(const rec_list *got, size_t n, const char *when)
{
    ck_assert_msg(got->garbage == 0, "%s: recovery handed out %zu record(s) that were never written (garbage)", when,
                  got->garbage);
    ck_assert_msg(got->n == n, "%s: %zu records recovered, expected %zu", when, got->n, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got->ids[i] == i, "%s: record %zu is id %llu", when, i, (unsigned long long)got->ids[i]);
}

FT_TEST(1, records_come_back_in_order_after_reopen, 3,
        "Append frames each record and writes it; open replays every record, oldest first, byte for byte. The "
        "TiKV snippet's put returned Ok(()) without writing: here nothing counts until it is read back.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    /* On the real file system: real fdatasync, real directory fsync. */
    kv_wal *w = NULL;
    ck_assert_int_eq(kv_wal_open(kv_io_posix(), path, NULL, NULL, NULL, &w), KV_OK);
    append_ids(w, 0, 100);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list got = {0};
    w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 100, "reopen");
    kv_wal_stats s = kv_wal_stats_get(w);
    ck_assert_uint_eq(s.replayed, 100);
    ck_assert_uint_eq(s.dropped_bytes, 0);
    ck_assert_uint_eq(s.end, file_size(path));
    append_ids(w, 100, 20);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list_free(&got);
    w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 120, "second reopen");
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list_free(&got);
}

FT_TEST(
    1, the_frame_is_crc_then_length_then_payload, 2,
    "wal.h's frame: u32 CRC-32C over the length field and the payload, u32 length, payload, little-endian. "
    "A CRC over the payload alone misses a flipped length bit; a header of 7 or 9 bytes (off-by-one) misreads every frame.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    kv_wal *w = open_ok(path, NULL, NULL);
    ck_assert_int_eq(kv_wal_append(w, "hello", 5), KV_OK);
    ck_assert_int_eq(kv_wal_append(w, "ferrite!", 8), KV_OK);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    size_t len;
    unsigned char *b = file_read(path, &len);
    ck_assert_uint_eq(len, 8 + 5 + 8 + 8);
    unsigned char want_len[4] = {5, 0, 0, 0};
    ck_assert_msg(memcmp(b + 4, want_len, 4) == 0, "bytes 4..8 must be the length, 5, little-endian");
    ck_assert(memcmp(b + 8, "hello", 5) == 0);
    uint32_t crc = kv_crc32c(b + 4, 4 + 5);
    uint32_t stored = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    ck_assert_msg(stored == crc, "bytes 0..4 must be crc32c(length field + payload) = %#x, found %#x", crc, stored);
    ck_assert(b[13 + 4] == 8 && memcmp(b + 13 + 8, "ferrite!", 8) == 0);
    free(b);
}

FT_TEST(1, empty_and_oversized_records_are_refused, 2,
        "A record has 1 to max_record bytes; anything else is KV_INVALID and writes nothing (a zero length is "
        "how a zero-filled block would read, so it is never written).")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    kv_wal *w = NULL;
    kv_wal_options opt = {.max_record = 16};
    ck_assert_int_eq(kv_wal_open(test_io(), path, &opt, NULL, NULL, &w), KV_OK);
    unsigned char rec[17] = {0};
    ck_assert_int_eq(kv_wal_append(w, rec, 0), KV_INVALID);
    ck_assert_int_eq(kv_wal_append(w, rec, 17), KV_INVALID);
    ck_assert_int_eq(kv_wal_append(w, rec, 16), KV_OK);
    ck_assert_uint_eq(kv_wal_stats_get(w).appended, 1);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    ck_assert_uint_eq(file_size(path), KV_WAL_HEADER + 16);
}

FT_TEST(1, a_log_cut_at_any_byte_recovers_the_whole_records_before_the_cut, 4,
        "A torn tail: the length of an unfinished frame is noise. Check header and length against the bytes the "
        "file holds before reading, stop at the first incomplete frame, and cut the file there, so that the next "
        "record is appended where replay will find it.")
{
    const char *dir = scratch_dir();
    char path[512];
    path_join(path, sizeof path, dir, "wal.log");
    uint64_t ends[6];
    write_log(path, 6, ends);
    size_t total;
    unsigned char *whole = file_read(path, &total);
    ck_assert_uint_eq(total, ends[5]);
    for (size_t cut = 0; cut <= total; cut++) {
        file_write(path, whole, cut);
        size_t complete = 0;
        while (complete < 6 && ends[complete] <= cut)
            complete++;
        uint64_t good = complete ? ends[complete - 1] : 0;
        rec_list got = {0};
        kv_wal *w = open_ok(path, NULL, &got);
        char when[64];
        snprintf(when, sizeof when, "log cut at byte %zu", cut);
        assert_ids_from_zero(&got, complete, when);
        kv_wal_stats s = kv_wal_stats_get(w);
        ck_assert_msg(s.end == good && s.dropped_bytes == cut - good, "%s: end %llu, dropped %llu; expected %llu and %llu",
                      when, (unsigned long long)s.end, (unsigned long long)s.dropped_bytes, (unsigned long long)good,
                      (unsigned long long)(cut - good));
        ck_assert_msg(file_size(path) == good, "%s: the torn tail was not truncated at open", when);
        append_ids(w, complete, 1);
        ck_assert_int_eq(kv_wal_close(w), KV_OK);
        rec_list_free(&got);
        w = open_ok(path, NULL, &got);
        snprintf(when, sizeof when, "log cut at byte %zu, then one append", cut);
        assert_ids_from_zero(&got, complete + 1, when);
        ck_assert_int_eq(kv_wal_close(w), KV_OK);
        rec_list_free(&got);
    }
    free(whole);
}
FT_TIMEOUT(a_log_cut_at_any_byte_recovers_the_whole_records_before_the_cut, 40);

FT_TEST(1, a_flipped_bit_anywhere_in_the_last_records_is_detected, 4,
        "Replay must check each frame's CRC (over length and payload): a record with one flipped bit, in its "
        "CRC, its length or its payload, is never handed out; it and what follows are the tail to cut.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    uint64_t ends[5];
    write_log(path, 5, ends);
    size_t total;
    unsigned char *whole = file_read(path, &total);
    for (uint64_t off = ends[2]; off < total; off++) {
        size_t hit = 3 + (off >= ends[3]);
        for (int bit = (int)(off % 8); bit < 8; bit += 4) {
            file_write(path, whole, total);
            file_flip_bit(path, off, bit);
            rec_list got = {0};
            kv_wal *w = open_ok(path, NULL, &got);
            char when[80];
            snprintf(when, sizeof when, "bit %d of byte %llu (record %zu) flipped", bit, (unsigned long long)off, hit);
            assert_ids_from_zero(&got, hit, when);
            ck_assert_msg(kv_wal_stats_get(w).dropped_bytes == total - ends[hit - 1], "%s: tail not cut", when);
            ck_assert_int_eq(kv_wal_close(w), KV_OK);
            rec_list_free(&got);
        }
    }
    free(whole);
}
FT_TIMEOUT(a_flipped_bit_anywhere_in_the_last_records_is_detected, 40);

FT_TEST(1, a_zero_filled_tail_is_not_a_record, 2,
        "A crash can leave a block of zeros at the end of the file. Length 0 is never a record (and its CRC, "
        "0x48674BC7, is not the 0 stored): replay stops there and cuts it off.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    uint64_t ends[3];
    write_log(path, 3, ends);
    size_t total;
    unsigned char *b = file_read(path, &total);
    b = realloc(b, total + 4096);
    ck_assert(b != NULL);
    memset(b + total, 0, 4096);
    file_write(path, b, total + 4096);
    rec_list got = {0};
    kv_wal *w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 3, "zero-filled tail");
    ck_assert_uint_eq(kv_wal_stats_get(w).dropped_bytes, 4096);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list_free(&got);
    free(b);
}

FT_TEST(1, a_garbage_tail_is_cut_before_the_next_append, 3,
        "Recovery stops at the first bad frame; if the file is not truncated there, the next append lands after "
        "the garbage and replay, which stops at the garbage, never reaches it: an acknowledged record lost.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    write_log(path, 3, NULL);
    size_t total;
    unsigned char *b = file_read(path, &total);
    b = realloc(b, total + 40);
    ck_assert(b != NULL);
    /* A plausible header (length 20, wrong CRC) and noise. */
    unsigned char junk[40] = {0xde, 0xad, 0xbe, 0xef, 20, 0, 0, 0};
    for (int i = 8; i < 40; i++)
        junk[i] = (unsigned char)(i * 7);
    memcpy(b + total, junk, sizeof junk);
    file_write(path, b, total + sizeof junk);
    rec_list got = {0};
    kv_wal *w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 3, "garbage tail");
    append_ids(w, 3, 2);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list_free(&got);
    w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 5, "records appended after a garbage tail");
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    rec_list_free(&got);
    free(b);
}

FT_TEST(1, a_corrupt_record_in_the_middle_ends_the_log_there, 2,
        "Point-in-time recovery: after a bad record nothing is trusted, even frames that look good — the state "
        "recovered is the longest clean prefix, never a prefix with a hole in it.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    uint64_t ends[10];
    write_log(path, 10, ends);
    file_flip_bit(path, ends[4] + KV_WAL_HEADER + 3, 5);
    rec_list got = {0};
    kv_wal *w = open_ok(path, NULL, &got);
    assert_ids_from_zero(&got, 5, "record 5 of 10 corrupt");
    ck_assert_uint_eq(kv_wal_stats_get(w).end, ends[4]);
    ck_assert_int_eq(kv_wal_close(w), KV_OK);
    ck_assert_uint_eq(file_size(path), ends[4]);
    rec_list_free(&got);
}

static kv_status refuse_third(const void *rec, size_t len, void *ctx)
{
    (void)rec, (void)len;
    return ++*(int *)ctx == 3 ? KV_CORRUPT : KV_OK;
}

FT_TEST(1, a_replay_callback_error_fails_the_open, 1,
        "The replay callback's status is the caller's verdict: stop and return it from open, with no log made.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    write_log(path, 5, NULL);
    int calls = 0;
    kv_wal *w = (kv_wal *)&calls;
    ck_assert_int_eq(kv_wal_open(test_io(), path, NULL, refuse_third, &calls, &w), KV_CORRUPT);
    ck_assert_ptr_eq(w, NULL);
    ck_assert_int_eq(calls, 3);
}
