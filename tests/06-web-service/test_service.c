/*
 * Chapter 06, part 5: the service, tested as a program (fork and exec of ws-service) against a real PostgreSQL.
 *
 * Slow queries are made the sound way: the test's own connection takes `LOCK TABLE items IN ACCESS EXCLUSIVE
 * MODE` in an open transaction, so every SELECT, INSERT and DELETE the service sends waits in PostgreSQL until the
 * test commits. The test can see each waiting statement in pg_locks (a lock request not granted), so it knows when
 * a query is in flight without sleeping, and it decides when the query ends. While the lock is held, a request
 * that needs the database cannot be answered, and one that does not (a cache hit, /healthz) must be.
 */
#define _GNU_SOURCE
#include "ferrite_test.h"
#include "pg_support.h"
#include "service_support.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

FT_PART(5, "the service");

/* Statements of the service waiting for the test's table lock: the queries it has in flight. */
static int waiting_queries(PGconn *probe)
{
    PGresult *r = PQexec(probe, "SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass AND NOT granted");
    ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Polls until @p want statements wait for the lock (10 s at most); returns the last count. */
static int wait_for_queries(PGconn *probe, int want)
{
    uint64_t deadline = svc_now_ms() + 10000;
    int n;
    while ((n = waiting_queries(probe)) < want && svc_now_ms() < deadline)
        poll(NULL, 0, 5); /* polling PostgreSQL's view, with the deadline above */
    return n;
}

/* Makes the row @p id hold @p body (version 1), straight in the database. */
static void seed(PGconn *admin, long id, const char *body)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO items VALUES (%ld, '%s', 1) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, version = 1", id,
             body);
    pg_admin_exec(admin, sql);
}

/* Makes every statement on items wait (in pg_locks, ungranted) until the caller's COMMIT: a slow query without a
 * sleep. */
static void hold_items(PGconn *admin)
{
    pg_admin_exec(admin, "BEGIN");
    pg_admin_exec(admin, "LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
}

static const char *const CHECKOUT_5S[] = {"--checkout-ms", "5000", NULL};

FT_TEST(5, put_then_get_returns_the_body_and_delete_removes_it, 3,
        "PUT stores through the pool and invalidates the key; GET goes through the cache; DELETE answers 204, "
        "then GET is 404 (the delete must invalidate the cache too)")
{
    svc s;
    svc_start(&s, CHECKOUT_5S);
    reply r = http_call(s.port, "PUT", "/items/5101", "first");
    ck_assert_int_eq(r.status, 200);
    r = http_call(s.port, "GET", "/items/5101", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "first");
    r = http_call(s.port, "PUT", "/items/5101", "second");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(atoi(r.body), 2); /* the new version */
    r = http_call(s.port, "GET", "/items/5101", NULL);
    ck_assert_msg(r.status == 200 && !strcmp(r.body, "second"), "GET after the second PUT: %d '%s' (stale cache?)",
                  r.status, r.body);
    r = http_call(s.port, "DELETE", "/items/5101", NULL);
    ck_assert_int_eq(r.status, 204);
    r = http_call(s.port, "GET", "/items/5101", NULL);
    ck_assert_int_eq(r.status, 404);
    r = http_call(s.port, "GET", "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    r = http_call(s.port, "GET", "/items/x7", NULL);
    ck_assert_int_eq(r.status, 400);
    r = http_call(s.port, "POST", "/items/7", "");
    ck_assert_int_eq(r.status, 405);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
}
FT_TIMEOUT(put_then_get_returns_the_body_and_delete_removes_it, 40);

FT_TEST(5, a_miss_then_a_hit_is_counted_in_metrics, 2,
        "The first GET of a key is a cache miss that makes one query; the second is a hit and makes none: "
        "/metrics counts both (ws_cache_hits_total, ws_cache_misses_total, ws_db_queries_total)")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5201, "cached");
    svc s;
    svc_start(&s, CHECKOUT_5S);
    reply r = http_call(s.port, "GET", "/items/5201", NULL);
    ck_assert_str_eq(r.body, "cached");
    ck_assert_int_eq(svc_metric(s.port, "ws_cache_misses_total"), 1);
    ck_assert_int_eq(svc_metric(s.port, "ws_cache_hits_total"), 0);
    r = http_call(s.port, "GET", "/items/5201", NULL);
    ck_assert_str_eq(r.body, "cached");
    ck_assert_int_eq(svc_metric(s.port, "ws_cache_hits_total"), 1);
    ck_assert_int_eq(svc_metric(s.port, "ws_db_queries_total{kind=\"get\"}"), 1);
    ck_assert_int_ge(svc_metric(s.port, "ws_requests_total{status=\"200\"}"), 2);
    ck_assert_int_ge(svc_metric(s.port, "ws_request_duration_seconds_count"), 2);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
    PQfinish(admin);
}
FT_TIMEOUT(a_miss_then_a_hit_is_counted_in_metrics, 40);

