/*
 * Chapter 08, part 5 through the program: two px-proxy instances meshed with mutual TLS, as linkerd2-proxy runs one
 * beside each pod. A client speaks plain TCP to proxy A; A originates mTLS (--tls-out-*, presenting the "web"
 * identity) to proxy B; B terminates it (--tls-in-*, presenting "api") and forwards plain TCP to a backend:
 *
 *     client --tcp--> A --mTLS--> B --tcp--> backend
 *
 * The tests check that bytes and half-closes cross the TLS hop exactly, that every kind of peer a mesh must refuse is
 * refused with one log line saying why (and costs no upstream connection and no descriptor), and, on the relay alone,
 * the two ways a TLS relay stalls or truncates a stream: bytes OpenSSL holds that epoll never announces, and a
 * half-close without close_notify. Certificates come from tls_support.h, made afresh in each test's process.
 */
#define _GNU_SOURCE
#include "relay.h"
#include "relay_support.h"
#include "support.h"
#include "tls_support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the mesh: client -> A -> B -> backend ------------------------------------------------------------------ */

typedef struct mesh {
    backend app;    /* the backend behind B */
    backend b_addr; /* B's listener as A's endpoint (only its port is used) */
    proxy a, b;
    char paths[8][600]; /* the certificate paths given to the proxies */
    char timeout[16];   /* --connect-timeout-ms for both */
} mesh;

/* The "--tls-in-*" (@p in) or "--tls-out-*" arguments for the leaf @p leaf ("web": web.pem and web.key) trusting
 * @p ca ("ca.pem"), expecting @p peer (NULL: any certificate from the CA), into @p argv; the paths are kept in
 * m->paths[slot .. slot + 2]. Returns how many arguments were written. */
static size_t tls_args(mesh *m, int slot, const char **argv, bool in, const char *ca, const char *leaf, const char *peer)
{
    static const char *const in_opts[] = {"--tls-in-ca", "--tls-in-cert", "--tls-in-key", "--tls-in-peer"};
    static const char *const out_opts[] = {"--tls-out-ca", "--tls-out-cert", "--tls-out-key", "--tls-out-peer"};
    const char *const *opt = in ? in_opts : out_opts;
    char name[64];
    snprintf(m->paths[slot], sizeof m->paths[0], "%s", tls_file(ca));
    snprintf(name, sizeof name, "%s.pem", leaf);
    snprintf(m->paths[slot + 1], sizeof m->paths[0], "%s", tls_file(name));
    snprintf(name, sizeof name, "%s.key", leaf);
    snprintf(m->paths[slot + 2], sizeof m->paths[0], "%s", tls_file(name));
    size_t k = 0;
    for (int i = 0; i < 3; i++) {
        argv[k++] = opt[i];
        argv[k++] = m->paths[slot + i];
    }
    if (peer != NULL) {
        argv[k++] = opt[3];
        argv[k++] = peer;
    }
    return k;
}

/* Handshakes have connect_timeout_ms as their deadline: 5 s (times CK_TIMEOUT_MULTIPLIER) leaves room on a loaded
 * machine. Arguments given after it win. */
static const char *handshake_timeout(mesh *m)
{
    const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
    snprintf(m->timeout, sizeof m->timeout, "%d", 5000 * (mult != NULL && atoi(mult) > 0 ? atoi(mult) : 1));
    return m->timeout;
}

/*
 * Starts B (in front of a backend of @p kind, presenting @p b_leaf, trusting @p b_ca, expecting @p b_peer) and A (in
 * front of B, presenting @p a_leaf, trusting the mesh CA, expecting @p a_peer). @p a_extra / @p b_extra: more
 * arguments (NULL-terminated, may be NULL).
 */
static void mesh_start(mesh *m, backend_kind kind, const char *a_leaf, const char *a_peer, const char *b_ca,
                       const char *b_leaf, const char *b_peer, const char *const *a_extra, const char *const *b_extra)
{
    memset(m, 0, sizeof *m);
    backend_start(&m->app, 1, kind);
    const char *argv[40] = {"--health-interval-ms", "0", "--connect-timeout-ms", handshake_timeout(m)};
    size_t k = 4 + tls_args(m, 4, argv + 4, true, b_ca, b_leaf, b_peer);
    for (size_t i = 0; b_extra != NULL && b_extra[i] != NULL; i++)
        argv[k++] = b_extra[i];
    argv[k] = NULL;
    backend *bs[] = {&m->app};
    proxy_start(&m->b, bs, 1, argv);

    m->b_addr.port = m->b.port;
    k = 4 + tls_args(m, 0, argv + 4, false, "ca.pem", a_leaf, a_peer);
    for (size_t i = 0; a_extra != NULL && a_extra[i] != NULL; i++)
        argv[k++] = a_extra[i];
    argv[k] = NULL;
    backend *as[] = {&m->b_addr};
    proxy_start(&m->a, as, 1, argv);
}

