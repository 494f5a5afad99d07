/*
 * Chapter 07, part 6: the client driver against a real server (client_support.h: $KV_SERVER, else redis-server):
 * thousands of pipelined requests, error replies, a write whose reply is lost, a server killed and restarted.
 */
#include "client.h"
#include "client_support.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static kv_client *connect_to(uint16_t port, size_t pool, uint32_t timeout_ms, uint32_t retries)
{
    kv_client_options opt = {.port = port, .pool_size = pool, .request_timeout_ms = timeout_ms, .max_retries = retries};
    kv_client *c = NULL;
    ck_assert_int_eq(kv_client_open(&opt, &c), KV_OK);
    return c;
}

/* Polls until every submitted request has ended, or fails the test after ms milliseconds. */
static void drain(kv_client *c, uint64_t ms)
{
    uint64_t deadline = cs_now_ms() + ms;
    while (kv_client_pending(c) > 0) {
        ck_assert_msg(cs_now_ms() < deadline, "%zu requests still pending after %llu ms", kv_client_pending(c),
                      (unsigned long long)ms);
        ck_assert_int_eq(kv_client_poll(c, 100), KV_OK);
    }
}

/* The value of key i in generation gen: distinct for every (i, gen), 1 to 2 KiB long, 200 KiB for every 500th. */
static size_t make_value(int i, int gen, char *buf, size_t size)
{
    size_t len = i % 500 == 0 ? 200 * 1024 : 1 + (size_t)(i * 7919 + gen * 131) % 2048;
    int head = snprintf(buf, size, "v%d.%d:", i, gen);
    for (size_t k = (size_t)head; k < len; k++)
        buf[k] = (char)('a' + (k * 31 + (size_t)i) % 26);
    return len > (size_t)head ? len : (size_t)head;
}

enum { PIPE_KEYS = 2000 };

typedef struct pipe_req {
    int key, gen; /* the value this request wrote, or that its GET must read */
    bool is_get;
    int calls;
    bool ok;
} pipe_req;

static char *value_buf(void)
{
    static char *v;
    if (v == NULL)
        v = malloc(256 * 1024);
    return v;
}

static void pipe_done(kv_status st, kv_reply *r, void *ctx)
{
    pipe_req *q = ctx;
    q->calls++;
    const uint8_t *data;
    size_t len;
    if (st != KV_OK)
        q->ok = false;
    else if (!q->is_get)
        q->ok = kv_reply_kind(r) == KV_REPLY_STATUS;
    else if (kv_reply_as_bytes(r, &data, &len) == KV_OK) {
        char *want = value_buf();
        size_t want_len = make_value(q->key, q->gen, want, 256 * 1024);
        q->ok = len == want_len && memcmp(data, want, len) == 0;
    }
    kv_reply_free(r);
}

static void submit_set(kv_client *c, pipe_req *q, const char *prefix, int i, int gen)
{
    char key[32], *val = value_buf();
    snprintf(key, sizeof key, "%s%d", prefix, i);
    size_t len = make_value(i, gen, val, 256 * 1024);
    *q = (pipe_req){.key = i, .gen = gen};
    ck_assert_int_eq(kv_client_submit(c, KV_CLIENT_IDEMPOTENT, 3, (const char *[]){"SET", key, val},
                                      (size_t[]){3, strlen(key), len}, pipe_done, q),
                     KV_OK);
}

