/*
 * Chapter 08, part 4: http mode's exchanges with the upstreams (the session side is proxy_http.c; what both files
 * share, the session's state included, is in proxy_http.h, yours to reshape).
 *
 * An attempt picks an endpoint (px_endpoint_pick(); -EHOSTUNREACH: answer 503), takes an idle connection with
 * px_pool_take() or connects with px_connect_start() and wraps the new socket with px_upconn_open(), sends the
 * rewritten head and the body, reads the response head and then copies the response to the session's output.
 *
 * System calls are most of what a request costs: read the upstream only once the loop has said it is readable (a
 * read shorter than the room it had emptied the socket), keep a connection's watch as it goes to the pool and back,
 * and change its interest only when it must change.
 */
#define _GNU_SOURCE
#include "proxy_http.h"

void px_http_attempt(http_conn *h)
{
    /* TODO: count the attempt, pick an endpoint (s->pick, s->picked), then px_pool_take() or a connect with
     * opts.connect_timeout_ms whose callback wraps the socket with px_upconn_open() and calls px_http_step(). A
     * connect that fails is an upstream failure: report it, then px_retry_decide() says whether to try again.
     * (Part 3: note each endpoint this request fails on, px_session_note_failure, with s->nfailed emptied at its
     * first attempt, and give s->failed to px_endpoint_pick, so that a retry goes to another endpoint when there is one.)
     */
    (void)h;
}

int px_http_exchange(http_conn *h)
{
    /* TODO: one round of the request in flight: send what the upstream is still owed (head, then replay or
     * streamed body), read the response head once the upstream is readable (px_http_parse_response(); skip interim
     * 1xx), then copy the body to the client's buffer while it is empty (backpressure), its end found by
     * px_http_body_scan(). At the response's end, px_endpoint_release() and the connection to px_pool_put() when its
     * framing ended it exactly, else closed. Return 1 on progress, 0 when waiting, -1 when the session must close. */
    (void)h;
    return -1;
}

void px_http_upstream_close(http_conn *h)
{
    /* TODO: cancel a connect in progress (s->connect) and px_upconn_close() the attempt's connection, if any. */
    (void)h;
}

void px_http_pick_done(http_conn *h, bool ok)
{
    /* TODO: when the session holds a pick (s->picked), px_endpoint_release() it with the attempt's latency and
     * @p ok, and clear s->picked. */
    (void)h;
    (void)ok;
}
