/*
 * Chapter 07, part 5: the server's transactions (server.h): WATCH opens the connection's transaction, MULTI queues
 * commands, EXEC runs the queue in the transaction and commits, DISCARD and UNWATCH drop it. Each command is a
 * ::kv_command_fn (server_impl.h).
 *
 * Keep the queue as the RESP arrays the commands came as, and parse it again in EXEC. EXEC without WATCH begins its
 * own transaction and runs the queue again on KV_CONFLICT; with WATCH, a conflict is the nil array "*-1".
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

kv_status kv_cmd_watch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): kv_txn_begin() if the connection has no transaction, then kv_txn_watch() each key. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_unwatch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): abort the connection's transaction (a queued UNWATCH, run inside EXEC, has nothing to do). */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_multi(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): MULTI does not nest. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_discard(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5) */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_cmd_exec(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    /* TODO (part 5): -EXECABORT after a command that could not be queued; else run the queue in the transaction
     * (kv_server_run_queued()), commit, and answer the array of the replies. */
    (void)c;
    (void)cmd;
    (void)t;
    (void)out;
    return KV_TODO;
}

kv_status kv_server_enqueue(kv_conn *c, const kv_resp_cmd *cmd)
{
    /* TODO (part 5): append the command to c->queue as a RESP array, count it, answer +QUEUED. */
    (void)c;
    (void)cmd;
    return KV_TODO;
}
