/*
 * Part 5: time and shutdown — idle timeouts, SIGINT/SIGTERM through a signalfd, draining, no descriptor left
 * behind. The server runs in a forked child (support.c); every test here also requires it to exit with status 0
 * (no sanitizer or Valgrind report, as many descriptors after ae_server_close as before ae_server_open).
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

FT_PART(5, "timers and graceful shutdown");

FT_TEST(5, an_idle_connection_is_closed_after_the_timeout, 2,
        "Each connection has a deadline, last activity + idle_timeout_ms. The loop's epoll_wait timeout is the "
        "nearest deadline; after each wake-up, close every connection whose deadline has passed (an orderly "
        "close: the client reads EOF) and count it in stats.timed_out.")
{
    ae_config cfg = {.idle_timeout_ms = 200};
    test_server ts = server_start(&cfg, 0);
    int fd = tcp_connect(ts.port);
    /* Taken before the ping, so that the server's last activity (the echo) comes after it: a busy machine may
     * hold this process back for a while after the echo, and only a lower bound counted from here is safe. */
    int64_t t0 = now_ms();
    ck_assert(ping(fd, scaled(2000, 20000)));
    peer_end end = wait_closed(fd, scaled(3000, 10000));
    int64_t waited = now_ms() - t0;
    ck_assert_msg(end == PEER_EOF, "an idle connection was not closed (or not with EOF) within %d ms", scaled(3000, 10000));
    ck_assert_msg(waited >= 190, "closed %lld ms after its last activity, with a 200 ms idle timeout", (long long)waited);
    close(fd);
    server_stop(&ts, SIGTERM, EXIT_MS, true);
    ck_assert_msg(ts.have_stats, "the server exited without reporting its counters");
    ck_assert_msg(ts.stats.timed_out == 1 && ts.stats.accepted == 1 && ts.stats.closed == 1,
                  "stats after one client closed by the idle timer: timed_out %llu, accepted %llu, closed %llu "
                  "(want 1, 1, 1)",
                  (unsigned long long)ts.stats.timed_out, (unsigned long long)ts.stats.accepted,
                  (unsigned long long)ts.stats.closed);
}
FT_TIMEOUT(an_idle_connection_is_closed_after_the_timeout, 20);

FT_TEST(5, activity_pushes_the_idle_deadline_back, 2,
        "The timeout counts from the last byte moved, not from accept: every read or write that makes progress "
        "moves the connection to the back of the idle queue with a fresh deadline. An idle neighbour still "
        "times out meanwhile, and is counted in stats.timed_out.")
{
    /* The busy connection is pinged every timeout / 5: a machine that holds this process back for most of a
     * timeout between two pings (800 ms here) would close it, so the margin is wide and the test short. */
    ae_config cfg = {.idle_timeout_ms = scaled(1000, 3000)};
    test_server ts = server_start(&cfg, 0);
    int busy = tcp_connect(ts.port), idle = tcp_connect(ts.port);
    ck_assert(ping(idle, scaled(2000, 20000)));
    bool idle_closed = false;
    int64_t end = now_ms() + 3 * cfg.idle_timeout_ms;
    while (now_ms() < end) {
        ck_assert_msg(ping(busy, scaled(1000, 5000)), "an active connection was closed by the idle timer");
        idle_closed = idle_closed || wait_closed(idle, 0) == PEER_EOF;
        sleep_ms(cfg.idle_timeout_ms / 5);
    }
    ck_assert_msg(idle_closed,
                  "the idle connection was never closed while another stayed busy: no timer at all, or "
                  "an idle queue no longer sorted by deadline (the busy one, kept at the head, hides it)?");
    close(busy);
    close(idle);
    server_stop(&ts, SIGTERM, EXIT_MS, true);
    ck_assert_msg(ts.have_stats, "the server exited without reporting its counters");
    /* The idle one timed out; the busy one may too, in the moment between its last ping and its close. */
    ck_assert_msg(ts.stats.timed_out >= 1 && ts.stats.timed_out <= 2 && ts.stats.accepted == 2 && ts.stats.closed == 2,
                  "stats: timed_out %llu, accepted %llu, closed %llu (want 1 (or 2), 2, 2)",
                  (unsigned long long)ts.stats.timed_out, (unsigned long long)ts.stats.accepted,
                  (unsigned long long)ts.stats.closed);
}
FT_TIMEOUT(activity_pushes_the_idle_deadline_back, 20);

FT_TEST(5, sigterm_with_clients_connected_closes_them_and_exits_zero, 3,
        "Block SIGINT/SIGTERM and read them from a signalfd registered with the reactor. On a signal: close the "
        "listener, drain every connection (nothing owed: close at once, without waiting for the drain timer), "
        "return 0 from ae_server_run when none is left; ae_server_close then frees everything and restores the "
        "signal mask. Trap: walking the idle list, reap(c) unlinks and frees c, so read c->next before reaping "
        "c; reading it after is a read after free (ASan: heap-use-after-free, Valgrind: invalid read), even when "
        "it happens to work.")
{
    int n = scaled(20, 8);
    /* Nothing is owed, so the drain timer must play no part: a server that waits for it is still running when
     * server_stop gives up (EXIT_MS), long before the minute is over. */
    ae_config cfg = {.drain_timeout_ms = 60000};
    test_server ts = server_start(&cfg, 0);
    int fds[20];
    for (int i = 0; i < n; i++) {
        fds[i] = tcp_connect(ts.port);
        ck_assert(ping(fds[i], scaled(2000, 20000)));
    }
    server_stop(&ts, SIGTERM, EXIT_MS, true);
    ck_assert_msg(
        ts.have_stats && ts.stats.accepted == (uint64_t)n && ts.stats.closed == (uint64_t)n && ts.stats.timed_out == 0,
        "stats after %d clients and a shutdown: accepted %llu, closed %llu, timed_out %llu", n,
        (unsigned long long)ts.stats.accepted, (unsigned long long)ts.stats.closed, (unsigned long long)ts.stats.timed_out);
    for (int i = 0; i < n; i++) {
        peer_end end = wait_closed(fds[i], 1000);
        ck_assert_msg(end == PEER_EOF, "client %d saw %s instead of EOF", i,
                      end == PEER_RESET  ? "a reset"
                      : end == PEER_DATA ? "data"
                                         : "nothing");
        close(fds[i]);
    }
}
FT_TIMEOUT(sigterm_with_clients_connected_closes_them_and_exits_zero, 20);

