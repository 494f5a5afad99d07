/*
 * segment.c — chapter 07, part 2: reading a segment — checked whole before it is trusted, then looked up through
 * its bloom filter and index, or walked in order.                                          (reference solution)
 *
 * Opening takes the whole file back, checks it whole, and keeps it: lookups and iterators then decode bytes that
 * are known good. The writer is in segment_write.c.
 */
#include "segment.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdlib.h>
#include <string.h>

/* One block as the index describes it, resolved to pointers into the file's bytes. */
typedef struct block_ref {
    const uint8_t *last_key;
    size_t last_key_len;
    size_t offset, length;
} block_ref;

struct kv_segment {
    uint8_t *bytes; /* the whole file, checked; owned */
    size_t size;
    block_ref *blocks; /* the index, decoded; owned */
    size_t block_count;
    const uint8_t *bloom; /* the filter's bits, inside bytes */
    size_t bloom_bits;
    uint32_t bloom_hashes;
    uint64_t entry_count;
    kv_segment_stats stats;
};

static bool bloom_may_contain(const kv_segment *seg, const void *key, size_t key_len)
{
    uint64_t h = kv_segment_key_hash(key, key_len);
    for (uint32_t i = 0; i < seg->bloom_hashes; i++) {
        size_t bit = kv_bloom_bit(h, i, seg->bloom_bits);
        if (!(seg->bloom[bit / 8] & (1u << (bit % 8))))
            return false;
    }
    return true;
}

/* Reads the whole of @p path into a new buffer. */
static kv_status read_all(kv_io *io, const char *path, uint8_t **out, size_t *size)
{
    kv_file *f;
    kv_status s = io->open(io, path, KV_OPEN_READ, &f);
    if (s != KV_OK)
        return s;
    uint64_t len = 0;
    uint8_t *bytes = NULL;
    size_t got = 0;
    s = io->size(f, &len);
    if (s == KV_OK && len > SIZE_MAX / 2)
        s = KV_CORRUPT;
    if (s == KV_OK && (bytes = malloc(len ? len : 1)) == NULL)
        s = KV_NO_MEMORY;
    if (s == KV_OK)
        s = io->read_at(f, 0, bytes, len, &got);
    if (s == KV_OK && got != len)
        s = KV_IO_ERROR; /* the file shrank under us */
    kv_status closed = io->close(f);
    if (s == KV_OK)
        s = closed;
    if (s != KV_OK) {
        free(bytes);
        return s;
    }
    *out = bytes;
    *size = len;
    return KV_OK;
}

/* Is [offset, offset + length + 4) inside [0, limit), and does the crc after the region match it? */
static bool region_ok(const uint8_t *bytes, uint64_t offset, uint64_t length, uint64_t limit)
{
    if (offset > limit || length > limit - offset || limit - offset - length < 4)
        return false;
    return kv_crc32c(bytes + offset, length) == kv_get_u32(bytes + offset + length);
}

/* Checks that a data block is a whole number of entries, in strictly increasing key order, the last of which is
 * the index's key for it. @p prev / @p prev_len: the last key of the block before (NULL for the first). */
static bool block_ok(const uint8_t *p, const block_ref *b, const uint8_t **prev, size_t *prev_len)
{
    size_t at = 0;
    while (at < b->length) {
        if (b->length - at < KV_SEGMENT_ENTRY_HEADER)
            return false;
        uint32_t klen = kv_get_u32(p + at), vlen = kv_get_u32(p + at + 4);
        uint64_t body = (uint64_t)klen + (vlen == KV_SEGMENT_TOMBSTONE ? 0 : vlen);
        if (body > b->length - at - KV_SEGMENT_ENTRY_HEADER)
            return false;
        const uint8_t *key = p + at + KV_SEGMENT_ENTRY_HEADER;
        if (*prev != NULL && kv_key_compare(*prev, *prev_len, key, klen) >= 0)
            return false;
        *prev = key;
        *prev_len = klen;
        at += KV_SEGMENT_ENTRY_HEADER + body;
    }
    return at > 0 && kv_key_compare(*prev, *prev_len, b->last_key, b->last_key_len) == 0;
}

