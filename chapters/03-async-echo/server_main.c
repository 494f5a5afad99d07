/*
 * echo-server — the chapter's server as a program: the study's Tokio echo, on the reactor you wrote.
 *
 *   echo-server [--host ADDR] [--port N] [--max-conns N] [--idle-timeout T] [--buf-size BYTES]
 *               [--engine epoll|uring]
 *
 * --engine uring runs part 6's server (io_uring, uring.c) instead of parts 1-5's (epoll, server.c).
 * --port 0 (the default) binds any free port; the first line on stdout is always "listening on HOST:PORT".
 * T is milliseconds, or a number with the suffix ms or s (--idle-timeout 30s); 0 disables the timeout.
 * SIGINT or SIGTERM stops accepting, drains, closes everything and exits 0.
 *
 * This file is given (not one of the chapter's `sources`): `make` links it with your reactor.c, conn.c,
 * server.c and uring.c into build/<impl>/<variant>-<cc>/03-async-echo/echo-server.
 */
#define _GNU_SOURCE
#include "server.h"
#include "uring.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: echo-server [--host ADDR] [--port N] [--max-conns N] [--idle-timeout T] "
            "[--buf-size BYTES] [--engine epoll|uring]\n"
            "  T in milliseconds, or with a suffix: 200ms, 30s; 0 = no idle timeout\n");
    exit(2);
}

/* A non-negative integer no larger than max, with an optional unit suffix scaling it; exits on nonsense. */
static long parse_number(const char *opt, const char *text, long max, bool time)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    long scale = 1;
    if (time && !strcmp(end, "s"))
        scale = 1000;
    else if (time && !strcmp(end, "ms"))
        scale = 1;
    else if (*end != '\0')
        end = NULL;
    if (end == NULL || end == text || errno || v < 0 || v > max / scale) {
        fprintf(stderr, "echo-server: %s wants a number from 0 to %ld%s, not '%s'\n", opt, max / scale,
                time ? " (ms, or with s/ms)" : "", text);
        exit(2);
    }
    return v * scale;
}

/* Ten thousand clients need ten thousand descriptors: take everything the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("echo-server: setrlimit(RLIMIT_NOFILE)");
    }
}

/* "listening on ...", flushed: the first line a script or a test waits for. */
static void say_listening(const char *host, uint16_t port)
{
    printf("listening on %s:%u\n", host, port);
    fflush(stdout);
}

/* Why a server could not start, in a sentence; returns the program's exit status. */
static int refuse(int rc, const char *host, uint16_t port, const char *parts)
{
    if (rc == -EADDRINUSE)
        fprintf(stderr,
                "echo-server: port %u on %s is already in use (another server is listening there); "
                "pick another --port, or --port 0 for any free one\n",
                port, host);
    else
        fprintf(stderr, "echo-server: cannot start on %s:%u: %s\n", host, port, strerror(-rc));
    if (rc == -ENOSYS)
        fprintf(stderr, "echo-server: %s not written yet (the reference runs with `make demo CH=03`)\n", parts);
    return 1;
}

/* Part 6's server: the same echo on io_uring. */
static int run_uring(const ae_config *cfg, const char *host)
{
    if (cfg->idle_timeout_ms != 0) {
        fprintf(stderr,
                "echo-server: --engine uring has no idle timeout (part 5's timers are epoll's); drop "
                "--idle-timeout\n");
        return 2;
    }
    ae_uring_server s;
    int rc = ae_uring_server_open(&s, cfg);
    if (rc == -EPERM || (rc == -ENOSYS && access("/proc/sys/kernel/io_uring_disabled", F_OK) == 0)) {
        fprintf(stderr,
                "echo-server: the kernel refuses io_uring here (%s); see the sysctl "
                "kernel.io_uring_disabled, or a container's seccomp profile\n",
                strerror(-rc));
        return 1;
    }
    if (rc != 0)
        return refuse(rc, host, cfg->port, "part 6 is");
    say_listening(host, ae_uring_server_port(&s));
    rc = ae_uring_server_run(&s);
    ae_uring_stats st = s.stats;
    ae_uring_server_close(&s);
    if (rc != 0) {
        fprintf(stderr, "echo-server: the io_uring loop failed: %s\n", strerror(-rc));
        return 1;
    }
    fprintf(stderr,
            "echo-server: shut down cleanly: %llu connections served, %llu completions in %llu io_uring_enter "
            "calls\n",
            (unsigned long long)st.accepted, (unsigned long long)st.completions, (unsigned long long)st.enters);
    return 0;
}

int main(int argc, char **argv)
{
    ae_config cfg = {.handle_signals = true};
    bool uring = false;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--host"))
            cfg.host = v;
        else if (!strcmp(a, "--port"))
            cfg.port = (uint16_t)parse_number(a, v, 65535, false);
        else if (!strcmp(a, "--max-conns"))
            cfg.max_conns = (int)parse_number(a, v, INT_MAX, false);
        else if (!strcmp(a, "--idle-timeout"))
            cfg.idle_timeout_ms = (int)parse_number(a, v, INT_MAX, true);
        else if (!strcmp(a, "--buf-size"))
            cfg.buf_size = (size_t)parse_number(a, v, 64L << 20, false);
        else if (!strcmp(a, "--engine") && (!strcmp(v, "epoll") || !strcmp(v, "uring")))
            uring = !strcmp(v, "uring");
        else
            usage();
    }
    raise_fd_limit();
    const char *host = cfg.host ? cfg.host : "127.0.0.1";
    if (uring)
        return run_uring(&cfg, host);

    ae_server s;
    int rc = ae_server_open(&s, &cfg);
    if (rc != 0)
        return refuse(rc, host, cfg.port, "parts 1-4 are");
    say_listening(host, ae_server_port(&s));

    rc = ae_server_run(&s);
    ae_stats st = s.stats;
    ae_server_close(&s);
    if (rc != 0) {
        fprintf(stderr, "echo-server: the event loop failed: %s\n", strerror(-rc));
        return 1;
    }
    fprintf(stderr, "echo-server: shut down cleanly: %llu connections served, %llu timed out\n",
            (unsigned long long)st.accepted, (unsigned long long)st.timed_out);
    return 0;
}
