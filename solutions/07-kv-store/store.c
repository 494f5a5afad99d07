/*
 * store.c — the store's life: open and recovery, flush, compaction, close, figures. Writes and reads are in
 * store_rw.c, snapshots and transactions in txn.c; the locks and the gate are described in store_impl.h.
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "compact.h"
#include "mvcc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { PATH_BYTES = 4096 };

static bool join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
    return n > 0 && n < PATH_BYTES;
}

static bool log_path(char *out, const char *dir, uint64_t number)
{
    char name[KV_SEGMENT_NAME_BYTES];
    snprintf(name, sizeof name, "%06" PRIu64 ".log", number);
    return join(out, dir, name);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t file_bytes(kv_store *s, const char *path)
{
    kv_file *f = NULL;
    uint64_t size = 0;
    if (s->io->open(s->io, path, KV_OPEN_READ, &f) != KV_OK)
        return 0;
    if (s->io->size(f, &size) != KV_OK)
        size = 0;
    (void)s->io->close(f);
    return size;
}

static kv_wal_options wal_options(const kv_store *s)
{
    return (kv_wal_options){.policy = s->opt.sync, .batch_window_us = s->opt.batch_window_us};
}

/* ---- recovery ------------------------------------------------------------------------------------------------- */

struct replay_ctx {
    kv_store *s;
    uint64_t max_seq;
};

static kv_status replay_record(const void *rec, size_t len, void *ctx)
{
    struct replay_ctx *r = ctx;
    uint64_t seq = 0;
    kv_status st = kv_store_apply(r->s, rec, len, &seq);
    if (st == KV_OK && seq > r->max_seq)
        r->max_seq = seq;
    return st;
}

struct stale_logs {
    kv_store *s;
    uint64_t keep;
    kv_status st;
};

/* Removes every NNNNNN.log but the current one: a flush that died after its manifest left the old log behind. */
static kv_status remove_stale_log(const char *name, void *ctx)
{
    struct stale_logs *c = ctx;
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".log") != 0)
        return KV_OK;
    char *end = NULL;
    unsigned long long number = strtoull(name, &end, 10);
    if (end != name + n - 4 || number == c->keep)
        return KV_OK;
    char path[PATH_BYTES];
    if (!join(path, c->s->dir, name))
        return KV_INVALID;
    kv_status st = c->s->io->remove(c->s->io, path);
    if (st != KV_OK && st != KV_NOT_FOUND)
        c->st = st;
    return KV_OK;
}

static kv_status open_segments(kv_store *s)
{
    for (size_t i = 0; i < s->man.segment_count; i++) {
        char name[KV_SEGMENT_NAME_BYTES], path[PATH_BYTES];
        kv_segment_file_name(s->man.segments[i], name);
        if (!join(path, s->dir, name))
            return KV_INVALID;
        kv_status st = kv_segment_open(s->io, path, &s->segs[i]);
        if (st != KV_OK)
            return st;
    }
    return KV_OK;
}

/* The directory that holds @p dir ("." for a relative name without a slash), into @p out. */
static void parent_of(const char *dir, char *out)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    while (n > 0 && dir[n - 1] != '/')
        n--;
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0)
        strcpy(out, ".");
    else {
        memcpy(out, dir, n);
        out[n] = '\0';
    }
}

