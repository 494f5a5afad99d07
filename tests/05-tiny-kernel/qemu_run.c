/*
 * qemu_run.c — fork/exec QEMU with a timeout, capture its output, grade it with regexes (test support).
 */
#define _GNU_SOURCE
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Why the image is missing: the first lines of the build log the make fragment left next to the images. */
static void explain_missing_image(k05_run *r, const char *dir, const char *image)
{
    char log_path[4096], line[256], excerpt[600] = "";
    snprintf(log_path, sizeof log_path, "%s/build.log", dir);
    FILE *log = fopen(log_path, "r");
    size_t used = 0;
    while (log && fgets(line, sizeof line, log) && used < sizeof excerpt - sizeof line) {
        if (strstr(line, "error") || strstr(line, "Error") || strstr(line, "not found")) {
            strcpy(excerpt + used, line);
            used += strlen(line);
        }
    }
    if (log)
        fclose(log);
    snprintf(r->problem, sizeof r->problem,
             "no kernel image %.300s: it did not build. The cross build (arm-none-eabi-gcc, Debian packages "
             "gcc-arm-none-eabi libnewlib-arm-none-eabi) said:\n%.600s(full log: %.300s)",
             image, used ? excerpt : "(nothing: run the tests through `make check CH=05`)\n", log_path);
}

/* The child: QEMU with stdout and stderr on the pipes; it dies with the test process. */
static void exec_qemu(const char *qemu, const char *image, int out_fd, int err_fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(err_fd, STDERR_FILENO);
    execlp(qemu, qemu, "-M", "mps2-an385", "-display", "none", "-monitor", "none", "-serial", "stdio",
           "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,sleep=off", "-kernel", image,
           (char *)NULL);
    fprintf(stderr, "K05-EXEC-FAILED: %s\n", strerror(errno));
    _exit(127);
}

/* Appends what is readable on fd to buf (keeping a NUL); returns false at end of file. */
static bool drain(int fd, char *buf, size_t cap, size_t *len)
{
    char chunk[1024];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0)
        return n < 0 && errno == EINTR;
    size_t room = cap - 1 - *len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(buf + *len, chunk, take);
    *len += take;
    buf[*len] = '\0';
    return true;
}

