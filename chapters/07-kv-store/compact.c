/*
 * Chapter 07, part 3: compaction and space amplification. The contract, and the order of the durable steps, are in
 * compact.h.
 *
 * Suggested layout: open the inputs (kv_segment_open on "dir/" + kv_segment_file_name()); merge them the way
 * kv_scan_next() merges layers, with one kv_segment_iter per input, but keep tombstones unless the run reaches the
 * oldest segment; put the survivors in a memtable and write it with kv_segment_write(); install the new manifest;
 * only then remove the inputs and sync the directory.
 */
#include "compact.h"

#include "memtable.h"
#include "scan.h"
#include "segment.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

kv_status kv_compact(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count, size_t block_bytes)
{
    return kv_compact_filtered(io, dir, m, first, count, block_bytes, NULL, NULL);
}

kv_status kv_compact_filtered(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count, size_t block_bytes,
                              kv_compact_filter *keep, void *ctx)
{
    /* TODO (part 3): see compact.h. The inputs must outlive nothing but the merge: close them before writing. Update
     * *m once the new manifest is current, before removing the inputs. Part 4: ask keep (when not NULL) about each
     * entry the merge would write, and leave out those it refuses. */
    (void)io;
    (void)dir;
    (void)m;
    (void)first;
    (void)count;
    (void)block_bytes;
    (void)keep;
    (void)ctx;
    return KV_TODO;
}

kv_status kv_space_stats(kv_io *io, const char *dir, const kv_manifest *m, kv_space *out)
{
    /* TODO (part 3): add up the live segments' file sizes (io->open, io->size, io->close); open them and walk a
     * kv_scan over a kv_view of all of them, adding up key_len + value_len of every entry it returns. */
    (void)io;
    (void)dir;
    (void)m;
    (void)out;
    return KV_TODO;
}
