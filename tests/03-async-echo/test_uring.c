/*
 * Part 6 (optional): the echo server on io_uring. The same clients as parts 4 and 5, against uring.c's server in
 * a forked child (support.c). Each test first checks that this kernel allows io_uring, and skips with what is
 * needed when it does not.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>

FT_PART(6, "from readiness to completion: the echo on io_uring");

#define STOP_MS scaled(3000, 20000)

FT_TEST(6, uring_open_binds_a_port_and_refuses_what_it_cannot_do, 2,
        "ae_uring_server_open sets up the ring, registers the provided buffers, binds and listens. Port 0 gives an "
        "ephemeral port; a taken port comes back as -EADDRINUSE, a bad host or an idle timeout as -EINVAL, and a "
        "failed open closes what it opened (the ring's descriptor too). Close must be safe twice.")
{
    skip_without_io_uring();
    int before = fd_count(0);
    ae_config cfg = {0};
    static ae_uring_server a, b;
    ck_assert_int_eq(ae_uring_server_open(&a, &cfg), 0);
    uint16_t port = ae_uring_server_port(&a);
    ck_assert_uint_ne(port, 0);
    int fd = tcp_connect(port); /* the listener exists: the kernel completes the handshake */
    int during = fd_count(0);
    cfg.port = port;
    ck_assert_int_eq(ae_uring_server_open(&b, &cfg), -EADDRINUSE);
    ck_assert_int_eq(fd_count(0), during);
    ae_uring_server_close(&b);
    cfg = (ae_config){.host = "not-an-address"};
    ck_assert_int_eq(ae_uring_server_open(&b, &cfg), -EINVAL);
    cfg = (ae_config){.idle_timeout_ms = 1000};
    ck_assert_int_eq(ae_uring_server_open(&b, &cfg), -EINVAL);
    ck_assert_int_eq(fd_count(0), during);
    close(fd);
    ae_uring_server_close(&a);
    ae_uring_server_close(&a);
    ck_assert_int_eq(fd_count(0), before);
}

FT_TEST(6, uring_random_payloads_up_to_1_mib_come_back_byte_exact, 3,
        "A multishot receive posts one completion per arrival, each naming the provided buffer it filled; queue "
        "them in order and send each from its own buffer, one send in flight per connection (two sends in flight "
        "may complete out of order). A short send leaves the rest of the buffer for the next. Give a buffer back "
        "to the ring only when its send has completed: until then the kernel reads from it.")
{
    skip_without_io_uring();
    ae_config cfg = {0};
    test_server ts = uring_server_start(&cfg);
    static const size_t sizes[] = {1, 26, 512, 4096, 16384, 65537, 300000, 1 << 20};
    uint8_t *msg = malloc(1 << 20);
    ck_assert(msg != NULL);
    int fd = tcp_connect(ts.port);
    uint64_t total = 200000 + 100; /* the second connection's message and the last one, below */
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        fill_random(msg, sizes[i], (uint32_t)i + 1);
        echo_exact(fd, msg, sizes[i], scaled(5000, 60000));
        total += sizes[i];
    }
    int fd2 = tcp_connect(ts.port); /* a second connection, interleaved with the first */
    fill_random(msg, 200000, 99);
    echo_exact(fd2, msg, 200000, scaled(5000, 60000));
    echo_exact(fd, msg, 100, scaled(5000, 60000));
    close(fd);
    close(fd2);
    free(msg);
    server_stop(&ts, SIGTERM, STOP_MS, false);
    ck_assert_msg(ts.have_stats && ts.ustats.echoed == total, "stats.echoed is %llu bytes, %llu were echoed",
                  (unsigned long long)ts.ustats.echoed, (unsigned long long)total);
}
FT_TIMEOUT(uring_random_payloads_up_to_1_mib_come_back_byte_exact, 60);

