/**
 * @file pool_internal.h
 * @brief Chapter 04, parts 2–5: the pool's private structs, its tuning constants, and what its four files share
 *        (reference solution).
 *
 * The prefix `wp_` stands for *worker pool*: every public name of the chapter carries it. The names declared here
 * carry none; they are private to the pool's files, and no test and no user of pool.h sees them.
 *
 * The pool is four files, one subsystem each:
 * - task.c    task memory (spare lists, returned stacks), and join handles: their creation, and the task's side;
 * - wakeup.c  idle workers: spinning, sleeping, and wake-ups that cannot be lost (the protocol is at its top);
 * - worker.c  the worker thread: where it looks for work, in which order, and its loop;
 * - pool.c    the pool itself: wp_pool_new(), wp_submit(), wp_try_submit(); wp_join(), wp_join_timeout() and
 *             wp_handle_detach(), the joiner's side of a handle; wp_pool_wait_idle(), wp_pool_shutdown().
 *
 * Where a task can be, from submit to free:
 *   injector (a wp_chan of wp_task values)  ->  a worker's deque  ->  running on a worker  ->  recycled
 * Every task is run or cancelled exactly once.
 *
 * Each struct says which thread may touch which field, and under which lock, as xv6's proc.h does: the C spelling
 * of Rust's `Send` and `Sync`. "The worker's thread" means that worker's own thread, or any thread once
 * wp_pool_shutdown() or wp_pool_new() has joined it.
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

/* ---- tuning ----------------------------------------------------------------------------------------------- */

enum {
    /** Slots in each worker's deque; a power of two, as wp_deque_init() wants. 256 pointers are 2 KiB, a corner of
     *  L1. A task that spawns more than that before any is stolen runs the rest on the spot, and by then its deque
     *  holds plenty for the thieves. Tokio's per-worker run queue has the same capacity. */
    LOCAL_CAP = 256,
    /** Most tasks a worker takes from the injector under one lock: the mutex is paid once per 32 tasks, and the
     *  batch (32 task values on the worker's stack, 1.3 KiB) fits in the worker's empty deque eight times over. */
    TAKE_BATCH = 32,
    /** Most extra tasks a thief moves to its own deque in one steal, besides the one it runs: half the victim's
     *  deque, capped like a batch from the injector, so the victim keeps half its work and the thief's empty deque
     *  never fills. */
    STEAL_BATCH = 32,
    /** Empty searches, each followed by sched_yield(), before an idle worker sleeps. A sleeper costs its waker a
     *  futex system call; 64 rounds (a yield takes a microsecond or two) keep a worker awake across a gap of about
     *  a tenth of a millisecond between tasks, and let an idle pool stop using the CPU soon after. Only the first
     *  half of the workers to spin (rounded up: MAX_SPINNERS) get all 64; a spinner beyond them sleeps after one
     *  empty search (worker.c). */
    SPIN_ROUNDS = 64,
    /** Tasks a busy worker finishes before it subtracts them from `outstanding`: one shared read-modify-write per
     *  64 tasks, not per task. The delay costs nothing: a worker also flushes as soon as it runs out of work, the
     *  only moment wp_pool_wait_idle() could return. */
    FLUSH_EVERY = 64,
    /** Tasks a worker adds to `outstanding` ahead of time for the tasks it submits: two workers spawning at once
     *  fight over that cache line once per 64 submits, not on each. Unused credit goes back at the next flush; the
     *  count is too high meanwhile, never too low, so wp_pool_wait_idle() may wait longer but never returns early. */
    CREDIT = 64,
};

/* ---- the structs ------------------------------------------------------------------------------------------ */

/** @brief What the pool is doing: wp_pool.state, which leaves POOL_RUNNING once and never comes back. */
enum pool_state {
    POOL_RUNNING,    /**< accepting and running tasks */
    POOL_DRAINING,   /**< wp_pool_shutdown(::WP_DRAIN): workers leave when no work is visible anywhere */
    POOL_CANCELLING, /**< wp_pool_shutdown(::WP_CANCEL), or a failed wp_pool_new(): workers leave at once */
};

/** @brief Where a handle's task stands: wp_handle.state, which leaves HANDLE_PENDING once. */
enum handle_state {
    HANDLE_PENDING,   /**< queued or running */
    HANDLE_DONE,      /**< `run` returned 0; `result` is its answer */
    HANDLE_FAILED,    /**< `run` returned a failure code, now in `result` */
    HANDLE_CANCELLED, /**< dropped unrun by a cancelling shutdown */
};

