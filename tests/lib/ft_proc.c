/* A program under test as a child process (ft_proc.h says what each function is for). */
#define _GNU_SOURCE
#include "ft_proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t ft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int left_ms(uint64_t deadline)
{
    uint64_t now = ft_now_ms();
    return now >= deadline ? 0 : (int)(deadline - now);
}

/* The child's side of the fork: stdout to @p out_fd, stdin from /dev/null, stderr maybe to a file, then exec. */
static void exec_child(const char *const *argv, pid_t parent, int out_fd, const char *stderr_path)
{
    /* If the test's process is gone already, the death signal was armed too late to come: leave at once. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(out_fd, 1);
    if (stderr_path != NULL) {
        int err = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
        if (err >= 0)
            dup2(err, 2);
    }
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Reads up to the first newline of @p fd into @p line, by @p deadline; true when a newline came. */
static bool read_line(int fd, char *line, size_t cap, uint64_t deadline)
{
    size_t len = 0;
    line[0] = '\0';
    while (len + 1 < cap) {
        struct pollfd pf = {fd, POLLIN, 0};
        int ready = poll(&pf, 1, left_ms(deadline));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            return false;
        ssize_t r = read(fd, line + len, 1); /* one byte at a time: nothing past the line is taken */
        if (r <= 0)
            return false;
        if (line[len] == '\n') {
            line[len] = '\0';
            return true;
        }
        line[++len] = '\0';
    }
    return false;
}

bool ft_proc_start(ft_proc *p, const char *const *argv, const char *stderr_path, int timeout_ms)
{
    p->pid = 0;
    p->line[0] = '\0';
    int out[2];
    if (pipe2(out, O_CLOEXEC) < 0)
        return false;
    fflush(NULL); /* nothing buffered is written twice, by the parent and by the child */
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(out[0]);
        close(out[1]);
        return false;
    }
    if (pid == 0)
        exec_child(argv, parent, out[1], stderr_path);
    close(out[1]);
    p->pid = pid;
    bool ok = read_line(out[0], p->line, sizeof p->line, ft_now_ms() + (uint64_t)timeout_ms);
    /* The read end closes: later output goes nowhere, and a program that writes a lot gets EPIPE or SIGPIPE. The
     * servers here print one line, so that is the contract, not a loss. */
    close(out[0]);
    if (!ok)
        ft_proc_stop(p, SIGKILL, 5000);
    return ok;
}

int ft_proc_wait(ft_proc *p, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    uint64_t deadline = ft_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return status;
        }
        if (r < 0 && errno == ECHILD) { /* reaped elsewhere: its status is lost */
            p->pid = 0;
            return -1;
        }
        if (left_ms(deadline) == 0)
            return -1;
        poll(NULL, 0, 5); /* polling a child's exit, bounded by the deadline above */
    }
}

int ft_proc_stop(ft_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    if (sig != 0)
        kill(p->pid, sig);
    int status = ft_proc_wait(p, timeout_ms);
    if (status == -1 && p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    return status;
}

int ft_proc_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}
