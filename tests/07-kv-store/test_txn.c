/*
 * Part 4: snapshots and optimistic transactions (store.h) — a snapshot's view does not move while writers,
 * flushes and compactions run; compaction keeps what a live snapshot reads; a transaction whose read set was
 * written after its snapshot is refused whole; of two concurrent increments exactly one retries; a committed
 * transaction is one atomic record.
 */
#include "store_support.h"

#include "faultio.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct churn {
    kv_store *s;
    unsigned id;
    atomic_bool *stop;
} churn;

/* Overwrites and deletes keys 0..199 until told to stop; the first churner also compacts now and then. */
static void *churn_run(void *arg)
{
    churn *c = arg;
    for (unsigned g = 10 + c->id; !atomic_load(c->stop); g += 2) {
        for (unsigned k = c->id; k < 200; k += 2) {
            if ((k + g) % 7 == 0)
                sdel(c->s, k);
            else
                sput(c->s, k, g);
        }
        if (c->id == 0 && g % 3 == 0)
            ck_assert_int_eq(kv_store_compact(c->s), KV_OK);
    }
    return NULL;
}

FT_TEST(4, snapshot_view_does_not_move_while_writers_flush_and_compact, 4,
        "A snapshot reads every key at its sequence number: versions newer than it are skipped, in the memtable and "
        "in every segment, and compaction's safe point is the oldest live snapshot, so the versions it reads are "
        "never dropped. A store that reads the newest version, or that collects garbage up to now, moves the view.")
{
    /* Durability is not what this test is about: faultio's syncs cost nothing, so that the writers churn fast. */
    faultio *f = faultio_new();
    kv_store_options opt = {.io = faultio_io(f), .memtable_bytes = 8 << 10, .block_bytes = 512};
    kv_store *s = NULL;
    ck_assert_int_eq(kv_store_open(scratch_dir(), &opt, &s), KV_OK);
    for (unsigned k = 0; k < 200; k++)
        sput(s, k, 1);
    kv_snapshot snap;
    kv_store_snapshot(s, &snap);
    char *frozen = store_dump(s, &snap);

    atomic_bool stop = false;
    churn c[2] = {{s, 0, &stop}, {s, 1, &stop}};
    pthread_t tid[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&tid[i], NULL, churn_run, &c[i]), 0);
    uint64_t deadline = now_ms() + 30000;
    int rounds = 0;
    while (rounds < 40 || kv_store_stats_get(s).compactions < 3) {
        ck_assert_msg(now_ms() < deadline, "the writers made %llu compactions in 30 s",
                      (unsigned long long)kv_store_stats_get(s).compactions);
        char *seen = store_dump(s, &snap);
        ck_assert_msg(strcmp(seen, frozen) == 0, "round %d: the snapshot's scan changed while writers ran", rounds);
        free(seen);
        for (unsigned k = rounds % 5; k < 200; k += 5)
            ck_assert_int_eq(sget(s, &snap, k), 1);
        rounds++;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(tid[i], NULL);
    kv_store_stats st = kv_store_stats_get(s);
    printf("snapshot: %d reads of a frozen view across %llu flushes and %llu compactions\n", rounds,
           (unsigned long long)st.flushes, (unsigned long long)st.compactions);
    /* A write first, so the compaction below has two segments to merge whatever the churners did last: a store may
     * skip a compaction of one segment, and a churner's compaction may have been the last thing done. */
    sput(s, 0, 2);
    kv_store_release(s, &snap);
    ck_assert_int_eq(kv_store_compact(s), KV_OK);
    ck_assert_msg(kv_store_stats_get(s).versions_dropped > st.versions_dropped,
                  "after the snapshot's release a compaction dropped nothing more");
    free(frozen);
    store_close(s);
    faultio_free(f);
}

static kv_status txn_read_int(kv_txn *t, const char *key, long *out)
{
    kv_buf b = {0};
    kv_status st = kv_txn_get(t, key, strlen(key), &b);
    *out = 0;
    if (st == KV_OK) {
        char text[32] = {0};
        memcpy(text, b.data, b.len < 31 ? b.len : 31);
        *out = strtol(text, NULL, 10);
    }
    kv_buf_free(&b);
    return st == KV_NOT_FOUND ? KV_OK : st;
}

