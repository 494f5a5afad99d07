/*
 * Chapter 07, part 4: versions of a key. The encoding and the garbage-collection rule are in mvcc.h.
 *
 * Suggested order: kv_mvcc_key_bytes and kv_mvcc_encode (groups of 8 bytes, each followed by 0xFF minus its pad
 * count; the last group always padded; then ~seq big-endian), kv_mvcc_seq and kv_mvcc_same_key, kv_mvcc_decode
 * (check everything before trusting it), then the compaction filter kv_mvcc_gc_keep.
 */
#include "mvcc.h"

#include <string.h>

size_t kv_mvcc_key_bytes(size_t user_len)
{
    /* TODO (part 4): see mvcc.h. */
    (void)user_len;
    return 0;
}

kv_status kv_mvcc_encode(const void *key, size_t key_len, uint64_t seq, kv_buf *out)
{
    /* TODO (part 4): grow out to kv_mvcc_key_bytes(key_len) and write the groups, then be64(~seq). */
    (void)key;
    (void)key_len;
    (void)seq;
    (void)out;
    return KV_TODO;
}

kv_status kv_mvcc_decode(const void *ikey, size_t ikey_len, kv_buf *user, uint64_t *seq)
{
    /* TODO (part 4): refuse every malformed input with KV_CORRUPT (mvcc.h lists them). */
    (void)ikey;
    (void)ikey_len;
    (void)user;
    (void)seq;
    return KV_TODO;
}

bool kv_mvcc_same_key(const void *a, size_t a_len, const void *b, size_t b_len)
{
    /* TODO (part 4). */
    (void)a;
    (void)a_len;
    (void)b;
    (void)b_len;
    return false;
}

uint64_t kv_mvcc_seq(const void *ikey, size_t ikey_len)
{
    /* TODO (part 4): the last 8 bytes, big-endian, inverted back. */
    (void)ikey;
    (void)ikey_len;
    return 0;
}

kv_mvcc_gc kv_mvcc_gc_init(uint64_t safe_point) { return (kv_mvcc_gc){.safe_point = safe_point}; }

void kv_mvcc_gc_free(kv_mvcc_gc *gc)
{
    kv_buf_free(&gc->last);
    gc->below_kept = false;
}

bool kv_mvcc_gc_keep(const kv_entry *e, bool bottom, void *ctx)
{
    /* TODO (part 4): a new key resets below_kept; above the safe point keep; the first version at or below it is
     * kept unless it is a delete and bottom; every older one is dropped (count it in dropped). */
    (void)e;
    (void)bottom;
    (void)ctx;
    return true;
}
