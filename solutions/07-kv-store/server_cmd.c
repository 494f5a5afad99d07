/*
 * Chapter 07, part 5: the server's commands (server.h), but for SCAN and the reports (server_scan.c) and the
 * transactions (server_txn.c). Each command appends its reply to an output buffer, and reads and writes either the
 * store directly or, inside EXEC, the transaction it is given. The command table and kv_server_run_command(), which
 * the connection threads of server.c call for every command they read, are at the end.
 */
#define _GNU_SOURCE
#include "resp.h"
#include "server_impl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- Replies that several commands share ---------------------------------------------------------------------- */

/* The error reply for a store failure: never an +OK, and the status named so that an operator can look it up. */
kv_status kv_server_reply_error(kv_buf *out, kv_status st)
{
    switch (st) {
    case KV_INVALID:
        return kv_resp_error(out, "ERR key or value too long (keys up to 4096 bytes, values up to 1 MiB)");
    case KV_NO_MEMORY:
        return kv_resp_error(out, "ERR out of memory (KV_NO_MEMORY); nothing was written");
    case KV_CLOSED:
        return kv_resp_error(out, "ERR the store refuses writes after an earlier failure (KV_CLOSED)");
    case KV_IO_ERROR:
        return kv_resp_error(out, "ERR the write failed (KV_IO_ERROR) and was not acknowledged");
    case KV_NO_SPACE:
        return kv_resp_error(out, "ERR the disk is full (KV_NO_SPACE); the write was not acknowledged");
    case KV_CORRUPT:
        return kv_resp_error(out, "ERR stored data failed its check (KV_CORRUPT)");
    case KV_TODO:
        return kv_resp_error(out, "ERR the store is not written yet (KV_TODO)");
    default:
        return kv_resp_error(out, "ERR the store failed");
    }
}

kv_status kv_server_reply_ok(kv_buf *out) { return kv_resp_simple(out, "OK"); }

/* Whether argument @p i of @p cmd is @p word, ignoring case (command names and options). */
bool kv_server_arg_is(const kv_resp_cmd *cmd, size_t i, const char *word)
{
    return i < cmd->argc && cmd->lens[i] == strlen(word) &&
           strncasecmp((const char *)cmd->argv[i], word, cmd->lens[i]) == 0;
}

