/*
 * Part 3: the consecutive-failures circuit breaker (breaker.h) — it opens on exactly the N-th failure in a row, an
 * open breaker refuses until its probe time, one probe and only one goes through, failed probes back off
 * exponentially up to the cap with jitter inside its bounds, a good probe closes the breaker and resets the backoff.
 *
 * Time is a number the tests choose (`now_ns`) and the jitter comes from the seed, so every run is the same and
 * nothing sleeps. The retry budget and the retry policy are in test_budget.c.
 */
#include "ferrite_test.h"

#include "breaker.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

FT_PART(3, "failure handling: breakers, backoff, deadlines and retry budgets");

#define MS 1000000ull
#define SEC 1000000000ull

/* A breaker filled with junk first, then initialised: an init that forgets a field leaves the junk in it. */
static void fresh(px_breaker *b, const px_breaker_config *cfg, uint64_t seed)
{
    memset(b, 0xa5, sizeof *b);
    px_breaker_init(b, cfg, seed);
}

/* A configuration without jitter, so every backoff is exact. */
static px_breaker_config exact(uint32_t max_failures, uint64_t min_ns, uint64_t max_ns)
{
    return (px_breaker_config){
        .max_failures = max_failures, .backoff_min_ns = min_ns, .backoff_max_ns = max_ns, .jitter = 0.0};
}

/* Reports max_failures failures at now_ns; the breaker must be open afterwards. */
static void trip(px_breaker *b, uint32_t max_failures, uint64_t now_ns)
{
    for (uint32_t i = 0; i < max_failures; i++)
        px_breaker_failure(b, now_ns);
    ck_assert_msg(b->state == PX_BREAKER_OPEN, "after %u failures in a row the breaker is in state %d, not OPEN",
                  max_failures, (int)b->state);
}

/* Waits out the backoff: the probe goes at probe_at_ns, which is returned. */
static uint64_t probe(px_breaker *b)
{
    uint64_t at = b->probe_at_ns;
    ck_assert_msg(px_breaker_allow(b, at), "allow() at probe_at_ns must let the probe through");
    ck_assert_int_eq(b->state, PX_BREAKER_PROBING);
    return at;
}

FT_TEST(3, breaker_opens_exactly_at_the_nth_consecutive_failure, 2,
        "Consecutive failures: the breaker opens (ejects the endpoint) on exactly the max_failures-th failure in a "
        "row, not one before (> against >=) nor one after; a closed breaker allows every request, and ejections "
        "counts the opening.")
{
    px_breaker_config cfg = exact(4, SEC, 10 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 1);
    ck_assert_int_eq(b.state, PX_BREAKER_CLOSED);
    ck_assert_uint_eq(b.consecutive_failures, 0);
    ck_assert_uint_eq(b.ejections, 0);
    uint64_t t = 7 * SEC;
    for (uint32_t i = 1; i < 4; i++) {
        ck_assert(px_breaker_allow(&b, t));
        px_breaker_failure(&b, t);
        ck_assert_uint_eq(b.consecutive_failures, i);
        ck_assert_msg(!px_breaker_ejected(&b), "ejected after %u failures; max_failures is 4", i);
        t += MS;
    }
    ck_assert(px_breaker_allow(&b, t));
    px_breaker_failure(&b, t);
    ck_assert(px_breaker_ejected(&b));
    ck_assert_int_eq(b.state, PX_BREAKER_OPEN);
    ck_assert_uint_eq(b.ejections, 1);
    ck_assert(!px_breaker_allow(&b, t));
}

FT_TEST(3, breaker_success_resets_the_consecutive_failure_count, 2,
        "Consecutive failures means failures in a row: a success must reset the count to 0. A breaker that counts "
        "all failures ejects a healthy endpoint that fails now and then.")
{
    px_breaker_config cfg = exact(3, SEC, 10 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 2);
    uint64_t t = 0;
    for (int round = 0; round < 50; round++) {
        px_breaker_failure(&b, t++);
        px_breaker_failure(&b, t++);
        ck_assert_uint_eq(b.consecutive_failures, 2);
        px_breaker_success(&b, t++);
        ck_assert_uint_eq(b.consecutive_failures, 0);
        ck_assert_msg(!px_breaker_ejected(&b), "ejected in round %d: 2 failures, then a success, each round", round);
    }
    ck_assert_uint_eq(b.ejections, 0);
    trip(&b, 3, t);
    ck_assert_uint_eq(b.ejections, 1);
}

