/*
 * The service as a program, for chapter 06's part 5 tests: start it (fork and exec of $WS_SERVICE on --port 0),
 * talk HTTP/1.1 to it over plain sockets with deadlines, read its /metrics, and stop it with SIGTERM.
 */
#ifndef FERRITE_TEST_SERVICE_SUPPORT_06_H
#define FERRITE_TEST_SERVICE_SUPPORT_06_H

#include "ferrite_test.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A running service: its process, its port, and (when asked for) the read end of its stderr. */
typedef struct svc {
    pid_t pid;
    uint16_t port;
    int err_fd; /* -1 unless svc_start_logged() */
} svc;

/**
 * Starts the service on the main test cluster with `--port 0 --db CONNINFO` and @p args (a NULL-terminated list,
 * may be NULL), reads its port, then waits (20 s at most) until every pool connection is idle. Fails the test
 * when any of that does not happen. The service dies with the test's process (PR_SET_PDEATHSIG).
 */
void svc_start(svc *s, const char *const *args);
/** The same, with the service's stderr piped to `s->err_fd` (for the access log). */
void svc_start_logged(svc *s, const char *const *args);
/** svc_start() on the cluster of @p conninfo (the spare one, for a test that stops and starts PostgreSQL). */
void svc_start_db(svc *s, const char *conninfo, const char *const *args);
/** Sends SIGTERM and waits (@p timeout_ms at most) for the exit; returns the wait status, or -1 after a kill. */
int svc_stop(svc *s, int timeout_ms);

/** A client connection with a read buffer, so that pipelined replies can be read one at a time. */
typedef struct client {
    int fd;
    size_t len;
    char buf[65536];
} client;

/** One reply, copied out. */
typedef struct reply {
    int status;           /* 0 when none arrived */
    char head[2048];      /* status line and fields, NUL-terminated */
    char body[8192];      /* NUL-terminated */
    size_t body_len;      /* as Content-Length said */
    bool close;           /* the head said Connection: close */
    unsigned retry_after; /* the Retry-After field, 0 when absent */
} reply;

/** Connects to the service (blocking); fails the test if it cannot. */
void client_open(client *c, uint16_t port);
void client_close(client *c);
/** Sends all @p len bytes; fails the test on an error. */
void client_send(client *c, const char *data, size_t len);
/** Sends a NUL-terminated string. */
void client_send_str(client *c, const char *text);
/** Reads one reply (@p timeout_ms at most); false when none came (timeout, or the connection ended). */
bool client_read(client *c, reply *r, int timeout_ms);
/** Waits (@p timeout_ms at most) for the service to close the connection, with nothing more sent; true if so. */
bool client_wait_eof(client *c, int timeout_ms);

/** One request on a new connection (`Connection: close`); fails the test when no reply comes within 10 s. */
reply http_call(uint16_t port, const char *method, const char *path, const char *body);

/** The value of the metric line that starts with @p name followed by a space; fails the test when absent. */
double svc_metric(uint16_t port, const char *name);
/** Polls svc_metric() until it is at least @p want (@p timeout_ms at most); returns the last value. */
double svc_metric_wait(uint16_t port, const char *name, double want, int timeout_ms);

/** Open file descriptors of process @p pid (entries of /proc/PID/fd). */
int svc_count_fds(pid_t pid);

/** Milliseconds on the monotonic clock. */
uint64_t svc_now_ms(void);

#endif
