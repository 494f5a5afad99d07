/*
 * Part 3: join handles. A handle is shared by the task and the joiner (Rust: an Arc around the result slot), so
 * it must outlive whichever of the two finishes first — and the pool itself.
 */
#include "support.h"

#include <stdlib.h>

FT_PART(3, "join handles");

static wp_pool *make(size_t n, size_t cap)
{
    wp_pool *p = NULL;
    ck_assert_int_eq(wp_pool_new(&p, n, cap), WP_OK);
    return p;
}

static wp_handle *submit_handle(wp_pool *p, payload *pl)
{
    wp_handle *h = NULL;
    ck_assert_int_eq(wp_submit(p, &tracked_task, pl, &h), WP_OK);
    ck_assert_ptr_nonnull(h);
    return h;
}

FT_TEST(3, join_returns_each_tasks_own_result, 2,
        "run writes its answer to *result and returns 0; the pool stores it in the task's handle and wp_join "
        "returns WP_OK with that value. Each handle belongs to one task: results must not cross.")
{
    track_reset();
    wp_pool *p = make(3, 16);
    wp_handle *h[20];
    for (int i = 0; i < 20; i++)
        h[i] = submit_handle(p, payload_new(i));
    for (int i = 19; i >= 0; i--) {
        int64_t r = -1;
        ck_assert_int_eq(wp_join(h[i], &r), WP_OK);
        ck_assert_int_eq(r, 1000 + i);
    }
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, 19);
}

FT_TEST(3, a_failing_task_reaches_its_joiner, 3,
        "A non-zero return from run is the task's panic: the joiner gets WP_ERR_TASK_FAILED with the code in "
        "*result, the payload is still dropped, and the worker survives to run the next task.")
{
    track_reset();
    wp_pool *p = make(1, 4);
    payload *bad = payload_new(0);
    bad->fail_code = 42;
    wp_handle *hb = submit_handle(p, bad);
    wp_handle *hg = submit_handle(p, payload_new(1));
    int64_t r = 0;
    ck_assert_int_eq(wp_join(hb, &r), WP_ERR_TASK_FAILED);
    ck_assert_int_eq(r, 42);
    ck_assert_int_eq(wp_join(hg, &r), WP_OK);
    ck_assert_int_eq(r, 1001);
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, 1);
}

FT_TEST(3, join_timeout_gives_up_in_time_and_keeps_the_handle, 3,
        "On a task that is still running, join_timeout returns WP_ERR_TIMEOUT after about the timeout, leaves "
        "*result untouched (there is no result yet) and the handle stays valid: a later wp_join gets the result, "
        "even after the task has finished and let go of its own reference. Freeing it on timeout is a use after "
        "free.")
{
    track_reset();
    gate g;
    gate_init(&g);
    wp_pool *p = make(1, 4);
    payload *pl = payload_new(0);
    pl->wait_for = &g;
    wp_handle *h = submit_handle(p, pl);
    int64_t r = -1;
    double t0 = now_ms();
    ck_assert_int_eq(wp_join_timeout(h, 60, &r), WP_ERR_TIMEOUT);
    double waited = now_ms() - t0;
    ck_assert_msg(waited >= 50 && waited < LONG_MS, "join_timeout(60 ms) returned after %.0f ms", waited);
    ck_assert_msg(r == -1, "a join that timed out wrote %lld to *result, which must stay untouched", (long long)r);
    gate_open(&g);
    /* The one worker runs the next task only after the first has reported: its handle has no other owner now. */
    int64_t r_next;
    ck_assert_int_eq(wp_join(submit_handle(p, payload_new(1)), &r_next), WP_OK);
    ck_assert_int_eq(wp_join_timeout(h, LONG_MS, &r), WP_OK);
    ck_assert_int_eq(r, 1000);
    wp_pool_shutdown(p, WP_DRAIN);
    gate_destroy(&g);
}

FT_TEST(3, join_waits_for_a_slow_task, 2,
        "wp_join blocks until the task has finished: wait on the handle's condition variable in a loop while "
        "its state is pending. Returning early hands back a result that does not exist yet.")
{
    track_reset();
    wp_pool *p = make(2, 4);
    payload *pl = payload_new(5);
    pl->sleep_ms = 80;
    double t0 = now_ms();
    wp_handle *h = submit_handle(p, pl);
    int64_t r = -1;
    ck_assert_int_eq(wp_join(h, &r), WP_OK);
    ck_assert_msg(now_ms() - t0 >= 70, "join returned before the task could have finished");
    ck_assert_int_eq(r, 1005);
    ck_assert_int_eq(atomic_load(&track_runs[5]), 1);
    wp_pool_shutdown(p, WP_DRAIN);
}

static int set_flag_run(void *arg, int64_t *result)
{
    atomic_store_explicit((atomic_int *)arg, 1, memory_order_relaxed);
    *result = 0;
    return 0;
}
static const wp_task_type set_flag_task = {set_flag_run, NULL, "set flag"};

