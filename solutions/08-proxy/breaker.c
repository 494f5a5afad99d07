/*
 * Chapter 08, part 3: the consecutive-failures circuit breaker (breaker.h).
 *
 * Three states and two counters. The one rule that is easy to break is "one probe": once the backoff is over, the
 * first px_breaker_allow() moves the state to PROBING, and PROBING itself is what refuses every later caller until
 * the probe's outcome comes back. No flag beside the state is needed, and none can disagree with it.
 */
#include "breaker.h"

#include <stddef.h>

/*
 * splitmix64 (Steele, Lea and Flood): one add and a few multiply-xorshifts per number, every seed (0 included) gives
 * a full-period sequence, and the state is one word that lives in the breaker. The jitter needs spread, not secrecy.
 */
static uint64_t breaker_next_random(px_breaker *b)
{
    uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1): the top 53 bits, the most a double holds exactly. */
static double breaker_unit(px_breaker *b) { return (double)(breaker_next_random(b) >> 11) * 0x1.0p-53; }

void px_breaker_init(px_breaker *b, const px_breaker_config *cfg, uint64_t seed)
{
    px_breaker_config c = cfg ? *cfg : PX_BREAKER_DEFAULTS;
    if (c.max_failures == 0)
        c.max_failures = 1;
    if (c.backoff_max_ns < c.backoff_min_ns)
        c.backoff_max_ns = c.backoff_min_ns;
    /* Written so that NaN fails both tests and lands on 0: no jitter rather than an undefined factor. */
    if (!(c.jitter > 0.0))
        c.jitter = 0.0;
    else if (c.jitter > 1.0)
        c.jitter = 1.0;
    *b = (px_breaker){.state = PX_BREAKER_CLOSED, .cfg = c, .rng = seed};
}

/*
 * The backoff before the next probe: min * 2^step capped at max, then scaled by a factor in [1 - jitter, 1].
 * The doubling is tested before it is done: min << step would overflow long before step reached 64, and a wrapped
 * product would come out small, the opposite of backing off.
 */
static uint64_t breaker_next_backoff(px_breaker *b)
{
    uint64_t min = b->cfg.backoff_min_ns, max = b->cfg.backoff_max_ns;
    uint64_t base = max;
    if (b->backoff_step < 64 && min <= (max >> b->backoff_step))
        base = min << b->backoff_step;
    if (base < max)
        b->backoff_step++; /* once at the cap, the step stops growing: it can never overflow either */
    /* factor = 1 - jitter * u with u in [0, 1): in (1 - jitter, 1], so base * factor <= base <= max. The product
     * is below 2^64 because factor <= 1, and a double rounds it by at most one part in 2^53. */
    double factor = 1.0 - b->cfg.jitter * breaker_unit(b);
    uint64_t delay = (uint64_t)((double)base * factor);
    return delay > base ? base : delay; /* rounding up of a base above 2^53 must not cross the cap */
}

/* Opens the breaker at now_ns for the next backoff; the probe may go at probe_at_ns. */
static void breaker_open(px_breaker *b, uint64_t now_ns)
{
    uint64_t backoff = breaker_next_backoff(b);
    b->state = PX_BREAKER_OPEN;
    b->probe_at_ns = now_ns > UINT64_MAX - backoff ? UINT64_MAX : now_ns + backoff;
}

bool px_breaker_allow(px_breaker *b, uint64_t now_ns)
{
    switch (b->state) {
    case PX_BREAKER_CLOSED:
        return true;
    case PX_BREAKER_OPEN:
        if (now_ns < b->probe_at_ns)
            return false;
        /* This caller's request is the probe; PROBING refuses everyone else until its outcome is reported. */
        b->state = PX_BREAKER_PROBING;
        return true;
    case PX_BREAKER_PROBING:
        return false;
    }
    return false;
}

void px_breaker_success(px_breaker *b, uint64_t now_ns)
{
    (void)now_ns; /* part of the contract so that a policy needing time (a success rate) fits the same calls */
    b->consecutive_failures = 0;
    if (b->state == PX_BREAKER_PROBING) {
        /* The probe got through: the endpoint is back, and the next ejection starts from the shortest backoff. */
        b->state = PX_BREAKER_CLOSED;
        b->backoff_step = 0;
    }
    /* OPEN: a late success of a request sent before the ejection; only the probe may close the breaker. */
}

void px_breaker_failure(px_breaker *b, uint64_t now_ns)
{
    switch (b->state) {
    case PX_BREAKER_CLOSED:
        if (++b->consecutive_failures >= b->cfg.max_failures) {
            b->ejections++;
            breaker_open(b, now_ns);
        }
        break;
    case PX_BREAKER_PROBING:
        /* The probe failed: back off again, longer (breaker_next_backoff already stepped). */
        breaker_open(b, now_ns);
        break;
    case PX_BREAKER_OPEN:
        /* A late failure of a request sent before the ejection: already ejected, and it says nothing new. */
        break;
    }
}

bool px_breaker_ejected(const px_breaker *b) { return b->state != PX_BREAKER_CLOSED; }
