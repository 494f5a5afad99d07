/*
 * Chapter 06, part 5: the service (service.h). Worker loops with one SO_REUSEPORT listener each; connections that
 * parse, route and answer one request at a time, in order; the item routes through the cache and the pool;
 * metrics; and a stop that drains.
 */
#define _GNU_SOURCE
#include "service.h"

#include "cache.h"
#include "db.h"
#include "loop.h"
#include "pool.h"
#include "router.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum { H_ITEM_GET, H_ITEM_PUT, H_ITEM_DELETE, H_HEALTHZ, H_METRICS };

/* The statuses /metrics counts one by one; any other is counted under "other". */
static const int counted_status[] = {200, 204, 400, 404, 405, 413, 414, 431, 500, 501, 503, 505};
#define N_STATUS (sizeof counted_status / sizeof counted_status[0])
/* Upper bounds of the latency histogram's buckets, in milliseconds (Prometheus wants seconds: printed so). */
static const unsigned latency_le_ms[] = {1, 5, 10, 50, 100, 500, 1000, 5000};
#define N_BUCKETS (sizeof latency_le_ms / sizeof latency_le_ms[0])

/* Counters shared by every worker: each is an independent relaxed atomic, as the cache's are (cache.h). */
typedef struct svc_counters {
    atomic_uint_fast64_t by_status[N_STATUS + 1]; /* the last one: any other status */
    atomic_uint_fast64_t latency[N_BUCKETS + 1];  /* not cumulative; the last one: above every bound */
    atomic_uint_fast64_t latency_sum_us;
    atomic_uint_fast64_t db_queries[3]; /* GET, PUT, DELETE operations started on the pool */
    atomic_uint_fast64_t db_errors;     /* operations that ended in a query error or a broken connection */
} svc_counters;

typedef struct conn conn;

/* One worker: a loop, its thread, its listener and its connections. Every field but `svc` and `loop` belongs to
 * the worker's thread. */
typedef struct worker {
    ws_service *svc;
    ws_loop *loop;
    pthread_t thread;
    pthread_t owner; /* the thread running `loop`: set on that thread before its first turn */
    bool started;
    int listen_fd;
    ws_watch listen_watch;
    conn *conns;   /* open connections, a doubly linked list */
    size_t nconns; /* how many */
    bool draining; /* SIGTERM: accept nothing, close each connection when it has nothing in flight */
    bool reported; /* told the home loop that this worker has no connection left */
} worker;

struct ws_service {
    ws_service_config cfg;
    uint16_t port;
    ws_limits limits;
    ws_router router;
    ws_cache *cache; /* thread-safe (cache.h) */
    ws_pool *pool;   /* thread-safe; its home is workers[0].loop */
    worker workers[WS_WORKERS_MAX];
    size_t nworkers;
    /* Home loop's thread only: */
    int sig_fd;
    ws_watch sig_watch;
    ws_timer drain_timer;
    bool stopping;
    size_t drained; /* workers that reported no connection left */
    svc_counters stats;
};

/* One client connection. Belongs to its worker's thread; the cache's waiter callback, on another thread, only
 * writes `waited_*` and posts to the worker's loop, which orders those writes before conn_on_waited() reads them. */
struct conn {
    ws_watch watch;
    int fd; /* the socket, open until conn_close() */
    worker *w;
    conn *prev, *next;
    ws_http_parser parser;
    char *parse_buf;
    char in[4096];
    size_t in_off, in_len; /* bytes read, not yet fed to the parser */
    char *out;
    size_t out_off, out_len, out_cap; /* bytes queued, `out_off` of them written */
    bool busy;                        /* a request waits for the database or a flight */
    bool dead;                        /* closed while busy: freed when the operation comes back */
    bool close_after;                 /* close once `out` is written */
    uint64_t started_ms;              /* when the current request was complete */
    int64_t key;                      /* the item the current request is about */
    ws_cache_flight *flight;          /* led by this connection's current request */
    ws_cache_waiter waiter;           /* lent to the cache after WS_CACHE_WAIT */
    ws_blob *waited_value;            /* written by the waiter callback, then posted */
    ws_status waited_status;
};

static void conn_process(conn *c);

/* ---- connections: life, writing, reading ------------------------------------------------------------------- */

static void conn_free(conn *c)
{
    free(c->parse_buf);
    free(c->out);
    free(c);
}

static void worker_check_drained(worker *w);

/* Closes the socket at once. A connection with an operation in flight stays allocated (the operation's callback
 * holds a pointer to it) and is freed when the operation comes back. */
