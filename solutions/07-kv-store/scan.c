/*
 * scan.c — chapter 07, part 2: point lookups and merged range scans over a memtable and segments.
 *                                                                                          (reference solution)
 *
 * A scan keeps one cursor per layer, index 0 the newest (the memtable when there is one). Each step takes the
 * smallest key among the cursors, the lowest index winning a tie, and moves every cursor on that key forward.
 */
#include "scan.h"

#include <stdlib.h>
#include <string.h>

kv_status kv_view_get(const kv_view *view, const void *key, size_t key_len, kv_entry *out)
{
    *out = (kv_entry){0};
    if (view->segment_count > KV_VIEW_MAX_SEGMENTS)
        return KV_INVALID;
    kv_entry e;
    bool found = view->memtable != NULL && kv_memtable_get(view->memtable, key, key_len, &e);
    /* Newest first: the first layer with an entry decides, and older layers are never asked. */
    for (size_t i = 0; !found && i < view->segment_count; i++)
        found = kv_segment_get(view->segments[i], key, key_len, &e) == KV_OK;
    if (!found || e.tombstone)
        return KV_NOT_FOUND;
    *out = e;
    return KV_OK;
}

/* One layer's position: a memtable iterator or a segment iterator. */
typedef struct cursor {
    bool is_memtable;
    kv_memtable_iter mem;
    kv_segment_iter seg;
} cursor;

struct kv_scan {
    uint8_t *end; /* owned copy of the upper bound; NULL for none */
    size_t end_len;
    bool has_end, done;
    size_t count;
    cursor cursors[]; /* newest first */
};

static bool cursor_entry(const cursor *c, kv_entry *out)
{
    return c->is_memtable ? kv_memtable_iter_entry(&c->mem, out) : kv_segment_iter_entry(&c->seg, out);
}

static void cursor_next(cursor *c)
{
    if (c->is_memtable)
        kv_memtable_iter_next(&c->mem);
    else
        kv_segment_iter_next(&c->seg);
}

kv_status kv_scan_open(const kv_view *view, const void *start, size_t start_len, const void *end, size_t end_len,
                       kv_scan **out)
{
    *out = NULL;
    if (view->segment_count > KV_VIEW_MAX_SEGMENTS)
        return KV_INVALID;
    size_t layers = view->segment_count + (view->memtable != NULL);
    kv_scan *s = calloc(1, sizeof *s + layers * sizeof(cursor));
    if (s == NULL)
        return KV_NO_MEMORY;
    if (end != NULL) {
        s->end = malloc(end_len ? end_len : 1);
        if (s->end == NULL) {
            free(s);
            return KV_NO_MEMORY;
        }
        if (end_len)
            memcpy(s->end, end, end_len);
        s->end_len = end_len;
        s->has_end = true;
    }
    size_t n = 0;
    if (view->memtable != NULL) {
        s->cursors[n].is_memtable = true;
        kv_memtable_seek(view->memtable, start, start_len, &s->cursors[n++].mem);
    }
    for (size_t i = 0; i < view->segment_count; i++)
        kv_segment_seek(view->segments[i], start, start_len, &s->cursors[n++].seg);
    s->count = n;
    *out = s;
    return KV_OK;
}

kv_status kv_scan_next(kv_scan *s, kv_entry *out)
{
    *out = (kv_entry){0};
    while (!s->done) {
        kv_entry best, e;
        size_t winner = s->count;
        for (size_t i = 0; i < s->count; i++) {
            /* Strictly smaller only: on a tie the lower index, the newer layer, keeps the win. */
            if (cursor_entry(&s->cursors[i], &e) &&
                (winner == s->count || kv_key_compare(e.key, e.key_len, best.key, best.key_len) < 0)) {
                best = e;
                winner = i;
            }
        }
        if (winner == s->count || (s->has_end && kv_key_compare(best.key, best.key_len, s->end, s->end_len) >= 0)) {
            s->done = true;
            break;
        }
        /* Every layer on this key moves past it: the older entries are history. (`best` stays valid: moving an
         * iterator frees nothing.) */
        for (size_t i = 0; i < s->count; i++)
            if (cursor_entry(&s->cursors[i], &e) && kv_key_compare(e.key, e.key_len, best.key, best.key_len) == 0)
                cursor_next(&s->cursors[i]);
        if (!best.tombstone) {
            *out = best;
            return KV_OK;
        }
    }
    return KV_NOT_FOUND;
}

void kv_scan_close(kv_scan *s)
{
    if (s == NULL)
        return;
    free(s->end);
    free(s);
}
