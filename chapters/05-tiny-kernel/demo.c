/*
 * demo.c — chapter 05's demo: three processes on the tiny kernel, one of which breaks the rules.
 *
 * This one file is two programs:
 *   - on ARM (the kernel image, built as user_demo.o so kernel.ld puts it in process flash): the processes;
 *   - on the host: the launcher `make demo CH=05` runs, which boots that image under QEMU and explains the
 *     exit status. It is the same command line the tests use, minus their timeout.
 *
 *   make demo CH=05                 # the reference kernel
 *   make demo CH=05 IMPL=chapters   # yours
 */
#if defined(__arm__)

#include "user.h"

/* "ping" and "pong" share a priority and never yield: SysTick alone interleaves them. */
static void player_main(uint32_t arg)
{
    const char *label = arg == 0 ? "ping " : "    pong ";
    for (int32_t i = 1; i <= 5; i++) {
        u_print(label, i);
        u_spin(50000);
    }
    u_exit(0);
}

/* "oops" tries to print the way the kernel does — by writing the UART's data register. Unprivileged code has
 * no MPU region there, so the store faults; the kernel stops oops and reports the address. */
static void oops_main(uint32_t arg)
{
    (void)arg;
    u_puts("oops: console too slow, writing the UART myself");
    *(volatile uint32_t *)0x40004000u = '!'; /* SAFETY: none — this is the point of the demo */
    u_puts("oops: that worked?!");
    u_exit(1);
}

const k_app k_apps[] = {
    {"ping", player_main, 0, 1, 1024},
    {"pong", player_main, 1, 1, 1024},
    {"oops", oops_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];

#else /* the host launcher */

#define _POSIX_C_SOURCE 200809L
#include "kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s KERNEL.elf   (or simply: make demo CH=05)\n", argv[0]);
        return 2;
    }
    const char *qemu = getenv("K05_QEMU") ? getenv("K05_QEMU") : "qemu-system-arm";
    /* clang-format off */
    char *args[] = {(char *)qemu, "-M", "mps2-an385", "-display", "none", "-monitor", "none", "-serial", "stdio",
                    "-semihosting-config", "enable=on,target=native", "-icount", "shift=0,sleep=off",
                    "-kernel", argv[1], NULL};
    /* clang-format on */
    printf("$ %s -M mps2-an385 ... -icount shift=0,sleep=off -kernel %s\n\n", qemu, argv[1]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        execvp(qemu, args);
        fprintf(stderr, "cannot run %s: %s; install the Debian package qemu-system-arm\n", qemu, strerror(errno));
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        perror("waitpid");
        return 1;
    }
    if (!WIFEXITED(status)) {
        printf("\nQEMU was killed by signal %d\n", WTERMSIG(status));
        return 1;
    }
    int code = WEXITSTATUS(status);
    printf("\nQEMU exited with status %d: ", code);
    if (code == 0)
        printf("every process exited with code 0\n");
    else if (code == K_EXIT_FAULTED)
        printf("a process faulted and was stopped; the others ran on (expected here: 'oops')\n");
    else if (code == K_EXIT_PANIC)
        printf("the kernel panicked\n");
    else if (code == K_EXIT_KERNEL_RETURNED)
        printf("k_main returned (the skeleton does that: start with part 1)\n");
    else if (code == 127)
        printf("QEMU could not be started\n");
    else
        printf("the first failing process's exit code\n");
    /* The demo shows one thing: oops faults and is stopped while ping and pong finish. Any other ending (a
     * panic, a kernel that returned, oops running on) is a demo that failed, and `make demo` must say so. */
    return code == K_EXIT_FAULTED ? 0 : 1;
}

#endif
