/**
 * @file compact.h
 * @brief Chapter 07, part 3: compaction — several segments merged into one, history dropped, installed through
 *        the manifest — and the space it gives back.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **What a compaction keeps.** It merges a run of adjacent live segments, `segments[first]` to
 * `segments[first + count - 1]` of the manifest (newest first), into one segment that takes their place in the
 * list. For each key only the newest entry survives: older values are overwritten history. A tombstone survives
 * too, unless the run includes the oldest live segment: then nothing older can hold the key, and the tombstone and
 * the key go together. Dropping a tombstone while an older segment still holds a value resurrects that value.
 *
 * **Order of the durable steps.** (1) the output is written through kv_segment_write() (durable under its name,
 * not yet live); (2) a manifest naming the output instead of the inputs is made current (kv_manifest_write());
 * (3) only then are the inputs removed, and the directory synced. A power cut before (2) completes leaves the old
 * manifest and every input in place: the output is a leftover. After (2), the new manifest is current: the inputs
 * are leftovers. Either way kv_manifest_remove_leftovers() at recovery cleans up, and the store reads exactly what it
 * read before. Removing an input before (2) is the bug this order exists to prevent: the old manifest would name a
 * file that is gone.
 *
 * **Space amplification.** The bytes of the live segments divided by the bytes of the live data (keys and values
 * of the keys a read can see). A workload that overwrites every key k times leaves about k copies on disk until a
 * compaction; afterwards the ratio falls back to the format's own overhead (entry headers, crcs, index, filter).
 *
 * **Threads.** None of its own; the caller serialises compactions and manifest writes on one directory.
 */
#ifndef FERRITE_COMPACT_H
#define FERRITE_COMPACT_H

#include "io.h"
#include "kv.h"
#include "manifest.h"

#include <stddef.h>
#include <stdint.h>

/**
 * @brief Merges segments @p first .. @p first + @p count - 1 of @p m into one and installs the result.
 * @param io borrowed for the call.
 * @param dir the store's directory, borrowed for the call.
 * @param m borrowed; on ::KV_OK (and on a failure after the new manifest became current) it is the new manifest:
 *        the output, numbered `next_number`, in place of the inputs (none, when every entry was dropped).
 * @param first the newest input's index in `m->segments`.
 * @param count how many adjacent segments to merge, at least 1.
 * @param block_bytes the output's block size; 0 for ::KV_SEGMENT_DEFAULT_BLOCK_BYTES.
 * @return ::KV_OK once the new manifest is current and the inputs removed; ::KV_INVALID (an empty or out-of-range
 *         run, a path too long); ::KV_NO_MEMORY; an input's ::KV_CORRUPT or ::KV_NOT_FOUND; the io's error.
 * @rust `fn compact(fs: &dyn FileSystem, dir: &Path, v: &mut Version, range: Range<usize>) -> Result<()>`
 *       (LevelDB's `DoCompactionWork` followed by `LogAndApply` and `RemoveObsoleteFiles`)
 */
FT_MUST_USE kv_status kv_compact(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count,
                                 size_t block_bytes);

/**
 * @brief A compaction filter: asked about every entry that survives the merge (the newest of its key), in key
 *        order, whether the output keeps it.
 * @param e borrowed for the call.
 * @param bottom true when the compaction includes the oldest live segment (nothing older exists).
 * @param ctx the caller's context.
 * @return true to keep the entry, false to drop it.
 * @rust `rocksdb::CompactionFilter::filter` (TiKV's GC runs as one)
 */
typedef bool kv_compact_filter(const kv_entry *e, bool bottom, void *ctx);

/**
 * @brief kv_compact(), with @p keep deciding, entry by entry, what the output holds on top of the merge's own rules.
 * @param io borrowed for the call.
 * @param dir the store's directory, borrowed for the call.
 * @param m as kv_compact().
 * @param first as kv_compact().
 * @param count as kv_compact().
 * @param block_bytes as kv_compact().
 * @param keep called for each entry the merge would write (tombstones too); NULL keeps them all, which is
 *        kv_compact().
 * @param ctx passed to @p keep.
 * @return as kv_compact().
 * @rust `Options::set_compaction_filter` followed by a compaction
 */
FT_MUST_USE kv_status kv_compact_filtered(kv_io *io, const char *dir, kv_manifest *m, size_t first, size_t count,
                                          size_t block_bytes, kv_compact_filter *keep, void *ctx);

/**
 * @brief What the live segments of a store cost on disk, against what a reader can see in them.
 * @rust `struct SpaceStats { file_bytes: u64, live_bytes: u64, live_keys: u64 }` (RocksDB's
 *       `rocksdb.total-sst-files-size` and `rocksdb.estimate-live-data-size` properties)
 */
typedef struct kv_space {
    uint64_t segment_bytes; /**< the sizes of the live segment files, added up */
    uint64_t live_bytes;    /**< key and value bytes of every live key, at its newest value */
    uint64_t live_keys;     /**< keys a scan of the whole store returns */
    double amplification;   /**< segment_bytes / live_bytes; 0 when live_bytes is 0 */
} kv_space;

/**
 * @brief Measures the space amplification of the segments @p m names (a merged scan over all of them).
 * @param io borrowed for the call.
 * @param dir borrowed for the call.
 * @param m borrowed for the call.
 * @param[out] out the figures on ::KV_OK.
 * @return ::KV_OK; ::KV_INVALID (a path too long); ::KV_NO_MEMORY; a segment's ::KV_CORRUPT or ::KV_NOT_FOUND; the
 *         io's error.
 * @rust `fn space(fs: &dyn FileSystem, dir: &Path, v: &Version) -> Result<SpaceStats>`
 */
FT_MUST_USE kv_status kv_space_stats(kv_io *io, const char *dir, const kv_manifest *m, kv_space *out);

#endif /* FERRITE_COMPACT_H */
