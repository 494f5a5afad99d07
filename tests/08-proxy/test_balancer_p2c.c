/*
 * Chapter 08, part 2: the peak-EWMA estimate, P2C's choice, reloads with generations, and the simulations that show
 * why Linkerd balances on latency: three endpoints, one of them 200 times slower than the others.
 */
#include "balancer.h"
#include "balancer_support.h"
#include "ferrite_test.h"

#include <errno.h>
#include <stdio.h>

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

/* Gives the endpoint in @p slot of a two-endpoint balancer one sample of @p rtt_ns at @p now_ns: the other is
 * ejected for the pick, so the pick cannot go elsewhere, then restored. */
static void sample_one(px_balancer *b, uint32_t slot, uint64_t now_ns, uint64_t rtt_ns)
{
    px_pick other = view_of(b, 1 - slot).pick;
    px_balancer_set_available(b, other, false);
    px_pick p = must_pick(b, now_ns);
    ck_assert_uint_eq(p.slot, slot);
    px_balancer_done(b, p, now_ns, rtt_ns, true);
    px_balancer_set_available(b, other, true);
}

FT_TEST(2, p2c_compares_two_distinct_endpoints, 2,
        "P2C: draw two DIFFERENT endpoints (the second among the n - 1 others) and take the cheaper. Drawing both "
        "from all n compares an endpoint with itself 1/n of the time, and then even a very slow one wins. Here slot 1 "
        "is at 500 ms and slot 0 at 30 ms: every pick must go to slot 0.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, NULL, 2);
    sample_one(b, 1, MS, 500 * MS);
    for (int i = 0; i < 200; i++) {
        uint64_t now = 2 * MS + (uint64_t)i * MS;
        px_pick p = must_pick(b, now);
        ck_assert_msg(p.slot == 0, "pick %d went to the 500 ms endpoint", i);
        px_balancer_done(b, p, now, 30 * MS, true);
    }
    px_balancer_destroy(b);
}

FT_TEST(2, p2c_cost_grows_with_requests_in_flight, 2,
        "P2C over peak-EWMA: cost = estimate x (in_flight + 1), as tower's PeakEwma. An endpoint at 30 ms with one "
        "request waiting costs 60, more than an idle one at 50 ms. Most likely: the estimate alone as the cost, so "
        "the fastest endpoint takes every request while its queue grows.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, NULL, 2);
    sample_one(b, 1, MS, 50 * MS);
    ck_assert_uint_eq(view_of(b, 1).ewma_ns, 50 * MS);
    px_pick first = must_pick(b, MS), second = must_pick(b, MS), third = must_pick(b, MS);
    ck_assert_msg(first.slot == 0 && second.slot == 1 && third.slot == 0,
                  "costs 30 vs 50, then 60 vs 50, then 60 vs 100: slots 0, 1, 0, not %u, %u, %u", first.slot, second.slot,
                  third.slot);
    ck_assert_uint_eq(view_of(b, 0).in_flight, 2);
    px_balancer_destroy(b);
}

FT_TEST(2, peak_ewma_jumps_on_a_slow_sample_and_decays_back, 3,
        "Peak-EWMA: a sample above the estimate replaces it at once; a sample below moves it by 1 - exp(-elapsed / "
        "decay), elapsed being the time since the last update, so a peak fades over about decay_ns whatever the "
        "request rate. Most likely: a plain EWMA (no jump), a fixed weight per sample, or elapsed not measured.")
{
    px_ewma_config cfg = {.default_rtt_ns = 30 * MS, .decay_ns = 1000 * MS};
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, &cfg, 1);
    px_balancer_done(b, must_pick(b, 0), 10 * MS, 10 * MS, true);
    uint64_t e = view_of(b, 0).ewma_ns;
    ck_assert_msg(e > 29 * MS && e < 30 * MS, "10 ms later, a 10 ms sample moves 30 ms by 1%%: %.3f ms", e / 1e6);
    px_balancer_done(b, must_pick(b, 0), 20 * MS, 300 * MS, true);
    ck_assert_uint_eq(view_of(b, 0).ewma_ns, 300 * MS);
    px_balancer_done(b, must_pick(b, 0), 30 * MS, 10 * MS, true);
    e = view_of(b, 0).ewma_ns;
    ck_assert_msg(e > 290 * MS, "10 ms after a 300 ms peak the estimate is still near it, not %.3f ms", e / 1e6);
    uint64_t t = 30 * MS;
    while (t < 1030 * MS) {
        t += 100 * MS;
        px_balancer_done(b, must_pick(b, t), t, 10 * MS, true);
    }
    e = view_of(b, 0).ewma_ns; /* 10 + 287 / e */
    ck_assert_msg(e > 105 * MS && e < 125 * MS, "one decay time later: 10 ms + 287 ms / e = 115.6 ms, not %.3f ms",
                  e / 1e6);
    while (t < 4030 * MS) {
        t += 100 * MS;
        px_balancer_done(b, must_pick(b, t), t, 10 * MS, true);
    }
    e = view_of(b, 0).ewma_ns;
    ck_assert_msg(e > 10 * MS && e < 20 * MS, "four decay times later: about 15 ms, not %.3f ms", e / 1e6);
    ck_assert_uint_eq(view_of(b, 0).successes, 43);
    px_balancer_destroy(b);
}

