/**
 * @file pool.h
 * @brief Chapter 06, part 3: a pool of PostgreSQL connections shared by the worker loops (deadpool / bb8).
 *
 * **Prefix and errors.** `ws_`, and ::ws_db_status as in db.h: ::WS_DB_TIMEOUT when a checkout's deadline passes
 * (the service answers 503 with Retry-After), ::WS_DB_CLOSED after shutdown.
 *
 * **Invariants.** The pool has `size` connection slots. At every moment each slot is in exactly one place:
 * - *idle*: connected, healthy, in the idle list, attached to no loop's watch;
 * - *checked out*: owned by one borrower, on the borrower's loop, until ws_pool_return() (exactly once);
 * - *connecting*: a connect in flight on the pool's home loop, or waiting out its backoff there;
 * - *closed*: only after ws_pool_shutdown().
 * So `idle + in_use + connecting == size` until shutdown, and ::ws_pool_stats shows each count.
 *
 * **Locking.** One mutex guards the pool's lists and counters, and nothing else: it is never held while a query is
 * in flight, while a callback runs, or across a call into libpq. A waiter that gets a connection gets it on its own
 * loop, through ws_loop_post(): the returning thread never runs the borrower's code.
 *
 * **Broken connections.** A connection returned broken (ws_db_is_broken()) is closed, and its slot reconnects in
 * the background on the home loop, with a backoff that starts at `backoff_min_ms` and doubles up to
 * `backoff_max_ms` while connects keep failing (PostgreSQL down), so a dead server is not hammered.
 */
#ifndef FERRITE_POOL_H
#define FERRITE_POOL_H

#include "db.h"

#include <stddef.h>
#include <stdint.h>

/**
 * @brief How to build a pool. The strings and the loop are borrowed for the pool's lifetime.
 * @rust `deadpool_postgres::PoolConfig` / `bb8::Builder`
 */
typedef struct ws_pool_config {
    const char *conninfo;    /**< libpq connection string */
    size_t size;             /**< connections, 1 or more */
    ws_loop *home;           /**< the loop that runs connects and backoff timers; someone must run it */
    uint64_t backoff_min_ms; /**< first wait after a failed connect (0: 50 ms) */
    uint64_t backoff_max_ms; /**< the longest wait (0: 2000 ms) */
} ws_pool_config;

/**
 * @brief Counters, read together under the pool's lock.
 * @rust `deadpool::Status { max_size, size, available, waiting }`
 */
typedef struct ws_pool_stats {
    size_t size;               /**< slots (the configured size) */
    size_t idle;               /**< connected and in the idle list */
    size_t in_use;             /**< checked out */
    size_t connecting;         /**< connecting or waiting out a backoff */
    size_t waiting;            /**< checkouts waiting for a connection */
    uint64_t connects;         /**< connects started, ever */
    uint64_t connect_failures; /**< connects that failed, ever */
    uint64_t replaced;         /**< connections returned broken and closed, ever */
    uint64_t timeouts;         /**< checkouts that ended WS_DB_TIMEOUT, ever */
} ws_pool_stats;

/**
 * @brief A pool of connections; opaque, made by ws_pool_create(), shared by every worker thread.
 * @rust `deadpool_postgres::Pool` (an `Arc` inside: cloned into every worker)
 */
typedef struct ws_pool ws_pool;

/**
 * @brief Called once per checkout, on the loop given to ws_pool_checkout().
 * @param conn a connection, now the callback's, attached to its loop, when @p status is ::WS_DB_OK: give it back
 *        with ws_pool_return() exactly once. NULL otherwise (::WS_DB_TIMEOUT, ::WS_DB_CLOSED).
 * @param status ::WS_DB_OK, ::WS_DB_TIMEOUT or ::WS_DB_CLOSED.
 * @param ctx the pointer given to ws_pool_checkout().
 * @rust the output of `pool.get().await`: `Result<Object, PoolError>`
 */
