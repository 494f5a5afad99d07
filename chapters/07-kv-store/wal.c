/*
 * Chapter 07, part 1: the write-ahead log (wal.h has the frame, the recovery rule and the group-commit contract).
 * Every function returns KV_TODO until written; each TODO says what to do and why.
 *
 * Plan: one mutex guarding a queue of waiting writers (each on its caller's stack, with its own condition
 * variable), the counters and a "poisoned" status. The writer at the head of the queue leads: it takes its own
 * record and those queued behind it, releases the mutex, appends them with one call and syncs once, takes the
 * mutex back, gives every writer of the batch its status and wakes the next head. Only the head touches the file.
 */
#include "wal.h"

#include "crc32c.h"

#include <stdlib.h>

kv_status kv_wal_open(kv_io *io, const char *path, const kv_wal_options *opt, kv_wal_replay_fn *replay, void *ctx,
                      kv_wal **out)
{
    /* TODO: open (creating) the file through io, then sync its directory — always, since an earlier run may have
     * died before the new name was durable. Read frames from offset 0: stop at a header cut short, a length of 0,
     * above KV_WAL_MAX_RECORD or past the end of the file (check the length before reading with it), or a CRC
     * that does not match; hand each good payload to replay. Truncate what follows the last good record and sync
     * the cut before anything is appended, or the next record lands after the garbage and is never replayed. */
    (void)io, (void)path, (void)opt, (void)replay, (void)ctx;
    *out = NULL;
    return KV_TODO;
}

kv_status kv_wal_append(kv_wal *wal, const void *rec, size_t len)
{
    /* TODO: refuse an empty or too long record. Queue up; wait until done or head. As head: (KV_SYNC_BATCH: wait
     * out the window first) take the records queued behind you, frame each one (CRC over the length and the
     * payload), append the batch and sync it (unless KV_SYNC_NEVER) with the mutex released, then acknowledge
     * exactly the writers whose bytes were in that batch. A failed append: truncate back and report it. A failed
     * sync: poison the log, since nobody knows what reached the disk. Never acknowledge before the sync returns. */
    (void)wal, (void)rec, (void)len;
    return KV_TODO;
}

kv_status kv_wal_sync(kv_wal *wal)
{
    /* TODO: queue a request that carries no record but forces its batch to sync (when anything is unsynced). */
    (void)wal;
    return KV_TODO;
}

kv_wal_stats kv_wal_stats_get(kv_wal *wal)
{
    /* TODO: copy the counters under the mutex. */
    (void)wal;
    return (kv_wal_stats){0};
}

kv_status kv_wal_close(kv_wal *wal)
{
    /* TODO: sync what is not durable yet (unless poisoned), close the file, free everything. */
    free(wal);
    return KV_TODO;
}
