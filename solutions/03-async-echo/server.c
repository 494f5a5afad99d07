/*
 * server.c — chapter 03, parts 4 and 5: accept as spawn, limits, idle timeouts, graceful shutdown.
 *                                                                                  (reference solution)
 * Three kinds of source share the reactor: the listener, every connection, and the signalfd. Time is the fourth
 * event: the loop's epoll_wait timeout is the nearest deadline (idle head, accept retry, drain), and after every
 * wake-up the expired ones run.
 */
#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Most connections accepted per listener event, so a flood of connects cannot starve established clients. */
#define AE_ACCEPT_BATCH 64

int64_t ae_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- part 5: the idle list (a timer queue where every timeout is equal) -------------------------------------- */

static void idle_unlink(ae_server *s, ae_conn *c)
{
    *(c->prev ? &c->prev->next : &s->idle_head) = c->next;
    *(c->next ? &c->next->prev : &s->idle_tail) = c->prev;
    c->prev = c->next = NULL;
}

/* Appends c with a fresh deadline: it is now the most recently active, so the list stays sorted. */
static void idle_push_back(ae_server *s, ae_conn *c)
{
    c->deadline_ms = ae_now_ms() + s->cfg.idle_timeout_ms;
    c->prev = s->idle_tail;
    c->next = NULL;
    *(s->idle_tail ? &s->idle_tail->next : &s->idle_head) = c;
    s->idle_tail = c;
}

static void touch(ae_server *s, ae_conn *c)
{
    if (s->cfg.idle_timeout_ms == 0 || s->idle_tail == c)
        c->deadline_ms = ae_now_ms() + s->cfg.idle_timeout_ms;
    else {
        idle_unlink(s, c);
        idle_push_back(s, c);
    }
}

/* ---- part 4: accepting ------------------------------------------------------------------------------------- */

/* Listener interest on or off. Off is how a level-triggered loop says "not now" without spinning. */
static void set_accepting(ae_server *s, bool on)
{
    if (s->accepting == on || s->listener.fd < 0)
        return;
    if (ae_reactor_modify(&s->reactor, &s->listener, on ? AE_READABLE : 0) != 0)
        return;
    s->accepting = on;
    if (!on)
        s->stats.accept_paused++;
}

/* The future is done (or must go): drop it, and let a waiting client in. */
static void reap(ae_server *s, ae_conn *c)
{
    idle_unlink(s, c);
    ae_conn_close(c);
    free(c);
    s->n_conns--;
    s->stats.closed++;
    if (!s->stopping && s->n_conns < s->cfg.max_conns) {
        s->accept_retry_ms = 0; /* a descriptor was just freed: no need to wait for the retry timer */
        set_accepting(s, true);
    }
}

static void on_conn_ready(ae_source *src, uint32_t ready)
{
    (void)ready; /* the future finds out by trying: errors and hang-ups surface from recv/send */
    ae_conn *c = AE_CONTAINER_OF(src, ae_conn, src);
    ae_server *s = c->server;
    uint64_t before = c->bytes_in + c->bytes_out;
    if (ae_conn_poll(c) == AE_READY)
        reap(s, c);
    else if (c->bytes_in + c->bytes_out != before)
        touch(s, c);
}

/* tokio::spawn: the accepted socket becomes a connection future the reactor will poll. */
static void spawn(ae_server *s, int fd)
{
    ae_conn *c = malloc(sizeof *c);
    if (c == NULL || ae_conn_init(c, fd, &s->reactor, &s->ctx, on_conn_ready) != 0) {
        close(fd); /* refusing one client is better than failing the server */
        free(c);
        return;
    }
    c->server = s;
    idle_push_back(s, c);
    s->n_conns++;
    s->stats.accepted++;
}

