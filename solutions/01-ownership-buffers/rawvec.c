/*
 * rawvec.c — reference solution, chapter 01, parts 1 and 6: layouts, the global allocator, the raw buffer.
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

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* ---- part 1: statuses and layouts ------------------------------------------------------------------------- */

const char *fv_status_str(fv_status status)
{
    switch (status) {
    case FV_OK:
        return "ok";
    case FV_ERR_CAPACITY_OVERFLOW:
        return "capacity overflow";
    case FV_ERR_ALLOC:
        return "allocation failed";
    case FV_ERR_BOUNDS:
        return "index out of bounds";
    case FV_ERR_LAYOUT:
        return "invalid layout";
    case FV_ERR_TODO:
        return "not implemented yet";
    }
    return "unknown status";
}

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
    *bytes = elem.size * n;  /* cannot wrap: checked just above */
    return FV_OK;
}

/* ---- part 1: the global allocator --------------------------------------------------------------------------
 *
 * malloc's blocks are aligned for max_align_t (16 bytes on x86-64 and AArch64). A layout whose size is a multiple
 * of an alignment up to that is served by plain malloc/realloc. Above it ("over-aligned", e.g. a 64-byte cache
 * line or a 4096-byte page), two traps wait:
 *   - aligned_alloc wants a size that is a multiple of the alignment, so the request is rounded up here — only
 *     here, because callers must deallocate with the size *they* asked for, never our rounded one;
 *   - realloc keeps the contents but not the alignment, so growing means allocate, copy, free (as Rust's
 *     `System` allocator does for large alignments).
 * free() ignores size and alignment; they are in the interface for allocators that need them.
 */

#define FV_MALLOC_ALIGN alignof(max_align_t)

static void *global_alloc(void *ctx, size_t size, size_t align)
{
    (void)ctx;
    if (align <= FV_MALLOC_ALIGN)
        return malloc(size);
    /* Round size up to a multiple of align; refuse if the rounding itself would wrap. */
    if (size > SIZE_MAX - (align - 1))
        return NULL;
    size_t rounded = (size + align - 1) & ~(align - 1);
    return aligned_alloc(align, rounded);
}

static void *global_realloc(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align)
{
    if (align <= FV_MALLOC_ALIGN)
        return realloc(ptr, new_size);
    void *fresh = global_alloc(ctx, new_size, align);
    if (fresh == NULL)
        return NULL;  /* the old block is untouched, as the interface promises */
    /* SAFETY: both blocks hold at least min(old, new) bytes (non-zero by contract) and are distinct allocations. */
    memcpy(fresh, ptr, old_size < new_size ? old_size : new_size);
    free(ptr);
    return fresh;
}

static void global_dealloc(void *ctx, void *ptr, size_t size, size_t align)
{
    (void)ctx;
    (void)size;
    (void)align;
    free(ptr);
}

static const fv_allocator global_allocator = {global_alloc, global_realloc, global_dealloc, NULL};

const fv_allocator *fv_global_allocator(void)
{
    return &global_allocator;
}

/* ---- part 6: the raw buffer ---------------------------------------------------------------------------------- */

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

/* Moves the buffer to exactly new_cap elements (new_cap > cap), keeping the first cap slots. On any failure raw
 * is left exactly as it was: the new pointer is stored only once the allocator has said yes. */
static fv_status raw_set_capacity(fv_raw *raw, size_t new_cap)
{
    size_t new_bytes;
    fv_status st = fv_array_bytes(raw->elem, new_cap, &new_bytes);
    if (st != FV_OK)
        return st;
    const fv_allocator *a = raw->alloc;
    void *p;
    if (raw->cap == 0) {
        p = a->alloc(a->ctx, new_bytes, raw->elem.align);
    } else {
        /* cap * size cannot wrap: I4. */
        p = a->realloc(a->ctx, raw->ptr, raw->cap * raw->elem.size, new_bytes, raw->elem.align);
    }
    if (p == NULL)
        return FV_ERR_ALLOC;
    raw->ptr = p;
    raw->cap = new_cap;
    return FV_OK;
}

/* Rust's `needs_to_grow`; written without `cap - len` wrapping when a caller passes len > cap. */
static bool raw_has_room(const fv_raw *raw, size_t len, size_t additional)
{
    return len <= raw->cap && additional <= raw->cap - len;
}

/* `len + additional`, or FV_ERR_CAPACITY_OVERFLOW when it does not fit a size_t. For a zero-sized element any
 * growth at all is an overflow: its capacity is already SIZE_MAX (I2). */
static fv_status raw_required(const fv_raw *raw, size_t len, size_t additional, size_t *required)
{
    if (raw->elem.size == 0 || additional > SIZE_MAX - len)
        return FV_ERR_CAPACITY_OVERFLOW;
    *required = len + additional;
    return FV_OK;
}

fv_status fv_raw_grow_amortized(fv_raw *raw, size_t len, size_t additional)
{
    if (raw_has_room(raw, len, additional))
        return FV_OK;
    size_t required;
    fv_status st = raw_required(raw, len, additional, &required);
    if (st != FV_OK)
        return st;
    /* Doubling keeps a run of n pushes at O(n) total copying. `2 * cap` cannot wrap: cap <= PTRDIFF_MAX (I4).
     * The study's SafeVec multiplies without that bound, and wraps. */
    size_t new_cap = raw->cap * 2;
    if (new_cap < required)
        new_cap = required;
    size_t min_cap = fv_min_non_zero_cap(raw->elem.size);
    if (new_cap < min_cap)
        new_cap = min_cap;
    return raw_set_capacity(raw, new_cap);
}

fv_status fv_raw_grow_exact(fv_raw *raw, size_t len, size_t additional)
{
    if (raw_has_room(raw, len, additional))
        return FV_OK;
    size_t required;
    fv_status st = raw_required(raw, len, additional, &required);
    if (st != FV_OK)
        return st;
    return raw_set_capacity(raw, required);
}

fv_status fv_raw_shrink_to(fv_raw *raw, size_t cap)
{
    if (raw->elem.size == 0 || cap >= raw->cap)
        return FV_OK;
    const fv_allocator *a = raw->alloc;
    size_t old_bytes = raw->cap * raw->elem.size;  /* cannot wrap: I4 */
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
