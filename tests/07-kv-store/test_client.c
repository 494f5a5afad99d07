/*
 * Chapter 07, part 6: the client driver. Replies, prepared commands, timeouts and retries against scripted peers
 * (client_support.h: real sockets, a thread of the test that answers as told); pipelining, error replies and a
 * killed server against a real server (kv-server, or redis-server until it exists).
 */
#include "client.h"
#include "client_support.h"
#include "support.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_PART(6, "the client driver: a pipelined pool, typed replies, timeouts and retries");

static kv_client *open_client(uint16_t port, size_t pool, uint32_t timeout_ms, uint32_t retries)
{
    kv_client_options opt = {
        .host = "127.0.0.1", .port = port, .pool_size = pool, .request_timeout_ms = timeout_ms, .max_retries = retries};
    kv_client *c = NULL;
    ck_assert_int_eq(kv_client_open(&opt, &c), KV_OK);
    ck_assert_ptr_ne(c, NULL);
    return c;
}

/* Runs one command given as words and returns the reply, failing the test unless the call ends KV_OK. */
static kv_reply *run(kv_client *c, unsigned flags, size_t argc, const char *const argv[])
{
    kv_reply *r = NULL;
    kv_status st = kv_client_exec(c, flags, argc, argv, NULL, &r);
    ck_assert_msg(st == KV_OK, "%s: status %d, expected KV_OK", argv[0], (int)st);
    ck_assert_ptr_ne(r, NULL);
    return r;
}

/* Checks that r is a bulk string equal to want, then frees it. */
static void expect_bytes(kv_reply *r, const char *want)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(kv_reply_as_bytes(r, &data, &len), KV_OK);
    ck_assert_msg(len == strlen(want) && memcmp(data, want, len) == 0, "got '%.*s', expected '%s'", (int)len,
                  (const char *)data, want);
    kv_reply_free(r);
}

FT_TEST(6, typed_accessors_refuse_wrong_types, 2,
        "Typed results (FromRow/CqlValue): each accessor checks the reply's type and returns KV_INVALID (KV_NOT_FOUND "
        "for nil bytes) instead of reading the wrong field; a server error reply is a value of type "
        "KV_REPLY_ERROR, and the call that brought it returns KV_OK.")
{
    cs_peer p;
    cs_peer_start(&p, CS_PEER_ANSWER, 0);
    kv_client *c = open_client(p.port, 1, 3000, 0);
    const uint8_t *data = NULL;
    size_t len = 0;
    int64_t v = 0;
    const char *msg = NULL;
    size_t n = 0;
    const kv_reply *elem = NULL;

    kv_reply *r = run(c, 0, 1, (const char *[]){"INT"});
    ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_INT);
    ck_assert_int_eq(kv_reply_as_int(r, &v), KV_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(kv_reply_as_bytes(r, &data, &len), KV_INVALID);
    ck_assert_int_eq(kv_reply_error_message(r, &msg), KV_INVALID);
    ck_assert_int_eq(kv_reply_array_len(r, &n), KV_INVALID);
    ck_assert_int_eq(kv_reply_array_at(r, 0, &elem), KV_INVALID);
    kv_reply_free(r);

    r = run(c, 0, 1, (const char *[]){"NIL"});
    ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_NIL);
    ck_assert_int_eq(kv_reply_as_bytes(r, &data, &len), KV_NOT_FOUND);
    ck_assert_int_eq(kv_reply_as_int(r, &v), KV_INVALID);
    kv_reply_free(r);

    r = run(c, 0, 1, (const char *[]){"ERR"});
    ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_ERROR);
    ck_assert_int_eq(kv_reply_error_message(r, &msg), KV_OK);
    ck_assert_str_eq(msg, "ERR scripted failure");
    ck_assert_int_eq(kv_reply_as_int(r, &v), KV_INVALID);
    ck_assert_int_eq(kv_reply_as_bytes(r, &data, &len), KV_INVALID);
    kv_reply_free(r);

    r = run(c, 0, 1, (const char *[]){"STATUS"});
    ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_STATUS);
    expect_bytes(r, "OK");

    r = run(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "hello"});
    ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_BULK);
    ck_assert_int_eq(kv_reply_as_bytes(r, &data, &len), KV_OK);
    ck_assert_int_eq(data[len], '\0');
    ck_assert_int_eq(v, 42); /* not written by the refusals above */
    expect_bytes(r, "hello");
    kv_reply_free(NULL);
    kv_client_close(c);
    cs_peer_stop(&p);
}

