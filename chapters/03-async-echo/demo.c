/*
 * Chapter 03 demo and load client: ping-pong over many connections, every byte checked, live msg/s and latency.
 *
 *   demo --server PATH [options]   start PATH --port 0 (the chapter's echo-server), drive it, stop it with SIGTERM
 *   demo --port N [options]        drive a server that is already listening on HOST:N
 * options:
 *   --conns N      connections (default 50)          --size BYTES   message size (default 26, at most 1 MiB)
 *   --seconds S    measured run (default 5)          --warmup S     unmeasured start (default 0.5)
 *   --live         one line per second (the default with --server)
 *   --idle N       open N connections, echo one message on each, print "IDLE ready", hold them --seconds
 *   --engine E     with --server: epoll (parts 1-5, the default) or uring (part 6)
 *
 * Each connection sends one message, waits for all of it to come back, compares every byte, records the round
 * trip, and sends the next. The last line is machine-readable (bench/03-async-echo/run.sh parses it):
 *   RESULT conns=.. size=.. seconds=.. msgs=.. msg_per_s=.. p50_us=.. p99_us=.. max_us=.. errors=.. stalls=..
 *          all_msgs=.. client_cpu_pct=..
 * where stalls counts round trips of 30 ms or more (the signature of Nagle meeting a delayed ACK), all_msgs
 * includes the warm-up, and client_cpu_pct is this client's own CPU time over the whole run in % of one core (near
 * 100, the client and not the server sets the pace).
 * `make demo CH=03` runs it with --server against the reference solution, built with ASan+UBSan (slower).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HIST_US 200000 /* latency histogram: 1 µs buckets up to 200 ms, the rest in the last bucket */
#define STALL_US 30000
#define MAX_SIZE (1u << 20)

typedef struct client {
    int fd;
    uint32_t id, seq;
    size_t sent, got; /* bytes of the current message written / read back */
    int64_t t0_ns;    /* when the current message started */
    bool want_out;    /* EPOLLOUT registered */
    uint8_t *msg;     /* the current message, the reference the echo is compared with */
} client;

typedef struct stats {
    uint64_t msgs, errors, stalls, max_us;
    uint64_t all_msgs; /* warm-up included: what the server did while the client ran */
    uint32_t *hist;
} stats;

static struct {
    const char *server;
    uint16_t port;
    int conns, idle;
    size_t size;
    double seconds, warmup;
    bool live;
    const char *engine; /* the echo-server's --engine */
} opt = {.conns = 50, .size = 26, .seconds = 5.0, .warmup = 0.5, .engine = "epoll"};

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- the server under test, when we start it ---------------------------------------------------------------- */

static pid_t server_pid;

