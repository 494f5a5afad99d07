/*
 * Chapter 04 benchmark, ferrite side: tiny tasks through the wp_ pool, and submit-to-run latency.
 *
 *   bench_pool spawn <producers> <tasks>      producers are tasks that submit tasks/producers each from inside
 *                                             the pool (rayon's scope.spawn shape); wp_pool_wait_idle at the end
 *   bench_pool external <producers> <tasks>   producers are outside threads calling wp_submit (GThreadPool's
 *                                             shape: every task goes through the bounded injector)
 *   bench_pool latency <samples> [histogram]  one task at a time: time from wp_submit to the task's first line;
 *                                             `histogram` adds one `HIST` line per bucket, for finding a tail
 *
 * Each tiny task adds its index to one shared atomic counter, as the rayon peer's closure does; the sum is
 * checked. Prints one `RUN key=value ...` line. The pool has one worker per CPU, like the peers.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong counter;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* The payload *is* the index: a pointer-sized value the task owns, nothing to free. */
static int tiny_run(void *payload, int64_t *result)
{
    atomic_fetch_add_explicit(&counter, (unsigned long)(uintptr_t)payload, memory_order_relaxed);
    *result = 0;
    return 0;
}
static const wp_task_type tiny_task = {tiny_run, NULL, "tiny"};

typedef struct share {
    wp_pool *pool;
    size_t first, count;
} share;

static void submit_range(wp_pool *pool, size_t first, size_t count)
{
    for (size_t i = first; i < first + count; i++)
        if (wp_submit(pool, &tiny_task, (void *)(uintptr_t)i, NULL) != WP_OK) {
            fprintf(stderr, "bench_pool: wp_submit failed\n");
            exit(1);
        }
}

static int producer_run(void *payload, int64_t *result)
{
    share *s = payload;
    submit_range(s->pool, s->first, s->count);
    *result = 0;
    return 0;
}
static const wp_task_type producer_task = {producer_run, NULL, "producer"};

static void *external_main(void *arg)
{
    share *s = arg;
    submit_range(s->pool, s->first, s->count);
    return NULL;
}

static void throughput(wp_pool *pool, const char *mode, size_t producers, size_t tasks)
{
    size_t per = tasks / producers, n = per * producers;
    share *shares = calloc(producers, sizeof *shares);
    pthread_t *threads = calloc(producers, sizeof *threads);
    if (!shares || !threads)
        exit(1);
    atomic_store(&counter, 0);
    double t0 = now_ns();
    for (size_t p = 0; p < producers; p++) {
        shares[p] = (share){pool, p * per, per};
        if (!strcmp(mode, "spawn")) {
            if (wp_submit(pool, &producer_task, &shares[p], NULL) != WP_OK)
                exit(1);
        } else if (pthread_create(&threads[p], NULL, external_main, &shares[p]) != 0) {
            exit(1);
        }
    }
    if (strcmp(mode, "spawn"))
        for (size_t p = 0; p < producers; p++)
            pthread_join(threads[p], NULL);
    wp_pool_wait_idle(pool);
    double secs = (now_ns() - t0) / 1e9;
    unsigned long want = (unsigned long)n * (n - 1) / 2;
    if (atomic_load(&counter) != want) {
        fprintf(stderr, "bench_pool: wrong sum %lu, want %lu: a task was lost or run twice\n", atomic_load(&counter), want);
        exit(1);
    }
    printf("RUN mode=%s producers=%zu tasks=%zu ms=%.3f tasks_per_s=%.0f sum_ok=1\n", mode, producers, n, secs * 1e3,
           (double)n / secs);
    free(shares);
    free(threads);
}

static atomic_long started_at;
static int stamp_run(void *payload, int64_t *result)
{
    (void)payload;
    atomic_store_explicit(&started_at, (long)now_ns() + 1, memory_order_release);
    *result = 0;
    return 0;
}
static const wp_task_type stamp_task = {stamp_run, NULL, "stamp"};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Upper edges of the histogram's buckets, in µs: fine where the median lives, coarser along the tail. The
 * rayon peer prints the same buckets, so the two columns line up. */
static const double hist_edges[] = {0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512, 1024};
enum { HIST_BUCKETS = sizeof hist_edges / sizeof hist_edges[0] + 1 };

/* One `HIST lo_us hi_us count` line per non-empty bucket of the sorted samples, then the far tail's quantiles. */
static void print_histogram(const double *sorted, size_t samples)
{
    size_t count[HIST_BUCKETS] = {0};
    for (size_t k = 0, b = 0; k < samples; k++) {
        while (b < HIST_BUCKETS - 1 && sorted[k] >= hist_edges[b])
            b++;
        count[b]++;
    }
    for (size_t b = 0; b < HIST_BUCKETS; b++)
        if (count[b])
            printf("HIST %g %g %zu\n", b ? hist_edges[b - 1] : 0.0, b < HIST_BUCKETS - 1 ? hist_edges[b] : INFINITY,
                   count[b]);
    printf("TAIL p90_us=%.2f p999_us=%.2f max_us=%.2f\n", sorted[(size_t)((double)(samples - 1) * 0.9)],
           sorted[(size_t)((double)(samples - 1) * 0.999)], sorted[samples - 1]);
}

static void latency(wp_pool *pool, size_t samples, bool histogram)
{
    double *lat = calloc(samples, sizeof *lat);
    if (!lat)
        exit(1);
    for (size_t k = 0; k < samples; k++) {
        atomic_store(&started_at, 0);
        double t0 = now_ns();
        if (wp_submit(pool, &stamp_task, NULL, NULL) != WP_OK)
            exit(1);
        long t1;
        while ((t1 = atomic_load_explicit(&started_at, memory_order_acquire)) == 0)
            ;
        lat[k] = ((double)(t1 - 1) - t0) / 1e3;
    }
    qsort(lat, samples, sizeof *lat, cmp_double);
    printf("RUN mode=latency samples=%zu p50_us=%.2f p99_us=%.2f\n", samples, lat[(samples - 1) / 2],
           lat[(size_t)((double)(samples - 1) * 0.99)]);
    if (histogram)
        print_histogram(lat, samples);
    free(lat);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_pool spawn|external <producers> <tasks> | latency <samples> [histogram]\n");
        return 2;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    wp_pool *pool;
    if (wp_pool_new(&pool, cpus > 0 ? (size_t)cpus : 1, 1024) != WP_OK) {
        fprintf(stderr, "bench_pool: wp_pool_new failed\n");
        return 1;
    }
    if (!strcmp(argv[1], "latency")) {
        latency(pool, strtoul(argv[2], NULL, 10), argc > 3 && !strcmp(argv[3], "histogram"));
    } else {
        size_t producers = strtoul(argv[2], NULL, 10);
        size_t tasks = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
        throughput(pool, argv[1], producers ? producers : 1, tasks);
    }
    wp_pool_shutdown(pool, WP_DRAIN);
    return 0;
}
