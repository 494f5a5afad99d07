/*
 * Chapter 06 demo: HTTP/1.1 on plain blocking sockets, just enough for the service's replies, /metrics read line by
 * line, and the sampler thread of act 3. What the sampler calls touches no shared state but service_port and opt,
 * both read-only by then, and the sampler's own struct, under its mutex.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h> /* NAN: no libm function is called */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

uint16_t service_port;

int connect_service(void)
{
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(service_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* SAFETY: sockaddr_in is the AF_INET form of sockaddr, and its size is passed with it. */
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        fd = -1;
    }
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int connect_or_die(void)
{
    int fd = connect_service();
    if (fd < 0)
        die("connect to the service: %s", strerror(errno));
    return fd;
}

bool send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

int request(char *out, size_t cap, const char *method, const char *path, const char *body, bool close)
{
    return snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: demo\r\nContent-Length: %zu\r\n%s\r\n%s", method, path,
                    body ? strlen(body) : 0, close ? "Connection: close\r\n" : "", body ? body : "");
}

/* The value of header field @p name in the head that ends at @p end, or NULL. */
static const char *field(const char *head, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = head; (p = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL && p < end; p += 2)
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
            return p + 3 + n + strspn(p + 3 + n, " ");
    return NULL;
}

bool parse_reply(char *buf, size_t len, reply *r)
{
    buf[len] = '\0'; /* so that strtoul and sscanf stop */
    char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL)
        return false;
    size_t head = (size_t)(end - buf) + 4;
    const char *cl = field(buf, end + 2, "Content-Length"), *conn = field(buf, end + 2, "Connection");
    size_t body = cl ? strtoul(cl, NULL, 10) : 0;
    if (len < head + body)
        return false;
    *r = (reply){.body = buf + head, .body_len = body};
    r->close = conn != NULL && strncasecmp(conn, "close", 5) == 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
        r->status = -1;
    return true;
}

bool read_reply(int fd, char *buf, size_t cap, reply *r, int64_t deadline)
{
    size_t len = 0;
    while (!parse_reply(buf, len, r)) {
        int64_t left_ms = (deadline - now_ns()) / 1000000;
        if (interrupted || left_ms <= 0 || len + 1 >= cap)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left_ms < 200 ? (int)left_ms : 200) <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return false;
        len += (size_t)n;
    }
    return true;
}

bool http_call(const char *method, const char *path, const char *body, char *buf, size_t cap, reply *r)
{
    char req[512];
    int len = request(req, sizeof req, method, path, body, true);
    int fd = connect_service();
    if (fd < 0)
        return false;
    bool ok = send_all(fd, req, (size_t)len) && read_reply(fd, buf, cap, r, now_ns() + 10 * 1000000000LL);
    close(fd);
    return ok;
}

/* ---- /metrics ------------------------------------------------------------------------------------------------ */

static double metric(const reply *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->body, *end = r->body + r->body_len, *nl; p < end; p = nl + 1) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return atof(p + n + 1);
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            break;
    }
    return NAN;
}

bool metrics_read(metrics *m)
{
    char buf[16384];
    reply r;
    if (!http_call("GET", "/metrics", NULL, buf, sizeof buf, &r) || r.status != 200)
        return false;
    m->hits = metric(&r, "ws_cache_hits_total");
    m->misses = metric(&r, "ws_cache_misses_total");
    m->flights = metric(&r, "ws_cache_flights_total");
    m->queries_get = metric(&r, "ws_db_queries_total{kind=\"get\"}");
    m->queries_put = metric(&r, "ws_db_queries_total{kind=\"put\"}");
    m->pool_in_use = metric(&r, "ws_pool_in_use");
    m->pool_waiting = metric(&r, "ws_pool_waiting");
    m->pool_idle = metric(&r, "ws_pool_idle");
    return true;
}

metrics metrics_now(void)
{
    metrics m;
    if (!metrics_read(&m)) {
        check_interrupted();
        die("GET /metrics: no 200 reply (the connection failed, or 10 s passed)");
    }
    return m;
}

/* ---- the sampler ---------------------------------------------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;           /* guards last and the two maxima, written by the sampler, taken by main */
    metrics last;                   /* the latest reading */
    double in_use_max, waiting_max; /* the pool's gauges, highest since the last take */
    atomic_bool stop;               /* set by the main thread to end the sampler */
    bool running;                   /* the thread exists and is to be joined (main thread only) */
    pthread_t thread;
} sampler = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void *sampler_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&sampler.stop)) {
        metrics m;
        if (metrics_read(&m)) {
            pthread_mutex_lock(&sampler.lock);
            sampler.last = m;
            if (m.pool_in_use > sampler.in_use_max)
                sampler.in_use_max = m.pool_in_use;
            if (m.pool_waiting > sampler.waiting_max)
                sampler.waiting_max = m.pool_waiting;
            pthread_mutex_unlock(&sampler.lock);
        }
        usleep(50000);
    }
    return NULL;
}

void sampler_start(metrics first)
{
    sampler.last = first; /* no lock: the thread does not exist yet */
    atomic_store(&sampler.stop, false);
    if (pthread_create(&sampler.thread, NULL, sampler_main, NULL) != 0)
        die("pthread_create failed");
    sampler.running = true;
}

metrics sampler_take(double *in_use_max, double *waiting_max)
{
    pthread_mutex_lock(&sampler.lock);
    metrics m = sampler.last;
    *in_use_max = sampler.in_use_max;
    *waiting_max = sampler.waiting_max;
    sampler.in_use_max = sampler.waiting_max = 0;
    pthread_mutex_unlock(&sampler.lock);
    return m;
}

void sampler_stop(void)
{
    if (!sampler.running)
        return;
    atomic_store(&sampler.stop, true);
    pthread_join(sampler.thread, NULL);
    sampler.running = false;
}
