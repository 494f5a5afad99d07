/*
 * Chapter 08, reference solution: tcp mode. A client connection is forwarded to one endpoint for its whole life:
 * pick, connect with a deadline, relay. A connect that fails is retried on another pick, which is safe at L4 because
 * nothing has been read from the client yet: its bytes wait in the kernel's receive buffer until the relay starts.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Connect attempts per client before it is turned away: one endpoint dying costs a client nothing. */
#define TCP_ATTEMPTS 3

static void session_connect(px_session *s);

static void relay_done(void *ctx, const px_relay_stats *stats)
{
    px_session *s = ctx;
    s->relay = NULL; /* it closed both sockets and frees itself when this returns */
    px_endpoint_release(s->proxy, s->pick, s->rtt_ns, true);
    s->picked = false;
    if (stats->error != 0 && !s->proxy->opts.quiet)
        px_log(s->proxy, "connection ended with %s after %llu bytes up, %llu down", strerror(-stats->error),
               (unsigned long long)stats->bytes_up, (unsigned long long)stats->bytes_down);
    px_session_close(s);
}

static void connected(px_connect *c, int fd, int err)
{
    px_session *s = PX_CONTAINER_OF(c, px_session, connect);
    px_proxy *p = s->proxy;
    uint64_t rtt = px_now_ns() - s->connect_ns;
    if (err == 0 && px_tls_session_connect(s, fd, connected))
        return; /* part 5: --tls-out: the endpoint is reached once verified; this callback runs again then */
    px_endpoint_report(p, s->pick, rtt, err == 0);
    if (err != 0) {
        /* The pick is over: out of the balancer's in-flight count, with the failure's latency. */
        px_endpoint_release(p, s->pick, rtt, false);
        s->picked = false;
        px_session_note_failure(s); /* the next attempt goes elsewhere if it can */
        px_slot *slot = px_endpoint_slot(p, s->pick);
        px_log(p, "connect to %s failed: %s", slot ? slot->name : "a removed endpoint", strerror(-err));
        session_connect(s);
        return;
    }
    /* The session stays counted in flight at its endpoint for as long as the relay runs: that is the load that
     * least-loaded and P2C compare. The latency sample is the connect's. */
    px_relay *relay;
    int rc = px_tls_relay_start(s, fd, relay_done, &relay); /* part 5: px_relay_start_tls with the TLS sessions */
    if (rc < 0) {
        close(fd);
        px_log(p, "cannot relay: %s", strerror(-rc));
        px_session_close(s);
        return;
    }
    s->client_fd = -1;
    s->relay = relay;
    s->rtt_ns = rtt;
}

static void session_connect(px_session *s)
{
    px_proxy *p = s->proxy;
    while (s->attempts < TCP_ATTEMPTS) {
        s->attempts++;
        int rc = px_endpoint_pick(p, s->failed, s->nfailed, &s->pick);
        if (rc < 0) {
            p->no_endpoint++;
            px_log(p, "no endpoint available: closing the client");
            break;
        }
        s->picked = true;
        px_endpoint_view view;
        if (px_balancer_endpoint(p->balancer, s->pick.slot, &view) < 0)
            break;
        s->connect_ns = px_now_ns();
        rc = px_connect_start(&s->connect, p->loop, (const struct sockaddr *)&view.addr.ss, view.addr.len,
                              p->opts.connect_timeout_ms, connected);
        if (rc == 0)
            return;
        px_endpoint_release(p, s->pick, 0, false);
        s->picked = false;
        px_session_note_failure(s);
        px_log(p, "cannot connect: %s", strerror(-rc));
    }
    px_session_close(s);
}

void px_tcp_session_start(px_session *s)
{
    px_tls_session_accept(s, session_connect); /* part 5: --tls-in: the client is verified before any connect */
}
