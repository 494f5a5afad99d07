/*
 * Chapter 08, parts 3 and 4 through the program: px-proxy in http mode in front of HTTP backends the tests fork.
 * Part 4 checks what an L7 proxy adds to bytes: requests forwarded and answered exactly, x-forwarded-for, every
 * request balanced on its own over pooled keep-alive connections, pipelining, and the statuses the proxy answers
 * itself (503, 502, 504). Part 3 checks the failure handling at the request level: P2C steering load away from a
 * slow backend, retries that hide a dead backend from GETs, POSTs never sent twice, and the retry budget's bound.
 */
#define _GNU_SOURCE
#include "support.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define GET(target) "GET " target " HTTP/1.1\r\nHost: test\r\n\r\n"

/* The body of a response read by client_http(): what follows the head. */
static const char *body_of(const char *response)
{
    const char *end = strstr(response, "\r\n\r\n");
    return end ? end + 4 : "";
}

static void start_http(proxy *p, backend *const *bs, size_t n, const char *balancer, const char *const *more)
{
    const char *args[24] = {"--mode", "http", "--health-interval-ms", "0", "--balancer", balancer};
    size_t k = 6;
    for (size_t i = 0; more != NULL && more[i] != NULL && k < 23; i++)
        args[k++] = more[i];
    args[k] = NULL;
    proxy_start(p, bs, n, args);
}

/* ---- concurrent load: clients on non-blocking sockets, each sending its next request when an answer is whole ---- */

typedef struct load_stats {
    unsigned sent, ok, bad_gateway, unavailable, timeout, other, dropped;
} load_stats;

typedef struct load_conn {
    int fd;
    size_t len;
    char buf[2048];
} load_conn;

static void load_send(load_conn *c, uint16_t port, const char *method, unsigned n, load_stats *st)
{
    if (c->fd < 0)
        c->fd = client_connect(port);
    char req[256];
    int len = snprintf(req, sizeof req, "%s /load/%u HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", method, n,
                       strcmp(method, "POST") ? 0 : 4, strcmp(method, "POST") ? "" : "data");
    ck_assert_msg(client_send(c->fd, req, (size_t)len, 5000), "a load client could not send its request");
    c->len = 0;
    st->sent++;
}

/* Whether c->buf holds a whole response; its status in *status. */
static bool load_whole(const load_conn *c, int *status, bool *closing)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return false;
    size_t head = (size_t)(end - c->buf) + 4, body = 0;
    const char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    if (cl != NULL && cl < end)
        body = strtoul(cl + 17, NULL, 10);
    if (c->len < head + body)
        return false;
    *status = 0;
    sscanf(c->buf, "HTTP/1.%*d %d", status);
    const char *conn = strcasestr(c->buf, "\r\nconnection: close");
    *closing = conn != NULL && conn < end;
    return true;
}

/* Runs @p clients connections sending @p method requests back to back for @p duration_ms; @p mid (may be NULL) is
 * called once half way. Every request must be answered (or its connection closed) within 15 s of the end. */
