/*
 * conn.c — chapter 03, parts 2 and 3: the echo connection as a hand-written future.   (reference solution)
 *
 * The loop rustc would generate for `loop { let n = read(..).await?; write_all(..).await? }` has two suspension
 * points, so the state machine has two waiting states: READING (owes nothing, waits for AE_READABLE) and WRITING
 * (owes bytes, waits for AE_WRITABLE only — not reading while owing is the backpressure). Every return of
 * AE_PENDING is preceded by setting the interest it waits on: that registration is the waker.
 */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Small messages must leave at once: without TCP_NODELAY, Nagle holds a segment while an earlier one is
 * unacknowledged, and a peer delaying its ACK (~40 ms on Linux) stalls the round trip. Not TCP: nothing to do. */
static int set_nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
        return 0;
    return errno == EOPNOTSUPP || errno == ENOPROTOOPT ? 0 : -errno;
}

int ae_conn_init(ae_conn *c, int fd, ae_reactor *reactor, const ae_echo_ctx *ctx, ae_ready_fn *on_ready)
{
    *c = (ae_conn){.reactor = reactor, .ctx = ctx, .state = AE_CONN_READING};
    c->src.fd = -1;
    int rc = ae_set_nonblocking(fd);
    if (rc == 0)
        rc = set_nodelay(fd);
    if (rc == 0)
        rc = ae_reactor_register(reactor, &c->src, fd, AE_READABLE, on_ready);
    return rc;
}

static void drop_buf(ae_conn *c)
{
    free(c->buf);
    c->buf = NULL;
    c->buf_len = c->buf_off = 0;
}

/* The future has returned: nothing will be polled again, nothing is owed any more. */
static ae_poll finish(ae_conn *c, int error)
{
    drop_buf(c);
    c->state = AE_CONN_DONE;
    c->error = error;
    return AE_READY;
}

/* Suspends: register the one readiness this state waits for, then report Pending. */
static ae_poll wait_for(ae_conn *c, uint32_t interest)
{
    int rc = ae_reactor_modify(c->reactor, &c->src, interest);
    return rc == 0 ? AE_PENDING : finish(c, rc);
}

static bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

/* Writes what is owed. 0 once all of it is gone (back to READING), -EAGAIN if the socket is full, else -errno. */
static int flush(ae_conn *c)
{
    while (c->buf_off < c->buf_len) {
        /* MSG_NOSIGNAL: a peer that reset the connection must give EPIPE, not a SIGPIPE that kills the server. */
        ssize_t w = send(c->src.fd, c->buf + c->buf_off, c->buf_len - c->buf_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return would_block(errno) ? -EAGAIN : -errno;
        }
        c->buf_off += (size_t)w;
        c->bytes_out += (uint64_t)w;
    }
    drop_buf(c);
    c->state = AE_CONN_READING;
    return 0;
}

/* Echoes the n bytes just read into the scratch buffer; what the socket refuses is copied and owed. */
static int echo(ae_conn *c, size_t n)
{
    const uint8_t *data = c->ctx->scratch;
    ssize_t w = send(c->src.fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EINTR && !would_block(errno))
            return -errno;
        w = 0;
    }
    c->bytes_out += (uint64_t)w;
    size_t rest = n - (size_t)w;
    if (rest == 0)
        return 0;
    /* The scratch buffer is shared: the remainder must move into memory this connection owns. */
    c->buf = malloc(rest);
    if (c->buf == NULL)
        return -ENOMEM;
    memcpy(c->buf, data + w, rest);
    c->buf_len = rest;
    c->buf_off = 0;
    c->state = AE_CONN_WRITING;
    return 0;
}

ae_poll ae_conn_poll(ae_conn *c)
{
    if (c->state == AE_CONN_DONE)
        return AE_READY;
    for (int reads = 0;;) {
        if (c->state == AE_CONN_WRITING) {
            int rc = flush(c);
            if (rc == -EAGAIN)
                return wait_for(c, AE_WRITABLE);
            if (rc < 0)
                return finish(c, rc);
        }
        if (c->draining)
            return finish(c, 0);
        if (reads++ == AE_CONN_BUDGET)
            return wait_for(c, AE_READABLE); /* yield; level-triggered, so the rest comes back next poll */
        ssize_t n = recv(c->src.fd, c->ctx->scratch, c->ctx->cap, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return would_block(errno) ? wait_for(c, AE_READABLE) : finish(c, -errno);
        }
        if (n == 0)
            return finish(c, 0); /* the peer shut down its side and everything read was echoed */
        c->bytes_in += (uint64_t)n;
        int rc = echo(c, (size_t)n);
        if (rc < 0)
            return finish(c, rc);
        if (c->state == AE_CONN_WRITING)
            return wait_for(c, AE_WRITABLE); /* the socket just refused bytes: no point retrying now */
        if ((size_t)n < c->ctx->cap)
            return wait_for(c, AE_READABLE); /* a short read drained the socket: skip the recv that would say
                                                EAGAIN; level-triggered epoll reports anything newer */
    }
}

ae_poll ae_conn_drain(ae_conn *c)
{
    c->draining = true;
    return ae_conn_poll(c);
}

void ae_conn_close(ae_conn *c)
{
    if (c->src.fd >= 0) {
        int fd = c->src.fd;
        int rc = ae_reactor_deregister(c->reactor, &c->src);
        (void)rc; /* it was registered by ae_conn_init, so this cannot fail in a way we could act on */
        close(fd);
    }
    drop_buf(c);
    c->state = AE_CONN_DONE;
}
