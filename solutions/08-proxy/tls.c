/*
 * Chapter 08, part 5: mutual TLS between proxies with OpenSSL, driven by the caller's event loop (tls.h).
 *
 * One SSL_CTX per side holds what every connection shares: TLS 1.3 only, our certificate and key, the mesh CA as
 * the only trust anchor, verification of the peer required, and the identity to expect. One SSL per connection
 * talks over the borrowed socket. OpenSSL reports "would block" as SSL_ERROR_WANT_READ / WANT_WRITE; every call
 * here turns that into -EAGAIN and remembers which, since a read may have to write and a write may have to read.
 */
#define _GNU_SOURCE
#include "tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct px_tls_ctx {
    SSL_CTX *ssl;        /* owned; shared read-only by every session made from it */
    char *peer_identity; /* owned copy of the expected identity (sent as SNI by a client), or NULL */
    bool server;
};

struct px_tls {
    SSL *ssl;        /* owned; holds a socket BIO over the borrowed fd, which it does not close */
    px_tls_ctx *ctx; /* borrowed: outlives the session */
    uint32_t wants;  /* what the last -EAGAIN waits for */
    bool done;       /* the handshake is complete */
    int failed;      /* 0, or the negative errno every later call returns: a TLS failure is final */
    int verify_rc;   /* set by on_verify when it refused the peer's certificate: the errno to report */
    char alert[64];  /* the last fatal alert the peer sent us, or "" */
    char *peer_id;   /* owned: the verified identity, once the handshake is complete */
    char error[256]; /* px_tls_error()'s line */
};

/* ---- configuration --------------------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int say(char *err, size_t err_len, int rc, const char *fmt, ...)
{
    if (err != NULL && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static FILE *open_pem(const char *what, const char *path, char *err, size_t err_len, int *rc)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        *rc = say(err, err_len, -errno, "%s %s: %s", what, path, strerror(errno));
    return f;
}

/* The CA file's certificates become the context's only trust anchors: the store starts empty, and nothing here
 * adds the system's default paths, so a certificate from a public CA is as foreign as one from a rogue CA. */
static int load_ca(SSL_CTX *ssl, const char *path, char *err, size_t err_len)
{
    int rc = 0;
    FILE *f = open_pem("ca_file", path, err, err_len, &rc);
    if (f == NULL)
        return rc;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl);
    int n = 0;
    X509 *ca;
    while (rc == 0 && (ca = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, ca) != 1)
            rc = say(err, err_len, -ENOMEM, "ca_file %s: cannot add certificate %d", path, n + 1);
        X509_free(ca); /* the store holds its own reference */
        n++;
    }
    fclose(f);
    ERR_clear_error(); /* the read that ended the loop left "no start line" behind */
    if (rc == 0 && n == 0)
        rc = say(err, err_len, -EINVAL, "ca_file %s: no PEM certificate", path);
    return rc;
}

/* Our certificate first, then any intermediates, which are sent along so the peer can build the chain. The key
 * is checked against the certificate here, where the error can name both files, instead of failing every
 * handshake later with a signature the peer cannot verify. */
