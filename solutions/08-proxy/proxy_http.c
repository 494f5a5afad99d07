/*
 * Chapter 08, reference solution: http mode. Each request is balanced on its own, over pooled keep-alive upstream
 * connections, with a deadline and retries within the budget.
 *
 * A session reads one request at a time from its client (pipelined requests wait in the input buffer, in order):
 *  1. the head: a parse error is answered 400, 431 or 505 and the connection closes (its framing is lost). The head
 *     is rewritten for the upstream at once (x-forwarded-for, hop-by-hop fields dropped) and removed from the buffer,
 *     so the buffer then starts with the body;
 *  2. the body: a Content-Length of at most REPLAY_MAX is read whole before anything is sent, and stays in the buffer
 *     until the exchange ends: that is the replay buffer a retry sends again. A longer or chunked body is streamed as
 *     it arrives, and once a byte of it has gone upstream the request cannot be sent again;
 *  3. the exchange: px_budget_deposit(), a pick, an idle pooled connection of that endpoint or a new connect, the
 *     head and body sent, the response head awaited, then head and body copied to the client, the body's end found
 *     by px_http_body_scan() (never by the upstream closing, except for a response framed that way).
 *
 * The deadline runs from the request head's arrival to the response head. When it fires the upstream connection is
 * closed (its answer may still come, and would then be read as the answer to the next request), the failure
 * reported, and the client answered 504: no retry after it.
 *
 * The exchange with the upstream (attempts, retries, the pool) is in proxy_upstream.c; what both share is in
 * proxy_http.h.
 *
 * One function, px_http_step(), drives a session: every callback (readiness of either socket, a connect's end, the
 * deadline) calls it; it makes every move possible now, in order, then watches each socket for exactly what would let
 * it go further. A side that cannot use readiness is not read, and that is the backpressure: the upstream is not read
 * while the client has not taken the last bytes, nor the client while its request is in flight. Its readable interest
 * is dropped only once the loop reports it readable: until then keeping it costs nothing, and dropping it at once
 * would cost two epoll_ctl calls per request. The buffers are fixed, allocated with the session: a head, a replay
 * body, a response head and what goes to the client.
 */
#define _GNU_SOURCE
#include "proxy_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINGER_MS 1000 /* how long a closing client may still send before a reset */

/* The request is over: forget its body and get ready for the next one (or for closing). */
void px_http_request_end(http_conn *h, bool keep)
{
    px_loop_timer_cancel(proxy_of(h)->loop, &h->deadline);
    if (!h->body_all_read) {
        h->cin_len = 0; /* the connection closes: what is left of the body does not matter */
        keep = false;
    } else if (h->replay) {
        memmove(h->cin, h->cin + h->body_len, h->cin_len - h->body_len);
        h->cin_len -= h->body_len;
    }
    h->state = keep && !proxy_of(h)->draining ? ST_HEAD : ST_CLOSE;
}

/* Answers the request in flight from the proxy itself (nothing of an upstream's answer has been sent). */
void px_http_answer(http_conn *h, int status, const char *detail)
{
    px_http_upstream_close(h);
    px_http_pick_done(h, false);
    bool keep = h->state != ST_HEAD && h->req_keep && h->body_all_read;
    long n = px_http_error_response(status, detail, keep, h->cout + h->cout_len, COUT_CAP - h->cout_len);
    if (n > 0)
        h->cout_len += (size_t)n;
    if (h->state == ST_HEAD) { /* a parse error: the head was never taken */
        h->state = ST_CLOSE;
        return;
    }
    px_http_request_end(h, keep && n > 0);
}

static void on_deadline(px_timer *t)
{
    http_conn *h = PX_CONTAINER_OF(t, http_conn, deadline);
    px_proxy *p = proxy_of(h);
    if (h->state == ST_LINGER) {
        px_session_close(h->s);
        return;
    }
    if (h->state == ST_EXCHANGE && h->s->picked) {
        /* Never pooled: the late answer would be read as the next request's. */
        h->rtt_ns = px_now_ns() - h->sent_ns;
        px_endpoint_report(p, h->s->pick, h->rtt_ns, false);
        px_log(p, "%s: no response head within %llu ms", h->method, (unsigned long long)p->opts.request_timeout_ms);
    }
    px_http_answer(h, 504, "no response within the request timeout");
    px_http_step(h);
}

