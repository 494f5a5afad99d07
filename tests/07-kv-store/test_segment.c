/*
 * Part 2: segments (segment.h) as files to read — the documented layout, lookups through the bloom filter and the
 * index, iterators, and a reader that refuses every corruption. Corrupt copies are served from memory by a small
 * read-only io (below), so that a test can try every byte of a file without a disk write each time. How segments
 * are written durably is in test_segment_durable.c.
 */
#include "ordered_support.h"

#include "crc32c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a read-only io over a buffer: a file's bytes, changed in memory between opens, without a disk ---- */

typedef struct mem_io {
    kv_io io; /* first: a kv_io * is a mem_io * */
    const uint8_t *bytes;
    size_t len;
} mem_io;

typedef struct mem_file {
    kv_file base;
} mem_file;

static kv_status mem_open(kv_io *io, const char *path, unsigned flags, kv_file **out)
{
    (void)path;
    *out = NULL;
    if (flags & (KV_OPEN_APPEND | KV_OPEN_CREATE))
        return KV_INVALID; /* read-only */
    mem_file *f = malloc(sizeof *f);
    ck_assert_ptr_ne(f, NULL);
    f->base.io = io;
    *out = &f->base;
    return KV_OK;
}

static kv_status mem_read_at(kv_file *f, uint64_t offset, void *buf, size_t len, size_t *got)
{
    const mem_io *m = (const mem_io *)f->io;
    size_t n = offset >= m->len ? 0 : m->len - (size_t)offset < len ? m->len - (size_t)offset : len;
    if (n)
        memcpy(buf, m->bytes + offset, n);
    *got = n;
    return KV_OK;
}

static kv_status mem_size(kv_file *f, uint64_t *out)
{
    *out = ((const mem_io *)f->io)->len;
    return KV_OK;
}

static kv_status mem_close(kv_file *f)
{
    free(f);
    return KV_OK;
}

/* Opens a segment whose file holds exactly @p len bytes of @p bytes. */
static kv_status open_bytes(const uint8_t *bytes, size_t len, kv_segment **seg)
{
    mem_io m = {.bytes = bytes, .len = len};
    m.io.open = mem_open;
    m.io.read_at = mem_read_at;
    m.io.size = mem_size;
    m.io.close = mem_close;
    *seg = NULL;
    return kv_segment_open(&m.io, "segment-in-memory", seg);
}

