/*
 * Chapter 08, part 1: the non-blocking connect with a deadline (connect.h), driven turn by turn on a px_loop in the
 * test's own process, against loopback listeners: one that accepts, a port that refuses (RST), and one whose full
 * accept queue makes Linux drop every further SYN (a timeout without any network).
 */
#define _GNU_SOURCE
#include "connect.h"
#include "relay_support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* One attempt and what its callback saw. */
struct attempt {
    px_connect c;
    int calls, fd, err;
    uint64_t done_ms;
};

/* How many callbacks ran in the whole test, for the waits of the tests that run many attempts. */
static int finished;

static void on_done(px_connect *c, int fd, int err)
{
    struct attempt *a = PX_CONTAINER_OF(c, struct attempt, c);
    a->calls++;
    a->fd = fd;
    a->err = err;
    a->done_ms = rs_now_ms();
    finished++;
}

static px_loop *new_loop(void)
{
    px_loop *loop = NULL;
    ck_assert_int_eq(px_loop_create(&loop), 0);
    return loop;
}

/* Destroys @p loop after checking that nothing of the attempts is still watched or armed. */
static void end_loop(px_loop *loop)
{
    size_t watches = 1, timers = 1;
    px_loop_counts(loop, &watches, &timers);
    ck_assert_msg(watches == 0 && timers == 0, "%zu watches and %zu timers left in the loop after the attempts ended",
                  watches, timers);
    px_loop_destroy(loop);
}

static void start(struct attempt *a, px_loop *loop, const struct sockaddr_in *addr, uint64_t timeout_ms)
{
    *a = (struct attempt){.fd = -2};
    int rc = px_connect_start(&a->c, loop, (const struct sockaddr *)addr, sizeof *addr, timeout_ms, on_done);
    ck_assert_msg(rc == 0, "px_connect_start returned %d: a refused or slow connect must still start (0)", rc);
    ck_assert_msg(a->calls == 0, "the callback ran inside px_connect_start: it must run on a later turn of the loop");
    ck_assert(px_connect_pending(&a->c));
}

