/*
 * Chapter 08, part 1: the L4 relay (relay.h) in both modes, copy and splice. Each test builds two loopback TCP
 * connections, test client <-> relay <-> test upstream, and drives the relay's px_loop turn by turn in the test's own
 * process while it plays both ends with non-blocking sockets.
 */
#define _GNU_SOURCE
#include "relay.h"
#include "relay_support.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const mode_name[] = {"copy", "splice"};

/* The relay under test, the test's two ends of it, and what its done callback saw. */
struct rig {
    px_loop *loop;
    px_relay *relay;
    int client, upstream; /* the test's ends: it plays the client and the upstream */
    int calls;
    px_relay_stats stats;
    size_t fds_before; /* fds open before the rig's sockets */
};

static void on_done(void *ctx, const px_relay_stats *stats)
{
    struct rig *g = ctx;
    g->calls++;
    g->stats = *stats;
}

/* Connects the rig: @p bufsize for every socket's buffers (0: the kernel's), @p buffer for the relay's. */
static void rig_start(struct rig *g, px_relay_mode mode, size_t buffer, int bufsize)
{
    /* A splice into a reset socket raises SIGPIPE, as write(2) does: a proxy ignores it and reads EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    *g = (struct rig){.fds_before = rs_count_fds()};
    ck_assert_int_eq(px_loop_create(&g->loop), 0);
    g->fds_before++;
    int down[2], up[2];
    rs_tcp_pair(down, bufsize);
    rs_tcp_pair(up, bufsize);
    g->client = down[0];
    g->upstream = up[1];
    int rc = px_relay_start(g->loop, down[1], up[0], mode, buffer, on_done, g, &g->relay);
    ck_assert_msg(rc == 0, "px_relay_start (%s) returned %d", mode_name[mode], rc);
    ck_assert_msg(g->calls == 0, "the done callback ran inside px_relay_start");
}

/* The relay has ended: its sockets and pipes are closed and the loop holds nothing of it. Closes the test's ends
 * (an end the test closed itself is -1). */
static void rig_end(struct rig *g)
{
    size_t ends = (g->client >= 0) + (g->upstream >= 0);
    ck_assert_msg(rs_count_fds() == g->fds_before + ends,
                  "%zu fds open, expected %zu: the relay left sockets or pipes open", rs_count_fds(), g->fds_before + ends);
    size_t watches = 1, timers = 1;
    px_loop_counts(g->loop, &watches, &timers);
    ck_assert_msg(watches == 0 && timers == 0, "the loop still holds %zu watches and %zu timers of an ended relay", watches,
                  timers);
    if (g->client >= 0)
        close(g->client);
    if (g->upstream >= 0)
        close(g->upstream);
    px_loop_destroy(g->loop);
}

/* One end of a transfer: the bytes it sends and what it received (one byte of room more, to see an excess). */
struct end {
    int fd;
    const uint8_t *out;
    size_t out_len, sent;
    uint8_t *in;
    size_t in_cap, got;
    bool eof, shut;
    size_t recv_chunk; /* when not 0: one recv of at most this many bytes per step (a slow reader) */
};

/* Sends and receives what the socket takes now; shuts its write side down once all is sent. Returns progress. */
static bool end_step(struct end *e)
{
    bool moved = false;
    if (e->sent < e->out_len) {
        size_t want = e->out_len - e->sent;
        ssize_t n = send(e->fd, e->out + e->sent, want, MSG_NOSIGNAL);
        ck_assert_msg(n >= 0 || errno == EAGAIN, "send failed: %s", strerror(errno));
        if (n > 0) {
            e->sent += (size_t)n;
            moved = true;
        }
    }
    if (e->sent == e->out_len && !e->shut) {
        ck_assert_int_eq(shutdown(e->fd, SHUT_WR), 0);
        e->shut = true;
    }
    for (int reads = 0; !e->eof && !(e->recv_chunk && reads == 1); reads++) {
        size_t room = e->in_cap - e->got;
        ssize_t n = recv(e->fd, e->in + e->got, e->recv_chunk && room > e->recv_chunk ? e->recv_chunk : room, 0);
        if (n < 0) {
            ck_assert_msg(errno == EAGAIN, "recv failed: %s", strerror(errno));
            break;
        }
        moved = true;
        e->got += (size_t)n;
        e->eof = n == 0;
        ck_assert_msg(e->got < e->in_cap, "received more bytes than were sent");
    }
    return moved;
}

/* Sends @p size random bytes each way at once, both ends half-closing when done; checks every byte and the stats. */
static void transfer_both_ways(px_relay_mode mode, size_t size)
{
    struct rig g;
    rig_start(&g, mode, 64 * 1024, 32 * 1024);
    uint8_t *up = malloc(size), *down = malloc(size);
    uint8_t *up_got = malloc(size + 1), *down_got = malloc(size + 1);
    ck_assert(up && down && up_got && down_got);
    rs_fill(up, size, 1);
    rs_fill(down, size, 2);
    /* Ends that send all they can but read a little per step keep the relay's sinks nearly full: many of its writes
     * are short. */
    struct end c = {.fd = g.client, .out = up, .out_len = size, .in = down_got, .in_cap = size + 1, .recv_chunk = 4096};
    struct end u = {.fd = g.upstream, .out = down, .out_len = size, .in = up_got, .in_cap = size + 1, .recv_chunk = 4096};
    uint64_t end = rs_now_ms() + 20000;
    while (!(c.eof && u.eof && g.calls > 0) && rs_now_ms() < end) {
        bool moved = end_step(&c);
        moved = end_step(&u) || moved;
        ck_assert_int_ge(px_loop_run_once(g.loop, moved ? 0 : 2), 0);
    }
    ck_assert_msg(u.got == size, "%s: the upstream received %zu of %zu bytes", mode_name[mode], u.got, size);
    ck_assert_msg(c.got == size, "%s: the client received %zu of %zu bytes", mode_name[mode], c.got, size);
    ck_assert_msg(memcmp(up_got, up, size) == 0, "%s: the bytes the upstream received differ from those sent",
                  mode_name[mode]);
    ck_assert_msg(memcmp(down_got, down, size) == 0, "%s: the bytes the client received differ from those sent",
                  mode_name[mode]);
    ck_assert_msg(u.eof && c.eof, "%s: both ends half-closed, yet an end read no end of file", mode_name[mode]);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.stats.error, 0);
    ck_assert_uint_eq(g.stats.bytes_up, size);
    ck_assert_uint_eq(g.stats.bytes_down, size);
    free(up);
    free(down);
    free(up_got);
    free(down_got);
    rig_end(&g);
}

