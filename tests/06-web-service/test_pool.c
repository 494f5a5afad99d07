/*
 * Chapter 06, part 3: the connection pool against a real server (pg_support.c starts it) — checkouts, waiters,
 * deadlines, returns on every path, shutdown, and two threads sharing one pool. The pool while PostgreSQL is down
 * (restart, no server, backoff) is in test_pool_outage.c.
 */
#define _GNU_SOURCE
#include "pg_support.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

FT_PART(3, "the connection pool (deadpool/bb8)");

static void assert_whole(ws_pool *pool, size_t size)
{
    ws_pool_stats st = ws_pool_stats_get(pool);
    ck_assert_msg(st.idle == size && st.in_use == 0 && st.connecting == 0 && st.waiting == 0,
                  "pool not whole: idle %zu, in use %zu, connecting %zu, waiting %zu (size %zu): a connection was "
                  "not returned exactly once (pool leak)",
                  st.idle, st.in_use, st.connecting, st.waiting, size);
}

FT_TEST(3, an_idle_connection_is_handed_out_at_once, 2,
        "Checkout takes an idle connection under the lock and calls back at once, on the caller's loop; return puts "
        "it back: idle + in_use + connecting == size at every moment.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 2);
    checkout c = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(1000), checkout_store, &c), WS_DB_OK);
    ck_assert_msg(c.done, "an idle connection was there: the callback should run before checkout returns");
    ck_assert_int_eq(c.status, WS_DB_OK);
    ws_pool_stats st = ws_pool_stats_get(pool);
    ck_assert_uint_eq(st.in_use, 1);
    ck_assert_uint_eq(st.idle, 1);
    ws_db_op get = {.kind = WS_DB_GET, .id = 1};
    ws_db_status got = run_now(loop, c.conn, &get, NULL);
    ck_assert(got == WS_DB_OK || got == WS_DB_NOT_FOUND);
    ws_pool_return(pool, c.conn);
    assert_whole(pool, 2);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(an_idle_connection_is_handed_out_at_once, 15);

FT_TEST(3, three_users_share_two_connections, 3,
        "Bounded pool: a third user waits for a returned connection (handed to the oldest waiter), never opens a "
        "third; all three finish.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 2);
    op_result r[3] = {0};
    ws_db_op slow = {.kind = WS_DB_SQL, .sql = "SELECT pg_sleep(0.1)"};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(5000), &slow, pool_result_store, &r[i]), WS_DB_OK);
    ws_pool_stats st = ws_pool_stats_get(pool);
    ck_assert_uint_eq(st.in_use, 2);
    ck_assert_uint_eq(st.waiting, 1);
    ck_assert(loop_until(loop, &r[2].done, 5000));
    for (int i = 0; i < 3; i++) {
        ck_assert(r[i].done);
        ck_assert_int_eq(r[i].status, WS_DB_OK);
    }
    ck_assert_msg(r[2].at_ms >= r[0].at_ms, "the third user ran before a connection came back");
    assert_whole(pool, 2);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(three_users_share_two_connections, 15);

FT_TEST(3, checkout_deadline_gives_timeout_not_a_hang, 3,
        "Checkout with a deadline: arm a timer on the caller's loop; when every connection is held and it fires, "
        "the callback gets WS_DB_TIMEOUT (503 + Retry-After), never a hang.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 1);
    checkout held = {0}, late = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(1000), checkout_store, &held), WS_DB_OK);
    ck_assert(held.done);
    uint64_t start = ws_loop_now_ms();
    ck_assert_int_eq(ws_pool_checkout(pool, loop, start + 100, checkout_store, &late), WS_DB_OK);
    ck_assert(!late.done);
    ck_assert_msg(loop_until(loop, &late.done, 2000),
                  "no answer 2 s after a 100 ms deadline: the deadline timer "
                  "was never armed");
    ck_assert_int_eq(late.status, WS_DB_TIMEOUT);
    ck_assert_ptr_eq(late.conn, NULL);
    ck_assert_uint_ge(late.at_ms - start, 95);
    ws_pool_stats st = ws_pool_stats_get(pool);
    ck_assert_uint_eq(st.timeouts, 1);
    ck_assert_uint_eq(st.waiting, 0);
    ws_pool_return(pool, held.conn);
    assert_whole(pool, 1);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(checkout_deadline_gives_timeout_not_a_hang, 15);

