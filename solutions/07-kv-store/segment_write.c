/*
 * segment_write.c — chapter 07, part 2: a memtable written out as a segment, whole and durable or not at all.
 *                                                                                          (reference solution)
 *
 * The whole file is built in memory (one memtable's worth), then handed to the io in one append, so that the order
 * of the durable steps — data, sync, rename, directory sync — reads in one place.
 */
#include "segment.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_BYTES 4096

uint64_t kv_segment_key_hash(const void *key, size_t key_len)
{
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis */
    for (size_t i = 0; i < key_len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull; /* FNV prime */
    return h;
}

/* A growable byte buffer; `failed` sticks after the first allocation failure so callers check once. */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} buf;

static uint8_t *buf_grow(buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    b->len += n;
    return at;
}

static void buf_u32(buf *b, uint32_t v)
{
    uint8_t *p = buf_grow(b, 4);
    if (p)
        kv_put_u32(p, v);
}

static void buf_u64(buf *b, uint64_t v)
{
    uint8_t *p = buf_grow(b, 8);
    if (p)
        kv_put_u64(p, v);
}

static void buf_bytes(buf *b, const void *src, size_t n)
{
    uint8_t *p = buf_grow(b, n);
    if (p && n)
        memcpy(p, src, n);
}

/* Appends the crc of the region that started at `from`. */
static void buf_crc_since(buf *b, size_t from)
{
    if (!b->failed)
        buf_u32(b, kv_crc32c(b->p + from, b->len - from));
}

/* What the layout carries from one entry to the next. */
typedef struct builder {
    buf *out;       /* the file being laid out */
    buf index;      /* the index records so far */
    uint8_t *bloom; /* the filter's bits */
    size_t bloom_bits;
    size_t block_start; /* offset of the open block in out */
    uint32_t blocks;    /* blocks closed */
    kv_entry last;      /* the last entry added: the open block's last key */
} builder;

/* Closes the open block: the index records its last key, offset and length, then its crc follows it. */
static void close_block(builder *b)
{
    buf_u32(&b->index, (uint32_t)b->last.key_len);
    buf_bytes(&b->index, b->last.key, b->last.key_len);
    buf_u64(&b->index, b->block_start);
    buf_u32(&b->index, (uint32_t)(b->out->len - b->block_start));
    buf_crc_since(b->out, b->block_start);
    b->block_start = b->out->len;
    b->blocks++;
}

/* Appends one entry to the open block and its key to the bloom filter. */
static void add_entry(builder *b, const kv_entry *e)
{
    buf_u32(b->out, (uint32_t)e->key_len);
    buf_u32(b->out, e->tombstone ? KV_SEGMENT_TOMBSTONE : (uint32_t)e->value_len);
    buf_bytes(b->out, e->key, e->key_len);
    buf_bytes(b->out, e->value, e->value_len);
    uint64_t h = kv_segment_key_hash(e->key, e->key_len);
    for (uint32_t i = 0; i < KV_SEGMENT_BLOOM_HASHES; i++) {
        size_t bit = kv_bloom_bit(h, i, b->bloom_bits);
        b->bloom[bit / 8] |= (uint8_t)(1u << (bit % 8));
    }
    b->last = *e;
}

/* After the blocks: the index, the bloom filter, each with its crc, and the footer. */
static void finish(builder *b, uint64_t count)
{
    buf *out = b->out;
    size_t index_offset = out->len;
    buf_u32(out, b->blocks);
    buf_bytes(out, b->index.p, b->index.len);
    size_t index_length = out->len - index_offset;
    buf_crc_since(out, index_offset);
    size_t bloom_offset = out->len;
    buf_u32(out, KV_SEGMENT_BLOOM_HASHES);
    buf_bytes(out, b->bloom, b->bloom_bits / 8);
    size_t bloom_length = out->len - bloom_offset;
    buf_crc_since(out, bloom_offset);
    size_t footer = out->len;
    buf_u64(out, index_offset);
    buf_u32(out, (uint32_t)index_length);
    buf_u64(out, bloom_offset);
    buf_u32(out, (uint32_t)bloom_length);
    buf_u64(out, count);
    buf_u32(out, KV_SEGMENT_VERSION);
    buf_crc_since(out, footer); /* over the 36 bytes above: offsets, lengths, count, version */
    buf_u64(out, KV_SEGMENT_MAGIC);
}

