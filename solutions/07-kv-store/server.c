/*
 * Chapter 07, part 5: the RESP2 server. The contract, and why it runs a thread per connection, are in server.h.
 *
 * This file is the server's machinery: the accepting thread, the connection threads, start and stop. What the
 * commands do is in server_cmd.c (the command table, the plain commands), server_scan.c (SCAN and the commands that
 * report on the server) and server_txn.c (WATCH, MULTI, EXEC); server_impl.h says what they share.
 */
#define _GNU_SOURCE
#include "server.h"

#include "resp.h"
#include "server_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* The bytes one recv() takes; whatever whole commands they hold run before the next recv(). */
#define READ_BYTES 16384
/* A connection thread's stack: commands keep little on it (the read buffer is the largest thing). */
#define CONN_STACK (256u << 10)
/* How long a send() may make no progress before the client is dropped (it is not reading its replies). */
#define SEND_TIMEOUT_S 30

static uint64_t read_count(atomic_uint_fast64_t *c) { return atomic_load_explicit(c, memory_order_relaxed); }

/* Sends all of @p len bytes; false when the client is gone. */
static bool send_all(int fd, const uint8_t *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* ---- Connections ---------------------------------------------------------------------------------------------- */

/* Runs every whole command in @p data (one read), then sends all their replies at once. False: close now. */
static bool serve_read(kv_conn *c, const uint8_t *data, size_t len)
{
    bool go_on = true;
    size_t pos = 0;
    while (pos < len && go_on && !c->quit) {
        kv_resp_cmd cmd;
        size_t used;
        kv_status st = kv_resp_parse(&c->parser, data + pos, len - pos, &used, &cmd);
        pos += used;
        if (st == KV_INVALID) { /* out of step with the client: answer why, then close */
            kv_server_count(&c->srv->protocol_errors, 1);
            char msg[128];
            snprintf(msg, sizeof msg, "ERR %s", c->parser.error);
            kv_status st2 = kv_server_flush_sets(c);
            if (st2 == KV_OK)
                st2 = kv_resp_error(&c->out, msg);
            go_on = false; /* either way: the stream is out of step (out of memory here only loses the reason) */
        } else if (st != KV_OK || (cmd.argc > 0 && kv_server_run_command(c, &cmd) != KV_OK)) {
            go_on = false; /* out of memory: the replies can no longer be complete */
        } else if (cmd.argc == 0) {
            break; /* the rest of a command has not arrived yet */
        }
    }
    if (kv_server_flush_sets(c) != KV_OK)
        go_on = false;
    bool sent = send_all(c->fd, c->out.data, c->out.len);
    c->out.len = 0;
    return go_on && sent && !c->quit;
}

static void conn_free_state(kv_conn *c)
{
    kv_txn_abort(c->txn);
    c->txn = NULL;
    kv_resp_parser_free(&c->parser);
    kv_buf_free(&c->out);
    kv_buf_free(&c->queue);
    kv_buf_free(&c->val);
    kv_batch_free(&c->batch);
    for (size_t i = 0; i < KV_SERVER_SCAN_CURSORS; i++)
        kv_buf_free(&c->cursors[i].key);
}

static void *conn_main(void *arg)
{
    kv_conn *c = arg;
    uint8_t buf[READ_BYTES];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || !serve_read(c, buf, (size_t)n))
            break;
    }
    conn_free_state(c);
    shutdown(c->fd, SHUT_RDWR); /* the client sees the end now; the fd is closed when the thread is joined */
    pthread_mutex_lock(&c->srv->lock);
    c->finished = true;
    c->srv->live--;
    pthread_mutex_unlock(&c->srv->lock);
    return NULL;
}

/* Joins the thread of @p c, closes its socket and frees it. */
static void join_conn(kv_conn *c)
{
    pthread_join(c->thread, NULL);
    close(c->fd);
    free(c);
}

/* Joins the threads of connections that have finished. Called with the lock held: a finished thread has already
 * released it for the last time, so the join waits for a few instructions at most. */
static void reap(kv_server *s)
{
    for (kv_conn **link = &s->conns; *link != NULL;) {
        kv_conn *c = *link;
        if (!c->finished) {
            link = &c->next;
            continue;
        }
        *link = c->next;
        join_conn(c);
    }
}

/* One over the limit: told why, as redis does, and closed. The acceptor does not wait for a slow client here. */
static void reject(kv_server *s, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";
    kv_server_count(&s->rejected, 1);
    (void)!send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(fd, SHUT_WR);
    close(fd);
}

