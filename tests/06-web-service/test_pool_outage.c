/*
 * Chapter 06, part 3 (declared in test_pool.c): the pool while PostgreSQL is down — queries fail as values, slots
 * reconnect with backoff, the backoff starts over after a success, and shutdown ends slots that wait one out. These
 * tests stop and start the spare cluster (pg_support.c), never the main one.
 */
#include "pg_support.h"

/* Runs the loop for @p ms, serving whatever comes (a deadline, not a sleep: the loop works all along). */
static void run_for(ws_loop *loop, uint64_t ms)
{
    bool never = false;
    (void)loop_until(loop, &never, ms);
}

FT_TEST(3, postgresql_restart_errors_then_full_service_without_fd_leak, 4,
        "PostgreSQL restarted: queries fail as values while it is down (no hang), broken connections are closed "
        "and reconnected with backoff (no reconnect storm), full service after, and no file descriptor leaks.")
{
    const char *conninfo = pg_spare_conninfo();
    int fds_before = count_fds();
    ws_loop *loop = loop_new();
    ws_pool *pool = NULL;
    ws_pool_config cfg = {.conninfo = conninfo, .size = 2, .home = loop, .backoff_min_ms = 20, .backoff_max_ms = 200};
    ck_assert_int_eq(ws_pool_create(&cfg, &pool), WS_DB_OK);
    ck_assert(pool_wait_idle(loop, pool, 2, 10000));
    pg_spare_stop();
    ws_db_op get = {.kind = WS_DB_GET, .id = 1};
    for (int round = 0; round < 2; round++) {
        op_result r[2] = {0};
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(500), &get, pool_result_store, &r[i]), WS_DB_OK);
        for (int i = 0; i < 2; i++) {
            ck_assert_msg(loop_until(loop, &r[i].done, 3000), "a query hung while PostgreSQL was down");
            ck_assert_msg(r[i].status == WS_DB_BROKEN || r[i].status == WS_DB_TIMEOUT,
                          "PostgreSQL is down, yet a query said %d", (int)r[i].status);
        }
    }
    uint64_t failures_before = ws_pool_stats_get(pool).connect_failures;
    run_for(loop, 600);
    uint64_t failures = ws_pool_stats_get(pool).connect_failures - failures_before;
    ck_assert_msg(failures >= 2, "no reconnect attempt in 600 ms while PostgreSQL was down (%llu)",
                  (unsigned long long)failures);
    ck_assert_msg(failures <= 40, "%llu failed connects in 600 ms: reconnect without backoff (a storm)",
                  (unsigned long long)failures);
    pg_spare_start();
    ck_assert_msg(pool_wait_idle(loop, pool, 2, 10000), "the pool did not recover within 10 s of the restart");
    op_result ok = {0};
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(2000), &get, pool_result_store, &ok), WS_DB_OK);
    ck_assert(loop_until(loop, &ok.done, 3000));
    ck_assert_int_eq(ok.status, WS_DB_NOT_FOUND);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
    ck_assert_int_eq(count_fds(), fds_before);
}
FT_TIMEOUT(postgresql_restart_errors_then_full_service_without_fd_leak, 60);

