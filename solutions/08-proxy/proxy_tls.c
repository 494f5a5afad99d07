/*
 * Chapter 08, reference solution, part 5: mutual TLS between two px-proxy instances, as linkerd2-proxy meshes its
 * pods. A proxy with --tls-in-* terminates mTLS from its clients (the peer proxy), one with --tls-out-* originates
 * it to its endpoints; the relay then moves plaintext on the proxy's side and ciphertext on the wire.
 *
 * Order of events for one client, both sides on:
 *   accept -> server handshake with the client (deadline) -> pick, connect (deadline) -> client handshake with the
 *   endpoint (deadline) -> endpoint reported healthy -> relay owns both sockets and both TLS sessions.
 * The inbound handshake comes before any endpoint is picked: a client that is not a verified peer costs no upstream
 * connection and no slot in the balancer's in-flight count. The outbound handshake counts as part of reaching the
 * endpoint: an endpoint with the wrong certificate is a failed endpoint (reported to its breaker and retried on
 * another pick, as a refused connect), not a failed client.
 *
 * TLS 1.3 ordering (tls.h): a client's handshake ends before its server has checked the client's certificate, so a
 * peer that refuses *our* certificate is learnt by the relay's first read (-EPROTO, logged as the connection's end),
 * not here; the refusing side logs the reason.
 *
 * Per-session state lives in `struct tls_state`, on the proxy's list p->tls_states from the first handshake until the
 * relay takes the TLS sessions (or the session closes). One thread: the loop's.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct tls_state tls_state;
struct tls_state {
    tls_state *next, *prev;         /* the proxy's list (p->tls_states) */
    px_session *s;                  /* the session this belongs to */
    px_tls *client;                 /* owned: the client's verified session (tls_in), or NULL */
    px_tls *upstream;               /* owned: the endpoint's verified session (tls_out), or NULL */
    px_tls *hs;                     /* owned: the session whose handshake runs now, or NULL */
    bool inbound;                   /* hs is the client's (server side) rather than the endpoint's */
    bool peeked;                    /* inbound: the client's first byte was looked at */
    char from[64];                  /* inbound: the client's address for the log (read while it is connected) */
    int fd;                         /* the endpoint's socket while its handshake runs (owned here then), else -1 */
    px_watch watch;                 /* hs's socket, watched for what px_tls_wants() says */
    px_timer deadline;              /* connect_timeout_ms for each handshake */
    void (*next_in)(px_session *s); /* where a verified client goes on */
    px_connect_fn *next_out;        /* where a verified (or refused) endpoint connection goes on */
};

/* ---- contexts -------------------------------------------------------------------------------------------- */

static bool side_set(const px_tls_side *side) { return side->ca_file || side->cert_file || side->key_file; }

/* A side with any of its files set is on; px_tls_ctx_create() then says which file is missing or wrong. */
static int load_side(const char *name, const px_tls_side *side, bool server, px_tls_ctx **out, char *err, size_t err_len)
{
    if (!side_set(side))
        return 0;
    px_tls_config cfg = {.ca_file = side->ca_file,
                         .cert_file = side->cert_file,
                         .key_file = side->key_file,
                         .peer_identity = side->peer_identity};
    char why[256] = "";
    int rc = px_tls_ctx_create(&cfg, server, out, why, sizeof why);
    if (rc < 0)
        snprintf(err, err_len, "--%s-*: %s", name, why);
    return rc;
}

int px_tls_proxy_setup(px_proxy *p, const px_options *opts, char *err, size_t err_len)
{
    /* http mode pools upstream connections and parses bytes itself: TLS there is more than a relay's business. */
    if (opts->mode == PX_MODE_HTTP && (side_set(&opts->tls_in) || side_set(&opts->tls_out))) {
        snprintf(err, err_len, "--tls-in-* and --tls-out-* work in tcp mode only");
        return -EINVAL;
    }
    int rc = load_side("tls-in", &opts->tls_in, true, &p->tls_in, err, err_len);
    if (rc == 0)
        rc = load_side("tls-out", &opts->tls_out, false, &p->tls_out, err, err_len);
    return rc;
}

void px_tls_proxy_free(px_proxy *p)
{
    /* Every px_tls made from the contexts is gone by now: sessions are closed before this runs. */
    px_tls_ctx_free(p->tls_in);
    px_tls_ctx_free(p->tls_out);
    p->tls_in = p->tls_out = NULL;
}

