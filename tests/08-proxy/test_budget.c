/*
 * Part 3 (declared in test_breaker.c): the retry budget and the retry policy (budget.h) — retries capped at a ratio of
 * the requests in a sliding window plus a per-second floor, refused retries not counted, the window forgetting old
 * traffic, and the policy's verdicts: idempotent methods only (case-sensitive), bodies only from a replay buffer,
 * attempts and deadlines bounded, the budget asked last.
 *
 * Time is a number the tests choose (`now_ns`): the window slides exactly where the tests say, and nothing sleeps.
 */
#include "ferrite_test.h"

#include "budget.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define MS 1000000ull
#define SEC 1000000000ull

/* A budget that must initialise. */
static void make(px_budget *b, double ratio, uint32_t min_per_sec, uint64_t ttl_ns)
{
    px_budget_config cfg = {.ratio = ratio, .min_per_sec = min_per_sec, .ttl_ns = ttl_ns};
    memset(b, 0xa5, sizeof *b);
    int rc = px_budget_init(b, &cfg);
    ck_assert_msg(rc == 0, "px_budget_init(ratio %g, min_per_sec %u, ttl %llu ns) returned %d", ratio, min_per_sec,
                  (unsigned long long)ttl_ns, rc);
}

static void deposit(px_budget *b, unsigned n, uint64_t now_ns)
{
    for (unsigned i = 0; i < n; i++)
        px_budget_deposit(b, now_ns);
}

/* Withdraws until refused (at most limit times) and returns how many were allowed. */
static unsigned drain(px_budget *b, uint64_t now_ns, unsigned limit)
{
    unsigned n = 0;
    while (n < limit && px_budget_withdraw(b, now_ns))
        n++;
    return n;
}

