/*
 * vec.c — reference solution, chapter 01, parts 2–4: building, reading and writing a vector, dropping it, and
 * moving or borrowing what it owns.
 *
 * Invariants (on top of the fv_raw ones in rawvec.c):
 *   V1  v->len <= v->buf.cap, and v->buf.elem equals v->type->layout.
 *   V2  slots [0, len) hold live elements the vector owns; slots [len, cap) are uninitialised bytes.
 *   V3  every live element is dropped exactly once: by pop/set/truncate/clear/destroy here, or by whoever it was
 *       moved to (a pop's caller, an iterator, the owner of raw parts).
 * Pointers into the buffer are formed only for indices <= cap, so `i * size <= cap * size <= PTRDIFF_MAX`.
 */
#include "vec.h"

#include <assert.h>
#include <string.h>

/* Growth is rare (log n times in n pushes): keep it out of push's inlined fast path. GNU attributes, which both
 * gcc and clang understand. */
#define FV_COLD __attribute__((cold, noinline))

/* ---- helpers ------------------------------------------------------------------------------------------------ */

/* Slot pointers come from fv_raw_slot (rawvec.h), whose comment says why the arithmetic is in bounds. */

/* Moves one element's bytes. Each case is a constant-size memcpy, which the compiler turns into one or two
 * loads and stores once inlined; other sizes pay for a library call. 24 is three words — the size of a Rust
 * `Vec` or `String`, and of many small structs. Size 0 copies nothing: dst or src may be dangling, and memcpy on
 * a dangling pointer is undefined even for 0 bytes. SAFETY: both point to `size` valid bytes and do not overlap
 * (callers guarantee it). */
static inline void copy_elem(void *restrict dst, const void *restrict src, size_t size)
{
    /* clang-format off */
    switch (size) {
    case 0: return;
    case 1: memcpy(dst, src, 1); return;
    case 2: memcpy(dst, src, 2); return;
    case 4: memcpy(dst, src, 4); return;
    case 8: memcpy(dst, src, 8); return;
    case 16: memcpy(dst, src, 16); return;
    case 24: memcpy(dst, src, 24); return;
    case 32: memcpy(dst, src, 32); return;
    default: memcpy(dst, src, size); return;
    }
    /* clang-format on */
}

/* Runs the type's drop glue on one element, if it has any. The element's bytes stay but are dead afterwards. */
static inline void drop_elem(const fv_type *type, void *elem)
{
    if (type->drop != NULL)
        type->drop(elem);
}

/* Leaves v empty and allocation-free without freeing anything: ownership of the old buffer has moved elsewhere. */
static void leave_empty(fv_vec *v)
{
    /* Cannot fail: this layout passed fv_layout_check when v was built. */
    fv_status st = fv_raw_init(&v->buf, v->buf.elem, v->buf.alloc);
    assert(st == FV_OK);
    (void)st;
    v->len = 0;
}

/* ---- part 2: building, reading, writing ---------------------------------------------------------------------- */

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    fv_vec v = {.len = 0, .type = type};
    fv_status st = fv_raw_init(&v.buf, type->layout, alloc);
    if (st != FV_OK)
        return st;
    *out = v;
    return FV_OK;
}

fv_status fv_with_capacity(fv_vec *out, const fv_type *type, const fv_allocator *alloc, size_t cap)
{
    fv_vec v;
    fv_status st = fv_new(&v, type, alloc);
    if (st == FV_OK)
        st = fv_raw_grow_exact(&v.buf, 0, cap); /* cap 0 (or a zero-sized type) allocates nothing */
    if (st != FV_OK)
        return st; /* nothing was allocated, so nothing to free; *out untouched */
    *out = v;
    return FV_OK;
}

static FV_COLD fv_status grow_one(fv_vec *v) { return fv_raw_grow_amortized(&v->buf, v->len, 1); }

fv_status fv_push(fv_vec *v, const void *elem)
{
    assert(!fv_raw_contains(&v->buf, elem) && "fv_push: elem points into the vector, which growing may free");
    size_t len = v->len;
    if (len == v->buf.cap) { /* Rust: `if len == capacity { grow_one() }`; ZSTs never get here below SIZE_MAX */
        fv_status st = grow_one(v);
        if (st != FV_OK)
            return st;
    }
    /* SAFETY: len < cap, so slot len is uninitialised room; elem does not point into v (contract,
     * asserted above).
     * The new length comes from the local `len`, not from `v->len++`: the compiler cannot prove the element store
     * leaves *v alone (Rust's `&mut` says so, C cannot), and re-reading v->len after it would put a store-to-load
     * round trip through memory on every push. */
    copy_elem(fv_raw_slot(&v->buf, len), elem, v->buf.elem.size);
    v->len = len + 1;
    return FV_OK;
}

bool fv_pop(fv_vec *v, void *out)
{
    size_t len = v->len;
    if (len == 0)
        return false;
    v->len = --len; /* first: the slot is no longer the vector's, whatever happens next */
    void *last = fv_raw_slot(&v->buf, len);
    if (out != NULL)
        copy_elem(out, last, v->buf.elem.size); /* SAFETY: out is caller memory of elem.size bytes */
    else
        drop_elem(v->type, last);
    return true;
}

