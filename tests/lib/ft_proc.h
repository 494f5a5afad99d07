/**
 * @file ft_proc.h
 * @brief A program under test as a child process: start it, read the first line it prints, stop it with a deadline.
 *
 * Servers built by a chapter (a service, a store, a proxy) print one line when they are ready — the port they bound,
 * typically — and exit 0 after SIGTERM. A test starts one with ft_proc_start(), which returns once that line has come
 * (or the program has died, or the deadline has passed), and ends it with ft_proc_stop(), which never waits longer
 * than it is told: a program that ignores its signal is killed. The child dies with the test's process however that
 * ends (PR_SET_PDEATHSIG), so a failed assertion leaves nothing running.
 *
 * Nothing here fails a test by itself: every function returns what happened and the test asserts with a message
 * that names the chapter's concept.
 */
#ifndef FT_PROC_H
#define FT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Longest first line kept, newline excluded. */
#define FT_PROC_LINE_MAX 256

/** A child program. */
typedef struct ft_proc {
    pid_t pid;                   /**< 0 when not running (never started, or reaped) */
    char line[FT_PROC_LINE_MAX]; /**< its first line on stdout, without the newline ("" when none came) */
} ft_proc;

/** Milliseconds on CLOCK_MONOTONIC: the clock of every deadline here. */
uint64_t ft_now_ms(void);

/**
 * Starts @p argv (argv[0] a path or a name found in PATH) with stdout on a pipe and reads its first line, waiting
 * @p timeout_ms at most. Its stderr goes to the file @p stderr_path (created or truncated; "/dev/null" to drop it),
 * or stays the test's when NULL (sanitizer reports then show with the test's output).
 * @return true when the line came; false when the program exited first or the time ran out (it is then killed and
 *         reaped, and p->pid is 0) or could not be started.
 */
bool ft_proc_start(ft_proc *p, const char *const *argv, const char *stderr_path, int timeout_ms);

/**
 * Sends @p sig (0: none) and waits for the program's exit, @p timeout_ms at most; after that it is killed with
 * SIGKILL. A program not running returns -1 at once.
 * @return the wait status (WIFEXITED...), or -1 when it had to be killed or was not running.
 */
int ft_proc_stop(ft_proc *p, int sig, int timeout_ms);

/**
 * Waits for the program to exit by itself, @p timeout_ms at most, without signalling it.
 * @return the wait status, or -1 when it is still running (it is left running).
 */
int ft_proc_wait(ft_proc *p, int timeout_ms);

/** How many file descriptors process @p pid has open (entries of /proc/PID/fd), -1 when it cannot be read. */
int ft_proc_count_fds(pid_t pid);

#endif
