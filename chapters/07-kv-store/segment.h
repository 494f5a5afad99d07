/**
 * @file segment.h
 * @brief Chapter 07, part 2: the segment — a full memtable written to disk as an immutable, sorted, checked file.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **What it is.** When a memtable is full, its entries (tombstones included) are written, in key order, to a new
 * file that is never changed afterwards: an SSTable, in LevelDB's word; RocksDB's `BlockBasedTable`. A lookup reads
 * it through an index instead of scanning it, and skips it entirely when its bloom filter says the key is not
 * there. Every byte goes through io.h. The writer is segment_write.c, the reader segment.c; the helpers both must
 * agree on (little-endian integers, the bloom filter's bit positions) are given in segment_format.h.
 *
 * **Format, version 1.** Integers are little-endian, whatever the machine. `crc` is kv_crc32c() of the bytes of
 * the region it follows, stored as a u32.
 * ```
 * data block 0 | crc | data block 1 | crc | ... | index block | crc | bloom block | crc | footer (48 bytes)
 *
 * data block   entries in key order, each: u32 key_len, u32 value_len (KV_SEGMENT_TOMBSTONE for a tombstone),
 *              the key, the value. A block is closed once it holds block_bytes or more (at least one entry).
 * index block  u32 block_count, then per block: u32 key_len, its LAST key, u64 offset, u32 length (no crc)
 * bloom block  u32 hash_count, then the filter's bits: KV_SEGMENT_BLOOM_BITS_PER_KEY per entry, rounded up to whole
 *              bytes, at least 64 (a reader takes the bit count from the block's length)
 * footer       u64 index_offset, u32 index_length, u64 bloom_offset, u32 bloom_length, u64 entry_count,
 *              u32 version, u32 crc of the 36 bytes before it, u64 magic (KV_SEGMENT_MAGIC)
 * ```
 * The index holds the last key of each block: the block that may hold key k is the first whose last key is >= k
 * (a binary search); a key above the last block's last key is in no block.
 *
 * **The bloom filter.** A bit array and `hash_count` bit positions per key, from double hashing of one 64-bit hash
 * of the whole key (h1 + i * h2, i = 0 .. hash_count-1, modulo the bit count): a key whose bits are not all set
 * was never added (no false negatives); a key whose bits are all set was probably added (about 1 % false
 * positives at 10 bits per key and 7 hashes). kv_segment_key_hash() is the hash, so the tests can check it.
 *
 * **Writing: all or nothing.** kv_segment_write() writes `name.tmp`, syncs it, closes it, renames it to `name` and
 * syncs the directory. A crash before the rename leaves at most a `.tmp` file (garbage, never opened as a
 * segment); after the directory sync, the segment is durable under its name with all its bytes. Without the file
 * sync, the rename can reach the disk before the data (ext4's delayed allocation: a renamed, empty file after a
 * power cut); without the directory sync, the rename itself can be lost.
 *
 * **Reading: checked before trusted.** kv_segment_open() reads the whole file once and checks the magic, the
 * version, the footer's crc, the index's and the bloom filter's crcs, every data block's crc, and that every length
 * and offset stays inside the file and every entry inside its block. Any failure is ::KV_CORRUPT and nothing is
 * opened: a reader never sees half of a corrupt file. (RocksDB reads blocks on demand and checks each block's
 * checksum as it reads it; a part-2 segment is one memtable, a few MiB at most, so it is read whole.)
 *
 * **Threads.** An open segment is never written: any number of threads may call kv_segment_get() and walk
 * iterators at once, except that kv_segment_get() updates the ::kv_segment_stats counters without a lock (tests
 * read them single-threaded). kv_segment_close() is ordered after every other call.
 */
#ifndef FERRITE_SEGMENT_H
#define FERRITE_SEGMENT_H

#include "io.h"
#include "kv.h"
#include "memtable.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The last 8 bytes of every segment: "FKVSEG01" read as a little-endian u64. */
#define KV_SEGMENT_MAGIC 0x3130474553564b46ull
/** The format version this code writes and reads. */
#define KV_SEGMENT_VERSION 1u
/** Bytes of the footer, at the very end of the file. */
#define KV_SEGMENT_FOOTER_BYTES 48u
/** A data entry's value_len that marks a tombstone (no value bytes follow). */
#define KV_SEGMENT_TOMBSTONE 0xffffffffu
/** Bits of bloom filter per entry. */
#define KV_SEGMENT_BLOOM_BITS_PER_KEY 10u
/** Bit positions set per key in the bloom filter. */
#define KV_SEGMENT_BLOOM_HASHES 7u
/** The block size kv_segment_write() uses when given 0. */
#define KV_SEGMENT_DEFAULT_BLOCK_BYTES 4096u

/** @brief An open segment: opaque, made by kv_segment_open(). @rust RocksDB's `BlockBasedTable` reader */
typedef struct kv_segment kv_segment;

/**
 * @brief How a lookup went, counted per segment since it was opened.
 * @rust RocksDB's `Statistics` tickers `BLOOM_FILTER_USEFUL` and `BLOCK_CACHE_DATA_MISS`, as plain `u64`s
 */
typedef struct kv_segment_stats {
    uint64_t bloom_skips;     /**< lookups the bloom filter answered "not here" without touching a block */
    uint64_t blocks_searched; /**< data blocks a lookup searched: at most one per kv_segment_get() */
} kv_segment_stats;