FT_TEST(3, no_server_backs_off_and_shutdown_still_ends_every_slot, 2,
        "With no server, each slot retries with backoff (50 ms doubling, the default), a checkout ends with "
        "WS_DB_TIMEOUT, and shutdown ends the slots waiting out a backoff: connecting drops to 0, nothing hangs.")
{
    (void)pg_conninfo();
    ws_loop *loop = loop_new();
    ws_pool *pool = NULL;
    ws_pool_config cfg = {.conninfo = "host=/nonexistent-ferrite port=5432 user=x dbname=x", .size = 2, .home = loop};
    ck_assert_int_eq(ws_pool_create(&cfg, &pool), WS_DB_OK);
    checkout c = {0};
    ck_assert_int_eq(ws_pool_checkout(pool, loop, in_ms(100), checkout_store, &c), WS_DB_OK);
    ck_assert(loop_until(loop, &c.done, 2000));
    ck_assert_int_eq(c.status, WS_DB_TIMEOUT);
    run_for(loop, 400);
    ws_pool_stats st = ws_pool_stats_get(pool);
    ck_assert_uint_eq(st.connecting, 2);
    /* 500 ms with waits of 50, 100, 200 ms: at most 4 connects per slot (fewer on a slow machine). */
    ck_assert_msg(st.connect_failures >= 2 && st.connect_failures <= 10,
                  "%llu failed connects in 500 ms from 2 slots: the backoff should start at 50 ms and double",
                  (unsigned long long)st.connect_failures);
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(no_server_backs_off_and_shutdown_still_ends_every_slot, 20);

/* Runs @p loop until @p pool has counted @p failures failed connects in all, or @p timeout_ms passed (polled). */
static bool wait_connect_failures(ws_loop *loop, ws_pool *pool, uint64_t failures, uint64_t timeout_ms)
{
    uint64_t deadline = in_ms(timeout_ms);
    while (ws_pool_stats_get(pool).connect_failures < failures) {
        if (ws_loop_now_ms() >= deadline)
            return false;
        ck_assert_int_ge(ws_loop_run_once(loop, 10), 0);
    }
    return true;
}

/* Stops the spare cluster and sends a query down the pool's one idle connection, which the pool did not watch: the
 * query finds it broken, the pool closes it, and the slot starts reconnecting to a server that is not there. */
static void begin_outage(ws_loop *loop, ws_pool *pool)
{
    pg_spare_stop();
    op_result r = {0};
    ws_db_op get = {.kind = WS_DB_GET, .id = 1};
    ck_assert_int_eq(ws_pool_run(pool, loop, in_ms(2000), &get, pool_result_store, &r), WS_DB_OK);
    ck_assert_msg(loop_until(loop, &r.done, 3000), "a query hung while PostgreSQL was down");
    ck_assert_msg(r.status == WS_DB_BROKEN, "PostgreSQL is down, yet a query on the idle connection said %d",
                  (int)r.status);
}

/* A timer on the pool's home loop that notes how many connects the pool had started when it fired. */
typedef struct probe {
    ws_pool *pool;
    uint64_t connects;
    bool fired;
} probe;

static void probe_fire(void *arg)
{
    probe *p = arg;
    p->connects = ws_pool_stats_get(p->pool).connects;
    p->fired = true;
}

/* 7 failed connects from 20 ms: waits of 20, 40, ..., 640 ms behind it, 1280 ms ahead. The probe's 100 ms lie between
 * the first wait of an outage and that grown one. */
enum { BACKOFF_MIN_MS = 20, FAILURES_TO_GROW = 7, PROBE_MS = 100 };

FT_TEST(3, backoff_starts_over_after_a_successful_reconnect, 2,
        "Reset the backoff when a connect succeeds: a slot whose wait grew to 1.28 s in one outage must retry the "
        "next outage after backoff_min_ms again, not after the doubled delay it kept (a short blip would cost "
        "seconds of service).")
{
    const char *conninfo = pg_spare_conninfo();
    if (PQping(conninfo) != PQPING_OK)
        pg_spare_start(); /* an earlier restart test that failed half-way left the spare cluster stopped */
    ws_loop *loop = loop_new();
    ws_pool *pool = NULL;
    ws_pool_config cfg = {
        .conninfo = conninfo, .size = 1, .home = loop, .backoff_min_ms = BACKOFF_MIN_MS, .backoff_max_ms = 10000};
    ck_assert_int_eq(ws_pool_create(&cfg, &pool), WS_DB_OK);
    ck_assert(pool_wait_idle(loop, pool, 1, 10000));

    uint64_t failures = ws_pool_stats_get(pool).connect_failures;
    begin_outage(loop, pool);
    ck_assert_msg(wait_connect_failures(loop, pool, failures + FAILURES_TO_GROW, 20000),
                  "%d failed connects did not come within 20 s of stopping PostgreSQL", FAILURES_TO_GROW);
    pg_spare_start();
    ck_assert_msg(pool_wait_idle(loop, pool, 1, 15000), "the pool did not reconnect within 15 s of the restart");

    /* The second outage. Its first connect fails at once and arms the slot's backoff timer; the probe is armed after
     * it, on the same loop, and timers fire in deadline order however late the loop runs: with the backoff reset
     * (20 ms), the slot's second connect starts before the probe fires; with a kept one (2.56 s), long after. */
    ws_pool_stats before = ws_pool_stats_get(pool);
    begin_outage(loop, pool);
    ck_assert_msg(wait_connect_failures(loop, pool, before.connect_failures + 1, 10000),
                  "no failed reconnect within 10 s of stopping PostgreSQL again");
    probe p = {.pool = pool};
    ws_timer timer;
    ws_timer_init(&timer);
    ck_assert_int_eq(ws_loop_timer_start(loop, &timer, PROBE_MS, probe_fire, &p), 0);
    ck_assert(loop_until(loop, &p.fired, 10000));
    ck_assert_msg(p.connects >= before.connects + 2,
                  "%llu connect(s) in the second outage before a %d ms timer armed after the first failure fired: "
                  "the slot waits out the backoff it grew in the first outage",
                  (unsigned long long)(p.connects - before.connects), PROBE_MS);
    pg_spare_start();
    ck_assert_msg(pool_wait_idle(loop, pool, 1, 15000), "the pool did not reconnect within 15 s of the restart");
    pool_close(pool, loop);
    ws_loop_destroy(loop);
}
FT_TIMEOUT(backoff_starts_over_after_a_successful_reconnect, 60);