FT_TEST(5, pipelined_requests_are_answered_in_order, 3,
        "Pipelined requests on one connection are answered in the order they came: parse the next request only "
        "after the previous response is queued, even when the previous one waits for the database")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5301, "slow-one");
    svc s;
    svc_start(&s, CHECKOUT_5S);
    hold_items(admin);
    client *c = malloc(sizeof *c);
    client_open(c, s.port);
    /* The GET waits for the lock; /healthz behind it could be answered at once, but must not be sent first. */
    client_send_str(c,
                    "GET /items/5301 HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                    "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(wait_for_queries(admin, 1), 1);
    reply r;
    pg_admin_exec(admin, "COMMIT");
    ck_assert_msg(client_read(c, &r, 10000), "no first reply");
    ck_assert_msg(r.status == 200 && !strcmp(r.body, "slow-one"),
                  "the first reply must answer the first request (GET /items/5301), got %d '%s'", r.status, r.body);
    ck_assert_msg(client_read(c, &r, 10000), "no second reply");
    ck_assert_msg(r.status == 200 && !strcmp(r.body, "ok\n"), "second reply: %d '%s'", r.status, r.body);
    ck_assert_msg(client_read(c, &r, 10000), "no third reply");
    ck_assert_int_eq(r.status, 404);
    client_close(c);
    free(c);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
    PQfinish(admin);
}
FT_TIMEOUT(pipelined_requests_are_answered_in_order, 40);