static void mesh_stop(mesh *m)
{
    proxy_stop(&m->a, 20000);
    proxy_stop(&m->b, 20000);
    backend_free(&m->app);
}

/* True when the peer closes @p fd (end of file or a reset) within @p ms without sending a byte. */
static bool closed_within(int fd, int ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)ms;
    char buf[256];
    while (ft_now_ms() < deadline) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, (int)(deadline - ft_now_ms())) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            return false;
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            return true;
    }
    return false;
}

static void assert_log_has(const proxy *p, const char *who, const char *text)
{
    if (proxy_log_has(p, text, 5000))
        return;
    char log[2048] = "";
    FILE *f = fopen(p->log, "r");
    if (f != NULL) {
        log[fread(log, 1, sizeof log - 1, f)] = '\0';
        fclose(f);
    }
    ck_abort_msg("%s's log does not say \"%s\" within 5 s; it holds:\n%s", who, text, log);
}

FT_TEST(5, mtls_chain_carries_bytes_exactly_both_ways, 3,
        "Client -> A (--tls-out-*) -> B (--tls-in-*) -> echo: A must run a client handshake on the connected "
        "endpoint socket and B a server handshake on the accepted one, each driven by the loop, then hand the "
        "verified px_tls to px_relay_start_tls(), which reads and writes through px_tls_read / px_tls_write.")
{
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    int fd = client_connect(m.a.port);
    ck_assert_msg(client_echo(fd, "ping through the mesh\n", 22, 10000),
                  "22 bytes sent through A and B to an echo backend did not come back within 10 s");
    size_t len = 1u << 20;
    unsigned char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    fill_random(data, len, 51);
    ck_assert_msg(client_echo(fd, data, len, 20000),
                  "1 MiB sent through A and B (mTLS between them) did not come back intact within 20 s");
    close(fd);
    free(data);
    ck_assert_uint_eq(m.app.shared->connections, 1);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_chain_carries_bytes_exactly_both_ways, 40);

FT_TEST(5, mtls_chain_carries_a_half_close_through_the_tls_hop, 3,
        "Half-close over TLS: when the client shuts down its write side, A must send close_notify (px_tls_shutdown) "
        "to B before its FIN; B reads that as end of file (px_tls_read returns 0) and shuts down the backend's write "
        "side. A bare FIN is a truncation to B (-EPROTO), which ends the relay and loses the answer.")
{
    mesh m;
    mesh_start(&m, BACKEND_COUNT, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    size_t len = 300000;
    unsigned char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    fill_random(data, len, 52);
    int fd = client_connect(m.a.port);
    ck_assert(client_send(fd, data, len, 10000));
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    char answer[64] = "", want[64];
    long n = client_read_all(fd, answer, sizeof answer - 1, 10000);
    ck_assert_msg(n > 0,
                  "no answer after the client's half-close (read gave %ld): did the end of file cross the TLS hop "
                  "as close_notify, and the answer come back?",
                  n);
    answer[n] = '\0';
    snprintf(want, sizeof want, "%zu %016llx\n", len, (unsigned long long)fnv1a64(data, len));
    ck_assert_str_eq(answer, want);
    close(fd);
    free(data);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_chain_carries_a_half_close_through_the_tls_hop, 40);

FT_TEST(5, mtls_chain_with_splice_copies_on_the_tls_sides, 1,
        "splice(2) moves what the socket holds, which on a TLS side is ciphertext: with --relay splice, a relay with "
        "a TLS side must copy through px_tls_read / px_tls_write (relay.h says PX_RELAY_SPLICE is taken as copy).")
{
    static const char *const splice[] = {"--relay", "splice", NULL};
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, splice, splice);
    size_t len = 256u << 10;
    unsigned char *data = malloc(len);
    ck_assert_ptr_nonnull(data);
    fill_random(data, len, 53);
    int fd = client_connect(m.a.port);
    ck_assert_msg(client_echo(fd, data, len, 20000),
                  "256 KiB through A and B started with --relay splice did not come back intact");
    close(fd);
    free(data);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_chain_with_splice_copies_on_the_tls_sides, 40);

