/**
 * @file budget.h
 * @brief Chapter 08, part 3: when a failed request may be sent again — a retry budget over a sliding window, as
 *        Linkerd's (tower's `TpsBudget`), and the retry policy around it.
 *
 * **Why a budget.** Retries turn a partial outage into a full one: when an upstream is overloaded and each client
 * retries three times, the upstream gets four times the load just when it can least take it. A budget caps retries
 * at a fraction of the real traffic: with `ratio` 0.2, retries add at most 20 % to the requests of the last `ttl`.
 * A quiet service would then never retry at all, so a floor of `min_per_sec` retries per second is always allowed.
 *
 * **The rule.** Over the window (the last `ttl`), with R original requests deposited and W retries withdrawn, one more
 * retry is allowed when `W + 1 <= ratio * R + min_per_sec * ttl_seconds`. A refused retry is not counted. The ratio
 * is kept to three decimal places (per mille) and the floor `min_per_sec * ttl_seconds` is rounded down to whole
 * retries, so the rule is exact integer arithmetic: no request count makes a rounding error allow one retry too few.
 *
 * **The window** is a ring of ::PX_BUDGET_BUCKETS buckets, each `ttl / PX_BUDGET_BUCKETS` nanoseconds wide (rounded
 * down), each holding the deposits and withdrawals of its slice of time. As time moves on, the buckets that fall out
 * of the window are emptied before they are reused. A count made at time t is still in the window at any time before
 * t + 9 bucket widths (0.9 ttl when ttl is a multiple of 10 ns) and gone at t + ttl, wherever t falls in its bucket:
 * the budget forgets in steps of a tenth of `ttl`, in fixed memory, instead of keeping one timestamp per request.
 *
 * **Time.** Each call takes `now_ns` from a monotonic clock (the proxy's loop clock). A time earlier than one already
 * seen is taken as that latest time: the window never slides backwards.
 *
 * **The retry policy.** px_retry_decide() says whether one failed request may be sent again, checking in this order:
 * the method is idempotent (RFC 9110 §9.2.2: sending it twice has the effect of sending it once); its body, if one
 * was already sent, can be sent again from a replay buffer; it has attempts left; its deadline has not passed; and,
 * last, the budget has a retry to give. The budget is asked last so that only a retry that will be sent is counted.
 *
 * **Error convention** as in loop.h (0 or a negative errno). **Ownership and threads:** a ::px_budget is a plain value
 * embedded in its owner (one per proxy), holds no pointer and allocates nothing; it is used on one thread.
 */
#ifndef FERRITE_PX_BUDGET_H
#define FERRITE_PX_BUDGET_H

#include "ferrite.h"

#include <stdbool.h>
#include <stdint.h>

/** Buckets of the budget's sliding window; the window forgets in steps of ttl / PX_BUDGET_BUCKETS. */
#define PX_BUDGET_BUCKETS 10

/** The shortest ttl px_budget_init() takes: 1 ms. */
#define PX_BUDGET_MIN_TTL_NS 1000000ull
/** The longest ttl px_budget_init() takes: one hour. */
#define PX_BUDGET_MAX_TTL_NS 3600000000000ull

/**
 * @brief How much a budget lets retries add. Copied by px_budget_init().
 * @rust the arguments of `tower::retry::budget::TpsBudget::new(ttl, min_per_sec, retry_percent)`
 */
typedef struct px_budget_config {
    double ratio;         /**< retries per original request in the window, in [0, 1000]; kept to 0.001 */
    uint32_t min_per_sec; /**< retries per second always allowed, with no traffic at all */
    uint64_t ttl_ns;      /**< the window's length, in [PX_BUDGET_MIN_TTL_NS, PX_BUDGET_MAX_TTL_NS] */
} px_budget_config;

/**
 * @brief Linkerd's defaults: ratio 0.2, 10 retries per second, a window of 10 s.
 * @rust linkerd's `RetryBudget { retry_ratio: 0.2, min_retries_per_second: 10, ttl: 10s }`
 */
#define PX_BUDGET_DEFAULTS ((px_budget_config){.ratio = 0.2, .min_per_sec = 10, .ttl_ns = 10000000000ull})

/**
 * @brief A retry budget, embedded by value in its owner. Fill it with px_budget_init() before any other call.
 * @rust `tower::retry::budget::TpsBudget` (its `Bucket` ring behind a lock; here one thread needs none)
 */
typedef struct px_budget {
    px_budget_config cfg;                 /**< read-only: the configuration as given */
    uint64_t ratio_milli;                 /**< private: cfg.ratio in thousandths, rounded to nearest */
    uint64_t reserve;                     /**< private: min_per_sec * ttl in seconds, rounded down */
    uint64_t width_ns;                    /**< private: one bucket's slice of time, ttl / PX_BUDGET_BUCKETS */
    uint64_t epoch;                       /**< private: the latest slice seen (now / width_ns) */
    uint64_t deposits[PX_BUDGET_BUCKETS]; /**< private: original requests per slice, slice % BUCKETS */
    uint64_t retries[PX_BUDGET_BUCKETS];  /**< private: retries withdrawn per slice */
} px_budget;

