/**
 * @file store_impl.h
 * @brief Chapter 07, part 4: the store's insides, shared by store.c (open, recovery, flush, compaction),
 *        store_rw.c (writes, reads, scans) and txn.c (snapshots, the conflict oracle, transactions). Not for callers.
 *
 * **Locks.** Two, never held together:
 * - `mu` guards the sequence numbers, the gate, the snapshot list, the oracle and the counters. It is held for
 *   bookkeeping only, never across I/O.
 * - `layers`, a reader-writer lock, guards the memtable and the segment array: reads and scans hold it shared for
 *   their whole walk; a writer holds it exclusively to insert its versions, and a flush or compaction to swap the
 *   layers. It prefers writers, so that a stream of readers cannot starve them (a glibc extension).
 *
 * **Sequence numbers.** `last_seq` is the last number handed out; `visible` (atomic) the last one such that it and
 * every smaller one are finished (applied, or failed and skipped). A number is handed out under `mu`, the record
 * appended without it, the versions inserted under `layers`, and then the number marked done in `done` (a ring
 * indexed by seq % ::KV_STORE_RING); `visible` moves over every done number in order. A writer returns only once
 * `visible` has reached its own number, so acknowledgements come in sequence order.
 *
 * **The gate.** A flush or compaction closes the gate (new writers wait before taking a number), waits for the
 * writers in flight to finish (`in_flight` == 0), does its work with no memtable writer running, and opens it.
 */
#ifndef FERRITE_STORE_IMPL_H
#define FERRITE_STORE_IMPL_H

#include "kv.h"
#include "manifest.h"
#include "memtable.h"
#include "segment.h"
#include "store.h"
#include "wal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Sequence numbers that may be in flight at once (handed out, not yet visible). */
#define KV_STORE_RING 4096u
/** Bytes of a log record's header: u64 seq, u32 op count. */
#define KV_STORE_RECORD_HEADER 12u
/** Bytes of an op's header in a record or batch: u32 key_len, u32 value_len. */
#define KV_STORE_OP_HEADER 8u

/**
 * @brief The store. See store.h for the contract and the top of this file for the locks.
 * @rust `struct Store { core: Mutex<Core>, layers: RwLock<Layers>, visible: AtomicU64, .. }`
 */
struct kv_store {
    kv_io *io;               /**< borrowed, from the options or kv_io_posix() */
    char *dir;               /**< owned copy of the directory */
    kv_store_options opt;    /**< with every default filled in */
    pthread_mutex_t mu;      /**< see the top of the file */
    pthread_cond_t changed;  /**< broadcast when visible, the gate or in_flight change */
    pthread_rwlock_t layers; /**< see the top of the file */

    /* Under `layers`. */
    kv_memtable *mem;                           /**< owned: the newest versions */
    kv_segment *segs[KV_MANIFEST_MAX_SEGMENTS]; /**< owned, open readers of man.segments, same order */
    kv_wal *wal; /**< owned: the current log; swapped only with the gate closed and no writer in flight */

    /* Under `mu`, except `man`, which only the gate's holder (or open/close) touches. */
    kv_manifest man;             /**< the current manifest */
    uint64_t last_seq;           /**< the last sequence number handed out */
    _Atomic uint64_t visible;    /**< the last visible sequence number (written under mu, read anywhere) */
    uint8_t done[KV_STORE_RING]; /**< done flags of the numbers in (visible, last_seq] */
    size_t in_flight;            /**< writers between taking a number and returning */
    bool gate;                   /**< a flush or compaction runs: new writers wait */
    kv_status failed;            /**< KV_OK, or why the store refuses writes (a failed flush or compaction) */
    kv_snapshot snaps;           /**< sentinel of the circular list of live snapshots (transactions' too) */
    uint64_t *recent_hash;       /**< the oracle: key hashes of recent writes (0: empty slot) ... */
    uint64_t *recent_seq;        /**< ... and the last sequence number that wrote each */
    size_t recent_cap;           /**< slots, a power of two (0 until the first write) */
    size_t recent_count;         /**< slots in use */
    kv_store_stats stats;        /**< counters; last_seq, log_syncs, segments and sizes filled in on read */
    uint64_t old_log_syncs;      /**< syncs made by logs closed since open; under `layers`, like the log */
};

/**
 * @brief Encodes @p count ops of a batch, with @p seq, into a log record and commits it: takes a number (checking
 *        @p reads against the oracle first when there are any), appends, applies, waits to be visible.
 * @param s borrowed.
 * @param ops borrowed: the batch's op bytes.
 * @param ops_len their length.
 * @param count how many ops.
 * @param reads key hashes of a transaction's read set; NULL when @p read_count is 0.
 * @param read_count how many.
 * @param read_seq the transaction's snapshot; ignored without reads.
 * @return as kv_store_write(); ::KV_CONFLICT.
 * @rust `fn commit(&self, ops: &[u8], reads: &[u64], read_ts: u64) -> Result<()>`
 */
FT_MUST_USE kv_status kv_store_commit(kv_store *s, const uint8_t *ops, size_t ops_len, uint32_t count,
                                      const uint64_t *reads, size_t read_count, uint64_t read_seq);

/**
 * @brief Applies one log record (as the log holds it) to the memtable; the caller holds `layers` exclusively or owns
 *        the store alone (recovery).
 * @param s borrowed.
 * @param rec borrowed: the record.
 * @param len its length.
 * @param[out] seq the record's sequence number.
 * @return ::KV_OK; ::KV_CORRUPT (the bytes are not a record); ::KV_NO_MEMORY.
 * @rust `fn apply(&mut self, rec: &[u8]) -> Result<u64>`
 */
FT_MUST_USE kv_status kv_store_apply(kv_store *s, const uint8_t *rec, size_t len, uint64_t *seq);

/**
 * @brief Flushes (and compacts, when due) with the gate closed by the caller and no writer in flight.
 * @param s borrowed.
 * @param force compact every segment into one even when fewer than `compact_after` are live.
 * @return ::KV_OK; the io's error (the caller then marks the store failed).
 * @rust `fn flush_and_compact(&mut self, force_compact: bool) -> Result<()>`
 */
FT_MUST_USE kv_status kv_store_flush_locked(kv_store *s, bool force);

/**
 * @brief Closes the gate and waits until no writer is in flight; the caller holds `mu`.
 * @param s borrowed.
 * @rust acquiring a `RwLock` write guard over the write path
 */
void kv_store_gate_close(kv_store *s);

/**
 * @brief The oldest sequence number a live snapshot reads at, or `visible` when it is older; the caller holds `mu`.
 * @param s borrowed.
 * @rust `fn safe_point(&self) -> u64`
 */
uint64_t kv_store_safe_point(kv_store *s);

/**
 * @brief Records that @p seq wrote the key hashed to @p hash; prunes entries no transaction can need. Caller holds
 *        `mu`.
 * @param s borrowed.
 * @param hash the key's kv_segment_key_hash().
 * @param seq the writer's number.
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust `HashMap<u64, u64>::insert` in Badger's `oracle.committedTxns`
 */
FT_MUST_USE kv_status kv_store_recent_add(kv_store *s, uint64_t hash, uint64_t seq);

/**
 * @brief The last sequence number recorded as writing @p hash (0 for none). Caller holds `mu`.
 * @param s borrowed.
 * @param hash the key's kv_segment_key_hash().
 * @rust `HashMap<u64, u64>::get`
 */
uint64_t kv_store_recent_get(const kv_store *s, uint64_t hash);

#endif /* FERRITE_STORE_IMPL_H */
