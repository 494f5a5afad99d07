/*
 * Chapter 06, part 5: the service under many clients at once, and across a PostgreSQL restart.
 */
#define _GNU_SOURCE
#include "ferrite_test.h"
#include "pg_support.h"
#include "service_support.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

enum { CLIENTS = 1000 };

/* Room for CLIENTS sockets here and in the service, which inherits the limit: the soft limit raised towards the
 * hard one. Skips the test when the hard limit is too low to hold them. */
static void make_room_for_clients(void)
{
    struct rlimit r;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &r), 0);
    rlim_t want = 2 * CLIENTS + 256;
    if (r.rlim_cur >= want)
        return;
    if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want)
        FT_SKIP("%d clients need %lu descriptors; the hard limit here is %lu", CLIENTS, (unsigned long)want,
                (unsigned long)r.rlim_max);
    r.rlim_cur = want;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
}

FT_TEST(5, a_thousand_keep_alive_clients_are_each_answered_twice, 3,
        "A thousand connections open at once, each sending a request, reading the answer and sending another on the "
        "same connection (keep-alive). Every worker accepts until EAGAIN, keeps each connection's state apart, "
        "answers with Content-Length and keeps the connection open after a 1.1 response without Connection: close.")
{
    make_room_for_clients();
    const char *const args[] = {"--checkout-ms", "5000", NULL};
    svc s;
    svc_start(&s, args);
    ck_assert_int_eq(http_call(s.port, "PUT", "/items/6101", "shared").status, 200);
    int *fds = malloc(CLIENTS * sizeof *fds);
    client *c = malloc(sizeof *c);
    ck_assert(fds != NULL && c != NULL);
    for (int i = 0; i < CLIENTS; i++) {
        client_open(c, s.port);
        fds[i] = c->fd;
    }
    /* Every request is on the wire before the first answer is read: the service holds a thousand at once. One
     * request at a time per connection, so an answer read on fds[i] is that connection's own. */
    static const char get[] = "GET /items/6101 HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < CLIENTS; i++) {
            *c = (client){.fd = fds[i]};
            client_send_str(c, i % 10 == 9 ? "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" : get);
        }
        for (int i = 0; i < CLIENTS; i++) {
            *c = (client){.fd = fds[i]};
            reply r;
            ck_assert_msg(client_read(c, &r, 20000), "client %d of %d got no answer in round %d", i, CLIENTS, round + 1);
            ck_assert_msg(r.status == 200 && !r.close, "client %d, round %d: status %d%s", i, round + 1, r.status,
                          r.close ? " with Connection: close" : "");
            if (i % 10 != 9)
                ck_assert_msg(!strcmp(r.body, "shared"), "client %d, round %d: body '%s'", i, round + 1, r.body);
        }
    }
    for (int i = 0; i < CLIENTS; i++) {
        *c = (client){.fd = fds[i]};
        client_close(c);
    }
    free(c);
    free(fds);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 20000)), 0);
}
FT_TIMEOUT(a_thousand_keep_alive_clients_are_each_answered_twice, 90);

/* Until the key can be written again (PostgreSQL back and a pool connection made): true, or false at the deadline. */
static bool put_until_ok(uint16_t port, const char *path, const char *body, int timeout_ms)
{
    uint64_t deadline = svc_now_ms() + (uint64_t)timeout_ms;
    do {
        if (http_call(port, "PUT", path, body).status == 200)
            return true;
        poll(NULL, 0, 50); /* the pool reconnects with backoff: ask again, until the deadline */
    } while (svc_now_ms() < deadline);
    return false;
}

FT_TEST(5, postgresql_down_then_back_hits_still_served_misses_fail_fast_then_full_service, 4,
        "When PostgreSQL goes away, the service stays up: a cached key is still a hit, a miss is answered with an "
        "error (503 when no connection comes by the checkout deadline, 500 for a query on a broken one), never a "
        "hang. The pool replaces broken connections in the background (reconnect with backoff), so once PostgreSQL "
        "is back every request is served again, with no descriptor left from the failed connects.")
{
    const char *const args[] = {"--pool", "2", "--checkout-ms", "1000", NULL};
    svc s;
    svc_start_db(&s, pg_spare_conninfo(), args);
    ck_assert_int_eq(http_call(s.port, "PUT", "/items/6201", "before").status, 200);
    reply r = http_call(s.port, "GET", "/items/6201", NULL);
    ck_assert(r.status == 200 && !strcmp(r.body, "before"));
    int fds_before = svc_count_fds(s.pid);

    pg_spare_stop();
    r = http_call(s.port, "GET", "/items/6201", NULL);
    ck_assert_msg(r.status == 200 && !strcmp(r.body, "before"),
                  "a cached key while PostgreSQL is down: status %d '%s' (a hit needs no database)", r.status, r.body);
    for (int i = 0; i < 3; i++) {
        r = http_call(s.port, "GET", "/items/6202", NULL); /* http_call fails the test if no answer comes in 10 s */
        ck_assert_msg(r.status == 503 || r.status == 500, "a miss while PostgreSQL is down: status %d, not 503 or 500",
                      r.status);
    }
    r = http_call(s.port, "GET", "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);

    pg_spare_start(); /* a new cluster in the same place: the table is empty again */
    ck_assert_msg(put_until_ok(s.port, "/items/6202", "after", 30000),
                  "PostgreSQL is back but the service still cannot write after 30 s: are broken connections replaced?");
    r = http_call(s.port, "GET", "/items/6202", NULL);
    ck_assert_msg(r.status == 200 && !strcmp(r.body, "after"), "GET after the restart: %d '%s'", r.status, r.body);
    uint64_t deadline = svc_now_ms() + 10000;
    int fds_after;
    while ((fds_after = svc_count_fds(s.pid)) > fds_before && svc_now_ms() < deadline)
        poll(NULL, 0, 10); /* the last failed connects are closed shortly: poll, with the deadline above */
    ck_assert_msg(fds_after <= fds_before, "the service had %d descriptors before the outage and %d after", fds_before,
                  fds_after);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 20000)), 0);
}
FT_TIMEOUT(postgresql_down_then_back_hits_still_served_misses_fail_fast_then_full_service, 90);
