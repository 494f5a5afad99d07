/*
 * Part 1's kernel main for the scenario "part1_boot" (pristine: not a student file). Part 1 is the boot path —
 * k_reset, k_uart_init, k_putc — and the student's k_main only comes in part 4, so the part 1 images take their
 * k_main from here (mk/chapters/05-tiny-kernel.mk makes the student's weak): the banner, the .data check, and a
 * clean exit. Linked with the "hello" process table, which nothing runs.
 */
#include "kernel.h"

void k_main(void)
{
    k_uart_init();
    k_printf("ferrite kernel 05: booting on mps2-an385 (Cortex-M3)\n");
    k_boot_check();
    k_semihost_exit(0);
}
