/*
 * Chapter 07 benchmark: one workload, driven through kvdrive.h against whichever engine this program is linked
 * with (the chapter's store, LMDB, LevelDB, SQLite). The shape is db_bench's: keys of 16 bytes (a number below
 * KEYSPACE, written in 16 decimal digits), values of 100 bytes, every key drawn at random, one put per write.
 *
 *   kvdrive fill DIR N
 *       A store opened without syncs. One thread writes N puts of random keys (fillrandom), then reads N random
 *       keys (readrandom, about 63 % of them present), then closes the store. Prints three lines:
 *         RUN phase=fill ops= secs= ops_per_s= p50_us= p99_us= (...) unique= wchar= [the engine's counters]
 *         RUN phase=read ops= found= secs= ops_per_s= p50_us= p99_us= (...)
 *         RUN phase=close live_bytes= wchar=
 *       unique: distinct keys written; live_bytes: unique x (16 + 100), what a store must keep at the least;
 *       wchar: bytes the process handed to write system calls (/proc/self/io), from before the open to the end of
 *       the fill, and to the end of the close: the log, the segments or pages, compactions, checkpoints.
 *   kvdrive durable DIR KEYSPACE SECONDS THREADS
 *       A store opened with a sync before every acknowledgement. THREADS threads put random keys below KEYSPACE
 *       until SECONDS have passed, each waiting for its put to be acknowledged before the next. Prints:
 *         RUN phase=durable threads= ops= secs= ops_per_s= p50_us= p99_us= (...) [the engine's counters]
 *       (...): mean_us= max_us= stalls= stall_s=, the ops that took 1 ms or more and their time added up.
 *
 * Latency is the time of the engine's call alone (per op, CLOCK_MONOTONIC); throughput is ops over the whole loop.
 * Percentiles are nearest-rank over every op of every thread. Exits 1 on any engine error.
 */
#define _POSIX_C_SOURCE 200809L
#include "kvdrive.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { KEY_LEN = 16, VALUE_LEN = 100, VALUE_POOL = 1 << 16 };

/* Random bytes the values are cut from, so that no engine gets a compressible value (compression is off for all). */
static char value_pool[VALUE_POOL];

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* splitmix64: one generator per thread and phase, seeded from fixed numbers, so every engine sees the same keys. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* The key of number @p n (below 10^16): its 16 decimal digits, zero-padded, so that key order is number order. */
static void make_key(char key[KEY_LEN + 1], uint64_t n)
{
    for (int i = KEY_LEN - 1; i >= 0; i--, n /= 10)
        key[i] = (char)('0' + n % 10);
    key[KEY_LEN] = '\0';
}

/* The bytes this process has handed to write(2) and its kind so far, or -1 where /proc/self/io is missing. */
static long long written_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    long long v = -1;
    char line[128];
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "wchar: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

static void die(const char *what)
{
    fprintf(stderr, "kvdrive (%s): %s failed\n", eng_name, what);
    exit(1);
}

/* A growable array of per-op latencies in nanoseconds (saturated at about 4.3 s). */
typedef struct lat {
    uint32_t *ns;
    size_t len, cap;
} lat;

static void lat_add(lat *l, uint64_t ns)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        uint32_t *grown = realloc(l->ns, cap * sizeof *grown);
        if (grown == NULL)
            die("realloc");
        l->ns = grown;
        l->cap = cap;
    }
    l->ns[l->len++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sorts @p l and prints " p50_us=... p99_us=... mean_us=... max_us=... stalls=... stall_s=...": nearest-rank
 * percentiles, and the ops that took 1 ms or more (a flush, a compaction, a wait for the disk) with their total time,
 * which says how much of a run's time they account for. */
static void print_percentiles(lat *l)
{
    if (l->len == 0) {
        printf(" p50_us= p99_us=");
        return;
    }
    qsort(l->ns, l->len, sizeof *l->ns, cmp_u32);
    size_t r50 = (l->len * 50 + 99) / 100, r99 = (l->len * 99 + 99) / 100, stalls = 0;
    double total = 0, stall = 0;
    for (size_t i = 0; i < l->len; i++) {
        total += l->ns[i];
        if (l->ns[i] >= 1000000) {
            stalls++;
            stall += l->ns[i];
        }
    }
    printf(" p50_us=%.2f p99_us=%.2f mean_us=%.2f max_us=%.0f stalls=%zu stall_s=%.3f", l->ns[r50 - 1] / 1e3,
           l->ns[r99 - 1] / 1e3, total / (double)l->len / 1e3, l->ns[l->len - 1] / 1e3, stalls, stall / 1e9);
}

static int run_fill(const char *dir, uint64_t n)
{
    void *db, *ctx;
    char key[KEY_LEN + 1];
    uint8_t *seen = calloc(n / 8 + 1, 1);
    lat l = {0};
    uint64_t unique = 0, found = 0;
    if (seen == NULL)
        die("calloc");

    long long w0 = written_bytes();
    if (eng_open(dir, false, &db) != 0)
        die("open");
    if (eng_thread_begin(db, &ctx) != 0)
        die("thread_begin");

    uint64_t rs = 1, t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = next_random(&rs), k = r % n;
        make_key(key, k);
        if (!(seen[k / 8] & (1u << (k % 8)))) {
            seen[k / 8] |= (uint8_t)(1u << (k % 8));
            unique++;
        }
        uint64_t a = now_ns();
        if (eng_put(db, ctx, key, KEY_LEN, value_pool + (r >> 40) % (VALUE_POOL - VALUE_LEN), VALUE_LEN) != 0)
            die("put");
        lat_add(&l, now_ns() - a);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    long long w1 = written_bytes();
    printf("RUN phase=fill ops=%" PRIu64 " secs=%.3f ops_per_s=%.0f", n, secs, (double)n / secs);
    print_percentiles(&l);
    printf(" unique=%" PRIu64, unique);
    if (w0 >= 0 && w1 >= 0)
        printf(" wchar=%lld", w1 - w0);
    eng_counters(db, stdout);
    printf("\n");
    fflush(stdout);

    l.len = 0;
    rs = 2;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        bool hit;
        make_key(key, next_random(&rs) % n);
        uint64_t a = now_ns();
        if (eng_get(db, ctx, key, KEY_LEN, &hit) != 0)
            die("get");
        lat_add(&l, now_ns() - a);
        found += hit;
    }
    secs = (double)(now_ns() - t0) / 1e9;
    printf("RUN phase=read ops=%" PRIu64 " found=%" PRIu64 " secs=%.3f ops_per_s=%.0f", n, found, secs, (double)n / secs);
    print_percentiles(&l);
    printf("\n");
    fflush(stdout);

    eng_thread_end(db, ctx);
    if (eng_close(db) != 0)
        die("close");
    long long w2 = written_bytes();
    printf("RUN phase=close live_bytes=%" PRIu64, unique * (KEY_LEN + VALUE_LEN));
    if (w0 >= 0 && w2 >= 0)
        printf(" wchar=%lld", w2 - w0);
    printf("\n");
    free(seen);
    free(l.ns);
    return 0;
}

