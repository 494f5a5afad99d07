/*
 * Chapter 07, part 1: the write-ahead log (wal.h has the frame, the recovery rule and the group-commit contract).
 *
 * One mutex guards the writers' queue, the counters and the poisoned flag. The file itself is touched only by the
 * leader — the writer at the head of the queue — and the leader does its append and sync with the mutex released,
 * so that more writers can queue up for the next batch meanwhile. Leadership is exclusive (there is one head), so
 * calls on the file never overlap, as io.h requires.
 */
#define _GNU_SOURCE
#include "wal.h"

#include "crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_BYTES (1u << 20) /* a leader stops taking followers' records past this many bytes */
#define DEFAULT_WINDOW_US 200u /* KV_SYNC_BATCH's wait when the options say 0 */

/* One call to append or sync, waiting in the queue. It lives on its caller's stack until done is set. */
typedef struct writer {
    const void *rec; /* the payload, or NULL for a sync request */
    size_t len;
    kv_status status; /* set by the leader that carried it */
    bool done;
    pthread_cond_t cv; /* signalled when done, or when this writer becomes the head */
    struct writer *next;
} writer;

struct kv_wal {
    kv_io *io;
    kv_file *file; /* used by the leader only, without mu */
    kv_wal_options opt;
    pthread_mutex_t mu;  /* guards head, tail, poisoned, dirty, stats */
    writer *head, *tail; /* the queue; head is the leader */
    kv_status poisoned;  /* KV_OK, or the failure after which nothing is written */
    bool dirty;          /* bytes written since the last sync */
    kv_wal_stats stats;
    unsigned char *buf; /* the leader's batch buffer, owned by whoever is head */
    size_t cap;
};

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Writes the frame of one record at p: CRC of (length, payload), length, payload. */
static void encode_frame(unsigned char *p, const void *rec, size_t len)
{
    put_le32(p + 4, (uint32_t)len);
    memcpy(p + KV_WAL_HEADER, rec, len);
    put_le32(p, kv_crc32c(p + 4, 4 + len));
}

static size_t frame_size(const writer *w) { return w->rec == NULL ? 0 : KV_WAL_HEADER + w->len; }

static kv_status grow(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return KV_OK;
    unsigned char *p = realloc(*buf, need);
    if (p == NULL)
        return KV_NO_MEMORY;
    *buf = p, *cap = need;
    return KV_OK;
}

/* ---- recovery ---------------------------------------------------------------------------------------------- */

/* Replays the good records from offset 0; stops at the first torn or bad frame. *end: the end of the last good one. */
static kv_status replay_log(kv_wal *w, uint64_t size, kv_wal_replay_fn *replay, void *ctx, uint64_t *end)
{
    uint64_t off = 0;
    kv_status st = KV_OK;
    while (size - off >= KV_WAL_HEADER) {
        unsigned char hdr[KV_WAL_HEADER];
        size_t got;
        st = w->file->io->read_at(w->file, off, hdr, sizeof hdr, &got);
        if (st != KV_OK || got < sizeof hdr)
            break;
        uint32_t len = get_le32(hdr + 4);
        /* Never trust the length before checking it against what the file holds: a torn tail's length is noise. */
        if (len == 0 || len > KV_WAL_MAX_RECORD || len > size - off - KV_WAL_HEADER)
            break;
        st = grow(&w->buf, &w->cap, len);
        if (st == KV_OK)
            st = w->file->io->read_at(w->file, off + KV_WAL_HEADER, w->buf, len, &got);
        if (st != KV_OK || got < len)
            break;
        if (kv_crc32c_extend(kv_crc32c(hdr + 4, 4), w->buf, len) != get_le32(hdr))
            break; /* corrupt: this record and everything after it are not trusted */
        if (replay != NULL && (st = replay(w->buf, len, ctx)) != KV_OK)
            break;
        w->stats.replayed++;
        off += KV_WAL_HEADER + len;
    }
    *end = off;
    return st;
}

