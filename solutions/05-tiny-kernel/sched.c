/*
 * sched.c — chapter 05, part 2: fixed-priority ready queues, round-robin inside a priority.   (reference solution)
 *
 * Portable: compiled into the host tests and into the kernel image. The queues are linked through indices in
 * fixed arrays, so there is nothing to allocate and nothing to free; the bitmaps make "which queue is the most
 * urgent non-empty one" a single count-leading-zeros instruction on the Cortex-M3 (CLZ).
 */
#include "sched.h"

static bool pid_valid(int pid) { return pid >= 0 && pid < K_MAX_PROCS; }

static bool has_bit(uint8_t set, unsigned bit) { return (set >> bit) & 1u; }

void k_sched_init(k_sched *s)
{
    for (int i = 0; i < K_MAX_PROCS; i++) {
        s->prio[i] = 0;
        s->next[i] = K_NO_PROC;
    }
    for (int p = 0; p < K_NPRIO; p++)
        s->head[p] = s->tail[p] = K_NO_PROC;
    s->registered = s->queued = s->nonempty = 0;
}

k_err k_sched_add(k_sched *s, int pid, unsigned prio)
{
    if (!pid_valid(pid) || prio >= K_NPRIO)
        return K_ERR_INVAL;
    if (has_bit(s->registered, (unsigned)pid))
        return K_ERR_ALREADY;
    s->prio[pid] = (uint8_t)prio;
    s->next[pid] = K_NO_PROC;
    s->registered |= (uint8_t)(1u << pid);
    return K_OK;
}

k_err k_sched_ready(k_sched *s, int pid)
{
    if (!pid_valid(pid) || !has_bit(s->registered, (unsigned)pid))
        return K_ERR_INVAL;
    /* Linking a node that is already linked would point the tail at itself: a cycle, and a process that runs
     * twice as often as it should. Refuse, and leave the queue untouched. */
    if (has_bit(s->queued, (unsigned)pid))
        return K_ERR_ALREADY;
    unsigned p = s->prio[pid];
    s->next[pid] = K_NO_PROC;
    if (s->tail[p] == K_NO_PROC)
        s->head[p] = (int8_t)pid;
    else
        s->next[s->tail[p]] = (int8_t)pid;
    s->tail[p] = (int8_t)pid;
    s->queued |= (uint8_t)(1u << pid);
    s->nonempty |= (uint8_t)(1u << p);
    return K_OK;
}

/* The most urgent non-empty priority, or -1. Bits above K_NPRIO are never set. */
static int top_priority(uint8_t nonempty)
{
    if (nonempty == 0)
        return -1;
    return 31 - __builtin_clz((unsigned)nonempty);
}

int k_sched_next(k_sched *s)
{
    int p = top_priority(s->nonempty);
    if (p < 0)
        return K_NO_PROC;
    int pid = s->head[p];
    s->head[p] = s->next[pid];
    if (s->head[p] == K_NO_PROC) {
        s->tail[p] = K_NO_PROC; /* forget this and the next k_sched_ready links onto a node that left */
        s->nonempty &= (uint8_t) ~(1u << p);
    }
    s->next[pid] = K_NO_PROC;
    s->queued &= (uint8_t) ~(1u << pid);
    return pid;
}

bool k_sched_should_switch(const k_sched *s, int running, unsigned slice_used)
{
    if (!pid_valid(running))
        return false;
    /* A queued "running" process would be compared with itself: the caller dequeued nothing, a kernel bug. */
    K_ASSERT(has_bit(s->registered, (unsigned)running) && !has_bit(s->queued, (unsigned)running));
    int top = top_priority(s->nonempty);
    int mine = s->prio[running];
    if (top > mine)
        return true;                                   /* preemption: never wait for the slice */
    return top == mine && slice_used >= K_SLICE_TICKS; /* round-robin among equals */
}
