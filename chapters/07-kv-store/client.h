/**
 * @file client.h
 * @brief Chapter 07, part 6: the client driver — a pool of pipelined RESP2 connections, prepared commands, typed
 *        replies, timeouts and retries, in the shape of the ScyllaDB Rust driver.
 *
 * **Prefix and errors.** `kv_client_` for the driver, `kv_reply_` for replies, `kv_prepared_` for prepared
 * commands; ::kv_status from kv.h, plus the two outcomes only a network client has (::KV_TIMEOUT,
 * ::KV_OUTCOME_UNKNOWN, below). A server's error reply (`-ERR ...`) is not a failed call: the call returns ::KV_OK
 * and a reply of type ::KV_REPLY_ERROR, as the scylla driver returns a `DbError` the server sent.
 *
 * **Matching by order.** RESP has no request ids. The server answers the requests of one connection in the order
 * they were written, so each connection keeps a FIFO of the requests in flight, and the n-th reply read belongs to
 * the n-th request written. CQL, the scylla driver's protocol, tags every frame with a stream id and can match a
 * late answer to its request, or forget a timed-out one; RESP cannot.
 *
 * **A timeout closes the connection.** When a request's deadline passes, its reply may still come, and it would be
 * read as the reply of the next request in the FIFO. This driver does not keep a poisoned connection: it closes it,
 * ends the timed-out request, and treats every other request in flight on it as hit by a broken connection (retried
 * if idempotent, "outcome unknown" if not). The slot reconnects on its next use. The other choice — keep the slot
 * in the FIFO and throw its reply away when it arrives — keeps the connection, but everything queued behind a request
 * that never comes back waits as long as it does.
 *
 * **Retries.** Only a request marked ::KV_CLIENT_IDEMPOTENT is ever sent twice (at least once: GET, EXISTS, SCAN,
 * or a SET of a fixed value). A request that is not (INCR, a SET in a check-and-set) is sent at most once: if its
 * connection breaks or its deadline passes after any of its bytes were written, it ends ::KV_OUTCOME_UNKNOWN — the
 * server may have applied it — and the caller decides. If none of its bytes left, it ends ::KV_IO_ERROR or
 * ::KV_TIMEOUT: it was not applied.
 *
 * **The pool.** `pool_size` slots, opened lazily: a slot connects when a request is given to it, and the driver
 * gives requests to the slots in turn (round robin), so a pipeline spreads over all of them. At every moment a slot
 * is *closed* (no socket), *connecting* (a non-blocking connect in flight, with its own deadline) or *ready*
 * (connected; every byte written belongs to a request in its FIFO). Any error on a slot — a broken or refused
 * connection, a protocol error, a timeout — closes it whole; it never holds a socket in an unknown state, and the
 * number of slots never changes.
 *
 * **Threads.** A ::kv_client belongs to one thread at a time (`Send`, not `Sync`): nothing in it is locked. Callbacks
 * run on the thread that calls kv_client_poll(). Share a client between threads with a lock of your own, or give
 * each thread its own client.
 */
#ifndef FERRITE_KV_CLIENT_H
#define FERRITE_KV_CLIENT_H

#include "ferrite.h"
#include "kv.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** @brief Flag of a request: it may be sent more than once. @rust `Query::set_is_idempotent(true)` */
#define KV_CLIENT_IDEMPOTENT 1u

/**
 * @brief What a reply is.
 * @rust `redis::Value`'s variants; the scylla driver's `CqlValue` plays the same part for CQL
 */
typedef enum kv_reply_type {
    KV_REPLY_NIL = 1,    /**< `$-1` or `*-1`: no value @rust `None` */
    KV_REPLY_INT = 2,    /**< `:42` @rust `CqlValue::BigInt` */
    KV_REPLY_STATUS = 3, /**< `+OK` @rust `Value::Okay` / `Value::Status` */
    KV_REPLY_ERROR = 4,  /**< `-ERR ...` @rust `QueryError::DbError` */
    KV_REPLY_BULK = 5,   /**< `$3\r\nabc`: bytes @rust `CqlValue::Blob` */
    KV_REPLY_ARRAY = 6,  /**< `*2\r\n...`: replies @rust `CqlValue::List` */
} kv_reply_type;

