/*
 * Chapter 06, part 2, the model answer: one PostgreSQL connection driven by libpq's non-blocking API on a ws_loop.
 * Every wait is a watch on the connection's socket; nothing here calls a libpq function that blocks.
 */
#define _GNU_SOURCE
#include "db.h"

#include <assert.h>
#include <endian.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statements prepared on every new connection. Each returns the row it read, wrote or removed, or none. */
static const struct {
    const char *name, *sql;
    int params;
} statements[] = {
    [0] = {"ws_get", "SELECT id, body, version FROM items WHERE id = $1", 1},
    [1] = {"ws_put",
           "INSERT INTO items (id, body, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO UPDATE "
           "SET body = EXCLUDED.body, version = items.version + 1 RETURNING id, body, version",
           2},
    [2] = {"ws_delete", "DELETE FROM items WHERE id = $1 RETURNING id, body, version", 1},
};
#define STATEMENTS (sizeof statements / sizeof statements[0])

typedef enum phase { IDLE, CONNECTING, PREPARING, RUNNING } phase;

struct ws_db_conn {
    PGconn *pg;                   /* owned; PQfinish in ws_db_close */
    ws_loop *loop;                /* the loop it is attached to; borrowed */
    ws_watch watch;               /* the socket, watched only while phase != IDLE */
    phase phase;                  /* what is in flight */
    size_t prepared;              /* PREPARING: statements prepared so far */
    bool flushing;                /* PQflush said 1: output is still queued, so writable is watched too */
    bool broken;                  /* an operation ended WS_DB_BROKEN: never reuse */
    bool got_result;              /* the command in flight produced at least one result */
    ws_db_kind kind;              /* RUNNING: what runs */
    ws_db_status outcome;         /* the command's status so far */
    ws_item item;                 /* RUNNING: the decoded row, owned until handed to the callback */
    ws_db_connect_fn *on_connect; /* CONNECTING, PREPARING */
    ws_db_result_fn *on_result;   /* RUNNING */
    void *ctx;                    /* the callback's argument */
    char error[256];              /* the last error, NUL-terminated */
};

void ws_item_clear(ws_item *item)
{
    free(item->body);
    *item = (ws_item){0};
}

static void set_error(ws_db_conn *c, const char *msg)
{
    snprintf(c->error, sizeof c->error, "%s", msg != NULL ? msg : "");
    size_t n = strlen(c->error);
    if (n > 0 && c->error[n - 1] == '\n')
        c->error[n - 1] = '\0';
}

/* Watches the socket for @p interest, following libpq if it changed sockets (PQconnectPoll may). */
static bool watch_for(ws_db_conn *c, uint32_t interest);

/* Ends what is in flight: stop watching, go idle, then hand the outcome to the callback. The callback may run the
 * next operation or free the connection, so nothing touches @p c after it. */
static void finish(ws_db_conn *c, ws_db_status status)
{
    ws_loop_unwatch(c->loop, &c->watch);
    if (status == WS_DB_BROKEN)
        c->broken = true;
    phase was = c->phase;
    c->phase = IDLE;
    c->flushing = false;
    if (was == RUNNING) {
        ws_item item = c->item;
        c->item = (ws_item){0};
        if (status != WS_DB_OK)
            ws_item_clear(&item);
        c->on_result(c, status, &item, c->ctx);
    } else {
        c->on_connect(c, status, c->ctx);
    }
}

static void fail_broken(ws_db_conn *c)
{
    set_error(c, PQerrorMessage(c->pg));
    finish(c, WS_DB_BROKEN);
}

static void on_socket(ws_watch *w, uint32_t ready);

static bool watch_for(ws_db_conn *c, uint32_t interest)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return false;
    if (c->watch.fd == fd)
        return ws_loop_modify(c->loop, &c->watch, interest) == 0;
    ws_loop_unwatch(c->loop, &c->watch);
    return ws_loop_watch(c->loop, &c->watch, fd, interest, on_socket) == 0;
}