FT_TEST(6, array_reply_is_one_tree_the_caller_frees_once, 2,
        "Reply ownership: the callback (or kv_client_exec's caller) owns the reply; its elements are borrowed from "
        "it, and kv_reply_free frees the whole tree, nested arrays included.")
{
    cs_peer p;
    cs_peer_start(&p, CS_PEER_ANSWER, 0);
    kv_client *c = open_client(p.port, 1, 3000, 0);
    kv_reply *r = run(c, 0, 1, (const char *[]){"ARR"});
    size_t n = 0;
    const kv_reply *e = NULL, *inner = NULL;
    const uint8_t *data;
    size_t len;
    int64_t v = 0;
    ck_assert_int_eq(kv_reply_array_len(r, &n), KV_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(kv_reply_array_at(r, 0, &e), KV_OK);
    ck_assert_int_eq(kv_reply_as_bytes(e, &data, &len), KV_OK);
    ck_assert(len == 1 && data[0] == 'a');
    ck_assert_int_eq(kv_reply_array_at(r, 1, &e), KV_OK);
    ck_assert_int_eq(kv_reply_as_int(e, &v), KV_OK);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(kv_reply_array_at(r, 2, &e), KV_OK);
    ck_assert_int_eq(kv_reply_array_len(e, &n), KV_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(kv_reply_array_at(e, 0, &inner), KV_OK);
    ck_assert_int_eq(kv_reply_as_bytes(inner, &data, &len), KV_OK);
    ck_assert(len == 1 && data[0] == 'b');
    ck_assert_int_eq(kv_reply_array_at(r, 3, &e), KV_INVALID);
    kv_reply_free(r);
    kv_client_close(c);
    cs_peer_stop(&p);
}

typedef struct echo_check {
    char want[32];
    int calls;
    kv_status status;
    bool matched;
} echo_check;

static void echo_done(kv_status st, kv_reply *r, void *ctx)
{
    echo_check *e = ctx;
    e->calls++;
    e->status = st;
    const uint8_t *data;
    size_t len;
    e->matched = st == KV_OK && kv_reply_as_bytes(r, &data, &len) == KV_OK && len == strlen(e->want) &&
                 memcmp(data, e->want, len) == 0;
    kv_reply_free(r);
}

FT_TEST(6, prepared_command_checks_arity_once_and_runs_with_its_arguments, 2,
        "Prepared commands: RESP has no server-side prepare, so kv_prepared_new checks the arity of the commands "
        "the driver knows and encodes the header once; each execution appends its arguments.")
{
    kv_prepared *p = NULL;
    ck_assert_int_eq(kv_prepared_new("GET", 2, 0, &p), KV_INVALID);
    ck_assert_int_eq(kv_prepared_new("SET", 1, 0, &p), KV_INVALID);
    ck_assert_int_eq(kv_prepared_new("incr", 0, 0, &p), KV_INVALID);
    ck_assert_int_eq(kv_prepared_new("", 0, 0, &p), KV_INVALID);
    ck_assert_ptr_eq(p, NULL);

    cs_peer peer;
    cs_peer_start(&peer, CS_PEER_ANSWER, 0);
    kv_client *c = open_client(peer.port, 2, 3000, 0);
    kv_prepared *get = NULL, *custom = NULL;
    ck_assert_int_eq(kv_prepared_new("GET", 1, KV_CLIENT_IDEMPOTENT, &get), KV_OK);
    ck_assert_int_eq(kv_prepared_new("CUSTOM", 3, 0, &custom), KV_OK);
    kv_reply *r = NULL;
    ck_assert_int_eq(kv_client_execute(c, get, (const char *[]){"alpha"}, NULL, &r), KV_OK);
    expect_bytes(r, "alpha");
    ck_assert_int_eq(kv_client_execute(c, custom, (const char *[]){"x", "y\0z", "third"}, (size_t[]){1, 3, 5}, &r), KV_OK);
    expect_bytes(r, "third");

    enum { N = 200 };
    static echo_check e[N];
    for (int i = 0; i < N; i++) {
        e[i] = (echo_check){0};
        snprintf(e[i].want, sizeof e[i].want, "key-%d", i);
        const char *args[] = {e[i].want};
        ck_assert_int_eq(kv_client_submit_prepared(c, get, args, NULL, echo_done, &e[i]), KV_OK);
    }
    uint64_t deadline = cs_now_ms() + 10000;
    while (kv_client_pending(c) > 0 && cs_now_ms() < deadline)
        ck_assert_int_eq(kv_client_poll(c, 100), KV_OK);
    for (int i = 0; i < N; i++)
        ck_assert_msg(e[i].calls == 1 && e[i].matched, "prepared GET %s: %d calls, status %d, matched %d", e[i].want,
                      e[i].calls, (int)e[i].status, e[i].matched);
    kv_prepared_free(get);
    kv_prepared_free(custom);
    kv_client_close(c);
    cs_peer_stop(&peer);
}

FT_TEST(6, a_pipeline_larger_than_the_socket_buffers_is_written_whole, 3,
        "Pipelining and partial writes: a non-blocking send takes what fits in the socket buffer; keep the rest and "
        "continue from there on the next POLLOUT. Every request must reach the server whole and in order.")
{
    cs_peer p;
    cs_peer_start_gated(&p, CS_PEER_ANSWER);
    kv_client *c = open_client(p.port, 1, 30000, 0);
    enum { N = 4000, PAD = 2048 };
    static echo_check e[N];
    static char pad[PAD];
    memset(pad, 'p', sizeof pad);
    for (int i = 0; i < N; i++) {
        e[i] = (echo_check){0};
        snprintf(e[i].want, sizeof e[i].want, "key-%d", i);
        const char *argv[] = {"PAD", pad, e[i].want};
        size_t lens[] = {3, PAD, strlen(e[i].want)};
        ck_assert_int_eq(kv_client_submit(c, 0, 3, argv, lens, echo_done, &e[i]), KV_OK);
    }
    /* 8 MiB queued; the peer reads nothing yet, so the socket buffers fill and the writes stop short. */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(kv_client_poll(c, 5), KV_OK);
    ck_assert_uint_eq(__atomic_load_n(&p.requests, __ATOMIC_SEQ_CST), 0);
    cs_peer_open_gate(&p);
    uint64_t deadline = cs_now_ms() + 30000;
    while (kv_client_pending(c) > 0 && cs_now_ms() < deadline)
        ck_assert_int_eq(kv_client_poll(c, 100), KV_OK);
    for (int i = 0; i < N; i++)
        ck_assert_msg(e[i].calls == 1 && e[i].matched, "request %d: %d calls, status %d, matched %d", i, e[i].calls,
                      (int)e[i].status, e[i].matched);
    ck_assert_uint_eq(__atomic_load_n(&p.requests, __ATOMIC_SEQ_CST), N);
    kv_client_close(c);
    cs_peer_stop(&p);
}
FT_TIMEOUT(a_pipeline_larger_than_the_socket_buffers_is_written_whole, 60);

FT_TEST(6, a_silent_server_times_out_in_time_and_the_pool_stays_whole, 3,
        "Timeouts: each attempt has a deadline from when it is handed to a connection; when it passes, the "
        "connection is poisoned (its reply may still come), so close it and end its requests: KV_TIMEOUT, or "
        "KV_OUTCOME_UNKNOWN for a write that left. The pool keeps its size; no slot stays half-open.")
{
    cs_peer p;
    int fds = cs_count_fds();
    cs_peer_start(&p, CS_PEER_SILENT, 0);
    kv_client *c = open_client(p.port, 2, 200, 0);
    for (int round = 0; round < 3; round++) {
        kv_reply *r = NULL;
        uint64_t t0 = cs_now_ms();
        ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "k"}, NULL, &r), KV_TIMEOUT);
        uint64_t took = cs_now_ms() - t0;
        ck_assert_msg(took >= 190 && took < 3000, "a 200 ms timeout took %llu ms", (unsigned long long)took);
        ck_assert_ptr_eq(r, NULL);
        ck_assert_int_eq(kv_client_exec(c, 0, 3, (const char *[]){"SET", "k", "v"}, NULL, &r), KV_OUTCOME_UNKNOWN);
    }
    kv_client_stats s;
    kv_client_stats_get(c, &s);
    ck_assert_uint_eq(s.pool_size, 2);
    ck_assert_uint_le(s.open, 2);
    ck_assert_uint_eq(s.in_flight, 0);
    ck_assert_uint_eq(s.timeouts, 6);
    ck_assert_uint_eq(s.retries, 0);
    ck_assert_uint_eq(kv_client_pending(c), 0);
    kv_client_close(c);
    cs_peer_stop(&p); /* the peer's sockets go too: what is left open now, the client leaked */
    ck_assert_int_eq(cs_count_fds(), fds);
}
FT_TIMEOUT(a_silent_server_times_out_in_time_and_the_pool_stays_whole, 20);

