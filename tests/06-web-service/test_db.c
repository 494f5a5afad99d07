/*
 * Chapter 06, part 2: one PostgreSQL connection on the loop, against a real server (pg_support.c starts it).
 */
#include "pg_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FT_PART(2, "the database, asynchronously (libpq non-blocking)");

/* A key no other test uses: tests share one table and may run in any order. */
static int64_t fresh_id(int n) { return (int64_t)getpid() * 1000 + n; }

static ws_db_op put_op(int64_t id, const void *body, size_t len)
{
    return (ws_db_op){.kind = WS_DB_PUT, .id = id, .body = body, .body_len = len};
}

static ws_db_op id_op(ws_db_kind kind, int64_t id) { return (ws_db_op){.kind = kind, .id = id}; }

static ws_db_op sql_op(const char *sql) { return (ws_db_op){.kind = WS_DB_SQL, .sql = sql}; }

FT_TEST(2, connect_returns_at_once_and_calls_back_on_the_loop, 2,
        "Connect asynchronously: PQconnectStart, then PQconnectPoll each time the socket is ready (watch for what "
        "it asks), PQsetnonblocking, then PQsendPrepare the statements; the callback runs on the loop, never inside "
        "ws_db_connect.")
{
    ws_loop *loop = loop_new();
    op_result r = {0};
    ws_db_conn *conn = NULL;
    ck_assert_int_eq(ws_db_connect(loop, pg_conninfo(), connect_result_store, &r, &conn), WS_DB_OK);
    ck_assert_ptr_ne(conn, NULL);
    ck_assert_msg(!r.done, "the connect callback ran inside ws_db_connect: it must come from the loop");
    ck_assert(ws_db_is_busy(conn));
    /* Each callback is one readiness libpq asked for: a connect and three PREPAREs take a few dozen at most, while
     * watching for the wrong direction (writable while libpq waits to read) spins the loop thousands of times. */
    int callbacks = 0;
    uint64_t deadline = ws_loop_now_ms() + 5000;
    while (!r.done && ws_loop_now_ms() < deadline) {
        int n = ws_loop_run_once(loop, 100);
        ck_assert_int_ge(n, 0);
        callbacks += n;
    }
    ck_assert(r.done);
    ck_assert_int_eq(r.status, WS_DB_OK);
    ck_assert_msg(callbacks <= 64, "%d loop callbacks to connect: watch for what PQconnectPoll asks, not more", callbacks);
    ck_assert(!ws_db_is_busy(conn));
    ck_assert(!ws_db_is_broken(conn));
    ck_assert_int_gt(ws_db_backend_pid(conn), 0);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

FT_TEST(2, put_then_get_decodes_the_row_into_an_item, 3,
        "FromRow: decode (id, body, version) from the binary result (int8 is 8 big-endian bytes, bytea raw bytes, "
        "NUL included); the upsert returns version + 1; the callback owns item->body.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    int64_t id = fresh_id(1);
    const char body[] = "hello\0world";
    ws_item item = {0};
    ck_assert_int_eq(run_now(loop, conn, &(ws_db_op){.kind = WS_DB_PUT, .id = id, .body = body, .body_len = 11}, &item),
                     WS_DB_OK);
    ck_assert_int_eq(item.id, id);
    ck_assert_int_eq(item.version, 1);
    ws_item_clear(&item);
    ws_db_op again = put_op(id, "second", 6);
    ck_assert_int_eq(run_now(loop, conn, &again, &item), WS_DB_OK);
    ck_assert_int_eq(item.version, 2);
    ws_item_clear(&item);
    ws_db_op get = id_op(WS_DB_GET, id);
    ck_assert_int_eq(run_now(loop, conn, &get, &item), WS_DB_OK);
    ck_assert_int_eq(item.id, id);
    ck_assert_int_eq(item.version, 2);
    ck_assert_uint_eq(item.body_len, 6);
    ck_assert(memcmp(item.body, "second", 6) == 0);
    ws_item_clear(&item);
    ws_db_op put_nul = put_op(id, body, 11);
    ck_assert_int_eq(run_now(loop, conn, &put_nul, NULL), WS_DB_OK);
    ck_assert_int_eq(run_now(loop, conn, &get, &item), WS_DB_OK);
    ck_assert_uint_eq(item.body_len, 11);
    ck_assert(memcmp(item.body, body, 11) == 0);
    ck_assert_int_eq(item.version, 3);
    ws_item_clear(&item);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

FT_TEST(2, a_missing_row_is_not_found_not_an_error, 2,
        "Not found is a value: zero rows is WS_DB_NOT_FOUND with an empty item (Ok(None)), not a query error.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    ws_item item = {.body = (char *)1};
    ws_db_op get = id_op(WS_DB_GET, fresh_id(2));
    ck_assert_int_eq(run_now(loop, conn, &get, &item), WS_DB_NOT_FOUND);
    ck_assert_ptr_eq(item.body, NULL);
    ws_db_op del = id_op(WS_DB_DELETE, fresh_id(2));
    ck_assert_int_eq(run_now(loop, conn, &del, NULL), WS_DB_NOT_FOUND);
    ck_assert(!ws_db_is_broken(conn));
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

FT_TEST(2, delete_returns_the_row_then_it_is_gone, 2,
        "DELETE ... RETURNING gives the row removed; a second delete finds nothing (WS_DB_NOT_FOUND).")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    int64_t id = fresh_id(3);
    ws_db_op put = put_op(id, "x", 1), del = id_op(WS_DB_DELETE, id), get = id_op(WS_DB_GET, id);
    ck_assert_int_eq(run_now(loop, conn, &put, NULL), WS_DB_OK);
    ws_item item = {0};
    ck_assert_int_eq(run_now(loop, conn, &del, &item), WS_DB_OK);
    ck_assert_int_eq(item.id, id);
    ck_assert_uint_eq(item.body_len, 1);
    ws_item_clear(&item);
    ck_assert_int_eq(run_now(loop, conn, &get, NULL), WS_DB_NOT_FOUND);
    ck_assert_int_eq(run_now(loop, conn, &del, NULL), WS_DB_NOT_FOUND);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

typedef struct timer_mark {
    bool fired;
    uint64_t at_ms;
} timer_mark;

static void mark_timer(void *ctx)
{
    timer_mark *m = ctx;
    m->fired = true;
    m->at_ms = ws_loop_now_ms();
}

FT_TEST(2, a_slow_query_never_blocks_the_loop, 3,
        "A query never blocks the loop thread: send with PQsendQueryPrepared/PQsendQueryParams and return; no PQexec, "
        "no blocking PQgetResult while busy. A 20 ms timer must fire while pg_sleep(0.3) runs.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    op_result r = {0};
    ws_timer t;
    ws_timer_init(&t);
    timer_mark m = {0};
    uint64_t start = ws_loop_now_ms();
    ws_db_op slow = sql_op("SELECT pg_sleep(0.3)");
    ck_assert_int_eq(ws_db_run(conn, &slow, op_result_store, &r), WS_DB_OK);
    uint64_t returned = ws_loop_now_ms();
    ck_assert_int_eq(ws_loop_timer_start(loop, &t, 20, mark_timer, &m), 0);
    ck_assert(loop_until(loop, &r.done, 5000));
    ck_assert_int_eq(r.status, WS_DB_OK);
    ck_assert_msg(returned - start < 150, "ws_db_run took %llu ms: it waited for the query",
                  (unsigned long long)(returned - start));
    ck_assert_msg(m.fired, "the 20 ms timer did not fire while the query ran: the loop was blocked");
    ck_assert_msg(m.at_ms < r.at_ms, "the timer fired only after the query ended: the loop was blocked");
    ck_assert_msg(r.at_ms - start >= 250, "pg_sleep(0.3) ended after %llu ms", (unsigned long long)(r.at_ms - start));
    ws_db_close(conn);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(a_slow_query_never_blocks_the_loop, 10);

FT_TEST(2, a_large_body_is_flushed_while_the_socket_is_full, 3,
        "PQflush returns 1 while output is still queued (the socket buffer is full): keep watching for writable and "
        "flush again until it returns 0, or a large query never reaches the server.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    size_t len = 4u << 20;
    char *body = malloc(len);
    ck_assert_ptr_ne(body, NULL);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)(i * 7 + i / 4096);
    int64_t id = fresh_id(4);
    ws_db_op put = put_op(id, body, len), get = id_op(WS_DB_GET, id);
    ck_assert_int_eq(run_now(loop, conn, &put, NULL), WS_DB_OK);
    ws_item item = {0};
    ck_assert_int_eq(run_now(loop, conn, &get, &item), WS_DB_OK);
    ck_assert_uint_eq(item.body_len, len);
    ck_assert(memcmp(item.body, body, len) == 0);
    ws_item_clear(&item);
    free(body);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(a_large_body_is_flushed_while_the_socket_is_full, 20);

FT_TEST(2, a_query_error_is_a_value_and_the_connection_stays_usable, 3,
        "A query error (bad SQL, a constraint) is WS_DB_QUERY_ERROR, and the connection is still good: drain "
        "PQgetResult to NULL, keep the error text, do not mark it broken.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    ws_db_op bad = sql_op("SELEC 1"), null_key = sql_op("INSERT INTO items VALUES (NULL, '', 1)");
    ck_assert_int_eq(run_now(loop, conn, &bad, NULL), WS_DB_QUERY_ERROR);
    ck_assert_msg(strstr(ws_db_error(conn), "syntax") != NULL, "error text: \"%s\"", ws_db_error(conn));
    ck_assert(!ws_db_is_broken(conn));
    ck_assert_int_eq(run_now(loop, conn, &null_key, NULL), WS_DB_QUERY_ERROR);
    ck_assert(!ws_db_is_broken(conn));
    ws_db_op put = put_op(fresh_id(5), "ok", 2);
    ck_assert_int_eq(run_now(loop, conn, &put, NULL), WS_DB_OK);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

/* Runs 30 operations back to back, each started from the previous one's callback. */
typedef struct chain {
    ws_db_conn *conn;
    int64_t id;
    int left, ok;
    bool done;
} chain;

static void chain_next(ws_db_conn *conn, ws_db_status status, ws_item *item, void *ctx)
{
    chain *c = ctx;
    ws_item_clear(item);
    if (status == WS_DB_OK)
        c->ok++;
    if (--c->left == 0) {
        c->done = true;
        return;
    }
    ws_db_op op = c->left % 2 ? put_op(c->id, "v", 1) : id_op(WS_DB_GET, c->id);
    if (ws_db_run(conn, &op, chain_next, c) != WS_DB_OK)
        c->done = true;
}

FT_TEST(2, operations_chained_from_callbacks_all_succeed, 2,
        "Each command's results must be drained with PQgetResult until it returns NULL before the callback runs: "
        "otherwise the next PQsendQueryPrepared fails with \"another command is already in progress\".")
{
    ws_loop *loop = loop_new();
    chain c = {.conn = connect_now(loop, pg_conninfo()), .id = fresh_id(6), .left = 31};
    ws_db_op first = put_op(c.id, "v", 1);
    ck_assert_int_eq(ws_db_run(c.conn, &first, chain_next, &c), WS_DB_OK);
    ck_assert(loop_until(loop, &c.done, 10000));
    ck_assert_int_eq(c.left, 0);
    ck_assert_int_eq(c.ok, 31);
    ws_db_close(c.conn);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(operations_chained_from_callbacks_all_succeed, 15);

FT_TEST(2, a_second_operation_while_one_is_in_flight_is_busy, 1,
        "One query in flight per connection (no pipeline mode): refuse a second with WS_DB_BUSY and start nothing.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    op_result r = {0};
    ws_db_op slow = sql_op("SELECT pg_sleep(0.05)"), get = id_op(WS_DB_GET, 1);
    ck_assert_int_eq(ws_db_run(conn, &slow, op_result_store, &r), WS_DB_OK);
    ck_assert_int_eq(ws_db_run(conn, &get, op_result_store, &r), WS_DB_BUSY);
    ck_assert(loop_until(loop, &r.done, 5000));
    ck_assert_int_eq(r.status, WS_DB_OK);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

FT_TEST(2, a_connection_killed_by_the_server_is_broken, 2,
        "A connection error is not a query error: when PQconsumeInput fails or PQstatus is CONNECTION_BAD, report "
        "WS_DB_BROKEN and let ws_db_is_broken say so, so that nobody reuses it.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    PGconn *admin = pg_admin(pg_conninfo());
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", ws_db_backend_pid(conn));
    pg_admin_exec(admin, sql);
    PQfinish(admin);
    ws_db_op get = id_op(WS_DB_GET, 1);
    ck_assert_int_eq(run_now(loop, conn, &get, NULL), WS_DB_BROKEN);
    ck_assert(ws_db_is_broken(conn));
    ck_assert_int_eq(ws_db_run(conn, &get, op_result_store, NULL), WS_DB_BROKEN);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}

FT_TEST(2, connecting_to_no_server_fails_as_a_value, 1,
        "A failed connect is a value: WS_DB_BROKEN from ws_db_connect or from its callback, never a hang or abort.")
{
    ws_loop *loop = loop_new();
    (void)pg_conninfo();
    op_result r = {0};
    ws_db_conn *conn = NULL;
    ws_db_status st = ws_db_connect(loop, "host=/nonexistent-ferrite port=5432 user=x dbname=x connect_timeout=2",
                                    connect_result_store, &r, &conn);
    if (st == WS_DB_OK) {
        ck_assert(loop_until(loop, &r.done, 5000));
        st = r.status;
    }
    ck_assert_int_eq(st, WS_DB_BROKEN);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}
