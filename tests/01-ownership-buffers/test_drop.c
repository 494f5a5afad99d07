/*
 * Part 3: destructors. A vector owns its live elements, so it must drop each of them exactly once — when it
 * discards one (pop without out, set, truncate, clear, destroy) and never when it hands one out. Every element
 * here records its drops; every test ends by checking that each element was dropped exactly once and that the
 * allocator has nothing live.
 */
#include "support.h"

FT_PART(3, "drop: every element exactly once");

FT_TEST(3, pop_without_out_drops_the_element, 2,
        "fv_pop(v, NULL) discards the last element, so the vector must call type->drop on it (Rust drops the "
        "Option<T> nobody keeps); once len no longer covers it, an undropped element leaks. Only that one: the "
        "others stay live.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 3);
    ck_assert(fv_pop(&v, NULL));
    ck_assert_uint_eq(track_drops_of(2), 1);
    ck_assert_uint_eq(track_total_drops(), 1);
    ASSERT_IDS(&v, 0, 1);
    ck_assert(fv_pop(&v, NULL));
    ck_assert_uint_eq(track_drops_of(1), 1);
    ck_assert_uint_eq(track_drops_of(0), 0);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, pop_into_out_moves_without_dropping, 2,
        "fv_pop(v, &out) moves the element to the caller: copy its bytes, decrement len, and do NOT drop it. "
        "The caller now owns it and will drop it: a drop by the vector too, now or in destroy, is a double drop.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 3);
    tracked out = {UINT32_MAX, 0};
    ck_assert(fv_pop(&v, &out));
    ck_assert_uint_eq(out.id, 2);
    ck_assert_uint_eq(track_total_drops(), 0);
    ASSERT_IDS(&v, 0, 1);
    fv_destroy(&v);
    ck_assert_uint_eq(track_drops_of(0), 1);
    ck_assert_uint_eq(track_drops_of(1), 1);
    ck_assert_uint_eq(track_drops_of(2), 0);
    tracked_type.drop(&out); /* ours to drop */
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, set_drops_the_replaced_element_only, 2,
        "v[i] = x drops the old value in slot i before (or after) writing x, and never drops x. Out of bounds, "
        "nothing is dropped and x still belongs to the caller.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 3);
    tracked fresh = track_new();
    ck_assert_int_eq(fv_set(&v, 1, &fresh), FV_OK);
    ck_assert_uint_eq(track_drops_of(1), 1);
    ck_assert_uint_eq(track_total_drops(), 1);
    ASSERT_IDS(&v, 0, 3, 2);

    tracked stray = track_new();
    ck_assert_int_eq(fv_set(&v, 3, &stray), FV_ERR_BOUNDS);
    ck_assert_uint_eq(track_total_drops(), 1);
    ASSERT_IDS(&v, 0, 3, 2);
    tracked_type.drop(&stray);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, clear_drops_all_and_keeps_capacity, 2,
        "clear drops every live element and sets len to 0, but keeps the buffer (Vec::clear does not free). "
        "The vector must still be usable; destroy then frees the block and drops only the new elements.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 5);
    void *p = v.buf.ptr;
    fv_clear(&v);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_ptr_eq(v.buf.ptr, p);
    ck_assert_uint_eq(ca.n_live, 1);
    for (uint32_t id = 0; id < 5; id++)
        ck_assert_uint_eq(track_drops_of(id), 1);
    ck_assert_uint_eq(track_total_drops(), 5);
    ASSERT_NO_BAD_DROPS();

    push_tracked(&v, 2);
    ASSERT_IDS(&v, 5, 6);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, truncate_drops_only_the_tail_in_index_order, 2,
        "truncate(n) drops slots n .. len-1 in index order and keeps 0 .. n-1. An off-by-one either drops "
        "element n-1 too or leaves the last one undropped (then it leaks: len no longer covers it).")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 6);
    fv_truncate(&v, 4);
    ck_assert_uint_eq(fv_len(&v), 4);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_uint_eq(track_total_drops(), 2);
    ck_assert_uint_eq(track_drop_order(0), 4);
    ck_assert_uint_eq(track_drop_order(1), 5);
    ASSERT_IDS(&v, 0, 1, 2, 3);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, truncate_at_or_past_len_does_nothing_and_to_zero_drops_all, 2,
        "Edge cases of truncate: new_len == len and new_len > len drop nothing (no underflow of len - new_len); "
        "len - 1 drops exactly the last; 0 drops the rest.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 4);
    fv_truncate(&v, 4);
    fv_truncate(&v, 9);
    fv_truncate(&v, SIZE_MAX);
    ck_assert_uint_eq(track_total_drops(), 0);
    ASSERT_IDS(&v, 0, 1, 2, 3);
    fv_truncate(&v, 3);
    ck_assert_uint_eq(track_total_drops(), 1);
    ck_assert_uint_eq(track_drops_of(3), 1);
    fv_truncate(&v, 0);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(ca.n_live, 1);
    ASSERT_EACH_DROPPED_ONCE();
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, destroy_drops_every_element_exactly_once_and_frees, 3,
        "fv_destroy is Drop for Vec: drop each of the len live elements once (slots past len hold none), then "
        "free the buffer with its exact size and alignment, then leave the vector empty (len 0, cap 0).")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 10);
    ck_assert_uint_eq(fv_capacity(&v), 16);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ck_assert_uint_eq(track_total_drops(), 10);
    ASSERT_NO_LIVE_BLOCKS(&ca);
    ck_assert_uint_eq(ca.n_dealloc, 1);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
}

FT_TEST(3, destroy_twice_is_safe, 1,
        "After fv_destroy the vector is empty and valid, so a second destroy must drop nothing and free "
        "nothing: reset len to 0 and the buffer to the dangling pointer, or the second call is a double free.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 3);
    fv_destroy(&v);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ck_assert_uint_eq(track_total_drops(), 3);
    ck_assert_uint_eq(ca.n_dealloc, 1);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(3, destroyed_vector_can_be_reused, 2,
        "A destroyed vector keeps its type and allocator and behaves like a new one: it grows again from the "
        "minimum capacity, and destroying it again drops only the new elements.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 3);
    fv_destroy(&v);
    ck_assert_uint_eq(track_total_drops(), 3);
    push_tracked(&v, 2);
    ck_assert_ptr_eq(v.type, &tracked_type);
    ck_assert_uint_eq(fv_capacity(&v), 4);
    ASSERT_IDS(&v, 3, 4);
    ck_assert_uint_eq(ca.n_live, 1);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ck_assert_uint_eq(ca.n_dealloc, 2);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}
