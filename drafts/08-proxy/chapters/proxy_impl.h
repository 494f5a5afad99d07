/*
 * Chapter 08: what the proxy's files share (proxy.c, proxy_endpoints.c, proxy_health.c, proxy_tcp.c and the files of
 * later parts). Private: the tests and the program see proxy.h only. It is yours to reshape.
 *
 * Everything here lives on the loop's thread: no field needs a lock.
 */
#ifndef FERRITE_PX_PROXY_IMPL_H
#define FERRITE_PX_PROXY_IMPL_H

#include "breaker.h"
#include "budget.h"
#include "connect.h"
#include "endpoints.h"
#include "loop.h"
#include "metrics.h"
#include "proxy.h"

#include <stdarg.h>
#include <stdint.h>

typedef struct px_proxy px_proxy;

/*
 * What the proxy keeps per endpoint beside the balancer's own statistics, indexed by the balancer's slot. `pick`
 * names the endpoint the entry belongs to: when the balancer hands the slot to another endpoint (a new generation),
 * the entry is started afresh.
 */
typedef struct px_slot {
    px_proxy *proxy;          /* the owner */
    uint32_t slot;            /* this entry's index */
    bool live;                /* an endpoint holds the slot */
    px_pick pick;             /* which endpoint (slot and generation) */
    char name[64];            /* its address, for logs and metric labels */
    px_breaker breaker;       /* consecutive failures -> ejection with backoff */
    px_timer probe_timer;     /* fires when an ejected endpoint may be probed */
    px_timer health_timer;    /* fires each health-check interval */
    px_connect health;        /* the active health check's connect */
    bool checking;            /* `health` is in progress */
    uint64_t check_ns;        /* when it started */
    px_histogram latency;     /* connect (tcp) or response-head (http) latency */
    uint64_t requests;        /* connections (tcp) or requests (http) sent to it */
    uint64_t failures;        /* of those, how many failed */
    uint64_t health_failures; /* active health checks that failed */
} px_slot;

/* One accepted client connection, on the proxy's list until it is closed. */
typedef struct px_session px_session;
struct px_session {
    px_session *next, *prev; /* the proxy's list of sessions */
    px_proxy *proxy;         /* the owner */
    int client_fd;           /* the client's socket, -1 once a relay or an HTTP session owns it */
    px_pick pick;            /* the endpoint being tried or used */
    bool picked;             /* the balancer counts this session in flight at `pick` */
    uint32_t attempts;       /* connect attempts so far */
    uint64_t started_ms;     /* accepted at, on the loop's clock */
    uint64_t connect_ns;     /* when the current connect started */
    uint64_t rtt_ns;         /* how long the successful connect took: the balancer's latency sample */
    px_connect connect;      /* the connect in progress */
    px_relay *relay;         /* tcp mode: the relay, once connected */
    void *http;              /* http mode: proxy_http.c's state, freed by px_http_session_free() */
};

struct px_proxy {
    px_options opts;      /* copied; the strings below are the copies it points to */
    char *endpoints_file; /* owned copy of opts.endpoints_file */
    px_loop *loop;        /* owned */
    int listen_fd;        /* owned; -1 once a drain closed it */
    px_watch listen_watch;
    px_timer accept_pause; /* out of fds: accepting resumes when it fires */
    uint16_t listen_port;
    int admin_fd; /* owned, or -1 */
    px_watch admin_watch;
    uint16_t admin_port;
    int signal_fd; /* owned: SIGHUP, SIGTERM, SIGINT */
    px_watch signal_watch;
    px_balancer *balancer; /* owned */
    px_slot *slots;        /* owned array, n_slots long, one per balancer slot */
    size_t n_slots;
    px_budget budget;     /* http mode's retries */
    px_session *sessions; /* owned list */
    size_t n_sessions;
    bool draining;
    px_timer drain_timer; /* cuts what is still open when the drain time is up */
    uint64_t accepted;    /* counters for /metrics */
    uint64_t reloads, reload_failures;
    uint64_t no_endpoint; /* clients refused for want of an available endpoint */
    uint64_t retries, retries_refused;
    void *admin; /* proxy_admin.c's state */
    void *pools; /* proxy_http.c's idle upstream connections */
    /* ---- part 5, proxy_tls.c: mutual TLS ---- */
    px_tls_ctx *tls_in;  /* owned: the server side for clients (--tls-in-*), NULL when clients speak plain TCP */
    px_tls_ctx *tls_out; /* owned: the client side towards endpoints (--tls-out-*), NULL for plain TCP */
    void *tls_states;    /* proxy_tls.c's list of sessions with a handshake running or TLS sessions not yet relayed */
};

