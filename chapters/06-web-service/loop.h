/**
 * @file loop.h
 * @brief Chapter 06, given code: the event loop each worker thread runs (epoll, timers, tasks posted from anywhere).
 *
 * **Prefix.** `ws_`, as in http.h. This file is given: read it, do not write it. It is chapter 03's reactor grown
 * the two things a service needs besides readiness: one-shot timers (a checkout deadline, a reconnect backoff) and
 * a queue of tasks that any thread may post to (a connection handed back by another worker). One loop belongs to
 * one thread, the one that calls ws_loop_run(); every function here must be called on that thread, except
 * ws_loop_post() and ws_loop_stop(), which any thread may call.
 *
 * **Error convention** (this file only): a fallible function returns 0 or a negative errno (`-ENOMEM`, `-ENOSPC`,
 * `-EEXIST`...), as chapter 03 does; the database and the pool use ::ws_db_status (db.h).
 *
 * **Level-triggered.** A watched fd is reported on every turn while it is ready and asked for, so a callback that
 * cannot use an event must change its interest with ws_loop_modify() or the loop spins.
 *
 * **Ownership.** The loop borrows every ::ws_watch and ::ws_timer: each stays at the same address and alive until it
 * is unwatched or has fired or been cancelled. The loop never closes a watched fd: unwatch, then close. Posted
 * tasks are copied into the loop's queue; their `ctx` stays the poster's business.
 */
#ifndef FERRITE_LOOP_H
#define FERRITE_LOOP_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** @brief Readiness bits: what a watch asks for and what its callback is told. */
enum ws_ready {
    WS_READABLE = 1u << 0, /**< data or end of file can be read @rust `Interest::READABLE` */
    WS_WRITABLE = 1u << 1, /**< a write would not block @rust `Interest::WRITABLE` */
    WS_HANGUP = 1u << 2,   /**< told only: the peer hung up @rust `Ready::is_read_closed()` */
    WS_FAILED = 1u << 3,   /**< told only: an error is pending on the socket @rust `Ready::is_error()` */
};

/** Most timers armed at once on one loop (the heap is a fixed array): ws_loop_timer_start() says -ENOSPC past it. */
#define WS_TIMERS_MAX 1024

/**
 * @brief One event loop: an epoll instance, its timers and its task queue; opaque, made by ws_loop_create().
 * @rust `tokio::runtime::Runtime` (current-thread flavour) and its `Handle`
 */
typedef struct ws_loop ws_loop;
typedef struct ws_watch ws_watch;

/**
 * @brief Called on the loop's thread when @p w is ready; it may modify, unwatch or free any watch, itself included.
 * @rust the waker of the task that owns a mio registration
 */
typedef void ws_watch_fn(ws_watch *w, uint32_t ready);

/**
 * @brief A task or timer callback: runs on the loop's thread, once.
 * @rust the `FnOnce() + Send` a `tokio::runtime::Handle::spawn` takes
 */
typedef void ws_task_fn(void *ctx);

/**
 * @brief One watched fd, embedded in its owner (find the owner with offsetof, as chapter 03's AE_CONTAINER_OF).
 * @rust `mio::event::Source` registered with a `Token`
 */
struct ws_watch {
    int fd;               /**< read-only: the watched fd, -1 when not watched */
    uint32_t interest;    /**< read-only: WS_READABLE / WS_WRITABLE bits epoll watches for */
    ws_watch_fn *on_kick; /**< the owner's callback */
};

/**
 * @brief One one-shot timer, embedded in its owner. Zero it (or ws_timer_init()) before first use.
 * @rust `tokio::time::Sleep`, pinned in the task that awaits it
 */
typedef struct ws_timer {
    uint64_t due_ms; /**< read-only: when it fires, on ws_loop_now_ms()'s clock */
    uint64_t seq;    /**< private: arming order, so two timers due at once fire in the order armed */
    size_t slot;     /**< private: index in the loop's heap, or SIZE_MAX when not armed */
    ws_task_fn *fn;  /**< private: what to call */
    void *ctx;       /**< private: its argument */
} ws_timer;

/**
 * @brief Makes @p t an unarmed timer (a zeroed timer is taken as unarmed too).
 * @rust `Option<Sleep>::None`
 */
void ws_timer_init(ws_timer *t);

/**
 * @brief Whether @p t is armed on some loop.
 * @rust `!sleep.is_elapsed()` on a live `Sleep`
 */