FT_TEST(5, a_request_sent_one_byte_at_a_time_is_answered, 2,
        "Feed every read to the parser, however short: a partial request waits for more bytes, it is not an error")
{
    svc s;
    svc_start(&s, CHECKOUT_5S);
    client *c = malloc(sizeof *c);
    client_open(c, s.port);
    const char *req = "PUT /items/5401 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nbytes";
    int one = 1; /* each byte its own segment: the service's reads see it in pieces */
    ck_assert_int_eq(setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    for (size_t i = 0; req[i]; i++)
        client_send(c, req + i, 1);
    reply r;
    ck_assert_msg(client_read(c, &r, 10000), "no reply to a request sent byte by byte");
    ck_assert_int_eq(r.status, 200);
    client_send_str(c, "GET /items/5401 HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_msg(client_read(c, &r, 10000), "no reply to the second request (keep-alive)");
    ck_assert_str_eq(r.body, "bytes");
    client_close(c);
    free(c);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
}
FT_TIMEOUT(a_request_sent_one_byte_at_a_time_is_answered, 40);

FT_TEST(5, a_malformed_request_gets_400_and_the_connection_closes, 2,
        "After a parse error the parser no longer knows where the next request starts: answer its status with "
        "Connection: close, then close")
{
    svc s;
    svc_start(&s, CHECKOUT_5S);
    client *c = malloc(sizeof *c);
    client_open(c, s.port);
    client_send_str(c, "GET /healthz HTTP/1.1\nHost: t\n\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    reply r;
    ck_assert_msg(client_read(c, &r, 10000), "no reply to a malformed request");
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(r.close, "the 400 must say Connection: close");
    ck_assert_msg(client_wait_eof(c, 10000), "the connection must close after the 400, with nothing more sent");
    client_close(c);
    free(c);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
}
FT_TIMEOUT(a_malformed_request_gets_400_and_the_connection_closes, 40);

enum { STAMPEDE = 200 };

FT_TEST(5, stampede_of_200_gets_on_one_key_makes_one_query, 5,
        "stampede: a miss goes through ws_cache_get(); only the LEAD queries, every WAIT gets the leader's answer "
        "through its waiter (posted to its own loop) — never call the pool directly on a miss")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5501, "herd");
    const char *const args[] = {"--checkout-ms", "20000", "--workers", "2", NULL};
    svc s;
    svc_start(&s, args);
    hold_items(admin);
    client *c = calloc(STAMPEDE, sizeof *c);
    ck_assert_ptr_ne(c, NULL);
    for (int i = 0; i < STAMPEDE; i++)
        client_open(&c[i], s.port);
    for (int i = 0; i < STAMPEDE; i++)
        client_send_str(&c[i], "GET /items/5501 HTTP/1.1\r\nHost: t\r\n\r\n");
    /* Every request has reached the cache while the first query waits for the lock. */
    double misses = svc_metric_wait(s.port, "ws_cache_misses_total", STAMPEDE, 20000);
    ck_assert_int_eq(misses, STAMPEDE);
    int waiting = wait_for_queries(admin, 1);
    ck_assert_msg(waiting == 1, "%d queries for one key are waiting in PostgreSQL: a stampede", waiting);
    ck_assert_int_eq(svc_metric(s.port, "ws_db_queries_total{kind=\"get\"}"), 1);
    pg_admin_exec(admin, "COMMIT");
    for (int i = 0; i < STAMPEDE; i++) {
        reply r;
        ck_assert_msg(client_read(&c[i], &r, 20000), "client %d got no reply", i);
        ck_assert_msg(r.status == 200 && !strcmp(r.body, "herd"), "client %d: %d '%s'", i, r.status, r.body);
        client_close(&c[i]);
    }
    free(c);
    ck_assert_int_eq(svc_metric(s.port, "ws_db_queries_total{kind=\"get\"}"), 1);
    ck_assert_int_eq(svc_metric(s.port, "ws_cache_flights_total"), 1);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
    PQfinish(admin);
}
FT_TIMEOUT(stampede_of_200_gets_on_one_key_makes_one_query, 90);

FT_TEST(5, a_slow_query_does_not_delay_cache_hits, 4,
        "Never hold a lock across a query, and never block the loop waiting for PostgreSQL: while one GET waits "
        "for the database, hits on other keys on the same worker are answered")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5601, "hot");
    seed(admin, 5602, "slow");
    const char *const args[] = {"--checkout-ms", "20000", "--workers", "1", NULL};
    svc s;
    svc_start(&s, args);
    reply r = http_call(s.port, "GET", "/items/5601", NULL); /* now cached */
    ck_assert_str_eq(r.body, "hot");
    hold_items(admin);
    client *slow = malloc(sizeof *slow);
    client_open(slow, s.port);
    client_send_str(slow, "GET /items/5602 HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(wait_for_queries(admin, 1), 1);
    for (int i = 0; i < 20; i++) {
        r = http_call(s.port, "GET", "/items/5601", NULL); /* fails the test after 10 s without a reply */
        ck_assert_str_eq(r.body, "hot");
    }
    ck_assert_int_eq(waiting_queries(admin), 1); /* the slow GET is still waiting: the hits did not wait for it */
    pg_admin_exec(admin, "COMMIT");
    ck_assert_msg(client_read(slow, &r, 10000), "the slow GET got no reply after the lock was released");
    ck_assert_str_eq(r.body, "slow");
    client_close(slow);
    free(slow);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
    PQfinish(admin);
}
FT_TIMEOUT(a_slow_query_does_not_delay_cache_hits, 60);

FT_TEST(5, an_exhausted_pool_answers_503_with_retry_after, 3,
        "When the pool checkout deadline passes, answer 503 Service Unavailable with Retry-After: 1 instead of "
        "hanging; the connection that was in use still finishes its query")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5701, "holder");
    const char *const args[] = {"--checkout-ms", "300", "--pool", "1", NULL};
    svc s;
    svc_start(&s, args);
    hold_items(admin);
    client *holder = malloc(sizeof *holder);
    client_open(holder, s.port);
    client_send_str(holder, "GET /items/5701 HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(wait_for_queries(admin, 1), 1);
    reply r = http_call(s.port, "GET", "/items/5702", NULL);
    ck_assert_int_eq(r.status, 503);
    ck_assert_uint_eq(r.retry_after, 1);
    ck_assert_int_ge(svc_metric(s.port, "ws_pool_timeouts_total"), 1);
    ck_assert_int_ge(svc_metric(s.port, "ws_requests_total{status=\"503\"}"), 1);
    pg_admin_exec(admin, "COMMIT");
    ck_assert_msg(client_read(holder, &r, 10000), "the query holding the only connection never finished");
    ck_assert_str_eq(r.body, "holder");
    client_close(holder);
    free(holder);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
    PQfinish(admin);
}
FT_TIMEOUT(an_exhausted_pool_answers_503_with_retry_after, 60);

