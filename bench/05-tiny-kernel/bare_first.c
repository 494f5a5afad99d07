/*
 * The floor: no kernel at all. Reset handler, UART, one line, semihosting exit — the least any image can do, so
 * that the kernel's boot time can be read as "QEMU's own start-up" plus "what the kernel adds". It exits through
 * the kernel's own k_semihost_exit (chapters/05-tiny-kernel/runtime.c, linked beside it), so both images end alike.
 */
#include "kernel.h"

#define REG(a) (*(volatile uint32_t *)(a))

void bare_reset(void);
void bare_reset(void)
{
    REG(0x40004010u) = 16;
    REG(0x40004008u) = 1;
    for (const char *s = "BENCH-FIRST\n"; *s; s++) {
        while (REG(0x40004004u) & 1u) {
        }
        REG(0x40004000u) = (uint8_t)*s;
    }
    k_semihost_exit(0);
}

__attribute__((section(".vectors"), used)) static const void *const bare_vectors[2] = {
    (const void *)0x20001000u,
    bare_reset,
};