FT_TEST(5, shutdown_refuses_new_clients_and_a_stuck_peer_cannot_hold_it_forever, 2,
        "SIGINT closes the listener at once (new connects are refused while draining). A connection that owes "
        "bytes to a peer that never reads may flush until drain_timeout_ms; then it is closed anyway and the "
        "server exits 0.")
{
    ae_config cfg = {.drain_timeout_ms = scaled(800, 3000)};
    test_server ts = server_start(&cfg, 0);
    int stuck = tcp_connect(ts.port);
    set_nonblocking(stuck);
    static uint8_t junk[1 << 16];
    int64_t last = now_ms();
    /* Fill every buffer between us. Progress stops for good once the server owes bytes and stops reading; a
     * busy machine can also pause the server for a moment, so only a long silence counts. */
    while (now_ms() - last < scaled(500, 1500))
        if (send(stuck, junk, sizeof junk, MSG_NOSIGNAL) > 0)
            last = now_ms();
        else
            sleep_ms(5);
    ck_assert_int_eq(kill(ts.pid, SIGINT), 0);
    /* The listener closes when the loop reads the signal: poll for the refusal instead of guessing how long a
     * busy machine takes to run the server. A connect that still succeeds only reached the backlog: close it. One
     * that was in the backlog as the listener closed is reset: the closing was under way, so ask again. */
    int fd = connect_until_refused(ts.port, EXIT_MS);
    ck_assert_msg(fd == -ECONNREFUSED, "a connect %d ms after SIGINT %s", EXIT_MS,
                  fd >= 0 ? "still succeeded" : strerror(-fd));
    assert_server_alive(&ts); /* refused while still draining the stuck peer: the listener closed first */
    server_stop(&ts, 0, cfg.drain_timeout_ms + EXIT_MS, true);
    close(stuck);
}
FT_TIMEOUT(shutdown_refuses_new_clients_and_a_stuck_peer_cannot_hold_it_forever, 20);

FT_TEST(5, no_descriptor_survives_clients_that_come_and_go, 2,
        "Every way a connection ends must close its socket exactly once: EOF, half-close, reset mid-message. "
        "The server's /proc/PID/fd count returns to what it was before the clients came; a socket never closed "
        "is a descriptor leak.")
{
    ae_config cfg = {0};
    test_server ts = server_start(&cfg, 0);
    int baseline = fd_count(ts.pid);
    uint8_t msg[100000];
    fill_random(msg, sizeof msg, 77);
    for (int i = 0; i < scaled(60, 15); i++) {
        int fd = tcp_connect(ts.port);
        if (i % 3 == 0) {
            ck_assert(ping(fd, scaled(2000, 20000)));
            close(fd);
        } else if (i % 3 == 1) {
            ck_assert(send(fd, msg, sizeof msg, MSG_NOSIGNAL) > 0);
            close_with_rst(fd);
        } else {
            ck_assert(ping(fd, scaled(2000, 20000)));
            ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
            ck_assert_int_eq(wait_closed(fd, scaled(2000, 20000)), PEER_EOF);
            close(fd);
        }
    }
    int64_t deadline = now_ms() + scaled(2000, 20000);
    int now = fd_count(ts.pid);
    while (now != baseline && now_ms() < deadline) {
        sleep_ms(10);
        now = fd_count(ts.pid);
    }
    ck_assert_msg(now == baseline, "the server holds %d descriptors, %d before the clients came", now, baseline);
    server_stop(&ts, SIGTERM, EXIT_MS, true);
}
FT_TIMEOUT(no_descriptor_survives_clients_that_come_and_go, 20);

FT_TEST(5, close_consumes_a_pending_signal_before_restoring_the_mask, 2,
        "A SIGTERM can arrive after the loop's last read of the signalfd. While SIGTERM is blocked it only waits; "
        "restore the mask with it still pending and it is delivered at once, with its default action: the "
        "process that just shut down cleanly dies. ae_server_close reads the signalfd empty first, then closes "
        "it, then restores the mask. Here the signal is raised between ae_server_open and ae_server_close.")
{
    sigset_t before, after, pending;
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
    ae_config cfg = {.handle_signals = true};
    ae_server s;
    ck_assert_int_eq(ae_server_open(&s, &cfg), 0);
    ck_assert_int_eq(raise(SIGTERM), 0); /* blocked now: it waits for the signalfd, which no loop turn reads */
    ae_server_close(&s);                 /* a pending SIGTERM, once unblocked, ends this process here */
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
    ck_assert_msg(sigismember(&after, SIGTERM) == sigismember(&before, SIGTERM) &&
                      sigismember(&after, SIGINT) == sigismember(&before, SIGINT),
                  "ae_server_close did not restore the signal mask ae_server_open found");
    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert_msg(!sigismember(&pending, SIGTERM), "SIGTERM is still pending after ae_server_close");
}
