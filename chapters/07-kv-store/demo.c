/*
 * Chapter 07 demo: the store survives kill -9 without losing an acknowledged write, narrated for a workshop.
 *
 *   demo --server PATH --dir DIR [options]
 * options:
 *   --seconds S   how long the writers run before the server is killed (default 5)
 *   --conns N     writers, each with one connection of its own (default 8)
 *   --depth N     SETs each writer keeps in flight: its pipeline (default 16)
 *   --keep        leave the store's directory behind (it is removed at the end otherwise)
 *
 * Set-up: a fresh directory DIR/store-XXXXXX, and `PATH --dir it --port 0 --sync always` started on it. Then:
 *   1. load: --conns writers SET keys demo:W:N (values derived from W and N) through the chapter's client driver,
 *      pipelined, and record every +OK; a line per second with SETs/s and the log's fsyncs per SET (from INFO);
 *   2. crash: kill -9 while the writers are in full flight; how many SETs were acknowledged, how many in flight;
 *   3. recovery: the server started again on the same directory; the store's recovery time and the log records it
 *      replayed (INFO's recovery_us and recovered_records);
 *   4. read-back: a pipelined GET of every key written and of a few never written; every acknowledged key must be
 *      back with its value, and nothing the writers did not write may appear; DBSIZE must agree;
 *   5. snapshot isolation: two connections WATCH one key, read it and try to write it; one EXEC wins, the other
 *      is refused (a nil reply) and sees its snapshot until then.
 * Every wait has a deadline, and every exit path (Ctrl-C included) stops the writers and the server and removes
 * the directory. The exit status is 0 when every act showed what it should, 1 otherwise, 130 after Ctrl-C.
 * `make demo CH=07` runs it against the reference solution, built with ASan+UBSan (slower); the command line is in
 * mk/chapters/07-kv-store.mk. This file reads as the workshop hears the demo; the machinery is beside it
 * (demo_server.c, demo_load.c), declared in demo_shared.h.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct demo_options opt = {.seconds = 5, .conns = 8, .depth = 16};

volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
double ms_since(int64_t t0) { return (double)(now_ns() - t0) / 1e6; }

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("demo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(interrupted ? 130 : 1);
}
void check_interrupted(void)
{
    if (interrupted)
        die("interrupted: stopping the writers and the server");
}

const char *status_name(kv_status st)
{
    switch (st) {
    case KV_TODO:
        return "KV_TODO (a function that is not written yet)";
    case KV_IO_ERROR:
        return "KV_IO_ERROR (the connection failed)";
    case KV_TIMEOUT:
        return "KV_TIMEOUT (no reply before the deadline)";
    case KV_OUTCOME_UNKNOWN:
        return "KV_OUTCOME_UNKNOWN (the connection broke with the request in flight)";
    case KV_CLOSED:
        return "KV_CLOSED";
    case KV_NO_MEMORY:
        return "KV_NO_MEMORY";
    case KV_INVALID:
        return "KV_INVALID";
    default:
        return "an unexpected status";
    }
}

/* What an act expected and did not see: said at once, and the exit status says it at the end. */
static int surprises;
static void expect(bool ok, const char *what)
{
    if (!ok) {
        printf("   !! expected %s\n", what);
        surprises++;
    }
}

static kv_client *ctl, *other; /* the demo's own connections: INFO and DBSIZE, and the two sides of act 5 */
static uint16_t port;

/* ---- act 1: load ----------------------------------------------------------------------------------------------- */