FT_TEST(1, copy_relay_moves_mebibytes_both_ways_byte_exact, 3,
        "Copy relay: each direction has its own buffer; a short write (send took fewer bytes than asked) leaves the "
        "rest queued for the next writable event, and nothing is read over bytes not yet written.")
{
    transfer_both_ways(PX_RELAY_COPY, 4u << 20);
}
FT_TIMEOUT(copy_relay_moves_mebibytes_both_ways_byte_exact, 30);

FT_TEST(1, splice_relay_moves_mebibytes_both_ways_byte_exact, 3,
        "Splice relay: socket -> pipe -> socket with SPLICE_F_NONBLOCK; count the bytes sitting in each pipe (a short "
        "splice out leaves the rest there) and write to the sink only what the pipe holds.")
{
    transfer_both_ways(PX_RELAY_SPLICE, 4u << 20);
}
FT_TIMEOUT(splice_relay_moves_mebibytes_both_ways_byte_exact, 30);

/* Half-close in one mode: the client sends a request and shuts down its write side; the answer still comes back. */
static void half_close(px_relay_mode mode)
{
    enum { REQUEST = 10000, ANSWER = 300000 };
    struct rig g;
    rig_start(&g, mode, 0, 0);
    uint8_t *request = malloc(REQUEST), *answer = malloc(ANSWER);
    uint8_t *request_got = malloc(REQUEST + 1), *answer_got = malloc(ANSWER + 1);
    ck_assert(request && answer && request_got && answer_got);
    rs_fill(request, REQUEST, 3);
    rs_fill(answer, ANSWER, 4);
    struct end c = {.fd = g.client, .out = request, .out_len = REQUEST, .in = answer_got, .in_cap = ANSWER + 1};
    /* The upstream answers only after the end of the request, as an HTTP/1.0 server reading to EOF would. */
    struct end u = {.fd = g.upstream, .out = answer, .out_len = 0, .in = request_got, .in_cap = REQUEST + 1, .shut = true};
    uint64_t end = rs_now_ms() + 5000;
    while (!u.eof && rs_now_ms() < end) {
        bool moved = end_step(&c);
        moved = end_step(&u) || moved;
        ck_assert_int_ge(px_loop_run_once(g.loop, moved ? 0 : 2), 0);
    }
    ck_assert_msg(u.eof, "%s: the client shut down its write side but the upstream never read end of file",
                  mode_name[mode]);
    ck_assert_msg(u.got == REQUEST && memcmp(request_got, request, REQUEST) == 0,
                  "%s: the upstream got %zu bytes of a %d-byte request", mode_name[mode], u.got, REQUEST);
    ck_assert_msg(g.calls == 0, "%s: the relay ended when only one direction had", mode_name[mode]);
    u.out_len = ANSWER;
    u.shut = false;
    while (!(c.eof && g.calls > 0) && rs_now_ms() < end) {
        bool moved = end_step(&c);
        moved = end_step(&u) || moved;
        ck_assert_int_ge(px_loop_run_once(g.loop, moved ? 0 : 2), 0);
    }
    ck_assert_msg(u.sent == ANSWER, "%s: the upstream could send only %zu of its %d-byte answer", mode_name[mode], u.sent,
                  ANSWER);
    ck_assert_msg(c.got == ANSWER && memcmp(answer_got, answer, ANSWER) == 0,
                  "%s: the client got %zu bytes of the %d-byte answer after its half-close", mode_name[mode], c.got,
                  ANSWER);
    ck_assert_msg(c.eof, "%s: the client never read end of file after the whole answer", mode_name[mode]);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.stats.error, 0);
    ck_assert_uint_eq(g.stats.bytes_up, REQUEST);
    ck_assert_uint_eq(g.stats.bytes_down, ANSWER);
    free(request);
    free(answer);
    free(request_got);
    free(answer_got);
    rig_end(&g);
}

