/*
 * Part 1: the raw buffer. The growth policy of Rust's RawVec, and what a refusing allocator must leave behind
 * (layouts and byte sizes are in test_layout.c). Every buffer here comes from a counting allocator, so "allocates
 * nothing", "frees what it allocated" and "never asks for an impossible size" are checked, not assumed.
 */
#include "support.h"

#include <string.h>

FT_PART(1, "raw buffer: layouts, growth, failure");

static const fv_layout L_U8 = {1, 1};
static const fv_layout L_U32 = {4, 4};

/* Writes value i into slot i of a u32 buffer, for slots [from, to). */
static void fill_u32(fv_raw *r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        ((uint32_t *)r->ptr)[i] = (uint32_t)(i * 3 + 1);
}

/* Fails the test unless slots [0, n) still hold what fill_u32 wrote. */
static void assert_filled_u32(const fv_raw *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(((const uint32_t *)r->ptr)[i] == (uint32_t)(i * 3 + 1),
                      "slot %zu holds %u after growing, expected %u: contents were not kept", i,
                      ((const uint32_t *)r->ptr)[i], (uint32_t)(i * 3 + 1));
}

FT_TEST(1, empty_buffer_allocates_nothing_and_dangles_at_its_alignment, 1,
        "An empty RawVec owns no memory: cap 0 and ptr = (void *)align (NonNull::dangling), never NULL and "
        "never passed to the allocator. NULL means fv_global_allocator(). A bad layout leaves *out untouched.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r, r64;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_uint_eq(r.cap, 0);
    ck_assert_ptr_eq(r.ptr, DANGLING(4));
    ck_assert_ptr_eq(r.alloc, &ca.iface);
    ck_assert_uint_eq(r.elem.size, 4);
    ck_assert_uint_eq(r.elem.align, 4);
    ck_assert_int_eq(fv_raw_init(&r64, (fv_layout){64, 64}, &ca.iface), FV_OK);
    ck_assert_ptr_eq(r64.ptr, DANGLING(64));

    fv_raw saved = r;
    ck_assert_int_eq(fv_raw_init(&r, (fv_layout){6, 4}, &ca.iface), FV_ERR_LAYOUT);
    ck_assert_mem_eq(&r, &saved, sizeof r);

    fv_raw_free(&r);
    fv_raw_free(&r64);
    ASSERT_NO_ALLOCATOR_CALLS(&ca);

    fv_raw g;
    ck_assert_int_eq(fv_raw_init(&g, L_U32, NULL), FV_OK);
    ck_assert_ptr_nonnull(g.alloc);
    ck_assert_ptr_eq(g.alloc, fv_global_allocator());
}