/* A whole request head at cin's front: rewrite it, decide the body's handling, start the deadline. */
static void request_start(http_conn *h, const px_http_head *req)
{
    px_proxy *p = proxy_of(h);
    h->arrival_ns = px_now_ns();
    h->attempts = 0;
    h->body_touched = h->reusable = false;
    h->method[0] = '\0';
    if (req->method_len < sizeof h->method) {
        memcpy(h->method, req->method, req->method_len);
        h->method[req->method_len] = '\0';
    }
    h->head_req = !strcmp(h->method, "HEAD");
    h->req_keep = req->keep_alive;
    long n = px_http_write_request_head(req, h->client_ip, h->up, UP_CAP);
    if (n < 0) {
        px_http_answer(h, 431, "request head too large to forward");
        return;
    }
    h->up_len = (size_t)n;
    px_http_body_init(&h->reqbody, req, false);
    h->replay = !req->chunked && (req->content_length < 0 || req->content_length <= REPLAY_MAX);
    h->body_len = h->replay && req->content_length > 0 ? (size_t)req->content_length : 0;
    bool expect = req->expect_continue;
    memmove(h->cin, h->cin + req->head_len, h->cin_len - req->head_len);
    h->cin_len -= req->head_len;
    h->body_ready = 0;
    h->state = h->replay ? ST_BODY : ST_EXCHANGE;
    if (expect && h->cin_len == 0 && (h->body_len > 0 || !h->replay)) {
        static const char go[] = "HTTP/1.1 100 Continue\r\n\r\n"; /* we read the body ourselves, so ask for it */
        memcpy(h->cout + h->cout_len, go, sizeof go - 1);
        h->cout_len += sizeof go - 1;
    }
    if (p->opts.request_timeout_ms > 0 &&
        px_loop_timer_start(p->loop, &h->deadline, p->opts.request_timeout_ms, on_deadline) < 0)
        px_log(p, "cannot arm a request deadline");
    px_budget_deposit(&p->budget, h->arrival_ns);
    if (!h->replay)
        px_http_attempt(h); /* a streamed body is sent as it comes */
}

