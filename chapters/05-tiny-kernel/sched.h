/**
 * @file sched.h
 * @brief Chapter 05, part 2: fixed-priority ready queues with round-robin inside a priority (portable).
 *
 * **Prefix.** `k_` (`K_` for constants) stands for *kernel*, as in kernel.h; the scheduler's are `k_sched_`.
 *
 * One FIFO queue per priority, linked through an array of "next" indices (no pointers, no allocation: the C
 * spelling of Tock's and Drone's static allocation), and a bitmap saying which queues are non-empty so the most
 * urgent ready process is found without a scan (Drone's and FreeRTOS's trick).
 *
 * A process is in at most one queue, at most once; the running process is in none, and neither is one blocked in
 * yield-wait. Who guards it: the kernel's loop only (thread mode); no handler touches the queues.
 */
#ifndef FERRITE_SCHED_H
#define FERRITE_SCHED_H

#include "kernel.h"

/** Returned by k_sched_next() when nothing is ready: the kernel idles in `wfi`. */
#define K_NO_PROC (-1)

/**
 * @brief Ready queues for up to ::K_MAX_PROCS processes at ::K_NPRIO priorities.
 *
 * Invariants: bit `pid` of `queued` is set exactly when pid is linked in queue `prio[pid]`; bit `p` of
 * `nonempty` is set exactly when `head[p] != K_NO_PROC`; `tail[p]` is the last element of queue `p`, and its
 * `next` is ::K_NO_PROC.
 * @rust Tock's `RoundRobinSched` / `PrioritySched`; Drone's priority-ordered thread list
 */
typedef struct k_sched {
    uint8_t prio[K_MAX_PROCS]; /**< fixed priority of each registered pid */
    int8_t next[K_MAX_PROCS];  /**< link to the next pid in the same queue, or K_NO_PROC */
    int8_t head[K_NPRIO];      /**< first pid of each queue, or K_NO_PROC */
    int8_t tail[K_NPRIO];      /**< last pid of each queue, or K_NO_PROC */
    uint8_t registered;        /**< bit pid: added with k_sched_add() */
    uint8_t queued;            /**< bit pid: in its queue now */
    uint8_t nonempty;          /**< bit p: queue p has at least one pid */
} k_sched;

/**
 * @brief Empties every queue and forgets every process.
 * @param[out] s must not be NULL.
 * @rust `RoundRobinSched::new()`
 */
void k_sched_init(k_sched *s);

/**
 * @brief Registers process @p pid with a fixed priority; it is not ready yet.
 * @return ::K_OK; ::K_ERR_INVAL if pid or prio is out of range; ::K_ERR_ALREADY if pid was added before.
 * @rust creating a Drone thread with `priority`
 */
FT_MUST_USE k_err k_sched_add(k_sched *s, int pid, unsigned prio);

/**
 * @brief Appends @p pid to the tail of its priority's queue.
 * @return ::K_OK; ::K_ERR_INVAL if pid was never added; ::K_ERR_ALREADY if it is already queued (the queue is
 *         left exactly as it was — linking a node twice would make a cycle).
 * @rust `RoundRobinSched`'s `processes.push_tail(node)`
 */
FT_MUST_USE k_err k_sched_ready(k_sched *s, int pid);

/**
 * @brief Marks @p p ::K_READY and appends it to its queue in @p s; panics if it is queued already (a kernel bug:
 *        the queue would become a cycle).
 *
 * A static inline here, beside k_sched_ready(), rather than a function of its own file: the kernel calls it on every
 * switch, and the call would cost the switch a branch and a return across files.
 * @param s the loop's ready queues; borrowed.
 * @param p the process; borrowed.
 * @rust `RoundRobinSched`'s `processes.push_tail(node)` after `set_state(Runnable)`
 */
static inline void k_make_ready(k_sched *s, k_proc *p)
{
    p->state = K_READY;
    if (k_sched_ready(s, p->pid) != K_OK)
        k_panic("a process was queued twice"); /* a kernel bug: the queues would become a cycle */
}

/**
 * @brief Removes and returns the head of the most urgent non-empty queue.
 * @return a pid, or ::K_NO_PROC when nothing is ready.
 * @rust `Scheduler::next()` returning `SchedulingDecision::RunProcess` or `TrySleep`
 */
int k_sched_next(k_sched *s);

/**
 * @brief Whether the kernel should take the CPU from @p running at this tick.
 *
 * True when a strictly more urgent process is ready (preemption, whatever the slice), or when the running
 * process has used at least ::K_SLICE_TICKS ticks and another process of the *same* priority is ready
 * (round-robin). False otherwise: a less urgent process never preempts, and nobody is switched out for nothing.
 * @param s the queues; only read.
 * @param running a registered pid that is not queued; anything else is a kernel bug, which the reference
 *        solution stops with ::K_ASSERT.
 * @param slice_used ticks it has run since it was dispatched.
 * @rust `Scheduler::continue_process`; Drone's preemption by priority
 */
bool k_sched_should_switch(const k_sched *s, int running, unsigned slice_used);

#endif
