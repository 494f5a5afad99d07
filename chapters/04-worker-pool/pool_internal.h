/**
 * @file pool_internal.h
 * @brief Chapter 04, parts 2–5: the pool's private structs and what its four files share.   (exercise skeleton)
 *
 * The prefix `wp_` stands for *worker pool*: every public name of the chapter carries it. The names declared here
 * carry none; they are private to the pool's files, and no test and no user of pool.h sees them.
 *
 * **This header is yours**, like the .c files: chapter.conf lists it under `sources`, and your .c files include
 * your copy. The structs and functions below are a suggestion that fits the TODOs; change them as your design
 * needs (the reference solution's differ: its injector holds tasks by value, and idle workers spin before they
 * sleep). Read this comment first, then the TODOs in the order of the parts.
 *
 * The pool is four files, one subsystem each:
 * - task.c    tasks and join handles: make a handle, run or cancel a task and report to its handle, free both;
 * - wakeup.c  idle workers: how they sleep, and how a new task wakes one without ever losing the wakeup;
 * - worker.c  the worker thread: where it looks for work, and its loop;
 * - pool.c    the pool itself: wp_pool_new(), wp_submit(), wp_try_submit(); wp_join(), wp_join_timeout() and
 *             wp_handle_detach(), the joiner's side of a handle; wp_pool_wait_idle(), wp_pool_shutdown().
 *
 * Build it in two passes. First the version that works (parts 2–4): one wp_chan of `wp_task *` that every
 * worker receives from — the study's design with an MPMC channel instead of a shared mpsc receiver, and
 * without its 100 ms sleep per task. A task that submits to its own pool uses the same queue without waiting
 * (wp_chan_try_send), and runs the new task itself when the queue is full. Part 2 writes the pool, the worker
 * loop, the wake-ups and running a task; part 3 adds the handles and the `outstanding` count; part 4 the
 * cancelling half of shutdown. Each function's TODO says which part adds what. Then the fast one (part 5): give
 * each worker a wp_deque, let workers take tasks from the channel in batches (wp_chan_try_recv_many) onto their
 * deque, push tasks submitted from inside a task onto the submitting worker's deque, and let idle workers steal.
 *
 * Where a task can be, from submit to free:  queue -> (a worker's deque) -> running -> freed.
 * Every task is run or cancelled exactly once, and its payload dropped exactly once either way.
 *
 * Each struct says which thread may touch which field, and under which lock, as xv6's proc.h does: the C spelling
 * of Rust's `Send` and `Sync`. Keep those comments true when you change a struct.
 */
#ifndef FERRITE_POOL_INTERNAL_H
#define FERRITE_POOL_INTERNAL_H

#include "deque.h"
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the structs (yours to change) ----------------------------------------------------------------------- */

/** @brief A submitted task, one malloc per submit. */
typedef struct wp_task {
    /* Written by the submitter; then read by the one thread that runs or cancels the task. */
    const wp_task_type *type; /**< the vtable, borrowed */
    void *payload;            /**< owned by the task until `drop`; one thread at a time (`Send`) */
    wp_handle *handle;        /**< shared with the joiner, or NULL */
} wp_task;

/** @brief The joiner's and the task's shared result slot (Rust: the `Arc<Packet<T>>` of a `JoinHandle`). */
struct wp_handle {
    /* No lock: */
    atomic_int refs; /**< 2 while both the task and the joiner hold it; the last one to let go frees it */
    /* lock must be held to read or write state and result. */
    pthread_mutex_t lock; /**< guards `state` and `result` */
    pthread_cond_t done;  /**< broadcast when `state` leaves pending; on CLOCK_MONOTONIC for timed joins */
    int state;            /**< pending, then done, failed or cancelled (an enum of yours); written once */
    int64_t result;       /**< the answer or the failure code; written with `state` */
};

