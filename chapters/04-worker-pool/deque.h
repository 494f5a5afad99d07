/**
 * @file deque.h
 * @brief Chapter 04, part 5: a Chase–Lev work-stealing deque of pointers, with C11 atomics.
 *
 * The prefix `wp_` stands for *worker pool*: each of the pool's workers owns one of these deques.
 *
 * Each worker owns one deque. The owner pushes and pops at the *bottom* (last in, first out: the task it just
 * made is hot in its cache); any other thread steals at the *top* (first in, first out: the oldest task, likely
 * the biggest piece of work). Owner operations take no lock and, except when one item is left, no
 * read-modify-write; a thief pays one compare-and-swap. This is the algorithm of `crossbeam_deque`, which rayon
 * and Tokio's scheduler build on (Chase and Lev, SPAA 2005; memory orders from Lê, Pop, Cohen and
 * Zappa Nardelli, PPoPP 2013).
 *
 * **Fixed capacity.** crossbeam's `Worker` grows its ring and frees the old one through epoch-based reclamation;
 * this deque does not grow. wp_deque_push() reports a full ring and the pool runs the task on the spot. That keeps
 * the memory-order reasoning to the indices and the slots.
 *
 * **Memory orders**, each compared with crossbeam-deque 0.8 (`deque.rs`):
 * - push: slot store relaxed, `bottom` store *release* (crossbeam: a release fence, then a release store whose
 *   ordering "could be Relaxed" but is kept so ThreadSanitizer sees the edge). The release publishes the slot and
 *   everything the task points to; a thief's acquire (or stronger) load of `bottom` receives it. The fullness
 *   check uses `top_seen`, the owner's last reading of `top`, and loads `top` (*acquire*, pairing with the
 *   thieves' compare-and-swap) only when that stale value says full. `top` only grows, so a stale value can
 *   only make the ring look fuller than it is. Thieves write `top` all the time; reading it on every push would
 *   pull its cache line back to the owner each time (crossbeam reads it every time but grows instead of failing).
 * - pop: `bottom` store and `top` load *seq_cst* (crossbeam: relaxed store, a seq_cst fence, relaxed load).
 *   Same effect — the store of `bottom` and the load of `top` cannot be reordered, so a thief and the owner
 *   cannot both miss each other on the last item — without a standalone fence, which GCC's ThreadSanitizer
 *   refuses to instrument (`-Wtsan`). On x86 both spellings cost one locked instruction.
 * - steal: `top` load and `bottom` load *seq_cst* (crossbeam: acquire, seq_cst fence, acquire); slot load
 *   relaxed; `top` compare-and-swap *seq_cst* on success, relaxed on failure (same as crossbeam).
 * - last item: owner and thieves race with the same seq_cst compare-and-swap on `top`; exactly one wins.
 *
 * Slots are atomic too: a thief may read a slot that the owner is overwriting after a wrap. The thief then loses
 * its compare-and-swap and throws the value away, but in C11 a plain read racing with a write is already
 * undefined behaviour, so the read itself must be atomic (relaxed is enough).
 *
 * **Ownership.** The deque stores `void *` items and owns nothing they point to; it never dereferences them.
 * An item pushed is owned by whoever pops or steals it. wp_deque_destroy() frees the ring only: drain it first.
 */
#ifndef FERRITE_DEQUE_H
#define FERRITE_DEQUE_H

#include "channel.h"
#include "ferrite.h"

#include <stdatomic.h>
#include <stddef.h>

/** Bytes of one cache line on the machines this workbook targets (x86-64, most arm64). */
#define WP_CACHE_LINE 64

/**
 * @brief A fixed-capacity Chase–Lev deque.
 *
 * `top` and `bottom` sit on different cache lines so that thieves hammering `top` do not slow the owner's
 * `bottom`. Items live at `slots[i & mask]` for `top <= i < bottom`. Only the owner thread writes `bottom`,
 * `top_seen` and the slots; every thread may read `bottom` and the slots; `top` only grows, by
 * compare-and-swap.
 * @rust `crossbeam_deque::Worker<T>` (owner side) + `crossbeam_deque::Stealer<T>` (shared side)
 */