static void submit_get(kv_client *c, pipe_req *q, const char *prefix, int i, int gen)
{
    char key[32];
    snprintf(key, sizeof key, "%s%d", prefix, i);
    *q = (pipe_req){.key = i, .gen = gen, .is_get = true};
    ck_assert_int_eq(kv_client_submit(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", key}, NULL, pipe_done, q), KV_OK);
}

static void check_all(const pipe_req *q, size_t n, const char *phase)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(q[i].calls == 1 && q[i].ok, "%s, request %zu (%s key %d): %d calls, %s", phase, i,
                      q[i].is_get ? "GET" : "SET", q[i].key, q[i].calls,
                      q[i].ok ? "right reply" : "wrong reply (another request's?) or a failure");
}

FT_TEST(6, thousands_of_pipelined_requests_each_get_their_own_reply, 4,
        "Pipelining: write many requests before reading any reply; each connection's FIFO matches the n-th reply "
        "to the n-th request (head-of-line order). A write the socket takes only in part is continued on the next "
        "POLLOUT, from where it stopped.")
{
    cs_server s;
    cs_server_start(&s, false);
    kv_client *c = connect_to(s.port, 2, 20000, 0);
    pipe_req *q = calloc(2 * PIPE_KEYS, sizeof *q);
    for (int i = 0; i < PIPE_KEYS; i++)
        submit_set(c, &q[i], "pipe:", i, 1);
    drain(c, 40000);
    check_all(q, PIPE_KEYS, "first SETs");
    /* GETs of the keys above interleaved with SETs of new ones, all in flight at once on both connections. */
    for (int i = 0; i < PIPE_KEYS; i++) {
        submit_get(c, &q[2 * i], "pipe:", i, 1);
        submit_set(c, &q[2 * i + 1], "next:", i, 2);
    }
    drain(c, 40000);
    check_all(q, 2 * PIPE_KEYS, "interleaved GETs and SETs");
    for (int i = 0; i < PIPE_KEYS; i++)
        submit_get(c, &q[i], "next:", i, 2);
    drain(c, 40000);
    check_all(q, PIPE_KEYS, "GETs of the second SETs");
    free(q);
    free(value_buf());
    kv_client_close(c);
    cs_server_stop(&s);
}
FT_TIMEOUT(thousands_of_pipelined_requests_each_get_their_own_reply, 60);

FT_TEST(6, a_server_error_reply_is_typed_and_the_connection_stays_usable, 2,
        "Error replies: '-ERR ...' is a complete reply, matched like any other; the call returns KV_OK with a "
        "KV_REPLY_ERROR reply, and the connection stays healthy in the pool (no reconnect).")
{
    cs_server s;
    cs_server_start(&s, false);
    kv_client *c = connect_to(s.port, 1, 5000, 0);
    const char *msg = NULL;
    int64_t v;
    for (int i = 0; i < 3; i++) {
        kv_reply *r = NULL;
        ck_assert_int_eq(kv_client_exec(c, 0, 2, (const char *[]){"NOSUCHCOMMAND", "x"}, NULL, &r), KV_OK);
        ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_ERROR);
        ck_assert_int_eq(kv_reply_error_message(r, &msg), KV_OK);
        ck_assert_msg(strncmp(msg, "ERR", 3) == 0, "error message '%s'", msg);
        ck_assert_int_eq(kv_reply_as_int(r, &v), KV_INVALID);
        kv_reply_free(r);
        ck_assert_int_eq(kv_client_exec(c, 0, 3, (const char *[]){"SET", "e", "1"}, NULL, &r), KV_OK);
        ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_STATUS);
        kv_reply_free(r);
        ck_assert_int_eq(kv_client_exec(c, 0, 1, (const char *[]){"GET"}, NULL, &r), KV_OK); /* wrong arity */
        ck_assert_int_eq(kv_reply_kind(r), KV_REPLY_ERROR);
        kv_reply_free(r);
    }
    kv_client_stats st;
    kv_client_stats_get(c, &st);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_uint_eq(st.closed_on_error, 0);
    kv_client_close(c);
    cs_server_stop(&s);
}
FT_TIMEOUT(a_server_error_reply_is_typed_and_the_connection_stays_usable, 30);

/* The integer value of key, read with GET (kv-server and redis store INCR's counter as its decimal text). */
static int64_t read_counter(kv_client *c, const char *key)
{
    kv_reply *r = NULL;
    ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", key}, NULL, &r), KV_OK);
    const uint8_t *data;
    size_t len;
    kv_status st = kv_reply_as_bytes(r, &data, &len);
    int64_t v = st == KV_NOT_FOUND ? 0 : -1;
    if (st == KV_OK)
        v = strtoll((const char *)data, NULL, 10);
    kv_reply_free(r);
    return v;
}

FT_TEST(6, a_write_whose_reply_is_lost_is_unknown_and_never_sent_again, 3,
        "Idempotence and retries: INCR is not idempotent. Its reply was lost after the server applied it, so its "
        "outcome is unknown (at most once): report KV_OUTCOME_UNKNOWN and do not retry; retrying would apply it "
        "twice (at least once is for idempotent requests only).")
{
    cs_server s;
    cs_server_start(&s, false);
    cs_peer p;
    cs_peer_start(&p, CS_PEER_MUTE_FIRST, s.port);
    kv_client *c = connect_to(p.port, 1, 1000, 3);
    kv_reply *r = NULL;
    ck_assert_int_eq(kv_client_exec(c, 0, 2, (const char *[]){"INCR", "once"}, NULL, &r), KV_OUTCOME_UNKNOWN);
    ck_assert_ptr_eq(r, NULL);
    ck_assert_int_eq(read_counter(c, "once"), 1);
    kv_client_stats st;
    kv_client_stats_get(c, &st);
    ck_assert_uint_eq(st.retries, 0);
    kv_client_close(c);
    cs_peer_stop(&p);
    cs_server_stop(&s);
}
FT_TIMEOUT(a_write_whose_reply_is_lost_is_unknown_and_never_sent_again, 30);