FT_TEST(3, breaker_open_refuses_until_probe_at, 2,
        "Backoff: an open breaker refuses every request before probe_at_ns = the time it opened + the backoff "
        "(backoff_min_ns the first time, without jitter), and lets the probe through at probe_at_ns itself (>=).")
{
    px_breaker_config cfg = exact(2, SEC, 30 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 3);
    uint64_t t0 = 5 * SEC + 123;
    trip(&b, 2, t0);
    ck_assert_uint_eq(b.probe_at_ns, t0 + SEC);
    ck_assert(!px_breaker_allow(&b, t0));
    ck_assert(!px_breaker_allow(&b, t0 + SEC / 2));
    ck_assert(!px_breaker_allow(&b, t0 + SEC - 1));
    ck_assert_int_eq(b.state, PX_BREAKER_OPEN);
    ck_assert(px_breaker_allow(&b, t0 + SEC));
    ck_assert_int_eq(b.state, PX_BREAKER_PROBING);
    ck_assert(px_breaker_ejected(&b));
}

FT_TEST(3, breaker_lets_exactly_one_probe_through, 3,
        "Probing (half-open): once the backoff is over exactly one request, the probe, may go; every later allow() "
        "must refuse until the probe's outcome is reported, however late. Letting every caller through after "
        "probe_at sends a burst to an endpoint that is likely still broken.")
{
    px_breaker_config cfg = exact(1, SEC, 30 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 4);
    trip(&b, 1, 0);
    uint64_t at = probe(&b);
    for (uint64_t later = at; later < at + 3600 * SEC; later += 97 * SEC)
        ck_assert_msg(!px_breaker_allow(&b, later), "a second probe allowed %llu ns after the first",
                      (unsigned long long)(later - at));
    ck_assert(px_breaker_ejected(&b));
    /* The probe fails: open again, and once more exactly one probe when the (longer) backoff is over. */
    uint64_t failed_at = at + 3600 * SEC;
    px_breaker_failure(&b, failed_at);
    ck_assert_int_eq(b.state, PX_BREAKER_OPEN);
    ck_assert(!px_breaker_allow(&b, failed_at));
    at = probe(&b);
    ck_assert(!px_breaker_allow(&b, at));
    ck_assert(!px_breaker_allow(&b, at + 1));
    px_breaker_success(&b, at + 2);
    ck_assert(px_breaker_allow(&b, at + 3));
    ck_assert(px_breaker_allow(&b, at + 3));
}

FT_TEST(3, breaker_failed_probes_double_the_backoff_up_to_the_cap, 3,
        "Exponential backoff: each failed probe doubles the wait (min, 2 min, 4 min...) until backoff_max_ns, which "
        "is never exceeded; starting again from min, or not capping, is the usual mistake. ejections counts only "
        "the closed -> open moves.")
{
    px_breaker_config cfg = exact(2, SEC, 10 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 5);
    uint64_t t = 1000 * SEC;
    trip(&b, 2, t);
    const uint64_t want[] = {1, 2, 4, 8, 10, 10, 10};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_assert_msg(b.probe_at_ns - t == want[i] * SEC, "opening %zu waits %llu ns, expected %llu s", i + 1,
                      (unsigned long long)(b.probe_at_ns - t), (unsigned long long)want[i]);
        t = probe(&b);
        px_breaker_failure(&b, t);
    }
    ck_assert_uint_eq(b.ejections, 1);
}

FT_TEST(3, breaker_backoff_never_shrinks_however_many_probes_fail, 2,
        "Exponential backoff: doubling must stop at the cap. min << step overflows (and a shift by 64 or more is "
        "undefined) after enough failed probes, and a wrapped backoff comes out tiny: test the doubling before doing "
        "it, or stop stepping once capped.")
{
    px_breaker_config cfg = exact(1, 3, (uint64_t)1 << 40);
    px_breaker b;
    fresh(&b, &cfg, 6);
    uint64_t t = 0, last = 0;
    trip(&b, 1, t);
    for (int i = 0; i < 200; i++) {
        uint64_t wait = b.probe_at_ns - t;
        ck_assert_msg(wait >= last && wait <= cfg.backoff_max_ns, "failed probe %d: backoff %llu ns after %llu ns", i,
                      (unsigned long long)wait, (unsigned long long)last);
        last = wait;
        t = probe(&b);
        px_breaker_failure(&b, t);
    }
    ck_assert_uint_eq(last, cfg.backoff_max_ns);
}

