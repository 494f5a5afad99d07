/**
 * @file mvcc.h
 * @brief Chapter 07, part 4: versions of a key, as TiKV stores them — the key encoded so that bytewise order
 *        keeps the keys apart, the version appended, newest first.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **Why encode.** The layers below (memtable, segments, scans, compaction) know one order: bytes, like `memcmp`.
 * MVCC keeps many versions of one key, so a version number has to travel with the key, and the pair has to sort
 * by key first, then newest version first. Appending 8 bytes to the raw key does not do it: "a" + version sorts
 * against "ab" + version by comparing a version byte with 'b'. TiKV solves it with its *memcomparable* encoding
 * (`tikv_util::codec::bytes::encode_bytes`), which this chapter uses unchanged: the key is cut into groups of 8
 * bytes, the last group padded with zeros, and each group followed by a marker byte, 0xFF minus the number of pad
 * bytes in it. A key whose length is a multiple of 8 ends with a whole group of padding (marker 0xF7), so the empty
 * key is 8 zeros and 0xF7. The result sorts exactly as the raw keys do, and no encoded key is a prefix of another.
 *
 * **The version.** A store-wide sequence number, given to every write in the order writes become durable. The
 * encoded key is followed by the number inverted and big-endian: `~seq` as 8 bytes, most significant first (TiKV's
 * `Key::append_ts`), so that a larger sequence number sorts first. Sequence 0 is never written.
 * ```
 * internal key = memcomparable(user key) | be64(~seq)
 * value        = 'P' value bytes          (a put)
 *              | 'D'                      (a delete: this version says "no value")
 * ```
 * Two internal keys belong to the same user key exactly when all their bytes but the last 8 are equal.
 *
 * **Reading at a snapshot.** A reader at sequence number s wants, for each key, the newest version with seq <= s.
 * Seeking to `memcomparable(key) | be64(~s)` lands on it (when the key has one), because every newer version sorts
 * before that point and every older one after it. A delete version is a value like any other to the layers below;
 * only the reader of this header knows it means "absent".
 *
 * **Garbage collection.** Old versions pile up. Once no snapshot older than a *safe point* can exist, each key needs
 * only its newest version at or below the safe point (older ones are hidden from every reader); a delete at that
 * place can go too when nothing older lives outside the compaction. kv_mvcc_gc_keep() decides this during a
 * compaction, entry by entry, as TiKV's `WriteCompactionFilter` does inside RocksDB's compactions.
 *
 * **Threads.** None; plain functions, and a GC state used by one compaction at a time.
 */
#ifndef FERRITE_MVCC_H
#define FERRITE_MVCC_H

#include "kv.h"
#include "memtable.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Bytes of a group of the memcomparable encoding: 8 key bytes and the marker. */
#define KV_MVCC_GROUP 9u
/** Bytes of the version appended to an encoded key. */
#define KV_MVCC_SEQ_BYTES 8u
/** The first byte of a value version. */
#define KV_MVCC_PUT ((uint8_t)'P')
/** The first (and only) byte of a delete version. */
#define KV_MVCC_DELETE ((uint8_t)'D')

/**
 * @brief Bytes the internal key of a user key of @p user_len bytes takes: `(user_len / 8 + 1) * 9 + 8`.
 * @param user_len the user key's length.
 * @rust `Key::from_raw(k).append_ts(ts).len()`
 */
size_t kv_mvcc_key_bytes(size_t user_len);

/**
 * @brief Writes the internal key of (@p key, @p seq) into @p out: memcomparable(key), then be64(~seq).
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param seq the version, at least 1 (0 is the "before everything" point and is never written).
 * @param[out] out replaced with the internal key; exactly kv_mvcc_key_bytes(key_len) bytes.
 * @return ::KV_OK; ::KV_NO_MEMORY (@p out as it was).
 * @rust `Key::from_raw(key).append_ts(TimeStamp::new(seq))`
 */
FT_MUST_USE kv_status kv_mvcc_encode(const void *key, size_t key_len, uint64_t seq, kv_buf *out);

