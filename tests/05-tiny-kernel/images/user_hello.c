/*
 * Scenario "hello": one process that prints, asks about its memory, and exits with code 0.
 * Checks: the boot banner, .data, a first system call, memop, exit status 0.
 */
#include "user.h"

static void hello_main(uint32_t arg)
{
    (void)arg;
    u_puts("hello: first words from user space");
    uint32_t start = u_memop(K_MEMOP_RAM_START), end = u_memop(K_MEMOP_RAM_END);
    u_print("hello: my RAM is bytes ", (int32_t)(end - start));
    u_exit(0);
}

const k_app k_apps[] = {
    {"hello", hello_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
