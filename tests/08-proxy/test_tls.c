/*
 * Chapter 08, part 5: mutual TLS between proxies. Every test is a real TLS 1.3 handshake over a loopback TCP pair,
 * both ends non-blocking and driven with poll(2) for exactly what px_tls_wants() asks; the certificates are made
 * afresh in each test's process (tls_support.h). Two tests play a peer this API cannot be (no certificate, TLS 1.2
 * only) with OpenSSL directly.
 */
#define _GNU_SOURCE
#include "ferrite_test.h"
#include "tls.h"
#include "tls_support.h"

#include <openssl/ssl.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

FT_PART(5, "mutual TLS between proxies (OpenSSL)");

/* A client and a server session over one loopback pair, and the driver's view of both. */
typedef struct tls_pair {
    int fds[2];
    px_tls_ctx *cctx, *sctx;
    px_tls *c, *s;
    tls_side cs, ss;
} tls_pair;

static void pair_open(tls_pair *p, px_tls_ctx *cctx, px_tls_ctx *sctx, int buf_bytes)
{
    *p = (tls_pair){.cctx = cctx, .sctx = sctx};
    tls_tcp_pair(p->fds, buf_bytes);
    ck_assert_int_eq(px_tls_create(cctx, p->fds[0], &p->c), 0);
    ck_assert_int_eq(px_tls_create(sctx, p->fds[1], &p->s), 0);
    p->cs = tls_side_of(p->c, p->fds[0]);
    p->ss = tls_side_of(p->s, p->fds[1]);
}

/* Opens a pair and runs both handshakes to their end. */
static void pair_handshake(tls_pair *p, px_tls_ctx *cctx, px_tls_ctx *sctx, int buf_bytes)
{
    pair_open(p, cctx, sctx, buf_bytes);
    tls_drive(&p->cs, &p->ss);
}

static void pair_close(tls_pair *p)
{
    px_tls_free(p->c);
    px_tls_free(p->s);
    px_tls_ctx_free(p->cctx);
    px_tls_ctx_free(p->sctx);
    close(p->fds[0]);
    close(p->fds[1]);
}

static void assert_done(const tls_side *side, const char *who)
{
    ck_assert_msg(side->rc == 0, "the %s's handshake returned %d (%s)", who, side->rc, px_tls_error(side->t));
}

static void assert_line_has(const px_tls *t, const char *needle)
{
    ck_assert_msg(strstr(px_tls_error(t), needle) != NULL, "px_tls_error() is \"%s\": it should contain \"%s\"",
                  px_tls_error(t), needle);
}

/* A refused side: its handshake failed with an errno (not -EAGAIN) or, for a TLS 1.3 client whose handshake ended
 * before the server refused it, its first read does. */
static void assert_refused(tls_side *side, const char *who)
{
    if (side->rc == 0) {
        char byte;
        long n;
        while ((n = px_tls_read(side->t, &byte, 1)) == -EAGAIN)
            tls_wait(side->fd, px_tls_wants(side->t));
        side->rc = (int)n;
    }
    ck_assert_msg(side->rc < 0 && side->rc != -EAGAIN, "the %s was refused, but its handshake and first read gave %d", who,
                  side->rc);
}

FT_TEST(5, mutual_handshake_exchanges_bytes_and_names_both_peers, 3,
        "Mutual TLS: both sides present a certificate from the mesh CA and verify the other's (SSL_VERIFY_PEER on both "
        "sides, the CA file as the trust store, TLS 1.3); px_tls_peer_identity() is the peer's verified DNS "
        "subjectAltName, remembered when px_tls_handshake() first returns 0.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", TLS_API_ID, false), tls_ctx("ca", "api", NULL, true), 0);
    assert_done(&p.cs, "client");
    assert_done(&p.ss, "server");
    ck_assert_int_eq(px_tls_handshake(p.c), 0); /* a finished handshake stays finished */
    ck_assert_str_eq(px_tls_peer_identity(p.c), TLS_API_ID);
    ck_assert_msg(px_tls_peer_identity(p.s) != NULL, "the server verified a client but reports no identity");
    ck_assert_str_eq(px_tls_peer_identity(p.s), TLS_WEB_ID);

    char buf[16] = "";
    tls_write_all(p.c, p.fds[0], "ping", 4);
    tls_read_exactly(p.s, p.fds[1], buf, 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    tls_write_all(p.s, p.fds[1], "pong!", 5);
    tls_read_exactly(p.c, p.fds[0], buf, 5);
    ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
    pair_close(&p);
}

