/**
 * @file store.h
 * @brief Chapter 07, part 4: the store — one directory holding a log, a memtable, segments and a manifest, put
 *        together; recovered on open; snapshots that do not move; optimistic transactions.
 *
 * **Prefix and errors.** `kv_`, as in kv.h; fallible calls return a ::kv_status.
 *
 * **The directory.** `MANIFEST` (manifest.h) names the live segments `NNNNNN.seg` and the log `NNNNNN.log` that
 * recovery replays; nothing else in it is trusted. kv_store_open() on an empty or missing directory makes a new
 * store; on an existing one it reads the manifest, removes leftovers, opens every segment (a corrupt one refuses the
 * open with ::KV_CORRUPT: nothing is half-read), replays the log into a fresh memtable and cuts off a torn tail.
 *
 * **Writes.** Every write (a put, a delete, a batch, a transaction's commit) gets the next sequence number, is
 * framed as one log record (below), appended through the log's group commit, and then applied to the memtable as
 * versions (mvcc.h). A write is acknowledged — its call returns ::KV_OK — only once its record is durable as the
 * sync policy says *and* every write with a smaller sequence number is visible too, so that a reader who saw a write
 * acknowledged sees it and everything before it. A batch is atomic: one record, one sequence number; recovery
 * replays all of it or none of it.
 * ```
 * log record = u64 seq | u32 op_count | op_count x ( u8 op ('P' or 'D') | u32 key_len | u32 value_len | key | value )
 * ```
 * (little-endian; a delete has value_len 0.)
 *
 * **Flush and compaction.** When the memtable is full, the write that filled it writes it out as a new segment,
 * starts a new log, makes a manifest naming both current, and only then removes the old log: a crash at any step
 * recovers every acknowledged write, from the old log or from the segment. Once there are `compact_after`
 * segments, they are compacted into one, old versions dropped below the safe point (mvcc.h). New writes wait while
 * this runs; reads go on. (RocksDB and TiKV flush and compact on background threads behind an immutable memtable;
 * here the writer does it, which keeps the rules visible.)
 *
 * **Snapshots (MVCC).** A reader that asks for a snapshot gets the sequence number of the last visible write and
 * reads every key as it was then, however many writes, flushes and compactions follow: versions newer than the
 * snapshot are skipped, and compaction keeps, for every live snapshot, the version it reads. A read without a
 * snapshot reads the latest visible state.
 *
 * **Optimistic transactions.** kv_txn_begin() takes a snapshot. Reads go through it and are recorded (the read
 * set; kv_txn_watch() adds a key without reading it); writes are buffered in the transaction. kv_txn_commit()
 * checks, atomically with taking its sequence number, that no key of the read set was written by anyone after the
 * snapshot; if one was, nothing is written and the answer is ::KV_CONFLICT, and the caller may run the whole
 * transaction again. Otherwise the buffered writes are committed as one batch. This is Percolator's write-conflict
 * check, on one node and without locks (Badger's and agatedb's oracle): the store remembers, for recent writes,
 * which keys they touched (by a 64-bit hash: a collision can only cause a needless conflict, never a missed one).
 *
 * **Failures.** A write that fails in the log (::KV_IO_ERROR, ::KV_NO_SPACE) is not acknowledged, and the store
 * refuses every later write with ::KV_CLOSED (the log is poisoned, wal.h); reads go on. A failed flush or
 * compaction does the same: the store never continues past a state it cannot promise to recover.
 *
 * **Threads.** Every function may be called from any number of threads at once on one store, except
 * kv_store_close(), which must come after every other call has returned and every snapshot and transaction has been
 * released. A ::kv_txn and a ::kv_batch are used by one thread at a time.
 */
#ifndef FERRITE_STORE_H
#define FERRITE_STORE_H

