/**
 * @file breaker.h
 * @brief Chapter 08, part 3: a circuit breaker per endpoint, Linkerd's "consecutive failures" failure accrual, with
 *        exponential backoff and jitter between probes.
 *
 * **What it decides.** An endpoint that fails every request it gets is worse than no endpoint: each client sent to it
 * waits for a timeout or an error before its retry goes elsewhere. The breaker counts failures *in a row*; at
 * `max_failures` it *opens* (the endpoint is ejected: the balancer no longer picks it) for a backoff. When the backoff
 * is over, one request, the *probe*, is let through (the breaker is *probing*, "half-open" in the usual words): if
 * it succeeds the breaker *closes* and the endpoint is back; if it fails the breaker opens again for a longer backoff.
 * ```
 *            max_failures failures in a row              probe_at_ns reached: allow() lets one probe through
 *   CLOSED ------------------------------------> OPEN --------------------------------------------------> PROBING
 *     ^                                           ^                 the probe failed: next backoff          |
 *     |                                           +----------------------------------------------------------+
 *     +-------------------------------------- the probe succeeded: backoff back to its minimum -------------+
 * ```
 *
 * **Backoff.** The n-th opening in a row (n = 0, 1, 2... since the breaker last closed) waits
 * `min(backoff_min_ns * 2^n, backoff_max_ns)`, multiplied by a random factor in `[1 - jitter, 1]`: never longer than
 * the capped value, so never above `backoff_max_ns`. Jitter keeps a fleet of proxies that lost the same endpoint at
 * the same moment from probing it all at the same moment. The random numbers come from a small generator seeded at
 * px_breaker_init() and kept in the breaker, so a run is repeatable from its seed.
 *
 * **Time.** Every call that needs the time takes it as `now_ns` (any monotonic clock, nanoseconds; the proxy passes
 * its loop's clock). The breaker never reads a clock and never sleeps: the proxy arms a timer for `probe_at_ns`.
 *
 * **Outcomes that arrive late.** A request sent before the breaker opened may finish while it is open. Such a failure
 * changes nothing (the endpoint is already ejected, and the backoff is not lengthened); such a success resets the
 * failure count but leaves the breaker open: only the probe's outcome decides when the endpoint comes back.
 *
 * **Active health checks** report into the same px_breaker_success() and px_breaker_failure(), and ask
 * px_breaker_allow() before each check as any request does: an endpoint that fails N checks in a row is ejected after
 * the N-th, and the first check after its backoff is its probe.
 *
 * **Ownership and threads.** A ::px_breaker is a plain value embedded in its owner (one per endpoint); it holds no
 * pointer and allocates nothing. It is used on one thread (the loop's); nothing here locks.
 */
#ifndef FERRITE_PX_BREAKER_H
#define FERRITE_PX_BREAKER_H

#include "ferrite.h"

#include <stdbool.h>
#include <stdint.h>

/**
 * @brief How a breaker counts and backs off. Copied by px_breaker_init(); the caller keeps its own.
 * @rust linkerd's `FailureAccrual::ConsecutiveFailures { max_failures, backoff }` with an `ExponentialBackoff`
 */
typedef struct px_breaker_config {
    uint32_t max_failures;   /**< failures in a row that open the breaker; 0 is taken as 1 */
    uint64_t backoff_min_ns; /**< the first backoff, before jitter */
    uint64_t backoff_max_ns; /**< no backoff is longer; a value below backoff_min_ns is raised to it */
    double jitter;           /**< in [0, 1]: each backoff is multiplied by a factor in [1 - jitter, 1]; clamped */
} px_breaker_config;

/**
 * @brief Linkerd's defaults: 7 failures in a row, backoff from 1 s to 60 s, jitter 0.5.
 * @rust `ConsecutiveFailures` as linkerd's policy controller configures it by default
 */
#define PX_BREAKER_DEFAULTS               \
    ((px_breaker_config){                 \
        .max_failures = 7,                \
        .backoff_min_ns = 1000000000ull,  \
        .backoff_max_ns = 60000000000ull, \
        .jitter = 0.5,                    \
    })

