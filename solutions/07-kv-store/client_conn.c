/*
 * The client driver's connections (client.h): the pool's slots, each a non-blocking socket with an output buffer
 * and a FIFO of the requests in flight on it; writing, reading and matching replies to requests by order;
 * deadlines; and what becomes of the requests of a slot that fails. client.c holds the public calls.
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK 16384

void kv_fifo_push(kv_fifo *f, kv_request *r)
{
    r->next = NULL;
    if (f->tail != NULL)
        f->tail->next = r;
    else
        f->head = r;
    f->tail = r;
}

kv_request *kv_fifo_pop(kv_fifo *f)
{
    kv_request *r = f->head;
    if (r != NULL) {
        f->head = r->next;
        if (f->head == NULL)
            f->tail = NULL;
        r->next = NULL;
    }
    return r;
}

/* Appends n bytes to b, growing it geometrically. */
kv_status kv_client_append(kv_buf *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (grown == NULL)
            return KV_NO_MEMORY;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return KV_OK;
}

void kv_client_finish(kv_client *c, kv_request *r, kv_status st, kv_reply *reply)
{
    r->status = st;
    r->reply = reply;
    kv_fifo_push(&c->done, r);
}

/*
 * Ends an attempt that lost its connection (cause KV_IO_ERROR) or its deadline (KV_TIMEOUT). `sent`: some of its
 * bytes were written, so the server may have applied it. Idempotent requests are tried again while the bound allows;
 * a request that is not is never sent twice.
 */
static void attempt_failed(kv_client *c, kv_request *r, kv_status cause, bool sent)
{
    if ((r->flags & KV_CLIENT_IDEMPOTENT) && r->attempts <= c->opt.max_retries) {
        c->stats.retries++;
        kv_fifo_push(&c->retry, r);
    } else if (!(r->flags & KV_CLIENT_IDEMPOTENT) && sent) {
        kv_client_finish(c, r, KV_OUTCOME_UNKNOWN, NULL);
    } else {
        kv_client_finish(c, r, cause, NULL);
    }
}

/*
 * Closes slot s whole: the socket, both buffers, and every request in its FIFO, which can no longer be matched to a
 * reply. `timed_out` is the request whose deadline passed (or NULL): it ends KV_TIMEOUT-like, the others as hit by a
 * broken connection.
 */
static void conn_fail(kv_client *c, kv_slot *s, const kv_request *timed_out)
{
    if (s->state == KV_SLOT_READY)
        c->stats.closed_on_error++;
    else if (s->state == KV_SLOT_CONNECTING)
        c->stats.connect_failures++;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->state = KV_SLOT_CLOSED;
    kv_request *r;
    while ((r = kv_fifo_pop(&s->inflight)) != NULL) {
        bool sent = s->written > r->start;
        attempt_failed(c, r, r == timed_out ? KV_TIMEOUT : KV_IO_ERROR, sent);
    }
    s->n_inflight = 0;
    s->out.len = s->out_off = 0;
    s->in.len = s->in_off = 0;
    s->queued = s->written = 0;
}

/* Starts a non-blocking connect on a closed slot. A refusal seen at once fails the slot like any other. */
static void conn_start(kv_client *c, kv_slot *s)
{
    c->stats.connects++;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    s->state = KV_SLOT_CONNECTING;
    s->connect_deadline = kv_client_now_ms() + c->opt.connect_timeout_ms;
    if (s->fd < 0) {
        conn_fail(c, s, NULL);
        return;
    }
    int one = 1;
    /* Requests are small and the next one waits for nothing: no Nagle delay. Failure only costs latency. */
    (void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s->fd, (const struct sockaddr *)&c->addr, sizeof c->addr) == 0)
        s->state = KV_SLOT_READY;
    else if (errno != EINPROGRESS)
        conn_fail(c, s, NULL);
}

