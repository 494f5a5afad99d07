/*
 * kv-server — the chapter's store behind the RESP2 protocol: redis-cli and redis-benchmark talk to it unchanged.
 *
 *   kv-server [--dir DIR] [--port N] [--sync always|batch|never] [--max-clients N] [--memtable-bytes N]
 *             [--max-bulk N] [--quiet]
 *
 * --dir: the store's directory (made when missing); without it, a fresh one under $TMPDIR (or /tmp) is made and
 * named on stderr, so that the program runs with no set-up. --port 0 (the default) binds any free port. Either way
 * the first line on stdout is the port number alone, flushed at once, so that a script or a test can read it.
 * SIGTERM or SIGINT stops accepting, lets every connection finish what it has read, closes the store cleanly and
 * exits 0. A port in use, a directory that cannot be used, a corrupt store or a bad option is said in one line on
 * stderr, with exit status 1 (2 for a bad option).
 *
 * This file is given (it holds a main(), so it is a program of its own, outside chapter.conf's `sources` and
 * `given`): `make` links it with your resp.c, server.c and the store into
 * build/<impl>/<variant>-<cc>/07-kv-store/kv-server.
 */
#define _GNU_SOURCE
#include "server.h"
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: kv-server [--dir DIR] [--port N] [--sync always|batch|never] [--max-clients N]\n"
            "                 [--memtable-bytes N] [--max-bulk N] [--quiet]\n");
    exit(2);
}

/* A number from @p min to @p max; exits on anything else. */
static unsigned long long parse_number(const char *opt, const char *text, unsigned long long min, unsigned long long max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || end == text || text[0] == '-' || errno || v < min || v > max) {
        fprintf(stderr, "kv-server: %s wants a number from %llu to %llu, not '%s'\n", opt, min, max, text);
        exit(2);
    }
    return v;
}

static kv_sync_policy parse_sync(const char *text)
{
    if (!strcmp(text, "always"))
        return KV_SYNC_ALWAYS;
    if (!strcmp(text, "batch"))
        return KV_SYNC_BATCH;
    if (!strcmp(text, "never"))
        return KV_SYNC_NEVER;
    fprintf(stderr, "kv-server: --sync wants always, batch or never, not '%s'\n", text);
    exit(2);
}

/* What a failed open means, in words an operator can act on. */
static const char *open_error(kv_status st)
{
    switch (st) {
    case KV_CORRUPT:
        return "the store is corrupt (KV_CORRUPT): refusing to start rather than serve a damaged state";
    case KV_IO_ERROR:
        return "the directory cannot be used (KV_IO_ERROR): is it a directory, and writable?";
    case KV_NO_SPACE:
        return "the disk is full (KV_NO_SPACE)";
    case KV_INVALID:
        return "the path is too long (KV_INVALID)";
    case KV_NO_MEMORY:
        return "out of memory (KV_NO_MEMORY)";
    case KV_TODO:
        return "part 4 (the store) is not written yet (KV_TODO)";
    default:
        return "the store failed to open";
    }
}

int main(int argc, char **argv)
{
    kv_store_options sopt = {0};
    kv_server_options opt = {0};
    const char *dir = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet")) {
            quiet = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (v == NULL)
            usage();
        if (!strcmp(a, "--dir"))
            dir = v;
        else if (!strcmp(a, "--port"))
            opt.port = (uint16_t)parse_number(a, v, 0, 65535);
        else if (!strcmp(a, "--sync"))
            sopt.sync = opt.sync = parse_sync(v);
        else if (!strcmp(a, "--max-clients"))
            opt.max_clients = (size_t)parse_number(a, v, 1, 100000);
        else if (!strcmp(a, "--memtable-bytes"))
            sopt.memtable_bytes = (size_t)parse_number(a, v, 4096, 1ull << 32);
        else if (!strcmp(a, "--max-bulk"))
            opt.max_bulk = (size_t)parse_number(a, v, 1, KV_RESP_MAX_BULK);
        else
            usage();
    }

    char made[4096];
    if (dir == NULL) {
        const char *tmp = getenv("TMPDIR");
        snprintf(made, sizeof made, "%s/kv-server-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(made) == NULL) {
            fprintf(stderr, "kv-server: cannot make a directory %s: %s\n", made, strerror(errno));
            return 1;
        }
        dir = made;
        if (!quiet)
            fprintf(stderr, "kv-server: the store is in %s\n", dir);
    }

    /* SIGTERM and SIGINT are blocked here, before any thread starts, so every thread inherits the mask and the
     * signal waits for sigwait() below: no handler runs in the middle of a command. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    kv_store *store;
    kv_status st = kv_store_open(dir, &sopt, &store);
    if (st != KV_OK) {
        fprintf(stderr, "kv-server: cannot open the store in %s: %s\n", dir, open_error(st));
        return 1;
    }
    kv_server *server;
    st = kv_server_start(store, &opt, &server);
    if (st != KV_OK) {
        fprintf(stderr, "kv-server: cannot listen on port %u: %s\n", opt.port,
                st == KV_EXISTS ? "the port is in use"
                : st == KV_TODO ? "part 5 (server.c) is not written yet (KV_TODO)"
                                : "the socket or a thread could not be made");
        if (kv_store_close(store) != KV_OK)
            fprintf(stderr, "kv-server: closing the store failed too\n");
        return 1;
    }
    printf("%u\n", kv_server_port(server));
    fflush(stdout);

    int sig;
    sigwait(&stop, &sig);
    kv_server_stop(server);
    st = kv_store_close(store);
    if (st != KV_OK) {
        fprintf(stderr, "kv-server: closing the store failed (status %d)\n", (int)st);
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "kv-server: %s: stopped cleanly\n", strsignal(sig));
    return 0;
}