typedef struct wp_deque {
    atomic_ptrdiff_t top;                                   /**< next index to steal; grows by CAS */
    char pad_top[WP_CACHE_LINE - sizeof(atomic_ptrdiff_t)]; /**< keeps `bottom` off `top`'s cache line */

    atomic_ptrdiff_t bottom; /**< next index to push; written by the owner only */
    ptrdiff_t top_seen;      /**< owner only: a value `top` had, never ahead of it; saves loading `top` per push */
    char pad_bottom[WP_CACHE_LINE - sizeof(atomic_ptrdiff_t) - sizeof(ptrdiff_t)]; /**< the rest off this line */

    _Atomic(void *) *slots; /**< `mask + 1` slots; owned */
    size_t mask;            /**< capacity − 1; capacity is a power of two */
} wp_deque;

/**
 * @brief Result of a steal attempt.
 * @rust `crossbeam_deque::Steal<T>`
 */
typedef enum wp_steal {
    WP_STEAL_EMPTY,   /**< the deque was empty */
    WP_STEAL_SUCCESS, /**< an item was taken and written to `*out` */
    WP_STEAL_RETRY,   /**< lost a race with another thief or the owner; the deque may still hold items */
} wp_steal;

/**
 * @brief Initialises an empty deque with room for @p cap items.
 * @param[out] d the deque.
 * @param cap capacity, a power of two, at least 2.
 * @return ::WP_OK, ::WP_ERR_INVAL (not a power of two, or below 2) or ::WP_ERR_NOMEM.
 * @rust `crossbeam_deque::Worker::new_lifo`
 */
FT_MUST_USE wp_status wp_deque_init(wp_deque *d, size_t cap);

/**
 * @brief Frees the ring. Items still inside are forgotten (not dereferenced): drain the deque first (debug builds
 * of the reference solution assert that it is empty). No other thread may be using it.
 * @rust `impl Drop for Inner<T>`
 */
void wp_deque_destroy(wp_deque *d);

/**
 * @brief Owner only: pushes @p item at the bottom.
 * @param d the deque; the calling thread must be its owner.
 * @param item any non-NULL pointer (NULL is what wp_deque_pop() returns for "empty"; debug builds of the reference
 *        solution assert it); on success the deque holds it until it is popped or stolen.
 * @return true, or false when the deque is full (the caller keeps @p item).
 * @rust `Worker::push` (which grows instead of failing)
 */
FT_MUST_USE bool wp_deque_push(wp_deque *d, void *item);

/**
 * @brief Owner only: pops the most recently pushed item.
 * @return the item (the caller owns it now), or NULL when the deque is empty or a thief took the last one.
 * @rust `Worker::pop` (LIFO flavour) → `Option<T>`
 */
void *wp_deque_pop(wp_deque *d);

/**
 * @brief Any thread: steals the oldest item.
 * @param d the deque.
 * @param[out] out receives the item on ::WP_STEAL_SUCCESS (the caller owns it then); untouched otherwise.
 * @return ::WP_STEAL_SUCCESS, ::WP_STEAL_EMPTY or ::WP_STEAL_RETRY.
 * @rust `Stealer::steal` → `Steal<T>`
 */
wp_steal wp_deque_steal(wp_deque *d, void **out);

/**
 * @brief Any thread: the number of items at the instant of the two loads (a hint once it returns).
 *
 * Uses seq_cst loads, so a thread that has announced it is about to sleep and then sees 0 here cannot miss a
 * push that the pusher followed by reading that announcement (see the pool's wakeup.c).
 * @rust `Stealer::len`
 */
size_t wp_deque_len(wp_deque *d);

#endif
