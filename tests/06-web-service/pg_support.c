/*
 * PostgreSQL for chapter 06's tests (pg_support.h says what each helper is for).
 */
#define _GNU_SOURCE
#include "pg_support.h"

#include "ft_pg.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCHEMA "CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, body bytea NOT NULL, version bigint NOT NULL)"

/* Written once by the runner, before Check forks the first test; read-only in the tests' processes. */
static char main_dir[FT_PG_DIR_MAX], main_conninfo[FT_PG_CONNINFO_MAX];
static char spare_dir[FT_PG_DIR_MAX], spare_conninfo[FT_PG_CONNINFO_MAX];
static ft_pg_status main_status = FT_PG_ERR_FAILED, spare_status = FT_PG_ERR_FAILED;
static char schema_error[256];
static bool started;

static bool make_schema(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    bool ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, SCHEMA);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    if (!ok)
        snprintf(schema_error, sizeof schema_error, "%s", PQerrorMessage(c));
    PQfinish(c);
    return ok;
}

/* Parts 2, 3 and 5 talk to PostgreSQL; a run of parts 1 and 4 alone (or a --list) starts no cluster. */
static void start_clusters(void)
{
    started = true;
    if (!ft_pg_scratch_dir(main_dir, sizeof main_dir))
        return;
    main_status = ft_pg_start(main_dir, main_conninfo, sizeof main_conninfo);
    if (main_status == FT_PG_OK && !make_schema(main_conninfo))
        main_status = FT_PG_ERR_FAILED;
    if (main_status != FT_PG_OK || snprintf(spare_dir, sizeof spare_dir, "%s-spare", main_dir) >= FT_PG_DIR_MAX)
        return;
    spare_status = ft_pg_start(spare_dir, spare_conninfo, sizeof spare_conninfo);
    if (spare_status == FT_PG_OK && !make_schema(spare_conninfo))
        spare_status = FT_PG_ERR_FAILED;
}

FT_SETUP(start_clusters, 2, 3, 5);

static const char *checked(ft_pg_status status, const char *conninfo)
{
    if (!started)
        ck_abort_msg("no cluster was started: this test's part is not among pg_support.c's FT_SETUP parts");
    if (status == FT_PG_ERR_MISSING)
        FT_SKIP("PostgreSQL is not installed: sudo apt-get install postgresql-15 libpq-dev (or sudo make deps)");
    if (status != FT_PG_OK)
        ck_abort_msg("the test cluster did not start (%s%s%s): see mk/pgtmp.sh's message above the results",
                     ft_pg_status_text(status), schema_error[0] ? "; " : "", schema_error);
    return conninfo;
}

const char *pg_conninfo(void) { return checked(main_status, main_conninfo); }
const char *pg_spare_conninfo(void) { return checked(spare_status, spare_conninfo); }

