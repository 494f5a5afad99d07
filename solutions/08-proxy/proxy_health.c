/*
 * Chapter 08, reference solution: active health checks. Every interval the proxy opens a TCP connection to each
 * endpoint and closes it: an endpoint that refuses or does not answer within the interval counts a failure, so one
 * that is down is ejected within max_failures intervals even when no client is sending it anything, and an ejected
 * one is probed when its breaker's backoff has passed, coming back with its first good answer.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <unistd.h>

static void check_due(px_timer *t);

static void check_done(px_connect *c, int fd, int err)
{
    px_slot *s = PX_CONTAINER_OF(c, px_slot, health);
    s->checking = false;
    if (fd >= 0)
        close(fd);
    px_endpoint_health_result(s, err == 0);
    if (!px_timer_armed(&s->health_timer) &&
        px_loop_timer_start(s->proxy->loop, &s->health_timer, s->proxy->opts.health_interval_ms, check_due) < 0)
        px_log(s->proxy, "%s: cannot arm its health check", s->name);
}

static void check_due(px_timer *t)
{
    px_slot *s = PX_CONTAINER_OF(t, px_slot, health_timer);
    px_proxy *p = s->proxy;
    uint64_t interval = p->opts.health_interval_ms;
    /* An ejected endpoint is checked only as its breaker's one probe, once the backoff has passed: checking it every
     * interval would bring it back as soon as it answers once, backoff or not. */
    bool probe_allowed = !px_breaker_ejected(&s->breaker) || px_breaker_allow(&s->breaker, px_now_ns());
    px_endpoint_view view;
    if (probe_allowed && !s->checking && px_balancer_endpoint(p->balancer, s->slot, &view) == 0) {
        uint64_t timeout = p->opts.connect_timeout_ms < interval ? p->opts.connect_timeout_ms : interval;
        if (px_connect_start(&s->health, p->loop, (const struct sockaddr *)&view.addr.ss, view.addr.len, timeout,
                             check_done) == 0) {
            s->checking = true;
            s->check_ns = px_now_ns();
            return; /* check_done arms the next one */
        }
        px_endpoint_health_result(s, false);
    }
    if (px_loop_timer_start(p->loop, &s->health_timer, interval, check_due) < 0)
        px_log(p, "%s: cannot arm its health check", s->name);
}

void px_health_start(px_slot *s)
{
    px_proxy *p = s->proxy;
    if (p->opts.health_interval_ms == 0 || px_timer_armed(&s->health_timer) || s->checking)
        return;
    if (px_loop_timer_start(p->loop, &s->health_timer, p->opts.health_interval_ms, check_due) < 0)
        px_log(p, "%s: cannot arm its health check", s->name);
}

void px_health_stop(px_slot *s)
{
    if (s->proxy == NULL)
        return;
    px_loop_timer_cancel(s->proxy->loop, &s->health_timer);
    if (s->checking)
        px_connect_cancel(&s->health);
    s->checking = false;
}