FT_TEST(3, breaker_good_probe_closes_and_resets_the_backoff, 2,
        "A successful probe closes the breaker (the endpoint is back, count 0) and resets the exponential backoff to "
        "backoff_min_ns: an endpoint that recovered and fails again later starts from the short backoff, not from "
        "where its last outage ended.")
{
    px_breaker_config cfg = exact(3, SEC, 60 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 7);
    trip(&b, 3, 0);
    uint64_t t = probe(&b);
    px_breaker_failure(&b, t); /* 2 s */
    t = probe(&b);
    px_breaker_failure(&b, t); /* 4 s */
    ck_assert_uint_eq(b.probe_at_ns - t, 4 * SEC);
    t = probe(&b);
    px_breaker_success(&b, t);
    ck_assert_int_eq(b.state, PX_BREAKER_CLOSED);
    ck_assert(!px_breaker_ejected(&b));
    ck_assert_uint_eq(b.consecutive_failures, 0);
    ck_assert(px_breaker_allow(&b, t));
    ck_assert(px_breaker_allow(&b, t));
    t += SEC;
    trip(&b, 3, t);
    ck_assert_uint_eq(b.ejections, 2);
    ck_assert_msg(b.probe_at_ns - t == SEC, "the first backoff after closing is %llu ns, expected backoff_min_ns",
                  (unsigned long long)(b.probe_at_ns - t));
}

/* The backoffs of one breaker through 7 failed probes, written into out[]. */
static void backoffs(px_breaker *b, uint64_t out[7])
{
    uint64_t t = 50 * SEC;
    trip(b, 1, t);
    for (int i = 0; i < 7; i++) {
        out[i] = b->probe_at_ns - t;
        t = probe(b);
        px_breaker_failure(b, t);
    }
}

FT_TEST(3, breaker_jitter_stays_within_its_bounds, 2,
        "Jitter: each backoff is the capped exponential value times a random factor in [1 - jitter, 1], so it never "
        "exceeds backoff_max_ns nor falls below (1 - jitter) x that value; a factor in [1, 1 + jitter], or one that "
        "never varies, is the usual mistake. The same seed must give the same backoffs.")
{
    px_breaker_config cfg = {.max_failures = 1, .backoff_min_ns = SEC, .backoff_max_ns = 8 * SEC, .jitter = 0.5};
    const uint64_t base[] = {1, 2, 4, 8, 8, 8, 8};
    double lowest = 1.0, highest = 0.0;
    for (uint64_t seed = 0; seed < 200; seed++) {
        px_breaker b;
        fresh(&b, &cfg, seed * 0x9e37 + 11);
        uint64_t got[7];
        backoffs(&b, got);
        for (int i = 0; i < 7; i++) {
            double f = (double)got[i] / (double)(base[i] * SEC);
            ck_assert_msg(f >= 0.5 - 1e-9 && f <= 1.0, "seed %llu, opening %d: backoff %llu ns is %.4f x the base %llu s",
                          (unsigned long long)seed, i + 1, (unsigned long long)got[i], f, (unsigned long long)base[i]);
            lowest = f < lowest ? f : lowest;
            highest = f > highest ? f : highest;
        }
    }
    ck_assert_msg(lowest < 0.55 && highest > 0.95, "1400 jittered backoffs spread only over [%.3f, %.3f] x the base",
                  lowest, highest);

    px_breaker a, b;
    uint64_t ga[7], gb[7];
    fresh(&a, &cfg, 42);
    fresh(&b, &cfg, 42);
    backoffs(&a, ga);
    backoffs(&b, gb);
    ck_assert_msg(memcmp(ga, gb, sizeof ga) == 0, "two breakers seeded 42 backed off differently");
}

FT_TEST(3, breaker_defaults_are_linkerds, 1,
        "Defaults: px_breaker_init(b, NULL, seed) takes PX_BREAKER_DEFAULTS: 7 consecutive failures, a first backoff "
        "of 1 s with jitter 0.5 (so between 0.5 s and 1 s).")
{
    px_breaker b;
    fresh(&b, NULL, 9);
    for (int i = 0; i < 6; i++)
        px_breaker_failure(&b, SEC);
    ck_assert(!px_breaker_ejected(&b));
    px_breaker_failure(&b, SEC);
    ck_assert(px_breaker_ejected(&b));
    uint64_t wait = b.probe_at_ns - SEC;
    ck_assert_msg(wait >= SEC / 2 && wait <= SEC, "first default backoff %llu ns", (unsigned long long)wait);
}

