/*
 * Chapter 06, part 5: the service (service.h), its lifecycle. Worker loops with one SO_REUSEPORT listener each, the
 * routes, the cache and the pool; the threads; a stop on SIGTERM that drains; closing. A connection's own life is
 * in conn.c, what each route does in items.c (service_impl.h holds what the three share).
 */
#define _GNU_SOURCE
#include "service_impl.h"

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- stopping ------------------------------------------------------------------------------------------------ */

static void home_worker_drained(void *ctx)
{
    ws_service *s = ctx;
    if (++s->drained < s->nworkers)
        return;
    ws_loop_timer_cancel(s->workers[0].loop, &s->drain_timer);
    for (size_t i = 0; i < s->nworkers; i++)
        ws_loop_stop(s->workers[i].loop);
}

void ws_worker_check_drained(worker *w)
{
    if (!w->draining || w->nconns > 0 || w->reported)
        return;
    w->reported = true;
    if (ws_loop_post(w->svc->workers[0].loop, home_worker_drained, w->svc) != 0)
        abort();
}

/* On the worker's thread: stop accepting, close what is idle, let the rest finish. */
static void worker_drain(void *ctx)
{
    worker *w = ctx;
    w->draining = true;
    ws_loop_unwatch(w->loop, &w->listen_watch);
    close(w->listen_fd);
    w->listen_fd = -1;
    for (conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        c->close_after = true;
        if (!c->busy && ws_conn_flush(c))
            ws_conn_interest(c);
    }
    ws_worker_check_drained(w);
}

/* The drain deadline passed: close whatever is still open. */
static void worker_force_close(void *ctx)
{
    worker *w = ctx;
    while (w->conns != NULL)
        ws_conn_close(w->conns);
}

static void home_drain_expired(void *ctx)
{
    ws_service *s = ctx;
    fprintf(stderr, "ws-service: drain time over: closing the connections still open\n");
    for (size_t i = 0; i < s->nworkers; i++)
        if (ws_loop_post(s->workers[i].loop, worker_force_close, &s->workers[i]) != 0)
            abort();
}

static void home_on_signal(ws_watch *wt, uint32_t ready)
{
    (void)ready;
    ws_service *s = (ws_service *)((char *)wt - offsetof(ws_service, sig_watch)); /* SAFETY: field of a service */
    struct signalfd_siginfo si;
    while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    if (s->stopping)
        return;
    s->stopping = true;
    if (ws_loop_timer_start(s->workers[0].loop, &s->drain_timer, s->cfg.drain_ms, home_drain_expired, s) != 0)
        abort();
    for (size_t i = 0; i < s->nworkers; i++)
        if (ws_loop_post(s->workers[i].loop, worker_drain, &s->workers[i]) != 0)
            abort();
}

/* ---- opening, running, closing ------------------------------------------------------------------------------- */

