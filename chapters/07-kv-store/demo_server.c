/*
 * Chapter 07 demo: the kv-server process, its INFO figures, and the store's directory. Main thread only.
 * The server is a child in a process group of its own (a Ctrl-C reaches the demo, which then stops it) that dies
 * with the demo (PR_SET_PDEATHSIG), so it never outlives it, however the demo ends.
 */
#define _GNU_SOURCE
#include "demo_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the store's directory ------------------------------------------------------------------------------------- */

static char store_dir[4096]; /* empty until made, and again once removed */

const char *store_dir_make(void)
{
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", opt.dir);
    for (char *p = parent + 1; *p; p++) { /* mkdir -p */
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(parent, 0755);
        *p = '/';
    }
    if (mkdir(parent, 0755) < 0 && errno != EEXIST)
        die("cannot make %s: %s", parent, strerror(errno));
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/store-XXXXXX", opt.dir) >= sizeof path || mkdtemp(path) == NULL)
        die("cannot make a directory in %s: %s", opt.dir, strerror(errno));
    snprintf(store_dir, sizeof store_dir, "%s", path);
    return store_dir;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0)
        fprintf(stderr, "demo: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

void store_dir_remove(void)
{
    if (store_dir[0] == '\0')
        return;
    if (opt.keep)
        printf("demo: the store is kept in %s\n", store_dir);
    else /* depth first and without following links: only what is inside the directory the demo made */
        nftw(store_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    store_dir[0] = '\0';
}

/* ---- the process ------------------------------------------------------------------------------------------------- */

static pid_t server_pid = -1; /* while it runs and has not been waited for */

/* Reads one line from @p fd into @p line within @p timeout_ms; false on end of file or timeout. */
static bool read_line(int fd, char *line, size_t cap, int timeout_ms)
{
    size_t len = 0;
    int64_t t0 = now_ns();
    while (len + 1 < cap && !interrupted) {
        int left = timeout_ms - (int)ms_since(t0);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || (poll(&p, 1, left < 100 ? left : 100) < 0 && errno != EINTR))
            break;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(fd, line + len, 1);
        if (n <= 0)
            break;
        if (line[len] == '\n') {
            line[len] = '\0';
            return true;
        }
        len++;
    }
    line[len] = '\0';
    return false;
}

/* Waits up to @p timeout_ms for the server to exit; its wait status, or -1 after a SIGKILL. */
static int server_wait(int timeout_ms)
{
    int status = -1;
    pid_t r;
    if (server_pid <= 0) /* waitpid(-1, ...) would reap any child */
        return -1;
    int64_t t0 = now_ns();
    while ((r = waitpid(server_pid, &status, WNOHANG)) == 0 && ms_since(t0) < timeout_ms)
        usleep(2000);
    if (r != server_pid) {
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        status = -1;
    }
    server_pid = -1;
    return status;
}

uint16_t server_start(void)
{
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    check_interrupted();
    fflush(NULL);
    /* The stop signals wait while the child still runs the demo's handlers: one sent to it before exec must reach
     * the server's own handling, not the demo's flag in a copy about to vanish. */
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigprocmask(SIG_BLOCK, &stops, &old);
    server_pid = fork();
    if (server_pid == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the demo */
        setpgid(0, 0);                    /* Ctrl-C reaches the demo only; the demo then stops the server */
        dup2(out[1], STDOUT_FILENO);
        execl(opt.server, opt.server, "--dir", store_dir, "--port", "0", "--sync", "always", "--quiet", (char *)NULL);
        fprintf(stderr, "demo: cannot run %s: %s\n", opt.server, strerror(errno));
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (server_pid < 0)
        die("fork: %s", strerror(errno));
    close(out[1]);
    char line[64];
    bool got = read_line(out[0], line, sizeof line, 30000); /* the first line is the port number alone */
    close(out[0]);
    check_interrupted();
    int port = got ? atoi(line) : 0;
    if (port <= 0 || port > 65535) {
        int status = server_wait(got ? 0 : 2000);
        if (status != -1 && WIFEXITED(status))
            fprintf(stderr, "demo: kv-server exited with status %d before it listened\n", WEXITSTATUS(status));
        die("kv-server did not start: its own message above names the part that is missing or failing.\n"
            "      `make check CH=07 IMPL=chapters` says which parts work; `make demo CH=07` runs the reference "
            "solution");
    }
    return (uint16_t)port;
}

void server_kill9(void)
{
    if (server_pid <= 0)
        return;
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    server_pid = -1;
}

bool server_stop(void)
{
    if (server_pid <= 0)
        return false;
    kill(server_pid, SIGTERM); /* it finishes what its connections have read, closes the store and exits 0 */
    int status = server_wait(15000);
    if (status == -1)
        fprintf(stderr, "demo: kv-server did not exit within 15 s of SIGTERM, and was killed\n");
    else if (WIFSIGNALED(status))
        fprintf(stderr, "demo: kv-server died from signal %d\n", WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        fprintf(stderr, "demo: kv-server exited with status %d\n", WEXITSTATUS(status));
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- clients and INFO ------------------------------------------------------------------------------------------ */

kv_client *client_open_or_die(uint16_t port, size_t pool_size, uint32_t max_retries)
{
    kv_client_options o = {.port = port,
                           .pool_size = pool_size,
                           .connect_timeout_ms = 5000,
                           .request_timeout_ms = 10000, /* an fsync on a busy machine can take seconds */
                           .max_retries = max_retries};
    kv_client *c;
    kv_status st = kv_client_open(&o, &c);
    if (st == KV_TODO)
        die("part 6 (client.c, the client driver) is not written yet: kv_client_open returned KV_TODO, and the demo\n"
            "      drives the server with it. `make demo CH=07` runs the reference solution");
    if (st != KV_OK)
        die("kv_client_open failed: %s", status_name(st));
    return c;
}

/* The number after "\nNAME:" in @p text; false when the line is not there. */
static bool info_field(const char *text, const char *name, uint64_t *out)
{
    char want[64];
    snprintf(want, sizeof want, "\n%s:", name);
    const char *p = strstr(text, want);
    if (p == NULL)
        return false;
    *out = strtoull(p + strlen(want), NULL, 10);
    return true;
}

bool info_read(kv_client *c, server_info *out)
{
    const char *argv[] = {"INFO"};
    kv_reply *r = NULL;
    const uint8_t *data;
    size_t len;
    if (kv_client_exec(c, KV_CLIENT_IDEMPOTENT, 1, argv, NULL, &r) != KV_OK || kv_reply_as_bytes(r, &data, &len) != KV_OK) {
        kv_reply_free(r);
        return false;
    }
    const char *text = (const char *)data; /* a NUL follows the bytes (client.h) */
    bool ok = info_field(text, "writes", &out->writes) && info_field(text, "log_syncs", &out->log_syncs) &&
              info_field(text, "recovered_records", &out->recovered_records) &&
              info_field(text, "recovery_us", &out->recovery_us) && info_field(text, "segments", &out->segments) &&
              info_field(text, "flushes", &out->flushes);
    kv_reply_free(r);
    return ok;
}
