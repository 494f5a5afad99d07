/* Chapter 08 tests: scratch folders, the proxy as a child, backends and clients (support.h says what each is for). */
#define _GNU_SOURCE
#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char made[4][512];
static int n_made;
static pid_t made_by;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_scratch(void)
{
    if (getpid() != made_by) /* a forked backend exiting must not remove the test's files */
        return;
    for (int i = 0; i < n_made; i++)
        nftw(made[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *scratch_dir(void)
{
    ck_assert_msg(n_made < 4, "too many scratch folders in one test");
    if (n_made == 0) {
        made_by = getpid();
        atexit(remove_scratch); /* a failed assertion ends the test through exit(): clean up then too */
    }
    const char *base = getenv("TMPDIR");
    char *dir = made[n_made];
    int fits = snprintf(dir, sizeof made[0], "%s/ferrite-ch08-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_msg(fits > 0 && (size_t)fits < sizeof made[0], "TMPDIR is too long");
    ck_assert_msg(mkdtemp(dir) != NULL, "cannot create a scratch folder under %s", base ? base : "/tmp");
    n_made++;
    return dir;
}

uint64_t fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

void fill_random(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t x = seed * 0x9e3779b97f4a7c15u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)(x >> 24);
    }
}

/* ---- backends ---- */

#define BACKEND_CONNS 512

typedef struct bconn {
    int fd;
    size_t len;      /* bytes in buf */
    uint64_t due_ms; /* HTTP: when the answer to the request at the front goes out, 0: none scheduled */
    uint64_t count;  /* COUNT: bytes so far */
    uint64_t hash;   /* COUNT: their FNV-1a so far */
    uint64_t sent;   /* HTTP: answers sent on it */
    char buf[16384];
} bconn;

static void bconn_close(bconn *c)
{
    close(c->fd);
    c->fd = -1;
}

/* Length of the HTTP request at the front of c->buf (head and Content-Length body), 0 while incomplete. */
static size_t http_request_len(const bconn *c)
{
    const char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t head = (size_t)(end - c->buf) + 4;
    size_t body = 0;
    const char *cl = memmem(c->buf, head, "\r\ncontent-length:", 17);
    if (cl == NULL)
        cl = memmem(c->buf, head, "\r\nContent-Length:", 17);
    if (cl != NULL)
        body = strtoul(cl + 17, NULL, 10);
    return c->len >= head + body ? head + body : 0;
}

static void http_answer(const backend *b, bconn *c, size_t req_len)
{
    char method[16] = "", target[256] = "";
    sscanf(c->buf, "%15s %255s", method, target);
    unsigned status = b->shared->status ? b->shared->status : 200;
    char body[400], out[800];
    int body_len = snprintf(body, sizeof body, "backend %d %s %s\n", b->id, method, target);
    if (b->shared->echo_xff) {
        char xff[200] = "";
        const char *end = memmem(c->buf, req_len, "\r\n\r\n", 4), *f = c->buf;
        while (end != NULL && (f = memmem(f, (size_t)(end - f), "\r\n", 2)) != NULL && f < end) {
            f += 2;
            if (!strncasecmp(f, "x-forwarded-for:", 16)) {
                sscanf(f + 16, " %199[^\r]", xff);
                break;
            }
        }
        body_len += snprintf(body + body_len, sizeof body - (size_t)body_len, "xff=%s\n", xff);
    }
    int n = snprintf(out, sizeof out, "HTTP/1.1 %u %s\r\nContent-Length: %d\r\n\r\n%s", status,
                     status == 200 ? "OK" : "Error", body_len, body);
    if (b->shared->garbage)
        n = snprintf(out, sizeof out, "this is not HTTP\r\n\r\n");
    if (b->shared->chunked) {
        /* The head and half the body now, the rest later: a proxy must wait for the last chunk, not for a pause. */
        int half = body_len / 2;
        n = snprintf(out, sizeof out, "HTTP/1.1 %u %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%.*s\r\n", status,
                     status == 200 ? "OK" : "Error", half, half, body);
        if (write(c->fd, out, (size_t)n) != n) {
            bconn_close(c);
            return;
        }
        poll(NULL, 0, 20);
        n = snprintf(out, sizeof out, "%x\r\n%s\r\n0\r\n\r\n", body_len - half, body + half);
    }
    b->shared->requests++;
    if (!strcmp(method, "POST"))
        b->shared->posts++;
    if (write(c->fd, out, (size_t)n) != n) {
        bconn_close(c);
        return;
    }
    memmove(c->buf, c->buf + req_len, c->len - req_len);
    c->len -= req_len;
    if (b->shared->close_after && ++c->sent >= b->shared->close_after) {
        if (b->shared->close_delay_ms) /* the end of file then reaches a proxy that has pooled the connection */
            poll(NULL, 0, (int)b->shared->close_delay_ms);
        bconn_close(c);
    }
}

/* One readable connection. */
static void backend_read(const backend *b, bconn *c)
{
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (r <= 0) {
        if (r == 0 && b->kind == BACKEND_COUNT) {
            char line[64];
            int n =
                snprintf(line, sizeof line, "%llu %016llx\n", (unsigned long long)c->count, (unsigned long long)c->hash);
            if (write(c->fd, line, (size_t)n) != n)
                perror("backend: answer");
        }
        bconn_close(c);
        return;
    }
    if (b->kind == BACKEND_ECHO) {
        b->shared->requests++; /* reads with data: a health check's bare connect counts as a connection only */
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(c->fd, c->buf + done, (size_t)(r - done));
            if (w <= 0) {
                bconn_close(c);
                return;
            }
            done += w;
        }
    } else if (b->kind == BACKEND_COUNT) {
        for (ssize_t i = 0; i < r; i++)
            c->hash = (c->hash ^ (unsigned char)c->buf[i]) * 0x100000001b3u;
        c->count += (uint64_t)r;
    } else {
        c->len += (size_t)r;
    }
}

static void backend_serve(const backend *b, int lfd)
{
    static bconn conns[BACKEND_CONNS];
    struct pollfd pfd[BACKEND_CONNS + 1];
    for (int i = 0; i < BACKEND_CONNS; i++)
        conns[i].fd = -1;
    for (;;) {
        uint64_t now = ft_now_ms(), next = UINT64_MAX;
        for (int i = 0; i < BACKEND_CONNS; i++) {
            bconn *c = &conns[i];
            if (c->fd < 0 || b->kind != BACKEND_HTTP)
                continue;
            size_t len;
            while (c->fd >= 0 && (len = http_request_len(c)) > 0) {
                if (c->due_ms == 0)
                    c->due_ms = now + b->shared->delay_ms;
                if (c->due_ms > now)
                    break;
                c->due_ms = 0;
                http_answer(b, c, len);
            }
            if (c->fd >= 0 && c->due_ms != 0 && c->due_ms < next)
                next = c->due_ms;
        }
        int n = 0;
        pfd[n++] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < BACKEND_CONNS; i++)
            if (conns[i].fd >= 0)
                pfd[n++] = (struct pollfd){conns[i].fd, conns[i].due_ms ? 0 : POLLIN, 0};
        int wait = next == UINT64_MAX ? 1000 : (int)(next - now);
        if (poll(pfd, (nfds_t)n, wait) < 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);
            for (int i = 0; fd >= 0 && i < BACKEND_CONNS; i++)
                if (conns[i].fd < 0) {
                    conns[i] = (bconn){.fd = fd, .hash = 0xcbf29ce484222325u};
                    b->shared->connections++;
                    fd = -1;
                }
            if (fd >= 0)
                close(fd);
        }
        for (int k = 1; k < n; k++) {
            if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            for (int i = 0; i < BACKEND_CONNS; i++)
                if (conns[i].fd == pfd[k].fd && !conns[i].due_ms)
                    backend_read(b, &conns[i]);
        }
    }
}