typedef struct kill_req {
    bool is_get;
    int calls;
    kv_status status;
    bool right;
} kill_req;

static void kill_done(kv_status st, kv_reply *r, void *ctx)
{
    kill_req *q = ctx;
    q->calls++;
    q->status = st;
    const uint8_t *data;
    size_t len;
    int64_t v;
    if (st == KV_OK && q->is_get)
        q->right = kv_reply_as_bytes(r, &data, &len) == KV_OK && len == 5 && memcmp(data, "hello", 5) == 0;
    else if (st == KV_OK)
        q->right = kv_reply_as_int(r, &v) == KV_OK;
    kv_reply_free(r);
}

FT_TEST(6, after_a_killed_server_reads_are_retried_and_writes_are_not, 4,
        "Retries and idempotence after a broken connection: idempotent GETs are retried on a fresh connection once "
        "the server is back; an INCR that was written is KV_OUTCOME_UNKNOWN (never retried), one that never left "
        "KV_IO_ERROR; the server counts exactly the INCRs it applied, and the pool is whole again.")
{
    cs_server s;
    cs_server_start(&s, true);
    kv_client *c = connect_to(s.port, 2, 3000, 3);
    kv_reply *r = NULL;
    ck_assert_int_eq(kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 3, (const char *[]){"SET", "g", "hello"}, NULL, &r), KV_OK);
    kv_reply_free(r);
    for (int i = 0; i < 10; i++) { /* both connections open, and the counter at 10, durably */
        ck_assert_int_eq(kv_client_exec(c, 0, 2, (const char *[]){"INCR", "ctr"}, NULL, &r), KV_OK);
        kv_reply_free(r);
    }
    cs_server_kill(&s);
    cs_server_restart(&s);

    enum { N = 100 };
    kill_req q[2 * N] = {0};
    for (int i = 0; i < N; i++) {
        q[2 * i].is_get = true;
        ck_assert_int_eq(
            kv_client_submit(c, KV_CLIENT_IDEMPOTENT, 2, (const char *[]){"GET", "g"}, NULL, kill_done, &q[2 * i]), KV_OK);
        ck_assert_int_eq(kv_client_submit(c, 0, 2, (const char *[]){"INCR", "ctr"}, NULL, kill_done, &q[2 * i + 1]), KV_OK);
    }
    drain(c, 30000);
    int ok = 0, unknown = 0;
    for (int i = 0; i < 2 * N; i++) {
        ck_assert_int_eq(q[i].calls, 1);
        if (q[i].is_get) {
            ck_assert_msg(q[i].status == KV_OK && q[i].right, "GET %d: status %d, right reply %d", i / 2, (int)q[i].status,
                          q[i].right);
            continue;
        }
        ck_assert_msg(q[i].status == KV_OK || q[i].status == KV_OUTCOME_UNKNOWN || q[i].status == KV_IO_ERROR,
                      "INCR %d ended with status %d", i / 2, (int)q[i].status);
        ok += q[i].status == KV_OK && q[i].right;
        unknown += q[i].status == KV_OUTCOME_UNKNOWN;
    }
    kv_client_stats st;
    kv_client_stats_get(c, &st);
    ck_assert_uint_ge(st.retries, 1);
    ck_assert_uint_ge(st.closed_on_error, 1);
    int64_t ctr = read_counter(c, "ctr");
    ck_assert_msg(ctr >= 10 + ok && ctr <= 10 + ok + unknown,
                  "the server counts %lld INCRs; the client saw 10 + %d acknowledged and %d unknown", (long long)ctr, ok,
                  unknown);
    kv_client_stats_get(c, &st);
    ck_assert_uint_eq(st.pool_size, 2);
    ck_assert_uint_le(st.open, 2);
    ck_assert_uint_eq(st.in_flight, 0);
    kv_client_close(c);
    cs_server_stop(&s);
}
FT_TIMEOUT(after_a_killed_server_reads_are_retried_and_writes_are_not, 60);
