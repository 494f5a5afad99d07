/*
 * Chapter 08, reference solution: the admin listener. Prometheus scrapes `GET /metrics`; an orchestrator or a load
 * balancer in front asks `GET /ready` and stops sending traffic once it answers 503, which it does from the moment a
 * drain starts. Each admin connection carries one request: read its head within a deadline, answer, close.
 *
 * Admin connections run on the proxy's loop beside the sessions but are not sessions: a drain neither waits for nor
 * cuts them, so /ready keeps answering (503) while the drain runs. Everything here is on the loop's thread.
 */
#define _GNU_SOURCE
#include "http1.h"
#include "proxy_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long an admin client has from its connect to the end of its request head: a silent client must not keep an fd
 * and a buffer for ever (the job of a server's request-header timeout). */
#define ADMIN_HEAD_TIMEOUT_MS 2000
/* How long an answer may wait for its client to take more of it: a page of thousands of endpoints is megabytes, and a
 * scraper reading it steadily is fine however long it takes; one that stops reading is not. */
#define ADMIN_SEND_IDLE_MS 10000
/* The longest request head taken: a scrape's is a few hundred bytes. */
#define ADMIN_HEAD_MAX 8192
/* How long accepting pauses when the process is out of file descriptors. */
#define ADMIN_ACCEPT_PAUSE_MS 100

/* One admin client, from its accept to its close; owned by the admin state's list. */
typedef struct admin_conn admin_conn;
struct admin_conn {
    admin_conn *next, *prev; /* admin_state::conns */
    px_proxy *proxy;         /* the owner of the admin state */
    int fd;                  /* owned */
    px_watch watch;          /* readable while the head comes in, writable while an answer waits for room */
    px_timer deadline;       /* closes the connection when the client is too slow to send or to read */
    char *out;               /* owned: the whole answer, once there is one; NULL while reading */
    size_t out_len, out_sent;
    size_t len; /* bytes of head[] received */
    char head[ADMIN_HEAD_MAX];
};

/* What p->admin points to. */
typedef struct admin_state {
    px_proxy *proxy;       /* the owner */
    admin_conn *conns;     /* owned list of open admin connections */
    px_timer accept_pause; /* out of fds: accepting resumes when it fires */
} admin_state;

static void on_conn_deadline(px_timer *t);

/* Gives the client @p ms from now for what it must do next. */
static bool conn_rearm(admin_conn *c, uint64_t ms)
{
    px_loop_timer_cancel(c->proxy->loop, &c->deadline);
    return px_loop_timer_start(c->proxy->loop, &c->deadline, ms, on_conn_deadline) == 0;
}

static void conn_close(admin_conn *c)
{
    px_proxy *p = c->proxy;
    admin_state *a = p->admin;
    px_loop_unwatch(p->loop, &c->watch);
    px_loop_timer_cancel(p->loop, &c->deadline);
    /* Bytes the client sent that were never read (a body, a second request) would make close() send a reset, and a
     * reset can overtake the answer still in flight to the client: read them away first. */
    char sink[512];
    for (int i = 0; i < 8 && read(c->fd, sink, sizeof sink) > 0; i++)
        ;
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        a->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->out);
    free(c);
}

/* Sends what is left of the answer; closes once it is all out (or the client is gone). */
static void conn_flush(admin_conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            /* Only writable from now on: a readable client would wake the loop for nothing on every turn. */
            if (c->watch.interest != PX_WRITABLE && px_loop_modify(c->proxy->loop, &c->watch, PX_WRITABLE) < 0)
                break;
            return;
        }
        if (w <= 0)
            break;
        c->out_sent += (size_t)w;
        /* Progress: the client reads, so its time to take the rest starts again. */
        if (c->out_sent < c->out_len && !conn_rearm(c, ADMIN_SEND_IDLE_MS))
            break;
    }
    conn_close(c);
}

static const char *status_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

/* Answers and closes: the head and @p body (borrowed) are copied into one buffer that conn_flush() sends. */
static void conn_respond(admin_conn *c, int status, const char *content_type, const char *extra, const char *body,
                         size_t body_len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
                     status_reason(status), content_type, body_len, extra);
    c->out = malloc((size_t)n + body_len);
    if (c->out == NULL) {
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)n);
    memcpy(c->out + n, body, body_len);
    c->out_len = (size_t)n + body_len;
    /* The head's deadline is over (rendering may even have taken it past due): the answer has its own. */
    if (!conn_rearm(c, ADMIN_SEND_IDLE_MS)) {
        conn_close(c);
        return;
    }
    conn_flush(c);
}

static void conn_respond_text(admin_conn *c, int status, const char *extra, const char *text)
{
    conn_respond(c, status, "text/plain; charset=utf-8", extra, text, strlen(text));
}

/* ---- /metrics ---------------------------------------------------------------------------------------------------- */

