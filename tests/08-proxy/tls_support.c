/*
 * Chapter 08 tests, part 5: the test PKI, a loopback pair and the handshake driver (tls_support.h).
 */
#define _GNU_SOURCE
#include "tls_support.h"

#include "ferrite_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the PKI --------------------------------------------------------------------------------------------- */

#define DAY (24L * 3600)

/* The PKI is made once, in the runner before the first test forks (FT_SETUP), and shared read-only by every test's
 * process; a test run alone without the runner makes its own. It is removed when the process that made it exits. */
static char pki_dir[PATH_MAX];
static char pki_paths[16][PATH_MAX + 32];
static int pki_count;
static pid_t pki_owner;
static char pki_error[256]; /* why the PKI could not be made, for the tests to fail with */

static void pki_remove(void)
{
    if (getpid() != pki_owner) /* a forked test inherits the handler, not the folder */
        return;
    for (int i = 0; i < pki_count; i++)
        unlink(pki_paths[i]);
    rmdir(pki_dir);
}

/* The setup runs outside any test, where ck_assert cannot report: a failed step is recorded and unwinds. */
static bool pki_fail(const char *what, int line)
{
    if (pki_error[0] == '\0')
        snprintf(pki_error, sizeof pki_error, "making the test PKI: %s failed (tls_support.c:%d)", what, line);
    return false;
}
#define PKI_CHECK(cond_)                       \
    do {                                       \
        if (!(cond_))                          \
            return pki_fail(#cond_, __LINE__); \
    } while (0)

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
    PKI_CHECK(ext != NULL);
    bool added = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    PKI_CHECK(added);
    return true;
}

/* Fills @p x with a certificate for @p key named @p cn, valid from @p from_s to @p to_s seconds from now, signed by
 * @p issuer_key (self-signed when @p issuer is NULL): a CA when @p dns is NULL, else a leaf with @p dns as its
 * subjectAltName. */
