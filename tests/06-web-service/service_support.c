/* The service as a program, for the part 5 tests (service_support.h says what each helper is for). */
#define _GNU_SOURCE
#include "service_support.h"

#include "pg_support.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t svc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds left before @p deadline, at least 0. */
static int left_ms(uint64_t deadline)
{
    uint64_t now = svc_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

static void start(svc *s, const char *conninfo, const char *const *args, bool logged)
{
    const char *path = getenv("WS_SERVICE");
    ck_assert_msg(path != NULL, "WS_SERVICE is not set: run the tests with make check CH=06");
    const char *argv[32] = {path, "--port", "0", "--db", conninfo, "--quiet"};
    size_t n = 6;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int out[2], err[2] = {-1, -1};
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    if (logged)
        ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        dup2(out[1], 1);
        if (logged)
            dup2(err[1], 2);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    if (logged)
        close(err[1]);
    s->pid = pid;
    s->err_fd = err[0];
    char line[128];
    size_t len = 0;
    uint64_t deadline = svc_now_ms() + 20000;
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
    const char *colon = strrchr(line, ':');
    ck_assert_msg(colon != NULL && strncmp(line, "listening on ", 13) == 0,
                  "the service did not print 'listening on HOST:PORT' (got '%s'): does ws_service_open() work?", line);
    s->port = (uint16_t)atoi(colon + 1);
    double size = 4;
    for (size_t i = 0; args != NULL && args[i] != NULL; i++)
        if (!strcmp(args[i], "--pool") && args[i + 1] != NULL)
            size = atof(args[i + 1]);
    svc_metric_wait(s->port, "ws_pool_idle", size, 20000);
}

void svc_start(svc *s, const char *const *args) { start(s, pg_conninfo(), args, false); }
void svc_start_logged(svc *s, const char *const *args) { start(s, pg_conninfo(), args, true); }
void svc_start_db(svc *s, const char *conninfo, const char *const *args) { start(s, conninfo, args, false); }

int svc_stop(svc *s, int timeout_ms)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    uint64_t deadline = svc_now_ms() + (uint64_t)timeout_ms;
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
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->err_fd = -1;
    return status;
}

void client_open(client *c, uint16_t port)
{
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_msg(connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to the service: %s", strerror(errno));
}

void client_close(client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

void client_send(client *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0 || errno == EINTR, "send to the service: %s", strerror(errno));
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        }
    }
}

void client_send_str(client *c, const char *text) { client_send(c, text, strlen(text)); }

/* Reads more into the buffer; false at end of file, error, or deadline. */
static bool fill(client *c, uint64_t deadline)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    if (c->len == sizeof c->buf || poll(&p, 1, left_ms(deadline)) <= 0)
        return false;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0)
        return false;
    c->len += (size_t)n;
    return true;
}

static const char *field(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    return NULL;
}

bool client_read(client *c, reply *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    uint64_t deadline = svc_now_ms() + (uint64_t)timeout_ms;
    char *end;
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if (!fill(c, deadline))
            return false;
    size_t head_len = (size_t)(end - c->buf) + 4;
    ck_assert_uint_lt(head_len, sizeof r->head);
    memcpy(r->head, c->buf, head_len);
    r->head[head_len] = '\0';
    const char *cl = field(r->head, "Content-Length");
    const char *conn = field(r->head, "Connection");
    const char *retry = field(r->head, "Retry-After");
    r->body_len = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
    r->close = conn != NULL && strncasecmp(conn, "close", 5) == 0;
    r->retry_after = retry ? (unsigned)strtoul(retry, NULL, 10) : 0;
    ck_assert_uint_lt(r->body_len, sizeof r->body);
    while (c->len < head_len + r->body_len)
        if (!fill(c, deadline))
            return false;
    memcpy(r->body, c->buf + head_len, r->body_len);
    r->body[r->body_len] = '\0';
    size_t used = head_len + r->body_len;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = -1;
    return true;
}

bool client_wait_eof(client *c, int timeout_ms)
{
    uint64_t deadline = svc_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, left_ms(deadline)) <= 0)
            return false;
        char b[512];
        ssize_t n = recv(c->fd, b, sizeof b, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
}

reply http_call(uint16_t port, const char *method, const char *path, const char *body)
{
    client *c = malloc(sizeof *c);
    ck_assert_ptr_ne(c, NULL);
    client_open(c, port);
    char head[512];
    snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n", method,
             path, body ? strlen(body) : 0);
    client_send_str(c, head);
    if (body)
        client_send_str(c, body);
    reply r;
    bool got = client_read(c, &r, 10000);
    client_close(c);
    free(c);
    ck_assert_msg(got, "%s %s: no reply within 10 s", method, path);
    return r;
}

double svc_metric(uint16_t port, const char *name)
{
    reply r = http_call(port, "GET", "/metrics", NULL);
    ck_assert_msg(r.status == 200, "GET /metrics answered %d", r.status);
    size_t n = strlen(name);
    for (const char *p = r.body; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
    ck_abort_msg("/metrics has no line '%s <value>'", name);
    return 0;
}

double svc_metric_wait(uint16_t port, const char *name, double want, int timeout_ms)
{
    uint64_t deadline = svc_now_ms() + (uint64_t)timeout_ms;
    double v;
    while ((v = svc_metric(port, name)) < want && left_ms(deadline) > 0)
        poll(NULL, 0, 10); /* polling a counter, with the deadline above */
    return v;
}

int svc_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_ne(d, NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}