bool ws_timer_armed(const ws_timer *t);

/**
 * @brief Creates a loop: an epoll instance, an eventfd that wakes it, an empty timer heap and task queue.
 * @param[out] out the new loop, owned by the caller until ws_loop_destroy().
 * @return 0, or a negative errno (-ENOMEM, or what epoll_create1 / eventfd said).
 * @rust `tokio::runtime::Builder::new_current_thread().enable_all().build()`
 */
FT_MUST_USE int ws_loop_create(ws_loop **out);

/**
 * @brief Frees the loop. Nothing may be watched or armed any more, and no thread may still post to it; tasks
 *        still queued are dropped without running (their `ctx` is the poster's to free).
 * @rust `drop(runtime)`
 */
void ws_loop_destroy(ws_loop *loop);

/**
 * @brief Milliseconds on the monotonic clock (`CLOCK_MONOTONIC`), the clock of every deadline here.
 * @rust `tokio::time::Instant::now()`
 */
uint64_t ws_loop_now_ms(void);

/**
 * @brief Starts watching @p fd for @p interest; @p w must not be watched already.
 * @return 0, -EEXIST when @p w is watched, or epoll_ctl's error.
 * @rust `Registry::register(&mut source, token, interest)`
 */
FT_MUST_USE int ws_loop_watch(ws_loop *loop, ws_watch *w, int fd, uint32_t interest, ws_watch_fn *on_kick);

/**
 * @brief Changes what a watched fd is watched for (0 keeps it registered but silent).
 * @return 0, -ENOENT when @p w is not watched, or epoll_ctl's error.
 * @rust `Registry::reregister`
 */
FT_MUST_USE int ws_loop_modify(ws_loop *loop, ws_watch *w, uint32_t interest);

/**
 * @brief Stops watching; a no-op when @p w is not watched. The fd stays open. Events already taken from the kernel
 *        for @p w in this turn are dropped, so its callback is not called again.
 * @rust `Registry::deregister`
 */
void ws_loop_unwatch(ws_loop *loop, ws_watch *w);

/**
 * @brief Arms @p t to call `fn(ctx)` once, @p delay_ms from now, on this loop's thread.
 * @return 0, -EEXIST when @p t is armed already, -ENOSPC when ::WS_TIMERS_MAX are armed.
 * @rust `tokio::time::sleep(Duration::from_millis(delay_ms))` awaited by a spawned task
 */
FT_MUST_USE int ws_loop_timer_start(ws_loop *loop, ws_timer *t, uint64_t delay_ms, ws_task_fn *fn, void *ctx);

/**
 * @brief Disarms @p t; a no-op when it is not armed (fired already, or never armed).
 * @rust dropping the `Sleep`
 */
void ws_loop_timer_cancel(ws_loop *loop, ws_timer *t);

/**
 * @brief Queues `fn(ctx)` to run on the loop's thread; callable from any thread, the loop's own included.
 *
 * Tasks run in the order posted (FIFO), after the fd callbacks and timers of the turn that finds them. The loop is
 * woken through its eventfd, so a loop asleep in epoll_wait runs the task at once.
 * @return 0, or -ENOMEM (the task is not queued).
 * @rust `Handle::spawn(async move { fn(ctx) })`, or a send on an `mpsc` whose receiver the runtime polls
 */
FT_MUST_USE int ws_loop_post(ws_loop *loop, ws_task_fn *fn, void *ctx);

/**
 * @brief Runs one turn: waits for readiness at most @p timeout_ms (-1: until something happens; the next timer
 *        always shortens it), then calls the ready watches, the due timers, and the tasks queued so far.
 * @return the number of callbacks called, or a negative errno from epoll_wait.
 * @rust `Runtime::block_on` of one turn of the scheduler
 */
FT_MUST_USE int ws_loop_run_once(ws_loop *loop, int timeout_ms);

/**
 * @brief Runs turns until ws_loop_stop() is called (from a callback or another thread).
 * @return 0, or a negative errno from epoll_wait.
 * @rust `Runtime::block_on(shutdown_signal)`
 */
FT_MUST_USE int ws_loop_run(ws_loop *loop);

/**
 * @brief Makes ws_loop_run() return after its current turn; callable from any thread. The flag is cleared when
 *        ws_loop_run() returns, so the loop can be run again.
 * @rust sending on the `oneshot` a `block_on` waits for
 */
void ws_loop_stop(ws_loop *loop);

#endif /* FERRITE_LOOP_H */
