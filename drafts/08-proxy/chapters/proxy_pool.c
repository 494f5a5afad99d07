/*
 * Chapter 08, part 4: http mode's pool of idle upstream connections (declared at the end of proxy_impl.h).
 *
 * A connection whose last response ended cleanly (its framing known, both sides keep-alive) can carry the next
 * request to the same endpoint without a new handshake. Keep such connections per endpoint on a list hung from
 * p->pools, at most 16 per endpoint, keyed by px_pick (slot and generation, so a connection to an endpoint that has
 * left the set never serves a new pick of the slot).
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <unistd.h>

int px_pool_take(px_proxy *p, px_pick pick)
{
    /* TODO: find an idle connection of @p pick (same slot AND generation), most recently returned first. Stop
     * watching it, take it off the list and return its fd. Before handing it out, peek at it
     * (recv(MSG_PEEK | MSG_DONTWAIT)): a read of 0 or an error means the upstream closed it and the loop has not
     * told you yet; close it and look further. A stale generation: close it too. Return -1 when nothing fits, and
     * the caller connects. */
    (void)p;
    (void)pick;
    return -1;
}

void px_pool_put(px_proxy *p, px_pick pick, int fd)
{
    /* TODO: keep @p fd idle for @p pick's endpoint. Allocate p->pools on first use. Close it instead when the proxy
     * is draining, the endpoint has left the set (px_endpoint_slot() is NULL) or 16 connections of that endpoint
     * are idle already. A kept connection is watched for PX_READABLE: an idle upstream has nothing to say, so
     * readable means it closed, reset or sent garbage; the callback closes it and takes it off the list at once.
     * Unwatched, a closed connection would wait in CLOSE_WAIT and fail the next request given it. */
    (void)p;
    (void)pick;
    close(fd);
}

void px_pool_free(px_proxy *p)
{
    /* TODO: unwatch and close every idle connection, free the list and set p->pools to NULL. px_proxy_destroy()
     * calls this before destroying the loop, which refuses to go while anything is still watched. */
    (void)p;
}
