/*
 * guard.c: preloaded (LD_PRELOAD) into every test binary the harness runs, before any code of the chapter.
 *
 * Check runs each test in a child forked from one runner process, and the runner decides and logs the verdicts.
 * The child runs the student's code under the runner's uid, so it could open /proc/<runner>/mem, or ptrace the
 * runner, and rewrite a verdict. A process that is not dumpable can be inspected that way only with
 * CAP_SYS_PTRACE, which the sandbox never grants: so the runner is made non-dumpable here.
 *
 * Children inherit the flag when they fork, and a test may legitimately look at its own children in /proc (the
 * descriptors a server it started holds open, say): so every forked child becomes dumpable again. The runner
 * stays closed; LeakSanitizer, which ptraces its own threads, makes itself dumpable for that moment anyway.
 *
 * LD_PRELOAD is then removed so that programs a test starts (a helper, an emulator) are not given the library.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

static void child_is_dumpable(void) { prctl(PR_SET_DUMPABLE, 1, 0, 0, 0); }

__attribute__((constructor)) static void ferrite_guard(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    pthread_atfork(NULL, NULL, child_is_dumpable);
    unsetenv("LD_PRELOAD");
}
