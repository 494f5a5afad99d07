/*
 * The floor: no kernel at all. Reset handler, UART, one line, semihosting exit — the least any image can do, so
 * that the kernel's boot time can be read as "QEMU's own start-up" plus "what the kernel adds".
 */
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))

static void bare_exit(int code)
{
    static volatile uint32_t block[2];
    block[0] = 0x20026;
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm__("r0") = 0x20;
    register uint32_t r1 __asm__("r1") = (uint32_t)block;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

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
    bare_exit(0);
}

__attribute__((section(".vectors"), used)) static const void *const bare_vectors[2] = {
    (const void *)0x20001000u,
    bare_reset,
};
