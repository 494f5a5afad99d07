/*
 * sched.c — chapter 05, part 2: fixed-priority ready queues, round-robin inside a priority.   (exercise skeleton)
 *
 * Portable C: the host tests run it under ASan and Valgrind, and the kernel image runs the same file on the
 * Cortex-M3. Nothing is allocated: the queues are linked through s->next[], indices instead of pointers.
 *
 * Yours: every function. Each returns a neutral value so the file compiles; replace the bodies and delete the
 * `(void)param;` lines. Keep the invariants of sched.h true after every call:
 *   Q1  bit pid of s->queued  <=>  pid is linked, once, in queue s->prio[pid];
 *   Q2  bit p of s->nonempty  <=>  s->head[p] != K_NO_PROC;
 *   Q3  s->tail[p] is the last pid of queue p (K_NO_PROC when it is empty) and s->next[tail] == K_NO_PROC.
 */
#include "sched.h"

void k_sched_init(k_sched *s)
{
    /* TODO: every head, tail and next to K_NO_PROC, every bitmap to 0. Rust would give you this from
     * `Default`; in C an uninitialised k_sched holds garbage links — and K_NO_PROC is -1, not 0, so a memset to
     * zero is wrong (pid 0 would look linked everywhere). */
    (void)s;
}

k_err k_sched_add(k_sched *s, int pid, unsigned prio)
{
    /* TODO: validate pid (0 .. K_MAX_PROCS-1) and prio (0 .. K_NPRIO-1) -> K_ERR_INVAL; a pid already added ->
     * K_ERR_ALREADY; else record prio, mark it registered. Not ready yet: that is k_sched_ready's job.
     * Trap: test pid < 0 before using it as an index or a shift count (1u << -1 is undefined; UBSan says so). */
    (void)s;
    (void)pid;
    (void)prio;
    return K_ERR_TODO;
}

k_err k_sched_ready(k_sched *s, int pid)
{
    /* TODO: append pid at the tail of queue s->prio[pid]; set its bits in `queued` and `nonempty`.
     * Refuse an unknown pid (K_ERR_INVAL) and one already queued (K_ERR_ALREADY), leaving the queue untouched.
     * Rust: a node can be in an intrusive list once, and the borrow checker will not let you hold two `&mut` to
     * it; in C, linking it twice silently makes tail->next point to itself — a cycle the scheduler runs forever. */
    (void)s;
    (void)pid;
    return K_ERR_TODO;
}

int k_sched_next(k_sched *s)
{
    /* TODO: find the most urgent non-empty priority from `nonempty` (31 - __builtin_clz(x) gives the highest
     * set bit of a non-zero x; CLZ is one instruction on the Cortex-M3), unlink its head and return it; return
     * K_NO_PROC when nothing is ready.
     * Trap: when you remove the last element, reset the tail as well as the head and clear the nonempty bit —
     * a stale tail makes the next k_sched_ready link onto a node that has left the queue. */
    (void)s;
    return K_NO_PROC;
}

bool k_sched_should_switch(const k_sched *s, int running, unsigned slice_used)
{
    /* TODO: true if a strictly more urgent process is ready (preempt now, whatever the slice — Drone's rule);
     * true if slice_used >= K_SLICE_TICKS and a process of the same priority is ready (round-robin); false
     * otherwise: a lower priority never preempts, and nobody is switched out for nothing. */
    (void)s;
    (void)running;
    (void)slice_used;
    return false;
}
