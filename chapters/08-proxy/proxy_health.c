/*
 * Chapter 08, part 3: active health checks. YOUR CODE.
 *
 * Every opts.health_interval_ms the proxy opens a TCP connection to each endpoint and closes it. An endpoint that
 * refuses or does not answer counts a failure, so one that is down is ejected within max_failures intervals even
 * when no client is sending it anything; an ejected one is checked only as its breaker's probe, once the backoff
 * has passed (px_breaker_allow), and comes back with its first good answer.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

void px_health_start(px_slot *s)
{
    /* TODO: arm the slot's health_timer for one interval (nothing when the interval is 0 or a check is already
     * armed or running). Its callback: skip an ejected endpoint unless px_breaker_allow says this is the probe;
     * else px_connect_start(&s->health, ...) with a deadline of min(connect timeout, interval); the connect's
     * callback closes the socket, reports with px_endpoint_health_result and arms the next check. */
    (void)s;
}

void px_health_stop(px_slot *s)
{
    /* TODO: cancel the slot's health timer and its connect in progress. A slot that was never set up (zeroed) is
     * a no-op. */
    (void)s;
}