static uint16_t start_server(const char *path, int max_conns, const char *engine)
{
    int p[2];
    if (pipe(p) < 0)
        die("pipe");
    server_pid = fork();
    if (server_pid < 0)
        die("fork");
    if (server_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the demo */
        setpgid(0, 0);                    /* Ctrl-C reaches the demo only; the demo then stops the server */
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        char mc[16];
        snprintf(mc, sizeof mc, "%d", max_conns);
        execl(path, path, "--port", "0", "--max-conns", mc, "--engine", engine, (char *)NULL);
        fprintf(stderr, "demo: cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[256];
    unsigned port = 0;
    if (!f || !fgets(line, sizeof line, f) || !strchr(line, ':') || sscanf(strrchr(line, ':') + 1, "%u", &port) != 1) {
        fprintf(stderr, "demo: the server did not start (its own message is above)\n");
        exit(1);
    }
    fclose(f);
    printf("demo: started %s, %s", path, line);
    return (uint16_t)port;
}

static void stop_server(void)
{
    if (server_pid <= 0)
        return;
    int status;
    kill(server_pid, SIGTERM);
    int64_t t0 = now_ns();
    if (waitpid(server_pid, &status, 0) == server_pid) {
        double ms = (double)(now_ns() - t0) / 1e6;
        if (WIFEXITED(status))
            printf("demo: SIGTERM sent; the server drained and exited with status %d after %.1f ms\n", WEXITSTATUS(status),
                   ms);
        else
            printf("demo: the server died from signal %d\n", WTERMSIG(status));
    }
    server_pid = 0;
}

/* ---- connections ------------------------------------------------------------------------------------------ */

/* A blocking connect (loopback answers at once while the backlog has room), then non-blocking for the loop. */
static int connect_one(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(opt.port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr, and its size is passed with it. */
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* our own writes must not wait for ACKs */
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        die("fcntl");
    return fd;
}

/* Message seq of client id: a pattern that differs per connection and per message, so a byte echoed to the
 * wrong client or left over from an earlier message is caught. */
static void fill(client *c)
{
    uint32_t x = c->id * 2654435761u ^ c->seq * 40503u;
    for (size_t i = 0; i < opt.size; i++) {
        x = x * 1103515245u + 12345u;
        c->msg[i] = (uint8_t)(x >> 16);
    }
}

static void set_out(int ep, client *c, bool on)
{
    if (c->want_out == on)
        return;
    /* SAFETY: the epoll entry's data.ptr is the client it was registered with, alive until closed. */
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->want_out = on;
}

static void drop(client *c, stats *st, const char *why)
{
    if (c->fd < 0)
        return;
    if (st->errors++ < 5)
        fprintf(stderr, "demo: connection %u: %s\n", c->id, why);
    close(c->fd);
    c->fd = -1;
}

/* Writes what is left of the current message; returns false if the connection failed. */
static bool pump_out(int ep, client *c, stats *st)
{
    while (c->sent < opt.size) {
        ssize_t n = send(c->fd, c->msg + c->sent, opt.size - c->sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0) {
            drop(c, st, strerror(errno));
            return false;
        }
        c->sent += (size_t)n;
    }
    set_out(ep, c, c->sent < opt.size);
    return true;
}

static bool start_message(int ep, client *c, stats *st)
{
    c->seq++;
    fill(c);
    c->sent = c->got = 0;
    c->t0_ns = now_ns();
    return pump_out(ep, c, st);
}

static void record(stats *st, uint64_t us)
{
    st->msgs++;
    st->hist[us < HIST_US ? us : HIST_US - 1]++;
    st->stalls += us >= STALL_US;
    if (us > st->max_us)
        st->max_us = us;
}

/* Reads the echo and checks it against what was sent; a complete message is recorded and the next one sent. */
static void pump_in(int ep, client *c, stats *run, stats *sec, bool measuring)
{
    static uint8_t rbuf[MAX_SIZE];
    for (;;) {
        ssize_t n = recv(c->fd, rbuf, opt.size - c->got, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            drop(c, run, n == 0 ? "the server closed the connection" : strerror(errno));
            return;
        }
        if ((size_t)n > c->sent - c->got || memcmp(rbuf, c->msg + c->got, (size_t)n) != 0) {
            drop(c, run, "echoed bytes differ from the bytes sent");
            return;
        }
        c->got += (size_t)n;
        if (c->got < opt.size)
            continue;
        uint64_t us = (uint64_t)(now_ns() - c->t0_ns) / 1000;
        run->all_msgs++;
        if (measuring) {
            record(run, us);
            record(sec, us);
        }
        if (opt.idle)
            return; /* one message per connection: done */
        if (!start_message(ep, c, run))
            return;
    }
}

/* ---- reporting -------------------------------------------------------------------------------------------- */

static uint64_t percentile(const stats *st, double p)
{
    uint64_t want = (uint64_t)((double)st->msgs * p), seen = 0;
    for (uint64_t us = 0; us < HIST_US; us++)
        if ((seen += st->hist[us]) > want)
            return us;
    return HIST_US;
}

static void reset(stats *st)
{
    memset(st->hist, 0, HIST_US * sizeof st->hist[0]);
    st->msgs = st->stalls = st->max_us = 0;
}

/* ---- the runs ------------------------------------------------------------------------------------------------ */

static client *open_clients(int ep, int n)
{
    client *cs = calloc((size_t)n, sizeof *cs);
    if (!cs)
        die("calloc");
    for (int i = 0; i < n; i++) {
        cs[i] = (client){.fd = connect_one(), .id = (uint32_t)i, .msg = malloc(opt.size)};
        if (!cs[i].msg)
            die("malloc");
        /* SAFETY: cs is never reallocated, so &cs[i] stays valid for the epoll entry's lifetime. */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
            die("epoll_ctl");
    }
    return cs;
}

/* One epoll_wait: writes what is pending, reads and checks what came back. */
static void turn(int ep, stats *run, stats *sec, bool measuring)
{
    static struct epoll_event evs[512];
    int k = epoll_wait(ep, evs, 512, 100);
    for (int i = 0; i < k; i++) {
        client *c = evs[i].data.ptr;
        if (c->fd >= 0 && (evs[i].events & EPOLLOUT))
            pump_out(ep, c, run);
        if (c->fd >= 0 && c->got < opt.size && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            pump_in(ep, c, run, sec, measuring);
    }
}

/* This process's CPU time (user + system), in ns. */
static int64_t own_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void run_load(int ep, client *cs, int n)
{
    stats run = {.hist = calloc(HIST_US, sizeof(uint32_t))}, sec = {.hist = calloc(HIST_US, sizeof(uint32_t))};
    if (!run.hist || !sec.hist)
        die("calloc");
    for (int i = 0; i < n; i++)
        start_message(ep, &cs[i], &run);
    int64_t start = now_ns(), measure_from = start + (int64_t)(opt.warmup * 1e9), cpu0 = own_cpu_ns();
    int64_t end = measure_from + (int64_t)(opt.seconds * 1e9), next_tick = measure_from + 1000000000;
    for (int64_t t = start; t < end && !interrupted; t = now_ns()) {
        turn(ep, &run, &sec, t >= measure_from);
        if (opt.live && t >= next_tick) {
            printf("  %3.0f s  %9llu msg/s   p50 %6llu us   p99 %6llu us   errors %llu\n", (double)(t - measure_from) / 1e9,
                   (unsigned long long)sec.msgs, (unsigned long long)percentile(&sec, 0.50),
                   (unsigned long long)percentile(&sec, 0.99), (unsigned long long)run.errors);
            fflush(stdout);
            reset(&sec);
            next_tick += 1000000000;
        }
    }
    int64_t stop = now_ns();
    double secs = (double)(stop - measure_from) / 1e9;
    double cpu_pct = 100.0 * (double)(own_cpu_ns() - cpu0) / (double)(stop - start);
    printf(
        "RESULT conns=%d size=%zu seconds=%.2f msgs=%llu msg_per_s=%.0f p50_us=%llu p99_us=%llu max_us=%llu "
        "errors=%llu stalls=%llu all_msgs=%llu client_cpu_pct=%.0f\n",
        n, opt.size, secs, (unsigned long long)run.msgs, (double)run.msgs / secs,
        (unsigned long long)percentile(&run, 0.50), (unsigned long long)percentile(&run, 0.99),
        (unsigned long long)run.max_us, (unsigned long long)run.errors, (unsigned long long)run.stalls,
        (unsigned long long)run.all_msgs, cpu_pct);
    free(run.hist);
    free(sec.hist);
}

/* One message on each connection, then hold them all: what an idle server's memory is measured with. */
static void run_idle(int ep, client *cs, int n)
{
    stats st = {.hist = calloc(HIST_US, sizeof(uint32_t))};
    if (!st.hist)
        die("calloc");
    for (int i = 0; i < n; i++)
        start_message(ep, &cs[i], &st);
    for (int64_t end = now_ns() + 20000000000; st.all_msgs + st.errors < (uint64_t)n && now_ns() < end;)
        turn(ep, &st, &st, false);
    printf("IDLE ready conns=%d echoed=%llu errors=%llu\n", n, (unsigned long long)st.all_msgs,
           (unsigned long long)st.errors);
    fflush(stdout);
    for (int64_t end = now_ns() + (int64_t)(opt.seconds * 1e9); now_ns() < end && !interrupted;)
        usleep(20000);
    free(st.hist);
}

/* ---- main ------------------------------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: demo (--server PATH | --port N) [--conns N] [--size BYTES] [--seconds S] "
            "[--warmup S] [--live] [--idle N] [--engine epoll|uring]\n");
    exit(2);
}

static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--live")) {
            opt.live = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        const char *v = argv[++i];
        if (!strcmp(a, "--server"))
            opt.server = v;
        else if (!strcmp(a, "--port"))
            opt.port = (uint16_t)atoi(v);
        else if (!strcmp(a, "--conns"))
            opt.conns = atoi(v);
        else if (!strcmp(a, "--idle"))
            opt.idle = atoi(v);
        else if (!strcmp(a, "--size"))
            opt.size = (size_t)atol(v);
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            opt.warmup = atof(v);
        else if (!strcmp(a, "--engine") && (!strcmp(v, "epoll") || !strcmp(v, "uring")))
            opt.engine = v;
        else
            usage();
    }
    if ((!opt.server && !opt.port) || opt.conns < 1 || opt.idle < 0 || opt.size < 1 || opt.size > MAX_SIZE ||
        opt.seconds <= 0 || opt.warmup < 0)
        usage();
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    int n = opt.idle ? opt.idle : opt.conns;
    struct rlimit rl; /* every connection is a descriptor: take what the hard limit allows */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa = {.sa_handler = on_sigint};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (opt.server) {
        opt.live = true;
        opt.port = start_server(opt.server, n + 16, opt.engine);
        printf("demo: %d connections, %zu-byte messages, %.0f s (Ctrl-C stops early); every byte is checked\n", n, opt.size,
               opt.seconds);
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    client *cs = open_clients(ep, n);
    if (opt.idle)
        run_idle(ep, cs, n);
    else
        run_load(ep, cs, n);
    for (int i = 0; i < n; i++) {
        if (cs[i].fd >= 0)
            close(cs[i].fd);
        free(cs[i].msg);
    }
    free(cs);
    close(ep);
    stop_server();
    return 0;
}
