/*
 * first_output QEMU ARGS... — starts QEMU, reads its stdout, and prints the wall time in milliseconds from the
 * fork to the first appearance of "BENCH-FIRST", then to QEMU's exit:  first_ms=12.3 exit_ms=20.1 status=0
 * QEMU is killed after 10 s.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: first_output QEMU ARGS...\n");
        return 2;
    }
    int out[2];
    if (pipe(out) != 0)
        return perror("pipe"), 1;
    double start = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execvp(argv[1], argv + 1);
        perror(argv[1]);
        _exit(127);
    }
    close(out[1]);
    char seen[8192] = "";
    size_t len = 0;
    double first = -1;
    for (;;) {
        struct pollfd p = {out[0], POLLIN, 0};
        double left = start + 10000 - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(out[0], seen + len, sizeof seen - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        seen[len] = '\0';
        if (first < 0 && strstr(seen, "BENCH-FIRST"))
            first = now_ms() - start;
        if (len == sizeof seen - 1)
            len = 0;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    double end = now_ms() - start;
    if (first < 0) {
        fprintf(stderr, "first_output: the marker never appeared (status %d)\n", status);
        return 1;
    }
    printf("first_ms=%.2f exit_ms=%.2f status=%d\n", first, end, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
