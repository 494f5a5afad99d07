/*
 * Part 2: segments written durably (segment.h, kv_segment_write) — through a temporary file, synced, renamed, and
 * the directory synced, or not published at all. A recording io sits between the segment code and the real file
 * system: it logs each call, so a test can check the order of the durable steps, and it can fail a chosen call the
 * way a full disk does. Then the fault layer (faultio.h) cuts the power and keeps only what was synced.
 */
#include "ordered_support.h"

#include "faultio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the recording io: kv_io_posix() underneath, a log of calls on top ---- */

typedef struct rec_io {
    kv_io io; /* first: a kv_io * is a rec_io * */
    kv_io *inner;
    char log[64][96];
    size_t n;
    const char *fail_op; /* a call of this name ("append", "sync", ...) fails with KV_NO_SPACE */
} rec_io;

typedef struct rec_file {
    kv_file base; /* first: a kv_file * is a rec_file * */
    kv_file *inner;
    char name[64];
} rec_file;

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static kv_status record(rec_io *r, const char *op, const char *a, const char *b)
{
    if (r->n < 64)
        snprintf(r->log[r->n++], sizeof r->log[0], "%s %s%s%s", op, a, b ? " " : "", b ? b : "");
    return r->fail_op != NULL && strcmp(r->fail_op, op) == 0 ? KV_NO_SPACE : KV_OK;
}

static kv_status rec_open(kv_io *io, const char *path, unsigned flags, kv_file **out)
{
    rec_io *r = (rec_io *)io;
    *out = NULL;
    rec_file *f = calloc(1, sizeof *f);
    ck_assert_ptr_ne(f, NULL);
    kv_status s = r->inner->open(r->inner, path, flags, &f->inner);
    if (s != KV_OK) {
        free(f);
        return s;
    }
    f->base.io = io;
    snprintf(f->name, sizeof f->name, "%s", base_name(path));
    record(r, "open", f->name, NULL);
    *out = &f->base;
    return KV_OK;
}

static kv_status rec_read_at(kv_file *file, uint64_t offset, void *buf, size_t len, size_t *got)
{
    rec_file *f = (rec_file *)file;
    record((rec_io *)file->io, "read", f->name, NULL);
    return f->inner->io->read_at(f->inner, offset, buf, len, got);
}

static kv_status rec_append(kv_file *file, const void *buf, size_t len)
{
    rec_file *f = (rec_file *)file;
    kv_status s = record((rec_io *)file->io, "append", f->name, NULL);
    return s != KV_OK ? s : f->inner->io->append(f->inner, buf, len);
}

static kv_status rec_size(kv_file *file, uint64_t *out)
{
    rec_file *f = (rec_file *)file;
    return f->inner->io->size(f->inner, out);
}

static kv_status rec_sync(kv_file *file)
{
    rec_file *f = (rec_file *)file;
    kv_status s = record((rec_io *)file->io, "sync", f->name, NULL);
    return s != KV_OK ? s : f->inner->io->sync(f->inner);
}

static kv_status rec_truncate(kv_file *file, uint64_t size)
{
    rec_file *f = (rec_file *)file;
    record((rec_io *)file->io, "truncate", f->name, NULL);
    return f->inner->io->truncate(f->inner, size);
}

static kv_status rec_close(kv_file *file)
{
    rec_file *f = (rec_file *)file;
    record((rec_io *)file->io, "close", f->name, NULL);
    kv_status s = f->inner->io->close(f->inner);
    free(f);
    return s;
}

static kv_status rec_rename(kv_io *io, const char *from, const char *to)
{
    rec_io *r = (rec_io *)io;
    char a[64];
    snprintf(a, sizeof a, "%s", base_name(from));
    kv_status s = record(r, "rename", a, base_name(to));
    return s != KV_OK ? s : r->inner->rename(r->inner, from, to);
}

static kv_status rec_remove(kv_io *io, const char *path)
{
    rec_io *r = (rec_io *)io;
    record(r, "remove", base_name(path), NULL);
    return r->inner->remove(r->inner, path);
}