static void conn_close(conn *c)
{
    worker *w = c->w;
    ws_loop_unwatch(w->loop, &c->watch);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    if (c->busy)
        c->dead = true;
    else
        conn_free(c);
    worker_check_drained(w);
}

static void conn_interest(conn *c)
{
    uint32_t want = 0;
    if (c->out_off < c->out_len)
        want |= WS_WRITABLE;
    if (!c->busy && !c->close_after && c->in_off == c->in_len)
        want |= WS_READABLE;
    if (ws_loop_modify(c->w->loop, &c->watch, want) != 0)
        conn_close(c);
}

/* Writes what is queued, keeping what a partial write left. Returns false when the connection was closed. */
static bool conn_flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            conn_close(c);
            return false;
        }
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len == 0 && c->close_after && !c->busy) {
        conn_close(c);
        return false;
    }
    return true;
}

static void record(ws_service *s, int status, uint64_t elapsed_ms)
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

/* Queues the answer to the current request (whose slices are still valid) and ends it: the connection is no
 * longer busy. The caller then calls conn_advance(), or lets conn_process() go on. */
static void conn_respond(conn *c, ws_response r)
{
    ws_service *s = c->w->svc;
    if (!pthread_equal(pthread_self(), c->w->owner)) {
        /* Only the owning worker may touch a connection: another thread must ws_loop_post() to its loop. */
        fprintf(stderr, "ws-service: a connection was answered from another worker's thread\n");
        abort();
    }
    const ws_request *req = &c->parser.req;
    bool parsed = c->parser.error == WS_STATUS_OK;
    r.close = r.close || !parsed || !req->keep_alive || c->w->draining;
    r.head = parsed && req->method == WS_HEAD;
    size_t need = c->out_len + r.body.len + 512;
    if (need > c->out_cap) {
        char *grown = realloc(c->out, need);
        if (grown == NULL) {
            c->close_after = true;
            c->busy = false;
            return;
        }
        c->out = grown;
        c->out_cap = need;
    }
    size_t n = 0;
    if (ws_http_format(&r, c->out + c->out_len, c->out_cap - c->out_len, &n) != WS_STATUS_OK) {
        r = (ws_response){.status = WS_STATUS_INTERNAL_ERROR, .close = true};
        if (ws_http_format(&r, c->out + c->out_len, c->out_cap - c->out_len, &n) != WS_STATUS_OK)
            n = 0;
    }
    c->out_len += n;
    uint64_t elapsed = ws_loop_now_ms() - c->started_ms;
    record(s, r.status, elapsed);
    if (s->cfg.access_log)
        fprintf(stderr, "%s %.*s %d %" PRIu64 "ms\n", parsed ? ws_method_name(req->method) : "-",
                parsed ? (int)req->target.len : 1, parsed ? req->target.ptr : "-", (int)r.status, elapsed);
    c->busy = false;
    if (r.close)
        c->close_after = true;
}

static void conn_respond_text(conn *c, ws_status status, const char *text)
{
    conn_respond(c, (ws_response){.status = status,
                                  .content_type = text[0] ? "text/plain" : NULL,
                                  .body = {text, strlen(text)},
                                  .retry_after = status == WS_STATUS_UNAVAILABLE ? 1u : 0u});
}

/* After an answer that came back asynchronously: write it, then go on with the requests already read. */
static void conn_advance(conn *c)
{
    ws_http_next(&c->parser);
    conn_process(c);
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
        conn_respond(c, (ws_response){.status = WS_STATUS_OK,
                                      .content_type = "application/octet-stream",
                                      .body = {(const char *)b->bytes, b->len}});
    else
        conn_respond_text(c, st, "");
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
        conn_free(c);
    } else {
        conn_respond_blob(c, b, st);
        conn_advance(c);
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
        conn_free(c);
    } else {
        conn_respond_blob(c, b, c->waited_status);
        conn_advance(c);
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

static void item_get(conn *c, int64_t id)
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
            conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
        }
        return;
    }
    default:
        conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
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
        conn_free(c);
        return;
    }
    char text[32];
    snprintf(text, sizeof text, "%" PRId64 "\n", version);
    if (st == WS_STATUS_OK && c->parser.req.method == WS_DELETE)
        conn_respond_text(c, WS_STATUS_NO_CONTENT, "");
    else
        conn_respond_text(c, st, st == WS_STATUS_OK ? text : "");
    conn_advance(c);
}

static void item_write(conn *c, ws_db_kind kind, int64_t id)
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
        conn_respond_text(c, WS_STATUS_UNAVAILABLE, "");
    }
}

