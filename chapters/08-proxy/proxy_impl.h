/**
 * @file proxy_impl.h
 * @brief Chapter 08: what the proxy's files share (proxy.c, proxy_endpoints.c, proxy_health.c, proxy_tcp.c,
 *        proxy_http.c, proxy_pool.c, proxy_admin.c, proxy_tls.c). Not for callers: the tests and the program see
 *        proxy.h only. It is yours to reshape.
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

/**
 * @brief What the proxy keeps per endpoint beside the balancer's own statistics, indexed by the balancer's slot. `pick`
 * names the endpoint the entry belongs to: when the balancer hands the slot to another endpoint (a new generation),
 * the entry is started afresh.
 */
typedef struct px_slot {
    px_proxy *proxy;          /**< the owner */
    uint32_t slot;            /**< this entry's index */
    bool live;                /**< an endpoint holds the slot */
    px_pick pick;             /**< which endpoint (slot and generation) */
    char name[64];            /**< its address, for logs and metric labels */
    px_breaker breaker;       /**< consecutive failures -> ejection with backoff */
    px_timer probe_timer;     /**< fires when an ejected endpoint may be probed */
    px_timer health_timer;    /**< fires each health-check interval */
    px_connect health;        /**< the active health check's connect */
    bool checking;            /**< `health` is in progress */
    uint64_t check_ns;        /**< when it started */
    px_histogram latency;     /**< connect (tcp) or response-head (http) latency */
    uint64_t requests;        /**< connections (tcp) or requests (http) sent to it */
    uint64_t failures;        /**< of those, how many failed */
    uint64_t health_failures; /**< active health checks that failed */
} px_slot;

/** @brief One accepted client connection, on the proxy's list until it is closed. */
typedef struct px_session px_session;
struct px_session {
    px_session *next;    /**< the proxy's list of sessions */
    px_session *prev;    /**< the proxy's list of sessions */
    px_proxy *proxy;     /**< the owner */
    int client_fd;       /**< the client's socket, -1 once a relay or an HTTP session owns it */
    px_pick pick;        /**< the endpoint being tried or used */
    bool picked;         /**< the balancer counts this session in flight at `pick` */
    uint32_t attempts;   /**< connect attempts so far */
    px_pick failed[4];   /**< endpoints this connect (tcp) or request (http) has failed on so far, oldest first */
    uint32_t nfailed;    /**< how many of `failed` hold one */
    uint64_t started_ms; /**< accepted at, on the loop's clock */
    uint64_t connect_ns; /**< when the current connect started */
    uint64_t rtt_ns;     /**< how long the successful connect took: the balancer's latency sample */
    px_connect connect;  /**< the connect in progress */
    px_relay *relay;     /**< tcp mode: the relay, once connected */
    void *http;          /**< http mode: proxy_http.c's state, freed by px_http_session_free() */
};

/**
 * @brief Notes the session's current pick among the endpoints its connect (tcp) or request (http) has failed on,
 *        for px_endpoint_pick() to leave out of the next attempt; a full list keeps the oldest.
 * @rust pushing onto the attempted-hosts list of a retry policy (Envoy's `previous_hosts`)
 */
static inline void px_session_note_failure(px_session *s)
{
    if (s->nfailed < sizeof s->failed / sizeof s->failed[0])
        s->failed[s->nfailed++] = s->pick;
}

