/*
 * Chapter 06, part 3, the model answer: a bounded pool of connections (pool.h states the invariants).
 *
 * Who touches what: `lock` guards the lists and counters below it; a slot's timer, conn and backoff are the home
 * loop's alone; a waiter's timer is its own loop's alone. No libpq call and no callback runs with `lock` held.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A slot that is (re)connecting: one per connection the pool is short of. */
typedef struct slot {
    ws_pool *pool;
    bool busy;           /* guarded by lock: a connect or a backoff is in progress for this slot */
    ws_timer timer;      /* home loop only: the backoff */
    ws_db_conn *conn;    /* home loop only: the connection being made */
    uint64_t backoff_ms; /* home loop only: the last wait; 0 after a success */
} slot;

typedef enum waiter_state { WAITING, SERVED } waiter_state;

/* A checkout that found no idle connection. Linked in the waiters list while WAITING. */
typedef struct waiter {
    struct waiter *prev, *next; /* guarded by lock */
    waiter_state state;         /* guarded by lock */
    ws_db_conn *conn;           /* set under lock when SERVED; NULL: the pool was shut down */
    ws_pool *pool;
    ws_loop *loop;  /* the borrower's loop: the callback runs there */
    ws_timer timer; /* the deadline, on the borrower's loop */
    ws_pool_checkout_fn *cb;
    void *ctx;
} waiter;

struct ws_pool {
    ws_pool_config cfg; /* read-only after create */
    slot *slots;        /* cfg.size of them */
    pthread_mutex_t lock;
    /* guarded by lock: */
    bool closed;
    ws_db_conn **idle; /* a stack of idle_count connections */
    size_t idle_count;
    ws_db_conn **out; /* the checked-out connections, in_use of them, in any order */
    size_t in_use;
    size_t connecting;
    waiter *head, *tail;    /* waiters, oldest first */
    ws_pool_stats counters; /* the `ever` counters and `waiting` */
};

static void must_post(ws_loop *loop, ws_task_fn *fn, void *ctx)
{
    /* A post allocates 24 bytes; if that fails a connection would be lost, and nothing sane is left to do. */
    if (ws_loop_post(loop, fn, ctx) != 0)
        abort();
}

static void start_connect(void *arg);

/* Under lock: a free slot for a connection the pool is short of; there is always one (connecting < size). */
static slot *take_slot(ws_pool *pool)
{
    for (size_t i = 0; i < pool->cfg.size; i++)
        if (!pool->slots[i].busy) {
            pool->slots[i].busy = true;
            pool->connecting++;
            return &pool->slots[i];
        }
    abort(); /* unreachable while the invariant idle + in_use + connecting == size holds */
}

/* Under lock: the oldest waiter, unlinked, or NULL. */
static waiter *pop_waiter(ws_pool *pool)
{
    waiter *w = pool->head;
    if (w == NULL)
        return NULL;
    pool->head = w->next;
    if (pool->head != NULL)
        pool->head->prev = NULL;
    else
        pool->tail = NULL;
    pool->counters.waiting--;
    w->state = SERVED;
    return w;
}

/* Under lock: a healthy connection goes to the oldest waiter (returned, to post after unlocking) or to idle. */
static waiter *place_healthy(ws_pool *pool, ws_db_conn *conn)
{
    waiter *w = pop_waiter(pool);
    if (w != NULL) {
        w->conn = conn;
        pool->out[pool->in_use++] = conn;
        return w;
    }
    pool->idle[pool->idle_count++] = conn;
    return NULL;
}

/* On the waiter's loop: the connection (or the shutdown) reached it. */
static void serve_waiter(void *arg)
{
    waiter *w = arg;
    ws_loop_timer_cancel(w->loop, &w->timer);
    if (w->conn != NULL) {
        ws_db_attach(w->conn, w->loop);
        w->cb(w->conn, WS_DB_OK, w->ctx);
    } else {
        w->cb(NULL, WS_DB_CLOSED, w->ctx);
    }
    free(w);
}

/* On the waiter's loop: the deadline passed. If a connection was handed over meanwhile, serve_waiter is queued. */
static void waiter_timed_out(void *arg)
{
    waiter *w = arg;
    ws_pool *pool = w->pool;
    pthread_mutex_lock(&pool->lock);
    if (w->state != WAITING) {
        pthread_mutex_unlock(&pool->lock);
        return;
    }
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        pool->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        pool->tail = w->prev;
    pool->counters.waiting--;
    pool->counters.timeouts++;
    pthread_mutex_unlock(&pool->lock);
    w->cb(NULL, WS_DB_TIMEOUT, w->ctx);
    free(w);
}

