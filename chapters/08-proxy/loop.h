/**
 * @file loop.h
 * @brief Chapter 08, given code: the proxy's event loop (epoll readiness and a hierarchical timing wheel).
 *
 * **Prefix.** `px_` (Ferrite proxy) throughout the chapter. This file is given: read it, do not write it.
 *
 * One loop belongs to one thread, the one that calls px_loop_run(); every function here must be called on that
 * thread (the proxy is one thread, as a linkerd2-proxy worker or an HAProxy process with `nbthread 1`). Signals
 * reach the loop as readable fds (signalfd), not as handlers.
 *
 * **Readiness is level-triggered.** A watched fd is reported on every turn while it is ready and asked for, so a
 * callback that cannot use an event must change its interest with px_loop_modify() or the loop spins. Backpressure is
 * exactly that: a side whose peer is not draining is watched for nothing until the peer drains.
 *
 * **Timers** sit in a timing wheel of 1 ms ticks, levels of 64 slots (as tokio's time driver): starting and
 * cancelling cost O(1), however many connections have a deadline armed. A timer fires at or after its due time,
 * never before.
 *
 * **Error convention** (the whole chapter): a fallible function returns 0 (or a count) on success and a negative
 * errno on failure (`-ENOMEM`, `-EEXIST`, `-ETIMEDOUT`...), as libuv does, and is marked ::FT_MUST_USE.
 *
 * **Ownership.** The loop borrows every ::px_watch and ::px_timer: each stays at the same address and alive until it
 * is unwatched, or has fired or been cancelled. The loop never closes a watched fd: unwatch, then close.
 */
#ifndef FERRITE_PX_LOOP_H
#define FERRITE_PX_LOOP_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** @brief Readiness bits: what a watch asks for and what its callback is told. */
enum px_ready {
    PX_READABLE = 1u << 0, /**< data or end of file can be read @rust `Interest::READABLE` */
    PX_WRITABLE = 1u << 1, /**< a write would not block @rust `Interest::WRITABLE` */
    PX_HANGUP = 1u << 2,   /**< told only: the peer hung up (EPOLLHUP / EPOLLRDHUP) @rust `Ready::is_read_closed()` */
    PX_FAILED = 1u << 3,   /**< told only: an error is pending on the fd (EPOLLERR) @rust `Ready::is_error()` */
};

/**
 * @brief One event loop: an epoll instance and a timing wheel; opaque, made by px_loop_create().
 * @rust `tokio::runtime::Runtime`, current-thread flavour
 */
typedef struct px_loop px_loop;
typedef struct px_watch px_watch;
typedef struct px_timer px_timer;

/**
 * @brief Called on the loop's thread when @p w is ready; it may modify, unwatch or free any watch or timer, itself
 *        included.
 * @rust the waker of the task that owns a mio registration
 */
typedef void px_watch_fn(px_watch *w, uint32_t ready);

/**
 * @brief A timer's callback: runs on the loop's thread, once per arming; it may arm @p t again.
 * @rust the body after `sleep(..).await`
 */
typedef void px_timer_fn(px_timer *t);

/**
 * @brief One watched fd, embedded in its owner (find the owner with PX_CONTAINER_OF). Zero it (or set `.fd = -1`)
 *        before first use: a watch without a callback is not watched.
 * @rust `mio::event::Source` registered with a `Token`
 */
struct px_watch {
    int fd;                /**< read-only: the watched fd, -1 when not watched */
    uint32_t interest;     /**< read-only: PX_READABLE / PX_WRITABLE bits epoll watches for */
    px_watch_fn *on_ready; /**< private: the owner's callback */
};

/**
 * @brief One one-shot timer, embedded in its owner. Zero it (or px_timer_init()) before first use.
 * @rust `tokio::time::Sleep`, pinned in the task that awaits it
 */
struct px_timer {
    uint64_t due_ms;  /**< read-only: when it fires, on px_loop_now_ms()'s clock */
    px_timer_fn *fn;  /**< private: what to call */
    px_timer *next;   /**< private: the next timer in its wheel slot */
    px_timer **pprev; /**< private: the pointer that points at this timer, NULL when not armed */
};

/** @brief The owner of an embedded member: `PX_CONTAINER_OF(w, struct conn, watch)`. */
#define PX_CONTAINER_OF(ptr_, type_, member_) ((type_ *)(void *)((char *)(ptr_)-offsetof(type_, member_)))

/**
 * @brief Makes @p t an unarmed timer (a zeroed timer is taken as unarmed too).
 * @rust `Option<Sleep>::None`
 */
void px_timer_init(px_timer *t);

/**
 * @brief Whether @p t is armed.
 * @rust `!sleep.is_elapsed()` on a live `Sleep`
 */
bool px_timer_armed(const px_timer *t);

