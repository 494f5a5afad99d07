/*
 * Chapter 08 tests, part 1: loopback TCP helpers for the connect and relay tests. Real TCP connections on 127.0.0.1
 * (ephemeral ports), because half-close, backpressure and resets behave as they do between hosts only there: a
 * socketpair has no FIN, no receive window and no RST. Every helper fails the test when a call it makes fails.
 */
#ifndef FERRITE_PX_RELAY_SUPPORT_H
#define FERRITE_PX_RELAY_SUPPORT_H

#include "ferrite_test.h"
#include "loop.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A listening socket on 127.0.0.1, port 0 (the kernel picks one); its address in *addr. */
int rs_listener(struct sockaddr_in *addr, int backlog);

/**
 * A connected loopback TCP pair: fds[0] connected to fds[1], both non-blocking and close-on-exec. @p bufsize,
 * when not 0, is given to SO_SNDBUF and SO_RCVBUF of both ends (no autotuning: bounds a test can compute).
 */
void rs_tcp_pair(int fds[2], int bufsize);

/**
 * An address nobody listens on, kept so: a socket bound to 127.0.0.1 port 0 that never listens (the caller closes
 * it at the end). A connect to *addr is refused with RST.
 */
int rs_refusing_port(struct sockaddr_in *addr);

/**
 * A listener whose accept queue is full and never drained: listen(backlog 0) and one connection that is never
 * accepted (*filler, the caller closes it). Linux drops further SYNs to it, so a connect there stays in progress
 * until the client gives up: a timeout without any network.
 */
int rs_silent_listener(struct sockaddr_in *addr, int *filler);

/** How many fds the process has open (entries of /proc/self/fd, less the one used to read it). */
size_t rs_count_fds(void);

/** Fills @p buf with @p n pseudo-random bytes from @p seed (the same bytes for the same seed). */
void rs_fill(uint8_t *buf, size_t n, uint64_t seed);

/** Runs turns of @p loop (waiting up to 5 ms each) until *counter reaches @p target or @p limit_ms pass. */
bool rs_run_until(px_loop *loop, const int *counter, int target, uint64_t limit_ms);

/** Runs turns of @p loop for @p ms milliseconds (each waits up to 5 ms); returns how many callbacks ran. */
long rs_run_for(px_loop *loop, uint64_t ms);

/** Milliseconds on CLOCK_MONOTONIC. */
uint64_t rs_now_ms(void);

#endif
