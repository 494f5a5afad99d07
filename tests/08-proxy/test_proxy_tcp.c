/*
 * Chapter 08, parts 2 and 3 through the program: px-proxy in tcp mode in front of backends the tests fork. Part 2
 * (the program needs the balancer to pick an endpoint, so it starts there) checks that bytes pass exactly through
 * both relays, half-closes propagate, nothing leaks, endpoints are spread and reloaded without dropping what is
 * open; part 3 that a dead endpoint costs clients nothing and that health checks eject it and bring it back.
 */
#define _GNU_SOURCE
#include "support.h"
#include "proxy_impl.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Without health checks, a backend's connection count is the proxy's clients only. */
static const char *const quiet_checks[] = {"--health-interval-ms", "0", NULL};

static void forward_exactly(const char *relay)
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_ECHO);
    backend *bs[] = {&b};
    proxy p;
    const char *args[] = {"--relay", relay, "--health-interval-ms", "0", NULL};
    proxy_start(&p, bs, 1, args);
    size_t len = 3u << 20;
    unsigned char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    fill_random(data, len, 8);
    int fd = client_connect(p.port);
    ck_assert_msg(client_echo(fd, data, len, 20000),
                  "3 MiB sent through px-proxy (--relay %s) to an echo backend did not come back intact within 20 s",
                  relay);
    close(fd);
    free(data);
    proxy_stop(&p, 20000);
    backend_free(&b);
}

FT_TEST(2, proxy_forwards_bytes_exactly_with_the_copy_relay, 2,
        "The program accepts, picks the endpoint, connects and starts px_relay_start() with the client's socket and "
        "the connected one: check px_proxy_create() binds the listener, the accept loop takes every queued client, "
        "and px_tcp_session_start() connects then relays (with the mode from --relay).")
{
    forward_exactly("copy");
}
FT_TIMEOUT(proxy_forwards_bytes_exactly_with_the_copy_relay, 30);

FT_TEST(2, proxy_forwards_bytes_exactly_with_the_splice_relay, 1,
        "Same as the copy relay through the program, with --relay splice: the session must pass opts.relay to "
        "px_relay_start().")
{
    forward_exactly("splice");
}
FT_TIMEOUT(proxy_forwards_bytes_exactly_with_the_splice_relay, 30);

FT_TEST(2, proxy_carries_a_half_close_to_the_backend_and_the_answer_back, 2,
        "The client sends, then shutdown(SHUT_WR); the backend answers only after it reads end of file. A proxy "
        "that closes both sides at the first end of file loses the answer: the relay must shut down the upstream's "
        "write side and keep the other direction open.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_COUNT);
    backend *bs[] = {&b};
    proxy p;
    proxy_start(&p, bs, 1, quiet_checks);
    size_t len = 300000;
    unsigned char *data = malloc(len);
    fill_random(data, len, 3);
    int fd = client_connect(p.port);
    ck_assert(client_send(fd, data, len, 10000));
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    char answer[64] = "", want[64];
    long n = client_read_all(fd, answer, sizeof answer - 1, 10000);
    ck_assert_msg(n > 0, "no answer after the half-close (read gave %ld): was the client closed at end of file?", n);
    answer[n] = '\0';
    snprintf(want, sizeof want, "%zu %016llx\n", len, (unsigned long long)fnv1a64(data, len));
    ck_assert_str_eq(answer, want);
    close(fd);
    free(data);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(proxy_carries_a_half_close_to_the_backend_and_the_answer_back, 30);

FT_TEST(2, proxy_leaks_no_fd_over_a_thousand_refused_connects, 2,
        "Descriptor ownership: every client of an endpoint that refuses is closed, and every socket of a failed "
        "connect too: count "
        "close() calls on each path of px_tcp_session_start() and of the connect callback (a failure must close "
        "the upstream socket and, when no attempt is left, the client).")
{
    backend none = {.port = dead_port()};
    backend *bs[] = {&none};
    proxy p;
    const char *args[] = {"--health-interval-ms", "0", "--max-failures", "1000", NULL};
    proxy_start(&p, bs, 1, args);
    int fd0 = client_connect(p.port);
    char c;
    ck_assert_int_eq(client_read_all(fd0, &c, 1, 10000), 0);
    close(fd0);
    int before = proxy_wait_fds(&p, -1, 0);
    before = proxy_wait_fds(&p, before, 0);
    for (int i = 0; i < 1000; i++) {
        int fd = client_connect(p.port);
        long n = client_read_all(fd, &c, 1, 10000);
        ck_assert_msg(n == 0, "client %d: the proxy should close a client whose endpoint refuses (read gave %ld)", i, n);
        close(fd);
    }
    int after = proxy_wait_fds(&p, before, 5000);
    ck_assert_msg(after == before, "px-proxy had %d fds open before 1000 refused clients and %d after", before, after);
    proxy_stop(&p, 20000);
}
FT_TIMEOUT(proxy_leaks_no_fd_over_a_thousand_refused_connects, 60);

/* Opens a connection through the proxy, sends one byte and reads it back: one echo through some endpoint. */
static void one_echo(uint16_t port)
{
    int fd = client_connect(port);
    ck_assert_msg(client_echo(fd, "x", 1, 10000), "an echo through the proxy failed");
    close(fd);
}

FT_TEST(2, proxy_round_robin_spreads_connections_evenly, 2,
        "--balancer round-robin gives each endpoint the same share: 30 connections over 3 endpoints are 10 each. "
        "Check the proxy's pick uses the balancer for every new connection and releases the pick when it ends.")
{
    backend b[3] = {0};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i, BACKEND_ECHO);
        bs[i] = &b[i];
    }
    proxy p;
    const char *args[] = {"--balancer", "round-robin", "--health-interval-ms", "0", NULL};
    proxy_start(&p, bs, 3, args);
    for (int i = 0; i < 30; i++)
        one_echo(p.port);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(b[i].shared->connections == 10, "endpoint %d got %llu of 30 connections, not 10", i,
                      (unsigned long long)b[i].shared->connections);
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
}
FT_TIMEOUT(proxy_round_robin_spreads_connections_evenly, 30);