FT_TEST(1, half_close_lets_the_answer_come_back_after_the_request_ends, 3,
        "Half-close: at end of file from one side, once its buffer is empty, shutdown(SHUT_WR) the other socket (a "
        "FIN); close() would end both directions and lose the answer. The relay ends only when both directions have.")
{
    half_close(PX_RELAY_COPY);
    half_close(PX_RELAY_SPLICE);
}
FT_TIMEOUT(half_close_lets_the_answer_come_back_after_the_request_ends, 15);

static size_t buffer_of(int fd, int which)
{
    int v = 0;
    socklen_t len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, which, &v, &len), 0);
    return (size_t)v;
}

/* Backpressure in one mode: an upstream that reads nothing stops the client; then it drains everything intact. */
static void backpressure(px_relay_mode mode)
{
    enum { BUFFER = 64 * 1024, SOCKBUF = 64 * 1024, LIMIT = 16 << 20, MORE = 256 * 1024 };
    struct rig g;
    rig_start(&g, mode, BUFFER, SOCKBUF);
    uint8_t *data = malloc(LIMIT), *got = malloc(LIMIT + 1);
    ck_assert(data && got);
    rs_fill(data, LIMIT, 5);
    struct end c = {.fd = g.client, .out = data, .out_len = LIMIT, .in = NULL, .in_cap = 0, .eof = true};

    /* Send until the client's sends fail with EAGAIN and the relay has nothing to do for several turns. */
    int quiet = 0;
    uint64_t end = rs_now_ms() + 4000;
    while (quiet < 20 && c.sent < LIMIT && rs_now_ms() < end) {
        bool moved = end_step(&c);
        int ran = px_loop_run_once(g.loop, 2);
        ck_assert_int_ge(ran, 0);
        quiet = moved || ran > 0 ? 0 : quiet + 1;
    }
    /* The four socket buffers on the way (all set alike; each reports twice what was asked) and the relay's own. */
    size_t sockets = 2 * buffer_of(g.client, SO_SNDBUF) + 2 * buffer_of(g.upstream, SO_RCVBUF);
    size_t bound = sockets + BUFFER + 64 * 1024;
    ck_assert_msg(c.sent <= bound,
                  "%s: an upstream that reads nothing let the client send %zu bytes; buffers on the way hold %zu: the "
                  "relay kept reading with its buffer full",
                  mode_name[mode], c.sent, bound);
    ck_assert_msg(quiet >= 20, "%s: with the upstream not reading the relay never went quiet", mode_name[mode]);
    /* Level-triggered: a relay that still asks to read a source it cannot take from is woken on every turn. */
    long callbacks = rs_run_for(g.loop, 100);
    ck_assert_msg(callbacks <= 3,
                  "%s: %ld callbacks in 100 ms of backpressure: the relay spins on a source it does "
                  "not read (drop the read interest while the buffer is full)",
                  mode_name[mode], callbacks);
    px_relay_stats p = px_relay_progress(g.relay);
    ck_assert_msg(p.bytes_up <= 2 * buffer_of(g.upstream, SO_RCVBUF) + 2 * SOCKBUF + 64 * 1024,
                  "%s: %llu bytes written to an upstream that reads nothing", mode_name[mode],
                  (unsigned long long)p.bytes_up);

    /* The upstream drains now; the client sends a little more and ends; every byte arrives, in order. */
    size_t total = c.sent + MORE;
    c.out_len = total;
    struct end u = {.fd = g.upstream, .out = NULL, .out_len = 0, .in = got, .in_cap = LIMIT + 1, .shut = true};
    end = rs_now_ms() + 8000;
    while (!u.eof && rs_now_ms() < end) {
        bool moved = end_step(&c);
        moved = end_step(&u) || moved;
        ck_assert_int_ge(px_loop_run_once(g.loop, moved ? 0 : 2), 0);
    }
    ck_assert_msg(u.got == total && memcmp(got, data, total) == 0,
                  "%s: after backpressure the upstream got %zu of %zu bytes, or not the same", mode_name[mode], u.got,
                  total);
    ck_assert_int_eq(shutdown(g.upstream, SHUT_WR), 0);
    ck_assert(rs_run_until(g.loop, &g.calls, 1, 3000));
    ck_assert_int_eq(g.stats.error, 0);
    ck_assert_uint_eq(g.stats.bytes_up, total);
    free(data);
    free(got);
    rig_end(&g);
}

