/*
 * Scenario "lowstack": "low" moves its stack pointer below stack_lo, still inside its own RAM, and makes a system
 * call. The svc's frame lands at ram + 16, so the stacking itself does not fault, but there is no room below it
 * for r4-r11: k_switch_to_user must store nothing and return 0, and the kernel must stop the process rather than
 * keep a psp whose saved registers were never written. "A" must finish regardless.
 */
#include "user.h"

static void low_main(uint32_t arg)
{
    (void)arg;
    u_puts("low: stack below stack_lo");
    uint32_t ram = u_memop(K_MEMOP_RAM_START);
    /* SAFETY: none — this is the bug under test; the kernel must refuse the stack pointer. */
    __asm__ volatile(
        "mov   sp, %[top] \n"
        "svc   #0         \n"
        :
        : [top] "r"(ram + 48)
        : "r0", "memory");
    u_puts("low: still alive");
    u_exit(5);
}

static void worker_main(uint32_t arg)
{
    (void)arg;
    u_puts("A: done");
    u_exit(0);
}

const k_app k_apps[] = {
    {"low", low_main, 0, 1, 1024},
    {"A", worker_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