FT_TEST(2, proxy_reload_moves_new_connections_and_keeps_open_ones, 3,
        "Endpoints keep stable identities across a reload: SIGHUP reads the endpoints file again; new connections go to "
        "the new set, while a connection already "
        "relaying to a removed endpoint goes on (a reload never closes sessions). Check px_endpoints_reload() "
        "reconciles the balancer and leaves sessions alone.")
{
    backend a = {0}, b = {0};
    backend_start(&a, 1, BACKEND_ECHO);
    backend_start(&b, 2, BACKEND_ECHO);
    backend *first[] = {&a}, *second[] = {&b};
    proxy p;
    proxy_start(&p, first, 1, quiet_checks);
    int held = client_connect(p.port);
    ck_assert(client_echo(held, "before", 6, 10000));
    ck_assert_uint_eq(a.shared->connections, 1);
    proxy_reload(&p, second, 1, NULL);
    uint64_t deadline = ft_now_ms() + 10000;
    while (b.shared->connections == 0 && ft_now_ms() < deadline)
        one_echo(p.port); /* until the reload has been read: before it, these still go to a */
    ck_assert_msg(b.shared->connections > 0, "after SIGHUP no new connection reached the new endpoint in 10 s");
    uint64_t on_a = a.shared->connections;
    for (int i = 0; i < 5; i++)
        one_echo(p.port);
    ck_assert_msg(a.shared->connections == on_a, "a removed endpoint still got new connections after the reload");
    ck_assert_msg(client_echo(held, "after", 5, 10000),
                  "the connection opened before the reload stopped working: a reload must not close sessions");
    close(held);
    proxy_stop(&p, 20000);
    backend_free(&a);
    backend_free(&b);
}
FT_TIMEOUT(proxy_reload_moves_new_connections_and_keeps_open_ones, 40);

FT_TEST(2, proxy_refuses_a_bad_endpoints_file_and_keeps_the_old_set, 2,
        "A reload of a file with a bad line must change nothing: parse the whole file first, and only then hand the "
        "new set to the balancer; log the refusal (\"reload refused\") with the file's error.")
{
    backend a = {0};
    backend_start(&a, 1, BACKEND_ECHO);
    backend *bs[] = {&a};
    proxy p;
    proxy_start(&p, bs, 1, quiet_checks);
    proxy_reload(&p, bs, 1, "127.0.0.1:notaport");
    ck_assert_msg(proxy_log_has(&p, "reload refused", 10000), "no \"reload refused\" line in the proxy's log");
    ck_assert_msg(proxy_log_has(&p, "line 3", 0), "the refusal does not name the bad line (line 3)");
    one_echo(p.port);
    ck_assert_uint_eq(a.shared->connections, 1);
    proxy_stop(&p, 20000);
    backend_free(&a);
}
FT_TIMEOUT(proxy_refuses_a_bad_endpoints_file_and_keeps_the_old_set, 30);

