/**
 * @file uring.h
 * @brief Chapter 03, part 6 (optional): the same echo server on io_uring, from readiness to completion.
 *
 * **Prefix.** `ae_uring_` (`AE_URING_` for constants).
 *
 * Parts 1 to 5 ask the kernel *when* a socket is ready and then make the system call themselves: epoll_wait, then
 * recv, then send, each a trip into the kernel. io_uring inverts that. The program writes *requests* into a ring
 * shared with the kernel (submission queue entries: "receive on this socket", "send these bytes"), makes one system
 * call for the whole batch, and later finds *completions* in a second ring (completion queue entries: "that receive
 * got 26 bytes, in buffer 7"). This is the model of tokio-uring, glommio and monoio.
 *
 * - **Multishot accept.** One request accepts every client until it is cancelled: each new socket arrives as a
 *   completion flagged `IORING_CQE_F_MORE` (more will follow). A completion without that flag ends the request.
 * - **Multishot receive with provided buffers.** The server does not give each connection a buffer to read into.
 *   It registers one ring of buffers (`AE_URING_BUFS` of `buf_size` bytes) and each receive completion names the
 *   buffer the kernel chose. An idle connection owns no buffer at all, as in part 3's shared scratch buffer.
 * - **Send from the buffer it arrived in.** The echo sends straight out of the provided buffer and gives it back
 *   to the ring when the send completes: no copy in user space. One send in flight per connection keeps order.
 * - **Backpressure.** The buffer ring is shared, so a peer that sends without reading would otherwise take every
 *   buffer and starve the rest. When a connection owes `buf_size` bytes or more, its multishot receive is
 *   cancelled; it is armed again once the connection owes less. A receive that finds the ring empty ends with
 *   `-ENOBUFS`; the connection waits for a buffer to come back and is then armed again.
 * - **Batching.** The loop prepares every request a turn needs and submits them with the wait for the next
 *   completions in one `io_uring_enter` (`io_uring_submit_and_wait`).
 * - **Lifetime.** Memory named by a request in flight belongs to the kernel until its last completion arrives:
 *   a connection is freed only when none of its requests is pending, after cancelling them. That is the rule
 *   Rust's completion-based runtimes encode by taking buffers by value (`BufResult`).
 * - **Shutdown.** With `handle_signals`, a poll request on a `signalfd` completes when SIGINT or SIGTERM arrives.
 *   The server then cancels the accept, closes the listener, lets every connection send what it owes (at most
 *   `drain_timeout_ms`, a timeout request), closes them all, waits for the last completion and returns 0.
 *
 * **Ownership.** The server owns the ring, the buffer ring and its memory, the listener, the signal fd and every
 * connection. One thread only. Errors are 0 or a negative errno, as in reactor.h.
 */
#ifndef FERRITE_URING_H
#define FERRITE_URING_H

#include "server.h"

#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

/** Submission queue entries (the completion queue is twice as long). */
#define AE_URING_ENTRIES 1024u
/** Provided buffers in the ring (a power of two); each holds `buf_size` bytes. */
#define AE_URING_BUFS 256u
/** The buffer group id the receives select from. */
#define AE_URING_BGID 0

/**
 * @brief Counters a test, the demo or the bench can print. Updated by the server only.
 * @rust what `tokio-uring` or `monoio` would expose through their metrics
 */
typedef struct ae_uring_stats {
    uint64_t accepted;      /**< connections accepted */
    uint64_t closed;        /**< connections closed, for any reason */
    uint64_t accept_paused; /**< times accepting stopped (the connection limit, or out of descriptors) */
    uint64_t enters;        /**< io_uring_enter calls the loop made (each submits a batch and may wait) */
    uint64_t completions;   /**< completion queue entries handled */
    uint64_t echoed;        /**< bytes sent back to peers */
    uint64_t recv_armed;    /**< multishot receives started (first, then again after backpressure or -ENOBUFS) */
    uint64_t no_buffers;    /**< receives that ended with -ENOBUFS (the ring was empty) */
} ae_uring_stats;

struct ae_uconn;

/**
 * @brief The running server: one ring, one buffer ring, the listener and the connections.
 * @rust a `tokio_uring::start` runtime with a `TcpListener` and one task per connection
 */