FT_TEST(2, segment_round_trip_finds_every_key_and_tombstone, 3,
        "A segment holds every entry of the memtable, tombstones included (a tombstone written to disk still "
        "hides older segments); kv_segment_get finds each through the index and its block, and absent keys are "
        "not found.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(2000);
    kv_segment *seg = segment_from(dir, "000001.seg", mt, 256);
    ck_assert_uint_eq(kv_segment_count(seg), 2000);
    expect_even_keys(seg, 2000);
    kv_entry e;
    ck_assert_int_eq(kv_segment_get(seg, "zzz", 3, &e), KV_NOT_FOUND);
    ck_assert_int_eq(kv_segment_get(seg, "", 0, &e), KV_NOT_FOUND);
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_finds_the_last_key_of_every_block, 2,
        "The index holds each block's last key; the block that may hold k is the first whose last key is >= k. "
        "At a block boundary k equals that last key: a search for the first last key > k skips to the wrong "
        "block. (One entry per block here: every key sits on a boundary.)")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(300);
    kv_segment *seg = segment_from(dir, "000001.seg", mt, 1);
    expect_even_keys(seg, 300);
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_iterator_walks_blocks_in_order_and_seeks, 2,
        "A segment iterator is two-level (RocksDB's index iterator over data-block iterators): it crosses from the "
        "end of one block to the start of the next, and seek(k) lands on the first key >= k, even when k falls "
        "between two blocks.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(500);
    kv_segment *seg = segment_from(dir, "000001.seg", mt, 200);
    kv_segment_iter it;
    kv_memtable_iter mit;
    kv_entry e, m;
    unsigned n = 0;
    kv_memtable_seek(mt, NULL, 0, &mit);
    for (kv_segment_seek(seg, NULL, 0, &it); kv_segment_iter_entry(&it, &e); kv_segment_iter_next(&it), n++) {
        ck_assert(kv_memtable_iter_entry(&mit, &m));
        ck_assert(e.key_len == m.key_len && memcmp(e.key, m.key, e.key_len) == 0 && e.tombstone == m.tombstone);
        kv_memtable_iter_next(&mit);
    }
    ck_assert_uint_eq(n, 500);
    char key[16], want[16];
    for (unsigned k = 0; k < 1000; k += 13) { /* odd k: absent, the next even key is where the seek lands */
        kv_segment_seek(seg, key_name(k, key), 9, &it);
        ck_assert(kv_segment_iter_entry(&it, &e));
        key_name(k + (k & 1), want);
        ck_assert_msg(e.key_len == 9 && memcmp(e.key, want, 9) == 0, "seek(%s) should land on %s", key, want);
    }
    kv_segment_seek(seg, "key000999", 9, &it);
    ck_assert(!kv_segment_iter_entry(&it, &e));
    kv_segment_seek(seg, "a", 1, &it);
    ck_assert(kv_segment_iter_entry(&it, &e) && e.key_len == 9 && memcmp(e.key, "key000000", 9) == 0);
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_bloom_filter_skips_absent_keys_without_false_negatives, 3,
        "The bloom filter answers \"not here\" without touching a block for most absent keys (~1% false positives "
        "at 10 bits per key), and never for a key that was written (no false negatives: hash the whole key, the "
        "same way when building and when probing, over the same number of bits). A lookup that gets past it searches "
        "exactly one block.")
{
    enum { N = 999 };
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(N); /* 9,990 bits: not a whole number of bytes */
    kv_segment *seg = segment_from(dir, "000001.seg", mt, 256);
    kv_segment_stats st;
    kv_segment_stats_read(seg, &st);
    ck_assert_uint_eq(st.bloom_skips, 0);
    ck_assert_uint_eq(st.blocks_searched, 0);
    char key[16];
    kv_entry e;
    for (unsigned i = 0; i < N; i++)
        ck_assert_int_eq(kv_segment_get(seg, key_name(2 * i, key), 9, &e), KV_OK);
    kv_segment_stats_read(seg, &st);
    ck_assert_uint_eq(st.bloom_skips, 0);
    ck_assert_uint_eq(st.blocks_searched, N);
    for (unsigned i = 0; i < N; i++)
        ck_assert_int_eq(kv_segment_get(seg, key_name(2 * i + 1, key), 9, &e), KV_NOT_FOUND);
    kv_segment_stats_read(seg, &st);
    ck_assert_msg(st.bloom_skips >= 940, "the bloom filter skipped only %ju of 999 absent keys", (uintmax_t)st.bloom_skips);
    ck_assert_uint_eq(st.bloom_skips + st.blocks_searched, 2 * N);
    /* FNV-1a over every byte: the published test vectors, and a NUL inside a key counts. */
    ck_assert_uint_eq(kv_segment_key_hash("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(kv_segment_key_hash("a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(kv_segment_key_hash("foobar", 6), 0x85944171f73967e8ull);
    ck_assert_uint_ne(kv_segment_key_hash("a\0b", 3), kv_segment_key_hash("a\0c", 3));
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}

static uint32_t le32(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

FT_TEST(2, segment_file_has_the_documented_layout, 2,
        "The format is the contract between writer and every future reader: little-endian fields, a crc32c after "
        "each block, and a 48-byte footer ending in the magic number and holding the version and its own checksum "
        "(segment.h draws it).")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = memtable_new();
    mt_put(mt, "b", "two");
    mt_del(mt, "a");
    kv_segment_close(segment_from(dir, "000001.seg", mt, 0));
    char path[512];
    size_t len;
    uint8_t *f = file_read(dir_path(dir, "000001.seg", path), &len);
    ck_assert_uint_ge(len, KV_SEGMENT_FOOTER_BYTES);
    const uint8_t *foot = f + len - KV_SEGMENT_FOOTER_BYTES;
    ck_assert_uint_eq(le64(foot + 40), KV_SEGMENT_MAGIC);
    ck_assert_uint_eq(le32(foot + 32), KV_SEGMENT_VERSION);
    ck_assert_uint_eq(le32(foot + 36), kv_crc32c(foot, 36));
    ck_assert_uint_eq(le64(foot + 24), 2); /* entry count */
    /* One data block: "a" as a tombstone, then "b" = "two", then its crc; the index starts right after. */
    static const uint8_t block[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'a', 1, 0, 0, 0, 3, 0, 0, 0, 'b', 't', 'w', 'o'};
    ck_assert(memcmp(f, block, sizeof block) == 0);
    ck_assert_uint_eq(le32(f + sizeof block), kv_crc32c(block, sizeof block));
    ck_assert_uint_eq(le64(foot), sizeof block + 4);
    ck_assert_uint_eq(le32(f + sizeof block + 4), 1); /* one block in the index */
    free(f);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_open_refuses_every_flipped_byte, 3,
        "Every byte of a segment is under a checksum (crc32c of each block, of the index, of the bloom filter, of "
        "the footer) or is the magic number: flip any one and kv_segment_open must answer KV_CORRUPT, never open "
        "the file and never read past it. Check the footer checksum too: it guards the offsets and the count.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(40);
    kv_segment_close(segment_from(dir, "good.seg", mt, 100));
    char path[512];
    size_t len;
    uint8_t *good = file_read(dir_path(dir, "good.seg", path), &len);
    kv_segment *seg = NULL;
    ck_assert_int_eq(open_bytes(good, len, &seg), KV_OK); /* the unchanged bytes open */
    kv_segment_close(seg);
    for (size_t at = 0; at < len; at++) {
        good[at] ^= 0x10;
        kv_status st = open_bytes(good, len, &seg);
        good[at] ^= 0x10;
        kv_segment_close(seg);
        ck_assert_msg(st == KV_CORRUPT, "byte %zu of %zu flipped: open answered %d, not KV_CORRUPT (%d)", at, len, (int)st,
                      (int)KV_CORRUPT);
        ck_assert_ptr_eq(seg, NULL);
    }
    free(good);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_open_refuses_a_truncated_file, 2,
        "A segment cut short (a crash mid-copy, a disk that lied) is corrupt at every length: the footer is read "
        "from the end, so its magic number and checksum are the first line of defence, and a file shorter than the "
        "footer is KV_CORRUPT, not a read before the start of the buffer.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(30);
    kv_segment_close(segment_from(dir, "good.seg", mt, 100));
    char path[512];
    size_t len;
    uint8_t *good = file_read(dir_path(dir, "good.seg", path), &len);
    kv_segment *seg = NULL;
    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly `cut` bytes, so that ASan sees any read past the end of what the file holds. */
        uint8_t *part = malloc(cut ? cut : 1);
        ck_assert_ptr_ne(part, NULL);
        memcpy(part, good, cut);
        kv_status st = open_bytes(part, cut, &seg);
        kv_segment_close(seg);
        free(part);
        ck_assert_msg(st == KV_CORRUPT, "cut to %zu of %zu bytes: open answered %d", cut, len, (int)st);
    }
    ck_assert_int_eq(kv_segment_open(kv_io_posix(), dir_path(dir, "missing.seg", path), &seg), KV_NOT_FOUND);
    free(good);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_open_refuses_an_unknown_version_with_valid_checksums, 1,
        "A reader must refuse a format version it does not know even when every checksum holds (the checksums "
        "prove the bytes are as written, not that this code understands them): KV_CORRUPT.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(10);
    kv_segment_close(segment_from(dir, "good.seg", mt, 0));
    char path[512];
    size_t len;
    uint8_t *f = file_read(dir_path(dir, "good.seg", path), &len);
    uint8_t *foot = f + len - KV_SEGMENT_FOOTER_BYTES;
    foot[32] = KV_SEGMENT_VERSION + 1;
    uint32_t crc = kv_crc32c(foot, 36);
    for (int i = 0; i < 4; i++)
        foot[36 + i] = (uint8_t)(crc >> (8 * i));
    file_write(path, f, len);
    kv_segment *seg = NULL;
    ck_assert_int_eq(kv_segment_open(kv_io_posix(), path, &seg), KV_CORRUPT);
    free(f);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_of_an_empty_memtable_opens_and_finds_nothing, 1,
        "An empty memtable still makes a valid segment (no blocks, an empty index, a bloom filter of 64 bits): "
        "open succeeds, the count is 0, lookups and iterators find nothing.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = memtable_new();
    kv_segment *seg = segment_from(dir, "empty.seg", mt, 0);
    ck_assert_uint_eq(kv_segment_count(seg), 0);
    kv_entry e;
    ck_assert_int_eq(kv_segment_get(seg, "a", 1, &e), KV_NOT_FOUND);
    kv_segment_iter it;
    kv_segment_seek(seg, NULL, 0, &it);
    ck_assert(!kv_segment_iter_entry(&it, &e));
    kv_segment_seek(seg, "a", 1, &it);
    ck_assert(!kv_segment_iter_entry(&it, &e));
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}
