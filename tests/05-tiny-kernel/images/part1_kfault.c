/*
 * Kernel main for the scenario "part1_kfault" (pristine: not a student file): the banner, then a load from an
 * address where nothing is mapped, made by the kernel itself (privileged, on MSP). k_fault_handler must see that
 * the fault was taken on MSP and hand the kernel's own frame to k_kernel_fault, which reports the faulting pc and
 * panics. Linked like the part 1 images, with the "hello" process table, which nothing runs.
 */
#include "kernel.h"

void k_main(void)
{
    k_uart_init();
    k_printf("ferrite kernel 05: booting on mps2-an385 (Cortex-M3)\n");
    k_printf("kfault: k_main is at 0x%08x\n", (unsigned)(uintptr_t)k_main & ~1u);
    /* SAFETY: none — the kernel bug under test. Nothing is mapped at 0xF0000000: a BusFault, escalated. */
    (void)*(volatile uint32_t *)(uintptr_t)0xF0000000u;
    k_printf("kfault: still alive\n");
    k_semihost_exit(0);
}