/**
 * @brief Creates a loop: an epoll instance (close-on-exec) and an empty wheel whose clock starts now.
 * @param[out] out the new loop, owned by the caller until px_loop_destroy().
 * @return 0, or a negative errno (-ENOMEM, or what epoll_create1 said).
 * @rust `tokio::runtime::Builder::new_current_thread().enable_all().build()`
 */
FT_MUST_USE int px_loop_create(px_loop **out);

/**
 * @brief Frees the loop and closes its epoll fd. Nothing may be watched or armed any more (asserted).
 * @rust `drop(runtime)`
 */
void px_loop_destroy(px_loop *loop);

/**
 * @brief The loop's clock in milliseconds: `CLOCK_MONOTONIC`, read once per turn of the loop (so every callback of
 *        one turn sees the same now, as tokio's driver does) and at px_loop_create().
 * @rust `tokio::time::Instant::now()`
 */
uint64_t px_loop_now_ms(const px_loop *loop);

/**
 * @brief Replaces `CLOCK_MONOTONIC` as the loop's clock, so a test can move time by hand and jump hours ahead.
 *
 * The loop reads `clock_ms(ctx)` once per turn instead of the monotonic clock, and reads it at once to restart the
 * wheel from the new now; NULL restores `CLOCK_MONOTONIC`. No timer may be armed (asserted): due times on one clock
 * mean nothing on another. A clock that steps back is taken as standing still. px_loop_run_once() still sleeps at
 * most its `max_wait_ms` of real time, however far the next timer is on this clock.
 * @param loop a loop with no timer armed.
 * @param clock_ms returns milliseconds; borrowed, with @p ctx, until the next call or px_loop_destroy().
 * @param ctx given to @p clock_ms.
 * @rust `tokio::time::pause()`, then `tokio::time::advance(duration)` to move the paused clock
 */
void px_loop_set_clock(px_loop *loop, uint64_t (*clock_ms)(void *ctx), void *ctx);

/**
 * @brief Nanoseconds on `CLOCK_MONOTONIC`, read now: for measuring latencies, not for timers.
 * @rust `std::time::Instant::now()`
 */
uint64_t px_now_ns(void);

/**
 * @brief Starts watching @p fd for @p interest; @p w must not be watched already.
 * @return 0, -EEXIST when @p w is watched, or epoll_ctl's error (-EBADF, -EPERM for a regular file...).
 * @rust `Registry::register(&mut source, token, interest)`
 */
FT_MUST_USE int px_loop_watch(px_loop *loop, px_watch *w, int fd, uint32_t interest, px_watch_fn *on_ready);

/**
 * @brief Changes what a watched fd is watched for; 0 keeps it registered but silent (backpressure).
 * @return 0, -ENOENT when @p w is not watched, or epoll_ctl's error.
 * @rust `Registry::reregister`
 */
FT_MUST_USE int px_loop_modify(px_loop *loop, px_watch *w, uint32_t interest);

/**
 * @brief Stops watching; a no-op when @p w is not watched. The fd stays open. Events already taken from the kernel
 *        for @p w in this turn are dropped, so its callback is not called again and @p w may be freed at once.
 * @rust `Registry::deregister`
 */
void px_loop_unwatch(px_loop *loop, px_watch *w);

/**
 * @brief Arms @p t to call `fn(t)` once, @p delay_ms after px_loop_now_ms() (0: on this turn's timer pass or the
 *        next one, never from inside this call).
 * @return 0, or -EEXIST when @p t is armed already.
 * @rust `tokio::time::sleep(Duration::from_millis(delay_ms))`
 */
FT_MUST_USE int px_loop_timer_start(px_loop *loop, px_timer *t, uint64_t delay_ms, px_timer_fn *fn);

/**
 * @brief Disarms @p t; a no-op when it is not armed (fired already, or never armed).
 * @rust dropping the `Sleep`
 */
void px_loop_timer_cancel(px_loop *loop, px_timer *t);

/**
 * @brief Runs turns (wait for readiness or the next timer, dispatch, fire due timers) until px_loop_stop().
 * @return 0 after a stop, or a negative errno when epoll_wait fails with something other than EINTR.
 * @rust `runtime.block_on(future)`
 */
FT_MUST_USE int px_loop_run(px_loop *loop);

/**
 * @brief Runs one turn, waiting at most @p max_wait_ms (0: do not block) for an event: for tests that drive the loop
 *        themselves.
 * @return how many callbacks ran (fd and timer), or a negative errno from epoll_wait.
 * @rust one `Runtime::block_on` poll of the driver, `tokio::task::yield_now()` between
 */
FT_MUST_USE int px_loop_run_once(px_loop *loop, uint64_t max_wait_ms);

/**
 * @brief Makes px_loop_run() return after the current turn.
 * @rust dropping the `block_on` future's shutdown sender
 */
void px_loop_stop(px_loop *loop);

/**
 * @brief How many fds are watched and timers armed: for the tests' leak checks and the metrics page.
 * @rust `runtime.metrics().num_alive_tasks()`
 */
void px_loop_counts(const px_loop *loop, size_t *watches, size_t *timers);

#endif
