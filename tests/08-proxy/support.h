/*
 * Chapter 08 tests: what the program-level tests share — a scratch folder, the proxy as a child process, backends
 * forked by the tests, and clients with deadlines. The backends are small poll(2) servers in a forked child of the
 * test; what they saw is counted in memory shared with the test (MAP_SHARED), so a test reads each backend's share
 * directly.
 */
#ifndef FERRITE_PX_TEST_SUPPORT_H
#define FERRITE_PX_TEST_SUPPORT_H

#include "ferrite_test.h"
#include "ft_proc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** A folder for this test's files (removed when the test's process exits). Fails the test when it cannot. */
const char *scratch_dir(void);

/** What a backend does with a connection. */
typedef enum backend_kind {
    BACKEND_ECHO,  /**< writes back what it reads; closes when the client has closed */
    BACKEND_COUNT, /**< reads to end of file, then answers "<bytes> <fnv1a-64 hex>\n" and closes */
    BACKEND_HTTP,  /**< HTTP/1.1 keep-alive: answers each request 200 with "backend <id> <method> <target>\n" */
} backend_kind;

/** Counters and knobs shared with a backend's process; the test may change the knobs while it runs. */
typedef struct backend_shared {
    volatile uint64_t connections;    /**< accepted */
    volatile uint64_t requests;       /**< HTTP requests answered; ECHO: reads that brought data */
    volatile uint64_t posts;          /**< of those, POSTs */
    volatile uint32_t delay_ms;       /**< HTTP: wait this long before each answer */
    volatile uint32_t status;         /**< HTTP: the status to answer (200 by default) */
    volatile uint32_t echo_xff;       /**< HTTP: when set, the body also carries "xff=<X-Forwarded-For value>" */
    volatile uint32_t close_after;    /**< HTTP: when set, close a connection after this many answers, saying nothing */
    volatile uint32_t close_delay_ms; /**< HTTP: with close_after, wait this long after the last answer, then close */
    volatile uint32_t garbage;        /**< HTTP: when set, answer each request with bytes that are not HTTP */
    volatile uint32_t chunked;        /**< HTTP: when set, answer chunked, in two writes 20 ms apart (mid-body) */
} backend_shared;

/** A backend: a listener on 127.0.0.1 and the forked process serving it. */
typedef struct backend {
    int id; /**< given at start, echoed by HTTP answers */
    backend_kind kind;
    uint16_t port;
    pid_t pid;              /**< 0 when not running */
    backend_shared *shared; /**< mapped shared with the process; stays valid after it dies */
} backend;

/** Starts a backend on a free port (or on @p b->port when it is not 0: a restart on the same address). */
void backend_start(backend *b, int id, backend_kind kind);
/** Kills it with SIGKILL (its listener and connections are closed by the kernel: refused, then reset). */
void backend_kill(backend *b);
/** Kills it if running and unmaps its counters. */
void backend_free(backend *b);
/** "127.0.0.1:PORT\n" lines for the backends given, in an endpoints file at @p path (written atomically). */
void endpoints_write(const char *path, backend *const *bs, size_t n, const char *extra_line);

/** The proxy program ($PX_PROXY) under test. */
typedef struct proxy {
    ft_proc proc;
    uint16_t port;       /**< where clients connect */
    uint16_t admin;      /**< the admin port, 0 without --admin */
    char endpoints[512]; /**< its endpoints file */
    char log[512];       /**< its stderr */
} proxy;

/**
 * Starts $PX_PROXY with `--endpoints FILE` (the backends given) and @p args (NULL-terminated, may be NULL), stderr
 * to a log file in the scratch folder; fails the test unless it prints its ports within 20 s.
 */
void proxy_start(proxy *p, backend *const *bs, size_t n, const char *const *args);
/** Rewrites the endpoints file with @p bs (and @p extra_line, may be NULL) and sends SIGHUP. */
void proxy_reload(proxy *p, backend *const *bs, size_t n, const char *extra_line);
/** True when the proxy's log holds @p text within @p timeout_ms. */
bool proxy_log_has(const proxy *p, const char *text, int timeout_ms);
/** SIGTERM; fails the test unless it exits 0 within @p timeout_ms (its log is copied to stderr then). */
void proxy_stop(proxy *p, int timeout_ms);
/** Open file descriptors of the proxy's process. */
int proxy_fds(const proxy *p);
/** Waits until the proxy has @p want fds open, @p timeout_ms at most (connections closing settle a moment after the
 *  client sees their end); returns the last count. */
int proxy_wait_fds(const proxy *p, int want, int timeout_ms);
/** A port on 127.0.0.1 nobody listens on: bound once to learn a free number, then closed. */
uint16_t dead_port(void);

/** Connects to 127.0.0.1:@p port (blocking), TCP_NODELAY; fails the test when it cannot. */
int client_connect(uint16_t port);
/** Sends all of @p len bytes within @p timeout_ms; false when the peer closed or time ran out. */
bool client_send(int fd, const void *data, size_t len, int timeout_ms);
/** Reads until end of file or @p cap bytes, @p timeout_ms at most; returns the count, -1 on a reset or timeout. */
long client_read_all(int fd, void *buf, size_t cap, int timeout_ms);
/** Sends @p request (a whole HTTP/1.1 request) on @p fd and reads one response into @p out; returns its status,
 *  0 when the connection closed first, -1 on a timeout. The body is what follows the head (Content-Length). */
int client_http(int fd, const char *request, char *out, size_t cap, int timeout_ms);

/** Sends @p len bytes and reads them back at the same time (an echo through the proxy), @p timeout_ms at most;
 *  true when every byte came back in order. */
bool client_echo(int fd, const void *data, size_t len, int timeout_ms);

/** FNV-1a 64 over @p len bytes: what BACKEND_COUNT reports. */
uint64_t fnv1a64(const void *data, size_t len);
/** @p len pseudo-random bytes from @p seed. */
void fill_random(void *buf, size_t len, uint64_t seed);

#endif
