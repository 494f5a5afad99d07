/*
 * timer.c: times one program for the performance tests (perf.py), inside the sandbox.
 *
 *   timer LOG PROGRAM [ARG...]
 *
 * Runs PROGRAM and writes one line to the file LOG: "<cpu seconds> <wall seconds> <exit status>", where cpu is user
 * plus system time of PROGRAM and every descendant it waited for. PROGRAM starts with no descriptor but 0, 1 and 2,
 * so it cannot write to LOG through an inherited one; a second line (written some other way) makes perf.py discard
 * the measurement.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: timer LOG PROGRAM [ARG...]\n");
        return 2;
    }
    int log = open(argv[1], O_WRONLY | O_CLOEXEC);
    if (log < 0) {
        perror(argv[1]);
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        close_range(3, ~0U, 0);
        execv(argv[2], argv + 2);
        perror(argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    dprintf(log, "%.6f %.6f %d\n", seconds(ru.ru_utime) + seconds(ru.ru_stime), wall, code);
    return code;
}