typedef struct writer {
    pthread_t thread;
    void *db;
    unsigned id;
    uint64_t keyspace, deadline_span_ns, ops, end_ns;
    pthread_barrier_t *start;
    uint64_t *start_ns;
    lat l;
} writer;

static void *writer_run(void *arg)
{
    writer *w = arg;
    void *ctx;
    char key[KEY_LEN + 1];
    uint64_t rs = 1000 + w->id;
    if (eng_thread_begin(w->db, &ctx) != 0)
        die("thread_begin");
    /* The last thread to arrive stamps the start: every writer's first put comes after it. */
    if (pthread_barrier_wait(w->start) == PTHREAD_BARRIER_SERIAL_THREAD)
        *w->start_ns = now_ns();
    pthread_barrier_wait(w->start);
    uint64_t deadline = *w->start_ns + w->deadline_span_ns, t = now_ns();
    while (t < deadline) {
        uint64_t r = next_random(&rs);
        make_key(key, r % w->keyspace);
        uint64_t a = now_ns();
        if (eng_put(w->db, ctx, key, KEY_LEN, value_pool + (r >> 40) % (VALUE_POOL - VALUE_LEN), VALUE_LEN) != 0)
            die("put");
        uint64_t done = now_ns();
        lat_add(&w->l, done - a);
        w->ops++;
        t = done;
    }
    w->end_ns = t;
    eng_thread_end(w->db, ctx);
    return NULL;
}

static int run_durable(const char *dir, uint64_t keyspace, double seconds, unsigned threads)
{
    void *db;
    pthread_barrier_t start;
    uint64_t start_ns = 0, end_ns = 0, ops = 0;
    writer *ws = calloc(threads, sizeof *ws);
    lat all = {0};
    if (ws == NULL || pthread_barrier_init(&start, NULL, threads) != 0)
        die("setup");
    if (eng_open(dir, true, &db) != 0)
        die("open");
    for (unsigned i = 0; i < threads; i++) {
        ws[i] = (writer){.db = db, .id = i, .keyspace = keyspace, .start = &start, .start_ns = &start_ns};
        ws[i].deadline_span_ns = (uint64_t)(seconds * 1e9);
        if (pthread_create(&ws[i].thread, NULL, writer_run, &ws[i]) != 0)
            die("pthread_create");
    }
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(ws[i].thread, NULL);
        ops += ws[i].ops;
        if (ws[i].end_ns > end_ns)
            end_ns = ws[i].end_ns;
        for (size_t j = 0; j < ws[i].l.len; j++)
            lat_add(&all, ws[i].l.ns[j]);
        free(ws[i].l.ns);
    }
    double secs = (double)(end_ns - start_ns) / 1e9;
    printf("RUN phase=durable threads=%u ops=%" PRIu64 " secs=%.3f ops_per_s=%.0f", threads, ops, secs, (double)ops / secs);
    print_percentiles(&all);
    eng_counters(db, stdout);
    printf("\n");
    fflush(stdout);
    if (eng_close(db) != 0)
        die("close");
    pthread_barrier_destroy(&start);
    free(ws);
    free(all.ns);
    return 0;
}

static uint64_t parse_count(const char *s, const char *what)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0) {
        fprintf(stderr, "kvdrive: %s must be a positive integer, not '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    uint64_t vs = 7;
    for (size_t i = 0; i < VALUE_POOL; i += 8) {
        uint64_t r = next_random(&vs);
        memcpy(value_pool + i, &r, 8);
    }
    if (argc == 4 && strcmp(argv[1], "fill") == 0)
        return run_fill(argv[2], parse_count(argv[3], "N"));
    if (argc == 6 && strcmp(argv[1], "durable") == 0)
        return run_durable(argv[2], parse_count(argv[3], "KEYSPACE"), (double)parse_count(argv[4], "SECONDS"),
                           (unsigned)parse_count(argv[5], "THREADS"));
    fprintf(stderr, "usage: %s fill DIR N | durable DIR KEYSPACE SECONDS THREADS\n", argv[0]);
    return 2;
}