/* Runs `bash mk/pgtmp.sh COMMAND DIR`, its output discarded, and returns its exit status. */
static int run_script(const char *command, const char *dir)
{
    const char *script = getenv("FT_PGTMP") != NULL ? getenv("FT_PGTMP") : "mk/pgtmp.sh";
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *null = freopen("/dev/null", "w", stdout);
        (void)null;
        execlp("bash", "bash", script, command, dir, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void pg_spare_stop(void)
{
    (void)pg_spare_conninfo();
    ck_assert_int_eq(run_script("stop", spare_dir), 0);
}

void pg_spare_start(void)
{
    ck_assert_int_eq(run_script("start", spare_dir), 0);
    ck_assert_msg(make_schema(spare_conninfo), "schema on the restarted cluster: %s", schema_error);
}

PGconn *pg_admin(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    ck_assert_msg(PQstatus(c) == CONNECTION_OK, "test's own connection failed: %s", PQerrorMessage(c));
    return c;
}

void pg_admin_exec(PGconn *admin, const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    char msg[256];
    snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    PQclear(r);
    ck_assert_msg(ok, "test's own query `%s` failed: %s", sql, msg);
}

bool loop_until(ws_loop *loop, const bool *done, uint64_t timeout_ms)
{
    uint64_t deadline = ws_loop_now_ms() + timeout_ms;
    while (!*done) {
        uint64_t now = ws_loop_now_ms();
        if (now >= deadline)
            return false;
        ck_assert_int_ge(ws_loop_run_once(loop, (int)(deadline - now)), 0);
    }
    return true;
}

ws_loop *loop_new(void)
{
    ws_loop *loop = NULL;
    ck_assert_int_eq(ws_loop_create(&loop), 0);
    return loop;
}

int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_ne(d, NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

void op_result_store(ws_db_conn *conn, ws_db_status status, ws_item *item, void *ctx)
{
    (void)conn;
    op_result *r = ctx;
    r->status = status;
    r->item = *item;
    *item = (ws_item){0};
    r->at_ms = ws_loop_now_ms();
    r->done = true;
}

void pool_result_store(ws_db_status status, ws_item *item, void *ctx) { op_result_store(NULL, status, item, ctx); }

void connect_result_store(ws_db_conn *conn, ws_db_status status, void *ctx)
{
    (void)conn;
    op_result *r = ctx;
    r->status = status;
    r->done = true;
}

ws_db_conn *connect_now(ws_loop *loop, const char *conninfo)
{
    op_result r = {0};
    ws_db_conn *conn = NULL;
    ck_assert_int_eq(ws_db_connect(loop, conninfo, connect_result_store, &r, &conn), WS_DB_OK);
    ck_assert_msg(loop_until(loop, &r.done, 5000), "ws_db_connect never called back within 5 s");
    ck_assert_msg(r.status == WS_DB_OK, "connect failed (status %d): %s", (int)r.status, ws_db_error(conn));
    return conn;
}

ws_db_status run_now(ws_loop *loop, ws_db_conn *conn, const ws_db_op *op, ws_item *item)
{
    op_result r = {0};
    ws_db_status st = ws_db_run(conn, op, op_result_store, &r);
    if (st != WS_DB_OK)
        return st;
    ck_assert_msg(loop_until(loop, &r.done, 5000), "the operation never finished within 5 s");
    if (item != NULL)
        *item = r.item;
    else
        ws_item_clear(&r.item);
    return r.status;
}

bool pool_wait_idle(ws_loop *loop, ws_pool *pool, size_t idle, uint64_t timeout_ms)
{
    uint64_t deadline = ws_loop_now_ms() + timeout_ms;
    for (;;) {
        ws_pool_stats st = ws_pool_stats_get(pool);
        if (st.idle == idle && st.in_use == 0 && st.connecting == 0 && st.waiting == 0)
            return true;
        uint64_t now = ws_loop_now_ms();
        if (now >= deadline)
            return false;
        ck_assert_int_ge(ws_loop_run_once(loop, 10), 0);
    }
}

ws_pool *pool_now(ws_loop *home, const char *conninfo, size_t size)
{
    ws_pool *pool = NULL;
    ws_pool_config cfg = {.conninfo = conninfo, .size = size, .home = home};
    ck_assert_int_eq(ws_pool_create(&cfg, &pool), WS_DB_OK);
    ck_assert_msg(pool_wait_idle(home, pool, size, 10000), "the pool's %zu connections were not all idle in 10 s", size);
    return pool;
}

void pool_close(ws_pool *pool, ws_loop *home)
{
    ws_pool_shutdown(pool);
    ck_assert_msg(pool_wait_idle(home, pool, 0, 10000), "connections still open 10 s after ws_pool_shutdown");
    ws_pool_destroy(pool);
}

void checkout_store(ws_db_conn *conn, ws_db_status status, void *ctx)
{
    checkout *c = ctx;
    c->conn = conn;
    c->status = status;
    c->at_ms = ws_loop_now_ms();
    c->done = true;
}

uint64_t in_ms(uint64_t ms) { return ws_loop_now_ms() + ms; }
