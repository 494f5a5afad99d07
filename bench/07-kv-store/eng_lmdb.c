/*
 * Chapter 07 benchmark: LMDB behind kvdrive.h. One write transaction per put (LMDB lets one writer in at a time,
 * so concurrent writers queue on its lock and each commit syncs alone: no group commit). Durable: LMDB's default,
 * fdatasync of the data file and a write of the meta page through its O_DSYNC descriptor at every commit.
 * Not durable: MDB_NOSYNC (the pages are written, never synced). Reads: one read transaction per thread, renewed
 * for each get and reset after it (LMDB's idiom for short reads). Map size 4 GiB, which the files never reach here.
 */
#define _POSIX_C_SOURCE 200809L
#include "kvdrive.h"

#include <lmdb.h>
#include <stdlib.h>

const char *const eng_name = "lmdb";

typedef struct lmdb_db {
    MDB_env *env;
    MDB_dbi dbi;
} lmdb_db;

static int check(int rc, const char *what)
{
    if (rc == MDB_SUCCESS)
        return 0;
    fprintf(stderr, "lmdb: %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

int eng_open(const char *dir, bool durable, void **out)
{
    lmdb_db *d = calloc(1, sizeof *d);
    MDB_txn *txn;
    if (d == NULL)
        return -1;
    if (check(mdb_env_create(&d->env), "mdb_env_create") != 0 ||
        check(mdb_env_set_mapsize(d->env, (size_t)4 << 30), "mdb_env_set_mapsize") != 0 ||
        check(mdb_env_open(d->env, dir, durable ? 0 : MDB_NOSYNC, 0644), "mdb_env_open") != 0 ||
        check(mdb_txn_begin(d->env, NULL, 0, &txn), "mdb_txn_begin") != 0)
        return -1;
    if (check(mdb_dbi_open(txn, NULL, 0, &d->dbi), "mdb_dbi_open") != 0 || check(mdb_txn_commit(txn), "commit") != 0)
        return -1;
    *out = d;
    return 0;
}

int eng_thread_begin(void *db, void **ctx)
{
    lmdb_db *d = db;
    MDB_txn *txn;
    if (check(mdb_txn_begin(d->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin (read)") != 0)
        return -1;
    mdb_txn_reset(txn);
    *ctx = txn;
    return 0;
}

int eng_put(void *db, void *ctx, const char *key, size_t key_len, const char *value, size_t value_len)
{
    lmdb_db *d = db;
    MDB_txn *txn;
    MDB_val k = {key_len, (void *)key}, v = {value_len, (void *)value};
    (void)ctx;
    if (check(mdb_txn_begin(d->env, NULL, 0, &txn), "mdb_txn_begin") != 0)
        return -1;
    if (check(mdb_put(txn, d->dbi, &k, &v, 0), "mdb_put") != 0) {
        mdb_txn_abort(txn);
        return -1;
    }
    return check(mdb_txn_commit(txn), "mdb_txn_commit");
}

int eng_get(void *db, void *ctx, const char *key, size_t key_len, bool *found)
{
    lmdb_db *d = db;
    MDB_txn *txn = ctx;
    MDB_val k = {key_len, (void *)key}, v;
    if (check(mdb_txn_renew(txn), "mdb_txn_renew") != 0)
        return -1;
    int rc = mdb_get(txn, d->dbi, &k, &v);
    mdb_txn_reset(txn);
    *found = rc == MDB_SUCCESS;
    return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? 0 : check(rc, "mdb_get");
}

void eng_thread_end(void *db, void *ctx)
{
    (void)db;
    mdb_txn_abort(ctx);
}

void eng_counters(void *db, FILE *out)
{
    (void)db;
    (void)out;
}

int eng_close(void *db)
{
    lmdb_db *d = db;
    mdb_env_close(d->env);
    free(d);
    return 0;
}