/** @brief The proxy (proxy.h): everything its files share, on the loop's thread only. */
struct px_proxy {
    px_options opts;          /**< copied; the strings below are the copies it points to */
    char *endpoints_file;     /**< owned copy of opts.endpoints_file */
    px_loop *loop;            /**< owned */
    int listen_fd;            /**< owned; -1 once a drain closed it */
    px_watch listen_watch;    /**< the listener, watched for readable (accept) */
    px_timer accept_pause;    /**< out of fds: accepting resumes when it fires */
    uint16_t listen_port;     /**< the port it is bound to */
    int admin_fd;             /**< owned, or -1 */
    px_watch admin_watch;     /**< the admin listener's watch (proxy_admin.c) */
    uint16_t admin_port;      /**< the admin listener's port */
    int signal_fd;            /**< owned: SIGHUP, SIGTERM, SIGINT */
    px_watch signal_watch;    /**< the signalfd, watched for readable */
    px_balancer *balancer;    /**< owned */
    px_slot *slots;           /**< owned array, n_slots long, one per balancer slot */
    size_t n_slots;           /**< length of slots */
    px_budget budget;         /**< http mode's retries */
    px_session *sessions;     /**< owned list */
    size_t n_sessions;        /**< length of sessions */
    bool draining;            /**< SIGTERM came: the listener is closed, what is in flight finishes */
    px_timer drain_timer;     /**< cuts what is still open when the drain time is up */
    uint64_t accepted;        /**< counters for /metrics */
    uint64_t reloads;         /**< SIGHUP reloads that took */
    uint64_t reload_failures; /**< SIGHUP reloads refused (a bad file) */
    uint64_t no_endpoint;     /**< clients refused for want of an available endpoint */
    uint64_t retries;         /**< http mode: requests sent again */
    uint64_t retries_refused; /**< http mode: retries the budget refused */
    void *admin;              /**< proxy_admin.c's state */
    void *pools;              /**< proxy_http.c's idle upstream connections */
    px_tls_ctx *tls_in;       /**< owned: the server side for clients (--tls-in-*), NULL when clients speak plain TCP */
    px_tls_ctx *tls_out;      /**< owned: the client side towards endpoints (--tls-out-*), NULL for plain TCP */
    void *tls_states; /**< proxy_tls.c's list of sessions with a handshake running or TLS sessions not yet relayed */
};

/**
 * @brief proxy_net.c (given): one log line on stderr, "px-proxy: ...", unless opts.quiet.
 * @rust `tracing::info!`
 */
