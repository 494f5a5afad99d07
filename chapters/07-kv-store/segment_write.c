/*
 * Chapter 07, part 2: writing a memtable out as a segment. The contract and the file format are in segment.h; the
 * little-endian helpers and the bloom filter's bit positions, shared with the reader (segment.c), in
 * segment_format.h.
 *
 * Suggested layout: build the whole file in a growable buffer — data blocks, each followed by its crc, while
 * collecting the index records and setting the bloom filter's bits; then the index, the filter and the footer —
 * and hand it to the io in one append.
 */
#include "segment.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t kv_segment_key_hash(const void *key, size_t key_len)
{
    /* TODO (part 2): FNV-1a, 64 bits: start from 0xcbf29ce484222325; for each byte, xor it in, then multiply by
     * 0x100000001b3. Every byte of the key, no more and no fewer: a filter built with one length and probed with
     * another has false negatives, and a bloom filter must never have those. */
    (void)key;
    (void)key_len;
    return 0;
}

kv_status kv_segment_write(kv_io *io, const char *dir, const char *name, const kv_memtable *mt, size_t block_bytes)
{
    /* TODO (part 2): build the file in memory; write it to "dir/name.tmp" (open with APPEND|CREATE|TRUNC, append,
     * sync, close); rename it to "dir/name"; sync the directory. Each step in that order, and why: without the
     * file's sync a power cut can leave the new name on an empty file; without the directory's sync the rename
     * itself can be lost. On any failure remove the temporary file and return the io's status. */
    (void)io;
    (void)dir;
    (void)name;
    (void)mt;
    (void)block_bytes;
    return KV_TODO;
}
