/**
 * @file vec.h
 * @brief Chapter 01, parts 2–6: an owned, growable vector of run-time-typed elements.
 *
 * The prefix `fv_` (`FV_` for macros and constants) stands for *Ferrite vector*, as in rawvec.h.
 *
 * An ::fv_vec is a raw buffer (rawvec.h) plus a length: slots `[0, len)` hold live elements the vector owns,
 * slots `[len, cap)` are uninitialised. The element type is an ::fv_type — its layout and its drop function, a
 * one-entry vtable — so the vector can drop what it owns exactly once.
 *
 * **Moves.** Elements travel by bytes. Passing an element *in* (fv_push(), fv_set(), fv_insert()) moves it: on
 * success the vector owns whatever the bytes own, and the caller must not drop its copy. Taking one *out*
 * (fv_pop(), fv_remove(), an iterator) moves it to the caller, who then owns it. On failure nothing moves.
 *
 * **Borrows.** fv_get(), fv_as_slice() and friends return pointers and views that own nothing. Any call that may
 * reallocate or move elements — push, insert, reserve, shrink, remove, truncate, clear, drain, destroy, take —
 * invalidates them. rustc enforces this with lifetimes; in C, AddressSanitizer catches some violations at run time
 * and the rest are silent bugs. The chapter README lists, per function, what it invalidates.
 *
 * **Moving the vector itself.** An ::fv_vec is a plain struct, and C copies structs without asking. Treat a copy
 * as a move: after `b = a`, use `b` only. fv_take() is the safe spelling: it returns the vector and leaves the
 * source empty and valid (Rust's `std::mem::take`).
 *
 * **Misuse the reference solution asserts.** Where a rule below is cheap to check, the debug builds of the
 * reference solution (the ones `make check` runs) `assert` it, and the function says so; `-DNDEBUG` removes the
 * checks, as Rust's release profile removes `debug_assert!`. Your own code need not check them.
 */
#ifndef FERRITE_VEC_H
#define FERRITE_VEC_H

#include "ferrite.h"
#include "rawvec.h"

#include <assert.h>

/**
 * @brief The run-time description of an element type: layout plus drop glue.
 *
 * `drop` may be NULL for plain data (Rust: a type without drop glue, such as `u32`). The vector calls it once per
 * element it owns when that element is discarded; it receives a pointer to the element, which it must not free.
 * An ::fv_type is borrowed by every vector of that type and must outlive them (a `static const` is typical).
 * @rust `T`, seen through a `dyn Drop`-style vtable: `size_of::<T>()`, `align_of::<T>()`, `drop_in_place::<T>`
 */
typedef struct fv_type {
    fv_layout layout;         /**< size and alignment of one element */
    void (*drop)(void *elem); /**< drops one element in place; NULL when nothing needs dropping */
    const char *name;         /**< for traces and messages; may be NULL */
} fv_type;

/**
 * @brief An owned, growable vector.
 *
 * Owns its buffer and the `len` elements in it. Borrows `type` and the allocator (both must outlive it).
 * Must be initialised with fv_new() or fv_with_capacity() and released with fv_destroy().
 * @rust `alloc::vec::Vec<T, A>`
 */
typedef struct fv_vec {
    fv_raw buf;          /**< pointer, capacity, element layout, allocator */
    size_t len;          /**< number of live elements, `len <= buf.cap` */
    const fv_type *type; /**< borrowed element type */
} fv_vec;

/** @brief Number of live elements. @rust `Vec::len` */
static inline size_t fv_len(const fv_vec *v) { return v->len; }
/** @brief Elements the buffer can hold before it must grow; SIZE_MAX for zero-sized elements. @rust `Vec::capacity` */
static inline size_t fv_capacity(const fv_vec *v) { return v->buf.cap; }
/** @brief True when the vector holds no element. @rust `Vec::is_empty` */
static inline bool fv_is_empty(const fv_vec *v) { return v->len == 0; }

/* ---- part 2: building, reading, writing ---------------------------------------------------------------------- */

/**
 * @brief An empty vector; allocates nothing.
 * @param[out] out receives the vector; must not be NULL.
 * @param type element type, borrowed; its layout must pass fv_layout_check().
 * @param alloc allocator, borrowed; NULL means fv_global_allocator().
 * @return ::FV_OK or ::FV_ERR_LAYOUT (`*out` untouched).
 * @rust `Vec::new_in`
 */
FT_MUST_USE fv_status fv_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc);

