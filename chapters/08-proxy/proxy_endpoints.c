/*
 * Chapter 08, parts 2 and 3: the endpoint table — the balancer's slots and, per slot, what the proxy adds (a
 * breaker, a latency histogram, counters, health-check timers): px_slot in proxy_impl.h. YOUR CODE.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <errno.h>

int px_endpoints_reload(px_proxy *p, char *err, size_t err_len)
{
    /* TODO (part 2): px_endpoints_load the file (a bad file changes nothing: return its error with err filled),
     * px_balancer_set_endpoints, then bring p->slots in line with the balancer's slots: grow the array when the
     * balancer has more slots (careful: timers and connects are embedded in px_slot and the loop points at them, so
     * stop them before the array moves and start them again after); a slot whose generation changed is a new
     * endpoint: a fresh px_slot (its name, a breaker initialised with opts.max_failures, health checks started); a
     * slot the balancer freed is retired (its timers stopped). Log "endpoints: N from FILE". */
    (void)p, (void)err, (void)err_len;
    return -ENOSYS;
}

void px_endpoints_clear(px_proxy *p)
{
    /* TODO: retire every live slot (stop its health check and probe timers): the proxy is going away. */
    (void)p;
}

px_slot *px_endpoint_slot(px_proxy *p, px_pick pick)
{
    /* TODO: the slot of @p pick, or NULL when the pick is stale (its endpoint left the set: the generation moved). */
    (void)p, (void)pick;
    return NULL;
}

int px_endpoint_pick(px_proxy *p, const px_pick *avoid, size_t n_avoid, px_pick *out)
{
    /* TODO (part 2): px_balancer_pick and count the request on its slot. (Part 3: a pick of an endpoint whose
     * breaker is probing is the probe — make the endpoint unavailable until its outcome is known. And a retry's
     * pick leaves out the endpoints in @p avoid: make each one that is available unavailable for this one pick,
     * then available again; only when nothing else could be picked, pick among them.) */
    (void)p, (void)avoid, (void)n_avoid, (void)out;
    return -ENOSYS;
}

void px_endpoint_report(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    /* TODO: an outcome: on success, the latency into the slot's histogram; on failure, count it. (Part 3: feed
     * the breaker, px_breaker_success/failure, log "ejected" when it opens, and mirror its verdict into the
     * balancer: px_balancer_set_available(!px_breaker_ejected). Without health checks, arm a timer for when the
     * breaker allows a probe, so that one request tries the endpoint again; the timer runs on the loop's clock,
     * read once per turn, so it may fire before px_breaker_allow agrees: then arm it again for the rest.) A stale
     * pick is ignored. */
    (void)p, (void)pick, (void)rtt_ns, (void)ok;
}

void px_endpoint_release(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    /* TODO: the pick is over: px_balancer_done (in-flight count and EWMA). */
    (void)p, (void)pick, (void)rtt_ns, (void)ok;
}

void px_endpoint_health_result(px_slot *s, bool ok)
{
    /* TODO (part 3): a health check's outcome into the breaker (not the latency histogram: a check is not a
     * request), mirrored into the balancer like a report; log "healthy again" when an ejected endpoint closes. */
    (void)s, (void)ok;
}
