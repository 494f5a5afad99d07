/*
 * echo-server — the chapter's server as a program: the study's Tokio echo, on the reactor you wrote.
 *
 *   echo-server [--host ADDR] [--port N] [--max-conns N] [--idle-timeout T] [--buf-size BYTES]
 *
 * --port 0 (the default) binds any free port; the first line on stdout is always "listening on HOST:PORT".
 * T is milliseconds, or a number with the suffix ms or s (--idle-timeout 30s); 0 disables the timeout.
 * SIGINT or SIGTERM stops accepting, drains, closes everything and exits 0.
 *
 * This file is given (not one of the chapter's `sources`): `make` links it with your reactor.c, conn.c and
 * server.c into build/<impl>/<variant>-<cc>/03-async-echo/echo-server.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: echo-server [--host ADDR] [--port N] [--max-conns N] [--idle-timeout T] "
            "[--buf-size BYTES]\n"
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

int main(int argc, char **argv)
{
    ae_config cfg = {.handle_signals = true};
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
        else
            usage();
    }
    raise_fd_limit();

    ae_server s;
    int rc = ae_server_open(&s, &cfg);
    const char *host = cfg.host ? cfg.host : "127.0.0.1";
    if (rc == -EADDRINUSE) {
        fprintf(stderr,
                "echo-server: port %u on %s is already in use (another server is listening there); "
                "pick another --port, or --port 0 for any free one\n",
                cfg.port, host);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "echo-server: cannot start on %s:%u: %s\n", host, cfg.port, strerror(-rc));
        if (rc == -ENOSYS)
            fprintf(stderr,
                    "echo-server: parts 1-4 are not written yet (the reference runs with "
                    "`make demo CH=03`)\n");
        return 1;
    }
    printf("listening on %s:%u\n", host, ae_server_port(&s));
    fflush(stdout);

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
