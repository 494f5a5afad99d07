/*
 * The tests' fault-injecting file system (faultio.h has the model). Two tables map paths to nodes (one node per
 * file or directory, like an inode): `cur`, the names as they are now, and `dur`, the names as a power cut would
 * leave them. Each node keeps the bytes that are durable; `low` marks how much of the file is known unchanged
 * since its last sync (appends only add past it, a truncate lowers it), so a sync copies only what is new.
 */
#define _GNU_SOURCE
#include "faultio.h"

#include "ferrite_test.h"

#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct node {
    unsigned char *durable; /* the contents as of the last sync */
    size_t durable_len;
    uint64_t low; /* bytes [0, low) are the same on disk as in durable */
    bool is_dir;
    struct node *next_all; /* every node, for faultio_free */
} node;

typedef struct entry {
    char *path;
    node *n;
} entry;

typedef struct table {
    entry *v;
    size_t n, cap;
} table;

struct faultio {
    kv_io io; /* first: a kv_io pointer is a faultio pointer */
    kv_io *inner;
    pthread_mutex_t mu; /* guards everything below, held across the inner call */
    pthread_cond_t cv;  /* held syncs wait here */
    table cur, dur;
    node *nodes;
    bool dead, hold;
    int held, fail_syncs;
    int64_t space;
    unsigned delay_us;
    uint64_t syncs, dir_syncs, appends;
};

typedef struct fault_file {
    kv_file base;
    kv_file *inner;
    node *n;
} fault_file;

/* SAFETY: every kv_io and kv_file this layer hands out is the first member of these structs. */
static faultio *of_io(kv_io *io) { return (faultio *)io; }
static fault_file *of_file(kv_file *f) { return (fault_file *)f; }

static void *must(void *p)
{
    ck_assert_msg(p != NULL, "faultio: out of memory");
    return p;
}

static ssize_t table_find(const table *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].path, path) == 0)
            return (ssize_t)i;
    return -1;
}

static void table_del(table *t, const char *path)
{
    ssize_t i = table_find(t, path);
    if (i < 0)
        return;
    free(t->v[i].path);
    t->v[i] = t->v[--t->n];
}

static void table_put(table *t, const char *path, node *n)
{
    table_del(t, path);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = must(realloc(t->v, t->cap * sizeof *t->v));
    }
    t->v[t->n++] = (entry){must(strdup(path)), n};
}

/* True when path's directory part is exactly dir. */
static bool in_dir(const char *path, const char *dir)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    return slash ? strlen(dir) == n && strncmp(path, dir, n) == 0 : strcmp(dir, ".") == 0;
}

static node *node_new(faultio *f, bool is_dir)
{
    node *n = must(calloc(1, sizeof *n));
    n->is_dir = is_dir;
    n->next_all = f->nodes;
    f->nodes = n;
    return n;
}

/* The node of path, made durable as it is now if the layer has not seen it yet; NULL when it does not exist. */
static node *track(faultio *f, const char *path)
{
    ssize_t i = table_find(&f->cur, path);
    if (i >= 0)
        return f->cur.v[i].n;
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    node *n = node_new(f, S_ISDIR(st.st_mode));
    if (!n->is_dir) {
        n->durable_len = n->low = (size_t)st.st_size;
        n->durable = must(malloc(n->durable_len + 1));
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ck_assert_msg(fd >= 0 && pread(fd, n->durable, n->durable_len, 0) == (ssize_t)n->durable_len,
                      "faultio: cannot read %s", path);
        close(fd);
    }
    table_put(&f->cur, path, n);
    table_put(&f->dur, path, n);
    return n;
}

