/**
 * @file wal.h
 * @brief Chapter 07, part 1: the write-ahead log — records appended and made durable before a write is
 *        acknowledged, many writers sharing one fsync (group commit), and a recovery that replays every whole record
 *        and stops cleanly at a torn or corrupt tail.
 *
 * **Frame.** Each record is stored as an 8-byte header and its payload, all integers little-endian:
 *
 *     offset 0  crc     u32  CRC-32C (crc32c.h) of bytes 4 .. 8 + len: the length field and the payload
 *     offset 4  len     u32  payload bytes, 1 .. max_record
 *     offset 8  payload len bytes
 *
 * The CRC covers the length, so a flipped bit in `len` is caught like one in the payload. A length of 0 is never
 * written, so a run of zero bytes (what a file system may leave in a block allocated before a crash) is never a
 * record: its CRC (0) does not match the CRC of a zero length (0x48674BC7).
 *
 * **Recovery** (kv_wal_open()). Records are read from offset 0 and handed to the replay callback in order, each
 * one whole and checked. The first frame that is cut short (a torn write: fewer than 8 + len bytes left), whose
 * length is out of range, or whose CRC does not match ends the log: it and everything after it are cut off
 * (truncate, then sync), and new records are appended there. This is RocksDB's `kPointInTimeRecovery`: the state
 * recovered is the log's longest clean prefix; nothing after a bad record is trusted, nothing invented.
 *
 * **Acknowledgement.** kv_wal_append() returns ::KV_OK only when the record is in the file and, under
 * ::KV_SYNC_ALWAYS and ::KV_SYNC_BATCH, the file was synced after the record was written. A failed write or sync is
 * never acknowledged. A record that was not acknowledged may or may not be found by the next recovery.
 *
 * **Group commit.** Writers that call kv_wal_append() at the same time queue up. The writer at the head of the
 * queue (the leader) takes the records of the writers queued behind it, writes them with one append and makes them
 * durable with one sync, then wakes each of them with its status; the next head leads the next batch. So a sync
 * is shared by every writer whose record was in the synced batch, and only by those. This is LevelDB's
 * `DBImpl::Write` writers queue and RocksDB's `WriteThread`.
 *
 * **Failures.** A failed append is undone (the file is truncated back to the end of the last good record) and
 * reported to the batch's writers; the log goes on. A failed sync, or a failed undo, *poisons* the log: no one can
 * know which bytes reached the disk, so every later append and sync returns ::KV_CLOSED and the store must be
 * reopened (recovery decides what survived).
 *
 * **Threads.** kv_wal_append(), kv_wal_sync() and kv_wal_stats_get() may be called from any number of threads at
 * once. kv_wal_open() and kv_wal_close() may not overlap with anything else on the same log.
 */
#ifndef FERRITE_KV_WAL_H
#define FERRITE_KV_WAL_H

#include "io.h"
#include "kv.h"

#include <stddef.h>
#include <stdint.h>

/** Bytes of a frame's header: the CRC and the length. */
#define KV_WAL_HEADER 8u
/** The default, and the largest, max_record: 16 MiB. */
#define KV_WAL_MAX_RECORD (16u << 20)

/**
 * @brief When an acknowledged record is on stable storage.
 * @rust an enum in the style of TiKV's raft-engine `RecoveryMode` / redis's `appendfsync` setting
 */
typedef enum kv_sync_policy {
    KV_SYNC_ALWAYS = 0, /**< sync before every acknowledgement; concurrent writers share one sync (group commit) */
    KV_SYNC_BATCH = 1,  /**< the same, but the leader first waits up to `batch_window_us` for more writers to join,
                             so a batch (and its one sync) grows: fewer syncs, more latency (PostgreSQL's
                             commit_delay) */
    KV_SYNC_NEVER = 2,  /**< write to the file, never sync (until kv_wal_sync() or close): acknowledged records
                             survive a crash of the process, not a power cut (redis's `appendfsync no`) */
} kv_sync_policy;

/**
 * @brief How to open a log. Zero-initialised is valid: ::KV_SYNC_ALWAYS, no window, 16 MiB records.
 * @rust `struct WalOptions { policy: SyncPolicy, batch_window: Duration, max_record: usize }` with `Default`
 */
typedef struct kv_wal_options {
    kv_sync_policy policy;    /**< see ::kv_sync_policy */
    uint32_t batch_window_us; /**< ::KV_SYNC_BATCH only: how long a leader waits for followers (0: 200 µs) */
    uint32_t max_record;      /**< the largest payload accepted (0 or more than ::KV_WAL_MAX_RECORD: the maximum) */
} kv_wal_options;