/**
 * @brief One reply, a tree for arrays; opaque, read through the accessors below.
 * A reply handed to the caller is the caller's, freed once with kv_reply_free(), which frees the whole tree.
 * The elements of an array and the bytes a reply holds are borrowed from it: they live as long as it does.
 * @rust an owned `CqlValue`; `Drop` frees the tree
 */
typedef struct kv_reply kv_reply;

/**
 * @brief The type of @p r.
 * @param r borrowed, not NULL.
 * @return the type.
 * @rust `match value { .. }`
 */
kv_reply_type kv_reply_kind(const kv_reply *r);

/**
 * @brief The integer of an integer reply.
 * @param r borrowed. @param[out] out written on ::KV_OK only.
 * @return ::KV_OK; ::KV_INVALID when @p r is not ::KV_REPLY_INT (an error reply included).
 * @rust `i64::from_cql(value)` (`FromCqlVal`): a typed conversion that fails instead of guessing
 */
FT_MUST_USE kv_status kv_reply_as_int(const kv_reply *r, int64_t *out);

/**
 * @brief The bytes of a bulk string or status reply, borrowed from @p r (a NUL follows them, not counted).
 * @param r borrowed. @param[out] data valid while @p r lives. @param[out] len their length.
 * @return ::KV_OK; ::KV_NOT_FOUND for a nil reply (`GET` of a missing key); ::KV_INVALID for any other type.
 * @rust `Option<&[u8]>::from_cql(value)`
 */
FT_MUST_USE kv_status kv_reply_as_bytes(const kv_reply *r, const uint8_t **data, size_t *len);

/**
 * @brief The message of an error reply ("ERR unknown command ..."), NUL-terminated, borrowed from @p r.
 * @return ::KV_OK; ::KV_INVALID when @p r is not ::KV_REPLY_ERROR.
 * @rust `QueryError::DbError(_, message)`
 */
FT_MUST_USE kv_status kv_reply_error_message(const kv_reply *r, const char **message);

/**
 * @brief The number of elements of an array reply.
 * @return ::KV_OK; ::KV_INVALID when @p r is not ::KV_REPLY_ARRAY.
 * @rust `Vec::len` after `Vec<CqlValue>::from_cql`
 */
FT_MUST_USE kv_status kv_reply_array_len(const kv_reply *r, size_t *n);

/**
 * @brief Element @p i of an array reply, borrowed from @p r (do not free it).
 * @return ::KV_OK; ::KV_INVALID when @p r is not an array or @p i is out of range.
 * @rust `list.get(i)`: `Option<&CqlValue>`
 */
FT_MUST_USE kv_status kv_reply_array_at(const kv_reply *r, size_t i, const kv_reply **elem);

/**
 * @brief Frees @p r and everything it holds (the elements of an array, recursively). NULL is allowed.
 * @param r owned: invalid after the call, and so is every pointer an accessor returned from it.
 * @rust `drop(value)`
 */
void kv_reply_free(kv_reply *r);

/**
 * @brief How to build a client. Zero fields take the defaults given.
 * @rust `SessionBuilder::new().known_node(..).connection_timeout(..)`, with `ExecutionProfile::request_timeout`
 *       and a `RetryPolicy`
 */
typedef struct kv_client_options {
    const char *host;            /**< an IPv4 address, e.g. "127.0.0.1"; copied (NULL: "127.0.0.1") */
    uint16_t port;               /**< the server's TCP port, not 0 */
    size_t pool_size;            /**< connections to the server (0: 2) @rust `PoolSize::PerHost` */
    uint32_t connect_timeout_ms; /**< how long a connect may take (0: 1000) @rust `connection_timeout` */
    uint32_t request_timeout_ms; /**< how long one attempt may wait for its reply, from when it is handed to a
                                      connection (0: 2000); with retries a request may take up to
                                      (1 + max_retries) times this @rust `request_timeout` */
    uint32_t max_retries;        /**< extra attempts of an idempotent request after a broken connection or a
                                      timeout (0: none) @rust `DefaultRetryPolicy`'s bound */
} kv_client_options;

