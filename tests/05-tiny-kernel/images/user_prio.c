/*
 * Scenario "prio": fixed priorities, Drone-style. "high" (priority 2) runs first, then sleeps 3 ticks in
 * yield-wait; "low" (priority 1) computes without ever yielding, about 5 ticks per step. When high's alarm fires
 * it must preempt low at once — low has no equal to share a slice with, so nothing else would ever stop it.
 * "background" (priority 0) must not run until low has finished: a less urgent process never preempts.
 */
#include "user.h"

static void low_main(uint32_t arg)
{
    (void)arg;
    for (int32_t i = 0; i < 4; i++) {
        u_print("low: step ", i);
        u_spin(100000); /* about five ticks */
    }
    u_puts("low: done");
    u_exit(0);
}

static void high_main(uint32_t arg)
{
    (void)arg;
    u_puts("high: sleeping");
    u_print("high: sleep returned ", u_sleep(3));
    u_puts("high: running");
    u_exit(0);
}

static void background_main(uint32_t arg)
{
    (void)arg;
    u_puts("background: ran");
    u_exit(0);
}

const k_app k_apps[] = {
    {"low", low_main, 0, 1, 1024},
    {"high", high_main, 0, 2, 1024},
    {"background", background_main, 0, 0, 1024},
};
const unsigned k_napps = sizeof k_apps / sizeof k_apps[0];