FT_TEST(3, breaker_late_outcomes_while_open_change_nothing, 1,
        "Outcomes reported while the breaker is open belong to requests sent before it opened: a failure must not "
        "restart the backoff nor count another ejection, and a success must not close the breaker; only the probe "
        "decides.")
{
    px_breaker_config cfg = exact(2, SEC, 60 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 10);
    trip(&b, 2, 0);
    uint64_t at = b.probe_at_ns;
    px_breaker_failure(&b, SEC / 2);
    px_breaker_failure(&b, SEC / 2);
    ck_assert_uint_eq(b.probe_at_ns, at);
    ck_assert_uint_eq(b.ejections, 1);
    px_breaker_success(&b, SEC / 2);
    ck_assert_int_eq(b.state, PX_BREAKER_OPEN);
    ck_assert(!px_breaker_allow(&b, at - 1));
    ck_assert(px_breaker_allow(&b, at));
}

FT_TEST(3, breaker_health_checks_eject_within_n_intervals_and_readmit_on_a_good_probe, 2,
        "Active health checks go through the breaker like requests: N consecutive failures eject the endpoint at the "
        "N-th check, later checks are refused until the backoff is over, and the first check let through after the "
        "endpoint recovered is a good probe that closes the breaker.")
{
    /* One check a second; the endpoint is down until 10 s. Backoffs 0.5, 1, 2, 4 s: probes at 3, 4, 6 s fail and the
     * one at 10 s succeeds. */
    px_breaker_config cfg = exact(3, 500 * MS, 60 * SEC);
    px_breaker b;
    fresh(&b, &cfg, 11);
    uint64_t ejected_at = 0, back_at = 0;
    unsigned checks = 0;
    for (uint64_t t = 0; t <= 15 * SEC; t += SEC) {
        if (!px_breaker_allow(&b, t))
            continue;
        checks++;
        if (t < 10 * SEC)
            px_breaker_failure(&b, t);
        else
            px_breaker_success(&b, t);
        if (px_breaker_ejected(&b) && !ejected_at)
            ejected_at = t;
        if (!px_breaker_ejected(&b) && ejected_at && !back_at)
            back_at = t;
    }
    ck_assert_uint_eq(ejected_at, 2 * SEC);
    ck_assert_uint_eq(back_at, 10 * SEC);
    ck_assert_uint_eq(checks, 3 + 3 + 6); /* 0-2 s, probes at 3, 4 and 6 s, then 10-15 s */
    ck_assert_uint_eq(b.ejections, 1);
}

FT_TEST(3, breaker_init_normalises_its_configuration, 1,
        "px_breaker_init normalises what it copies: jitter is clamped to [0, 1] (a jitter of 2 would make the factor "
        "1 - 2u negative, and a negative double converted to uint64_t is undefined), a backoff_max_ns below "
        "backoff_min_ns is raised to it, and max_failures 0 acts as 1.")
{
    px_breaker_config wild = {.max_failures = 0, .backoff_min_ns = 4 * SEC, .backoff_max_ns = SEC, .jitter = 2.0};
    for (uint64_t seed = 0; seed < 50; seed++) {
        px_breaker b;
        fresh(&b, &wild, seed);
        px_breaker_failure(&b, SEC);
        ck_assert_msg(px_breaker_ejected(&b), "max_failures 0: not ejected after a failure");
        uint64_t opened = SEC;
        for (int i = 0; i < 4; i++) {
            if (i > 0) {
                opened = probe(&b);
                px_breaker_failure(&b, opened);
            }
            uint64_t backoff = b.probe_at_ns - opened;
            ck_assert_msg(backoff <= 4 * SEC, "seed %llu, opening %d: backoff %llu ns with min 4 s, max 1 s, jitter 2",
                          (unsigned long long)seed, i + 1, (unsigned long long)backoff);
        }
    }
    px_breaker_config flat = {.max_failures = 1, .backoff_min_ns = 3 * SEC, .backoff_max_ns = SEC, .jitter = -1.0};
    px_breaker b;
    fresh(&b, &flat, 1);
    px_breaker_failure(&b, 0);
    ck_assert_uint_eq(b.probe_at_ns, 3 * SEC); /* no jitter below 0, max raised to min */
    px_breaker_failure(&b, probe(&b));
    ck_assert_uint_eq(b.probe_at_ns, 6 * SEC);
}
