/**
 * @file balancer.h
 * @brief Chapter 08, part 2: load balancing over the endpoints — round-robin, least-loaded, and Linkerd's
 *        power of two choices (P2C) over a peak-EWMA of latency.
 *
 * **Slots and generations.** The balancer keeps its endpoints in a slot map: each endpoint sits in a slot that never
 * moves while it is listed, and a slot carries a generation that changes whenever the slot is freed or reused. A pick
 * (::px_pick) names a slot *and* the generation it saw, so a connection that picked an endpoint can report its outcome
 * later, even after a reload removed that endpoint or gave its slot to another: a report whose generation no longer
 * matches is ignored, never credited to the wrong endpoint. That is the `slotmap` crate's key, and the reason a pick is
 * not a pointer: a pointer into an array that a reload reallocates would dangle.
 *
 * **Availability.** Every listed endpoint is available or ejected (part 3's circuit breaker ejects and restores it
 * through px_balancer_set_available()). Every algorithm picks among the available endpoints only.
 *
 * **Peak-EWMA.** Each endpoint keeps an estimate of its round-trip time, as tower's `PeakEwma` does: a new sample
 * above the estimate replaces it at once (the peak: one slow answer is enough to look slow), a sample below it pulls
 * the estimate toward it by a weight that depends on the time since the last update, 1 - exp(-elapsed / decay_ns). An
 * endpoint that has not answered for a while has its estimate decayed toward zero by the same factor when its cost is
 * computed, so a slow endpoint is tried again once the memory of its slowness has faded. A new endpoint starts at the
 * configured default RTT. The cost of an endpoint is estimate × (in_flight + 1): an endpoint with requests waiting
 * costs more, however fast it was.
 *
 * **Time and randomness** come from the caller: every call that needs the time takes `now_ns` (a monotonic clock,
 * CLOCK_MONOTONIC in the proxy, a simulated one in the tests), and P2C draws from a pseudo-random generator seeded at
 * creation, so a test that gives the same seed and the same times sees the same picks.
 *
 * **Threads.** A balancer belongs to one thread, the event loop's (`Send`, not `Sync`): nothing in it is locked.
 *
 * Error convention (the whole chapter, loop.h): 0 on success, a negative errno on failure.
 */
#ifndef FERRITE_PX_BALANCER_H
#define FERRITE_PX_BALANCER_H

#include "endpoints.h"
#include "ferrite.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief Which algorithm px_balancer_pick() uses.
 * @rust the balancer a `tower` stack is built with: a round-robin `Service`, `p2c::Balance` over `PendingRequests`,
 *       `p2c::Balance` over `PeakEwma`
 */
typedef enum px_balancer_kind {
    PX_BALANCE_ROUND_ROBIN,   /**< the available endpoints in slot order, one after the other */
    PX_BALANCE_LEAST_LOADED,  /**< the fewest requests in flight; ties go round-robin */
    PX_BALANCE_P2C_PEAK_EWMA, /**< two distinct endpoints at random, the lower cost wins (Linkerd's default) */
} px_balancer_kind;

/**
 * @brief Reads a kind from its name: "round-robin", "least-loaded" or "p2c" (exactly, lower case).
 * @param name borrowed, NUL-terminated. @param[out] out written on success only.
 * @return 0; -EINVAL for any other name (NULL included).
 * @rust `impl FromStr for BalancerKind`
 */
FT_MUST_USE int px_balancer_kind_parse(const char *name, px_balancer_kind *out);

/**
 * @brief The name px_balancer_kind_parse() reads for @p kind; "unknown" for a value outside the enum.
 * @return a static string, never NULL, never to be freed.
 * @rust `impl Display for BalancerKind`
 */
const char *px_balancer_kind_name(px_balancer_kind kind);

