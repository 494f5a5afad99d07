/*
 * ft_pg.c — a throwaway PostgreSQL cluster for a chapter's tests: mk/pgtmp.sh run from the test binary (see
 * ft_pg.h). Linked into every chapter's test binary, so it needs nothing but the C library.
 */
#define _GNU_SOURCE /* pipe2, close_range */
#include "ft_pg.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FT_PG_MAX_CLUSTERS 4
#define FT_PG_EXIT_MISSING 3 /* mk/pgtmp.sh's status for "PostgreSQL is not installed" */
#define FT_PG_GRACE_S 30     /* after SIGTERM at the deadline, how long the script may take to clean up */

/* The clusters this process started. watch_fd is the write end of the pipe the script's watchdog reads: while it is
 * open in this process (or in a test's process forked from it) the cluster runs; once every copy is closed, the
 * watchdog stops it. O_CLOEXEC keeps it out of every program a test execs. Owned by the runner process only. */
static struct cluster {
    char dir[FT_PG_DIR_MAX];
    int watch_fd; /* -1: the slot is free */
} clusters[FT_PG_MAX_CLUSTERS] = {{"", -1}, {"", -1}, {"", -1}, {"", -1}};
static pid_t owner; /* the process that started them (0: none yet) */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

static const char *script_path(void)
{
    const char *path = getenv("FT_PGTMP");
    return path && *path ? path : "mk/pgtmp.sh";
}

/* In the forked child: stdin from @p watch_read (start --watch) or /dev/null, stdout into @p output, stderr the test
 * binary's; no other descriptor of the runner reaches the script, nor the server it starts. Never returns. */
static void exec_script(const char *command, const char *dir, int watch_read, int output)
{
    int input = watch_read >= 0 ? watch_read : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (input < 0 || dup2(input, STDIN_FILENO) < 0 || dup2(output, STDOUT_FILENO) < 0)
        _exit(126);
    if (close_range(3, ~0U, 0) != 0)
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    char *argv[] = {"bash", (char *)script_path(), (char *)command, (char *)dir, watch_read >= 0 ? "--watch" : NULL, NULL};
    execvp("bash", argv);
    dprintf(STDERR_FILENO, "ft_pg: cannot run bash %s: %s\n", argv[1], strerror(errno));
    _exit(127);
}

/* Waits for @p pid until @p deadline (monotonic seconds), then SIGTERMs it (its trap cleans up), and SIGKILLs it if
 * it is still there FT_PG_GRACE_S later. Sets *timed_out when the deadline passed. Returns the wait status. */
static int reap(pid_t pid, double deadline, bool *timed_out)
{
    int status = 0, signal_sent = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR))
            return status;
        if (now_s() >= deadline) {
            *timed_out = true;
            kill(pid, signal_sent ? SIGKILL : SIGTERM);
            deadline = now_s() + (signal_sent ? 3600 : FT_PG_GRACE_S);
            signal_sent = 1;
        }
        sleep_ms(10);
    }
}

/* Runs `bash SCRIPT COMMAND DIR` (with --watch when @p watch_read is a watch pipe's read end, else -1) and collects
 * what it prints into @p out (NUL-terminated, its last newline removed; *overflow set when it did not fit). */