#include "io.h"
#include "kv.h"
#include "wal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** The memtable size kv_store_open() uses when given 0: 4 MiB. */
#define KV_STORE_DEFAULT_MEMTABLE (4u << 20)
/** The segment count that starts a compaction when given 0. */
#define KV_STORE_DEFAULT_COMPACT_AFTER 8u
/** The longest key a store accepts. */
#define KV_STORE_MAX_KEY 4096u
/** The longest value a store accepts: 1 MiB. */
#define KV_STORE_MAX_VALUE (1u << 20)

/**
 * @brief How a store is opened. Zero means "the default" for every field.
 * @rust `struct Options { env: Option<Arc<dyn FileSystem>>, sync: SyncPolicy, write_buffer_size: usize, .. }`
 *       (RocksDB's `DBOptions`)
 */
typedef struct kv_store_options {
    kv_io *io;                /**< borrowed for the store's life; NULL for kv_io_posix() */
    kv_sync_policy sync;      /**< the log's policy (wal.h); the default, 0, is ::KV_SYNC_ALWAYS */
    uint32_t batch_window_us; /**< ::KV_SYNC_BATCH's window (wal.h) */
    size_t memtable_bytes;    /**< flush when the memtable reaches this; 0 for ::KV_STORE_DEFAULT_MEMTABLE */
    size_t block_bytes;       /**< segments' block size; 0 for ::KV_SEGMENT_DEFAULT_BLOCK_BYTES */
    size_t compact_after;     /**< compact once this many segments are live; 0 for ::KV_STORE_DEFAULT_COMPACT_AFTER */
} kv_store_options;

/**
 * @brief What the store has done since it was opened, and what it holds. Plain data, a copy.
 * @rust RocksDB's `DB::property_int_value("rocksdb.*")` figures, gathered in one struct
 */
typedef struct kv_store_stats {
    uint64_t last_seq;          /**< the sequence number of the last visible write */
    uint64_t writes;            /**< writes acknowledged since open (a batch or a commit counts once) */
    uint64_t conflicts;         /**< commits refused with ::KV_CONFLICT */
    uint64_t log_syncs;         /**< syncs of the log since open (group commit: fewer than writes) */
    uint64_t recovered_records; /**< log records replayed by the open */
    uint64_t recovery_us;       /**< how long the open took, in microseconds */
    uint64_t flushes;           /**< memtables written out as segments */
    uint64_t compactions;       /**< compactions done */
    uint64_t versions_dropped;  /**< old versions dropped by compactions */
    uint64_t segments;          /**< live segments */
    uint64_t segment_bytes;     /**< their sizes added up */
    uint64_t memtable_bytes;    /**< what the memtable counts against its limit */
    uint64_t user_bytes;        /**< key and value bytes the callers asked to write, since open */
    uint64_t disk_bytes;        /**< bytes written to the log and to segments since open (write amplification =
                                     disk_bytes / user_bytes) */
} kv_store_stats;

/** @brief An open store: opaque, made by kv_store_open(). @rust `struct Store` behind an `Arc`, shared by threads */
typedef struct kv_store kv_store;

/**
 * @brief Opens the store in @p dir, creating the directory and a new store when there is none, and recovers it.
 * @param dir the directory, borrowed for the call (copied).
 * @param opt borrowed for the call; NULL for every default.
 * @param[out] out the store, owned by the caller (kv_store_close()); NULL on failure.
 * @return ::KV_OK; ::KV_CORRUPT (a bad manifest, a bad segment, a log record whose frame is good but whose contents
 *         are not a record); ::KV_INVALID (a path too long); ::KV_NO_MEMORY; the io's error. Nothing in the
 *         directory is changed by a failed open but the log's torn tail and leftover files.
 * @rust `fn open(dir: &Path, opts: Options) -> Result<Store>` (`rocksdb::DB::open`)
 */
FT_MUST_USE kv_status kv_store_open(const char *dir, const kv_store_options *opt, kv_store **out);