FT_TEST(5, server_refuses_a_client_certificate_from_another_ca, 2,
        "Trust anchor: the server verifies the client's certificate against the mesh CA alone (SSL_VERIFY_PEER on the "
        "server too, no default verify paths); a certificate from another CA fails with -EKEYREJECTED and a line "
        "saying it is not from the mesh CA (read the verify error in a verify callback).")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "rogue", NULL, false), tls_ctx("ca", "api", NULL, true), 0);
    ck_assert_msg(p.ss.rc == -EKEYREJECTED, "the server's handshake returned %d (%s), not -EKEYREJECTED", p.ss.rc,
                  px_tls_error(p.s));
    assert_line_has(p.s, "not from the mesh CA");
    ck_assert_ptr_eq(px_tls_peer_identity(p.s), NULL);
    assert_refused(&p.cs, "client");
    pair_close(&p);
}

FT_TEST(5, client_refuses_a_server_certificate_from_another_ca, 2,
        "Trust anchor: the client trusts the mesh CA alone; a server certificate from another CA fails the "
        "handshake with -EKEYREJECTED and a line saying it is not from the mesh CA.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "rogue", NULL, true), 0);
    ck_assert_msg(p.cs.rc == -EKEYREJECTED, "the client's handshake returned %d (%s), not -EKEYREJECTED", p.cs.rc,
                  px_tls_error(p.c));
    assert_line_has(p.c, "not from the mesh CA");
    assert_refused(&p.ss, "server");
    pair_close(&p);
}

FT_TEST(5, expired_certificate_is_refused_with_its_date, 2,
        "Certificate validity: an expired certificate fails verification (X509_V_ERR_CERT_HAS_EXPIRED) with "
        "-EKEYEXPIRED and a line saying \"expired on\" and the certificate's notAfter date.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "expired", NULL, true), 0);
    ck_assert_msg(p.cs.rc == -EKEYEXPIRED, "the client's handshake returned %d (%s), not -EKEYEXPIRED", p.cs.rc,
                  px_tls_error(p.c));
    assert_line_has(p.c, "expired on");
    char year[8];
    time_t yesterday = time(NULL) - 24 * 3600;
    strftime(year, sizeof year, "%Y", gmtime(&yesterday));
    assert_line_has(p.c, year);
    assert_refused(&p.ss, "server");
    pair_close(&p);
}

FT_TEST(5, client_refuses_the_wrong_server_identity_naming_both, 2,
        "Identity check: a certificate from the mesh CA is not enough, it must name the expected identity "
        "(X509_VERIFY_PARAM_set1_host / SSL_set1_host); a mismatch fails with -EACCES and a line naming what the "
        "peer is and what was expected.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", TLS_API_ID, false), tls_ctx("ca", "web", NULL, true), 0);
    ck_assert_msg(p.cs.rc == -EACCES, "the client's handshake returned %d (%s), not -EACCES", p.cs.rc, px_tls_error(p.c));
    assert_line_has(p.c, TLS_WEB_ID);
    assert_line_has(p.c, TLS_API_ID);
    ck_assert_ptr_eq(px_tls_peer_identity(p.c), NULL);
    pair_close(&p);
}

FT_TEST(5, server_checks_the_client_identity_too, 2,
        "Identity check on the server side: with peer_identity set, the server also refuses a client certificate "
        "from the mesh CA that names someone else (-EACCES, both names in the line); the host check must be in the "
        "server context's verify parameters, or done on the client's SAN after the handshake.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "api", TLS_API_ID, true), 0);
    ck_assert_msg(p.ss.rc == -EACCES, "the server's handshake returned %d (%s), not -EACCES", p.ss.rc, px_tls_error(p.s));
    assert_line_has(p.s, TLS_WEB_ID);
    assert_line_has(p.s, TLS_API_ID);
    assert_refused(&p.cs, "client");
    pair_close(&p);
}

/* Runs a server session against a client written with OpenSSL directly from @p raw_ctx (taken); returns the
 * server's handshake result, its session in *server (the caller frees it), and closes the pair. */
