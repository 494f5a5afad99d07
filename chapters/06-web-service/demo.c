/*
 * Chapter 06 demo: the service on a throwaway PostgreSQL, narrated for a workshop in four acts.
 *
 *   demo --service PATH --pg-dir DIR [options]
 * options:
 *   --seconds S   length of the load in act 3 (default 8)     --conns N     its keep-alive connections (default 32)
 *   --keys N      rows it reads, at random (default 20000)    --writes P    percent of its requests that are PUTs (2)
 *   --burst N     concurrent GETs of one cold key in act 1 (default 200)
 *   --workers N, --pool N, --cache-mb N   given to the service (defaults 2, 4, 16)
 *   --pgtmp PATH  the cluster script (default mk/pgtmp.sh)
 *
 * Set-up: `mk/pgtmp.sh start DIR --watch` starts a cluster reached on a Unix socket in DIR (a DIR too long for a
 * socket's path gives way to /tmp/ferrite-demo-06-PID); the script's watchdog reads a pipe the demo holds, so the
 * cluster stops when the demo ends however it ends (SIGKILL included). The demo makes the items table the tests
 * use and fills it, starts `PATH --port 0 --db CONNINFO ...` and waits until every pool connection is idle. Then:
 *   1. single flight: --burst GETs of one key nobody has read, while the demo's own connection holds a lock on the
 *      table, so the first query waits in PostgreSQL until every request has arrived; /metrics and pg_locks count
 *      the queries;
 *   2. invalidation: GET, PUT, GET of that key;
 *   3. load: --conns connections, one request in flight on each, timed by the client; a line per second with
 *      req/s, the cache's hit ratio and the pool's gauges (from /metrics, read every 50 ms), p50 and p99;
 *   4. drain: SIGTERM while one request waits for PostgreSQL; the idle connections close, the request is answered,
 *      the service exits 0.
 * Every wait has a deadline, and every exit path (Ctrl-C included) stops the service and the cluster. The exit
 * status is 0 when every act showed what it should, 1 otherwise, 130 after Ctrl-C.
 * `make demo CH=06` runs it against the reference solution, built with ASan+UBSan (slower); the command line is in
 * mk/chapters/06-web-service.mk.
 * This file reads as the workshop hears the demo: the options, the four acts and the clean-up. The machinery is
 * beside it (demo_pg.c, demo_http.c, demo_load.c), declared in demo_shared.h, which says which thread calls what.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct demo_options opt = {.pgtmp = "mk/pgtmp.sh",
                           .seconds = 8,
                           .conns = 32,
                           .burst = 200,
                           .writes = 2,
                           .workers = 2,
                           .pool = 4,
                           .cache_mb = 16,
                           .keys = 20000};

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
    fputs("demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(interrupted ? 130 : 1);
}
void check_interrupted(void)
{
    if (interrupted)
        die("interrupted: stopping the service and PostgreSQL");
}

/* What an act expected and did not see: said at once, and the exit status says it at the end. */
static int surprises;
static void expect(bool ok, const char *what)
{
    if (!ok) {
        printf("   !! expected %s\n", what);
        surprises++;
    }
}

/* ---- act 1: single flight ------------------------------------------------------------------------------------ */