FT_TEST(5, mtls_refuses_a_peer_certificate_from_another_ca, 2,
        "The mesh CA is the only trust anchor: A must refuse B's certificate issued by another CA, log one line "
        "\"tls to <endpoint> refused: <px_tls_error()>\" and close the client (after its attempts), never relay.")
{
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", NULL, "ca.pem", "rogue", TLS_WEB_ID, NULL, NULL);
    int fd = client_connect(m.a.port);
    ck_assert(client_send(fd, "hello\n", 6, 5000));
    ck_assert_msg(closed_within(fd, 10000), "A did not close the client whose only endpoint it refused");
    close(fd);
    char line[128];
    snprintf(line, sizeof line, "tls to 127.0.0.1:%u refused: peer certificate is not from the mesh CA", m.b.port);
    assert_log_has(&m.a, "A", line);
    ck_assert_uint_eq(m.app.shared->connections, 0);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_refuses_a_peer_certificate_from_another_ca, 40);

FT_TEST(5, mtls_refuses_an_expired_client_certificate, 2,
        "B verifies its client too (mutual TLS): A presenting an expired certificate must be refused by B's server "
        "handshake, logged as \"tls from IP:PORT refused: peer certificate expired on ...\", and B must not connect "
        "to its backend for it.")
{
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "expired", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    int fd = client_connect(m.a.port);
    ck_assert(client_send(fd, "hello\n", 6, 5000));
    ck_assert_msg(closed_within(fd, 10000), "the client of a refused mesh connection was not closed within 10 s");
    close(fd);
    assert_log_has(&m.b, "B", "tls from 127.0.0.1:");
    assert_log_has(&m.b, "B", "refused: peer certificate expired on ");
    ck_assert_uint_eq(m.app.shared->connections, 0);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_refuses_an_expired_client_certificate, 40);

FT_TEST(5, mtls_refuses_the_wrong_identity_naming_both, 2,
        "--tls-out-peer names the identity the endpoint must prove: A expecting api's identity must refuse B "
        "presenting web's (same CA) and log both names from px_tls_error().")
{
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "api", TLS_API_ID, "ca.pem", "web", NULL, NULL, NULL);
    int fd = client_connect(m.a.port);
    ck_assert(client_send(fd, "hello\n", 6, 5000));
    ck_assert_msg(closed_within(fd, 10000), "A did not close the client whose only endpoint has the wrong identity");
    close(fd);
    assert_log_has(&m.a, "A", "refused: peer identity is " TLS_WEB_ID ", expected " TLS_API_ID);
    ck_assert_uint_eq(m.app.shared->connections, 0);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_refuses_the_wrong_identity_naming_both, 40);

FT_TEST(5, mtls_refuses_a_plain_client_before_any_connect, 2,
        "With --tls-in-*, the server handshake comes first, before any endpoint is picked: a client speaking plain "
        "TCP straight to B must be refused with a log line and closed, and B must never connect to its backend.")
{
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    int fd = client_connect(m.b.port);
    const char *plain = "GET / HTTP/1.1\r\nHost: api\r\n\r\n";
    ck_assert(client_send(fd, plain, strlen(plain), 5000));
    ck_assert_msg(closed_within(fd, 10000), "B did not close a client that does not speak TLS");
    close(fd);
    assert_log_has(&m.b, "B", "tls from 127.0.0.1:");
    assert_log_has(&m.b, "B", "refused: not TLS");
    ck_assert_msg(m.app.shared->connections == 0,
                  "B connected to its backend for a client that never completed a handshake");
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_refuses_a_plain_client_before_any_connect, 40);

FT_TEST(5, mtls_handshake_has_a_deadline, 2,
        "A handshake is driven by the loop with a deadline (connect_timeout_ms): a client that connects and sends "
        "nothing must be closed when it passes, with a log line, or idle sockets pile up until the fds run out.")
{
    static const char *const quick[] = {"--connect-timeout-ms", "300", NULL};
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, quick);
    int fd = client_connect(m.b.port);
    uint64_t t0 = ft_now_ms();
    ck_assert_msg(closed_within(fd, 10000), "B kept a silent client open for 10 s with --connect-timeout-ms 300");
    uint64_t took = ft_now_ms() - t0;
    ck_assert_msg(took >= 250, "B closed the silent client after %llu ms, before its 300 ms deadline",
                  (unsigned long long)took);
    close(fd);
    assert_log_has(&m.b, "B", "refused: handshake not done after 300 ms");
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_handshake_has_a_deadline, 40);

