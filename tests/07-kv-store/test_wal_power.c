/*
 * Chapter 07, part 1: the acknowledged-write contract at a power cut. Every record whose append returned KV_OK is
 * found by the next recovery, and recovery invents nothing — after a simulated power cut that drops everything not
 * made durable (faultio.h), when a sync fails and when the disk is full; and the many writers of a group commit
 * share syncs without any of them being acknowledged before its bytes were synced. The same contract after SIGKILL
 * of a real process is in test_wal_crash.c.
 */
#define _GNU_SOURCE
#include "faultio.h"
#include "support.h"
#include "wal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_WRITERS 8

/* ---- writer threads: thread t appends ids (t << 32 | seq), seq = 0, 1, ..., each after the previous one's ack */

typedef struct writer {
    kv_wal *wal;
    uint64_t thread, count;
    atomic_uint_fast64_t acked; /* records acknowledged so far: seqs 0 .. acked-1 */
    kv_status last;             /* the status that stopped it (KV_OK when it wrote all count) */
    pthread_t tid;
} writer;

static void *writer_main(void *arg)
{
    writer *w = arg;
    unsigned char rec[REC_MAX];
    w->last = KV_OK;
    for (uint64_t seq = 0; seq < w->count; seq++) {
        kv_status st = kv_wal_append(w->wal, rec, rec_make(w->thread << 32 | seq, rec));
        if (st != KV_OK) {
            w->last = st;
            break;
        }
        atomic_store(&w->acked, seq + 1);
    }
    return NULL;
}

static void writers_start(writer *ws, int n, kv_wal *wal, uint64_t count)
{
    for (int t = 0; t < n; t++) {
        ws[t] = (writer){.wal = wal, .thread = (uint64_t)t, .count = count};
        ck_assert(pthread_create(&ws[t].tid, NULL, writer_main, &ws[t]) == 0);
    }
}

static void writers_join(writer *ws, int n)
{
    for (int t = 0; t < n; t++)
        pthread_join(ws[t].tid, NULL);
}

static uint64_t writers_acked(writer *ws, int n)
{
    uint64_t sum = 0;
    for (int t = 0; t < n; t++)
        sum += atomic_load(&ws[t].acked);
    return sum;
}

/* Reopens the log on the real file system and checks it against the writers: per thread, seqs 0, 1, 2, ... in
 * order with no hole and no duplicate, at least as many as were acknowledged, and nothing that was not written. */
static void assert_recovered(const char *path, writer *ws, int n, const char *when)
{
    rec_list got = {0};
    kv_wal *wal = NULL;
    ck_assert_int_eq(kv_wal_open(kv_io_posix(), path, NULL, rec_collect, &got, &wal), KV_OK);
    ck_assert_msg(got.garbage == 0, "%s: %zu recovered record(s) were never written", when, got.garbage);
    uint64_t next[MAX_WRITERS] = {0};
    for (size_t i = 0; i < got.n; i++) {
        uint64_t t = got.ids[i] >> 32, seq = got.ids[i] & 0xFFFFFFFFu;
        ck_assert_msg(t < (uint64_t)n && seq == next[t],
                      "%s: record %zu is thread %llu's #%llu, expected its #%llu (a hole, a duplicate or an invented "
                      "record)",
                      when, i, (unsigned long long)t, (unsigned long long)seq,
                      (unsigned long long)(t < (uint64_t)n ? next[t] : 0));
        next[t]++;
    }
    for (int t = 0; t < n; t++)
        ck_assert_msg(next[t] >= atomic_load(&ws[t].acked),
                      "%s: thread %d had %llu records acknowledged, only %llu recovered: an acknowledged write was "
                      "lost",
                      when, t, (unsigned long long)atomic_load(&ws[t].acked), (unsigned long long)next[t]);
    ck_assert_int_eq(kv_wal_close(wal), KV_OK);
    rec_list_free(&got);
}

static kv_wal *open_with(kv_io *io, const char *path, kv_sync_policy policy)
{
    kv_wal_options opt = {.policy = policy};
    kv_wal *wal = NULL;
    ck_assert_int_eq(kv_wal_open(io, path, &opt, NULL, NULL, &wal), KV_OK);
    return wal;
}

/* Closes a log whose power was cut: the close fails (every call does now) but frees the log all the same. */
static void close_after_cut(kv_wal *wal)
{
    kv_status st = kv_wal_close(wal);
    ck_assert_msg(st != KV_OK, "kv_wal_close reported success after the power cut");
}

/* ---- power cuts (faultio) ---------------------------------------------------------------------------------- */

