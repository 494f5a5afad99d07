/*
 * Chapter 08, part 5: mutual TLS between proxies with OpenSSL, driven by the caller's event loop (tls.h).
 *
 * One SSL_CTX per side holds what every connection shares; one SSL per connection talks over the borrowed socket.
 * Every function below is yours to write; each TODO says what to do and why.
 */
#define _GNU_SOURCE
#include "tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TODO: what a context needs: the SSL_CTX (owned), a copy of the expected identity (a client sends it as SNI, and
 * the refusal line names it), and which side it is for. */
struct px_tls_ctx {
    SSL_CTX *ssl;
};

/* TODO: what a session needs: the SSL (owned; its socket BIO borrows the fd), the context, what the last -EAGAIN
 * waits for, whether the handshake is done, the errno of a failure (TLS failures are final), the errno and line
 * your verify callback chose, the last fatal alert the peer sent, the verified identity and px_tls_error()'s line. */
struct px_tls {
    SSL *ssl;
};

int px_tls_ctx_create(const px_tls_config *cfg, bool server, px_tls_ctx **out, char *err, size_t err_len)
{
    /* TODO: check that ca_file, cert_file and key_file are set (-EINVAL). SSL_CTX_new with TLS_server_method() or
     * TLS_client_method(), then:
     * - min and max protocol version TLS1_3_VERSION (rustls' default: no downgrade to older suites);
     * - SSL_MODE_ENABLE_PARTIAL_WRITE (a write reports what it took) and SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER (a
     *   retried write may come from another address);
     * - no session cache and no tickets: every connection is verified afresh;
     * - SSL_CTX_set_verify with SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT and a callback that turns the first
     *   verification error into an errno and a line (tls.h lists them); without FAIL_IF_NO_PEER_CERT a server
     *   accepts a client that sends no certificate, and the TLS is no longer mutual;
     * - the expected identity, if any, with X509_VERIFY_PARAM_set1_host on SSL_CTX_get0_param (checked during
     *   verification on either side);
     * - the CA file's certificates into SSL_CTX_get_cert_store: the only trust anchors (never the system's paths);
     * - the certificate (then intermediates) and the key, checked to match with X509_check_private_key before use.
     * Open each file yourself (fopen), so the line in @p err names the file and strerror(errno); free everything
     * on failure. */
    (void)cfg;
    (void)server;
    (void)out;
    if (err != NULL && err_len > 0)
        snprintf(err, err_len, "px_tls_ctx_create is not written yet");
    return -ENOSYS;
}

void px_tls_ctx_free(px_tls_ctx *ctx)
{
    /* TODO: SSL_CTX_free and the identity copy; NULL is a no-op. */
    (void)ctx;
}

int px_tls_create(px_tls_ctx *ctx, int fd, px_tls **out)
{
    /* TODO: SSL_new from the context, SSL_set_fd (a socket BIO that does not close the fd), SSL_set_app_data so the
     * callbacks find the session, an info callback that records fatal alerts the peer sends (SSL_CB_READ_ALERT: in
     * TLS 1.3 a refused client learns it only that way), then SSL_set_accept_state or SSL_set_connect_state (and SNI
     * with the expected identity). */
    (void)ctx;
    (void)fd;
    (void)out;
    return -ENOSYS;
}

int px_tls_handshake(px_tls *t)
{
    /* TODO: clear OpenSSL's error queue (SSL_get_error reads it), SSL_do_handshake; on success remember the peer's
     * identity (SSL_get0_peername, or the first DNS subjectAltName of SSL_get0_peer_certificate). Otherwise
     * SSL_get_error: WANT_READ means wait for PX_READABLE, WANT_WRITE for PX_WRITABLE (not the same thing: a
     * handshake writes whole flights); anything else is final: the errno and line from your verify callback, or
     * from the peer's alert, or from ERR_peek_error's reason. */
    (void)t;
    return -ENOSYS;
}

uint32_t px_tls_wants(const px_tls *t)
{
    /* TODO: what the last -EAGAIN waited for (0 when the last call did not return -EAGAIN). */
    (void)t;
    return 0;
}

long px_tls_read(px_tls *t, void *buf, size_t len)
{
    /* TODO: SSL_read_ex; SSL_ERROR_ZERO_RETURN is the peer's close_notify (return 0); an end of file without it is a
     * truncation (-EPROTO), never a clean end; WANT_READ / WANT_WRITE as in px_tls_handshake. */
    (void)t;
    (void)buf;
    (void)len;
    return -ENOSYS;
}

long px_tls_write(px_tls *t, const void *buf, size_t len)
{
    /* TODO: SSL_write_ex (0 bytes: return 0 without calling it); return the count it took, which with partial
     * writes may be less than len; WANT_WRITE / WANT_READ as in px_tls_handshake. */
    (void)t;
    (void)buf;
    (void)len;
    return -ENOSYS;
}

int px_tls_shutdown(px_tls *t)
{
    /* TODO: SSL_shutdown sends close_notify: 0 or 1 from it means sent (do not wait for the peer's); -1 with
     * WANT_WRITE is -EAGAIN. */
    (void)t;
    return -ENOSYS;
}

const char *px_tls_error(const px_tls *t)
{
    /* TODO: the line of the last failure, "" when none. */
    (void)t;
    return "";
}

const char *px_tls_peer_identity(const px_tls *t)
{
    /* TODO: the verified identity once the handshake is complete, else NULL. */
    (void)t;
    return NULL;
}

void px_tls_free(px_tls *t)
{
    /* TODO: SSL_free (which frees the BIO, not the fd) and what you allocated; NULL is a no-op. */
    (void)t;
}
