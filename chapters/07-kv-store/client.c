/*
 * The client driver (client.h): a pool of non-blocking RESP2 connections, each with an output buffer and a FIFO of
 * requests in flight; replies matched to requests by order; one poll(2) per kv_client_poll().
 *
 * A plan that works (client.h states the contract; read its introduction first):
 * - kv_reply: a type, an integer, an owned NUL-terminated byte string, an owned array of owned replies.
 * - a reply parser that takes the bytes read so far and says "done (this many bytes)", "need more" or "not RESP":
 *   parse again from the start when more bytes arrive; trust no length before its bytes are there.
 * - a request: its encoded command (kept for a retry), flags, attempts, deadline, where its first byte sits in its
 *   connection's output stream (to tell "sent" from "never left"), the callback.
 * - a slot: state (closed, connecting, ready), socket, output buffer and how much of it was written, input buffer,
 *   the FIFO of requests in flight.
 * - kv_client_poll: dispatch retries, poll(2) the open slots (POLLOUT while connecting or while bytes wait), read
 *   and match replies, write, close the slots whose oldest request or connect is past its deadline, run callbacks.
 *
 * The driver is three files; client_impl.h holds the structs they share (a request, a slot, the client) and declares
 * what each provides. This one holds the public calls and prepared commands; client_conn.c the slots and their I/O;
 * client_reply.c the reply type and its parser.
 */
#define _GNU_SOURCE
#include "client.h"
#include "client_impl.h"

kv_status kv_client_open(const kv_client_options *opt, kv_client **out)
{
    /* TODO: check the options, fill in the defaults, parse the address; open no connection yet (lazily). */
    (void)opt;
    (void)out;
    return KV_TODO;
}

void kv_client_close(kv_client *c)
{
    /* TODO: end every open request with KV_CLOSED (its callback runs here), close the sockets, free everything. */
    (void)c;
}

kv_status kv_client_submit(kv_client *c, unsigned flags, size_t argc, const char *const argv[], const size_t argvlen[],
                           kv_client_done_fn *done, void *ctx)
{
    /* TODO: encode "*argc\r\n" and "$len\r\nword\r\n" per word, give the request to the next slot (round robin),
     * connecting it if it is closed. Never call done from here: a failure seen now ends the request at the next
     * kv_client_poll(). */
    (void)c;
    (void)flags;
    (void)argc;
    (void)argv;
    (void)argvlen;
    (void)done;
    (void)ctx;
    return KV_TODO;
}

kv_status kv_client_poll(kv_client *c, int timeout_ms)
{
    /* TODO: one turn of the driver (see the plan at the top of this file). */
    (void)c;
    (void)timeout_ms;
    return KV_TODO;
}

size_t kv_client_pending(const kv_client *c)
{
    (void)c;
    return 0; /* TODO: requests submitted whose callback has not run */
}

kv_status kv_client_exec(kv_client *c, unsigned flags, size_t argc, const char *const argv[], const size_t argvlen[],
                         kv_reply **reply)
{
    /* TODO: submit with a callback that stores the outcome, then poll until it has run. */
    (void)c;
    (void)flags;
    (void)argc;
    (void)argv;
    (void)argvlen;
    (void)reply;
    return KV_TODO;
}

void kv_client_stats_get(const kv_client *c, kv_client_stats *out)
{
    /* TODO: the counters, with open and in_flight counted over the slots now. */
    (void)c;
    *out = (kv_client_stats){0};
}

kv_status kv_prepared_new(const char *command, size_t nargs, unsigned flags, kv_prepared **out)
{
    /* TODO: check nargs against the arity of the commands client.h lists, encode "*N\r\n$len\r\nNAME\r\n" once. */
    (void)command;
    (void)nargs;
    (void)flags;
    (void)out;
    return KV_TODO;
}

void kv_prepared_free(kv_prepared *p)
{
    /* TODO */
    (void)p;
}

kv_status kv_client_submit_prepared(kv_client *c, const kv_prepared *p, const char *const args[], const size_t argslen[],
                                    kv_client_done_fn *done, void *ctx)
{
    /* TODO: the prepared header, then the arguments, submitted with the prepared flags. */
    (void)c;
    (void)p;
    (void)args;
    (void)argslen;
    (void)done;
    (void)ctx;
    return KV_TODO;
}

kv_status kv_client_execute(kv_client *c, const kv_prepared *p, const char *const args[], const size_t argslen[],
                            kv_reply **reply)
{
    /* TODO: like kv_client_exec(). */
    (void)c;
    (void)p;
    (void)args;
    (void)argslen;
    (void)reply;
    return KV_TODO;
}
