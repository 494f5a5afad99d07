/*
 * An L4 relay (relay.h): two directions between a client socket and an upstream socket, each with its own buffer.
 *
 * Invariants of one direction (struct dir):
 *  - `queued` bytes sit in its buffer, read from the source and not yet written to the sink (copy: buf[head ..
 *    head + queued); splice: inside the pipe, which the kernel does not let us count, so we count for it);
 *  - its source is watched for readable only while it may read (no end of file yet, room in the buffer): a full
 *    buffer is backpressure, the source's receive window closes and the sender waits;
 *  - its sink is watched for writable only while `queued > 0`: level-triggered epoll reports an idle socket as
 *    writable on every turn, so asking for it with nothing to write would spin;
 *  - once the source said end of file and `queued == 0`, the sink's write side is shut down (`shut`): the direction
 *    is over, the other one goes on.
 * The relay ends when both directions are shut, or at the first error; `ending` keeps the done callback to one call.
 *
 * A TLS side (px_relay_start_tls) changes three things, each a way to stall a connection with bytes in hand:
 *  - interest: a TLS read may have to write (an alert, a key update) and a write may have to read, so the watch of a
 *    TLS socket asks for what the last px_tls_read / px_tls_write of each direction said it waits for
 *    (px_tls_wants), not for "readable" because we read;
 *  - bytes the kernel no longer reports: OpenSSL reads a whole record from the socket and hands it out as asked; what
 *    it still holds wakes no epoll. A TLS source is read until it says -EAGAIN (`more` is false then), and when its
 *    buffer is full the next pump reads again as soon as the sink drained, without waiting for readiness;
 *  - half-close: the TLS sink gets close_notify (px_tls_shutdown) before its TCP FIN, and a TLS source's read of 0
 *    is the peer's close_notify; a FIN without it is a truncation, an error (tls.h).
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_BUFFER_BYTES (64u * 1024u)
/* Drains and fills of one direction per event: a TLS source is read until it runs dry, but not for ever. */
#define PUMP_ROUNDS 8

struct dir {
    int src, dst;                     /* borrowed from the relay: the sockets it reads and writes */
    char *buf;                        /* copy: owned, cap bytes; splice: NULL */
    size_t head;                      /* copy: where the queued bytes start in buf */
    int pipe[2];                      /* splice: owned, {read end, write end}; copy: {-1, -1} */
    bool pipe_full;                   /* splice: the last splice in found no room although the count said some */
    size_t cap, queued;               /* buffer capacity, bytes in it */
    bool eof, shut;                   /* source said end of file; sink's write side shut down */
    uint64_t *bytes;                  /* the stats counter for bytes written to the sink */
    px_tls *src_tls;                  /* borrowed from the relay: the source's TLS session, or NULL for plain */
    px_tls *dst_tls;                  /* borrowed from the relay: the sink's TLS session, or NULL */
    uint32_t read_wants, write_wants; /* TLS: what the last read / write (or close_notify) waits for */
    bool more;                        /* TLS source: the last read brought bytes, OpenSSL may hold more */
    bool notified;                    /* TLS sink: close_notify sent */
};

struct px_relay {
    px_loop *loop;
    px_relay_mode mode;
    px_watch client, upstream; /* watches of the two sockets (each watch's fd is the socket) */
    int client_fd, upstream_fd;
    px_tls *client_tls, *upstream_tls; /* owned, or NULL for a plain side; freed before the sockets close */
    px_timer kick;                     /* armed when a TLS source may hold bytes that no epoll event announces */
    struct dir up, down;               /* up: client to upstream; down: upstream to client */
    px_relay_stats stats;
    px_relay_done_fn *done;
    void *ctx;
};

