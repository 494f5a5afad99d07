/*
 * Chapter 08, reference solution: http mode's exchanges with the upstreams (the session side is proxy_http.c).
 *
 * An attempt picks an endpoint, takes an idle pooled connection of it or connects, sends the rewritten head and the
 * body, reads the response head and then copies the response to the session's output, its end found by
 * px_http_body_scan().
 *
 * Outcomes. The latency of an attempt runs from the request sent to the response head. A connect failure, a reset,
 * an end of file or garbage before a whole response head is an upstream failure: reported to the endpoint
 * (breaker, balancer) and given to px_retry_decide(), which refuses non-idempotent methods, a streamed body already
 * partly sent, a third attempt, a passed deadline or a spent budget; refused, the client gets 502. A 5xx head counts
 * as a failure for the breaker, but it is an answer: forwarded, never retried. Once response bytes have reached the
 * client, a failure can only close the client's connection: anything else would splice two answers into one.
 *
 * An upstream connection goes back to the pool (proxy_pool.c) only when the exchange ended exactly at the
 * response's end: both sides keep-alive, the request fully sent, no byte beyond the body, no deadline, and no hang-up
 * seen (an upstream that closes after its answer would otherwise hand the next request a dead connection).
 *
 * System calls are most of a request's cost, so each one must be needed: a socket is read only once the loop has
 * said it is readable, and until a read finds it drained (a read shorter than the room it had), and a connection
 * keeps its registration with epoll as it goes to the pool and back (proxy_pool.c). In the steady state a request
 * then costs a read and a write on each side and a share of one epoll_wait.
 */
#define _GNU_SOURCE
#include "proxy_http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void px_http_upstream_close(http_conn *h)
{
    px_connect_cancel(&h->s->connect);
    px_upconn_close(h->u);
    h->u = NULL;
}

/* Ends the attempt's pick with its outcome. */
void px_http_pick_done(http_conn *h, bool ok)
{
    if (!h->s->picked)
        return;
    px_endpoint_release(proxy_of(h), h->s->pick, h->rtt_ns, ok);
    h->s->picked = false;
}

/* An upstream failure before a whole response head: report it, then retry or answer 502. */
static void upstream_failed(http_conn *h, const char *why)
{
    px_proxy *p = proxy_of(h);
    px_http_upstream_close(h);
    uint64_t now = px_now_ns();
    h->rtt_ns = now - h->sent_ns;
    if (h->s->picked) {
        px_slot *slot = px_endpoint_slot(p, h->s->pick);
        px_log(p, "%s %s: %s", slot ? slot->name : "a removed endpoint", h->method, why);
        px_endpoint_report(p, h->s->pick, h->rtt_ns, false);
        px_session_note_failure(h->s); /* the retry goes elsewhere if it can */
    }
    px_http_pick_done(h, false);
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
        px_http_attempt(h);
        return;
    }
    if (v == PX_RETRY_NO_BUDGET)
        p->retries_refused++;
    px_http_answer(h, v == PX_RETRY_NO_TIME ? 504 : 502, px_retry_verdict_text(v));
}

static void on_upstream(px_upconn *u, uint32_t ready)
{
    http_conn *h = u->owner;
    h->u_rd |= (ready & PX_READ_NEWS) != 0;
    h->u_hup |= (ready & (PX_HANGUP | PX_FAILED)) != 0;
    px_http_step(h);
}

/* A connected socket for this attempt (new or from the pool): start sending. Nothing is read before the loop
 * says so: the answer cannot be there before the request has left. */
static void upstream_ready(http_conn *h)
{
    h->up_off = 0;
    h->rbuf_len = 0;
    h->u_rd = h->u_hup = false;
    h->sent_ns = px_now_ns();
}

static void connected(px_connect *c, int fd, int err)
{
    px_session *s = PX_CONTAINER_OF(c, px_session, connect);
    http_conn *h = s->http;
    if (err == 0)
        err = px_upconn_open(s->proxy, s->pick, fd, PX_READABLE, on_upstream, h, &h->u);
    if (err != 0)
        upstream_failed(h, strerror(-err));
    else
        upstream_ready(h);
    px_http_step(h);
}

/* One attempt: pick, then an idle connection or a connect. */
void px_http_attempt(http_conn *h)
{
    px_proxy *p = proxy_of(h);
    px_session *s = h->s;
    if (h->attempts++ == 0)
        s->nfailed = 0; /* a new request: no endpoint has failed it yet */
    h->resp_head = h->resp_eof = false;
    h->sent_ns = px_now_ns();
    h->rtt_ns = 0;
    if (px_endpoint_pick(p, s->failed, s->nfailed, &s->pick) < 0) {
        p->no_endpoint++;
        px_http_answer(h, 503, "no endpoint available");
        return;
    }
    s->picked = true;
    h->u = px_pool_take(p, s->pick, on_upstream, h);
    if (h->u != NULL) {
        upstream_ready(h);
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
        ssize_t w = send(h->u->watch.fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
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
    if (!h->u_rd)
        return 0;
    if (!h->resp_head) {
        size_t room = RBUF_CAP - h->rbuf_len;
        ssize_t r = recv(h->u->watch.fd, h->rbuf + h->rbuf_len, room, MSG_DONTWAIT);
        h->u_rd = r == (ssize_t)room;
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
    ssize_t r = recv(h->u->watch.fd, h->cout, COUT_CAP, MSG_DONTWAIT);
    h->u_rd = r == COUT_CAP;
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
    bool sent_all = h->replay ? h->up_off == h->up_len + h->body_len
                              : h->up_off == h->up_len && h->body_all_read && h->body_ready == 0;
    px_http_pick_done(h, h->resp_ok);
    if (h->reusable && sent_all && !h->resp_eof && !h->u_hup && !h->u_rd) {
        px_pool_put(h->u); /* still watched: the pool takes the watch over as it is */
        h->u = NULL;
    } else {
        px_http_upstream_close(h);
    }
    px_http_request_end(h, h->client_keep);
}

/* One round of the request in flight. Returns 1 on progress, 0 when waiting, -1 when the session must close. */
int px_http_exchange(http_conn *h)
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
            int r = px_http_read_client(h);
            if (r < 0)
                return -1;
            progress |= r;
        }
    }
    if (h->u != NULL) {
        progress |= send_upstream(h);
        if (h->u != NULL && h->cout_len == 0 && !(h->resp_head && (px_http_body_done(&h->rbody) || h->resp_eof))) {
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
