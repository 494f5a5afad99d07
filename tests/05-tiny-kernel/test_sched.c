/*
 * Part 2: the scheduler's queues, on the host. The kernel's loop (part 4) asks them who runs next and whether a
 * tick takes the CPU away; part 5's tests see their decisions on QEMU, with processes at different priorities.
 */
#include "ferrite_test.h"
#include "sched.h"

#include <stddef.h>

FT_PART(2, "the scheduler's queues: round-robin, priorities");

/* A scheduler with pids 0..n-1 registered at the given priorities. */
static k_sched make(const unsigned *prios, int n)
{
    k_sched s;
    k_sched_init(&s);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(k_sched_add(&s, i, prios[i]), K_OK);
    return s;
}

FT_TEST(2, a_drained_scheduler_has_nothing_to_run, 1,
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

FT_TEST(2, equal_priorities_run_first_in_first_out, 2,
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

FT_TEST(2, the_most_urgent_ready_priority_runs_first, 2,
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

FT_TEST(2, a_queue_drained_and_refilled_stays_consistent, 2,
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

FT_TEST(2, readying_a_queued_process_again_is_refused, 2,
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

FT_TEST(2, add_and_ready_validate_their_arguments, 1,
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

FT_TEST(2, should_switch_preempts_for_higher_priority_at_once, 2,
        "A ready process of strictly higher priority takes the CPU at the next tick, whatever the slice: that "
        "is Drone's fixed-priority preemption.")
{
    k_sched s = make((const unsigned[]){1, 2}, 2);
    ck_assert_int_eq(k_sched_ready(&s, 1), K_OK);
    ck_assert(k_sched_should_switch(&s, 0, 0));
    ck_assert(k_sched_should_switch(&s, 0, 1));
}

FT_TEST(2, should_switch_rotates_equals_only_after_the_slice, 2,
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