FT_TEST(3, failing_queries_leave_the_pool_whole, 3,
        "Pool leak: the connection must be returned exactly once on every path, the error paths included; 3 x size "
        "failing queries later, every connection is idle again and the next query runs.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 2);
    op_result r[6] = {0};
    ws_db_op bad = {.kind = WS_DB_SQL, .sql = "SELECT * FROM no_such_table"};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(1000), &bad, pool_result_store, &r[i]), WS_DB_OK);
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(loop_until(loop, &r[i].done, 3000),
                      "failing query %d never finished: an earlier one kept its connection (pool leak)", i);
        ck_assert_int_eq(r[i].status, WS_DB_QUERY_ERROR);
    }
    assert_whole(pool, 2);
    op_result ok = {0};
    ws_db_op get = {.kind = WS_DB_GET, .id = 1};
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(1000), &get, pool_result_store, &ok), WS_DB_OK);
    ck_assert(loop_until(loop, &ok.done, 3000));
    ck_assert(ok.status == WS_DB_OK || ok.status == WS_DB_NOT_FOUND);
    ws_item_clear(&ok.item);
    assert_whole(pool, 2);
    ck_assert_uint_eq(ws_pool_stats_get(pool).replaced, 0);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(failing_queries_leave_the_pool_whole, 15);

FT_TEST(3, a_returned_connection_goes_to_the_oldest_waiter, 2,
        "Waiters are served in order: a returned connection goes straight to the oldest waiter (posted to its "
        "loop), not to the idle list.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 1);
    checkout held = {0}, first = {0}, second = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(5000), checkout_store, &held), WS_DB_OK);
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(5000), checkout_store, &first), WS_DB_OK);
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(5000), checkout_store, &second), WS_DB_OK);
    ws_pool_return(pool, held.conn);
    ck_assert_uint_eq(ws_pool_stats_get(pool).idle, 0);
    ck_assert(loop_until(loop, &first.done, 2000));
    ck_assert_int_eq(first.status, WS_DB_OK);
    ck_assert(!second.done);
    ws_pool_return(pool, first.conn);
    ck_assert(loop_until(loop, &second.done, 2000));
    ck_assert_int_eq(second.status, WS_DB_OK);
    ws_pool_return(pool, second.conn);
    assert_whole(pool, 1);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(a_returned_connection_goes_to_the_oldest_waiter, 15);

FT_TEST(3, a_broken_connection_is_closed_and_replaced, 3,
        "A connection returned broken (the server ended it) is closed, never put back idle, and its slot "
        "reconnects in the background: the next checkout gets a fresh, working connection.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 1);
    checkout c = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(1000), checkout_store, &c), WS_DB_OK);
    ck_assert(c.done);
    int pid = ws_db_backend_pid(c.conn);
    ws_pool_return(pool, c.conn);
    PGconn *admin = pg_admin(pg_conninfo());
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    pg_admin_exec(admin, sql);
    PQfinish(admin);
    op_result r = {0};
    ws_db_op get = {.kind = WS_DB_GET, .id = 1};
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(2000), &get, pool_result_store, &r), WS_DB_OK);
    ck_assert(loop_until(loop, &r.done, 3000));
    ck_assert_int_eq(r.status, WS_DB_BROKEN);
    ck_assert_msg(pool_wait_idle(loop, pool, 1, 5000), "the broken connection's slot did not reconnect in 5 s");
    ck_assert_uint_eq(ws_pool_stats_get(pool).replaced, 1);
    checkout again = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(1000), checkout_store, &again), WS_DB_OK);
    ck_assert(again.done);
    ck_assert_int_ne(ws_db_backend_pid(again.conn), pid);
    ws_db_status st = run_now(loop, again.conn, &get, NULL);
    ck_assert(st == WS_DB_OK || st == WS_DB_NOT_FOUND);
    ws_pool_return(pool, again.conn);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(a_broken_connection_is_closed_and_replaced, 20);

FT_TEST(3, a_slow_query_does_not_stall_other_checkouts, 3,
        "No lock held across a query (the study's lock held across .await): while pg_sleep(0.4) runs on one "
        "connection, a checkout and a query on the other finish at once.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 2);
    op_result slow = {0}, fast = {0};
    ws_db_op sleep = {.kind = WS_DB_SQL, .sql = "SELECT pg_sleep(0.4)"}, get = {.kind = WS_DB_GET, .id = 1};
    uint64_t start = ws_loop_now_ms();
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(5000), &sleep, pool_result_store, &slow), WS_DB_OK);
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(5000), &get, pool_result_store, &fast), WS_DB_OK);
    ck_assert(loop_until(loop, &fast.done, 3000));
    ck_assert(fast.status == WS_DB_OK || fast.status == WS_DB_NOT_FOUND);
    ck_assert_msg(!slow.done, "the fast query waited for the slow one: a lock was held across the query");
    ck_assert(loop_until(loop, &slow.done, 3000));
    ck_assert_int_eq(slow.status, WS_DB_OK);
    ck_assert_uint_ge(slow.at_ms - start, 350);
    ws_item_clear(&fast.item);
    assert_whole(pool, 2);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(a_slow_query_does_not_stall_other_checkouts, 15);

