/*
 * Scenario "interleave": two processes of equal priority that never yield; only SysTick can switch them.
 * Each prints a numbered line, then computes for about 3 time slices.
 */
#include "user.h"

static void counter_main(uint32_t arg)
{
    const char *label = arg == 0 ? "A: step " : "B: step ";
    for (int32_t i = 0; i < 4; i++) {
        u_print(label, i);
        u_spin(60000); /* ~3 slices of 200k instructions */
    }
    u_puts(arg == 0 ? "A: done" : "B: done");
    u_exit(0);
}

const k_app k_apps[] = {
    {"A", counter_main, 0, 1, 1024},
    {"B", counter_main, 1, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