static kv_status f_open(kv_io *io, const char *path, unsigned flags, kv_file **out)
{
    faultio *f = of_io(io);
    *out = NULL;
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    kv_file *inner = NULL;
    if (!f->dead) {
        node *n = track(f, path);
        st = f->inner->open(f->inner, path, flags, &inner);
        if (st == KV_OK) {
            if (n == NULL) {
                n = node_new(f, false); /* created now: nothing of it is durable, not even its name */
                table_put(&f->cur, path, n);
            }
            if (flags & KV_OPEN_TRUNC)
                n->low = 0;
            fault_file *ff = must(malloc(sizeof *ff));
            *ff = (fault_file){{io}, inner, n};
            *out = &ff->base;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_read_at(kv_file *file, uint64_t offset, void *buf, size_t len, size_t *got)
{
    faultio *f = of_io(file->io);
    pthread_mutex_lock(&f->mu);
    *got = 0;
    kv_status st = f->dead ? KV_IO_ERROR : f->inner->read_at(of_file(file)->inner, offset, buf, len, got);
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_append(kv_file *file, const void *buf, size_t len)
{
    faultio *f = of_io(file->io);
    kv_file *inner = of_file(file)->inner;
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    if (!f->dead) {
        size_t fits = f->space < 0 || (uint64_t)f->space >= len ? len : (size_t)f->space;
        st = f->inner->append(inner, buf, fits);
        if (st == KV_OK && f->space >= 0)
            f->space -= (int64_t)fits;
        if (st == KV_OK && fits < len)
            st = KV_NO_SPACE; /* a full disk: the part that fitted is written, the rest is not */
        f->appends += st == KV_OK;
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_size(kv_file *file, uint64_t *out)
{
    faultio *f = of_io(file->io);
    pthread_mutex_lock(&f->mu);
    kv_status st = f->dead ? KV_IO_ERROR : f->inner->size(of_file(file)->inner, out);
    pthread_mutex_unlock(&f->mu);
    return st;
}

/* Copies what changed since the last sync into the node's durable bytes. Called with mu held. */
static kv_status capture(faultio *f, fault_file *ff)
{
    node *n = ff->n;
    uint64_t size;
    kv_status st = f->inner->size(ff->inner, &size);
    if (st != KV_OK)
        return st;
    size_t keep = n->low < n->durable_len ? (size_t)n->low : n->durable_len;
    if (keep > size)
        keep = (size_t)size; /* cut behind the layer's back (a test tearing the file): keep what is left */
    n->durable = must(realloc(n->durable, (size_t)size + 1));
    size_t got = 0;
    if (size > keep)
        st = f->inner->read_at(ff->inner, keep, n->durable + keep, (size_t)size - keep, &got);
    if (st != KV_OK || keep + got != size)
        return KV_IO_ERROR;
    n->durable_len = n->low = (size_t)size;
    return KV_OK;
}

static kv_status f_sync(kv_file *file)
{
    faultio *f = of_io(file->io);
    pthread_mutex_lock(&f->mu);
    if (f->hold) {
        f->held++;
        while (f->hold && !f->dead)
            pthread_cond_wait(&f->cv, &f->mu);
        f->held--;
    }
    if (f->delay_us > 0 && !f->dead) {
        /* The disk's flush latency, with the lock released so that other files' calls go on meanwhile. */
        pthread_mutex_unlock(&f->mu);
        usleep(f->delay_us);
        pthread_mutex_lock(&f->mu);
    }
    kv_status st = KV_IO_ERROR;
    if (f->dead)
        st = KV_IO_ERROR;
    else if (f->fail_syncs > 0)
        f->fail_syncs--;
    else if ((st = capture(f, of_file(file))) == KV_OK)
        f->syncs++;
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_truncate(kv_file *file, uint64_t size)
{
    faultio *f = of_io(file->io);
    fault_file *ff = of_file(file);
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    uint64_t old;
    if (!f->dead && (st = f->inner->size(ff->inner, &old)) == KV_OK) {
        if (size > old && f->space >= 0 && (uint64_t)f->space < size - old)
            st = KV_NO_SPACE;
        else if ((st = f->inner->truncate(ff->inner, size)) == KV_OK) {
            if (f->space >= 0)
                f->space += (int64_t)old - (int64_t)size;
            if (size < ff->n->low)
                ff->n->low = size;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_close(kv_file *file)
{
    faultio *f = of_io(file->io);
    fault_file *ff = of_file(file);
    pthread_mutex_lock(&f->mu);
    kv_status st = f->inner->close(ff->inner);
    if (f->dead)
        st = KV_IO_ERROR;
    pthread_mutex_unlock(&f->mu);
    free(ff);
    return st;
}

static kv_status f_rename(kv_io *io, const char *from, const char *to)
{
    faultio *f = of_io(io);
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    if (!f->dead) {
        node *n = track(f, from);
        (void)track(f, to); /* what `to` held stays durable until the directory is synced */
        if ((st = f->inner->rename(f->inner, from, to)) == KV_OK && n != NULL) {
            table_del(&f->cur, from);
            table_put(&f->cur, to, n);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_remove(kv_io *io, const char *path)
{
    faultio *f = of_io(io);
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    if (!f->dead) {
        (void)track(f, path);
        if ((st = f->inner->remove(f->inner, path)) == KV_OK)
            table_del(&f->cur, path);
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_sync_dir(kv_io *io, const char *dir)
{
    faultio *f = of_io(io);
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    if (!f->dead) {
        /* The directory's durable entries become its current ones. */
        for (size_t i = f->dur.n; i-- > 0;)
            if (in_dir(f->dur.v[i].path, dir))
                table_del(&f->dur, f->dur.v[i].path);
        for (size_t i = 0; i < f->cur.n; i++)
            if (in_dir(f->cur.v[i].path, dir))
                table_put(&f->dur, f->cur.v[i].path, f->cur.v[i].n);
        f->dir_syncs++;
        st = KV_OK;
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

static kv_status f_list_dir(kv_io *io, const char *dir, kv_list_fn *fn, void *ctx)
{
    faultio *f = of_io(io);
    pthread_mutex_lock(&f->mu);
    bool dead = f->dead;
    pthread_mutex_unlock(&f->mu);
    /* Not under the lock: fn may call back into the layer. */
    return dead ? KV_IO_ERROR : f->inner->list_dir(f->inner, dir, fn, ctx);
}

static kv_status f_make_dir(kv_io *io, const char *dir)
{
    faultio *f = of_io(io);
    pthread_mutex_lock(&f->mu);
    kv_status st = KV_IO_ERROR;
    if (!f->dead && (st = f->inner->make_dir(f->inner, dir)) == KV_OK)
        table_put(&f->cur, dir, node_new(f, true));
    pthread_mutex_unlock(&f->mu);
    return st;
}

faultio *faultio_new(void)
{
    faultio *f = must(calloc(1, sizeof *f));
    f->io = (kv_io){f_open,  f_read_at, f_append, f_size,     f_sync,     f_truncate,
                    f_close, f_rename,  f_remove, f_sync_dir, f_list_dir, f_make_dir};
    f->inner = kv_io_posix();
    f->space = -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    return f;
}

kv_io *faultio_io(faultio *f) { return &f->io; }

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].path);
    free(t->v);
}

void faultio_free(faultio *f)
{
    table_free(&f->cur);
    table_free(&f->dur);
    for (node *n = f->nodes, *next; n != NULL; n = next) {
        next = n->next_all;
        free(n->durable);
        free(n);
    }
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

#define SETTER(name_, type_, field_)    \
    void name_(faultio *f, type_ v)     \
    {                                   \
        pthread_mutex_lock(&f->mu);     \
        f->field_ = v;                  \
        pthread_cond_broadcast(&f->cv); \
        pthread_mutex_unlock(&f->mu);   \
    }
SETTER(faultio_set_space, int64_t, space)
SETTER(faultio_fail_syncs, int, fail_syncs)
SETTER(faultio_set_sync_delay_us, unsigned, delay_us)
SETTER(faultio_hold_syncs, bool, hold)

#define GETTER(name_, type_, field_)  \
    type_ name_(faultio *f)           \
    {                                 \
        pthread_mutex_lock(&f->mu);   \
        type_ v = f->field_;          \
        pthread_mutex_unlock(&f->mu); \
        return v;                     \
    }
GETTER(faultio_syncs_held, int, held)
GETTER(faultio_syncs, uint64_t, syncs)
GETTER(faultio_dir_syncs, uint64_t, dir_syncs)
GETTER(faultio_appends, uint64_t, appends)

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void faultio_power_cut(faultio *f)
{
    pthread_mutex_lock(&f->mu);
    f->dead = true;
    pthread_cond_broadcast(&f->cv);
    /* 1. Every file as it is now goes; 2. directories made but never made durable go, with what is in them. */
    for (size_t i = 0; i < f->cur.n; i++)
        if (!f->cur.v[i].n->is_dir)
            unlink(f->cur.v[i].path);
    for (size_t i = 0; i < f->cur.n; i++) {
        ssize_t d = table_find(&f->dur, f->cur.v[i].path);
        if (f->cur.v[i].n->is_dir && (d < 0 || f->dur.v[d].n != f->cur.v[i].n))
            nftw(f->cur.v[i].path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    }
    /* 3. Every durable name comes back with its durable bytes, where its directory still exists. */
    for (size_t i = 0; i < f->dur.n; i++) {
        const entry *e = &f->dur.v[i];
        if (e->n->is_dir)
            continue;
        int fd = open(e->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            continue; /* its directory was never durable */
        ck_assert_msg(e->n->durable_len == 0 || write(fd, e->n->durable, e->n->durable_len) == (ssize_t)e->n->durable_len,
                      "faultio: cannot restore %s", e->path);
        close(fd);
    }
    pthread_mutex_unlock(&f->mu);
}