static void act_load(void)
{
    printf(
        "1. Load: %d writers, each on a connection of its own with %d SETs in flight (pipelined). With --sync always\n"
        "   the server answers +OK only once an fsync has made the write durable. One fsync covers many SETs: the\n"
        "   server writes the SETs of one read as one batch, and the log syncs the batches of all connections that\n"
        "   wait at the same moment together (group commit). \"store writes\" are those batches, as INFO counts\n"
        "   them; fsyncs are INFO's log_syncs.\n",
        opt.conns, opt.depth);
    printf("   time   SETs acked/s   store writes/s   fsyncs/s   fsyncs per SET   SETs in flight\n");
    server_info first, prev, cur;
    if (!info_read(ctl, &first))
        die("INFO did not answer with the store's figures (writes, log_syncs, recovery_us, ...)");
    prev = first;
    uint64_t acked_prev = 0;
    int64_t t0 = now_ns();
    load_start(port);
    for (int s = 1; s <= (int)opt.seconds; s++) {
        while (ms_since(t0) < s * 1000.0 && !interrupted)
            usleep(10000);
        check_interrupted();
        uint64_t acked = load_acked(), in_flight = load_in_flight();
        if (info_read(ctl, &cur)) {
            /* Never below zero: a figure read while the store swaps its log may lag for a moment. */
            double sets = (double)(acked - acked_prev),
                   syncs = cur.log_syncs > prev.log_syncs ? (double)(cur.log_syncs - prev.log_syncs) : 0;
            printf("   %3d s   %12.0f   %14llu   %8.0f   %14.4f   %14llu\n", s, sets,
                   (unsigned long long)(cur.writes - prev.writes), syncs, sets > 0 ? syncs / sets : 0.0,
                   (unsigned long long)in_flight);
            prev = cur;
        } else {
            printf("   %3d s   %12llu   (INFO did not answer)\n", s, (unsigned long long)(acked - acked_prev));
        }
        acked_prev = acked;
    }
    server_info last;
    uint64_t acked = load_acked();
    if (acked > 0 && info_read(ctl, &last) && last.log_syncs > first.log_syncs)
        printf("   => %llu SETs acknowledged in %.0f s, %.0f/s, with %llu fsyncs: one fsync for every %.0f SETs\n",
               (unsigned long long)acked, ms_since(t0) / 1000, (double)acked * 1000 / ms_since(t0),
               (unsigned long long)(last.log_syncs - first.log_syncs),
               (double)acked / (double)(last.log_syncs - first.log_syncs));
    if (acked == 0) {
        load_totals t = load_stop();
        die("no SET was acknowledged in %.0f s; the first failure: %s", opt.seconds,
            t.error_text[0] ? t.error_text : "none: the replies never came");
    }
}

/* ---- act 2: crash ---------------------------------------------------------------------------------------------- */

static load_totals act_crash(void)
{
    printf("\n2. Crash: kill -9 of the server while the writers are busy: no handler, no flush, no close runs\n");
    server_kill9();
    load_totals t = load_stop();
    printf(
        "   %llu SETs sent: %llu acknowledged (+OK: they must survive), %llu in flight (written to the socket,\n"
        "   never answered: the client reports KV_OUTCOME_UNKNOWN, and either outcome is allowed)",
        (unsigned long long)t.submitted, (unsigned long long)t.acked, (unsigned long long)t.unknown);
    if (t.not_applied > 0)
        printf(", %llu never left the client (refused connection)", (unsigned long long)t.not_applied);
    if (t.refused > 0)
        printf(", %llu answered with an error (\"%s\")", (unsigned long long)t.refused, t.error_text);
    printf("\n");
    expect(t.refused == 0, "no SET to be refused by the server");
    return t;
}

/* ---- act 3: recovery ------------------------------------------------------------------------------------------- */

static void act_recovery(void)
{
    printf(
        "\n3. Recovery: the server started again on the same directory. The store replays its log: every record\n"
        "   whose checksum holds is applied, the torn tail the kill left is cut off.\n");
    int64_t t0 = now_ns();
    port = server_start();
    double wall = ms_since(t0);
    kv_client_close(ctl);
    ctl = client_open_or_die(port, 1, 2);
    server_info in;
    if (!info_read(ctl, &in))
        die("INFO did not answer after the restart");
    printf(
        "   listening on port %u after %.0f ms (a fresh process, ASan's start-up included); the store's open took\n"
        "   %.1f ms (recovery_us %llu) and replayed %llu log records; %llu segments were on disk already\n",
        port, wall, (double)in.recovery_us / 1000, (unsigned long long)in.recovery_us,
        (unsigned long long)in.recovered_records, (unsigned long long)in.segments);
}

