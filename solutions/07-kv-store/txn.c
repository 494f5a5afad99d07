/*
 * txn.c — snapshots, the conflict oracle and optimistic transactions. The contract is in store.h; the oracle is
 * the table of recent writes in store_impl.h.
 */
#define _GNU_SOURCE
#include "store_impl.h"

#include "mvcc.h"
#include "segment.h"

#include <stdlib.h>
#include <stddef.h>
#include <string.h>

enum { RECENT_FIRST_CAP = 1024 };

/* ---- snapshots ----------------------------------------------------------------------------------------------- */

void kv_store_snapshot(kv_store *s, kv_snapshot *snap)
{
    pthread_mutex_lock(&s->mu);
    snap->seq = atomic_load(&s->visible);
    snap->prev = s->snaps.prev;
    snap->next = &s->snaps;
    s->snaps.prev->next = snap;
    s->snaps.prev = snap;
    pthread_mutex_unlock(&s->mu);
}

void kv_store_release(kv_store *s, kv_snapshot *snap)
{
    pthread_mutex_lock(&s->mu);
    snap->prev->next = snap->next;
    snap->next->prev = snap->prev;
    snap->prev = snap->next = NULL;
    pthread_mutex_unlock(&s->mu);
}

uint64_t kv_store_safe_point(kv_store *s)
{
    uint64_t safe = atomic_load(&s->visible);
    for (const kv_snapshot *p = s->snaps.next; p != &s->snaps; p = p->next)
        if (p->seq < safe)
            safe = p->seq;
    return safe;
}

/* ---- the oracle: which keys recent writes touched ------------------------------------------------------------- */

static uint64_t slot_hash(uint64_t hash) { return hash == 0 ? 1 : hash; /* 0 marks an empty slot */ }