/* The `:id` parameter as a number: decimal digits only, no sign, no overflow. */
static bool parse_id(const ws_match *m, int64_t *id)
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

static void metrics(conn *c);

static void conn_dispatch(conn *c)
{
    ws_service *s = c->w->svc;
    const ws_request *req = &c->parser.req;
    ws_match m;
    ws_status st = ws_router_match(&s->router, req->method, req->path, &m);
    if (st == WS_STATUS_METHOD_NOT_ALLOWED) {
        char allow[64];
        size_t len = 0;
        if (ws_allow_format(m.allow, allow, sizeof allow, &len) != WS_STATUS_OK)
            len = 0;
        ws_header h = {{"Allow", 5}, {allow, len}};
        conn_respond(c, (ws_response){.status = st, .headers = &h, .header_count = 1});
        return;
    }
    if (st != WS_STATUS_OK) {
        conn_respond_text(c, st, "");
        return;
    }
    int64_t id = 0;
    if (m.handler <= H_ITEM_DELETE && !parse_id(&m, &id)) {
        conn_respond_text(c, WS_STATUS_BAD_REQUEST, "the item id must be a decimal number\n");
        return;
    }
    switch (m.handler) {
    case H_ITEM_GET:
        item_get(c, id);
        break;
    case H_ITEM_PUT:
        item_write(c, WS_DB_PUT, id);
        break;
    case H_ITEM_DELETE:
        item_write(c, WS_DB_DELETE, id);
        break;
    case H_HEALTHZ:
        conn_respond_text(c, WS_STATUS_OK, "ok\n");
        break;
    default:
        metrics(c);
        break;
    }
}

/* Feeds what was read to the parser and answers each complete request in turn; stops at the first one that must
 * wait (its callback calls conn_advance() later), so responses leave in the order the requests came. */
static void conn_process(conn *c)
{
    while (!c->busy && !c->close_after && c->in_off < c->in_len) {
        size_t used = 0;
        ws_parse p = ws_http_feed(&c->parser, c->in + c->in_off, c->in_len - c->in_off, &used);
        c->in_off += used;
        if (p == WS_PARSE_PARTIAL)
            break;
        c->started_ms = ws_loop_now_ms();
        if (p != WS_PARSE_DONE) {
            ws_status st = c->parser.error == WS_STATUS_OK ? WS_STATUS_BAD_REQUEST : c->parser.error;
            conn_respond_text(c, st, "");
            break;
        }
        conn_dispatch(c);
        if (!c->busy)
            ws_http_next(&c->parser);
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (conn_flush(c))
        conn_interest(c);
}

static void conn_read(conn *c)
{
    ssize_t n = recv(c->fd, c->in, sizeof c->in, 0);
    if (n > 0) {
        c->in_off = 0;
        c->in_len = (size_t)n;
        conn_process(c);
    } else if (n == 0) {
        c->close_after = true; /* the client is done sending: finish writing, then close */
        if (conn_flush(c))
            conn_interest(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        conn_close(c);
    }
}

static void conn_on_kick(ws_watch *wt, uint32_t ready)
{
    conn *c = (conn *)((char *)wt - offsetof(conn, watch)); /* SAFETY: every conn watch is the conn's first field */
    if (ready & WS_FAILED) {
        conn_close(c);
        return;
    }
    if (ready & WS_WRITABLE) {
        if (!conn_flush(c))
            return;
        conn_interest(c);
    }
    if (c->busy || c->close_after) {
        if (ready & WS_HANGUP) /* the client is gone and nothing would tell us again but this event */
            conn_close(c);
        return;
    }
    if (ready & (WS_READABLE | WS_HANGUP))
        conn_read(c);
}

static void conn_open(worker *w, int fd)
{
    ws_service *s = w->svc;
    conn *c = calloc(1, sizeof *c);
    size_t cap = ws_http_buffer_size(&s->limits);
    if (c == NULL || (c->parse_buf = malloc(cap)) == NULL ||
        ws_http_parser_init(&c->parser, &s->limits, c->parse_buf, cap) != WS_STATUS_OK) {
        if (c != NULL)
            conn_free(c);
        close(fd);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->watch.fd = -1;
    if (ws_loop_watch(w->loop, &c->watch, fd, WS_READABLE, conn_on_kick) != 0) {
        conn_free(c);
        close(fd);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
}

static void worker_on_accept(ws_watch *wt, uint32_t ready)
{
    (void)ready;
    worker *w = (worker *)((char *)wt - offsetof(worker, listen_watch)); /* SAFETY: listen_watch is in a worker */
    for (int i = 0; i < 64 && !w->draining; i++) {
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an error on one pending connection (ECONNABORTED): try at the next event */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (w->nconns >= w->svc->cfg.max_connections)
            close(fd);
        else
            conn_open(w, fd);
    }
}

/* ---- metrics ------------------------------------------------------------------------------------------------- */

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), memory_order_relaxed))

static void metrics(conn *c)
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
    conn_respond(c, (ws_response){.status = WS_STATUS_OK, .content_type = "text/plain; version=0.0.4", .body = {text, n}});
}

