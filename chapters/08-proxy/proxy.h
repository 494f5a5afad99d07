/**
 * @file proxy.h
 * @brief Chapter 08: the proxy as a whole, what `px-proxy` (proxy_main.c, given) runs.
 *
 * **Shape.** One thread runs one ::px_loop (loop.h). A listener accepts clients; for each one the proxy picks an
 * endpoint with the balancer (balancer.h) among those its breakers have not ejected (breaker.h), connects with a
 * deadline (connect.h) and then, in `tcp` mode, relays bytes both ways (relay.h); in `http` mode it forwards one
 * request at a time over pooled keep-alive upstream connections (http1.h), retrying what is safe within a budget
 * (budget.h). Endpoints come from a file, read again on SIGHUP; active health checks probe each endpoint. An admin
 * listener serves `/metrics` (metrics.h) and `/ready`. SIGTERM (or SIGINT) drains: the listener closes, what is in
 * flight finishes within `drain_ms`, then px_proxy_run() returns 0.
 *
 * Error convention: loop.h (0 or a negative errno, with a line for the log in the `err` buffer where one is taken).
 */
#ifndef FERRITE_PX_PROXY_H
#define FERRITE_PX_PROXY_H

#include "balancer.h"
#include "relay.h"

#include <stdbool.h>
#include <stdint.h>

/** @brief What the proxy forwards. */
typedef enum px_mode {
    PX_MODE_TCP,  /**< bytes, one upstream connection per client connection (L4) @rust linkerd's opaque transport */
    PX_MODE_HTTP, /**< HTTP/1.1 requests, each balanced on its own (L7) @rust a `tower::Service<Request>` stack */
} px_mode;

/**
 * @brief One side's TLS settings (all NULL: plain TCP on that side). Paths are borrowed for px_proxy_create(). TLS
 *        is for tcp mode only (px_proxy_create() refuses it with --mode http), and the relay copies on a TLS side
 *        whatever --relay says: splice cannot turn ciphertext into plaintext.
 */
typedef struct px_tls_side {
    const char *ca_file;       /**< the mesh CA, the only trust anchor */
    const char *cert_file;     /**< this proxy's certificate (PEM) */
    const char *key_file;      /**< its private key (PEM) */
    const char *peer_identity; /**< the DNS name the peer's certificate must carry; NULL: any from the CA */
} px_tls_side;

/**
 * @brief How to run a proxy. Strings are borrowed for the duration of px_proxy_create() only.
 * @rust the proxy's `Config`, built from the environment as linkerd2-proxy's `app::env` does
 */
typedef struct px_options {
    const char *listen;          /**< "IP:port" to accept clients on; port 0 picks a free one */
    const char *admin;           /**< "IP:port" for /metrics and /ready; NULL: no admin listener */
    const char *endpoints_file;  /**< the endpoints, one "IP:port" per line (endpoints.h) */
    px_mode mode;                /**< tcp or http */
    px_balancer_kind balancer;   /**< round-robin, least-loaded or p2c */
    px_relay_mode relay;         /**< tcp mode: copy or splice */
    uint64_t connect_timeout_ms; /**< one connect attempt's deadline */
    uint64_t request_timeout_ms; /**< http mode: from a request's arrival to its response head (504 after) */
    uint64_t health_interval_ms; /**< active health checks' period; 0: none */
    uint32_t max_failures;       /**< consecutive failures that eject an endpoint */
    double retry_ratio;          /**< http mode: the retry budget's ratio (0.2: retries add at most 20 %) */
    uint64_t drain_ms;           /**< SIGTERM: how long in-flight work may take before it is cut */
    uint64_t seed;               /**< for the balancer's and the breakers' randomness; 0: from the clock */
    px_tls_side tls_in;          /**< TLS for clients (this proxy terminates mTLS) */
    px_tls_side tls_out;         /**< TLS to endpoints (this proxy originates mTLS) */
    bool quiet;                  /**< no log lines on stderr except errors */
} px_options;

/** @brief Defaults: tcp, p2c, copy, connect 1 s, request 10 s, health 1 s, 7 failures, ratio 0.2, drain 10 s. */
#define PX_OPTIONS_DEFAULTS                             \
    ((px_options){.listen = "127.0.0.1:0",              \
                  .mode = PX_MODE_TCP,                  \
                  .balancer = PX_BALANCE_P2C_PEAK_EWMA, \
                  .relay = PX_RELAY_COPY,               \
                  .connect_timeout_ms = 1000,           \
                  .request_timeout_ms = 10000,          \
                  .health_interval_ms = 1000,           \
                  .max_failures = 7,                    \
                  .retry_ratio = 0.2,                   \
                  .drain_ms = 10000})

/** @brief The proxy; opaque, made by px_proxy_create(). */
typedef struct px_proxy px_proxy;

/**
 * @brief Makes a proxy: reads the endpoints file, binds the listeners, loads TLS, blocks SIGHUP, SIGTERM and SIGINT
 *        and takes them through a signalfd. Nothing is accepted until px_proxy_run().
 * @param opts how to run it; copied (its strings are read during the call only).
 * @param err a line saying what failed (a file and line, an address in use...), written on failure.
 * @param err_len the size of @p err.
 * @param[out] out the proxy, the caller's until px_proxy_destroy().
 * @return 0, or a negative errno (-EINVAL for bad options or files, -EADDRINUSE...).
 * @rust `linkerd2_proxy::app::Config::build(..)`, returning `Result<App, Error>`
 */
FT_MUST_USE int px_proxy_create(const px_options *opts, px_proxy **out, char *err, size_t err_len);

/**
 * @brief The ports the listeners are bound to (0 for an admin listener not asked for).
 * @rust `TcpListener::local_addr()`
 */
void px_proxy_ports(const px_proxy *p, uint16_t *listen_port, uint16_t *admin_port);

/**
 * @brief Runs the proxy until a drain has finished.
 * @return 0 after a drain, or a negative errno when the loop failed.
 * @rust `app.spawn().await` with a shutdown signal
 */
FT_MUST_USE int px_proxy_run(px_proxy *p);

/**
 * @brief Frees the proxy: closes what is still open. Call after px_proxy_run() returned, or instead of it.
 * @rust `drop(app)`
 */
void px_proxy_destroy(px_proxy *p);

#endif
