/**
 * @file rawvec.h
 * @brief Chapter 01, parts 1 and 6: layouts, allocators and the raw buffer under a vector.
 *
 * The prefix `fv_` (`FV_` for macros and constants) stands for *Ferrite vector*: every name the chapter exports
 * carries it.
 *
 * Rust splits `Vec<T>` in two. `RawVec` owns an allocation and knows its capacity, nothing else; `Vec` adds a
 * length and knows which slots hold live elements. This header is the `RawVec` half, in C.
 *
 * **Generic by layout.** C has no generics, so the element type is described at run time: an ::fv_layout (size
 * and alignment, Rust's `Layout`) for the raw buffer, and an ::fv_type (layout plus a drop function, the C
 * spelling of a trait object's vtable) for the vector. Rust's own standard library does the same inside:
 * `RawVecInner` takes the element layout as an argument so that the growth code is compiled once, not once per `T`.
 *
 * **Error convention.** Every fallible function returns an ::fv_status; ::FV_OK is zero and every error is
 * negative. They are marked FT_MUST_USE (ferrite.h's `warn_unused_result`): ignoring one is a compile error under
 * `-Werror`, the way an unused `Result` is a lint in Rust.
 *
 * **Ownership.** An ::fv_raw owns the memory at `ptr` when `cap > 0` and the element size is not zero. It never owns
 * the elements inside (it does not know which slots are live) and it never owns its allocator, which must outlive it.
 * `ptr` is never NULL: an empty buffer or a buffer of zero-sized elements holds a *dangling* pointer equal to the
 * alignment — non-null, aligned, never dereferenced, never freed (Rust's `NonNull::dangling()`).
 */
#ifndef FERRITE_RAWVEC_H
#define FERRITE_RAWVEC_H

#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief Status of a fallible operation: zero on success, a negative error otherwise.
 * @rust `Result<(), TryReserveError>` and friends — errors are values, not panics.
 */
typedef enum fv_status {
    FV_OK = 0,                     /**< success */
    FV_ERR_CAPACITY_OVERFLOW = -1, /**< size in bytes overflows, or exceeds PTRDIFF_MAX (Rust: `CapacityOverflow`) */
    FV_ERR_ALLOC = -2,             /**< the allocator returned NULL (Rust: `AllocError`) */
    FV_ERR_BOUNDS = -3,            /**< an index or range lies outside the vector */
    FV_ERR_LAYOUT = -4,            /**< alignment not a power of two, or size not a multiple of it */
    FV_ERR_TODO = -99,             /**< returned by the exercise skeleton: this function is not written yet */
} fv_status;

/**
 * @brief A short, constant, human name for a status ("capacity overflow", ...).
 *
 * Given: defined once in rawvec_given.c, which the chapter supplies and both the skeleton and the solution link.
 * @param status any value of ::fv_status.
 * @return a static string; the caller owns nothing.
 * @rust `impl Display for TryReserveError`
 */
const char *fv_status_str(fv_status status);

/**
 * @brief Size and alignment of one element.
 *
 * Valid when `align` is a power of two and `size` is a multiple of `align` (true of every C type). `size` may be 0:
 * a zero-sized type (ZST) such as Rust's `()`.
 * @rust `core::alloc::Layout`
 */
typedef struct fv_layout {
    size_t size;  /**< bytes per element; 0 for a zero-sized type */
    size_t align; /**< required alignment in bytes; a power of two */
} fv_layout;

/** The layout of C type @p T. @rust `Layout::new::<T>()` */
#define FV_LAYOUT_OF(T) ((fv_layout){sizeof(T), _Alignof(T)})

/**
 * @brief Checks that a layout is valid.
 * @return ::FV_OK, or ::FV_ERR_LAYOUT when `align` is not a power of two or `size` is not a multiple of it.
 * @rust `Layout::from_size_align`
 */
FT_MUST_USE fv_status fv_layout_check(fv_layout layout);

/**
 * @brief Bytes needed for @p n elements of @p elem, refusing what cannot be allocated.
 *
 * Fails with ::FV_ERR_CAPACITY_OVERFLOW when `elem.size * n` overflows `size_t` or exceeds `PTRDIFF_MAX` (pointer
 * differences inside one object must fit `ptrdiff_t`, and no allocator may hand out more). Never undefined behaviour.
 * @param elem a valid layout.
 * @param n number of elements.
 * @param[out] bytes receives the size on success; untouched on failure. Must not be NULL.
 * @rust `Layout::array::<T>(n)`
 */
FT_MUST_USE fv_status fv_array_bytes(fv_layout elem, size_t n, size_t *bytes);

/**
 * @brief An allocator the caller can inject: three functions and a context.
 *
 * Every size passed is non-zero and every alignment a power of two. `realloc` must keep the first
 * `min(old_size, new_size)` bytes and honour `align`; `dealloc` receives the same size and alignment the block
 * was allocated or last reallocated with. A failure returns NULL and leaves the old block untouched.
 * The vector never owns the allocator: it must outlive every buffer allocated from it.
 * @rust `core::alloc::Allocator` (`allocate`, `grow`/`shrink`, `deallocate`)
 */
typedef struct fv_allocator {
    void *(*alloc)(void *ctx, size_t size, size_t align);                                   /**< a new block */
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size, size_t align); /**< resize a block */
    void (*dealloc)(void *ctx, void *ptr, size_t size, size_t align);                       /**< free a block */
    void *ctx;                                                                              /**< passed to each */
} fv_allocator;

/**
 * @brief The process-wide default allocator (malloc family; `aligned_alloc` for over-aligned layouts).
 *
 * Given: defined once in rawvec_given.c, like fv_status_str(); read it for what over-aligned layouts need.
 * @return a pointer to a static allocator; never NULL, owned by nobody.
 * @rust `std::alloc::Global`
 */