FT_TEST(6, uring_a_thousand_clients_share_the_buffer_ring, 3,
        "A thousand connections, 256 provided buffers: when a burst takes them all, a receive ends with -ENOBUFS "
        "(no IORING_CQE_F_MORE). That connection is not broken: park it, and arm its receive again once a send "
        "has given a buffer back. Dropping it, or re-arming at once in a loop, fails here. (Under Valgrind, 200 "
        "clients.)")
{
    skip_without_io_uring();
    raise_nofile();
    int n = scaled(1000, 200);
    ae_config cfg = {.max_conns = 2000};
    test_server ts = uring_server_start(&cfg);
    many_clients_echo(ts.port, n, 3);
    server_stop(&ts, SIGTERM, STOP_MS, true);
    ck_assert_msg(ts.have_stats && ts.ustats.accepted == (uint64_t)n && ts.ustats.closed == (uint64_t)n,
                  "stats after %d clients: accepted %llu, closed %llu", n, (unsigned long long)ts.ustats.accepted,
                  (unsigned long long)ts.ustats.closed);
}
FT_TIMEOUT(uring_a_thousand_clients_share_the_buffer_ring, 20);

/* A connection to 127.0.0.1:@p port with small socket buffers (set before connecting, so they hold), that does not
 * block. */
static int small_window_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr. */
    ck_assert(fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0 &&
              setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0 &&
              connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    set_nonblocking(fd);
    return fd;
}