static bool fill_cert(X509 *x, EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long from_s, long to_s,
                      const char *dns)
{
    static long serial = 1;
    PKI_CHECK(X509_set_version(x, 2) == 1); /* v3, for extensions */
    PKI_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++) == 1);
    PKI_CHECK(X509_gmtime_adj(X509_getm_notBefore(x), from_s) != NULL);
    PKI_CHECK(X509_gmtime_adj(X509_getm_notAfter(x), to_s) != NULL);
    PKI_CHECK(X509_set_pubkey(x, key) == 1);
    X509_NAME *name = X509_get_subject_name(x);
    PKI_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) == 1);
    PKI_CHECK(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1);
    X509 *signer = issuer ? issuer : x;
    if (dns == NULL) {
        PKI_CHECK(add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE"));
        PKI_CHECK(add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign"));
    } else {
        PKI_CHECK(add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE"));
        PKI_CHECK(add_ext(x, signer, NID_key_usage, "critical,digitalSignature"));
        PKI_CHECK(add_ext(x, signer, NID_ext_key_usage, "serverAuth,clientAuth"));
        PKI_CHECK(add_ext(x, signer, NID_subject_alt_name, dns));
    }
    PKI_CHECK(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return true;
}

static bool write_file(const char *name, const char *ext, X509 *cert, EVP_PKEY *key)
{
    PKI_CHECK(pki_count < 16);
    char *path = pki_paths[pki_count];
    int n = snprintf(path, sizeof pki_paths[0], "%s/%s.%s", pki_dir, name, ext);
    PKI_CHECK(n > 0 && (size_t)n < sizeof pki_paths[0]);
    FILE *f = fopen(path, "w");
    PKI_CHECK(f != NULL);
    pki_count++;
    bool written = key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1 : PEM_write_X509(f, cert) == 1;
    PKI_CHECK(fclose(f) == 0 && written);
    return true;
}

/* A certificate (and, for a leaf, a new key): name.pem and name.key. A CA's key is handed back in *ca_key and its
 * certificate in *ca_cert, for signing leaves; a leaf's are freed. */
static bool make(const char *name, const char *dns, X509 *issuer, EVP_PKEY *issuer_key, long from_s, long to_s,
                 X509 **ca_cert, EVP_PKEY **ca_key)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    bool ok = key != NULL && cert != NULL && fill_cert(cert, key, name, issuer, issuer_key, from_s, to_s, dns) &&
              write_file(name, "pem", cert, NULL) && (ca_key != NULL || write_file(name, "key", NULL, key));
    if (ok && ca_key != NULL) {
        *ca_cert = cert;
        *ca_key = key;
        return true;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    PKI_CHECK(ok);
    return true;
}

/* The mesh CA, an unrelated CA and the leaves listed in tls_support.h. */
static bool pki_make(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(pki_dir, sizeof pki_dir, "%s/ferrite-ch08-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    PKI_CHECK(mkdtemp(pki_dir) != NULL);
    pki_owner = getpid();
    atexit(pki_remove);

    /* 320 extra names of 61 bytes: the certificate alone is larger than the small socket buffers of the tests. */
    static char names[32 * 1024];
    size_t used = (size_t)snprintf(names, sizeof names, "DNS:%s", TLS_WEB_ID);
    for (int i = 0; i < 320; i++)
        used += (size_t)snprintf(names + used, sizeof names - used,
                                 ",DNS:extra-%03d.ns.serviceaccount.identity.linkerd.local", i);
    PKI_CHECK(used < sizeof names);

    X509 *ca = NULL, *other = NULL;
    EVP_PKEY *ca_key = NULL, *other_key = NULL;
    bool ok = make("ca", NULL, NULL, NULL, -DAY, 365 * DAY, &ca, &ca_key) &&
              make("other-ca", NULL, NULL, NULL, -DAY, 365 * DAY, &other, &other_key) &&
              make("web", "DNS:" TLS_WEB_ID, ca, ca_key, -3600, DAY, NULL, NULL) &&
              make("api", "DNS:" TLS_API_ID, ca, ca_key, -3600, DAY, NULL, NULL) &&
              make("expired", "DNS:" TLS_WEB_ID, ca, ca_key, -30 * DAY, -DAY, NULL, NULL) &&
              make("rogue", "DNS:" TLS_WEB_ID, other, other_key, -3600, DAY, NULL, NULL) &&
              make("big", names, ca, ca_key, -3600, DAY, NULL, NULL);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    return ok;
}

/* Also loads libssl's configuration and providers here, once, instead of in every test's process. */
static void pki_setup(void)
{
    OPENSSL_init_ssl(0, NULL);
    (void)pki_make();
}
FT_SETUP(pki_setup, 5);

const char *tls_file(const char *name)
{
    if (pki_count == 0 && pki_error[0] == '\0')
        (void)pki_make(); /* a test run without the runner's setup */
    ck_assert_msg(pki_error[0] == '\0', "%s", pki_error);
    for (int i = 0; i < pki_count; i++) {
        const char *slash = strrchr(pki_paths[i], '/');
        if (strcmp(slash + 1, name) == 0)
            return pki_paths[i];
    }
    ck_abort_msg("no PKI file %s", name);
    return NULL;
}

px_tls_config tls_config(const char *ca, const char *leaf, const char *peer_identity)
{
    char ca_pem[64], cert[64], key[64];
    snprintf(ca_pem, sizeof ca_pem, "%s.pem", ca);
    snprintf(cert, sizeof cert, "%s.pem", leaf);
    snprintf(key, sizeof key, "%s.key", leaf);
    return (px_tls_config){.ca_file = tls_file(ca_pem),
                           .cert_file = tls_file(cert),
                           .key_file = tls_file(key),
                           .peer_identity = peer_identity};
}

px_tls_ctx *tls_ctx(const char *ca, const char *leaf, const char *peer_identity, bool server)
{
    px_tls_config cfg = tls_config(ca, leaf, peer_identity);
    char err[256] = "";
    px_tls_ctx *ctx = NULL;
    int rc = px_tls_ctx_create(&cfg, server, &ctx, err, sizeof err);
    ck_assert_msg(rc == 0 && ctx != NULL, "px_tls_ctx_create(%s, %s) returned %d: %s", ca, leaf, rc, err);
    return ctx;
}

/* ---- sockets and driving --------------------------------------------------------------------------------- */

static void set_buffers(int fd, int bytes)
{
    if (bytes <= 0)
        return;
    ck_assert(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) == 0);
    ck_assert(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
}

void tls_tcp_pair(int fds[2], int buf_bytes)
{
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert(lfd >= 0);
    set_buffers(lfd, buf_bytes); /* an accepted socket inherits the listener's buffers */
    ck_assert(bind(lfd, (struct sockaddr *)&addr, sizeof addr) == 0);
    ck_assert(listen(lfd, 1) == 0);
    ck_assert(getsockname(lfd, (struct sockaddr *)&addr, &len) == 0);
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert(fds[0] >= 0);
    set_buffers(fds[0], buf_bytes);
    ck_assert_msg(connect(fds[0], (struct sockaddr *)&addr, sizeof addr) == 0, "connect: %s", strerror(errno));
    fds[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    ck_assert(fds[1] >= 0);
    close(lfd);
    int one = 1;
    for (int i = 0; i < 2; i++) {
        ck_assert(fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) == 0);
        ck_assert(setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    }
}

int tls_deadline_ms(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    int mult = m ? atoi(m) : 1;
    return 2000 * (mult > 0 ? mult : 1);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

short tls_poll_events(uint32_t wants)
{
    return (short)(((wants & PX_READABLE) ? POLLIN : 0) | ((wants & PX_WRITABLE) ? POLLOUT : 0));
}

tls_side tls_side_of(px_tls *t, int fd) { return (tls_side){.t = t, .fd = fd, .rc = -EAGAIN}; }

static void step(tls_side *s, struct pollfd *pfd)
{
    pfd->fd = -1; /* poll(2) skips a negative fd */
    if (s->rc != -EAGAIN)
        return;
    s->rc = px_tls_handshake(s->t);
    if (s->rc != -EAGAIN)
        return;
    uint32_t wants = px_tls_wants(s->t);
    ck_assert_msg(wants & (PX_READABLE | PX_WRITABLE), "px_tls_handshake returned -EAGAIN with px_tls_wants() = 0");
    s->eagains++;
    if (wants & PX_WRITABLE)
        s->want_writes++;
    *pfd = (struct pollfd){.fd = s->fd, .events = tls_poll_events(wants)};
}

void tls_drive(tls_side *a, tls_side *b)
{
    long deadline = now_ms() + tls_deadline_ms();
    for (;;) {
        struct pollfd pfd[2];
        step(a, &pfd[0]);
        step(b, &pfd[1]);
        long left = deadline - now_ms();
        if ((a->rc != -EAGAIN && b->rc != -EAGAIN) || left <= 0)
            return;
        int n = poll(pfd, 2, (int)left);
        ck_assert(n >= 0 || errno == EINTR);
    }
}

void tls_wait(int fd, uint32_t wants)
{
    struct pollfd pfd = {.fd = fd, .events = tls_poll_events(wants)};
    ck_assert_msg(pfd.events != 0, "-EAGAIN with px_tls_wants() = 0: nothing to wait for");
    int n = poll(&pfd, 1, tls_deadline_ms());
    ck_assert_msg(n == 1, "waited %d ms for %s and it did not come", tls_deadline_ms(),
                  wants & PX_WRITABLE ? "writable" : "readable");
}

void tls_read_exactly(px_tls *t, int fd, void *out, size_t len)
{
    size_t got = 0;
    while (got < len) {
        long n = px_tls_read(t, (char *)out + got, len - got);
        if (n == -EAGAIN) {
            tls_wait(fd, px_tls_wants(t));
            continue;
        }
        ck_assert_msg(n > 0, "px_tls_read returned %ld after %zu of %zu bytes: %s", n, got, len, px_tls_error(t));
        got += (size_t)n;
    }
}

void tls_write_all(px_tls *t, int fd, const void *data, size_t len)
{
    size_t put = 0;
    while (put < len) {
        long n = px_tls_write(t, (const char *)data + put, len - put);
        if (n == -EAGAIN) {
            tls_wait(fd, px_tls_wants(t));
            continue;
        }
        ck_assert_msg(n > 0, "px_tls_write returned %ld after %zu of %zu bytes: %s", n, put, len, px_tls_error(t));
        put += (size_t)n;
    }
}
