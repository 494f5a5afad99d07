/*
 * store_rw.c — the store's write path (a number, the log, the memtable, visibility in order) and its reads (the
 * newest version at a snapshot, merged scans). The record format is in store.h, the locks in store_impl.h.
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "mvcc.h"
#include "scan.h"

#include <stdlib.h>
#include <string.h>

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- batches ---------------------------------------------------------------------------------------------------- */

/* An op: u32 key_len | u32 value_len | key | op byte | value. The op byte sits right before the value, so that
 * "op byte + value" is the version's stored value (mvcc.h) without a copy. */
static kv_status batch_add(kv_batch *b, uint8_t op, const void *key, size_t key_len, const void *value, size_t value_len)
{
    if ((key == NULL && key_len > 0) || (value == NULL && value_len > 0) || key_len > KV_STORE_MAX_KEY ||
        value_len > KV_STORE_MAX_VALUE || b->count == UINT32_MAX)
        return KV_INVALID;
    size_t need = b->ops.len + KV_STORE_OP_HEADER + key_len + 1 + value_len;
    if (need > b->ops.cap) {
        size_t cap = b->ops.cap ? b->ops.cap : 256;
        while (cap < need)
            cap *= 2;
        uint8_t *grown = realloc(b->ops.data, cap);
        if (grown == NULL)
            return KV_NO_MEMORY;
        b->ops.data = grown;
        b->ops.cap = cap;
    }
    uint8_t *p = b->ops.data + b->ops.len;
    put_le32(p, (uint32_t)key_len);
    put_le32(p + 4, (uint32_t)value_len);
    p += KV_STORE_OP_HEADER;
    if (key_len > 0)
        memcpy(p, key, key_len);
    p[key_len] = op;
    if (value_len > 0)
        memcpy(p + key_len + 1, value, value_len);
    b->ops.len = need;
    b->count++;
    return KV_OK;
}

kv_status kv_batch_put(kv_batch *b, const void *key, size_t key_len, const void *value, size_t value_len)
{
    return batch_add(b, KV_MVCC_PUT, key, key_len, value, value_len);
}

kv_status kv_batch_delete(kv_batch *b, const void *key, size_t key_len)
{
    return batch_add(b, KV_MVCC_DELETE, key, key_len, NULL, 0);
}

void kv_batch_free(kv_batch *b)
{
    kv_buf_free(&b->ops);
    b->count = 0;
}

/* ---- the write path ----------------------------------------------------------------------------------------- */

/* Walks the ops of a record or batch: key, op byte + value. False at the end or on bytes that are not an op. */
typedef struct op_view {
    const uint8_t *key, *stored; /* stored: the op byte, then the value */
    size_t key_len, stored_len;
} op_view;

static bool next_op(const uint8_t **p, const uint8_t *end, op_view *op)
{
    if ((size_t)(end - *p) < KV_STORE_OP_HEADER)
        return false;
    uint32_t key_len = get_le32(*p), value_len = get_le32(*p + 4);
    const uint8_t *q = *p + KV_STORE_OP_HEADER;
    if (key_len > KV_STORE_MAX_KEY || value_len > KV_STORE_MAX_VALUE || (size_t)(end - q) < (size_t)key_len + 1 + value_len)
        return false;
    op->key = q;
    op->key_len = key_len;
    op->stored = q + key_len;
    op->stored_len = 1 + (size_t)value_len;
    if (op->stored[0] != KV_MVCC_PUT && (op->stored[0] != KV_MVCC_DELETE || value_len != 0))
        return false;
    *p = q + key_len + 1 + value_len;
    return true;
}

