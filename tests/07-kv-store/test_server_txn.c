/*
 * Chapter 07, part 5: transactions and durability through kv-server — WATCH/MULTI/EXEC as check-and-set, exact
 * read-modify-writes (INCR, DEL) under concurrency, and a SIGKILL at a random moment losing no acknowledged SET.
 */
#define _GNU_SOURCE
#include "ferrite_test.h"
#include "server_support.h"
#include "support.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

FT_TEST(5, server_watch_multi_exec_lets_exactly_one_writer_win, 3,
        "WATCH/MULTI/EXEC is optimistic concurrency (check-and-set): both clients WATCH k and read it, both EXEC a "
        "SET; the first commit wins, the second finds k written after its snapshot and gets the nil array *-1, "
        "with nothing of it applied")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *a = srv_connect(s.port), *b = srv_connect(s.port);
    ck_assert_str_eq(srv_do(a, "SET k start"), "+OK\r\n");
    ck_assert_str_eq(srv_do(a, "WATCH k"), "+OK\r\n");
    ck_assert_str_eq(srv_do(b, "WATCH k"), "+OK\r\n");
    ck_assert_str_eq(srv_do(a, "GET k"), "$5\r\nstart\r\n");
    ck_assert_str_eq(srv_do(b, "GET k"), "$5\r\nstart\r\n");
    ck_assert_str_eq(srv_do(a, "MULTI"), "+OK\r\n");
    ck_assert_str_eq(srv_do(b, "MULTI"), "+OK\r\n");
    ck_assert_str_eq(srv_do(a, "SET k from-a"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(b, "SET k from-b"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(b, "SET other from-b"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(a, "EXEC"), "*1\r\n+OK\r\n");
    ck_assert_msg(strcmp(srv_do(b, "EXEC"), "*-1\r\n") == 0,
                  "the second EXEC on a watched key written by the first answered '%s', not the nil array *-1", b->reply);
    ck_assert_str_eq(srv_do(b, "GET k"), "$6\r\nfrom-a\r\n");
    ck_assert_str_eq(srv_do(b, "GET other"), "$-1\r\n"); /* nothing of the loser was applied */
    /* After EXEC, nothing is watched: a new transaction of b goes through. */
    ck_assert_str_eq(srv_do(b, "MULTI"), "+OK\r\n");
    ck_assert_str_eq(srv_do(b, "SET k from-b"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(b, "GET k"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(b, "EXEC"), "*2\r\n+OK\r\n$6\r\nfrom-b\r\n");
    srv_close(a);
    srv_close(b);
    srv_stop(&s);
}
FT_TIMEOUT(server_watch_multi_exec_lets_exactly_one_writer_win, 30);

FT_TEST(5, server_exec_errors_follow_redis, 2,
        "Errors in a transaction, as redis: a command that cannot be queued (unknown, wrong arity) is answered at "
        "once and makes EXEC fail with -EXECABORT; a command that fails while EXEC runs (INCR of a non-number) is "
        "an error inside the reply array while the others apply; DISCARD drops the queue and the WATCH")
{
    srv s;
    srv_start(&s, NULL, NULL);
    srv_conn *c = srv_connect(s.port);
    ck_assert_msg(srv_do(c, "EXEC")[0] == '-', "EXEC without MULTI must be an error");
    ck_assert_str_eq(srv_do(c, "MULTI"), "+OK\r\n");
    ck_assert_msg(srv_do(c, "MULTI")[0] == '-', "MULTI inside MULTI must be an error");
    ck_assert_str_eq(srv_do(c, "SET x 1"), "+QUEUED\r\n");
    ck_assert_msg(srv_do(c, "NOSUCHCMD")[0] == '-', "an unknown command inside MULTI is answered with its error");
    ck_assert_msg(strncmp(srv_do(c, "EXEC"), "-EXECABORT", 10) == 0, "EXEC after a queueing error answered '%s'", c->reply);
    ck_assert_str_eq(srv_do(c, "GET x"), "$-1\r\n");
    ck_assert_str_eq(srv_do(c, "SET word abc"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "MULTI"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "INCR word"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(c, "INCR counter"), "+QUEUED\r\n");
    const char *r = srv_do(c, "EXEC");
    ck_assert_msg(strncmp(r, "*2\r\n-ERR value is not an integer", 32) == 0 && strstr(r, "\r\n:1\r\n") != NULL,
                  "EXEC of INCR word (not a number) and INCR counter answered '%s'", r);
    ck_assert_str_eq(srv_do(c, "GET counter"), "$1\r\n1\r\n");
    ck_assert_str_eq(srv_do(c, "WATCH counter"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "MULTI"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "INCR counter"), "+QUEUED\r\n");
    ck_assert_str_eq(srv_do(c, "DISCARD"), "+OK\r\n");
    ck_assert_msg(srv_do(c, "DISCARD")[0] == '-', "DISCARD without MULTI must be an error");
    ck_assert_str_eq(srv_do(c, "GET counter"), "$1\r\n1\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_exec_errors_follow_redis, 30);

typedef struct incr_job {
    uint16_t port;
    int n;
    int bad; /* replies that were not integers */
} incr_job;

static void *incr_many(void *arg)
{
    incr_job *j = arg;
    srv_conn *c = srv_connect(j->port);
    for (int i = 0; i < j->n; i++) {
        srv_send_cmd(c, "INCR hits");
        const char *r = srv_read(c, 20000);
        j->bad += r == NULL || r[0] != ':';
    }
    srv_close(c);
    return NULL;
}

FT_TEST(5, server_concurrent_incrs_lose_no_increment, 3,
        "A read-modify-write needs a transaction: INCR reads, adds one and writes in a kv_txn and runs again on "
        "KV_CONFLICT; a plain get-then-put loses increments when two connections interleave (2 x 200 must be 400)")
{
    srv s;
    srv_start(&s, NULL, NULL);
    incr_job jobs[2] = {{s.port, 200, 0}, {s.port, 200, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, incr_many, &jobs[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(jobs[0].bad + jobs[1].bad, 0);
    srv_conn *c = srv_connect(s.port);
    ck_assert_msg(strcmp(srv_do(c, "GET hits"), "$3\r\n400\r\n") == 0, "2 x 200 INCRs left hits at '%s', not 400",
                  c->reply);
    /* DEL counts what existed, exactly: two of three keys, and a key named twice counts once */
    ck_assert_str_eq(srv_do(c, "SET d1 x"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "SET d2 x"), "+OK\r\n");
    ck_assert_str_eq(srv_do(c, "DEL d1 d2 d3 d1"), ":2\r\n");
    ck_assert_str_eq(srv_do(c, "EXISTS d1 d2"), ":0\r\n");
    srv_close(c);
    srv_stop(&s);
}
FT_TIMEOUT(server_concurrent_incrs_lose_no_increment, 60);

/* The forked writer: SETs w<round>:<i> to val-<i> one at a time, and writes i to @p ack_fd after each +OK. */
static void writer_child(uint16_t port, int round, int ack_fd)
{
    srv_conn *c = srv_connect(port);
    for (uint32_t i = 0;; i++) {
        char key[32], val[32], cmd[128];
        int kl = snprintf(key, sizeof key, "w%d:%u", round, i), vl = snprintf(val, sizeof val, "val-%u", i);
        int n = snprintf(cmd, sizeof cmd, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, key, vl, val);
        if (!srv_send(c, cmd, (size_t)n)) /* no assertion here: the server may die at any moment, on purpose */
            _exit(0);
        const char *r = srv_read(c, 20000);
        if (r == NULL)
            _exit(0); /* the server is gone */
        if (strcmp(r, "+OK\r\n") != 0)
            _exit(3);
        if (write(ack_fd, &i, sizeof i) != (ssize_t)sizeof i)
            _exit(4);
    }
}

FT_TEST(5, server_sigkill_loses_no_acknowledged_set, 4,
        "Durability through the server: +OK leaves only after the write is durable (group commit included), so a "
        "server killed at any moment and restarted on its directory holds every SET that got +OK, and nothing "
        "that was never sent")
{
    test_rng rng = rng_new(0x5E4E4);
    srv s;
    srv_start(&s, NULL, NULL);
    for (int round = 0; round < 3; round++) {
        int fds[2];
        ck_assert_int_eq(pipe(fds), 0);
        fflush(NULL);
        pid_t w = fork();
        ck_assert_int_ge(w, 0);
        if (w == 0) {
            close(fds[0]);
            writer_child(s.port, round, fds[1]);
        }
        close(fds[1]);
        uint32_t acked = 0, id;
        bool any = false;
        uint64_t want = 20 + rng_below(&rng, 150), got = 0;
        uint64_t deadline = now_ms() + 20000;
        while (got < want && now_ms() < deadline && read(fds[0], &id, sizeof id) == (ssize_t)sizeof id)
            acked = id, any = true, got++;
        srv_kill(&s); /* SIGKILL while the writer is in the middle of its next SET */
        while (read(fds[0], &id, sizeof id) == (ssize_t)sizeof id) /* acks sent before the kill still count */
            acked = id, any = true;
        close(fds[0]);
        int status;
        ck_assert_int_eq(waitpid(w, &status, 0), w);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "round %d: the writer failed (status %#x: 3 a "
                      "SET was not answered +OK)",
                      round, status);
        ck_assert_msg(any, "round %d: no SET was acknowledged within 20 s", round);
        srv_start(&s, s.dir, NULL);
        srv_conn *c = srv_connect(s.port);
        for (uint32_t i = 0; i <= acked; i++) {
            char cmd[64], want_reply[64];
            snprintf(cmd, sizeof cmd, "GET w%d:%u", round, i);
            snprintf(want_reply, sizeof want_reply, "$%zu\r\nval-%u\r\n",
                     strlen("val-") + (size_t)snprintf(NULL, 0, "%u", i), i);
            ck_assert_msg(strcmp(srv_do(c, cmd), want_reply) == 0,
                          "round %d: w%d:%u was acknowledged (+OK) before the SIGKILL but reads '%s' after the "
                          "restart",
                          round, round, i, c->reply);
        }
        char cmd[64];
        snprintf(cmd, sizeof cmd, "GET w%d:%u", round, acked + 2); /* never sent: the writer waits for each +OK */
        ck_assert_msg(strcmp(srv_do(c, cmd), "$-1\r\n") == 0, "round %d: w%d:%u was never sent but reads '%s'", round,
                      round, acked + 2, c->reply);
        srv_close(c);
    }
    srv_stop(&s);
}
FT_TIMEOUT(server_sigkill_loses_no_acknowledged_set, 60);

FT_TEST(5, server_start_errors_are_clear, 1,
        "A server that cannot start says why and exits non-zero: a port in use (EADDRINUSE is KV_EXISTS), a "
        "directory it cannot use, a corrupt store (KV_CORRUPT), a bad option")
{
    srv s;
    srv_start(&s, NULL, NULL);
    const char *path = getenv("KV_SERVER");
    char port[16], out[1024], file[600];
    snprintf(port, sizeof port, "%u", (unsigned)s.port);
    const char *dir2 = scratch_dir();
    const char *const in_use[] = {path, "--port", port, "--dir", dir2, "--quiet", NULL};
    ck_assert_int_eq(srv_run(in_use, out, sizeof out, 20000), 1);
    path_join(file, sizeof file, dir2, "plain-file");
    file_write(file, "x", 1);
    const char *const bad_dir[] = {path, "--port", "0", "--dir", file, "--quiet", NULL};
    ck_assert_int_eq(srv_run(bad_dir, out, sizeof out, 20000), 1);
    const char *corrupt = scratch_dir(); /* a manifest that fails its check: KV_CORRUPT, not a fresh store */
    path_join(file, sizeof file, corrupt, "MANIFEST");
    file_write(file, "not a manifest, not at all", 26);
    const char *const bad_store[] = {path, "--port", "0", "--dir", corrupt, "--quiet", NULL};
    ck_assert_int_eq(srv_run(bad_store, out, sizeof out, 20000), 1);
    const char *const bad_opt[] = {path, "--port", "70000", NULL};
    ck_assert_int_eq(srv_run(bad_opt, out, sizeof out, 20000), 2);
    const char *const bad_sync[] = {path, "--sync", "sometimes", NULL};
    ck_assert_int_eq(srv_run(bad_sync, out, sizeof out, 20000), 2);
    srv_stop(&s);
}
FT_TIMEOUT(server_start_errors_are_clear, 30);
