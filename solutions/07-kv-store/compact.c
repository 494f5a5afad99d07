/*
 * compact.c — chapter 07, part 3: segments merged into one, installed through the manifest.  (reference solution)
 *
 * The merge walks one iterator per input, newest first, and at each step takes the smallest key any of them is on;
 * the newest input on that key wins and every input on it moves past it (scan.c's merge, but tombstones are kept
 * unless the run reaches the oldest segment). The survivors go into a memtable, which kv_segment_write() writes out:
 * a compaction's output is at most the size of its inputs, a few memtables' worth.
 */
#include "compact.h"

#include "memtable.h"
#include "scan.h"
#include "segment.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PATH_MAX_BYTES 4096

/* "dir/NNNNNN.seg" for segment @p number into @p out; false when it does not fit. */
static bool segment_path(char *out, const char *dir, uint64_t number)
{
    char name[KV_SEGMENT_NAME_BYTES];
    kv_segment_file_name(number, name);
    int n = snprintf(out, PATH_MAX_BYTES, "%s/%s", dir, name);
    return n > 0 && n < PATH_MAX_BYTES;
}

/* Opens segments numbers[0 .. count-1] into segs[]; on failure closes those it opened. */
static kv_status open_all(kv_io *io, const char *dir, const uint64_t *numbers, size_t count, kv_segment **segs)
{
    for (size_t i = 0; i < count; i++) {
        char path[PATH_MAX_BYTES];
        kv_status s = segment_path(path, dir, numbers[i]) ? kv_segment_open(io, path, &segs[i]) : KV_INVALID;
        if (s != KV_OK) {
            while (i > 0)
                kv_segment_close(segs[--i]);
            return s;
        }
    }
    return KV_OK;
}

static void close_all(kv_segment **segs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        kv_segment_close(segs[i]);
}

/* Merges segs[0 .. count-1] (newest first) into @p out: the newest entry of each key, tombstones dropped when
 * @p bottom (nothing older exists). */
static kv_status merge(kv_segment **segs, size_t count, bool bottom, kv_compact_filter *keep, void *ctx, kv_memtable *out)
{
    kv_segment_iter its[KV_MANIFEST_MAX_SEGMENTS];
    for (size_t i = 0; i < count; i++)
        kv_segment_seek(segs[i], NULL, 0, &its[i]);
    for (;;) {
        kv_entry best = {0};
        bool any = false;
        for (size_t i = 0; i < count; i++) { /* newest first: on a tie the first one found stays */
            kv_entry e;
            if (kv_segment_iter_entry(&its[i], &e) &&
                (!any || kv_key_compare(e.key, e.key_len, best.key, best.key_len) < 0)) {
                best = e;
                any = true;
            }
        }
        if (!any)
            return KV_OK;
        kv_status s = KV_OK;
        if (keep != NULL && !keep(&best, bottom, ctx))
            ; /* the filter drops it */
        else if (!best.tombstone)
            s = kv_memtable_put(out, best.key, best.key_len, best.value, best.value_len);
        else if (!bottom)
            s = kv_memtable_delete(out, best.key, best.key_len); /* it still hides an older segment's value */
        if (s != KV_OK)
            return s;
        for (size_t i = 0; i < count; i++) { /* every input on that key moves past it: the older ones are history */
            kv_entry e;
            if (kv_segment_iter_entry(&its[i], &e) && kv_key_compare(e.key, e.key_len, best.key, best.key_len) == 0)
                kv_segment_iter_next(&its[i]);
        }
    }
}

kv_status kv_compact(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count, size_t block_bytes)
{
    return kv_compact_filtered(io, dir, m, first, count, block_bytes, NULL, NULL);
}

kv_status kv_compact_filtered(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count, size_t block_bytes,
                              kv_compact_filter *keep, void *ctx)
{
    if (count == 0 || first > m->segment_count || count > m->segment_count - first)
        return KV_INVALID;
    kv_segment *segs[KV_MANIFEST_MAX_SEGMENTS];
    kv_status s = open_all(io, dir, m->segments + first, count, segs);
    if (s != KV_OK)
        return s;
    kv_memtable *mt = NULL;
    s = kv_memtable_create(SIZE_MAX, &mt);
    if (s == KV_OK)
        s = merge(segs, count, first + count == m->segment_count, keep, ctx, mt);
    close_all(segs, count);

    /* The new manifest: the output (if anything survived) in place of the run, or the run simply gone. */
    kv_manifest next = *m;
    uint64_t output = m->next_number;
    size_t at = first;
    if (s == KV_OK && kv_memtable_count(mt) > 0) {
        char name[KV_SEGMENT_NAME_BYTES];
        kv_segment_file_name(output, name);
        s = kv_segment_write(io, dir, name, mt, block_bytes); /* (1) durable, but not yet live */
        next.segments[at++] = output;
        next.next_number = output + 1;
    }
    kv_memtable_destroy(mt);
    if (s != KV_OK)
        return s;
    for (size_t i = first + count; i < m->segment_count; i++)
        next.segments[at++] = m->segments[i];
    next.segment_count = at;

    s = kv_manifest_write(io, dir, &next); /* (2) the commit point */
    if (s != KV_OK)
        return s;
    kv_manifest old = *m;
    *m = next;

    /* (3) Only now are the inputs garbage. A failure here loses nothing: recovery removes leftovers. */
    for (size_t i = first; i < first + count; i++) {
        char path[PATH_MAX_BYTES];
        if (!segment_path(path, dir, old.segments[i]))
            return KV_INVALID;
        s = io->remove(io, path);
        if (s != KV_OK && s != KV_NOT_FOUND)
            return s;
    }
    return io->sync_dir(io, dir);
}

kv_status kv_space_stats(kv_io *io, const char *dir, const kv_manifest *m, kv_space *out)
{
    if (m->segment_count > KV_MANIFEST_MAX_SEGMENTS)
        return KV_INVALID;
    kv_space sp = {0};
    for (size_t i = 0; i < m->segment_count; i++) {
        char path[PATH_MAX_BYTES];
        if (!segment_path(path, dir, m->segments[i]))
            return KV_INVALID;
        kv_file *f = NULL;
        kv_status s = io->open(io, path, KV_OPEN_READ, &f);
        if (s != KV_OK)
            return s;
        uint64_t size = 0;
        s = io->size(f, &size);
        kv_status c = io->close(f);
        if (s == KV_OK)
            s = c;
        if (s != KV_OK)
            return s;
        sp.segment_bytes += size;
    }

    kv_segment *segs[KV_MANIFEST_MAX_SEGMENTS];
    kv_status s = open_all(io, dir, m->segments, m->segment_count, segs);
    if (s != KV_OK)
        return s;
    kv_view view = {.memtable = NULL, .segments = segs, .segment_count = m->segment_count};
    kv_scan *scan = NULL;
    s = kv_scan_open(&view, NULL, 0, NULL, 0, &scan);
    if (s == KV_OK) {
        kv_entry e;
        while (kv_scan_next(scan, &e) == KV_OK) {
            sp.live_keys++;
            sp.live_bytes += e.key_len + e.value_len;
        }
        kv_scan_close(scan);
    }
    close_all(segs, m->segment_count);
    if (s != KV_OK)
        return s;
    sp.amplification = sp.live_bytes ? (double)sp.segment_bytes / (double)sp.live_bytes : 0.0;
    *out = sp;
    return KV_OK;
}
