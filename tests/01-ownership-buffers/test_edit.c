/*
 * Part 5: editing in the middle and iterating by value. insert/remove shift the tail with one memmove; the
 * iterators own (into_iter) or borrow (drain) the elements they have not yielded yet, and must drop exactly those
 * when they end early. All elements here are tracked, so a lost, duplicated or twice-dropped element shows.
 */
#include "support.h"

#include <string.h>

FT_PART(5, "editing: insert, remove, into_iter, drain");

FT_TEST(5, insert_at_front_middle_and_end_shifts_the_rest, 3,
        "insert(i) grows if full, then memmoves the len - i elements at i .. len-1 up one slot (overlapping: "
        "memmove, not memcpy), writes the new element at i and increments len. i == len is a push.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 4);
    ck_assert_uint_eq(fv_capacity(&v), 4);
    tracked a = track_new(), b = track_new(), c = track_new();
    ck_assert_int_eq(fv_insert(&v, 0, &a), FV_OK);
    ASSERT_IDS(&v, 4, 0, 1, 2, 3);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_int_eq(fv_insert(&v, 2, &b), FV_OK);
    ASSERT_IDS(&v, 4, 0, 5, 1, 2, 3);
    ck_assert_int_eq(fv_insert(&v, 6, &c), FV_OK);
    ASSERT_IDS(&v, 4, 0, 5, 1, 2, 3, 6);
    ck_assert_uint_eq(track_total_drops(), 0);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, insert_past_len_or_without_memory_changes_nothing, 1,
        "insert(len + 1) would leave a hole of uninitialised memory: FV_ERR_BOUNDS. A failed growth is "
        "FV_ERR_ALLOC. Either way, check before shifting anything; the element stays the caller's.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 4);
    tracked x = track_new();
    ck_assert_int_eq(fv_insert(&v, 5, &x), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_insert(&v, SIZE_MAX, &x), FV_ERR_BOUNDS);
    ca_fail_all(&ca, true);
    ck_assert_int_eq(fv_insert(&v, 1, &x), FV_ERR_ALLOC);
    ASSERT_IDS(&v, 0, 1, 2, 3);
    ck_assert_uint_eq(fv_capacity(&v), 4);
    ck_assert_uint_eq(track_total_drops(), 0);
    tracked_type.drop(&x);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, remove_shifts_down_and_hands_out_the_element, 2,
        "remove(i) moves element i to *out (or drops it when out is NULL), then memmoves the len - i - 1 later "
        "elements down one slot (len - i is an off-by-one: on a full buffer it reads past the end). i >= len is "
        "FV_ERR_BOUNDS with nothing changed.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 5);
    tracked out = {UINT32_MAX, 0};
    ck_assert_int_eq(fv_remove(&v, 1, &out), FV_OK);
    ck_assert_uint_eq(out.id, 1);
    ck_assert_uint_eq(track_total_drops(), 0);
    ASSERT_IDS(&v, 0, 2, 3, 4);
    ck_assert_int_eq(fv_remove(&v, 3, NULL), FV_OK);
    ck_assert_uint_eq(track_drops_of(4), 1);
    ASSERT_IDS(&v, 0, 2, 3);
    tracked untouched = {UINT32_MAX, 0};
    ck_assert_int_eq(fv_remove(&v, 3, &untouched), FV_ERR_BOUNDS);
    ck_assert_uint_eq(untouched.id, UINT32_MAX);
    ck_assert_int_eq(fv_remove(&v, 0, NULL), FV_OK);
    ASSERT_IDS(&v, 2, 3);
    ck_assert_uint_eq(track_total_drops(), 2);
    /* A full buffer (len == cap) has no spare slot behind the last element: shifting one element too many reads
     * past the end of the block, which AddressSanitizer reports. */
    ck_assert_int_eq(fv_shrink_to_fit(&v), FV_OK);
    ck_assert_uint_eq(fv_capacity(&v), 2);
    ck_assert_int_eq(fv_remove(&v, 0, NULL), FV_OK);
    ASSERT_IDS(&v, 3);
    tracked_type.drop(&out);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, swap_remove_moves_the_last_element_into_the_hole, 2,
        "swap_remove(i) hands out element i and moves the last element into slot i (O(1), order not kept). "
        "When i is the last index there is nothing to move. i >= len is FV_ERR_BOUNDS.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 4);
    tracked a = {UINT32_MAX, 0}, b = {UINT32_MAX, 0};
    ck_assert_int_eq(fv_swap_remove(&v, 0, &a), FV_OK);
    ck_assert_uint_eq(a.id, 0);
    ASSERT_IDS(&v, 3, 1, 2);
    ck_assert_int_eq(fv_swap_remove(&v, 2, &b), FV_OK);
    ck_assert_uint_eq(b.id, 2);
    ASSERT_IDS(&v, 3, 1);
    ck_assert_int_eq(fv_swap_remove(&v, 2, NULL), FV_ERR_BOUNDS);
    ck_assert_uint_eq(track_total_drops(), 0);
    ck_assert_int_eq(fv_swap_remove(&v, 0, NULL), FV_OK);
    ck_assert_uint_eq(track_drops_of(3), 1);
    ASSERT_IDS(&v, 1);
    tracked_type.drop(&a);
    tracked_type.drop(&b);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, into_iter_yields_all_in_order_and_empties_the_vector, 2,
        "into_iter moves the buffer into the iterator and leaves the vector empty (as take does). next moves "
        "element head to *out without dropping it; after the last it returns false. iter_drop frees the buffer.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 5);
    fv_iter it = fv_into_iter(&v);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 0);
    ck_assert_ptr_eq(v.buf.ptr, DANGLING(4));
    fv_destroy(&v);
    ck_assert_uint_eq(ca.n_dealloc, 0);

    tracked got[5];
    for (uint32_t i = 0; i < 5; i++) {
        ck_assert(fv_iter_next(&it, &got[i]));
        ck_assert_uint_eq(got[i].id, i);
    }
    tracked none = {UINT32_MAX, 0};
    ck_assert(!fv_iter_next(&it, &none));
    ck_assert_uint_eq(none.id, UINT32_MAX);
    ck_assert_uint_eq(track_total_drops(), 0);
    ck_assert_uint_eq(ca.n_live, 1);
    fv_iter_drop(&it);
    ck_assert_uint_eq(track_total_drops(), 0);
    ASSERT_NO_LIVE_BLOCKS(&ca);
    for (int i = 0; i < 5; i++)
        tracked_type.drop(&got[i]);
    ASSERT_EACH_DROPPED_ONCE();
}