FT_TEST(3, proxy_retries_a_refused_connect_on_another_endpoint, 3,
        "Nothing has been read from the client while the proxy connects, so a refused connect can be tried again on "
        "another endpoint at no risk: a dead endpoint among three must cost no client its connection.")
{
    backend b[3] = {0};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i, BACKEND_ECHO);
        bs[i] = &b[i];
    }
    proxy p;
    const char *args[] = {"--balancer", "round-robin", "--health-interval-ms", "0", "--max-failures", "1000", NULL};
    proxy_start(&p, bs, 3, args);
    backend_kill(&b[1]);
    for (int i = 0; i < 60; i++)
        one_echo(p.port);
    ck_assert_uint_eq(b[0].shared->connections + b[2].shared->connections, 60);
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
}
FT_TIMEOUT(proxy_retries_a_refused_connect_on_another_endpoint, 30);

FT_TEST(3, proxy_health_checks_eject_a_dead_endpoint_and_restore_it, 3,
        "Health checks feed the breaker both ways: with --health-interval-ms 50 --max-failures 3, an endpoint that refuses "
        "three checks in a row is ejected "
        "(the log says \"ejected\"), and once it answers again its next probe after the backoff brings it back "
        "(\"healthy again\") and clients reach it. Check the checks feed px_breaker_failure()/success() and that "
        "the breaker's verdict is mirrored into the balancer's availability.")
{
    backend a = {0}, b = {0};
    backend_start(&a, 1, BACKEND_ECHO);
    backend_start(&b, 2, BACKEND_ECHO);
    backend *bs[] = {&a, &b};
    proxy p;
    const char *args[] = {"--balancer", "round-robin", "--health-interval-ms", "50", "--max-failures", "3", NULL};
    proxy_start(&p, bs, 2, args);
    uint64_t killed = ft_now_ms();
    backend_kill(&b);
    ck_assert_msg(proxy_log_has(&p, "ejected", 10000), "a dead endpoint was not ejected within 10 s");
    uint64_t took = ft_now_ms() - killed;
    fprintf(stderr, "ejected %llu ms after the endpoint died (3 checks 50 ms apart)\n", (unsigned long long)took);
    for (int i = 0; i < 10; i++)
        one_echo(p.port);
    backend_start(&b, 2, BACKEND_ECHO); /* the same port again */
    ck_assert_msg(proxy_log_has(&p, "healthy again", 15000),
                  "an ejected endpoint that answers again was not restored within 15 s");
    uint64_t before = b.shared->requests, deadline = ft_now_ms() + 10000;
    while (b.shared->requests == before && ft_now_ms() < deadline)
        one_echo(p.port);
    ck_assert_msg(b.shared->requests > before, "the restored endpoint got no client connection in 10 s");
    proxy_stop(&p, 20000);
    backend_free(&a);
    backend_free(&b);
}
FT_TIMEOUT(proxy_health_checks_eject_a_dead_endpoint_and_restore_it, 60);

FT_TEST(3, proxy_closes_clients_at_once_when_no_endpoint_is_up, 1,
        "With every endpoint refusing, a client must be closed after the last attempt, not left waiting: the pick "
        "fails with -EHOSTUNREACH once all are ejected, and the session must close the client then.")
{
    backend none = {.port = dead_port()};
    backend *bs[] = {&none};
    proxy p;
    const char *args[] = {"--health-interval-ms", "0", "--max-failures", "2", NULL};
    proxy_start(&p, bs, 1, args);
    for (int i = 0; i < 5; i++) {
        int fd = client_connect(p.port);
        char c;
        ck_assert_msg(client_read_all(fd, &c, 1, 5000) == 0, "client %d was not closed within 5 s", i);
        close(fd);
    }
    ck_assert(proxy_log_has(&p, "no endpoint available", 0));
    proxy_stop(&p, 20000);
}
FT_TIMEOUT(proxy_closes_clients_at_once_when_no_endpoint_is_up, 30);

