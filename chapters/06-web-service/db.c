/*
 * Chapter 06, part 2: one PostgreSQL connection driven by libpq's non-blocking API on a ws_loop (db.h has the
 * contract). Every function returns a neutral value until written; each TODO says what to do and why.
 *
 * Plan: a struct ws_db_conn holding the PGconn, the loop it is attached to, a ws_watch on PQsocket(), what is in
 * flight (connecting, preparing, running, idle), the callback and its ctx, the decoded item, the last error text.
 */
#include "db.h"

#include <libpq-fe.h>
#include <stdlib.h>

void ws_item_clear(ws_item *item)
{
    /* TODO: free item->body and zero the item (the item owns its body). */
    (void)item;
}

ws_db_status ws_db_connect(ws_loop *loop, const char *conninfo, ws_db_connect_fn *on_done, void *ctx, ws_db_conn **out)
{
    /* TODO: PQconnectStart (never PQconnectdb: it blocks); watch PQsocket() for writable, then on each readiness
     * call PQconnectPoll and watch for what it asks (READING: readable, WRITING: writable). On PGRES_POLLING_OK:
     * PQsetnonblocking(pg, 1) and PQsendPrepare the get, put and delete statements one at a time, each drained to
     * NULL with PQgetResult. Then call on_done(conn, WS_DB_OK) from the loop; on failure, WS_DB_BROKEN. */
    (void)loop, (void)conninfo, (void)on_done, (void)ctx;
    *out = NULL;
    return WS_DB_TODO;
}

ws_db_status ws_db_run(ws_db_conn *conn, const ws_db_op *op, ws_db_result_fn *on_done, void *ctx)
{
    /* TODO: refuse with WS_DB_BUSY if something is in flight; PQsendQueryPrepared (binary results, the body as a
     * binary parameter) or PQsendQueryParams for WS_DB_SQL; PQflush, and while it returns 1 watch for writable
     * too. On readable: PQconsumeInput, then PQgetResult while !PQisBusy until it returns NULL, decoding the row
     * (FromRow) from the first result. Only then call on_done: OK, NOT_FOUND, QUERY_ERROR or BROKEN. */
    (void)conn, (void)op, (void)on_done, (void)ctx;
    return WS_DB_TODO;
}

void ws_db_attach(ws_db_conn *conn, ws_loop *loop)
{
    /* TODO: remember the loop; the next operation watches the socket there. Assert nothing is in flight. */
    (void)conn, (void)loop;
}

bool ws_db_is_broken(const ws_db_conn *conn)
{
    /* TODO: an operation ended WS_DB_BROKEN, or PQstatus() is not CONNECTION_OK. */
    (void)conn;
    return true;
}

bool ws_db_is_busy(const ws_db_conn *conn)
{
    /* TODO: whether a connect or an operation is in flight. */
    (void)conn;
    return false;
}

int ws_db_backend_pid(const ws_db_conn *conn)
{
    /* TODO: PQbackendPID. */
    (void)conn;
    return 0;
}

const char *ws_db_error(const ws_db_conn *conn)
{
    /* TODO: the last PQerrorMessage / PQresultErrorMessage, copied into the connection. */
    (void)conn;
    return "";
}

void ws_db_close(ws_db_conn *conn)
{
    /* TODO: unwatch the socket, PQfinish, free. */
    (void)conn;
}
