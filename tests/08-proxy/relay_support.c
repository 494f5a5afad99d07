/*
 * Chapter 08 tests, part 1: loopback TCP helpers (relay_support.h).
 */
#define _GNU_SOURCE
#include "relay_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t rs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int bound_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)addr, sizeof *addr), 0);
    socklen_t len = sizeof *addr;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)addr, &len), 0);
    return fd;
}

int rs_listener(struct sockaddr_in *addr, int backlog)
{
    int fd = bound_socket(addr);
    ck_assert_int_eq(listen(fd, backlog), 0);
    return fd;
}

int rs_refusing_port(struct sockaddr_in *addr) { return bound_socket(addr); }

static void set_buffers(int fd, int bufsize)
{
    if (bufsize <= 0)
        return;
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize), 0);
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize), 0);
}

void rs_tcp_pair(int fds[2], int bufsize)
{
    struct sockaddr_in addr;
    int l = rs_listener(&addr, 1);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c, 0);
    /* Receive buffers set before the handshake fix the window scale the peer is told. */
    set_buffers(c, bufsize);
    set_buffers(l, bufsize);
    ck_assert_int_eq(connect(c, (struct sockaddr *)&addr, sizeof addr), 0);
    int a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ck_assert_int_ge(a, 0);
    close(l);
    ck_assert_int_eq(fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK), 0);
    set_buffers(a, bufsize);
    fds[0] = c;
    fds[1] = a;
}

int rs_silent_listener(struct sockaddr_in *addr, int *filler)
{
    int l = rs_listener(addr, 0);
    int f = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(f, 0);
    /* The handshake completes (the queue takes one), so the queue is full from here on. */
    ck_assert_int_eq(connect(f, (struct sockaddr *)addr, sizeof *addr), 0);
    *filler = f;
    return l;
}

size_t rs_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_ne(d, NULL);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

void rs_fill(uint8_t *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < n; i++) {
        /* xorshift64*: the top byte of each step. */
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        buf[i] = (uint8_t)((x * 0x2545f4914f6cdd1du) >> 56);
    }
}

bool rs_run_until(px_loop *loop, const int *counter, int target, uint64_t limit_ms)
{
    uint64_t end = rs_now_ms() + limit_ms;
    while (*counter < target && rs_now_ms() < end)
        ck_assert_int_ge(px_loop_run_once(loop, 5), 0);
    return *counter >= target;
}

long rs_run_for(px_loop *loop, uint64_t ms)
{
    long callbacks = 0;
    uint64_t end = rs_now_ms() + ms;
    while (rs_now_ms() < end) {
        int n = px_loop_run_once(loop, 5);
        ck_assert_int_ge(n, 0);
        callbacks += n;
    }
    return callbacks;
}