/* proxy_net.c (given): a log line on stderr ("px-proxy: ...", nothing with --quiet), and a non-blocking listener
 * bound to "IP:PORT" or "[IPv6]:PORT" (port 0: any free one, told in *port), with a line in err on failure. */
void px_log(const px_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
FT_MUST_USE int px_listen_on(const char *spec, int *fd, uint16_t *port, char *err, size_t err_len);

/* proxy.c: ends a session on any path — cancels its connect, aborts its relay, frees its http state, closes the
 * client, releases its pick — and frees it; a drain waiting for the last session finishes here. */
void px_session_close(px_session *s);

/* proxy_endpoints.c: the endpoint table (balancer + per-slot state), reload, picks and outcomes. */
FT_MUST_USE int px_endpoints_reload(px_proxy *p, char *err, size_t err_len);
FT_MUST_USE int px_endpoint_pick(px_proxy *p, px_pick *out);
void px_endpoint_report(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok);
void px_endpoint_release(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok);
px_slot *px_endpoint_slot(px_proxy *p, px_pick pick);
void px_endpoints_clear(px_proxy *p);
void px_endpoint_health_result(px_slot *s, bool ok);

/* proxy_health.c: active health checks, one timer per endpoint. */
void px_health_start(px_slot *s);
void px_health_stop(px_slot *s);

/* proxy_tcp.c: tcp mode. */
void px_tcp_session_start(px_session *s);

/* proxy_http.c: http mode. Starts a session on an accepted client (s->client_fd); px_http_session_free() releases
 * what s->http holds (called by px_session_close(), whatever state the session is in). */
void px_http_session_start(px_session *s);
void px_http_session_free(px_session *s);

/* proxy_admin.c: the admin listener (p->admin_fd, bound by px_proxy_create() when opts.admin is set): /metrics and
 * /ready. Started by px_proxy_run(), stopped by px_proxy_destroy(); admin connections are not sessions, so a drain
 * does not wait for them. */
FT_MUST_USE int px_admin_start(px_proxy *p);
void px_admin_stop(px_proxy *p);

/* proxy_pool.c: http mode's idle upstream connections, per endpoint (p->pools). px_pool_take() returns an idle
 * connected socket to @p pick's endpoint, now the caller's, or -1 when there is none; px_pool_put() takes @p fd
 * (owned by the pool from then on: kept and watched, or closed when the pool is full, the endpoint gone or the proxy
 * draining); px_pool_free() closes every idle connection and frees the pool: px_proxy_destroy() calls it before the
 * loop is destroyed. */
FT_MUST_USE int px_pool_take(px_proxy *p, px_pick pick);
void px_pool_put(px_proxy *p, px_pick pick, int fd);
void px_pool_free(px_proxy *p);

/*
 * proxy_tls.c (part 5): mutual TLS in tcp mode. Each handshake is driven by the loop (watched for what
 * px_tls_wants() says) with connect_timeout_ms as its deadline; a refused one logs one line with px_tls_error().
 *  - px_tls_proxy_setup(): from px_proxy_create(), loads opts->tls_in / tls_out into p->tls_in / p->tls_out (a side
 *    with none of its three files set stays plain); -EINVAL with a line in err for a bad file, or for TLS in http mode.
 *  - px_tls_proxy_free(): from px_proxy_destroy(), after every session is closed: frees the contexts.
 *  - px_tls_session_accept(): from px_tcp_session_start(); with tls_in, runs the server handshake on s->client_fd
 *    first and calls next(s) once the client is verified (or closes the session); without, calls next(s) at once.
 *  - px_tls_session_connect(): from the connect callback on success, before the endpoint is reported: with tls_out,
 *    returns true and takes @p fd for the client handshake, then calls next(&s->connect, fd, 0) with the verified
 *    connection, or next(&s->connect, -1, err) after closing fd (the endpoint failed, like a refused connect);
 *    returns false when there is nothing to do (no tls_out, or this fd's handshake is the one just done).
 *  - px_tls_relay_start(): px_relay_start_tls() with the session's TLS sessions (NULL for a plain side), which the
 *    relay takes; on failure they are freed here, and the sockets stay the caller's.
 *  - px_tls_session_close(): from px_session_close(), first: stops a handshake in progress and frees what the
 *    session holds here (the upstream fd of a handshake under way included).
 */
FT_MUST_USE int px_tls_proxy_setup(px_proxy *p, const px_options *opts, char *err, size_t err_len);
void px_tls_proxy_free(px_proxy *p);
void px_tls_session_accept(px_session *s, void (*next)(px_session *s));
bool px_tls_session_connect(px_session *s, int fd, px_connect_fn *next);
FT_MUST_USE int px_tls_relay_start(px_session *s, int fd, px_relay_done_fn *done, px_relay **out);
void px_tls_session_close(px_session *s);

#endif