static kv_status txn_write_int(kv_txn *t, const char *key, long v)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%ld", v);
    return kv_txn_put(t, key, strlen(key), text, (size_t)n);
}

static long store_int(kv_store *s, const char *key)
{
    kv_buf b = {0};
    kv_status st = kv_store_get(s, NULL, key, strlen(key), &b);
    ck_assert_int_eq(st, KV_OK);
    char text[32] = {0};
    memcpy(text, b.data, b.len < 31 ? b.len : 31);
    kv_buf_free(&b);
    return strtol(text, NULL, 10);
}

FT_TEST(4, txn_of_two_concurrent_increments_exactly_one_retries, 4,
        "Optimistic concurrency: both transactions read the counter at their snapshot (the read joins the read set) "
        "and write it + 1. The first commit wins; the second must fail with KV_CONFLICT (a key it read was written after "
        "its snapshot) and "
        "write nothing, and its retry reads the new value. Without the check one increment is lost.")
{
    kv_store *s = store_open(scratch_dir(), NULL, 0);
    ck_assert_int_eq(kv_store_put(s, "n", 1, "0", 1), KV_OK);
    kv_txn *a = NULL, *b = NULL;
    long va, vb;
    ck_assert_int_eq(kv_txn_begin(s, &a), KV_OK);
    ck_assert_int_eq(kv_txn_begin(s, &b), KV_OK);
    ck_assert_int_eq(txn_read_int(a, "n", &va), KV_OK);
    ck_assert_int_eq(txn_read_int(b, "n", &vb), KV_OK);
    ck_assert_int_eq(txn_write_int(a, "n", va + 1), KV_OK);
    ck_assert_int_eq(txn_write_int(b, "n", vb + 1), KV_OK);
    ck_assert_int_eq(kv_txn_commit(a), KV_OK);
    kv_status st = kv_txn_commit(b);
    ck_assert_msg(st == KV_CONFLICT, "the second of two increments from the same snapshot committed with %d", (int)st);
    ck_assert_int_eq(store_int(s, "n"), 1);
    ck_assert_int_eq(kv_txn_begin(s, &b), KV_OK);
    ck_assert_int_eq(txn_read_int(b, "n", &vb), KV_OK);
    ck_assert_int_eq(vb, 1);
    ck_assert_int_eq(txn_write_int(b, "n", vb + 1), KV_OK);
    ck_assert_int_eq(kv_txn_commit(b), KV_OK);
    ck_assert_int_eq(store_int(s, "n"), 2);
    ck_assert_uint_eq(kv_store_stats_get(s).conflicts, 1);
    store_close(s);
}

typedef struct incrementer {
    kv_store *s;
    int done, retries;
} incrementer;

static void *increment_run(void *arg)
{
    incrementer *in = arg;
    while (in->done < 100) {
        kv_txn *t = NULL;
        long v;
        ck_assert_int_eq(kv_txn_begin(in->s, &t), KV_OK);
        ck_assert_int_eq(txn_read_int(t, "counter", &v), KV_OK);
        ck_assert_int_eq(txn_write_int(t, "counter", v + 1), KV_OK);
        kv_status st = kv_txn_commit(t);
        if (st == KV_OK)
            in->done++;
        else {
            ck_assert_msg(st == KV_CONFLICT, "an increment's commit returned %d", (int)st);
            in->retries++;
            sched_yield(); /* let the winner's commit finish before reading again */
        }
    }
    return NULL;
}