static int raw_client_against(SSL_CTX *raw_ctx, px_tls_ctx *sctx, px_tls **server)
{
    int fds[2];
    tls_tcp_pair(fds, 0);
    SSL *raw = SSL_new(raw_ctx);
    ck_assert(raw != NULL && SSL_set_fd(raw, fds[0]) == 1);
    SSL_set_connect_state(raw);
    ck_assert_int_eq(px_tls_create(sctx, fds[1], server), 0);
    tls_side ss = tls_side_of(*server, fds[1]);
    bool raw_active = true;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd pfd[2] = {{.fd = -1}, {.fd = -1}};
        if (raw_active) {
            int r = SSL_do_handshake(raw), e = SSL_get_error(raw, r);
            raw_active = r != 1 && (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
            if (raw_active)
                pfd[0] = (struct pollfd){.fd = fds[0], .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        }
        if (ss.rc == -EAGAIN && (ss.rc = px_tls_handshake(*server)) == -EAGAIN) {
            uint32_t w = px_tls_wants(*server);
            pfd[1] = (struct pollfd){.fd = fds[1], .events = tls_poll_events(w)};
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = tls_deadline_ms() - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (ss.rc != -EAGAIN || left <= 0)
            break;
        ck_assert(poll(pfd, 2, (int)left) >= 0 || errno == EINTR);
    }
    SSL_free(raw);
    SSL_CTX_free(raw_ctx);
    close(fds[0]);
    close(fds[1]);
    return ss.rc;
}

static SSL_CTX *raw_client_ctx(void)
{
    SSL_CTX *raw = SSL_CTX_new(TLS_client_method());
    ck_assert(raw != NULL);
    ck_assert(SSL_CTX_load_verify_locations(raw, tls_file("ca.pem"), NULL) == 1);
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, NULL);
    return raw;
}

FT_TEST(5, server_refuses_a_client_without_a_certificate, 3,
        "Client certificate required: that is what makes TLS mutual. SSL_VERIFY_PEER alone lets a server accept a "
        "client that sends no certificate; add SSL_VERIFY_FAIL_IF_NO_PEER_CERT, and say \"no certificate\" in the "
        "line.")
{
    px_tls *server = NULL;
    px_tls_ctx *sctx = tls_ctx("ca", "api", NULL, true);
    int rc = raw_client_against(raw_client_ctx(), sctx, &server);
    ck_assert_msg(rc < 0 && rc != -EAGAIN, "a client without a certificate got a handshake result of %d (%s)", rc,
                  px_tls_error(server));
    assert_line_has(server, "no certificate");
    px_tls_free(server);
    px_tls_ctx_free(sctx);
}

FT_TEST(5, server_refuses_a_tls12_only_client, 1,
        "TLS 1.3 only, as rustls by default: set both the minimum and the maximum protocol version to "
        "TLS1_3_VERSION, so a TLS 1.2 client fails the handshake (-EPROTO, a line about the protocol version).")
{
    SSL_CTX *raw = raw_client_ctx();
    ck_assert(SSL_CTX_set_max_proto_version(raw, TLS1_2_VERSION) == 1);
    ck_assert(SSL_CTX_use_certificate_file(raw, tls_file("web.pem"), SSL_FILETYPE_PEM) == 1);
    ck_assert(SSL_CTX_use_PrivateKey_file(raw, tls_file("web.key"), SSL_FILETYPE_PEM) == 1);
    px_tls *server = NULL;
    px_tls_ctx *sctx = tls_ctx("ca", "api", NULL, true);
    int rc = raw_client_against(raw, sctx, &server);
    ck_assert_msg(rc == -EPROTO, "a TLS 1.2 client got a handshake result of %d (%s), not -EPROTO", rc,
                  px_tls_error(server));
    assert_line_has(server, "protocol");
    px_tls_free(server);
    px_tls_ctx_free(sctx);
}

FT_TEST(5, handshake_with_small_socket_buffers_waits_for_writable, 3,
        "WANT_WRITE is not WANT_READ: a flight larger than the socket buffers makes OpenSSL stop with "
        "SSL_ERROR_WANT_WRITE, and px_tls_wants() must then say PX_WRITABLE (waiting for readable hangs both sides). "
        "-EAGAIN always comes with a non-empty px_tls_wants().")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", TLS_WEB_ID, false), tls_ctx("ca", "big", NULL, true), 4096);
    assert_done(&p.cs, "client");
    assert_done(&p.ss, "server");
    ck_assert_msg(p.ss.want_writes >= 1,
                  "the server sent a 20 KiB certificate through 4 KiB buffers without "
                  "ever asking for PX_WRITABLE (%ld -EAGAINs)",
                  p.ss.eagains);
    ck_assert_str_eq(px_tls_peer_identity(p.c), TLS_WEB_ID);
    pair_close(&p);
}

/* The payload of the big transfer: bytes of a xorshift sequence, so any lost, doubled or moved record shows. */
static unsigned char *payload(size_t len)
{
    unsigned char *b = malloc(len);
    ck_assert(b != NULL);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        b[i] = (unsigned char)x;
    }
    return b;
}