/**
 * @brief What a log has done since kv_wal_open(), read at one instant.
 * @rust a `#[derive(Debug, Clone, Copy)] struct WalStats` copied out under the lock
 */
typedef struct kv_wal_stats {
    uint64_t replayed;      /**< records handed to the replay callback by open */
    uint64_t dropped_bytes; /**< bytes cut off by open after the last good record (a torn or corrupt tail) */
    uint64_t end;           /**< the offset where the next record goes: the end of the last good record */
    uint64_t appended;      /**< records acknowledged since open */
    uint64_t batches;       /**< appends made by leaders (one per group of writers) */
    uint64_t syncs;         /**< file syncs made since open, by batches, kv_wal_sync() and recovery */
} kv_wal_stats;

/**
 * @brief A log: opaque, made by kv_wal_open(), owned by its opener until kv_wal_close().
 * @rust `struct Wal { file: Mutex<File>, queue: Mutex<VecDeque<Writer>>, cv: Condvar }`, shared as `Arc<Wal>`
 */
typedef struct kv_wal kv_wal;

/**
 * @brief Called by kv_wal_open() once per good record, oldest first.
 * @param rec the payload, borrowed for this call only (copy what you keep).
 * @param len its length, 1 or more.
 * @param ctx the pointer given to kv_wal_open().
 * @return ::KV_OK to go on; anything else stops the recovery, and kv_wal_open() returns it.
 * @rust `FnMut(&[u8]) -> Result<()>`
 */
typedef kv_status kv_wal_replay_fn(const void *rec, size_t len, void *ctx);

/**
 * @brief Opens the log at @p path through @p io, creating it when missing, and syncs its directory — every time,
 *        since an earlier run may have created the file and died before its name was durable. Replays the good
 *        records through @p replay, cuts off a torn or corrupt tail and syncs the cut, and leaves the log ready for
 *        appends at the end of the last good record.
 * @param io borrowed; must outlive the log.
 * @param path borrowed for the call; its directory is the part before the last '/' ("." when there is none).
 * @param opt copied; NULL for the defaults.
 * @param replay may be NULL (records are checked, not handed out).
 * @param ctx passed to every call of @p replay.
 * @param[out] out the log, the caller's until kv_wal_close(); NULL on failure.
 * @return ::KV_OK, what @p replay returned, ::KV_INVALID, ::KV_NO_MEMORY, or an I/O status.
 * @rust `Wal::open(fs: Arc<dyn FileSystem>, path: &Path, opts: WalOptions, replay: impl FnMut(&[u8]) -> Result<()>)
 *       -> Result<Wal>`
 */
FT_MUST_USE kv_status kv_wal_open(kv_io *io, const char *path, const kv_wal_options *opt, kv_wal_replay_fn *replay,
                                  void *ctx, kv_wal **out);

/**
 * @brief Appends one record and waits until it is durable as the policy says. Blocks; meanwhile the caller may
 *        lead a batch carrying other threads' records.
 * @param wal the log; shared by every thread that appends.
 * @param rec the payload, borrowed until the call returns.
 * @param len its length, from 1 to max_record.
 * @return ::KV_OK (acknowledged), ::KV_INVALID (empty or too long: nothing written), ::KV_NO_SPACE or
 *         ::KV_IO_ERROR (not acknowledged), ::KV_CLOSED (the log is poisoned), ::KV_NO_MEMORY.
 * @rust `wal.append(&rec)?` (`&self`: callable from many threads through an `Arc<Wal>`)
 */
FT_MUST_USE kv_status kv_wal_append(kv_wal *wal, const void *rec, size_t len);

/**
 * @brief Makes every record acknowledged so far durable, whatever the policy (with ::KV_SYNC_NEVER, the only way).
 * @return ::KV_OK, an I/O status (the log is then poisoned), or ::KV_CLOSED.
 * @rust `wal.sync()?` (`File::sync_data` under the hood)
 */
FT_MUST_USE kv_status kv_wal_sync(kv_wal *wal);

/**
 * @brief The log's counters, read at one instant.
 * @rust `wal.stats()`
 */
kv_wal_stats kv_wal_stats_get(kv_wal *wal);

/**
 * @brief Syncs what is not yet durable (unless poisoned), closes the file and frees the log, which is invalid
 *        afterwards whatever the result. No append may be running or start.
 * @return ::KV_OK, or the first failure of the final sync and close.
 * @rust `wal.close()` consuming `self` (an explicit close, since `Drop` cannot report the sync's error)
 */
FT_MUST_USE kv_status kv_wal_close(kv_wal *wal);

#endif /* FERRITE_KV_WAL_H */
