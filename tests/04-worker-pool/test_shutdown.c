/*
 * Part 4: shutdown as Drop. Shutdown joins every thread, never hangs (not even with every worker asleep or a
 * task blocked), frees or runs every payload, and touches nothing outside its own pool.
 */
#include "support.h"

#include <signal.h>
#include <stdlib.h>

FT_PART(4, "shutdown as Drop");

static wp_pool *make(size_t n, size_t cap)
{
    wp_pool *p = NULL;
    ck_assert_int_eq(wp_pool_new(&p, n, cap), WP_OK);
    return p;
}

/* One worker held at a gate by task 0, then tasks 1..queued waiting behind it, each with a handle. */
static wp_pool *blocked_pool(gate *g, wp_handle **h, int queued)
{
    track_reset();
    gate_init(g);
    wp_pool *p = make(1, 16);
    payload *first = payload_new(0);
    first->wait_for = g;
    ck_assert_int_eq(wp_submit(p, &tracked_task, first, &h[0]), WP_OK);
    ck_assert_msg(gate_wait_arrivals(g, 1), "the worker never started the first task");
    for (int i = 1; i <= queued; i++)
        ck_assert_int_eq(wp_submit(p, &tracked_task, payload_new(i), &h[i]), WP_OK);
    return p;
}

/* Starts a shutdown of a pool from blocked_pool and waits until it has set its state: a shutdown sets it before it
 * joins the worker, which support.c sees. An implementation that waits some other way first gets a generous pause
 * instead. Then the blocked task may return: the tasks queued behind it must be cancelled (WP_CANCEL) or run
 * (WP_DRAIN) by a worker that has seen the new state. */
static void shutdown_while_blocked(shutdown_call *c, wp_pool *p, wp_shutdown mode)
{
    thread_starts_reset(0);
    shutdown_async(c, p, mode);
    double end = now_ms() + 500;
    while (thread_joins_entered() == 0 && now_ms() < end)
        sleep_ms(1);
}

static void cancel_while_blocked(shutdown_call *c, wp_pool *p) { shutdown_while_blocked(c, p, WP_CANCEL); }

FT_TEST(4, shutdown_drain_runs_every_queued_task_first, 2,
        "WP_DRAIN is rayon's Drop: close the queue to new submissions, let the workers run what is queued, and "
        "only then join them. A worker that leaves as soon as it sees the flag drops work on the floor.")
{
    gate g;
    wp_handle *h[11];
    wp_pool *p = blocked_pool(&g, h, 10);
    shutdown_call c;
    shutdown_while_blocked(&c, p, WP_DRAIN);
    gate_open(&g);
    shutdown_finish(&c);
    ASSERT_RAN_ONCE(0, 10);
    for (int i = 0; i <= 10; i++) {
        int64_t r;
        ck_assert_int_eq(wp_join(h[i], &r), WP_OK);
        ck_assert_int_eq(r, 1000 + i);
    }
    gate_destroy(&g);
}

FT_TEST(4, shutdown_cancel_drops_unstarted_payloads_and_cancels_their_handles, 4,
        "WP_CANCEL: the running task finishes; the queued ones never run, the pool drops each payload exactly "
        "once (they are its to free) and their joiners get WP_ERR_CANCELLED instead of waiting forever.")
{
    gate g;
    wp_handle *h[6];
    wp_pool *p = blocked_pool(&g, h, 5);
    shutdown_call c;
    cancel_while_blocked(&c, p);
    gate_open(&g);
    shutdown_finish(&c);
    int64_t r;
    ck_assert_int_eq(wp_join(h[0], &r), WP_OK);
    ASSERT_RAN_ONCE(0, 0);
    for (int i = 1; i <= 5; i++) {
        ck_assert_int_eq(wp_join(h[i], &r), WP_ERR_CANCELLED);
        ck_assert_int_eq(atomic_load(&track_runs[i]), 0);
        ck_assert_int_eq(atomic_load(&track_drops[i]), 1);
    }
    gate_destroy(&g);
}

FT_TEST(4, joining_a_cancelled_task_leaves_result_untouched, 2,
        "A cancelled task never ran, so it has no answer and no failure code: wp_join and wp_join_timeout return "
        "WP_ERR_CANCELLED and leave *result untouched (Rust: Err(JoinError::Cancelled), no value of T). Writing "
        "the handle's empty result slot there hands the caller a number nobody computed.")
{
    gate g;
    wp_handle *h[5];
    wp_pool *p = blocked_pool(&g, h, 4);
    shutdown_call c;
    cancel_while_blocked(&c, p);
    gate_open(&g);
    shutdown_finish(&c);
    int64_t r = 0;
    ck_assert_int_eq(wp_join(h[0], &r), WP_OK);
    ck_assert_int_eq(r, 1000);
    r = -77;
    ck_assert_int_eq(wp_join(h[1], &r), WP_ERR_CANCELLED);
    ck_assert_msg(r == -77, "wp_join of a cancelled task wrote %lld to *result, which must stay untouched", (long long)r);
    ck_assert_int_eq(wp_join_timeout(h[2], LONG_MS, &r), WP_ERR_CANCELLED);
    ck_assert_msg(r == -77, "wp_join_timeout of a cancelled task wrote %lld to *result, which must stay untouched",
                  (long long)r);
    ck_assert_int_eq(wp_join(h[3], NULL), WP_ERR_CANCELLED); /* a NULL result is allowed */
    ck_assert_int_eq(wp_join_timeout(h[4], LONG_MS, NULL), WP_ERR_CANCELLED);
    gate_destroy(&g);
}