FT_TEST(6, the_late_reply_of_a_timed_out_request_goes_to_no_other_request, 3,
        "Matching by order: RESP has no stream ids (CQL has), so the n-th reply on a connection belongs to the n-th "
        "request written there. A timed-out request's reply still comes: close the connection, or keep its slot in "
        "the FIFO and throw the reply away; never just forget the request.")
{
    cs_peer p;
    cs_peer_start(&p, CS_PEER_HOLD_FIRST, 0);
    kv_client *c = open_client(p.port, 1, 200, 0);
    kv_reply *r = NULL;
    ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "first"}, NULL, &r), KV_TIMEOUT);
    r = run(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "second"});
    expect_bytes(r, "second");
    r = run(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "third"});
    expect_bytes(r, "third");
    kv_client_close(c);
    cs_peer_stop(&p);
}
FT_TIMEOUT(the_late_reply_of_a_timed_out_request_goes_to_no_other_request, 10);

FT_TEST(6, idempotent_retries_are_bounded_and_other_requests_are_sent_once, 2,
        "Retries and idempotence: an idempotent request is tried 1 + max_retries times (at least once), a "
        "non-idempotent one exactly once (at most once), however its attempt ended.")
{
    cs_peer p;
    cs_peer_start(&p, CS_PEER_SILENT, 0);
    kv_client *c = open_client(p.port, 1, 100, 2);
    kv_reply *r = NULL;
    uint64_t t0 = cs_now_ms();
    ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "k"}, NULL, &r), KV_TIMEOUT);
    ck_assert_uint_ge(cs_now_ms() - t0, 290);
    ck_assert_int_eq(kv_client_exec(c, 0, 2, (const char *[]){"INCR", "k"}, NULL, &r), KV_OUTCOME_UNKNOWN);
    /* Every byte was written before the calls returned; wait for the peer to have read them all. */
    uint64_t deadline = cs_now_ms() + 5000;
    while (__atomic_load_n(&p.requests, __ATOMIC_SEQ_CST) < 4 && cs_now_ms() < deadline)
        poll(NULL, 0, 5); /* polling the peer's counter, with the deadline above */
    kv_client_stats s;
    kv_client_stats_get(c, &s);
    ck_assert_uint_eq(s.retries, 2);
    ck_assert_uint_eq(__atomic_load_n(&p.requests, __ATOMIC_SEQ_CST), 4);
    kv_client_close(c);
    cs_peer_stop(&p);
}
FT_TIMEOUT(idempotent_retries_are_bounded_and_other_requests_are_sent_once, 10);

