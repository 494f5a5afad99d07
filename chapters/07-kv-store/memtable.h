/**
 * @file memtable.h
 * @brief Chapter 07, part 2: the memtable — the sorted, in-memory home of the newest writes.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **What it is.** Every put and delete lands here first (after the write-ahead log of part 1 has it). The table
 * keeps its entries sorted by key, so that it can be written out as a sorted segment (segment.h) in one pass, and
 * so that a range scan can walk it in order next to the segments (scan.h). A key appears at most once: a second
 * put of the same key replaces the value in place (no versions: MVCC is a later part).
 *
 * **Order.** Keys are byte strings compared like `memcmp`, byte by byte as unsigned; when one key is a prefix of
 * the other, the shorter comes first ("ab" < "abc" < "b"). Rust's `Ord for [u8]` is the same order. Keys may hold
 * any byte, NUL included, and may be empty.
 *
 * **Deletes are tombstones.** kv_memtable_delete() does not remove anything: it records "this key was deleted"
 * as an entry with `tombstone` set. The older value may live in a segment on disk that the memtable cannot
 * change; the tombstone is what hides it from kv_view_get() and from a scan, until a compaction (a later part)
 * drops both.
 *
 * **Structure: a skip list.** Sorted linked lists stacked in levels: every node is on level 0, about one in four
 * is also on level 1, one in sixteen on level 2, and so on; a search runs along the top level and drops a level
 * whenever the next key would overshoot, O(log n) expected. It is what LevelDB, RocksDB (its default
 * `SkipListRep`) and TiKV's memtables use, because an insert only links in a new node and never moves an old one
 * (a balanced tree rotates): with atomic links, readers can walk the list while one writer inserts, without a
 * lock. This one is single-threaded — the store calls it under its own lock — and draws node heights from a
 * fixed-seed generator, so a run is the same every time. (Single-threaded Rust would reach for `BTreeMap`, whose
 * `insert` takes `&mut self`: no reader may look while it runs.)
 *
 * **Memory.** The table owns a copy of every key and value. kv_memtable_bytes() counts key and value bytes plus
 * ::KV_MEMTABLE_ENTRY_OVERHEAD per entry; once it reaches the limit given at creation, kv_memtable_full() says so
 * and the caller writes the table out as a segment and starts a new one. A put is never refused for being over
 * the limit: the limit says when to flush, not what to drop.
 *
 * **Threads.** None of its own: one caller at a time, or the caller's lock.
 */
#ifndef FERRITE_MEMTABLE_H
#define FERRITE_MEMTABLE_H

#include "kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes an entry counts for in kv_memtable_bytes(), on top of its key and value (the node, its links). */
#define KV_MEMTABLE_ENTRY_OVERHEAD 64

/**
 * @brief One entry as a reader sees it: borrowed pointers into the structure that holds it.
 *
 * The bytes belong to the memtable or the segment it came from. From a memtable they stay valid until that key
 * is written again or the table is destroyed; from a segment, until the segment is closed.
 * @rust a `(&[u8], Option<&[u8]>)` borrowed from the table: `None` for a tombstone
 */
typedef struct kv_entry {
    const uint8_t *key;   /**< the key's bytes (not NUL-terminated); may be NULL when `key_len` is 0 */
    size_t key_len;       /**< its length */
    const uint8_t *value; /**< the value's bytes; NULL for a tombstone, may be NULL when `value_len` is 0 */
    size_t value_len;     /**< its length; 0 for a tombstone */
    bool tombstone;       /**< true: the key was deleted, and this entry hides every older value of it */
} kv_entry;

/**
 * @brief Orders two keys as the whole store does: bytewise, and a prefix before the longer key.
 * @param a borrowed; may be NULL when @p a_len is 0.
 * @param a_len its length.
 * @param b borrowed; may be NULL when @p b_len is 0.
 * @param b_len its length.
 * @return < 0 when a sorts first, 0 when the keys are equal, > 0 when b sorts first.
 * @rust `<[u8] as Ord>::cmp(a, b)`
 */
int kv_key_compare(const void *a, size_t a_len, const void *b, size_t b_len);

/** @brief The memtable: opaque, made by kv_memtable_create(). @rust `crossbeam_skiplist::SkipMap<Vec<u8>, Value>` */
typedef struct kv_memtable kv_memtable;

