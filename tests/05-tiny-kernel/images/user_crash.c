/*
 * Scenario "crash": two well-behaved processes and two that break the rules. "wild" writes one word just past
 * the end of its own RAM (still inside its 4 KiB slot, so only an exact MPU region stops it). "sp" points its
 * stack at the System Control Block and makes a system call. Both must be stopped and reported; the others must
 * finish; the kernel must not panic.
 */
#include "user.h"

static void worker_main(uint32_t arg)
{
    const char *label = arg == 0 ? "A: step " : "B: step ";
    for (int32_t i = 0; i < 3; i++) {
        u_print(label, i);
        u_spin(30000);
    }
    u_puts(arg == 0 ? "A: done" : "B: done");
    u_exit(0);
}

static void wild_main(uint32_t arg)
{
    (void)arg;
    u_puts("wild: writing past the end of my RAM");
    uint32_t end = u_memop(K_MEMOP_RAM_END);
    /* SAFETY: none — this is the bug under test; the MPU must stop it. */
    *(volatile uint32_t *)(uintptr_t)end = 0xdeadbeef;
    u_puts("wild: still alive after the bad write");
    u_exit(3);
}

static void sp_main(uint32_t arg)
{
    (void)arg;
    u_puts("sp: pointing my stack at the System Control Block");
    /* SAFETY: none — the kernel must not trust the stack pointer a process traps with. The svc's own stacking
     * faults (unprivileged code cannot touch the SCB), but psp has moved to 0xE000ED2C: a kernel that then
     * stores r4-r11 below it, privileged, writes r4 = 0x05FA0004 into AIRCR (0xE000ED0C, a reset request) and
     * zeros into SCR, CCR, SHPR1-3, SHCSR and CFSR: the board resets or locks up. */
    __asm__ volatile(
        "ldr   r4, =0x05FA0004 \n"
        "movs  r5, #0          \n"
        "movs  r6, #0          \n"
        "movs  r7, #0          \n"
        "mov   r8, r5          \n"
        "mov   r9, r5          \n"
        "mov   r10, r5         \n"
        "mov   r11, r5         \n"
        "ldr   r0, =0xE000ED4C \n"
        "mov   sp, r0          \n"
        "svc   #0              \n"
        :
        :
        : "r0", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "memory");
    u_puts("sp: still alive");
    u_exit(4);
}

const k_app k_apps[] = {
    {"A", worker_main, 0, 1, 1024},
    {"wild", wild_main, 0, 1, 1024},
    {"B", worker_main, 1, 1, 1024},
    {"sp", sp_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
