/*
 * Chapter 06, part 5: a connection (service_impl.h). Accepted by its worker, it reads, feeds the parser, dispatches
 * one request at a time to its handler, queues the answer, writes it (keeping what a partial write left) and closes;
 * a request that waits for the database or a cache flight keeps the connection busy, and the next pipelined one
 * waits for it.
 */
#define _GNU_SOURCE
#include "service_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void conn_process(conn *c);

/* ---- connections: life, answering, writing ----------------------------------------------------------------- */

void ws_conn_free(conn *c)
{
    free(c->parse_buf);
    free(c->out);
    free(c);
}

/* Closes the socket at once. A connection with an operation in flight stays allocated (the operation's callback
 * holds a pointer to it) and is freed when the operation comes back. */
void ws_conn_close(conn *c)
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
        ws_conn_free(c);
    ws_worker_check_drained(w);
}

void ws_conn_interest(conn *c)
{
    uint32_t want = 0;
    if (c->out_off < c->out_len)
        want |= WS_WRITABLE;
    if (!c->busy && !c->close_after && c->in_off == c->in_len)
        want |= WS_READABLE;
    if (ws_loop_modify(c->w->loop, &c->watch, want) != 0)
        ws_conn_close(c);
}

/* Writes what is queued, keeping what a partial write left. Returns false when the connection was closed. */
bool ws_conn_flush(conn *c)
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
            ws_conn_close(c);
            return false;
        }
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    if (c->out_len == 0 && c->close_after && !c->busy) {
        ws_conn_close(c);
        return false;
    }
    return true;
}
/* Queues the answer to the current request (whose slices are still valid) and ends it: the connection is no
 * longer busy. The caller then calls ws_conn_advance(), or lets conn_process() go on. */
void ws_conn_respond(conn *c, ws_response r)
{
    ws_service *s = c->w->svc;
    if (!pthread_equal(pthread_self(), c->w->owner)) {
        /* Only the owning worker may touch a connection: another thread must ws_loop_post() to its loop. */
        fprintf(stderr, "ws-service: a connection was answered from another worker's thread\n");
        abort();
    }
    const ws_request *req = &c->parser.req;
    bool parsed = c->parser.error == WS_STATUS_OK;
    /* The service's flag as well as the worker's: the drain reaches this worker as a posted task, which runs after
     * the fd callbacks of its turn, so an answer that completes in the same turn would not see w->draining yet. */
    r.close = r.close || !parsed || !req->keep_alive || c->w->draining || atomic_load(&s->stopping);
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
    ws_stats_record(s, r.status, elapsed);
    if (s->cfg.access_log)
        fprintf(stderr, "%s %.*s %d %" PRIu64 "ms\n", parsed ? ws_method_name(req->method) : "-",
                parsed ? (int)req->target.len : 1, parsed ? req->target.ptr : "-", (int)r.status, elapsed);
    c->busy = false;
    if (r.close)
        c->close_after = true;
}

void ws_conn_respond_text(conn *c, ws_status status, const char *text)
{
    ws_conn_respond(c, (ws_response){.status = status,
                                     .content_type = text[0] ? "text/plain" : NULL,
                                     .body = {text, strlen(text)},
                                     .retry_after = status == WS_STATUS_UNAVAILABLE ? 1u : 0u});
}

/* After an answer that came back asynchronously: write it, then go on with the requests already read. */
void ws_conn_advance(conn *c)
{
    ws_http_next(&c->parser);
    conn_process(c);
}

/* ---- reading, parsing, dispatching, accepting -------------------------------------------------------------- */

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
        ws_conn_respond(c, (ws_response){.status = st, .headers = &h, .header_count = 1});
        return;
    }
    if (st != WS_STATUS_OK) {
        ws_conn_respond_text(c, st, "");
        return;
    }
    int64_t id = 0;
    if (m.handler <= H_ITEM_DELETE && !ws_parse_id(&m, &id)) {
        ws_conn_respond_text(c, WS_STATUS_BAD_REQUEST, "the item id must be a decimal number\n");
        return;
    }
    switch (m.handler) {
    case H_ITEM_GET:
        ws_handle_get(c, id);
        break;
    case H_ITEM_PUT:
        ws_handle_write(c, WS_DB_PUT, id);
        break;
    case H_ITEM_DELETE:
        ws_handle_write(c, WS_DB_DELETE, id);
        break;
    case H_HEALTHZ:
        ws_conn_respond_text(c, WS_STATUS_OK, "ok\n");
        break;
    default:
        ws_handle_metrics(c);
        break;
    }
}

/* Feeds what was read to the parser and answers each complete request in turn; stops at the first one that must
 * wait (its callback calls ws_conn_advance() later), so responses leave in the order the requests came. */
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
            ws_conn_respond_text(c, st, "");
            break;
        }
        conn_dispatch(c);
        if (!c->busy)
            ws_http_next(&c->parser);
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (ws_conn_flush(c))
        ws_conn_interest(c);
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
        if (ws_conn_flush(c))
            ws_conn_interest(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        ws_conn_close(c);
    }
}

static void conn_on_kick(ws_watch *wt, uint32_t ready)
{
    conn *c = (conn *)((char *)wt - offsetof(conn, watch)); /* SAFETY: every conn watch is the conn's first field */
    if (ready & WS_FAILED) {
        ws_conn_close(c);
        return;
    }
    if (ready & WS_WRITABLE) {
        if (!ws_conn_flush(c))
            return;
        ws_conn_interest(c);
    }
    if (c->busy || c->close_after) {
        if (ready & WS_HANGUP) /* the client is gone and nothing would tell us again but this event */
            ws_conn_close(c);
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
            ws_conn_free(c);
        close(fd);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->watch.fd = -1;
    if (ws_loop_watch(w->loop, &c->watch, fd, WS_READABLE, conn_on_kick) != 0) {
        ws_conn_free(c);
        close(fd);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
}

void ws_worker_on_accept(ws_watch *wt, uint32_t ready)
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