FT_TEST(3, join_reads_a_finished_tasks_result_under_the_lock, 1,
        "The worker writes the handle's state and result under the handle's lock, so the joiner reads them under "
        "that lock too, even for a task that finished long ago: a look at the state without it is a data race "
        "(ThreadSanitizer reports it), and nothing then makes the result visible before the state.")
{
    track_reset();
    wp_pool *p = make(1, 4);
    wp_handle *h = submit_handle(p, payload_new(0));
    atomic_int next_ran;
    atomic_init(&next_ran, 0);
    ck_assert_int_eq(wp_submit(p, &set_flag_task, &next_ran, NULL), WP_OK);
    /* The one worker runs the flag task after the first has reported. The flag is relaxed on both sides: it says
     * when, but orders nothing, so only the handle's lock can order the worker's writes before the join's reads. */
    double end = now_ms() + LONG_MS;
    while (!atomic_load_explicit(&next_ran, memory_order_relaxed) && now_ms() < end)
        sleep_ms(1);
    ck_assert_msg(atomic_load_explicit(&next_ran, memory_order_relaxed), "the second task never ran");
    int64_t r = -1;
    ck_assert_int_eq(wp_join(h, &r), WP_OK);
    ck_assert_int_eq(r, 1000);
    wp_pool_shutdown(p, WP_DRAIN);
}

FT_TEST(3, a_detached_handle_is_freed_by_whoever_finishes_last, 2,
        "The handle is shared by the task and the joiner: count references and free it when the last one "
        "lets go, whether the task finishes before or after wp_handle_detach. A leak, a use after free or a "
        "double free shows under LeakSanitizer, ASan and Valgrind.")
{
    track_reset();
    gate g;
    gate_init(&g);
    wp_pool *p = make(1, 4);
    payload *slow = payload_new(0);
    slow->wait_for = &g;
    wp_handle *h_slow = submit_handle(p, slow);
    wp_handle *h_fast = submit_handle(p, payload_new(1));
    wp_handle_detach(h_slow); /* the task still holds its reference */
    gate_open(&g);
    int64_t r;
    ck_assert_int_eq(wp_join(submit_handle(p, payload_new(2)), &r), WP_OK);
    wp_handle_detach(h_fast); /* the task has let go already */
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(0, 2);
    gate_destroy(&g);
}

FT_TEST(3, join_after_shutdown_still_returns_the_result, 2,
        "A handle outlives its pool (it is reference-counted, not pool memory): after wp_pool_shutdown "
        "(WP_DRAIN) has freed the pool, joining gives the result the task left.")
{
    track_reset();
    wp_pool *p = make(2, 8);
    wp_handle *h[5];
    for (int i = 0; i < 5; i++)
        h[i] = submit_handle(p, payload_new(i));
    wp_pool_shutdown(p, WP_DRAIN);
    for (int i = 0; i < 5; i++) {
        int64_t r = -1;
        ck_assert_int_eq(wp_join(h[i], &r), WP_OK);
        ck_assert_int_eq(r, 1000 + i);
    }
}

/* A task that submits `fanout` children to its own pool. */
typedef struct parent {
    wp_pool *pool;
    int first_child, fanout;
} parent;

static int parent_run(void *arg, int64_t *result)
{
    parent *pa = arg;
    for (int i = 0; i < pa->fanout; i++)
        ck_assert_int_eq(wp_submit(pa->pool, &tracked_task, payload_new(pa->first_child + i), NULL), WP_OK);
    *result = 0;
    return 0;
}
static const wp_task_type parent_task = {parent_run, free, "parent"};

FT_TEST(3, wait_idle_returns_after_every_task_and_their_children, 2,
        "wp_pool_wait_idle is the end of a rayon::scope: it returns when every submitted task has finished, "
        "including tasks those tasks submitted. Count a task as outstanding from submit until after it ran.")
{
    track_reset();
    enum { PARENTS = 6, FANOUT = 30 };
    /* Room for every task at once: this test is about counting, so no parent finds the queue full and the test
     * passes whatever a worker does then (part 5's spawning_beyond_the_deque_capacity_runs_everything_once fills
     * a worker's deque on purpose). */
    wp_pool *p = make(2, PARENTS * (FANOUT + 1));
    for (int i = 0; i < PARENTS; i++) {
        parent *pa = malloc(sizeof *pa);
        ck_assert(pa != NULL);
        *pa = (parent){p, 100 + i * FANOUT, FANOUT};
        ck_assert_int_eq(wp_submit(p, &parent_task, pa, NULL), WP_OK);
    }
    wp_pool_wait_idle(p);
    for (int id = 100; id < 100 + PARENTS * FANOUT; id++)
        ck_assert_msg(atomic_load(&track_runs[id]) == 1, "child %d had run %d times when wait_idle returned", id,
                      atomic_load(&track_runs[id]));
    wp_pool_wait_idle(p); /* idle already: returns at once */
    wp_pool_shutdown(p, WP_DRAIN);
    ASSERT_RAN_ONCE(100, 100 + PARENTS * FANOUT - 1);
}
