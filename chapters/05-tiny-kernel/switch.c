/*
 * switch.c — chapter 05, part 4: the context switch and the three trap handlers.   (exercise skeleton)
 *
 * Tock's design, not FreeRTOS's: the kernel is an ordinary loop in privileged thread mode on MSP, and running a
 * process is a function call that returns when the process traps. Going in is `svc 0xff` from the kernel; coming
 * back is any exception taken while a process runs. Every scheduling decision is then made in plain C, outside
 * any handler (the README compares this with PendSV).
 *
 * Where the registers live while a process is off the CPU (its PSP, lowest address first):
 *
 *     psp ->  r4 r5 r6 r7 r8 r9 r10 r11 | r0 r1 r2 r3 r12 lr pc xpsr
 *             saved by k_switch_to_user | pushed by the CPU on exception entry
 *
 * EXC_RETURN (the value in lr when a handler starts): 0xFFFFFFF9 returns to thread mode on MSP (the kernel),
 * 0xFFFFFFFD to thread mode on PSP (a process); bit 2 says which stack was in use when the exception came.
 * `mvn lr, #2` loads 0xFFFFFFFD and `mvn lr, #6` loads 0xFFFFFFF9 in one instruction.
 *
 * Every function here is naked (no prologue, no epilogue: only your asm), because r4-r11 hold the *process's*
 * values from the moment it traps until k_switch_to_user stores them; a compiler-made prologue would push and
 * clobber them. Handlers may use r0-r3 and r12 (the CPU saved those). Cortex-M3 only.
 *
 * Given: the two variables. Yours: the four functions (each currently does nothing useful).
 */
#include "kernel.h"

#if defined(__arm__)

volatile uint32_t k_trap_reason;
volatile uint32_t k_ticks;

__attribute__((naked)) uint32_t k_switch_to_user(__attribute__((unused)) uint32_t psp,
                                                 __attribute__((unused)) const uint32_t *bounds)
{
    /* TODO, in asm (r0 = psp, r1 = bounds):
     *   push {r1, r4-r11, lr}      the kernel's callee-saved registers, and bounds for later, on MSP
     *   ldmia r0!, {r4-r11}        the process's r4-r11 from its stack; r0 now points at its frame
     *   msr psp, r0
     *   svc #0xff                  k_svc_handler enters the process; execution continues below when it traps
     *   -- back: r4-r11 hold the process's values. Load bounds (ldr r1, [sp]; ldmia r1, {r2, r3}) and the psp
     *      it left (mrs r0, psp). Only if stack_lo <= psp <= stack_hi: stmdb r0!, {r4-r11} and return r0 (pop
     *      {r1, r4-r11, pc}); otherwise return 0 without storing anything.
     * The trap: skip the bounds check and a process that set sp = 0x20000400 before its svc makes this
     * privileged stmdb write 32 bytes into the kernel. The MPU does not stop the kernel; only you can.
     * Rust: Tock keeps this in one `unsafe fn switch_to_user` whose safety contract says exactly this. */
    __asm__ volatile("movs r0, #0 \n bx lr");
}

__attribute__((naked)) void k_svc_handler(void)
{
    /* TODO, in asm. If bit 2 of lr is clear (from the kernel: k_switch_to_user's svc): CONTROL = 1 (nPRIV:
     * thread mode becomes unprivileged), isb, return with lr = 0xFFFFFFFD (into the process, on PSP).
     * Else (a system call from a process): k_trap_reason = K_TRAP_SVC, CONTROL = 0 (privileged again), isb,
     * return with lr = 0xFFFFFFF9 (into the kernel, just after its svc #0xff). Use only r0, r1 and lr; put the
     * literal pool (`.ltorg`) after the code if you use `ldr rX, =symbol`. */
    __asm__ volatile("bx lr");
}

__attribute__((naked)) void k_systick_handler(void)
{
    /* TODO, in asm: k_ticks += 1. If a process was running (bit 2 of lr set), take the CPU back exactly as a
     * system call does, with k_trap_reason = K_TRAP_TICK. If the kernel was running (its loop, or its wfi), just
     * return: the kernel is never preempted. */
    __asm__ volatile("bx lr");
}

__attribute__((naked)) void k_fault_handler(void)
{
    /* TODO, in asm: a fault taken on PSP is the process's: k_trap_reason = K_TRAP_FAULT and return to the
     * kernel as above (kernel.c reads CFSR/MMFAR and stops the process). A fault on MSP is the kernel's own:
     * never return into it — pass the MSP frame to k_kernel_fault (mrs r0, msp; b k_kernel_fault), which
     * reports and panics. */
    __asm__ volatile("b .");
}

#else
typedef int k_switch_is_arm_only; /* the host build compiles this file to nothing */
#endif
