/*
 * Chapter 08 benchmark: the backend every proxy is measured in front of. One thread, one epoll loop, on 127.0.0.1.
 *
 *   backend [--port N] [--delay-ms MS] [--body BYTES]      an HTTP/1.1 keep-alive server
 *   backend --echo [--port N]                              a TCP echo server, for the L4 transfers
 *
 * The first line on standard output is "listening on 127.0.0.1:PORT" (--port 0, the default, takes a free port).
 *
 * HTTP: every request is answered 200 with a fixed body of BYTES bytes (default 64), the connection kept open unless
 * the request says "Connection: close". --delay-ms holds every answer that long before sending it, without blocking
 * the loop: the other connections go on being served, as a slow but healthy service would (a database that answers
 * late, a garbage collector). The delay is the same for every request of the process, so the answers waiting are due
 * in the order they arrived, and one FIFO queue is a complete timer list. Only requests with no body are expected
 * (GET); one with a Content-Length has its body skipped. A connection with an answer waiting is not read further,
 * so its answers leave in the order of its requests.
 *
 * The request counter: every request except those of GET /count is counted on arrival. GET /count answers the
 * count so far (not counted itself, never delayed), which is how the benchmark reads each backend's share of a run;
 * SIGTERM prints "requests N" and exits 0.
 *
 * Echo: every byte read is written back; reading stops while ECHO_BUF bytes wait to be written, so a client that
 * does not read is slowed down by TCP rather than by this program's memory. End of input: what is left is written,
 * then the connection closes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { IN_BUF = 8192, OUT_BUF = 8192, ECHO_BUF = 256 * 1024, MAX_BODY = 4096 };

typedef struct conn conn;
struct conn {
    int fd;
    bool closed;      /* the socket is closed; freed once no queued answer points here */
    bool waiting;     /* an answer is queued (delay): stop parsing until it is sent */
    bool close_after; /* "Connection: close": close once the output is written */
    bool eof;         /* echo: the peer has finished sending */
    size_t in_len, skip;
    size_t out_off, out_len;
    uint32_t events; /* what epoll is asked for now */
    char *in, *out;  /* IN_BUF and OUT_BUF bytes (HTTP), or out alone of ECHO_BUF bytes (echo) */
};

/* One delayed answer: due at due_ns, for conn c (which may have closed in the meantime). */
typedef struct pending {
    struct pending *next;
    conn *c;
    uint64_t due_ns;
} pending;

static int ep;
static bool echo_mode;
static uint64_t delay_ns;
static unsigned long long requests;
static char head_ok[256];
static size_t head_ok_len;
static char body[MAX_BODY];
static size_t body_len = 64;
static pending *queue_head, *queue_tail;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "backend: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void want(conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->events = events;
}

static void conn_free(conn *c)
{
    free(c->in);
    free(c->out);
    free(c);
}

static void conn_close(conn *c)
{
    if (c->closed)
        return;
    close(c->fd); /* also leaves the epoll set */
    c->closed = true;
    if (!c->waiting)
        conn_free(c);
}

/* Appends to the output buffer; false when it does not fit (a client that sends without reading: dropped). */
static bool put(conn *c, const char *p, size_t n)
{
    if (c->out_off > 0 && c->out_len + n > OUT_BUF) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + n > OUT_BUF)
        return false;
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return true;
}

/* Writes what is buffered; false if the connection closed. */
static bool flush(conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            conn_close(c);
            return false;
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->close_after || (echo_mode && c->eof)) {
            conn_close(c);
            return false;
        }
    }
    return true;
}

static bool answer_ok(conn *c) { return put(c, head_ok, head_ok_len) && put(c, body, body_len); }

static bool answer_count(conn *c)
{
    char text[64], head[128];
    int tn = snprintf(text, sizeof text, "%llu\n", requests);
    int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", tn);
    return put(c, head, (size_t)hn) && put(c, text, (size_t)tn);
}

/* A header's value in the head [p, end), or NULL; names compared without case. */
static const char *header(const char *p, const char *end, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *line = memchr(p, '\n', (size_t)(end - p)); line != NULL && line + 1 < end;
         line = memchr(line + 1, '\n', (size_t)(end - line - 1))) {
        const char *h = line + 1;
        if ((size_t)(end - h) > nl + 1 && h[nl] == ':' && !strncasecmp(h, name, nl)) {
            const char *v = h + nl + 1, *e = memchr(v, '\r', (size_t)(end - v));
            while (v < end && *v == ' ')
                v++;
            *len = e != NULL ? (size_t)(e - v) : 0;
            return v;
        }
    }
    return NULL;
}

