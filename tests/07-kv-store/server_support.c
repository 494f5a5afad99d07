/* The RESP server as a program, for the part 5 tests (server_support.h says what each helper is for). */
#define _GNU_SOURCE
#include "server_support.h"

#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Milliseconds left before @p deadline, at least 0. */
static int left_ms(uint64_t deadline)
{
    uint64_t now = now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* fork + exec of @p argv with stdout to @p out_fd (-1: /dev/null); stderr stays the test's (sanitizer reports of
 * the server show there) unless @p quiet. The child dies with the test's process. */
static pid_t spawn(const char *const *argv, int out_fd, bool quiet)
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
        if (quiet)
            dup2(null, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void srv_start(srv *s, const char *dir, const char *const *args)
{
    const char *path = getenv("KV_SERVER");
    ck_assert_msg(path != NULL && path[0] != '\0', "KV_SERVER is not set: run the tests with make check CH=07");
    if (dir == NULL)
        path_join(s->dir, sizeof s->dir, scratch_dir(), "store");
    else if (dir != s->dir)
        snprintf(s->dir, sizeof s->dir, "%s", dir);
    const char *argv[32] = {path, "--port", "0", "--dir", s->dir, "--quiet"};
    size_t n = 6;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int out[2];
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    s->pid = spawn(argv, out[1], false);
    close(out[1]);
    char line[64];
    size_t len = 0;
    uint64_t deadline = now_ms() + 20000;
    while (len < sizeof line - 1 && memchr(line, '\n', len) == NULL) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            break;
        ssize_t r = read(out[0], line + len, sizeof line - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(out[0]);
    line[len] = '\0';
    long port = strtol(line, NULL, 10);
    ck_assert_msg(port > 0 && port < 65536,
                  "kv-server did not print its port on its first line (got '%s'): does kv_server_start() work, and "
                  "kv_server_port() say the port bound?",
                  line);
    s->port = (uint16_t)port;
}

/* Waits for the server's exit (@p timeout_ms at most, then SIGKILL); returns the wait status, -1 after a kill. */
static int reap(srv *s, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    int status = -1;
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);
        if (r == s->pid)
            break;
        if (left_ms(deadline) == 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            status = -1;
            break;
        }
        poll(NULL, 0, 5); /* polling a child's exit, with the deadline above */
    }
    s->pid = 0;
    return status;
}

void srv_stop(srv *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    int status = reap(s, 20000);
    ck_assert_msg(status != -1,
                  "kv-server did not exit within 20 s of SIGTERM: does kv_server_stop() wake accept() "
                  "and every connection thread (shutdown), and join them?");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "kv-server ended with status %#x after SIGTERM, not a clean exit 0: its stderr above says why "
                  "(a leak, a race or a memory error found by the sanitizer at exit, or a failed close)",
                  status);
}

void srv_kill(srv *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGKILL);
    reap(s, 20000);
}

uint64_t srv_vm_bytes(const srv *s)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", path);
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmSize: %" SCNu64, &kb) == 1)
            break;
    fclose(f);
    return kb * 1024;
}

