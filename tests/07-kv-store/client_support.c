/* The client tests' servers and scripted peers (client_support.h says what each is for). */
#define _GNU_SOURCE
#include "client_support.h"

#include "support.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t cs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int cs_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_ne(d, NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 64), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

uint16_t cs_dead_port(void)
{
    uint16_t port;
    close(listen_loopback(&port));
    return port;
}

/* True when a server on port answers PING with +PONG: listening is not enough, since redis-server accepts while it
 * still loads its append-only file and answers -LOADING until it is done. */
static bool answers_ping(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    ok = ok && send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof ping - 1);
    char reply[64];
    size_t len = 0;
    uint64_t deadline = cs_now_ms() + 5000;
    while (ok && len < sizeof reply - 1 && memchr(reply, '\n', len) == NULL) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = cs_now_ms();
        ssize_t r = now < deadline && poll(&p, 1, (int)(deadline - now)) > 0
                        ? recv(fd, reply + len, sizeof reply - 1 - len, 0)
                        : -1;
        ok = r > 0;
        len += ok ? (size_t)r : 0;
    }
    if (fd >= 0)
        close(fd);
    return ok && len >= 7 && memcmp(reply, "+PONG\r\n", 7) == 0;
}

/* ---- servers ------------------------------------------------------------------------------------------------ */

static pid_t started[8]; /* killed at exit, whatever ended the test */

static void kill_started(void)
{
    for (size_t i = 0; i < sizeof started / sizeof started[0]; i++)
        if (started[i] > 0) {
            kill(started[i], SIGKILL);
            waitpid(started[i], NULL, 0);
        }
}

static void remember(pid_t pid, pid_t old)
{
    static bool registered;
    if (!registered)
        atexit(kill_started); /* after scratch_dir()'s: runs before the directory is removed */
    registered = true;
    for (size_t i = 0; i < sizeof started / sizeof started[0]; i++)
        if (started[i] == old) {
            started[i] = pid;
            return;
        }
    ck_abort_msg("more than 8 servers in one test");
}

/* fork + exec argv with stdout to out_fd (or /dev/null), stderr to /dev/null; the child dies with the test. */
static pid_t spawn(const char *const argv[], int out_fd)
{
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDWR);
        dup2(out_fd >= 0 ? out_fd : null, 1);
        dup2(null, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The port a kv-server printed on its first line: the last number on it. 0 when none came in time. */
static uint16_t read_port_line(int fd, uint64_t deadline)
{
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        struct pollfd p = {fd, POLLIN, 0};
        uint64_t now = cs_now_ms();
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
            break;
        ssize_t r = read(fd, line + len, sizeof line - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    line[len] = '\0';
    long port = 0;
    for (size_t i = 0; i < len; i++)
        if (isdigit((unsigned char)line[i]) && (i == 0 || !isdigit((unsigned char)line[i - 1])))
            port = strtol(line + i, NULL, 10);
    return port > 0 && port < 65536 ? (uint16_t)port : 0;
}

/* Starts the server once on s->port (0: any, kv-server only). True when it accepts connections. */
static bool launch(cs_server *s, uint64_t deadline)
{
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)s->port);
    int out[2] = {-1, -1};
    pid_t pid;
    if (s->is_redis) {
        const char *argv[] = {"/usr/bin/redis-server",
                              "--port",
                              port,
                              "--bind",
                              "127.0.0.1",
                              "--save",
                              "",
                              "--dir",
                              s->dir,
                              "--appendonly",
                              s->durable ? "yes" : "no",
                              "--appendfsync",
                              "always",
                              "--daemonize",
                              "no",
                              NULL};
        pid = spawn(argv, -1);
    } else {
        ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
        const char *argv[] = {getenv("KV_SERVER"), "--port", port, "--dir", s->dir, NULL};
        pid = spawn(argv, out[1]);
        close(out[1]);
    }
    remember(pid, s->pid);
    s->pid = pid;
    if (!s->is_redis) {
        uint16_t printed = read_port_line(out[0], deadline);
        close(out[0]);
        if (printed == 0)
            return false;
        s->port = printed;
    }
    while (cs_now_ms() < deadline) {
        if (answers_ping(s->port))
            return true;
        if (waitpid(pid, NULL, WNOHANG) == pid) { /* it gave up (the port still held): start it again */
            remember(0, pid);
            s->pid = 0;
            return false;
        }
        poll(NULL, 0, 10); /* polling the listener, with the deadline above */
    }
    return false;
}

