/*
 * Chapter 07, part 2: reads across layers — point lookups and merged range scans. The contract is in scan.h.
 *
 * Suggested layout of a scan: the upper bound (a copy), a done flag, and one cursor per layer, index 0 the newest
 * (the memtable when there is one); a cursor is a kv_memtable_iter or a kv_segment_iter and a flag saying which.
 * Define struct kv_scan here: the header keeps it opaque.
 */
#include "scan.h"

#include <stdlib.h>
#include <string.h>

kv_status kv_view_get(const kv_view *view, const void *key, size_t key_len, kv_entry *out)
{
    /* TODO (part 2): ask the memtable, then each segment in order (newest first); the first layer with an entry
     * decides, and older layers are not asked. A tombstone there is KV_NOT_FOUND. */
    (void)view;
    (void)key;
    (void)key_len;
    memset(out, 0, sizeof *out);
    return KV_TODO;
}

kv_status kv_scan_open(const kv_view *view, const void *start, size_t start_len, const void *end, size_t end_len,
                       kv_scan **out)
{
    /* TODO (part 2): allocate the scan with one cursor per layer, seek each to start, copy the end bound. */
    (void)view;
    (void)start;
    (void)start_len;
    (void)end;
    (void)end_len;
    *out = NULL;
    return KV_TODO;
}

kv_status kv_scan_next(kv_scan *scan, kv_entry *out)
{
    /* TODO (part 2): take the smallest key among the cursors; on a tie the lowest index (the newest layer) wins.
     * Stop at the end bound. Move every cursor that is on that key past it; if the winner is a tombstone, loop:
     * neither it nor what it hides is returned. */
    (void)scan;
    memset(out, 0, sizeof *out);
    return KV_TODO;
}

void kv_scan_close(kv_scan *scan)
{
    /* TODO (part 2): free the bound's copy and the scan. */
    (void)scan;
}
