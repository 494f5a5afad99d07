/*
 * The RESP server as a program, for chapter 07's part 5 tests: start $KV_SERVER (fork and exec, --port 0, a
 * scratch directory), read the port it prints, talk RESP2 to it over plain sockets with deadlines, run redis-cli
 * and redis-benchmark against it, and stop it (SIGTERM, checking it exits 0) or kill it (SIGKILL). A server the
 * test started dies with the test's process however the test ends (PR_SET_PDEATHSIG).
 */
#ifndef FERRITE_TEST_SERVER_SUPPORT_07_H
#define FERRITE_TEST_SERVER_SUPPORT_07_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A running kv-server. */
typedef struct srv {
    pid_t pid; /* 0 when not running */
    uint16_t port;
    char dir[512]; /* its store's directory */
} srv;

/**
 * Starts $KV_SERVER with `--port 0 --dir DIR --quiet` and @p args (NULL-terminated, may be NULL); @p dir NULL
 * makes a fresh directory in the test's scratch directory. Reads the port from its first line (20 s at most);
 * fails the test when none comes.
 */
void srv_start(srv *s, const char *dir, const char *const *args);
/** SIGTERM, then waits (20 s at most, then SIGKILL) and fails the test unless the server exited with status 0:
 *  a clean stop, and no leak or race reported by its sanitizer at exit. */
void srv_stop(srv *s);
/** SIGKILL, and waits for the process to be gone. */
void srv_kill(srv *s);
/** Bytes of address space the server maps now (VmSize of /proc/PID/status). */
uint64_t srv_vm_bytes(const srv *s);

/** A client connection with a read buffer, so that pipelined replies are read one at a time. */
typedef struct srv_conn {
    int fd;
    size_t len;
    char buf[1 << 16];
    char reply[1 << 16]; /* the last reply read, raw RESP, NUL-terminated */
} srv_conn;

/** Connects to 127.0.0.1:@p port; fails the test when it cannot. The connection is malloc'd: srv_close() it. */
srv_conn *srv_connect(uint16_t port);
void srv_close(srv_conn *c);
/** Sends all @p len bytes; false when the server has closed the connection. */
bool srv_send(srv_conn *c, const void *data, size_t len);
/** Sends the words of @p words (split at spaces) as one RESP array command. */
void srv_send_cmd(srv_conn *c, const char *words);
/** Reads one whole RESP reply into c->reply (@p timeout_ms at most); NULL when none came (timeout, or the end). */
const char *srv_read(srv_conn *c, int timeout_ms);
/** srv_send_cmd() then srv_read() with 10 s; fails the test when no reply comes. Returns c->reply. */
const char *srv_do(srv_conn *c, const char *words);
/** True when the server closes the connection within @p timeout_ms (what it sends before is skipped). */
bool srv_wait_eof(srv_conn *c, int timeout_ms);

/** Bytes of the first whole RESP value in @p buf, 0 when it is not whole yet, -1 when it is not RESP. */
long resp_value_len(const char *buf, size_t len);

/**
 * Runs @p argv (argv[0] a path) with stdout captured into @p out (@p cap bytes, NUL-terminated) and stderr to
 * /dev/null; kills it after @p timeout_ms. Returns its exit status, or -1 when it was killed or did not start.
 */
int srv_run(const char *const *argv, char *out, size_t cap, int timeout_ms);
/** srv_run() of `redis-cli -p PORT` followed by @p words split at spaces, 10 s at most. */
int srv_cli(uint16_t port, const char *words, char *out, size_t cap);
/** Skips the test when redis-cli (redis-tools) is not installed. */
void srv_need_redis_tools(void);

/** The value of the `name:value` line of INFO, read on @p c; fails the test when absent. */
uint64_t srv_info(srv_conn *c, const char *name);

#endif