static kv_status recover(kv_store *s)
{
    kv_status st = s->io->make_dir(s->io, s->dir);
    if (st != KV_OK && st != KV_EXISTS)
        return st;
    /* A new directory's name is an entry in its parent, durable only once the parent is synced. Every open syncs
     * it, not only the one that created it: that one may have died before its sync. */
    char parent[PATH_BYTES];
    parent_of(s->dir, parent);
    st = s->io->sync_dir(s->io, parent);
    if (st != KV_OK)
        return st;
    st = kv_manifest_read(s->io, s->dir, &s->man);
    if (st == KV_NOT_FOUND) { /* a new store: its manifest first, so that a crash leaves a store, not a guess */
        s->man = (kv_manifest){.log_number = 1, .next_number = 2};
        st = kv_manifest_write(s->io, s->dir, &s->man);
    }
    if (st == KV_OK)
        st = kv_manifest_remove_leftovers(s->io, s->dir, &s->man, NULL);
    struct stale_logs stale = {.s = s, .keep = s->man.log_number, .st = KV_OK};
    if (st == KV_OK)
        st = s->io->list_dir(s->io, s->dir, remove_stale_log, &stale);
    if (st == KV_OK)
        st = stale.st;
    if (st == KV_OK)
        st = open_segments(s);
    if (st == KV_OK)
        st = kv_memtable_create(s->opt.memtable_bytes, &s->mem);
    char path[PATH_BYTES];
    if (st == KV_OK && !log_path(path, s->dir, s->man.log_number))
        st = KV_INVALID;
    struct replay_ctx r = {.s = s};
    kv_wal_options wo = wal_options(s);
    if (st == KV_OK)
        st = kv_wal_open(s->io, path, &wo, replay_record, &r, &s->wal);
    if (st != KV_OK)
        return st;
    s->stats.recovered_records = kv_wal_stats_get(s->wal).replayed;
    s->last_seq = r.max_seq;
    atomic_store(&s->visible, r.max_seq);
    return KV_OK;
}

static void free_store(kv_store *s)
{
    if (s->wal != NULL && kv_wal_close(s->wal) != KV_OK) {
        /* A failed open or close: what the log acknowledged was durable when it was acknowledged. */
    }
    for (size_t i = 0; i < KV_MANIFEST_MAX_SEGMENTS; i++)
        kv_segment_close(s->segs[i]);
    kv_memtable_destroy(s->mem);
    free(s->recent_hash);
    free(s->recent_seq);
    pthread_rwlock_destroy(&s->layers);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}

kv_status kv_store_open(const char *dir, const kv_store_options *opt, kv_store **out)
{
    *out = NULL;
    if (dir == NULL || strlen(dir) > PATH_BYTES - 64)
        return KV_INVALID;
    uint64_t start = now_us();
    kv_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return KV_NO_MEMORY;
    s->dir = strdup(dir);
    if (s->dir == NULL) {
        free(s);
        return KV_NO_MEMORY;
    }
    if (opt != NULL)
        s->opt = *opt;
    if (s->opt.io == NULL)
        s->opt.io = kv_io_posix();
    if (s->opt.memtable_bytes == 0)
        s->opt.memtable_bytes = KV_STORE_DEFAULT_MEMTABLE;
    if (s->opt.compact_after == 0)
        s->opt.compact_after = KV_STORE_DEFAULT_COMPACT_AFTER;
    if (s->opt.compact_after > KV_MANIFEST_MAX_SEGMENTS - 1)
        s->opt.compact_after = KV_MANIFEST_MAX_SEGMENTS - 1;
    s->io = s->opt.io;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->layers, &attr);
    pthread_rwlockattr_destroy(&attr);
    s->snaps.prev = s->snaps.next = &s->snaps;
    kv_status st = recover(s);
    if (st != KV_OK) {
        free_store(s);
        return st;
    }
    s->stats.recovery_us = now_us() - start;
    *out = s;
    return KV_OK;
}

kv_status kv_store_close(kv_store *s)
{
    if (s == NULL)
        return KV_OK;
    kv_status st = kv_wal_close(s->wal);
    s->wal = NULL;
    free_store(s);
    return st;
}

/* ---- flush and compaction ------------------------------------------------------------------------------------- */

void kv_store_gate_close(kv_store *s)
{
    while (s->gate)
        pthread_cond_wait(&s->changed, &s->mu);
    s->gate = true;
    while (s->in_flight > 0)
        pthread_cond_wait(&s->changed, &s->mu);
}