/**
 * @brief An empty vector with room for exactly @p cap elements (none allocated when @p cap is 0).
 * @return ::FV_OK, ::FV_ERR_LAYOUT, ::FV_ERR_CAPACITY_OVERFLOW or ::FV_ERR_ALLOC (`*out` untouched on error).
 * @rust `Vec::try_with_capacity_in`
 */
FT_MUST_USE fv_status fv_with_capacity(fv_vec *out, const fv_type *type, const fv_allocator *alloc, size_t cap);

/**
 * @brief Appends a copy of the bytes at @p elem, moving ownership of the element into the vector.
 *
 * Grows like fv_raw_grow_amortized() when full. Invalidates borrows if it grows.
 * @param v the vector.
 * @param elem points to `type->layout.size` readable bytes (ignored for zero-sized types); must not point into
 *             the vector's buffer, whose growth would free it (debug builds of the reference solution assert this).
 * @return ::FV_OK, or an error from growing; on error the vector is unchanged and the caller still owns @p elem.
 * @rust `Vec::push` (which panics where this returns an error)
 */
FT_MUST_USE fv_status fv_push(fv_vec *v, const void *elem);

/**
 * @brief Removes the last element and moves it to @p out, or drops it when @p out is NULL.
 * @param v the vector.
 * @param[out] out receives the element's bytes (the caller then owns it), or NULL to drop it in place.
 * @return true if an element was removed; false if the vector was empty (`*out` untouched).
 * @rust `Vec::pop` → `Option<T>`
 */
bool fv_pop(fv_vec *v, void *out);

/**
 * @brief Borrows element @p i for reading.
 * @return a pointer into the vector valid until the next call that invalidates borrows, or NULL if `i >= len`.
 * @rust `<[T]>::get` → `Option<&T>`
 */
const void *fv_get(const fv_vec *v, size_t i);

/**
 * @brief Borrows element @p i for writing; same rules as fv_get().
 * @rust `<[T]>::get_mut` → `Option<&mut T>`
 */
void *fv_get_mut(fv_vec *v, size_t i);

/**
 * @brief Replaces element @p i with @p elem, dropping the old one.
 *
 * @p elem must not point into the vector's buffer: the element would then have two owners, or be dropped before
 * it is copied (debug builds of the reference solution assert this).
 * @return ::FV_OK, or ::FV_ERR_BOUNDS when `i >= len` (nothing dropped, the caller still owns @p elem).
 * @rust `v[i] = elem` (which drops the old value, and panics out of bounds)
 */
FT_MUST_USE fv_status fv_set(fv_vec *v, size_t i, const void *elem);

/**
 * @brief Ensures room for `len + additional` elements, growing amortised (at least doubling).
 * @return ::FV_OK, ::FV_ERR_CAPACITY_OVERFLOW or ::FV_ERR_ALLOC (vector unchanged on error).
 * @rust `Vec::try_reserve`
 */
FT_MUST_USE fv_status fv_reserve(fv_vec *v, size_t additional);

/**
 * @brief Ensures room for exactly `len + additional` elements (never more than asked when it must grow).
 * @return as fv_reserve().
 * @rust `Vec::try_reserve_exact`
 */
FT_MUST_USE fv_status fv_reserve_exact(fv_vec *v, size_t additional);

/**
 * @brief Shrinks the capacity to the length; an empty vector frees its buffer. Invalidates borrows.
 * @return ::FV_OK or ::FV_ERR_ALLOC (vector unchanged).
 * @rust `Vec::shrink_to_fit`
 */
FT_MUST_USE fv_status fv_shrink_to_fit(fv_vec *v);

/* ---- part 3: drop ------------------------------------------------------------------------------------------- */

/**
 * @brief Drops the elements at `[new_len, len)` in index order and sets the length to @p new_len.
 *
 * Does nothing when `new_len >= len`. Keeps the capacity. Invalidates borrows of the dropped elements.
 * @rust `Vec::truncate`
 */
void fv_truncate(fv_vec *v, size_t new_len);

/**
 * @brief Drops every element; keeps the capacity.
 * @rust `Vec::clear`
 */
void fv_clear(fv_vec *v);

/**
 * @brief Drops every element, frees the buffer and leaves @p v empty and valid (it may be reused or destroyed
 * again). Invalidates every borrow.
 * @rust `impl Drop for Vec<T>`
 */
void fv_destroy(fv_vec *v);

/* ---- part 4: moves and borrows ---------------------------------------------------------------------------------- */

