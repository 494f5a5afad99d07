/*
 * Parts 2 and 3: one connection as a future — poll returns READY or PENDING and registers what it waits for;
 * write_all semantics, a bounded buffer that stops reading while the peer is not, TCP_NODELAY.
 * Each test drives one ae_conn through a real reactor, from the other end of a socketpair or a loopback pair.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

FT_PART(2, "futures by hand: the connection state machine");
FT_PART(3, "write_all, backpressure, TCP_NODELAY");

typedef struct fixture {
    ae_reactor r;
    ae_echo_ctx ctx;
    ae_conn c;
    int peer;
    int polls;
    ae_poll last;
} fixture;

/* The waker: readiness arrived, poll the future again. */
static void wake(ae_source *src, uint32_t ready)
{
    (void)ready;
    fixture *f = AE_CONTAINER_OF(src, fixture, c.src);
    f->polls++;
    f->last = ae_conn_poll(&f->c);
}

/* A connection on one end of a socketpair (or a loopback TCP pair); f->peer is the other end, non-blocking. */
static void open_fixture(fixture *f, size_t cap, bool tcp)
{
    *f = (fixture){.ctx = {.scratch = malloc(cap), .cap = cap}, .last = AE_PENDING};
    ck_assert(f->ctx.scratch != NULL);
    ck_assert_int_eq(ae_reactor_init(&f->r), 0);
    int sv[2];
    if (tcp)
        tcp_pair(sv);
    else
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    f->peer = sv[1];
    set_nonblocking(f->peer);
    ck_assert_int_eq(ae_conn_init(&f->c, sv[0], &f->r, &f->ctx, wake), 0);
}

static void close_fixture(fixture *f)
{
    ae_conn_close(&f->c);
    close(f->peer);
    ae_reactor_close(&f->r);
    free(f->ctx.scratch);
}

/* Runs the reactor until it has nothing to say for `quiet_ms` (or the future completed). A connection that is
 * reported ready this many times in a row never goes quiet: something keeps it ready and the loop spins. */
enum { SPIN_POLLS = 100000 };

static void pump(fixture *f, int quiet_ms)
{
    int polls = 0;
    while (f->last == AE_PENDING && ae_reactor_poll(&f->r, quiet_ms) > 0)
        ck_assert_msg(++polls < SPIN_POLLS,
                      "the connection was reported ready %d times in a row and neither finished nor went quiet: "
                      "it spins on a readiness it never consumes",
                      polls);
}

/* ---- part 2 ---------------------------------------------------------------------------------------------- */

FT_TEST(2, a_new_connection_waits_for_readable_and_polls_pending, 2,
        "ae_conn_init makes the socket non-blocking and registers it for AE_READABLE (state READING, nothing "
        "owed). Polling with nothing to read returns AE_PENDING: recv failed with EAGAIN, so the future "
        "registers AE_READABLE and suspends, exactly what Poll::Pending means.")
{
    fixture f;
    open_fixture(&f, 4096, false);
    ck_assert_int_ge(f.c.src.fd, 0);
    ck_assert(fcntl(f.c.src.fd, F_GETFL) & O_NONBLOCK);
    ck_assert_uint_eq(f.c.src.interest, AE_READABLE);
    ck_assert_int_eq(f.c.state, AE_CONN_READING);
    ck_assert_int_eq(ae_conn_poll(&f.c), AE_PENDING);
    ck_assert_int_eq(f.c.state, AE_CONN_READING);
    ck_assert_uint_eq(f.c.src.interest, AE_READABLE);
    ck_assert_ptr_null(f.c.buf);
    ck_assert_int_eq(f.r.n_sources, 1);
    close_fixture(&f);
}

