/*
 * Chapter 08, part 2: the balancer. Time is a number the tests choose and randomness comes from a seed, so every
 * run makes the same picks; the simulations in balancer_support.c play a few seconds of traffic in microseconds.
 */
#include "balancer.h"
#include "balancer_support.h"
#include "ferrite_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MS UINT64_C(1000000) /* nanoseconds in a millisecond */

static px_endpoint_view view_of(const px_balancer *b, uint32_t slot)
{
    px_endpoint_view v;
    int rc = px_balancer_endpoint(b, slot, &v);
    ck_assert_msg(rc == 0, "px_balancer_endpoint(slot %u) returned %d", slot, rc);
    return v;
}

static px_pick must_pick(px_balancer *b, uint64_t now_ns)
{
    px_pick p = {0};
    int rc = px_balancer_pick(b, now_ns, &p);
    ck_assert_msg(rc == 0, "px_balancer_pick returned %d with endpoints available", rc);
    return p;
}

FT_TEST(2, balancer_kind_names_read_back, 1,
        "px_balancer_kind_parse reads exactly \"round-robin\", \"least-loaded\" and \"p2c\" (the names "
        "px_balancer_kind_name gives) and returns -EINVAL for anything else, NULL included.")
{
    const px_balancer_kind kinds[] = {PX_BALANCE_ROUND_ROBIN, PX_BALANCE_LEAST_LOADED, PX_BALANCE_P2C_PEAK_EWMA};
    const char *names[] = {"round-robin", "least-loaded", "p2c"};
    for (size_t i = 0; i < 3; i++) {
        px_balancer_kind k = (px_balancer_kind)-1;
        ck_assert_str_eq(px_balancer_kind_name(kinds[i]), names[i]);
        ck_assert_int_eq(px_balancer_kind_parse(names[i], &k), 0);
        ck_assert_int_eq(k, kinds[i]);
    }
    px_balancer_kind k;
    ck_assert_int_eq(px_balancer_kind_parse("P2C", &k), -EINVAL);
    ck_assert_int_eq(px_balancer_kind_parse("random", &k), -EINVAL);
    ck_assert_int_eq(px_balancer_kind_parse(NULL, &k), -EINVAL);
}

FT_TEST(2, balancer_create_checks_its_arguments, 1,
        "px_balancer_create: -EINVAL for a kind outside the enum or a zero default RTT or decay (the decay divides); "
        "NULL ewma means the defaults. A new balancer has no endpoints: a pick is -EHOSTUNREACH.")
{
    px_balancer *b = NULL;
    ck_assert_int_eq(px_balancer_create((px_balancer_kind)7, NULL, 1, &b), -EINVAL);
    px_ewma_config no_decay = {.default_rtt_ns = 30 * MS, .decay_ns = 0};
    ck_assert_int_eq(px_balancer_create(PX_BALANCE_P2C_PEAK_EWMA, &no_decay, 1, &b), -EINVAL);
    ck_assert_int_eq(px_balancer_create(PX_BALANCE_P2C_PEAK_EWMA, NULL, 0, &b), 0);
    px_pick p;
    ck_assert_int_eq(px_balancer_pick(b, 0, &p), -EHOSTUNREACH);
    ck_assert_uint_eq(px_balancer_slots(b), 0);
    px_balancer_destroy(b);
    px_balancer_destroy(NULL);
}

FT_TEST(2, round_robin_takes_three_endpoints_in_turn, 2,
        "Round-robin: each pick takes the next available slot after the previous pick, wrapping around, so 300 "
        "picks over 3 endpoints give exactly 100 each and never the same one twice in a row. Most likely: the "
        "cursor not moved past the chosen slot, or reset on every pick.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_ROUND_ROBIN, NULL, 3);
    uint32_t count[3] = {0}, last = 99;
    for (int i = 0; i < 300; i++) {
        px_pick p = must_pick(b, (uint64_t)i * MS);
        ck_assert_uint_lt(p.slot, 3);
        ck_assert_msg(p.slot != last, "pick %d took slot %u again", i, p.slot);
        count[p.slot]++, last = p.slot;
        px_balancer_done(b, p, (uint64_t)i * MS, MS, true);
    }
    for (uint32_t s = 0; s < 3; s++) {
        ck_assert_uint_eq(count[s], 100);
        px_endpoint_view v = view_of(b, s);
        ck_assert_uint_eq(v.picks, 100);
        ck_assert_uint_eq(v.successes, 100);
        ck_assert_uint_eq(v.in_flight, 0);
    }
    px_balancer_destroy(b);
}

