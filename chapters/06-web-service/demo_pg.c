/*
 * Chapter 06 demo: the throwaway PostgreSQL (mk/pgtmp.sh), the items table on the demo's own connection, and the
 * ws-service process. Everything here runs on the main thread; the clean-up functions never die, since cleanup()
 * calls them at exit.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h> /* NAN: no libm function is called */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reads one line from @p fd into @p line (without its newline) within @p timeout_ms; "" when none came. */
static void read_line(int fd, char *line, size_t cap, int timeout_ms)
{
    size_t len = 0;
    for (int64_t t0 = now_ns(); len < cap - 1 && memchr(line, '\n', len) == NULL && ms_since(t0) < timeout_ms;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (interrupted)
            break;
        if (poll(&p, 1, 200) <= 0) /* 200 ms at most: a Ctrl-C is seen soon even if poll missed it */
            continue;
        ssize_t n = read(fd, line + len, cap - 1 - len);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        len += n > 0 ? (size_t)n : 0;
    }
    line[len] = '\0';
    line[strcspn(line, "\n")] = '\0';
}

/* ---- the cluster ------------------------------------------------------------------------------------------- */

static pid_t pg_script = -1;        /* `pgtmp start` while it runs */
static int pg_watch = -1;           /* the write end of the watchdog's pipe: closing it stops the cluster */
static bool pg_started, pg_running; /* a start was tried (cleanup() runs `stop`); it succeeded */
static PGconn *admin;               /* the demo's own connection: schema, table locks, pg_locks */

/* Runs the cluster script with @p command; stdin is @p in, stdout @p out. Returns its pid, -1 if fork failed
 * (never dies: cleanup() calls it). */