FT_TEST(3, shutdown_refuses_checkouts_and_ends_waiters, 2,
        "Shutdown: new checkouts get WS_DB_CLOSED, every waiter is ended with WS_DB_CLOSED, idle connections are "
        "closed now and a held one when it comes back.")
{
    ws_loop *loop = loop_new();
    ws_pool *pool = pool_now(loop, pg_conninfo(), 1);
    checkout held = {0}, waiting = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(5000), checkout_store, &held), WS_DB_OK);
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(5000), checkout_store, &waiting), WS_DB_OK);
    ws_pool_shutdown(pool);
    ck_assert(loop_until(loop, &waiting.done, 2000));
    ck_assert_int_eq(waiting.status, WS_DB_CLOSED);
    checkout refused = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(100), checkout_store, &refused), WS_DB_CLOSED);
    ck_assert(!refused.done);
    ws_pool_return(pool, held.conn);
    ck_assert(pool_wait_idle(loop, pool, 0, 2000));
    ws_pool_destroy(pool);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(shutdown_refuses_checkouts_and_ends_waiters, 15);

/* One worker thread: its own loop, 20 operations one after the other through the shared pool. */
typedef struct worker {
    ws_pool *pool;
    int64_t id;
    int left, ok;
    bool done;
    ws_loop *loop;
    pthread_barrier_t *start; /* both workers begin together, so that they contend for the one connection */
} worker;

static void worker_next(ws_db_status status, ws_item *item, void *ctx);

static void worker_start(worker *w)
{
    ws_db_op op = w->left % 2 == 0 ? (ws_db_op){.kind = WS_DB_PUT, .id = w->id, .body = "w", .body_len = 1}
                                   : (ws_db_op){.kind = WS_DB_GET, .id = w->id};
    if (ws_pool_run(w->pool, w->loop, in_ms(5000), &op, worker_next, w) != WS_DB_OK)
        w->done = true;
}

static void worker_next(ws_db_status status, ws_item *item, void *ctx)
{
    worker *w = ctx;
    ws_item_clear(item);
    if (status == WS_DB_OK)
        w->ok++;
    if (--w->left == 0)
        w->done = true;
    else
        worker_start(w);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    if (ws_loop_create(&w->loop) != 0)
        return NULL;
    pthread_barrier_wait(w->start);
    worker_start(w);
    bool finished = loop_until(w->loop, &w->done, 20000);
    ws_loop_destroy(w->loop);
    return finished ? arg : NULL;
}

static void *home_main(void *arg) { return ws_loop_run(arg) == 0 ? arg : NULL; }

static void shutdown_task(void *arg) { ws_pool_shutdown(arg); }

static void wait_stats(ws_pool *pool, size_t idle, uint64_t timeout_ms)
{
    uint64_t deadline = in_ms(timeout_ms);
    for (;;) {
        ws_pool_stats st = ws_pool_stats_get(pool);
        if (st.idle == idle && st.in_use == 0 && st.connecting == 0 && st.waiting == 0)
            return;
        ck_assert_msg(ws_loop_now_ms() < deadline, "pool not settled: idle %zu in use %zu connecting %zu", st.idle,
                      st.in_use, st.connecting);
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL); /* polling under a deadline */
    }
}

FT_TEST(3, two_loops_on_two_threads_share_the_pool, 3,
        "Shared by worker threads: the mutex guards only the lists; a connection handed to another thread's waiter "
        "goes through ws_loop_post to that waiter's loop (no data race, TSan-clean).")
{
    ws_loop *home = loop_new();
    ws_pool *pool = NULL;
    /* One connection for two workers: they wait for each other, so connections cross threads through waiters. */
    ws_pool_config cfg = {.conninfo = pg_conninfo(), .size = 1, .home = home};
    ck_assert_int_eq(ws_pool_create(&cfg, &pool), WS_DB_OK);
    pthread_t home_thread, threads[2];
    ck_assert_int_eq(pthread_create(&home_thread, NULL, home_main, home), 0);
    wait_stats(pool, 1, 10000);
    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    worker w[2] = {{.pool = pool, .id = (int64_t)getpid() * 1000 + 900, .left = 20, .start = &start},
                   {.pool = pool, .id = (int64_t)getpid() * 1000 + 901, .left = 20, .start = &start}};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, worker_main, &w[i]), 0);
    void *res[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(threads[i], &res[i]), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(res[i] != NULL, "worker %d did not finish its 20 operations in 20 s", i);
        ck_assert_int_eq(w[i].ok, 20);
    }
    wait_stats(pool, 1, 5000);
    ck_assert_int_eq(ws_loop_post(home, shutdown_task, pool), 0);
    wait_stats(pool, 0, 5000);
    ws_loop_stop(home);
    void *home_res;
    ck_assert_int_eq(pthread_join(home_thread, &home_res), 0);
    ck_assert_ptr_eq(home_res, home);
    ws_pool_destroy(pool);
    ws_loop_destroy(home);
}
FT_TIMEOUT(two_loops_on_two_threads_share_the_pool, 60);
