/*
 * Chapter 08, part 3: the retry budget and the retry policy (budget.h).
 *
 * The budget is a ring of buckets indexed by time slice: slice s = now / width lives in bucket s % BUCKETS. The ring
 * holds exactly the slices (epoch - BUCKETS, epoch], because budget_advance() empties every bucket it moves past
 * before anything is counted in it. Summing the ring is then summing the window: ten additions per call, no
 * timestamps, no allocation.
 */
#include "budget.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

int px_budget_init(px_budget *b, const px_budget_config *cfg)
{
    px_budget_config c = cfg ? *cfg : PX_BUDGET_DEFAULTS;
    /* Written so that NaN fails the test: !(x >= 0) is true for NaN, x < 0 is not. */
    if (!(c.ratio >= 0.0 && c.ratio <= 1000.0))
        return -EINVAL;
    if (c.ttl_ns < PX_BUDGET_MIN_TTL_NS || c.ttl_ns > PX_BUDGET_MAX_TTL_NS)
        return -EINVAL;
    *b = (px_budget){.cfg = c};
    /* Per mille, to nearest: 0.29 is 290, although 0.29 * 100 in doubles is 28.999999999999996. The ratio is in
     * [0, 1000], so the sum is in [0.5, 10^6 + 0.5] and converts without overflow. */
    b->ratio_milli = (uint64_t)(c.ratio * 1000.0 + 0.5);
    /* min_per_sec * ttl / 1 s without overflow: ttl <= 3600 s, so both products stay below 2^64. */
    b->reserve = (uint64_t)c.min_per_sec * (c.ttl_ns / 1000000000ull) +
                 (uint64_t)c.min_per_sec * (c.ttl_ns % 1000000000ull) / 1000000000ull;
    b->width_ns = c.ttl_ns / PX_BUDGET_BUCKETS; /* >= 100 us, since ttl >= 1 ms */
    return 0;
}

/*
 * Moves the window to now_ns: every slice between the latest one seen and now's gets an empty bucket. A jump of a
 * whole window or more empties them all, so the loop runs at most BUCKETS times however long the budget slept.
 * A now_ns before the latest slice is taken as the latest: the window never slides back over counted requests.
 */
static void budget_advance(px_budget *b, uint64_t now_ns)
{
    uint64_t slice = now_ns / b->width_ns;
    if (slice <= b->epoch)
        return;
    uint64_t gap = slice - b->epoch;
    if (gap > PX_BUDGET_BUCKETS)
        gap = PX_BUDGET_BUCKETS;
    for (uint64_t s = slice - gap + 1; gap > 0; s++, gap--) {
        b->deposits[s % PX_BUDGET_BUCKETS] = 0;
        b->retries[s % PX_BUDGET_BUCKETS] = 0;
    }
    b->epoch = slice;
}

void px_budget_deposit(px_budget *b, uint64_t now_ns)
{
    budget_advance(b, now_ns);
    b->deposits[b->epoch % PX_BUDGET_BUCKETS]++;
}

bool px_budget_withdraw(px_budget *b, uint64_t now_ns)
{
    budget_advance(b, now_ns);
    uint64_t requests = 0, retries = 0;
    for (size_t i = 0; i < PX_BUDGET_BUCKETS; i++) {
        requests += b->deposits[i];
        retries += b->retries[i];
    }
    /*
     * retries + 1 <= ratio * requests + reserve, multiplied through by 1000 so that it is integer arithmetic.
     * requests < 2^40 in any real window and ratio_milli <= 10^6, so the products stay far below 2^64.
     */
    if ((retries + 1) * 1000 > b->ratio_milli * requests + b->reserve * 1000)
        return false; /* refused: nothing is counted, or refusals would eat the budget of later retries */
    b->retries[b->epoch % PX_BUDGET_BUCKETS]++;
    return true;
}

bool px_method_idempotent(const char *method)
{
    /* RFC 9110 §9.2.2. Case-sensitive (§9.1): a token that differs in case is another, unknown, method. */
    static const char *const idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    if (!method)
        return false;
    for (size_t i = 0; i < sizeof idempotent / sizeof idempotent[0]; i++)
        if (strcmp(method, idempotent[i]) == 0)
            return true;
    return false;
}

px_retry_verdict px_retry_decide(const px_retry_request *r, px_budget *b, uint64_t now_ns)
{
    if (!px_method_idempotent(r->method))
        return PX_RETRY_NOT_IDEMPOTENT;
    /* A body streamed upstream is gone unless it was kept; sending the rest alone would be a different request. */
    if (r->body_consumed && !r->body_replayable)
        return PX_RETRY_BODY_GONE;
    if (r->attempts >= r->max_attempts)
        return PX_RETRY_MAX_ATTEMPTS;
    /* At the deadline the client has stopped waiting: an answer now would reach nobody. */
    if (r->deadline_ns != 0 && now_ns >= r->deadline_ns)
        return PX_RETRY_NO_TIME;
    /* Last, so that only a retry that is really sent is charged to the budget. */
    if (b && !px_budget_withdraw(b, now_ns))
        return PX_RETRY_NO_BUDGET;
    return PX_RETRY;
}

const char *px_retry_verdict_text(px_retry_verdict v)
{
    switch (v) {
    case PX_RETRY:
        return "retry";
    case PX_RETRY_NOT_IDEMPOTENT:
        return "method is not idempotent";
    case PX_RETRY_BODY_GONE:
        return "request body already sent and not kept";
    case PX_RETRY_NO_BUDGET:
        return "retry budget spent";
    case PX_RETRY_NO_TIME:
        return "deadline passed";
    case PX_RETRY_MAX_ATTEMPTS:
        return "no attempts left";
    }
    return "unknown verdict";
}
