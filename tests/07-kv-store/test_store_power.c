/*
 * Part 4: the store under power cuts (faultio: what was not synced is gone) — writers on threads with a small
 * memtable, so that flushes and compactions run all the time, and the power cut at a random moment: every
 * acknowledged write is back after recovery, nothing invented. Then a flush replayed with a cut after each of its
 * durable steps: recovery reads exactly what it read before, and leaves no stray file.
 */
#include "store_support.h"

#include "cutio.h"
#include "faultio.h"
#include "manifest.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { POWER_THREADS = 3, POWER_KEYS = 40 };

typedef struct power_writer {
    kv_store *s;
    unsigned thread;
    unsigned round;
    _Atomic long acked[POWER_KEYS]; /* the last generation acknowledged per key, -1 for none */
    atomic_uint acks;
} power_writer;

static void *power_write(void *arg)
{
    power_writer *w = arg;
    for (unsigned i = 0;; i++) {
        unsigned slot = i % POWER_KEYS, k = w->thread * 1000 + slot, g = w->round * 100000 + i / POWER_KEYS + 1;
        char key[16], value[64];
        size_t len;
        skey(k, key);
        sval(k, g, value, &len);
        if (kv_store_put(w->s, key, strlen(key), value, len) != KV_OK)
            return NULL; /* the power is out */
        atomic_store(&w->acked[slot], (long)g);
        atomic_fetch_add(&w->acks, 1);
    }
}

FT_TEST(4, store_power_cut_during_writes_flushes_and_compactions_loses_no_acknowledged_write, 5,
        "Every acknowledged put must survive a power cut at any moment: the log synced before the acknowledgement, "
        "a flush's segment and new log synced and named in a durable manifest before the old log is removed, a "
        "compaction's inputs removed only after its manifest. Recovery must give back each key at its last "
        "acknowledged value or a later one, never an invented one.")
{
    const char *dir = scratch_dir();
    test_rng r = rng_new(2026);
    long acked[POWER_THREADS][POWER_KEYS];
    memset(acked, 0xff, sizeof acked);
    unsigned total = 0, flushes = 0;
    /* Valgrind runs the writers some thirty times slower: fewer rounds there, the same checks. */
    const char *multiplier = getenv("CK_TIMEOUT_MULTIPLIER");
    unsigned rounds = multiplier != NULL && atoi(multiplier) >= 10 ? 4 : 12;
    for (unsigned round = 0; round < rounds; round++) {
        faultio *f = faultio_new();
        kv_store_options opt = {.io = faultio_io(f), .memtable_bytes = 4 << 10, .block_bytes = 256, .compact_after = 3};
        kv_store *s = NULL;
        ck_assert_int_eq(kv_store_open(dir, &opt, &s), KV_OK);
        power_writer w[POWER_THREADS];
        pthread_t tid[POWER_THREADS];
        for (unsigned t = 0; t < POWER_THREADS; t++) {
            w[t] = (power_writer){.s = s, .thread = t, .round = round};
            for (unsigned k = 0; k < POWER_KEYS; k++)
                atomic_init(&w[t].acked[k], -1);
            ck_assert_int_eq(pthread_create(&tid[t], NULL, power_write, &w[t]), 0);
        }
        unsigned target = 50 + (unsigned)rng_below(&r, 400);
        uint64_t deadline = now_ms() + 20000;
        for (;;) {
            unsigned n = 0;
            for (unsigned t = 0; t < POWER_THREADS; t++)
                n += atomic_load(&w[t].acks);
            if (n >= target)
                break;
            ck_assert_msg(now_ms() < deadline, "round %u: only %u writes acknowledged in 20 s", round, n);
        }
        faultio_power_cut(f);
        for (unsigned t = 0; t < POWER_THREADS; t++) {
            pthread_join(tid[t], NULL);
            total += atomic_load(&w[t].acks);
            for (unsigned k = 0; k < POWER_KEYS; k++)
                if (atomic_load(&w[t].acked[k]) >= 0)
                    acked[t][k] = atomic_load(&w[t].acked[k]);
        }
        flushes += (unsigned)kv_store_stats_get(s).flushes;
        if (kv_store_close(s) != KV_OK) {
            /* the power is out: the close's own sync fails, and that is expected */
        }
        faultio_free(f);

        s = store_open(dir, NULL, 4 << 10);
        for (unsigned t = 0; t < POWER_THREADS; t++)
            for (unsigned k = 0; k < POWER_KEYS; k++) {
                long got = sget(s, NULL, t * 1000 + k);
                ck_assert_msg(got >= acked[t][k],
                              "round %u: key %u was acknowledged at generation %ld and recovered at %ld (a lost "
                              "write)",
                              round, t * 1000 + k, acked[t][k], got);
            }
        store_close(s);
    }
    printf("store power cuts: %u rounds, %u acknowledged writes, %u flushes, nothing lost\n", rounds, total, flushes);
    ck_assert_uint_gt(flushes, rounds);
}