static void http_load(uint16_t port, int clients, int duration_ms, const char *method, void (*mid)(void *), void *ctx,
                      load_stats *st)
{
    memset(st, 0, sizeof *st);
    load_conn *cs = calloc((size_t)clients, sizeof *cs);
    ck_assert_ptr_nonnull(cs);
    uint64_t start = ft_now_ms(), end = start + (uint64_t)duration_ms, hard = end + 15000;
    bool mid_done = mid == NULL;
    for (int i = 0; i < clients; i++) {
        cs[i].fd = -1;
        load_send(&cs[i], port, method, st->sent, st);
    }
    int open = clients;
    while (open > 0) {
        uint64_t now = ft_now_ms();
        ck_assert_msg(now < hard, "%d load clients still waiting for an answer 15 s after the run ended", open);
        if (!mid_done && now >= start + (uint64_t)duration_ms / 2) {
            mid(ctx);
            mid_done = true;
        }
        struct pollfd pf[64];
        int n = 0;
        for (int i = 0; i < clients; i++)
            if (cs[i].fd >= 0)
                pf[n++] = (struct pollfd){cs[i].fd, POLLIN, 0};
        if (poll(pf, (nfds_t)n, 50) <= 0)
            continue;
        for (int i = 0; i < clients; i++) {
            load_conn *c = &cs[i];
            if (c->fd < 0)
                continue;
            ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, MSG_DONTWAIT);
            if (r < 0 && errno == EAGAIN)
                continue;
            int status;
            bool closing = true, whole = false;
            if (r > 0) {
                c->len += (size_t)r;
                c->buf[c->len] = '\0';
                whole = load_whole(c, &status, &closing);
                if (!whole)
                    continue;
                st->ok += status == 200;
                st->bad_gateway += status == 502;
                st->unavailable += status == 503;
                st->timeout += status == 504;
                st->other += status != 200 && status != 502 && status != 503 && status != 504;
            } else {
                st->dropped++;
            }
            if (closing) {
                close(c->fd);
                c->fd = -1;
            }
            if (ft_now_ms() < end)
                load_send(c, port, method, st->sent, st);
            else if (c->fd >= 0) {
                close(c->fd);
                c->fd = -1;
            }
            if (c->fd < 0)
                open--;
        }
    }
    free(cs);
}

/* ---- part 4: forwarding, pooling, statuses ---- */

FT_TEST(4, http_get_is_forwarded_and_its_answer_returned_exactly, 2,
        "In http mode a session reads a request head, picks an endpoint, sends the rewritten head, reads the "
        "response head and copies head and body back: check px_http_session_start() watches the client, the head "
        "goes out with px_http_write_request_head() and the answer's body is copied byte for byte, up to its "
        "Content-Length.")
{
    backend b = {0};
    backend_start(&b, 7, BACKEND_HTTP);
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    int fd = client_connect(p.port);
    char out[4096];
    int status = client_http(fd, GET("/hello?x=1"), out, sizeof out, 10000);
    ck_assert_msg(status == 200, "GET through the proxy gave status %d (0: closed, -1: no answer in 10 s)", status);
    ck_assert_msg(!strncmp(out, "HTTP/1.1 200 OK\r\n", 17), "the status line changed: '%.40s'", out);
    ck_assert_str_eq(body_of(out), "backend 7 GET /hello?x=1\n");
    close(fd);
    ck_assert_uint_eq(b.shared->requests, 1);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_get_is_forwarded_and_its_answer_returned_exactly, 30);

FT_TEST(4, http_x_forwarded_for_is_added_or_appended, 2,
        "The upstream must learn who the client is from x-forwarded-for: px_http_write_request_head() takes the "
        "client's address, read with getpeername() on the accepted socket. Without a field the proxy adds one; with "
        "one it appends \", <ip>\" to it (replacing it would erase the hops before this proxy).")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    b.shared->echo_xff = 1;
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    int fd = client_connect(p.port);
    char out[4096];
    ck_assert_int_eq(client_http(fd, GET("/a"), out, sizeof out, 10000), 200);
    ck_assert_str_eq(body_of(out), "backend 1 GET /a\nxff=127.0.0.1\n");
    ck_assert_int_eq(
        client_http(fd, "GET /b HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n", out, sizeof out, 10000), 200);
    ck_assert_str_eq(body_of(out), "backend 1 GET /b\nxff=10.1.2.3, 127.0.0.1\n");
    close(fd);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_x_forwarded_for_is_added_or_appended, 30);

