/*
 * Chapter 08, reference solution: the proxy's frame — listeners, signals, sessions, run and drain.
 *
 * Everything runs on one thread, in callbacks of one loop. A session is a client connection; its mode's file
 * (proxy_tcp.c, proxy_http.c) drives it, and it stays on the proxy's list until px_session_close(), so a drain can
 * count what is still in flight and cut it when the time is up.
 */
#define _GNU_SOURCE
#include "proxy_impl.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long accepting pauses when the process is out of file descriptors (accept says EMFILE or ENFILE). */
#define ACCEPT_PAUSE_MS 100
static void session_unlink(px_session *s)
{
    px_proxy *p = s->proxy;
    if (s->prev)
        s->prev->next = s->next;
    else
        p->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    p->n_sessions--;
}

static void drain_check(px_proxy *p);

void px_session_close(px_session *s)
{
    px_proxy *p = s->proxy;
    px_tls_session_close(s); /* part 5: a handshake under way, TLS sessions not yet relayed */
    px_connect_cancel(&s->connect);
    if (s->relay != NULL)
        px_relay_abort(s->relay);
    if (s->http != NULL)
        px_http_session_free(s);
    if (s->client_fd >= 0)
        close(s->client_fd);
    if (s->picked)
        px_endpoint_release(p, s->pick, 0, false);
    session_unlink(s);
    free(s);
    drain_check(p);
}

static void accept_resume(px_timer *t)
{
    px_proxy *p = PX_CONTAINER_OF(t, px_proxy, accept_pause);
    if (p->listen_fd >= 0 && px_loop_modify(p->loop, &p->listen_watch, PX_READABLE) < 0)
        px_log(p, "cannot watch the listener again");
}

/* Takes every client the kernel has queued: the listener is level-triggered, but one accept per wake-up would
 * cost a turn of the loop per client. */
static void on_accept(px_watch *w, uint32_t ready)
{
    (void)ready;
    px_proxy *p = PX_CONTAINER_OF(w, px_proxy, listen_watch);
    for (;;) {
        int fd = accept4(p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* The client stays queued; stop asking until some fd is freed, or the loop would spin. */
                px_log(p, "out of file descriptors: accepting pauses %d ms", ACCEPT_PAUSE_MS);
                if (px_loop_modify(p->loop, &p->listen_watch, 0) == 0 &&
                    px_loop_timer_start(p->loop, &p->accept_pause, ACCEPT_PAUSE_MS, accept_resume) < 0)
                    accept_resume(&p->accept_pause);
            }
            return; /* EAGAIN: the queue is empty; ECONNABORTED and the like: the client is gone */
        }
        px_session *s = calloc(1, sizeof *s);
        if (s == NULL) {
            close(fd);
            continue;
        }
        s->proxy = p;
        s->client_fd = fd;
        s->started_ms = px_loop_now_ms(p->loop);
        s->next = p->sessions;
        if (p->sessions)
            p->sessions->prev = s;
        p->sessions = s;
        p->n_sessions++;
        p->accepted++;
        if (p->opts.mode == PX_MODE_HTTP)
            px_http_session_start(s);
        else
            px_tcp_session_start(s);
    }
}

static void drain_stop(px_timer *t)
{
    px_proxy *p = PX_CONTAINER_OF(t, px_proxy, drain_timer);
    if (p->n_sessions > 0)
        px_log(p, "drain: %zu connections still open after %llu ms, closing them", p->n_sessions,
               (unsigned long long)p->opts.drain_ms);
    while (p->sessions != NULL)
        px_session_close(p->sessions);
    px_loop_stop(p->loop);
}

/* The drain is over when the last session is gone. */
static void drain_check(px_proxy *p)
{
    if (p->draining && p->n_sessions == 0 && px_timer_armed(&p->drain_timer)) {
        px_loop_timer_cancel(p->loop, &p->drain_timer);
        px_log(p, "drain: done");
        px_loop_stop(p->loop);
    }
}

static void drain_start(px_proxy *p)
{
    if (p->draining)
        return;
    p->draining = true;
    px_log(p, "drain: no new connections, %zu in flight, %llu ms to finish", p->n_sessions,
           (unsigned long long)p->opts.drain_ms);
    /* Closing the listener makes new clients see a refused connect at once instead of a silent queue. */
    px_loop_unwatch(p->loop, &p->listen_watch);
    px_loop_timer_cancel(p->loop, &p->accept_pause);
    close(p->listen_fd);
    p->listen_fd = -1;
    if (px_loop_timer_start(p->loop, &p->drain_timer, p->opts.drain_ms, drain_stop) < 0)
        drain_stop(&p->drain_timer);
    else
        drain_check(p);
}

