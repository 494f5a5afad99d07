/*
 * Chapter 06, part 5: a connection, from accept to free (service_impl.h has the structs and who owns what). Every
 * function returns a neutral value until written; each TODO says what to do and why.
 *
 * Plan: the connection is a small state machine driven by its watch's callback. Readable: recv into `in`, feed the
 * parser, and for each complete request dispatch it (ws_router_match() and the handler numbers of service_impl.h;
 * a 405 carries an Allow header) and queue its answer. A handler that must wait (the pool, a cache flight) leaves
 * the connection `busy`: stop parsing there, so that the next pipelined request is answered after it, and let the
 * operation's callback call ws_conn_advance(). Writable: ws_conn_flush(). After every change, ws_conn_interest().
 */
#define _GNU_SOURCE /* accept4() */
#include "service_impl.h"

#include <stdlib.h>

void ws_worker_on_accept(ws_watch *wt, uint32_t ready)
{
    /* TODO: find the worker from wt (offsetof: listen_watch is inside it). Accept a bounded batch (a loop that
     * accepted for ever would starve the worker's other connections), non-blocking and close-on-exec, with
     * TCP_NODELAY (small responses must not wait for Nagle). Past cfg.max_connections, close the socket at once.
     * Otherwise: calloc a conn, a parse buffer of ws_http_buffer_size() for ws_http_parser_init(), watch the fd
     * for WS_READABLE, link it in the worker's list. Accept nothing while the worker is draining. */
    (void)wt, (void)ready;
}

void ws_conn_free(conn *c)
{
    /* TODO: free the two buffers and the connection. Nothing else: the socket and the list are ws_conn_close()'s. */
    (void)c;
}

void ws_conn_close(conn *c)
{
    /* TODO: unwatch (before close: the loop never closes a watched fd), close, unlink from the worker's list. A
     * busy connection is not freed here: the pool's or the cache's callback still holds the pointer, so mark it
     * dead and let that callback free it. Last, ws_worker_check_drained(): the drain waits for the last close. */
    (void)c;
}

void ws_conn_interest(conn *c)
{
    /* TODO: WS_WRITABLE while output is queued; WS_READABLE only when idle (not busy, not closing) with nothing
     * read left to parse — the loop is level-triggered, so asking for what cannot be used spins it. Close the
     * connection if ws_loop_modify() fails. */
    (void)c;
}

bool ws_conn_flush(conn *c)
{
    /* TODO: send (MSG_NOSIGNAL: a gone client must not kill the process with SIGPIPE) until all is written or
     * EAGAIN; keep what a partial write left; EINTR retries; any other error closes. Once everything is written
     * and close_after is set with nothing in flight, close. Return false whenever c was closed. */
    (void)c;
    return false;
}

void ws_conn_respond(conn *c, ws_response r)
{
    /* TODO: abort unless called on the worker's own thread (pthread_equal with w->owner): another thread must
     * post instead. Close after a refused request, a request without keep-alive, or while draining (the worker's
     * draining, or the service's stopping: the worker hears of the drain one turn late); HEAD gets
     * no body. Grow `out` to fit, ws_http_format() into it (a 500 if that fails), ws_stats_record() the status and the
     * latency since started_ms, write the access log line when asked, and end the request: busy = false. */
    (void)c, (void)r;
}

void ws_conn_respond_text(conn *c, ws_status status, const char *text)
{
    /* TODO: ws_conn_respond() with text/plain when text is not empty, and Retry-After: 1 on a 503. */
    (void)c, (void)status, (void)text;
}

void ws_conn_advance(conn *c)
{
    /* TODO: the request that waited has its answer queued: ws_http_next(), then go on parsing what was read
     * already (pipelined requests), flush and set the interest, as after a read. */
    (void)c;
}