/**
 * @brief Syncs the log, closes every file and frees the store.
 * @param s owned by the caller; NULL does nothing. Invalid afterwards, even on failure.
 * @return ::KV_OK; the log's error from its last sync (what was acknowledged was durable already).
 * @rust `impl Drop for Store`, with the error a `Drop` cannot return
 */
FT_MUST_USE kv_status kv_store_close(kv_store *s);

/**
 * @brief Sets @p key to @p value: one write, acknowledged once durable.
 * @param s borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len at most ::KV_STORE_MAX_KEY.
 * @param value borrowed; may be NULL when @p value_len is 0.
 * @param value_len at most ::KV_STORE_MAX_VALUE.
 * @return ::KV_OK; ::KV_INVALID (a key or value too long); ::KV_CLOSED (an earlier failure); ::KV_NO_MEMORY; the
 *         log's ::KV_IO_ERROR or ::KV_NO_SPACE (not acknowledged).
 * @rust `fn put(&self, key: &[u8], value: &[u8]) -> Result<()>`
 */
FT_MUST_USE kv_status kv_store_put(kv_store *s, const void *key, size_t key_len, const void *value, size_t value_len);

/**
 * @brief Deletes @p key (writes a delete version); deleting a missing key is a write like any other.
 * @param s borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len at most ::KV_STORE_MAX_KEY.
 * @return as kv_store_put().
 * @rust `fn delete(&self, key: &[u8]) -> Result<()>`
 */
FT_MUST_USE kv_status kv_store_delete(kv_store *s, const void *key, size_t key_len);

/**
 * @brief A snapshot: a sequence number the store keeps readable until it is released.
 * Owned by its caller from kv_store_snapshot() to kv_store_release(); plain data, but the store keeps it in a list,
 * so it must not be copied or moved while taken.
 * @rust `engine_rocks::RocksSnapshot` (a `rocksdb::Snapshot<'a>`, released on drop)
 */
typedef struct kv_snapshot {
    uint64_t seq;             /**< read-only: what the snapshot reads at */
    struct kv_snapshot *prev; /**< private: the store's list of live snapshots */
    struct kv_snapshot *next; /**< private */
} kv_snapshot;

/**
 * @brief Takes a snapshot of the latest visible state.
 * @param s borrowed; must outlive the snapshot.
 * @param[out] snap storage the caller provides (and keeps in place until kv_store_release()).
 * @rust ``fn snapshot(&self) -> Snapshot<'_>``
 */
void kv_store_snapshot(kv_store *s, kv_snapshot *snap);

/**
 * @brief Releases a snapshot: compaction may now drop the versions only it could read.
 * @param s the store it was taken from.
 * @param snap taken by kv_store_snapshot(); released exactly once.
 * @rust `drop(snapshot)`
 */
void kv_store_release(kv_store *s, kv_snapshot *snap);

/**
 * @brief Reads @p key's value at @p snap (the latest visible state when NULL).
 * @param s borrowed for the call.
 * @param snap borrowed; NULL for "now".
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param[out] out replaced with a copy of the value on ::KV_OK; its length is 0 otherwise.
 * @return ::KV_OK; ::KV_NOT_FOUND (no version at the snapshot, or a delete); ::KV_NO_MEMORY.
 * @rust `fn get(&self, snap: Option<&Snapshot>, key: &[u8]) -> Result<Option<Vec<u8>>>`
 */
FT_MUST_USE kv_status kv_store_get(kv_store *s, const kv_snapshot *snap, const void *key, size_t key_len, kv_buf *out);

/**
 * @brief What a scan hands each key to: borrowed bytes, valid during the call only.
 * @param key the key's bytes.
 * @param key_len its length.
 * @param value the value's bytes.
 * @param value_len its length.
 * @param ctx the caller's context.
 * @return true to go on, false to stop the scan there.
 * @rust `FnMut(&[u8], &[u8]) -> bool`
 */