/* ---- act 4: read-back ------------------------------------------------------------------------------------------ */

static void act_read_back(const load_totals *t)
{
    printf("\n4. Read-back: a pipelined GET of every key the writers sent, and of 16 past each writer's last\n");
    int64_t t0 = now_ns();
    readback r = load_read_back(port);
    printf("   %llu GETs in %.1f s\n", (unsigned long long)r.gets, ms_since(t0) / 1000);
    printf("   %llu of %llu acknowledged writes are back, %llu lost, %llu invented\n", (unsigned long long)r.acked_back,
           (unsigned long long)t->acked, (unsigned long long)r.acked_lost, (unsigned long long)r.invented);
    printf("   of the %llu in flight, %llu made it to the log before the kill and %llu did not\n",
           (unsigned long long)t->unknown, (unsigned long long)r.unknown_back, (unsigned long long)r.unknown_absent);
    if (r.errors > 0)
        printf("   %llu GETs got no reply\n", (unsigned long long)r.errors);
    expect(r.acked_back == t->acked && r.acked_lost == 0, "every acknowledged write back");
    expect(r.invented == 0, "no value that was never written");
    expect(r.errors == 0, "a reply to every GET");

    const char *argv[] = {"DBSIZE"};
    kv_reply *reply = NULL;
    int64_t keys = -1;
    if (kv_client_exec(ctl, KV_CLIENT_IDEMPOTENT, 1, argv, NULL, &reply) != KV_OK || kv_reply_as_int(reply, &keys) != KV_OK)
        keys = -1;
    kv_reply_free(reply);
    uint64_t known = r.acked_back + r.unknown_back;
    printf("   DBSIZE: %lld keys; the demo knows of %llu (acknowledged, and in flight but back)\n", (long long)keys,
           (unsigned long long)known);
    expect(keys == (int64_t)known, "DBSIZE to count exactly the keys the writers wrote");
}

/* ---- act 5: snapshot isolation ------------------------------------------------------------------------------- */

/* A reply in a few words, as redis-cli shows it. */
static const char *show(const kv_reply *r, char *out, size_t cap)
{
    const uint8_t *data;
    size_t len, n;
    int64_t i;
    const char *msg;
    const kv_reply *first;
    switch (kv_reply_kind(r)) {
    case KV_REPLY_NIL:
        return "nil";
    case KV_REPLY_INT:
        snprintf(out, cap, "%lld", kv_reply_as_int(r, &i) == KV_OK ? (long long)i : 0);
        break;
    case KV_REPLY_STATUS:
    case KV_REPLY_BULK:
        if (kv_reply_as_bytes(r, &data, &len) != KV_OK)
            return "?";
        snprintf(out, cap, kv_reply_kind(r) == KV_REPLY_BULK ? "\"%.*s\"" : "%.*s", (int)len, (const char *)data);
        break;
    case KV_REPLY_ERROR:
        snprintf(out, cap, "(error) %s", kv_reply_error_message(r, &msg) == KV_OK ? msg : "?");
        break;
    case KV_REPLY_ARRAY: {
        char inner[64] = "";
        if (kv_reply_array_len(r, &n) != KV_OK)
            return "?";
        if (n > 0 && kv_reply_array_at(r, 0, &first) == KV_OK)
            snprintf(inner, sizeof inner, "%s", show(first, (char[64]){0}, 64));
        snprintf(out, cap, "[%s%s]", inner, n > 1 ? ", ..." : "");
        break;
    }
    }
    return out;
}

/* Runs one command on @p c and prints it with its reply on a line of its own; the reply, in *shown. */
static void step(const char *who, kv_client *c, const char *note, char *shown, size_t cap, size_t argc, ...)
{
    const char *argv[4];
    char line[128] = "";
    va_list ap;
    va_start(ap, argc);
    for (size_t i = 0; i < argc && i < 4; i++) {
        argv[i] = va_arg(ap, const char *);
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", argv[i]);
    }
    va_end(ap);
    kv_reply *r = NULL;
    kv_status st = kv_client_exec(c, 0, argc, argv, NULL, &r);
    if (st != KV_OK)
        die("%s: %s", line, status_name(st));
    char text[96];
    snprintf(shown, cap, "%s", show(r, text, sizeof text));
    kv_reply_free(r);
    if (note[0])
        printf("   %s: %-28s -> %-7s  %s\n", who, line, shown, note);
    else
        printf("   %s: %-28s -> %s\n", who, line, shown);
}

