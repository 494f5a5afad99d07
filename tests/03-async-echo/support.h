/*
 * Test doubles and probes for chapter 03.
 *
 * The server tests run the chapter's server in a forked child on an ephemeral loopback port and talk to it over
 * real TCP from the test process. The child counts its descriptors before ae_server_open() and after
 * ae_server_close() and reports the difference in its exit status, so "no fd leak" and "exits cleanly" are facts
 * the parent can check; a sanitizer or Valgrind finding in the child also shows up there. The child dies with
 * the test (PR_SET_PDEATHSIG), so a failing assertion never leaves a server behind.
 *
 * The probes read /proc: a process's CPU time (a spinning event loop burns a core), its resident memory (an
 * unbounded buffer grows it) and its open descriptors.
 */
#ifndef FERRITE_TEST_SUPPORT_03_H
#define FERRITE_TEST_SUPPORT_03_H

#include "ferrite_test.h"
#include "server.h"
#include "uring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- environment -------------------------------------------------------------------------------------------- */

/** True when the tests run under Valgrind (everything is ~20x slower: scale client counts with this). */
bool under_valgrind(void);
/** @p normal, or @p valgrind under Valgrind. */
int scaled(int normal, int valgrind);

/* How long a server that must exit may take to do so: milliseconds when the machine is idle, seconds when it is busy
 * (LeakSanitizer's check at exit, a grader beside it); the bound is only for a server that never exits. */
#define EXIT_MS scaled(10000, 30000)
/** Monotonic milliseconds. */
int64_t now_ms(void);
void sleep_ms(int ms);
/** Raises this process's RLIMIT_NOFILE soft limit to the hard limit; returns the new soft limit. */
long raise_nofile(void);
/** Deterministic pseudo-random bytes. */
void fill_random(uint8_t *buf, size_t n, uint32_t seed);

/* ---- /proc probes (pid 0 = this process) ---------------------------------------------------------------------- */

int fd_count(pid_t pid);
long cpu_ms(pid_t pid);
long rss_kb(pid_t pid);

/* ---- clients -------------------------------------------------------------------------------------------------- */

/** A blocking TCP connection to 127.0.0.1:@p port with TCP_NODELAY; fails the test if it cannot connect. */
int tcp_connect(uint16_t port);
/** Like tcp_connect() but returns -errno instead of failing. */
int tcp_try_connect(uint16_t port);
void set_nonblocking(int fd);
/** Closes @p fd with SO_LINGER {1, 0}: the kernel sends RST instead of FIN. */
void close_with_rst(int fd);
/** Sends @p len bytes and reads them back (both directions at once), failing unless the echo is byte-exact. */
void echo_exact(int fd, const uint8_t *msg, size_t len, int timeout_ms);
/** A small message and its echo; true if it came back intact within @p timeout_ms. */
bool ping(int fd, int timeout_ms);

/** How a connection ended, seen from the client. */
typedef enum peer_end { PEER_EOF, PEER_RESET, PEER_SILENT, PEER_DATA } peer_end;
/** Waits up to @p timeout_ms for the server to close: EOF, RST, nothing, or unexpected data. */
peer_end wait_closed(int fd, int timeout_ms);

/**
 * Connects @p n clients to 127.0.0.1:@p port, then @p rounds times: every client sends one message (1 to 512 bytes,
 * its own) at once, and every echo is collected and checked byte for byte. Closes them all at the end.
 */
void many_clients_echo(uint16_t port, int n, int rounds);

/**
 * Sends @p msg on the non-blocking @p fd, reading nothing, until @p budget bytes went or none could be sent for
 * @p quiet_ms: every buffer between the client and the server is full. Returns the bytes sent.
 */
size_t push_until_stalled(int fd, const uint8_t *msg, size_t budget, int quiet_ms);
/** Reads @p sent bytes from the non-blocking @p fd within @p timeout_ms and fails unless they equal @p msg. */
void read_back_exact(int fd, const uint8_t *msg, size_t sent, int timeout_ms);
/**
 * Connects to 127.0.0.1:@p port until the kernel refuses (the listener is closed), closing what gets through, for at
 * most @p timeout_ms. Returns the last attempt's result: -ECONNREFUSED when the listener is gone.
 */
int connect_until_refused(uint16_t port, int timeout_ms);

/** A pair of connected loopback TCP sockets (a[0] the "server" side, a[1] the peer). */
void tcp_pair(int fds[2]);

/* ---- the server in a child ------------------------------------------------------------------------------------- */

typedef struct test_server {
    pid_t pid;
    uint16_t port;
    int stats_fd;          /* read end of the pipe the child writes its final ae_stats to */
    bool have_stats;       /* set by server_stop() once the child exited and reported */
    ae_stats stats;        /* the server's counters after ae_server_close(), valid when have_stats */
    bool uring;            /* part 6's server: its counters are in ustats */
    ae_uring_stats ustats; /* the counters after ae_uring_server_close(), valid when have_stats */
} test_server;

/** Exit statuses of the server child besides 0. */
enum { CHILD_RUN_FAILED = 3, CHILD_FD_LEAK = 4, CHILD_OPEN_FAILED = 5 };

/**
 * Forks a server with @p cfg (`handle_signals` forced on) and waits for its port. With @p fd_room > 0 the child
 * lowers its RLIMIT_NOFILE after opening so that only about @p fd_room more descriptors fit (to provoke EMFILE).
 */
test_server server_start(const ae_config *cfg, int fd_room);

/** Like server_start() for part 6's io_uring server (no descriptor limit). */
test_server uring_server_start(const ae_config *cfg);

/** Skips the test (FT_SKIP, with what is needed) when this kernel refuses io_uring. */
void skip_without_io_uring(void);

/**
 * Stops the server with @p sig and waits @p timeout_ms. A child that exited reports its final counters
 * (`s.stats` after ae_server_close()) in @p ts->stats, with @p ts->have_stats set. Fails the test if the child crashed, was
 * killed by a signal other than ours, or exited non-zero (a failed run, an fd leak, a sanitizer or Valgrind report).
 * @p strict: also fail if it was still running after the timeout (then it is killed either way).
 */
void server_stop(test_server *ts, int sig, int timeout_ms, bool strict);

/** Fails the test now if the server process has died. */
void assert_server_alive(const test_server *ts);

#endif
