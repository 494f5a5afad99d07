/*
 * Chapter 08, part 2: tcp mode — a client connection forwarded to one endpoint for its whole life. YOUR CODE.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

void px_tcp_session_start(px_session *s)
{
    /* TODO: (part 5: start with px_tls_session_accept(s, next), which verifies a --tls-in client before anything
     * else and then calls next; the rest of this comment is next.) Pick an endpoint (px_endpoint_pick; none available: log
     * "no endpoint available" and close the session), look up its address (px_balancer_endpoint) and px_connect_start to it
     * with opts.connect_timeout_ms, noting when the attempt started. In the connect callback:
     *  - failure: px_endpoint_report (the breaker counts it) and px_endpoint_release (out of the balancer's
     *    in-flight count), then try another pick, up to 3 attempts: safe at L4, because nothing has been read from
     *    the client yet — its bytes wait in the kernel until the relay starts. Note the endpoint with
     *    px_session_note_failure and give s->failed to px_endpoint_pick (part 3), so that the next attempt goes elsewhere
     * when it can;
     *  - success: px_endpoint_report with the connect's latency, then px_relay_start(client, upstream,
     *    opts.relay) — part 5: px_tls_relay_start(s, fd, ...) instead, which hands the relay the TLS sessions, and
     *    before it, in the callback, px_tls_session_connect(s, fd, callback): when it returns true it has taken the
     *    socket for the --tls-out handshake and calls the callback again once the endpoint is verified; the relay
     *    owns both sockets from then on (client_fd = -1). Keep the pick in flight until
     *    the relay's done callback: open connections are the load least-loaded and P2C compare. That callback
     *    releases the pick and closes the session. */
    (void)s;
}
