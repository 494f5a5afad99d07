/*
 * channel.c — chapter 04, part 1: a bounded MPMC channel.   (exercise skeleton)
 *
 * Every function below is yours. Each returns a neutral value so the file compiles and the tests run; replace the
 * body and delete the `(void)param;` lines as you start using the parameters.
 *
 * Invariants to keep, true whenever `lock` is free:
 *   C1  len <= cap; the elements are slots head, head+1, ... (mod cap), oldest first.
 *   C2  recv_waiting / send_waiting count the threads inside a wait on not_empty / not_full (the tests read
 *       them, under the lock, to know a thread is really asleep).
 *   C3  closed never goes back to false.
 *
 * Suggested static helpers, written once and used by every variant:
 *   - `slot(ch, i)`: pointer to slot i (say why i * elem_size cannot overflow).
 *   - `push_locked(ch, elem)` / `pop_locked(ch, out)`: copy, move head/len, then signal the other side —
 *     lock held, after the change.
 *   - `wait_on(ch, cv, &counter, deadline_or_NULL)`: counter++, pthread_cond_wait or _timedwait, counter--;
 *     returns false on ETIMEDOUT. The caller loops on its predicate.
 *   - `send_impl(ch, elem, mode, deadline)` / `recv_impl(...)` with mode never / forever / until deadline, so
 *     the blocking, try_ and _timeout functions are one-liners that cannot drift apart.
 */
#define _POSIX_C_SOURCE 200809L
#include "channel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *wp_status_str(wp_status status)
{
    /* TODO: one short string per wp_status value ("closed", "timed out", ...), and a fallback for values that
     * are not in the enum. Rust: the Display impls of the channel errors. */
    (void)status;
    return "";
}

wp_status wp_chan_init(wp_chan *ch, size_t cap, size_t elem_size, void (*drop)(void *elem))
{
    /* TODO: refuse cap == 0 and elem_size == 0 (and a cap * elem_size that overflows) with WP_ERR_INVAL; allocate
     * the ring; init the mutex, and both condition variables with a pthread_condattr_t whose clock is
     * CLOCK_MONOTONIC (pthread_condattr_setclock), so timed waits ignore changes of the date. Everything else
     * zero. Trap: the timed functions must compute deadlines on the same clock. */
    (void)ch;
    (void)cap;
    (void)elem_size;
    (void)drop;
    return WP_ERR_TODO;
}

void wp_chan_destroy(wp_chan *ch)
{
    /* TODO: call drop on each of the len live elements (head, head+1, ... mod cap) if drop is not NULL, then free
     * the ring and destroy the mutex and condition variables. Rust: the channel's Drop drops what nobody
     * received. Trap: dropping cap slots instead of len drops garbage. */
    (void)ch;
}

wp_status wp_chan_send(wp_chan *ch, const void *elem)
{
    /* TODO: lock; `while (!closed && len == cap)` wait on not_full; if closed, WP_ERR_CLOSED; else copy elem into
     * slot (head + len) % cap, len++, and signal not_empty if a receiver waits — after the change, still under
     * the lock. Rust: Sender::send blocks on a full bounded channel.
     * Traps: `if` instead of `while` (a spurious wakeup overwrites the oldest element); signalling only when len
     * goes 0 -> 1 (the second of two quick sends then wakes nobody: a lost wakeup). */
    (void)ch;
    (void)elem;
    return WP_ERR_TODO;
}

wp_status wp_chan_try_send(wp_chan *ch, const void *elem)
{
    /* TODO: as send, but a full open channel returns WP_ERR_FULL at once. Closed wins over full. */
    (void)ch;
    (void)elem;
    return WP_ERR_TODO;
}

wp_status wp_chan_send_timeout(wp_chan *ch, const void *elem, uint32_t timeout_ms)
{
    /* TODO: as send, waiting with pthread_cond_timedwait against one absolute deadline computed before the loop
     * (now on CLOCK_MONOTONIC + timeout). On ETIMEDOUT re-check the predicate once: a slot may have freed at the
     * last moment. Rust: Sender::send_timeout. */
    (void)ch;
    (void)elem;
    (void)timeout_ms;
    return WP_ERR_TODO;
}

wp_status wp_chan_recv(wp_chan *ch, void *out)
{
    /* TODO: lock; `while (!closed && len == 0)` wait on not_empty; if len == 0 now, the channel is closed and
     * drained: WP_ERR_CLOSED. Otherwise copy slot head to out, advance head modulo cap, len--, signal not_full
     * if a sender waits. Rust: Receiver::recv drains a disconnected channel before reporting RecvError. */
    (void)ch;
    (void)out;
    return WP_ERR_TODO;
}

wp_status wp_chan_try_recv(wp_chan *ch, void *out)
{
    /* TODO: as recv, never waiting: open and empty is WP_ERR_EMPTY, closed and empty is WP_ERR_CLOSED. */
    (void)ch;
    (void)out;
    return WP_ERR_TODO;
}

wp_status wp_chan_recv_timeout(wp_chan *ch, void *out, uint32_t timeout_ms)
{
    /* TODO: as recv, with a deadline like send_timeout. Rust: Receiver::recv_timeout. */
    (void)ch;
    (void)out;
    (void)timeout_ms;
    return WP_ERR_TODO;
}

size_t wp_chan_try_recv_many(wp_chan *ch, void *out, size_t max)
{
    /* TODO: under one lock, move min(len, max) elements, oldest first, to out[0], out[1], ...; then wake up to
     * that many waiting senders (one signal per freed slot, or a broadcast). Return the count. */
    (void)ch;
    (void)out;
    (void)max;
    return 0;
}

void wp_chan_close(wp_chan *ch)
{
    /* TODO: lock, closed = true, pthread_cond_broadcast BOTH condition variables, unlock. Rust: dropping the last
     * Sender. Trap: pthread_cond_signal wakes one waiter; the others sleep forever. */
    (void)ch;
}

size_t wp_chan_len(wp_chan *ch)
{
    /* TODO: read len under the lock. Trap: an unlocked read is a data race (TSan says so) and can see a value
     * half-way through another thread's update. */
    (void)ch;
    return 0;
}

bool wp_chan_is_closed(wp_chan *ch)
{
    /* TODO: read closed under the lock. */
    (void)ch;
    return false;
}
