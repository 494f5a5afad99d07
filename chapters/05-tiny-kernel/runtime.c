/*
 * runtime.c — chapter 05: what a freestanding image needs that no library gives it here.   (given)
 *
 * Linked into every kernel image, and into the benchmark's bare image (bench/05-tiny-kernel/bare_first.c), which
 * has no kernel at all: so nothing here may call into the kernel. Two pieces:
 *   - the way out: k_semihost_exit asks QEMU to exit with a status, which is how every test reads a result;
 *   - memcpy and memset, which gcc may call for a struct copy or a large initialiser even in freestanding code.
 * Cortex-M3 only: on the host this file compiles to nothing (the C library has its own memcpy and memset).
 */
#include "kernel.h"

#if defined(__arm__)

#include <stddef.h>

void k_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED (0x20): r1 points at {reason, code}; 0x20026 is ADP_Stopped_ApplicationExit. */
    static volatile uint32_t block[2];
    block[0] = 0x20026;
    block[1] = (uint32_t)code;
    register uint32_t r0 __asm__("r0") = 0x20;
    register uint32_t r1 __asm__("r1") = (uint32_t)block;
    /* SAFETY: with -semihosting-config enable=on, QEMU handles bkpt 0xab and exits; without it, this is a
     * debug event that halts, which the loop below makes harmless. */
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

#else
typedef int k_runtime_is_arm_only; /* the host build compiles this file to nothing */
#endif