/* ---- per-session state ----------------------------------------------------------------------------------- */

static tls_state *state_find(px_session *s)
{
    for (tls_state *st = s->proxy->tls_states; st != NULL; st = st->next)
        if (st->s == s)
            return st;
    return NULL;
}

static tls_state *state_get(px_session *s)
{
    tls_state *st = state_find(s);
    if (st != NULL)
        return st;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    px_proxy *p = s->proxy;
    *st = (tls_state){.s = s, .fd = -1, .watch = {.fd = -1}, .next = p->tls_states};
    if (st->next != NULL)
        st->next->prev = st;
    p->tls_states = st;
    return st;
}

/* Takes @p st off the list and frees it; what it owned must have been given away or freed. */
static void state_drop(tls_state *st)
{
    px_proxy *p = st->s->proxy;
    if (st->prev != NULL)
        st->prev->next = st->next;
    else
        p->tls_states = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    free(st);
}

/* Stops the running handshake's watch and deadline; its session stays in st->hs. */
static void handshake_stop(tls_state *st)
{
    px_proxy *p = st->s->proxy;
    px_loop_unwatch(p->loop, &st->watch);
    px_loop_timer_cancel(p->loop, &st->deadline);
}

void px_tls_session_close(px_session *s)
{
    tls_state *st = state_find(s);
    if (st == NULL)
        return;
    handshake_stop(st);
    /* Sessions before sockets: a px_tls borrows its fd. The client's socket is px_session_close()'s to close. */
    px_tls_free(st->hs);
    px_tls_free(st->client);
    px_tls_free(st->upstream);
    if (st->fd >= 0)
        close(st->fd);
    state_drop(st);
}

/* ---- handshakes ------------------------------------------------------------------------------------------ */

/* "127.0.0.1:PORT" of the client on @p fd, for the log. */
static void peer_name(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
            port = ntohs(a->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
            port = ntohs(a->sin6_port);
        }
    }
    snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, port);
}

/*
 * The handshake in st->hs ended with @p rc (0: the peer is verified), @p why saying why not (NULL: not worth a log
 * line). A verified session is kept for the relay; a refused one is logged and freed. Then the session goes on:
 * inbound, to the connect (or it is closed); outbound, back to the connect callback with the socket or the failure.
 */
static void handshake_end(tls_state *st, int rc, const char *why)
{
    px_session *s = st->s;
    px_proxy *p = s->proxy;
    handshake_stop(st);
    px_tls *t = st->hs;
    st->hs = NULL;
    if (st->inbound) {
        if (rc == 0) {
            st->client = t;
            st->next_in(s);
            return;
        }
        if (why != NULL)
            px_log(p, "tls from %s refused: %s", st->from, why);
        px_tls_free(t);
        px_session_close(s); /* its px_tls_session_close() drops st, which holds nothing more */
        return;
    }
    int fd = st->fd;
    st->fd = -1;
    if (rc == 0) {
        st->upstream = t;
        st->next_out(&s->connect, fd, 0); /* px_tls_session_connect() returns false for it now */
        return;
    }
    px_slot *slot = px_endpoint_slot(p, s->pick);
    px_log(p, "tls to %s refused: %s", slot ? slot->name : "a removed endpoint", why);
    px_tls_free(t);
    close(fd);
    st->next_out(&s->connect, -1, rc); /* a failed endpoint: reported, released, maybe retried elsewhere */
}

/* The handshake's socket is ready: move it on, and watch for what it waits for next, whichever way that is. A TLS
 * handshake alternates: a server reads the ClientHello, writes its flight (which may not fit in the socket buffer),
 * reads the client's certificate; waiting for readable alone stalls a flight half written. */