typedef bool kv_store_scan_fn(const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len, void *ctx);

/**
 * @brief Calls @p fn for each live key k with start <= k < end at @p snap, in key order, at most @p limit times.
 * The whole scan reads one consistent state (the snapshot's, or "now" taken once at the start).
 * @param s borrowed for the call.
 * @param snap borrowed; NULL for "now".
 * @param start borrowed; NULL for "from the first key".
 * @param start_len its length.
 * @param end borrowed; NULL for "to the last key".
 * @param end_len its length.
 * @param limit the most keys handed out; 0 for no limit.
 * @param fn called with each key and value; it must not call back into the store's writes.
 * @param ctx passed to @p fn.
 * @param[out] count the number of keys handed out; may be NULL.
 * @return ::KV_OK; ::KV_NO_MEMORY; ::KV_CORRUPT (a stored version that does not decode).
 * @rust `fn scan(&self, snap, range: Range<&[u8]>, limit) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)>`
 */
FT_MUST_USE kv_status kv_store_scan(kv_store *s, const kv_snapshot *snap, const void *start, size_t start_len,
                                    const void *end, size_t end_len, size_t limit, kv_store_scan_fn *fn, void *ctx,
                                    size_t *count);

/**
 * @brief A batch of puts and deletes, written atomically by kv_store_write(). Start from `kv_batch b = {0};`.
 * @rust `rocksdb::WriteBatch`
 */
typedef struct kv_batch {
    kv_buf ops;     /**< private: the ops, encoded as in a log record */
    uint32_t count; /**< read-only: ops in the batch */
} kv_batch;

/**
 * @brief Adds a put to @p b.
 * @param b borrowed for the call.
 * @param key copied; at most ::KV_STORE_MAX_KEY bytes.
 * @param key_len its length.
 * @param value copied; at most ::KV_STORE_MAX_VALUE bytes.
 * @param value_len its length.
 * @return ::KV_OK; ::KV_INVALID (too long); ::KV_NO_MEMORY (the batch as it was).
 * @rust `WriteBatch::put`
 */
FT_MUST_USE kv_status kv_batch_put(kv_batch *b, const void *key, size_t key_len, const void *value, size_t value_len);

/**
 * @brief Adds a delete to @p b.
 * @param b borrowed for the call.
 * @param key copied; at most ::KV_STORE_MAX_KEY bytes.
 * @param key_len its length.
 * @return ::KV_OK; ::KV_INVALID; ::KV_NO_MEMORY.
 * @rust `WriteBatch::delete`
 */
FT_MUST_USE kv_status kv_batch_delete(kv_batch *b, const void *key, size_t key_len);

/**
 * @brief Empties @p b and frees what it holds.
 * @param b borrowed; left as `{0}`.
 * @rust `drop(batch)`
 */
void kv_batch_free(kv_batch *b);

/**
 * @brief Writes every op of @p b atomically, under one sequence number; later ops on one key win.
 * @param s borrowed for the call.
 * @param b borrowed for the call; unchanged. An empty batch is acknowledged without a write.
 * @return as kv_store_put().
 * @rust `DB::write(&self, batch: WriteBatch) -> Result<()>`
 */
FT_MUST_USE kv_status kv_store_write(kv_store *s, const kv_batch *b);

/**
 * @brief Writes the memtable out as a segment now, even when it is not full (nothing to do when it is empty).
 * @param s borrowed for the call.
 * @return ::KV_OK; ::KV_CLOSED; the io's error (the store then refuses writes).
 * @rust `DB::flush(&FlushOptions)`
 */
FT_MUST_USE kv_status kv_store_flush(kv_store *s);

/**
 * @brief Compacts every live segment into one now, dropping versions no snapshot can read.
 * @param s borrowed for the call.
 * @return ::KV_OK; ::KV_CLOSED; the io's error (the store then refuses writes).
 * @rust `DB::compact_range(None, None)`
 */
