/*
 * vec_iter.c — chapter 01, part 5: editing in the middle, and the two iterators.   (exercise skeleton)
 *
 * Every function below is yours. Each returns a neutral value so the file compiles and the tests run; replace the
 * body and delete the `(void)param;` lines as you start using the parameters.
 *
 * Elements here move *within* one buffer, so source and destination overlap: use memmove, not memcpy. Two rules:
 *   - never call memmove/memcpy for 0 bytes: the pointers may then be dangling, which is undefined behaviour
 *     even when nothing is copied (zero-sized types and empty tails hit this);
 *   - at every moment each element has exactly one owner — the vector ([0, len)), an iterator ([head, tail)), or
 *     the caller — and the length fields say which. An element outside those ranges is nobody's to drop.
 * Slot pointers come from `fv_raw_slot(&v->buf, i)`, given in rawvec.h and shared with vec.c. You will want a
 * helper that either copies an element out to the caller or drops it in place when the caller passed NULL.
 */
#include "vec.h"

#include <string.h>

/* ---- insert and remove ------------------------------------------------------------------------------------- */

fv_status fv_insert(fv_vec *v, size_t i, const void *elem)
{
    /* TODO: FV_ERR_BOUNDS if i > len (i == len appends) — check before growing, so a refused insert does not
     * reallocate. Grow by one if full (amortised). memmove [i, len) up one slot, copy elem into slot i, len++.
     * Rust: `Vec::insert`. Trap: the shift overlaps, and must not run when there is nothing to shift. */
    (void)v;
    (void)i;
    (void)elem;
    return FV_ERR_TODO;
}

fv_status fv_remove(fv_vec *v, size_t i, void *out)
{
    /* TODO: FV_ERR_BOUNDS if i >= len. Move element i to out (or drop it when out is NULL), memmove
     * [i + 1, len) down one slot over the hole, len--. Rust: `Vec::remove`, O(len - i). Trap: after the shift,
     * slot len - 1 still holds the bytes of the last element — it is a stale copy, not a live one: len-- is what
     * stops it from being dropped twice. */
    (void)v;
    (void)i;
    (void)out;
    return FV_ERR_TODO;
}

fv_status fv_swap_remove(fv_vec *v, size_t i, void *out)
{
    /* TODO: FV_ERR_BOUNDS if i >= len. Move element i out (or drop it), then move the *last* element into slot
     * i, len--. O(1), order not kept. Rust: `Vec::swap_remove`. Trap: when i is the last index there is no hole
     * to fill — copying a slot onto itself with memcpy is undefined (overlap). */
    (void)v;
    (void)i;
    (void)out;
    return FV_ERR_TODO;
}

/* ---- the owning iterator ------------------------------------------------------------------------------------- */

fv_iter fv_into_iter(fv_vec *v)
{
    /* TODO: the iterator takes the buffer and the live elements (head 0, tail len, same type); v is left empty,
     * valid and allocation-free, as after fv_take. Rust: `v.into_iter()` consumes v — here v survives, empty,
     * so it must no longer point at the buffer the iterator now frees. */
    fv_iter none = {0};
    (void)v;
    return none;
}

bool fv_iter_next(fv_iter *it, void *out)
{
    /* TODO: false when head == tail. Otherwise advance head, then give the element at the old head to out, or
     * drop it when out is NULL. Rust: `Iterator::next` on `IntoIter` → `Option<T>`. Once yielded, an element is
     * the caller's: fv_iter_drop must not drop it again, and head is what records that. */
    (void)it;
    (void)out;
    return false;
}

void fv_iter_drop(fv_iter *it)
{
    /* TODO: drop the elements not yet yielded, [head, tail), in order; then fv_raw_free the buffer. Set
     * head = tail before dropping, so a second call drops nothing and frees nothing.
     * Rust: `impl Drop for IntoIter` — an iterator abandoned half-way still owns the rest, and must drop them. */
    (void)it;
}

/* ---- the draining iterator ------------------------------------------------------------------------------------ */

fv_status fv_drain_start(fv_vec *v, size_t from, size_t to, fv_drain *out)
{
    /* TODO: FV_ERR_BOUNDS unless from <= to <= len (vector unchanged). Fill *out (next = from, end = to,
     * tail = to, tail_len = len - to) and set v->len = from.
     * Rust: `Vec::drain` does exactly this ("leak amplification"): if the drain is forgotten and never ended,
     * the range and the tail leak, but no element is ever dropped twice — leaking is safe, double drop is not. */
    (void)v;
    (void)from;
    (void)to;
    (void)out;
    return FV_ERR_TODO;
}

bool fv_drain_next(fv_drain *d, void *out)
{
    /* TODO: false when next == end; otherwise give element `next` to out (or drop it) and advance.
     * Rust: `Iterator::next` on `Drain`. */
    (void)d;
    (void)out;
    return false;
}

void fv_drain_end(fv_drain *d)
{
    /* TODO: drop what was not yielded ([next, end)), memmove the tail_len elements at `tail` down to the
     * vector's current len (the old `from`) — only if they are not already there and there is something to
     * move — then set len = from + tail_len, and leave *d an empty drain at the new end (next = end = tail = len,
     * tail_len = 0) so that ending it twice does nothing. Rust: `impl Drop for Drain`. Trap: restoring len before
     * the tail has moved would expose dropped or duplicated slots as live ones. */
    (void)d;
}
