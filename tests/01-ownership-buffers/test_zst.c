/*
 * Part 6: zero-sized elements (Rust's `()` and empty structs). They take no memory, so the vector never
 * allocates, its capacity is SIZE_MAX, and every element lives at the dangling pointer — yet each one still has
 * to be dropped exactly once. The counting allocator stops the test at any zero-byte request.
 */
#include "support.h"

FT_PART(6, "zero-sized elements");

/* The bytes of a zero-sized element: none. A valid address is passed anyway, as the contract asks. */
static char nothing;

FT_TEST(6, zst_raw_buffer_has_max_capacity_and_never_allocates, 1,
        "For zero-sized elements (elem.size == 0) the raw buffer starts with cap = SIZE_MAX and a dangling "
        "pointer (= align), so it never needs to grow; growing past SIZE_MAX is a capacity overflow; shrink and "
        "free do nothing.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_raw r, r16;
    ck_assert_int_eq(fv_raw_init(&r, (fv_layout){0, 1}, &ca.iface), FV_OK);
    ck_assert_uint_eq(r.cap, SIZE_MAX);
    ck_assert_ptr_eq(r.ptr, DANGLING(1));
    ck_assert_int_eq(fv_raw_init(&r16, (fv_layout){0, 16}, &ca.iface), FV_OK);
    ck_assert_ptr_eq(r16.ptr, DANGLING(16));

    ck_assert_int_eq(fv_raw_grow_amortized(&r, 5, 10), FV_OK);
    ck_assert_int_eq(fv_raw_grow_exact(&r, 1000, 1000), FV_OK);
    ck_assert_int_eq(fv_raw_grow_amortized(&r, SIZE_MAX, 1), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_grow_exact(&r, SIZE_MAX - 1, 2), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_raw_shrink_to(&r, 0), FV_OK);
    ck_assert_uint_eq(r.cap, SIZE_MAX);
    fv_raw_free(&r);
    fv_raw_free(&r16);
    ck_assert_uint_eq(r.cap, SIZE_MAX);
    ck_assert_ptr_eq(r.ptr, DANGLING(1));
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(6, zst_vector_never_calls_the_allocator, 2,
        "Nothing about a zero-sized element needs memory: new, with_capacity, push, reserve, insert, remove, "
        "shrink_to_fit, into_raw_parts and destroy must all stay off the allocator (alloc(0) is not portable).")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v, w;
    ck_assert_int_eq(fv_with_capacity(&v, &unit_type, &ca.iface, 50), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), SIZE_MAX);
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    ck_assert_int_eq(fv_reserve(&v, 100), FV_OK);
    ck_assert_int_eq(fv_reserve_exact(&v, 1000), FV_OK);
    ck_assert_int_eq(fv_reserve(&v, SIZE_MAX), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_insert(&v, 3, &nothing), FV_OK);
    ck_assert_int_eq(fv_remove(&v, 0, NULL), FV_OK);
    ck_assert_int_eq(fv_shrink_to_fit(&v), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 20);
    ck_assert_uint_eq(fv_capacity(&v), SIZE_MAX);

    fv_raw_parts parts = fv_into_raw_parts(&v);
    ck_assert_uint_eq(parts.cap, SIZE_MAX);
    ck_assert_uint_eq(parts.len, 20);
    ck_assert_ptr_eq(parts.ptr, DANGLING(1));
    fv_raw_parts bad = parts;
    bad.cap = 64;
    ck_assert_int_eq(fv_from_raw_parts(&w, &unit_type, &ca.iface, bad), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_from_raw_parts(&w, &unit_type, &ca.iface, parts), FV_OK);
    fv_destroy(&w);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 21);
    ASSERT_NO_BAD_DROPS();
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(6, zst_push_1000_and_pop_them, 2,
        "With size 0 every slot is the same address, so len is the only state: push and pop must still count "
        "it exactly. pop(NULL) drops one element, pop(&out) drops none (it moves zero bytes to out).")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &unit_type, &ca.iface), FV_OK);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 1000);
    ck_assert_uint_eq(fv_capacity(&v), SIZE_MAX);
    for (int i = 0; i < 500; i++)
        ck_assert(fv_pop(&v, NULL));
    ck_assert_uint_eq(track_total_drops(), 500);
    char out;
    for (int i = 0; i < 500; i++)
        ck_assert(fv_pop(&v, &out));
    ck_assert_uint_eq(track_total_drops(), 500);
    ck_assert(!fv_pop(&v, NULL));
    ck_assert_uint_eq(fv_len(&v), 0);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 500);
    ASSERT_NO_BAD_DROPS();
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(6, zst_drop_counts_are_exact_through_truncate_clear_and_destroy, 2,
        "Zero-sized elements may still have drop glue (think of a guard type): truncate, clear and destroy must "
        "call drop once per element, even though every call gets the same dangling pointer.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &unit8_type, &ca.iface), FV_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    fv_truncate(&v, 60);
    ck_assert_uint_eq(track_total_drops(), 40);
    fv_truncate(&v, 70);
    ck_assert_uint_eq(track_total_drops(), 40);
    fv_clear(&v);
    ck_assert_uint_eq(track_total_drops(), 100);
    for (int i = 0; i < 30; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 130);
    ck_assert_uint_eq(fv_capacity(&v), SIZE_MAX);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 130);
    ASSERT_NO_BAD_DROPS();
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(6, zst_into_iter_and_drain_drop_exactly_the_rest, 2,
        "The iterators count indices, not bytes, for zero-sized elements: into_iter yields exactly len "
        "elements and its drop drops the un-yielded ones; a drain drops what it did not yield.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &unit_type, &ca.iface), FV_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    fv_iter it = fv_into_iter(&v);
    char out;
    for (int i = 0; i < 3; i++)
        ck_assert(fv_iter_next(&it, &out));
    ck_assert(fv_iter_next(&it, NULL));
    ck_assert_uint_eq(track_total_drops(), 1);
    fv_iter_drop(&it);
    ck_assert_uint_eq(track_total_drops(), 7);
    fv_iter_drop(&it);
    ck_assert_uint_eq(track_total_drops(), 7);

    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    fv_drain d;
    ck_assert_int_eq(fv_drain_start(&v, 2, 6, &d), FV_OK);
    ck_assert(fv_drain_next(&d, NULL));
    ck_assert_uint_eq(track_total_drops(), 8);
    fv_drain_end(&d);
    ck_assert_uint_eq(track_total_drops(), 11);
    ck_assert_uint_eq(fv_len(&v), 6);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 17);
    ASSERT_NO_BAD_DROPS();
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(6, zst_get_is_non_null_below_len_and_null_past_it, 1,
        "get on a zero-sized element returns the dangling pointer (aligned, non-NULL) for i < len — not NULL, "
        "which would read as None — and NULL for i >= len. The same holds for slices with elem_size 0.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &unit8_type, &ca.iface), FV_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fv_push(&v, &nothing), FV_OK);
    for (size_t i = 0; i < 3; i++) {
        const void *p = fv_get(&v, i);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
    }
    ck_assert_ptr_null(fv_get(&v, 3));
    ck_assert_ptr_null(fv_get(&v, SIZE_MAX));
    fv_slice s = fv_as_slice(&v);
    ck_assert_ptr_nonnull(s.ptr);
    ck_assert_uint_eq(s.len, 3);
    ck_assert_uint_eq(s.elem_size, 0);
    ck_assert_ptr_nonnull(fv_slice_get(s, 2));
    ck_assert_ptr_null(fv_slice_get(s, 3));
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 3);
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}