static int listen_on(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool add_routes(ws_router *r)
{
    ws_router_init(r);
    return ws_router_add(r, WS_GET, "/items/:id", H_ITEM_GET) == WS_STATUS_OK &&
           ws_router_add(r, WS_PUT, "/items/:id", H_ITEM_PUT) == WS_STATUS_OK &&
           ws_router_add(r, WS_DELETE, "/items/:id", H_ITEM_DELETE) == WS_STATUS_OK &&
           ws_router_add(r, WS_GET, "/healthz", H_HEALTHZ) == WS_STATUS_OK &&
           ws_router_add(r, WS_GET, "/metrics", H_METRICS) == WS_STATUS_OK;
}

static bool open_parts(ws_service *s)
{
    const ws_service_config *cfg = &s->cfg;
    for (size_t i = 0; i < cfg->workers; i++) {
        worker *w = &s->workers[i];
        w->svc = s;
        w->listen_watch.fd = -1;
        if (ws_loop_create(&w->loop) != 0)
            return false;
        s->nworkers++;
        if ((w->listen_fd = listen_on(i == 0 ? cfg->port : s->port)) < 0)
            return false;
        if (i == 0) {
            struct sockaddr_in a;
            socklen_t len = sizeof a;
            if (getsockname(w->listen_fd, (struct sockaddr *)&a, &len) != 0)
                return false;
            s->port = ntohs(a.sin_port);
        }
        if (ws_loop_watch(w->loop, &w->listen_watch, w->listen_fd, WS_READABLE, ws_worker_on_accept) != 0)
            return false;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 || (s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        return false;
    s->sig_watch.fd = -1;
    if (ws_loop_watch(s->workers[0].loop, &s->sig_watch, s->sig_fd, WS_READABLE, home_on_signal) != 0)
        return false;
    ws_cache_config cc = {.shards = 16, .entries_per_shard = 4096, .budget_bytes = cfg->cache_mb << 20, .ttl_ms = 60000};
    if (ws_cache_create(&cc, &s->cache) != WS_STATUS_OK)
        return false;
    ws_pool_config pc = {.conninfo = cfg->conninfo, .size = cfg->pool_size, .home = s->workers[0].loop};
    return ws_pool_create(&pc, &s->pool) == WS_DB_OK && add_routes(&s->router);
}

ws_status ws_service_open(const ws_service_config *config, ws_service **out)
{
    *out = NULL;
    if (config->conninfo == NULL || config->workers < 1 || config->workers > WS_WORKERS_MAX || config->pool_size < 1 ||
        config->cache_mb < 1 || config->cache_mb > 4096)
        return WS_STATUS_INTERNAL_ERROR;
    ws_service *s = calloc(1, sizeof *s);
    if (s == NULL)
        return WS_STATUS_INTERNAL_ERROR;
    s->cfg = *config;
    s->sig_fd = -1;
    s->limits = WS_LIMITS_DEFAULT;
    s->limits.max_body = 64 * 1024;
    for (size_t i = 0; i < WS_WORKERS_MAX; i++)
        s->workers[i].listen_fd = -1;
    if (!open_parts(s)) {
        ws_service_close(s);
        return WS_STATUS_INTERNAL_ERROR;
    }
    *out = s;
    return WS_STATUS_OK;
}

uint16_t ws_service_port(const ws_service *s) { return s->port; }

static void *worker_main(void *arg)
{
    worker *w = arg;
    w->owner = pthread_self();
    if (ws_loop_run(w->loop) != 0)
        fprintf(stderr, "ws-service: a worker's loop failed\n");
    return NULL;
}

int ws_service_run(ws_service *s)
{
    int rc = 0;
    s->workers[0].owner = pthread_self();
    for (size_t i = 1; i < s->nworkers && rc == 0; i++) {
        rc = -pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        s->workers[i].started = rc == 0;
    }
    if (rc == 0)
        rc = ws_loop_run(s->workers[0].loop);
    for (size_t i = 1; i < s->nworkers; i++)
        if (s->workers[i].started) {
            if (rc != 0)
                ws_loop_stop(s->workers[i].loop);
            pthread_join(s->workers[i].thread, NULL);
            s->workers[i].started = false;
        }
    return rc;
}

/* Shuts the pool down and runs the home loop until its last connection is closed (2 s at most). */
static bool pool_drain(ws_service *s)
{
    ws_pool_shutdown(s->pool);
    uint64_t deadline = ws_loop_now_ms() + 2000;
    for (;;) {
        ws_pool_stats ps = ws_pool_stats_get(s->pool);
        if (ps.idle + ps.in_use + ps.connecting == 0 && ps.waiting == 0)
            return true;
        if (ws_loop_now_ms() > deadline || ws_loop_run_once(s->workers[0].loop, 10) < 0)
            return false;
    }
}

void ws_service_close(ws_service *s)
{
    if (s == NULL)
        return;
    bool clean = true;
    for (size_t i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        for (conn *c = w->conns, *next; c != NULL; c = next) {
            next = c->next;
            clean = clean && !c->busy;
            ws_loop_unwatch(w->loop, &c->watch);
            close(c->fd);
            if (!c->busy)
                ws_conn_free(c);
        }
        ws_loop_unwatch(w->loop, &w->listen_watch);
        if (w->listen_fd >= 0)
            close(w->listen_fd);
    }
    if (s->pool != NULL && !(clean && pool_drain(s)))
        clean = false; /* a connection is still out: leave the pool (and the cache's open flights) to the exit */
    if (clean) {
        ws_pool_destroy(s->pool);
        ws_cache_destroy(s->cache);
    }
    if (s->nworkers > 0) {
        ws_loop_unwatch(s->workers[0].loop, &s->sig_watch);
        ws_loop_timer_cancel(s->workers[0].loop, &s->drain_timer);
    }
    if (s->sig_fd >= 0)
        close(s->sig_fd);
    for (size_t i = 0; clean && i < s->nworkers; i++)
        ws_loop_destroy(s->workers[i].loop);
    if (clean)
        free(s);
}
