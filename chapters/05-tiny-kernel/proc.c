/*
 * proc.c — chapter 05: small helpers the kernel's loop uses on its process table.   (given)
 *
 * Linked into every kernel image. The table itself (procs, nprocs) and the ready queues belong to the loop in
 * kernel.c; these functions only read or update what they are handed. Cortex-M3 only: on the host this file
 * compiles to nothing.
 */
#include "kernel.h"

#if defined(__arm__)

#include "sched.h"

void k_make_ready(k_sched *s, k_proc *p)
{
    p->state = K_READY;
    if (k_sched_ready(s, p->pid) != K_OK)
        k_panic("a process was queued twice"); /* a kernel bug: the queues would become a cycle */
}

bool k_any_alive(const k_proc *procs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (procs[i].state != K_EXITED && procs[i].state != K_FAULTED)
            return true;
    return false;
}

int k_exit_status(const k_proc *procs, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (procs[i].state == K_FAULTED)
            return K_EXIT_FAULTED;
        if (procs[i].exit_code != 0)
            return (int)(procs[i].exit_code & 0xff);
    }
    return 0;
}

#else
typedef int k_proc_is_arm_only; /* the host build compiles this file to nothing */
#endif
