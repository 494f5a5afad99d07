/*
 * Scenario "panic": a process table the kernel must refuse — 3000 bytes of RAM is not a multiple of a subregion,
 * so no MPU region covers it exactly. The kernel must print a panic and exit QEMU with K_EXIT_PANIC (part 6's
 * test). Part 1's panic image links the same table beside its own k_main, which panics before loading it.
 */
#include "user.h"

static void never_main(uint32_t arg)
{
    (void)arg;
    u_puts("never: this process must not run");
    u_exit(0);
}

const k_app k_apps[] = {
    {"never", never_main, 0, 1, 3000},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