void backend_start(backend *b, int id, backend_kind kind)
{
    if (b->shared == NULL) {
        b->shared = mmap(NULL, sizeof *b->shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_msg(b->shared != MAP_FAILED, "cannot map a backend's counters");
        memset((void *)b->shared, 0, sizeof *b->shared);
    }
    b->id = id;
    b->kind = kind;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(lfd, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(b->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1024) == 0,
                  "a backend cannot listen on 127.0.0.1:%u: %s", b->port, strerror(errno));
    socklen_t len = sizeof a;
    getsockname(lfd, (struct sockaddr *)&a, &len);
    b->port = ntohs(a.sin_port);
    fflush(NULL);
    pid_t parent = getpid();
    b->pid = fork();
    ck_assert_int_ge(b->pid, 0);
    if (b->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        signal(SIGPIPE, SIG_IGN);
        backend_serve(b, lfd);
        _exit(0);
    }
    close(lfd);
}

void backend_kill(backend *b)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
}

void backend_free(backend *b)
{
    backend_kill(b);
    if (b->shared != NULL)
        munmap((void *)b->shared, sizeof *b->shared);
    b->shared = NULL;
}

void endpoints_write(const char *path, backend *const *bs, size_t n, const char *extra_line)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "cannot write %s", tmp);
    fprintf(f, "# endpoints for a chapter 08 test\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "127.0.0.1:%u\n", bs[i]->port);
    if (extra_line != NULL)
        fprintf(f, "%s\n", extra_line);
    ck_assert_int_eq(fclose(f), 0);
    /* A reload must never see half a file: the new one replaces the old in one rename. */
    ck_assert_int_eq(rename(tmp, path), 0);
}

/* ---- the proxy ---- */

