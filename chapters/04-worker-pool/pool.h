/**
 * @file pool.h
 * @brief Chapter 04, parts 2–5: a worker pool with backpressure, join handles, shutdown-as-drop and work stealing.
 *
 * The prefix `wp_` stands for *worker pool*; every public name of the chapter carries it.
 *
 * A ::wp_pool runs tasks on `n` threads of its own. Tasks submitted from outside go through a bounded channel
 * (channel.h), the *injector*: when it is full, wp_submit() waits — that is backpressure, the reason the study
 * chose a bounded channel. Tasks submitted by a running task go to that worker's own deque (deque.h), and idle
 * workers steal from the others.
 *
 * **Tasks own their payload** (Rust: the closure is `FnOnce + Send + 'static`). A task is a ::wp_task_type (a
 * vtable: run and drop) plus a `void *payload`. Once wp_submit() returns ::WP_OK the pool owns the payload and
 * calls `drop` on it exactly once: after `run` returns, or without running it when the pool is shut down with
 * ::WP_CANCEL. When a submit fails, the caller still owns the payload. A payload is touched by one thread at a
 * time — the submitter before the submit, one worker after — so it needs no lock of its own (`Send`, not `Sync`).
 *
 * **Join handles.** A task submitted with a non-NULL `handle` argument reports its result there. A handle is
 * reference-counted (Rust's `Arc` around a `Packet`): it stays valid after its pool is gone, until it is joined
 * or detached. A task's failure (its `run` returns non-zero) reaches the joiner as ::WP_ERR_TASK_FAILED with the
 * failure code; a task that never ran reaches it as ::WP_ERR_CANCELLED.
 *
 * **No global state.** Everything a pool uses lives in its ::wp_pool; two pools never affect each other. The only
 * thread-local is "which worker am I", and a pool trusts it only when that worker belongs to it.
 *
 * **Threads.** A pool's functions may be called from any thread, except wp_pool_shutdown() and
 * wp_pool_wait_idle(), which must not be called from one of that pool's own tasks (it would wait for itself:
 * the pool detects it and aborts). wp_pool_shutdown() consumes the pool: no other thread may be using it then.
 */
#ifndef FERRITE_POOL_H
#define FERRITE_POOL_H

#include "channel.h"
#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief What a task does: the vtable shared by every task of one kind.
 *
 * `run` is called at most once per payload, on a worker thread. It returns 0 on success with its answer in
 * `*result`, or a non-zero failure code (the C spelling of a panic: the pool keeps going and the joiner hears of
 * it). `run` must not free the payload: the pool calls `drop` right after. `drop` may be NULL when the payload owns
 * nothing. A ::wp_task_type is borrowed by every task that uses it and must outlive them (a `static const`).
 * @rust `F: FnOnce() -> Result<T, E> + Send + 'static` — `run` is the call, `drop` the closure's drop glue
 */
typedef struct wp_task_type {
    int (*run)(void *payload, int64_t *result); /**< does the work; 0 or a failure code */
    void (*drop)(void *payload);                /**< frees the payload exactly once; may be NULL */
    const char *name;                           /**< for messages; may be NULL */
} wp_task_type;

/**
 * @brief A pool of worker threads. Opaque; created by wp_pool_new(), consumed by wp_pool_shutdown().
 * @rust `rayon::ThreadPool`; the study's `WorkerPool { workers: Vec<JoinHandle<()>>, sender: Sender<Task> }`
 */
typedef struct wp_pool wp_pool;

/**
 * @brief The joiner's end of one task's result. Opaque; consumed by wp_join() or wp_handle_detach().
 * @rust `std::thread::JoinHandle<T>`, `tokio::task::JoinHandle<T>`
 */
typedef struct wp_handle wp_handle;

/**
 * @brief How wp_pool_shutdown() treats tasks that have not started.
 * @rust no `Drop` parameter exists in Rust; rayon's pool drains on drop, Tokio's runtime cancels
 */
typedef enum wp_shutdown {
    WP_DRAIN,  /**< run every task already submitted, then stop */
    WP_CANCEL, /**< run none that has not started: drop their payloads, their handles say ::WP_ERR_CANCELLED */
} wp_shutdown;

/* ---- part 2: the pool ------------------------------------------------------------------------------------ */

/**
 * @brief Starts a pool of @p n_workers threads whose injector holds up to @p queue_cap waiting tasks.
 * @param[out] out receives the pool (the caller owns it; release it with wp_pool_shutdown()); untouched on error.
 * @param n_workers threads to start, at least 1: with 0 every submit would wait forever.
 * @param queue_cap capacity of the injector channel, at least 1.
 * @return ::WP_OK, ::WP_ERR_INVAL or ::WP_ERR_NOMEM (no memory or no thread; nothing is left running).
 * @rust `rayon::ThreadPoolBuilder::new().num_threads(n).build()` → `Result<ThreadPool, ThreadPoolBuildError>`
 */