static void start_until(cs_server *s, uint64_t deadline)
{
    while (!launch(s, deadline)) {
        /* A first start (any port) has no held port to wait out: a server that did not come up will not. */
        ck_assert_msg(s->is_redis || s->port != 0,
                      "kv-server (%s) exited or stayed silent instead of printing its port: its message is above "
                      "(is part 4 or 5 written yet?)",
                      getenv("KV_SERVER"));
        ck_assert_msg(cs_now_ms() < deadline, "the server (%s) did not accept connections on port %u within 20 s",
                      s->is_redis ? "redis-server" : getenv("KV_SERVER"), (unsigned)s->port);
        cs_server_kill(s);
        poll(NULL, 0, 50); /* a retry after a failed start, with the deadline above */
    }
}

void cs_server_start(cs_server *s, bool durable)
{
    const char *kv = getenv("KV_SERVER");
    *s = (cs_server){.durable = durable};
    if (kv == NULL || kv[0] == '\0') {
        if (access("/usr/bin/redis-server", X_OK) != 0)
            FT_SKIP(
                "no server to test the client against: KV_SERVER (part 5's kv-server, which make check CH=07 "
                "builds) is not set and redis-server is not installed (sudo apt-get install redis-server)");
        s->is_redis = true;
        s->port = cs_dead_port();
    } else {
        ck_assert_msg(access(kv, X_OK) == 0, "KV_SERVER=%s is not an executable: build it with make check CH=07", kv);
    }
    path_join(s->dir, sizeof s->dir, scratch_dir(), "server");
    ck_assert_int_eq(mkdir(s->dir, 0700), 0);
    start_until(s, cs_now_ms() + 20000);
}

void cs_server_kill(cs_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    remember(0, s->pid);
    s->pid = 0;
}

void cs_server_restart(cs_server *s)
{
    ck_assert_int_eq(s->pid, 0);
    start_until(s, cs_now_ms() + 20000);
}

void cs_server_stop(cs_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    uint64_t deadline = cs_now_ms() + 10000;
    while (waitpid(s->pid, NULL, WNOHANG) != s->pid) {
        if (cs_now_ms() >= deadline) {
            cs_server_kill(s);
            return;
        }
        poll(NULL, 0, 5); /* polling a child's exit, with the deadline above */
    }
    remember(0, s->pid);
    s->pid = 0;
}

/* ---- scripted peers ----------------------------------------------------------------------------------------- */

#define PEER_CONNS 32

typedef struct peer_conn {
    int fd, up;     /* the client's socket; the server's (CS_PEER_MUTE_FIRST), else -1 */
    unsigned index; /* 0 for the first connection accepted */
    char in[65536];
    size_t len;
    char held[4096]; /* CS_PEER_HOLD_FIRST: replies not sent yet */
    size_t held_len;
    unsigned requests;
} peer_conn;

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the client went away: nothing to tell it */
        c += w;
        n -= (size_t)w;
    }
}

/* One request "*N $len word ..." at the start of in[0..len): its size, 0 when it has not all arrived. */
static size_t take_request(const char *in, size_t len, char *name, size_t name_size, char *last, size_t last_size)
{
    const char *p = in, *end = in + len;
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL || *p != '*')
        return 0;
    long words = strtol(p + 1, NULL, 10);
    p = nl + 1;
    for (long i = 0; i < words; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            return 0;
        long wl = strtol(p + 1, NULL, 10);
        p = nl + 1;
        if (end - p < wl + 2)
            return 0;
        char *dst = i == 0 ? name : last;
        size_t cap = i == 0 ? name_size : last_size;
        size_t n = (size_t)wl < cap - 1 ? (size_t)wl : cap - 1;
        memcpy(dst, p, n);
        dst[n] = '\0';
        p += wl + 2;
    }
    return (size_t)(p - in);
}

static int answer(const char *name, const char *last, char *out, size_t size)
{
    if (!strcmp(name, "INT"))
        return snprintf(out, size, ":42\r\n");
    if (!strcmp(name, "NIL"))
        return snprintf(out, size, "$-1\r\n");
    if (!strcmp(name, "ERR"))
        return snprintf(out, size, "-ERR scripted failure\r\n");
    if (!strcmp(name, "STATUS"))
        return snprintf(out, size, "+OK\r\n");
    if (!strcmp(name, "ARR"))
        return snprintf(out, size, "*3\r\n$1\r\na\r\n:7\r\n*1\r\n$1\r\nb\r\n");
    return snprintf(out, size, "$%zu\r\n%s\r\n", strlen(last), last);
}

