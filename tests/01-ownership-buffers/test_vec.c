/*
 * Part 2: the vector on top of the raw buffer — push, pop, get, set, reserve, shrink. Results are Option-like
 * (NULL, false, FV_ERR_BOUNDS), and every failure must leave the vector exactly as it was.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>

FT_PART(2, "vector: push, pop, get, set, reserve");

static uint32_t read_u32(const void *p) { return *(const uint32_t *)p; }

FT_TEST(2, new_vector_is_empty_and_allocates_nothing, 1,
        "Vec::new allocates nothing: len 0, capacity 0, the dangling pointer. get(0) is None (NULL) and pop "
        "on an empty vector is None (false) without touching *out. A bad layout leaves *out untouched.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert(fv_is_empty(&v));
    ck_assert_ptr_eq(v.type, &u32_type);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
    ck_assert_ptr_null(fv_get(&v, 0));
    ck_assert_ptr_null(fv_get_mut(&v, 0));
    uint32_t out = 0xfeed;
    ck_assert(!fv_pop(&v, &out));
    ck_assert_uint_eq(out, 0xfeed);

    static const fv_type bad = {{6, 4}, NULL, "bad"};
    fv_vec saved = v;
    ck_assert_int_eq(fv_new(&v, &bad, &ca.iface), FV_ERR_LAYOUT);
    ck_assert_mem_eq(&v, &saved, sizeof v);
    release_vec(&v);
    ASSERT_NO_ALLOCATOR_CALLS(&ca);
}

FT_TEST(2, with_capacity_allocates_exactly_once_or_reports_why_not, 1,
        "with_capacity(n) allocates exactly n elements in one call (none for n = 0). Too large is "
        "FV_ERR_CAPACITY_OVERFLOW without calling the allocator; a refused allocation is FV_ERR_ALLOC.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v, w = {0};
    ck_assert_int_eq(fv_with_capacity(&v, &u32_type, &ca.iface, 10), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 10);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(ca.n_alloc, 1);
    ck_assert_uint_eq(ca_block_size(&ca, v.buf.ptr), 40);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);

    ck_assert_int_eq(fv_with_capacity(&v, &u32_type, &ca.iface, 0), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_uint_eq(ca.n_alloc, 1);

    fv_vec saved = w;
    ck_assert_int_eq(fv_with_capacity(&w, &u32_type, &ca.iface, (size_t)PTRDIFF_MAX), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(ca.n_alloc, 1);
    ca_fail_nth(&ca, 1);
    ck_assert_int_eq(fv_with_capacity(&w, &u32_type, &ca.iface, 10), FV_ERR_ALLOC);
    ck_assert_mem_eq(&w, &saved, sizeof w);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, push_then_get_reads_back_in_order, 2,
        "Element i lives at ptr + i * elem.size; push copies elem.size bytes to slot len, then increments len. "
        "get_mut returns the same slot, writable.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t x = i * 7 + 1;
        ck_assert_int_eq(fv_push(&v, &x), FV_OK);
        ck_assert_uint_eq(fv_len(&v), i + 1);
    }
    for (size_t i = 0; i < 100; i++) {
        ck_assert_ptr_nonnull(fv_get(&v, i));
        ck_assert_uint_eq(read_u32(fv_get(&v, i)), i * 7 + 1);
    }
    uint32_t *m = fv_get_mut(&v, 42);
    ck_assert_ptr_eq(m, fv_get(&v, 42));
    *m = 4242;
    ck_assert_uint_eq(read_u32(fv_get(&v, 42)), 4242);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, get_is_bounded_at_len_not_capacity, 1,
        "Valid indices are 0 .. len - 1: get(len) is one past the end. Slots between len and capacity hold no "
        "element, so get(len) must be NULL even though the memory exists (compare with >=, not >, and against "
        "len, not cap).")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_with_capacity(&v, &u32_type, &ca.iface, 8), FV_OK);
    push_u32s(&v, 10, 3);
    ck_assert_ptr_nonnull(fv_get(&v, 2));
    ck_assert_uint_eq(read_u32(fv_get(&v, 2)), 12);
    ck_assert_ptr_null(fv_get(&v, 3));
    ck_assert_ptr_null(fv_get(&v, 7));
    ck_assert_ptr_null(fv_get(&v, SIZE_MAX));
    ck_assert_ptr_nonnull(fv_get_mut(&v, 2));
    ck_assert_ptr_null(fv_get_mut(&v, 3));
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, push_past_capacity_keeps_old_elements, 2,
        "A full vector grows amortised before writing slot len (capacities 4, 8, 16 from empty; 6 from a full "
        "3), and the elements already pushed must survive the move to the new block.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v, w;
    ck_assert_int_eq(fv_with_capacity(&v, &u32_type, &ca.iface, 3), FV_OK);
    push_u32s(&v, 1, 3);
    ck_assert_uint_eq(fv_capacity(&v), 3);
    push_u32s(&v, 4, 1);
    ck_assert_uint_eq(fv_capacity(&v), 6);
    ASSERT_U32S(&v, 1, 2, 3, 4);

    ck_assert_int_eq(fv_new(&w, &u32_type, &ca.iface), FV_OK);
    const size_t caps[17] = {4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 32};
    for (uint32_t i = 0; i < 17; i++) {
        push_u32s(&w, 100 + i, 1);
        ck_assert_uint_eq(fv_capacity(&w), caps[i]);
    }
    ASSERT_U32S(&w, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116);
    release_vec(&v);
    release_vec(&w);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, pop_returns_elements_last_first, 2,
        "pop moves the last element (slot len - 1) to *out and decrements len; the capacity stays. On an empty "
        "vector it returns false and leaves *out alone (Rust's None).")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 1, 3);
    uint32_t out = 0;
    for (uint32_t want = 3; want >= 1; want--) {
        ck_assert(fv_pop(&v, &out));
        ck_assert_uint_eq(out, want);
        ck_assert_uint_eq(fv_len(&v), want - 1);
        ck_assert_uint_eq(fv_capacity(&v), 4);
    }
    out = 0xfeed;
    ck_assert(!fv_pop(&v, &out));
    ck_assert_uint_eq(out, 0xfeed);
    ck_assert_uint_eq(fv_len(&v), 0);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, set_replaces_in_bounds_and_refuses_len, 1,
        "set(i) overwrites slot i for i < len; set(len) is out of bounds (FV_ERR_BOUNDS) and changes nothing: "
        "set is not push.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 1, 3);
    uint32_t x = 99;
    ck_assert_int_eq(fv_set(&v, 1, &x), FV_OK);
    ck_assert_int_eq(fv_set(&v, 2, &x), FV_OK);
    x = 7;
    ck_assert_int_eq(fv_set(&v, 3, &x), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_set(&v, SIZE_MAX, &x), FV_ERR_BOUNDS);
    ASSERT_U32S(&v, 1, 99, 99);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, reserve_is_amortised_and_reserve_exact_is_exact, 2,
        "reserve(n) is grow_amortized(len, n): max(len + n, 2 * cap, minimum). reserve_exact(n) gives exactly "
        "len + n. Both do nothing (no call, no shrink) when len + n already fits.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    ck_assert_int_eq(fv_reserve(&v, 1), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 4);
    push_u32s(&v, 1, 4);
    ck_assert_int_eq(fv_reserve(&v, 1), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_int_eq(fv_reserve(&v, 10), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 16);

    push_u32s(&v, 5, 12);
    ck_assert_int_eq(fv_reserve_exact(&v, 3), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 19);
    ck_assert_uint_eq(ca_block_size(&ca, v.buf.ptr), 76);

    size_t calls = ca_calls(&ca);
    ck_assert_int_eq(fv_reserve(&v, 3), FV_OK);
    ck_assert_int_eq(fv_reserve_exact(&v, 0), FV_OK);
    ck_assert_int_eq(fv_reserve_exact(&v, 2), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 19);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ASSERT_U32S(&v, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, reserve_refuses_overflow_and_leaves_the_vector_unchanged, 1,
        "len + additional can wrap around size_t and look small: check additional > SIZE_MAX - len first. Too "
        "many bytes is FV_ERR_CAPACITY_OVERFLOW too. Neither may call the allocator or change the vector.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 1, 3);
    fv_vec saved = v;
    size_t calls = ca_calls(&ca);
    ck_assert_int_eq(fv_reserve(&v, SIZE_MAX), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_reserve(&v, SIZE_MAX - 2), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_reserve_exact(&v, SIZE_MAX - 2), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_reserve_exact(&v, (size_t)PTRDIFF_MAX / 4), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_int_eq(fv_reserve(&v, (size_t)PTRDIFF_MAX / 4), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ck_assert_mem_eq(&v, &saved, sizeof v);
    ASSERT_U32S(&v, 1, 2, 3);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, shrink_to_fit_shrinks_to_len_and_frees_when_empty, 2,
        "shrink_to_fit is shrink_to(len): capacity becomes len, elements stay; an empty vector frees its block "
        "and gets the dangling pointer back, and can still be pushed to afterwards.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 1, 5);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_int_eq(fv_shrink_to_fit(&v), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 5);
    ck_assert_uint_eq(ca_block_size(&ca, v.buf.ptr), 20);
    ASSERT_U32S(&v, 1, 2, 3, 4, 5);

    for (int i = 0; i < 5; i++)
        ck_assert(fv_pop(&v, NULL));
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_int_eq(fv_shrink_to_fit(&v), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
    ASSERT_NO_LIVE_BLOCKS(&ca);

    push_u32s(&v, 9, 1);
    ASSERT_U32S(&v, 9);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, push_failure_leaves_the_vector_unchanged_and_the_element_unconsumed, 2,
        "A push that cannot grow returns the error before moving anything: same pointer, length and capacity, "
        "nothing dropped, and the element still belongs to the caller (Rust's push_within_capacity gives it back).")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &tracked_type, &ca.iface), FV_OK);
    tracked first = track_new();
    ca_fail_nth(&ca, 1);
    ck_assert_int_eq(fv_push(&v, &first), FV_ERR_ALLOC);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
    ck_assert_int_eq(fv_push(&v, &first), FV_OK);

    push_tracked(&v, 3);
    fv_vec saved = v;
    tracked extra = track_new();
    ca_fail_all(&ca, true);
    ck_assert_int_eq(fv_push(&v, &extra), FV_ERR_ALLOC);
    ck_assert_mem_eq(&v, &saved, sizeof v);
    ASSERT_IDS(&v, 0, 1, 2, 3);
    ck_assert_uint_eq(track_total_drops(), 0);

    tracked_type.drop(&extra); /* still ours: the failed push did not take it */
    ca_fail_all(&ca, false);
    release_vec(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, reserve_failure_leaves_the_vector_unchanged, 1,
        "A refused allocation in reserve/reserve_exact is FV_ERR_ALLOC with the old buffer, length and elements "
        "intact; a later reserve must still work.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 1, 4);
    fv_vec saved = v;
    ca_fail_all(&ca, true);
    ck_assert_int_eq(fv_reserve(&v, 1), FV_ERR_ALLOC);
    ck_assert_int_eq(fv_reserve_exact(&v, 100), FV_ERR_ALLOC);
    ck_assert_mem_eq(&v, &saved, sizeof v);
    ASSERT_U32S(&v, 1, 2, 3, 4);
    ca_fail_all(&ca, false);
    ck_assert_int_eq(fv_reserve(&v, 1), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ASSERT_U32S(&v, 1, 2, 3, 4);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(2, push_and_get_copy_exactly_elem_size_bytes, 1,
        "Elements are elem.size bytes, whatever that size is: a push must copy all of them and not one byte more "
        "(a fast path per size, 16 or 32, must copy that size exactly). Sizes 17 and 33 sit just past two common "
        "ones; a full buffer of 16-byte elements has no byte to spare after its last slot.")
{
    static const size_t sizes[] = {16, 17, 33};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        const fv_type exact = {{sizes[k], 1}, NULL, "bytes"};
        counting_alloc ca;
        ca_init(&ca);
        fv_vec v;
        ck_assert_int_eq(fv_with_capacity(&v, &exact, &ca.iface, 4), FV_OK);
        /* On the heap and exactly one element long, so a copy of one byte too many is an overflow ASan sees. */
        unsigned char *elem = malloc(sizes[k]);
        ck_assert_ptr_nonnull(elem);
        for (unsigned i = 0; i < 4; i++) {
            for (size_t b = 0; b < sizes[k]; b++)
                elem[b] = (unsigned char)(i * 40 + b + 1);
            ck_assert_int_eq(fv_push(&v, elem), FV_OK);
        }
        free(elem);
        ck_assert_uint_eq(fv_capacity(&v), 4);
        for (unsigned i = 0; i < 4; i++) {
            const unsigned char *got = fv_get(&v, i);
            ck_assert_ptr_nonnull(got);
            for (size_t b = 0; b < sizes[k]; b++)
                ck_assert_msg(got[b] == (unsigned char)(i * 40 + b + 1),
                              "element %u of size %zu: byte %zu is %u, expected %u", i, sizes[k], b, got[b],
                              (unsigned)(unsigned char)(i * 40 + b + 1));
        }
        release_vec(&v);
        ASSERT_NO_LIVE_BLOCKS(&ca);
    }
}

/* The typed layer of vec.h over the generic functions, as the benchmark uses it. */
FV_DEFINE_TYPED(u32vec, uint32_t)

FT_TEST(2, typed_push_and_pop_grow_and_fail_like_the_generic_calls, 1,
        "FV_DEFINE_TYPED's new, push and pop are inline wrappers over your fv_new and fv_reserve (growth: 4, 8, "
        "16 from empty) and read the same len and buf fields; a push that cannot grow must return the error and "
        "leave the vector as it was, and pop hands the elements back last first.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(u32vec_new(&v, &u32_type, &ca.iface), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(ca_calls(&ca), 0);
    const size_t caps[9] = {4, 4, 4, 4, 8, 8, 8, 8, 16};
    for (uint32_t i = 0; i < 9; i++) {
        ck_assert_int_eq(u32vec_push(&v, 10 * i), FV_OK);
        ck_assert_uint_eq(fv_len(&v), i + 1);
        ck_assert_uint_eq(fv_capacity(&v), caps[i]);
    }
    ASSERT_U32S(&v, 0, 10, 20, 30, 40, 50, 60, 70, 80);

    for (uint32_t i = 9; i < 16; i++)
        ck_assert_int_eq(u32vec_push(&v, 10 * i), FV_OK);
    fv_vec saved = v;
    ca_fail_all(&ca, true);
    ck_assert_int_eq(u32vec_push(&v, 999), FV_ERR_ALLOC);
    ck_assert_mem_eq(&v, &saved, sizeof v);
    ca_fail_all(&ca, false);

    uint32_t out = 0;
    for (uint32_t want = 16; want-- > 0;) {
        ck_assert(u32vec_pop(&v, &out));
        ck_assert_uint_eq(out, 10 * want);
    }
    out = 0xfeed;
    ck_assert(!u32vec_pop(&v, &out));
    ck_assert_uint_eq(out, 0xfeed);
    ck_assert_uint_eq(fv_capacity(&v), 16);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}
