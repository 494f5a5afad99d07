/*
 * Chapter 08, part 4: http mode. Each request is balanced on its own, over pooled keep-alive upstream connections
 * (proxy_pool.c), with a deadline, and retried within the budget when that is safe (part 3's budget.h).
 *
 * What a session does with its client, one request at a time (pipelined requests wait in the input buffer, in order):
 *  1. Read a request head: px_http_parse_request() on the bytes so far. A parse error is answered from the proxy
 *     (px_http_error_response(): 400, 431 for PX_HTTP_TOO_LARGE, 505 for PX_HTTP_BAD_VERSION) and the connection
 *     closes, since its framing is lost. Write the upstream's head at once with px_http_write_request_head() and the
 *     client's address (getpeername() on s->client_fd) for x-forwarded-for: the parsed head borrows the buffer.
 *  2. The body: a Content-Length of at most 64 KiB is read whole before anything is sent and kept until the response
 *     has ended: that is the replay buffer a retry sends again. A longer or chunked body is streamed upstream as it
 *     arrives (px_http_body_scan() finds its end); once a byte of it has gone, the request cannot be sent again.
 *  3. The exchange: px_budget_deposit() once per request; px_endpoint_pick() (-EHOSTUNREACH: answer 503); an idle
 *     connection from px_pool_take() or px_connect_start() with opts.connect_timeout_ms (wrap its socket with
 *     px_upconn_open(): the watch travels with the connection, to the pool and back); send head and body; read the
 *     response head (px_http_parse_response(); skip interim 1xx); send px_http_write_response_head() and the body,
 *     its end found by px_http_body_scan() with px_http_body_init(..., request was HEAD).
 *  4. The end: px_endpoint_release() with the latency from request sent to response head and whether the status was
 *     below 500; the upstream connection to px_pool_put() only when the response's framing ended it exactly (both
 *     sides keep-alive, request fully sent, no stray bytes, not framed by the close), else closed; then the next
 *     request, or close when either side said Connection: close.
 *
 * Failures. A connect failure, a reset, an end of file or garbage before a whole response head is an upstream
 * failure: px_endpoint_report(pick, latency, false) and px_endpoint_release(), then px_retry_decide() with the method,
 * whether a streamed body was consumed, the attempts (at most 3), the deadline and &p->budget. PX_RETRY: pick again
 * (p->retries++); otherwise answer 502 (p->retries_refused++ for PX_RETRY_NO_BUDGET). A 5xx head is reported as a
 * failure but forwarded, never retried. After response bytes have reached the client, a failure can only close the
 * client's connection.
 *
 * Deadline: opts.request_timeout_ms from the head's arrival to the response head (a loop timer). When it fires: the
 * upstream connection is closed, never pooled (its late answer would be read as the next request's), the failure is
 * reported, and the client gets 504. No retry after it.
 *
 * System calls are most of what a request costs: read a socket only once the loop has said it is readable (a read
 * shorter than the room it had emptied the socket), and change a watch's interest only when it must change.
 *
 * Ownership: the session's state hangs from s->http; px_http_session_free() (called by px_session_close(), in any
 * state) unwatches and frees all of it and closes the upstream socket; s->client_fd stays the session's and
 * px_session_close() closes it. Use s->connect for connects and s->pick / s->picked for the current attempt, so that
 * px_session_close() cancels and releases what is left.
 */
#define _GNU_SOURCE
#include "http1.h"
#include "proxy_impl.h"

void px_http_session_start(px_session *s)
{
    /* TODO: allocate the session's state (buffers: a request head plus a 64 KiB replay body from the client, the
     * rewritten head, a response head from the upstream, what goes back to the client), hang it from s->http, note
     * the client's address for x-forwarded-for, and watch s->client_fd for PX_READABLE. Every callback then drives
     * one function that makes all the progress it can (read, parse, connect, send, forward) and sets each watch's
     * interest to what would let it go further: readable while a request or its body is awaited, writable while
     * bytes wait for the client; the upstream's writable while the request is not all sent, readable while its
     * response is awaited and the client's buffer is empty (backpressure). Until then, the client is closed at once. */
    px_session_close(s);
}

void px_http_session_free(px_session *s)
{
    /* TODO: undo what px_http_session_start() and the exchange set up, whatever state the session is in: unwatch the
     * client (do not close it: px_session_close() does), unwatch and close the upstream socket, cancel the deadline
     * timer, free the buffers and the state, and set s->http to NULL. */
    (void)s;
}