FT_TEST(1, backpressure_bounds_what_a_stalled_upstream_can_take, 3,
        "Backpressure: while a direction's buffer is full, watch its source for nothing (not readable), so the "
        "receive window closes and the sender gets EAGAIN; read again once the sink drained. Reading anyway spins "
        "(level-triggered) or grows memory without bound.")
{
    backpressure(PX_RELAY_COPY);
    backpressure(PX_RELAY_SPLICE);
}
FT_TIMEOUT(backpressure_bounds_what_a_stalled_upstream_can_take, 30);

/* A reset upstream in one mode: the relay ends with an error and closes the client. */
static void reset_upstream(px_relay_mode mode)
{
    struct rig g;
    rig_start(&g, mode, 0, 0);
    ck_assert_int_eq(send(g.client, "hello", 5, 0), 5);
    char buf[16];
    uint64_t end = rs_now_ms() + 3000;
    ssize_t n = -1;
    while (n != 5 && rs_now_ms() < end) {
        ck_assert_int_ge(px_loop_run_once(g.loop, 2), 0);
        n = recv(g.upstream, buf, sizeof buf, MSG_PEEK);
    }
    ck_assert_int_eq(n, 5);
    /* SO_LINGER with a zero timeout: close sends RST instead of FIN. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    ck_assert_int_eq(setsockopt(g.upstream, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(g.upstream);
    g.upstream = -1;
    ck_assert_msg(rs_run_until(g.loop, &g.calls, 1, 3000), "%s: the upstream was reset but the relay never ended",
                  mode_name[mode]);
    ck_assert_msg(g.stats.error == -ECONNRESET || g.stats.error == -EPIPE,
                  "%s: a reset upstream ended the relay with error %d, expected -ECONNRESET (or -EPIPE)", mode_name[mode],
                  g.stats.error);
    /* The client's connection is closed: it reads end of file (or a reset), not silence. */
    n = -1;
    errno = EAGAIN;
    while (n < 0 && errno == EAGAIN && rs_now_ms() < end)
        n = recv(g.client, buf, sizeof buf, 0);
    ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET), "%s: the relay ended but the client is still connected",
                  mode_name[mode]);
    rs_run_for(g.loop, 20);
    ck_assert_int_eq(g.calls, 1);
    rig_end(&g);
}

