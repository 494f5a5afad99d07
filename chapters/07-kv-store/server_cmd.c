/*
 * Chapter 07, part 5: the server's commands (server.h), but for SCAN and the reports (server_scan.c) and the
 * transactions (server_txn.c). The contract of each function is in server_impl.h.
 *
 * Suggested layout:
 *  - the commands: one ::kv_command_fn each, appending its reply with the writers of resp.h, reading and writing the
 *    store, or the transaction it is given inside EXEC. While WATCH has a transaction open, GET and EXISTS read
 *    through it. DEL and INCR run in their own kv_txn, again on KV_CONFLICT.
 *  - SET outside MULTI is gathered: kv_batch_put() into the connection's batch, no reply yet. Consecutive SETs of
 *    one read are written with one kv_store_write() by kv_server_flush_sets(), which adds their +OKs only then;
 *    every other command calls it before it runs, so that it sees them and a failed write is never answered +OK.
 *  - a table of the commands: name, arity, and whether MULTI queues it; kv_server_run_command() looks the command
 *    up, answers an unknown one or a wrong arity as redis does, queues it inside MULTI (kv_server_enqueue()), or
 *    runs it.
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

#include <stdbool.h>

kv_status kv_server_reply_error(kv_buf *out, kv_status st)
{
    /* TODO (part 5): "-ERR ..." naming the status, so that an operator can look it up. */
    (void)out;
    (void)st;
    return KV_TODO;
}

kv_status kv_server_reply_ok(kv_buf *out)
{
    /* TODO (part 5) */
    (void)out;
    return KV_TODO;
}

bool kv_server_arg_is(const kv_resp_cmd *cmd, size_t i, const char *word)
{
    /* TODO (part 5): compare ignoring case; an index past the end is false. */
    (void)cmd;
    (void)i;
    (void)word;
    return false;
}

bool kv_server_parse_int64(const uint8_t *s, size_t len, int64_t *out)
{
    /* TODO (part 5): redis's string2ll: no sign but '-', no leading zero, no space; must fit in 64 bits. */
    (void)s;
    (void)len;
    (void)out;
    return false;
}

kv_status kv_server_flush_sets(kv_conn *c)
{
    /* TODO (part 5): one kv_store_write() for the gathered SETs, then one reply for each. */
    (void)c;
    return KV_TODO;
}

kv_status kv_server_run_queued(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): look the command up and run it in @p t. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_server_run_command(kv_conn *c, const kv_resp_cmd *cmd)
{
    /* TODO (part 5): see the layout above. */
    (void)c;
    (void)cmd;
    return KV_TODO;
}
