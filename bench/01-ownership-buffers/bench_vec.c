/*
 * bench_vec.c — push then pop N elements through the fv_ vector, timed.
 *
 * Usage: bench_vec WORKLOAD N REPS      WORKLOAD is u32 or s24
 *
 * One repetition: an empty vector (fv_new, no reserve, so growth is timed the way Rust's `Vec::new()` + push is),
 * N pushes of element i, then pops until empty while summing what comes out, then fv_destroy. The sum is checked
 * against its closed form so the work cannot be optimised away or done wrong. vec_bench.rs and vec_bench.cpp do
 * exactly the same work and print the same lines:
 *
 *   RUN impl=ferrite workload=u32 n=100000000 rep=1 ms=412.345 user_ms=250.100 sys_ms=160.020 checksum=4999999950000000
 *   RESULT impl=ferrite workload=u32 n=100000000 reps=5 median_ms=410.002 ok=1
 *
 * ms is wall time (CLOCK_MONOTONIC). user_ms and sys_ms split the process's CPU time (getrusage): on a virtual
 * machine the kernel's page faults on the fresh buffer can be half the wall time and are the same for every
 * contender, so user_ms is where the vectors' own code shows.
 */
#define _POSIX_C_SOURCE 200809L
#include "vec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/** The 24-byte element: three words, no padding, no drop glue (a Rust `Copy` struct). */
typedef struct s24 {
    uint64_t a, b, c;
} s24;

static const fv_type U32_TYPE = {FV_LAYOUT_OF(uint32_t), NULL, "uint32_t"};
static const fv_type S24_TYPE = {FV_LAYOUT_OF(s24), NULL, "s24"};

/* Built twice by run.sh: generic (every push and pop a call to the chapter's functions, sizes known at run time)
 * and with -DBENCH_TYPED (the typed inline hot paths of FV_DEFINE_TYPED, the C twin of Rust's monomorphised
 * Vec<T>::push). Both run the same loops below. */
#ifdef BENCH_TYPED
#define IMPL_NAME "ferrite-typed"
FV_DEFINE_TYPED(u32vec, uint32_t)
FV_DEFINE_TYPED(s24vec, s24)
#define NEW_U32(v) u32vec_new((v), &U32_TYPE, NULL)
#define NEW_S24(v) s24vec_new((v), &S24_TYPE, NULL)
#define PUSH_U32(v, x) u32vec_push((v), (x))
#define POP_U32(v, out) u32vec_pop((v), (out))
#define PUSH_S24(v, e) s24vec_push((v), (e))
#define POP_S24(v, out) s24vec_pop((v), (out))
#else
#define IMPL_NAME "ferrite"
#define NEW_U32(v) fv_new((v), &U32_TYPE, NULL)
#define NEW_S24(v) fv_new((v), &S24_TYPE, NULL)
#define PUSH_U32(v, x) fv_push((v), &(x))
#define POP_U32(v, out) fv_pop((v), (out))
#define PUSH_S24(v, e) fv_push((v), &(e))
#define POP_S24(v, out) fv_pop((v), (out))
#endif

/* An optimisation barrier: the compiler must assume the vector's memory was read and changed here, so the push
 * loop and the pop loop stay two loops (Rust side: std::hint::black_box(&mut v)). Emits no instruction. */
#define BARRIER(p) __asm__ volatile("" : : "r"(p) : "memory")

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time this process has spent so far in user space and in the kernel, in milliseconds. */
static void cpu_ms(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
    *sys = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static void die(const char *what, fv_status st)
{
    fprintf(stderr, "bench_vec: %s failed: %s (%d)\n", what, fv_status_str(st), (int)st);
    exit(1);
}

static uint64_t run_u32(size_t n)
{
    fv_vec v;
    fv_status st = NEW_U32(&v);
    if (st != FV_OK)
        die("fv_new", st);
    for (size_t i = 0; i < n; i++) {
        uint32_t x = (uint32_t)i;
        st = PUSH_U32(&v, x);
        if (st != FV_OK)
            die("fv_push", st);
    }
    BARRIER(&v);
    uint64_t sum = 0;
    uint32_t x;
    while (POP_U32(&v, &x))
        sum += x;
    fv_destroy(&v);
    return sum;
}

static uint64_t run_s24(size_t n)
{
    fv_vec v;
    fv_status st = NEW_S24(&v);
    if (st != FV_OK)
        die("fv_new", st);
    for (size_t i = 0; i < n; i++) {
        s24 e = {i, 2 * i, 3 * i};
        st = PUSH_S24(&v, e);
        if (st != FV_OK)
            die("fv_push", st);
    }
    BARRIER(&v);
    uint64_t sum = 0;
    s24 e;
    while (POP_S24(&v, &e))
        sum += e.a + e.b + e.c;
    fv_destroy(&v);
    return sum;
}

/* Closed forms: u32 sums 0..n-1 (n < 2^32), s24 sums 6i over the same range, both mod 2^64 like the loops. */
static uint64_t expected(int s24_workload, size_t n)
{
    uint64_t tri = n % 2 == 0 ? (uint64_t)(n / 2) * (uint64_t)(n - 1) : (uint64_t)n * (uint64_t)((n - 1) / 2);
    return s24_workload ? 6 * tri : tri;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "u32") != 0 && strcmp(argv[1], "s24") != 0)) {
        fprintf(stderr, "usage: %s u32|s24 N REPS\n", argv[0]);
        return 2;
    }
    int is_s24 = strcmp(argv[1], "s24") == 0;
    size_t n = (size_t)strtoull(argv[2], NULL, 10);
    int reps = atoi(argv[3]);
    if (reps < 1 || reps > 1000 || (!is_s24 && n > UINT32_MAX)) {
        fprintf(stderr, "bench_vec: REPS must be 1..1000 and N fit the element\n");
        return 2;
    }
    double *ms = malloc((size_t)reps * sizeof *ms);
    if (ms == NULL)
        return 1;
    int ok = 1;
    for (int r = 0; r < reps; r++) {
        double u0, s0, u1, s1;
        cpu_ms(&u0, &s0);
        double t0 = now_ms();
        uint64_t sum = is_s24 ? run_s24(n) : run_u32(n);
        ms[r] = now_ms() - t0;
        cpu_ms(&u1, &s1);
        ok &= sum == expected(is_s24, n);
        printf("RUN impl=%s workload=%s n=%zu rep=%d ms=%.3f user_ms=%.3f sys_ms=%.3f checksum=%" PRIu64 "\n", IMPL_NAME,
               argv[1], n, r + 1, ms[r], u1 - u0, s1 - s0, sum);
    }
    qsort(ms, (size_t)reps, sizeof *ms, cmp_double);
    double median = reps % 2 ? ms[reps / 2] : (ms[reps / 2 - 1] + ms[reps / 2]) / 2;
    printf("RESULT impl=%s workload=%s n=%zu reps=%d median_ms=%.3f ok=%d\n", IMPL_NAME, argv[1], n, reps, median, ok);
    free(ms);
    return ok ? 0 : 1;
}
