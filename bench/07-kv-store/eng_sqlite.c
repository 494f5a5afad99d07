/*
 * Chapter 07 benchmark: SQLite in WAL mode behind kvdrive.h. One table `kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT
 * ROWID`; a put is `INSERT OR REPLACE` in autocommit (one transaction each), a get a `SELECT`, both prepared once
 * per connection. Each thread has its own connection (SQLite's writers take turns on the WAL's lock; a writer that
 * finds it held waits up to 10 s). Durable: synchronous=FULL (the WAL is synced at every commit). Not durable:
 * synchronous=OFF (written, never synced). SQLite's other defaults: 4 KiB pages, a checkpoint every 1000 pages.
 */
#define _POSIX_C_SOURCE 200809L
#include "kvdrive.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

const char *const eng_name = "sqlite";

typedef struct sdb {
    char path[4096];
    bool durable;
    sqlite3 *schema; /* the first connection, kept open so the WAL's shared memory stays in place */
} sdb;

typedef struct sconn {
    sqlite3 *c;
    sqlite3_stmt *put, *get;
} sconn;

static int check(sqlite3 *c, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    fprintf(stderr, "sqlite: %s: %s\n", what, c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
    return -1;
}

static int connect(sdb *d, sqlite3 **out)
{
    sqlite3 *c = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (check(c, sqlite3_open_v2(d->path, &c, flags, NULL), "open") != 0)
        return -1;
    sqlite3_busy_timeout(c, 10000);
    const char *sync = d->durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF";
    if (check(c, sqlite3_exec(c, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), "journal_mode") != 0 ||
        check(c, sqlite3_exec(c, sync, NULL, NULL, NULL), "synchronous") != 0)
        return -1;
    *out = c;
    return 0;
}

int eng_open(const char *dir, bool durable, void **out)
{
    sdb *d = calloc(1, sizeof *d);
    if (d == NULL || strlen(dir) + sizeof "/kv.db" > sizeof d->path)
        return -1;
    strcpy(d->path, dir);
    strcat(d->path, "/kv.db");
    d->durable = durable;
    if (connect(d, &d->schema) != 0 ||
        check(d->schema,
              sqlite3_exec(d->schema, "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID", NULL,
                           NULL, NULL),
              "create table") != 0)
        return -1;
    *out = d;
    return 0;
}

int eng_thread_begin(void *db, void **ctx)
{
    sconn *t = calloc(1, sizeof *t);
    if (t == NULL || connect(db, &t->c) != 0)
        return -1;
    if (check(t->c, sqlite3_prepare_v2(t->c, "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)", -1, &t->put, NULL),
              "prepare put") != 0 ||
        check(t->c, sqlite3_prepare_v2(t->c, "SELECT v FROM kv WHERE k = ?1", -1, &t->get, NULL), "prepare get") != 0)
        return -1;
    *ctx = t;
    return 0;
}

int eng_put(void *db, void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    sconn *t = ctx;
    (void)db;
    sqlite3_bind_blob(t->put, 1, key, (int)key_len, SQLITE_STATIC);
    sqlite3_bind_blob(t->put, 2, value, (int)value_len, SQLITE_STATIC);
    int rc = sqlite3_step(t->put);
    sqlite3_reset(t->put);
    return check(t->c, rc, "insert");
}

int eng_get(void *db, void *ctx, const char *key, size_t key_len, bool *found)
{
    sconn *t = ctx;
    (void)db;
    sqlite3_bind_blob(t->get, 1, key, (int)key_len, SQLITE_STATIC);
    int rc = sqlite3_step(t->get);
    *found = rc == SQLITE_ROW;
    sqlite3_reset(t->get);
    return check(t->c, rc, "select");
}

void eng_thread_end(void *db, void *ctx)
{
    sconn *t = ctx;
    (void)db;
    sqlite3_finalize(t->put);
    sqlite3_finalize(t->get);
    sqlite3_close(t->c);
    free(t);
}

void eng_counters(void *db, FILE *out)
{
    (void)db;
    (void)out;
}

int eng_close(void *db)
{
    sdb *d = db;
    int rc = sqlite3_close(d->schema);
    free(d);
    return rc == SQLITE_OK ? 0 : -1;
}
