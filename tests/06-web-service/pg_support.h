/*
 * PostgreSQL for chapter 06's tests (parts 2, 3 and 5): two throwaway clusters started once per test runner (README,
 * "Adding a chapter", item 10), the schema, and helpers that drive a ws_loop with deadlines.
 *
 * The main cluster serves every test. The second one belongs to the tests that stop PostgreSQL (test_pool_outage.c,
 * test_service_load.c): they may stop and start it (pg_spare_stop / pg_spare_start) without disturbing the others.
 */
#ifndef FERRITE_TEST_PG_SUPPORT_06_H
#define FERRITE_TEST_PG_SUPPORT_06_H

#include "db.h"
#include "ferrite_test.h"
#include "loop.h"
#include "pool.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

/** The main cluster's connection string; fails the test, saying why and naming the package, if it did not start. */
const char *pg_conninfo(void);
/** The spare cluster's connection string (same failure). */
const char *pg_spare_conninfo(void);
/** Stops the spare cluster (mk/pgtmp.sh stop); fails the test if the script fails. */
void pg_spare_stop(void);
/** Starts the spare cluster again in the same folder, with the schema; fails the test if that fails. */
void pg_spare_start(void);

/** A blocking connection for the test's own side channel (never on a loop): fails the test when it cannot connect. */
PGconn *pg_admin(const char *conninfo);
/** Runs @p sql on @p admin and fails the test unless it succeeds. */
void pg_admin_exec(PGconn *admin, const char *sql);

/** Runs turns of @p loop until `*done` is true or @p timeout_ms passed; returns `*done`. */
bool loop_until(ws_loop *loop, const bool *done, uint64_t timeout_ms);
/** A new loop; fails the test if it cannot be made. */
ws_loop *loop_new(void);

/** Open file descriptors of this process (entries of /proc/self/fd, the directory's own fd not counted). */
int count_fds(void);

/** What a ws_db_result_fn reported, for tests: the callback below fills it. */
typedef struct op_result {
    bool done;
    ws_db_status status;
    ws_item item; /* owned by the test: ws_item_clear() it */
    uint64_t at_ms;
} op_result;

/** A ws_db_result_fn that stores its outcome in the op_result at @p ctx (the item moves there). */
void op_result_store(ws_db_conn *conn, ws_db_status status, ws_item *item, void *ctx);
/** A ws_db_connect_fn storing its status in the op_result at @p ctx. */
void connect_result_store(ws_db_conn *conn, ws_db_status status, void *ctx);
/** A ws_pool_result_fn doing the same. */
void pool_result_store(ws_db_status status, ws_item *item, void *ctx);

/** What a pool checkout callback was given, and when. */
typedef struct checkout {
    bool done;
    ws_db_status status;
    ws_db_conn *conn; /* borrowed from the pool until the test returns it */
    uint64_t at_ms;
} checkout;

/** A ws_pool_checkout_fn storing what it was given in the checkout at @p ctx. */
void checkout_store(ws_db_conn *conn, ws_db_status status, void *ctx);
/** The loop clock's time @p ms from now: a deadline. */
uint64_t in_ms(uint64_t ms);

/** Connects on @p loop and waits (5 s at most); fails the test unless the connection is made. */
ws_db_conn *connect_now(ws_loop *loop, const char *conninfo);
/** Runs @p op on @p conn and waits (5 s at most) for its outcome; the row goes to @p item (NULL: dropped). */
ws_db_status run_now(ws_loop *loop, ws_db_conn *conn, const ws_db_op *op, ws_item *item);

/** A pool of @p size on @p home (which the caller runs), waited for until every connection is idle (10 s). */
ws_pool *pool_now(ws_loop *home, const char *conninfo, size_t size);
/** Runs turns of @p loop until @p pool has @p idle idle connections and nothing else, or @p timeout_ms passed. */
bool pool_wait_idle(ws_loop *loop, ws_pool *pool, size_t idle, uint64_t timeout_ms);
/** Shuts @p pool down, runs @p home until every connection is closed, and frees it. */
void pool_close(ws_pool *pool, ws_loop *home);

#endif