static bool out_of_descriptors(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

static void on_listener_ready(ae_source *src, uint32_t ready)
{
    (void)ready;
    ae_server *s = AE_CONTAINER_OF(src, ae_server, listener);
    for (int i = 0; i < AE_ACCEPT_BATCH; i++) {
        if (s->n_conns >= s->cfg.max_conns) {
            set_accepting(s, false); /* the rest wait in the backlog until reap() lets them in */
            return;
        }
        int fd = accept4(src->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            spawn(s, fd);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (out_of_descriptors(errno)) {
            /* The pending connection stays pending, so the listener stays readable: keep asking and the
             * loop spins at 100% CPU. Stop asking; a close or the retry timer asks again. */
            set_accepting(s, false);
            s->accept_retry_ms = ae_now_ms() + AE_ACCEPT_RETRY_MS;
            return;
        }
        /* ECONNABORTED, EINTR, EPROTO and other per-connection errors: that client is gone, try the next. */
    }
}

/* ---- part 5: signals and shutdown ----------------------------------------------------------------------------- */

static void close_source(ae_server *s, ae_source *src)
{
    if (src->fd < 0)
        return;
    int fd = src->fd;
    int rc = ae_reactor_deregister(&s->reactor, src);
    (void)rc; /* registered by us, so it is known to the reactor */
    close(fd);
}

void ae_server_stop(ae_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    close_source(s, &s->listener); /* new clients are refused from now on */
    s->accepting = false;
    s->accept_retry_ms = 0;
    s->drain_deadline_ms = ae_now_ms() + s->cfg.drain_timeout_ms;
    for (ae_conn *c = s->idle_head, *next; c != NULL; c = next) {
        next = c->next; /* reap() unlinks c */
        if (ae_conn_drain(c) == AE_READY)
            reap(s, c);
    }
}

static void on_signal_ready(ae_source *src, uint32_t ready)
{
    (void)ready;
    ae_server *s = AE_CONTAINER_OF(src, ae_server, signals);
    struct signalfd_siginfo info;
    bool got = false;
    while (read(src->fd, &info, sizeof info) == (ssize_t)sizeof info)
        got = true;
    if (got)
        ae_server_stop(s);
}

/* ---- part 5: the loop -------------------------------------------------------------------------------------- */

/* Milliseconds until the nearest deadline, or -1 when nothing is timed. */
static int next_timeout(const ae_server *s)
{
    int64_t next = INT64_MAX;
    if (s->cfg.idle_timeout_ms > 0 && s->idle_head != NULL)
        next = s->idle_head->deadline_ms;
    if (s->accept_retry_ms != 0 && s->accept_retry_ms < next)
        next = s->accept_retry_ms;
    if (s->stopping && s->drain_deadline_ms < next)
        next = s->drain_deadline_ms;
    if (next == INT64_MAX)
        return -1;
    int64_t wait = next - ae_now_ms();
    return wait < 0 ? 0 : wait > INT_MAX ? INT_MAX : (int)wait;
}

static void run_timers(ae_server *s)
{
    int64_t now = ae_now_ms();
    while (s->cfg.idle_timeout_ms > 0 && s->idle_head != NULL && s->idle_head->deadline_ms <= now) {
        s->stats.timed_out++;
        reap(s, s->idle_head);
    }
    if (s->accept_retry_ms != 0 && s->accept_retry_ms <= now) {
        s->accept_retry_ms = 0;
        if (!s->stopping && s->n_conns < s->cfg.max_conns)
            set_accepting(s, true);
    }
    while (s->stopping && s->drain_deadline_ms <= now && s->idle_head != NULL)
        reap(s, s->idle_head); /* a peer that will not read cannot hold the shutdown hostage */
}

int ae_server_run(ae_server *s)
{
    while (!(s->stopping && s->n_conns == 0)) {
        int rc = ae_reactor_poll(&s->reactor, next_timeout(s));
        if (rc < 0)
            return rc;
        run_timers(s);
    }
    return 0;
}

/* ---- part 4: opening and closing --------------------------------------------------------------------------- */

static int open_listener(ae_server *s)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(s->cfg.port)};
    if (inet_pton(AF_INET, s->cfg.host, &addr.sin_addr) != 1)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    socklen_t len = sizeof addr;
    int rc = 0;
    /* SAFETY (the casts): sockaddr_in is the sockaddr variant for AF_INET, the size passed says which. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        rc = -errno;
    if (rc == 0)
        rc = ae_reactor_register(&s->reactor, &s->listener, fd, AE_READABLE, on_listener_ready);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    s->port = ntohs(addr.sin_port);
    s->accepting = true;
    return 0;
}

static int open_signals(ae_server *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Blocked, the signals stay pending instead of killing us, and the signalfd reads them as data. */
    int rc = pthread_sigmask(SIG_BLOCK, &set, &s->saved_mask);
    if (rc != 0)
        return -rc;
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    rc = fd < 0 ? -errno : ae_reactor_register(&s->reactor, &s->signals, fd, AE_READABLE, on_signal_ready);
    if (rc != 0) {
        if (fd >= 0)
            close(fd);
        pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
    }
    return rc;
}

int ae_server_open(ae_server *s, const ae_config *cfg)
{
    memset(s, 0, sizeof *s);
    s->reactor.epfd = s->listener.fd = s->signals.fd = -1;
    s->cfg = *cfg;
    if (cfg->max_conns < 0 || cfg->idle_timeout_ms < 0 || cfg->drain_timeout_ms < 0)
        return -EINVAL;
    s->cfg.host = cfg->host ? cfg->host : "127.0.0.1";
    s->cfg.max_conns = cfg->max_conns ? cfg->max_conns : 1024;
    s->cfg.drain_timeout_ms = cfg->drain_timeout_ms ? cfg->drain_timeout_ms : AE_DEFAULT_DRAIN_MS;
    s->ctx.cap = cfg->buf_size ? cfg->buf_size : AE_DEFAULT_BUF_SIZE;
    s->cfg.buf_size = s->ctx.cap;
    s->ctx.scratch = malloc(s->ctx.cap);
    int rc = s->ctx.scratch ? ae_reactor_init(&s->reactor) : -ENOMEM;
    if (rc == 0)
        rc = open_listener(s);
    if (rc == 0 && cfg->handle_signals)
        rc = open_signals(s);
    s->cfg.host = NULL; /* borrowed for the call only */
    if (rc != 0)
        ae_server_close(s);
    return rc;
}

uint16_t ae_server_port(const ae_server *s) { return s->port; }

void ae_server_close(ae_server *s)
{
    while (s->idle_head != NULL) {
        ae_conn *c = s->idle_head;
        idle_unlink(s, c);
        ae_conn_close(c);
        free(c);
        s->n_conns--;
        s->stats.closed++;
    }
    close_source(s, &s->listener);
    if (s->signals.fd >= 0) {
        struct signalfd_siginfo info;
        while (read(s->signals.fd, &info, sizeof info) > 0) {
            /* consume what is pending: unblocked, it would kill the process that just shut down cleanly */
        }
        close_source(s, &s->signals);
        pthread_sigmask(SIG_SETMASK, &s->saved_mask, NULL);
    }
    ae_reactor_close(&s->reactor);
    free(s->ctx.scratch);
    s->ctx.scratch = NULL;
    s->accepting = false;
}
