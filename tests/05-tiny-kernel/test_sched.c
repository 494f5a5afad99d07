/*
 * Part 5: scheduling. The ready queues run on the host; two tests boot processes at different priorities and a
 * process that sleeps, and read the order of their output and the kernel's counters.
 */
#include "qemu_run.h"

#include "ferrite_test.h"
#include "sched.h"

#include <stddef.h>

FT_PART(5, "scheduling: round-robin, priorities, idle");

/* A scheduler with pids 0..n-1 registered at the given priorities. */
static k_sched make(const unsigned *prios, int n)
{
    k_sched s;
    k_sched_init(&s);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(k_sched_add(&s, i, prios[i]), K_OK);
    return s;
}

FT_TEST(5, a_drained_scheduler_has_nothing_to_run, 1,
        "Once the last ready process is taken, k_sched_next returns K_NO_PROC (the kernel then sleeps in wfi) "
        "and nothing can preempt anyone.")
{
    k_sched s = make((const unsigned[]){1}, 1);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
    ck_assert(!k_sched_should_switch(&s, 0, 100));
}

FT_TEST(5, equal_priorities_run_first_in_first_out, 2,
        "Within a priority, the queue is FIFO: ready at the tail, next from the head.")
{
    k_sched s = make((const unsigned[]){1, 1, 1}, 3);
    ck_assert_int_eq(k_sched_ready(&s, 2), K_OK);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 2);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_next(&s), 1);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
}

FT_TEST(5, the_most_urgent_ready_priority_runs_first, 2,
        "k_sched_next serves the highest non-empty priority (K_NPRIO - 1 is the most urgent); lower ones wait "
        "until it is empty.")
{
    k_sched s = make((const unsigned[]){0, 2, 1, 3}, 4);
    for (int pid = 0; pid < 4; pid++)
        ck_assert_int_eq(k_sched_ready(&s, pid), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 3);
    ck_assert_int_eq(k_sched_next(&s), 1);
    ck_assert_int_eq(k_sched_ready(&s, 3), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 3);
    ck_assert_int_eq(k_sched_next(&s), 2);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
}

FT_TEST(5, a_queue_drained_and_refilled_stays_consistent, 2,
        "When next removes the last element, reset the tail too; otherwise the next ready links onto a node "
        "that has left the queue and is lost.")
{
    k_sched s = make((const unsigned[]){1, 1}, 2);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 1);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_next(&s), 1);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
}

FT_TEST(5, readying_a_queued_process_again_is_refused, 2,
        "A process is in its queue at most once: a second ready returns ALREADY and changes nothing (linking a "
        "node twice makes a cycle, and the process would run twice per round or forever).")
{
    k_sched s = make((const unsigned[]){1, 1}, 2);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_ERR_ALREADY);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_ERR_ALREADY);
    ck_assert_int_eq(k_sched_next(&s), 0);
    ck_assert_int_eq(k_sched_next(&s), 1);
    ck_assert_int_eq(k_sched_next(&s), K_NO_PROC);
}

FT_TEST(5, add_and_ready_validate_their_arguments, 1,
        "pid must be in 0..K_MAX_PROCS-1 and prio in 0..K_NPRIO-1 (INVAL); a pid is added once (ALREADY); only "
        "an added pid can be readied (INVAL).")
{
    k_sched s;
    k_sched_init(&s);
    ck_assert_int_eq(k_sched_add(&s, -1, 0), K_ERR_INVAL);
    ck_assert_int_eq(k_sched_add(&s, K_MAX_PROCS, 0), K_ERR_INVAL);
    ck_assert_int_eq(k_sched_add(&s, 0, K_NPRIO), K_ERR_INVAL);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_ERR_INVAL);
    ck_assert_int_eq(k_sched_ready(&s, K_MAX_PROCS), K_ERR_INVAL);
    ck_assert_int_eq(k_sched_add(&s, 0, K_NPRIO - 1), K_OK);
    ck_assert_int_eq(k_sched_add(&s, 0, 0), K_ERR_ALREADY);
    ck_assert_int_eq(k_sched_ready(&s, 0), K_OK);
    ck_assert_int_eq(k_sched_next(&s), 0);
}

FT_TEST(5, should_switch_preempts_for_higher_priority_at_once, 2,
        "A ready process of strictly higher priority takes the CPU at the next tick, whatever the slice: that "
        "is Drone's fixed-priority preemption.")
{
    k_sched s = make((const unsigned[]){1, 2}, 2);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert(k_sched_should_switch(&s, 0, 0));
    ck_assert(k_sched_should_switch(&s, 0, 1));
}

FT_TEST(5, should_switch_rotates_equals_only_after_the_slice, 2,
        "Round-robin among equal priorities: switch when the slice (K_SLICE_TICKS) is used up and an equal is "
        "ready — not before, and never for a lower priority, and not when nobody else is ready.")
{
    k_sched s = make((const unsigned[]){1, 1, 0}, 3);
    ck_assert(!k_sched_should_switch(&s, 0, K_SLICE_TICKS + 5));
    ck_assert_int_eq(k_sched_ready(&s, 2), K_OK);
    ck_assert(!k_sched_should_switch(&s, 0, K_SLICE_TICKS + 5));
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert(!k_sched_should_switch(&s, 0, K_SLICE_TICKS - 1));
    ck_assert(k_sched_should_switch(&s, 0, K_SLICE_TICKS));
}

/* ---- on QEMU ------------------------------------------------------------------------------------------------- */

FT_TEST(5, qemu_a_woken_higher_priority_process_preempts_at_once, 3,
        "When high's alarm fires (checked at each tick), k_sched_should_switch must move low off the CPU even "
        "though low has no equal to share a slice with; and background (priority 0) runs only when both are "
        "done.")
{
    const char *good[] = {"high: sleeping.*low: step 0.*high: running.*low: step 1", "low: done.*background: ran",
                          "process 'high' exited with code 0", NULL};
    const char *bad[] = {"low: step 1.*high: running", "background: ran.*low: done", NULL};
    k05_scenario("prio", good, bad, 0);
}
FT_TIMEOUT(qemu_a_woken_higher_priority_process_preempts_at_once, 10);

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
