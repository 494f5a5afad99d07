/*
 * Part 2: the pool. Creating it, submitting with backpressure, and the payload rule: once a submit succeeds the
 * pool owns the payload and drops it exactly once; when a submit fails the caller still owns it. Every test shuts
 * its pool down with WP_DRAIN: the first wp_pool_shutdown, which part 2 writes and part 4 completes.
 */
#include "support.h"

#include <stdlib.h>

FT_PART(2, "the pool: submit, backpressure, payload ownership");

static wp_pool *make(size_t n, size_t cap)
{
    wp_pool *p = NULL;
    ck_assert_int_eq(wp_pool_new(&p, n, cap), WP_OK);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void submit_ok(wp_pool *p, payload *pl) { ck_assert_int_eq(wp_submit(p, &tracked_task, pl, NULL), WP_OK); }

FT_TEST(2, pool_new_rejects_zero_workers_and_zero_capacity, 2,
        "n = 0 is an error, not a pool whose every submit waits forever: return WP_ERR_INVAL and leave *out "
        "alone. A queue capacity of 0 is refused the same way.")
{
    wp_pool *p = (wp_pool *)&p; /* any non-NULL value: it must stay untouched */
    wp_pool *const before = p;
    ck_assert_int_eq(wp_pool_new(&p, 0, 8), WP_ERR_INVAL);
    ck_assert_int_eq(wp_pool_new(&p, 2, 0), WP_ERR_INVAL);
    ck_assert_ptr_eq(p, before);
    p = make(3, 8);
    ck_assert_uint_eq(wp_pool_workers(p), 3);
    wp_pool_shutdown(p, WP_DRAIN);
}

static void *return_at_once(void *arg) { return arg; }

/* Polls until the process has @p n threads again: a joined thread leaves /proc/self/task a moment after. A second
 * is plenty for that, and shorter than the test's timeout, so a thread that is still running is reported as one. */
static bool threads_back_to(int n)
{
    double end = now_ms() + 1000;
    while (count_threads() != n && now_ms() < end)
        sleep_ms(1);
    return count_threads() == n;
}

FT_TEST(2, pool_new_undoes_everything_when_a_thread_fails_to_start, 3,
        "pthread_create can fail (EAGAIN: the process may not have another thread). Here the third of four "
        "fails: wp_pool_new must undo its own work, stop and join the two workers already running, free the "
        "pool, and return WP_ERR_NOMEM with *out untouched, as Rust's ThreadPoolBuilder::build returns Err and "
        "drops what it built. Returning at once leaves two threads running and the pool leaked.")
{
    /* A first thread makes a sanitizer start its own helper thread (ThreadSanitizer does), before counting. */
    pthread_join(start_thread(return_at_once, NULL), NULL);
    int before = count_threads();
    wp_pool *p = (wp_pool *)&p; /* any non-NULL value: it must stay untouched */
    wp_pool *const sentinel = p;
    thread_starts_reset(3);
    wp_status st = wp_pool_new(&p, 4, 8);
    int calls = thread_start_calls();
    thread_starts_reset(0);
    ck_assert_msg(calls >= 3, "wp_pool_new(4 workers) called pthread_create %d times, want at least 3", calls);
    ck_assert_int_eq(st, WP_ERR_NOMEM);
    ck_assert_ptr_eq(p, sentinel);
    ck_assert_msg(threads_back_to(before), "%d threads still running after the failed wp_pool_new, want %d",
                  count_threads(), before);
    /* Nothing is left over that could disturb the next pool. */
    track_reset();
    p = make(4, 8);
    for (int i = 0; i < 8; i++)
        submit_ok(p, payload_new(i));
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, 7);
}

FT_TEST(2, every_submitted_task_runs_exactly_once, 3,
        "Each task taken from the queue runs once and its payload is dropped once, right after run. Twice "
        "means two workers took the same slot; never means it was lost (or shutdown did not drain).")
{
    track_reset();
    wp_pool *p = make(4, 16);
    int n = 200;
    for (int i = 0; i < n; i++)
        submit_ok(p, payload_new(i));
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, n - 1);
}

static atomic_int thread_slot;
static pthread_t seen_threads[64];

static int record_thread(void *payload, int64_t *result)
{
    (void)payload;
    int i = atomic_fetch_add(&thread_slot, 1);
    if (i < 64)
        seen_threads[i] = pthread_self();
    *result = 0;
    sleep_ms(1);
    return 0;
}
static const wp_task_type thread_task = {record_thread, NULL, "record thread"};

FT_TEST(2, tasks_run_on_the_pools_own_threads, 2,
        "Workers are threads the pool starts in wp_pool_new; a task must not run on the thread that submits "
        "it (from outside the pool), and at most n distinct threads run tasks.")
{
    atomic_store(&thread_slot, 0);
    wp_pool *p = make(2, 64);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(wp_submit(p, &thread_task, NULL, NULL), WP_OK);
    wp_pool_shutdown(p, WP_DRAIN);
    ck_assert_int_eq(atomic_load(&thread_slot), 40);
    pthread_t distinct[64];
    int nd = 0;
    for (int i = 0; i < 40; i++) {
        ck_assert_msg(!pthread_equal(seen_threads[i], pthread_self()), "a task ran on the submitting thread");
        bool known = false;
        for (int j = 0; j < nd; j++)
            known |= pthread_equal(distinct[j], seen_threads[i]) != 0;
        if (!known)
            distinct[nd++] = seen_threads[i];
    }
    ck_assert_int_le(nd, 2);
}