FT_TEST(1, acknowledged_records_survive_a_power_cut, 4,
        "KV_SYNC_ALWAYS: append returns KV_OK only after fdatasync returned. A log that acknowledges after the "
        "write but before the sync (ack before fsync: the page cache is not the disk) loses them at a power cut.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    writer w[1];
    writers_start(w, 1, wal, 50);
    writers_join(w, 1);
    ck_assert_int_eq(w[0].last, KV_OK);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    assert_recovered(path, w, 1, "50 acknowledged appends, then a power cut");
}

FT_TEST(1, a_new_log_file_survives_a_power_cut, 3,
        "Syncing a file's data does not make its name durable: creating the log must be followed by a sync of "
        "its directory, or the whole file (every acknowledged record in it) can vanish at a power cut.")
{
    const char *dir = scratch_dir();
    char path[512];
    path_join(path, sizeof path, dir, "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    ck_assert_msg(faultio_dir_syncs(f) >= 1, "kv_wal_open created the log without syncing its directory");
    writer w[1];
    writers_start(w, 1, wal, 5);
    writers_join(w, 1);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    ck_assert_msg(access(path, F_OK) == 0, "the log file is gone after the power cut: its name was never durable");
    assert_recovered(path, w, 1, "a new log, 5 appends, a power cut");
}

FT_TEST(1, sync_policy_never_loses_only_what_was_not_synced, 2,
        "KV_SYNC_NEVER writes but never syncs by itself: a power cut loses what kv_wal_sync() did not cover, "
        "and kv_wal_close() syncs the rest.")
{
    const char *dir = scratch_dir();
    char path[512];
    path_join(path, sizeof path, dir, "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_NEVER);
    writer w[1];
    writers_start(w, 1, wal, 10);
    writers_join(w, 1);
    ck_assert_uint_eq(faultio_syncs(f), 0);
    ck_assert_int_eq(kv_wal_sync(wal), KV_OK);
    ck_assert_uint_eq(faultio_syncs(f), 1);
    unsigned char rec[REC_MAX];
    for (uint64_t seq = 10; seq < 15; seq++)
        ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(seq, rec)), KV_OK);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    rec_list got = {0};
    ck_assert_int_eq(kv_wal_open(kv_io_posix(), path, NULL, rec_collect, &got, &wal), KV_OK);
    ck_assert_msg(got.n == 10 && got.garbage == 0, "%zu records after the cut; the 10 synced ones expected", got.n);
    ck_assert_int_eq(kv_wal_close(wal), KV_OK);
    rec_list_free(&got);
    /* The same, closed before the cut: close syncs. */
    f = faultio_new();
    wal = open_with(faultio_io(f), path, KV_SYNC_NEVER);
    for (uint64_t seq = 10; seq < 15; seq++)
        ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(seq, rec)), KV_OK);
    ck_assert_int_eq(kv_wal_close(wal), KV_OK);
    faultio_power_cut(f);
    faultio_free(f);
    w[0].acked = 15;
    assert_recovered(path, w, 1, "KV_SYNC_NEVER, closed, then a power cut");
}

FT_TEST(1, a_write_whose_sync_is_cut_short_is_not_acknowledged, 2,
        "The acknowledgement comes after the sync returns, never before: an append whose sync is still running "
        "when the power goes must come back with an error.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    faultio_hold_syncs(f, true);
    writer w[1];
    writers_start(w, 1, wal, 1);
    uint64_t deadline = now_ms() + 10000;
    while (faultio_syncs_held(f) == 0 && atomic_load(&w[0].acked) == 0 && now_ms() < deadline)
        sched_yield();
    ck_assert_msg(faultio_syncs_held(f) == 1, "the append never reached its sync (acked %llu)",
                  (unsigned long long)atomic_load(&w[0].acked));
    faultio_power_cut(f);
    writers_join(w, 1);
    ck_assert_msg(w[0].last != KV_OK && w[0].acked == 0, "the append was acknowledged though its sync failed");
    close_after_cut(wal);
    faultio_free(f);
    assert_recovered(path, w, 1, "a power cut during the sync");
}

FT_TEST(1, a_failed_sync_is_not_acknowledged_and_poisons_the_log, 3,
        "After a failed fsync nobody knows which bytes reached the disk (the kernel may have dropped them and "
        "marked the pages clean: PostgreSQL's fsyncgate). Report the error, never acknowledge, and refuse every "
        "later write with KV_CLOSED instead of syncing again as if nothing happened.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    unsigned char rec[REC_MAX];
    ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(0, rec)), KV_OK);
    faultio_fail_syncs(f, 1);
    ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(1, rec)), KV_IO_ERROR);
    ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(2, rec)), KV_CLOSED);
    ck_assert_int_eq(kv_wal_sync(wal), KV_CLOSED);
    ck_assert_uint_eq(kv_wal_stats_get(wal).appended, 1);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    writer w[1] = {{.acked = 1}};
    assert_recovered(path, w, 1, "a failed sync, then a power cut");
}

