/*
 * An L4 relay (relay.h): two directions between a client socket and an upstream socket, each with its own buffer.
 *
 * One way to hold it (yours to shape): per direction, its source and sink fds, its buffer (copy: a malloc'd array
 * with a start offset and a length; splice: a pipe and a count of the bytes sitting in it), and two flags, "the
 * source said end of file" and "the sink's write side is shut down"; per relay, the loop, one px_watch per socket,
 * the two directions, the stats, the done callback and its ctx.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <string.h>

struct px_relay {
    int todo; /* TODO: the fields described above */
};

int px_relay_start(px_loop *loop, int client_fd, int upstream_fd, px_relay_mode mode, size_t buffer_bytes,
                   px_relay_done_fn *done, void *ctx, px_relay **out)
{
    /*
     * TODO:
     * - allocate the relay; per direction its buffer of buffer_bytes (0: 64 KiB): copy, malloc; splice,
     *   pipe2(O_NONBLOCK | O_CLOEXEC) and F_SETPIPE_SZ (splice moves pages between a pipe and a file only, never
     *   socket to socket, so the pipe is the buffer; keep the capacity the kernel reports);
     * - watch both sockets for PX_READABLE; on any failure undo what this call did, leave both sockets open (they
     *   are still the caller's) and return the negative errno;
     * - on an event, move what can move in both directions (each socket feeds one and drains the other):
     *   write what is queued (a short write keeps the rest queued), read into the free room (copy: recv; splice:
     *   splice(src -> pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)), write again;
     * - interest: a source is watched for readable only while it may read (no end of file, room in its buffer:
     *   a full buffer is backpressure); a sink for writable only while bytes are queued (level-triggered epoll
     *   reports an idle socket writable on every turn);
     * - at end of file from a source, once its buffer is empty: shutdown(sink, SHUT_WR), not close: the far end
     *   reads end of file while the other direction goes on;
     * - EAGAIN is "later"; any other error (ECONNRESET, EPIPE: send with MSG_NOSIGNAL) ends the relay with it;
     * - when both directions are shut down, or at the first error: unwatch, close both sockets and pipes, call done
     *   once with the stats, then free the relay.
     */
    (void)loop;
    (void)client_fd;
    (void)upstream_fd;
    (void)mode;
    (void)buffer_bytes;
    (void)done;
    (void)ctx;
    (void)out;
    return -ENOSYS;
}

int px_relay_start_tls(px_loop *loop, int client_fd, px_tls *client_tls, int upstream_fd, px_tls *upstream_tls,
                       px_relay_mode mode, size_t buffer_bytes, px_relay_done_fn *done, void *ctx, px_relay **out)
{
    /*
     * TODO (part 5): the same relay, with a TLS session on either side (NULL: plain); px_relay_start() can become
     * this with both NULL.
     * - a TLS side forces copy mode: splice would move ciphertext into the other socket;
     * - reads and writes of a TLS side go through px_tls_read() / px_tls_write(); keep, per direction, what its last
     *   TLS read and its last TLS write waited for (px_tls_wants() after -EAGAIN; PX_READABLE / PX_WRITABLE
     *   otherwise) and watch the TLS socket for those, not for "readable because we read": a TLS read may need the
     *   socket writable, a write may need it readable;
     * - OpenSSL takes whole records off the socket and may hold decrypted bytes epoll knows nothing of: read a TLS
     *   source again while its last read brought bytes, including right after the sink drained a full buffer, and
     *   if you stop early (fairness) arm a 0 ms timer to come back, or the connection stalls with data in hand;
     * - half-close: at end of file on the other side, px_tls_shutdown() the TLS sink (close_notify, which may
     *   -EAGAIN like a write) before shutdown(SHUT_WR); a px_tls_read() of 0 is the peer's close_notify;
     * - on success the relay owns both sessions: px_tls_free() each before closing its socket when the relay ends;
     *   on failure they stay the caller's.
     */
    (void)loop;
    (void)client_fd;
    (void)client_tls;
    (void)upstream_fd;
    (void)upstream_tls;
    (void)mode;
    (void)buffer_bytes;
    (void)done;
    (void)ctx;
    (void)out;
    return -ENOSYS;
}

px_relay_stats px_relay_progress(const px_relay *r)
{
    /* TODO: the stats counted so far. */
    (void)r;
    px_relay_stats none;
    memset(&none, 0, sizeof none);
    return none;
}

void px_relay_abort(px_relay *r)
{
    /* TODO: what the end of a relay does (unwatch, close both sockets and both pipes, free), without done. */
    (void)r;
}