FT_TEST(2, p2c_tries_a_slow_endpoint_again_once_its_peak_has_faded, 2,
        "P2C over peak-EWMA: the cost decays the estimate toward zero by exp(-(now - last update) / decay), so an "
        "endpoint that got no traffic since its 300 ms peak costs less than a busy 30 ms one after ln(10) decay "
        "times (23 s with Linkerd's 10 s), and is tried again. Most likely: the stored estimate used as is, which "
        "shuts a once-slow endpoint out for good.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, NULL, 2);
    sample_one(b, 1, 0, 300 * MS);
    uint64_t t = 0, back = 0;
    while (back == 0 && t < 60000 * MS) {
        t += 100 * MS;
        px_pick p = must_pick(b, t);
        if (p.slot == 1)
            back = t;
        px_balancer_done(b, p, t, 30 * MS, true);
    }
    ck_assert_msg(back > 22000 * MS && back < 24000 * MS,
                  "300 ms x exp(-t / 10 s) drops below 30 ms at t = 23.0 s; the slow endpoint came back at %.1f s",
                  back / 1e9);
    px_balancer_destroy(b);
}

FT_TEST(2, a_fast_failure_does_not_lower_the_estimate, 1,
        "Peak-EWMA on failures (balancer.h's choice): a failure's sample counts as at least the estimate, so a slow "
        "failure raises it and a refused connection in a microsecond leaves it. Most likely: failures ignored "
        "altogether, or their tiny RTTs making a broken endpoint look like the fastest.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, NULL, 1);
    px_balancer_done(b, must_pick(b, 0), 5000 * MS, 1000, false);
    ck_assert_uint_ge(view_of(b, 0).ewma_ns, 29 * MS);
    px_balancer_done(b, must_pick(b, 5000 * MS), 6000 * MS, 400 * MS, false);
    ck_assert_uint_eq(view_of(b, 0).ewma_ns, 400 * MS);
    ck_assert_uint_eq(view_of(b, 0).failures, 2);
    ck_assert_uint_eq(view_of(b, 0).successes, 0);
    px_balancer_destroy(b);
}

FT_TEST(2, a_new_endpoint_starts_at_the_default_rtt, 1,
        "Reload: a new endpoint's estimate is the configured default RTT (Linkerd: 30 ms), not 0, which would "
        "make P2C send it everything before its first answer, and not another endpoint's leftover statistics.")
{
    px_ewma_config cfg = {.default_rtt_ns = 25 * MS, .decay_ns = 10000 * MS};
    px_balancer *b = balsim_balancer(PX_BALANCE_P2C_PEAK_EWMA, &cfg, 1);
    px_balancer_done(b, must_pick(b, 0), 10 * MS, 300 * MS, true);
    px_endpoint_addr two[2] = {balsim_addr(0), balsim_addr(1)};
    ck_assert_int_eq(px_balancer_set_endpoints(b, two, 2, 50 * MS), 0);
    px_endpoint_view fresh = view_of(b, 1);
    ck_assert_str_eq(fresh.addr.text, "10.0.0.2:8001");
    ck_assert_uint_eq(fresh.ewma_ns, 25 * MS);
    ck_assert_uint_eq(fresh.picks, 0);
    ck_assert(fresh.available);
    ck_assert_uint_eq(view_of(b, 0).ewma_ns, 300 * MS);
    ck_assert_uint_eq(must_pick(b, 50 * MS).slot, 1);
    px_balancer_destroy(b);
}