FT_TEST(1, connect_succeeds_later_with_a_nonblocking_nodelay_socket, 2,
        "Non-blocking connect: start returns at once (EINPROGRESS), the loop reports the socket writable, SO_ERROR "
        "says 0, and the callback gets the fd (O_NONBLOCK, FD_CLOEXEC, TCP_NODELAY) on a later turn, never inside "
        "px_connect_start, even when loopback connects at once.")
{
    struct sockaddr_in addr;
    int l = rs_listener(&addr, 16);
    px_loop *loop = new_loop();
    struct attempt a;
    start(&a, loop, &addr, 2000);
    ck_assert(rs_run_until(loop, &a.calls, 1, 2000));
    ck_assert_int_eq(a.err, 0);
    ck_assert_int_ge(a.fd, 0);
    ck_assert(!px_connect_pending(&a.c));
    ck_assert_msg(fcntl(a.fd, F_GETFL) & O_NONBLOCK, "the connected socket must be non-blocking");
    ck_assert_msg(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, "the connected socket must be close-on-exec");
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    ck_assert_int_eq(getsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    ck_assert_msg(nodelay != 0, "TCP_NODELAY is off: a proxy must not hold small writes back (Nagle)");
    struct sockaddr_in peer;
    len = sizeof peer;
    ck_assert_int_eq(getpeername(a.fd, (struct sockaddr *)&peer, &len), 0);
    ck_assert_uint_eq(peer.sin_port, addr.sin_port);
    int s = accept(l, NULL, NULL);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(send(a.fd, "ping", 4, 0), 4);
    char buf[4];
    ck_assert_int_eq(recv(s, buf, 4, MSG_WAITALL), 4);
    /* More turns: the attempt is over, its callback must not run again. */
    rs_run_for(loop, 20);
    ck_assert_int_eq(a.calls, 1);
    close(s);
    close(a.fd);
    close(l);
    end_loop(loop);
}

FT_TEST(1, connect_refused_is_reported_through_the_callback, 2,
        "Non-blocking connect: a refusal (RST) arrives as the socket turning writable with SO_ERROR = ECONNREFUSED; "
        "the callback gets fd -1 and -ECONNREFUSED, once, and px_connect_start itself returns 0 (it never reports "
        "the handshake's outcome, nor calls back from inside).")
{
    struct sockaddr_in addr;
    int port = rs_refusing_port(&addr);
    px_loop *loop = new_loop();
    struct attempt a;
    start(&a, loop, &addr, 2000);
    ck_assert(rs_run_until(loop, &a.calls, 1, 2000));
    ck_assert_int_eq(a.err, -ECONNREFUSED);
    ck_assert_int_eq(a.fd, -1);
    ck_assert(!px_connect_pending(&a.c));
    rs_run_for(loop, 20);
    ck_assert_int_eq(a.calls, 1);
    close(port);
    end_loop(loop);
}

FT_TEST(1, a_connect_that_fails_at_once_is_reported_on_a_later_turn, 2,
        "Non-blocking connect: connect() may fail at once instead of EINPROGRESS (no route: a TCP connect to a "
        "broadcast address is refused with ENETUNREACH); start still returns 0, closes the socket, and the callback "
        "gets -ENETUNREACH on a later turn (a 0 ms timer), so every outcome takes one path.")
{
    /* 255.255.255.255: TCP refuses broadcast routes inside connect() itself, on any machine, network or not. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(INADDR_BROADCAST)};
    px_loop *loop = new_loop();
    size_t fds_before = rs_count_fds();
    struct attempt a;
    start(&a, loop, &addr, 1000);
    ck_assert(rs_run_until(loop, &a.calls, 1, 2000));
    ck_assert_int_eq(a.err, -ENETUNREACH);
    ck_assert_int_eq(a.fd, -1);
    ck_assert(!px_connect_pending(&a.c));
    rs_run_for(loop, 20);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    /* Cancelled before its turn: no callback, nothing left. */
    start(&a, loop, &addr, 1000);
    px_connect_cancel(&a.c);
    rs_run_for(loop, 20);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    end_loop(loop);
}

FT_TEST(1, connect_times_out_at_its_deadline, 2,
        "Connect deadline: a SYN that is never answered keeps connect in progress for minutes; the attempt's timer "
        "must end it with -ETIMEDOUT at (not before, nor long after) timeout_ms, close its socket and disarm the "
        "watch.")
{
    struct sockaddr_in addr;
    int filler;
    int l = rs_silent_listener(&addr, &filler);
    px_loop *loop = new_loop();
    size_t fds_before = rs_count_fds();
    struct attempt a;
    /* The loop reads its clock once per turn and counts the deadline from that reading: take a fresh one. */
    ck_assert_int_ge(px_loop_run_once(loop, 0), 0);
    uint64_t t0 = rs_now_ms();
    start(&a, loop, &addr, 150);
    ck_assert(rs_run_until(loop, &a.calls, 1, 2500));
    ck_assert_int_eq(a.err, -ETIMEDOUT);
    ck_assert_int_eq(a.fd, -1);
    /* The turn's reading may lag t0 a little: some slack. */
    ck_assert_msg(a.done_ms - t0 >= 140, "timed out after %llu ms, before the 150 ms deadline",
                  (unsigned long long)(a.done_ms - t0));
    ck_assert_msg(a.done_ms - t0 < 1500, "timed out after %llu ms for a 150 ms deadline",
                  (unsigned long long)(a.done_ms - t0));
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    close(filler);
    close(l);
    end_loop(loop);
}

FT_TEST(1, cancel_closes_the_socket_and_never_calls_back, 2,
        "Cancelling a connect (dropping the future): unwatch the socket, close it, disarm the deadline; the callback "
        "never runs, no fd stays open, and the loop holds neither a watch nor a timer of it. With timeout_ms 0 there "
        "is no deadline at all.")
{
    struct sockaddr_in addr;
    int filler;
    int l = rs_silent_listener(&addr, &filler);
    px_loop *loop = new_loop();
    size_t fds_before = rs_count_fds();
    struct attempt a, b;
    start(&a, loop, &addr, 100);
    start(&b, loop, &addr, 0);
    rs_run_for(loop, 20);
    px_connect_cancel(&a.c);
    ck_assert(!px_connect_pending(&a.c));
    px_connect_cancel(&a.c); /* a no-op now */
    /* Past a's deadline: the cancelled timer must not fire; b has none and waits on. */
    rs_run_for(loop, 250);
    ck_assert_int_eq(a.calls, 0);
    ck_assert_msg(b.calls == 0 && px_connect_pending(&b.c), "timeout_ms 0 means no deadline, yet b ended with %d", b.err);
    px_connect_cancel(&b.c);
    rs_run_for(loop, 20);
    ck_assert_int_eq(b.calls, 0);
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    close(filler);
    close(l);
    end_loop(loop);
}

/* An attempt that starts itself again from its callback, `left` more times. */
struct chain {
    struct attempt a;
    struct sockaddr_in addr;
    int left, ok;
    px_loop *loop;
};

static void on_chain(px_connect *c, int fd, int err)
{
    struct chain *ch = PX_CONTAINER_OF(c, struct chain, a.c);
    ch->a.calls++;
    if (err == 0) {
        ch->ok++;
        close(fd);
    }
    if (ch->left-- > 0) {
        int rc = px_connect_start(c, ch->loop, (struct sockaddr *)&ch->addr, sizeof ch->addr, 1000, on_chain);
        ck_assert_int_eq(rc, 0);
    }
}

FT_TEST(1, an_attempt_can_be_started_again_from_its_own_callback, 2,
        "Ownership at the callback: when done runs the attempt is finished (unwatched, timer disarmed, not pending), "
        "so the owner may start it again from inside; clean up before calling done, never after it.")
{
    struct sockaddr_in addr;
    int l = rs_listener(&addr, 64);
    px_loop *loop = new_loop();
    struct chain ch = {.addr = addr, .left = 9, .loop = loop};
    int rc = px_connect_start(&ch.a.c, loop, (struct sockaddr *)&addr, sizeof addr, 1000, on_chain);
    ck_assert_int_eq(rc, 0);
    ck_assert(rs_run_until(loop, &ch.a.calls, 10, 2500));
    ck_assert_int_eq(ch.ok, 10);
    ck_assert(!px_connect_pending(&ch.a.c));
    close(l);
    end_loop(loop);
}

FT_TEST(1, a_thousand_refused_connects_leak_no_descriptor, 2,
        "Descriptor ownership: a failed attempt closes its socket before the callback (which gets -1); 1,000 refused "
        "connects, 100 at a time, must leave the process with the fds it had.")
{
    struct sockaddr_in addr;
    int port = rs_refusing_port(&addr);
    px_loop *loop = new_loop();
    size_t fds_before = rs_count_fds();
    struct attempt *a = calloc(100, sizeof *a);
    ck_assert_ptr_ne(a, NULL);
    finished = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 100; i++)
            start(&a[i], loop, &addr, 2000);
        ck_assert(rs_run_until(loop, &finished, 100 * (round + 1), 3000));
        for (int i = 0; i < 100; i++)
            ck_assert_int_eq(a[i].err, -ECONNREFUSED);
    }
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    free(a);
    close(port);
    end_loop(loop);
}
FT_TIMEOUT(a_thousand_refused_connects_leak_no_descriptor, 20);

