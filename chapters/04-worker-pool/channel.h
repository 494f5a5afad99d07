/**
 * @file channel.h
 * @brief Chapter 04, part 1: a bounded multi-producer, multi-consumer channel, and the chapter's status codes.
 *
 * The prefix `wp_` stands for *worker pool*, the chapter's subject: the channel is the pool's queue.
 *
 * A ::wp_chan is a ring buffer of fixed-size elements behind one mutex and two condition variables. Senders wait
 * on `not_full` while the ring is full; receivers wait on `not_empty` while it is empty. It is the queue the
 * study's data processor needed: Rust's `std::sync::mpsc` has one receiver, so N workers cannot share it without a
 * `Mutex` around it (or an MPMC channel such as crossbeam's). This one has any number of both ends.
 *
 * **The two rules of a condition variable** (every test of part 1 pins one of them down):
 * - *Every wait loops on its predicate.* `pthread_cond_wait` may return with nothing changed (a spurious wakeup,
 *   or a broadcast meant for someone else), so `while (len == 0) wait(...)`, never `if`.
 * - *Every signal follows the state change it announces, under the lock.* Change `len` first, then signal,
 *   both while holding the mutex; a signal sent before the change, or without the lock between a waiter's check
 *   and its wait, is lost, and the waiter sleeps forever.
 *
 * **Closing** is Rust's “the last `Sender` was dropped”: afterwards every send fails with ::WP_ERR_CLOSED, and
 * receivers first drain what is left, then see ::WP_ERR_CLOSED. Blocked threads of both kinds wake up.
 *
 * **Error convention** (the whole chapter): fallible functions return a ::wp_status, ::WP_OK is zero and every
 * error is negative; they are marked ::FT_MUST_USE (ferrite.h's `warn_unused_result`), so ignoring one is a compile
 * error under `-Werror`.
 *
 * **Ownership.** Elements travel by bytes, as in chapter 01. A successful send moves the element into the
 * channel (the caller must not drop its copy); a failed send moves nothing. A successful receive moves the element
 * to the caller. wp_chan_destroy() drops whatever is still inside with the channel's `drop` function.
 */
#ifndef FERRITE_CHANNEL_H
#define FERRITE_CHANNEL_H

#include "ferrite.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief Status of a fallible operation: zero on success, a negative error otherwise.
 * @rust `Result<T, TrySendError<T>>`, `Result<T, RecvTimeoutError>`, `Result<T, JoinError>` — errors are values
 */
typedef enum wp_status {
    WP_OK = 0,               /**< success */
    WP_ERR_FULL = -1,        /**< no room and the caller would not wait (Rust: `TrySendError::Full`) */
    WP_ERR_EMPTY = -2,       /**< nothing to receive and the caller would not wait (`TryRecvError::Empty`) */
    WP_ERR_CLOSED = -3,      /**< the channel or pool is closed (`SendError`, `TryRecvError::Disconnected`) */
    WP_ERR_TIMEOUT = -4,     /**< the deadline passed first (`RecvTimeoutError::Timeout`) */
    WP_ERR_INVAL = -5,       /**< an argument is out of range: a capacity or worker count of 0, a NULL type */
    WP_ERR_NOMEM = -6,       /**< memory, or a thread, could not be obtained */
    WP_ERR_TASK_FAILED = -7, /**< the task reported failure (`JoinError` of a panicked task) */
    WP_ERR_CANCELLED = -8,   /**< the task never ran: its pool was shut down with ::WP_CANCEL */
    WP_ERR_TODO = -99,       /**< returned by the exercise skeleton: this function is not written yet */
} wp_status;

/**
 * @brief A short, constant, human name for a status ("channel closed", ...).
 * @param status any value of ::wp_status.
 * @return a static string; the caller owns nothing.
 * @rust `impl Display for TrySendError` and friends
 */
const char *wp_status_str(wp_status status);

/**
 * @brief A bounded MPMC channel of fixed-size elements.
 *
 * `lock` guards every field below it except `cap`, `elem_size` and `drop`, which never change after
 * wp_chan_init(). Reading `len` without the lock is a data race (ThreadSanitizer reports it) and can return a
 * value that is half-way through an update. Tests take `lock` themselves to freeze the channel, and broadcast on
 * the condition variables to play a spurious wakeup: both are allowed uses of this struct.
 * @rust `crossbeam_channel::bounded(cap)` — `(Sender<T>, Receiver<T>)`, both `Send + Sync + Clone`
 */
typedef struct wp_chan {
    pthread_mutex_t lock;     /**< guards the fields below */
    pthread_cond_t not_empty; /**< receivers wait here while `len == 0 && !closed` */
    pthread_cond_t not_full;  /**< senders wait here while `len == cap && !closed` */
    unsigned char *slots;     /**< `cap * elem_size` bytes; owned */
    size_t head;              /**< slot of the oldest element, `< cap` */
    size_t len;               /**< elements inside, `<= cap` */
    size_t recv_waiting;      /**< receivers blocked in a wait right now */
    size_t send_waiting;      /**< senders blocked in a wait right now */
    bool closed;              /**< set once by wp_chan_close(), never cleared */
    size_t cap;               /**< capacity in elements, `> 0`; immutable */
    size_t elem_size;         /**< bytes per element, `> 0`; immutable */
    void (*drop)(void *elem); /**< drops one element left inside at destroy; NULL for plain data; immutable */
} wp_chan;

