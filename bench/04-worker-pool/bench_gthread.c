/*
 * Chapter 04 benchmark, GLib side: tiny tasks through GThreadPool, and push-to-run latency.
 *
 *   bench_gthread external <producers> <tasks>   producers are threads that g_thread_pool_push tasks/producers
 *                                                each; g_thread_pool_free(pool, FALSE, TRUE) waits for them all
 *   bench_gthread latency <samples>              one item at a time: time from push to the function's first line
 *
 * The pool is g_thread_pool_new(fn, NULL, ncpu, TRUE, NULL): one exclusive thread per CPU. Each item adds its
 * index to one shared atomic counter; the sum is checked. Prints one `RUN key=value ...` line.
 */
#define _POSIX_C_SOURCE 200809L
#include <glib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong counter;
static atomic_long started_at;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Items are index + 1: GThreadPool refuses NULL. */
static void tiny(gpointer item, gpointer user)
{
    (void)user;
    atomic_fetch_add_explicit(&counter, (unsigned long)GPOINTER_TO_SIZE(item) - 1, memory_order_relaxed);
}

static void stamp(gpointer item, gpointer user)
{
    (void)item, (void)user;
    atomic_store_explicit(&started_at, (long)now_ns() + 1, memory_order_release);
}

typedef struct share {
    GThreadPool *pool;
    size_t first, count;
} share;

static gpointer producer(gpointer arg)
{
    share *s = arg;
    for (size_t i = s->first; i < s->first + s->count; i++)
        g_thread_pool_push(s->pool, GSIZE_TO_POINTER(i + 1), NULL);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_gthread external <producers> <tasks> | latency <samples>\n");
        return 2;
    }
    int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    bool lat = !strcmp(argv[1], "latency");
    GThreadPool *pool = g_thread_pool_new(lat ? stamp : tiny, NULL, cpus, TRUE, NULL);
    if (lat) {
        size_t samples = strtoul(argv[2], NULL, 10);
        double *l = calloc(samples, sizeof *l);
        for (size_t k = 0; k < samples && l; k++) {
            atomic_store(&started_at, 0);
            double t0 = now_ns();
            g_thread_pool_push(pool, GSIZE_TO_POINTER(1), NULL);
            long t1;
            while ((t1 = atomic_load_explicit(&started_at, memory_order_acquire)) == 0)
                ;
            l[k] = ((double)(t1 - 1) - t0) / 1e3;
        }
        qsort(l, samples, sizeof *l, cmp_double);
        printf("RUN mode=latency samples=%zu p50_us=%.2f p99_us=%.2f\n", samples, l[(samples - 1) / 2],
               l[(size_t)((double)(samples - 1) * 0.99)]);
        free(l);
        g_thread_pool_free(pool, FALSE, TRUE);
        return 0;
    }
    size_t producers = strtoul(argv[2], NULL, 10), tasks = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
    producers = producers ? producers : 1;
    size_t per = tasks / producers, n = per * producers;
    share *shares = calloc(producers, sizeof *shares);
    GThread **threads = calloc(producers, sizeof *threads);
    double t0 = now_ns();
    for (size_t p = 0; p < producers; p++) {
        shares[p] = (share){pool, p * per, per};
        threads[p] = g_thread_new("producer", producer, &shares[p]);
    }
    for (size_t p = 0; p < producers; p++)
        g_thread_join(threads[p]);
    g_thread_pool_free(pool, FALSE, TRUE); /* waits until every pushed item has run */
    double secs = (now_ns() - t0) / 1e9;
    unsigned long want = (unsigned long)n * (n - 1) / 2;
    if (atomic_load(&counter) != want) {
        fprintf(stderr, "bench_gthread: wrong sum\n");
        return 1;
    }
    printf("RUN mode=external producers=%zu tasks=%zu ms=%.3f tasks_per_s=%.0f sum_ok=1\n", producers, n, secs * 1e3,
           (double)n / secs);
    free(shares);
    free(threads);
    return 0;
}