/* Whether errno says "try later" rather than "broken". */
static bool would_block(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

/* fill() from a TLS source. The read is for the free room, which is never empty (px_tls_read needs 1 byte at least). */
static ssize_t fill_tls(struct dir *d)
{
    if (d->head > 0 && d->head + d->queued == d->cap) {
        memmove(d->buf, d->buf + d->head, d->queued);
        d->head = 0;
    }
    long n = px_tls_read(d->src_tls, d->buf + d->head + d->queued, d->cap - d->head - d->queued);
    d->read_wants = n == -EAGAIN ? px_tls_wants(d->src_tls) : PX_READABLE;
    d->more = n > 0;
    if (n < 0)
        return n;
    if (n == 0)
        d->eof = true; /* close_notify: a TCP end of file without it came back as -EPROTO */
    d->queued += (size_t)n;
    return n;
}

/* Moves bytes from the source into the buffer. Returns bytes read, 0 at end of file, -EAGAIN, or a negative errno. */
static ssize_t fill(px_relay *r, struct dir *d)
{
    if (d->src_tls != NULL)
        return fill_tls(d);
    ssize_t n;
    if (r->mode == PX_RELAY_SPLICE) {
        /* splice moves pages between a file and a pipe only, never socket to socket: the pipe is the buffer, and
         * the bytes go socket -> pipe -> socket inside the kernel. */
        n = splice(d->src, NULL, d->pipe[1], NULL, d->cap - d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && would_block() && d->queued > 0)
            d->pipe_full = true; /* a pipe has slots, a page or part of one each: small segments fill them early */
    } else {
        if (d->head > 0 && d->head + d->queued == d->cap) {
            memmove(d->buf, d->buf + d->head, d->queued); /* keep the free space in one piece at the end */
            d->head = 0;
        }
        n = recv(d->src, d->buf + d->head + d->queued, d->cap - d->head - d->queued, 0);
    }
    if (n < 0)
        return would_block() ? -EAGAIN : -errno;
    if (n == 0)
        d->eof = true;
    d->queued += (size_t)n;
    return n;
}

/* drain() into a TLS sink: the same bookkeeping. A retry after -EAGAIN passes at least the bytes it passed before,
 * maybe from another address after fill() compacted the buffer, as tls.h allows. */
static ssize_t drain_tls(struct dir *d)
{
    long n = px_tls_write(d->dst_tls, d->buf + d->head, d->queued);
    d->write_wants = n == -EAGAIN ? px_tls_wants(d->dst_tls) : PX_WRITABLE;
    if (n < 0)
        return n;
    d->queued -= (size_t)n;
    d->head = d->queued == 0 ? 0 : d->head + (size_t)n;
    *d->bytes += (uint64_t)n;
    return n;
}

/* Moves queued bytes to the sink; a short write keeps the rest queued. Returns bytes written or a negative errno. */
static ssize_t drain(px_relay *r, struct dir *d)
{
    if (d->dst_tls != NULL)
        return drain_tls(d);
    ssize_t n;
    /* Into a reset socket, send() without MSG_NOSIGNAL and splice() (which has no such flag) raise SIGPIPE: the
     * proxy ignores that signal, and a relay reads EPIPE as one more way for a connection to end. */
    if (r->mode == PX_RELAY_SPLICE)
        n = splice(d->pipe[0], NULL, d->dst, NULL, d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    else
        n = send(d->dst, d->buf + d->head, d->queued, MSG_NOSIGNAL);
    if (n < 0)
        return would_block() ? -EAGAIN : -errno;
    d->queued -= (size_t)n;
    d->head = d->queued == 0 ? 0 : d->head + (size_t)n;
    if (n > 0)
        d->pipe_full = false;
    *d->bytes += (uint64_t)n;
    return n;
}

/* Whether the direction has room to read and a source that may still send. */
static bool may_read(const struct dir *d) { return !d->eof && d->queued < d->cap && !d->pipe_full; }

/*
 * Moves what can move now in one direction: write what is queued, read, write again what was read. A plain source is
 * read once per turn, which keeps one busy direction from starving the other connections of the loop: epoll says
 * again next turn if more is waiting. A TLS source is read again while its last read brought bytes (`more`), right
 * after the sink made room: OpenSSL may hold the rest of a record that no epoll event will announce. Returns 0 or a
 * negative errno.
 */
static int pump(px_relay *r, struct dir *d)
{
    if (d->shut)
        return 0;
    for (int round = 0;; round++) {
        if (d->queued > 0) {
            ssize_t n = drain(r, d);
            if (n < 0 && n != -EAGAIN)
                return (int)n;
        }
        if (round == PUMP_ROUNDS || !may_read(d) || (round > 0 && !d->more))
            break;
        ssize_t n = fill(r, d);
        if (n < 0 && n != -EAGAIN)
            return (int)n;
    }
    if (d->eof && d->queued == 0 && d->dst_tls != NULL && !d->notified) {
        /* close_notify before the FIN: the TLS peer takes a bare FIN for a truncated stream. It may wait for the
         * socket like a write; the direction is not over until it went out. */
        int rc = px_tls_shutdown(d->dst_tls);
        d->write_wants = rc == -EAGAIN ? px_tls_wants(d->dst_tls) : PX_WRITABLE;
        if (rc < 0)
            return rc == -EAGAIN ? 0 : rc;
        d->notified = true;
    }
    if (d->eof && d->queued == 0) {
        /* Half-close: SHUT_WR sends a FIN, the far end reads end of file, and this socket still reads what the far
         * end answers. close() would end the other direction too, and lose the answer. */
        if (shutdown(d->dst, SHUT_WR) < 0)
            return -errno;
        d->shut = true;
    }
    return 0;
}

/* What the watch of socket fd must ask for: read for the direction it feeds, write for the one it drains. */
static uint32_t interest_of(const struct dir *reads, const struct dir *writes)
{
    uint32_t want = 0;
    if (!reads->eof && reads->queued < reads->cap && !reads->pipe_full)
        want |= PX_READABLE;
    if (writes->queued > 0)
        want |= PX_WRITABLE;
    return want;
}

/*
 * What a TLS socket's watch asks for: the plain interest translated through what each TLS call waits for. A read that
 * needs the socket writable (or a write that needs it readable) is watched for that, or it waits for ever.
 */
static uint32_t tls_interest(const struct dir *reads, const struct dir *writes)
{
    uint32_t plain = interest_of(reads, writes), want = 0;
    if (reads->src_tls == NULL)
        return plain;
    if (plain & PX_READABLE)
        want |= reads->read_wants;
    bool notifying = writes->eof && writes->queued == 0 && !writes->notified && !writes->shut;
    if ((plain & PX_WRITABLE) || notifying)
        want |= writes->write_wants;
    return want;
}

static void close_dir(struct dir *d)
{
    free(d->buf);
    d->buf = NULL;
    for (int i = 0; i < 2; i++)
        if (d->pipe[i] >= 0)
            close(d->pipe[i]);
    d->pipe[0] = d->pipe[1] = -1;
}

/* Gives everything back: watches first (the loop must not watch a closed fd number), then fds and memory. */
static void release(px_relay *r)
{
    px_loop_unwatch(r->loop, &r->client);
    px_loop_unwatch(r->loop, &r->upstream);
    px_loop_timer_cancel(r->loop, &r->kick);
    px_tls_free(r->client_tls); /* a session borrows its fd: free it first */
    px_tls_free(r->upstream_tls);
    close(r->client_fd);
    close(r->upstream_fd);
    close_dir(&r->up);
    close_dir(&r->down);
}

static void end_relay(px_relay *r, int err)
{
    r->stats.error = err;
    release(r);
    px_relay_done_fn *done = r->done;
    px_relay_stats stats = r->stats;
    done(r->ctx, &stats);
    free(r);
}

static void on_kick(px_timer *t);

/* One socket is ready: let both directions move (each socket is the source of one and the sink of the other). */
static void on_ready(px_relay *r, int fd, uint32_t ready)
{
    int err = 0;
    if (ready & PX_FAILED) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error != 0)
            err = -so_error;
    }
    if (err == 0)
        err = pump(r, &r->up);
    if (err == 0)
        err = pump(r, &r->down);
    if (err == 0 && r->up.shut && r->down.shut) {
        end_relay(r, 0);
        return;
    }
    if (err == 0 && r->client.interest != tls_interest(&r->up, &r->down))
        err = px_loop_modify(r->loop, &r->client, tls_interest(&r->up, &r->down));
    if (err == 0 && r->upstream.interest != tls_interest(&r->down, &r->up))
        err = px_loop_modify(r->loop, &r->upstream, tls_interest(&r->down, &r->up));
    /* A TLS source cut short by PUMP_ROUNDS may hold bytes no event announces: come back on the next turn. */
    bool again = (may_read(&r->up) && r->up.more) || (may_read(&r->down) && r->down.more);
    if (err == 0 && again && !px_timer_armed(&r->kick))
        err = px_loop_timer_start(r->loop, &r->kick, 0, on_kick);
    if (err != 0)
        end_relay(r, err);
}