FT_TEST(2, the_reactor_wakes_the_future_and_bytes_come_back, 2,
        "When the peer writes, the reactor calls the owner's callback, which polls the future: recv into the "
        "shared scratch buffer, send the same bytes back, and count them in bytes_in / bytes_out.")
{
    fixture f;
    open_fixture(&f, 4096, false);
    ck_assert_int_eq(write(f.peer, "hello, reactor", 14), 14);
    pump(&f, 100);
    ck_assert_int_ge(f.polls, 1);
    ck_assert_int_eq(f.last, AE_PENDING);
    char back[32] = {0};
    ck_assert_int_eq(read(f.peer, back, sizeof back), 14);
    ck_assert_str_eq(back, "hello, reactor");
    ck_assert_uint_eq(f.c.bytes_in, 14);
    ck_assert_uint_eq(f.c.bytes_out, 14);
    close_fixture(&f);
}

FT_TEST(2, peer_shutdown_completes_the_future_with_ready, 2,
        "recv returning 0 is EOF: the peer will send nothing more (nothing to read yet is EAGAIN, not 0), and "
        "the socket stays readable for good. Nothing is owed in state READING, so the echo loop is over: return "
        "AE_READY with error 0 and state DONE. A spent future keeps answering AE_READY.")
{
    fixture f;
    open_fixture(&f, 4096, false);
    ck_assert_int_eq(write(f.peer, "bye", 3), 3);
    ck_assert_int_eq(shutdown(f.peer, SHUT_WR), 0);
    pump(&f, 100);
    ck_assert_int_eq(f.last, AE_READY);
    ck_assert_int_eq(f.c.state, AE_CONN_DONE);
    ck_assert_int_eq(f.c.error, 0);
    char back[8];
    ck_assert_int_eq(read(f.peer, back, sizeof back), 3);
    ck_assert_int_eq(ae_conn_poll(&f.c), AE_READY);
    close_fixture(&f);
}

FT_TEST(2, a_reset_completes_the_future_with_the_error, 1,
        "A recv or send error other than EAGAIN/EINTR ends the future: AE_READY with error = -errno "
        "(here -ECONNRESET, the peer closed with SO_LINGER 0).")
{
    fixture f;
    open_fixture(&f, 4096, true);
    close_with_rst(f.peer);
    f.peer = socket(AF_INET, SOCK_STREAM, 0); /* something for close_fixture to close */
    pump(&f, 200);
    ck_assert_int_eq(f.last, AE_READY);
    ck_assert_int_eq(f.c.error, -ECONNRESET);
    close_fixture(&f);
}

FT_TEST(2, close_deregisters_then_closes_the_socket_once, 1,
        "ae_conn_close: deregister from the reactor first (so no event can reach a freed connection), then "
        "close the fd (forgetting it is a descriptor leak: one per client, until EMFILE), free what is owed, "
        "and leave src.fd = -1 so a second call does nothing.")
{
    int before = fd_count(0);
    fixture f;
    open_fixture(&f, 4096, false);
    int fd = f.c.src.fd;
    ae_conn_close(&f.c);
    ck_assert_int_eq(f.c.src.fd, -1);
    ck_assert_int_eq(f.r.n_sources, 0);
    ck_assert_msg(fcntl(fd, F_GETFD) == -1, "the socket is still open after ae_conn_close: a descriptor leak");
    ae_conn_close(&f.c);
    close_fixture(&f);
    ck_assert_int_eq(fd_count(0), before);
}

/* ---- part 3 ---------------------------------------------------------------------------------------------- */

/* Peer writes as much as the socket takes without reading; returns the bytes written. */
static size_t flood(fixture *f, const uint8_t *data, size_t len)
{
    size_t sent = 0;
    for (ssize_t n; sent < len && (n = send(f->peer, data + sent, len - sent, MSG_DONTWAIT)) > 0;)
        sent += (size_t)n;
    return sent;
}

