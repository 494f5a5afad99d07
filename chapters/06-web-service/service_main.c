/*
 * ws-service — the chapter's service as a program: the study's Axum handler done right, on the loops you wrote.
 *
 *   ws-service --db CONNINFO [--port N] [--workers N] [--pool N] [--cache-mb N] [--checkout-ms MS]
 *              [--drain-ms MS] [--access-log] [--quiet]
 *
 * --port 0 (the default) binds any free port; the first line on stdout is always "listening on 127.0.0.1:PORT".
 * SIGTERM or SIGINT stops accepting, answers what is in flight, closes everything and exits 0, saying so on stderr
 * unless --quiet (the tests' runs) is given.
 *
 * This file is given (not one of the chapter's `sources`, and not in `given` either: it holds a main(), so it is a
 * program of its own): `make` links it with your http.c, router.c, cache.c, db.c, pool.c, service.c, conn.c and
 * items.c into build/<impl>/<variant>-<cc>/06-web-service/ws-service.
 */
#define _GNU_SOURCE
#include "service.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: ws-service --db CONNINFO [--port N] [--workers N] [--pool N] [--cache-mb N]\n"
            "                  [--checkout-ms MS] [--drain-ms MS] [--access-log] [--quiet]\n");
    exit(2);
}

/* A non-negative integer from min to max; exits on anything else. */
static long parse_number(const char *opt, const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*end != '\0' || end == text || errno || v < min || v > max) {
        fprintf(stderr, "ws-service: %s wants a number from %ld to %ld, not '%s'\n", opt, min, max, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    ws_service_config cfg = WS_SERVICE_DEFAULTS;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--access-log")) {
            cfg.access_log = true;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            quiet = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--db"))
            cfg.conninfo = v;
        else if (!strcmp(a, "--port"))
            cfg.port = (uint16_t)parse_number(a, v, 0, 65535);
        else if (!strcmp(a, "--workers"))
            cfg.workers = (size_t)parse_number(a, v, 1, WS_WORKERS_MAX);
        else if (!strcmp(a, "--pool"))
            cfg.pool_size = (size_t)parse_number(a, v, 1, 1000);
        else if (!strcmp(a, "--cache-mb"))
            cfg.cache_mb = (size_t)parse_number(a, v, 1, 4096);
        else if (!strcmp(a, "--checkout-ms"))
            cfg.checkout_ms = (uint64_t)parse_number(a, v, 1, INT_MAX);
        else if (!strcmp(a, "--drain-ms"))
            cfg.drain_ms = (uint64_t)parse_number(a, v, 1, INT_MAX);
        else
            usage();
    }
    if (cfg.conninfo == NULL)
        usage();

    ws_service *s;
    ws_status st = ws_service_open(&cfg, &s);
    if (st != WS_STATUS_OK) {
        fprintf(stderr, "ws-service: cannot start on port %u (status %d)%s\n", cfg.port, (int)st,
                st == WS_STATUS_TODO ? ": part 5 (service.c) is not written yet" : "");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", ws_service_port(s));
    fflush(stdout);
    int rc = ws_service_run(s);
    ws_service_close(s);
    if (rc != 0) {
        fprintf(stderr, "ws-service: stopped on an error: %s\n", strerror(-rc));
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "ws-service: shut down cleanly\n");
    return 0;
}
