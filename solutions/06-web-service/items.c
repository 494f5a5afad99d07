/*
 * Chapter 06, part 5: the handlers (service_impl.h). GET /items/:id through the single-flight cache and the pool,
 * PUT and DELETE through the pool with the key invalidated, the id a route carries, and the statistics /metrics
 * prints.
 */
#define _GNU_SOURCE
#include "service_impl.h"

#include "db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* The statuses /metrics counts one by one; any other is counted under "other". */
static const int counted_status[] = {200, 204, 400, 404, 405, 413, 414, 431, 500, 501, 503, 505};
_Static_assert(sizeof counted_status / sizeof counted_status[0] == N_STATUS, "N_STATUS counts counted_status");
/* Upper bounds of the latency histogram's buckets, in milliseconds (Prometheus wants seconds: printed so). */
static const unsigned latency_le_ms[] = {1, 5, 10, 50, 100, 500, 1000, 5000};
_Static_assert(sizeof latency_le_ms / sizeof latency_le_ms[0] == N_BUCKETS, "N_BUCKETS counts latency_le_ms");

/* ---- statistics ---------------------------------------------------------------------------------------------- */

void ws_stats_record(ws_service *s, int status, uint64_t elapsed_ms)
{
    size_t i = 0;
    while (i < N_STATUS && counted_status[i] != status)
        i++;
    atomic_fetch_add_explicit(&s->stats.by_status[i], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < N_BUCKETS && elapsed_ms > latency_le_ms[b])
        b++;
    atomic_fetch_add_explicit(&s->stats.latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.latency_sum_us, elapsed_ms * 1000, memory_order_relaxed);
}

/* ---- the item routes ----------------------------------------------------------------------------------------- */

static ws_status db_to_http(ws_service *s, ws_db_status st)
{
    switch (st) {
    case WS_DB_OK:
        return WS_STATUS_OK;
    case WS_DB_NOT_FOUND:
        return WS_STATUS_NOT_FOUND;
    case WS_DB_TIMEOUT:
    case WS_DB_CLOSED:
    case WS_DB_NO_MEMORY:
        return WS_STATUS_UNAVAILABLE;
    default:
        atomic_fetch_add_explicit(&s->stats.db_errors, 1, memory_order_relaxed);
        return WS_STATUS_INTERNAL_ERROR;
    }
}

static void conn_respond_blob(conn *c, ws_blob *b, ws_status st)
{
    if (st == WS_STATUS_OK)
        ws_conn_respond(c, (ws_response){.status = WS_STATUS_OK,
                                         .content_type = "application/octet-stream",
                                         .body = {(const char *)b->bytes, b->len}});
    else
        ws_conn_respond_text(c, st, "");
}

/* The leader's load came back, on this connection's loop: complete the flight (its waiters hear the answer), then
 * answer our own request. */
static void conn_on_loaded(ws_db_status status, ws_item *item, void *ctx)
{
    conn *c = ctx;
    ws_service *s = c->w->svc;
    ws_status st = db_to_http(s, status);
    ws_blob *b = NULL;
    if (st == WS_STATUS_OK && (b = ws_blob_new(item->body, item->body_len)) == NULL)
        st = WS_STATUS_UNAVAILABLE;
    ws_item_clear(item);
    (void)ws_cache_complete(s->cache, c->flight, b, st, ws_loop_now_ms());
    c->flight = NULL;
    if (c->dead) {
        ws_conn_free(c);
    } else {
        conn_respond_blob(c, b, st);
        ws_conn_advance(c);
    }
    ws_blob_release(b);
}

/* Runs on this connection's loop, posted by conn_on_waiter(). */
static void conn_on_waited(void *ctx)
{
    conn *c = ctx;
    ws_blob *b = c->waited_value;
    c->waited_value = NULL;
    if (c->dead) {
        ws_conn_free(c);
    } else {
        conn_respond_blob(c, b, c->waited_status);
        ws_conn_advance(c);
    }
    ws_blob_release(b);
}

/* Called by the cache on the leader's thread, which may be another worker's: touch nothing but the hand-off. */
static void conn_on_waiter(void *ctx, ws_blob *value, ws_status status)
{
    conn *c = ctx;
    c->waited_value = value;
    c->waited_status = status;
    if (ws_loop_post(c->w->loop, conn_on_waited, c) != 0) {
        fprintf(stderr, "ws-service: cannot post a cache answer to its loop: out of memory\n");
        abort();
    }
}

void ws_handle_get(conn *c, int64_t id)
{
    ws_service *s = c->w->svc;
    uint64_t now = ws_loop_now_ms();
    c->waiter = (ws_cache_waiter){.fn = conn_on_waiter, .ctx = c};
    ws_cache_lookup found;
    switch (ws_cache_get(s->cache, id, now, &c->waiter, &found)) {
    case WS_CACHE_HIT:
        conn_respond_blob(c, found.value, WS_STATUS_OK);
        ws_blob_release(found.value);
        return;
    case WS_CACHE_WAIT:
        c->busy = true;
        return;
    case WS_CACHE_LEAD: {
        c->flight = found.flight;
        c->busy = true;
        ws_db_op op = {.kind = WS_DB_GET, .id = id};
        atomic_fetch_add_explicit(&s->stats.db_queries[0], 1, memory_order_relaxed);
        ws_db_status st = ws_pool_run(s->pool, c->w->loop, now + s->cfg.checkout_ms, &op, conn_on_loaded, c);
        if (st != WS_DB_OK) {
            c->busy = false;
            (void)ws_cache_complete(s->cache, c->flight, NULL, WS_STATUS_UNAVAILABLE, now);
            c->flight = NULL;
            ws_conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
        }
        return;
    }
    default:
        ws_conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
        return;
    }
}

