/*
 * A non-blocking connect with a deadline (connect.h).
 *
 * An attempt in progress belongs to the loop until it ends: its socket is watched for writable (the handshake is
 * over, however it ended) and its deadline timer is armed. The outcome always reaches the owner through the
 * callback, on a later turn of the loop, never from inside px_connect_start().
 */
#define _GNU_SOURCE
#include "connect.h"

#include <errno.h>

int px_connect_start(px_connect *c, px_loop *loop, const struct sockaddr *addr, socklen_t addr_len, uint64_t timeout_ms,
                     px_connect_fn *done)
{
    /*
     * TODO:
     * - open socket(addr's family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC); if that fails, return -errno and
     *   leave nothing open (the callback is not called: nothing was started);
     * - set TCP_NODELAY (for AF_INET / AF_INET6): a proxy forwards small writes at once, Nagle would hold them back
     *   for the peer's delayed ACK; set it before connect(), the connection inherits it;
     * - connect(): EINPROGRESS (or 0: loopback may connect at once) -> watch the socket for PX_WRITABLE and, when
     *   timeout_ms > 0, arm c->deadline; the socket turns writable when the handshake has ended, either way;
     * - any other error from connect() -> close the socket and report the error through the callback on a later
     *   turn (a 0 ms timer): the owner gets every failure on one path, and never re-enters itself while starting;
     * - on writable: getsockopt(SO_ERROR) says how the handshake ended (0, or ECONNREFUSED...);
     * - on the deadline: -ETIMEDOUT (close the socket: the kernel would retry the SYN for minutes);
     * - before calling done: unwatch, disarm, close the socket on failure and mark the attempt finished; done may
     *   start c again or free it, so touch nothing of c after calling it.
     */
    (void)c;
    (void)loop;
    (void)addr;
    (void)addr_len;
    (void)timeout_ms;
    (void)done;
    return -ENOSYS;
}

bool px_connect_pending(const px_connect *c)
{
    /* TODO: true from a successful start until done runs or the attempt is cancelled; false for a zeroed c. */
    (void)c;
    return false;
}

void px_connect_cancel(px_connect *c)
{
    /* TODO: when pending: unwatch (before close: a closed fd number is reused at once), close the socket, disarm the
     * deadline; done is not called. A no-op otherwise. */
    (void)c;
}
