/*
 * Part 4, the server's limits: a full connection table and a full descriptor table make it stop accepting for a
 * while, never spin, and count each pause; the counters come back from the forked server as it exits (support.c).
 * They need parts 1-3 too.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

FT_TEST(4, at_the_connection_limit_new_clients_wait_until_one_leaves, 2,
        "With max_conns live connections, stop asking for the listener's readiness (modify its interest to 0) "
        "instead of accepting: new clients wait in the kernel's backlog. When a connection closes, ask again. "
        "Count each pause (interest on -> off) in stats.accept_paused, each accept and close in theirs.")
{
    ae_config cfg = {.max_conns = 3};
    test_server ts = server_start(&cfg, 0);
    int fds[5];
    for (int i = 0; i < 3; i++) {
        fds[i] = tcp_connect(ts.port);
        ck_assert_msg(ping(fds[i], scaled(2000, 20000)), "client %d of 3 got no echo", i);
    }
    fds[3] = tcp_connect(ts.port); /* completes in the backlog */
    ck_assert_msg(!ping(fds[3], 300), "a fourth client was served although max_conns is 3");
    close(fds[0]);
    char back[64];
    struct pollfd p = {fds[3], POLLIN, 0};
    ck_assert_msg(poll(&p, 1, scaled(2000, 20000)) == 1, "the waiting client was not served after a slot freed");
    ck_assert_int_gt(recv(fds[3], back, sizeof back, 0), 0);
    ck_assert(ping(fds[1], scaled(2000, 20000)));
    fds[4] = tcp_connect(ts.port); /* the freed slot is taken again: this one waits */
    ck_assert_msg(!ping(fds[4], 300), "a fifth client was served although three are connected and max_conns is 3");
    server_stop(&ts, SIGTERM, EXIT_MS, true); /* at the limit: the shutdown closes the three */
    for (int i = 1; i < 5; i++)
        close(fds[i]);
    ck_assert_msg(ts.have_stats, "the server exited without reporting its counters");
    /* Paused at the third client (or when the fourth came), resumed when the first left, paused again at the
     * fourth (or when the fifth came); the shutdown ends a pause without a count. Resumes alone would be 1. */
    ck_assert_msg(ts.stats.accept_paused == 2,
                  "stats.accept_paused is %llu; accepting was paused twice (count each pause, not each resume)",
                  (unsigned long long)ts.stats.accept_paused);
    ck_assert_msg(ts.stats.accepted == 4 && ts.stats.closed == 4,
                  "stats after four clients accepted (the fifth never was): accepted %llu, closed %llu (want 4, 4)",
                  (unsigned long long)ts.stats.accepted, (unsigned long long)ts.stats.closed);
}
FT_TIMEOUT(at_the_connection_limit_new_clients_wait_until_one_leaves, 20);

FT_TEST(4, out_of_descriptors_pauses_accepting_without_spinning, 3,
        "accept fails with EMFILE but the client stays in the backlog, so a level-triggered listener is "
        "readable again at once: retrying in a loop burns a core. Stop asking for the listener's readiness; "
        "ask again when a connection closes or after a short retry timer, and count the pause in "
        "stats.accept_paused. Existing clients keep working.")
{
    ae_config cfg = {.max_conns = 100};
    test_server ts = server_start(&cfg, 2);
    int fds[6];
    for (int i = 0; i < 6; i++)
        fds[i] = tcp_connect(ts.port); /* all complete in the backlog; only two fit in the server */
    sleep_ms(scaled(100, 1000));
    long cpu0 = cpu_ms(ts.pid);
    int64_t t0 = now_ms();
    sleep_ms(1000);
    long spent = cpu_ms(ts.pid) - cpu0, wall = (long)(now_ms() - t0);
    ck_assert_msg(spent * 4 < wall, "the server used %ld ms of CPU in %ld ms while out of descriptors: it spins", spent,
                  wall);
    assert_server_alive(&ts);
    ck_assert_msg(ping(fds[0], scaled(2000, 20000)) && ping(fds[1], scaled(2000, 20000)),
                  "the clients accepted before EMFILE are no longer served");
    close(fds[0]);
    close(fds[1]);
    /* Valgrind enforces the descriptor limit itself, after the kernel's accept succeeded: it closes the new
     * socket and reports EMFILE, so under Valgrind each retry consumes a queued client. A fresh client then. */
    int waiting = under_valgrind() ? tcp_connect(ts.port) : fds[2];
    ck_assert_msg(ping(waiting, scaled(3000, 20000)), "a waiting client was not accepted after descriptors freed");
    if (waiting != fds[2])
        close(waiting);
    for (int i = 2; i < 6; i++)
        close(fds[i]);
    server_stop(&ts, SIGTERM, EXIT_MS, true);
    ck_assert_msg(ts.have_stats, "the server exited without reporting its counters");
    /* At least one pause; about one per AE_ACCEPT_RETRY_MS while out of descriptors, never thousands. */
    ck_assert_msg(ts.stats.accept_paused >= 1 && ts.stats.accept_paused <= 1000,
                  "stats.accept_paused is %llu after accept failed with EMFILE (want at least 1, at most a "
                  "few per second)",
                  (unsigned long long)ts.stats.accept_paused);
    ck_assert_msg(ts.stats.accepted >= 3 && ts.stats.closed == ts.stats.accepted,
                  "stats: accepted %llu, closed %llu (want at least 3, and every one closed)",
                  (unsigned long long)ts.stats.accepted, (unsigned long long)ts.stats.closed);
}
FT_TIMEOUT(out_of_descriptors_pauses_accepting_without_spinning, 25);