static void on_kick(px_timer *t)
{
    px_relay *r = PX_CONTAINER_OF(t, px_relay, kick);
    on_ready(r, r->client_fd, 0);
}

static void on_client(px_watch *w, uint32_t ready)
{
    px_relay *r = PX_CONTAINER_OF(w, px_relay, client);
    on_ready(r, r->client_fd, ready);
}

static void on_upstream(px_watch *w, uint32_t ready)
{
    px_relay *r = PX_CONTAINER_OF(w, px_relay, upstream);
    on_ready(r, r->upstream_fd, ready);
}

/* Sets up one direction's buffer. Returns 0 or a negative errno; close_dir() undoes a partial set-up. */
static int open_dir(struct dir *d, px_relay_mode mode, size_t cap)
{
    d->cap = cap;
    if (mode == PX_RELAY_COPY) {
        d->buf = malloc(cap);
        return d->buf != NULL ? 0 : -ENOMEM;
    }
    if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -errno;
    /* Ask for the capacity; the kernel rounds it up to a power of two pages, and an unprivileged process may be
     * refused above /proc/sys/fs/pipe-max-size: then keep what the pipe has. Either way, count with what it says. */
    int got = fcntl(d->pipe[1], F_SETPIPE_SZ, cap > INT32_MAX ? INT32_MAX : (int)cap);
    if (got < 0)
        got = fcntl(d->pipe[1], F_GETPIPE_SZ);
    if (got < 0)
        return -errno;
    d->cap = (size_t)got;
    return 0;
}

