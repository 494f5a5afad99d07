/*
 * Part 2: the demux. Linux's rule, decided on all 64 bits: a raw result in [-4095, -1] is -errno, anything else a
 * value. The boundaries (-4096, -4095, -1, 0), values whose low 32 bits look like an error, and errno.
 */
#include "support.h"

#include <errno.h>

FT_PART(2, "the Result demux");

/* Fails unless demux(raw) is exactly {value, err}. */
#define ASSERT_DEMUX(raw, want_value, want_err)                                                                 \
    do {                                                                                                        \
        uintptr_t raw_ = (uintptr_t)(raw);                                                                      \
        sys_result r_ = sys_demux(raw_);                                                                        \
        ck_assert_msg(r_.value == (uintptr_t)(want_value) && r_.err == (want_err),                              \
                      "sys_demux(%#lx) = {value %#lx, err %d}, want {value %#lx, err %d}", (unsigned long)raw_, \
                      (unsigned long)r_.value, r_.err, (unsigned long)(uintptr_t)(want_value), (want_err));     \
    } while (0)

FT_TEST(2, demux_zero_is_ok_zero, 1,
        "0 is a value (read at end of file, close's success), not an error: only [-4095, -1] are errors.")
{
    ASSERT_DEMUX(0, 0, 0);
    ck_assert(sys_is_ok(sys_demux(0)));
}

FT_TEST(2, demux_minus_one_is_error_one, 2,
        "A raw -1 is -EPERM: err = 1, value 0. Negate the raw value to get the positive error number.")
{
    ASSERT_DEMUX(-1, 0, 1);
    ASSERT_DEMUX(-2, 0, SYS_ENOENT);
    ASSERT_DEMUX(-9, 0, SYS_EBADF);
    ck_assert(sys_is_err(sys_demux((uintptr_t)-1)));
}

FT_TEST(2, demux_minus_4095_is_the_last_error, 2,
        "The error range ends at -4095 inclusive (MAX_ERRNO). Check the comparison for an off-by-one.")
{
    ASSERT_DEMUX(-4095, 0, 4095);
    ASSERT_DEMUX(-4094, 0, 4094);
}

FT_TEST(2, demux_minus_4096_is_a_value, 2,
        "-4096 is just outside the error range: it is a value (0xFFFFFFFFFFFFF000). The rule is raw > -4096 "
        "as unsigned, i.e. raw >= -4095; raw >= -4096 is an off-by-one.")
{
    ASSERT_DEMUX(-4096, (uintptr_t)-4096, 0);
    ASSERT_DEMUX(-4097, (uintptr_t)-4097, 0);
}

FT_TEST(2, demux_decides_on_all_64_bits, 3,
        "Compare the whole 64-bit word. Truncating to 32 bits reads 0x1FFFFFFFF or 0xFFFFFFFF as -1 and an "
        "address such as 0x7FFFFFFFF001 as -4095, turning valid results into errors.")
{
    ASSERT_DEMUX(0x1FFFFFFFFu, 0x1FFFFFFFFu, 0);
    ASSERT_DEMUX(0xFFFFFFFFu, 0xFFFFFFFFu, 0);
    ASSERT_DEMUX(0xFFFFF001u, 0xFFFFF001u, 0);
    ASSERT_DEMUX(0x7FFFFFFFF001u, 0x7FFFFFFFF001u, 0);
    ASSERT_DEMUX(0xFFFFFFFEFFFFFFFFu, 0xFFFFFFFEFFFFFFFFu, 0);
}

FT_TEST(2, demux_large_values_and_high_addresses_are_values, 1,
        "Byte counts, descriptors and mmap addresses can be large, even negative as signed numbers: outside the "
        "error range [-4095, -1] all are values, returned unchanged. Test that range, not the sign.")
{
    ASSERT_DEMUX(4096, 4096, 0);
    ASSERT_DEMUX(0x7F1234567000u, 0x7F1234567000u, 0);
    ASSERT_DEMUX(UINTPTR_MAX / 2, UINTPTR_MAX / 2, 0);
    ASSERT_DEMUX(0xFFFF800000000000u, 0xFFFF800000000000u, 0);
}

FT_TEST(2, demux_every_error_number_comes_back_positive, 2,
        "For each e in 1..4095, demux(-e) must give err = e and value = 0 (Err carries no value).")
{
    for (int e = 1; e <= SYS_MAX_ERRNO; e++) {
        sys_result r = sys_demux((uintptr_t)-e);
        ck_assert_msg(r.err == e && r.value == 0, "sys_demux(-%d) = {%#lx, %d}", e, (unsigned long)r.value, r.err);
    }
}

FT_TEST(2, demux_leaves_errno_alone, 1,
        "The error travels in the result, so errno is neither read nor written (Rust has no errno either).")
{
    errno = 777;
    ASSERT_DEMUX(-SYS_EBADF, 0, SYS_EBADF);
    ASSERT_DEMUX(42, 42, 0);
    ck_assert_int_eq(errno, 777);
}
