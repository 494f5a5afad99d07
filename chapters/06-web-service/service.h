/**
 * @file service.h
 * @brief Chapter 06, part 5: the service — worker loops, connections, the item routes, metrics and a draining stop.
 *
 * **Prefix and errors.** `ws_`, as in http.h: ws_service_open() returns a ::ws_status (::WS_STATUS_OK or
 * ::WS_STATUS_INTERNAL_ERROR); ws_service_run() returns 0 or a negative errno, as the loop does.
 *
 * **Shape.** `workers` threads, each running its own ::ws_loop with its own listening socket bound to the same
 * port with SO_REUSEPORT, so the kernel spreads new connections over the workers (Actix's worker per core). A
 * connection stays on the worker that accepted it for its whole life; only the cache's waiter callbacks come from
 * other threads, and they do nothing but ws_loop_post() to the connection's own loop. Worker 0 runs on the thread
 * that calls ws_service_run(); its loop is the pool's home loop and the one that receives SIGTERM (a signalfd).
 *
 * **Routes.** `GET /items/:id` (cache first: a hit answers at once, a miss leads or joins the one load of that
 * key), `PUT /items/:id` (stores the body, invalidates the key, answers the new version), `DELETE /items/:id`
 * (204 or 404), `GET /healthz`, `GET /metrics` (Prometheus text). A pool checkout whose deadline passes is
 * answered 503 with `Retry-After: 1`.
 *
 * **Connections.** Requests on one connection are answered in the order they arrived: the next pipelined request
 * is parsed only once the previous one's response is queued. Writes keep what a partial write left. A request the
 * parser refuses is answered with its status and the connection is closed.
 *
 * **Stopping.** SIGTERM (or SIGINT) stops every worker from accepting, lets each request in flight finish and be
 * written, closes idle connections, shuts the pool down once every connection is back, and makes
 * ws_service_run() return 0 — within `drain_ms`, after which the connections still open are closed.
 */
#ifndef FERRITE_SERVICE_H
#define FERRITE_SERVICE_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most worker threads a service runs. */
#define WS_WORKERS_MAX 64

/**
 * @brief How to run the service; copied by ws_service_open(), except `conninfo`, which is borrowed for the
 *        service's lifetime.
 * @rust the `State` an axum app is built with, plus `actix_web::HttpServer::workers(n)`
 */
typedef struct ws_service_config {
    uint16_t port;          /**< TCP port on 127.0.0.1; 0: any free one (ws_service_port() says which) */
    const char *conninfo;   /**< libpq connection string of the database */
    size_t workers;         /**< worker threads, 1 to ::WS_WORKERS_MAX */
    size_t pool_size;       /**< database connections, >= 1 */
    size_t cache_mb;        /**< the cache's budget in MiB, >= 1 */
    uint64_t checkout_ms;   /**< how long a request may wait for a database connection before its 503 */
    uint64_t drain_ms;      /**< how long SIGTERM waits for requests in flight before closing what is left */
    bool access_log;        /**< one line per request on stderr */
    size_t max_connections; /**< per worker; a connection beyond it is accepted and closed at once */
} ws_service_config;

/** The defaults of every field but `conninfo`. */
#define WS_SERVICE_DEFAULTS                   \
    ((ws_service_config){.port = 0,           \
                         .workers = 2,        \
                         .pool_size = 4,      \
                         .cache_mb = 16,      \
                         .checkout_ms = 2000, \
                         .drain_ms = 5000,    \
                         .access_log = false, \
                         .max_connections = 4096})

/**
 * @brief The service: opaque, made by ws_service_open().
 * @rust `axum::Router::with_state(state)` served by `axum::serve`, or `actix_web::HttpServer`
 */
typedef struct ws_service ws_service;

/**
 * @brief Binds the listening sockets, creates the loops, the cache and the pool; starts no thread yet.
 *        Blocks SIGTERM and SIGINT in the calling thread (the threads started later inherit the mask), so that
 *        only the signalfd sees them.
 * @param config borrowed for the call (its `conninfo` for the service's lifetime).
 * @param[out] out the service, the caller's until ws_service_close(); NULL on failure.
 * @return ::WS_STATUS_OK, or ::WS_STATUS_INTERNAL_ERROR (bad config, the port is taken, no memory).
 * @rust `HttpServer::new(app).workers(n).bind(addr)?`
 */
FT_MUST_USE ws_status ws_service_open(const ws_service_config *config, ws_service **out);

/**
 * @brief The port the service listens on (the one the kernel chose when the config said 0).
 * @rust `listener.local_addr()?.port()`
 */
uint16_t ws_service_port(const ws_service *s);

/**
 * @brief Starts workers 1..N-1 on threads of their own, runs worker 0 on the calling thread, and returns once
 *        SIGTERM has drained everything and every thread has been joined.
 * @return 0, or a negative errno (a thread or the loop failed).
 * @rust `server.run().await` with `with_graceful_shutdown(signal)`
 */
FT_MUST_USE int ws_service_run(ws_service *s);

/**
 * @brief Frees what ws_service_open() made. Call after ws_service_run() returned, or instead of it; NULL does
 *        nothing.
 * @rust `drop(server)`
 */
void ws_service_close(ws_service *s);

#endif /* FERRITE_SERVICE_H */
