/* Test doubles and probes for chapter 03 (see support.h). */
#define _GNU_SOURCE
#include "support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

/* ---- environment -------------------------------------------------------------------------------------------- */

bool under_valgrind(void) { return RUNNING_ON_VALGRIND != 0; }

int scaled(int normal, int valgrind) { return under_valgrind() ? valgrind : normal; }

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

long raise_nofile(void)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = rl.rlim_max;
    ck_assert_msg(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
    return (long)rl.rlim_cur;
}

void fill_random(uint8_t *buf, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

/* ---- /proc probes ------------------------------------------------------------------------------------------- */

int fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, pid ? "/proc/%d/fd" : "/proc/self/fd", (int)pid);
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "opendir(%s): %s", path, strerror(errno));
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return pid ? n : n - 1; /* our own count includes the directory we are reading */
}

long cpu_ms(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid ? (int)pid : (int)getpid());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    unsigned long ut = 0, st = 0;
    const char *p = strrchr(buf, ')'); /* the command name may contain spaces */
    ck_assert(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2);
    return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid ? (int)pid : (int)getpid());
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- clients ------------------------------------------------------------------------------------------------ */

int tcp_try_connect(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr. */
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int tcp_connect(uint16_t port)
{
    int fd = tcp_try_connect(port);
    ck_assert_msg(fd >= 0, "connect to 127.0.0.1:%u: %s", port, strerror(-fd));
    return fd;
}

void set_nonblocking(int fd) { ck_assert(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0); }

void close_with_rst(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

void echo_exact(int fd, const uint8_t *msg, size_t len, int timeout_ms)
{
    uint8_t *back = malloc(len);
    ck_assert(back != NULL);
    size_t sent = 0, got = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (got < len) {
        struct pollfd p = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
        int left = (int)(deadline - now_ms());
        ck_assert_msg(left > 0 && poll(&p, 1, left) == 1, "echo of %zu bytes: only %zu sent and %zu back after %d ms", len,
                      sent, got, timeout_ms);
        if (sent < len && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, msg + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            ck_assert_msg(n > 0 || errno == EAGAIN, "send: %s", strerror(errno));
            sent += n > 0 ? (size_t)n : 0;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, back + got, len - got, MSG_DONTWAIT);
            ck_assert_msg(n != 0, "the server closed the connection after echoing %zu of %zu bytes", got, len);
            ck_assert_msg(n > 0 || errno == EAGAIN, "recv after %zu of %zu bytes: %s", got, len, strerror(errno));
            got += n > 0 ? (size_t)n : 0;
            ck_assert_msg(got <= sent, "the server sent back more bytes (%zu) than it was sent (%zu)", got, sent);
        }
    }
    /* Compare first, then look for the place: each ck_assert records its location with the parent process, which
     * costs more than the comparison itself when done once per byte of a megabyte. */
    if (memcmp(back, msg, len) != 0) {
        size_t i = 0;
        while (back[i] == msg[i])
            i++;
        ck_abort_msg("echo differs at byte %zu of %zu: sent 0x%02x, got 0x%02x", i, len, msg[i], back[i]);
    }
    free(back);
}

bool ping(int fd, int timeout_ms)
{
    static const char msg[] = "ping 26 bytes, like a bench";
    char back[sizeof msg];
    if (send(fd, msg, sizeof msg, MSG_NOSIGNAL) != (ssize_t)sizeof msg)
        return false;
    size_t got = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (got < sizeof msg) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&p, 1, left) != 1)
            return false;
        ssize_t n = recv(fd, back + got, sizeof msg - got, MSG_DONTWAIT);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return memcmp(msg, back, sizeof msg) == 0;
}

peer_end wait_closed(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1)
        return PEER_SILENT;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 ? PEER_EOF : n > 0 ? PEER_DATA : errno == EAGAIN ? PEER_SILENT : PEER_RESET;
}

void tcp_pair(int fds[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr. */
    ck_assert(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&a, &len) == 0);
    fds[1] = tcp_connect(ntohs(a.sin_port));
    fds[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    ck_assert(fds[0] >= 0);
    close(l);
}

/* All clients send one message at once, then every echo is collected with poll and checked. */
static void round_trip_all(int *fds, int n, uint8_t (*msgs)[512], size_t *lens, int timeout_ms)
{
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    size_t *got = calloc((size_t)n, sizeof *got);
    uint8_t back[512];
    ck_assert(p && got);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(send(fds[i], msgs[i], lens[i], MSG_NOSIGNAL), (ssize_t)lens[i]);
        p[i] = (struct pollfd){fds[i], POLLIN, 0};
    }
    int done = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (done < n) {
        int left = (int)(deadline - now_ms());
        ck_assert_msg(left > 0 && poll(p, (nfds_t)n, left) > 0, "only %d of %d clients got their echo", done, n);
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = recv(fds[i], back, lens[i] - got[i], MSG_DONTWAIT);
            ck_assert_msg(k > 0, "client %d: the server closed or reset the connection", i);
            ck_assert_msg(memcmp(back, msgs[i] + got[i], (size_t)k) == 0, "client %d got another client's bytes", i);
            got[i] += (size_t)k;
            if (got[i] == lens[i]) {
                p[i].fd = -1; /* poll ignores negative fds */
                done++;
            }
        }
    }
    free(p);
    free(got);
}