/** @brief Counters of a client, for tests and monitoring. @rust `Session::get_metrics()` */
typedef struct kv_client_stats {
    size_t pool_size;          /**< slots: always the configured size */
    size_t open;               /**< slots connecting or ready, at most pool_size */
    size_t in_flight;          /**< requests given to a connection and not yet ended */
    uint64_t connects;         /**< connects started, ever */
    uint64_t connect_failures; /**< connects refused or timed out, ever */
    uint64_t closed_on_error;  /**< ready connections closed by an error or a timeout, ever */
    uint64_t retries;          /**< attempts after the first, ever (idempotent requests only) */
    uint64_t timeouts;         /**< attempts whose deadline passed, ever */
} kv_client_stats;

/**
 * @brief A client: a pool of connections to one server; opaque.
 * @rust `scylla::Session`
 */
typedef struct kv_client kv_client;

/**
 * @brief Called once when a request ends, from kv_client_poll() or kv_client_close(), never from the submitting call.
 * @param status ::KV_OK (the server answered, an error reply included), ::KV_TIMEOUT, ::KV_OUTCOME_UNKNOWN,
 *        ::KV_IO_ERROR (the request was never applied: refused, broken before it was written), ::KV_CLOSED (the client
 *        was closed first), ::KV_NO_MEMORY (its bytes could not be queued: not sent).
 * @param reply the reply when @p status is ::KV_OK, now the callback's to free with kv_reply_free(); NULL otherwise.
 * @param ctx the pointer given with the request.
 * @rust the output of the `Future` that `session.query(..)` returns: `Result<QueryResult, QueryError>`
 */
typedef void kv_client_done_fn(kv_status status, kv_reply *reply, void *ctx);

/**
 * @brief Creates a client; no connection is opened yet (lazily, on the first request of each slot).
 * @param opt borrowed for the call.
 * @param[out] out the client, the caller's until kv_client_close().
 * @return ::KV_OK; ::KV_INVALID (no port, a host that is not an IPv4 address); ::KV_NO_MEMORY.
 * @rust `SessionBuilder::build()` (which connects eagerly; this one connects lazily)
 */
FT_MUST_USE kv_status kv_client_open(const kv_client_options *opt, kv_client **out);

/**
 * @brief Ends every request still open with ::KV_CLOSED (its callback runs here), closes the connections, frees @p c.
 * @param c owned: invalid after the call. NULL is allowed. The callbacks run here must not use @p c (no submit).
 * @rust `drop(session)`
 */
void kv_client_close(kv_client *c);

/**
 * @brief Queues a command (`argv[0]` is its name) on the next slot of the pool; it is written by kv_client_poll().
 * @param c borrowed. @param flags 0 or ::KV_CLIENT_IDEMPOTENT.
 * @param argc words, 1 or more. @param argv the words, copied (encoded) before the call returns.
 * @param argvlen their lengths, or NULL for NUL-terminated words.
 * @param done called exactly once when the request ends, if this call returns ::KV_OK; never otherwise.
 * @param ctx handed to @p done.
 * @return ::KV_OK; ::KV_INVALID (argc 0, NULL done); ::KV_NO_MEMORY.
 * @rust `session.query(stmt, values)` without `.await`: the future, polled later
 */
FT_MUST_USE kv_status kv_client_submit(kv_client *c, unsigned flags, size_t argc, const char *const argv[],
                                       const size_t argvlen[], kv_client_done_fn *done, void *ctx);

/**
 * @brief Drives the client: connects, writes, reads, matches replies, ends requests whose deadline passed, retries,
 *        and runs callbacks; waits in poll(2) at most @p timeout_ms (-1: until something happens or a deadline).
 * @param c borrowed. Callbacks may submit new requests; they must not close @p c.
 * @param timeout_ms the longest wait, in milliseconds; 0 does not wait.
 * @return ::KV_OK; ::KV_INVALID when @p c is NULL.
 * @rust one turn of the runtime that polls the session's connection tasks (tokio's reactor)
 */
