/*
 * Chapter 07 demo: what its files share, and nothing outside them includes.
 *   demo.c         main, the options, clean-up at exit, and the acts as the workshop reads them
 *   demo_server.c  the kv-server process (start, kill -9, stop), its INFO figures, and the store's directory
 *   demo_load.c    the writers (one thread and one client per connection) and the read-back of their keys
 * Threads: everything runs on the main thread except the writers (demo_load.c), which touch only their own
 * struct writer and the flag load_stop. A function that can end the demo with die() is for the main thread alone:
 * exit() runs cleanup(), which stops and joins the writers.
 */
#ifndef DEMO_SHARED_H
#define DEMO_SHARED_H

#include "client.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- demo.c ---------------------------------------------------------------------------------------------------- */

/** The command line: written by main() before anything starts, read-only afterwards (any thread). */
struct demo_options {
    const char *server; /* the kv-server program */
    const char *dir;    /* the folder in which the demo makes its store's fresh directory */
    double seconds;     /* how long the writers run before the kill */
    int conns;          /* writers, one connection each */
    int depth;          /* SETs each writer keeps in flight (its pipeline) */
    bool keep;          /* leave the store's directory behind */
};
extern struct demo_options opt;

/** Set by the handler of SIGINT, SIGTERM and SIGHUP. The demo's own waits look at it at least every 100 ms; a
 * request in flight ends first, within its deadline (any thread). */
extern volatile sig_atomic_t interrupted;

int64_t now_ns(void);        /* CLOCK_MONOTONIC in nanoseconds (any thread) */
double ms_since(int64_t t0); /* milliseconds from @p t0, a now_ns() reading, to now (any thread) */

/* Prints "demo: " and the message to stderr and exits, 130 once interrupted and 1 otherwise; atexit's cleanup()
 * stops what is running (main thread). */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void check_interrupted(void); /* die()s once interrupted (main thread) */

/* What a status means, for a message: "KV_TODO (not written yet)" and the like (any thread). */
const char *status_name(kv_status st);

/* ---- demo_server.c: the server process and its directory, main thread only -------------------------------------- */

/* Makes a fresh directory for the store under opt.dir (made too when missing); its path, in static storage. */
const char *store_dir_make(void);
void store_dir_remove(void); /* removes it and everything in it, unless --keep; says where it is then (never dies) */

/* Starts `kv-server --dir DIR --port 0 --sync always` on the store's directory and reads the port it prints; dies
 * with the server's own message and the part it names when it does not start. The port. */
uint16_t server_start(void);
void server_kill9(void); /* SIGKILL, then waits for it: no clean-up of any kind runs in the server */
/* SIGTERM and a wait of up to 15 s (then SIGKILL); true when it exited 0 (never dies, does nothing if none runs). */
bool server_stop(void);

/** The figures of INFO the demo shows. */
typedef struct server_info {
    uint64_t writes, log_syncs, recovered_records, recovery_us, segments, flushes;
} server_info;

/* Sends INFO through @p c and reads the figures; false without a reply that has them all (main thread). */
bool info_read(kv_client *c, server_info *out);

/* Opens a client of @p pool_size connections to 127.0.0.1:@p port, or dies naming the status (KV_TODO: part 6). */
kv_client *client_open_or_die(uint16_t port, size_t pool_size, uint32_t max_retries);

/* ---- demo_load.c: the writers and the read-back ------------------------------------------------------------------ */

/* What became of the writers' SETs, counted once they have stopped. */
typedef struct load_totals {
    uint64_t submitted;   /* SETs handed to the client */
    uint64_t acked;       /* answered +OK: the server promised they are durable */
    uint64_t unknown;     /* in flight when the server died: written to the socket, never answered */
    uint64_t not_applied; /* never left the client (the connection was refused or broken first) */
    uint64_t refused;     /* answered with an error reply */
    kv_status first_error;
    char error_text[160]; /* the first error reply, or what the first failed status was */
} load_totals;

void load_start(uint16_t port); /* starts --conns writers, each with a client of one connection (or dies) */
uint64_t load_acked(void);      /* SETs acknowledged so far, all writers together (main thread, while they run) */
uint64_t load_in_flight(void);  /* SETs submitted and not yet ended (main thread, while they run) */
/* Tells the writers to stop submitting, waits for their last SETs to end (at most ~10 s) and joins them. Their
 * totals. Does nothing more when called again (main thread, and cleanup()). */
load_totals load_stop(void);

/* What the read-back found: every acknowledged key must be there with its value; a SET in flight may or may not
 * have been applied, but a value the demo never wrote (a wrong value, a key never sent) is invented. */
typedef struct readback {
    uint64_t acked_back, acked_lost, unknown_back, unknown_absent, invented;
    uint64_t gets, errors; /* GETs sent; those that ended without a reply */
} readback;

/* GETs every key the writers submitted, and a few past each writer's last, pipelined on a client of --conns
 * connections to @p port (main thread; dies when the GETs cannot be sent at all). */
readback load_read_back(uint16_t port);
void load_free(void); /* frees what the writers recorded (never dies; cleanup() calls it) */

#endif