/* A PUT or DELETE came back: the database has changed, so the cache forgets the key before anyone is answered. */
static void conn_on_written(ws_db_status status, ws_item *item, void *ctx)
{
    conn *c = ctx;
    ws_service *s = c->w->svc;
    if (status != WS_DB_TIMEOUT && status != WS_DB_CLOSED)
        ws_cache_invalidate(s->cache, c->key);
    ws_status st = db_to_http(s, status);
    int64_t version = item->version;
    ws_item_clear(item);
    if (c->dead) {
        ws_conn_free(c);
        return;
    }
    char text[32];
    snprintf(text, sizeof text, "%" PRId64 "\n", version);
    if (st == WS_STATUS_OK && c->parser.req.method == WS_DELETE)
        ws_conn_respond_text(c, WS_STATUS_NO_CONTENT, "");
    else
        ws_conn_respond_text(c, st, st == WS_STATUS_OK ? text : "");
    ws_conn_advance(c);
}

void ws_handle_write(conn *c, ws_db_kind kind, int64_t id)
{
    ws_service *s = c->w->svc;
    const ws_request *req = &c->parser.req;
    ws_db_op op = {.kind = kind, .id = id, .body = req->body.ptr, .body_len = req->body.len};
    c->key = id;
    c->busy = true;
    atomic_fetch_add_explicit(&s->stats.db_queries[kind == WS_DB_PUT ? 1 : 2], 1, memory_order_relaxed);
    uint64_t deadline = ws_loop_now_ms() + s->cfg.checkout_ms;
    if (ws_pool_run(s->pool, c->w->loop, deadline, &op, conn_on_written, c) != WS_DB_OK) {
        c->busy = false;
        ws_conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
    }
}

/* The `:id` parameter as a number: decimal digits only, no sign, no overflow. */
bool ws_parse_id(const ws_match *m, int64_t *id)
{
    char text[24];
    size_t len = 0;
    if (ws_percent_decode(ws_match_param(m, "id"), text, sizeof text - 1, &len) != WS_STATUS_OK || len == 0)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9' || v > (INT64_MAX - (text[i] - '0')) / 10)
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *id = v;
    return true;
}

/* ---- metrics ------------------------------------------------------------------------------------------------- */

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

void ws_handle_metrics(conn *c)
{
    ws_service *s = c->w->svc;
    static const char *kinds[] = {"get", "put", "delete"};
    char text[4096];
    size_t n = 0;
#define OUT(...) n += (size_t)snprintf(text + n, n < sizeof text ? sizeof text - n : 0, __VA_ARGS__)
    OUT("# TYPE ws_requests_total counter\n");
    for (size_t i = 0; i <= N_STATUS; i++) {
        char code[8];
        snprintf(code, sizeof code, "%d", i < N_STATUS ? counted_status[i] : 0);
        OUT("ws_requests_total{status=\"%s\"} %llu\n", i < N_STATUS ? code : "other", LOAD(s->stats.by_status[i]));
    }
    OUT("# TYPE ws_request_duration_seconds histogram\n");
    unsigned long long cumulative = 0;
    for (size_t b = 0; b <= N_BUCKETS; b++) {
        cumulative += LOAD(s->stats.latency[b]);
        if (b < N_BUCKETS)
            OUT("ws_request_duration_seconds_bucket{le=\"%g\"} %llu\n", latency_le_ms[b] / 1000.0, cumulative);
        else
            OUT("ws_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", cumulative);
    }
    OUT("ws_request_duration_seconds_sum %.6f\n", LOAD(s->stats.latency_sum_us) / 1e6);
    OUT("ws_request_duration_seconds_count %llu\n", cumulative);
    ws_cache_stats cs;
    ws_cache_stats_read(s->cache, &cs);
    OUT("ws_cache_hits_total %llu\nws_cache_misses_total %llu\nws_cache_flights_total %llu\n", (unsigned long long)cs.hits,
        (unsigned long long)cs.misses, (unsigned long long)cs.flights);
    ws_pool_stats ps = ws_pool_stats_get(s->pool);
    OUT("ws_pool_in_use %zu\nws_pool_waiting %zu\nws_pool_idle %zu\nws_pool_timeouts_total %llu\n", ps.in_use, ps.waiting,
        ps.idle, (unsigned long long)ps.timeouts);
    for (size_t k = 0; k < 3; k++)
        OUT("ws_db_queries_total{kind=\"%s\"} %llu\n", kinds[k], LOAD(s->stats.db_queries[k]));
    OUT("ws_db_errors_total %llu\n", LOAD(s->stats.db_errors));
#undef OUT
    if (n >= sizeof text)
        n = sizeof text - 1;
    ws_conn_respond(c,
                    (ws_response){.status = WS_STATUS_OK, .content_type = "text/plain; version=0.0.4", .body = {text, n}});
}