/* One TLS client to @p port with @p ctx that B refuses (or that refuses B): runs its handshake and, when that ends
 * well (TLS 1.3: before the server's verdict), reads until the refusal arrives. */
static void refused_tls_client(uint16_t port, px_tls_ctx *ctx)
{
    int fd = client_connect(port);
    ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
    px_tls *t;
    ck_assert_int_eq(px_tls_create(ctx, fd, &t), 0);
    int rc;
    while ((rc = px_tls_handshake(t)) == -EAGAIN)
        tls_wait(fd, px_tls_wants(t));
    char byte;
    long n = rc;
    while (rc == 0 && (n = px_tls_read(t, &byte, 1)) == -EAGAIN)
        tls_wait(fd, px_tls_wants(t));
    ck_assert_msg(n < 0, "a TLS client B should refuse read %ld from it", n);
    px_tls_free(t);
    close(fd);
}

FT_TEST(5, mtls_leaks_no_fd_over_200_refused_clients, 2,
        "Every refused handshake must free its px_tls, unwatch, cancel its deadline and close the client (in that "
        "order: a session borrows its fd): count the paths of the server handshake's end (refused by us, by the "
        "client's alert, the client gone mid-handshake).")
{
    signal(SIGPIPE, SIG_IGN);
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", TLS_API_ID, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    int before = proxy_fds(&m.b);
    px_tls_ctx *rogue = tls_ctx("ca", "rogue", NULL, false);          /* B refuses its certificate */
    px_tls_ctx *stranger = tls_ctx("other-ca", "rogue", NULL, false); /* it refuses B's */
    for (int i = 0; i < 200; i++) {
        if (i % 4 == 0) {
            refused_tls_client(m.b.port, rogue);
        } else if (i % 4 == 1) {
            refused_tls_client(m.b.port, stranger);
        } else {
            int fd = client_connect(m.b.port);
            if (i % 4 == 2)
                ck_assert(client_send(fd, "plain text\r\n\r\n", 14, 5000));
            close(fd); /* gone in the middle of the handshake */
        }
    }
    px_tls_ctx_free(rogue);
    px_tls_ctx_free(stranger);
    int after = proxy_wait_fds(&m.b, before, 10000);
    ck_assert_msg(after == before, "B had %d fds open before 200 refused clients and %d after", before, after);
    ck_assert_uint_eq(m.app.shared->connections, 0);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_leaks_no_fd_over_200_refused_clients, 60);

FT_TEST(5, mtls_endpoint_with_a_foreign_certificate_is_retried_elsewhere, 2,
        "A failed outbound handshake is an endpoint failure, like a refused connect: report it "
        "(px_endpoint_report), close that socket and let the session try another pick; only a client whose "
        "attempts all failed is closed.")
{
    /* B's twin in front of the same backend, presenting a certificate from another CA. */
    mesh m;
    mesh_start(&m, BACKEND_ECHO, "web", NULL, "ca.pem", "api", TLS_WEB_ID, NULL, NULL);
    proxy twin;
    mesh *tm = calloc(1, sizeof *tm);
    ck_assert_ptr_nonnull(tm);
    const char *argv[16] = {"--health-interval-ms", "0", "--connect-timeout-ms", handshake_timeout(tm)};
    size_t k = 4 + tls_args(tm, 4, argv + 4, true, "ca.pem", "rogue", NULL);
    argv[k] = NULL;
    backend *bs[] = {&m.app};
    proxy_start(&twin, bs, 1, argv);
    backend twin_addr = {.port = twin.port};
    backend *as[] = {&twin_addr, &m.b_addr};
    proxy a;
    const char *a_argv[20] = {"--health-interval-ms", "0",        "--balancer", "round-robin",
                              "--connect-timeout-ms", tm->timeout};
    k = 6 + tls_args(tm, 0, a_argv + 6, false, "ca.pem", "web", NULL);
    a_argv[k] = NULL;
    proxy_start(&a, as, 2, a_argv);
    for (int i = 0; i < 4; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "client %d\n", i);
        int fd = client_connect(a.port);
        ck_assert_msg(client_echo(fd, msg, (size_t)len, 10000),
                      "client %d of 4 got no echo: one of A's two endpoints presents a foreign certificate, the "
                      "other is good",
                      i);
        close(fd);
    }
    char line[128];
    snprintf(line, sizeof line, "tls to 127.0.0.1:%u refused: ", twin.port);
    assert_log_has(&a, "A", line);
    proxy_stop(&a, 20000);
    proxy_stop(&twin, 20000);
    free(tm);
    mesh_stop(&m);
}
FT_TIMEOUT(mtls_endpoint_with_a_foreign_certificate_is_retried_elsewhere, 60);