/* Lays out the whole segment for @p mt in @p out (see segment.h for the format). */
static kv_status build(const kv_memtable *mt, size_t block_bytes, buf *out)
{
    size_t n = kv_memtable_count(mt);
    /* Whole bytes: the reader counts the filter's bits from its length in bytes, and both must agree. */
    size_t bloom_bits = n * KV_SEGMENT_BLOOM_BITS_PER_KEY < 64 ? 64 : (n * KV_SEGMENT_BLOOM_BITS_PER_KEY + 7) / 8 * 8;
    uint8_t *bloom = calloc(1, bloom_bits / 8);
    if (bloom == NULL)
        return KV_NO_MEMORY;
    builder b = {.out = out, .bloom = bloom, .bloom_bits = bloom_bits};
    kv_memtable_iter it;
    kv_entry e;
    for (kv_memtable_seek(mt, NULL, 0, &it); kv_memtable_iter_entry(&it, &e); kv_memtable_iter_next(&it)) {
        add_entry(&b, &e);
        if (out->len - b.block_start >= block_bytes)
            close_block(&b);
    }
    if (out->len > b.block_start)
        close_block(&b); /* the last, partly filled block */
    finish(&b, n);
    free(bloom);
    free(b.index.p);
    return out->failed || b.index.failed ? KV_NO_MEMORY : KV_OK;
}

/* Every key and value length must fit the format's u32 fields (the tombstone mark excluded). */
static bool fits_format(const kv_memtable *mt)
{
    kv_memtable_iter it;
    kv_entry e;
    for (kv_memtable_seek(mt, NULL, 0, &it); kv_memtable_iter_entry(&it, &e); kv_memtable_iter_next(&it))
        if (e.key_len > UINT32_MAX || e.value_len >= KV_SEGMENT_TOMBSTONE)
            return false;
    return true;
}

/* Creates @p tmp, writes @p b to it and makes its bytes durable, then closes it. */
static kv_status write_synced(kv_io *io, const char *tmp, const buf *b)
{
    kv_file *f;
    kv_status s = io->open(io, tmp, KV_OPEN_APPEND | KV_OPEN_CREATE | KV_OPEN_TRUNC, &f);
    if (s != KV_OK)
        return s;
    s = io->append(f, b->p, b->len);
    if (s == KV_OK)
        s = io->sync(f); /* the data before the name: a rename must never publish unsynced bytes */
    kv_status closed = io->close(f);
    return s != KV_OK ? s : closed;
}

kv_status kv_segment_write(kv_io *io, const char *dir, const char *name, const kv_memtable *mt, size_t block_bytes)
{
    char path[PATH_MAX_BYTES], tmp[PATH_MAX_BYTES];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    int m = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    if (n < 0 || m < 0 || (size_t)m >= sizeof tmp || !fits_format(mt))
        return KV_INVALID;
    buf b = {0};
    kv_status s = build(mt, block_bytes ? block_bytes : KV_SEGMENT_DEFAULT_BLOCK_BYTES, &b);
    if (s == KV_OK)
        s = write_synced(io, tmp, &b);
    free(b.p);
    if (s == KV_OK)
        s = io->rename(io, tmp, path);
    if (s != KV_OK) {
        (void)io->remove(io, tmp); /* best effort: a leftover .tmp is garbage, never a segment */
        return s;
    }
    return io->sync_dir(io, dir); /* the rename itself is durable only once the directory is */
}