FT_TEST(4, txn_increments_from_four_threads_lose_nothing, 3,
        "Four threads increment one counter 100 times each through transactions, retrying on KV_CONFLICT: the "
        "counter must end at 400 exactly. Every read joins the read set, and the conflict check and taking the "
        "sequence number must be one atomic step, or two commits can both pass the check before either is recorded.")
{
    kv_store *s = store_open(scratch_dir(), NULL, 0);
    enum { THREADS = 4 };
    incrementer in[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) {
        in[i] = (incrementer){.s = s};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, increment_run, &in[i]), 0);
    }
    int retries = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        retries += in[i].retries;
    }
    printf("transactions: 400 increments from %d threads, %d retries\n", THREADS, retries);
    ck_assert_int_eq(store_int(s, "counter"), 400);
    ck_assert_uint_eq(kv_store_stats_get(s).conflicts, (uint64_t)retries);
    store_close(s);
}

FT_TEST(4, txn_watch_conflicts_only_on_the_watched_keys, 2,
        "kv_txn_watch adds a key to the read set without reading it (redis's WATCH): a write to it after the "
        "snapshot makes the commit fail; writes to other keys do not. Reads of the transaction's own writes "
        "come from its buffer and do not join the read set.")
{
    kv_store *s = store_open(scratch_dir(), NULL, 0);
    kv_txn *t = NULL;
    ck_assert_int_eq(kv_txn_begin(s, &t), KV_OK);
    ck_assert_int_eq(kv_txn_watch(t, "w", 1), KV_OK);
    ck_assert_int_eq(kv_txn_put(t, "x", 1, "1", 1), KV_OK);
    ck_assert_int_eq(kv_store_put(s, "other", 5, "o", 1), KV_OK);
    kv_buf b = {0};
    ck_assert_int_eq(kv_txn_get(t, "x", 1, &b), KV_OK); /* its own write */
    ck_assert_uint_eq(b.len, 1);
    ck_assert_int_eq(kv_txn_delete(t, "x", 1), KV_OK);
    ck_assert_int_eq(kv_txn_get(t, "x", 1, &b), KV_NOT_FOUND);
    ck_assert_int_eq(kv_txn_put(t, "x", 1, "2", 1), KV_OK);
    ck_assert_int_eq(kv_txn_commit(t), KV_OK); /* "other" was not watched */

    ck_assert_int_eq(kv_txn_begin(s, &t), KV_OK);
    ck_assert_int_eq(kv_txn_watch(t, "w", 1), KV_OK);
    ck_assert_int_eq(kv_txn_put(t, "x", 1, "3", 1), KV_OK);
    ck_assert_int_eq(kv_store_put(s, "w", 1, "changed", 7), KV_OK);
    ck_assert_int_eq(kv_txn_commit(t), KV_CONFLICT);
    ck_assert_int_eq(kv_store_get(s, NULL, "x", 1, &b), KV_OK);
    ck_assert_msg(b.len == 1 && b.data[0] == '2', "a refused transaction's write is visible");
    kv_buf_free(&b);
    store_close(s);
}

FT_TEST(4, txn_commit_is_one_atomic_record, 2,
        "A transaction's writes are committed as one batch: one log record, one sequence number. A reader sees all "
        "of them or none, and a reopen replays all of them or none.")
{
    const char *dir = scratch_dir();
    kv_store *s = store_open(dir, NULL, 0);
    kv_txn *t = NULL;
    ck_assert_int_eq(kv_txn_begin(s, &t), KV_OK);
    for (unsigned k = 0; k < 50; k++) {
        char key[16], value[64];
        size_t len;
        skey(k, key);
        sval(k, 4, value, &len);
        ck_assert_int_eq(kv_txn_put(t, key, strlen(key), value, len), KV_OK);
    }
    uint64_t before = kv_store_stats_get(s).last_seq;
    ck_assert_int_eq(kv_txn_commit(t), KV_OK);
    ck_assert_uint_eq(kv_store_stats_get(s).last_seq, before + 1);
    store_close(s);
    s = store_open(dir, NULL, 0);
    ck_assert_uint_eq(kv_store_stats_get(s).recovered_records, 1);
    for (unsigned k = 0; k < 50; k++)
        ck_assert_int_eq(sget(s, NULL, k), 4);
    store_close(s);
}

FT_TIMEOUT(snapshot_view_does_not_move_while_writers_flush_and_compact, 60);
FT_TIMEOUT(txn_increments_from_four_threads_lose_nothing, 30);