/* Starts a thread for the connection on @p fd; called with the lock held. */
static void admit(kv_server *s, int fd, const pthread_attr_t *attr)
{
    kv_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    kv_resp_parser_init(&c->parser, s->opt.max_bulk, s->opt.max_args);
    int one = 1; /* replies are whole when written: no reason to let Nagle hold them back */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A client that stops reading its replies would block this thread in send() for ever, and kv_server_stop()
     * with it: after SEND_TIMEOUT_S without progress the send fails and the connection is dropped. */
    struct timeval limit = {.tv_sec = SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (pthread_create(&c->thread, attr, conn_main, c) != 0) {
        kv_resp_parser_free(&c->parser);
        close(fd);
        free(c);
        return;
    }
    c->next = s->conns;
    s->conns = c;
    s->live++;
}

static void *accept_main(void *arg)
{
    kv_server *s = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, CONN_STACK);
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        pthread_mutex_lock(&s->lock);
        bool stopping = s->stopping;
        reap(s);
        if (fd >= 0 && !stopping) {
            kv_server_count(&s->connections, 1);
            if (s->live >= s->opt.max_clients)
                reject(s, fd);
            else
                admit(s, fd, &attr);
        } else if (fd >= 0) {
            close(fd);
        }
        pthread_mutex_unlock(&s->lock);
        if (stopping)
            break;
        if (fd < 0 && errno != EINTR && errno != ECONNABORTED)
            poll(NULL, 0, 10); /* out of descriptors (EMFILE) or memory: let connections end, then try again */
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* A listening socket on 127.0.0.1:@p port (0: the kernel picks), its port in *bound. */
static kv_status listen_on(uint16_t port, int *fd_out, uint16_t *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return KV_IO_ERROR;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        kv_status st = errno == EADDRINUSE ? KV_EXISTS : KV_IO_ERROR;
        close(fd);
        return st;
    }
    if (listen(fd, 511) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return KV_IO_ERROR;
    }
    *fd_out = fd;
    *bound = ntohs(a.sin_port);
    return KV_OK;
}

kv_status kv_server_start(kv_store *store, const kv_server_options *opt, kv_server **out)
{
    *out = NULL;
    kv_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return KV_NO_MEMORY;
    s->store = store;
    s->opt = opt ? *opt : (kv_server_options){0};
    if (s->opt.max_clients == 0)
        s->opt.max_clients = KV_SERVER_DEFAULT_MAX_CLIENTS;
    s->started_ms = kv_server_now_ms();
    kv_status st = listen_on(s->opt.port, &s->listen_fd, &s->port);
    if (st != KV_OK) {
        free(s);
        return st;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (pthread_create(&s->acceptor, NULL, accept_main, s) != 0) {
        pthread_mutex_destroy(&s->lock);
        close(s->listen_fd);
        free(s);
        return KV_IO_ERROR;
    }
    *out = s;
    return KV_OK;
}

uint16_t kv_server_port(const kv_server *s) { return s->port; }

kv_server_stats kv_server_stats_get(kv_server *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t live = s->live;
    pthread_mutex_unlock(&s->lock);
    return (kv_server_stats){
        .connections = read_count(&s->connections),
        .rejected = read_count(&s->rejected),
        .clients = live,
        .commands = read_count(&s->commands),
        .protocol_errors = read_count(&s->protocol_errors),
        .batches = read_count(&s->batches),
        .batched_sets = read_count(&s->batched_sets),
        .conflicts = read_count(&s->conflicts),
    };
}

void kv_server_stop(kv_server *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    /* Each connection's next recv() sees the end: the commands it already read run and are answered first. */
    for (kv_conn *c = s->conns; c != NULL; c = c->next)
        if (!c->finished)
            shutdown(c->fd, SHUT_RD);
    pthread_mutex_unlock(&s->lock);
    shutdown(s->listen_fd, SHUT_RDWR); /* wakes accept() (EINVAL on Linux) */
    pthread_join(s->acceptor, NULL);
    /* No thread adds to the list now; the connections still serving need the lock to finish, so join outside it. */
    pthread_mutex_lock(&s->lock);
    kv_conn *list = s->conns;
    s->conns = NULL;
    pthread_mutex_unlock(&s->lock);
    while (list != NULL) {
        kv_conn *next = list->next;
        join_conn(list);
        list = next;
    }
    pthread_mutex_destroy(&s->lock);
    close(s->listen_fd);
    free(s);
}