FT_TEST(3, a_partial_write_is_kept_and_reading_stops_until_it_is_flushed, 3,
        "When send takes fewer bytes than were read, copy the rest into the connection's own buffer (the "
        "scratch buffer is shared), switch to WRITING and ask for AE_WRITABLE only: no AE_READABLE while "
        "owing bytes is the backpressure (and, level-triggered, asking for it anyway is a busy loop). At most "
        "ctx.cap bytes are ever owed.")
{
    enum { CAP = 4096, TOTAL = 4 << 20 };
    uint8_t *data = malloc(TOTAL);
    ck_assert(data != NULL);
    fill_random(data, TOTAL, 3);
    fixture f;
    open_fixture(&f, CAP, false);
    size_t sent = 0;
    for (int i = 0; i < 1000 && f.c.state != AE_CONN_WRITING; i++) {
        sent += flood(&f, data + sent, TOTAL - sent);
        pump(&f, 10);
    }
    ck_assert_msg(f.c.state == AE_CONN_WRITING, "the peer never reads, yet the connection is not WRITING");
    ck_assert_ptr_nonnull(f.c.buf);
    ck_assert_uint_gt(f.c.buf_len, f.c.buf_off);
    ck_assert_uint_le(f.c.buf_len, CAP);
    ck_assert_uint_eq(f.c.src.interest, AE_WRITABLE);
    uint64_t in = f.c.bytes_in;
    sent += flood(&f, data + sent, TOTAL - sent);
    pump(&f, 20);
    ck_assert_msg(f.c.bytes_in == in, "the connection read %llu more bytes while it still owed some",
                  (unsigned long long)(f.c.bytes_in - in));
    ck_assert_int_le(f.polls, 1000);
    close_fixture(&f);
    free(data);
}