int px_relay_start(px_loop *loop, int client_fd, int upstream_fd, px_relay_mode mode, size_t buffer_bytes,
                   px_relay_done_fn *done, void *ctx, px_relay **out)
{
    return px_relay_start_tls(loop, client_fd, NULL, upstream_fd, NULL, mode, buffer_bytes, done, ctx, out);
}

int px_relay_start_tls(px_loop *loop, int client_fd, px_tls *client_tls, int upstream_fd, px_tls *upstream_tls,
                       px_relay_mode mode, size_t buffer_bytes, px_relay_done_fn *done, void *ctx, px_relay **out)
{
    size_t cap = buffer_bytes != 0 ? buffer_bytes : DEFAULT_BUFFER_BYTES;
    /* splice moves what the socket holds, ciphertext, into the other socket: a TLS side needs user space. */
    if (client_tls != NULL || upstream_tls != NULL)
        mode = PX_RELAY_COPY;
    px_relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    *r = (px_relay){.loop = loop,
                    .mode = mode,
                    .client = {.fd = -1},
                    .upstream = {.fd = -1},
                    .client_fd = client_fd,
                    .upstream_fd = upstream_fd,
                    .client_tls = client_tls,
                    .upstream_tls = upstream_tls,
                    .done = done,
                    .ctx = ctx};
    /* Pipes at -1 from the start, so that a failed set-up closes only what it opened. */
    r->up = (struct dir){.src = client_fd, .dst = upstream_fd, .pipe = {-1, -1}, .bytes = &r->stats.bytes_up};
    r->down = (struct dir){.src = upstream_fd, .dst = client_fd, .pipe = {-1, -1}, .bytes = &r->stats.bytes_down};
    r->up.src_tls = r->down.dst_tls = client_tls;
    r->down.src_tls = r->up.dst_tls = upstream_tls;
    r->up.read_wants = r->down.read_wants = PX_READABLE;
    r->up.write_wants = r->down.write_wants = PX_WRITABLE;
    /* A handshake may have read application bytes along with the peer's last flight; they sit in OpenSSL, not in the
     * socket: the first turn reads both directions whatever epoll says. */
    r->up.more = client_tls != NULL;
    r->down.more = upstream_tls != NULL;

    int rc = open_dir(&r->up, mode, cap);
    if (rc == 0)
        rc = open_dir(&r->down, mode, cap);
    /* Both sockets start watched for readable only: nothing is queued, so nothing to write. Events come on the
     * loop's turns, so the done callback cannot run inside this call. */
    if (rc == 0)
        rc = px_loop_watch(loop, &r->client, client_fd, PX_READABLE, on_client);
    if (rc == 0)
        rc = px_loop_watch(loop, &r->upstream, upstream_fd, PX_READABLE, on_upstream);
    if (rc == 0 && (client_tls != NULL || upstream_tls != NULL))
        rc = px_loop_timer_start(loop, &r->kick, 0, on_kick);
    if (rc < 0) {
        /* The sockets and the TLS sessions stay the caller's: give back only what this call took. */
        px_loop_unwatch(loop, &r->client);
        px_loop_unwatch(loop, &r->upstream);
        close_dir(&r->up);
        close_dir(&r->down);
        free(r);
        return rc;
    }
    if (out != NULL)
        *out = r;
    return 0;
}

px_relay_stats px_relay_progress(const px_relay *r) { return r->stats; }

void px_relay_abort(px_relay *r)
{
    release(r);
    free(r);
}