static void on_signal(px_watch *w, uint32_t ready)
{
    (void)ready;
    px_proxy *p = PX_CONTAINER_OF(w, px_proxy, signal_watch);
    struct signalfd_siginfo si;
    while (read(p->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            char err[256];
            if (px_endpoints_reload(p, err, sizeof err) < 0) {
                /* A bad file changes nothing: the endpoints in use stay, as a failed reload must leave them. */
                p->reload_failures++;
                px_log(p, "reload refused, keeping %zu endpoints: %s", px_balancer_slots(p->balancer), err);
            } else {
                p->reloads++;
            }
        } else {
            drain_start(p);
        }
    }
}

static int take_signals(px_proxy *p)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked signals stay pending for the signalfd instead of running a handler (or killing the process). */
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -errno;
    p->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (p->signal_fd < 0)
        return -errno;
    return px_loop_watch(p->loop, &p->signal_watch, p->signal_fd, PX_READABLE, on_signal);
}

int px_proxy_create(const px_options *opts, px_proxy **out, char *err, size_t err_len)
{
    *out = NULL;
    if (opts->endpoints_file == NULL) {
        snprintf(err, err_len, "no endpoints file");
        return -EINVAL;
    }
    px_proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->opts = *opts;
    p->listen_fd = p->admin_fd = p->signal_fd = -1;
    p->endpoints_file = strdup(opts->endpoints_file);
    uint64_t seed = opts->seed ? opts->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    p->opts.seed = seed;
    int rc = p->endpoints_file ? px_loop_create(&p->loop) : -ENOMEM;
    if (rc == 0)
        rc = px_balancer_create(opts->balancer, NULL, seed, &p->balancer);
    if (rc == 0 && opts->mode == PX_MODE_HTTP) { /* retries exist in http mode only */
        px_budget_config budget = PX_BUDGET_DEFAULTS;
        budget.ratio = opts->retry_ratio;
        rc = px_budget_init(&p->budget, &budget);
    }
    if (rc < 0) {
        snprintf(err, err_len, "setting up: %s", strerror(-rc));
    } else {
        rc = px_endpoints_reload(p, err, err_len);
    }
    if (rc == 0)
        rc = px_listen_on(opts->listen, &p->listen_fd, &p->listen_port, err, err_len);
    if (rc == 0 && opts->admin != NULL)
        rc = px_listen_on(opts->admin, &p->admin_fd, &p->admin_port, err, err_len);
    if (rc == 0)
        rc = px_tls_proxy_setup(p, opts, err, err_len); /* part 5: the mTLS contexts, while opts' paths are valid */
    if (rc == 0 && (rc = take_signals(p)) < 0)
        snprintf(err, err_len, "signals: %s", strerror(-rc));
    if (rc < 0) {
        px_proxy_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

void px_proxy_ports(const px_proxy *p, uint16_t *listen_port, uint16_t *admin_port)
{
    if (listen_port)
        *listen_port = p->listen_port;
    if (admin_port)
        *admin_port = p->admin_fd >= 0 ? p->admin_port : 0;
}

int px_proxy_run(px_proxy *p)
{
    int rc = px_loop_watch(p->loop, &p->listen_watch, p->listen_fd, PX_READABLE, on_accept);
    if (rc == 0 && p->admin_fd >= 0)
        rc = px_admin_start(p);
    if (rc < 0)
        return rc;
    return px_loop_run(p->loop);
}

void px_proxy_destroy(px_proxy *p)
{
    if (p == NULL)
        return;
    while (p->sessions != NULL) {
        p->draining = false; /* closing here is not a drain finishing */
        px_session_close(p->sessions);
    }
    if (p->loop != NULL) {
        px_pool_free(p); /* idle upstream connections are watched: they go before the loop */
        px_endpoints_clear(p);
        px_admin_stop(p);
        px_loop_unwatch(p->loop, &p->listen_watch);
        px_loop_unwatch(p->loop, &p->admin_watch);
        px_loop_unwatch(p->loop, &p->signal_watch);
        px_loop_timer_cancel(p->loop, &p->accept_pause);
        px_loop_timer_cancel(p->loop, &p->drain_timer);
        px_loop_destroy(p->loop);
    }
    if (p->listen_fd >= 0)
        close(p->listen_fd);
    if (p->admin_fd >= 0)
        close(p->admin_fd);
    if (p->signal_fd >= 0)
        close(p->signal_fd);
    if (p->balancer != NULL)
        px_balancer_destroy(p->balancer);
    px_tls_proxy_free(p); /* part 5: after the sessions, whose TLS sessions used the contexts */
    free(p->slots);
    free(p->endpoints_file);
    free(p);
}