/**
 * @brief Moves the whole vector out of @p v, leaving @p v empty, valid and allocation-free.
 *
 * Borrows taken from @p v stay valid (the buffer does not move) but now borrow from the returned vector.
 * @return the vector that @p v was.
 * @rust `std::mem::take(&mut v)`
 */
fv_vec fv_take(fv_vec *v);

/** @brief A vector taken apart: the caller owns `ptr`'s allocation and the `len` elements in it. */
typedef struct fv_raw_parts {
    void *ptr;  /**< buffer, or a dangling pointer when nothing is allocated */
    size_t len; /**< live elements */
    size_t cap; /**< capacity in elements */
} fv_raw_parts;

/**
 * @brief Gives up ownership of the buffer and elements to the caller; @p v is left empty and valid.
 * @return the parts; give them back with fv_from_raw_parts() (same type and allocator) or free them yourself.
 * @rust `Vec::into_raw_parts`
 */
fv_raw_parts fv_into_raw_parts(fv_vec *v);

/**
 * @brief Rebuilds a vector from parts, taking ownership of them.
 *
 * The parts must come from fv_into_raw_parts() of a vector with the same type layout and allocator. What can be
 * checked is: `ptr` not NULL and `len <= cap` (and `cap == SIZE_MAX` for zero-sized types), else ::FV_ERR_BOUNDS
 * and nothing is taken. An ::FV_ERR_LAYOUT type is refused the same way.
 * @rust `unsafe fn Vec::from_raw_parts_in`
 */
FT_MUST_USE fv_status fv_from_raw_parts(fv_vec *out, const fv_type *type, const fv_allocator *alloc, fv_raw_parts parts);

/**
 * @brief A shared, borrowed view of `len` contiguous elements; owns nothing.
 * @rust `&[T]`
 */
typedef struct fv_slice {
    const void *ptr;  /**< first element, never NULL (dangling when empty) */
    size_t len;       /**< number of elements */
    size_t elem_size; /**< bytes per element */
} fv_slice;

/**
 * @brief An exclusive, borrowed view of `len` contiguous elements; owns nothing.
 * @rust `&mut [T]`
 */
typedef struct fv_slice_mut {
    void *ptr;        /**< first element, never NULL (dangling when empty) */
    size_t len;       /**< number of elements */
    size_t elem_size; /**< bytes per element */
} fv_slice_mut;

/** @brief Borrows the live elements for reading; invalidated as fv_get() is. @rust `Vec::as_slice` */
fv_slice fv_as_slice(const fv_vec *v);

/** @brief Borrows the live elements for writing; invalidated as fv_get() is. @rust `Vec::as_mut_slice` */
fv_slice_mut fv_as_mut_slice(fv_vec *v);

/**
 * @brief Element @p i of a slice, or NULL when `i >= s.len`.
 * @rust `<[T]>::get`
 */
const void *fv_slice_get(fv_slice s, size_t i);

/**
 * @brief The sub-slice `[from, to)` of @p s, borrowing the same elements.
 * @param s the slice to narrow.
 * @param from first index of the sub-slice.
 * @param to one past its last index.
 * @param[out] out receives the view; untouched on error.
 * @return ::FV_OK, or ::FV_ERR_BOUNDS unless `from <= to <= s.len`.
 * @rust `<[T]>::get(from..to)` → `Option<&[T]>`
 */
FT_MUST_USE fv_status fv_slice_range(fv_slice s, size_t from, size_t to, fv_slice *out);

/* ---- part 5: editing in the middle, iterators ---------------------------------------------------------------- */

/**
 * @brief Inserts @p elem at index @p i, shifting later elements up by one.
 *
 * @p elem must not point into the vector's buffer, which the shift rewrites and growth frees (debug builds of the
 * reference solution assert this).
 * @return ::FV_OK; ::FV_ERR_BOUNDS when `i > len`; or an error from growing. On error nothing moves.
 * @rust `Vec::insert`
 */
FT_MUST_USE fv_status fv_insert(fv_vec *v, size_t i, const void *elem);

/**
 * @brief Removes element @p i, shifting later elements down; moves it to @p out or drops it when @p out is NULL.
 * @return ::FV_OK, or ::FV_ERR_BOUNDS when `i >= len` (nothing changes).
 * @rust `Vec::remove`
 */
FT_MUST_USE fv_status fv_remove(fv_vec *v, size_t i, void *out);

/**
 * @brief Removes element @p i in O(1) by moving the last element into its place; order is not kept.
 * @return ::FV_OK, or ::FV_ERR_BOUNDS when `i >= len`.
 * @rust `Vec::swap_remove`
 */
