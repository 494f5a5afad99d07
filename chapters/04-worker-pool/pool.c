/*
 * pool.c — chapter 04, parts 2–5: the worker pool.   (exercise skeleton)
 *
 * Every function below is yours. Each returns a neutral value so the file compiles and the tests run.
 *
 * Build it in two passes. First the version that works (parts 2–4): one wp_chan of `wp_task *` that every
 * worker receives from — the study's design with an MPMC channel instead of a shared mpsc receiver, and
 * without its 100 ms sleep per task. Then the fast one (part 5): give each worker a wp_deque, let workers take
 * tasks from the channel in batches (wp_chan_try_recv_many) onto their deque, push tasks submitted from inside a
 * task onto the submitting worker's deque, and let idle workers steal.
 *
 * Where a task can be, from submit to free:  queue -> (a worker's deque) -> running -> freed.
 * Every task is run or cancelled exactly once, and its payload dropped exactly once either way.
 *
 * Suggested private types (the structs below are yours to change):
 *   wp_task    { const wp_task_type *type; void *payload; wp_handle *handle; }  one malloc per submit
 *   worker     { wp_deque local; pthread_t thread; wp_pool *pool; size_t index; }
 *   wp_handle  { mutex; cond; state (pending/done/failed/cancelled); int64_t result; atomic_int refs; }
 *   wp_pool    { wp_chan queue; worker *workers; size_t n; atomic_int state (running/draining/cancelling);
 *                sleep lock + cond + atomic sleepers count; atomic outstanding count + idle lock + cond }
 * A `static _Thread_local struct worker *current_worker` set by each worker thread tells wp_submit whether it is
 * called from inside the pool — compare its `pool` with the argument; it is not a global switch.
 *
 * Idle workers sleep on the pool's condition variable (they must also wake for tasks pushed on *another*
 * worker's deque, so they cannot simply block in wp_chan_recv once part 5 is in). Without losing a wakeup:
 *   sleeper: lock; sleepers += 1 (seq_cst); look for work; if none and still running, wait; sleepers -= 1; unlock
 *   waker:   publish the task; if (atomic_fetch_add(&sleepers, 0) > 0) { lock; signal; unlock; }
 * and shutdown: set the state, then lock, *broadcast*, unlock.
 */
#define _POSIX_C_SOURCE 200809L
#include "deque.h"
#include "pool.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct wp_handle {
    int todo; /* TODO: the shared result slot: lock, condition variable, state, result, reference count */
};

struct wp_pool {
    size_t n; /* TODO: the queue, the workers, the state, the sleep and idle machinery */
};

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
    /* TODO: abort() with a message if called from one of p's own tasks. Otherwise wait on the idle condition
     * variable while the outstanding count is not zero; whoever brings it to zero locks, broadcasts, unlocks.
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