/* Home loop: a connect ended without a connection; wait out the backoff, then try again. */
static void connect_failed(slot *s)
{
    ws_pool *pool = s->pool;
    pthread_mutex_lock(&pool->lock);
    pool->counters.connect_failures++;
    bool closed = pool->closed;
    if (closed) {
        s->busy = false;
        pool->connecting--;
    }
    pthread_mutex_unlock(&pool->lock);
    if (closed)
        return;
    uint64_t next = s->backoff_ms == 0 ? pool->cfg.backoff_min_ms : s->backoff_ms * 2;
    s->backoff_ms = next > pool->cfg.backoff_max_ms ? pool->cfg.backoff_max_ms : next;
    if (ws_loop_timer_start(pool->cfg.home, &s->timer, s->backoff_ms, start_connect, s) != 0)
        abort(); /* at most `size` slot timers: WS_TIMERS_MAX is far above any pool */
}

static void connected(ws_db_conn *conn, ws_db_status status, void *arg)
{
    slot *s = arg;
    ws_pool *pool = s->pool;
    s->conn = NULL;
    if (status != WS_DB_OK) {
        ws_db_close(conn);
        connect_failed(s);
        return;
    }
    s->backoff_ms = 0;
    pthread_mutex_lock(&pool->lock);
    s->busy = false;
    pool->connecting--;
    bool closed = pool->closed;
    waiter *w = closed ? NULL : place_healthy(pool, conn);
    pthread_mutex_unlock(&pool->lock);
    if (closed)
        ws_db_close(conn);
    else if (w != NULL)
        must_post(w->loop, serve_waiter, w);
}

/* Home loop: one connect for slot @p arg. */
static void start_connect(void *arg)
{
    slot *s = arg;
    ws_pool *pool = s->pool;
    pthread_mutex_lock(&pool->lock);
    pool->counters.connects++;
    pthread_mutex_unlock(&pool->lock);
    if (ws_db_connect(pool->cfg.home, pool->cfg.conninfo, connected, s, &s->conn) != WS_DB_OK)
        connect_failed(s);
}

ws_db_status ws_pool_create(const ws_pool_config *cfg, ws_pool **out)
{
    assert(cfg->size > 0 && cfg->home != NULL);
    ws_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL)
        return WS_DB_NO_MEMORY;
    pool->cfg = *cfg;
    if (pool->cfg.backoff_min_ms == 0)
        pool->cfg.backoff_min_ms = 50;
    if (pool->cfg.backoff_max_ms == 0)
        pool->cfg.backoff_max_ms = 2000;
    pool->slots = calloc(cfg->size, sizeof *pool->slots);
    pool->idle = calloc(cfg->size, sizeof *pool->idle);
    pool->out = calloc(cfg->size, sizeof *pool->out);
    if (pool->slots == NULL || pool->idle == NULL || pool->out == NULL) {
        free(pool->slots);
        free(pool->idle);
        free(pool->out);
        free(pool);
        return WS_DB_NO_MEMORY;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pool->counters.size = cfg->size;
    for (size_t i = 0; i < cfg->size; i++) {
        pool->slots[i].pool = pool;
        ws_timer_init(&pool->slots[i].timer);
        must_post(cfg->home, start_connect, take_slot(pool));
    }
    *out = pool;
    return WS_DB_OK;
}

ws_db_status ws_pool_checkout(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, ws_pool_checkout_fn *cb, void *ctx)
{
    waiter *w = calloc(1, sizeof *w);
    if (w == NULL)
        return WS_DB_NO_MEMORY;
    *w = (waiter){.state = WAITING, .pool = pool, .loop = loop, .cb = cb, .ctx = ctx};
    ws_timer_init(&w->timer);
    pthread_mutex_lock(&pool->lock);
    if (pool->closed || pool->idle_count > 0) {
        ws_db_conn *conn = pool->closed ? NULL : pool->idle[--pool->idle_count];
        if (conn != NULL)
            pool->out[pool->in_use++] = conn;
        pthread_mutex_unlock(&pool->lock);
        free(w);
        if (conn == NULL)
            return WS_DB_CLOSED;
        ws_db_attach(conn, loop);
        cb(conn, WS_DB_OK, ctx);
        return WS_DB_OK;
    }
    /* The timer fires on this thread only, after this function returns, so arming it under the lock is safe. */
    uint64_t now = ws_loop_now_ms();
    if (ws_loop_timer_start(loop, &w->timer, deadline_ms > now ? deadline_ms - now : 0, waiter_timed_out, w) != 0) {
        pthread_mutex_unlock(&pool->lock);
        free(w);
        return WS_DB_NO_MEMORY;
    }
    w->prev = pool->tail;
    if (pool->tail != NULL)
        pool->tail->next = w;
    else
        pool->head = w;
    pool->tail = w;
    pool->counters.waiting++;
    pthread_mutex_unlock(&pool->lock);
    return WS_DB_OK;
}

