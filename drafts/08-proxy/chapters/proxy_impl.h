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
};

/* proxy.c */
void px_log(const px_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

#endif
