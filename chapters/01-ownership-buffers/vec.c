/*
 * vec.c — chapter 01, parts 2–4: building, reading and writing a vector, dropping it, and moving or borrowing
 * what it owns.   (exercise skeleton)
 *
 * Every function below is yours. Each returns a neutral value so the file compiles and the tests run; replace the
 * body and delete the `(void)param;` lines as you start using the parameters.
 *
 * Invariants to keep (on top of the fv_raw ones in rawvec.c):
 *   V1  v->len <= v->buf.cap, and v->buf.elem equals v->type->layout.
 *   V2  slots [0, len) hold live elements the vector owns; slots [len, cap) are uninitialised bytes.
 *   V3  every live element is dropped exactly once: here, or by whoever it was moved to.
 *
 * Given in rawvec.h: `fv_raw_slot(&v->buf, i)`, the pointer to slot i, `(char *)ptr + i * elem.size`. Its comment
 * says why the arithmetic is in bounds; vec_iter.c uses the same one, so the pointer arithmetic exists once.
 *
 * Suggested static helpers, written once and used everywhere (a file of copy-pasted code is where off-by-one bugs
 * hide):
 *   - `copy_elem(dst, src, size)`: copies one element. A `switch` with `memcpy(dst, src, 4)` and friends for
 *     sizes 1, 2, 4, 8, 16 lets the compiler emit a single load/store; size 0 must copy nothing, because a
 *     dangling pointer passed to memcpy is undefined behaviour even for 0 bytes.
 *   - `drop_elem(type, p)`: calls type->drop(p) if it is not NULL.
 * fv_push and fv_pop are the hot path (the benchmark inlines them): keep the `len < cap` case short and put growth
 * in a separate `__attribute__((cold, noinline))` function.
 */
#include "vec.h"

#include <string.h>

/* ---- part 2: building, reading, writing ---------------------------------------------------------------------- */

fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)
{
    /* TODO: an empty vector — fv_raw_init the buffer from type->layout, len 0, borrow type. On error leave *out
     * untouched (build into a local, assign at the end). Rust: `Vec::new_in` allocates nothing. */
    (void)out;
    (void)type;
    (void)alloc;
    return FV_ERR_TODO;
}

fv_status fv_with_capacity(fv_vec *out, const fv_type *type, const fv_allocator *alloc, size_t cap)
{
    /* TODO: fv_new, then fv_raw_grow_exact(&buf, 0, cap). Exact, not amortised: the caller said how many.
     * cap 0 and zero-sized types allocate nothing. Rust: `Vec::try_with_capacity_in` — the `try_` matters: an
     * impossible capacity is FV_ERR_CAPACITY_OVERFLOW, not a crash. *out untouched on any error. */
    (void)out;
    (void)type;
    (void)alloc;
    (void)cap;
    return FV_ERR_TODO;
}

fv_status fv_push(fv_vec *v, const void *elem)
{
    /* TODO: if len == cap, grow amortised by one (a cold, out-of-line helper); on error return it with the
     * vector unchanged. Then copy elem.size bytes from elem into slot len and increment len.
     * Rust: `Vec::push` — `if len == capacity { grow_one() }`. The bytes move ownership in: from now on the
     * vector drops this element, so the caller must not. Trap: copy before incrementing len, never after a
     * failed grow; and for a zero-sized type elem may be NULL — copy nothing. */
    (void)v;
    (void)elem;
    return FV_ERR_TODO;
}

bool fv_pop(fv_vec *v, void *out)
{
    /* TODO: false when empty. Otherwise decrement len *first*, then either copy the last element to out (the
     * caller owns it now) or, when out is NULL, drop it in place. Rust: `Vec::pop` → `Option<T>`; the study's
     * SafeVec has no pop at all, so its elements can only leave through Drop.
     * Trap: dropping *and* copying out would give the caller an element that is already dead. */
    (void)v;
    (void)out;
    return false;
}

const void *fv_get(const fv_vec *v, size_t i)
{
    /* TODO: pointer to slot i if i < len, else NULL. Rust: `<[T]>::get` → `Option<&T>`. Compare with len, not
     * cap: slots past len are uninitialised, reading them is the bug Rust's bounds check exists for. */
    (void)v;
    (void)i;
    return NULL;
}

void *fv_get_mut(fv_vec *v, size_t i)
{
    /* TODO: as fv_get, writable. Rust: `get_mut` → `Option<&mut T>`. Only one mutable borrow may live at a
     * time in Rust; in C nothing stops two, so the pointer must not outlive the next push. */
    (void)v;
    (void)i;
    return NULL;
}

fv_status fv_set(fv_vec *v, size_t i, const void *elem)
{
    /* TODO: FV_ERR_BOUNDS if i >= len (drop nothing). Otherwise drop the old element, then copy elem over it.
     * Rust: `v[i] = elem` drops the old value — forgetting that is a leak of whatever it owned. */
    (void)v;
    (void)i;
    (void)elem;
    return FV_ERR_TODO;
}