FT_MUST_USE kv_status kv_store_compact(kv_store *s);

/**
 * @brief A copy of the store's figures.
 * @param s borrowed for the call.
 * @rust `fn stats(&self) -> Stats`
 */
kv_store_stats kv_store_stats_get(kv_store *s);

/** @brief An optimistic transaction: opaque, made by kv_txn_begin(). @rust `agatedb::Transaction` */
typedef struct kv_txn kv_txn;

/**
 * @brief Starts a transaction reading at a snapshot of now.
 * @param s borrowed; must outlive the transaction.
 * @param[out] out the transaction, owned by the caller until kv_txn_commit() or kv_txn_abort(); NULL on failure.
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust ``fn begin(&self) -> Transaction<'_>``
 */
FT_MUST_USE kv_status kv_txn_begin(kv_store *s, kv_txn **out);

/**
 * @brief The sequence number the transaction reads at.
 * @param t borrowed for the call.
 * @rust `Transaction::read_ts`
 */
uint64_t kv_txn_read_seq(const kv_txn *t);

/**
 * @brief Reads @p key in the transaction: its own buffered write when it has one, else the snapshot. The key joins
 *        the read set (a read of a missing key too).
 * @param t borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @param[out] out replaced with a copy of the value on ::KV_OK; length 0 otherwise.
 * @return ::KV_OK; ::KV_NOT_FOUND; ::KV_NO_MEMORY.
 * @rust `Transaction::get(&mut self, key) -> Result<Option<Vec<u8>>>`
 */
FT_MUST_USE kv_status kv_txn_get(kv_txn *t, const void *key, size_t key_len, kv_buf *out);

/**
 * @brief Adds @p key to the read set without reading it: the commit fails if anyone writes it after the snapshot.
 * @param t borrowed for the call.
 * @param key borrowed; may be NULL when @p key_len is 0.
 * @param key_len its length.
 * @return ::KV_OK; ::KV_NO_MEMORY.
 * @rust redis's `WATCH key`
 */
FT_MUST_USE kv_status kv_txn_watch(kv_txn *t, const void *key, size_t key_len);

/**
 * @brief Buffers a put in the transaction; nothing is written before the commit.
 * @param t borrowed for the call.
 * @param key copied.
 * @param key_len at most ::KV_STORE_MAX_KEY.
 * @param value copied.
 * @param value_len at most ::KV_STORE_MAX_VALUE.
 * @return ::KV_OK; ::KV_INVALID; ::KV_NO_MEMORY.
 * @rust `Transaction::set`
 */
FT_MUST_USE kv_status kv_txn_put(kv_txn *t, const void *key, size_t key_len, const void *value, size_t value_len);

/**
 * @brief Buffers a delete in the transaction.
 * @param t borrowed for the call.
 * @param key copied.
 * @param key_len at most ::KV_STORE_MAX_KEY.
 * @return ::KV_OK; ::KV_INVALID; ::KV_NO_MEMORY.
 * @rust `Transaction::delete`
 */
FT_MUST_USE kv_status kv_txn_delete(kv_txn *t, const void *key, size_t key_len);

/**
 * @brief Commits: checks the read set against every write after the snapshot, then writes the buffered ops as one
 *        batch. Frees the transaction whatever the outcome.
 * @param t owned by the caller; invalid afterwards.
 * @return ::KV_OK (committed and durable; a transaction with no writes commits without a write);
 *         ::KV_CONFLICT (nothing written); as kv_store_write() otherwise.
 * @rust `Transaction::commit(self) -> Result<()>`
 */
FT_MUST_USE kv_status kv_txn_commit(kv_txn *t);

/**
 * @brief Drops the transaction and its buffered writes.
 * @param t owned by the caller; NULL does nothing; invalid afterwards.
 * @rust `drop(txn)`
 */
void kv_txn_abort(kv_txn *t);

#endif /* FERRITE_STORE_H */