/* Gives an attempt of r to the next slot: its bytes go to the slot's output buffer, r to the tail of its FIFO. */
void kv_client_dispatch(kv_client *c, kv_request *r)
{
    kv_slot *s = &c->slots[c->next_slot];
    c->next_slot = (c->next_slot + 1) % c->opt.pool_size;
    r->attempts++;
    r->deadline = kv_client_now_ms() + c->opt.request_timeout_ms;
    if (kv_client_append(&s->out, r->cmd, r->cmd_len) != KV_OK) {
        kv_client_finish(c, r, KV_NO_MEMORY, NULL);
        return;
    }
    r->start = s->queued;
    s->queued += r->cmd_len;
    kv_fifo_push(&s->inflight, r);
    s->n_inflight++;
    if (s->state == KV_SLOT_CLOSED)
        conn_start(c, s);
}

/* Writes what the slot's socket takes now; the rest stays for the next POLLOUT. False when the slot failed. */
static bool conn_write(kv_client *c, kv_slot *s)
{
    while (s->out_off < s->out.len) {
        ssize_t n = send(s->fd, s->out.data + s->out_off, s->out.len - s->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            conn_fail(c, s, NULL);
            return false;
        }
        s->out_off += (size_t)n;
        s->written += (uint64_t)n;
    }
    s->out.len = s->out_off = 0;
    return true;
}

/* Parses every whole reply in the input buffer and ends the request at the head of the FIFO with each. */
static bool conn_deliver(kv_client *c, kv_slot *s)
{
    while (s->in_off < s->in.len) {
        size_t used = 0;
        kv_reply *reply = NULL;
        int st = kv_reply_parse(s->in.data + s->in_off, s->in.len - s->in_off, 0, &used, &reply);
        if (st == KV_PARSE_MORE)
            break;
        if (st == KV_PARSE_ERROR || s->inflight.head == NULL) { /* garbage, or a reply nobody asked for */
            kv_reply_free(reply);
            conn_fail(c, s, NULL);
            return false;
        }
        s->in_off += used;
        s->n_inflight--;
        kv_client_finish(c, kv_fifo_pop(&s->inflight), KV_OK, reply);
    }
    if (s->in_off == s->in.len)
        s->in.len = s->in_off = 0;
    else if (s->in_off > s->in.len / 2) { /* keep the unparsed tail at the front */
        memmove(s->in.data, s->in.data + s->in_off, s->in.len - s->in_off);
        s->in.len -= s->in_off;
        s->in_off = 0;
    }
    return true;
}

/* Reads until the socket is empty, delivering replies as they complete. False when the slot failed. */
static bool conn_read(kv_client *c, kv_slot *s)
{
    for (;;) {
        if (s->in.cap - s->in.len < READ_CHUNK) {
            uint8_t *grown = realloc(s->in.data, s->in.cap + READ_CHUNK * 4);
            if (grown == NULL) {
                conn_fail(c, s, NULL);
                return false;
            }
            s->in.data = grown;
            s->in.cap += READ_CHUNK * 4;
        }
        ssize_t n = recv(s->fd, s->in.data + s->in.len, s->in.cap - s->in.len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0) { /* the server closed, or the connection broke: deliver what came, fail the rest */
            if (conn_deliver(c, s))
                conn_fail(c, s, NULL);
            return false;
        }
        s->in.len += (size_t)n;
        if (!conn_deliver(c, s))
            return false;
    }
}

void kv_slot_events(kv_client *c, kv_slot *s, short revents)
{
    if (s->state == KV_SLOT_CONNECTING && revents) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            conn_fail(c, s, NULL);
            return;
        }
        s->state = KV_SLOT_READY;
    }
    if (s->state == KV_SLOT_READY && (revents & (POLLIN | POLLHUP | POLLERR)) && !conn_read(c, s))
        return;
    if (s->state == KV_SLOT_READY)
        (void)conn_write(c, s);
}

/* A slot whose connect or oldest request is past its deadline is closed (a timed-out request poisons the FIFO). */
void kv_client_check_deadlines(kv_client *c, uint64_t now)
{
    for (size_t i = 0; i < c->opt.pool_size; i++) {
        kv_slot *s = &c->slots[i];
        kv_request *oldest = s->inflight.head;
        if (oldest != NULL && now >= oldest->deadline) {
            c->stats.timeouts++;
            conn_fail(c, s, oldest);
        } else if (s->state == KV_SLOT_CONNECTING && now >= s->connect_deadline) {
            conn_fail(c, s, NULL);
        }
    }
}
