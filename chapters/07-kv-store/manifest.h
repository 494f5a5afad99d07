/**
 * @file manifest.h
 * @brief Chapter 07, part 3: the manifest — the one durable answer to "which segments are live", replaced as a
 *        whole, atomically.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **Why a manifest.** A directory listing is not the store's state: after a crash it holds the output of a flush
 * or a compaction that never finished, inputs that a finished compaction was about to remove, temporary files.
 * The manifest names the live segments (newest first), the number of the write-ahead log the store recovers
 * from, and the next free file number. Whatever is in the directory and not in the manifest is garbage.
 *
 * **Format, version 1.** Integers are little-endian (segment_format.h's helpers).
 * ```
 * u64 magic (KV_MANIFEST_MAGIC) | u32 version | u32 segment_count | u64 log_number | u64 next_number
 * | segment_count x u64 segment number (newest first) | u32 crc (kv_crc32c of every byte before it)
 * ```
 * The file is exactly 36 + 8 * segment_count bytes: a longer or shorter one is ::KV_CORRUPT, never half read.
 *
 * **Installing a new manifest: all or nothing.** kv_manifest_write() writes `MANIFEST.tmp`, syncs it, closes it,
 * renames it over `MANIFEST` and syncs the directory: the same dance as a segment (segment.h). The rename is the
 * commit point: a power cut before it leaves the old manifest current, a power cut after the directory sync the
 * new one. (LevelDB appends edits to a `MANIFEST-NNNNNN` log and points a `CURRENT` file at it; a manifest that is
 * rewritten whole is simpler and, for a few dozen segments, just as cheap.)
 *
 * **Recovery.** kv_manifest_read() reads the current manifest and checks it; kv_manifest_remove_leftovers() then
 * removes every segment the manifest does not name and every `.tmp` file, and syncs the directory. Other files
 * (the write-ahead log's) are left alone.
 *
 * **Threads.** None of its own; the caller serialises calls on one directory.
 */
#ifndef FERRITE_MANIFEST_H
#define FERRITE_MANIFEST_H

#include "io.h"
#include "kv.h"
#include "scan.h"

#include <stddef.h>
#include <stdint.h>

/** "FKVMAN01" read as a little-endian u64. */
#define KV_MANIFEST_MAGIC 0x31304e414d564b46ull
/** The format version this code writes and reads. */
#define KV_MANIFEST_VERSION 1u
/** The current manifest's file name, inside the store's directory. */
#define KV_MANIFEST_NAME "MANIFEST"
/** Most live segments a manifest holds: as many as one view reads. */
#define KV_MANIFEST_MAX_SEGMENTS KV_VIEW_MAX_SEGMENTS
/** Bytes of a manifest without its segment numbers: the 32-byte header and the crc. */
#define KV_MANIFEST_FIXED_BYTES 36u
/** Bytes kv_segment_file_name() writes at most, the NUL included. */
#define KV_SEGMENT_NAME_BYTES 32u

/**
 * @brief The store's durable state: the live segments and the numbers recovery starts from. Plain data.
 * @rust `struct Version { log_number: u64, next_file_number: u64, files: Vec<u64> }` (LevelDB's `VersionSet`
 *       state, without levels)
 */
typedef struct kv_manifest {
    uint64_t log_number;                         /**< the write-ahead log recovery replays from */
    uint64_t next_number;                        /**< the next free file number; above every segment's */
    size_t segment_count;                        /**< live segments, at most ::KV_MANIFEST_MAX_SEGMENTS */
    uint64_t segments[KV_MANIFEST_MAX_SEGMENTS]; /**< their numbers, newest first */
} kv_manifest;

/**
 * @brief The file name of segment @p number: "%06llu.seg" ("000042.seg").
 * @param number the segment's file number.
 * @param[out] out at least ::KV_SEGMENT_NAME_BYTES bytes; a NUL-terminated name.
 * @rust `format!("{number:06}.seg")`
 */
void kv_segment_file_name(uint64_t number, char out[KV_SEGMENT_NAME_BYTES]);

/**
 * @brief Makes @p m the current manifest of @p dir: `MANIFEST.tmp` written, synced, closed, renamed to `MANIFEST`,
 *        and the directory synced, in that order.
 * @param io borrowed for the call.
 * @param dir the store's directory, borrowed for the call.
 * @param m borrowed for the call.
 * @return ::KV_OK once the new manifest is durable and current; ::KV_INVALID (more than
 *         ::KV_MANIFEST_MAX_SEGMENTS segments, a segment number not below `next_number`, a path too long);
 *         ::KV_NO_MEMORY; the io's error. On failure before the rename the temporary file is removed and the old
 *         manifest stays current; a failed directory sync leaves it unknown which one a power cut would keep.
 * @rust `fn install(fs: &dyn FileSystem, dir: &Path, v: &Version) -> Result<()>` (LevelDB's `LogAndApply`)
 */
FT_MUST_USE kv_status kv_manifest_write(kv_io *io, const char *dir, const kv_manifest *m);

/**
 * @brief Reads and checks the current manifest of @p dir.
 * @param io borrowed for the call (the file is closed before it returns).
 * @param dir borrowed for the call.
 * @param[out] out the manifest on ::KV_OK; unchanged otherwise.
 * @return ::KV_OK; ::KV_NOT_FOUND (no `MANIFEST`: a new store); ::KV_CORRUPT (a bad magic, version or crc, a
 *         length that is not exactly 36 + 8 * segment_count, too many segments, a segment number not below
 *         `next_number`); ::KV_NO_MEMORY; the io's error.
 * @rust `fn recover(fs: &dyn FileSystem, dir: &Path) -> Result<Option<Version>>` (LevelDB's `VersionSet::Recover`)
 */
FT_MUST_USE kv_status kv_manifest_read(kv_io *io, const char *dir, kv_manifest *out);

/**
 * @brief Removes what a crash left behind: every `NNNNNN.seg` that @p m does not name, and every file whose name
 *        ends in `.tmp`; then syncs the directory (only when something was removed).
 * @param io borrowed for the call.
 * @param dir borrowed for the call.
 * @param m the current manifest, borrowed for the call.
 * @param[out] removed the number of files removed; may be NULL.
 * @return ::KV_OK; ::KV_NO_MEMORY; the io's error (files removed before it stay removed).
 * @rust LevelDB's `DBImpl::RemoveObsoleteFiles`
 */
FT_MUST_USE kv_status kv_manifest_remove_leftovers(kv_io *io, const char *dir, const kv_manifest *m, size_t *removed);

#endif /* FERRITE_MANIFEST_H */
