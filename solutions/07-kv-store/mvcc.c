/*
 * mvcc.c — versions of a key: TiKV's memcomparable key encoding with the version appended, and the compaction
 * filter that drops versions no reader can see. The rules are in mvcc.h.
 */
#include "mvcc.h"

#include <string.h>

enum { GROUP_DATA = 8, MARKER_FULL = 0xff };

size_t kv_mvcc_key_bytes(size_t user_len) { return (user_len / GROUP_DATA + 1) * KV_MVCC_GROUP + KV_MVCC_SEQ_BYTES; }

kv_status kv_mvcc_encode(const void *key, size_t key_len, uint64_t seq, kv_buf *out)
{
    size_t total = kv_mvcc_key_bytes(key_len);
    kv_status s = kv_buf_set(out, NULL, 0);
    if (s == KV_OK && out->cap < total) {
        /* Grown once to the full size, then written in place. */
        uint8_t *grown = realloc(out->data, total);
        if (grown == NULL)
            return KV_NO_MEMORY;
        out->data = grown;
        out->cap = total;
    }
    const uint8_t *k = key;
    uint8_t *p = out->data;
    size_t done = 0;
    for (;;) { /* whole groups, then one padded group (possibly all padding) */
        size_t take = key_len - done < GROUP_DATA ? key_len - done : GROUP_DATA;
        if (take > 0)
            memcpy(p, k + done, take);
        memset(p + take, 0, GROUP_DATA - take);
        p[GROUP_DATA] = (uint8_t)(MARKER_FULL - (GROUP_DATA - take));
        p += KV_MVCC_GROUP;
        done += take;
        if (take < GROUP_DATA)
            break;
    }
    uint64_t inverted = ~seq;
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(inverted >> (56 - 8 * i));
    out->len = total;
    return KV_OK;
}

kv_status kv_mvcc_decode(const void *ikey, size_t ikey_len, kv_buf *user, uint64_t *seq)
{
    if (ikey_len < KV_MVCC_GROUP + KV_MVCC_SEQ_BYTES || (ikey_len - KV_MVCC_SEQ_BYTES) % KV_MVCC_GROUP != 0)
        return KV_CORRUPT;
    const uint8_t *p = ikey;
    size_t groups = (ikey_len - KV_MVCC_SEQ_BYTES) / KV_MVCC_GROUP;
    size_t user_len = 0;
    for (size_t g = 0; g < groups; g++) {
        const uint8_t *group = p + g * KV_MVCC_GROUP;
        uint8_t marker = group[GROUP_DATA];
        if (marker < MARKER_FULL - GROUP_DATA)
            return KV_CORRUPT;
        size_t pad = (size_t)(MARKER_FULL - marker);
        bool last = g + 1 == groups;
        if (last != (pad > 0)) /* only the last group is padded, and the last always is */
            return KV_CORRUPT;
        for (size_t i = GROUP_DATA - pad; i < GROUP_DATA; i++)
            if (group[i] != 0)
                return KV_CORRUPT;
        user_len += GROUP_DATA - pad;
    }
    if (user != NULL) {
        kv_status s = kv_buf_set(user, NULL, 0);
        if (s == KV_OK && user->cap < user_len + 1) {
            uint8_t *grown = realloc(user->data, user_len + 1);
            if (grown == NULL)
                return KV_NO_MEMORY;
            user->data = grown;
            user->cap = user_len + 1;
        }
        for (size_t g = 0, at = 0; g < groups; g++) {
            size_t take = g + 1 == groups ? user_len - at : GROUP_DATA;
            memcpy(user->data + at, p + g * KV_MVCC_GROUP, take);
            at += take;
        }
        user->len = user_len;
    }
    if (seq != NULL)
        *seq = kv_mvcc_seq(ikey, ikey_len);
    return KV_OK;
}

bool kv_mvcc_same_key(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && a_len >= KV_MVCC_SEQ_BYTES && memcmp(a, b, a_len - KV_MVCC_SEQ_BYTES) == 0;
}

uint64_t kv_mvcc_seq(const void *ikey, size_t ikey_len)
{
    const uint8_t *p = (const uint8_t *)ikey + ikey_len - KV_MVCC_SEQ_BYTES;
    uint64_t inverted = 0;
    for (int i = 0; i < 8; i++)
        inverted = inverted << 8 | p[i];
    return ~inverted;
}

kv_mvcc_gc kv_mvcc_gc_init(uint64_t safe_point) { return (kv_mvcc_gc){.safe_point = safe_point}; }

void kv_mvcc_gc_free(kv_mvcc_gc *gc)
{
    kv_buf_free(&gc->last);
    gc->below_kept = false;
}

bool kv_mvcc_gc_keep(const kv_entry *e, bool bottom, void *ctx)
{
    kv_mvcc_gc *gc = ctx;
    if (e->key_len < KV_MVCC_GROUP + KV_MVCC_SEQ_BYTES)
        return true;
    if (gc->last.len == 0 || !kv_mvcc_same_key(gc->last.data, gc->last.len, e->key, e->key_len))
        gc->below_kept = false; /* the first version of a new key */
    if (kv_buf_set(&gc->last, e->key, e->key_len) != KV_OK) {
        gc->last.len = 0; /* out of memory: forget the key, and keep what follows (keeping is always safe) */
        gc->below_kept = false;
        return true;
    }
    uint64_t seq = kv_mvcc_seq(e->key, e->key_len);
    if (seq > gc->safe_point)
        return true;
    if (gc->below_kept) {
        gc->dropped++;
        return false; /* hidden from every reader by the version kept below */
    }
    gc->below_kept = true;
    bool is_delete = e->value_len >= 1 && e->value[0] == KV_MVCC_DELETE;
    if (is_delete && bottom) {
        gc->dropped++;
        return false; /* nothing older lives anywhere: "absent" needs no marker */
    }
    return true;
}
