/*
 * rawvec.c — chapter 01, part 1: layouts and the raw buffer; part 6 tests its zero-sized case.   (exercise skeleton)
 *
 * Everything here is about memory, never about elements: an fv_raw does not know which slots are live, so it never
 * drops anything. That is Rust's split: `RawVec` grows and frees, `Vec` counts and drops.
 *
 * Given, in rawvec_given.c: fv_status_str and the global allocator (plumbing; read them, the over-alignment notes
 * matter). Given here: the two growth wrappers, one line each around raw_grow, which is yours.
 * Yours: every function marked TODO. Each currently returns a neutral value so the file compiles and the tests run;
 * replace the body, and delete the `(void)param;` lines as you start using the parameters.
 *
 * Keep these invariants true after every function (rawvec.h states them for the struct):
 *   I1  raw->ptr != NULL, aligned to raw->elem.align.
 *   I2  elem.size == 0  =>  cap == SIZE_MAX, ptr dangling, nothing ever allocated or freed.
 *   I3  elem.size != 0 && cap == 0  =>  ptr dangling (== (void *)align).
 *   I4  elem.size != 0 && cap > 0  =>  ptr came from raw->alloc with exactly cap * elem.size bytes, and
 *       cap * elem.size <= PTRDIFF_MAX.
 */
#include "rawvec.h"

/* ---- part 1: layouts ---------------------------------------------------------------------------------------- */

fv_status fv_layout_check(fv_layout layout)
{
    /* TODO: return FV_ERR_LAYOUT unless `align` is a power of two and `size` is a multiple of it (size 0 is fine).
     * Rust: `Layout::from_size_align` refuses the same. A power of two has exactly one bit set — there is a
     * one-line bit trick for that — and zero is not one: test it first, or `align - 1` wraps and `% 0` traps. */
    (void)layout;
    return FV_ERR_TODO;
}

fv_status fv_array_bytes(fv_layout elem, size_t n, size_t *bytes)
{
    /* TODO: store `elem.size * n` in *bytes, or return FV_ERR_CAPACITY_OVERFLOW (leaving *bytes alone) when it
     * would exceed PTRDIFF_MAX. Rust: `Layout::array::<T>(n)`, which refuses anything above isize::MAX because
     * pointer differences inside one object must fit a ptrdiff_t.
     * Trap: do not multiply first and check after — size_t wraps silently and the wrapped value looks small.
     * The study's SafeVec calls `.unwrap()` here, turning this error into a panic; you return it. Divide instead:
     * `n > PTRDIFF_MAX / elem.size` (and mind elem.size == 0, a zero-sized type, whose arrays are always 0 bytes). */
    (void)elem;
    (void)n;
    (void)bytes;
    return FV_ERR_TODO;
}

/* ---- part 1: the raw buffer (part 6 tests it with zero-sized elements: invariant I2) ------------------------- */

size_t fv_min_non_zero_cap(size_t elem_size)
{
    /* TODO: Rust's `RawVec::MIN_NON_ZERO_CAP`: 8 when elem_size == 1, 4 when elem_size <= 1024, else 1.
     * Why not 1 for everything? Growing 1 → 2 → 4 is three reallocations for almost no memory saved. Why not
     * always 4? For huge elements, 4 of them may be far more than one push asked for. The study's two SafeVec
     * copies disagree here (1 vs 4); std is the reference. */
    (void)elem_size;
    return 0;
}

fv_status fv_raw_init(fv_raw *out, fv_layout elem, const fv_allocator *alloc)
{
    /* TODO: check the layout (FV_ERR_LAYOUT leaves *out untouched), then fill *out: elem, the allocator
     * (NULL means fv_global_allocator()), a dangling ptr equal to elem.align (convert the integer to a pointer;
     * it is never dereferenced), and cap = 0 — or SIZE_MAX for a zero-sized element (I2).
     * Rust: `RawVec::new_in` allocates nothing; `NonNull::dangling()` is the pointer. Trap: NULL is not a valid
     * empty pointer here — every later copy and slice would have to special-case it, and I1 forbids it. */
    (void)out;
    (void)elem;
    (void)alloc;
    return FV_ERR_TODO;
}

/* Both growth functions below are this one worker with a different policy flag — one mechanism with two flavours
 * is one function, as in Redis's `_sdsMakeRoomFor(s, addlen, greedy)`. Rust splits it the same way:
 * `grow_amortized` (behind `reserve` and every push) and `grow_exact` (behind `reserve_exact`, `with_capacity`). */
static fv_status raw_grow(fv_raw *raw, size_t len, size_t additional, bool amortized)
{
    /* TODO: if `additional <= cap - len` there is room: return FV_OK without touching anything. Otherwise:
     *   1. a zero-sized element already has cap SIZE_MAX, so needing more is FV_ERR_CAPACITY_OVERFLOW;
     *   2. required = len + additional — check it cannot wrap first (`additional > SIZE_MAX - len`);
     *   3. new_cap = required when exact; when `amortized`, max(required, 2 * cap, fv_min_non_zero_cap(elem.size))
     *      — the only line where the two flavours differ;
     *   4. bytes via fv_array_bytes (may fail with FV_ERR_CAPACITY_OVERFLOW even when required fits);
     *   5. alloc if cap == 0, else realloc from `cap * size` bytes; NULL → FV_ERR_ALLOC.
     * Why double: n pushes then cost O(n) copying in total, not O(n²). Why exact too: a caller who knows the
     * final size should not pay for twice as much.
     * Trap: `cap * 2` can overflow: the study's SafeVec does exactly this. Here it cannot, but only because I4
     * keeps cap <= PTRDIFF_MAX — say so in a comment. Trap: on any failure the buffer must be unchanged and
     * still owned — assign raw->ptr only after the allocator succeeded (SafeVec panics instead). */
    (void)raw;
    (void)len;
    (void)additional;
    (void)amortized;
    return FV_ERR_TODO;
}

fv_status fv_raw_grow_amortized(fv_raw *raw, size_t len, size_t additional)
{
    /* Given: a thin wrapper. The work, and your TODO, are in raw_grow above. */
    return raw_grow(raw, len, additional, true);
}

fv_status fv_raw_grow_exact(fv_raw *raw, size_t len, size_t additional)
{
    /* Given: a thin wrapper, exact this time (no doubling, no minimum). Rust: `grow_exact`. */
    return raw_grow(raw, len, additional, false);
}

fv_status fv_raw_shrink_to(fv_raw *raw, size_t cap)
{
    /* TODO: do nothing for a zero-sized element or when cap >= raw->cap. Shrinking to 0 must *free* the block
     * (dealloc with the old size) and leave the dangling pointer of I3, because an empty buffer owns nothing.
     * Otherwise realloc down to `cap * size` bytes; on NULL return FV_ERR_ALLOC with the buffer unchanged.
     * Rust: `RawVec::shrink_to_fit`. Trap: realloc(p, 0) is not "free" in C17 — its result is
     * implementation-defined, and the allocator interface forbids size 0 anyway. */
    (void)raw;
    (void)cap;
    return FV_ERR_TODO;
}

void fv_raw_free(fv_raw *raw)
{
    /* TODO: dealloc the block if there is one (elem.size != 0 and cap != 0), with the same size and alignment
     * it was allocated with, then reset raw to the empty state so a second call frees nothing.
     * Rust: `impl Drop for RawVec` frees memory but never drops a T — the elements are Vec's business.
     * Trap: never pass the dangling pointer to dealloc/free; it was never allocated. */
    (void)raw;
}