FT_TEST(2, least_loaded_sends_to_the_idle_endpoint, 2,
        "Least-loaded: the available endpoint with the fewest requests in flight wins; a pick counts as in flight "
        "until px_balancer_done. Most likely: in_flight not incremented on pick or not decremented on done.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_LEAST_LOADED, NULL, 3);
    px_pick a = must_pick(b, 0), c = must_pick(b, 0);
    ck_assert_uint_ne(a.slot, c.slot);
    px_pick idle = must_pick(b, 0);
    ck_assert_msg(idle.slot != a.slot && idle.slot != c.slot, "slot %u has a request in flight, another has none",
                  idle.slot);
    ck_assert_uint_eq(view_of(b, idle.slot).in_flight, 1);
    /* The one that finishes is then the only one with fewer in flight. */
    px_balancer_done(b, c, 5 * MS, 5 * MS, true);
    ck_assert_uint_eq(view_of(b, c.slot).in_flight, 0);
    px_pick next = must_pick(b, 6 * MS);
    ck_assert_uint_eq(next.slot, c.slot);
    px_pick again = must_pick(b, 6 * MS); /* all at 1: any, but then that one is at 2 */
    px_pick third = must_pick(b, 6 * MS);
    ck_assert_uint_ne(third.slot, again.slot);
    px_balancer_destroy(b);
}

FT_TEST(2, least_loaded_breaks_ties_in_turn, 2,
        "Least-loaded: when several endpoints have equally few in flight, take them in turn (scan from after the "
        "last pick), so idle endpoints share the traffic. Most likely: the scan starts at slot 0 every time, and "
        "with requests finishing before the next arrives the first endpoint takes them all.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_LEAST_LOADED, NULL, 3);
    uint32_t count[3] = {0};
    for (int i = 0; i < 30; i++) {
        px_pick p = must_pick(b, (uint64_t)i * MS);
        count[p.slot]++;
        px_balancer_done(b, p, (uint64_t)i * MS + 1, 1, true);
    }
    ck_assert_msg(count[0] == 10 && count[1] == 10 && count[2] == 10, "30 picks, all idle: %u, %u, %u", count[0], count[1],
                  count[2]);
    px_balancer_destroy(b);
}

FT_TEST(2, ejected_endpoints_are_never_picked, 2,
        "Availability: every algorithm chooses among available endpoints only; an ejected one is skipped until it "
        "is restored, and all ejected (or none listed) is -EHOSTUNREACH. Most likely: P2C drawing among all slots, "
        "or round-robin falling back to the ejected slot.")
{
    const px_balancer_kind kinds[] = {PX_BALANCE_ROUND_ROBIN, PX_BALANCE_LEAST_LOADED, PX_BALANCE_P2C_PEAK_EWMA};
    for (size_t k = 0; k < 3; k++) {
        px_balancer *b = balsim_balancer(kinds[k], NULL, 3);
        px_pick middle = view_of(b, 1).pick;
        px_balancer_set_available(b, middle, false);
        ck_assert(!px_balancer_available(b, middle));
        ck_assert(!view_of(b, 1).available);
        for (int i = 0; i < 60; i++) {
            px_pick p = must_pick(b, (uint64_t)i * MS);
            ck_assert_msg(p.slot != 1, "%s picked the ejected slot 1", px_balancer_kind_name(kinds[k]));
            px_balancer_done(b, p, (uint64_t)i * MS + MS, MS, true);
        }
        px_balancer_set_available(b, view_of(b, 0).pick, false);
        px_balancer_set_available(b, view_of(b, 2).pick, false);
        px_pick p;
        ck_assert_int_eq(px_balancer_pick(b, 100 * MS, &p), -EHOSTUNREACH);
        px_balancer_set_available(b, middle, true);
        ck_assert(px_balancer_available(b, middle));
        ck_assert_uint_eq(must_pick(b, 101 * MS).slot, 1);
        ck_assert_int_eq(px_balancer_set_endpoints(b, NULL, 0, 102 * MS), 0);
        ck_assert_int_eq(px_balancer_pick(b, 103 * MS, &p), -EHOSTUNREACH);
        px_balancer_destroy(b);
    }
}
