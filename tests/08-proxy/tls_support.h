/*
 * Chapter 08 tests, part 5: a small public-key infrastructure made with libcrypto for the TLS tests, a loopback TCP
 * pair, and a driver that runs two non-blocking handshakes against each other with poll(2), waiting only for what
 * each side's px_tls_wants() asks.
 *
 * The files live in a fresh folder under $TMPDIR (or /tmp), made on first use in the test's process and removed when
 * it exits. Every key is EC P-256 (fast to make, also under Valgrind). What there is:
 *   - ca.pem: the mesh CA; other-ca.pem: an unrelated CA;
 *   - web.pem / web.key, api.pem / api.key: leaves of the mesh CA naming TLS_WEB_ID and TLS_API_ID;
 *   - expired.pem / expired.key: a mesh leaf for TLS_WEB_ID whose notAfter was a day ago;
 *   - rogue.pem / rogue.key: a leaf for TLS_WEB_ID issued by the unrelated CA;
 *   - big.pem / big.key: a mesh leaf for TLS_WEB_ID carrying hundreds of other DNS names (about 20 KiB), so that a
 *     handshake flight does not fit in small socket buffers.
 */
#ifndef FERRITE_PX_TLS_SUPPORT_H
#define FERRITE_PX_TLS_SUPPORT_H

#include "tls.h"

#include <stddef.h>

#define TLS_WEB_ID "web.ns.serviceaccount.identity.linkerd.cluster.local"
#define TLS_API_ID "api.ns.serviceaccount.identity.linkerd.cluster.local"

/** The path of the PKI file @p name ("ca.pem", "web.key"...), made on the first call; valid until the process ends.
 *  Fails the test when the files cannot be made. */
const char *tls_file(const char *name);

/** A configuration trusting @p ca ("ca": ca.pem) with the leaf @p leaf ("web": web.pem and web.key), expecting
 *  @p peer_identity (or NULL). */
px_tls_config tls_config(const char *ca, const char *leaf, const char *peer_identity);

/** A context made from tls_config(); fails the test (with the error line) when px_tls_ctx_create() does. */
px_tls_ctx *tls_ctx(const char *ca, const char *leaf, const char *peer_identity, bool server);

/** A connected loopback TCP pair, both ends non-blocking: fds[0] the client's, fds[1] the server's. With
 *  @p buf_bytes > 0, both ends' send and receive buffers are set that small before connecting. SIGPIPE is ignored
 *  from then on (OpenSSL writes with write(2)). */
void tls_tcp_pair(int fds[2], int buf_bytes);

/** One side of a handshake under the driver: the session, its fd, and what happened. */
typedef struct tls_side {
    px_tls *t;
    int fd;
    int rc;           /**< the last px_tls_handshake() result; -EAGAIN while unfinished */
    long eagains;     /**< how many -EAGAIN results */
    long want_writes; /**< how many of those asked for PX_WRITABLE */
} tls_side;

/** A side for session @p t on @p fd, not started. */
tls_side tls_side_of(px_tls *t, int fd);

/** Calls px_tls_handshake() on both sides and polls each for exactly what px_tls_wants() says, until neither
 *  returns -EAGAIN or a deadline (2 s times CK_TIMEOUT_MULTIPLIER) passes. Fails the test when a side returns -EAGAIN
 *  with px_tls_wants() empty (nothing could ever wake it). */
void tls_drive(tls_side *a, tls_side *b);

/** The deadline the driver uses, in milliseconds, for the tests' own loops. */
int tls_deadline_ms(void);

/** The poll(2) events for @p wants (PX_READABLE / PX_WRITABLE bits). */
short tls_poll_events(uint32_t wants);

/** Waits until @p fd is ready for @p wants (PX_READABLE / PX_WRITABLE bits) or the deadline; fails the test then. */
void tls_wait(int fd, uint32_t wants);

/** Reads from @p t until @p len bytes arrived in @p out, waiting as px_tls_wants() says; fails the test on an
 *  error or at the deadline. */
void tls_read_exactly(px_tls *t, int fd, void *out, size_t len);

/** Writes all @p len bytes to @p t, waiting as px_tls_wants() says (for small messages: the peer is not read). */
void tls_write_all(px_tls *t, int fd, const void *data, size_t len);

#endif
