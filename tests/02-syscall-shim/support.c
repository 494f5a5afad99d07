/* Test helpers for chapter 02; see support.h. */
#define _GNU_SOURCE
#include "support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

char scratch_dir[256];
char scratch_file[288];

void scratch_setup(void)
{
    /* A failing assertion ends the test's process through exit() before the test reaches scratch_teardown():
     * clean up then too, so no run leaves directories behind in /tmp. */
    static bool cleanup_registered;
    if (!cleanup_registered)
        cleanup_registered = atexit(scratch_teardown) == 0;
    /* Under the build directory when make says where (a test killed by a signal still leaves its directory
     * behind, and there it goes with `make clean`); in /tmp otherwise, or when that place is not writable. */
    const char *base = getenv("SYS02_SCRATCH");
    int fits = base && *base ? snprintf(scratch_dir, sizeof scratch_dir, "%s/ch02-XXXXXX", base) : -1;
    if (fits < 0 || (size_t)fits >= sizeof scratch_dir || mkdtemp(scratch_dir) == NULL) {
        snprintf(scratch_dir, sizeof scratch_dir, "/tmp/ferrite-ch02-XXXXXX");
        ck_assert_msg(mkdtemp(scratch_dir) != NULL, "cannot create a scratch directory in /tmp");
    }
    snprintf(scratch_file, sizeof scratch_file, "%s/data", scratch_dir);
    static char pages[3][4096];
    memset(pages, 0, sizeof pages);
    memcpy(pages[0], DATA_TEXT, sizeof DATA_TEXT);
    memset(pages[1], 'b', 4096);
    memset(pages[2], 'c', 4096);
    int fd = open(scratch_file, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_msg(fd >= 0, "cannot create %s", scratch_file);
    ck_assert_msg(write(fd, pages, sizeof pages) == (ssize_t)sizeof pages, "cannot fill %s", scratch_file);
    close(fd);
}

void scratch_teardown(void)
{
    if (scratch_dir[0] == '\0')
        return;
    char extra[300];
    snprintf(extra, sizeof extra, "%s/created", scratch_dir);
    unlink(extra);
    unlink(scratch_file);
    rmdir(scratch_dir);
    scratch_dir[0] = '\0';
}

void *efault_page(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(p != MAP_FAILED, "mmap of a test page failed");
    ck_assert_msg(mprotect(p, 4096, PROT_NONE) == 0, "mprotect of a test page failed");
    return p;
}

/* Reads both pipes until the child closes them; poll keeps a full stderr from blocking a stdout read. */
void collect_output(int out_fd, int err_fd, run_result *r)
{
    size_t n_out = 0, n_err = 0;
    struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open_fds = 2;
    char sink[4096];
    while (open_fds > 0 && poll(fds, 2, -1) > 0) {
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char *buf = i == 0 ? r->out : r->err;
            size_t *n = i == 0 ? &n_out : &n_err;
            size_t room = sizeof r->out - 1 - *n;
            ssize_t got = room ? read(fds[i].fd, buf + *n, room) : read(fds[i].fd, sink, sizeof sink);
            if (got <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            } else if (room) {
                *n += (size_t)got;
            }
        }
    }
    r->out[n_out] = '\0';
    r->err[n_err] = '\0';
}

pid_t start_program(const char *const *argv, bool traced, int *out_fd, int *err_fd)
{
    int out[2], err[2];
    ck_assert_msg(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0, "pipe2 failed");
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork failed");
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        char *const envp[] = {NULL};
        if (traced && ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
            _exit(126);
        /* SAFETY: execve does not modify the argument strings; the cast only drops const for its prototype. */
        execve(argv[0], (char *const *)argv, envp);
        dprintf(2, "cannot execute %s\n", argv[0]);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    *out_fd = out[0];
    *err_fd = err[0];
    return pid;
}

void run_program(const char *const *argv, run_result *r)
{
    int out_fd, err_fd;
    pid_t pid = start_program(argv, false, &out_fd, &err_fd);
    collect_output(out_fd, err_fd, r);
    ck_assert_msg(waitpid(pid, &r->status, 0) == pid, "waitpid failed");
}

const char *describe_status(int status)
{
    static char text[96];
    if (WIFEXITED(status))
        snprintf(text, sizeof text, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(text, sizeof text, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(text, sizeof text, "stopped with wait status %#x", status);
    return text;
}

const char *program_path(const char *name, const char *what)
{
    const char *path = getenv(name);
    ck_assert_msg(path && *path, "%s is not set: run these tests with `make check CH=02`, which builds %s", name, what);
    ck_assert_msg(access(path, X_OK) == 0, "%s was not built: the make output above the table shows the compiler's errors",
                  path);
    return path;
}

/* Fails unless the run printed "ok CHECK" and exited 0; the probe's own line explains a failure. */
static void expect_probe_ok(const char *who, const char *check, const run_result *r)
{
    char want[64];
    snprintf(want, sizeof want, "ok %s\n", check);
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 && strcmp(r->out, want) == 0, "%s %s %s: %.*s%s%s",
                  who, check, describe_status(r->status), (int)strcspn(r->out, "\n"), r->out[0] ? r->out : "(no output)",
                  r->err[0] ? "; stderr: " : "", r->err);
}

void run_host_probes(const char *check)
{
    const char *list = getenv("SYS02_PROBES");
    ck_assert_msg(list && *list, "SYS02_PROBES is not set: run these tests with `make check CH=02`");
    char paths[1024];
    snprintf(paths, sizeof paths, "%s", list);
    for (char *save = NULL, *path = strtok_r(paths, ":", &save); path; path = strtok_r(NULL, ":", &save)) {
        ck_assert_msg(access(path, X_OK) == 0,
                      "%s was not built: the make output above the table shows the compiler's errors", path);
        const char *argv[] = {path, check, NULL};
        run_result r;
        run_program(argv, &r);
        expect_probe_ok(strrchr(path, '/') ? strrchr(path, '/') + 1 : path, check, &r);
    }
}

void require_aarch64_tools(void)
{
    const char *missing = getenv("SYS02_A64_MISSING");
    if (missing && *missing) {
        char list[256];
        snprintf(list, sizeof list, "%s", missing);
        for (char *c = list; *c; c++)
            if (*c == ':')
                *c = ' ';
        FT_SKIP("the aarch64 tools are missing: install the Debian packages %s (sudo make deps)", list);
    }
}

void run_aarch64_probe(const char *check)
{
    require_aarch64_tools();
    const char *qemu = program_path("SYS02_QEMU", "nothing: it names qemu-aarch64");
    const char *probe = program_path("SYS02_A64_PROBE", "the aarch64 probe");
    const char *argv[] = {qemu, probe, check, NULL};
    run_result r;
    run_program(argv, &r);
    expect_probe_ok("qemu-aarch64 probe-aarch64", check, &r);
}
