/*
 * server.c — chapter 03, parts 4 and 5: accept as spawn, limits, idle timeouts, graceful shutdown.
 *                                                                                  (exercise skeleton)
 * Given: ae_now_ms. Yours: everything else; each returns -ENOSYS, 0 or nothing so the file compiles and the tests
 * run. server.h describes the whole design; below, what each piece must do.
 *
 * Suggested helpers (static, yours to write):
 *   part 4  set_accepting(s, on)   listener interest AE_READABLE or 0 (count a pause in stats.accept_paused)
 *           spawn(s, fd)           malloc an ae_conn, ae_conn_init(.., on_conn_ready), c->server = s, link it
 *           reap(s, c)             unlink, ae_conn_close, free, n_conns--, and let a waiting client in
 *           on_conn_ready          poll the connection; READY -> reap; progress (bytes moved) -> touch
 *           on_listener_ready      accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) in a loop (at most ~64 per event)
 *           open_listener(s)       socket, SO_REUSEADDR, bind, listen(SOMAXCONN), getsockname, register
 *   part 5  idle_unlink / idle_push_back / touch   the idle queue, oldest deadline first
 *           next_timeout(s)        ms until the nearest deadline (idle head, accept retry, drain), or -1
 *           run_timers(s)          close idle connections, retry accept, end the drain
 *           open_signals(s)        block SIGINT/SIGTERM (pthread_sigmask), signalfd, register
 *           on_signal_ready        read the signalfd_siginfo records; any -> ae_server_stop
 */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t ae_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ae_server_open(ae_server *s, const ae_config *cfg)
{
    /* TODO (part 4): zero *s and set every fd (reactor.epfd, listener.fd, signals.fd) to -1, so that
     * ae_server_close works after any failure. Copy cfg, refuse negative limits (-EINVAL), fill in defaults
     * (host "127.0.0.1", max_conns 1024, drain AE_DEFAULT_DRAIN_MS, buf_size AE_DEFAULT_BUF_SIZE); malloc the
     * scratch buffer; ae_reactor_init; open the listener (inet_pton fails -> -EINVAL; bind's EADDRINUSE comes
     * back as -EADDRINUSE); with cfg->handle_signals, open the signalfd (part 5). On any failure call
     * ae_server_close(s) and return the error. cfg->host is borrowed for this call only: do not keep it.
     * Rust: TcpListener::bind(addr).await?. Trap: a failed open must not leak the half-built pieces (the test
     * counts descriptors), and must restore the signal mask if it had blocked SIGINT/SIGTERM. */
    memset(s, 0, sizeof *s);
    s->reactor.epfd = s->listener.fd = s->signals.fd = -1;
    (void)cfg;
    return -ENOSYS;
}

uint16_t ae_server_port(const ae_server *s)
{
    /* TODO (part 4): the port getsockname reported after bind (host byte order). Rust: local_addr()?.port(). */
    (void)s;
    return 0;
}

int ae_server_run(ae_server *s)
{
    /* TODO (parts 4-5): until (stopping and no connection left): ae_reactor_poll(&s->reactor, next_timeout(s));
     * a negative result is returned as is; then run_timers(s). Return 0.
     * Accepting (part 4), in on_listener_ready: at max_conns, set_accepting(false) and return (clients wait in
     * the backlog; reap() turns accepting back on). EAGAIN: done. EMFILE/ENFILE/ENOBUFS/ENOMEM: set_accepting
     * (false) and retry after AE_ACCEPT_RETRY_MS (or at the next reap). Other errors (ECONNABORTED...) concern
     * one client only: carry on. Rust: the accept loop with tokio::spawn. Trap: the listener is level-triggered
     * and a failed accept leaves the client queued, so "try again" without removing interest spins at 100% CPU.
     * Timers (part 5): every connection gets deadline = now + idle_timeout_ms at spawn and whenever it moves
     * bytes (move it to the tail). All timeouts are equal, so the list stays sorted: the head expires first.
     * Trap: read the clock when you set a deadline, not once per loop turn — after a long epoll_wait, a cached
     * "now" is old and a deadline computed from it is already past. */
    (void)s;
    return -ENOSYS;
}

void ae_server_stop(ae_server *s)
{
    /* TODO (part 5): once only (s->stopping): close the listener (deregister, close: new connects are refused),
     * set drain_deadline_ms = now + drain_timeout_ms, and ae_conn_drain every connection, reaping those that
     * answer AE_READY. Rust: a cancellation token the accept loop selects on. Trap: reap() unlinks the
     * connection you are standing on: read c->next before reaping c. */
    (void)s;
}

void ae_server_close(ae_server *s)
{
    /* TODO (parts 4-5): close and free every connection still in the idle list, close the listener, read the
     * signalfd empty, close it and restore s->saved_mask, close the reactor, free the scratch buffer. Every step
     * must be safe on a half-opened server and on a second call (fds are -1, pointers NULL). Rust: dropping the
     * runtime. Trap: restoring the mask while a SIGTERM is still pending delivers it with its default action
     * (the process dies after a clean shutdown): consume the signalfd first. */
    (void)s;
}
