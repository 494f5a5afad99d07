/*
 * Chapter 07 benchmark: the chapter's store (store.h) behind kvdrive.h, with its default options (4 MiB memtable,
 * compaction once 8 segments are live). Durable: ::KV_SYNC_ALWAYS, a sync before every acknowledgement, shared by
 * the writers waiting at that moment (group commit). Not durable: ::KV_SYNC_NEVER (the log is written, not synced).
 * Its counters (kv_store_stats) go on the output line: syncs and writes for the fsyncs per write, disk and user
 * bytes for the write amplification. KVDRIVE_MEMTABLE_BYTES=N in the environment sets another memtable size.
 */
#define _POSIX_C_SOURCE 200809L
#include "kvdrive.h"
#include "store.h"

#include <inttypes.h>
#include <stdlib.h>

const char *const eng_name = "ferrite";

static int check(kv_status st, const char *what)
{
    if (st == KV_OK)
        return 0;
    fprintf(stderr, "ferrite: %s: status %d\n", what, (int)st);
    return -1;
}

int eng_open(const char *dir, bool durable, void **out)
{
    kv_store_options o = {.sync = durable ? KV_SYNC_ALWAYS : KV_SYNC_NEVER};
    /* For experiments by hand only (run.sh never sets it): another memtable size, to see what flushes cost. */
    const char *memtable = getenv("KVDRIVE_MEMTABLE_BYTES");
    if (memtable != NULL)
        o.memtable_bytes = strtoull(memtable, NULL, 10);
    kv_store *s;
    if (check(kv_store_open(dir, &o, &s), "kv_store_open") != 0)
        return -1;
    *out = s;
    return 0;
}

int eng_thread_begin(void *db, void **ctx)
{
    kv_buf *b = calloc(1, sizeof *b);
    (void)db;
    *ctx = b;
    return b == NULL ? -1 : 0;
}

int eng_put(void *db, void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    (void)ctx;
    return check(kv_store_put(db, key, key_len, value, value_len), "kv_store_put");
}

int eng_get(void *db, void *ctx, const char *key, size_t key_len, bool *found)
{
    kv_status st = kv_store_get(db, NULL, key, key_len, ctx);
    *found = st == KV_OK;
    return st == KV_NOT_FOUND ? 0 : check(st, "kv_store_get");
}

void eng_thread_end(void *db, void *ctx)
{
    (void)db;
    kv_buf_free(ctx);
    free(ctx);
}

void eng_counters(void *db, FILE *out)
{
    kv_store_stats st = kv_store_stats_get(db);
    fprintf(out,
            " syncs=%" PRIu64 " writes=%" PRIu64 " disk_bytes=%" PRIu64 " user_bytes=%" PRIu64 " flushes=%" PRIu64
            " compactions=%" PRIu64 " segments=%" PRIu64 " segment_bytes=%" PRIu64,
            st.log_syncs, st.writes, st.disk_bytes, st.user_bytes, st.flushes, st.compactions, st.segments,
            st.segment_bytes);
}

int eng_close(void *db) { return check(kv_store_close(db), "kv_store_close"); }
