/*
 * manifest.c — chapter 07, part 3: the durable list of live segments, replaced whole.      (reference solution)
 *
 * The manifest is small (a few hundred bytes), so it is built in one buffer and read back in one buffer: writing is
 * segment_write.c's dance (temporary file, sync, rename, directory sync), reading checks every length before the
 * crc and the crc before any field is trusted.
 */
#include "manifest.h"

#include "crc32c.h"
#include "segment_format.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_BYTES 4096
#define MANIFEST_MAX_BYTES (KV_MANIFEST_FIXED_BYTES + 8u * KV_MANIFEST_MAX_SEGMENTS)

void kv_segment_file_name(uint64_t number, char out[KV_SEGMENT_NAME_BYTES])
{
    snprintf(out, KV_SEGMENT_NAME_BYTES, "%06llu.seg", (unsigned long long)number);
}

/* "dir/name" into out; false when it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX_BYTES, "%s/%s", dir, name);
    return n > 0 && n < PATH_MAX_BYTES;
}

/* Whether the manifest's fields are consistent: few enough segments, every number below next_number. */
static bool manifest_valid(const kv_manifest *m)
{
    if (m->segment_count > KV_MANIFEST_MAX_SEGMENTS)
        return false;
    for (size_t i = 0; i < m->segment_count; i++)
        if (m->segments[i] >= m->next_number)
            return false;
    return true;
}

kv_status kv_manifest_write(kv_io *io, const char *dir, const kv_manifest *m)
{
    if (!manifest_valid(m))
        return KV_INVALID;
    char path[PATH_MAX_BYTES], tmp[PATH_MAX_BYTES];
    if (!join(path, dir, KV_MANIFEST_NAME) || !join(tmp, dir, KV_MANIFEST_NAME ".tmp"))
        return KV_INVALID;

    uint8_t bytes[MANIFEST_MAX_BYTES];
    size_t len = KV_MANIFEST_FIXED_BYTES + 8u * m->segment_count;
    kv_put_u64(bytes, KV_MANIFEST_MAGIC);
    kv_put_u32(bytes + 8, KV_MANIFEST_VERSION);
    kv_put_u32(bytes + 12, (uint32_t)m->segment_count);
    kv_put_u64(bytes + 16, m->log_number);
    kv_put_u64(bytes + 24, m->next_number);
    for (size_t i = 0; i < m->segment_count; i++)
        kv_put_u64(bytes + 32 + 8 * i, m->segments[i]);
    kv_put_u32(bytes + len - 4, kv_crc32c(bytes, len - 4));

    kv_file *f = NULL;
    kv_status s = io->open(io, tmp, KV_OPEN_APPEND | KV_OPEN_CREATE | KV_OPEN_TRUNC, &f);
    if (s != KV_OK)
        return s;
    s = io->append(f, bytes, len);
    if (s == KV_OK)
        s = io->sync(f); /* the bytes before the name: else the rename can publish an empty file */
    kv_status c = io->close(f);
    if (s == KV_OK)
        s = c;
    if (s == KV_OK)
        s = io->rename(io, tmp, path); /* the commit point */
    if (s != KV_OK) {
        (void)io->remove(io, tmp); /* best effort: a leftover .tmp is removed at recovery anyway */
        return s;
    }
    return io->sync_dir(io, dir); /* the rename is durable only once the directory is */
}

kv_status kv_manifest_read(kv_io *io, const char *dir, kv_manifest *out)
{
    char path[PATH_MAX_BYTES];
    if (!join(path, dir, KV_MANIFEST_NAME))
        return KV_INVALID;
    kv_file *f = NULL;
    kv_status s = io->open(io, path, KV_OPEN_READ, &f);
    if (s != KV_OK)
        return s;
    /* One byte more than the largest manifest: a longer file is as corrupt as a shorter one. */
    uint8_t bytes[MANIFEST_MAX_BYTES + 1];
    size_t len = 0;
    s = io->read_at(f, 0, bytes, sizeof bytes, &len);
    kv_status c = io->close(f);
    if (s == KV_OK)
        s = c;
    if (s != KV_OK)
        return s;

    if (len < KV_MANIFEST_FIXED_BYTES || kv_get_u64(bytes) != KV_MANIFEST_MAGIC ||
        kv_get_u32(bytes + 8) != KV_MANIFEST_VERSION)
        return KV_CORRUPT;
    uint32_t count = kv_get_u32(bytes + 12);
    if (count > KV_MANIFEST_MAX_SEGMENTS || len != KV_MANIFEST_FIXED_BYTES + 8u * count)
        return KV_CORRUPT;
    if (kv_get_u32(bytes + len - 4) != kv_crc32c(bytes, len - 4))
        return KV_CORRUPT;

    kv_manifest m = {.log_number = kv_get_u64(bytes + 16), .next_number = kv_get_u64(bytes + 24), .segment_count = count};
    for (size_t i = 0; i < count; i++)
        m.segments[i] = kv_get_u64(bytes + 32 + 8 * i);
    if (!manifest_valid(&m))
        return KV_CORRUPT;
    *out = m;
    return KV_OK;
}

/* The names a listing collected, to remove once the listing is over (never while it runs). */
typedef struct name_list {
    char **names;
    size_t n, cap;
    const kv_manifest *m;
    bool failed;
} name_list;

/* Whether @p name is a file a crash may leave behind: a .tmp file, or a segment the manifest does not name. */
static bool is_leftover(const char *name, const kv_manifest *m)
{
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".tmp") == 0)
        return true;
    if (len <= 4 || strcmp(name + len - 4, ".seg") != 0)
        return false; /* not ours: the log's files, anything else */
    uint64_t number = 0;
    for (size_t i = 0; i < len - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        number = number * 10 + (uint64_t)(name[i] - '0');
    }
    for (size_t i = 0; i < m->segment_count; i++) {
        char live[KV_SEGMENT_NAME_BYTES];
        kv_segment_file_name(m->segments[i], live);
        if (m->segments[i] == number && strcmp(live, name) == 0)
            return false;
    }
    return true;
}

static kv_status collect(const char *name, void *ctx)
{
    name_list *l = ctx;
    if (!is_leftover(name, l->m))
        return KV_OK;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **names = realloc(l->names, cap * sizeof *names);
        if (names == NULL)
            return KV_NO_MEMORY;
        l->names = names;
        l->cap = cap;
    }
    size_t len = strlen(name) + 1;
    char *copy = malloc(len);
    if (copy == NULL)
        return KV_NO_MEMORY;
    memcpy(copy, name, len);
    l->names[l->n++] = copy;
    return KV_OK;
}

kv_status kv_manifest_remove_leftovers(kv_io *io, const char *dir, const kv_manifest *m, size_t *removed)
{
    if (removed)
        *removed = 0;
    name_list l = {.m = m};
    kv_status s = io->list_dir(io, dir, collect, &l);
    size_t done = 0;
    for (size_t i = 0; i < l.n; i++) {
        char path[PATH_MAX_BYTES];
        if (s == KV_OK && !join(path, dir, l.names[i]))
            s = KV_INVALID;
        if (s == KV_OK) {
            kv_status r = io->remove(io, path);
            if (r == KV_OK)
                done++;
            else if (r != KV_NOT_FOUND)
                s = r;
        }
        free(l.names[i]);
    }
    free(l.names);
    if (done > 0) {
        kv_status d = io->sync_dir(io, dir); /* the removals are durable only once the directory is */
        if (s == KV_OK)
            s = d;
    }
    if (removed)
        *removed = done;
    return s;
}