FT_TEST(4, http_keep_alive_balances_each_request_over_pooled_connections, 3,
        "90 requests on one client connection, three backends, round-robin: per-request balancing picks each request "
        "on its own (30 each; a proxy that picks once per client connection sends all 90 to one), and a finished "
        "exchange returns its upstream connection to the endpoint's pool, so each backend sees one or two "
        "connections, not 30.")
{
    backend b[3] = {{0}};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i + 1, BACKEND_HTTP);
        bs[i] = &b[i];
    }
    proxy p;
    start_http(&p, bs, 3, "round-robin", NULL);
    int fd = client_connect(p.port);
    char out[4096], req[128];
    for (int i = 0; i < 90; i++) {
        snprintf(req, sizeof req, "GET /r%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        ck_assert_msg(client_http(fd, req, out, sizeof out, 10000) == 200, "request %d of 90 failed", i);
        char want[64];
        snprintf(want, sizeof want, " GET /r%d\n", i);
        ck_assert_msg(strstr(body_of(out), want) != NULL, "request %d got the answer '%s': out of step", i, body_of(out));
    }
    close(fd);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(b[i].shared->requests == 30, "backend %d answered %llu of 90 requests, not 30", i + 1,
                      (unsigned long long)b[i].shared->requests);
        ck_assert_msg(b[i].shared->connections <= 3, "backend %d saw %llu connections for 30 requests: no pooling", i + 1,
                      (unsigned long long)b[i].shared->connections);
    }
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
}
FT_TIMEOUT(http_keep_alive_balances_each_request_over_pooled_connections, 40);

/* Sends @p request and reads one chunked response; its body, the chunks joined, into @p body. Returns the status, or
 * -1 when no whole response came within 10 s. (The backend's bodies never hold the last chunk's bytes.) */
static int client_http_chunked(int fd, const char *request, char *body, size_t cap)
{
    char out[4096];
    size_t got = 0;
    uint64_t deadline = ft_now_ms() + 10000;
    ck_assert(client_send(fd, request, strlen(request), 5000));
    out[0] = '\0';
    while (strstr(out, "\r\n0\r\n\r\n") == NULL) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (ft_now_ms() >= deadline || got + 1 >= sizeof out || poll(&pf, 1, 100) < 0)
            return -1;
        ssize_t r = recv(fd, out + got, sizeof out - 1 - got, MSG_DONTWAIT);
        if (r == 0)
            return -1;
        if (r > 0)
            out[got += (size_t)r] = '\0';
    }
    int status = 0;
    sscanf(out, "HTTP/1.%*d %d", &status);
    size_t n = 0;
    for (const char *c = strstr(out, "\r\n\r\n") + 4;;) {
        unsigned long size = strtoul(c, NULL, 16);
        if (size == 0 || n + size >= cap)
            break;
        c = strstr(c, "\r\n") + 2;
        memcpy(body + n, c, size);
        n += size;
        c += size + 2;
    }
    body[n] = '\0';
    return status;
}

