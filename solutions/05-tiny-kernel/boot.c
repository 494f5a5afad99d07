/*
 * boot.c — chapter 05, part 1: reset, the UART, panic.   (reference solution)
 *
 * Cortex-M3 only: on the host this file compiles to nothing. The vector table (vectors.c) is the first thing in
 * flash; the CPU loads the stack pointer from word 0 and jumps to word 1 (k_reset), in privileged thread mode on
 * MSP. Before any C code may rely on a global, k_reset must copy .data from flash and zero .bss — nobody else will.
 */
#include "kernel.h"

#if defined(__arm__)

/* Bounds of .data, of its initial values in flash, and of .bss: defined by kernel.ld. */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

/* ---- reset -------------------------------------------------------------------------------------------------- */

void k_reset(void)
{
    /* SAFETY: kernel.ld defines these symbols as word-aligned bounds of .data (and its flash image) and .bss; the
     * loops touch nothing else. Volatile-free plain loops: -fno-tree-loop-distribute-patterns keeps gcc from
     * turning them into calls to memcpy/memset — which would run before .data exists. */
    for (uint32_t *src = _sidata, *dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    k_main();
    k_semihost_exit(K_EXIT_KERNEL_RETURNED);
}

/* ---- the UART: CMSDK APB UART0 ------------------------------------------------------------------------------ */

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))   /* bit 0: transmit buffer full */
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))    /* bit 0: transmit enable */
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10)) /* must be >= 16 */

void k_uart_init(void)
{
    UART_BAUDDIV = 16;
    UART_CTRL = 1;
}

void k_putc(char c)
{
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint8_t)c;
}

/* ---- panic -------------------------------------------------------------------------------------------------- */

void k_panic(const char *msg)
{
    __asm__ volatile("cpsid i" ::: "memory"); /* no tick may take the CPU from a dying kernel */
    k_printf("kernel panic: %s\n", msg);
    k_semihost_exit(K_EXIT_PANIC);
}

#else
typedef int k_boot_is_arm_only; /* the host build compiles this file to nothing */
#endif
