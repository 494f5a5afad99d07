/*
 * Chapter 07, part 1: CRC-32C against the published check values (RFC 3720, appendix B.4) and the composition rule
 * that lets a frame's CRC be computed over its length field and its payload in two steps.
 */
#include "crc32c.h"
#include "ferrite_test.h"

#include <string.h>

FT_TEST(1, crc32c_matches_the_published_check_values, 2,
        "CRC-32C is the reflected polynomial 0x82F63B78 with initial value and final xor 0xFFFFFFFF: "
        "crc(\"123456789\") is 0xE3069283. A different polynomial (0xEDB88320 is zlib's CRC-32) or a missing "
        "inversion gives other numbers.")
{
    ck_assert_uint_eq(kv_crc32c("123456789", 9), 0xE3069283u);
    unsigned char buf[32];
    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(kv_crc32c(buf, sizeof buf), 0x8A9136AAu);
    memset(buf, 0xFF, sizeof buf);
    ck_assert_uint_eq(kv_crc32c(buf, sizeof buf), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)i;
    ck_assert_uint_eq(kv_crc32c(buf, sizeof buf), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (unsigned char)(31 - i);
    ck_assert_uint_eq(kv_crc32c(buf, sizeof buf), 0x113FDB5Cu);
}

FT_TEST(1, crc32c_of_nothing_is_zero, 1,
        "The CRC of zero bytes is the initial value inverted back: 0. The log relies on the CRC of a zero length "
        "not being 0, so a zero-filled block is never a record.")
{
    ck_assert_uint_eq(kv_crc32c(NULL, 0), 0);
    ck_assert_uint_eq(kv_crc32c_extend(0, NULL, 0), 0);
    unsigned char zero_len[4] = {0};
    ck_assert_uint_eq(kv_crc32c(zero_len, 4), 0x48674BC7u);
}

FT_TEST(1, crc32c_extend_continues_a_crc_at_every_split, 2,
        "kv_crc32c_extend(crc, b) must continue the CRC of a as if a and b were one buffer: undo the final xor "
        "on entry (start from ~crc) and apply it again on exit.")
{
    ck_assert_uint_eq(kv_crc32c_extend(kv_crc32c("1234", 4), "56789", 5), 0xE3069283u);
    unsigned char buf[97];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    uint32_t whole = kv_crc32c(buf, sizeof buf);
    ck_assert_uint_eq(kv_crc32c_extend(0, buf, sizeof buf), whole);
    for (size_t cut = 0; cut <= sizeof buf; cut++) {
        uint32_t two = kv_crc32c_extend(kv_crc32c(buf, cut), buf + cut, sizeof buf - cut);
        ck_assert_msg(two == whole, "split at %zu: %#x, one pass: %#x", cut, two, whole);
    }
}