FT_TEST(4, http_chunked_responses_keep_the_connection_in_step, 2,
        "Each answer comes chunked in two writes 20 ms apart. The response ends at its last chunk, found by "
        "px_http_body_scan(), not when the upstream pauses: a proxy that ends the exchange early pools a connection "
        "with half an answer in it, and every later request on it reads the previous one's rest.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    b.shared->chunked = 1;
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    int fd = client_connect(p.port);
    char req[128], body[512], want[128];
    for (int i = 0; i < 10; i++) {
        snprintf(req, sizeof req, "GET /c%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        snprintf(want, sizeof want, "backend 1 GET /c%d\n", i);
        int status = client_http_chunked(fd, req, body, sizeof body);
        ck_assert_msg(status == 200, "chunked answer %d: status %d (-1: none whole within 10 s)", i, status);
        ck_assert_msg(!strcmp(body, want), "chunked answer %d carried '%s', want '%s'", i, body, want);
    }
    close(fd);
    ck_assert_msg(b.shared->connections == 1, "10 chunked answers took %llu upstream connections, not 1",
                  (unsigned long long)b.shared->connections);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_chunked_responses_keep_the_connection_in_step, 30);

FT_TEST(4, http_pipelined_requests_are_answered_in_order, 2,
        "Three requests in one write: the session must answer the first, then find the second where the first ended "
        "in its buffer (the bytes after a message are the next message), and never mix two answers.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    int fd = client_connect(p.port);
    const char reqs[] = GET("/one") GET("/two") "GET /three HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    ck_assert(client_send(fd, reqs, sizeof reqs - 1, 5000));
    char out[8192];
    long n = client_read_all(fd, out, sizeof out - 1, 10000);
    ck_assert_msg(n > 0, "no answer to three pipelined requests, or the connection was not closed after the third");
    out[n] = '\0';
    const char *one = strstr(out, "backend 1 GET /one\n"), *two = strstr(out, "backend 1 GET /two\n"),
               *three = strstr(out, "backend 1 GET /three\n");
    ck_assert_msg(one && two && three && one < two && two < three, "answers missing or out of order: '%s'", out);
    close(fd);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_pipelined_requests_are_answered_in_order, 30);

FT_TEST(4, http_an_upstream_closing_idle_connections_costs_no_request, 2,
        "A backend that closes each connection after one answer, without saying so: the pooled connection must be "
        "dropped and its fd closed as soon as it turns readable (end of file) while idle, not kept for the next "
        "request. The requests are POSTs, which are never retried: a dead pooled connection would show as a 502.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    b.shared->close_after = 1;
    /* Closed at once, the end of file could come with the answer, before the connection is idle in the pool. */
    b.shared->close_delay_ms = 300;
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    /* What the proxy holds with one client and no upstream connection. */
    int base = proxy_fds(&p) + 1;
    int fd = client_connect(p.port);
    char out[4096];
    const char post[] = "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi";
    for (int i = 0; i < 6; i++) {
        int status = client_http(fd, post, out, sizeof out, 10000);
        ck_assert_msg(status == 200, "POST %d of 6 got %d: was a connection the upstream had closed reused?", i, status);
        /* The backend has closed the connection: the proxy must notice while it is idle and close its end. */
        uint64_t deadline = ft_now_ms() + 5000;
        int fds = proxy_fds(&p);
        while (fds > base && ft_now_ms() < deadline) {
            poll(NULL, 0, 10);
            fds = proxy_fds(&p);
        }
        ck_assert_msg(fds <= base,
                      "5 s after the upstream closed its idle connection the proxy still holds %d fds "
                      "(%d without it): an idle pooled connection must be watched and closed at its end of file",
                      fds, base);
    }
    ck_assert_uint_eq(b.shared->posts, 6);
    close(fd);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_an_upstream_closing_idle_connections_costs_no_request, 30);

FT_TEST(4, http_without_an_endpoint_answers_503, 1,
        "px_endpoint_pick() fails with -EHOSTUNREACH when no endpoint is available: the proxy had nowhere to send "
        "the request, which is 503 Service Unavailable (px_http_error_response()), not a silent close.")
{
    proxy p;
    start_http(&p, NULL, 0, "round-robin", NULL);
    int fd = client_connect(p.port);
    char out[4096];
    ck_assert_int_eq(client_http(fd, GET("/x"), out, sizeof out, 10000), 503);
    ck_assert_int_eq(client_http(fd, GET("/y"), out, sizeof out, 10000), 503);
    close(fd);
    proxy_stop(&p, 20000);
}
FT_TIMEOUT(http_without_an_endpoint_answers_503, 30);

FT_TEST(4, http_malformed_requests_get_400_431_or_505_then_a_close, 2,
        "A request the parser refuses is answered by the proxy itself, with the status its error stands for "
        "(PX_HTTP_BAD and PX_HTTP_AMBIGUOUS: 400, PX_HTTP_TOO_LARGE: 431, PX_HTTP_BAD_VERSION: 505), and the "
        "connection is closed after it: its framing is lost. Nothing reaches the backend.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    backend *bs[] = {&b};
    proxy p;
    start_http(&p, bs, 1, "round-robin", NULL);
    static char big[20000];
    memcpy(big, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ", 32);
    memset(big + 32, 'a', sizeof big - 37);
    memcpy(big + sizeof big - 5, "\r\n\r\n", 5);
    struct {
        const char *request;
        int status;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        {"GET /\tx HTTP/1.1\r\nHost: t\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505},
        {big, 431},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = client_connect(p.port);
        char out[4096];
        int status = client_http(fd, cases[i].request, out, sizeof out, 10000);
        ck_assert_msg(status == cases[i].status, "case %zu: status %d, want %d", i, status, cases[i].status);
        char more;
        ck_assert_msg(client_read_all(fd, &more, 1, 5000) == 0, "case %zu: the connection stayed open after %d", i, status);
        close(fd);
    }
    ck_assert_uint_eq(b.shared->requests, 0);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_malformed_requests_get_400_431_or_505_then_a_close, 30);

FT_TEST(4, http_garbage_from_the_upstream_is_502, 2,
        "A response that px_http_parse_response() refuses is an upstream failure: the client gets 502 Bad Gateway "
        "(after the retries a GET is allowed), never the garbage itself, and the connection is not pooled.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    b.shared->garbage = 1;
    backend *bs[] = {&b};
    proxy p;
    const char *more[] = {"--max-failures", "100", NULL};
    start_http(&p, bs, 1, "round-robin", more);
    int fd = client_connect(p.port);
    char out[4096];
    ck_assert_int_eq(client_http(fd, GET("/x"), out, sizeof out, 10000), 502);
    ck_assert_msg(strstr(out, "not HTTP") == NULL, "the garbage reached the client: '%s'", out);
    ck_assert_msg(b.shared->requests >= 1 && b.shared->requests <= 3, "one GET made %llu attempts (at most 3)",
                  (unsigned long long)b.shared->requests);
    b.shared->garbage = 0;
    ck_assert_int_eq(client_http(fd, GET("/y"), out, sizeof out, 10000), 200);
    close(fd);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_garbage_from_the_upstream_is_502, 30);

FT_TEST(3, http_a_backend_slower_than_the_request_timeout_gets_504, 2,
        "--request-timeout-ms runs from a request's arrival to its response head: when it fires the client gets 504 "
        "and the upstream connection is closed, never pooled (its late answer would be read as the next request's). "
        "No retry after the deadline.")
{
    backend b = {0};
    backend_start(&b, 1, BACKEND_HTTP);
    b.shared->delay_ms = 3000;
    backend *bs[] = {&b};
    proxy p;
    const char *more[] = {"--request-timeout-ms", "300", NULL};
    start_http(&p, bs, 1, "round-robin", more);
    int fd = client_connect(p.port);
    char out[4096];
    uint64_t t0 = ft_now_ms();
    int status = client_http(fd, GET("/slow"), out, sizeof out, 10000);
    uint64_t took = ft_now_ms() - t0;
    ck_assert_msg(status == 504, "a request the backend answers after 3 s, with a 300 ms timeout, gave %d", status);
    ck_assert_msg(took < 2500, "the 504 took %llu ms (timeout 300 ms)", (unsigned long long)took);
    b.shared->delay_ms = 0;
    status = client_http(fd, GET("/fast"), out, sizeof out, 10000);
    ck_assert_msg(status == 200 && strstr(body_of(out), "/fast") != NULL,
                  "the next request gave %d '%s': was the timed-out connection reused?", status, body_of(out));
    ck_assert_uint_eq(b.shared->connections, 2);
    close(fd);
    proxy_stop(&p, 20000);
    backend_free(&b);
}
FT_TIMEOUT(http_a_backend_slower_than_the_request_timeout_gets_504, 30);

/* ---- part 3: balancing and failures at the request level ---- */

static double slow_share(const char *balancer)
{
    backend b[3] = {{0}};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i + 1, BACKEND_HTTP);
        bs[i] = &b[i];
    }
    b[2].shared->delay_ms = 200;
    proxy p;
    start_http(&p, bs, 3, balancer, NULL);
    load_stats st;
    http_load(p.port, 8, 1500, "GET", NULL, NULL, &st);
    ck_assert_msg(st.ok == st.sent, "%s: %u of %u requests answered 200", balancer, st.ok, st.sent);
    double total = 0;
    for (int i = 0; i < 3; i++)
        total += (double)b[i].shared->requests;
    double share = total > 0 ? (double)b[2].shared->requests / total : 1;
    fprintf(stderr, "slow backend's share with %s: %.3f of %.0f requests\n", balancer, share, total);
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
    return share;
}

FT_TEST(3, http_p2c_sends_a_slow_backend_far_less_than_round_robin, 3,
        "Three backends, one 200 ms slower, the same load twice. Round-robin gives it a third of the requests; P2C "
        "over peak-EWMA must give it at most a third of that. The balancer only learns latency if each exchange ends "
        "with px_endpoint_release() carrying the response-head latency (not 0, not the connect time).")
{
    double rr = slow_share("round-robin");
    double p2c = slow_share("p2c");
    ck_assert_msg(p2c <= rr / 3, "slow backend's share: %.3f with p2c, %.3f with round-robin (want at most 1/3)", p2c, rr);
}
FT_TIMEOUT(http_p2c_sends_a_slow_backend_far_less_than_round_robin, 60);

static void kill_backend(void *ctx) { backend_kill(ctx); }

FT_TEST(3, http_gets_survive_a_backend_killed_mid_run, 3,
        "GETs are idempotent: a reset, an end of file or a refused connect before any response byte reached the "
        "client is retried (px_retry_decide(), p->retries), on another endpoint than the one that failed. A client "
        "must never see a backend die.")
{
    backend b[3] = {{0}};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i + 1, BACKEND_HTTP);
        bs[i] = &b[i];
    }
    proxy p;
    /* P2C and the default breaker, as a deployment would run: until the dead backend is ejected the balancer may
     * well pick it first, and only a retry that leaves it out reaches a live one every time. */
    start_http(&p, bs, 3, "p2c", NULL);
    load_stats st;
    http_load(p.port, 8, 2000, "GET", kill_backend, &b[1], &st);
    fprintf(stderr, "GETs: %u sent, %u ok, %u 502, %u 503, %u dropped\n", st.sent, st.ok, st.bad_gateway, st.unavailable,
            st.dropped);
    ck_assert_msg(st.ok == st.sent, "%u of %u GETs failed with a backend killed mid-run (502: %u, 503: %u, closed: %u)",
                  st.sent - st.ok, st.sent, st.bad_gateway, st.unavailable, st.dropped);
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
}
FT_TIMEOUT(http_gets_survive_a_backend_killed_mid_run, 40);