typedef struct ae_uring_server {
    ae_config cfg;                     /**< with defaults filled in */
    struct io_uring ring;              /**< owned; valid when `ring_ready` */
    bool ring_ready;                   /**< io_uring_queue_init succeeded */
    struct io_uring_buf_ring *br;      /**< the provided-buffer ring (owned mapping), or NULL */
    size_t br_bytes;                   /**< size of that mapping */
    uint8_t *bufs;                     /**< AE_URING_BUFS * buf_size bytes (owned mapping), or NULL */
    size_t bufs_bytes;                 /**< size of that mapping */
    uint32_t buf_len[AE_URING_BUFS];   /**< bytes received into each buffer the server holds */
    int32_t buf_next[AE_URING_BUFS];   /**< next buffer in the owing connection's queue, or -1 */
    uint32_t bufs_held;                /**< buffers taken from the ring and not yet given back */
    int listen_fd;                     /**< the listening socket (owned), or -1 */
    int signal_fd;                     /**< the signalfd (owned) when `cfg.handle_signals`, else -1 */
    sigset_t saved_mask;               /**< the signal mask before ae_uring_server_open() blocked SIGINT/SIGTERM */
    bool mask_saved;                   /**< `saved_mask` must be restored */
    struct signalfd_siginfo siginfo;   /**< the signal read from the signalfd once its poll request completes */
    struct __kernel_timespec retry_ts; /**< the accept retry's delay (the kernel reads it at submission) */
    struct __kernel_timespec drain_ts; /**< the drain's limit, likewise */
    uint16_t port;                     /**< the bound port */
    int n_conns;                       /**< live connections */
    struct ae_uconn *conns;            /**< every live connection (a doubly linked list) */
    struct ae_uconn *starved;          /**< connections waiting for a buffer before their receive is armed again */
    int inflight;                      /**< requests the kernel holds (each ends with one final completion) */
    bool accepting;                    /**< the multishot accept is armed */
    bool reading_signals;              /**< the signalfd's poll request is armed */
    bool retry_armed;                  /**< a timeout request retries accept after `EMFILE`/`ENFILE` */
    bool drain_armed;                  /**< a timeout request bounds the drain */
    bool stopping;                     /**< shutdown has begun */
    bool drain_expired;                /**< the drain timeout has passed: owed bytes are abandoned */
    ae_uring_stats stats;              /**< counters */
} ae_uring_server;

/**
 * @brief Sets up the ring and its buffers, binds and listens; does not accept yet.
 *
 * `cfg` is read as for ae_server_open(), except `idle_timeout_ms`, which must be 0 (idle timers are part 5's, on
 * epoll). `buf_size` is the size of each provided buffer and the bound on what one connection may owe.
 * @param[out] s the server; on failure everything opened so far is closed again and the mask restored.
 * @param cfg copied; `cfg->host` is only read during the call.
 * @return 0; `-EADDRINUSE` when the port is taken; `-EINVAL` for a bad host, negative limits or an idle
 *         timeout; `-ENOSYS` or `-EPERM` when the kernel refuses io_uring; another negative errno.
 * @rust `tokio_uring::net::TcpListener::bind(addr)?` inside `tokio_uring::start`
 */
FT_MUST_USE int ae_uring_server_open(ae_uring_server *s, const ae_config *cfg);

/**
 * @brief The port the listener is bound to (the ephemeral one when `cfg.port` was 0).
 * @rust `listener.local_addr()?.port()`
 */
uint16_t ae_uring_server_port(const ae_uring_server *s);

/**
 * @brief Runs the loop until a shutdown has drained and the kernel holds no request of the server's.
 * @return 0 after a graceful shutdown, or a negative errno if the ring itself failed.
 * @rust `tokio_uring::start(async { loop { let (s, _) = listener.accept().await?; spawn(echo(s)); } })`
 */
FT_MUST_USE int ae_uring_server_run(ae_uring_server *s);

/**
 * @brief Begins a graceful shutdown, as SIGINT/SIGTERM would. Call from the loop's thread.
 * @rust a cancellation token observed by the accept loop
 */
void ae_uring_server_stop(ae_uring_server *s);

/**
 * @brief Cancels whatever is still in flight, closes every connection, the listener, the signalfd and the ring,
 * unmaps the buffers and restores the signal mask. Safe after a failed ae_uring_server_open() and safe to call
 * twice.
 * @rust dropping the runtime
 */
void ae_uring_server_close(ae_uring_server *s);

#endif
