/*
 * Scenario "exit": exit codes travel from a process to the kernel's report and on to QEMU's exit status.
 * "sleeper" blocks three times in yield-wait: it must be dispatched only when woken (4 runs in all), and the
 * idle loop must sleep in wfi meanwhile. The first non-zero code in table order ("seven") becomes the status.
 */
#include "user.h"

static void sleeper_main(uint32_t arg)
{
    (void)arg;
    for (int32_t i = 0; i < 3; i++)
        (void)u_sleep(5);
    u_puts("sleeper: woke three times");
    u_exit(0);
}

static void coder_main(uint32_t code)
{
    u_print("coder: exiting with ", (int32_t)code);
    u_exit((int32_t)code);
}

const k_app k_apps[] = {
    {"sleeper", sleeper_main, 0, 1, 1024},
    {"seven", coder_main, 7, 1, 1024},
    {"fortytwo", coder_main, 42, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