FT_TEST(3, http_a_failed_get_is_retried_on_another_endpoint, 2,
        "A retry must not go back to the endpoint that just failed while another is available: keep the endpoints "
        "the request failed on (s->failed) and pass them to px_endpoint_pick. Here p2c still rates the failing "
        "backend best (its failures are fast, and a fast failure leaves its estimate where it was) and the healthy "
        "one is slow, so a retry that asks the balancer again gets the failing one again, three times, and a 502.")
{
    backend bad = {0}, slow = {0};
    backend_start(&bad, 1, BACKEND_HTTP);
    backend_start(&slow, 2, BACKEND_HTTP);
    bad.shared->garbage = 1;
    slow.shared->delay_ms = 80;
    backend *bs[] = {&bad, &slow};
    proxy p;
    const char *more[] = {"--max-failures", "1000", NULL}; /* the breaker never steps in: only the pick can */
    start_http(&p, bs, 2, "p2c", more);
    int fd = client_connect(p.port);
    char out[4096];
    for (int i = 0; i < 6; i++) {
        int status = client_http(fd, GET("/r"), out, sizeof out, 10000);
        ck_assert_msg(status == 200, "GET %d got %d: its retries did not reach the healthy backend", i, status);
    }
    close(fd);
    ck_assert_msg(bad.shared->requests <= 6, "6 GETs made %llu attempts at the failing backend: a retry went back to it",
                  (unsigned long long)bad.shared->requests);
    ck_assert_uint_eq(slow.shared->requests, 6);
    proxy_stop(&p, 20000);
    backend_free(&bad);
    backend_free(&slow);
}
FT_TIMEOUT(http_a_failed_get_is_retried_on_another_endpoint, 30);

