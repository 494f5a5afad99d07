/**
 * @file tls.h
 * @brief Chapter 08, part 5: mutual TLS between proxies (OpenSSL), non-blocking, so the event loop drives it.
 *
 * Two meshed proxies authenticate each other: each presents a certificate issued by the mesh's identity CA, and each
 * checks that the other's certificate chains to that CA (the only trust anchor: never the system's store) and, when
 * asked, names the expected identity as a DNS subjectAltName, such as
 * `web.ns.serviceaccount.identity.linkerd.cluster.local`. Only TLS 1.3 is spoken, as rustls does by default in
 * linkerd2-proxy. A server that gets no client certificate fails the handshake: that is what makes it mutual.
 *
 * **Non-blocking.** Every call that moves bytes (px_tls_handshake(), px_tls_read(), px_tls_write(),
 * px_tls_shutdown()) returns -EAGAIN when the socket would block; px_tls_wants() then says what to wait for. TLS
 * reverses directions: a read may need to write first (a handshake message, an alert), and a write may need to read,
 * so the caller waits for what px_tls_wants() says, not for what the call's name suggests.
 *
 * **TLS 1.3 ordering.** A client's handshake ends when it has sent its Finished, before the server has checked the
 * client's certificate. A client that its server refuses learns it on its first px_tls_read() (the server's alert,
 * reported as -EPROTO with the alert named by px_tls_error()).
 *
 * **End of stream.** px_tls_read() returns 0 only after the peer's close_notify. A TCP end of file without it is a
 * truncation (an attacker, or a crashed peer, cut the stream: an HTTP body would look complete), reported as -EPROTO.
 *
 * **Signals.** OpenSSL's socket BIO writes with write(2), not send(MSG_NOSIGNAL): a program using this file must
 * ignore SIGPIPE (`signal(SIGPIPE, SIG_IGN)` in main), or a write to a peer that has reset kills it.
 *
 * **Errors.** The chapter's convention (loop.h): 0 or a count on success, a negative errno on failure. A failed
 * handshake says why with one of:
 *   - -EKEYREJECTED: the peer's certificate does not chain to the mesh CA;
 *   - -EKEYEXPIRED: the peer's certificate (or its issuer) has expired or is not valid yet;
 *   - -EACCES: the peer's certificate is from the mesh CA but does not name the expected identity;
 *   - -EPROTO: anything else in the protocol (no certificate sent, an older TLS version, an alert from the peer);
 *   - the socket's own errno (-ECONNRESET, -EPIPE) when the connection itself failed.
 *
 * **Ownership.** A ::px_tls_ctx is shared, read-only, by every ::px_tls made from it, and must outlive them. A
 * ::px_tls borrows its fd: it never closes it; the caller closes it after px_tls_free(). One thread only (the loop's).
 */
#ifndef FERRITE_PX_TLS_H
#define FERRITE_PX_TLS_H

#include "ferrite.h"
#include "loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @brief Where a proxy's TLS identity and trust come from; every path is a PEM file. Borrowed by
 *        px_tls_ctx_create() for the length of the call only.
 * @rust the inputs of `rustls::ServerConfig::builder().with_client_cert_verifier(..).with_single_cert(..)`
 */
typedef struct px_tls_config {
    const char *ca_file;       /**< the mesh CA's certificate(s): the only trust anchors */
    const char *cert_file;     /**< this proxy's certificate, then any intermediates */
    const char *key_file;      /**< the private key of cert_file's first certificate */
    const char *peer_identity; /**< the DNS name the peer's certificate must carry; NULL: any certificate from the CA */
} px_tls_config;

/**
 * @brief A loaded configuration for one side (client or server): an `SSL_CTX`. Opaque; immutable once made.
 * @rust `Arc<rustls::ClientConfig>` / `Arc<rustls::ServerConfig>`
 */
typedef struct px_tls_ctx px_tls_ctx;

/**
 * @brief One TLS session over one borrowed, non-blocking, connected socket. Opaque.
 * @rust `rustls::ClientConnection` / `rustls::ServerConnection` paired with its `TcpStream` (tokio-rustls'
 *       `TlsStream`)
 */
typedef struct px_tls px_tls;

/**
 * @brief Loads @p cfg into a context for the client (@p server false) or the server side: TLS 1.3 only, the
 *        certificate and key loaded and checked to match, the CA as the only trust anchor, the peer's certificate
 *        required and verified on both sides, no session resumption (every connection is verified afresh).
 * @param cfg borrowed for the call; ca_file, cert_file and key_file are required.
 * @param server true for the side that accepts connections, false for the side that makes them.
 * @param out receives the new context (the caller owns it: px_tls_ctx_free()); untouched on failure.
 * @param err receives one line saying which file and why on failure ("cert_file /x/y.pem: No such file or
 *        directory", "key_file /k.pem does not match cert_file /c.pem: key does not match certificate"); may be
 *        NULL when @p err_len is 0.
 * @param err_len the size of @p err in bytes; the line is cut to fit, always NUL-terminated.
 * @return 0; -EINVAL for a missing field, a file without a PEM certificate or key, or a key that does not match;
 *         the errno of opening a file (-ENOENT, -EACCES); -ENOMEM. Nothing is left allocated on failure.
 * @rust `ServerConfig::builder().with_protocol_versions(&[&TLS13])?.with_client_cert_verifier(verifier)
 *       .with_single_cert(certs, key)` returning `Result<Arc<ServerConfig>, rustls::Error>`
 */
