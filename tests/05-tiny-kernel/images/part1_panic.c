/*
 * Part 1's kernel main for the scenario "part1_panic" (pristine: not a student file): the banner, then the
 * student's k_panic, which must print "kernel panic: <msg>" and exit QEMU with K_EXIT_PANIC. Linked with the
 * "panic" process table, whose process must never run. (Part 6's refusal of that table is the same panic,
 * reached through load, mpu_cover_ram and k_mpu_cover, in the student's own k_main.)
 */
#include "kernel.h"

void k_main(void)
{
    k_uart_init();
    k_printf("ferrite kernel 05: booting on mps2-an385 (Cortex-M3)\n");
    k_panic("part 1's test kernel panics on purpose");
}
