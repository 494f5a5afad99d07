/*
 * Part 5, on QEMU: alarms, wake-ups and idling. A process that sleeps blocks in yield-wait, off every queue,
 * until expire_alarms finds its alarm due; with nothing ready the kernel sleeps in wfi. The scheduler's
 * decisions (part 2) show in the order of the output: a woken process of higher priority preempts at once.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "kernel.h"

#include <stddef.h>

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
