/*
 * Part 4: the store (store.h) — writes and reads, recovery from the log on reopen, flushes and the sequence numbers
 * that must keep counting across them, compaction that drops old versions but keeps the newest, scans in order, a
 * corrupt segment refused at open, limits refused, group commit through the store.
 */
#include "store_support.h"

#include "faultio.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Part 4 is declared in test_mvcc.c. */

FT_TEST(4, store_reads_its_writes_and_recovers_them_from_the_log, 3,
        "kv_store_put/delete write one record each through the log and then apply it to the memtable as a version; "
        "kv_store_get reads the newest version (a delete version means absent). kv_store_open replays the log "
        "(kv_store_apply) into a fresh memtable: everything acknowledged before the close is back.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 0);
    for (unsigned k = 0; k < 200; k++)
        sput(s, k, 1);
    for (unsigned k = 0; k < 200; k += 3)
        sput(s, k, 2);
    for (unsigned k = 0; k < 200; k += 5)
        sdel(s, k);
    for (unsigned k = 0; k < 200; k++)
        ck_assert_int_eq(sget(s, NULL, k), k % 5 == 0 ? -1 : k % 3 == 0 ? 2 : 1);
    kv_buf out = {.len = 99};
    ck_assert_int_eq(kv_store_get(s, NULL, "nope", 4, &out), KV_NOT_FOUND);
    ck_assert_uint_eq(out.len, 0);
    kv_store_stats before = kv_store_stats_get(s);
    ck_assert_uint_eq(before.writes, 200 + 67 + 40);
    store_close(s);

    s = store_open(dir, NULL, 0);
    kv_store_stats after = kv_store_stats_get(s);
    ck_assert_msg(after.recovered_records == 307, "the reopen replayed %llu records, expected 307",
                  (unsigned long long)after.recovered_records);
    ck_assert_uint_eq(after.last_seq, before.last_seq);
    for (unsigned k = 0; k < 200; k++)
        ck_assert_int_eq(sget(s, NULL, k), k % 5 == 0 ? -1 : k % 3 == 0 ? 2 : 1);
    store_close(s);
}

FT_TEST(4, store_sequence_numbers_keep_counting_across_a_flush_and_reopen, 3,
        "After a flush the new log is empty, so a reopen cannot learn the last sequence number from it: a store "
        "that counts from 0 again gives new writes versions older than the flushed ones, and a read returns the "
        "old value. The new log must start with a record carrying the last sequence number.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 0);
    for (unsigned k = 0; k < 50; k++)
        sput(s, k, 1);
    ck_assert_int_eq(kv_store_flush(s), KV_OK);
    uint64_t last = kv_store_stats_get(s).last_seq;
    ck_assert_uint_eq(kv_store_stats_get(s).segments, 1);
    store_close(s);

    s = store_open(dir, NULL, 0);
    ck_assert_msg(kv_store_stats_get(s).last_seq == last,
                  "after a flush and a reopen the last sequence number is "
                  "%llu, was %llu",
                  (unsigned long long)kv_store_stats_get(s).last_seq, (unsigned long long)last);
    sput(s, 7, 2);
    ck_assert_msg(sget(s, NULL, 7) == 2, "a write after the reopen is hidden by the flushed version");
    for (unsigned k = 0; k < 50; k++)
        ck_assert_int_eq(sget(s, NULL, k), k == 7 ? 2 : 1);
    store_close(s);
}

FT_TEST(4, store_flushes_when_full_and_reads_across_every_layer, 3,
        "When the memtable is full the writer flushes it: segment written and synced, a new log, a manifest naming "
        "both, only then the old log removed. Reads look at the memtable, then the segments newest first; the first "
        "layer with a version at the snapshot decides.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 8 << 10);
    for (unsigned g = 1; g <= 3; g++)
        for (unsigned k = 0; k < 300; k++)
            if ((k + g) % 4 != 0)
                sput(s, k, g);
    kv_store_stats st = kv_store_stats_get(s);
    ck_assert_msg(st.flushes >= 5, "only %llu flushes of an 8 KiB memtable after 675 writes",
                  (unsigned long long)st.flushes);
    for (unsigned k = 0; k < 300; k++) {
        long want = (k + 3) % 4 != 0 ? 3 : 2;
        ck_assert_int_eq(sget(s, NULL, k), want);
    }
    char *before = store_dump(s, NULL);
    store_close(s);
    s = store_open(dir, NULL, 8 << 10);
    char *after = store_dump(s, NULL);
    ck_assert_msg(strcmp(before, after) == 0, "the store reads differently after a reopen");
    free(before);
    free(after);
    store_close(s);
}