FT_TEST(1, grow_amortized_goes_4_8_16_32_for_4_byte_elements, 2,
        "Growth must at least double: Rust's RawVec::grow_amortized takes max(len + additional, 2 * cap, "
        "MIN_NON_ZERO_CAP). 2 * cap alone stays 0 from an empty buffer; the minimum alone never doubles.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    const size_t expect[] = {4, 8, 16, 32};
    for (size_t k = 0; k < 4; k++) {
        ck_assert_int_eq(fv_raw_grow_amortized(&r, r.cap, 1), FV_OK);
        ck_assert_uint_eq(r.cap, expect[k]);
        ck_assert_uint_eq(ca_block_size(&ca, r.ptr), expect[k] * 4);
        ck_assert_uint_eq(ca.n_live, 1);
    }
    fv_raw_free(&r);
    ck_assert_uint_eq(r.cap, 0);
    ck_assert_ptr_eq(r.ptr, DANGLING(4));
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, grow_amortized_first_capacity_depends_on_element_size, 1,
        "The first capacity is fv_min_non_zero_cap(elem.size): 8 for bytes, 4 up to 1 KiB, 1 above; after that "
        "the buffer doubles. The study's SafeVec picked 1 or 4 for every type.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw bytes, big, kib;
    ck_assert_int_eq(fv_raw_init(&bytes, L_U8, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_init(&big, (fv_layout){2048, 8}, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_init(&kib, (fv_layout){1024, 8}, &ca.iface), FV_OK);

    ck_assert_int_eq(fv_raw_grow_amortized(&bytes, 0, 1), FV_OK);
    ck_assert_uint_eq(bytes.cap, 8);
    ck_assert_uint_eq(ca_block_size(&ca, bytes.ptr), 8);
    ck_assert_int_eq(fv_raw_grow_amortized(&bytes, 8, 1), FV_OK);
    ck_assert_uint_eq(bytes.cap, 16);

    ck_assert_int_eq(fv_raw_grow_amortized(&big, 0, 1), FV_OK);
    ck_assert_uint_eq(big.cap, 1);
    ck_assert_int_eq(fv_raw_grow_amortized(&big, 1, 1), FV_OK);
    ck_assert_uint_eq(big.cap, 2);
    ck_assert_uint_eq(ca_block_size(&ca, big.ptr), 4096);

    ck_assert_int_eq(fv_raw_grow_amortized(&kib, 0, 1), FV_OK);
    ck_assert_uint_eq(kib.cap, 4);

    fv_raw_free(&bytes);
    fv_raw_free(&big);
    fv_raw_free(&kib);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, grow_amortized_takes_the_request_when_above_double_and_skips_when_room, 1,
        "When len + additional exceeds 2 * cap, the new capacity is len + additional, not 2 * cap (which would "
        "be too small). When the buffer already has room, nothing may be reallocated.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 4, 20), FV_OK);
    ck_assert_uint_eq(r.cap, 24);
    ck_assert_uint_eq(ca_block_size(&ca, r.ptr), 96);

    void *p = r.ptr;
    size_t calls = ca_calls(&ca);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 10, 14), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 24), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 24, 0), FV_OK);
    ck_assert_uint_eq(r.cap, 24);
    ck_assert_ptr_eq(r.ptr, p);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, grow_exact_allocates_exactly_len_plus_additional, 1,
        "grow_exact (Rust's reserve_exact) neither doubles nor applies the minimum capacity: the new capacity "
        "is len + additional, and nothing happens when that already fits.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r, b;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 0, 3), FV_OK);
    ck_assert_uint_eq(r.cap, 3);
    ck_assert_uint_eq(ca_block_size(&ca, r.ptr), 12);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 3, 1), FV_OK);
    ck_assert_uint_eq(r.cap, 4);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 2, 2), FV_OK);
    ck_assert_uint_eq(r.cap, 4);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 4, 6), FV_OK);
    ck_assert_uint_eq(r.cap, 10);
    ck_assert_uint_eq(ca_block_size(&ca, r.ptr), 40);

    ck_assert_int_eq(fv_raw_init(&b, L_U8, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_exact(&b, 0, 1), FV_OK);
    ck_assert_uint_eq(b.cap, 1);
    fv_raw_free(&r);
    fv_raw_free(&b);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, growth_refuses_overflow_before_calling_the_allocator, 2,
        "len + additional can wrap size_t (and then look like it fits), and the byte size can exceed "
        "PTRDIFF_MAX: both are FV_ERR_CAPACITY_OVERFLOW, found by arithmetic, before any allocator call.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw e, r;
    ck_assert_int_eq(fv_raw_init(&e, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&e, 0, SIZE_MAX), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_exact(&e, 0, SIZE_MAX / 4 + 1), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(e.cap, 0);
    ck_assert_ptr_eq(e.ptr, DANGLING(4));

    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_OK);
    void *p = r.ptr;
    size_t calls = ca_calls(&ca);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 4, SIZE_MAX), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 4, SIZE_MAX - 3), FV_ERR_CAPACITY_OVERFLOW); /* wraps to 0 */
    ck_assert_int_eq(fv_raw_grow_exact(&r, 4, SIZE_MAX - 3), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 4, (size_t)PTRDIFF_MAX / 4), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, (size_t)PTRDIFF_MAX / 4 + 1), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 0, SIZE_MAX / 4 + 1), FV_ERR_CAPACITY_OVERFLOW); /* 4x wraps to 0 */
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ck_assert_ptr_eq(r.ptr, p);
    ck_assert_uint_eq(r.cap, 4);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, doubling_past_ptrdiff_max_is_an_overflow, 1,
        "The doubled capacity needs the same checked byte count as the requested one: 2 * cap elements may "
        "exceed PTRDIFF_MAX bytes even when len + additional does not. Use fv_array_bytes on the final capacity.")
{
    counting_alloc ca;
    ca_init(&ca);
    /* A buffer too large to allocate for real: its pointer is a stand-in the allocator would refuse to touch.
     * Growing it by one must fail in arithmetic: 2 * cap * 4 bytes is above PTRDIFF_MAX. */
    size_t cap = (size_t)PTRDIFF_MAX / 8 + 1;
    fv_raw r = {.ptr = (void *)(uintptr_t)0x1000, .cap = cap, .elem = L_U32, .alloc = &ca.iface};
    ck_assert_int_eq(fv_raw_grow_amortized(&r, cap, 1), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(r.cap, cap);
    ck_assert_ptr_eq(r.ptr, (void *)(uintptr_t)0x1000);
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(1, failed_allocation_leaves_the_buffer_unchanged, 2,
        "When alloc or realloc returns NULL, report FV_ERR_ALLOC and keep the old pointer and capacity: store "
        "the new pointer only after checking it. `r->ptr = realloc(r->ptr, ...)` loses the buffer on failure.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ca_fail_nth(&ca, 1);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_ERR_ALLOC);
    ck_assert_uint_eq(ca.n_refused, 1);
    ck_assert_uint_eq(r.cap, 0);
    ck_assert_ptr_eq(r.ptr, DANGLING(4));

    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_OK);
    fill_u32(&r, 0, 4);
    void *p = r.ptr;
    ca_fail_nth(&ca, 1);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 4, 1), FV_ERR_ALLOC);
    ca_fail_all(&ca, true);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 4, 1), FV_ERR_ALLOC);
    ck_assert_uint_eq(ca.n_refused, 3);
    ck_assert_ptr_eq(r.ptr, p);
    ck_assert_uint_eq(r.cap, 4);
    ck_assert_uint_eq(ca_block_size(&ca, p), 16);
    assert_filled_u32(&r, 4);

    ca_fail_all(&ca, false);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 4, 1), FV_OK);
    ck_assert_uint_eq(r.cap, 8);
    assert_filled_u32(&r, 4);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, shrink_to_reallocates_smaller_and_frees_at_zero, 1,
        "shrink_to(cap) reallocates to exactly cap elements, keeping the first cap; a larger or equal cap does "
        "nothing; 0 frees the block and leaves the dangling pointer of a new buffer (not a 0-byte realloc).")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 0, 16), FV_OK);
    fill_u32(&r, 0, 16);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 10), FV_OK);
    ck_assert_uint_eq(r.cap, 10);
    ck_assert_uint_eq(ca_block_size(&ca, r.ptr), 40);
    assert_filled_u32(&r, 10);

    size_t calls = ca_calls(&ca);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 10), FV_OK);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 20), FV_OK);
    ck_assert_uint_eq(r.cap, 10);
    ck_assert_uint_eq(ca_calls(&ca), calls);

    ck_assert_int_eq(fv_raw_shrink_to(&r, 0), FV_OK);
    ck_assert_uint_eq(r.cap, 0);
    ck_assert_ptr_eq(r.ptr, DANGLING(4));
    ASSERT_NO_LIVE_BLOCKS(&ca);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 0), FV_OK);
    fv_raw_free(&r);
    ck_assert_uint_eq(ca.n_dealloc, 1);
}

