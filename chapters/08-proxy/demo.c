/*
 * Chapter 08 demo: a proxy that routes around a slow backend and a dead one, narrated for a workshop.
 *
 *   demo --proxy PATH [options]
 * options:
 *   --balancer B  p2c (default), round-robin or least-loaded: px-proxy's --balancer
 *   --seconds S   the length of the steady, slow and dead acts (default 5); the comeback waits up to 2 S + 2
 *   --conns N     client connections, one GET in flight on each (default 8)
 *   --slow-ms MS  backend 2's delay once it turns slow (default 200)
 *
 * Set-up: three HTTP backends forked by the demo (4 ms per request), and `px-proxy --mode http --balancer B` in
 * front of them with its admin listener. Clients keep one GET in flight on each connection. Every second a row: the
 * clients' rate, success rate and p99, and for each backend its share of the second's requests and the proxy's p99
 * for it, both from the proxy's /metrics (the differences between two readings of px_endpoint_requests_total and of
 * the px_endpoint_latency_ms buckets). The script:
 *   1. steady: the three share the load;
 *   2. slow: backend 2 answers after 200 ms, changed live through shared memory; the proxy is told nothing. With
 *      p2c (power of two choices over peak-EWMA latency) its share collapses within a few seconds; with
 *      round-robin it keeps a third of the requests, and the clients' rate collapses instead;
 *   3. dead: SIGKILL to backend 2; GETs caught there are retried on another backend, so no client sees a failure,
 *      and 3 consecutive failures (of requests or of health checks) eject it (px_endpoint_available 0);
 *   4. back: backend 2 restarted on its port; the breaker's probe, the next health check once the backoff has
 *      passed, finds it and it is picked again.
 * Then a summary: every GET's fate, the retries, each backend's count against the proxy's, and a clean SIGTERM.
 * Every wait has a deadline, and every exit path (Ctrl-C included) stops the clients, the proxy and the backends.
 * The exit status is 0 when every act showed what it should, 1 otherwise, 130 after Ctrl-C. `make demo CH=08` runs
 * it against the reference solution, built with ASan+UBSan; the command line is in mk/chapters/08-proxy.mk. This
 * file reads as the workshop hears the demo; the machinery is beside it (demo_table.c, demo_backend.c,
 * demo_proxy.c, demo_load.c), declared in demo_shared.h.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct demo_options opt = {.balancer = "p2c", .seconds = 5, .conns = 8, .slow_ms = 200};

volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
double ms_since(int64_t t0) { return (double)(now_ns() - t0) / 1e6; }

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fflush(stdout);
    fputs("demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(interrupted ? 130 : 1);
}

static bool color;
const char *paint(const char *code) { return color ? code : ""; }

/* What an act expected and did not see: said at once, and the exit status says it at the end. */
static int surprises;
static void expect(bool ok, const char *what)
{
    if (!ok) {
        printf("   %s!! expected %s%s\n", paint(C_RED), what, paint(C_RESET));
        surprises++;
    }
}

static bool p2c(void) { return !strcmp(opt.balancer, "p2c"); }

static void say(const char *color_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *color_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("   %s", paint(color_code));
    vprintf(fmt, ap);
    printf("%s\n", paint(C_RESET));
    va_end(ap);
}

/* ---- the acts ------------------------------------------------------------------------------------------------- */

/* What the acts measured, for the summary. */
static double steady_rate, slow_rate, slow_share; /* clients' req/s in acts 1 and 2; backend 2's share in act 2 */
static uint64_t dead_failed;                      /* GETs that failed in act 3 */

static void act_steady(void)
{
    printf(
        "\n%s1. Steady%s: %d clients, each with one GET in flight on a keep-alive connection. px-proxy picks a\n"
        "   backend for every request (%s) and sends it over a pooled connection to that backend.\n",
        paint(C_BOLD), paint(C_RESET), opt.conns, opt.balancer);
    printf(
        "   Each second: the clients' rate, successes and p99; per backend, from the proxy's /metrics: its share\n"
        "   of the second's requests, the proxy's p99 for it (a bucket's upper bound, le=\"N\": at most that) and\n"
        "   ewma, the balancer's latency estimate (px_endpoint_ewma_ms), which p2c compares.\n");
    table_header();
    int n = (int)opt.seconds;
    for (int s = 0; s < n; s++)
        steady_rate += table_tick().rate / n; /* a stale row counts as 0: the average errs low, never high */
}