FT_TEST(1, a_full_disk_fails_the_write_and_the_log_goes_on, 4,
        "No space: the append fails with KV_NO_SPACE, is not acknowledged, and the bytes of it that fitted are "
        "cut off again, so that the next record is not written after half a frame (where replay would stop).")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    unsigned char rec[REC_MAX];
    size_t len0 = rec_make(0, rec);
    ck_assert_int_eq(kv_wal_append(wal, rec, len0), KV_OK);
    uint64_t end = KV_WAL_HEADER + len0;
    faultio_set_space(f, 10);
    ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(1, rec)), KV_NO_SPACE);
    ck_assert_uint_eq(kv_wal_stats_get(wal).appended, 1);
    ck_assert_msg(file_size(path) == end,
                  "after the failed append the file has %llu bytes, not %llu: the part "
                  "that fitted was left behind",
                  (unsigned long long)file_size(path), (unsigned long long)end);
    faultio_set_space(f, -1);
    ck_assert_int_eq(kv_wal_append(wal, rec, rec_make(2, rec)), KV_OK);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    rec_list got = {0};
    ck_assert_int_eq(kv_wal_open(kv_io_posix(), path, NULL, rec_collect, &got, &wal), KV_OK);
    ck_assert_msg(got.garbage == 0 && got.n == 2 && got.ids[0] == 0 && got.ids[1] == 2,
                  "expected records 0 and 2 (1 failed), found %zu record(s)", got.n);
    ck_assert_int_eq(kv_wal_close(wal), KV_OK);
    rec_list_free(&got);
}

/* ---- group commit ------------------------------------------------------------------------------------------ */

FT_TEST(1, concurrent_writers_share_syncs, 4,
        "Group commit: while the leader syncs, the other writers queue up; the next leader writes all their records "
        "and syncs once for all. With 8 writers and a disk that takes 2 ms per sync, one sync per append means no "
        "batching at all.")
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    faultio_set_sync_delay_us(f, 2000);
    kv_wal *wal = open_with(faultio_io(f), path, KV_SYNC_ALWAYS);
    writer w[MAX_WRITERS];
    writers_start(w, MAX_WRITERS, wal, 25);
    writers_join(w, MAX_WRITERS);
    for (int t = 0; t < MAX_WRITERS; t++)
        ck_assert_int_eq(w[t].last, KV_OK);
    uint64_t syncs = faultio_syncs(f), acked = writers_acked(w, MAX_WRITERS);
    ck_assert_uint_eq(acked, 200);
    ck_assert_uint_eq(kv_wal_stats_get(wal).appended, 200);
    printf("group commit: %llu syncs for %llu acknowledged appends (%.2f per append)\n", (unsigned long long)syncs,
           (unsigned long long)acked, (double)syncs / (double)acked);
    ck_assert_msg(syncs < acked, "%llu syncs for %llu appends: every writer synced alone (no group commit)",
                  (unsigned long long)syncs, (unsigned long long)acked);
    faultio_power_cut(f);
    close_after_cut(wal);
    faultio_free(f);
    assert_recovered(path, w, MAX_WRITERS, "8 writers, then a power cut");
}
FT_TIMEOUT(concurrent_writers_share_syncs, 40);

static void power_cut_under_load(kv_sync_policy policy, const char *when)
{
    char path[512];
    path_join(path, sizeof path, scratch_dir(), "wal.log");
    faultio *f = faultio_new();
    faultio_set_sync_delay_us(f, 300);
    kv_wal *wal = open_with(faultio_io(f), path, policy);
    writer w[6];
    writers_start(w, 6, wal, 1000);
    uint64_t deadline = now_ms() + 10000;
    while (writers_acked(w, 6) < 60 && now_ms() < deadline)
        sched_yield();
    ck_assert_msg(writers_acked(w, 6) >= 60, "%s: fewer than 60 appends acknowledged in 10 s", when);
    faultio_power_cut(f);
    writers_join(w, 6);
    close_after_cut(wal);
    faultio_free(f);
    assert_recovered(path, w, 6, when);
}

FT_TEST(1, a_power_cut_during_group_commit_keeps_every_acknowledged_record, 4,
        "Group commit: a leader acknowledges exactly the writers whose records were in the batch it synced, not those that "
        "queued up behind the batch while it was being written (their bytes are in no synced batch yet).")
{
    power_cut_under_load(KV_SYNC_ALWAYS, "6 writers, KV_SYNC_ALWAYS, power cut under load");
    power_cut_under_load(KV_SYNC_BATCH, "6 writers, KV_SYNC_BATCH, power cut under load");
}
FT_TIMEOUT(a_power_cut_during_group_commit_keeps_every_acknowledged_record, 60);