/* The directory of path: the part before the last '/', "." when there is none. Malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir != NULL)
        memcpy(dir, path, n), dir[n] = '\0';
    return dir;
}

static kv_status open_file(kv_wal *w, const char *path)
{
    kv_status st = w->io->open(w->io, path, KV_OPEN_READ | KV_OPEN_APPEND | KV_OPEN_CREATE, &w->file);
    if (st != KV_OK)
        return st;
    /* Sync the directory every time, not only when this call created the file: an earlier run may have created it
     * and died before its name was durable, and records in a file with no durable name are not durable. */
    char *dir = dir_of(path);
    if (dir == NULL)
        return KV_NO_MEMORY;
    st = w->io->sync_dir(w->io, dir);
    free(dir);
    return st;
}

kv_status kv_wal_open(kv_io *io, const char *path, const kv_wal_options *opt, kv_wal_replay_fn *replay, void *ctx,
                      kv_wal **out)
{
    *out = NULL;
    if (io == NULL || path == NULL)
        return KV_INVALID;
    kv_wal *w = calloc(1, sizeof *w);
    if (w == NULL)
        return KV_NO_MEMORY;
    w->io = io;
    if (opt != NULL)
        w->opt = *opt;
    if (w->opt.max_record == 0 || w->opt.max_record > KV_WAL_MAX_RECORD)
        w->opt.max_record = KV_WAL_MAX_RECORD;
    if (w->opt.batch_window_us == 0)
        w->opt.batch_window_us = DEFAULT_WINDOW_US;
    pthread_mutex_init(&w->mu, NULL);
    uint64_t size = 0, end = 0;
    kv_status st = open_file(w, path);
    if (st == KV_OK)
        st = w->file->io->size(w->file, &size);
    if (st == KV_OK)
        st = replay_log(w, size, replay, ctx, &end);
    if (st == KV_OK && end < size) {
        /* Cut the bad tail before anything is appended: a record written after garbage would never be replayed. */
        st = w->file->io->truncate(w->file, end);
        if (st == KV_OK)
            st = w->file->io->sync(w->file);
        w->stats.syncs += st == KV_OK;
        w->stats.dropped_bytes = size - end;
    }
    w->stats.end = end;
    if (st != KV_OK) {
        if (w->file != NULL)
            (void)w->file->io->close(w->file);
        pthread_mutex_destroy(&w->mu);
        free(w->buf);
        free(w);
        return st;
    }
    *out = w;
    return KV_OK;
}

/* ---- group commit ------------------------------------------------------------------------------------------ */

/* KV_SYNC_BATCH: the leader waits out the window (mu held while waiting, released by the wait) so followers join. */
static void wait_for_followers(kv_wal *w, writer *me)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + (uint64_t)w->opt.batch_window_us * 1000u;
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec = (long)(ns % 1000000000u);
    while (pthread_cond_timedwait(&me->cv, &w->mu, &until) == 0) {
        /* woken early (spuriously): wait out the rest */
    }
}

/* Writes and syncs bytes [0, n) of the batch buffer at the log's end, mu released. On a failed append the file is
 * cut back to start; *poison is set when the log's state on disk is no longer known. */
static kv_status write_batch(kv_wal *w, uint64_t start, size_t n, bool sync, bool *poison, bool *synced)
{
    kv_file *f = w->file;
    *poison = false, *synced = false;
    if (n > 0) {
        kv_status st = f->io->append(f, w->buf, n);
        if (st != KV_OK) {
            *poison = f->io->truncate(f, start) != KV_OK;
            return st;
        }
    }
    if (sync) {
        kv_status st = f->io->sync(f);
        if (st != KV_OK) {
            *poison = true; /* fsyncgate: the pages may be gone and marked clean; a retry would lie */
            return st;
        }
        *synced = true;
    }
    return KV_OK;
}