/** @brief The joiner's and the task's shared result slot (Rust: the `Arc<Packet<T>>` of a `JoinHandle`). */
struct wp_handle {
    /* lock must be held to read or write state and result. */
    pthread_mutex_t lock; /**< guards `state` and `result` */
    pthread_cond_t done;  /**< broadcast once, when `state` leaves HANDLE_PENDING; on CLOCK_MONOTONIC */
    int state;            /**< an ::handle_state; written once, by the thread that runs or cancels the task */
    int64_t result;       /**< the answer or the failure code; written with `state` */
    /* No lock: */
    atomic_int refs; /**< 2 while both the task and the joiner hold it; the last one to let go frees it */
};

/** @brief A submitted task: where it waits, a value in the injector or a pointer in a deque. */
typedef struct wp_task {
    /* Written by the submitter; then read by the one thread that runs or cancels the task. */
    const wp_task_type *type; /**< the vtable, borrowed */
    void *payload;            /**< owned by the task until `drop`; one thread at a time (`Send`) */
    wp_handle *handle;        /**< shared with the joiner, or NULL */
    /* Memory bookkeeping: */
    struct worker *home;  /**< the worker whose memory this is; NULL while it is a value in the injector */
    struct wp_task *next; /**< link on `home`'s spare list or returned stack; nothing elsewhere */
} wp_task;

/** @brief One worker: its thread, its deque and its task memory. */
struct worker {
    wp_deque local; /**< pushed and popped by the worker's thread only; stolen by any thread */
    /* Written by wp_pool_new() before the thread starts; read-only afterwards: */
    pthread_t thread; /**< joined by wp_pool_shutdown() */
    wp_pool *pool;    /**< the pool it belongs to */
    size_t index;     /**< its place in pool->workers: where its steals start */
    /* The worker's thread only: */
    size_t done_unflushed; /**< tasks finished but not yet subtracted from pool->outstanding */
    size_t credit;         /**< added to pool->outstanding ahead of time, not yet used by a submit */
    wp_task *spare;        /**< its finished tasks, ready for reuse */
    /* Any thread pushes (compare-and-swap, release); the worker's thread takes all at once (exchange, acquire): */
    _Alignas(WP_CACHE_LINE) _Atomic(wp_task *) returned; /**< its tasks, finished by other threads */
};

/** @brief The pool. Every worker reads the first cache line on every loop; a submit writes `idle` and
 *         `outstanding`. Sharing one line would make each submit cost every worker a miss, so each field that is
 *         written often gets a line of its own. */
struct wp_pool {
    /* Written by wp_pool_new() before any thread starts; read-only afterwards: */
    struct worker *workers; /**< `n` entries */
    size_t n;               /**< number of workers */
    /* Atomics, no lock: */
    atomic_int state; /**< an ::pool_state; set once by wp_pool_shutdown() (or a failed wp_pool_new()) */
    _Alignas(WP_CACHE_LINE) _Atomic uint64_t idle;     /**< sleepers * SLEEPER + spinners * SPINNER */
    _Alignas(WP_CACHE_LINE) atomic_size_t outstanding; /**< submitted minus finished (flushed in batches) */
    /* Its own lock: */
    _Alignas(WP_CACHE_LINE) wp_chan injector; /**< wp_task values submitted from outside */
    /* sleep_lock is held by a sleeper from its announcement in `idle` until it waits on `wake`. */
    pthread_mutex_t sleep_lock; /**< see wakeup.c */
    pthread_cond_t wake;        /**< sleeping workers wait here */
    /* all_done_lock is held to wait on all_done and to broadcast it; `outstanding` stays atomic. */
    pthread_mutex_t all_done_lock; /**< pairs with `all_done` */
    pthread_cond_t all_done;       /**< broadcast when `outstanding` drops to 0; wp_pool_wait_idle() waits here */
};

/** One spinner, in units of wp_pool.idle (its low 32 bits count spinners). */
#define SPINNER ((uint64_t)1)
/** One sleeper, in units of wp_pool.idle (its high 32 bits count sleepers). */
#define SLEEPER ((uint64_t)1 << 32)
/** The most workers of @p n that keep spinning; more would only take turns on the cores, and a worker waiting for
 *  its turn delays the task it could have run by a context switch. Half of them, rounded up (Tokio's rule). */
#define MAX_SPINNERS(n) (((n) + 1) / 2)
/** The number of spinners in a value of wp_pool.idle. */
/* clang-format off */
#define SPINNERS(idle) ((idle) & 0xffffffffu)
/* clang-format on */

/* ---- task.c: task memory and join handles ----------------------------------------------------------------- */

/**
 * @brief A new handle for one task: pending, with two references (the task's and the joiner's).
 * @return the handle (owned by both; each lets go once), or NULL when there is no memory.
 * @rust `Arc::new(Packet { result: None, .. })` in `std::thread::Builder::spawn`
 */
