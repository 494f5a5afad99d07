/*
 * Chapter 07, part 5: the server's transactions (server.h): WATCH opens the connection's transaction, MULTI queues
 * commands, EXEC runs the queue in the transaction and commits, DISCARD and UNWATCH drop it.
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

#include <stdbool.h>

/* WATCH key...: opens the connection's transaction (its snapshot) if none is open, and adds each key to it. */
kv_status kv_cmd_watch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)t;
    if (c->in_multi)
        return kv_resp_error(out, "ERR WATCH inside MULTI is not allowed");
    kv_status st = KV_OK;
    if (c->txn == NULL)
        st = kv_txn_begin(c->srv->store, &c->txn);
    for (size_t i = 1; i < cmd->argc && st == KV_OK; i++)
        st = kv_txn_watch(c->txn, cmd->argv[i], cmd->lens[i]);
    return st == KV_OK ? kv_server_reply_ok(out) : kv_server_reply_error(out, st);
}

static void unwatch(kv_conn *c)
{
    kv_txn_abort(c->txn);
    c->txn = NULL;
}

kv_status kv_cmd_unwatch(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd;
    if (t == NULL) /* a queued UNWATCH, run inside EXEC, has nothing left to do */
        unwatch(c);
    return kv_server_reply_ok(out);
}

kv_status kv_cmd_multi(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    if (c->in_multi)
        return kv_resp_error(out, "ERR MULTI calls can not be nested");
    c->in_multi = true;
    c->multi_failed = false;
    c->queue.len = 0;
    c->queued = 0;
    return kv_server_reply_ok(out);
}

kv_status kv_cmd_discard(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    if (!c->in_multi)
        return kv_resp_error(out, "ERR DISCARD without MULTI");
    c->in_multi = false;
    unwatch(c);
    return kv_server_reply_ok(out);
}

/* Runs the queued commands in @p x, their replies into @p replies. The queue holds them as RESP arrays: the
 * parser reads them back, with the default limits (they passed the connection's own already). */
static kv_status run_queue(kv_conn *c, kv_txn *x, kv_buf *replies)
{
    kv_resp_parser p;
    kv_resp_parser_init(&p, 0, 0);
    size_t pos = 0;
    kv_status st = KV_OK;
    while (pos < c->queue.len && st == KV_OK) {
        kv_resp_cmd cmd;
        size_t used;
        st = kv_resp_parse(&p, c->queue.data + pos, c->queue.len - pos, &used, &cmd);
        pos += used;
        if (st == KV_OK && cmd.argc > 0)
            st = kv_server_run_queued(c, &cmd, x, replies);
    }
    kv_resp_parser_free(&p);
    return st;
}

/*
 * EXEC: the queue runs in the transaction WATCH opened (or a new one), and commits. A conflict with WATCH is the
 * nil array, as in redis; without WATCH the whole queue runs again, since redis's EXEC never fails then.
 */
kv_status kv_cmd_exec(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    if (!c->in_multi)
        return kv_resp_error(out, "ERR EXEC without MULTI");
    c->in_multi = false;
    if (c->multi_failed) {
        unwatch(c);
        return kv_resp_error(out, "EXECABORT Transaction discarded because of previous errors.");
    }
    bool watched = c->txn != NULL;
    kv_buf replies = {0};
    kv_status st;
    for (;;) {
        kv_txn *x = c->txn;
        c->txn = NULL;
        if (x == NULL && (st = kv_txn_begin(c->srv->store, &x)) != KV_OK) {
            st = kv_server_reply_error(out, st);
            break;
        }
        replies.len = 0;
        st = run_queue(c, x, &replies);
        if (st != KV_OK) {
            kv_txn_abort(x);
            break;
        }
        st = kv_txn_commit(x);
        if (st == KV_CONFLICT) {
            kv_server_count(&c->srv->conflicts, 1);
            if (!watched)
                continue;
            st = kv_resp_array(out, -1);
        } else if (st == KV_OK) {
            st = kv_resp_array(out, (int64_t)c->queued);
            if (st == KV_OK)
                st = kv_resp_append(out, replies.data, replies.len);
        } else {
            st = kv_server_reply_error(out, st);
        }
        break;
    }
    kv_buf_free(&replies);
    return st;
}

/* Appends @p cmd to the MULTI queue, encoded as the RESP array it came as. */
kv_status kv_server_enqueue(kv_conn *c, const kv_resp_cmd *cmd)
{
    kv_status st = kv_resp_array(&c->queue, (int64_t)cmd->argc);
    for (size_t i = 0; i < cmd->argc && st == KV_OK; i++)
        st = kv_resp_bulk(&c->queue, cmd->argv[i], cmd->lens[i]);
    if (st == KV_OK)
        c->queued++;
    return st == KV_OK ? kv_resp_simple(&c->out, "QUEUED") : st;
}
