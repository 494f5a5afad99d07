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
 * Outcomes. The latency of an attempt runs from the request sent to the response head. A connect failure, a reset,
 * an end of file or garbage before a whole response head is an upstream failure: reported to the endpoint
 * (breaker, balancer) and given to px_retry_decide(), which refuses non-idempotent methods, a streamed body already
 * partly sent, a third attempt, a passed deadline or a spent budget; refused, the client gets 502. A 5xx head counts
 * as a failure for the breaker, but it is an answer: forwarded, never retried. Once response bytes have reached the
 * client, a failure can only close the client's connection: anything else would splice two answers into one.
 *
 * The deadline runs from the request head's arrival to the response head. When it fires the upstream connection is
 * closed (its answer may still come, and would then be read as the answer to the next request), the failure
 * reported, and the client answered 504: no retry after it.
 *
 * An upstream connection goes back to the pool (proxy_pool.c) only when the exchange ended exactly at the
 * response's end: both sides keep-alive, the request fully sent, no byte beyond the body, no deadline.
 *
 * One function, step(), drives a session: every callback (readiness of either socket, a connect's end, the deadline)
 * calls it; it makes every move possible now, in order, then watches each socket for exactly what would let it go
 * further. A side that cannot use readiness is not watched for it, and that is the backpressure: the upstream is not
 * read while the client has not taken the last bytes, nor the client while its request is in flight. The buffers
 * are fixed, allocated with the session: a head, a replay body, a response head and what goes to the client.
 */
#define _GNU_SOURCE
#include "http1.h"
#include "proxy_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLAY_MAX (64 * 1024)                       /* the longest body kept for a retry */
#define MAX_ATTEMPTS 3                               /* attempts per request, the first included */
#define CIN_CAP (PX_HTTP_MAX_HEAD + REPLAY_MAX)      /* client input: a head, or a whole replayable body */
#define UP_CAP (PX_HTTP_MAX_HEAD + 512)              /* the rewritten request head: x-forwarded-for and connection */
#define RBUF_CAP (PX_HTTP_MAX_HEAD + 16 * 1024)      /* upstream input while the response head is incomplete */
#define COUT_CAP (PX_HTTP_MAX_HEAD + 512 + RBUF_CAP) /* to the client: a rewritten head and what followed it */

#define LINGER_MS 1000 /* how long a closing client may still send before a reset */

/* ST_CLOSE: the last answer is being sent; ST_LINGER: it has been, our side is shut, what the client still sends is
 * read and dropped until its end of file or LINGER_MS: closing with unread bytes would send a reset, which may
 * destroy the answer before the client has read it (RFC 9112 section 9.6). */
enum { ST_HEAD, ST_BODY, ST_EXCHANGE, ST_CLOSE, ST_LINGER };

typedef struct http_conn {
    px_session *s;                    /* the owner: s->http points back here */
    px_watch cw;                      /* the client's socket (s->client_fd, closed by px_session_close()) */
    px_watch uw;                      /* the upstream's socket while an attempt has one; owned here */
    px_timer deadline;                /* the request's: arrival to response head */
    char client_ip[INET6_ADDRSTRLEN]; /* for x-forwarded-for */
    int state;                        /* ST_* */
    char *cin;                        /* client input; once a head is parsed, it starts with that request's body */
    size_t cin_len;
    char *up; /* the rewritten request head */
    size_t up_len;
    size_t up_off; /* bytes of head (then replay body) sent in this attempt */
    char *rbuf;    /* upstream input until the response head is whole */
    size_t rbuf_len;
    char *cout; /* bytes for the client, sent from cout_off */
    size_t cout_len, cout_off;
    /* The request in flight. */
    char method[32];      /* its method, NUL-terminated, for the retry policy */
    bool head_req;        /* it is a HEAD: the response has no body */
    bool req_keep;        /* the client keeps the connection after it */
    bool replay;          /* its body (maybe empty) is kept whole at cin's front, body_len bytes */
    bool body_all_read;   /* the whole body has arrived from the client */
    bool body_touched;    /* streamed body bytes have gone upstream: it cannot be sent again */
    bool connected;       /* uw holds this attempt's connection */
    size_t body_len;      /* replay: the body's length */
    size_t body_ready;    /* streamed: bytes at cin's front known to be body and not sent yet */
    px_http_body reqbody; /* streamed: where its body ends */
    uint32_t attempts;    /* this request's, the first included */
    uint64_t arrival_ns, sent_ns, rtt_ns;
    /* Its response. */
    bool resp_head;   /* the head has been received (and given to the client) */
    bool resp_ok;     /* its status was below 500 */
    bool reusable;    /* nothing seen so far forbids pooling the connection */
    bool resp_eof;    /* the body has ended at the upstream's close (or at a malformed chunk) */
    bool client_keep; /* what the head sent to the client said */
    px_http_body rbody;
    px_http_head head; /* scratch for one parse; borrows cin or rbuf */
} http_conn;

static void step(http_conn *h);
static void attempt(http_conn *h);

static px_proxy *proxy_of(const http_conn *h) { return h->s->proxy; }

static void upstream_close(http_conn *h)
{
    px_connect_cancel(&h->s->connect);
    if (h->uw.fd >= 0) {
        int fd = h->uw.fd;
        px_loop_unwatch(proxy_of(h)->loop, &h->uw);
        close(fd);
    }
    h->uw.fd = -1;
    h->connected = false;
}

/* Ends the attempt's pick with its outcome. */
static void pick_done(http_conn *h, bool ok)
{
    if (!h->s->picked)
        return;
    px_endpoint_release(proxy_of(h), h->s->pick, h->rtt_ns, ok);
    h->s->picked = false;
}

/* The request is over: forget its body and get ready for the next one (or for closing). */
static void request_end(http_conn *h, bool keep)
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
static void answer(http_conn *h, int status, const char *detail)
{
    upstream_close(h);
    pick_done(h, false);
    bool keep = h->state != ST_HEAD && h->req_keep && h->body_all_read;
    long n = px_http_error_response(status, detail, keep, h->cout + h->cout_len, COUT_CAP - h->cout_len);
    if (n > 0)
        h->cout_len += (size_t)n;
    if (h->state == ST_HEAD) { /* a parse error: the head was never taken */
        h->state = ST_CLOSE;
        return;
    }
    request_end(h, keep && n > 0);
}

/* An upstream failure before a whole response head: report it, then retry or answer 502. */
static void upstream_failed(http_conn *h, const char *why)
{
    px_proxy *p = proxy_of(h);
    upstream_close(h);
    uint64_t now = px_now_ns();
    h->rtt_ns = now - h->sent_ns;
    if (h->s->picked) {
        px_slot *slot = px_endpoint_slot(p, h->s->pick);
        px_log(p, "%s %s: %s", slot ? slot->name : "a removed endpoint", h->method, why);
        px_endpoint_report(p, h->s->pick, h->rtt_ns, false);
    }
    pick_done(h, false);
    uint64_t deadline = p->opts.request_timeout_ms ? h->arrival_ns + p->opts.request_timeout_ms * 1000000 : 0;
    px_retry_request r = {.method = h->method,
                          .body_consumed = !h->replay && h->body_touched,
                          .body_replayable = h->replay,
                          .attempts = h->attempts,
                          .max_attempts = MAX_ATTEMPTS,
                          .deadline_ns = deadline};
    px_retry_verdict v = px_retry_decide(&r, &p->budget, now);
    if (v == PX_RETRY) {
        p->retries++;
        attempt(h);
        return;
    }
    if (v == PX_RETRY_NO_BUDGET)
        p->retries_refused++;
    answer(h, v == PX_RETRY_NO_TIME ? 504 : 502, px_retry_verdict_text(v));
}

static void on_upstream(px_watch *w, uint32_t ready)
{
    (void)ready;
    step(PX_CONTAINER_OF(w, http_conn, uw));
}

/* A connected socket for this attempt (new or from the pool): start sending. */
static void upstream_ready(http_conn *h, int fd)
{
    h->up_off = 0;
    h->rbuf_len = 0;
    h->sent_ns = px_now_ns();
    if (px_loop_watch(proxy_of(h)->loop, &h->uw, fd, PX_WRITABLE | PX_READABLE, on_upstream) < 0) {
        close(fd);
        upstream_failed(h, "cannot watch the connection");
        return;
    }
    h->connected = true;
}

static void connected(px_connect *c, int fd, int err)
{
    px_session *s = PX_CONTAINER_OF(c, px_session, connect);
    http_conn *h = s->http;
    if (err != 0)
        upstream_failed(h, strerror(-err));
    else
        upstream_ready(h, fd);
    step(h);
}

/* One attempt: pick, then an idle connection or a connect. */
static void attempt(http_conn *h)
{
    px_proxy *p = proxy_of(h);
    px_session *s = h->s;
    h->attempts++;
    h->resp_head = h->resp_eof = false;
    h->sent_ns = px_now_ns();
    h->rtt_ns = 0;
    if (px_endpoint_pick(p, &s->pick) < 0) {
        p->no_endpoint++;
        answer(h, 503, "no endpoint available");
        return;
    }
    s->picked = true;
    int fd = px_pool_take(p, s->pick);
    if (fd >= 0) {
        upstream_ready(h, fd);
        return;
    }
    px_endpoint_view view;
    int rc = px_balancer_endpoint(p->balancer, s->pick.slot, &view);
    if (rc == 0)
        rc = px_connect_start(&s->connect, p->loop, (const struct sockaddr *)&view.addr.ss, view.addr.len,
                              p->opts.connect_timeout_ms, connected);
    if (rc < 0)
        upstream_failed(h, strerror(-rc));
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
    answer(h, 504, "no response within the request timeout");
    step(h);
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
        answer(h, 431, "request head too large to forward");
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
        attempt(h); /* a streamed body is sent as it comes */
}

/* The response head is whole at rbuf's front: send it on, with what followed it. */
static void response_start(http_conn *h, const px_http_head *resp)
{
    px_proxy *p = proxy_of(h);
    h->rtt_ns = px_now_ns() - h->sent_ns;
    h->resp_ok = resp->status < 500;
    px_loop_timer_cancel(p->loop, &h->deadline);
    px_endpoint_report(p, h->s->pick, h->rtt_ns, h->resp_ok);
    px_http_body_init(&h->rbody, resp, h->head_req);
    h->client_keep = h->req_keep && h->body_all_read && h->rbody.kind != PX_BODY_UNTIL_CLOSE && !p->draining;
    h->reusable = resp->keep_alive && h->rbody.kind != PX_BODY_UNTIL_CLOSE;
    long n = px_http_write_response_head(resp, h->client_keep, h->cout + h->cout_len, COUT_CAP - h->cout_len);
    if (n < 0) {
        upstream_failed(h, "response head too large to forward");
        return;
    }
    h->cout_len += (size_t)n;
    h->resp_head = true;
    size_t rest = h->rbuf_len - resp->head_len;
    long body = px_http_body_scan(&h->rbody, h->rbuf + resp->head_len, rest);
    if (body < 0) {
        body = 0;
        h->reusable = h->client_keep = false;
        h->resp_eof = true; /* a malformed chunk: the client gets what came before it, then a close */
    }
    if ((size_t)body < rest)
        h->reusable = false; /* bytes nobody asked for: this connection's framing cannot be trusted */
    memcpy(h->cout + h->cout_len, h->rbuf + resp->head_len, (size_t)body);
    h->cout_len += (size_t)body;
    h->rbuf_len = 0;
}

/* Reads what the client sent into cin: 1 for bytes, 0 when it would block or cin is full, -1 at its end or error. */
static int read_client(http_conn *h)
{
    if (h->cin_len == CIN_CAP)
        return 0;
    ssize_t r = recv(h->s->client_fd, h->cin + h->cin_len, CIN_CAP - h->cin_len, MSG_DONTWAIT);
    if (r > 0) {
        h->cin_len += (size_t)r;
        return 1;
    }
    return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
}

/* Sends what this attempt still owes the upstream: the head, then the replay body or the streamed bytes. */
static int send_upstream(http_conn *h)
{
    int progress = 0;
    for (;;) {
        const char *data;
        size_t len;
        if (h->up_off < h->up_len) {
            data = h->up + h->up_off;
            len = h->up_len - h->up_off;
        } else if (h->replay) {
            size_t done = h->up_off - h->up_len;
            data = h->cin + done;
            len = h->body_len - done;
        } else {
            data = h->cin;
            len = h->body_ready;
        }
        if (len == 0)
            return progress;
        ssize_t w = send(h->uw.fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            return progress;
        if (w <= 0) {
            upstream_failed(h, strerror(errno));
            return 1;
        }
        progress = 1;
        if (h->up_off < h->up_len || h->replay) {
            h->up_off += (size_t)w;
        } else { /* streamed bytes leave the buffer as they go: from now on this request cannot be sent again */
            memmove(h->cin, h->cin + w, h->cin_len - (size_t)w);
            h->cin_len -= (size_t)w;
            h->body_ready -= (size_t)w;
            h->body_touched = true;
        }
    }
}

/* Reads from the upstream: the response head into rbuf, then body bytes straight into the empty cout. Returns 1 on
 * progress, 0 when it would block, -1 when the client connection must close (a failure after bytes reached it). */
static int read_upstream(http_conn *h)
{
    if (!h->resp_head) {
        ssize_t r = recv(h->uw.fd, h->rbuf + h->rbuf_len, RBUF_CAP - h->rbuf_len, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r <= 0) {
            upstream_failed(h, r == 0 ? "closed before a response head" : strerror(errno));
            return 1;
        }
        h->rbuf_len += (size_t)r;
        for (;;) {
            int rc = px_http_parse_response(h->rbuf, h->rbuf_len, &h->head);
            if (rc == 0)
                return 1;
            if (rc < 0 || h->head.status == 101) {
                upstream_failed(h, "malformed response");
                return 1;
            }
            if (h->head.status >= 200) {
                response_start(h, &h->head);
                return 1;
            }
            /* An interim 1xx (100 Continue): this proxy already asked the client for its body; drop it. */
            memmove(h->rbuf, h->rbuf + rc, h->rbuf_len - (size_t)rc);
            h->rbuf_len -= (size_t)rc;
        }
    }
    ssize_t r = recv(h->uw.fd, h->cout, COUT_CAP, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (r <= 0) {
        if (r == 0 && h->rbody.kind == PX_BODY_UNTIL_CLOSE) {
            h->resp_eof = true; /* the end of a body framed by the close */
            return 1;
        }
        px_log(proxy_of(h), "%s: upstream lost mid-response, closing the client", h->method);
        return -1;
    }
    long body = px_http_body_scan(&h->rbody, h->cout, (size_t)r);
    if (body < 0)
        return -1;
    if (body < r)
        h->reusable = false;
    h->cout_len = (size_t)body;
    return 1;
}

/* The response has been sent whole: the outcome to the balancer, the connection to the pool or closed. */
static void exchange_end(http_conn *h)
{
    px_proxy *p = proxy_of(h);
    bool sent_all = h->replay ? h->up_off == h->up_len + h->body_len
                              : h->up_off == h->up_len && h->body_all_read && h->body_ready == 0;
    pick_done(h, h->resp_ok);
    if (h->reusable && sent_all && !h->resp_eof) {
        int fd = h->uw.fd;
        px_loop_unwatch(p->loop, &h->uw);
        h->uw.fd = -1;
        h->connected = false;
        px_pool_put(p, h->s->pick, fd);
    } else {
        upstream_close(h);
    }
    request_end(h, h->client_keep);
}

/* One round of the request in flight. Returns 1 on progress, 0 when waiting, -1 when the session must close. */
static int exchange(http_conn *h)
{
    int progress = 0;
    if (!h->replay && !h->body_all_read) {
        long n = px_http_body_scan(&h->reqbody, h->cin + h->body_ready, h->cin_len - h->body_ready);
        if (n < 0)
            return -1; /* a malformed chunk from the client: its framing is lost */
        h->body_ready += (size_t)n;
        progress |= n > 0;
        if (px_http_body_done(&h->reqbody)) {
            h->body_all_read = true;
            progress = 1;
        } else if (h->body_ready == h->cin_len) {
            int r = read_client(h);
            if (r < 0)
                return -1;
            progress |= r;
        }
    }
    if (h->connected) {
        progress |= send_upstream(h);
        if (h->connected && h->cout_len == 0 && !(h->resp_head && (px_http_body_done(&h->rbody) || h->resp_eof))) {
            int r = read_upstream(h);
            if (r < 0)
                return -1;
            progress |= r;
        }
    }
    if (h->state == ST_EXCHANGE && h->resp_head && h->cout_len == 0 && (px_http_body_done(&h->rbody) || h->resp_eof)) {
        exchange_end(h);
        progress = 1;
    }
    return progress;
}

static void set_interest(http_conn *h)
{
    px_loop *loop = proxy_of(h)->loop;
    bool room = h->cin_len < CIN_CAP;
    bool read = (h->state == ST_HEAD && h->cout_len == 0) || h->state == ST_BODY || h->state == ST_LINGER ||
                (h->state == ST_EXCHANGE && !h->replay && !h->body_all_read);
    uint32_t ci = (read && room ? PX_READABLE : 0u) | (h->cout_off < h->cout_len ? PX_WRITABLE : 0u);
    if (h->cw.interest != ci && px_loop_modify(loop, &h->cw, ci) < 0)
        px_log(proxy_of(h), "cannot change a client's watch");
    if (!h->connected)
        return;
    bool owed = h->up_off < h->up_len || (h->replay ? h->up_off < h->up_len + h->body_len : h->body_ready > 0);
    bool awaiting = h->cout_len == 0 && !(h->resp_head && (px_http_body_done(&h->rbody) || h->resp_eof));
    uint32_t ui = (owed ? PX_WRITABLE : 0u) | (awaiting ? PX_READABLE : 0u);
    if (h->uw.interest != ui && px_loop_modify(loop, &h->uw, ui) < 0)
        px_log(proxy_of(h), "cannot change an upstream's watch");
}

static int parse_status(int rc) { return rc == PX_HTTP_TOO_LARGE ? 431 : rc == PX_HTTP_BAD_VERSION ? 505 : 400; }

/* Makes every move possible now, in order, until none is left; then asks the loop for what would allow more. */
static void step(http_conn *h)
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
            r = read_client(h);
        } else if (h->state == ST_HEAD && h->cout_len == 0) { /* answers leave in order: the last one first */
            int rc = px_http_parse_request(h->cin, h->cin_len, &h->head);
            if (rc > 0) {
                h->body_all_read = false;
                request_start(h, &h->head);
                r = 1;
            } else if (rc < 0) {
                answer(h, parse_status(rc), NULL);
                r = 1;
            } else {
                r = read_client(h); /* -1: the client is gone, between requests or inside a head */
            }
        } else if (h->state == ST_BODY) {
            if (h->cin_len >= h->body_len) {
                h->body_all_read = true;
                h->state = ST_EXCHANGE;
                attempt(h);
                r = 1;
            } else {
                r = read_client(h);
            }
        } else if (h->state == ST_EXCHANGE) {
            r = exchange(h);
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
    (void)ready;
    step(PX_CONTAINER_OF(w, http_conn, cw));
}

void px_http_session_start(px_session *s)
{
    px_proxy *p = s->proxy;
    http_conn *h = calloc(1, sizeof *h);
    if (h != NULL) {
        s->http = h;
        h->s = s;
        h->cw.fd = h->uw.fd = -1;
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
    upstream_close(h);
    px_loop_timer_cancel(s->proxy->loop, &h->deadline);
    free(h->cin);
    free(h->up);
    free(h->rbuf);
    free(h->cout);
    free(h);
    s->http = NULL;
}