static pid_t run_pgtmp(const char *command, bool watch, int in, int out)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in, STDIN_FILENO); /* dup2 clears close-on-exec on the copy */
        dup2(out, STDOUT_FILENO);
        execlp("bash", "bash", opt.pgtmp, command, opt.pg_dir, watch ? "--watch" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_status(pid_t pid)
{
    int status;
    while (pid > 0 && waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (pid <= 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *pg_start(void)
{
    static char conninfo[512], short_dir[64];
    if (strlen(opt.pg_dir) > 92) { /* DIR/.s.PGSQL.5432 must fit in a socket address: a deep checkout falls back */
        snprintf(short_dir, sizeof short_dir, "/tmp/ferrite-demo-06-%d", (int)getpid());
        printf("demo: %s is too long a path for PostgreSQL's socket: using %s\n", opt.pg_dir, short_dir);
        opt.pg_dir = short_dir;
    }
    int watch[2], out[2];
    if (pipe2(watch, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    int64_t t0 = now_ns();
    pg_started = true; /* from here on, cleanup() runs `stop`, which is harmless when nothing runs */
    pg_watch = watch[1];
    pg_script = run_pgtmp("start", true, watch[0], out[1]);
    close(watch[0]);
    close(out[1]);
    read_line(out[0], conninfo, sizeof conninfo, 200000); /* the script's own deadlines are shorter */
    close(out[0]);
    check_interrupted();
    int rc = wait_status(pg_script);
    pg_script = -1;
    pg_started = rc == 0; /* a start that failed has left nothing running and removed DIR */
    if (rc == 3)
        die("PostgreSQL's server programs are not installed. Install the Debian package postgresql-15:\n"
            "      sudo apt-get install postgresql-15   (or sudo make deps)");
    if (rc != 0 || conninfo[0] == '\0')
        die("%s start %s failed (status %d; its message is above)", opt.pgtmp, opt.pg_dir, rc);
    pg_running = true;
    printf("demo: PostgreSQL started in %.1f s, on a Unix socket in %s\n", ms_since(t0) / 1e3, opt.pg_dir);
    return conninfo;
}

static void pg_stop(void)
{
    if (pg_script > 0) { /* interrupted while starting: the script's own trap removes what it made */
        kill(pg_script, SIGTERM);
        wait_status(pg_script);
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int rc = wait_status(run_pgtmp("stop", false, devnull, devnull));
    close(devnull);
    pg_started = false;
    if (rc == 0 && pg_running)
        printf("demo: PostgreSQL stopped, %s removed\n", opt.pg_dir);
    else if (rc != 0)
        fprintf(stderr, "demo: %s stop %s failed (status %d); its watchdog stops the cluster when the demo exits\n",
                opt.pgtmp, opt.pg_dir, rc);
}

void pg_cleanup(void)
{
    if (pg_started)
        pg_stop();
    if (pg_watch >= 0)
        close(pg_watch); /* only now: `stop` ends the watchdog first, then the server */
    pg_watch = -1;
}

/* ---- the items table, on the demo's own connection ---------------------------------------------------------- */

static PGresult *sql(const char *text, ExecStatusType want)
{
    PGresult *r = PQexec(admin, text);
    if (PQresultStatus(r) != want)
        die("`%.60s...` failed: %s", text, PQresultErrorMessage(r));
    return r;
}
static void sql_do(const char *text) { PQclear(sql(text, PGRES_COMMAND_OK)); }

/* The items table the tests use: --keys rows "item ID ....", and the two rows acts 1 and 4 read first. */
void fill_items(const char *conninfo)
{
    admin = PQconnectdb(conninfo);
    if (PQstatus(admin) != CONNECTION_OK)
        die("cannot connect to PostgreSQL: %s", PQerrorMessage(admin));
    int64_t t0 = now_ns();
    sql_do("CREATE TABLE items (id bigint PRIMARY KEY, body bytea NOT NULL, version bigint NOT NULL)");
    char text[512];
    snprintf(text, sizeof text,
             "INSERT INTO items SELECT g, convert_to('item ' || g || ' ' || repeat('.', 40 + g %% 100), 'UTF8'), 1 "
             "FROM generate_series(1, %ld) g",
             opt.keys);
    sql_do(text);
    snprintf(text, sizeof text, "INSERT INTO items VALUES (%ld, 'cold until now', 1), (%ld, 'last words', 1)", opt.keys + 1,
             opt.keys + 2);
    sql_do(text);
    printf("demo: items table filled: rows 1..%ld for the load, %ld and %ld for acts 1 and 4 (%.0f ms)\n", opt.keys,
           opt.keys + 1, opt.keys + 2, ms_since(t0));
}

/* A slow query without a sleep: the lock is held by a transaction left open until unlock_items(). */
void lock_items(void)
{
    sql_do("BEGIN");
    sql_do("LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
}
void unlock_items(void) { sql_do("COMMIT"); }

int waiting_queries(void)
{
    PGresult *r = sql("SELECT count(*) FROM pg_locks WHERE relation = 'items'::regclass AND NOT granted", PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

void admin_close(void)
{
    PQfinish(admin);
    admin = NULL;
}

/* ---- the service ----------------------------------------------------------------------------------------------- */

static pid_t service_pid = -1; /* while it runs and has not been waited for */

void service_start(const char *conninfo)
{
    char workers[16], pool[16], cache[16];
    snprintf(workers, sizeof workers, "%d", opt.workers);
    snprintf(pool, sizeof pool, "%d", opt.pool);
    snprintf(cache, sizeof cache, "%d", opt.cache_mb);
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    check_interrupted();
    fflush(NULL);
    /* The stop signals wait while the child still runs the demo's handlers: one sent to it before exec (a Ctrl-C
     * during the start) must reach the service's default action, not the demo's flag in a copy about to vanish. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &old);
    service_pid = fork();
    if (service_pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive the demo */
        setpgid(0, 0);                    /* Ctrl-C reaches the demo only; the demo then stops the service */
        dup2(out[1], STDOUT_FILENO);
        execl(opt.service, opt.service, "--port", "0", "--db", conninfo, "--workers", workers, "--pool", pool, "--cache-mb",
              cache, "--checkout-ms", "10000", (char *)NULL);
        fprintf(stderr, "demo: cannot run %s: %s\n", opt.service, strerror(errno));
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (service_pid < 0)
        die("fork: %s", strerror(errno));
    close(out[1]);
    char line[256];
    read_line(out[0], line, sizeof line, 20000);
    close(out[0]);
    check_interrupted();
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "listening on ", 13) != 0 || colon == NULL || (service_port = (uint16_t)atoi(colon + 1)) == 0) {
        int status = service_wait(now_ns(), 2000);
        if (status != -1 && WIFEXITED(status))
            fprintf(stderr, "demo: the service exited with status %d before listening\n", WEXITSTATUS(status));
        die("the service did not start (its own message, if any, is above). `make check CH=06` says which parts\n"
            "      are not working yet; `make demo CH=06` runs the reference solution");
    }
    printf("demo: started ws-service --workers %d --pool %d --cache-mb %d: %s\n", opt.workers, opt.pool, opt.cache_mb,
           line);
    metrics m = {.pool_idle = NAN};
    for (int64_t t0 = now_ns(); metrics_read(&m) && !(m.pool_idle >= opt.pool) && ms_since(t0) < 20000 && !interrupted;)
        usleep(20000);
    check_interrupted();
    if (!(m.pool_idle >= opt.pool))
        die("the pool's %d connections were not idle within 20 s (ws_pool_idle %g in /metrics)", opt.pool, m.pool_idle);
    printf("demo: its %d pool connections to PostgreSQL are open and idle\n\n", opt.pool);
}

void service_terminate(void)
{
    if (service_pid > 0) /* never kill(-1, ...): that would signal every process the demo may signal */
        kill(service_pid, SIGTERM);
}

bool service_exited(int *status)
{
    if (service_pid <= 0) /* waited for already; waitpid(-1, ...) would reap any child */
        return true;
    if (waitpid(service_pid, status, WNOHANG) == 0)
        return false;
    service_pid = -1;
    return true;
}

int service_wait(int64_t since, int timeout_ms)
{
    int status = -1;
    pid_t r;
    if (service_pid <= 0)
        return -1;
    while ((r = waitpid(service_pid, &status, WNOHANG)) == 0 && ms_since(since) < timeout_ms)
        usleep(1000);
    if (r != service_pid) {
        kill(service_pid, SIGKILL);
        waitpid(service_pid, NULL, 0);
        status = -1;
    }
    service_pid = -1;
    return status;
}

void service_stop(void)
{
    if (service_pid <= 0)
        return;
    kill(service_pid, SIGTERM); /* it drains, unless a table lock of the demo's own connection makes it wait */
    int status = service_wait(now_ns(), 10000);
    if (status == -1)
        fprintf(stderr, "demo: the service did not exit within 10 s of SIGTERM, and was killed\n");
    else if (WIFSIGNALED(status))
        fprintf(stderr, "demo: the service had died from signal %d\n", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "demo: the service exited with status %d\n", WEXITSTATUS(status));
}
