/*
 * Chapter 06, part 3: a bounded pool of connections shared by the worker loops (pool.h has the contract and the
 * invariants). Every function returns a neutral value until written; each TODO says what to do and why.
 *
 * Plan: a mutex guarding the idle list, the list of checked-out connections, the waiters (oldest first) and the
 * counters; per slot short of a connection, a connect on the home loop with a backoff timer. Never hold the mutex
 * while a query runs or a callback is called.
 */
#include "pool.h"

#include <stdlib.h>

ws_db_status ws_pool_create(const ws_pool_config *cfg, ws_pool **out)
{
    /* TODO: allocate the lists for cfg->size connections and post one connect per slot to cfg->home. */
    (void)cfg;
    *out = NULL;
    return WS_DB_TODO;
}

ws_db_status ws_pool_checkout(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, ws_pool_checkout_fn *cb, void *ctx)
{
    /* TODO: under the lock, take an idle connection (then, unlocked, attach it to loop and call cb at once), or
     * queue a waiter and arm a timer on loop for deadline_ms: when it fires first, cb gets WS_DB_TIMEOUT — never a
     * hang. After shutdown: WS_DB_CLOSED. */
    (void)pool, (void)loop, (void)deadline_ms, (void)cb, (void)ctx;
    return WS_DB_TODO;
}

void ws_pool_return(ws_pool *pool, ws_db_conn *conn)
{
    /* TODO: exactly once per checkout (detect a second return). Healthy: to the oldest waiter via ws_loop_post on
     * the waiter's loop, else idle. Broken: close it and reconnect its slot on the home loop, with backoff. */
    (void)pool, (void)conn;
}

ws_db_status ws_pool_run(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, const ws_db_op *op, ws_pool_result_fn *cb,
                         void *ctx)
{
    /* TODO: copy op, check out, ws_db_run, return the connection on every path (errors too), then call cb. */
    (void)pool, (void)loop, (void)deadline_ms, (void)op, (void)cb, (void)ctx;
    return WS_DB_TODO;
}

ws_pool_stats ws_pool_stats_get(ws_pool *pool)
{
    /* TODO: copy the counters under the lock. */
    (void)pool;
    return (ws_pool_stats){0};
}

void ws_pool_shutdown(ws_pool *pool)
{
    /* TODO: refuse new checkouts, end the waiters with WS_DB_CLOSED, close idle connections. */
    (void)pool;
}

void ws_pool_destroy(ws_pool *pool)
{
    /* TODO: free what create allocated (every connection is closed by now). */
    (void)pool;
}