static void act_single_flight(void)
{
    long key = opt.keys + 1;
    printf("1. Single flight: %d concurrent GETs of /items/%ld, a key nobody has read yet\n", opt.burst, key);
    printf(
        "   The demo holds a lock on the items table, so the first query waits in PostgreSQL while the other\n"
        "   requests arrive: every one of them is a miss, and each could have sent a query of its own.\n");
    metrics before = metrics_now();
    lock_items();
    int *fds = malloc((size_t)opt.burst * sizeof *fds);
    if (fds == NULL)
        die("out of memory");
    char req[256], path[64];
    snprintf(path, sizeof path, "/items/%ld", key);
    int len = request(req, sizeof req, "GET", path, NULL, false);
    for (int i = 0; i < opt.burst; i++)
        if (!send_all(fds[i] = connect_or_die(), req, (size_t)len))
            die("send to the service: %s", strerror(errno));
    metrics m = before;
    for (int64_t t0 = now_ns(); m.misses - before.misses < opt.burst && ms_since(t0) < 10000; usleep(10000))
        m = metrics_now();
    int waiting = 0;
    for (int64_t t0 = now_ns(); (waiting = waiting_queries()) < 1 && ms_since(t0) < 10000 && !interrupted;)
        usleep(5000);
    check_interrupted();
    double misses = m.misses - before.misses, flights = m.flights - before.flights;
    if (flights == 1)
        printf(
            "   /metrics counts %.0f misses. One of them leads the load (ws_cache_flights_total +1), the other %.0f\n"
            "   wait for its answer\n",
            misses, misses - 1);
    else
        printf("   /metrics counts %.0f misses, and %.0f loads started (ws_cache_flights_total)\n", misses, flights);
    printf("   PostgreSQL sees %d statement%s waiting for the table (pg_locks)\n", waiting, waiting == 1 ? "" : "s");
    int64_t t0 = now_ns();
    unlock_items();
    int good = 0;
    char buf[4096];
    for (int64_t i = 0, deadline = t0 + 10 * 1000000000LL; i < opt.burst; i++) { /* 10 s for all of them */
        reply r;
        if (read_reply(fds[i], buf, sizeof buf, &r, deadline) && r.status == 200 &&
            r.body_len == strlen("cold until now") && memcmp(r.body, "cold until now", r.body_len) == 0)
            good++;
        close(fds[i]);
    }
    free(fds);
    check_interrupted();
    if (good == 0)
        die("none of the %d GETs was answered 200 with the row within 10 s: GET /items/:id does not work yet", opt.burst);
    m = metrics_now();
    double queries = m.queries_get - before.queries_get;
    printf("   lock released: %d of %d replies were 200 \"cold until now\", the last %.1f ms later\n", good, opt.burst,
           ms_since(t0));
    printf("   => %d requests, %.0f quer%s (ws_db_queries_total{kind=\"get\"} went from %.0f to %.0f)\n", opt.burst,
           queries, queries == 1 ? "y" : "ies", before.queries_get, m.queries_get);
    expect(good == opt.burst, "every reply to be 200 with the row's body");
    expect(queries == 1 && waiting == 1, "one query for the whole burst (more is a stampede)");
    printf("\n");
}

/* ---- act 2: invalidation ------------------------------------------------------------------------------------- */

/* One call of act 2, printed with what the cache's counters around it say; the reply must be 200 (with @p want as
 * its body, unless NULL). */
static void show_call(const char *method, const char *path, const char *body, const char *want)
{
    metrics before = metrics_now();
    char buf[4096];
    reply r;
    if (!http_call(method, path, body, buf, sizeof buf, &r))
        die("%s %s: no reply (the connection failed, or 10 s passed)", method, path);
    metrics after = metrics_now();
    int shown = (int)(r.body_len < 40 ? r.body_len : 40);
    while (shown > 0 && r.body[shown - 1] == '\n')
        shown--;
    const char *verdict = after.hits > before.hits       ? "a cache hit"
                          : after.misses > before.misses ? "a miss: read again from PostgreSQL"
                                                         : "the new version; the key's cached copy must go";
    printf("   %-6s %-14s %-17s -> %d \"%.*s\" (%s)\n", method, path, body ? body : "", r.status, shown, r.body, verdict);
    expect(r.status == 200 && (want == NULL || (r.body_len == strlen(want) && !memcmp(r.body, want, r.body_len))),
           "the reply shown to be 200 with the latest body");
}

static void act_invalidation(void)
{
    char path[64];
    snprintf(path, sizeof path, "/items/%ld", opt.keys + 1);
    printf("2. Invalidation: a PUT makes the service forget the cached copy, so the next GET serves the new value\n");
    show_call("GET", path, NULL, "cold until now");
    show_call("PUT", path, "fresh after PUT", NULL);
    show_call("GET", path, NULL, "fresh after PUT");
    printf("\n");
}