FT_TEST(2, reload_keeps_the_slot_and_statistics_of_kept_endpoints, 3,
        "Reload as a slot map: an endpoint still listed keeps its slot, generation, counters, estimate, in-flight "
        "count and ejection; a removed one frees its slot, which the next new endpoint reuses with a new generation "
        "and fresh state. Most likely: the set rebuilt from scratch, which resets the statistics and orphans every "
        "connection in flight.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_ROUND_ROBIN, NULL, 3);
    px_pick a = must_pick(b, 0), bb = must_pick(b, 0), c = must_pick(b, 0);
    ck_assert(a.slot == 0 && bb.slot == 1 && c.slot == 2);
    px_balancer_done(b, a, 10 * MS, 10 * MS, true);
    px_balancer_done(b, bb, 10 * MS, 70 * MS, true);
    px_balancer_set_available(b, bb, false);
    px_endpoint_view old_b = view_of(b, 1), old_c = view_of(b, 2);

    px_endpoint_addr next[3] = {balsim_addr(2), balsim_addr(1), balsim_addr(3)}; /* C, B, and a new D */
    ck_assert_int_eq(px_balancer_set_endpoints(b, next, 3, 20 * MS), 0);
    ck_assert_uint_eq(px_balancer_slots(b), 3);
    px_endpoint_view vb = view_of(b, 1), vc = view_of(b, 2), vd = view_of(b, 0);
    ck_assert_uint_eq(vb.pick.gen, old_b.pick.gen);
    ck_assert_uint_eq(vb.successes, 1);
    ck_assert_uint_eq(vb.ewma_ns, old_b.ewma_ns);
    ck_assert_msg(!vb.available, "an ejected endpoint that stays listed stays ejected");
    ck_assert_uint_eq(vc.pick.gen, old_c.pick.gen);
    ck_assert_uint_eq(vc.in_flight, 1);
    ck_assert_uint_eq(vc.picks, 1);
    ck_assert_str_eq(vd.addr.text, "10.0.0.4:8003");
    ck_assert_uint_ne(vd.pick.gen, a.gen);
    ck_assert_uint_eq(vd.picks, 0);
    ck_assert_uint_eq(vd.successes, 0);
    ck_assert(vd.available);
    /* The connection to C, opened before the reload, reports after it. */
    px_balancer_done(b, c, 30 * MS, 30 * MS, true);
    ck_assert_uint_eq(view_of(b, 2).in_flight, 0);
    ck_assert_uint_eq(view_of(b, 2).successes, 1);
    px_balancer_destroy(b);
}

FT_TEST(2, stale_picks_are_ignored_after_a_reload, 2,
        "Generations: a pick whose endpoint was removed, or whose slot now holds another endpoint, changes nothing "
        "(done, set_available and available compare the generation). Most likely: only the slot index checked, so "
        "a late report lands on the endpoint that took the slot.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_ROUND_ROBIN, NULL, 1);
    px_pick old = must_pick(b, 0);
    ck_assert_int_eq(px_balancer_set_endpoints(b, NULL, 0, MS), 0);
    px_endpoint_view v;
    ck_assert_int_eq(px_balancer_endpoint(b, 0, &v), -ENOENT);
    ck_assert(!px_balancer_available(b, old));
    px_endpoint_addr other = balsim_addr(5);
    ck_assert_int_eq(px_balancer_set_endpoints(b, &other, 1, 2 * MS), 0);
    px_endpoint_view now = view_of(b, 0);
    ck_assert_uint_ne(now.pick.gen, old.gen);
    px_balancer_done(b, old, 3 * MS, 900 * MS, false);
    px_balancer_set_available(b, old, false);
    now = view_of(b, 0);
    ck_assert_uint_eq(now.in_flight, 0);
    ck_assert_uint_eq(now.failures, 0);
    ck_assert_uint_eq(now.ewma_ns, 30 * MS);
    ck_assert(now.available);
    ck_assert(!px_balancer_available(b, old));
    ck_assert(!px_balancer_available(b, (px_pick){0, 0}));
    ck_assert_uint_eq(must_pick(b, 4 * MS).slot, 0);
    px_balancer_destroy(b);
}

