/* Benchmark scenario: two equal-priority processes that hand the CPU to each other with yield-no-wait, so every
 * system call is one complete switch: process -> kernel -> the other process. */
#include "user.h"

static void player_main(uint32_t arg)
{
    for (int i = 0; i < 200; i++)
        u_yield();
    u_puts(arg ? "pong: done" : "ping: done");
    u_exit(0);
}

const k_app k_apps[] = {
    {"ping", player_main, 0, 1, 1024},
    {"pong", player_main, 1, 1, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