FT_TEST(4, out_of_descriptors_retries_on_a_timer_when_no_connection_closes, 2,
        "A descriptor can come free without any connection closing (another file closed, the limit raised), so "
        "a close must not be the only way out of EMFILE. Arm a retry deadline AE_ACCEPT_RETRY_MS ahead, let it "
        "bound epoll_wait's timeout like the idle deadlines, and when it expires ask for the listener again.")
{
    ae_config cfg = {.max_conns = 100};
    test_server ts = server_start(&cfg, 1);
    int first = tcp_connect(ts.port);
    ck_assert_msg(ping(first, scaled(2000, 20000)), "the first client, which fits, got no echo");
    int waiting = tcp_connect(ts.port); /* accept fails with EMFILE: no room left */
    static const char msg[] = "still waiting";
    ck_assert_int_eq(send(waiting, msg, sizeof msg, MSG_NOSIGNAL), (ssize_t)sizeof msg);
    struct pollfd p = {waiting, POLLIN, 0};
    int later = -1;
    if (under_valgrind()) {
        /* Valgrind enforces the limit itself after the kernel's accept succeeded: it closes the new socket, so
         * the first attempt drops `waiting`, and only a retry ever reaches a client that comes later. */
        ck_assert_msg(wait_closed(waiting, 20000) != PEER_SILENT, "the server never tried to accept");
        later = tcp_connect(ts.port);
        p.fd = later;
    } else {
        ck_assert_msg(poll(&p, 1, 300) == 0, "a client was served beyond the descriptor limit");
        struct rlimit rl; /* room for more, with no connection closing: only a retry can notice */
        ck_assert_int_eq(prlimit(ts.pid, RLIMIT_NOFILE, NULL, &rl), 0);
        rl.rlim_cur = rl.rlim_cur + 16 < rl.rlim_max ? rl.rlim_cur + 16 : rl.rlim_max;
        ck_assert_int_eq(prlimit(ts.pid, RLIMIT_NOFILE, &rl, NULL), 0);
    }
    ck_assert_msg(poll(&p, 1, scaled(3000, 20000)) == 1,
                  "room came free but the waiting client was never accepted: no retry after EMFILE");
    if (later >= 0)
        close(later);
    else { /* accepted at last: the message sent while it waited comes back */
        char back[sizeof msg];
        size_t got = 0;
        while (got < sizeof back) {
            ssize_t n = recv(waiting, back + got, sizeof back - got, 0);
            ck_assert_msg(n > 0, "the waiting client was accepted but got %zu of %zu bytes back", got, sizeof back);
            got += (size_t)n;
        }
        ck_assert(memcmp(back, msg, sizeof msg) == 0);
    }
    close(first);
    close(waiting);
    server_stop(&ts, SIGTERM, EXIT_MS, true);
}
FT_TIMEOUT(out_of_descriptors_retries_on_a_timer_when_no_connection_closes, 25);