FT_TEST(3, proxy_without_health_checks_probes_an_ejected_endpoint_with_one_client, 2,
        "The breaker's half-open probe: with no health checks, nothing but a client can find out that an ejected endpoint "
        "is back: when the "
        "breaker's backoff has passed, px_breaker_allow() lets exactly one request through as the probe (arm a "
        "timer for probe_at_ns and make the endpoint available again when it fires). Without that, an endpoint "
        "ejected once stays out for ever.")
{
    backend a = {0}, b = {0};
    backend_start(&a, 1, BACKEND_ECHO);
    backend_start(&b, 2, BACKEND_ECHO);
    backend *bs[] = {&a, &b};
    proxy p;
    const char *args[] = {"--balancer", "round-robin", "--health-interval-ms", "0", "--max-failures", "2", NULL};
    proxy_start(&p, bs, 2, args);
    backend_kill(&b);
    uint64_t deadline = ft_now_ms() + 10000;
    while (!proxy_log_has(&p, "ejected", 0) && ft_now_ms() < deadline)
        one_echo(p.port); /* refused connects to b, retried on a, until b's breaker opens */
    ck_assert_msg(proxy_log_has(&p, "ejected", 0), "two refused connects in a row did not eject the endpoint");
    backend_start(&b, 2, BACKEND_ECHO);
    /* The breaker's first backoff is at most a second; clients keep coming, and one of them must be the probe. */
    deadline = ft_now_ms() + 15000;
    while (b.shared->requests == 0 && ft_now_ms() < deadline) {
        one_echo(p.port);
        poll(NULL, 0, 20); /* paces the clients; the deadline bounds the wait */
    }
    ck_assert_msg(b.shared->requests > 0, "the endpoint came back but no client reached it within 15 s");
    proxy_stop(&p, 20000);
    backend_free(&a);
    backend_free(&b);
}
FT_TIMEOUT(proxy_without_health_checks_probes_an_ejected_endpoint_with_one_client, 40);

/* A proxy made in this process and driven by hand (no thread, no listener started by the test), over endpoints
 * that nothing needs to reach; no health checks, so every outcome is the test's. The caller destroys it. */
static px_proxy *offline_proxy(backend **bs, size_t n, px_balancer_kind kind, uint32_t max_failures, uint64_t seed)
{
    char path[600];
    snprintf(path, sizeof path, "%s/endpoints", scratch_dir());
    endpoints_write(path, bs, n, NULL);
    px_options o = PX_OPTIONS_DEFAULTS;
    o.endpoints_file = path;
    o.balancer = kind;
    o.health_interval_ms = 0;
    o.max_failures = max_failures;
    o.seed = seed;
    o.quiet = true;
    px_proxy *p;
    char err[256] = "";
    ck_assert_msg(px_proxy_create(&o, &p, err, sizeof err) == 0, "px_proxy_create failed: %s", err);
    return p;
}

FT_TEST(3, a_probe_timer_that_fires_before_the_backoff_ends_waits_for_the_rest, 2,
        "The probe timer runs on the loop's clock, read once per turn, while the breaker keeps probe_at_ns on the "
        "clock read now: a timer armed late in a turn (here, long after the last turn) comes due that much early. "
        "When the timer fires and px_breaker_allow() still says no, arm it again for the rest; returning without a "
        "timer leaves the endpoint ejected for ever, since no request can reach it to report an outcome.")
{
    backend x = {.port = 9}, y = {.port = 10}; /* never started: the outcomes below are reported by hand */
    backend *bs[] = {&x, &y};
    px_proxy *p = offline_proxy(bs, 2, PX_BALANCE_ROUND_ROBIN, 2, 8);
    ck_assert_int_ge(px_loop_run_once(p->loop, 0), 0); /* the loop reads its clock */
    poll(NULL, 0, 400); /* not a wait for anything: the loop's now is 400 ms old when the probe timer is armed */
    px_pick pick;
    ck_assert_int_eq(px_endpoint_pick(p, NULL, 0, &pick), 0);
    px_slot *slot = px_endpoint_slot(p, pick);
    ck_assert(slot != NULL);
    px_endpoint_report(p, pick, 0, false);
    px_endpoint_report(p, pick, 0, false);
    px_endpoint_release(p, pick, 0, false);
    ck_assert_msg(px_breaker_ejected(&slot->breaker), "two failures with --max-failures 2 did not eject the endpoint");
    uint64_t deadline = ft_now_ms() + 5000; /* the first backoff is at most a second */
    while (slot->breaker.state == PX_BREAKER_OPEN && ft_now_ms() < deadline)
        ck_assert_int_ge(px_loop_run_once(p->loop, 20), 0);
    ck_assert_msg(slot->breaker.state == PX_BREAKER_PROBING,
                  "the breaker's backoff is over but no probe was let through (its timer came due early and was "
                  "not armed again)");
    px_proxy_destroy(p);
}
FT_TIMEOUT(a_probe_timer_that_fires_before_the_backoff_ends_waits_for_the_rest, 20);

