/*
 * Chapter 06, the given loop (loop.c) under the database: posted tasks and timers keep their promises while a
 * query is in flight on the same loop. Each test runs a query, so it needs part 2.
 */
#include "pg_support.h"

#include <pthread.h>
#include <stdlib.h>

/* Part 2 is declared in test_db.c: these tests belong to it. */

#define POSTERS 4
#define POSTS 200

typedef struct post_log {
    int last[POSTERS]; /* loop thread only: the last sequence number run for each poster */
    int ran, out_of_order;
} post_log;

typedef struct post {
    post_log *log;
    int poster, seq;
} post;

static void run_post(void *ctx)
{
    post *p = ctx;
    if (p->seq != p->log->last[p->poster] + 1)
        p->log->out_of_order++;
    p->log->last[p->poster] = p->seq;
    p->log->ran++;
    free(p);
}

typedef struct poster {
    ws_loop *loop;
    post_log *log;
    int index;
} poster;

static void *poster_main(void *arg)
{
    poster *me = arg;
    for (int i = 1; i <= POSTS; i++) {
        post *p = malloc(sizeof *p);
        if (p == NULL)
            return NULL;
        *p = (post){.log = me->log, .poster = me->index, .seq = i};
        if (ws_loop_post(me->loop, run_post, p) != 0)
            return NULL;
    }
    return arg;
}

FT_TEST(2, posts_from_other_threads_run_in_order_while_a_query_waits, 2,
        "ws_loop_post is the loop's mpsc: tasks from any thread run on the loop thread, in the order each thread "
        "posted them (FIFO), and wake the loop while a query is in flight.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    op_result r = {0};
    ws_db_op slow = {.kind = WS_DB_SQL, .sql = "SELECT pg_sleep(0.5)"};
    ck_assert_int_eq(ws_db_run(conn, &slow, op_result_store, &r), WS_DB_OK);
    post_log log = {0};
    poster posters[POSTERS];
    pthread_t threads[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        posters[i] = (poster){.loop = loop, .log = &log, .index = i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, poster_main, &posters[i]), 0);
    }
    for (int i = 0; i < POSTERS; i++) {
        void *res;
        ck_assert_int_eq(pthread_join(threads[i], &res), 0);
        ck_assert_ptr_ne(res, NULL);
    }
    ck_assert(loop_until(loop, &r.done, 5000));
    ck_assert_int_eq(r.status, WS_DB_OK);
    ck_assert_int_eq(log.ran, POSTERS * POSTS);
    ck_assert_int_eq(log.out_of_order, 0);
    ws_db_close(conn);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(posts_from_other_threads_run_in_order_while_a_query_waits, 15);

#define TIMERS 64

typedef struct timer_log {
    uint64_t last_due;
    int fired, out_of_order, cancelled_fired;
} timer_log;

typedef struct test_timer {
    ws_timer t;
    timer_log *log;
    bool cancelled;
} test_timer;

static void timer_fired(void *ctx)
{
    test_timer *tt = ctx;
    if (tt->cancelled)
        tt->log->cancelled_fired++;
    if (tt->t.due_ms < tt->log->last_due)
        tt->log->out_of_order++;
    tt->log->last_due = tt->t.due_ms;
    tt->log->fired++;
}

FT_TEST(2, timers_fire_in_deadline_order_while_a_query_runs, 1,
        "The loop's timers are a min-heap on the monotonic clock: they fire in deadline order, a cancelled one "
        "never fires, and they keep firing while the database connection waits for its answer.")
{
    ws_loop *loop = loop_new();
    ws_db_conn *conn = connect_now(loop, pg_conninfo());
    op_result r = {0};
    ws_db_op slow = {.kind = WS_DB_SQL, .sql = "SELECT pg_sleep(0.3)"};
    ck_assert_int_eq(ws_db_run(conn, &slow, op_result_store, &r), WS_DB_OK);
    timer_log log = {0};
    test_timer timers[TIMERS];
    unsigned seed = 7;
    for (int i = 0; i < TIMERS; i++) {
        timers[i] = (test_timer){.log = &log};
        ws_timer_init(&timers[i].t);
        seed = seed * 1103515245u + 12345u;
        ck_assert_int_eq(ws_loop_timer_start(loop, &timers[i].t, (seed >> 16) % 150, timer_fired, &timers[i]), 0);
    }
    int cancelled = 0;
    for (int i = 0; i < TIMERS; i += 5) {
        ws_loop_timer_cancel(loop, &timers[i].t);
        timers[i].cancelled = true;
        cancelled++;
    }
    ck_assert(loop_until(loop, &r.done, 5000));
    ck_assert_int_eq(r.status, WS_DB_OK);
    ck_assert_int_eq(log.fired, TIMERS - cancelled);
    ck_assert_int_eq(log.out_of_order, 0);
    ck_assert_int_eq(log.cancelled_fired, 0);
    for (int i = 0; i < TIMERS; i++)
        ck_assert(!ws_timer_armed(&timers[i].t));
    ws_db_close(conn);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(timers_fire_in_deadline_order_while_a_query_runs, 15);