FT_TEST(2, reload_with_a_duplicate_changes_nothing, 1,
        "Reload is all or nothing: a list with one address twice is -EINVAL and the balancer keeps its endpoints.")
{
    px_balancer *b = balsim_balancer(PX_BALANCE_ROUND_ROBIN, NULL, 2);
    px_endpoint_addr dup[3] = {balsim_addr(4), balsim_addr(0), balsim_addr(4)};
    ck_assert_int_eq(px_balancer_set_endpoints(b, dup, 3, MS), -EINVAL);
    ck_assert_uint_eq(px_balancer_slots(b), 2);
    ck_assert_str_eq(view_of(b, 0).addr.text, "10.0.0.1:8000");
    ck_assert_str_eq(view_of(b, 1).addr.text, "10.0.0.2:8001");
    px_balancer_destroy(b);
}

/* 10 s of traffic, one request per millisecond, at most 100 in flight, over endpoints answering in 1, 1 and 200 ms. */
static balsim_result simulate_slow_third(px_balancer_kind kind)
{
    balsim_config c = {.kind = kind,
                       .endpoints = 3,
                       .latency_ns = {1 * MS, 1 * MS, 200 * MS},
                       .interval_ns = 1 * MS,
                       .duration_ns = 10000 * MS,
                       .max_in_flight = 100,
                       .seed = 7};
    balsim_result r;
    int rc = balsim_run(&c, &r);
    ck_assert_msg(rc == 0, "the %s simulation failed: %d", px_balancer_kind_name(kind), rc);
    fprintf(stderr, "%-12s slow endpoint %5.2f%% of %llu requests, mean latency %6.2f ms, turned away %llu\n",
            px_balancer_kind_name(kind), 100 * balsim_share(&r, 2), (unsigned long long)r.sent, r.mean_latency_ms,
            (unsigned long long)r.turned_away);
    return r;
}

FT_TEST(2, p2c_sends_the_slow_endpoint_a_third_of_round_robins_share, 3,
        "P2C over peak-EWMA (simulation: endpoints at 1, 1 and 200 ms): the slow endpoint's first answer lifts its "
        "estimate to 200 ms, and from then on it loses nearly every comparison, so it gets at most a third of the "
        "share round-robin gives it. Most likely: the estimate never updated from samples, or costs compared the "
        "wrong way round.")
{
    balsim_result rr = simulate_slow_third(PX_BALANCE_ROUND_ROBIN);
    balsim_result p2c = simulate_slow_third(PX_BALANCE_P2C_PEAK_EWMA);
    double rr_share = balsim_share(&rr, 2), p2c_share = balsim_share(&p2c, 2);
    ck_assert_msg(rr_share > 0.33 && rr_share < 0.34, "round-robin gives each of 3 endpoints a third, not %.4f", rr_share);
    ck_assert_msg(p2c_share <= rr_share / 3, "slow endpoint's share: P2C %.4f, round-robin %.4f", p2c_share, rr_share);
    ck_assert_uint_ge(p2c.sent, rr.sent);
    ck_assert(p2c.mean_latency_ms < rr.mean_latency_ms / 3);
}

FT_TEST(2, least_loaded_also_beats_round_robin_with_a_slow_endpoint, 2,
        "Least-loaded (simulation: endpoints at 1, 1 and 200 ms): requests pile up in flight on the slow endpoint, "
        "so it is chosen only when it has drained, far less than round-robin's third. Most likely: in_flight not "
        "decremented by px_balancer_done, so every endpoint looks equally busy.")
{
    balsim_result rr = simulate_slow_third(PX_BALANCE_ROUND_ROBIN);
    balsim_result ll = simulate_slow_third(PX_BALANCE_LEAST_LOADED);
    double rr_share = balsim_share(&rr, 2), ll_share = balsim_share(&ll, 2);
    ck_assert_msg(ll_share <= rr_share / 3, "slow endpoint's share: least-loaded %.4f, round-robin %.4f", ll_share,
                  rr_share);
    ck_assert(ll.mean_latency_ms < rr.mean_latency_ms);
}
