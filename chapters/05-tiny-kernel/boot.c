/*
 * boot.c — chapter 05, part 1: reset, the UART, panic.   (exercise skeleton)
 *
 * Cortex-M3 only: on the host this file compiles to nothing. The vector table (vectors.c) is the first thing in
 * flash; the CPU loads the stack pointer from word 0 and jumps to word 1 (k_reset), in privileged thread mode on
 * MSP. Before any C code may rely on a global, k_reset must copy .data from flash and zero .bss — nobody else will.
 *
 * Given, in other files: the vector table (vectors.c), k_write and k_printf on top of your k_putc (console.c),
 * k_semihost_exit and memcpy/memset (runtime.c). Yours: the TODOs in k_reset, k_uart_init, k_putc and k_panic.
 */
#include "kernel.h"

#if defined(__arm__)

/* Bounds of .data, of its initial values in flash, and of .bss: defined by kernel.ld. */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

/* ---- reset -------------------------------------------------------------------------------------------------- */

void k_reset(void)
{
    /* TODO: copy the words from _sidata to _sdata.._edata, then zero _sbss.._ebss (kernel.ld defines all five,
     * word-aligned). Until then every global holds whatever RAM held: an initialised `static int n = 5;` reads 0
     * (QEMU zeroes RAM; real silicon gives noise). Rust's cortex-m-rt does this before `#[entry]` runs, and the
     * type system never lets you observe the gap; in C nothing stops a global read before the loops.
     * Write plain loops: the file is built with -fno-tree-loop-distribute-patterns so gcc does not turn them into
     * memcpy/memset calls, which would themselves run before .data exists. */
    k_main();
    k_semihost_exit(K_EXIT_KERNEL_RETURNED);
}

/* ---- the UART: CMSDK APB UART0 ------------------------------------------------------------------------------ */

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))   /* bit 0: transmit buffer full */
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))    /* bit 0: transmit enable */
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10)) /* must be >= 16 */

/* clang-format off */
void k_uart_init(void)
{
    /* TODO: BAUDDIV = 16 (QEMU refuses to send below 16), then CTRL = 1 (transmit enable). */
}
/* clang-format on */

void k_putc(char c)
{
    /* TODO: wait while STATE bit 0 (transmit buffer full) is set, then write the byte to DATA. The registers
     * are volatile: without it the compiler may read STATE once and spin forever, or drop the store. */
    (void)c;
}

/* ---- panic -------------------------------------------------------------------------------------------------- */

void k_panic(const char *msg)
{
    /* TODO: mask interrupts (cpsid i: no tick may take the CPU from a dying kernel), print
     * "kernel panic: <msg>" and a newline, and exit QEMU with K_EXIT_PANIC through k_semihost_exit.
     * Rust: `#[panic_handler]` — a no_std kernel must say what a panic does; looping silently hides the bug
     * from every test, which then only sees a timeout. */
    (void)msg;
    for (;;) {
    }
}

#else
typedef int k_boot_is_arm_only; /* the host build compiles this file to nothing */
#endif
