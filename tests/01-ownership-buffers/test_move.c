/*
 * Part 4: moves and borrows. Moving a vector moves three words and no elements; the source must be left in a
 * state where destroying it is harmless. Slices borrow: they point into the vector's own buffer and own nothing.
 */
#include "support.h"

#include <string.h>

FT_PART(4, "moves and borrows: take, parts, slices");

static uint32_t read_u32(const void *p) { return *(const uint32_t *)p; }

FT_TEST(4, take_leaves_the_source_empty_valid_and_allocation_free, 2,
        "std::mem::take swaps in an empty vector: the source keeps its type and allocator but gets len 0, cap 0 "
        "and the dangling pointer. Destroying it must then drop and free nothing; pushing to it must work.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &tracked_type, &ca.iface), FV_OK);
    push_tracked(&v, 3);
    fv_vec d = fv_take(&v);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
    ck_assert_ptr_eq(v.type, &tracked_type);
    ck_assert_ptr_eq(v.buf.alloc, &ca.iface);
    ck_assert_uint_eq(track_total_drops(), 0);

    size_t calls = ca_calls(&ca);
    fv_destroy(&v);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ck_assert_uint_eq(track_total_drops(), 0);

    push_tracked(&v, 1);
    ASSERT_IDS(&v, 3);
    ASSERT_IDS(&d, 0, 1, 2);
    fv_destroy(&v);
    fv_destroy(&d);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, take_hands_the_same_buffer_to_the_destination, 1,
        "A move copies the pointer, length and capacity; it never copies or reallocates the elements, so a "
        "borrow taken before the move points at the same element afterwards.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 10, 5);
    void *p = v.buf.ptr;
    const void *second = fv_get(&v, 1);
    size_t calls = ca_calls(&ca);
    fv_vec d = fv_take(&v);
    ck_assert_ptr_eq(d.buf.ptr, p);
    ck_assert_uint_eq(fv_len(&d), 5);
    ck_assert_uint_eq(fv_capacity(&d), 8);
    ck_assert_ptr_eq(d.type, &u32_type);
    ck_assert_ptr_eq(fv_get(&d, 1), second);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ASSERT_U32S(&d, 10, 11, 12, 13, 14);
    fv_destroy(&d);
    fv_destroy(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, raw_parts_round_trip_without_leak_or_double_free, 3,
        "into_raw_parts gives the caller the buffer and its elements and leaves the vector owning nothing: "
        "reset it, or destroying it frees the block the caller now owns (a double free). from_raw_parts takes "
        "them back unchanged.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v, w;
    ck_assert_int_eq(fv_new(&v, &tracked_type, &ca.iface), FV_OK);
    push_tracked(&v, 5);
    void *p = v.buf.ptr;
    fv_raw_parts parts = fv_into_raw_parts(&v);
    ck_assert_ptr_eq(parts.ptr, p);
    ck_assert_uint_eq(parts.len, 5);
    ck_assert_uint_eq(parts.cap, 8);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));

    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 0);
    ck_assert_uint_eq(ca.n_live, 1);

    ck_assert_int_eq(fv_from_raw_parts(&w, &tracked_type, &ca.iface, parts), FV_OK);
    ck_assert_ptr_eq(w.buf.ptr, p);
    ck_assert_uint_eq(fv_capacity(&w), 8);
    ASSERT_IDS(&w, 0, 1, 2, 3, 4);
    push_tracked(&w, 1);
    fv_destroy(&w);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, from_raw_parts_refuses_len_above_cap_and_null, 1,
        "from_raw_parts cannot verify much, but what it can it must: ptr != NULL and len <= cap (len == cap is "
        "fine). Refused parts are FV_ERR_BOUNDS, *out stays untouched and nothing is taken or dropped.")
{
    track_reset();
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v, w = {0};
    ck_assert_int_eq(fv_with_capacity(&v, &tracked_type, &ca.iface, 4), FV_OK);
    push_tracked(&v, 4);
    fv_raw_parts parts = fv_into_raw_parts(&v);
    ck_assert_uint_eq(parts.cap, 4);

    fv_vec saved = w;
    fv_raw_parts bad = parts;
    bad.len = 5;
    ck_assert_int_eq(fv_from_raw_parts(&w, &tracked_type, &ca.iface, bad), FV_ERR_BOUNDS);
    bad = parts;
    bad.ptr = NULL;
    ck_assert_int_eq(fv_from_raw_parts(&w, &tracked_type, &ca.iface, bad), FV_ERR_BOUNDS);
    ck_assert_mem_eq(&w, &saved, sizeof w);
    ck_assert_uint_eq(track_total_drops(), 0);
    ck_assert_uint_eq(ca.n_live, 1);

    ck_assert_int_eq(fv_from_raw_parts(&w, &tracked_type, &ca.iface, parts), FV_OK);
    ASSERT_IDS(&w, 0, 1, 2, 3);
    fv_destroy(&w);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, as_slice_sees_the_live_elements, 2,
        "A slice is a borrowed (ptr, len) view: ptr is the vector's own buffer (no copy), len is the vector's "
        "length (not its capacity), elem_size is the element size. An empty vector's slice is dangling, not NULL.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    fv_slice e = fv_as_slice(&v);
    ck_assert_ptr_eq(e.ptr, DANGLING(4));
    ck_assert_uint_eq(e.len, 0);
    ck_assert_uint_eq(e.elem_size, 4);

    push_u32s(&v, 0, 10);
    size_t calls = ca_calls(&ca);
    fv_slice s = fv_as_slice(&v);
    ck_assert_ptr_eq(s.ptr, v.buf.ptr);
    ck_assert_uint_eq(s.len, 10);
    ck_assert_uint_eq(s.elem_size, 4);
    const uint32_t want[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    ck_assert_mem_eq(s.ptr, want, sizeof want);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    fv_destroy(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, slice_get_is_bounded_by_the_slice_length, 1,
        "slice_get(s, i) is ptr + i * elem_size for i < s.len and NULL otherwise; compute the address in bytes "
        "(char *), since the slice does not know the element type.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 0, 10);
    fv_slice s = fv_as_slice(&v);
    const char *base = v.buf.ptr;
    ck_assert_ptr_eq(fv_slice_get(s, 0), base);
    ck_assert_ptr_eq(fv_slice_get(s, 9), base + 36);
    ck_assert_uint_eq(read_u32(fv_slice_get(s, 9)), 9);
    ck_assert_ptr_null(fv_slice_get(s, 10));
    ck_assert_ptr_null(fv_slice_get(s, SIZE_MAX));
    fv_destroy(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, slice_range_edges_and_sub_slices_borrow_the_same_memory, 3,
        "slice_range(s, from, to) needs from <= to <= s.len: from == to is an empty slice (fine, even at len), "
        "from > to or to > len is FV_ERR_BOUNDS with *out untouched. A sub-slice points into the same buffer.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 0, 10);
    fv_slice s = fv_as_slice(&v), r;
    const char *base = v.buf.ptr;

    ck_assert_int_eq(fv_slice_range(s, 3, 7, &r), FV_OK);
    ck_assert_ptr_eq(r.ptr, base + 12);
    ck_assert_uint_eq(r.len, 4);
    ck_assert_uint_eq(r.elem_size, 4);
    ck_assert_int_eq(fv_slice_range(s, 4, 4, &r), FV_OK);
    ck_assert_ptr_eq(r.ptr, base + 16);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_int_eq(fv_slice_range(s, 10, 10, &r), FV_OK);
    ck_assert_uint_eq(r.len, 0);
    ck_assert_int_eq(fv_slice_range(s, 0, 10, &r), FV_OK);
    ck_assert_ptr_eq(r.ptr, base);
    ck_assert_uint_eq(r.len, 10);

    fv_slice sentinel = {base, 77, 4};
    r = sentinel;
    ck_assert_int_eq(fv_slice_range(s, 7, 3, &r), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_slice_range(s, 0, 11, &r), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_slice_range(s, 11, 11, &r), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_slice_range(s, SIZE_MAX, SIZE_MAX, &r), FV_ERR_BOUNDS);
    ck_assert_uint_eq(r.len, 77);

    fv_slice mid, inner;
    ck_assert_int_eq(fv_slice_range(s, 2, 8, &mid), FV_OK);
    ck_assert_int_eq(fv_slice_range(mid, 1, 3, &inner), FV_OK);
    ck_assert_ptr_eq(inner.ptr, base + 12);
    ck_assert_uint_eq(inner.len, 2);
    ck_assert_int_eq(fv_slice_range(mid, 0, 7, &r), FV_ERR_BOUNDS);
    ck_assert_ptr_null(fv_slice_get(inner, 2));
    *(uint32_t *)fv_get_mut(&v, 4) = 444;
    ck_assert_uint_eq(read_u32(fv_slice_get(inner, 1)), 444);
    fv_destroy(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(4, as_mut_slice_writes_are_visible_through_get, 1,
        "as_mut_slice is an exclusive borrow of the same buffer: writes through it land in the vector's slots "
        "(it is not a copy) and cover exactly len elements.")
{
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &u32_type, &ca.iface), FV_OK);
    push_u32s(&v, 0, 6);
    fv_slice_mut m = fv_as_mut_slice(&v);
    ck_assert_ptr_eq(m.ptr, v.buf.ptr);
    ck_assert_uint_eq(m.len, 6);
    ck_assert_uint_eq(m.elem_size, 4);
    for (size_t i = 0; i < m.len; i++)
        ((uint32_t *)m.ptr)[i] = (uint32_t)(i * i + 5);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(read_u32(fv_get(&v, i)), i * i + 5);
    fv_destroy(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}