/**
 * @brief What a pick returns and what its outcome is reported with: a slot and the generation it had.
 * A plain value, copied freely; it stays meaningful (or harmlessly stale) whatever happens to the balancer's
 * endpoints, but not after px_balancer_destroy().
 * @rust `slotmap::DefaultKey` (an index and a version)
 */
typedef struct px_pick {
    uint32_t slot; /**< the slot's index, below px_balancer_slots() when the pick was made */
    uint32_t gen;  /**< the slot's generation then: odd while a slot holds an endpoint, never 0 for a real pick */
} px_pick;

/**
 * @brief The peak-EWMA's two constants.
 * @rust `tower::load::PeakEwmaDiscover::new(discover, default_rtt, decay, completion)`'s two durations
 */
typedef struct px_ewma_config {
    uint64_t default_rtt_ns; /**< the estimate of an endpoint with no sample yet; not 0 */
    uint64_t decay_ns;       /**< the time constant of the decay: after decay_ns a sample weighs 1 - 1/e; not 0 */
} px_ewma_config;

/** @brief Linkerd's defaults: a new endpoint is assumed to answer in 30 ms, and the memory of a sample fades over 10 s. */
#define PX_EWMA_DEFAULTS ((px_ewma_config){.default_rtt_ns = UINT64_C(30000000), .decay_ns = UINT64_C(10000000000)})

/**
 * @brief A copy of one endpoint's state, for the metrics page and the demo.
 * A plain value: it points into nothing, so it stays valid however the balancer changes after the call.
 * @rust a `#[derive(Clone)]` snapshot struct
 */
typedef struct px_endpoint_view {
    px_endpoint_addr addr; /**< the endpoint's address, copied */
    px_pick pick;          /**< its slot and current generation (what a pick of it would return) */
    uint32_t in_flight;    /**< picks not yet reported with px_balancer_done() */
    uint64_t ewma_ns;      /**< the peak-EWMA RTT estimate as of its last update (not decayed to now) */
    uint64_t picks;        /**< how many times it was picked since it was added */
    uint64_t successes;    /**< reports with ok = true since it was added */
    uint64_t failures;     /**< reports with ok = false since it was added */
    bool available;        /**< false while ejected (px_balancer_set_available()) */
} px_endpoint_view;

/**
 * @brief A balancer: a slot map of endpoints and the state of one algorithm; opaque.
 * @rust `tower::balance::p2c::Balance<D, Req>` with its `ReadyCache` of endpoints
 */
typedef struct px_balancer px_balancer;

/**
 * @brief Creates a balancer with no endpoints (every pick fails with -EHOSTUNREACH until px_balancer_set_endpoints()).
 * @param kind the algorithm. @param ewma copied; NULL means ::PX_EWMA_DEFAULTS (used by P2C, kept by all kinds so
 *        that the views show an estimate whatever the algorithm).
 * @param seed the pseudo-random generator's seed; any value, 0 included.
 * @param[out] out the balancer, the caller's until px_balancer_destroy(); written on success only.
 * @return 0; -EINVAL (a kind outside the enum, a zero field in @p ewma); -ENOMEM.
 * @rust `Balance::new(discover)` with a seeded `SmallRng` (`Balance::from_rng`)
 */
FT_MUST_USE int px_balancer_create(px_balancer_kind kind, const px_ewma_config *ewma, uint64_t seed, px_balancer **out);

/**
 * @brief Frees @p b and its copies of the addresses. NULL is allowed.
 * @param b owned: invalid after the call; picks made from it mean nothing any more.
 * @rust `drop(balance)`
 */
void px_balancer_destroy(px_balancer *b);

