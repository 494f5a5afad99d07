/*
 * Chapter 07, part 5: kv-server tested as a program — fork and exec of $KV_SERVER on --port 0 in a scratch
 * directory, driven by redis-cli, redis-benchmark and the tests' own RESP connections. Every test stops the server
 * with SIGTERM and asks for exit status 0, so a leak or a race its sanitizer finds at exit fails the test too.
 */
#define _GNU_SOURCE
#include "ferrite_test.h"
#include "server_support.h"
#include "support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FT_TEST(5, server_redis_cli_set_get_del_round_trip, 3,
        "RESP replies as redis writes them: SET answers +OK once durable, GET a bulk string or the nil bulk $-1, "
        "DEL the number of keys that existed (:1), EXISTS a count; redis-cli prints exactly those")
{
    srv_need_redis_tools();
    srv s;
    srv_start(&s, NULL, NULL);
    char out[4096];
    ck_assert_int_eq(srv_cli(s.port, "PING", out, sizeof out), 0);
    ck_assert_str_eq(out, "PONG\n");
    ck_assert_int_eq(srv_cli(s.port, "SET greeting hello", out, sizeof out), 0);
    ck_assert_str_eq(out, "OK\n");
    ck_assert_int_eq(srv_cli(s.port, "GET greeting", out, sizeof out), 0);
    ck_assert_str_eq(out, "hello\n");
    ck_assert_int_eq(srv_cli(s.port, "EXISTS greeting nothing greeting", out, sizeof out), 0);
    ck_assert_str_eq(out, "2\n");
    ck_assert_int_eq(srv_cli(s.port, "DEL greeting nothing", out, sizeof out), 0);
    ck_assert_str_eq(out, "1\n");
    ck_assert_int_eq(srv_cli(s.port, "GET greeting", out, sizeof out), 0);
    ck_assert_str_eq(out, "\n"); /* the nil bulk: redis-cli prints an empty line when not on a terminal */
    srv_conn *c = srv_connect(s.port);
    ck_assert_str_eq(srv_do(c, "GET greeting"), "$-1\r\n");
    ck_assert_str_eq(srv_do(c, "ECHO hi"), "$2\r\nhi\r\n");
    ck_assert_str_eq(srv_do(c, "FROB a b"), "-ERR unknown command 'FROB', with args beginning with: 'a' 'b' \r\n");
    ck_assert_str_eq(srv_do(c, "GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    ck_assert_msg(srv_do(c, "SET k v EX 10")[0] == '-',
                  "SET with an option this server does not support must be an "
                  "error, not a silent +OK");
    ck_assert(srv_send(c, "PING\r\n", 6)); /* inline, as typed in telnet */
    ck_assert_str_eq(srv_read(c, 10000), "+PONG\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_redis_cli_set_get_del_round_trip, 30);

/* Sets key:000 .. key:(n-1) to "v" + number, in one pipeline. */
static void fill_keys(srv_conn *c, int n)
{
    for (int i = 0; i < n; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SET key:%03d v%d", i, i);
        srv_send_cmd(c, cmd);
    }
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(srv_read(c, 10000), "+OK\r\n");
}

FT_TEST(5, server_scan_returns_every_key_once_across_cursors, 3,
        "SCAN cursors: the cursor is a number the connection hands out, standing for the key to resume from; '0' "
        "starts and '0' back means done. With COUNT smaller than the key count, every key comes exactly once")
{
    srv_need_redis_tools();
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *c = srv_connect(s.port);
    enum { KEYS = 37 };
    fill_keys(c, KEYS);
    int seen[KEYS] = {0};
    char cursor[32] = "0";
    int rounds = 0;
    do {
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SCAN %s COUNT 5", cursor);
        const char *r = srv_do(c, cmd);
        ck_assert_msg(strncmp(r, "*2\r\n$", 5) == 0, "SCAN answered '%.60s', not [cursor, keys]", r);
        const char *p = strchr(r + 5, '\n') + 1;
        size_t n = strcspn(p, "\r");
        ck_assert_uint_lt(n, sizeof cursor);
        memcpy(cursor, p, n);
        cursor[n] = '\0';
        ck_assert_msg(strtoull(cursor, NULL, 10) > 0 || strcmp(cursor, "0") == 0, "cursor '%s' is not a number", cursor);
        for (const char *k = strstr(p, "key:"); k != NULL; k = strstr(k + 4, "key:")) {
            int i = atoi(k + 4);
            ck_assert_int_lt(i, KEYS);
            seen[i]++;
        }
        ck_assert_int_lt(++rounds, 100);
    } while (strcmp(cursor, "0") != 0);
    for (int i = 0; i < KEYS; i++)
        ck_assert_msg(seen[i] == 1, "SCAN with COUNT 5 returned key:%03d %d times, not once", i, seen[i]);
    ck_assert_int_ge(rounds, KEYS / 5);
    const char *m = srv_do(c, "SCAN 0 MATCH key:00? COUNT 100"); /* MATCH filters what COUNT scanned */
    ck_assert_msg(strncmp(m, "*2\r\n$1\r\n0\r\n*10\r\n$7\r\nkey:000\r\n", 29) == 0,
                  "SCAN 0 MATCH key:00? COUNT 100 over 37 keys answered '%.60s'", m);
    ck_assert_msg(srv_do(c, "SCAN 987654 COUNT 5")[0] == '-', "a cursor this connection never issued is an error");
    char out[8192];
    ck_assert_int_eq(srv_cli(s.port, "--scan --pattern key:*", out, sizeof out), 0);
    int lines = 0;
    memset(seen, 0, sizeof seen);
    for (const char *k = strstr(out, "key:"); k != NULL; k = strstr(k + 4, "key:"), lines++)
        seen[atoi(k + 4)]++;
    for (int i = 0; i < KEYS; i++)
        ck_assert_msg(seen[i] == 1, "redis-cli --scan printed key:%03d %d times, not once", i, seen[i]);
    ck_assert_int_eq(lines, KEYS);
    ck_assert_str_eq(srv_do(c, "DBSIZE"), ":37\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_scan_returns_every_key_once_across_cursors, 30);

FT_TEST(5, server_pipeline_of_1000_commands_answers_in_order, 3,
        "Pipelining and head-of-line order: many commands in one write are run in order and answered in order, "
        "each reply after the one before; the replies of one read may leave in one write")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *c = srv_connect(s.port);
    size_t cap = 1000 * 64, len = 0;
    char *buf = malloc(cap);
    ck_assert_ptr_ne(buf, NULL);
    for (int i = 0; i < 500; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "*3\r\n$3\r\nSET\r\n$%d\r\np%d\r\n$%d\r\nv%d\r\n",
                                1 + snprintf(NULL, 0, "%d", i), i, 1 + snprintf(NULL, 0, "%d", i), i);
        len +=
            (size_t)snprintf(buf + len, cap - len, "*2\r\n$3\r\nGET\r\n$%d\r\np%d\r\n", 1 + snprintf(NULL, 0, "%d", i), i);
    }
    ck_assert(srv_send(c, buf, len)); /* one write of 1,000 commands */
    for (int i = 0; i < 500; i++) {
        const char *r = srv_read(c, 10000);
        ck_assert_msg(r != NULL, "reply %d of 1000 never came", 2 * i);
        ck_assert_msg(strcmp(r, "+OK\r\n") == 0, "reply %d (SET p%d): '%s'", 2 * i, i, r);
        char want[32];
        snprintf(want, sizeof want, "$%d\r\nv%d\r\n", 1 + snprintf(NULL, 0, "%d", i), i);
        r = srv_read(c, 10000);
        ck_assert_msg(r != NULL && strcmp(r, want) == 0, "reply %d (GET p%d right after its SET): '%s', want '%s'",
                      2 * i + 1, i, r ? r : "(none)", want);
    }
    free(buf);
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_pipeline_of_1000_commands_answers_in_order, 30);

FT_TEST(5, server_pipelined_sets_share_durable_writes, 2,
        "Group commit at the protocol level: the SETs of one read are written as one batch (one log record, one "
        "sync) before their +OKs leave, as redis's appendfsync always writes the AOF once per event-loop turn")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *c = srv_connect(s.port);
    uint64_t before = srv_info(c, "writes");
    char buf[400 * 48];
    size_t len = 0;
    for (int i = 0; i < 400; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "*3\r\n$3\r\nSET\r\n$4\r\nb%03d\r\n$1\r\nx\r\n", i);
    ck_assert(srv_send(c, buf, len));
    for (int i = 0; i < 400; i++) {
        const char *r = srv_read(c, 10000);
        ck_assert_msg(r != NULL && strcmp(r, "+OK\r\n") == 0, "SET %d of the pipeline: '%s'", i, r ? r : "(none)");
    }
    uint64_t writes = srv_info(c, "writes") - before;
    ck_assert_msg(writes <= 100,
                  "400 pipelined SETs (about 9 KiB, a few reads) took %llu durable writes of the store: gather the "
                  "SETs of each read in one kv_batch",
                  (unsigned long long)writes);
    ck_assert_str_eq(srv_do(c, "GET b399"), "$1\r\nx\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_pipelined_sets_share_durable_writes, 30);

FT_TEST(5, server_connection_over_the_limit_is_told_and_closed, 2,
        "A connection limit is backpressure: the connection over --max-clients gets '-ERR max number of clients "
        "reached' and is closed, as redis does; once a client leaves, a new one is served")
{
    static const char *const args[] = {"--max-clients", "2", NULL};
    srv s;
    srv_start(&s, NULL, args);
    srv_conn *a = srv_connect(s.port), *b = srv_connect(s.port);
    ck_assert_str_eq(srv_do(a, "PING"), "+PONG\r\n");
    ck_assert_str_eq(srv_do(b, "PING"), "+PONG\r\n");
    srv_conn *extra = srv_connect(s.port);
    const char *r = srv_read(extra, 10000);
    ck_assert_msg(r != NULL && strcmp(r, "-ERR max number of clients reached\r\n") == 0,
                  "the third connection with --max-clients 2 got '%s'", r ? r : "(nothing)");
    ck_assert_msg(srv_wait_eof(extra, 10000), "the refused connection was not closed");
    srv_close(extra);
    ck_assert_str_eq(srv_do(a, "PING"), "+PONG\r\n"); /* the two admitted ones are served as before */
    srv_close(b);
    /* b's thread notices the close a moment later: retry until a new connection is admitted (10 s at most). */
    uint64_t deadline = now_ms() + 10000;
    bool served = false;
    while (!served && now_ms() < deadline) {
        srv_conn *d = srv_connect(s.port);
        srv_send_cmd(d, "PING");
        r = srv_read(d, 10000);
        served = r != NULL && strcmp(r, "+PONG\r\n") == 0;
        srv_close(d);
    }
    ck_assert_msg(served, "after one of two clients left, a new connection was still refused");
    srv_close(a);
    srv_stop(&s);
}
FT_TIMEOUT(server_connection_over_the_limit_is_told_and_closed, 30);

FT_TEST(5, server_protocol_error_closes_only_that_connection, 2,
        "A framing error puts the stream out of step: answer '-ERR Protocol error: ...' and close that connection, "
        "and only that one; a header claiming half a gigabyte must not make the server reserve it")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *good = srv_connect(s.port), *bad = srv_connect(s.port);
    ck_assert_str_eq(srv_do(good, "SET a 1"), "+OK\r\n");
    ck_assert(srv_send(bad, "*1\r\n$abc\r\n", 10));
    const char *r = srv_read(bad, 10000);
    ck_assert_msg(r != NULL && strncmp(r, "-ERR Protocol error: invalid bulk length", 40) == 0,
                  "a bulk length 'abc' was answered '%s'", r ? r : "(nothing)");
    ck_assert_msg(srv_wait_eof(bad, 10000), "the connection was not closed after the protocol error");
    srv_close(bad);
    ck_assert_str_eq(srv_do(good, "GET a"), "$1\r\n1\r\n");
    uint64_t vm = srv_vm_bytes(&s);
    srv_conn *greedy = srv_connect(s.port);
    ck_assert(srv_send(greedy, "*2\r\n$3\r\nSET\r\n$536870000\r\nabc", 29));
    ck_assert_str_eq(srv_do(good, "PING"), "+PONG\r\n"); /* the server has read the header by now, most likely */
    /* The mappings may also shrink in between (an arena or a stack given back): a difference below zero is none. */
    uint64_t after = srv_vm_bytes(&s);
    uint64_t grown = after > vm ? after - vm : 0;
    ck_assert_msg(grown < (64u << 20),
                  "after a header claiming a 512 MiB bulk string and 3 bytes of it, the server maps %llu MiB more: "
                  "it reserved the claimed size",
                  (unsigned long long)(grown >> 20));
    srv_close(greedy);
    srv_conn *fresh = srv_connect(s.port);
    ck_assert_str_eq(srv_do(fresh, "GET a"), "$1\r\n1\r\n");
    srv_close(fresh);
    srv_close(good);
    srv_stop(&s);
}
FT_TIMEOUT(server_protocol_error_closes_only_that_connection, 30);

FT_TEST(5, server_redis_benchmark_runs_and_its_keys_are_readable, 2,
        "redis-benchmark drives the server unchanged: CONFIG GET and pipelined SET/GET from 10 connections, every "
        "reply well-formed; every key it SET reads back")
{
    srv_need_redis_tools();
    srv s;
    srv_start(&s, NULL, NULL);
    char port[16], out[8192];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char *const argv[] = {
        "redis-benchmark", "-p", port, "-t", "set,get", "-n", "2000", "-c", "10", "-P", "4", "-r", "100", "-q", NULL};
    int rc = srv_run(argv, out, sizeof out, 60000);
    ck_assert_msg(rc == 0, "redis-benchmark exited %d; it printed:\n%s", rc, out);
    ck_assert_msg(strstr(out, "SET") != NULL && strstr(out, "GET") != NULL, "redis-benchmark printed:\n%s", out);
    srv_conn *c = srv_connect(s.port);
    char cursor[32] = "0";
    int keys = 0, rounds = 0;
    do { /* every key redis-benchmark made (key:000000000000 .. 99) holds its 3-byte value */
        char cmd[64];
        snprintf(cmd, sizeof cmd, "SCAN %s COUNT 50", cursor);
        const char *r = srv_do(c, cmd);
        const char *p = strchr(r + 5, '\n') + 1;
        size_t n = strcspn(p, "\r");
        memcpy(cursor, p, n);
        cursor[n] = '\0';
        char names[50][32];
        int found = 0;
        for (const char *k = strstr(p, "key:"); k != NULL && found < 50; k = strstr(k + 4, "key:"))
            snprintf(names[found++], sizeof names[0], "%.*s", (int)strcspn(k, "\r"), k);
        for (int i = 0; i < found; i++) {
            char get[64];
            snprintf(get, sizeof get, "GET %.31s", names[i]);
            ck_assert_msg(strncmp(srv_do(c, get), "$3\r\n", 4) == 0, "%s does not read back", names[i]);
        }
        keys += found;
        ck_assert_int_lt(++rounds, 100);
    } while (strcmp(cursor, "0") != 0);
    ck_assert_int_ge(keys, 50);
    ck_assert_int_le(keys, 100);
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_redis_benchmark_runs_and_its_keys_are_readable, 90);

FT_TEST(5, server_sigterm_closes_the_store_and_a_restart_reads_it, 2,
        "A graceful stop: SIGTERM stops accepting, lets connections finish, closes the store and exits 0; the "
        "same directory opened again holds every acknowledged write")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *c = srv_connect(s.port);
    fill_keys(c, 20);
    ck_assert_str_eq(srv_do(c, "INCR n"), ":1\r\n");
    srv_close(c);
    srv_stop(&s);
    srv_start(&s, s.dir, NULL);
    c = srv_connect(s.port);
    ck_assert_str_eq(srv_do(c, "GET key:019"), "$3\r\nv19\r\n");
    ck_assert_str_eq(srv_do(c, "GET n"), "$1\r\n1\r\n");
    ck_assert_str_eq(srv_do(c, "DBSIZE"), ":21\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_sigterm_closes_the_store_and_a_restart_reads_it, 30);