FT_MUST_USE fv_status fv_swap_remove(fv_vec *v, size_t i, void *out);

/**
 * @brief An owning iterator: yields each element by value, front to back.
 *
 * Owns the buffer and the elements not yet yielded: `[head, tail)`.
 * @rust `alloc::vec::IntoIter<T>`
 */
typedef struct fv_iter {
    fv_raw buf;          /**< the vector's former buffer */
    size_t head;         /**< next element to yield */
    size_t tail;         /**< one past the last element to yield */
    const fv_type *type; /**< borrowed element type */
} fv_iter;

/**
 * @brief Moves the vector's buffer and elements into an iterator; @p v is left empty and valid.
 * @rust `impl IntoIterator for Vec<T>` (`v.into_iter()`)
 */
fv_iter fv_into_iter(fv_vec *v);

/**
 * @brief Moves the next element to @p out (the caller owns it), or drops it when @p out is NULL.
 * @return false when no element is left.
 * @rust `Iterator::next`
 */
bool fv_iter_next(fv_iter *it, void *out);

/**
 * @brief Drops every element not yet yielded and frees the buffer. Safe to call twice.
 * @rust `impl Drop for IntoIter<T>`
 */
void fv_iter_drop(fv_iter *it);

/**
 * @brief A draining iterator over `[from, to)` of a vector, which it borrows mutably until fv_drain_end().
 *
 * While the drain lives, the vector's length is `from` (Rust's leak amplification: if the drain is forgotten, the
 * tail leaks but nothing is dropped twice). Do not touch the vector until fv_drain_end().
 *
 * Debug builds of the reference solution assert, in fv_drain_next() and fv_drain_end(), the part of that rule the
 * drain's fields can see: the length has not grown past `next`, and the capacity still covers the tail. That
 * catches, for instance, a push right after fv_drain_start(), or freeing or shrinking the buffer in mid-drain.
 * Other touches may go unseen: catching all of them would need a field the struct does not have (the start index).
 * @rust ``alloc::vec::Drain<'_, T>``
 */
typedef struct fv_drain {
    fv_vec *vec;     /**< borrowed mutably for the drain's life */
    size_t next;     /**< next index to yield */
    size_t end;      /**< one past the last index of the range */
    size_t tail;     /**< index of the first element after the range */
    size_t tail_len; /**< elements after the range */
} fv_drain;

/**
 * @brief Starts draining the elements at `[from, to)`.
 * @param v the vector, borrowed mutably until fv_drain_end().
 * @param from first index to drain.
 * @param to one past the last index to drain.
 * @param[out] out the drain; untouched on error.
 * @return ::FV_OK, or ::FV_ERR_BOUNDS unless `from <= to <= len` (the vector is unchanged).
 * @rust `Vec::drain(from..to)`
 */
FT_MUST_USE fv_status fv_drain_start(fv_vec *v, size_t from, size_t to, fv_drain *out);

/**
 * @brief Moves the next drained element to @p out (or drops it when @p out is NULL).
 *
 * Debug builds of the reference solution assert that the vector was not touched since fv_drain_start(), as far
 * as ::fv_drain describes.
 * @return false when the range is exhausted.
 * @rust `Iterator::next` on `Drain`
 */
bool fv_drain_next(fv_drain *d, void *out);

/**
 * @brief Drops what the drain did not yield, moves the tail down to close the gap and restores the length.
 *
 * Afterwards @p d is an empty drain at the vector's end, so ending it again changes nothing. Debug builds of the
 * reference solution assert, as fv_drain_next() does, that the vector was not touched while it was drained.
 * @rust ``impl Drop for Drain<'_, T>``
 */
void fv_drain_end(fv_drain *d);

