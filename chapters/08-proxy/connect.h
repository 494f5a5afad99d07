/**
 * @file connect.h
 * @brief Chapter 08, part 1: a non-blocking connect with a deadline, finished by the event loop.
 *
 * `connect(2)` on a non-blocking socket returns EINPROGRESS at once; the socket becomes writable when the handshake
 * has ended, and only `getsockopt(SO_ERROR)` says how it ended. A proxy that connected with a blocking call would stop
 * every other connection for as long as an endpoint takes to answer (or not: a dropped SYN is retried for about two
 * minutes). Error convention and ownership of embedded watches and timers: loop.h.
 */
#ifndef FERRITE_PX_CONNECT_H
#define FERRITE_PX_CONNECT_H

#include "loop.h"

#include <sys/socket.h>

typedef struct px_connect px_connect;

/**
 * @brief Called once, on the loop's thread, when an attempt ends.
 * @param c the attempt; it is finished and may be reused or freed from inside the callback.
 * @param fd the connected socket (non-blocking, close-on-exec, TCP_NODELAY), now owned by the callee; -1 on failure.
 * @param err 0 with a connected @p fd, or a negative errno: -ETIMEDOUT when the deadline passed first, else what the
 *        handshake ended with (-ECONNREFUSED, -EHOSTUNREACH...).
 * @rust the output of `tokio::time::timeout(d, TcpStream::connect(addr)).await`
 */
typedef void px_connect_fn(px_connect *c, int fd, int err);

/**
 * @brief One connection attempt, embedded in its owner (find it with PX_CONTAINER_OF). Private fields: zero it or
 *        let px_connect_start() set it up; it is borrowed by the loop while in progress.
 * @rust the `Future` returned by `TcpStream::connect`, pinned in its task
 */
struct px_connect {
    px_watch watch;      /**< private: the socket, watched for writable */
    px_timer deadline;   /**< private: fires the timeout */
    px_loop *loop;       /**< private: the loop it runs on */
    px_connect_fn *done; /**< private: the owner's callback */
    int fd; /**< private: the socket while the handshake runs; the negative errno of a connect() that failed inside
               px_connect_start() until the 0 ms timer reports it; else -1 */
};

/**
 * @brief Starts connecting to @p addr; the outcome reaches @p done later, never from inside this call (even when the
 *        kernel connects at once, as it may on loopback).
 * @param c an attempt not in progress; borrowed by the loop until @p done runs or px_connect_cancel().
 * @param loop the loop that drives the attempt and calls @p done.
 * @param addr,addr_len the endpoint's address, copied by the call.
 * @param done called once with the outcome (see ::px_connect_fn).
 * @param timeout_ms the deadline, counted from now (0: no deadline).
 * @return 0 when started, or a negative errno when no attempt could be started (socket() failed: -EMFILE...);
 *         then @p done is not called and nothing is left open.
 * @rust `tokio::spawn(timeout(d, TcpStream::connect(addr)))`
 */
FT_MUST_USE int px_connect_start(px_connect *c, px_loop *loop, const struct sockaddr *addr, socklen_t addr_len,
                                 uint64_t timeout_ms, px_connect_fn *done);

/**
 * @brief Whether @p c is in progress (started, and neither finished nor cancelled).
 * @rust `!join_handle.is_finished()`
 */
bool px_connect_pending(const px_connect *c);

/**
 * @brief Abandons an attempt in progress: closes its socket, disarms its deadline; @p done is not called. A no-op on
 *        an attempt not in progress.
 * @rust dropping the connect future (`JoinHandle::abort`)
 */
void px_connect_cancel(px_connect *c);

#endif
