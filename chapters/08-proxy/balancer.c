/*
 * Chapter 08, part 2: load balancing (balancer.h has the contract; read its introduction first). Every function
 * returns a neutral value until written; each TODO says what to do and why.
 *
 * A plan that works: struct px_balancer holds the kind, the EWMA constants, the random generator's state, a cursor
 * for round-robin, and a growable array of slots. A slot holds the address, a generation (odd while it holds an
 * endpoint, even while free: occupying and freeing each add one, so a stale pick never matches again), whether it is
 * available, the in-flight count, the estimate with the time it was last updated, and the counters.
 */
#include "balancer.h"

#include <errno.h>

int px_balancer_kind_parse(const char *name, px_balancer_kind *out)
{
    /* TODO: compare name (which may be NULL) with "round-robin", "least-loaded" and "p2c"; write *out only on a
     * match. The names are the ones px_balancer_kind_name() returns: one table, read both ways. */
    (void)name, (void)out;
    return -ENOSYS;
}

const char *px_balancer_kind_name(px_balancer_kind kind)
{
    /* TODO: a switch over the three kinds, "unknown" after it for a value outside the enum. */
    (void)kind;
    return "";
}

int px_balancer_create(px_balancer_kind kind, const px_ewma_config *ewma, uint64_t seed, px_balancer **out)
{
    /* TODO: refuse a kind outside the enum and a zero default RTT or decay (a zero decay divides by zero) with
     * -EINVAL; NULL ewma means PX_EWMA_DEFAULTS. calloc the balancer (no slots yet), keep the seed as the generator's
     * state (splitmix64 takes any seed; xorshift would stick at 0), and hand it out through *out. */
    (void)kind, (void)ewma, (void)seed, (void)out;
    return -ENOSYS;
}

void px_balancer_destroy(px_balancer *b)
{
    /* TODO: free the slots and the balancer (NULL is allowed). The addresses are copies: nothing else to free. */
    (void)b;
}

int px_balancer_set_endpoints(px_balancer *b, const px_endpoint_addr *addrs, size_t n, uint64_t now_ns)
{
    /* TODO: reconcile, in two phases so that a failure changes nothing:
     * 1. what can fail: a duplicate in addrs (-EINVAL); mark the occupied slots whose address is still listed
     *    (px_endpoint_addr_equal), count the new addresses, and grow the array (realloc) if the free slots plus the
     *    slots about to be freed cannot hold them (-ENOMEM).
     * 2. what cannot: free every occupied slot that is not listed (generation + 1: its late reports now miss), then
     *    give each new address the lowest free slot (or a new one at the end): generation + 1, available, zero
     *    counters, estimate = default RTT stamped now_ns. A listed address keeps everything, its in-flight count
     *    included: its connections are still open. */
    (void)b, (void)addrs, (void)n, (void)now_ns;
    return -ENOSYS;
}

int px_balancer_pick(px_balancer *b, uint64_t now_ns, px_pick *out)
{
    /* TODO: consider only occupied, available slots; -EHOSTUNREACH when there is none.
     * - round-robin: the first one at or after the cursor, wrapping around;
     * - least-loaded: the lowest in_flight, scanning from the cursor and keeping the first of equals (scanning from 0
     *   would send every tie to the first slot);
     * - P2C: with one available, that one; else two DISTINCT ones at random (draw a rank in [0, n), another in
     *   [0, n - 1) and add one if it is >= the first), the lower cost wins. cost = estimate × exp(-(now - stamp) /
     *   decay) × (in_flight + 1): the decay lets a once-slow endpoint be tried again, the factor keeps a fast endpoint
     *   from taking everything while its queue grows.
     * Then move the cursor past the chosen slot, count the pick (in_flight + 1, picks + 1) and return its slot and
     * generation. */
    (void)b, (void)now_ns, (void)out;
    return -ENOSYS;
}

void px_balancer_done(px_balancer *b, px_pick p, uint64_t now_ns, uint64_t rtt_ns, bool ok)
{
    /* TODO: ignore a stale pick (slot out of range, free, or another generation). Otherwise assert in_flight > 0 (a
     * pick reported twice is the caller's bug, balancer.h says so), in_flight - 1, count the success or failure, and
     * update the estimate with the sample (a failure's sample is at least the estimate: a fast failure must not make
     * an endpoint look fast): above the estimate, the estimate becomes the sample (the peak); else w = exp(-(now -
     * stamp) / decay) and estimate = estimate × w + sample × (1 - w). Stamp now_ns. */
    (void)b, (void)p, (void)now_ns, (void)rtt_ns, (void)ok;
}

void px_balancer_set_available(px_balancer *b, px_pick p, bool available)
{
    /* TODO: the slot of a current pick gets the flag; a stale pick changes nothing (the slot may be another
     * endpoint's now, and ejecting it would punish the wrong backend). */
    (void)b, (void)p, (void)available;
}

bool px_balancer_available(const px_balancer *b, px_pick p)
{
    /* TODO: true only for a current pick whose endpoint is available. */
    (void)b, (void)p;
    return false;
}

size_t px_balancer_slots(const px_balancer *b)
{
    /* TODO: the number of slots in use in the array, free ones included. */
    (void)b;
    return 0;
}

int px_balancer_endpoint(const px_balancer *b, uint32_t slot, px_endpoint_view *out)
{
    /* TODO: -ENOENT for a slot out of range or free; else copy the fields into *out (a copy, so the caller may keep
     * it while the balancer changes). */
    (void)b, (void)slot, (void)out;
    return -ENOENT;
}
