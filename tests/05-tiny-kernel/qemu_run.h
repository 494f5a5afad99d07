/*
 * qemu_run.h — boots a chapter-05 kernel image under QEMU and judges its UART transcript (test support).
 *
 * Each QEMU test boots one image (built by mk/chapters/05-tiny-kernel.mk; K05_IMAGES names the directory),
 * with -icount shift=0,sleep=off so that every run executes the same instructions at the same virtual times, and
 * a wall-clock limit after which QEMU is killed. The verdict is printed the way xv6's grader prints it: one line
 * per expectation, GOOD when it holds, MISSING when an expected pattern never appeared, BAD when a forbidden one
 * did (or the exit status is wrong).
 */
#ifndef K05_QEMU_RUN_H
#define K05_QEMU_RUN_H

#include <stdbool.h>
#include <stddef.h>

/** Seconds of wall time before QEMU is killed. Every image finishes in well under a second. */
#define K05_TIMEOUT_S 5

/** What one boot produced. */
typedef struct k05_run {
    char out[16384]; /* UART transcript (QEMU's stdout), NUL-terminated, truncated if longer */
    size_t len;
    char err[2048];     /* QEMU's stderr */
    int status;         /* exit status when `exited` */
    bool exited;        /* QEMU exited by itself (semihosting exit) */
    bool timed_out;     /* killed after K05_TIMEOUT_S */
    char problem[2048]; /* non-empty when the image could not be booted at all: why, and what to install */
} k05_run;

/* Boots image <K05_IMAGES>/<scenario>.elf. Never fails the test itself; read r->problem. */
void k05_boot(const char *scenario, k05_run *r);

/*
 * Fails the current test unless every regex in `good` (POSIX extended; `.` also matches newlines) occurs in the
 * transcript, no regex in `bad` does, and QEMU exited by itself with `status`. The failure message lists every
 * check as GOOD / BAD / MISSING, then the end of the transcript. Both lists end with NULL.
 */
void k05_expect(const k05_run *r, const char *const *good, const char *const *bad, int status);

/* Boots `scenario` and applies k05_expect. */
void k05_scenario(const char *scenario, const char *const *good, const char *const *bad, int status);

#endif