FT_TEST(3, budget_init_rejects_bad_configurations, 1,
        "Retry budget configuration: px_budget_init must return -EINVAL for a ratio outside [0, 1000] or NaN (NaN "
        "fails every comparison: write the test as !(ratio >= 0 && ratio <= 1000)) and for a ttl outside [1 ms, 1 h]; "
        "NULL means PX_BUDGET_DEFAULTS.")
{
    px_budget b;
    const px_budget_config bad[] = {
        {.ratio = -0.001, .min_per_sec = 10, .ttl_ns = 10 * SEC}, {.ratio = 1000.5, .min_per_sec = 10, .ttl_ns = SEC},
        {.ratio = NAN, .min_per_sec = 10, .ttl_ns = SEC},         {.ratio = 0.2, .min_per_sec = 10, .ttl_ns = 0},
        {.ratio = 0.2, .min_per_sec = 10, .ttl_ns = MS - 1},      {.ratio = 0.2, .ttl_ns = PX_BUDGET_MAX_TTL_NS + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(px_budget_init(&b, &bad[i]) == -EINVAL, "configuration %zu (ratio %g, ttl %llu ns) accepted", i,
                      bad[i].ratio, (unsigned long long)bad[i].ttl_ns);
    ck_assert_int_eq(px_budget_init(&b, NULL), 0);
    ck_assert_int_eq(px_budget_init(&b, &(px_budget_config){.ratio = 0, .ttl_ns = MS}), 0);
    ck_assert_int_eq(px_budget_init(&b, &(px_budget_config){.ratio = 1000, .ttl_ns = PX_BUDGET_MAX_TTL_NS}), 0);
}

FT_TEST(3, budget_ratio_allows_a_fifth_of_the_requests_as_retries, 3,
        "Retry budget: over the window, retries + 1 <= ratio x requests + min_per_sec x ttl seconds. With 1000 "
        "requests and ratio 0.2 that is 200 retries, 300 with the default floor of 10/s over 10 s; an off-by-one at "
        "the boundary or a forgotten floor is the usual mistake.")
{
    px_budget b;
    make(&b, 0.2, 0, 10 * SEC);
    for (unsigned i = 0; i < 1000; i++)
        px_budget_deposit(&b, i * 5 * MS); /* spread over 5 s */
    ck_assert_uint_eq(drain(&b, 5 * SEC, 10000), 200);
    ck_assert(!px_budget_withdraw(&b, 5 * SEC));

    memset(&b, 0, sizeof b);
    ck_assert_int_eq(px_budget_init(&b, NULL), 0);
    deposit(&b, 1000, 3 * SEC);
    ck_assert_uint_eq(drain(&b, 4 * SEC, 10000), 300);
    px_budget_deposit(&b, 4 * SEC); /* four more requests earn 0.8 of a retry: not yet one */
    deposit(&b, 3, 4 * SEC);
    ck_assert(!px_budget_withdraw(&b, 4 * SEC));
    px_budget_deposit(&b, 4 * SEC); /* the fifth makes it one */
    ck_assert(px_budget_withdraw(&b, 4 * SEC));
    ck_assert(!px_budget_withdraw(&b, 4 * SEC));
}

FT_TEST(3, budget_refused_retry_is_not_counted, 2,
        "Retry budget: a refused withdrawal must count nothing. Counting it spends the budget of the retries that "
        "come after, so under a burst of failures the budget never recovers while requests keep arriving.")
{
    px_budget b;
    make(&b, 0.2, 0, 10 * SEC);
    deposit(&b, 10, SEC);
    ck_assert_uint_eq(drain(&b, SEC, 100), 2);
    for (int i = 0; i < 20; i++)
        ck_assert(!px_budget_withdraw(&b, SEC + i * MS));
    deposit(&b, 5, 2 * SEC); /* one more retry earned */
    ck_assert_msg(px_budget_withdraw(&b, 2 * SEC),
                  "5 more requests at ratio 0.2 earn a retry, unless the 20 refused "
                  "withdrawals were counted");
    ck_assert(!px_budget_withdraw(&b, 2 * SEC));
}

FT_TEST(3, budget_ratio_is_exact_for_decimal_fractions, 1,
        "Retry budget arithmetic: 0.29 x 100 is 28.999999999999996 in doubles, so a floating-point comparison lets "
        "one retry too few through; keep the ratio in thousandths and compare integers, as budget.h says.")
{
    px_budget b;
    make(&b, 0.29, 0, 10 * SEC);
    deposit(&b, 100, SEC);
    ck_assert_uint_eq(drain(&b, SEC, 1000), 29);
    make(&b, 0.7, 0, 10 * SEC);
    deposit(&b, 10, SEC);
    ck_assert_uint_eq(drain(&b, SEC, 1000), 7);
    make(&b, 2.5, 0, 10 * SEC);
    deposit(&b, 4, SEC);
    ck_assert_uint_eq(drain(&b, SEC, 1000), 10);
}

FT_TEST(3, budget_window_slides_and_forgets_old_traffic, 3,
        "Sliding window: requests and retries older than ttl stop counting (after ttl without traffic only the "
        "min_per_sec floor is left), while younger ones still count; empty each bucket the window moves past, not "
        "the whole ring at once, and not never.")
{
    px_budget b;
    /* Everything deposited at 0 still counts just before ttl... */
    make(&b, 0.2, 1, 10 * SEC);
    deposit(&b, 1000, 0);
    ck_assert_uint_eq(drain(&b, 10 * SEC - 1, 10000), 210);
    /* ...and is gone at ttl: only the floor (1/s over 10 s) is left. */
    make(&b, 0.2, 1, 10 * SEC);
    deposit(&b, 1000, 0);
    ck_assert_uint_eq(drain(&b, 10 * SEC, 10000), 10);
    /* Half the traffic at 0 s, half at 5 s: at 10 s only the second half still counts. */
    make(&b, 0.2, 1, 10 * SEC);
    deposit(&b, 500, 0);
    deposit(&b, 500, 5 * SEC);
    ck_assert_uint_eq(drain(&b, 10 * SEC, 10000), 110);
    /* Retries age out too: the floor spent at 0 is whole again at ttl, and after a long silence. */
    make(&b, 0, 1, 10 * SEC);
    ck_assert_uint_eq(drain(&b, 0, 100), 10);
    ck_assert_uint_eq(drain(&b, 9 * SEC, 100), 0);
    ck_assert_uint_eq(drain(&b, 10 * SEC, 100), 10);
    ck_assert_uint_eq(drain(&b, 1000000 * SEC, 100), 10);
}

FT_TEST(3, budget_time_going_back_keeps_the_window, 1,
        "A now_ns earlier than the latest one seen (two timestamps read in another order than their calls) counts as "
        "the latest: the window never slides back. Computing slice - epoch in unsigned arithmetic wraps to a huge gap "
        "and empties the whole window.")
{
    px_budget b;
    make(&b, 0.2, 0, 10 * SEC);
    deposit(&b, 1000, 5 * SEC);
    ck_assert(px_budget_withdraw(&b, 5 * SEC));
    ck_assert_uint_eq(drain(&b, 4 * SEC, 10000), 199);
    deposit(&b, 5, 3 * SEC);
    ck_assert_uint_eq(drain(&b, 5 * SEC, 10000), 1);
    /* Counted as at 5 s: all of it is gone at 15 s. */
    ck_assert_uint_eq(drain(&b, 15 * SEC, 10000), 0);
}

FT_TEST(3, budget_floor_alone_allows_min_per_sec_times_ttl, 2,
        "The retry budget's floor: min_per_sec x ttl seconds retries are allowed with no traffic at all (10/s over "
        "10 s is 100), so that a quiet service can still retry; forgetting to scale by ttl gives 10.")
{
    px_budget b;
    make(&b, 0.2, 10, 10 * SEC);
    ck_assert_uint_eq(drain(&b, 42 * SEC, 1000), 100);
    ck_assert(!px_budget_withdraw(&b, 42 * SEC));
    make(&b, 0.2, 4, 2500 * MS);
    ck_assert_uint_eq(drain(&b, SEC, 1000), 10);
}

/* A GET that failed once, may be sent 3 times in all, body not sent, no deadline. */
static px_retry_request get_request(void) { return (px_retry_request){.method = "GET", .attempts = 1, .max_attempts = 3}; }

/* A budget with exactly n retries to give (the floor, no ratio). */
static void budget_of(px_budget *b, uint32_t n) { make(b, 0, n, SEC); }

FT_TEST(3, retry_never_resends_post_patch_or_connect, 2,
        "Idempotent methods (RFC 9110 §9.2.2): POST, PATCH and CONNECT are never retried, since the upstream may "
        "have applied the request before it failed, and a retry would apply it twice.")
{
    px_budget b;
    budget_of(&b, 1);
    const char *never[] = {"POST", "PATCH", "CONNECT", "PROPFIND", "", NULL};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        px_retry_request r = get_request();
        r.method = never[i];
        ck_assert_msg(!px_method_idempotent(never[i]), "%s taken as idempotent", never[i] ? never[i] : "NULL");
        ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NOT_IDEMPOTENT);
    }
    px_retry_request r = get_request();
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY);
}