/* The big transfer: one payload in two copies at different addresses, what has been sent and received. */
typedef struct transfer {
    unsigned char *copies[2], *got;
    size_t total, sent, received;
    long partial, again; /* writes that took less than asked; writes that returned -EAGAIN */
    int copy;            /* the copy the next write comes from */
} transfer;

/* Writes until the socket is full or all is sent; the retry after each -EAGAIN comes from the other copy (the same
 * bytes at another address, as from a relay that compacted its buffer). Returns whether any byte was taken. */
static bool pump_writer(tls_pair *p, transfer *x, struct pollfd *pfd)
{
    bool moved = false;
    while (x->sent < x->total) {
        long n = px_tls_write(p->c, x->copies[x->copy] + x->sent, x->total - x->sent);
        if (n == -EAGAIN) {
            x->again++;
            x->copy ^= 1;
            *pfd = (struct pollfd){.fd = p->fds[0], .events = tls_poll_events(px_tls_wants(p->c))};
            ck_assert_msg(pfd->events != 0, "px_tls_write returned -EAGAIN with px_tls_wants() = 0");
            return moved;
        }
        ck_assert_msg(n > 0, "px_tls_write returned %ld at byte %zu: %s", n, x->sent, px_tls_error(p->c));
        x->partial += (size_t)n < x->total - x->sent;
        x->sent += (size_t)n;
        moved = true;
    }
    return moved;
}

/* Reads until the socket is empty or all has arrived; returns whether any byte did. */
static bool pump_reader(tls_pair *p, transfer *x, struct pollfd *pfd)
{
    bool moved = false;
    while (x->received < x->total) {
        long n = px_tls_read(p->s, x->got + x->received, x->total - x->received);
        if (n == -EAGAIN) {
            *pfd = (struct pollfd){.fd = p->fds[1], .events = tls_poll_events(px_tls_wants(p->s))};
            return moved;
        }
        ck_assert_msg(n > 0, "px_tls_read returned %ld at byte %zu: %s", n, x->received, px_tls_error(p->s));
        x->received += (size_t)n;
        moved = true;
    }
    return moved;
}