typedef void ws_pool_checkout_fn(ws_db_conn *conn, ws_db_status status, void *ctx);

/**
 * @brief Creates a pool and starts its `size` connects on `cfg->home` (posted: they begin when it runs).
 * @param cfg copied; the strings and the loop it points to are borrowed for the pool's lifetime.
 * @param[out] out the pool, the caller's until ws_pool_destroy().
 * @return ::WS_DB_OK or ::WS_DB_NO_MEMORY.
 * @rust `Pool::builder(manager).max_size(n).build()`
 */
FT_MUST_USE ws_db_status ws_pool_create(const ws_pool_config *cfg, ws_pool **out);

/**
 * @brief Asks for a connection, on the thread of @p loop. The callback runs exactly once: before this call returns
 *        when a connection is idle; later, on @p loop, when one is returned or connected; or with ::WS_DB_TIMEOUT
 *        once @p deadline_ms (ws_loop_now_ms()'s clock) has passed. Waiters are served oldest first.
 * @return ::WS_DB_OK (the callback will run), ::WS_DB_CLOSED or ::WS_DB_NO_MEMORY (it will not).
 * @rust `tokio::time::timeout_at(deadline, pool.get()).await`
 */
FT_MUST_USE ws_db_status ws_pool_checkout(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, ws_pool_checkout_fn *cb,
                                          void *ctx);

/**
 * @brief Gives back a checked-out, idle connection, on the thread of the loop it was checked out on. Healthy: it
 *        goes to the oldest waiter (posted to the waiter's loop) or to the idle list. Broken: it is closed and its
 *        slot reconnects. Returning a connection twice, or one not checked out, is detected and aborts.
 * @rust dropping a `deadpool::Object` (its `Drop` returns it; here, by hand, exactly once)
 */
void ws_pool_return(ws_pool *pool, ws_db_conn *conn);

/**
 * @brief Called once per ws_pool_run(), on the caller's loop, after the connection went back to the pool.
 * @param status the operation's outcome (db.h), or the checkout's (::WS_DB_TIMEOUT, ::WS_DB_CLOSED).
 * @param item owned by the callback (see ::ws_item); empty unless @p status is ::WS_DB_OK.
 * @param ctx the pointer given to ws_pool_run().
 * @rust the output of `pool.get().await?.query_opt(...).await`
 */
typedef void ws_pool_result_fn(ws_db_status status, ws_item *item, void *ctx);

/**
 * @brief Checks a connection out, runs @p op on it, returns it on every path, then calls @p cb with the outcome.
 *        @p op is copied (its body and SQL included): the caller may free it when this returns.
 * @return ::WS_DB_OK (the callback will run once, perhaps before this returns), ::WS_DB_CLOSED, ::WS_DB_NO_MEMORY.
 * @rust `async { let c = pool.get().await?; c.query_opt(&stmt, &[&id]).await }` with `c` dropped on every path
 */
FT_MUST_USE ws_db_status ws_pool_run(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, const ws_db_op *op,
                                     ws_pool_result_fn *cb, void *ctx);

/**
 * @brief The pool's counters, read at one instant.
 * @rust `pool.status()`
 */
ws_pool_stats ws_pool_stats_get(ws_pool *pool);

/**
 * @brief Refuses new checkouts (::WS_DB_CLOSED), ends every waiter with ::WS_DB_CLOSED, closes idle connections
 *        now and every other one when it is returned or connects. Call it on the home loop's thread.
 * @rust `pool.close()`
 */
void ws_pool_shutdown(ws_pool *pool);

/**
 * @brief Frees the pool. Call after ws_pool_shutdown(), on the home loop's thread, once every connection is closed
 *        (`idle + in_use + connecting == 0`) and nothing is waiting; asserts it.
 * @rust `drop(pool)` once the last `Object` is gone
 */
void ws_pool_destroy(ws_pool *pool);

#endif /* FERRITE_POOL_H */
