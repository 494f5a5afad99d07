/*
 * Chapter 08, reference solution: http mode's upstream connections and the pool of idle ones.
 *
 * An HTTP/1.1 connection that finished a response cleanly (framing known, both sides keep-alive) can carry the next
 * request to the same endpoint without a new handshake. The pool keeps such connections per endpoint, at most
 * POOL_IDLE_MAX each, on one list owned by the proxy (p->pools).
 *
 * A connection stays registered with epoll from its connect to its close: its px_upconn, which embeds the watch,
 * moves between the exchange that uses it and the pool, and only the callback it reaches changes (u->fn, NULL while
 * idle). Taking it out of epoll and putting it back on every hand-over would cost two epoll_ctl calls per request
 * each way, more than the request's own reads and writes on a machine where entering the kernel is dear.
 *
 * An idle connection is watched for readability: the upstream has nothing to say between requests, so readable
 * means it closed (end of file), reset, or sent bytes nobody asked for. Any of those ends the connection at once:
 * left in the pool, it would hand the next request a socket already dead, and the fd would sit in CLOSE_WAIT. A take
 * does not probe the socket again (a recv per request): what the loop has reported is handled already, and a close
 * that raced the take shows as an upstream failure of the request sent on it, retried when the request allows it.
 *
 * Entries are keyed by px_pick (slot and generation): a connection to an endpoint that has since left the set
 * never matches a new pick, and is dropped when a take or a put finds it stale.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* Idle connections kept per endpoint: enough for the concurrency of a busy client set, few enough that a proxy in
 * front of many endpoints does not hold thousands of sockets nobody uses. */
#define POOL_IDLE_MAX 16

typedef struct px_pool_set {
    px_upconn *head; /* most recently returned first */
    size_t n;
} px_pool_set;

static px_pool_set *pool_set(px_proxy *p)
{
    if (p->pools == NULL)
        p->pools = calloc(1, sizeof(px_pool_set));
    return p->pools;
}

static void idle_unlink(px_pool_set *ps, px_upconn *u)
{
    if (u->prev)
        u->prev->next = u->next;
    else
        ps->head = u->next;
    if (u->next)
        u->next->prev = u->prev;
    u->next = u->prev = NULL;
    ps->n--;
}

/* The one callback of every connection's watch: the holder's while one holds it; idle, readable ends it. */
static void upconn_ready(px_watch *w, uint32_t ready)
{
    px_upconn *u = PX_CONTAINER_OF(w, px_upconn, watch);
    if (u->fn != NULL) {
        u->fn(u, ready);
        return;
    }
    idle_unlink(u->proxy->pools, u);
    px_upconn_close(u);
}

int px_upconn_open(px_proxy *p, px_pick pick, int fd, uint32_t interest, px_upconn_fn *fn, void *owner, px_upconn **out)
{
    px_upconn *u = calloc(1, sizeof *u);
    if (u == NULL) {
        close(fd);
        return -ENOMEM;
    }
    u->proxy = p;
    u->pick = pick;
    u->fn = fn;
    u->owner = owner;
    int rc = px_loop_watch(p->loop, &u->watch, fd, interest, upconn_ready);
    if (rc < 0) {
        close(fd);
        free(u);
        return rc;
    }
    *out = u;
    return 0;
}

void px_upconn_close(px_upconn *u)
{
    if (u == NULL)
        return;
    int fd = u->watch.fd;
    px_loop_unwatch(u->proxy->loop, &u->watch); /* unwatch, then close: the loop never closes what it watches */
    close(fd);
    free(u);
}

px_upconn *px_pool_take(px_proxy *p, px_pick pick, px_upconn_fn *fn, void *owner)
{
    px_pool_set *ps = p->pools;
    if (ps == NULL)
        return NULL;
    /* Most recently returned first (the list is pushed at the head): the warmest connection, and the one least
     * likely to have hit an upstream's idle timeout. */
    for (px_upconn *u = ps->head, *next; u != NULL; u = next) {
        next = u->next;
        if (u->pick.slot != pick.slot)
            continue;
        idle_unlink(ps, u);
        if (u->pick.gen != pick.gen) {
            px_upconn_close(u); /* the slot now holds another endpoint */
            continue;
        }
        u->fn = fn;
        u->owner = owner;
        return u;
    }
    return NULL;
}

void px_pool_put(px_upconn *u)
{
    px_proxy *p = u->proxy;
    px_pool_set *ps = pool_set(p);
    size_t same = 0;
    for (px_upconn *e = ps ? ps->head : NULL; e != NULL; e = e->next)
        same += e->pick.slot == u->pick.slot && e->pick.gen == u->pick.gen;
    /* A draining proxy keeps nothing; an endpoint gone from the set, or one with a full pool, neither. Idle, the
     * connection must be watched for readable and nothing else (writable would be reported on every turn); the
     * exchange that returns it usually watches it for exactly that already, and then this costs no call. */
    if (ps == NULL || p->draining || same >= POOL_IDLE_MAX || px_endpoint_slot(p, u->pick) == NULL ||
        (u->watch.interest != PX_READABLE && px_loop_modify(p->loop, &u->watch, PX_READABLE) < 0)) {
        px_upconn_close(u);
        return;
    }
    u->fn = NULL;
    u->owner = NULL;
    u->next = ps->head;
    u->prev = NULL;
    if (ps->head)
        ps->head->prev = u;
    ps->head = u;
    ps->n++;
}

void px_pool_free(px_proxy *p)
{
    px_pool_set *ps = p->pools;
    if (ps == NULL)
        return;
    while (ps->head != NULL) {
        px_upconn *u = ps->head;
        idle_unlink(ps, u);
        px_upconn_close(u);
    }
    free(ps);
    p->pools = NULL;
}
