/*
 * Test helpers for chapter 02: scratch files, a page the kernel refuses to touch, and running the chapter's other
 * programs (the freestanding program, the -O2 probes, the aarch64 builds under qemu-aarch64) with their output
 * captured.
 *
 * Where those programs are comes from the environment, set by mk/chapters/02-syscall-shim.mk:
 *   SYS02_NOLIBC       the freestanding x86_64 program (part 4)
 *   SYS02_PROBES       the -O2 probes, one per host compiler, separated by ':'
 *   SYS02_A64_NOLIBC, SYS02_A64_PROBE, SYS02_QEMU      the aarch64 builds and qemu-aarch64 (part 5)
 *   SYS02_A64_MISSING  the Debian packages part 5 needs and this machine lacks, separated by ':'
 */
#ifndef FERRITE_TEST_CH02_SUPPORT_H
#define FERRITE_TEST_CH02_SUPPORT_H

#include "ferrite_test.h"
#include "sys.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A scratch directory with one file "data" of three pages: page 0 starts with DATA_TEXT, page 1 is all 'b',
 * page 2 all 'c'. Created by scratch_setup() in each test that needs it, removed by scratch_teardown(). */
#define DATA_TEXT "0123456789abcdefghijklmnopqrstuvwxyz"
#define DATA_SIZE (3 * 4096)
extern char scratch_dir[256];
extern char scratch_file[288];
void scratch_setup(void);
void scratch_teardown(void);

/* A page that is mapped but PROT_NONE: the kernel answers EFAULT for it, and neither ASan nor Valgrind objects
 * to passing it (Valgrind would to an address that was never mapped). */
void *efault_page(void);

/* The output and status of a program run to completion. */
typedef struct run_result {
    int status;     /* as from waitpid */
    char out[8192]; /* stdout, NUL-terminated (truncated if longer) */
    char err[8192]; /* stderr, NUL-terminated */
} run_result;

/* Runs argv[0] with argv (NULL-terminated) and an empty environment; fails the test if it cannot start. */
void run_program(const char *const *argv, run_result *r);

/* The first half of run_program: starts argv[0] with its stdout and stderr on pipes whose read ends are returned in
 * *out_fd and *err_fd; `traced` makes the child ask for ptrace (PTRACE_TRACEME) first, so that it stops at its
 * execve for the caller to trace. Returns the child's pid. */
pid_t start_program(const char *const *argv, bool traced, int *out_fd, int *err_fd);

/* The second half: reads both pipes until the child has closed them (then closes them), into r->out and r->err. */
void collect_output(int out_fd, int err_fd, run_result *r);

/* "exited with status 3", "killed by signal 11 (Segmentation fault)", ... for messages. */
const char *describe_status(int status);

/* The path in environment variable `name`; fails the test if it is unset (saying how the tests are meant to run)
 * or if the program there was not built. */
const char *program_path(const char *name, const char *what);

/* Runs `probe CHECK` with every host probe (gcc and clang builds); fails the test with the probe's explanation
 * on the first that does not print "ok CHECK". */
void run_host_probes(const char *check);

/* Part 4's promises, checked by check_nolibc_output (test_nolibc.c) on the x86_64 and the aarch64 build. */
enum { CHECK_GREETING = 1, CHECK_ARGS = 2, CHECK_ERROR = 4, CHECK_STATUS = 8, CHECK_EDGES = 16 };
/* Checks the selected promises: the greeting line, one line per argument (argv[0] printed as argv0, args the
 * NULL-terminated rest), the error line on stderr, exit status = number of args, and the last stdout line
 * "edges: <INT64_MIN> -1 0 <INT64_MAX>". */
void check_nolibc_output(const run_result *r, const char *argv0, const char *const *args, int check);

/* Part 5: skips the test when the aarch64 tools are missing, naming the packages. */
void require_aarch64_tools(void);

/* Runs the aarch64 probe's CHECK under qemu-aarch64; fails the test unless it prints "ok CHECK". */
void run_aarch64_probe(const char *check);

#endif
