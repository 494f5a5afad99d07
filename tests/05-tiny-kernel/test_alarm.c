/*
 * Part 5, on QEMU: alarms, wake-ups and idling. A process that sleeps blocks in yield-wait, off every queue,
 * until expire_alarms finds its alarm due; with nothing ready the kernel sleeps in wfi. The scheduler's
 * decisions (part 2) show in the order of the output: a woken process of higher priority preempts at once.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

FT_PART(5, "alarms, wake-ups and idle");

FT_TEST(5, qemu_a_woken_higher_priority_process_preempts_at_once, 3,
        "When high's alarm fires (expire_alarms, at each tick), high is ready again and k_sched_should_switch "
        "must move low off the CPU even though low has no equal to share a slice with; and background "
        "(priority 0) runs only when both are done.")
{
    const char *good[] = {"high: sleeping.*low: step 0.*high: running.*low: step 1", "low: done.*background: ran",
                          "process 'high' exited with code 0", NULL};
    const char *bad[] = {"low: step 1.*high: running", "background: ran.*low: done", NULL};
    k05_scenario("prio", good, bad, 0);
}
FT_TIMEOUT(qemu_a_woken_higher_priority_process_preempts_at_once, 10);

FT_TEST(5, qemu_exit_codes_reach_the_report_and_qemu, 2,
        "exit-terminate stores the code; the kernel prints it and, once every process has stopped, exits QEMU "
        "with the first non-zero code in table order (here 7, not 42). The scenario's first process sleeps on "
        "an alarm: until expire_alarms wakes it, the kernel never sees every process stop.")
{
    const char *good[] = {"coder: exiting with 7", "process 'seven' exited with code 7",
                          "process 'fortytwo' exited with code 42", "status 7", NULL};
    k05_scenario("exit", good, NULL, 7);
}
FT_TIMEOUT(qemu_exit_codes_reach_the_report_and_qemu, 10);

FT_TEST(5, qemu_a_blocked_process_uses_no_cpu_and_the_kernel_idles_in_wfi, 3,
        "yield-wait takes the process off every queue until its upcall is pending: sleeping three times costs "
        "exactly 4 dispatches. With nothing ready the kernel sleeps in wfi (counted as idle sleeps), not in a "
        "busy loop.")
{
    const char *good[] = {"sleeper: woke three times", "process 'sleeper' exited with code 0 \\(ran 4 times\\)",
                          "stopped after [0-9]+ ticks, [1-9][0-9]* idle sleeps", NULL};
    k05_scenario("exit", good, NULL, 7);
}
FT_TIMEOUT(qemu_a_blocked_process_uses_no_cpu_and_the_kernel_idles_in_wfi, 10);

FT_TEST(5, qemu_idle_sleeps_at_most_once_per_tick, 2,
        "Each idle sleep is one wfi, which lasts until the next interrupt; SysTick is the only one enabled, so "
        "idle sleeps can never outnumber ticks. An idle() that counts a sleep but returns without wfi (or a "
        "wfi the loop never reaches) is a busy loop: the kernel burns the CPU spinning hundreds of times per "
        "tick.")
{
    static k05_run r; /* 18 KiB: too much for a test's stack under Valgrind's defaults */
    k05_boot("exit", &r);
    ck_assert_msg(r.problem[0] == '\0', "%s", r.problem);
    const char *good[] = {"stopped after [0-9]+ ticks, [0-9]+ idle sleeps", NULL};
    k05_expect(&r, good, NULL, 7);
    unsigned ticks = 0, sleeps = 0;
    const char *line = strstr(r.out, "stopped after ");
    ck_assert(line != NULL);
    ck_assert_int_eq(sscanf(line, "stopped after %u ticks, %u idle sleeps", &ticks, &sleeps), 2);
    ck_assert_msg(sleeps >= 1 && sleeps <= ticks,
                  "%u idle sleeps in %u ticks: every sleep must end at a tick, so there can be at most one per "
                  "tick (and at least one: the sleeper blocks with nothing else ready)",
                  sleeps, ticks);
}
FT_TIMEOUT(qemu_idle_sleeps_at_most_once_per_tick, 10);
