/**
 * @file crc32c.h
 * @brief Chapter 07, part 1: CRC-32C (Castagnoli), the checksum of every log record and, later, of every block of a
 *        segment file.
 *
 * The polynomial is 0x1EDC6F41 (reflected: 0x82F63B78), the initial value and the final xor are 0xFFFFFFFF: the
 * CRC of iSCSI (RFC 3720), ext4, LevelDB and RocksDB. Its check value, the CRC of the nine bytes "123456789", is
 * 0xE3069283. Pure functions: no state, safe from any thread.
 */
#ifndef FERRITE_KV_CRC32C_H
#define FERRITE_KV_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/**
 * @brief The CRC-32C of @p len bytes at @p data (borrowed; may be NULL when @p len is 0).
 * @rust `crc32c::crc32c(&data)` (the crc32c crate)
 */
uint32_t kv_crc32c(const void *data, size_t len);

/**
 * @brief Continues a CRC over more bytes: `kv_crc32c_extend(kv_crc32c(a, n), b, m)` equals the CRC of the n + m
 *        bytes of a followed by b. `kv_crc32c_extend(0, data, len)` equals `kv_crc32c(data, len)`.
 * @rust `crc32c::crc32c_append(crc, &more)`
 */
uint32_t kv_crc32c_extend(uint32_t crc, const void *data, size_t len);

#endif /* FERRITE_KV_CRC32C_H */