/**
 * @brief Makes @p b an empty budget (no requests, no retries in the window).
 * @param b the budget to fill; left untouched on failure.
 * @param cfg borrowed for the call and copied; NULL: ::PX_BUDGET_DEFAULTS.
 * @return 0; -EINVAL when the ratio is not a number in [0, 1000] or the ttl is outside
 *         [::PX_BUDGET_MIN_TTL_NS, ::PX_BUDGET_MAX_TTL_NS].
 * @rust `TpsBudget::new(ttl, min_per_sec, retry_percent)` (which panics where this returns -EINVAL)
 */
FT_MUST_USE int px_budget_init(px_budget *b, const px_budget_config *cfg);

/**
 * @brief Counts one original request (not a retry) at @p now_ns: it earns `ratio` retries for as long as it stays in
 *        the window.
 * @param b borrowed for the call.
 * @param now_ns the current time.
 * @rust `Budget::deposit(&self)`
 */
void px_budget_deposit(px_budget *b, uint64_t now_ns);

/**
 * @brief Asks for one retry at @p now_ns: true, and the retry is counted, when `W + 1 <= ratio * R + floor` over the
 *        window; false otherwise, and nothing is counted.
 * @param b borrowed for the call.
 * @param now_ns the current time.
 * @rust `Budget::withdraw(&self) -> bool`
 */
bool px_budget_withdraw(px_budget *b, uint64_t now_ns);

/**
 * @brief Whether @p method is idempotent per RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE. Methods are
 *        case-sensitive (RFC 9110 §9.1): "get" is not GET and is not idempotent. POST, PATCH and CONNECT never are.
 * @param method a NUL-terminated token, borrowed for the call; NULL is not idempotent.
 * @rust `http::Method::is_idempotent(&self)`
 */
bool px_method_idempotent(const char *method);

/**
 * @brief A failed request, as the retry policy sees it. Filled by the caller; px_retry_decide() only reads it.
 * @rust the `&Request` and `Result<&Response, &Error>` a `tower::retry::Policy::retry` looks at
 */
typedef struct px_retry_request {
    const char *method;    /**< the request's method, borrowed; compared case-sensitively */
    bool body_consumed;    /**< some of the request body was already sent upstream */
    bool body_replayable;  /**< the whole body is kept in a replay buffer and can be sent again */
    uint32_t attempts;     /**< attempts made so far, the first one included (1 after the first failure) */
    uint32_t max_attempts; /**< attempts allowed in all, the first one included */
    uint64_t deadline_ns;  /**< when the client stops waiting, on now_ns's clock; 0: no deadline */
} px_retry_request;

/**
 * @brief The retry policy's answer; every value but ::PX_RETRY names the first reason found not to retry.
 * @rust `Option<Self::Future>` from `Policy::retry`, with the reason for `None` kept
 */
typedef enum px_retry_verdict {
    PX_RETRY = 0,                /**< send it again: the budget has counted the retry */
    PX_RETRY_NOT_IDEMPOTENT = 1, /**< the method may have had its effect already (POST, PATCH...) */
    PX_RETRY_BODY_GONE = 2,      /**< the body was partly sent and nothing kept it */
    PX_RETRY_NO_BUDGET = 3,      /**< the retry budget is spent */
    PX_RETRY_NO_TIME = 4,        /**< the deadline has passed */
    PX_RETRY_MAX_ATTEMPTS = 5,   /**< attempts made == max_attempts */
} px_retry_verdict;

/**
 * @brief Decides whether the failed request @p r may be sent again at @p now_ns. Checks, in order: the method
 *        (::PX_RETRY_NOT_IDEMPOTENT), the body (::PX_RETRY_BODY_GONE), the attempts (::PX_RETRY_MAX_ATTEMPTS, when
 *        attempts >= max_attempts), the deadline (::PX_RETRY_NO_TIME, when a deadline is set and now_ns >= it), then
 *        withdraws from the budget (::PX_RETRY_NO_BUDGET when refused). Only a ::PX_RETRY withdraws.
 * @param r borrowed for the call.
 * @param b borrowed for the call and charged one retry on ::PX_RETRY; NULL: no budget (every retry allowed by it).
 * @param now_ns the current time, for the deadline and the budget.
 * @rust `impl tower::retry::Policy for RetryPolicy { fn retry(&mut self, req, result) -> Option<..> }`, with
 *       linkerd's `budget.withdraw()` as its last test
 */
px_retry_verdict px_retry_decide(const px_retry_request *r, px_budget *b, uint64_t now_ns);

/**
 * @brief A short English text for @p v, for logs ("method is not idempotent"); "unknown verdict" for a value out of
 *        range. Never NULL; a static string, never freed.
 * @rust `impl fmt::Display for RetryVerdict`
 */
const char *px_retry_verdict_text(px_retry_verdict v);

#endif /* FERRITE_PX_BUDGET_H */