/* Parses and answers the requests buffered, until one waits for its delay or the buffer holds no whole head. */
static void http_serve(conn *c)
{
    size_t off = 0;
    while (!c->waiting && !c->closed && !c->close_after) {
        if (c->skip > 0) { /* the rest of a body */
            size_t n = c->skip < c->in_len - off ? c->skip : c->in_len - off;
            c->skip -= n;
            off += n;
            if (c->skip > 0)
                break;
        }
        char *start = c->in + off, *end = memmem(start, c->in_len - off, "\r\n\r\n", 4);
        if (end == NULL)
            break;
        end += 4;
        off = (size_t)(end - c->in);
        size_t vl;
        const char *v = header(start, end, "Content-Length", &vl);
        if (v != NULL)
            c->skip = strtoull(v, NULL, 10);
        v = header(start, end, "Connection", &vl);
        if (v != NULL && vl == 5 && !strncasecmp(v, "close", 5))
            c->close_after = true;
        if (!strncmp(start, "GET /count ", 11)) {
            if (!answer_count(c))
                c->close_after = true;
            continue;
        }
        requests++;
        if (delay_ns == 0) {
            if (!answer_ok(c))
                c->close_after = true;
            continue;
        }
        pending *q = malloc(sizeof *q);
        if (q == NULL)
            die("malloc");
        *q = (pending){.c = c, .due_ns = now_ns() + delay_ns};
        if (queue_tail != NULL)
            queue_tail->next = q;
        else
            queue_head = q;
        queue_tail = q;
        c->waiting = true;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (c->closed)
        return;
    if (flush(c))
        want(c, (c->out_len > 0 ? EPOLLOUT : 0) | (c->waiting || c->in_len == IN_BUF ? 0 : EPOLLIN));
}

static void http_event(conn *c, uint32_t events)
{
    if (events & EPOLLOUT && !flush(c))
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !c->waiting) {
        ssize_t n = recv(c->fd, c->in + c->in_len, IN_BUF - c->in_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->in_len += (size_t)n;
    }
    http_serve(c);
}

static void echo_event(conn *c, uint32_t events)
{
    if (events & EPOLLOUT && !flush(c))
        return;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && !c->eof && c->out_len < ECHO_BUF) {
        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        ssize_t n = recv(c->fd, c->out + c->out_len, ECHO_BUF - c->out_len, 0);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            conn_close(c);
            return;
        }
        if (n == 0)
            c->eof = true;
        if (n > 0)
            c->out_len += (size_t)n;
        if (!flush(c))
            return;
    }
    want(c, (c->out_len > 0 ? EPOLLOUT : 0) | (c->eof || c->out_len == ECHO_BUF ? 0 : EPOLLIN));
}

/* Sends every queued answer that is due; returns the epoll timeout until the next one (-1: none). */
static int run_due(void)
{
    uint64_t now = now_ns();
    while (queue_head != NULL && queue_head->due_ns <= now) {
        pending *q = queue_head;
        queue_head = q->next;
        if (queue_head == NULL)
            queue_tail = NULL;
        conn *c = q->c;
        free(q);
        c->waiting = false;
        if (c->closed) {
            conn_free(c);
            continue;
        }
        if (!answer_ok(c))
            c->close_after = true;
        http_serve(c); /* sends it, and goes on with requests that arrived meanwhile */
    }
    if (queue_head == NULL)
        return -1;
    return (int)((queue_head->due_ns - now + 999999) / 1000000);
}

static void usage(void)
{
    fprintf(stderr, "usage: backend [--port N] [--delay-ms MS] [--body BYTES] | backend --echo [--port N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    unsigned port = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--echo")) {
            echo_mode = true;
            continue;
        }
        if (i + 1 >= argc)
            usage();
        char *end;
        unsigned long v = strtoul(argv[i + 1], &end, 10);
        if (*end != '\0' || end == argv[i + 1])
            usage();
        if (!strcmp(argv[i], "--port") && v <= 65535)
            port = (unsigned)v;
        else if (!strcmp(argv[i], "--delay-ms") && v <= 60000)
            delay_ns = (uint64_t)v * 1000000u;
        else if (!strcmp(argv[i], "--body") && v <= MAX_BODY)
            body_len = v;
        else
            usage();
        i++;
    }
    memset(body, 'x', body_len);
    head_ok_len = (size_t)snprintf(head_ok, sizeof head_ok,
                                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n", body_len);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (sfd < 0 || lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
        die("listen");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    /* The listener and the signalfd are told apart by their data.ptr: NULL and &sfd; connections by their conn. */
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}, sev = {.events = EPOLLIN, .data.ptr = &sfd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) < 0)
        die("epoll_ctl");
    printf("listening on 127.0.0.1:%u\n", ntohs(sa.sin_port));
    fflush(stdout);

    struct epoll_event evs[64];
    for (;;) {
        int timeout = run_due();
        int n = epoll_wait(ep, evs, 64, timeout);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            void *ptr = evs[i].data.ptr;
            if (ptr == &sfd) {
                printf("requests %llu\n", requests);
                fflush(stdout);
                return 0;
            }
            if (ptr != NULL) {
                conn *c = ptr;
                if (echo_mode)
                    echo_event(c, evs[i].events);
                else
                    http_event(c, evs[i].events);
                continue;
            }
            for (;;) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0)
                    break; /* EAGAIN, or a connection reset before it was taken */
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conn *c = calloc(1, sizeof *c);
                if (c == NULL || (c->out = malloc(echo_mode ? ECHO_BUF : OUT_BUF)) == NULL ||
                    (!echo_mode && (c->in = malloc(IN_BUF)) == NULL))
                    die("malloc");
                c->fd = fd;
                c->events = EPOLLIN;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
                    die("epoll_ctl");
            }
        }
    }
}