static ft_pg_status run_script(const char *command, const char *dir, int watch_read, char *out, size_t size, bool *overflow)
{
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return FT_PG_ERR_SYSTEM;
    fflush(NULL); /* the child must not inherit unflushed output */
    pid_t pid = fork();
    if (pid < 0) {
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return FT_PG_ERR_SYSTEM;
    }
    if (pid == 0)
        exec_script(command, dir, watch_read, pipe_fds[1]);
    close(pipe_fds[1]);

    double deadline = now_s() + FT_PG_TIMEOUT_S;
    size_t used = 0;
    *overflow = false;
    for (;;) {
        int wait_ms = (int)((deadline - now_s()) * 1000);
        if (wait_ms <= 0)
            break;
        struct pollfd p = {.fd = pipe_fds[0], .events = POLLIN};
        int ready = poll(&p, 1, wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        char chunk[256];
        ssize_t n = read(pipe_fds[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* end of file: the script has ended, or closed its output */
        for (ssize_t i = 0; i < n; i++) {
            if (used + 1 < size)
                out[used++] = chunk[i];
            else
                *overflow = true;
        }
    }
    close(pipe_fds[0]);
    bool timed_out = false;
    int status = reap(pid, deadline, &timed_out);
    if (size > 0) {
        out[used] = '\0';
        if (used > 0 && out[used - 1] == '\n')
            out[used - 1] = '\0';
    }
    if (timed_out)
        return FT_PG_ERR_TIMEOUT;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return FT_PG_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == FT_PG_EXIT_MISSING)
        return FT_PG_ERR_MISSING;
    return FT_PG_ERR_FAILED;
}

static struct cluster *find_cluster(const char *dir)
{
    for (size_t i = 0; i < FT_PG_MAX_CLUSTERS; i++)
        if (clusters[i].watch_fd >= 0 && strcmp(clusters[i].dir, dir) == 0)
            return &clusters[i];
    return NULL;
}

/* At the runner's exit, every cluster it started; a test's forked process, which exits through here too, must not. */
static void stop_all_at_exit(void)
{
    if (getpid() != owner)
        return;
    for (size_t i = 0; i < FT_PG_MAX_CLUSTERS; i++) {
        if (clusters[i].watch_fd < 0)
            continue;
        ft_pg_status status = ft_pg_stop(clusters[i].dir);
        if (status != FT_PG_OK)
            fprintf(stderr, "ft_pg: stopping the cluster in %s: %s\n", clusters[i].dir, ft_pg_status_text(status));
    }
}

ft_pg_status ft_pg_start(const char *dir, char *conninfo, size_t size)
{
    if (size > 0)
        conninfo[0] = '\0';
    if ((owner != 0 && owner != getpid()) || find_cluster(dir) || strlen(dir) >= FT_PG_DIR_MAX)
        return FT_PG_ERR_BUSY;
    struct cluster *slot = NULL;
    for (size_t i = 0; i < FT_PG_MAX_CLUSTERS && !slot; i++)
        if (clusters[i].watch_fd < 0)
            slot = &clusters[i];
    if (!slot)
        return FT_PG_ERR_BUSY;

    int watch[2];
    if (pipe2(watch, O_CLOEXEC) != 0)
        return FT_PG_ERR_SYSTEM;
    bool overflow;
    ft_pg_status status = run_script("start", dir, watch[0], conninfo, size, &overflow);
    close(watch[0]);
    if (status == FT_PG_OK && (overflow || size == 0 || conninfo[0] == '\0')) {
        status = overflow || size == 0 ? FT_PG_ERR_SIZE : FT_PG_ERR_FAILED; /* FAILED: it printed no line */
        char ignored[64];
        if (run_script("stop", dir, -1, ignored, sizeof ignored, &overflow) != FT_PG_OK)
            fprintf(stderr, "ft_pg: could not stop the cluster in %s again\n", dir);
    }
    if (status != FT_PG_OK) {
        close(watch[1]); /* the watchdog, if one runs, stops whatever is left */
        if (size > 0)
            conninfo[0] = '\0';
        return status;
    }
    snprintf(slot->dir, sizeof slot->dir, "%s", dir);
    slot->watch_fd = watch[1];
    if (owner == 0) {
        owner = getpid();
        atexit(stop_all_at_exit);
    }
    return FT_PG_OK;
}

ft_pg_status ft_pg_stop(const char *dir)
{
    if (owner != 0 && owner != getpid())
        return FT_PG_ERR_BUSY;
    char ignored[64];
    bool overflow;
    /* The script ends the watchdog first, then the server; closing the pipe only then keeps the two from racing. */
    ft_pg_status status = run_script("stop", dir, -1, ignored, sizeof ignored, &overflow);
    struct cluster *cluster = find_cluster(dir);
    if (cluster && status == FT_PG_OK) {
        close(cluster->watch_fd);
        cluster->watch_fd = -1;
        cluster->dir[0] = '\0';
    }
    return status;
}

bool ft_pg_scratch_dir(char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(dir, size, "%s/ferrite-pg-%ld", tmp, (long)getpid());
    /* mk/pgtmp.sh puts the socket at DIR/.s.PGSQL.5432, which must fit in 107 bytes. */
    if (n < 0 || (size_t)n >= size || n + 15 > 107) {
        if (size > 0)
            dir[0] = '\0';
        return false;
    }
    return true;
}

const char *ft_pg_status_text(ft_pg_status status)
{
    switch (status) {
    case FT_PG_OK:
        return "ok";
    case FT_PG_ERR_MISSING:
        return "PostgreSQL is not installed (install postgresql-15: sudo make deps)";
    case FT_PG_ERR_FAILED:
        return "mk/pgtmp.sh failed (its message is above, on stderr)";
    case FT_PG_ERR_TIMEOUT:
        return "mk/pgtmp.sh did not finish in time and was stopped";
    case FT_PG_ERR_SYSTEM:
        return "could not run mk/pgtmp.sh (pipe, fork or exec failed)";
    case FT_PG_ERR_SIZE:
        return "the connection string did not fit in the buffer given";
    case FT_PG_ERR_BUSY:
        return "refused: called from a test's process, for a folder already started, or past 4 clusters";
    }
    return "unknown status";
}