FT_TEST(4, store_compaction_drops_old_versions_and_keeps_the_newest, 3,
        "Compaction merges every segment through kv_compact_filtered with kv_mvcc_gc_keep at the safe point (the "
        "oldest live snapshot, or now): the newest version of each key survives, older ones and bottom deletes "
        "go. Space amplification falls back near 1.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 16 << 10);
    for (unsigned g = 1; g <= 6; g++)
        for (unsigned k = 0; k < 200; k++)
            sput(s, k, g);
    for (unsigned k = 0; k < 200; k += 2)
        sdel(s, k);
    char *before = store_dump(s, NULL);
    ck_assert_int_eq(kv_store_compact(s), KV_OK);
    kv_store_stats st = kv_store_stats_get(s);
    ck_assert_uint_eq(st.segments, 1);
    ck_assert_msg(st.versions_dropped >= 200 * 5,
                  "the compaction dropped %llu versions of 1,300 written over 200 "
                  "keys",
                  (unsigned long long)st.versions_dropped);
    char *after = store_dump(s, NULL);
    ck_assert_msg(strcmp(before, after) == 0, "the store reads differently after a compaction");
    for (unsigned k = 0; k < 200; k++)
        ck_assert_int_eq(sget(s, NULL, k), k % 2 == 0 ? -1 : 6);
    size_t live = 0;
    for (const char *p = after; *p; p++)
        live += *p != '\n' && *p != '=';
    double amp = (double)st.segment_bytes / (double)live;
    printf("store compaction: %llu versions dropped, %llu segment bytes for %zu live bytes (%.2fx)\n",
           (unsigned long long)st.versions_dropped, (unsigned long long)st.segment_bytes, live, amp);
    ck_assert_msg(amp < 3.0, "space amplification %.2f after a full compaction", amp);
    free(before);
    free(after);
    store_close(s);
    s = store_open(dir, NULL, 16 << 10);
    for (unsigned k = 0; k < 200; k++)
        ck_assert_int_eq(sget(s, NULL, k), k % 2 == 0 ? -1 : 6);
    store_close(s);
}

typedef struct collected {
    char keys[64][16];
    size_t n;
} collected;

static bool collect_key(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, void *ctx)
{
    (void)value;
    (void)value_len;
    collected *c = ctx;
    ck_assert_uint_lt(c->n, 64);
    ck_assert_uint_lt(key_len, 16);
    memcpy(c->keys[c->n], key, key_len);
    c->keys[c->n++][key_len] = '\0';
    return true;
}

FT_TEST(4, store_scan_returns_live_keys_in_range_once_each, 3,
        "A scan walks the internal keys of every layer merged in order and keeps, for each user key, only the "
        "newest version at the snapshot; a delete version hides the key; the range is [start, end) on user keys, "
        "and the limit stops it.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 4 << 10);
    for (unsigned g = 1; g <= 3; g++)
        for (unsigned k = 0; k < 100; k++)
            sput(s, k, g);
    for (unsigned k = 20; k < 40; k += 4)
        sdel(s, k);
    collected c = {0};
    size_t count = 0;
    ck_assert_int_eq(kv_store_scan(s, NULL, "k000018", 7, "k000031", 7, 0, collect_key, &c, &count), KV_OK);
    const char *want[] = {"k000018", "k000019", "k000021", "k000022", "k000023",
                          "k000025", "k000026", "k000027", "k000029", "k000030"};
    ck_assert_uint_eq(count, sizeof want / sizeof want[0]);
    ck_assert_uint_eq(c.n, count);
    for (size_t i = 0; i < c.n; i++)
        ck_assert_str_eq(c.keys[i], want[i]);
    c.n = 0;
    ck_assert_int_eq(kv_store_scan(s, NULL, "k000018", 7, NULL, 0, 3, collect_key, &c, &count), KV_OK);
    ck_assert_uint_eq(count, 3);
    ck_assert_str_eq(c.keys[2], "k000021");
    store_close(s);
}