/**
 * @brief Splits an internal key into the user key and the version.
 * @param ikey borrowed for the call.
 * @param ikey_len its length.
 * @param[out] user replaced with the user key on ::KV_OK; may be NULL when only the version is wanted.
 * @param[out] seq the version on ::KV_OK; may be NULL.
 * @return ::KV_OK; ::KV_CORRUPT when the bytes are not an internal key (a length that is not 9 * n + 8, a marker
 *         that is not 0xF7..0xFF, a non-final group that is not full, pad bytes that are not zero);
 *         ::KV_NO_MEMORY.
 * @rust `Key::split_on_ts_for(k)` followed by `Key::from_encoded(k).into_raw()`
 */
FT_MUST_USE kv_status kv_mvcc_decode(const void *ikey, size_t ikey_len, kv_buf *user, uint64_t *seq);

/**
 * @brief Whether two internal keys are versions of the same user key: every byte but the last 8 equal.
 * @param a borrowed; an internal key.
 * @param a_len its length, at least ::KV_MVCC_SEQ_BYTES.
 * @param b borrowed; an internal key.
 * @param b_len its length, at least ::KV_MVCC_SEQ_BYTES.
 * @rust `Key::is_user_key_eq(a, b)`
 */
bool kv_mvcc_same_key(const void *a, size_t a_len, const void *b, size_t b_len);

/**
 * @brief The version stored in the last 8 bytes of an internal key.
 * @param ikey borrowed; an internal key.
 * @param ikey_len its length, at least ::KV_MVCC_SEQ_BYTES.
 * @rust `Key::decode_ts_from(k)`
 */
uint64_t kv_mvcc_seq(const void *ikey, size_t ikey_len);

/**
 * @brief The state of garbage collection across one compaction: the safe point and the key being walked.
 * Start from kv_mvcc_gc_init(), pass it as the filter's context, free it with kv_mvcc_gc_free().
 * @rust TiKV's `WriteCompactionFilter { safe_point, key_prefix: Vec<u8>, remove_older: bool, .. }`
 */
typedef struct kv_mvcc_gc {
    uint64_t safe_point; /**< no reader will ever read below this sequence number */
    kv_buf last;         /**< private: the internal key of the previous entry seen */
    bool below_kept;     /**< private: the current key's version at or below the safe point has been seen */
    uint64_t dropped;    /**< versions dropped so far, for the statistics */
} kv_mvcc_gc;

/**
 * @brief A GC state for a compaction under @p safe_point, with nothing seen yet.
 * @param safe_point the oldest sequence number a snapshot may still read at.
 * @rust `WriteCompactionFilter::new(safe_point)`
 */
kv_mvcc_gc kv_mvcc_gc_init(uint64_t safe_point);

/**
 * @brief Frees the buffer a GC state holds.
 * @param gc borrowed; left empty.
 * @rust `drop(filter)`
 */
void kv_mvcc_gc_free(kv_mvcc_gc *gc);

/**
 * @brief Decides whether a compaction keeps @p e: the compaction filter of the store.
 * Entries arrive in key order, so the versions of one key arrive together, newest first. A version above the safe
 * point is kept; the first version at or below it is kept too (it is what a reader at the safe point sees), unless
 * it is a delete and @p bottom says nothing older lives outside the compaction; every older version is dropped.
 * An entry that is not an internal key (too short) is kept: the filter drops only what it understands.
 * @param e borrowed for the call; a value whose first byte is ::KV_MVCC_PUT or ::KV_MVCC_DELETE.
 * @param bottom true when the compaction includes the oldest live segment.
 * @param ctx a ::kv_mvcc_gc, borrowed for the call and updated.
 * @return true to keep the entry, false to drop it.
 * @rust `CompactionFilter::filter(&mut self, level, key, value) -> Decision` (`Decision::Keep` / `Remove`)
 */
bool kv_mvcc_gc_keep(const kv_entry *e, bool bottom, void *ctx);

#endif /* FERRITE_MVCC_H */