wp_handle *handle_new(void);

/**
 * @brief Frees @p h whatever its count: a handle no task ever saw (a failed submit), or the last owner's.
 * @param h the handle, consumed.
 * @rust dropping the last `Arc`
 */
void handle_free(wp_handle *h);

/**
 * @brief Lets go of one reference to @p h (the task's or the joiner's); the last one frees it.
 * @param h the handle; the caller must not touch it afterwards, whether or not it was freed.
 * @rust `impl Drop for Arc<T>`
 */
void handle_unref(wp_handle *h);

/**
 * @brief Memory for a task whose home is @p w: a spare task if it has one, else new memory.
 * @param w the calling thread's own worker.
 * @return a task owned by the caller until it is pushed or recycled, or NULL when there is no memory.
 * @rust `HeapJob::new` (rayon-core), which is `Box::new`, here from a per-worker free list
 */
wp_task *task_alloc(struct worker *w);

/**
 * @brief Gives a finished task's memory back to its home worker; @p t is invalid afterwards.
 * @rust dropping the `Box<HeapJob>`
 */
void task_recycle(wp_task *t);

/**
 * @brief Frees every task on the list that starts at @p t (a spare list or a returned stack).
 * @rust dropping a `Vec<Box<HeapJob>>`
 */
void task_free_list(wp_task *t);

/**
 * @brief Runs the task, drops its payload and reports to its handle; the memory holding @p t stays the caller's.
 * @rust `(this.job)()` inside `HeapJob::execute`, then the result stored for the `JoinHandle`
 */
void task_run(const wp_task *t);

/**
 * @brief Drops the payload unrun and reports ::WP_ERR_CANCELLED to the handle; the memory stays the caller's.
 * @rust dropping an unrun closure; Tokio's `JoinError` whose `is_cancelled()` is true
 */
void task_cancel(const wp_task *t);

/**
 * @brief task_run(), then task_recycle(): for a task that lives in a worker's memory.
 * @rust `HeapJob::execute`: `Box::from_raw`, call, and the `Box` dropped
 */
void task_run_and_recycle(wp_task *t);

/* ---- wakeup.c: idle workers and wake-ups ------------------------------------------------------------------ */

/**
 * @brief After a push on a deque: wakes one sleeper unless a spinner will find the task. Never misses a sleeper.
 * @rust `Sleep::new_internal_jobs` (rayon-core)
 */
void wake_one(wp_pool *p);

/**
 * @brief After a send into the injector: as wake_one(), with a load instead of a read-modify-write.
 * @rust `Sleep::new_injected_jobs` (rayon-core)
 */
void wake_one_after_send(wp_pool *p);

/**
 * @brief Whether any task waits in the injector or in any deque, at some instant during the call.
 * @rust `Registry::has_injected_job` plus a look at every `Stealer`
 */
bool work_visible(wp_pool *p);

/**
 * @brief Called by a spinner that found nothing: sleeps unless work is visible or the pool is stopping, and comes
 *        back a spinner. With @p only_if_surplus, only while more than MAX_SPINNERS workers spin.
 * @return whether it announced itself a sleeper; false only with @p only_if_surplus, having changed nothing.
 * @rust `Sleep::sleep` (rayon-core)
 */
bool sleep_until_work(wp_pool *p, bool only_if_surplus);

/**
 * @brief Called by a spinner that found a task: it stops spinning and, if it was the last one searching while a
 *        worker sleeps, wakes that worker when work is still visible.
 * @rust `Sleep::work_found` (rayon-core)
 */
void stop_spinning(wp_pool *p);

/* ---- worker.c: the worker thread -------------------------------------------------------------------------- */

/** The worker the calling thread is, or NULL; per thread, and checked against the pool: not a global switch. */
extern _Thread_local struct worker *current_worker;

/**
 * @brief A worker thread's body: find a task, run it, repeat; spin, then sleep, when there is none.
 * @param arg the thread's struct worker, borrowed for the thread's lifetime.
 * @return NULL, once the pool is cancelling, or draining with no work visible.
 * @rust `WorkerThread::wait_until_cold` (rayon-core), the loop of every rayon worker
 */
void *worker_main(void *arg);

/* ---- pool.c: the pool ------------------------------------------------------------------------------------- */

/**
 * @brief Subtracts @p count finished (or never submitted) tasks from `outstanding`, and wakes
 *        wp_pool_wait_idle() when it drops to 0.
 * @rust the counter of a `rayon::Scope`'s `CountLatch`
 */
void subtract_outstanding(wp_pool *p, size_t count);

#endif