FT_TIMEOUT(store_power_cut_during_writes_flushes_and_compactions_loses_no_acknowledged_write, 60);

typedef struct file_count {
    size_t segments, logs, others;
} file_count;

static kv_status count_file(const char *name, void *ctx)
{
    file_count *c = ctx;
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".seg") == 0)
        c->segments++;
    else if (n > 4 && strcmp(name + n - 4, ".log") == 0)
        c->logs++;
    else if (strcmp(name, KV_MANIFEST_NAME) != 0)
        c->others++;
    return KV_OK;
}

FT_TEST(4, store_flush_survives_a_power_cut_after_every_step, 4,
        "A flush is a sequence of durable steps: the segment (written, synced, renamed, directory synced), the new "
        "log (created, its first record synced, directory synced), the manifest (the commit point), the old log "
        "removed. A power cut after any step, then a reopen, must read exactly what the store read before, with "
        "one log and only the segments the manifest names left.")
{
    const char *root = scratch_dir();
    int cuts = 0;
    for (int cut = 1;; cut++) {
        ck_assert_int_lt(cut, 100);
        char dir[512];
        snprintf(dir, sizeof dir, "%s/cut%d", root, cut);
        cut_io c;
        cut_init(&c, 0);
        kv_store *s = store_open(dir, &c.io, 0);
        for (unsigned k = 0; k < 120; k++)
            sput(s, k, 1);
        ck_assert_int_eq(kv_store_flush(s), KV_OK); /* one segment already, so the manifest lists two */
        for (unsigned k = 60; k < 180; k++)
            sput(s, k, 2);
        char *before = store_dump(s, NULL);
        c.cut_at = c.steps + cut;
        kv_status st = kv_store_flush(s);
        bool finished = c.steps < c.cut_at;
        if (finished)
            ck_assert_int_eq(st, KV_OK);
        if (kv_store_close(s) != KV_OK) {
            /* after the cut every call fails */
        }
        faultio_free(c.f);

        s = store_open(dir, NULL, 0);
        char *after = store_dump(s, NULL);
        ck_assert_msg(strcmp(before, after) == 0,
                      "power cut after step %d of a flush (\"%s\"): the store reads "
                      "differently after recovery",
                      cut, finished ? "none" : c.last);
        file_count fc = {0};
        ck_assert_int_eq(kv_io_posix()->list_dir(kv_io_posix(), dir, count_file, &fc), KV_OK);
        kv_store_stats st2 = kv_store_stats_get(s);
        ck_assert_msg(fc.logs == 1 && fc.segments == st2.segments && fc.others == 0,
                      "power cut after step %d (\"%s\"): %zu logs, %zu segment files for %llu live segments, %zu "
                      "other files after recovery",
                      cut, finished ? "none" : c.last, fc.logs, fc.segments, (unsigned long long)st2.segments, fc.others);
        free(before);
        free(after);
        store_close(s);
        if (finished) {
            cuts = cut - 1;
            break;
        }
    }
    printf("store flush: a power cut after each of its %d durable steps, each recovered\n", cuts);
    ck_assert_int_ge(cuts, 8);
}

FT_TIMEOUT(store_flush_survives_a_power_cut_after_every_step, 60);