FT_TEST(5, dropping_into_iter_half_way_drops_only_the_rest, 2,
        "IntoIter's Drop drops the un-yielded elements [head, tail) and frees the buffer; the yielded ones "
        "belong to the caller. next(NULL) drops one. A second iter_drop must do nothing.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 6);
    fv_iter it = fv_into_iter(&v);
    tracked a, b;
    ck_assert(fv_iter_next(&it, &a));
    ck_assert(fv_iter_next(&it, &b));
    ck_assert(fv_iter_next(&it, NULL));
    ck_assert_uint_eq(track_drops_of(2), 1);
    ck_assert_uint_eq(track_total_drops(), 1);
    fv_iter_drop(&it);
    ck_assert_uint_eq(track_drops_of(0), 0);
    ck_assert_uint_eq(track_drops_of(1), 0);
    for (uint32_t id = 2; id < 6; id++)
        ck_assert_uint_eq(track_drops_of(id), 1);
    ASSERT_NO_LIVE_BLOCKS(&ca);
    size_t calls = ca_calls(&ca);
    fv_iter_drop(&it);
    ck_assert_uint_eq(ca_calls(&ca), calls);
    ck_assert_uint_eq(track_total_drops(), 4);
    tracked_type.drop(&a);
    tracked_type.drop(&b);
    ASSERT_EACH_DROPPED_ONCE();
}

