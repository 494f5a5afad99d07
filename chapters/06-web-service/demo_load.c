/*
 * Chapter 06 demo: act 3's load client. --conns keep-alive connections on one epoll set, one request in flight on
 * each: a GET of a random key, or a PUT for --writes percent of them. Every reply is checked against its key and
 * timed from its send. Main thread only; act 4 finds the connections, idle, through load_fd().
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HIST_US 1000000 /* latency histogram: 1 µs buckets up to 1 s, the rest in the last bucket */
#define CONN_BUF 4096   /* a load connection's reply buffer: the rows are short */

static void record(stats *st, uint64_t us) { st->hist[us < HIST_US ? us : HIST_US - 1]++; }

double percentile_ms(const stats *st, double p)
{
    uint64_t n = st->ok + st->unavailable, want = (uint64_t)((double)n * p), seen = 0;
    for (uint64_t us = 0; n > 0 && us < HIST_US; us++)
        if ((seen += st->hist[us]) > want)
            return (double)us / 1000;
    return (double)HIST_US / 1000;
}

/* Adds @p sec to @p all and empties it for the next second. */
static void merge(stats *all, stats *sec)
{
    all->ok += sec->ok;
    all->unavailable += sec->unavailable;
    all->errors += sec->errors;
    for (size_t i = 0; i < HIST_US; i++)
        all->hist[i] += sec->hist[i];
    memset(sec->hist, 0, HIST_US * sizeof sec->hist[0]);
    sec->ok = sec->unavailable = sec->errors = 0;
}

/** A load connection: one request in flight at a time. */
typedef struct lconn {
    int fd;         /* -1 once dropped */
    bool busy, put; /* a request is in flight; it is a PUT */
    long key;       /* its key */
    int64_t t0;     /* when it was sent */
    size_t len;     /* bytes of the reply so far */
    char buf[CONN_BUF + 1];
} lconn;

static lconn *conns;   /* --conns of them, from load_connect() to load_close(); never reallocated */
static int ep = -1;    /* the epoll set they are registered in, during act 3 */
static stats all, sec; /* the whole load's requests; this second's, merged into all at each tick */

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_random(void) /* xorshift64: the keys need to be spread, not unpredictable */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void drop(lconn *c, stats *st)
{
    st->errors++;
    close(c->fd);
    c->fd = -1;
    c->busy = false;
}

static void send_next(lconn *c, stats *st)
{
    char req[256], path[64], body[64];
    c->key = 1 + (long)(next_random() % (uint64_t)opt.keys);
    c->put = (int)(next_random() % 100) < opt.writes;
    snprintf(path, sizeof path, "/items/%ld", c->key);
    snprintf(body, sizeof body, "item %ld written by the load", c->key);
    int len = request(req, sizeof req, c->put ? "PUT" : "GET", path, c->put ? body : NULL, false);
    c->len = 0;
    c->t0 = now_ns();
    c->busy = true;
    /* A request of under 256 bytes on a connection with nothing else queued fits the socket's buffer whole. */
    if (send(c->fd, req, (size_t)len, MSG_NOSIGNAL) != len)
        drop(c, st);
}

/* Reads what arrived; a whole reply is checked and recorded. True when the connection has finished a request. */
static bool on_readable(lconn *c, stats *sec)
{
    ssize_t n = recv(c->fd, c->buf + c->len, CONN_BUF - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    reply r;
    if (n <= 0 || !parse_reply(c->buf, c->len += (size_t)n, &r)) {
        if (n <= 0 || c->len == CONN_BUF)
            drop(c, sec);
        return false;
    }
    uint64_t us = (uint64_t)(now_ns() - c->t0) / 1000;
    char prefix[32]; /* a GET answers the key's row, "item KEY ...", whoever wrote it last; a PUT its new version */
    int plen = snprintf(prefix, sizeof prefix, "item %ld ", c->key);
    bool right = c->put ? r.body_len > 0 && r.body[0] >= '1' && r.body[0] <= '9'
                        : r.body_len >= (size_t)plen && memcmp(r.body, prefix, (size_t)plen) == 0;
    if (r.status == 200 && right)
        sec->ok++;
    else if (r.status == 503)
        sec->unavailable++;
    else
        sec->errors++;
    if ((r.status == 200 && right) || r.status == 503)
        record(sec, us);
    c->busy = false;
    return true;
}

void load_connect(void)
{
    all.hist = calloc(HIST_US, sizeof(uint32_t));
    sec.hist = calloc(HIST_US, sizeof(uint32_t));
    conns = calloc((size_t)opt.conns, sizeof *conns);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (all.hist == NULL || sec.hist == NULL || conns == NULL || ep < 0)
        die("out of memory or descriptors");
    for (int i = 0; i < opt.conns; i++)
        conns[i].fd = -1; /* until connected: load_close() must not close descriptor 0 */
    for (int i = 0; i < opt.conns; i++) {
        conns[i].fd = connect_or_die();
        /* SAFETY: conns is never reallocated, so &conns[i] stays valid for the epoll entry's lifetime. */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
            die("epoll_ctl: %s", strerror(errno));
    }
}

const stats *load_run(load_tick *each_second, void *ctx, int *unanswered)
{
    for (int i = 0; i < opt.conns; i++)
        send_next(&conns[i], &sec);
    int64_t start = now_ns(), end = start + (int64_t)(opt.seconds * 1e9), tick = start + 1000000000;
    int in_flight = opt.conns;
    for (int64_t t = start; in_flight > 0 && !interrupted && t < end + 10 * 1000000000LL; t = now_ns()) {
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < k; i++) {
            lconn *c = evs[i].data.ptr; /* SAFETY: registered by load_connect() with an lconn of conns */
            if (c->fd >= 0 && on_readable(c, &sec) && now_ns() < end)
                send_next(c, &sec);
        }
        in_flight = 0;
        for (int i = 0; i < opt.conns; i++)
            in_flight += conns[i].busy;
        if (now_ns() >= tick && tick <= end) {
            each_second((double)(tick - start) / 1e9, &sec, ctx);
            merge(&all, &sec);
            tick += 1000000000;
        }
    }
    merge(&all, &sec);
    close(ep);
    ep = -1;
    *unanswered = in_flight;
    return &all;
}

int load_fd(int i) { return conns != NULL ? conns[i].fd : -1; }

void load_close(void)
{
    if (conns != NULL)
        for (int i = 0; i < opt.conns; i++)
            if (conns[i].fd >= 0)
                close(conns[i].fd);
    free(conns);
    conns = NULL;
    if (ep >= 0)
        close(ep);
    ep = -1;
    free(all.hist);
    free(sec.hist);
    all.hist = sec.hist = NULL;
}
