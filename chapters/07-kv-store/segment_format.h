/**
 * @file segment_format.h
 * @brief Chapter 07, part 2: the few helpers that the segment writer (segment_write.c) and reader (segment.c) must
 *        agree on byte for byte — little-endian integers and the bloom filter's bit positions. Given, not written.
 *
 * The format itself is drawn in segment.h. Integers are stored byte by byte, least significant first, whatever the
 * machine's own order: a segment written on one machine reads the same on any other, and no pointer is ever cast to
 * a wider type at an address that may not be aligned for it.
 */
#ifndef FERRITE_SEGMENT_FORMAT_H
#define FERRITE_SEGMENT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/** Bytes before a data entry's key: u32 key_len, u32 value_len. */
#define KV_SEGMENT_ENTRY_HEADER 8u

/**
 * @brief Stores @p v at @p p as 4 little-endian bytes.
 * @param p at least 4 writable bytes; any alignment.
 * @param v the value.
 * @rust `p[..4].copy_from_slice(&v.to_le_bytes())`
 */
static inline void kv_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/**
 * @brief Stores @p v at @p p as 8 little-endian bytes.
 * @param p at least 8 writable bytes; any alignment.
 * @param v the value.
 * @rust `p[..8].copy_from_slice(&v.to_le_bytes())`
 */
static inline void kv_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/**
 * @brief Reads 4 little-endian bytes at @p p.
 * @param p at least 4 readable bytes; any alignment.
 * @rust `u32::from_le_bytes(p[..4].try_into().unwrap())`
 */
static inline uint32_t kv_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/**
 * @brief Reads 8 little-endian bytes at @p p.
 * @param p at least 8 readable bytes; any alignment.
 * @rust `u64::from_le_bytes(p[..8].try_into().unwrap())`
 */
static inline uint64_t kv_get_u64(const uint8_t *p) { return kv_get_u32(p) | (uint64_t)kv_get_u32(p + 4) << 32; }

/**
 * @brief The @p i-th bit a key sets in (or tests of) a bloom filter of @p bits bits: double hashing, h1 + i * h2
 *        modulo the bit count, with h1 and h2 the low and high halves of the key's kv_segment_key_hash() and h2 made
 *        odd so that the probes never collapse onto one bit.
 * @param hash kv_segment_key_hash() of the whole key.
 * @param i the probe, 0 .. hash_count - 1.
 * @param bits the filter's size in bits (its length in bytes times 8), at least 1.
 * @rust `((h1 as u64 + i as u64 * h2 as u64) % bits as u64) as usize`, LevelDB's and RocksDB's double hashing
 */
static inline size_t kv_bloom_bit(uint64_t hash, uint32_t i, size_t bits)
{
    uint32_t h1 = (uint32_t)hash, h2 = (uint32_t)(hash >> 32) | 1u;
    return (size_t)(((uint64_t)h1 + (uint64_t)i * h2) % bits);
}

#endif /* FERRITE_SEGMENT_FORMAT_H */