/* Sends the next PREPARE; its result arrives on readable. */
static void prepare_next(ws_db_conn *c)
{
    c->got_result = false;
    c->outcome = WS_DB_OK;
    if (!PQsendPrepare(c->pg, statements[c->prepared].name, statements[c->prepared].sql, statements[c->prepared].params,
                       NULL)) {
        fail_broken(c);
        return;
    }
    int r = PQflush(c->pg);
    if (r < 0) {
        fail_broken(c);
        return;
    }
    c->flushing = r == 1;
    if (!watch_for(c, WS_READABLE | (c->flushing ? WS_WRITABLE : 0u)))
        fail_broken(c);
}

static void connect_step(ws_db_conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (!watch_for(c, WS_READABLE))
            fail_broken(c);
        return;
    case PGRES_POLLING_WRITING:
        if (!watch_for(c, WS_WRITABLE))
            fail_broken(c);
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg, 1) != 0) {
            fail_broken(c);
            return;
        }
        c->phase = PREPARING;
        c->prepared = 0;
        prepare_next(c);
        return;
    default:
        fail_broken(c);
        return;
    }
}

/* SAFETY of the reads: PQgetlength said how many bytes the binary value has; an int8 is exactly 8. */
static bool read_i64(const PGresult *res, int col, int64_t *out)
{
    if (PQgetisnull(res, 0, col) || PQgetlength(res, 0, col) != 8)
        return false;
    uint64_t be;
    memcpy(&be, PQgetvalue(res, 0, col), 8);
    *out = (int64_t)be64toh(be);
    return true;
}

/* The FromRow of the chapter: (id int8, body bytea, version int8), binary format, into c->item. */
static ws_db_status decode_row(ws_db_conn *c, const PGresult *res)
{
    if (PQnfields(res) != 3 || PQgetisnull(res, 0, 1))
        return WS_DB_QUERY_ERROR;
    ws_item item = {0};
    size_t len = (size_t)PQgetlength(res, 0, 1);
    item.body = malloc(len + 1);
    if (item.body == NULL)
        return WS_DB_NO_MEMORY;
    memcpy(item.body, PQgetvalue(res, 0, 1), len);
    item.body[len] = '\0';
    item.body_len = len;
    if (!read_i64(res, 0, &item.id) || !read_i64(res, 2, &item.version)) {
        ws_item_clear(&item);
        return WS_DB_QUERY_ERROR;
    }
    ws_item_clear(&c->item);
    c->item = item;
    return WS_DB_OK;
}

/* One result of the command in flight: the first error wins, a connection error over a query error. */
static void take_result(ws_db_conn *c, const PGresult *res)
{
    c->got_result = true;
    ws_db_status st = WS_DB_OK;
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
        if (c->phase == RUNNING && c->kind != WS_DB_SQL)
            st = PQntuples(res) > 0 ? decode_row(c, res) : WS_DB_NOT_FOUND;
        break;
    case PGRES_COMMAND_OK:
        break;
    default:
        set_error(c, PQresultErrorMessage(res));
        st = PQstatus(c->pg) == CONNECTION_BAD ? WS_DB_BROKEN : WS_DB_QUERY_ERROR;
        break;
    }
    if (c->outcome == WS_DB_OK || (c->outcome != WS_DB_BROKEN && st == WS_DB_BROKEN))
        c->outcome = st;
}

/* The command's last result was read (PQgetResult said NULL): the connection is free for the next one. */
static void command_done(ws_db_conn *c)
{
    ws_db_status st = c->outcome;
    if (!c->got_result || PQstatus(c->pg) == CONNECTION_BAD) {
        set_error(c, PQerrorMessage(c->pg));
        st = WS_DB_BROKEN;
    }
    if (c->phase == PREPARING && st == WS_DB_OK && ++c->prepared < STATEMENTS) {
        prepare_next(c);
        return;
    }
    finish(c, st);
}

/* Readable: take what arrived and every complete result; writable: push out what PQflush left queued. */
static void pump(ws_db_conn *c, uint32_t ready)
{
    if ((ready & WS_WRITABLE) || c->flushing) {
        int r = PQflush(c->pg);
        if (r < 0) {
            fail_broken(c);
            return;
        }
        c->flushing = r == 1;
    }
    if ((ready & (WS_READABLE | WS_HANGUP | WS_FAILED)) && !PQconsumeInput(c->pg)) {
        fail_broken(c);
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *res = PQgetResult(c->pg);
        if (res == NULL) {
            command_done(c);
            return;
        }
        take_result(c, res);
        PQclear(res);
    }
    if (!watch_for(c, WS_READABLE | (c->flushing ? WS_WRITABLE : 0u)))
        fail_broken(c);
}