/* ---- stopping ------------------------------------------------------------------------------------------------ */

static void home_worker_drained(void *ctx)
{
    ws_service *s = ctx;
    if (++s->drained < s->nworkers)
        return;
    ws_loop_timer_cancel(s->workers[0].loop, &s->drain_timer);
    for (size_t i = 0; i < s->nworkers; i++)
        ws_loop_stop(s->workers[i].loop);
}

static void worker_check_drained(worker *w)
{
    if (!w->draining || w->nconns > 0 || w->reported)
        return;
    w->reported = true;
    if (ws_loop_post(w->svc->workers[0].loop, home_worker_drained, w->svc) != 0)
        abort();
}

/* On the worker's thread: stop accepting, close what is idle, let the rest finish. */
static void worker_drain(void *ctx)
{
    worker *w = ctx;
    w->draining = true;
    ws_loop_unwatch(w->loop, &w->listen_watch);
    close(w->listen_fd);
    w->listen_fd = -1;
    for (conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        c->close_after = true;
        if (!c->busy && conn_flush(c))
            conn_interest(c);
    }
    worker_check_drained(w);
}

/* The drain deadline passed: close whatever is still open. */
static void worker_force_close(void *ctx)
{
    worker *w = ctx;
    while (w->conns != NULL)
        conn_close(w->conns);
}

static void home_drain_expired(void *ctx)
{
    ws_service *s = ctx;
    fprintf(stderr, "ws-service: drain time over: closing the connections still open\n");
    for (size_t i = 0; i < s->nworkers; i++)
        if (ws_loop_post(s->workers[i].loop, worker_force_close, &s->workers[i]) != 0)
            abort();
}

static void home_on_signal(ws_watch *wt, uint32_t ready)
{
    (void)ready;
    ws_service *s = (ws_service *)((char *)wt - offsetof(ws_service, sig_watch)); /* SAFETY: field of a service */
    struct signalfd_siginfo si;
    while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    if (s->stopping)
        return;
    s->stopping = true;
    if (ws_loop_timer_start(s->workers[0].loop, &s->drain_timer, s->cfg.drain_ms, home_drain_expired, s) != 0)
        abort();
    for (size_t i = 0; i < s->nworkers; i++)
        if (ws_loop_post(s->workers[i].loop, worker_drain, &s->workers[i]) != 0)
            abort();
}

/* ---- opening, running, closing ------------------------------------------------------------------------------- */

