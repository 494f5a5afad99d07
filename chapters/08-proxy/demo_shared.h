/*
 * Chapter 08 demo: what its files share, and nothing outside them includes.
 *   demo.c          main, the options, clean-up at exit, and the acts of the script as the workshop hears them
 *   demo_table.c    the row printed each second, from the clients' counts and two readings of /metrics
 *   demo_backend.c  the three HTTP backends (a process each, a thread per connection) and the shared page that
 *                   sets their delay live and counts what they answered
 *   demo_proxy.c    px-proxy (started, its output relayed, stopped) and its /metrics page, parsed
 *   demo_load.c     the clients: keep-alive connections on one epoll set, one GET in flight on each
 * Threads: the demo has one; a backend's threads live in the backend's process, which shares nothing with the demo
 * but that page. Every process the demo starts is killed when the demo dies (PR_SET_PDEATHSIG), and stopped by
 * cleanup() on every exit path, Ctrl-C included.
 */
#ifndef DEMO_SHARED_H
#define DEMO_SHARED_H

#include "metrics.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEMO_BACKENDS 3 /* backend 1, 2 and 3; index 1, "backend 2", is the one the script mistreats */
#define DEMO_BASE_MS 4  /* a healthy backend's work per request; it also keeps the load gentle on a shared CPU */

/* ---- demo.c ---------------------------------------------------------------------------------------------------- */

/** The command line: written by main() before anything starts, read-only afterwards. */
struct demo_options {
    const char *proxy;    /* the px-proxy program */
    const char *balancer; /* round-robin, least-loaded or p2c, passed to px-proxy as it is */
    double seconds;       /* the length of an act: steady, slow and dead; the comeback gets up to twice as long */
    int conns;            /* client connections, one GET in flight on each */
    int slow_ms;          /* backend 2's delay once it turns slow */
};
extern struct demo_options opt;

/** Set by the handler of SIGINT, SIGTERM and SIGHUP; every wait of the demo looks at it at least every 50 ms. */
extern volatile sig_atomic_t interrupted;

int64_t now_ns(void);        /* CLOCK_MONOTONIC in nanoseconds */
double ms_since(int64_t t0); /* milliseconds from @p t0, a now_ns() reading, to now */

/* Prints "demo: " and the message to stderr and exits, 130 once interrupted and 1 otherwise; atexit's cleanup()
 * stops what is running. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* An ANSI colour code when stdout is a terminal and NO_COLOR is unset, "" otherwise. */
const char *paint(const char *code);
#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* ---- demo_backend.c -------------------------------------------------------------------------------------------- */

/* Maps the shared page the backends read their delay from and count their answers in (before any backend starts). */
void backends_init(void);
/* Starts backend @p i (0..2): the first time on a free port, afterwards on the same port again. Its port. */
uint16_t backend_start(int i);
uint16_t backend_port(int i);
void backend_set_delay(int i, int ms); /* takes effect with the next request the backend reads */
void backend_kill(int i);              /* SIGKILL to its whole process group, then reaps it (never dies) */
bool backend_running(int i);
uint64_t backend_answered(int i); /* responses it has written since the demo began, over all its lives */
void backends_stop(void);         /* kills every backend still running (never dies; cleanup() calls it) */

/* ---- demo_proxy.c ---------------------------------------------------------------------------------------------- */

/* Writes the endpoints file and starts `px-proxy --mode http --balancer B --admin 127.0.0.1:0 ...` in front of the
 * backends; returns once it has said where it listens, or dies with what it printed. */
void proxy_start(void);
uint16_t proxy_port(void);
/* Prints the lines px-proxy has written since the last call, each under a "px-proxy |" margin, at most a few per
 * second (the rest are counted and said in one line). Never blocks. */
void proxy_output_pump(void);
/* SIGTERM, then a wait of up to 15 s for the drain (SIGKILL after); true when it exited 0. Does nothing and returns
 * false when none runs (never dies). Removes the endpoints file. */
bool proxy_stop(void);

/** One endpoint as /metrics shows it (counters and the cumulative latency buckets as read, not differences). */
typedef struct endpoint_metrics {
    bool seen;                            /* the page has a series for this endpoint */
    double requests, failures, available; /* px_endpoint_requests_total, _failures_total, _available */
    double ewma_ms;                       /* px_endpoint_ewma_ms: the balancer's latency estimate */
    double buckets[PX_HISTOGRAM_BUCKETS]; /* px_endpoint_latency_ms_bucket, le="1" ... le="+Inf" */
} endpoint_metrics;

typedef struct proxy_metrics {
    endpoint_metrics ep[DEMO_BACKENDS];
    double retries, retries_refused; /* px_retries_total, px_retries_refused_total */
} proxy_metrics;

/* GET /metrics from the admin listener (a fresh connection, a 2 s deadline); false without a whole 200 page. */
bool metrics_read(proxy_metrics *m);
/* The p99 of the requests between two readings, as the upper bound of its bucket in ms; 0 when none ended. */
uint64_t p99_between(const endpoint_metrics *before, const endpoint_metrics *after);

/* ---- demo_table.c ---------------------------------------------------------------------------------------------- */

/** One second as its row shows it. */
typedef struct row {
    bool stale;                  /* /metrics did not answer: nothing else in the row is set */
    double rate, ok_pct;         /* the clients' answers in the second, and the per cent of them that were 200 */
    uint64_t failed;             /* GETs that failed or were dropped in the second */
    uint64_t client_p99;         /* ms, a bucket's bound */
    double share[DEMO_BACKENDS]; /* per cent of the requests the proxy sent in the second */
    uint64_t p99[DEMO_BACKENDS]; /* ms, a bucket's bound; 0 when none ended */
    bool available[DEMO_BACKENDS];
    double ewma_ms[DEMO_BACKENDS]; /* the balancer's estimate at the end of the second */
} row;

void table_start(void);  /* reads /metrics once (or dies) and starts the clients: second 0 */
void table_header(void); /* the two heading lines */
/* Runs the clients to the end of the next second, reads /metrics, prints the second's row and returns it (stale when
 * /metrics did not answer); dies once interrupted. */
row table_tick(void);
int table_second(void);                   /* rows so far */
const proxy_metrics *table_metrics(void); /* the reading the last row was made from */

/* ---- demo_load.c ----------------------------------------------------------------------------------------------- */

/** What the clients saw, counted from the start (a caller takes differences for a second). */
typedef struct load_counts {
    uint64_t ok;             /* 200 with the body a backend writes */
    uint64_t failed;         /* any other answer: 502, 503, 504 or a wrong body */
    uint64_t dropped;        /* connections the proxy closed with a GET in flight */
    px_histogram latency;    /* the client's view of each 200: request written to response read */
    char first_failure[160]; /* the first answer that was not a backend's 200: its status line and body */
} load_counts;

void load_start(void); /* opens --conns keep-alive connections to the proxy and sends a GET on each (or dies) */
/* Runs the clients until @p deadline (a now_ns() reading), or for at most 50 ms, whichever comes first. */
void load_poll(int64_t deadline);
const load_counts *load_counts_now(void);
/* Stops sending, waits up to @p ms for the GETs in flight, closes the connections; how many never came back. */
int load_stop(int ms);

#endif