FT_TEST(1, failed_shrink_keeps_the_old_buffer, 1,
        "Shrinking can fail too (realloc returns NULL): report FV_ERR_ALLOC and keep the old, larger block.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 0, 8), FV_OK);
    fill_u32(&r, 0, 8);
    void *p = r.ptr;
    ca_fail_nth(&ca, 1);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 3), FV_ERR_ALLOC);
    ck_assert_ptr_eq(r.ptr, p);
    ck_assert_uint_eq(r.cap, 8);
    ck_assert_uint_eq(ca_block_size(&ca, p), 32);
    assert_filled_u32(&r, 8);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(1, free_releases_the_block_and_a_second_free_is_safe, 1,
        "fv_raw_free deallocates with the block's exact size and alignment, then resets to cap 0 and the "
        "dangling pointer, so a second call frees nothing (no double free) and the buffer can grow again.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_OK);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
    ck_assert_uint_eq(ca.n_dealloc, 1);
    ck_assert_uint_eq(r.cap, 0);
    ck_assert_ptr_eq(r.ptr, DANGLING(4));
    fv_raw_free(&r);
    ck_assert_uint_eq(ca.n_dealloc, 1);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, 0, 1), FV_OK);
    ck_assert_uint_eq(r.cap, 4);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

/* Grows an over-aligned buffer four times, checking alignment and contents after each step. */
static void grow_over_aligned(fv_raw *r, size_t align)
{
    for (int k = 0; k < 4; k++) {
        size_t old_cap = r->cap;
        ck_assert_int_eq(fv_raw_grow_amortized(r, old_cap, 1), FV_OK);
        ck_assert_msg((uintptr_t)r->ptr % align == 0, "buffer at %p after growing to %zu is not %zu-aligned", r->ptr,
                      r->cap, align);
        for (size_t i = 0; i < old_cap; i++)
            ck_assert_uint_eq(((unsigned char *)r->ptr)[i * align], (unsigned char)(i + 1));
        for (size_t i = old_cap; i < r->cap; i++)
            ((unsigned char *)r->ptr)[i * align] = (unsigned char)(i + 1);
    }
}

