/**
 * @file db.h
 * @brief Chapter 06, part 2: one PostgreSQL connection, driven by libpq's non-blocking API on a ::ws_loop.
 *
 * **Prefix.** `ws_`, as in http.h. **Error convention** (this file and pool.h): a ::ws_db_status, ::WS_DB_OK (0) on
 * success; "not found" is a value of its own, and a failure says whether the connection is still usable
 * (::WS_DB_QUERY_ERROR) or not (::WS_DB_BROKEN). The service maps them to HTTP: 404, 500, 503.
 *
 * **Never block the loop.** Nothing here waits for the server. A connection is started with PQconnectStart and
 * advanced with PQconnectPoll each time its socket is ready; a query is sent with PQsendQueryPrepared, pushed out
 * with PQflush (while it returns 1, the socket is also watched for writable), and read with PQconsumeInput,
 * PQisBusy and PQgetResult when the socket is readable, draining results until PQgetResult returns NULL. The
 * statements are prepared once, when the connection is made (PQsendPrepare, one after the other).
 *
 * **One query at a time.** A connection runs one operation at a time (libpq without pipeline mode); starting a
 * second while one is in flight is refused with ::WS_DB_BUSY. The socket is watched only while something is in
 * flight; an idle connection is watched by no loop, which is what lets the pool move it between loops
 * (ws_db_attach()).
 *
 * **Threads.** A connection belongs to the loop it is attached to, and every call on it (and every callback) happens
 * on that loop's thread. It is `Send` but not `Sync`: another thread may take it over only through a hand-off that
 * orders the two (the pool's mutex and ws_loop_post()).
 *
 * The schema: `items(id bigint primary key, body bytea not null, version bigint not null)`.
 */
#ifndef FERRITE_DB_H
#define FERRITE_DB_H

#include "ferrite.h"
#include "loop.h"

#include <stddef.h>
#include <stdint.h>

/**
 * @brief The outcome of a database operation or a pool checkout.
 * @rust `Result<Option<Item>, Error>` with `tokio_postgres::Error::is_closed()` and deadpool's `PoolError::Timeout`
 */
typedef enum ws_db_status {
    WS_DB_TODO = -99,       /**< returned by the exercise skeleton: this function is not written yet */
    WS_DB_OK = 0,           /**< done; for a get, put or delete, the row is in the item */
    WS_DB_NOT_FOUND = 1,    /**< the statement ran and matched no row @rust `Ok(None)` */
    WS_DB_QUERY_ERROR = -1, /**< the server refused the query (bad SQL, a constraint): the connection is still good */
    WS_DB_BROKEN = -2,      /**< the connection failed or was closed by the server: close it, never reuse it */
    WS_DB_BUSY = -3,        /**< an operation is already in flight on this connection: nothing was started */
    WS_DB_NO_MEMORY = -4,   /**< an allocation failed: nothing was started */
    WS_DB_TIMEOUT = -5,     /**< pool only: the checkout deadline passed with every connection in use */
    WS_DB_CLOSED = -6,      /**< pool only: the pool is shut down and hands out nothing */
} ws_db_status;

/**
 * @brief One row of `items`, decoded: the C `#[derive(FromRow)] struct Item`.
 *
 * **Ownership.** `body` is a malloc'd copy of the column, owned by whoever holds the item; ws_item_clear() frees it.
 * A result callback receives its item by pointer and owns it from then on: it keeps the body (and sets `body` to
 * NULL in the struct) or calls ws_item_clear(). An item with no row has `body` NULL and `body_len` 0.
 * @rust `#[derive(sqlx::FromRow)] struct Item { id: i64, body: Vec<u8>, version: i64 }`
 */
typedef struct ws_item {
    int64_t id;      /**< the row's key */
    char *body;      /**< the column's bytes (plus a NUL after them, for printing), owned; NULL when no row */
    size_t body_len; /**< bytes in body, the NUL not counted */
    int64_t version; /**< 1 when first stored, one more on each update */
} ws_item;

/**
 * @brief Frees the item's body and zeroes the item.
 * @rust `drop(item)`
 */
void ws_item_clear(ws_item *item);

/** @brief What an operation does. */
typedef enum ws_db_kind {
    WS_DB_GET = 1,    /**< the row with `id`, or ::WS_DB_NOT_FOUND @rust `query_opt("SELECT ...")` */
    WS_DB_PUT = 2,    /**< insert, or update with version + 1; returns the row as stored @rust `query_one(upsert)` */
    WS_DB_DELETE = 3, /**< delete the row with `id`; returns the row deleted, or ::WS_DB_NOT_FOUND */
    WS_DB_SQL = 4,    /**< run `sql` (one statement, no parameters); the item stays empty @rust `simple_query` */
} ws_db_kind;

/**
 * @brief One operation, described. Borrowed for the call that starts it only: libpq copies what it sends.
 * @rust the arguments of `client.query_opt(&stmt, &[&id])`
 */