FT_MUST_USE wp_status wp_pool_new(wp_pool **out, size_t n_workers, size_t queue_cap);

/**
 * @brief The number of worker threads.
 * @rust `ThreadPool::current_num_threads`
 */
size_t wp_pool_workers(const wp_pool *p);

/**
 * @brief Submits a task, waiting while the injector is full (backpressure).
 *
 * Called from one of @p p's own tasks, it never waits: the task goes to that worker's deque or, when that is
 * full, runs at once on the calling thread (a full deque already holds plenty for idle workers to steal).
 * @param p the pool.
 * @param type the task's vtable, borrowed; `type->run` must not be NULL.
 * @param payload moved into the pool on ::WP_OK; the caller keeps it on any error.
 * @param[out] handle receives a handle to join (the caller owns it), or NULL for a detached task.
 * @return ::WP_OK, ::WP_ERR_CLOSED (the pool is being shut down), ::WP_ERR_INVAL or ::WP_ERR_NOMEM.
 * @rust `Sender::send(Box::new(task))`, `rayon::ThreadPool::spawn`, `tokio::spawn` → `JoinHandle<T>`
 */
FT_MUST_USE wp_status wp_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle);

/**
 * @brief As wp_submit(), but returns ::WP_ERR_FULL instead of waiting for room in the injector.
 * @return ::WP_OK, ::WP_ERR_FULL, ::WP_ERR_CLOSED, ::WP_ERR_INVAL or ::WP_ERR_NOMEM (caller keeps the payload).
 * @rust `Sender::try_send` → `Err(TrySendError::Full(task))`
 */
FT_MUST_USE wp_status wp_try_submit(wp_pool *p, const wp_task_type *type, void *payload, wp_handle **handle);

/* ---- part 3: join handles -------------------------------------------------------------------------------- */

/**
 * @brief Waits for the task to finish and consumes @p h.
 * @param h a handle from wp_submit(); invalid after this call.
 * @param[out] result on ::WP_OK the task's answer; on ::WP_ERR_TASK_FAILED its failure code; may be NULL.
 * @return ::WP_OK, ::WP_ERR_TASK_FAILED or ::WP_ERR_CANCELLED.
 * @rust `JoinHandle::join` → `Result<T, Box<dyn Any + Send>>`
 */
FT_MUST_USE wp_status wp_join(wp_handle *h, int64_t *result);

/**
 * @brief As wp_join(), but gives up after @p timeout_ms milliseconds.
 * @return as wp_join() (and @p h is consumed), or ::WP_ERR_TIMEOUT: the task is still running or queued, and the
 *         caller still owns @p h (join it again, or detach it).
 * @rust `tokio::time::timeout(d, handle)`; `std::sync::mpsc::Receiver::recv_timeout` on a result channel
 */
FT_MUST_USE wp_status wp_join_timeout(wp_handle *h, uint32_t timeout_ms, int64_t *result);

/**
 * @brief Gives up interest in the result and consumes @p h; the task still runs.
 * @rust `drop(join_handle)` — the thread or task is detached, not stopped
 */
void wp_handle_detach(wp_handle *h);

/**
 * @brief Waits until every task submitted so far, and every task those tasks submitted, has finished.
 *
 * Must not be called from one of @p p's own tasks (aborts). Tasks submitted while it waits may or may not be
 * waited for.
 * @rust the end of `rayon::scope(|s| ...)`, which returns once every `s.spawn` has run
 */
void wp_pool_wait_idle(wp_pool *p);

/* ---- part 4: shutdown ------------------------------------------------------------------------------------ */

/**
 * @brief Stops the pool, joins every worker thread and frees the pool (Rust's `Drop`).
 *
 * New submissions from outside fail with ::WP_ERR_CLOSED from the moment shutdown begins. With ::WP_DRAIN every
 * task already submitted runs (and tasks they submit run too); with ::WP_CANCEL tasks already running finish, the
 * others are dropped unrun and their handles report ::WP_ERR_CANCELLED. Either way it returns only after every
 * thread of the pool has exited. Handles stay valid.
 * @param p the pool, consumed: invalid after this call. Must not be called from one of its own tasks (aborts).
 * @param mode ::WP_DRAIN or ::WP_CANCEL; debug builds of the reference solution assert it is one of the two.
 * @rust `impl Drop for WorkerPool { fn drop(&mut self) { drop(self.sender.take()); for w in .. { w.join() } } }`
 */
void wp_pool_shutdown(wp_pool *p, wp_shutdown mode);

#endif