kv_status kv_store_apply(kv_store *s, const uint8_t *rec, size_t len, uint64_t *seq)
{
    if (len < KV_STORE_RECORD_HEADER)
        return KV_CORRUPT;
    uint64_t number = 0;
    for (int i = 7; i >= 0; i--)
        number = number << 8 | rec[i];
    uint32_t count = get_le32(rec + 8);
    const uint8_t *p = rec + KV_STORE_RECORD_HEADER, *end = rec + len;
    kv_buf ikey = {0};
    kv_status st = KV_OK;
    op_view op;
    for (uint32_t i = 0; i < count && st == KV_OK; i++) {
        if (!next_op(&p, end, &op))
            st = KV_CORRUPT;
        else if ((st = kv_mvcc_encode(op.key, op.key_len, number, &ikey)) == KV_OK)
            st = kv_memtable_put(s->mem, ikey.data, ikey.len, op.stored, op.stored_len);
    }
    if (st == KV_OK && (p != end || (count > 0 && number == 0)))
        st = KV_CORRUPT; /* trailing bytes, or a write without a number */
    kv_buf_free(&ikey);
    if (st == KV_OK)
        *seq = number;
    return st;
}

/* Marks seq done and moves `visible` over every finished number; caller holds mu. Wakes the waiters only when
 * visible moved: no one's condition changed otherwise. */
static void finish(kv_store *s, uint64_t seq)
{
    s->done[seq % KV_STORE_RING] = 1;
    uint64_t before = atomic_load(&s->visible), v = before;
    while (v < s->last_seq && s->done[(v + 1) % KV_STORE_RING]) {
        s->done[(v + 1) % KV_STORE_RING] = 0;
        v++;
    }
    atomic_store(&s->visible, v);
    if (v != before)
        pthread_cond_broadcast(&s->changed);
}

/* A writer leaves; caller holds mu. Only a flush waiting for the last writer (the gate closed) needs to hear it. */
static void leave(kv_store *s)
{
    s->in_flight--;
    if (s->gate && s->in_flight == 0)
        pthread_cond_broadcast(&s->changed);
}

kv_status kv_store_commit(kv_store *s, const uint8_t *ops, size_t ops_len, uint32_t count, const uint64_t *reads,
                          size_t read_count, uint64_t read_seq)
{
    uint8_t *rec = malloc(KV_STORE_RECORD_HEADER + ops_len);
    if (rec == NULL)
        return KV_NO_MEMORY;

    pthread_mutex_lock(&s->mu);
    while (s->gate || s->last_seq - atomic_load(&s->visible) >= KV_STORE_RING - 1)
        pthread_cond_wait(&s->changed, &s->mu);
    kv_status st = s->failed;
    for (size_t i = 0; st == KV_OK && i < read_count; i++)
        if (kv_store_recent_get(s, reads[i]) > read_seq)
            st = KV_CONFLICT; /* someone wrote a key this transaction read, after its snapshot */
    if (st == KV_CONFLICT)
        s->stats.conflicts++;
    const uint8_t *p = ops, *end = ops + ops_len;
    op_view op;
    uint64_t seq = s->last_seq + 1;
    for (uint32_t i = 0; st == KV_OK && i < count; i++)
        st = next_op(&p, end, &op) ? kv_store_recent_add(s, kv_segment_key_hash(op.key, op.key_len), seq) : KV_INVALID;
    if (st != KV_OK) {
        pthread_mutex_unlock(&s->mu);
        free(rec);
        return st;
    }
    s->last_seq = seq;
    s->in_flight++;
    pthread_mutex_unlock(&s->mu);

    for (int i = 0; i < 8; i++)
        rec[i] = (uint8_t)(seq >> (8 * i));
    put_le32(rec + 8, count);
    memcpy(rec + KV_STORE_RECORD_HEADER, ops, ops_len);
    st = kv_wal_append(s->wal, rec, KV_STORE_RECORD_HEADER + ops_len); /* durable as the policy says, or not acked */
    if (st == KV_OK) {
        uint64_t applied = 0;
        pthread_rwlock_wrlock(&s->layers);
        st = kv_store_apply(s, rec, KV_STORE_RECORD_HEADER + ops_len, &applied);
        bool full = kv_memtable_full(s->mem);
        pthread_rwlock_unlock(&s->layers);
        if (st != KV_OK) /* durable but not in memory (out of memory): only a reopen can make them agree */
            st = KV_CLOSED;
        pthread_mutex_lock(&s->mu);
        if (st == KV_CLOSED && s->failed == KV_OK)
            s->failed = KV_CLOSED;
        if (st == KV_OK) {
            s->stats.writes++;
            s->stats.user_bytes += ops_len - (size_t)count * (KV_STORE_OP_HEADER + 1);
            s->stats.disk_bytes += KV_WAL_HEADER + KV_STORE_RECORD_HEADER + ops_len;
        }
        free(rec);
        finish(s, seq);
        while (atomic_load(&s->visible) < seq) /* acknowledge in order: everything before this is visible too */
            pthread_cond_wait(&s->changed, &s->mu);
        leave(s);
        if (st == KV_OK && full && !s->gate && s->failed == KV_OK) {
            kv_store_gate_close(s); /* whoever gets here first flushes; the others found the gate closed */
            pthread_mutex_unlock(&s->mu);
            kv_status fst = kv_memtable_full(s->mem) ? kv_store_flush_locked(s, false) : KV_OK;
            pthread_mutex_lock(&s->mu);
            if (fst != KV_OK && s->failed == KV_OK)
                s->failed = fst; /* this write is durable and acknowledged; later ones are refused */
            s->gate = false;
            pthread_cond_broadcast(&s->changed);
        }
        pthread_mutex_unlock(&s->mu);
        return st;
    }
    free(rec);
    pthread_mutex_lock(&s->mu);
    finish(s, seq); /* the number is skipped: nothing was applied under it */
    while (atomic_load(&s->visible) < seq)
        pthread_cond_wait(&s->changed, &s->mu);
    leave(s);
    pthread_mutex_unlock(&s->mu);
    return st;
}