static int listen_on(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool add_routes(ws_router *r)
{
    ws_router_init(r);
    return ws_router_add(r, WS_GET, "/items/:id", H_ITEM_GET) == WS_STATUS_OK &&
           ws_router_add(r, WS_PUT, "/items/:id", H_ITEM_PUT) == WS_STATUS_OK &&
           ws_router_add(r, WS_DELETE, "/items/:id", H_ITEM_DELETE) == WS_STATUS_OK &&
           ws_router_add(r, WS_GET, "/healthz", H_HEALTHZ) == WS_STATUS_OK &&
           ws_router_add(r, WS_GET, "/metrics", H_METRICS) == WS_STATUS_OK;
}

static bool open_parts(ws_service *s)
{
    const ws_service_config *cfg = &s->cfg;
    for (size_t i = 0; i < cfg->workers; i++) {
        worker *w = &s->workers[i];
        w->svc = s;
        w->listen_watch.fd = -1;
        if (ws_loop_create(&w->loop) != 0)
            return false;
        s->nworkers++;
        if ((w->listen_fd = listen_on(i == 0 ? cfg->port : s->port)) < 0)
            return false;
        if (i == 0) {
            struct sockaddr_in a;
            socklen_t len = sizeof a;
            if (getsockname(w->listen_fd, (struct sockaddr *)&a, &len) != 0)
                return false;
            s->port = ntohs(a.sin_port);
        }
        if (ws_loop_watch(w->loop, &w->listen_watch, w->listen_fd, WS_READABLE, worker_on_accept) != 0)
            return false;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || (s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return false;
    s->sig_watch.fd = -1;
    if (ws_loop_watch(s->workers[0].loop, &s->sig_watch, s->sig_fd, WS_READABLE, home_on_signal) != 0)
        return false;
    ws_cache_config cc = {.shards = 16, .entries_per_shard = 4096, .budget_bytes = cfg->cache_mb << 20, .ttl_ms = 60000};
    if (ws_cache_create(&cc, &s->cache) != WS_STATUS_OK)
        return false;
    ws_pool_config pc = {.conninfo = cfg->conninfo, .size = cfg->pool_size, .home = s->workers[0].loop};
    return ws_pool_create(&pc, &s->pool) == WS_DB_OK && add_routes(&s->router);
}

ws_status ws_service_open(const ws_service_config *config, ws_service **out)
{
    *out = NULL;
    if (config->conninfo == NULL || config->workers < 1 || config->workers > WS_WORKERS_MAX || config->pool_size < 1 ||
        config->cache_mb < 1 || config->cache_mb > 4096)
        return WS_STATUS_INTERNAL_ERROR;
    ws_service *s = calloc(1, sizeof *s);
    if (s == NULL)
        return WS_STATUS_INTERNAL_ERROR;
    s->cfg = *config;
    s->sig_fd = -1;
    s->limits = WS_LIMITS_DEFAULT;
    s->limits.max_body = 64 * 1024;
    for (size_t i = 0; i < WS_WORKERS_MAX; i++)
        s->workers[i].listen_fd = -1;
    if (!open_parts(s)) {
        ws_service_close(s);
        return WS_STATUS_INTERNAL_ERROR;
    }
    *out = s;
    return WS_STATUS_OK;
}

uint16_t ws_service_port(const ws_service *s) { return s->port; }

static void *worker_main(void *arg)
{
    worker *w = arg;
    w->owner = pthread_self();
    if (ws_loop_run(w->loop) != 0)
        fprintf(stderr, "ws-service: a worker's loop failed\n");
    return NULL;
}

int ws_service_run(ws_service *s)
{
    int rc = 0;
    s->workers[0].owner = pthread_self();
    for (size_t i = 1; i < s->nworkers && rc == 0; i++) {
        rc = -pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        s->workers[i].started = rc == 0;
    }
    if (rc == 0)
        rc = ws_loop_run(s->workers[0].loop);
    for (size_t i = 1; i < s->nworkers; i++)
        if (s->workers[i].started) {
            if (rc != 0)
                ws_loop_stop(s->workers[i].loop);
            pthread_join(s->workers[i].thread, NULL);
            s->workers[i].started = false;
        }
    return rc;
}

/* Shuts the pool down and runs the home loop until its last connection is closed (2 s at most). */
static bool pool_drain(ws_service *s)
{
    ws_pool_shutdown(s->pool);
    uint64_t deadline = ws_loop_now_ms() + 2000;
    for (;;) {
        ws_pool_stats ps = ws_pool_stats_get(s->pool);
        if (ps.idle + ps.in_use + ps.connecting == 0 && ps.waiting == 0)
            return true;
        if (ws_loop_now_ms() > deadline || ws_loop_run_once(s->workers[0].loop, 10) < 0)
            return false;
    }
}

void ws_service_close(ws_service *s)
{
    if (s == NULL)
        return;
    bool clean = true;
    for (size_t i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        for (conn *c = w->conns, *next; c != NULL; c = next) {
            next = c->next;
            clean = clean && !c->busy;
            ws_loop_unwatch(w->loop, &c->watch);
            close(c->fd);
            if (!c->busy)
                conn_free(c);
        }
        ws_loop_unwatch(w->loop, &w->listen_watch);
        if (w->listen_fd >= 0)
            close(w->listen_fd);
    }
    if (s->pool != NULL && !(clean && pool_drain(s)))
        clean = false; /* a connection is still out: leave the pool (and the cache's open flights) to the exit */
    if (clean) {
        ws_pool_destroy(s->pool);
        ws_cache_destroy(s->cache);
    }
    if (s->nworkers > 0) {
        ws_loop_unwatch(s->workers[0].loop, &s->sig_watch);
        ws_loop_timer_cancel(s->workers[0].loop, &s->drain_timer);
    }
    if (s->sig_fd >= 0)
        close(s->sig_fd);
    for (size_t i = 0; clean && i < s->nworkers; i++)
        ws_loop_destroy(s->workers[i].loop);
    if (clean)
        free(s);
}