FT_TEST(5, megabyte_write_arrives_intact_through_partial_writes, 3,
        "Partial writes: with SSL_MODE_ENABLE_PARTIAL_WRITE px_tls_write() returns what it took (less than asked when "
        "the socket fills), and with SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER a write retried after -EAGAIN may come from "
        "another copy of the bytes (a relay that compacts its buffer); waits follow px_tls_wants().")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "api", NULL, true), 16384);
    assert_done(&p.cs, "client");
    assert_done(&p.ss, "server");
    transfer x = {.total = 1u << 20};
    x.copies[0] = payload(x.total);
    x.copies[1] = payload(x.total);
    x.got = calloc(1, x.total);
    ck_assert(x.got != NULL);
    struct timespec last, now; /* the deadline is for a stall, not for the whole MiB */
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (x.received < x.total) {
        struct pollfd pfd[2] = {{.fd = -1}, {.fd = -1}};
        bool moved = pump_writer(&p, &x, &pfd[0]);
        if (pump_reader(&p, &x, &pfd[1]) || moved) {
            clock_gettime(CLOCK_MONOTONIC, &last);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = tls_deadline_ms() - ((now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000);
        ck_assert_msg(left > 0, "no progress for %d ms after %zu bytes written and %zu read", tls_deadline_ms(), x.sent,
                      x.received);
        ck_assert(poll(pfd, 2, (int)left) >= 0 || errno == EINTR);
    }
    ck_assert_msg(memcmp(x.got, x.copies[0], x.total) == 0, "the 1 MiB arrived, but not byte for byte");
    ck_assert_msg(x.again >= 1, "1 MiB went through 16 KiB socket buffers without one -EAGAIN");
    ck_assert_msg(x.partial >= 1,
                  "1 MiB through 16 KiB buffers was never taken in part: px_tls_write must report "
                  "partial writes (%ld -EAGAINs)",
                  x.again);
    free(x.copies[0]);
    free(x.copies[1]);
    free(x.got);
    pair_close(&p);
}
FT_TIMEOUT(megabyte_write_arrives_intact_through_partial_writes, 15);

FT_TEST(5, close_notify_reads_as_zero, 2,
        "close_notify: px_tls_shutdown() sends it and the peer's px_tls_read() returns 0 after the last byte "
        "(SSL_ERROR_ZERO_RETURN), the only clean end of a TLS stream.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "api", NULL, true), 0);
    assert_done(&p.cs, "client");
    tls_write_all(p.c, p.fds[0], "last words", 10);
    int rc;
    while ((rc = px_tls_shutdown(p.c)) == -EAGAIN)
        tls_wait(p.fds[0], px_tls_wants(p.c));
    ck_assert_msg(rc == 0, "px_tls_shutdown returned %d (%s)", rc, px_tls_error(p.c));
    char buf[16];
    tls_read_exactly(p.s, p.fds[1], buf, 10);
    ck_assert_int_eq(memcmp(buf, "last words", 10), 0);
    long n;
    while ((n = px_tls_read(p.s, buf, sizeof buf)) == -EAGAIN)
        tls_wait(p.fds[1], px_tls_wants(p.s));
    ck_assert_msg(n == 0, "after the peer's close_notify px_tls_read returned %ld (%s), not 0", n, px_tls_error(p.s));
    pair_close(&p);
}

FT_TEST(5, end_of_file_without_close_notify_is_a_truncation, 2,
        "Truncation: a TCP end of file without close_notify is not a clean end (an attacker can cut an HTTP body "
        "short); px_tls_read() returns -EPROTO for it, and 0 only after close_notify.")
{
    tls_pair p;
    pair_handshake(&p, tls_ctx("ca", "web", NULL, false), tls_ctx("ca", "api", NULL, true), 0);
    assert_done(&p.ss, "server");
    tls_write_all(p.c, p.fds[0], "partial", 7);
    ck_assert(shutdown(p.fds[0], SHUT_WR) == 0); /* a FIN, but no close_notify */
    char buf[16];
    tls_read_exactly(p.s, p.fds[1], buf, 7);
    long n;
    while ((n = px_tls_read(p.s, buf, sizeof buf)) == -EAGAIN)
        tls_wait(p.fds[1], px_tls_wants(p.s));
    ck_assert_msg(n == -EPROTO, "an end of file without close_notify read as %ld, not -EPROTO", n);
    pair_close(&p);
}

/* px_tls_ctx_create(@p cfg) must fail with @p want and a line containing @p file and @p words. */
static void assert_config_error(px_tls_config cfg, int want, const char *file, const char *words)
{
    char err[512] = "";
    px_tls_ctx *ctx = NULL;
    int rc = px_tls_ctx_create(&cfg, true, &ctx, err, sizeof err);
    ck_assert_msg(rc == want, "px_tls_ctx_create returned %d (%s), expected %d", rc, err, want);
    ck_assert_ptr_eq(ctx, NULL);
    ck_assert_msg(file == NULL || strstr(err, file) != NULL, "the error \"%s\" does not name %s", err, file);
    ck_assert_msg(strstr(err, words) != NULL, "the error \"%s\" does not say \"%s\"", err, words);
}

FT_TEST(5, config_errors_name_the_file_and_free_everything, 2,
        "Configuration errors: each file is opened and checked on its own, so the line says which field and path "
        "failed and why (-errno of the open, -EINVAL for no PEM), and everything made so far is freed on the way "
        "out (SSL_CTX_free, X509_free, EVP_PKEY_free).")
{
    px_tls_config cfg = tls_config("ca", "web", NULL);
    cfg.ca_file = "/nonexistent/ca.pem";
    assert_config_error(cfg, -ENOENT, "/nonexistent/ca.pem", "ca_file");
    cfg = tls_config("ca", "web", NULL);
    cfg.cert_file = "/nonexistent/web.pem";
    assert_config_error(cfg, -ENOENT, "/nonexistent/web.pem", "cert_file");
    cfg = tls_config("ca", "web", NULL);
    cfg.key_file = "/nonexistent/web.key";
    assert_config_error(cfg, -ENOENT, "/nonexistent/web.key", "key_file");
    cfg = tls_config("ca", "web", NULL);
    cfg.ca_file = tls_file("web.key"); /* a key where certificates should be */
    assert_config_error(cfg, -EINVAL, cfg.ca_file, "ca_file");
    cfg = tls_config("ca", "web", NULL);
    cfg.key_file = tls_file("ca.pem"); /* a certificate where the key should be */
    assert_config_error(cfg, -EINVAL, cfg.key_file, "key_file");
    cfg = tls_config("ca", "web", NULL);
    cfg.key_file = NULL;
    assert_config_error(cfg, -EINVAL, NULL, "key_file");
}

FT_TEST(5, key_that_does_not_match_the_certificate_is_refused, 2,
        "Key matches certificate: check the private key against the certificate (X509_check_private_key) when the "
        "context is made, and say \"does not match\"; a mismatch found only at the first handshake is a proxy that "
        "starts and then refuses every connection.")
{
    px_tls_config cfg = tls_config("ca", "web", NULL);
    cfg.key_file = tls_file("api.key");
    assert_config_error(cfg, -EINVAL, cfg.key_file, "does not match");
}