static void act_slow(void)
{
    printf("\n%s2. Slow%s: backend 2 now waits %d ms before every answer. Nobody tells the proxy.\n", paint(C_BOLD),
           paint(C_RESET), opt.slow_ms);
    backend_set_delay(1, opt.slow_ms);
    int n = (int)opt.seconds, collapsed_at = 0;
    row r = {0};
    for (int s = 1; s <= n; s++) {
        r = table_tick();
        if (r.stale)
            continue;
        slow_rate += r.rate / n;
        slow_share += r.share[1] / n;
        if (!collapsed_at && r.share[1] < 10) {
            collapsed_at = s;
            say(C_GREEN, "=> backend 2's share is down to %.0f %% within %d s", r.share[1], s);
        }
    }
    double kept = steady_rate > 0 ? 100 * slow_rate / steady_rate : 0;
    if (p2c()) {
        say("", "=> p2c draws two backends at random and sends the request to the cheaper: estimate x (requests in");
        say("", "   flight + 1). The estimate is a peak EWMA: one slow answer raised backend 2's to %.0f ms at once,",
            table_metrics()->ep[1].ewma_ms);
        say("", "   so it loses nearly every draw. The clients kept %.0f req/s, %.0f %% of the steady rate.", slow_rate,
            kept);
        expect(collapsed_at > 0, "backend 2's share to fall below 10 % within the act");
    } else {
        bool rr = !strcmp(opt.balancer, "round-robin");
        say("", "=> %s %.0f %% of the requests,",
            rr ? "round-robin takes the backends in turn, whatever their latency: backend 2 keeps"
               : "least-loaded counts requests in flight, not time: slow ones pile up at backend 2, which gets",
            slow_share);
        say(C_YELLOW, "   %s each of them holds a client's connection for %d ms. The clients' rate fell from %.0f to",
            rr ? "and" : "but", opt.slow_ms, steady_rate);
        say(C_YELLOW, "   %.0f req/s, %.0f %% of the steady rate.", slow_rate, kept);
    }
}

static void act_dead(void)
{
    printf(
        "\n%s3. Dead%s: SIGKILL to backend 2 and its connections. A GET caught there is retried on another\n"
        "   backend (a GET is idempotent: sending it twice is safe). 3 consecutive failures, of requests or of the\n"
        "   health checks (a connect every 500 ms), eject it.\n",
        paint(C_BOLD), paint(C_RESET));
    proxy_metrics before = *table_metrics();
    const load_counts *c = load_counts_now();
    uint64_t failed0 = c->failed + c->dropped;
    backend_kill(1);
    int n = (int)opt.seconds, ejected_at = 0;
    for (int s = 1; s <= n; s++) {
        row r = table_tick();
        if (!ejected_at && !r.stale && !r.available[1]) {
            ejected_at = s;
            say(C_RED, "=> backend 2 ejected (px_endpoint_available 0) within %d s of the kill", s);
        }
    }
    uint64_t failed = dead_failed = c->failed + c->dropped - failed0;
    const proxy_metrics *m = table_metrics();
    say(failed ? C_RED : C_GREEN,
        "=> GETs that failed since the kill: %llu; the proxy retried %.0f, its budget refused %.0f",
        (unsigned long long)failed, m->retries - before.retries, m->retries_refused - before.retries_refused);
    if (m->retries == before.retries && m->retries_refused == before.retries_refused && failed == 0)
        say("", "   (nothing was in flight there when it died: the balancer had stopped sending it requests)");
    if (failed > 0 && c->first_failure[0])
        say(C_RED, "   the first answer that was not a backend's 200: %s", c->first_failure);
    expect(ejected_at > 0, "backend 2 to be ejected within the act");
    expect(failed == 0, "no GET to fail: each one caught by the kill retried on another backend");
}

static void act_back(void)
{
    printf(
        "\n%s4. Back%s: backend 2 started again on its port, healthy (%d ms). An ejected backend gets one probe\n"
        "   once its breaker's backoff (1 s, doubling with each failed probe) has passed: here the next health\n"
        "   check. A probe that connects brings it back.\n",
        paint(C_BOLD), paint(C_RESET), DEMO_BASE_MS);
    backend_set_delay(1, DEMO_BASE_MS);
    backend_start(1);
    int n = 2 * (int)opt.seconds + 2, back_at = 0;
    row r = {0};
    for (int s = 1; s <= n && (!back_at || s < back_at + 3); s++) {
        r = table_tick();
        if (!back_at && !r.stale && r.available[1]) {
            back_at = s;
            say(C_GREEN, "=> backend 2 is available again within %d s of its restart", s);
        }
    }
    expect(back_at > 0, "backend 2 to be available again within the act");
    const proxy_metrics *m = table_metrics();
    double own = m->ep[1].ewma_ms, others = m->ep[0].ewma_ms > m->ep[2].ewma_ms ? m->ep[0].ewma_ms : m->ep[2].ewma_ms;
    if (back_at && p2c()) {
        bool remembers = own > 1.5 * others; /* a peak EWMA forgets over its 10 s decay, not at once */
        say("", "=> its estimate (%.0f ms, against %.0f and %.0f ms) %s", own, m->ep[0].ewma_ms, m->ep[2].ewma_ms,
            remembers ? "still remembers the slow answers and fades with a" : "is back among the others':");
        say("", "   %s", remembers ? "10 s time constant: p2c gives it more as it does." : "p2c weighs it as one of them.");
    }
}

