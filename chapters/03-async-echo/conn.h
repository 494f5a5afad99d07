/**
 * @file conn.h
 * @brief Chapter 03, parts 2 and 3: one echo connection as a hand-written future.
 *
 * **Prefix.** `ae_` (`AE_` for constants): *async echo*, as in reactor.h.
 *
 * The Tokio task the study spawns per connection is, after rustc's lowering, a state machine with a `poll`
 * method: it runs until an operation would block, remembers where it stopped, and returns `Poll::Pending`; when
 * the socket becomes ready, the waker makes the executor call `poll` again. An ::ae_conn is that state machine
 * written out by hand. ae_conn_poll() tries to make progress, and when it cannot, it registers the readiness it
 * waits on with the reactor (that registration is the waker) and returns ::AE_PENDING. When the connection is
 * finished — the peer closed and every byte was echoed, or an error ended it — it returns ::AE_READY.
 *
 * **write_all semantics and backpressure.** Bytes are read into a scratch buffer shared by all connections
 * (the ::ae_echo_ctx) and written straight back. Whatever the socket does not take is copied into the
 * connection's own buffer, allocated only then, and the connection stops reading until it is flushed: exactly
 * Tokio's `write_all(&buf[..n]).await` before the next `read`. A peer that sends without reading therefore
 * meets a full TCP window, not a growing server: each connection owes at most `ctx->cap` bytes.
 *
 * **Ownership.** The connection owns its fd (from ae_conn_init() until ae_conn_close()) and its pending
 * buffer. It borrows the reactor and the echo context, which must outlive it. The fields marked "server" belong
 * to server.c (parts 4-5); conn.c never touches them. Errors follow reactor.h: 0 or a negative errno.
 */
#ifndef FERRITE_CONN_H
#define FERRITE_CONN_H

#include "reactor.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief The result of polling a future.
 * @rust `std::task::Poll<()>`
 */
typedef enum ae_poll {
    AE_PENDING = 0, /**< not finished; a wake-up has been registered @rust `Poll::Pending` */
    AE_READY = 1,   /**< finished; a spent future answers AE_READY again and does nothing @rust `Poll::Ready(())` */
} ae_poll;

/**
 * @brief Where the echo loop stopped: the states rustc would number for the `async` block.
 * @rust the discriminant of the generated future (one variant per `.await` point)
 */
typedef enum ae_conn_state {
    AE_CONN_READING = 0, /**< suspended at `read(..).await`: owes nothing, waits for AE_READABLE */
    AE_CONN_WRITING = 1, /**< suspended inside `write_all(..).await`: owes bytes, waits for AE_WRITABLE */
    AE_CONN_DONE = 2,    /**< returned: AE_READY was given, the future is spent */
} ae_conn_state;

/**
 * @brief What every connection of one server shares: the read scratch buffer and the per-connection bound.
 *
 * Owned by the server; borrowed by each connection. One thread only.
 * @rust the stack frame a Tokio task's `[u8; 1024]` lives in, shared here because only one runs at a time
 */
typedef struct ae_echo_ctx {
    uint8_t *scratch; /**< `cap` bytes, owned by whoever owns the context */
    size_t cap;       /**< most bytes read at once, and most bytes a connection may owe its peer */
} ae_echo_ctx;

/** Most `recv` calls one ae_conn_poll() makes before yielding (a fairness budget, like Tokio's coop budget). */
#define AE_CONN_BUDGET 16

typedef struct ae_server ae_server;

/**
 * @brief One echo connection: a future polled by the reactor.
 *
 * Invariants: `state == AE_CONN_WRITING` iff `buf != NULL`, and then `buf_off < buf_len <= ctx->cap`;
 * interest is AE_READABLE while reading and AE_WRITABLE (only) while writing.
 * @rust `async move { let mut buf = [0; N]; loop { let n = s.read(&mut buf).await?; s.write_all(&buf[..n]).await? } }`
 */
typedef struct ae_conn {
    ae_source src;          /**< registration with the reactor; `src.fd` is the socket (owned) */
    ae_reactor *reactor;    /**< borrowed */
    const ae_echo_ctx *ctx; /**< borrowed */
    ae_conn_state state;    /**< where the future is suspended */
    int error;              /**< 0, or the negative errno that ended the connection */
    bool draining;          /**< set by ae_conn_drain(): finish what is owed, read nothing new */
    uint8_t *buf;           /**< bytes owed to the peer (malloc'd, owned), or NULL when nothing is owed */
    size_t buf_len;         /**< bytes in `buf` */
    size_t buf_off;         /**< bytes of `buf` already written */
    uint64_t bytes_in;      /**< bytes read so far (progress, for the idle timer) */
    uint64_t bytes_out;     /**< bytes written so far */
    ae_server *server;      /**< server: the owning server, or NULL */
    struct ae_conn *prev;   /**< server: neighbour in the idle list (less recently active) */
    struct ae_conn *next;   /**< server: neighbour in the idle list (more recently active) */
    int64_t deadline_ms;    /**< server: when this connection times out if it stays idle */
} ae_conn;

/**
 * @brief Takes ownership of connected socket @p fd: makes it non-blocking, sets `TCP_NODELAY` on a TCP
 * socket, and registers it with @p reactor for AE_READABLE with @p on_ready as the callback.
 *
 * `TCP_NODELAY` is skipped (not an error) on a socket that is not TCP, such as a Unix socketpair.
 * @param[out] c the connection; its server fields are zeroed. Must stay at the same address while registered.
 * @param fd a connected stream socket; owned by @p c from a successful return until ae_conn_close().
 * @param reactor borrowed; must outlive the connection.
 * @param ctx the shared scratch buffer and bound; borrowed, must outlive the connection.
 * @param on_ready the callback the owner wants (it normally calls ae_conn_poll()).
 * @return 0, or a negative errno; on failure the fd is NOT closed (the caller still owns it) and nothing is
 *         registered.
 * @rust `TcpStream::from_std` + `set_nodelay(true)`; `tokio::spawn` of the future
 */
FT_MUST_USE int ae_conn_init(ae_conn *c, int fd, ae_reactor *reactor, const ae_echo_ctx *ctx, ae_ready_fn *on_ready);

/**
 * @brief Advances the echo loop as far as it can go without blocking.
 *
 * Reads up to `ctx->cap` bytes, writes them back with `send(MSG_NOSIGNAL)`; keeps what the socket did not take
 * and waits for AE_WRITABLE (reading nothing meanwhile); after flushing, goes back to reading. Stops after
 * ::AE_CONN_BUDGET reads even if more is available (the level-triggered reactor calls again).
 * @return ::AE_PENDING with the interest set to what it waits for; or ::AE_READY when the peer has closed its
 *         side and nothing is owed (`error` 0), when draining and nothing is owed, or on an I/O error (`error` < 0).
 * @rust ``Future::poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>``
 */
ae_poll ae_conn_poll(ae_conn *c);

/**
 * @brief Asks the connection to finish: read nothing more, flush what is owed, then complete.
 * @return ::AE_READY when nothing was owed (the caller then closes it), else ::AE_PENDING.
 * @rust cancelling a task at its next `.await`, after letting `write_all` finish
 */
ae_poll ae_conn_drain(ae_conn *c);

/**
 * @brief Deregisters, closes the socket and frees the pending buffer. Safe to call twice.
 *
 * Leaves the connection with `src.fd == -1` and `buf == NULL`; the struct itself is the caller's to free.
 * @rust dropping the task's future (which drops its `TcpStream`)
 */
void ae_conn_close(ae_conn *c);

#endif