/**
 * @brief The 64-bit hash of the whole key that the bloom filter is built from (FNV-1a, 64 bits).
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length: every byte of the key counts, a NUL too.
 * @rust `impl Hasher` for FNV-1a (the `fnv` crate's `FnvHasher`), fed `key` with `write(key)`
 */
uint64_t kv_segment_key_hash(const void *key, size_t key_len);

/**
 * @brief Writes every entry of @p mt, tombstones included, as the segment @p dir/@p name: through a temporary
 *        file, synced, renamed and made durable by a directory sync.
 * @param io borrowed for the call.
 * @param dir the directory, borrowed for the call; it must exist.
 * @param name the file name inside @p dir, borrowed for the call. An existing file of that name is replaced.
 * @param mt borrowed for the call; not changed.
 * @param block_bytes the size at which a data block is closed; 0 for ::KV_SEGMENT_DEFAULT_BLOCK_BYTES.
 * @return ::KV_OK once the segment is durable; ::KV_INVALID (a path too long, a key or value over 4 GiB);
 *         ::KV_NO_MEMORY; the io's error (::KV_NO_SPACE, ::KV_IO_ERROR). On failure the temporary file is removed
 *         as far as the io allows and nothing was renamed.
 * @rust `let tmp = File::create(&tmp_path)?; tmp.write_all(&bytes)?; tmp.sync_all()?; fs::rename(&tmp_path,
 *       &path)?; File::open(dir)?.sync_all()?` — RocksDB's `BlockBasedTableBuilder` and `SyncDir`
 */
FT_MUST_USE kv_status kv_segment_write(kv_io *io, const char *dir, const char *name, const kv_memtable *mt,
                                       size_t block_bytes);

/**
 * @brief Opens the segment at @p path: reads it whole and checks every part of it (see the file comment).
 * @param io borrowed for the call (the file is read and closed before the call returns).
 * @param path borrowed for the call.
 * @param[out] out the segment, owned by the caller (kv_segment_close()); NULL on failure.
 * @return ::KV_OK; ::KV_CORRUPT for any check that fails (a short file, a bad magic, version or crc, a length or
 *         offset out of bounds); ::KV_NOT_FOUND when there is no such file; ::KV_NO_MEMORY; ::KV_IO_ERROR.
 * @rust `BlockBasedTable::Open`, which returns `Status::Corruption` rather than a half-read table
 */
FT_MUST_USE kv_status kv_segment_open(kv_io *io, const char *path, kv_segment **out);

/**
 * @brief Frees the segment; every ::kv_entry and iterator taken from it becomes invalid.
 * @param seg owned by the caller; NULL does nothing.
 * @rust `drop(table)`
 */
void kv_segment_close(kv_segment *seg);

/**
 * @brief Entries in the segment, tombstones included (the footer's count).
 * @param seg borrowed for the call.
 * @rust `TableProperties::num_entries`
 */
uint64_t kv_segment_count(const kv_segment *seg);

/**
 * @brief Looks @p key up: the bloom filter first, then the index, then one data block.
 * @param seg borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param[out] out the entry (a value or a tombstone), valid until the segment is closed; zeroed otherwise.
 * @return ::KV_OK when the segment has an entry for @p key, ::KV_NOT_FOUND when it has none.
 * @rust `BlockBasedTable::Get`: `FullFilterKeyMayMatch`, then `IndexIter::Seek`, then the data block
 */
FT_MUST_USE kv_status kv_segment_get(kv_segment *seg, const void *key, size_t key_len, kv_entry *out);

/**
 * @brief The lookup counters of @p seg.
 * @param seg borrowed for the call.
 * @param[out] out the counters.
 * @rust reading RocksDB's `Statistics` tickers
 */
void kv_segment_stats_read(const kv_segment *seg, kv_segment_stats *out);

/**
 * @brief A position in a segment, for walking it in key order. Plain data; nothing to free.
 * @rust RocksDB's two-level iterator: an index iterator and a data-block iterator
 */
typedef struct kv_segment_iter {
    const kv_segment *seg; /**< private: the segment walked */
    size_t block;          /**< private: the current block's index; block_count past the end */
    size_t offset;         /**< private: the current entry's offset inside that block */
} kv_segment_iter;

/**
 * @brief Puts @p it on the first entry whose key is >= @p key (the first entry of all when @p key is NULL).
 * @param seg borrowed for as long as @p it is used.
 * @param key borrowed for the call; NULL means "from the start".
 * @param key_len its length (ignored when @p key is NULL).
 * @param[out] it the position; past the end when no key is >= @p key.
 * @rust `InternalIterator::Seek(key)` / `SeekToFirst()`
 */
void kv_segment_seek(const kv_segment *seg, const void *key, size_t key_len, kv_segment_iter *it);

/**
 * @brief Reads the entry at @p it.
 * @param it a position from kv_segment_seek().
 * @param[out] out the entry, valid until the segment is closed.
 * @return true with an entry; false past the end.
 * @rust `InternalIterator::Valid()` with `key()` and `value()`
 */
bool kv_segment_iter_entry(const kv_segment_iter *it, kv_entry *out);

/**
 * @brief Moves @p it to the next entry, crossing into the next block at the end of one.
 * @param it a position from kv_segment_seek(); past the end stays past the end.
 * @rust `InternalIterator::Next()`
 */
void kv_segment_iter_next(kv_segment_iter *it);

#endif /* FERRITE_SEGMENT_H */