FT_TEST(3, http_posts_to_a_dying_backend_get_502_and_are_never_sent_twice, 3,
        "A POST is not idempotent: it may have had its effect before the connection died, so px_retry_decide() "
        "refuses it and the client gets 502. The backends' POST counts must add up to the 200s exactly, and some "
        "POSTs were in flight at the killed backend (it answers after 300 ms), so some 502s must be seen.")
{
    backend b[2] = {{0}};
    backend *bs[2] = {&b[0], &b[1]};
    backend_start(&b[0], 1, BACKEND_HTTP);
    backend_start(&b[1], 2, BACKEND_HTTP);
    b[1].shared->delay_ms = 300;
    proxy p;
    start_http(&p, bs, 2, "round-robin", NULL);
    load_stats st;
    http_load(p.port, 6, 2000, "POST", kill_backend, &b[1], &st);
    uint64_t posts = b[0].shared->posts + b[1].shared->posts;
    fprintf(stderr, "POSTs: %u sent, %u ok, %u 502, %u 503, %u dropped; backends counted %llu\n", st.sent, st.ok,
            st.bad_gateway, st.unavailable, st.dropped, (unsigned long long)posts);
    ck_assert_msg(st.ok + st.bad_gateway + st.unavailable == st.sent, "POSTs without a 200, 502 or 503: %u of %u",
                  st.sent - st.ok - st.bad_gateway - st.unavailable, st.sent);
    ck_assert_msg(st.bad_gateway > 0, "no POST got 502 although the backend died with POSTs in flight: retried?");
    ck_assert_msg(posts == st.ok, "the backends counted %llu POSTs for %u answered 200", (unsigned long long)posts, st.ok);
    proxy_stop(&p, 20000);
    backend_free(&b[0]);
    backend_free(&b[1]);
}
FT_TIMEOUT(http_posts_to_a_dying_backend_get_502_and_are_never_sent_twice, 40);

