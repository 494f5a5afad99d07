/*
 * A non-blocking connect with a deadline (connect.h).
 *
 * An attempt in progress is in one of two states, both owned by the loop until they end:
 *  - handshaking: c->fd is the socket, watched for writable; c->deadline, when armed, is the timeout;
 *  - reporting early: connect() failed inside px_connect_start() (no route, no port left...); the socket is closed
 *    already, c->fd holds the negative errno and c->deadline is a 0 ms timer that reports it on a later turn.
 * c->loop is non-NULL exactly while the attempt is in progress, so a zeroed px_connect reads as idle.
 */
#define _GNU_SOURCE
#include "connect.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * Ends the attempt and hands its outcome to the owner. Everything the loop borrowed is given back first, and the
 * callback is the last thing done with c: the owner may start c again, or free it, from inside the callback.
 */
static void finish(px_connect *c, int fd, int err)
{
    px_connect_fn *done = c->done;
    px_loop_unwatch(c->loop, &c->watch);
    px_loop_timer_cancel(c->loop, &c->deadline);
    c->loop = NULL;
    c->fd = -1;
    if (err != 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    done(c, fd, err);
}

/* The handshake ended (writable, or an error or hang-up, which epoll reports whatever the interest). */
static void on_writable(px_watch *w, uint32_t ready)
{
    (void)ready;
    px_connect *c = PX_CONTAINER_OF(w, px_connect, watch);
    /* Writable says only that the handshake is over; SO_ERROR says how (and clears the pending error). */
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) < 0)
        so_error = errno;
    finish(c, c->fd, -so_error);
}

/* The deadline passed with the handshake still under way: the socket is closed, so the kernel stops retrying. */
static void on_deadline(px_timer *t)
{
    px_connect *c = PX_CONTAINER_OF(t, px_connect, deadline);
    finish(c, c->fd, -ETIMEDOUT);
}

/* The 0 ms timer of an attempt that failed inside px_connect_start(): c->fd holds the errno, not a socket. */
static void on_early_failure(px_timer *t)
{
    px_connect *c = PX_CONTAINER_OF(t, px_connect, deadline);
    finish(c, -1, c->fd);
}

int px_connect_start(px_connect *c, px_loop *loop, const struct sockaddr *addr, socklen_t addr_len, uint64_t timeout_ms,
                     px_connect_fn *done)
{
    assert(!px_connect_pending(c) && "px_connect_start: the attempt is in progress already");
    /* Not in progress, so neither member is known to the loop: make both a valid idle watch and timer. */
    c->watch = (px_watch){.fd = -1};
    px_timer_init(&c->deadline);
    c->done = done;

    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (addr->sa_family == AF_INET || addr->sa_family == AF_INET6) {
        /* A proxy forwards what it has at once; Nagle would hold a small reply back for the peer's delayed ACK. The
         * option is inherited by the connection, so set it before connect(). Failing to set it costs latency only. */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    int rc;
    if (connect(fd, addr, addr_len) == 0 || errno == EINPROGRESS || errno == EINTR) {
        /* Under way (or, on loopback, already done): either way the socket turns writable when it has ended, so an
         * immediate success is reported by the loop on its next turn like any other. */
        rc = px_loop_watch(loop, &c->watch, fd, PX_WRITABLE, on_writable);
        if (rc == 0 && timeout_ms > 0)
            rc = px_loop_timer_start(loop, &c->deadline, timeout_ms, on_deadline);
        c->fd = fd;
    } else {
        /* Failed at once. The owner still hears it from the loop, never from inside this call, so that it has one
         * path for every failure and never re-enters itself while it is starting an attempt. */
        int err = -errno;
        close(fd);
        c->fd = err;
        rc = px_loop_timer_start(loop, &c->deadline, 0, on_early_failure);
    }
    if (rc < 0) {
        /* Could not register with the loop: undo everything, the owner gets the error from here and no callback. */
        px_loop_unwatch(loop, &c->watch);
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return rc;
    }
    c->loop = loop;
    return 0;
}

bool px_connect_pending(const px_connect *c) { return c->loop != NULL; }

void px_connect_cancel(px_connect *c)
{
    if (!px_connect_pending(c))
        return;
    px_loop_unwatch(c->loop, &c->watch);
    px_loop_timer_cancel(c->loop, &c->deadline);
    /* Unwatch before close: a closed fd number may be reused at once, and the loop must not watch a stranger. */
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->loop = NULL;
}