/* Decodes and checks the index: blocks back to back from offset 0 up to the index, each with a good crc. */
static kv_status check_index(kv_segment *seg, uint64_t index_offset, uint64_t index_length)
{
    const uint8_t *p = seg->bytes + index_offset, *end = p + index_length;
    if (index_length < 4)
        return KV_CORRUPT;
    uint32_t count = kv_get_u32(p);
    p += 4;
    if (count > index_length / 16) /* each record takes 16 bytes at least: no absurd allocation */
        return KV_CORRUPT;
    seg->blocks = calloc(count ? count : 1, sizeof *seg->blocks);
    if (seg->blocks == NULL)
        return KV_NO_MEMORY;
    seg->block_count = count;
    uint64_t expect = 0;
    const uint8_t *prev = NULL;
    size_t prev_len = 0;
    for (uint32_t i = 0; i < count; i++) {
        if ((size_t)(end - p) < 16 || kv_get_u32(p) > (size_t)(end - p) - 16)
            return KV_CORRUPT;
        block_ref *b = &seg->blocks[i];
        b->last_key_len = kv_get_u32(p);
        b->last_key = p + 4;
        p += 4 + b->last_key_len;
        b->offset = kv_get_u64(p);
        b->length = kv_get_u32(p + 8);
        p += 12;
        if (b->offset != expect || !region_ok(seg->bytes, b->offset, b->length, index_offset) ||
            !block_ok(seg->bytes + b->offset, b, &prev, &prev_len))
            return KV_CORRUPT;
        expect = b->offset + b->length + 4;
    }
    return p == end && expect == index_offset ? KV_OK : KV_CORRUPT;
}

/* Checks the footer, then every region it points at; fills @p seg from them. */
static kv_status check(kv_segment *seg)
{
    if (seg->size < KV_SEGMENT_FOOTER_BYTES)
        return KV_CORRUPT;
    const uint8_t *f = seg->bytes + seg->size - KV_SEGMENT_FOOTER_BYTES;
    if (kv_get_u64(f + 40) != KV_SEGMENT_MAGIC || kv_get_u32(f + 32) != KV_SEGMENT_VERSION ||
        kv_crc32c(f, 36) != kv_get_u32(f + 36))
        return KV_CORRUPT;
    uint64_t index_offset = kv_get_u64(f), index_length = kv_get_u32(f + 8);
    uint64_t bloom_offset = kv_get_u64(f + 12), bloom_length = kv_get_u32(f + 20);
    uint64_t body = seg->size - KV_SEGMENT_FOOTER_BYTES;
    if (bloom_offset > body || bloom_length + 4 != body - bloom_offset || bloom_length < 4 + 8 ||
        !region_ok(seg->bytes, bloom_offset, bloom_length, body) || index_offset > bloom_offset ||
        index_length + 4 != bloom_offset - index_offset || !region_ok(seg->bytes, index_offset, index_length, body))
        return KV_CORRUPT;
    seg->bloom_hashes = kv_get_u32(seg->bytes + bloom_offset);
    seg->bloom = seg->bytes + bloom_offset + 4;
    seg->bloom_bits = (bloom_length - 4) * 8;
    seg->entry_count = kv_get_u64(f + 24);
    if (seg->bloom_hashes == 0 || seg->bloom_hashes > 32)
        return KV_CORRUPT;
    return check_index(seg, index_offset, index_length);
}

