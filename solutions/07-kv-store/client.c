/*
 * The client driver (client.h): a pool of non-blocking RESP2 connections, each with an output buffer and a FIFO of
 * requests in flight; replies matched to requests by order; one poll(2) per kv_client_poll().
 *
 * This file holds the public calls and prepared commands; the slots and their I/O are in client_conn.c, the reply
 * type and its parser in client_reply.c, and client_impl.h says what they share.
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

#include <arpa/inet.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- the public calls --------------------------------------------------------------------------------------- */

kv_status kv_client_open(const kv_client_options *opt, kv_client **out)
{
    if (opt == NULL || out == NULL || opt->port == 0)
        return KV_INVALID;
    kv_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return KV_NO_MEMORY;
    c->opt = *opt;
    c->opt.host = NULL; /* not kept: the address below is */
    c->opt.pool_size = opt->pool_size ? opt->pool_size : 2;
    c->opt.connect_timeout_ms = opt->connect_timeout_ms ? opt->connect_timeout_ms : 1000;
    c->opt.request_timeout_ms = opt->request_timeout_ms ? opt->request_timeout_ms : 2000;
    c->addr.sin_family = AF_INET;
    c->addr.sin_port = htons(opt->port);
    if (inet_pton(AF_INET, opt->host ? opt->host : "127.0.0.1", &c->addr.sin_addr) != 1) {
        free(c);
        return KV_INVALID;
    }
    c->slots = calloc(c->opt.pool_size, sizeof *c->slots);
    c->fds = calloc(c->opt.pool_size, sizeof *c->fds);
    if (c->slots == NULL || c->fds == NULL) {
        free(c->slots);
        free(c->fds);
        free(c);
        return KV_NO_MEMORY;
    }
    for (size_t i = 0; i < c->opt.pool_size; i++)
        c->slots[i].fd = -1;
    c->stats.pool_size = c->opt.pool_size;
    *out = c;
    return KV_OK;
}

static void run_callbacks(kv_client *c)
{
    kv_request *r;
    while ((r = kv_fifo_pop(&c->done)) != NULL) {
        c->pending--;
        r->done(r->status, r->reply, r->ctx);
        free(r->cmd);
        free(r);
    }
}

void kv_client_close(kv_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->opt.pool_size; i++) {
        kv_slot *s = &c->slots[i];
        kv_request *r;
        while ((r = kv_fifo_pop(&s->inflight)) != NULL)
            kv_client_finish(c, r, KV_CLOSED, NULL);
        if (s->fd >= 0)
            close(s->fd);
        kv_buf_free(&s->out);
        kv_buf_free(&s->in);
    }
    kv_request *r;
    while ((r = kv_fifo_pop(&c->retry)) != NULL)
        kv_client_finish(c, r, KV_CLOSED, NULL);
    run_callbacks(c);
    free(c->slots);
    free(c->fds);
    free(c);
}

/* Encodes "*N\r\n" then "$len\r\nword\r\n" per word into b. */
static kv_status encode_words(kv_buf *b, size_t argc, const char *const argv[], const size_t argvlen[])
{
    char head[32];
    for (size_t i = 0; i < argc; i++) {
        size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
        int h = snprintf(head, sizeof head, "$%zu\r\n", len);
        if (kv_client_append(b, head, (size_t)h) != KV_OK || kv_client_append(b, argv[i], len) != KV_OK ||
            kv_client_append(b, "\r\n", 2) != KV_OK)
            return KV_NO_MEMORY;
    }
    return KV_OK;
}

/* Queues an encoded command (cmd, owned on success) as a new request. */
static kv_status submit_encoded(kv_client *c, kv_buf *cmd, unsigned flags, kv_client_done_fn *done, void *ctx)
{
    kv_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return KV_NO_MEMORY;
    r->cmd = cmd->data;
    r->cmd_len = cmd->len;
    r->flags = flags;
    r->done = done;
    r->ctx = ctx;
    c->pending++;
    kv_client_dispatch(c, r);
    return KV_OK;
}

kv_status kv_client_submit(kv_client *c, unsigned flags, size_t argc, const char *const argv[], const size_t argvlen[],
                           kv_client_done_fn *done, void *ctx)
{
    if (c == NULL || argc == 0 || argv == NULL || done == NULL)
        return KV_INVALID;
    kv_buf cmd = {0};
    char head[32];
    int h = snprintf(head, sizeof head, "*%zu\r\n", argc);
    kv_status st = kv_client_append(&cmd, head, (size_t)h);
    if (st == KV_OK)
        st = encode_words(&cmd, argc, argv, argvlen);
    if (st == KV_OK)
        st = submit_encoded(c, &cmd, flags, done, ctx);
    if (st != KV_OK)
        kv_buf_free(&cmd);
    return st;
}