FT_MUST_USE int px_tls_ctx_create(const px_tls_config *cfg, bool server, px_tls_ctx **out, char *err, size_t err_len);

/**
 * @brief Frees a context; every ::px_tls made from it must be freed first. NULL is a no-op.
 * @rust dropping the last `Arc<ServerConfig>`
 */
void px_tls_ctx_free(px_tls_ctx *ctx);

/**
 * @brief Starts a TLS session on @p fd, as the side @p ctx was made for; no bytes move until px_tls_handshake().
 * @param ctx borrowed; must outlive the session.
 * @param fd a connected, non-blocking stream socket, borrowed: the session never closes it.
 * @param out receives the session (the caller owns it: px_tls_free()); untouched on failure.
 * @return 0 or -ENOMEM.
 * @rust `ClientConnection::new(config.clone(), server_name)` / `ServerConnection::new(config.clone())`
 */
FT_MUST_USE int px_tls_create(px_tls_ctx *ctx, int fd, px_tls **out);

/**
 * @brief Moves the handshake on as far as the socket allows.
 * @return 0 once the handshake is complete (the peer verified; again 0 on later calls); -EAGAIN: call again when
 *         px_tls_wants() is ready; a negative errno from the list in the file's description when it failed, with
 *         px_tls_error() saying why in one line. A failed session stays failed.
 * @rust `TlsConnector::connect(name, stream).await` polled: `Poll::Pending` is -EAGAIN
 */
FT_MUST_USE int px_tls_handshake(px_tls *t);

/**
 * @brief What the last -EAGAIN of any call on @p t waits for: ::PX_READABLE, ::PX_WRITABLE, or both; 0 when the
 *        last call did not return -EAGAIN.
 * @rust `rustls::Connection::wants_read()` / `wants_write()`
 */
uint32_t px_tls_wants(const px_tls *t);

/**
 * @brief Reads decrypted bytes after the handshake.
 * @param t a session whose handshake is complete.
 * @param buf receives up to @p len bytes.
 * @param len at least 1 (0 would read as close_notify; the reference asserts it).
 * @return the number of bytes read (1 .. @p len); 0 after the peer's close_notify; -EAGAIN (see px_tls_wants());
 *         -EPROTO for a stream cut without close_notify or a TLS error (px_tls_error() says which); another negative
 *         errno from the socket (-ECONNRESET).
 * @rust `AsyncRead::poll_read` on a `tokio_rustls::TlsStream`
 */
FT_MUST_USE long px_tls_read(px_tls *t, void *buf, size_t len);

/**
 * @brief Encrypts and sends bytes after the handshake. Partial writes are reported: the count may be less than
 *        @p len, and the caller sends the rest later. After -EAGAIN, the retry may pass the same bytes from another
 *        address (a relay that compacted its buffer), but at least as many of them.
 * @return the number of bytes taken (1 .. @p len; 0 when @p len is 0); -EAGAIN (see px_tls_wants()); a negative
 *         errno (-EPIPE, -ECONNRESET, -EPROTO).
 * @rust `AsyncWrite::poll_write` on a `tokio_rustls::TlsStream`
 */
FT_MUST_USE long px_tls_write(px_tls *t, const void *buf, size_t len);

/**
 * @brief Sends close_notify: this side will write no more. It does not wait for the peer's; reading may go on.
 * @return 0 once the alert is sent; -EAGAIN (see px_tls_wants()); a negative errno.
 * @rust `rustls::Connection::send_close_notify()` then flushing (`AsyncWrite::poll_shutdown`)
 */
FT_MUST_USE int px_tls_shutdown(px_tls *t);

/**
 * @brief One line saying why the last call failed ("peer certificate expired on 2024-05-01 12:00:00 UTC"), or ""
 *        when none did. Owned by @p t, valid until its next call.
 * @rust `impl Display for rustls::Error`
 */
const char *px_tls_error(const px_tls *t);

/**
 * @brief The verified peer's identity after a complete handshake: the expected identity when the context named one,
 *        else the first DNS subjectAltName of the peer's certificate; NULL before the handshake is complete or when
 *        the certificate names none. Owned by @p t.
 * @rust `ServerConnection::peer_certificates()` read by linkerd's `identity::Id`
 */
const char *px_tls_peer_identity(const px_tls *t);

/**
 * @brief Frees a session without sending anything (send close_notify first with px_tls_shutdown() for a clean end);
 *        the fd stays open, the caller's. NULL is a no-op.
 * @rust dropping the `TlsStream`
 */
void px_tls_free(px_tls *t);

#endif