kv_status kv_store_write(kv_store *s, const kv_batch *b)
{
    if (b->count == 0)
        return KV_OK;
    return kv_store_commit(s, b->ops.data, b->ops.len, b->count, NULL, 0, 0);
}

/* One put or delete: a batch of one op, built on the stack when it is small. */
static kv_status write_one(kv_store *s, uint8_t op, const void *key, size_t key_len, const void *value, size_t value_len)
{
    uint8_t small[512];
    kv_batch b = {0};
    size_t need = KV_STORE_OP_HEADER + key_len + 1 + value_len;
    if (key_len <= KV_STORE_MAX_KEY && value_len <= KV_STORE_MAX_VALUE && need <= sizeof small)
        b.ops = (kv_buf){.data = small, .cap = sizeof small}; /* fits: batch_add will not grow it */
    kv_status st = batch_add(&b, op, key, key_len, value, value_len);
    if (st == KV_OK)
        st = kv_store_write(s, &b);
    if (b.ops.data != small)
        kv_batch_free(&b);
    return st;
}

kv_status kv_store_put(kv_store *s, const void *key, size_t key_len, const void *value, size_t value_len)
{
    return write_one(s, KV_MVCC_PUT, key, key_len, value, value_len);
}

kv_status kv_store_delete(kv_store *s, const void *key, size_t key_len)
{
    return write_one(s, KV_MVCC_DELETE, key, key_len, NULL, 0);
}

/* ---- reads -------------------------------------------------------------------------------------------------- */

/* The version of a key at a snapshot: the first entry at or after memcomparable(key) | ~seq, if it is a version of
 * the same key. The newest layer that has one decides: every layer holds only versions newer than the next one's. */
static bool find_version(kv_store *s, const kv_buf *seek, kv_entry *out)
{
    kv_memtable_iter mi;
    kv_memtable_seek(s->mem, seek->data, seek->len, &mi);
    if (kv_memtable_iter_entry(&mi, out) && kv_mvcc_same_key(out->key, out->key_len, seek->data, seek->len))
        return true;
    for (size_t i = 0; i < s->man.segment_count; i++) {
        kv_segment_iter si;
        kv_segment_seek(s->segs[i], seek->data, seek->len, &si);
        if (kv_segment_iter_entry(&si, out) && kv_mvcc_same_key(out->key, out->key_len, seek->data, seek->len))
            return true;
    }
    return false;
}