FT_MUST_USE kv_status kv_client_poll(kv_client *c, int timeout_ms);

/**
 * @brief The number of requests submitted and not yet ended (callbacks not yet run).
 * @param c borrowed.
 * @rust the futures not yet resolved
 */
size_t kv_client_pending(const kv_client *c);

/**
 * @brief Submits one command and polls until it ends: the blocking convenience on top of the async core.
 * @param c borrowed.
 * @param flags,argc,argv,argvlen as for kv_client_submit().
 * @param[out] reply the reply, the caller's (kv_reply_free()), on ::KV_OK only.
 * @return what the request's callback would have been given (see ::kv_client_done_fn), or kv_client_submit()'s
 *         failure. Callbacks of other requests may run meanwhile.
 * @rust `session.query(stmt, values).await`
 */
FT_MUST_USE kv_status kv_client_exec(kv_client *c, unsigned flags, size_t argc, const char *const argv[],
                                     const size_t argvlen[], kv_reply **reply);

/**
 * @brief The pool's counters, copied into @p out.
 * @param c borrowed. @param[out] out written.
 * @rust `Session::get_metrics()`
 */
void kv_client_stats_get(const kv_client *c, kv_client_stats *out);

/**
 * @brief A command checked and encoded once, executed many times with its arguments; opaque.
 * RESP has no server-side prepare: the server parses every command anew. The preparation is all on the client side —
 * the arity checked against what the command takes, the header of the request (`*3\r\n$3\r\nSET\r\n`) encoded once,
 * the idempotence fixed — the way the scylla driver's `PreparedStatement` caches what it learned once (bound
 * markers, routing), except that a CQL server also keeps its half.
 * @rust `scylla::prepared_statement::PreparedStatement`
 */
typedef struct kv_prepared kv_prepared;

/**
 * @brief Prepares @p command with exactly @p nargs arguments.
 * @param command borrowed for the call. @param nargs the arguments after the command's name.
 * @param flags 0 or ::KV_CLIENT_IDEMPOTENT, for every execution.
 * @param[out] out the prepared command, the caller's until kv_prepared_free(); usable with any client.
 * @return ::KV_OK; ::KV_INVALID when @p command is empty, or is one the driver knows (GET 1, SET 2, DEL and EXISTS 1
 *         or more, INCR 1, ECHO 1, PING 0 or 1, SCAN 1 or more) and @p nargs does not fit it; ::KV_NO_MEMORY.
 * @rust `session.prepare("...").await` then `set_is_idempotent`
 */
FT_MUST_USE kv_status kv_prepared_new(const char *command, size_t nargs, unsigned flags, kv_prepared **out);

/** @brief Frees @p p (owned; NULL allowed). @rust `drop(prepared)` */
void kv_prepared_free(kv_prepared *p);

/**
 * @brief Like kv_client_submit() for a prepared command: @p args holds exactly the prepared number of arguments.
 * @param c borrowed. @param p borrowed for the call.
 * @param done,ctx as for kv_client_submit(). @param args copied. @param argslen their lengths, or NULL for NUL-terminated.
 * @rust `session.execute(&prepared, values)` without `.await`
 */
FT_MUST_USE kv_status kv_client_submit_prepared(kv_client *c, const kv_prepared *p, const char *const args[],
                                                const size_t argslen[], kv_client_done_fn *done, void *ctx);

/**
 * @brief Like kv_client_exec() for a prepared command.
 * @param c borrowed. @param p borrowed for the call. @param args copied. @param argslen lengths, or NULL.
 * @param[out] reply the reply, the caller's, on ::KV_OK only.
 * @return as kv_client_exec().
 * @rust `session.execute(&prepared, values).await`
 */
FT_MUST_USE kv_status kv_client_execute(kv_client *c, const kv_prepared *p, const char *const args[],
                                        const size_t argslen[], kv_reply **reply);

#endif /* FERRITE_KV_CLIENT_H */
