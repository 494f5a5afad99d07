/*
 * Scenario "regs": the callee-saved registers r4-r11 must survive preemption. Two processes fill r4-r11 with
 * their own pattern, compute for ~24 ticks without touching them (SysTick switches them back and forth many
 * times), then check every register. The CPU saves r0-r3, r12, lr, pc and xPSR by itself; r4-r11 are the
 * context switch's job.
 */
#include "user.h"

static void regs_main(uint32_t seed)
{
    uint32_t got[8];
    register uint32_t s __asm__("r1") = seed;
    register uint32_t *dst __asm__("r2") = got;
    /* SAFETY: r4-r11 are declared clobbered, so the compiler keeps nothing of its own in them across this. */
    __asm__ volatile(
        "mov   r4, r1        \n"
        "adds  r5, r1, #1    \n"
        "adds  r6, r1, #2    \n"
        "adds  r7, r1, #3    \n"
        "add   r8, r1, #4    \n"
        "add   r9, r1, #5    \n"
        "add   r10, r1, #6   \n"
        "add   r11, r1, #7   \n"
        "ldr   r0, =1200000  \n"
        "1: subs r0, #1      \n"
        "bne   1b            \n"
        "stmia r2, {r4-r11}  \n"
        :
        : "r"(s), "r"(dst)
        : "r0", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "memory", "cc");
    for (int32_t i = 0; i < 8; i++) {
        if (got[i] != seed + (uint32_t)i) {
            u_print(seed == 0x1000 ? "regs A: corrupted r" : "regs B: corrupted r", 4 + i);
            u_exit(1);
        }
    }
    u_puts(seed == 0x1000 ? "regs A: r4-r11 intact" : "regs B: r4-r11 intact");
    u_exit(0);
}

const k_app k_apps[] = {
    {"A", regs_main, 0x1000, 1, 1024},
    {"B", regs_main, 0x2000, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
