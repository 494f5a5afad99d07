/*
 * Chapter 08, part 5: mutual TLS between two px-proxy instances in tcp mode (proxy_impl.h says what each function is
 * for and where proxy.c and proxy_tcp.c call it).
 *
 * One way to hold it (yours to shape): a per-session record on a list in the proxy (p->tls_states), made at the first
 * handshake and dropped when the relay takes the TLS sessions or the session closes: the client's verified px_tls,
 * the endpoint's, the px_tls whose handshake runs now with its px_watch and its px_timer (the deadline), the
 * endpoint's socket while its handshake runs, and where the session goes on afterwards.
 *
 * Until this part is done, the functions below keep a plain proxy working: no TLS side is accepted, sessions go
 * straight on, the relay is px_relay_start()'s.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <stdio.h>

int px_tls_proxy_setup(px_proxy *p, const px_options *opts, char *err, size_t err_len)
{
    /*
     * TODO: a side is on when any of its ca_file, cert_file, key_file is set: px_tls_ctx_create() it into
     * p->tls_in (server side: true) or p->tls_out (client side), now, while the option strings are valid; on
     * failure say which side in err ("--tls-in-*: <px_tls_ctx_create's line>") and return its errno. Refuse TLS in
     * http mode (-EINVAL) unless you carry it through proxy_http.c too.
     */
    (void)p;
    bool asked = opts->tls_in.ca_file || opts->tls_in.cert_file || opts->tls_in.key_file || opts->tls_out.ca_file ||
                 opts->tls_out.cert_file || opts->tls_out.key_file;
    if (!asked)
        return 0;
    snprintf(err, err_len, "TLS is not written yet (proxy_tls.c)");
    return -ENOSYS;
}

void px_tls_proxy_free(px_proxy *p)
{
    /* TODO: px_tls_ctx_free() both contexts (every session made from them is gone by now). */
    (void)p;
}

void px_tls_session_accept(px_session *s, void (*next)(px_session *s))
{
    /*
     * TODO: with p->tls_in, do not call next(s) yet: px_tls_create() a server session on s->client_fd, watch the
     * socket (readable first: the ClientHello comes), arm a deadline of opts.connect_timeout_ms, and on each event
     * call px_tls_handshake(); on -EAGAIN watch for exactly what px_tls_wants() says (a server's flight may not fit
     * the socket buffer: it then waits for writable). Verified: keep the session for the relay, then next(s).
     * Refused or timed out: log one line "tls from IP:PORT refused: <px_tls_error()>", free the px_tls, then
     * px_session_close(s). No endpoint is picked for a client that is not verified.
     */
    next(s);
}

bool px_tls_session_connect(px_session *s, int fd, px_connect_fn *next)
{
    /*
     * TODO: with p->tls_out and no verified endpoint session yet: take fd, run the client handshake the same way
     * (first wait: writable, to send the ClientHello), return true. Verified: keep the session, call
     * next(&s->connect, fd, 0) (this function then returns false for it). Refused: log "tls to <endpoint> refused:
     * <why>", free the session, close fd, next(&s->connect, -1, err): the endpoint failed like a refused connect.
     * Return false when there is nothing to do.
     */
    (void)s;
    (void)fd;
    (void)next;
    return false;
}

int px_tls_relay_start(px_session *s, int fd, px_relay_done_fn *done, px_relay **out)
{
    /*
     * TODO: px_relay_start_tls() with the session's verified TLS sessions (NULL for a plain side), which the relay
     * takes on success (drop your record); on failure free them here; the sockets stay the caller's either way.
     */
    return px_relay_start(s->proxy->loop, s->client_fd, fd, s->proxy->opts.relay, 0, done, s, out);
}

void px_tls_session_close(px_session *s)
{
    /*
     * TODO: if the session has a record: stop its watch and deadline, px_tls_free() every session it holds, close
     * the endpoint's socket of a handshake under way, drop the record. Runs first in px_session_close().
     */
    (void)s;
}
