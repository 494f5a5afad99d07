/*
 * Chapter 08, part 3: the retry budget and the retry policy (budget.h). Yours to write.
 *
 * The budget is a ring of PX_BUDGET_BUCKETS buckets indexed by time slice (slice = now / width, bucket = slice %
 * PX_BUDGET_BUCKETS). Empty each bucket the window moves past before counting in it; then the ring is the window.
 */
#include "budget.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int px_budget_init(px_budget *b, const px_budget_config *cfg)
{
    /* TODO: take *cfg (PX_BUDGET_DEFAULTS when NULL); -EINVAL unless ratio is a number in [0, 1000] (NaN is not)
     * and ttl_ns in [PX_BUDGET_MIN_TTL_NS, PX_BUDGET_MAX_TTL_NS], leaving *b untouched. Else zero *b and keep the
     * config, the ratio in thousandths (rounded to nearest, so 0.29 is 290 and not 289), the floor min_per_sec *
     * ttl seconds as whole retries (rounded down, computed without overflow) and the bucket width ttl / BUCKETS. */
    (void)b;
    (void)cfg;
    return -ENOSYS;
}

void px_budget_deposit(px_budget *b, uint64_t now_ns)
{
    /* TODO: slide the window to now_ns (empty the buckets of the slices passed over, at most all of them; a time
     * before the latest slice counts as the latest), then count one request in now's bucket. */
    (void)b;
    (void)now_ns;
}

bool px_budget_withdraw(px_budget *b, uint64_t now_ns)
{
    /* TODO: slide the window, sum requests R and retries W over the ring, and allow when
     * (W + 1) * 1000 <= ratio_milli * R + floor * 1000 (integers: no rounding surprises). Count the retry only when
     * it is allowed: a refused retry counted would spend the budget of the retries after it. */
    (void)b;
    (void)now_ns;
    return false;
}

bool px_method_idempotent(const char *method)
{
    /* TODO: true for exactly GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 §9.2.2), compared case-sensitively
     * (methods are case-sensitive tokens: "get" is not GET); false for NULL, POST, PATCH, CONNECT and the rest. */
    (void)method;
    return false;
}

px_retry_verdict px_retry_decide(const px_retry_request *r, px_budget *b, uint64_t now_ns)
{
    /* TODO: in this order: not idempotent -> PX_RETRY_NOT_IDEMPOTENT; body consumed and not replayable ->
     * PX_RETRY_BODY_GONE; attempts >= max_attempts -> PX_RETRY_MAX_ATTEMPTS; a deadline set (non-zero) and
     * now_ns >= it -> PX_RETRY_NO_TIME; then, last, withdraw from b (when not NULL): refused -> PX_RETRY_NO_BUDGET.
     * Asking the budget first would charge it for retries that are never sent. */
    (void)r;
    (void)b;
    (void)now_ns;
    return PX_RETRY_MAX_ATTEMPTS;
}

const char *px_retry_verdict_text(px_retry_verdict v)
{
    /* TODO: a short static text per verdict ("retry", "method is not idempotent"...), "unknown verdict" otherwise. */
    (void)v;
    return NULL;
}
