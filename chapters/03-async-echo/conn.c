/*
 * conn.c — chapter 03, parts 2 and 3: the echo connection as a hand-written future.   (exercise skeleton)
 *
 * Yours: every function below. Each returns -ENOSYS, AE_PENDING or nothing so the file compiles and the tests
 * run; replace the body, and delete the `(void)param;` lines as you start using the parameters.
 *
 * The state machine (conn.h has the contract). rustc turns
 *     loop { let n = sock.read(&mut buf).await?; if n == 0 { return } sock.write_all(&buf[..n]).await? }
 * into an enum with one variant per `.await`; yours has READING (owes nothing, waits for AE_READABLE), WRITING
 * (owes bytes, waits for AE_WRITABLE and nothing else) and DONE. Every AE_PENDING you return must be preceded by
 * ae_reactor_modify(reactor, &c->src, what-you-wait-for): that registration is the waker. A future that returns
 * Pending without arranging a wake-up is never polled again — the classic lost wake-up.
 *
 * Suggested helpers (static, yours to write):
 *   set_nodelay(fd)     setsockopt TCP_NODELAY = 1; EOPNOTSUPP/ENOPROTOOPT (not a TCP socket) is fine
 *   finish(c, error)    free what is owed, state = DONE, c->error = error, return AE_READY
 *   wait_for(c, bits)   ae_reactor_modify to exactly `bits`; AE_PENDING, or finish(c, rc) if that failed
 *   flush(c)            send buf[buf_off..buf_len) until all gone (free it, back to READING: 0) or EAGAIN
 *   echo(c, n)          send the n scratch bytes; copy what the socket refused into a malloc'd c->buf
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

int ae_conn_init(ae_conn *c, int fd, ae_reactor *reactor, const ae_echo_ctx *ctx, ae_ready_fn *on_ready)
{
    /* TODO: zero *c (a compound literal does it) with reactor, ctx and state READING, and src.fd = -1; make fd
     * non-blocking; set TCP_NODELAY (skip it quietly on a non-TCP socket); register &c->src for AE_READABLE with
     * on_ready. Return the first error; on error the fd stays the caller's, so do not close it.
     * Rust: TcpStream::set_nodelay(true), then tokio::spawn. Trap: without TCP_NODELAY, a 4 KiB message echoed
     * in several writes stalls ~40 ms per round trip (Nagle waits for an ACK the client delays): the study's
     * Tokio echo has exactly that flaw. */
    (void)fd;
    (void)reactor;
    (void)ctx;
    (void)on_ready;
    c->src.fd = -1;
    return -ENOSYS;
}

ae_poll ae_conn_poll(ae_conn *c)
{
    /* TODO: the echo loop, resumed where it stopped.
     *   DONE: return AE_READY (a spent future stays spent).
     *   loop:
     *     WRITING: flush. EAGAIN -> wait_for(AE_WRITABLE). Error -> finish(error). All gone -> READING.
     *     draining (ae_conn_drain was called) and nothing owed -> finish(0).
     *     after AE_CONN_BUDGET reads -> wait_for(AE_READABLE): yield, the level-triggered reactor calls again.
     *     recv(fd, ctx->scratch, ctx->cap): EINTR -> again; EAGAIN -> wait_for(AE_READABLE); other error ->
     *       finish(-errno); 0 -> the peer shut down its side; nothing is owed in READING, so finish(0).
     *     n > 0: bytes_in += n; echo. If the socket refused some, you are WRITING: wait_for(AE_WRITABLE).
     * Rust: Future::poll; `?` becomes finish(-errno). Traps: send with MSG_NOSIGNAL (a reset peer otherwise
     * raises SIGPIPE and kills the whole server); the scratch buffer is shared, so owed bytes must be copied out
     * before returning; and while WRITING, do not ask for AE_READABLE — that is the backpressure. */
    (void)c;
    return AE_PENDING;
}

ae_poll ae_conn_drain(ae_conn *c)
{
    /* TODO: set c->draining and poll: a connection owing nothing completes at once, one owing bytes flushes
     * them first. Rust: letting write_all finish before dropping the task. Trap: reading on after the drain
     * began would keep a chatty peer's connection alive for ever. */
    (void)c;
    return AE_PENDING;
}

void ae_conn_close(ae_conn *c)
{
    /* TODO: if src.fd >= 0: remember the fd, deregister, then close it. Free what is owed (buf = NULL,
     * lengths 0), state DONE. A second call must do nothing. Rust: dropping the future drops its TcpStream.
     * Trap: close before deregister leaves the reactor holding a pointer to a source whose fd number the kernel
     * may give to the next accepted socket. */
    (void)c;
}