/* redis's string2ll: an integer written exactly ("-12"; not "+12", " 12", "012" or "1e3"), that fits in 64 bits. */
bool kv_server_parse_int64(const uint8_t *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0') || (len > 1 && s[0] == '-' && s[1] == '0'))
        return false;
    bool negative = s[0] == '-';
    if (negative && len == 1)
        return false;
    uint64_t v = 0;
    for (size_t i = negative; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (negative ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return false;
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* ---- Reads and writes, directly or through a transaction ------------------------------------------------------ */

/* Reads @p key into c->val: through @p t when given, else through the watching transaction, else the store. */
static kv_status read_key(kv_conn *c, kv_txn *t, const uint8_t *key, size_t len)
{
    if (t == NULL)
        t = c->txn;
    if (t != NULL)
        return kv_txn_get(t, key, len, &c->val);
    return kv_store_get(c->srv->store, NULL, key, len, &c->val);
}

/*
 * Writes the SETs gathered from this read as one batch — one log record, one sync — and only then adds their
 * replies: the protocol-level group commit of server.h. Every command but a SET calls this before it runs.
 */
kv_status kv_server_flush_sets(kv_conn *c)
{
    if (c->batch_sets == 0)
        return KV_OK;
    kv_status st = kv_store_write(c->srv->store, &c->batch);
    kv_server_count(&c->srv->batches, 1);
    kv_server_count(&c->srv->batched_sets, c->batch_sets);
    kv_status out = KV_OK;
    for (size_t i = 0; i < c->batch_sets && out == KV_OK; i++)
        out = st == KV_OK ? kv_server_reply_ok(&c->out) : kv_server_reply_error(&c->out, st);
    kv_batch_free(&c->batch);
    c->batch_sets = 0;
    return out;
}

/*
 * A read-modify-write in its own transaction: @p body runs in it, and all of it runs again on KV_CONFLICT. The body
 * returns KV_OK with the integer to answer in *result, a store status to answer as an error, or ANSWERED when it
 * has written a reply of its own (INCR of a value that is not a number).
 */
#define ANSWERED KV_NOT_FOUND
typedef kv_status rmw_fn(kv_conn *c, kv_txn *t, const kv_resp_cmd *cmd, int64_t *result, kv_buf *out);

static kv_status run_rmw(kv_conn *c, kv_txn *t, const kv_resp_cmd *cmd, rmw_fn *body, kv_buf *out)
{
    int64_t result = 0;
    if (t != NULL) { /* inside EXEC: the caller's transaction commits */
        kv_status st = body(c, t, cmd, &result, out);
        return st == KV_OK ? kv_resp_integer(out, result) : st == ANSWERED ? KV_OK : kv_server_reply_error(out, st);
    }
    for (;;) {
        kv_txn *own;
        kv_status st = kv_txn_begin(c->srv->store, &own);
        if (st != KV_OK)
            return kv_server_reply_error(out, st);
        st = body(c, own, cmd, &result, out);
        if (st != KV_OK) {
            kv_txn_abort(own);
            return st == ANSWERED ? KV_OK : kv_server_reply_error(out, st);
        }
        st = kv_txn_commit(own);
        if (st == KV_CONFLICT) { /* someone wrote a key it read: nothing was applied, run it all again */
            kv_server_count(&c->srv->conflicts, 1);
            continue;
        }
        return st == KV_OK ? kv_resp_integer(out, result) : kv_server_reply_error(out, st);
    }
}

/* DEL's body: the keys that exist are deleted and counted, in one transaction, so the count is exact. */
static kv_status del_body(kv_conn *c, kv_txn *t, const kv_resp_cmd *cmd, int64_t *result, kv_buf *out)
{
    (void)out;
    *result = 0;
    for (size_t i = 1; i < cmd->argc; i++) {
        kv_status st = kv_txn_get(t, cmd->argv[i], cmd->lens[i], &c->val);
        if (st == KV_NOT_FOUND)
            continue;
        if (st == KV_OK)
            st = kv_txn_delete(t, cmd->argv[i], cmd->lens[i]);
        if (st != KV_OK)
            return st;
        (*result)++;
    }
    return KV_OK;
}

/* INCR's body: read, check it is an integer, add one, write back. */
static kv_status incr_body(kv_conn *c, kv_txn *t, const kv_resp_cmd *cmd, int64_t *result, kv_buf *out)
{
    int64_t v = 0;
    kv_status st = kv_txn_get(t, cmd->argv[1], cmd->lens[1], &c->val);
    if (st == KV_OK && !kv_server_parse_int64(c->val.data, c->val.len, &v)) {
        st = kv_resp_error(out, "ERR value is not an integer or out of range");
        return st == KV_OK ? ANSWERED : st;
    }
    if (st != KV_OK && st != KV_NOT_FOUND)
        return st;
    if (v == INT64_MAX) {
        st = kv_resp_error(out, "ERR increment or decrement would overflow");
        return st == KV_OK ? ANSWERED : st;
    }
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRId64, v + 1);
    *result = v + 1;
    return kv_txn_put(t, cmd->argv[1], cmd->lens[1], text, (size_t)n);
}

/* ---- The commands --------------------------------------------------------------------------------------------- */

static kv_status cmd_ping(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)c, (void)t;
    return cmd->argc == 2 ? kv_resp_bulk(out, cmd->argv[1], cmd->lens[1]) : kv_resp_simple(out, "PONG");
}

static kv_status cmd_echo(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)c, (void)t;
    return kv_resp_bulk(out, cmd->argv[1], cmd->lens[1]);
}

static kv_status cmd_get(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    kv_status st = read_key(c, t, cmd->argv[1], cmd->lens[1]);
    if (st == KV_OK)
        return kv_resp_bulk(out, c->val.data, c->val.len);
    return st == KV_NOT_FOUND ? kv_resp_nil(out) : kv_server_reply_error(out, st);
}

static kv_status cmd_set(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    if (cmd->argc > 3) {
        char msg[200];
        snprintf(msg, sizeof msg, "ERR syntax error: SET takes no options here (got '%.64s')", (const char *)cmd->argv[3]);
        return kv_resp_error(out, msg);
    }
    if (t != NULL) {
        kv_status st = kv_txn_put(t, cmd->argv[1], cmd->lens[1], cmd->argv[2], cmd->lens[2]);
        return st == KV_OK ? kv_server_reply_ok(out) : kv_server_reply_error(out, st);
    }
    /* Gathered: the reply is added by kv_server_flush_sets(), once the batch is durable. */
    kv_status st = kv_batch_put(&c->batch, cmd->argv[1], cmd->lens[1], cmd->argv[2], cmd->lens[2]);
    if (st == KV_OK) {
        c->batch_sets++;
        return KV_OK;
    }
    st = kv_server_flush_sets(c); /* the error is answered after the replies of the SETs before it */
    return st == KV_OK ? kv_server_reply_error(out, KV_INVALID) : st;
}