FT_TEST(3, retry_resends_each_idempotent_method, 1,
        "Idempotent methods (RFC 9110 §9.2.2): GET, HEAD, OPTIONS, TRACE, PUT and DELETE have the effect of one "
        "request however often they are sent; each must be retried.")
{
    const char *methods[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        px_retry_request r = get_request();
        r.method = methods[i];
        ck_assert_msg(px_method_idempotent(methods[i]), "%s not taken as idempotent", methods[i]);
        ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
    }
}

FT_TEST(3, retry_method_check_is_case_sensitive, 1,
        "RFC 9110 methods are case-sensitive: \"get\" is another (unknown) method, not GET, and is not idempotent. "
        "Compare whole tokens with strcmp, not strcasecmp and not prefixes.")
{
    ck_assert(px_method_idempotent("GET"));
    const char *others[] = {"get", "Get", "gET", "put", "Delete", "head", "GETS", "GE", "GET ", " GET"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        ck_assert_msg(!px_method_idempotent(others[i]), "\"%s\" taken as idempotent", others[i]);
        px_retry_request r = get_request();
        r.method = others[i];
        ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY_NOT_IDEMPOTENT);
    }
}

FT_TEST(3, retry_consumed_body_needs_a_replay_buffer, 2,
        "Request bodies: once part of a body has gone upstream, the request can be sent again only from a replay "
        "buffer that kept the whole body; without one the verdict is PX_RETRY_BODY_GONE.")
{
    px_retry_request r = get_request();
    r.method = "PUT";
    r.body_consumed = true;
    r.body_replayable = false;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY_BODY_GONE);
    r.body_replayable = true;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
    r.body_consumed = false;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
    r.body_replayable = false;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
}