FT_TEST(4, shutdown_returns_while_every_worker_sleeps, 4,
        "Shutdown hang: idle workers sleep on a condition variable. Set the stop state under that lock, then "
        "pthread_cond_broadcast: a single signal wakes one worker and pthread_join waits for the others forever.")
{
    for (int round = 0; round < 3; round++) {
        thread_starts_reset(0);
        wp_pool *p = make(4, 8);
        /* Every worker stops searching and sleeps; a pool whose workers never sleep makes this case easier. */
        double end = now_ms() + 2000;
        for (int i = 0; i < 4; i++) {
            double left = end - now_ms();
            (void)thread_wait_asleep(i, left > 0 ? (unsigned)left : 0);
        }
        shutdown_call c;
        shutdown_async(&c, p, round == 1 ? WP_CANCEL : WP_DRAIN);
        shutdown_finish(&c);
    }
}
FT_TIMEOUT(shutdown_returns_while_every_worker_sleeps, 10);

FT_TEST(4, shutdown_waits_for_a_task_that_blocks, 3,
        "Drop joins: shutdown must not return (or free the pool) while a worker is still inside a task. It "
        "returns once the task can finish.")
{
    gate g;
    wp_handle *h[1];
    wp_pool *p = blocked_pool(&g, h, 0);
    shutdown_call c;
    shutdown_async(&c, p, WP_DRAIN);
    sleep_ms(100);
    ck_assert_msg(!atomic_load(&c.returned), "shutdown returned while a task was still running");
    gate_open(&g);
    shutdown_finish(&c);
    int64_t r;
    ck_assert_int_eq(wp_join(h[0], &r), WP_OK);
    gate_destroy(&g);
}

static void *noop_main(void *arg) { return arg; }

FT_TEST(4, no_thread_outlives_its_pool, 2,
        "After shutdown returns, every worker thread has been joined: the process has exactly the threads it "
        "had before wp_pool_new. Detached or forgotten threads would keep running code of a freed pool.")
{
    /* A first thread makes a sanitizer start its own helper thread (ThreadSanitizer does), before counting. */
    pthread_join(start_thread(noop_main, NULL), NULL);
    int before = count_threads();
    wp_pool *p = make(3, 8);
    ck_assert_int_eq(count_threads(), before + 3);
    int64_t r;
    wp_handle *h;
    ck_assert_int_eq(wp_submit(p, &tracked_task, payload_new(0), &h), WP_OK);
    ck_assert_int_eq(wp_join(h, &r), WP_OK);
    wp_pool_shutdown(p, WP_DRAIN);
    ck_assert_int_eq(count_threads(), before);
}

FT_TEST(4, two_pools_never_affect_each_other, 4,
        "No global state: a `static bool keep_running` shared by all pools lets one pool's shutdown stop the "
        "workers of another. Everything a worker checks must live in its own pool.")
{
    track_reset();
    wp_pool *a = make(2, 8), *b = make(2, 8);
    sleep_ms(50);
    wp_pool_shutdown(a, WP_DRAIN);
    wp_handle *h;
    int64_t r;
    ck_assert_int_eq(wp_submit(b, &tracked_task, payload_new(1), &h), WP_OK);
    ck_assert_msg(wp_join_timeout(h, LONG_MS, &r) == WP_OK, "pool B stopped working when pool A shut down");
    wp_pool *c = make(1, 8);
    wp_pool_shutdown(b, WP_CANCEL);
    ck_assert_int_eq(wp_submit(c, &tracked_task, payload_new(2), &h), WP_OK);
    ck_assert_msg(wp_join_timeout(h, LONG_MS, &r) == WP_OK, "pool C stopped working when pool B shut down");
    wp_pool_shutdown(c, WP_DRAIN);
    ASSERT_RAN_ONCE(1, 2);
}

/* Under Valgrind the abort prints a "possibly lost" record for the worker threads' stacks: the process dies with
 * its threads alive, as intended. The test passes on the signal. */
static int shutdown_self_run(void *arg, int64_t *result)
{
    (void)result;
    wp_pool_shutdown(arg, WP_DRAIN); /* must abort: it would join the thread that is calling it */
    return 0;
}
static const wp_task_type shutdown_self_task = {shutdown_self_run, NULL, "shutdown self"};

FT_TEST_SIGNAL(4, shutdown_from_inside_a_task_aborts, 1, SIGABRT,
               "A task that shuts down its own pool would wait for its own thread forever. Detect it (the "
               "calling thread is one of the pool's workers) and abort() with a message, like xv6's panic.")
{
    wp_pool *p = make(1, 4);
    wp_handle *h;
    ck_assert_int_eq(wp_submit(p, &shutdown_self_task, p, &h), WP_OK);
    int64_t r;
    wp_status st = wp_join_timeout(h, LONG_MS, &r);
    ck_abort_msg("the task's wp_pool_shutdown call returned or hung instead of aborting (join: %s)", wp_status_str(st));
}