/* Serves what c has read; false when the connection is to be closed. */
static bool peer_serve(cs_peer *p, peer_conn *c)
{
    if (p->mode == CS_PEER_MUTE_FIRST) {
        send_all(c->up, c->in, c->len);
        c->len = 0;
        return true;
    }
    size_t used;
    char name[32], last[256] = "", reply[512];
    while ((used = take_request(c->in, c->len, name, sizeof name, last, sizeof last)) > 0) {
        memmove(c->in, c->in + used, c->len - used);
        c->len -= used;
        c->requests++;
        __atomic_add_fetch(&p->requests, 1, __ATOMIC_SEQ_CST);
        if (p->mode == CS_PEER_SILENT)
            continue;
        int n = answer(name, last, reply, sizeof reply);
        if (p->mode == CS_PEER_HOLD_FIRST && c->index == 0 && c->held_len + (size_t)n <= sizeof c->held) {
            memcpy(c->held + c->held_len, reply, (size_t)n);
            c->held_len += (size_t)n;
            if (c->requests >= 2) {
                send_all(c->fd, c->held, c->held_len);
                c->held_len = 0;
            }
            continue;
        }
        send_all(c->fd, reply, (size_t)n);
    }
    return c->len < sizeof c->in;
}

static void peer_accept(cs_peer *p, peer_conn **conns)
{
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (size_t i = 0; i < PEER_CONNS; i++)
        if (conns[i] == NULL) {
            peer_conn *c = calloc(1, sizeof *c);
            c->fd = fd;
            c->up = -1;
            c->index = __atomic_fetch_add(&p->accepted, 1, __ATOMIC_SEQ_CST);
            if (p->mode == CS_PEER_MUTE_FIRST) {
                c->up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in a = {
                    .sin_family = AF_INET, .sin_port = htons(p->upstream), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                if (connect(c->up, (struct sockaddr *)&a, sizeof a) != 0) {
                    close(c->up);
                    c->up = -1;
                }
            }
            conns[i] = c;
            return;
        }
    close(fd);
}

static void peer_close(peer_conn **slot)
{
    close((*slot)->fd);
    if ((*slot)->up >= 0)
        close((*slot)->up);
    free(*slot);
    *slot = NULL;
}

static void *peer_main(void *arg)
{
    cs_peer *p = arg;
    peer_conn *conns[PEER_CONNS] = {0};
    for (;;) {
        struct pollfd fds[2 + 2 * PEER_CONNS];
        fds[0] = (struct pollfd){p->stop[0], POLLIN, 0};
        fds[1] = (struct pollfd){p->listen_fd, POLLIN, 0};
        bool gated = __atomic_load_n(&p->gated, __ATOMIC_SEQ_CST);
        for (size_t i = 0; i < PEER_CONNS; i++) {
            fds[2 + 2 * i] = (struct pollfd){conns[i] && !gated ? conns[i]->fd : -1, POLLIN, 0};
            fds[3 + 2 * i] = (struct pollfd){conns[i] ? conns[i]->up : -1, POLLIN, 0};
        }
        /* While gated, wake up now and then to see whether the gate has opened. */
        if (poll(fds, 2 + 2 * PEER_CONNS, gated ? 5 : -1) < 0 || fds[0].revents)
            break;
        if (fds[1].revents)
            peer_accept(p, conns);
        for (size_t i = 0; i < PEER_CONNS; i++) {
            peer_conn *c = conns[i];
            if (c == NULL)
                continue;
            if (fds[3 + 2 * i].revents) { /* the server's replies: passed on, or lost on the first connection */
                char buf[4096];
                ssize_t r = recv(c->up, buf, sizeof buf, 0);
                if (r <= 0) {
                    peer_close(&conns[i]);
                    continue;
                }
                if (c->index != 0)
                    send_all(c->fd, buf, (size_t)r);
            }
            if (fds[2 + 2 * i].revents) {
                ssize_t r = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
                if (r <= 0 || !(c->len += (size_t)r, peer_serve(p, c)))
                    peer_close(&conns[i]);
            }
        }
    }
    for (size_t i = 0; i < PEER_CONNS; i++)
        if (conns[i] != NULL)
            peer_close(&conns[i]);
    return NULL;
}

static void peer_launch(cs_peer *p)
{
    p->listen_fd = listen_loopback(&p->port);
    ck_assert_int_eq(pipe2(p->stop, O_CLOEXEC), 0);
    ck_assert_int_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

void cs_peer_start(cs_peer *p, cs_peer_mode mode, uint16_t upstream)
{
    *p = (cs_peer){.mode = mode, .upstream = upstream};
    peer_launch(p);
}

void cs_peer_start_gated(cs_peer *p, cs_peer_mode mode)
{
    *p = (cs_peer){.mode = mode, .gated = true};
    peer_launch(p);
}

void cs_peer_open_gate(cs_peer *p) { __atomic_store_n(&p->gated, false, __ATOMIC_SEQ_CST); }

void cs_peer_stop(cs_peer *p)
{
    ck_assert_int_eq(write(p->stop[1], "x", 1), 1);
    pthread_join(p->thread, NULL);
    close(p->stop[0]);
    close(p->stop[1]);
    close(p->listen_fd);
}
