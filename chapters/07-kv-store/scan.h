/**
 * @file scan.h
 * @brief Chapter 07, part 2: reading across layers — point lookups and range scans over a memtable and segments,
 *        newest first, tombstones hiding what they delete.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **Layers.** A key may have entries in several places: the memtable (newest), then each segment, newer segments
 * before older ones. The entry in the newest layer that has the key is the truth; the others are history. When
 * that entry is a tombstone, the key does not exist, whatever the older layers hold. A ::kv_view lists the layers
 * newest first: which segments are live is the caller's (a manifest, in a later part, will say).
 *
 * **Scans merge.** kv_scan_next() walks every layer at once, each with its own iterator, and at each step takes the
 * smallest key any of them is on; when several are on that key, the newest layer's entry wins and all of them move
 * past it. A tombstone that wins is skipped: it is never returned, and neither is what it hides. The merge looks
 * at every layer at each step (O(layers) per key): RocksDB's `MergingIterator` keeps its children in a heap, which
 * pays off from a few dozen layers on.
 *
 * **Lifetimes.** A view borrows its memtable and segments; a scan borrows the view's layers (not the ::kv_view
 * struct itself, which is copied). The layers must outlive the scan, and the memtable must not be written while a
 * scan is open (an iterator into a skip list does not survive an insert here). Entries returned borrow the layer they
 * came from, under the same rules as ::kv_entry.
 *
 * **Threads.** None of its own: a scan is used by one thread at a time.
 */
#ifndef FERRITE_SCAN_H
#define FERRITE_SCAN_H

#include "kv.h"
#include "memtable.h"
#include "segment.h"

#include <stddef.h>

/** Most segments one view may list. */
#define KV_VIEW_MAX_SEGMENTS 64

/**
 * @brief The layers a read looks at, newest first: the memtable, then `segments[0]`, `segments[1]`, ...
 * @rust `struct View<'a> { mem: Option<&'a SkipMap<..>>, tables: &'a [Arc<Table>] }` (TiKV takes a RocksDB
 *       `Snapshot`; we name the layers by hand)
 */
typedef struct kv_view {
    const kv_memtable *memtable; /**< borrowed, newest layer; NULL for none */
    kv_segment *const *segments; /**< borrowed array, newest first; may be NULL when `segment_count` is 0 */
    size_t segment_count;        /**< at most ::KV_VIEW_MAX_SEGMENTS */
} kv_view;

/**
 * @brief Looks @p key up in the view: the newest layer that has an entry for it decides.
 * @param view borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param[out] out the value's entry (never a tombstone) on ::KV_OK; zeroed otherwise.
 * @return ::KV_OK; ::KV_NOT_FOUND when no layer has the key or the newest entry is a tombstone; ::KV_INVALID for a
 *         view with more than ::KV_VIEW_MAX_SEGMENTS segments.
 * @rust `fn get(&self, key: &[u8]) -> Result<Option<&[u8]>>`, like `engine_traits::Peekable::get_value`
 */
FT_MUST_USE kv_status kv_view_get(const kv_view *view, const void *key, size_t key_len, kv_entry *out);

/** @brief A range scan in progress: opaque, made by kv_scan_open(). @rust an `Iterator<Item = (&[u8], &[u8])>` */
typedef struct kv_scan kv_scan;

/**
 * @brief Starts a scan of the keys k with start <= k < end, in key order, across every layer of @p view.
 * @param view borrowed for the call; its layers are borrowed until kv_scan_close().
 * @param start copied; NULL for "from the first key".
 * @param start_len its length (ignored when @p start is NULL).
 * @param end copied; NULL for "to the last key". An end <= start makes an empty scan.
 * @param end_len its length (ignored when @p end is NULL).
 * @param[out] out the scan, owned by the caller (kv_scan_close()); NULL on failure.
 * @return ::KV_OK; ::KV_INVALID (too many segments); ::KV_NO_MEMORY.
 * @rust `engine_traits::Iterable::iterator_opt(cf, IterOptions::new(Some(start), Some(end), ..))`, i.e. a RocksDB
 *       iterator with `iterate_lower_bound` and `iterate_upper_bound`
 */
FT_MUST_USE kv_status kv_scan_open(const kv_view *view, const void *start, size_t start_len, const void *end,
                                   size_t end_len, kv_scan **out);

/**
 * @brief The next live key of the range, with the newest value it has.
 * @param scan borrowed for the call.
 * @param[out] out the entry (never a tombstone) on ::KV_OK; zeroed otherwise.
 * @return ::KV_OK; ::KV_NOT_FOUND once the range is done (and on every call after).
 * @rust `Iterator::next`, `None` at the end
 */
FT_MUST_USE kv_status kv_scan_next(kv_scan *scan, kv_entry *out);

/**
 * @brief Ends the scan and frees it.
 * @param scan owned by the caller; NULL does nothing.
 * @rust `drop(iter)`
 */
void kv_scan_close(kv_scan *scan);

#endif /* FERRITE_SCAN_H */