/* One family of a single unlabelled series. */
static void single(px_prom *w, const char *name, const char *type, const char *help, uint64_t value)
{
    px_prom_family(w, name, type, help);
    if (strcmp(type, "counter") == 0)
        px_prom_counter(w, name, NULL, 0, value);
    else
        px_prom_gauge(w, name, NULL, 0, (double)value);
}

/* The per-endpoint families, in the order they are rendered; each is one block with a series per live endpoint. */
enum endpoint_metric {
    EP_REQUESTS,
    EP_FAILURES,
    EP_LATENCY,
    EP_EWMA,
    EP_IN_FLIGHT,
    EP_AVAILABLE,
    EP_EJECTIONS,
    EP_HEALTH_FAILURES
};

static const struct endpoint_family {
    enum endpoint_metric what;
    const char *name, *type, *help;
} endpoint_families[] = {
    {EP_REQUESTS, "px_endpoint_requests_total", "counter", "Connections (tcp) or requests (http) sent to the endpoint."},
    {EP_FAILURES, "px_endpoint_failures_total", "counter", "Of those, the ones that failed."},
    {EP_LATENCY, "px_endpoint_latency_ms", "histogram", "Connect (tcp) or response-head (http) latency of successes."},
    {EP_EWMA, "px_endpoint_ewma_ms", "gauge", "The balancer's peak-EWMA round-trip estimate."},
    {EP_IN_FLIGHT, "px_endpoint_in_flight", "gauge", "Connections or requests in flight at the endpoint."},
    {EP_AVAILABLE, "px_endpoint_available", "gauge", "1 while the endpoint may be picked, 0 while it is ejected."},
    {EP_EJECTIONS, "px_endpoint_ejections_total", "counter", "Times the circuit breaker ejected the endpoint."},
    {EP_HEALTH_FAILURES, "px_endpoint_health_failures_total", "counter", "Active health checks that failed."},
};

static void endpoint_sample(px_prom *w, const struct endpoint_family *f, const px_slot *s, const px_endpoint_view *v)
{
    const px_label label = {"endpoint", s->name};
    switch (f->what) {
    case EP_REQUESTS:
        px_prom_counter(w, f->name, &label, 1, s->requests);
        break;
    case EP_FAILURES:
        px_prom_counter(w, f->name, &label, 1, s->failures);
        break;
    case EP_LATENCY:
        px_prom_histogram(w, f->name, &label, 1, &s->latency);
        break;
    case EP_EWMA:
        px_prom_gauge(w, f->name, &label, 1, (double)v->ewma_ns / 1e6);
        break;
    case EP_IN_FLIGHT:
        px_prom_gauge(w, f->name, &label, 1, v->in_flight);
        break;
    case EP_AVAILABLE:
        px_prom_gauge(w, f->name, &label, 1, v->available ? 1 : 0);
        break;
    case EP_EJECTIONS:
        px_prom_counter(w, f->name, &label, 1, s->breaker.ejections);
        break;
    case EP_HEALTH_FAILURES:
        px_prom_counter(w, f->name, &label, 1, s->health_failures);
        break;
    }
}

/* The balancer's view of a slot the proxy holds an endpoint in; false for a free slot or one that moved on. */
static bool live_view(const px_proxy *p, const px_slot *s, px_endpoint_view *v)
{
    return s->live && px_balancer_endpoint(p->balancer, s->slot, v) == 0 && v->pick.gen == s->pick.gen;
}

/* Renders the whole page into @p out (the caller frees it). Nothing is cached: a scrape sees the counters as they
 * are on this turn of the loop, and nothing changes them while it renders (one thread). */
static int render_metrics(const px_proxy *p, char **out, size_t *len)
{
    px_prom w;
    px_prom_init(&w);
    single(&w, "px_open_connections", "gauge", "Client connections open now.", p->n_sessions);
    single(&w, "px_accepted_connections_total", "counter", "Client connections accepted.", p->accepted);
    for (size_t f = 0; f < sizeof endpoint_families / sizeof endpoint_families[0]; f++) {
        const struct endpoint_family *fam = &endpoint_families[f];
        px_prom_family(&w, fam->name, fam->type, fam->help);
        for (size_t i = 0; i < p->n_slots; i++) {
            px_endpoint_view view;
            if (live_view(p, &p->slots[i], &view))
                endpoint_sample(&w, fam, &p->slots[i], &view);
        }
    }
    single(&w, "px_retries_total", "counter", "Requests retried on another endpoint (http).", p->retries);
    single(&w, "px_retries_refused_total", "counter", "Retries the budget refused (http).", p->retries_refused);
    single(&w, "px_no_endpoint_total", "counter", "Clients turned away with no endpoint available.", p->no_endpoint);
    single(&w, "px_reloads_total", "counter", "Endpoint files read on SIGHUP and taken.", p->reloads);
    single(&w, "px_reload_failures_total", "counter", "Endpoint files refused on SIGHUP.", p->reload_failures);
    single(&w, "px_draining", "gauge", "1 once SIGTERM has started a drain.", p->draining ? 1 : 0);
    return px_prom_finish(&w, out, len);
}

