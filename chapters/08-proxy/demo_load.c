/*
 * Chapter 08 demo: the clients. --conns keep-alive connections to the proxy on one epoll set, each with one GET in
 * flight: the next one leaves as soon as the previous answer is in, so the rate is whatever the proxy and the
 * backends allow (closed-loop load, as wrk makes it). A slow backend therefore shows twice: in the proxy's latency
 * for it, and in the clients' rate, when the balancer keeps sending it requests that hold a connection for 200 ms.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64

struct client {
    int fd;          /* -1 while closed */
    bool in_flight;  /* a GET has been written and its answer has not ended */
    int64_t sent_ns; /* when it was written */
    size_t len;      /* bytes of the answer read so far */
    char buf[1024];  /* the answer; the backends' are under 100 bytes, the proxy's errors not much more */
};

static struct client clients[MAX_CONNS];
static int epfd = -1;
static bool stopping; /* no new GET is sent */
static load_counts counts;

static const char GET[] = "GET /demo HTTP/1.1\r\nHost: demo\r\n\r\n"; /* HTTP/1.1: keep-alive unless told otherwise */

const load_counts *load_counts_now(void) { return &counts; }

static void client_close(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd); /* close() also takes it out of the epoll set */
    c->fd = -1;
    c->in_flight = false;
    c->len = 0;
}

static void client_send(struct client *c)
{
    c->sent_ns = now_ns();
    c->in_flight = true;
    c->len = 0;
    /* A request this small goes into an empty socket buffer whole; a short write means the connection is gone. */
    if (write(c->fd, GET, sizeof GET - 1) != (ssize_t)(sizeof GET - 1)) {
        counts.dropped++;
        client_close(c);
    }
}

/* Connects @p c to the proxy (blocking: on loopback a connect is answered at once). False when it is refused. */
static bool client_open(struct client *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(proxy_port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small requests leave now, not after an ACK */
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return false;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        return false;
    }
    c->fd = fd;
    client_send(c);
    return true;
}

void load_start(void)
{
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        die("epoll_create1: %s", strerror(errno));
    for (int i = 0; i < MAX_CONNS; i++)
        clients[i].fd = -1;
    for (int i = 0; i < opt.conns; i++)
        if (!client_open(&clients[i]))
            die("cannot connect to the proxy on 127.0.0.1:%u: %s", proxy_port(), strerror(errno));
}

/* The length of a whole answer at the start of buf (head and Content-Length body), or 0 while it is incomplete. */
static size_t answer_length(const char *buf, size_t len, size_t *head_len, bool *close_after)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    *head_len = (size_t)(end + 4 - buf);
    size_t body = 0;
    *close_after = false;
    /* Header names are case-insensitive; every answer here carries Content-Length (the proxy's errors too). */
    for (const char *p = buf; p < end;) {
        if (!strncasecmp(p, "Content-Length:", 15))
            body = strtoul(p + 15, NULL, 10);
        else if (!strncasecmp(p, "Connection: close", 17))
            *close_after = true;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return *head_len + body <= len ? *head_len + body : 0;
}

/* What came in on @p c: an answer ends a GET and sends the next; an end of file or a reset drops the connection,
 * and a fresh one replaces it (the clients keep their number through anything). */
static void client_readable(struct client *c)
{
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0)
        c->len += (size_t)n;
    size_t head = 0, whole = 0;
    bool close_after = false;
    if (n > 0)
        whole = answer_length(c->buf, c->len, &head, &close_after);
    if (whole == 0) {
        if (n > 0 && c->len < sizeof c->buf)
            return; /* the rest is on its way */
        if (c->in_flight)
            counts.dropped++;
        client_close(c);
    } else {
        bool ok = !strncmp(c->buf, "HTTP/1.1 200 ", 13) && whole - head >= 9 && !memcmp(c->buf + head, "backend ", 8);
        if (ok) {
            counts.ok++;
            px_histogram_observe(&counts.latency, (uint64_t)(now_ns() - c->sent_ns));
        } else {
            if (counts.failed++ == 0) {
                /* The status line and the body, where the proxy says why (the retry policy's verdict). */
                const char *eol = memchr(c->buf, '\r', head);
                int body = (int)(whole - head);
                while (body > 0 && (c->buf[head + (size_t)body - 1] == '\n' || c->buf[head + (size_t)body - 1] == '\r'))
                    body--;
                snprintf(counts.first_failure, sizeof counts.first_failure, "%.*s: %.*s", (int)(eol - c->buf), c->buf, body,
                         c->buf + head);
            }
        }
        c->in_flight = false;
        c->len = 0; /* one GET at a time: nothing can follow the answer */
        if (close_after)
            client_close(c);
        else if (!stopping)
            client_send(c);
    }
    if (c->fd < 0 && !stopping)
        client_open(c); /* when refused, load_poll() tries again */
}

void load_poll(int64_t deadline)
{
    int64_t left_ms = (deadline - now_ns()) / 1000000;
    int timeout = left_ms < 0 ? 0 : left_ms > 50 ? 50 : (int)left_ms;
    struct epoll_event ev[MAX_CONNS];
    int n = epoll_wait(epfd, ev, MAX_CONNS, timeout);
    for (int i = 0; i < n; i++)
        client_readable(ev[i].data.ptr);
    for (int i = 0; i < opt.conns && !stopping; i++)
        if (clients[i].fd < 0)
            client_open(&clients[i]);
}

int load_stop(int ms)
{
    if (epfd < 0)
        return 0; /* never started, or stopped already */
    stopping = true;
    int64_t deadline = now_ns() + (int64_t)ms * 1000000;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < MAX_CONNS; i++)
            busy += clients[i].fd >= 0 && clients[i].in_flight;
        if (busy == 0 || now_ns() >= deadline || interrupted) {
            for (int i = 0; i < MAX_CONNS; i++)
                client_close(&clients[i]);
            if (epfd >= 0)
                close(epfd);
            epfd = -1;
            return busy;
        }
        load_poll(deadline);
    }
}
