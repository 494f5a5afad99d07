/*
 * deque.c — chapter 04, part 5: a fixed-capacity Chase–Lev deque (reference solution).
 *
 * Indices only grow (ptrdiff_t: 2^63 pushes before a wrap). Items live at slots[i & mask] for top <= i < bottom.
 * deque.h lists each memory order next to crossbeam-deque's; the comments below say what each one buys.
 */
#include "deque.h"

#include <assert.h>
#include <stdlib.h>

wp_status wp_deque_init(wp_deque *d, size_t cap)
{
    if (cap < 2 || (cap & (cap - 1)) != 0 || cap > PTRDIFF_MAX / sizeof(void *))
        return WP_ERR_INVAL;
    _Atomic(void *) *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return WP_ERR_NOMEM;
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    d->top_seen = 0;
    d->slots = slots;
    d->mask = cap - 1;
    return WP_OK;
}

void wp_deque_destroy(wp_deque *d)
{
    assert(wp_deque_len(d) == 0); /* an item left inside would be forgotten: a leak, or a task never run */
    free(d->slots);
    d->slots = NULL;
}

/* SAFETY: the index is masked, so it lies in [0, cap) whatever its value. */
static _Atomic(void *) *slot_at(wp_deque *d, ptrdiff_t i) { return &d->slots[(size_t)i & d->mask]; }

bool wp_deque_push(wp_deque *d, void *item)
{
    assert(item != NULL); /* wp_deque_pop returns NULL for "empty": a NULL item could never be told apart */
    ptrdiff_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed); /* only we write it */
    if (b - d->top_seen > (ptrdiff_t)d->mask) { /* looks full: top may have moved on since we last looked */
        /* acquire: pairs with a thief's successful CAS on top; the slot it read is free only after that read.
         * An older reading acquired the same for every slot it freed, so reusing one is safe too. */
        d->top_seen = atomic_load_explicit(&d->top, memory_order_acquire);
        if (b - d->top_seen > (ptrdiff_t)d->mask)
            return false;
    }
    atomic_store_explicit(slot_at(d, b), item, memory_order_relaxed);
    /* release: a thief that reads bottom > b also sees the slot and everything the item points to. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
    return true;
}

void *wp_deque_pop(wp_deque *d)
{
    ptrdiff_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    /* seq_cst store, then seq_cst load of top: reserve slot b before looking at top. Were the load allowed
     * before the store (x86 store buffering does exactly that to a plain store), a thief could take slot b
     * while we also take it. crossbeam writes relaxed store + seq_cst fence + relaxed load. */
    atomic_store_explicit(&d->bottom, b, memory_order_seq_cst);
    ptrdiff_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    if (t > b) { /* was empty: undo the reservation */
        /* release, not crossbeam's relaxed: every value a thief may read from bottom then carries our earlier
         * pushes (C11 release sequences do not extend through a later relaxed store). Free on x86. */
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
        return NULL;
    }
    void *item = atomic_load_explicit(slot_at(d, b), memory_order_relaxed);
    if (t == b) {
        /* The last item: thieves may be after it too. Whoever moves top from t to t+1 owns it. */
        if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            item = NULL;
        atomic_store_explicit(&d->bottom, b + 1, memory_order_release); /* release: as above */
    }
    return item;
}

wp_steal wp_deque_steal(wp_deque *d, void **out)
{
    /* seq_cst loads, top first: ordered against the owner's seq_cst store of bottom in pop (crossbeam: acquire
     * loads around a seq_cst fence). The load of bottom also acquires the slot written before it by push. */
    ptrdiff_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    ptrdiff_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (b - t <= 0)
        return WP_STEAL_EMPTY;
    void *item = atomic_load_explicit(slot_at(d, t), memory_order_relaxed);
    /* Claim index t. On failure another thief or the owner took it, and `item` may even be a newer value
     * the owner wrote after wrapping around: discard it unread. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
        return WP_STEAL_RETRY;
    *out = item;
    return WP_STEAL_SUCCESS;
}

size_t wp_deque_len(wp_deque *d)
{
    ptrdiff_t t = atomic_load_explicit(&d->top, memory_order_seq_cst);
    ptrdiff_t b = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    return b > t ? (size_t)(b - t) : 0;
}