/* ---- main ------------------------------------------------------------------------------------------------------- */

/* Runs at every exit: the clients first (they talk to the proxy), then the proxy, then the backends. */
static void cleanup(void)
{
    load_stop(0);
    proxy_stop();
    backends_stop();
}

static void usage(void)
{
    fprintf(stderr,
            "usage: demo --proxy PATH [--balancer p2c|round-robin|least-loaded] [--seconds S] [--conns N]\n"
            "            [--slow-ms MS]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *a = argv[i], *v = argv[++i];
        if (!strcmp(a, "--proxy"))
            opt.proxy = v;
        else if (!strcmp(a, "--balancer"))
            opt.balancer = v;
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "--slow-ms"))
            opt.slow_ms = atoi(v);
        else
            usage();
    }
    if (!opt.proxy || opt.seconds < 2 || opt.seconds > 600 || opt.conns < 1 || opt.conns > 64 || opt.slow_ms < 10 ||
        opt.slow_ms > 5000)
        usage();
    if (strcmp(opt.balancer, "p2c") && strcmp(opt.balancer, "round-robin") && strcmp(opt.balancer, "least-loaded"))
        usage();
}

static void summary(void)
{
    int unanswered = load_stop(5000);
    proxy_metrics m;
    bool have = metrics_read(&m);
    const load_counts *c = load_counts_now();
    printf("\n%sSummary%s (%s, %d clients, %d s)\n", paint(C_BOLD), paint(C_RESET), opt.balancer, opt.conns,
           table_second());
    printf("   GETs: %llu answered 200, %llu failed, %llu dropped, %d unanswered at the end; clients' p99 %llu ms\n",
           (unsigned long long)c->ok, (unsigned long long)c->failed, (unsigned long long)c->dropped, unanswered,
           (unsigned long long)px_histogram_quantile_ms(&c->latency, 0.99));
    if (have)
        printf("   retries: %.0f, refused by the retry budget: %.0f\n", m.retries, m.retries_refused);
    for (int i = 0; i < DEMO_BACKENDS; i++)
        printf("   backend %d answered %llu; the proxy sent it %.0f requests, %.0f of them failed\n", i + 1,
               (unsigned long long)backend_answered(i), have ? m.ep[i].requests : 0, have ? m.ep[i].failures : 0);
    printf(
        "   while backend 2 was slow, it got %.1f %% of the requests and the clients kept %.0f req/s, %.0f %% of\n"
        "   the steady rate\n",
        slow_share, slow_rate, steady_rate > 0 ? 100 * slow_rate / steady_rate : 0);
    expect(c->failed + c->dropped == dead_failed, "no GET to fail outside act 3 either");
    expect(unanswered == 0, "every GET in flight to be answered once the clients stopped");
    bool clean = proxy_stop();
    printf("   SIGTERM: px-proxy %s\n", clean ? "drained and exited 0" : "did not stop cleanly");
    expect(clean, "px-proxy to exit 0 on SIGTERM");
    if (p2c())
        printf("   the contrast: make demo CH=08 DEMO_ARGS=\"--balancer round-robin\"\n");
    else
        printf("   the contrast: make demo CH=08 (p2c, the default)\n");
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, through a pipe too */
    const char *no_color = getenv("NO_COLOR");
    color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: a blocking call returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);

    printf("demo: chapter 08, the proxy: balancing away from a slow backend, retrying around a dead one\n");
    backends_init();
    for (int i = 0; i < DEMO_BACKENDS; i++)
        backend_start(i);
    proxy_start();
    printf("demo: backends on 127.0.0.1:%u, :%u and :%u; px-proxy --mode http --balancer %s on 127.0.0.1:%u\n",
           backend_port(0), backend_port(1), backend_port(2), opt.balancer, proxy_port());
    table_start();
    act_steady();
    act_slow();
    act_dead();
    act_back();
    summary();
    if (interrupted)
        die("interrupted");
    if (surprises > 0)
        die("%d thing%s did not go as expected (marked !! above)", surprises, surprises == 1 ? "" : "s");
    printf("demo: every act showed what it should\n");
    return 0;
}