void proxy_start(proxy *p, backend *const *bs, size_t n, const char *const *args)
{
    const char *path = getenv("PX_PROXY");
    ck_assert_msg(path != NULL && path[0] != '\0', "PX_PROXY is not set: run the tests with make check CH=08");
    const char *dir = scratch_dir();
    snprintf(p->endpoints, sizeof p->endpoints, "%s/endpoints", dir);
    snprintf(p->log, sizeof p->log, "%s/proxy.log", dir);
    endpoints_write(p->endpoints, bs, n, NULL);
    const char *argv[48] = {path, "--endpoints", p->endpoints};
    size_t k = 3;
    for (size_t i = 0; args != NULL && args[i] != NULL && k < 47; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    bool ok = ft_proc_start(&p->proc, argv, p->log, 20000);
    unsigned port = 0, admin = 0;
    if (ok)
        sscanf(p->proc.line, "listening on %*[^:]:%u admin %*[^:]:%u", &port, &admin);
    if (!ok || port == 0) {
        char log[2048] = "";
        FILE *f = fopen(p->log, "r");
        if (f != NULL) {
            log[fread(log, 1, sizeof log - 1, f)] = '\0';
            fclose(f);
        }
        ck_abort_msg("px-proxy did not print \"listening on IP:PORT\" within 20 s (first line '%s'); its stderr: %s",
                     p->proc.line, log);
    }
    p->port = (uint16_t)port;
    p->admin = (uint16_t)admin;
}

void proxy_reload(proxy *p, backend *const *bs, size_t n, const char *extra_line)
{
    endpoints_write(p->endpoints, bs, n, extra_line);
    ck_assert_int_eq(kill(p->proc.pid, SIGHUP), 0);
}

bool proxy_log_has(const proxy *p, const char *text, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    static char buf[1 << 16];
    do {
        FILE *f = fopen(p->log, "r");
        if (f != NULL) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            if (strstr(buf, text) != NULL)
                return true;
        }
        poll(NULL, 0, 10); /* polling a log file, bounded by the deadline */
    } while (ft_now_ms() < deadline);
    return false;
}

void proxy_stop(proxy *p, int timeout_ms)
{
    int status = ft_proc_stop(&p->proc, SIGTERM, timeout_ms);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    FILE *f = fopen(p->log, "r");
    if (f != NULL) {
        char line[512];
        fprintf(stderr, "---- px-proxy's stderr ----\n");
        while (fgets(line, sizeof line, f) != NULL)
            fputs(line, stderr);
        fclose(f);
    }
    ck_abort_msg(
        "px-proxy did not exit 0 within %d ms of SIGTERM (status %#x; -1: killed): a drain must close the "
        "listener, let what is in flight finish and return from the loop; its stderr is above",
        timeout_ms, status);
}

int proxy_fds(const proxy *p) { return ft_proc_count_fds(p->proc.pid); }

int proxy_wait_fds(const proxy *p, int want, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    int n;
    while ((n = proxy_fds(p)) != want && ft_now_ms() < deadline)
        poll(NULL, 0, 10); /* polling /proc, bounded by the deadline */
    return n;
}

uint16_t dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- clients ---- */

int client_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "cannot connect to 127.0.0.1:%u: %s", port,
                  strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int left(uint64_t deadline)
{
    uint64_t now = ft_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

bool client_send(int fd, const void *data, size_t len, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    const char *p = data;
    while (len > 0) {
        struct pollfd pf = {fd, POLLOUT, 0};
        if (poll(&pf, 1, left(deadline)) <= 0)
            return false;
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

long client_read_all(int fd, void *buf, size_t cap, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    size_t got = 0;
    while (got < cap) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, left(deadline)) <= 0)
            return -1;
        ssize_t r = recv(fd, (char *)buf + got, cap - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long)got;
}

int client_http(int fd, const char *request, char *out, size_t cap, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    if (!client_send(fd, request, strlen(request), timeout_ms))
        return 0;
    size_t got = 0;
    out[0] = '\0';
    for (;;) {
        char *end = strstr(out, "\r\n\r\n");
        if (end != NULL) {
            const char *cl = strcasestr(out, "\r\ncontent-length:");
            size_t head = (size_t)(end - out) + 4, body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            if (got >= head + body) {
                int status = 0;
                sscanf(out, "HTTP/1.%*d %d", &status);
                return status;
            }
        }
        if (got + 1 >= cap)
            return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, left(deadline)) <= 0)
            return -1;
        ssize_t r = recv(fd, out + got, cap - 1 - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
        out[got] = '\0';
    }
}

bool client_echo(int fd, const void *data, size_t len, int timeout_ms)
{
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    unsigned char *back = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(back);
    size_t sent = 0, got = 0;
    bool ok = true;
    /* Both ways at once: an echo of more than the socket buffers hold deadlocks a client that writes it all first. */
    while (ok && got < len) {
        struct pollfd pf = {fd, (short)(POLLIN | (sent < len ? POLLOUT : 0)), 0};
        if (poll(&pf, 1, left(deadline)) <= 0) {
            ok = false;
            break;
        }
        if (sent < len && (pf.revents & POLLOUT)) {
            ssize_t w = send(fd, (const char *)data + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                ok = false;
        }
        if (pf.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, back + got, len - got, MSG_DONTWAIT);
            if (r > 0)
                got += (size_t)r;
            else if (r == 0 || errno != EAGAIN)
                ok = false;
        }
    }
    ok = ok && memcmp(back, data, len) == 0;
    free(back);
    return ok;
}
