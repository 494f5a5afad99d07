/*
 * Chapter 08 benchmark: what one system call costs on this machine, for reading the proxies' system call counts.
 *
 *   syscost [N]
 *
 * Times N (default 200000) calls of each kind, one after another on one thread, and prints one line:
 *   RUN getpid_ns=... epoll_ctl_ns=... epoll_add_del_ns=... recv_eagain_ns=...
 * getpid: the bare cost of entering and leaving the kernel (through syscall(2), so that no library caches it);
 * epoll_ctl: one EPOLL_CTL_MOD of a watched socket, flipping between readable and writable interest, as an event
 * loop does when it changes what it waits for; epoll_add_del: one EPOLL_CTL_DEL and one EPOLL_CTL_ADD of it (the
 * pair, as when a descriptor leaves one watch for another); recv_eagain: a recv(2) on a connected socket with nothing to
 * read, the call a loop makes when it reads until EAGAIN. Wall time per call (CLOCK_MONOTONIC), so a busy machine shows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    int sv[2], ep = epoll_create1(0);
    if (n <= 0 || ep < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
        fprintf(stderr, "syscost: cannot set up: %s\n", n <= 0 ? "bad count" : "socketpair or epoll");
        return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
        return 1;

    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
    double t1 = now_ns();
    for (long i = 0; i < n; i++) {
        ev.events = i & 1 ? EPOLLIN : EPOLLOUT;
        if (epoll_ctl(ep, EPOLL_CTL_MOD, sv[0], &ev) < 0)
            return 1;
    }
    double t2 = now_ns();
    for (long i = 0; i < n; i++)
        if (epoll_ctl(ep, EPOLL_CTL_DEL, sv[0], NULL) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
            return 1;
    double t2b = now_ns();
    char c;
    for (long i = 0; i < n; i++)
        if (recv(sv[0], &c, 1, 0) >= 0 || errno != EAGAIN)
            return 1;
    double t3 = now_ns();
    printf("RUN getpid_ns=%.0f epoll_ctl_ns=%.0f epoll_add_del_ns=%.0f recv_eagain_ns=%.0f\n", (t1 - t0) / (double)n,
           (t2 - t1) / (double)n, (t2b - t2) / (double)n, (t3 - t2b) / (double)n);
    return 0;
}