/** @brief One worker thread. */
struct worker {
    wp_deque local; /**< part 5 (unused before): pushed and popped by this worker's thread only; stolen by any */
    /* Written by wp_pool_new() before the thread starts; read-only afterwards: */
    pthread_t thread; /**< joined by wp_pool_shutdown() */
    wp_pool *pool;    /**< the pool it belongs to */
    size_t index;     /**< its place in pool->workers: where its steals start */
};

/** @brief The pool. */
struct wp_pool {
    /* Written by wp_pool_new() before any thread starts; read-only afterwards: */
    struct worker *workers; /**< `n` entries */
    size_t n;               /**< number of workers */
    /* Its own lock: */
    wp_chan queue; /**< `wp_task *`: every task in parts 2–4; from part 5, the tasks submitted from outside */
    /* Atomics, no lock: */
    atomic_int state;          /**< running, then draining or cancelling (an enum of yours); set once */
    atomic_size_t sleepers;    /**< workers between their announcement and the end of their wait */
    atomic_size_t outstanding; /**< part 3: tasks submitted and not yet finished */
    /* sleep_lock is held by a sleeper from its announcement until it waits on `wake`: */
    pthread_mutex_t sleep_lock; /**< see wakeup.c */
    pthread_cond_t wake;        /**< sleeping workers wait here */
    /* Part 3. all_done_lock is held to wait on all_done and to broadcast it: */
    pthread_mutex_t all_done_lock; /**< pairs with `all_done` */
    pthread_cond_t all_done;       /**< broadcast when `outstanding` drops to 0; wp_pool_wait_idle() waits here */
};

/* ---- what the files share -------------------------------------------------------------------------------- */

/** The worker the calling thread is, or NULL. Set by each worker thread; wp_submit() compares its `pool` with its
 *  argument to know whether it is called from inside that pool. Per thread: not a global switch. */
extern _Thread_local struct worker *current_worker;

/*
 * Below, the functions one file offers the others, in the order task.c, wakeup.c, worker.c; each has a stub with
 * a TODO there. Declare here whatever else you add. Helpers worth having, and where they fit:
 *   task.c    (part 3) wp_handle *handle_new(void): pending, refs = 2, its condition variable on CLOCK_MONOTONIC;
 *             void handle_free(wp_handle *h), for a handle no task ever saw (a failed submit) and for the last
 *             owner; void handle_unref(wp_handle *h): refs -= 1 (acq_rel), and the last one frees.
 *   wakeup.c  bool work_visible(wp_pool *p): does the queue (from part 5: or any deque) hold a task right now?
 *   pool.c    (part 3) counting `outstanding` down, and waking wp_pool_wait_idle() at zero.
 */

/**
 * @brief Runs the task, drops its payload, reports to its handle (from part 3), frees @p t (invalid afterwards).
 * @rust `HeapJob::execute` (rayon-core): take the `Box` back, call the `FnOnce`, drop the `Box`
 */
void task_run_and_free(wp_task *t);

/**
 * @brief Part 4: drops the payload unrun, reports ::WP_ERR_CANCELLED to the handle, frees @p t (invalid
 *        afterwards).
 * @rust dropping an unrun closure; Tokio's `JoinError` whose `is_cancelled()` is true
 */
void task_cancel_and_free(wp_task *t);

/**
 * @brief After a task is published: wakes one sleeping worker if there is one. Must never miss one.
 * @rust `Sleep::new_internal_jobs` (rayon-core)
 */
void wake_one(wp_pool *p);

/**
 * @brief Called by a worker that found no task: sleeps on `wake` unless work is visible or the pool is stopping.
 *        It may return with nothing to do; the caller searches again.
 * @rust `Sleep::sleep` (rayon-core)
 */
void sleep_until_work(wp_pool *p);

/**
 * @brief A worker thread's body: find a task, run it, repeat; sleep when there is none.
 * @param arg the thread's struct worker, borrowed for the thread's lifetime.
 * @return NULL, once the pool is cancelling, or draining with no work left.
 * @rust the closure each thread of the study's pool runs: `loop { match rx.lock().unwrap().recv() { .. } }`
 */
void *worker_main(void *arg);

#endif
