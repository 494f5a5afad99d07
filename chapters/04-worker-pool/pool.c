/*
 * pool.c — chapter 04, parts 2–5: the pool: create, submit, join, wait until idle, shut down.   (exercise skeleton)
 *
 * Read pool_internal.h first: it has the plan of the pool's four files, the two passes to build them in, and the
 * structs they share. Every function below is yours. Each returns a neutral value so the file compiles and the
 * tests run.
 *
 * Some functions grow over the parts; their TODOs say what each part adds. Part 2 writes a first
 * wp_pool_shutdown() that only drains, because every test from part 2 on shuts its pool down with WP_DRAIN;
 * part 4 completes it.
 */
#define _POSIX_C_SOURCE 200809L
#include "pool_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* ---- part 2: the pool ------------------------------------------------------------------------------------ */

wp_status wp_pool_new(wp_pool **out, size_t n_workers, size_t queue_cap)
{
    /* TODO (part 2): n_workers == 0 or queue_cap == 0 -> WP_ERR_INVAL with *out untouched (the study's pool would
     * accept 0 and hang at the first submit). Allocate the pool, init the queue (wp_chan_init with elem_size
     * sizeof(wp_task *)), the state, the counters, locks and condition variables, then set each worker's `pool`
     * and `index` and pthread_create it. If any step fails, undo the ones before (stop and join the threads
     * already started) and return WP_ERR_NOMEM. Part 5 adds: wp_deque_init each worker's deque before the
     * threads start. Rust: ThreadPoolBuilder::build returns a Result. Trap: any `static` flag here is shared by
     * every pool. */
    (void)out;
    (void)n_workers;
    (void)queue_cap;
    return WP_ERR_TODO;
}

size_t wp_pool_workers(const wp_pool *p)
{
    /* TODO: the number of workers. */
    (void)p;
    return 0;
}

wp_status wp_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    /* TODO (part 2): refuse a NULL type or run with WP_ERR_INVAL. malloc a task. From outside the pool:
     * wp_chan_send (it blocks while full: that is the backpressure), then wake_one. From one of p's own tasks
     * (current_worker is a worker of p): never block, since the worker that would drain the queue may be this
     * one — wp_chan_try_send and wake_one, or, when the queue is full, run the task right here. On any failure
     * free what you allocated and return the error: the payload is still the caller's (TrySendError gives the
     * value back).
     * Part 3 adds: when handle is not NULL, a handle with refs = 2, stored in the task and in *handle on success
     * (freed on failure); and the task counted in `outstanding` before anyone can see it (un-counted on failure).
     * Part 5 changes the inside case: push on this worker's deque, or, if it is full, run the task right here.
     * Rust: Sender::send(Box::new(task)), tokio::spawn -> JoinHandle. */
    (void)p;
    (void)type;
    (void)payload;
    (void)handle;
    return WP_ERR_TODO;
}

wp_status wp_try_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    /* TODO (part 2): as wp_submit, with wp_chan_try_send: WP_ERR_FULL instead of waiting. Share one
     * implementation. */
    (void)p;
    (void)type;
    (void)payload;
    (void)handle;
    return WP_ERR_TODO;
}

/* ---- part 3: join handles -------------------------------------------------------------------------------- */

wp_status wp_join(wp_handle *h, int64_t *result)
{
    /* TODO (part 3): lock the handle; `while (state == pending)` wait; copy the state and result; unlock; drop our
     * reference (the last one frees the handle). Done -> WP_OK with the result, failed -> WP_ERR_TASK_FAILED
     * with the failure code in *result, cancelled -> WP_ERR_CANCELLED. The worker side: after run returns and
     * the payload is dropped, lock, set state and result, broadcast, unlock, drop its reference.
     * Rust: JoinHandle::join returns Err(payload) for a panicked thread — failure is never silent. */
    (void)h;
    (void)result;
    return WP_ERR_TODO;
}

wp_status wp_join_timeout(wp_handle *h, uint32_t timeout_ms, int64_t *result)
{
    /* TODO (part 3): as wp_join with pthread_cond_timedwait and one absolute deadline (the handle's condition variable
     * needs CLOCK_MONOTONIC too). On timeout return WP_ERR_TIMEOUT and keep the reference: the caller still owns
     * the handle. */
    (void)h;
    (void)timeout_ms;
    (void)result;
    return WP_ERR_TODO;
}

void wp_handle_detach(wp_handle *h)
{
    /* TODO (part 3): drop the caller's reference. Rust: dropping a JoinHandle detaches, it does not cancel. */
    (void)h;
}

void wp_pool_wait_idle(wp_pool *p)
{
    /* TODO (part 3): abort() with a message if called from one of p's own tasks. Otherwise wait on all_done
     * while the outstanding count is not zero; whoever brings it to zero (the worker, after a task has run)
     * locks all_done_lock, broadcasts, unlocks. Rust: the end of rayon::scope. */
    (void)p;
}

/* ---- parts 2 and 4: shutdown ----------------------------------------------------------------------------- */

void wp_pool_shutdown(wp_pool *p, wp_shutdown mode)
{
    /* TODO (part 2, the first version, which always drains): set the state to draining, close the queue (outside
     * submits now fail with WP_ERR_CLOSED), then lock the sleep lock and pthread_cond_broadcast: every sleeping
     * worker must wake and see the state. pthread_join every worker; a draining worker leaves only when no work
     * is left, so the queue is empty afterwards. Free everything.
     * Part 4 completes it: abort() with a message if called from one of p's own tasks (it would join itself).
     * WP_CANCEL sets the state to cancelling instead, and workers leave after their current task. After the
     * join, single-threaded again, cancel what is left in the queue (and, from part 5, in the deques) with
     * task_cancel_and_free: each payload dropped, each handle cancelled.
     * Rust: impl Drop for WorkerPool — drop the sender, join every worker. Traps: signal instead of broadcast
     * (shutdown hangs with idle workers), a broadcast sent without the sleep lock, which can land between a
     * worker's check of the state and its wait (same hang, rarer), a global flag (stops every pool). */
    (void)p;
    (void)mode;
}