typedef struct close_count {
    int calls;
    kv_status status;
    bool had_reply;
} close_count;

static void count_done(kv_status st, kv_reply *r, void *ctx)
{
    close_count *cc = ctx;
    cc->calls++;
    cc->status = st;
    cc->had_reply = r != NULL;
    kv_reply_free(r);
}

FT_TEST(6, closing_with_requests_in_flight_ends_each_exactly_once, 1,
        "Every submitted request ends exactly once: kv_client_close calls back what is still in flight with "
        "KV_CLOSED and no reply, then frees its FIFOs and buffers.")
{
    cs_peer p;
    cs_peer_start(&p, CS_PEER_SILENT, 0);
    kv_client *c = open_client(p.port, 2, 5000, 0);
    close_count cc[10] = {0};
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kv_client_submit(c, 0, 2, (const char *[]){"GET", "k"}, NULL, count_done, &cc[i]), KV_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kv_client_poll(c, 10), KV_OK);
    ck_assert_uint_eq(kv_client_pending(c), 10);
    kv_client_close(c);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(cc[i].calls, 1);
        ck_assert_int_eq(cc[i].status, KV_CLOSED);
        ck_assert(!cc[i].had_reply);
    }
    cs_peer_stop(&p);
}

FT_TEST(6, a_thousand_refused_connects_leak_no_descriptor, 2,
        "A pool as a bounded set of healthy connections: a connect that fails (refused at once or later) closes its "
        "socket and leaves the slot closed, ready to try again; nothing is kept half-open.")
{
    uint16_t port = cs_dead_port();
    int fds = cs_count_fds();
    kv_client *c = open_client(port, 2, 1000, 0);
    for (int i = 0; i < 1000; i++) {
        kv_reply *r = NULL;
        ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "k"}, NULL, &r), KV_IO_ERROR);
    }
    kv_client_stats s;
    kv_client_stats_get(c, &s);
    ck_assert_uint_eq(s.connects, 1000);
    ck_assert_uint_eq(s.connect_failures, 1000);
    ck_assert_uint_eq(s.open, 0);
    ck_assert_int_eq(cs_count_fds(), fds);
    kv_client_close(c);
    ck_assert_int_eq(cs_count_fds(), fds);
}
FT_TIMEOUT(a_thousand_refused_connects_leak_no_descriptor, 20);
