/*
 * Chapter 07, part 3: the manifest, the durable list of live segments. The contract and the file format are in
 * manifest.h; the little-endian helpers in segment_format.h.
 *
 * Suggested layout: kv_manifest_write() builds the whole file in one buffer (it is at most
 * KV_MANIFEST_FIXED_BYTES + 8 * KV_MANIFEST_MAX_SEGMENTS bytes) and publishes it the way kv_segment_write() publishes
 * a segment; kv_manifest_read() reads it back whole, one byte more than the largest manifest, and checks before it
 * trusts; kv_manifest_remove_leftovers() lists the directory into an array of names first and removes afterwards.
 */
#include "manifest.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kv_segment_file_name(uint64_t number, char out[KV_SEGMENT_NAME_BYTES])
{
    /* TODO (part 3): "%06llu.seg", with snprintf bounded by KV_SEGMENT_NAME_BYTES. */
    (void)number;
    out[0] = '\0';
}

kv_status kv_manifest_write(kv_io *io, const char *dir, const kv_manifest *m)
{
    /* TODO (part 3): refuse an inconsistent manifest (too many segments, a number not below next_number); encode it
     * (magic, version, count, log_number, next_number, the numbers, the crc of all of it); write "dir/MANIFEST.tmp"
     * (open with APPEND|CREATE|TRUNC, append, sync, close); rename it to "dir/MANIFEST"; sync the directory. The
     * rename is the commit point: the bytes must be durable before it, and the directory after it. */
    (void)io;
    (void)dir;
    (void)m;
    return KV_TODO;
}

kv_status kv_manifest_read(kv_io *io, const char *dir, kv_manifest *out)
{
    /* TODO (part 3): read "dir/MANIFEST" whole (KV_NOT_FOUND when it is missing). Check the magic and the version,
     * then that the length is exactly 36 + 8 * count (count at most KV_MANIFEST_MAX_SEGMENTS), then the crc, then
     * that every segment number is below next_number; any failure is KV_CORRUPT, and *out is written only at the
     * end. A manifest read in part is worse than none: it names some live segments and hides the others. */
    (void)io;
    (void)dir;
    (void)out;
    return KV_TODO;
}

kv_status kv_manifest_remove_leftovers(kv_io *io, const char *dir, const kv_manifest *m, size_t *removed)
{
    /* TODO (part 3): list the directory; collect every name ending in ".tmp" and every "NNNNNN.seg" that m does not
     * name (leave every other file alone: the log's files are not yours here); remove them after the listing; sync
     * the directory if anything was removed. */
    (void)io;
    (void)dir;
    (void)m;
    if (removed)
        *removed = 0;
    return KV_TODO;
}
