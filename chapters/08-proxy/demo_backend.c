/*
 * Chapter 08 demo: the three HTTP backends behind the proxy.
 *
 * A backend is a process of its own, in a process group of its own (Ctrl-C on the terminal reaches the demo alone,
 * which stops the backends last). It accepts, and starts one thread per connection (the proxy keeps a few pooled
 * connections per endpoint, so there are few), which answers that connection's GETs one after the other, each after
 * the backend's current delay. Threads rather than a fork per connection: a fork of a process under ASan takes 10-20
 * ms, which the first answer on every new connection would carry, and which the proxy's peak-EWMA estimate would
 * remember for seconds. SIGKILL takes the listener and every connection down at once, as a crashed server would:
 * the kernel resets what was open and refuses the next connects. The delay lives in a page shared with the demo
 * (MAP_SHARED before the fork), so the demo can turn a backend slow while it runs, without telling the proxy
 * anything: the proxy has to find out from its latencies.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The page shared by the demo and every backend process. Atomics because several processes write the counters at
 * once and the demo writes the delays while backends read them; lock-free atomics on shared memory are sound across
 * processes (no lock lives in the page). */
struct shared {
    _Atomic int delay_ms[DEMO_BACKENDS];
    _Atomic uint64_t answered[DEMO_BACKENDS];
};
static struct shared *shm;

static pid_t pids[DEMO_BACKENDS];
static uint16_t ports[DEMO_BACKENDS];

void backends_init(void)
{
    shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shm == MAP_FAILED)
        die("mmap of the backends' shared page: %s", strerror(errno));
    for (int i = 0; i < DEMO_BACKENDS; i++)
        atomic_store(&shm->delay_ms[i], DEMO_BASE_MS);
}

uint16_t backend_port(int i) { return ports[i]; }
bool backend_running(int i) { return pids[i] > 0; }
uint64_t backend_answered(int i) { return shm ? atomic_load(&shm->answered[i]) : 0; }
void backend_set_delay(int i, int ms) { atomic_store(&shm->delay_ms[i], ms); }

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Writes all of @p len bytes; false once the peer has gone. */
static bool write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* One connection's life, on its own thread: read a request head, wait the delay, answer, until the peer closes. GETs
 * carry no body, so a head ends a request; the proxy's health checks connect and close without sending anything. */
static void serve_connection(int i, int fd)
{
    char buf[8192], body[32], reply[160];
    size_t len = 0;
    int body_len = snprintf(body, sizeof body, "backend %d\n", i + 1);
    int reply_len = snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", body_len, body);
    for (;;) {
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end == NULL) {
            if (len == sizeof buf)
                return; /* a head longer than any the proxy sends: not a request of this demo */
            ssize_t n = read(fd, buf + len, sizeof buf - len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            len += (size_t)n;
            continue;
        }
        int delay = atomic_load(&shm->delay_ms[i]); /* read per request: a change shows on the next one */
        if (delay > 0)
            sleep_ms(delay);
        if (!write_all(fd, reply, (size_t)reply_len))
            return;
        atomic_fetch_add(&shm->answered[i], 1);
        size_t used = (size_t)(end + 4 - buf);
        memmove(buf, buf + used, len - used);
        len -= used;
    }
}

/* A connection's thread: what it serves, and on which backend. */
struct conn {
    int backend, fd;
};

static void *conn_thread(void *arg)
{
    struct conn c = *(struct conn *)arg;
    free(arg);
    serve_connection(c.backend, c.fd);
    close(c.fd);
    return NULL;
}

/* The backend process: never returns. Everything inherited from the demo but the listener is closed first, so that a
 * client socket or a pipe of the demo is not held open by a backend after the demo closed its own copy. */
static void backend_main(int i, int listener, pid_t demo)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the demo killed with SIGKILL must not leave backends behind */
    if (getppid() != demo)            /* it died before the line above: nobody would ever stop this backend */
        _exit(1);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);  /* a write to a reset connection returns EPIPE and ends that thread */
    if (dup2(listener, 3) < 0) /* 0-2 stay for ASan's reports */
        _exit(1);
    close_range(4, ~0U, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED); /* nobody joins them: the process ends by SIGKILL */
    for (;;) {
        int fd = accept4(3, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(1);
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = malloc(sizeof *c);
        pthread_t t;
        if (c == NULL) {
            close(fd);
            continue;
        }
        *c = (struct conn){i, fd};
        if (pthread_create(&t, &attr, conn_thread, c) != 0) {
            free(c);
            close(fd);
        }
    }
}

uint16_t backend_start(int i)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    /* SO_REUSEADDR: a restarted backend takes its old port back although connections the killed one had are still
     * in TIME_WAIT on it. The port must be the same one: it is what the proxy's endpoints file says. */
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ports[i])};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int err = errno;
        close(fd);
        die("backend %d cannot listen on 127.0.0.1:%u: %s", i + 1, ports[i], strerror(err));
    }
    ports[i] = ntohs(a.sin_port);
    fflush(stdout); /* what is buffered would be written twice, once by each process */
    pid_t demo = getpid(), pid = fork();
    if (pid < 0) {
        close(fd);
        die("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0); /* a group of its own: the terminal's Ctrl-C is for the demo */
        backend_main(i, fd, demo);
    }
    setpgid(pid, pid); /* done on both sides, so the group exists whichever of the two runs first */
    close(fd);         /* the backend alone holds the listener: once it is killed, connects are refused */
    pids[i] = pid;
    return ports[i];
}

void backend_kill(int i)
{
    if (pids[i] <= 0)
        return;
    kill(pids[i], SIGKILL); /* every thread, the listener and every connection with it */
    while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
        ;
    pids[i] = 0;
}

void backends_stop(void)
{
    for (int i = 0; i < DEMO_BACKENDS; i++)
        backend_kill(i);
}