FT_TEST(1, a_reset_upstream_ends_the_relay_with_an_error_and_closes_the_client, 2,
        "Errors vs end of file: a reset (ECONNRESET, or EPOLLERR and SO_ERROR) is not an end of file; it ends the "
        "whole relay with stats.error set, and both sockets are closed so the client learns at once.")
{
    reset_upstream(PX_RELAY_COPY);
    reset_upstream(PX_RELAY_SPLICE);
}
FT_TIMEOUT(a_reset_upstream_ends_the_relay_with_an_error_and_closes_the_client, 10);

FT_TEST(1, done_runs_once_on_a_later_turn_and_everything_is_closed, 2,
        "Completion: done runs exactly once, never inside px_relay_start (even when both sides are ready at once), "
        "after both sockets and both pipes are closed and the loop's watches are gone.")
{
    for (int mode = PX_RELAY_COPY; mode <= PX_RELAY_SPLICE; mode++) {
        struct rig g;
        /* Both ends have sent and half-closed before the relay exists: everything is ready on its first turn. */
        int down[2], up[2];
        signal(SIGPIPE, SIG_IGN);
        g = (struct rig){.fds_before = rs_count_fds() + 1};
        ck_assert_int_eq(px_loop_create(&g.loop), 0);
        rs_tcp_pair(down, 0);
        rs_tcp_pair(up, 0);
        g.client = down[0];
        g.upstream = up[1];
        ck_assert_int_eq(send(g.client, "request", 7, 0), 7);
        ck_assert_int_eq(send(g.upstream, "answer", 6, 0), 6);
        ck_assert_int_eq(shutdown(g.client, SHUT_WR), 0);
        ck_assert_int_eq(shutdown(g.upstream, SHUT_WR), 0);
        rs_run_for(g.loop, 10);
        ck_assert_int_eq(px_relay_start(g.loop, down[1], up[0], (px_relay_mode)mode, 0, on_done, &g, NULL), 0);
        ck_assert_msg(g.calls == 0, "%s: done ran inside px_relay_start", mode_name[mode]);
        ck_assert(rs_run_until(g.loop, &g.calls, 1, 2000));
        rs_run_for(g.loop, 30);
        ck_assert_msg(g.calls == 1, "%s: done ran %d times", mode_name[mode], g.calls);
        ck_assert_int_eq(g.stats.error, 0);
        ck_assert_uint_eq(g.stats.bytes_up, 7);
        ck_assert_uint_eq(g.stats.bytes_down, 6);
        char buf[16];
        ck_assert_int_eq(recv(g.client, buf, sizeof buf, MSG_WAITALL), 6);
        ck_assert_int_eq(recv(g.upstream, buf, sizeof buf, MSG_WAITALL), 7);
        rig_end(&g);
    }
}

FT_TEST(1, abort_closes_both_sockets_without_calling_done, 2,
        "Abort (JoinHandle::abort): unwatch, close both sockets and both pipes, free the relay, and do not call done; "
        "each end then reads end of file.")
{
    for (int mode = PX_RELAY_COPY; mode <= PX_RELAY_SPLICE; mode++) {
        struct rig g;
        rig_start(&g, (px_relay_mode)mode, 0, 0);
        ck_assert_int_eq(send(g.client, "partial", 7, 0), 7);
        char buf[16];
        uint64_t end = rs_now_ms() + 3000;
        ssize_t n = -1;
        while (n != 7 && rs_now_ms() < end) {
            ck_assert_int_ge(px_loop_run_once(g.loop, 2), 0);
            n = recv(g.upstream, buf, sizeof buf, MSG_PEEK);
        }
        ck_assert_int_eq(n, 7);
        ck_assert_uint_eq(px_relay_progress(g.relay).bytes_up, 7);
        px_relay_abort(g.relay);
        rs_run_for(g.loop, 30);
        ck_assert_msg(g.calls == 0, "%s: done ran after px_relay_abort", mode_name[mode]);
        ck_assert_int_eq(recv(g.upstream, buf, sizeof buf, MSG_WAITALL), 7);
        n = -1;
        errno = EAGAIN;
        while (n < 0 && errno == EAGAIN && rs_now_ms() < end)
            n = recv(g.client, buf, sizeof buf, 0);
        ck_assert_msg(n == 0, "%s: after abort the client reads %zd, not end of file", mode_name[mode], n);
        rig_end(&g);
    }
}