/* ---- act 3: load ----------------------------------------------------------------------------------------------- */

/* One line of act 3 for the second that just ended: the client's figures for @p sec, and the sampler's, the cache's
 * counters since the previous line (*ctx, the metrics it showed) and the pool's highest gauges. */
static void print_second(double second, const stats *sec, void *ctx)
{
    metrics *prev = ctx;
    double in_use, waiting;
    metrics m = sampler_take(&in_use, &waiting);
    double hits = m.hits - prev->hits, misses = m.misses - prev->misses;
    *prev = m;
    printf("   %2.0f s  %8llu   %8.1f %%   %6.2f   %6.2f   %6.0f of %-3d  %7.0f   %4llu   %6llu\n", second,
           (unsigned long long)(sec->ok + sec->unavailable), hits + misses > 0 ? 100 * hits / (hits + misses) : 0.0,
           percentile_ms(sec, 0.50), percentile_ms(sec, 0.99), in_use, opt.pool, waiting,
           (unsigned long long)sec->unavailable, (unsigned long long)sec->errors);
}

static void act_load(void)
{
    printf(
        "3. Load: %d keep-alive connections for %.0f s, GETs of random keys among %ld, %d %% PUTs. The cache\n"
        "   starts cold and warms up. This client times each request (p50, p99); the hit ratio comes from\n"
        "   /metrics, and the pool's gauges too: the highest of the second's readings, taken every 50 ms.\n",
        opt.conns, opt.seconds, opt.keys, opt.writes);
    printf("   time     req/s   cache hits   p50 ms   p99 ms   pool in use   waiting   503s   errors\n");
    load_connect();
    metrics first = metrics_now(), prev = first;
    sampler_start(first);
    int in_flight;
    const stats *all = load_run(print_second, &prev, &in_flight);
    check_interrupted();
    sampler_stop();
    metrics last = metrics_now();
    double secs = opt.seconds, hits = last.hits - first.hits, misses = last.misses - first.misses;
    uint64_t answered = all->ok + all->unavailable;
    printf(
        "   => %llu requests in %.0f s, %.0f req/s; p50 %.2f ms, p99 %.2f ms; cache hits %.1f %%; %.0f queries to\n"
        "      PostgreSQL (%.0f GET, %.0f PUT) for %.0f misses; %llu answered 503, %llu errors\n",
        (unsigned long long)answered, secs, (double)answered / secs, percentile_ms(all, 0.50), percentile_ms(all, 0.99),
        hits + misses > 0 ? 100 * hits / (hits + misses) : 0.0,
        last.queries_get - first.queries_get + last.queries_put - first.queries_put, last.queries_get - first.queries_get,
        last.queries_put - first.queries_put, misses, (unsigned long long)all->unavailable,
        (unsigned long long)all->errors);
    expect(all->errors == 0 && in_flight == 0, "every load request answered, each with its own key's row");
    printf("\n");
}

/* ---- act 4: drain ------------------------------------------------------------------------------------------------ */