static int load_identity(SSL_CTX *ssl, const px_tls_config *cfg, char *err, size_t err_len)
{
    int rc = 0;
    FILE *f = open_pem("cert_file", cfg->cert_file, err, err_len, &rc);
    if (f == NULL)
        return rc;
    X509 *leaf = PEM_read_X509(f, NULL, NULL, NULL);
    X509 *extra;
    while (leaf != NULL && rc == 0 && (extra = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ssl, extra) != 1) { /* takes extra on success */
            X509_free(extra);
            rc = say(err, err_len, -ENOMEM, "cert_file %s: cannot add an intermediate", cfg->cert_file);
        }
    }
    fclose(f);
    ERR_clear_error();
    if (leaf == NULL)
        return say(err, err_len, -EINVAL, "cert_file %s: no PEM certificate", cfg->cert_file);

    EVP_PKEY *key = NULL;
    if (rc == 0 && (f = open_pem("key_file", cfg->key_file, err, err_len, &rc)) != NULL) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        ERR_clear_error();
        if (key == NULL)
            rc = say(err, err_len, -EINVAL, "key_file %s: no PEM private key", cfg->key_file);
    }
    if (rc == 0 && X509_check_private_key(leaf, key) != 1)
        rc = say(err, err_len, -EINVAL, "key_file %s does not match cert_file %s: key does not match certificate",
                 cfg->key_file, cfg->cert_file);
    if (rc == 0 && (SSL_CTX_use_certificate(ssl, leaf) != 1 || SSL_CTX_use_PrivateKey(ssl, key) != 1))
        rc = say(err, err_len, -EINVAL, "cert_file %s: certificate or key not usable for TLS 1.3", cfg->cert_file);
    X509_free(leaf); /* the context took its own references */
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

static int on_verify(int ok, X509_STORE_CTX *xs);

int px_tls_ctx_create(const px_tls_config *cfg, bool server, px_tls_ctx **out, char *err, size_t err_len)
{
    if (cfg == NULL || cfg->ca_file == NULL || cfg->cert_file == NULL || cfg->key_file == NULL)
        return say(err, err_len, -EINVAL, "ca_file, cert_file and key_file are all required");
    px_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return say(err, err_len, -ENOMEM, "out of memory");
    ctx->server = server;
    ctx->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx->ssl == NULL || (cfg->peer_identity && (ctx->peer_identity = strdup(cfg->peer_identity)) == NULL)) {
        px_tls_ctx_free(ctx);
        return say(err, err_len, -ENOMEM, "out of memory");
    }
    SSL_CTX *ssl = ctx->ssl;
    /* TLS 1.3 alone, as rustls by default: no RSA key exchange, no renegotiation, no downgrade to older suites. */
    SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION);
    /* PARTIAL_WRITE: a write returns what it took instead of waiting for all of it; MOVING_WRITE_BUFFER: a write
     * retried after WANT_WRITE may come from another address (the relay compacts its buffer). */
    SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* No resumption: every connection is verified against the CA and the identity afresh. */
    SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
    if (server)
        SSL_CTX_set_num_tickets(ssl, 0);
    /* PEER on both sides; FAIL_IF_NO_PEER_CERT makes a server that gets no client certificate end the handshake
     * (without it, a client that sends none is accepted, unauthenticated: TLS, but not mutual). */
    SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, on_verify);
    if (ctx->peer_identity) {
        /* Checked during chain verification on either side, against the DNS names of the leaf. */
        X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (X509_VERIFY_PARAM_set1_host(param, ctx->peer_identity, 0) != 1) {
            px_tls_ctx_free(ctx);
            return say(err, err_len, -EINVAL, "peer_identity %s: not a DNS name", cfg->peer_identity);
        }
    }
    int rc = load_ca(ssl, cfg->ca_file, err, err_len);
    if (rc == 0)
        rc = load_identity(ssl, cfg, err, err_len);
    if (rc != 0) {
        px_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

void px_tls_ctx_free(px_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl);
    free(ctx->peer_identity);
    free(ctx);
}

/* ---- verification ---------------------------------------------------------------------------------------- */

/* The first DNS subjectAltName of @p cert, malloc'd, or NULL. A name with an embedded NUL is skipped: it would
 * read as a shorter, different name in C. */
static char *first_dns_name(X509 *cert)
{
    GENERAL_NAMES *names = cert ? X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL) : NULL;
    char *found = NULL;
    for (int i = 0; names != NULL && found == NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_DNS)
            continue;
        const char *s = (const char *)ASN1_STRING_get0_data(gn->d.dNSName);
        int len = ASN1_STRING_length(gn->d.dNSName);
        if ((int)strnlen(s, (size_t)len) == len)
            found = strndup(s, (size_t)len);
    }
    GENERAL_NAMES_free(names);
    return found;
}