FT_TEST(5, drain_of_the_middle_yields_the_range_and_closes_the_gap, 2,
        "drain(from, to) yields elements from .. to-1 by value; while it lives the vector's length is `from` "
        "(leak amplification). drain_end memmoves the tail down to `from` and sets len = old len - (to - from).")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 8);
    fv_drain d;
    ck_assert_int_eq(fv_drain_start(&v, 2, 5, &d), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 2);
    tracked got[3];
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert(fv_drain_next(&d, &got[i]));
        ck_assert_uint_eq(got[i].id, 2 + i);
        ck_assert_uint_eq(fv_len(&v), 2);
    }
    ck_assert(!fv_drain_next(&d, NULL));
    fv_drain_end(&d);
    ASSERT_IDS(&v, 0, 1, 5, 6, 7);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ck_assert_uint_eq(track_total_drops(), 0);
    for (int i = 0; i < 3; i++)
        tracked_type.drop(&got[i]);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, drain_end_after_partial_iteration_drops_the_rest_and_moves_the_tail, 2,
        "Drain's Drop first drops the elements it did not yield (next .. end-1), then moves the tail (tail .. "
        "tail + tail_len - 1) down to the old `from`. Forgetting the move leaves dead elements inside len.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 8);
    fv_drain d;
    ck_assert_int_eq(fv_drain_start(&v, 1, 5, &d), FV_OK);
    tracked first;
    ck_assert(fv_drain_next(&d, &first));
    ck_assert_uint_eq(first.id, 1);
    ck_assert(fv_drain_next(&d, NULL));
    ck_assert_uint_eq(track_drops_of(2), 1);
    fv_drain_end(&d);
    ck_assert_uint_eq(track_drops_of(1), 0);
    ck_assert_uint_eq(track_drops_of(3), 1);
    ck_assert_uint_eq(track_drops_of(4), 1);
    ck_assert_uint_eq(track_total_drops(), 3);
    ASSERT_IDS(&v, 0, 5, 6, 7);
    tracked_type.drop(&first);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, drain_of_empty_and_whole_ranges, 1,
        "drain(i, i) yields nothing and changes nothing; drain(0, len) dropped unyielded empties the vector "
        "(tail_len 0: nothing to move) but keeps its buffer.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 5);
    fv_drain d;
    ck_assert_int_eq(fv_drain_start(&v, 3, 3, &d), FV_OK);
    ck_assert(!fv_drain_next(&d, NULL));
    fv_drain_end(&d);
    ASSERT_IDS(&v, 0, 1, 2, 3, 4);
    ck_assert_int_eq(fv_drain_start(&v, 5, 5, &d), FV_OK);
    fv_drain_end(&d);
    ASSERT_IDS(&v, 0, 1, 2, 3, 4);
    ck_assert_uint_eq(track_total_drops(), 0);

    ck_assert_int_eq(fv_drain_start(&v, 0, 5, &d), FV_OK);
    ck_assert_uint_eq(fv_len(&v), 0);
    fv_drain_end(&d);
    ck_assert_uint_eq(fv_len(&v), 0);
    ck_assert_uint_eq(fv_capacity(&v), 8);
    ASSERT_EACH_DROPPED_ONCE();
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, drain_refuses_bad_ranges, 1,
        "drain needs from <= to <= len: a reversed range or one past the end is FV_ERR_BOUNDS, the vector is "
        "unchanged (length included) and *out is untouched.")
{
    fv_vec v;
    counting_alloc ca;
    setup_tracked(&v, &ca, 4);
    fv_drain d, saved;
    memset(&d, 0x77, sizeof d);
    saved = d;
    ck_assert_int_eq(fv_drain_start(&v, 3, 2, &d), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_drain_start(&v, 0, 5, &d), FV_ERR_BOUNDS);
    ck_assert_int_eq(fv_drain_start(&v, 5, 5, &d), FV_ERR_BOUNDS);
    ck_assert_mem_eq(&d, &saved, sizeof d);
    ASSERT_IDS(&v, 0, 1, 2, 3);
    ck_assert_uint_eq(track_total_drops(), 0);
    fv_destroy(&v);
    ASSERT_EACH_DROPPED_ONCE();
    ASSERT_NO_LIVE_BLOCKS(&ca);
}

FT_TEST(5, insert_into_a_vector_of_large_elements_grows_by_one_at_a_time_from_empty, 1,
        "insert needs room for one more element: grow_amortized(len, 1), as push does. For elements over "
        "1 KiB the minimum capacity is 1, so from empty the capacities are 1, 2, 4; asking for more than one "
        "slot shows there.")
{
    const fv_type big = {{2048, 8}, NULL, "2 KiB block"};
    counting_alloc ca;
    ca_init(&ca);
    fv_vec v;
    ck_assert_int_eq(fv_new(&v, &big, &ca.iface), FV_OK);
    static unsigned char elem[2048];
    const size_t caps[] = {1, 2, 4, 4};
    for (size_t i = 0; i < 4; i++) {
        elem[0] = (unsigned char)(i + 1);
        ck_assert_int_eq(fv_insert(&v, 0, elem), FV_OK);
        ck_assert_msg(fv_capacity(&v) == caps[i],
                      "after %zu insert(s) into an empty vector of 2048-byte elements "
                      "the capacity is %zu, expected %zu",
                      i + 1, fv_capacity(&v), caps[i]);
    }
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(((const unsigned char *)fv_get(&v, i))[0], 4 - i);
    release_vec(&v);
    ASSERT_NO_LIVE_BLOCKS(&ca);
}