void px_log(const px_proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * @brief proxy_net.c (given): a non-blocking, close-on-exec listener bound to "IP:PORT" or "[IPv6]:PORT" (port 0:
 *        any free one, told in @p port).
 * @param spec the address, borrowed for the call.
 * @param[out] fd the listener, the caller's.
 * @param[out] port the port bound.
 * @param err a line saying what failed, written on failure.
 * @param err_len the size of @p err.
 * @return 0, or a negative errno (-EINVAL for a bad address, -EADDRINUSE...).
 * @rust `TcpListener::bind(addr).await?` and `local_addr()`
 */
FT_MUST_USE int px_listen_on(const char *spec, int *fd, uint16_t *port, char *err, size_t err_len);

/**
 * @brief proxy.c: ends a session on any path — cancels its connect, aborts its relay, frees its http and TLS state,
 *        closes the client, releases its pick — and frees it; a drain waiting for the last session finishes here.
 * @rust dropping the task that owns the connection
 */
void px_session_close(px_session *s);

/**
 * @brief proxy_endpoints.c: reads the endpoints file and reconciles the balancer and the slots with it; a bad file
 *        changes nothing and says why in @p err.
 * @return 0, or a negative errno (-EINVAL with the file's line, -ENOMEM).
 * @rust a discovery stream yielding `Change::Insert` / `Change::Remove` into `tower::discover`
 */
FT_MUST_USE int px_endpoints_reload(px_proxy *p, char *err, size_t err_len);

/**
 * @brief proxy_endpoints.c: picks an endpoint (counted in flight until px_endpoint_release()); a pick of an
 *        endpoint whose breaker is probing is its probe.
 *
 * A retry names the endpoints its request has already failed on: they are left out of this one pick, so that the
 * retry goes to another endpoint whenever another is available, and only when none is does the pick fall back to
 * them. Without it a balancer that still rates a dead endpoint well (its failures were fast, and its breaker has
 * not opened yet) can hand one request the same dead endpoint for every attempt.
 * @param p the proxy.
 * @param avoid @p n_avoid picks (borrowed, read during the call; NULL when @p n_avoid is 0); stale ones are ignored.
 * @param n_avoid how many; at most 32.
 * @param[out] out the pick.
 * @return 0, or -EHOSTUNREACH when no endpoint is available, the avoided ones included.
 * @rust `poll_ready` then `call` on a `tower::balance::p2c::Balance`; the avoiding is Envoy's `previous_hosts`
 *       retry predicate
 */
FT_MUST_USE int px_endpoint_pick(px_proxy *p, const px_pick *avoid, size_t n_avoid, px_pick *out);

/**
 * @brief proxy_endpoints.c: one attempt's outcome into the slot's breaker and histogram, and the breaker's verdict
 *        into the balancer's availability. A stale pick is ignored.
 * @rust a failure-accrual layer classifying a response
 */
void px_endpoint_report(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok);

/**
 * @brief proxy_endpoints.c: the pick is over: out of the in-flight count, its latency into the EWMA.
 * @rust dropping the `PeakEwma`'s `Handle` when the response completes
 */
void px_endpoint_release(px_proxy *p, px_pick pick, uint64_t rtt_ns, bool ok);

/**
 * @brief proxy_endpoints.c: the slot of @p pick, or NULL when its endpoint has left the set (the generation moved).
 * @rust `slotmap::SlotMap::get(key)`
 */
px_slot *px_endpoint_slot(px_proxy *p, px_pick pick);

/**
 * @brief proxy_endpoints.c: retires every slot (its timers and health check stopped): the proxy is going away.
 * @rust dropping the `Discover` stream and every endpoint service
 */
void px_endpoints_clear(px_proxy *p);

/**
 * @brief proxy_endpoints.c: an active health check's outcome into the breaker (not the latency histogram).
 * @rust a readiness probe's result fed to the failure-accrual policy
 */
void px_endpoint_health_result(px_slot *s, bool ok);

/**
 * @brief proxy_health.c: arms the slot's periodic health check (nothing when the interval is 0 or one is armed).
 * @rust `tokio::spawn` of a loop over `tokio::time::interval(period).tick().await`
 */
void px_health_start(px_slot *s);

/**
 * @brief proxy_health.c: stops the slot's health check (its timer and any connect in progress).
 * @rust `JoinHandle::abort` on that task
 */
void px_health_stop(px_slot *s);

/**
 * @brief proxy_tcp.c: tcp mode for an accepted client: pick, connect (up to 3 attempts), relay.
 * @rust `tokio::spawn(async move { let up = connect(pick()).await?; copy_bidirectional(&mut client, &mut up) })`
 */
void px_tcp_session_start(px_session *s);

/**
 * @brief proxy_http.c: http mode for an accepted client (s->client_fd): one request at a time, each balanced.
 * @rust `hyper::server::conn::http1::Builder::serve_connection(io, service)`
 */
void px_http_session_start(px_session *s);

/**
 * @brief proxy_http.c: releases what s->http holds, whatever state the session is in (px_session_close calls it).
 * @rust dropping the connection future
 */
void px_http_session_free(px_session *s);

/**
 * @brief proxy_admin.c: starts the admin listener (p->admin_fd): /metrics and /ready. Admin connections are not
 *        sessions, so a drain does not wait for them.
 * @return 0, or a negative errno from the loop.
 * @rust an `axum::Router` with two routes served on its own listener
 */
FT_MUST_USE int px_admin_start(px_proxy *p);

/**
 * @brief proxy_admin.c: stops the admin listener and closes its connections.
 * @rust dropping the admin server's task
 */
void px_admin_stop(px_proxy *p);

/**
 * @brief proxy_pool.c: one upstream connection of http mode, in use by an exchange or idle in its endpoint's pool
 *        (p->pools, at most 16 per endpoint).
 *
 * The watch registered for the socket is embedded here and travels with it, from the exchange that uses it to the
 * pool and back: handing a connection over costs no epoll_ctl. While an exchange holds it, readiness goes to
 * fn(u, ready); while idle, to the pool, which closes it (an idle upstream has nothing to say, so readable means it
 * closed, reset or sent bytes nobody asked for). Owned by whoever holds it: the exchange, or the pool.
 * @rust a `hyper_util` pooled connection (`Pooled<PoolClient>`), which returns to its pool on drop
 */
typedef struct px_upconn px_upconn;

/**
 * @brief The holder's readiness callback of an upstream connection.
 * @rust the waker of the task that checked the connection out
 */
typedef void px_upconn_fn(px_upconn *u, uint32_t ready);

struct px_upconn {
    px_watch watch;   /**< watch.fd: the connected socket, owned with this struct */
    px_upconn_fn *fn; /**< the holder's callback; NULL while idle */
    void *owner;      /**< the holder's context for fn, borrowed; NULL while idle */
    px_proxy *proxy;  /**< the proxy whose pool it returns to, borrowed */
    px_pick pick;     /**< its endpoint (slot and generation) */
    px_upconn *next;  /**< the pool's list, while idle */
    px_upconn *prev;  /**< the pool's list, while idle */
};

/**
 * @brief proxy_pool.c: wraps a newly connected @p fd and watches it for @p interest, calling fn(u, ready).
 * @param p the proxy whose pool the connection returns to.
 * @param pick its endpoint.
 * @param fd taken in every case: closed on failure.
 * @param interest what to watch it for at first.
 * @param fn,owner the holder's callback and its context.
 * @param[out] out the connection, the caller's until px_pool_put() or px_upconn_close().
 * @return 0, -ENOMEM, or the loop's error.
 * @rust `PoolClient::new(conn)` after `TcpStream::connect`
 */
FT_MUST_USE int px_upconn_open(px_proxy *p, px_pick pick, int fd, uint32_t interest, px_upconn_fn *fn, void *owner,
                               px_upconn **out);

/**
 * @brief proxy_pool.c: an idle connection to @p pick's endpoint (same slot and generation), most recently returned
 *        first, still watched (for PX_READABLE) and now calling fn(u, ready); NULL when there is none.
 *
 * The socket is not probed: a close the loop has reported has dropped the connection already, and one it has not
 * shows as an upstream failure of the request sent on it. The connection is the caller's from then on.
 * @rust `hyper_util::client::legacy::Pool::checkout(key)`
 */
px_upconn *px_pool_take(px_proxy *p, px_pick pick, px_upconn_fn *fn, void *owner);

/**
 * @brief proxy_pool.c: takes @p u back, idle and watched for PX_READABLE only (one px_loop_modify() if it was not);
 *        closed instead when the pool is full, the endpoint gone or the proxy draining. @p u is the pool's after.
 * @rust dropping a `Pooled<T>`, which puts the connection back when it is still open
 */
void px_pool_put(px_upconn *u);

/**
 * @brief proxy_pool.c: unwatches, closes and frees @p u (NULL: nothing), whoever held it.
 * @rust `drop(conn)` outside the pool
 */
void px_upconn_close(px_upconn *u);

/**
 * @brief proxy_pool.c: closes every idle connection and frees the pool; px_proxy_destroy() calls it before the loop
 *        is destroyed.
 * @rust dropping the `Pool`
 */
void px_pool_free(px_proxy *p);

/*
 * proxy_tls.c (part 5): mutual TLS in tcp mode. Each handshake is driven by the loop (watched for what
 * px_tls_wants() says) with connect_timeout_ms as its deadline; a refused one logs one line with px_tls_error().
 */

/**
 * @brief From px_proxy_create(): loads opts->tls_in / tls_out into p->tls_in / p->tls_out (a side with none of its
 *        three files set stays plain).
 * @return 0, or -EINVAL with a line in @p err for a bad file, or for TLS in http mode.
 * @rust building a `rustls::ServerConfig` and a `ClientConfig` with a `WebPkiClientVerifier` / root store
 */
FT_MUST_USE int px_tls_proxy_setup(px_proxy *p, const px_options *opts, char *err, size_t err_len);

/**
 * @brief From px_proxy_destroy(), after every session is closed: frees the contexts.
 * @rust dropping the `Arc<ServerConfig>` and `Arc<ClientConfig>`
 */
void px_tls_proxy_free(px_proxy *p);

/**
 * @brief From px_tcp_session_start(): with tls_in, runs the server handshake on s->client_fd first and calls
 *        next(s) once the client is verified (or closes the session); without, calls next(s) at once.
 * @rust `TlsAcceptor::accept(stream).await?` before the service sees the connection
 */
void px_tls_session_accept(px_session *s, void (*next)(px_session *s));

/**
 * @brief From the connect callback on success: with tls_out, returns true and takes @p fd for the client
 *        handshake, then calls next(&s->connect, fd, 0) with the verified connection, or next(&s->connect, -1, err)
 *        after closing fd (the endpoint failed, like a refused connect); false when there is nothing to do (no
 *        tls_out, or this fd's handshake is the one just done).
 * @rust `TlsConnector::connect(server_name, stream).await?` inside the connect future
 */
bool px_tls_session_connect(px_session *s, int fd, px_connect_fn *next);

/**
 * @brief px_relay_start_tls() with the session's TLS sessions (NULL for a plain side), which the relay takes; on
 *        failure they are freed here, and the sockets stay the caller's.
 * @return 0, or a negative errno from the relay.
 * @rust `copy_bidirectional(&mut tls_client, &mut tls_upstream)`
 */
FT_MUST_USE int px_tls_relay_start(px_session *s, int fd, px_relay_done_fn *done, px_relay **out);

/**
 * @brief From px_session_close(), first: stops a handshake in progress and frees what the session holds here (the
 *        upstream fd of a handshake under way included).
 * @rust dropping a pending `Accept` / `Connect` future
 */
void px_tls_session_close(px_session *s);

#endif