kv_status kv_client_poll(kv_client *c, int timeout_ms)
{
    if (c == NULL)
        return KV_INVALID;
    kv_fifo again = c->retry; /* dispatched once per turn: a slot that fails at once waits for the next turn */
    c->retry = (kv_fifo){0};
    kv_request *r;
    while ((r = kv_fifo_pop(&again)) != NULL)
        kv_client_dispatch(c, r);

    struct pollfd *fds = c->fds;
    uint64_t now = kv_client_now_ms(), wake = timeout_ms < 0 ? UINT64_MAX : now + (uint64_t)timeout_ms;
    for (size_t i = 0; i < c->opt.pool_size; i++) {
        kv_slot *s = &c->slots[i];
        fds[i] = (struct pollfd){.fd = s->fd, .events = 0};
        if (s->state == KV_SLOT_CONNECTING)
            fds[i].events = POLLOUT;
        else if (s->state == KV_SLOT_READY)
            fds[i].events = POLLIN | (s->out_off < s->out.len ? POLLOUT : 0);
        if (s->inflight.head != NULL && s->inflight.head->deadline < wake)
            wake = s->inflight.head->deadline;
        if (s->state == KV_SLOT_CONNECTING && s->connect_deadline < wake)
            wake = s->connect_deadline;
    }
    int wait = c->done.head != NULL || c->retry.head != NULL ? 0
               : wake == UINT64_MAX                          ? -1
               : wake <= now                                 ? 0
               : wake - now > INT_MAX                        ? INT_MAX
                                                             : (int)(wake - now);
    int n = poll(fds, (nfds_t)c->opt.pool_size, wait);
    for (size_t i = 0; n > 0 && i < c->opt.pool_size; i++)
        if (fds[i].fd >= 0 && fds[i].fd == c->slots[i].fd && fds[i].revents)
            kv_slot_events(c, &c->slots[i], fds[i].revents);
    kv_client_check_deadlines(c, kv_client_now_ms());
    run_callbacks(c);
    return KV_OK;
}

size_t kv_client_pending(const kv_client *c) { return c->pending; }

typedef struct exec_result {
    bool ended;
    kv_status status;
    kv_reply *reply;
} exec_result;

static void exec_done(kv_status status, kv_reply *reply, void *ctx)
{
    exec_result *res = ctx;
    res->ended = true;
    res->status = status;
    res->reply = reply;
}

/* Polls until the request behind res ends; every attempt has a deadline, so this ends too. */
static kv_status exec_wait(kv_client *c, exec_result *res, kv_reply **reply)
{
    while (!res->ended)
        if (kv_client_poll(c, -1) != KV_OK)
            return KV_INVALID;
    if (res->status == KV_OK)
        *reply = res->reply;
    return res->status;
}

kv_status kv_client_exec(kv_client *c, unsigned flags, size_t argc, const char *const argv[], const size_t argvlen[],
                         kv_reply **reply)
{
    exec_result res = {0};
    kv_status st = kv_client_submit(c, flags, argc, argv, argvlen, exec_done, &res);
    return st != KV_OK ? st : exec_wait(c, &res, reply);
}

void kv_client_stats_get(const kv_client *c, kv_client_stats *out)
{
    *out = c->stats;
    out->open = out->in_flight = 0;
    for (size_t i = 0; i < c->opt.pool_size; i++) {
        out->open += c->slots[i].state != KV_SLOT_CLOSED;
        out->in_flight += c->slots[i].n_inflight;
    }
}

/* ---- prepared commands -------------------------------------------------------------------------------------- */

struct kv_prepared {
    kv_buf head;  /* "*N\r\n$len\r\nNAME\r\n", encoded once */
    size_t nargs; /* arguments every execution brings */
    unsigned flags;
};

/* What the driver knows of a command's arity: min and max arguments after its name (SIZE_MAX: no bound). */
static const struct {
    const char *name;
    size_t min, max;
} known_arity[] = {
    {"GET", 1, 1},  {"SET", 2, 2},  {"DEL", 1, SIZE_MAX}, {"EXISTS", 1, SIZE_MAX},
    {"INCR", 1, 1}, {"ECHO", 1, 1}, {"PING", 0, 1},       {"SCAN", 1, SIZE_MAX},
};

kv_status kv_prepared_new(const char *command, size_t nargs, unsigned flags, kv_prepared **out)
{
    if (command == NULL || command[0] == '\0' || out == NULL)
        return KV_INVALID;
    for (size_t i = 0; i < sizeof known_arity / sizeof known_arity[0]; i++)
        if (strcasecmp(command, known_arity[i].name) == 0 && (nargs < known_arity[i].min || nargs > known_arity[i].max))
            return KV_INVALID;
    kv_prepared *p = calloc(1, sizeof *p);
    if (p == NULL)
        return KV_NO_MEMORY;
    char head[32];
    int h = snprintf(head, sizeof head, "*%zu\r\n", nargs + 1);
    if (kv_client_append(&p->head, head, (size_t)h) != KV_OK || encode_words(&p->head, 1, &command, NULL) != KV_OK) {
        kv_prepared_free(p);
        return KV_NO_MEMORY;
    }
    p->nargs = nargs;
    p->flags = flags;
    *out = p;
    return KV_OK;
}

void kv_prepared_free(kv_prepared *p)
{
    if (p == NULL)
        return;
    kv_buf_free(&p->head);
    free(p);
}

kv_status kv_client_submit_prepared(kv_client *c, const kv_prepared *p, const char *const args[], const size_t argslen[],
                                    kv_client_done_fn *done, void *ctx)
{
    if (c == NULL || p == NULL || done == NULL || (p->nargs > 0 && args == NULL))
        return KV_INVALID;
    kv_buf cmd = {0};
    kv_status st = kv_buf_set(&cmd, p->head.data, p->head.len);
    if (st == KV_OK)
        st = encode_words(&cmd, p->nargs, args, argslen);
    if (st == KV_OK)
        st = submit_encoded(c, &cmd, p->flags, done, ctx);
    if (st != KV_OK)
        kv_buf_free(&cmd);
    return st;
}

kv_status kv_client_execute(kv_client *c, const kv_prepared *p, const char *const args[], const size_t argslen[],
                            kv_reply **reply)
{
    exec_result res = {0};
    kv_status st = kv_client_submit_prepared(c, p, args, argslen, exec_done, &res);
    return st != KV_OK ? st : exec_wait(c, &res, reply);
}