/**
 * @brief Where a breaker stands.
 * @rust the states of linkerd's `ConsecutiveFailures` task: `closed()`, `open()` (sleeping), `half_open()`
 */
typedef enum px_breaker_state {
    PX_BREAKER_CLOSED = 0,  /**< requests flow; failures in a row are counted */
    PX_BREAKER_OPEN = 1,    /**< ejected; nothing is allowed before probe_at_ns */
    PX_BREAKER_PROBING = 2, /**< ejected; one probe is in flight and its outcome is awaited */
} px_breaker_state;

/**
 * @brief One endpoint's breaker, embedded by value in its owner. Fill it with px_breaker_init() before any other call;
 *        read the public fields freely, change none of them.
 * @rust linkerd's `ConsecutiveFailures<B>` holding its `ExponentialBackoff` and the `Gate`'s state
 */
typedef struct px_breaker {
    px_breaker_state state;        /**< read-only: closed, open or probing */
    uint32_t consecutive_failures; /**< read-only: failures since the last success (closed state) */
    uint64_t ejections;            /**< read-only: how many times it went from closed to open */
    uint64_t probe_at_ns;          /**< read-only: open: the time from which allow() lets the probe through */
    px_breaker_config cfg;         /**< private: the configuration, already normalised */
    uint32_t backoff_step;         /**< private: openings since it last closed; the next backoff is min * 2^step */
    uint64_t rng;                  /**< private: the jitter generator's state */
} px_breaker;

/**
 * @brief Makes @p b a closed breaker with no failures counted, backoff at its minimum.
 * @param b the breaker to fill (its previous contents are ignored).
 * @param cfg borrowed for the call and copied (normalised as ::px_breaker_config says); NULL: ::PX_BREAKER_DEFAULTS.
 * @param seed seeds the jitter: the same seed gives the same backoffs.
 * @rust `ConsecutiveFailures::new(max_failures, ExponentialBackoff::new(min, max, jitter)?)`
 */
void px_breaker_init(px_breaker *b, const px_breaker_config *cfg, uint64_t seed);

/**
 * @brief Whether a request may go to the endpoint now. Closed: always. Open: not before probe_at_ns; from then the
 *        first call moves the breaker to probing and returns true: that request is the probe. Probing: false, until
 *        the probe's outcome is reported, however long that takes (one probe in flight, never more).
 * @param b borrowed for the call.
 * @param now_ns the current time.
 * @rust `Gate::poll_ready` on the endpoint's gate: open, shut, or limited to one permit while half-open
 */
bool px_breaker_allow(px_breaker *b, uint64_t now_ns);

/**
 * @brief Reports a request that succeeded: the failure count goes back to 0; a probing breaker closes and its
 *        backoff goes back to the minimum. An open breaker stays open (a late success is not the probe).
 * @param b borrowed for the call.
 * @param now_ns the current time.
 * @rust `ConsecutiveFailures::closed` seeing `Ok(())` from the response channel; `half_open` then `backoff.reset()`
 */
void px_breaker_success(px_breaker *b, uint64_t now_ns);

/**
 * @brief Reports a request that failed. Closed: one more failure in a row; the max_failures-th opens the breaker
 *        (ejections + 1) with probe_at_ns = @p now_ns + the next backoff. Probing: the probe failed; open again with
 *        the next, doubled backoff. Open: nothing changes.
 * @param b borrowed for the call.
 * @param now_ns the current time.
 * @rust `ConsecutiveFailures::closed` counting `Err(_)`, then `open()` awaiting `backoff.next()`
 */
void px_breaker_failure(px_breaker *b, uint64_t now_ns);

/**
 * @brief Whether the endpoint is ejected (open or probing): the proxy mirrors this into the balancer's availability.
 * @param b borrowed for the call.
 * @rust `!gate.is_open()`
 */
bool px_breaker_ejected(const px_breaker *b);

#endif /* FERRITE_PX_BREAKER_H */