static void act_drain(void)
{
    long key = opt.keys + 2;
    int idle = 0;
    for (int i = 0; i < opt.conns; i++)
        idle += load_fd(i) >= 0;
    printf(
        "4. Drain: SIGTERM while one GET (/items/%ld) waits for PostgreSQL (the table is locked again) and %d\n"
        "   keep-alive connections of the load sit idle\n",
        key, idle);
    lock_items();
    char req[256], path[64], buf[4096];
    snprintf(path, sizeof path, "/items/%ld", key);
    int fd = connect_or_die(), len = request(req, sizeof req, "GET", path, NULL, false);
    if (!send_all(fd, req, (size_t)len))
        die("send to the service: %s", strerror(errno));
    for (int64_t t0 = now_ns(); waiting_queries() < 1 && ms_since(t0) < 10000 && !interrupted;)
        usleep(5000);
    check_interrupted();
    int64_t sent = now_ns();
    service_terminate();
    int closed = 0;
    for (int i = 0; i < opt.conns; i++) {
        struct pollfd p = {.fd = load_fd(i), .events = POLLIN};
        int64_t left = 5000 - (int64_t)ms_since(sent);
        if (p.fd >= 0 && poll(&p, 1, left > 0 ? (int)left : 0) == 1 && recv(p.fd, buf, 1, 0) <= 0)
            closed++;
    }
    int status = -1;
    bool alive = !service_exited(&status);
    printf("   SIGTERM sent: the service closed %d of the %d idle connections within %.1f ms, and is %s\n", closed, idle,
           ms_since(sent), alive ? "still running:\n   it waits for the request in flight" : "gone already");
    expect(closed == idle && alive, "the idle connections closed, and the service waiting for its request in flight");
    unlock_items();
    reply r;
    bool got = read_reply(fd, buf, sizeof buf, &r, now_ns() + 10 * 1000000000LL);
    close(fd);
    if (got)
        printf("   lock released: the request in flight was answered %d \"%.*s\"%s\n", r.status, (int)r.body_len, r.body,
               r.close ? ", with Connection: close" : "");
    else
        printf("   lock released: the request in flight got no answer\n");
    expect(got && r.status == 200, "the request in flight answered 200");
    if (alive)
        status = service_wait(sent, 15000);
    bool clean = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (status == -1)
        printf("   the service did not exit within 15 s of SIGTERM, and was killed\n");
    else if (WIFEXITED(status))
        printf("   the service exited with status %d, %.0f ms after SIGTERM\n", WEXITSTATUS(status), ms_since(sent));
    else
        printf("   the service died from signal %d\n", WTERMSIG(status));
    expect(clean, "the service to drain and exit 0");
    printf("\n");
}

/* ---- main ---------------------------------------------------------------------------------------------------- */

/* Runs at every exit: stops the service (SIGTERM, then SIGKILL) and the cluster, whatever state they are in. */
static void cleanup(void)
{
    sampler_stop();
    admin_close(); /* first: a table lock it holds would keep the service's drain waiting */
    service_stop();
    load_close();
    pg_cleanup();
}

static void usage(void)
{
    fprintf(stderr,
            "usage: demo --service PATH --pg-dir DIR [--seconds S] [--conns N] [--keys N] [--writes P]\n"
            "            [--burst N] [--workers N] [--pool N] [--cache-mb N] [--pgtmp PATH]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--service"))
            opt.service = v;
        else if (!strcmp(a, "--pg-dir"))
            opt.pg_dir = v;
        else if (!strcmp(a, "--pgtmp"))
            opt.pgtmp = v;
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "--keys"))
            opt.keys = atol(v);
        else if (!strcmp(a, "--writes"))
            opt.writes = atoi(v);
        else if (!strcmp(a, "--burst"))
            opt.burst = atoi(v);
        else if (!strcmp(a, "--workers"))
            opt.workers = atoi(v);
        else if (!strcmp(a, "--pool"))
            opt.pool = atoi(v);
        else if (!strcmp(a, "--cache-mb"))
            opt.cache_mb = atoi(v);
        else
            usage();
    }
    if (!opt.service || !opt.pg_dir || opt.seconds < 1 || opt.seconds > 3600 || opt.conns < 1 || opt.keys < 1 ||
        opt.writes < 0 || opt.writes > 100 || opt.burst < 1 || opt.workers < 1 || opt.pool < 1 || opt.cache_mb < 1)
        usage();
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it happens, through a pipe too */
    struct rlimit rl;                 /* every connection is a descriptor: take what the hard limit allows */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: a blocking call returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);

    printf("demo: chapter 06, the web service: single flight, invalidation, load and drain on a real PostgreSQL\n");
    const char *conninfo = pg_start();
    fill_items(conninfo);
    service_start(conninfo);
    act_single_flight();
    act_invalidation();
    act_load();
    act_drain();
    if (surprises > 0)
        die("%d thing%s did not go as expected (marked !! above)", surprises, surprises == 1 ? "" : "s");
    printf("demo: all four acts showed what they should\n");
    return 0;
}
