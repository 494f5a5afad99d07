/*
 * vec_iter.c — reference solution, chapter 01, part 5: editing in the middle, and the two iterators.
 *
 * Everything here moves elements *within* a buffer, so the copies may overlap and use memmove. Two rules keep the
 * moves honest:
 *   - memmove/memcpy are never called for 0 bytes: the pointers may then be dangling, which is undefined even
 *     when nothing is copied;
 *   - each element is owned by exactly one of {the vector, the iterator, the caller} at every moment, and the
 *     length fields say which: an element outside [0, len) or [head, tail) is nobody's to drop.
 */
#include "vec.h"

#include <assert.h>
#include <string.h>

/* Slot pointers come from fv_raw_slot (rawvec.h), whose comment says why the arithmetic is in bounds. */

/* Moves `count` elements from slot `from` to slot `to` of one buffer; the ranges may overlap. SAFETY: both ranges
 * lie within [0, cap); the byte count cannot wrap (count <= cap) and is skipped when 0. */
static void shift(const fv_raw *buf, size_t to, size_t from, size_t count)
{
    size_t bytes = count * buf->elem.size;
    if (bytes != 0)
        memmove(fv_raw_slot(buf, to), fv_raw_slot(buf, from), bytes);
}

/* Hands the element at src to the caller (out != NULL: copy its bytes, the caller now owns it) or drops it in
 * place (out == NULL). Either way the slot is dead afterwards. SAFETY: out, when given, is caller memory of
 * `size` bytes outside the buffer; size 0 copies nothing (src is then dangling). */
static void give_or_drop(const fv_type *type, void *src, void *out)
{
    size_t size = type->layout.size;
    if (out != NULL) {
        if (size != 0)
            memcpy(out, src, size);
    } else if (type->drop != NULL) {
        type->drop(src);
    }
}

/* ---- insert and remove ------------------------------------------------------------------------------------- */

fv_status fv_insert(fv_vec *v, size_t i, const void *elem)
{
    assert(!fv_raw_contains(&v->buf, elem) && "fv_insert: elem points into the vector, which the shift rewrites");
    if (i > v->len)
        return FV_ERR_BOUNDS; /* checked before growing: a refused insert must not reallocate */
    if (v->len == v->buf.cap) {
        fv_status st = fv_raw_grow_amortized(&v->buf, v->len, 1);
        if (st != FV_OK)
            return st;
    }
    /* Open a hole at i: [i, len) moves up one slot, into room that len < cap guarantees. */
    shift(&v->buf, i + 1, i, v->len - i);
    size_t size = v->buf.elem.size;
    if (size != 0)
        memcpy(fv_raw_slot(&v->buf, i), elem, size); /* SAFETY: slot i is the hole; elem is not in v (asserted) */
    v->len++;
    return FV_OK;
}

fv_status fv_remove(fv_vec *v, size_t i, void *out)
{
    if (i >= v->len)
        return FV_ERR_BOUNDS;
    give_or_drop(v->type, fv_raw_slot(&v->buf, i), out);
    /* Close the hole: [i + 1, len) moves down one slot over the dead element. */
    shift(&v->buf, i, i + 1, v->len - i - 1);
    v->len--;
    return FV_OK;
}

fv_status fv_swap_remove(fv_vec *v, size_t i, void *out)
{
    if (i >= v->len)
        return FV_ERR_BOUNDS;
    size_t last = v->len - 1;
    give_or_drop(v->type, fv_raw_slot(&v->buf, i), out);
    if (i != last)
        shift(&v->buf, i, last, 1); /* the last element fills the hole; when i == last there is no hole */
    v->len = last;
    return FV_OK;
}

/* ---- the owning iterator ------------------------------------------------------------------------------------- */

fv_iter fv_into_iter(fv_vec *v)
{
    /* The buffer and its live elements change owner: the iterator now frees and drops them. */
    fv_iter it = {v->buf, 0, v->len, v->type};
    /* v forgets the buffer. fv_new cannot fail here: v's layout passed the same check when v was built. */
    fv_status st = fv_new(v, v->type, v->buf.alloc);
    assert(st == FV_OK);
    (void)st;
    return it;
}

bool fv_iter_next(fv_iter *it, void *out)
{
    if (it->head == it->tail)
        return false;
    void *elem = fv_raw_slot(&it->buf, it->head);
    it->head++; /* first: once handed out, the element is no longer the iterator's */
    give_or_drop(it->type, elem, out);
    return true;
}

void fv_iter_drop(fv_iter *it)
{
    size_t from = it->head;
    size_t to = it->tail;
    it->head = to; /* mark everything yielded before dropping, so a second call drops nothing */
    if (it->type->drop != NULL) {
        for (size_t i = from; i < to; i++)
            it->type->drop(fv_raw_slot(&it->buf, i)); /* SAFETY: i < tail <= cap; [head, tail) still live */
    }
    fv_raw_free(&it->buf); /* idempotent: leaves the buffer empty and dangling */
}

/* ---- the draining iterator ------------------------------------------------------------------------------------ */

fv_status fv_drain_start(fv_vec *v, size_t from, size_t to, fv_drain *out)
{
    if (from > to || to > v->len)
        return FV_ERR_BOUNDS;
    *out = (fv_drain){.vec = v, .next = from, .end = to, .tail = to, .tail_len = v->len - to};
    /* Leak amplification: while the drain lives, the vector claims only [0, from). Should the drain never be
     * ended, the range and the tail leak — but nothing is ever dropped twice. */
    v->len = from;
    return FV_OK;
}

#ifndef NDEBUG
/* The part of "do not touch the vector while it is drained" that the drain's fields can check (vec.h): the length
 * is still the drain's start, so at most `next`, and the buffer still holds the tail. A push before the first
 * element is yielded, or a shrink or free of the buffer, breaks one of the two. Used by assert() only. */
static bool drain_vec_untouched(const fv_drain *d)
{
    return d->vec->len <= d->next && d->tail + d->tail_len <= d->vec->buf.cap;
}
#endif

bool fv_drain_next(fv_drain *d, void *out)
{
    assert(drain_vec_untouched(d) && "fv_drain_next: the vector was changed while it is drained");
    if (d->next == d->end)
        return false;
    void *elem = fv_raw_slot(&d->vec->buf, d->next);
    d->next++;
    give_or_drop(d->vec->type, elem, out);
    return true;
}

void fv_drain_end(fv_drain *d)
{
    assert(drain_vec_untouched(d) && "fv_drain_end: the vector was changed while it is drained");
    fv_vec *v = d->vec;
    size_t from = d->next;
    d->next = d->end;
    for (size_t i = from; i < d->end; i++) /* what the caller did not take is dropped, in order */
        give_or_drop(v->type, fv_raw_slot(&v->buf, i), NULL);
    size_t start = v->len; /* the drain's `from`: where the tail must land */
    if (d->tail != start)
        shift(&v->buf, start, d->tail, d->tail_len);
    v->len = start + d->tail_len;
    /* What is left is an empty drain at the vector's end: ending it twice drops and moves nothing, and the debug
     * check above still holds for it. */
    d->next = d->end = d->tail = v->len;
    d->tail_len = 0;
}
