/*
 * Scenario "allow": one process hands the kernel bad pointers and lengths and prints each result.
 * Every bad call must come back as an error code (-6 INVAL, -7 SIZE, -5 RESERVE, -11 NODEVICE, -10 NOSUPPORT)
 * and the process must carry on; the good calls must work.
 */
#include "user.h"

static void prober_main(uint32_t arg)
{
    (void)arg;
    uint32_t ram = u_memop(K_MEMOP_RAM_START), end = u_memop(K_MEMOP_RAM_END);
    char mine[8] = {'o', 'k', '\n'};
    u_print("allow kernel RAM: ", u_allow_ro(K_DRV_CONSOLE, 0, 0x20000000u, 16));
    u_print("allow wrapping range: ", u_allow_ro(K_DRV_CONSOLE, 0, 0xfffffff0u, 0x20));
    u_print("allow past my end: ", u_allow_ro(K_DRV_CONSOLE, 0, end - 8, 16));
    u_print("allow next process: ", u_allow_ro(K_DRV_CONSOLE, 0, end, 4));
    u_print("allow device: ", u_allow_ro(K_DRV_CONSOLE, 0, 0x40004000u, 4));
    u_print("allow null with length: ", u_allow_ro(K_DRV_CONSOLE, 0, 0, 4));
    u_print("allow rw into code: ", u_allow_rw(K_DRV_CONSOLE, 0, K_USER_CODE_BASE, 4));
    u_print("allow rw my stack: ", u_allow_rw(K_DRV_CONSOLE, 0, (uint32_t)(uintptr_t)mine, sizeof mine));
    u_print("allow bad driver: ", u_allow_ro(7, 0, (uint32_t)(uintptr_t)mine, 3));
    /* Printing a result re-allows the console buffer, so each group runs before any of its results print. */
    int32_t none = u_command(K_DRV_CONSOLE, K_CONSOLE_WRITE, 3, 0);
    int32_t mine_ok = u_allow_ro(K_DRV_CONSOLE, 0, (uint32_t)(uintptr_t)mine, 3);
    int32_t too_long = u_command(K_DRV_CONSOLE, K_CONSOLE_WRITE, 4, 0);
    int32_t refused = u_allow_ro(K_DRV_CONSOLE, 0, 0x20000000u, 3);    /* must leave `mine` allowed */
    int32_t written = u_command(K_DRV_CONSOLE, K_CONSOLE_WRITE, 3, 0); /* prints "ok" */
    u_print("write with nothing allowed: ", none);
    u_print("allow my buffer: ", mine_ok);
    u_print("write longer than allowed: ", too_long);
    u_print("refused allow kept the old one: ", refused);
    u_print("write what was allowed: ", written);
    u_print("subscribe kernel code: ", u_subscribe(K_DRV_ALARM, 0, (u_upcall_fn)(uintptr_t)0x00000101u, 0));
    u_print("subscribe my RAM: ", u_subscribe(K_DRV_ALARM, 0, (u_upcall_fn)(uintptr_t)(ram | 1u), 0));
    u_print("command no such driver: ", u_command(9, 0, 0, 0));
    u_print("memop unknown: ", (int32_t)u_memop(77));
    u_puts("prober: survived every bad call");
    u_exit(0);
}

const k_app k_apps[] = {
    {"prober", prober_main, 0, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