/**
 * @brief Initialises an empty, open channel with room for @p cap elements of @p elem_size bytes.
 *
 * The condition variables wait against `CLOCK_MONOTONIC`, so a timed wait is not fooled by the wall clock
 * being set.
 * @param[out] ch the channel to initialise; must not be shared until this returns ::WP_OK.
 * @param cap capacity in elements, at least 1.
 * @param elem_size bytes per element, at least 1.
 * @param drop called once on each element still inside at wp_chan_destroy(); may be NULL.
 * @return ::WP_OK, ::WP_ERR_INVAL (`cap` or `elem_size` is 0) or ::WP_ERR_NOMEM; on error nothing is held.
 * @rust `crossbeam_channel::bounded::<T>(cap)`
 */
FT_MUST_USE wp_status wp_chan_init(wp_chan *ch, size_t cap, size_t elem_size, void (*drop)(void *elem));

/**
 * @brief Drops every element still inside, then frees the ring and the synchronisation objects.
 *
 * No thread may be using the channel, or blocked in it (close it and join them first); debug builds of the
 * reference solution assert that no thread is blocked in it. Afterwards @p ch is uninitialised memory.
 * @rust `impl Drop for Channel<T>` (runs when the last `Sender` and `Receiver` are gone)
 */
void wp_chan_destroy(wp_chan *ch);

/**
 * @brief Moves the element at @p elem into the channel, waiting while it is full.
 * @param ch the channel.
 * @param elem `elem_size` readable bytes; on ::WP_OK the channel owns the element.
 * @return ::WP_OK, or ::WP_ERR_CLOSED (before or while waiting; the caller still owns @p elem).
 * @rust `Sender::send` → `Result<(), SendError<T>>`
 */
FT_MUST_USE wp_status wp_chan_send(wp_chan *ch, const void *elem);

/**
 * @brief Moves the element in if there is room right now; never waits.
 * @return ::WP_OK, ::WP_ERR_FULL or ::WP_ERR_CLOSED (on error the caller still owns @p elem).
 * @rust `Sender::try_send` → `Result<(), TrySendError<T>>`
 */
FT_MUST_USE wp_status wp_chan_try_send(wp_chan *ch, const void *elem);

/**
 * @brief As wp_chan_send(), but gives up after @p timeout_ms milliseconds.
 * @return ::WP_OK, ::WP_ERR_TIMEOUT or ::WP_ERR_CLOSED (on error the caller still owns @p elem).
 * @rust `Sender::send_timeout` → `Result<(), SendTimeoutError<T>>`
 */
FT_MUST_USE wp_status wp_chan_send_timeout(wp_chan *ch, const void *elem, uint32_t timeout_ms);

/**
 * @brief Moves the oldest element to @p out, waiting while the channel is empty and open.
 * @param ch the channel.
 * @param[out] out `elem_size` writable bytes; on ::WP_OK the caller owns the element.
 * @return ::WP_OK, or ::WP_ERR_CLOSED once the channel is closed *and* empty (`*out` untouched).
 * @rust `Receiver::recv` → `Result<T, RecvError>`
 */
FT_MUST_USE wp_status wp_chan_recv(wp_chan *ch, void *out);

/**
 * @brief Moves the oldest element out if there is one right now; never waits.
 * @return ::WP_OK, ::WP_ERR_EMPTY (open and empty) or ::WP_ERR_CLOSED (closed and empty).
 * @rust `Receiver::try_recv` → `Result<T, TryRecvError>`
 */
FT_MUST_USE wp_status wp_chan_try_recv(wp_chan *ch, void *out);

/**
 * @brief As wp_chan_recv(), but gives up after @p timeout_ms milliseconds.
 * @return ::WP_OK, ::WP_ERR_TIMEOUT or ::WP_ERR_CLOSED.
 * @rust `Receiver::recv_timeout` → `Result<T, RecvTimeoutError>`
 */
FT_MUST_USE wp_status wp_chan_recv_timeout(wp_chan *ch, void *out, uint32_t timeout_ms);

/**
 * @brief Moves up to @p max of the oldest elements to @p out under one lock acquisition; never waits.
 *
 * One lock for a batch, not one per element: the worker pool takes work this way. Wakes as many blocked senders
 * as slots were freed.
 * @param ch the channel.
 * @param[out] out room for `max * elem_size` bytes; receives the elements oldest first.
 * @param max most elements to take.
 * @return the number taken, 0 when empty (open or closed).
 * @rust `crossbeam_deque::Injector::steal_batch` (for a channel: `try_iter().take(max)` with one lock)
 */
size_t wp_chan_try_recv_many(wp_chan *ch, void *out, size_t max);

/**
 * @brief Closes the channel: later sends fail, receivers drain and then fail; wakes every blocked thread.
 *
 * Idempotent. Elements already inside stay there for receivers (or for wp_chan_destroy() to drop).
 * @rust dropping the last `Sender` (crossbeam: `Sender::drop` → `disconnect`)
 */
void wp_chan_close(wp_chan *ch);

/**
 * @brief The number of elements inside, read under the lock.
 *
 * The answer may be stale as soon as the lock is released, but it was true at one instant: never a torn or
 * half-updated value.
 * @rust `Receiver::len`
 */
size_t wp_chan_len(wp_chan *ch);

/**
 * @brief Whether wp_chan_close() has been called, read under the lock.
 * @rust `Sender::is_disconnected` (crossbeam)
 */
bool wp_chan_is_closed(wp_chan *ch);

#endif
