/*
 * reaper.c: the first process of every command the sandbox runs (sandbox.py), started by it inside the jail.
 *
 *   reaper REPORT_FD COMMAND [ARG...]
 *
 * Runs COMMAND and waits for it. The reaper is the "child subreaper" of everything COMMAND starts: a process whose
 * parent has ended (a daemon, a grandchild started with setsid) becomes the reaper's child instead of escaping to
 * init, so nothing COMMAND started can leave its view. Once COMMAND has ended, what it started has a moment to end
 * too (Check kills each test's process group just before it reaps the test, and a killed process takes a little
 * while to go); whatever is still there after that was left running: the reaper kills it, with every process it
 * started in turn, and counts them. Then it writes one line to REPORT_FD, "<status> <processes left>", the status
 * as a shell gives it (128 + the signal for a command killed by one), and exits with that status.
 *
 * COMMAND and all it starts run under the reaper's uid. The reaper is made non-dumpable before COMMAND exists, so
 * none of them can ptrace it or open its descriptors in /proc; REPORT_FD is close-on-exec, so COMMAND never holds
 * it. A process that kills or stops the reaper prevents the report, and the harness takes a run without a report
 * as one that did not end cleanly. It kills by process id, never kill(-1): without a uid of its own per run
 * (the harness not running as root) that would reach the grader's own processes.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { GRACE_MS = 1000, KILL_MS = 3000, POLL_US = 2000 };

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

static int shell_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

/* Reaps every child that has ended, without waiting; returns how many, or -1 once no child is left at all. */
static int reap_ended(void)
{
    int reaped = 0;
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0) {
            reaped++;
        } else if (pid == 0 || errno == EINTR) {
            return reaped;
        } else {
            return reaped > 0 ? reaped : -1; /* ECHILD: none left; the caller sees that on its next call */
        }
    }
}

/* Sends SIGKILL to every living child of this process, found in /proc (the reaper has no other list of the
 * processes it adopted). */
static void kill_children(void)
{
    DIR *proc = opendir("/proc");
    if (proc == NULL)
        return;
    pid_t self = getpid();
    struct dirent *entry;
    while ((entry = readdir(proc)) != NULL) {
        char *end;
        long pid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || pid == self)
            continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, stat, sizeof stat - 1);
        close(fd);
        if (got <= 0)
            continue;
        stat[got] = '\0';
        /* "pid (comm) state ppid ...": comm may hold anything, so read from its last ')' */
        char *after = strrchr(stat, ')');
        char state;
        long ppid;
        if (after != NULL && sscanf(after + 1, " %c %ld", &state, &ppid) == 2 && ppid == self)
            kill((pid_t)pid, SIGKILL);
    }
    closedir(proc);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: reaper REPORT_FD COMMAND [ARG...]\n");
        return 125;
    }
    int report = atoi(argv[1]);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 ||
        fcntl(report, F_SETFD, FD_CLOEXEC) != 0) {
        perror("reaper");
        return 125;
    }
    pid_t command = fork();
    if (command < 0) {
        perror("reaper: fork");
        return 125;
    }
    if (command == 0) {
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
        execvp(argv[2], argv + 2);
        fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status;
    for (;;) { /* processes adopted while COMMAND runs are reaped as they end; only COMMAND's end matters */
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == command)
            break;
        if (pid < 0 && errno != EINTR) {
            perror("reaper: waitpid");
            return 125;
        }
    }
    struct timespec ended;
    clock_gettime(CLOCK_MONOTONIC, &ended);
    while (reap_ended() >= 0 && elapsed_ms(&ended) < GRACE_MS)
        usleep(POLL_US);
    int left = 0, reaped;
    clock_gettime(CLOCK_MONOTONIC, &ended);
    while ((reaped = reap_ended()) >= 0 && elapsed_ms(&ended) < KILL_MS) {
        left += reaped;
        kill_children();
        usleep(POLL_US);
    }
    if (reaped >= 0)
        left++; /* still not gone: at least one more, which the sandbox's own sweep will take */
    dprintf(report, "%d %d\n", shell_status(status), left);
    return shell_status(status);
}
