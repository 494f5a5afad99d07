/*
 * sys_aarch64.c — chapter 02, part 5: raw system calls on aarch64 Linux.   (exercise skeleton)
 *
 * The same seven functions as sys_x86_64.c, for `svc #0` (sys_aarch64.h has the register table). Write part 1
 * first; this file follows the same pattern with different registers. It is compiled on x86_64 too, where the
 * #if below leaves it empty; the tests cross-build it with aarch64-linux-gnu-gcc and run it under qemu-aarch64.
 *
 * AArch64 has no one-letter constraint per register, so every operand is a local register variable:
 *
 *     register uintptr_t x8 __asm__("x8") = n;
 *     register uintptr_t x0 __asm__("x0") = a1;
 *     __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8) : "memory");
 *     return x0;
 *
 * x0 carries the first argument in and the result out, so it is an in-out operand ("+r"). With no argument
 * (sys_call0), x0 is output only ("=r"). `svc` preserves every other register, so "memory" is the only clobber.
 */
#include "sys.h"

#if defined(__aarch64__)

uintptr_t sys_call0(uintptr_t n)
{
    /* TODO: n in x8, `svc #0`, result in x0. Rust: `asm!("svc 0", in("x8") n, lateout("x0") ret)`.
     * Trap: forgetting that x0 is written. If x0 is declared input-only, the compiler believes it still holds the
     * argument after the call. */
    (void)n;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call1(uintptr_t n, uintptr_t a1)
{
    /* TODO: a1 in x0, in and out. */
    (void)n;
    (void)a1;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call2(uintptr_t n, uintptr_t a1, uintptr_t a2)
{
    /* TODO: a1 in x0, a2 in x1. */
    (void)n;
    (void)a1;
    (void)a2;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call3(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
    /* TODO: a1-a3 in x0-x2. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call4(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4)
{
    /* TODO: a1-a4 in x0-x3 (no r10 detour here: the pattern is regular). */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call5(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5)
{
    /* TODO: a1-a5 in x0-x4. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    (void)a5;
    return (uintptr_t)-SYS_ENOSYS;
}

uintptr_t sys_call6(uintptr_t n, uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5, uintptr_t a6)
{
    /* TODO: a1-a6 in x0-x5. */
    (void)n;
    (void)a1;
    (void)a2;
    (void)a3;
    (void)a4;
    (void)a5;
    (void)a6;
    return (uintptr_t)-SYS_ENOSYS;
}

#endif