typedef struct submitter {
    wp_pool *pool;
    payload *pl;
    wp_status status;
    atomic_int done;
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    s->status = wp_submit(s->pool, &tracked_task, s->pl, NULL);
    atomic_store(&s->done, 1);
    return NULL;
}

FT_TEST(2, submit_waits_while_the_queue_is_full, 4,
        "Backpressure: with the one worker busy and the queue full, wp_submit blocks until a slot frees, while "
        "wp_try_submit returns WP_ERR_FULL at once and leaves the payload with the caller (nothing dropped).")
{
    track_reset();
    gate g;
    gate_init(&g);
    wp_pool *p = make(1, 2);
    payload *busy = payload_new(0);
    busy->wait_for = &g;
    submit_ok(p, busy);
    ck_assert_msg(gate_wait_arrivals(&g, 1), "the only worker never started the first task");
    submit_ok(p, payload_new(1));
    submit_ok(p, payload_new(2));

    payload *extra = payload_new(3);
    ck_assert_int_eq(wp_try_submit(p, &tracked_task, extra, NULL), WP_ERR_FULL);
    ck_assert_int_eq(atomic_load(&track_drops[3]), 0);
    payload_free_unsubmitted(extra);

    submitter s = {.pool = p, .pl = payload_new(4)};
    atomic_init(&s.done, 0);
    pthread_t t = start_thread(submit_main, &s);
    sleep_ms(100);
    ck_assert_msg(!atomic_load(&s.done), "wp_submit returned although the queue was full (no backpressure)");
    gate_open(&g);
    ck_assert_msg(wait_count(&s.done, 1, LONG_MS), "wp_submit never returned after the queue drained");
    pthread_join(t, NULL);
    ck_assert_int_eq(s.status, WP_OK);
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, 2);
    ASSERT_RAN_ONCE(4, 4);
    ck_assert_int_eq(atomic_load(&track_runs[3]), 0);
    gate_destroy(&g);
}

FT_TEST(2, submit_without_a_run_function_is_refused, 1,
        "A task type without run cannot be executed: refuse it with WP_ERR_INVAL when it is submitted, so "
        "the failure surfaces at the call that is wrong, and the payload stays with the caller.")
{
    static const wp_task_type no_run = {NULL, NULL, "no run"};
    wp_pool *p = make(1, 4);
    int dummy = 0;
    ck_assert_int_eq(wp_submit(p, &no_run, &dummy, NULL), WP_ERR_INVAL);
    ck_assert_int_eq(wp_try_submit(p, NULL, &dummy, NULL), WP_ERR_INVAL);
    wp_pool_shutdown(p, WP_DRAIN);
}

typedef struct producer {
    wp_pool *pool;
    int first, count;
    atomic_int errors;
} producer;

static void *produce_main(void *arg)
{
    producer *pr = arg;
    for (int i = 0; i < pr->count; i++) {
        payload *pl = payload_new(pr->first + i);
        if (wp_submit(pr->pool, &tracked_task, pl, NULL) != WP_OK) {
            payload_free_unsubmitted(pl);
            atomic_fetch_add(&pr->errors, 1);
        }
    }
    return NULL;
}

FT_TEST(2, concurrent_producers_each_task_runs_exactly_once, 4,
        "Three threads submit at once into a small queue served by three workers. Every task runs and is "
        "dropped exactly once: the queue's lock must cover every read and write of its state, and a full queue "
        "must make submitters wait rather than drop or overwrite.")
{
    track_reset();
    wp_pool *p = make(3, 4);
    enum { NP = 3 };
    int per = 300 * (int)stress();
    if (per * NP > MAX_IDS)
        per = MAX_IDS / NP;
    producer prs[NP];
    pthread_t ts[NP];
    for (int i = 0; i < NP; i++) {
        prs[i] = (producer){.pool = p, .first = i * per, .count = per};
        atomic_init(&prs[i].errors, 0);
        ts[i] = start_thread(produce_main, &prs[i]);
    }
    for (int i = 0; i < NP; i++) {
        pthread_join(ts[i], NULL);
        ck_assert_int_eq(atomic_load(&prs[i].errors), 0);
    }
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, NP * per - 1);
}
FT_TIMEOUT(concurrent_producers_each_task_runs_exactly_once, 10);

static atomic_int order_check;
static int check_drop_order_run(void *arg, int64_t *result)
{
    (void)result;
    *(int *)arg = 1; /* ran */
    return 0;
}
static void check_drop_order_drop(void *arg)
{
    if (*(int *)arg != 1)
        atomic_fetch_add(&order_check, 1); /* dropped before (or without) running */
    free(arg);
}
static const wp_task_type order_task = {check_drop_order_run, check_drop_order_drop, "order"};

FT_TEST(2, payload_is_dropped_after_run_never_before, 2,
        "A task is FnOnce: run borrows the payload, then the pool drops it. Dropping first is a use after free "
        "inside run; never dropping is a leak (LeakSanitizer and Valgrind report it).")
{
    atomic_store(&order_check, 0);
    wp_pool *p = make(2, 8);
    for (int i = 0; i < 50; i++) {
        int *flag = calloc(1, sizeof *flag);
        ck_assert(flag != NULL);
        ck_assert_int_eq(wp_submit(p, &order_task, flag, NULL), WP_OK);
    }
    wp_pool_shutdown(p, WP_DRAIN);
    ck_assert_int_eq(atomic_load(&order_check), 0);
}
