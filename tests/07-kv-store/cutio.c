/*
 * cutio.c — a power cut after the n-th durable step: faultio underneath, a counter of steps on top (every append,
 * sync, truncate, close, rename, remove, directory sync and make_dir counts one). See cutio.h.
 */
#include "cutio.h"

#include "ferrite_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cut_file {
    kv_file base; /* first: a kv_file * is a cut_file * */
    kv_file *inner;
} cut_file;

/* Counts one durable step; cuts the power after the cut_at-th. */
static kv_status step(cut_io *c, kv_status s, const char *op, const char *what)
{
    if (++c->steps == c->cut_at) {
        const char *slash = what ? strrchr(what, '/') : NULL;
        snprintf(c->last, sizeof c->last, "%s %s", op, slash ? slash + 1 : what ? what : "");
        faultio_power_cut(c->f);
    }
    return s;
}

static kv_status cut_open(kv_io *io, const char *path, unsigned flags, kv_file **out)
{
    cut_io *c = (cut_io *)io;
    *out = NULL;
    cut_file *f = calloc(1, sizeof *f);
    ck_assert_ptr_ne(f, NULL);
    kv_status s = c->inner->open(c->inner, path, flags, &f->inner);
    if (s != KV_OK) {
        free(f);
        return s;
    }
    f->base.io = io;
    *out = &f->base;
    return KV_OK;
}

static kv_status cut_read_at(kv_file *file, uint64_t offset, void *buf, size_t len, size_t *got)
{
    kv_file *in = ((cut_file *)file)->inner;
    return in->io->read_at(in, offset, buf, len, got);
}

static kv_status cut_append(kv_file *file, const void *buf, size_t len)
{
    kv_file *in = ((cut_file *)file)->inner;
    return step((cut_io *)file->io, in->io->append(in, buf, len), "append", NULL);
}

static kv_status cut_size(kv_file *file, uint64_t *out)
{
    kv_file *in = ((cut_file *)file)->inner;
    return in->io->size(in, out);
}

static kv_status cut_sync(kv_file *file)
{
    kv_file *in = ((cut_file *)file)->inner;
    return step((cut_io *)file->io, in->io->sync(in), "sync", NULL);
}

static kv_status cut_truncate(kv_file *file, uint64_t size)
{
    kv_file *in = ((cut_file *)file)->inner;
    return step((cut_io *)file->io, in->io->truncate(in, size), "truncate", NULL);
}

static kv_status cut_close(kv_file *file)
{
    kv_file *in = ((cut_file *)file)->inner;
    free(file);
    return in->io->close(in);
}

static kv_status cut_rename(kv_io *io, const char *from, const char *to)
{
    cut_io *c = (cut_io *)io;
    return step(c, c->inner->rename(c->inner, from, to), "rename to", to);
}

static kv_status cut_remove(kv_io *io, const char *path)
{
    cut_io *c = (cut_io *)io;
    return step(c, c->inner->remove(c->inner, path), "remove", path);
}

static kv_status cut_sync_dir(kv_io *io, const char *dir)
{
    cut_io *c = (cut_io *)io;
    return step(c, c->inner->sync_dir(c->inner, dir), "sync_dir", NULL);
}

static kv_status cut_list_dir(kv_io *io, const char *dir, kv_list_fn *fn, void *ctx)
{
    cut_io *c = (cut_io *)io;
    return c->inner->list_dir(c->inner, dir, fn, ctx);
}

static kv_status cut_make_dir(kv_io *io, const char *dir)
{
    cut_io *c = (cut_io *)io;
    return step(c, c->inner->make_dir(c->inner, dir), "make_dir", dir);
}

void cut_init(cut_io *c, int cut_at)
{
    *c = (cut_io){.io = {cut_open, cut_read_at, cut_append, cut_size, cut_sync, cut_truncate, cut_close, cut_rename,
                         cut_remove, cut_sync_dir, cut_list_dir, cut_make_dir},
                  .f = faultio_new(),
                  .cut_at = cut_at};
    c->inner = faultio_io(c->f);
}
