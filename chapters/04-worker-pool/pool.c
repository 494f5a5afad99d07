/*
 * pool.c — chapter 04, parts 2–4: the pool: create, submit, join, wait until idle, shut down.   (exercise skeleton)
 *
 * Read pool_internal.h first: it has the plan of the pool's four files, the two passes to build them in, and the
 * structs they share. Every function below is yours. Each returns a neutral value so the file compiles and the
 * tests run.
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
    /* TODO: n_workers == 0 or queue_cap == 0 -> WP_ERR_INVAL with *out untouched (the study's pool would accept
     * 0 and hang at the first submit). Allocate the pool, init the queue (wp_chan_init with elem_size
     * sizeof(wp_task *)), the workers, locks and condition variables, then pthread_create each worker. If any
     * step fails, undo the ones before (stop and join the threads already started) and return WP_ERR_NOMEM.
     * Rust: ThreadPoolBuilder::build returns a Result. Trap: any `static` flag here is shared by every pool. */
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
    /* TODO: refuse a NULL type or run with WP_ERR_INVAL. malloc a task (and a handle with refs = 2 when handle
     * is not NULL). Count it as outstanding. From outside the pool: wp_chan_send (it blocks while full: that is
     * the backpressure), then wake a sleeping worker. From one of p's own tasks: never block — push on this
     * worker's deque, or, if it is full, run the task right here. On any failure free what you
     * allocated, un-count it, and return the error: the payload is still the caller's (TrySendError gives the
     * value back). Rust: Sender::send(Box::new(task)), tokio::spawn -> JoinHandle. */
    (void)p;
    (void)type;
    (void)payload;
    (void)handle;
    return WP_ERR_TODO;
}

wp_status wp_try_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle)
{
    /* TODO: as wp_submit, with wp_chan_try_send: WP_ERR_FULL instead of waiting. Share one implementation. */
    (void)p;
    (void)type;
    (void)payload;
    (void)handle;
    return WP_ERR_TODO;
}

/* ---- part 3: join handles -------------------------------------------------------------------------------- */

wp_status wp_join(wp_handle *h, int64_t *result)
{
    /* TODO: lock the handle; `while (state == pending)` wait; copy the state and result; unlock; drop our
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
    /* TODO: as wp_join with pthread_cond_timedwait and one absolute deadline (the handle's condition variable
     * needs CLOCK_MONOTONIC too). On timeout return WP_ERR_TIMEOUT and keep the reference: the caller still owns
     * the handle. */
    (void)h;
    (void)timeout_ms;
    (void)result;
    return WP_ERR_TODO;
}

void wp_handle_detach(wp_handle *h)
{
    /* TODO: drop the caller's reference. Rust: dropping a JoinHandle detaches, it does not cancel. */
    (void)h;
}

void wp_pool_wait_idle(wp_pool *p)
{
    /* TODO: abort() with a message if called from one of p's own tasks. Otherwise wait on all_done while the
     * outstanding count is not zero; whoever brings it to zero locks all_done_lock, broadcasts, unlocks.
     * Rust: the end of rayon::scope. */
    (void)p;
}

/* ---- part 4: shutdown ------------------------------------------------------------------------------------ */

void wp_pool_shutdown(wp_pool *p, wp_shutdown mode)
{
    /* TODO: abort() with a message if called from one of p's own tasks (it would join itself). Set the state
     * (draining or cancelling), close the queue (outside submits now fail with WP_ERR_CLOSED), then lock the
     * sleep lock and pthread_cond_broadcast: every sleeping worker must wake and see it. pthread_join every
     * worker. Draining workers leave only when no work is left anywhere; cancelling ones leave after their
     * current task. Then, single-threaded again, cancel what is left in the queue and the deques: drop each
     * payload, set each handle to cancelled. Free everything. Rust: impl Drop for WorkerPool — drop the sender,
     * join every worker. Traps: signal instead of broadcast (shutdown hangs with idle workers), a flag set
     * outside the lock between a worker's check and its wait (same hang, rarer), a global flag (stops every
     * pool). */
    (void)p;
    (void)mode;
}
