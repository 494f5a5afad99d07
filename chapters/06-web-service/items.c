/*
 * Chapter 06, part 5: the handlers (service_impl.h has the structs and who owns what): the item routes through
 * the cache and the pool, the id a route carries, and the statistics /metrics prints. Every function returns a
 * neutral value until written; each TODO says what to do and why.
 *
 * Plan: a handler either answers at once (ws_conn_respond(), and the caller goes on) or leaves the connection busy
 * and answers from a callback, on the connection's own loop, followed by ws_conn_advance(). A callback that finds
 * the connection dead (closed meanwhile) frees it instead of answering.
 */
#include "service_impl.h"

#include <stdlib.h>

void ws_stats_record(ws_service *s, int status, uint64_t elapsed_ms)
{
    /* TODO: add one to the status's counter (or "other") and to the latency bucket of elapsed_ms, and add it to
     * the sum. Relaxed atomics: each counter stands alone, no other memory is published through it. */
    (void)s, (void)status, (void)elapsed_ms;
}

void ws_handle_get(conn *c, int64_t id)
{
    /* TODO: ws_cache_get() with c->waiter. HIT: answer the blob, release it. LEAD: keep the flight, run the query
     * with ws_pool_run() (deadline now + checkout_ms); its callback makes a blob of the row, ws_cache_complete()s
     * the flight (its waiters hear it), then answers. WAIT: busy; the waiter is called on the leader's thread,
     * maybe another worker's, so it only stores the value and ws_loop_post()s to c's loop. Never query the pool
     * on a WAIT: that is the stampede. A database timeout or a closed pool is 503. */
    (void)c, (void)id;
}

void ws_handle_write(conn *c, ws_db_kind kind, int64_t id)
{
    /* TODO: run the PUT or DELETE through the pool (the body is the request's, valid while the connection is
     * busy). When it comes back, ws_cache_invalidate(id) first — unless the query never ran (timeout, closed) —
     * then answer: PUT the new version as text, DELETE 204, a missing row 404, a checkout timeout 503. */
    (void)c, (void)kind, (void)id;
}

bool ws_parse_id(const ws_match *m, int64_t *id)
{
    /* TODO: percent-decode the "id" parameter; accept decimal digits only (no sign, not empty) and refuse a
     * number that does not fit an int64_t: check before multiplying, as signed overflow is undefined. */
    (void)m, (void)id;
    return false;
}

void ws_handle_metrics(conn *c)
{
    /* TODO: answer 200 text/plain; version=0.0.4: ws_requests_total{status=...}, the latency histogram
     * ws_request_duration_seconds (cumulative buckets, le in seconds, _sum, _count), the cache's hits, misses
     * and flights, the pool's in_use, waiting, idle and timeouts, ws_db_queries_total{kind=...} and
     * ws_db_errors_total. */
    (void)c;
}