/* Called by the head of the queue with mu held: carries a batch (me and followers) and hands out the statuses. */
static void lead(kv_wal *w, writer *me)
{
    if (w->opt.policy == KV_SYNC_BATCH && w->poisoned == KV_OK)
        wait_for_followers(w, me);
    writer *last = me;
    size_t bytes = frame_size(me);
    bool sync_asked = me->rec == NULL;
    while (last->next != NULL && bytes + frame_size(last->next) <= BATCH_BYTES) {
        last = last->next;
        bytes += frame_size(last);
        sync_asked |= last->rec == NULL;
    }
    kv_status st = w->poisoned != KV_OK ? KV_CLOSED : KV_OK;
    bool need_sync = (w->opt.policy != KV_SYNC_NEVER || sync_asked) && (bytes > 0 || w->dirty);
    uint64_t start = w->stats.end;
    bool poison = false, synced = false;
    if (st == KV_OK) {
        pthread_mutex_unlock(&w->mu);
        /* Only the head runs here; the writers from me to last wait, their records still borrowed. Their `next`
         * links are fixed, but last->next is not: a new writer may be linking itself there right now, so the walk
         * stops at last without reading it. */
        st = grow(&w->buf, &w->cap, bytes);
        size_t n = 0;
        for (writer *x = me; st == KV_OK; x = x->next) {
            if (x->rec != NULL) {
                encode_frame(w->buf + n, x->rec, x->len);
                n += frame_size(x);
            }
            if (x == last)
                break;
        }
        if (st == KV_OK)
            st = write_batch(w, start, n, need_sync, &poison, &synced);
        pthread_mutex_lock(&w->mu);
        if (poison)
            w->poisoned = st;
        if (st == KV_OK) {
            w->stats.end = start + bytes;
            w->stats.batches += bytes > 0;
            w->dirty = w->dirty || bytes > 0;
        }
        if (synced)
            w->dirty = false, w->stats.syncs++;
    }
    for (writer *x = me;; x = x->next) {
        x->status = st;
        x->done = true;
        w->stats.appended += st == KV_OK && x->rec != NULL;
        if (x != me)
            pthread_cond_signal(&x->cv);
        if (x == last)
            break;
    }
    w->head = last->next;
    if (w->head == NULL)
        w->tail = NULL;
    else
        pthread_cond_signal(&w->head->cv); /* the next leader */
}

static kv_status commit(kv_wal *w, writer *me)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&me->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&w->mu);
    if (w->tail != NULL)
        w->tail->next = me;
    else
        w->head = me;
    w->tail = me;
    while (!me->done && w->head != me)
        pthread_cond_wait(&me->cv, &w->mu);
    if (!me->done)
        lead(w, me);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&me->cv);
    return me->status;
}

kv_status kv_wal_append(kv_wal *wal, const void *rec, size_t len)
{
    if (wal == NULL || rec == NULL || len == 0 || len > wal->opt.max_record)
        return KV_INVALID;
    writer me = {.rec = rec, .len = len};
    return commit(wal, &me);
}

kv_status kv_wal_sync(kv_wal *wal)
{
    if (wal == NULL)
        return KV_INVALID;
    writer me = {.rec = NULL};
    return commit(wal, &me);
}

kv_wal_stats kv_wal_stats_get(kv_wal *wal)
{
    pthread_mutex_lock(&wal->mu);
    kv_wal_stats s = wal->stats;
    pthread_mutex_unlock(&wal->mu);
    return s;
}

kv_status kv_wal_close(kv_wal *wal)
{
    if (wal == NULL)
        return KV_INVALID;
    kv_status st = KV_OK;
    if (wal->poisoned == KV_OK && wal->dirty)
        st = wal->file->io->sync(wal->file);
    kv_status closed = wal->file->io->close(wal->file);
    if (st == KV_OK)
        st = closed;
    pthread_mutex_destroy(&wal->mu);
    free(wal->buf);
    free(wal);
    return st;
}
