/*
 * Chapter 07, part 2: reading a segment. The contract and the file format are in segment.h; the little-endian
 * helpers and the bloom filter's bit positions, shared with the writer (segment_write.c), in segment_format.h.
 *
 * Suggested layout: read the whole file, check it whole, keep it, and decode the index into an array of
 * {last key, offset, length} for the binary search; keep a pointer to the filter's bits and their count. Define
 * struct kv_segment here: the header keeps it opaque.
 */
#include "segment.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdlib.h>
#include <string.h>

kv_status kv_segment_open(kv_io *io, const char *path, kv_segment **out)
{
    /* TODO (part 2): read the whole file through the io; check, before trusting any offset: the size (at least a
     * footer), the magic, the version, the footer's crc, then the bloom filter's and the index's regions (inside
     * the file, crcs right), then every block the index lists (back to back from offset 0, crc right, entries
     * exactly filling it, keys increasing, its last key the index's). Anything wrong: KV_CORRUPT, and nothing
     * is kept. */
    (void)io;
    (void)path;
    *out = NULL;
    return KV_TODO;
}

void kv_segment_close(kv_segment *seg)
{
    /* TODO (part 2): free what open kept. */
    (void)seg;
}

uint64_t kv_segment_count(const kv_segment *seg)
{
    /* TODO (part 2): the footer's entry count. */
    (void)seg;
    return 0;
}

kv_status kv_segment_get(kv_segment *seg, const void *key, size_t key_len, kv_entry *out)
{
    /* TODO (part 2): the bloom filter first (count a skip when it says no); then the binary search of the index for
     * the first block whose last key is >= key (none: not found); count the block searched; walk it. */
    (void)seg;
    (void)key;
    (void)key_len;
    memset(out, 0, sizeof *out);
    return KV_TODO;
}

void kv_segment_stats_read(const kv_segment *seg, kv_segment_stats *out)
{
    /* TODO (part 2) */
    (void)seg;
    memset(out, 0, sizeof *out);
}

void kv_segment_seek(const kv_segment *seg, const void *key, size_t key_len, kv_segment_iter *it)
{
    /* TODO (part 2): the block from the index's binary search (block 0 when key is NULL), then walk it to the
     * first key >= key. */
    (void)key;
    (void)key_len;
    it->seg = seg;
    it->block = 0;
    it->offset = 0;
}

bool kv_segment_iter_entry(const kv_segment_iter *it, kv_entry *out)
{
    /* TODO (part 2): decode the entry at (block, offset); false past the last block. */
    (void)it;
    memset(out, 0, sizeof *out);
    return false;
}

void kv_segment_iter_next(kv_segment_iter *it)
{
    /* TODO (part 2): step over the entry; at the end of a block, go to offset 0 of the next. */
    (void)it;
}