void k05_boot(const char *scenario, k05_run *r)
{
    memset(r, 0, sizeof *r);
    const char *dir = getenv("K05_IMAGES");
    const char *qemu = getenv("K05_QEMU") ? getenv("K05_QEMU") : "qemu-system-arm";
    if (!dir) {
        snprintf(r->problem, sizeof r->problem, "K05_IMAGES is not set: run the tests with `make check CH=05`");
        return;
    }
    char image[4096];
    snprintf(image, sizeof image, "%s/%s.elf", dir, scenario);
    if (access(image, R_OK) != 0) {
        explain_missing_image(r, dir, image);
        return;
    }
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        snprintf(r->problem, sizeof r->problem, "pipe: %s", strerror(errno));
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->problem, sizeof r->problem, "fork: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        exec_qemu(qemu, image, out[1], err[1]);
    close(out[1]);
    close(err[1]);
    size_t err_len = 0;
    bool out_open = true, err_open = true;
    double deadline = now_s() + K05_TIMEOUT_S;
    while (out_open || err_open) {
        double left = deadline - now_s();
        if (left <= 0) {
            r->timed_out = true;
            break;
        }
        struct pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
        if (poll(fds, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        if (out_open && (fds[0].revents & (POLLIN | POLLHUP)))
            out_open = drain(out[0], r->out, sizeof r->out, &r->len);
        if (err_open && (fds[1].revents & (POLLIN | POLLHUP)))
            err_open = drain(err[0], r->err, sizeof r->err, &err_len);
    }
    if (r->timed_out)
        kill(pid, SIGKILL); /* never leave QEMU running */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(out[0]);
    close(err[0]);
    if (WIFEXITED(status) && !r->timed_out) {
        r->exited = true;
        r->status = WEXITSTATUS(status);
    }
    if (strstr(r->err, "K05-EXEC-FAILED"))
        snprintf(r->problem, sizeof r->problem, "cannot run %.200s (%.300s): install the Debian package qemu-system-arm",
                 qemu, r->err);
}

/* ---- grading ------------------------------------------------------------------------------------------------ */

struct report {
    char text[3000];
    size_t len;
    bool failed;
};

static void say(struct report *rep, const char *fmt, ...)
{
    if (rep->len >= sizeof rep->text - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(rep->text + rep->len, sizeof rep->text - rep->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        rep->len += (size_t)n < sizeof rep->text - rep->len ? (size_t)n : sizeof rep->text - rep->len - 1;
}

static bool matches(const char *pattern, const char *text)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        ck_abort_msg("bad regex in the test itself: %s", pattern);
    bool hit = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

/* What the kernel's QEMU exit statuses mean (kernel.h), said after a status that was not the expected one. */
static const char *exit_meaning(int status)
{
    switch (status) {
    case 0:
        return "every process exited with code 0";
    case K_EXIT_FAULTED:
        return "K_EXIT_FAULTED: a process faulted and the kernel stopped it";
    case K_EXIT_PANIC:
        return "K_EXIT_PANIC: the kernel panicked";
    case K_EXIT_KERNEL_RETURNED:
        return "K_EXIT_KERNEL_RETURNED: k_main returned, as the skeleton's does; the kernel loop is part 4";
    case -1:
        return "QEMU did not exit by itself";
    default:
        return "a process's own exit code, passed on by k_exit_status";
    }
}

/* @p pattern as it reads in the test's source: a newline (in a class such as [^\n]) written as \n. */
static const char *readable(const char *pattern)
{
    static char out[512];
    size_t n = 0;
    for (; *pattern && n + 3 < sizeof out; pattern++) {
        if (*pattern == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else {
            out[n++] = *pattern;
        }
    }
    out[n] = '\0';
    return out;
}

void k05_expect(const k05_run *r, const char *const *good, const char *const *bad, int status)
{
    struct report rep = {.len = 0};
    say(&rep, "\n");
    for (; good && *good; good++) {
        bool hit = matches(*good, r->out);
        rep.failed |= !hit;
        say(&rep, "    %-7s /%s/\n", hit ? "GOOD" : "MISSING", readable(*good));
    }
    for (; bad && *bad; bad++) {
        bool hit = matches(*bad, r->out);
        rep.failed |= hit;
        say(&rep, "    %-7s /%s/%s\n", hit ? "BAD" : "GOOD", readable(*bad), hit ? " appeared" : " absent");
    }
    if (r->timed_out) {
        rep.failed = true;
        say(&rep, "    BAD     QEMU still running after %d s: killed (a kernel that never exits, or a hang)\n",
            K05_TIMEOUT_S);
    } else if (!r->exited || r->status != status) {
        rep.failed = true;
        int got = r->exited ? r->status : -1;
        say(&rep, "    BAD     exit status %d (%s), expected %d (%s)\n", got, exit_meaning(got), status,
            exit_meaning(status));
    } else {
        say(&rep, "    GOOD    exit status %d\n", status);
    }
    size_t tail = r->len > 1200 ? r->len - 1200 : 0;
    ck_assert_msg(!rep.failed, "%s    --- UART transcript%s ---\n%s%s%s", rep.text, tail ? " (end)" : "", r->out + tail,
                  r->err[0] ? "    --- QEMU stderr ---\n" : "", r->err);
}

void k05_scenario(const char *scenario, const char *const *good, const char *const *bad, int status)
{
    static k05_run r; /* 18 KiB: too much for a test's stack under Valgrind's defaults */
    k05_boot(scenario, &r);
    ck_assert_msg(r.problem[0] == '\0', "%s", r.problem);
    k05_expect(&r, good, bad, status);
}