void many_clients_echo(uint16_t port, int n, int rounds)
{
    int *fds = calloc((size_t)n, sizeof *fds);
    uint8_t(*msgs)[512] = calloc((size_t)n, sizeof *msgs);
    size_t *lens = calloc((size_t)n, sizeof *lens);
    ck_assert(fds && msgs && lens);
    for (int i = 0; i < n; i++)
        fds[i] = tcp_connect(port);
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < n; i++) {
            lens[i] = 1 + (size_t)(i * 7 + round * 131) % 512;
            fill_random(msgs[i], lens[i], (uint32_t)(i * 2 + round));
        }
        round_trip_all(fds, n, msgs, lens, scaled(10000, 60000));
    }
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    free(msgs);
    free(lens);
}

size_t push_until_stalled(int fd, const uint8_t *msg, size_t budget, int quiet_ms)
{
    size_t sent = 0;
    int64_t last_progress = now_ms();
    while (sent < budget && now_ms() - last_progress < quiet_ms) {
        ssize_t n = send(fd, msg + sent, budget - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            last_progress = now_ms();
        } else {
            sleep_ms(5); /* the window is full: look again shortly, until the quiet period is over */
        }
    }
    return sent;
}

void read_back_exact(int fd, const uint8_t *msg, size_t sent, int timeout_ms)
{
    uint8_t *back = malloc(sent ? sent : 1);
    ck_assert(back != NULL);
    size_t got = 0;
    int64_t deadline = now_ms() + timeout_ms;
    while (got < sent && now_ms() < deadline) {
        ssize_t n = recv(fd, back + got, sent - got, 0);
        if (n > 0)
            got += (size_t)n;
        else
            ck_assert_msg(n < 0 && errno == EAGAIN, "the slow reader's connection ended after %zu bytes", got);
        if (n < 0)
            sleep_ms(1);
    }
    ck_assert_msg(got == sent && memcmp(back, msg, sent) == 0, "the slow reader got %zu of %zu bytes back", got, sent);
    free(back);
}

int connect_until_refused(uint16_t port, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int fd;
    while (((fd = tcp_try_connect(port)) >= 0 || fd == -ECONNRESET) && now_ms() < deadline) {
        if (fd >= 0)
            close(fd);
        sleep_ms(10);
    }
    if (fd >= 0)
        close(fd);
    return fd;
}

/* ---- the server in a child ------------------------------------------------------------------------------------ */

/* Leaves room for exactly `room` more descriptors: the soft limit is set just above the room-th free fd number.
 * Descriptors already open above it stay usable (the limit only bounds new numbers). */