srv_conn *srv_connect(uint16_t port)
{
    srv_conn *c = malloc(sizeof *c);
    ck_assert_ptr_ne(c, NULL);
    c->len = 0;
    c->reply[0] = '\0';
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_msg(connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to kv-server: %s", strerror(errno));
    return c;
}

void srv_close(srv_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    free(c);
}

bool srv_send(srv_conn *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void srv_send_cmd(srv_conn *c, const char *words)
{
    char out[8192], copy[4096];
    snprintf(copy, sizeof copy, "%s", words);
    size_t argc = 0, n = 0;
    char *args[64], *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < 64; w = strtok_r(NULL, " ", &save))
        args[argc++] = w;
    n += (size_t)snprintf(out + n, sizeof out - n, "*%zu\r\n", argc);
    for (size_t i = 0; i < argc; i++)
        n += (size_t)snprintf(out + n, sizeof out - n, "$%zu\r\n%s\r\n", strlen(args[i]), args[i]);
    ck_assert_uint_lt(n, sizeof out);
    ck_assert_msg(srv_send(c, out, n), "kv-server closed the connection before '%s' was sent", words);
}

/* The length of a line ending in CRLF at @p buf, CRLF included; 0 when it has not all arrived. */
static size_t line_len(const char *buf, size_t len)
{
    const char *crlf = memmem(buf, len, "\r\n", 2);
    return crlf ? (size_t)(crlf - buf) + 2 : 0;
}

long resp_value_len(const char *buf, size_t len)
{
    if (len == 0)
        return 0;
    size_t head = line_len(buf, len);
    if (head == 0)
        return 0;
    long n = strtol(buf + 1, NULL, 10);
    switch (buf[0]) {
    case '+':
    case '-':
    case ':':
        return (long)head;
    case '$':
        if (n < 0)
            return (long)head;
        return len >= head + (size_t)n + 2 ? (long)(head + (size_t)n + 2) : 0;
    case '*': {
        size_t pos = head;
        for (long i = 0; i < n; i++) {
            long e = resp_value_len(buf + pos, len - pos);
            if (e <= 0)
                return e;
            pos += (size_t)e;
        }
        return (long)pos;
    }
    default:
        return -1;
    }
}

const char *srv_read(srv_conn *c, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    long n;
    while ((n = resp_value_len(c->buf, c->len)) == 0) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (c->len == sizeof c->buf || poll(&p, 1, left_ms(deadline)) <= 0)
            return NULL;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r <= 0)
            return NULL;
        c->len += (size_t)r;
    }
    ck_assert_msg(n > 0, "kv-server sent something that is not RESP: '%.40s'", c->buf);
    ck_assert_uint_lt((size_t)n, sizeof c->reply);
    memcpy(c->reply, c->buf, (size_t)n);
    c->reply[n] = '\0';
    memmove(c->buf, c->buf + n, c->len - (size_t)n);
    c->len -= (size_t)n;
    return c->reply;
}

const char *srv_do(srv_conn *c, const char *words)
{
    srv_send_cmd(c, words);
    const char *r = srv_read(c, 10000);
    ck_assert_msg(r != NULL, "no reply to '%s' within 10 s", words);
    return r;
}

bool srv_wait_eof(srv_conn *c, int timeout_ms)
{
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            return false;
        char b[4096];
        ssize_t n = recv(c->fd, b, sizeof b, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

int srv_run(const char *const *argv, char *out, size_t cap, int timeout_ms)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = spawn(argv, fds[1], true);
    close(fds[1]);
    size_t len = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            break;
        char sink[4096];
        char *to = len + 1 < cap ? out + len : sink;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof sink;
        ssize_t r = read(fds[0], to, room);
        if (r <= 0)
            break;
        if (to != sink)
            len += (size_t)r;
    }
    close(fds[0]);
    out[len] = '\0';
    srv s = {.pid = pid};
    int status = reap(&s, left_ms(deadline) + 1000);
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int srv_cli(uint16_t port, const char *words, char *out, size_t cap)
{
    char copy[4096], p[16];
    snprintf(copy, sizeof copy, "%s", words);
    snprintf(p, sizeof p, "%u", (unsigned)port);
    const char *argv[64] = {"redis-cli", "-p", p};
    size_t argc = 3;
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w != NULL && argc < 63; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    argv[argc] = NULL;
    return srv_run(argv, out, cap, 10000);
}

void srv_need_redis_tools(void)
{
    if (access("/usr/bin/redis-cli", X_OK) != 0 || access("/usr/bin/redis-benchmark", X_OK) != 0)
        FT_SKIP("redis-cli and redis-benchmark are not installed: sudo apt-get install redis-tools");
}

uint64_t srv_info(srv_conn *c, const char *name)
{
    const char *r = srv_do(c, "INFO");
    char key[64];
    snprintf(key, sizeof key, "\n%s:", name);
    const char *at = strstr(r, key);
    ck_assert_msg(at != NULL, "INFO has no line '%s:value'", name);
    return strtoull(at + strlen(key), NULL, 10);
}
