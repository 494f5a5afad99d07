/*
 * Chapter 08 demo: px-proxy as a child process, and its /metrics page.
 *
 * The proxy runs in a process group of its own, so that Ctrl-C on the terminal reaches the demo alone and the demo
 * decides the order things stop in (clients, proxy, backends). Its stdout and stderr share one pipe: the one stdout
 * line says where it listens, the others are its log (an ejection, a comeback), which the demo prints between its
 * rows. The pipe is read often: a proxy blocked on a full pipe would stall every request it carries.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t pid;
static int out_fd = -1;    /* the read end of the proxy's stdout and stderr */
static char out_buf[8192]; /* what has come and is not a whole line yet */
static size_t out_len;
static uint16_t listen_port, admin_port;
static char endpoints_path[64] = ""; /* the endpoints file, removed by proxy_stop() */
static bool stopping;                /* in proxy_stop(): every line is shown, a sanitizer's report among them */

uint16_t proxy_port(void) { return listen_port; }

static void write_endpoints(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(endpoints_path, sizeof endpoints_path, "%s/px-demo-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    int fd = mkstemp(endpoints_path);
    if (fd < 0) {
        endpoints_path[0] = '\0';
        die("cannot make the endpoints file: %s", strerror(errno));
    }
    char text[128];
    int len = 0;
    for (int i = 0; i < DEMO_BACKENDS; i++)
        len += snprintf(text + len, sizeof text - (size_t)len, "127.0.0.1:%u\n", backend_port(i));
    if (write(fd, text, (size_t)len) != len)
        die("cannot write %s: %s", endpoints_path, strerror(errno));
    close(fd);
}

/* Reads what the pipe holds now into out_buf; false at end of file. */
static bool out_read(void)
{
    if (out_fd < 0 || out_len == sizeof out_buf)
        return out_fd >= 0;
    ssize_t n = read(out_fd, out_buf + out_len, sizeof out_buf - out_len);
    if (n == 0)
        return false;
    if (n > 0)
        out_len += (size_t)n;
    return true;
}

/* Takes one whole line out of out_buf into @p line; false when there is none yet. */
static bool out_line(char *line, size_t cap)
{
    char *nl = memchr(out_buf, '\n', out_len);
    if (nl == NULL && out_len < sizeof out_buf)
        return false;
    size_t n = nl ? (size_t)(nl - out_buf) : out_len; /* a full buffer without a newline is cut into a line */
    snprintf(line, cap, "%.*s", (int)n, out_buf);
    size_t used = nl ? n + 1 : n;
    memmove(out_buf, out_buf + used, out_len - used);
    out_len -= used;
    return true;
}

void proxy_start(void)
{
    write_endpoints();
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    fflush(stdout);
    pid_t demo = getpid();
    pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* kept across exec: the proxy dies with the demo, however it ends */
        if (getppid() != demo)            /* the demo died before that line */
            _exit(1);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        dup2(p[1], STDOUT_FILENO);
        dup2(p[1], STDERR_FILENO);
        /* Health checks every 500 ms and ejection after 3 failures: the defaults (1 s, 7) would make the workshop
         * wait 7 s for an ejection. A fixed seed gives the balancer the same sequence of random draws on every run (the
         * timing still differs). */
        execl(opt.proxy, opt.proxy, "--endpoints", endpoints_path, "--mode", "http", "--balancer", opt.balancer, "--admin",
              "127.0.0.1:0", "--health-interval-ms", "500", "--max-failures", "3", "--seed", "8", (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", opt.proxy, strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(p[1]);
    out_fd = p[0];
    /* The stdout line within 10 s (ASan's start-up included): "listening on 127.0.0.1:P admin 127.0.0.1:A". Log
     * lines written to stderr before it (the endpoints it read) are shown as they come. */
    char line[512] = "";
    int64_t t0 = now_ns();
    while (!out_line(line, sizeof line) || strncmp(line, "listening on ", 13) != 0) {
        if (line[0] != '\0')
            printf("   %spx-proxy | %s%s\n", paint(C_DIM), line, paint(C_RESET));
        line[0] = '\0';
        struct pollfd pfd = {out_fd, POLLIN, 0};
        if (interrupted)
            die("interrupted while px-proxy was starting");
        if (ms_since(t0) > 10000)
            die("px-proxy said nothing within 10 s");
        if (poll(&pfd, 1, 50) > 0 && !out_read()) {
            if (out_len > 0) /* a last line without its newline */
                printf("   px-proxy | %.*s\n", (int)out_len, out_buf);
            die("px-proxy exited before it listened (what it said, if anything, is above)");
        }
    }
    unsigned lp, ap;
    if (sscanf(line, "listening on 127.0.0.1:%u admin 127.0.0.1:%u", &lp, &ap) != 2)
        die("px-proxy's first line is not \"listening on ... admin ...\": %s", line);
    listen_port = (uint16_t)lp;
    admin_port = (uint16_t)ap;
    fcntl(out_fd, F_SETFL, O_NONBLOCK); /* from now on the pump reads what is there and never waits */
}

/* A second's worth of the proxy's log: an ejection or a comeback is a line or two; a storm of failed attempts (a
 * dead backend under round-robin) would bury the table, so it is counted instead. */
#define LINES_PER_SECOND 4

void proxy_output_pump(void)
{
    static int64_t window;
    static int shown, held;
    if (now_ns() - window > 1000000000) {
        if (held > 0)
            printf("   %spx-proxy | (%d more line%s)%s\n", paint(C_DIM), held, held == 1 ? "" : "s", paint(C_RESET));
        window = now_ns();
        shown = held = 0;
    }
    char line[512];
    bool open = true;
    while (open) {
        open = out_read();
        bool any = false;
        while (out_line(line, sizeof line)) {
            any = true;
            if (shown++ < LINES_PER_SECOND || stopping)
                printf("   %spx-proxy | %s%s\n", paint(C_DIM), line, paint(C_RESET));
            else
                held++;
        }
        if (!any)
            break;
    }
}

bool proxy_stop(void)
{
    bool clean = false;
    if (pid > 0) {
        stopping = true;
        kill(pid, SIGTERM);
        int status = 0;
        int64_t t0 = now_ns();
        pid_t r;
        /* Poll rather than block: the pipe must keep being read while the proxy drains and logs. */
        while ((r = waitpid(pid, &status, WNOHANG)) == 0 && ms_since(t0) < 15000) {
            proxy_output_pump();
            struct timespec ts = {0, 20000000};
            nanosleep(&ts, NULL);
        }
        if (r == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        proxy_output_pump();
        clean = r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (r == pid && !clean)
            printf("   px-proxy ended with %s %d\n", WIFEXITED(status) ? "exit status" : "signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        pid = 0;
    }
    if (out_fd >= 0)
        close(out_fd);
    out_fd = -1;
    if (endpoints_path[0])
        unlink(endpoints_path);
    endpoints_path[0] = '\0';
    return clean;
}

/* ---- /metrics ------------------------------------------------------------------------------------------------ */

/* Which backend a series is about: the value of its endpoint="127.0.0.1:PORT" label; -1 for none of them. */
static int series_backend(const char *labels)
{
    const char *e = strstr(labels, "endpoint=\"127.0.0.1:");
    if (e == NULL)
        return -1;
    unsigned port = (unsigned)strtoul(e + strlen("endpoint=\"127.0.0.1:"), NULL, 10);
    for (int i = 0; i < DEMO_BACKENDS; i++)
        if (port == backend_port(i))
            return i;
    return -1;
}

/* The bucket a le="..." label names, in the order px_histogram keeps them; -1 for a bound it does not have. */
static int bucket_index(const char *labels)
{
    const char *le = strstr(labels, "le=\"");
    if (le == NULL)
        return -1;
    le += 4;
    if (!strncmp(le, "+Inf", 4))
        return PX_HISTOGRAM_BUCKETS - 1;
    unsigned long long bound = strtoull(le, NULL, 10);
    for (int i = 0; i < PX_HISTOGRAM_BUCKETS - 1; i++)
        if (px_histogram_bounds_ms[i] == bound)
            return i;
    return -1;
}

/* One sample line, "name{labels} value" or "name value", into @p m. */
static void parse_sample(char *line, proxy_metrics *m)
{
    char *value = strrchr(line, ' ');
    if (value == NULL)
        return;
    double v = strtod(value + 1, NULL);
    *value = '\0';
    char *labels = strchr(line, '{');
    if (labels == NULL) {
        if (!strcmp(line, "px_retries_total"))
            m->retries = v;
        else if (!strcmp(line, "px_retries_refused_total"))
            m->retries_refused = v;
        return;
    }
    *labels++ = '\0';
    int i = series_backend(labels);
    if (i < 0)
        return;
    endpoint_metrics *e = &m->ep[i];
    e->seen = true;
    if (!strcmp(line, "px_endpoint_requests_total"))
        e->requests = v;
    else if (!strcmp(line, "px_endpoint_failures_total"))
        e->failures = v;
    else if (!strcmp(line, "px_endpoint_available"))
        e->available = v;
    else if (!strcmp(line, "px_endpoint_ewma_ms"))
        e->ewma_ms = v;
    else if (!strcmp(line, "px_endpoint_latency_ms_bucket")) {
        int b = bucket_index(labels);
        if (b >= 0)
            e->buckets[b] = v;
    }
}

bool metrics_read(proxy_metrics *m)
{
    static char page[256 * 1024]; /* three endpoints' families fit many times over */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(admin_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0}; /* a deadline on each read and write: the page is small, the proxy is near */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n";
    size_t len = 0;
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0 && write(fd, req, sizeof req - 1) == sizeof req - 1;
    while (ok && len < sizeof page - 1) {
        ssize_t n = read(fd, page + len, sizeof page - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    page[len] = '\0';
    char *body = strstr(page, "\r\n\r\n");
    if (!ok || strncmp(page, "HTTP/1.1 200", 12) != 0 || body == NULL)
        return false;
    memset(m, 0, sizeof *m);
    char *save = NULL;
    for (char *line = strtok_r(body + 4, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        if (line[0] != '#')
            parse_sample(line, m);
    return true;
}

uint64_t p99_between(const endpoint_metrics *before, const endpoint_metrics *after)
{
    double total = after->buckets[PX_HISTOGRAM_BUCKETS - 1] - before->buckets[PX_HISTOGRAM_BUCKETS - 1];
    if (total < 1)
        return 0;
    /* The buckets are cumulative, and so are their differences: the first whose difference reaches the rank of the
     * 99th percentile holds it, and its bound is an upper bound of it (Prometheus's histogram_quantile would
     * interpolate inside the bucket; the bound is what the data can vouch for). */
    double rank = total * 0.99;
    for (int i = 0; i < PX_HISTOGRAM_BUCKETS - 1; i++)
        if (after->buckets[i] - before->buckets[i] >= rank)
            return px_histogram_bounds_ms[i];
    return px_histogram_bounds_ms[PX_HISTOGRAM_BUCKETS - 2] + 1; /* past the last bound: the +Inf bucket */
}