/* The memtable becomes segment `number`, and a new log `number + 1` starts with a record that carries the last
 * sequence number (so that a restart after the flush does not count from 0 again); the manifest names both, and
 * only then is the old log removed. */
static kv_status flush_memtable(kv_store *s)
{
    if (kv_memtable_count(s->mem) == 0)
        return KV_OK;
    if (s->man.segment_count >= KV_MANIFEST_MAX_SEGMENTS)
        return KV_INVALID;
    uint64_t seg_number = s->man.next_number, log_number = seg_number + 1;
    char name[KV_SEGMENT_NAME_BYTES], seg_path[PATH_BYTES], new_log[PATH_BYTES], old_log[PATH_BYTES];
    kv_segment_file_name(seg_number, name);
    if (!join(seg_path, s->dir, name) || !log_path(new_log, s->dir, log_number) ||
        !log_path(old_log, s->dir, s->man.log_number))
        return KV_INVALID;
    kv_status st = kv_segment_write(s->io, s->dir, name, s->mem, s->opt.block_bytes); /* durable, not yet live */
    if (st != KV_OK)
        return st;

    kv_wal *wal = NULL;
    kv_wal_options wo = wal_options(s);
    uint8_t marker[KV_STORE_RECORD_HEADER] = {0};
    uint64_t last = atomic_load(&s->visible);
    for (int i = 0; i < 8; i++)
        marker[i] = (uint8_t)(last >> (8 * i));
    st = kv_wal_open(s->io, new_log, &wo, NULL, NULL, &wal);
    if (st == KV_OK)
        st = kv_wal_append(wal, marker, sizeof marker);
    if (st == KV_OK)
        st = kv_wal_sync(wal); /* under KV_SYNC_NEVER the append alone did not sync */
    kv_segment *seg = NULL;
    if (st == KV_OK)
        st = kv_segment_open(s->io, seg_path, &seg);
    kv_memtable *fresh = NULL;
    if (st == KV_OK)
        st = kv_memtable_create(s->opt.memtable_bytes, &fresh);
    kv_manifest next = s->man;
    next.segments[0] = seg_number;
    memcpy(next.segments + 1, s->man.segments, s->man.segment_count * sizeof next.segments[0]);
    next.segment_count = s->man.segment_count + 1;
    next.log_number = log_number;
    next.next_number = log_number + 1;
    if (st == KV_OK)
        st = kv_manifest_write(s->io, s->dir, &next); /* the commit point */
    if (st != KV_OK) {
        kv_memtable_destroy(fresh);
        kv_segment_close(seg);
        if (wal != NULL && kv_wal_close(wal) != KV_OK) {
            /* the new log is a leftover either way: the manifest does not name it */
        }
        return st; /* the old manifest and log still hold everything; leftovers go at the next open */
    }

    pthread_rwlock_wrlock(&s->layers);
    kv_wal *old_wal = s->wal;
    kv_memtable *old_mem = s->mem;
    memmove(s->segs + 1, s->segs, s->man.segment_count * sizeof s->segs[0]);
    s->segs[0] = seg;
    s->mem = fresh;
    s->wal = wal;
    s->man = next;
    s->old_log_syncs += kv_wal_stats_get(old_wal).syncs; /* with the swap, so that a reader sees both or neither */
    pthread_rwlock_unlock(&s->layers);

    if (kv_wal_close(old_wal) != KV_OK) {
        /* everything in it is in the segment now, and the manifest no longer names it */
    }
    kv_memtable_destroy(old_mem);
    st = s->io->remove(s->io, old_log);
    pthread_mutex_lock(&s->mu);
    s->stats.flushes++;
    s->stats.disk_bytes += file_bytes(s, seg_path);
    pthread_mutex_unlock(&s->mu);
    return st == KV_NOT_FOUND ? KV_OK : st;
}