FT_TEST(1, over_aligned_buffers_stay_aligned_through_growth, 2,
        "Pass elem.align to every alloc/realloc/dealloc. For the global allocator, malloc/realloc only "
        "guarantee 16 bytes: use aligned_alloc (size rounded up to a multiple of align), and grow by "
        "allocate-copy-free, since realloc may return a less aligned block.")
{
    const size_t aligns[] = {64, 4096};
    for (size_t k = 0; k < 2; k++) {
        size_t a = aligns[k];
        counting_alloc ca;
        ca_init(&ca);
        fv_raw r, g;
        ck_assert_int_eq(fv_raw_init(&r, (fv_layout){a, a}, &ca.iface), FV_OK);
        grow_over_aligned(&r, a);
        ck_assert_uint_eq(ca_block_align(&ca, r.ptr), a);
        fv_raw_free(&r);
        ASSERT_NO_LIVE_BLOCKS(&ca);

        ck_assert_int_eq(fv_raw_init(&g, (fv_layout){a, a}, NULL), FV_OK);
        grow_over_aligned(&g, a);
        ck_assert_int_eq(fv_raw_shrink_to(&g, 1), FV_OK);
        ck_assert_msg((uintptr_t)g.ptr % a == 0, "buffer at %p after shrinking is not %zu-aligned", g.ptr, a);
        ck_assert_uint_eq(((unsigned char *)g.ptr)[0], 1);
        fv_raw_free(&g);
    }
}

FT_TEST(1, growth_keeps_the_contents, 1,
        "Growing must keep every element already in the buffer: realloc copies old_size bytes, or copy them "
        "yourself (cap * elem.size, not cap, and not the new size) before freeing the old block.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r;
    ck_assert_int_eq(fv_raw_init(&r, L_U32, &ca.iface), FV_OK);
    for (size_t len = 0; len < 1000; len++) {
        if (len == r.cap) {
            ck_assert_int_eq(fv_raw_grow_amortized(&r, len, 1), FV_OK);
            assert_filled_u32(&r, len);
        }
        fill_u32(&r, len, len + 1);
    }
    assert_filled_u32(&r, 1000);
    fv_raw_free(&r);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}