void ws_pool_return(ws_pool *pool, ws_db_conn *conn)
{
    assert(!ws_db_is_busy(conn) && "ws_pool_return: an operation is still in flight");
    bool broken = ws_db_is_broken(conn);
    pthread_mutex_lock(&pool->lock);
    size_t i = 0;
    while (i < pool->in_use && pool->out[i] != conn)
        i++;
    if (i == pool->in_use) {
        fprintf(stderr, "ws_pool_return: connection %p is not checked out (returned twice?)\n", (void *)conn);
        abort();
    }
    pool->out[i] = pool->out[--pool->in_use];
    waiter *w = NULL;
    slot *s = NULL;
    if (broken && !pool->closed) {
        pool->counters.replaced++;
        s = take_slot(pool);
    } else if (!broken && !pool->closed) {
        w = place_healthy(pool, conn);
    }
    bool keep = !broken && !pool->closed;
    pthread_mutex_unlock(&pool->lock);
    if (!keep)
        ws_db_close(conn);
    if (s != NULL)
        must_post(pool->cfg.home, start_connect, s);
    if (w != NULL)
        must_post(w->loop, serve_waiter, w);
}

ws_pool_stats ws_pool_stats_get(ws_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    ws_pool_stats st = pool->counters;
    st.idle = pool->idle_count;
    st.in_use = pool->in_use;
    st.connecting = pool->connecting;
    pthread_mutex_unlock(&pool->lock);
    return st;
}

void ws_pool_shutdown(ws_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    pool->closed = true;
    size_t idle = pool->idle_count;
    pool->idle_count = 0;
    waiter *waiters = NULL;
    for (waiter *w; (w = pop_waiter(pool)) != NULL;) {
        w->conn = NULL;
        w->next = waiters;
        waiters = w;
    }
    /* Slots waiting out a backoff hold no connection: they end here (their timers are this thread's). */
    for (size_t i = 0; i < pool->cfg.size; i++)
        if (ws_timer_armed(&pool->slots[i].timer)) {
            ws_loop_timer_cancel(pool->cfg.home, &pool->slots[i].timer);
            pool->slots[i].busy = false;
            pool->connecting--;
        }
    pthread_mutex_unlock(&pool->lock);
    for (size_t i = 0; i < idle; i++)
        ws_db_close(pool->idle[i]);
    while (waiters != NULL) {
        waiter *next = waiters->next;
        must_post(waiters->loop, serve_waiter, waiters);
        waiters = next;
    }
}

void ws_pool_destroy(ws_pool *pool)
{
    if (pool == NULL)
        return;
    ws_pool_stats st = ws_pool_stats_get(pool);
    assert(st.idle + st.in_use + st.connecting + st.waiting == 0 && "ws_pool_destroy: connections still open");
    (void)st;
    pthread_mutex_destroy(&pool->lock);
    free(pool->slots);
    free(pool->idle);
    free(pool->out);
    free(pool);
}

/* ---- ws_pool_run: checkout, one operation, return on every path, then the caller's callback ---- */

typedef struct run_request {
    ws_pool *pool;
    ws_db_op op; /* body and sql point at the copies below */
    char *body;
    char *sql;
    ws_pool_result_fn *cb;
    void *ctx;
} run_request;

static void run_finish(run_request *r, ws_db_status status, ws_item *item)
{
    r->cb(status, item, r->ctx);
    free(r->body);
    free(r->sql);
    free(r);
}

static void run_done(ws_db_conn *conn, ws_db_status status, ws_item *item, void *arg)
{
    run_request *r = arg;
    ws_pool_return(r->pool, conn);
    run_finish(r, status, item);
}

static void run_checked_out(ws_db_conn *conn, ws_db_status status, void *arg)
{
    run_request *r = arg;
    ws_item none = {0};
    if (status == WS_DB_OK) {
        status = ws_db_run(conn, &r->op, run_done, r);
        if (status == WS_DB_OK)
            return;
        ws_pool_return(r->pool, conn);
    }
    run_finish(r, status, &none);
}

ws_db_status ws_pool_run(ws_pool *pool, ws_loop *loop, uint64_t deadline_ms, const ws_db_op *op, ws_pool_result_fn *cb,
                         void *ctx)
{
    run_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return WS_DB_NO_MEMORY;
    *r = (run_request){.pool = pool, .op = *op, .cb = cb, .ctx = ctx};
    r->body = malloc(op->body_len + 1);
    r->sql = op->sql != NULL ? strdup(op->sql) : NULL;
    if (r->body == NULL || (op->sql != NULL && r->sql == NULL)) {
        free(r->body);
        free(r->sql);
        free(r);
        return WS_DB_NO_MEMORY;
    }
    if (op->body_len > 0)
        memcpy(r->body, op->body, op->body_len);
    r->op.body = r->body;
    r->op.sql = r->sql;
    ws_db_status st = ws_pool_checkout(pool, loop, deadline_ms, run_checked_out, r);
    if (st != WS_DB_OK) {
        free(r->body);
        free(r->sql);
        free(r);
    }
    return st;
}