/**
 * @brief Defines typed hot paths `NAME_push` and `NAME_pop` for vectors whose elements are of the C type @p T.
 *
 * fv_push() and fv_pop() copy @c layout.size bytes, a size known only at run time. Rust's `Vec<T>` is compiled
 * once per `T` instead, so its `push` inlines into the caller as one store and a length update. This macro is the
 * C spelling of that monomorphisation, applied only where it pays: the common case (room left, element moved out)
 * is an inline typed store or load; growing, and dropping a popped element, go through the generic functions,
 * which is what Rust's standard library also does (its `RawVec` grows through one non-generic function that takes
 * the element layout, to keep code size down).
 *
 * The push has the shape of Rust's: `if len == cap { grow_one() }`, then the store and the new length, on both
 * paths. Only the growth is out of line; it makes room and returns, and the store that follows uses the length
 * read before it. So a loop of pushes keeps the length in a register: every path through the push ends by
 * storing `len + 1`, which the next push reads back without going to memory. (A slow path that did the whole
 * push itself would leave the new length only in memory, and every push would reload it, a store-to-load round
 * trip on the loop's critical path.) The chapter README's "Aliasing" section measures the difference.
 *
 * The constructor restates what fv_new() guarantees, a length of 0, where the caller's compiler can see it.
 * Rust's `Vec::new()` is compiled into the function that calls it, so the optimiser knows that a new vector is
 * empty, and a loop that pushes `i` for `i` from 0 keeps one counter for both. fv_new() lives in vec.c, out of the
 * caller's sight, and without the restated 0 gcc keeps two (the README's "Aliasing" section measures it).
 *
 * Use it at file scope, once per element type: `FV_DEFINE_TYPED(u32vec, uint32_t)` gives
 * `fv_status u32vec_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)` (fv_new(), must-use),
 * `fv_status u32vec_push(fv_vec *v, uint32_t value)` (must-use, like fv_push()) and
 * `bool u32vec_pop(fv_vec *v, uint32_t *out)` (like fv_pop(), except that @p out must not be NULL).
 * The push and the pop work on any vector whose type has the layout of @p T, however it was built; a debug build
 * asserts that layout in all three.
 * @rust `impl<T> Vec<T>`: one copy of `push` and `pop` per element type (monomorphisation)
 */
#define FV_DEFINE_TYPED(NAME, T)                                                                                     \
    /* Growth, out of line and marked cold (std: `#[inline(never)] fn grow_one`); it leaves the length alone. */     \
    static __attribute__((noinline, cold)) fv_status NAME##_grow_one(fv_vec *v) { return fv_reserve(v, 1); }         \
    /* fv_new(), then the length it set, stored again where the caller's compiler sees it: a fact for the            \
     * optimiser (std: `Vec::new` is a `const fn` inlined into its caller), at the price of one store per vector. */ \
    static inline FT_MUST_USE fv_status NAME##_new(fv_vec *out, const fv_type *type, const fv_allocator *alloc)      \
    {                                                                                                                \
        assert(type->layout.size == sizeof(T) && type->layout.align == _Alignof(T));                                 \
        fv_status st = fv_new(out, type, alloc);                                                                     \
        if (st == FV_OK)                                                                                             \
            out->len = 0;                                                                                            \
        return st;                                                                                                   \
    }                                                                                                                \
    /* Local copies, not `restrict`: the header is read into locals before the element store and written once,       \
     * after it. C's aliasing rule lets a store of a T that is or holds a `uint64_t` change a `size_t` such as       \
     * `len`, and a byte copy change anything, so a field read after the store would come from memory again;         \
     * none is. `restrict` on v would promise the same for one call only, not from one push to the next: gcc and     \
     * clang emit the same push loop with it, and gcc's -flto build of the benchmark then stores the length on       \
     * every pop of its 24-byte loop. */                                                                             \
    static inline FT_MUST_USE fv_status NAME##_push(fv_vec *v, T value)                                              \
    {                                                                                                                \
        assert(v->type->layout.size == sizeof(T) && v->type->layout.align == _Alignof(T));                           \
        size_t len = v->len;                                                                                         \
        if (len == v->buf.cap) {                                                                                     \
            fv_status st = NAME##_grow_one(v);                                                                       \
            if (st != FV_OK)                                                                                         \
                return st; /* nothing stored: the vector is as it was */                                             \
        }                                                                                                            \
        /* SAFETY: len < cap now, so slot len is uninitialised room for one T inside the (possibly new) block. */    \
        T *slots = v->buf.ptr;                                                                                       \
        slots[len] = value;                                                                                          \
        v->len = len + 1;                                                                                            \
        return FV_OK;                                                                                                \
    }                                                                                                                \
    static inline bool NAME##_pop(fv_vec *v, T *out)                                                                 \
    {                                                                                                                \
        assert(out != NULL && v->type->layout.size == sizeof(T));                                                    \
        size_t len = v->len;                                                                                         \
        if (len == 0)                                                                                                \
            return false;                                                                                            \
        /* SAFETY: 0 < len <= cap, so slot len - 1 is live. Moved out: the caller owns it and nothing is dropped, */ \
        /* so nothing can observe the order; the length goes last, for the same reason as in push. */                \
        *out = ((const T *)v->buf.ptr)[len - 1];                                                                     \
        v->len = len - 1;                                                                                            \
        return true;                                                                                                 \
    }

#endif