typedef struct ws_db_op {
    ws_db_kind kind;  /**< what to run */
    int64_t id;       /**< GET, PUT, DELETE */
    const void *body; /**< PUT: the bytes to store */
    size_t body_len;  /**< PUT */
    const char *sql;  /**< SQL: NUL-terminated */
} ws_db_op;

/**
 * @brief One PostgreSQL connection (a PGconn, its socket's watch, what is in flight); opaque, made by
 *        ws_db_connect(), freed by ws_db_close().
 * @rust `tokio_postgres::Client` together with its `Connection` future
 */
typedef struct ws_db_conn ws_db_conn;

/**
 * @brief Called on the connection's loop when ws_db_connect() has finished, either way.
 * @param conn the connection, still the caller's: close it with ws_db_close() if @p status is not ::WS_DB_OK.
 * @param status ::WS_DB_OK, or ::WS_DB_BROKEN (no server, refused, or a statement failed to prepare).
 * @param ctx the pointer given to ws_db_connect().
 * @rust the output of `tokio_postgres::connect(...).await`
 */
typedef void ws_db_connect_fn(ws_db_conn *conn, ws_db_status status, void *ctx);

/**
 * @brief Called on the connection's loop when an operation has finished: the connection is idle again and may run
 *        the next operation, be returned to a pool or be closed from inside the callback.
 * @param conn the connection, idle again.
 * @param status ::WS_DB_OK, ::WS_DB_NOT_FOUND, ::WS_DB_QUERY_ERROR or ::WS_DB_BROKEN.
 * @param item owned by the callback from now on (see ::ws_item); empty unless @p status is ::WS_DB_OK.
 * @param ctx the pointer given to ws_db_run().
 * @rust the output of `client.query_opt(...).await`, decoded with `FromRow`
 */
typedef void ws_db_result_fn(ws_db_conn *conn, ws_db_status status, ws_item *item, void *ctx);

/**
 * @brief Starts connecting to @p conninfo on @p loop; @p on_done is called later on that loop, never from inside
 *        this call. The statements are prepared before ::WS_DB_OK is reported.
 * @param loop the loop whose thread calls this; the connection is attached to it.
 * @param conninfo a libpq connection string, borrowed for the call.
 * @param on_done called once, on @p loop, when ::WS_DB_OK is returned.
 * @param ctx passed to @p on_done.
 * @param[out] out the connection, owned by the caller from now on, whatever happens: ws_db_close() frees it.
 * @return ::WS_DB_OK (@p on_done will be called once), ::WS_DB_NO_MEMORY or ::WS_DB_BROKEN (it will not; `*out` is
 *         NULL).
 * @rust `tokio_postgres::connect(conninfo, NoTls)`, its `Connection` future spawned on the loop
 */
FT_MUST_USE ws_db_status ws_db_connect(ws_loop *loop, const char *conninfo, ws_db_connect_fn *on_done, void *ctx,
                                       ws_db_conn **out);

/**
 * @brief Starts @p op; @p on_done is called later on the connection's loop, never from inside this call.
 * @return ::WS_DB_OK (@p on_done will be called once), else why nothing was started: ::WS_DB_BUSY,
 *         ::WS_DB_BROKEN (the connection is broken already), ::WS_DB_NO_MEMORY.
 * @rust `client.query_opt(&statement, &[&op.id]).await`
 */
FT_MUST_USE ws_db_status ws_db_run(ws_db_conn *conn, const ws_db_op *op, ws_db_result_fn *on_done, void *ctx);

/**
 * @brief Moves an idle connection to @p loop: its next operation is watched there. Call it on the thread of
 *        @p loop, after a hand-off that orders this thread after the connection's last user. Asserts it is idle.
 * @rust moving a `Client` (which is `Send`) into a task on another runtime
 */
void ws_db_attach(ws_db_conn *conn, ws_loop *loop);

/**
 * @brief Whether the connection can no longer be used: libpq says CONNECTION_BAD, or an operation ended
 *        ::WS_DB_BROKEN. A broken connection is never reused: close it.
 * @rust `client.is_closed()`
 */
bool ws_db_is_broken(const ws_db_conn *conn);

/**
 * @brief Whether an operation (or the connect) is in flight.
 * @rust a `Client` borrowed by a pending future
 */
bool ws_db_is_busy(const ws_db_conn *conn);

/**
 * @brief The server process serving this connection (for `pg_terminate_backend`), 0 when not connected.
 * @rust the `pid` of `pg_stat_activity` for this client
 */
int ws_db_backend_pid(const ws_db_conn *conn);

/**
 * @brief The last error libpq or the server reported on this connection, "" when none. Borrowed: valid until the
 *        next operation on the connection.
 * @rust `impl Display for tokio_postgres::Error`
 */
const char *ws_db_error(const ws_db_conn *conn);

/**
 * @brief Closes the connection and frees it; NULL is a no-op. Must not be called while an operation is in flight,
 *        except from its own callback (when it is over).
 * @rust `drop(client)`
 */
void ws_db_close(ws_db_conn *conn);

#endif /* FERRITE_DB_H */
