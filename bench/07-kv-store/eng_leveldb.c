/*
 * Chapter 07 benchmark: LevelDB through its C API (<leveldb/c.h>) behind kvdrive.h. Its defaults (4 MiB write
 * buffer, 2 MiB tables, its own background compaction thread) but no compression, as for every engine here.
 * Durable: write option sync (an fdatasync of the log per write; concurrent writers are grouped by LevelDB's
 * writer queue, one log write and one sync per group). Not durable: sync off (the log is written, not synced).
 */
#define _POSIX_C_SOURCE 200809L
#include "kvdrive.h"

#include <leveldb/c.h>
#include <stdlib.h>

const char *const eng_name = "leveldb";

typedef struct ldb {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_writeoptions_t *write;
    leveldb_readoptions_t *read;
} ldb;

static int check(char *err, const char *what)
{
    if (err == NULL)
        return 0;
    fprintf(stderr, "leveldb: %s: %s\n", what, err);
    leveldb_free(err);
    return -1;
}

int eng_open(const char *dir, bool durable, void **out)
{
    ldb *d = calloc(1, sizeof *d);
    char *err = NULL;
    if (d == NULL)
        return -1;
    d->options = leveldb_options_create();
    leveldb_options_set_create_if_missing(d->options, 1);
    leveldb_options_set_compression(d->options, leveldb_no_compression);
    d->write = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(d->write, durable);
    d->read = leveldb_readoptions_create();
    d->db = leveldb_open(d->options, dir, &err);
    if (check(err, "leveldb_open") != 0)
        return -1;
    *out = d;
    return 0;
}

int eng_thread_begin(void *db, void **ctx)
{
    (void)db;
    *ctx = NULL;
    return 0;
}

int eng_put(void *db, void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    ldb *d = db;
    char *err = NULL;
    (void)ctx;
    leveldb_put(d->db, d->write, key, key_len, value, value_len, &err);
    return check(err, "leveldb_put");
}

int eng_get(void *db, void *ctx, const char *key, size_t key_len, bool *found)
{
    ldb *d = db;
    char *err = NULL;
    size_t len;
    (void)ctx;
    char *v = leveldb_get(d->db, d->read, key, key_len, &len, &err);
    if (check(err, "leveldb_get") != 0)
        return -1;
    *found = v != NULL;
    leveldb_free(v);
    return 0;
}

void eng_thread_end(void *db, void *ctx)
{
    (void)db;
    (void)ctx;
}

void eng_counters(void *db, FILE *out)
{
    (void)db;
    (void)out;
}

int eng_close(void *db)
{
    ldb *d = db;
    leveldb_close(d->db);
    leveldb_readoptions_destroy(d->read);
    leveldb_writeoptions_destroy(d->write);
    leveldb_options_destroy(d->options);
    free(d);
    return 0;
}
