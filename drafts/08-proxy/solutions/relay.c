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

struct dir {
    int src, dst;       /* borrowed from the relay: the sockets it reads and writes */
    char *buf;          /* copy: owned, cap bytes; splice: NULL */
    size_t head;        /* copy: where the queued bytes start in buf */
    int pipe[2];        /* splice: owned, {read end, write end}; copy: {-1, -1} */
    bool pipe_full;     /* splice: the last splice in found no room although the count said some */
    size_t cap, queued; /* buffer capacity, bytes in it */
    bool eof, shut;     /* source said end of file; sink's write side shut down */
    uint64_t *bytes;    /* the stats counter for bytes written to the sink */
};

struct px_relay {
    px_loop *loop;
    px_relay_mode mode;
    px_watch client, upstream; /* watches of the two sockets (each watch's fd is the socket) */
    int client_fd, upstream_fd;
    struct dir up, down; /* up: client to upstream; down: upstream to client */
    px_relay_stats stats;
    px_relay_done_fn *done;
    void *ctx;
};

/* Whether errno says "try later" rather than "broken". */
static bool would_block(void) { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

/* Moves bytes from the source into the buffer. Returns bytes read, 0 at end of file, -EAGAIN, or a negative errno. */
static ssize_t fill(px_relay *r, struct dir *d)
{
    ssize_t n;
    if (r->mode == PX_RELAY_SPLICE) {
        /* splice moves pages between a file and a pipe only, never socket to socket: the pipe is the buffer, and
         * the bytes go socket -> pipe -> socket inside the kernel. */
        n = splice(d->src, NULL, d->pipe[1], NULL, d->cap - d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n < 0 && would_block() && d->queued > 0)
            d->pipe_full = true; /* a pipe holds whole pages per slot: it can be full before `cap` bytes */
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

/* Moves queued bytes to the sink; a short write keeps the rest queued. Returns bytes written or a negative errno. */
static ssize_t drain(px_relay *r, struct dir *d)
{
    ssize_t n;
    if (r->mode == PX_RELAY_SPLICE)
        n = splice(d->pipe[0], NULL, d->dst, NULL, d->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    else /* MSG_NOSIGNAL: a reset peer is an EPIPE to report, not a SIGPIPE that kills the proxy */
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

/*
 * Moves what can move now in one direction: write what is queued, read once, write again what was read. One read
 * per turn keeps one busy direction from starving the other connections of the loop. Returns 0 or a negative errno.
 */
static int pump(px_relay *r, struct dir *d)
{
    if (d->shut)
        return 0;
    for (int round = 0; round < 2; round++) {
        if (d->queued > 0) {
            ssize_t n = drain(r, d);
            if (n < 0 && n != -EAGAIN)
                return (int)n;
        }
        if (round == 0 && !d->eof && d->queued < d->cap && !d->pipe_full) {
            ssize_t n = fill(r, d);
            if (n < 0 && n != -EAGAIN)
                return (int)n;
        }
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
    if (err == 0 && r->client.interest != interest_of(&r->up, &r->down))
        err = px_loop_modify(r->loop, &r->client, interest_of(&r->up, &r->down));
    if (err == 0 && r->upstream.interest != interest_of(&r->down, &r->up))
        err = px_loop_modify(r->loop, &r->upstream, interest_of(&r->down, &r->up));
    if (err != 0)
        end_relay(r, err);
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
    size_t cap = buffer_bytes != 0 ? buffer_bytes : DEFAULT_BUFFER_BYTES;
    px_relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    *r = (px_relay){.loop = loop,
                    .mode = mode,
                    .client = {.fd = -1},
                    .upstream = {.fd = -1},
                    .client_fd = client_fd,
                    .upstream_fd = upstream_fd,
                    .done = done,
                    .ctx = ctx};
    /* Pipes at -1 from the start, so that a failed set-up closes only what it opened. */
    r->up = (struct dir){.src = client_fd, .dst = upstream_fd, .pipe = {-1, -1}, .bytes = &r->stats.bytes_up};
    r->down = (struct dir){.src = upstream_fd, .dst = client_fd, .pipe = {-1, -1}, .bytes = &r->stats.bytes_down};

    int rc = open_dir(&r->up, mode, cap);
    if (rc == 0)
        rc = open_dir(&r->down, mode, cap);
    /* Both sockets start watched for readable only: nothing is queued, so nothing to write. Events come on the
     * loop's turns, so the done callback cannot run inside this call. */
    if (rc == 0)
        rc = px_loop_watch(loop, &r->client, client_fd, PX_READABLE, on_client);
    if (rc == 0)
        rc = px_loop_watch(loop, &r->upstream, upstream_fd, PX_READABLE, on_upstream);
    if (rc < 0) {
        /* The sockets stay the caller's: give back only what this call took. */
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