/* ---- the relay alone: a TLS client side, a plain upstream ---------------------------------------------------- */

typedef struct tls_rig {
    px_loop *loop;
    px_tls_ctx *cctx, *sctx;
    px_tls *peer; /* the test's TLS end, playing the meshed proxy */
    int peer_fd;  /* its socket */
    px_relay *relay;
    int upstream; /* the test's plain end, playing the upstream */
    int calls;    /* done callbacks */
    px_relay_stats stats;
} tls_rig;

static void rig_done(void *ctx, const px_relay_stats *stats)
{
    tls_rig *g = ctx;
    g->calls++;
    g->stats = *stats;
}

/* A verified TLS pair and a plain pair; the relay gets the server session and the plain socket. */
static void rig_start(tls_rig *g, size_t buffer)
{
    *g = (tls_rig){0};
    signal(SIGPIPE, SIG_IGN);
    ck_assert_int_eq(px_loop_create(&g->loop), 0);
    g->cctx = tls_ctx("ca", "web", TLS_API_ID, false);
    g->sctx = tls_ctx("ca", "api", TLS_WEB_ID, true);
    int fds[2], up[2];
    tls_tcp_pair(fds, 0);
    rs_tcp_pair(up, 0);
    px_tls *server;
    ck_assert_int_eq(px_tls_create(g->cctx, fds[0], &g->peer), 0);
    ck_assert_int_eq(px_tls_create(g->sctx, fds[1], &server), 0);
    tls_side a = tls_side_of(g->peer, fds[0]), b = tls_side_of(server, fds[1]);
    tls_drive(&a, &b);
    ck_assert_msg(a.rc == 0 && b.rc == 0, "handshake: %s / %s", px_tls_error(g->peer), px_tls_error(server));
    g->peer_fd = fds[0];
    g->upstream = up[1];
    int rc = px_relay_start_tls(g->loop, fds[1], server, up[0], NULL, PX_RELAY_COPY, buffer, rig_done, g, &g->relay);
    ck_assert_msg(rc == 0, "px_relay_start_tls returned %d", rc);
}

static void rig_end(tls_rig *g)
{
    size_t watches = 1, timers = 1;
    px_loop_counts(g->loop, &watches, &timers);
    ck_assert_msg(watches == 0 && timers == 0, "the loop holds %zu watches and %zu timers of an ended relay", watches,
                  timers);
    px_tls_free(g->peer);
    close(g->peer_fd);
    close(g->upstream);
    px_tls_ctx_free(g->cctx);
    px_tls_ctx_free(g->sctx);
    px_loop_destroy(g->loop);
}

/* Runs the loop while reading the upstream end, until @p len bytes or end of file arrived or the deadline passed.
 * Returns the count; *eof tells whether end of file came. */
static size_t upstream_read(tls_rig *g, void *buf, size_t len, bool *eof)
{
    uint64_t deadline = rs_now_ms() + (uint64_t)tls_deadline_ms();
    size_t got = 0;
    *eof = false;
    while (got < len && !*eof && rs_now_ms() < deadline) {
        ck_assert_int_ge(px_loop_run_once(g->loop, 5), 0);
        ssize_t r = recv(g->upstream, (char *)buf + got, len - got, MSG_DONTWAIT);
        ck_assert_msg(r >= 0 || errno == EAGAIN, "the upstream's recv failed: %s", strerror(errno));
        if (r > 0)
            got += (size_t)r;
        *eof = r == 0;
    }
    return got;
}

/* Runs the loop until the peer's px_tls_read gives something other than -EAGAIN, or the deadline passes. */
static long peer_read(tls_rig *g, void *buf, size_t len)
{
    uint64_t deadline = rs_now_ms() + (uint64_t)tls_deadline_ms();
    long n;
    while ((n = px_tls_read(g->peer, buf, len)) == -EAGAIN && rs_now_ms() < deadline)
        ck_assert_int_ge(px_loop_run_once(g->loop, 5), 0);
    return n;
}

