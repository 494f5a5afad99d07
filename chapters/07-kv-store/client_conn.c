/*
 * The client driver's connections (client.h): the pool's slots, each a non-blocking socket with an output buffer
 * and a FIFO of the requests in flight on it; writing, reading and matching replies to requests by order;
 * deadlines; and what becomes of the requests of a slot that fails. The contracts are in client_impl.h.
 *
 * - a request's `start` is where its first byte sits in its slot's output stream: compared with the bytes written,
 *   it tells "sent" (the server may have applied it) from "never left".
 * - a slot that fails (connect refused, write or read error, garbage, a reply nobody asked for, a deadline) is
 *   closed whole: every request in its FIFO ends or is retried (idempotent ones only, within max_retries; one that
 *   is not and was sent ends KV_OUTCOME_UNKNOWN).
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

void kv_fifo_push(kv_fifo *f, kv_request *r)
{
    /* TODO: at the tail. */
    (void)f;
    (void)r;
}

kv_request *kv_fifo_pop(kv_fifo *f)
{
    /* TODO: from the head. */
    (void)f;
    return NULL;
}

kv_status kv_client_append(kv_buf *b, const void *src, size_t n)
{
    /* TODO: grow geometrically. */
    (void)b;
    (void)src;
    (void)n;
    return KV_TODO;
}

void kv_client_finish(kv_client *c, kv_request *r, kv_status st, kv_reply *reply)
{
    /* TODO: record how it ended, put it on the done list. */
    (void)c;
    (void)r;
    (void)st;
    (void)reply;
}

void kv_client_dispatch(kv_client *c, kv_request *r)
{
    /* TODO: the next slot's output buffer and FIFO; connect a closed slot (non-blocking connect()). */
    (void)c;
    (void)r;
}

void kv_slot_events(kv_client *c, kv_slot *s, short revents)
{
    /* TODO: a connect that ended (SO_ERROR), then read and deliver replies, then write what the socket takes. */
    (void)c;
    (void)s;
    (void)revents;
}

void kv_client_check_deadlines(kv_client *c, uint64_t now)
{
    /* TODO: close each slot whose oldest request or connect is past its deadline. */
    (void)c;
    (void)now;
}