/* SAFETY: every watch this file registers is the `watch` member of a live ws_db_conn. */
static void on_socket(ws_watch *w, uint32_t ready)
{
    ws_db_conn *c = (ws_db_conn *)(void *)((char *)w - offsetof(ws_db_conn, watch));
    if (c->phase == CONNECTING)
        connect_step(c);
    else
        pump(c, ready);
}

ws_db_status ws_db_connect(ws_loop *loop, const char *conninfo, ws_db_connect_fn *on_done, void *ctx, ws_db_conn **out)
{
    *out = NULL;
    ws_db_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return WS_DB_NO_MEMORY;
    c->watch.fd = -1;
    c->pg = PQconnectStart(conninfo);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        ws_db_status st = c->pg == NULL ? WS_DB_NO_MEMORY : WS_DB_BROKEN;
        PQfinish(c->pg);
        free(c);
        return st;
    }
    c->loop = loop;
    c->phase = CONNECTING;
    c->on_connect = on_done;
    c->ctx = ctx;
    /* PQconnectStart behaves as if PQconnectPoll had said WRITING: wait for writable, then poll. */
    if (!watch_for(c, WS_WRITABLE)) {
        PQfinish(c->pg);
        free(c);
        return WS_DB_BROKEN;
    }
    *out = c;
    return WS_DB_OK;
}

ws_db_status ws_db_run(ws_db_conn *c, const ws_db_op *op, ws_db_result_fn *on_done, void *ctx)
{
    if (c->phase != IDLE)
        return WS_DB_BUSY;
    if (ws_db_is_broken(c))
        return WS_DB_BROKEN;
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, op->id);
    const char *values[2] = {id, op->body};
    int lengths[2] = {0, (int)op->body_len};
    int formats[2] = {0, 1}; /* the id as text, the body as raw bytes */
    int sent;
    if (op->kind == WS_DB_SQL)
        sent = PQsendQueryParams(c->pg, op->sql, 0, NULL, NULL, NULL, NULL, 1);
    else
        sent = PQsendQueryPrepared(c->pg, statements[op->kind - 1].name, statements[op->kind - 1].params, values, lengths,
                                   formats, 1);
    if (!sent) {
        set_error(c, PQerrorMessage(c->pg));
        c->broken = true;
        return WS_DB_BROKEN;
    }
    c->phase = RUNNING;
    c->kind = op->kind;
    c->outcome = WS_DB_OK;
    c->got_result = false;
    c->on_result = on_done;
    c->ctx = ctx;
    c->error[0] = '\0';
    int r = PQflush(c->pg);
    c->flushing = r == 1;
    /* Even a failed flush is reported from the loop, never from inside this call. */
    if (r < 0 || !watch_for(c, WS_READABLE | (c->flushing ? WS_WRITABLE : 0u))) {
        c->broken = true;
        ws_loop_unwatch(c->loop, &c->watch);
        c->phase = IDLE;
        return WS_DB_BROKEN;
    }
    return WS_DB_OK;
}

void ws_db_attach(ws_db_conn *c, ws_loop *loop)
{
    assert(c->phase == IDLE && "ws_db_attach: an operation is in flight");
    c->loop = loop;
}

bool ws_db_is_broken(const ws_db_conn *c) { return c->broken || PQstatus(c->pg) != CONNECTION_OK; }

bool ws_db_is_busy(const ws_db_conn *c) { return c->phase != IDLE; }

int ws_db_backend_pid(const ws_db_conn *c) { return PQbackendPID(c->pg); }

const char *ws_db_error(const ws_db_conn *c) { return c->error; }

void ws_db_close(ws_db_conn *c)
{
    if (c == NULL)
        return;
    assert(c->phase == IDLE && "ws_db_close: an operation is in flight");
    ws_loop_unwatch(c->loop, &c->watch);
    ws_item_clear(&c->item);
    PQfinish(c->pg);
    free(c);
}