static kv_status compact_all(kv_store *s)
{
    if (s->man.segment_count < 2)
        return KV_OK;
    pthread_mutex_lock(&s->mu);
    kv_mvcc_gc gc = kv_mvcc_gc_init(kv_store_safe_point(s));
    pthread_mutex_unlock(&s->mu);
    kv_manifest m = s->man;
    kv_status st = kv_compact_filtered(s->io, s->dir, &m, 0, m.segment_count, s->opt.block_bytes, kv_mvcc_gc_keep, &gc);
    uint64_t dropped = gc.dropped;
    kv_mvcc_gc_free(&gc);
    if (m.segment_count == s->man.segment_count && memcmp(m.segments, s->man.segments, sizeof m.segments) == 0)
        return st == KV_OK ? KV_INVALID : st; /* the manifest did not change: the old segments stay live */

    /* The new manifest is current: the output (if anything survived) is the only segment. */
    kv_segment *out = NULL;
    kv_status open_st = KV_OK;
    char name[KV_SEGMENT_NAME_BYTES], path[PATH_BYTES];
    if (m.segment_count == 1) {
        kv_segment_file_name(m.segments[0], name);
        open_st = join(path, s->dir, name) ? kv_segment_open(s->io, path, &out) : KV_INVALID;
    }
    if (open_st != KV_OK)
        return open_st; /* the old readers stay (they hold their files' bytes); the store is marked failed */
    kv_segment *old[KV_MANIFEST_MAX_SEGMENTS];
    size_t old_count = s->man.segment_count;
    pthread_rwlock_wrlock(&s->layers);
    memcpy(old, s->segs, sizeof old);
    memset(s->segs, 0, sizeof s->segs);
    s->segs[0] = out;
    s->man = m;
    pthread_rwlock_unlock(&s->layers);
    for (size_t i = 0; i < old_count; i++)
        kv_segment_close(old[i]);
    pthread_mutex_lock(&s->mu);
    s->stats.compactions++;
    s->stats.versions_dropped += dropped;
    if (out != NULL)
        s->stats.disk_bytes += file_bytes(s, path);
    pthread_mutex_unlock(&s->mu);
    return st;
}

kv_status kv_store_flush_locked(kv_store *s, bool force)
{
    kv_status st = flush_memtable(s);
    if (st == KV_OK && (force || s->man.segment_count >= s->opt.compact_after))
        st = compact_all(s);
    return st;
}

static kv_status run_gated(kv_store *s, bool force)
{
    pthread_mutex_lock(&s->mu);
    kv_store_gate_close(s);
    kv_status st = s->failed;
    pthread_mutex_unlock(&s->mu);
    if (st == KV_OK)
        st = kv_store_flush_locked(s, force);
    pthread_mutex_lock(&s->mu);
    if (st != KV_OK && s->failed == KV_OK)
        s->failed = st;
    s->gate = false;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    return st;
}

kv_status kv_store_flush(kv_store *s) { return run_gated(s, false); }

kv_status kv_store_compact(kv_store *s) { return run_gated(s, true); }

kv_store_stats kv_store_stats_get(kv_store *s)
{
    pthread_rwlock_rdlock(&s->layers); /* the layers and the manifest change only under it, exclusively */
    uint64_t syncs = s->old_log_syncs + kv_wal_stats_get(s->wal).syncs;
    size_t mem_bytes = kv_memtable_bytes(s->mem);
    kv_manifest m = s->man;
    pthread_rwlock_unlock(&s->layers);
    pthread_mutex_lock(&s->mu);
    kv_store_stats st = s->stats;
    st.last_seq = atomic_load(&s->visible);
    st.log_syncs = syncs;
    pthread_mutex_unlock(&s->mu);
    st.memtable_bytes = mem_bytes;
    st.segments = m.segment_count;
    for (size_t i = 0; i < m.segment_count; i++) {
        char name[KV_SEGMENT_NAME_BYTES], path[PATH_BYTES];
        kv_segment_file_name(m.segments[i], name);
        if (join(path, s->dir, name))
            st.segment_bytes += file_bytes(s, path);
    }
    return st;
}
