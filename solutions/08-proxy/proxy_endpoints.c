/*
 * Chapter 08, reference solution: the endpoint table. The balancer (balancer.c) owns the endpoints' addresses,
 * in-flight counts and latency estimates in stable slots; this file keeps, per slot, what the proxy adds: a
 * breaker, a latency histogram, counters and the health-check timers. It is the one place where an outcome is fed
 * to all of them, so the breaker's verdict and the balancer's availability never disagree.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

px_slot *px_endpoint_slot(px_proxy *p, px_pick pick)
{
    if (pick.slot >= p->n_slots)
        return NULL;
    px_slot *s = &p->slots[pick.slot];
    /* A generation that moved on means the endpoint this outcome is about has left the set since. */
    return s->live && s->pick.gen == pick.gen ? s : NULL;
}

static void slot_retire(px_slot *s)
{
    if (!s->live)
        return;
    px_health_stop(s);
    px_loop_timer_cancel(s->proxy->loop, &s->probe_timer);
    s->live = false;
}

static void slot_sync(px_slot *s, uint64_t now_ns);

/* The breaker let its backoff pass: make the endpoint pickable again so exactly one request probes it. The timer ran
 * on the loop's clock, read once per turn, which lags the clock the breaker keeps its probe_at_ns on by as long as
 * the turn has taken so far: it can fire a little before the breaker allows the probe. Then it waits for the rest;
 * returning without a timer would leave the endpoint ejected for ever, since no request can reach it to report. */
static void probe_due(px_timer *t)
{
    px_slot *s = PX_CONTAINER_OF(t, px_slot, probe_timer);
    px_proxy *p = s->proxy;
    uint64_t now = px_now_ns();
    if (px_breaker_allow(&s->breaker, now))
        px_balancer_set_available(p->balancer, s->pick, true);
    else
        slot_sync(s, now);
}

/* Mirrors the breaker into the balancer, and arms the probe timer of an endpoint just ejected. */
static void slot_sync(px_slot *s, uint64_t now_ns)
{
    px_proxy *p = s->proxy;
    bool ejected = px_breaker_ejected(&s->breaker);
    px_balancer_set_available(p->balancer, s->pick, !ejected);
    /* Who probes an ejected endpoint: the active health check when there is one (proxy_health.c), else the first
     * client request after the backoff, let through by this timer. Never both: a probe taken by one and waited
     * for by the other would leave the endpoint probing for ever. */
    if (ejected && p->opts.health_interval_ms == 0 && s->breaker.state == PX_BREAKER_OPEN &&
        !px_timer_armed(&s->probe_timer)) {
        uint64_t wait_ns = s->breaker.probe_at_ns > now_ns ? s->breaker.probe_at_ns - now_ns : 0;
        if (px_loop_timer_start(p->loop, &s->probe_timer, (wait_ns + 999999) / 1000000, probe_due) < 0)
            px_log(p, "%s: cannot arm its probe timer", s->name);
    }
}

int px_endpoints_reload(px_proxy *p, char *err, size_t err_len)
{
    px_endpoint_addr *addrs = NULL;
    size_t n = 0;
    int rc = px_endpoints_load(p->endpoints_file, &addrs, &n, err, err_len);
    if (rc < 0)
        return rc;
    rc = px_balancer_set_endpoints(p->balancer, addrs, n, px_now_ns());
    free(addrs);
    if (rc < 0) {
        snprintf(err, err_len, "%s: %s", p->endpoints_file, strerror(-rc));
        return rc;
    }
    size_t slots = px_balancer_slots(p->balancer);
    if (slots > p->n_slots) {
        px_slot *grown = calloc(slots, sizeof *grown);
        if (grown == NULL) {
            snprintf(err, err_len, "out of memory for %zu endpoints", slots);
            return -ENOMEM;
        }
        /* Timers and connects are embedded in the slots, and the loop holds pointers to them: nothing may stay
         * armed while the table moves. Each live slot's timers stop here and start again below, in its new place;
         * its breaker, histogram and counters move with it. */
        for (size_t i = 0; i < p->n_slots; i++) {
            px_health_stop(&p->slots[i]);
            px_loop_timer_cancel(p->loop, &p->slots[i].probe_timer);
        }
        if (p->n_slots > 0)
            memcpy(grown, p->slots, p->n_slots * sizeof *grown);
        free(p->slots);
        p->slots = grown;
        p->n_slots = slots;
    }
    size_t live = 0;
    for (uint32_t i = 0; i < p->n_slots; i++) {
        px_slot *s = &p->slots[i];
        px_endpoint_view view;
        if (px_balancer_endpoint(p->balancer, i, &view) < 0) {
            slot_retire(s);
            continue;
        }
        live++;
        if (s->live && s->pick.gen == view.pick.gen) {
            px_health_start(s); /* a no-op when its timer runs */
            slot_sync(s, px_now_ns());
            continue;
        }
        slot_retire(s);
        memset(s, 0, sizeof *s);
        s->proxy = p;
        s->slot = i;
        s->live = true;
        s->pick = view.pick;
        snprintf(s->name, sizeof s->name, "%s", view.addr.text);
        px_breaker_config cfg = PX_BREAKER_DEFAULTS;
        cfg.max_failures = p->opts.max_failures;
        px_breaker_init(&s->breaker, &cfg, p->opts.seed + i);
        px_health_start(s);
    }
    px_log(p, "endpoints: %zu from %s", live, p->endpoints_file);
    return 0;
}