FT_TEST(3, owed_bytes_resume_on_writable_and_the_echo_is_byte_exact, 3,
        "write_all: a partial write (send takes fewer bytes than asked) is the normal case, not an error: keep "
        "the rest. On AE_WRITABLE, send from buf + buf_off until all is gone (then free it and go back to "
        "READING with AE_READABLE alone: AE_WRITABLE on an empty buffer is reported on every poll, a busy loop) "
        "or EAGAIN (then keep waiting for AE_WRITABLE). Every byte read is sent or owed: nothing may be lost, "
        "duplicated or reordered.")
{
    enum { CAP = 64 * 1024, TOTAL = 2 << 20 };
    uint8_t *data = malloc(TOTAL), *back = malloc(TOTAL);
    ck_assert(data && back);
    fill_random(data, TOTAL, 7);
    fixture f;
    open_fixture(&f, CAP, false);
    int small = 4096; /* a send buffer smaller than one read: flushes are partial and must wait again */
    ck_assert_int_eq(setsockopt(f.c.src.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    size_t sent = 0, got = 0;
    for (int round = 0; got < TOTAL && round < 200000; round++) {
        sent += flood(&f, data + sent, TOTAL - sent);
        ck_assert_int_ge(ae_reactor_poll(&f.r, 5), 0);
        ck_assert_int_eq(f.last, AE_PENDING);
        if (f.c.state == AE_CONN_WRITING)
            ck_assert_msg(f.c.src.interest == AE_WRITABLE,
                          "still owing bytes after a partial flush, the "
                          "connection asks for interest %u instead of AE_WRITABLE alone",
                          f.c.src.interest);
        uint64_t owed = f.c.buf_len - f.c.buf_off;
        ck_assert_msg(f.c.bytes_out + owed == f.c.bytes_in,
                      "%llu bytes read, but only %llu written and %llu owed: a partial write lost the rest",
                      (unsigned long long)f.c.bytes_in, (unsigned long long)f.c.bytes_out, (unsigned long long)owed);
        if (round % 3 == 0) /* a slow reader: reads only now and then */
            for (ssize_t n; got < TOTAL && (n = recv(f.peer, back + got, TOTAL - got, MSG_DONTWAIT)) > 0;)
                got += (size_t)n;
    }
    ck_assert_uint_eq(got, TOTAL);
    ck_assert_msg(memcmp(data, back, TOTAL) == 0, "the echo is not byte-exact");
    ck_assert_ptr_null(f.c.buf);
    ck_assert_int_eq(f.c.state, AE_CONN_READING);
    ck_assert_msg(f.c.src.interest == AE_READABLE,
                  "everything flushed, yet the connection asks for interest %u instead of AE_READABLE alone",
                  f.c.src.interest);
    close_fixture(&f);
    free(data);
    free(back);
}
FT_TIMEOUT(owed_bytes_resume_on_writable_and_the_echo_is_byte_exact, 20);

FT_TEST(3, tcp_connections_get_tcp_nodelay, 1,
        "setsockopt(IPPROTO_TCP, TCP_NODELAY, 1) in ae_conn_init: otherwise Nagle holds a small segment until "
        "the previous one is ACKed, and a peer that delays its ACK stalls each round trip ~40 ms. On a socket "
        "that is not TCP (a Unix socketpair) the option does not exist: skip it, do not fail.")
{
    fixture f;
    open_fixture(&f, 4096, true);
    int on = 0;
    socklen_t len = sizeof on;
    ck_assert_int_eq(getsockopt(f.c.src.fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    ck_assert_msg(on == 1, "TCP_NODELAY is not set on the connection");
    close_fixture(&f);
}

FT_TEST(3, drain_flushes_what_is_owed_then_completes, 2,
        "ae_conn_drain: read nothing new; if nothing is owed the future completes at once (AE_READY); otherwise "
        "it stays PENDING until the owed bytes are flushed, then completes with error 0.")
{
    enum { CAP = 4096, TOTAL = 4 << 20 };
    uint8_t *data = malloc(TOTAL);
    ck_assert(data != NULL);
    fill_random(data, TOTAL, 11);
    fixture f;
    open_fixture(&f, CAP, false);
    size_t sent = 0;
    for (int i = 0; i < 1000 && f.c.state != AE_CONN_WRITING; i++) {
        sent += flood(&f, data + sent, TOTAL - sent);
        pump(&f, 10);
    }
    ck_assert_int_eq(f.c.state, AE_CONN_WRITING);
    uint64_t in = f.c.bytes_in;
    ck_assert_int_eq(ae_conn_drain(&f.c), AE_PENDING);
    uint8_t *back = malloc(TOTAL);
    size_t got = 0;
    for (int round = 0; f.last != AE_READY && round < 100000; round++) {
        for (ssize_t n; (n = recv(f.peer, back + got, TOTAL - got, MSG_DONTWAIT)) > 0;)
            got += (size_t)n;
        ck_assert_int_ge(ae_reactor_poll(&f.r, 5), 0);
    }
    ck_assert_int_eq(f.last, AE_READY);
    ck_assert_int_eq(f.c.error, 0);
    ck_assert_uint_eq(f.c.bytes_in, in);
    for (ssize_t n; (n = recv(f.peer, back + got, TOTAL - got, MSG_DONTWAIT)) > 0;)
        got += (size_t)n;
    ck_assert_uint_eq(got, f.c.bytes_out);
    ck_assert_uint_eq(f.c.bytes_out, in);
    ck_assert(memcmp(back, data, got) == 0);
    free(back);
    close_fixture(&f);

    open_fixture(&f, CAP, false);
    ck_assert_int_eq(ae_conn_drain(&f.c), AE_READY);
    close_fixture(&f);
    free(data);
}

FT_TEST(3, one_poll_reads_at_most_its_budget, 1,
        "A peer that always has more to send must not monopolise the loop: stop after AE_CONN_BUDGET reads and "
        "return AE_PENDING (still waiting for AE_READABLE); level-triggered epoll reports the rest next time. "
        "Tokio's cooperative budget does the same.")
{
    enum { CAP = 16 };
    fixture f;
    open_fixture(&f, CAP, false);
    uint8_t data[4096];
    fill_random(data, sizeof data, 5);
    ck_assert_int_eq(send(f.peer, data, sizeof data, 0), (ssize_t)sizeof data);
    ck_assert_int_eq(ae_reactor_poll(&f.r, 1000), 1);
    ck_assert_int_eq(f.last, AE_PENDING);
    ck_assert_uint_gt(f.c.bytes_in, 0);
    ck_assert_uint_le(f.c.bytes_in, AE_CONN_BUDGET * CAP);
    pump(&f, 50);
    ck_assert_uint_eq(f.c.bytes_in, sizeof data);
    close_fixture(&f);
}
