/*
 * Chapter 08, part 3: the consecutive-failures circuit breaker (breaker.h). Yours to write.
 *
 * Three states, two counters, one random generator. Keep "one probe" in the state itself: the call that lets the
 * probe through moves the breaker to PROBING, and PROBING refuses everyone until the probe's outcome comes back.
 */
#include "breaker.h"

#include <stddef.h>

void px_breaker_init(px_breaker *b, const px_breaker_config *cfg, uint64_t seed)
{
    /* TODO: copy *cfg (PX_BREAKER_DEFAULTS when cfg is NULL) into b->cfg, normalised as breaker.h says:
     * max_failures 0 -> 1, backoff_max_ns raised to backoff_min_ns, jitter clamped to [0, 1] (NaN -> 0).
     * Then a closed breaker: no failures, no ejections, backoff_step 0, rng = seed. Set every field: the caller's
     * struct may hold anything. */
    (void)b;
    (void)cfg;
    (void)seed;
}

bool px_breaker_allow(px_breaker *b, uint64_t now_ns)
{
    /* TODO: CLOSED: true. OPEN: false before probe_at_ns; at or after it, move to PROBING and return true (this
     * request is the probe). PROBING: false, however much time has passed, until success() or failure() reports the
     * probe's outcome: a second probe in flight would double the load on an endpoint that is likely still broken. */
    (void)b;
    (void)now_ns;
    return false;
}

void px_breaker_success(px_breaker *b, uint64_t now_ns)
{
    /* TODO: reset consecutive_failures (the count is of failures *in a row*). PROBING: the probe got through, so
     * close the breaker and reset backoff_step, so the next ejection starts again from backoff_min_ns. OPEN: stay
     * open; a late success of an older request is not the probe. */
    (void)b;
    (void)now_ns;
}

void px_breaker_failure(px_breaker *b, uint64_t now_ns)
{
    /* TODO: CLOSED: count the failure; at max_failures, ejections++ and open with probe_at_ns = now + backoff.
     * PROBING: the probe failed; open again with the next backoff. OPEN: nothing (a late failure).
     * The backoff for step n is min(backoff_min_ns * 2^n, backoff_max_ns), doubling tested before it is done so it
     * cannot overflow, then multiplied by 1 - jitter * u for a uniform u in [0, 1) from a small generator of your
     * own kept in b->rng (splitmix64 is a good one): never above the cap. Step n + 1 next time. */
    (void)b;
    (void)now_ns;
}

bool px_breaker_ejected(const px_breaker *b)
{
    /* TODO: open or probing: the balancer must not pick this endpoint. */
    (void)b;
    return false;
}