static void format_time(const ASN1_TIME *when, char *buf, size_t len)
{
    struct tm tm;
    if (when == NULL || ASN1_TIME_to_tm(when, &tm) != 1 || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "(unreadable date)");
}

/* OpenSSL calls this for each certificate of the chain, with @p ok = 0 where verification failed. The first
 * failure is turned into the errno and the line px_tls_handshake() reports; returning @p ok keeps OpenSSL's
 * verdict (0 ends the handshake with an alert). */
static int on_verify(int ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    px_tls *t = SSL_get_app_data(ssl);
    if (ok || t == NULL || t->verify_rc != 0)
        return ok;
    int why = X509_STORE_CTX_get_error(xs);
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    const char *whose = X509_STORE_CTX_get_error_depth(xs) == 0 ? "peer certificate" : "peer's issuer certificate";
    char when[64];
    switch (why) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        format_time(cert ? X509_get0_notAfter(cert) : NULL, when, sizeof when);
        t->verify_rc = say(t->error, sizeof t->error, -EKEYEXPIRED, "%s expired on %s", whose, when);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        format_time(cert ? X509_get0_notBefore(cert) : NULL, when, sizeof when);
        t->verify_rc = say(t->error, sizeof t->error, -EKEYEXPIRED, "%s is not valid before %s", whose, when);
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH: {
        char *name = first_dns_name(cert);
        t->verify_rc = say(t->error, sizeof t->error, -EACCES, "peer identity is %s, expected %s",
                           name ? name : "(no DNS name)", t->ctx->peer_identity);
        free(name);
        break;
    }
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        t->verify_rc = say(t->error, sizeof t->error, -EKEYREJECTED, "peer certificate is not from the mesh CA (%s)",
                           X509_verify_cert_error_string(why));
        break;
    default:
        t->verify_rc =
            say(t->error, sizeof t->error, -EPROTO, "peer certificate refused (%s)", X509_verify_cert_error_string(why));
    }
    return ok;
}

/* Records the fatal alerts the peer sends: in TLS 1.3 a client learns that the server refused its certificate
 * only from such an alert, after its own handshake has ended. */
static void on_info(const SSL *ssl, int where, int value)
{
    px_tls *t = SSL_get_app_data(ssl);
    /* SSL_CB_READ_ALERT is two bits (ALERT | READ): testing `where & SSL_CB_READ_ALERT` would take our own alerts. */
    if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT || (value >> 8) != SSL3_AL_FATAL)
        return;
    const char *desc = SSL_alert_desc_string_long(value);
    if ((value & 0xff) == TLS13_AD_CERTIFICATE_REQUIRED) /* new in TLS 1.3: OpenSSL 3.0 has no text for it */
        desc = "certificate required";
    snprintf(t->alert, sizeof t->alert, "%s", desc);
}

/* ---- sessions -------------------------------------------------------------------------------------------- */

int px_tls_create(px_tls_ctx *ctx, int fd, px_tls **out)
{
    px_tls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->ctx = ctx;
    t->ssl = SSL_new(ctx->ssl);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) { /* a socket BIO with BIO_NOCLOSE: fd stays ours */
        px_tls_free(t);
        return -ENOMEM;
    }
    SSL_set_app_data(t->ssl, t);
    SSL_set_info_callback(t->ssl, on_info);
    if (ctx->server) {
        SSL_set_accept_state(t->ssl);
    } else {
        SSL_set_connect_state(t->ssl);
        /* SNI names the identity we expect, as linkerd2-proxy does, so a server with several can pick. */
        if (ctx->peer_identity && SSL_set_tlsext_host_name(t->ssl, ctx->peer_identity) != 1) {
            px_tls_free(t);
            return -ENOMEM;
        }
    }
    *out = t;
    return 0;
}

/* Why the call that just returned @p ret failed, or -EAGAIN with t->wants set: the one place where OpenSSL's
 * results become ours. Any other failure is final and its line is kept in t->error. */