static void place(uint64_t *hashes, uint64_t *seqs, size_t cap, uint64_t hash, uint64_t seq)
{
    size_t i = (size_t)(hash * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
    while (hashes[i] != 0 && hashes[i] != hash)
        i = (i + 1) & (cap - 1);
    hashes[i] = hash;
    if (seqs[i] < seq)
        seqs[i] = seq;
}

/* Rebuilds the table without the entries no transaction can need: a writer at or below the safe point is visible
 * to every live snapshot and to every snapshot taken from now on. Grows it when it stays over a quarter full. */
static kv_status rebuild(kv_store *s)
{
    uint64_t horizon = kv_store_safe_point(s);
    size_t live = 0;
    for (size_t i = 0; i < s->recent_cap; i++)
        live += s->recent_hash[i] != 0 && s->recent_seq[i] > horizon;
    size_t cap = s->recent_cap ? s->recent_cap : RECENT_FIRST_CAP;
    while ((live + 1) * 4 > cap)
        cap *= 2;
    uint64_t *hashes = calloc(cap, sizeof *hashes), *seqs = calloc(cap, sizeof *seqs);
    if (hashes == NULL || seqs == NULL) {
        free(hashes);
        free(seqs);
        return KV_NO_MEMORY;
    }
    for (size_t i = 0; i < s->recent_cap; i++)
        if (s->recent_hash[i] != 0 && s->recent_seq[i] > horizon)
            place(hashes, seqs, cap, s->recent_hash[i], s->recent_seq[i]);
    free(s->recent_hash);
    free(s->recent_seq);
    s->recent_hash = hashes;
    s->recent_seq = seqs;
    s->recent_cap = cap;
    s->recent_count = live;
    return KV_OK;
}

kv_status kv_store_recent_add(kv_store *s, uint64_t hash, uint64_t seq)
{
    if ((s->recent_count + 1) * 2 > s->recent_cap) {
        kv_status st = rebuild(s);
        if (st != KV_OK)
            return st;
    }
    hash = slot_hash(hash);
    size_t before = kv_store_recent_get(s, hash) != 0;
    place(s->recent_hash, s->recent_seq, s->recent_cap, hash, seq);
    s->recent_count += !before;
    return KV_OK;
}

uint64_t kv_store_recent_get(const kv_store *s, uint64_t hash)
{
    if (s->recent_cap == 0)
        return 0;
    hash = slot_hash(hash);
    size_t i = (size_t)(hash * 0x9e3779b97f4a7c15ull >> 20) & (s->recent_cap - 1);
    while (s->recent_hash[i] != 0) {
        if (s->recent_hash[i] == hash)
            return s->recent_seq[i];
        i = (i + 1) & (s->recent_cap - 1);
    }
    return 0;
}

/* ---- transactions --------------------------------------------------------------------------------------------- */

struct kv_txn {
    kv_store *s;
    kv_snapshot snap; /* registered with the store: compaction keeps what it reads */
    uint64_t *reads;  /* hashes of the read set */
    size_t read_count, read_cap;
    kv_batch writes; /* buffered, in the order made */
};

kv_status kv_txn_begin(kv_store *s, kv_txn **out)
{
    *out = NULL;
    kv_txn *t = calloc(1, sizeof *t);
    if (t == NULL)
        return KV_NO_MEMORY;
    t->s = s;
    kv_store_snapshot(s, &t->snap);
    *out = t;
    return KV_OK;
}

uint64_t kv_txn_read_seq(const kv_txn *t) { return t->snap.seq; }

static void txn_free(kv_txn *t)
{
    kv_store_release(t->s, &t->snap);
    kv_batch_free(&t->writes);
    free(t->reads);
    free(t);
}

void kv_txn_abort(kv_txn *t)
{
    if (t != NULL)
        txn_free(t);
}

kv_status kv_txn_watch(kv_txn *t, const void *key, size_t key_len)
{
    if (t->read_count == t->read_cap) {
        size_t cap = t->read_cap ? t->read_cap * 2 : 8;
        uint64_t *grown = realloc(t->reads, cap * sizeof *grown);
        if (grown == NULL)
            return KV_NO_MEMORY;
        t->reads = grown;
        t->read_cap = cap;
    }
    t->reads[t->read_count++] = kv_segment_key_hash(key, key_len);
    return KV_OK;
}

/* The transaction's own last write of key, if any: the op byte and value, borrowed from the batch. */
static bool own_write(const kv_txn *t, const void *key, size_t key_len, const uint8_t **stored, size_t *stored_len)
{
    bool found = false;
    if (t->writes.ops.data == NULL)
        return false; /* nothing written yet (and NULL + 0 is not arithmetic C allows) */
    const uint8_t *p = t->writes.ops.data, *end = p + t->writes.ops.len;
    while (end - p >= (ptrdiff_t)KV_STORE_OP_HEADER) {
        uint32_t klen = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        uint32_t vlen = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        const uint8_t *k = p + KV_STORE_OP_HEADER;
        if (klen == key_len && (key_len == 0 || memcmp(k, key, key_len) == 0)) {
            *stored = k + klen;
            *stored_len = 1 + (size_t)vlen;
            found = true; /* later writes win: keep walking */
        }
        p = k + klen + 1 + vlen;
    }
    return found;
}

kv_status kv_txn_get(kv_txn *t, const void *key, size_t key_len, kv_buf *out)
{
    out->len = 0;
    const uint8_t *stored = NULL;
    size_t stored_len = 0;
    if (own_write(t, key, key_len, &stored, &stored_len)) /* read your own writes; no conflict on them */
        return stored[0] == KV_MVCC_PUT ? kv_buf_set(out, stored + 1, stored_len - 1) : KV_NOT_FOUND;
    kv_status st = kv_txn_watch(t, key, key_len);
    if (st == KV_OK)
        st = kv_store_get(t->s, &t->snap, key, key_len, out);
    return st;
}

kv_status kv_txn_put(kv_txn *t, const void *key, size_t key_len, const void *value, size_t value_len)
{
    return kv_batch_put(&t->writes, key, key_len, value, value_len);
}

kv_status kv_txn_delete(kv_txn *t, const void *key, size_t key_len) { return kv_batch_delete(&t->writes, key, key_len); }

kv_status kv_txn_commit(kv_txn *t)
{
    kv_status st = KV_OK;
    if (t->writes.count > 0) /* a read-only transaction read one snapshot: nothing to check, nothing to write */
        st = kv_store_commit(t->s, t->writes.ops.data, t->writes.ops.len, t->writes.count, t->reads, t->read_count,
                             t->snap.seq);
    txn_free(t);
    return st;
}