const fv_allocator *fv_global_allocator(void);

/**
 * @brief A raw buffer: pointer and capacity, with no idea which slots are live.
 *
 * Invariants: `ptr != NULL`; if `elem.size == 0`, `cap == SIZE_MAX` and nothing is ever allocated; else if
 * `cap == 0`, `ptr` is dangling (equal to `elem.align`); else `ptr` points to `cap * elem.size` bytes from `alloc`.
 * @rust `alloc::raw_vec::RawVec<T, A>`
 */
typedef struct fv_raw {
    void *ptr;                 /**< the allocation, or dangling; never NULL */
    size_t cap;                /**< capacity in elements */
    fv_layout elem;            /**< layout of one element */
    const fv_allocator *alloc; /**< borrowed: must outlive the buffer */
} fv_raw;

/**
 * @brief Pointer to slot @p i of the buffer: `ptr + i * elem.size`, the one place the chapter computes it.
 *
 * Given, so that every file of the vector shares it. The caller passes `i <= cap`; the offset then stays inside
 * the block or one past its end, and cannot wrap, because `cap * elem.size <= PTRDIFF_MAX`. For a zero-sized
 * element the offset is 0 and the dangling pointer comes back.
 * @param raw the buffer, borrowed for the call.
 * @param i a slot index, at most `raw->cap`.
 * @return a pointer into @p raw's block that owns nothing; what it may be used for depends on whether slot @p i
 *         is live, which only the vector knows. Invalidated when the buffer grows, shrinks or is freed.
 * @rust `NonNull::add` on `RawVec::ptr()`: `self.ptr().add(i)`
 */
static inline void *fv_raw_slot(const fv_raw *raw, size_t i) { return (char *)raw->ptr + i * raw->elem.size; }

/**
 * @brief True when @p p points into the buffer's block, `[ptr, ptr + cap * elem.size)`.
 *
 * Given, for the debug checks that an element passed in by pointer is not one the buffer already holds. It
 * compares addresses as integers, since C leaves `<` between pointers into different objects undefined. A buffer
 * that owns no block (empty, or of zero-sized elements) contains nothing.
 * @param raw the buffer, borrowed for the call.
 * @param p any pointer, only compared, never dereferenced; may be NULL.
 * @rust `<[T]>::as_ptr_range().contains(&p)` over the whole capacity
 */
static inline bool fv_raw_contains(const fv_raw *raw, const void *p)
{
    size_t bytes = raw->cap * raw->elem.size;          /* cannot wrap (I4); 0 for an empty buffer or zero-sized elements */
    return (uintptr_t)p - (uintptr_t)raw->ptr < bytes; /* below ptr wraps to a huge offset: also false */
}

/**
 * @brief First capacity Rust's `Vec` picks when it grows from empty.
 * @return 8 when `elem_size == 1`, 4 when `elem_size <= 1024`, else 1.
 * @rust `RawVec::MIN_NON_ZERO_CAP`
 */
size_t fv_min_non_zero_cap(size_t elem_size);

/**
 * @brief An empty raw buffer that allocates nothing.
 * @param[out] out receives the buffer; must not be NULL. Owns nothing afterwards, so fv_raw_free is optional.
 * @param elem element layout; checked with fv_layout_check.
 * @param alloc allocator, borrowed for the buffer's life; NULL means fv_global_allocator().
 * @return ::FV_OK or ::FV_ERR_LAYOUT (then `*out` is untouched).
 * @rust `RawVec::new_in`
 */
FT_MUST_USE fv_status fv_raw_init(fv_raw *out, fv_layout elem, const fv_allocator *alloc);

/**
 * @brief Makes room for `len + additional` elements, growing to at least double the old capacity.
 *
 * New capacity = max(`len + additional`, `2 * cap`, fv_min_non_zero_cap()). Nothing happens when the buffer already
 * has room. On success the old contents (first `cap` slots) are kept and every pointer into the old buffer is
 * invalidated. On failure the buffer is unchanged and still owned by @p raw.
 * @return ::FV_OK, ::FV_ERR_CAPACITY_OVERFLOW (`len + additional` or the byte size overflows) or ::FV_ERR_ALLOC.
 * @rust `RawVec::grow_amortized` (via `try_reserve`)
 */
FT_MUST_USE fv_status fv_raw_grow_amortized(fv_raw *raw, size_t len, size_t additional);

/**
 * @brief Makes room for exactly `len + additional` elements (no doubling).
 *
 * Same contract as fv_raw_grow_amortized(), without the amortisation.
 * @rust `RawVec::grow_exact` (via `try_reserve_exact`)
 */
FT_MUST_USE fv_status fv_raw_grow_exact(fv_raw *raw, size_t len, size_t additional);

/**
 * @brief Shrinks the allocation to @p cap elements; to 0 frees it and leaves a dangling pointer.
 *
 * Does nothing if @p cap is not below the current capacity or the element is zero-sized. The caller must already
 * have dropped or moved any elements at index `cap` or above. Invalidates pointers into the buffer.
 * @return ::FV_OK, or ::FV_ERR_ALLOC (the buffer is then unchanged).
 * @rust `RawVec::shrink_to_fit`
 */
FT_MUST_USE fv_status fv_raw_shrink_to(fv_raw *raw, size_t cap);

/**
 * @brief Frees the allocation (not the elements) and leaves @p raw empty and valid.
 *
 * Safe to call on an empty buffer and to call twice.
 * @rust `impl Drop for RawVec` (it frees memory but never drops a `T`)
 */
void fv_raw_free(fv_raw *raw);

#endif
