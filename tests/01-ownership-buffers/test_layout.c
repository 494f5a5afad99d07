/*
 * Part 1, first half: layouts and byte sizes. Before a buffer can grow it must know how many bytes n elements
 * take, and that number must never wrap or pass PTRDIFF_MAX (the most any object may span). Rust's
 * `Layout::array` answers the same question. The growth policy, failure and alignment tests are in test_rawvec.c.
 */
#include "support.h"

static const fv_layout L_U8 = {1, 1};
static const fv_layout L_U32 = {4, 4};

FT_TEST(1, layout_check_accepts_valid_and_refuses_invalid_layouts, 1,
        "A layout is valid when align is a power of two (0 is not) and size is a multiple of align. Test the "
        "power of two with (a & (a - 1)) == 0 and remember the zero case.")
{
    ck_assert_int_eq(fv_layout_check(FV_LAYOUT_OF(uint32_t)), FV_OK);
    ck_assert_int_eq(fv_layout_check((fv_layout){0, 1}), FV_OK);
    ck_assert_int_eq(fv_layout_check((fv_layout){24, 8}), FV_OK);
    ck_assert_int_eq(fv_layout_check((fv_layout){4096, 4096}), FV_OK);
    ck_assert_int_eq(fv_layout_check((fv_layout){4, 0}), FV_ERR_LAYOUT);
    ck_assert_int_eq(fv_layout_check((fv_layout){12, 12}), FV_ERR_LAYOUT);
    ck_assert_int_eq(fv_layout_check((fv_layout){6, 4}), FV_ERR_LAYOUT);
    ck_assert_int_eq(fv_layout_check((fv_layout){2, 4}), FV_ERR_LAYOUT);
}

FT_TEST(1, array_bytes_multiplies_or_reports_overflow, 1,
        "size * n can wrap around size_t and give a small, wrong size. Check n > PTRDIFF_MAX / size before "
        "multiplying (Rust's Layout::array), and leave *bytes untouched on failure.")
{
    size_t bytes = 77;
    ck_assert_int_eq(fv_array_bytes(L_U32, 10, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, 40);
    ck_assert_int_eq(fv_array_bytes(L_U32, 0, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, 0);
    ck_assert_int_eq(fv_array_bytes((fv_layout){0, 1}, SIZE_MAX, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, 0);
    bytes = 77;
    /* (SIZE_MAX / 8 + 1) * 8 is 2^64, which wraps to exactly 0. */
    ck_assert_int_eq(fv_array_bytes((fv_layout){8, 8}, SIZE_MAX / 8 + 1, &bytes), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(bytes, 77);
    ck_assert_int_eq(fv_array_bytes(L_U32, SIZE_MAX, &bytes), FV_ERR_CAPACITY_OVERFLOW);
    ck_assert_uint_eq(bytes, 77);
}

FT_TEST(1, array_bytes_stops_exactly_at_ptrdiff_max, 2,
        "No object may be larger than PTRDIFF_MAX bytes (pointer differences must fit ptrdiff_t). Exactly "
        "PTRDIFF_MAX is allowed, one more element is an overflow: check for an off-by-one in the comparison.")
{
    size_t bytes = 0;
    ck_assert_int_eq(fv_array_bytes(L_U8, (size_t)PTRDIFF_MAX, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, (size_t)PTRDIFF_MAX);
    ck_assert_int_eq(fv_array_bytes(L_U8, (size_t)PTRDIFF_MAX + 1, &bytes), FV_ERR_CAPACITY_OVERFLOW);

    size_t n = (size_t)PTRDIFF_MAX / 4; /* 4n == PTRDIFF_MAX - 3 */
    ck_assert_int_eq(fv_array_bytes(L_U32, n, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, n * 4);
    ck_assert_int_eq(fv_array_bytes(L_U32, n + 1, &bytes), FV_ERR_CAPACITY_OVERFLOW);

    fv_layout l24 = {24, 8};
    n = (size_t)PTRDIFF_MAX / 24;
    ck_assert_int_eq(fv_array_bytes(l24, n, &bytes), FV_OK);
    ck_assert_uint_eq(bytes, n * 24);
    ck_assert_int_eq(fv_array_bytes(l24, n + 1, &bytes), FV_ERR_CAPACITY_OVERFLOW);
}

FT_TEST(1, min_non_zero_cap_follows_rust, 1,
        "Rust's RawVec::MIN_NON_ZERO_CAP: 8 for 1-byte elements, 4 for elements up to 1024 bytes, else 1. "
        "Watch the boundary: 1024 still gets 4.")
{
    ck_assert_uint_eq(fv_min_non_zero_cap(1), 8);
    ck_assert_uint_eq(fv_min_non_zero_cap(2), 4);
    ck_assert_uint_eq(fv_min_non_zero_cap(4), 4);
    ck_assert_uint_eq(fv_min_non_zero_cap(1024), 4);
    ck_assert_uint_eq(fv_min_non_zero_cap(1025), 1);
    ck_assert_uint_eq(fv_min_non_zero_cap(4096), 1);
}
