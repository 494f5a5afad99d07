/*
 * Chapter 08, reference solution: http mode's pool of idle upstream connections.
 *
 * An HTTP/1.1 connection that finished a response cleanly (framing known, both sides keep-alive) can carry the next
 * request to the same endpoint without a new handshake. The pool keeps such connections per endpoint, at most
 * POOL_IDLE_MAX each, on one list owned by the proxy (p->pools).
 *
 * An idle connection is watched for readability: the upstream has nothing to say between requests, so readable
 * means it closed (end of file), reset, or sent bytes nobody asked for. Any of those ends the connection at once:
 * left in the pool, it would hand the next request a socket already dead, and the fd would sit in CLOSE_WAIT.
 * A take checks once more with a non-blocking peek, for a close that is in the socket but not yet seen by the loop.
 *
 * Entries are keyed by px_pick (slot and generation): a connection to an endpoint that has since left the set
 * never matches a new pick, and is dropped when a take or a put finds it stale.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Idle connections kept per endpoint: enough for the concurrency of a busy client set, few enough that a proxy in
 * front of many endpoints does not hold thousands of sockets nobody uses. */
#define POOL_IDLE_MAX 16

typedef struct px_idle px_idle;
struct px_idle {
    px_idle *next, *prev;
    px_proxy *proxy;
    px_pick pick;
    px_watch watch; /* the connection; watch.fd is the socket, owned by this entry */
};

typedef struct px_pool_set {
    px_idle *head;
    size_t n;
} px_pool_set;

static px_pool_set *pool_set(px_proxy *p)
{
    if (p->pools == NULL)
        p->pools = calloc(1, sizeof(px_pool_set));
    return p->pools;
}

/* Takes @p e off the list, stops watching its socket and frees it; returns the socket, now the caller's. */
static int idle_unlink(px_pool_set *ps, px_idle *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        ps->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    ps->n--;
    int fd = e->watch.fd;
    px_loop_unwatch(e->proxy->loop, &e->watch);
    free(e);
    return fd;
}

static void idle_drop(px_pool_set *ps, px_idle *e) { close(idle_unlink(ps, e)); }

/* An idle connection became readable: end of file, an error, or bytes that answer no request. Each ends it. */
static void idle_ready(px_watch *w, uint32_t ready)
{
    (void)ready;
    px_idle *e = PX_CONTAINER_OF(w, px_idle, watch);
    idle_drop(e->proxy->pools, e);
}

/* Whether @p fd still looks usable: nothing to read and no error. A peer's close shows as a read of 0. */
static bool still_open(int fd)
{
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int px_pool_take(px_proxy *p, px_pick pick)
{
    px_pool_set *ps = p->pools;
    if (ps == NULL)
        return -1;
    /* Most recently returned first (the list is pushed at the head): the warmest connection, and the one least
     * likely to have hit an upstream's idle timeout. */
    for (px_idle *e = ps->head, *next; e != NULL; e = next) {
        next = e->next;
        if (e->pick.slot != pick.slot)
            continue;
        if (e->pick.gen != pick.gen || !still_open(e->watch.fd)) {
            idle_drop(ps, e); /* an endpoint replaced since, or a close the loop has not reported yet */
            continue;
        }
        return idle_unlink(ps, e);
    }
    return -1;
}

void px_pool_put(px_proxy *p, px_pick pick, int fd)
{
    px_pool_set *ps = pool_set(p);
    size_t same = 0;
    for (px_idle *e = ps ? ps->head : NULL; e != NULL; e = e->next)
        same += e->pick.slot == pick.slot && e->pick.gen == pick.gen;
    /* A draining proxy keeps nothing; an endpoint gone from the set, or one with a full pool, neither. */
    px_idle *e = NULL;
    if (ps != NULL && !p->draining && same < POOL_IDLE_MAX && px_endpoint_slot(p, pick) != NULL)
        e = calloc(1, sizeof *e);
    if (e == NULL) {
        close(fd);
        return;
    }
    e->proxy = p;
    e->pick = pick;
    if (px_loop_watch(p->loop, &e->watch, fd, PX_READABLE, idle_ready) < 0) {
        close(fd);
        free(e);
        return;
    }
    e->next = ps->head;
    if (ps->head)
        ps->head->prev = e;
    ps->head = e;
    ps->n++;
}

void px_pool_free(px_proxy *p)
{
    px_pool_set *ps = p->pools;
    if (ps == NULL)
        return;
    while (ps->head != NULL)
        idle_drop(ps, ps->head);
    free(ps);
    p->pools = NULL;
}
