/*
 * Chapter 08 tests, part 2: the balancer's test support (balancer_support.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "balancer_support.h"
#include "ferrite_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

px_endpoint_addr balsim_addr(unsigned i)
{
    px_endpoint_addr a;
    memset(&a, 0, sizeof a);
    struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss; /* sockaddr_storage holds any family */
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)(8000 + i));
    sin->sin_addr.s_addr = htonl(0x0A000001u + i);
    a.len = sizeof *sin;
    snprintf(a.text, sizeof a.text, "10.0.0.%u:%u", i + 1, 8000 + i);
    return a;
}

px_balancer *balsim_balancer(px_balancer_kind kind, const px_ewma_config *ewma, size_t n)
{
    px_endpoint_addr addrs[BALSIM_MAX_ENDPOINTS];
    ck_assert_uint_le(n, BALSIM_MAX_ENDPOINTS);
    for (size_t i = 0; i < n; i++)
        addrs[i] = balsim_addr((unsigned)i);
    px_balancer *b = NULL;
    int rc = px_balancer_create(kind, ewma, 42, &b);
    ck_assert_msg(rc == 0, "px_balancer_create(%s) returned %d", px_balancer_kind_name(kind), rc);
    rc = px_balancer_set_endpoints(b, addrs, n, 0);
    if (rc != 0)
        px_balancer_destroy(b);
    ck_assert_msg(rc == 0, "px_balancer_set_endpoints of %zu new endpoints returned %d", n, rc);
    return b;
}

typedef struct pending {
    uint64_t done_at;
    uint64_t latency;
    px_pick pick;
} pending;

/* Reports every request due by @p now, earliest first, as the event loop would see them finish. */
static void finish_due(px_balancer *b, pending *p, size_t *n, uint64_t now)
{
    for (;;) {
        size_t first = *n;
        for (size_t i = 0; i < *n; i++)
            if (p[i].done_at <= now && (first == *n || p[i].done_at < p[first].done_at))
                first = i;
        if (first == *n)
            return;
        px_balancer_done(b, p[first].pick, p[first].done_at, p[first].latency, true);
        p[first] = p[--*n];
    }
}

static int simulate(px_balancer *b, const balsim_config *c, pending *inflight, balsim_result *r)
{
    size_t n = 0;
    double total_ms = 0;
    for (uint64_t t = 0; t < c->duration_ns; t += c->interval_ns) {
        finish_due(b, inflight, &n, t);
        px_pick p;
        if (n == c->max_in_flight || px_balancer_pick(b, t, &p) != 0) {
            r->turned_away++;
            continue;
        }
        if (p.slot >= c->endpoints)
            return -ERANGE;
        uint64_t latency = c->latency_ns[p.slot];
        inflight[n++] = (pending){.done_at = t + latency, .latency = latency, .pick = p};
        r->sent++;
        r->picks[p.slot]++;
        total_ms += (double)latency / 1e6;
    }
    finish_due(b, inflight, &n, UINT64_MAX);
    r->mean_latency_ms = r->sent ? total_ms / (double)r->sent : 0;
    return 0;
}

int balsim_run(const balsim_config *c, balsim_result *r)
{
    memset(r, 0, sizeof *r);
    if (c->endpoints > BALSIM_MAX_ENDPOINTS || c->max_in_flight == 0 || c->max_in_flight > 1024 || c->interval_ns == 0)
        return -EINVAL;
    px_endpoint_addr addrs[BALSIM_MAX_ENDPOINTS];
    for (size_t i = 0; i < c->endpoints; i++)
        addrs[i] = balsim_addr((unsigned)i);
    px_balancer *b;
    int rc = px_balancer_create(c->kind, NULL, c->seed, &b);
    if (rc != 0)
        return rc;
    rc = px_balancer_set_endpoints(b, addrs, c->endpoints, 0);
    /* Endpoint i must sit in slot i: new endpoints take the lowest free slots, in list order. */
    for (uint32_t i = 0; rc == 0 && i < c->endpoints; i++) {
        px_endpoint_view v;
        rc = px_balancer_endpoint(b, i, &v);
        if (rc == 0 && !px_endpoint_addr_equal(&v.addr, &addrs[i]))
            rc = -ERANGE;
    }
    static pending inflight[1024]; /* one simulation at a time: each test runs in a process of its own */
    if (rc == 0)
        rc = simulate(b, c, inflight, r);
    px_balancer_destroy(b);
    return rc;
}

double balsim_share(const balsim_result *r, size_t slot) { return r->sent ? (double)r->picks[slot] / (double)r->sent : 0; }