kv_status kv_store_get(kv_store *s, const kv_snapshot *snap, const void *key, size_t key_len, kv_buf *out)
{
    out->len = 0;
    if (key_len > KV_STORE_MAX_KEY)
        return KV_NOT_FOUND; /* never written */
    uint64_t seq = snap != NULL ? snap->seq : atomic_load(&s->visible);
    uint8_t small[1024];
    kv_buf seek = {.data = small, .cap = sizeof small};
    kv_status st = KV_OK;
    if (kv_mvcc_key_bytes(key_len) > sizeof small)
        seek = (kv_buf){0}; /* a long key: the encoder allocates */
    if (seq == 0)
        return KV_NOT_FOUND;
    st = kv_mvcc_encode(key, key_len, seq, &seek);
    if (st == KV_OK) {
        kv_entry e;
        pthread_rwlock_rdlock(&s->layers);
        if (!find_version(s, &seek, &e))
            st = KV_NOT_FOUND;
        else if (e.value_len >= 1 && e.value[0] == KV_MVCC_PUT)
            st = kv_buf_set(out, e.value + 1, e.value_len - 1);
        else if (e.value_len == 1 && e.value[0] == KV_MVCC_DELETE)
            st = KV_NOT_FOUND;
        else
            st = KV_CORRUPT;
        pthread_rwlock_unlock(&s->layers);
    }
    if (seek.data != small)
        kv_buf_free(&seek);
    return st;
}

kv_status kv_store_scan(kv_store *s, const kv_snapshot *snap, const void *start, size_t start_len, const void *end,
                        size_t end_len, size_t limit, kv_store_scan_fn *fn, void *ctx, size_t *count)
{
    if (count != NULL)
        *count = 0;
    uint64_t seq = snap != NULL ? snap->seq : atomic_load(&s->visible);
    kv_buf lo = {0}, hi = {0}, user = {0}, current = {0};
    kv_status st = KV_OK;
    /* Every version of a key sorts at or after memcomparable(key) | be64(~UINT64_MAX) = ... | 00*8. */
    if (start != NULL)
        st = kv_mvcc_encode(start, start_len, UINT64_MAX, &lo);
    if (st == KV_OK && end != NULL)
        st = kv_mvcc_encode(end, end_len, UINT64_MAX, &hi);
    if (st != KV_OK) {
        kv_buf_free(&lo);
        kv_buf_free(&hi);
        return st;
    }
    pthread_rwlock_rdlock(&s->layers);
    kv_view view = {.memtable = s->mem, .segments = s->segs, .segment_count = s->man.segment_count};
    kv_scan *scan = NULL;
    st = kv_scan_open(&view, start ? lo.data : NULL, lo.len, end ? hi.data : NULL, hi.len, &scan);
    size_t handed = 0;
    bool decided = false; /* the current key's version at the snapshot has been seen */
    kv_entry e;
    while (st == KV_OK && (limit == 0 || handed < limit) && kv_scan_next(scan, &e) == KV_OK) {
        if (e.key_len < KV_MVCC_SEQ_BYTES) {
            st = KV_CORRUPT;
            break;
        }
        if (current.len > 0 && kv_mvcc_same_key(current.data, current.len, e.key, e.key_len)) {
            if (decided)
                continue; /* an older version of a key already answered */
        } else {
            decided = false;
            if ((st = kv_buf_set(&current, e.key, e.key_len)) != KV_OK)
                break;
        }
        if (kv_mvcc_seq(e.key, e.key_len) > seq)
            continue; /* newer than the snapshot */
        decided = true;
        if (e.value_len == 1 && e.value[0] == KV_MVCC_DELETE)
            continue;
        if (e.value_len < 1 || e.value[0] != KV_MVCC_PUT || kv_mvcc_decode(e.key, e.key_len, &user, NULL) != KV_OK) {
            st = KV_CORRUPT;
            break;
        }
        handed++;
        if (!fn(user.data, user.len, e.value + 1, e.value_len - 1, ctx))
            break;
    }
    kv_scan_close(scan);
    pthread_rwlock_unlock(&s->layers);
    kv_buf_free(&lo);
    kv_buf_free(&hi);
    kv_buf_free(&user);
    kv_buf_free(&current);
    if (count != NULL)
        *count = handed;
    return st;
}