const void *fv_get(const fv_vec *v, size_t i) { return i < v->len ? fv_raw_slot(&v->buf, i) : NULL; }

void *fv_get_mut(fv_vec *v, size_t i) { return i < v->len ? fv_raw_slot(&v->buf, i) : NULL; }

fv_status fv_set(fv_vec *v, size_t i, const void *elem)
{
    assert(!fv_raw_contains(&v->buf, elem) && "fv_set: elem points into the vector, it would get two owners");
    if (i >= v->len)
        return FV_ERR_BOUNDS;
    void *dst = fv_raw_slot(&v->buf, i);
    drop_elem(v->type, dst);                /* the old value dies before its bytes are overwritten, as with `v[i] = elem` */
    copy_elem(dst, elem, v->buf.elem.size); /* SAFETY: i < len; elem is not in v (asserted) */
    return FV_OK;
}

fv_status fv_reserve(fv_vec *v, size_t additional) { return fv_raw_grow_amortized(&v->buf, v->len, additional); }

fv_status fv_reserve_exact(fv_vec *v, size_t additional) { return fv_raw_grow_exact(&v->buf, v->len, additional); }

fv_status fv_shrink_to_fit(fv_vec *v)
{
    return fv_raw_shrink_to(&v->buf, v->len); /* no-op when cap == len or for zero-sized elements */
}

/* ---- part 3: drop ------------------------------------------------------------------------------------------- */

void fv_truncate(fv_vec *v, size_t new_len)
{
    if (new_len >= v->len)
        return;
    size_t old_len = v->len;
    /* Shorten first, drop second (Rust does the same): if a drop function looks at the vector, it never sees a
     * dead element counted as live, so nothing can be dropped twice. */
    v->len = new_len;
    if (v->type->drop == NULL)
        return; /* plain data: forgetting the bytes is enough */
    for (size_t i = new_len; i < old_len; i++)
        v->type->drop(fv_raw_slot(&v->buf, i)); /* SAFETY: i < old_len <= cap; each slot dropped once */
}

void fv_clear(fv_vec *v) { fv_truncate(v, 0); }

void fv_destroy(fv_vec *v)
{
    fv_truncate(v, 0);    /* the elements, which only Vec knows about */
    fv_raw_free(&v->buf); /* then the memory, which only RawVec knows about; leaves buf empty and valid */
}

/* ---- part 4: moves and borrows ---------------------------------------------------------------------------------- */

fv_vec fv_take(fv_vec *v)
{
    fv_vec moved = *v; /* the struct copy *is* the move: ownership goes with `moved` from here on */
    leave_empty(v);
    return moved;
}

fv_raw_parts fv_into_raw_parts(fv_vec *v)
{
    fv_raw_parts parts = {v->buf.ptr, v->len, v->buf.cap};
    leave_empty(v); /* v forgets the buffer; freeing it is now the caller's job */
    return parts;
}

/* What a vector's parts must satisfy: every invariant that can be checked without trusting the caller. The byte
 * size is checked too, so the growth code's "cap <= PTRDIFF_MAX" (rawvec I4) still holds afterwards. */
static bool parts_plausible(fv_layout elem, fv_raw_parts parts)
{
    size_t bytes;
    if (parts.ptr == NULL || parts.len > parts.cap)
        return false;
    if (elem.size == 0)
        return parts.cap == SIZE_MAX;
    return fv_array_bytes(elem, parts.cap, &bytes) == FV_OK;
}

fv_status fv_from_raw_parts(fv_vec *out, const fv_type *type, const fv_allocator *alloc, fv_raw_parts parts)
{
    fv_vec v;
    fv_status st = fv_new(&v, type, alloc); /* checks the layout, allocates nothing */
    if (st != FV_OK)
        return st;
    if (!parts_plausible(type->layout, parts))
        return FV_ERR_BOUNDS;
    v.buf.ptr = parts.ptr;
    v.buf.cap = parts.cap;
    v.len = parts.len;
    *out = v;
    return FV_OK;
}

fv_slice fv_as_slice(const fv_vec *v) { return (fv_slice){v->buf.ptr, v->len, v->buf.elem.size}; }

fv_slice_mut fv_as_mut_slice(fv_vec *v) { return (fv_slice_mut){v->buf.ptr, v->len, v->buf.elem.size}; }

const void *fv_slice_get(fv_slice s, size_t i)
{
    if (i >= s.len)
        return NULL;
    /* SAFETY: i < len, and a slice covers len elements of one object, so the offset is in bounds. */
    return (const char *)s.ptr + i * s.elem_size;
}

fv_status fv_slice_range(fv_slice s, size_t from, size_t to, fv_slice *out)
{
    if (from > to || to > s.len)
        return FV_ERR_BOUNDS;
    /* SAFETY: from <= len, so the new start is inside the slice or one past its end. */
    *out = (fv_slice){(const char *)s.ptr + from * s.elem_size, to - from, s.elem_size};
    return FV_OK;
}