/* Reads what the client sent into cin: 1 for bytes, 0 when it would block or cin is full, -1 at its end or error. */
int px_http_read_client(http_conn *h)
{
    if (h->cin_len == CIN_CAP || !h->c_rd)
        return 0;
    size_t room = CIN_CAP - h->cin_len;
    ssize_t r = recv(h->s->client_fd, h->cin + h->cin_len, room, MSG_DONTWAIT);
    h->c_rd = r == (ssize_t)room; /* a short read emptied the socket: wait for the loop before the next one */
    if (r > 0) {
        h->cin_len += (size_t)r;
        return 1;
    }
    return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

static void set_interest(http_conn *h)
{
    px_loop *loop = proxy_of(h)->loop;
    bool room = h->cin_len < CIN_CAP;
    bool read = (h->state == ST_HEAD && h->cout_len == 0) || h->state == ST_BODY || h->state == ST_LINGER ||
                (h->state == ST_EXCHANGE && !h->replay && !h->body_all_read);
    /* Readable interest is dropped lazily: kept while the socket has not been reported readable, it costs nothing,
     * and most requests would otherwise turn it off and on again (two epoll_ctl calls). Only a socket reported
     * readable that may not be read now loses it, or level-triggered readiness would spin the loop. */
    uint32_t ci = ((read && room) || ((h->cw.interest & PX_READABLE) && !h->c_rd) ? PX_READABLE : 0u) |
                  (h->cout_off < h->cout_len ? PX_WRITABLE : 0u);
    if (h->cw.interest != ci && px_loop_modify(loop, &h->cw, ci) < 0)
        px_log(proxy_of(h), "cannot change a client's watch");
    if (h->u == NULL)
        return;
    bool owed = h->up_off < h->up_len || (h->replay ? h->up_off < h->up_len + h->body_len : h->body_ready > 0);
    bool awaiting = h->cout_len == 0 && !(h->resp_head && (px_http_body_done(&h->rbody) || h->resp_eof));
    uint32_t ui = (owed ? PX_WRITABLE : 0u) |
                  (awaiting || ((h->u->watch.interest & PX_READABLE) && !h->u_rd) ? PX_READABLE : 0u);
    if (h->u->watch.interest != ui && px_loop_modify(loop, &h->u->watch, ui) < 0)
        px_log(proxy_of(h), "cannot change an upstream's watch");
}

static int parse_status(int rc) { return rc == PX_HTTP_TOO_LARGE ? 431 : rc == PX_HTTP_BAD_VERSION ? 505 : 400; }

/* Makes every move possible now, in order, until none is left; then asks the loop for what would allow more. */
void px_http_step(http_conn *h)
{
    for (;;) {
        int progress = 0;
        if (h->cout_off < h->cout_len) {
            ssize_t w =
                send(h->s->client_fd, h->cout + h->cout_off, h->cout_len - h->cout_off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && errno != EAGAIN && errno != EINTR) {
                px_session_close(h->s);
                return;
            }
            if (w > 0) {
                progress = 1;
                h->cout_off += (size_t)w;
                if (h->cout_off == h->cout_len)
                    h->cout_off = h->cout_len = 0;
            }
        }
        int r = 0;
        if (h->state == ST_CLOSE && h->cout_len == 0) {
            shutdown(h->s->client_fd, SHUT_WR);
            h->state = ST_LINGER;
            r = px_loop_timer_start(proxy_of(h)->loop, &h->deadline, LINGER_MS, on_deadline) < 0 ? -1 : 1;
        } else if (h->state == ST_LINGER) {
            h->cin_len = 0;
            r = px_http_read_client(h);
        } else if (h->state == ST_HEAD && h->cout_len == 0) { /* answers leave in order: the last one first */
            int rc = px_http_parse_request(h->cin, h->cin_len, &h->head);
            if (rc > 0) {
                h->body_all_read = false;
                request_start(h, &h->head);
                r = 1;
            } else if (rc < 0) {
                px_http_answer(h, parse_status(rc), NULL);
                r = 1;
            } else {
                r = px_http_read_client(h); /* -1: the client is gone, between requests or inside a head */
            }
        } else if (h->state == ST_BODY) {
            if (h->cin_len >= h->body_len) {
                h->body_all_read = true;
                h->state = ST_EXCHANGE;
                px_http_attempt(h);
                r = 1;
            } else {
                r = px_http_read_client(h);
            }
        } else if (h->state == ST_EXCHANGE) {
            r = px_http_exchange(h);
        }
        if (r < 0) {
            px_session_close(h->s);
            return;
        }
        if (!(progress | r))
            break;
    }
    set_interest(h);
}

static void on_client(px_watch *w, uint32_t ready)
{
    http_conn *h = PX_CONTAINER_OF(w, http_conn, cw);
    h->c_rd |= (ready & PX_READ_NEWS) != 0;
    px_http_step(h);
}

void px_http_session_start(px_session *s)
{
    px_proxy *p = s->proxy;
    http_conn *h = calloc(1, sizeof *h);
    if (h != NULL) {
        s->http = h;
        h->s = s;
        h->cw.fd = -1;
        h->c_rd = true; /* a new client has usually sent its request with the connection: read it now */
        h->cin = malloc(CIN_CAP);
        h->up = malloc(UP_CAP);
        h->rbuf = malloc(RBUF_CAP);
        h->cout = malloc(COUT_CAP);
    }
    if (h == NULL || !h->cin || !h->up || !h->rbuf || !h->cout ||
        px_loop_watch(p->loop, &h->cw, s->client_fd, PX_READABLE, on_client) < 0) {
        px_session_close(s);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    strcpy(h->client_ip, "unknown");
    if (getpeername(s->client_fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, h->client_ip, sizeof h->client_ip);
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, h->client_ip, sizeof h->client_ip);
    }
}

void px_http_session_free(px_session *s)
{
    http_conn *h = s->http;
    px_loop_unwatch(s->proxy->loop, &h->cw);
    px_http_upstream_close(h);
    px_loop_timer_cancel(s->proxy->loop, &h->deadline);
    free(h->cin);
    free(h->up);
    free(h->rbuf);
    free(h->cout);
    free(h);
    s->http = NULL;
}
