/**
 * @file server.h
 * @brief Chapter 03, parts 4 and 5: the accept loop as `spawn`, idle timeouts and graceful shutdown.
 *
 * **Prefix.** `ae_` (`AE_` for constants): *async echo*, as in reactor.h.
 *
 * An ::ae_server is the whole runtime of the study's echo: a listener on a loopback port, one reactor, one
 * ::ae_conn per accepted socket, and a loop that sleeps in epoll until readiness, a deadline or a signal.
 *
 * - **Spawn.** Each accepted socket becomes a heap-allocated ::ae_conn registered with the reactor; the
 *   reactor's callback polls it, and when it returns ::AE_READY the server closes and frees it.
 * - **Limits.** At most `max_conns` connections: at the limit, the server stops asking for the listener's
 *   readiness (new clients wait in the kernel's backlog) and asks again when one closes. When `accept` fails for
 *   lack of descriptors (`EMFILE`, `ENFILE`), it does the same, and retries on the next close or after
 *   ::AE_ACCEPT_RETRY_MS, never in a loop.
 * - **Time.** Every connection carries a deadline, pushed back whenever it moves bytes. Since all connections
 *   share one timeout, the most recently active is always last: the idle list is a queue, oldest first, and the
 *   loop's `epoll_wait` timeout is the head's deadline (Tokio parks its I/O driver until the next timer the same
 *   way).
 * - **Shutdown.** With `handle_signals`, SIGINT and SIGTERM arrive through a `signalfd` registered like any
 *   socket. The first one closes the listener, lets every connection flush what it owes (at most
 *   `drain_timeout_ms`), closes them all, and makes ae_server_run() return 0.
 *
 * **Ownership.** The server owns the listener, the reactor, the signal fd, the scratch buffer and every
 * connection. One thread only. Errors follow reactor.h: 0 or a negative errno.
 */
#ifndef FERRITE_SERVER_H
#define FERRITE_SERVER_H

#include "conn.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/** Default bound on the bytes a connection may owe its peer, and the size of one read. */
#define AE_DEFAULT_BUF_SIZE (16u * 1024u)
/** Default time a draining connection gets to flush before it is closed anyway. */
#define AE_DEFAULT_DRAIN_MS 1000
/** After `EMFILE`/`ENFILE`, try `accept` again this soon even if no connection has closed. */
#define AE_ACCEPT_RETRY_MS 100

/**
 * @brief How a server is set up. Zero means "default" for every field except `port` (0 = any free port).
 * @rust the arguments of `TcpListener::bind` plus what an application adds around Tokio
 */
typedef struct ae_config {
    const char *host;     /**< IPv4 address to bind; NULL = "127.0.0.1" */
    uint16_t port;        /**< 0 = an ephemeral port, read back with ae_server_port() */
    int max_conns;        /**< connections served at once; 0 = 1024 */
    int idle_timeout_ms;  /**< close a connection idle this long; 0 = never */
    int drain_timeout_ms; /**< at shutdown, how long connections may flush; 0 = ::AE_DEFAULT_DRAIN_MS */
    size_t buf_size;      /**< per-connection bound (`ae_echo_ctx.cap`); 0 = ::AE_DEFAULT_BUF_SIZE */
    bool handle_signals;  /**< stop gracefully on SIGINT/SIGTERM (blocks both in the calling thread) */
} ae_config;

/**
 * @brief Counters a test or a demo can print. Updated by the server only.
 * @rust what `tokio-metrics` would report
 */
typedef struct ae_stats {
    uint64_t accepted;      /**< connections accepted */
    uint64_t closed;        /**< connections closed, for any reason */
    uint64_t timed_out;     /**< of those, closed by the idle timer */
    uint64_t accept_paused; /**< times accepting was paused (limit reached, or out of descriptors) */
} ae_stats;

/**
 * @brief The running server and everything it owns.
 * @rust a `TcpListener` plus the Tokio runtime (reactor, timer wheel, tasks)
 */
struct ae_server {
    ae_config cfg;             /**< with defaults filled in */
    ae_reactor reactor;        /**< owned */
    ae_echo_ctx ctx;           /**< owned; `ctx.scratch` is freed by ae_server_close() */
    ae_source listener;        /**< the listening socket (owned); `fd == -1` once closed */
    ae_source signals;         /**< the signalfd (owned) when `cfg.handle_signals`, else `fd == -1` */
    sigset_t saved_mask;       /**< the thread's signal mask before ae_server_open() blocked SIGINT/SIGTERM */
    uint16_t port;             /**< the bound port */
    int n_conns;               /**< live connections */
    ae_conn *idle_head;        /**< live connections, least recently active first (earliest deadline) */
    ae_conn *idle_tail;        /**< most recently active */
    bool accepting;            /**< the listener's interest is AE_READABLE */
    bool stopping;             /**< shutdown has begun */
    int64_t accept_retry_ms;   /**< when to retry accept after EMFILE, or 0 */
    int64_t drain_deadline_ms; /**< when draining connections are closed regardless, or 0 */
    ae_stats stats;            /**< counters */
};

/**
 * @brief Milliseconds on the monotonic clock (never jumps with the wall clock).
 * @rust `tokio::time::Instant::now()`
 */
int64_t ae_now_ms(void);

/**
 * @brief Binds, listens and prepares everything the loop needs; does not accept yet.
 *
 * The listener is non-blocking with `SO_REUSEADDR` (a restart is not blocked by old connections in
 * TIME_WAIT). With `handle_signals`, SIGINT and SIGTERM are blocked in the calling thread and read from a
 * signalfd instead.
 * @param[out] s the server; on failure everything opened so far is closed again and the mask restored.
 * @param cfg copied; `cfg->host` is only read during the call.
 * @return 0; `-EADDRINUSE` when the port is taken; `-EINVAL` for a bad host or negative limits; another
 *         negative errno.
 * @rust `TcpListener::bind(addr).await?`
 */
FT_MUST_USE int ae_server_open(ae_server *s, const ae_config *cfg);

/**
 * @brief The port the listener is bound to (the ephemeral one when `cfg.port` was 0).
 * @rust `listener.local_addr()?.port()`
 */
uint16_t ae_server_port(const ae_server *s);

/**
 * @brief Runs the loop: accepts, echoes, times out idle connections, until a shutdown has drained.
 * @return 0 after a graceful shutdown, or a negative errno if the reactor itself failed.
 * @rust `#[tokio::main]` running `loop { let (s, _) = listener.accept().await?; tokio::spawn(echo(s)); }`
 */
FT_MUST_USE int ae_server_run(ae_server *s);

/**
 * @brief Begins a graceful shutdown, as SIGINT/SIGTERM would. Call from the loop's thread (a callback).
 * @rust a `tokio::sync::Notify` or cancellation token observed by the accept loop
 */
void ae_server_stop(ae_server *s);

/**
 * @brief Closes every connection, the listener, the signalfd and the reactor, frees the scratch buffer and
 * restores the signal mask. Safe after a failed ae_server_open() and safe to call twice.
 * @rust dropping the runtime
 */
void ae_server_close(ae_server *s);

#endif
