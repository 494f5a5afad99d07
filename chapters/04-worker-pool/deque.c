/*
 * deque.c — chapter 04, part 5: a fixed-capacity Chase–Lev deque.   (exercise skeleton)
 *
 * Indices only grow; items live at slots[i & mask] for top <= i < bottom. Read deque.h first: it lists, for each
 * load and store, the memory order to use and the one crossbeam-deque uses. In each TODO, write a one-line
 * comment beside every atomic operation saying what its ordering buys (what it publishes, or what it must not
 * be reordered with). If you cannot say, you have not understood it yet — and neither will the reader.
 *
 * Use the explicit forms: atomic_load_explicit, atomic_store_explicit,
 * atomic_compare_exchange_strong_explicit. No atomic_thread_fence: GCC's ThreadSanitizer does not support
 * fences (-Wtsan), so this chapter gets the same ordering from seq_cst loads and stores instead.
 */
#include "deque.h"

#include <stdlib.h>

wp_status wp_deque_init(wp_deque *d, size_t cap)
{
    /* TODO: cap must be a power of two and at least 2 (cap & (cap - 1) == 0), else WP_ERR_INVAL. calloc cap
     * slots, atomic_init top and bottom to 0, top_seen = 0, mask = cap - 1. Rust: Worker::new_lifo. */
    (void)d;
    (void)cap;
    return WP_ERR_TODO;
}

void wp_deque_destroy(wp_deque *d)
{
    /* TODO: free the slots. Items are not ours to free. */
    (void)d;
}

bool wp_deque_push(wp_deque *d, void *item)
{
    /* TODO (owner only): b = bottom (relaxed: only we write it). Full when b - top_seen > mask: then reload
     * top_seen = top (acquire: pairs with a thief's CAS) and, if still full, return false. Store item in slot
     * b & mask (relaxed), then bottom = b + 1 with release, which publishes the slot and everything the item
     * points to. Reading top on every push is correct too, only slower. Rust: Worker::push. */
    (void)d;
    (void)item;
    return false;
}

void *wp_deque_pop(wp_deque *d)
{
    /* TODO (owner only): b = bottom - 1; store bottom = b seq_cst; t = top seq_cst (this store-then-load pair is
     * why crossbeam needs a seq_cst fence). If t > b the deque was empty: restore bottom = b + 1, return NULL.
     * Read slot b. If t == b it is the last item: CAS top from t to t + 1 (seq_cst); if that fails a thief
     * got it, return NULL; either way restore bottom = b + 1. Rust: Worker::pop (LIFO).
     * Trap: a relaxed store of bottom lets the load of top move before it (x86 store buffering), and a thief
     * and the owner then both take the last item. */
    (void)d;
    return NULL;
}

wp_steal wp_deque_steal(wp_deque *d, void **out)
{
    /* TODO (any thread): t = top, then b = bottom, both seq_cst. If b - t <= 0: WP_STEAL_EMPTY. Read slot t
     * (relaxed), then CAS top from t to t + 1 (seq_cst on success): success means the item is ours, store it to
     * *out; failure means someone else took index t, return WP_STEAL_RETRY and forget the value read.
     * Rust: Stealer::steal. */
    (void)d;
    (void)out;
    return WP_STEAL_EMPTY;
}

size_t wp_deque_len(wp_deque *d)
{
    /* TODO: bottom - top from two seq_cst loads (top first), or 0 if that is negative. */
    (void)d;
    return 0;
}