FT_TEST(3, retry_asks_the_budget_last_and_only_allowed_retries_withdraw, 3,
        "The retry budget is asked last: only a retry that will really be sent may withdraw. Withdrawing before the "
        "method, body, attempts and deadline are checked spends the budget on requests that are then refused. A "
        "spent budget gives PX_RETRY_NO_BUDGET.")
{
    px_budget b;
    budget_of(&b, 2);
    px_retry_request r = get_request();
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY);
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY);
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NO_BUDGET);

    budget_of(&b, 2);
    for (int i = 0; i < 5; i++) {
        px_retry_request post = get_request(), gone = get_request(), tired = get_request(), late = get_request();
        post.method = "POST";
        gone.body_consumed = true;
        tired.attempts = 3;
        late.deadline_ns = SEC;
        ck_assert_int_eq(px_retry_decide(&post, &b, SEC), PX_RETRY_NOT_IDEMPOTENT);
        ck_assert_int_eq(px_retry_decide(&gone, &b, SEC), PX_RETRY_BODY_GONE);
        ck_assert_int_eq(px_retry_decide(&tired, &b, SEC), PX_RETRY_MAX_ATTEMPTS);
        ck_assert_int_eq(px_retry_decide(&late, &b, SEC), PX_RETRY_NO_TIME);
    }
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY);
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY);
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NO_BUDGET);
}

FT_TEST(3, retry_stops_at_the_deadline, 2,
        "Deadlines: at or after deadline_ns the client has stopped waiting, so there is no retry "
        "(PX_RETRY_NO_TIME when now >= deadline, not only when now > deadline); deadline_ns 0 means no deadline.")
{
    px_retry_request r = get_request();
    r.deadline_ns = 100 * SEC;
    ck_assert_int_eq(px_retry_decide(&r, NULL, 100 * SEC - 1), PX_RETRY);
    ck_assert_int_eq(px_retry_decide(&r, NULL, 100 * SEC), PX_RETRY_NO_TIME);
    ck_assert_int_eq(px_retry_decide(&r, NULL, 100 * SEC + 1), PX_RETRY_NO_TIME);
    r.deadline_ns = 0;
    ck_assert_int_eq(px_retry_decide(&r, NULL, UINT64_MAX - 1), PX_RETRY);
}

FT_TEST(3, retry_attempts_are_bounded_by_max_attempts, 2,
        "max_attempts counts every attempt, the first one included: with max_attempts 3 a request is sent at most 3 "
        "times, so after the 3rd attempt the verdict is PX_RETRY_MAX_ATTEMPTS (attempts >= max, not >).")
{
    px_retry_request r = get_request();
    r.max_attempts = 3;
    r.attempts = 1;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
    r.attempts = 2;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY);
    r.attempts = 3;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY_MAX_ATTEMPTS);
    r.attempts = 4;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY_MAX_ATTEMPTS);
    r.max_attempts = 1;
    r.attempts = 1;
    ck_assert_int_eq(px_retry_decide(&r, NULL, SEC), PX_RETRY_MAX_ATTEMPTS);
}

FT_TEST(3, retry_verdict_names_the_first_reason_in_order, 1,
        "The retry policy checks in budget.h's order (method, body, attempts, deadline, budget) and names the first "
        "reason it finds; px_retry_verdict_text gives each verdict its own text, never NULL.")
{
    px_budget b;
    budget_of(&b, 0);
    px_retry_request r = {.method = "PATCH", .body_consumed = true, .attempts = 5, .max_attempts = 5, .deadline_ns = 1};
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NOT_IDEMPOTENT);
    r.method = "DELETE";
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_BODY_GONE);
    r.body_consumed = false;
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_MAX_ATTEMPTS);
    r.max_attempts = 6;
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NO_TIME);
    r.deadline_ns = 0;
    ck_assert_int_eq(px_retry_decide(&r, &b, SEC), PX_RETRY_NO_BUDGET);

    const px_retry_verdict all[] = {PX_RETRY,           PX_RETRY_NOT_IDEMPOTENT, PX_RETRY_BODY_GONE,
                                    PX_RETRY_NO_BUDGET, PX_RETRY_NO_TIME,        PX_RETRY_MAX_ATTEMPTS};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *text = px_retry_verdict_text(all[i]);
        ck_assert_ptr_ne(text, NULL);
        ck_assert(text[0] != '\0');
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(text, px_retry_verdict_text(all[j])) != 0, "verdicts %zu and %zu share \"%s\"", j, i,
                          text);
    }
}
