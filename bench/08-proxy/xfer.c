/*
 * Chapter 08 benchmark: the L4 client. CONNS threads, each in a loop until SECONDS have passed: connect to
 * 127.0.0.1:PORT, send BYTES bytes while reading them back from the echo backend (backend --echo) behind the proxy,
 * check that every byte came back, close. One connection per transfer, as a service mesh sees a short-lived L4 call.
 *
 *   xfer PORT BYTES CONNS SECONDS
 *
 * Prints one line:
 *   RUN transfers=N bytes=B secs=S mib_per_s=M failed=F
 * bytes counts what crossed the proxy, both directions (2 x BYTES per transfer), so mib_per_s is the relay's rate;
 * failed counts transfers that ended early or came back different (each also reported on standard error once).
 * A transfer under way when the time is up is finished and counted; secs is the time until the last one ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK = 64 * 1024 };

static unsigned port;
static size_t bytes;
static uint64_t stop_ns;
static atomic_ullong transfers, moved, failed;
static atomic_flag warned = ATOMIC_FLAG_INIT;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The byte at offset i of every transfer: a pattern that a lost, doubled or reordered chunk breaks. */
static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 4093); }

/* One transfer; 0, or -1 with a reason in @p why. */
static int transfer(const unsigned char *out, const char **why)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    *why = "connect";
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    size_t sent = 0, got = 0;
    unsigned char in[CHUNK];
    int rc = 0;
    while (got < bytes) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < bytes ? POLLOUT : 0)};
        if (poll(&p, 1, 5000) <= 0) {
            *why = "no progress for 5 s";
            rc = -1;
            break;
        }
        if (p.revents & POLLOUT && sent < bytes) {
            size_t want = bytes - sent < CHUNK ? bytes - sent : CHUNK;
            ssize_t n = send(fd, out + sent, want, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                *why = "send";
                rc = -1;
                break;
            }
            if (n > 0)
                sent += (size_t)n;
            if (sent == bytes)
                shutdown(fd, SHUT_WR);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = recv(fd, in, sizeof in, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                *why = n == 0 ? "closed early" : "recv";
                rc = -1;
                break;
            }
            if (memcmp(in, out + got, (size_t)n) != 0) {
                *why = "bytes differ";
                rc = -1;
                break;
            }
            got += (size_t)n;
        }
    }
    close(fd);
    return rc;
}

static void *worker(void *arg)
{
    const unsigned char *out = arg;
    while (now_ns() < stop_ns) {
        const char *why;
        if (transfer(out, &why) < 0) {
            failed++;
            if (!atomic_flag_test_and_set(&warned))
                fprintf(stderr, "xfer: a transfer failed: %s\n", why);
            continue;
        }
        transfers++;
        moved += 2 * bytes;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: xfer PORT BYTES CONNS SECONDS\n");
        return 2;
    }
    port = (unsigned)atoi(argv[1]);
    bytes = strtoull(argv[2], NULL, 10);
    int conns = atoi(argv[3]);
    double secs = atof(argv[4]);
    if (port == 0 || port > 65535 || bytes == 0 || conns <= 0 || conns > 1000 || !(secs > 0)) {
        fprintf(stderr, "xfer: bad arguments\n");
        return 2;
    }
    unsigned char *out = malloc(bytes);
    pthread_t *t = calloc((size_t)conns, sizeof *t);
    if (out == NULL || t == NULL)
        return 1;
    for (size_t i = 0; i < bytes; i++)
        out[i] = pattern(i);
    uint64_t t0 = now_ns();
    stop_ns = t0 + (uint64_t)(secs * 1e9);
    for (int i = 0; i < conns; i++)
        if (pthread_create(&t[i], NULL, worker, out) != 0)
            return 1;
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    double took = (double)(now_ns() - t0) / 1e9;
    printf("RUN transfers=%llu bytes=%llu secs=%.3f mib_per_s=%.1f failed=%llu\n", (unsigned long long)transfers,
           (unsigned long long)moved, took, (double)moved / (1024.0 * 1024.0) / took, (unsigned long long)failed);
    free(t);
    free(out);
    return 0;
}