static int settle(px_tls *t, int ret)
{
    int saved = errno;
    switch (SSL_get_error(t->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        t->wants = PX_READABLE;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        t->wants = PX_WRITABLE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: /* px_tls_read() takes its own; here the peer closed under a handshake or write */
        t->failed = say(t->error, sizeof t->error, t->done ? -EPIPE : -EPROTO, "peer sent close_notify");
        return t->failed;
    case SSL_ERROR_SYSCALL:
        if (saved != 0) {
            t->failed = say(t->error, sizeof t->error, -saved, "socket: %s", strerror(saved));
            return t->failed;
        }
        break; /* end of file without close_notify: OpenSSL before 3.0 says so this way */
    default:
        break;
    }
    unsigned long e = ERR_peek_error();
    int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    if (t->verify_rc != 0)
        t->failed = t->verify_rc; /* on_verify wrote the line */
    else if (t->alert[0] != '\0')
        t->failed = say(t->error, sizeof t->error, -EPROTO, "peer refused the connection: alert %s", t->alert);
    else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        t->failed = say(t->error, sizeof t->error, -EPROTO, "peer sent no certificate (mutual TLS requires one)");
    else if (reason == SSL_R_UNSUPPORTED_PROTOCOL)
        t->failed = say(t->error, sizeof t->error, -EPROTO, "peer does not speak TLS 1.3 (unsupported protocol)");
    else if (e == 0 || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        t->failed = say(t->error, sizeof t->error, -EPROTO, "connection closed without close_notify (truncated)");
    else
        t->failed = say(t->error, sizeof t->error, -EPROTO, "TLS error: %s",
                        ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown");
    ERR_clear_error();
    return t->failed;
}

/* Every call starts from a clean slate: SSL_get_error() reads this thread's error queue, and an old entry left
 * by another session would turn a WANT_READ into a failure. */
static bool begin(px_tls *t)
{
    t->wants = 0;
    ERR_clear_error();
    errno = 0;
    return t->failed == 0;
}

int px_tls_handshake(px_tls *t)
{
    if (!begin(t))
        return t->failed;
    if (t->done)
        return 0;
    int ret = SSL_do_handshake(t->ssl);
    if (ret != 1)
        return settle(t, ret);
    const char *matched = SSL_get0_peername(t->ssl); /* set when an expected identity matched */
    t->peer_id = matched ? strdup(matched) : first_dns_name(SSL_get0_peer_certificate(t->ssl));
    t->done = true;
    return 0;
}

uint32_t px_tls_wants(const px_tls *t) { return t->wants; }

long px_tls_read(px_tls *t, void *buf, size_t len)
{
    assert(len > 0 && "px_tls_read: 0 bytes would read as close_notify");
    if (!begin(t))
        return t->failed;
    size_t n = 0;
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
        return (long)n;
    if (SSL_get_error(t->ssl, 0) == SSL_ERROR_ZERO_RETURN)
        return 0; /* close_notify: the only clean end */
    return settle(t, 0);
}

long px_tls_write(px_tls *t, const void *buf, size_t len)
{
    if (!begin(t))
        return t->failed;
    if (len == 0)
        return 0; /* SSL_write of 0 bytes is an error in OpenSSL */
    size_t n = 0;
    if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
        return (long)n;
    return settle(t, 0);
}

int px_tls_shutdown(px_tls *t)
{
    if (!begin(t))
        return t->failed;
    /* 0: our close_notify is sent, the peer's not yet read; 1: both. We do not wait for the peer's. */
    int ret = SSL_shutdown(t->ssl);
    return ret >= 0 ? 0 : settle(t, ret);
}

const char *px_tls_error(const px_tls *t) { return t->error; }

const char *px_tls_peer_identity(const px_tls *t) { return t->done ? t->peer_id : NULL; }

void px_tls_free(px_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl); /* frees its BIO, which leaves the fd open (BIO_NOCLOSE) */
    free(t->peer_id);
    free(t);
}