static kv_status cmd_del(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    return run_rmw(c, t, cmd, del_body, out);
}

static kv_status cmd_incr(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    return run_rmw(c, t, cmd, incr_body, out);
}

static kv_status cmd_exists(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    int64_t n = 0;
    for (size_t i = 1; i < cmd->argc; i++) {
        kv_status st = read_key(c, t, cmd->argv[i], cmd->lens[i]);
        if (st != KV_OK && st != KV_NOT_FOUND)
            return kv_server_reply_error(out, st);
        n += st == KV_OK;
    }
    return kv_resp_integer(out, n);
}

static kv_status cmd_quit(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    (void)cmd, (void)t;
    c->quit = true;
    return kv_server_reply_ok(out);
}

/* The command table: name, arity (the name included; max -1 for "any"), and whether MULTI queues it. */
typedef struct command {
    const char *name;
    int min_argc, max_argc;
    kv_command_fn *fn;
    bool queued;
} command;

static const command COMMANDS[] = {
    {"PING", 1, 2, cmd_ping, true},
    {"ECHO", 2, 2, cmd_echo, true},
    {"GET", 2, 2, cmd_get, true},
    {"SET", 3, -1, cmd_set, true},
    {"DEL", 2, -1, cmd_del, true},
    {"EXISTS", 2, -1, cmd_exists, true},
    {"INCR", 2, 2, cmd_incr, true},
    {"SCAN", 2, -1, kv_cmd_scan, true},
    {"DBSIZE", 1, 1, kv_cmd_dbsize, true},
    {"INFO", 1, -1, kv_cmd_info, true},
    {"CONFIG", 2, -1, kv_cmd_config, true},
    {"COMMAND", 1, -1, kv_cmd_command, true},
    {"UNWATCH", 1, 1, kv_cmd_unwatch, true},
    {"QUIT", 1, -1, cmd_quit, false},
    {"WATCH", 2, -1, kv_cmd_watch, false},
    {"MULTI", 1, 1, kv_cmd_multi, false},
    {"EXEC", 1, 1, kv_cmd_exec, false},
    {"DISCARD", 1, 1, kv_cmd_discard, false},
};

static const command *lookup(const kv_resp_cmd *cmd)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (kv_server_arg_is(cmd, 0, COMMANDS[i].name))
            return &COMMANDS[i];
    return NULL;
}

kv_status kv_server_run_queued(kv_conn *c, const kv_resp_cmd *cmd, kv_txn *t, kv_buf *out)
{
    return lookup(cmd)->fn(c, cmd, t, out);
}

/* redis's words for a command it does not know, with the first arguments quoted. */
static kv_status reply_unknown(kv_conn *c, const kv_resp_cmd *cmd)
{
    char msg[512];
    size_t n = (size_t)snprintf(msg, sizeof msg,
                                "ERR unknown command '%.128s', with args beginning with: ", (const char *)cmd->argv[0]);
    for (size_t i = 1; i < cmd->argc && n < sizeof msg; i++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "'%.64s' ", (const char *)cmd->argv[i]);
    return kv_resp_error(&c->out, msg);
}

/* Runs one command the parser handed out, its reply into c->out (a SET's, later, through kv_server_flush_sets()). */
kv_status kv_server_run_command(kv_conn *c, const kv_resp_cmd *cmd)
{
    kv_server_count(&c->srv->commands, 1);
    const command *k = lookup(cmd);
    bool gathered = k != NULL && k->fn == cmd_set && !c->in_multi;
    if (!gathered) {
        kv_status st = kv_server_flush_sets(c); /* the SETs before this command are durable and answered first */
        if (st != KV_OK)
            return st;
    }
    if (k == NULL) {
        c->multi_failed |= c->in_multi;
        return reply_unknown(c, cmd);
    }
    if ((int)cmd->argc < k->min_argc || (k->max_argc >= 0 && (int)cmd->argc > k->max_argc)) {
        c->multi_failed |= c->in_multi;
        char name[33], msg[128];
        size_t n = cmd->lens[0] < 32 ? cmd->lens[0] : 32;
        for (size_t i = 0; i < n; i++) /* redis names the command in lower case */
            name[i] = (char)tolower(cmd->argv[0][i]);
        name[n] = '\0';
        snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command", name);
        return kv_resp_error(&c->out, msg);
    }
    if (c->in_multi && k->queued)
        return kv_server_enqueue(c, cmd);
    return k->fn(c, cmd, NULL, &c->out);
}