static kv_status rec_sync_dir(kv_io *io, const char *dir)
{
    rec_io *r = (rec_io *)io;
    kv_status s = record(r, "sync_dir", "dir", NULL);
    return s != KV_OK ? s : r->inner->sync_dir(r->inner, dir);
}

static kv_status rec_list_dir(kv_io *io, const char *dir, kv_list_fn *fn, void *ctx)
{
    rec_io *r = (rec_io *)io;
    return r->inner->list_dir(r->inner, dir, fn, ctx);
}

static kv_status rec_make_dir(kv_io *io, const char *dir)
{
    rec_io *r = (rec_io *)io;
    return r->inner->make_dir(r->inner, dir);
}

static void rec_init(rec_io *r)
{
    memset(r, 0, sizeof *r);
    r->io = (kv_io){rec_open,  rec_read_at, rec_append, rec_size,     rec_sync,     rec_truncate,
                    rec_close, rec_rename,  rec_remove, rec_sync_dir, rec_list_dir, rec_make_dir};
    r->inner = kv_io_posix();
}

/* The position of the first log line equal to @p line at or after @p from, or -1. */
static int rec_find(const rec_io *r, const char *line, int from)
{
    for (size_t i = from < 0 ? 0 : (size_t)from; i < r->n; i++)
        if (strcmp(r->log[i], line) == 0)
            return (int)i;
    return -1;
}

static void rec_dump(const rec_io *r, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? "; " : "", r->log[i]);
}

FT_TEST(2, segment_write_syncs_the_file_before_rename_and_the_directory_after, 3,
        "Write-to-temp then rename is atomic only with two syncs: fsync before rename (else the new name can point "
        "at data that never reached the disk) and a directory fsync after it (else the rename itself can be lost at "
        "a power cut). Every byte goes through io.h.")
{
    const char *dir = scratch_dir();
    rec_io r;
    rec_init(&r);
    kv_memtable *mt = even_keys(50);
    ck_assert_int_eq(kv_segment_write(&r.io, dir, "000007.seg", mt, 0), KV_OK);
    char log[2048];
    rec_dump(&r, log, sizeof log);
    int opened = rec_find(&r, "open 000007.seg.tmp", 0);
    int appended = rec_find(&r, "append 000007.seg.tmp", opened);
    int synced = rec_find(&r, "sync 000007.seg.tmp", appended);
    int renamed = rec_find(&r, "rename 000007.seg.tmp 000007.seg", synced);
    int dir_synced = rec_find(&r, "sync_dir dir", renamed);
    ck_assert_msg(opened >= 0 && appended > opened, "no write to 000007.seg.tmp through the io: %s", log);
    ck_assert_msg(synced > appended && rec_find(&r, "append 000007.seg.tmp", synced) < 0,
                  "the temporary file must be synced after its last append: %s", log);
    ck_assert_msg(renamed > synced, "the rename must come after the sync of the temporary file: %s", log);
    ck_assert_msg(dir_synced > renamed, "the directory must be synced after the rename: %s", log);
    ck_assert_msg(rec_find(&r, "close 000007.seg.tmp", opened) > 0, "the temporary file was never closed: %s", log);
    ck_assert(dir_has(dir, "000007.seg") && !dir_has(dir, "000007.seg.tmp"));
    /* Reading goes through the io as well. */
    r.n = 0;
    char path[512];
    kv_segment *seg = NULL;
    ck_assert_int_eq(kv_segment_open(&r.io, dir_path(dir, "000007.seg", path), &seg), KV_OK);
    ck_assert_int_ge(rec_find(&r, "read 000007.seg", 0), 0);
    ck_assert_int_ge(rec_find(&r, "close 000007.seg", 0), 0);
    expect_even_keys(seg, 50);
    kv_segment_close(seg);
    kv_memtable_destroy(mt);
}