/**
 * @brief Makes an empty memtable.
 * @param limit_bytes when kv_memtable_bytes() reaches it, kv_memtable_full() turns true; at least 1.
 * @param[out] out the table, owned by the caller (kv_memtable_destroy()); NULL on failure.
 * @return ::KV_OK; ::KV_INVALID for a zero limit; ::KV_NO_MEMORY.
 * @rust `SkipMap::new()`
 */
FT_MUST_USE kv_status kv_memtable_create(size_t limit_bytes, kv_memtable **out);

/**
 * @brief Frees the table and every key and value it holds; every ::kv_entry read from it becomes invalid.
 * @param mt owned by the caller; NULL does nothing.
 * @rust `drop(map)`
 */
void kv_memtable_destroy(kv_memtable *mt);

/**
 * @brief Sets @p key to @p value: inserts it in order, or replaces the value (or tombstone) the key has.
 * @param mt borrowed for the call.
 * @param key copied; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param value copied; may be NULL when @p value_len is 0.
 * @param value_len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY (the table is as it was). A replaced value's ::kv_entry becomes invalid.
 * @rust `map.insert(key.to_vec(), Value::Put(value.to_vec()))`
 */
FT_MUST_USE kv_status kv_memtable_put(kv_memtable *mt, const void *key, size_t key_len, const void *value,
                                      size_t value_len);

/**
 * @brief Records that @p key is deleted: a tombstone, inserted or replacing what the key had.
 * @param mt borrowed for the call.
 * @param key copied; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY (the table is as it was).
 * @rust `map.insert(key.to_vec(), Value::Tombstone)`
 */
FT_MUST_USE kv_status kv_memtable_delete(kv_memtable *mt, const void *key, size_t key_len);

/**
 * @brief Finds @p key's entry, a value or a tombstone.
 * @param mt borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param[out] out the entry (see ::kv_entry for how long it lives) when found; zeroed otherwise.
 * @return true when the table has an entry for @p key (a tombstone too), false when it has none.
 * @rust `map.get(key).map(|e| e.value())`
 */
bool kv_memtable_get(const kv_memtable *mt, const void *key, size_t key_len, kv_entry *out);

/**
 * @brief Entries held, tombstones included.
 * @param mt borrowed for the call.
 * @rust `map.len()`
 */
size_t kv_memtable_count(const kv_memtable *mt);

/**
 * @brief Bytes the table counts against its limit: keys, values, and ::KV_MEMTABLE_ENTRY_OVERHEAD per entry.
 * @param mt borrowed for the call.
 * @rust RocksDB's `MemTable::ApproximateMemoryUsage()`
 */
size_t kv_memtable_bytes(const kv_memtable *mt);

/**
 * @brief Whether kv_memtable_bytes() has reached the limit: time to write the table out as a segment.
 * @param mt borrowed for the call.
 * @rust RocksDB's `MemTable::ShouldFlush()`
 */
bool kv_memtable_full(const kv_memtable *mt);

/**
 * @brief A position in a memtable, for walking it in key order. Plain data; nothing to free.
 *
 * Valid while the table is not written to: a put or delete may add a node anywhere, and a replaced value is freed.
 * @rust `crossbeam_skiplist::map::Range` (an iterator borrowing the map)
 */
typedef struct kv_memtable_iter {
    const kv_memtable *mt; /**< private: the table walked */
    const void *node;      /**< private: the current node, NULL past the end */
} kv_memtable_iter;

/**
 * @brief Puts @p it on the first entry whose key is >= @p key (the first entry of all when @p key is NULL).
 * @param mt borrowed for as long as @p it is used.
 * @param key borrowed for the call; NULL means "from the start".
 * @param key_len its length (ignored when @p key is NULL).
 * @param[out] it the position; past the end when no key is >= @p key.
 * @rust `map.range(key..)`
 */
void kv_memtable_seek(const kv_memtable *mt, const void *key, size_t key_len, kv_memtable_iter *it);

/**
 * @brief Reads the entry at @p it.
 * @param it a position from kv_memtable_seek().
 * @param[out] out the entry when there is one.
 * @return true with an entry; false past the end.
 * @rust `Iterator::peek` on the range
 */
bool kv_memtable_iter_entry(const kv_memtable_iter *it, kv_entry *out);

/**
 * @brief Moves @p it to the next key; past the end stays past the end.
 * @param it a position from kv_memtable_seek().
 * @rust `Iterator::next` on the range
 */
void kv_memtable_iter_next(kv_memtable_iter *it);

#endif /* FERRITE_MEMTABLE_H */
