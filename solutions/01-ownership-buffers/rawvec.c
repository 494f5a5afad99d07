/*
 * rawvec.c — reference solution, chapter 01, parts 1 and 6: layouts and the raw buffer.
 *
 * Everything here is about memory, nothing about elements: an fv_raw never knows which slots are live, so it never
 * drops anything. That split is Rust's: `RawVec` grows and frees, `Vec` counts and drops.
 *
 * Invariants kept by every function below (rawvec.h states them for the struct):
 *   I1  raw->ptr != NULL, aligned to raw->elem.align.
 *   I2  elem.size == 0  =>  cap == SIZE_MAX, ptr dangling, nothing ever allocated or freed.
 *   I3  elem.size != 0 && cap == 0  =>  ptr dangling (== (void *)align).
 *   I4  elem.size != 0 && cap > 0  =>  ptr came from raw->alloc with exactly cap * elem.size bytes, and
 *       cap * elem.size <= PTRDIFF_MAX (so cap <= PTRDIFF_MAX and `2 * cap` cannot overflow a size_t).
 */
#include "rawvec.h"

/* ---- part 1: layouts (the status names and the global allocator are given, in rawvec_given.c) --------------- */

fv_status fv_layout_check(fv_layout layout)
{
    /* A power of two has exactly one bit set: clearing the lowest set bit leaves zero. Zero itself is refused. */
    bool pow2 = layout.align != 0 && (layout.align & (layout.align - 1)) == 0;
    if (!pow2 || layout.size % layout.align != 0)
        return FV_ERR_LAYOUT;
    return FV_OK;
}

fv_status fv_array_bytes(fv_layout elem, size_t n, size_t *bytes)
{
    /* Divide instead of multiplying: `elem.size * n` could wrap, the quotient cannot. Same test as
     * `Layout::array`, which refuses anything above isize::MAX. */
    /* The cast is exact: PTRDIFF_MAX is positive and below SIZE_MAX. */
    if (elem.size != 0 && n > (size_t)PTRDIFF_MAX / elem.size)
        return FV_ERR_CAPACITY_OVERFLOW;
    *bytes = elem.size * n; /* cannot wrap: checked just above */
    return FV_OK;
}

/* ---- part 1: the raw buffer (part 6 tests it with zero-sized elements: invariant I2) ------------------------- */

size_t fv_min_non_zero_cap(size_t elem_size)
{
    /* Rust's heuristic: tiny elements are cheap, so start at 8 bytes; most others at 4 elements; very large
     * elements at 1, so a single push never asks for more than it needs by a large margin. */
    if (elem_size == 1)
        return 8;
    if (elem_size <= 1024)
        return 4;
    return 1;
}

/* The NonNull::dangling() of a layout: the alignment itself, a non-null, aligned address that is never used. */
static void *dangling(fv_layout elem)
{
    /* SAFETY: integer-to-pointer conversion; the pointer is only stored and compared, never dereferenced. */
    return (void *)(uintptr_t)elem.align;
}

/* Leaves raw empty (I2/I3) without touching memory: the caller has already freed or handed over the block. */
static void raw_reset(fv_raw *raw)
{
    raw->ptr = dangling(raw->elem);
    raw->cap = raw->elem.size == 0 ? SIZE_MAX : 0;
}

fv_status fv_raw_init(fv_raw *out, fv_layout elem, const fv_allocator *alloc)
{
    fv_status st = fv_layout_check(elem);
    if (st != FV_OK)
        return st;
    out->elem = elem;
    out->alloc = alloc != NULL ? alloc : fv_global_allocator();
    raw_reset(out);
    return FV_OK;
}

/* The one growth path, with a flag for the policy (Redis's `_sdsMakeRoomFor(s, addlen, greedy)` shape): makes room
 * for `len + additional` elements, amortised (at least doubling, Rust's `grow_amortized`) or exact (`grow_exact`).
 * On any failure raw is left exactly as it was: the new pointer is stored only once the allocator has said yes. */
static fv_status raw_grow(fv_raw *raw, size_t len, size_t additional, bool amortized)
{
    /* Rust's `needs_to_grow`, written so that `cap - len` cannot wrap when a caller passes len > cap. */
    if (len <= raw->cap && additional <= raw->cap - len)
        return FV_OK;
    /* A zero-sized element already has capacity SIZE_MAX (I2): needing more is an overflow, as is a wrapping sum. */
    if (raw->elem.size == 0 || additional > SIZE_MAX - len)
        return FV_ERR_CAPACITY_OVERFLOW;
    size_t new_cap = len + additional;
    if (amortized) {
        /* Doubling keeps a run of n pushes at O(n) total copying. `2 * cap` cannot wrap: cap <= PTRDIFF_MAX (I4).
         * The study's SafeVec multiplies without that bound, and wraps. */
        if (new_cap < raw->cap * 2)
            new_cap = raw->cap * 2;
        size_t min_cap = fv_min_non_zero_cap(raw->elem.size);
        if (new_cap < min_cap)
            new_cap = min_cap;
    }
    size_t new_bytes;
    fv_status st = fv_array_bytes(raw->elem, new_cap, &new_bytes);
    if (st != FV_OK)
        return st;
    const fv_allocator *a = raw->alloc;
    void *p;
    if (raw->cap == 0)
        p = a->alloc(a->ctx, new_bytes, raw->elem.align);
    else /* cap * size cannot wrap: I4 */
        p = a->realloc(a->ctx, raw->ptr, raw->cap * raw->elem.size, new_bytes, raw->elem.align);
    if (p == NULL)
        return FV_ERR_ALLOC;
    raw->ptr = p;
    raw->cap = new_cap;
    return FV_OK;
}

fv_status fv_raw_grow_amortized(fv_raw *raw, size_t len, size_t additional) { return raw_grow(raw, len, additional, true); }

fv_status fv_raw_grow_exact(fv_raw *raw, size_t len, size_t additional) { return raw_grow(raw, len, additional, false); }

fv_status fv_raw_shrink_to(fv_raw *raw, size_t cap)
{
    if (raw->elem.size == 0 || cap >= raw->cap)
        return FV_OK;
    const fv_allocator *a = raw->alloc;
    size_t old_bytes = raw->cap * raw->elem.size; /* cannot wrap: I4 */
    if (cap == 0) {
        /* Shrinking to nothing frees: an empty buffer owns no block (I3), exactly like a new one. */
        a->dealloc(a->ctx, raw->ptr, old_bytes, raw->elem.align);
        raw_reset(raw);
        return FV_OK;
    }
    /* cap < raw->cap, so cap * size < old_bytes: no overflow. */
    void *p = a->realloc(a->ctx, raw->ptr, old_bytes, cap * raw->elem.size, raw->elem.align);
    if (p == NULL)
        return FV_ERR_ALLOC;
    raw->ptr = p;
    raw->cap = cap;
    return FV_OK;
}

void fv_raw_free(fv_raw *raw)
{
    /* Only a real block is freed (I4); the dangling pointer of I2/I3 was never allocated. Resetting afterwards
     * makes a second call a no-op instead of a double free. */
    if (raw->elem.size != 0 && raw->cap != 0) {
        const fv_allocator *a = raw->alloc;
        a->dealloc(a->ctx, raw->ptr, raw->cap * raw->elem.size, raw->elem.align);
    }
    raw_reset(raw);
}