FT_TEST(2, segment_write_that_fails_publishes_nothing, 2,
        "When the disk is full (an append or the sync fails), kv_segment_write returns the error, renames nothing, "
        "and removes its temporary file: a segment name exists only for a file that is whole and durable.")
{
    static const char *const ops[] = {"append", "sync", "rename"};
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(50);
    for (size_t i = 0; i < 3; i++) {
        rec_io r;
        rec_init(&r);
        r.fail_op = ops[i];
        ck_assert_msg(kv_segment_write(&r.io, dir, "000009.seg", mt, 0) == KV_NO_SPACE,
                      "a failed %s must be returned as it is (KV_NO_SPACE)", ops[i]);
        ck_assert_msg(!dir_has(dir, "000009.seg"), "after a failed %s the segment exists anyway", ops[i]);
        ck_assert_msg(!dir_has(dir, "000009.seg.tmp"), "after a failed %s the temporary file is left", ops[i]);
    }
    kv_memtable_destroy(mt);
}

/* Opens @p dir/@p name through the real file system (the reboot after a power cut). */
static kv_status reopen(const char *dir, const char *name, kv_segment **seg)
{
    char path[512];
    return kv_segment_open(kv_io_posix(), dir_path(dir, name, path), seg);
}

FT_TEST(2, segment_survives_a_power_cut_right_after_write, 3,
        "kv_segment_write returns KV_OK only once the segment is durable: fsync before rename (else the name "
        "survives the power cut on an empty file: KV_CORRUPT) and a directory fsync after it (else the name is "
        "gone: KV_NOT_FOUND). The fault layer keeps exactly what was synced.")
{
    const char *dir = scratch_dir();
    kv_memtable *first = even_keys(200), *second = memtable_new();
    mt_put(second, "only", "this");
    faultio *f = faultio_new();
    ck_assert_int_eq(kv_segment_write(faultio_io(f), dir, "000001.seg", first, 256), KV_OK);
    ck_assert_int_eq(kv_segment_write(faultio_io(f), dir, "000002.seg", first, 256), KV_OK);
    ck_assert_int_eq(kv_segment_write(faultio_io(f), dir, "000002.seg", second, 256), KV_OK); /* replaces it */
    faultio_power_cut(f);
    faultio_free(f);
    kv_segment *seg = NULL;
    kv_status st = reopen(dir, "000001.seg", &seg);
    ck_assert_msg(st == KV_OK,
                  "after the power cut, 000001.seg opens with %d (KV_CORRUPT: data not synced before "
                  "the rename; KV_NOT_FOUND: directory not synced after it)",
                  (int)st);
    expect_even_keys(seg, 200);
    kv_segment_close(seg);
    ck_assert_int_eq(reopen(dir, "000002.seg", &seg), KV_OK);
    ck_assert_uint_eq(kv_segment_count(seg), 1);
    kv_entry e;
    ck_assert(kv_segment_get(seg, "only", 4, &e) == KV_OK && entry_is(&e, "only", "this"));
    kv_segment_close(seg);
    ck_assert(!dir_has(dir, "000001.seg.tmp") && !dir_has(dir, "000002.seg.tmp"));
    kv_memtable_destroy(first);
    kv_memtable_destroy(second);
}

FT_TEST(2, segment_write_out_of_space_leaves_no_segment_after_a_power_cut, 2,
        "A disk that fills up mid-write (or a sync that fails) makes kv_segment_write fail with the io's status, "
        "and no segment of that name exists, before or after a power cut: the rename is the commit point and it "
        "never happened.")
{
    const char *dir = scratch_dir();
    kv_memtable *mt = even_keys(200);
    faultio *f = faultio_new();
    faultio_set_space(f, 1000);
    ck_assert_int_eq(kv_segment_write(faultio_io(f), dir, "000003.seg", mt, 256), KV_NO_SPACE);
    ck_assert(!dir_has(dir, "000003.seg"));
    faultio_set_space(f, -1);
    faultio_fail_syncs(f, 1);
    ck_assert_int_eq(kv_segment_write(faultio_io(f), dir, "000004.seg", mt, 256), KV_IO_ERROR);
    ck_assert(!dir_has(dir, "000004.seg"));
    faultio_power_cut(f);
    faultio_free(f);
    kv_segment *seg = NULL;
    ck_assert_int_eq(reopen(dir, "000003.seg", &seg), KV_NOT_FOUND);
    ck_assert_int_eq(reopen(dir, "000004.seg", &seg), KV_NOT_FOUND);
    kv_memtable_destroy(mt);
}
