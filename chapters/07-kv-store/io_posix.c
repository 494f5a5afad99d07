/*
 * Chapter 07, given: the real file system behind io.h. Every errno of the chapter is read here and nowhere else
 * (kv_status_of_errno); the store and the tests see only kv_status values.
 *
 * Data is made durable with fdatasync (the file's size is metadata fdatasync does flush, its timestamps are not);
 * a directory's entries with fsync on the directory opened O_RDONLY, which is how Linux orders a create or a
 * rename before a power cut.
 */
#define _GNU_SOURCE
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The handle: io.h's kv_file first, so that a kv_file pointer and a posix_file pointer are the same address. */
typedef struct posix_file {
    kv_file base;
    int fd;
} posix_file;

static kv_status kv_status_of_errno(int err)
{
    switch (err) {
    case ENOSPC:
    case EDQUOT:
        return KV_NO_SPACE;
    case ENOENT:
        return KV_NOT_FOUND;
    case EEXIST:
        return KV_EXISTS;
    case ENOMEM:
        return KV_NO_MEMORY;
    case EINVAL:
    case ENAMETOOLONG:
        return KV_INVALID;
    default:
        return KV_IO_ERROR;
    }
}

static int fd_of(kv_file *f)
{
    /* SAFETY: every kv_file this interface hands out is the first member of a posix_file. */
    return ((posix_file *)f)->fd;
}

static kv_status posix_open(kv_io *io, const char *path, unsigned flags, kv_file **out)
{
    *out = NULL;
    if (path == NULL || (flags & ~31u) != 0 || ((flags & KV_OPEN_TRUNC) && !(flags & KV_OPEN_APPEND)))
        return KV_INVALID;
    int oflags = O_CLOEXEC | ((flags & KV_OPEN_APPEND) ? O_RDWR | O_APPEND : O_RDONLY);
    if (flags & KV_OPEN_CREATE)
        oflags |= O_CREAT | ((flags & KV_OPEN_EXCL) ? O_EXCL : 0);
    if (flags & KV_OPEN_TRUNC)
        oflags |= O_TRUNC;
    posix_file *pf = malloc(sizeof *pf);
    if (pf == NULL)
        return KV_NO_MEMORY;
    int fd;
    do
        fd = open(path, oflags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        kv_status st = kv_status_of_errno(errno);
        free(pf);
        return st;
    }
    pf->base.io = io;
    pf->fd = fd;
    *out = &pf->base;
    return KV_OK;
}

static kv_status posix_read_at(kv_file *f, uint64_t offset, void *buf, size_t len, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd_of(f), (char *)buf + done, len - done, (off_t)(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *got = done;
            return kv_status_of_errno(errno);
        }
        if (n == 0)
            break; /* end of file */
        done += (size_t)n;
    }
    *got = done;
    return KV_OK;
}

static kv_status posix_append(kv_file *f, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        /* O_APPEND: each write lands at the current end, even after a truncate. A short write is not an error:
         * write the rest; the error, if any, comes on the next call. */
        ssize_t n = write(fd_of(f), (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return kv_status_of_errno(errno);
        done += (size_t)n;
    }
    return KV_OK;
}

static kv_status posix_size(kv_file *f, uint64_t *out)
{
    struct stat st;
    if (fstat(fd_of(f), &st) != 0)
        return kv_status_of_errno(errno);
    *out = (uint64_t)st.st_size;
    return KV_OK;
}

static kv_status posix_sync(kv_file *f)
{
    /* No retry on EINTR-like failures of the data itself: after a failed fdatasync the kernel may have marked the
     * dirty pages clean (PostgreSQL's "fsyncgate", 2018), so a second call can succeed with the data lost. */
    if (fdatasync(fd_of(f)) != 0)
        return kv_status_of_errno(errno);
    return KV_OK;
}

static kv_status posix_truncate(kv_file *f, uint64_t size)
{
    int r;
    do
        r = ftruncate(fd_of(f), (off_t)size);
    while (r != 0 && errno == EINTR);
    return r == 0 ? KV_OK : kv_status_of_errno(errno);
}

static kv_status posix_close(kv_file *f)
{
    int fd = fd_of(f);
    free(f);
    /* Linux closes the descriptor even when close reports an error: never retry it. */
    return close(fd) == 0 || errno == EINTR ? KV_OK : kv_status_of_errno(errno);
}

static kv_status posix_rename(kv_io *io, const char *from, const char *to)
{
    (void)io;
    return rename(from, to) == 0 ? KV_OK : kv_status_of_errno(errno);
}

static kv_status posix_remove(kv_io *io, const char *path)
{
    (void)io;
    return unlink(path) == 0 ? KV_OK : kv_status_of_errno(errno);
}

static kv_status posix_sync_dir(kv_io *io, const char *dir)
{
    (void)io;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return kv_status_of_errno(errno);
    kv_status st = fsync(fd) == 0 ? KV_OK : kv_status_of_errno(errno);
    close(fd);
    return st;
}

static kv_status posix_list_dir(kv_io *io, const char *dir, kv_list_fn *fn, void *ctx)
{
    (void)io;
    DIR *d = opendir(dir);
    if (d == NULL)
        return kv_status_of_errno(errno);
    kv_status st = KV_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                st = kv_status_of_errno(errno);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        st = fn(e->d_name, ctx);
        if (st != KV_OK)
            break;
    }
    closedir(d);
    return st;
}

static kv_status posix_make_dir(kv_io *io, const char *dir)
{
    (void)io;
    return mkdir(dir, 0755) == 0 ? KV_OK : kv_status_of_errno(errno);
}

static kv_io posix_io = {
    .open = posix_open,
    .read_at = posix_read_at,
    .append = posix_append,
    .size = posix_size,
    .sync = posix_sync,
    .truncate = posix_truncate,
    .close = posix_close,
    .rename = posix_rename,
    .remove = posix_remove,
    .sync_dir = posix_sync_dir,
    .list_dir = posix_list_dir,
    .make_dir = posix_make_dir,
};

kv_io *kv_io_posix(void) { return &posix_io; }
