/*
 * Chapter 08, part 6: the admin listener — `GET /metrics` (Prometheus text, metrics.h) and `GET /ready` (200, or 503
 * once a drain has started). Each admin connection carries one request: read its head within a deadline, answer,
 * close. They run on the proxy's loop beside the sessions but are not sessions: a drain neither waits for them nor
 * cuts them, so /ready goes on answering (503) while the drain runs.
 *
 * px_proxy_create() has bound p->admin_fd (non-blocking) when --admin was given; px_proxy_run() calls
 * px_admin_start() and px_proxy_destroy() calls px_admin_stop(). p->admin is yours: point it at this file's state.
 */
#define _GNU_SOURCE
#include "http1.h"
#include "proxy_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * TODO (state): two structs of your own.
 * - One per admin connection: its fd (owned), a px_watch, a px_timer for its deadline, a buffer for the request head
 *   and the bytes in it, and the answer being sent (a buffer, its length, how much went out). Keep them on a list
 *   (next/prev): px_admin_stop() must find and free the ones still open.
 * - One for the listener, which p->admin points to: the list's head, and a timer to pause accepting when accept4()
 *   says EMFILE/ENFILE (the listener is level-triggered: a queued client you cannot take would wake the loop on every
 *   turn; proxy.c's on_accept shows the pattern).
 *
 * TODO (accepting): on the listener's readiness, accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) every queued client until
 * EAGAIN, not one per wake-up. For each: allocate its state, watch it PX_READABLE and arm its deadline (a couple of
 * seconds: a silent client must not hold an fd for ever). Put it on the list before the two calls that can fail, so
 * one close function can undo whatever was done.
 *
 * TODO (closing, one function for every path): unwatch, cancel the deadline, read away what the client sent that
 * was never read (close() with unread data sends a reset, which can overtake the answer), close, unlink, free. The
 * deadline's callback only calls it.
 *
 * TODO (reading): read into the head buffer and give the bytes so far to px_http_parse_request(): 0 means wait for
 * more (unless the buffer is full: 431), an error 400 (PX_HTTP_TOO_LARGE: 431), a length a whole head to route.
 * End of file or an error before that: close without an answer.
 *
 * TODO (routing): a method other than GET is 405 with `Allow: GET`. The path (the target up to a '?') `/ready` is
 * 200 "ready\n", or 503 "draining\n" once p->draining; `/metrics` is 200 with `Content-Type: text/plain;
 * version=0.0.4` and the page below (500 if rendering fails); anything else 404. Every answer is one buffer: the
 * status line, Content-Type, Content-Length, `Connection: close`, a blank line, the body. Send it non-blocking: on
 * EAGAIN watch the connection PX_WRITABLE only (readable would spin) and go on when it is writable; once all is out,
 * close. send() may take only part of a large page (thousands of endpoints are megabytes): count what it took. The
 * head's deadline is over once you answer: give the answer a deadline of its own, restarted whenever the client has
 * taken more, so a slow but steady reader gets the whole page and a stalled one is closed.
 *
 * TODO (/metrics): render with px_prom (px_prom_init, px_prom_family once per family, its series, px_prom_finish,
 * which hands you the text to free). One block per family, each with a series per *live* slot (slot->live, and the
 * balancer's view of slot->slot with the same generation as slot->pick), labelled endpoint="<slot->name>":
 *   px_open_connections (gauge, p->n_sessions), px_accepted_connections_total (p->accepted),
 *   px_endpoint_requests_total (slot->requests), px_endpoint_failures_total (slot->failures),
 *   px_endpoint_latency_ms (histogram, slot->latency), px_endpoint_ewma_ms (gauge, the view's ewma_ns in ms),
 *   px_endpoint_in_flight (the view's in_flight), px_endpoint_available (1/0, the view's available),
 *   px_endpoint_ejections_total (slot->breaker.ejections), px_endpoint_health_failures_total (slot->health_failures),
 *   px_retries_total, px_retries_refused_total, px_no_endpoint_total, px_reloads_total, px_reload_failures_total,
 *   px_draining (gauge, 1/0).
 */

int px_admin_start(px_proxy *p)
{
    /* TODO: allocate the listener's state into p->admin and watch p->admin_fd PX_READABLE with your accept callback.
     * Returning 0 without watching leaves every admin client waiting in the kernel's queue. */
    (void)p;
    return 0;
}

void px_admin_stop(px_proxy *p)
{
    /* TODO: unwatch the listener, cancel the pause timer, close every admin connection still on the list (with the
     * same close function as every other path), free the state and set p->admin to NULL. Called once the loop has
     * stopped, before px_loop_destroy(), which asserts nothing is left watched or armed. */
    (void)p;
}