static void on_handshake_ready(px_watch *w, uint32_t ready)
{
    (void)ready;
    tls_state *st = PX_CONTAINER_OF(w, tls_state, watch);
    if (st->inbound && !st->peeked) {
        /* Every TLS connection opens with a handshake record (content type 22). Looking at the first byte without
         * taking it tells a plain client from a broken TLS one, for a log line that says what went wrong (OpenSSL
         * would say "wrong version number"). */
        unsigned char first;
        ssize_t n = recv(st->s->client_fd, &first, 1, MSG_PEEK | MSG_DONTWAIT);
        char why[96];
        if (n == 1 && first != 22) {
            snprintf(why, sizeof why, "not TLS (the first byte is 0x%02x, a TLS handshake record starts with 0x16)", first);
            handshake_end(st, -EPROTO, why);
            return;
        }
        if (n == 0) {
            /* A bare connect and close (a TCP health check, a port scan): nothing was refused, nothing to log. */
            handshake_end(st, -EPROTO, NULL);
            return;
        }
        st->peeked = n == 1;
    }
    int rc = px_tls_handshake(st->hs);
    if (rc != -EAGAIN) {
        handshake_end(st, rc, rc == 0 ? "" : px_tls_error(st->hs));
        return;
    }
    uint32_t wants = px_tls_wants(st->hs);
    if (wants != w->interest && (rc = px_loop_modify(st->s->proxy->loop, w, wants)) < 0)
        handshake_end(st, rc, strerror(-rc));
}

static void on_handshake_deadline(px_timer *t)
{
    tls_state *st = PX_CONTAINER_OF(t, tls_state, deadline);
    char why[64];
    snprintf(why, sizeof why, "handshake not done after %llu ms",
             (unsigned long long)st->s->proxy->opts.connect_timeout_ms);
    handshake_end(st, -ETIMEDOUT, why);
}

/*
 * Starts a handshake on @p fd as @p ctx's side. Nothing moves in this call: the first step runs when the socket is
 * ready (a server waits for the ClientHello, a client for room to send its own), so no callback runs from inside it.
 */
static int handshake_start(tls_state *st, px_tls_ctx *ctx, int fd, bool inbound)
{
    px_proxy *p = st->s->proxy;
    int rc = px_tls_create(ctx, fd, &st->hs);
    if (rc < 0)
        return rc;
    st->inbound = inbound;
    rc = px_loop_watch(p->loop, &st->watch, fd, inbound ? PX_READABLE : PX_WRITABLE, on_handshake_ready);
    if (rc == 0)
        rc = px_loop_timer_start(p->loop, &st->deadline, p->opts.connect_timeout_ms, on_handshake_deadline);
    if (rc < 0) {
        handshake_stop(st);
        px_tls_free(st->hs);
        st->hs = NULL;
    }
    return rc;
}

void px_tls_session_accept(px_session *s, void (*next)(px_session *s))
{
    px_proxy *p = s->proxy;
    if (p->tls_in == NULL) {
        next(s);
        return;
    }
    tls_state *st = state_get(s);
    int rc = st != NULL ? handshake_start(st, p->tls_in, s->client_fd, true) : -ENOMEM;
    if (rc == 0)
        peer_name(s->client_fd, st->from, sizeof st->from);
    if (rc < 0) {
        px_log(p, "cannot start tls with a client: %s", strerror(-rc));
        px_session_close(s);
        return;
    }
    st->next_in = next;
}

bool px_tls_session_connect(px_session *s, int fd, px_connect_fn *next)
{
    px_proxy *p = s->proxy;
    if (p->tls_out == NULL)
        return false;
    tls_state *st = state_get(s);
    if (st != NULL && st->upstream != NULL)
        return false; /* the handshake on this fd is done: the caller goes on with it */
    int rc = st != NULL ? handshake_start(st, p->tls_out, fd, false) : -ENOMEM;
    if (rc < 0) {
        close(fd);
        next(&s->connect, -1, rc);
        return true;
    }
    st->fd = fd;
    st->next_out = next;
    return true;
}

int px_tls_relay_start(px_session *s, int fd, px_relay_done_fn *done, px_relay **out)
{
    px_proxy *p = s->proxy;
    tls_state *st = state_find(s);
    px_tls *client = NULL, *upstream = NULL;
    if (st != NULL) {
        client = st->client;
        upstream = st->upstream;
        state_drop(st); /* nothing else is left in it: no handshake runs once both ends are verified */
    }
    int rc = px_relay_start_tls(p->loop, s->client_fd, client, fd, upstream, p->opts.relay, 0, done, s, out);
    if (rc < 0) {
        px_tls_free(client);
        px_tls_free(upstream);
    }
    return rc;
}