FT_TEST(5, mtls_relay_reads_what_openssl_holds_after_backpressure, 3,
        "SSL_pending: OpenSSL takes a whole TLS record (up to 16 KiB) off the socket and hands it out as asked; the "
        "rest of it is in OpenSSL, not in the kernel, so epoll never reports it. With a 1000-byte relay buffer, a TLS "
        "source must be read again as soon as the sink made room (and until px_tls_read says -EAGAIN), not when "
        "epoll next says readable.")
{
    tls_rig g;
    rig_start(&g, 1000);
    enum { LEN = 20000 }; /* one full record and a short one: the short one is the last thing the kernel holds */
    static uint8_t data[LEN], got[LEN + 1];
    rs_fill(data, LEN, 54);
    tls_write_all(g.peer, g.peer_fd, data, LEN);
    bool eof;
    size_t n = upstream_read(&g, got, LEN, &eof);
    ck_assert_msg(n == LEN,
                  "the upstream received %zu of %d bytes within %d ms, then nothing: the rest was decrypted and held "
                  "by OpenSSL while the relay waited for an epoll event that never comes",
                  n, LEN, tls_deadline_ms());
    ck_assert_msg(memcmp(got, data, LEN) == 0, "the bytes the upstream received differ from those sent");
    ck_assert_int_eq(g.calls, 0);
    px_relay_abort(g.relay);
    rig_end(&g);
}
FT_TIMEOUT(mtls_relay_reads_what_openssl_holds_after_backpressure, 20);

FT_TEST(5, mtls_relay_half_close_sends_close_notify_both_ways, 2,
        "Half-close on a TLS side: the peer's close_notify reads as 0 from px_tls_read (end of file: shutdown the "
        "upstream's write side), and the upstream's end of file must go to the peer as close_notify "
        "(px_tls_shutdown) before the FIN; a bare FIN reads as a truncation (-EPROTO) at the peer.")
{
    tls_rig g;
    rig_start(&g, 0);
    tls_write_all(g.peer, g.peer_fd, "request", 7);
    int rc;
    while ((rc = px_tls_shutdown(g.peer)) == -EAGAIN)
        tls_wait(g.peer_fd, px_tls_wants(g.peer));
    ck_assert_int_eq(rc, 0);
    char buf[64];
    bool eof;
    size_t n = upstream_read(&g, buf, sizeof buf, &eof);
    ck_assert_msg(n == 7 && memcmp(buf, "request", 7) == 0, "the upstream received %zu bytes, not \"request\"", n);
    ck_assert_msg(eof,
                  "the peer sent close_notify, yet the upstream read no end of file: a px_tls_read of 0 is the "
                  "TLS side's end of file");
    /* The other direction is still open: the answer goes back, then the upstream's own end of file. */
    ck_assert_int_eq(send(g.upstream, "answer", 6, MSG_NOSIGNAL), 6);
    ck_assert_int_eq(shutdown(g.upstream, SHUT_WR), 0);
    long got = peer_read(&g, buf, sizeof buf);
    ck_assert_msg(got == 6 && memcmp(buf, "answer", 6) == 0, "the peer read %ld (%s), not \"answer\"", got,
                  got < 0 ? px_tls_error(g.peer) : "");
    got = peer_read(&g, buf, sizeof buf);
    ck_assert_msg(got == 0,
                  "after the upstream's end of file the peer read %ld (%s), not 0: close_notify must go out before "
                  "the FIN",
                  got, got < 0 ? px_tls_error(g.peer) : "");
    uint64_t deadline = rs_now_ms() + (uint64_t)tls_deadline_ms();
    while (g.calls == 0 && rs_now_ms() < deadline)
        ck_assert_int_ge(px_loop_run_once(g.loop, 5), 0);
    ck_assert_msg(g.calls == 1, "both directions ended cleanly, yet the relay did not call done");
    ck_assert_int_eq(g.stats.error, 0);
    ck_assert_uint_eq(g.stats.bytes_up, 7);
    ck_assert_uint_eq(g.stats.bytes_down, 6);
    rig_end(&g);
}
FT_TIMEOUT(mtls_relay_half_close_sends_close_notify_both_ways, 20);