FT_TEST(4, store_refuses_to_open_over_a_corrupt_segment, 2,
        "Opening checks every live segment whole (kv_segment_open): a flipped bit anywhere makes the open fail with "
        "KV_CORRUPT, and nothing of the store is served half-read.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 0);
    for (unsigned k = 0; k < 100; k++)
        sput(s, k, 1);
    ck_assert_int_eq(kv_store_flush(s), KV_OK);
    store_close(s);
    char path[512];
    path_join(path, sizeof path, dir, "000002.seg");
    file_flip_bit(path, file_size(path) / 3, 4);
    kv_store *t = NULL;
    kv_status st = kv_store_open(dir, NULL, &t);
    ck_assert_msg(st == KV_CORRUPT, "opening over a corrupt segment returned %d", (int)st);
    ck_assert_ptr_eq(t, NULL);
}

FT_TEST(4, store_refuses_oversized_keys_and_values, 1,
        "Limits are part of the contract: a key over KV_STORE_MAX_KEY or a value over KV_STORE_MAX_VALUE is "
        "KV_INVALID and writes nothing.")
{
    kv_store *s = store_open(scratch_dir(), NULL, 0);
    char *big = calloc(1, KV_STORE_MAX_VALUE + 1);
    ck_assert_ptr_ne(big, NULL);
    ck_assert_int_eq(kv_store_put(s, big, KV_STORE_MAX_KEY + 1, "v", 1), KV_INVALID);
    ck_assert_int_eq(kv_store_put(s, "k", 1, big, KV_STORE_MAX_VALUE + 1), KV_INVALID);
    ck_assert_int_eq(kv_store_put(s, big, KV_STORE_MAX_KEY, big, KV_STORE_MAX_VALUE), KV_OK);
    ck_assert_uint_eq(kv_store_stats_get(s).writes, 1);
    free(big);
    store_close(s);
}

typedef struct group_writer {
    kv_store *s;
    unsigned id;
} group_writer;

static void *group_write(void *arg)
{
    group_writer *w = arg;
    for (unsigned i = 0; i < 60; i++)
        sput(w->s, w->id * 1000 + i, 1);
    return NULL;
}

FT_TEST(4, store_writers_share_syncs_through_group_commit, 2,
        "The store hands its writes to the log's group commit (kv_wal_append from many threads at once): with a disk "
        "whose sync takes a millisecond, eight writers need far fewer syncs than writes. A store that serialises "
        "writers around the append (a lock held across it) syncs once per write.")
{
    faultio *f = faultio_new();
    faultio_set_sync_delay_us(f, 1000);
    kv_store *s = store_open(scratch_dir(), faultio_io(f), 0);
    enum { WRITERS = 8 };
    pthread_t tid[WRITERS];
    group_writer w[WRITERS];
    for (unsigned i = 0; i < WRITERS; i++) {
        w[i] = (group_writer){s, i};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, group_write, &w[i]), 0);
    }
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(tid[i], NULL);
    kv_store_stats st = kv_store_stats_get(s);
    printf("store group commit: %llu writes, %llu log syncs (%.2f per write)\n", (unsigned long long)st.writes,
           (unsigned long long)st.log_syncs, (double)st.log_syncs / (double)st.writes);
    ck_assert_uint_eq(st.writes, WRITERS * 60);
    ck_assert_msg(st.log_syncs * 2 < st.writes, "%llu syncs for %llu writes", (unsigned long long)st.log_syncs,
                  (unsigned long long)st.writes);
    for (unsigned i = 0; i < WRITERS; i++)
        for (unsigned k = 0; k < 60; k++)
            ck_assert_int_eq(sget(s, NULL, i * 1000 + k), 1);
    store_close(s);
    faultio_free(f);
}

/* Hundreds of acknowledged writes each: room for a busy machine. */
FT_TIMEOUT(store_reads_its_writes_and_recovers_them_from_the_log, 20);
FT_TIMEOUT(store_flushes_when_full_and_reads_across_every_layer, 20);
FT_TIMEOUT(store_compaction_drops_old_versions_and_keeps_the_newest, 20);
FT_TIMEOUT(store_scan_returns_live_keys_in_range_once_each, 20);