FT_TEST(1, timed_out_and_cancelled_connects_leak_no_descriptor, 2,
        "Descriptor ownership: the deadline path and cancel must both close the socket (a timed-out socket is still "
        "in SYN_SENT: only close stops it); 100 timed-out and 100 cancelled attempts leave the fds as they were.")
{
    struct sockaddr_in addr;
    int filler;
    int l = rs_silent_listener(&addr, &filler);
    px_loop *loop = new_loop();
    size_t fds_before = rs_count_fds();
    struct attempt *a = calloc(200, sizeof *a);
    ck_assert_ptr_ne(a, NULL);
    finished = 0;
    for (int i = 0; i < 200; i++)
        start(&a[i], loop, &addr, i < 100 ? 50 : 0);
    rs_run_for(loop, 10);
    for (int i = 100; i < 200; i++)
        px_connect_cancel(&a[i].c);
    ck_assert(rs_run_until(loop, &finished, 100, 3000));
    rs_run_for(loop, 20);
    ck_assert_int_eq(finished, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(a[i].err, -ETIMEDOUT);
    ck_assert_uint_eq(rs_count_fds(), fds_before);
    free(a);
    close(filler);
    close(l);
    end_loop(loop);
}
FT_TIMEOUT(timed_out_and_cancelled_connects_leak_no_descriptor, 10);