/* ---- requests ---------------------------------------------------------------------------------------------------- */

static bool token_is(const char *s, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(s, want, len) == 0;
}

static void conn_route(admin_conn *c, const px_http_head *h)
{
    px_proxy *p = c->proxy;
    if (!token_is(h->method, h->method_len, "GET")) {
        conn_respond_text(c, 405, "Allow: GET\r\n", "405 only GET is served here\n");
        return;
    }
    /* The path is the target up to a query string, which nothing here reads. */
    const char *q = memchr(h->target, '?', h->target_len);
    size_t path_len = q != NULL ? (size_t)(q - h->target) : h->target_len;
    if (token_is(h->target, path_len, "/ready")) {
        if (p->draining)
            conn_respond_text(c, 503, "", "draining\n");
        else
            conn_respond_text(c, 200, "", "ready\n");
    } else if (token_is(h->target, path_len, "/metrics")) {
        char *text;
        size_t len;
        int rc = render_metrics(p, &text, &len);
        if (rc < 0) {
            px_log(p, "admin: cannot render /metrics: %s", strerror(-rc));
            conn_respond_text(c, 500, "", "500 cannot render the metrics\n");
            return;
        }
        conn_respond(c, 200, "text/plain; version=0.0.4", "", text, len);
        free(text);
    } else {
        conn_respond_text(c, 404, "", "404 /metrics and /ready are served here\n");
    }
}

static void on_conn_ready(px_watch *w, uint32_t ready)
{
    (void)ready;
    admin_conn *c = PX_CONTAINER_OF(w, admin_conn, watch);
    if (c->out != NULL) {
        conn_flush(c);
        return;
    }
    ssize_t r = read(c->fd, c->head + c->len, sizeof c->head - c->len);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        conn_close(c); /* gone before its request was whole: nobody to answer */
        return;
    }
    c->len += (size_t)r;
    px_http_head h;
    int rc = px_http_parse_request(c->head, c->len, &h);
    if (rc == 0 && c->len < sizeof c->head)
        return; /* the head is not whole yet: wait for more, within the deadline */
    if (rc == 0 || rc == PX_HTTP_TOO_LARGE)
        conn_respond_text(c, 431, "", "431 request head too large\n");
    else if (rc < 0)
        conn_respond_text(c, 400, "", "400 not an HTTP/1.x request\n");
    else
        conn_route(c, &h);
}

static void on_conn_deadline(px_timer *t) { conn_close(PX_CONTAINER_OF(t, admin_conn, deadline)); }

/* ---- the listener ------------------------------------------------------------------------------------------------ */

static void accept_resume(px_timer *t)
{
    admin_state *a = PX_CONTAINER_OF(t, admin_state, accept_pause);
    if (px_loop_modify(a->proxy->loop, &a->proxy->admin_watch, PX_READABLE) < 0)
        px_log(a->proxy, "admin: cannot watch the listener again");
}

/* Takes every queued client (one accept per wake-up would cost a turn of the loop per scrape). */
static void on_admin_accept(px_watch *w, uint32_t ready)
{
    (void)ready;
    px_proxy *p = PX_CONTAINER_OF(w, px_proxy, admin_watch);
    admin_state *a = p->admin;
    for (;;) {
        int fd = accept4(p->admin_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE) {
                /* The client stays queued; a level-triggered listener would wake the loop for it on every turn. */
                if (px_loop_modify(p->loop, &p->admin_watch, 0) == 0 &&
                    px_loop_timer_start(p->loop, &a->accept_pause, ADMIN_ACCEPT_PAUSE_MS, accept_resume) < 0)
                    accept_resume(&a->accept_pause);
            }
            return; /* EAGAIN: nobody else is waiting */
        }
        admin_conn *c = malloc(sizeof *c);
        if (c == NULL) {
            close(fd);
            continue;
        }
        *c = (admin_conn){.proxy = p, .fd = fd, .next = a->conns};
        if (a->conns)
            a->conns->prev = c;
        a->conns = c;
        /* On the list first, so that conn_close() can undo whichever of the two steps below did happen. */
        if (px_loop_watch(p->loop, &c->watch, fd, PX_READABLE, on_conn_ready) < 0 ||
            px_loop_timer_start(p->loop, &c->deadline, ADMIN_HEAD_TIMEOUT_MS, on_conn_deadline) < 0)
            conn_close(c);
    }
}

int px_admin_start(px_proxy *p)
{
    admin_state *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->proxy = p;
    p->admin = a;
    return px_loop_watch(p->loop, &p->admin_watch, p->admin_fd, PX_READABLE, on_admin_accept);
}

void px_admin_stop(px_proxy *p)
{
    admin_state *a = p->admin;
    if (a == NULL)
        return;
    px_loop_unwatch(p->loop, &p->admin_watch);
    px_loop_timer_cancel(p->loop, &a->accept_pause);
    while (a->conns != NULL)
        conn_close(a->conns);
    free(a);
    p->admin = NULL;
}
