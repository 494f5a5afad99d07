/*
 * Chapter 06 demo: what its files share, and nothing outside them includes.
 *   demo.c       main, the options, clean-up at exit, and the four acts as the workshop reads them
 *   demo_pg.c    the throwaway cluster, the items table on the demo's own connection, the service process
 *   demo_http.c  a small HTTP/1.1 client on blocking sockets, /metrics, and the thread that samples it in act 3
 *   demo_load.c  act 3's client: keep-alive connections on one epoll set, and the latencies it records
 * Threads: everything runs on the main thread except the sampler (demo_http.c), which calls only what is marked
 * "any thread" below. A function that can end the demo with die() is for the main thread alone: exit() runs
 * cleanup(), which joins the sampler.
 */
#ifndef DEMO_SHARED_H
#define DEMO_SHARED_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- demo.c ---------------------------------------------------------------------------------------------------- */

/** The command line: written by main() before anything starts, read-only afterwards (any thread), except pg_dir,
 * which pg_start() replaces with a shorter path before the cluster starts, when it is too long for a socket. */
struct demo_options {
    const char *service, *pg_dir, *pgtmp;
    double seconds;
    int conns, burst, writes, workers, pool, cache_mb;
    long keys;
};
extern struct demo_options opt;

/** Set by the handler of SIGINT, SIGTERM and SIGHUP. Every wait looks at it at least every 200 ms (any thread). */
extern volatile sig_atomic_t interrupted;

int64_t now_ns(void);        /* CLOCK_MONOTONIC in nanoseconds (any thread) */
double ms_since(int64_t t0); /* milliseconds from @p t0, a now_ns() reading, to now (any thread) */

/* Prints "demo: " and the message to stderr and exits, 130 once interrupted and 1 otherwise; atexit's cleanup()
 * stops what is running (main thread). */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void check_interrupted(void); /* die()s once interrupted (main thread) */

/* ---- demo_pg.c: the cluster and the service, both driven by the main thread alone --------------------------------- */

const char *pg_start(void);            /* starts the cluster; its connection string, in static storage */
void fill_items(const char *conninfo); /* opens the demo's own connection and makes and fills the items table */
void lock_items(void);                 /* every statement on items waits until unlock_items() */
void unlock_items(void);
int waiting_queries(void); /* statements waiting for the lock on items (pg_locks): the service's queries */
void admin_close(void);    /* closes the demo's own connection, and with it any lock it holds (never dies) */
void pg_cleanup(void);     /* stops the cluster if a start was tried, then lets its watchdog go (never dies) */

/* Starts the service on the cluster, learns its port (service_port) and waits until its pool is idle. */
void service_start(const char *conninfo);
void service_terminate(void);     /* sends it SIGTERM, if it runs */
bool service_exited(int *status); /* true once it has exited, its wait status then in *status (does not wait) */
/* Its wait status once it exits, within @p timeout_ms of @p since (a now_ns() reading); after that SIGKILL, and -1. */
int service_wait(int64_t since, int timeout_ms);
void service_stop(void); /* SIGTERM, then SIGKILL after 10 s, if it still runs; says how it ended (never dies) */

/* ---- demo_http.c: requests to the service --------------------------------------------------------------------- */

/** The service's port on 127.0.0.1: set by service_start() before any request, read-only afterwards. */
extern uint16_t service_port;

/** One response, parsed in place: `body` points into the buffer it was read into. */
typedef struct reply {
    int status;
    bool close; /* Connection: close */
    const char *body;
    size_t body_len;
} reply;

int connect_service(void);                        /* a blocking connection with TCP_NODELAY, or -1 (any thread) */
int connect_or_die(void);                         /* the same, or die() (main thread) */
bool send_all(int fd, const char *p, size_t len); /* any thread */
/* Writes a request to @p out; its length. @p body may be NULL; @p close asks for Connection: close (any thread). */
int request(char *out, size_t cap, const char *method, const char *path, const char *body, bool close);
/* True when buf[0..len) starts with a whole response (Content-Length frames it); buf[len] must be writable (any
 * thread). */
bool parse_reply(char *buf, size_t len, reply *r);
/* Reads one response from @p fd into @p buf (@p cap bytes) before @p deadline; false without one (any thread). */
bool read_reply(int fd, char *buf, size_t cap, reply *r, int64_t deadline);
/* One request on a connection of its own, answered within 10 s or not at all (any thread). */
bool http_call(const char *method, const char *path, const char *body, char *buf, size_t cap, reply *r);

/** The figures of /metrics the demo shows; NAN for a line the service does not write. */
typedef struct metrics {
    double hits, misses, flights, queries_get, queries_put, pool_in_use, pool_waiting, pool_idle;
} metrics;

bool metrics_read(metrics *m); /* GET /metrics; false without a 200 reply (any thread) */
metrics metrics_now(void);     /* the same, or die() (main thread) */

/* The sampler: /metrics every 50 ms on a thread of its own during act 3, since the pool's gauges move faster than
 * once a second. Started, read and stopped by the main thread; sampler_stop() does nothing when none runs. */
void sampler_start(metrics first);
metrics sampler_take(double *in_use_max, double *waiting_max); /* the latest reading, the highest gauges since */
void sampler_stop(void);

/* ---- demo_load.c: act 3's client, on the main thread alone --------------------------------------------------- */

/** Requests of the load, counted over some span of time. */
typedef struct stats {
    uint64_t ok, unavailable, errors; /* 200s; 503s; anything else, wrong bodies and dropped connections */
    uint32_t *hist;                   /* latencies of the 200s and 503s, 1 µs buckets (owned by demo_load.c) */
} stats;

double percentile_ms(const stats *st, double p); /* in ms: @p of the answered requests took less (0.99: p99) */

/* Called once a second of the load with that second's requests (@p sec, valid during the call) and @p ctx. */
typedef void load_tick(double second, const stats *sec, void *ctx);

void load_connect(void); /* opens --conns keep-alive connections, or die()s */
/* Keeps one request in flight on every connection for --seconds, then waits up to 10 s for the last replies or
 * stops at once when interrupted. Returns every request's figures (valid until load_close()); *unanswered counts
 * those still in flight. The connections stay open, idle. */
const stats *load_run(load_tick *each_second, void *ctx, int *unanswered);
int load_fd(int i);    /* connection @p i's descriptor; -1 once dropped, or before load_connect() */
void load_close(void); /* closes the connections and frees what load_connect() took (never dies) */

#endif
