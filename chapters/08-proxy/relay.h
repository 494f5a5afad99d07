/**
 * @file relay.h
 * @brief Chapter 08, part 1: forwarding bytes both ways between two connected sockets, as an L4 proxy does.
 *
 * A relay owns a client socket and an upstream socket and runs two independent directions, client to upstream
 * ("up") and upstream to client ("down"). Each direction:
 *  - reads from its source into its own buffer and writes the buffer to its sink; PX_RELAY_COPY uses a user-space
 *    buffer (read/write), PX_RELAY_SPLICE a pipe (`splice(2)` socket to pipe, pipe to socket: the bytes never
 *    enter user space);
 *  - applies backpressure: while its buffer is full it stops reading its source (the source is watched for nothing,
 *    so the kernel's receive window closes and the sender slows down) and reads again once the sink drained;
 *  - propagates a half-close: when its source says end of file and every byte read has been written, it shuts down
 *    the sink's write side (`shutdown(SHUT_WR)`), so the far end reads end of file too while the other direction
 *    goes on (a client that sends a request then `shutdown(SHUT_WR)` still gets its whole answer).
 * The relay ends when both directions have ended, or at the first error on either socket (a reset, EPIPE), or when
 * it is aborted; then it closes both sockets. Error convention and loop ownership rules: loop.h.
 *
 * **TLS sides** (part 5, px_relay_start_tls()). Either socket may carry a mutual-TLS session whose handshake is
 * complete: the relay then reads and writes plaintext through px_tls_read() / px_tls_write(). Three rules follow, each
 * a way for a connection to stall with bytes in hand if broken:
 *  - a TLS socket is watched for what the last TLS call of each direction waits for (px_tls_wants()), since a read
 *    may need the socket writable and a write may need it readable;
 *  - OpenSSL reads whole records from the socket and may hold decrypted bytes that no epoll event announces: a TLS
 *    source is read until it says -EAGAIN, and once backpressure lifts it is read again at once, not when epoll says;
 *  - half-close: a TLS sink gets close_notify (px_tls_shutdown()) before `shutdown(SHUT_WR)`, and a TLS source's
 *    read of 0 (the peer's close_notify) is its end of file; a TCP end of file without close_notify is a truncation
 *    and ends the relay with -EPROTO.
 * A relay with a TLS side always copies: splice(2) would move the ciphertext the socket holds straight into the other
 * socket. PX_RELAY_SPLICE is taken as PX_RELAY_COPY then (a proxy keeps one --relay setting for all its connections).
 *
 * In PX_RELAY_SPLICE mode the process must ignore SIGPIPE: splice(2) has no MSG_NOSIGNAL, and a splice into a reset
 * socket raises SIGPIPE (px-proxy's main ignores it).
 */
#ifndef FERRITE_PX_RELAY_H
#define FERRITE_PX_RELAY_H

#include "loop.h"
#include "tls.h"

#include <stdint.h>

/** @brief How bytes move. */
typedef enum px_relay_mode {
    PX_RELAY_COPY,   /**< read(2) into a buffer, write(2) out of it @rust `tokio::io::copy_bidirectional` */
    PX_RELAY_SPLICE, /**< splice(2) through a pipe, zero-copy @rust `tokio_splice::zero_copy_bidirectional` */
} px_relay_mode;

/** @brief What a relay did, given to its done callback. */
typedef struct px_relay_stats {
    uint64_t bytes_up;   /**< bytes written to the upstream (client to upstream) */
    uint64_t bytes_down; /**< bytes written to the client (upstream to client) */
    int error;           /**< 0 when both directions ended with end of file, else the first negative errno */
} px_relay_stats;

/** @brief One relay: two sockets and their two directions; opaque, made by px_relay_start(), owned by itself. */
typedef struct px_relay px_relay;

/**
 * @brief Called once when the relay ends (never from inside px_relay_start()); both sockets are closed by then and
 *        the relay is freed when the callback returns.
 * @param ctx the pointer given to px_relay_start().
 * @param stats valid during the call only.
 * @rust the `Result<(u64, u64)>` that `copy_bidirectional(..).await` returns
 */
typedef void px_relay_done_fn(void *ctx, const px_relay_stats *stats);

/**
 * @brief Starts relaying between two connected non-blocking sockets.
 * @param loop the loop the relay runs on, until it ends.
 * @param mode copy or splice.
 * @param done called once when the relay ends (never from inside this call).
 * @param ctx given to @p done.
 * @param client_fd,upstream_fd on success both are owned by the relay (closed when it ends); on failure both are
 *        still the caller's.
 * @param buffer_bytes each direction's buffer: the copy buffer's size, or the pipe's capacity asked with
 *        F_SETPIPE_SZ (the kernel rounds it up to a power of two pages); 0 picks 64 KiB.
 * @param[out] out the relay, owned by itself: valid until its done callback returns; NULL may be passed.
 * @return 0, or a negative errno (-ENOMEM, -EMFILE for the pipes...).
 * Equivalent to px_relay_start_tls() with both sessions NULL.
 * @rust `tokio::spawn(async move { copy_bidirectional(&mut client, &mut upstream).await })`
 */
FT_MUST_USE int px_relay_start(px_loop *loop, int client_fd, int upstream_fd, px_relay_mode mode, size_t buffer_bytes,
                               px_relay_done_fn *done, void *ctx, px_relay **out);

/**
 * @brief px_relay_start() where either side (or both) may be a TLS session: the relay moves plaintext through it.
 * @param loop,client_fd,upstream_fd,done,ctx,out as for px_relay_start().
 * @param client_tls,upstream_tls a session over client_fd / upstream_fd whose handshake is complete, or NULL for a
 *        plain side. On success the relay owns them: when it ends (done, error or px_relay_abort()) it frees each
 *        session with px_tls_free(), then closes its socket (a session borrows its fd, so it goes first). It sends
 *        close_notify only on a half-close, never on an abort or an error. On failure both sessions, like both
 *        sockets, are still the caller's. Their px_tls_ctx must outlive the relay.
 * @param mode PX_RELAY_COPY; PX_RELAY_SPLICE is taken as copy when a side is TLS (see the file's description).
 * @param buffer_bytes as px_relay_start(); a TLS source delivers at most one record (16 KiB) per read, and any size
 *        from 1 byte works.
 * @return 0, or a negative errno (-ENOMEM...).
 * @rust `copy_bidirectional(&mut tokio_rustls::server::TlsStream<TcpStream>, &mut TcpStream)`: both arguments only
 *       need `AsyncRead + AsyncWrite`, so a TLS stream and a plain one mix freely
 */
FT_MUST_USE int px_relay_start_tls(px_loop *loop, int client_fd, px_tls *client_tls, int upstream_fd, px_tls *upstream_tls,
                                   px_relay_mode mode, size_t buffer_bytes, px_relay_done_fn *done, void *ctx,
                                   px_relay **out);

/**
 * @brief The counts so far (for the metrics page while the relay runs).
 * @rust reading the `AtomicU64`s a counting `AsyncRead` wrapper keeps
 */
px_relay_stats px_relay_progress(const px_relay *r);

/**
 * @brief Ends a relay now: closes both sockets and frees it without calling its done callback (a drain that ran out
 *        of time). @p r is invalid after the call.
 * @rust `join_handle.abort()`
 */
void px_relay_abort(px_relay *r);

#endif
