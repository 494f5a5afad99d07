/*
 * Chapter 08 tests, part 2: endpoints made without the parser, and a discrete-event simulation of a balancer in front
 * of endpoints of fixed latencies, on a simulated clock.
 */
#ifndef FERRITE_PX_BALANCER_SUPPORT_H
#define FERRITE_PX_BALANCER_SUPPORT_H

#include "balancer.h"

#include <stddef.h>
#include <stdint.h>

/* Endpoint number i: 10.0.0.(i + 1):(8000 + i), with its text. */
px_endpoint_addr balsim_addr(unsigned i);

/* Creates a balancer of @p kind (ewma NULL: the defaults) listing endpoints 0 .. n - 1, at time 0; fails the test
 * if anything goes wrong. The caller destroys it. */
px_balancer *balsim_balancer(px_balancer_kind kind, const px_ewma_config *ewma, size_t n);

#define BALSIM_MAX_ENDPOINTS 8

typedef struct balsim_config {
    px_balancer_kind kind;
    size_t endpoints;                          /* how many, at most BALSIM_MAX_ENDPOINTS */
    uint64_t latency_ns[BALSIM_MAX_ENDPOINTS]; /* each endpoint answers every request in exactly this time */
    uint64_t interval_ns;                      /* one request arrives every interval_ns */
    uint64_t duration_ns;                      /* for this long */
    uint32_t max_in_flight;                    /* a request that finds this many in flight is turned away */
    uint64_t seed;
} balsim_config;

typedef struct balsim_result {
    uint64_t sent;                        /* requests given to an endpoint */
    uint64_t turned_away;                 /* requests that found max_in_flight in flight, or no endpoint */
    uint64_t picks[BALSIM_MAX_ENDPOINTS]; /* requests given to each endpoint */
    double mean_latency_ms;               /* over the requests sent */
} balsim_result;

/* Runs the simulation: requests arrive at a fixed rate, each is picked, answered after its endpoint's latency and
 * reported with px_balancer_done() at that time. 0, or the negative errno of a balancer call (the test fails on it). */
int balsim_run(const balsim_config *c, balsim_result *r);

/* picks[slot] / sent. */
double balsim_share(const balsim_result *r, size_t slot);

#endif /* FERRITE_PX_BALANCER_SUPPORT_H */
