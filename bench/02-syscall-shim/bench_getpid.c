/*
 * Chapter 02 benchmark program: N raw getpid calls, by one of several routes.
 *
 *   bench_getpid MODE N     MODE: baseline | shim | glibc-syscall | glibc-getpid
 *
 * Every mode runs the same loop and adds each answer to a volatile sum; `baseline` adds the loop counter instead
 * and makes no call. Under callgrind, (instructions of MODE - instructions of baseline) / N is the user-space cost
 * of one call by that route: what the shim costs against glibc's generic syscall() and its getpid() wrapper. The
 * kernel's side is the same for all and is not counted.
 */
#define _GNU_SOURCE
#include "sys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile uintptr_t sum;

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench_getpid baseline|shim|glibc-syscall|glibc-getpid N\n");
        return 2;
    }
    const char *mode = argv[1];
    long n = strtol(argv[2], NULL, 10);
    if (!strcmp(mode, "baseline")) {
        for (long i = 0; i < n; i++)
            sum += (uintptr_t)i;
    } else if (!strcmp(mode, "shim")) {
        for (long i = 0; i < n; i++)
            sum += sys_getpid().value;
    } else if (!strcmp(mode, "glibc-syscall")) {
        for (long i = 0; i < n; i++)
            sum += (uintptr_t)syscall(SYS_getpid);
    } else if (!strcmp(mode, "glibc-getpid")) {
        for (long i = 0; i < n; i++)
            sum += (uintptr_t)getpid();
    } else {
        fprintf(stderr, "bench_getpid: unknown mode %s\n", mode);
        return 2;
    }
    /* A correct route returns the pid every time. */
    if (strcmp(mode, "baseline") && n > 0 && sum != (uintptr_t)n * (uintptr_t)getpid()) {
        fprintf(stderr, "bench_getpid: %s returned something other than the pid\n", mode);
        return 1;
    }
    return 0;
}