kv_status kv_segment_open(kv_io *io, const char *path, kv_segment **out)
{
    *out = NULL;
    kv_segment *seg = calloc(1, sizeof *seg);
    if (seg == NULL)
        return KV_NO_MEMORY;
    kv_status s = read_all(io, path, &seg->bytes, &seg->size);
    if (s == KV_OK)
        s = check(seg);
    if (s != KV_OK) {
        kv_segment_close(seg);
        return s;
    }
    *out = seg;
    return KV_OK;
}

void kv_segment_close(kv_segment *seg)
{
    if (seg == NULL)
        return;
    free(seg->blocks);
    free(seg->bytes);
    free(seg);
}

uint64_t kv_segment_count(const kv_segment *seg) { return seg->entry_count; }

void kv_segment_stats_read(const kv_segment *seg, kv_segment_stats *out) { *out = seg->stats; }

/* The first block whose last key is >= key: the only one that can hold it (block_count when none can). */
static size_t find_block(const kv_segment *seg, const void *key, size_t key_len)
{
    size_t lo = 0, hi = seg->block_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const block_ref *b = &seg->blocks[mid];
        if (kv_key_compare(b->last_key, b->last_key_len, key, key_len) < 0)
            lo = mid + 1; /* this block ends before the key: it lies further right */
        else
            hi = mid;
    }
    return lo;
}

/* Decodes the entry at @p offset of block @p block (checked at open, so every length is in bounds). */
static size_t decode(const kv_segment *seg, size_t block, size_t offset, kv_entry *out)
{
    const uint8_t *p = seg->bytes + seg->blocks[block].offset + offset;
    uint32_t klen = kv_get_u32(p), vlen = kv_get_u32(p + 4);
    bool tomb = vlen == KV_SEGMENT_TOMBSTONE;
    *out = (kv_entry){p + KV_SEGMENT_ENTRY_HEADER, klen, tomb ? NULL : p + KV_SEGMENT_ENTRY_HEADER + klen, tomb ? 0 : vlen,
                      tomb};
    return KV_SEGMENT_ENTRY_HEADER + klen + (tomb ? 0 : vlen);
}

void kv_segment_seek(const kv_segment *seg, const void *key, size_t key_len, kv_segment_iter *it)
{
    it->seg = seg;
    it->offset = 0;
    it->block = key == NULL ? 0 : find_block(seg, key, key_len);
    if (key == NULL || it->block == seg->block_count)
        return;
    kv_entry e;
    /* The block's last key is >= key, so the walk stops inside it. */
    while (decode(seg, it->block, it->offset, &e), kv_key_compare(e.key, e.key_len, key, key_len) < 0)
        kv_segment_iter_next(it);
}

bool kv_segment_iter_entry(const kv_segment_iter *it, kv_entry *out)
{
    if (it->block >= it->seg->block_count)
        return false;
    decode(it->seg, it->block, it->offset, out);
    return true;
}

void kv_segment_iter_next(kv_segment_iter *it)
{
    if (it->block >= it->seg->block_count)
        return;
    kv_entry e;
    it->offset += decode(it->seg, it->block, it->offset, &e);
    if (it->offset == it->seg->blocks[it->block].length) {
        it->block++;
        it->offset = 0;
    }
}

kv_status kv_segment_get(kv_segment *seg, const void *key, size_t key_len, kv_entry *out)
{
    *out = (kv_entry){0};
    if (!bloom_may_contain(seg, key, key_len)) {
        seg->stats.bloom_skips++;
        return KV_NOT_FOUND;
    }
    size_t block = find_block(seg, key, key_len);
    if (block == seg->block_count)
        return KV_NOT_FOUND;
    seg->stats.blocks_searched++;
    kv_segment_iter it = {seg, block, 0};
    kv_entry e;
    while (it.block == block && kv_segment_iter_entry(&it, &e)) {
        int c = kv_key_compare(e.key, e.key_len, key, key_len);
        if (c == 0) {
            *out = e;
            return KV_OK;
        }
        if (c > 0)
            break;
        kv_segment_iter_next(&it);
    }
    return KV_NOT_FOUND;
}