void px_endpoints_clear(px_proxy *p)
{
    for (size_t i = 0; i < p->n_slots; i++)
        slot_retire(&p->slots[i]);
}

int px_endpoint_pick(px_proxy *p, const px_pick *avoid, size_t n_avoid, px_pick *out)
{
    /* The endpoints this request failed on sit out this pick: hidden from the balancer, then shown again. Only the
     * ones available now are hidden, so that an endpoint ejected since its failure stays ejected afterwards. */
    assert(n_avoid <= 32);
    uint32_t hidden = 0;
    for (size_t i = 0; i < n_avoid; i++) {
        if (px_balancer_available(p->balancer, avoid[i])) {
            px_balancer_set_available(p->balancer, avoid[i], false);
            hidden |= UINT32_C(1) << i;
        }
    }
    uint64_t now = px_now_ns();
    int rc = px_balancer_pick(p->balancer, now, out);
    for (size_t i = 0; i < n_avoid; i++)
        if (hidden & (UINT32_C(1) << i))
            px_balancer_set_available(p->balancer, avoid[i], true);
    if (rc == -EHOSTUNREACH && hidden != 0)
        rc = px_balancer_pick(p->balancer, now, out); /* nothing else is left: one of them rather than none */
    if (rc < 0)
        return rc;
    px_slot *s = px_endpoint_slot(p, *out);
    if (s == NULL)
        return 0;
    s->requests++;
    if (s->breaker.state == PX_BREAKER_PROBING) {
        /* This request is the probe: nothing else goes there until it has answered. */
        px_balancer_set_available(p->balancer, s->pick, false);
    }
    return 0;
}

/* One outcome into the breaker, and the breaker's verdict into the balancer. */
static void slot_outcome(px_slot *s, bool ok, uint64_t now)
{
    if (ok) {
        px_breaker_success(&s->breaker, now);
    } else {
        uint64_t ejections = s->breaker.ejections;
        px_breaker_failure(&s->breaker, now);
        if (s->breaker.ejections != ejections)
            px_log(s->proxy, "%s: ejected after %u consecutive failures", s->name, s->proxy->opts.max_failures);
    }
    slot_sync(s, now);
}

void px_endpoint_report(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    px_slot *s = px_endpoint_slot(p, pick);
    if (s == NULL)
        return;
    if (ok)
        px_histogram_observe(&s->latency, rtt_ns);
    else
        s->failures++;
    slot_outcome(s, ok, px_now_ns());
}

void px_endpoint_health_result(px_slot *s, bool ok)
{
    if (!ok)
        s->health_failures++;
    bool was_ejected = px_breaker_ejected(&s->breaker);
    slot_outcome(s, ok, px_now_ns());
    if (was_ejected && !px_breaker_ejected(&s->breaker))
        px_log(s->proxy, "%s: healthy again", s->name);
}

void px_endpoint_release(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok)
{
    px_balancer_done(p->balancer, pick, px_now_ns(), rtt_ns, ok);
}