fv_status fv_reserve(fv_vec *v, size_t additional)
{
    /* TODO: room for len + additional, amortised (fv_raw_grow_amortized). Rust: `Vec::try_reserve`. */
    (void)v;
    (void)additional;
    return FV_ERR_TODO;
}

fv_status fv_reserve_exact(fv_vec *v, size_t additional)
{
    /* TODO: room for exactly len + additional (fv_raw_grow_exact). Rust: `Vec::try_reserve_exact`. */
    (void)v;
    (void)additional;
    return FV_ERR_TODO;
}

fv_status fv_shrink_to_fit(fv_vec *v)
{
    /* TODO: shrink the buffer to len (fv_raw_shrink_to); an empty vector ends up owning no allocation.
     * Rust: `Vec::shrink_to_fit`. It moves the buffer: every borrow is invalid afterwards. */
    (void)v;
    return FV_ERR_TODO;
}

/* ---- part 3: drop ------------------------------------------------------------------------------------------- */

void fv_truncate(fv_vec *v, size_t new_len)
{
    /* TODO: nothing if new_len >= len. Otherwise set len = new_len *first*, then drop [new_len, old len) in
     * index order (skip the loop when type->drop is NULL). Rust: `Vec::truncate` shortens before dropping, so a
     * drop function that looks at the vector never sees a dead element still counted as live. Keep capacity. */
    (void)v;
    (void)new_len;
}

void fv_clear(fv_vec *v)
{
    /* TODO: drop every element, keep the capacity. Rust: `Vec::clear` is `truncate(0)`. */
    (void)v;
}

void fv_destroy(fv_vec *v)
{
    /* TODO: drop the elements (Vec's job), then fv_raw_free the buffer (RawVec's job), leaving v empty and valid
     * so destroying twice is harmless. Rust: `impl Drop for Vec`, then `RawVec`'s drop. Trap: freeing the buffer
     * before dropping the elements reads freed memory; forgetting the elements leaks what they own. */
    (void)v;
}

/* ---- part 4: moves and borrows ---------------------------------------------------------------------------------- */

fv_vec fv_take(fv_vec *v)
{
    /* TODO: copy *v to a result, then make v empty, valid and allocation-free again (same type and allocator,
     * dangling buffer, len 0). Rust: `std::mem::take`. Trap: a plain struct copy leaves two owners of one
     * buffer — destroy both and it is freed twice; the reset is what makes the copy a move. */
    fv_vec empty = {0};
    (void)v;
    return empty;
}

fv_raw_parts fv_into_raw_parts(fv_vec *v)
{
    /* TODO: return {ptr, len, cap} and leave v empty (as fv_take does): the caller now owns the allocation and
     * the elements. Rust: `Vec::into_raw_parts` — nothing is freed or dropped here. */
    fv_raw_parts none = {0};
    (void)v;
    return none;
}

fv_status fv_from_raw_parts(fv_vec *out, const fv_type *type, const fv_allocator *alloc, fv_raw_parts parts)
{
    /* TODO: check the layout (FV_ERR_LAYOUT), then what can be checked of the parts: ptr != NULL,
     * len <= cap, and cap == SIZE_MAX for a zero-sized type (FV_ERR_BOUNDS otherwise, nothing taken). Then
     * rebuild the vector around them. Rust: `unsafe fn Vec::from_raw_parts_in` — unsafe because the rest
     * (same allocator, same layout, cap really allocated) cannot be checked: you are trusting the caller. */
    (void)out;
    (void)type;
    (void)alloc;
    (void)parts;
    return FV_ERR_TODO;
}

fv_slice fv_as_slice(const fv_vec *v)
{
    /* TODO: {buf.ptr, len, elem size} — a view of the live elements only, never the spare capacity.
     * Rust: `Vec::as_slice` → `&[T]`; it borrows, owns nothing, and is invalidated by any reallocation. */
    fv_slice none = {0};
    (void)v;
    return none;
}

fv_slice_mut fv_as_mut_slice(fv_vec *v)
{
    /* TODO: as fv_as_slice, writable. Rust: `Vec::as_mut_slice` → `&mut [T]`. */
    fv_slice_mut none = {0};
    (void)v;
    return none;
}

const void *fv_slice_get(fv_slice s, size_t i)
{
    /* TODO: pointer to element i if i < s.len, else NULL. Rust: `<[T]>::get`. */
    (void)s;
    (void)i;
    return NULL;
}

fv_status fv_slice_range(fv_slice s, size_t from, size_t to, fv_slice *out)
{
    /* TODO: FV_ERR_BOUNDS unless from <= to <= s.len (check both: `to - from` wraps when from > to). Otherwise
     * *out = the elements [from, to), same storage. Rust: `s.get(from..to)` → `Option<&[T]>`. */
    (void)s;
    (void)from;
    (void)to;
    (void)out;
    return FV_ERR_TODO;
}
