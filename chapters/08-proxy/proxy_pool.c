/*
 * Chapter 08, part 4: http mode's upstream connections and the pool of idle ones (declared in proxy_impl.h).
 *
 * A connection whose last response ended cleanly (its framing known, both sides keep-alive) can carry the next
 * request to the same endpoint without a new handshake. Keep such connections per endpoint on a list hung from
 * p->pools, at most 16 per endpoint, keyed by px_pick (slot and generation, so a connection to an endpoint that has
 * left the set never serves a new pick of the slot).
 *
 * A px_upconn embeds the watch of its socket and travels with it, from the exchange to the pool and back: the
 * socket stays registered with epoll from its connect to its close, and a hand-over costs no epoll_ctl.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <unistd.h>

int px_upconn_open(px_proxy *p, px_pick pick, int fd, uint32_t interest, px_upconn_fn *fn, void *owner, px_upconn **out)
{
    /* TODO: allocate a px_upconn (proxy, pick, fn, owner) and px_loop_watch() its watch on @p fd for @p interest,
     * with one callback of this file for every connection: it calls u->fn(u, ready) while someone holds the
     * connection (fn not NULL); while it is idle, readable means the upstream closed it, reset it or sent garbage,
     * so it takes it off the pool's list and closes it. On any failure close @p fd (it is yours from the call on)
     * and return the negative errno. */
    (void)p;
    (void)pick;
    (void)interest;
    (void)fn;
    (void)owner;
    (void)out;
    close(fd);
    return -ENOSYS;
}

void px_upconn_close(px_upconn *u)
{
    /* TODO: NULL is a no-op. Unwatch first, then close the socket (the loop never closes what it watches), then
     * free @p u. */
    (void)u;
}

px_upconn *px_pool_take(px_proxy *p, px_pick pick, px_upconn_fn *fn, void *owner)
{
    /* TODO: find an idle connection of @p pick (same slot AND generation), most recently returned first, take it
     * off the list, point it at fn and owner and return it: still watched, no epoll_ctl. A stale
     * generation of the slot: close it and look further. Do not probe the socket (a recv per take is a system call
     * per request): a close the loop reported has dropped it already, and a close it has not yet reported shows as
     * an upstream failure of the request sent on it, retried when the request allows it. NULL when nothing fits,
     * and the caller connects. */
    (void)p;
    (void)pick;
    (void)fn;
    (void)owner;
    return NULL;
}

void px_pool_put(px_upconn *u)
{
    /* TODO: keep @p u idle for its endpoint (u->pick), fn and owner cleared. Allocate p->pools on first use.
     * Close it instead when the proxy is draining, the endpoint has left the set (px_endpoint_slot() is NULL) or
     * 16 connections of that endpoint are idle already. An idle connection is watched for PX_READABLE only (change
     * its interest with px_loop_modify() when it is not that already): an idle upstream has nothing to say, so
     * readable means it closed, and the callback drops it at once. Unwatched, a closed connection would wait in
     * CLOSE_WAIT and fail the next request given it. */
    px_upconn_close(u);
}

void px_pool_free(px_proxy *p)
{
    /* TODO: unwatch and close every idle connection, free the list and set p->pools to NULL. px_proxy_destroy()
     * calls this before destroying the loop, which refuses to go while anything is still watched. */
    (void)p;
}
