/*
 * Chapter 07, part 1: CRC-32C (crc32c.h has the definition and the check value). Both functions return 0 until
 * written; each TODO says what to do and why.
 */
#include "crc32c.h"

uint32_t kv_crc32c_extend(uint32_t crc, const void *data, size_t len)
{
    /* TODO: a 256-entry table for the reflected polynomial 0x82F63B78 (built once, thread-safely), then per byte
     * c = table[(c ^ byte) & 0xFF] ^ (c >> 8), starting from ~crc and returning ~c, so that extending 0 is the
     * plain CRC and extending a CRC continues it. */
    (void)crc, (void)data, (void)len;
    return 0;
}

uint32_t kv_crc32c(const void *data, size_t len)
{
    /* TODO: the CRC of data alone: extend the CRC of nothing. */
    (void)data, (void)len;
    return 0;
}