/**
 * @brief Replaces the set of endpoints with @p addrs, reconciling with the current set (a reload).
 *
 * An address still listed keeps its slot, generation, statistics, estimate, availability and in-flight count. A new
 * address takes a free slot (the lowest, else a new one at the end) with a new generation, available, with the
 * default RTT as its estimate as of @p now_ns. An address no longer listed leaves: its slot is freed and its
 * generation changes, so late reports for it are ignored. Atomic: on failure nothing changed.
 * @param b borrowed. @param addrs copied; borrowed for the call only. @param n how many (0 empties the set).
 * @param now_ns the time, for the new endpoints' estimates.
 * @return 0; -EINVAL when @p addrs lists one address twice; -ENOMEM.
 * @rust `tower::discover::Change::Insert` / `Change::Remove` applied to the balancer's `ReadyCache`
 */
FT_MUST_USE int px_balancer_set_endpoints(px_balancer *b, const px_endpoint_addr *addrs, size_t n, uint64_t now_ns);

/**
 * @brief Chooses an available endpoint for one request and counts it as in flight there.
 *
 * Round-robin: the next available slot after the last pick, in slot order. Least-loaded: the fewest in flight;
 * among equals, the first after the last pick (so ties go round-robin, not always to the first slot). P2C: two
 * distinct available endpoints drawn at random, the lower cost wins (estimate decayed to @p now_ns × (in_flight +
 * 1)); with one available endpoint, that one.
 * @param b borrowed. @param now_ns the time. @param[out] out the pick, written on success only; report it once with
 *        px_balancer_done().
 * @return 0; -EHOSTUNREACH when no endpoint is available (none listed, or all ejected).
 * @rust `Balance::poll_ready` then `call`: P2C's `p2c_ready_index` comparing `Load::load()` of two candidates
 */
FT_MUST_USE int px_balancer_pick(px_balancer *b, uint64_t now_ns, px_pick *out);

/**
 * @brief Reports how a picked request ended: one fewer in flight, a success or a failure counted, the estimate updated.
 *
 * The estimate takes @p rtt_ns as a sample (the peak rule and the decay above) on success and on failure alike:
 * a slow failure (a timeout) is latency the next request would also wait for. A failure never *lowers* the estimate,
 * though: a connection refused in a microsecond must not make a broken endpoint look like the fastest one and draw
 * the traffic (failing fast is the breaker's business, part 3).
 * @param b borrowed. @param p a pick of @p b; a stale one (its endpoint removed, its slot reused) is ignored.
 * @param now_ns the time the request ended. @param rtt_ns how long it took. @param ok whether it succeeded.
 * Reporting a pick twice is a misuse the reference solution asserts (the in-flight count would go below zero).
 * @rust dropping the `peak_ewma::Handle` that `call` attached to the response
 */
void px_balancer_done(px_balancer *b, px_pick p, uint64_t now_ns, uint64_t rtt_ns, bool ok);

/**
 * @brief Ejects (false) or restores (true) the endpoint of @p p; a stale pick is ignored.
 * Picks already made stay in flight and are reported as usual. An ejected endpoint keeps its slot across reloads.
 * @rust removing a service from `ReadyCache`'s ready set until it reports `poll_ready` again
 */
void px_balancer_set_available(px_balancer *b, px_pick p, bool available);

/**
 * @brief Whether the endpoint of @p p is listed and available; false for a stale pick.
 * @rust `ReadyCache::get_ready_index(&key).is_some()`
 */
bool px_balancer_available(const px_balancer *b, px_pick p);

/**
 * @brief How many slots the balancer has, free ones included: px_balancer_endpoint() takes 0 to this minus one.
 * @rust the bound of an index loop over `SlotMap`'s slots, free ones included (what `slot_map.iter()` walks)
 */
size_t px_balancer_slots(const px_balancer *b);

/**
 * @brief A copy of the state of the endpoint in slot @p slot.
 * @param b borrowed. @param slot below px_balancer_slots(). @param[out] out written on success only.
 * @return 0; -ENOENT for a free slot or one out of range.
 * @rust `slot_map.get(key).cloned()`
 */
FT_MUST_USE int px_balancer_endpoint(const px_balancer *b, uint32_t slot, px_endpoint_view *out);

#endif /* FERRITE_PX_BALANCER_H */
