/* Benchmark scenario: one process whose first act is a line on the console (boot time to first output). */
#include "user.h"

static void first_main(uint32_t arg)
{
    (void)arg;
    u_puts("BENCH-FIRST");
    u_exit(0);
}

const k_app k_apps[] = {
    {"first", first_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