FT_TEST(6, uring_when_the_buffers_run_out_connections_wait_and_lose_nothing, 3,
        "Three hundred clients send at once and read nothing until they are done: more arrivals wait than the "
        "ring's 256 buffers can take, and some receives end with -ENOBUFS (no IORING_CQE_F_MORE). The connection is "
        "not broken: park it, and arm its receive again when a buffer comes back to the ring. Closing it, or never "
        "arming it again, loses that client's bytes.")
{
    skip_without_io_uring();
    raise_nofile();
    enum { N = 300 };
    const size_t EACH = (size_t)scaled(256 << 10, 64 << 10); /* Valgrind: every byte costs twenty times as much */
    ae_config cfg = {.buf_size = 4096, .max_conns = 1000};
    test_server ts = uring_server_start(&cfg);
    static int fds[N];
    static size_t sent[N], got[N];
    static struct pollfd p[N];
    uint8_t *msg = malloc(EACH), *back = malloc(EACH);
    ck_assert(msg && back);
    fill_random(msg, EACH, 64);
    for (int i = 0; i < N; i++) {
        fds[i] = small_window_connect(ts.port);
        sent[i] = got[i] = 0;
    }
    /* Every client sends all it has (the TCP buffers take it) or until none has made progress for a while. */
    int64_t last = now_ms();
    while (now_ms() - last < scaled(500, 2000)) {
        bool progress = false;
        for (int i = 0; i < N; i++) {
            ssize_t n = sent[i] < EACH ? send(fds[i], msg + sent[i], EACH - sent[i], MSG_NOSIGNAL) : 0;
            if (n > 0) {
                sent[i] += (size_t)n;
                progress = true;
            }
        }
        if (progress)
            last = now_ms();
        else
            sleep_ms(5);
    }
    /* Now every client reads its echo back, all at once. */
    int done = 0;
    for (int i = 0; i < N; i++)
        p[i] = (struct pollfd){fds[i], POLLIN, 0};
    int64_t deadline = now_ms() + scaled(10000, 60000);
    while (done < N) {
        int left = (int)(deadline - now_ms());
        ck_assert_msg(left > 0 && poll(p, N, left) > 0, "only %d of %d clients got their whole echo", done, N);
        for (int i = 0; i < N; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(fds[i], back, sent[i] - got[i], 0);
            ck_assert_msg(n > 0, "client %d: the connection ended after %zu of %zu bytes", i, got[i], sent[i]);
            ck_assert_msg(memcmp(back, msg + got[i], (size_t)n) == 0, "client %d: the echo differs at byte %zu", i, got[i]);
            got[i] += (size_t)n;
            if (got[i] == sent[i]) {
                p[i].fd = -1;
                done++;
            }
        }
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
    free(msg);
    free(back);
    server_stop(&ts, SIGTERM, STOP_MS, true);
    ck_assert_msg(ts.have_stats && ts.ustats.no_buffers > 0,
                  "the ring never ran dry (stats.no_buffers is 0), so this test proved nothing: count -ENOBUFS");
}
FT_TIMEOUT(uring_when_the_buffers_run_out_connections_wait_and_lose_nothing, 40);

FT_TEST(6, uring_a_slow_reader_cannot_take_every_buffer, 3,
        "Backpressure: the buffer ring is shared, so a client that sends and never reads would fill buffer after "
        "buffer, until no other connection can receive. Once a connection owes buf_size bytes or more, cancel its "
        "multishot receive (IORING_OP_ASYNC_CANCEL on its user_data) and arm it again when it owes less; the bytes "
        "wait in the TCP window. A send to a peer whose window is full completes short: a short send leaves the "
        "rest of the buffer for the next send.")
{
    skip_without_io_uring();
    enum { BUDGET = 48 << 20 };
    ae_config cfg = {0};
    test_server ts = uring_server_start(&cfg);
    int slow = tcp_connect(ts.port), fast = tcp_connect(ts.port);
    ck_assert(ping(fast, scaled(2000, 20000)));
    uint8_t *msg = malloc(BUDGET);
    ck_assert(msg != NULL);
    fill_random(msg, BUDGET, 61);
    set_nonblocking(slow);
    size_t sent = push_until_stalled(slow, msg, BUDGET, scaled(300, 2000));
    ck_assert_msg(sent < BUDGET, "the server took all %d MiB from a client that reads nothing", BUDGET >> 20);
    long cpu0 = cpu_ms(ts.pid);
    int64_t t0 = now_ms();
    for (int i = 0; i < 20; i++)
        ck_assert_msg(ping(fast, scaled(1000, 5000)),
                      "a normal client got no echo while a slow reader held the server's buffers");
    int fresh = tcp_connect(ts.port); /* a new connection needs a buffer too */
    ck_assert_msg(ping(fresh, scaled(1000, 5000)), "a new client got no echo while a slow reader held the buffers");
    sleep_ms(300);
    long spent = cpu_ms(ts.pid) - cpu0, wall = (long)(now_ms() - t0);
    ck_assert_msg(spent * 4 < wall, "the server used %ld ms of CPU in %ld ms while backpressured: it spins", spent, wall);
    read_back_exact(slow, msg, sent, scaled(5000, 60000));
    close(slow);
    close(fast);
    close(fresh);
    free(msg);
    server_stop(&ts, SIGTERM, STOP_MS, false);
    ck_assert_msg(ts.have_stats && ts.ustats.no_buffers == 0,
                  "with three clients the buffer ring ran dry %llu times: the slow reader took every buffer",
                  (unsigned long long)ts.ustats.no_buffers);
}
FT_TIMEOUT(uring_a_slow_reader_cannot_take_every_buffer, 20);

FT_TEST(6, uring_half_close_and_reset_end_only_their_connection, 2,
        "A receive of 0 bytes ends the multishot: the peer is done sending, but what it sent is still owed; send it "
        "all, then close. A reset ends it with a negative result: drop what is owed and close. Either way, cancel "
        "nothing twice, and free the connection only after its last completion.")
{
    skip_without_io_uring();
    ae_config cfg = {0};
    test_server ts = uring_server_start(&cfg);
    enum { LEN = 300000 };
    uint8_t *msg = malloc(LEN), *back = malloc(LEN);
    ck_assert(msg && back);
    fill_random(msg, LEN, 62);
    int fd = tcp_connect(ts.port);
    ck_assert_int_eq(send(fd, msg, LEN, MSG_NOSIGNAL), LEN);
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    size_t got = 0;
    ssize_t n;
    while (got < LEN && (n = recv(fd, back + got, LEN - got, 0)) > 0)
        got += (size_t)n;
    ck_assert_msg(got == LEN && memcmp(msg, back, LEN) == 0, "after a half-close, %zu of %d bytes came back", got, LEN);
    ck_assert_msg(wait_closed(fd, scaled(2000, 20000)) == PEER_EOF, "no end of file after the whole echo");
    close(fd);
    int rst = tcp_connect(ts.port), other = tcp_connect(ts.port);
    ck_assert_int_eq(send(rst, msg, LEN, MSG_NOSIGNAL), LEN);
    close_with_rst(rst);
    for (int i = 0; i < 10; i++)
        ck_assert_msg(ping(other, scaled(2000, 20000)), "another client lost its echo after a reset");
    close(other);
    free(msg);
    free(back);
    server_stop(&ts, SIGTERM, STOP_MS, true);
    ck_assert_msg(ts.have_stats && ts.ustats.closed == 3, "stats.closed %llu after three clients",
                  (unsigned long long)ts.ustats.closed);
}
FT_TIMEOUT(uring_half_close_and_reset_end_only_their_connection, 20);

FT_TEST(6, uring_sigterm_drains_refuses_new_clients_and_exits_zero, 3,
        "Poll the signalfd with a request (a read would go to a worker thread, and a signalfd reports only its "
        "reader's signals). On a signal: cancel the multishot accept and close the listener, cancel every "
        "receive, let connections send what they owe (a timeout request bounds the drain), and return 0 once no "
        "request is in flight. A cancelled request still ends with a completion that names its connection: free "
        "a connection only after its last completion.")
{
    skip_without_io_uring();
    ae_config cfg = {.drain_timeout_ms = scaled(800, 3000)};
    test_server ts = uring_server_start(&cfg);
    int idle[8];
    for (int i = 0; i < 8; i++) {
        idle[i] = tcp_connect(ts.port);
        ck_assert(ping(idle[i], scaled(2000, 20000)));
    }
    int stuck = tcp_connect(ts.port);
    set_nonblocking(stuck);
    static uint8_t junk[1 << 16];
    int64_t last = now_ms();
    while (now_ms() - last < scaled(500, 1500)) /* until the server owes bytes and has stopped reading */
        if (send(stuck, junk, sizeof junk, MSG_NOSIGNAL) > 0)
            last = now_ms();
        else
            sleep_ms(5);
    ck_assert_int_eq(kill(ts.pid, SIGTERM), 0);
    for (int i = 0; i < 8; i++) { /* they owe nothing: closed at once, well before the drain's end */
        peer_end end = wait_closed(idle[i], cfg.drain_timeout_ms / 2);
        ck_assert_msg(end == PEER_EOF, "idle client %d saw %s instead of EOF within %d ms of SIGTERM", i,
                      end == PEER_RESET  ? "a reset"
                      : end == PEER_DATA ? "data"
                                         : "nothing",
                      cfg.drain_timeout_ms / 2);
        close(idle[i]);
    }
    int fd = connect_until_refused(ts.port, EXIT_MS);
    ck_assert_msg(fd == -ECONNREFUSED, "a connect after SIGTERM %s", fd >= 0 ? "still succeeded" : strerror(-fd));
    server_stop(&ts, 0, cfg.drain_timeout_ms + EXIT_MS, true);
    ck_assert_msg(ts.have_stats && ts.ustats.accepted == 9 && ts.ustats.closed == 9,
                  "stats after nine clients and a shutdown: accepted %llu, closed %llu",
                  (unsigned long long)ts.ustats.accepted, (unsigned long long)ts.ustats.closed);
    close(stuck);
}
FT_TIMEOUT(uring_sigterm_drains_refuses_new_clients_and_exits_zero, 20);