static void act_snapshot(void)
{
    printf("\n5. Snapshot isolation: connections A and B both WATCH demo:balance, read it, and write it back\n");
    other = client_open_or_die(port, 1, 0);
    char got[96];
    step("A", ctl, "", got, sizeof got, 3, "SET", "demo:balance", "100");
    step("A", ctl, "A's snapshot is taken here", got, sizeof got, 2, "WATCH", "demo:balance");
    step("B", other, "and B's here", got, sizeof got, 2, "WATCH", "demo:balance");
    step("A", ctl, "", got, sizeof got, 2, "GET", "demo:balance");
    step("A", ctl, "", got, sizeof got, 1, "MULTI");
    step("A", ctl, "queued, not run yet", got, sizeof got, 3, "SET", "demo:balance", "150");
    step("A", ctl, "A commits first: it wins", got, sizeof got, 1, "EXEC");
    expect(strcmp(got, "[OK]") == 0, "A's EXEC to commit ([OK])");
    step("B", other, "B still reads its snapshot", got, sizeof got, 2, "GET", "demo:balance");
    expect(strcmp(got, "\"100\"") == 0, "B to read 100, the value at its snapshot");
    step("B", other, "", got, sizeof got, 1, "MULTI");
    step("B", other, "", got, sizeof got, 3, "SET", "demo:balance", "70");
    step("B", other, "a key B read changed: nothing applied", got, sizeof got, 1, "EXEC");
    expect(strcmp(got, "nil") == 0, "B's EXEC to be refused with a nil reply");
    step("B", other, "B's next read sees A's commit", got, sizeof got, 2, "GET", "demo:balance");
    expect(strcmp(got, "\"150\"") == 0, "150, A's value, once B's transaction is over");
}

/* ---- main ---------------------------------------------------------------------------------------------------- */

/* Runs at every exit: stops the writers, closes the demo's connections, stops the server, removes the directory. */
static void cleanup(void)
{
    load_free();
    kv_client_close(ctl);
    kv_client_close(other);
    ctl = other = NULL;
    server_stop();
    store_dir_remove();
}

static void usage(void)
{
    fprintf(stderr, "usage: demo --server PATH --dir DIR [--seconds S] [--conns N] [--depth N] [--keep]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--keep")) {
            opt.keep = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--server"))
            opt.server = v;
        else if (!strcmp(a, "--dir"))
            opt.dir = v;
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "--depth"))
            opt.depth = atoi(v);
        else
            usage();
    }
    if (!opt.server || !opt.dir || opt.seconds < 1 || opt.seconds > 600 || opt.conns < 1 || opt.conns > 200 ||
        opt.depth < 1 || opt.depth > 10000)
        usage();
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);                /* each line as it happens, through a pipe too */
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: a blocking call returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(cleanup);

    printf("demo: chapter 07, the key-value store: acknowledged writes survive kill -9\n");
    const char *dir = store_dir_make();
    port = server_start();
    ctl = client_open_or_die(port, 1, 2);
    printf("demo: kv-server --sync always, listening on 127.0.0.1:%u, its store in %s\n\n", port, dir);
    act_load();
    load_totals t = act_crash();
    act_recovery();
    act_read_back(&t);
    act_snapshot();
    bool clean = server_stop();
    printf("\ndemo: SIGTERM: the server %s\n", clean ? "closed the store and exited 0" : "did not stop cleanly");
    expect(clean, "the server to exit 0 on SIGTERM");
    if (surprises > 0)
        die("%d thing%s did not go as expected (marked !! above)", surprises, surprises == 1 ? "" : "s");
    printf("demo: every act showed what it should\n");
    return 0;
}