FT_TEST(3, a_retry_pick_leaves_out_the_endpoints_its_request_failed_on, 2,
        "px_endpoint_pick(p, avoid, n, &pick) must not return an endpoint in avoid while another is available: hide "
        "each available one (px_balancer_set_available false) for that one pick, show it again afterwards, and only "
        "when nothing else is left pick among them. An avoided endpoint that was unavailable (ejected) before the "
        "call must still be unavailable after it.")
{
    backend x = {.port = 9}, y = {.port = 10}, z = {.port = 11}; /* never started: picks only, nothing connects */
    backend *bs[] = {&x, &y, &z};
    px_proxy *p = offline_proxy(bs, 3, PX_BALANCE_P2C_PEAK_EWMA, 100, 11);

    px_pick first, pick;
    ck_assert_int_eq(px_endpoint_pick(p, NULL, 0, &first), 0);
    px_endpoint_release(p, first, 0, false);
    unsigned seen[3] = {0};
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(px_endpoint_pick(p, &first, 1, &pick), 0);
        ck_assert_msg(pick.slot != first.slot, "pick %d returned the endpoint it was asked to avoid (slot %u)", i,
                      pick.slot);
        ck_assert_uint_lt(pick.slot, 3);
        seen[pick.slot]++;
        px_endpoint_release(p, pick, 1000000, true);
    }
    ck_assert_msg(px_balancer_available(p->balancer, first), "the avoided endpoint was left unavailable");
    for (uint32_t k = 0; k < 3; k++)
        ck_assert_msg(k == first.slot || seen[k] > 0, "slot %u was never picked in 60 picks that avoided slot %u", k,
                      first.slot);

    /* Two of three avoided: the third every time. */
    px_pick two[2];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(px_endpoint_pick(p, two, (size_t)i, &two[i]), 0);
        px_endpoint_release(p, two[i], 1000000, true);
    }
    ck_assert_uint_ne(two[0].slot, two[1].slot);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(px_endpoint_pick(p, two, 2, &pick), 0);
        ck_assert_msg(pick.slot != two[0].slot && pick.slot != two[1].slot,
                      "two endpoints avoided, one left, and the pick was an avoided one");
        px_endpoint_release(p, pick, 1000000, true);
    }

    /* Every endpoint avoided: one of them rather than none. */
    px_pick all[3];
    for (uint32_t k = 0; k < 3; k++) {
        px_endpoint_view view;
        ck_assert_int_eq(px_balancer_endpoint(p->balancer, k, &view), 0);
        all[k] = view.pick;
    }
    ck_assert_msg(px_endpoint_pick(p, all, 3, &pick) == 0,
                  "every endpoint was avoided and the pick failed: it must fall back to one of them");
    px_endpoint_release(p, pick, 1000000, true);

    /* An unavailable endpoint named in avoid stays unavailable. */
    px_balancer_set_available(p->balancer, all[2], false);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(px_endpoint_pick(p, &all[2], 1, &pick), 0);
        ck_assert_uint_ne(pick.slot, all[2].slot);
        px_endpoint_release(p, pick, 1000000, true);
    }
    ck_assert_msg(!px_balancer_available(p->balancer, all[2]),
                  "an endpoint that was unavailable before the pick was made available by it");
    px_proxy_destroy(p);
}
FT_TIMEOUT(a_retry_pick_leaves_out_the_endpoints_its_request_failed_on, 20);
