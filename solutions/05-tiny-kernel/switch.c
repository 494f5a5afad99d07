/*
 * switch.c — chapter 05, part 4: the context switch and the three trap handlers.   (reference solution)
 *
 * Tock's design, not FreeRTOS's: the kernel is an ordinary loop in privileged thread mode on MSP, and running a
 * process is a function call that returns when the process traps. Going in is `svc 0xff` from the kernel; coming
 * back is any exception taken while a process runs. Both directions are one exception return, and every
 * scheduling decision is made in plain C, outside any handler (the README compares this with PendSV).
 *
 * Where the registers live while a process is off the CPU (its PSP, lowest address first):
 *
 *     psp ->  r4 r5 r6 r7 r8 r9 r10 r11 | r0 r1 r2 r3 r12 lr pc xpsr
 *             saved here by k_switch_to_user | pushed by the CPU on exception entry
 *
 * Handlers are naked: no prologue may touch r4-r11, which still hold the process's values until
 * k_switch_to_user stores them. Cortex-M3 only; the host build compiles this file to nothing.
 */
#include "kernel.h"

#if defined(__arm__)

volatile uint32_t k_trap_reason;
volatile uint32_t k_ticks;

/* SAFETY (whole function): called only from the kernel's loop in privileged thread mode on MSP with interrupts
 * enabled. psp was checked by the caller (k_stack_ok) and bounds points at {stack_lo, stack_hi}. The process's
 * r4-r11 are read from its stack before entry and written back below its frame after it traps — only if the psp
 * it left is inside bounds, so a process that moved its stack pointer elsewhere cannot make this privileged
 * store land in the kernel or in another process. */
__attribute__((naked)) uint32_t k_switch_to_user(__attribute__((unused)) uint32_t psp,
                                                 __attribute__((unused)) const uint32_t *bounds)
{
    __asm__ volatile(
        "push   {r1, r4-r11, lr}    \n" /* the kernel's callee-saved registers (and bounds) on MSP */
        "ldmia  r0!, {r4-r11}       \n" /* the process's r4-r11 from its stack; r0 -> its hardware frame */
        "msr    psp, r0             \n"
        "svc    #0xff               \n" /* k_svc_handler drops privilege and returns into the process */
        /* Back in the kernel: some handler returned here. r4-r11 hold the process's values. */
        "ldr    r1, [sp]            \n"
        "ldmia  r1, {r2, r3}        \n" /* r2 = stack_lo, r3 = stack_hi */
        "mrs    r0, psp             \n"
        "cmp    r0, r2              \n"
        "blo    1f                  \n"
        "cmp    r0, r3              \n"
        "bhi    1f                  \n"
        "stmdb  r0!, {r4-r11}       \n" /* onto the process's own stack, below its frame */
        "pop    {r1, r4-r11, pc}    \n" /* return psp (pointing at r4) */
        "1:                         \n"
        "movs   r0, #0              \n" /* psp out of bounds: store nothing, report 0 */
        "pop    {r1, r4-r11, pc}    \n");
}

/* EXC_RETURN values: 0xFFFFFFF9 = thread mode on MSP (the kernel), 0xFFFFFFFD = thread mode on PSP (a process).
 * Bit 2 of the EXC_RETURN in lr says which stack was in use when the exception was taken. */

/* SAFETY: from the kernel (MSP), the svc came from k_switch_to_user, which has set PSP to a valid frame: drop to
 * unprivileged and return on PSP. From a process, record the trap and return to the kernel, privileged. Touches
 * only r0, r1 and lr. */
__attribute__((naked)) void k_svc_handler(void)
{
    __asm__ volatile(
        "tst    lr, #4              \n"
        "bne    1f                  \n"
        "movs   r0, #1              \n" /* CONTROL.nPRIV = 1: thread mode becomes unprivileged */
        "msr    control, r0         \n"
        "isb                        \n"
        "mvn    lr, #2              \n" /* 0xFFFFFFFD */
        "bx     lr                  \n"
        "1:                         \n"
        "ldr    r0, =k_trap_reason  \n"
        "movs   r1, %[svc]          \n"
        "str    r1, [r0]            \n"
        "movs   r0, #0              \n" /* CONTROL.nPRIV = 0: the kernel is privileged again */
        "msr    control, r0         \n"
        "isb                        \n"
        "mvn    lr, #6              \n" /* 0xFFFFFFF9 */
        "bx     lr                  \n"
        ".ltorg                     \n" ::[svc] "i"(K_TRAP_SVC));
}

/* SAFETY: counts the tick; if a process was running, takes the CPU back exactly as a system call would. A tick
 * that interrupts the kernel (or its wfi) just returns. Touches only r0, r1 and lr. */
__attribute__((naked)) void k_systick_handler(void)
{
    __asm__ volatile(
        "ldr    r0, =k_ticks        \n"
        "ldr    r1, [r0]            \n"
        "adds   r1, #1              \n"
        "str    r1, [r0]            \n"
        "tst    lr, #4              \n"
        "beq    1f                  \n"
        "ldr    r0, =k_trap_reason  \n"
        "movs   r1, %[tick]         \n"
        "str    r1, [r0]            \n"
        "movs   r0, #0              \n"
        "msr    control, r0         \n"
        "isb                        \n"
        "mvn    lr, #6              \n"
        "1:                         \n"
        "bx     lr                  \n"
        ".ltorg                     \n" ::[tick] "i"(K_TRAP_TICK));
}

/* SAFETY: a fault taken on PSP belongs to the process: record it and return to the kernel, which stops the
 * process and reads the fault status registers. A fault on MSP is the kernel's own: never return into it. */
__attribute__((naked)) void k_fault_handler(void)
{
    __asm__ volatile(
        "tst    lr, #4              \n"
        "beq    1f                  \n"
        "ldr    r0, =k_trap_reason  \n"
        "movs   r1, %[fault]        \n"
        "str    r1, [r0]            \n"
        "movs   r0, #0              \n"
        "msr    control, r0         \n"
        "isb                        \n"
        "mvn    lr, #6              \n"
        "bx     lr                  \n"
        "1:                         \n"
        "mrs    r0, msp             \n" /* the kernel's frame: k_kernel_fault reports its pc, then panics */
        "b      k_kernel_fault      \n"
        ".ltorg                     \n" ::[fault] "i"(K_TRAP_FAULT));
}

#else
typedef int k_switch_is_arm_only; /* the host build compiles this file to nothing */
#endif