FT_TEST(3, http_retries_stay_within_the_retry_budget, 3,
        "With every backend answering garbage, each GET may be tried 3 times, but the budget allows retries of at "
        "most ratio x requests plus its floor (10 per second over 10 s): 200 GETs at ratio 0.2 may cost at most 200 "
        "+ 40 + 100 attempts. Every failure must go through px_retry_decide() with &p->budget, and each request must "
        "px_budget_deposit() once (retries not).")
{
    backend b[3] = {{0}};
    backend *bs[3];
    for (int i = 0; i < 3; i++) {
        backend_start(&b[i], i + 1, BACKEND_HTTP);
        b[i].shared->garbage = 1;
        bs[i] = &b[i];
    }
    proxy p;
    const char *more[] = {"--max-failures", "1000", "--retry-ratio", "0.2", NULL};
    start_http(&p, bs, 3, "round-robin", more);
    int fd = client_connect(p.port);
    char out[4096];
    uint64_t t0 = ft_now_ms();
    for (int i = 0; i < 200; i++)
        ck_assert_msg(client_http(fd, GET("/g"), out, sizeof out, 10000) == 502, "GET %d was not answered 502", i);
    close(fd);
    /* The window forgets after 10 s: a slow run earns the floor again for each window it spans. */
    uint64_t windows = 1 + (ft_now_ms() - t0) / 10000;
    uint64_t attempts = b[0].shared->requests + b[1].shared->requests + b[2].shared->requests, most = 240 + 100 * windows;
    fprintf(stderr, "200 GETs made %llu attempts (at most %llu)\n", (unsigned long long)attempts, (unsigned long long)most);
    ck_assert_msg(attempts >= 200 && attempts <= most, "200 GETs made %llu upstream attempts (want 200 to %llu)",
                  (unsigned long long)attempts, (unsigned long long)most);
    proxy_stop(&p, 20000);
    for (int i = 0; i < 3; i++)
        backend_free(&b[i]);
}
FT_TIMEOUT(http_retries_stay_within_the_retry_budget, 60);