FT_TEST(5, sigterm_drains_a_request_in_flight_then_exits_0, 4,
        "drain on SIGTERM: stop accepting, close idle keep-alive connections, answer the request in flight, "
        "return every pool connection, then exit 0 — do not exit with requests unanswered")
{
    PGconn *admin = pg_admin(pg_conninfo());
    seed(admin, 5801, "last words");
    svc s;
    svc_start(&s, CHECKOUT_5S);
    client *idle = malloc(sizeof *idle), *busy = malloc(sizeof *busy);
    client_open(idle, s.port);
    client_send_str(idle, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    reply r;
    ck_assert(client_read(idle, &r, 10000));
    hold_items(admin);
    client_open(busy, s.port);
    client_send_str(busy, "GET /items/5801 HTTP/1.1\r\nHost: t\r\n\r\n");
    ck_assert_int_eq(wait_for_queries(admin, 1), 1);
    kill(s.pid, SIGTERM);
    ck_assert_msg(client_wait_eof(idle, 10000), "an idle keep-alive connection must be closed on SIGTERM");
    int status;
    ck_assert_msg(waitpid(s.pid, &status, WNOHANG) == 0, "the service exited with a request still in flight");
    pg_admin_exec(admin, "COMMIT");
    ck_assert_msg(client_read(busy, &r, 10000), "the request in flight was not answered after SIGTERM");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "last words");
    ck_assert_msg(r.close, "a response sent while draining says Connection: close");
    status = svc_stop(&s, 15000);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the service must exit 0 after draining (wait status %d)", status);
    client_close(idle);
    client_close(busy);
    free(idle);
    free(busy);
    PQfinish(admin);
}
FT_TIMEOUT(sigterm_drains_a_request_in_flight_then_exits_0, 60);

FT_TEST(5, many_connections_leak_no_fd, 3,
        "Every accepted socket is closed exactly once, on every path: after a reply with Connection: close, after "
        "a parse error, and when the client hangs up mid-request (fd leak)")
{
    svc s;
    svc_start(&s, CHECKOUT_5S);
    int before = svc_count_fds(s.pid);
    client *c = malloc(sizeof *c);
    for (int i = 0; i < 300; i++) {
        client_open(c, s.port);
        reply r;
        if (i % 3 == 0) {
            client_send_str(c, "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            ck_assert(client_read(c, &r, 10000));
        } else if (i % 3 == 1) {
            client_send_str(c, "BAD\r\n\r\n");
            ck_assert(client_read(c, &r, 10000));
        } else {
            client_send_str(c, "GET /heal");
        }
        client_close(c);
    }
    free(c);
    uint64_t deadline = svc_now_ms() + 10000;
    int after;
    while ((after = svc_count_fds(s.pid)) > before && svc_now_ms() < deadline)
        poll(NULL, 0, 10); /* the last hang-ups reach the service shortly: poll, with the deadline above */
    ck_assert_msg(after <= before, "the service had %d fds before 300 connections and %d after", before, after);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
}
FT_TIMEOUT(many_connections_leak_no_fd, 60);

FT_TEST(5, access_log_writes_one_line_per_request, 1,
        "With --access-log, each answered request writes one line (method, target, status) to stderr")
{
    const char *const args[] = {"--checkout-ms", "5000", "--access-log", NULL};
    svc s;
    svc_start_logged(&s, args);
    reply r = http_call(s.port, "GET", "/nowhere-to-be-found", NULL);
    ck_assert_int_eq(r.status, 404);
    char log[8192];
    size_t len = 0;
    uint64_t deadline = svc_now_ms() + 10000;
    log[0] = '\0';
    while (strstr(log, "GET /nowhere-to-be-found 404") == NULL && svc_now_ms() < deadline && len < sizeof log - 1) {
        struct pollfd p = {s.err_fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(s.err_fd, log + len, sizeof log - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        log[len] = '\0';
    }
    ck_assert_msg(strstr(log, "GET /nowhere-to-be-found 404") != NULL, "no access log line in: %s", log);
    ck_assert_int_eq(WEXITSTATUS(svc_stop(&s, 10000)), 0);
}
FT_TIMEOUT(access_log_writes_one_line_per_request, 40);