static void limit_fds(int room)
{
    int fd = 0;
    for (int free_slots = 0; free_slots < room; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            free_slots++;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (rlim_t)fd;
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* The server of parts 4-5 (epoll) or of part 6 (io_uring), behind one interface for the child below. */
typedef struct child_server {
    bool uring;
    ae_server epoll;
    ae_uring_server ring;
} child_server;

static int child_open(child_server *cs, const ae_config *cfg)
{
    return cs->uring ? ae_uring_server_open(&cs->ring, cfg) : ae_server_open(&cs->epoll, cfg);
}

static uint16_t child_port(const child_server *cs)
{
    return cs->uring ? ae_uring_server_port(&cs->ring) : ae_server_port(&cs->epoll);
}

static int child_run(child_server *cs) { return cs->uring ? ae_uring_server_run(&cs->ring) : ae_server_run(&cs->epoll); }

/* Closes the server and writes its final counters to @p stats (a pipe holds that much without a reader). */
static void child_close(child_server *cs, int stats)
{
    ssize_t w;
    if (cs->uring) {
        ae_uring_server_close(&cs->ring);
        w = write(stats, &cs->ring.stats, sizeof cs->ring.stats);
    } else {
        ae_server_close(&cs->epoll);
        w = write(stats, &cs->epoll.stats, sizeof cs->epoll.stats);
    }
    (void)w; /* the parent notices a missing report */
}

static void child_main(const ae_config *cfg, int fd_room, bool uring, int report, int stats)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int before = fd_count(0);
    ae_config c = *cfg;
    c.handle_signals = true;
    static child_server cs; /* big (the io_uring server keeps its buffer table inline): not on the stack */
    cs.uring = uring;
    int rc = child_open(&cs, &c);
    struct {
        int rc;
        uint16_t port;
    } msg;
    memset(&msg, 0, sizeof msg); /* the padding goes through write() too */
    msg.rc = rc;
    msg.port = rc == 0 ? child_port(&cs) : 0;
    ssize_t w = write(report, &msg, sizeof msg);
    close(report);
    if (rc != 0 || w != (ssize_t)sizeof msg)
        exit(CHILD_OPEN_FAILED);
    if (fd_room > 0)
        limit_fds(fd_room);
    rc = child_run(&cs);
    child_close(&cs, stats);
    close(stats);
    if (rc != 0)
        exit(CHILD_RUN_FAILED);
    exit(fd_count(0) == before - 2 ? 0 : CHILD_FD_LEAK); /* `before` counted both pipes, now closed */
}

static test_server start(const ae_config *cfg, int fd_room, bool uring)
{
    int p[2], st[2];
    ck_assert(pipe2(p, O_CLOEXEC) == 0);
    ck_assert(pipe2(st, O_CLOEXEC | O_NONBLOCK) == 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        close(st[0]);
        child_main(cfg, fd_room, uring, p[1], st[1]);
    }
    close(p[1]);
    close(st[1]);
    struct {
        int rc;
        uint16_t port;
    } msg = {0, 0};
    struct pollfd pf = {p[0], POLLIN, 0};
    ssize_t n = poll(&pf, 1, scaled(5000, 30000)) == 1 ? read(p[0], &msg, sizeof msg) : -1;
    char eof;
    if (n == (ssize_t)sizeof msg && poll(&pf, 1, scaled(5000, 30000)) == 1 && read(p[0], &eof, 1) != 0)
        n = -1; /* wait for the child to close its end, so /proc/PID/fd counts are stable from here on */
    close(p[0]);
    if (n != (ssize_t)sizeof msg || msg.rc != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(st[0]);
        ck_abort_msg("the server did not start: %s returned %d (%s)", uring ? "ae_uring_server_open" : "ae_server_open",
                     msg.rc, n == (ssize_t)sizeof msg ? strerror(-msg.rc) : "no answer from the child");
    }
    return (test_server){.pid = pid, .port = msg.port, .stats_fd = st[0], .uring = uring};
}

test_server server_start(const ae_config *cfg, int fd_room) { return start(cfg, fd_room, false); }

test_server uring_server_start(const ae_config *cfg) { return start(cfg, 0, true); }

void skip_without_io_uring(void)
{
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc == 0) {
        io_uring_queue_exit(&ring);
        return;
    }
    FT_SKIP(
        "io_uring is not available here (io_uring_setup: %s): part 6 needs Linux 6.0 or later with io_uring "
        "allowed (sysctl kernel.io_uring_disabled = 0, and no seccomp profile that blocks it)",
        strerror(-rc));
}

void assert_server_alive(const test_server *ts)
{
    int status;
    pid_t r = waitpid(ts->pid, &status, WNOHANG);
    ck_assert_msg(r == 0, "the server process died (%s %d)", r > 0 && WIFSIGNALED(status) ? "signal" : "exit status",
                  r > 0 && WIFSIGNALED(status) ? WTERMSIG(status)
                  : r > 0                      ? WEXITSTATUS(status)
                                               : -1);
}

void server_stop(test_server *ts, int sig, int timeout_ms, bool strict)
{
    if (ts->pid <= 0)
        return;
    int status = 0;
    kill(ts->pid, sig);
    int64_t deadline = now_ms() + timeout_ms;
    pid_t r;
    while ((r = waitpid(ts->pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
        sleep_ms(5);
    bool timed_out = r == 0;
    if (timed_out) {
        kill(ts->pid, SIGKILL);
        waitpid(ts->pid, &status, 0);
    }
    ts->pid = 0;
    if (!timed_out && ts->uring) /* the child wrote before exiting, so the bytes are there (or never will be) */
        ts->have_stats = read(ts->stats_fd, &ts->ustats, sizeof ts->ustats) == (ssize_t)sizeof ts->ustats;
    else if (!timed_out)
        ts->have_stats = read(ts->stats_fd, &ts->stats, sizeof ts->stats) == (ssize_t)sizeof ts->stats;
    close(ts->stats_fd);
    ts->stats_fd = -1;
    ck_assert_msg(!(strict && timed_out),
                  "the server was still running %d ms after signal %d: it must stop "
                  "accepting, drain, close everything and return from ae_server_run",
                  timeout_ms, sig);
    if (timed_out)
        return;
    ck_assert_msg(!WIFSIGNALED(status), "the server died from signal %d%s", WTERMSIG(status),
                  WTERMSIG(status) == SIGPIPE ? " (SIGPIPE: a write to a reset connection; send with MSG_NOSIGNAL)"
                  : WTERMSIG(status) == sig   ? " (the one we sent: it was not blocked and read through the signalfd)"
                                              : "");
    int code = WEXITSTATUS(status);
    ck_assert_msg(code == 0, "the server exited with status %d: %s", code,
                  code == CHILD_RUN_FAILED ? "the server's run function returned an error"
                  : code == CHILD_FD_LEAK  ? "more descriptors were open after ae_server_close than before "
                                             "ae_server_open (an fd leak)"
                  : code == 1              ? "a sanitizer report (above)"
                  : code == 23             ? "LeakSanitizer found a leak (above)"
                  : code == 99             ? "Valgrind found an error or a leak (above)"
                                           : "unexpected");
}
