/*
 * Chapter 08, part 2: the proxy's frame — listeners, signals, sessions, run and drain. YOUR CODE.
 *
 * Everything runs on one thread, in callbacks of one loop (loop.h). A session (proxy_impl.h) is an accepted client
 * connection; its mode's file (proxy_tcp.c, proxy_http.c) drives it, and it stays on the proxy's list until
 * px_session_close(), so a drain can count what is still in flight and cut it when the time is up. Read
 * proxy_main.c (given) for how the program calls this file, and proxy_net.c (given) for px_log and px_listen_on.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

void px_session_close(px_session *s)
{
    /* TODO: end a session on whatever path it is: first px_tls_session_close (part 5: a handshake under way, TLS
     * sessions not yet relayed), then px_connect_cancel its connect, px_relay_abort its relay (if
     * any), px_http_session_free when s->http is set, close client_fd if it is still the session's (>= 0),
     * px_endpoint_release its pick when s->picked (the balancer counts it in flight until then), unlink it from the
     * proxy's list, free it — and, when a drain is waiting, stop the loop once the last session is gone. */
    (void)s;
}

int px_proxy_create(const px_options *opts, px_proxy **out, char *err, size_t err_len)
{
    /* TODO: allocate the proxy and copy the options (keep your own copy of endpoints_file: the caller's string is
     * borrowed for this call only); create the loop and the balancer (opts->balancer; a seed from the clock when
     * opts->seed is 0); in http mode, the retry budget with opts->retry_ratio; read the endpoints with
     * px_endpoints_reload(); bind the listener (px_listen_on) and the admin listener if opts->admin; block SIGHUP,
     * SIGTERM and SIGINT with sigprocmask (and, part 5, px_tls_proxy_setup for the mTLS contexts, while opts'
     * paths are valid) and take them through a non-blocking signalfd watched by the loop (a
     * signal handler could not touch the loop's state safely; a signalfd makes a signal one more readable fd).
     * On any failure: a line in err, everything made so far freed (px_proxy_destroy can do that if it copes with a
     * half-made proxy), and the negative errno. */
    (void)opts, (void)err, (void)err_len;
    *out = NULL;
    return -ENOSYS;
}

void px_proxy_ports(const px_proxy *p, uint16_t *listen_port, uint16_t *admin_port)
{
    /* TODO: the ports px_listen_on reported (0 for an admin listener not asked for). */
    (void)p, (void)listen_port, (void)admin_port;
}

int px_proxy_run(px_proxy *p)
{
    /* TODO: watch the listener (its callback accepts with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) until EAGAIN,
     * since one accept per wake-up costs a turn of the loop per client; EMFILE/ENFILE: stop watching the listener
     * for a moment with a timer, or the level-triggered loop spins on the same queued client; each accepted client
     * becomes a calloc'd session on the list, started with px_tcp_session_start or px_http_session_start per the
     * mode), start the admin listener (px_admin_start) when there is one, and run the loop. The signal callback
     * reloads on SIGHUP (px_endpoints_reload; a failure keeps the old endpoints and logs "reload refused" with the
     * error; count reloads and failures in p) and drains on SIGTERM/SIGINT: p->draining, the listener unwatched and
     * closed (new clients are refused at once instead of queueing), a drain_ms timer that closes what is left and
     * stops the loop; with nothing in flight, stop at once. */
    (void)p;
    return -ENOSYS;
}

void px_proxy_destroy(px_proxy *p)
{
    /* TODO: close every session still open, close the idle upstream connections (px_pool_free: they are
     * watched), retire the endpoints (px_endpoints_clear: their timers), stop the admin listener, unwatch and cancel
     * everything this file watched or armed, destroy the loop, close the fds, free the balancer and the slots, and
     * (part 5) px_tls_proxy_free after the sessions, whose TLS sessions used the contexts. NULL is a no-op. */
    (void)p;
}
